//! Possession: the key in hand signs a fresh challenge with its custody credential.

use serde::Serialize;
use time::OffsetDateTime;

use super::{gather_approvals, random_challenge, snapshot, with_key, Approver, Console, FlowError};
use crate::custody::events::{CustodyEvent, PossessionProof, B64};
use crate::custody::rules::{self, RuleError};
use crate::custody::state::KeyState;
use crate::device::{DeviceError, DeviceSpec, GetAssertion, CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::ledger::{Ledger, UnsignedEvent};
use crate::webauthn::{client_data::TYPE_GET, AuthData, ClientData};

/// Asks the key at `device` to prove it holds `key`'s custody credential, over a fresh
/// challenge. Returns the proof and the challenge it answers; a key that does not hold the
/// credential is refused as the wrong key.
pub fn prove_possession(
    console: &mut dyn Console,
    key: &KeyState,
    device: &DeviceSpec,
) -> Result<(PossessionProof, [u8; 32]), FlowError> {
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
        })
    });
    let assertion = match result {
        Ok(a) => a,
        Err(FlowError::Device {
            source: DeviceError::NoCredentials { .. },
            ..
        }) => {
            return Err(RuleError::PossessionRefused {
                key_id: key.key_id.clone(),
                reason: "the key in hand does not hold its custody credential".into(),
            }
            .into())
        }
        Err(e) => return Err(e),
    };
    let counter = AuthData::parse(&assertion.authenticator_data)
        .map(|a| a.sign_count)
        .map_err(|e| RuleError::PossessionRefused {
            key_id: key.key_id.clone(),
            reason: format!("authenticator data: {e}"),
        })?;
    Ok((
        PossessionProof {
            challenge: B64(challenge.to_vec()),
            authenticator_data: B64(assertion.authenticator_data),
            client_data_json: B64(client_data),
            signature: B64(assertion.signature),
            counter,
        },
        challenge,
    ))
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

/// Proves possession and appends `key.verified`.
pub fn verify(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &VerifyRequest,
) -> Result<VerifyOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    let key = snap
        .state
        .keys
        .get(&req.key_id)
        .ok_or_else(|| RuleError::UnknownKey(req.key_id.clone()))?;
    // Opening a bag changes custody, so it takes two people like every other custody change.
    match (&req.new_bag, req.custodians.as_slice()) {
        (_, []) => {
            return Err(FlowError::Usage(
                "name the witnessing custodian (--custodians A)".into(),
            ))
        }
        (Some(_), [a, b]) => rules::check_dual_control(&a.id, &b.id, snap.registry.all())?,
        (Some(_), _) => {
            return Err(FlowError::Usage(
                "resealing in a new bag (--bag) needs two custodians (--custodians A,B)".into(),
            ))
        }
        (None, _) => {}
    }
    let (proof, challenge) = prove_possession(console, key, &req.key_device)?;
    let counter = proof.counter;
    let body = rules::plan_verify(
        &snap.state,
        &req.key_id,
        proof,
        &challenge,
        req.new_bag.as_deref(),
    )?;
    let account_id = body.account_id.clone();
    let bag_serial = body.bag_serial.clone();
    let custody = CustodyEvent::KeyVerified(body);
    let event = UnsignedEvent::new(custody.kind(), &req.actor, custody.to_body()?)?;
    super::precheck_fold(&snap.state, snap.len, &[&event])?;
    let approvals = gather_approvals(&snap.registry, snap.len, &event, &req.custodians, console)?;
    let receipt = ledger.append_at(Some(snap.len), &event, approvals)?;
    Ok(VerifyOutcome {
        seq: receipt.seq,
        key_id: req.key_id.clone(),
        account_id,
        counter,
        bag_serial,
        time: OffsetDateTime::now_utc(),
    })
}
