//! The software authenticator through the `Authenticator` trait: attestation chain and signature
//! (checked here with x509-parser and ring directly, not with rootkey's verifier), assertions,
//! counter, PIN, persistence, file permissions.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ciborium::Value;
use rootkey::device::{self, DeviceError, DeviceSpec, GetAssertion, MakeCredential};
use rootkey::webauthn::{self, AuthData, ClientData};
use x509_parser::prelude::*;

const RP: &str = "rootkey.custody";
const AAGUID_OID: &str = "1.3.6.1.4.1.45724.1.1.4";

fn open(path: &Path) -> Box<dyn device::Authenticator> {
    device::open(&DeviceSpec::Soft(path.to_path_buf())).expect("soft key opens")
}

/// A new soft key in `path` (open() never creates one).
fn create(path: &Path) -> Box<dyn device::Authenticator> {
    Box::new(device::soft::SoftAuthenticator::create(path).expect("soft key created"))
}

fn make(pin: Option<&str>) -> MakeCredential {
    MakeCredential {
        rp_id: RP.into(),
        client_data: ClientData::json(
            webauthn::client_data::TYPE_CREATE,
            b"challenge-0123456789",
            "rootkey:custody",
        ),
        user_id: b"custodian-1".to_vec(),
        user_name: "alice".into(),
        pin: pin.map(str::to_string),
    }
}

fn get(cred: &[u8], data: &[u8], pin: Option<&str>) -> GetAssertion {
    GetAssertion {
        rp_id: RP.into(),
        client_data: data.to_vec(),
        allow_credentials: vec![cred.to_vec()],
        pin: pin.map(str::to_string),
        user_presence: true,
    }
}

fn map_get<'a>(m: &'a [(Value, Value)], key: &str) -> &'a Value {
    &m.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .expect(key)
        .1
}

/// Verifies a packed attestation the way a relying party would, with x509-parser and ring only.
fn verify_packed(att_obj: &[u8], client_data: &[u8], root_pem: &[u8]) -> Result<(), String> {
    let v: Value = ciborium::from_reader(att_obj).map_err(|e| e.to_string())?;
    let m = v.as_map().ok_or("not a map")?;
    if map_get(m, "fmt").as_text() != Some("packed") {
        return Err("fmt".into());
    }
    let st = map_get(m, "attStmt").as_map().ok_or("attStmt")?;
    let alg = map_get(st, "alg").as_integer().ok_or("alg")?;
    if i128::from(alg) != -7 {
        return Err("alg".into());
    }
    let sig = map_get(st, "sig").as_bytes().ok_or("sig")?;
    let x5c = map_get(st, "x5c").as_array().ok_or("x5c")?;
    let leaf_der = x5c[0].as_bytes().ok_or("x5c[0]")?;
    let auth_data = map_get(m, "authData").as_bytes().ok_or("authData")?;

    let (_, pem) = x509_parser::pem::parse_x509_pem(root_pem).map_err(|e| e.to_string())?;
    let (_, root) = parse_x509_certificate(&pem.contents).map_err(|e| e.to_string())?;
    let (_, leaf) = parse_x509_certificate(leaf_der).map_err(|e| e.to_string())?;
    root.verify_signature(None)
        .map_err(|e| format!("root self-signature: {e}"))?;
    leaf.verify_signature(Some(root.public_key()))
        .map_err(|e| format!("leaf not signed by root: {e}"))?;
    if !root.is_ca() {
        return Err("root is not a CA".into());
    }

    // Leaf profile (WebAuthn packed attestation certificate requirements).
    if leaf.version() != X509Version::V3 {
        return Err("leaf not v3".into());
    }
    let ou: Vec<_> = leaf
        .subject()
        .iter_organizational_unit()
        .filter_map(|a| a.as_str().ok())
        .collect();
    if ou != ["Authenticator Attestation"] {
        return Err(format!("OU {ou:?}"));
    }
    let bc = leaf
        .basic_constraints()
        .map_err(|e| e.to_string())?
        .ok_or("no basicConstraints")?;
    if bc.value.ca {
        return Err("leaf is a CA".into());
    }
    let parsed = AuthData::parse(auth_data).map_err(|e| e.to_string())?;
    let aaguid = parsed.attested.as_ref().ok_or("no attested data")?.aaguid;
    let ext = leaf
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == AAGUID_OID)
        .ok_or("no AAGUID extension")?;
    if ext.critical {
        return Err("AAGUID extension is critical".into());
    }
    let mut want = vec![0x04, 16];
    want.extend_from_slice(&aaguid);
    if ext.value != want.as_slice() {
        return Err("AAGUID extension does not match authData".into());
    }

    let mut signed = auth_data.clone();
    signed.extend_from_slice(&webauthn::sha256(client_data));
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        leaf.public_key().subject_public_key.data.as_ref(),
    )
    .verify(&signed, sig)
    .map_err(|_| "attestation signature does not verify".to_string())
}

#[test]
fn registration_attestation_verifies_against_the_local_ca() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = create(&dir.path().join("key.json"));
    let req = make(None);
    let reg = key.make_credential(&req).unwrap();
    let root_pem = std::fs::read(dir.path().join("rootkey-soft-ca.pem")).unwrap();
    verify_packed(&reg.attestation_object, &req.client_data, &root_pem).unwrap();

    let ad = AuthData::parse(&reg.auth_data).unwrap();
    assert!(ad.is_for_rp(RP));
    assert!(ad.flags.user_present());
    assert!(!ad.flags.user_verified(), "no PIN, so no UV");
    let att = ad.attested.unwrap();
    assert_eq!(att.aaguid, rootkey::webauthn::models::SOFT_AAGUID);
    assert_eq!(att.credential_id, reg.credential_id);
    assert_eq!(att.public_key, reg.public_key);
    let info = key.info().unwrap();
    assert!(info.is_software);
    assert!(info.model.unwrap().contains("NOT HARDWARE"));

    // The check above can fail: a changed client data or a flipped signature byte is caught.
    assert!(verify_packed(&reg.attestation_object, b"other client data", &root_pem).is_err());
    let other_dir = tempfile::tempdir().unwrap();
    create(&other_dir.path().join("k.json"));
    let other_root = std::fs::read(other_dir.path().join("rootkey-soft-ca.pem")).unwrap();
    let e = verify_packed(&reg.attestation_object, &req.client_data, &other_root).unwrap_err();
    assert!(e.contains("leaf not signed by root"), "{e}");
}

#[test]
fn assertions_verify_with_the_credential_key_and_the_counter_rises() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = create(&dir.path().join("key.json"));
    let reg = key.make_credential(&make(None)).unwrap();
    let reg_count = AuthData::parse(&reg.auth_data).unwrap().sign_count;

    let mut last = reg_count;
    for event in [b"event one".as_slice(), b"event two"] {
        let a = key
            .get_assertion(&get(&reg.credential_id, event, None))
            .unwrap();
        assert_eq!(a.credential_id, reg.credential_id);
        assert_eq!(a.user_handle.as_deref(), Some(&b"custodian-1"[..]));
        let mut signed = a.authenticator_data.clone();
        signed.extend_from_slice(&webauthn::sha256(event));
        reg.public_key.verify(&signed, &a.signature).unwrap();
        // Over other data the same signature fails.
        let mut wrong = a.authenticator_data.clone();
        wrong.extend_from_slice(&webauthn::sha256(b"another event"));
        assert!(reg.public_key.verify(&wrong, &a.signature).is_err());
        let ad = AuthData::parse(&a.authenticator_data).unwrap();
        assert!(ad.is_for_rp(RP) && ad.flags.user_present());
        assert!(ad.sign_count > last, "{} > {last}", ad.sign_count);
        last = ad.sign_count;
    }
}

#[test]
fn unknown_credential_or_rp_gives_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = create(&dir.path().join("key.json"));
    let reg = key.make_credential(&make(None)).unwrap();
    let e = key
        .get_assertion(&get(b"not a credential", b"x", None))
        .unwrap_err();
    assert!(matches!(e, DeviceError::NoCredentials { .. }), "{e:?}");
    let mut other_rp = get(&reg.credential_id, b"x", None);
    other_rp.rp_id = "example.com".into();
    assert!(matches!(
        key.get_assertion(&other_rp),
        Err(DeviceError::NoCredentials { .. })
    ));
    let mut empty = get(&reg.credential_id, b"x", None);
    empty.allow_credentials.clear();
    assert!(matches!(
        key.get_assertion(&empty),
        Err(DeviceError::NoCredentials { .. })
    ));
}

#[test]
fn with_a_pin_set_a_wrong_or_missing_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut key = create(&dir.path().join("key.json"));
    let reg = key.make_credential(&make(None)).unwrap();
    key.set_pin(None, "246810").unwrap();
    assert_eq!(key.info().unwrap().pin_set, Some(true));

    assert!(matches!(
        key.make_credential(&make(None)),
        Err(DeviceError::PinRequired)
    ));
    assert!(matches!(
        key.make_credential(&make(Some("135790"))),
        Err(DeviceError::PinInvalid { .. })
    ));
    assert!(matches!(
        key.get_assertion(&get(&reg.credential_id, b"e", None)),
        Err(DeviceError::PinRequired)
    ));
    assert!(matches!(
        key.get_assertion(&get(&reg.credential_id, b"e", Some("000000"))),
        Err(DeviceError::PinInvalid { .. })
    ));
    let a = key
        .get_assertion(&get(&reg.credential_id, b"e", Some("246810")))
        .unwrap();
    assert!(AuthData::parse(&a.authenticator_data)
        .unwrap()
        .flags
        .user_verified());
    let r2 = key.make_credential(&make(Some("246810"))).unwrap();
    assert!(AuthData::parse(&r2.auth_data)
        .unwrap()
        .flags
        .user_verified());
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    let (cred, key_pub, count) = {
        let mut key = create(&path);
        let reg = key.make_credential(&make(None)).unwrap();
        key.set_pin(None, "1234").unwrap();
        let a = key
            .get_assertion(&get(&reg.credential_id, b"e1", Some("1234")))
            .unwrap();
        let count = AuthData::parse(&a.authenticator_data).unwrap().sign_count;
        (reg.credential_id, reg.public_key, count)
    };
    let mut key = open(&path);
    assert_eq!(key.pin_state().unwrap().pin_set, Some(true));
    assert!(matches!(
        key.get_assertion(&get(&cred, b"e2", None)),
        Err(DeviceError::PinRequired)
    ));
    let a = key.get_assertion(&get(&cred, b"e2", Some("1234"))).unwrap();
    let mut signed = a.authenticator_data.clone();
    signed.extend_from_slice(&webauthn::sha256(b"e2"));
    key_pub.verify(&signed, &a.signature).unwrap();
    assert!(AuthData::parse(&a.authenticator_data).unwrap().sign_count > count);
}

#[test]
fn a_state_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    drop(create(&path));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = device::open(&DeviceSpec::Soft(path.clone()))
        .err()
        .expect("refused");
    assert!(matches!(e, DeviceError::StateInsecure { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("chmod 600 {}", path.display())),
        "{e}"
    );
    // A CA file others can read is refused too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ca = dir.path().join("rootkey-soft-ca.json");
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o640)).unwrap();
    let e = device::open(&DeviceSpec::Soft(path))
        .err()
        .expect("refused");
    assert!(matches!(e, DeviceError::StateInsecure { .. }), "{e:?}");
}

#[test]
fn a_missing_key_is_not_created_and_an_existing_one_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    let e = device::open(&DeviceSpec::Soft(path.clone()))
        .err()
        .expect("refused");
    assert!(matches!(e, DeviceError::SoftMissing { .. }), "{e:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    drop(create(&path));
    let before = std::fs::read(&path).unwrap();
    let e = device::soft::SoftAuthenticator::create(&path).expect_err("refused");
    assert!(matches!(e, DeviceError::SoftExists { .. }), "{e:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_corrupt_state_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    std::fs::write(&path, b"{ not json").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = device::open(&DeviceSpec::Soft(path.clone()))
        .err()
        .expect("refused");
    assert!(matches!(e, DeviceError::StateCorrupt { .. }), "{e:?}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
}
