//! Ledger benchmark: durable append latency, full verification of a large ledger against the
//! raw cryptographic work it cannot avoid, and verification's peak memory.
//!
//! `cargo bench --bench ledger`; `ROOTKEY_BENCH_N=100000` shrinks the large ledger for a quick run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rootkey::ledger::{tree, Entry, Ledger, VerifyOptions};
use rootkey::webauthn::sha256;
use support::{big_ledger, bootstrap_event, note, TestCustodian};

const CHILD_ENV: &str = "ROOTKEY_BENCH_VERIFY_CHILD";

/// CPU time of the calling thread. The machine is shared, so wall time alone swings with other
/// load; CPU time compares the work itself.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        return verify_child(Path::new(&db));
    }
    let n: u64 = std::env::var("ROOTKEY_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(std::env::var("ROOTKEY_BENCH_DIR").unwrap_or(".".into()))
        .expect("temp dir for the benchmark ledger");
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);

    append_latency(&dir.path().join("append.db"), &alice, &bob);

    let db = dir.path().join("big.db");
    let t = Instant::now();
    big_ledger(&db, "bench/verify", n, &alice, &bob);
    println!(
        "built {n}-entry ledger (bulk load, one transaction) in {:.1?}",
        t.elapsed()
    );

    let exe = std::env::current_exe().expect("own executable");
    let out = Command::new(exe)
        .env(CHILD_ENV, &db)
        .output()
        .expect("run verify child");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut secs = 0.0;
    let mut cpu = 0.0;
    let mut hwm_kb = 0u64;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("verify_secs ") {
            secs = v.parse().unwrap_or(0.0);
        }
        if let Some(v) = line.strip_prefix("verify_cpu ") {
            cpu = v.parse().unwrap_or(0.0);
        }
        if let Some(v) = line.strip_prefix("vmhwm_kb ") {
            hwm_kb = v.parse().unwrap_or(0);
        }
    }
    assert!(out.status.success(), "verify child failed: {text}");

    let (raw_wall, raw_cpu) = raw_work(&db, &alice, &bob);
    println!(
        "verify {n} entries ({} with two approvals): {secs:.2} s wall, {cpu:.2} s CPU",
        n / 10
    );
    println!(
        "  unavoidable SHA-256 + signature work, same data: {:.2} s wall, {:.2} s CPU",
        raw_wall.as_secs_f64(),
        raw_cpu.as_secs_f64()
    );
    println!(
        "  ratio verify / unavoidable work: {:.2} CPU, {:.2} wall (target <= 1.25)",
        cpu / raw_cpu.as_secs_f64(),
        secs / raw_wall.as_secs_f64()
    );
    println!(
        "  verify peak memory (VmHWM of the verifying process): {:.1} MB (target < 100 MB)",
        hwm_kb as f64 / 1024.0
    );
}

fn append_latency(db: &Path, alice: &TestCustodian, bob: &TestCustodian) {
    let mut l = Ledger::create(db, &Ledger::default_key_path(db), "bench/append").unwrap();
    let ev = bootstrap_event(alice, bob);
    l.append(&ev, vec![alice.approve(&ev), bob.approve(&ev)])
        .unwrap();
    let rounds: usize = std::env::var("ROOTKEY_BENCH_APPENDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let mut times: Vec<Duration> = (0..rounds)
        .map(|i| {
            let ev = note(&format!("append {i}"));
            let t = Instant::now();
            l.append(&ev, vec![]).unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "append latency (durable: rollback journal, synchronous=FULL, {rounds} appends): p50 {:.2?}, p99 {:.2?}",
        pct(0.50),
        pct(0.99)
    );
}

fn verify_child(db: &Path) {
    let l = Ledger::open_readonly(db).unwrap();
    let t = Instant::now();
    let c = thread_cpu();
    let report = rootkey::custody::verify_ledger(&l, &VerifyOptions::default())
        .unwrap()
        .report;
    let cpu = (thread_cpu() - c).as_secs_f64();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.ok, "{report:?}");
    println!("verify_secs {secs}");
    println!("verify_cpu {cpu}");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("vmhwm_kb {hwm}");
}

/// Times only what verification cannot avoid: leaf and node hashes, the challenge and
/// client-data hashes, and the signature checks. Inputs are read and decoded untimed.
fn raw_work(db: &Path, alice: &TestCustodian, bob: &TestCustodian) -> (Duration, Duration) {
    let l = Ledger::open_readonly(db).unwrap();
    let keys = [
        (alice.id.clone(), alice.key.clone()),
        (bob.id.clone(), bob.key.clone()),
    ];
    let mut total = Duration::ZERO;
    let mut total_cpu = Duration::ZERO;
    let mut cr = tree::CompactRange::new();
    let mut chunk: Vec<Entry> = Vec::with_capacity(10_000);
    let mut run = |chunk: &mut Vec<Entry>, cr: &mut tree::CompactRange| {
        let t = Instant::now();
        let c = thread_cpu();
        for e in chunk.iter() {
            cr.push(tree::leaf_hash(&e.bytes));
            if !e.approvals.is_empty() {
                std::hint::black_box(sha256(&e.event_bytes));
            }
            for a in &e.approvals {
                let mut msg = a.authenticator_data.clone();
                msg.extend_from_slice(&sha256(&a.client_data_json));
                let key = &keys.iter().find(|k| k.0 == a.custodian_id).unwrap().1;
                key.verify(&msg, &a.signature).unwrap();
            }
        }
        std::hint::black_box(cr.root());
        total += t.elapsed();
        total_cpu += thread_cpu() - c;
        chunk.clear();
    };
    l.for_each_raw(0, |raw| {
        chunk.push(Entry::decode(raw.bytes).unwrap());
        if chunk.len() == chunk.capacity() {
            run(&mut chunk, &mut cr);
        }
        Ok(true)
    })
    .unwrap();
    run(&mut chunk, &mut cr);
    (total, total_cpu)
}
