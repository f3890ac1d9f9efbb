//! Audit findings: what the ledger's custody state and AWS's facts say together (keys on root,
//! root sign-ins explained by checkouts, possession proofs, time to remediate), and the rule of
//! `audit.completed` itself. Pure: facts in, findings out.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::enrollment::serial_names_key;
use super::events::{AuditCompleted, FindingAccepted, ACCEPTANCE_MAX};
use super::state::{At, AuditRecord, CheckoutRecord, CustodyState, KeyState, StateError};
use crate::aws::{AccountReport, MfaDevice, MfaKind, RootLogin};
use crate::findings::catalogue;
use crate::ledger::CLOCK_TOLERANCE;
use crate::report::{Finding, LoginExplanation};

/// A key whose last possession proof is older than this is a finding.
pub const POSSESSION_MAX_AGE: Duration = Duration::days(90);
/// Tolerance between CloudTrail's clock and the custodians' workstation when matching logins.
pub const LOGIN_CLOCK_SKEW: Duration = Duration::minutes(2);

impl CustodyState {
    /// An audit is recorded: its period lies in the past of the entry that records it.
    pub(super) fn apply_audit(
        &mut self,
        at: &At<'_>,
        b: AuditCompleted,
        approved_by: Vec<String>,
    ) -> Result<(), StateError> {
        if b.period_end > at.time + CLOCK_TOLERANCE {
            return Err(at.inconsistent(format!(
                "the audited period ends {}, after the audit was recorded ({}): an audit cannot cover the future",
                crate::report::fmt_time(b.period_end),
                crate::report::fmt_time(at.time)
            )));
        }
        self.audits.push(AuditRecord {
            seq: at.seq,
            time: at.time,
            report_sha256: b.report_sha256,
            verdict: b.verdict,
            period_start: b.period_start,
            period_end: b.period_end,
            findings: b.findings.into_iter().collect(),
            accounts: b.accounts.into_iter().collect(),
            approved_by,
        });
        Ok(())
    }
}

impl CustodyState {
    /// A finding's risk is accepted: the id must be the one its check, account and resource
    /// derive, the check must be one whose findings may be accepted, and the acceptance must
    /// end in the future of the entry, at most [`ACCEPTANCE_MAX`] later.
    pub(super) fn apply_finding_accepted(
        &mut self,
        at: &At<'_>,
        b: FindingAccepted,
        approved_by: Vec<String>,
    ) -> Result<(), StateError> {
        let derived = crate::findings::instance_id(&b.check, b.account_id.as_deref(), &b.resource);
        if derived != b.finding_id {
            return Err(at.inconsistent(format!(
                "finding id {} is not the id of {} on {} (that is {derived})",
                b.finding_id, b.check, b.resource
            )));
        }
        match crate::findings::check(&b.check) {
            None => return Err(at.inconsistent(format!("{} is not a known check", b.check))),
            Some(c) if !c.acceptable => {
                return Err(at.inconsistent(format!(
                    "{} findings cannot be accepted: fix the cause",
                    b.check
                )))
            }
            Some(_) => {}
        }
        if b.until <= at.time {
            return Err(at.inconsistent(format!(
                "the acceptance ends {}, before it was recorded ({})",
                crate::report::fmt_time(b.until),
                crate::report::fmt_time(at.time)
            )));
        }
        if b.until > at.time + ACCEPTANCE_MAX {
            return Err(at.inconsistent(format!(
                "the acceptance ends {}, more than {} days after it was recorded: accept for a year at most and review it again",
                crate::report::fmt_time(b.until),
                ACCEPTANCE_MAX.whole_days()
            )));
        }
        self.acceptances.insert(
            b.finding_id,
            crate::findings::Acceptance {
                reason: b.reason,
                ticket: b.ticket,
                until: b.until,
                approved_by,
                seq: at.seq,
            },
        );
        Ok(())
    }
}

/// Whole days since the key last proved possession.
pub fn possession_age_days(last: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - last).whole_days()
}

/// Whether the last possession proof is older than [`POSSESSION_MAX_AGE`].
pub fn possession_stale(last: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - last > POSSESSION_MAX_AGE
}

// ---------------------------------------------------------------------------------------------
// AWS facts: the posture reader's own types ([`aws::AccountReport`], [`aws::MfaDevice`],
// [`aws::RootLogin`]), so a serial is classified and a login described in one place only.

/// Whether AWS shows this account compliant without keys: a member whose root has no
/// credentials at all under centralized root access (the management account never is).
pub fn keyless_by_design(aws: &AccountReport) -> bool {
    aws.credential_less && !aws.management
}

// ---------------------------------------------------------------------------------------------
// Ledger ↔ AWS agreement

/// The key (active or retired) of this account that `device` is: by recorded serial ARN first,
/// else by the proposed device name embedded in the ARN.
pub fn match_device<'a>(device: &MfaDevice, keys: &[&'a KeyState]) -> Option<&'a KeyState> {
    keys.iter()
        .find(|k| {
            k.registration
                .as_ref()
                .is_some_and(|r| r.serial_arn == device.serial)
        })
        .or_else(|| {
            keys.iter().find(|k| {
                device.kind == MfaKind::Fido && serial_names_key(&device.serial, &k.key_id)
            })
        })
        .copied()
}

/// A finding of catalogue check `code` on `account_id`'s `subject`, with the catalogue's
/// severity, controls and remediation.
fn custody_finding(
    code: &'static str,
    account_id: &str,
    key_id: Option<&str>,
    subject: &str,
    title: String,
    evidence: Vec<(&str, String)>,
) -> Finding {
    let mut f = Finding::new(catalogue::known(code), Some(account_id), subject).title(title);
    if let Some(k) = key_id {
        f = f.key(k);
    }
    evidence.into_iter().fold(f, |f, (k, v)| f.with(k, v))
}

/// Result of comparing one account's ledger keys with AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// Device serial → key id it matched (absent: unknown to the ledger).
    pub matched: BTreeMap<String, String>,
    /// Active keys AWS shows on root.
    pub keys_seen: BTreeSet<String>,
    /// Findings.
    pub findings: Vec<Finding>,
}

/// Compares the ledger's keys of an account (all of them, retired included) with what AWS shows.
pub fn compare_with_aws(keys: &[&KeyState], aws: &AccountReport) -> Agreement {
    let acct = aws.account_id.as_str();
    let mut matched = BTreeMap::new();
    let mut keys_seen = BTreeSet::new();
    let mut findings = Vec::new();
    for d in &aws.posture.mfa_devices {
        match match_device(d, keys) {
            Some(k) if !k.is_active() => findings.push(custody_finding(
                "RETIRED-KEY-STILL-ON-ROOT",
                acct,
                Some(&k.key_id),
                &d.serial,
                format!(
                    "retired key {} is still an MFA device on root: remove it in the AWS console (sign in as root with the account's other key, Security credentials → Multi-factor authentication → Remove); AWS offers no API for this outside an AssumeRoot session with the IAMDeleteRootUserCredentials task policy",
                    k.key_id
                ),
                vec![("serial", d.serial.clone()), ("key", k.key_id.clone())],
            )),
            Some(k) => {
                matched.insert(d.serial.clone(), k.key_id.clone());
                keys_seen.insert(k.key_id.clone());
                match &k.registration {
                    None => findings.push(custody_finding(
                        "KEY-REGISTRATION-UNCONFIRMED",
                        acct,
                        Some(&k.key_id),
                        &k.key_id,
                        format!("AWS shows key {} on root but the ledger never recorded the confirmation", k.key_id),
                        vec![("serial", d.serial.clone())],
                    )),
                    Some(r) if r.serial_arn != d.serial => findings.push(custody_finding(
                        "KEY-SERIAL-CHANGED",
                        acct,
                        Some(&k.key_id),
                        &k.key_id,
                        format!("key {} is on root under a different serial than the ledger recorded (re-registered?)", k.key_id),
                        vec![("ledger_serial", r.serial_arn.clone()), ("aws_serial", d.serial.clone())],
                    )),
                    Some(_) => {}
                }
            }
            None => findings.push(custody_finding(
                "AWS-DEVICE-UNKNOWN",
                acct,
                None,
                &d.serial,
                format!(
                    "root has a {} MFA device the ledger does not know",
                    d.kind.as_str()
                ),
                vec![
                    ("serial", d.serial.clone()),
                    ("type", d.kind.as_str().to_string()),
                    (
                        "enabled",
                        d.enable_date
                            .map(crate::report::fmt_time)
                            .unwrap_or_else(|| "unknown".into()),
                    ),
                ],
            )),
        }
    }
    for k in keys.iter().filter(|k| k.is_active()) {
        if keys_seen.contains(&k.key_id) {
            continue;
        }
        let (code, title) = match &k.registration {
            Some(_) => (
                "LEDGER-KEY-NOT-IN-AWS",
                format!("AWS no longer shows key {} on root", k.key_id),
            ),
            None => (
                "KEY-NOT-REGISTERED",
                format!(
                    "key {} was enrolled but AWS never showed it on root",
                    k.key_id
                ),
            ),
        };
        let mut ev = vec![
            ("key", k.key_id.clone()),
            ("expected_device_name", k.aws_device_name.clone()),
        ];
        if let Some(r) = &k.registration {
            ev.push(("ledger_serial", r.serial_arn.clone()));
        }
        findings.push(custody_finding(
            code,
            acct,
            Some(&k.key_id),
            &k.key_id,
            title,
            ev,
        ));
    }
    if keys_seen.len() < 2 && !keyless_by_design(aws) {
        findings.push(custody_finding(
            "ROOT-FEWER-THAN-TWO-KEYS",
            acct,
            None,
            acct,
            format!(
                "root is guarded by {} custody key(s) AWS confirms; two are required",
                keys_seen.len()
            ),
            vec![
                (
                    "keys_seen_on_root",
                    keys_seen.iter().cloned().collect::<Vec<_>>().join(", "),
                ),
                ("devices_on_root", aws.posture.mfa_devices.len().to_string()),
            ],
        ));
    }
    Agreement {
        matched,
        keys_seen,
        findings,
    }
}

/// Whether root is guarded by at least two active custody keys that AWS shows and whose
/// attestation proves genuine hardware, and by no virtual MFA device: the KPI counts the same
/// keys the key table shows, so a software key or one anchored in a root the operator trusted
/// never counts as hardware.
pub fn two_hardware_keys_no_virtual(
    keys_seen: &BTreeSet<String>,
    keys: &[&KeyState],
    aws: &AccountReport,
) -> bool {
    let hardware = keys
        .iter()
        .filter(|k| k.is_active() && keys_seen.contains(&k.key_id))
        .filter(|k| k.attestation.assurance.is_hardware())
        .count();
    let virt = aws
        .posture
        .mfa_devices
        .iter()
        .any(|d| d.kind == MfaKind::Virtual);
    hardware >= 2 && !virt
}

// ---------------------------------------------------------------------------------------------
// Root logins

/// Explains a root login at `t` by the account's checkouts (at `now`, for keys still out).
///
/// In window: `[window_start, min(window_end, check-in)]` widened by [`LOGIN_CLOCK_SKEW`].
/// After window: past `window_end` while the key was still out (until a late check-in, or
/// still out now). Anything else is unexplained.
pub fn explain_login(
    t: OffsetDateTime,
    checkouts: &[&CheckoutRecord],
    now: OffsetDateTime,
) -> LoginExplanation {
    let mut after = None;
    for c in checkouts {
        let back = c.checkin.as_ref().map(|i| i.time);
        let in_end = back.map_or(c.window_end, |b| b.min(c.window_end));
        if t >= c.window_start - LOGIN_CLOCK_SKEW && t <= in_end + LOGIN_CLOCK_SKEW {
            return LoginExplanation::InWindow {
                key_id: c.key_id.clone(),
                ticket: c.ticket.clone(),
                checkout_seq: c.seq,
            };
        }
        let out_until = back.unwrap_or(now);
        if after.is_none() && t > c.window_end && t <= out_until + LOGIN_CLOCK_SKEW {
            after = Some(LoginExplanation::AfterWindow {
                key_id: c.key_id.clone(),
                ticket: c.ticket.clone(),
                checkout_seq: c.seq,
            });
        }
    }
    after.unwrap_or(LoginExplanation::Unexplained)
}

/// Whether a login counts as a sign-in: CloudTrail not saying is treated as success, because an
/// audit must not wave a root sign-in through on a missing field.
pub fn login_succeeded(login: &RootLogin) -> bool {
    login.success != Some(false)
}

/// The login's source IP, or `unknown` when CloudTrail did not record one.
pub fn login_source_ip(login: &RootLogin) -> &str {
    login.source_ip.as_deref().unwrap_or("unknown")
}

/// The findings a root login raises, given its explanation.
pub fn login_findings(
    account_id: &str,
    login: &RootLogin,
    explanation: &LoginExplanation,
) -> Vec<Finding> {
    let when = crate::report::fmt_time(login.time);
    let ip = login_source_ip(login);
    let success = login_succeeded(login);
    let subject = format!("{when} {ip}");
    let evidence = || {
        vec![
            ("time", when.clone()),
            ("source_ip", ip.to_string()),
            (
                "result",
                match login.success {
                    Some(true) => "success",
                    Some(false) => "failure",
                    None => "not recorded (counted as success)",
                }
                .to_string(),
            ),
            (
                "mfa_used",
                crate::report::opt_bool(login.mfa_used).to_string(),
            ),
        ]
    };
    let mut out = Vec::new();
    match (explanation, success) {
        (LoginExplanation::Unexplained, true) => out.push(custody_finding(
            "ROOT-LOGIN-UNEXPLAINED",
            account_id,
            None,
            &subject,
            "root signed in to the console while no key was checked out".into(),
            evidence(),
        )),
        (LoginExplanation::Unexplained, false) => out.push(custody_finding(
            "ROOT-LOGIN-FAILED-UNEXPLAINED",
            account_id,
            None,
            &subject,
            "a failed root console sign-in while no key was checked out".into(),
            evidence(),
        )),
        (LoginExplanation::InWindow { key_id, ticket, .. }, _) => {
            let mut ev = evidence();
            ev.push(("ticket", ticket.clone()));
            out.push(custody_finding(
                "ROOT-LOGIN-EXPLAINED",
                account_id,
                Some(key_id),
                &subject,
                format!("root signed in inside the approved checkout window of key {key_id}"),
                ev,
            ))
        }
        (LoginExplanation::AfterWindow { key_id, ticket, .. }, true) => {
            let mut ev = evidence();
            ev.push(("ticket", ticket.clone()));
            out.push(custody_finding(
                "ROOT-LOGIN-AFTER-WINDOW",
                account_id,
                Some(key_id),
                &subject,
                format!("root signed in after the approved window of key {key_id} had ended"),
                ev,
            ))
        }
        _ => {}
    }
    if success && login.mfa_used == Some(false) {
        out.push(custody_finding(
            "ROOT-LOGIN-WITHOUT-MFA",
            account_id,
            None,
            &subject,
            "root signed in to the console without MFA".into(),
            evidence(),
        ));
    }
    out
}

/// The findings a use of root's credentials raises (an access key or API call, a password
/// recovery), matched against the checkouts like a sign-in. A password use is the console
/// sign-in already judged from `logins` when one lies within the clock skew: not counted twice.
pub fn usage_findings(
    account_id: &str,
    usage: &crate::aws::RootUse,
    explanation: &LoginExplanation,
    logins: &[RootLogin],
) -> Vec<Finding> {
    use crate::aws::RootUseKind;
    if usage.kind == RootUseKind::Password
        && logins
            .iter()
            .any(|l| (l.time - usage.time).abs() <= LOGIN_CLOCK_SKEW)
    {
        return vec![];
    }
    let when = crate::report::fmt_time(usage.time);
    let evidence = vec![
        ("time", when.clone()),
        ("what", usage.kind.as_str().to_string()),
        ("seen_in", usage.source.clone()),
        ("detail", usage.detail.clone()),
        (
            "event_id",
            usage.event_id.clone().unwrap_or_else(|| "—".into()),
        ),
    ];
    // Two uses in the same second (two access keys, two API calls) are two findings.
    let subject = match usage.credential.as_deref().or(usage.event_id.as_deref()) {
        Some(which) => format!("{when} {} {which}", usage.kind.as_str()),
        None => format!("{when} {}", usage.kind.as_str()),
    };
    match explanation {
        LoginExplanation::Unexplained => vec![custody_finding(
            "ROOT-USED-UNEXPLAINED",
            account_id,
            None,
            &subject,
            format!(
                "root's {} was used while no key was checked out",
                usage.kind.as_str()
            ),
            evidence,
        )],
        LoginExplanation::AfterWindow { key_id, ticket, .. } => {
            let mut ev = evidence;
            ev.push(("ticket", ticket.clone()));
            vec![custody_finding(
                "ROOT-USED-AFTER-WINDOW",
                account_id,
                Some(key_id),
                &subject,
                format!(
                    "root's {} was used after the approved window of key {key_id} had ended",
                    usage.kind.as_str()
                ),
                ev,
            )]
        }
        LoginExplanation::InWindow { key_id, ticket, .. } => {
            let mut ev = evidence;
            ev.push(("ticket", ticket.clone()));
            vec![custody_finding(
                "ROOT-USED-EXPLAINED",
                account_id,
                Some(key_id),
                &subject,
                format!(
                    "root's {} was used inside the approved checkout window of key {key_id}",
                    usage.kind.as_str()
                ),
                ev,
            )]
        }
    }
}

/// The sign-in and root-use checks, which pass on an account whose sign-ins were searched and
/// raised none of them (the `*-EXPLAINED` ones are information, never "passed").
pub const SIGN_IN_CHECKS: &[&str] = &[
    "ROOT-LOGIN-UNEXPLAINED",
    "ROOT-LOGIN-FAILED-UNEXPLAINED",
    "ROOT-LOGIN-AFTER-WINDOW",
    "ROOT-LOGIN-WITHOUT-MFA",
    "ROOT-USED-UNEXPLAINED",
    "ROOT-USED-AFTER-WINDOW",
];

/// Checks whose findings belong to the period they were seen in (a late check-in, an incident,
/// a gap or stale evidence of that audit): they leave with their period, so they are neither
/// carried over nor counted as remediated.
pub const PERIOD_BOUND_CHECKS: &[&str] = &[
    "KEY-CHECKIN-LATE",
    "KEY-INCIDENT",
    "AWS-READ-GAP",
    "EVIDENCE-STALE",
    "EVIDENCE-PARTIAL",
];

/// Every root sign-in and root use of `account` from `since` to `until`, judged against its
/// checkouts: the one rule `aws posture` and `audit` share. Returns the findings and the
/// sign-ins as login rows.
pub fn root_activity(
    account: &AccountReport,
    checkouts: &[&CheckoutRecord],
    since: OffsetDateTime,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> (Vec<Finding>, Vec<crate::report::LoginRow>) {
    let acct = account.account_id.as_str();
    let logins = account.posture.logins.as_deref().unwrap_or_default();
    let mut findings = Vec::new();
    let mut rows = Vec::new();
    for l in logins.iter().filter(|l| l.time >= since && l.time <= until) {
        let explanation = explain_login(l.time, checkouts, now);
        findings.extend(login_findings(acct, l, &explanation));
        rows.push(crate::report::LoginRow {
            account_id: acct.to_string(),
            time: l.time,
            source_ip: login_source_ip(l).to_string(),
            mfa_used: l.mfa_used,
            success: login_succeeded(l),
            explanation,
        });
    }
    for u in account
        .posture
        .usage
        .iter()
        .filter(|u| u.time >= since && u.time <= until)
    {
        findings.extend(usage_findings(
            acct,
            u,
            &explain_login(u.time, checkouts, now),
            logins,
        ));
    }
    (findings, rows)
}

/// Adds the sign-in and root-use findings to a posture report, judged against the ledger's
/// checkouts when a ledger is given (without one, nothing explains a sign-in), marks findings
/// whose risk the ledger accepts, records the sign-in checks that passed, and recounts the
/// summary.
pub fn judge_posture_activity(
    report: &mut crate::aws::Report,
    state: Option<&CustodyState>,
    since: OffsetDateTime,
    until: OffsetDateTime,
    now: OffsetDateTime,
) {
    for acc in report.accounts.iter_mut() {
        if acc.posture.account_inactive() {
            continue;
        }
        let checkouts: Vec<&CheckoutRecord> = state
            .map(|s| {
                s.checkouts()
                    .iter()
                    .filter(|c| c.account_id == acc.account_id)
                    .collect()
            })
            .unwrap_or_default();
        let (findings, _) = root_activity(acc, &checkouts, since, until, now);
        acc.findings.extend(findings);
        if let Some(s) = state {
            for f in &mut acc.findings {
                if let Some(a) = s.acceptance(&f.id, now) {
                    f.status = crate::findings::FindingStatus::Accepted;
                    f.acceptance = Some(a.clone());
                }
            }
        }
        if acc.posture.logins.is_some() {
            for id in SIGN_IN_CHECKS {
                acc.pass_unless_found(catalogue::known(id));
            }
        }
    }
    report.summarize();
}

// ---------------------------------------------------------------------------------------------
// Time to remediate

/// Mean seconds from the audit that first saw a finding to the first later audit, covering the
/// same account, that no longer saw it; and how many findings that mean is over.
///
/// `audits` are (time, finding identities, accounts in scope) in time order; the current audit
/// goes last. Identities are `CODE|account|subject` ([`Finding::identity`]); an audit of other
/// accounts says nothing about this one, so it does not close the finding.
pub fn mean_time_to_remediate(
    audits: &[(OffsetDateTime, &BTreeSet<String>, &BTreeSet<String>)],
) -> (Option<u64>, u64) {
    let mut open: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
    let mut total: i128 = 0;
    let mut count: u64 = 0;
    for (time, findings, accounts) in audits {
        let closed: Vec<&str> = open
            .keys()
            .copied()
            .filter(|id| !findings.contains(*id))
            // A finding bound to its period leaves with it: that is no remediation.
            .filter(|id| {
                let check = id.split('|').next().unwrap_or_default();
                !PERIOD_BOUND_CHECKS.contains(&check)
            })
            .filter(|id| {
                let account = id.split('|').nth(1).unwrap_or("-");
                account == "-" || accounts.contains(account)
            })
            .collect();
        for id in closed {
            if let Some(first) = open.remove(id) {
                total += (*time - first).whole_seconds().max(0) as i128;
                count += 1;
            }
        }
        for id in findings.iter() {
            open.entry(id.as_str()).or_insert(*time);
        }
    }
    if count == 0 {
        (None, 0)
    } else {
        (u64::try_from(total / i128::from(count)).ok(), count)
    }
}

#[cfg(test)]
pub(crate) mod tests;
