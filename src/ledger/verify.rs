//! Full verification: every leaf, entry times, the tree, the stored tree state, the signed
//! checkpoint, and optionally that the ledger extends a checkpoint an auditor saved earlier.
//! What entries mean (custody rules, approvals) is judged by the caller's check, which sees
//! every entry in order: `custody::verify_ledger` passes the custody fold.

use std::collections::HashSet;

use serde::Serialize;
use time::OffsetDateTime;

use super::checkpoint::{Checkpoint, VerifierKey};
use super::event::Entry;
use super::store::Ledger;
use super::tree::{self, CompactRange, Hash};
use super::LedgerError;

/// What verification without an anchor means, for people: said by `ledger verify` and by the
/// audit's `LEDGER-UNANCHORED` finding.
pub const UNANCHORED: &str = "ledger verified only against the key stored in its own database, \
     so a wholly replaced database would pass too: pass --since-checkpoint (a checkpoint you \
     saved earlier) or at least --vkey (the verifier key from your records)";

/// What verification with only the verifier key as anchor cannot exclude: said by `ledger
/// verify` and by the audit's `LEDGER-ANCHOR-KEY-ONLY` finding.
pub const KEY_ONLY: &str = "ledger verified against your verifier key only: whoever holds the \
     signing key could have dropped, reordered or rewritten entries and signed the result; save \
     a checkpoint now (`rootkey ledger checkpoint --out FILE`, kept where the key holder cannot \
     change it) and verify with --since-checkpoint FILE from then on";

/// What anchored a verification: something from outside the database, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// Only the key stored in the database: a replaced database passes too.
    None,
    /// The verifier key from the auditor's records: rules out a replaced key, not a history
    /// the key holder rewrote and re-signed.
    VerifierKey,
    /// A checkpoint the auditor saved earlier, proven extended: rules out rewrites and rollbacks
    /// of everything up to it.
    SavedCheckpoint,
}

/// What to check beyond the ledger itself.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// A signed checkpoint saved earlier: the ledger must extend it.
    pub since_checkpoint: Option<String>,
    /// The verifier key the auditor trusts; default: the one stored in the database.
    pub vkey: Option<VerifierKey>,
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The entry at fault, when one entry is.
    pub seq: Option<u64>,
    /// What is wrong, for people.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(s) => write!(f, "entry {s}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Outcome of [`Ledger::verify_with`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Whether everything checked out.
    pub ok: bool,
    /// Entries read.
    pub entries: u64,
    /// Approvals whose signatures were verified.
    pub approvals_verified: u64,
    /// Recomputed root hash (hex).
    pub root: String,
    /// Size of the stored signed checkpoint, when it could be read.
    pub checkpoint_size: Option<u64>,
    /// Size of the saved checkpoint proven to be extended, when one was given and held.
    pub extends_saved_size: Option<u64>,
    /// The verifier key used.
    pub vkey: String,
    /// What anchored the check from outside the database (see [`Anchor`]).
    pub anchor: Anchor,
    /// The first problem, when not ok.
    pub failure: Option<Failure>,
}

/// The caller's judgement of one entry, in ledger order: `Err(reason)` fails verification at
/// that entry. Entry times are already parsed and known to run forward.
pub type EntryCheck<'c> = dyn FnMut(&Entry, OffsetDateTime) -> Result<(), String> + 'c;

impl Ledger {
    /// Recomputes and checks everything, passing each entry to `check`; a problem is reported in
    /// the result, not as `Err` (`Err` means the check itself could not run, e.g. an unreadable
    /// database). Integrity only with a check that accepts everything: rootkey's commands verify
    /// through `custody::verify_ledger`, which also runs the custody rules.
    pub fn verify_with(
        &self,
        opts: &VerifyOptions,
        check: &mut EntryCheck<'_>,
    ) -> Result<VerifyReport, LedgerError> {
        // One read transaction: the checkpoint, the entries and the frontier are read from the
        // same state of the file, however many appends other processes make meanwhile.
        let _snapshot = self.read_snapshot()?;
        let key = opts
            .vkey
            .clone()
            .unwrap_or_else(|| self.verifier_key().clone());
        let mut report = VerifyReport {
            ok: false,
            entries: 0,
            approvals_verified: 0,
            root: String::new(),
            checkpoint_size: None,
            extends_saved_size: None,
            vkey: key.encode(),
            anchor: if opts.since_checkpoint.is_some() {
                Anchor::SavedCheckpoint
            } else if opts.vkey.is_some() {
                Anchor::VerifierKey
            } else {
                Anchor::None
            },
            failure: None,
        };
        let fail = |mut r: VerifyReport, seq: Option<u64>, reason: String| {
            r.failure = Some(Failure { seq, reason });
            Ok(r)
        };
        if &key != self.verifier_key() {
            return fail(
                report,
                None,
                format!(
                    "the database's verifier key {} is not the trusted key: the checkpoint \
                     key was replaced",
                    self.verifier_key().encode()
                ),
            );
        }
        let stored = match Checkpoint::open(&self.stored_checkpoint_note()?, &key) {
            Ok(cp) => cp,
            Err(e) => return fail(report, None, format!("stored checkpoint: {e}")),
        };
        report.checkpoint_size = Some(stored.size);

        let mut cr = CompactRange::new();
        let mut approved_ids: HashSet<[u8; 16]> = HashSet::new();
        let mut problem: Option<Failure> = None;
        let mut approvals = 0u64;
        let mut last_time: Option<OffsetDateTime> = None;
        let now = OffsetDateTime::now_utc();
        self.for_each_raw(0, |raw| {
            let (seq, stored_leaf, bytes) = (raw.seq, raw.leaf_hash, raw.bytes);
            let mut bad = |reason: String| {
                problem = Some(Failure {
                    seq: Some(cr.size().min(seq)),
                    reason,
                });
                Ok(false)
            };
            let expected = cr.size();
            if seq != expected {
                return bad(format!(
                    "entry is missing (the next stored entry is {seq}): entries were deleted"
                ));
            }
            let entry = match Entry::decode(bytes) {
                Ok(e) => e,
                Err(e) => return bad(format!("cannot be decoded: {e}")),
            };
            if !entry.is_canonical() {
                return bad(format!("{}", super::EncodingError::NotCanonical));
            }
            if entry.seq != seq {
                return bad(format!(
                    "its bytes say it is entry {}: entries were moved or swapped",
                    entry.seq
                ));
            }
            // The append path selects custodian entries by the `kind` column, so a column that
            // disagrees with the signed bytes could hide a custodian change from it.
            if let Some(reason) = column_mismatch(&raw.event_id, &raw.kind, &entry) {
                return bad(reason);
            }
            if !entry.approvals.is_empty() && !approved_ids.insert(entry.event.id) {
                return bad(format!(
                    "event {} with its approvals already appears earlier: replayed",
                    hex::encode(entry.event.id)
                ));
            }
            let leaf = entry.leaf_hash();
            if stored_leaf != leaf {
                return bad(
                    "bytes do not match the stored leaf hash: the entry was changed".into(),
                );
            }
            let t = match super::entry_time(seq, &entry.event.time) {
                Ok(t) => t,
                Err(e) => return bad(e.to_string()),
            };
            if let Err(reason) = super::check_time_order(seq, t, last_time, now) {
                return bad(reason);
            }
            last_time = Some(t);
            if let Err(reason) = check(&entry, t) {
                return bad(reason);
            }
            approvals += entry.approvals.len() as u64;
            cr.push(leaf);
            Ok(true)
        })?;
        report.entries = cr.size();
        report.approvals_verified = approvals;
        let root = cr.root();
        report.root = hex::encode(root);
        if let Some(p) = problem {
            report.failure = Some(p);
            return Ok(report);
        }
        let n = cr.size();
        if n < stored.size {
            return fail(
                report,
                None,
                format!(
                    "the ledger has {n} entries but its signed checkpoint covers {}: entries were \
                     removed from the end",
                    stored.size
                ),
            );
        }
        if n > stored.size {
            return fail(
                report,
                Some(stored.size),
                format!(
                    "entries {}..{} are not covered by the signed checkpoint (size {})",
                    stored.size,
                    n - 1,
                    stored.size
                ),
            );
        }
        if root != stored.root {
            return fail(
                report,
                None,
                "the recomputed tree root does not match the signed checkpoint: entries were \
                 changed, removed or reordered"
                    .into(),
            );
        }
        // The frontier is what the next append builds on: it must be exactly this tree.
        if self.stored_frontier()? != cr.to_bytes() {
            return fail(
                report,
                None,
                "the stored tree state (frontier) is not the tree of the entries: it was edited, \
                 and the next append would have built on it"
                    .into(),
            );
        }
        if let Some(saved_note) = &opts.since_checkpoint {
            match self.check_extends(saved_note, &key, n, &root) {
                Ok(size) => report.extends_saved_size = Some(size),
                Err(reason) => return fail(report, None, reason),
            }
        }
        report.ok = true;
        Ok(report)
    }

    /// Proves with a consistency proof that the tree of `n` entries (root `root`) extends the
    /// saved checkpoint; the reason on failure.
    pub(crate) fn check_extends(
        &self,
        saved_note: &str,
        key: &VerifierKey,
        n: u64,
        root: &Hash,
    ) -> Result<u64, String> {
        let saved = Checkpoint::open(saved_note, key).map_err(|e| {
            format!("saved checkpoint is not a valid checkpoint of this ledger's key: {e}")
        })?;
        if saved.size > n {
            return Err(format!(
                "the ledger ({n} entries) is older than the saved checkpoint ({} entries): it \
                 was rolled back or replaced by an older copy",
                saved.size
            ));
        }
        // The stored leaf hashes were just checked against the recomputed ones, so a proof
        // built from them is a proof about the entries themselves.
        let proof = self
            .consistency_proof(saved.size, n)
            .map_err(|e| format!("cannot build the consistency proof: {e}"))?;
        tree::verify_consistency(saved.size, n, &saved.root, root, &proof).map_err(|_| {
            format!(
                "the ledger does not extend the saved checkpoint (size {}): its history was \
                 rewritten or it was replaced",
                saved.size
            )
        })?;
        Ok(saved.size)
    }
}

/// The first index column that disagrees with the entry's bytes, described for people.
fn column_mismatch(event_id: &str, kind: &str, entry: &Entry) -> Option<String> {
    let id = hex::encode(entry.event.id);
    if kind != entry.event.kind {
        return Some(format!(
            "column kind says '{kind}' but the entry is '{}'",
            entry.event.kind
        ));
    }
    if event_id != id {
        return Some(format!(
            "column event_id says '{event_id}' but the entry is '{id}'"
        ));
    }
    None
}
