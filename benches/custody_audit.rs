//! How long verifying a custody ledger and an organization-wide audit take at scale.
//!
//! Builds a real ledger (SQLite, signed checkpoints, real approvals and possession proofs) of
//! accounts × (2 enrollments, 2 confirmations, 1 account enrollment, `CYCLES` checkout/check-in
//! pairs), verifies it entirely through the custody fold (what `ledger verify`, the audit and
//! every appending command run), builds the audit report against matching AWS facts, renders it
//! in the three formats and hashes each. Prints one line per stage.
//! `ROOTKEY_BENCH_ACCOUNTS=100` shrinks it for a quick run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use rootkey::aws::{AccountReport, MfaDevice, MfaKind, RootLogin, RootPosture};
use rootkey::custody::{build_report, key_id_for, verify_ledger, AuditInput};
use rootkey::device::CUSTODY_RP_ID;
use rootkey::ledger::{Approval, Event, Ledger, UnsignedEvent, VerifyOptions};
use rootkey::report::{self, Anchor, Format, LedgerIntegrity, SavedCheckpoint};
use rootkey::webauthn::{b64url, AuthData, Flags};
use serde_json::{json, Value};
use support::TestCustodian;
use time::{Duration, OffsetDateTime};

const CYCLES: u64 = 10;

struct Entry {
    time: OffsetDateTime,
    kind: &'static str,
    body: Value,
    /// Whether the two custodians approve it.
    approved: bool,
}

fn fmt(t: OffsetDateTime) -> String {
    report::fmt_time(t)
}

fn ledger(t0: OffsetDateTime, accounts: u64) -> (Vec<Entry>, Vec<AccountReport>) {
    let mut out = Vec::new();
    let mut facts = Vec::new();
    let mut push = |time, kind, body, approved| {
        out.push(Entry {
            time,
            kind,
            body,
            approved,
        });
    };
    for a in 0..accounts {
        let acct = format!("{:012}", 100_000_000_000 + a);
        let mut devices = Vec::new();
        let mut logins = Vec::new();
        let mut ids = Vec::new();
        let mut holders = Vec::new();
        for (i, role) in ["primary", "backup"].iter().enumerate() {
            let holder = TestCustodian::new(&format!("{acct} {role}"), false);
            let cose = holder.key.to_cbor();
            let key = key_id_for(&cose);
            push(
                t0,
                "key.enrolled",
                json!({
                "key_id": key, "account_id": acct, "role": role,
                "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
                "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556",
                                "assurance": "hardware"},
                "custody_credential_id": b64url(key.as_bytes()), "custody_public_key": b64url(&cose),
                "location": format!("Safe {i} for {acct}"), "bag_serial": format!("B-{key}"),
                "aws_device_name": format!("rootkey-{key}")}),
                true,
            );
            let serial = format!("arn:aws:iam::{acct}:u2f/root/rootkey-{key}-XYZ");
            push(
                t0,
                "key.registration_confirmed",
                json!({
                "key_id": key, "account_id": acct, "serial_arn": serial,
                "enable_date": fmt(t0), "source": "api"}),
                false,
            );
            devices.push(MfaDevice {
                kind: MfaKind::classify(&serial),
                serial,
                enable_date: Some(t0),
            });
            ids.push(key);
            holders.push(holder);
        }
        push(
            t0,
            "account.enrolled",
            json!({"account_id": acct, "primary_key_id": ids[0], "backup_key_id": ids[1]}),
            true,
        );
        let key = &ids[0];
        let mut bag = format!("B-{key}");
        for c in 0..CYCLES {
            let start = t0 + Duration::days(1 + c as i64 * 7) + Duration::seconds(a as i64);
            let end = start + Duration::hours(4);
            push(
                start,
                "key.checked_out",
                json!({
                "key_id": key, "account_id": acct, "reason": "maintenance", "ticket": format!("CHG-{c}"),
                "window_start": fmt(start), "window_end": fmt(end), "requester": "id-alice",
                "approver": "id-bob", "bag_broken": bag}),
                true,
            );
            bag = format!("B-{key}-{c}");
            let challenge = format!("check-in {acct} {c}");
            let proof = holders[0].assert_raw(challenge.as_bytes(), CUSTODY_RP_ID, Flags::UP);
            let counter = AuthData::parse(&proof.authenticator_data)
                .map(|d| d.sign_count)
                .unwrap_or_default();
            push(
                start + Duration::hours(2),
                "key.checked_in",
                json!({
                "key_id": key, "account_id": acct, "bag_serial": bag,
                "proof": {"challenge": b64url(challenge.as_bytes()),
                          "authenticator_data": b64url(&proof.authenticator_data),
                          "client_data_json": b64url(&proof.client_data_json),
                          "signature": b64url(&proof.signature), "counter": counter}}),
                true,
            );
            logins.push(RootLogin {
                time: start + Duration::hours(1),
                source_ip: Some("203.0.113.1".into()),
                mfa_used: Some(true),
                success: Some(true),
                region: "us-east-1".into(),
                event_id: None,
            });
        }
        facts.push(AccountReport {
            account_id: acct,
            name: None,
            email: None,
            management: a == 0,
            credential_less: false,
            posture: RootPosture {
                mfa_devices: devices,
                mfa_devices_complete: true,
                logins: Some(logins),
                ..RootPosture::default()
            },
            findings: vec![],
            passed: vec![],
        });
    }
    // The ledger is written in time order.
    out.sort_by_key(|e| e.time);
    (out, facts)
}

/// Writes `entries` as one bulk load, each approved by both custodians where it needs to be.
fn write(db: &std::path::Path, entries: &[Entry], t0: OffsetDateTime) -> u64 {
    let mut l = Ledger::create(db, &Ledger::default_key_path(db), "bench/custody").unwrap();
    let alice = TestCustodian::new("alice", true);
    let bob = TestCustodian::new("bob", false);
    let event = |i: usize, time, kind: &str, body: Value| {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        UnsignedEvent::from_event(Event {
            id,
            time: fmt(time),
            kind: kind.into(),
            actor: "bench".into(),
            body,
        })
        .unwrap()
    };
    let boot = event(
        0,
        t0 - Duration::hours(1),
        "custodian.bootstrap",
        json!({"custodians": [alice.spec(), bob.spec()]}),
    );
    let mut batch: Vec<(UnsignedEvent, Vec<Approval>)> =
        vec![(boot.clone(), vec![alice.approve(&boot), bob.approve(&boot)])];
    for (i, e) in entries.iter().enumerate() {
        let ev = event(i + 1, e.time, e.kind, e.body.clone());
        let approvals = if e.approved {
            vec![alice.approve(&ev), bob.approve(&ev)]
        } else {
            vec![]
        };
        batch.push((ev, approvals));
    }
    l.append_batch(batch).unwrap().map_or(0, |r| r.count)
}

fn main() {
    let accounts: u64 = std::env::var("ROOTKEY_BENCH_ACCOUNTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let t0 =
        OffsetDateTime::from_unix_timestamp(1_735_800_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (entries, facts) = ledger(t0, accounts);
    let dir = tempfile::tempdir().expect("temp dir for the benchmark ledger");
    let db = dir.path().join("custody.db");
    let start = Instant::now();
    let n = write(&db, &entries, t0);
    println!("built a {n}-entry custody ledger in {:?}", start.elapsed());

    let start = Instant::now();
    let ledger = Ledger::open_readonly(&db).unwrap();
    let verified = verify_ledger(&ledger, &VerifyOptions::default()).unwrap();
    let verify_time = start.elapsed();
    if let Some(f) = &verified.report.failure {
        eprintln!("verification failed: {f}");
        std::process::exit(1);
    }
    let state = verified.state;
    println!(
        "verify (integrity + custody fold, {} approvals and {} proofs checked): {} entries, {} keys, {} checkouts in {:?}",
        verified.report.approvals_verified,
        state.checkouts().len(),
        verified.report.entries,
        state.keys().len(),
        state.checkouts().len(),
        verify_time
    );

    let now = t0 + Duration::days(80);
    let start = Instant::now();
    let report = build_report(AuditInput {
        state: &state,
        aws: &facts,
        accounts: None,
        integrity: LedgerIntegrity {
            intact: true,
            anchor: Anchor::Vkey,
            vkey: "bench+00000000+AA".into(),
            entries: verified.report.entries,
            checkpoint: "bench\n".into(),
            saved_checkpoint: SavedCheckpoint::NotGiven,
            problems: vec![],
        },
        generated_at: now,
        period_start: t0,
        ledger_origin: "bench".into(),
        scope: "organization".into(),
        tool_version: "bench".into(),
        aws_warnings: vec![],
        evidence: None,
    });
    println!(
        "build_report: {} accounts, {} logins, {} findings, verdict {} in {:?}",
        report.accounts.len(),
        report.logins.len(),
        report.findings.len(),
        report.verdict.label(),
        start.elapsed()
    );

    for format in [Format::Json, Format::Markdown, Format::Html] {
        let start = Instant::now();
        let text = report::render(&report, format);
        let digest = report::digest(text.as_bytes());
        println!(
            "render {}: {} bytes in {:?} (sha256 {}…)",
            format.as_str(),
            text.len(),
            start.elapsed(),
            &digest[..12]
        );
    }
}
