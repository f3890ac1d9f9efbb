//! Corpus tests: every real-device fixture gets its documented verdict.

use super::*;
use crate::webauthn::Evidence;

pub(crate) fn fixture(name: &str) -> Evidence {
    let path = format!(
        "{}/tests/fixtures/attestation/real/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    Evidence::from_json(&std::fs::read(path).unwrap()).unwrap()
}

fn at_2025() -> OffsetDateTime {
    time::macros::datetime!(2025-06-01 00:00 UTC)
}

fn run(name: &str) -> AttestationResult {
    let opts = VerifyOptions {
        at: at_2025(),
        ..VerifyOptions::default()
    };
    verify_evidence(&fixture(name), &TrustStore::pinned(), &opts).unwrap()
}

/// Every fixture's verdict agrees with the corpus README's `expected` column (valid ones are
/// `valid`, or `platform`/`absent` for formats that prove nothing about a roaming key).
#[test]
fn corpus_verdicts_agree_with_the_readme() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/attestation/real"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let raw: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let expected_valid = raw["expected"] == "valid";
        let r = run(&name);
        let got_valid = !matches!(r.verdict, Verdict::Invalid(_));
        assert_eq!(got_valid, expected_valid, "{name}: {:?}", r.verdict);
        let fmt = raw["fmt"].as_str().unwrap();
        if platform::is_platform(fmt) {
            assert_eq!(r.verdict, Verdict::Platform, "{name}");
        }
        n += 1;
    }
    assert_eq!(n, 28);
}

fn relaxed(allow_software: bool) -> Policy {
    // The fixtures carry no device facts, so the PIN cannot be required of them.
    Policy::from_config(&PolicyConfig {
        require_pin: false,
        allow_software,
        ..PolicyConfig::default()
    })
    .unwrap()
}

/// A real registration from rootkey's software authenticator, verified with its CA trusted as
/// a user root (the way `--roots DIR` trusts it), and the policy that trusts that root.
fn soft_registration(dir: &std::path::Path, allow_software: bool) -> (AttestationResult, Policy) {
    // One key per call (a soft key is never created over an existing one).
    let file = dir.join(format!("key-{allow_software}.json"));
    let mut key = crate::device::soft::SoftAuthenticator::create(&file).unwrap();
    let (evidence, _) = crate::device::attest(&mut key, None).unwrap();
    let mut trust = TrustStore::pinned();
    let pem = std::fs::read(dir.join(crate::device::soft::CA_PEM_FILE)).unwrap();
    trust.add_user_pem("rootkey-soft-ca.pem", &pem).unwrap();
    let mut policy = relaxed(allow_software);
    for a in trust
        .anchors()
        .iter()
        .filter(|a| a.source == AnchorSource::User)
    {
        policy.trust_root(&a.fingerprint());
    }
    let result = verify_evidence(&evidence, &trust, &VerifyOptions::default()).unwrap();
    (result, policy)
}

#[test]
fn a_vendor_rooted_key_is_hardware() {
    let r = run("yubico-yubikey_5_nfc-packed.json");
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.assurance(), Assurance::Hardware);
    let e = evaluate(&r, None, &relaxed(false));
    assert!(e.eligible(), "{:?}", e.findings);
    assert_eq!(e.assurance(), Some(Assurance::Hardware));
    assert!(e.assurance().unwrap().is_hardware());
}

#[test]
fn the_soft_authenticator_is_software_and_denied_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (r, policy) = soft_registration(dir.path(), false);
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    // The verifier decides it, from the signed AAGUID and certificate, before any policy.
    assert_eq!(v.aaguid(), crate::webauthn::models::SOFT_AAGUID);
    assert_eq!(v.trust_root().unwrap().source, AnchorSource::User);
    assert_eq!(v.assurance(), Assurance::Software);

    let denied = evaluate(&r, None, &policy);
    assert!(!denied.eligible());
    assert_eq!(denied.assurance(), None);
    let f = denied
        .findings
        .iter()
        .find(|f| f.id == "software-authenticator")
        .unwrap();
    assert_eq!(f.severity, Severity::Deny);
    assert!(f
        .message
        .contains("allow_software = true only for demos and tests"));

    let (r, policy) = soft_registration(dir.path(), true);
    let allowed = evaluate(&r, None, &policy);
    assert!(allowed.eligible(), "{:?}", allowed.findings);
    // Software wins over the user root it chains to.
    assert_eq!(allowed.assurance(), Some(Assurance::Software));
    assert!(allowed
        .findings
        .iter()
        .any(|f| f.id == "software-authenticator" && f.severity == Severity::Warn));
}

#[test]
fn a_hardware_chain_to_a_user_root_is_user_root() {
    // The Yubico root, supplied by the operator instead of pinned: rootkey no longer vouches.
    let mut trust = TrustStore::empty();
    trust
        .add_user_pem(
            "operator-root.pem",
            include_bytes!("roots/yubico-u2f-root-ca-serial-457200631.pem"),
        )
        .unwrap();
    let opts = VerifyOptions {
        at: at_2025(),
        ..VerifyOptions::default()
    };
    let ev = fixture("yubico-yubikey_5_nfc-packed.json");
    let r = verify_evidence(&ev, &trust, &opts).unwrap();
    let Verdict::Valid(v) = &r.verdict else {
        panic!("{:?}", r.verdict)
    };
    assert_eq!(v.assurance(), Assurance::UserRoot);
    let mut policy = relaxed(false);
    assert_eq!(evaluate(&r, None, &policy).assurance(), None);
    policy.trust_root(&trust.anchors()[0].fingerprint());
    let e = evaluate(&r, None, &policy);
    assert!(e.eligible(), "{:?}", e.findings);
    assert_eq!(e.assurance(), Some(Assurance::UserRoot));
}

#[test]
fn a_key_that_says_it_is_software_is_software_whatever_its_chain() {
    let r = run("yubico-yubikey_5_nfc-packed.json");
    let device = crate::webauthn::DeviceFacts {
        product: Some("software authenticator (NOT HARDWARE)".into()),
        ..crate::webauthn::DeviceFacts::default()
    };
    let denied = evaluate(&r, Some(&device), &relaxed(false));
    assert!(!denied.eligible());
    let allowed = evaluate(&r, Some(&device), &relaxed(true));
    assert!(allowed.eligible(), "{:?}", allowed.findings);
    assert_eq!(allowed.assurance(), Some(Assurance::Software));
}
