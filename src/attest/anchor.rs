//! Trust anchors as values: what a chain may end in, where each came from, and how PEM files
//! become anchors. A leaf module of `attest`: `chain`, `mds` and `trust` import it, and it
//! imports no other module of `attest`.

use serde::Serialize;

/// Where a trust anchor came from; eligibility policy treats each source differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorSource {
    /// A vendor root compiled into rootkey.
    PinnedVendor,
    /// A root listed by the matching FIDO MDS3 entry (`attestationRootCertificates`).
    Mds,
    /// A root the operator supplied (`--roots DIR`, `policy.trusted_roots`).
    User,
}

/// One trust anchor: a self-contained DER certificate and a name for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Human-readable name: the PEM file name, or `mds:<description>`.
    pub name: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Where it came from.
    pub source: AnchorSource,
}

impl Anchor {
    /// SHA-256 of the DER certificate, lowercase hex (how policies name user roots).
    pub fn fingerprint(&self) -> String {
        hex::encode(crate::webauthn::sha256(&self.der))
    }
}

/// Why trust anchors could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read trust roots from {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: String },
    #[error("{path}: certificate {index} is not valid X.509 DER: {detail}")]
    BadCertificate {
        path: String,
        index: usize,
        detail: String,
    },
}

/// Reads every certificate in a PEM buffer as DER, checking each parses as X.509.
pub fn pem_certificates(label: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, TrustError> {
    let mut out = Vec::new();
    for (index, block) in x509_parser::pem::Pem::iter_from_buffer(pem).enumerate() {
        let block = block.map_err(|e| TrustError::BadCertificate {
            path: label.to_string(),
            index,
            detail: e.to_string(),
        })?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        match x509_parser::parse_x509_certificate(&block.contents) {
            Ok((&[], _)) => out.push(block.contents),
            Ok(_) => {
                return Err(TrustError::BadCertificate {
                    path: label.to_string(),
                    index,
                    detail: "trailing bytes after the certificate".into(),
                })
            }
            Err(e) => {
                return Err(TrustError::BadCertificate {
                    path: label.to_string(),
                    index,
                    detail: e.to_string(),
                })
            }
        }
    }
    if out.is_empty() {
        return Err(TrustError::NoCertificate {
            path: label.to_string(),
        });
    }
    Ok(out)
}
