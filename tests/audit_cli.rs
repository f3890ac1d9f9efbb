//! `rootkey audit` end to end on the real binary: a ledger built through the library with real
//! custodian approvals, an AWS evidence file, and the report, verdict, KPIs and ledger record.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rootkey::custody::key_id_for;
use rootkey::device::CUSTODY_RP_ID;
use rootkey::ledger::{Ledger, UnsignedEvent};
use rootkey::report::fmt_time;
use rootkey::webauthn::{b64url, sha256, AuthData, Flags};
use serde_json::{json, Value};
use support::{bootstrap_event, note, TestCustodian};
use time::{Duration, OffsetDateTime};

const A: &str = "111122223333";
const B: &str = "444455556666";

struct World {
    dir: tempfile::TempDir,
    db: PathBuf,
    keys: Vec<String>,
    now: OffsetDateTime,
    /// The ledger's verifier key as the auditor recorded it at `ledger init`.
    vkey: String,
    /// The two custodians (alice, bob), to write more history with.
    custodians: [TestCustodian; 2],
}

fn serial(acct: &str, key: &str) -> String {
    format!("arn:aws:iam::{acct}:u2f/root/rootkey-{key}-ABCDEFGHIJKLMNOP")
}

/// The PIN of the auditor's soft key.
const AUDITOR_PIN: &str = "135790";

/// Appends `kind` made at time `t` (the ledger keeps time order, so history is written in it).
fn append(
    l: &mut Ledger,
    t: OffsetDateTime,
    kind: &str,
    body: Value,
    approvers: &[&TestCustodian],
) {
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).unwrap();
    let ev = UnsignedEvent::from_event(rootkey::ledger::Event {
        id,
        time: fmt_time(t),
        kind: kind.into(),
        actor: "tester".into(),
        body,
    })
    .unwrap();
    let approvals = approvers.iter().map(|c| c.approve(&ev)).collect();
    l.append(&ev, approvals).unwrap();
}

/// Enrolls the auditor `id-dana`, whose key is a soft key file with a PIN (so `rootkey audit
/// --approvers id-dana` can approve through the real binary).
fn enroll_auditor(l: &mut Ledger, dir: &Path, t: OffsetDateTime, two: &[&TestCustodian]) {
    use rootkey::device::{soft::SoftAuthenticator, Authenticator};
    let mut key = SoftAuthenticator::create(&dir.join("dana.json")).unwrap();
    key.set_pin(None, AUDITOR_PIN).unwrap();
    let (_, reg) = rootkey::device::attest_on(
        &mut key,
        Some(AUDITOR_PIN.into()),
        rootkey::custody::CUSTODIAN_RP_ID,
        "rootkey:custodian",
        "dana",
    )
    .unwrap();
    let spec = json!({"id": "id-dana", "name": "Dana the auditor", "role": "auditor",
        "credential_id": b64url(&reg.credential_id), "public_key": b64url(&reg.public_key.to_cbor()),
        "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
        "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556",
                        "assurance": "hardware"}});
    append(l, t, "custodian.added", json!({"custodian": spec}), two);
}

/// Account A: primary and backup on root, a checkout whose window explains one login.
/// Account B: primary on root, backup missing from AWS, plus an unknown key and a virtual MFA.
fn world() -> World {
    world_with("hardware")
}

/// [`world`] with account A's two keys enrolled at this attestation `assurance`.
fn world_with(assurance_of_a: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let mut l = Ledger::create(&db, &Ledger::default_key_path(&db), "test/ledger").unwrap();
    let vkey = l.verifier_key().encode();
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let t0 = now - Duration::days(40);
    let two = [&alice, &bob];
    append(
        &mut l,
        t0 - Duration::hours(1),
        "custodian.bootstrap",
        json!({"custodians": [alice.spec(), bob.spec()]}),
        &two,
    );
    enroll_auditor(&mut l, dir.path(), t0, &two);
    let mut keys = Vec::new();
    // Each security key's custody credential is a real key pair, so that the check-in below
    // carries a possession proof the audit's fold can verify.
    let mut custody = Vec::new();
    for (i, (acct, role)) in [(A, "primary"), (A, "backup"), (B, "primary"), (B, "backup")]
        .into_iter()
        .enumerate()
    {
        let holder = TestCustodian::new(&format!("custody key {i}"), i % 2 == 0);
        let cose = holder.key.to_cbor();
        custody.push(holder);
        let id = key_id_for(&cose);
        append(
            &mut l,
            t0,
            "key.enrolled",
            json!({"key_id": id, "account_id": acct, "role": role,
                   "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
                   "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556",
                                   "assurance": if acct == A { assurance_of_a } else { "hardware" }},
                   "custody_credential_id": b64url(format!("cred-{i}").as_bytes()),
                   "custody_public_key": b64url(&cose),
                   "location": format!("Safe {i}, Dublin"), "bag_serial": format!("BAG-{i}"),
                   "aws_device_name": format!("rootkey-{id}")}),
            &two,
        );
        append(
            &mut l,
            t0,
            "key.registration_confirmed",
            json!({"key_id": id, "account_id": acct, "serial_arn": serial(acct, &id),
                   "enable_date": fmt_time(now - Duration::days(30)), "source": "evidence"}),
            &[],
        );
        keys.push(id);
    }
    for (acct, p, b) in [(A, &keys[0], &keys[1]), (B, &keys[2], &keys[3])] {
        append(
            &mut l,
            t0,
            "account.enrolled",
            json!({"account_id": acct, "primary_key_id": p, "backup_key_id": b}),
            &two,
        );
    }
    let out = now - Duration::hours(3);
    append(
        &mut l,
        out,
        "key.checked_out",
        json!({"key_id": keys[0], "account_id": A, "reason": "update billing contact",
               "ticket": "CHG-42", "window_start": fmt_time(out),
               "window_end": fmt_time(now + Duration::hours(1)), "requester": alice.id,
               "approver": bob.id, "bag_broken": "BAG-0"}),
        &two,
    );
    let challenge = b"check-in of the primary of account A";
    let assertion = custody[0].assert_raw(challenge, CUSTODY_RP_ID, Flags::UP);
    let counter = AuthData::parse(&assertion.authenticator_data)
        .unwrap()
        .sign_count;
    append(
        &mut l,
        now - Duration::minutes(1),
        "key.checked_in",
        json!({"key_id": keys[0], "account_id": A, "bag_serial": "BAG-0b",
               "proof": {"challenge": b64url(challenge),
                         "authenticator_data": b64url(&assertion.authenticator_data),
                         "client_data_json": b64url(&assertion.client_data_json),
                         "signature": b64url(&assertion.signature), "counter": counter}}),
        &two,
    );
    World {
        dir,
        db,
        keys,
        now,
        vkey,
        custodians: [alice, bob],
    }
}

fn device(serial: &str, kind: &str) -> Value {
    json!({"serial": serial, "kind": kind, "enable_date": "2025-01-02T10:00:00Z"})
}

fn login(t: OffsetDateTime, ip: &str) -> Value {
    json!({"time": fmt_time(t), "source_ip": ip, "mfa_used": true, "success": true,
           "region": "us-east-1", "event_id": null})
}

fn account(id: &str, management: bool, devices: Vec<Value>, logins: Vec<Value>) -> Value {
    json!({"account_id": id, "name": null, "email": null, "management": management,
           "posture": {"mfa_devices": devices, "mfa_devices_complete": true, "mfa_active": true,
                       "access_keys": [], "signing_certificates": [], "password": "present",
                       "password_last_used": null,
                       "account_summary": {"mfa_enabled": true, "access_keys_present": false,
                                           "signing_certificates_present": false},
                       "logins": logins, "errors": [], "not_read": []}})
}

/// Evidence matching [`world`]; `with_virtual` puts the virtual MFA on B's root.
fn evidence(w: &World, with_virtual: bool) -> PathBuf {
    let k = &w.keys;
    let mut b_devices = vec![
        device(&serial(B, &k[2]), "fido"),
        device(&serial(B, "stranger"), "fido"),
    ];
    if with_virtual {
        b_devices.push(device(
            &format!("arn:aws:iam::{B}:mfa/root-account-mfa-device"),
            "virtual",
        ));
    }
    let ev = json!({
        "format": "rootkey-aws-evidence/1",
        "read_at": fmt_time(w.now),
        "caller": {"account": A, "arn": format!("arn:aws:iam::{A}:user/auditor"), "user_id": "AIDA"},
        "period": {"since": fmt_time(w.now - Duration::days(90)), "until": fmt_time(w.now)},
        "organization": null,
        "accounts": [
            account(A, true,
                vec![device(&serial(A, &k[0]), "fido"), device(&serial(A, &k[1]), "fido")],
                vec![login(w.now - Duration::hours(1), "198.51.100.7"),
                     login(w.now - Duration::days(2), "203.0.113.66")]),
            account(B, false, b_devices, vec![]),
        ]
    });
    let name = if with_virtual {
        "aws.json"
    } else {
        "aws-fixed.json"
    };
    let p = w.dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    p
}

/// Runs the binary on `db`. An `audit` that records is approved by the auditor `id-dana`
/// with her own key (an audit counts only when the auditor approves it).
fn rootkey(db: &Path, args: &[&str]) -> Output {
    let mut extra: Vec<String> = Vec::new();
    if args.first() == Some(&"audit") && !args.contains(&"--no-record") {
        let dana = db.parent().unwrap().join("dana.json");
        extra.extend([
            "--approvers".to_string(),
            "id-dana".to_string(),
            "--custodian-device".to_string(),
            format!("id-dana=soft:{}", dana.display()),
        ]);
    }
    Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .arg("--ledger")
        .arg(db)
        .args(["--pin-env", "AUDITOR_PIN"])
        .args(args)
        .args(&extra)
        .env("AUDITOR_PIN", AUDITOR_PIN)
        .env("XDG_CONFIG_HOME", db.parent().unwrap())
        .env_remove("ROOTKEY_CONFIG")
        .env_remove("ROOTKEY_LEDGER")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ledger_len(db: &Path) -> u64 {
    Ledger::open_readonly(db).unwrap().len().unwrap()
}

fn last_entry(db: &Path) -> rootkey::ledger::Entry {
    let l = Ledger::open_readonly(db).unwrap();
    l.entries(0).unwrap().pop().unwrap()
}

fn verify_cli(w: &World) {
    let o = rootkey(&w.db, &["ledger", "verify", "--vkey", &w.vkey]);
    assert_eq!(o.status.code(), Some(0), "ledger verify: {}", stderr(&o));
}

#[test]
fn json_report_findings_kpis_verdict_and_record() {
    let w = world();
    let ev = evidence(&w, true);
    let out = w.dir.path().join("report.json");
    let before = ledger_len(&w.db);
    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--since",
            "7d",
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("audit FAIL"), "{err}");
    assert!(err.contains(out.to_str().unwrap()), "{err}");
    assert!(err.contains("recorded as ledger entry"), "{err}");
    let bytes = std::fs::read(&out).unwrap();
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["ledger"]["intact"], true);
    assert_eq!(r["ledger"]["anchor"], "vkey");
    assert_eq!(r["ledger"]["vkey"], w.vkey.as_str());

    let found: Vec<(String, String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["account"].as_str().unwrap_or("-").to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |code: &str, acct: &str, sev: &str| {
        found
            .iter()
            .any(|(c, a, s)| c == code && a == acct && s == sev)
    };
    assert!(has("ROOT-LOGIN-UNEXPLAINED", A, "critical"), "{found:?}");
    assert!(has("AWS-DEVICE-UNKNOWN", B, "high"), "{found:?}");
    assert!(has("LEDGER-KEY-NOT-IN-AWS", B, "high"), "{found:?}");
    assert!(has("ROOT-MFA-VIRTUAL", B, "high"), "{found:?}");
    assert_eq!(
        found.iter().filter(|f| f.0 == "AWS-DEVICE-UNKNOWN").count(),
        2,
        "the stranger key and the virtual device"
    );
    let of_a: Vec<_> = found
        .iter()
        .filter(|f| f.1 == A && f.2 != "info")
        .map(|f| f.0.as_str())
        .collect();
    assert!(has("ROOT-LOGIN-EXPLAINED", A, "info"), "{found:?}");
    assert_eq!(
        of_a,
        ["ROOT-LOGIN-UNEXPLAINED"],
        "A's keys match AWS; its only finding is the login outside the window"
    );
    let unexplained: Vec<_> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "ROOT-LOGIN-UNEXPLAINED")
        .collect();
    assert_eq!(unexplained.len(), 1);
    assert_eq!(unexplained[0]["evidence"]["source_ip"], "203.0.113.66");
    assert_eq!(
        r["findings"][0]["severity"], "critical",
        "most severe first"
    );

    let logins = r["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 2);
    let explained = logins
        .iter()
        .find(|l| l["source_ip"] == "198.51.100.7")
        .unwrap();
    assert_eq!(explained["explanation"]["status"], "in_window");
    assert_eq!(explained["explanation"]["ticket"], "CHG-42");
    assert_eq!(explained["explanation"]["key_id"], w.keys[0].as_str());

    let k = &r["kpis"];
    assert_eq!(
        k["accounts_two_hardware_keys_no_virtual"],
        json!({"numerator": 1, "denominator": 2})
    );
    assert_eq!(k["root_logins"], 2);
    assert_eq!(k["root_logins_explained"], 1);
    assert_eq!(k["root_logins_unexplained"], 1);
    assert_eq!(
        k["accounts_covered"],
        json!({"numerator": 1, "denominator": 2})
    );
    assert_eq!(k["keys_overdue"], 0);
    assert_eq!(k["mean_time_to_remediate_seconds"], Value::Null);

    // audit.completed holds the digest of exactly the bytes written, and the ledger still verifies.
    assert_eq!(ledger_len(&w.db), before + 1);
    let e = last_entry(&w.db);
    assert_eq!(e.event.kind, "audit.completed");
    let approvers: Vec<_> = e
        .approvals
        .iter()
        .map(|a| a.custodian_id.as_str())
        .collect();
    assert_eq!(approvers, ["id-dana"], "approved by the auditor's own key");
    let body = &e.event.body;
    assert_eq!(body["report_sha256"], hex::encode(sha256(&bytes)));
    assert_eq!(body["format"], "json");
    assert_eq!(body["verdict"], "fail");
    assert_eq!(body["counts"]["critical"], 1);
    assert_eq!(body["checkpoint"], r["ledger"]["checkpoint"]);
    assert!(body["checkpoint"]
        .as_str()
        .unwrap()
        .starts_with(&format!("test/ledger\n{before}\n")));
    assert_eq!(body["accounts"], json!([A, B]));
    verify_cli(&w);

    // The next audit sees the virtual device gone: time to remediate comes from the first audit.
    let fixed = evidence(&w, false);
    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            fixed.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--since",
            "7d",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r2: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        r2["kpis"]["findings_remediated"].as_u64().unwrap() >= 2,
        "{}",
        r2["kpis"]
    );
    assert!(r2["kpis"]["mean_time_to_remediate_seconds"].is_u64());
    let gone: Vec<(&str, &str)> = r2["remediated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["check"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert!(
        gone.contains(&("ROOT-MFA-VIRTUAL", "remediated")),
        "the virtual device is gone: {gone:?}"
    );
    assert!(
        !gone.iter().any(|(c, _)| c.starts_with("ROOT-LOGIN")),
        "{gone:?}"
    );
    assert_eq!(ledger_len(&w.db), before + 2);
    let e = last_entry(&w.db);
    assert_eq!(
        e.event.body["report_sha256"],
        hex::encode(sha256(&o.stdout))
    );
    verify_cli(&w);
}

#[test]
fn html_is_one_self_contained_page_with_the_verdict_first_and_md_has_tables() {
    let w = world();
    let ev = evidence(&w, true);
    let html = w.dir.path().join("report.html");
    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--since",
            "7d",
            "--format",
            "html",
            "--out",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("<!doctype html>"));
    assert!(page.trim_end().ends_with("</html>"));
    let verdict = page.find(">FAIL<").expect("verdict banner");
    let first_table = page.find("<table").unwrap();
    assert!(verdict < first_table, "the verdict comes before any table");
    for external in [
        "<script src",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
    ] {
        assert!(!page.contains(external), "self-contained: found {external}");
    }
    assert!(page.contains("ROOT-LOGIN-UNEXPLAINED"));
    assert_eq!(
        last_entry(&w.db).event.body["report_sha256"],
        hex::encode(sha256(page.as_bytes()))
    );
    assert_eq!(last_entry(&w.db).event.body["format"], "html");

    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--since",
            "7d",
            "--no-record",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not recorded"));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("# rootkey custody audit"), "{md}");
    assert!(md.contains("**Verdict: FAIL**"));
    assert!(md.contains("| KPI | Value |"), "{md}");
    assert!(md.contains("| Severity | Code |"), "{md}");
    assert!(
        md.contains("CHG-42"),
        "the explained login names its checkout"
    );
    verify_cli(&w);
}

#[test]
fn saved_checkpoints_pass_when_extended_and_fail_when_rewritten() {
    let w = world();
    let ev = evidence(&w, true);
    let saved = w.dir.path().join("saved.checkpoint");
    let older = Ledger::open_readonly(&w.db)
        .unwrap()
        .latest_checkpoint()
        .unwrap();
    std::fs::write(&saved, &older.note).unwrap();

    // Fork the ledger: a copy with its key appends one thing, the original another.
    let fork = w.dir.path().join("fork.db");
    std::fs::copy(&w.db, &fork).unwrap();
    std::fs::copy(
        Ledger::default_key_path(&w.db),
        Ledger::default_key_path(&fork),
    )
    .unwrap();
    let mut f = Ledger::open(&fork, None).unwrap();
    f.append(&note("history as the attacker wants it"), vec![])
        .unwrap();
    let forged = w.dir.path().join("forged.checkpoint");
    std::fs::write(&forged, f.latest_checkpoint().unwrap().note).unwrap();
    let mut l = Ledger::open(&w.db, None).unwrap();
    l.append(&note("the real history"), vec![]).unwrap();
    drop(l);

    let run = |cp: &Path| {
        rootkey(
            &w.db,
            &[
                "audit",
                "--evidence-in",
                ev.to_str().unwrap(),
                "--since-checkpoint",
                cp.to_str().unwrap(),
                "--format",
                "json",
                "--no-record",
            ],
        )
    };
    let o = run(&saved);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        r["ledger"]["saved_checkpoint"],
        json!({"status": "extended", "tree_size": older.size})
    );
    assert!(!r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["source"] == "ledger"));

    let o = run(&forged);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["ledger"]["saved_checkpoint"]["status"], "not_extended");
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == "LEDGER-CHECKPOINT-NOT-EXTENDED"));

    // A checkpoint of an unrelated ledger (another key) fails the same way.
    let other = w.dir.path().join("other.db");
    let o2 = Ledger::create(&other, &Ledger::default_key_path(&other), "test/ledger").unwrap();
    let foreign = w.dir.path().join("foreign.checkpoint");
    std::fs::write(&foreign, o2.latest_checkpoint().unwrap().note).unwrap();
    let o = run(&foreign);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("LEDGER-CHECKPOINT-NOT-EXTENDED"));
}

#[test]
fn a_tampered_ledger_is_a_fail_verdict_not_a_crash() {
    let w = world();
    let ev = evidence(&w, true);
    let conn = rusqlite::Connection::open(&w.db).unwrap();
    conn.execute("DELETE FROM entries WHERE seq = 3", [])
        .unwrap();
    drop(conn);
    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--format",
            "json",
            "--no-record",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["ledger"]["intact"], false);
    let problems = r["ledger"]["problems"].to_string();
    assert!(problems.contains("entry 3"), "{problems}");
}

#[test]
fn without_the_signing_key_the_audit_runs_and_says_it_was_not_recorded() {
    let w = world();
    let ev = evidence(&w, true);
    let before = ledger_len(&w.db);
    let o = rootkey(
        &w.db,
        &[
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--vkey",
            &w.vkey,
            "--format",
            "json",
            "--signing-key",
            w.dir.path().join("no-such.key").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not recorded in the ledger"),
        "{}",
        stderr(&o)
    );
    assert!(serde_json::from_slice::<Value>(&o.stdout).is_ok());
    assert_eq!(ledger_len(&w.db), before);
}

#[test]
fn bad_input_exits_2_and_appends_nothing() {
    let w = world();
    let before = ledger_len(&w.db);
    let bad_format = w.dir.path().join("future.json");
    std::fs::write(
        &bad_format,
        r#"{"format": "rootkey-aws-evidence/9", "accounts": []}"#,
    )
    .unwrap();
    let not_json = w.dir.path().join("garbage.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let good = evidence(&w, true);
    let out = w.dir.path().join("never.md");
    for (args, says) in [
        (
            vec!["audit", "--evidence-in", "/nonexistent/aws.json"],
            "cannot read evidence file",
        ),
        (
            vec!["audit", "--evidence-in", bad_format.to_str().unwrap()],
            "rootkey-aws-evidence/9",
        ),
        (
            vec!["audit", "--evidence-in", not_json.to_str().unwrap()],
            "not valid rootkey evidence",
        ),
        (
            vec![
                "audit",
                "--evidence-in",
                good.to_str().unwrap(),
                "--format",
                "pdf",
                "--out",
                out.to_str().unwrap(),
            ],
            "[possible values: md, html, json]",
        ),
        (
            vec![
                "audit",
                "--evidence-in",
                good.to_str().unwrap(),
                "--since-checkpoint",
                "/nonexistent/cp",
            ],
            "cannot read saved checkpoint",
        ),
        (
            vec![
                "audit",
                "--evidence-in",
                good.to_str().unwrap(),
                "--vkey",
                "not-a-verifier-key",
            ],
            "--vkey",
        ),
    ] {
        let o = rootkey(&w.db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert!(!out.exists());
    assert_eq!(ledger_len(&w.db), before, "nothing appended");

    let o = rootkey(
        &w.dir.path().join("missing.db"),
        &["audit", "--evidence-in", good.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

/// An empty AWS evidence file: no accounts, so the only findings are the ledger's own.
fn no_accounts(dir: &Path) -> PathBuf {
    let now = OffsetDateTime::now_utc();
    let p = dir.join("no-accounts.json");
    let ev = json!({
        "format": "rootkey-aws-evidence/1",
        "read_at": fmt_time(now),
        "caller": {"account": A, "arn": format!("arn:aws:iam::{A}:user/auditor"), "user_id": "AIDA"},
        "period": {"since": fmt_time(now - Duration::days(90)), "until": fmt_time(now)},
        "organization": null,
        "accounts": [],
    });
    std::fs::write(&p, serde_json::to_vec_pretty(&ev).unwrap()).unwrap();
    p
}

#[test]
fn a_replaced_database_passes_only_its_own_key_so_the_audit_needs_an_anchor() {
    let w = world();
    let ev = no_accounts(w.dir.path());
    // The attack: the whole database replaced by a fabricated one with its own signing key and
    // a self-approved bootstrap. Internally consistent, so it verifies against its own key.
    std::fs::remove_file(&w.db).unwrap();
    std::fs::remove_file(Ledger::default_key_path(&w.db)).unwrap();
    let mut fake = Ledger::create(&w.db, &Ledger::default_key_path(&w.db), "test/ledger").unwrap();
    let fake_vkey = fake.verifier_key().encode();
    assert_ne!(fake_vkey, w.vkey);
    let mallory = TestCustodian::new("mallory", true);
    let sock = TestCustodian::new("mallory-sock", false);
    let boot = bootstrap_event(&mallory, &sock);
    let ap = vec![mallory.approve(&boot), sock.approve(&boot)];
    fake.append(&boot, ap).unwrap();
    drop(fake);

    let run = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "--evidence-in",
            ev.to_str().unwrap(),
            "--format",
            "json",
            "--no-record",
        ];
        args.extend_from_slice(extra);
        let o = rootkey(&w.db, &args);
        let r: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        (o.status.code(), r)
    };
    let codes = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect()
    };

    // With the auditor's recorded key: FAIL, the ledger is not intact.
    let (code, r) = run(&["--vkey", &w.vkey]);
    assert_eq!(code, Some(1));
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["ledger"]["intact"], false);
    assert_eq!(r["ledger"]["anchor"], "vkey");
    assert_eq!(r["ledger"]["vkey"], fake_vkey.as_str());
    let problems = r["ledger"]["problems"].to_string();
    assert!(problems.contains("not the trusted key"), "{problems}");
    assert!(codes(&r).contains(&"LEDGER-NOT-INTACT".to_string()));
    assert!(!codes(&r).contains(&"LEDGER-UNANCHORED".to_string()));

    // With no anchor: the ledger checks out against itself, and the audit says that proves
    // nothing (FINDINGS, exit 1), naming the key to compare with the auditor's records.
    let (code, r) = run(&[]);
    assert_eq!(code, Some(1));
    assert_eq!(r["verdict"], "findings");
    assert_eq!(r["ledger"]["intact"], true);
    assert_eq!(r["ledger"]["anchor"], "none");
    assert_eq!(codes(&r), ["LEDGER-UNANCHORED"]);
    let f = &r["findings"][0];
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["evidence"]["vkey"], fake_vkey.as_str());
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("--vkey") && title.contains("--since-checkpoint"),
        "{title}"
    );

    // Anchored by the key it is really signed with, it passes, saying plainly that the key
    // holder could have rewritten history (only a saved checkpoint excludes that).
    let (code, r) = run(&["--vkey", &fake_vkey]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["ledger"]["intact"], true);
    assert_eq!(codes(&r), ["LEDGER-ANCHOR-KEY-ONLY"]);

    // Markdown and HTML name the anchor and the verifier key in the integrity section.
    for (format, anchor) in [("md", "Anchored by: NONE"), ("html", "Anchored by: <span")] {
        let o = rootkey(
            &w.db,
            &[
                "audit",
                "--evidence-in",
                ev.to_str().unwrap(),
                "--format",
                format,
                "--no-record",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        let integrity = text.find("Ledger integrity").expect("integrity section");
        let at = text
            .find(anchor)
            .unwrap_or_else(|| panic!("{format}: {text}"));
        assert!(at > integrity, "{format}: anchor in the integrity section");
        assert!(text.contains("LEDGER-UNANCHORED"), "{format}");
        let key_at = text.find("Verifier key: ").expect("verifier key line");
        assert!(key_at > integrity, "{format}: key in the integrity section");
        assert!(text[key_at..].contains(&fake_vkey), "{format}: {text}");
    }
}

// ----- issue 16: the audit must not pass by accident

/// The resource and id of the unexplained sign-in of [`evidence`] (account A, two days ago).
fn unexplained_login(w: &World) -> (String, String) {
    let resource = format!("{} 203.0.113.66", fmt_time(w.now - Duration::days(2)));
    let id = rootkey::findings::instance_id("ROOT-LOGIN-UNEXPLAINED", Some(A), &resource);
    (resource, id)
}

/// Runs a JSON audit of `ev` anchored by the verifier key, with `extra` flags.
fn audit_json(w: &World, ev: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "audit",
        "--evidence-in",
        ev.to_str().unwrap(),
        "--vkey",
        &w.vkey,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = rootkey(&w.db, &args);
    let r = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&o)));
    (o, r)
}

fn finding_by_id<'a>(r: &'a Value, id: &str) -> Option<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
}

fn checks_of(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_unexplained_login_stays_open_when_the_period_moves_past_it() {
    let w = world();
    let ev = evidence(&w, false);
    let (_, id) = unexplained_login(&w);
    let (o, r) = audit_json(&w, &ev, &["--since", "7d"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(finding_by_id(&r, &id).unwrap()["status"], "open");
    assert_eq!(r["schema_version"], "rootkey-findings/2");
    // The auditor saves the checkpoint: the next audit's period starts where this one ended,
    // after the sign-in.
    let saved = w.dir.path().join("after-first.checkpoint");
    let cp = Ledger::open_readonly(&w.db)
        .unwrap()
        .latest_checkpoint()
        .unwrap();
    std::fs::write(&saved, &cp.note).unwrap();
    let (o, r) = audit_json(
        &w,
        &ev,
        &["--since-checkpoint", saved.to_str().unwrap(), "--no-record"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let period_start = r["meta"]["period_start"].as_str().unwrap();
    assert!(
        period_start > fmt_time(w.now - Duration::days(2)).as_str(),
        "the period moved past the sign-in: {period_start}"
    );
    assert!(
        r["logins"].as_array().unwrap().is_empty(),
        "{}",
        r["logins"]
    );
    let f = finding_by_id(&r, &id).expect("still a finding: the sign-in is not explained");
    assert_eq!(
        (f["status"].as_str(), f["severity"].as_str()),
        (Some("open"), Some("critical"))
    );
    assert!(f["evidence"]["reported_by_entry"].is_u64(), "{f}");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["kpis"]["findings_remediated"], 0, "{}", r["kpis"]);
    assert!(
        !r["remediated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == id.as_str()),
        "{}",
        r["remediated"]
    );
    assert_eq!(r["kpis"]["mean_time_to_remediate_seconds"], Value::Null);
    // The same evidence file, read before this period began, is stale for it.
    assert!(
        checks_of(&r).contains(&"EVIDENCE-STALE".to_string()),
        "{:?}",
        checks_of(&r)
    );
}

#[test]
fn accepting_a_finding_takes_the_auditor_or_two_custodians_and_shows_it_accepted() {
    let w = world();
    let ev = evidence(&w, false);
    let (resource, id) = unexplained_login(&w);
    let (_, r) = audit_json(&w, &ev, &["--since", "7d"]);
    assert_eq!(r["verdict"], "fail");
    let until = (w.now + Duration::days(30)).date().to_string();
    let accept = |approver: &[&str]| {
        let mut args = vec![
            "finding",
            "accept",
            "--id",
            &id,
            "--reason",
            "billing contact change, see ticket",
            "--ticket",
            "RISK-7",
            "--until",
            &until,
        ];
        args.extend_from_slice(approver);
        rootkey(&w.db, &args)
    };
    let before = ledger_len(&w.db);
    // One custodian alone cannot accept a finding.
    let alice = w.custodians[0].id.clone();
    let o = accept(&["--auditor", &alice]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("two custodians"), "{}", stderr(&o));
    assert_eq!(ledger_len(&w.db), before, "nothing recorded");
    // An unknown id is refused, with where ids come from.
    let o = rootkey(
        &w.db,
        &[
            "finding",
            "accept",
            "--id",
            "0123456789abcdef",
            "--reason",
            "r",
            "--ticket",
            "T",
            "--until",
            &until,
            "--auditor",
            "id-dana",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no recorded audit reported"),
        "{}",
        stderr(&o)
    );
    // The auditor with her own key can.
    let dana = format!("id-dana=soft:{}", w.dir.path().join("dana.json").display());
    let o = accept(&["--auditor", "id-dana", "--custodian-device", &dana]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = last_entry(&w.db);
    assert_eq!(e.event.kind, "finding.accepted");
    assert_eq!(e.event.body["resource"], resource.as_str());
    verify_cli(&w);

    let (o, r) = audit_json(&w, &ev, &["--since", "7d", "--no-record"]);
    let f = finding_by_id(&r, &id).expect("accepted findings are shown, not hidden");
    assert_eq!(f["status"], "accepted");
    assert_eq!(f["acceptance"]["ticket"], "RISK-7");
    assert_eq!(f["acceptance"]["approved_by"], json!(["id-dana"]));
    assert!(
        f["title"].as_str().unwrap().contains("ACCEPTED until"),
        "every rendering says so: {f}"
    );
    assert_eq!(
        r["verdict"], "findings",
        "the accepted critical no longer fails the audit; the rest still counts"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_expired_acceptance_leaves_the_finding_open() {
    let w = world();
    let (resource, id) = unexplained_login(&w);
    let t = w.now - Duration::seconds(30);
    let mut l = Ledger::open(&w.db, None).unwrap();
    let [alice, bob] = &w.custodians;
    append(
        &mut l,
        t,
        "finding.accepted",
        json!({"finding_id": id, "check": "ROOT-LOGIN-UNEXPLAINED", "account_id": A,
               "resource": resource, "reason": "short-lived", "ticket": "RISK-1",
               "until": fmt_time(t + Duration::seconds(1))}),
        &[alice, bob],
    );
    drop(l);
    verify_cli(&w);
    let ev = evidence(&w, false);
    let (_, r) = audit_json(&w, &ev, &["--since", "7d", "--no-record"]);
    let f = finding_by_id(&r, &id).unwrap();
    assert_eq!(f["status"], "open", "{f}");
    assert!(f.get("acceptance").is_none());
    assert_eq!(r["verdict"], "fail");
}

#[test]
fn forged_acceptances_fail_ledger_verify() {
    for (why, approvers, body) in [
        ("one custodian", 1, json!({"until_days": 30})),
        ("beyond a year", 2, json!({"until_days": 400})),
        (
            "an id that is not the finding's",
            2,
            json!({"until_days": 30, "id": "00000000000000aa"}),
        ),
        (
            "the ledger's own integrity",
            2,
            json!({"until_days": 30, "check": "LEDGER-UNANCHORED"}),
        ),
    ] {
        let w = world();
        let (resource, _) = unexplained_login(&w);
        let t = w.now - Duration::seconds(30);
        let check = body["check"].as_str().unwrap_or("ROOT-LOGIN-UNEXPLAINED");
        let fid = match body["id"].as_str() {
            Some(forged) => forged.to_string(),
            None => rootkey::findings::instance_id(check, Some(A), &resource),
        };
        let mut l = Ledger::open(&w.db, None).unwrap();
        let [alice, bob] = &w.custodians;
        let who: Vec<&TestCustodian> = [alice, bob].into_iter().take(approvers).collect();
        append(
            &mut l,
            t,
            "finding.accepted",
            json!({"finding_id": fid, "check": check, "account_id": A, "resource": resource,
                   "reason": "r", "ticket": "T",
                   "until": fmt_time(t + Duration::days(body["until_days"].as_i64().unwrap()))}),
            &who,
        );
        drop(l);
        let o = rootkey(&w.db, &["ledger", "verify", "--vkey", &w.vkey]);
        assert_eq!(o.status.code(), Some(1), "{why}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout).to_string() + &stderr(&o);
        assert!(out.contains("finding.accepted"), "{why}: {out}");
    }
}

/// Evidence of [`evidence`] with its read time and sign-in search changed.
fn evidence_read(
    w: &World,
    read_at: OffsetDateTime,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> PathBuf {
    let p = evidence(w, false);
    let mut ev: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    ev["read_at"] = json!(fmt_time(read_at));
    ev["period"] = json!({"since": fmt_time(since), "until": fmt_time(until)});
    let out = w.dir.path().join(format!(
        "aws-{}.json",
        read_at.unix_timestamp() ^ since.unix_timestamp()
    ));
    std::fs::write(&out, serde_json::to_vec(&ev).unwrap()).unwrap();
    out
}

#[test]
fn stale_or_partial_evidence_is_a_finding_and_the_report_records_it() {
    let w = world();
    let fresh = evidence_read(&w, w.now, w.now - Duration::days(90), w.now);
    let (_, r) = audit_json(&w, &fresh, &["--since", "7d", "--no-record"]);
    let meta = &r["meta"]["evidence"];
    let bytes = std::fs::read(&fresh).unwrap();
    let parsed: rootkey::aws::Evidence = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        meta["sha256"],
        hex::encode(sha256(&serde_json::to_vec(&parsed).unwrap())),
        "the digest of the evidence judged"
    );
    assert_eq!(meta["read_at"], fmt_time(w.now).as_str());
    assert_eq!(
        meta["login_search_since"],
        fmt_time(w.now - Duration::days(90)).as_str()
    );
    let c = checks_of(&r);
    assert!(!c.iter().any(|c| c.starts_with("EVIDENCE-")), "{c:?}");

    // Read a month ago: before the period began.
    let old = w.now - Duration::days(30);
    let stale = evidence_read(&w, old, old - Duration::days(90), old);
    let (o, r) = audit_json(&w, &stale, &["--since", "7d", "--no-record"]);
    assert_eq!(o.status.code(), Some(1));
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "EVIDENCE-STALE")
        .unwrap();
    assert_eq!(f["severity"], "high");
    assert_eq!(f["evidence"]["read_at"], fmt_time(old).as_str());

    // Read now, but the sign-in search covers only the last day of a week-long period.
    let partial = evidence_read(&w, w.now, w.now - Duration::days(1), w.now);
    let (_, r) = audit_json(&w, &partial, &["--since", "7d", "--no-record"]);
    let c = checks_of(&r);
    assert!(c.contains(&"EVIDENCE-PARTIAL".to_string()), "{c:?}");
    assert!(!c.contains(&"EVIDENCE-STALE".to_string()), "{c:?}");
    // And a search that stopped two days before the period's end.
    let short = evidence_read(
        &w,
        w.now,
        w.now - Duration::days(90),
        w.now - Duration::days(2),
    );
    let (_, r) = audit_json(&w, &short, &["--since", "7d", "--no-record"]);
    assert!(checks_of(&r).contains(&"EVIDENCE-PARTIAL".to_string()));
}

#[test]
fn kpis_count_the_facts_the_tables_show() {
    // Account A's keys are software keys; a failed unexplained sign-in is added to A.
    let w = world_with("software");
    let p = evidence(&w, false);
    let mut ev: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let mut failed = login(w.now - Duration::days(3), "192.0.2.44");
    failed["success"] = json!(false);
    ev["accounts"][0]["posture"]["logins"]
        .as_array_mut()
        .unwrap()
        .push(failed);
    std::fs::write(&p, serde_json::to_vec(&ev).unwrap()).unwrap();
    let (_, r) = audit_json(&w, &p, &["--since", "7d", "--no-record"]);
    let logins = r["logins"].as_array().unwrap();
    let k = &r["kpis"];
    assert_eq!(logins.len(), 3);
    assert_eq!(
        k["root_logins"],
        logins.len(),
        "failed sign-ins count too: {k}"
    );
    let explained = logins
        .iter()
        .filter(|l| l["explanation"]["status"] != "unexplained")
        .count();
    assert_eq!(k["root_logins_explained"], explained);
    assert_eq!(k["root_logins_unexplained"], logins.len() - explained);
    let failed = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "ROOT-LOGIN-FAILED-UNEXPLAINED")
        .unwrap();
    assert_eq!(failed["severity"], "medium");
    // A's two keys are on root but are software: never counted as hardware.
    let software = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "KEY-SOFTWARE" && f["account"] == A)
        .count();
    assert_eq!(software, 2);
    assert_eq!(
        k["accounts_two_hardware_keys_no_virtual"],
        json!({"numerator": 0, "denominator": 2}),
        "{k}"
    );
}

#[test]
fn posture_judges_sign_ins_against_the_ledger_as_the_audit_does() {
    let w = world();
    let ev = evidence(&w, false);
    let o = rootkey(
        &w.db,
        &[
            "--json",
            "aws",
            "posture",
            "--evidence-in",
            ev.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    let sign_ins = |findings: &Value| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"].as_str().unwrap().starts_with("ROOT-LOGIN"))
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["check"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let posture = sign_ins(&p["accounts"][0]["findings"]);
    let (_, r) = audit_json(&w, &ev, &["--since", "30d", "--no-record"]);
    let audit = sign_ins(&r["findings"]);
    assert_eq!(posture, audit, "one rule, one id, one severity");
    let checks: Vec<(&str, &str)> = posture
        .iter()
        .map(|(_, c, s)| (c.as_str(), s.as_str()))
        .collect();
    assert!(
        checks.contains(&("ROOT-LOGIN-EXPLAINED", "info")),
        "{checks:?}"
    );
    assert!(
        checks.contains(&("ROOT-LOGIN-UNEXPLAINED", "critical")),
        "{checks:?}"
    );
}
