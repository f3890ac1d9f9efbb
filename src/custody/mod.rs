//! Custody: the rules of onboarding, break-glass and audit, and the state they are checked against.
//!
//! - [`events`]: the typed bodies of the custody ledger kinds (approval counts: `ledger::rules`).
//! - [`state`]: a fold over ledger entries into where every key is and what happened to it.
//! - [`rules`]: pure checks (dual control, enrollment refusals, checkout/check-in, possession
//!   proofs, ledger ↔ AWS agreement, login matching, time to remediate).
//! - [`audit`]: turns state + AWS facts + ledger integrity into an [`crate::report::AuditReport`].
//!
//! The flows (enroll, checkout, checkin, verify, audit) compose these with the device, attest,
//! aws and ledger layers.

pub mod audit;
pub mod audit_flow;
pub mod demo;
pub mod events;
pub mod flows;
pub mod rules;
pub mod state;

pub use audit::{build_report, completed_event, AuditInput};
pub use events::{CustodyEvent, EventError};
pub use rules::{aws_device_name, key_id_for, RuleError};
pub use state::{fold_ledger, CustodyState, FoldError, LedgerEvent, StateError};
