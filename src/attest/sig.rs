//! Signature checks with an attestation certificate's public key.

use ring::signature::{self as sig, VerificationAlgorithm};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};

use super::reason::InvalidReason;
use crate::webauthn::cose::{ALG_EDDSA, ALG_ES256, ALG_RS256};

/// COSE algorithm identifier for ECDSA with SHA-384 on P-384.
pub const ALG_ES384: i64 = -35;

/// The kind of public key a certificate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKey {
    /// EC on NIST P-256.
    P256,
    /// EC on NIST P-384.
    P384,
    /// RSA.
    Rsa,
    /// Ed25519.
    Ed25519,
    /// Anything else.
    Other,
}

impl CertKey {
    fn name(self) -> &'static str {
        match self {
            CertKey::P256 => "P-256",
            CertKey::P384 => "P-384",
            CertKey::Rsa => "RSA",
            CertKey::Ed25519 => "Ed25519",
            CertKey::Other => "unsupported",
        }
    }
}

/// The key type of `cert`'s subject public key.
pub fn cert_key(cert: &X509Certificate<'_>) -> CertKey {
    let alg = &cert.public_key().algorithm;
    if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        match alg.parameters.as_ref().and_then(|p| p.as_oid().ok()) {
            Some(c) if c == OID_EC_P256 => CertKey::P256,
            Some(c) if c == OID_NIST_EC_P384 => CertKey::P384,
            _ => CertKey::Other,
        }
    } else if alg.algorithm == OID_PKCS1_RSAENCRYPTION {
        CertKey::Rsa
    } else if alg.algorithm == OID_SIG_ED25519 {
        CertKey::Ed25519
    } else {
        CertKey::Other
    }
}

/// Verifies `signature` over `message` with `cert`'s key under COSE algorithm `alg`; the
/// certificate's key type must be the one `alg` names (WebAuthn §8.2 step 2).
pub fn verify_with_cert(
    cert: &X509Certificate<'_>,
    alg: i64,
    message: &[u8],
    signature: &[u8],
) -> Result<(), InvalidReason> {
    let key = cert_key(cert);
    let (want, algorithm): (CertKey, &dyn VerificationAlgorithm) = match alg {
        ALG_ES256 => (CertKey::P256, &sig::ECDSA_P256_SHA256_ASN1),
        ALG_ES384 => (CertKey::P384, &sig::ECDSA_P384_SHA384_ASN1),
        ALG_RS256 => (CertKey::Rsa, &sig::RSA_PKCS1_2048_8192_SHA256),
        ALG_EDDSA => (CertKey::Ed25519, &sig::ED25519),
        other => return Err(InvalidReason::UnsupportedAlgorithm(other)),
    };
    if key != want {
        return Err(InvalidReason::AlgorithmMismatch {
            stmt_alg: alg,
            key: key.name().to_string(),
        });
    }
    sig::UnparsedPublicKey::new(algorithm, &cert.public_key().subject_public_key.data)
        .verify(message, signature)
        .map_err(|_| InvalidReason::BadSignature)
}
