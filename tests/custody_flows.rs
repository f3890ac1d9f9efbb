//! Custody flows end to end through the real binary, with software keys, a temporary ledger,
//! the soft CA trusted through `--roots`, and AWS evidence files written here.

mod station;

use std::process::{Command, Stdio};

use station::*;

#[test]
fn onboarding_checkout_checkin_and_verify_end_to_end() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    assert_ne!(p, b);
    // A third custodian, then break-glass with alice and carol.
    let o = s.cmd_add("carol", "Carol Diaz");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = s.run(&["custodian", "list", "--json"]);
    let people: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(people.as_array().unwrap().len(), 3);

    let o = s.run(&[
        "checkout",
        "--key",
        &p,
        "--reason",
        "close the support case",
        "--ticket",
        "CHG-1",
        "--window",
        "4h",
        "--requester",
        "alice",
        "--approver",
        "carol",
        "--bag-broken",
        "B1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bag_broken"], "B1");

    let o = s.run(&[
        "--device",
        &s.soft("k1.json"),
        "checkin",
        "--key",
        &p,
        "--bag",
        "B3",
        "--custodians",
        "bob,carol",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["late"], false);

    let o = s.run(&[
        "--device",
        &s.soft("k2.json"),
        "keys",
        "verify",
        "--key",
        &b,
        "--custodians",
        "alice",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    s.verifies();
    // bootstrap, 2 enrolled, 2 confirmed, account, carol, out, in, verified
    assert_eq!(s.len(), 10);
}

#[test]
fn same_person_unknown_and_removed_custodians_are_refused() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let before = s.len();
    let o = checkout(&s, &p, "alice", "alice");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("two different people"),
        "{}",
        stderr(&o)
    );
    let o = checkout(&s, &p, "alice", "mallory");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("mallory is not a registered custodian"),
        "{}",
        stderr(&o)
    );
    assert!(s.cmd_add("carol", "Carol Diaz").status.success());
    let o = s.run(&[
        "custodian",
        "remove",
        "carol",
        "--approvers",
        "alice,bob",
        "--reason",
        "left",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = checkout(&s, &p, "alice", "carol");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("carol was removed at entry"),
        "{}",
        stderr(&o)
    );
    // Removing below two custodians is refused.
    let o = s.run(&["custodian", "remove", "bob", "--approvers", "alice,bob"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("dual control needs two"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before + 2);
    s.verifies();
}

#[test]
fn wrong_key_at_checkin_is_refused() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    assert!(checkout(&s, &p, "alice", "bob").status.success());
    let before = s.len();
    s.new_key("stranger.json");
    for other in ["k2.json", "stranger.json"] {
        let o = s.run(&[
            "--device",
            &s.soft(other),
            "checkin",
            "--key",
            &p,
            "--bag",
            "B9",
            "--custodians",
            "alice,bob",
        ]);
        // The check ran and found the wrong key: exit 1, like every refused proof.
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("possession proof"), "{}", stderr(&o));
    }
    assert_eq!(s.len(), before);
    s.verifies();
}

#[test]
fn enrollment_refusals() {
    let s = Station::new();
    let before = s.len();
    // Same location, written differently.
    let args = s.enroll_args("safe a dublin", &[]);
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("stored apart"), "{}", stderr(&o));
    // Soft key without its CA trusted: drop --roots.
    let mut args = s.enroll_args("Cork", &[]);
    let i = args.iter().position(|a| a == "--roots").unwrap();
    args.drain(i..i + 2);
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("primary key refused"), "{}", stderr(&o));
    // Soft key with its CA trusted, under a policy that does not allow software keys.
    std::fs::write(s.path("no-software.toml"), "require_pin = false\n").unwrap();
    let mut args = s.enroll_args("Cork", &[]);
    let i = args.iter().position(|a| a == "--policy").unwrap();
    args[i + 1] = s.path("no-software.toml").display().to_string();
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("primary key refused") && stderr(&o).contains("NOT HARDWARE"),
        "{}",
        stderr(&o)
    );
    // The same physical key as primary and backup.
    let mut args = s.enroll_args("Cork", &[]);
    let i = args.iter().position(|a| a == "--backup").unwrap();
    args[i + 1] = s.soft("k1.json");
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("backup: this key already holds the primary key just attested"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before);
    // A key already in custody cannot be enrolled again for another account.
    let (_, _) = s.onboarded();
    let mut args = s.enroll_args("Cork", &[]);
    let i = args.iter().position(|a| a == "--account").unwrap();
    args[i + 1] = "444455556666".into();
    let i = args.iter().position(|a| a == "--backup").unwrap();
    args[i + 1] = s.soft("k3.json");
    for (flag, v) in [("--bag-primary", "B7"), ("--bag-backup", "B8")] {
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1] = v.into();
    }
    let ev = args.len() - 1;
    args[ev] = {
        let p = s.path("other.json");
        let text = std::fs::read_to_string(s.path("before.json"))
            .unwrap()
            .replace(ACCT, "444455556666");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("this key already holds root key"),
        "{}",
        stderr(&o)
    );
    s.verifies();
}

#[test]
fn aws_not_showing_a_key_records_nothing() {
    let s = Station::new();
    let (p, _) = s.enroll();
    let before = s.len();
    let o = s.confirm(&[Station::serial(&p)]);
    // AWS was read and does not show the key: a finding (1), not a failure to run (2).
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("AWS does not show backup key") && e.contains(&Station::serial(&p)),
        "{e}"
    );
    assert_eq!(s.len(), before);
    s.verifies();
}

#[test]
fn an_error_after_the_first_approval_leaves_no_partial_event() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let before = s.len();
    // Bob's key file becomes unreadable after alice has approved.
    std::fs::write(s.path("bob.json"), b"{ not a key").unwrap();
    let o = checkout(&s, &p, "alice", "bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("custodian alice") && stderr(&o).contains("bob"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before);
    s.verifies();
}

#[test]
fn sigint_while_confirm_polls_aws_leaves_the_ledger_unchanged() {
    let s = Station::new();
    let _ = s.enroll();
    let before = s.len();
    // An endpoint that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .env("ROOTKEY_LEDGER", s.path("ledger.db"))
        .env("ROOTKEY_CONFIG", s.path("none.toml"))
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "enroll",
            "confirm",
            "--account",
            ACCT,
            "--custodians",
            "alice,bob",
            "--region",
            "us-east-1",
        ])
        .arg("--endpoint-url")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--custodian-device")
        .arg(format!("alice={}", s.soft("alice.json")))
        .arg("--custodian-device")
        .arg(format!("bob={}", s.soft("bob.json")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (_conn, _) = listener.accept().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(s.len(), before);
    s.verifies();
}

#[test]
fn bootstrap_needs_an_empty_registry_and_add_needs_a_bootstrap() {
    let s = Station::empty();
    let o = s.cmd_add("carol", "Carol Diaz");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("custodian bootstrap"), "{}", stderr(&o));
    let o = s.run(&[
        "custodian",
        "bootstrap",
        "--first",
        "alice",
        "--first-name",
        "A",
        "--second",
        "alice",
        "--second-name",
        "B",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
