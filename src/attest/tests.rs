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
