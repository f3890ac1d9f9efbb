//! The report's tables and finding facts as typed cells: what each row says is decided here,
//! once; the Markdown and HTML renderings only escape and lay out each kind of cell.

use time::OffsetDateTime;

use super::{
    explanation_text, first_reported, opt_bool, AccountSection, AuditReport, Control, Finding,
};

/// One cell. The kind tells a rendering how to escape and lay it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// An identifier (account, key, ARN, event id, digest): never broken across lines.
    Id(String),
    /// A time.
    Time(OffsetDateTime),
    /// Short text or a number.
    Text(String),
    /// Text that may wrap between words (a location, a note, a title).
    Prose(String),
    /// A value of unknown shape: one word is kept whole, several may wrap.
    Value(String),
    /// Something the reader must not miss (OVERDUE, UNKNOWN TO LEDGER, an unexplained sign-in).
    Alert(String),
    /// Controls, each `framework version id`.
    Controls(Vec<Control>),
    /// Cells run together in one cell (`OVERDUE (due T)`).
    Joined(Vec<Cell>),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// An account, or `—` for a finding about no single account.
    fn account(a: Option<&str>) -> Cell {
        a.map_or_else(|| Cell::text("—"), |a| Cell::Id(a.to_string()))
    }
}

/// A table: its column headings and its rows.
pub(crate) struct Table {
    /// Column headings.
    pub columns: &'static [&'static str],
    /// Rows, each as many cells as there are columns.
    pub rows: Vec<Vec<Cell>>,
}

/// Keys lost or compromised in the period.
pub(crate) fn incidents(r: &AuditReport) -> Table {
    let rows = r
        .incidents
        .iter()
        .map(|i| {
            vec![
                Cell::Time(i.time),
                Cell::Id(i.account_id.clone()),
                Cell::Id(i.key_id.clone()),
                Cell::Text(i.reason.clone()),
                Cell::Prose(i.note.clone()),
                Cell::text(i.seq.to_string()),
            ]
        })
        .collect();
    Table {
        columns: super::model::INCIDENT_COLUMNS,
        rows,
    }
}

/// Every active key: where it is, whether it is out, its last possession proof.
pub(crate) fn keys(r: &AuditReport) -> Table {
    let rows = r
        .keys
        .iter()
        .map(|key| {
            let status = match (key.status.as_str(), key.due_back) {
                ("checked_out", Some(due)) if key.overdue => Cell::Joined(vec![
                    Cell::Alert("OVERDUE".into()),
                    Cell::text(" (due "),
                    Cell::Time(due),
                    Cell::text(")"),
                ]),
                ("checked_out", Some(due)) => {
                    Cell::Joined(vec![Cell::text("checked out until "), Cell::Time(due)])
                }
                (s, _) => Cell::text(s.replace('_', " ")),
            };
            vec![
                Cell::Id(key.key_id.clone()),
                Cell::Id(key.account_id.clone()),
                Cell::Text(key.role.clone()),
                Cell::Text(key.model.clone()),
                Cell::Prose(key.location.clone()),
                Cell::Value(key.bag_serial.clone()),
                status,
                Cell::Joined(vec![
                    Cell::Time(key.last_possession),
                    Cell::text(format!(" ({} days)", key.possession_age_days)),
                ]),
                Cell::text(opt_bool(key.seen_in_aws)),
            ]
        })
        .collect();
    Table {
        columns: super::KEY_COLUMNS,
        rows,
    }
}

/// The MFA devices AWS shows on one account's root, and which ledger key each one is.
pub(crate) fn devices(a: &AccountSection) -> Table {
    let rows = a
        .devices
        .iter()
        .map(|d| {
            vec![
                Cell::Id(d.serial.clone()),
                Cell::Text(d.kind.clone()),
                d.enable_date.map_or_else(|| Cell::text("—"), Cell::Time),
                d.key_id.as_deref().map_or_else(
                    || Cell::Alert("UNKNOWN TO LEDGER".into()),
                    |k| Cell::Id(k.to_string()),
                ),
            ]
        })
        .collect();
    Table {
        columns: super::DEVICE_COLUMNS,
        rows,
    }
}

/// Every root console sign-in in the period and what explains it.
pub(crate) fn logins(r: &AuditReport) -> Table {
    let rows = r
        .logins
        .iter()
        .map(|l| {
            let expl = explanation_text(&l.explanation);
            vec![
                Cell::Time(l.time),
                Cell::Id(l.account_id.clone()),
                Cell::Id(l.source_ip.clone()),
                Cell::text(opt_bool(l.mfa_used)),
                Cell::text(if l.success { "success" } else { "failure" }),
                if l.explanation.is_explained() {
                    Cell::Prose(expl)
                } else {
                    Cell::Alert(expl)
                },
            ]
        })
        .collect();
    Table {
        columns: super::LOGIN_COLUMNS,
        rows,
    }
}

/// The earlier audits the ledger recorded.
pub(crate) fn history(r: &AuditReport) -> Table {
    let rows = r
        .history
        .iter()
        .map(|p| {
            vec![
                Cell::text(p.seq.to_string()),
                Cell::Time(p.time),
                Cell::text(p.verdict.to_uppercase()),
                Cell::text(p.findings.to_string()),
                Cell::text(p.accounts.to_string()),
                Cell::Id(p.report_sha256.clone()),
            ]
        })
        .collect();
    Table {
        columns: super::HISTORY_COLUMNS,
        rows,
    }
}

/// Findings of earlier audits that are gone now.
pub(crate) fn remediated(r: &AuditReport) -> Table {
    let rows = r
        .remediated
        .iter()
        .map(|f| {
            vec![
                Cell::account(f.account.as_deref()),
                Cell::Id(f.check.clone()),
                Cell::Value(f.resource.clone()),
                Cell::Value(first_reported(f)),
                Cell::Id(f.id.clone()),
            ]
        })
        .collect();
    Table {
        columns: super::REMEDIATED_COLUMNS,
        rows,
    }
}

/// The checks that ran and found nothing.
pub(crate) fn passed(r: &AuditReport) -> Table {
    let rows = r
        .passed
        .iter()
        .map(|p| {
            vec![
                Cell::account(p.account.as_deref()),
                Cell::Id(p.check.clone()),
                Cell::Prose(p.title.clone()),
                Cell::Controls(p.controls.clone()),
            ]
        })
        .collect();
    Table {
        columns: super::PASSED_COLUMNS,
        rows,
    }
}

/// A finding's facts after its heading, status, acceptance and what to do: its id, its key,
/// each piece of evidence, its controls.
pub(crate) fn finding_facts(f: &Finding) -> Vec<(String, Cell)> {
    let mut out = vec![("Finding id".to_string(), Cell::Id(f.id.clone()))];
    if let Some(k) = &f.key_id {
        out.push(("Key".into(), Cell::Id(k.clone())));
    }
    for (label, value) in &f.evidence {
        out.push((
            label.replace('_', " "),
            Cell::Value(Finding::evidence_text(value)),
        ));
    }
    if !f.controls.is_empty() {
        out.push(("Controls".into(), Cell::Controls(f.controls.clone())));
    }
    out
}
