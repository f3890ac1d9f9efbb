//! Shared helpers for the attestation tests: fixtures, and a tiny packed authenticator with its
//! own CA (standing in for the software authenticator and for MDS-listed models).
#![allow(dead_code)]

use ciborium::Value;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
use rootkey::webauthn::{
    client_data::TYPE_CREATE, sha256, AuthData, ClientData, CoseKey, Evidence, Flags,
};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestation");

pub fn fixture(name: &str) -> Evidence {
    let bytes = std::fs::read(format!("{FIXTURES}/real/{name}")).unwrap();
    Evidence::from_json(&bytes).unwrap()
}

pub fn at_2025() -> time::OffsetDateTime {
    time::macros::datetime!(2025-06-01 00:00 UTC)
}

pub fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// A CA that issues attestation certificates.
pub struct TestCa {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl TestCa {
    pub fn new(cn: &str) -> TestCa {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, cn.to_string());
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        TestCa { cert, key }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }
}

/// A packed attestation made by a software "authenticator" whose attestation certificate the
/// given CA issued.
pub struct Made {
    pub attestation_object: Vec<u8>,
    pub client_data: Vec<u8>,
    pub challenge: Vec<u8>,
}

pub fn make_packed(ca: &TestCa, aaguid: [u8; 16], rp_id: &str, leaf_cn: &str) -> Made {
    let rng = SystemRandom::new();
    // attestation certificate per WebAuthn §8.2.1
    let att_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CountryName, "DE");
    p.distinguished_name
        .push(DnType::OrganizationName, "rootkey tests");
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, "Authenticator Attestation");
    p.distinguished_name
        .push(DnType::CommonName, leaf_cn.to_string());
    p.is_ca = IsCa::ExplicitNoCa;
    let mut ext_value = vec![0x04, 0x10];
    ext_value.extend_from_slice(&aaguid);
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
        ext_value,
    )];
    let leaf = p.signed_by(&att_key, &ca.cert, &ca.key).unwrap();
    let att_signer = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &att_key.serialize_der(),
        &rng,
    )
    .unwrap();

    // credential key
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let cred =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let pt = cred.public_key().as_ref();
    let cose = CoseKey::Es256 {
        x: pt[1..33].try_into().unwrap(),
        y: pt[33..65].try_into().unwrap(),
    };

    let challenge = b"rootkey-test-challenge-0123456789".to_vec();
    let client_data = ClientData::json(TYPE_CREATE, &challenge, &format!("https://{rp_id}"));
    let auth = AuthData::encode(
        &sha256(rp_id.as_bytes()),
        Flags(Flags::UP | Flags::UV),
        0,
        Some((&aaguid, b"cred-id-1", &cose)),
    );
    let mut signed = auth.clone();
    signed.extend_from_slice(&sha256(&client_data));
    let sig = att_signer.sign(&rng, &signed).unwrap();
    let obj = Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text("packed".into())),
        (
            Value::Text("attStmt".into()),
            Value::Map(vec![
                (Value::Text("alg".into()), Value::Integer((-7).into())),
                (
                    Value::Text("sig".into()),
                    Value::Bytes(sig.as_ref().to_vec()),
                ),
                (
                    Value::Text("x5c".into()),
                    Value::Array(vec![Value::Bytes(leaf.der().to_vec())]),
                ),
            ]),
        ),
        (Value::Text("authData".into()), Value::Bytes(auth)),
    ]);
    Made {
        attestation_object: cbor(&obj),
        client_data,
        challenge,
    }
}

/// Evidence JSON for a made attestation.
pub fn evidence_json(m: &Made, rp_id: &str, device: Option<serde_json::Value>) -> String {
    let mut v = serde_json::json!({
        "attestationObject_b64url": rootkey::webauthn::b64url(&m.attestation_object),
        "clientDataJSON_b64url": rootkey::webauthn::b64url(&m.client_data),
        "rp_id": rp_id,
        "challenge_b64url": rootkey::webauthn::b64url(&m.challenge),
    });
    if let Some(d) = device {
        v["device"] = d;
    }
    v.to_string()
}

/// An MDS3 BLOB signed by a fresh root → signer chain, listing `entries`.
pub fn make_mds_blob(entries: serde_json::Value, next_update: &str) -> (String, TestCa) {
    use base64::Engine;
    let root = TestCa::new("TEST MDS ROOT");
    let signer_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "TEST MDS SIGNER");
    let signer = p.signed_by(&signer_key, &root.cert, &root.key).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let header =
        serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [b64.encode(signer.der())]});
    let payload = serde_json::json!({"legalHeader": "test", "no": 7, "nextUpdate": next_update, "entries": entries});
    let signing_input = format!(
        "{}.{}",
        rootkey::webauthn::b64url(header.to_string().as_bytes()),
        rootkey::webauthn::b64url(payload.to_string().as_bytes())
    );
    let rng = SystemRandom::new();
    let kp = EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &signer_key.serialize_der(),
        &rng,
    )
    .unwrap();
    let sig = kp.sign(&rng, signing_input.as_bytes()).unwrap();
    (
        format!(
            "{signing_input}.{}",
            rootkey::webauthn::b64url(sig.as_ref())
        ),
        root,
    )
}
