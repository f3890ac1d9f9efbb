//! Authenticator data (WebAuthn §6.1): the bytes every attestation and assertion signs.

use ciborium::Value;

use super::cose::{CoseError, CoseKey};

/// Why authenticator data could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthDataError {
    #[error("authenticator data is {0} bytes, shorter than the 37-byte minimum")]
    TooShort(usize),
    #[error("attested credential data flag is set but the data is truncated ({0})")]
    TruncatedCredential(&'static str),
    #[error("credential public key: {0}")]
    CredentialKey(CoseError),
    #[error("extensions flag is set but the extensions are not a CBOR map: {0}")]
    Extensions(String),
    #[error("{0} unexpected bytes after the authenticator data")]
    TrailingBytes(usize),
}

/// The flags byte (WebAuthn §6.1, table "flags").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// User present (UP).
    pub const UP: u8 = 0x01;
    /// User verified (UV).
    pub const UV: u8 = 0x04;
    /// Backup eligible (BE): a syncable passkey, which cannot be kept in a safe.
    pub const BE: u8 = 0x08;
    /// Backed up (BS).
    pub const BS: u8 = 0x10;
    /// Attested credential data included (AT).
    pub const AT: u8 = 0x40;
    /// Extension data included (ED).
    pub const ED: u8 = 0x80;

    /// Whether the user-presence bit is set.
    pub fn user_present(self) -> bool {
        self.0 & Self::UP != 0
    }
    /// Whether the user-verification bit is set.
    pub fn user_verified(self) -> bool {
        self.0 & Self::UV != 0
    }
    /// Whether the credential may be synced to other devices.
    pub fn backup_eligible(self) -> bool {
        self.0 & Self::BE != 0
    }
    /// Whether attested credential data follows the counter.
    pub fn attested(self) -> bool {
        self.0 & Self::AT != 0
    }
    /// Whether an extensions map ends the data.
    pub fn has_extensions(self) -> bool {
        self.0 & Self::ED != 0
    }
}

/// Attested credential data (WebAuthn §6.5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    /// The authenticator model's AAGUID (all zeros for U2F keys and anonymised attestation).
    pub aaguid: [u8; 16],
    /// The new credential's id.
    pub credential_id: Vec<u8>,
    /// The new credential's public key.
    pub public_key: CoseKey,
    /// The exact CBOR bytes of the public key as the authenticator sent them.
    pub public_key_cbor: Vec<u8>,
}

/// Parsed authenticator data; `raw` keeps the exact bytes, which are what signatures cover.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthData {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flags byte.
    pub flags: Flags,
    /// The signature counter.
    pub sign_count: u32,
    /// Present exactly when the AT flag is set.
    pub attested: Option<AttestedCredential>,
    /// Present exactly when the ED flag is set.
    pub extensions: Option<Value>,
    /// The bytes this was parsed from.
    pub raw: Vec<u8>,
}

/// Limit on credential id length from WebAuthn §6.5.2 ("credentialIdLength ... at most 1023").
const MAX_CREDENTIAL_ID: usize = 1023;

impl AuthData {
    /// Parses authenticator data, requiring every byte to be accounted for.
    pub fn parse(raw: &[u8]) -> Result<AuthData, AuthDataError> {
        if raw.len() < 37 {
            return Err(AuthDataError::TooShort(raw.len()));
        }
        let rp_id_hash: [u8; 32] = raw[..32].try_into().expect("length checked above");
        let flags = Flags(raw[32]);
        let sign_count = u32::from_be_bytes(raw[33..37].try_into().expect("length checked"));
        let mut rest = &raw[37..];

        let attested = if flags.attested() {
            if rest.len() < 18 {
                return Err(AuthDataError::TruncatedCredential("AAGUID and id length"));
            }
            let aaguid: [u8; 16] = rest[..16].try_into().expect("length checked");
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if id_len > MAX_CREDENTIAL_ID {
                return Err(AuthDataError::TruncatedCredential(
                    "credential id longer than 1023 bytes",
                ));
            }
            if rest.len() < id_len {
                return Err(AuthDataError::TruncatedCredential("credential id"));
            }
            let credential_id = rest[..id_len].to_vec();
            rest = &rest[id_len..];
            if rest.is_empty() {
                return Err(AuthDataError::TruncatedCredential("public key"));
            }
            let (public_key, after) =
                CoseKey::parse_prefix(rest).map_err(AuthDataError::CredentialKey)?;
            let public_key_cbor = rest[..rest.len() - after.len()].to_vec();
            rest = after;
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key,
                public_key_cbor,
            })
        } else {
            None
        };

        let extensions = if flags.has_extensions() {
            let mut r = rest;
            let v: Value = ciborium::from_reader(&mut r)
                .map_err(|e| AuthDataError::Extensions(e.to_string()))?;
            if !v.is_map() {
                return Err(AuthDataError::Extensions("not a map".into()));
            }
            rest = r;
            Some(v)
        } else {
            None
        };

        if !rest.is_empty() {
            return Err(AuthDataError::TrailingBytes(rest.len()));
        }
        Ok(AuthData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
            extensions,
            raw: raw.to_vec(),
        })
    }

    /// Encodes authenticator data (the software authenticator builds its output with this).
    pub fn encode(
        rp_id_hash: &[u8; 32],
        flags: Flags,
        sign_count: u32,
        attested: Option<(&[u8; 16], &[u8], &CoseKey)>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(37 + 200);
        out.extend_from_slice(rp_id_hash);
        let mut f = flags.0 & !(Flags::AT | Flags::ED);
        if attested.is_some() {
            f |= Flags::AT;
        }
        out.push(f);
        out.extend_from_slice(&sign_count.to_be_bytes());
        if let Some((aaguid, cred_id, key)) = attested {
            out.extend_from_slice(aaguid);
            let len = u16::try_from(cred_id.len()).expect("credential ids are short");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(cred_id);
            out.extend_from_slice(&key.to_cbor());
        }
        out
    }

    /// Whether the RP ID hash equals SHA-256(`rp_id`).
    pub fn is_for_rp(&self, rp_id: &str) -> bool {
        // Not secret: a plain comparison is fine.
        self.rp_id_hash == super::sha256(rp_id.as_bytes())
    }
}

/// Formats a 16-byte AAGUID in the usual 8-4-4-4-12 hex form.
pub fn format_aaguid(aaguid: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*aaguid).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CoseKey {
        CoseKey::Es256 {
            x: [7; 32],
            y: [9; 32],
        }
    }

    #[test]
    fn assertion_data_round_trips() {
        let raw = AuthData::encode(
            &super::super::sha256(b"rootkey.custody"),
            Flags(Flags::UP),
            7,
            None,
        );
        let ad = AuthData::parse(&raw).unwrap();
        assert!(ad.is_for_rp("rootkey.custody"));
        assert!(!ad.is_for_rp("rootkey.custodian"));
        assert!(ad.flags.user_present() && !ad.flags.user_verified());
        assert_eq!(ad.sign_count, 7);
        assert!(ad.attested.is_none());
    }

    #[test]
    fn attested_data_round_trips_and_every_truncation_fails() {
        let raw = AuthData::encode(
            &[1; 32],
            Flags(Flags::UP | Flags::UV),
            1,
            Some((&[0xab; 16], b"cred-id", &key())),
        );
        let ad = AuthData::parse(&raw).unwrap();
        let cred = ad.attested.as_ref().unwrap();
        assert_eq!(cred.aaguid, [0xab; 16]);
        assert_eq!(cred.credential_id, b"cred-id");
        assert_eq!(cred.public_key, key());
        assert_eq!(cred.public_key_cbor, key().to_cbor());
        for n in 0..raw.len() {
            assert!(AuthData::parse(&raw[..n]).is_err(), "prefix {n} accepted");
        }
        let mut longer = raw.clone();
        longer.push(0);
        assert_eq!(
            AuthData::parse(&longer),
            Err(AuthDataError::TrailingBytes(1))
        );
    }

    #[test]
    fn aaguid_formats_as_uuid() {
        let a = [
            0x2f, 0xc0, 0x57, 0x9f, 0x81, 0x13, 0x47, 0xea, 0xb1, 0x16, 0xbb, 0x5a, 0x8d, 0xb9,
            0x20, 0x2a,
        ];
        assert_eq!(format_aaguid(&a), "2fc0579f-8113-47ea-b116-bb5a8db9202a");
    }
}
