//! How much an attestation proves about a key being hardware, and how a software authenticator
//! is recognised. A leaf module of `attest`: it imports no other `attest` module.
//!
//! The verifier decides [`Assurance`] from what it checked (the AAGUID signed into the
//! registration, the attestation certificate's subject, the root the chain ended in); the policy
//! adds what the key said about itself ([`DeviceFacts`]) and can only lower it, never raise it.

use serde::{Deserialize, Serialize};

use crate::webauthn::authdata::format_aaguid;
use crate::webauthn::models::{self, Family, SOFT_AAGUID};
use crate::webauthn::DeviceFacts;

/// The marker rootkey's software authenticator puts in its model name, its attestation
/// certificate subject and its USB product string.
pub const SOFTWARE_MARKER: &str = "NOT HARDWARE";

/// How much the attestation proves about the key being hardware of the model it claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assurance {
    /// The chain ends in a pinned vendor root or a FIDO metadata root: genuine hardware of that model.
    Hardware,
    /// The chain ends in a root the operator trusted explicitly: rootkey cannot vouch for it.
    /// (Self attestation, which has no chain at all and is approved only where the policy sets
    /// `allow_self_attestation`, is an explicit operator decision too, and gets this level.)
    UserRoot,
    /// A software authenticator: copyable, never hardware.
    Software,
}

impl Assurance {
    /// `hardware`, `user-root` or `software`, as JSON and the ledger spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Assurance::Hardware => "hardware",
            Assurance::UserRoot => "user-root",
            Assurance::Software => "software",
        }
    }

    /// Whether rootkey vouches that the key is hardware of the model it claims.
    pub fn is_hardware(self) -> bool {
        self == Assurance::Hardware
    }
}

impl std::fmt::Display for Assurance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn has_marker(s: &str) -> bool {
    s.to_ascii_uppercase().contains(SOFTWARE_MARKER)
}

/// Why the attested values show a software authenticator, if they do: the AAGUID is rootkey's
/// software authenticator's (or one the model table calls software), or the model name or the
/// attestation certificate's subject says "NOT HARDWARE".
pub fn software_in_attestation(
    aaguid: &[u8; 16],
    model: Option<&str>,
    leaf_subject: Option<&str>,
) -> Option<String> {
    if *aaguid == SOFT_AAGUID {
        return Some(format!(
            "AAGUID {} is rootkey's software authenticator",
            format_aaguid(aaguid)
        ));
    }
    if let Some(m) = models::by_aaguid(aaguid).filter(|m| m.family == Family::Software) {
        return Some(format!("AAGUID {} is {}", m.aaguid, m.name));
    }
    if let Some(m) = model.filter(|m| has_marker(m)) {
        return Some(format!("model {m:?}"));
    }
    if let Some(s) = leaf_subject.filter(|s| has_marker(s)) {
        return Some(format!("attestation certificate subject {s:?}"));
    }
    None
}

/// Why the key's own, unattested statements show a software authenticator, if they do (a key
/// that says it is software is believed: that claim can only make the decision stricter).
pub fn software_in_device(device: &DeviceFacts) -> Option<String> {
    if let Some(a) = device.aaguid.as_deref() {
        if a.eq_ignore_ascii_case(&format_aaguid(&SOFT_AAGUID))
            || models::by_aaguid_str(a).is_some_and(|m| m.family == Family::Software)
        {
            return Some(format!(
                "the key reports AAGUID {a}, rootkey's software authenticator"
            ));
        }
    }
    if let Some(p) = device.product.as_deref().filter(|p| has_marker(p)) {
        return Some(format!("the key calls itself {p:?}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hardware() {
        assert_eq!(Assurance::Hardware.as_str(), "hardware");
        assert_eq!(Assurance::UserRoot.as_str(), "user-root");
        assert_eq!(Assurance::Software.as_str(), "software");
        for a in [
            Assurance::Hardware,
            Assurance::UserRoot,
            Assurance::Software,
        ] {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            let back: Assurance = serde_json::from_value(a.as_str().into()).unwrap();
            assert_eq!(back, a);
        }
        assert!(Assurance::Hardware.is_hardware());
        assert!(!Assurance::UserRoot.is_hardware());
        assert!(!Assurance::Software.is_hardware());
    }

    #[test]
    fn software_is_recognised_by_aaguid_model_subject_or_device() {
        assert!(software_in_attestation(&SOFT_AAGUID, None, None).is_some());
        assert!(software_in_attestation(&[1; 16], Some("x (not hardware)"), None).is_some());
        assert!(software_in_attestation(&[1; 16], None, Some("CN=soft (NOT HARDWARE)")).is_some());
        assert!(software_in_attestation(&[1; 16], Some("YubiKey 5"), Some("CN=Yubico")).is_none());
        let soft = DeviceFacts {
            aaguid: Some(format_aaguid(&SOFT_AAGUID).to_uppercase()),
            ..DeviceFacts::default()
        };
        assert!(software_in_device(&soft).is_some());
        let product = DeviceFacts {
            product: Some("software authenticator (NOT HARDWARE)".into()),
            ..DeviceFacts::default()
        };
        assert!(software_in_device(&product).is_some());
        assert!(software_in_device(&DeviceFacts::default()).is_none());
    }
}
