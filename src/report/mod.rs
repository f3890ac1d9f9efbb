//! Audit results → JSON, Markdown and a self-contained HTML page.
//!
//! The model ([`AuditReport`]) is built by `custody::audit`; this module only renders it. Every
//! renderer is deterministic (the model is sorted when built, times are printed in UTC to the
//! second) so the digest recorded in `audit.completed` is reproducible from the same facts.

mod html;
mod markdown;
pub mod model;
mod table;

pub use model::{
    verdict, AccountSection, Anchor, AuditPoint, AuditReport, Control, DeviceRow, EvidenceMeta,
    Finding, FindingSource, IncidentRow, KeyEvent, KeyRow, Kpis, LedgerIntegrity, LoginExplanation,
    LoginRow, Ratio, ReportMeta, SavedCheckpoint, Severity, Verdict,
};

use time::OffsetDateTime;

// Column headings shared by the Markdown and HTML renderings, so the two cannot drift apart.
/// Headings of the KPI table.
pub(crate) const KPI_COLUMNS: &[&str] = &["KPI", "Value"];
/// Headings of the findings table.
pub(crate) const FINDING_COLUMNS: &[&str] = &[
    "Severity", "Code", "Status", "Account", "Resource", "Finding",
];
/// Headings of the remediated findings table.
pub(crate) const REMEDIATED_COLUMNS: &[&str] = &[
    "Account",
    "Code",
    "Resource",
    "First reported",
    "Finding id",
];
/// Headings of the passed checks table.
pub(crate) const PASSED_COLUMNS: &[&str] = &["Account", "Check", "Finds", "Controls"];
/// Headings of the keys table.
pub(crate) const KEY_COLUMNS: &[&str] = &[
    "Key",
    "Account",
    "Role",
    "Model",
    "Location",
    "Bag",
    "Status",
    "Last possession proof",
    "In AWS",
];
/// Headings of the devices-on-root table of one account.
pub(crate) const DEVICE_COLUMNS: &[&str] = &["Device on root", "Type", "Enabled", "Ledger key"];
/// Headings of the root console logins table.
pub(crate) const LOGIN_COLUMNS: &[&str] = &[
    "Time",
    "Account",
    "Source IP",
    "MFA",
    "Result",
    "Explanation",
];

/// Headings of the earlier-audits (trend) table.
pub(crate) const HISTORY_COLUMNS: &[&str] = &[
    "Entry",
    "Recorded",
    "Verdict",
    "Findings to fix",
    "Accounts",
    "Report SHA-256",
];

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Markdown,
    /// One self-contained HTML page.
    Html,
    /// JSON (the model as is).
    Json,
}

/// A format name that is not `md`, `html` or `json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format {0:?}: use md, html or json")]
pub struct UnknownFormat(pub String);

impl Format {
    /// Parses `md` (or `markdown`), `html` or `json`.
    pub fn parse(name: &str) -> Result<Format, UnknownFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            _ => Err(UnknownFormat(name.to_string())),
        }
    }

    /// `md`, `html` or `json` (the form `audit.completed` stores).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &AuditReport, format: Format) -> String {
    match format {
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
        Format::Json => render_json(report),
    }
}

/// The report as pretty JSON with a trailing newline.
pub fn render_json(report: &AuditReport) -> String {
    // The model has only strings, integers, booleans and maps with string keys: serializing it
    // cannot fail, but fall back to an explicit error object rather than panic.
    let mut s = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    s.push('\n');
    s
}

/// SHA-256 of rendered bytes, lowercase hex: the digest `audit.completed` records.
pub fn digest(rendered: &[u8]) -> String {
    hex::encode(crate::webauthn::sha256(rendered))
}

/// A time as RFC 3339 in UTC, to the second.
pub fn fmt_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A duration in seconds as `3d 4h`, `5h 10m` or `42s`.
pub fn fmt_duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

/// Describes how a login was explained, for the tables.
pub(crate) fn explanation_text(e: &LoginExplanation) -> String {
    match e {
        LoginExplanation::InWindow {
            key_id,
            ticket,
            checkout_seq,
        } => {
            format!("checkout of {key_id} ({ticket}, entry {checkout_seq})")
        }
        LoginExplanation::AfterWindow {
            key_id,
            ticket,
            checkout_seq,
        } => {
            format!("after the window of {key_id} ({ticket}, entry {checkout_seq}), before its late check-in")
        }
        LoginExplanation::Unexplained => "UNEXPLAINED".to_string(),
    }
}

/// An account's badge: its worst finding to fix, else whether its posture could be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountStatus {
    /// Observed, nothing above info.
    Ok,
    /// AWS posture was not observed and nothing else was found: not judged.
    NotObserved,
    /// The worst finding above info.
    Worst(Severity),
}

impl AccountStatus {
    /// `OK`, `NOT OBSERVED` or the worst severity in capitals.
    pub(crate) fn label(self) -> String {
        match self {
            AccountStatus::Ok => "OK".into(),
            AccountStatus::NotObserved => "NOT OBSERVED".into(),
            AccountStatus::Worst(s) => s.as_str().to_uppercase(),
        }
    }

    /// The CSS class of its badge.
    pub(crate) fn class(self) -> &'static str {
        match self {
            AccountStatus::Ok => "st-ok",
            AccountStatus::NotObserved => "st-unknown",
            AccountStatus::Worst(Severity::Critical) => "st-critical",
            AccountStatus::Worst(Severity::High) => "st-high",
            AccountStatus::Worst(_) => "st-medium",
        }
    }
}

/// The badge of account `a`, from the same findings the findings section lists.
pub(crate) fn account_status(r: &AuditReport, a: &AccountSection) -> AccountStatus {
    let worst = r
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info && a.findings.contains(&f.identity()))
        .map(|f| f.severity)
        .max();
    match worst {
        Some(s) => AccountStatus::Worst(s),
        None if !a.observed && !a.root_credentials_absent => AccountStatus::NotObserved,
        None => AccountStatus::Ok,
    }
}

/// The AWS evidence the audit judged, in one sentence; `None` when the report does not say.
pub(crate) fn evidence_text(r: &AuditReport) -> Option<String> {
    r.meta.evidence.as_ref().map(|ev| {
        format!(
            "AWS evidence judged: SHA-256 {}, read {}, root sign-ins searched {} → {}",
            ev.sha256,
            fmt_time(ev.read_at),
            fmt_time(ev.login_search_since),
            fmt_time(ev.login_search_until)
        )
    })
}

/// When a remediated finding was first reported, as its evidence says.
pub(crate) fn first_reported(f: &Finding) -> String {
    f.evidence
        .get("first_reported")
        .map(Finding::evidence_text)
        .unwrap_or_else(|| "—".into())
}

/// An acceptance in one sentence: until when, by whom, why.
pub(crate) fn acceptance_text(a: &model::Acceptance) -> String {
    format!(
        "until {} by {} (ticket {}, ledger entry {}): {}",
        fmt_time(a.until),
        a.approved_by.join(", "),
        a.ticket,
        a.seq,
        a.reason
    )
}

/// Every severity, most severe first (the order findings are grouped in).
pub(crate) const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// The one-line scope shown under the verdict.
pub(crate) fn scope_line(r: &AuditReport) -> String {
    let m = &r.meta;
    format!(
        "{} account{} from {} · period {} → {} · ledger {} ({} entries) · generated {} by rootkey {}",
        r.accounts.len(),
        if r.accounts.len() == 1 { "" } else { "s" },
        m.scope,
        fmt_time(m.period_start),
        fmt_time(m.period_end),
        m.ledger_origin,
        r.ledger.entries,
        fmt_time(m.generated_at),
        m.tool_version
    )
}

/// How to check this report against the ledger: (what it proves, the command), in order.
///
/// The report cannot carry its own digest; `audit.completed` records it as the entry after
/// the ones this audit verified, so the steps name that entry.
pub(crate) fn verify_steps(r: &AuditReport) -> Vec<(String, String)> {
    let n = r.ledger.entries;
    vec![
        (
            format!(
                "Hash this file exactly as you received it. The digest must equal report_sha256 \
                 in the audit.completed entry recorded for this audit (entry {n} when it was \
                 recorded; rootkey audit prints the entry and the digest)."
            ),
            "sha256sum REPORT-FILE".into(),
        ),
        (
            "Read that entry: its kind, verdict, period, checkpoint and report_sha256.".into(),
            format!("rootkey --ledger LEDGER --json ledger show --since {n}"),
        ),
        (
            "Verify every entry, approval and the signed checkpoint against the verifier key \
             from your own records (not the one stored in the database), and that the ledger \
             extends the checkpoint you saved last time."
                .into(),
            "rootkey --ledger LEDGER ledger verify --vkey VKEY-FROM-YOUR-RECORDS \
             --since-checkpoint SAVED-CHECKPOINT"
                .into(),
        ),
        (
            "Prove that entry is included in the ledger's latest signed checkpoint.".into(),
            format!("rootkey --ledger LEDGER ledger prove {n}"),
        ),
    ]
}

pub(crate) fn opt_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

pub(crate) fn saved_checkpoint_text(s: &SavedCheckpoint) -> String {
    match s {
        SavedCheckpoint::NotGiven => "no saved checkpoint given".into(),
        SavedCheckpoint::Extended { tree_size } => {
            format!("extends the saved checkpoint (tree size {tree_size})")
        }
        SavedCheckpoint::NotExtended { detail } => {
            format!("DOES NOT extend the saved checkpoint: {detail}")
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) const HOSTILE: &str = "<script>alert('x')</script> | *bold* & \"q\"\nnext";

    pub(crate) fn finding(code: &str, severity: Severity, subject: &str) -> Finding {
        let check = crate::findings::check(code).unwrap_or(&crate::findings::CHECKS[0]);
        let mut f = Finding::new(check, Some("111122223333"), subject)
            .severity(severity)
            .title(format!("title of {code}"))
            .with("detail", HOSTILE);
        f.check = code.into();
        f
    }

    pub(crate) fn integrity(intact: bool) -> LedgerIntegrity {
        LedgerIntegrity {
            intact,
            anchor: Anchor::Vkey,
            vkey: "rootkey.example/ledger+0a1b2c3d+AQID".into(),
            entries: 12,
            checkpoint: "rootkey.example/ledger\n12\nAAAA\n\n— rootkey sig\n".into(),
            saved_checkpoint: SavedCheckpoint::NotGiven,
            problems: vec![],
        }
    }

    pub(crate) fn sample(findings: Vec<Finding>) -> AuditReport {
        let t = datetime!(2025-04-01 09:00 UTC);
        AuditReport::new(
            ReportMeta {
                generated_at: t,
                period_start: datetime!(2025-01-01 00:00 UTC),
                period_end: t,
                ledger_origin: "rootkey.example/ledger".into(),
                scope: "evidence:aws.json".into(),
                tool_version: "0.1.0".into(),
                evidence: None,
            },
            integrity(true),
            Kpis {
                accounts_two_hardware_keys_no_virtual: Ratio {
                    numerator: 1,
                    denominator: 2,
                },
                root_logins: 2,
                root_logins_explained: 1,
                root_logins_unexplained: 1,
                mean_time_to_remediate_seconds: Some(90_000),
                findings_remediated: 1,
                accounts_covered: Ratio {
                    numerator: 1,
                    denominator: 2,
                },
                keys_overdue: 0,
            },
            findings,
            vec![KeyRow {
                key_id: "a1b2c3d4".into(),
                account_id: "111122223333".into(),
                role: "primary".into(),
                model: "YubiKey 5 NFC".into(),
                location: HOSTILE.into(),
                bag_serial: "BAG-1".into(),
                status: "in_safe".into(),
                due_back: None,
                overdue: false,
                last_possession: datetime!(2025-03-01 00:00 UTC),
                possession_age_days: 31,
                serial_arn: Some("arn:aws:iam::111122223333:u2f/root/rootkey-a1b2c3d4-X".into()),
                seen_in_aws: Some(true),
                history: vec![],
            }],
            vec![AccountSection {
                account_id: "111122223333".into(),
                name: Some("prod".into()),
                enrolled: true,
                observed: true,
                root_credentials_absent: false,
                ledger_keys: vec!["a1b2c3d4".into()],
                devices: vec![DeviceRow {
                    serial: "arn:aws:iam::111122223333:u2f/root/rootkey-a1b2c3d4-X".into(),
                    kind: "fido".into(),
                    enable_date: Some(datetime!(2025-01-02 10:00 UTC)),
                    key_id: Some("a1b2c3d4".into()),
                }],
                findings: vec![],
            }],
            vec![LoginRow {
                account_id: "111122223333".into(),
                time: datetime!(2025-02-01 10:30 UTC),
                source_ip: "203.0.113.7".into(),
                mfa_used: Some(true),
                success: true,
                explanation: LoginExplanation::Unexplained,
            }],
        )
    }

    #[test]
    fn verdict_logic() {
        assert_eq!(sample(vec![]).verdict, Verdict::Pass);
        assert_eq!(
            sample(vec![finding("X", Severity::Info, "s")]).verdict,
            Verdict::Pass
        );
        assert_eq!(
            sample(vec![finding("X", Severity::Low, "s")]).verdict,
            Verdict::Findings
        );
        assert_eq!(
            sample(vec![finding("X", Severity::High, "s")]).verdict,
            Verdict::Findings
        );
        assert_eq!(
            sample(vec![
                finding("X", Severity::Low, "s"),
                finding("Y", Severity::Critical, "s")
            ])
            .verdict,
            Verdict::Fail
        );
        assert_eq!(verdict(&integrity(false), &[]), Verdict::Fail);
        let mut i = integrity(true);
        i.saved_checkpoint = SavedCheckpoint::NotExtended {
            detail: "rollback".into(),
        };
        assert_eq!(verdict(&i, &[]), Verdict::Fail);
        i.saved_checkpoint = SavedCheckpoint::Extended { tree_size: 3 };
        assert_eq!(verdict(&i, &[]), Verdict::Pass);
    }

    #[test]
    fn findings_are_sorted_most_severe_first_and_deduplicated() {
        let r = sample(vec![
            finding("B", Severity::Low, "s"),
            finding("A", Severity::Critical, "s"),
            finding("B", Severity::Low, "s"),
            finding("C", Severity::High, "s"),
        ]);
        let codes: Vec<_> = r.findings.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(codes, ["A", "C", "B"]);
        assert_eq!(
            r.counts(),
            [
                (Severity::Critical, 1),
                (Severity::High, 1),
                (Severity::Low, 1)
            ]
        );
    }

    #[test]
    fn json_round_trips_and_is_deterministic() {
        let r = sample(vec![finding("A", Severity::High, "s")]);
        let a = render(&r, Format::Json);
        let b = render(&r.clone(), Format::Json);
        assert_eq!(a, b);
        assert_eq!(digest(a.as_bytes()), digest(b.as_bytes()));
        let back: AuditReport = serde_json::from_str(&a).unwrap();
        assert_eq!(back, r);
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        for key in [
            "verdict", "meta", "ledger", "kpis", "findings", "keys", "accounts", "logins",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["verdict"], "findings");
        fn no_floats(v: &serde_json::Value) -> bool {
            match v {
                serde_json::Value::Number(n) => n.is_i64() || n.is_u64(),
                serde_json::Value::Array(a) => a.iter().all(no_floats),
                serde_json::Value::Object(o) => o.values().all(no_floats),
                _ => true,
            }
        }
        assert!(no_floats(&v));
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("md").unwrap(), Format::Markdown);
        assert_eq!(Format::parse("HTML").unwrap(), Format::Html);
        assert_eq!(Format::parse("json").unwrap().as_str(), "json");
        assert!(Format::parse("pdf")
            .unwrap_err()
            .to_string()
            .contains("md, html or json"));
    }

    #[test]
    fn times_and_durations_format() {
        assert_eq!(
            fmt_time(datetime!(2025-02-01 10:30:05.123 +02:00)),
            "2025-02-01T08:30:05Z"
        );
        assert_eq!(fmt_duration(90_000), "1d 1h");
        assert_eq!(fmt_duration(3_660), "1h 1m");
        assert_eq!(fmt_duration(120), "2m");
        assert_eq!(fmt_duration(5), "5s");
        assert_eq!(
            Ratio {
                numerator: 1,
                denominator: 3
            }
            .display(),
            "1/3 (33%)"
        );
        assert_eq!(
            Ratio {
                numerator: 2,
                denominator: 3
            }
            .percent(),
            Some(67)
        );
        assert_eq!(
            Ratio {
                numerator: 0,
                denominator: 0
            }
            .display(),
            "0/0"
        );
    }
}
