//! Test custodians: real ES256 / Ed25519 keys (ring) that make WebAuthn-style approvals.

use std::cell::Cell;

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rootkey::attest::Assurance;
use rootkey::custody::dual_control::APPROVAL_ORIGIN;
use rootkey::custody::events::{AttestationSummary, CustodianSpec, B64};
use rootkey::custody::{Role, CUSTODIAN_RP_ID};
use rootkey::device::{CUSTODY_ORIGIN, CUSTODY_RP_ID};
use rootkey::ledger::{Approval, UnsignedEvent};
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
    pkcs8: Vec<u8>,
    counter: Cell<u32>,
}

impl TestCustodian {
    /// A custodian with an ES256 key when `es256`, else Ed25519.
    pub fn new(name: &str, es256: bool) -> Self {
        Self::with_role(name, es256, Role::Custodian)
    }

    /// A person with `role`.
    pub fn with_role(name: &str, es256: bool, role: Role) -> Self {
        let rng = SystemRandom::new();
        let (pair, key, pkcs8) = if es256 {
            let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let p = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, doc.as_ref(), &rng)
                .unwrap();
            let pt = p.public_key().as_ref();
            let key = CoseKey::Es256 {
                x: pt[1..33].try_into().unwrap(),
                y: pt[33..65].try_into().unwrap(),
            };
            (Pair::Es256(p), key, doc.as_ref().to_vec())
        } else {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let p = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
            let key = CoseKey::EdDsa {
                x: p.public_key().as_ref().try_into().unwrap(),
            };
            (Pair::Ed25519(p), key, doc.as_ref().to_vec())
        };
        TestCustodian {
            id: format!("id-{name}"),
            name: name.to_string(),
            role,
            credential_id: format!("cred-{name}").into_bytes(),
            key,
            pair,
            pkcs8,
            counter: Cell::new(0),
        }
    }

    /// Another person claiming this person's very key (one authenticator, two names).
    pub fn same_key_as(&self, name: &str) -> Self {
        let rng = SystemRandom::new();
        let pair = match &self.pair {
            Pair::Es256(_) => Pair::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.pkcs8, &rng)
                    .unwrap(),
            ),
            Pair::Ed25519(_) => Pair::Ed25519(Ed25519KeyPair::from_pkcs8(&self.pkcs8).unwrap()),
        };
        TestCustodian {
            id: format!("id-{name}"),
            name: name.to_string(),
            role: self.role,
            credential_id: self.credential_id.clone(),
            key: self.key.clone(),
            pair,
            pkcs8: self.pkcs8.clone(),
            counter: Cell::new(self.counter.get() + 100),
        }
    }

    /// The registry spec for enrolling this person (a hardware key, as attested).
    pub fn spec(&self) -> CustodianSpec {
        CustodianSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            credential_id: B64(self.credential_id.clone()),
            public_key: B64(self.key.to_cbor()),
            aaguid: "ee882879-721c-4913-9775-3dfcce97072a".into(),
            model: "YubiKey 5 NFC".into(),
            attestation: AttestationSummary {
                fmt: "packed".into(),
                trust_root: "Yubico FIDO Root CA Serial 450203556".into(),
                assurance: Assurance::Hardware,
                certification: None,
            },
        }
    }

    /// Signs an assertion over `challenge` with the given RP and flags (origin: the one rootkey
    /// uses for that RP), with the next signature counter.
    pub fn assert_raw(&self, challenge: &[u8], rp_id: &str, flags: u8) -> Approval {
        let origin = if rp_id == CUSTODY_RP_ID {
            CUSTODY_ORIGIN
        } else {
            APPROVAL_ORIGIN
        };
        self.assert_with(challenge, rp_id, origin, flags)
    }

    /// [`Self::assert_raw`] with an explicit client data origin.
    pub fn assert_with(&self, challenge: &[u8], rp_id: &str, origin: &str, flags: u8) -> Approval {
        self.counter.set(self.counter.get() + 1);
        let ad = AuthData::encode(
            &sha256(rp_id.as_bytes()),
            Flags(flags),
            self.counter.get(),
            None,
        );
        let cdj = ClientData::json(TYPE_GET, challenge, origin);
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

    /// A valid approval of `event` (touch and PIN).
    pub fn approve(&self, event: &UnsignedEvent) -> Approval {
        self.assert_raw(
            &event.approval_challenge(),
            CUSTODIAN_RP_ID,
            Flags::UP | Flags::UV,
        )
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

/// A ledger of `n` entries at `db`, as the benchmarks measure it: the custodians' bootstrap,
/// then notes, every tenth approved by both.
pub fn big_ledger(
    db: &std::path::Path,
    origin: &str,
    n: u64,
    a: &TestCustodian,
    b: &TestCustodian,
) {
    use rootkey::ledger::Ledger;
    let mut l = Ledger::create(db, &Ledger::default_key_path(db), origin).unwrap();
    let ev = bootstrap_event(a, b);
    l.append(&ev, vec![a.approve(&ev), b.approve(&ev)]).unwrap();
    let events = (1..n).map(|i| {
        let ev = note(&format!(
            "bench entry {i}: key checked, bag serial {:08}",
            i * 7919
        ));
        let approvals = if i % 10 == 0 {
            vec![a.approve(&ev), b.approve(&ev)]
        } else {
            vec![]
        };
        (ev, approvals)
    });
    l.append_batch(events).unwrap();
}
