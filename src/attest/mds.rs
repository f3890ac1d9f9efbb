//! FIDO Metadata Service v3 BLOBs: a JWT (ES256 or RS256) whose x5c chain must end in the pinned
//! GlobalSign Root CA R3 (or a root the operator names), listing authenticator models, their
//! attestation roots and their certification status.
//!
//! Only the fields rootkey uses are modelled; unknown fields are ignored as the spec requires.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::anchor::{pem_certificates, Anchor, AnchorSource, TrustError};
use super::chain::{self, ChainError};

/// The production MDS3 BLOB anchor, pinned (see `roots/README.md`).
const GLOBALSIGN_R3: &str = include_str!("roots/globalsign-root-ca-r3.pem");

/// Statuses that make a model unacceptable whatever else it claims (FIDO MDS3 §3.1.4).
pub const COMPROMISED_STATUSES: &[&str] = &[
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
];

/// Why a metadata BLOB was rejected.
#[derive(Debug, thiserror::Error)]
pub enum MdsError {
    #[error("metadata BLOB is not a JWT (three base64url parts separated by dots)")]
    NotJwt,
    #[error("metadata BLOB {0} is not valid base64url JSON")]
    Encoding(&'static str),
    #[error("metadata BLOB header: {0}")]
    Header(String),
    #[error("metadata BLOB algorithm {0:?} is not supported (ES256 or RS256)")]
    Algorithm(String),
    #[error("metadata BLOB signer certificate chain: {0}")]
    Chain(#[from] ChainError),
    #[error("metadata BLOB signature does not verify with its signing certificate")]
    BadSignature,
    #[error("metadata BLOB payload is not in the MDS3 format: {0}")]
    Payload(String),
    #[error("metadata root: {0}")]
    Root(#[from] TrustError),
}

/// One status report of an MDS entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// `FIDO_CERTIFIED_L1`, `REVOKED`, ...
    pub status: String,
    /// When the status took effect (ISO date).
    #[serde(default)]
    pub effective_date: Option<String>,
    /// What was certified.
    #[serde(default)]
    pub certification_descriptor: Option<String>,
    /// Certificate number.
    #[serde(default)]
    pub certificate_number: Option<String>,
}

/// The part of a metadata statement rootkey uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataStatement {
    /// Human-readable model name.
    #[serde(default)]
    pub description: String,
    /// Roots for this model's attestation certificates, base64 DER.
    #[serde(default)]
    pub attestation_root_certificates: Vec<String>,
}

/// One entry of the BLOB.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MdsEntry {
    /// FIDO2 model id.
    #[serde(default)]
    pub aaguid: Option<String>,
    /// U2F models: SHA-1 of attestation certificates' subjectPublicKey, hex.
    #[serde(default)]
    pub attestation_certificate_key_identifiers: Vec<String>,
    /// The metadata statement.
    #[serde(default)]
    pub metadata_statement: Option<MetadataStatement>,
    /// Status history.
    #[serde(default)]
    pub status_reports: Vec<StatusReport>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    no: u64,
    next_update: String,
    entries: Vec<MdsEntry>,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
}

/// FIDO certification level, lowest first (FIDO_CERTIFIED alone means L1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Certification {
    /// FIDO_CERTIFIED / FIDO_CERTIFIED_L1.
    #[serde(rename = "FIDO_CERTIFIED_L1")]
    L1,
    /// FIDO_CERTIFIED_L1plus.
    #[serde(rename = "FIDO_CERTIFIED_L1plus")]
    L1Plus,
    /// FIDO_CERTIFIED_L2.
    #[serde(rename = "FIDO_CERTIFIED_L2")]
    L2,
    /// FIDO_CERTIFIED_L2plus.
    #[serde(rename = "FIDO_CERTIFIED_L2plus")]
    L2Plus,
    /// FIDO_CERTIFIED_L3.
    #[serde(rename = "FIDO_CERTIFIED_L3")]
    L3,
    /// FIDO_CERTIFIED_L3plus.
    #[serde(rename = "FIDO_CERTIFIED_L3plus")]
    L3Plus,
}

impl Certification {
    /// Reads an MDS status or a policy value (`L2`, `L2plus`, `FIDO_CERTIFIED_L2`, ...).
    pub fn parse(s: &str) -> Option<Certification> {
        let t = s.trim().to_ascii_uppercase();
        let t = t.strip_prefix("FIDO_CERTIFIED").unwrap_or(&t);
        let t = t.trim_start_matches('_').replace('+', "PLUS");
        Some(match t.as_str() {
            "" | "L1" => Certification::L1,
            "L1PLUS" => Certification::L1Plus,
            "L2" => Certification::L2,
            "L2PLUS" => Certification::L2Plus,
            "L3" => Certification::L3,
            "L3PLUS" => Certification::L3Plus,
            _ => return None,
        })
    }

    /// The MDS status name.
    pub fn as_str(self) -> &'static str {
        match self {
            Certification::L1 => "FIDO_CERTIFIED_L1",
            Certification::L1Plus => "FIDO_CERTIFIED_L1plus",
            Certification::L2 => "FIDO_CERTIFIED_L2",
            Certification::L2Plus => "FIDO_CERTIFIED_L2plus",
            Certification::L3 => "FIDO_CERTIFIED_L3",
            Certification::L3Plus => "FIDO_CERTIFIED_L3plus",
        }
    }
}

/// What metadata said about a verified attestation's model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MdsMatch {
    /// The model's description.
    pub description: String,
    /// Highest FIDO certification level in its status reports.
    pub certification: Option<Certification>,
    /// Whether a status report mentions a FIPS certification.
    pub fips: bool,
    /// Compromise statuses present in its history (any one makes the key ineligible).
    pub compromised: Vec<String>,
    /// Every status, oldest first.
    pub statuses: Vec<String>,
    /// Whether the BLOB's nextUpdate had passed at verification time.
    pub blob_stale: bool,
}

impl MdsEntry {
    /// The entry's attestation roots as MDS anchors (undecodable ones are skipped: they can
    /// only make trust narrower).
    pub fn anchors(&self) -> Vec<Anchor> {
        use base64::Engine;
        let Some(ms) = &self.metadata_statement else {
            return Vec::new();
        };
        ms.attestation_root_certificates
            .iter()
            .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .filter(|der| chain::parse_cert(0, der).is_ok())
            .map(|der| Anchor {
                name: format!("mds:{}", ms.description),
                der,
                source: AnchorSource::Mds,
            })
            .collect()
    }

    /// Summarises the entry for a result.
    pub fn summary(&self, blob_stale: bool) -> MdsMatch {
        let statuses: Vec<String> = self
            .status_reports
            .iter()
            .map(|r| r.status.clone())
            .collect();
        MdsMatch {
            description: self
                .metadata_statement
                .as_ref()
                .map(|m| m.description.clone())
                .unwrap_or_default(),
            certification: self
                .status_reports
                .iter()
                .filter(|r| r.status.starts_with("FIDO_CERTIFIED"))
                .filter_map(|r| Certification::parse(&r.status))
                .max(),
            fips: self.status_reports.iter().any(|r| {
                [&r.certification_descriptor, &r.certificate_number]
                    .iter()
                    .any(|f| f.as_deref().is_some_and(|s| s.contains("FIPS")))
            }),
            compromised: statuses
                .iter()
                .filter(|s| COMPROMISED_STATUSES.contains(&s.as_str()))
                .cloned()
                .collect(),
            statuses,
            blob_stale,
        }
    }
}

/// A verified metadata BLOB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdsBlob {
    /// Serial number of the BLOB.
    pub no: u64,
    /// When the next BLOB is due (ISO date).
    pub next_update: String,
    /// The anchor its signer chained to.
    pub signer_root: String,
    entries: Vec<MdsEntry>,
}

/// The pinned production anchor (GlobalSign Root CA R3).
pub fn default_root() -> Anchor {
    let der = pem_certificates("globalsign-root-ca-r3.pem", GLOBALSIGN_R3.as_bytes())
        .ok()
        .and_then(|mut v| v.pop())
        .unwrap_or_default();
    Anchor {
        name: "globalsign-root-ca-r3.pem".into(),
        der,
        source: AnchorSource::PinnedVendor,
    }
}

/// Reads an operator-supplied BLOB root (`--mds-root PEM`).
pub fn root_from_pem(name: &str, pem: &[u8]) -> Result<Vec<Anchor>, MdsError> {
    Ok(pem_certificates(name, pem)?
        .into_iter()
        .map(|der| Anchor {
            name: name.to_string(),
            der,
            source: AnchorSource::User,
        })
        .collect())
}

fn b64url_json<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &'static str,
) -> Result<T, MdsError> {
    let bytes = crate::webauthn::b64url_decode(part).map_err(|_| MdsError::Encoding(what))?;
    serde_json::from_slice(&bytes).map_err(|e| match what {
        "payload" => MdsError::Payload(e.to_string()),
        _ => MdsError::Header(e.to_string()),
    })
}

impl MdsBlob {
    /// Verifies a BLOB's signature and signer chain against `roots` at `at`, then parses it.
    pub fn verify(jwt: &[u8], roots: &[Anchor], at: OffsetDateTime) -> Result<MdsBlob, MdsError> {
        use base64::Engine;
        let text = std::str::from_utf8(jwt)
            .map_err(|_| MdsError::NotJwt)?
            .trim();
        let parts: Vec<&str> = text.split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err(MdsError::NotJwt);
        };
        let header: Header = b64url_json(h, "header")?;
        if header.x5c.is_empty() {
            return Err(MdsError::Header("x5c is missing".into()));
        }
        let x5c = header
            .x5c
            .iter()
            .map(|c| base64::engine::general_purpose::STANDARD.decode(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| MdsError::Header("x5c entry is not base64".into()))?;
        let anchors: Vec<&Anchor> = roots.iter().collect();
        let root = chain::verify_chain(&x5c, &anchors, at)?;
        let signature =
            crate::webauthn::b64url_decode(s).map_err(|_| MdsError::Encoding("signature"))?;
        let leaf = chain::parse_cert(0, &x5c[0])?;
        use ring::signature as sig;
        let alg: &dyn sig::VerificationAlgorithm = match header.alg.as_str() {
            // JWS ES256 signatures are raw r || s (RFC 7518 §3.4), but the MDS3 spec's own
            // example BLOB carries a DER signature; both encode the same (r, s).
            "ES256" if signature.len() == 64 => &sig::ECDSA_P256_SHA256_FIXED,
            "ES256" => &sig::ECDSA_P256_SHA256_ASN1,
            "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
            other => return Err(MdsError::Algorithm(other.to_string())),
        };
        let signed = &text[..h.len() + 1 + p.len()];
        sig::UnparsedPublicKey::new(alg, &leaf.public_key().subject_public_key.data)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| MdsError::BadSignature)?;
        let payload: Payload = b64url_json(p, "payload")?;
        Ok(MdsBlob {
            no: payload.no,
            next_update: payload.next_update,
            signer_root: root.name.clone(),
            entries: payload.entries,
        })
    }

    /// Whether `nextUpdate` has passed at `at` (a stale BLOB may miss revocations).
    pub fn is_stale(&self, at: OffsetDateTime) -> bool {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        match time::Date::parse(&self.next_update, &fmt) {
            Ok(d) => at.date() > d,
            // An unreadable date cannot prove freshness.
            Err(_) => true,
        }
    }

    /// The entry for a FIDO2 AAGUID.
    pub fn by_aaguid(&self, aaguid: &[u8; 16]) -> Option<&MdsEntry> {
        let want = crate::webauthn::authdata::format_aaguid(aaguid);
        self.entries.iter().find(|e| {
            e.aaguid
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&want))
        })
    }

    /// The entry for a U2F attestation certificate key identifier (hex).
    pub fn by_key_id(&self, key_id: &str) -> Option<&MdsEntry> {
        self.entries.iter().find(|e| {
            e.attestation_certificate_key_identifiers
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key_id))
        })
    }

    /// Every entry.
    pub fn entries(&self) -> &[MdsEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/attestation/mds/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn at(y: i32) -> OffsetDateTime {
        time::Date::from_calendar_date(y, time::Month::June, 1)
            .unwrap()
            .midnight()
            .assume_utc()
    }

    #[test]
    fn sample_blobs_verify_against_their_roots() {
        let conf_root =
            root_from_pem("signer", &fixture("conformance-mds3-blob-signer.pem")).unwrap();
        let blob =
            MdsBlob::verify(&fixture("conformance-mds3-blob.jwt"), &conf_root, at(2025)).unwrap();
        assert_eq!(blob.no, 42);
        assert_eq!(blob.entries().len(), 200);
        assert!(blob.is_stale(at(2025)));
        assert!(!blob.is_stale(at(2023)));

        let spec_root = root_from_pem("spec", &fixture("spec-example-mds3-root.pem")).unwrap();
        let blob =
            MdsBlob::verify(&fixture("spec-example-mds3-blob.jwt"), &spec_root, at(2025)).unwrap();
        assert_eq!(blob.no, 15);
        let aaguid = uuid::Uuid::parse_str("0132d110-bf4e-4208-a403-ab4f5f12efe5").unwrap();
        let m = blob.by_aaguid(aaguid.as_bytes()).unwrap().summary(false);
        assert_eq!(m.certification, Some(Certification::L1));
        assert!(m.compromised.is_empty());
    }

    #[test]
    fn blobs_do_not_verify_against_other_roots_or_when_modified() {
        let spec_root = root_from_pem("spec", &fixture("spec-example-mds3-root.pem")).unwrap();
        let conf = fixture("conformance-mds3-blob.jwt");
        assert!(matches!(
            MdsBlob::verify(&conf, &spec_root, at(2025)),
            Err(MdsError::Chain(ChainError::Untrusted { .. }))
        ));
        assert!(MdsBlob::verify(&conf, &[default_root()], at(2025)).is_err());

        // Change one payload character: the signature must fail.
        let conf_root =
            root_from_pem("signer", &fixture("conformance-mds3-blob-signer.pem")).unwrap();
        let text = String::from_utf8(conf).unwrap();
        let first_dot = text.find('.').unwrap();
        let mut bytes = text.into_bytes();
        let i = first_dot + 40;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            MdsBlob::verify(&bytes, &conf_root, at(2025)),
            Err(MdsError::BadSignature)
        ));
        assert!(MdsBlob::verify(b"not a jwt", &conf_root, at(2025)).is_err());
    }

    #[test]
    fn pinned_blob_root_is_globalsign_r3() {
        assert_eq!(
            default_root().fingerprint(),
            "cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b"
        );
    }

    #[test]
    fn compromised_statuses_and_levels_are_read() {
        let conf_root =
            root_from_pem("signer", &fixture("conformance-mds3-blob-signer.pem")).unwrap();
        let blob =
            MdsBlob::verify(&fixture("conformance-mds3-blob.jwt"), &conf_root, at(2025)).unwrap();
        let bad = blob
            .entries()
            .iter()
            .map(|e| e.summary(false))
            .filter(|m| !m.compromised.is_empty())
            .count();
        assert!(bad >= 4, "{bad}");
        assert!(blob
            .entries()
            .iter()
            .any(|e| e.summary(false).certification == Some(Certification::L3Plus)));
        assert_eq!(Certification::parse("L2+"), Some(Certification::L2Plus));
        assert_eq!(
            Certification::parse("FIDO_CERTIFIED"),
            Some(Certification::L1)
        );
        assert_eq!(Certification::parse("NOT_FIDO_CERTIFIED"), None);
        assert!(Certification::L3 > Certification::L2Plus);
    }
}
