//! Unit tests of the fold's rules. Approvals are taken as verified here
//! ([`Approved::unverified_for_tests`]); their verification is tested in `dual_control` and end
//! to end through the binary.

use super::*;
use crate::custody::dual_control::Requirement;
use crate::custody::dual_control::{Approved, Approver};
use crate::custody::events::tests::enrolled_body;
use crate::custody::key_id_for;
use crate::webauthn::client_data::TYPE_GET;
use crate::webauthn::{b64url, sha256, AuthData, ClientData, Flags};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use time::macros::datetime;

/// An owned ledger entry for tests.
pub(crate) struct Entry {
    pub seq: u64,
    pub time: OffsetDateTime,
    pub kind: String,
    pub body: Value,
    pub approvers: Vec<(String, Role)>,
}

/// The event of a test entry, as the ledger would store it.
pub(crate) fn event_of(e: &Entry) -> Event {
    Event {
        id: [e.seq as u8; 16],
        time: crate::report::fmt_time(e.time),
        kind: e.kind.clone(),
        actor: "tester".into(),
        body: e.body.clone(),
    }
}

/// Applies one test entry, its approvers taken as verified.
pub(crate) fn apply(s: &mut CustodyState, e: &Entry) -> Result<(), StateError> {
    let ev = event_of(e);
    let approvers = e
        .approvers
        .iter()
        .map(|(id, role)| Approver {
            id: id.clone(),
            role: *role,
            software: false,
            counter: 0,
            credential_id: Vec::new(),
        })
        .collect();
    s.apply(Approved::unverified_for_tests(
        e.seq, e.time, &ev, approvers,
    ))
}

pub(crate) fn fold(entries: &[Entry]) -> Result<CustodyState, StateError> {
    let mut s = CustodyState::default();
    for e in entries {
        apply(&mut s, e)?;
    }
    Ok(s)
}

pub(crate) fn entry(seq: u64, time: OffsetDateTime, kind: &str, body: Value) -> Entry {
    Entry {
        seq,
        time,
        kind: kind.into(),
        body,
        approvers: vec![
            ("alice".into(), Role::Custodian),
            ("bob".into(), Role::Custodian),
        ],
    }
}

/// The key id of the test key `name` (derived from its public key, as the fold requires).
pub(crate) fn k(name: &str) -> String {
    key_id_for(&cose_for(name))
}

/// A custodian spec for `id`, with a key of its own.
pub(crate) fn person(id: &str, role: &str) -> Value {
    json!({"id": id, "name": format!("{id} person"), "role": role,
           "credential_id": b64url(format!("cred-{id}").as_bytes()),
           "public_key": b64url(&cose_for(&format!("person {id}"))),
           "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
           "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556",
                           "assurance": "hardware"}})
}

/// The bootstrap entry of alice and bob.
pub(crate) fn bootstrap(seq: u64, t: OffsetDateTime) -> Entry {
    entry(
        seq,
        t,
        "custodian.bootstrap",
        json!({"custodians": [person("alice", "custodian"), person("bob", "custodian")]}),
    )
}

/// Body of `key.enrolled` for test key `name` in `account`, with a distinct credential.
pub(crate) fn enrolled(name: &str, account: &str, role: &str, bag: &str) -> Value {
    let id = k(name);
    let mut b = enrolled_body();
    b["key_id"] = json!(id);
    b["account_id"] = json!(account);
    b["role"] = json!(role);
    b["bag_serial"] = json!(bag);
    b["location"] = json!(format!("Safe for {name}"));
    b["aws_device_name"] = json!(format!("rootkey-{id}"));
    b["custody_credential_id"] = json!(b64url(name.as_bytes()));
    b["custody_public_key"] = json!(b64url(&cose_for(name)));
    b
}

/// The custody key pair of test key `name`: Ed25519 seeded from the name, so a test can sign
/// possession proofs for a key it enrolled with [`enrolled`].
pub(crate) fn pair_for(name: &str) -> Ed25519KeyPair {
    let seed = crate::webauthn::sha256(name.as_bytes());
    Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
}

/// The COSE public key of [`pair_for`]`(name)`.
pub(crate) fn cose_for(name: &str) -> Vec<u8> {
    let pair = pair_for(name);
    crate::webauthn::CoseKey::EdDsa {
        x: pair.public_key().as_ref().try_into().unwrap(),
    }
    .to_cbor()
}

/// A possession proof signed by `pair` with the given RP, client data type and counter.
pub(crate) fn signed_proof(
    pair: &Ed25519KeyPair,
    rp_id: &str,
    kind: &'static str,
    counter: u32,
    challenge: &[u8],
) -> Value {
    let auth = AuthData::encode(&sha256(rp_id.as_bytes()), Flags(Flags::UP), counter, None);
    let cd = ClientData::json(kind, challenge, "rootkey:custody");
    let mut msg = auth.clone();
    msg.extend_from_slice(&sha256(&cd));
    json!({"challenge": b64url(challenge), "authenticator_data": b64url(&auth),
           "client_data_json": b64url(&cd),
           "signature": b64url(pair.sign(&msg).as_ref()), "counter": counter})
}

pub(crate) fn confirmed(name: &str, account: &str) -> Value {
    json!({
        "key_id": k(name), "account_id": account,
        "serial_arn": format!("arn:aws:iam::{account}:u2f/root/rootkey-{}-ABCDEFGHIJKLMNOP", k(name)),
        "enable_date": "2025-01-02T10:00:00Z", "source": "evidence"
    })
}

/// A valid possession proof by test key `name` at `counter`.
pub(crate) fn proof(name: &str, counter: u32) -> Value {
    let challenge = format!("challenge {name} {counter}");
    signed_proof(
        &pair_for(name),
        crate::device::CUSTODY_RP_ID,
        TYPE_GET,
        counter,
        challenge.as_bytes(),
    )
}

pub(crate) fn checkout(name: &str, account: &str, bag: &str, start: &str, end: &str) -> Value {
    json!({"key_id": k(name), "account_id": account, "reason": "billing contact change",
           "ticket": "CHG-1", "window_start": start, "window_end": end,
           "requester": "alice", "approver": "bob", "bag_broken": bag})
}

pub(crate) fn checkin(name: &str, account: &str, bag: &str, counter: u32) -> Value {
    json!({"key_id": k(name), "account_id": account, "bag_serial": bag,
           "proof": proof(name, counter)})
}

fn basic() -> Vec<Entry> {
    let t0 = datetime!(2025-01-02 09:00 UTC);
    vec![
        bootstrap(1, t0),
        entry(
            2,
            t0,
            "key.enrolled",
            enrolled("k1", "111122223333", "primary", "B1"),
        ),
        entry(
            3,
            t0,
            "key.enrolled",
            enrolled("k2", "111122223333", "backup", "B2"),
        ),
        entry(
            4,
            t0,
            "key.registration_confirmed",
            confirmed("k1", "111122223333"),
        ),
        entry(
            5,
            t0,
            "key.registration_confirmed",
            confirmed("k2", "111122223333"),
        ),
        entry(
            6,
            t0,
            "account.enrolled",
            json!({"account_id": "111122223333", "primary_key_id": k("k1"), "backup_key_id": k("k2")}),
        ),
    ]
}

#[test]
fn enrollment_builds_keys_and_accounts() {
    let s = fold(&basic()).unwrap();
    assert_eq!(s.keys().len(), 2);
    assert_eq!(s.active_keys_of("111122223333").len(), 2);
    let k1 = &s.keys()[&k("k1")];
    assert_eq!(k1.status, KeyStatus::InSafe);
    assert_eq!(k1.bag_serial, "B1");
    assert!(k1
        .registration
        .as_ref()
        .unwrap()
        .serial_arn
        .contains(&format!("rootkey-{}-", k("k1"))));
    assert!(s.accounts()["111122223333"].enrolled_at.is_some());
    assert_eq!(s.last_seq(), Some(6));
    assert!(s.bag_used("B2"));
}

#[test]
fn checkout_and_checkin_track_status_bag_and_possession() {
    let mut e = basic();
    let t1 = datetime!(2025-02-01 10:00 UTC);
    let t2 = datetime!(2025-02-03 10:00 UTC);
    e.push(entry(
        7,
        t1,
        "key.checked_out",
        checkout(
            "k1",
            "111122223333",
            "B1",
            "2025-02-01T10:00:00Z",
            "2025-02-02T10:00:00Z",
        ),
    ));
    let s = fold(&e).unwrap();
    let k1 = &s.keys()[&k("k1")];
    assert_eq!(k1.status, KeyStatus::CheckedOut { checkout: 0 });
    assert!(s.open_checkout(k1).is_some());
    assert!(s.overdue(t2).len() == 1);
    assert!(s.overdue(t1).is_empty());

    e.push(entry(
        8,
        t2,
        "key.checked_in",
        checkin("k1", "111122223333", "B3", 7),
    ));
    let s = fold(&e).unwrap();
    let k1 = &s.keys()[&k("k1")];
    assert_eq!(k1.status, KeyStatus::InSafe);
    assert_eq!(k1.bag_serial, "B3");
    assert_eq!(k1.last_possession, t2);
    assert_eq!(k1.last_counter, 7);
    let c = &s.checkouts[0];
    assert_eq!(c.checkin.as_ref().map(|c| c.late), Some(true));
    assert!(s.overdue(t2).is_empty());
    assert_eq!(s.checkouts_of("111122223333").len(), 1);
    assert!(s.checkouts_of("999").is_empty());
}

#[test]
fn malformed_known_kind_names_the_seq() {
    let mut e = basic();
    e.push(entry(
        42,
        datetime!(2025-02-01 10:00 UTC),
        "key.checked_out",
        json!({"key_id": k("k1")}),
    ));
    let err = fold(&e).unwrap_err();
    assert!(
        matches!(err, StateError::Malformed { seq: 42, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ledger entry 42"));
}

#[test]
fn contradictions_are_errors() {
    let t = datetime!(2025-02-01 10:00 UTC);
    type Check = fn(&StateError) -> bool;
    let cases: Vec<(Entry, Check)> = vec![
        (
            entry(
                9,
                t,
                "key.checked_in",
                checkin("k1", "111122223333", "B9", 1),
            ),
            |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
        ),
        (
            entry(
                9,
                t,
                "key.enrolled",
                enrolled("k1", "111122223333", "primary", "B9"),
            ),
            |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
        ),
        (
            entry(
                9,
                t,
                "key.verified",
                json!({"key_id": "zz", "account_id": "111122223333", "proof": proof("zz", 1)}),
            ),
            |e| matches!(e, StateError::UnknownKey { seq: 9, .. }),
        ),
        (
            entry(
                9,
                t,
                "key.retired",
                json!({"key_id": k("k1"), "account_id": "444455556666", "reason": "lost", "note": "left on a train"}),
            ),
            |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
        ),
        (
            entry(
                9,
                t,
                "key.checked_out",
                checkout(
                    "k1",
                    "111122223333",
                    "WRONG",
                    "2025-02-01T10:00:00Z",
                    "2025-02-02T10:00:00Z",
                ),
            ),
            |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
        ),
        (
            entry(
                9,
                t,
                "key.moved",
                json!({"key_id": k("k2"), "account_id": "111122223333", "from_location": "a", "to_location": "b", "bag_serial": "B1", "reason": "r", "proof": proof("k2", 40)}),
            ),
            |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
        ),
    ];
    for (bad, check) in cases {
        let mut e = basic();
        let kind = bad.kind.clone();
        e.push(bad);
        let err = fold(&e).unwrap_err();
        assert!(check(&err), "{kind}: {err}");
    }
}

#[test]
fn same_credential_under_a_new_id_is_refused() {
    let mut e = basic();
    let mut b = enrolled("k9", "111122223333", "primary", "B9");
    b["custody_credential_id"] = json!(b64url(b"k1"));
    e.push(entry(9, datetime!(2025-02-01 10:00 UTC), "key.enrolled", b));
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Inconsistent { seq: 9, .. }
    ));
}

#[test]
fn account_enrolled_needs_confirmed_keys_in_the_right_roles() {
    let t = datetime!(2025-01-02 09:00 UTC);
    let e = vec![
        entry(
            1,
            t,
            "key.enrolled",
            enrolled("k1", "111122223333", "primary", "B1"),
        ),
        entry(
            2,
            t,
            "key.enrolled",
            enrolled("k2", "111122223333", "backup", "B2"),
        ),
        entry(
            3,
            t,
            "account.enrolled",
            json!({"account_id": "111122223333", "primary_key_id": k("k1"), "backup_key_id": k("k2")}),
        ),
    ];
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Inconsistent { seq: 3, .. }
    ));
    let e = vec![
        entry(
            1,
            t,
            "key.enrolled",
            enrolled("k1", "111122223333", "primary", "B1"),
        ),
        entry(
            2,
            t,
            "key.enrolled",
            enrolled("k2", "111122223333", "backup", "B2"),
        ),
        entry(
            3,
            t,
            "key.registration_confirmed",
            confirmed("k1", "111122223333"),
        ),
        entry(
            4,
            t,
            "key.registration_confirmed",
            confirmed("k2", "111122223333"),
        ),
        entry(
            5,
            t,
            "account.enrolled",
            json!({"account_id": "111122223333", "primary_key_id": k("k2"), "backup_key_id": k("k1")}),
        ),
    ];
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Inconsistent { seq: 5, .. }
    ));
}

#[test]
fn move_verify_retire_and_audit() {
    let mut e = basic();
    let t = datetime!(2025-03-01 10:00 UTC);
    e.push(entry(7, t, "key.moved", json!({"key_id": k("k2"), "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "Vault C", "bag_serial": "B7", "reason": "office move", "proof": proof("k2", 40)})));
    e.push(entry(
        8,
        t,
        "key.verified",
        json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 3)}),
    ));
    e.push(entry(
        9,
        t,
        "key.retired",
        json!({"key_id": k("k2"), "account_id": "111122223333", "reason": "lost", "note": "left on a train"}),
    ));
    e.push(entry(
        10,
        t,
        "audit.completed",
        json!({
        "report_sha256": "0".repeat(64), "format": "json", "checkpoint": "c",
        "period_start": "2025-01-01T00:00:00Z", "period_end": "2025-03-01T00:00:00Z",
        "verdict": "pass", "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
        "findings": [], "accounts": ["111122223333"]}),
    ));
    let s = fold(&e).unwrap();
    assert_eq!(s.keys()[&k("k2")].location, "Vault C");
    assert_eq!(s.keys()[&k("k2")].bag_serial, "B7");
    assert!(!s.keys()[&k("k2")].is_active());
    assert_eq!(s.active_keys_of("111122223333").len(), 1);
    assert_eq!(s.keys()[&k("k1")].last_possession, t);
    assert_eq!(s.keys()[&k("k1")].last_counter, 3);
    assert_eq!(s.audits().len(), 1);
    assert!(s.key_by_credential(b"k1").is_some());
    assert!(s.key_by_credential(b"k2").is_none());
}

#[test]
fn a_refused_entry_leaves_the_state_unchanged() {
    let mut s = fold(&basic()).unwrap();
    let before = s.clone();
    for (kind, body) in [
        ("key.checked_in", checkin("k1", "111122223333", "B-new", 1)),
        (
            "key.verified",
            json!({"key_id": k("k1"), "account_id": "444455556666", "proof": proof("k1", 1), "bag_serial": "B-new"}),
        ),
        (
            "key.moved",
            json!({"key_id": k("k9"), "account_id": "111122223333", "from_location": "a", "to_location": "b", "bag_serial": "B-new", "reason": "r", "proof": proof("k9", 40)}),
        ),
    ] {
        let mut e = entry(7, datetime!(2025-02-01 10:00 UTC), kind, body);
        e.approvers.clear();
        let err = apply(&mut s, &e).unwrap_err();
        assert!(err.to_string().contains("ledger entry 7"), "{err}");
        assert_eq!(s, before, "{kind}");
    }
}

#[test]
fn a_bag_serial_cannot_be_reused() {
    let mut e = basic();
    let t = datetime!(2025-02-01 10:00 UTC);
    e.push(entry(
        7,
        t,
        "key.checked_out",
        checkout(
            "k1",
            "111122223333",
            "B1",
            "2025-02-01T10:00:00Z",
            "2025-02-02T10:00:00Z",
        ),
    ));
    e.push(entry(
        8,
        t,
        "key.checked_in",
        checkin("k1", "111122223333", "B2", 1),
    ));
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Inconsistent { seq: 8, .. }
    ));
}

/// `basic()` plus k1 checked out (seq 7) at `t`.
fn with_k1_out() -> Vec<Entry> {
    let mut e = basic();
    e.push(entry(
        7,
        datetime!(2025-02-01 10:00 UTC),
        "key.checked_out",
        checkout(
            "k1",
            "111122223333",
            "B1",
            "2025-02-01T10:00:00Z",
            "2025-02-02T10:00:00Z",
        ),
    ));
    e
}

fn clone_entries(e: &[Entry]) -> Vec<Entry> {
    e.iter()
        .map(|x| Entry {
            seq: x.seq,
            time: x.time,
            kind: x.kind.clone(),
            body: x.body.clone(),
            approvers: x.approvers.clone(),
        })
        .collect()
}

fn refused_proof(err: &StateError) -> Option<&str> {
    match err {
        StateError::ProofRefused {
            seq: 8,
            key_id,
            reason,
            ..
        } if *key_id == k("k1") => Some(reason),
        _ => None,
    }
}

#[test]
fn a_forged_proof_fails_the_fold() {
    let t = datetime!(2025-02-01 12:00 UTC);
    let other = pair_for("somebody else's key");
    let cases = [
        // Signed by another key.
        signed_proof(&other, crate::device::CUSTODY_RP_ID, TYPE_GET, 5, b"c"),
        // The right key, but for another RP or a registration, not an assertion.
        signed_proof(&pair_for("k1"), "example.com", TYPE_GET, 5, b"c"),
        signed_proof(
            &pair_for("k1"),
            crate::device::CUSTODY_RP_ID,
            crate::webauthn::client_data::TYPE_CREATE,
            5,
            b"c",
        ),
        // The placeholder the fold used to accept.
        json!({"challenge": "AA", "authenticator_data": "AA", "client_data_json": "AA",
               "signature": "AA", "counter": 5}),
    ];
    for (i, forged) in cases.into_iter().enumerate() {
        let mut e = with_k1_out();
        let mut body = checkin("k1", "111122223333", "B8", 5);
        body["proof"] = forged;
        e.push(entry(8, t, "key.checked_in", body));
        let err = fold(&e).unwrap_err();
        assert!(refused_proof(&err).is_some(), "case {i}: {err}");
        assert!(err.to_string().contains("ledger entry 8"), "{err}");
    }
    // A proof whose challenge was swapped after signing no longer matches its client data.
    let mut e = basic();
    let mut p = proof("k1", 5);
    p["challenge"] = json!(b64url(b"another challenge"));
    e.push(entry(
        8,
        t,
        "key.verified",
        json!({"key_id": k("k1"), "account_id": "111122223333", "proof": p}),
    ));
    assert!(refused_proof(&fold(&e).unwrap_err()).is_some());
    // A proof of k2 presented for k1.
    let mut e = basic();
    e.push(entry(
        8,
        t,
        "key.verified",
        json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k2", 5)}),
    ));
    let err = fold(&e).unwrap_err();
    assert!(
        refused_proof(&err).is_some_and(|r| r.contains("signature")),
        "{err}"
    );
}

#[test]
fn a_replayed_proof_fails_the_fold() {
    let t = datetime!(2025-02-01 12:00 UTC);
    let mut e = basic();
    let v = json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 5)});
    e.push(entry(7, t, "key.verified", v.clone()));
    assert_eq!(fold(&e).unwrap().keys()[&k("k1")].last_counter, 5);
    // The same proof again, and an older one, are both refused for the counter.
    for counter in [5, 4] {
        let mut e = clone_entries(&e);
        e.push(entry(
            8,
            t,
            "key.verified",
            json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", counter)}),
        ));
        let err = fold(&e).unwrap_err();
        assert!(
            refused_proof(&err).is_some_and(|r| r.contains("did not increase")),
            "{counter}: {err}"
        );
    }
    // A counter of 0 is fine only while it has always been 0.
    let mut e = basic();
    for seq in [7, 8] {
        e.push(entry(
            seq,
            t,
            "key.verified",
            json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 0)}),
        ));
    }
    assert_eq!(fold(&e).unwrap().keys()[&k("k1")].last_counter, 0);
}

#[test]
fn checkout_approvers_must_be_the_named_requester_and_approver() {
    let t = datetime!(2025-02-01 10:00 UTC);
    let body = checkout(
        "k1",
        "111122223333",
        "B1",
        "2025-02-01T10:00:00Z",
        "2025-02-02T10:00:00Z",
    );
    for approvers in [
        vec!["alice", "carol"],
        vec!["carol", "dave"],
        vec!["alice"],
        vec!["alice", "alice"],
        vec!["alice", "bob", "carol"],
        vec![],
    ] {
        let mut e = basic();
        let mut c = entry(7, t, "key.checked_out", body.clone());
        c.approvers = approvers
            .iter()
            .map(|a| (a.to_string(), Role::Custodian))
            .collect();
        e.push(c);
        let err = fold(&e).unwrap_err();
        assert!(
            matches!(err, StateError::Approvals { seq: 7, .. }),
            "{approvers:?}: {err}"
        );
    }
    // Order does not matter: the set is what counts.
    let mut e = basic();
    let mut c = entry(7, t, "key.checked_out", body);
    c.approvers = vec![
        ("bob".into(), Role::Custodian),
        ("alice".into(), Role::Custodian),
    ];
    e.push(c);
    assert!(fold(&e).is_ok());
}

#[test]
fn kinds_naming_nobody_still_need_the_ledgers_count_of_approvers() {
    let t = datetime!(2025-02-01 12:00 UTC);
    for (kind, body) in [
        ("key.checked_in", checkin("k1", "111122223333", "B8", 3)),
        (
            "key.retired",
            json!({"key_id": k("k2"), "account_id": "111122223333", "reason": "lost", "note": "left on a train"}),
        ),
    ] {
        let mut e = with_k1_out();
        let mut c = entry(8, t, kind, body);
        c.approvers = vec![("alice".into(), Role::Custodian)];
        e.push(c);
        let err = fold(&e).unwrap_err();
        assert!(
            matches!(err, StateError::Approvals { seq: 8, .. }),
            "{kind}: {err}"
        );
    }
    let mut e = basic();
    let mut c = entry(
        7,
        t,
        "key.verified",
        json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 1)}),
    );
    c.approvers = vec![];
    e.push(c);
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Approvals { seq: 7, .. }
    ));
}

#[test]
fn a_reseal_needs_two_approvers() {
    let t = datetime!(2025-02-01 12:00 UTC);
    let reseal = json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 2), "bag_serial": "B8"});
    let mut e = basic();
    let mut v = entry(7, t, "key.verified", reseal.clone());
    v.approvers = vec![("alice".into(), Role::Custodian)];
    e.push(v);
    let err = fold(&e).unwrap_err();
    assert!(
        matches!(err, StateError::Approvals { seq: 7, .. }) && err.to_string().contains("2"),
        "{err}"
    );
    // A plain check needs the one custodian who held the key; a reseal with two is fine.
    let mut e = basic();
    let mut v = entry(
        7,
        t,
        "key.verified",
        json!({"key_id": k("k1"), "account_id": "111122223333", "proof": proof("k1", 1)}),
    );
    v.approvers = vec![("alice".into(), Role::Custodian)];
    e.push(v);
    e.push(entry(8, t, "key.verified", reseal));
    let s = fold(&e).unwrap();
    assert_eq!(s.keys()[&k("k1")].bag_serial, "B8");
}

#[test]
fn a_second_checkout_while_the_other_key_is_out_fails_the_fold() {
    let mut e = with_k1_out();
    e.push(entry(
        8,
        datetime!(2025-02-01 11:00 UTC),
        "key.checked_out",
        checkout(
            "k2",
            "111122223333",
            "B2",
            "2025-02-01T11:00:00Z",
            "2025-02-02T11:00:00Z",
        ),
    ));
    let err = fold(&e).unwrap_err();
    assert_eq!(
        err,
        StateError::OtherKeyOut {
            seq: 8,
            key_id: k("k2"),
            other: k("k1")
        }
    );
    // Once k1 is back, k2 may go out.
    let mut e = with_k1_out();
    e.push(entry(
        8,
        datetime!(2025-02-01 12:00 UTC),
        "key.checked_in",
        checkin("k1", "111122223333", "B8", 1),
    ));
    e.push(entry(
        9,
        datetime!(2025-02-01 13:00 UTC),
        "key.checked_out",
        checkout(
            "k2",
            "111122223333",
            "B2",
            "2025-02-01T13:00:00Z",
            "2025-02-02T13:00:00Z",
        ),
    ));
    assert!(fold(&e).is_ok());
}

#[test]
fn keys_of_one_account_are_never_stored_together() {
    let t = datetime!(2025-03-01 10:00 UTC);
    for (seq, body) in [
        // Moved to where the other key is (spelled differently).
        (
            7,
            json!({"key_id": k("k2"), "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "safe FOR k1", "bag_serial": "B7", "reason": "r", "proof": proof("k2", 40)}),
        ),
        // Moved to where it already is.
        (
            7,
            json!({"key_id": k("k2"), "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "Safe for k2", "bag_serial": "B7", "reason": "r", "proof": proof("k2", 40)}),
        ),
    ] {
        let mut e = basic();
        e.push(entry(seq, t, "key.moved", body));
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 7, .. }
        ));
    }
    let mut e = basic();
    let mut b = enrolled("k3", "111122223333", "backup", "B9");
    b["location"] = json!("Safe for k1");
    e.push(entry(7, t, "key.enrolled", b));
    assert!(matches!(
        fold(&e).unwrap_err(),
        StateError::Inconsistent { seq: 7, .. }
    ));
}

#[test]
fn flows_can_check_an_event_before_it_is_approved() {
    let s = fold(&basic()).unwrap();
    let t = crate::report::fmt_time(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap());
    let body = checkout("k1", "111122223333", "B1", &t, "2099-01-01T00:00:00Z");
    let e = entry(
        7,
        OffsetDateTime::now_utc(),
        "key.checked_out",
        body.clone(),
    );
    let mut unapproved = entry(
        7,
        OffsetDateTime::now_utc(),
        "key.checked_out",
        body.clone(),
    );
    unapproved.approvers.clear();
    assert!(matches!(
        apply(&mut s.clone(), &unapproved).unwrap_err(),
        StateError::Approvals { seq: 7, .. }
    ));
    // The window is too long: the same rule refuses it before and after approval.
    assert!(apply(&mut s.clone(), &e).is_err());
    let ev = crate::ledger::UnsignedEvent::new("key.checked_out", "t", body).unwrap();
    assert!(s.check(7, &[&ev]).is_err());
    let mut ok = body_with_window(&k("k1"), 4);
    ok["bag_broken"] = json!("B1");
    let ev = crate::ledger::UnsignedEvent::new("key.checked_out", "t", ok).unwrap();
    let req = s.check(7, &[&ev]).unwrap();
    assert_eq!(
        req,
        vec![Requirement::Named(["alice".into(), "bob".into()])]
    );
    assert_eq!(s, fold(&basic()).unwrap(), "checking changes nothing");
}

/// A checkout body of `key_id` whose window starts now and lasts `hours`.
fn body_with_window(key_id: &str, hours: i64) -> Value {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    json!({"key_id": key_id, "account_id": "111122223333", "reason": "r", "ticket": "T-1",
           "window_start": crate::report::fmt_time(now),
           "window_end": crate::report::fmt_time(now + time::Duration::hours(hours)),
           "requester": "alice", "approver": "bob", "bag_broken": "B1"})
}
