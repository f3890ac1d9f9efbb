//! The custody jobs as library functions: typed request in, typed outcome out.
//!
//! The CLI converts its flags into these requests and prints the outcomes; `rootkey demo` calls
//! the same functions. People are guided through a [`Console`] (stderr for the CLI, a recorder
//! for tests and the demo), so nothing here reads the terminal directly.
//!
//! Every step is one ledger event (or one batch appended in one transaction). A flow builds its
//! event, asks the custody state whether it may be applied (`Station::check`), gathers the
//! approvals the state says it needs, and appends through `Station::append`, which verifies
//! them and folds the event again: the rules live in the fold alone. An error or Ctrl-C before
//! the append leaves the ledger exactly as it was.
//!
//! - [`approve`]: custodians approve an event with their own keys.
//! - [`custodians`]: bootstrap, add, remove, list.
//! - [`checkout`], [`checkin`], [`verify`]: break-glass and possession checks.
//! - [`enroll`]: onboarding an account (attestation, custody credentials, AWS confirmation).
//! - [`findings`]: accepting a finding's risk until a date.

pub mod approve;
mod attested;
pub mod checkin;
pub mod checkout;
mod console;
pub mod custodians;
pub mod enroll;
pub mod findings;
pub mod inventory;
pub mod lifecycle;
pub mod remediate;

pub mod verify;

pub use approve::{gather_approvals, Approver};
pub use attested::{attest_key, refuse_known, Attested, Eligibility};
pub use console::{Console, PinKind, PinSource, RecordingConsole, StderrConsole};

use super::dual_control::{Registry, Requirement, Role};
use super::station::StationError;
use super::{EventError, StateError};
use crate::device::DeviceError;
use crate::ledger::{self, LedgerError};
use crate::text;

/// Why a flow stopped. Nothing was appended for the step that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The ledger failed verification, or the fold refused the event at append.
    #[error(transparent)]
    Station(#[from] StationError),
    /// A custody rule refused the request (before anyone touched a key).
    #[error("refused, nothing recorded: {0}")]
    Refused(#[from] StateError),
    /// Who was named to approve cannot approve this.
    #[error("refused before any key was touched: {0}")]
    Approvers(String),
    /// A key could not be asked.
    // The device error is part of the message, not a cause printed again under it.
    #[error("{who}'s key ({device}): {error}")]
    Device {
        /// Whose key (a custodian id, or `primary`/`backup`/`key K`).
        who: String,
        /// The device spec.
        device: String,
        /// What the device layer said.
        error: DeviceError,
    },
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
    /// Attestation or policy refused a key.
    #[error("{role} key refused: {why}; take another key")]
    Ineligible {
        /// Whose key (`primary`, `backup`, `custodian alice`).
        role: String,
        /// The verifier's reason.
        why: String,
    },
    /// The key in hand is already known to the ledger in another role.
    #[error(
        "{who}: this key already holds {owner}: one key, one person, one purpose; use another key"
    )]
    KnownKey {
        /// Whose key was probed.
        who: String,
        /// Whose credential it holds.
        owner: String,
    },
    /// The key in hand did not prove it is the enrolled key.
    #[error("possession proof for key {key_id} refused: {reason}. Is this the right key? A different key cannot answer for {key_id}")]
    Possession {
        /// The key.
        key_id: String,
        /// What failed.
        reason: String,
    },
    /// Enrollment: AWS could not be read, or its evidence cannot show what is needed.
    #[error("{0}")]
    Aws(String),
    /// Enrollment confirm: AWS was read and does not show a pending key registered (the check
    /// ran and found something: exit 1, not a failure to run).
    #[error("{0}")]
    Unconfirmed(String),
}

/// Checks a user-typed value before it goes anywhere (clear refusal, exit 2).
pub(crate) fn check_text(field: &str, kind: text::TextKind, value: &str) -> Result<(), FlowError> {
    text::check(field, kind, value).map_err(|e| FlowError::Usage(e.to_string()))
}

/// Resolves the people named to approve and checks them against what the rules require,
/// before anyone touches a key: each must be registered and active, named once, and together
/// they must satisfy `requirement`.
pub(crate) fn check_approvers(
    registry: &Registry,
    ids: &[&str],
    requirement: &Requirement,
) -> Result<(), FlowError> {
    let mut who: Vec<(&str, Role)> = Vec::with_capacity(ids.len());
    for id in ids {
        let c = registry.get(id).ok_or_else(|| {
            FlowError::Approvers(format!(
                "{} is not a registered custodian: check `rootkey custodian list`",
                text::escape(id)
            ))
        })?;
        if !c.is_active() {
            return Err(FlowError::Approvers(format!(
                "{} was removed at entry {} and can no longer approve: ask another active custodian",
                c.id,
                c.removed_seq.unwrap_or_default()
            )));
        }
        if who
            .iter()
            .any(|(w, _)| text::id_key(w) == text::id_key(&c.id))
        {
            return Err(FlowError::Approvers(format!(
                "{} is named twice: dual control needs two different people",
                c.id
            )));
        }
        who.push((c.id.as_str(), c.role));
    }
    requirement.check(&who).map_err(FlowError::Approvers)
}

/// A fresh random 32-byte challenge.
pub(crate) fn random_challenge() -> Result<[u8; 32], FlowError> {
    let mut c = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut c)
        .map_err(|_| FlowError::Usage("the system random generator failed".into()))?;
    Ok(c)
}

/// Opens a key and runs `f` on it, asking the console for a PIN once if the key needs one
/// (`pin_first`: ask before the first try, for approvals, which always need the person).
pub(crate) fn with_key<T>(
    console: &mut dyn Console,
    who: &str,
    spec: &crate::device::DeviceSpec,
    f: impl FnMut(&mut dyn crate::device::Authenticator, Option<String>) -> Result<T, DeviceError>,
) -> Result<T, FlowError> {
    with_key_pin(console, who, spec, false, f)
}

/// [`with_key`], optionally asking for the PIN before the first try.
pub(crate) fn with_key_pin<T>(
    console: &mut dyn Console,
    who: &str,
    spec: &crate::device::DeviceSpec,
    pin_first: bool,
    mut f: impl FnMut(&mut dyn crate::device::Authenticator, Option<String>) -> Result<T, DeviceError>,
) -> Result<T, FlowError> {
    let wrap = |error| FlowError::Device {
        who: who.to_string(),
        device: spec.to_string(),
        error,
    };
    let mut key = crate::device::open(spec).map_err(wrap)?;
    let first = if pin_first {
        Some(console.pin(who)?)
    } else {
        None
    };
    match f(key.as_mut(), first) {
        Err(DeviceError::PinRequired) => {
            let pin = console.pin(who)?;
            f(key.as_mut(), Some(pin)).map_err(wrap)
        }
        other => other.map_err(wrap),
    }
}
