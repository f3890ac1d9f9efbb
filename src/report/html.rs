//! One self-contained HTML page: inline CSS, no scripts, no external assets. Every value goes
//! through html-escape, so hostile text from a ledger body or an AWS evidence file stays text.

use std::fmt::Write;

use html_escape::encode_text;

use super::{
    explanation_text, fmt_duration, fmt_time, opt_bool, saved_checkpoint_text, Anchor, AuditReport,
    Verdict,
};

const CSS: &str = "
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.5rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.25rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.75rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f6f8fa;white-space:nowrap}
.banner{padding:1rem 1.25rem;border-radius:.4rem;font-size:1.4rem;font-weight:700;color:#fff}
.banner small{display:block;font-size:.9rem;font-weight:400}
.pass{background:#1a7f37}.findings{background:#9a6700}.fail{background:#cf222e}
.sev{font-weight:700;text-transform:uppercase;font-size:.8rem;white-space:nowrap}
.nw{white-space:nowrap}
.sev-critical{color:#cf222e}.sev-high{color:#bc4c00}.sev-medium{color:#9a6700}.sev-low{color:#0969da}.sev-info{color:#57606a}
.bad{color:#cf222e;font-weight:700}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto}
.finding{border:1px solid #d0d7de;border-radius:.4rem;padding:.5rem 1rem;margin:.75rem 0}
";

/// Escapes text for HTML; invisible and terminal-unsafe characters first become visible
/// `\u{XXXX}` ([`crate::text::escape`]), so the page carries no raw control or bidi character.
fn e(text: &str) -> String {
    encode_text(&crate::text::escape(text)).into_owned()
}

/// [`e`] for multi-line text (a `<pre>` block): line breaks stay.
fn e_lines(text: &str) -> String {
    encode_text(&crate::text::escape_lines(text)).into_owned()
}

fn table(o: &mut String, head: &[&str], rows: &[Vec<String>]) {
    o.push_str("<table>");
    // A label/value table has no column headings: no empty heading row either.
    if head.iter().any(|h| !h.is_empty()) {
        o.push_str("<thead><tr>");
        for h in head {
            let _ = write!(o, "<th>{}</th>", e(h));
        }
        o.push_str("</tr></thead>");
    }
    o.push_str("<tbody>\n");
    for r in rows {
        o.push_str("<tr>");
        // Cells are already escaped HTML fragments, built below from escaped values.
        for c in r {
            let _ = write!(o, "<td>{c}</td>");
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table>\n");
}

/// Renders the report as one HTML page.
pub(crate) fn render(r: &AuditReport) -> String {
    let mut o = String::new();
    let m = &r.meta;
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(
        o,
        "<title>rootkey custody audit — {} — {}</title><style>{CSS}</style></head><body>",
        r.verdict.label(),
        fmt_time(m.generated_at)
    );
    let class = match r.verdict {
        Verdict::Pass => "pass",
        Verdict::Findings => "findings",
        Verdict::Fail => "fail",
    };
    let counts: Vec<String> = r
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let _ = write!(
        o,
        "<h1>rootkey custody audit</h1>\n<div class=\"banner {class}\" role=\"status\">{}<small>{}</small></div>\n",
        r.verdict.label(),
        e(&if counts.is_empty() { "No findings".to_string() } else { format!("Findings: {}", counts.join(", ")) })
    );
    table(
        &mut o,
        &["", ""],
        &[
            vec!["Generated".into(), fmt_time(m.generated_at)],
            vec![
                "Period".into(),
                format!("{} → {}", fmt_time(m.period_start), fmt_time(m.period_end)),
            ],
            vec!["Ledger".into(), e(&m.ledger_origin)],
            vec!["Scope".into(), e(&m.scope)],
            vec!["rootkey".into(), e(&m.tool_version)],
        ],
    );

    let l = &r.ledger;
    o.push_str("<h2>Ledger integrity</h2>\n<ul>");
    let _ = write!(
        o,
        "<li>Entries verified: {} — {}</li><li>Saved checkpoint: {}</li>",
        l.entries,
        if l.intact {
            "intact".to_string()
        } else {
            "<span class=\"bad\">NOT INTACT</span>".to_string()
        },
        e(&saved_checkpoint_text(&l.saved_checkpoint))
    );
    let _ = write!(
        o,
        "<li><strong>Anchored by: {}</strong></li><li><strong>Verifier key: <code>{}</code></strong></li>",
        if l.anchor == Anchor::None {
            format!("<span class=\"bad\">{}</span>", e(l.anchor.describe()))
        } else {
            e(l.anchor.describe())
        },
        e(&l.vkey)
    );
    for p in &l.problems {
        let _ = write!(o, "<li class=\"bad\">{}</li>", e(p));
    }
    let _ = write!(o, "</ul>\n<pre>{}</pre>\n", e_lines(&l.checkpoint));

    let k = &r.kpis;
    o.push_str("<h2>KPIs</h2>\n");
    table(
        &mut o,
        super::KPI_COLUMNS,
        &[
            vec![
                "Accounts with two hardware keys on root and no virtual MFA".into(),
                e(&k.accounts_two_hardware_keys_no_virtual.display()),
            ],
            vec![
                "Root logins in the period (explained / unexplained)".into(),
                format!(
                    "{} ({} / {})",
                    k.root_logins, k.root_logins_explained, k.root_logins_unexplained
                ),
            ],
            vec![
                "Mean time to remediate earlier findings".into(),
                match k.mean_time_to_remediate_seconds {
                    Some(s) => e(&format!(
                        "{} over {} findings",
                        fmt_duration(s),
                        k.findings_remediated
                    )),
                    None => "no finding remediated yet".into(),
                },
            ],
            vec!["Accounts covered".into(), e(&k.accounts_covered.display())],
            vec![
                "Keys overdue for check-in".into(),
                k.keys_overdue.to_string(),
            ],
        ],
    );

    o.push_str("<h2>Findings</h2>\n");
    if r.findings.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .findings
            .iter()
            .map(|f| {
                vec![
                    format!(
                        "<span class=\"sev sev-{0}\">{0}</span>",
                        f.severity.as_str()
                    ),
                    format!("<span class=\"nw\">{}</span>", e(&f.check)),
                    format!(
                        "<span class=\"nw\">{}</span>",
                        e(f.account.as_deref().unwrap_or("—"))
                    ),
                    e(&f.resource),
                    e(&f.title),
                ]
            })
            .collect();
        table(&mut o, super::FINDING_COLUMNS, &rows);
        for f in &r.findings {
            let _ = write!(
                o,
                "<div class=\"finding\"><h3><span class=\"sev sev-{0}\">{0}</span> {1} — {2}</h3><p>{3}</p><dl>",
                f.severity.as_str(),
                e(&f.check),
                e(&f.resource),
                e(&f.title)
            );
            for (label, value) in &f.evidence {
                let _ = write!(
                    o,
                    "<dt>{}</dt><dd>{}</dd>",
                    e(label),
                    e(&crate::findings::Finding::evidence_text(value))
                );
            }
            if !f.controls.is_empty() {
                let _ = write!(
                    o,
                    "<dt>Controls</dt><dd>{}</dd>",
                    e(&f.controls
                        .iter()
                        .map(|c| c.label())
                        .collect::<Vec<_>>()
                        .join(", "))
                );
            }
            o.push_str("</dl></div>\n");
        }
    }

    if !r.incidents.is_empty() {
        o.push_str("<h2>Incidents: keys lost or compromised</h2>\n");
        let rows: Vec<Vec<String>> = r
            .incidents
            .iter()
            .map(|i| {
                vec![
                    format!("<span class=\"nw\">{}</span>", super::fmt_time(i.time)),
                    format!("<span class=\"nw\">{}</span>", e(&i.account_id)),
                    format!("<span class=\"nw\">{}</span>", e(&i.key_id)),
                    e(&i.reason),
                    e(&i.note),
                    i.seq.to_string(),
                ]
            })
            .collect();
        table(&mut o, super::model::INCIDENT_COLUMNS, &rows);
    }

    o.push_str("<h2>Keys</h2>\n");
    if r.keys.is_empty() {
        o.push_str("<p>No keys in custody.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .keys
            .iter()
            .map(|key| {
                let status = match (key.status.as_str(), key.due_back) {
                    ("checked_out", Some(due)) if key.overdue => {
                        format!("<span class=\"bad\">OVERDUE</span> (due {})", fmt_time(due))
                    }
                    ("checked_out", Some(due)) => format!("checked out until {}", fmt_time(due)),
                    (s, _) => e(&s.replace('_', " ")),
                };
                vec![
                    e(&key.key_id),
                    e(&key.account_id),
                    e(&key.role),
                    e(&key.model),
                    e(&key.location),
                    e(&key.bag_serial),
                    status,
                    format!(
                        "{} ({} days)",
                        fmt_time(key.last_possession),
                        key.possession_age_days
                    ),
                    opt_bool(key.seen_in_aws).to_string(),
                ]
            })
            .collect();
        table(&mut o, super::KEY_COLUMNS, &rows);
        for key in r.keys.iter().filter(|k| !k.history.is_empty()) {
            let _ = write!(
                o,
                "<h3>Key <span class=\"nw\">{}</span> in the period</h3><ul>",
                e(&key.key_id)
            );
            for h in &key.history {
                let _ = write!(
                    o,
                    "<li><span class=\"nw\">{}</span> (entry {}): {}</li>",
                    super::fmt_time(h.time),
                    h.seq,
                    e(&h.detail)
                );
            }
            o.push_str("</ul>\n");
        }
    }

    o.push_str("<h2>Accounts</h2>\n");
    for a in &r.accounts {
        let _ = write!(o, "<h3>{}", e(&a.account_id));
        if let Some(n) = &a.name {
            let _ = write!(o, " ({})", e(n));
        }
        let _ = write!(
            o,
            "</h3>\n<p>In custody: {}; AWS posture observed: {}{}. Ledger keys: {}.</p>\n",
            if a.enrolled { "yes" } else { "no" },
            if a.observed {
                "yes"
            } else {
                "<span class=\"bad\">no</span>"
            },
            if a.root_credentials_absent {
                "; root has no credentials (centralized root access)"
            } else {
                ""
            },
            if a.ledger_keys.is_empty() {
                "none".to_string()
            } else {
                e(&a.ledger_keys.join(", "))
            }
        );
        if !a.devices.is_empty() {
            let rows: Vec<Vec<String>> = a
                .devices
                .iter()
                .map(|d| {
                    vec![
                        e(&d.serial),
                        e(&d.kind),
                        d.enable_date.map(fmt_time).unwrap_or_else(|| "—".into()),
                        d.key_id.as_deref().map(e).unwrap_or_else(|| {
                            "<span class=\"bad\">UNKNOWN TO LEDGER</span>".into()
                        }),
                    ]
                })
                .collect();
            table(&mut o, super::DEVICE_COLUMNS, &rows);
        }
        if !a.findings.is_empty() {
            o.push_str("<p>Findings:</p><ul>");
            for f in r
                .findings
                .iter()
                .filter(|f| a.findings.contains(&f.identity()))
            {
                let _ = write!(
                    o,
                    "<li><span class=\"sev sev-{0}\">{0}</span> {1} — {2} ({3})</li>",
                    f.severity.as_str(),
                    e(&f.check),
                    e(&f.title),
                    e(&f.resource)
                );
            }
            o.push_str("</ul>\n");
        }
    }

    o.push_str("<h2>Root console logins</h2>\n");
    if r.logins.is_empty() {
        o.push_str("<p>None in the period.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = r
            .logins
            .iter()
            .map(|l| {
                let expl = explanation_text(&l.explanation);
                vec![
                    fmt_time(l.time),
                    e(&l.account_id),
                    e(&l.source_ip),
                    opt_bool(l.mfa_used).to_string(),
                    if l.success { "success" } else { "failure" }.to_string(),
                    if l.explanation.is_explained() {
                        e(&expl)
                    } else {
                        format!("<span class=\"bad\">{}</span>", e(&expl))
                    },
                ]
            })
            .collect();
        table(&mut o, super::LOGIN_COLUMNS, &rows);
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use crate::report::tests::{finding, sample, HOSTILE};
    use crate::report::{render, Format, Severity};

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut r = sample(vec![finding("X", Severity::High, HOSTILE)]);
        r.meta.scope = HOSTILE.into();
        r.accounts[0].name = Some(HOSTILE.into());
        let html = render(&r, Format::Html);
        assert!(!html.contains("<script>"), "raw script tag in output");
        assert!(html.contains("&lt;script&gt;"));
        assert_eq!(html.matches("<script").count(), 0);
    }

    #[test]
    fn no_raw_control_or_bidi_character_reaches_the_page() {
        let mut r = sample(vec![finding("X", Severity::High, "t\x1b[2J\u{202E}")]);
        r.meta.scope = "scope\x1b]0;title\x07\u{2066}".into();
        let html = render(&r, Format::Html);
        for c in ['\x1b', '\x07', '\u{202E}', '\u{2066}'] {
            assert!(!html.contains(c), "raw {c:?} in the page");
        }
        assert!(html.contains("\\u{001B}") && html.contains("\\u{202E}"));
    }

    #[test]
    fn page_is_self_contained_with_a_verdict_banner() {
        let html = render(&sample(vec![]), Format::Html);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<div class=\"banner pass\" role=\"status\">PASS"));
        for forbidden in ["<link", "src=", "@import", "url(", "<script"] {
            assert!(!html.contains(forbidden), "{forbidden}");
        }
        let fail = render(
            &sample(vec![finding(
                "ROOT-LOGIN-UNEXPLAINED",
                Severity::Critical,
                "t",
            )]),
            Format::Html,
        );
        assert!(fail.contains("banner fail"));
        let banner = fail.find("banner fail").unwrap();
        let first_table = fail.find("<table").unwrap();
        assert!(banner < first_table, "verdict comes before any table");
    }

    #[test]
    fn every_section_is_present() {
        let html = render(
            &sample(vec![finding("KEY-POSSESSION-STALE", Severity::Medium, "k")]),
            Format::Html,
        );
        for s in [
            "Ledger integrity",
            "KPIs",
            "Findings",
            "Keys",
            "Accounts",
            "Root console logins",
            "banner findings",
            "KEY-POSSESSION-STALE",
            "UNEXPLAINED",
            "203.0.113.7",
        ] {
            assert!(html.contains(s), "missing {s}");
        }
    }
}
