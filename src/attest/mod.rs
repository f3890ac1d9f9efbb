//! Attestation: what a key proves about itself, checked against pinned roots, FIDO metadata
//! and policy. Pure: bytes and values in, verdicts out.
//!
//! Layout follows the wire format: [`object`] parses the attestation object, one file per
//! statement format ([`packed`], [`fido_u2f`], [`none`], [`platform`]), [`chain`] validates
//! certificate paths against [`anchor`]s (which [`trust`] collects), [`mds`] reads FIDO metadata, [`crate::webauthn::models`] and
//! [`firmware`] know about devices, and [`policy`] turns a verified attestation into an
//! eligibility decision.
//!
//! Two steps, two types: [`verify`] yields an [`AttestationResult`] whose `Valid` verdict holds a
//! [`VerifiedAttestation`] (no public constructor: only the verifier makes one), and [`evaluate`]
//! yields an [`Eligibility`] that hands it on only when the policy allows the key.

pub mod anchor;
pub mod assurance;
pub mod chain;
pub mod fido_u2f;
pub mod firmware;
pub mod mds;

pub mod none;
pub mod object;
pub mod packed;
pub mod platform;
pub mod policy;
pub mod reason;
pub mod report;
pub mod sig;
pub mod trust;

use serde::Serialize;
use time::OffsetDateTime;

use crate::webauthn::authdata::format_aaguid;
use crate::webauthn::client_data::TYPE_CREATE;
use crate::webauthn::{sha256, AuthData, ClientData, ClientDataError, CoseKey, Evidence};

pub use anchor::{Anchor, AnchorSource, TrustError};
pub use assurance::Assurance;
pub use mds::{Certification, MdsBlob, MdsError, MdsMatch};
pub use object::{AttestationObject, ObjectError};
pub use policy::{
    configs_from_table, evaluate, Eligibility, Finding, FirmwareAction, KeyPurpose, Policy,
    PolicyConfig, PolicyError, Severity,
};
pub use reason::InvalidReason;
pub use report::FileReport;
pub use trust::TrustStore;

/// What a format's verification procedure concluded about the statement's signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// Signed by an attestation certificate (x5c, leaf first) that must chain to a trusted root.
    Basic {
        /// The certificate chain, DER, leaf first.
        x5c: Vec<Vec<u8>>,
    },
    /// Signed by the credential key itself: proves possession, not model or hardware.
    SelfAttestation,
}

/// How the attestation was signed, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttestationType {
    /// An attestation certificate chained to a trusted root.
    Basic,
    /// Self attestation: no certificate, no proof of model.
    SelfAttestation,
}

/// The root a chain ended in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustRoot {
    /// The anchor's name (PEM file name or `mds:<description>`).
    pub name: String,
    /// Where the anchor came from.
    pub source: AnchorSource,
    /// SHA-256 of the anchor certificate, hex.
    pub fingerprint: String,
}

/// An attestation the verifier checked and accepted. Only [`verify`] constructs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAttestation {
    fmt: String,
    kind: AttestationType,
    aaguid: [u8; 16],
    rp_id: String,
    credential_id: Vec<u8>,
    credential_key: CoseKey,
    trust_root: Option<TrustRoot>,
    leaf_subject: Option<String>,
    certificate_key_id: Option<String>,
    mds: Option<MdsMatch>,
    challenge: ChallengeCheck,
    assurance: Assurance,
}

impl VerifiedAttestation {
    /// The statement format (`packed` or `fido-u2f`).
    pub fn fmt(&self) -> &str {
        &self.fmt
    }
    /// Basic (certificate chain) or self attestation.
    pub fn kind(&self) -> AttestationType {
        self.kind
    }
    /// The attested AAGUID (zeros for U2F keys).
    pub fn aaguid(&self) -> [u8; 16] {
        self.aaguid
    }
    /// The RP ID the credential is scoped to.
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }
    /// The new credential's id.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }
    /// The new credential's public key.
    pub fn credential_key(&self) -> &CoseKey {
        &self.credential_key
    }
    /// The root the chain ended in (None for self attestation).
    pub fn trust_root(&self) -> Option<&TrustRoot> {
        self.trust_root.as_ref()
    }
    /// Subject of the attestation certificate, for reports.
    pub fn leaf_subject(&self) -> Option<&str> {
        self.leaf_subject.as_deref()
    }
    /// Attestation certificate key identifier (SHA-1 of the leaf's subjectPublicKey), hex.
    pub fn certificate_key_id(&self) -> Option<&str> {
        self.certificate_key_id.as_deref()
    }
    /// The FIDO metadata entry that matched, if metadata was supplied.
    pub fn mds(&self) -> Option<&MdsMatch> {
        self.mds.as_ref()
    }
    /// Whether the client data challenge was compared with the issued one (custody flows
    /// should require `Checked`: third-party evidence cannot exclude replay).
    pub fn challenge(&self) -> ChallengeCheck {
        self.challenge
    }
    /// What the attested values prove about the key being hardware: software when the signed
    /// AAGUID, the model name or the attestation certificate says so, else decided by where the
    /// chain ended (see [`Assurance`]). The policy may lower it with the key's own statements.
    pub fn assurance(&self) -> Assurance {
        self.assurance
    }
}

/// The verdict on one attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Valid(Box<VerifiedAttestation>),
    /// A check failed, for this reason.
    Invalid(InvalidReason),
    /// `fmt: none`: the registration is well formed but proves nothing about the key.
    Absent,
    /// A platform format (tpm, android-key, android-safetynet, apple): not a roaming key.
    Platform,
}

impl Verdict {
    /// `valid`, `invalid`, `absent` or `platform`, as the JSON output names it.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Valid(_) => "valid",
            Verdict::Invalid(_) => "invalid",
            Verdict::Absent => "absent",
            Verdict::Platform => "platform",
        }
    }
}

/// Whether the client data challenge was compared with the one rootkey issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeCheck {
    /// Compared and equal.
    Checked,
    /// No issued challenge was known (third-party evidence): replay is not excluded.
    NotChecked,
}

/// Everything the verifier learned about one attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationResult {
    /// The statement format, when the attestation object could be parsed.
    pub fmt: Option<String>,
    /// The AAGUID from attested credential data, when authenticator data could be parsed.
    pub aaguid: Option<[u8; 16]>,
    /// Whether the challenge was checked.
    pub challenge: ChallengeCheck,
    /// The verdict.
    pub verdict: Verdict,
}

impl AttestationResult {
    /// The AAGUID in 8-4-4-4-12 form.
    pub fn aaguid_string(&self) -> Option<String> {
        self.aaguid.as_ref().map(format_aaguid)
    }
}

/// Inputs to verification besides the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// When to check certificate validity (tests and old evidence inject a time).
    pub at: OffsetDateTime,
    /// The challenge rootkey issued; overrides the one recorded in evidence.
    pub expected_challenge: Option<Vec<u8>>,
    /// The RP ID to require; overrides the one recorded in evidence.
    pub rp_id: Option<String>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            at: OffsetDateTime::now_utc(),
            expected_challenge: None,
            rp_id: None,
        }
    }
}

/// Why an evidence file could not even be verified (unusable input, not a failed check).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Evidence(#[from] crate::webauthn::EvidenceError),
}

/// Verifies the attestation in an evidence file (challenge from `opts` or else the evidence).
pub fn verify_evidence(
    evidence: &Evidence,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Result<AttestationResult, InputError> {
    let object = evidence.attestation_object()?;
    let client_data = evidence.client_data_json()?;
    let challenge = match &opts.expected_challenge {
        Some(c) => Some(c.clone()),
        None => evidence.challenge()?,
    };
    let rp_id = opts.rp_id.as_deref().unwrap_or(&evidence.rp_id);
    Ok(verify(
        &object,
        &client_data,
        rp_id,
        challenge.as_deref(),
        trust,
        opts.at,
    ))
}

/// Verifies one registration's attestation (WebAuthn §7.1 steps 7–22) and returns the verdict.
pub fn verify(
    attestation_object: &[u8],
    client_data_json: &[u8],
    rp_id: &str,
    expected_challenge: Option<&[u8]>,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> AttestationResult {
    let mut result = AttestationResult {
        fmt: None,
        aaguid: None,
        challenge: ChallengeCheck::NotChecked,
        verdict: Verdict::Absent,
    };
    result.verdict = match verify_inner(
        attestation_object,
        client_data_json,
        rp_id,
        expected_challenge,
        trust,
        at,
        &mut result,
    ) {
        Ok(v) => v,
        Err(reason) => Verdict::Invalid(reason),
    };
    result
}

fn verify_inner(
    attestation_object: &[u8],
    client_data_json: &[u8],
    rp_id: &str,
    expected_challenge: Option<&[u8]>,
    trust: &TrustStore,
    at: OffsetDateTime,
    result: &mut AttestationResult,
) -> Result<Verdict, InvalidReason> {
    // §7.1 step 12: decode the attestation object.
    let obj =
        AttestationObject::parse(attestation_object).map_err(InvalidReason::MalformedObject)?;
    result.fmt = Some(obj.fmt.clone());
    let client_data_hash = sha256(client_data_json);
    if obj.fmt == "packed" {
        packed::check_x5c_signature(&obj, &client_data_hash)?;
    }
    let auth = AuthData::parse(&obj.auth_data).map_err(InvalidReason::MalformedAuthData)?;
    result.aaguid = auth.attested.as_ref().map(|c| c.aaguid);

    // §7.1 steps 7–10: client data type, challenge, token binding.
    let cd = ClientData::parse(client_data_json)
        .map_err(|e| InvalidReason::MalformedClientData(e.to_string()))?;
    if cd.kind != TYPE_CREATE {
        return Err(InvalidReason::ClientDataType(cd.kind.clone()));
    }
    if let Some(challenge) = expected_challenge {
        match cd.check(TYPE_CREATE, challenge) {
            Ok(()) => result.challenge = ChallengeCheck::Checked,
            Err(ClientDataError::WrongChallenge | ClientDataError::BadChallenge) => {
                return Err(InvalidReason::ChallengeMismatch)
            }
            Err(ClientDataError::TokenBinding(s)) => return Err(InvalidReason::TokenBinding(s)),
            Err(e) => return Err(InvalidReason::MalformedClientData(e.to_string())),
        }
    }
    cd.check_token_binding().map_err(|e| match e {
        ClientDataError::TokenBinding(s) => InvalidReason::TokenBinding(s),
        other => InvalidReason::MalformedClientData(other.to_string()),
    })?;

    // §7.1 step 13: the credential is scoped to our RP ID.
    if !auth.is_for_rp(rp_id) {
        return Err(InvalidReason::RpIdMismatch(rp_id.to_string()));
    }
    // §7.1 step 14: user present.
    if !auth.flags.user_present() {
        return Err(InvalidReason::UserNotPresent);
    }
    // §7.1 step 19 needs attested credential data (AT) on a registration.
    let cred = auth
        .attested
        .as_ref()
        .ok_or(InvalidReason::NoAttestedCredential)?;

    // §7.1 steps 20–21: dispatch on fmt.
    let statement = match obj.fmt.as_str() {
        "packed" => packed::verify(&obj, &auth, &client_data_hash)?,
        "fido-u2f" => fido_u2f::verify(&obj, &auth, &client_data_hash)?,
        "none" => {
            none::verify(&obj)?;
            return Ok(Verdict::Absent);
        }
        f if platform::is_platform(f) => return Ok(Verdict::Platform),
        other => return Err(InvalidReason::UnsupportedFormat(other.to_string())),
    };

    let mut verified = VerifiedAttestation {
        fmt: obj.fmt.clone(),
        kind: AttestationType::SelfAttestation,
        aaguid: cred.aaguid,
        rp_id: rp_id.to_string(),
        credential_id: cred.credential_id.clone(),
        credential_key: cred.public_key.clone(),
        trust_root: None,
        leaf_subject: None,
        certificate_key_id: None,
        mds: None,
        challenge: result.challenge,
        // No chain (self attestation) until a chain is verified below.
        assurance: Assurance::UserRoot,
    };
    if let Statement::Basic { x5c } = statement {
        // §7.1 step 22: the chain must end in an acceptable trust anchor.
        let leaf = chain::parse_cert(0, &x5c[0])?;
        let key_id = hex::encode(
            ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &leaf.public_key().subject_public_key.data,
            )
            .as_ref(),
        );
        verified.leaf_subject = Some(leaf.subject().to_string());
        let entry = trust.mds().and_then(|m| {
            if cred.aaguid != [0u8; 16] {
                m.by_aaguid(&cred.aaguid)
            } else {
                m.by_key_id(&key_id)
            }
        });
        let mds_anchors = entry.map(|e| e.anchors()).unwrap_or_default();
        let anchors: Vec<&Anchor> = trust.anchors().iter().chain(mds_anchors.iter()).collect();
        let root = chain::verify_chain(&x5c, &anchors, at)?;
        verified.trust_root = Some(TrustRoot {
            name: root.name.clone(),
            source: root.source,
            fingerprint: root.fingerprint(),
        });
        verified.kind = AttestationType::Basic;
        verified.certificate_key_id = Some(key_id);
        verified.mds = entry.map(|e| e.summary(trust.mds().is_some_and(|m| m.is_stale(at))));
        verified.assurance = match root.source {
            AnchorSource::PinnedVendor | AnchorSource::Mds => Assurance::Hardware,
            AnchorSource::User => Assurance::UserRoot,
        };
    }
    // Software wins over any root: a software key is copyable whoever signed its certificate.
    let model = crate::webauthn::models::model_name(&cred.aaguid)
        .map(str::to_string)
        .or_else(|| verified.mds.as_ref().map(|m| m.description.clone()));
    if assurance::software_in_attestation(
        &cred.aaguid,
        model.as_deref(),
        verified.leaf_subject.as_deref(),
    )
    .is_some()
    {
        verified.assurance = Assurance::Software;
    }
    // Self attestation gets no metadata: its AAGUID is the key's unproven claim.
    Ok(Verdict::Valid(Box::new(verified)))
}

#[cfg(test)]
mod tests;
