//! X.509 path validation for attestation chains (x5c) and metadata BLOB signers.
//!
//! Deliberately small and strict (WebAuthn §7.1 step 22 leaves path validation to the RP): each
//! link's signature, names chain, every certificate valid at the given time, every issuer a CA
//! (basicConstraints CA=true, keyCertSign when keyUsage is present), path length limits, and no
//! SHA-1. No revocation checking: attestation CAs do not publish CRLs for their leaves.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{OID_PKCS1_SHA1WITHRSA, OID_SHA1_WITH_RSA};
use x509_parser::time::ASN1Time;

use super::anchor::Anchor;
use crate::webauthn::sha256;

/// Why a certificate chain was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the certificate chain is empty")]
    Empty,
    #[error("certificate {index} is not valid X.509 DER: {detail}")]
    Malformed { index: usize, detail: String },
    #[error(
        "certificate {index} ({subject}) is not valid at {at} (valid {not_before} to {not_after})"
    )]
    NotValidAt {
        index: usize,
        subject: String,
        at: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate {index} is not signed by the next certificate in the chain")]
    BadLinkSignature { index: usize },
    #[error("certificate {index}'s issuer name does not match the next certificate's subject")]
    NameMismatch { index: usize },
    #[error("certificate {index} ({subject}) issues certificates but is not a CA (basicConstraints CA=true and keyCertSign required)")]
    IssuerNotCa { index: usize, subject: String },
    #[error("certificate {index} ({subject}) allows a path length of {limit} but {found} intermediates follow it")]
    PathLength {
        index: usize,
        subject: String,
        limit: u32,
        found: usize,
    },
    #[error("certificate {index} is signed with SHA-1, which is not accepted")]
    WeakSignature { index: usize },
    #[error("the chain does not end in a trusted root (last certificate issued by {issuer})")]
    Untrusted { issuer: String },
    #[error("trust root {name} is not valid at {at}")]
    AnchorNotValid { name: String, at: String },
}

/// Early Yubico U2F attestation certificates were issued with a non-zero unused-bits count in
/// the signature BIT STRING (the signature itself is whole octets and verifies). They are real
/// and still in use, so they are accepted, but only byte for byte (SHA-256 of the DER), the way
/// other WebAuthn libraries special-case them; any other certificate must be strict.
/// Source: `tests/fixtures/attestation/real/yubico-security_key-fido-u2f.json` (EE Serial
/// 13831167861).
const UNUSED_BITS_QUIRK: &[&str] =
    &["dd574527df608e47ae45fbba75a2afdd5c20fd94a02419381813cd55a2a3398f"];

/// Reads one DER TLV at the front of `b`: (tag, whole TLV, rest). Only minimal definite lengths.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        if bytes[0] == 0 {
            return None;
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        if len < 0x80 {
            return None;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if b.len() < end {
        return None;
    }
    Some((tag, &b[..end], &b[end..]))
}

fn content(t: &[u8]) -> &[u8] {
    let hdr = if t[1] < 0x80 {
        2
    } else {
        2 + usize::from(t[1] & 0x7f)
    };
    &t[hdr..]
}

/// Checks the bytes outside the signed TBSCertificate: the outer SEQUENCE, the outer
/// AlgorithmIdentifier (byte-equal to the signed one) and the BIT STRING header.
fn strict_outer_der(der: &[u8]) -> Result<(), &'static str> {
    const E: &str = "certificate is not strict DER outside the signed part";
    let (tag, outer, rest) = tlv(der).ok_or(E)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(E);
    }
    let (t1, tbs, r) = tlv(content(outer)).ok_or(E)?;
    let (t2, alg, r) = tlv(r).ok_or(E)?;
    let (t3, sig, r) = tlv(r).ok_or(E)?;
    if t1 != 0x30 || t2 != 0x30 || t3 != 0x03 || !r.is_empty() {
        return Err(E);
    }
    match content(sig).first() {
        Some(0) => {}
        Some(1..=7) if UNUSED_BITS_QUIRK.contains(&hex::encode(sha256(der)).as_str()) => {}
        _ => return Err("signatureValue BIT STRING has unused bits"),
    }
    // TBSCertificate: [0] version (optional), serialNumber, signature AlgorithmIdentifier, ...
    let mut inner = content(tbs);
    let (mut t, mut item, mut r) = tlv(inner).ok_or(E)?;
    if t == 0xa0 {
        inner = r;
        (t, item, r) = tlv(inner).ok_or(E)?;
    }
    if t != 0x02 {
        return Err(E);
    }
    let (_, signed_alg, _) = tlv(r).ok_or(E)?;
    let _ = item;
    if signed_alg != alg {
        return Err("outer signatureAlgorithm differs from the signed one (RFC 5280 §4.1.1.2)");
    }
    Ok(())
}

/// Parses one DER certificate, requiring nothing after it.
///
/// The parser is lenient about the parts outside the signed TBSCertificate (it accepts any
/// outer tag); those bytes are checked here so that every byte of an accepted certificate is
/// either signed or pinned to its one DER form.
pub fn parse_cert(index: usize, der: &[u8]) -> Result<X509Certificate<'_>, ChainError> {
    let malformed = |detail: &str| ChainError::Malformed {
        index,
        detail: detail.to_string(),
    };
    strict_outer_der(der).map_err(malformed)?;
    match x509_parser::parse_x509_certificate(der) {
        Ok((&[], cert)) => {
            if cert.signature_algorithm != cert.tbs_certificate.signature {
                return Err(malformed(
                    "outer signatureAlgorithm differs from the signed one (RFC 5280 §4.1.1.2)",
                ));
            }
            Ok(cert)
        }
        Ok((rest, _)) => Err(ChainError::Malformed {
            index,
            detail: format!("{} trailing bytes", rest.len()),
        }),
        Err(e) => Err(ChainError::Malformed {
            index,
            detail: e.to_string(),
        }),
    }
}

fn is_ca(cert: &X509Certificate<'_>) -> bool {
    let ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let ku_ok = match cert.key_usage() {
        Ok(Some(ku)) => ku.value.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && ku_ok
}

fn path_len(cert: &X509Certificate<'_>) -> Option<u32> {
    match cert.basic_constraints() {
        Ok(Some(bc)) => bc.value.path_len_constraint,
        _ => None,
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn check_time(
    index: usize,
    cert: &X509Certificate<'_>,
    at: OffsetDateTime,
) -> Result<(), ChainError> {
    if cert.validity().is_valid_at(ASN1Time::new(at)) {
        return Ok(());
    }
    Err(ChainError::NotValidAt {
        index,
        subject: cert.subject().to_string(),
        at: fmt_time(at),
        not_before: fmt_time(cert.validity().not_before.to_datetime()),
        not_after: fmt_time(cert.validity().not_after.to_datetime()),
    })
}

/// Whether `issuer` issued `child` (names chain, the issuer is a CA, the signature verifies).
fn issued(
    child_index: usize,
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    issuer_index: usize,
) -> Result<(), ChainError> {
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(ChainError::NameMismatch { index: child_index });
    }
    let alg = &child.signature_algorithm.algorithm;
    if *alg == OID_PKCS1_SHA1WITHRSA || *alg == OID_SHA1_WITH_RSA {
        return Err(ChainError::WeakSignature { index: child_index });
    }
    child
        .verify_signature(Some(issuer.public_key()))
        .map_err(|_| ChainError::BadLinkSignature { index: child_index })?;
    if !is_ca(issuer) {
        return Err(ChainError::IssuerNotCa {
            index: issuer_index,
            subject: issuer.subject().to_string(),
        });
    }
    Ok(())
}

fn check_path_len(
    index: usize,
    cert: &X509Certificate<'_>,
    intermediates_below: usize,
) -> Result<(), ChainError> {
    match path_len(cert) {
        Some(limit) if (limit as usize) < intermediates_below => Err(ChainError::PathLength {
            index,
            subject: cert.subject().to_string(),
            limit,
            found: intermediates_below,
        }),
        _ => Ok(()),
    }
}

/// Validates `chain` (leaf first, DER) at `at` and returns the anchor it ends in.
///
/// A chain is anchored when one of its certificates *is* an anchor (byte-equal; this is how a
/// pinned BLOB signer works) or when an anchor issued its last examined certificate. Links up to
/// the anchor are all checked; certificates after an anchor are ignored.
pub fn verify_chain<'a>(
    chain: &[Vec<u8>],
    anchors: &[&'a Anchor],
    at: OffsetDateTime,
) -> Result<&'a Anchor, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, der)| parse_cert(i, der))
        .collect::<Result<Vec<_>, _>>()?;
    let parsed_anchors: Vec<(&Anchor, X509Certificate<'_>)> = anchors
        .iter()
        .filter_map(|a| parse_cert(0, &a.der).ok().map(|c| (*a, c)))
        .collect();
    for (i, cert) in certs.iter().enumerate() {
        check_time(i, cert, at)?;
        if i > 0 {
            // `cert` issued certs[i - 1]; i - 1 intermediates sit between it and the leaf.
            issued(i - 1, &certs[i - 1], cert, i)?;
            check_path_len(i, cert, i - 1)?;
        }
        if let Some((anchor, _)) = parsed_anchors.iter().find(|(a, _)| a.der == chain[i]) {
            return Ok(anchor);
        }
        // Only the last certificate may be issued by an anchor; earlier ones must chain on.
        if i + 1 == certs.len() {
            for (anchor, root) in &parsed_anchors {
                if issued(i, cert, root, certs.len()).is_ok() {
                    if !root.validity().is_valid_at(ASN1Time::new(at)) {
                        return Err(ChainError::AnchorNotValid {
                            name: anchor.name.clone(),
                            at: fmt_time(at),
                        });
                    }
                    check_path_len(certs.len(), root, i)?;
                    return Ok(anchor);
                }
            }
            return Err(ChainError::Untrusted {
                issuer: cert.issuer().to_string(),
            });
        }
    }
    Err(ChainError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::anchor::AnchorSource;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn ca(name: &str, issuer: Option<&Ca>, path_len: Option<u8>, key_usage: bool) -> Ca {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        p.is_ca = IsCa::Ca(match path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        if key_usage {
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        let key = KeyPair::generate().unwrap();
        let cert = match issuer {
            Some(i) => p.signed_by(&key, &i.cert, &i.key).unwrap(),
            None => p.self_signed(&key).unwrap(),
        };
        Ca { cert, key }
    }

    fn leaf(issuer: &Ca) -> Vec<u8> {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "leaf".to_string());
        let key = KeyPair::generate().unwrap();
        p.signed_by(&key, &issuer.cert, &issuer.key)
            .unwrap()
            .der()
            .to_vec()
    }

    fn anchor(c: &Ca) -> Anchor {
        Anchor {
            name: "root".into(),
            der: c.cert.der().to_vec(),
            source: AnchorSource::User,
        }
    }

    #[test]
    fn good_chain_anchors_and_each_defect_is_named() {
        let now = OffsetDateTime::now_utc();
        let root = ca("root", None, None, true);
        let inter = ca("inter", Some(&root), Some(0), true);
        let chain = vec![leaf(&inter), inter.cert.der().to_vec()];
        let a = anchor(&root);
        assert_eq!(verify_chain(&chain, &[&a], now).unwrap().name, "root");
        // root included in x5c is fine
        let mut with_root = chain.clone();
        with_root.push(root.cert.der().to_vec());
        assert!(verify_chain(&with_root, &[&a], now).is_ok());
        // unrelated root
        let other = ca("other", None, None, true);
        assert!(matches!(
            verify_chain(&chain, &[&anchor(&other)], now),
            Err(ChainError::Untrusted { .. })
        ));
        // out of order
        let swapped = vec![chain[1].clone(), chain[0].clone()];
        assert!(verify_chain(&swapped, &[&a], now).is_err());
        // time
        let long_ago = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert!(matches!(
            verify_chain(&chain, &[&a], long_ago),
            Err(ChainError::NotValidAt { index: 0, .. })
        ));
        // no anchors at all
        assert!(verify_chain(&chain, &[], now).is_err());
        assert_eq!(verify_chain(&[], &[&a], now), Err(ChainError::Empty));
    }

    #[test]
    fn issuer_without_key_cert_sign_and_path_length_are_enforced() {
        let now = OffsetDateTime::now_utc();
        let root = ca("root", None, None, true);
        let weak = ca("weak", Some(&root), None, false);
        let chain = vec![leaf(&weak), weak.cert.der().to_vec()];
        assert!(matches!(
            verify_chain(&chain, &[&anchor(&root)], now),
            Err(ChainError::IssuerNotCa { index: 1, .. })
        ));
        let root0 = ca("root0", None, Some(0), true);
        let inter = ca("inter", Some(&root0), None, true);
        let chain = vec![leaf(&inter), inter.cert.der().to_vec()];
        assert!(matches!(
            verify_chain(&chain, &[&anchor(&root0)], now),
            Err(ChainError::PathLength { .. })
        ));
    }

    #[test]
    fn a_pinned_leaf_anchors_itself() {
        let root = ca("root", None, None, true);
        let l = leaf(&root);
        let a = Anchor {
            name: "pinned-leaf".into(),
            der: l.clone(),
            source: AnchorSource::User,
        };
        let got = verify_chain(&[l], &[&a], OffsetDateTime::now_utc()).unwrap();
        assert_eq!(got.name, "pinned-leaf");
    }
}
