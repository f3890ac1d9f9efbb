//! AAGUID → model name for the security keys rootkey expects to meet, and its own soft key.
//!
//! One table, used by `keys list` and (later) by the attestation verifier, so a model is named
//! the same way everywhere. Names only: what a model is *allowed* to do is policy, not here.
//!
//! Provenance: Yubico's published list "YubiKey Hardware FIDO2 AAGUIDs" (support.yubico.com,
//! article 360016648959), cross-checked against the AAGUIDs in
//! `tests/fixtures/attestation/real/*.json`; Nitrokey 3 and SoloKeys from their FIDO MDS3
//! entries; the Solo 2 AAGUID from the fixture `solokeys-solo2_nfc_usba-packed.json`.

/// The fixed AAGUID of rootkey's software authenticator (03182ce0-2096-4c47-81aa-eb4fedc46cca).
pub const SOFT_AAGUID: [u8; 16] = [
    0x03, 0x18, 0x2c, 0xe0, 0x20, 0x96, 0x4c, 0x47, 0x81, 0xaa, 0xeb, 0x4f, 0xed, 0xc4, 0x6c, 0xca,
];

/// Model name of the software authenticator: says plainly that it is not hardware.
pub const SOFT_MODEL_NAME: &str = "rootkey software authenticator (NOT HARDWARE)";

/// (AAGUID in 8-4-4-4-12 form, model name).
const MODELS: &[(&str, &str)] = &[
    // Yubico
    (
        "cb69481e-8ff7-4039-93ec-0a2729a154a8",
        "YubiKey 5 Series (firmware 5.1)",
    ),
    (
        "ee882879-721c-4913-9775-3dfcce97072a",
        "YubiKey 5 Series (firmware 5.2, 5.4)",
    ),
    (
        "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
        "YubiKey 5 Series with NFC (firmware 5.1)",
    ),
    (
        "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        "YubiKey 5 Series with NFC (firmware 5.2, 5.4)",
    ),
    (
        "73bb0cd4-e502-49b8-9c6f-b59445bf720b",
        "YubiKey 5 FIPS Series (firmware 5.4)",
    ),
    (
        "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
        "YubiKey 5 FIPS Series with NFC (firmware 5.4)",
    ),
    (
        "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
        "YubiKey 5Ci (firmware 5.2, 5.4)",
    ),
    (
        "85203421-48f9-4355-9bc8-8a53846e5083",
        "YubiKey 5Ci FIPS (firmware 5.4)",
    ),
    (
        "d8522d9f-575b-4866-88a9-ba99fa02f35b",
        "YubiKey Bio Series (firmware 5.5)",
    ),
    (
        "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
        "Security Key by Yubico (firmware 5.1)",
    ),
    (
        "b92c3f9a-c014-4056-887f-140a2501163b",
        "Security Key by Yubico (firmware 5.2)",
    ),
    (
        "6d44ba9b-f6ec-2e49-b930-0c8fe920cb73",
        "Security Key by Yubico with NFC (firmware 5.1)",
    ),
    (
        "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
        "Security Key by Yubico with NFC (firmware 5.2, 5.4)",
    ),
    (
        "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa",
        "Security Key by Yubico with NFC - Black (firmware 5.4)",
    ),
    (
        "0bb43545-fd2c-4185-87dd-feb0b2916ace",
        "Security Key by Yubico with NFC - Enterprise Edition (firmware 5.4)",
    ),
    // Nitrokey
    ("2cd2f727-f6ca-44da-8f48-5c2e5da000a2", "Nitrokey 3 AM"),
    ("ec99db19-cd1f-4c06-a2a9-940f17a6a30b", "Nitrokey 3 xN"),
    // SoloKeys
    (
        "8876631b-d4a0-427f-5773-0ec71c9e0279",
        "SoloKeys Solo Secp256R1 FIDO2 Authenticator",
    ),
    (
        "8652abe9-fbd8-4810-a840-d6fc442a8c2c",
        "SoloKeys Solo 2 NFC+USB-A",
    ),
    // rootkey
    ("03182ce0-2096-4c47-81aa-eb4fedc46cca", SOFT_MODEL_NAME),
];

/// The model name for `aaguid`, when rootkey knows it. The all-zero AAGUID (U2F keys, `none`
/// attestation) names no model.
pub fn model_name(aaguid: &[u8; 16]) -> Option<&'static str> {
    let text = crate::webauthn::authdata::format_aaguid(aaguid);
    MODELS
        .iter()
        .find(|(id, _)| *id == text)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> [u8; 16] {
        *uuid::Uuid::parse_str(s).unwrap().as_bytes()
    }

    #[test]
    fn known_models_are_named() {
        assert_eq!(
            model_name(&parse("fa2b99dc-9e39-4257-8f92-4a30d23c4118")),
            Some("YubiKey 5 Series with NFC (firmware 5.1)")
        );
        assert_eq!(model_name(&SOFT_AAGUID), Some(SOFT_MODEL_NAME));
        assert!(SOFT_MODEL_NAME.contains("NOT HARDWARE"));
    }

    #[test]
    fn zero_and_unknown_aaguids_name_nothing() {
        assert_eq!(model_name(&[0; 16]), None);
        assert_eq!(model_name(&[0xff; 16]), None);
    }

    #[test]
    fn table_entries_are_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (id, name) in MODELS {
            let parsed = uuid::Uuid::parse_str(id).expect("valid uuid");
            assert_eq!(
                parsed.hyphenated().to_string(),
                *id,
                "lower-case 8-4-4-4-12"
            );
            assert!(seen.insert(*id), "duplicate {id}");
            assert!(!name.is_empty());
        }
    }

    #[test]
    fn every_fixture_aaguid_of_a_key_we_expect_is_named() {
        // The real-device fixtures carry the AAGUID their authData holds; those of roaming keys
        // we expect in custody (Yubico packed, Solo 2) must resolve.
        for id in [
            "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
            "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
            "2fc0579f-8113-47ea-b116-bb5a8db9202a",
            "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
            "85203421-48f9-4355-9bc8-8a53846e5083",
            "d8522d9f-575b-4866-88a9-ba99fa02f35b",
            "8652abe9-fbd8-4810-a840-d6fc442a8c2c",
        ] {
            assert!(model_name(&parse(id)).is_some(), "{id}");
        }
    }
}
