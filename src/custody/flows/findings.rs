//! Accepting a finding's risk: one `finding.accepted` event, approved by the auditor's own key
//! or two custodians. It is the only thing besides fixing the cause that takes a finding out
//! of an audit's open findings, and only until its date.

use serde::Serialize;
use time::OffsetDateTime;

use super::{check_approvers, check_text, gather_approvals, Approver, Console, FlowError};
use crate::custody::events::{CustodyEvent, FindingAccepted, ACCEPTANCE_MAX, FINDING_ACCEPTED};
use crate::custody::{Requirement, Station};
use crate::ledger::UnsignedEvent;
use crate::text::TextKind;

/// A finding's risk to accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptRequest {
    /// Who records it.
    pub actor: String,
    /// The finding's stable id, as a recorded audit reported it.
    pub finding_id: String,
    /// Why the risk is accepted.
    pub reason: String,
    /// The risk or change ticket.
    pub ticket: String,
    /// Until when.
    pub until: OffsetDateTime,
    /// The auditor, or two custodians.
    pub approvers: Vec<Approver>,
}

/// What was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptOutcome {
    /// Ledger entry.
    pub seq: u64,
    /// The finding.
    pub finding_id: String,
    /// Its check.
    pub check: String,
    /// Its account.
    pub account_id: Option<String>,
    /// Its resource.
    pub resource: String,
    /// Until when.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// Records `finding.accepted` for a finding some recorded audit reported.
pub fn accept(
    station: &mut Station,
    console: &mut dyn Console,
    req: &AcceptRequest,
    now: OffsetDateTime,
) -> Result<AcceptOutcome, FlowError> {
    if !crate::findings::is_instance_id(&req.finding_id) {
        return Err(FlowError::Usage(format!(
            "--id `{}` is not a finding id (16 lowercase hex digits, the `id` of a finding in an audit report)",
            crate::text::escape(&req.finding_id)
        )));
    }
    check_text("--reason", TextKind::Reason, &req.reason)?;
    check_text("--ticket", TextKind::Ticket, &req.ticket)?;
    if req.until <= now || req.until > now + ACCEPTANCE_MAX {
        return Err(FlowError::Usage(format!(
            "--until must be in the future and at most {} days from now",
            ACCEPTANCE_MAX.whole_days()
        )));
    }
    let ids: Vec<&str> = req.approvers.iter().map(|a| a.id.as_str()).collect();
    check_approvers(
        station.state().registry(),
        &ids,
        &Requirement::AuditorOrCustodians,
    )?;
    let (check, account_id, resource) = reported(station, &req.finding_id)?;
    let event = CustodyEvent::FindingAccepted(FindingAccepted {
        finding_id: req.finding_id.clone(),
        check: check.clone(),
        account_id: account_id.clone(),
        resource: resource.clone(),
        reason: req.reason.trim().to_string(),
        ticket: req.ticket.trim().to_string(),
        until: req.until,
    });
    let ev = UnsignedEvent::new(FINDING_ACCEPTED, &req.actor, event.to_body()?)?;
    let requirement = station.check(&[&ev])?.remove(0);
    let approvals = gather_approvals(station, &ev, &requirement, &req.approvers, console)?;
    let seq = station.append_one(ev, approvals)?.first_seq;
    Ok(AcceptOutcome {
        seq,
        finding_id: req.finding_id.clone(),
        check,
        account_id,
        resource,
        until: req.until,
    })
}

/// The (check, account, resource) of the finding with this id, from the recorded audits (the
/// latest first).
fn reported(
    station: &Station,
    finding_id: &str,
) -> Result<(String, Option<String>, String), FlowError> {
    for audit in station.state().audits().iter().rev() {
        for identity in &audit.findings {
            let Some((check, account, resource)) = crate::findings::parse_identity(identity) else {
                continue;
            };
            if crate::findings::instance_id(check, account, resource) == finding_id {
                return Ok((
                    check.to_string(),
                    account.map(str::to_string),
                    resource.to_string(),
                ));
            }
        }
    }
    Err(FlowError::Usage(format!(
        "no recorded audit reported finding {finding_id}: run `rootkey audit` (recorded) and take the id from its report"
    )))
}
