//! End to end: the real `rootkey attest verify` binary on fixtures (exit codes, JSON fields).

mod attest_support;

use std::path::Path;
use std::process::{Command, Output};

use attest_support::*;
use serde_json::Value;

const AT: &str = "2025-06-01T00:00:00Z";

fn rootkey(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args(args)
        // An empty config so the user's own policy cannot change the verdicts.
        .env("ROOTKEY_CONFIG", dir.join("absent-config.toml"))
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .output()
        .unwrap()
}

fn real(name: &str) -> String {
    format!("{FIXTURES}/real/{name}")
}

fn json(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON array ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A config whose policy does not require a PIN: the third-party fixtures carry no device
/// facts, so under the default policy every one of them is `pin-unknown` (see
/// `default_policy_refuses_a_key_whose_pin_state_is_unknown`).
fn config_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("absent-config.toml"),
        "[policy]\nrequire_pin = false\n",
    )
    .unwrap();
    d
}

#[test]
fn default_policy_refuses_a_key_whose_pin_state_is_unknown() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("absent-config.toml"), "").unwrap();
    let file = real("yubico-yubikey_5_nfc-packed.json");
    let out = rootkey(&["--json", "attest", "verify", "--at", AT, &file], d.path());
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r[0]["attestation"], "valid");
    assert_eq!(r[0]["eligible"], false);
    let findings = r[0]["policy_findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["id"] == "pin-unknown" && f["severity"] == "deny"),
        "{findings:?}"
    );
}

#[test]
fn valid_keys_exit_0_with_the_documented_json_fields() {
    let d = config_dir();
    let files = [
        real("yubico-yubikey_5_nfc-packed.json"),
        real("yubico-yubikey_5c_nfc-fido-u2f.json"),
    ];
    let mut args = vec!["--json", "attest", "verify", "--at", AT];
    args.extend(files.iter().map(String::as_str));
    let out = rootkey(&args, d.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = json(&out);
    assert_eq!(reports.len(), 2);
    let r = &reports[0];
    for field in [
        "file",
        "attestation",
        "reason",
        "fmt",
        "aaguid",
        "model",
        "trust_root",
        "certification",
        "eligible",
        "assurance",
        "policy_findings",
    ] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert_eq!(r["attestation"], "valid");
    assert_eq!(r["fmt"], "packed");
    assert_eq!(r["aaguid"], "fa2b99dc-9e39-4257-8f92-4a30d23c4118");
    assert_eq!(r["trust_root"], "yubico-u2f-root-ca-serial-457200631.pem");
    assert_eq!(r["eligible"], true);
    assert_eq!(r["assurance"], "hardware");
    let ids: Vec<&str> = r["policy_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"firmware-unknown"), "{ids:?}");
    assert!(r["policy_findings"][0]["severity"].is_string());
    assert_eq!(reports[1]["fmt"], "fido-u2f");
    assert_eq!(reports[1]["attestation"], "valid");
}

#[test]
fn invalid_platform_and_absent_exit_1_with_reasons() {
    let d = config_dir();
    let out = rootkey(
        &[
            "--json",
            "attest",
            "verify",
            "--at",
            AT,
            &real("yubico-yubikey_5_nfc-packed-DERIVED_tampered_sig.json"),
            &real("microsoft-windows_hello-tpm.json"),
            &real("solokeys-solo-none.json"),
            &real("apple-touchid_macos_chrome-packed_self.json"),
            &real("yubico-yubikey_5_nfc-packed.json"),
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r[0]["attestation"], "invalid");
    assert_eq!(r[0]["reason_code"], "BadSignature");
    assert_eq!(r[0]["eligible"], false);
    assert_eq!(r[1]["attestation"], "platform");
    assert_eq!(r[2]["attestation"], "absent");
    assert_eq!(r[3]["attestation"], "valid");
    assert_eq!(r[3]["eligible"], false);
    assert!(r[3]["reason"]
        .as_str()
        .unwrap()
        .contains("self attestation"));
    assert_eq!(r[4]["eligible"], true);

    // The human table says the same.
    let out = rootkey(
        &[
            "attest",
            "verify",
            "--at",
            AT,
            &real("yubico-yubikey_5_nfc-packed-DERIVED_wrong_rp_id.json"),
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("RpIdMismatch") && text.contains("NO"),
        "{text}"
    );
}

#[test]
fn unusable_input_exits_2_and_prints_nothing_on_stdout() {
    let d = config_dir();
    let not_json = d.path().join("not.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let not_b64 = d.path().join("not-b64.json");
    std::fs::write(
        &not_b64,
        r#"{"attestationObject_b64url":"!!!","clientDataJSON_b64url":"e30","rp_id":"x"}"#,
    )
    .unwrap();
    let good = real("yubico-yubikey_5_nfc-packed.json");
    for bad in [
        d.path().join("missing.json").display().to_string(),
        not_json.display().to_string(),
        not_b64.display().to_string(),
    ] {
        let out = rootkey(&["--json", "attest", "verify", &good, &bad], d.path());
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}: partial output");
        assert!(!out.stderr.is_empty());
    }
    let out = rootkey(&["attest", "verify", "--at", "yesterday", &good], d.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn mds_blob_is_verified_before_use() {
    let d = config_dir();
    let mds = format!("{FIXTURES}/mds/conformance-mds3-blob.jwt");
    let signer = format!("{FIXTURES}/mds/conformance-mds3-blob-signer.pem");
    let good = real("yubico-yubikey_5_nfc-packed.json");
    let out = rootkey(
        &[
            "--json",
            "attest",
            "verify",
            "--at",
            AT,
            "--mds",
            &mds,
            "--mds-root",
            &signer,
            &good,
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nextUpdate")
            || String::from_utf8_lossy(&out.stderr).contains("due for replacement")
    );

    // Against the pinned production root the conformance BLOB does not verify: exit 2.
    let out = rootkey(
        &["attest", "verify", "--at", AT, "--mds", &mds, &good],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));

    // A modified BLOB does not verify either.
    let text = std::fs::read_to_string(&mds).unwrap();
    let i = text.find('.').unwrap() + 100;
    let mut bytes = text.into_bytes();
    bytes[i] = if bytes[i] == b'Q' { b'R' } else { b'Q' };
    let modified = d.path().join("modified.jwt");
    std::fs::write(&modified, bytes).unwrap();
    let out = rootkey(
        &[
            "attest",
            "verify",
            "--at",
            AT,
            "--mds",
            modified.to_str().unwrap(),
            "--mds-root",
            &signer,
            &good,
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn policy_file_and_device_facts_decide_eligibility() {
    let d = config_dir();
    // Same evidence plus what the key said about itself.
    let mut ev: Value =
        serde_json::from_slice(&std::fs::read(real("yubico-yubikey_5_nfc-packed.json")).unwrap())
            .unwrap();
    ev["device"] = serde_json::json!({"firmware_version": "5.4.3", "pin_set": true});
    let old_fw = d.path().join("old-fw.json");
    std::fs::write(&old_fw, ev.to_string()).unwrap();

    let out = rootkey(
        &[
            "--json",
            "attest",
            "verify",
            "--at",
            AT,
            old_fw.to_str().unwrap(),
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let r = &json(&out)[0];
    assert_eq!(r["attestation"], "valid");
    assert_eq!(r["eligible"], false);
    let f = r["policy_findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "vulnerable-firmware")
        .unwrap();
    assert_eq!(f["severity"], "deny");
    assert!(f["message"].as_str().unwrap().contains("YSA-2024-03"));

    let policy = d.path().join("policy.toml");
    std::fs::write(&policy, "vulnerable_firmware = \"warn\"\n").unwrap();
    let out = rootkey(
        &[
            "--json",
            "attest",
            "verify",
            "--at",
            AT,
            "--policy",
            policy.to_str().unwrap(),
            old_fw.to_str().unwrap(),
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same shape in the config file's [policy] section.
    let cfg = d.path().join("config.toml");
    std::fs::write(&cfg, "[policy]\nallowed_formats = [\"fido-u2f\"]\n").unwrap();
    let out = rootkey(
        &[
            "--json",
            "--config",
            cfg.to_str().unwrap(),
            "attest",
            "verify",
            "--at",
            AT,
            &real("yubico-yubikey_5_nfc-packed.json"),
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("format-not-allowed"));

    // A policy with an unknown key is unusable input.
    std::fs::write(&policy, "no_such_rule = true\n").unwrap();
    let out = rootkey(
        &[
            "attest",
            "verify",
            "--policy",
            policy.to_str().unwrap(),
            &real("yubico-yubikey_5_nfc-packed.json"),
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn software_ca_via_roots_dir_is_valid_and_reported_as_user_trusted() {
    let d = config_dir();
    let ca = TestCa::new("rootkey software authenticator CA");
    let roots = d.path().join("roots");
    std::fs::create_dir(&roots).unwrap();
    std::fs::write(roots.join("rootkey-soft-ca.pem"), ca.pem()).unwrap();
    let m = make_packed(
        &ca,
        [0x5a; 16],
        "rootkey.example",
        "rootkey software key (NOT HARDWARE)",
    );
    let ev = d.path().join("soft.json");
    std::fs::write(
        &ev,
        evidence_json(
            &m,
            "rootkey.example",
            Some(serde_json::json!({"pin_set": true})),
        ),
    )
    .unwrap();

    let out = rootkey(
        &["--json", "attest", "verify", ev.to_str().unwrap()],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)[0]["reason_code"], "UntrustedChain");

    let with_roots = |dir: &Path| {
        rootkey(
            &[
                "--json",
                "attest",
                "verify",
                "--roots",
                roots.to_str().unwrap(),
                ev.to_str().unwrap(),
            ],
            dir,
        )
    };
    // Trusting the CA is not enough: software keys fail closed unless allow_software is set.
    let out = with_roots(d.path());
    assert_eq!(out.status.code(), Some(1));
    let r = &json(&out)[0];
    assert_eq!(r["attestation"], "valid");
    assert_eq!(r["eligible"], false);
    assert_eq!(r["assurance"], Value::Null);
    assert!(
        r["policy_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "software-authenticator" && f["severity"] == "deny"),
        "{r}"
    );

    std::fs::write(
        d.path().join("absent-config.toml"),
        "[policy]\nrequire_pin = false\nallow_software = true\n",
    )
    .unwrap();
    let out = with_roots(d.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = &json(&out)[0];
    assert_eq!(r["assurance"], "software");
    assert_eq!(r["trust_root"], "rootkey-soft-ca.pem");
    assert_eq!(r["trust_root_source"], "user");
    assert_eq!(r["challenge_checked"], true);
    let ids: Vec<&str> = r["policy_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"software-authenticator") && ids.contains(&"user-trusted-root"),
        "{ids:?}"
    );

    // policy.trusted_roots (a path relative to the policy file) works the same way.
    let policy = d.path().join("policy.toml");
    std::fs::write(
        &policy,
        "trusted_roots = [\"roots/rootkey-soft-ca.pem\"]\nallow_software = true\n",
    )
    .unwrap();
    let out = rootkey(
        &[
            "--json",
            "attest",
            "verify",
            "--policy",
            policy.to_str().unwrap(),
            ev.to_str().unwrap(),
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn eligible_and_ids(out: &Output) -> (bool, Vec<String>) {
    let r = &json(out)[0];
    let ids = r["policy_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    (r["eligible"] == true, ids)
}

#[test]
fn purpose_custodian_is_judged_by_policy_custodian_which_inherits_nothing() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("absent-config.toml");
    let file = real("yubico-yubikey_5_nfc-packed.json");
    let verify = |purpose: &str| {
        rootkey(
            &[
                "--json",
                "attest",
                "verify",
                "--at",
                AT,
                "--purpose",
                purpose,
                &file,
            ],
            d.path(),
        )
    };

    // require_pin = false written for root keys does not loosen custodian keys.
    std::fs::write(&cfg, "[policy]\nrequire_pin = false\n").unwrap();
    let root = verify("root");
    assert_eq!(root.status.code(), Some(0));
    assert_eq!(json(&root)[0]["assurance"], "hardware");
    let custodian = verify("custodian");
    assert_eq!(custodian.status.code(), Some(1));
    let (eligible, ids) = eligible_and_ids(&custodian);
    assert!(
        !eligible && ids.contains(&"pin-unknown".to_string()),
        "{ids:?}"
    );

    // Its own table decides, and a stricter custodian setting does not tighten root keys.
    std::fs::write(
        &cfg,
        "[policy]\nrequire_pin = false\n\n\
         [policy.custodian]\nrequire_pin = false\nallowed_formats = [\"fido-u2f\"]\n",
    )
    .unwrap();
    assert_eq!(verify("root").status.code(), Some(0));
    let custodian = verify("custodian");
    assert_eq!(custodian.status.code(), Some(1));
    let (_, ids) = eligible_and_ids(&custodian);
    assert!(ids.contains(&"format-not-allowed".to_string()), "{ids:?}");
    assert!(!ids.contains(&"pin-unknown".to_string()), "{ids:?}");

    // The default purpose is root.
    let default = rootkey(&["--json", "attest", "verify", "--at", AT, &file], d.path());
    assert_eq!(default.status.code(), Some(0));

    // A typo in the custodian table is a usage error naming the table, for either purpose.
    std::fs::write(&cfg, "[policy.custodian]\nrequire_pinn = false\n").unwrap();
    for purpose in ["root", "custodian"] {
        let out = verify(purpose);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("policy.custodian"), "{err}");
    }

    let out = verify("auditor");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn purpose_custodian_reads_the_custodian_table_of_a_policy_file() {
    let d = config_dir();
    let policy = d.path().join("policy.toml");
    std::fs::write(
        &policy,
        "require_pin = false\n\n[custodian]\nrequire_pin = false\nallowed_models = [\"Nitrokey\"]\n",
    )
    .unwrap();
    let file = real("yubico-yubikey_5_nfc-packed.json");
    let verify = |purpose: &str| {
        rootkey(
            &[
                "--json",
                "attest",
                "verify",
                "--at",
                AT,
                "--policy",
                policy.to_str().unwrap(),
                "--purpose",
                purpose,
                &file,
            ],
            d.path(),
        )
    };
    assert_eq!(verify("root").status.code(), Some(0));
    let out = verify("custodian");
    assert_eq!(out.status.code(), Some(1));
    let (eligible, ids) = eligible_and_ids(&out);
    assert!(
        !eligible && ids.contains(&"model-not-allowed".to_string()),
        "{ids:?}"
    );
}
