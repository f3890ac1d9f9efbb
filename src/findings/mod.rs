//! The one finding model of rootkey: what `aws posture` and `audit` both report.
//!
//! - [`Check`]: one entry of the check catalogue ([`catalogue::CHECKS`]): id, title, default
//!   severity, controls, remediation. Both the posture evaluation and the audit build their
//!   findings from these entries, so a check is described in one place only.
//! - [`Finding`]: one instance of a check on one account and resource, with a stable
//!   [`Finding::id`] (see [`instance_id`]), a [`FindingStatus`], structured evidence and the
//!   check's remediation and [`Control`]s.
//!
//! This module depends on nothing else in rootkey, so `aws` (the lower layer), `custody` and
//! `report` may all import it. `docs/findings.md` documents the JSON schema.

pub mod catalogue;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use catalogue::{check, CHECKS};

/// Version of the finding schema carried as `schema_version` by the JSON of `aws posture` and
/// `audit`; bumped on any incompatible change of [`Finding`] or of the reports around it.
pub const SCHEMA_VERSION: &str = "rootkey-findings/2";

/// How bad a finding is; ordered info → critical, so `max()` is the worst. The one severity scale
/// of rootkey: AWS posture findings, custody findings and the audit report all use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; does not affect a verdict.
    Info,
    /// Hygiene.
    Low,
    /// A control is weakened: fix this quarter.
    Medium,
    /// A control is broken or cannot be verified: fix now.
    High,
    /// Root was used or exposed without explanation; the control failed.
    Critical,
}

impl Severity {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity name as rootkey, Security Hub or Prowler spell it.
    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "info" | "informational" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// Where a check's facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSource {
    /// The ledger's own integrity.
    Ledger,
    /// The custody rules (keys, checkouts, logins, ledger ↔ AWS).
    Custody,
    /// The AWS posture reader.
    Aws,
    /// The evidence the audit was given (its age and coverage).
    Evidence,
}

impl FindingSource {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingSource::Ledger => "ledger",
            FindingSource::Custody => "custody",
            FindingSource::Aws => "aws",
            FindingSource::Evidence => "evidence",
        }
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// A problem to fix.
    Open,
    /// A problem whose risk was accepted by a `finding.accepted` ledger entry that has not
    /// expired; shown, but not counted in the verdict.
    Accepted,
    /// Seen by an earlier audit and gone from today's facts (the thing itself is gone).
    Remediated,
    /// The check ran on this account and found nothing.
    Passed,
}

impl FindingStatus {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Accepted => "accepted",
            FindingStatus::Remediated => "remediated",
            FindingStatus::Passed => "passed",
        }
    }
}

/// One control of a compliance framework a check maps to, labelled one way:
/// `{framework, version, id}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Control {
    /// The framework's name, e.g. `CIS AWS Foundations Benchmark`.
    pub framework: Cow<'static, str>,
    /// The framework's version, e.g. `5.0.0`.
    pub version: Cow<'static, str>,
    /// The control's id in that framework, e.g. `1.4` or `IAM.9`.
    pub id: Cow<'static, str>,
}

/// The CIS AWS Foundations Benchmark.
pub const CIS: &str = "CIS AWS Foundations Benchmark";
/// AWS Security Hub's AWS Foundational Security Best Practices standard.
pub const FSBP: &str = "AWS Foundational Security Best Practices";
/// NIST SP 800-53.
pub const NIST: &str = "NIST SP 800-53";

impl Control {
    /// A control of `framework` `version`.
    pub const fn new(framework: &'static str, version: &'static str, id: &'static str) -> Control {
        Control {
            framework: Cow::Borrowed(framework),
            version: Cow::Borrowed(version),
            id: Cow::Borrowed(id),
        }
    }

    /// CIS AWS Foundations Benchmark v5.0.0.
    pub const fn cis(id: &'static str) -> Control {
        Control::new(CIS, "5.0.0", id)
    }

    /// Security Hub (FSBP) control id, e.g. `IAM.9`.
    pub const fn fsbp(id: &'static str) -> Control {
        Control::new(FSBP, "1.0.0", id)
    }

    /// NIST SP 800-53 revision 5.
    pub const fn nist(id: &'static str) -> Control {
        Control::new(NIST, "rev5", id)
    }

    /// `CIS AWS Foundations Benchmark 5.0.0 1.4`: one line for reports.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.framework, self.version, self.id)
    }

    /// `CIS 1.4`, `FSBP IAM.9`, `NIST IA-2(1)`: short, for narrow tables (CIS with a version
    /// other than 5.0.0 keeps it: `CIS 1.4.0 4.3`).
    pub fn short(&self) -> String {
        match (self.framework.as_ref(), self.version.as_ref()) {
            (CIS, "5.0.0") => format!("CIS {}", self.id),
            (CIS, v) => format!("CIS {v} {}", self.id),
            (FSBP, _) => format!("FSBP {}", self.id),
            (NIST, _) => format!("NIST {}", self.id),
            _ => self.label(),
        }
    }
}

/// One entry of the check catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id, e.g. `ROOT-LOGIN-UNEXPLAINED`.
    pub id: &'static str,
    /// One sentence saying what is wrong when the check fails.
    pub title: &'static str,
    /// Severity of a finding unless the evaluation grades it otherwise (documented per check).
    pub severity: Severity,
    /// Where its facts come from.
    pub source: FindingSource,
    /// Whether `aws posture` evaluates it (every check is evaluated by the audit or its
    /// evidence, the posture ones through the posture evaluation).
    pub posture: bool,
    /// Whether `rootkey finding accept` may accept its findings (never for the ledger's own
    /// integrity: an untrusted ledger cannot record its own acceptance).
    pub acceptable: bool,
    /// Controls it maps to.
    pub controls: &'static [Control],
    /// What to do about a finding.
    pub remediation: &'static str,
}

/// The stable id of one finding instance: the first 16 hex digits of SHA-256 over
/// `rootkey-finding/1\n{check}\n{account or -}\n{resource}`. Same account, check and resource →
/// same id across runs and machines.
pub fn instance_id(check: &str, account: Option<&str>, resource: &str) -> String {
    let input = format!(
        "rootkey-finding/1\n{check}\n{}\n{resource}",
        account.unwrap_or("-")
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    hex::encode(&digest.as_ref()[..8])
}

/// Root's ARN in `account`.
pub fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// The resource of `check`'s account-level finding on `account`, whether it failed or passed:
/// root's ARN for a `ROOT-*` check, `organization` for an `ORG-*` check, else the account. One
/// rule for both, so a check that passes after failing keeps its finding id (Security Hub
/// closes a finding when the same `Id` comes back PASSED). Checks that fail per instance (an
/// access key, a sign-in) name the instance instead; their passing names this resource.
pub fn account_resource(check: &str, account: &str) -> String {
    if check.starts_with("ROOT-") {
        root_arn(account)
    } else if check.starts_with("ORG-") {
        "organization".to_string()
    } else {
        account.to_string()
    }
}

/// Whether `text` has the shape of a finding id ([`instance_id`]): 16 lower-case hex digits.
pub fn is_instance_id(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A risk acceptance in force for a finding (from a `finding.accepted` ledger entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// Why the risk is accepted.
    pub reason: String,
    /// The change or risk ticket.
    pub ticket: String,
    /// Until when.
    #[serde(with = "time::serde::rfc3339")]
    pub until: time::OffsetDateTime,
    /// Who approved it.
    pub approved_by: Vec<String>,
    /// The ledger entry that recorded it.
    pub seq: u64,
}

/// One finding: one check on one account and resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable instance id ([`instance_id`]).
    pub id: String,
    /// The check's id ([`Check::id`]).
    pub check: String,
    /// One sentence a custodian understands, specific to this instance.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Open, accepted, remediated or passed.
    pub status: FindingStatus,
    /// Where its facts come from.
    pub source: FindingSource,
    /// The account it concerns (`None`: the ledger or the organization as a whole).
    pub account: Option<String>,
    /// What exactly it is about: an ARN, a key id, a login time and IP; part of its identity.
    pub resource: String,
    /// The custody key it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The facts behind it, snake_case label → JSON value.
    pub evidence: BTreeMap<String, Value>,
    /// What to do.
    pub remediation: String,
    /// Controls it maps to.
    pub controls: Vec<Control>,
    /// The acceptance in force, when [`FindingStatus::Accepted`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
}

impl Finding {
    /// An open finding of `check` with the check's title, severity, controls and remediation.
    pub fn new(check: &Check, account: Option<&str>, resource: impl Into<String>) -> Finding {
        let resource = resource.into();
        Finding {
            id: instance_id(check.id, account, &resource),
            check: check.id.to_string(),
            title: check.title.to_string(),
            severity: check.severity,
            status: FindingStatus::Open,
            source: check.source,
            account: account.map(str::to_string),
            resource,
            key_id: None,
            evidence: BTreeMap::new(),
            remediation: check.remediation.to_string(),
            controls: check.controls.to_vec(),
            acceptance: None,
        }
    }

    /// A passed check on `account`: nothing found. It has the id of the check's account-level
    /// failure there ([`account_resource`]), so exporting it as PASSED closes that failure.
    pub fn passed(check: &Check, account: &str) -> Finding {
        let mut f = Finding::new(check, Some(account), account_resource(check.id, account));
        f.status = FindingStatus::Passed;
        f.severity = Severity::Info;
        f.remediation = String::new();
        f
    }

    /// With this severity instead of the check's default.
    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// With this (instance-specific) title.
    pub fn title(mut self, title: impl Into<String>) -> Finding {
        self.title = title.into();
        self
    }

    /// With this evidence item (`label` must be snake_case).
    pub fn with(mut self, label: &str, value: impl Into<Value>) -> Finding {
        debug_assert!(label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        self.evidence.insert(label.to_string(), value.into());
        self
    }

    /// About this custody key.
    pub fn key(mut self, key_id: impl Into<String>) -> Finding {
        self.key_id = Some(key_id.into());
        self
    }

    /// Identity used across audits (recorded in `audit.completed`): `CHECK|account|resource`.
    pub fn identity(&self) -> String {
        identity(&self.check, self.account.as_deref(), &self.resource)
    }

    /// Whether it counts as a problem now: open (not accepted, remediated or passed).
    pub fn is_open(&self) -> bool {
        self.status == FindingStatus::Open
    }

    /// An evidence value as text for tables (strings without quotes).
    pub fn evidence_text(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Null => "—".into(),
            other => other.to_string(),
        }
    }
}

/// `CHECK|account|resource` (`-` for no account): the identity `audit.completed` records.
pub fn identity(check: &str, account: Option<&str>, resource: &str) -> String {
    format!("{check}|{}|{resource}", account.unwrap_or("-"))
}

/// Splits an identity into (check, account, resource); `None` when it is not one.
pub fn parse_identity(identity: &str) -> Option<(&str, Option<&str>, &str)> {
    let (check, rest) = identity.split_once('|')?;
    let (account, resource) = rest.split_once('|')?;
    Some((check, (account != "-").then_some(account), resource))
}

#[cfg(test)]
mod tests;
