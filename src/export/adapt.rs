//! Adapters into [`Record`]: from the AWS posture report (`rootkey aws posture`) and from the
//! audit report (`rootkey audit`). The one place that knows the finding models; a unified model
//! replaces these two functions, not the writers.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{merge, Record, Resource, Status};
use crate::aws::{AccountReport, Evidence, FindingId, Report, RootPosture, Severity};

/// Per-account checks that can pass, and whether the evidence read what each needs: a check
/// whose inputs were not read is neither passed nor failed (its READ-INCOMPLETE finding says so).
const PASSABLE: [FindingId; 5] = [
    FindingId::RootMfaMissing,
    FindingId::RootMfaVirtual,
    FindingId::RootBackupKeyMissing,
    FindingId::RootAccessKey,
    FindingId::RootSigningCert,
];

fn read_for(id: FindingId, p: &RootPosture) -> bool {
    match id {
        FindingId::RootAccessKey => p.access_keys.is_some(),
        FindingId::RootSigningCert => p.signing_certificates.is_some(),
        _ => p.mfa_devices_complete,
    }
}

/// What a check is about.
fn resource(id: FindingId) -> Resource {
    match id {
        FindingId::OrgCentralRootDisabled
        | FindingId::OrgRootSessionsDisabled
        | FindingId::ReadIncomplete
        | FindingId::RootUsageAlertMissing
        | FindingId::RootEmailDomain => Resource::Account,
        _ => Resource::RootUser,
    }
}

/// Checks judged once per account: their record is one per account (so a later pass closes
/// it); the others (logins, uses, unparsed events, incomplete reads) are one per occurrence.
fn per_account(id: FindingId) -> bool {
    !matches!(
        id,
        FindingId::RootLogin
            | FindingId::RootLoginFailed
            | FindingId::RootUsed
            | FindingId::RootEventUnparsed
            | FindingId::ReadIncomplete
    )
}

/// When the evidence says the problem began: the credential's creation or upload date, the
/// virtual device's enable date; else when the evidence was read.
fn first_seen(
    id: FindingId,
    text: &str,
    p: &RootPosture,
    read_at: OffsetDateTime,
) -> OffsetDateTime {
    let found = match id {
        FindingId::RootAccessKey => p
            .access_keys
            .iter()
            .flatten()
            .filter(|k| k.id.as_deref().is_some_and(|i| text.contains(i)))
            .find_map(|k| k.created),
        FindingId::RootSigningCert => p
            .signing_certificates
            .iter()
            .flatten()
            .filter(|c| c.id.as_deref().is_some_and(|i| text.contains(i)))
            .find_map(|c| c.uploaded),
        FindingId::RootMfaVirtual => p
            .mfa_devices
            .iter()
            .filter(|d| text.contains(&d.serial))
            .find_map(|d| d.enable_date),
        _ => None,
    };
    found.unwrap_or(read_at).min(read_at)
}

fn account_records(a: &AccountReport, read_at: OffsetDateTime) -> Vec<Record> {
    let mut out = Vec::new();
    for f in &a.findings {
        out.push(Record {
            check: f.id.as_str().into(),
            status: Status::Failed,
            severity: f.severity,
            account_id: a.account_id.clone(),
            resource: resource(f.id),
            subject: if per_account(f.id) {
                String::new()
            } else {
                f.evidence.clone()
            },
            title: f.id.title().into(),
            description: f.evidence.clone(),
            controls: f.controls.clone(),
            first_seen: first_seen(f.id, &f.evidence, &a.posture, read_at),
        });
    }
    if a.posture.account_inactive() {
        return out;
    }
    for id in PASSABLE {
        if a.findings.iter().any(|f| f.id == id) || !read_for(id, &a.posture) {
            continue;
        }
        out.push(Record {
            check: id.as_str().into(),
            status: Status::Passed,
            severity: Severity::Info,
            account_id: a.account_id.clone(),
            resource: resource(id),
            subject: String::new(),
            title: id.title().into(),
            description: format!("passed: not the case for the root user of {}", a.account_id),
            controls: id.controls().iter().map(|c| c.to_string()).collect(),
            first_seen: read_at,
        });
    }
    out
}

/// Records of a posture report (failed findings, and passed per-account checks).
pub fn from_posture(report: &Report, evidence: &Evidence) -> Vec<Record> {
    merge(
        report
            .accounts
            .iter()
            .flat_map(|a| account_records(a, evidence.read_at))
            .collect(),
    )
}

/// Records of an audit report: its findings (failed), and the posture's passed checks for
/// accounts where the audit found nothing of that check. `first_audit` gives when a recorded
/// audit first saw a finding identity (`CODE|account|subject`), from the ledger; findings
/// without an account are filed under `home_account` (the account that ran the audit).
pub fn from_audit(
    audit: &crate::report::AuditReport,
    posture: &Report,
    evidence: &Evidence,
    home_account: &str,
    first_audit: &BTreeMap<String, OffsetDateTime>,
) -> Vec<Record> {
    let mut out = Vec::new();
    for f in &audit.findings {
        let aws_id = aws_finding_id(&f.code);
        let account = f
            .account_id
            .clone()
            .unwrap_or_else(|| home_account.to_string());
        let from_evidence = aws_id
            .and_then(|id| {
                let a = evidence.accounts.iter().find(|a| a.account_id == account)?;
                Some(first_seen(id, &f.subject, &a.posture, evidence.read_at))
            })
            .unwrap_or(evidence.read_at);
        let first = first_audit
            .get(&f.identity())
            .copied()
            .map_or(from_evidence, |t| t.min(from_evidence));
        let description = if f.evidence.is_empty() {
            f.subject.clone()
        } else {
            f.evidence
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(Record {
            check: f.code.clone(),
            status: Status::Failed,
            severity: f.severity,
            account_id: account,
            resource: match aws_id {
                Some(id) => resource(id),
                None if f.key_id.is_some() => Resource::Custody,
                None => Resource::Account,
            },
            subject: match aws_id {
                Some(id) if per_account(id) => String::new(),
                _ => f.subject.clone(),
            },
            title: f.title.clone(),
            description,
            controls: f.controls.clone(),
            first_seen: first,
        });
    }
    for p in from_posture(posture, evidence)
        .into_iter()
        .filter(|p| p.status == Status::Passed)
    {
        if !out
            .iter()
            .any(|r| r.account_id == p.account_id && r.check == p.check)
        {
            out.push(p);
        }
    }
    merge(out)
}

/// The AWS finding id a report code names, if it is one.
fn aws_finding_id(code: &str) -> Option<FindingId> {
    serde_json::from_value(serde_json::Value::String(code.to_string())).ok()
}
