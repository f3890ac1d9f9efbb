//! The ledger's WORM anchor end to end: the real binary and the real S3 SDK against moto server
//! (which implements Object Lock), tampering done directly on the SQLite file or by the key
//! holder, and a publish cut off half-way by a proxy that drops the connection.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use rootkey::ledger::{tree, Ledger};
use rusqlite::{params, Connection};
use support::moto::Moto;

const LOCKED: &str = "anchor-locked";

struct World {
    _moto: Moto,
    url: String,
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl World {
    /// moto with a bucket that has Object Lock, and a ledger with `notes` notes.
    fn new(notes: usize) -> World {
        let moto = Moto::start();
        let url = moto.url();
        block_on(create_bucket(&url, LOCKED, true));
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let w = World {
            _moto: moto,
            url,
            dir,
            db,
        };
        let o = w.run(
            &w.db,
            &["ledger", "init", "--origin", "rootkey.test/anchor"],
        );
        assert!(o.status.success(), "{}", text(&o));
        for i in 0..notes {
            w.note(&format!("note {i}"));
        }
        w
    }

    fn run(&self, db: &Path, args: &[&str]) -> Output {
        self.run_at(&self.url, db, args)
    }

    /// The binary with `--endpoint-url url` after S3 commands' arguments.
    fn run_at(&self, url: &str, db: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rootkey"));
        cmd.arg("--ledger").arg(db).args(args);
        if args.contains(&"ledger")
            && args
                .iter()
                .any(|a| ["publish", "verify", "restore"].contains(a))
            && args.iter().any(|a| a.starts_with("s3://"))
        {
            cmd.args(["--endpoint-url", url, "--region", "us-east-1"]);
        }
        cmd.env("USER", "tester")
            .env_remove("ROOTKEY_CONFIG")
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-creds"),
            )
            .output()
            .unwrap()
    }

    fn note(&self, text: &str) {
        let o = self.run(&self.db, &["ledger", "note", text]);
        assert!(o.status.success(), "{}", text_of(&o));
    }

    fn publish(&self, to: &str) -> Output {
        self.run(
            &self.db,
            &[
                "--json",
                "ledger",
                "publish",
                "--to",
                to,
                "--mode",
                "governance",
            ],
        )
    }

    fn verify_anchor(&self, db: &Path, anchor: &str) -> Output {
        self.run(db, &["ledger", "verify", "--anchor", anchor])
    }

    fn copy_db(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::copy(&self.db, &p).unwrap();
        let key = Ledger::default_key_path(&p);
        std::fs::copy(Ledger::default_key_path(&self.db), &key).unwrap();
        p
    }

    fn keys(&self, bucket: &str) -> Vec<String> {
        block_on(list_keys(&self.url, bucket))
    }
}

fn text(o: &Output) -> String {
    text_of(o)
}
fn text_of(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text_of(o)))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn s3(url: &str) -> aws_sdk_s3::Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

/// Test setup: a bucket, with Object Lock (and so versioning) or without.
async fn create_bucket(url: &str, name: &str, lock: bool) {
    s3(url)
        .await
        .create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(lock)
        .send()
        .await
        .expect("create bucket");
}

async fn list_keys(url: &str, bucket: &str) -> Vec<String> {
    let out = s3(url)
        .await
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

fn export(w: &World, db: &Path) -> String {
    let o = w.run(db, &["ledger", "export"]);
    assert!(o.status.success(), "{}", text_of(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn publish_verify_restore_and_publish_again_only_the_new_entries() {
    let w = World::new(3);
    let anchor = format!("s3://{LOCKED}/custody/prod");
    let o = w.publish(&anchor);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = json(&o);
    assert_eq!(
        (r["entries_uploaded"].as_u64(), r["checkpoint"].as_u64()),
        (Some(3), Some(3))
    );

    let o = w.verify_anchor(&w.db, &anchor);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ledger intact and anchored") && out.contains("last publish"),
        "{out}"
    );

    w.note("after the first publish");
    w.note("and another");
    let o = w.publish(&anchor);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = json(&o);
    assert_eq!(r["entries_uploaded"].as_u64(), Some(2), "{r}");
    assert_eq!(
        r["uploaded"],
        serde_json::json!([format!("entries/{:020}-{:020}.jsonl", 3, 4)])
    );
    // Nothing to do the third time.
    let r = json(&w.publish(&anchor));
    assert_eq!(
        (r["entries_uploaded"].as_u64(), r["checkpoint"].as_u64()),
        (Some(0), None)
    );

    let mut keys = w.keys(LOCKED);
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("custody/prod/checkpoints/{:020}", 3),
            format!("custody/prod/checkpoints/{:020}", 5),
            format!("custody/prod/entries/{:020}-{:020}.jsonl", 0, 2),
            format!("custody/prod/entries/{:020}-{:020}.jsonl", 3, 4),
            "custody/prod/ledger.json".to_string(),
        ]
    );
    // The published checkpoint is the signed note, byte for byte.
    let note = Ledger::open_readonly(&w.db)
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .note;
    let published = block_on(async {
        s3(&w.url)
            .await
            .get_object()
            .bucket(LOCKED)
            .key(format!("custody/prod/checkpoints/{:020}", 5))
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
    });
    assert_eq!(published.as_ref(), note.as_bytes());

    let restored = w.dir.path().join("restored.db");
    let o = w.run(&restored, &["ledger", "restore", "--from", &anchor]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("signing key is not in the anchor"));
    let vkey = Ledger::open_readonly(&w.db)
        .unwrap()
        .verifier_key()
        .encode();
    let o = w.run(&restored, &["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(export(&w, &restored), export(&w, &w.db));
    let o = w.verify_anchor(&restored, &anchor);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // Restore never overwrites.
    let before = std::fs::read(&restored).unwrap();
    let o = w.run(&restored, &["ledger", "restore", "--from", &anchor]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert_eq!(std::fs::read(&restored).unwrap(), before);
}

#[test]
fn rollback_rewrite_and_fork_below_the_last_publish_fail_verify_anchor() {
    let w = World::new(2);
    let anchor = format!("s3://{LOCKED}/l");
    let old_copy = w.copy_db("old.db");
    let fork = w.copy_db("fork.db");
    w.note("two");
    w.note("three");
    assert_eq!(code(&w.publish(&anchor)), 0);

    // Rollback: the database replaced by an older copy (which verifies on its own).
    let o = w.run(&old_copy, &["ledger", "verify", "--vkey", &vkey_of(&w.db)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = w.verify_anchor(&old_copy, &anchor);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("rolled back") && out.contains("entry 2"),
        "{out}"
    );

    // Fork: the key holder signs another history from entry 2 on, longer than the published.
    for t in ["forked two", "forked three", "forked four"] {
        let o = w.run(&fork, &["ledger", "note", t]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = w.run(&fork, &["ledger", "verify", "--vkey", &vkey_of(&w.db)]);
    assert_eq!(code(&o), 0, "the fork verifies on its own: {}", text(&o));
    let o = w.verify_anchor(&fork, &anchor);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("entry 2:") && out.contains("published checkpoint 4"),
        "{out}"
    );
    // And a publish of the fork is refused: the anchor keeps the first history.
    let o = w.run(
        &fork,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));

    // Rewritten entry: bytes and leaf hash of entry 1 changed in the file.
    let conn = Connection::open(&w.db).unwrap();
    let bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM entries WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    let changed = String::from_utf8(bytes)
        .unwrap()
        .replace("note 1", "note X");
    conn.execute(
        "UPDATE entries SET bytes = ?1, leaf_hash = ?2 WHERE seq = 1",
        params![changed.as_bytes(), &tree::leaf_hash(changed.as_bytes())[..]],
    )
    .unwrap();
    drop(conn);
    let o = w.verify_anchor(&w.db, &anchor);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("entry 1:") && out.contains("published checkpoint 4"),
        "{out}"
    );
}

fn vkey_of(db: &Path) -> String {
    Ledger::open_readonly(db).unwrap().verifier_key().encode()
}

#[test]
fn a_bucket_without_object_lock_or_of_another_ledger_is_refused() {
    let w = World::new(1);
    block_on(create_bucket(&w.url, "plain", false));
    let o = w.publish("s3://plain/l");
    assert_eq!(code(&o), 2, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Object Lock") && err.contains("--object-lock-enabled-for-bucket"),
        "{err}"
    );
    assert!(w.keys("plain").is_empty(), "nothing may be uploaded");

    // Another ledger on a prefix that already anchors one.
    assert_eq!(code(&w.publish(&format!("s3://{LOCKED}/l"))), 0);
    let other = w.dir.path().join("other.db");
    let o = w.run(
        &other,
        &["ledger", "init", "--origin", "rootkey.test/anchor"],
    );
    assert!(o.status.success());
    let o = w.run(&other, &["ledger", "note", "x"]);
    assert!(o.status.success());
    let before = w.keys(LOCKED).len();
    let o = w.run(
        &other,
        &["ledger", "publish", "--to", &format!("s3://{LOCKED}/l")],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("another ledger"),
        "{}",
        text(&o)
    );
    assert_eq!(w.keys(LOCKED).len(), before);
    let o = w.verify_anchor(&other, &format!("s3://{LOCKED}/l"));
    assert_eq!(code(&o), 1, "{}", text(&o));
}

/// What a [`Proxy`] does to the uploads it relays.
#[derive(Clone)]
enum Rule {
    /// Cut every connection carrying a `PUT` of a checkpoint: the bundles of a publish get
    /// through, its checkpoint never does.
    CutCheckpoints,
    /// Hold the first `PUT` of a bundle until the gate opens.
    HoldBundles(Arc<Gate>),
}

/// A one-shot gate: a relay says it arrived and waits; the test waits for that, then opens it.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Gate {
    fn arrive_and_wait(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 = true;
        self.changed.notify_all();
        while !s.1 {
            s = self.changed.wait(s).unwrap();
        }
    }
    fn wait_arrived(&self) {
        let mut s = self.state.lock().unwrap();
        while !s.0 {
            s = self.changed.wait(s).unwrap();
        }
    }
    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// A TCP proxy to `upstream` that applies `rule` to the requests it relays.
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(upstream: u16, rule: Rule) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let rule = rule.clone();
                std::thread::spawn(move || relay(client, upstream, rule));
            }
        });
        Proxy { port, stop }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn relay(mut client: TcpStream, upstream: u16, rule: Rule) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut s2, &mut c2);
        let _ = c2.shutdown(Shutdown::Both);
    });
    let mut buf = [0u8; 16384];
    let mut tail: Vec<u8> = Vec::new();
    let put_of = |tail: &[u8], what: &[u8]| {
        tail.split(|&b| b == b'\n')
            .any(|line| line.starts_with(b"PUT ") && line.windows(what.len()).any(|w| w == what))
    };
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tail.extend_from_slice(&buf[..n]);
        match &rule {
            Rule::CutCheckpoints if put_of(&tail, b"/checkpoints/") => break,
            Rule::HoldBundles(gate) if put_of(&tail, b"/entries/") => gate.arrive_and_wait(),
            _ => {}
        }
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 1024);
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
}

#[test]
fn appends_go_on_while_a_publish_uploads() {
    let w = World::new(3);
    let anchor = format!("s3://{LOCKED}/held");
    let port: u16 = w.url.rsplit(':').next().unwrap().parse().unwrap();
    let gate = Arc::new(Gate::default());
    let proxy = Proxy::start(port, Rule::HoldBundles(gate.clone()));
    let via_proxy = format!("http://127.0.0.1:{}", proxy.port);
    let before = Ledger::open_readonly(&w.db).unwrap().len().unwrap();
    std::thread::scope(|scope| {
        let publish = scope.spawn(|| {
            w.run_at(
                &via_proxy,
                &w.db,
                &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
            )
        });
        // The publish is uploading its bundle and waits there. An append now must not wait for
        // the network (nor fail after the busy timeout).
        gate.wait_arrived();
        let appended = w.run(
            &w.db,
            &["ledger", "note", "appended while the publish uploads"],
        );
        gate.open();
        let o = publish.join().unwrap();
        assert!(
            appended.status.success(),
            "the append waited for the upload: {}",
            text_of(&appended)
        );
        assert_eq!(code(&o), 0, "{}", text(&o));
    });
    drop(proxy);
    // The publish carried the ledger as it was when it read it; the later entry waits for the
    // next publish.
    let o = w.run(&w.db, &["--json", "ledger", "verify", "--anchor", &anchor]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = json(&o);
    assert_eq!(
        (
            r["published_size"].as_u64(),
            r["unpublished_entries"].as_u64()
        ),
        (Some(before), Some(1))
    );
}

#[test]
fn a_publish_cut_off_half_way_is_completed_by_the_next() {
    let w = World::new(2);
    let anchor = format!("s3://{LOCKED}/cut");
    assert_eq!(code(&w.publish(&anchor)), 0);
    w.note("two");
    w.note("three");
    w.note("four");

    let port: u16 = w.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(port, Rule::CutCheckpoints);
    let via_proxy = format!("http://127.0.0.1:{}", proxy.port);
    let o = w.run_at(
        &via_proxy,
        &w.db,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
    );
    assert_eq!(code(&o), 2, "the cut publish fails: {}", text(&o));
    drop(proxy);
    let keys = w.keys(LOCKED);
    assert!(
        keys.contains(&format!("cut/entries/{:020}-{:020}.jsonl", 2, 4)),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&format!("cut/checkpoints/{:020}", 5)),
        "{keys:?}"
    );

    // A verifier trusts only what a checkpoint covers: still the first publish, intact.
    let o = w.run(&w.db, &["--json", "ledger", "verify", "--anchor", &anchor]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = json(&o);
    assert_eq!(
        (
            r["published_size"].as_u64(),
            r["unpublished_entries"].as_u64()
        ),
        (Some(2), Some(3))
    );

    // The next publish keeps the identical bundle and adds the checkpoint.
    let o = w.publish(&anchor);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = json(&o);
    assert_eq!(
        r["completed"],
        serde_json::json!([format!("entries/{:020}-{:020}.jsonl", 2, 4)])
    );
    assert_eq!(
        (r["entries_uploaded"].as_u64(), r["checkpoint"].as_u64()),
        (Some(0), Some(5))
    );
    let o = w.run(&w.db, &["--json", "ledger", "verify", "--anchor", &anchor]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(json(&o)["published_size"].as_u64(), Some(5));
    let restored = w.dir.path().join("r.db");
    let o = w.run(&restored, &["ledger", "restore", "--from", &anchor]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(export(&w, &restored), export(&w, &w.db));
}

#[test]
fn a_bundle_left_by_a_cut_publish_that_differs_from_the_ledger_is_refused() {
    let w = World::new(1);
    let anchor = format!("s3://{LOCKED}/d");
    assert_eq!(code(&w.publish(&anchor)), 0);
    let fork = w.copy_db("fork.db");
    w.note("published without checkpoint");
    let port: u16 = w.url.rsplit(':').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(port, Rule::CutCheckpoints);
    let o = w.run_at(
        &format!("http://127.0.0.1:{}", proxy.port),
        &w.db,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    drop(proxy);
    let o = w.run(&fork, &["ledger", "note", "something else"]);
    assert!(o.status.success());
    let o = w.run(
        &fork,
        &["ledger", "publish", "--to", &anchor, "--mode", "governance"],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("cannot be overwritten"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_station_publishes_after_every_append_and_warns_when_it_cannot() {
    let w = World::new(0);
    let xdg = w.dir.path().join("xdg/rootkey");
    std::fs::create_dir_all(&xdg).unwrap();
    let write_config = |url: &str| {
        std::fs::write(
            xdg.join("config.toml"),
            format!(
                "[ledger.anchor]\nto = \"s3://{LOCKED}/auto\"\nmode = \"governance\"\nretain = \"1d\"\nregion = \"us-east-1\"\nendpoint_url = \"{url}\"\n"
            ),
        )
        .unwrap();
    };
    write_config(&w.url);
    w.note("first");
    let keys = w.keys(LOCKED);
    assert!(
        keys.contains(&format!("auto/checkpoints/{:020}", 1)),
        "{keys:?}"
    );

    // The anchor unreachable: the append stands, with a loud warning.
    write_config("http://127.0.0.1:9");
    let o = w.run(&w.db, &["ledger", "note", "second"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("WARNING") && err.contains("FAILED"), "{err}");
    assert_eq!(Ledger::open_readonly(&w.db).unwrap().len().unwrap(), 2);

    write_config(&w.url);
    let o = w.run(
        &w.db,
        &[
            "--json",
            "ledger",
            "verify",
            "--anchor",
            &format!("s3://{LOCKED}/auto"),
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(json(&o)["unpublished_entries"].as_u64(), Some(1));
    w.note("third");
    assert!(w
        .keys(LOCKED)
        .contains(&format!("auto/checkpoints/{:020}", 3)));
}

/// AWS evidence with no accounts: the audit's only findings are about the ledger.
fn no_accounts(dir: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let t = |d: time::OffsetDateTime| {
        d.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let p = dir.join("no-accounts.json");
    let ev = serde_json::json!({
        "format": "rootkey-aws-evidence/1",
        "read_at": t(now),
        "caller": {"account": "111111111111", "arn": "arn:aws:iam::111111111111:user/auditor", "user_id": "AIDA"},
        "period": {"since": t(now - time::Duration::days(90)), "until": t(now)},
        "organization": null,
        "accounts": [],
    });
    std::fs::write(&p, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    p
}

#[test]
fn the_audit_reads_the_anchor_a_stale_publish_and_a_rollback_are_findings() {
    let w = World::new(2);
    let anchor = format!("s3://{LOCKED}/audit");
    let old = w.copy_db("old.db");
    w.note("two");
    assert_eq!(code(&w.publish(&anchor)), 0);
    let ev = no_accounts(w.dir.path());
    let xdg = w.dir.path().join("xdg/rootkey");
    std::fs::create_dir_all(&xdg).unwrap();
    let audit = |db: &Path, max_age: &str| {
        std::fs::write(
            xdg.join("config.toml"),
            format!("[ledger.anchor]\nmax_age = \"{max_age}\"\n"),
        )
        .unwrap();
        let o = w.run_at(
            &w.url,
            db,
            &[
                "audit",
                "--evidence-in",
                ev.to_str().unwrap(),
                "--format",
                "json",
                "--no-record",
                "--anchor",
                &anchor,
                "--endpoint-url",
                &w.url,
                "--region",
                "us-east-1",
            ],
        );
        let r = json(&o);
        let codes: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect();
        (code(&o), codes, r)
    };
    let (_, codes, _) = audit(&w.db, "7d");
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("LEDGER-ANCHOR") || c == "LEDGER-UNANCHORED"),
        "{codes:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (_, codes, _) = audit(&w.db, "1s");
    assert!(
        codes.contains(&"LEDGER-ANCHOR-STALE".to_string()),
        "{codes:?}"
    );

    let (exit, codes, r) = audit(&old, "7d");
    assert_eq!(exit, 1);
    assert!(
        codes.contains(&"LEDGER-ANCHOR-MISMATCH".to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"LEDGER-CHECKPOINT-NOT-EXTENDED".to_string()),
        "{codes:?}"
    );
    assert_eq!(r["verdict"], "fail", "{r}");
}
