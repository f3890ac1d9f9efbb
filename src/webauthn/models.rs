//! The one catalogue of authenticator models by AAGUID: the name `keys list` shows, and the
//! family that firmware advisories are written against. What a model is *allowed* to do is
//! policy (`attest::policy`), not here.
//!
//! Provenance: Yubico's published list "YubiKey Hardware FIDO2 AAGUIDs" (support.yubico.com,
//! article 360016648959), cross-checked against the AAGUIDs in
//! `tests/fixtures/attestation/real/*.json`; Nitrokey 3 and SoloKeys from their FIDO MDS3
//! entries; the Solo 2 and platform AAGUIDs from the fixtures.

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
    /// Nitrokey 3.
    Nitrokey3,
    /// SoloKeys.
    SoloKeys,
    /// A platform authenticator (Windows Hello, Touch ID, Android): never a roaming key.
    Platform,
    /// rootkey's own software authenticator: never hardware.
    Software,
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

/// The fixed AAGUID of rootkey's software authenticator (03182ce0-2096-4c47-81aa-eb4fedc46cca).
pub const SOFT_AAGUID: [u8; 16] = [
    0x03, 0x18, 0x2c, 0xe0, 0x20, 0x96, 0x4c, 0x47, 0x81, 0xaa, 0xeb, 0x4f, 0xed, 0xc4, 0x6c, 0xca,
];

/// Model name of the software authenticator: says plainly that it is not hardware.
pub const SOFT_MODEL_NAME: &str = "rootkey software authenticator (NOT HARDWARE)";

const fn m(aaguid: &'static str, name: &'static str, family: Family) -> Model {
    Model {
        aaguid,
        name,
        family,
    }
}

/// Known models.
pub const MODELS: &[Model] = &[
    // Yubico (fixtures: yubikey_5-packed, yubikey_5_nfc-packed, yubikey_5_nano-packed,
    // yubikey_5_series-packed, yubikey_5ci-packed, the FIPS, Bio and Security Key 2 cases)
    m(
        "cb69481e-8ff7-4039-93ec-0a2729a154a8",
        "YubiKey 5 Series (firmware 5.1)",
        Family::YubiKey5,
    ),
    m(
        "ee882879-721c-4913-9775-3dfcce97072a",
        "YubiKey 5 Series (firmware 5.2, 5.4)",
        Family::YubiKey5,
    ),
    m(
        "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
        "YubiKey 5 Series with NFC (firmware 5.1)",
        Family::YubiKey5,
    ),
    m(
        "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        "YubiKey 5 Series with NFC (firmware 5.2, 5.4)",
        Family::YubiKey5,
    ),
    m(
        "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
        "YubiKey 5Ci (firmware 5.2, 5.4)",
        Family::YubiKey5,
    ),
    m(
        "73bb0cd4-e502-49b8-9c6f-b59445bf720b",
        "YubiKey 5 FIPS Series (firmware 5.4)",
        Family::YubiKey5Fips,
    ),
    m(
        "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
        "YubiKey 5 FIPS Series with NFC (firmware 5.4)",
        Family::YubiKey5Fips,
    ),
    m(
        "85203421-48f9-4355-9bc8-8a53846e5083",
        "YubiKey 5Ci FIPS (firmware 5.4)",
        Family::YubiKey5Fips,
    ),
    m(
        "d8522d9f-575b-4866-88a9-ba99fa02f35b",
        "YubiKey Bio Series (firmware 5.5)",
        Family::YubiKeyBio,
    ),
    m(
        "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
        "Security Key by Yubico (firmware 5.1)",
        Family::YubicoSecurityKey,
    ),
    m(
        "b92c3f9a-c014-4056-887f-140a2501163b",
        "Security Key by Yubico (firmware 5.2)",
        Family::YubicoSecurityKey,
    ),
    m(
        "6d44ba9b-f6ec-2e49-b930-0c8fe920cb73",
        "Security Key by Yubico with NFC (firmware 5.1)",
        Family::YubicoSecurityKey,
    ),
    m(
        "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
        "Security Key by Yubico with NFC (firmware 5.2, 5.4)",
        Family::YubicoSecurityKey,
    ),
    m(
        "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa",
        "Security Key by Yubico with NFC - Black (firmware 5.4)",
        Family::YubicoSecurityKey,
    ),
    m(
        "0bb43545-fd2c-4185-87dd-feb0b2916ace",
        "Security Key by Yubico with NFC - Enterprise Edition (firmware 5.4)",
        Family::YubicoSecurityKey,
    ),
    // Nitrokey
    m(
        "2cd2f727-f6ca-44da-8f48-5c2e5da000a2",
        "Nitrokey 3 AM",
        Family::Nitrokey3,
    ),
    m(
        "ec99db19-cd1f-4c06-a2a9-940f17a6a30b",
        "Nitrokey 3 xN",
        Family::Nitrokey3,
    ),
    // SoloKeys (fixture: solokeys-solo2_nfc_usba-packed)
    m(
        "8876631b-d4a0-427f-5773-0ec71c9e0279",
        "SoloKeys Solo Secp256R1 FIDO2 Authenticator",
        Family::SoloKeys,
    ),
    m(
        "8652abe9-fbd8-4810-a840-d6fc442a8c2c",
        "SoloKeys Solo 2 NFC+USB-A",
        Family::SoloKeys,
    ),
    // Platform authenticators (fixtures: apple-touchid, windows hello, lenovo tpm, android)
    m(
        "adce0002-35bc-c60a-648b-0b25f1f05503",
        "Chrome on Mac (Touch ID)",
        Family::Platform,
    ),
    m(
        "08987058-cadc-4b81-b6e1-30de50dcbe96",
        "Windows Hello",
        Family::Platform,
    ),
    m(
        "9ddd1817-af5a-4672-a2b9-3e3dd95000a9",
        "Windows Hello",
        Family::Platform,
    ),
    m(
        "b93fd961-f2e6-462f-b122-82002247de78",
        "Android (SafetyNet)",
        Family::Platform,
    ),
    m(
        "28f37d2b-92b8-41c4-b02a-860cef7cc034",
        "Android (hardware keystore)",
        Family::Platform,
    ),
    // rootkey
    m(
        "03182ce0-2096-4c47-81aa-eb4fedc46cca",
        SOFT_MODEL_NAME,
        Family::Software,
    ),
];

/// The model with this AAGUID, if rootkey knows it. The all-zero AAGUID (U2F keys, `none`
/// attestation) names no model.
pub fn by_aaguid(aaguid: &[u8; 16]) -> Option<&'static Model> {
    by_aaguid_str(&super::authdata::format_aaguid(aaguid))
}

/// The model with this AAGUID given as text (any case, hyphenated).
pub fn by_aaguid_str(aaguid: &str) -> Option<&'static Model> {
    let s = aaguid.to_ascii_lowercase();
    MODELS.iter().find(|m| m.aaguid == s)
}

/// The model name for `aaguid`, when rootkey knows it.
pub fn model_name(aaguid: &[u8; 16]) -> Option<&'static str> {
    by_aaguid(aaguid).map(|m| m.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> [u8; 16] {
        *uuid::Uuid::parse_str(s).unwrap().as_bytes()
    }

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
            assert!(!m.name.is_empty());
        }
    }

    #[test]
    fn lookups_by_bytes_and_text_agree() {
        let yk = by_aaguid(&parse("2fc0579f-8113-47ea-b116-bb5a8db9202a")).unwrap();
        assert_eq!(yk.family, Family::YubiKey5);
        assert_eq!(
            by_aaguid_str("C1F9A0BC-1DD2-404A-B27F-8E29047A43FD")
                .unwrap()
                .family,
            Family::YubiKey5Fips
        );
        assert_eq!(model_name(&SOFT_AAGUID), Some(SOFT_MODEL_NAME));
        assert_eq!(by_aaguid(&SOFT_AAGUID).unwrap().family, Family::Software);
        assert!(SOFT_MODEL_NAME.contains("NOT HARDWARE"));
        assert_eq!(model_name(&[0; 16]), None);
        assert_eq!(model_name(&[0xff; 16]), None);
    }

    #[test]
    fn every_fixture_aaguid_of_a_key_we_expect_is_named() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/attestation/real"
        );
        for entry in std::fs::read_dir(dir).unwrap() {
            let ev: serde_json::Value =
                serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            let aaguid = ev["aaguid"].as_str().unwrap();
            let fmt = ev["fmt"].as_str().unwrap();
            if aaguid != "00000000-0000-0000-0000-000000000000" && fmt != "none" {
                assert!(by_aaguid_str(aaguid).is_some(), "{aaguid} ({fmt}) unnamed");
            }
        }
    }
}
