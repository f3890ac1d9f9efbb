//! Collected client data (WebAuthn §5.8.1): the JSON whose hash an authenticator signs.

use serde::{Deserialize, Serialize};

/// Why client data was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientDataError {
    #[error("client data is not valid JSON: {0}")]
    Json(String),
    #[error("client data type is {found:?}, expected {expected:?}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("client data challenge does not match the challenge that was issued")]
    WrongChallenge,
    #[error("client data challenge is not base64url")]
    BadChallenge,
    #[error(
        "client data tokenBinding.status is {0:?}; only \"present\" and \"supported\" are defined"
    )]
    TokenBinding(String),
}

/// Token binding state as browsers reported it (now obsolete, but old attestations carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBinding {
    /// `present` or `supported`; anything else is malformed (WebAuthn L2 §5.8.1).
    pub status: String,
    /// The token binding id, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The fields of client data that rootkey checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientData {
    /// `webauthn.create` for registrations, `webauthn.get` for assertions.
    #[serde(rename = "type")]
    pub kind: String,
    /// The challenge, base64url without padding.
    pub challenge: String,
    /// The origin the client saw.
    pub origin: String,
    /// Whether the call came from a cross-origin frame.
    #[serde(
        rename = "crossOrigin",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cross_origin: Option<bool>,
    /// Obsolete token binding state.
    #[serde(
        rename = "tokenBinding",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_binding: Option<TokenBinding>,
}

/// `type` of client data for a registration.
pub const TYPE_CREATE: &str = "webauthn.create";
/// `type` of client data for an assertion.
pub const TYPE_GET: &str = "webauthn.get";

impl ClientData {
    /// Client data for `kind` over `challenge` with `origin`, as the JSON bytes to hash.
    pub fn json(kind: &'static str, challenge: &[u8], origin: &str) -> Vec<u8> {
        let cd = ClientData {
            kind: kind.to_string(),
            challenge: super::b64url(challenge),
            origin: origin.to_string(),
            cross_origin: Some(false),
            token_binding: None,
        };
        serde_json::to_vec(&cd).expect("serializing plain strings cannot fail")
    }

    /// Parses client data JSON.
    pub fn parse(json: &[u8]) -> Result<ClientData, ClientDataError> {
        serde_json::from_slice(json).map_err(|e| ClientDataError::Json(e.to_string()))
    }

    /// Checks type, challenge and token binding (WebAuthn §7.1 steps 7–9, §7.2 steps 11–13).
    pub fn check(
        &self,
        expected_type: &'static str,
        challenge: &[u8],
    ) -> Result<(), ClientDataError> {
        if self.kind != expected_type {
            return Err(ClientDataError::WrongType {
                expected: expected_type,
                found: self.kind.clone(),
            });
        }
        let got =
            super::b64url_decode(&self.challenge).map_err(|_| ClientDataError::BadChallenge)?;
        if got != challenge {
            return Err(ClientDataError::WrongChallenge);
        }
        self.check_token_binding()
    }

    /// Checks only that token binding, if reported, has a defined status.
    pub fn check_token_binding(&self) -> Result<(), ClientDataError> {
        match &self.token_binding {
            Some(tb) if tb.status != "present" && tb.status != "supported" => {
                Err(ClientDataError::TokenBinding(tb.status.clone()))
            }
            _ => Ok(()),
        }
    }

    /// The challenge bytes.
    pub fn challenge_bytes(&self) -> Result<Vec<u8>, ClientDataError> {
        super::b64url_decode(&self.challenge).map_err(|_| ClientDataError::BadChallenge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_client_data_checks() {
        let json = ClientData::json(TYPE_GET, b"0123456789abcdef", "rootkey:approval");
        let cd = ClientData::parse(&json).unwrap();
        cd.check(TYPE_GET, b"0123456789abcdef").unwrap();
        assert_eq!(
            cd.check(TYPE_CREATE, b"0123456789abcdef"),
            Err(ClientDataError::WrongType {
                expected: TYPE_CREATE,
                found: TYPE_GET.into()
            })
        );
        assert_eq!(
            cd.check(TYPE_GET, b"other"),
            Err(ClientDataError::WrongChallenge)
        );
    }

    #[test]
    fn undefined_token_binding_status_is_rejected() {
        let json = br#"{"type":"webauthn.create","challenge":"AA","origin":"o","tokenBinding":{"status":"not-supported"}}"#;
        let cd = ClientData::parse(json).unwrap();
        assert_eq!(
            cd.check(TYPE_CREATE, &[0]),
            Err(ClientDataError::TokenBinding("not-supported".into()))
        );
        assert!(ClientData::parse(b"{").is_err());
    }
}
