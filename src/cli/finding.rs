//! `rootkey finding accept` and the check catalogue printed by `--list-checks`.

use time::OffsetDateTime;

use super::custodian::CustodianDevices;
use super::{print_json, CmdResult, GlobalArgs, Outcome, Table};
use crate::custody::flows::findings::{self as flow, AcceptRequest};
use crate::custody::flows::Approver;
use crate::custody::Station;
use crate::findings::CHECKS;

/// `rootkey finding` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FindingCmd {
    /// Accept a finding's risk until a date (a ledger event approved by the auditor's own key or
    /// two custodians); the audit then shows it as accepted until it expires
    Accept(AcceptArgs),
}

/// `rootkey finding accept` flags.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("approval").required(true).args(["custodians", "auditor"])))]
pub struct AcceptArgs {
    /// The finding's id (the `id` of a finding in a recorded audit's report)
    #[arg(long, value_name = "FINDING_ID")]
    pub id: String,
    /// Why the risk is accepted
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The risk or change ticket
    #[arg(long, value_name = "TICKET")]
    pub ticket: String,
    /// When the acceptance ends: a date (2026-06-30, end of that day UTC) or an RFC 3339 time;
    /// at most a year ahead
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    pub until: OffsetDateTime,
    /// Two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = super::custodian::parse_pair)]
    pub custodians: Option<[String; 2]>,
    /// Or the auditor approving alone with their own key
    #[arg(long, value_name = "ID")]
    pub auditor: Option<String>,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

fn parse_until(s: &str) -> Result<OffsetDateTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .ok()
        .and_then(|d| d.next_day())
        .map(|d| d.midnight().assume_utc())
        .ok_or_else(|| {
            format!(
                "`{}` is not a date (2026-06-30) or an RFC 3339 time",
                crate::text::escape(s)
            )
        })
}

/// Runs one `rootkey finding` subcommand.
pub fn run(cmd: FindingCmd, global: &GlobalArgs) -> CmdResult {
    let FindingCmd::Accept(a) = cmd;
    let ids: Vec<String> = match (&a.custodians, &a.auditor) {
        (Some(pair), _) => pair.to_vec(),
        (None, Some(auditor)) => vec![auditor.clone()],
        (None, None) => return Err("give --custodians A,B or --auditor ID".into()),
    };
    let approvers: Vec<Approver> = ids
        .iter()
        .map(|id| Approver::with_devices(id, &a.keys.devices))
        .collect();
    let req = AcceptRequest {
        actor: ids[0].clone(),
        finding_id: a.id,
        reason: a.reason,
        ticket: a.ticket,
        until: a.until,
        approvers,
    };
    let mut station = Station::open(&global.ledger_path()?, None)?;
    let o = flow::accept(
        &mut station,
        &mut global.console(),
        &req,
        OffsetDateTime::now_utc(),
    )?;
    if global.json {
        print_json(&o)?;
    } else {
        println!(
            "finding {} ({} on {}) accepted until {} (ledger entry {}, finding.accepted)",
            o.finding_id,
            o.check,
            crate::text::escape(&o.resource),
            crate::report::fmt_time(o.until),
            o.seq
        );
    }
    Ok(Outcome::Ok)
}

/// Prints the check catalogue: a table, or JSON with `--json`.
pub fn list_checks(json: bool) -> CmdResult {
    if json {
        print_json(&serde_json::json!({
            "schema_version": crate::findings::SCHEMA_VERSION,
            "checks": CHECKS,
        }))?;
        return Ok(Outcome::Ok);
    }
    let mut t = Table::new([
        "check", "severity", "source", "posture", "controls", "title",
    ]);
    for c in CHECKS {
        let controls: Vec<String> = c.controls.iter().map(|c| c.short()).collect();
        t.row([
            c.id,
            c.severity.as_str(),
            c.source.as_str(),
            if c.posture { "yes" } else { "no" },
            controls.join(", ").as_str(),
            c.title,
        ]);
    }
    println!("{t}");
    Ok(Outcome::Ok)
}
