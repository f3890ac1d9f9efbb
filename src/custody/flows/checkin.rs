//! Check-in: the returned key proves it is the key that went out; two custodians approve.

use serde::Serialize;
use time::OffsetDateTime;

use super::verify::prove_possession;
use super::{gather_approvals, snapshot, Approver, Console, FlowError};
use crate::custody::events::CustodyEvent;
use crate::custody::rules::{self, RuleError};
use crate::device::DeviceSpec;
use crate::ledger::{Ledger, UnsignedEvent};

/// A check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinRequest {
    /// Who records it.
    pub actor: String,
    /// Key id.
    pub key_id: String,
    /// The returned key itself.
    pub key_device: DeviceSpec,
    /// Serial of the new bag it is sealed in.
    pub bag_serial: String,
    /// The two approving custodians (not necessarily the two of the checkout).
    pub custodians: [Approver; 2],
}

/// What a check-in recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckinOutcome {
    /// Ledger sequence number.
    pub seq: u64,
    /// Key id.
    pub key_id: String,
    /// Account.
    pub account_id: String,
    /// New bag.
    pub bag_serial: String,
    /// Returned after the window ended.
    pub late: bool,
    /// The window's end.
    #[serde(with = "time::serde::rfc3339")]
    pub window_end: OffsetDateTime,
}

/// Checks the request, proves possession, gathers both approvals, appends `key.checked_in`.
pub fn checkin(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &CheckinRequest,
) -> Result<CheckinOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    let [a, b] = &req.custodians;
    // Everything that needs no key is checked before anyone touches one.
    rules::check_dual_control(&a.id, &b.id, snap.registry.all())?;
    let key = snap
        .state
        .keys
        .get(&req.key_id)
        .ok_or_else(|| RuleError::UnknownKey(req.key_id.clone()))?;
    let window_end = snap
        .state
        .open_checkout(key)
        .map(|c| c.window_end)
        .ok_or_else(|| RuleError::KeyNotCheckedOut(req.key_id.clone()))?;
    if snap.state.used_bags.contains(req.bag_serial.trim()) {
        return Err(RuleError::BagReused(req.bag_serial.trim().to_string()).into());
    }
    let (proof, challenge) = prove_possession(console, key, &req.key_device)?;
    let body = rules::plan_checkin(
        &snap.state,
        &rules::CheckinRequest {
            key_id: req.key_id.clone(),
            bag_serial: req.bag_serial.clone(),
            custodians: [a.id.clone(), b.id.clone()],
        },
        snap.registry.all(),
        proof,
        &challenge,
        OffsetDateTime::now_utc(),
    )?;
    let (account_id, bag_serial, late) =
        (body.account_id.clone(), body.bag_serial.clone(), body.late);
    let custody = CustodyEvent::KeyCheckedIn(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    super::precheck_fold(&snap.state, snap.len, &[&event])?;
    let approvals = gather_approvals(&snap.registry, snap.len, &event, &req.custodians, console)?;
    let receipt = ledger.append_at(Some(snap.len), &event, approvals)?;
    Ok(CheckinOutcome {
        seq: receipt.seq,
        key_id: req.key_id.clone(),
        account_id,
        bag_serial,
        late,
        window_end,
    })
}
