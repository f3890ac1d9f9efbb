//! The audit report as data: what every renderer shows, in a fixed order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The one finding model (shared with `aws posture`).
pub use crate::findings::{Acceptance, Control, Finding, FindingSource, FindingStatus, Severity};

/// Overall result shown at the top of every rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Ledger intact, no findings above info.
    Pass,
    /// Ledger intact, findings to fix, none critical.
    Findings,
    /// Ledger not intact, saved checkpoint not extended, or a critical finding.
    Fail,
}

impl Verdict {
    /// `PASS`, `FINDINGS` or `FAIL`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Findings => "FINDINGS",
            Verdict::Fail => "FAIL",
        }
    }

    /// `pass`, `findings` or `fail` (the form `audit.completed` stores).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Findings => "findings",
            Verdict::Fail => "fail",
        }
    }
}

/// What the audit covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// When the report was generated.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Start of the audited period.
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// End of the audited period.
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    /// The ledger's origin line.
    pub ledger_origin: String,
    /// Where AWS facts came from: `accounts`, `organization` or `evidence:<file>`.
    pub scope: String,
    /// rootkey version that produced the report.
    pub tool_version: String,
    /// The AWS evidence the audit judged: its digest, when it was read, what it searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceMeta>,
}

/// What the audit knows about its AWS evidence, so staleness and coverage can be judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceMeta {
    /// SHA-256 (hex) of the evidence as compact JSON in rootkey's field order
    /// (`rootkey-aws-evidence/1`), the same bytes whether it was read live or from a file.
    pub sha256: String,
    /// When the evidence was read from AWS.
    #[serde(with = "time::serde::rfc3339")]
    pub read_at: OffsetDateTime,
    /// Start of the period its root sign-in search covers.
    #[serde(with = "time::serde::rfc3339")]
    pub login_search_since: OffsetDateTime,
    /// End of the period its root sign-in search covers.
    #[serde(with = "time::serde::rfc3339")]
    pub login_search_until: OffsetDateTime,
}

/// Whether the auditor's saved checkpoint is extended by today's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SavedCheckpoint {
    /// The auditor gave none.
    NotGiven,
    /// Today's ledger extends it (consistency proof verified).
    Extended {
        /// Tree size of the saved checkpoint.
        tree_size: u64,
    },
    /// It does not: rewrite or rollback.
    NotExtended {
        /// What the consistency check found.
        detail: String,
    },
}

/// What, from outside the database, the ledger was verified against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Nothing: only the verifier key stored in the database itself, which a replaced database
    /// replaces too.
    #[default]
    None,
    /// The verifier key the auditor passed (`--vkey`).
    Vkey,
    /// The checkpoint the auditor saved earlier (`--since-checkpoint`).
    SavedCheckpoint,
    /// Both the auditor's verifier key and saved checkpoint.
    VkeyAndSavedCheckpoint,
}

impl Anchor {
    /// The anchor given these auditor inputs.
    pub fn from_inputs(vkey: bool, saved_checkpoint: bool) -> Anchor {
        match (vkey, saved_checkpoint) {
            (false, false) => Anchor::None,
            (true, false) => Anchor::Vkey,
            (false, true) => Anchor::SavedCheckpoint,
            (true, true) => Anchor::VkeyAndSavedCheckpoint,
        }
    }

    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Anchor::None => {
                "NONE: verified only against the verifier key stored in the database itself"
            }
            Anchor::Vkey => "the auditor's verifier key (--vkey)",
            Anchor::SavedCheckpoint => "the auditor's saved checkpoint (--since-checkpoint)",
            Anchor::VkeyAndSavedCheckpoint => {
                "the auditor's verifier key (--vkey) and saved checkpoint (--since-checkpoint)"
            }
        }
    }
}

/// The ledger integrity section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerIntegrity {
    /// Every entry, hash, signature and approval verified.
    pub intact: bool,
    /// What anchored the verification; [`Anchor::None`] proves nothing against a replaced
    /// database.
    #[serde(default)]
    pub anchor: Anchor,
    /// The ledger's verifier key (`name+keyid+key`) as stored in the database: the auditor
    /// compares it with their records.
    #[serde(default)]
    pub vkey: String,
    /// Entries in the ledger.
    pub entries: u64,
    /// The signed checkpoint the audit verified (text).
    pub checkpoint: String,
    /// The auditor's saved checkpoint result.
    pub saved_checkpoint: SavedCheckpoint,
    /// Problems found, if any.
    pub problems: Vec<String>,
}

impl LedgerIntegrity {
    /// Whether the ledger can be trusted for this audit.
    pub fn trusted(&self) -> bool {
        self.intact && !matches!(self.saved_checkpoint, SavedCheckpoint::NotExtended { .. })
    }
}

/// One row of the keys table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    /// Short key id.
    pub key_id: String,
    /// Account.
    pub account_id: String,
    /// `primary` or `backup`.
    pub role: String,
    /// Model.
    pub model: String,
    /// Storage location.
    pub location: String,
    /// Current bag serial.
    pub bag_serial: String,
    /// `in_safe` or `checked_out`.
    pub status: String,
    /// Window end of the open checkout.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_back: Option<OffsetDateTime>,
    /// Out past its window.
    pub overdue: bool,
    /// Last possession proof.
    #[serde(with = "time::serde::rfc3339")]
    pub last_possession: OffsetDateTime,
    /// Whole days since then.
    pub possession_age_days: i64,
    /// Serial ARN AWS confirmed, if any.
    pub serial_arn: Option<String>,
    /// Whether AWS showed it on root in this audit (`None`: account not observed).
    pub seen_in_aws: Option<bool>,
    /// What happened to it in the audited period: where it went, who had it, each proof.
    #[serde(default)]
    pub history: Vec<KeyEvent>,
}

/// One step of a key's life in the audited period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The ledger entry.
    pub seq: u64,
    /// What happened.
    pub detail: String,
}

/// An MFA device AWS shows on an account's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRow {
    /// Serial number / ARN.
    pub serial: String,
    /// `fido`, `virtual` or `hardware_totp`.
    pub kind: String,
    /// AWS enable date.
    #[serde(with = "time::serde::rfc3339::option")]
    pub enable_date: Option<OffsetDateTime>,
    /// The ledger key it is, if any.
    pub key_id: Option<String>,
}

/// One account's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSection {
    /// Account id.
    pub account_id: String,
    /// Account name, when known.
    pub name: Option<String>,
    /// Under custody in the ledger.
    pub enrolled: bool,
    /// Whether AWS posture was observed for it.
    pub observed: bool,
    /// Root has no credentials at all (centralized root access): compliant without keys.
    pub root_credentials_absent: bool,
    /// Active ledger keys.
    pub ledger_keys: Vec<String>,
    /// Devices AWS shows on root.
    pub devices: Vec<DeviceRow>,
    /// Identities of this account's findings (details in [`AuditReport::findings`]).
    pub findings: Vec<String>,
}

/// How a root login was explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginExplanation {
    /// Inside a checkout window while the key was out.
    InWindow {
        /// The key that was out.
        key_id: String,
        /// Ticket of the checkout.
        ticket: String,
        /// Ledger seq of the checkout.
        checkout_seq: u64,
    },
    /// After the window ended but before the late check-in.
    AfterWindow {
        /// The key that was out.
        key_id: String,
        /// Ticket of the checkout.
        ticket: String,
        /// Ledger seq of the checkout.
        checkout_seq: u64,
    },
    /// No checkout covers it.
    Unexplained,
}

impl LoginExplanation {
    /// Whether a checkout accounts for the login.
    pub fn is_explained(&self) -> bool {
        !matches!(self, LoginExplanation::Unexplained)
    }
}

/// One root console login in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRow {
    /// Account.
    pub account_id: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Source IP address.
    pub source_ip: String,
    /// Whether MFA was used (`None`: CloudTrail did not say).
    pub mfa_used: Option<bool>,
    /// Whether it succeeded.
    pub success: bool,
    /// Matching checkout, if any.
    pub explanation: LoginExplanation,
}

/// A count out of a total, kept as integers so the JSON stays canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    /// Count.
    pub numerator: u64,
    /// Total.
    pub denominator: u64,
}

impl Ratio {
    /// Percentage rounded to a whole number; `None` when the total is zero.
    pub fn percent(self) -> Option<u64> {
        (self.denominator > 0)
            .then(|| (self.numerator * 100 + self.denominator / 2) / self.denominator)
    }

    /// `n/d (p%)`, or `n/d` when the total is zero.
    pub fn display(self) -> String {
        match self.percent() {
            Some(p) => format!("{}/{} ({p}%)", self.numerator, self.denominator),
            None => format!("{}/{}", self.numerator, self.denominator),
        }
    }
}

/// The numbers auditors ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpis {
    /// Accounts with two FIDO keys on root and no virtual MFA, out of accounts whose root has credentials.
    pub accounts_two_hardware_keys_no_virtual: Ratio,
    /// Root console logins in the period.
    pub root_logins: u64,
    /// Of which a checkout explains.
    pub root_logins_explained: u64,
    /// Of which nothing explains.
    pub root_logins_unexplained: u64,
    /// Mean time from a finding's first audit to the audit that no longer saw it, in seconds.
    pub mean_time_to_remediate_seconds: Option<u64>,
    /// How many findings that mean is over.
    pub findings_remediated: u64,
    /// Accounts with two confirmed keys in custody (or no root credentials), out of accounts in scope.
    pub accounts_covered: Ratio,
    /// Keys out past their window.
    pub keys_overdue: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The finding schema ([`crate::findings::SCHEMA_VERSION`]).
    #[serde(default)]
    pub schema_version: String,
    /// PASS / FINDINGS / FAIL.
    pub verdict: Verdict,
    /// What was covered.
    pub meta: ReportMeta,
    /// Ledger integrity.
    pub ledger: LedgerIntegrity,
    /// KPIs.
    pub kpis: Kpis,
    /// Every finding (open or accepted), most severe first.
    pub findings: Vec<Finding>,
    /// Checks that ran and found nothing, per account (status passed).
    #[serde(default)]
    pub passed: Vec<Finding>,
    /// Findings of the previous audit whose subject is gone today (status remediated).
    #[serde(default)]
    pub remediated: Vec<Finding>,
    /// Every active key.
    pub keys: Vec<KeyRow>,
    /// Every account in scope.
    pub accounts: Vec<AccountSection>,
    /// Every root login in the period.
    pub logins: Vec<LoginRow>,
    /// Keys lost or compromised in the period: incidents, listed in their own section.
    #[serde(default)]
    pub incidents: Vec<IncidentRow>,
    /// The audits recorded in the ledger before this one, oldest first: the trend.
    #[serde(default)]
    pub history: Vec<AuditPoint>,
}

/// One earlier audit as its approved `audit.completed` entry recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPoint {
    /// The ledger entry.
    pub seq: u64,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// `pass`, `findings` or `fail`, as recorded.
    pub verdict: String,
    /// Findings above info it recorded (the ones to remediate).
    pub findings: u64,
    /// Accounts it covered.
    pub accounts: u64,
    /// SHA-256 of the report it recorded.
    pub report_sha256: String,
}

/// A key that left custody as an incident (lost or compromised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRow {
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The key.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// `lost` or `compromised`.
    pub reason: String,
    /// What the custodians wrote.
    pub note: String,
    /// The ledger entry that retired it.
    pub seq: u64,
}

/// The columns of the incidents table, defined once for every rendering.
pub const INCIDENT_COLUMNS: &[&str] = &["Time", "Account", "Key", "Reason", "Note", "Entry"];

/// Computes the verdict: FAIL on an untrusted ledger or any critical finding, FINDINGS on any
/// finding above info, PASS otherwise.
/// Only open findings count: accepted ones are shown but do not fail the audit.
pub fn verdict(ledger: &LedgerIntegrity, findings: &[Finding]) -> Verdict {
    let open = || findings.iter().filter(|f| f.is_open());
    if !ledger.trusted() || open().any(|f| f.severity == Severity::Critical) {
        Verdict::Fail
    } else if open().any(|f| f.severity > Severity::Info) {
        Verdict::Findings
    } else {
        Verdict::Pass
    }
}

impl AuditReport {
    /// Assembles a report: sorts every section and computes the verdict, so two runs over the
    /// same facts give byte-identical output (and the same digest).
    pub fn new(
        meta: ReportMeta,
        ledger: LedgerIntegrity,
        kpis: Kpis,
        mut findings: Vec<Finding>,
        mut keys: Vec<KeyRow>,
        mut accounts: Vec<AccountSection>,
        mut logins: Vec<LoginRow>,
    ) -> AuditReport {
        // Most severe first.
        findings.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                &a.account,
                &a.check,
                &a.resource,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    &b.account,
                    &b.check,
                    &b.resource,
                ))
        });
        findings.dedup_by(|a, b| a.identity() == b.identity());
        for f in &mut findings {
            f.controls.sort();
            f.controls.dedup();
        }
        // Primary before backup within an account: the order custodians think in.
        keys.sort_by(|a, b| {
            (&a.account_id, a.role != "primary", &a.key_id).cmp(&(
                &b.account_id,
                b.role != "primary",
                &b.key_id,
            ))
        });
        accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        for a in &mut accounts {
            a.ledger_keys.sort();
            a.devices.sort_by(|x, y| x.serial.cmp(&y.serial));
            a.findings.sort();
        }
        logins.sort_by(|a, b| {
            (a.time, &a.account_id, &a.source_ip).cmp(&(b.time, &b.account_id, &b.source_ip))
        });
        let verdict = verdict(&ledger, &findings);
        AuditReport {
            schema_version: crate::findings::SCHEMA_VERSION.to_string(),
            verdict,
            meta,
            ledger,
            kpis,
            findings,
            keys,
            accounts,
            logins,
            incidents: Vec::new(),
            history: Vec::new(),
            passed: Vec::new(),
            remediated: Vec::new(),
        }
    }

    /// The report with the earlier audits' trend (sorted by time).
    pub fn with_history(mut self, mut history: Vec<AuditPoint>) -> AuditReport {
        history.sort_by_key(|p| (p.time, p.seq));
        self.history = history;
        self
    }

    /// Findings above info in this audit (open or accepted): the figure `audit.completed`
    /// records and [`AuditPoint::findings`] shows for earlier audits.
    pub fn recorded_findings(&self) -> u64 {
        let open: std::collections::BTreeSet<String> = self
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(Finding::identity)
            .collect();
        open.len() as u64
    }

    /// The report with its incidents section (sorted by time).
    pub fn with_incidents(mut self, mut incidents: Vec<IncidentRow>) -> AuditReport {
        incidents.sort_by(|a, b| (a.time, &a.key_id).cmp(&(b.time, &b.key_id)));
        self.incidents = incidents;
        self
    }

    /// The report with its passed checks (sorted by account and check).
    pub fn with_passed(mut self, mut passed: Vec<Finding>) -> AuditReport {
        passed.sort_by(|a, b| (&a.account, &a.check).cmp(&(&b.account, &b.check)));
        passed.dedup_by(|a, b| a.identity() == b.identity());
        self.passed = passed;
        self
    }

    /// The report with the previous audit's findings that are gone (sorted like findings).
    pub fn with_remediated(mut self, mut remediated: Vec<Finding>) -> AuditReport {
        remediated.sort_by(|a, b| {
            (&a.account, &a.check, &a.resource).cmp(&(&b.account, &b.check, &b.resource))
        });
        self.remediated = remediated;
        self
    }

    /// Open findings per severity, most severe first; severities without findings are left out.
    pub fn counts(&self) -> Vec<(Severity, u32)> {
        let mut m: BTreeMap<Severity, u32> = BTreeMap::new();
        for f in self.findings.iter().filter(|f| f.is_open()) {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        m.into_iter().rev().collect()
    }
}
