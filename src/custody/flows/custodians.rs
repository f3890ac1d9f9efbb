//! The custodian registry: the first two people together, then one more at a time, removal, list.

use serde::Serialize;

use super::approve::gather_from;
use super::attested::{attest_key, refuse_holding, refuse_known, Eligibility};
use super::{check_text, gather_approvals, Approver, Console, FlowError};
use crate::custody::dual_control::{Custodian, Role, CUSTODIAN_RP_ID};
use crate::custody::events::{
    CustodianAdded, CustodianBootstrap, CustodianRemoved, CustodianSpec, CustodyEvent, B64,
};
use crate::custody::Station;
use crate::device::DeviceSpec;
use crate::ledger::UnsignedEvent;
use crate::text::TextKind;
use crate::webauthn::b64url;

/// Origin written into the client data of a custodian enrollment.
pub const CUSTODIAN_ORIGIN: &str = "rootkey:custodian";

/// A person to enroll, with the key they will approve with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustodian {
    /// Stable id (`alice`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Custodian or auditor.
    pub role: Role,
    /// Their own key.
    pub device: DeviceSpec,
}

/// The first two custodians, present together (the registry must be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapRequest {
    /// Who records it.
    pub actor: String,
    /// First person.
    pub first: NewCustodian,
    /// Second person.
    pub second: NewCustodian,
}

/// One more person, approved by two active custodians.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRequest {
    /// Who records it.
    pub actor: String,
    /// The person.
    pub person: NewCustodian,
    /// The two approving custodians.
    pub approvers: [Approver; 2],
}

/// A person leaves, approved by two active custodians.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveRequest {
    /// Who records it.
    pub actor: String,
    /// The person's id.
    pub id: String,
    /// Why, for the record.
    pub reason: Option<String>,
    /// The two approving custodians.
    pub approvers: [Approver; 2],
}

/// A person in the registry, for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodianView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `custodian` or `auditor`.
    pub role: Role,
    /// Not removed.
    pub active: bool,
    /// Entry that enrolled them.
    pub added_seq: u64,
    /// Entry that removed them.
    pub removed_seq: Option<u64>,
    /// Their credential id, base64url.
    pub credential_id: String,
    /// Their key's model, as attested.
    pub model: String,
    /// Whether their key is a software authenticator (allowed only by policy).
    pub software: bool,
}

impl From<&Custodian> for CustodianView {
    fn from(c: &Custodian) -> Self {
        CustodianView {
            id: c.id.clone(),
            name: c.name.clone(),
            role: c.role,
            active: c.removed_seq.is_none(),
            added_seq: c.added_seq,
            removed_seq: c.removed_seq,
            credential_id: b64url(&c.credential_id),
            model: c.model.clone(),
            software: c.software,
        }
    }
}

/// What a registry change recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodianOutcome {
    /// Ledger sequence number of the entry.
    pub seq: u64,
    /// `custodian.bootstrap`, `custodian.added` or `custodian.removed`.
    pub kind: String,
    /// The people the entry enrolled or removed, as they are now.
    pub custodians: Vec<CustodianView>,
}

fn check_new_person(p: &NewCustodian) -> Result<(), FlowError> {
    check_text("custodian id", TextKind::Id, &p.id)?;
    check_text("--name", TextKind::Name, &p.name)
}

/// Attests `p`'s own key under the custodian policy, refuses it if it holds any credential the
/// ledger knows (or one of `others`), and makes their custodian credential on it.
fn enroll_key(
    console: &mut dyn Console,
    station: &Station,
    p: &NewCustodian,
    elig: &Eligibility,
    others: &[(Vec<u8>, String)],
) -> Result<CustodianSpec, FlowError> {
    let who = format!("custodian {}", p.id);
    console.step(&format!(
        "{} ({}): insert your own key and touch it to enroll it as your {} key",
        p.id,
        p.name,
        p.role.as_str()
    ))?;
    refuse_known(console, &who, &p.device, station.state())?;
    refuse_holding(console, &who, &p.device, CUSTODIAN_RP_ID, others)?;
    let a = attest_key(
        console,
        &who,
        &p.device,
        CUSTODIAN_RP_ID,
        CUSTODIAN_ORIGIN,
        elig,
    )?;
    if a.attestation.assurance == crate::attest::Assurance::Software {
        console.say(&format!(
            "warning: {}'s key is a SOFTWARE authenticator, accepted only because the custodian policy allows software keys; every listing and audit will say so",
            p.id
        ));
    }
    Ok(CustodianSpec {
        id: p.id.clone(),
        name: p.name.clone(),
        role: p.role,
        credential_id: B64(a.credential_id),
        public_key: B64(a.public_key),
        aaguid: a.aaguid,
        model: a.model,
        attestation: a.attestation,
    })
}

fn outcome(
    station: &Station,
    seq: u64,
    kind: &str,
    ids: &[&str],
) -> Result<CustodianOutcome, FlowError> {
    let registry = station.state().registry();
    Ok(CustodianOutcome {
        seq,
        kind: kind.to_string(),
        custodians: ids
            .iter()
            .filter_map(|id| registry.get(id))
            .map(CustodianView::from)
            .collect(),
    })
}

/// Enrolls the first two custodians together: one `custodian.bootstrap` entry approved by both
/// new keys, each attested and each proven not to be the other's.
pub fn bootstrap(
    station: &mut Station,
    console: &mut dyn Console,
    req: &BootstrapRequest,
    elig: &Eligibility,
) -> Result<CustodianOutcome, FlowError> {
    for p in [&req.first, &req.second] {
        check_new_person(p)?;
    }
    let first = enroll_key(console, station, &req.first, elig, &[])?;
    let others = [(
        first.credential_id.0.clone(),
        format!("the custodian key {} just enrolled", req.first.id),
    )];
    let second = enroll_key(console, station, &req.second, elig, &others)?;
    let body = CustodyEvent::CustodianBootstrap(CustodianBootstrap {
        custodians: vec![first.clone(), second.clone()],
    });
    let event = UnsignedEvent::new(body.kind(), &req.actor, body.to_body()?)?;
    station.check(&[&event])?;
    // The approvers are the two people being enrolled, with the keys just enrolled.
    let people = [&first, &second]
        .iter()
        .map(|s| Custodian::from_spec(s, station.len()).map_err(FlowError::Usage))
        .collect::<Result<Vec<_>, _>>()?;
    let approvers = [
        Approver {
            id: req.first.id.clone(),
            device: req.first.device.clone(),
        },
        Approver {
            id: req.second.id.clone(),
            device: req.second.device.clone(),
        },
    ];
    let approvals = gather_from(&people, &event, &approvers, console)?;
    let receipt = station.append_one(event, approvals)?;
    outcome(
        station,
        receipt.first_seq,
        body.kind(),
        &[&req.first.id, &req.second.id],
    )
}

/// Enrolls one more custodian or auditor, approved by two active custodians.
pub fn add(
    station: &mut Station,
    console: &mut dyn Console,
    req: &AddRequest,
    elig: &Eligibility,
) -> Result<CustodianOutcome, FlowError> {
    if station.state().registry().all().is_empty() {
        return Err(FlowError::Usage(
            "the registry is empty: the first two custodians enroll together with \
             `rootkey custodian bootstrap`"
                .into(),
        ));
    }
    check_new_person(&req.person)?;
    // Whether the id is free and who may approve are known before anyone touches a key.
    if let Some(old) = station.state().registry().get(&req.person.id) {
        return Err(FlowError::Usage(format!(
            "id {} is taken ({} was enrolled at entry {}; ids are unique for the life of the ledger, in any letter case): choose another id",
            req.person.id, old.id, old.added_seq
        )));
    }
    let ids: Vec<&str> = req.approvers.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(
        station.state().registry(),
        &ids,
        &crate::custody::Requirement::Custodians(2),
    )?;
    let spec = enroll_key(console, station, &req.person, elig, &[])?;
    let body = CustodyEvent::CustodianAdded(CustodianAdded { custodian: spec });
    let event = UnsignedEvent::new(body.kind(), &req.actor, body.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    let approvals = gather_approvals(station, &event, &requirement, &req.approvers, console)?;
    let receipt = station.append_one(event, approvals)?;
    outcome(station, receipt.first_seq, body.kind(), &[&req.person.id])
}

/// Removes a person, approved by two other active custodians; never leaves fewer than two.
pub fn remove(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RemoveRequest,
) -> Result<CustodianOutcome, FlowError> {
    let reason = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(r) = reason {
        check_text("--reason", TextKind::Reason, r)?;
    }
    let body = CustodyEvent::CustodianRemoved(CustodianRemoved {
        id: req.id.clone(),
        reason: reason.map(str::to_string),
    });
    let event = UnsignedEvent::new(body.kind(), &req.actor, body.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    let approvals = gather_approvals(station, &event, &requirement, &req.approvers, console)?;
    let receipt = station.append_one(event, approvals)?;
    outcome(station, receipt.first_seq, body.kind(), &[&req.id])
}

/// Everyone the ledger ever enrolled, in enrollment order.
pub fn list(station: &Station) -> Vec<CustodianView> {
    station
        .state()
        .registry()
        .all()
        .iter()
        .map(CustodianView::from)
        .collect()
}

/// A person replaces their own key (lost, broken, upgraded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateRequest {
    /// Who records it.
    pub actor: String,
    /// The person's id.
    pub id: String,
    /// Their new key.
    pub device: DeviceSpec,
    /// Why.
    pub reason: String,
    /// Who approves: the person with their current key, or two other custodians.
    pub approvers: Vec<Approver>,
}

/// Gives a person a new key: attested under the custodian policy, proven to hold no credential
/// the ledger knows, approved by the person with their old key (or by two other custodians when
/// the old key is gone). From this entry on only the new key approves for them.
pub fn rotate(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RotateRequest,
    elig: &Eligibility,
) -> Result<CustodianOutcome, FlowError> {
    check_text("--reason", TextKind::Reason, &req.reason)?;
    let person = station
        .state()
        .registry()
        .get(&req.id)
        .filter(|c| c.is_active())
        .cloned()
        .ok_or_else(|| {
            FlowError::Usage(format!(
                "no active person has id {}: check `rootkey custodian list`",
                crate::text::escape(&req.id)
            ))
        })?;
    let requirement = crate::custody::Requirement::SelfOrCustodians(person.id.clone());
    let ids: Vec<&str> = req.approvers.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(station.state().registry(), &ids, &requirement)?;
    let new = NewCustodian {
        id: person.id.clone(),
        name: person.name.clone(),
        role: person.role,
        device: req.device.clone(),
    };
    let spec = enroll_key(console, station, &new, elig, &[])?;
    let body = CustodyEvent::CustodianRotated(crate::custody::events::CustodianRotated {
        id: person.id.clone(),
        credential_id: spec.credential_id,
        public_key: spec.public_key,
        aaguid: spec.aaguid,
        model: spec.model,
        attestation: spec.attestation,
        reason: req.reason.trim().to_string(),
    });
    let event = UnsignedEvent::new(body.kind(), &req.actor, body.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    let approvals = gather_approvals(station, &event, &requirement, &req.approvers, console)?;
    let receipt = station.append_one(event, approvals)?;
    outcome(station, receipt.first_seq, body.kind(), &[&person.id])
}
