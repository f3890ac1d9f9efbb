//! `rootkey aws posture --evidence-in` through the real binary: exit codes and JSON shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name)
}

fn run(args: &[&str], config: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, config).unwrap();
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env("ROOTKEY_CONFIG", &cfg)
        // Offline evaluation must not need AWS at all: make any accidental call fail.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn compliant_evidence_exits_zero_with_the_documented_shape() {
    let f = fixture("evidence-compliant.json");
    let out = run(
        &[
            "--json",
            "aws",
            "posture",
            "--evidence-in",
            f.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let accounts = v["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    for a in accounts {
        for key in ["account_id", "name", "email", "posture", "findings"] {
            assert!(a.get(key).is_some(), "missing {key} in {a}");
        }
        assert!(a["findings"].as_array().unwrap().is_empty());
    }
    assert_eq!(accounts[1]["credential_less"], true);
    assert_eq!(accounts[0]["posture"]["mfa_devices"][0]["kind"], "fido");
    assert_eq!(v["summary"]["accounts"], 2);
    assert_eq!(v["summary"]["findings"], 0);
}

#[test]
fn findings_evidence_exits_one_and_names_each_finding() {
    let f = fixture("evidence-findings.json");
    let out = run(
        &[
            "--json",
            "aws",
            "posture",
            "--evidence-in",
            f.to_str().unwrap(),
        ],
        "[aws]\ncompany_domains = [\"example.com\"]\n",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let ids: Vec<String> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap().clone())
        .map(|f| {
            assert!(f["severity"].is_string() && f["evidence"].is_object());
            assert!(f["controls"].is_array() && f["status"] == "open");
            f["check"].as_str().unwrap().to_string()
        })
        .collect();
    for want in [
        "ORG-ROOT-SESSIONS-DISABLED",
        "ROOT-MFA-VIRTUAL",
        "ROOT-BACKUP-KEY-MISSING",
        "ROOT-LOGIN-UNEXPLAINED",
        "ROOT-ACCESS-KEY",
        "ROOT-PASSWORD-PRESENT",
        "ROOT-EMAIL-DOMAIN",
        "READ-INCOMPLETE",
    ] {
        assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
    }
    assert_eq!(v["summary"]["by_id"]["ROOT-LOGIN-UNEXPLAINED"], 1);
    assert_eq!(v["schema_version"], "rootkey-findings/2");
}

#[test]
fn human_output_is_a_table_per_account() {
    let f = fixture("evidence-findings.json");
    let out = run(
        &["aws", "posture", "--evidence-in", f.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("111111111111 (management, aws-root@example.com)"),
        "{text}"
    );
    assert!(text.contains("ROOT-MFA-VIRTUAL"), "{text}");
    assert!(text.contains("account(s)"), "{text}");
}

#[test]
fn bad_evidence_and_bad_flags_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("v2.json");
    std::fs::write(&other, r#"{"format":"rootkey-aws-evidence/2"}"#).unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let missing = dir.path().join("missing.json");
    for (path, needle) in [
        (&other, "rootkey-aws-evidence/2"),
        (&garbage, "not valid rootkey evidence"),
        (&missing, "cannot read evidence file"),
    ] {
        let out = run(
            &["aws", "posture", "--evidence-in", path.to_str().unwrap()],
            "",
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{err}");
        assert!(out.stdout.is_empty());
    }
    for args in [
        &["aws", "posture", "--account", "12345"][..],
        &[
            "aws",
            "posture",
            "--account",
            "123456789012",
            "--organization",
        ][..],
        &["aws", "posture", "--concurrency", "0"][..],
        &["aws", "posture", "--cloudtrail-lake", "eds' OR 1=1 --"][..],
    ] {
        let out = run(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = run(
        &[
            "aws",
            "posture",
            "--evidence-in",
            fixture("evidence-compliant.json").to_str().unwrap(),
        ],
        "[aws]\ncompany_domains = \"example.com\"\n",
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed [aws] section is a usage error"
    );
}

#[test]
fn evidence_round_trips_through_evidence_out() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.json");
    let f = fixture("evidence-findings.json");
    let out = run(
        &[
            "aws",
            "posture",
            "--evidence-in",
            f.to_str().unwrap(),
            "--evidence-out",
            copy.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&copy).unwrap()).unwrap();
    assert_eq!(a, b, "evidence is carried unchanged");
}

#[test]
fn a_period_beyond_cloudtrail_warns_and_suspended_accounts_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("evidence-compliant.json")).unwrap())
            .unwrap();
    let until = v["period"]["until"].as_str().unwrap().to_string();
    v["period"]["since"] = "2020-01-01T00:00:00Z".into();
    // A suspended member: listed as such, no findings, not counted as compliant.
    let mut suspended = v["accounts"][1].clone();
    suspended["account_id"] = "999999999999".into();
    suspended["posture"] = serde_json::json!({
        "mfa_devices": [], "mfa_devices_complete": false, "mfa_active": null,
        "access_keys": null, "signing_certificates": null, "password": "unknown",
        "password_last_used": null, "account_summary": null, "logins": null,
        "account_status": "SUSPENDED"
    });
    v["accounts"].as_array_mut().unwrap().push(suspended);
    let path = dir.path().join("old.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let out = run(
        &[
            "--json",
            "aws",
            "posture",
            "--evidence-in",
            path.to_str().unwrap(),
        ],
        "",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning:") && err.contains("2020-01-01T00:00:00Z") && err.contains("90 days"),
        "{err}"
    );
    let j = json(&out);
    assert!(j["warnings"][0]
        .as_str()
        .unwrap()
        .contains("2020-01-01T00:00:00Z"));
    assert_eq!(j["summary"]["inactive_accounts"], 1);
    assert_eq!(j["summary"]["compliant_accounts"], 2);
    assert!(!until.is_empty());
    let human = run(
        &["aws", "posture", "--evidence-in", path.to_str().unwrap()],
        "",
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("SUSPENDED: not audited"), "{text}");
}
