//! The custody flows through rootkey's USB HID transport: the real binary with `--device hid:…`
//! and `--custodian-device ID=hid:…` against virtual keys (tests/hid_support, docs/virtual-key.md),
//! each with a PIN set over HID. The story (bootstrap, enroll, confirm, checkout, checkin,
//! keys verify, ledger verify), the refusals only a real transport can show (one key offered as
//! two custodians, a wrong PIN, no touch, `--json` staying clean) and `rootkey demo --hid`.

mod hid_support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hid_support::{KeyOptions, VirtualKeys};

const ACCT: &str = "111122223333";
const PIN: &str = "246810";
/// Key indices: two custodians, two root keys, a spare.
const ALICE: usize = 0;
const BOB: usize = 1;
const PRIMARY: usize = 2;
const BACKUP: usize = 3;
const SPARE: usize = 4;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A custody station whose keys are virtual USB keys.
struct HidStation {
    keys: VirtualKeys,
    dir: tempfile::TempDir,
}

impl HidStation {
    /// A ledger and five virtual keys with the test PIN (set over HID); the keys give up
    /// waiting for a touch after 1.5 s.
    fn new() -> HidStation {
        let keys = VirtualKeys::start(
            5,
            &KeyOptions {
                touch_timeout: Some(Duration::from_millis(1500)),
                ..KeyOptions::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        // The virtual keys attest with the soft CA: software, allowed here for both tables.
        std::fs::write(
            dir.path().join("policy.toml"),
            "allow_software = true\n\n[custodian]\nallow_software = true\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("none.toml"), "").unwrap();
        let s = HidStation { keys, dir };
        let o = s
            .cmd()
            .args(["ledger", "init", "--origin", "test.example/custody"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        for i in 0..5 {
            s.set_pin(i);
        }
        s
    }

    fn set_pin(&self, i: usize) {
        let mut child = self
            .cmd()
            .args([
                "--device",
                &self.keys.spec(i),
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
        assert!(o.status.success(), "set-pin on key {i}: {}", stderr(&o));
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn cmd(&self) -> Command {
        let mut c = self.keys.rootkey();
        c.env("ROOTKEY_LEDGER", self.path("ledger.db"))
            .env("ROOTKEY_CONFIG", self.path("none.toml"))
            .env("ROOTKEY_TEST_PIN", PIN)
            .stdin(Stdio::null());
        c
    }

    /// `rootkey --pin-env ROOTKEY_TEST_PIN ARGS`, with the trust flags where a key is attested
    /// and alice's and bob's keys as custodian devices.
    fn run(&self, args: &[&str]) -> Output {
        self.run_as(args, &[("alice", ALICE), ("bob", BOB)], PIN)
    }

    fn run_as(&self, args: &[&str], custodians: &[(&str, usize)], pin: &str) -> Output {
        let mut c = self.cmd();
        c.env("ROOTKEY_TEST_PIN", pin)
            .args(["--pin-env", "ROOTKEY_TEST_PIN"])
            .args(args);
        if args
            .windows(2)
            .any(|w| matches!(w, ["custodian", "bootstrap" | "add"]))
            || args.contains(&"enroll") && !args.contains(&"confirm")
        {
            c.arg("--roots")
                .arg(self.keys.roots_dir())
                .arg("--policy")
                .arg(self.path("policy.toml"));
        }
        // Only the people the command asks to approve: naming anyone else is an error.
        let named = |who: &str| {
            args.windows(2).any(|w| {
                matches!(
                    w[0],
                    "--custodians"
                        | "--approvers"
                        | "--requester"
                        | "--approver"
                        | "--first"
                        | "--second"
                ) && w[1].split(',').any(|p| p == who)
            })
        };
        for (who, i) in custodians.iter().filter(|(who, _)| named(who)) {
            c.arg("--custodian-device")
                .arg(format!("{who}={}", self.keys.spec(*i)));
        }
        c.output().unwrap()
    }

    fn len(&self) -> usize {
        let o = self
            .cmd()
            .args(["ledger", "show", "--json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_array()
            .map(|a| a.len())
            .or_else(|| v["entries"].as_array().map(|a| a.len()))
            .unwrap()
    }

    fn verifies(&self) {
        let vkey = rootkey::ledger::Ledger::open_readonly(&self.dir.path().join("ledger.db"))
            .unwrap()
            .verifier_key()
            .encode();
        let o = self
            .cmd()
            .args(["ledger", "verify", "--vkey", &vkey])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    }

    fn bootstrap(&self) {
        let o = self.run(&[
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
        assert!(o.status.success(), "bootstrap: {}", stderr(&o));
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
        p
    }

    /// Bootstrap, enroll (primary and backup over HID) and confirm; the root key ids.
    fn onboarded(&self) -> (String, String) {
        self.bootstrap();
        let before = self.evidence("before.json", &[]);
        let (primary, backup) = (self.keys.spec(PRIMARY), self.keys.spec(BACKUP));
        let o = self.run(&[
            "--json",
            "enroll",
            "--account",
            ACCT,
            "--primary",
            &primary,
            "--backup",
            &backup,
            "--location-primary",
            "Safe A, Dublin",
            "--location-backup",
            "Deposit box 114, Cork",
            "--bag-primary",
            "B1",
            "--bag-backup",
            "B2",
            "--custodians",
            "alice,bob",
            "--evidence-in",
            &before,
        ]);
        assert!(o.status.success(), "enroll: {}", stderr(&o));
        // --json: stdout is one JSON document, whatever the HID library printed.
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("enroll --json stdout is not JSON ({e}): {}", stdout(&o)));
        let id = |i: usize| v["keys"][i]["key_id"].as_str().unwrap().to_string();
        let (p, b) = (id(0), id(1));
        let serial = |id: &str| {
            format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{id}-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        };
        let after = self.evidence("after.json", &[serial(&p), serial(&b)]);
        let o = self.run(&[
            "enroll",
            "confirm",
            "--account",
            ACCT,
            "--custodians",
            "alice,bob",
            "--evidence-in",
            &after,
        ]);
        assert!(o.status.success(), "enroll confirm: {}", stderr(&o));
        (p, b)
    }

    fn checkout(&self, key: &str, pin: &str, json: bool) -> Output {
        let mut args = vec![];
        if json {
            args.push("--json");
        }
        args.extend([
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
            "alice",
            "--approver",
            "bob",
        ]);
        self.run_as(&args, &[("alice", ALICE), ("bob", BOB)], pin)
    }
}

#[test]
fn custody_story_over_hid() {
    let s = HidStation::new();
    let (primary, backup) = s.onboarded();

    let o = s.checkout(&primary, PIN, true);
    assert!(o.status.success(), "checkout: {}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap_or_else(|e| panic!("checkout --json stdout is not JSON ({e}): {}", stdout(&o)));

    // The same virtual key proves possession at checkin.
    let o = s.run(&[
        "--device",
        &s.keys.spec(PRIMARY),
        "checkin",
        "--key",
        &primary,
        "--bag",
        "B3",
        "--custodians",
        "alice,bob",
    ]);
    assert!(o.status.success(), "checkin: {}", stderr(&o));

    // Another key cannot check the primary in: it holds none of its credentials.
    let o = s.run(&[
        "--device",
        &s.keys.spec(BACKUP),
        "keys",
        "verify",
        "--key",
        &primary,
        "--custodians",
        "bob",
    ]);
    assert!(!o.status.success(), "the backup key passed as the primary");
    assert!(
        stderr(&o).contains("does not hold its custody credential"),
        "{}",
        stderr(&o)
    );
    let n = s.len();

    let o = s.run(&[
        "--device",
        &s.keys.spec(BACKUP),
        "keys",
        "verify",
        "--key",
        &backup,
        "--custodians",
        "bob",
    ]);
    assert!(o.status.success(), "keys verify: {}", stderr(&o));
    assert!(stdout(&o).contains("is present"), "{}", stdout(&o));
    assert_eq!(s.len(), n + 1);
    s.verifies();
}

#[test]
fn one_key_cannot_be_both_bootstrap_custodians_over_hid() {
    let s = HidStation::new();
    let n = s.len();
    let o = s.run_as(
        &[
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
        ],
        &[("alice", ALICE), ("bob", ALICE)],
        PIN,
    );
    assert!(!o.status.success(), "one key bootstrapped two custodians");
    assert!(
        stderr(&o).contains("already holds"),
        "the silent probe should find alice's credential: {}",
        stderr(&o)
    );
    assert_eq!(s.len(), n, "nothing recorded");
    // The refusal left both keys usable: the real bootstrap goes through.
    s.bootstrap();
    s.verifies();
}

#[test]
fn a_wrong_pin_during_an_approval_records_nothing() {
    let s = HidStation::new();
    let (primary, _) = s.onboarded();
    let n = s.len();
    let o = s.checkout(&primary, "135790", false);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("wrong PIN"), "{err}");
    assert!(err.contains("7 tries left"), "the retries are shown: {err}");
    assert_eq!(s.len(), n, "nothing recorded");
    // The right PIN works next (and resets the count).
    let o = s.checkout(&primary, PIN, false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(s.len(), n + 1);
    s.verifies();
}

#[test]
fn no_touch_during_an_approval_times_out_records_nothing_and_frees_the_key() {
    let s = HidStation::new();
    let (primary, _) = s.onboarded();
    let n = s.len();
    s.keys.set_touch(BOB, false);
    let start = Instant::now();
    let o = s.checkout(&primary, PIN, true);
    assert!(!o.status.success());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    let err = stderr(&o);
    assert!(
        err.contains("custodian bob's key") && err.contains("gave up waiting for a touch"),
        "a timeout message naming whose key: {err}"
    );
    // --json: stdout is empty or one JSON document, never library noise.
    let out = stdout(&o);
    assert!(
        out.trim().is_empty() || serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "stdout: {out}"
    );
    assert_eq!(s.len(), n, "nothing recorded");
    // The key was released: the next command uses it.
    s.keys.set_touch(BOB, true);
    let o = s.checkout(&primary, PIN, true);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
    assert_eq!(s.len(), n + 1);
    s.verifies();
}

#[test]
fn a_spare_key_joins_as_a_custodian_over_hid() {
    let s = HidStation::new();
    s.bootstrap();
    let spare = s.keys.spec(SPARE);
    let add = |dev: &str| {
        s.run(&[
            "--device",
            dev,
            "custodian",
            "add",
            "carol",
            "--name",
            "Carol Diaz",
            "--approvers",
            "alice,bob",
        ])
    };
    // Alice's own key cannot become Carol's: the probe over HID finds Alice's credential.
    let o = add(&s.keys.spec(ALICE));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already holds"), "{}", stderr(&o));
    let o = add(&spare);
    assert!(o.status.success(), "{}", stderr(&o));
    s.verifies();
}

#[test]
fn demo_runs_on_virtual_hid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(["demo", "--hid", "--dir"])
        .arg(&demo)
        .env_remove("ROOTKEY_LEDGER")
        .env_remove("ROOTKEY_DEVICE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("--device hid:"),
        "the steps use the HID transport: {err}"
    );
    assert!(err.contains("virtual USB keys"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(demo.join("ledger.db"))
        .args(["ledger", "verify", "--since-checkpoint"])
        .arg(demo.join("auditor-checkpoint.txt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The virtual keys were stopped: nothing listens on their nodes any more.
    let log = std::fs::read_to_string(demo.join("keys/alice.vkey.log")).unwrap();
    let node = log.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        std::os::unix::net::UnixStream::connect(&node).is_err()
            && !std::path::Path::new(&node).exists(),
        "{node} still there"
    );
}

#[test]
fn a_demo_killed_outright_takes_its_virtual_keys_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(["demo", "--hid", "--dir"])
        .arg(&demo)
        .env_remove("ROOTKEY_LEDGER")
        .env_remove("ROOTKEY_DEVICE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the last key listens, kill the demo with no chance to clean up.
    let last = demo.join("keys/root-backup.vkey.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&last)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(Instant::now() < deadline, "the demo's keys did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(&last).unwrap();
    let node = log.trim().rsplit(' ').next().unwrap().to_string();
    let alive = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .any(|c| String::from_utf8_lossy(&c).contains(&node))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive() {
        assert!(Instant::now() < deadline, "a virtual key outlived its demo");
        std::thread::sleep(Duration::from_millis(20));
    }
    // What the killed demo could not remove.
    if let Some(run) = std::path::Path::new(&node).ancestors().nth(2) {
        if run.starts_with("/tmp") && run != std::path::Path::new("/tmp") {
            let _ = std::fs::remove_dir_all(run);
        }
    }
}
