//! Judging evidence: `evaluate(&Evidence, &FindingConfig) -> Report`, pure and deterministic, so
//! an auditor who re-runs it on an evidence file gets the same findings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{
    AccountEvidence, Check as ReadCheck, CredentialStatus, Evidence, PasswordState, RootPosture,
};
use super::serial::MfaKind;
use crate::findings::{root_arn, Check, FindingStatus};

/// The `[aws]` configuration section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingConfig {
    /// Email domains root addresses must belong to (exact match, case-insensitive); empty turns
    /// the `ROOT-EMAIL-DOMAIN` check off.
    #[serde(default)]
    pub company_domains: Vec<String>,
}

/// The posture checks `evaluate` makes, as typed ids of [`crate::findings::CHECKS`] entries.
/// Root sign-ins and root usage are judged with the ledger's checkouts by
/// `custody::findings` (for `aws posture` and `audit` alike), not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FindingId {
    /// Root has no MFA.
    #[serde(rename = "ROOT-MFA-MISSING")]
    RootMfaMissing,
    /// A virtual MFA device is assigned to root.
    #[serde(rename = "ROOT-MFA-VIRTUAL")]
    RootMfaVirtual,
    /// Fewer than two FIDO security keys on root.
    #[serde(rename = "ROOT-BACKUP-KEY-MISSING")]
    RootBackupKeyMissing,
    /// Root has an access key.
    #[serde(rename = "ROOT-ACCESS-KEY")]
    RootAccessKey,
    /// Root has a signing certificate.
    #[serde(rename = "ROOT-SIGNING-CERT")]
    RootSigningCert,
    /// A member's root has a password although centralized root access is on.
    #[serde(rename = "ROOT-PASSWORD-PRESENT")]
    RootPasswordPresent,
    /// The root email is outside the company domains.
    #[serde(rename = "ROOT-EMAIL-DOMAIN")]
    RootEmailDomain,
    /// Centralized root access is not fully enabled.
    #[serde(rename = "ORG-CENTRAL-ROOT-DISABLED")]
    OrgCentralRootDisabled,
    /// A check could not be made.
    #[serde(rename = "READ-INCOMPLETE")]
    ReadIncomplete,
    /// `RootCredentialsManagement` is on but `RootSessions` is off.
    #[serde(rename = "ORG-ROOT-SESSIONS-DISABLED")]
    OrgRootSessionsDisabled,
    /// A CloudTrail event about root could not be interpreted (kept raw in the evidence).
    #[serde(rename = "ROOT-EVENT-UNPARSED")]
    RootEventUnparsed,
    /// No organization trail, and no metric filter + alarm on root usage was verified.
    #[serde(rename = "ROOT-USAGE-ALERT-MISSING")]
    RootUsageAlertMissing,
}

impl FindingId {
    /// The stable check id (`ROOT-MFA-MISSING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::RootMfaMissing => "ROOT-MFA-MISSING",
            FindingId::RootMfaVirtual => "ROOT-MFA-VIRTUAL",
            FindingId::RootBackupKeyMissing => "ROOT-BACKUP-KEY-MISSING",
            FindingId::RootAccessKey => "ROOT-ACCESS-KEY",
            FindingId::RootSigningCert => "ROOT-SIGNING-CERT",
            FindingId::RootPasswordPresent => "ROOT-PASSWORD-PRESENT",
            FindingId::RootEmailDomain => "ROOT-EMAIL-DOMAIN",
            FindingId::OrgCentralRootDisabled => "ORG-CENTRAL-ROOT-DISABLED",
            FindingId::ReadIncomplete => "READ-INCOMPLETE",
            FindingId::OrgRootSessionsDisabled => "ORG-ROOT-SESSIONS-DISABLED",
            FindingId::RootEventUnparsed => "ROOT-EVENT-UNPARSED",
            FindingId::RootUsageAlertMissing => "ROOT-USAGE-ALERT-MISSING",
        }
    }

    /// Its catalogue entry (title, default severity, controls, remediation).
    pub fn check(self) -> &'static Check {
        crate::findings::catalogue::known(self.as_str())
    }

    /// Every posture check, for the passed list.
    pub const ALL: [FindingId; 12] = [
        FindingId::RootMfaMissing,
        FindingId::RootMfaVirtual,
        FindingId::RootBackupKeyMissing,
        FindingId::RootAccessKey,
        FindingId::RootSigningCert,
        FindingId::RootPasswordPresent,
        FindingId::RootEmailDomain,
        FindingId::OrgCentralRootDisabled,
        FindingId::ReadIncomplete,
        FindingId::OrgRootSessionsDisabled,
        FindingId::RootEventUnparsed,
        FindingId::RootUsageAlertMissing,
    ];
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one severity scale, defined with the finding model.
pub use crate::findings::{Finding, Severity};

/// One account's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountReport {
    /// Account id.
    pub account_id: String,
    /// Account name, when known.
    pub name: Option<String>,
    /// Account email, when known.
    pub email: Option<String>,
    /// Whether this is the management (or standalone) account.
    pub management: bool,
    /// A member with no root credentials under centralized root access (compliant).
    pub credential_less: bool,
    /// The facts read.
    pub posture: RootPosture,
    /// What is wrong (status open, or accepted once the ledger is consulted).
    pub findings: Vec<Finding>,
    /// The checks that ran on this account and found nothing (status passed).
    #[serde(default)]
    pub passed: Vec<Finding>,
}

impl AccountReport {
    /// Records `check` as passed unless it found something here.
    pub fn pass_unless_found(&mut self, check: &Check) {
        if !self.findings.iter().any(|f| f.check == check.id)
            && !self.passed.iter().any(|f| f.check == check.id)
        {
            self.passed.push(Finding::passed(check, &self.account_id));
        }
    }
}

/// Counts over the whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Accounts evaluated.
    pub accounts: usize,
    /// Accounts without any finding.
    pub compliant_accounts: usize,
    /// Credential-less members.
    pub credential_less_accounts: usize,
    /// Suspended or closed accounts (listed, not judged).
    #[serde(default)]
    pub inactive_accounts: usize,
    /// Total findings.
    pub findings: usize,
    /// Findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per check id.
    pub by_id: BTreeMap<String, usize>,
    /// Checks passed, over all accounts.
    #[serde(default)]
    pub passed: usize,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The finding schema ([`crate::findings::SCHEMA_VERSION`]).
    #[serde(default)]
    pub schema_version: String,
    /// One entry per account, in evidence order.
    pub accounts: Vec<AccountReport>,
    /// Counts.
    pub summary: Summary,
    /// Limits of the evidence that are not findings on any account (e.g. a period older than
    /// CloudTrail's event history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// True when any account has an open finding above info.
    pub fn has_findings(&self) -> bool {
        self.summary
            .by_severity
            .iter()
            .any(|(s, n)| *s > Severity::Info && *n > 0)
    }

    /// Recomputes [`Report::summary`] from the accounts (after findings were added).
    pub fn summarize(&mut self) {
        let mut summary = Summary {
            accounts: self.accounts.len(),
            ..Summary::default()
        };
        for a in &self.accounts {
            let open = a
                .findings
                .iter()
                .filter(|f| f.status == FindingStatus::Open);
            let mut any = false;
            for f in open {
                any = true;
                summary.findings += 1;
                *summary.by_severity.entry(f.severity).or_default() += 1;
                *summary.by_id.entry(f.check.clone()).or_default() += 1;
            }
            if a.posture.account_inactive() {
                summary.inactive_accounts += 1;
            } else if !any {
                summary.compliant_accounts += 1;
            }
            if a.credential_less {
                summary.credential_less_accounts += 1;
            }
            summary.passed += a.passed.len();
        }
        self.summary = summary;
    }
}

/// Evaluates evidence against the rules. Pure: same input, same report.
pub fn evaluate(evidence: &Evidence, config: &FindingConfig) -> Report {
    // RootCredentialsManagement: on, off, or unknown (not read). Never assumed off.
    let central: Option<bool> = evidence
        .organization
        .as_ref()
        .and_then(|o| o.features)
        .map(|f| f.root_credentials_management);
    let mut accounts: Vec<AccountReport> = evidence
        .accounts
        .iter()
        .map(|a| evaluate_account(a, central, config))
        .collect();
    let organization_scope = evidence.is_organization_scope();
    if let Some(org) = &evidence.organization {
        let target = org
            .management_account_id
            .clone()
            .or_else(|| {
                accounts
                    .iter()
                    .find(|a| a.management)
                    .map(|a| a.account_id.clone())
            })
            .unwrap_or_else(|| evidence.caller.account.clone());
        let mut org_findings = Vec::new();
        let why_off = org
            .features_off_reason
            .as_deref()
            .map(|c| format!(" (ListOrganizationsFeatures: {c})"))
            .unwrap_or_default();
        match org.features {
            Some(f) if !f.root_credentials_management => {
                let mut missing = vec!["RootCredentialsManagement"];
                if !f.root_sessions {
                    missing.push("RootSessions");
                }
                org_findings.push(finding(
                    FindingId::OrgCentralRootDisabled,
                    Severity::High,
                    &target,
                    "organization",
                    format!(
                        "organization features not enabled: {}{why_off}",
                        missing.join(", ")
                    ),
                ));
            }
            Some(f) if !f.root_sessions => {
                org_findings.push(finding(
                    FindingId::OrgRootSessionsDisabled,
                    Severity::Low,
                    &target,
                    "organization",
                    "RootCredentialsManagement is on, RootSessions is not".into(),
                ));
            }
            Some(_) => {}
            None if organization_scope => {
                org_findings.push(finding(
                    FindingId::ReadIncomplete,
                    Severity::High,
                    &target,
                    "organization",
                    format!("organization_features: not read ({})", errors_text(org)),
                ));
            }
            // `--account` mode: the per-account judgement says where the unknown matters.
            None => {}
        }
        let org_checks: &[FindingId] = if org.features.is_some() {
            &[
                FindingId::OrgCentralRootDisabled,
                FindingId::OrgRootSessionsDisabled,
            ]
        } else {
            &[]
        };
        if let Some(acc) = accounts.iter_mut().find(|a| a.account_id == target) {
            for c in org_checks {
                if !org_findings.iter().any(|f| f.check == c.as_str()) {
                    acc.pass_unless_found(c.check());
                }
            }
        }
        if !org_findings.is_empty() {
            match accounts.iter_mut().find(|a| a.account_id == target) {
                Some(acc) => acc.findings.splice(0..0, org_findings).for_each(drop),
                None => accounts.insert(
                    0,
                    AccountReport {
                        account_id: target,
                        name: None,
                        email: None,
                        management: true,
                        credential_less: false,
                        posture: RootPosture::default(),
                        findings: org_findings,
                        passed: Vec::new(),
                    },
                ),
            }
        }
    }
    alerting_findings(evidence, &mut accounts);
    for acc in accounts.iter_mut() {
        if acc.posture.usage_alerting.is_some() {
            acc.pass_unless_found(FindingId::RootUsageAlertMissing.check());
        }
    }
    let mut warnings = Vec::new();
    if let Some(gap) = evidence.cloudtrail_gap() {
        warnings.push(format!(
            "the period starts {} but CloudTrail's event history keeps {} days: root sign-ins \
             and root activity from {} to {} cannot be seen (use CloudTrail Lake or the trail's \
             S3 archive for that part)",
            rfc3339(gap.since),
            super::CLOUDTRAIL_RETENTION_DAYS,
            rfc3339(gap.since),
            rfc3339(gap.until)
        ));
    }
    let mut report = Report {
        schema_version: crate::findings::SCHEMA_VERSION.to_string(),
        accounts,
        summary: Summary::default(),
        warnings,
    };
    report.summarize();
    report
}

fn errors_text(org: &super::model::OrganizationFacts) -> String {
    org.errors
        .iter()
        .map(|e| format!("{} {}: {}", e.call, e.code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Root usage alerting (Security Hub CloudWatch.1): an organization trail seen from any
/// account covers the organization; otherwise each account whose trails were read gets a
/// finding unless a metric filter with the CIS root-usage pattern has an alarm there.
fn alerting_findings(evidence: &Evidence, accounts: &mut [AccountReport]) {
    let org_trail = evidence.accounts.iter().find_map(|a| {
        a.posture
            .usage_alerting
            .as_ref()
            .and_then(|u| u.organization_trails.first())
    });
    if org_trail.is_some() {
        return;
    }
    for acc in accounts.iter_mut() {
        let Some(u) = &acc.posture.usage_alerting else {
            continue;
        };
        if u.root_usage_alarms.as_ref().is_some_and(|a| !a.is_empty()) {
            continue;
        }
        let to_logs = match (&u.root_usage_alarms, u.trails_to_cloudwatch_logs.is_empty()) {
            (_, true) => "no trail delivers to CloudWatch Logs".to_string(),
            (Some(_), false) => format!(
                "no metric filter with an alarm on root usage on the log groups of {}",
                u.trails_to_cloudwatch_logs.join(", ")
            ),
            (None, false) => format!(
                "trails delivering to CloudWatch Logs: {} (their metric filters and alarms were not read)",
                u.trails_to_cloudwatch_logs.join(", ")
            ),
        };
        let f = finding(
            FindingId::RootUsageAlertMissing,
            Severity::Low,
            &acc.account_id,
            root_arn(&acc.account_id),
            format!("no organization trail visible; {to_logs}"),
        );
        acc.findings.push(f);
    }
}

/// A posture finding on `resource` of `account`, with the reader's sentence as `detail`.
fn finding(
    id: FindingId,
    severity: Severity,
    account: &str,
    resource: impl Into<String>,
    detail: String,
) -> Finding {
    Finding::new(id.check(), Some(account), resource)
        .severity(severity)
        .with("detail", detail)
}

/// How much a missing check matters: the core root credentials weigh more than the
/// account-level cross-checks, which an `AssumeRoot` session already covers.
fn incomplete_severity(check: ReadCheck) -> Severity {
    match check {
        ReadCheck::Session
        | ReadCheck::MfaDevices
        | ReadCheck::AccessKeys
        | ReadCheck::SigningCertificates => Severity::High,
        ReadCheck::Password | ReadCheck::Logins | ReadCheck::OrganizationFeatures => {
            Severity::Medium
        }
        ReadCheck::AccountSummary
        | ReadCheck::CredentialReport
        | ReadCheck::VirtualMfaDevices
        | ReadCheck::AccountEmail
        | ReadCheck::RootActivity
        | ReadCheck::UsageAlerting => Severity::Low,
    }
}

fn check_name(check: ReadCheck) -> String {
    serde_json::to_value(check)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{check:?}"))
}

fn evaluate_account(
    a: &AccountEvidence,
    central: Option<bool>,
    config: &FindingConfig,
) -> AccountReport {
    let p = &a.posture;
    let id = a.account_id.as_str();
    if p.account_inactive() {
        // Suspended or closed: listed as such, not read, not judged.
        return AccountReport {
            account_id: a.account_id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            management: a.management,
            credential_less: false,
            posture: p.clone(),
            findings: Vec::new(),
            passed: Vec::new(),
        };
    }
    let mut out = Vec::new();
    // (check, detail) pairs that could not be judged; folded into one READ-INCOMPLETE below.
    let mut incomplete: Vec<(ReadCheck, String)> = Vec::new();
    for e in &p.errors {
        incomplete.push((
            e.check,
            format!("{} failed: {} {}", e.call, e.code, e.message),
        ));
    }
    for n in &p.not_read {
        incomplete.push((n.check, format!("not read: {}", n.reason)));
    }

    let no_credentials = !a.management && p.has_no_credentials();
    let credential_less = no_credentials && central == Some(true);
    // A member root with no credentials is compliant only under RootCredentialsManagement
    // (otherwise password recovery can give it a password). When that could not be read, the
    // state is unknown: say so rather than call it "MFA missing".
    let central_unknown = no_credentials && central.is_none();
    if central_unknown {
        incomplete.push((
            ReadCheck::OrganizationFeatures,
            "root has no credentials; whether the organization has RootCredentialsManagement \
             on (which makes that compliant) could not be read: run with access to \
             iam:ListOrganizationsFeatures (management or delegated administrator account)"
                .into(),
        ));
    }
    if !credential_less && !central_unknown {
        let virtuals: Vec<&str> = p
            .mfa_devices
            .iter()
            .filter(|d| d.kind == MfaKind::Virtual)
            .map(|d| d.serial.as_str())
            .collect();
        let fido = p
            .mfa_devices
            .iter()
            .filter(|d| d.kind == MfaKind::Fido)
            .count();
        let no_mfa = (p.mfa_devices_complete && p.mfa_devices.is_empty())
            || (p.mfa_devices.is_empty() && p.mfa_active == Some(false));
        if no_mfa {
            out.push(finding(
                FindingId::RootMfaMissing,
                Severity::Critical,
                id,
                root_arn(id),
                "root has no MFA device".into(),
            ));
        }
        for serial in &virtuals {
            out.push(finding(
                FindingId::RootMfaVirtual,
                Severity::High,
                id,
                *serial,
                format!("virtual MFA assigned to root: {serial}"),
            ));
        }
        if p.mfa_devices_complete || no_mfa {
            if fido < 2 {
                out.push(
                    finding(
                        FindingId::RootBackupKeyMissing,
                        Severity::Medium,
                        id,
                        root_arn(id),
                        format!("{fido} FIDO security key(s) on root; two are required"),
                    )
                    .with("fido_keys", fido),
                );
            }
        } else if p.mfa_active != Some(false) {
            incomplete.push((
                ReadCheck::MfaDevices,
                "root's non-virtual MFA devices cannot be listed without a root session \
                 (sign in as root or use --organization for AssumeRoot)"
                    .into(),
            ));
        }
    }

    match &p.access_keys {
        Some(keys) => {
            for k in keys {
                let (sev, what) = match k.status {
                    CredentialStatus::Active => (Severity::Critical, "active"),
                    CredentialStatus::Unknown => (Severity::High, "present, status unknown"),
                    // IAM.4 is presence-based: an inactive key still fails it.
                    CredentialStatus::Inactive => (Severity::Critical, "inactive (still present)"),
                };
                let name = k.name();
                let used = k
                    .last_used
                    .map(|t| format!(", last used {}", rfc3339(t)))
                    .unwrap_or_default();
                out.push(
                    finding(
                        FindingId::RootAccessKey,
                        sev,
                        id,
                        &name,
                        format!("root access key {name} {what}{used}"),
                    )
                    .with("access_key_id", name.as_str())
                    .with("status", what)
                    .with("last_used", k.last_used.map(rfc3339)),
                );
            }
        }
        None => {
            if p.account_summary.is_some_and(|s| s.access_keys_present) {
                out.push(finding(
                    FindingId::RootAccessKey,
                    Severity::High,
                    id,
                    "AccountAccessKeysPresent",
                    "account summary: AccountAccessKeysPresent = 1 (keys not listable)".into(),
                ));
            } else if p.account_summary.is_none() {
                incomplete.push((ReadCheck::AccessKeys, "root access keys not read".into()));
            }
        }
    }

    match &p.signing_certificates {
        Some(certs) => {
            for c in certs {
                let (sev, what) = match c.status {
                    CredentialStatus::Active => (Severity::High, "active"),
                    CredentialStatus::Unknown => (Severity::High, "present, status unknown"),
                    CredentialStatus::Inactive => (Severity::Low, "inactive"),
                };
                let name = c.name();
                out.push(finding(
                    FindingId::RootSigningCert,
                    sev,
                    id,
                    &name,
                    format!("root signing certificate {name} {what}"),
                ));
            }
        }
        None => {
            if p.account_summary
                .is_some_and(|s| s.signing_certificates_present)
            {
                out.push(finding(
                    FindingId::RootSigningCert,
                    Severity::High,
                    id,
                    "AccountSigningCertificatesPresent",
                    "account summary: AccountSigningCertificatesPresent = 1".into(),
                ));
            } else if p.account_summary.is_none() {
                incomplete.push((
                    ReadCheck::SigningCertificates,
                    "root signing certificates not read".into(),
                ));
            }
        }
    }

    if central == Some(true) && !a.management && p.password == PasswordState::Present {
        out.push(finding(
            FindingId::RootPasswordPresent,
            Severity::Medium,
            id,
            root_arn(id),
            "member root has a console password under centralized root access".into(),
        ));
    }

    for e in &p.unparsed_events {
        out.push(finding(
            FindingId::RootEventUnparsed,
            Severity::Medium,
            id,
            e.event_id.clone().unwrap_or_else(|| format!("{} (no event id)", e.region)),
            format!(
                "CloudTrail event {} from {} could not be interpreted ({}); kept raw in the evidence",
                e.event_id.as_deref().unwrap_or("(no id)"),
                e.region,
                e.reason
            ),
        ));
    }

    if !config.company_domains.is_empty() {
        match a.email.as_deref() {
            Some(email) => {
                let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
                let ok = domain.as_deref().is_some_and(|d| {
                    config
                        .company_domains
                        .iter()
                        .any(|c| c.trim_start_matches('@').eq_ignore_ascii_case(d))
                });
                if !ok {
                    out.push(finding(
                        FindingId::RootEmailDomain,
                        Severity::Medium,
                        id,
                        root_arn(id),
                        format!(
                            "root email {email} is outside the company domains ({})",
                            config.company_domains.join(", ")
                        ),
                    ));
                }
            }
            None => incomplete.push((ReadCheck::AccountEmail, "account email unknown".into())),
        }
    }

    if !incomplete.is_empty() {
        incomplete.sort_by_key(|(c, _)| *c);
        let sev = incomplete
            .iter()
            .map(|(c, _)| incomplete_severity(*c))
            .max()
            .unwrap_or(Severity::Low);
        let text = incomplete
            .iter()
            .map(|(c, d)| format!("{}: {d}", check_name(*c)))
            .collect::<Vec<_>>()
            .join("; ");
        let missing: Vec<serde_json::Value> = incomplete
            .iter()
            .map(|(c, d)| serde_json::json!({"check": check_name(*c), "detail": d}))
            .collect();
        out.push(
            finding(FindingId::ReadIncomplete, sev, id, root_arn(id), text)
                .with("missing", missing),
        );
    }

    let mut report = AccountReport {
        account_id: a.account_id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        management: a.management,
        credential_less,
        posture: p.clone(),
        findings: out,
        passed: Vec::new(),
    };
    let mfa_judged = credential_less
        || (!central_unknown && (p.mfa_devices_complete || p.mfa_active == Some(false)));
    for (check, judged) in [
        (FindingId::RootMfaMissing, mfa_judged),
        (FindingId::RootMfaVirtual, mfa_judged),
        (FindingId::RootBackupKeyMissing, mfa_judged),
        (
            FindingId::RootAccessKey,
            p.access_keys.is_some() || p.account_summary.is_some(),
        ),
        (
            FindingId::RootSigningCert,
            p.signing_certificates.is_some() || p.account_summary.is_some(),
        ),
        (
            FindingId::RootPasswordPresent,
            central == Some(true) && !a.management && p.password != PasswordState::Unknown,
        ),
        (
            FindingId::RootEmailDomain,
            !config.company_domains.is_empty() && a.email.is_some(),
        ),
        (FindingId::RootEventUnparsed, p.logins.is_some()),
        (FindingId::ReadIncomplete, true),
    ] {
        if judged {
            report.pass_unless_found(check.check());
        }
    }
    report
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::model::*;

    fn evidence(central: bool, management: bool, posture: RootPosture) -> Evidence {
        let t = time::macros::datetime!(2024-11-01 0:00 UTC);
        Evidence {
            format: EVIDENCE_FORMAT.into(),
            read_at: t,
            caller: CallerIdentity {
                account: "111111111111".into(),
                arn: "arn:aws:iam::111111111111:user/a".into(),
                user_id: "AIDA".into(),
            },
            period: Period { since: t, until: t },
            organization: Some(OrganizationFacts {
                id: None,
                management_account_id: Some("111111111111".into()),
                features: Some(OrgFeatures {
                    root_credentials_management: central,
                    root_sessions: true,
                }),
                features_off_reason: None,
                errors: vec![],
            }),
            accounts: vec![AccountEvidence {
                account_id: if management {
                    "111111111111"
                } else {
                    "222222222222"
                }
                .into(),
                name: None,
                email: None,
                management,
                posture,
            }],
            scope: Some("organization".into()),
        }
    }

    fn empty() -> RootPosture {
        RootPosture {
            mfa_devices_complete: true,
            access_keys: Some(vec![]),
            signing_certificates: Some(vec![]),
            password: PasswordState::Absent,
            logins: Some(vec![]),
            ..RootPosture::default()
        }
    }

    fn ids(r: &Report) -> Vec<FindingId> {
        r.accounts
            .iter()
            .flat_map(|a| a.findings.iter().map(id_of))
            .collect()
    }

    fn id_of(f: &Finding) -> FindingId {
        serde_json::from_value(serde_json::json!(f.check)).unwrap()
    }

    #[test]
    fn credential_less_member_is_compliant_only_under_central_root_access() {
        let cfg = FindingConfig::default();
        let r = evaluate(&evidence(true, false, empty()), &cfg);
        assert!(r.accounts[0].credential_less);
        assert!(!r.has_findings(), "{:?}", ids(&r));
        let r = evaluate(&evidence(false, false, empty()), &cfg);
        assert!(ids(&r).contains(&FindingId::RootMfaMissing));
        assert!(ids(&r).contains(&FindingId::OrgCentralRootDisabled));
    }

    #[test]
    fn management_root_always_needs_hardware_mfa() {
        let r = evaluate(&evidence(true, true, empty()), &FindingConfig::default());
        assert!(!r.accounts[0].credential_less);
        assert!(ids(&r).contains(&FindingId::RootMfaMissing));
        assert!(ids(&r).contains(&FindingId::RootBackupKeyMissing));
    }

    #[test]
    fn unknown_password_is_never_credential_less() {
        let mut p = empty();
        p.password = PasswordState::Unknown;
        let r = evaluate(&evidence(true, false, p), &FindingConfig::default());
        assert!(!r.accounts[0].credential_less);
    }

    #[test]
    fn virtual_device_beside_two_keys_is_still_a_finding() {
        let mut p = empty();
        for s in [
            "arn:aws:iam::1:u2f/root/a",
            "arn:aws:iam::1:u2f/root/b",
            "arn:aws:iam::1:mfa/phone",
        ] {
            p.mfa_devices.push(MfaDevice {
                serial: s.into(),
                kind: MfaKind::classify(s),
                enable_date: None,
            });
        }
        let r = evaluate(&evidence(true, true, p), &FindingConfig::default());
        assert_eq!(ids(&r), vec![FindingId::RootMfaVirtual]);
    }

    #[test]
    fn a_check_that_passes_after_failing_keeps_its_finding_id() {
        // Failing: no MFA at all, a password, and a foreign root email.
        let mut bad = evidence(true, false, empty());
        bad.accounts[0].posture.password = PasswordState::Present;
        bad.accounts[0].email = Some("root@gmail.com".into());
        let cfg = FindingConfig {
            company_domains: vec!["example.com".into()],
        };
        let failed = evaluate(&bad, &cfg).accounts.remove(0).findings;
        // Passing: two FIDO keys, no password, the company's domain.
        let mut good = evidence(true, false, empty());
        for s in ["arn:aws:iam::1:u2f/root/a", "arn:aws:iam::1:u2f/root/b"] {
            good.accounts[0].posture.mfa_devices.push(MfaDevice {
                serial: s.into(),
                kind: MfaKind::classify(s),
                enable_date: None,
            });
        }
        good.accounts[0].email = Some("root@example.com".into());
        let passed = evaluate(&good, &cfg).accounts.remove(0).passed;
        let id = |v: &[Finding], check: &str| {
            v.iter()
                .find(|f| f.check == check)
                .map(|f| f.id.clone())
                .unwrap_or_else(|| panic!("{check} missing"))
        };
        for check in [
            "ROOT-MFA-MISSING",
            "ROOT-BACKUP-KEY-MISSING",
            "ROOT-PASSWORD-PRESENT",
            "ROOT-EMAIL-DOMAIN",
        ] {
            assert_eq!(id(&failed, check), id(&passed, check), "{check}");
        }
    }

    #[test]
    fn email_domain_is_checked_case_insensitively() {
        let mut e = evidence(true, false, empty());
        e.accounts[0].email = Some("Root@Example.COM".into());
        let cfg = FindingConfig {
            company_domains: vec!["example.com".into()],
        };
        assert!(!evaluate(&e, &cfg).has_findings());
        e.accounts[0].email = Some("root@example.com.evil.test".into());
        assert!(ids(&evaluate(&e, &cfg)).contains(&FindingId::RootEmailDomain));
        e.accounts[0].email = None;
        assert!(ids(&evaluate(&e, &cfg)).contains(&FindingId::ReadIncomplete));
    }

    #[test]
    fn evaluation_is_deterministic() {
        let e = evidence(false, true, empty());
        assert_eq!(
            evaluate(&e, &FindingConfig::default()),
            evaluate(&e, &FindingConfig::default())
        );
    }

    #[test]
    fn unknown_central_root_state_is_said_not_assumed_off() {
        let mut e = evidence(true, false, empty());
        e.scope = Some("accounts".into());
        e.organization.as_mut().unwrap().features = None;
        let r = evaluate(&e, &FindingConfig::default());
        let a = &r.accounts[0];
        assert!(!a.credential_less);
        assert_eq!(ids(&r), vec![FindingId::ReadIncomplete]);
        assert_eq!(a.findings[0].severity, Severity::Medium);
        assert!(a.findings[0].evidence["detail"]
            .as_str()
            .unwrap()
            .contains("RootCredentialsManagement"));
        // Older account-mode evidence has no organization at all: the same, not MFA-MISSING.
        e.organization = None;
        e.scope = None;
        assert_eq!(
            ids(&evaluate(&e, &FindingConfig::default())),
            vec![FindingId::ReadIncomplete]
        );
    }

    #[test]
    fn root_sessions_off_is_its_own_lower_finding() {
        let mut e = evidence(true, false, empty());
        e.organization.as_mut().unwrap().features = Some(OrgFeatures {
            root_credentials_management: true,
            root_sessions: false,
        });
        let r = evaluate(&e, &FindingConfig::default());
        let member = r
            .accounts
            .iter()
            .find(|a| a.account_id == "222222222222")
            .unwrap();
        assert!(member.credential_less && member.findings.is_empty());
        let org: Vec<_> = r.accounts.iter().flat_map(|a| &a.findings).collect();
        assert_eq!(org.len(), 1);
        assert_eq!(id_of(org[0]), FindingId::OrgRootSessionsDisabled);
        assert_eq!(org[0].severity, Severity::Low);
    }

    #[test]
    fn suspended_accounts_are_listed_not_judged() {
        let p = RootPosture {
            account_status: Some("SUSPENDED".into()),
            ..RootPosture::default()
        };
        let r = evaluate(&evidence(true, false, p), &FindingConfig::default());
        assert!(!r.has_findings(), "{:?}", ids(&r));
        assert_eq!(r.summary.inactive_accounts, 1);
        assert_eq!(r.summary.compliant_accounts, 0);
    }

    #[test]
    fn inactive_root_access_keys_still_fail_iam4() {
        let mut p = empty();
        p.access_keys = Some(vec![AccessKey {
            id: Some("AKIA".into()),
            status: CredentialStatus::Inactive,
            created: None,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
            slot: None,
        }]);
        let r = evaluate(&evidence(true, false, p), &FindingConfig::default());
        let f = r.accounts[0]
            .findings
            .iter()
            .find(|f| id_of(f) == FindingId::RootAccessKey)
            .unwrap();
        assert_eq!(
            (id_of(f), f.severity),
            (FindingId::RootAccessKey, Severity::Critical)
        );
        assert_eq!(f.resource, "AKIA");
        assert!(f
            .controls
            .contains(&crate::findings::Control::fsbp("IAM.4")));
        assert!(f.controls.contains(&crate::findings::Control::cis("1.3")));
        assert!(FindingId::RootSigningCert.check().controls.is_empty());
    }

    #[test]
    fn usage_failed_sign_ins_and_unparsed_events_are_findings() {
        let t = time::macros::datetime!(2024-10-01 0:00 UTC);
        let mut e = evidence(true, true, empty());
        e.period.since = t - time::Duration::days(30);
        e.period.until = t;
        let p = &mut e.accounts[0].posture;
        p.logins = Some(vec![RootLogin {
            time: t - time::Duration::days(1),
            source_ip: None,
            mfa_used: None,
            success: Some(false),
            region: "us-east-1".into(),
            event_id: None,
        }]);
        p.usage = vec![
            RootUse {
                time: t - time::Duration::days(2),
                kind: RootUseKind::AccessKey,
                source: "iam:GetAccessKeyLastUsed".into(),
                detail: "access key AKIA last used with s3".into(),
                event_id: None,
                credential: Some("AKIA".into()),
            },
            RootUse {
                time: t - time::Duration::days(300),
                kind: RootUseKind::Password,
                source: "iam:GetUser".into(),
                detail: "PasswordLastUsed".into(),
                event_id: None,
                credential: None,
            },
        ];
        p.unparsed_events = vec![UnparsedEvent {
            region: "us-east-1".into(),
            event_id: Some("x".into()),
            reason: "not JSON".into(),
            raw: "{".into(),
        }];
        let mut r = evaluate(&e, &FindingConfig::default());
        // Sign-ins and root use are judged by the custody rule posture and audit share.
        crate::custody::findings::judge_posture_activity(
            &mut r,
            None,
            e.period.since,
            e.period.until,
            e.period.until,
        );
        let got: Vec<&str> = r.accounts[0]
            .findings
            .iter()
            .map(|f| f.check.as_str())
            .collect();
        assert!(got.contains(&"ROOT-LOGIN-FAILED-UNEXPLAINED"), "{got:?}");
        assert!(!got.contains(&"ROOT-LOGIN-UNEXPLAINED"), "{got:?}");
        assert_eq!(
            got.iter()
                .filter(|i| **i == "ROOT-USED-UNEXPLAINED")
                .count(),
            1,
            "outside the period: not judged"
        );
        assert!(got.contains(&"ROOT-EVENT-UNPARSED"), "{got:?}");
        let passed: Vec<&str> = r.accounts[0]
            .passed
            .iter()
            .map(|f| f.check.as_str())
            .collect();
        assert!(passed.contains(&"ROOT-LOGIN-WITHOUT-MFA"), "{passed:?}");
        assert!(!passed.contains(&"ROOT-USED-UNEXPLAINED"), "{passed:?}");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn a_period_beyond_cloudtrail_is_a_warning_naming_the_gap() {
        let mut e = evidence(true, false, empty());
        e.period.until = time::macros::datetime!(2024-11-01 0:00 UTC);
        e.period.since = time::macros::datetime!(2024-01-01 0:00 UTC);
        let r = evaluate(&e, &FindingConfig::default());
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].contains("2024-01-01T00:00:00Z"),
            "{}",
            r.warnings[0]
        );
        assert!(
            r.warnings[0].contains("2024-08-03T00:00:00Z"),
            "{}",
            r.warnings[0]
        );
    }

    #[test]
    fn usage_alerting_missing_unless_an_organization_trail_is_seen() {
        let mut e = evidence(true, true, empty());
        e.accounts[0].posture.usage_alerting = Some(UsageAlerting {
            organization_trails: vec![],
            trails_to_cloudwatch_logs: vec![],
            root_usage_alarms: None,
        });
        let r = evaluate(&e, &FindingConfig::default());
        assert!(ids(&r).contains(&FindingId::RootUsageAlertMissing));
        e.accounts[0].posture.usage_alerting = Some(UsageAlerting {
            organization_trails: vec!["arn:aws:cloudtrail:us-east-1:111111111111:trail/org".into()],
            trails_to_cloudwatch_logs: vec![],
            root_usage_alarms: None,
        });
        let r = evaluate(&e, &FindingConfig::default());
        assert!(!ids(&r).contains(&FindingId::RootUsageAlertMissing));
    }
}
