//! The attestation verifier against the real-device corpus, mutations of it, and synthetic
//! authenticators with their own CAs and metadata.

mod attest_support;

use attest_support::*;
use rootkey::attest::{
    self, evaluate, AnchorSource, AttestationType, InvalidReason, MdsBlob, Policy, PolicyConfig,
    Severity, TrustStore, Verdict, VerifyOptions,
};
use rootkey::webauthn::DeviceFacts;

fn opts() -> VerifyOptions {
    VerifyOptions {
        at: at_2025(),
        ..VerifyOptions::default()
    }
}

fn run(name: &str) -> attest::AttestationResult {
    attest::verify_evidence(&fixture(name), &TrustStore::pinned(), &opts()).unwrap()
}

/// (file, verdict label, reason code) for every fixture, from the corpus README.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("apple-touchid_macos_chrome-packed_self.json", "valid", ""),
    ("google-android-android-key.json", "platform", ""),
    ("google-android-android-safetynet.json", "platform", ""),
    ("lenovo-thinkpad_x1_carbon-tpm.json", "platform", ""),
    ("microsoft-windows_hello-tpm.json", "platform", ""),
    (
        "microsoft-windows_hello_firefox98-none-BAD_truncated_aaguid.json",
        "invalid",
        "MalformedAuthData",
    ),
    ("solokeys-solo-none.json", "absent", ""),
    (
        "solokeys-solo2_nfc_usba-packed.json",
        "invalid",
        "BadSignature",
    ),
    ("yubico-security_key-fido-u2f.json", "valid", ""),
    ("yubico-security_key_2-packed.json", "valid", ""),
    ("yubico-security_key_nfc-fido-u2f.json", "valid", ""),
    (
        "yubico-yubikey_4-fido-u2f-BAD_token_binding.json",
        "invalid",
        "TokenBinding",
    ),
    ("yubico-yubikey_4-fido-u2f.json", "valid", ""),
    ("yubico-yubikey_5-fido-u2f-wrs.json", "valid", ""),
    ("yubico-yubikey_5-packed.json", "valid", ""),
    ("yubico-yubikey_5_nano-packed.json", "valid", ""),
    (
        "yubico-yubikey_5_nfc-packed-DERIVED_tampered_sig.json",
        "invalid",
        "BadSignature",
    ),
    (
        "yubico-yubikey_5_nfc-packed-DERIVED_wrong_rp_id.json",
        "invalid",
        "RpIdMismatch",
    ),
    ("yubico-yubikey_5_nfc-packed.json", "valid", ""),
    ("yubico-yubikey_5_nfc_fips-packed.json", "valid", ""),
    (
        "yubico-yubikey_5_series-packed-BAD_aaguid_mismatch.json",
        "invalid",
        "AaguidMismatch",
    ),
    ("yubico-yubikey_5_series-packed.json", "valid", ""),
    ("yubico-yubikey_5c_nfc-fido-u2f.json", "valid", ""),
    ("yubico-yubikey_5ci-packed.json", "valid", ""),
    ("yubico-yubikey_5ci_fips-packed.json", "valid", ""),
    ("yubico-yubikey_bio-none.json", "absent", ""),
    ("yubico-yubikey_bio-packed.json", "valid", ""),
    ("yubico-yubikey_neo-fido-u2f.json", "valid", ""),
];

#[test]
fn every_corpus_case_gets_its_documented_verdict_and_reason() {
    let on_disk = std::fs::read_dir(format!("{FIXTURES}/real"))
        .unwrap()
        .count();
    assert_eq!(
        on_disk,
        EXPECTED.len(),
        "a fixture is missing from EXPECTED"
    );
    for (name, label, code) in EXPECTED {
        let ev = fixture(name);
        let r = run(name);
        assert_eq!(r.verdict.label(), *label, "{name}: {:?}", r.verdict);
        assert_eq!(r.fmt.as_deref(), ev.fmt.as_deref(), "{name}");
        if let Verdict::Invalid(reason) = &r.verdict {
            assert_eq!(reason.code(), *code, "{name}: {reason}");
        }
        // The README's expected column agrees with ours.
        let readme_valid = ev_expected(name) == "valid";
        assert_eq!(readme_valid, *label != "invalid", "{name}");
        // Every Yubico chain anchors in the U2F root (README: chains_to_root).
        if let Verdict::Valid(v) = &r.verdict {
            if name.starts_with("yubico") {
                let root = v.trust_root().unwrap();
                assert_eq!(root.name, "yubico-u2f-root-ca-serial-457200631.pem");
                assert_eq!(root.source, AnchorSource::PinnedVendor);
                assert_eq!(v.kind(), AttestationType::Basic);
            }
        }
    }
}

fn ev_expected(name: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/real/{name}")).unwrap()).unwrap();
    let e = v["expected"].as_str().unwrap();
    if e == "valid" {
        "valid".into()
    } else {
        "invalid".into()
    }
}

#[test]
fn touch_id_self_attestation_is_valid_but_never_eligible_by_default() {
    let r = run("apple-touchid_macos_chrome-packed_self.json");
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.kind(), AttestationType::SelfAttestation);
    assert!(v.trust_root().is_none());
    let e = evaluate(&r, None, &Policy::default());
    assert!(!e.eligible());
    assert!(e.approved().is_none());
    assert!(e
        .findings
        .iter()
        .any(|f| f.id == "self-attestation" && f.severity == Severity::Deny));
}

#[test]
fn platform_and_none_are_never_eligible() {
    for name in [
        "microsoft-windows_hello-tpm.json",
        "yubico-yubikey_bio-none.json",
    ] {
        let e = evaluate(&run(name), None, &Policy::default());
        assert!(!e.eligible(), "{name}");
    }
}

#[test]
fn valid_yubikey_is_eligible_and_firmware_drives_the_advisory_finding() {
    let r = run("yubico-yubikey_5_nfc-packed.json");
    let base = Policy::default();
    // Without device facts the PIN state is unknown, which the default policy refuses.
    let e = evaluate(&r, None, &base);
    assert!(!e.eligible(), "{:?}", e.findings);
    assert!(e.findings.iter().any(|f| f.id == "pin-unknown"));
    let pin_only = DeviceFacts {
        pin_set: Some(true),
        ..DeviceFacts::default()
    };
    let e = evaluate(&r, Some(&pin_only), &base);
    assert!(e.eligible(), "{:?}", e.findings);
    assert!(e
        .findings
        .iter()
        .any(|f| f.id == "firmware-unknown" && f.severity == Severity::Warn));
    assert!(!e.findings.iter().any(|f| f.id == "pin-unknown"));
    assert!(e.findings.iter().any(|f| f.id == "challenge-not-checked"));

    let dev = |fw: &str, pin: bool| DeviceFacts {
        firmware_version: Some(fw.into()),
        pin_set: Some(pin),
        ..DeviceFacts::default()
    };
    let e = evaluate(&r, Some(&dev("5.4.3", true)), &base);
    assert!(!e.eligible());
    let f = e
        .findings
        .iter()
        .find(|f| f.id == "vulnerable-firmware")
        .unwrap();
    assert!(
        f.message.contains("YSA-2024-03") && f.message.contains("5.7.0"),
        "{}",
        f.message
    );

    let warn = Policy::from_config(&PolicyConfig {
        vulnerable_firmware: attest::FirmwareAction::Warn,
        ..PolicyConfig::default()
    })
    .unwrap();
    assert!(evaluate(&r, Some(&dev("5.4.3", true)), &warn).eligible());
    let e = evaluate(&r, Some(&dev("5.7.1", true)), &base);
    assert!(
        e.eligible() && e.findings.iter().all(|f| f.severity != Severity::Warn),
        "{:?}",
        e.findings
    );
    // PIN required by default
    assert!(!evaluate(&r, Some(&dev("5.7.1", false)), &base).eligible());

    // FIPS family: 5.7.1 is still affected.
    let fips = run("yubico-yubikey_5_nfc_fips-packed.json");
    assert!(!evaluate(&fips, Some(&dev("5.7.1", true)), &base).eligible());
    assert!(evaluate(&fips, Some(&dev("5.7.2", true)), &base).eligible());
}

#[test]
fn policy_allow_lists_and_certification() {
    let r = run("yubico-yubikey_5_nfc-packed.json");
    let p = |c: PolicyConfig| Policy::from_config(&c).unwrap();
    let pin_set = DeviceFacts {
        pin_set: Some(true),
        ..DeviceFacts::default()
    };
    let only_other = p(PolicyConfig {
        allowed_aaguids: vec!["ee882879-721c-4913-9775-3dfcce97072a".into()],
        ..PolicyConfig::default()
    });
    assert!(!evaluate(&r, None, &only_other).eligible());
    let this_one = p(PolicyConfig {
        allowed_aaguids: vec!["fa2b99dc-9e39-4257-8f92-4a30d23c4118".into()],
        allowed_models: vec!["yubikey 5".into()],
        ..PolicyConfig::default()
    });
    assert!(evaluate(&r, Some(&pin_set), &this_one).eligible());
    let no_u2f = p(PolicyConfig {
        allowed_formats: vec!["packed".into()],
        ..PolicyConfig::default()
    });
    assert!(!evaluate(&run("yubico-yubikey_neo-fido-u2f.json"), None, &no_u2f).eligible());
    let certified = p(PolicyConfig {
        min_certification: Some("L1".into()),
        ..PolicyConfig::default()
    });
    let e = evaluate(&r, None, &certified);
    assert!(!e.eligible());
    assert!(e.findings.iter().any(|f| f.id == "certification-unknown"));
    assert!(Policy::from_config(&PolicyConfig {
        min_certification: Some("L9".into()),
        ..PolicyConfig::default()
    })
    .is_err());
}

/// Positions of the signature, authenticator data and first certificate inside an object.
fn regions(obj: &[u8]) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let parsed = attest::AttestationObject::parse(obj).unwrap();
    let find = |needle: &[u8]| {
        let start = obj.windows(needle.len()).position(|w| w == needle).unwrap();
        start..start + needle.len()
    };
    let sig = parsed.stmt("sig").unwrap().as_bytes().unwrap().clone();
    let cert = parsed.stmt("x5c").unwrap().as_array().unwrap()[0]
        .as_bytes()
        .unwrap()
        .clone();
    vec![
        ("sig", find(&sig)),
        ("authData", find(&parsed.auth_data)),
        ("certificate", find(&cert)),
    ]
}

fn flip_every_byte(name: &str) {
    let ev = fixture(name);
    let obj = ev.attestation_object().unwrap();
    let cd = ev.client_data_json().unwrap();
    let trust = TrustStore::pinned();
    let base = attest::verify(&obj, &cd, &ev.rp_id, None, &trust, at_2025());
    assert_eq!(base.verdict.label(), "valid");
    let mut checked = 0;
    for (what, range) in regions(&obj) {
        for i in range {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut m = obj.clone();
                m[i] ^= mask;
                let r = attest::verify(&m, &cd, &ev.rp_id, None, &trust, at_2025());
                assert_eq!(
                    r.verdict.label(),
                    "invalid",
                    "{name}: flipping {what} byte {i} with {mask:#x} still gave {:?}",
                    r.verdict
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

#[test]
fn flipping_any_signature_authdata_or_certificate_byte_invalidates_packed() {
    flip_every_byte("yubico-yubikey_5_nfc-packed.json");
}

#[test]
fn flipping_any_signature_authdata_or_certificate_byte_invalidates_fido_u2f() {
    flip_every_byte("yubico-yubikey_5c_nfc-fido-u2f.json");
}

#[test]
fn every_truncation_is_a_clean_error() {
    let trust = TrustStore::pinned();
    for name in [
        "yubico-yubikey_5_nfc-packed.json",
        "yubico-security_key_nfc-fido-u2f.json",
        "apple-touchid_macos_chrome-packed_self.json",
    ] {
        let ev = fixture(name);
        let obj = ev.attestation_object().unwrap();
        let cd = ev.client_data_json().unwrap();
        for n in 0..obj.len() {
            let r = attest::verify(&obj[..n], &cd, &ev.rp_id, None, &trust, at_2025());
            assert!(
                matches!(
                    r.verdict,
                    Verdict::Invalid(InvalidReason::MalformedObject(_))
                ),
                "{name} prefix {n}: {:?}",
                r.verdict
            );
        }
    }
}

/// Stable-Rust stand-in for the cargo-fuzz target: random multi-byte mutations of every corpus
/// object, run through the whole verifier. Must never panic, and never produce a chain-anchored
/// `valid` from bytes no authenticator signed.
#[test]
fn random_mutations_never_panic_or_validate() {
    let iterations: usize = std::env::var("ROOTKEY_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let trust = TrustStore::pinned();
    let corpus: Vec<_> = EXPECTED
        .iter()
        .map(|(n, _, _)| {
            let ev = fixture(n);
            (
                ev.attestation_object().unwrap(),
                ev.client_data_json().unwrap(),
                ev.rp_id.clone(),
            )
        })
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for it in 0..iterations {
        let (obj, cd, rp) = &corpus[(next() as usize) % corpus.len()];
        let mut m = obj.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % m.len();
            match next() % 3 {
                0 => m[i] = next() as u8,
                1 => m.truncate(i.max(1)),
                _ => m.insert(i, next() as u8),
            }
        }
        if m == *obj {
            continue;
        }
        let r = attest::verify(&m, cd, rp, None, &trust, at_2025());
        if let Verdict::Valid(v) = &r.verdict {
            // A mutation may leave the signed region untouched (e.g. re-encoding), but then the
            // object must still carry the same signed bytes: re-verify the original's verdict.
            let orig = attest::verify(obj, cd, rp, None, &trust, at_2025());
            assert_eq!(
                orig.verdict.label(),
                "valid",
                "iteration {it}: mutated into validity"
            );
            let Verdict::Valid(o) = &orig.verdict else {
                unreachable!()
            };
            assert_eq!(v.credential_key(), o.credential_key(), "iteration {it}");
        }
    }
}

#[test]
fn challenge_is_checked_when_supplied() {
    let ev = fixture("yubico-yubikey_5_nfc-packed.json");
    let cd: serde_json::Value = serde_json::from_slice(&ev.client_data_json().unwrap()).unwrap();
    let issued = rootkey::webauthn::b64url_decode(cd["challenge"].as_str().unwrap()).unwrap();
    let good = VerifyOptions {
        expected_challenge: Some(issued),
        ..opts()
    };
    let r = attest::verify_evidence(&ev, &TrustStore::pinned(), &good).unwrap();
    assert_eq!(r.challenge, attest::ChallengeCheck::Checked);
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.challenge(), attest::ChallengeCheck::Checked);
    let bad = VerifyOptions {
        expected_challenge: Some(b"another challenge".to_vec()),
        ..opts()
    };
    let r = attest::verify_evidence(&ev, &TrustStore::pinned(), &bad).unwrap();
    assert_eq!(
        r.verdict,
        Verdict::Invalid(InvalidReason::ChallengeMismatch)
    );
}

#[test]
fn certificate_validity_uses_the_injected_time() {
    let ev = fixture("yubico-yubikey_5_nfc-packed.json");
    let long_ago = VerifyOptions {
        at: time::macros::datetime!(2000-01-01 00:00 UTC),
        ..opts()
    };
    let r = attest::verify_evidence(&ev, &TrustStore::pinned(), &long_ago).unwrap();
    assert!(
        matches!(
            r.verdict,
            Verdict::Invalid(InvalidReason::Chain(
                attest::chain::ChainError::NotValidAt { .. }
            ))
        ),
        "{:?}",
        r.verdict
    );
    // Without the pinned roots, nothing anchors.
    let r = attest::verify_evidence(&ev, &TrustStore::empty(), &opts()).unwrap();
    assert_eq!(r.verdict.label(), "invalid");
    assert!(matches!(
        r.verdict,
        Verdict::Invalid(InvalidReason::UntrustedChain(_))
    ));
}

#[test]
fn a_software_ca_is_a_user_root_eligible_only_when_trusted() {
    let ca = TestCa::new("rootkey software authenticator CA");
    let aaguid = [0x5a; 16];
    let m = make_packed(
        &ca,
        aaguid,
        "rootkey.example",
        "rootkey soft key (NOT HARDWARE)",
    );
    let verify = |trust: &TrustStore| {
        attest::verify(
            &m.attestation_object,
            &m.client_data,
            "rootkey.example",
            Some(&m.challenge),
            trust,
            time::OffsetDateTime::now_utc(),
        )
    };

    let r = verify(&TrustStore::pinned());
    assert!(
        matches!(
            r.verdict,
            Verdict::Invalid(InvalidReason::UntrustedChain(_))
        ),
        "{:?}",
        r.verdict
    );

    let mut trust = TrustStore::pinned();
    trust
        .add_user_pem("rootkey-soft-ca.pem", ca.pem().as_bytes())
        .unwrap();
    let r = verify(&trust);
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    let root = v.trust_root().unwrap().clone();
    assert_eq!(root.source, AnchorSource::User);
    assert_eq!(root.name, "rootkey-soft-ca.pem");
    assert_eq!(r.challenge, attest::ChallengeCheck::Checked);

    let device = DeviceFacts {
        pin_set: Some(true),
        ..DeviceFacts::default()
    };
    let e = evaluate(&r, Some(&device), &Policy::default());
    assert!(!e.eligible());
    assert!(e
        .findings
        .iter()
        .any(|f| f.id == "untrusted-user-root" && f.severity == Severity::Deny));

    // Trusting its root is not enough: a software key is denied unless the policy allows it.
    let trusted_only = Policy::from_config(&PolicyConfig {
        trusted_roots: vec![root.fingerprint.clone()],
        ..PolicyConfig::default()
    })
    .unwrap();
    let e = evaluate(&r, Some(&device), &trusted_only);
    assert!(!e.eligible(), "{:?}", e.findings);
    assert_eq!(e.assurance(), None);
    let sw = e
        .findings
        .iter()
        .find(|f| f.id == "software-authenticator")
        .unwrap();
    assert_eq!(sw.severity, Severity::Deny);
    assert!(
        sw.message
            .contains("set allow_software = true only for demos and tests"),
        "{}",
        sw.message
    );

    let mut policy = Policy::from_config(&PolicyConfig {
        trusted_roots: vec![root.fingerprint.clone()],
        allow_software: true,
        ..PolicyConfig::default()
    })
    .unwrap();
    let e = evaluate(&r, Some(&device), &policy);
    assert!(e.eligible(), "{:?}", e.findings);
    assert!(e
        .findings
        .iter()
        .any(|f| f.id == "software-authenticator" && f.severity == Severity::Warn));
    assert!(e.findings.iter().any(|f| f.id == "user-trusted-root"));
    assert_eq!(e.approved().unwrap().credential_id(), b"cred-id-1");
    assert_eq!(e.assurance(), Some(attest::Assurance::Software));
    assert_eq!(
        e.approved().unwrap().assurance(),
        attest::Assurance::Software
    );

    // A different user root is not trusted by that fingerprint.
    policy.trust_root(&"00".repeat(32));
    let other = TestCa::new("other");
    let m2 = make_packed(&other, aaguid, "rootkey.example", "x");
    let mut trust2 = TrustStore::pinned();
    trust2
        .add_user_pem("other.pem", other.pem().as_bytes())
        .unwrap();
    let r2 = attest::verify(
        &m2.attestation_object,
        &m2.client_data,
        "rootkey.example",
        None,
        &trust2,
        time::OffsetDateTime::now_utc(),
    );
    assert_eq!(r2.verdict.label(), "valid");
    assert!(!evaluate(&r2, Some(&device), &policy).eligible());
}

#[test]
fn mds_roots_anchor_listed_models_and_report_certification_and_compromise() {
    use base64::Engine;
    let ca = TestCa::new("vendor attestation root listed in MDS");
    let aaguid_ok = [0x11; 16];
    let aaguid_bad = [0x22; 16];
    let root_b64 = base64::engine::general_purpose::STANDARD.encode(ca.cert.der());
    let entry = |aaguid: &[u8; 16], status: &str| {
        serde_json::json!({
            "aaguid": uuid::Uuid::from_bytes(*aaguid).hyphenated().to_string(),
            "metadataStatement": {"description": "Test Key", "attestationRootCertificates": [root_b64]},
            "statusReports": [
                {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2024-01-01", "certificationDescriptor": "Test Key FIPS 140-3"},
                {"status": status, "effectiveDate": "2024-02-01"}
            ]
        })
    };
    let (jwt, mds_root) = make_mds_blob(
        serde_json::json!([
            entry(&aaguid_ok, "UPDATE_AVAILABLE"),
            entry(&aaguid_bad, "ATTESTATION_KEY_COMPROMISE")
        ]),
        "2999-01-01",
    );
    let roots = attest::mds::root_from_pem("mds-root.pem", mds_root.pem().as_bytes()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let blob = MdsBlob::verify(jwt.as_bytes(), &roots, now).unwrap();
    assert!(!blob.is_stale(now));
    assert!(MdsBlob::verify(jwt.as_bytes(), &[attest::mds::default_root()], now).is_err());
    let mut tampered = jwt.clone().into_bytes();
    let dot = jwt.find('.').unwrap() + 10;
    tampered[dot] = if tampered[dot] == b'a' { b'b' } else { b'a' };
    assert!(MdsBlob::verify(&tampered, &roots, now).is_err());

    let mut trust = TrustStore::pinned();
    trust.set_mds(blob);
    let device = DeviceFacts {
        pin_set: Some(true),
        ..DeviceFacts::default()
    };
    let certified = Policy::from_config(&PolicyConfig {
        min_certification: Some("L2".into()),
        ..PolicyConfig::default()
    })
    .unwrap();

    let m = make_packed(&ca, aaguid_ok, "example.com", "Test Key EE");
    let r = attest::verify(
        &m.attestation_object,
        &m.client_data,
        "example.com",
        None,
        &trust,
        now,
    );
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.trust_root().unwrap().source, AnchorSource::Mds);
    let mds = v.mds().unwrap();
    assert_eq!(mds.certification, Some(attest::Certification::L2));
    assert!(mds.fips);
    let e = evaluate(&r, Some(&device), &certified);
    assert!(e.eligible(), "{:?}", e.findings);
    assert_eq!(e.model.as_deref(), Some("Test Key"));
    let l3 = Policy::from_config(&PolicyConfig {
        min_certification: Some("L3".into()),
        ..PolicyConfig::default()
    })
    .unwrap();
    assert!(!evaluate(&r, Some(&device), &l3).eligible());

    let m = make_packed(&ca, aaguid_bad, "example.com", "Test Key EE");
    let r = attest::verify(
        &m.attestation_object,
        &m.client_data,
        "example.com",
        None,
        &trust,
        now,
    );
    assert_eq!(r.verdict.label(), "valid");
    let e = evaluate(&r, Some(&device), &Policy::default());
    assert!(!e.eligible());
    assert!(e
        .findings
        .iter()
        .any(|f| f.id == "mds-compromised" && f.message.contains("ATTESTATION_KEY_COMPROMISE")));

    // A model the BLOB does not list gets no MDS anchors.
    let m = make_packed(&ca, [0x33; 16], "example.com", "Test Key EE");
    let r = attest::verify(
        &m.attestation_object,
        &m.client_data,
        "example.com",
        None,
        &trust,
        now,
    );
    assert!(
        matches!(
            r.verdict,
            Verdict::Invalid(InvalidReason::UntrustedChain(_))
        ),
        "{:?}",
        r.verdict
    );
}

#[test]
fn u2f_keys_are_found_in_mds_by_attestation_certificate_key_identifier() {
    use base64::Engine;
    let root_pem = std::fs::read(format!(
        "{FIXTURES}/roots/yubico-u2f-root-ca-serial-457200631.pem"
    ))
    .unwrap();
    let root_der = x509_parser::pem::parse_x509_pem(&root_pem)
        .unwrap()
        .1
        .contents;
    let ev = fixture("yubico-yubikey_5c_nfc-fido-u2f.json");
    // SHA-1 of the leaf's subjectPublicKey bits, as FIDO MDS3 defines the identifier.
    let key_id = "9be8c86f3b7da9f5026a56607b2b93f0ffd058ae";
    let (jwt, mds_root) = make_mds_blob(
        serde_json::json!([{
            "attestationCertificateKeyIdentifiers": [key_id],
            "metadataStatement": {
                "description": "YubiKey (U2F)",
                "attestationRootCertificates": [base64::engine::general_purpose::STANDARD.encode(&root_der)]
            },
            "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01"}]
        }]),
        "2000-01-01",
    );
    let roots = attest::mds::root_from_pem("r.pem", mds_root.pem().as_bytes()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let blob = MdsBlob::verify(jwt.as_bytes(), &roots, now).unwrap();
    assert!(blob.is_stale(now));
    // No pinned roots at all: only the metadata entry can anchor the chain.
    let mut trust = TrustStore::empty();
    trust.set_mds(blob);
    let r = attest::verify_evidence(&ev, &trust, &opts()).unwrap();
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.certificate_key_id(), Some(key_id));
    assert_eq!(v.trust_root().unwrap().source, AnchorSource::Mds);
    assert_eq!(v.trust_root().unwrap().name, "mds:YubiKey (U2F)");
    let m = v.mds().unwrap();
    assert_eq!(m.certification, Some(attest::Certification::L1));
    assert!(m.blob_stale);
    let e = evaluate(&r, None, &Policy::default());
    assert!(e.findings.iter().any(|f| f.id == "mds-stale"));
    assert_eq!(e.model.as_deref(), Some("YubiKey (U2F)"));
    // Another U2F key is not in that entry: untrusted.
    let other = attest::verify_evidence(
        &fixture("yubico-yubikey_neo-fido-u2f.json"),
        &trust,
        &opts(),
    )
    .unwrap();
    assert!(matches!(
        other.verdict,
        Verdict::Invalid(InvalidReason::UntrustedChain(_))
    ));
}
