//! Known-vulnerable firmware (see /work/shared/docs/device-facts.md).

use crate::webauthn::models::Family;

/// One advisory: a family's firmware before `fixed_from` is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advisory {
    /// Vendor advisory id.
    pub id: &'static str,
    /// Affected family.
    pub family: Family,
    /// First unaffected firmware version.
    pub fixed_from: [u32; 3],
    /// What it means, in one sentence.
    pub summary: &'static str,
}

const EUCLEAK: &str = "ECDSA side channel in the Infineon library (EUCLEAK, CVE-2024-45678): \
with the key in hand, an attacker can clone its FIDO credentials and attestation key; \
firmware cannot be upgraded, so the key must be replaced";

/// Built-in advisories: Yubico YSA-2024-03 for every affected YubiKey family.
pub const ADVISORIES: &[Advisory] = &[
    Advisory {
        id: "YSA-2024-03",
        family: Family::YubiKey5,
        fixed_from: [5, 7, 0],
        summary: EUCLEAK,
    },
    Advisory {
        id: "YSA-2024-03",
        family: Family::YubiKey5Fips,
        fixed_from: [5, 7, 2],
        summary: EUCLEAK,
    },
    Advisory {
        id: "YSA-2024-03",
        family: Family::YubiKeyBio,
        fixed_from: [5, 7, 2],
        summary: EUCLEAK,
    },
    Advisory {
        id: "YSA-2024-03",
        family: Family::YubicoSecurityKey,
        fixed_from: [5, 7, 0],
        summary: EUCLEAK,
    },
];

/// What the advisories say about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmwareStatus {
    /// No advisory applies.
    Unaffected,
    /// The firmware is below the fix.
    Vulnerable(&'static Advisory),
    /// The family is affected by an advisory but the firmware version is unknown or unreadable.
    Unknown(&'static Advisory),
}

/// Parses `5.7.1` (missing parts count as 0); None when it is not dotted numbers.
pub fn parse_version(v: &str) -> Option<[u32; 3]> {
    let mut out = [0u32; 3];
    let parts: Vec<&str> = v.trim().split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    for (slot, p) in out.iter_mut().zip(parts) {
        *slot = p.parse().ok()?;
    }
    Some(out)
}

/// Checks `family` at `firmware` against the built-in advisories.
pub fn check(family: Option<Family>, firmware: Option<&str>) -> FirmwareStatus {
    let Some(family) = family else {
        return FirmwareStatus::Unaffected;
    };
    for adv in ADVISORIES.iter().filter(|a| a.family == family) {
        match firmware.and_then(parse_version) {
            None => return FirmwareStatus::Unknown(adv),
            Some(v) if v < adv.fixed_from => return FirmwareStatus::Vulnerable(adv),
            Some(_) => {}
        }
    }
    FirmwareStatus::Unaffected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yubikey_thresholds_match_the_advisory_table() {
        use Family::*;
        let vuln = |f, v| matches!(check(Some(f), Some(v)), FirmwareStatus::Vulnerable(_));
        assert!(vuln(YubiKey5, "5.4.3"));
        assert!(vuln(YubiKey5, "5.6.99"));
        assert!(!vuln(YubiKey5, "5.7.0"));
        assert!(!vuln(YubiKey5, "5.7.4"));
        assert!(vuln(YubiKey5Fips, "5.7.1"));
        assert!(!vuln(YubiKey5Fips, "5.7.2"));
        assert!(vuln(YubiKeyBio, "5.7.1"));
        assert!(!vuln(YubiKeyBio, "5.7.2"));
        assert!(vuln(YubicoSecurityKey, "5.4"));
        assert!(!vuln(YubicoSecurityKey, "5.7"));
        assert!(matches!(
            check(Some(YubiKey5), None),
            FirmwareStatus::Unknown(_)
        ));
        assert!(matches!(
            check(Some(YubiKey5), Some("five")),
            FirmwareStatus::Unknown(_)
        ));
        assert_eq!(check(Some(SoloKeys), None), FirmwareStatus::Unaffected);
        assert_eq!(check(None, Some("1.0")), FirmwareStatus::Unaffected);
        assert_eq!(parse_version("5.7"), Some([5, 7, 0]));
        assert_eq!(parse_version("1.2.3.4"), None);
    }
}
