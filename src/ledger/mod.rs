//! The custody ledger: an append-only SQLite log of canonical events, committed to by an
//! RFC 6962 Merkle tree whose head is signed after every append (C2SP checkpoint + signed note).
//!
//! Layout: [`canonical`] (RFC 8785 bytes), [`event`] (events, entries, approvals), [`tree`]
//! (hashing and proofs), [`checkpoint`] (signed notes), [`store`] (the database), [`verify`].
//! The format is specified for auditors in `docs/ledger-format.md`.
//!
//! The ledger knows bytes, trees, signatures and time order; it does not judge what an event
//! means or who may approve it. Those are custody rules, decided in one place: the custody
//! fold (`crate::custody`), which `ledger verify`, the audit and every appending command run.

pub mod anchor;
pub mod canonical;
pub mod checkpoint;
pub mod event;
pub mod store;
pub mod tree;
pub mod verify;

use std::path::PathBuf;

pub use checkpoint::{Checkpoint, CheckpointError, VerifierKey};
pub use event::{Approval, EncodingError, Entry, Event, UnsignedEvent};
pub use store::{BatchReceipt, InclusionProof, Ledger, Receipt, Restorer, SCHEMA_VERSION};
pub use tree::{Hash, ProofError};
pub use verify::{Anchor, Failure, VerifyOptions, VerifyReport};

/// How far an entry's time may run behind the one before it, or ahead of the clock of whoever
/// appends or verifies it: clocks of one ceremony station drift by seconds, not minutes.
pub const CLOCK_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// The time of entry `seq` as stored (RFC 3339).
pub fn entry_time(seq: u64, text: &str) -> Result<time::OffsetDateTime, LedgerError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
        |_| {
            LedgerError::Time(format!(
                "entry {seq} has time {text:?}, which is not an RFC 3339 time"
            ))
        },
    )
}

/// Checks that entry `seq` at `t` does not run backwards from the entry before it (`previous`)
/// nor lies in the future of `now`, beyond [`CLOCK_TOLERANCE`]; the reason otherwise.
pub fn check_time_order(
    seq: u64,
    t: time::OffsetDateTime,
    previous: Option<time::OffsetDateTime>,
    now: time::OffsetDateTime,
) -> Result<(), String> {
    if let Some(p) = previous.filter(|p| t < *p - CLOCK_TOLERANCE) {
        return Err(format!(
            "entry {seq} is dated {} but the entry before it {}: entry times run backwards (entries were back-dated, reordered or inserted)",
            fmt(t),
            fmt(p)
        ));
    }
    if t > now + CLOCK_TOLERANCE {
        return Err(format!(
            "entry {seq} is dated {}, in the future of this machine's clock ({}): check the clock, or the entry was forged",
            fmt(t),
            fmt(now)
        ));
    }
    Ok(())
}

fn fmt(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Why a ledger operation failed. Each variant says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "ledger database {0} does not exist; create it with `rootkey ledger init --origin NAME`"
    )]
    NotFound(PathBuf),
    #[error("{0} already exists; refusing to overwrite it (move it away or pick another path)")]
    Exists(PathBuf),
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a rootkey ledger: {why}")]
    NotALedger { path: PathBuf, why: String },
    #[error(
        "cannot read ledger database {path}: {why}; reading a ledger (ledger show, verify, \
         export, audit --no-record) needs read permission on the file and search (x) permission \
         on every folder above it"
    )]
    NoReadAccess { path: PathBuf, why: String },
    #[error(
        "cannot record in ledger database {path}: {why}; recording needs write permission on the \
         file and on its folder (SQLite writes a journal file beside it). Read-only commands \
         (ledger show, verify, export, audit --no-record) need only read access"
    )]
    NoWriteAccess { path: PathBuf, why: String },
    #[error(
        "cannot read ledger database {path}: it still uses SQLite's write-ahead log (a ledger \
         written by an older rootkey), which SQLite reads only with write access to the file and \
         its folder; its owner converts it to the rollback journal by running any command that \
         records in it (e.g. `rootkey ledger note`), after which read access is enough ({why})"
    )]
    WalNeedsWrite { path: PathBuf, why: String },
    #[error(
        "cannot read ledger database {path}: a write was interrupted (a process stopped \
         mid-append and left {path}-journal), and SQLite must roll it back before the ledger can \
         be read, which needs write access to the file and its folder; its owner recovers it by \
         running any rootkey command on it (e.g. `rootkey ledger verify`) ({why})"
    )]
    Interrupted { path: PathBuf, why: String },
    #[error(
        "{path} has ledger schema version {found}, newer than this binary supports ({supported}); \
         upgrade rootkey"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "signing key {path} is readable by group or others (mode {mode:04o}); \
         fix it with `chmod 600 {path}`"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("signing key {0} is not an Ed25519 PKCS#8 key written by `rootkey ledger init`")]
    BadKey(PathBuf),
    #[error(
        "signing key {path} does not belong to this ledger (its verifier key is {expected}); \
         pass the right file with --signing-key"
    )]
    WrongKey { path: PathBuf, expected: String },
    #[error(
        "the ledger changed while this command was running (it expected {expected} entries and \
         found {found}: someone else recorded something meanwhile); nothing was written, and the \
         custody checks must see the new state: run the command again"
    )]
    Moved { expected: u64, found: u64 },
    #[error("the ledger was opened read-only (no signing key); open it with its key to append")]
    ReadOnly,
    #[error("event {0} is already in the ledger (a replay); nothing written")]
    Replay(String),
    #[error("the ledger's tree state is not what its signature covers: {0}")]
    TreeState(String),
    #[error("{0}; nothing written")]
    Time(String),
    #[error("event cannot be encoded: {0}")]
    Encoding(EncodingError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("ledger database is damaged: {0}; run `rootkey ledger verify` for details")]
    Corrupt(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database column has the wrong type: {0}")]
    Column(rusqlite::types::FromSqlError),
}

impl From<EncodingError> for LedgerError {
    fn from(e: EncodingError) -> Self {
        LedgerError::Encoding(e)
    }
}
impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        LedgerError::Sqlite(e)
    }
}
impl From<rusqlite::types::FromSqlError> for LedgerError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        LedgerError::Column(e)
    }
}
