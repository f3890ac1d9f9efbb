//! `--export asff|ocsf|csv` through the real binary on the demo's evidence, each document checked
//! field by field against the published shapes (ASFF: the required top-level attributes, their
//! types and lengths; OCSF 1.3 Compliance Finding, class 2003: the required attributes), and
//! the ASFF file sent to moto's Security Hub with `rootkey aws findings import`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::moto::Moto;

const DEMO_ACCOUNT: &str = "123456789012";

fn demo_evidence() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/custody/demo/aws-evidence.json")
}

fn rootkey(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env("ROOTKEY_LEDGER", dir.join("none.db"))
        .env("ROOTKEY_CONFIG", dir.join("none.toml"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .output()
        .unwrap()
}

fn export(dir: &Path) -> (Vec<Value>, Vec<Value>, String) {
    std::fs::write(dir.join("none.toml"), "").unwrap();
    let asff = dir.join("f.asff.json");
    let ocsf = dir.join("f.ocsf.jsonl");
    let csv = dir.join("f.csv");
    let o = rootkey(
        dir,
        &[
            "aws",
            "posture",
            "--evidence-in",
            demo_evidence().to_str().unwrap(),
            "--region",
            "eu-west-1",
            "--export",
            &format!("asff:{}", asff.display()),
            "--export",
            &format!("ocsf:{}", ocsf.display()),
            "--export",
            &format!("csv:{}", csv.display()),
        ],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a: Vec<Value> = serde_json::from_slice(&std::fs::read(&asff).unwrap()).unwrap();
    let lines = std::fs::read_to_string(&ocsf).unwrap();
    let oc: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (a, oc, std::fs::read_to_string(&csv).unwrap())
}

fn string(v: &Value, field: &str, max: usize) -> String {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {v}"));
    assert!(!s.is_empty(), "{field} is empty");
    assert!(s.chars().count() <= max, "{field} is over {max}: {s}");
    s.to_string()
}

fn is_iso8601(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        && s.ends_with('Z')
}

/// The ASFF shape: every required top-level attribute, typed and within its limits.
fn check_asff(f: &Value) {
    assert_eq!(f["SchemaVersion"], "2018-10-08");
    string(f, "Id", 512);
    let account = string(f, "AwsAccountId", 12);
    assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        string(f, "ProductArn", 512),
        format!("arn:aws:securityhub:eu-west-1:{account}:product/{account}/default")
    );
    string(f, "GeneratorId", 512);
    string(f, "Title", 256);
    string(f, "Description", 1024);
    assert!(is_iso8601(&string(f, "CreatedAt", 64)), "{f}");
    assert!(is_iso8601(&string(f, "UpdatedAt", 64)), "{f}");
    assert!(f["CreatedAt"].as_str() <= f["UpdatedAt"].as_str());
    let types = f["Types"].as_array().expect("Types is an array");
    assert!(!types.is_empty() && types.len() <= 50);
    for t in types {
        let t = t.as_str().unwrap();
        assert!((1..=3).contains(&t.split('/').count()), "{t}");
        assert!(
            [
                "Software and Configuration Checks",
                "TTPs",
                "Effects",
                "Unusual Behaviors",
                "Sensitive Data Identifications"
            ]
            .contains(&t.split('/').next().unwrap()),
            "{t}"
        );
    }
    assert!(["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
        .contains(&f["Severity"]["Label"].as_str().unwrap()));
    let res = f["Resources"].as_array().expect("Resources is an array");
    assert!(!res.is_empty() && res.len() <= 32);
    for r in res {
        let kind = string(r, "Type", 256);
        let id = string(r, "Id", 512);
        match kind.as_str() {
            "AwsIamUser" => assert_eq!(id, format!("arn:aws:iam::{account}:root")),
            "AwsAccount" => assert_eq!(id, format!("AWS::::Account:{account}")),
            "Other" => {}
            k => panic!("resource type {k}"),
        }
        assert_eq!(r["Partition"], "aws");
        assert_eq!(r["Region"], "eu-west-1");
    }
    assert!(["PASSED", "FAILED", "WARNING", "NOT_AVAILABLE"]
        .contains(&f["Compliance"]["Status"].as_str().unwrap()));
    let reqs = f["Compliance"]["RelatedRequirements"].as_array().unwrap();
    assert!(reqs.len() <= 32);
    assert_eq!(f["RecordState"], "ACTIVE");
}

/// The OCSF 1.3 Compliance Finding shape (class 2003).
fn check_ocsf(f: &Value) {
    assert_eq!(f["class_uid"], 2003);
    assert_eq!(f["category_uid"], 2);
    assert_eq!(f["activity_id"], 1);
    assert_eq!(f["type_uid"], 200301);
    assert!(
        f["time"].as_i64().unwrap() > 1_600_000_000_000,
        "time is epoch ms"
    );
    assert!((1..=5).contains(&f["severity_id"].as_u64().unwrap()));
    assert!([1, 4].contains(&f["status_id"].as_u64().unwrap()));
    let info = &f["finding_info"];
    let uid = string(info, "uid", 512);
    assert!(uid.starts_with("rootkey/"));
    string(info, "title", 1024);
    assert!(info["created_time"].as_i64().unwrap() <= f["time"].as_i64().unwrap());
    let c = &f["compliance"];
    let standards = c["standards"].as_array().expect("compliance.standards");
    assert!(!standards.is_empty());
    assert!(standards.iter().all(|s| s.is_string()));
    assert!([1, 3].contains(&c["status_id"].as_u64().unwrap()));
    assert_eq!(f["metadata"]["version"], "1.3.0");
    assert_eq!(f["metadata"]["product"]["name"], "rootkey");
    string(&f["metadata"]["product"], "vendor_name", 256);
    string(&f["metadata"]["product"], "version", 64);
    assert_eq!(f["cloud"]["provider"], "AWS");
    assert!(f["resources"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn demo_evidence_exports_validate_field_by_field_and_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (asff, ocsf, csv) = export(dir.path());
    assert!(!asff.is_empty());
    assert_eq!(asff.len(), ocsf.len());
    assert_eq!(
        csv.lines().count(),
        asff.len() + 1,
        "one row per finding and a header"
    );
    assert!(csv.starts_with(
        "account_id,check,status,severity,resource,title,first_seen,controls,description,id"
    ));
    for f in &asff {
        check_asff(f);
        assert_eq!(f["AwsAccountId"], DEMO_ACCOUNT);
        // CreatedAt comes from the evidence, never from the clock.
        assert!(
            f["CreatedAt"].as_str().unwrap() <= "2026-01-01T00:00:00.000Z",
            "{}",
            f["CreatedAt"]
        );
    }
    for f in &ocsf {
        check_ocsf(f);
    }
    // The demo's root has no MFA: a failed check; its access-key check passed.
    let by_check = |c: &str| asff.iter().find(|f| f["GeneratorId"] == c).cloned();
    let mfa = by_check("ROOT-MFA-MISSING").expect("ROOT-MFA-MISSING exported");
    assert_eq!(mfa["Compliance"]["Status"], "FAILED");
    assert!(mfa["Compliance"]["RelatedRequirements"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("1.4")));
    let keys = by_check("ROOT-ACCESS-KEY").expect("ROOT-ACCESS-KEY exported as passed");
    assert_eq!(keys["Compliance"]["Status"], "PASSED");
    let ids: Vec<&str> = asff.iter().map(|f| f["Id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "Ids are unique");

    // A second run: same ids, same CreatedAt; only UpdatedAt moves.
    let dir2 = tempfile::tempdir().unwrap();
    let (again, _, _) = export(dir2.path());
    for (a, b) in asff.iter().zip(&again) {
        assert_eq!(a["Id"], b["Id"]);
        assert_eq!(a["CreatedAt"], b["CreatedAt"]);
    }
}

#[test]
fn export_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    for bad in ["xml:out.xml", "asff", "asff:"] {
        let o = rootkey(
            dir.path(),
            &[
                "aws",
                "posture",
                "--evidence-in",
                demo_evidence().to_str().unwrap(),
                "--export",
                bad,
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn asff_export_imports_into_security_hub_and_failures_are_reported_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let (mut asff, _, _) = export(dir.path());
    // A finding moto refuses (no resource), and 120 more to need two calls.
    let mut bad = asff[0].clone();
    bad["Id"] = "rootkey/bad".into();
    bad["Resources"] = Value::Array(vec![]);
    asff.push(bad);
    for i in 0..120 {
        let mut f = asff[0].clone();
        f["Id"] = format!("rootkey/extra/{i}").into();
        asff.push(f);
    }
    // A member's finding: skipped without --member-role.
    let mut member = asff[0].clone();
    member["AwsAccountId"] = "222222222222".into();
    member["Id"] = "rootkey/member".into();
    asff.push(member);
    let file = dir.path().join("import.json");
    std::fs::write(&file, serde_json::to_vec(&asff).unwrap()).unwrap();

    let moto = Moto::start();
    let o = rootkey(
        dir.path(),
        &[
            "--json",
            "aws",
            "findings",
            "import",
            "--securityhub",
            file.to_str().unwrap(),
            "--endpoint-url",
            &moto.url(),
            "--region",
            "eu-west-1",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let own = r
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == DEMO_ACCOUNT)
        .unwrap();
    let n = asff.len() - 1;
    assert_eq!(own["findings"], n);
    assert_eq!(own["calls"], n.div_ceil(100));
    assert_eq!(own["imported"], n - 1);
    assert_eq!(own["failed"][0]["id"], "rootkey/bad");
    let m = r
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == "222222222222")
        .unwrap();
    assert_eq!(m["calls"], 0);
    assert!(m["error"].as_str().unwrap().contains("--member-role"));
}
