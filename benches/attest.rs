//! Attestation verification throughput: one packed and one fido-u2f real-device case through the
//! whole verifier (CBOR, authData, signature, chain to the pinned roots), and an MDS3 BLOB check.
//! Run with `cargo bench --bench attest`; prints figures, asserts nothing about speed.

use std::time::{Duration, Instant};

use rootkey::attest::{self, mds, MdsBlob, TrustStore};
use rootkey::webauthn::Evidence;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestation");

fn evidence(name: &str) -> Evidence {
    let bytes = std::fs::read(format!("{FIXTURES}/real/{name}")).expect("fixture");
    Evidence::from_json(&bytes).expect("fixture parses")
}

fn bench(label: &str, mut f: impl FnMut()) {
    // `cargo test --all-targets` runs this binary without `--bench`: one smoke run per case.
    if !std::env::args().any(|a| a == "--bench") {
        f();
        println!("{label}: ok (run with `cargo bench --bench attest` for figures)");
        return;
    }
    for _ in 0..10 {
        f();
    }
    let mut n = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        f();
        n += 1;
    }
    let per = start.elapsed() / n;
    println!(
        "{label:<44} {:>9.1} µs/op {:>9.0} ops/s  ({n} runs)",
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64()
    );
}

fn main() {
    let at = time::macros::datetime!(2025-06-01 00:00 UTC);
    let trust = TrustStore::pinned();
    for name in [
        "yubico-yubikey_5_nfc-packed.json",
        "yubico-yubikey_5c_nfc-fido-u2f.json",
    ] {
        let ev = evidence(name);
        let obj = ev.attestation_object().expect("b64");
        let cd = ev.client_data_json().expect("b64");
        bench(&format!("verify {name}"), || {
            let r = attest::verify(&obj, &cd, &ev.rp_id, None, &trust, at);
            assert_eq!(r.verdict.label(), "valid");
        });
    }
    bench("TrustStore::pinned (parse 5 PEM roots)", || {
        std::hint::black_box(TrustStore::pinned());
    });
    let jwt = std::fs::read(format!("{FIXTURES}/mds/conformance-mds3-blob.jwt")).expect("blob");
    let signer =
        std::fs::read(format!("{FIXTURES}/mds/conformance-mds3-blob-signer.pem")).expect("pem");
    let roots = mds::root_from_pem("signer", &signer).expect("pem parses");
    bench("MdsBlob::verify conformance BLOB (200 entries)", || {
        let b = MdsBlob::verify(&jwt, &roots, at).expect("verifies");
        assert_eq!(b.entries().len(), 200);
    });
}
