//! Telling an MFA device's type from the serial number AWS reports for it.
//!
//! `ListMFADevices` has no "type" field; the serial's shape is the only signal
//! (aws-facts.md): `arn:<partition>:iam::<account>:u2f/...` is a FIDO security key,
//! `arn:<partition>:iam::<account>:mfa/...` a virtual (TOTP app) device, and a bare vendor serial
//! a hardware TOTP token. Anything else is `unknown`, which evaluation never counts as hardware.

use serde::{Deserialize, Serialize};

/// The type of an MFA device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaKind {
    /// FIDO security key or passkey (`...:u2f/...`).
    Fido,
    /// Virtual authenticator app (`...:mfa/...`), including TOTP seeds kept on a YubiKey.
    Virtual,
    /// Hardware TOTP token (vendor serial, no `arn:` prefix).
    HardwareTotp,
    /// A shape AWS did not document; never counted as hardware.
    Unknown,
}

impl MfaKind {
    /// Classifies a `SerialNumber` from `ListMFADevices` / `ListVirtualMFADevices`.
    pub fn classify(serial: &str) -> MfaKind {
        let serial = serial.trim();
        if serial.is_empty() {
            return MfaKind::Unknown;
        }
        if let Some(rest) = serial.strip_prefix("arn:") {
            // arn:<partition>:iam::<account>:<resource>; the resource may itself contain ':'.
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_partition, service, region, account, resource] = parts.as_slice() else {
                return MfaKind::Unknown;
            };
            if *service != "iam" || !region.is_empty() || account.is_empty() {
                return MfaKind::Unknown;
            }
            if resource.starts_with("u2f/") {
                MfaKind::Fido
            } else if resource.starts_with("mfa/") {
                MfaKind::Virtual
            } else {
                MfaKind::Unknown
            }
        } else if serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            MfaKind::HardwareTotp
        } else {
            MfaKind::Unknown
        }
    }

    /// True for device types Security Hub IAM.6 accepts as hardware MFA.
    pub fn is_hardware(self) -> bool {
        matches!(self, MfaKind::Fido | MfaKind::HardwareTotp)
    }

    /// The lower-case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            MfaKind::Fido => "fido",
            MfaKind::Virtual => "virtual",
            MfaKind::HardwareTotp => "hardware_totp",
            MfaKind::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fido_root_and_user_keys() {
        for s in [
            "arn:aws:iam::123456789012:u2f/root/rootkey-primary-ABCDEFGHIJKLMNOP",
            "arn:aws:iam::123456789012:u2f/user/alice/yubi-XYZ",
            "arn:aws-us-gov:iam::123456789012:u2f/root/key-1",
            "arn:aws-cn:iam::123456789012:u2f/root/a:b",
        ] {
            assert_eq!(MfaKind::classify(s), MfaKind::Fido, "{s}");
            assert!(MfaKind::classify(s).is_hardware());
        }
    }

    #[test]
    fn virtual_devices_whatever_their_name() {
        for s in [
            "arn:aws:iam::123456789012:mfa/root-account-mfa-device",
            "arn:aws:iam::123456789012:mfa/my-phone",
            "arn:aws:iam::123456789012:mfa/path/nested",
        ] {
            assert_eq!(MfaKind::classify(s), MfaKind::Virtual, "{s}");
            assert!(!MfaKind::classify(s).is_hardware());
        }
    }

    #[test]
    fn vendor_serials_are_hardware_totp() {
        for s in ["GAHT12345678", "SMS-123", "20393084"] {
            assert_eq!(MfaKind::classify(s), MfaKind::HardwareTotp, "{s}");
        }
    }

    #[test]
    fn odd_shapes_are_unknown_and_not_hardware() {
        for s in [
            "",
            "   ",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:u2f/root/x",
            "arn:aws:iam:us-east-1:123456789012:u2f/root/x",
            "arn:aws:iam:::u2f/root/x",
            "arn:aws:iam",
            "serial with spaces",
        ] {
            let k = MfaKind::classify(s);
            assert_eq!(k, MfaKind::Unknown, "{s:?}");
            assert!(!k.is_hardware());
        }
    }
}
