//! Years of custody: a key moves site, a key leaves custody, an account leaves scope. Each step
//! is one event the custody state judges, approved by two custodians.

use serde::Serialize;

use super::verify::{known_key, prove_possession};
use super::{check_approvers, check_text, gather_approvals, Approver, Console, FlowError};
use crate::custody::events::{
    AccountClosed, CloseReason, CustodyEvent, KeyMoved, KeyRetired, RetireReason,
};
use crate::custody::{Requirement, Station};
use crate::device::DeviceSpec;
use crate::ledger::UnsignedEvent;
use crate::text::TextKind;

/// A key changes safe or site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveRequest {
    /// Who records it.
    pub actor: String,
    /// Key id.
    pub key_id: String,
    /// The key itself (it proves it is the enrolled key when resealed).
    pub key_device: DeviceSpec,
    /// Where it goes.
    pub to_location: String,
    /// The new bag it is sealed in there.
    pub bag_serial: String,
    /// Why.
    pub reason: String,
    /// The two approving custodians.
    pub custodians: [Approver; 2],
}

/// A key leaves custody for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireRequest {
    /// Who records it.
    pub actor: String,
    /// Key id.
    pub key_id: String,
    /// Why.
    pub reason: RetireReason,
    /// What happened.
    pub note: String,
    /// The two approving custodians.
    pub custodians: [Approver; 2],
}

/// An account leaves rootkey's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    /// Who records it.
    pub actor: String,
    /// The account.
    pub account_id: String,
    /// Why.
    pub reason: CloseReason,
    /// What happened.
    pub note: String,
    /// The two approving custodians.
    pub custodians: [Approver; 2],
}

/// What a lifecycle step recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleOutcome {
    /// Ledger sequence number.
    pub seq: u64,
    /// The event kind.
    pub kind: &'static str,
    /// The key or account it concerns.
    pub subject: String,
    /// What the people do next, if anything (e.g. the AWS console step after a retirement).
    pub next_steps: Vec<String>,
}

/// Builds, checks, approves and appends one event.
fn record(
    station: &mut Station,
    console: &mut dyn Console,
    actor: &str,
    event: CustodyEvent,
    custodians: &[Approver],
) -> Result<u64, FlowError> {
    let ev = UnsignedEvent::new(event.kind(), actor, event.to_body()?)?;
    let requirement = station.check(&[&ev])?.remove(0);
    let approvals = gather_approvals(station, &ev, &requirement, custodians, console)?;
    Ok(station.append_one(ev, approvals)?.first_seq)
}

fn two(station: &Station, custodians: &[Approver; 2]) -> Result<(), FlowError> {
    let ids: Vec<&str> = custodians.iter().map(|a| a.id.as_str()).collect();
    check_approvers(
        station.state().registry(),
        &ids,
        &Requirement::Custodians(2),
    )
}

/// Moves a key in the safe: the key proves itself, is sealed in a new bag at its new place.
pub fn move_key(
    station: &mut Station,
    console: &mut dyn Console,
    req: &MoveRequest,
) -> Result<LifecycleOutcome, FlowError> {
    check_text("--to", TextKind::Location, &req.to_location)?;
    check_text("--bag", TextKind::Serial, &req.bag_serial)?;
    check_text("--reason", TextKind::Reason, &req.reason)?;
    two(station, &req.custodians)?;
    let key = known_key(station, &req.key_id)?;
    let body = |proof| KeyMoved {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        from_location: key.location.clone(),
        to_location: req.to_location.trim().to_string(),
        bag_serial: req.bag_serial.trim().to_string(),
        reason: req.reason.trim().to_string(),
        proof,
    };
    // Everything but the proof is judged before anyone touches the key.
    let placeholder = crate::custody::events::PossessionProof {
        challenge: crate::custody::events::B64(vec![0]),
        authenticator_data: crate::custody::events::B64(vec![0]),
        client_data_json: crate::custody::events::B64(vec![0]),
        signature: crate::custody::events::B64(vec![0]),
        counter: 0,
    };
    let draft = CustodyEvent::KeyMoved(body(placeholder));
    let ev = UnsignedEvent::new(draft.kind(), &req.actor, draft.to_body()?)?;
    match station.check(&[&ev]) {
        Err(crate::custody::StateError::ProofRefused { .. }) | Ok(_) => {}
        Err(e) => return Err(e.into()),
    }
    let proof = prove_possession(console, key, &req.key_device)?;
    let event = CustodyEvent::KeyMoved(body(proof));
    let seq = record(station, console, &req.actor, event, &req.custodians)?;
    Ok(LifecycleOutcome {
        seq,
        kind: crate::custody::events::KEY_MOVED,
        subject: req.key_id.clone(),
        next_steps: vec![],
    })
}

/// Retires a key. A checkout it is out on is closed; AWS must then stop showing its device.
pub fn retire(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RetireRequest,
) -> Result<LifecycleOutcome, FlowError> {
    check_text("--note", TextKind::Reason, &req.note)?;
    two(station, &req.custodians)?;
    let key = known_key(station, &req.key_id)?;
    let (account, device) = (key.account_id.clone(), key.aws_device_name.clone());
    let event = CustodyEvent::KeyRetired(KeyRetired {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        reason: req.reason,
        note: req.note.trim().to_string(),
    });
    let seq = record(station, console, &req.actor, event, &req.custodians)?;
    let mut next_steps = vec![format!(
        "Remove the device `{device}-…` from the root user of account {account}: sign in to the \
         AWS console as root (with the account's other key), Security credentials → \
         Multi-factor authentication → select it → Remove. AWS has no API for this outside an \
         AssumeRoot session with the IAMDeleteRootUserCredentials task policy; until it is gone \
         the audit reports RETIRED-KEY-STILL-ON-ROOT."
    )];
    if req.reason.is_incident() {
        next_steps.push(format!(
            "This is an incident ({}): the key may be in someone else's hands. Check CloudTrail \
             for root sign-ins since it was last proven present, and enroll a replacement so the \
             account has two keys again.",
            req.reason.as_str()
        ));
    }
    Ok(LifecycleOutcome {
        seq,
        kind: crate::custody::events::KEY_RETIRED,
        subject: req.key_id.clone(),
        next_steps,
    })
}

/// Takes an account out of rootkey's scope (its keys must be retired first).
pub fn close_account(
    station: &mut Station,
    console: &mut dyn Console,
    req: &CloseRequest,
) -> Result<LifecycleOutcome, FlowError> {
    check_text("--note", TextKind::Reason, &req.note)?;
    two(station, &req.custodians)?;
    let event = CustodyEvent::AccountClosed(AccountClosed {
        account_id: req.account_id.clone(),
        reason: req.reason,
        note: req.note.trim().to_string(),
    });
    let seq = record(station, console, &req.actor, event, &req.custodians)?;
    Ok(LifecycleOutcome {
        seq,
        kind: crate::custody::events::ACCOUNT_CLOSED,
        subject: req.account_id.clone(),
        next_steps: vec![],
    })
}
