//! Possession: the key in hand signs a fresh challenge with its custody credential.

use serde::Serialize;
use time::OffsetDateTime;

use super::{
    check_text, gather_approvals, random_challenge, with_key, Approver, Console, FlowError,
};
use crate::custody::break_glass::verify_possession;
use crate::custody::events::{CustodyEvent, KeyVerified, PossessionProof, B64};
use crate::custody::state::KeyState;
use crate::custody::Station;
use crate::device::{DeviceError, DeviceSpec, GetAssertion, CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::ledger::UnsignedEvent;
use crate::text::{self, TextKind};
use crate::webauthn::{client_data::TYPE_GET, AuthData, ClientData};

/// The key with this id, or a usage error that says where to look.
pub(crate) fn known_key<'s>(station: &'s Station, key_id: &str) -> Result<&'s KeyState, FlowError> {
    station.state().key(key_id).ok_or_else(|| {
        FlowError::Usage(format!(
            "no key {} in custody: check `rootkey keys enrolled`",
            text::escape(key_id)
        ))
    })
}

/// Asks the key at `device` to prove it holds `key`'s custody credential, over a fresh
/// challenge, and checks the proof exactly as the fold will; a key that does not hold the
/// credential is refused as the wrong key.
pub fn prove_possession(
    console: &mut dyn Console,
    key: &KeyState,
    device: &DeviceSpec,
) -> Result<PossessionProof, FlowError> {
    let refused = |reason: String| FlowError::Possession {
        key_id: key.key_id.clone(),
        reason,
    };
    let challenge = random_challenge()?;
    let client_data = ClientData::json(TYPE_GET, &challenge, CUSTODY_ORIGIN);
    console.step(&format!(
        "key {} ({} of account {}): insert it and touch it to prove it is the enrolled key",
        key.key_id,
        key.role.as_str(),
        key.account_id
    ))?;
    let label = format!("key {}", key.key_id);
    let result = with_key(console, &label, device, |k, pin| {
        k.get_assertion(&GetAssertion {
            rp_id: CUSTODY_RP_ID.into(),
            client_data: client_data.clone(),
            allow_credentials: vec![key.custody_credential_id.clone()],
            pin,
            user_presence: true,
        })
    });
    let assertion = match result {
        Ok(a) => a,
        Err(FlowError::Device {
            error: DeviceError::NoCredentials { .. },
            ..
        }) => {
            return Err(refused(
                "the key in hand does not hold its custody credential".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    let counter = AuthData::parse(&assertion.authenticator_data)
        .map(|a| a.sign_count)
        .map_err(|e| refused(format!("authenticator data: {e}")))?;
    let proof = PossessionProof {
        challenge: B64(challenge.to_vec()),
        authenticator_data: B64(assertion.authenticator_data),
        client_data_json: B64(client_data),
        signature: B64(assertion.signature),
        counter,
    };
    verify_possession(key, &proof).map_err(refused)?;
    Ok(proof)
}

/// A possession check of a key in the safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// Who records it.
    pub actor: String,
    /// Key id.
    pub key_id: String,
    /// The key itself.
    pub key_device: DeviceSpec,
    /// Custodians who witness it: one is enough, two are needed when the bag was opened.
    pub custodians: Vec<Approver>,
    /// New bag serial, when the bag had to be opened for the check.
    pub new_bag: Option<String>,
}

/// What a possession check recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyOutcome {
    /// Ledger sequence number.
    pub seq: u64,
    /// Key id.
    pub key_id: String,
    /// Account.
    pub account_id: String,
    /// The key's signature counter.
    pub counter: u32,
    /// The new bag, when resealed.
    pub bag_serial: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

/// Proves possession, builds `key.verified`, asks the custody rules, gathers the witnesses'
/// approvals (two when the bag was opened), appends.
pub fn verify(
    station: &mut Station,
    console: &mut dyn Console,
    req: &VerifyRequest,
) -> Result<VerifyOutcome, FlowError> {
    if req.custodians.is_empty() {
        return Err(FlowError::Usage(
            "name the witnessing custodian (--custodians A)".into(),
        ));
    }
    let new_bag = req.new_bag.as_deref().map(str::trim);
    if let Some(bag) = new_bag {
        check_text("--bag", TextKind::Serial, bag)?;
    }
    let key = known_key(station, &req.key_id)?;
    let requirement =
        crate::custody::Requirement::Custodians(if new_bag.is_some() { 2 } else { 1 });
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(station.state().registry(), &ids, &requirement)?;
    let proof = prove_possession(console, key, &req.key_device)?;
    let counter = proof.counter;
    let body = KeyVerified {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        proof,
        bag_serial: new_bag.map(str::to_string),
    };
    let account_id = body.account_id.clone();
    let bag_serial = body.bag_serial.clone();
    let custody = CustodyEvent::KeyVerified(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    let requirement = station.check(&[&event])?.remove(0);
    let approvals = gather_approvals(station, &event, &requirement, &req.custodians, console)?;
    let receipt = station.append_one(event, approvals)?;
    Ok(VerifyOutcome {
        seq: receipt.first_seq,
        key_id: req.key_id.clone(),
        account_id,
        counter,
        bag_serial,
        time: OffsetDateTime::now_utc(),
    })
}
