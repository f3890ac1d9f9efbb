//! Test custodians: real ES256 / Ed25519 keys (ring) that make WebAuthn-style approvals.

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rootkey::ledger::{Approval, CustodianSpec, Role, UnsignedEvent, CUSTODIAN_RP_ID};
use rootkey::webauthn::{client_data::TYPE_GET, sha256, AuthData, ClientData, CoseKey, Flags};

enum Pair {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A person with a software credential, for tests.
pub struct TestCustodian {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub credential_id: Vec<u8>,
    pub key: CoseKey,
    pair: Pair,
}

impl TestCustodian {
    /// A custodian with an ES256 key when `es256`, else Ed25519.
    pub fn new(name: &str, es256: bool) -> Self {
        Self::with_role(name, es256, Role::Custodian)
    }

    /// A person with `role`.
    pub fn with_role(name: &str, es256: bool, role: Role) -> Self {
        let rng = SystemRandom::new();
        let (pair, key) = if es256 {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let p = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref(), &rng)
                .unwrap();
            let pt = p.public_key().as_ref();
            let key = CoseKey::Es256 {
                x: pt[1..33].try_into().unwrap(),
                y: pt[33..65].try_into().unwrap(),
            };
            (Pair::Es256(p), key)
        } else {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let p = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
            let key = CoseKey::EdDsa {
                x: p.public_key().as_ref().try_into().unwrap(),
            };
            (Pair::Ed25519(p), key)
        };
        TestCustodian {
            id: format!("id-{name}"),
            name: name.to_string(),
            role,
            credential_id: format!("cred-{name}").into_bytes(),
            key,
            pair,
        }
    }

    /// The registry spec for enrolling this person.
    pub fn spec(&self) -> CustodianSpec {
        CustodianSpec::new(
            &self.id,
            &self.name,
            self.role,
            &self.credential_id,
            &self.key,
        )
    }

    /// Signs an assertion over `challenge` with the given RP and flags.
    pub fn assert_raw(&self, challenge: &[u8], rp_id: &str, flags: u8) -> Approval {
        let ad = AuthData::encode(&sha256(rp_id.as_bytes()), Flags(flags), 7, None);
        let cdj = ClientData::json(TYPE_GET, challenge, "https://rootkey.custodian");
        let mut msg = ad.clone();
        msg.extend_from_slice(&sha256(&cdj));
        let signature = match &self.pair {
            Pair::Es256(p) => p
                .sign(&SystemRandom::new(), &msg)
                .unwrap()
                .as_ref()
                .to_vec(),
            Pair::Ed25519(p) => p.sign(&msg).as_ref().to_vec(),
        };
        Approval {
            custodian_id: self.id.clone(),
            credential_id: self.credential_id.clone(),
            authenticator_data: ad,
            client_data_json: cdj,
            signature,
        }
    }

    /// A valid approval of `event`.
    pub fn approve(&self, event: &UnsignedEvent) -> Approval {
        self.assert_raw(&event.approval_challenge(), CUSTODIAN_RP_ID, Flags::UP)
    }
}

/// A `custodian.bootstrap` event for `a` and `b`.
pub fn bootstrap_event(a: &TestCustodian, b: &TestCustodian) -> UnsignedEvent {
    UnsignedEvent::new(
        "custodian.bootstrap",
        "setup",
        serde_json::json!({"custodians": [a.spec(), b.spec()]}),
    )
    .unwrap()
}

/// A `custodian.added` event for `c`.
pub fn added_event(c: &TestCustodian) -> UnsignedEvent {
    UnsignedEvent::new(
        "custodian.added",
        "setup",
        serde_json::json!({"custodian": c.spec()}),
    )
    .unwrap()
}

/// A `custodian.removed` event for `c`.
pub fn removed_event(c: &TestCustodian) -> UnsignedEvent {
    UnsignedEvent::new(
        "custodian.removed",
        "setup",
        serde_json::json!({"id": c.id, "reason": "left the team"}),
    )
    .unwrap()
}

/// A note event.
pub fn note(text: &str) -> UnsignedEvent {
    UnsignedEvent::new("note", "tester", serde_json::json!({"text": text})).unwrap()
}
