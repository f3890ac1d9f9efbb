//! Custody: the rules of onboarding, break-glass and audit, and the one fold that applies them.
//!
//! - [`events`]: the one table of event kinds and their typed bodies.
//! - [`state`]: the fold over verified ledger entries: the one authority on what may happen.
//!   Its rules, by job: [`dual_control`] (who must approve what, and the one approval
//!   verifier), [`membership`] (the registry's own events),
//!   [`enrollment`] (keys entering custody), [`break_glass`] (checkouts, check-ins, possession,
//!   moves, retirement), [`findings`] (what the audit concludes from state and AWS facts).
//! - [`station`]: the ledger as commands use it: verified in full, appended to through the fold.
//! - [`audit`]: turns state + AWS facts + ledger integrity into an [`crate::report::AuditReport`].
//!
//! The flows (enroll, checkout, checkin, verify, audit) compose these with the device, attest,
//! aws and ledger layers.

pub mod anchor_audit;
pub mod audit;
pub mod audit_flow;
pub mod break_glass;
pub mod demo;
pub mod dual_control;
pub mod enrollment;
pub mod events;
pub mod findings;
pub mod flows;
pub mod membership;
pub mod remediation;
pub mod state;
pub mod station;

pub use audit::{build_report, completed_event, AuditInput};
pub use dual_control::{Approved, Custodian, Registry, Requirement, Role, CUSTODIAN_RP_ID};
pub use enrollment::{aws_device_name, key_id_for};
pub use events::{CustodyEvent, EventError};
pub use state::{CustodyState, StateError};
pub use station::{verify_ledger, Station, StationError, Verified};
