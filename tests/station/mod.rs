//! A custody station for end-to-end tests: a temporary ledger, software keys with PINs, the
//! soft CA trusted through `--roots`, AWS evidence files written here, and the real binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub const ACCT: &str = "111122223333";

pub struct Station {
    pub dir: tempfile::TempDir,
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Station {
    /// A ledger with alice and bob bootstrapped.
    pub fn new() -> Station {
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

    /// Creates the soft key `name` with the test PIN, as a custodian would with
    /// `rootkey keys soft-init FILE` (rootkey never creates a key by itself).
    pub fn with_pin(&self, name: &str) {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args([
                "keys",
                "soft-init",
                self.path(name).to_str().unwrap(),
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
        assert!(o.status.success(), "soft-init {name}: {}", stderr(&o));
    }

    /// Creates the soft key `name` without a PIN (a root key: the test policy does not require
    /// one) and returns its `--device` spec.
    pub fn new_key(&self, name: &str) -> String {
        let o = self
            .cmd()
            .args([
                "keys",
                "soft-init",
                self.path(name).to_str().unwrap(),
                "--no-pin",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "soft-init {name}: {}", stderr(&o));
        self.soft(name)
    }

    pub fn empty() -> Station {
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
        // The two root keys every enrollment here uses.
        s.new_key("k1.json");
        s.new_key("k2.json");
        s
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn soft(&self, name: &str) -> String {
        format!("soft:{}", self.path(name).display())
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rootkey"));
        c.env("ROOTKEY_LEDGER", self.path("ledger.db"))
            .env("ROOTKEY_CONFIG", self.path("none.toml"))
            .env("ROOTKEY_TEST_PIN", PIN)
            .env_remove("ROOTKEY_DEVICE")
            .stdin(Stdio::null());
        c
    }

    /// The ledger's verifier key, as the auditor recorded it at `ledger init`.
    pub fn vkey(&self) -> String {
        rootkey::ledger::Ledger::open_readonly(&self.path("ledger.db"))
            .unwrap()
            .verifier_key()
            .encode()
    }

    pub fn run(&self, args: &[&str]) -> Output {
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
            // Only the people the command asks to approve: naming anyone else is an error.
            for who in approvers_named(args) {
                c.arg("--custodian-device")
                    .arg(format!("{who}={}", self.soft(&format!("{who}.json"))));
            }
        }
        c.output().unwrap()
    }

    pub fn len(&self) -> usize {
        let o = self.run(&["ledger", "show", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .map(|a| a.len())
            .or_else(|| v["entries"].as_array().map(|a| a.len()))
            .unwrap()
    }

    pub fn verifies(&self) {
        let vkey = self.vkey();
        let o = self.run(&["ledger", "verify", "--vkey", &vkey]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    }

    pub fn evidence(&self, name: &str, serials: &[String]) -> String {
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

    pub fn enroll_args(&self, loc_b: &str, extra: &[&str]) -> Vec<String> {
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
    pub fn enroll(&self) -> (String, String) {
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

    pub fn serial(id: &str) -> String {
        format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{id}-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    }

    pub fn confirm(&self, serials: &[String]) -> Output {
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

    pub fn onboarded(&self) -> (String, String) {
        let (p, b) = self.enroll();
        let o = self.confirm(&[Self::serial(&p), Self::serial(&b)]);
        assert!(o.status.success(), "{}", stderr(&o));
        (p, b)
    }
}

/// The PIN every soft key in these tests has.
pub const PIN: &str = "246810";

/// Commands that attest a new custodian key take the soft CA and the test policy.
pub fn takes_trust(args: &[&str]) -> bool {
    args.windows(2)
        .any(|w| matches!(w, ["custodian", "bootstrap" | "add" | "rotate"]))
}

pub fn takes_custodian_devices(args: &[&str]) -> bool {
    args.windows(2).any(|w| {
        matches!(
            w,
            ["custodian", "bootstrap" | "add" | "remove" | "rotate"]
                | ["keys", "verify" | "move" | "retire"]
                | ["account", "close"]
        )
    }) || args
        .iter()
        .any(|a| matches!(*a, "enroll" | "checkout" | "checkin" | "audit"))
}

/// The custodians (of alice, bob, carol, dave) that `args` asks to approve (the values of the
/// approving flags) and whose key the test did not give itself.
pub fn approvers_named(args: &[&str]) -> Vec<&'static str> {
    const FLAGS: [&str; 6] = [
        "--custodians",
        "--approvers",
        "--requester",
        "--approver",
        "--first",
        "--second",
    ];
    let named: Vec<&str> = args
        .windows(2)
        .filter(|w| FLAGS.contains(&w[0]))
        .flat_map(|w| w[1].split(','))
        .collect();
    // A key the test names itself for someone replaces the harness's one.
    let given: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--custodian-device")
        .filter_map(|w| w[1].split('=').next())
        .collect();
    ["alice", "bob", "carol", "dave"]
        .into_iter()
        .filter(|who| named.contains(who) && !given.contains(who))
        .collect()
}

pub fn checkout(s: &Station, key: &str, requester: &str, approver: &str) -> Output {
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

impl Station {
    pub fn cmd_add(&self, id: &str, name: &str) -> Output {
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
