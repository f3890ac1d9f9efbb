//! The custodian registry: the first two people together, then one more at a time, removal, list.

use serde::Serialize;
use serde_json::json;

use super::approve::gather_from;
use super::{random_challenge, snapshot, with_key, Approver, Console, FlowError};
use crate::custody::rules::check_dual_control;
use crate::device::{DeviceSpec, MakeCredential};
use crate::ledger::rules::{CUSTODIAN_ADDED, CUSTODIAN_BOOTSTRAP, CUSTODIAN_REMOVED};
use crate::ledger::{Custodian, CustodianSpec, Ledger, Role, UnsignedEvent, CUSTODIAN_RP_ID};
use crate::webauthn::{b64url, client_data::TYPE_CREATE, ClientData};

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

fn check_new_person(p: &NewCustodian, ledger_people: &[Custodian]) -> Result<(), FlowError> {
    if p.id.trim().is_empty() || p.name.trim().is_empty() {
        return Err(FlowError::Usage(
            "a custodian needs a non-empty id and --name".into(),
        ));
    }
    if p.id.contains(',') || p.id.contains('=') || p.id.trim() != p.id {
        return Err(FlowError::Usage(format!(
            "custodian id {:?} may not contain spaces at the ends, `,` or `=` (they separate ids on the command line)",
            p.id
        )));
    }
    if ledger_people.iter().any(|c| c.id == p.id) {
        return Err(crate::ledger::RuleError::DuplicateId(p.id.clone()).into());
    }
    Ok(())
}

/// Makes `p`'s custodian credential on their own key (RP ID `rootkey.custodian`).
fn make_credential(
    console: &mut dyn Console,
    p: &NewCustodian,
) -> Result<CustodianSpec, FlowError> {
    let challenge = random_challenge()?;
    let client_data = ClientData::json(TYPE_CREATE, &challenge, CUSTODIAN_ORIGIN);
    console.step(&format!(
        "{} ({}): insert your own key and touch it to enroll it as your {} key",
        p.id,
        p.name,
        p.role.as_str()
    ))?;
    let label = format!("custodian {}", p.id);
    let reg = with_key(console, &label, &p.device, |key, pin| {
        key.make_credential(&MakeCredential {
            rp_id: CUSTODIAN_RP_ID.into(),
            client_data: client_data.clone(),
            user_id: p.id.as_bytes().to_vec(),
            user_name: p.id.clone(),
            pin,
        })
    })?;
    Ok(CustodianSpec::new(
        &p.id,
        &p.name,
        p.role,
        &reg.credential_id,
        &reg.public_key,
    ))
}

fn outcome(
    ledger: &Ledger,
    seq: u64,
    kind: &str,
    ids: &[&str],
) -> Result<CustodianOutcome, FlowError> {
    let registry = ledger.custodians()?;
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
/// new keys.
pub fn bootstrap(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &BootstrapRequest,
) -> Result<CustodianOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    if !snap.registry.all().is_empty() {
        return Err(crate::ledger::RuleError::AlreadyBootstrapped.into());
    }
    for p in [&req.first, &req.second] {
        check_new_person(p, &[])?;
        if p.role != Role::Custodian {
            return Err(FlowError::Usage(
                "the first two people must both be custodians (auditors are added later)".into(),
            ));
        }
    }
    if req.first.id == req.second.id {
        return Err(crate::ledger::RuleError::DuplicateId(req.first.id.clone()).into());
    }
    let specs = [
        make_credential(console, &req.first)?,
        make_credential(console, &req.second)?,
    ];
    if specs[0].credential_id == specs[1].credential_id {
        return Err(crate::ledger::RuleError::DuplicateCredential(req.second.name.clone()).into());
    }
    let event = UnsignedEvent::new(
        CUSTODIAN_BOOTSTRAP,
        &req.actor,
        json!({ "custodians": specs }),
    )?;
    // The approvers are the two people being enrolled, with the keys just enrolled.
    let pool: Vec<Custodian> = [(&req.first, &specs[0]), (&req.second, &specs[1])]
        .iter()
        .map(|(p, s)| -> Result<Custodian, FlowError> {
            let cbor = crate::webauthn::b64url_decode(&s.public_key)
                .map_err(|e| FlowError::Usage(format!("public key encoding: {e}")))?;
            Ok(Custodian {
                id: p.id.clone(),
                name: p.name.clone(),
                role: p.role,
                credential_id: crate::webauthn::b64url_decode(&s.credential_id)
                    .map_err(|e| FlowError::Usage(format!("credential id encoding: {e}")))?,
                public_key: crate::webauthn::CoseKey::parse(&cbor)
                    .map_err(|e| FlowError::Usage(format!("public key: {e}")))?,
                added_seq: snap.len,
                removed_seq: None,
            })
        })
        .collect::<Result<_, _>>()?;
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
    let approvals = gather_from(&snap.registry, &pool, &event, &approvers, console)?;
    snap.registry
        .check(snap.len, event.event(), event.canonical_bytes(), &approvals)?;
    let receipt = ledger.append(&event, approvals)?;
    outcome(
        ledger,
        receipt.seq,
        CUSTODIAN_BOOTSTRAP,
        &[&req.first.id, &req.second.id],
    )
}

/// Enrolls one more custodian or auditor, approved by two active custodians.
pub fn add(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &AddRequest,
) -> Result<CustodianOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    if snap.registry.all().is_empty() {
        return Err(FlowError::Usage(
            "the registry is empty: the first two custodians enroll together with \
             `rootkey custodian bootstrap`"
                .into(),
        ));
    }
    check_new_person(&req.person, snap.registry.all())?;
    check_dual_control(
        &req.approvers[0].id,
        &req.approvers[1].id,
        snap.registry.all(),
    )?;
    let spec = make_credential(console, &req.person)?;
    let event = UnsignedEvent::new(CUSTODIAN_ADDED, &req.actor, json!({ "custodian": spec }))?;
    let approvals =
        super::gather_approvals(&snap.registry, snap.len, &event, &req.approvers, console)?;
    let receipt = ledger.append(&event, approvals)?;
    outcome(ledger, receipt.seq, CUSTODIAN_ADDED, &[&req.person.id])
}

/// Removes a person, approved by two active custodians. Refused when it would leave fewer than
/// two active custodians, since no later event could then be approved.
pub fn remove(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &RemoveRequest,
) -> Result<CustodianOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    let who = snap
        .registry
        .active()
        .find(|c| c.id == req.id)
        .ok_or_else(|| crate::ledger::RuleError::NoSuchCustodian(req.id.clone()))?;
    let custodians_left = snap
        .registry
        .active()
        .filter(|c| c.role == Role::Custodian && c.id != who.id)
        .count();
    if who.role == Role::Custodian && custodians_left < 2 {
        return Err(FlowError::Usage(format!(
            "removing {} would leave {custodians_left} active custodian(s), and dual control needs two: add a custodian first",
            who.id
        )));
    }
    check_dual_control(
        &req.approvers[0].id,
        &req.approvers[1].id,
        snap.registry.all(),
    )?;
    let mut body = json!({ "id": req.id });
    if let Some(reason) = req.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        body["reason"] = json!(reason.trim());
    }
    let event = UnsignedEvent::new(CUSTODIAN_REMOVED, &req.actor, body)?;
    let approvals =
        super::gather_approvals(&snap.registry, snap.len, &event, &req.approvers, console)?;
    let receipt = ledger.append(&event, approvals)?;
    outcome(ledger, receipt.seq, CUSTODIAN_REMOVED, &[&req.id])
}

/// Everyone the ledger ever enrolled, in enrollment order.
pub fn list(ledger: &Ledger) -> Result<Vec<CustodianView>, FlowError> {
    Ok(ledger
        .custodians()?
        .all()
        .iter()
        .map(CustodianView::from)
        .collect())
}
