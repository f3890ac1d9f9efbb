//! The insider attacks of the threat model, each tried through the real binary: one person
//! acting as two custodians, keys changing purpose, software keys passing for hardware, audits
//! nobody approved, a database edited without the signing key, a history re-signed with it,
//! look-alike bag serials and hostile text. Each is refused at the step where it is attempted
//! or, for edits made outside rootkey, caught by `ledger verify` and by the audit.

mod station;

use rootkey::custody::dual_control::APPROVAL_ORIGIN;
use rootkey::custody::CUSTODIAN_RP_ID;
use rootkey::device::soft::SoftAuthenticator;
use rootkey::device::{Authenticator, GetAssertion};
use rootkey::ledger::{
    canonical, checkpoint::Signer, tree, Approval, Event, Ledger, UnsignedEvent,
};
use rootkey::webauthn::{b64url_decode, client_data::TYPE_GET, ClientData};
use serde_json::{json, Value};
use station::*;

/// An approval of `event` by `who` (alice, bob, ...) with their soft key and PIN, made the way
/// `rootkey` makes one: what a custodian who cooperates with a forger can produce.
fn approval(s: &Station, who: &str, event: &UnsignedEvent) -> Approval {
    let people: Value =
        serde_json::from_slice(&s.run(&["--json", "custodian", "list"]).stdout).unwrap();
    let me = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == who)
        .unwrap();
    let cred = b64url_decode(me["credential_id"].as_str().unwrap()).unwrap();
    let mut key = SoftAuthenticator::open(&s.path(&format!("{who}.json"))).unwrap();
    let client_data = ClientData::json(TYPE_GET, &event.approval_challenge(), APPROVAL_ORIGIN);
    let a = key
        .get_assertion(&GetAssertion {
            rp_id: CUSTODIAN_RP_ID.into(),
            client_data: client_data.clone(),
            allow_credentials: vec![cred.clone()],
            pin: Some(PIN.into()),
            user_presence: true,
        })
        .unwrap();
    Approval {
        custodian_id: who.into(),
        credential_id: cred,
        authenticator_data: a.authenticator_data,
        client_data_json: client_data,
        signature: a.signature,
    }
}

/// A possession proof that proves nothing: the rules tried here refuse the event before the
/// proof is looked at (a forger would not get further with a real one).
static PLACEHOLDER_PROOF: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({"challenge": "AA", "authenticator_data": "AA", "client_data_json": "AA",
           "signature": "AA", "counter": 0})
});

/// An event stamped now, as a forger holding the signing key would write it.
fn event(kind: &str, body: Value) -> UnsignedEvent {
    UnsignedEvent::new(kind, "mallory", body).unwrap()
}

/// Appends with the signing key, bypassing every custody rule: what the key holder can do.
fn force(s: &Station, ev: &UnsignedEvent, approvals: Vec<Approval>) -> u64 {
    let mut l = Ledger::open(&s.path("ledger.db"), None).unwrap();
    l.append(ev, approvals).unwrap().seq
}

/// `ledger verify --vkey` with the auditor's recorded key: (exit code, stdout + stderr).
fn verify(s: &Station, vkey: &str) -> (Option<i32>, String) {
    let o = s.run(&["ledger", "verify", "--vkey", vkey]);
    (o.status.code(), stdout(&o) + &stderr(&o))
}

/// The audit's verdict and ledger problems, read-only, with the auditor's key.
fn audit(s: &Station, vkey: &str, evidence: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "--json",
        "audit",
        "--evidence-in",
        evidence,
        "--vkey",
        vkey,
        "--no-record",
    ];
    args.extend_from_slice(extra);
    let o = s.run(&args);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)))
}

#[test]
fn one_authenticator_cannot_be_two_custodians() {
    let s = Station::empty();
    s.with_pin("shared.json");
    let shared = s.soft("shared.json");
    let o = s.run(&[
        "custodian",
        "bootstrap",
        "--first",
        "alice",
        "--first-name",
        "Alice Martin",
        "--second",
        "bob",
        "--second-name",
        "Bob Okafor",
        "--custodian-device",
        &format!("alice={shared}"),
        "--custodian-device",
        &format!("bob={shared}"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "custodian bob: this key already holds the custodian key alice just enrolled"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), 0, "nothing written");
}

#[test]
fn a_custodian_key_never_guards_root_and_a_root_key_never_approves() {
    let s = Station::new();
    let mut args = s.enroll_args("Cork", &[]);
    let i = args.iter().position(|a| a == "--primary").unwrap();
    args[i + 1] = s.soft("alice.json");
    let o = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("primary: this key already holds the custodian key of alice (Alice Martin)"),
        "{}",
        stderr(&o)
    );
    let (p, _) = s.onboarded();
    let before = s.len();
    let o = s.run(&[
        "--device",
        &s.soft("k1.json"),
        "custodian",
        "add",
        "carol",
        "--name",
        "Carol Diaz",
        "--approvers",
        "alice,bob",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("this key already holds root key {p}")),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before);
}

#[test]
fn custodian_keys_are_attested_and_software_ones_are_named_everywhere() {
    // Under a custodian policy that does not allow software keys, a soft key is refused.
    let s = Station::empty();
    std::fs::write(
        s.path("strict.toml"),
        "allow_software = true\n\n[custodian]\n",
    )
    .unwrap();
    let o = s
        .cmd()
        .args(["--pin-env", "ROOTKEY_TEST_PIN", "custodian", "bootstrap"])
        .args(["--first", "alice", "--first-name", "Alice Martin"])
        .args(["--second", "bob", "--second-name", "Bob Okafor"])
        .arg("--roots")
        .arg(s.dir.path())
        .arg("--policy")
        .arg(s.path("strict.toml"))
        .arg("--custodian-device")
        .arg(format!("alice={}", s.soft("alice.json")))
        .arg("--custodian-device")
        .arg(format!("bob={}", s.soft("bob.json")))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("custodian alice key refused") && stderr(&o).contains("NOT HARDWARE"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), 0);

    // Allowed explicitly (the test policy), it is marked in the listing, in approvals and
    // as an audit finding.
    let s = Station::new();
    let list = stdout(&s.run(&["custodian", "list"]));
    assert!(list.contains("SOFTWARE"), "{list}");
    let show = stdout(&s.run(&["ledger", "show"]));
    assert!(show.contains("Alice Martin (SOFTWARE key)"), "{show}");
    let (p, b) = s.onboarded();
    let ev = s.evidence("aws.json", &[Station::serial(&p), Station::serial(&b)]);
    let r = audit(&s, &s.vkey(), &ev, &[]);
    let custodians: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "CUSTODIAN-KEY-SOFTWARE")
        .collect();
    assert_eq!(custodians.len(), 2, "{r}");
    assert_eq!(
        r["kpis"]["accounts_two_hardware_keys_no_virtual"]["numerator"], 0,
        "software root keys are not hardware"
    );
}

#[test]
fn an_audit_counts_only_when_approved_and_never_moves_the_period_past_its_anchor() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let vkey = s.vkey();
    let saved = s.path("auditor.checkpoint");
    assert!(s
        .run(&["ledger", "checkpoint", "--out", saved.to_str().unwrap()])
        .status
        .success());
    // A root sign-in three days ago that no checkout explains.
    let serials = [Station::serial(&p), Station::serial(&b)];
    let real = s.evidence("aws.json", &serials);
    let mut text: Value = serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    let when = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    text["accounts"][0]["posture"]["logins"] = json!([{
        "time": rootkey::report::fmt_time(when), "source_ip": "192.0.2.66", "mfa_used": true,
        "success": true, "region": "us-east-1", "event_id": "evil"}]);
    std::fs::write(&real, text.to_string()).unwrap();
    let doctored = s.evidence("doctored.json", &serials);

    // Anyone who can write the ledger folder runs an audit on doctored evidence: without an
    // approval it is not recorded.
    let before = s.len();
    let o = s.run(&["audit", "--evidence-in", &doctored, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "unanchored: {}", stderr(&o));
    assert!(
        stderr(&o).contains("not recorded in the ledger"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.len(), before);
    // Two custodians can record one; it still cannot hide the sign-in from the auditor, whose
    // default period starts at the last audit before their saved checkpoint (here: 90 days).
    let o = s.run(&[
        "audit",
        "--evidence-in",
        &doctored,
        "--approvers",
        "alice,bob",
        "--format",
        "json",
    ]);
    assert!(
        stderr(&o).contains("recorded as ledger entry"),
        "{}",
        stderr(&o)
    );
    let r = audit(
        &s,
        &vkey,
        &real,
        &["--since-checkpoint", saved.to_str().unwrap()],
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "ROOT-LOGIN-UNEXPLAINED"),
        "{r}"
    );

    // A hand-made audit.completed (no approval, a period ending in 2099) fails verification.
    let forged = event(
        "audit.completed",
        json!({"report_sha256": "0".repeat(64), "format": "json", "checkpoint": "x",
               "period_start": "2026-01-01T00:00:00Z", "period_end": "2099-01-01T00:00:00Z",
               "verdict": "pass", "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
               "findings": [], "accounts": []}),
    );
    let seq = force(&s, &forged, vec![]);
    let (code, out) = verify(&s, &vkey);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("entry {seq}")) && out.contains("an audit counts only when"),
        "{out}"
    );
    let r = audit(&s, &vkey, &real, &[]);
    assert_eq!(r["verdict"], "fail");
    assert!(r["ledger"]["problems"]
        .to_string()
        .contains("an audit counts only when"));
}

#[test]
fn an_approved_audit_of_the_future_is_refused_by_the_fold() {
    let s = Station::new();
    let forged = event(
        "audit.completed",
        json!({"report_sha256": "0".repeat(64), "format": "json", "checkpoint": "x",
               "period_start": "2026-01-01T00:00:00Z", "period_end": "2099-01-01T00:00:00Z",
               "verdict": "pass", "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
               "findings": [], "accounts": []}),
    );
    let approvals = vec![approval(&s, "alice", &forged), approval(&s, "bob", &forged)];
    let seq = force(&s, &forged, approvals);
    let (code, out) = verify(&s, &s.vkey());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("entry {seq}")) && out.contains("cannot cover the future"),
        "{out}"
    );
}

/// Rewrites entry `seq` as someone with write access but no signing key would: canonical
/// bytes, a matching leaf hash, and a frontier recomputed over the edited entries.
fn edit_without_key(s: &Station, seq: u64, edit: impl Fn(&mut Value)) {
    let c = rusqlite::Connection::open(s.path("ledger.db")).unwrap();
    let bytes: Vec<u8> = c
        .query_row(
            "SELECT bytes FROM entries WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
    edit(&mut v);
    let bytes = canonical::to_vec(&v).unwrap();
    c.execute(
        "UPDATE entries SET bytes = ?1, leaf_hash = ?2 WHERE seq = ?3",
        rusqlite::params![bytes, &tree::leaf_hash(&bytes)[..], seq as i64],
    )
    .unwrap();
    let mut cr = tree::CompactRange::new();
    let mut stmt = c
        .prepare("SELECT leaf_hash FROM entries ORDER BY seq")
        .unwrap();
    for h in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
        cr.push(h.unwrap().try_into().unwrap());
    }
    c.execute(
        "UPDATE tree SET frontier = ?1",
        rusqlite::params![cr.to_bytes()],
    )
    .unwrap();
}

#[test]
fn an_edit_without_the_signing_key_is_never_built_upon_and_is_named() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let vkey = s.vkey();
    let before = s.len();
    // Move the primary key's recorded location next to the backup's.
    edit_without_key(&s, 1, |v| {
        v["event"]["body"]["location"] = json!("Deposit box 114, Cork");
    });
    for args in [
        vec!["ledger", "note", "--actor", "operator", "after the edit"],
        vec!["keys", "enrolled"],
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("failed verification"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = checkout(&s, &p, "alice", "bob");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("failed verification"), "{}", stderr(&o));
    assert_eq!(s.len(), before, "nothing appended to a broken ledger");
    let (code, out) = verify(&s, &vkey);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED: entry 1"), "{out}");
}

/// What the holder of the signing key can do: rebuild the tree over `entries` and sign it.
fn resign(s: &Station, keep: impl Fn(u64) -> bool, edit: impl Fn(u64, &mut Value)) {
    let db = s.path("ledger.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(i64, Vec<u8>)> = c
        .prepare("SELECT seq, bytes FROM entries ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    c.execute("DELETE FROM entries", []).unwrap();
    let mut cr = tree::CompactRange::new();
    for (seq, bytes) in rows {
        if !keep(seq as u64) {
            continue;
        }
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        v["seq"] = json!(cr.size());
        edit(seq as u64, &mut v);
        let bytes = canonical::to_vec(&v).unwrap();
        let leaf = tree::leaf_hash(&bytes);
        c.execute(
            "INSERT INTO entries (seq, event_id, kind, leaf_hash, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                cr.size() as i64,
                v["event"]["id"].as_str().unwrap(),
                v["event"]["kind"].as_str().unwrap(),
                &leaf[..],
                bytes
            ],
        )
        .unwrap();
        cr.push(leaf);
    }
    let pkcs8 = std::fs::read(Ledger::default_key_path(&db)).unwrap();
    let cp = Signer::from_pkcs8("test.example/custody", &pkcs8)
        .unwrap()
        .sign(cr.size(), &cr.root());
    c.execute(
        "UPDATE tree SET frontier = ?1, checkpoint = ?2",
        rusqlite::params![cr.to_bytes(), cp.note],
    )
    .unwrap();
}

#[test]
fn the_key_holder_can_rewrite_what_only_the_verifier_key_anchors_and_says_so() {
    let s = Station::new();
    s.onboarded();
    for text in ["one", "two"] {
        assert!(s
            .run(&["ledger", "note", "--actor", "operator", text])
            .status
            .success());
    }
    let vkey = s.vkey();
    let saved = s.path("auditor.checkpoint");
    assert!(s
        .run(&["ledger", "checkpoint", "--out", saved.to_str().unwrap()])
        .status
        .success());
    let last = s.len() as u64 - 1;
    // Drop the last note and re-sign: the verifier key alone cannot tell, and says so.
    resign(&s, |seq| seq != last, |_, _| {});
    let o = s.run(&["ledger", "verify", "--vkey", &vkey]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("could have dropped, reordered or rewritten entries"),
        "{}",
        stderr(&o)
    );
    // The auditor's saved checkpoint exposes it.
    let o = s.run(&[
        "ledger",
        "verify",
        "--since-checkpoint",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("rolled back"), "{}", stdout(&o));
    // Back-dating an entry before the one it follows is caught even with the key alone.
    resign(
        &s,
        |_| true,
        |seq, v| {
            if seq == 3 {
                v["event"]["time"] = json!("2001-01-01T00:00:00Z");
            }
        },
    );
    let (code, out) = verify(&s, &vkey);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("entry 3") && out.contains("run backwards"),
        "{out}"
    );
}

#[test]
fn ledger_verify_is_as_strict_as_the_audit_and_the_flows() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    let vkey = s.vkey();
    let serials = [Station::serial(&p), Station::serial(&b)];
    let evidence = s.evidence("aws.json", &serials);
    // The flow refuses to move the backup next to the primary...
    let moved = event(
        "key.moved",
        json!({"key_id": b, "account_id": ACCT, "from_location": "Deposit box 114, Cork",
               "to_location": "SAFE A - Dublin", "reason": "consolidate", "bag_serial": "B30",
               "proof": PLACEHOLDER_PROOF.clone()}),
    );
    // ...and a forger with the key and both custodians' real approvals writes it anyway.
    let approvals = vec![approval(&s, "alice", &moved), approval(&s, "bob", &moved)];
    let seq = force(&s, &moved, approvals);
    let (code, out) = verify(&s, &vkey);
    assert_eq!(code, Some(1), "{out}");
    let rule = "would be stored at the same location";
    assert!(
        out.contains(&format!("entry {seq}")) && out.contains(rule),
        "{out}"
    );
    let r = audit(&s, &vkey, &evidence, &[]);
    assert_eq!(r["verdict"], "fail");
    assert!(r["ledger"]["problems"].to_string().contains(rule), "{r}");
}

#[test]
fn a_used_bag_is_refused_however_its_serial_is_spelled() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let o = checkout(&s, &p, "alice", "bob");
    assert!(o.status.success(), "{}", stderr(&o));
    let before = s.len();
    // B1 (the bag just broken) and B2 (the backup's), spelled other ways.
    for bag in ["b1", "B\u{2010}1", "Ｂ２", " b-2 "] {
        let o = s.run(&[
            "--device",
            &s.soft("k1.json"),
            "checkin",
            "--key",
            &p,
            "--bag",
            bag,
            "--custodians",
            "alice,bob",
        ]);
        assert_eq!(o.status.code(), Some(2), "{bag:?}");
        assert!(
            stderr(&o).contains("already been used"),
            "{bag:?}: {}",
            stderr(&o)
        );
    }
    // Invisible characters are refused outright.
    let o = s.run(&[
        "--device",
        &s.soft("k1.json"),
        "checkin",
        "--key",
        &p,
        "--bag",
        "B9\u{200b}",
        "--custodians",
        "alice,bob",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("U+200B"), "{}", stderr(&o));
    assert_eq!(s.len(), before);
}

#[test]
fn hostile_text_and_case_twins_are_refused_and_never_printed_raw() {
    let s = Station::new();
    let before = s.len();
    for (id, name) in [
        ("carol", "Carol\u{1b}[2J"),
        ("carol", "Carol\nalice> approve"),
        ("carol", "Carol \u{202e}lortnoc"),
        ("ALICE", "Alice Again"),
        ("car\u{430}l", "Cyrillic a"),
    ] {
        let o = s.run(&[
            "--device",
            &s.soft("carol.json"),
            "custodian",
            "add",
            id,
            "--name",
            name,
            "--approvers",
            "alice,bob",
        ]);
        assert_eq!(o.status.code(), Some(2), "{id:?} {name:?}: {}", stderr(&o));
        for raw in ['\u{1b}', '\u{202e}'] {
            assert!(
                !stderr(&o).contains(raw),
                "raw {raw:?} printed: {}",
                stderr(&o)
            );
        }
    }
    assert_eq!(s.len(), before);
    let (p, _) = s.onboarded();
    let before = s.len();
    let o = s.run(&[
        "checkout",
        "--key",
        &p,
        "--reason",
        "fix\nthings",
        "--ticket",
        "CHG-1",
        "--window",
        "4h",
        "--requester",
        "alice",
        "--approver",
        "bob",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(s.len(), before);
}

#[test]
fn a_window_longer_than_break_glass_or_back_dated_never_enters_the_ledger() {
    let s = Station::new();
    let (p, _) = s.onboarded();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    for (start, end, rule) in [
        (
            now,
            now + time::Duration::days(30),
            "outside 5 minutes .. 7 days",
        ),
        (
            now - time::Duration::days(2),
            now - time::Duration::days(1),
            "cannot be back- or forward-dated",
        ),
    ] {
        let forged = Event {
            id: rand_id(),
            time: rootkey::report::fmt_time(now),
            kind: "key.checked_out".into(),
            actor: "mallory".into(),
            body: json!({"key_id": p, "account_id": ACCT, "reason": "r", "ticket": "T-1",
                         "window_start": rootkey::report::fmt_time(start),
                         "window_end": rootkey::report::fmt_time(end),
                         "requester": "alice", "approver": "bob", "bag_broken": "B1"}),
        };
        let ev = UnsignedEvent::from_event(forged).unwrap();
        let approvals = vec![approval(&s, "alice", &ev), approval(&s, "bob", &ev)];
        let station = rootkey::custody::Station::open(&s.path("ledger.db"), None).unwrap();
        let refused = station.check(&[&ev]).unwrap_err().to_string();
        assert!(refused.contains(rule), "{refused}");
        drop(station);
        let c = rusqlite::Connection::open(s.path("ledger.db")).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        drop(c);
        let seq = force(&s, &ev, approvals);
        assert_eq!(seq as i64, n);
        let (code, out) = verify(&s, &s.vkey());
        assert_eq!(code, Some(1), "{out}");
        assert!(
            out.contains(rule),
            "the fold and the flow say the same: {out}"
        );
        // Undo, for the next case.
        resign(&s, |q| q != seq, |_, _| {});
    }
}

fn rand_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    id
}

/// The one-authority check for one rule: the custody state refuses `event` before approval
/// (what the flows ask), and the same event written in by the key holder with both custodians'
/// real approvals makes `ledger verify` fail naming the entry and the same rule.
fn fold_and_verify_agree(s: &Station, event: &UnsignedEvent, approvers: &[&str], rule: &str) {
    let station = rootkey::custody::Station::open(&s.path("ledger.db"), None).unwrap();
    let refused = station.check(&[event]).unwrap_err().to_string();
    assert!(refused.contains(rule), "the flows' check: {refused}");
    drop(station);
    let approvals = approvers.iter().map(|w| approval(s, w, event)).collect();
    let seq = force(s, event, approvals);
    let (code, out) = verify(s, &s.vkey());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAILED: entry {seq}")) && out.contains(rule),
        "ledger verify must name entry {seq} and the rule {rule:?}: {out}"
    );
    resign(s, |q| q != seq, |_, _| {});
    let (code, out) = verify(s, &s.vkey());
    assert_eq!(code, Some(0), "undone: {out}");
}

#[test]
fn every_break_glass_and_enrollment_rule_is_one_rule_for_flows_and_verify() {
    let s = Station::new();
    let (p, b) = s.onboarded();
    assert!(checkout(&s, &p, "alice", "bob").status.success());
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let t = |d: time::Duration| rootkey::report::fmt_time(now + d);
    let zero = time::Duration::ZERO;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "key.checked_out",
            json!({"key_id": b, "account_id": ACCT, "reason": "r", "ticket": "T-2",
                   "window_start": t(zero), "window_end": t(time::Duration::hours(2)),
                   "requester": "alice", "approver": "bob", "bag_broken": "B2"}),
            "one key must always stay in the safe",
        ),
        (
            "key.checked_out",
            json!({"key_id": p, "account_id": ACCT, "reason": "r", "ticket": "T-2",
                   "window_start": t(zero), "window_end": t(time::Duration::hours(2)),
                   "requester": "alice", "approver": "bob", "bag_broken": "B1"}),
            "is not in the safe",
        ),
        (
            "key.moved",
            json!({"key_id": b, "account_id": ACCT, "from_location": "Deposit box 114, Cork",
                   "to_location": "Vault 9", "bag_serial": "b-1", "reason": "r",
                   "proof": PLACEHOLDER_PROOF.clone()}),
            "already used",
        ),
        (
            "key.enrolled",
            json!({"key_id": "00000000", "account_id": ACCT, "role": "backup",
                   "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
                   "attestation": {"fmt": "packed", "trust_root": "Yubico", "assurance": "hardware"},
                   "custody_credential_id": "AAEC", "custody_public_key": "pQECAyYgASFYIGsX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKWIlggT-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU",
                   "location": "Vault 9", "bag_serial": "B77", "aws_device_name": "rootkey-00000000"}),
            "not derived from its custody public key",
        ),
        (
            "account.enrolled",
            json!({"account_id": ACCT, "primary_key_id": p, "backup_key_id": b}),
            "already enrolled",
        ),
        (
            "key.retired",
            json!({"key_id": b, "account_id": ACCT, "reason": "replaced", "note": "n"}),
            "no successor of it is confirmed",
        ),
        (
            "account.closed",
            json!({"account_id": ACCT, "reason": "closed", "note": "n"}),
            "is still in custody",
        ),
    ];
    for (kind, body, rule) in cases {
        let ev = UnsignedEvent::new(kind, "mallory", body).unwrap();
        fold_and_verify_agree(&s, &ev, &["alice", "bob"], rule);
    }
}
