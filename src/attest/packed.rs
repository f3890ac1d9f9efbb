//! `packed` attestation (WebAuthn §8.2): an x5c chain or self attestation.

use ciborium::Value;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::Oid;
use x509_parser::x509::X509Version;

use super::object::AttestationObject;
use super::reason::InvalidReason;
use super::{sig, Statement};
use crate::webauthn::{authdata::format_aaguid, AuthData};

/// id-fido-gen-ce-aaguid (WebAuthn §8.2.1): the model's AAGUID in the attestation certificate.
pub const OID_FIDO_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

/// `alg` (if present), `sig` and `x5c` (if present) of a statement.
pub(super) type Fields = (Option<i64>, Vec<u8>, Option<Vec<Vec<u8>>>);

/// Reads `alg`, `sig` and `x5c` from a packed or fido-u2f statement, rejecting unknown keys.
pub(super) fn read_fields(
    obj: &AttestationObject,
    allowed: &[&str],
) -> Result<Fields, InvalidReason> {
    let bad = |m: &str| InvalidReason::MalformedStatement(m.to_string());
    for k in obj.stmt_keys() {
        match k {
            Some("ecdaaKeyId") => return Err(InvalidReason::EcdaaUnsupported),
            Some(k) if allowed.contains(&k) => {}
            Some(k) => return Err(bad(&format!("unexpected field {k:?}"))),
            None => return Err(bad("non-text key")),
        }
    }
    let alg = match obj.stmt("alg") {
        None => None,
        Some(v) => Some(
            v.as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or_else(|| bad("alg is not an integer"))?,
        ),
    };
    let sig = obj
        .stmt("sig")
        .ok_or_else(|| bad("sig is missing"))?
        .as_bytes()
        .ok_or_else(|| bad("sig is not a byte string"))?
        .clone();
    let x5c = match obj.stmt("x5c") {
        None => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .map(|c| {
                    c.as_bytes()
                        .cloned()
                        .ok_or_else(|| bad("x5c entry is not bytes"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(bad("x5c is not a non-empty array")),
    };
    Ok((alg, sig, x5c))
}

/// Parses the leaf of x5c (index 0).
pub(super) fn parse_leaf(der: &[u8]) -> Result<X509Certificate<'_>, InvalidReason> {
    super::chain::parse_cert(0, der).map_err(InvalidReason::from)
}

/// Checks WebAuthn §8.2.1 "Certificate Requirements for Packed Attestation Statements".
fn check_leaf_profile(leaf: &X509Certificate<'_>, auth: &AuthData) -> Result<(), InvalidReason> {
    let profile = |m: &str| InvalidReason::LeafProfile(m.to_string());
    if leaf.version() != X509Version::V3 {
        return Err(profile("version is not 3"));
    }
    let subject = leaf.subject();
    if subject.iter_country().next().is_none()
        || subject.iter_organization().next().is_none()
        || subject.iter_common_name().next().is_none()
    {
        return Err(profile("subject lacks C, O or CN"));
    }
    let ou_ok = subject
        .iter_organizational_unit()
        .any(|ou| ou.as_str() == Ok("Authenticator Attestation"));
    if !ou_ok {
        return Err(profile("subject OU is not \"Authenticator Attestation\""));
    }
    match leaf.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => return Err(profile("basicConstraints CA is true")),
        Ok(_) => {}
        Err(_) => return Err(profile("basicConstraints is malformed")),
    }
    check_aaguid_extension(leaf, auth)
}

/// When the certificate carries id-fido-gen-ce-aaguid it must be non-critical and equal the
/// authenticator data AAGUID (WebAuthn §8.2 verification procedure, x5c branch).
pub(super) fn check_aaguid_extension(
    leaf: &X509Certificate<'_>,
    auth: &AuthData,
) -> Result<(), InvalidReason> {
    let oid: Oid<'static> = match OID_FIDO_AAGUID.parse() {
        Ok(o) => o,
        Err(_) => return Err(InvalidReason::LeafProfile("AAGUID OID".into())),
    };
    let Some(ext) = leaf.extensions().iter().find(|e| e.oid == oid) else {
        return Ok(());
    };
    if ext.critical {
        return Err(InvalidReason::AaguidExtensionCritical);
    }
    // extnValue holds a DER OCTET STRING of 16 bytes.
    let v = ext.value;
    if v.len() != 18 || v[0] != 0x04 || v[1] != 0x10 {
        return Err(InvalidReason::LeafProfile(
            "AAGUID extension is not an OCTET STRING of 16 bytes".into(),
        ));
    }
    let cert_aaguid: [u8; 16] = v[2..]
        .try_into()
        .map_err(|_| InvalidReason::LeafProfile("AAGUID extension length".into()))?;
    let auth_aaguid = auth
        .attested
        .as_ref()
        .map(|c| c.aaguid)
        .ok_or(InvalidReason::NoAttestedCredential)?;
    if cert_aaguid != auth_aaguid {
        return Err(InvalidReason::AaguidMismatch {
            auth_data: format_aaguid(&auth_aaguid),
            certificate: format_aaguid(&cert_aaguid),
        });
    }
    Ok(())
}

/// Checks only the x5c signature over the raw authenticator data (WebAuthn §8.2 step 2), which
/// needs none of its parsed contents: a forged or corrupted statement is then reported as such
/// before complaints about what it contains. Self attestation is left to [`verify`].
pub fn check_x5c_signature(
    obj: &AttestationObject,
    client_data_hash: &[u8; 32],
) -> Result<(), InvalidReason> {
    let (alg, signature, x5c) = read_fields(obj, &["alg", "sig", "x5c"])?;
    let alg = alg.ok_or_else(|| InvalidReason::MalformedStatement("alg is missing".into()))?;
    let Some(chain) = x5c else {
        return Ok(());
    };
    let leaf = parse_leaf(&chain[0])?;
    let mut signed = obj.auth_data.clone();
    signed.extend_from_slice(client_data_hash);
    sig::verify_with_cert(&leaf, alg, &signed, &signature)
}

/// Verifies a packed statement (WebAuthn §8.2 "Verification procedure").
pub fn verify(
    obj: &AttestationObject,
    auth: &AuthData,
    client_data_hash: &[u8; 32],
) -> Result<Statement, InvalidReason> {
    let (alg, signature, x5c) = read_fields(obj, &["alg", "sig", "x5c"])?;
    let alg = alg.ok_or_else(|| InvalidReason::MalformedStatement("alg is missing".into()))?;
    let cred = auth
        .attested
        .as_ref()
        .ok_or(InvalidReason::NoAttestedCredential)?;
    // The signature covers authenticatorData || clientDataHash.
    let mut signed = auth.raw.clone();
    signed.extend_from_slice(client_data_hash);
    match x5c {
        Some(chain) => {
            let leaf = parse_leaf(&chain[0])?;
            sig::verify_with_cert(&leaf, alg, &signed, &signature)?;
            check_leaf_profile(&leaf, auth)?;
            Ok(Statement::Basic { x5c: chain })
        }
        None => {
            // Self attestation: alg must be the credential key's own, and that key signs.
            if alg != cred.public_key.alg() {
                return Err(InvalidReason::AlgorithmMismatch {
                    stmt_alg: alg,
                    key: cred.public_key.alg_name().to_string(),
                });
            }
            cred.public_key
                .verify(&signed, &signature)
                .map_err(|_| InvalidReason::BadSignature)?;
            Ok(Statement::SelfAttestation)
        }
    }
}
