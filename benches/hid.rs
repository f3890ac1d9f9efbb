//! A possession-proof-like round trip (makeCredential once, then getAssertion with a touch over
//! a fresh challenge) through the virtual HID path — ctap-hid-fido2, hidapi, the hidraw preload,
//! CTAPHID framing, the rootkey-vkey process — against the software authenticator called
//! directly. The difference is the cost of the transport and the CTAP2 front end.
//!
//! Run with `cargo bench --bench hid`; prints min / median / mean per round trip.

#[path = "../tests/hid_support/mod.rs"]
mod hid_support;

use std::time::{Duration, Instant};

use rootkey::device::{self, DeviceSpec, GetAssertion, MakeCredential};

const RUNS: usize = 200;

fn report(name: &str, mut t: Vec<Duration>) {
    t.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = t.iter().map(|d| us(*d)).sum::<f64>() / t.len() as f64;
    println!(
        "{name:<44} runs {:>4}  min {:>9.1} µs  median {:>9.1} µs  mean {:>9.1} µs",
        t.len(),
        us(t[0]),
        us(t[t.len() / 2]),
        mean
    );
}

/// makeCredential, then RUNS assertions with a touch, each over its own challenge.
fn round_trips(spec: &DeviceSpec) -> Vec<Duration> {
    let mut key = device::open(spec).expect("the key opens");
    let reg = key
        .make_credential(&MakeCredential {
            rp_id: device::CUSTODY_RP_ID.into(),
            client_data: b"bench registration".to_vec(),
            user_id: b"bench".to_vec(),
            user_name: "bench".into(),
            pin: None,
        })
        .expect("makeCredential");
    (0..RUNS)
        .map(|i| {
            let req = GetAssertion {
                rp_id: device::CUSTODY_RP_ID.into(),
                client_data: format!("possession proof {i}").into_bytes(),
                allow_credentials: vec![reg.credential_id.clone()],
                pin: None,
                user_presence: true,
            };
            let start = Instant::now();
            let a = key.get_assertion(&req).expect("getAssertion");
            let took = start.elapsed();
            reg.public_key
                .verify(
                    &[a.authenticator_data.as_slice(), &req.client_data_hash()].concat(),
                    &a.signature,
                )
                .expect("the signature verifies");
            took
        })
        .collect()
}

fn main() {
    // `cargo test --all-targets` also runs bench targets; only `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("hid bench: skipped (run `cargo bench --bench hid`)");
        return;
    }
    // The preload must be in the process from its start: the parent starts the virtual key and
    // runs this same binary again with the environment that makes the node visible.
    if let Ok(path) = std::env::var("ROOTKEY_BENCH_VHID_NODE") {
        report(
            "get_assertion via hid: (virtual key)",
            round_trips(&DeviceSpec::HidPath(path)),
        );
        return;
    }
    let keys = hid_support::VirtualKeys::start(1, &hid_support::KeyOptions::default());
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(std::env::args_os().skip(1))
        .envs(keys.env())
        .env("ROOTKEY_BENCH_VHID_NODE", &keys.key(0).path)
        .status()
        .expect("the bench runs again with the preload");
    assert!(status.success(), "the HID half failed: {status}");

    let dir = tempfile::tempdir().expect("temp dir");
    report(
        "get_assertion via soft: (direct, state saved)",
        round_trips(&DeviceSpec::Soft(dir.path().join("k.json"))),
    );
}
