//! `--since` on the real binary: absurd values are usage errors (exit 2) with a message, never a
//! panic; a start older than CloudTrail's reach is accepted with a warning.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rootkey(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(args)
        .env("USER", "tester")
        .env_remove("ROOTKEY_CONFIG")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// A ledger and an evidence file without accounts.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("ledger.db");
    let o = rootkey(&db, &["ledger", "init", "--origin", "test.example/custody"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let evidence = dir.join("aws.json");
    let now = time::OffsetDateTime::now_utc();
    let t = |d: time::OffsetDateTime| {
        d.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let ev = serde_json::json!({
        "format": "rootkey-aws-evidence/1",
        "read_at": t(now),
        "caller": {"account": "111122223333",
                   "arn": "arn:aws:iam::111122223333:user/auditor", "user_id": "AIDA"},
        "period": {"since": t(now - time::Duration::days(90)), "until": t(now)},
        "organization": null,
        "accounts": [],
    });
    std::fs::write(&evidence, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    (db, evidence)
}

fn audit(db: &Path, evidence: &Path, since: &str) -> (Option<i32>, String) {
    let o = rootkey(
        db,
        &[
            "audit",
            "--since",
            since,
            "--evidence-in",
            evidence.to_str().unwrap(),
            "--format",
            "json",
            "--no-record",
        ],
    );
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn absurd_since_values_are_usage_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (db, evidence) = setup(dir.path());
    for (since, says) in [
        (
            "99999999d",
            "--since 99999999d reaches back further than any date",
        ),
        (
            "99999999999999999999999d",
            "--since `99999999999999999999999d`",
        ),
        (
            "2099-01-01",
            "--since 2099-01-01 is in the future: the audited period would be empty",
        ),
        ("last tuesday", "is not a date (2024-01-31)"),
    ] {
        let (code, err) = audit(&db, &evidence, since);
        assert_eq!(code, Some(2), "{since}: {err}");
        assert!(err.contains(says), "{since}: {err}");
        assert!(
            err.contains("duration ago"),
            "{since}: the accepted forms: {err}"
        );
        assert!(!err.contains("panicked"), "{since}: {err}");
    }
}

#[test]
fn since_older_than_cloudtrail_reach_warns_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (db, evidence) = setup(dir.path());
    for since in ["400d", "0001-01-01"] {
        let (code, err) = audit(&db, &evidence, since);
        assert!(matches!(code, Some(0 | 1)), "{since}: {code:?} {err}");
        assert!(
            err.contains("CloudTrail's event history keeps 90 days: root sign-ins before"),
            "{since}: {err}"
        );
        assert!(!err.contains("panicked"), "{since}: {err}");
    }
    let (code, err) = audit(&db, &evidence, "30d");
    assert!(matches!(code, Some(0 | 1)), "{code:?} {err}");
    assert!(!err.contains("CloudTrail's event history"), "{err}");
}
