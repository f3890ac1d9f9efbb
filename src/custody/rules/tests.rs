use super::*;
use crate::custody::events::{PossessionProof, B64};
use crate::custody::state::tests::{checkout, confirmed, enrolled, entry, fold};
use crate::custody::state::{CheckinRecord, Registration};
use crate::ledger::CUSTODIAN_RP_ID;
use crate::webauthn::{AuthData, Flags};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use time::macros::datetime;

const ACCT: &str = "111122223333";

fn people() -> Vec<Custodian> {
    let key = CoseKey::parse(&crate::custody::events::tests::sample_cose()).unwrap();
    let c = |id: &str, name: &str, role, active: bool| Custodian {
        id: id.into(),
        name: name.into(),
        role,
        credential_id: format!("cred-{id}").into_bytes(),
        public_key: key.clone(),
        added_seq: 0,
        removed_seq: if active { None } else { Some(3) },
    };
    vec![
        c("alice", "Alice Martin", Role::Custodian, true),
        c("bob", "Bob Okafor", Role::Custodian, true),
        c("carol", "Carol Diaz", Role::Custodian, false),
        c("dave", "Dave Auditor", Role::Auditor, true),
        c("alice2", "alice  martin", Role::Custodian, true),
    ]
}

/// Ledger with k1 (primary, Safe for k1, bag B1) and k2 (backup, bag B2), both confirmed.
fn state() -> CustodyState {
    let t = datetime!(2025-01-02 09:00 UTC);
    fold(&[
        entry(1, t, "key.enrolled", enrolled("k1", ACCT, "primary", "B1")),
        entry(2, t, "key.enrolled", enrolled("k2", ACCT, "backup", "B2")),
        entry(3, t, "key.registration_confirmed", confirmed("k1", ACCT)),
        entry(4, t, "key.registration_confirmed", confirmed("k2", ACCT)),
    ])
    .unwrap()
}

// ----- ids and names

#[test]
fn key_ids_are_short_stable_and_distinct() {
    let a = key_id_for(b"public key a");
    assert_eq!(a.len(), 8);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(a, key_id_for(b"public key a"));
    assert_ne!(a, key_id_for(b"public key b"));
    assert_eq!(aws_device_name("a1b2c3d4"), "rootkey-a1b2c3d4");
}

#[test]
fn account_ids_are_twelve_digits() {
    assert!(is_aws_account_id("111122223333"));
    for bad in ["11112222333", "1111222233334", "11112222333x", ""] {
        assert!(!is_aws_account_id(bad), "{bad}");
    }
}

#[test]
fn locations_normalise_case_space_and_punctuation() {
    assert_eq!(
        normalise_location("Safe A, Dublin"),
        normalise_location("  safe a   DUBLIN. ")
    );
    assert_ne!(
        normalise_location("Safe A, Dublin"),
        normalise_location("Safe B, Dublin")
    );
    assert_eq!(normalise_location("Tresor Zürich"), "tresor zürich");
}

// ----- dual control

#[test]
fn dual_control_accepts_two_active_custodians() {
    check_dual_control("alice", "bob", &people()).unwrap();
    check_dual_control("Bob", " alice ", &people()).unwrap();
}

#[test]
fn dual_control_refusals() {
    let p = people();
    let cases: Vec<(&str, &str, RuleError)> = vec![
        (
            "alice",
            "alice",
            RuleError::SamePerson {
                first: "alice".into(),
                second: "alice".into(),
            },
        ),
        (
            "alice",
            "ALICE",
            RuleError::SamePerson {
                first: "alice".into(),
                second: "ALICE".into(),
            },
        ),
        (
            "alice",
            "alice2",
            RuleError::SamePerson {
                first: "alice".into(),
                second: "alice2".into(),
            },
        ),
        (
            "alice",
            "mallory",
            RuleError::NotACustodian("mallory".into()),
        ),
        ("carol", "bob", RuleError::CustodianInactive("carol".into())),
        (
            "alice",
            "dave",
            RuleError::AuditorCannotApprove("dave".into()),
        ),
    ];
    for (a, b, want) in cases {
        assert_eq!(check_dual_control(a, b, &p).unwrap_err(), want, "{a} {b}");
    }
}

// ----- enrollment

fn candidate(tag: &str, location: &str, bag: &str) -> CandidateKey {
    CandidateKey {
        aaguid: "ee882879-721c-4913-9775-3dfcce97072a".into(),
        custody_credential_id: format!("cred-{tag}").into_bytes(),
        custody_public_key: format!("pub-{tag}").into_bytes(),
        location: location.into(),
        bag_serial: bag.into(),
        recognised_credentials: vec![],
    }
}

fn enrollment() -> EnrollmentRequest {
    EnrollmentRequest {
        account_id: "444455556666".into(),
        primary: candidate("p", "Safe A, Dublin", "N1"),
        backup: candidate("b", "Safe B, Cork", "N2"),
        custodians: ["alice".into(), "bob".into()],
        root_mfa_devices: 0,
    }
}

#[test]
fn a_good_enrollment_gets_key_ids_from_the_public_keys() {
    let plan = check_enrollment(&state(), &enrollment(), &people()).unwrap();
    assert_eq!(plan.primary_key_id, key_id_for(b"pub-p"));
    assert_eq!(plan.backup_key_id, key_id_for(b"pub-b"));
}

#[test]
fn enrollment_refusals() {
    let s = state();
    let p = people();
    let existing = s.keys["k1"].clone();
    type Check = fn(&RuleError) -> bool;
    let mut cases: Vec<(&str, EnrollmentRequest, Check)> = Vec::new();

    let mut r = enrollment();
    r.account_id = "4444".into();
    cases.push(("account id", r, |e| {
        matches!(e, RuleError::InvalidAccountId(_))
    }));

    let mut r = enrollment();
    r.backup.location = "safe a  DUBLIN".into();
    cases.push(("same location", r, |e| {
        matches!(e, RuleError::SameLocation(_))
    }));

    let mut r = enrollment();
    r.backup.location = " ".into();
    cases.push(("empty location", r, |e| {
        matches!(e, RuleError::Empty("backup location"))
    }));

    let mut r = enrollment();
    r.backup.bag_serial = "N1".into();
    cases.push(("same bag", r, |e| matches!(e, RuleError::SameBag(_))));

    let mut r = enrollment();
    r.primary.bag_serial = "B1".into();
    cases.push(("used bag", r, |e| matches!(e, RuleError::BagReused(_))));

    let mut r = enrollment();
    r.backup.custody_public_key = b"pub-p".to_vec();
    cases.push(("same public key", r, |e| *e == RuleError::SamePhysicalKey));

    let mut r = enrollment();
    r.backup.custody_credential_id = b"cred-p".to_vec();
    cases.push(("same credential", r, |e| *e == RuleError::SamePhysicalKey));

    let mut r = enrollment();
    r.backup.recognised_credentials = vec![b"cred-p".to_vec()];
    cases.push(("backup knows primary's credential", r, |e| {
        *e == RuleError::SamePhysicalKey
    }));

    let mut r = enrollment();
    r.primary.recognised_credentials = vec![existing.custody_credential_id.clone()];
    cases.push((
        "recognises an enrolled key",
        r,
        |e| matches!(e, RuleError::AlreadyEnrolled { key_id, .. } if key_id == "k1"),
    ));

    let mut r = enrollment();
    r.backup.custody_public_key = existing.custody_public_key.clone();
    cases.push((
        "reuses an enrolled public key",
        r,
        |e| matches!(e, RuleError::AlreadyEnrolled { key_id, .. } if key_id == "k1"),
    ));

    let mut r = enrollment();
    r.root_mfa_devices = 7;
    cases.push(("nine devices", r, |e| {
        matches!(
            e,
            RuleError::TooManyDevices {
                existing: 7,
                adding: 2,
                max: 8
            }
        )
    }));

    let mut r = enrollment();
    r.custodians = ["alice".into(), "dave".into()];
    cases.push(("auditor approves", r, |e| {
        matches!(e, RuleError::AuditorCannotApprove(_))
    }));

    for (name, req, check) in cases {
        let err = check_enrollment(&s, &req, &p).unwrap_err();
        assert!(check(&err), "{name}: {err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn six_existing_devices_still_leave_room_for_two() {
    let mut r = enrollment();
    r.root_mfa_devices = 6;
    check_enrollment(&state(), &r, &people()).unwrap();
}

#[test]
fn a_retired_key_may_be_enrolled_again() {
    let mut s = state();
    s.keys.get_mut("k1").unwrap().status = KeyStatus::Retired {
        at: datetime!(2025-02-01 0:00 UTC),
    };
    let mut r = enrollment();
    r.primary.recognised_credentials = vec![s.keys["k1"].custody_credential_id.clone()];
    check_enrollment(&s, &r, &people()).unwrap();
}

#[test]
fn key_id_collisions_are_refused() {
    let mut s = state();
    let id = key_id_for(b"pub-p");
    let k = s.keys["k1"].clone();
    s.keys.insert(
        id.clone(),
        KeyState {
            key_id: id.clone(),
            custody_credential_id: b"x".to_vec(),
            custody_public_key: b"y".to_vec(),
            ..k
        },
    );
    assert_eq!(
        check_enrollment(&s, &enrollment(), &people()).unwrap_err(),
        RuleError::KeyIdCollision(id)
    );
}

// ----- windows and checkout

#[test]
fn windows_parse_within_bounds() {
    assert_eq!(parse_window("4h").unwrap(), Duration::hours(4));
    assert_eq!(parse_window(" 90m ").unwrap(), Duration::minutes(90));
    assert_eq!(parse_window("7days").unwrap(), Duration::days(7));
    assert_eq!(parse_window("5m").unwrap(), Duration::minutes(5));
    assert!(matches!(
        parse_window("8d"),
        Err(RuleError::WindowOutOfRange { .. })
    ));
    assert!(matches!(
        parse_window("4m"),
        Err(RuleError::WindowOutOfRange { .. })
    ));
    assert!(matches!(
        parse_window("0s"),
        Err(RuleError::WindowOutOfRange { .. })
    ));
    assert!(matches!(
        parse_window("soon"),
        Err(RuleError::BadWindow { .. })
    ));
    assert!(matches!(
        parse_window("-4h"),
        Err(RuleError::BadWindow { .. })
    ));
}

fn checkout_req(key: &str) -> CheckoutRequest {
    CheckoutRequest {
        key_id: key.into(),
        reason: "close account".into(),
        ticket: "CHG-42".into(),
        window: "4h".into(),
        requester: "alice".into(),
        approver: "bob".into(),
    }
}

#[test]
fn checkout_records_window_and_broken_bag() {
    let now = datetime!(2025-02-01 11:00:00.75 +01:00);
    let body = plan_checkout(&state(), &checkout_req("k1"), &people(), now).unwrap();
    assert_eq!(body.window_start, datetime!(2025-02-01 10:00 UTC));
    assert_eq!(body.window_start.offset(), time::UtcOffset::UTC);
    assert_eq!(body.window_end, datetime!(2025-02-01 14:00 UTC));
    assert_eq!(body.bag_broken, "B1");
    assert_eq!(body.account_id, ACCT);
    // The planned body is valid for the ledger as is.
    crate::custody::CustodyEvent::KeyCheckedOut(body)
        .to_body()
        .unwrap();
}

fn out_state() -> CustodyState {
    let t = datetime!(2025-01-02 09:00 UTC);
    let t1 = datetime!(2025-02-01 10:00 UTC);
    fold(&[
        entry(1, t, "key.enrolled", enrolled("k1", ACCT, "primary", "B1")),
        entry(2, t, "key.enrolled", enrolled("k2", ACCT, "backup", "B2")),
        entry(
            3,
            t1,
            "key.checked_out",
            checkout(
                "k1",
                ACCT,
                "B1",
                "2025-02-01T10:00:00Z",
                "2025-02-01T14:00:00Z",
            ),
        ),
    ])
    .unwrap()
}

#[test]
fn checkout_refusals() {
    let now = datetime!(2025-02-01 11:00 UTC);
    let s = out_state();
    let p = people();
    assert_eq!(
        plan_checkout(&s, &checkout_req("k1"), &p, now).unwrap_err(),
        RuleError::KeyCheckedOut("k1".into())
    );
    assert_eq!(
        plan_checkout(&s, &checkout_req("k2"), &p, now).unwrap_err(),
        RuleError::OtherKeyOut {
            key_id: "k2".into(),
            other: "k1".into()
        }
    );
    assert_eq!(
        plan_checkout(&s, &checkout_req("k9"), &p, now).unwrap_err(),
        RuleError::UnknownKey("k9".into())
    );
    let mut r = checkout_req("k2");
    r.ticket = "".into();
    assert_eq!(
        plan_checkout(&s, &r, &p, now).unwrap_err(),
        RuleError::Empty("ticket")
    );
    let mut r = checkout_req("k2");
    r.approver = "alice".into();
    assert!(matches!(
        plan_checkout(&s, &r, &p, now).unwrap_err(),
        RuleError::SamePerson { .. }
    ));
    let mut r = checkout_req("k2");
    r.window = "30d".into();
    assert!(matches!(
        plan_checkout(&s, &r, &p, now).unwrap_err(),
        RuleError::WindowOutOfRange { .. }
    ));
    let mut retired = state();
    retired.keys.get_mut("k2").unwrap().status = KeyStatus::Retired { at: now };
    assert_eq!(
        plan_checkout(&retired, &checkout_req("k2"), &p, now).unwrap_err(),
        RuleError::KeyRetired("k2".into())
    );
}

#[test]
fn lateness_is_strictly_after_the_window() {
    let end = datetime!(2025-02-01 14:00 UTC);
    assert!(!is_late(end, end));
    assert!(is_late(end, end + Duration::seconds(1)));
    assert!(!is_late(end, end - Duration::hours(1)));
}

// ----- possession proofs (real ES256 signatures)

struct SoftKey {
    pair: EcdsaKeyPair,
    cose: Vec<u8>,
}

fn soft_key() -> SoftKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let pt = pair.public_key().as_ref();
    let cose = CoseKey::Es256 {
        x: pt[1..33].try_into().unwrap(),
        y: pt[33..65].try_into().unwrap(),
    }
    .to_cbor();
    SoftKey { pair, cose }
}

fn assert_with(
    key: &SoftKey,
    rp: &str,
    flags: u8,
    counter: u32,
    challenge: &[u8],
    kind: &'static str,
) -> PossessionProof {
    let auth = AuthData::encode(
        &webauthn::sha256(rp.as_bytes()),
        Flags(flags),
        counter,
        None,
    );
    let cd = ClientData::json(kind, challenge, "rootkey:custody");
    let mut msg = auth.clone();
    msg.extend_from_slice(&webauthn::sha256(&cd));
    let sig = key.pair.sign(&SystemRandom::new(), &msg).unwrap();
    PossessionProof {
        challenge: B64(challenge.to_vec()),
        authenticator_data: B64(auth),
        client_data_json: B64(cd),
        signature: B64(sig.as_ref().to_vec()),
        counter,
    }
}

fn good_proof(key: &SoftKey, counter: u32, challenge: &[u8]) -> PossessionProof {
    assert_with(
        key,
        CUSTODY_RP_ID,
        Flags::UP,
        counter,
        challenge,
        webauthn::client_data::TYPE_GET,
    )
}

/// out_state with k1's custody credential replaced by a real key.
fn out_state_with(key: &SoftKey) -> CustodyState {
    let mut s = out_state();
    s.keys.get_mut("k1").unwrap().custody_public_key = key.cose.clone();
    s
}

fn checkin_req() -> CheckinRequest {
    CheckinRequest {
        key_id: "k1".into(),
        bag_serial: "N7".into(),
        custodians: ["alice".into(), "bob".into()],
    }
}

#[test]
fn the_same_key_checks_in_on_time_or_late() {
    let key = soft_key();
    let s = out_state_with(&key);
    let ch = b"challenge-1";
    let on_time = plan_checkin(
        &s,
        &checkin_req(),
        &people(),
        good_proof(&key, 5, ch),
        ch,
        datetime!(2025-02-01 13:00 UTC),
    )
    .unwrap();
    assert!(!on_time.late);
    assert_eq!(on_time.bag_serial, "N7");
    assert_eq!(on_time.proof.counter, 5);
    let late = plan_checkin(
        &s,
        &checkin_req(),
        &people(),
        good_proof(&key, 5, ch),
        ch,
        datetime!(2025-02-01 15:00 UTC),
    )
    .unwrap();
    assert!(late.late);
}

#[test]
fn a_different_key_is_refused_at_checkin() {
    let key = soft_key();
    let impostor = soft_key();
    let s = out_state_with(&key);
    let ch = b"challenge-1";
    let err = plan_checkin(
        &s,
        &checkin_req(),
        &people(),
        good_proof(&impostor, 5, ch),
        ch,
        datetime!(2025-02-01 13:00 UTC),
    )
    .unwrap_err();
    assert!(
        matches!(&err, RuleError::PossessionRefused { reason, .. } if reason.contains("signature")),
        "{err}"
    );
}

#[test]
fn possession_proof_refusals() {
    let key = soft_key();
    let mut s = out_state_with(&key);
    s.keys.get_mut("k1").unwrap().last_counter = 4;
    let k1 = s.keys["k1"].clone();
    let ch = b"challenge-1";
    let get = webauthn::client_data::TYPE_GET;
    let cases: Vec<(&str, PossessionProof, &[u8], &str)> = vec![
        (
            "other challenge",
            good_proof(&key, 5, b"challenge-2"),
            ch,
            "different challenge",
        ),
        (
            "wrong rp",
            assert_with(&key, CUSTODIAN_RP_ID, Flags::UP, 5, ch, get),
            ch,
            "not for rootkey.custody",
        ),
        (
            "no touch",
            assert_with(&key, CUSTODY_RP_ID, 0, 5, ch, get),
            ch,
            "user presence",
        ),
        (
            "create type",
            assert_with(
                &key,
                CUSTODY_RP_ID,
                Flags::UP,
                5,
                ch,
                webauthn::client_data::TYPE_CREATE,
            ),
            ch,
            "type",
        ),
        (
            "counter replay",
            good_proof(&key, 4, ch),
            ch,
            "did not increase",
        ),
        ("counter backwards", good_proof(&key, 1, ch), ch, "cloned"),
    ];
    for (name, proof, expected, needle) in cases {
        let err = verify_possession(&k1, &proof, expected).unwrap_err();
        assert!(err.to_string().contains(needle), "{name}: {err}");
    }
    let mut tampered = good_proof(&key, 5, ch);
    tampered.counter = 6;
    assert!(verify_possession(&k1, &tampered, ch)
        .unwrap_err()
        .to_string()
        .contains("counter differs"));
    let mut bad_sig = good_proof(&key, 5, ch);
    bad_sig.client_data_json = B64(ClientData::json(get, ch, "evil:origin"));
    assert!(verify_possession(&k1, &bad_sig, ch).is_err());
    verify_possession(&k1, &good_proof(&key, 5, ch), ch).unwrap();
}

#[test]
fn counters_that_stay_at_zero_are_accepted() {
    let key = soft_key();
    let s = out_state_with(&key);
    verify_possession(&s.keys["k1"], &good_proof(&key, 0, b"c"), b"c").unwrap();
}

#[test]
fn checkin_refusals() {
    let key = soft_key();
    let s = out_state_with(&key);
    let ch = b"c";
    let now = datetime!(2025-02-01 13:00 UTC);
    let mut r = checkin_req();
    r.key_id = "k2".into();
    assert_eq!(
        plan_checkin(&s, &r, &people(), good_proof(&key, 1, ch), ch, now).unwrap_err(),
        RuleError::KeyNotCheckedOut("k2".into())
    );
    let mut r = checkin_req();
    r.bag_serial = "B2".into();
    assert_eq!(
        plan_checkin(&s, &r, &people(), good_proof(&key, 1, ch), ch, now).unwrap_err(),
        RuleError::BagReused("B2".into())
    );
    let mut r = checkin_req();
    r.custodians = ["bob".into(), "bob".into()];
    assert!(matches!(
        plan_checkin(&s, &r, &people(), good_proof(&key, 1, ch), ch, now).unwrap_err(),
        RuleError::SamePerson { .. }
    ));
}

#[test]
fn verify_and_move() {
    let key = soft_key();
    let mut s = state();
    s.keys.get_mut("k1").unwrap().custody_public_key = key.cose.clone();
    let v = plan_verify(&s, "k1", good_proof(&key, 2, b"v"), b"v", Some("N9")).unwrap();
    assert_eq!(v.bag_serial.as_deref(), Some("N9"));
    assert_eq!(
        plan_verify(&s, "k1", good_proof(&key, 2, b"v"), b"v", Some("B1")).unwrap_err(),
        RuleError::BagReused("B1".into())
    );
    assert!(
        plan_verify(&s, "k2", good_proof(&key, 2, b"v"), b"v", None).is_err(),
        "k2's credential is not this key"
    );

    let m = plan_move(&s, "k1", "Vault C", Some("N9"), "office move").unwrap();
    assert_eq!(m.from_location, "Safe for k1");
    assert_eq!(m.to_location, "Vault C");
    assert_eq!(
        plan_move(&s, "k1", "safe FOR k1", None, "r").unwrap_err(),
        RuleError::SameLocationAsBefore("k1".into())
    );
    assert_eq!(
        plan_move(&s, "k1", "Safe for k2!", None, "r").unwrap_err(),
        RuleError::TogetherWithOtherKey {
            key_id: "k1".into(),
            other: "k2".into()
        }
    );
    assert_eq!(
        plan_move(&out_state(), "k1", "Vault C", None, "r").unwrap_err(),
        RuleError::KeyCheckedOut("k1".into())
    );
}

#[test]
fn possession_age() {
    let last = datetime!(2025-01-01 00:00 UTC);
    assert_eq!(
        possession_age_days(last, datetime!(2025-04-01 00:00 UTC)),
        90
    );
    assert!(!possession_stale(last, last + Duration::days(90)));
    assert!(possession_stale(
        last,
        last + Duration::days(90) + Duration::seconds(1)
    ));
}

// ----- AWS agreement

pub(crate) fn device(serial: &str) -> MfaDevice {
    MfaDevice {
        serial: serial.into(),
        kind: MfaKind::classify(serial),
        enable_date: Some(datetime!(2025-01-02 10:00 UTC)),
    }
}

fn fido(serial: &str) -> MfaDevice {
    device(serial)
}

/// What `aws::evaluate` reports for an account whose root shows `devices` (complete list).
pub(crate) fn aws_account(account: &str, devices: Vec<MfaDevice>) -> AccountReport {
    AccountReport {
        account_id: account.into(),
        name: None,
        email: None,
        management: false,
        credential_less: false,
        posture: crate::aws::RootPosture {
            mfa_devices: devices,
            mfa_devices_complete: true,
            logins: Some(vec![]),
            ..Default::default()
        },
        findings: vec![],
    }
}

/// A successful root console sign-in at `time`.
pub(crate) fn root_login(
    time: OffsetDateTime,
    success: Option<bool>,
    mfa: Option<bool>,
) -> RootLogin {
    RootLogin {
        time,
        source_ip: Some("198.51.100.4".into()),
        mfa_used: mfa,
        success,
        region: "us-east-1".into(),
        event_id: None,
    }
}

fn facts(devices: Vec<MfaDevice>) -> AccountReport {
    aws_account(ACCT, devices)
}

fn arn(key: &str) -> String {
    format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{key}-ABCDEFGHIJKLMNOP")
}

fn codes(a: &Agreement) -> Vec<&str> {
    let mut c: Vec<_> = a.findings.iter().map(|f| f.code.as_str()).collect();
    c.sort();
    c
}

#[test]
fn ledger_and_aws_agree() {
    let s = state();
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(&keys, &facts(vec![fido(&arn("k1")), fido(&arn("k2"))]));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert_eq!(a.keys_seen.len(), 2);
    assert_eq!(a.matched.get(&arn("k1")).map(String::as_str), Some("k1"));
}

#[test]
fn disagreements_are_findings() {
    let mut s = state();
    // k2 never confirmed; AWS shows it by name only.
    s.keys.get_mut("k2").unwrap().registration = None;
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(
        &keys,
        &facts(vec![
            fido(&arn("k2")),
            fido(&format!("arn:aws:iam::{ACCT}:mfa/root-account-mfa-device")),
            fido(&format!(
                "arn:aws:iam::{ACCT}:u2f/root/someone-elses-key-QQQ"
            )),
        ]),
    );
    assert_eq!(
        codes(&a),
        [
            "AWS-DEVICE-UNKNOWN",
            "AWS-DEVICE-UNKNOWN",
            "KEY-REGISTRATION-UNCONFIRMED",
            "LEDGER-KEY-NOT-IN-AWS",
            "ROOT-FEWER-THAN-TWO-KEYS"
        ]
    );
    let virt = a
        .findings
        .iter()
        .find(|f| f.subject.contains(":mfa/"))
        .unwrap();
    assert_eq!(virt.evidence["type"], "virtual");
    assert!(virt.controls.contains(&"IAM.6".to_string()));
}

#[test]
fn unregistered_changed_and_retired_keys() {
    let mut s = state();
    s.keys.get_mut("k2").unwrap().registration = None;
    let k1 = s.keys.get_mut("k1").unwrap();
    k1.registration = Some(Registration {
        serial_arn: format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-k1-OLD"),
        enable_date: datetime!(2025-01-02 10:00 UTC),
        confirmed_at: datetime!(2025-01-02 10:00 UTC),
        source: crate::custody::events::ConfirmationSource::Api,
    });
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(&keys, &facts(vec![fido(&arn("k1"))]));
    assert_eq!(
        codes(&a),
        [
            "KEY-NOT-REGISTERED",
            "KEY-SERIAL-CHANGED",
            "ROOT-FEWER-THAN-TWO-KEYS"
        ]
    );

    let mut s = state();
    s.keys.get_mut("k2").unwrap().status = KeyStatus::Retired {
        at: datetime!(2025-02-01 0:00 UTC),
    };
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(&keys, &facts(vec![fido(&arn("k1")), fido(&arn("k2"))]));
    assert_eq!(
        codes(&a),
        ["RETIRED-KEY-STILL-ON-ROOT", "ROOT-FEWER-THAN-TWO-KEYS"]
    );
}

#[test]
fn keyless_members_need_no_keys_but_management_does() {
    let mut f = facts(vec![]);
    f.credential_less = true;
    assert!(compare_with_aws(&[], &f).findings.is_empty());
    f.management = true;
    assert_eq!(
        codes(&compare_with_aws(&[], &f)),
        ["ROOT-FEWER-THAN-TWO-KEYS"]
    );
}

#[test]
fn device_name_matching_is_exact_on_the_key_id() {
    assert!(serial_names_key(&arn("a1b2"), "a1b2"));
    assert!(!serial_names_key(&arn("a1b2c3"), "a1b2"));
    assert!(!serial_names_key(
        &format!("arn:aws:iam::{ACCT}:u2f/user/bob/rootkey-a1b2-X"),
        "a1b2"
    ));
}

#[test]
fn two_hardware_keys_kpi_rule() {
    assert!(two_hardware_keys_no_virtual(&facts(vec![
        fido(&arn("a")),
        fido(&arn("b"))
    ])));
    assert!(!two_hardware_keys_no_virtual(&facts(vec![fido(&arn("a"))])));
    assert!(!two_hardware_keys_no_virtual(&facts(vec![
        fido(&arn("a")),
        fido(&arn("b")),
        fido(&format!("arn:aws:iam::{ACCT}:mfa/phone")),
    ])));
}

// ----- logins

fn record(
    start: OffsetDateTime,
    end: OffsetDateTime,
    back: Option<OffsetDateTime>,
) -> CheckoutRecord {
    CheckoutRecord {
        seq: 7,
        time: start,
        key_id: "k1".into(),
        account_id: ACCT.into(),
        reason: "r".into(),
        ticket: "CHG-1".into(),
        window_start: start,
        window_end: end,
        requester: "alice".into(),
        approver: "bob".into(),
        bag_broken: "B1".into(),
        checkin: back.map(|t| CheckinRecord {
            seq: 8,
            time: t,
            late: t > end,
            bag_serial: "N1".into(),
        }),
    }
}

#[test]
fn logins_are_matched_to_windows() {
    let start = datetime!(2025-02-01 10:00 UTC);
    let end = datetime!(2025-02-01 14:00 UTC);
    let now = datetime!(2025-03-01 00:00 UTC);
    let early_back = record(start, end, Some(datetime!(2025-02-01 12:00 UTC)));
    let late_back = record(start, end, Some(datetime!(2025-02-01 18:00 UTC)));
    let still_out = record(start, end, None);
    let is = |c: &CheckoutRecord, t| explain_login(t, &[c], now);
    assert!(matches!(
        is(&early_back, datetime!(2025-02-01 11:00 UTC)),
        LoginExplanation::InWindow {
            checkout_seq: 7,
            ..
        }
    ));
    assert!(
        matches!(
            is(&early_back, datetime!(2025-02-01 09:59 UTC)),
            LoginExplanation::InWindow { .. }
        ),
        "within clock skew"
    );
    assert_eq!(
        is(&early_back, datetime!(2025-02-01 09:50 UTC)),
        LoginExplanation::Unexplained
    );
    assert_eq!(
        is(&early_back, datetime!(2025-02-01 13:00 UTC)),
        LoginExplanation::Unexplained,
        "key already back"
    );
    assert!(matches!(
        is(&late_back, datetime!(2025-02-01 16:00 UTC)),
        LoginExplanation::AfterWindow { .. }
    ));
    assert_eq!(
        is(&late_back, datetime!(2025-02-01 19:00 UTC)),
        LoginExplanation::Unexplained
    );
    assert!(matches!(
        is(&still_out, datetime!(2025-02-10 00:00 UTC)),
        LoginExplanation::AfterWindow { .. }
    ));
    assert_eq!(
        explain_login(start, &[], now),
        LoginExplanation::Unexplained
    );
}

#[test]
fn login_findings_by_case() {
    let login = |success, mfa| root_login(datetime!(2025-02-01 11:00 UTC), Some(success), mfa);
    let inw = LoginExplanation::InWindow {
        key_id: "k1".into(),
        ticket: "T".into(),
        checkout_seq: 1,
    };
    let after = LoginExplanation::AfterWindow {
        key_id: "k1".into(),
        ticket: "T".into(),
        checkout_seq: 1,
    };
    let un = LoginExplanation::Unexplained;
    let c = |l: RootLogin, e: &LoginExplanation| {
        login_findings(ACCT, &l, e)
            .into_iter()
            .map(|f| (f.code, f.severity))
            .collect::<Vec<_>>()
    };
    assert!(c(login(true, Some(true)), &inw).is_empty());
    assert_eq!(
        c(login(true, Some(true)), &un),
        [("ROOT-LOGIN-UNEXPLAINED".to_string(), Severity::Critical)]
    );
    assert_eq!(
        c(login(false, None), &un),
        [("ROOT-LOGIN-FAILED-UNEXPLAINED".to_string(), Severity::High)]
    );
    assert_eq!(
        c(login(true, Some(true)), &after),
        [("ROOT-LOGIN-AFTER-WINDOW".to_string(), Severity::High)]
    );
    assert_eq!(
        c(login(true, Some(false)), &inw),
        [("ROOT-LOGIN-WITHOUT-MFA".to_string(), Severity::Critical)]
    );
    let f = &login_findings(ACCT, &login(true, Some(true)), &un)[0];
    assert_eq!(f.subject, "2025-02-01T11:00:00Z 198.51.100.4");
    assert_eq!(f.evidence["source ip"], "198.51.100.4");
}

// ----- time to remediate

#[test]
fn mttr_over_audits() {
    let set = |v: &[&str]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    let t0 = datetime!(2025-01-01 00:00 UTC);
    let t1 = t0 + Duration::days(10);
    let t2 = t0 + Duration::days(30);
    let a = set(&["111122223333", "444455556666"]);
    let only_other = set(&["444455556666"]);
    let f0 = set(&["X|111122223333|k1", "Y|444455556666|k9"]);
    let f1 = set(&["X|111122223333|k1"]);
    let none = set(&[]);
    // Y fixed after 10 days, X after 30 days: mean 20 days.
    let (m, n) = mean_time_to_remediate(&[(t0, &f0, &a), (t1, &f1, &a), (t2, &none, &a)]);
    assert_eq!((m, n), (Some(20 * 86_400), 2));
    // An audit of another account does not close X.
    let (m, n) = mean_time_to_remediate(&[(t0, &f1, &a), (t1, &none, &only_other)]);
    assert_eq!((m, n), (None, 0));
    assert_eq!(mean_time_to_remediate(&[]), (None, 0));
    // A finding that returns opens a new episode.
    let (m, n) = mean_time_to_remediate(&[(t0, &f1, &a), (t1, &none, &a), (t2, &f1, &a)]);
    assert_eq!((m, n), (Some(10 * 86_400), 1));
}
