//! `rootkey aws ...`: parse flags, call `crate::aws`, print the report.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::OffsetDateTime;

use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome, Table};
use crate::aws::model::PasswordState;
use crate::aws::{self, AwsOptions, Evidence, FindingConfig, ReadProgress, Report, Scope};

/// How to reach AWS; flatten into any command that talks to AWS (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// Named AWS profile (as `aws --profile`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (as `aws --region`) [default: the profile's, else us-east-1]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (as `aws --endpoint-url`)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Role assumed in each member account for account-level reads (summary, credential
    /// report, virtual MFA list, CloudTrail)
    #[arg(long, value_name = "NAME")]
    pub member_role: Option<String>,
    /// Accounts read at once
    #[arg(long, value_name = "N", default_value_t = aws::DEFAULT_CONCURRENCY,
          value_parser = parse_concurrency)]
    pub concurrency: usize,
    /// Also search this CloudTrail Lake event data store (ARN or id) for every account's root
    /// activity with one query (an organization trail's store, from the management or delegated
    /// administrator account)
    #[arg(long, value_name = "EVENT_DATA_STORE", value_parser = parse_event_data_store)]
    pub cloudtrail_lake: Option<String>,
}

fn parse_event_data_store(s: &str) -> Result<String, String> {
    match aws::lake::event_data_store_id(s) {
        Some(_) => Ok(s.to_string()),
        None => Err(format!(
            "`{}` is not a CloudTrail Lake event data store ARN or id",
            crate::text::escape(s)
        )),
    }
}

impl AwsArgs {
    /// The library options these flags describe.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            member_role: self.member_role.clone(),
            concurrency: self.concurrency,
            cloudtrail_lake: self.cloudtrail_lake.clone(),
            ..AwsOptions::default()
        }
    }
}

/// `rootkey aws` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AwsCmd {
    /// Read the root posture of accounts or a whole organization and report findings
    Posture(Box<PostureArgs>),
    /// Remove a root credential finding from a member account under two-person control: shows
    /// the exact plan (dry run by default); with --execute both custodians approve it, the
    /// ledger records it, then the credentials go and the result is recorded
    Remediate(Box<RemediateArgs>),
    /// Findings in AWS Security Hub
    #[command(subcommand)]
    Findings(FindingsCmd),
}

/// `rootkey aws findings` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FindingsCmd {
    /// Send an ASFF export (`--export asff:FILE`) to Security Hub with BatchImportFindings,
    /// each account's findings from inside that account (--member-role for members)
    Import(Box<ImportArgs>),
}

/// `rootkey aws findings import` flags.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The ASFF file (a JSON array, as written by --export asff:FILE)
    #[arg(long, value_name = "FILE")]
    pub securityhub: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `rootkey aws remediate` flags.
#[derive(Debug, clap::Args)]
pub struct RemediateArgs {
    /// The member account (12 digits); the management account is refused with console steps
    #[arg(long, value_name = "ID", value_parser = parse_account_id)]
    pub account: String,
    /// ROOT-ACCESS-KEY, ROOT-SIGNING-CERT, ROOT-PASSWORD-PRESENT or ROOT-MFA-VIRTUAL
    #[arg(long, value_name = "FINDING", value_parser = parse_remediation_finding)]
    pub finding: crate::custody::events::RemediationFinding,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = super::custodian::parse_pair)]
    pub custodians: [String; 2],
    /// Only show the plan (the default)
    #[arg(long, conflicts_with = "execute")]
    pub dry_run: bool,
    /// Gather both approvals, record them, then change AWS
    #[arg(long)]
    pub execute: bool,
    /// Include credentials used within --recent-days (needs --reason)
    #[arg(long, requires = "reason")]
    pub force_recent_use: bool,
    /// Why (recorded in the ledger)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Change or incident ticket (recorded in the ledger)
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// A credential used within this many days is refused without --force-recent-use
    #[arg(long, value_name = "N", default_value_t = crate::custody::remediation::DEFAULT_RECENT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub recent_days: u32,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub keys: super::custodian::CustodianDevices,
}

fn parse_remediation_finding(
    s: &str,
) -> Result<crate::custody::events::RemediationFinding, String> {
    crate::custody::events::RemediationFinding::parse(s).ok_or_else(|| {
        format!(
            "`{}` is not a finding rootkey can remediate: use ROOT-ACCESS-KEY, ROOT-SIGNING-CERT, ROOT-PASSWORD-PRESENT or ROOT-MFA-VIRTUAL",
            crate::text::escape(s)
        )
    })
}

/// `rootkey aws posture` flags.
#[derive(Debug, clap::Args)]
pub struct PostureArgs {
    /// Account to read (repeatable) [default: the caller's account]
    #[arg(long = "account", value_name = "ID", conflicts_with = "organization",
          value_parser = parse_account_id)]
    pub accounts: Vec<String>,
    /// Read every account of the organization (from the management or delegated admin account)
    #[arg(long)]
    pub organization: bool,
    /// Start of the root login search: a date (2024-01-31), an RFC 3339 time, or a duration
    /// ago (30d) [default: 90d, CloudTrail's retention]
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Write what was read as evidence JSON (rootkey-aws-evidence/1)
    #[arg(long, value_name = "FILE")]
    pub evidence_out: Option<PathBuf>,
    /// Print every check (id, severity, controls, title) and exit; JSON with --json
    #[arg(long)]
    pub list_checks: bool,
    /// Evaluate an evidence file offline, without AWS
    #[arg(long, value_name = "FILE", conflicts_with_all = ["accounts", "organization", "since"])]
    pub evidence_in: Option<PathBuf>,
    /// Also write the findings as FORMAT:FILE (repeatable): asff (Security Hub), ocsf
    /// (Compliance Finding JSON lines) or csv
    #[arg(long = "export", value_name = "FORMAT:FILE", value_parser = crate::export::parse_spec)]
    pub exports: Vec<crate::export::Spec>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number from 1 to 256")),
    }
}

// The one account-id parser, shared with every command that takes an account.
pub(super) use super::parse_account_id;

/// The forms `--since` accepts, for its messages.
const SINCE_FORMS: &str = "a date (2024-01-31), an RFC 3339 time (2024-01-31T10:00:00Z) or a \
                           duration ago (90d, 12h, 2weeks)";

/// Parses `--since`: a date, an RFC 3339 time, or a humantime duration before `now`. Every value
/// that cannot be used (unparsable, too far back to represent, in the future) is an error that
/// says which forms work; nothing here can panic.
pub(super) fn parse_since(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, CliError> {
    use time::format_description::well_known::Rfc3339;
    let shown = crate::text::escape(s);
    let since = if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        t
    } else if let Ok(d) =
        time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
    {
        d.midnight().assume_utc()
    } else {
        match humantime::parse_duration(s) {
            Ok(d) => time::Duration::try_from(d)
                .ok()
                .and_then(|d| now.checked_sub(d))
                .ok_or_else(|| {
                    format!(
                        "--since {shown} reaches back further than any date rootkey can \
                         represent: give {SINCE_FORMS}"
                    )
                })?,
            Err(e) if s.starts_with(|c: char| c.is_ascii_digit()) => {
                return Err(format!("--since `{shown}`: {e}; give {SINCE_FORMS}").into())
            }
            Err(_) => return Err(format!("--since `{shown}` is not {SINCE_FORMS}").into()),
        }
    };
    if since > now {
        return Err(format!(
            "--since {shown} is in the future: the audited period would be empty; give {SINCE_FORMS}"
        )
        .into());
    }
    Ok(since)
}

/// The oldest time CloudTrail's event history still covers at `now`.
pub(super) fn cloudtrail_horizon(now: OffsetDateTime) -> OffsetDateTime {
    now - time::Duration::days(aws::CLOUDTRAIL_RETENTION_DAYS)
}

/// Warns on stderr when `since` is older than CloudTrail's event history reaches.
pub(super) fn warn_beyond_cloudtrail(since: OffsetDateTime, now: OffsetDateTime) {
    let horizon = cloudtrail_horizon(now);
    if since < horizon {
        eprintln!(
            "warning: CloudTrail's event history keeps {} days: root sign-ins before {} cannot \
             be seen",
            aws::CLOUDTRAIL_RETENTION_DAYS,
            crate::report::fmt_time(horizon)
        );
    }
}

/// Runs one `rootkey aws` subcommand.
pub fn run(cmd: AwsCmd, global: &GlobalArgs) -> CmdResult {
    match cmd {
        AwsCmd::Posture(args) => posture(*args, global),
        AwsCmd::Remediate(args) => remediate(*args, global),
        AwsCmd::Findings(FindingsCmd::Import(args)) => import(*args, global),
    }
}

fn posture(args: PostureArgs, global: &GlobalArgs) -> CmdResult {
    if args.list_checks {
        return super::finding::list_checks(global.json);
    }
    let config: FindingConfig = global.load_config()?.section("aws")?;
    let evidence = match &args.evidence_in {
        Some(path) => aws::load_evidence(path)?,
        None => read_live(&args)?,
    };
    if let Some(path) = &args.evidence_out {
        aws::save_evidence(&evidence, path)?;
    }
    let mut report = aws::evaluate(&evidence, &config);
    // Sign-ins are judged against the ledger's checkouts, as the audit judges them; without a
    // ledger nothing explains one, and the user is told so.
    let ledger = global.ledger_path()?;
    let state = match crate::custody::audit_flow::ledger_state(&ledger) {
        Ok(Some(s)) => Some(s),
        Ok(None) => {
            eprintln!(
                "note: no custody ledger at {}: root sign-ins are not matched to checkouts \
                 (--ledger names the custody ledger)",
                ledger.display()
            );
            None
        }
        Err(e) => {
            eprintln!(
                "warning: root sign-ins are not matched to checkouts: ledger {}: {}",
                ledger.display(),
                crate::text::escape(&e)
            );
            None
        }
    };
    crate::custody::findings::judge_posture_activity(
        &mut report,
        state.as_ref(),
        evidence.period.since,
        evidence.period.until,
        evidence.read_at,
    );
    if !args.exports.is_empty() {
        let records = crate::export::adapt::from_posture(&report, &evidence);
        crate::export::write_all(
            &args.exports,
            &records,
            &export_context(&args.aws, &evidence),
        )?;
    }
    for w in &report.warnings {
        eprintln!("warning: {}", crate::text::escape(w));
    }
    if global.json {
        print_json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(if report.has_findings() {
        Outcome::Findings
    } else {
        Outcome::Ok
    })
}

/// Where exports say they were made: the region flag (else us-east-1) and the caller's
/// partition from the evidence.
pub(super) fn export_context(aws: &AwsArgs, evidence: &Evidence) -> crate::export::Context {
    crate::export::Context {
        region: aws.region.clone().unwrap_or_else(|| "us-east-1".into()),
        partition: evidence
            .caller
            .arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_string(),
        now: OffsetDateTime::now_utc(),
    }
}

fn import(a: ImportArgs, global: &GlobalArgs) -> CmdResult {
    let file = crate::text::escape(&a.securityhub.display().to_string()).into_owned();
    let text =
        std::fs::read_to_string(&a.securityhub).map_err(|e| format!("cannot read {file}: {e}"))?;
    let findings: Vec<crate::export::asff::AsffFinding> =
        serde_json::from_str(&text).map_err(|e| {
            format!("{file} is not an ASFF export from rootkey (a JSON array of findings): {e}")
        })?;
    // Each finding is sent from inside its account: the account must be one.
    if let Some(f) = findings
        .iter()
        .find(|f| !crate::custody::enrollment::is_aws_account_id(&f.aws_account_id))
    {
        return Err(format!(
            "{file}: finding {} has AwsAccountId {}, not an AWS account id (12 digits); export \
             the file again with `--export asff:FILE`",
            crate::text::escape(&f.id),
            crate::text::escape(&f.aws_account_id)
        )
        .into());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(aws::AwsError::Runtime)?;
    let results = rt.block_on(async {
        let reader = aws::Reader::connect(a.aws.options()).await?;
        Ok::<_, aws::AwsError>(
            aws::securityhub::import(&reader, findings, a.aws.member_role.as_deref()).await,
        )
    })?;
    let bad = results
        .iter()
        .any(|r| r.error.is_some() || !r.failed.is_empty());
    if global.json {
        print_json(&results)?;
    } else {
        for r in &results {
            println!(
                "{}: {} of {} imported in {} call(s){}",
                r.account_id,
                r.imported,
                r.findings,
                r.calls,
                r.error
                    .as_ref()
                    .map(|e| format!("; {}", crate::text::escape(e)))
                    .unwrap_or_default()
            );
            for f in &r.failed {
                println!(
                    "  FAILED {} ({}): {}",
                    crate::text::escape(&f.id),
                    crate::text::escape(&f.code),
                    crate::text::escape(&f.message)
                );
            }
        }
    }
    Ok(if bad { Outcome::Findings } else { Outcome::Ok })
}

fn remediate(a: RemediateArgs, global: &GlobalArgs) -> CmdResult {
    use crate::custody::events::ItemOutcome;
    use crate::custody::flows::remediate::{self, RemediateRequest};
    let req = RemediateRequest {
        actor: a.custodians[0].clone(),
        account_id: a.account.clone(),
        finding: a.finding,
        custodians: a.keys.approvers(&a.custodians)?,
        execute: a.execute,
        force_recent_use: a.force_recent_use,
        reason: a.reason.clone(),
        ticket: a.ticket.clone(),
        recent_days: a.recent_days,
    };
    let path = global.ledger_path()?;
    let mut station = if a.execute {
        crate::custody::Station::open(&path, None)?
    } else {
        crate::custody::Station::open_readonly(&path)?
    };
    let o = remediate::remediate(&mut station, &mut global.console(), &req, &a.aws.options())?;
    if let (false, Some(c)) = (global.json, &o.closed) {
        match c.completion_seq {
            Some(seq) => println!(
                "closed the plan approved at entry {}: AWS no longer lists any of its items (recorded as absent, entry {seq})",
                c.plan_seq
            ),
            None => println!(
                "the plan approved at entry {} is open, but AWS no longer lists any of its items: --execute records that and closes it",
                c.plan_seq
            ),
        }
    }
    if global.json {
        print_json(&o)?;
    } else if !o.executed {
        if o.plan.items.is_empty() {
            println!(
                "nothing to remediate: AWS shows no credential {} removes",
                o.plan.finding.as_str()
            );
        } else {
            println!(
                "dry run: nothing changed; plan {} ({} item(s)). Run again with --execute to approve and carry it out",
                o.plan.plan_sha256, o.plan.items.len()
            );
        }
    } else {
        for r in &o.results {
            let how = match (&r.error_code, &r.error_message) {
                (Some(c), Some(m)) => format!(
                    "FAILED ({}): {}",
                    crate::text::escape(c),
                    crate::text::escape(m)
                ),
                (Some(c), None) => format!("FAILED ({})", crate::text::escape(c)),
                _ => match r.outcome {
                    ItemOutcome::NotAttempted => "not attempted".into(),
                    ItemOutcome::Absent => "already absent".into(),
                    _ => "done".into(),
                },
            };
            println!("{} {}: {how}", r.kind.as_str(), crate::text::escape(&r.id));
        }
        match (&o.aws_now, &o.reread_error) {
            (Some(now), _) if now.is_empty() => {
                println!("AWS now lists none: {} is fixed", o.plan.finding.as_str())
            }
            (Some(now), _) => println!(
                "AWS still lists: {}; run the same command again to continue",
                now.iter()
                    .map(|c| crate::text::escape(&c.id).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Some(e)) => println!(
                "AWS could not be read again ({}): run `rootkey aws posture --account {}`",
                crate::text::escape(e),
                o.plan.account_id
            ),
            (None, None) => {}
        }
        println!(
            "recorded: approval entry {}, completion entry {}",
            o.approval_seq.unwrap_or_default(),
            o.completion_seq.unwrap_or_default()
        );
    }
    Ok(
        if o.executed && o.fixed() || !o.executed && o.plan.items.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Findings
        },
    )
}

fn read_live(args: &PostureArgs) -> Result<Evidence, CliError> {
    let now = OffsetDateTime::now_utc();
    let since = match &args.since {
        // A period older than CloudTrail's history is named in the report's warnings.
        Some(s) => parse_since(s, now)?,
        None => cloudtrail_horizon(now),
    };
    let scope = if args.organization {
        Scope::Organization
    } else {
        Scope::Accounts(args.accounts.clone())
    };
    read_with_progress(args.aws.options(), &scope, since)
}

/// A live read with a progress bar on stderr (shared by `aws posture` and `audit`).
pub(super) fn read_with_progress(
    options: AwsOptions,
    scope: &Scope,
    since: OffsetDateTime,
) -> Result<Evidence, CliError> {
    let mut bar: Option<ProgressBar> = None;
    let evidence = aws::read_evidence(options, scope, since, &mut |p| match p {
        ReadProgress::Started { accounts } => bar = Some(progress_bar(accounts)),
        ReadProgress::AccountDone => {
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(evidence)
}

fn progress_bar(n: usize) -> ProgressBar {
    // A few accounts finish before a bar is worth drawing; pipes and CI logs get none.
    if n <= 3 || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} accounts {elapsed}") {
        bar.set_style(style);
    }
    bar
}

fn device_class_name(c: aws::DeviceClass) -> &'static str {
    match c {
        aws::DeviceClass::FidoSecurityKey => "fido security key",
        aws::DeviceClass::FidoPasskey => "fido passkey/uncertified",
        aws::DeviceClass::FidoUnverified => "fido",
        aws::DeviceClass::Virtual => "virtual",
        aws::DeviceClass::HardwareTotp => "hardware_totp",
        aws::DeviceClass::Unknown => "unknown",
    }
}

fn count(n: Option<usize>) -> String {
    n.map_or_else(|| "unknown".to_string(), |n| n.to_string())
}

fn print_human(report: &Report) {
    for a in &report.accounts {
        let title = match (&a.name, &a.email) {
            (Some(n), Some(e)) => format!("{} ({n}, {e})", a.account_id),
            (Some(n), None) => format!("{} ({n})", a.account_id),
            (None, Some(e)) => format!("{} ({e})", a.account_id),
            (None, None) => a.account_id.clone(),
        };
        let role = if a.management { "management" } else { "member" };
        if a.posture.account_inactive() {
            println!(
                "{}  [{role}, {}: not audited]",
                crate::text::escape(&title),
                crate::text::escape(a.posture.account_status.as_deref().unwrap_or("inactive"))
            );
            println!();
            continue;
        }
        let p = &a.posture;
        let mfa = if p.mfa_devices.is_empty() {
            "none".to_string()
        } else {
            p.mfa_devices
                .iter()
                .map(|d| {
                    // The precise class when the read told it (security key / passkey /
                    // unverified FIDO), else the kind from the serial's shape.
                    let class = p
                        .device_classes
                        .iter()
                        .find(|c| c.serial == d.serial)
                        .map(|c| device_class_name(c.class))
                        .unwrap_or(d.kind.as_str());
                    // Serials come from AWS or an evidence file: escaped for the terminal.
                    format!("{class} {}", crate::text::escape(&d.serial))
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let password = match p.password {
            PasswordState::Present => "present",
            PasswordState::Absent => "absent",
            PasswordState::Unknown => "unknown",
        };
        let logins = p
            .logins
            .as_ref()
            .map_or("not searched".into(), |l| l.len().to_string());
        // Account names and emails come from AWS or an evidence file: escaped for the terminal.
        println!(
            "{}  [{role}{}]",
            crate::text::escape(&title),
            if a.credential_less {
                ", credential-less"
            } else {
                ""
            }
        );
        let mut t = Table::new(["root", "state"]);
        t.row(["MFA devices", mfa.as_str()])
            .row([
                "access keys",
                count(p.access_keys.as_ref().map(Vec::len)).as_str(),
            ])
            .row([
                "signing certificates",
                count(p.signing_certificates.as_ref().map(Vec::len)).as_str(),
            ])
            .row(["password", password])
            .row(["root logins", logins.as_str()])
            .row(["other root use", p.usage.len().to_string().as_str()]);
        println!("{t}");
        if !a.findings.is_empty() {
            let mut f = Table::new(["finding", "severity", "status", "resource", "evidence"]);
            for x in &a.findings {
                let detail = x
                    .evidence
                    .get("detail")
                    .map(crate::findings::Finding::evidence_text)
                    .unwrap_or_else(|| x.title.clone());
                f.row([
                    x.check.as_str(),
                    x.severity.as_str(),
                    x.status.as_str(),
                    crate::text::escape(&x.resource).as_ref(),
                    crate::text::escape(&detail).as_ref(),
                ]);
            }
            println!("{f}");
        }
        if !a.passed.is_empty() {
            let names: Vec<&str> = a.passed.iter().map(|p| p.check.as_str()).collect();
            println!("passed: {}", names.join(", "));
        }
        println!();
    }
    let s = &report.summary;
    println!(
        "{} account(s), {} compliant, {} credential-less, {} suspended or closed, {} finding(s)",
        s.accounts,
        s.compliant_accounts,
        s.credential_less_accounts,
        s.inactive_accounts,
        s.findings
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_times_and_durations() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(
            parse_since("2024-01-31", now).ok(),
            None,
            "2024 is after `now` (2023-11-14): in the future"
        );
        assert_eq!(
            parse_since("2023-01-31", now).unwrap(),
            time::macros::datetime!(2023-01-31 0:00 UTC)
        );
        assert_eq!(
            parse_since("2023-01-31T10:00:00Z", now).unwrap(),
            time::macros::datetime!(2023-01-31 10:00 UTC)
        );
        assert_eq!(
            parse_since("2023-01-31T10:00:00+02:00", now).unwrap(),
            time::macros::datetime!(2023-01-31 8:00 UTC)
        );
        assert_eq!(
            parse_since("1d", now).unwrap(),
            now - time::Duration::days(1)
        );
        assert_eq!(parse_since("0s", now).unwrap(), now);
        assert_eq!(
            parse_since("0001-01-01", now).unwrap(),
            time::macros::datetime!(0001-01-01 0:00 UTC)
        );
    }

    #[test]
    fn since_refuses_unusable_values_without_panicking() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        for (bad, says) in [
            ("99999999d", "further than any date"),
            ("9999999999999999999999d", "give a date"),
            ("18446744073709551615s", "further than any date"),
            ("yesterday-ish", "is not a date"),
            ("", "is not a date"),
            ("-5d", "is not a date"),
            ("P1D", "is not a date"),
            ("2023-02-30", "give a date"),
            ("2023-13-01", "give a date"),
            (
                "2099-01-01",
                "is in the future: the audited period would be empty",
            ),
            ("9999-12-31T23:59:59Z", "is in the future"),
            ("\x1b[2J", "\\u{001B}[2J"),
        ] {
            let e = parse_since(bad, now).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(e.starts_with("--since "), "{e}");
            assert!(!e.contains('\x1b'), "{e}");
        }
        let e = parse_since("2099-01-01", now).unwrap_err().to_string();
        assert!(e.starts_with("--since 2099-01-01 is in the future"), "{e}");
        // One second ahead is already the future.
        let ahead = (now + time::Duration::seconds(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert!(parse_since(&ahead, now).is_err());
    }

    #[test]
    fn cloudtrail_horizon_is_the_retention_before_now() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(
            now - cloudtrail_horizon(now),
            time::Duration::days(aws::CLOUDTRAIL_RETENTION_DAYS)
        );
        assert_eq!(aws::CLOUDTRAIL_RETENTION_DAYS, 90);
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(parse_account_id("123456789012").is_ok());
        assert!(parse_account_id("12345678901").is_err());
        assert!(parse_account_id("12345678901a").is_err());
    }
}
