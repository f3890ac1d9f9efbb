//! `fido-u2f` attestation (WebAuthn §8.6): a U2F key's registration signature.

use super::object::AttestationObject;
use super::packed::{parse_leaf, read_fields};
use super::reason::InvalidReason;
use super::sig::{self, CertKey};
use super::Statement;
use crate::webauthn::cose::ALG_ES256;
use crate::webauthn::{AuthData, Flags};

/// Verifies a fido-u2f statement (WebAuthn §8.6 "Verification procedure").
pub fn verify(
    obj: &AttestationObject,
    auth: &AuthData,
    client_data_hash: &[u8; 32],
) -> Result<Statement, InvalidReason> {
    let (_, signature, x5c) = read_fields(obj, &["sig", "x5c"])?;
    // Step 2: exactly one certificate, holding a P-256 key.
    let chain = x5c.ok_or_else(|| InvalidReason::MalformedStatement("x5c is missing".into()))?;
    if chain.len() != 1 {
        return Err(InvalidReason::MalformedStatement(format!(
            "x5c has {} certificates; fido-u2f allows exactly one",
            chain.len()
        )));
    }
    let leaf = parse_leaf(&chain[0])?;
    if sig::cert_key(&leaf) != CertKey::P256 {
        return Err(InvalidReason::LeafProfile(
            "fido-u2f attestation certificate key is not P-256".into(),
        ));
    }
    // The U2F signature does not cover the flags or the counter: the client builds them, and
    // CTAP2 §10.3 (U2F interoperability) fixes them to UP|AT and a zero counter. Anything else
    // is bytes nobody signed.
    if auth.sign_count != 0 {
        return Err(InvalidReason::U2fAuthData(format!(
            "signCount is {}, must be 0",
            auth.sign_count
        )));
    }
    if auth.flags.0 & !(Flags::UP | Flags::AT) != 0 {
        return Err(InvalidReason::U2fAuthData(format!(
            "flags are {:#04x}, only UP and AT may be set",
            auth.flags.0
        )));
    }
    let cred = auth
        .attested
        .as_ref()
        .ok_or(InvalidReason::NoAttestedCredential)?;
    if cred.aaguid != [0u8; 16] {
        return Err(InvalidReason::U2fAuthData(
            "AAGUID is not all zeros (U2F keys have none, and it is not signed)".into(),
        ));
    }
    // Step 4: the credential key must be P-256, sent on as the raw 0x04||X||Y point.
    let point = cred
        .public_key
        .sec1_uncompressed()
        .ok_or(InvalidReason::CredentialNotP256)?;
    // Only the point is signed; its COSE wrapping is the client's. Require the one canonical
    // encoding so that no unsigned byte of the authenticator data can vary.
    if cred.public_key_cbor != cred.public_key.to_cbor() {
        return Err(InvalidReason::U2fAuthData(
            "credential public key is not the canonical COSE encoding of the signed point".into(),
        ));
    }
    // Step 5: verificationData = 0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F.
    let mut signed = Vec::with_capacity(1 + 32 + 32 + cred.credential_id.len() + 65);
    signed.push(0x00);
    signed.extend_from_slice(&auth.rp_id_hash);
    signed.extend_from_slice(client_data_hash);
    signed.extend_from_slice(&cred.credential_id);
    signed.extend_from_slice(&point);
    sig::verify_with_cert(&leaf, ALG_ES256, &signed, &signature)?;
    Ok(Statement::Basic { x5c: chain })
}
