//! The quarterly audit as a flow: prove the ledger intact, fold the custody state, judge the AWS
//! evidence, build the report; then, once the report is written, record `audit.completed`.
//!
//! AWS facts come in as [`aws::Evidence`] (an evidence file or a live read by the caller, who
//! owns the progress display); everything else happens here so every front end (the CLI, the
//! demo) audits the same way.

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};

use super::audit::{build_report, completed_event, AuditInput};
use super::events::EventError;
use super::flows::{gather_approvals, Approver, Console, FlowError};
use super::state::CustodyState;
use super::station::{verify_ledger, Station};
use super::CustodyEvent;
use crate::aws::{self, Evidence, FindingConfig};
use crate::ledger::{Ledger, LedgerError, UnsignedEvent, VerifierKey, VerifyOptions};
use crate::report::{Anchor, AuditReport, Format, LedgerIntegrity, SavedCheckpoint};

/// How far back CloudTrail's event history reaches: the default audit period when no anchored
/// audit says where the last one ended.
pub const CLOUDTRAIL_DAYS: i64 = 90;

/// Why an audit could not run or could not be recorded (a broken ledger is not one of these:
/// it is a FAIL verdict in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The ledger could not be opened at all.
    #[error("cannot open the custody ledger: {0}")]
    Open(#[source] LedgerError),
    /// The report was written but appending `audit.completed` failed.
    #[error("the report was written but could not be recorded in the ledger: {0}; fix this and re-run the audit, or pass --no-record")]
    Record(#[source] FlowError),
    /// The `audit.completed` body did not validate.
    #[error("the audit.completed event is invalid: {0}")]
    Event(#[from] EventError),
    /// The period asked for is not one that can be audited.
    #[error("{0}")]
    Period(String),
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
    /// Start of the period; `None`: the end of the last audit recorded before the auditor's
    /// saved checkpoint, else 90 days back (what CloudTrail keeps).
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
    /// Nobody was named to approve it: an audit counts only when the auditor's own key (or two
    /// custodians) approve it, so it was not recorded.
    NotApproved,
}

/// Verifies the ledger, folds it, judges the evidence and builds the report. Read-only.
pub fn prepare(req: &AuditRequest<'_>) -> Result<AuditReport, AuditError> {
    let ledger = Ledger::open_readonly(req.ledger).map_err(AuditError::Open)?;
    let (integrity, state) = examine(&ledger, req.saved_checkpoint.as_deref(), req.vkey.as_ref());
    let period_start = period_start(req, &integrity, &state)?;
    let judged = aws::evaluate(req.evidence, req.finding_config);
    Ok(build_report(AuditInput {
        state: &state,
        aws: &judged.accounts,
        accounts: req.accounts.as_deref(),
        integrity,
        generated_at: req.now,
        period_start,
        ledger_origin: ledger.origin().to_string(),
        scope: req.scope.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        aws_warnings: judged.warnings.clone(),
        evidence: Some(evidence_meta(req.evidence)),
    }))
}

/// The custody state of the ledger at `path` for judging sign-ins outside an audit (`aws
/// posture`): `Ok(None)` when there is no ledger there; an error when it exists but cannot be
/// read or fails verification (a broken ledger explains nothing).
pub fn ledger_state(path: &Path) -> Result<Option<CustodyState>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let ledger = Ledger::open_readonly(path).map_err(|e| e.to_string())?;
    let v = verify_ledger(&ledger, &VerifyOptions::default()).map_err(|e| e.to_string())?;
    match v.report.failure {
        None => Ok(Some(v.state)),
        Some(f) => Err(format!("the ledger failed verification: {f}")),
    }
}

/// The evidence's digest (SHA-256 of its compact JSON), read time and sign-in search period.
pub fn evidence_meta(evidence: &Evidence) -> crate::report::EvidenceMeta {
    // Serializing plain data cannot fail; an empty digest input would still be recorded.
    let bytes = serde_json::to_vec(evidence).unwrap_or_default();
    crate::report::EvidenceMeta {
        sha256: crate::report::digest(&bytes),
        read_at: evidence.read_at,
        login_search_since: evidence.period.since,
        login_search_until: evidence.period.until,
    }
}

/// Where the audited period starts: `--since` when given (never in the future); else the end
/// of the last audit recorded *before the auditor's saved checkpoint* (an audit recorded after
/// it, by anyone who could write the ledger, cannot move the period); else 90 days back.
fn period_start(
    req: &AuditRequest<'_>,
    integrity: &LedgerIntegrity,
    state: &CustodyState,
) -> Result<OffsetDateTime, AuditError> {
    if let Some(t) = req.since {
        if t > req.now {
            return Err(AuditError::Period(format!(
                "the period would start {}, in the future: give a --since in the past",
                crate::report::fmt_time(t)
            )));
        }
        return Ok(t);
    }
    let fallback = req.now - Duration::days(CLOUDTRAIL_DAYS);
    let anchored = match integrity.saved_checkpoint {
        SavedCheckpoint::Extended { tree_size } if integrity.intact => Some(tree_size),
        _ => None,
    };
    Ok(anchored
        .and_then(|size| state.last_audit_before(size))
        .map(|a| a.period_end.min(req.now))
        .unwrap_or(fallback))
}

/// Proves the ledger intact through the custody fold (signed by `vkey` when given, and
/// extending `saved`). Any problem lands in the integrity section; the state is folded up to
/// the first failure.
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
    let v = match verify_ledger(ledger, &opts) {
        Ok(v) => v,
        Err(e) => {
            integrity
                .problems
                .push(format!("verification could not run: {e}"));
            return (integrity, CustodyState::default());
        }
    };
    integrity.entries = v.report.entries;
    match &v.report.failure {
        None => integrity.intact = true,
        Some(f) => integrity.problems.push(f.to_string()),
    }
    if let Some(note) = saved {
        integrity.saved_checkpoint = match root_of(&v.report.root).filter(|_| integrity.intact) {
            // The verification above held, so the database's key is the trusted one (when one
            // was given): the saved note must be signed by it.
            Some(root) => {
                match ledger.check_extends(note, ledger.verifier_key(), v.report.entries, &root) {
                    Ok(tree_size) => SavedCheckpoint::Extended { tree_size },
                    Err(detail) => SavedCheckpoint::NotExtended { detail },
                }
            }
            None => SavedCheckpoint::NotExtended {
                detail: "not checked: the ledger itself failed verification".into(),
            },
        };
    }
    (integrity, v.state)
}

fn root_of(hex_root: &str) -> Option<crate::ledger::Hash> {
    hex::decode(hex_root).ok()?.try_into().ok()
}

/// Appends `audit.completed` for `report` rendered as `rendered` (exactly the bytes written)
/// in `format`, signed with the ledger key (`signing_key`, default beside the database) and
/// approved by `approvers` (the auditor, or two custodians).
///
/// A key that is missing or unreadable means read-only access: [`Recorded::NoSigningKey`], not
/// an error. A key that exists but is wrong or too widely readable is an error.
#[allow(clippy::too_many_arguments)]
pub fn record(
    ledger_path: &Path,
    signing_key: Option<&Path>,
    actor: &str,
    report: &AuditReport,
    format: Format,
    rendered: &[u8],
    approvers: &[Approver],
    console: &mut dyn Console,
) -> Result<Recorded, AuditError> {
    if approvers.is_empty() {
        return Ok(Recorded::NotApproved);
    }
    let body = CustodyEvent::AuditCompleted(completed_event(report, format, rendered)).to_body()?;
    let mut station = match Station::open(ledger_path, signing_key) {
        Ok(s) => s,
        Err(super::StationError::Ledger(LedgerError::Io { path, source }))
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
        // Read-only access to the database is enough to audit; it is not enough to record.
        Err(super::StationError::Ledger(LedgerError::NoWriteAccess { path, why })) => {
            return Ok(Recorded::NoSigningKey { path, why })
        }
        Err(e) => return Err(AuditError::Record(e.into())),
    };
    let event = UnsignedEvent::new(super::events::AUDIT_COMPLETED, actor, body)
        .map_err(|e| AuditError::Record(e.into()))?;
    let requirement = station
        .check(&[&event])
        .map_err(|e| AuditError::Record(e.into()))?
        .remove(0);
    let approvals = gather_approvals(&station, &event, &requirement, approvers, console)
        .map_err(AuditError::Record)?;
    let receipt = station
        .append_one(event, approvals)
        .map_err(|e| AuditError::Record(e.into()))?;
    Ok(Recorded::Appended {
        seq: receipt.first_seq,
    })
}
