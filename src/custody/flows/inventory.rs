//! The keys in custody, as the ledger says they are: where each is, in which bag, whether it is
//! out, and when it last proved itself. What custodians check before a checkout and auditors
//! walk the safes with.

use serde::Serialize;
use time::OffsetDateTime;

use crate::custody::findings;
use crate::custody::state::{CustodyState, KeyStatus};

/// One key in custody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView {
    /// Short key id (what `--key` takes).
    pub key_id: String,
    /// AWS account whose root user it guards.
    pub account_id: String,
    /// `primary` or `backup`.
    pub role: &'static str,
    /// Model, as attested at enrollment.
    pub model: String,
    /// Where it is kept.
    pub location: String,
    /// Serial of the tamper-evident bag it is sealed in (the broken one while it is out).
    pub bag_serial: String,
    /// `in_safe`, `checked_out`, `overdue` or `retired`.
    pub status: &'static str,
    /// When a checked-out key is due back.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due: Option<OffsetDateTime>,
    /// The MFA device serial AWS shows for it, once confirmed.
    pub serial_arn: Option<String>,
    /// The last time the key itself proved it is in custody.
    #[serde(with = "time::serde::rfc3339")]
    pub last_possession: OffsetDateTime,
    /// Whether that proof is older than the audit allows (90 days).
    pub possession_stale: bool,
    /// What its attestation proved: `hardware`, `user-root` or `software`.
    pub assurance: &'static str,
    /// Where it has been and who had it, entry by entry.
    pub history: Vec<crate::custody::state::KeyHistory>,
}

/// Every key in custody (optionally of one account), retired ones last.
/// (Read from a verified [`crate::custody::Station`]: a broken ledger is refused before this.)
pub fn inventory(state: &CustodyState, account: Option<&str>, now: OffsetDateTime) -> Vec<KeyView> {
    let mut keys: Vec<KeyView> = state
        .keys()
        .values()
        .filter(|k| account.is_none_or(|a| k.account_id == a))
        .map(|k| {
            let open = state.open_checkout(k);
            let (status, due) = match (&k.status, open) {
                (KeyStatus::Retired { .. }, _) => ("retired", None),
                (_, Some(c)) if c.is_overdue(now) => ("overdue", Some(c.window_end)),
                (_, Some(c)) => ("checked_out", Some(c.window_end)),
                _ => ("in_safe", None),
            };
            KeyView {
                key_id: k.key_id.clone(),
                account_id: k.account_id.clone(),
                role: k.role.as_str(),
                model: k.model.clone(),
                location: k.location.clone(),
                bag_serial: k.bag_serial.clone(),
                status,
                due,
                serial_arn: k.registration.as_ref().map(|r| r.serial_arn.clone()),
                last_possession: k.last_possession,
                possession_stale: findings::possession_stale(k.last_possession, now),
                assurance: k.attestation.assurance.as_str(),
                history: k.history.clone(),
            }
        })
        .collect();
    // Per account: primary before backup; retired keys after every active one.
    keys.sort_by(|a, b| {
        let order = |k: &KeyView| {
            (
                k.status == "retired",
                k.account_id.clone(),
                k.role != "primary",
                k.key_id.clone(),
            )
        };
        order(a).cmp(&order(b))
    });
    keys
}
