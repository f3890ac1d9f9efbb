//! rootkey: custody of the FIDO2 hardware keys that guard AWS root users.
//!
//! Layers (dependencies point down only):
//! `cli` → `custody` → (`device`, `attest`, `aws`, `ledger`, `report`) → `webauthn`, `config`,
//! `fsutil`, `text`. `attest`, `ledger`, `text` and `webauthn` are pure (bytes and values in,
//! verdicts out); `device` and `aws` are the only modules that touch the outside world;
//! `custody` owns the rules (dual control, two keys per root, distinct locations) and the flows
//! people run. `text` is the one place that decides what user text may contain, how it is
//! compared and how it is escaped for a terminal.

pub mod attest;
pub mod aws;
pub mod cli;
pub mod config;
pub mod custody;
pub mod device;
pub mod export;
pub mod findings;
pub mod fsutil;
pub mod ledger;
pub mod report;
pub mod text;
pub mod verbose;
pub mod webauthn;
