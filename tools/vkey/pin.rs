//! PIN/UV auth protocols one and two (CTAP 2.1 §6.5.6 and §6.5.7), authenticator side.

use aes::cipher::{block_padding::NoPadding, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use ciborium::Value;
use ring::rand::{SecureRandom, SystemRandom};

use crate::ctap2::status;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// A PIN/UV auth protocol (the `pinUvAuthProtocol` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    One,
    Two,
}

impl Protocol {
    /// The protocol a request names; an unsupported one is CTAP1_ERR_INVALID_PARAMETER.
    pub fn from_value(v: &Value) -> Result<Protocol, u8> {
        match v.as_integer().and_then(|i| i64::try_from(i).ok()) {
            Some(1) => Ok(Protocol::One),
            Some(2) => Ok(Protocol::Two),
            _ => Err(status::INVALID_PARAMETER),
        }
    }

    /// kdf(Z) (§6.5.6: SHA-256(Z); §6.5.7: HKDF-SHA-256 into an HMAC key and an AES key).
    pub fn kdf(self, z: &[u8]) -> Vec<u8> {
        match self {
            Protocol::One => ring::digest::digest(&ring::digest::SHA256, z)
                .as_ref()
                .to_vec(),
            Protocol::Two => {
                let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[0u8; 32]);
                let prk = salt.extract(z);
                let mut out = vec![0u8; 64];
                for (info, chunk) in [b"CTAP2 HMAC key".as_slice(), b"CTAP2 AES key"]
                    .into_iter()
                    .zip(out.chunks_mut(32))
                {
                    // 32 bytes is always a valid HKDF-SHA-256 output length.
                    let info = [info];
                    let okm = prk
                        .expand(&info, ring::hkdf::HKDF_SHA256)
                        .expect("HKDF output length");
                    okm.fill(chunk).expect("HKDF fill");
                }
                out
            }
        }
    }

    fn aes_key(self, key: &[u8]) -> &[u8] {
        match self {
            Protocol::One => &key[..32],
            Protocol::Two => &key[key.len() - 32..],
        }
    }

    /// encrypt(key, demPlaintext): AES-256-CBC, IV zero (one) or a random IV prepended (two).
    pub fn encrypt(self, key: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut iv = [0u8; 16];
        if self == Protocol::Two {
            // The system generator failing leaves no safe way to go on.
            SystemRandom::new().fill(&mut iv).expect("system random");
        }
        let mut buf = plaintext.to_vec();
        let len = buf.len();
        let ct = Aes256CbcEnc::new_from_slices(self.aes_key(key), &iv)
            .expect("32-byte key, 16-byte IV")
            .encrypt_padded::<NoPadding>(&mut buf, len)
            .expect("whole blocks")
            .to_vec();
        match self {
            Protocol::One => ct,
            Protocol::Two => [iv.as_slice(), &ct].concat(),
        }
    }

    /// decrypt(key, demCiphertext); a ciphertext that is not whole blocks is
    /// CTAP1_ERR_INVALID_PARAMETER.
    pub fn decrypt(self, key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, u8> {
        let (iv, ct) = match self {
            Protocol::One => ([0u8; 16], ciphertext),
            Protocol::Two => {
                if ciphertext.len() < 16 {
                    return Err(status::INVALID_PARAMETER);
                }
                let mut iv = [0u8; 16];
                iv.copy_from_slice(&ciphertext[..16]);
                (iv, &ciphertext[16..])
            }
        };
        if ct.is_empty() || ct.len() % 16 != 0 {
            return Err(status::INVALID_PARAMETER);
        }
        let mut buf = ct.to_vec();
        let pt = Aes256CbcDec::new_from_slices(self.aes_key(key), &iv)
            .expect("32-byte key, 16-byte IV")
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| status::INVALID_PARAMETER)?;
        Ok(pt.to_vec())
    }

    /// authenticate(key, message): HMAC-SHA-256 with the first 32 bytes of the key, truncated
    /// to 16 bytes for protocol one.
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key[..32]);
        let tag = ring::hmac::sign(&k, message);
        match self {
            Protocol::One => tag.as_ref()[..16].to_vec(),
            Protocol::Two => tag.as_ref().to_vec(),
        }
    }

    /// verify(key, message, signature), in constant time.
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let expected = self.authenticate(key, message);
        expected.len() == signature.len()
            && expected
                .iter()
                .zip(signature)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The authenticator's key agreement key (§6.5.4, getKeyAgreement), kept until regenerated.
pub struct KeyAgreement {
    secret: p256::SecretKey,
}

impl KeyAgreement {
    pub fn generate() -> KeyAgreement {
        let rng = SystemRandom::new();
        loop {
            let mut d = [0u8; 32];
            rng.fill(&mut d).expect("system random");
            // Out-of-range scalars (probability ~2^-32) are drawn again.
            if let Ok(secret) = p256::SecretKey::from_slice(&d) {
                return KeyAgreement { secret };
            }
        }
    }

    /// The public key as COSE_Key (kty EC2, alg -25 ECDH-ES+HKDF-256, crv P-256).
    pub fn cose(&self) -> Value {
        let point = self.secret.public_key().to_sec1_bytes();
        let int = |i: i64| Value::Integer(i.into());
        Value::Map(vec![
            (int(1), int(2)),
            (int(3), int(-25)),
            (int(-1), int(1)),
            (int(-2), Value::Bytes(point[1..33].to_vec())),
            (int(-3), Value::Bytes(point[33..65].to_vec())),
        ])
    }

    /// decapsulate(peerCoseKey): ECDH with the platform's key, then the protocol's kdf.
    pub fn shared_secret(&self, protocol: Protocol, peer: &Value) -> Result<Vec<u8>, u8> {
        let map = peer.as_map().ok_or(status::INVALID_PARAMETER)?;
        let get = |k: i64| {
            map.iter()
                .find(|(kk, _)| kk.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(k))
                .map(|(_, v)| v)
        };
        let x = get(-2)
            .and_then(Value::as_bytes)
            .ok_or(status::INVALID_PARAMETER)?;
        let y = get(-3)
            .and_then(Value::as_bytes)
            .ok_or(status::INVALID_PARAMETER)?;
        if x.len() != 32 || y.len() != 32 {
            return Err(status::INVALID_PARAMETER);
        }
        let sec1 = [&[0x04u8][..], x, y].concat();
        let peer =
            p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| status::INVALID_PARAMETER)?;
        let shared = (peer.to_projective() * *self.secret.to_nonzero_scalar()).to_affine();
        let shared = p256::PublicKey::from_affine(shared).map_err(|_| status::INVALID_PARAMETER)?;
        let z = &shared.to_sec1_bytes()[1..33];
        Ok(protocol.kdf(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_of_ecdh_agree_for_both_protocols() {
        let a = KeyAgreement::generate();
        let b = KeyAgreement::generate();
        for p in [Protocol::One, Protocol::Two] {
            let ab = a.shared_secret(p, &b.cose()).unwrap();
            let ba = b.shared_secret(p, &a.cose()).unwrap();
            assert_eq!(ab, ba);
            assert_eq!(ab.len(), if p == Protocol::One { 32 } else { 64 });
        }
        let c = KeyAgreement::generate();
        assert_ne!(
            a.shared_secret(Protocol::Two, &b.cose()).unwrap(),
            a.shared_secret(Protocol::Two, &c.cose()).unwrap()
        );
    }

    #[test]
    fn a_point_off_the_curve_or_a_malformed_key_is_refused() {
        let a = KeyAgreement::generate();
        let int = |i: i64| Value::Integer(i.into());
        let bad = Value::Map(vec![
            (int(1), int(2)),
            (int(-2), Value::Bytes(vec![1; 32])),
            (int(-3), Value::Bytes(vec![2; 32])),
        ]);
        assert_eq!(
            a.shared_secret(Protocol::Two, &bad),
            Err(status::INVALID_PARAMETER)
        );
        assert_eq!(
            a.shared_secret(Protocol::Two, &Value::Bytes(vec![])),
            Err(status::INVALID_PARAMETER)
        );
    }

    #[test]
    fn encryption_round_trips_and_protocol_two_uses_a_fresh_iv() {
        let key: Vec<u8> = (0..64).collect();
        let pt = [7u8; 64];
        for p in [Protocol::One, Protocol::Two] {
            let ct = p.encrypt(&key, &pt);
            assert_eq!(p.decrypt(&key, &ct).unwrap(), pt);
        }
        let one = Protocol::One.encrypt(&key, &pt);
        assert_eq!(one.len(), 64);
        assert_eq!(one, Protocol::One.encrypt(&key, &pt), "IV zero");
        let two = Protocol::Two.encrypt(&key, &pt);
        assert_eq!(two.len(), 80);
        assert_ne!(two, Protocol::Two.encrypt(&key, &pt), "random IV");
        assert_eq!(
            Protocol::Two.decrypt(&key, &[0; 20]),
            Err(status::INVALID_PARAMETER)
        );
        assert_eq!(
            Protocol::One.decrypt(&key, &[]),
            Err(status::INVALID_PARAMETER)
        );
    }

    #[test]
    fn authenticate_and_verify() {
        let key = [3u8; 32];
        assert_eq!(Protocol::One.authenticate(&key, b"m").len(), 16);
        assert_eq!(Protocol::Two.authenticate(&key, b"m").len(), 32);
        for p in [Protocol::One, Protocol::Two] {
            let tag = p.authenticate(&key, b"message");
            assert!(p.verify(&key, b"message", &tag));
            assert!(!p.verify(&key, b"messagf", &tag));
            assert!(!p.verify(&key, b"message", &tag[..tag.len() - 1]));
        }
        assert_eq!(
            Protocol::from_value(&Value::Integer(3.into())),
            Err(status::INVALID_PARAMETER)
        );
    }
}
