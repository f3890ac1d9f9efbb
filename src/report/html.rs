//! One self-contained HTML page: inline CSS and inline SVG charts, no scripts, no external
//! assets. Every value goes through html-escape, so hostile text from a ledger body or an AWS
//! evidence file stays text.
//!
//! Layout rules a reader relies on: the verdict and the one-line scope come first; identifiers
//! (account and key ids, ARNs, event ids, digests, times) never break across lines (`.id`,
//! `.nw`), so wide tables scroll sideways instead; colours come in a light and a dark set and
//! never carry meaning alone (every badge and bar is labelled in text too); print drops the
//! scrolling and keeps sections whole.

use std::fmt::Write;

use html_escape::encode_text;

use super::table::{self, Cell, Table};
use super::{
    acceptance_text, account_status, evidence_text, fmt_duration, fmt_time, saved_checkpoint_text,
    scope_line, verify_steps, Anchor, AuditReport, Control, Finding, Ratio, Verdict, SEVERITIES,
};

const CSS: &str = "
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--track:#e1e6eb;
--crit:#cf222e;--high:#bc4c00;--med:#9a6700;--low:#0969da;--ok:#1a7f37;--info:#59636e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--panel:#151b23;--track:#2a313c;
--crit:#ff7b72;--high:#ffa657;--med:#d29922;--low:#58a6ff;--ok:#3fb950;--info:#9198a1}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:var(--fg);background:var(--bg);line-height:1.45}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{border-bottom:1px solid var(--line);padding-bottom:.25rem;margin-top:2rem}
h3{margin:1.25rem 0 .5rem}
.banner{padding:.8rem 1.1rem;border-radius:.4rem;color:#fff;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline}
.banner strong{font-size:1.6rem;letter-spacing:.04em}
.banner .sum{font-size:1rem}
.pass{background:#1a7f37}.findings{background:#9a6700}.fail{background:#cf222e}
.scope{color:var(--muted);margin:.5rem 0 0}
.badges{display:flex;flex-wrap:wrap;gap:.4rem;margin:.75rem 0 0;padding:0;list-style:none}
.badge{border:2px solid currentColor;border-radius:1rem;padding:.1rem .6rem;font-size:.85rem;white-space:nowrap;background:var(--panel)}
.badge b{margin-left:.35rem}.badge .id{overflow:visible;vertical-align:baseline}
.st-ok{color:var(--ok)}.st-unknown{color:var(--info)}.st-critical{color:var(--crit)}.st-high{color:var(--high)}.st-medium{color:var(--med)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.75rem;margin:.75rem 0}
.card{border:1px solid var(--line);border-radius:.4rem;padding:.6rem .8rem;background:var(--panel)}
.card .k-label{font-size:.85rem;color:var(--muted)}.card .k-value{font-size:1.5rem;font-weight:700}
.card .k-note{font-size:.8rem;color:var(--muted)}
svg.chart{display:block;width:100%;height:auto;margin:.35rem 0}
svg.bars{max-width:18rem}
svg.chart text{fill:var(--fg);font:10px system-ui,sans-serif}
.f-track{fill:var(--track)}.f-ok{fill:var(--ok)}.f-crit{fill:var(--crit)}.f-high{fill:var(--high)}.f-med{fill:var(--med)}.f-low{fill:var(--low)}.f-info{fill:var(--info)}
.f-now{stroke:var(--fg);stroke-width:1.5}
.scroll{overflow-x:auto;margin:.75rem 0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:var(--panel);white-space:nowrap}
.id,.nw{white-space:nowrap;word-break:keep-all;overflow-wrap:normal;hyphens:none}
.id,.nw{display:inline-block;max-width:100%;overflow-x:auto;vertical-align:bottom}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.sev{font-weight:700;text-transform:uppercase;font-size:.8rem;white-space:nowrap}
.sev-critical{color:var(--crit)}.sev-high{color:var(--high)}.sev-medium{color:var(--med)}.sev-low{color:var(--low)}.sev-info{color:var(--info)}
.bad{color:var(--crit);font-weight:700}
pre{background:var(--panel);padding:.75rem;overflow-x:auto}
.finding{border:1px solid var(--line);border-left:.3rem solid var(--line);border-radius:.4rem;padding:.5rem 1rem;margin:.75rem 0}
.b-critical{border-left-color:var(--crit)}.b-high{border-left-color:var(--high)}.b-medium{border-left-color:var(--med)}.b-low{border-left-color:var(--low)}
.finding h4{margin:.2rem 0;font-size:1rem;color:var(--fg)}
.finding dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .75rem;margin:.5rem 0}
.finding dt{color:var(--muted)}.finding dd{margin:0;overflow-x:auto}
.todo{background:var(--panel);border-radius:.3rem;padding:.4rem .6rem;margin:.4rem 0}
.status{font-size:.75rem;font-weight:700;text-transform:uppercase;border:1px solid currentColor;border-radius:.25rem;padding:0 .3rem;white-space:nowrap}
.s-open{color:var(--crit)}.s-info{color:var(--info)}.s-accepted{color:var(--med)}.s-remediated,.s-passed{color:var(--ok)}
ol.verify li{margin:.5rem 0}
@media print{
body{max-width:none;margin:0;padding:0;font-size:9.5pt;color:#000;background:#fff}
:root{--fg:#000;--bg:#fff;--muted:#444;--line:#999;--panel:#fff;--track:#ddd}
.banner,.badge,svg.chart,.finding{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.scroll,pre,.finding dd{overflow:visible}
.id,.nw{display:inline;overflow:visible}
pre{white-space:pre-wrap}
table{font-size:7.5pt}
h2,h3{break-after:avoid}.card,.finding,tr,li{break-inside:avoid}
.kpis{grid-template-columns:repeat(3,1fr)}
}
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

/// An identifier (account, key, ARN, event id, digest): never broken across lines.
fn id(text: &str) -> String {
    format!("<code class=\"id\">{}</code>", e(text))
}

/// A time, on one line.
fn when(t: time::OffsetDateTime) -> String {
    format!("<span class=\"nw\">{}</span>", fmt_time(t))
}

/// A value of unknown shape: one word (an id, an ARN, a time) is kept whole; prose may wrap.
fn val(text: &str) -> String {
    if !text.is_empty() && text.len() <= 200 && !text.chars().any(char::is_whitespace) {
        id(text)
    } else {
        prose(text)
    }
}

/// Prose that may wrap between words, but never inside a word that looks like an identifier
/// (a time, an ARN, a flag: anything with `-`, `:`, `/` or `.` inside, or any long word), where
/// browsers would otherwise break after the punctuation. `` `a command` `` in the text becomes code.
fn prose(text: &str) -> String {
    let escaped = e(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unpaired backtick: no code spans, only words.
        return words(&escaped);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 {
                format!("<code class=\"nw\">{p}</code>")
            } else {
                words(p)
            }
        })
        .collect()
}

/// Escaped text with identifier-like words kept on one line ([`prose`]).
fn words(escaped: &str) -> String {
    escaped
        .split(' ')
        .map(|w| {
            let inner = w.trim_end_matches(['.', ',', ';', ':', ')']);
            let n = inner.chars().count();
            // A long word (a digest) is kept whole too: as an `.nw` box it scrolls in place
            // instead of widening the page.
            if (n >= 6 && inner.contains(['-', ':', '/', '.'])) || n >= 24 {
                format!("<span class=\"nw\">{w}</span>")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An optional account id; `—` (plain) when the finding concerns no account.
fn account(a: Option<&str>) -> String {
    a.map(id).unwrap_or_else(|| "—".into())
}

/// One typed cell as an HTML fragment.
fn cell(c: &Cell) -> String {
    match c {
        Cell::Id(t) => id(t),
        Cell::Time(t) => when(*t),
        Cell::Text(t) => e(t),
        Cell::Prose(t) => prose(t),
        Cell::Value(t) => val(t),
        Cell::Alert(t) => format!("<span class=\"bad\">{}</span>", e(t)),
        Cell::Controls(cs) => controls(cs),
        Cell::Joined(cs) => cs.iter().map(cell).collect(),
    }
}

/// One of the report's tables.
fn typed_table(o: &mut String, t: &Table) {
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    table(o, t.columns, &rows);
}

/// A table inside a sideways-scrolling box; cells are already escaped HTML fragments.
fn table(o: &mut String, head: &[&str], rows: &[Vec<String>]) {
    o.push_str("<div class=\"scroll\"><table>");
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
        for c in r {
            let _ = write!(o, "<td>{c}</td>");
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
}

/// Renders the report as one HTML page.
pub(crate) fn render(r: &AuditReport) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    o.push_str("<meta name=\"color-scheme\" content=\"light dark\">");
    let _ = writeln!(
        o,
        "<title>rootkey custody audit — {} — {}</title><style>{CSS}</style></head><body>",
        r.verdict.label(),
        fmt_time(r.meta.generated_at)
    );
    header(&mut o, r);
    kpis(&mut o, r);
    findings(&mut o, r);
    incidents(&mut o, r);
    keys(&mut o, r);
    accounts(&mut o, r);
    logins(&mut o, r);
    history(&mut o, r);
    ledger(&mut o, r);
    o.push_str("</body></html>\n");
    o
}

/// The verdict, the one-line scope and a badge per account: what a reader sees first.
fn header(o: &mut String, r: &AuditReport) {
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
    let summary = if counts.is_empty() {
        "No findings".to_string()
    } else {
        format!("Findings: {}", counts.join(", "))
    };
    let _ = write!(
        o,
        "<header><h1>rootkey custody audit</h1>\n<div class=\"banner {class}\" id=\"verdict\" role=\"status\">\
         <strong>{}</strong><span class=\"sum\">{}</span></div>\n<p class=\"scope\" id=\"scope\">{}</p>\n",
        r.verdict.label(),
        e(&summary),
        e(&scope_line(r))
    );
    o.push_str("<ul class=\"badges\" aria-label=\"Accounts\">");
    for a in &r.accounts {
        let st = account_status(r, a);
        let name = a
            .name
            .as_deref()
            .map(|n| format!(" {}", e(n)))
            .unwrap_or_default();
        let _ = write!(
            o,
            "<li class=\"badge {}\" data-account=\"{}\"><code class=\"id\">{}</code>{name}<b>{}</b></li>",
            st.class(),
            e(&a.account_id),
            e(&a.account_id),
            e(&st.label())
        );
    }
    o.push_str("</ul></header>\n");
}

/// A horizontal bar of `r.numerator` out of `r.denominator`.
fn ratio_bar(r: Ratio, what: &str) -> String {
    let w = match r.denominator {
        0 => 0,
        d => 240 * r.numerator.min(d) / d,
    };
    let fill = if r.denominator > 0 && r.numerator >= r.denominator {
        "f-ok"
    } else {
        "f-crit"
    };
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 240 14\" role=\"img\" aria-label=\"{}: {}\">\
         <rect class=\"f-track\" width=\"240\" height=\"14\" rx=\"3\"/>\
         <rect class=\"{fill}\" width=\"{w}\" height=\"14\" rx=\"3\"/></svg>",
        e(what),
        e(&r.display())
    )
}

/// Explained and unexplained sign-ins as one stacked bar.
fn logins_bar(explained: u64, unexplained: u64) -> String {
    let total = explained + unexplained;
    let we = (240 * explained).checked_div(total).unwrap_or(0);
    let wu = if total == 0 { 0 } else { 240 - we };
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 240 14\" role=\"img\" aria-label=\"{explained} explained, {unexplained} unexplained\">\
         <rect class=\"f-track\" width=\"240\" height=\"14\" rx=\"3\"/>\
         <rect class=\"f-ok\" width=\"{we}\" height=\"14\"/><rect class=\"f-crit\" x=\"{we}\" width=\"{wu}\" height=\"14\"/></svg>"
    )
}

/// Vertical bars, one per (label, value, fill class, outlined); values printed above them.
fn bars(items: &[(String, u64, &str, bool)], what: &str) -> String {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let width = (items.len() as u64 * 40).max(200);
    let mut s = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 {width} 92\" role=\"img\" aria-label=\"{}\">",
        e(what)
    );
    for (i, (label, v, fill, outlined)) in items.iter().enumerate() {
        let x = i as u64 * 40 + 6;
        let h = 60 * v / max;
        let y = 72 - h;
        let _ = write!(
            s,
            "<rect class=\"f-track\" x=\"{x}\" y=\"12\" width=\"28\" height=\"60\"/>\
             <rect class=\"{fill}{}\" x=\"{x}\" y=\"{y}\" width=\"28\" height=\"{h}\"><title>{}: {v}</title></rect>\
             <text x=\"{}\" y=\"10\" text-anchor=\"middle\">{v}</text>\
             <text x=\"{}\" y=\"86\" text-anchor=\"middle\">{}</text>",
            if *outlined { " f-now" } else { "" },
            e(label),
            x + 14,
            x + 14,
            e(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// The fill class of a verdict (as `audit.completed` spells it).
fn verdict_fill(v: &str) -> &'static str {
    match v {
        "pass" => "f-ok",
        "findings" => "f-med",
        _ => "f-crit",
    }
}

/// The KPI cards, each with its figure and, where a picture helps, a chart.
fn kpis(o: &mut String, r: &AuditReport) {
    let k = &r.kpis;
    o.push_str("<h2>KPIs</h2>\n<div class=\"kpis\">");
    let card = |o: &mut String, label: &str, value: String, chart: String, note: String| {
        let _ = write!(
            o,
            "<div class=\"card\"><div class=\"k-label\">{}</div><div class=\"k-value\">{value}</div>{chart}<div class=\"k-note\">{note}</div></div>",
            e(label)
        );
    };
    let hw = k.accounts_two_hardware_keys_no_virtual;
    card(
        o,
        "Accounts with two hardware keys on root and no virtual MFA",
        e(&hw.display()),
        ratio_bar(hw, "Accounts with two hardware keys"),
        "of accounts whose root has credentials".into(),
    );
    card(
        o,
        "Accounts covered",
        e(&k.accounts_covered.display()),
        ratio_bar(k.accounts_covered, "Accounts covered"),
        "two confirmed keys in custody, or no root credentials".into(),
    );
    card(
        o,
        "Root logins in the period (explained / unexplained)",
        format!(
            "{} ({} / {})",
            k.root_logins, k.root_logins_explained, k.root_logins_unexplained
        ),
        logins_bar(k.root_logins_explained, k.root_logins_unexplained),
        "green: a checkout explains it; red: nothing does".into(),
    );
    let sev: Vec<(String, u64, &str, bool)> = SEVERITIES
        .iter()
        .map(|s| {
            let n = r
                .findings
                .iter()
                .filter(|f| f.is_open() && f.severity == *s)
                .count() as u64;
            (s.as_str().to_string(), n, sev_fill(s.as_str()), false)
        })
        .collect();
    let accepted = r.findings.iter().filter(|f| !f.is_open()).count();
    card(
        o,
        "Open findings by severity",
        sev.iter().map(|x| x.1).sum::<u64>().to_string(),
        bars(&sev, "Open findings by severity"),
        match accepted {
            0 => "in this audit".to_string(),
            n => format!("in this audit; {n} accepted, shown below"),
        },
    );
    // The last twelve recorded audits and this one.
    let skip = r.history.len().saturating_sub(12);
    let mut trend: Vec<(String, u64, &str, bool)> = r.history[skip..]
        .iter()
        .map(|p| {
            let t = p.time;
            let label = format!("{:02}-{:02}", u8::from(t.month()), t.day());
            (label, p.findings, verdict_fill(&p.verdict), false)
        })
        .collect();
    trend.push((
        "now".into(),
        r.recorded_findings(),
        verdict_fill(r.verdict.as_str()),
        true,
    ));
    card(
        o,
        "Findings above info, audit by audit",
        format!(
            "{} → {}",
            r.history.last().map_or(0, |p| p.findings),
            r.recorded_findings()
        ),
        bars(
            &trend,
            "Findings above info in each recorded audit and in this one",
        ),
        format!(
            "{} earlier audit{} recorded in the ledger; colour: verdict",
            r.history.len(),
            if r.history.len() == 1 { "" } else { "s" }
        ),
    );
    card(
        o,
        "Mean time to remediate earlier findings",
        match k.mean_time_to_remediate_seconds {
            Some(s) => e(&fmt_duration(s)),
            None => "—".into(),
        },
        String::new(),
        match k.mean_time_to_remediate_seconds {
            Some(_) => format!("over {} findings", k.findings_remediated),
            None => "no finding remediated yet".into(),
        },
    );
    card(
        o,
        "Keys overdue for check-in",
        k.keys_overdue.to_string(),
        String::new(),
        "out past their checkout window".into(),
    );
    o.push_str("</div>\n");
}

/// The fill class of a severity.
fn sev_fill(s: &str) -> &'static str {
    match s {
        "critical" => "f-crit",
        "high" => "f-high",
        "medium" => "f-med",
        "low" => "f-low",
        _ => "f-info",
    }
}

/// An index table, then every finding grouped by severity with its evidence, the remediation
/// to do and its controls; then the checks that passed.
fn findings(o: &mut String, r: &AuditReport) {
    o.push_str("<h2 id=\"findings\">Findings</h2>\n");
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
                    id(&f.check),
                    status(f),
                    account(f.account.as_deref()),
                    val(&f.resource),
                    prose(&f.title),
                ]
            })
            .collect();
        table(o, super::FINDING_COLUMNS, &rows);
        for s in SEVERITIES {
            let group: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == s).collect();
            if group.is_empty() {
                continue;
            }
            let _ = write!(
                o,
                "<section class=\"sev-group\"><h3><span class=\"sev sev-{0}\">{0}</span> ({1})</h3>",
                s.as_str(),
                group.len()
            );
            for f in group {
                finding(o, f);
            }
            o.push_str("</section>\n");
        }
    }
    remediated(o, r);
    passed(o, r);
}

/// The previous audit's findings that are gone.
fn remediated(o: &mut String, r: &AuditReport) {
    o.push_str("<h2 id=\"remediated\">Remediated since the last audit</h2>\n");
    if r.remediated.is_empty() {
        o.push_str("<p>None.</p>\n");
        return;
    }
    typed_table(o, &table::remediated(r));
}

/// A finding's status as a small badge (`open`, `accepted`, ...).
fn status(f: &Finding) -> String {
    format!("<span class=\"status s-{0}\">{0}</span>", f.status.as_str())
}

/// One finding as a card.
fn finding(o: &mut String, f: &Finding) {
    let _ = write!(
        o,
        "<article class=\"finding b-{}\" id=\"f-{}\"><h4>{} {} · {} · {}</h4><p>{}</p>",
        f.severity.as_str(),
        e(&f.id),
        status(f),
        id(&f.check),
        account(f.account.as_deref()),
        val(&f.resource),
        prose(&f.title)
    );
    if let Some(a) = &f.acceptance {
        let _ = write!(
            o,
            "<p class=\"todo\"><strong>Accepted:</strong> {}</p>",
            prose(&acceptance_text(a))
        );
    }
    if !f.remediation.is_empty() {
        let _ = write!(
            o,
            "<p class=\"todo\"><strong>To do:</strong> {}</p>",
            prose(&f.remediation)
        );
    }
    o.push_str("<dl>");
    for (label, value) in table::finding_facts(f) {
        let _ = write!(o, "<dt>{}</dt><dd>{}</dd>", e(&label), cell(&value));
    }
    o.push_str("</dl></article>\n");
}

/// Controls as `framework version id`, the id kept whole.
fn controls(cs: &[Control]) -> String {
    cs.iter()
        .map(|c| format!("{} {} {}", e(&c.framework), e(&c.version), id(&c.id)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The checks that ran and found nothing: what was checked.
fn passed(o: &mut String, r: &AuditReport) {
    o.push_str("<h2 id=\"passed\">Passed checks</h2>\n");
    if r.passed.is_empty() {
        o.push_str("<p>None listed.</p>\n");
        return;
    }
    typed_table(o, &table::passed(r));
}

/// Keys lost or compromised in the period.
fn incidents(o: &mut String, r: &AuditReport) {
    if r.incidents.is_empty() {
        return;
    }
    o.push_str("<h2>Incidents: keys lost or compromised</h2>\n");
    typed_table(o, &table::incidents(r));
}

/// Every active key, then each key's history in the period.
fn keys(o: &mut String, r: &AuditReport) {
    o.push_str("<h2>Keys</h2>\n");
    if r.keys.is_empty() {
        o.push_str("<p>No keys in custody.</p>\n");
        return;
    }
    typed_table(o, &table::keys(r));
    for key in r.keys.iter().filter(|k| !k.history.is_empty()) {
        let _ = write!(o, "<h3>Key {} in the period</h3><ul>", id(&key.key_id));
        for h in &key.history {
            let _ = write!(
                o,
                "<li>{} (entry {}): {}</li>",
                when(h.time),
                h.seq,
                prose(&h.detail)
            );
        }
        o.push_str("</ul>\n");
    }
}

/// One section per account: custody, devices on root, its findings.
fn accounts(o: &mut String, r: &AuditReport) {
    o.push_str("<h2>Accounts</h2>\n");
    for a in &r.accounts {
        let st = account_status(r, a);
        let _ = write!(o, "<h3>{}", id(&a.account_id));
        if let Some(n) = &a.name {
            let _ = write!(o, " ({})", e(n));
        }
        let _ = write!(
            o,
            " <span class=\"badge {}\">{}</span></h3>\n<p>In custody: {}; AWS posture observed: {}{}. Ledger keys: {}.</p>\n",
            st.class(),
            e(&st.label()),
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
                a.ledger_keys.iter().map(|k| id(k)).collect::<Vec<_>>().join(", ")
            }
        );
        if !a.devices.is_empty() {
            typed_table(o, &table::devices(a));
        }
        let mine: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| a.findings.contains(&f.identity()))
            .collect();
        if !mine.is_empty() {
            o.push_str("<p>Findings:</p><ul>");
            for f in mine {
                let _ = write!(
                    o,
                    "<li><span class=\"sev sev-{0}\">{0}</span> {1} — {2} ({3})</li>",
                    f.severity.as_str(),
                    id(&f.check),
                    prose(&f.title),
                    val(&f.resource)
                );
            }
            o.push_str("</ul>\n");
        }
    }
}

/// Every root console sign-in in the period.
fn logins(o: &mut String, r: &AuditReport) {
    o.push_str("<h2>Root console logins</h2>\n");
    if r.logins.is_empty() {
        o.push_str("<p>None in the period.</p>\n");
        return;
    }
    typed_table(o, &table::logins(r));
}

/// The earlier audits the ledger recorded.
fn history(o: &mut String, r: &AuditReport) {
    o.push_str("<h2>Earlier audits in the ledger</h2>\n");
    if r.history.is_empty() {
        o.push_str("<p>None: this is the first audit of this ledger.</p>\n");
        return;
    }
    typed_table(o, &table::history(r));
}

/// What the ledger was verified against, and how anyone checks this report against it.
fn ledger(o: &mut String, r: &AuditReport) {
    let l = &r.ledger;
    o.push_str(
        "<h2 id=\"ledger\">Ledger integrity, anchor and how to verify this report</h2>\n<ul>",
    );
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
        "<li><strong>Anchored by: {}</strong></li><li><strong>Verifier key: {}</strong> (as stored in the ledger: compare it with your records)</li>",
        if l.anchor == Anchor::None {
            format!("<span class=\"bad\">{}</span>", e(l.anchor.describe()))
        } else {
            e(l.anchor.describe())
        },
        id(&l.vkey)
    );
    if let Some(ev) = evidence_text(r) {
        let _ = write!(o, "<li>{}</li>", prose(&ev));
    }
    for p in &l.problems {
        let _ = write!(o, "<li class=\"bad\">{}</li>", prose(p));
    }
    let _ = write!(
        o,
        "</ul>\n<p>Checkpoint the audit verified:</p><pre>{}</pre>\n<ol class=\"verify\">",
        e_lines(&l.checkpoint)
    );
    for (what, cmd) in verify_steps(r) {
        let _ = write!(
            o,
            "<li>{}<pre><code class=\"cmd\">{}</code></pre></li>",
            prose(&what),
            e(&cmd)
        );
    }
    o.push_str("</ol>\n");
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
        assert!(html.contains(
            "<div class=\"banner pass\" id=\"verdict\" role=\"status\"><strong>PASS</strong>"
        ));
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
            "Ledger integrity, anchor and how to verify this report",
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

    #[test]
    fn badges_trend_and_verify_steps_say_the_same_in_html_and_markdown() {
        use crate::report::AuditPoint;
        use time::macros::datetime;
        let mut r = sample(vec![finding("KEY-POSSESSION-STALE", Severity::High, "k")]);
        r.accounts[0].findings = vec![r.findings[0].identity()];
        let point = |seq, findings, verdict: &str| AuditPoint {
            seq,
            time: datetime!(2025-01-15 00:00 UTC),
            verdict: verdict.into(),
            findings,
            accounts: 1,
            report_sha256: format!("{seq:064}"),
        };
        let r = r.with_history(vec![point(9, 4, "fail"), point(5, 2, "findings")]);
        assert_eq!(r.history[0].seq, 5, "oldest first");
        let html = render(&r, Format::Html);
        let md = render(&r, Format::Markdown);
        // The account's badge is its worst finding, in text as well as colour.
        assert!(html.contains("<li class=\"badge st-high\" data-account=\"111122223333\">"));
        assert!(md.contains("| 111122223333 | prod | **HIGH** |"), "{md}");
        // Two recorded audits and this one, each a bar of the trend chart.
        assert_eq!(html.matches("<title>01-15:").count(), 2);
        assert_eq!(html.matches("<title>now: 1</title>").count(), 1);
        assert!(
            md.contains("2 (findings) → 4 (fail) → 1 now (findings)"),
            "{md}"
        );
        for page in [&html, &md] {
            assert!(
                page.contains(&format!("{:064}", 9)),
                "earlier digest listed"
            );
            assert!(page.contains("sha256sum REPORT-FILE"));
            assert!(page.contains("ledger show --since 12"));
            assert!(page.contains("ledger prove 12"));
        }
        // Identifiers are marked so the page keeps them on one line.
        assert!(html.contains("<code class=\"id\">111122223333</code>"));
        assert!(html.contains("<span class=\"nw\">2025-02-01T10:30:00Z</span>"));
    }

    #[test]
    fn status_remediation_controls_acceptance_and_passed_checks_are_shown() {
        use crate::findings::{check, Acceptance, Finding as F, FindingStatus};
        use time::macros::datetime;
        let c = check("ROOT-LOGIN-UNEXPLAINED").unwrap();
        let mut accepted = F::new(c, Some("111122223333"), "2025-02-01T10:30:00Z 203.0.113.7")
            .with("event_id", "3f1c1b2e-0d6a-4c8e-9d1f-1a2b3c4d5e6f");
        accepted.status = FindingStatus::Accepted;
        accepted.acceptance = Some(Acceptance {
            reason: "vendor migration".into(),
            ticket: "RISK-7".into(),
            until: datetime!(2025-06-30 00:00 UTC),
            approved_by: vec!["alice".into(), "bob".into()],
            seq: 11,
        });
        let r = sample(vec![accepted.clone()]).with_passed(vec![F::passed(c, "111122223333")]);
        let html = render(&r, Format::Html);
        let md = render(&r, Format::Markdown);
        assert!(!c.remediation.is_empty() && !c.controls.is_empty());
        assert!(html.contains("<span class=\"status s-accepted\">accepted</span>"));
        assert!(md.contains("- Status: **ACCEPTED**"), "{md}");
        for page in [&html, &md] {
            assert!(
                page.contains("RISK\\-7") || page.contains("RISK-7"),
                "acceptance shown"
            );
            assert!(page.contains("Passed checks"));
            assert!(page.contains(&accepted.id), "finding id shown");
            assert!(
                page.contains("3f1c1b2e-0d6a-4c8e-9d1f-1a2b3c4d5e6f"),
                "event id shown"
            );
            assert!(page.contains(&c.controls[0].framework.to_string()));
        }
        assert!(html.contains("<strong>To do:</strong>"));
        assert!(md.contains("- **To do:**"));
        assert!(html.contains(&format!("<code class=\"id\">{}</code>", c.controls[0].id)));
        // Accepted findings are listed, not counted as open.
        assert_eq!(r.verdict, crate::report::Verdict::Pass);
        assert!(html.contains("in this audit; 1 accepted, shown below"));
    }

    #[test]
    fn remediated_findings_and_the_evidence_judged_are_shown() {
        use crate::findings::{check, Finding as F, FindingStatus};
        use crate::report::EvidenceMeta;
        use time::macros::datetime;
        let mut gone = F::new(
            check("KEY-POSSESSION-STALE").unwrap(),
            Some("111122223333"),
            "a1b2c3d4",
        )
        .with("first_reported", "2025-01-15T00:00:00Z");
        gone.status = FindingStatus::Remediated;
        let mut r = sample(vec![]).with_remediated(vec![gone.clone()]);
        r.meta.evidence = Some(EvidenceMeta {
            sha256: "ab".repeat(32),
            read_at: datetime!(2025-04-01 08:00 UTC),
            login_search_since: datetime!(2025-01-01 00:00 UTC),
            login_search_until: datetime!(2025-04-01 08:00 UTC),
        });
        for page in [render(&r, Format::Html), render(&r, Format::Markdown)] {
            assert!(page.contains("Remediated since the last audit"));
            assert!(page.contains(&gone.id));
            assert!(page.contains("2025-01-15T00:00:00Z"));
            assert!(page.contains(&"ab".repeat(32)), "evidence digest");
            assert!(page.contains("AWS evidence judged"), "{page}");
            assert!(page.contains("2025-01-01T00:00:00Z"));
        }
    }
}
