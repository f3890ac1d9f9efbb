//! WebAuthn / CTAP2 data structures shared by every layer that handles key output.
//!
//! The attestation verifier, the ledger's approval verifier and the software authenticator all
//! read or write the same three things: authenticator data, COSE public keys and client data.
//! They live here, once, as pure parsers and encoders (bytes in, values out; no I/O).

pub mod assertion;
pub mod authdata;
pub mod client_data;
pub mod cose;
pub mod evidence;
pub mod models;

pub use assertion::AssertionError;
pub use authdata::{AttestedCredential, AuthData, AuthDataError, Flags};
pub use client_data::{ClientData, ClientDataError};
pub use cose::{CoseError, CoseKey};
pub use evidence::{DeviceFacts, Evidence, EvidenceError};

/// SHA-256 of `data`, the only digest WebAuthn uses for RP IDs and client data.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Base64url without padding, as WebAuthn encodes challenges and binary fields in JSON.
pub fn b64url(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url, accepting input with or without padding.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
}
