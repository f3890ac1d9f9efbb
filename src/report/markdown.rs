//! Markdown rendering. Every value from outside goes through [`esc`]: a location or ticket text
//! must not break a table or smuggle raw HTML into a Markdown viewer.

use std::fmt::Write;

use super::table::{self, Cell, Table};
use super::{
    acceptance_text, account_status, evidence_text, fmt_duration, fmt_time, saved_checkpoint_text,
    scope_line, verify_steps, AuditReport, Control, Finding, SEVERITIES,
};

/// Escapes text for a Markdown table cell or paragraph. A line break becomes a space; every other
/// invisible or terminal-unsafe character is shown as `\u{XXXX}` ([`crate::text::escape`]), since
/// the report may be printed straight to a terminal.
pub(crate) fn esc(text: &str) -> String {
    let flat: String = text
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let visible = crate::text::escape(&flat);
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '{' | '}' | '(' | ')' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, cells: &[String]) {
    out.push('|');
    for c in cells {
        out.push(' ');
        out.push_str(c);
        out.push_str(" |");
    }
    out.push('\n');
}

fn header_row(out: &mut String, cells: &[&str]) {
    row(
        out,
        &cells.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    );
    row(
        out,
        &cells.iter().map(|_| "---".to_string()).collect::<Vec<_>>(),
    );
}

/// One typed cell as Markdown.
fn cell(c: &Cell) -> String {
    match c {
        Cell::Id(t) | Cell::Text(t) | Cell::Prose(t) | Cell::Value(t) => esc(t),
        Cell::Time(t) => fmt_time(*t),
        Cell::Alert(t) => format!("**{}**", esc(t)),
        Cell::Controls(cs) => controls(cs),
        Cell::Joined(cs) => cs.iter().map(cell).collect(),
    }
}

/// One of the report's tables.
fn typed_table(o: &mut String, t: &Table) {
    header_row(o, t.columns);
    for r in &t.rows {
        row(o, &r.iter().map(cell).collect::<Vec<_>>());
    }
}

/// Renders the report as Markdown: the same sections, in the same order, as the HTML page.
pub(crate) fn render(r: &AuditReport) -> String {
    let mut o = String::new();
    header(&mut o, r);
    kpis(&mut o, r);
    findings(&mut o, r);
    incidents(&mut o, r);
    keys(&mut o, r);
    accounts(&mut o, r);
    logins(&mut o, r);
    history(&mut o, r);
    ledger(&mut o, r);
    o
}

/// The verdict, the one-line scope and each account's status.
fn header(o: &mut String, r: &AuditReport) {
    // Writing into a String cannot fail; ignore the fmt::Result instead of unwrapping.
    let _ = writeln!(o, "# rootkey custody audit\n");
    let _ = writeln!(o, "**Verdict: {}**\n", r.verdict.label());
    let summary: Vec<String> = r
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    if summary.is_empty() {
        let _ = writeln!(o, "No findings.\n");
    } else {
        let _ = writeln!(o, "Findings: {}.\n", summary.join(", "));
    }
    let _ = writeln!(o, "Scope: {}\n", esc(&scope_line(r)));
    header_row(o, &["Account", "Name", "Status"]);
    for a in &r.accounts {
        row(
            o,
            &[
                esc(&a.account_id),
                a.name.as_deref().map(esc).unwrap_or_else(|| "—".into()),
                format!("**{}**", account_status(r, a).label()),
            ],
        );
    }
}

/// The KPI table, with the findings per severity and the trend as text.
fn kpis(o: &mut String, r: &AuditReport) {
    let k = &r.kpis;
    let _ = writeln!(o, "\n## KPIs\n");
    header_row(o, super::KPI_COLUMNS);
    let mttr = match k.mean_time_to_remediate_seconds {
        Some(s) => format!(
            "{} over {} findings",
            fmt_duration(s),
            k.findings_remediated
        ),
        None => "no finding remediated yet".into(),
    };
    let by_severity: Vec<String> = SEVERITIES
        .iter()
        .map(|s| {
            let n = r
                .findings
                .iter()
                .filter(|f| f.is_open() && f.severity == *s)
                .count();
            format!("{n} {}", s.as_str())
        })
        .collect();
    let mut trend: Vec<String> = r
        .history
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|p| format!("{} ({})", p.findings, esc(&p.verdict)))
        .collect();
    trend.push(format!(
        "{} now ({})",
        r.recorded_findings(),
        r.verdict.as_str()
    ));
    for (label, value) in [
        (
            "Accounts with two hardware keys on root and no virtual MFA",
            k.accounts_two_hardware_keys_no_virtual.display(),
        ),
        ("Accounts covered", k.accounts_covered.display()),
        (
            "Root logins in the period (explained / unexplained)",
            format!(
                "{} ({} / {})",
                k.root_logins, k.root_logins_explained, k.root_logins_unexplained
            ),
        ),
        ("Open findings by severity", by_severity.join(", ")),
        ("Findings above info, audit by audit", trend.join(" → ")),
        ("Mean time to remediate earlier findings", mttr),
        ("Keys overdue for check-in", k.keys_overdue.to_string()),
    ] {
        // Figures rootkey computed; the one ledger string (a verdict) is escaped above.
        row(o, &[label.into(), value]);
    }
}

/// An index table, then every finding grouped by severity with its evidence, the remediation
/// to do and its controls; then the checks that passed.
fn findings(o: &mut String, r: &AuditReport) {
    let _ = writeln!(o, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        header_row(o, super::FINDING_COLUMNS);
        for f in &r.findings {
            row(
                o,
                &[
                    f.severity.as_str().to_uppercase(),
                    esc(&f.check),
                    f.status.as_str().to_string(),
                    esc(f.account.as_deref().unwrap_or("—")),
                    esc(&f.resource),
                    esc(&f.title),
                ],
            );
        }
        for s in SEVERITIES {
            let group: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == s).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n### {} ({})", s.as_str().to_uppercase(), group.len());
            for f in group {
                finding(o, f);
            }
        }
    }
    let _ = writeln!(o, "\n## Remediated since the last audit\n");
    if r.remediated.is_empty() {
        let _ = writeln!(o, "None.");
    } else {
        typed_table(o, &table::remediated(r));
    }
    let _ = writeln!(o, "\n## Passed checks\n");
    if r.passed.is_empty() {
        let _ = writeln!(o, "None listed.");
        return;
    }
    typed_table(o, &table::passed(r));
}

/// One finding: heading, status, what to do, evidence, controls.
fn finding(o: &mut String, f: &Finding) {
    let _ = writeln!(
        o,
        "\n#### {} · {} · {}\n",
        esc(&f.check),
        esc(f.account.as_deref().unwrap_or("—")),
        esc(&f.resource)
    );
    let _ = writeln!(o, "{}\n", esc(&f.title));
    let _ = writeln!(o, "- Status: **{}**", f.status.as_str().to_uppercase());
    if let Some(a) = &f.acceptance {
        let _ = writeln!(o, "- Accepted: {}", esc(&acceptance_text(a)));
    }
    if !f.remediation.is_empty() {
        let _ = writeln!(o, "- **To do:** {}", esc(&f.remediation));
    }
    for (label, value) in table::finding_facts(f) {
        let _ = writeln!(o, "- {}: {}", esc(&label), cell(&value));
    }
}

/// Controls as `framework version id`, separated by semicolons.
fn controls(cs: &[Control]) -> String {
    cs.iter()
        .map(|c| esc(&c.label()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Keys lost or compromised in the period.
fn incidents(o: &mut String, r: &AuditReport) {
    if r.incidents.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Incidents: keys lost or compromised\n");
    typed_table(o, &table::incidents(r));
}

/// Every active key, then each key's history in the period.
fn keys(o: &mut String, r: &AuditReport) {
    let _ = writeln!(o, "\n## Keys\n");
    if r.keys.is_empty() {
        let _ = writeln!(o, "No keys in custody.");
        return;
    }
    typed_table(o, &table::keys(r));
    for key in r.keys.iter().filter(|k| !k.history.is_empty()) {
        let _ = writeln!(o, "\n### Key {} in the period\n", esc(&key.key_id));
        for h in &key.history {
            let _ = writeln!(
                o,
                "- {} (entry {}): {}",
                fmt_time(h.time),
                h.seq,
                esc(&h.detail)
            );
        }
    }
}

/// One section per account: custody, devices on root, its findings.
fn accounts(o: &mut String, r: &AuditReport) {
    let _ = writeln!(o, "\n## Accounts\n");
    for a in &r.accounts {
        let title = match &a.name {
            Some(n) => format!("{} ({})", esc(&a.account_id), esc(n)),
            None => esc(&a.account_id),
        };
        let _ = writeln!(o, "### {title} — {}\n", account_status(r, a).label());
        let _ = writeln!(
            o,
            "- In custody: {}; AWS posture observed: {}{}",
            if a.enrolled { "yes" } else { "no" },
            if a.observed { "yes" } else { "no" },
            if a.root_credentials_absent {
                "; root has no credentials (centralized root access)"
            } else {
                ""
            }
        );
        let keys: Vec<String> = a.ledger_keys.iter().map(|k| esc(k)).collect();
        let _ = writeln!(
            o,
            "- Ledger keys: {}",
            if keys.is_empty() {
                "none".into()
            } else {
                keys.join(", ")
            }
        );
        if !a.devices.is_empty() {
            let _ = writeln!(o);
            typed_table(o, &table::devices(a));
        }
        if !a.findings.is_empty() {
            let _ = writeln!(o, "\nFindings:\n");
            for f in r
                .findings
                .iter()
                .filter(|f| a.findings.contains(&f.identity()))
            {
                let _ = writeln!(
                    o,
                    "- **{}** {} — {} ({})",
                    f.severity.as_str().to_uppercase(),
                    esc(&f.check),
                    esc(&f.title),
                    esc(&f.resource)
                );
            }
        }
        let _ = writeln!(o);
    }
}

/// Every root console sign-in in the period.
fn logins(o: &mut String, r: &AuditReport) {
    let _ = writeln!(o, "## Root console logins\n");
    if r.logins.is_empty() {
        let _ = writeln!(o, "None in the period.");
        return;
    }
    typed_table(o, &table::logins(r));
}

/// The earlier audits the ledger recorded.
fn history(o: &mut String, r: &AuditReport) {
    let _ = writeln!(o, "\n## Earlier audits in the ledger\n");
    if r.history.is_empty() {
        let _ = writeln!(o, "None: this is the first audit of this ledger.");
        return;
    }
    typed_table(o, &table::history(r));
}

/// What the ledger was verified against, and how anyone checks this report against it.
fn ledger(o: &mut String, r: &AuditReport) {
    let l = &r.ledger;
    let _ = writeln!(
        o,
        "\n## Ledger integrity, anchor and how to verify this report\n"
    );
    let _ = writeln!(
        o,
        "- Entries verified: {} — {}",
        l.entries,
        if l.intact { "intact" } else { "NOT INTACT" }
    );
    let _ = writeln!(
        o,
        "- Saved checkpoint: {}",
        esc(&saved_checkpoint_text(&l.saved_checkpoint))
    );
    let _ = writeln!(o, "- **Anchored by: {}**", esc(l.anchor.describe()));
    let _ = writeln!(
        o,
        "- **Verifier key: {}** (as stored in the ledger: compare it with your records)",
        esc(&l.vkey)
    );
    if let Some(ev) = evidence_text(r) {
        let _ = writeln!(o, "- {}", esc(&ev));
    }
    for p in &l.problems {
        let _ = writeln!(o, "- Problem: {}", esc(p));
    }
    let _ = writeln!(o, "\nCheckpoint the audit verified:\n");
    for line in l.checkpoint.lines() {
        // An indented code block: no Markdown escaping, but nothing raw for a terminal either.
        let _ = writeln!(o, "    {}", crate::text::escape(line));
    }
    let _ = writeln!(o);
    for (i, (what, cmd)) in verify_steps(r).iter().enumerate() {
        let _ = writeln!(o, "{}. {}\n", i + 1, esc(what));
        let _ = writeln!(o, "        {}\n", crate::text::escape(cmd));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{finding, sample, HOSTILE};
    use crate::report::{render, Format, Severity};

    #[test]
    fn escaping_neutralises_html_and_table_syntax() {
        let e = esc(HOSTILE);
        assert!(!e.contains('<') && !e.contains('>'));
        assert!(!e.contains('\n'));
        assert!(!e.replace("\\|", "").contains('|'));
        assert!(e.contains("&lt;script&gt;"));
    }

    #[test]
    fn terminal_controls_are_shown_not_sent() {
        let e = esc("a\x1b[2Jb\u{202E}c\r\nd\u{200B}");
        assert!(!e.contains('\x1b') && !e.contains('\u{202E}') && !e.contains('\u{200B}'));
        assert!(!e.contains('\n') && !e.contains('\r'));
        // `\u{001B}` with its Markdown metacharacters escaped.
        assert!(e.contains("\\\\u\\{001B\\}"), "{e}");
        assert!(e.contains("\\\\u\\{202E\\}"), "{e}");
    }

    #[test]
    fn every_section_is_present_and_hostile_text_is_escaped() {
        let r = sample(vec![finding(
            "ROOT-LOGIN-UNEXPLAINED",
            Severity::Critical,
            "2025-02-01T10:30:00Z",
        )]);
        let md = render(&r, Format::Markdown);
        for s in [
            "**Verdict: FAIL**",
            "## Ledger integrity, anchor and how to verify this report",
            "sha256sum REPORT-FILE",
            "| 111122223333 | prod | **OK** |",
            "## KPIs",
            "## Findings",
            "## Keys",
            "## Accounts",
            "## Root console logins",
            "UNEXPLAINED",
            "1/2 (50%)",
            "1d 1h",
        ] {
            assert!(md.contains(s), "missing {s}\n{md}");
        }
        assert!(!md.contains("<script>"));
        assert_eq!(md, render(&r, Format::Markdown));
    }
}
