//! The quarterly audit as a flow: prove the ledger intact, fold the custody state, judge the AWS
//! evidence, build the report; then, once the report is written, record `audit.completed`.
//!
//! AWS facts come in as [`aws::Evidence`] (an evidence file or a live read by the caller, who
//! owns the progress display); everything else happens here so every front end (the CLI, the
//! demo) audits the same way.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::audit::{build_report, completed_event, AuditInput};
use super::events::EventError;
use super::state::{entry_time, fold_ledger, CustodyState};
use super::CustodyEvent;
use crate::aws::{self, Evidence, FindingConfig};
use crate::ledger::{Entry, Ledger, LedgerError, UnsignedEvent, VerifierKey, VerifyOptions};
use crate::report::{Anchor, AuditReport, Format, LedgerIntegrity, SavedCheckpoint};

/// Why an audit could not run or could not be recorded (a broken ledger is not one of these:
/// it is a FAIL verdict in the report).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The ledger could not be opened at all.
    #[error("cannot open the custody ledger: {0}")]
    Open(#[source] LedgerError),
    /// The report was written but appending `audit.completed` failed.
    #[error("the report was written but could not be recorded in the ledger: {0}; fix this and re-run the audit, or pass --no-record")]
    Record(#[source] LedgerError),
    /// The `audit.completed` body did not validate.
    #[error("the audit.completed event is invalid: {0}")]
    Event(#[from] EventError),
}

/// What to audit.
#[derive(Debug, Clone)]
pub struct AuditRequest<'a> {
    /// The ledger database.
    pub ledger: &'a Path,
    /// AWS facts: an evidence file's content or a live read.
    pub evidence: &'a Evidence,
    /// The `[aws]` configuration the evidence is judged with.
    pub finding_config: &'a FindingConfig,
    /// `accounts`, `organization` or `evidence:<file>`.
    pub scope: String,
    /// Restrict to these accounts; `None`: every account in the ledger or the evidence.
    pub accounts: Option<Vec<String>>,
    /// Start of the period; `None`: the end of the previous audit, else the ledger's start.
    pub since: Option<OffsetDateTime>,
    /// A checkpoint the auditor saved earlier (signed note text): the ledger must extend it.
    pub saved_checkpoint: Option<String>,
    /// The verifier key the auditor trusts (from their records): the ledger must be signed by
    /// it. Without it or a saved checkpoint the audit reports `LEDGER-UNANCHORED`.
    pub vkey: Option<VerifierKey>,
    /// End of the period.
    pub now: OffsetDateTime,
}

/// Whether `audit.completed` was appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Appended at this sequence number.
    Appended {
        /// Ledger sequence number of the entry.
        seq: u64,
    },
    /// The signing key could not be read (an auditor with read-only access): not recorded.
    NoSigningKey {
        /// Where the key was looked for.
        path: PathBuf,
        /// Why it could not be used.
        why: String,
    },
}

/// Verifies the ledger, folds it, judges the evidence and builds the report. Read-only.
pub fn prepare(req: &AuditRequest<'_>) -> Result<AuditReport, AuditError> {
    let ledger = Ledger::open_readonly(req.ledger).map_err(AuditError::Open)?;
    let (mut integrity, state) =
        examine(&ledger, req.saved_checkpoint.as_deref(), req.vkey.as_ref());
    let period_start = match req.since {
        Some(t) => t,
        None => match state.audits.iter().map(|a| a.period_end).max() {
            Some(t) => t,
            None => first_entry_time(&ledger, &mut integrity).unwrap_or(req.now),
        },
    };
    let judged = aws::evaluate(req.evidence, req.finding_config);
    Ok(build_report(AuditInput {
        state: &state,
        aws: &judged.accounts,
        accounts: req.accounts.as_deref(),
        integrity,
        generated_at: req.now,
        period_start: period_start.min(req.now),
        ledger_origin: ledger.origin().to_string(),
        scope: req.scope.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    }))
}

/// Proves the ledger intact (signed by `vkey` when given, and extending `saved`), and folds its
/// custody history. Any problem lands in the integrity section; the state is empty when the
/// history cannot be read.
fn examine(
    ledger: &Ledger,
    saved: Option<&str>,
    vkey: Option<&VerifierKey>,
) -> (LedgerIntegrity, CustodyState) {
    let mut integrity = LedgerIntegrity {
        intact: false,
        anchor: Anchor::from_inputs(vkey.is_some(), saved.is_some()),
        vkey: ledger.verifier_key().encode(),
        entries: 0,
        checkpoint: ledger
            .stored_checkpoint_note()
            .unwrap_or_else(|e| format!("(unreadable: {e})")),
        saved_checkpoint: SavedCheckpoint::NotGiven,
        problems: vec![],
    };
    let opts = VerifyOptions {
        since_checkpoint: None,
        vkey: vkey.cloned(),
    };
    let verified = match ledger.verify(&opts) {
        Ok(v) => {
            integrity.entries = v.entries;
            integrity.intact = v.ok;
            if let Some(f) = &v.failure {
                integrity.problems.push(f.to_string());
            }
            Some(v)
        }
        Err(e) => {
            integrity
                .problems
                .push(format!("verification could not run: {e}"));
            None
        }
    };
    if let Some(note) = saved {
        integrity.saved_checkpoint = match verified.as_ref().filter(|v| v.ok) {
            Some(v) => match root_of(&v.root) {
                Some(root) => {
                    // The verification above held, so the database's key is the trusted one
                    // (when one was given): the saved note must be signed by it.
                    match ledger.check_extends(note, ledger.verifier_key(), v.entries, &root) {
                        Ok(tree_size) => SavedCheckpoint::Extended { tree_size },
                        Err(detail) => SavedCheckpoint::NotExtended { detail },
                    }
                }
                None => SavedCheckpoint::NotExtended {
                    detail: "the recomputed root is not a hash".into(),
                },
            },
            None => SavedCheckpoint::NotExtended {
                detail: "not checked: the ledger itself failed verification".into(),
            },
        };
    }
    let state = match fold_ledger(ledger) {
        Ok(s) => s,
        Err(e) => {
            integrity.intact = false;
            integrity.problems.push(format!("custody history: {e}"));
            CustodyState::default()
        }
    };
    (integrity, state)
}

fn root_of(hex_root: &str) -> Option<crate::ledger::Hash> {
    hex::decode(hex_root).ok()?.try_into().ok()
}

fn first_entry_time(ledger: &Ledger, integrity: &mut LedgerIntegrity) -> Option<OffsetDateTime> {
    let mut first = None;
    let read = ledger.for_each_raw(0, |raw| {
        first = Entry::decode(raw.bytes)
            .ok()
            .and_then(|e| entry_time(&e).ok());
        Ok(false)
    });
    if let Err(e) = read {
        integrity.intact = false;
        integrity.problems.push(format!("cannot read entry 0: {e}"));
    }
    first
}

/// Appends `audit.completed` for `report` rendered as `rendered` (exactly the bytes written)
/// in `format`, signed with the ledger key (`signing_key`, default beside the database).
///
/// A key that is missing or unreadable means read-only access: [`Recorded::NoSigningKey`], not
/// an error. A key that exists but is wrong or too widely readable is an error.
pub fn record(
    ledger_path: &Path,
    signing_key: Option<&Path>,
    actor: &str,
    report: &AuditReport,
    format: Format,
    rendered: &[u8],
) -> Result<Recorded, AuditError> {
    let body = CustodyEvent::AuditCompleted(completed_event(report, format, rendered)).to_body()?;
    let mut ledger = match Ledger::open(ledger_path, signing_key) {
        Ok(l) => l,
        Err(LedgerError::Io { path, source })
            if path != ledger_path
                && matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            return Ok(Recorded::NoSigningKey {
                path,
                why: source.to_string(),
            })
        }
        Err(e) => return Err(AuditError::Record(e)),
    };
    let event = UnsignedEvent::new(super::events::AUDIT_COMPLETED, actor, body)
        .map_err(|e| AuditError::Record(LedgerError::Encoding(e)))?;
    let receipt = ledger.append(&event, vec![]).map_err(AuditError::Record)?;
    Ok(Recorded::Appended { seq: receipt.seq })
}
