//! The SQLite store: schema and migrations, the signing key file, and durable appends.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::checkpoint::{check_name, Checkpoint, Signer, VerifierKey};
use super::event::{Approval, Entry, UnsignedEvent};
use super::tree::{self, CompactRange, Hash};
use super::LedgerError;

/// The schema version this binary writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Value of `meta.format`, which marks a database as a rootkey ledger.
const FORMAT: &str = "rootkey-ledger";

/// How long an append waits for another process's append to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA_V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    leaf_hash BLOB NOT NULL,
    bytes BLOB NOT NULL
) STRICT;
CREATE INDEX entries_kind ON entries(kind);
CREATE TABLE tree (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    frontier BLOB NOT NULL,
    checkpoint TEXT NOT NULL
) STRICT;
";

/// What a successful append returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The new entry's sequence number (its leaf index).
    pub seq: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The checkpoint signed over the tree that now includes it.
    pub checkpoint: Checkpoint,
}

/// What a successful batch append returns.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReceipt {
    /// Sequence number of the first entry written.
    pub first_seq: u64,
    /// Number of entries written.
    pub count: u64,
    /// The one checkpoint signed over the tree that includes them all.
    pub checkpoint: Checkpoint,
}

/// Proof that one entry is in the tree of the latest checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct InclusionProof {
    /// The entry's sequence number.
    pub seq: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Sibling hashes, bottom up (RFC 9162 §2.1.3).
    pub proof: Vec<Hash>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: Checkpoint,
}

/// One stored row as it is on disk: the entry bytes plus the index columns derived from them,
/// which `verify` checks against the bytes (the append path filters on `kind`).
#[derive(Debug, Clone)]
pub struct RawEntry<'a> {
    /// The row's sequence number.
    pub seq: u64,
    /// The stored leaf hash.
    pub leaf_hash: &'a [u8],
    /// The canonical entry bytes (what the leaf hash covers).
    pub bytes: &'a [u8],
    /// The `event_id` column (hex), or a description of a non-text value.
    pub event_id: std::borrow::Cow<'a, str>,
    /// The `kind` column, or a description of a non-text value.
    pub kind: std::borrow::Cow<'a, str>,
}

/// A column as text; a non-text value (the table is STRICT, so only a rebuilt table could hold
/// one) becomes a description that never matches a real value.
fn column_text(v: rusqlite::types::ValueRef<'_>) -> std::borrow::Cow<'_, str> {
    match v {
        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t),
        other => format!("<{:?} value>", other.data_type()).into(),
    }
}

/// An open ledger. Reads need no key; appends need the signing key.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    verifier: VerifierKey,
    signer: Option<Signer>,
}

impl Ledger {
    /// Where the signing key lives by default: beside the database, `.key` for `.db`.
    pub fn default_key_path(db: &Path) -> PathBuf {
        db.with_extension("key")
    }

    /// Creates a new ledger at `db` with a new signing key at `key`; refuses to overwrite either.
    pub fn create(db: &Path, key: &Path, origin: &str) -> Result<Ledger, LedgerError> {
        check_name(origin)?;
        for p in [db, key] {
            if p.exists() {
                return Err(LedgerError::Exists(p.to_path_buf()));
            }
        }
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| LedgerError::BadKey(key.to_path_buf()))?;
        let signer = Signer::from_pkcs8(origin, pkcs8.as_ref())
            .map_err(|_| LedgerError::BadKey(key.to_path_buf()))?;
        // create_new with mode 0600: the file never exists with wider permissions, and an
        // existing file (or a symlink planted there) is never followed or overwritten.
        create_private(db, &[])?;
        if let Err(e) = create_private(key, pkcs8.as_ref()) {
            let _ = std::fs::remove_file(db);
            return Err(e);
        }
        let result = (|| {
            let mut conn = Connection::open_with_flags(
                db,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            use_rollback_journal(&conn)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA_V1)?;
            let vkey = signer.verifier().encode();
            for (k, v) in [
                ("format", FORMAT),
                ("origin", origin),
                ("vkey", vkey.as_str()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            let cp = signer.sign(0, &tree::empty_root());
            tx.execute(
                "INSERT INTO tree (id, frontier, checkpoint) VALUES (1, ?1, ?2)",
                params![CompactRange::new().to_bytes(), cp.note],
            )?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
            Ok::<_, LedgerError>(conn)
        })();
        match result {
            Ok(conn) => {
                conn.busy_timeout(BUSY_TIMEOUT)?;
                Ok(Ledger {
                    conn,
                    path: db.to_path_buf(),
                    verifier: signer.verifier(),
                    signer: Some(signer),
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(db);
                let _ = std::fs::remove_file(key);
                Err(e)
            }
        }
    }

    /// Opens an existing ledger for appending, with its signing key (default path unless
    /// `key_path_override`).
    pub fn open(db: &Path, key_path_override: Option<&Path>) -> Result<Ledger, LedgerError> {
        let key_path = key_path_override
            .map(Path::to_path_buf)
            .unwrap_or_else(|| Self::default_key_path(db));
        let mut ledger = Self::open_with(db, false)?;
        let pkcs8 = read_private(&key_path)?;
        let signer = Signer::from_pkcs8(&ledger.verifier.name, &pkcs8)
            .map_err(|_| LedgerError::BadKey(key_path.clone()))?;
        if signer.verifier() != ledger.verifier {
            return Err(LedgerError::WrongKey {
                path: key_path,
                expected: ledger.verifier.encode(),
            });
        }
        ledger.signer = Some(signer);
        Ok(ledger)
    }

    /// Opens an existing ledger read-only (show, verify, export); no key needed.
    pub fn open_readonly(db: &Path) -> Result<Ledger, LedgerError> {
        Self::open_with(db, true)
    }

    /// Opens the database: read-only connections use `SQLITE_OPEN_READ_ONLY`, so read permission
    /// on the file is enough (the ledger uses the rollback journal, see [`use_rollback_journal`]);
    /// a connection for writing first checks that the file and its folder are writable, and
    /// converts a write-ahead-log ledger from an older rootkey to the rollback journal.
    fn open_with(db: &Path, readonly: bool) -> Result<Ledger, LedgerError> {
        let meta = std::fs::metadata(db).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LedgerError::NotFound(db.to_path_buf()),
            std::io::ErrorKind::PermissionDenied => LedgerError::NoReadAccess {
                path: db.to_path_buf(),
                why: format!("a folder on its path cannot be searched ({e})"),
            },
            _ => LedgerError::Io {
                path: db.to_path_buf(),
                source: e,
            },
        })?;
        if !meta.is_file() {
            return Err(LedgerError::NotALedger {
                path: db.to_path_buf(),
                why: "not a regular file".into(),
            });
        }
        // Check access ourselves: SQLite reports a missing permission only vaguely ("unable to
        // open database file", or worse). access(2), not open(2): closing a descriptor of the
        // file would drop the POSIX locks SQLite holds on it in this process.
        if let Err(e) = access(db, libc::R_OK) {
            return Err(LedgerError::NoReadAccess {
                path: db.to_path_buf(),
                why: format!("the file is not readable ({e})"),
            });
        }
        let writable = write_access(db);
        if let (false, Err(why)) = (readonly, &writable) {
            return Err(LedgerError::NoWriteAccess {
                path: db.to_path_buf(),
                why: why.clone(),
            });
        }
        // A journal left by a process killed mid-append is "hot": the next reader must roll it
        // back, and a SQLITE_OPEN_READ_ONLY connection cannot. Whoever may write opens such a
        // ledger read-write but `query_only`, so that SQLite recovers it and nothing else is
        // written; an auditor without write access gets a clear error instead.
        let journal = journal_path(db);
        let recover = readonly && writable.is_ok() && journal.exists();
        let flags = if readonly && !recover {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let not_ledger = |e: rusqlite::Error, why: String| {
            // What only write access could fix is said so, instead of "not a ledger".
            if readonly && writable.is_err() {
                if journal.exists() {
                    return LedgerError::Interrupted {
                        path: db.to_path_buf(),
                        why: e.to_string(),
                    };
                }
                if is_wal_file(db) {
                    return LedgerError::WalNeedsWrite {
                        path: db.to_path_buf(),
                        why: e.to_string(),
                    };
                }
            }
            LedgerError::NotALedger {
                path: db.to_path_buf(),
                why,
            }
        };
        let conn = Connection::open_with_flags(db, flags).map_err(|e| {
            let why = e.to_string();
            not_ledger(e, why)
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if recover {
            conn.pragma_update(None, "query_only", true)?;
        }
        // Nothing is written before the file is known to be a ledger of a version we know.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| {
                let why = e.to_string();
                not_ledger(e, why)
            })?;
        if version > SCHEMA_VERSION {
            return Err(LedgerError::NewerSchema {
                path: db.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let get = |k: &str| -> Result<Option<String>, LedgerError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(|e| {
                    let why = format!("no ledger metadata ({e})");
                    not_ledger(e, why)
                })
        };
        if version < 1 || get("format")?.as_deref() != Some(FORMAT) {
            return Err(LedgerError::NotALedger {
                path: db.to_path_buf(),
                why: "no rootkey ledger metadata".into(),
            });
        }
        migrate(&conn, version)?;
        let vkey = get("vkey")?.ok_or_else(|| LedgerError::NotALedger {
            path: db.to_path_buf(),
            why: "verifier key missing".into(),
        })?;
        let verifier = VerifierKey::parse(&vkey)
            .map_err(|e| LedgerError::Corrupt(format!("stored verifier key: {e}")))?;
        if !readonly {
            use_rollback_journal(&conn)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        Ok(Ledger {
            conn,
            path: db.to_path_buf(),
            verifier,
            signer: None,
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's origin (the checkpoint's first line and the key name).
    pub fn origin(&self) -> &str {
        &self.verifier.name
    }

    /// The verifier key stored at init (give its `encode()` to auditors).
    pub fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The latest signed checkpoint, as stored.
    pub fn latest_checkpoint(&self) -> Result<Checkpoint, LedgerError> {
        let note: String =
            self.conn
                .query_row("SELECT checkpoint FROM tree WHERE id = 1", [], |r| r.get(0))?;
        Ok(Checkpoint::open(&note, &self.verifier)?)
    }

    /// A read transaction: everything read until it is dropped comes from one state of the
    /// file (appends by other processes wait for it, up to the busy timeout).
    pub(crate) fn read_snapshot(&self) -> Result<rusqlite::Transaction<'_>, LedgerError> {
        Ok(self.conn.unchecked_transaction()?)
    }

    /// The stored frontier (compact range) bytes, unchecked: verify compares them with the
    /// entries.
    pub(crate) fn stored_frontier(&self) -> Result<Vec<u8>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT frontier FROM tree WHERE id = 1", [], |r| r.get(0))?)
    }

    /// The latest stored checkpoint note without checking it (verify reports on it itself).
    pub(crate) fn stored_checkpoint_note(&self) -> Result<String, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT checkpoint FROM tree WHERE id = 1", [], |r| r.get(0))?)
    }

    /// Durably writes the entry and a new signed checkpoint in one transaction, after checking
    /// that the stored tree state is the one the last checkpoint signed (so the signing key
    /// never signs over a history someone changed in the database) and that the event's time
    /// does not run backwards. Nothing is written when anything fails.
    ///
    /// This is the storage primitive: it does not judge custody rules or approvals. rootkey's
    /// commands append through `custody::Station`, which verifies the whole ledger and the
    /// event's approvals first.
    pub fn append(
        &mut self,
        event: &UnsignedEvent,
        approvals: Vec<Approval>,
    ) -> Result<Receipt, LedgerError> {
        self.append_at(None, event, approvals)
    }

    /// [`Ledger::append`], but only if the ledger still holds `expected_len` entries when the
    /// write lock is taken: flows check their custody rules against a snapshot, then wait for
    /// people to touch keys; if someone else appended meanwhile, those checks are stale and
    /// nothing is written ([`LedgerError::Moved`]). `None` appends unconditionally.
    pub fn append_at(
        &mut self,
        expected_len: Option<u64>,
        event: &UnsignedEvent,
        approvals: Vec<Approval>,
    ) -> Result<Receipt, LedgerError> {
        let leaf = std::cell::Cell::new([0u8; 32]);
        let b = self
            .append_inner(
                expected_len,
                std::iter::once((event.clone(), approvals)),
                &|h| leaf.set(*h),
            )?
            .ok_or_else(|| LedgerError::Corrupt("append produced no checkpoint".into()))?;
        Ok(Receipt {
            seq: b.first_seq,
            leaf_hash: leaf.get(),
            checkpoint: b.checkpoint,
        })
    }

    /// Appends many events in one transaction with one checkpoint at the end (bulk import).
    /// All are verified; if any fails, none is written.
    /// Returns `None` when `events` was empty (nothing written, no new checkpoint).
    pub fn append_batch<I>(&mut self, events: I) -> Result<Option<BatchReceipt>, LedgerError>
    where
        I: IntoIterator<Item = (UnsignedEvent, Vec<Approval>)>,
    {
        self.append_inner(None, events, &|_| {})
    }

    /// [`Ledger::append_batch`] with the precondition of [`Ledger::append_at`].
    pub fn append_batch_at<I>(
        &mut self,
        expected_len: u64,
        events: I,
    ) -> Result<Option<BatchReceipt>, LedgerError>
    where
        I: IntoIterator<Item = (UnsignedEvent, Vec<Approval>)>,
    {
        self.append_inner(Some(expected_len), events, &|_| {})
    }

    fn append_inner<I>(
        &mut self,
        expected_len: Option<u64>,
        events: I,
        on_leaf: &dyn Fn(&Hash),
    ) -> Result<Option<BatchReceipt>, LedgerError>
    where
        I: IntoIterator<Item = (UnsignedEvent, Vec<Approval>)>,
    {
        let signer = self.signer.as_ref().ok_or(LedgerError::ReadOnly)?;
        // IMMEDIATE takes the write lock up front, so concurrent appenders queue (busy_timeout)
        // instead of failing on lock upgrade, and each sees the other's entry.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let frontier: Vec<u8> =
            tx.query_row("SELECT frontier FROM tree WHERE id = 1", [], |r| r.get(0))?;
        let mut cr =
            CompactRange::from_bytes(&frontier).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let first_seq = cr.size();
        if let Some(expected) = expected_len.filter(|&e| e != first_seq) {
            return Err(LedgerError::Moved {
                expected,
                found: first_seq,
            });
        }
        check_tree_state(&tx, &self.verifier, &cr)?;
        let mut last_time = last_entry_time(&tx, first_seq)?;
        let now = time::OffsetDateTime::now_utc();
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO entries (seq, event_id, kind, leaf_hash, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (event, approvals) in events {
                let seq = cr.size();
                let t = super::entry_time(seq, &event.event().time)?;
                super::check_time_order(seq, t, last_time, now).map_err(LedgerError::Time)?;
                last_time = Some(t);
                let entry = Entry::build(seq, &event, approvals)?;
                let leaf = entry.leaf_hash();
                let seq_i = i64::try_from(seq)
                    .map_err(|_| LedgerError::Corrupt("sequence overflow".into()))?;
                insert
                    .execute(params![
                        seq_i,
                        hex::encode(entry.event.id),
                        entry.event.kind,
                        &leaf[..],
                        entry.bytes
                    ])
                    .map_err(|e| match e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            LedgerError::Replay(hex::encode(entry.event.id))
                        }
                        e => e.into(),
                    })?;
                cr.push(leaf);
                on_leaf(&leaf);
            }
        }
        if cr.size() == first_seq {
            return Ok(None);
        }
        let cp = signer.sign(cr.size(), &cr.root());
        tx.execute(
            "UPDATE tree SET frontier = ?1, checkpoint = ?2 WHERE id = 1",
            params![cr.to_bytes(), cp.note],
        )?;
        tx.commit()?;
        Ok(Some(BatchReceipt {
            first_seq,
            count: cr.size() - first_seq,
            checkpoint: cp,
        }))
    }

    /// Number of entries stored.
    pub fn len(&self) -> Result<u64, LedgerError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Whether the ledger has no entries.
    pub fn is_empty(&self) -> Result<bool, LedgerError> {
        Ok(self.len()? == 0)
    }

    /// Calls `f` with each stored row `(seq, stored leaf hash, bytes)` from `since`, in order,
    /// without decoding (verify decodes and reports itself). Memory stays flat.
    pub fn for_each_raw<F>(&self, since: u64, mut f: F) -> Result<(), LedgerError>
    where
        F: FnMut(RawEntry<'_>) -> Result<bool, LedgerError>,
    {
        let mut stmt = self.conn.prepare(
            "SELECT seq, leaf_hash, bytes, event_id, kind FROM entries WHERE seq >= ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([i64::try_from(since).unwrap_or(i64::MAX)])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let raw = RawEntry {
                seq: seq as u64,
                leaf_hash: row.get_ref(1)?.as_blob()?,
                bytes: row.get_ref(2)?.as_blob()?,
                event_id: column_text(row.get_ref(3)?),
                kind: column_text(row.get_ref(4)?),
            };
            if !f(raw)? {
                break;
            }
        }
        Ok(())
    }

    /// Decoded entries from `since` on, in order.
    pub fn entries(&self, since: u64) -> Result<Vec<Entry>, LedgerError> {
        let mut out = Vec::new();
        self.for_each_raw(since, |raw| {
            let e = Entry::decode(raw.bytes)
                .map_err(|e| LedgerError::Corrupt(format!("entry {}: {e}", raw.seq)))?;
            out.push(e);
            Ok(true)
        })?;
        Ok(out)
    }

    /// MTH over the stored leaf hashes `[start, end)`.
    pub(crate) fn range_hash(&self, start: u64, end: u64) -> Result<Hash, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT leaf_hash FROM entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![start as i64, end as i64])?;
        let mut cr = CompactRange::new();
        while let Some(row) = rows.next()? {
            let h: Hash = row
                .get_ref(0)?
                .as_blob()?
                .try_into()
                .map_err(|_| LedgerError::Corrupt("stored leaf hash is not 32 bytes".into()))?;
            cr.push(h);
        }
        if cr.size() != end - start {
            return Err(LedgerError::Corrupt(format!(
                "entries {start}..{end} are not all present"
            )));
        }
        Ok(cr.root())
    }

    /// Inclusion proof of entry `seq` in the tree of the latest checkpoint.
    pub fn inclusion_proof(&self, seq: u64) -> Result<InclusionProof, LedgerError> {
        let checkpoint = self.latest_checkpoint()?;
        let proof = tree::inclusion_ranges(seq, checkpoint.size)?
            .into_iter()
            .map(|(a, b)| self.range_hash(a, b))
            .collect::<Result<Vec<_>, _>>()?;
        let leaf_hash = self.range_hash(seq, seq + 1)?;
        Ok(InclusionProof {
            seq,
            leaf_hash,
            proof,
            checkpoint,
        })
    }

    /// Consistency proof from the tree of `old_size` entries to the tree of `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        tree::consistency_ranges(old_size, new_size)?
            .into_iter()
            .map(|(a, b)| self.range_hash(a, b))
            .collect()
    }
}

/// A ledger being rebuilt from published entries (`ledger restore`): a new database holding the
/// original verifier key, filled in order, finished only with a checkpoint signed by that key
/// whose size and root are those of the entries written. It has no signing key.
#[derive(Debug)]
pub struct Restorer {
    conn: Connection,
    path: PathBuf,
    verifier: VerifierKey,
    tree: CompactRange,
}

impl Restorer {
    /// Creates the database at `db` (refusing an existing file) for a ledger with `verifier`.
    pub fn create(db: &Path, verifier: &VerifierKey) -> Result<Restorer, LedgerError> {
        create_private(db, &[])?;
        let made = (|| {
            let conn = Connection::open_with_flags(
                db,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            use_rollback_journal(&conn)?;
            conn.execute_batch(SCHEMA_V1)?;
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let vkey = verifier.encode();
            for (k, v) in [
                ("format", FORMAT),
                ("origin", verifier.name.as_str()),
                ("vkey", vkey.as_str()),
            ] {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            Ok::<_, LedgerError>(conn)
        })();
        match made {
            Ok(conn) => Ok(Restorer {
                conn,
                path: db.to_path_buf(),
                verifier: verifier.clone(),
                tree: CompactRange::new(),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(db);
                Err(e)
            }
        }
    }

    /// Writes the next entry (its exact bytes); it must decode and carry the next sequence number.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), LedgerError> {
        let seq = self.tree.size();
        let entry =
            Entry::decode(bytes).map_err(|e| LedgerError::Corrupt(format!("entry {seq}: {e}")))?;
        if entry.seq != seq {
            return Err(LedgerError::Corrupt(format!(
                "entry {seq}: its bytes say it is entry {}",
                entry.seq
            )));
        }
        let leaf = tree::leaf_hash(bytes);
        let seq_i =
            i64::try_from(seq).map_err(|_| LedgerError::Corrupt("sequence overflow".into()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO entries (seq, event_id, kind, leaf_hash, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq_i,
                hex::encode(entry.event.id),
                entry.event.kind,
                &leaf[..],
                bytes
            ])?;
        self.tree.push(leaf);
        Ok(())
    }

    /// Stores `note` as the ledger's checkpoint if it is signed by the ledger's key and commits
    /// to exactly the entries written; commits the database. On error the file is removed.
    pub fn finish(self, note: &str) -> Result<(), LedgerError> {
        let result = (|| {
            let cp = Checkpoint::open(note, &self.verifier)?;
            if cp.size != self.tree.size() || cp.root != self.tree.root() {
                return Err(LedgerError::TreeState(format!(
                    "the checkpoint of size {} does not commit to the {} entries restored",
                    cp.size,
                    self.tree.size()
                )));
            }
            self.conn.execute(
                "INSERT INTO tree (id, frontier, checkpoint) VALUES (1, ?1, ?2)",
                params![self.tree.to_bytes(), note],
            )?;
            self.conn
                .pragma_update(None, "user_version", SCHEMA_VERSION)?;
            self.conn.execute_batch("COMMIT")?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.path);
        }
        result
    }

    /// Abandons the restore and removes the file.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Brings a database at `from` up to [`SCHEMA_VERSION`]; each future version adds one step.
fn migrate(_conn: &Connection, from: i64) -> Result<(), LedgerError> {
    match from {
        SCHEMA_VERSION => Ok(()),
        other => Err(LedgerError::Corrupt(format!(
            "no migration from schema version {other}"
        ))),
    }
}

/// Refuses to build on a stored tree state that is not the one the last checkpoint signed: the
/// frontier must have the checkpoint's size and root, and the table exactly that many entries.
/// Someone without the signing key who edits entries *and* the frontier is stopped here, before
/// the key signs over their history.
fn check_tree_state(
    conn: &Connection,
    verifier: &VerifierKey,
    frontier: &CompactRange,
) -> Result<(), LedgerError> {
    let bad = |why: String| {
        LedgerError::TreeState(format!(
            "{why}; nothing was written: run `rootkey ledger verify` and restore the ledger from a good copy"
        ))
    };
    let note: String =
        conn.query_row("SELECT checkpoint FROM tree WHERE id = 1", [], |r| r.get(0))?;
    let cp = Checkpoint::open(&note, verifier)
        .map_err(|e| bad(format!("the stored checkpoint does not verify ({e})")))?;
    if cp.size != frontier.size() || cp.root != frontier.root() {
        return Err(bad(format!(
            "the stored tree state (size {}) is not the tree the last signed checkpoint (size {}) commits to",
            frontier.size(),
            cp.size
        )));
    }
    let (count, max): (i64, Option<i64>) =
        conn.query_row("SELECT COUNT(*), MAX(seq) FROM entries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let size = i64::try_from(cp.size).unwrap_or(i64::MAX);
    if count != size || max.unwrap_or(-1) != size - 1 {
        return Err(bad(format!(
            "the table holds {count} entries but the signed checkpoint covers {size}"
        )));
    }
    Ok(())
}

/// The time of the last entry (before `len`), if any.
fn last_entry_time(
    conn: &Connection,
    len: u64,
) -> Result<Option<time::OffsetDateTime>, LedgerError> {
    let Some(last) = len.checked_sub(1) else {
        return Ok(None);
    };
    let bytes: Vec<u8> = conn.query_row(
        "SELECT bytes FROM entries WHERE seq = ?1",
        [i64::try_from(last).unwrap_or(i64::MAX)],
        |r| r.get(0),
    )?;
    let e =
        Entry::decode(&bytes).map_err(|e| LedgerError::Corrupt(format!("entry {last}: {e}")))?;
    super::entry_time(last, &e.event.time).map(Some)
}

/// Puts the database in SQLite's rollback-journal mode (`journal_mode=DELETE`), converting a
/// write-ahead-log ledger written by an older rootkey. A rollback-journal database can be read
/// with read permission on the file alone; a WAL one needs write access to the file and its
/// folder even to be read, which an auditor should not need.
fn use_rollback_journal(conn: &Connection) -> Result<(), LedgerError> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("delete") {
        return Ok(());
    }
    // Leaving WAL needs the only connection to the file. When another process has it open,
    // SQLite keeps WAL (returning the old mode, or SQLITE_BUSY): still correct for appends, and
    // the next open for writing converts it.
    match conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0)) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// `access(2)` with the effective ids, without opening the file.
fn access(path: &Path, mode: libc::c_int) -> Result<(), std::io::Error> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether this process may write `db` and create its journal beside it; else why not.
fn write_access(db: &Path) -> Result<(), String> {
    access(db, libc::W_OK).map_err(|e| format!("the file is not writable ({e})"))?;
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    access(dir, libc::W_OK | libc::X_OK)
        .map_err(|e| format!("its folder {} is not writable ({e})", dir.display()))
}

/// SQLite's rollback journal beside `db`.
fn journal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-journal");
    PathBuf::from(p)
}

/// Whether `db`'s header marks it as a write-ahead-log database (file format bytes 18 and 19).
fn is_wal_file(db: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(db)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| {
            header.starts_with(b"SQLite format 3\0") && (header[18] == 2 || header[19] == 2)
        })
}

fn create_private(path: &Path, contents: &[u8]) -> Result<(), LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => LedgerError::Exists(path.to_path_buf()),
            _ => io(e),
        })?;
    f.write_all(contents).map_err(io)?;
    f.sync_all().map_err(io)
}

fn read_private(path: &Path) -> Result<Vec<u8>, LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(LedgerError::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::fs::read(path).map_err(io)
}
