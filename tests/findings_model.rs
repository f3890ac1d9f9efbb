//! The one finding model through the real binary: `aws posture` and the check catalogue, and
//! `docs/findings.md` kept equal to the catalogue.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rootkey::findings::{instance_id, Check, CHECKS};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name)
}

fn rootkey(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env("ROOTKEY_CONFIG", &cfg)
        .env("ROOTKEY_LEDGER", dir.path().join("no-ledger.db"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The catalogue row of `docs/findings.md` for `c`.
fn doc_row(c: &Check) -> String {
    let controls: Vec<String> = c.controls.iter().map(|c| c.short()).collect();
    let controls = if controls.is_empty() {
        "—".to_string()
    } else {
        controls.join(", ")
    };
    let mut by = vec![if c.posture { "posture, audit" } else { "audit" }];
    if !c.acceptable {
        by.push("not acceptable");
    }
    format!(
        "| `{}` | {} | {} | {} | {} | {} | {} |",
        c.id,
        c.severity.as_str(),
        c.source.as_str(),
        by.join("; "),
        controls,
        c.title,
        c.remediation.replace('|', "\\|")
    )
}

#[test]
fn the_documented_catalogue_is_the_catalogue() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"))
            .unwrap();
    let (_, rest) = doc.split_once("<!-- checks:begin -->").unwrap();
    let (table, _) = rest.split_once("<!-- checks:end -->").unwrap();
    let got: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    let want: Vec<String> = CHECKS.iter().map(doc_row).collect();
    assert_eq!(
        got,
        want,
        "docs/findings.md drifted from the catalogue; the table should read:\n{}",
        want.join("\n")
    );
}

#[test]
fn list_checks_prints_every_check_with_its_controls() {
    for cmd in [&["aws", "posture"][..], &["audit"][..]] {
        let mut args = vec!["--json"];
        args.extend_from_slice(cmd);
        args.push("--list-checks");
        let o = rootkey(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v = json(&o);
        assert_eq!(v["schema_version"], rootkey::findings::SCHEMA_VERSION);
        let listed: Vec<&str> = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let all: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        assert_eq!(listed, all);
        let iam9 = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "ROOT-MFA-MISSING")
            .unwrap();
        assert!(iam9["controls"].as_array().unwrap().iter().any(|c| {
            c["framework"] == "AWS Foundational Security Best Practices" && c["id"] == "IAM.9"
        }));
    }
    let o = rootkey(&["aws", "posture", "--list-checks"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for c in CHECKS {
        assert!(text.contains(c.id), "{} missing from the table", c.id);
    }
}

#[test]
fn posture_findings_follow_the_model_and_passed_checks_are_listed() {
    let o = rootkey(&[
        "--json",
        "aws",
        "posture",
        "--evidence-in",
        fixture("evidence-findings.json").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["schema_version"], "rootkey-findings/2");
    let mut seen_passed = 0;
    for a in v["accounts"].as_array().unwrap() {
        for f in a["findings"].as_array().unwrap() {
            let check = f["check"].as_str().unwrap();
            let entry = rootkey::findings::check(check)
                .unwrap_or_else(|| panic!("{check} is not in the catalogue"));
            let account = f["account"].as_str();
            let resource = f["resource"].as_str().unwrap();
            assert_eq!(f["id"], instance_id(check, account, resource), "{f}");
            assert_eq!(f["status"], "open");
            assert!(f["evidence"].is_object());
            for k in f["evidence"].as_object().unwrap().keys() {
                assert!(
                    k.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{k} is not snake_case"
                );
            }
            assert_eq!(f["remediation"], entry.remediation);
            assert_eq!(
                f["controls"].as_array().unwrap().len(),
                entry.controls.len()
            );
            // Sign-ins are graded by the rule the audit uses.
            if check.starts_with("ROOT-LOGIN") {
                assert_eq!(f["severity"], entry.severity.as_str(), "{f}");
            }
        }
        for p in a["passed"].as_array().unwrap() {
            assert_eq!(p["status"], "passed");
            assert!(
                !a["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["check"] == p["check"]),
                "{} both passed and found",
                p["check"]
            );
            seen_passed += 1;
        }
    }
    assert!(seen_passed > 0);
    assert_eq!(v["summary"]["passed"], seen_passed);

    // Same facts, same ids: stable across runs.
    let again = json(&rootkey(&[
        "--json",
        "aws",
        "posture",
        "--evidence-in",
        fixture("evidence-findings.json").to_str().unwrap(),
    ]));
    let ids = |v: &Value| -> Vec<String> {
        v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["findings"].as_array().unwrap().clone())
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&v), ids(&again));

    // A compliant account lists what was checked.
    let v = json(&rootkey(&[
        "--json",
        "aws",
        "posture",
        "--evidence-in",
        fixture("evidence-compliant.json").to_str().unwrap(),
    ]));
    let passed: Vec<&str> = v["accounts"][0]["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap())
        .collect();
    for want in ["ROOT-ACCESS-KEY", "ROOT-MFA-MISSING", "READ-INCOMPLETE"] {
        assert!(passed.contains(&want), "{want} not in {passed:?}");
    }
}

/// Every check id the evaluation code names is in the catalogue (a missing one would fall back
/// to a generic entry), and every catalogue entry is raised somewhere (no dead checks).
#[test]
fn the_code_raises_exactly_the_catalogued_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = std::collections::BTreeSet::new();
    for file in [
        "src/custody/audit.rs",
        "src/custody/anchor_audit.rs",
        "src/custody/findings.rs",
        "src/aws/findings.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        // The code, not its unit tests.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for quoted in code.split('"').skip(1).step_by(2) {
            let looks_like_id = quoted.contains('-')
                && quoted
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
                && quoted.as_bytes()[0].is_ascii_uppercase();
            if looks_like_id {
                named.insert(quoted.to_string());
            }
        }
    }
    let catalogued: std::collections::BTreeSet<String> =
        CHECKS.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(named, catalogued);
}
