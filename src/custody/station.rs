//! The custody ledger as rootkey's commands use it: verified in full before anything is read
//! from it or appended to it, and appended to only through the custody fold.

use std::path::Path;

use time::OffsetDateTime;

use super::dual_control::Requirement;
use super::state::{CustodyState, StateError};
use crate::ledger::anchor::{self, Published};
use crate::ledger::{
    self, Approval, BatchReceipt, Entry, Failure, Ledger, LedgerError, UnsignedEvent, VerifierKey,
    VerifyOptions, VerifyReport,
};

/// Why a station could not be opened or could not append.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StationError {
    /// The database or its key could not be used.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The ledger failed verification: nothing is appended to it, nothing read from it trusted.
    #[error("the ledger failed verification ({0}), so rootkey neither appends to it nor trusts what it says; run `rootkey ledger verify` for details and restore a good copy")]
    Broken(Failure),
    /// The event (with its approvals) breaks a custody rule.
    #[error("refused, nothing written: {0}")]
    Refused(#[from] StateError),
}

/// What verifying a whole ledger established: the integrity report, and the custody state
/// folded from every entry that passed (all of them when the report is ok).
#[derive(Debug, Clone)]
pub struct Verified {
    /// Integrity, time order, custody rules: the first failure, if any.
    pub report: VerifyReport,
    /// The custody state up to the first failure.
    pub state: CustodyState,
}

/// Verifies `ledger` entirely: bytes, tree, signed checkpoint, tree state, entry times, and
/// every entry through the custody fold (approvals verified, rules applied). This is what
/// `ledger verify`, the audit and every command that appends run, so none is weaker than another.
pub fn verify_ledger(ledger: &Ledger, opts: &VerifyOptions) -> Result<Verified, LedgerError> {
    let mut state = CustodyState::default();
    let report = ledger.verify_with(opts, &mut |entry: &Entry, time: OffsetDateTime| {
        state.apply_entry(entry, time).map_err(|e| e.to_string())
    })?;
    Ok(Verified { report, state })
}

/// Verifies `ledger` entirely (as [`verify_ledger`]) and against its published anchor: the ledger
/// must extend the newest published checkpoint (consistency proof) and hold every published
/// entry byte for byte; the first disagreement names the entry and the published checkpoint.
/// `vkey`: the key from the auditor's records, which the anchor's key must equal.
pub fn verify_anchored(
    ledger: &Ledger,
    published: &Published,
    vkey: Option<&VerifierKey>,
) -> Result<Verified, LedgerError> {
    let key = vkey.or(published.vkey()).cloned();
    let opts = VerifyOptions {
        since_checkpoint: published.newest().map(|c| c.checkpoint().note.clone()),
        vkey: key,
    };
    let mut verified = verify_ledger(ledger, &opts)?;
    // A published key other than the trusted one never reaches here: reading the anchor with a
    // trusted key refuses it. The byte comparison names the entry a consistency proof cannot.
    if let Some(f) = anchor::compare_local(ledger, published)? {
        verified.report.ok = false;
        verified.report.failure = Some(f);
    }
    Ok(verified)
}

/// What runs after every successful append (set once per process by the command line from
/// `[ledger.anchor]`): publishing to the anchor. It reports its own failures; it never undoes
/// or fails the append.
pub type AfterAppend = Box<dyn Fn(&Ledger) + Send + Sync>;

static AFTER_APPEND: std::sync::OnceLock<AfterAppend> = std::sync::OnceLock::new();

/// Installs the after-append hook; a second call is ignored (one configuration per process).
pub fn set_after_append(hook: AfterAppend) {
    let _ = AFTER_APPEND.set(hook);
}

/// An open, verified ledger and its custody state.
#[derive(Debug)]
pub struct Station {
    ledger: Ledger,
    state: CustodyState,
    len: u64,
}

impl Station {
    /// Opens the ledger for appending (with its signing key: the default path beside the
    /// database unless `key` is given) and verifies all of it; a broken ledger is refused.
    pub fn open(db: &Path, key: Option<&Path>) -> Result<Station, StationError> {
        Self::verified(Ledger::open(db, key)?)
    }

    /// Opens the ledger read-only (no key needed) and verifies all of it; a broken ledger is
    /// refused.
    pub fn open_readonly(db: &Path) -> Result<Station, StationError> {
        Self::verified(Ledger::open_readonly(db)?)
    }

    fn verified(ledger: Ledger) -> Result<Station, StationError> {
        let v = verify_ledger(&ledger, &VerifyOptions::default())?;
        if let Some(f) = v.report.failure {
            return Err(StationError::Broken(f));
        }
        Ok(Station {
            len: v.report.entries,
            state: v.state,
            ledger,
        })
    }

    /// The custody state of every entry.
    pub fn state(&self) -> &CustodyState {
        &self.state
    }

    /// Number of entries (the sequence number the next append gets).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the ledger has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The underlying ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Checks events that would be appended next against every custody rule except their
    /// approvals; returns who must approve each. Flows ask before anyone touches a key.
    pub fn check(&self, events: &[&UnsignedEvent]) -> Result<Vec<Requirement>, StateError> {
        self.state.check(self.len, events)
    }

    /// Appends events with their approvals in one transaction: each approval is verified and
    /// each event folded onto the state first, and the write happens only if nobody appended
    /// since the state was folded. If someone did, the station verifies the ledger again and
    /// judges the events against the new state (approvals sign the event, not its position, so
    /// they stay valid); a few rounds of that, then [`LedgerError::Moved`].
    pub fn append(
        &mut self,
        batch: Vec<(UnsignedEvent, Vec<Approval>)>,
    ) -> Result<BatchReceipt, StationError> {
        const ROUNDS: usize = 4;
        for _ in 1..ROUNDS {
            match self.try_append(batch.clone()) {
                Err(StationError::Ledger(LedgerError::Moved { .. })) => self.refresh()?,
                other => return other,
            }
        }
        self.try_append(batch)
    }

    /// Verifies the ledger again (someone else appended) and takes its state.
    fn refresh(&mut self) -> Result<(), StationError> {
        let v = verify_ledger(&self.ledger, &VerifyOptions::default())?;
        if let Some(f) = v.report.failure {
            return Err(StationError::Broken(f));
        }
        self.len = v.report.entries;
        self.state = v.state;
        Ok(())
    }

    fn try_append(
        &mut self,
        batch: Vec<(UnsignedEvent, Vec<Approval>)>,
    ) -> Result<BatchReceipt, StationError> {
        let mut next = self.state.clone();
        for (i, (event, approvals)) in batch.iter().enumerate() {
            let seq = self.len + i as u64;
            let entry = Entry::build(seq, event, approvals.clone()).map_err(LedgerError::from)?;
            let time = ledger::entry_time(seq, &event.event().time)?;
            next.apply_entry(&entry, time)?;
        }
        let receipt = self
            .ledger
            .append_batch_at(self.len, batch)?
            .ok_or_else(|| LedgerError::Corrupt("nothing to append".into()))?;
        self.state = next;
        self.len += receipt.count;
        if let Some(hook) = AFTER_APPEND.get() {
            hook(&self.ledger);
        }
        Ok(receipt)
    }

    /// [`Station::append`] of one event.
    pub fn append_one(
        &mut self,
        event: UnsignedEvent,
        approvals: Vec<Approval>,
    ) -> Result<BatchReceipt, StationError> {
        self.append(vec![(event, approvals)])
    }
}
