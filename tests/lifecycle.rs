//! Years of custody through the real binary: a key moves site, a key is lost while checked out,
//! a custodian replaces their key, an account leaves scope; every refusal the lifecycle has,
//! and the audit's view of each step.

mod station;

use serde_json::Value;
use station::*;

fn enrolled(s: &Station) -> Vec<Value> {
    let o = s.run(&["--json", "keys", "enrolled"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn key<'a>(keys: &'a [Value], id: &str) -> &'a Value {
    keys.iter().find(|k| k["key_id"] == id).unwrap()
}

fn move_key(
    s: &Station,
    id: &str,
    device: &str,
    to: &str,
    bag: &str,
    who: &str,
) -> std::process::Output {
    s.run(&[
        "--device",
        &s.soft(device),
        "keys",
        "move",
        "--key",
        id,
        "--to",
        to,
        "--bag",
        bag,
        "--reason",
        "office closing",
        "--custodians",
        who,
    ])
}

fn retire(s: &Station, id: &str, reason: &str, who: &str) -> std::process::Output {
    s.run(&[
        "keys",
        "retire",
        "--key",
        id,
        "--reason",
        reason,
        "--note",
        "left in a taxi, reported INC-88",
        "--custodians",
        who,
    ])
}

#[test]
fn a_key_moves_site_proving_itself_and_never_next_to_its_twin() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let before = s.len();
    // To where the primary is (spelled differently): refused.
    let o = move_key(&s, &b, "k2.json", "safe a - DUBLIN", "B20", "alice,bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same location"), "{}", stderr(&o));
    // One person twice: refused before the key is touched.
    let o = move_key(&s, &b, "k2.json", "Vault 9, Berlin", "B20", "alice,alice");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("named twice"), "{}", stderr(&o));
    // The wrong key in hand cannot answer for the backup.
    let o = move_key(&s, &b, "k1.json", "Vault 9, Berlin", "B20", "alice,bob");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("possession proof"), "{}", stderr(&o));
    // Into a used bag: refused.
    let o = move_key(&s, &b, "k2.json", "Vault 9, Berlin", "b-1", "alice,bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already"), "{}", stderr(&o));
    assert_eq!(s.len(), before);

    let o = move_key(&s, &b, "k2.json", "Vault 9, Berlin", "B20", "alice,bob");
    assert!(o.status.success(), "{}", stderr(&o));
    let keys = enrolled(&s);
    let k = key(&keys, &b);
    assert_eq!(k["location"], "Vault 9, Berlin");
    assert_eq!(k["bag_serial"], "B20");
    let history: Vec<&str> = k["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["key.enrolled", "key.registration_confirmed", "key.moved"]
    );
    let _ = p;
    s.verifies();
}

#[test]
fn a_key_lost_while_checked_out_closes_its_checkout_and_is_an_incident() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    assert!(checkout(&s, &p, "alice", "bob").status.success());
    let before = s.len();
    // One person cannot retire a key.
    let o = retire(&s, &p, "lost", "alice,alice");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(s.len(), before);
    let o = retire(&s, &p, "lost", "alice,bob");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("RETIRED-KEY-STILL-ON-ROOT") && stdout(&o).contains("incident"),
        "the next steps say what to do in the console: {}",
        stdout(&o)
    );
    // A retired key is never checked out (or retired) again.
    let o = checkout(&s, &p, "alice", "bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("retired"), "{}", stderr(&o));
    assert_eq!(
        retire(&s, &p, "destroyed", "alice,bob").status.code(),
        Some(2)
    );
    // AWS still shows its device: a high finding with the console step; the lost key is an
    // incident in its own section; the checkout is closed, so never overdue.
    let ev = s.evidence("aws.json", &[Station::serial(&p), Station::serial(&b)]);
    let o = s.run(&[
        "--json",
        "audit",
        "--evidence-in",
        &ev,
        "--vkey",
        &s.vkey(),
        "--no-record",
    ]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"RETIRED-KEY-STILL-ON-ROOT"), "{codes:?}");
    assert!(codes.contains(&"KEY-INCIDENT"), "{codes:?}");
    assert!(!codes.contains(&"KEY-CHECKIN-OVERDUE"), "{codes:?}");
    assert!(!codes.contains(&"KEY-CHECKED-OUT"), "{codes:?}");
    assert_eq!(r["incidents"][0]["key_id"], p.as_str());
    assert_eq!(r["incidents"][0]["reason"], "lost");
    let md = s.run(&[
        "audit",
        "--evidence-in",
        &ev,
        "--vkey",
        &s.vkey(),
        "--no-record",
        "--format",
        "md",
    ]);
    assert!(
        stdout(&md).contains("## Incidents: keys lost or compromised"),
        "{}",
        stdout(&md)
    );
    s.verifies();
}

#[test]
fn a_custodian_rotates_their_key_and_the_old_one_stops_approving() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    assert!(s.cmd_add("carol", "Carol Diaz").status.success());
    s.with_pin("carol-new.json");
    let rotate = |device: &str, approvers: &str| {
        s.run(&[
            "--device",
            &s.soft(device),
            "custodian",
            "rotate",
            "--id",
            "carol",
            "--reason",
            "upgraded to a newer key",
            "--approvers",
            approvers,
        ])
    };
    let before = s.len();
    // Rotating to a key that is another custodian's, or a root key: refused.
    for taken in ["alice.json", "k1.json"] {
        let o = rotate(taken, "carol");
        assert_eq!(o.status.code(), Some(2), "{taken}");
        assert!(stderr(&o).contains("already holds"), "{}", stderr(&o));
    }
    // One other custodian is not enough without carol.
    let o = rotate("carol-new.json", "alice");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(s.len(), before);
    // Nobody approves their own removal (refused before any key is touched).
    let o = s.run(&["custodian", "remove", "carol", "--approvers", "carol,alice"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("own removal"), "{}", stderr(&o));
    // Carol approves her successor key with the old one.
    let o = rotate("carol-new.json", "carol");
    assert!(o.status.success(), "{}", stderr(&o));
    // Her old key no longer approves: the checkout asks for the credential it does not hold.
    let o = checkout(&s, &p, "alice", "carol");
    assert_eq!(o.status.code(), Some(2));
    // With the new key it does.
    let o = s.run(&[
        "checkout",
        "--key",
        &p,
        "--reason",
        "r",
        "--ticket",
        "T-9",
        "--window",
        "1h",
        "--requester",
        "alice",
        "--approver",
        "carol",
        "--custodian-device",
        &format!("carol={}", s.soft("carol-new.json")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    s.verifies();
}

#[test]
fn an_account_leaves_scope_only_once_its_keys_are_retired() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let close = || {
        s.run(&[
            "account",
            "close",
            "--account",
            ACCT,
            "--reason",
            "closed",
            "--note",
            "account closed, ticket ACC-12",
            "--custodians",
            "alice,bob",
        ])
    };
    let o = close();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("retire it"), "{}", stderr(&o));
    for k in [&p, &b] {
        assert!(retire(&s, k, "destroyed", "alice,bob").status.success());
    }
    let o = close();
    assert!(o.status.success(), "{}", stderr(&o));
    // Later audits no longer expect it.
    let ev = s.evidence("aws.json", &[]);
    let o = s.run(&[
        "--json",
        "audit",
        "--evidence-in",
        &ev,
        "--vkey",
        &s.vkey(),
        "--no-record",
    ]);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        r["accounts"].as_array().unwrap().is_empty(),
        "{}",
        r["accounts"]
    );
    s.verifies();
}

#[test]
fn a_key_is_replaced_and_retired_only_once_aws_shows_its_successor() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let replace = |device: &str, bag: &str| {
        let before = s.evidence(
            "before-replace.json",
            &[Station::serial(&p), Station::serial(&b)],
        );
        s.run(&[
            "enroll",
            "--account",
            ACCT,
            "--replace",
            &b,
            "--backup",
            &s.soft(device),
            "--location-backup",
            "Vault 5, Galway",
            "--bag-backup",
            bag,
            "--custodians",
            "alice,bob",
            "--roots",
            &s.dir.path().display().to_string(),
            "--policy",
            &s.path("policy.toml").display().to_string(),
            "--evidence-in",
            &before,
            "--json",
        ])
    };
    let before = s.len();
    // A key already in custody cannot be the successor.
    let o = replace("k1.json", "B50");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("already holds root key"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before);
    s.new_key("k3.json");
    let o = replace("k3.json", "B50");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let new = v["keys"][0]["key_id"].as_str().unwrap().to_string();
    // The old key stays in custody until AWS shows the successor.
    let keys = enrolled(&s);
    assert_eq!(key(&keys, &b)["status"], "in_safe");
    // Retiring it as "replaced" before then is refused by the rules.
    let o = retire(&s, &b, "replaced", "alice,bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no successor of it is confirmed"),
        "{}",
        stderr(&o)
    );
    // AWS shows the successor: its confirmation and the old key's retirement land together.
    let o = s.confirm(&[
        Station::serial(&p),
        Station::serial(&b),
        Station::serial(&new),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys = enrolled(&s);
    assert_eq!(key(&keys, &b)["status"], "retired");
    assert_eq!(key(&keys, &new)["status"], "in_safe");
    assert!(key(&keys, &new)["serial_arn"].is_string());
    s.verifies();
}
