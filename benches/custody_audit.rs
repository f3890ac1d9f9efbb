//! How long the custody fold and an organization-wide audit take at scale.
//!
//! Builds a synthetic ledger (accounts × (2 enrollments, 2 confirmations, 1 account enrollment,
//! `CYCLES` checkout/check-in pairs)), folds it, builds the audit report against matching AWS
//! facts, renders it in the three formats and hashes each. Prints one line per stage.

use std::time::Instant;

use rootkey::aws::{AccountReport, MfaDevice, MfaKind, RootLogin, RootPosture};
use rootkey::custody::{build_report, AuditInput, CustodyState, LedgerEvent};
use rootkey::report::{self, Anchor, Format, LedgerIntegrity, SavedCheckpoint};
use rootkey::webauthn::{b64url, sha256, CoseKey};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const ACCOUNTS: u64 = 1000;
const CYCLES: u64 = 10;

struct Entry {
    seq: u64,
    time: OffsetDateTime,
    kind: &'static str,
    body: Value,
}

fn fmt(t: OffsetDateTime) -> String {
    report::fmt_time(t)
}

fn ledger(t0: OffsetDateTime) -> (Vec<Entry>, Vec<AccountReport>) {
    let mut out = Vec::new();
    let mut facts = Vec::new();
    let mut seq = 0;
    let mut push = |time, kind, body| {
        seq += 1;
        out.push(Entry {
            seq,
            time,
            kind,
            body,
        });
    };
    for a in 0..ACCOUNTS {
        let acct = format!("{:012}", 100_000_000_000 + a);
        let mut devices = Vec::new();
        let mut logins = Vec::new();
        for (i, role) in ["primary", "backup"].iter().enumerate() {
            let key = format!("k{a}x{i}");
            let cose = CoseKey::EdDsa {
                x: sha256(key.as_bytes()),
            }
            .to_cbor();
            push(
                t0,
                "key.enrolled",
                json!({
                "key_id": key, "account_id": acct, "role": role,
                "aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "model": "YubiKey 5 NFC",
                "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556"},
                "custody_credential_id": b64url(key.as_bytes()), "custody_public_key": b64url(&cose),
                "location": format!("Safe {i} for {acct}"), "bag_serial": format!("B-{key}"),
                "aws_device_name": format!("rootkey-{key}")}),
            );
            let serial = format!("arn:aws:iam::{acct}:u2f/root/rootkey-{key}-XYZ");
            push(
                t0,
                "key.registration_confirmed",
                json!({
                "key_id": key, "account_id": acct, "serial_arn": serial,
                "enable_date": fmt(t0), "source": "api"}),
            );
            devices.push(MfaDevice {
                kind: MfaKind::classify(&serial),
                serial,
                enable_date: Some(t0),
            });
        }
        push(
            t0,
            "account.enrolled",
            json!({"account_id": acct, "primary_key_id": format!("k{a}x0"), "backup_key_id": format!("k{a}x1")}),
        );
        let key = format!("k{a}x0");
        let mut bag = format!("B-{key}");
        for c in 0..CYCLES {
            let start = t0 + Duration::days(1 + c as i64 * 7);
            let end = start + Duration::hours(4);
            push(
                start,
                "key.checked_out",
                json!({
                "key_id": key, "account_id": acct, "reason": "maintenance", "ticket": format!("CHG-{c}"),
                "window_start": fmt(start), "window_end": fmt(end), "requester": "alice",
                "approver": "bob", "bag_broken": bag}),
            );
            bag = format!("B-{key}-{c}");
            push(
                start + Duration::hours(2),
                "key.checked_in",
                json!({
                "key_id": key, "account_id": acct, "bag_serial": bag, "late": false,
                "proof": {"challenge": "AA", "authenticator_data": "AA", "client_data_json": "AA",
                          "signature": "AA", "counter": c + 1}}),
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
        });
    }
    (out, facts)
}

fn main() {
    let t0 =
        OffsetDateTime::from_unix_timestamp(1_735_800_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (entries, facts) = ledger(t0);
    let approvers = vec!["alice".to_string(), "bob".to_string()];

    let start = Instant::now();
    let state = CustodyState::fold(entries.iter().map(|e| LedgerEvent {
        seq: e.seq,
        time: e.time,
        kind: e.kind,
        actor: "bench",
        body: &e.body,
        approvers: &approvers,
    }));
    let fold_time = start.elapsed();
    let state = match state {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fold failed: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "fold: {} events, {} keys, {} checkouts in {:?}",
        entries.len(),
        state.keys.len(),
        state.checkouts.len(),
        fold_time
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
            entries: entries.len() as u64,
            checkpoint: "bench\n".into(),
            saved_checkpoint: SavedCheckpoint::NotGiven,
            problems: vec![],
        },
        generated_at: now,
        period_start: t0,
        ledger_origin: "bench".into(),
        scope: "organization".into(),
        tool_version: "bench".into(),
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
