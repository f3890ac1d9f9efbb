//! COSE_Key public keys (RFC 9052/9053) as CTAP2 authenticators emit them, and signature checks.

use ciborium::Value;

/// COSE algorithm identifier for ECDSA with SHA-256 on P-256.
pub const ALG_ES256: i64 = -7;
/// COSE algorithm identifier for EdDSA (Ed25519 here).
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm identifier for RSASSA-PKCS1-v1_5 with SHA-256.
pub const ALG_RS256: i64 = -257;

/// Why a COSE key could not be read or a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoseError {
    #[error("COSE key is not valid CBOR: {0}")]
    Cbor(String),
    #[error("COSE key is not a CBOR map with integer labels")]
    NotAMap,
    #[error("COSE key lacks required parameter {0}")]
    Missing(&'static str),
    #[error("COSE key parameter {0} has the wrong type or size")]
    Malformed(&'static str),
    #[error("unsupported COSE key: kty {kty}, alg {alg:?}, crv {crv:?}")]
    Unsupported {
        kty: i64,
        alg: Option<i64>,
        crv: Option<i64>,
    },
    #[error("signature does not verify with the {0} public key")]
    BadSignature(&'static str),
}

/// A credential public key in one of the algorithms rootkey can verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoseKey {
    /// ECDSA P-256 with SHA-256; `x` and `y` are the 32-byte affine coordinates.
    Es256 { x: [u8; 32], y: [u8; 32] },
    /// Ed25519; `x` is the 32-byte public key.
    EdDsa { x: [u8; 32] },
    /// RSA PKCS#1 v1.5 with SHA-256 (platform authenticators); big-endian modulus and exponent.
    Rs256 { n: Vec<u8>, e: Vec<u8> },
}

impl CoseKey {
    /// Parses one COSE_Key from the front of `input`, returning it and the bytes after it.
    ///
    /// Authenticator data has no length prefix for the key, so the CBOR item itself says where
    /// it ends; trailing bytes are the caller's business.
    pub fn parse_prefix(input: &[u8]) -> Result<(CoseKey, &[u8]), CoseError> {
        let mut rest = input;
        let value: Value =
            ciborium::from_reader(&mut rest).map_err(|e| CoseError::Cbor(e.to_string()))?;
        Ok((Self::from_value(&value)?, rest))
    }

    /// Parses a COSE_Key that must be exactly `input`.
    pub fn parse(input: &[u8]) -> Result<CoseKey, CoseError> {
        let (key, rest) = Self::parse_prefix(input)?;
        if !rest.is_empty() {
            return Err(CoseError::Cbor(format!(
                "{} trailing bytes after the key",
                rest.len()
            )));
        }
        Ok(key)
    }

    /// Reads a COSE_Key from a decoded CBOR value.
    pub fn from_value(value: &Value) -> Result<CoseKey, CoseError> {
        let map = value.as_map().ok_or(CoseError::NotAMap)?;
        let get = |label: i64| {
            map.iter().find_map(|(k, v)| match k.as_integer() {
                Some(i) if i128::from(i) == i128::from(label) => Some(v),
                _ => None,
            })
        };
        let int = |label: i64, name: &'static str| -> Result<Option<i64>, CoseError> {
            match get(label) {
                None => Ok(None),
                Some(v) => v
                    .as_integer()
                    .and_then(|i| i64::try_from(i).ok())
                    .map(Some)
                    .ok_or(CoseError::Malformed(name)),
            }
        };
        let bytes = |label: i64, name: &'static str| -> Result<&Vec<u8>, CoseError> {
            get(label)
                .ok_or(CoseError::Missing(name))?
                .as_bytes()
                .ok_or(CoseError::Malformed(name))
        };
        let fixed32 = |label: i64, name: &'static str| -> Result<[u8; 32], CoseError> {
            bytes(label, name)?
                .as_slice()
                .try_into()
                .map_err(|_| CoseError::Malformed(name))
        };

        let kty = int(1, "kty")?.ok_or(CoseError::Missing("kty"))?;
        let alg = int(3, "alg")?;
        // Label -1 is the curve for EC2/OKP keys but the modulus (bytes) for RSA keys.
        let crv = if kty == 3 { None } else { int(-1, "crv")? };
        match (kty, alg, crv) {
            // EC2, ES256 (or alg omitted), P-256
            (2, Some(ALG_ES256) | None, Some(1)) => Ok(CoseKey::Es256 {
                x: fixed32(-2, "x")?,
                y: fixed32(-3, "y")?,
            }),
            // OKP, EdDSA (or alg omitted), Ed25519
            (1, Some(ALG_EDDSA) | None, Some(6)) => Ok(CoseKey::EdDsa {
                x: fixed32(-2, "x")?,
            }),
            // RSA, RS256
            (3, Some(ALG_RS256), _) => Ok(CoseKey::Rs256 {
                n: bytes(-1, "n")?.clone(),
                e: bytes(-2, "e")?.clone(),
            }),
            _ => Err(CoseError::Unsupported { kty, alg, crv }),
        }
    }

    /// The COSE algorithm this key signs with.
    pub fn alg(&self) -> i64 {
        match self {
            CoseKey::Es256 { .. } => ALG_ES256,
            CoseKey::EdDsa { .. } => ALG_EDDSA,
            CoseKey::Rs256 { .. } => ALG_RS256,
        }
    }

    /// A short name for the algorithm, for messages and reports.
    pub fn alg_name(&self) -> &'static str {
        match self {
            CoseKey::Es256 { .. } => "ES256",
            CoseKey::EdDsa { .. } => "EdDSA",
            CoseKey::Rs256 { .. } => "RS256",
        }
    }

    /// Canonical CTAP2 CBOR encoding of this key (integer labels in canonical order).
    pub fn to_cbor(&self) -> Vec<u8> {
        let i = |n: i64| Value::Integer(n.into());
        let map = match self {
            CoseKey::Es256 { x, y } => vec![
                (i(1), i(2)),
                (i(3), i(ALG_ES256)),
                (i(-1), i(1)),
                (i(-2), Value::Bytes(x.to_vec())),
                (i(-3), Value::Bytes(y.to_vec())),
            ],
            CoseKey::EdDsa { x } => vec![
                (i(1), i(1)),
                (i(3), i(ALG_EDDSA)),
                (i(-1), i(6)),
                (i(-2), Value::Bytes(x.to_vec())),
            ],
            CoseKey::Rs256 { n, e } => vec![
                (i(1), i(3)),
                (i(3), i(ALG_RS256)),
                (i(-1), Value::Bytes(n.clone())),
                (i(-2), Value::Bytes(e.clone())),
            ],
        };
        let mut out = Vec::new();
        ciborium::into_writer(&Value::Map(map), &mut out)
            .expect("writing CBOR to a Vec cannot fail");
        out
    }

    /// The SEC1 uncompressed point (0x04 || x || y) of a P-256 key, as fido-u2f signs it.
    pub fn sec1_uncompressed(&self) -> Option<[u8; 65]> {
        match self {
            CoseKey::Es256 { x, y } => {
                let mut p = [0u8; 65];
                p[0] = 0x04;
                p[1..33].copy_from_slice(x);
                p[33..].copy_from_slice(y);
                Some(p)
            }
            _ => None,
        }
    }

    /// Verifies `signature` over `message` (ES256 signatures are DER, as WebAuthn sends them).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CoseError> {
        use ring::signature as sig;
        let ok = match self {
            CoseKey::Es256 { .. } => {
                let point = self
                    .sec1_uncompressed()
                    .expect("ES256 key has a SEC1 point");
                sig::UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point[..])
                    .verify(message, signature)
            }
            CoseKey::EdDsa { x } => {
                sig::UnparsedPublicKey::new(&sig::ED25519, &x[..]).verify(message, signature)
            }
            CoseKey::Rs256 { n, e } => sig::RsaPublicKeyComponents { n, e }.verify(
                &sig::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        ok.map_err(|_| CoseError::BadSignature(self.alg_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    fn es256_pair() -> (EcdsaKeyPair, CoseKey) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let p = kp.public_key().as_ref();
        let key = CoseKey::Es256 {
            x: p[1..33].try_into().unwrap(),
            y: p[33..65].try_into().unwrap(),
        };
        (kp, key)
    }

    #[test]
    fn es256_round_trip_and_verify() {
        let (kp, key) = es256_pair();
        let parsed = CoseKey::parse(&key.to_cbor()).unwrap();
        assert_eq!(parsed, key);
        let sig = kp.sign(&SystemRandom::new(), b"hello").unwrap();
        parsed.verify(b"hello", sig.as_ref()).unwrap();
        assert_eq!(
            parsed.verify(b"hellO", sig.as_ref()),
            Err(CoseError::BadSignature("ES256"))
        );
    }

    #[test]
    fn eddsa_round_trip_and_verify() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = CoseKey::EdDsa {
            x: kp.public_key().as_ref().try_into().unwrap(),
        };
        let parsed = CoseKey::parse(&key.to_cbor()).unwrap();
        assert_eq!(parsed, key);
        parsed.verify(b"m", kp.sign(b"m").as_ref()).unwrap();
        assert!(parsed.verify(b"n", kp.sign(b"m").as_ref()).is_err());
    }

    #[test]
    fn rsa_key_parses_with_modulus_at_label_minus_one() {
        let key = CoseKey::Rs256 {
            n: vec![0xc5; 256],
            e: vec![1, 0, 1],
        };
        assert_eq!(CoseKey::parse(&key.to_cbor()).unwrap(), key);
    }

    #[test]
    fn parse_prefix_returns_the_rest() {
        let (_, key) = es256_pair();
        let mut bytes = key.to_cbor();
        bytes.extend_from_slice(&[0xa0]);
        let (k, rest) = CoseKey::parse_prefix(&bytes).unwrap();
        assert_eq!(k, key);
        assert_eq!(rest, &[0xa0]);
        assert!(CoseKey::parse(&bytes).is_err());
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        let (_, key) = es256_pair();
        let bytes = key.to_cbor();
        for n in 0..bytes.len() {
            assert!(CoseKey::parse(&bytes[..n]).is_err(), "prefix {n} accepted");
        }
        // wrong curve for EC2
        let v = Value::Map(vec![
            (Value::Integer(1.into()), Value::Integer(2.into())),
            (Value::Integer((-1).into()), Value::Integer(2.into())),
        ]);
        assert!(matches!(
            CoseKey::from_value(&v),
            Err(CoseError::Unsupported { .. })
        ));
        assert_eq!(
            CoseKey::from_value(&Value::Integer(1.into())),
            Err(CoseError::NotAMap)
        );
    }
}
