//! The one adapter into [`Record`]: from the unified finding model ([`crate::findings::Finding`])
//! that `aws posture` and `audit` both report. A change of that model changes this file only.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{merge, Record, Resource, Status};
use crate::aws::Evidence;
use crate::findings::{Finding, FindingSource, FindingStatus, Severity};

/// What a finding is about, for the exported resource. A per-account check names the account;
/// a `ROOT-*` check (the AWS reader's, or a sign-in or use of root judged against the custody
/// ledger) is about the root user, whatever instance it names (a key id, a sign-in time); an
/// `ORG-*` check is about the organization, filed under its management account; the rest are
/// custody objects (a key, a checkout).
fn resource(f: &Finding) -> Resource {
    if f.resource.is_empty() || Some(f.resource.as_str()) == f.account.as_deref() {
        Resource::Account
    } else if f.check.starts_with("ROOT-") || f.resource.starts_with("arn:") {
        Resource::RootUser
    } else if f.check.starts_with("ORG-") || f.source == FindingSource::Aws {
        Resource::Account
    } else {
        Resource::Custody
    }
}

/// The earliest time an evidence value names (a credential's creation or upload date, a
/// device's enable date), if any.
fn evidence_time(f: &Finding) -> Option<OffsetDateTime> {
    f.evidence
        .values()
        .filter_map(|v| v.as_str())
        .filter_map(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .min()
}

/// Records of findings (open, accepted, remediated, passed). `CreatedAt` is the first recorded
/// audit that saw the finding (`first_audit`, by identity, from the ledger), else the earliest
/// time its evidence names, else when the evidence was read; findings without an account are
/// filed under the account that read the evidence.
pub fn from_findings<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    evidence: &Evidence,
    first_audit: &BTreeMap<String, OffsetDateTime>,
) -> Vec<Record> {
    let read_at = evidence.read_at;
    let mut out = Vec::new();
    for f in findings {
        let status = match f.status {
            // An open informational finding records something to look at, not a failure; an
            // accepted one is still a failure whose risk someone took on.
            FindingStatus::Open if f.severity == Severity::Info => Status::Warning,
            FindingStatus::Open | FindingStatus::Accepted => Status::Failed,
            FindingStatus::Remediated | FindingStatus::Passed => Status::Passed,
        };
        let seen = evidence_time(f).map_or(read_at, |t| t.min(read_at));
        let first_seen = first_audit
            .get(&f.identity())
            .map_or(seen, |t| (*t).min(seen));
        let description = if f.evidence.is_empty() {
            f.title.clone()
        } else {
            f.evidence
                .iter()
                .map(|(k, v)| format!("{k}: {}", Finding::evidence_text(v)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        out.push(Record {
            id: f.id.clone(),
            check: f.check.clone(),
            status,
            severity: if status == Status::Passed {
                Severity::Info
            } else {
                f.severity
            },
            account_id: f
                .account
                .clone()
                .unwrap_or_else(|| evidence.caller.account.clone()),
            resource: resource(f),
            subject: f.resource.clone(),
            title: f.title.clone(),
            description,
            controls: f
                .controls
                .iter()
                .map(|c| format!("{} {}/{}", c.framework, c.version, c.id))
                .collect(),
            standards: f.controls.iter().map(|c| c.framework.to_string()).collect(),
            first_seen,
        });
    }
    merge(out)
}

/// Records of a posture report: every account's findings and passed checks.
pub fn from_posture(report: &crate::aws::Report, evidence: &Evidence) -> Vec<Record> {
    from_findings(
        report
            .accounts
            .iter()
            .flat_map(|a| a.findings.iter().chain(a.passed.iter())),
        evidence,
        &BTreeMap::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::catalogue;

    fn status_of(f: &Finding) -> Status {
        let evidence = crate::aws::load_evidence(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/custody/demo/aws-evidence.json"
        )))
        .unwrap();
        from_findings([f], &evidence, &BTreeMap::new())[0].status
    }

    #[test]
    fn an_explained_sign_in_is_a_warning_and_an_accepted_risk_still_a_failure() {
        let acct = Some("123456789012");
        let explained = Finding::new(
            catalogue::known("ROOT-LOGIN-EXPLAINED"),
            acct,
            "2025-01-01T00:00:00Z",
        );
        assert_eq!(explained.severity, Severity::Info);
        assert_eq!(status_of(&explained), Status::Warning);
        let mut unexplained = Finding::new(
            catalogue::known("ROOT-LOGIN-UNEXPLAINED"),
            acct,
            "2025-01-01T00:00:00Z",
        );
        assert_eq!(status_of(&unexplained), Status::Failed);
        unexplained.status = FindingStatus::Accepted;
        assert_eq!(status_of(&unexplained), Status::Failed);
        let passed = Finding::passed(catalogue::known("ROOT-MFA-MISSING"), "123456789012");
        assert_eq!(status_of(&passed), Status::Passed);
    }
}
