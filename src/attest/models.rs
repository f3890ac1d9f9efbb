//! Authenticator models by AAGUID, and the family each belongs to (for firmware advisories).
//!
//! The device layer keeps a parallel table (`src/device/models.rs`); the two are to be merged.
//! AAGUIDs come from the vendors' published lists and the attestation fixtures in
//! `tests/fixtures/attestation/real/`.

use serde::Serialize;

/// A product family that firmware advisories are written against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// YubiKey 5 Series (5 NFC, 5C, 5Ci, Nano, ...).
    YubiKey5,
    /// YubiKey 5 FIPS Series.
    YubiKey5Fips,
    /// YubiKey Bio Series.
    YubiKeyBio,
    /// Security Key by Yubico (blue keys).
    YubicoSecurityKey,
    /// SoloKeys.
    SoloKeys,
    /// A platform authenticator (Windows Hello, Touch ID, Android): never a roaming key.
    Platform,
}

/// One known authenticator model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// AAGUID, 8-4-4-4-12 lowercase hex.
    pub aaguid: &'static str,
    /// Marketing name.
    pub name: &'static str,
    /// Family for advisories.
    pub family: Family,
}

/// Known models. Fixture AAGUIDs are marked; the others are from Yubico's published AAGUID list.
pub const MODELS: &[Model] = &[
    // fixtures: yubikey_5-packed, yubikey_5_nfc-packed (firmware 5.1)
    Model {
        aaguid: "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
        name: "YubiKey 5 Series with NFC (firmware 5.1)",
        family: Family::YubiKey5,
    },
    // fixture: yubikey_5_nano-packed
    Model {
        aaguid: "cb69481e-8ff7-4039-93ec-0a2729a154a8",
        name: "YubiKey 5 Series (firmware 5.1)",
        family: Family::YubiKey5,
    },
    // fixture: yubikey_5_series-packed
    Model {
        aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        name: "YubiKey 5 Series with NFC",
        family: Family::YubiKey5,
    },
    Model {
        aaguid: "ee882879-721c-4913-9775-3dfcce97072a",
        name: "YubiKey 5 Series",
        family: Family::YubiKey5,
    },
    // fixture: yubikey_5ci-packed
    Model {
        aaguid: "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
        name: "YubiKey 5Ci",
        family: Family::YubiKey5,
    },
    // fixture: yubikey_5_nfc_fips-packed
    Model {
        aaguid: "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
        name: "YubiKey 5 FIPS Series with NFC",
        family: Family::YubiKey5Fips,
    },
    Model {
        aaguid: "73bb0cd4-e502-49b8-9c6f-b59445bf720b",
        name: "YubiKey 5 FIPS Series",
        family: Family::YubiKey5Fips,
    },
    // fixture: yubikey_5ci_fips-packed
    Model {
        aaguid: "85203421-48f9-4355-9bc8-8a53846e5083",
        name: "YubiKey 5 FIPS Series with Lightning",
        family: Family::YubiKey5Fips,
    },
    // fixture: yubikey_bio-packed
    Model {
        aaguid: "d8522d9f-575b-4866-88a9-ba99fa02f35b",
        name: "YubiKey Bio Series - FIDO Edition",
        family: Family::YubiKeyBio,
    },
    // fixture: security_key_2-packed
    Model {
        aaguid: "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
        name: "Security Key by Yubico",
        family: Family::YubicoSecurityKey,
    },
    Model {
        aaguid: "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
        name: "Security Key by Yubico with NFC",
        family: Family::YubicoSecurityKey,
    },
    // fixture: solokeys-solo2_nfc_usba-packed
    Model {
        aaguid: "8652abe9-fbd8-4810-a840-d6fc442a8c2c",
        name: "SoloKeys Solo 2",
        family: Family::SoloKeys,
    },
    // fixture: apple-touchid_macos_chrome-packed_self
    Model {
        aaguid: "adce0002-35bc-c60a-648b-0b25f1f05503",
        name: "Chrome on Mac (Touch ID)",
        family: Family::Platform,
    },
    // fixtures: microsoft-windows_hello-tpm, lenovo-thinkpad_x1_carbon-tpm
    Model {
        aaguid: "08987058-cadc-4b81-b6e1-30de50dcbe96",
        name: "Windows Hello",
        family: Family::Platform,
    },
    Model {
        aaguid: "9ddd1817-af5a-4672-a2b9-3e3dd95000a9",
        name: "Windows Hello",
        family: Family::Platform,
    },
    // fixture: google-android-android-safetynet
    Model {
        aaguid: "b93fd961-f2e6-462f-b122-82002247de78",
        name: "Android (SafetyNet)",
        family: Family::Platform,
    },
    // fixture: google-android-android-key
    Model {
        aaguid: "28f37d2b-92b8-41c4-b02a-860cef7cc034",
        name: "Android (hardware keystore)",
        family: Family::Platform,
    },
];

/// The model with this AAGUID, if rootkey knows it.
pub fn by_aaguid(aaguid: &[u8; 16]) -> Option<&'static Model> {
    let s = crate::webauthn::authdata::format_aaguid(aaguid);
    MODELS.iter().find(|m| m.aaguid == s)
}

/// The model with this AAGUID given as text (any case, hyphenated).
pub fn by_aaguid_str(aaguid: &str) -> Option<&'static Model> {
    let s = aaguid.to_ascii_lowercase();
    MODELS.iter().find(|m| m.aaguid == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for m in MODELS {
            let u = uuid::Uuid::parse_str(m.aaguid).unwrap();
            assert_eq!(
                u.hyphenated().to_string(),
                m.aaguid,
                "{} not canonical",
                m.name
            );
            assert!(seen.insert(m.aaguid), "duplicate {}", m.aaguid);
        }
        let yk = by_aaguid(
            uuid::Uuid::parse_str("2fc0579f-8113-47ea-b116-bb5a8db9202a")
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(yk.family, Family::YubiKey5);
        assert!(by_aaguid(&[0; 16]).is_none());
        assert_eq!(
            by_aaguid_str("C1F9A0BC-1DD2-404A-B27F-8E29047A43FD")
                .unwrap()
                .family,
            Family::YubiKey5Fips
        );
    }
}
