//! rootkey's `keys` commands through the unchanged `hid:` path, against virtual FIDO2 keys
//! (tools/vkey behind the tools/vhid-preload hidraw node; docs/virtual-key.md).

mod hid_support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hid_support::{KeyOptions, VirtualKeys};
use serde_json::Value;

fn rootkey(keys: &VirtualKeys, args: &[&str], stdin: &str) -> Output {
    let mut child = keys
        .rootkey()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rootkey runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("rootkey finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout must be exactly one JSON document: nothing a library printed, no prompt.
fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "rootkey failed: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            text(&o.stdout)
        )
    })
}

fn info(keys: &VirtualKeys, i: usize) -> Value {
    json(&rootkey(
        keys,
        &["--json", "--device", &keys.spec(i), "keys", "info"],
        "",
    ))
}

#[test]
fn info_and_list_describe_the_virtual_key_as_software() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let v = info(&keys, 0);
    assert_eq!(v["path"], keys.key(0).path.to_str().unwrap());
    assert_eq!(v["product"], "rootkey virtual FIDO key");
    assert_eq!(v["vendor_id"], 0x1209);
    assert_eq!(v["aaguid"], "03182ce0-2096-4c47-81aa-eb4fedc46cca");
    assert_eq!(v["pin_set"], false);
    assert_eq!(v["is_software"], true, "{v}");
    assert_eq!(v["versions"], serde_json::json!(["FIDO_2_0", "FIDO_2_1"]));

    let list = json(&rootkey(
        &keys,
        &["--json", "--device", &keys.spec(0), "keys", "list"],
        "",
    ));
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["aaguid"], v["aaguid"]);

    let table = rootkey(&keys, &["--device", &keys.spec(0), "keys", "info"], "");
    assert!(table.status.success(), "{}", text(&table.stderr));
    assert!(text(&table.stdout).contains("NOT HARDWARE"));
}

#[test]
fn attestation_over_hid_verifies_with_the_keys_root() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let ev = keys.dir().join("evidence.json");
    let o = rootkey(
        &keys,
        &[
            "--json",
            "--device",
            &keys.spec(0),
            "keys",
            "attest",
            "--out",
            ev.to_str().unwrap(),
        ],
        "",
    );
    let summary = json(&o);
    assert_eq!(summary["fmt"], "packed");
    assert!(text(&o.stderr).contains("touch your key") || summary["fmt"] == "packed");
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(["--json", "attest", "verify", "--roots"])
        .arg(keys.roots_dir())
        .arg(&ev)
        .output()
        .expect("rootkey runs");
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(v[0]["attestation"], "valid", "{v}");
    assert_eq!(v[0]["attestation_type"], "basic");
    assert_eq!(v[0]["challenge_checked"], true);
    assert_eq!(v[0]["trust_root"], "rootkey-soft-ca.pem");
    // A software key, however it is reached, is never eligible custody hardware.
    assert_eq!(v[0]["eligible"], false);
}

#[test]
fn a_pin_is_set_required_changed_and_a_wrong_one_costs_exactly_one_try() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let dev = keys.spec(0);
    let o = rootkey(
        &keys,
        &["--device", &dev, "keys", "set-pin", "--pin-stdin"],
        "1234\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("PIN set"));
    let v = info(&keys, 0);
    assert_eq!(v["pin_set"], true);
    assert_eq!(v["pin_retries"], 8);

    // Without the PIN on stdin: a clear refusal, and the key's count is untouched.
    let ev = keys.dir().join("ev.json");
    let attest = |pin: &str| {
        let _ = std::fs::remove_file(&ev);
        rootkey(
            &keys,
            &[
                "--device",
                &dev,
                "keys",
                "attest",
                "--pin-stdin",
                "--out",
                ev.to_str().unwrap(),
            ],
            pin,
        )
    };
    let o = attest("");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("PIN"), "{}", text(&o.stderr));
    assert_eq!(info(&keys, 0)["pin_retries"], 8);

    // A wrong PIN: one try spent (rootkey never retries on its own), the count shown.
    let o = attest("9999\n");
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("wrong PIN (7 tries left"), "{err}");
    assert!(!ev.exists());
    assert_eq!(info(&keys, 0)["pin_retries"], 7);

    // The right PIN works and restores the count.
    let o = attest("1234\n");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(ev.exists());
    assert_eq!(info(&keys, 0)["pin_retries"], 8);

    // Change it; the old one is then wrong, the new one right.
    let o = rootkey(
        &keys,
        &["--device", &dev, "keys", "set-pin", "--pin-stdin"],
        "1234\n567890\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("PIN changed"));
    assert!(text(&attest("1234\n").stderr).contains("wrong PIN"));
    assert!(attest("567890\n").status.success());

    // A wrong current PIN does not change it.
    let o = rootkey(
        &keys,
        &["--device", &dev, "keys", "set-pin", "--pin-stdin"],
        "0000\n11111\n",
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("wrong PIN"), "{}", text(&o.stderr));
    assert!(attest("567890\n").status.success());
}

#[test]
fn three_wrong_pins_in_a_row_ask_for_a_replug_not_a_reset() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let dev = keys.spec(0);
    let o = rootkey(
        &keys,
        &["--device", &dev, "keys", "set-pin", "--pin-stdin"],
        "1234\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ev = keys.dir().join("ev.json");
    let mut last = String::new();
    for _ in 0..3 {
        let o = rootkey(
            &keys,
            &[
                "--device",
                &dev,
                "keys",
                "attest",
                "--pin-stdin",
                "--out",
                ev.to_str().unwrap(),
            ],
            "0000\n",
        );
        assert!(!o.status.success());
        last = text(&o.stderr);
    }
    assert!(last.contains("unplugged and plugged in again"), "{last}");
    assert!(!last.contains("reset"), "{last}");
    assert_eq!(info(&keys, 0)["pin_retries"], 5);
}

#[test]
fn no_touch_times_out_with_a_clear_message_and_releases_the_key() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            withhold_touch: true,
            touch_timeout: Some(Duration::from_millis(1500)),
            ..KeyOptions::default()
        },
    );
    let ev = keys.dir().join("ev.json");
    let start = Instant::now();
    let o = rootkey(
        &keys,
        &[
            "--json",
            "--device",
            &keys.spec(0),
            "keys",
            "attest",
            "--out",
            ev.to_str().unwrap(),
        ],
        "",
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("gave up waiting for a touch"), "{err}");
    assert!(o.stdout.is_empty(), "stdout: {}", text(&o.stdout));
    assert!(!ev.exists());
    assert!(keys.key(0).log_contains("waiting for a touch"));
    // The key was released: the next command gets it.
    assert_eq!(info(&keys, 0)["pin_set"], false);
}

#[test]
fn keepalives_while_the_user_is_slow_to_touch_are_waited_through() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            touch_delay: Some(Duration::from_millis(700)),
            ..KeyOptions::default()
        },
    );
    let ev = keys.dir().join("ev.json");
    let o = rootkey(
        &keys,
        &[
            "--json",
            "--device",
            &keys.spec(0),
            "keys",
            "attest",
            "--out",
            ev.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(json(&o)["fmt"], "packed");
}

#[test]
fn a_key_that_stops_answering_is_given_up_on_after_the_answer_timeout() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let pid = keys.key(0).pid();
    // A frozen key: it stays "plugged in" (the node accepts) but never answers.
    // SAFETY: kill(2) on the child process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let start = Instant::now();
    let o = rootkey(
        &keys,
        &["--json", "--device", &keys.spec(0), "keys", "info"],
        "",
    );
    let took = start.elapsed();
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("did not answer within 5 s"), "{err}");
    assert!(o.stdout.is_empty(), "stdout: {}", text(&o.stdout));
    assert!(took < Duration::from_secs(15), "{took:?}");
    // Thawed, the key answers the next command.
    assert_eq!(info(&keys, 0)["pin_set"], false);
}

#[test]
fn a_key_unplugged_mid_operation_is_reported_promptly() {
    let mut keys = VirtualKeys::start(
        1,
        &KeyOptions {
            withhold_touch: true,
            touch_timeout: Some(Duration::from_secs(60)),
            ..KeyOptions::default()
        },
    );
    let ev = keys.dir().join("ev.json");
    let child = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .envs(keys.env())
        .args([
            "--json",
            "--device",
            &keys.spec(0),
            "keys",
            "attest",
            "--out",
        ])
        .arg(&ev)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rootkey runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !keys.key(0).log_contains("waiting for a touch") {
        assert!(Instant::now() < deadline, "{}", keys.key(0).log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let pulled = Instant::now();
    keys.unplug(0);
    let o = child.wait_with_output().expect("rootkey finishes");
    assert!(
        pulled.elapsed() < Duration::from_secs(10),
        "rootkey noticed the unplug only after {:?}",
        pulled.elapsed()
    );
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("unplugged"), "{err}");
    assert!(o.stdout.is_empty(), "stdout: {}", text(&o.stdout));
    assert!(!ev.exists());

    // The dead node is "no device", not a hang.
    let o = rootkey(&keys, &["--device", &keys.spec(0), "keys", "info"], "");
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no device at"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_key_busy_with_another_program_says_so() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            touch_delay: Some(Duration::from_secs(5)),
            ..KeyOptions::default()
        },
    );
    let ev = keys.dir().join("ev.json");
    let first = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .envs(keys.env())
        .args(["--device", &keys.spec(0), "keys", "attest", "--out"])
        .arg(&ev)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rootkey runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !keys.key(0).log_contains("waiting for a touch") {
        assert!(Instant::now() < deadline, "{}", keys.key(0).log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = rootkey(&keys, &["--device", &keys.spec(0), "keys", "info"], "");
    let first = first.wait_with_output().expect("the first finishes");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("busy with another program"), "{err}");
}

#[test]
fn two_keys_are_told_apart_by_path() {
    let keys = VirtualKeys::start(2, &KeyOptions::default());
    let o = rootkey(
        &keys,
        &["--device", &keys.spec(1), "keys", "set-pin", "--pin-stdin"],
        "4321\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(info(&keys, 0)["pin_set"], false);
    assert_eq!(info(&keys, 1)["pin_set"], true);

    // A credential made on one key is not on the other: attest on both, then check both
    // attestations carry different credentials.
    let mut creds = Vec::new();
    for (i, pin) in [(0, ""), (1, "4321\n")] {
        let ev = keys.dir().join(format!("ev{i}.json"));
        let o = rootkey(
            &keys,
            &[
                "--json",
                "--device",
                &keys.spec(i),
                "keys",
                "attest",
                "--pin-stdin",
                "--out",
                ev.to_str().unwrap(),
            ],
            pin,
        );
        creds.push(json(&o)["credential_id_b64url"].clone());
    }
    assert_ne!(creds[0], creds[1]);
}

#[test]
fn json_stays_clean_when_the_hid_library_prints() {
    // With a PIN set the key answers getPINRetries with powerCycleState (CTAP 2.1), which
    // ctap-hid-fido2 does not know and reports with a println!: it must land on stderr.
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let dev = keys.spec(0);
    let o = rootkey(
        &keys,
        &["--device", &dev, "keys", "set-pin", "--pin-stdin"],
        "1234\n",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = rootkey(&keys, &["--json", "--device", &dev, "keys", "info"], "");
    let v = json(&o);
    assert_eq!(v["pin_retries"], 8);
    assert!(
        text(&o.stderr).contains("unknown field"),
        "the library's print was not exercised: {}",
        text(&o.stderr)
    );
    let o = rootkey(
        &keys,
        &["--json", "--device", &dev, "keys", "attest", "--pin-stdin"],
        "1234\n",
    );
    // Without --out the evidence itself is the JSON on stdout.
    let ev = json(&o);
    assert_eq!(ev["fmt"], "packed");
}
