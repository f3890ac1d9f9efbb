//! `rootkey keys ...` end to end: the real binary, no USB, the software authenticator.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use rootkey::webauthn::{self, AuthData, ClientData, Evidence};

fn rootkey(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        .env_remove("ROOTKEY_DEVICE")
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_LEDGER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        s.write_all(stdin).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn soft(path: &Path) -> String {
    format!("soft:{}", path.display())
}

/// Creates a soft key without a PIN in `path`, as a user would, and returns its spec.
fn new_soft(path: &Path) -> String {
    let o = rootkey(
        &["keys", "soft-init", path.to_str().unwrap(), "--no-pin"],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    soft(path)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_without_keys_prints_an_empty_json_array_and_a_udev_hint() {
    let o = rootkey(&["keys", "list", "--json"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v, serde_json::json!([]));
    let err = stderr(&o);
    assert!(
        err.contains("no FIDO security key found") && err.contains("udevadm"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let o = rootkey(&["keys", "list"], b"");
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
}

#[test]
fn list_with_a_soft_key_shows_that_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_soft(&dir.path().join("k.json"));
    let o = rootkey(&["--device", &spec, "keys", "list", "--json"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys = v.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["path"], spec.as_str());
    assert_eq!(keys[0]["is_software"], true);
    assert_eq!(keys[0]["aaguid"], "03182ce0-2096-4c47-81aa-eb4fedc46cca");
    assert!(keys[0]["model"].as_str().unwrap().contains("NOT HARDWARE"));
    assert_eq!(
        keys[0]["attestation_formats"],
        serde_json::json!(["packed"])
    );

    // Human output names the key too.
    let o = rootkey(&["--device", &spec, "keys", "list"], b"");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("NOT HARDWARE"));
}

#[test]
fn info_shows_pin_state() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_soft(&dir.path().join("k.json"));
    let o = rootkey(&["--device", &spec, "keys", "info", "--json"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pin_set"], false);
    assert_eq!(v["pin_retries"], 8);
}

fn verify_evidence(ev: &Evidence, root_pem: &[u8]) {
    use x509_parser::prelude::*;
    assert_eq!(ev.rp_id, "rootkey.custody");
    let cd_json = ev.client_data_json().unwrap();
    let cd = ClientData::parse(&cd_json).unwrap();
    assert_eq!(cd.kind, "webauthn.create");
    assert_eq!(cd.origin, "rootkey:custody");
    let challenge = ev.challenge().unwrap().expect("challenge recorded");
    assert_eq!(challenge.len(), 32);
    assert_eq!(cd.challenge_bytes().unwrap(), challenge);

    let obj = ev.attestation_object().unwrap();
    let v: ciborium::Value = ciborium::from_reader(&obj[..]).unwrap();
    let m = v.as_map().unwrap();
    let get = |m: &[(ciborium::Value, ciborium::Value)], k: &str| {
        m.iter()
            .find(|(kk, _)| kk.as_text() == Some(k))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(get(m, "fmt").as_text(), Some("packed"));
    let st = get(m, "attStmt");
    let st = st.as_map().unwrap();
    let sig = get(st, "sig").as_bytes().unwrap().clone();
    let leaf_der = get(st, "x5c").as_array().unwrap()[0]
        .as_bytes()
        .unwrap()
        .clone();
    let auth = get(m, "authData").as_bytes().unwrap().clone();
    let ad = AuthData::parse(&auth).unwrap();
    assert!(ad.is_for_rp("rootkey.custody"));
    assert_eq!(
        ev.aaguid.as_deref(),
        Some(webauthn::authdata::format_aaguid(&ad.attested.unwrap().aaguid).as_str())
    );

    let (_, leaf) = parse_x509_certificate(&leaf_der).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(root_pem).unwrap();
    let (_, root) = parse_x509_certificate(&pem.contents).unwrap();
    leaf.verify_signature(Some(root.public_key()))
        .expect("leaf chains to the soft CA");
    let mut signed = auth.clone();
    signed.extend_from_slice(&webauthn::sha256(&cd_json));
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        leaf.public_key().subject_public_key.data.as_ref(),
    )
    .verify(&signed, &sig)
    .expect("attestation signature verifies");
}

#[test]
fn attest_writes_evidence_in_the_shared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_soft(&dir.path().join("k.json"));
    let out = dir.path().join("evidence.json");
    let o = rootkey(
        &[
            "--device",
            &spec,
            "keys",
            "attest",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["fmt"], "packed");
    let ev = Evidence::from_json(&std::fs::read(&out).unwrap()).unwrap();
    let root = std::fs::read(dir.path().join("rootkey-soft-ca.pem")).unwrap();
    verify_evidence(&ev, &root);
    let dev = ev.device.as_ref().unwrap();
    assert_eq!(dev.path.as_deref(), Some(spec.as_str()));
    assert_eq!(dev.pin_set, Some(false));

    // To stdout, the evidence itself is the whole output, and each run has its own challenge.
    let o = rootkey(&["--device", &spec, "keys", "attest"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev2 = Evidence::from_json(&o.stdout).unwrap();
    verify_evidence(&ev2, &root);
    assert_ne!(ev.challenge_b64url, ev2.challenge_b64url);
}

#[test]
fn set_pin_then_attest_needs_the_pin() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_soft(&dir.path().join("k.json"));
    let o = rootkey(
        &["--device", &spec, "keys", "set-pin", "--pin-stdin"],
        b"4321\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // No PIN on stdin: refused.
    let o = rootkey(&["--device", &spec, "keys", "attest", "--pin-stdin"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PIN"), "{}", stderr(&o));
    // Wrong PIN: refused, with the tries left.
    let o = rootkey(
        &["--device", &spec, "keys", "attest", "--pin-stdin"],
        b"9999\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("wrong PIN"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    // Right PIN: evidence with UV.
    let o = rootkey(
        &["--device", &spec, "keys", "attest", "--pin-stdin"],
        b"4321\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = Evidence::from_json(&o.stdout).unwrap();
    assert_eq!(ev.device.unwrap().pin_set, Some(true));

    // Changing the PIN needs the current one first.
    let o = rootkey(
        &["--device", &spec, "keys", "set-pin", "--pin-stdin"],
        b"0000\n5555\n",
    );
    assert_eq!(o.status.code(), Some(2));
    let o = rootkey(
        &["--device", &spec, "keys", "set-pin", "--pin-stdin"],
        b"4321\n5555\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = rootkey(
        &["--device", &spec, "keys", "attest", "--pin-stdin"],
        b"5555\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn device_nonsense_is_a_usage_error() {
    for bad in ["usb", "hid:", "soft:", "yubikey"] {
        let o = rootkey(&["--device", bad, "keys", "list", "--json"], b"");
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("soft:FILE"), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
    // Through the environment too.
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(["keys", "list"])
        .env("ROOTKEY_DEVICE", "bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_missing_hid_path_is_a_clear_error() {
    let o = rootkey(&["--device", "hid:/dev/hidraw-none", "keys", "info"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no device at /dev/hidraw-none"),
        "{}",
        stderr(&o)
    );
    let o = rootkey(&["keys", "info"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no FIDO security key found"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreadable_corrupt_or_exposed_state_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Unreadable: a directory where the file should be (works even as root).
    let d = dir.path().join("dir.json");
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    let o = rootkey(&["--device", &soft(&d), "keys", "list", "--json"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read software authenticator file"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());

    let c = dir.path().join("corrupt.json");
    std::fs::write(&c, b"\x00garbage").unwrap();
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = rootkey(&["--device", &soft(&c), "keys", "list"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is corrupt"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&c).unwrap(), b"\x00garbage");

    let x = dir.path().join("exposed.json");
    new_soft(&x);
    let o = rootkey(&["--device", &soft(&x), "keys", "list"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = rootkey(&["--device", &soft(&x), "keys", "attest"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
}

#[test]
fn attest_to_an_unwritable_place_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let spec = new_soft(&dir.path().join("k.json"));
    let out = dir.path().join("no-such-dir").join("e.json");
    let o = rootkey(
        &[
            "--device",
            &spec,
            "keys",
            "attest",
            "--out",
            out.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn soft_keys_are_created_only_when_asked_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k.json");
    // Naming a key that does not exist is an error that says how to create one; nothing is
    // written (no key file, no CA), by `keys list` or any other command.
    for args in [
        vec!["keys", "list"],
        vec!["keys", "info"],
        vec!["keys", "attest"],
        vec!["keys", "set-pin", "--pin-stdin"],
    ] {
        let mut a = vec!["--device", "soft:"];
        let spec = soft(&k);
        a[1] = &spec;
        a.extend(&args);
        let o = rootkey(&a, b"1234\n");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("keys soft-init"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} wrote a file"
        );
    }

    // soft-init with a scripted PIN: the key exists, with that PIN.
    let o = rootkey(
        &["keys", "soft-init", k.to_str().unwrap(), "--pin-stdin"],
        b"4321\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = rootkey(&["--json", "--device", &soft(&k), "keys", "info"], b"");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pin_set"], true, "{v}");
    let before = std::fs::read(&k).unwrap();
    // keys list reads only.
    let o = rootkey(&["--device", &soft(&k), "keys", "list"], b"");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read(&k).unwrap(), before);

    // Never overwritten, not even with --no-pin.
    let o = rootkey(&["keys", "soft-init", k.to_str().unwrap(), "--no-pin"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&k).unwrap(), before);

    // No PIN source and no terminal: refused, not a key without a PIN.
    let k2 = dir.path().join("k2.json");
    let o = rootkey(&["keys", "soft-init", k2.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--pin-stdin"), "{}", stderr(&o));
}
