//! Concurrent appenders and crash safety, with real processes on a real SQLite file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cmd(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rootkey"));
    c.arg("--ledger").arg(db).args(args).env("USER", "tester");
    c
}

fn verify_ok(db: &Path) -> serde_json::Value {
    let vkey = rootkey::ledger::Ledger::open_readonly(db)
        .unwrap()
        .verifier_key()
        .encode();
    let o = cmd(db, &["--json", "ledger", "verify", "--vkey", &vkey])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(o.status.code(), Some(0), "verify failed: {v}");
    v
}

fn texts(db: &Path) -> Vec<String> {
    let o = cmd(db, &["--json", "ledger", "show"]).output().unwrap();
    assert!(o.status.success());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    v.iter()
        .map(|e| e["body"]["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn two_processes_appending_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    assert!(cmd(&db, &["ledger", "init", "--origin", "o"])
        .status()
        .unwrap()
        .success());
    let per = 8;
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    let o = cmd(&db, &["ledger", "note", &format!("{w}{i}")])
                        .output()
                        .unwrap();
                    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let v = verify_ok(&db);
    assert_eq!(v["entries"], 2 * per);
    let t = texts(&db);
    for w in ["a", "b"] {
        for i in 0..per {
            assert!(t.contains(&format!("{w}{i}")), "{w}{i} missing");
        }
    }
}

/// Cheap pseudo-randomness (xorshift) seeded from the clock; the seed is printed on failure.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_during_appends_never_loses_a_confirmed_entry_or_breaks_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    assert!(cmd(&db, &["ledger", "init", "--origin", "o"])
        .status()
        .unwrap()
        .success());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = Rng(seed);
    let mut confirmed: Vec<String> = Vec::new();
    let mut kills = 0;
    let start = Instant::now();
    let mut round = 0;
    while start.elapsed() < Duration::from_secs(12) && round < 400 {
        round += 1;
        let text = format!("round-{round}");
        let mut child = cmd(&db, &["ledger", "note", &text])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill somewhere between process start and well after a typical append.
        std::thread::sleep(Duration::from_micros(rng.next() % 25_000));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "seed {seed}: append failed on its own");
                confirmed.push(text);
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        if round % 4 == 0 {
            verify_ok(&db);
        }
    }
    verify_ok(&db);
    let present = texts(&db);
    for t in &confirmed {
        assert!(present.contains(t), "seed {seed}: confirmed {t} lost");
    }
    assert!(
        kills >= 10,
        "seed {seed}: only {kills} kills landed; widen the window"
    );
    eprintln!(
        "{round} rounds, {kills} kills, {} confirmed",
        confirmed.len()
    );
}
