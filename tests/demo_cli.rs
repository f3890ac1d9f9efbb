//! `rootkey demo` end to end: the whole story runs, its ledger verifies, its reports say what
//! the story set up.

use std::path::Path;
use std::process::{Command, Output};

fn rootkey(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env_remove("ROOTKEY_LEDGER")
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_DEVICE")
        .output()
        .expect("run rootkey")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn demo_runs_the_whole_story_and_its_ledger_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = rootkey(&["demo", "--dir", path(&dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for step in [
        "keys soft-init",
        "custodian bootstrap",
        "custodian add dana",
        "enroll --account 123456789012",
        "enroll confirm",
        "keys enrolled",
        "checkout --key",
        "checkin --key",
        "keys verify --key",
        "keys move --key",
        "audit --evidence-in",
    ] {
        assert!(
            stderr.contains(step),
            "demo did not show `{step}`:\n{stderr}"
        );
    }
    assert!(stderr.contains("audit-report.html"), "{stderr}");

    // What it wrote passes an independent verification against the auditor's checkpoint.
    let ledger = dir.join("ledger.db");
    let checkpoint = dir.join("auditor-checkpoint.txt");
    let verify = rootkey(&[
        "--ledger",
        path(&ledger),
        "--json",
        "ledger",
        "verify",
        "--since-checkpoint",
        path(&checkpoint),
    ]);
    assert_eq!(verify.status.code(), Some(0), "{verify:?}");

    // Both keys are in their safes, in new or original bags, registered on root.
    let keys = rootkey(&["--ledger", path(&ledger), "--json", "keys", "enrolled"]);
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["role"], "primary");
    assert_eq!(
        keys[0]["bag_serial"], "TB-100377",
        "primary resealed at check-in"
    );
    for k in keys {
        assert_eq!(k["status"], "in_safe");
        assert!(k["serial_arn"]
            .as_str()
            .unwrap()
            .contains(":u2f/root/rootkey-"));
    }

    // The reports carry the story's one critical finding; the HTML page is self-contained.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("audit-report.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "fail");
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    let critical: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(critical, ["ROOT-LOGIN-UNEXPLAINED"]);
    // The demo's keys are software, and the report says so instead of counting them as hardware.
    assert_eq!(codes.iter().filter(|c| **c == "KEY-SOFTWARE").count(), 2);
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == "CUSTODIAN-KEY-SOFTWARE")
            .count(),
        3
    );
    assert_eq!(
        json["kpis"]["accounts_two_hardware_keys_no_virtual"]["numerator"],
        0
    );
    let html = std::fs::read_to_string(dir.join("audit-report.html")).unwrap();
    assert!(html.contains("ROOT-LOGIN-UNEXPLAINED"));
    assert!(!html.contains("<script") && !html.contains("<link"));
    let md = std::fs::read_to_string(dir.join("audit-report.md")).unwrap();
    assert!(md.contains("**Verdict: FAIL**"), "{md}");

    // The HTML audit was recorded in the ledger as audit.completed, with that file's digest.
    let show = rootkey(&["--ledger", path(&ledger), "--json", "ledger", "show"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("audit.completed"), "{shown}");
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, html.as_bytes()));
    assert!(
        shown.contains(&digest),
        "report digest {digest} not in the ledger"
    );
}

#[test]
fn demo_refuses_a_folder_that_already_holds_a_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ledger.db"), b"not yours").unwrap();
    let out = rootkey(&["demo", "--dir", path(tmp.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a demo ledger"));
    assert_eq!(
        std::fs::read(tmp.path().join("ledger.db")).unwrap(),
        b"not yours"
    );
}
