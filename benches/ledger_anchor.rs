//! Anchoring benchmark: `ledger publish` and `ledger verify --anchor` of a large ledger against a
//! local S3 endpoint (moto server with Object Lock), next to plain `ledger verify` of the same
//! ledger; wall time and peak memory (max RSS) of each run of the real binary.
//!
//! `cargo bench --bench ledger_anchor`; `ROOTKEY_BENCH_N` sets the size (default 100,000).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use rootkey::ledger::Ledger;
use support::moto::Moto;
use support::{big_ledger, TestCustodian};

const BUCKET: &str = "bench-anchor";

fn main() {
    let n: u64 = std::env::var("ROOTKEY_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir_in(std::env::var("ROOTKEY_BENCH_DIR").unwrap_or(".".into()))
        .expect("temp dir for the benchmark ledger");
    let db = dir.path().join("big.db");
    let t = Instant::now();
    big_ledger(
        &db,
        "bench/anchor",
        n,
        &TestCustodian::new("alice", true),
        &TestCustodian::new("bob", false),
    );
    println!("built {n}-entry ledger in {:.1?}", t.elapsed());
    let vkey = Ledger::open_readonly(&db).unwrap().verifier_key().encode();

    let moto = Moto::start();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(create_locked_bucket(&moto.url()));
    let anchor = format!("s3://{BUCKET}/bench");
    let s3 = ["--endpoint-url", &moto.url(), "--region", "us-east-1"];

    let plain = run(&db, &["ledger", "verify", "--vkey", &vkey], &[]);
    let publish = run(
        &db,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
        &s3,
    );
    let anchored = run(&db, &["ledger", "verify", "--anchor", &anchor], &s3);
    let again = run(
        &db,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
        &s3,
    );
    for (name, (wall, rss)) in [
        ("plain `ledger verify`", plain),
        ("`ledger publish` (first, all entries)", publish),
        ("`ledger verify --anchor`", anchored),
        ("`ledger publish` (nothing new)", again),
    ] {
        println!(
            "{name:<42} {:>7.2} s wall, peak RSS {:>6.1} MB",
            wall.as_secs_f64(),
            rss as f64 / 1024.0
        );
    }
    println!(
        "ratio verify --anchor / plain verify: {:.2} wall (target <= 1.5), {:.2} peak memory",
        anchored.0.as_secs_f64() / plain.0.as_secs_f64(),
        anchored.1 as f64 / plain.1 as f64
    );
}

async fn create_locked_bucket(url: &str) {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(BUCKET)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
}

/// Runs the real binary; its wall time and peak RSS (kB, from wait4).
// The child is reaped by wait4 (which also gives its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(db: &Path, args: &[&str], extra: &[&str]) -> (Duration, u64) {
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(args)
        .args(extra)
        .env_remove("ROOTKEY_CONFIG")
        .env("XDG_CONFIG_HOME", db.with_extension("xdg"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run rootkey");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 only writes into the structs we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `pid` is our own child, not yet waited for.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed();
    assert!(
        rc == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "rootkey {args:?} failed (status {status})"
    );
    (wall, usage.ru_maxrss as u64)
}
