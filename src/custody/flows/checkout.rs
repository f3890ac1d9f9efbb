//! Break-glass checkout: two distinct custodians, each approving with their own key.

use serde::Serialize;
use time::OffsetDateTime;

use super::{gather_approvals, snapshot, Approver, Console, FlowError};
use crate::custody::events::CustodyEvent;
use crate::custody::rules::{self, RuleError};
use crate::ledger::{Ledger, UnsignedEvent};

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

/// Checks the request, gathers both approvals, appends `key.checked_out`.
pub fn checkout(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &CheckoutRequest,
) -> Result<CheckoutOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    let body = rules::plan_checkout(
        &snap.state,
        &rules::CheckoutRequest {
            key_id: req.key_id.clone(),
            reason: req.reason.clone(),
            ticket: req.ticket.clone(),
            window: req.window.clone(),
            requester: req.requester.id.clone(),
            approver: req.approver.id.clone(),
        },
        snap.registry.all(),
        OffsetDateTime::now_utc(),
    )?;
    if let Some(seen) = req.bag_broken.as_deref().map(str::trim) {
        if seen != body.bag_broken {
            return Err(FlowError::Usage(format!(
                "the bag in hand reads {seen}, but key {} was sealed in bag {}: stop, do not \
                 open it, and record an incident (the key may have been tampered with)",
                body.key_id, body.bag_broken
            )));
        }
    }
    let (window_start, window_end, bag) =
        (body.window_start, body.window_end, body.bag_broken.clone());
    let custody = CustodyEvent::KeyCheckedOut(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    super::precheck_fold(&snap.state, snap.len, &[&event])?;
    console.say(&format!(
        "checking out key {} until {}: {} then {} approve",
        req.key_id,
        crate::report::fmt_time(window_end),
        req.requester.id,
        req.approver.id
    ));
    let approvals = gather_approvals(
        &snap.registry,
        snap.len,
        &event,
        &[req.requester.clone(), req.approver.clone()],
        console,
    )?;
    let receipt = ledger.append_at(Some(snap.len), &event, approvals)?;
    let key = snap
        .state
        .keys
        .get(&req.key_id)
        .ok_or_else(|| RuleError::UnknownKey(req.key_id.clone()))?;
    Ok(CheckoutOutcome {
        seq: receipt.seq,
        key_id: req.key_id.clone(),
        account_id: key.account_id.clone(),
        window_start,
        window_end,
        bag_broken: bag,
        approvers: [req.requester.id.clone(), req.approver.id.clone()],
    })
}
