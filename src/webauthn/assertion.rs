//! The one assertion verifier: every WebAuthn assertion rootkey relies on (a custodian's
//! approval, a key's possession proof) goes through [`verify`], which checks all of it.
//!
//! Checked, in the order of WebAuthn L2 §7.2: client data type, challenge and origin; the RP ID
//! hash; user presence; user verification when required; the signature over
//! `authenticatorData || SHA-256(clientDataJSON)`; and that the signature counter moved forward.

use super::{sha256, AuthData, ClientData, CoseKey};

/// What the relying party expects of one assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// RP ID the credential is scoped to.
    pub rp_id: &'a str,
    /// Origin the client data must name.
    pub origin: &'a str,
    /// The challenge that was issued.
    pub challenge: &'a [u8],
    /// Whether the UV flag is required (PIN or built-in biometrics): approvals need the person,
    /// not only the key.
    pub user_verification: bool,
    /// The highest signature counter seen from this credential before (0: none yet).
    pub previous_counter: u32,
}

/// The raw parts of an assertion, as a key returned them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// Authenticator data.
    pub authenticator_data: &'a [u8],
    /// Client data JSON, exactly as hashed.
    pub client_data_json: &'a [u8],
    /// Signature.
    pub signature: &'a [u8],
}

/// An assertion that passed every check. Only [`verify`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    counter: u32,
    user_verified: bool,
}

impl Verified {
    /// The signature counter the key reported.
    pub fn counter(&self) -> u32 {
        self.counter
    }
    /// Whether the key verified the user (PIN or biometrics).
    pub fn user_verified(&self) -> bool {
        self.user_verified
    }
}

/// Why an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Authenticator data does not parse.
    #[error("authenticator data: {0}")]
    AuthData(String),
    /// Client data does not parse or is for something else.
    #[error("client data: {0}")]
    ClientData(String),
    /// Client data names another origin.
    #[error("client data origin is {found:?}, expected {expected:?}")]
    Origin {
        /// Expected origin.
        expected: String,
        /// Origin found.
        found: String,
    },
    /// The assertion is for another relying party.
    #[error("the assertion is for another RP (expected {0})")]
    RpId(String),
    /// No touch.
    #[error("the key did not register a touch (user presence flag not set)")]
    NoUserPresence,
    /// No PIN or biometrics.
    #[error("the key did not verify the user (no PIN or biometrics): approvals need the person, not only their key")]
    NoUserVerification,
    /// Bad signature.
    #[error("the signature does not verify with the enrolled public key")]
    Signature,
    /// The counter did not move forward.
    #[error("signature counter {counter} did not increase past {previous}: the assertion was replayed or the key cloned")]
    Counter {
        /// Counter in this assertion.
        counter: u32,
        /// Highest counter seen before.
        previous: u32,
    },
}

/// Verifies one assertion by `key` against everything `expected` says.
///
/// Counters that have always been zero are accepted at zero: some authenticators never count.
pub fn verify(
    key: &CoseKey,
    parts: Parts<'_>,
    expected: &Expected<'_>,
) -> Result<Verified, AssertionError> {
    let cd = ClientData::parse(parts.client_data_json)
        .map_err(|e| AssertionError::ClientData(e.to_string()))?;
    cd.check(super::client_data::TYPE_GET, expected.challenge)
        .map_err(|e| AssertionError::ClientData(e.to_string()))?;
    if cd.origin != expected.origin {
        return Err(AssertionError::Origin {
            expected: expected.origin.to_string(),
            found: cd.origin,
        });
    }
    let ad = AuthData::parse(parts.authenticator_data)
        .map_err(|e| AssertionError::AuthData(e.to_string()))?;
    if !ad.is_for_rp(expected.rp_id) {
        return Err(AssertionError::RpId(expected.rp_id.to_string()));
    }
    if !ad.flags.user_present() {
        return Err(AssertionError::NoUserPresence);
    }
    if expected.user_verification && !ad.flags.user_verified() {
        return Err(AssertionError::NoUserVerification);
    }
    let mut message = parts.authenticator_data.to_vec();
    message.extend_from_slice(&sha256(parts.client_data_json));
    key.verify(&message, parts.signature)
        .map_err(|_| AssertionError::Signature)?;
    if (ad.sign_count != 0 || expected.previous_counter != 0)
        && ad.sign_count <= expected.previous_counter
    {
        return Err(AssertionError::Counter {
            counter: ad.sign_count,
            previous: expected.previous_counter,
        });
    }
    Ok(Verified {
        counter: ad.sign_count,
        user_verified: ad.flags.user_verified(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webauthn::client_data::{TYPE_CREATE, TYPE_GET};
    use crate::webauthn::Flags;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    struct Signer(Ed25519KeyPair);

    impl Signer {
        fn new() -> Self {
            Signer(Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap())
        }
        fn key(&self) -> CoseKey {
            CoseKey::EdDsa {
                x: self.0.public_key().as_ref().try_into().unwrap(),
            }
        }
        fn sign(&self, rp: &str, flags: u8, counter: u32, cd: &[u8]) -> (Vec<u8>, Vec<u8>) {
            let ad = AuthData::encode(&sha256(rp.as_bytes()), Flags(flags), counter, None);
            let mut m = ad.clone();
            m.extend_from_slice(&sha256(cd));
            (ad, self.0.sign(&m).as_ref().to_vec())
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        rp_id: "rootkey.custodian",
        origin: "rootkey:approval",
        challenge: b"the event",
        user_verification: true,
        previous_counter: 4,
    };

    fn check(flags: u8, counter: u32, cd: &[u8], rp: &str) -> Result<Verified, AssertionError> {
        let s = Signer::new();
        let (ad, sig) = s.sign(rp, flags, counter, cd);
        verify(
            &s.key(),
            Parts {
                authenticator_data: &ad,
                client_data_json: cd,
                signature: &sig,
            },
            &EXPECTED,
        )
    }

    #[test]
    fn a_good_assertion_passes_and_every_defect_is_named() {
        let good = ClientData::json(TYPE_GET, b"the event", "rootkey:approval");
        let uvup = Flags::UP | Flags::UV;
        let v = check(uvup, 5, &good, "rootkey.custodian").unwrap();
        assert_eq!((v.counter(), v.user_verified()), (5, true));
        assert_eq!(
            check(Flags::UP, 5, &good, "rootkey.custodian"),
            Err(AssertionError::NoUserVerification)
        );
        assert_eq!(
            check(Flags::UV, 5, &good, "rootkey.custodian"),
            Err(AssertionError::NoUserPresence)
        );
        assert!(matches!(
            check(uvup, 5, &good, "rootkey.custody"),
            Err(AssertionError::RpId(_))
        ));
        for counter in [4, 3] {
            assert!(matches!(
                check(uvup, counter, &good, "rootkey.custodian"),
                Err(AssertionError::Counter { .. })
            ));
        }
        let other_origin = ClientData::json(TYPE_GET, b"the event", "https://evil.example");
        assert!(matches!(
            check(uvup, 5, &other_origin, "rootkey.custodian"),
            Err(AssertionError::Origin { .. })
        ));
        let other_event = ClientData::json(TYPE_GET, b"another event", "rootkey:approval");
        assert!(matches!(
            check(uvup, 5, &other_event, "rootkey.custodian"),
            Err(AssertionError::ClientData(_))
        ));
        let registration = ClientData::json(TYPE_CREATE, b"the event", "rootkey:approval");
        assert!(matches!(
            check(uvup, 5, &registration, "rootkey.custodian"),
            Err(AssertionError::ClientData(_))
        ));
        // A signature over other client data than the one presented.
        let s = Signer::new();
        let (ad, sig) = s.sign("rootkey.custodian", uvup, 5, &other_event);
        let err = verify(
            &s.key(),
            Parts {
                authenticator_data: &ad,
                client_data_json: &good,
                signature: &sig,
            },
            &EXPECTED,
        );
        assert_eq!(err, Err(AssertionError::Signature));
    }

    #[test]
    fn a_counter_that_never_moved_is_accepted_only_while_it_is_zero() {
        let good = ClientData::json(TYPE_GET, b"the event", "rootkey:approval");
        let s = Signer::new();
        let (ad, sig) = s.sign("rootkey.custodian", Flags::UP | Flags::UV, 0, &good);
        let parts = Parts {
            authenticator_data: &ad,
            client_data_json: &good,
            signature: &sig,
        };
        let mut e = EXPECTED;
        e.previous_counter = 0;
        assert!(verify(&s.key(), parts, &e).is_ok());
        e.previous_counter = 1;
        assert!(verify(&s.key(), parts, &e).is_err());
    }
}
