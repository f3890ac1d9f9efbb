//! Check-in: the returned key proves it is the key that went out; two custodians approve.

use serde::Serialize;
use time::OffsetDateTime;

use super::verify::{known_key, prove_possession};
use super::{check_text, gather_approvals, Approver, Console, FlowError};
use crate::custody::break_glass::is_late;
use crate::custody::events::{CustodyEvent, KeyCheckedIn};
use crate::custody::Station;
use crate::device::DeviceSpec;
use crate::ledger::UnsignedEvent;
use crate::text::TextKind;

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

/// Proves possession, builds `key.checked_in`, asks the custody rules, gathers both
/// approvals, appends.
pub fn checkin(
    station: &mut Station,
    console: &mut dyn Console,
    req: &CheckinRequest,
) -> Result<CheckinOutcome, FlowError> {
    check_text("--bag", TextKind::Serial, &req.bag_serial)?;
    let key = known_key(station, &req.key_id)?;
    let window_end = station
        .state()
        .open_checkout(key)
        .map(|c| c.window_end)
        .ok_or_else(|| {
            FlowError::Usage(format!(
                "key {} is not checked out; to prove a key in the safe is present use `rootkey keys verify`",
                key.key_id
            ))
        })?;
    // Everything that needs no key is asked of the rules before anyone touches one: the same
    // event with a placeholder proof would fail only on the proof.
    if station.state().bag_used(&req.bag_serial) {
        return Err(FlowError::Usage(format!(
            "tamper-evident bag {} has already been used; seal the key in a new bag and give its serial",
            req.bag_serial.trim()
        )));
    }
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(
        station.state().registry(),
        &ids,
        &crate::custody::Requirement::Custodians(2),
    )?;
    let proof = prove_possession(console, key, &req.key_device)?;
    let body = KeyCheckedIn {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        bag_serial: req.bag_serial.trim().to_string(),
        proof,
    };
    let (account_id, bag_serial) = (body.account_id.clone(), body.bag_serial.clone());
    let custody = CustodyEvent::KeyCheckedIn(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    let approvals = gather_approvals(station, &event, &requirement, &req.custodians, console)?;
    let receipt = station.append_one(event, approvals)?;
    let back = station
        .state()
        .checkouts()
        .iter()
        .rev()
        .find_map(|c| c.checkin.as_ref().filter(|i| i.seq == receipt.first_seq))
        .map(|i| i.time)
        .unwrap_or_else(OffsetDateTime::now_utc);
    Ok(CheckinOutcome {
        seq: receipt.first_seq,
        key_id: req.key_id.clone(),
        account_id,
        bag_serial,
        late: is_late(window_end, back),
        window_end,
    })
}
