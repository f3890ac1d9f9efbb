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

#[test]
fn corpus_verdicts() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/attestation/real"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let r = run(&name);
        let label = r.verdict.label();
        let code = match &r.verdict {
            Verdict::Invalid(reason) => reason.code(),
            _ => "",
        };
        eprintln!("{name}: {label} {code} {:?}", r.verdict);
    }
}
