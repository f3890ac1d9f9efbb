//! The ledger library: approval rules, registry, proofs, schema versions.

mod support;

use rootkey::ledger::{
    tree, Ledger, LedgerError, Role, RuleError, UnsignedEvent, VerifyOptions, CUSTODIAN_RP_ID,
};
use rootkey::webauthn::Flags;
use support::{added_event, bootstrap_event, note, removed_event, TestCustodian};

struct Fixture {
    _dir: tempfile::TempDir,
    ledger: Ledger,
    alice: TestCustodian,
    bob: TestCustodian,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let mut ledger = Ledger::create(&db, &Ledger::default_key_path(&db), "test/ledger").unwrap();
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);
    let ev = bootstrap_event(&alice, &bob);
    let approvals = vec![alice.approve(&ev), bob.approve(&ev)];
    ledger.append(&ev, approvals).unwrap();
    Fixture {
        _dir: dir,
        ledger,
        alice,
        bob,
    }
}

fn rejected(r: Result<rootkey::ledger::Receipt, LedgerError>) -> RuleError {
    match r {
        Err(LedgerError::Rejected(e)) => e,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn registry_follows_bootstrap_add_and_remove() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    f.ledger.append(&ev, ap).unwrap();
    let ev = removed_event(&carol);
    let ap = vec![f.alice.approve(&ev), carol.approve(&ev)];
    let r = f.ledger.append(&ev, ap).unwrap();

    let reg = f.ledger.custodians().unwrap();
    let c = reg.get("id-carol").unwrap();
    assert_eq!((c.added_seq, c.removed_seq), (1, Some(r.seq)));
    assert_eq!(c.public_key, carol.key);
    assert_eq!(reg.active().count(), 2);
    let report = f.ledger.verify(&VerifyOptions::default()).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.approvals_verified, 6);
}

#[test]
fn bootstrap_needs_both_people_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let mut l = Ledger::create(&db, &dir.path().join("l.key"), "t").unwrap();
    let (a, b) = (TestCustodian::new("a", true), TestCustodian::new("b", true));
    let ev = bootstrap_event(&a, &b);
    let e = rejected(l.append(&ev, vec![a.approve(&ev)]));
    assert_eq!(e, RuleError::TooFewApprovals { need: 2, got: 1 });
    assert_eq!(l.len().unwrap(), 0, "nothing written");
    l.append(&ev.clone(), vec![a.approve(&ev), b.approve(&ev)])
        .unwrap();
    let ev2 = bootstrap_event(
        &TestCustodian::new("c", true),
        &TestCustodian::new("d", true),
    );
    assert_eq!(
        rejected(l.append(&ev2, vec![])),
        RuleError::AlreadyBootstrapped
    );
}

#[test]
fn the_same_person_cannot_approve_twice() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let e = rejected(
        f.ledger
            .append(&ev, vec![f.alice.approve(&ev), f.alice.approve(&ev)]),
    );
    assert_eq!(e, RuleError::DuplicateApprover("alice".into()));
}

#[test]
fn an_approval_only_verifies_for_its_own_event() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", true);
    let ev = added_event(&carol);
    // Same content, different event id: approvals of one cannot serve the other.
    let twin = added_event(&carol);
    let e = rejected(
        f.ledger
            .append(&ev, vec![f.alice.approve(&twin), f.bob.approve(&ev)]),
    );
    assert!(
        matches!(&e, RuleError::BadApproval { name, .. } if name == "alice"),
        "{e}"
    );
    assert!(e.to_string().contains("does not verify for this event"));
    assert_eq!(f.ledger.len().unwrap(), 1);
}

#[test]
fn approvals_survive_a_concurrent_append() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    // Someone appends while the approvals are being gathered.
    f.ledger.append(&note("meanwhile"), vec![]).unwrap();
    let r = f.ledger.append(&ev, ap).unwrap();
    assert_eq!(r.seq, 2);
}

#[test]
fn removed_people_and_auditors_cannot_approve() {
    let mut f = fixture();
    let carol = TestCustodian::new("carol", false);
    let dave = TestCustodian::with_role("dave", true, Role::Auditor);
    for p in [&carol, &dave] {
        let ev = added_event(p);
        let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
        f.ledger.append(&ev, ap).unwrap();
    }
    let ev = added_event(&TestCustodian::new("erin", true));
    let e = rejected(
        f.ledger
            .append(&ev, vec![f.alice.approve(&ev), dave.approve(&ev)]),
    );
    assert_eq!(e, RuleError::AuditorApprover("dave".into()));

    let ev = removed_event(&carol);
    let ap = vec![f.alice.approve(&ev), f.bob.approve(&ev)];
    let removed_at = f.ledger.append(&ev, ap).unwrap().seq;
    let ev = added_event(&TestCustodian::new("frank", true));
    let e = rejected(
        f.ledger
            .append(&ev, vec![f.alice.approve(&ev), carol.approve(&ev)]),
    );
    assert_eq!(
        e,
        RuleError::RemovedApprover {
            name: "carol".into(),
            removed_seq: removed_at
        }
    );
}

#[test]
fn assertions_must_be_for_the_custodian_rp_with_user_presence() {
    let mut f = fixture();
    let ev = added_event(&TestCustodian::new("carol", true));
    let c = ev.approval_challenge();
    let wrong_rp = f.bob.assert_raw(&c, "evil.example", Flags::UP);
    let e = rejected(f.ledger.append(&ev, vec![f.alice.approve(&ev), wrong_rp]));
    assert!(e.to_string().contains("another RP"), "{e}");
    let no_up = f.bob.assert_raw(&c, CUSTODIAN_RP_ID, 0);
    let e = rejected(f.ledger.append(&ev, vec![f.alice.approve(&ev), no_up]));
    assert!(e.to_string().contains("user presence"), "{e}");
    let mut forged = f.bob.approve(&ev);
    forged.signature[10] ^= 1;
    let e = rejected(f.ledger.append(&ev, vec![f.alice.approve(&ev), forged]));
    assert!(matches!(e, RuleError::BadApproval { .. }), "{e}");
}

#[test]
fn unknown_kinds_and_missing_approvals_are_refused() {
    let mut f = fixture();
    let ev = UnsignedEvent::new("key.teleported", "x", serde_json::json!({})).unwrap();
    assert_eq!(
        rejected(f.ledger.append(&ev, vec![])),
        RuleError::UnknownKind("key.teleported".into())
    );
    let ev = added_event(&TestCustodian::new("carol", true));
    assert_eq!(
        rejected(f.ledger.append(&ev, vec![f.alice.approve(&ev)])),
        RuleError::TooFewApprovals { need: 2, got: 1 }
    );
}

#[test]
fn inclusion_and_consistency_proofs_verify_against_checkpoints() {
    let mut f = fixture();
    let mut checkpoints = Vec::new();
    for i in 0..12 {
        checkpoints.push(
            f.ledger
                .append(&note(&format!("n{i}")), vec![])
                .unwrap()
                .checkpoint,
        );
    }
    let latest = f.ledger.latest_checkpoint().unwrap();
    assert_eq!(latest.size, 13);
    for seq in 0..13 {
        let p = f.ledger.inclusion_proof(seq).unwrap();
        tree::verify_inclusion(seq, latest.size, &p.leaf_hash, &p.proof, &latest.root).unwrap();
    }
    for old in &checkpoints {
        let proof = f.ledger.consistency_proof(old.size, latest.size).unwrap();
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
    let mut f = fixture();
    let len = f.ledger.len().unwrap();
    // Someone else records something while our custodians are touching their keys.
    f.ledger.append(&note("meanwhile"), vec![]).unwrap();
    let ours = note("ours");
    match f.ledger.append_at(Some(len), &ours, vec![]) {
        Err(LedgerError::Moved { expected, found }) => {
            assert_eq!((expected, found), (len, len + 1));
        }
        other => panic!("expected Moved, got {other:?}"),
    }
    assert_eq!(f.ledger.len().unwrap(), len + 1, "nothing written");
    match f.ledger.append_batch_at(len, vec![(ours.clone(), vec![])]) {
        Err(LedgerError::Moved { .. }) => {}
        other => panic!("expected Moved, got {other:?}"),
    }
    // Against the current length it goes through.
    let r = f.ledger.append_at(Some(len + 1), &ours, vec![]).unwrap();
    assert_eq!(r.seq, len + 1);
}
