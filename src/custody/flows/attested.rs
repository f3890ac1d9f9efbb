//! A key entering the ledger, root key or custodian key alike: its attestation verified under
//! the policy for its purpose, and a silent probe proving it holds no credential the ledger
//! already knows (one key, one person, one purpose).

use super::{with_key, Console, FlowError};
use crate::attest::{self, FileReport, Policy, TrustStore};
use crate::custody::dual_control::CUSTODIAN_RP_ID;
use crate::custody::events::AttestationSummary;
use crate::custody::state::CustodyState;
use crate::device::{self, DeviceError, DeviceSpec, GetAssertion, CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::webauthn::{client_data::TYPE_GET, ClientData};

/// What decides whether a key may be enrolled for a purpose: trust anchors and policy.
#[derive(Debug, Clone)]
pub struct Eligibility {
    /// Anchors (pinned vendor roots, plus any the operator trusted explicitly).
    pub trust: TrustStore,
    /// The policy for this purpose (root keys: `[policy]`; custodian keys: `[policy.custodian]`).
    pub policy: Policy,
}

/// A key whose attestation passed: its new credential and what the attestation proved.
#[derive(Debug, Clone)]
pub struct Attested {
    /// The new credential's id.
    pub credential_id: Vec<u8>,
    /// Its COSE public key.
    pub public_key: Vec<u8>,
    /// AAGUID, hyphenated.
    pub aaguid: String,
    /// Model name.
    pub model: String,
    /// Firmware, when the key reports it.
    pub firmware: Option<String>,
    /// The verdict, as recorded in the ledger.
    pub attestation: AttestationSummary,
}

/// Makes a credential on `rp_id` with the key at `device`, verifies its attestation and
/// applies the policy; `who` names the key in messages (`primary`, `custodian alice`).
pub fn attest_key(
    console: &mut dyn Console,
    who: &str,
    device: &DeviceSpec,
    rp_id: &str,
    origin: &str,
    elig: &Eligibility,
) -> Result<Attested, FlowError> {
    let ineligible = |why: String| FlowError::Ineligible {
        role: who.to_string(),
        why,
    };
    let (evidence, reg) = with_key(console, &format!("{who} key"), device, |k, pin| {
        device::attest_on(k, pin, rp_id, origin, "rootkey")
    })?;
    let result = attest::verify_evidence(&evidence, &elig.trust, &attest::VerifyOptions::default())
        .map_err(|e| ineligible(e.to_string()))?;
    let decision = attest::evaluate(&result, evidence.device.as_ref(), &elig.policy);
    let report = FileReport::new(who, &result, &decision);
    let (Some(verified), Some(assurance)) = (decision.approved(), decision.assurance()) else {
        let mut why: Vec<String> = report.reason.iter().cloned().collect();
        why.extend(report.policy_findings.iter().map(|f| f.message.clone()));
        if why.is_empty() {
            why.push("the policy does not allow it".into());
        }
        return Err(ineligible(why.join("; ")));
    };
    if verified.credential_id() != reg.credential_id.as_slice() {
        return Err(ineligible(
            "the attested credential is not the one the key returned".into(),
        ));
    }
    Ok(Attested {
        credential_id: reg.credential_id.clone(),
        public_key: reg.public_key.to_cbor(),
        aaguid: crate::webauthn::authdata::format_aaguid(&verified.aaguid()),
        model: report
            .model
            .clone()
            .unwrap_or_else(|| "unknown model".into()),
        firmware: evidence
            .device
            .as_ref()
            .and_then(|d| d.firmware_version.clone()),
        attestation: AttestationSummary {
            fmt: verified.fmt().to_string(),
            trust_root: verified
                .trust_root()
                .map(|t| t.name.clone())
                .unwrap_or_else(|| "self".into()),
            assurance,
            certification: report.certification.map(str::to_string),
        },
    })
}

/// Asks the key at `device`, silently (no touch, no PIN where the key allows it), whether it
/// holds any credential the ledger knows, custodian or custody; refuses, naming whose.
pub fn refuse_known(
    console: &mut dyn Console,
    who: &str,
    device: &DeviceSpec,
    state: &CustodyState,
) -> Result<(), FlowError> {
    let custodians: Vec<(Vec<u8>, String)> = state
        .registry()
        .all()
        .iter()
        .map(|c| {
            (
                c.credential_id.clone(),
                format!("the custodian key of {} ({})", c.id, c.name),
            )
        })
        .collect();
    let roots: Vec<(Vec<u8>, String)> = state
        .keys()
        .values()
        .map(|k| {
            (
                k.custody_credential_id.clone(),
                format!("root key {} of account {}", k.key_id, k.account_id),
            )
        })
        .collect();
    refuse_holding(console, who, device, CUSTODIAN_RP_ID, &custodians)?;
    refuse_holding(console, who, device, CUSTODY_RP_ID, &roots)
}

/// Refuses, naming whose, when the key at `device` holds one of `credentials` on `rp_id`.
pub fn refuse_holding(
    console: &mut dyn Console,
    who: &str,
    device: &DeviceSpec,
    rp_id: &str,
    credentials: &[(Vec<u8>, String)],
) -> Result<(), FlowError> {
    let ids: Vec<Vec<u8>> = credentials.iter().map(|(c, _)| c.clone()).collect();
    match probe(console, who, device, rp_id, &ids)? {
        None => Ok(()),
        Some(found) => Err(FlowError::KnownKey {
            who: who.to_string(),
            owner: credentials
                .iter()
                .find(|(c, _)| *c == found)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| "a credential the ledger knows".into()),
        }),
    }
}

/// Allow lists are sent in chunks: keys accept only a few credentials per request.
const ALLOW_LIST_CHUNK: usize = 8;

/// The credential of `credentials` the key holds for `rp_id`, if any.
fn probe(
    console: &mut dyn Console,
    who: &str,
    device: &DeviceSpec,
    rp_id: &str,
    credentials: &[Vec<u8>],
) -> Result<Option<Vec<u8>>, FlowError> {
    for chunk in credentials.chunks(ALLOW_LIST_CHUNK) {
        let challenge = super::random_challenge()?;
        let client_data = ClientData::json(TYPE_GET, &challenge, CUSTODY_ORIGIN);
        let res = with_key(console, &format!("{who} key"), device, |k, pin| {
            k.get_assertion(&GetAssertion {
                rp_id: rp_id.into(),
                client_data: client_data.clone(),
                allow_credentials: chunk.to_vec(),
                pin,
                user_presence: false,
            })
        });
        match res {
            Ok(a) => return Ok(Some(a.credential_id)),
            Err(FlowError::Device {
                error: DeviceError::NoCredentials { .. },
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
