//! Attestation evidence files: one registration response plus what the key said about itself.
//!
//! The schema is that of `tests/fixtures/attestation/real/*.json`, so the attestation verifier
//! reads real-device fixtures and what `rootkey keys attest` writes with the same code.
//! Unknown fields (the fixtures' provenance columns) are ignored.

use serde::{Deserialize, Serialize};

/// Why an evidence file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence is not valid JSON in the attestation evidence schema: {0}")]
    Json(#[from] serde_json::Error),
    #[error("evidence field {0} is not base64url")]
    Base64(&'static str),
}

/// Facts a key reported about itself (authenticatorGetInfo and USB descriptors). Not attested:
/// a key could lie here, which is why the attestation itself is checked separately.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFacts {
    /// Where the key was found (`/dev/hidraw3`, `soft:/path/state.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// USB manufacturer string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// USB product string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// AAGUID from authenticatorGetInfo, 8-4-4-4-12 hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// Firmware version as dotted text (`5.7.1`), when the key reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// Whether a PIN is set (`clientPin` option), when the key reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_set: Option<bool>,
    /// Whether built-in user verification (biometrics) is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uv: Option<bool>,
    /// CTAP versions the key supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// One attestation evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The CBOR attestation object, base64url.
    #[serde(rename = "attestationObject_b64url")]
    pub attestation_object_b64url: String,
    /// The client data JSON the key signed over, base64url.
    #[serde(rename = "clientDataJSON_b64url")]
    pub client_data_json_b64url: String,
    /// The RP ID the credential was made for.
    pub rp_id: String,
    /// The origin in the client data, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The challenge rootkey issued, base64url; absent for third-party fixtures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_b64url: Option<String>,
    /// What the key reported about itself, when rootkey produced the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceFacts>,
    /// Attestation format, as a convenience for people reading the file (not trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmt: Option<String>,
    /// AAGUID, as a convenience for people reading the file (not trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
}

impl Evidence {
    /// Parses an evidence file.
    pub fn from_json(bytes: &[u8]) -> Result<Evidence, EvidenceError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The attestation object bytes.
    pub fn attestation_object(&self) -> Result<Vec<u8>, EvidenceError> {
        super::b64url_decode(&self.attestation_object_b64url)
            .map_err(|_| EvidenceError::Base64("attestationObject_b64url"))
    }

    /// The client data JSON bytes.
    pub fn client_data_json(&self) -> Result<Vec<u8>, EvidenceError> {
        super::b64url_decode(&self.client_data_json_b64url)
            .map_err(|_| EvidenceError::Base64("clientDataJSON_b64url"))
    }

    /// The challenge rootkey issued, if the evidence records one.
    pub fn challenge(&self) -> Result<Option<Vec<u8>>, EvidenceError> {
        self.challenge_b64url
            .as_deref()
            .map(|c| super::b64url_decode(c).map_err(|_| EvidenceError::Base64("challenge_b64url")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_parses() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/attestation/real"
        );
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let ev = Evidence::from_json(&bytes).unwrap();
            assert!(!ev.attestation_object().unwrap().is_empty());
            assert!(!ev.client_data_json().unwrap().is_empty());
            assert!(ev.challenge().unwrap().is_none());
            n += 1;
        }
        assert!(n >= 20, "only {n} fixtures");
    }
}
