//! Start-up and `keys list` (no key present) wall time of the real binary.
//!
//! Run with `cargo bench --bench keys`; prints min / median / mean over repeated runs.
//! Targets: `rootkey --version` ≤ 5 ms, `rootkey keys list` ≤ 50 ms.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn time_runs(args: &[&str], runs: usize) -> Vec<Duration> {
    let bin = env!("CARGO_BIN_EXE_rootkey");
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let status = Command::new(bin)
            .args(args)
            .env_remove("ROOTKEY_DEVICE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("rootkey runs");
        out.push(start.elapsed());
        assert!(status.success(), "{args:?} failed: {status}");
    }
    out.sort();
    out
}

fn report(name: &str, target_ms: f64, mut t: Vec<Duration>) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = t.iter().map(|d| ms(*d)).sum::<f64>() / t.len() as f64;
    let median = ms(t[t.len() / 2]);
    println!(
        "{name:<28} runs {:>3}  min {:>6.2} ms  median {:>6.2} ms  mean {:>6.2} ms  target <= {target_ms} ms  {}",
        t.len(),
        ms(t[0]),
        median,
        mean,
        if median <= target_ms { "OK" } else { "OVER" }
    );
}

fn main() {
    // `cargo test --all-targets` also runs bench targets; only `cargo bench` passes `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("keys bench: skipped (run `cargo bench --bench keys`)");
        return;
    }
    // Warm the page cache so the first run does not measure the disk.
    time_runs(&["--version"], 3);
    report("rootkey --version", 5.0, time_runs(&["--version"], 100));
    report("rootkey keys list", 50.0, time_runs(&["keys", "list"], 50));
    report(
        "rootkey keys list --json",
        50.0,
        time_runs(&["keys", "list", "--json"], 50),
    );
    let dir = std::env::temp_dir().join(format!("rootkey-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = format!("soft:{}", dir.join("k.json").display());
    report(
        "rootkey --device soft keys list",
        50.0,
        time_runs(&["--device", &spec, "keys", "list", "--json"], 50),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
