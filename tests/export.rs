//! `--export asff|ocsf|csv` through the real binary on the demo's evidence, each document checked
//! field by field against the published shapes (ASFF: the required top-level attributes, their
//! types and lengths; OCSF 1.3 Compliance Finding, class 2003: the required attributes), and
//! the ASFF file sent to moto's Security Hub with `rootkey aws findings import`.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::export::*;
use support::moto::Moto;

const DEMO_ACCOUNT: &str = "123456789012";

fn demo_evidence() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/custody/demo/aws-evidence.json")
}

fn export(dir: &Path) -> Exported {
    posture_exports(dir, &demo_evidence(), "")
}

#[test]
fn demo_evidence_exports_validate_field_by_field_and_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let e = export(dir.path());
    check_against_report(&e);
    let asff = &e.asff;
    assert_eq!(
        e.csv_header.join(","),
        "account_id,check,status,severity,resource,title,first_seen,controls,description,id"
    );
    for f in asff {
        assert_eq!(f["AwsAccountId"], DEMO_ACCOUNT);
        // CreatedAt comes from the evidence, never from the clock.
        assert!(
            f["CreatedAt"].as_str().unwrap() <= "2026-01-01T00:00:00.000Z",
            "{}",
            f["CreatedAt"]
        );
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

    // A second run: same ids, same CreatedAt; only UpdatedAt moves.
    let dir2 = tempfile::tempdir().unwrap();
    let again = export(dir2.path()).asff;
    for (a, b) in asff.iter().zip(&again) {
        assert_eq!(a["Id"], b["Id"]);
        assert_eq!(a["CreatedAt"], b["CreatedAt"]);
    }
}

#[test]
fn export_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rootkey.toml"), "").unwrap();
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
    let mut asff = export(dir.path()).asff;
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

#[test]
fn an_asff_file_naming_no_account_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut asff = export(dir.path()).asff;
    asff[0]["AwsAccountId"] = "\u{1b}[31m12345".into();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, serde_json::to_vec(&asff).unwrap()).unwrap();
    let o = rootkey(
        dir.path(),
        &[
            "aws",
            "findings",
            "import",
            "--securityhub",
            file.to_str().unwrap(),
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--region",
            "eu-west-1",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not an AWS account id"), "{err}");
    assert!(!err.contains('\u{1b}'), "printed raw: {err:?}");
}
