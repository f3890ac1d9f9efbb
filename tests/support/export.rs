//! Checks of `--export asff|ocsf|csv` files: each document against the published shape (ASFF:
//! the required top-level attributes, their types and lengths; OCSF 1.3 Compliance Finding,
//! class 2003: the required attributes), and each exported finding against the one it came from
//! in the same run's `--json` report, field by field.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The region every export in the tests is made for.
pub const REGION: &str = "eu-west-1";

/// Runs the real binary with the test's ledger and config paths in `dir` and no AWS profile.
pub fn rootkey(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env("ROOTKEY_LEDGER", dir.join("none.db"))
        .env("ROOTKEY_CONFIG", dir.join("rootkey.toml"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .output()
        .unwrap()
}

/// One posture run's report and its three exports.
pub struct Exported {
    /// The `--json` report.
    pub report: Value,
    /// The ASFF array.
    pub asff: Vec<Value>,
    /// The OCSF lines.
    pub ocsf: Vec<Value>,
    /// The CSV rows, by column name.
    pub csv: Vec<BTreeMap<String, String>>,
    /// The CSV's header row.
    pub csv_header: Vec<String>,
}

/// `rootkey aws posture --evidence-in EVIDENCE --json` with all three exports, under `config`
/// (the TOML of `rootkey.toml`) in `dir`.
pub fn posture_exports(dir: &Path, evidence: &Path, config: &str) -> Exported {
    std::fs::write(dir.join("rootkey.toml"), config).unwrap();
    let file = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (asff, ocsf, csv) = (file("f.asff.json"), file("f.ocsf.jsonl"), file("f.csv"));
    let o = rootkey(
        dir,
        &[
            "--json",
            "aws",
            "posture",
            "--evidence-in",
            evidence.to_str().unwrap(),
            "--region",
            REGION,
            "--export",
            &format!("asff:{asff}"),
            "--export",
            &format!("ocsf:{ocsf}"),
            "--export",
            &format!("csv:{csv}"),
        ],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let asff: Vec<Value> = serde_json::from_slice(&std::fs::read(&asff).unwrap()).unwrap();
    let ocsf = std::fs::read_to_string(&ocsf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut r = ::csv::Reader::from_path(&csv).unwrap();
    let csv_header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let csv = r
        .records()
        .map(|row| {
            let row = row.unwrap();
            csv_header
                .iter()
                .cloned()
                .zip(row.iter().map(String::from))
                .collect()
        })
        .collect();
    Exported {
        report,
        asff,
        ocsf,
        csv,
        csv_header,
    }
}

/// A non-empty string field of at most `max` characters.
pub fn string(v: &Value, field: &str, max: usize) -> String {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {v}"));
    assert!(!s.is_empty(), "{field} is empty");
    assert!(s.chars().count() <= max, "{field} is over {max}: {s}");
    s.to_string()
}

/// An ISO 8601 UTC time as ASFF wants it.
pub fn is_iso8601(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        && s.ends_with('Z')
}

/// The ASFF shape: every required top-level attribute, typed and within its limits.
pub fn check_asff(f: &Value) {
    assert_eq!(f["SchemaVersion"], "2018-10-08");
    string(f, "Id", 512);
    let account = string(f, "AwsAccountId", 12);
    assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        string(f, "ProductArn", 512),
        format!("arn:aws:securityhub:{REGION}:{account}:product/{account}/default")
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
        assert_eq!(r["Region"], REGION);
    }
    assert!(["PASSED", "FAILED", "WARNING", "NOT_AVAILABLE"]
        .contains(&f["Compliance"]["Status"].as_str().unwrap()));
    let reqs = f["Compliance"]["RelatedRequirements"].as_array().unwrap();
    assert!(reqs.len() <= 32);
    assert_eq!(f["RecordState"], "ACTIVE");
    let provider = &f["FindingProviderFields"];
    assert_eq!(provider["Severity"]["Label"], f["Severity"]["Label"]);
    string(&provider["Severity"], "Original", 64);
    assert_eq!(provider["Types"], f["Types"]);
}

/// The OCSF 1.3 Compliance Finding shape (class 2003).
pub fn check_ocsf(f: &Value) {
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
    assert!([1, 2, 3].contains(&c["status_id"].as_u64().unwrap()));
    assert_eq!(f["metadata"]["version"], "1.3.0");
    assert_eq!(f["metadata"]["product"]["name"], "rootkey");
    string(&f["metadata"]["product"], "vendor_name", 256);
    string(&f["metadata"]["product"], "version", 64);
    assert_eq!(f["cloud"]["provider"], "AWS");
    assert!(f["resources"].as_array().is_some_and(|r| !r.is_empty()));
}

/// Every finding and passed check of the report, exactly once in each export, with the same
/// account, check, status, severity, title, controls and resource; and nothing else exported.
pub fn check_against_report(e: &Exported) {
    let mut want = Vec::new();
    for a in e.report["accounts"].as_array().unwrap() {
        for f in a["findings"].as_array().unwrap() {
            want.push(f);
        }
        for f in a["passed"].as_array().unwrap() {
            want.push(f);
        }
    }
    assert!(!want.is_empty());
    // A finding's id is its instance (check, account, resource): two findings with one id would
    // be one finding told twice, and the exports would merge them.
    let mut seen = BTreeMap::new();
    for f in &want {
        if let Some(first) = seen.insert(f["id"].as_str().unwrap(), *f) {
            panic!("two report findings share id {}:\n{first}\n{f}", f["id"]);
        }
    }
    assert_eq!(
        e.asff.len(),
        want.len(),
        "one ASFF finding per report finding"
    );
    assert_eq!(e.ocsf.len(), want.len(), "one OCSF line per report finding");
    assert_eq!(e.csv.len(), want.len(), "one CSV row per report finding");
    let by = |docs: &[Value], key: &dyn Fn(&Value) -> &Value| -> BTreeMap<String, Value> {
        docs.iter()
            .map(|d| (key(d).as_str().unwrap().to_string(), d.clone()))
            .collect()
    };
    let asff = by(&e.asff, &|d| &d["Id"]);
    let ocsf = by(&e.ocsf, &|d| &d["finding_info"]["uid"]);
    let csv: BTreeMap<&str, &BTreeMap<String, String>> =
        e.csv.iter().map(|r| (r["id"].as_str(), r)).collect();
    assert_eq!(asff.len(), want.len(), "ASFF Ids are unique");
    assert_eq!(ocsf.len(), want.len(), "OCSF uids are unique");
    assert_eq!(csv.len(), want.len(), "CSV ids are unique");
    for f in want {
        let s = |k: &str| f[k].as_str().unwrap_or_else(|| panic!("{k} in {f}"));
        let (account, check) = (s("account"), s("check"));
        let key = format!("rootkey/{account}/{check}/{}", s("id"));
        let failed = matches!(s("status"), "open" | "accepted");
        let severity = if failed { s("severity") } else { "info" };
        // An open informational finding is a warning: something to look at, not a failure.
        let status = match (s("status"), severity) {
            ("open", "info") => "WARNING",
            _ if failed => "FAILED",
            _ => "PASSED",
        };
        let controls: Vec<String> = f["controls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let c = |k: &str| c[k].as_str().unwrap().to_string();
                format!("{} {}/{}", c("framework"), c("version"), c("id"))
            })
            .collect();
        // Root's credentials, sign-ins and uses are about the root user, whatever instance
        // they name (a key id, a sign-in time).
        let root = check.starts_with("ROOT-");

        let a = asff
            .get(&key)
            .unwrap_or_else(|| panic!("{key} not in ASFF"));
        assert_eq!(a["GeneratorId"], check, "{key}");
        assert_eq!(a["AwsAccountId"], account, "{key}");
        assert_eq!(a["Title"], s("title"), "{key}");
        assert_eq!(
            a["Severity"]["Label"],
            severity
                .to_ascii_uppercase()
                .replace("INFO", "INFORMATIONAL"),
            "{key}"
        );
        assert_eq!(a["Compliance"]["Status"], status, "{key}");
        assert_eq!(
            a["Compliance"]["RelatedRequirements"],
            serde_json::json!(controls),
            "{key}"
        );
        if root {
            assert_eq!(a["Resources"][0]["Type"], "AwsIamUser", "{key}");
        }
        // The description carries the evidence, each fact by its name.
        for (k, v) in f["evidence"].as_object().unwrap() {
            if let Some(v) = v.as_str().filter(|v| v.len() < 200) {
                assert!(
                    a["Description"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("{k}: {v}")),
                    "{key}: {k} missing from {}",
                    a["Description"]
                );
            }
        }

        let o = ocsf
            .get(&key)
            .unwrap_or_else(|| panic!("{key} not in OCSF"));
        assert_eq!(o["finding_info"]["types"][0], check, "{key}");
        assert_eq!(o["finding_info"]["title"], s("title"), "{key}");
        assert_eq!(o["cloud"]["account"]["uid"], account, "{key}");
        assert_eq!(o["status_id"], if failed { 1 } else { 4 }, "{key}");
        let compliance = match status {
            "FAILED" => 3,
            "WARNING" => 2,
            _ => 1,
        };
        assert_eq!(o["compliance"]["status_id"], compliance, "{key}");
        assert_eq!(o["compliance"]["control"], check, "{key}");
        assert_eq!(o["compliance"]["requirements"], serde_json::json!(controls));
        let sev_id = ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == severity)
            .unwrap()
            + 1;
        assert_eq!(o["severity_id"], sev_id, "{key}");

        let c = csv
            .get(key.as_str())
            .unwrap_or_else(|| panic!("{key} not in CSV"));
        assert_eq!(c["account_id"], account, "{key}");
        assert_eq!(c["check"], check, "{key}");
        assert_eq!(c["status"], status, "{key}");
        assert_eq!(c["severity"], severity, "{key}");
        assert_eq!(c["controls"], controls.join("; "), "{key}");
        assert_eq!(c["first_seen"], a["CreatedAt"], "{key}");
    }
    for f in &e.asff {
        check_asff(f);
    }
    for f in &e.ocsf {
        check_ocsf(f);
    }
}
