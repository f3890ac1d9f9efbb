//! Read-only auditors, end to end: someone who can read the ledger file but write neither it nor
//! its folder runs `ledger verify`, `ledger show`, `ledger export` and `audit --no-record`;
//! recording fails with a message that says which access is missing.
//!
//! Tests run as root here, where file modes do not bite: the commands then run as `nobody`
//! through `setpriv` (skipped with a note when it is missing). Not as root, the modes are enough.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// How the auditor runs the binary.
struct Auditor {
    /// `setpriv` to become `nobody`, when running as root.
    setpriv: Option<PathBuf>,
    bin: PathBuf,
    home: PathBuf,
}

impl Auditor {
    /// `None` when the permissions cannot bite (root without setpriv).
    fn new(dir: &Path) -> Option<Auditor> {
        let setpriv = if is_root() {
            match ["/usr/bin/setpriv", "/bin/setpriv"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
            {
                Some(p) => Some(p),
                None => {
                    eprintln!("note: running as root without setpriv: read-only access untested");
                    return None;
                }
            }
        } else {
            None
        };
        // The binary must be reachable by `nobody`: a copy in the world-readable tempdir.
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let bin = bin.join("rootkey");
        std::fs::copy(env!("CARGO_BIN_EXE_rootkey"), &bin).unwrap();
        chmod(&bin, 0o755);
        let home = dir.join("home");
        std::fs::create_dir(&home).unwrap();
        chmod(&home, 0o777);
        Some(Auditor { setpriv, bin, home })
    }

    fn run(&self, db: &Path, args: &[&str]) -> Output {
        let mut c = match &self.setpriv {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        c.arg("--ledger")
            .arg(db)
            .args(args)
            .current_dir(&self.home)
            .env("USER", "auditor")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env_remove("ROOTKEY_CONFIG")
            .env_remove("ROOTKEY_LEDGER")
            .output()
            .unwrap()
    }
}

/// The owner's commands, as the test user.
fn owner(db: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(args)
        .env("USER", "owner")
        .env_remove("ROOTKEY_CONFIG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A world-reachable tempdir holding `ledger/ledger.db` (with two notes) and an evidence file.
/// Returns (tempdir, ledger folder, db, vkey, evidence).
fn world() -> (tempfile::TempDir, PathBuf, PathBuf, String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o755);
    let folder = dir.path().join("ledger");
    std::fs::create_dir(&folder).unwrap();
    let db = folder.join("ledger.db");
    let o = owner(
        &db,
        &[
            "--json",
            "ledger",
            "init",
            "--origin",
            "test.example/custody",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let vkey = v["vkey"].as_str().unwrap().to_string();
    owner(&db, &["ledger", "note", "first"]);
    owner(&db, &["ledger", "note", "second"]);
    let evidence = dir.path().join("aws.json");
    let now = time::OffsetDateTime::now_utc();
    let t = |d: time::OffsetDateTime| {
        d.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let ev = serde_json::json!({
        "format": "rootkey-aws-evidence/1",
        "read_at": t(now),
        "caller": {"account": "111122223333",
                   "arn": "arn:aws:iam::111122223333:user/auditor", "user_id": "AIDA"},
        "period": {"since": t(now - time::Duration::days(90)), "until": t(now)},
        "organization": null,
        "accounts": [],
    });
    std::fs::write(&evidence, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    chmod(&evidence, 0o644);
    (dir, folder, db, vkey, evidence)
}

/// Makes the ledger read-only for everyone: file 0444, folder 0555.
fn lock_down(folder: &Path, db: &Path) {
    chmod(db, 0o444);
    chmod(folder, 0o555);
}

fn unlock(folder: &Path, db: &Path) {
    chmod(folder, 0o755);
    chmod(db, 0o600);
}

#[test]
fn an_auditor_with_read_access_only_verifies_shows_exports_and_audits() {
    let (dir, folder, db, vkey, evidence) = world();
    let Some(auditor) = Auditor::new(dir.path()) else {
        return;
    };
    lock_down(&folder, &db);
    let before = std::fs::read(&db).unwrap();

    let o = auditor.run(&db, &["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(o.status.code(), Some(0), "verify: {}", text(&o));
    assert!(
        text(&o).contains("ledger intact (anchored by your verifier key only): 2 entries"),
        "{}",
        text(&o)
    );

    let o = auditor.run(&db, &["--json", "ledger", "show"]);
    assert_eq!(o.status.code(), Some(0), "show: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[1]["body"]["text"], "second");

    let o = auditor.run(&db, &["ledger", "export"]);
    assert_eq!(o.status.code(), Some(0), "export: {}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 2);

    let o = auditor.run(
        &db,
        &[
            "audit",
            "--evidence-in",
            evidence.to_str().unwrap(),
            "--vkey",
            &vkey,
            "--format",
            "json",
            "--no-record",
        ],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "audit --no-record: {}",
        text(&o)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["ledger"]["entries"], 2, "{report}");

    // Recording needs write access: a clear refusal, not "not a rootkey ledger".
    let o = auditor.run(&db, &["ledger", "note", "auditor was here"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("cannot record in ledger database") && err.contains("write permission"),
        "{err}"
    );
    assert!(!err.contains("not a rootkey ledger"), "{err}");

    // Nothing the auditor ran changed the file; no journal was left beside it.
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("-journal") || n.contains("-wal")),
        "{names:?}"
    );
    unlock(&folder, &db);
}

#[test]
fn an_unreadable_ledger_says_which_access_is_missing() {
    let (dir, folder, db, _vkey, _evidence) = world();
    let Some(auditor) = Auditor::new(dir.path()) else {
        return;
    };
    chmod(&db, 0o600);
    chmod(&folder, 0o755);
    let o = auditor.run(&db, &["ledger", "show"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("cannot read ledger database") && err.contains("read permission"),
        "{err}"
    );
    assert!(!err.contains("not a rootkey ledger"), "{err}");
}

#[test]
fn a_wal_ledger_from_an_older_rootkey_is_converted_when_opened_for_writing() {
    let (dir, folder, db, vkey, _evidence) = world();
    // What older versions wrote: the same ledger in WAL mode.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mode: String = c
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
    let Some(auditor) = Auditor::new(dir.path()) else {
        return;
    };
    lock_down(&folder, &db);
    let o = auditor.run(&db, &["ledger", "show"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("write-ahead log") && err.contains("converts it"),
        "{err}"
    );

    // The owner records something: the ledger is converted, and read access is enough again.
    unlock(&folder, &db);
    owner(&db, &["ledger", "note", "third"]);
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mode: String = c
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }
    lock_down(&folder, &db);
    let o = auditor.run(&db, &["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("ledger intact (anchored by your verifier key only): 3 entries"),
        "{}",
        text(&o)
    );
    unlock(&folder, &db);
}

#[test]
fn an_interrupted_write_is_explained_to_the_auditor_and_recovered_by_the_owner() {
    let (dir, _folder, db, vkey, _evidence) = world();
    // A copy of the ledger taken in the middle of a write transaction whose pages were already
    // spilled to the file: what a process killed mid-append leaves, a "hot" journal.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let copy = crashed.join("ledger.db");
    {
        let mut c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "cache_size", 10).unwrap();
        let tx = c.transaction().unwrap();
        tx.execute_batch(
            "CREATE TABLE junk (x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO junk SELECT randomblob(4000) FROM n;
             UPDATE meta SET value = 'overwritten' WHERE key = 'origin';",
        )
        .unwrap();
        std::fs::copy(&db, &copy).unwrap();
        std::fs::copy(
            PathBuf::from(format!("{}-journal", db.display())),
            PathBuf::from(format!("{}-journal", copy.display())),
        )
        .unwrap();
        drop(tx); // rolled back
    }
    let Some(auditor) = Auditor::new(dir.path()) else {
        return;
    };
    chmod(&copy, 0o444);
    chmod(&PathBuf::from(format!("{}-journal", copy.display())), 0o444);
    chmod(&crashed, 0o555);
    let o = auditor.run(&copy, &["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("a write was interrupted") && err.contains("its owner recovers it"),
        "{err}"
    );

    // The owner's next read rolls the interrupted write back; then read access is enough again.
    chmod(&crashed, 0o755);
    chmod(&copy, 0o600);
    let o = owner(&copy, &["ledger", "verify", "--vkey", &vkey]);
    assert!(
        text(&o).contains("ledger intact (anchored by your verifier key only): 2 entries"),
        "{}",
        text(&o)
    );
    assert!(!PathBuf::from(format!("{}-journal", copy.display())).exists());
    lock_down(&crashed, &copy);
    let o = auditor.run(&copy, &["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    unlock(&crashed, &copy);
}
