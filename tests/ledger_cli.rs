//! End to end: the real binary on real SQLite files, tampered with directly via rusqlite.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rootkey::ledger::{canonical, tree, Ledger};
use rusqlite::{params, Connection};
use support::{added_event, bootstrap_event, note, removed_event, TestCustodian};

fn rootkey(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(args)
        .env("USER", "tester")
        .env_remove("ROOTKEY_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `ledger verify` (with extra args) and returns exit code and stdout. Without an anchor
/// in `extra`, it passes the auditor's recorded verifier key (these tests never replace the
/// key unless they pass `--vkey` themselves), since an unanchored verification is not a pass.
fn verify(db: &Path, extra: &[&str]) -> (i32, String) {
    let vkey = Ledger::open_readonly(db)
        .map(|l| l.verifier_key().encode())
        .unwrap_or_default();
    let mut args = vec!["ledger", "verify"];
    if !extra
        .iter()
        .any(|a| *a == "--vkey" || *a == "--since-checkpoint")
    {
        args.extend(["--vkey", vkey.as_str()]);
    }
    args.extend_from_slice(extra);
    let o = rootkey(db, &args);
    (o.status.code().unwrap_or(-1), stdout(&o) + &stderr(&o))
}

struct World {
    dir: tempfile::TempDir,
    db: PathBuf,
    alice: TestCustodian,
    bob: TestCustodian,
    carol: TestCustodian,
    /// seq of the entry that removed carol
    carol_removed: u64,
    /// seq of an entry approved by alice and bob after carol's removal
    approved_after: u64,
}

/// A ledger with: 0 bootstrap(alice, bob), 1 note, 2 added(carol), 3 note, 4 removed(carol),
/// 5 added(dave), 6 note, 7 note.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let mut l = Ledger::create(&db, &Ledger::default_key_path(&db), "test.example/ledger").unwrap();
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);
    let carol = TestCustodian::new("carol", true);
    let ev = bootstrap_event(&alice, &bob);
    l.append(&ev, vec![alice.approve(&ev), bob.approve(&ev)])
        .unwrap();
    l.append(&note("one"), vec![]).unwrap();
    let ev = added_event(&carol);
    l.append(&ev, vec![alice.approve(&ev), bob.approve(&ev)])
        .unwrap();
    l.append(&note("three"), vec![]).unwrap();
    let ev = removed_event(&carol);
    let carol_removed = l
        .append(&ev, vec![alice.approve(&ev), bob.approve(&ev)])
        .unwrap()
        .seq;
    let ev = added_event(&TestCustodian::new("dave", false));
    let approved_after = l
        .append(&ev, vec![alice.approve(&ev), bob.approve(&ev)])
        .unwrap()
        .seq;
    l.append(&note("six"), vec![]).unwrap();
    l.append(&note("seven"), vec![]).unwrap();
    drop(l);
    World {
        dir,
        db,
        alice,
        bob,
        carol,
        carol_removed,
        approved_after,
    }
}

fn open(db: &Path) -> Connection {
    Connection::open(db).unwrap()
}

fn entry_json(c: &Connection, seq: u64) -> serde_json::Value {
    let bytes: Vec<u8> = c
        .query_row(
            "SELECT bytes FROM entries WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Rewrites entry `seq` as a careful forger would: canonical bytes and a matching leaf hash.
fn rewrite(c: &Connection, seq: u64, v: &serde_json::Value) {
    let bytes = canonical::to_vec(v).unwrap();
    let leaf = tree::leaf_hash(&bytes);
    c.execute(
        "UPDATE entries SET bytes = ?1, leaf_hash = ?2 WHERE seq = ?3",
        params![bytes, &leaf[..], seq as i64],
    )
    .unwrap();
}

/// What the holder of a signing key can do: rebuild the tree state from the entries as they now
/// are and sign a checkpoint over it.
fn resign(db: &Path, key: &Path) {
    let l = Ledger::open_readonly(db).unwrap();
    let mut cr = tree::CompactRange::new();
    for e in l.entries(0).unwrap() {
        cr.push(e.leaf_hash());
    }
    let pkcs8 = std::fs::read(key).unwrap();
    let signer =
        rootkey::ledger::checkpoint::Signer::from_pkcs8("test.example/ledger", &pkcs8).unwrap();
    let cp = signer.sign(cr.size(), &cr.root());
    drop(l);
    open(db)
        .execute(
            "UPDATE tree SET frontier = ?1, checkpoint = ?2",
            params![cr.to_bytes(), cp.note],
        )
        .unwrap();
}

fn approval_json(a: &rootkey::ledger::Approval) -> serde_json::Value {
    serde_json::to_value(a).unwrap()
}

#[test]
fn an_intact_ledger_verifies_and_extends_its_saved_checkpoint() {
    let w = world();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ledger intact (anchored by your verifier key only): 8 entries, 8 approvals verified, every custody rule holds"),
        "{out}"
    );
    let saved = w.dir.path().join("cp.txt");
    let o = rootkey(
        &w.db,
        &["ledger", "checkpoint", "--out", saved.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rootkey(&w.db, &["ledger", "note", "after the audit"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, out) = verify(&w.db, &["--since-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("extends the saved checkpoint of size 8"),
        "{out}"
    );
    // JSON report.
    let o = rootkey(&w.db, &["--json", "ledger", "verify"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 9);
    assert_eq!(v["anchor"], "none");
    assert_eq!(o.status.code(), Some(1), "unanchored is not a pass");
    let vkey = v["vkey"].as_str().unwrap().to_string();
    assert_eq!(
        vkey,
        Ledger::open_readonly(&w.db)
            .unwrap()
            .verifier_key()
            .encode()
    );
}

#[test]
fn verifying_without_an_anchor_warns_and_shows_the_key_to_record() {
    let w = world();
    let vkey = Ledger::open_readonly(&w.db)
        .unwrap()
        .verifier_key()
        .encode();
    let o = rootkey(&w.db, &["ledger", "verify"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "not anchored, so not a pass: {}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("NOT ANCHORED"), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning: ledger verified only against the key stored in its own database"),
        "{err}"
    );
    assert!(
        err.contains("--vkey") && err.contains("--since-checkpoint"),
        "{err}"
    );
    assert!(err.contains(&vkey), "{err}");

    let saved = w.dir.path().join("cp.txt");
    let o = rootkey(
        &w.db,
        &["ledger", "checkpoint", "--out", saved.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (anchor, name) in [
        (["--vkey", vkey.as_str()], "verifier-key"),
        (
            ["--since-checkpoint", saved.to_str().unwrap()],
            "saved-checkpoint",
        ),
    ] {
        let mut args = vec!["--json", "ledger", "verify"];
        args.extend_from_slice(&anchor);
        let o = rootkey(&w.db, &args);
        assert_eq!(o.status.code(), Some(0), "{anchor:?}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("warning"),
            "{anchor:?}: {}",
            stderr(&o)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["anchor"], name, "{anchor:?}");
        assert_eq!(v["vkey"], vkey.as_str());
    }
    // With the verifier key as the only anchor, verify says what it cannot exclude.
    let o = rootkey(&w.db, &["ledger", "verify", "--vkey", &vkey]);
    assert!(
        stderr(&o).contains(
            "whoever holds the signing key could have dropped, reordered or rewritten entries"
        ) && stderr(&o).contains("--since-checkpoint"),
        "{}",
        stderr(&o)
    );

    // A malformed key is a usage error, not a verification result.
    let (code, out) = verify(&w.db, &["--vkey", "not-a-key"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--vkey"), "{out}");
}

#[test]
fn an_index_column_that_disagrees_with_its_entry_is_named() {
    // The append path finds custodian changes by the `kind` column: relabelling carol's
    // removal as a note would hide it from that path, so verify must catch it.
    let w = world();
    let seq = w.carol_removed;
    open(&w.db)
        .execute(
            "UPDATE entries SET kind = 'note' WHERE seq = ?1",
            [seq as i64],
        )
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "entry {seq}: column kind says 'note' but the entry is 'custodian.removed'"
        )),
        "{out}"
    );

    let w = world();
    open(&w.db)
        .execute(
            "UPDATE entries SET event_id = ?1 WHERE seq = 6",
            [&"00".repeat(16)],
        )
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "entry 6: column event_id says '{}' but the entry is",
            "00".repeat(16)
        )),
        "{out}"
    );
}

#[test]
fn a_changed_entry_is_named() {
    let w = world();
    let c = open(&w.db);
    let mut v = entry_json(&c, 3);
    v["event"]["body"]["text"] = "THREE".into();
    let bytes = canonical::to_vec(&v).unwrap();
    c.execute("UPDATE entries SET bytes = ?1 WHERE seq = 3", [bytes])
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("entry 3: bytes do not match the stored leaf hash"),
        "{out}"
    );
}

#[test]
fn a_changed_entry_with_a_forged_leaf_hash_breaks_the_signed_root() {
    let w = world();
    let c = open(&w.db);
    let mut v = entry_json(&c, 3);
    v["event"]["body"]["text"] = "THREE".into();
    rewrite(&c, 3, &v);
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("root does not match the signed checkpoint"),
        "{out}"
    );
}

#[test]
fn a_deleted_entry_is_named() {
    let w = world();
    open(&w.db)
        .execute("DELETE FROM entries WHERE seq = 3", [])
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 3: entry is missing"), "{out}");
}

#[test]
fn swapped_entries_are_named() {
    let w = world();
    let c = open(&w.db);
    // Swap the contents (bytes and leaf hashes) of rows 6 and 7.
    c.execute_batch(
        "UPDATE entries SET seq = -1 WHERE seq = 6;
         UPDATE entries SET seq = 6 WHERE seq = 7;
         UPDATE entries SET seq = 7 WHERE seq = -1;",
    )
    .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("entry 6: its bytes say it is entry 7"),
        "{out}"
    );
}

#[test]
fn a_truncated_tail_is_detected() {
    let w = world();
    open(&w.db)
        .execute("DELETE FROM entries WHERE seq >= 6", [])
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("has 6 entries but its signed checkpoint covers 8"),
        "{out}"
    );
}

#[test]
fn an_older_copy_is_caught_with_the_saved_checkpoint() {
    let w = world();
    let old = w.dir.path().join("old.db");
    std::fs::copy(&w.db, &old).unwrap();
    for t in ["a", "b"] {
        assert!(rootkey(&w.db, &["ledger", "note", t]).status.success());
    }
    let saved = w.dir.path().join("cp.txt");
    assert!(rootkey(
        &w.db,
        &["ledger", "checkpoint", "--out", saved.to_str().unwrap()]
    )
    .status
    .success());
    // The database is replaced by the older copy: it is self-consistent...
    std::fs::copy(&old, &w.db).unwrap();
    assert_eq!(verify(&w.db, &[]).0, 0);
    // ...but not against what the auditor saw.
    let (code, out) = verify(&w.db, &["--since-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("older than the saved checkpoint (10 entries)"),
        "{out}"
    );
}

#[test]
fn a_rewritten_history_of_the_same_size_fails_the_consistency_proof() {
    let w = world();
    let saved = w.dir.path().join("cp.txt");
    assert!(rootkey(
        &w.db,
        &["ledger", "checkpoint", "--out", saved.to_str().unwrap()]
    )
    .status
    .success());
    // The forger holds the signing key: rewrites entry 7 and re-signs a new checkpoint.
    let c = open(&w.db);
    let mut v = entry_json(&c, 7);
    v["event"]["body"]["text"] = "rewritten".into();
    rewrite(&c, 7, &v);
    // Recompute the frontier the honest way and re-sign it with the ledger's own key.
    resign(&w.db, &Ledger::default_key_path(&w.db));
    let mut l = Ledger::open(&w.db, None).unwrap();
    l.append(&note("cover-up"), vec![]).unwrap();
    assert_eq!(verify(&w.db, &[]).0, 0, "self-consistent forgery");
    let (code, out) = verify(&w.db, &["--since-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("does not extend the saved checkpoint"),
        "{out}"
    );
}

#[test]
fn a_forged_checkpoint_is_detected() {
    let w = world();
    let c = open(&w.db);
    let note: String = c
        .query_row("SELECT checkpoint FROM tree", [], |r| r.get(0))
        .unwrap();
    let forged = note.replacen("\n8\n", "\n7\n", 1);
    c.execute("UPDATE tree SET checkpoint = ?1", [forged])
        .unwrap();
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("stored checkpoint: signature by test.example/ledger does not verify"),
        "{out}"
    );
}

#[test]
fn a_checkpoint_re_signed_with_another_key_is_caught_by_the_auditors_vkey() {
    let w = world();
    let o = rootkey(&w.db, &["--json", "ledger", "checkpoint"]);
    let cp: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let trusted = cp["vkey"].as_str().unwrap().to_string();
    let saved = w.dir.path().join("cp.txt");
    std::fs::write(&saved, cp["note"].as_str().unwrap()).unwrap();
    // The forger makes their own key (same origin) and swaps it into the database.
    let evil_db = w.dir.path().join("evil.db");
    let evil = Ledger::create(
        &evil_db,
        &w.dir.path().join("evil.key"),
        "test.example/ledger",
    )
    .unwrap();
    let evil_vkey = evil.verifier_key().encode();
    drop(evil);
    open(&w.db)
        .execute("UPDATE meta SET value = ?1 WHERE key = 'vkey'", [evil_vkey])
        .unwrap();
    resign(&w.db, &w.dir.path().join("evil.key"));
    let mut l = Ledger::open(&w.db, Some(&w.dir.path().join("evil.key"))).unwrap();
    l.append(&note("re-signed"), vec![]).unwrap();
    drop(l);
    let (code, out) = verify(&w.db, &["--vkey", &trusted]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not the trusted key"), "{out}");
    let (code, out) = verify(&w.db, &["--since-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("saved checkpoint is not a valid checkpoint of this ledger's key"),
        "{out}"
    );
}

#[test]
fn an_approval_copied_onto_another_event_is_named() {
    let w = world();
    let c = open(&w.db);
    let donor = entry_json(&c, 2);
    let mut v = entry_json(&c, w.approved_after);
    v["approvals"][0] = donor["approvals"][0].clone();
    rewrite(&c, w.approved_after, &v);
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "entry {}: ledger entry {} (custodian.added) has the wrong approvals: the approval by id-alice does not verify",
        w.approved_after, w.approved_after
    );
    assert!(out.contains(&want), "{out}");
}

#[test]
fn the_same_person_approving_twice_is_named() {
    let w = world();
    let c = open(&w.db);
    let mut v = entry_json(&c, 2);
    v["approvals"][1] = v["approvals"][0].clone();
    rewrite(&c, 2, &v);
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 2: ledger entry 2 (custodian.added) has the wrong approvals: id-alice approved twice"), "{out}");
}

#[test]
fn an_approval_by_a_removed_custodian_is_named() {
    let w = world();
    let c = open(&w.db);
    let mut v = entry_json(&c, w.approved_after);
    // A genuine signature by carol's key over this very event, made after her removal.
    let event_bytes = canonical::to_vec(&v["event"]).unwrap();
    let challenge = tree::sha256(&event_bytes);
    let ap = w
        .carol
        .assert_raw(&challenge, rootkey::custody::CUSTODIAN_RP_ID, 0x05);
    v["approvals"][1] = approval_json(&ap);
    rewrite(&c, w.approved_after, &v);
    let (code, out) = verify(&w.db, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "entry {}: ledger entry {} (custodian.added) has the wrong approvals: approval by id-carol, who was removed at entry {}",
        w.approved_after, w.approved_after, w.carol_removed
    );
    assert!(out.contains(&want), "{out}");
    let _ = (&w.alice, &w.bob);
}

#[test]
fn init_refuses_to_overwrite_and_creates_a_private_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let o = rootkey(&db, &["ledger", "init", "--origin", "example.org/l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("example.org/l+"));
    let key = dir.path().join("l.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&key).unwrap();
    let o = rootkey(&db, &["ledger", "init", "--origin", "example.org/l"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    // Key present, database absent: still refused, key untouched.
    std::fs::remove_file(&db).unwrap();
    let o = rootkey(&db, &["ledger", "init", "--origin", "example.org/l"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!db.exists());
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

fn fresh(dir: &Path) -> PathBuf {
    let db = dir.join("l.db");
    assert!(rootkey(&db, &["ledger", "init", "--origin", "o"])
        .status
        .success());
    assert!(rootkey(&db, &["ledger", "note", "first"]).status.success());
    db
}

fn count(db: &Path) -> i64 {
    open(db)
        .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_world_readable_key_is_refused_and_nothing_written() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path());
    let key = dir.path().join("l.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = rootkey(&db, &["ledger", "note", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("chmod 600 {}", key.display())),
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&db), 1);
}

#[test]
fn a_wrong_signing_key_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path());
    let other = dir.path().join("other.db");
    assert!(rootkey(&other, &["ledger", "init", "--origin", "o"])
        .status
        .success());
    let o = rootkey(
        &db,
        &[
            "ledger",
            "note",
            "x",
            "--signing-key",
            dir.path().join("other.key").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("does not belong to this ledger"),
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&db), 1);
}

#[test]
fn bad_databases_are_refused_with_exit_2_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"hello, I am not SQLite").unwrap();
    for args in [
        &["ledger", "verify"][..],
        &["ledger", "note", "x"],
        &["ledger", "show"],
    ] {
        let o = rootkey(&junk, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("is not a rootkey ledger"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(std::fs::read(&junk).unwrap(), b"hello, I am not SQLite");
    // A SQLite database of something else.
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let o = rootkey(&other, &["ledger", "verify"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not a rootkey ledger"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);
    // Unreadable: a directory where the file should be; and a missing file.
    let o = rootkey(dir.path(), &["ledger", "verify"]);
    assert_eq!(o.status.code(), Some(2));
    let o = rootkey(&dir.path().join("missing.db"), &["ledger", "show"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rootkey ledger init"), "{}", stderr(&o));
    assert!(!dir.path().join("missing.db").exists());
    // Newer schema.
    let db = fresh(dir.path());
    open(&db).pragma_update(None, "user_version", 7).unwrap();
    let o = rootkey(&db, &["ledger", "note", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("schema version 7, newer than this binary supports"),
        "{}",
        stderr(&o)
    );
    open(&db).pragma_update(None, "user_version", 1).unwrap();
    assert_eq!(count(&db), 1);
}

#[test]
fn export_carries_the_exact_bytes_and_show_lists_entries() {
    use base64::Engine;
    let w = world();
    let o = rootkey(&w.db, &["ledger", "export", "--format", "jsonl"]);
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    let mut cr = tree::CompactRange::new();
    for l in &lines {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(l["entry_b64"].as_str().unwrap())
            .unwrap();
        let leaf = tree::leaf_hash(&bytes);
        assert_eq!(l["leaf_hash"], hex::encode(leaf));
        cr.push(leaf);
    }
    let o = rootkey(&w.db, &["--json", "ledger", "checkpoint"]);
    let cp: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cp["root"], hex::encode(cr.root()));

    let o = rootkey(&w.db, &["ledger", "show", "--since", "6"]);
    let s = stdout(&o);
    assert!(
        s.contains("six") && s.contains("seven") && !s.contains("three"),
        "{s}"
    );
    let o = rootkey(&w.db, &["--json", "ledger", "show"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[2]["approved_by"], serde_json::json!(["alice", "bob"]));
}
