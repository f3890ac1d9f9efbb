//! Custody flows end to end through the real binary, with software keys, a temporary ledger,
//! the soft CA trusted through `--roots`, and AWS evidence files written here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const ACCT: &str = "111122223333";

struct Station {
    dir: tempfile::TempDir,
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Station {
    /// A ledger with alice and bob bootstrapped.
    fn new() -> Station {
        let s = Station::empty();
        let o = s.run(&[
            "custodian",
            "bootstrap",
            "--first",
            "alice",
            "--first-name",
            "Alice Martin",
            "--second",
            "bob",
            "--second-name",
            "Bob Okafor",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        s
    }

    /// Sets the test PIN on the soft key `name` (created if missing), as a custodian would with
    /// `rootkey keys set-pin` before enrolling it.
    fn with_pin(&self, name: &str) {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args([
                "--device",
                &self.soft(name),
                "keys",
                "set-pin",
                "--pin-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PIN}\n").as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "set-pin {name}: {}", stderr(&o));
    }

    fn empty() -> Station {
        let dir = tempfile::tempdir().unwrap();
        // Soft keys: no PIN to type, and software allowed (denied by default), for root keys
        // and (in its own table, which does not inherit) for custodian keys.
        std::fs::write(
            dir.path().join("policy.toml"),
            "require_pin = false\nallow_software = true\n\n\
             [custodian]\nrequire_pin = false\nallow_software = true\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("none.toml"), "").unwrap();
        let s = Station { dir };
        let o = s
            .cmd()
            .args(["ledger", "init", "--origin", "test.example/custody"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        // Every custodian key has a PIN: approvals need the person, not only the key.
        for who in ["alice", "bob", "carol", "dave"] {
            s.with_pin(&format!("{who}.json"));
        }
        s
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn soft(&self, name: &str) -> String {
        format!("soft:{}", self.path(name).display())
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rootkey"));
        c.env("ROOTKEY_LEDGER", self.path("ledger.db"))
            .env("ROOTKEY_CONFIG", self.path("none.toml"))
            .env("ROOTKEY_TEST_PIN", PIN)
            .env_remove("ROOTKEY_DEVICE")
            .stdin(Stdio::null());
        c
    }

    /// The ledger's verifier key, as the auditor recorded it at `ledger init`.
    fn vkey(&self) -> String {
        rootkey::ledger::Ledger::open_readonly(&self.path("ledger.db"))
            .unwrap()
            .verifier_key()
            .encode()
    }

    fn run(&self, args: &[&str]) -> Output {
        // Subcommand first, then the shared custodian-device flags.
        let mut c = self.cmd();
        c.args(["--pin-env", "ROOTKEY_TEST_PIN"]).args(args);
        if takes_trust(args) {
            c.arg("--roots")
                .arg(self.dir.path())
                .arg("--policy")
                .arg(self.path("policy.toml"));
        }
        if takes_custodian_devices(args) {
            for who in ["alice", "bob", "carol", "dave"] {
                c.arg("--custodian-device")
                    .arg(format!("{who}={}", self.soft(&format!("{who}.json"))));
            }
        }
        c.output().unwrap()
    }

    fn len(&self) -> usize {
        let o = self.run(&["ledger", "show", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .map(|a| a.len())
            .or_else(|| v["entries"].as_array().map(|a| a.len()))
            .unwrap()
    }

    fn verifies(&self) {
        let vkey = self.vkey();
        let o = self.run(&["ledger", "verify", "--vkey", &vkey]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    }

    fn evidence(&self, name: &str, serials: &[String]) -> String {
        let devices: Vec<serde_json::Value> = serials
            .iter()
            .map(|s| serde_json::json!({"serial": s, "kind": "fido", "enable_date": "2026-01-02T10:00:00Z"}))
            .collect();
        let ev = serde_json::json!({
            "format": "rootkey-aws-evidence/1",
            "read_at": "2026-01-02T11:00:00Z",
            "caller": {"account": ACCT, "arn": format!("arn:aws:iam::{ACCT}:root"), "user_id": ACCT},
            "period": {"since": "2025-10-01T00:00:00Z", "until": "2026-01-02T11:00:00Z"},
            "organization": null,
            "accounts": [{
                "account_id": ACCT, "name": null, "email": null, "management": true,
                "posture": {
                    "mfa_devices": devices, "mfa_devices_complete": true, "mfa_active": !serials.is_empty(),
                    "access_keys": [], "signing_certificates": [], "password": "present",
                    "password_last_used": null, "account_summary": null, "logins": null,
                    "errors": [], "not_read": []
                }
            }]
        });
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
        p.display().to_string()
    }

    fn enroll_args(&self, loc_b: &str, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "enroll",
            "--account",
            ACCT,
            "--primary",
            &self.soft("k1.json"),
            "--backup",
            &self.soft("k2.json"),
            "--location-primary",
            "Safe A, Dublin",
            "--location-backup",
            loc_b,
            "--bag-primary",
            "B1",
            "--bag-backup",
            "B2",
            "--custodians",
            "alice,bob",
            "--roots",
            &self.dir.path().display().to_string(),
            "--policy",
            &self.path("policy.toml").display().to_string(),
            "--evidence-in",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(self.evidence("before.json", &[]));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    /// Enrolls k1/k2 and returns their key ids (primary, backup).
    fn enroll(&self) -> (String, String) {
        let args = self.enroll_args("Deposit box 114, Cork", &["--json"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = self.run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let id = |i: usize| v["keys"][i]["key_id"].as_str().unwrap().to_string();
        assert!(
            stderr(&o).contains("rootkey enroll confirm --account"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains(&format!("`rootkey-{}`", id(0))));
        (id(0), id(1))
    }

    fn serial(id: &str) -> String {
        format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{id}-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    }

    fn confirm(&self, serials: &[String]) -> Output {
        let ev = self.evidence("after.json", serials);
        self.run(&[
            "enroll",
            "confirm",
            "--account",
            ACCT,
            "--custodians",
            "alice,bob",
            "--evidence-in",
            &ev,
        ])
    }

    fn onboarded(&self) -> (String, String) {
        let (p, b) = self.enroll();
        let o = self.confirm(&[Self::serial(&p), Self::serial(&b)]);
        assert!(o.status.success(), "{}", stderr(&o));
        (p, b)
    }
}

/// The PIN every soft key in these tests has.
const PIN: &str = "246810";

/// Commands that attest a new custodian key take the soft CA and the test policy.
fn takes_trust(args: &[&str]) -> bool {
    args.windows(2)
        .any(|w| matches!(w, ["custodian", "bootstrap" | "add"]))
}

fn takes_custodian_devices(args: &[&str]) -> bool {
    args.windows(2).any(|w| {
        matches!(
            w,
            ["custodian", "bootstrap" | "add" | "remove"] | ["keys", "verify"]
        )
    }) || args
        .iter()
        .any(|a| matches!(*a, "enroll" | "checkout" | "checkin"))
}

fn checkout(s: &Station, key: &str, requester: &str, approver: &str) -> Output {
    s.run(&[
        "checkout",
        "--key",
        key,
        "--reason",
        "close the support case",
        "--ticket",
        "CHG-1",
        "--window",
        "4h",
        "--requester",
        requester,
        "--approver",
        approver,
    ])
}

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

impl Station {
    fn cmd_add(&self, id: &str, name: &str) -> Output {
        self.run(&[
            "--device",
            &self.soft(&format!("{id}.json")),
            "custodian",
            "add",
            id,
            "--name",
            name,
            "--approvers",
            "alice,bob",
        ])
    }
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
        assert_eq!(o.status.code(), Some(2));
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
    assert_eq!(o.status.code(), Some(2));
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
    let _ = Path::new("");
}
