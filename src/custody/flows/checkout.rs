//! Break-glass checkout: two distinct custodians, each approving with their own key.

use serde::Serialize;
use time::OffsetDateTime;

use super::{check_text, gather_approvals, Approver, Console, FlowError};
use crate::custody::break_glass::parse_window;
use crate::custody::events::{CustodyEvent, KeyCheckedOut};
use crate::custody::Station;
use crate::ledger::UnsignedEvent;
use crate::text::{self, TextKind};

/// A checkout as the custodians asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Who records it.
    pub actor: String,
    /// Key id.
    pub key_id: String,
    /// Why root access is needed.
    pub reason: String,
    /// Change or incident ticket.
    pub ticket: String,
    /// Window text (`4h`, `90m`).
    pub window: String,
    /// The custodian who needs the key.
    pub requester: Approver,
    /// The second custodian.
    pub approver: Approver,
    /// The serial printed on the bag the custodians are about to break, when they read it out:
    /// it must match the ledger's, or the key may have been tampered with.
    pub bag_broken: Option<String>,
}

/// What a checkout recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutOutcome {
    /// Ledger sequence number.
    pub seq: u64,
    /// Key id.
    pub key_id: String,
    /// Account.
    pub account_id: String,
    /// Window start.
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    /// Due back by.
    #[serde(with = "time::serde::rfc3339")]
    pub window_end: OffsetDateTime,
    /// The bag now broken.
    pub bag_broken: String,
    /// Requester and approver.
    pub approvers: [String; 2],
}

/// Builds `key.checked_out`, asks the custody rules, gathers both approvals, appends.
pub fn checkout(
    station: &mut Station,
    console: &mut dyn Console,
    req: &CheckoutRequest,
) -> Result<CheckoutOutcome, FlowError> {
    check_text("--reason", TextKind::Reason, &req.reason)?;
    check_text("--ticket", TextKind::Ticket, &req.ticket)?;
    let (requester, approver) = (req.requester.id.as_str(), req.approver.id.as_str());
    super::check_approvers(
        station.state().registry(),
        &[requester, approver],
        &crate::custody::Requirement::Named([requester.to_string(), approver.to_string()]),
    )?;
    let window = parse_window(&req.window).map_err(|e| FlowError::Usage(e.to_string()))?;
    let key = station.state().key(&req.key_id).ok_or_else(|| {
        FlowError::Usage(format!(
            "no key {} in custody: check `rootkey keys enrolled`",
            text::escape(&req.key_id)
        ))
    })?;
    if let Some(seen) = req.bag_broken.as_deref() {
        check_text("--bag-broken", TextKind::Serial, seen)?;
        if text::serial_key(seen) != text::serial_key(&key.bag_serial) {
            return Err(FlowError::Usage(format!(
                "the bag in hand reads {seen}, but key {} was sealed in bag {}: stop, do not \
                 open it, and record an incident (the key may have been tampered with)",
                key.key_id, key.bag_serial
            )));
        }
    }
    // Ledger times are UTC to the second, so the same instant always encodes the same way.
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let body = KeyCheckedOut {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        reason: req.reason.trim().to_string(),
        ticket: req.ticket.trim().to_string(),
        window_start: now,
        window_end: now + window,
        requester: req.requester.id.clone(),
        approver: req.approver.id.clone(),
        bag_broken: key.bag_serial.clone(),
    };
    let (account_id, window_start, window_end, bag) = (
        body.account_id.clone(),
        body.window_start,
        body.window_end,
        body.bag_broken.clone(),
    );
    let custody = CustodyEvent::KeyCheckedOut(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    console.say(&format!(
        "checking out key {} until {}: {} then {} approve",
        req.key_id,
        crate::report::fmt_time(window_end),
        req.requester.id,
        req.approver.id
    ));
    let approvals = gather_approvals(
        station,
        &event,
        &requirement,
        &[req.requester.clone(), req.approver.clone()],
        console,
    )?;
    let receipt = station.append_one(event, approvals)?;
    Ok(CheckoutOutcome {
        seq: receipt.first_seq,
        key_id: req.key_id.clone(),
        account_id,
        window_start,
        window_end,
        bag_broken: bag,
        approvers: [req.requester.id.clone(), req.approver.id.clone()],
    })
}
