//! Audit assembly: custody state + AWS facts + ledger integrity → [`AuditReport`].
//!
//! Pure: the audit flow gathers the facts (ledger verification, posture reader or evidence
//! file), calls [`build_report`], renders, and appends [`completed_event`] to the ledger.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::events::{AuditCompleted, SeverityCounts};
use super::findings as rules;
use super::state::{CheckoutRecord, CustodyState, KeyStatus};
use crate::aws::AccountReport;
use crate::findings::catalogue;
use crate::report::{
    self, AccountSection, Anchor, AuditPoint, AuditReport, DeviceRow, EvidenceMeta, Finding,
    Format, KeyRow, Kpis, LedgerIntegrity, Ratio, ReportMeta, SavedCheckpoint, Severity,
};

/// Everything an audit needs.
#[derive(Debug, Clone)]
pub struct AuditInput<'a> {
    /// The folded ledger.
    pub state: &'a CustodyState,
    /// AWS posture per account, as [`aws::evaluate`] judged it (live read or evidence file).
    pub aws: &'a [AccountReport],
    /// Restrict to these accounts (`--account`); `None`: every account in the ledger or in `aws`.
    pub accounts: Option<&'a [String]>,
    /// Result of verifying the ledger.
    pub integrity: LedgerIntegrity,
    /// Now: end of the period.
    pub generated_at: OffsetDateTime,
    /// Start of the period (`--since`, else the previous audit, else the ledger's start).
    pub period_start: OffsetDateTime,
    /// The ledger's origin line.
    pub ledger_origin: String,
    /// `accounts`, `organization` or `evidence:<file>`.
    pub scope: String,
    /// rootkey version.
    pub tool_version: String,
    /// What the AWS read could not cover (e.g. the part of the period CloudTrail no longer
    /// keeps): reported, so "no unexplained sign-ins" is never claimed for an unsearched time.
    pub aws_warnings: Vec<String>,
    /// Findings about the ledger's WORM anchor (`custody::anchor_audit`), when audited with one.
    pub anchor_findings: Vec<Finding>,
    /// The evidence's digest, age and sign-in search period (`None`: no AWS evidence at all).
    pub evidence: Option<EvidenceMeta>,
}

/// Evidence read longer than this before the end of the audited period does not cover it.
pub const EVIDENCE_FRESHNESS: time::Duration = time::Duration::hours(1);

/// Stale or partial evidence: read before the period began, or a sign-in search that does not
/// reach from the period's start to its end.
fn evidence_findings(
    meta: Option<&EvidenceMeta>,
    period_start: OffsetDateTime,
    period_end: OffsetDateTime,
) -> Vec<Finding> {
    let Some(m) = meta else {
        return vec![];
    };
    let t = report::fmt_time;
    let with_facts = |f: Finding| {
        f.with("evidence_sha256", m.sha256.clone())
            .with("read_at", t(m.read_at))
            .with("login_search_since", t(m.login_search_since))
            .with("login_search_until", t(m.login_search_until))
            .with("period_start", t(period_start))
            .with("period_end", t(period_end))
    };
    if m.read_at < period_start {
        return vec![with_facts(mk("EVIDENCE-STALE", None, &m.sha256).title(format!(
            "the AWS evidence was read {}, before the audited period began ({}): it says nothing about the period",
            t(m.read_at),
            t(period_start)
        )))];
    }
    let mut gaps = Vec::new();
    if m.login_search_since > period_start + rules::LOGIN_CLOCK_SKEW {
        gaps.push(format!(
            "{} to {}",
            t(period_start),
            t(m.login_search_since)
        ));
    }
    if m.login_search_until + EVIDENCE_FRESHNESS < period_end {
        gaps.push(format!("{} to {}", t(m.login_search_until), t(period_end)));
    }
    if gaps.is_empty() {
        return vec![];
    }
    vec![
        with_facts(mk("EVIDENCE-PARTIAL", None, &m.sha256).title(format!(
            "the evidence's root sign-in search does not cover {} of the audited period",
            gaps.join(" and ")
        )))
        .with("uncovered", gaps),
    ]
}

/// A finding of catalogue check `code`.
fn mk(code: &'static str, account: Option<&str>, resource: &str) -> Finding {
    Finding::new(catalogue::known(code), account, resource)
}

fn ledger_findings(integrity: &LedgerIntegrity) -> Vec<Finding> {
    let mut out = Vec::new();
    if !integrity.intact {
        out.push(
            mk("LEDGER-NOT-INTACT", None, "ledger").with("problems", integrity.problems.clone()),
        );
    }
    if let SavedCheckpoint::NotExtended { detail } = &integrity.saved_checkpoint {
        out.push(
            mk("LEDGER-CHECKPOINT-NOT-EXTENDED", None, "ledger").with("detail", detail.clone()),
        );
    }
    // A database replaced wholesale (new key, self-approved custodians) verifies against its
    // own key, so "intact" means nothing until something the auditor kept anchors it.
    if integrity.anchor == Anchor::Vkey {
        out.push(
            mk("LEDGER-ANCHOR-KEY-ONLY", None, "ledger")
                .title(crate::ledger::verify::KEY_ONLY)
                .with("vkey", integrity.vkey.clone()),
        );
    }
    if integrity.anchor == Anchor::None {
        out.push(
            mk("LEDGER-UNANCHORED", None, "ledger")
                .title(crate::ledger::verify::UNANCHORED)
                .with("vkey", integrity.vkey.clone()),
        );
    }
    out
}

/// Builds the report. Findings, rows and KPIs follow the rules in [`rules`].
pub fn build_report(input: AuditInput<'_>) -> AuditReport {
    let state = input.state;
    let now = input.generated_at;
    let in_scope = |a: &str| {
        input
            .accounts
            .is_none_or(|list| list.iter().any(|x| x == a))
    };

    // An account closed in the ledger is no longer expected (unless asked for by name).
    let mut account_ids: BTreeSet<String> = state
        .accounts()
        .keys()
        .chain(input.aws.iter().map(|f| &f.account_id))
        .filter(|a| in_scope(a) && !state.account_closed(a))
        .cloned()
        .collect();
    if let Some(list) = input.accounts {
        account_ids.extend(list.iter().cloned());
    }

    // Indexed once: an organization audit has thousands of accounts.
    let facts_by_account: BTreeMap<&str, &AccountReport> = input
        .aws
        .iter()
        .map(|f| (f.account_id.as_str(), f))
        .collect();
    let mut checkouts_by_account: BTreeMap<&str, Vec<&CheckoutRecord>> = BTreeMap::new();
    for c in state.checkouts() {
        checkouts_by_account
            .entry(c.account_id.as_str())
            .or_default()
            .push(c);
    }
    let no_checkouts = Vec::new();

    let mut findings = ledger_findings(&input.integrity);
    findings.extend(evidence_findings(
        input.evidence.as_ref(),
        input.period_start,
        now,
    ));
    let mut passed: Vec<Finding> = Vec::new();
    findings.extend(custodian_findings(state));
    findings.extend(input.anchor_findings.iter().cloned());
    for w in &input.aws_warnings {
        findings.push(mk("AWS-READ-GAP", None, w).title(format!(
            "part of the audit could not be covered by AWS: {w}"
        )));
    }
    let mut keys = Vec::new();
    let mut accounts = Vec::new();
    let mut logins = Vec::new();
    let mut overdue = 0u64;
    let mut two_hw = Ratio {
        numerator: 0,
        denominator: 0,
    };
    let mut covered = Ratio {
        numerator: 0,
        denominator: 0,
    };

    for acct in &account_ids {
        let all_keys: Vec<_> = state
            .accounts()
            .get(acct)
            .map(|a| a.keys.iter().filter_map(|id| state.key(id)).collect())
            .unwrap_or_default();
        let active: Vec<_> = all_keys.iter().copied().filter(|k| k.is_active()).collect();
        let facts = facts_by_account.get(acct.as_str()).copied();
        let checkouts = checkouts_by_account
            .get(acct.as_str())
            .unwrap_or(&no_checkouts);
        let mut acct_findings: Vec<Finding> = Vec::new();
        let mut seen: Option<BTreeSet<String>> = None;
        let mut devices = Vec::new();
        // Checks that ran on this account: passed unless they found something.
        let mut passed_checks: Vec<&'static str> = Vec::new();

        match facts {
            // Suspended or closing accounts are listed, not audited as failures.
            Some(f) if f.posture.account_inactive() => {
                let status = f.posture.account_status.as_deref().unwrap_or("inactive");
                acct_findings.push(
                    mk("ACCOUNT-INACTIVE", Some(acct), acct)
                        .title(format!(
                            "the account is {status}: its root was not compared with the ledger"
                        ))
                        .with("account_status", status),
                );
            }
            Some(f) => {
                let agreement = rules::compare_with_aws(&all_keys, f);
                for d in &f.posture.mfa_devices {
                    devices.push(DeviceRow {
                        serial: d.serial.clone(),
                        kind: d.kind.as_str().into(),
                        enable_date: d.enable_date,
                        key_id: agreement.matched.get(&d.serial).cloned(),
                    });
                }
                acct_findings.extend(agreement.findings);
                acct_findings.extend(f.findings.iter().cloned());
                if !rules::keyless_by_design(f) {
                    two_hw.denominator += 1;
                    if rules::two_hardware_keys_no_virtual(&agreement.keys_seen, &all_keys, f) {
                        two_hw.numerator += 1;
                    }
                }
                covered.denominator += 1;
                if rules::keyless_by_design(f) || agreement.keys_seen.len() >= 2 {
                    covered.numerator += 1;
                }
                let (activity, rows) =
                    rules::root_activity(f, checkouts, input.period_start, now, now);
                acct_findings.extend(activity);
                logins.extend(rows);
                passed.extend(f.passed.iter().cloned());
                if f.posture.logins.is_some() {
                    passed_checks.extend(rules::SIGN_IN_CHECKS.iter().copied());
                }
                passed_checks.extend(CUSTODY_CHECKS.iter().copied());
                seen = Some(agreement.keys_seen);
            }
            None => {
                covered.denominator += 1;
                acct_findings.push(
                    mk("AWS-POSTURE-MISSING", Some(acct), acct).with("account", acct.clone()),
                );
            }
        }

        for k in &active {
            if let Some(f) = assurance_finding(k) {
                acct_findings.push(f);
            }
            let open = state.open_checkout(k);
            let is_overdue = open.is_some_and(|c| c.is_overdue(now));
            if let Some(c) = open {
                if is_overdue {
                    overdue += 1;
                    acct_findings.push(key_finding(
                        "KEY-CHECKIN-OVERDUE",
                        k,
                        format!(
                            "key {} was due back at {} and has not been checked in",
                            k.key_id,
                            report::fmt_time(c.window_end)
                        ),
                        vec![
                            ("ticket", c.ticket.clone()),
                            ("requester", c.requester.clone()),
                            ("approver", c.approver.clone()),
                            ("due", report::fmt_time(c.window_end)),
                        ],
                    ));
                } else {
                    acct_findings.push(key_finding(
                        "KEY-CHECKED-OUT",
                        k,
                        format!(
                            "key {} is checked out until {}",
                            k.key_id,
                            report::fmt_time(c.window_end)
                        ),
                        vec![("ticket", c.ticket.clone()), ("reason", c.reason.clone())],
                    ));
                }
            }
            if rules::possession_stale(k.last_possession, now) {
                acct_findings.push(key_finding(
                    "KEY-POSSESSION-STALE",
                    k,
                    format!("key {} has not proved possession for {} days: run `rootkey keys verify --key {}`", k.key_id, rules::possession_age_days(k.last_possession, now), k.key_id),
                    vec![("last_proof", report::fmt_time(k.last_possession)), ("location", k.location.clone())],
                ));
            }
            keys.push(KeyRow {
                key_id: k.key_id.clone(),
                account_id: k.account_id.clone(),
                role: k.role.as_str().into(),
                model: k.model.clone(),
                location: k.location.clone(),
                bag_serial: k.bag_serial.clone(),
                status: match k.status {
                    KeyStatus::CheckedOut { .. } => "checked_out".into(),
                    _ => "in_safe".into(),
                },
                due_back: open.map(|c| c.window_end),
                overdue: is_overdue,
                last_possession: k.last_possession,
                possession_age_days: rules::possession_age_days(k.last_possession, now),
                serial_arn: k.registration.as_ref().map(|r| r.serial_arn.clone()),
                seen_in_aws: seen.as_ref().map(|s| s.contains(&k.key_id)),
                history: k
                    .history
                    .iter()
                    .filter(|h| h.time >= input.period_start && h.time <= now)
                    .map(|h| report::KeyEvent {
                        time: h.time,
                        seq: h.seq,
                        detail: h.detail.clone(),
                    })
                    .collect(),
            });
        }
        for (i, a) in active.iter().enumerate() {
            for b in &active[i + 1..] {
                if crate::text::location_key(&a.location) == crate::text::location_key(&b.location)
                {
                    acct_findings.push(key_finding(
                        "KEYS-SAME-LOCATION",
                        b,
                        format!(
                            "keys {} and {} are stored at the same location",
                            a.key_id, b.key_id
                        ),
                        vec![("location", b.location.clone())],
                    ));
                }
            }
        }
        for c in checkouts {
            if let Some(ci) = c
                .checkin
                .as_ref()
                .filter(|ci| ci.late && ci.time >= input.period_start && ci.time <= now)
            {
                acct_findings.push(
                    mk(
                        "KEY-CHECKIN-LATE",
                        Some(acct),
                        &format!("{} entry {}", c.key_id, ci.seq),
                    )
                    .key(c.key_id.clone())
                    .title(format!("key {} came back after its window", c.key_id))
                    .with("ticket", c.ticket.clone())
                    .with("due", report::fmt_time(c.window_end))
                    .with("returned", report::fmt_time(ci.time))
                    .with("checkin_seq", ci.seq),
                );
            }
        }

        for id in passed_checks {
            if !acct_findings.iter().any(|f| f.check == id) {
                passed.push(Finding::passed(catalogue::known(id), acct));
            }
        }
        accounts.push(AccountSection {
            account_id: acct.clone(),
            name: facts.and_then(|f| f.name.clone()),
            enrolled: state
                .accounts()
                .get(acct)
                .is_some_and(|a| a.enrolled_at.is_some()),
            observed: facts.is_some(),
            root_credentials_absent: facts.is_some_and(rules::keyless_by_design),
            ledger_keys: active.iter().map(|k| k.key_id.clone()).collect(),
            devices,
            findings: acct_findings.iter().map(Finding::identity).collect(),
        });
        findings.extend(acct_findings);
    }

    let mut incidents = Vec::new();
    for r in state
        .retirements()
        .iter()
        .filter(|r| r.reason.is_incident() && r.time >= input.period_start && r.time <= now)
    {
        incidents.push(report::IncidentRow {
            time: r.time,
            key_id: r.key_id.clone(),
            account_id: r.account_id.clone(),
            reason: r.reason.as_str().into(),
            note: r.note.clone(),
            seq: r.seq,
        });
        findings.push(
            mk(
                "KEY-INCIDENT",
                Some(&r.account_id),
                &format!("{} entry {}", r.key_id, r.seq),
            )
            .key(r.key_id.clone())
            .with("note", r.note.clone())
            .with("retired", report::fmt_time(r.time))
            .with("seq", r.seq)
            .title(format!(
                "key {} was retired as {}: it may be in someone else's hands; check root activity since it was last proven present and make sure its device is gone from root",
                r.key_id,
                r.reason.as_str()
            )),
        );
    }

    let (still_open, gone) = carried_over(
        state,
        &findings,
        &facts_by_account,
        &checkouts_by_account,
        &account_ids,
        now,
    );
    findings.extend(still_open);
    for f in &mut findings {
        if let Some(a) = state.acceptance(&f.id, now) {
            f.status = crate::findings::FindingStatus::Accepted;
            // Said in the title too, so every rendering shows it (not only the JSON status).
            f.title = format!(
                "{} — ACCEPTED until {} ({}, ledger entry {})",
                f.title,
                report::fmt_time(a.until),
                a.ticket,
                a.seq
            );
            f.acceptance = Some(a.clone());
        }
    }
    // Every sign-in the logins table lists, failed ones included: the KPI and the table are
    // the same facts.
    let explained = logins
        .iter()
        .filter(|l| l.explanation.is_explained())
        .count() as u64;
    let current: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(Finding::identity)
        .collect();
    let mut history: Vec<_> = state
        .audits()
        .iter()
        .map(|a| (a.time, &a.findings, &a.accounts))
        .collect();
    history.sort_by_key(|h| h.0);
    history.push((now, &current, &account_ids));
    // Fixes recorded by `rootkey aws remediate` end their finding's time to remediate.
    let history =
        super::remediation::with_remediations(&history, &super::remediation::fixes(state));
    let history: Vec<_> = history.iter().map(|(t, f, a)| (*t, f, a)).collect();
    let (mttr, remediated) = rules::mean_time_to_remediate(&history);

    let kpis = Kpis {
        accounts_two_hardware_keys_no_virtual: two_hw,
        root_logins: logins.len() as u64,
        root_logins_explained: explained,
        root_logins_unexplained: logins.len() as u64 - explained,
        mean_time_to_remediate_seconds: mttr,
        findings_remediated: remediated,
        accounts_covered: covered,
        keys_overdue: overdue,
    };
    AuditReport::new(
        ReportMeta {
            generated_at: now,
            period_start: input.period_start,
            period_end: now,
            ledger_origin: input.ledger_origin,
            scope: input.scope,
            tool_version: input.tool_version,
            evidence: input.evidence,
        },
        input.integrity,
        kpis,
        findings,
        keys,
        accounts,
        logins,
    )
    .with_incidents(incidents)
    .with_passed(passed)
    .with_remediated(gone)
    .with_history(trend(state))
}

/// The last approved audit's findings that today's report no longer shows, split in two:
/// carried over (still open) and remediated.
///
/// A sign-in or root use stays a finding until the facts show the same event explained (or it
/// is accepted), however the period moved: it is carried over, open. Findings bound to a
/// period ([`rules::PERIOD_BOUND_CHECKS`]) leave with their period and are neither. Any other
/// finding is remediated when its account was compared again (or it concerns no account) and
/// the thing is gone.
fn carried_over(
    state: &CustodyState,
    current: &[Finding],
    facts: &BTreeMap<&str, &AccountReport>,
    checkouts: &BTreeMap<&str, Vec<&CheckoutRecord>>,
    in_scope: &BTreeSet<String>,
    now: OffsetDateTime,
) -> (Vec<Finding>, Vec<Finding>) {
    let Some(last) = state
        .audits()
        .iter()
        .filter(|a| a.time <= now)
        .max_by_key(|a| a.time)
    else {
        return (vec![], vec![]);
    };
    let found = current;
    let current: BTreeSet<String> = current.iter().map(Finding::identity).collect();
    let no_checkouts = Vec::new();
    let (mut open, mut remediated) = (Vec::new(), Vec::new());
    for identity in last.findings.iter().filter(|i| !current.contains(*i)) {
        let Some((check, account, resource)) = crate::findings::parse_identity(identity) else {
            continue;
        };
        let Some(c) = crate::findings::check(check) else {
            continue;
        };
        if rules::PERIOD_BOUND_CHECKS.contains(&check) {
            continue;
        }
        if account.is_some_and(|a| !in_scope.contains(a)) {
            continue;
        }
        let first = report::fmt_time(first_reported(state, identity).unwrap_or(last.time));
        let finding = Finding::new(c, account, resource)
            .with("reported_by_entry", last.seq)
            .with("first_reported", first);
        let observed = account.and_then(|a| facts.get(a).copied());
        let resolved = if rules::SIGN_IN_CHECKS.contains(&check) {
            // Judged again over all time: resolved only when the same event is in today's
            // facts and no longer raises this finding.
            observed.is_some_and(|f| {
                let account = f.account_id.as_str();
                let (all, _) = rules::root_activity(
                    f,
                    checkouts.get(account).unwrap_or(&no_checkouts),
                    OffsetDateTime::UNIX_EPOCH,
                    now,
                    now,
                );
                all.iter().any(|x| x.resource == resource)
                    && !all.iter().any(|x| x.identity() == *identity)
            })
        } else if c.source == crate::findings::FindingSource::Aws
            || AGREEMENT_CHECKS.contains(&check)
        {
            // Gone from AWS only counts when AWS was read completely for the account.
            account.is_none()
                || observed.is_some_and(|f| {
                    !f.posture.account_inactive()
                        && !found.iter().any(|x| {
                            x.check == "READ-INCOMPLETE" && x.account.as_deref() == account
                        })
                })
        } else {
            // Custody facts: the ledger is the fact, and it was read whole.
            true
        };
        if resolved {
            let mut f = finding;
            f.status = crate::findings::FindingStatus::Remediated;
            remediated.push(f);
        } else {
            open.push(finding);
        }
    }
    (open, remediated)
}

/// When an approved audit first reported `identity`.
fn first_reported(state: &CustodyState, identity: &str) -> Option<OffsetDateTime> {
    state
        .audits()
        .iter()
        .filter(|a| a.findings.contains(identity))
        .map(|a| a.time)
        .min()
}

/// The trend: every audit the ledger recorded (approved `audit.completed`), as the report shows it.
fn trend(state: &CustodyState) -> Vec<AuditPoint> {
    state
        .audits()
        .iter()
        .map(|a| AuditPoint {
            seq: a.seq,
            time: a.time,
            verdict: a.verdict.clone(),
            findings: a.findings.len() as u64,
            accounts: a.accounts.len() as u64,
            report_sha256: a.report_sha256.clone(),
        })
        .collect()
}

/// Custody checks that compare the ledger with what AWS shows on root.
const AGREEMENT_CHECKS: &[&str] = &[
    "RETIRED-KEY-STILL-ON-ROOT",
    "KEY-REGISTRATION-UNCONFIRMED",
    "KEY-SERIAL-CHANGED",
    "AWS-DEVICE-UNKNOWN",
    "LEDGER-KEY-NOT-IN-AWS",
    "KEY-NOT-REGISTERED",
    "ROOT-FEWER-THAN-TWO-KEYS",
];

/// The custody checks the audit makes on every account whose AWS facts it has.
const CUSTODY_CHECKS: &[&str] = &[
    "RETIRED-KEY-STILL-ON-ROOT",
    "KEY-SERIAL-CHANGED",
    "AWS-DEVICE-UNKNOWN",
    "LEDGER-KEY-NOT-IN-AWS",
    "KEY-NOT-REGISTERED",
    "ROOT-FEWER-THAN-TWO-KEYS",
    "KEY-CHECKIN-OVERDUE",
    "KEY-POSSESSION-STALE",
    "KEYS-SAME-LOCATION",
    "KEY-SOFTWARE",
    "KEY-ATTESTATION-USER-ROOT",
];

/// A finding for an active key whose attestation does not prove genuine hardware.
fn assurance_finding(k: &super::state::KeyState) -> Option<Finding> {
    use crate::attest::Assurance;
    let (code, title) = match k.attestation.assurance {
        Assurance::Hardware => return None,
        Assurance::Software => (
            "KEY-SOFTWARE",
            format!(
                "key {} is a SOFTWARE authenticator (copyable, not hardware): replace it with an attested hardware key",
                k.key_id
            ),
        ),
        Assurance::UserRoot => (
            "KEY-ATTESTATION-USER-ROOT",
            format!(
                "key {}'s attestation ends in a root the operator trusted explicitly, not a vendor or FIDO metadata root: rootkey cannot vouch that it is hardware",
                k.key_id
            ),
        ),
    };
    Some(key_finding(
        code,
        k,
        title,
        vec![
            ("model", k.model.clone()),
            ("trust_root", k.attestation.trust_root.clone()),
        ],
    ))
}

/// Findings about the people who approve: a custodian or auditor approving with a software
/// key is one person who could copy their key.
fn custodian_findings(state: &CustodyState) -> Vec<Finding> {
    state
        .registry()
        .active()
        .filter(|c| c.software)
        .map(|c| {
            mk("CUSTODIAN-KEY-SOFTWARE", None, &c.id)
                .title(format!(
                    "{} {} approves with a SOFTWARE key (copyable, so two approvals may not be two people): enroll an attested hardware key for them",
                    c.role.as_str(),
                    c.id
                ))
                .with("model", c.model.clone())
                .with("enrolled_at_entry", c.added_seq)
        })
        .collect()
}

fn key_finding(
    code: &'static str,
    k: &super::state::KeyState,
    title: String,
    evidence: Vec<(&str, String)>,
) -> Finding {
    let f = mk(code, Some(&k.account_id), &k.key_id)
        .key(k.key_id.clone())
        .title(title);
    evidence.into_iter().fold(f, |f, (l, v)| f.with(l, v))
}

/// The `audit.completed` body for `report` rendered as `rendered` in `format`.
///
/// Info findings are left out of the identities: they are not problems to remediate.
pub fn completed_event(report: &AuditReport, format: Format, rendered: &[u8]) -> AuditCompleted {
    let mut counts = SeverityCounts::default();
    for f in report.findings.iter().filter(|f| f.is_open()) {
        match f.severity {
            Severity::Critical => counts.critical += 1,
            Severity::High => counts.high += 1,
            Severity::Medium => counts.medium += 1,
            Severity::Low => counts.low += 1,
            Severity::Info => counts.info += 1,
        }
    }
    let findings: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(Finding::identity)
        .collect();
    AuditCompleted {
        report_sha256: report::digest(rendered),
        format: format.as_str().into(),
        checkpoint: report.ledger.checkpoint.clone(),
        period_start: report.meta.period_start,
        period_end: report.meta.period_end,
        verdict: report.verdict.as_str().into(),
        counts,
        findings: findings.into_iter().collect(),
        accounts: report
            .accounts
            .iter()
            .map(|a| a.account_id.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::MfaDevice;
    use crate::custody::findings::tests::{aws_account, device as aws_device, root_login};
    use crate::custody::state::tests::{checkin, checkout, confirmed, enrolled, entry, fold, k};
    use crate::custody::CustodyEvent;
    use crate::report::{render, LoginExplanation, Verdict};
    use serde_json::json;
    use time::macros::datetime;

    const A: &str = "111122223333";
    const B: &str = "444455556666";
    const C: &str = "777788889999";

    fn arn(acct: &str, key: &str) -> String {
        format!("arn:aws:iam::{acct}:u2f/root/rootkey-{key}-ABCDEFGHIJKLMNOP")
    }

    fn ledger() -> CustodyState {
        let t0 = datetime!(2025-01-02 09:00 UTC);
        fold(&[
            entry(1, t0, "key.enrolled", enrolled("k1", A, "primary", "B1")),
            entry(2, t0, "key.enrolled", enrolled("k2", A, "backup", "B2")),
            entry(3, t0, "key.registration_confirmed", confirmed("k1", A)),
            entry(4, t0, "key.registration_confirmed", confirmed("k2", A)),
            entry(5, t0, "account.enrolled", json!({"account_id": A, "primary_key_id": k("k1"), "backup_key_id": k("k2")})),
            entry(6, t0, "key.enrolled", enrolled("k3", B, "primary", "B3")),
            entry(7, datetime!(2025-01-15 00:00 UTC), "audit.completed", json!({
                "report_sha256": "0".repeat(64), "format": "json", "checkpoint": "c",
                "period_start": "2025-01-01T00:00:00Z", "period_end": "2025-01-15T00:00:00Z",
                "verdict": "findings", "counts": {"critical": 0, "high": 2, "medium": 0, "low": 0, "info": 0},
                "findings": [format!("LEDGER-KEY-NOT-IN-AWS|{A}|{}", k("k2")), format!("ROOT-FEWER-THAN-TWO-KEYS|{B}|{B}")],
                "accounts": [A, B]})),
            entry(8, datetime!(2025-02-01 10:00 UTC), "key.checked_out", checkout("k1", A, "B1", "2025-02-01T10:00:00Z", "2025-02-01T14:00:00Z")),
            entry(9, datetime!(2025-02-01 12:00 UTC), "key.checked_in", checkin("k1", A, "N1", 3)),
            entry(10, datetime!(2025-03-20 09:00 UTC), "key.checked_out", checkout("k3", B, "B3", "2025-03-20T09:00:00Z", "2025-03-21T09:00:00Z")),
        ])
        .unwrap()
    }

    fn device(serial: String) -> MfaDevice {
        aws_device(&serial)
    }

    fn login(t: OffsetDateTime) -> crate::aws::RootLogin {
        let mut l = root_login(t, Some(true), Some(true));
        l.source_ip = Some("203.0.113.9".into());
        l
    }

    fn aws() -> Vec<AccountReport> {
        let mut a = aws_account(A, vec![device(arn(A, &k("k1"))), device(arn(A, &k("k2")))]);
        a.name = Some("prod".into());
        a.management = true;
        a.posture.logins = Some(vec![
            login(datetime!(2024-12-01 08:00 UTC)),
            login(datetime!(2025-02-01 11:00 UTC)),
            login(datetime!(2025-03-05 22:00 UTC)),
        ]);
        a.findings = vec![Finding::new(
            catalogue::known("ROOT-ACCESS-KEY"),
            Some(A),
            "root access key AKIA... active",
        )
        .severity(Severity::High)];
        let b = aws_account(
            B,
            vec![device(format!(
                "arn:aws:iam::{B}:mfa/root-account-mfa-device"
            ))],
        );
        let mut c = aws_account(C, vec![]);
        c.credential_less = true;
        vec![a, b, c]
    }

    fn integrity(intact: bool) -> LedgerIntegrity {
        LedgerIntegrity {
            intact,
            anchor: Anchor::SavedCheckpoint,
            vkey: "rootkey.test/ledger+0a1b2c3d+AQID".into(),
            entries: 10,
            checkpoint: "rootkey.test/ledger\n10\nAAAA\n".into(),
            saved_checkpoint: SavedCheckpoint::Extended { tree_size: 8 },
            problems: if intact {
                vec![]
            } else {
                vec!["entry 4: leaf hash mismatch".into()]
            },
        }
    }

    fn input<'a>(
        state: &'a CustodyState,
        aws: &'a [AccountReport],
        now: OffsetDateTime,
    ) -> AuditInput<'a> {
        AuditInput {
            state,
            aws,
            accounts: None,
            integrity: integrity(true),
            generated_at: now,
            period_start: datetime!(2025-01-01 00:00 UTC),
            ledger_origin: "rootkey.test/ledger".into(),
            scope: "evidence:aws.json".into(),
            tool_version: "0.1.0".into(),
            aws_warnings: vec![],
            anchor_findings: vec![],
            evidence: None,
        }
    }

    const NOW: OffsetDateTime = datetime!(2025-04-15 00:00 UTC);

    #[test]
    fn full_audit_findings_kpis_and_tables() {
        let (k1, k2, k3) = (k("k1"), k("k2"), k("k3"));
        let s = ledger();
        let aws = aws();
        let r = build_report(input(&s, &aws, NOW));
        assert_eq!(r.verdict, Verdict::Fail);
        let codes: BTreeSet<_> = r
            .findings
            .iter()
            .map(|f| (f.check.as_str(), f.resource.as_str()))
            .collect();
        for want in [
            ("ROOT-LOGIN-UNEXPLAINED", "2025-03-05T22:00:00Z 203.0.113.9"),
            ("ROOT-ACCESS-KEY", "root access key AKIA... active"),
            ("KEY-POSSESSION-STALE", k2.as_str()),
            ("KEY-CHECKIN-OVERDUE", k3.as_str()),
            ("KEY-NOT-REGISTERED", k3.as_str()),
            (
                "AWS-DEVICE-UNKNOWN",
                "arn:aws:iam::444455556666:mfa/root-account-mfa-device",
            ),
            ("ROOT-FEWER-THAN-TWO-KEYS", B),
        ] {
            assert!(codes.contains(&want), "missing {want:?} in {codes:?}");
        }
        assert!(
            !codes
                .iter()
                .any(|(c, s)| *c == "KEY-POSSESSION-STALE" && *s == k1),
            "k1 proved possession at check-in"
        );
        assert!(
            !codes.iter().any(|(_, s)| *s == C),
            "keyless member is compliant"
        );
        assert_eq!(r.findings[0].severity, Severity::Critical);

        let k = &r.kpis;
        assert_eq!(
            k.accounts_two_hardware_keys_no_virtual,
            Ratio {
                numerator: 1,
                denominator: 2
            }
        );
        assert_eq!(
            (
                k.root_logins,
                k.root_logins_explained,
                k.root_logins_unexplained
            ),
            (2, 1, 1)
        );
        assert_eq!(
            k.accounts_covered,
            Ratio {
                numerator: 2,
                denominator: 3
            }
        );
        assert_eq!(k.keys_overdue, 1);
        // LEDGER-KEY-NOT-IN-AWS for k2 was seen on 2025-01-15 and is gone today: 90 days.
        assert_eq!(
            (k.mean_time_to_remediate_seconds, k.findings_remediated),
            (Some(90 * 86_400), 1)
        );

        let order: Vec<_> = r.keys.iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(order, [&k1, &k2, &k3], "by account, primary first");
        let row3 = r.keys.iter().find(|k| k.key_id == k3).unwrap();
        assert!(row3.overdue && row3.status == "checked_out" && row3.seen_in_aws == Some(false));
        let row1 = r.keys.iter().find(|k| k.key_id == k1).unwrap();
        assert_eq!(
            (row1.bag_serial.as_str(), row1.seen_in_aws),
            ("N1", Some(true))
        );

        assert_eq!(r.logins.len(), 2, "the 2024 login is outside the period");
        assert!(matches!(
            r.logins[0].explanation,
            LoginExplanation::InWindow {
                checkout_seq: 8,
                ..
            }
        ));
        assert_eq!(r.logins[1].explanation, LoginExplanation::Unexplained);
        let acct_b = r.accounts.iter().find(|a| a.account_id == B).unwrap();
        assert!(!acct_b.enrolled && acct_b.devices[0].key_id.is_none());
        assert_eq!(r.accounts.len(), 3);
    }

    #[test]
    fn a_finding_is_remediated_only_when_aws_was_read_completely() {
        let s = ledger();
        let mut aws = aws();
        let k2 = k("k2");
        let gone = format!("LEDGER-KEY-NOT-IN-AWS|{A}|{k2}");
        let r = build_report(input(&s, &aws, NOW));
        assert!(r.remediated.iter().any(|f| f.identity() == gone));
        // The same facts, but part of A's root could not be read: not proof it is gone.
        aws[0].findings.push(
            Finding::new(
                catalogue::known("READ-INCOMPLETE"),
                Some(A),
                "arn:aws:iam::A:root",
            )
            .severity(Severity::Medium),
        );
        let r = build_report(input(&s, &aws, NOW));
        assert!(!r.remediated.iter().any(|f| f.identity() == gone));
        let f = r.findings.iter().find(|f| f.identity() == gone).unwrap();
        assert_eq!(f.status, crate::findings::FindingStatus::Open);
        assert_eq!(r.kpis.findings_remediated, 0);
    }

    #[test]
    fn output_is_deterministic_and_the_completed_event_is_valid() {
        let s = ledger();
        let aws = aws();
        let a = render(&build_report(input(&s, &aws, NOW)), Format::Html);
        let mut reversed = aws.clone();
        reversed.reverse();
        let report = build_report(input(&s, &reversed, NOW));
        let b = render(&report, Format::Html);
        assert_eq!(a, b, "input order must not change the report");

        let ev = completed_event(&report, Format::Html, b.as_bytes());
        assert_eq!(ev.report_sha256, report::digest(b.as_bytes()));
        assert_eq!(ev.verdict, "fail");
        assert_eq!(ev.counts.critical, 1);
        assert_eq!(ev.accounts, [A, B, C]);
        assert!(ev
            .findings
            .iter()
            .all(|f| !f.starts_with("KEY-CHECKED-OUT|")));
        let body = CustodyEvent::AuditCompleted(ev.clone()).to_body().unwrap();
        assert_eq!(
            CustodyEvent::decode("audit.completed", &body).unwrap(),
            Some(CustodyEvent::AuditCompleted(ev))
        );
    }

    #[test]
    fn scope_restriction_and_missing_posture() {
        let s = ledger();
        let aws = aws();
        let only = vec![A.to_string(), "999900001111".to_string()];
        let mut i = input(&s, &aws, NOW);
        i.accounts = Some(&only);
        let r = build_report(i);
        let ids: Vec<_> = r.accounts.iter().map(|a| a.account_id.as_str()).collect();
        assert_eq!(ids, [A, "999900001111"]);
        assert!(r.keys.iter().all(|k| k.account_id == A));
        assert!(r
            .findings
            .iter()
            .any(|f| f.check == "AWS-POSTURE-MISSING" && f.resource == "999900001111"));
        assert_eq!(
            r.kpis.accounts_covered,
            Ratio {
                numerator: 1,
                denominator: 2
            }
        );
    }

    #[test]
    fn a_broken_ledger_fails_the_audit() {
        let s = ledger();
        let aws = aws();
        let mut i = input(&s, &aws, datetime!(2025-02-15 00:00 UTC));
        i.integrity = integrity(false);
        i.accounts = Some(&[]);
        let r = build_report(i);
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.findings.iter().any(|f| f.check == "LEDGER-NOT-INTACT"
            && f.evidence["problems"][0]
                .as_str()
                .unwrap()
                .contains("entry 4")));
        let mut i = input(&s, &aws, datetime!(2025-02-15 00:00 UTC));
        i.integrity.saved_checkpoint = SavedCheckpoint::NotExtended {
            detail: "size 12 > 10".into(),
        };
        let r = build_report(i);
        assert!(r
            .findings
            .iter()
            .any(|f| f.check == "LEDGER-CHECKPOINT-NOT-EXTENDED"));
    }

    #[test]
    fn an_anchor_weaker_than_a_saved_checkpoint_is_said_plainly() {
        let s = ledger();
        let aws = aws();
        let only: Vec<String> = vec![];
        for (anchor, code, severity) in [
            (Anchor::Vkey, "LEDGER-ANCHOR-KEY-ONLY", Severity::Info),
            (Anchor::None, "LEDGER-UNANCHORED", Severity::Medium),
        ] {
            let mut i = input(&s, &aws, datetime!(2025-02-15 00:00 UTC));
            i.accounts = Some(&only);
            i.integrity.anchor = anchor;
            i.integrity.saved_checkpoint = SavedCheckpoint::NotGiven;
            let r = build_report(i);
            let f = r.findings.iter().find(|f| f.check == code).unwrap();
            assert_eq!(f.severity, severity);
            assert_eq!(
                r.verdict == Verdict::Pass,
                anchor == Anchor::Vkey,
                "no anchor is never a pass"
            );
        }
    }

    #[test]
    fn software_and_user_rooted_keys_are_findings_not_hardware() {
        use crate::attest::Assurance;
        let t0 = datetime!(2025-01-02 09:00 UTC);
        let mut soft = enrolled("k1", A, "primary", "B1");
        soft["attestation"]["assurance"] = json!(Assurance::Software.as_str());
        let mut user = enrolled("k2", A, "backup", "B2");
        user["attestation"]["assurance"] = json!(Assurance::UserRoot.as_str());
        let s = fold(&[
            entry(1, t0, "key.enrolled", soft),
            entry(2, t0, "key.enrolled", user),
            entry(3, t0, "key.registration_confirmed", confirmed("k1", A)),
            entry(4, t0, "key.registration_confirmed", confirmed("k2", A)),
        ])
        .unwrap();
        let mut a = aws();
        a.truncate(1);
        a[0].findings.clear();
        a[0].posture.logins = None;
        let only = vec![A.to_string()];
        let mut i = input(&s, &a, datetime!(2025-02-15 00:00 UTC));
        i.accounts = Some(&only);
        let r = build_report(i);
        let codes: BTreeSet<_> = r.findings.iter().map(|f| f.check.as_str()).collect();
        assert!(
            codes.contains("KEY-SOFTWARE") && codes.contains("KEY-ATTESTATION-USER-ROOT"),
            "{codes:?}"
        );
        assert_eq!(r.kpis.accounts_two_hardware_keys_no_virtual.numerator, 0);
        assert_eq!(r.kpis.accounts_two_hardware_keys_no_virtual.denominator, 1);
    }

    #[test]
    fn a_clean_account_passes() {
        let s = ledger();
        let mut aws = aws();
        aws.truncate(1);
        aws[0].findings.clear();
        if let Some(l) = aws[0].posture.logins.as_mut() {
            l.truncate(2);
        }
        let only = vec![A.to_string()];
        let mut i = input(&s, &aws, datetime!(2025-02-15 00:00 UTC));
        i.accounts = Some(&only);
        let r = build_report(i);
        let checks: Vec<_> = r.findings.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, ["ROOT-LOGIN-EXPLAINED"], "{:?}", r.findings);
        assert_eq!(r.verdict, Verdict::Pass);
        let passed: Vec<_> = r.passed.iter().map(|f| f.check.as_str()).collect();
        assert!(
            passed.contains(&"ROOT-LOGIN-UNEXPLAINED") && passed.contains(&"AWS-DEVICE-UNKNOWN"),
            "{passed:?}"
        );
        assert_eq!(
            r.kpis.accounts_covered,
            Ratio {
                numerator: 1,
                denominator: 1
            }
        );
        assert_eq!(r.kpis.root_logins_unexplained, 0);
    }
}
