//! Why an attestation is invalid: one stable variant per failed check.

use crate::webauthn::AuthDataError;

use super::chain::ChainError;
use super::object::ObjectError;

/// The precise reason an attestation failed verification. Variant names are stable: reports,
/// tests and JSON output (`reason_code`) match on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    #[error("attestation object is malformed: {0}")]
    MalformedObject(ObjectError),
    #[error("authenticator data is malformed: {0}")]
    MalformedAuthData(AuthDataError),
    #[error("attestation statement is malformed: {0}")]
    MalformedStatement(String),
    #[error("client data JSON is malformed: {0}")]
    MalformedClientData(String),
    #[error("attestation certificate {index} is malformed: {detail}")]
    MalformedCertificate { index: usize, detail: String },
    #[error("attestation format {0:?} is not one rootkey knows")]
    UnsupportedFormat(String),
    #[error("rpIdHash in authenticator data is not SHA-256 of the RP ID {0:?}")]
    RpIdMismatch(String),
    #[error("the user-present flag is not set")]
    UserNotPresent,
    #[error("authenticator data carries no attested credential data (AT flag clear)")]
    NoAttestedCredential,
    #[error("client data type is {0:?}, expected \"webauthn.create\"")]
    ClientDataType(String),
    #[error("client data challenge does not match the challenge rootkey issued")]
    ChallengeMismatch,
    #[error(
        "client data token binding status {0:?} is not defined (only \"present\" or \"supported\")"
    )]
    TokenBinding(String),
    #[error("COSE algorithm {0} is not supported for attestation signatures")]
    UnsupportedAlgorithm(i64),
    #[error("statement algorithm {stmt_alg} does not match the {key} key that must verify it")]
    AlgorithmMismatch { stmt_alg: i64, key: String },
    #[error("the attestation signature does not verify")]
    BadSignature,
    #[error("fido-u2f credential public key is not a P-256 key")]
    CredentialNotP256,
    #[error("attestation certificate does not meet WebAuthn §8.2.1: {0}")]
    LeafProfile(String),
    #[error("AAGUID extension (1.3.6.1.4.1.45724.1.1.4) is marked critical")]
    AaguidExtensionCritical,
    #[error("AAGUID in authenticator data ({auth_data}) does not match the certificate's AAGUID extension ({certificate})")]
    AaguidMismatch {
        auth_data: String,
        certificate: String,
    },
    #[error("the certificate chain does not end in a trusted root: {0}")]
    UntrustedChain(String),
    #[error("certificate chain is invalid: {0}")]
    Chain(ChainError),
    #[error("fido-u2f authenticator data has unsigned fields set: {0}")]
    U2fAuthData(String),
    #[error("ECDAA attestation is withdrawn from WebAuthn and not accepted")]
    EcdaaUnsupported,
}

impl InvalidReason {
    /// The stable name of this reason (the variant name).
    pub fn code(&self) -> &'static str {
        match self {
            InvalidReason::MalformedObject(_) => "MalformedObject",
            InvalidReason::MalformedAuthData(_) => "MalformedAuthData",
            InvalidReason::MalformedStatement(_) => "MalformedStatement",
            InvalidReason::MalformedClientData(_) => "MalformedClientData",
            InvalidReason::MalformedCertificate { .. } => "MalformedCertificate",
            InvalidReason::UnsupportedFormat(_) => "UnsupportedFormat",
            InvalidReason::RpIdMismatch(_) => "RpIdMismatch",
            InvalidReason::UserNotPresent => "UserNotPresent",
            InvalidReason::NoAttestedCredential => "NoAttestedCredential",
            InvalidReason::ClientDataType(_) => "ClientDataType",
            InvalidReason::ChallengeMismatch => "ChallengeMismatch",
            InvalidReason::TokenBinding(_) => "TokenBinding",
            InvalidReason::UnsupportedAlgorithm(_) => "UnsupportedAlgorithm",
            InvalidReason::AlgorithmMismatch { .. } => "AlgorithmMismatch",
            InvalidReason::BadSignature => "BadSignature",
            InvalidReason::CredentialNotP256 => "CredentialNotP256",
            InvalidReason::LeafProfile(_) => "LeafProfile",
            InvalidReason::AaguidExtensionCritical => "AaguidExtensionCritical",
            InvalidReason::AaguidMismatch { .. } => "AaguidMismatch",
            InvalidReason::UntrustedChain(_) => "UntrustedChain",
            InvalidReason::Chain(_) => "Chain",
            InvalidReason::U2fAuthData(_) => "U2fAuthData",
            InvalidReason::EcdaaUnsupported => "EcdaaUnsupported",
        }
    }
}

impl From<ChainError> for InvalidReason {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Untrusted { .. } => InvalidReason::UntrustedChain(e.to_string()),
            ChainError::Malformed { index, detail } => {
                InvalidReason::MalformedCertificate { index, detail }
            }
            other => InvalidReason::Chain(other),
        }
    }
}
