//! The custody jobs as library functions: typed request in, typed outcome out.
//!
//! The CLI converts its flags into these requests and prints the outcomes; `rootkey demo` calls
//! the same functions. People are guided through a [`Console`] (stderr for the CLI, a recorder
//! for tests and the demo), so nothing here reads the terminal directly.
//!
//! Every step is one ledger event (or one batch appended in one transaction), appended only
//! after every approval it needs has been gathered and checked against the registry: an error or
//! Ctrl-C before that point leaves the ledger exactly as it was.
//!
//! - [`approve`]: custodians approve an event with their own keys.
//! - [`custodians`]: bootstrap, add, remove, list.
//! - [`checkout`], [`checkin`], [`verify`]: break-glass and possession checks.
//! - [`enroll`]: onboarding an account (attestation, custody credentials, AWS confirmation).

pub mod approve;
pub mod checkin;
pub mod checkout;
mod console;
pub mod custodians;
pub mod enroll;
pub mod inventory;

pub mod verify;

pub use approve::{gather_approvals, Approver};
pub use console::{Console, RecordingConsole, StderrConsole};

use time::OffsetDateTime;

use super::state::{fold_ledger, CustodyState, FoldError, LedgerEvent, StateError};
use super::{EventError, RuleError};
use crate::device::DeviceError;
use crate::ledger::{self, Ledger, LedgerError, Registry};

/// Why a flow stopped. Nothing was appended for the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A custody rule refused the request.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The ledger's registry rules refused the event or one of its approvals.
    #[error("the ledger would refuse this event, nothing written: {0}")]
    Registry(#[from] ledger::RuleError),
    /// A key could not be asked.
    #[error("{who}'s key ({device}): {source}")]
    Device {
        /// Whose key (a custodian id, or `primary`/`backup`/`key K`).
        who: String,
        /// The device spec.
        device: String,
        /// What the device layer said.
        #[source]
        source: DeviceError,
    },
    /// A planned event contradicts the custody history.
    #[error(transparent)]
    State(#[from] StateError),
    /// The custody history in the ledger does not fold.
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// A body could not be built.
    #[error(transparent)]
    Event(#[from] EventError),
    /// An event could not be encoded.
    #[error("event cannot be encoded: {0}")]
    Encoding(#[from] ledger::EncodingError),
    /// The request itself is not usable (what to change is in the message).
    #[error("{0}")]
    Usage(String),
    /// The person at the console declined or could not answer.
    #[error("{0}")]
    Console(String),
    /// Enrollment: attestation or policy refused a key.
    #[error("{role} key refused: {why}; take another key (root keys never get a policy override)")]
    Ineligible {
        /// `primary` or `backup`.
        role: &'static str,
        /// The verifier's reason.
        why: String,
    },
    /// Enrollment: AWS does not show what it must.
    #[error("{0}")]
    Aws(String),
}

/// The ledger's registry and custody state, folded from every entry.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Custodians and auditors.
    pub registry: Registry,
    /// Keys, accounts, checkouts.
    pub state: CustodyState,
    /// Number of entries (the sequence number the next append gets).
    pub len: u64,
}

/// Reads the ledger and folds it (registry and custody state).
pub fn snapshot(ledger: &Ledger) -> Result<Snapshot, FlowError> {
    Ok(Snapshot {
        registry: ledger.custodians()?,
        state: fold_ledger(ledger)?,
        len: ledger.len()?,
    })
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| e.to_string())
}

/// Checks that `events` (in order) fold onto `state` without contradiction, as the audit will
/// later fold them: the same check the custody history gets, before anyone is asked to touch.
pub(crate) fn precheck_fold(
    state: &CustodyState,
    first_seq: u64,
    events: &[&ledger::UnsignedEvent],
) -> Result<CustodyState, FlowError> {
    let mut next = state.clone();
    for (i, ev) in events.iter().enumerate() {
        let e = ev.event();
        let time = parse_time(&e.time).map_err(FlowError::Usage)?;
        next.apply_before_approval(LedgerEvent {
            seq: first_seq + i as u64,
            time,
            kind: &e.kind,
            actor: &e.actor,
            body: &e.body,
            approvers: &[],
        })?;
    }
    Ok(next)
}

/// A fresh random 32-byte challenge.
pub(crate) fn random_challenge() -> Result<[u8; 32], FlowError> {
    let mut c = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut c)
        .map_err(|_| FlowError::Usage("the system random generator failed".into()))?;
    Ok(c)
}

/// Opens a key and runs `f` on it, asking the console for a PIN once if the key needs one.
pub(crate) fn with_key<T>(
    console: &mut dyn Console,
    who: &str,
    spec: &crate::device::DeviceSpec,
    mut f: impl FnMut(&mut dyn crate::device::Authenticator, Option<String>) -> Result<T, DeviceError>,
) -> Result<T, FlowError> {
    let wrap = |source| FlowError::Device {
        who: who.to_string(),
        device: spec.to_string(),
        source,
    };
    let mut key = crate::device::open(spec).map_err(wrap)?;
    match f(key.as_mut(), None) {
        Err(DeviceError::PinRequired) => {
            let pin = console.pin(who)?;
            f(key.as_mut(), Some(pin)).map_err(wrap)
        }
        other => other.map_err(wrap),
    }
}
