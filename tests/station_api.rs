//! The ledger through the custody station: approvals, the registry's rules, proofs, schema
//! versions, and the storage guarantees (tree state, time order) an append relies on.

mod support;

use rootkey::custody::{Role, StateError, Station, StationError, CUSTODIAN_RP_ID};
use rootkey::ledger::{tree, Ledger, LedgerError, UnsignedEvent};
use rootkey::webauthn::Flags;
use support::{added_event, bootstrap_event, note, removed_event, TestCustodian};

struct Fixture {
    dir: tempfile::TempDir,
    ledger: Station,
    alice: TestCustodian,
    bob: TestCustodian,
}

impl Fixture {
    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("ledger.db")
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    drop(Ledger::create(&db, &Ledger::default_key_path(&db), "test/ledger").unwrap());
    let mut ledger = Station::open(&db, None).unwrap();
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);
    let ev = bootstrap_event(&alice, &bob);
    let approvals = vec![alice.approve(&ev), bob.approve(&ev)];
    ledger.append_one(ev, approvals).unwrap();
    Fixture {
        dir,
        ledger,
        alice,
        bob,
    }
}

/// The custody rule that refused an append (nothing is written then).
fn refused(r: Result<rootkey::ledger::BatchReceipt, StationError>) -> StateError {
    match r {
        Err(StationError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn approvals_detail(e: &StateError) -> &str {
    match e {
        StateError::Approvals { detail, .. } => detail,
        other => panic!("expected an approvals refusal, got {other}"),
    }
}

#[test]
fn registry_follows_bootstrap_add_and_remove() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append_one(ev, ap).unwrap();
    let ev = removed_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    let r = f.ledger.append_one(ev, ap).unwrap();

    let reopened = Station::open_readonly(&f.db()).unwrap();
    let reg = reopened.state().registry();
    let c = reg.get("id-carol").unwrap();
    assert_eq!((c.added_seq, c.removed_seq), (1, Some(r.first_seq)));
    assert_eq!(c.public_key, carol.key);
    assert_eq!(reg.active().count(), 2);
    // Ids are unique whatever their letter case.
    assert!(reg.get("ID-CAROL").is_some());
}

#[test]
fn bootstrap_needs_both_people_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    drop(Ledger::create(&db, &dir.path().join("l.key"), "t").unwrap());
    let mut l = Station::open(&db, Some(&dir.path().join("l.key"))).unwrap();
    let (a, b) = (TestCustodian::new("a", true), TestCustodian::new("b", true));
    let ev = bootstrap_event(&a, &b);
    let e = refused(l.append_one(ev.clone(), vec![a.approve(&ev)]));
    assert!(
        approvals_detail(&e).contains("the two people it enrols"),
        "{e}"
    );
    assert_eq!(l.len(), 0, "nothing written");
    l.append_one(ev.clone(), vec![a.approve(&ev), b.approve(&ev)])
        .unwrap();
    let (c, d) = (TestCustodian::new("c", true), TestCustodian::new("d", true));
    let ev2 = bootstrap_event(&c, &d);
    let e = refused(l.append_one(ev2.clone(), vec![c.approve(&ev2), d.approve(&ev2)]));
    assert!(
        e.to_string().contains("only while there are no custodians"),
        "{e}"
    );
}

#[test]
fn one_authenticator_cannot_be_two_bootstrap_custodians() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    drop(Ledger::create(&db, &dir.path().join("l.key"), "t").unwrap());
    let mut l = Station::open(&db, Some(&dir.path().join("l.key"))).unwrap();
    let a = TestCustodian::new("a", true);
    // The same key pair enrolled under two people (one physical key, two names).
    let b = a.same_key_as("b");
    let ev = bootstrap_event(&a, &b);
    let e = refused(l.append_one(ev.clone(), vec![a.approve(&ev), b.approve(&ev)]));
    assert!(e.to_string().contains("same credential"), "{e}");
}

#[test]
fn the_same_person_cannot_approve_twice() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), f.alice.approve(&ev)]),
    );
    assert!(approvals_detail(&e).contains("approved twice"), "{e}");
}

#[test]
fn an_approval_only_verifies_for_its_own_event() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    // Same content, different event id: approvals of one cannot serve the other.
    let twin = added_event(&carol);
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&twin), f.bob.approve(&ev)]),
    );
    assert!(approvals_detail(&e).contains("does not verify"), "{e}");
    assert_eq!(f.ledger.len(), 1);
}

#[test]
fn approvals_survive_a_concurrent_append() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    // Someone appends while the approvals are being gathered: this station's view is stale, so
    // it verifies the ledger again, judges the event against the new state, and appends it
    // after the other entry with the same approvals.
    let mut other = Station::open(&f.db(), None).unwrap();
    other.append_one(note("meanwhile"), vec![]).unwrap();
    let r = f.ledger.append_one(ev.clone(), ap.clone()).unwrap();
    assert_eq!(r.first_seq, 2);
    assert_eq!(f.ledger.len(), 3);
    // The new state is judged: the same approvals cannot land twice (a replay).
    let e = other.append_one(ev, ap).unwrap_err();
    assert!(e.to_string().contains("did not increase"), "{e}");
}

#[test]
fn removed_people_and_auditors_cannot_approve_custody_changes() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", false);
    let dave = TestCustodian::with_role("dave", true, Role::Auditor);
    for p in [&carol, &dave] {
        let ev = added_event(p);
        let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
        f.ledger.append_one(ev, ap).unwrap();
    }
    let ev = added_event(&TestCustodian::new("erin", true));
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), dave.approve(&ev)]),
    );
    assert!(approvals_detail(&e).contains("only custodians"), "{e}");

    let ev = removed_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    let removed_at = f.ledger.append_one(ev, ap).unwrap().first_seq;
    let ev = added_event(&TestCustodian::new("frank", true));
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), carol.approve(&ev)]),
    );
    assert!(
        approvals_detail(&e).contains(&format!("removed at entry {removed_at}")),
        "{e}"
    );
}

#[test]
fn nobody_approves_their_own_removal_and_two_custodians_always_remain() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append_one(ev, ap).unwrap();
    let ev = removed_event(&carol);
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), carol.approve(&ev)]),
    );
    assert!(approvals_detail(&e).contains("own removal"), "{e}");
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append_one(ev, ap).unwrap();
    // Two custodians left: removing one more would leave one, and could not be approved by two
    // others anyway.
    let ev = removed_event(&f.bob);
    let e = f.ledger.check(&[&ev]).unwrap_err();
    assert!(
        e.to_string().contains("would leave 1 active custodian"),
        "{e}"
    );
    let e = refused(f.ledger.append_one(ev.clone(), vec![f.alice.approve(&ev)]));
    assert!(e.to_string().contains("other than id-bob"), "{e}");
}

#[test]
fn an_id_differing_only_in_case_from_a_removed_one_is_refused() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append_one(ev, ap).unwrap();
    let ev = removed_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append_one(ev, ap).unwrap();
    let mut again = TestCustodian::new("carol2", true);
    again.id = "ID-Carol".into();
    let ev = added_event(&again);
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), f.bob.approve(&ev)]),
    );
    assert!(e.to_string().contains("is taken"), "{e}");
}

#[test]
fn assertions_must_be_for_the_custodian_rp_origin_with_touch_pin_and_a_rising_counter() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let c = ev.approval_challenge();
    let cases = [
        (
            "another RP",
            f.bob.assert_raw(&c, "evil.example", Flags::UP | Flags::UV),
        ),
        (
            "user presence",
            f.bob.assert_raw(&c, CUSTODIAN_RP_ID, Flags::UV),
        ),
        (
            "verify the user",
            f.bob.assert_raw(&c, CUSTODIAN_RP_ID, Flags::UP),
        ),
        (
            "origin",
            f.bob.assert_with(
                &c,
                CUSTODIAN_RP_ID,
                "https://evil.example",
                Flags::UP | Flags::UV,
            ),
        ),
    ];
    for (what, bad) in cases {
        let e = refused(
            f.ledger
                .append_one(ev.clone(), vec![f.alice.approve(&ev), bad]),
        );
        assert!(approvals_detail(&e).contains(what), "{what}: {e}");
    }
    let mut forged = f.bob.approve(&ev);
    forged.signature[10] ^= 1;
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), forged]),
    );
    assert!(approvals_detail(&e).contains("signature"), "{e}");
    // An approval made earlier (a lower counter) than one already recorded is a replay.
    let old = f.bob.approve(&ev);
    let newer = note("bob touches his key again");
    let ev2 = added_event(&TestCustodian::new("dora", true));
    let ap2 = vec![f.alice.approve(&ev2), f.bob.approve(&ev2)];
    f.ledger.append_one(ev2, ap2).unwrap();
    let _ = newer;
    let e = refused(
        f.ledger
            .append_one(ev.clone(), vec![f.alice.approve(&ev), old]),
    );
    assert!(approvals_detail(&e).contains("did not increase"), "{e}");
}

#[test]
fn unknown_kinds_and_missing_approvals_are_refused() {
    let mut f = fixture();
    let ev = UnsignedEvent::new("key.teleported", "x", serde_json::json!({})).unwrap();
    let e = refused(f.ledger.append_one(ev, vec![]));
    assert!(matches!(e, StateError::UnknownKind { .. }), "{e}");
    let ev = added_event(&TestCustodian::new("carol", true));
    let e = refused(f.ledger.append_one(ev.clone(), vec![f.alice.approve(&ev)]));
    assert!(
        approvals_detail(&e).contains("2 distinct custodians"),
        "{e}"
    );
}

#[test]
fn a_broken_ledger_is_neither_read_nor_appended_to() {
    let f = fixture();
    let db = f.db();
    drop(f.ledger);
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("UPDATE entries SET bytes = CAST(REPLACE(CAST(bytes AS TEXT), 'alice', 'alicf') AS BLOB) WHERE seq = 0", [])
        .unwrap();
    drop(c);
    for r in [
        Station::open(&db, None).map(|_| ()),
        Station::open_readonly(&db).map(|_| ()),
    ] {
        match r {
            Err(StationError::Broken(failure)) => assert_eq!(failure.seq, Some(0)),
            other => panic!("expected a broken ledger, got {other:?}"),
        }
    }
}

#[test]
fn an_edited_tree_state_is_refused_before_the_key_signs_over_it() {
    let f = fixture();
    let db = f.db();
    drop(f.ledger);
    // Someone without the signing key rewrites entry 0, its leaf hash and the frontier the
    // next append would build on, consistently with each other.
    let c = rusqlite::Connection::open(&db).unwrap();
    let forged = br#"{"approvals":[],"event":{"actor":"x","body":{"text":"forged"},"id":"00000000000000000000000000000000","kind":"note","time":"2026-01-01T00:00:00Z","v":1},"seq":0}"#;
    let leaf = tree::leaf_hash(forged);
    let mut cr = tree::CompactRange::new();
    cr.push(leaf);
    c.execute(
        "UPDATE entries SET bytes = ?1, leaf_hash = ?2, kind = 'note', event_id = '00000000000000000000000000000000' WHERE seq = 0",
        rusqlite::params![&forged[..], &leaf[..]],
    )
    .unwrap();
    c.execute(
        "UPDATE tree SET frontier = ?1 WHERE id = 1",
        rusqlite::params![cr.to_bytes()],
    )
    .unwrap();
    drop(c);
    let mut raw = Ledger::open(&db, None).unwrap();
    match raw.append(&note("after the edit"), vec![]) {
        Err(LedgerError::TreeState(why)) => assert!(why.contains("nothing was written"), "{why}"),
        other => panic!("expected a tree-state refusal, got {other:?}"),
    }
    assert_eq!(raw.len().unwrap(), 1);
}

#[test]
fn entry_times_may_not_run_backwards_or_into_the_future() {
    let mut f = fixture();
    let mut back = rootkey::ledger::Event {
        id: [9; 16],
        time: "2001-01-01T00:00:00Z".into(),
        kind: "note".into(),
        actor: "x".into(),
        body: serde_json::json!({"text": "back-dated"}),
    };
    let ev = UnsignedEvent::from_event(back.clone()).unwrap();
    match f.ledger.append_one(ev, vec![]) {
        Err(StationError::Ledger(LedgerError::Time(why))) => {
            assert!(why.contains("backwards"), "{why}")
        }
        other => panic!("expected a time refusal, got {other:?}"),
    }
    back.time = "2099-01-01T00:00:00Z".into();
    back.id = [8; 16];
    let ev = UnsignedEvent::from_event(back).unwrap();
    match f.ledger.append_one(ev, vec![]) {
        Err(StationError::Ledger(LedgerError::Time(why))) => {
            assert!(why.contains("future"), "{why}")
        }
        other => panic!("expected a time refusal, got {other:?}"),
    }
    assert_eq!(f.ledger.len(), 1);
}

#[test]
fn inclusion_and_consistency_proofs_verify_against_checkpoints() {
    let mut f = fixture();
    let mut checkpoints = Vec::new();
    for i in 0..12 {
        checkpoints.push(
            f.ledger
                .append_one(note(&format!("n{i}")), vec![])
                .unwrap()
                .checkpoint,
        );
    }
    let l = f.ledger.ledger();
    let latest = l.latest_checkpoint().unwrap();
    assert_eq!(latest.size, 13);
    for seq in 0..13 {
        let p = l.inclusion_proof(seq).unwrap();
        tree::verify_inclusion(seq, latest.size, &p.leaf_hash, &p.proof, &latest.root).unwrap();
    }
    for old in &checkpoints {
        let proof = l.consistency_proof(old.size, latest.size).unwrap();
        tree::verify_consistency(old.size, latest.size, &old.root, &latest.root, &proof).unwrap();
    }
}

#[test]
fn a_newer_schema_is_refused_and_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    drop(Ledger::create(&db, &dir.path().join("l.key"), "t").unwrap());
    let c = rusqlite::Connection::open(&db).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let e = Ledger::open_readonly(&db).unwrap_err();
    assert!(
        matches!(e, LedgerError::NewerSchema { found: 99, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("upgrade rootkey"));
    let e = Ledger::open(&db, None).unwrap_err();
    assert!(matches!(e, LedgerError::NewerSchema { .. }));
}

#[test]
fn a_compare_and_append_refuses_a_ledger_that_moved() {
    let f = fixture();
    let db = f.db();
    drop(f.ledger);
    let mut raw = Ledger::open(&db, None).unwrap();
    let len = raw.len().unwrap();
    // Someone else records something while our custodians are touching their keys.
    raw.append(&note("meanwhile"), vec![]).unwrap();
    let ours = note("ours");
    match raw.append_at(Some(len), &ours, vec![]) {
        Err(LedgerError::Moved { expected, found }) => {
            assert_eq!((expected, found), (len, len + 1));
        }
        other => panic!("expected Moved, got {other:?}"),
    }
    assert_eq!(raw.len().unwrap(), len + 1, "nothing written");
    match raw.append_batch_at(len, vec![(ours.clone(), vec![])]) {
        Err(LedgerError::Moved { .. }) => {}
        other => panic!("expected Moved, got {other:?}"),
    }
    // Against the current length it goes through.
    let r = raw.append_at(Some(len + 1), &ours, vec![]).unwrap();
    assert_eq!(r.seq, len + 1);
}
