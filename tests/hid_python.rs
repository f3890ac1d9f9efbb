//! An independent client checks the virtual key: Yubico's python-fido2 (pinned by
//! `scripts/deps --test` into .venv) talks to a virtual key through the same preload and hidraw
//! path rootkey uses (tests/hid_support/fido2_check.py), and rootkey's attestation verifier then
//! checks the attestation python-fido2 obtained.

mod hid_support;

use std::path::PathBuf;
use std::process::Command;

use hid_support::{KeyOptions, VirtualKeys};
use serde_json::Value;

/// The Python holding fido2: `ROOTKEY_TEST_PYTHON`, else the project's .venv.
fn python() -> PathBuf {
    let p = std::env::var_os("ROOTKEY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let has_fido2 = Command::new(&p)
        .args(["-c", "import fido2"])
        .output()
        .is_ok_and(|o| o.status.success());
    // Tests never skip silently: say what to do.
    assert!(
        has_fido2,
        "python-fido2 not found with {} (run ./scripts/deps --test, or set ROOTKEY_TEST_PYTHON)",
        p.display()
    );
    p
}

#[test]
fn python_fido2_drives_the_virtual_key_and_rootkey_verifies_its_attestation() {
    let python = python();
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let evidence = keys.dir().join("python-fido2-evidence.json");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/hid_support/fido2_check.py");
    let o = Command::new(python)
        .envs(keys.env())
        .arg(&script)
        .arg(&keys.key(0).path)
        .arg(&evidence)
        .output()
        .expect("python runs");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && log.contains("all checks passed"),
        "python-fido2 check failed:\n{log}\nkey log:\n{}",
        keys.key(0).log_text()
    );
    for check in [
        "getInfo",
        "setPIN",
        "makeCredential: packed attestation",
        "getAssertion with PIN",
        "up=false",
        "protocol 1",
        "wrong PIN",
        "changePIN",
        "reset",
    ] {
        assert!(log.contains(check), "no {check:?} in:\n{log}");
    }

    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(["--json", "attest", "verify", "--roots"])
        .arg(keys.roots_dir())
        .arg(&evidence)
        .output()
        .expect("rootkey runs");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert_eq!(v[0]["attestation"], "valid", "{v}");
    assert_eq!(v[0]["fmt"], "packed");
    assert_eq!(v[0]["challenge_checked"], true);
    assert_eq!(v[0]["trust_root"], "rootkey-soft-ca.pem");
    assert_eq!(v[0]["aaguid"], "03182ce0-2096-4c47-81aa-eb4fedc46cca");
    // Software, so never eligible: the verifier's policy, not the transport, decides that.
    assert_eq!(v[0]["eligible"], false);
}
