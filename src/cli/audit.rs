//! `rootkey audit`: parse flags, gather AWS facts, call `custody::audit_flow`, write the report.

use std::io::Write;
use std::path::PathBuf;

use time::OffsetDateTime;

use super::aws::{
    cloudtrail_horizon, parse_account_id, parse_since, read_with_progress, warn_beyond_cloudtrail,
    AwsArgs,
};
use super::ledger::parse_vkey;
use super::{CmdResult, GlobalArgs, Outcome};
use crate::aws::{self, FindingConfig, Scope};
use crate::custody::audit_flow::{self, AuditRequest, Recorded};
use crate::ledger::VerifierKey;
use crate::report::{self, Format, Verdict};

/// `rootkey audit` flags.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Read these accounts live (repeatable) [default: the caller's account]
    #[arg(long = "account", value_name = "ID", value_parser = parse_account_id,
          conflicts_with_all = ["organization", "evidence_in"])]
    pub accounts: Vec<String>,
    /// Read every account of the organization live
    #[arg(long, conflicts_with = "evidence_in")]
    pub organization: bool,
    /// Take the AWS facts from an evidence file (rootkey-aws-evidence/1) instead of AWS
    #[arg(long, value_name = "FILE")]
    pub evidence_in: Option<PathBuf>,
    /// Start of the audited period: a date (2024-01-31), an RFC 3339 time or a duration ago
    /// (90d) [default: the end of the previous audit, else the ledger's first entry]
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// A checkpoint you saved earlier (`rootkey ledger checkpoint`): the audit FAILS unless
    /// today's ledger extends it
    #[arg(long, value_name = "FILE")]
    pub since_checkpoint: Option<PathBuf>,
    /// The ledger's verifier key from your records (`name+keyid+key`, printed by `rootkey
    /// ledger init`): the audit FAILS unless the ledger is signed by it. Without this or
    /// --since-checkpoint the audit reports LEDGER-UNANCHORED
    #[arg(long, value_name = "VKEY", value_parser = parse_vkey)]
    pub vkey: Option<VerifierKey>,
    /// The ledger's write-once anchor (s3://BUCKET/PREFIX, reached with --profile/--region/
    /// --endpoint-url): the ledger must extend its newest checkpoint and hold every published
    /// entry; a last publish older than `[ledger.anchor] max_age` is a finding
    #[arg(long, value_name = "S3URL", conflicts_with = "since_checkpoint")]
    pub anchor: Option<String>,
    /// Print every check (id, severity, controls, title) and exit; JSON with --json
    #[arg(long)]
    pub list_checks: bool,
    /// Report format: md, html or json [default: md, or json with --json]
    // Possible values, so completions and --help offer them.
    #[arg(long, value_name = "FORMAT", value_parser = clap::builder::TypedValueParser::try_map(
        clap::builder::PossibleValuesParser::new(["md", "html", "json"]), |s| parse_format(&s)))]
    pub format: Option<Format>,
    /// Write the report to FILE (atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Ledger signing key, to record the audit [default: beside the ledger, .key]
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Do not record `audit.completed` in the ledger (without the signing key it is skipped
    /// anyway, with a notice)
    #[arg(long, conflicts_with = "approvers")]
    pub no_record: bool,
    /// Who approves recording the audit: your own auditor id (one), or two custodians (A,B).
    /// An audit is recorded only with this approval, and only a recorded, approved audit moves
    /// the next audit's default period
    #[arg(long, value_name = "ID[,ID]", value_delimiter = ',')]
    pub approvers: Vec<String>,
    /// Also write the findings as FORMAT:FILE (repeatable): asff (Security Hub), ocsf
    /// (Compliance Finding JSON lines) or csv
    #[arg(long = "export", value_name = "FORMAT:FILE", value_parser = crate::export::parse_spec)]
    pub exports: Vec<crate::export::Spec>,
    #[command(flatten)]
    pub keys: super::custodian::CustodianDevices,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).map_err(|e| e.to_string())
}

/// Runs `rootkey audit`: exit 0 on PASS, 1 on FINDINGS or FAIL, 2 when it could not run.
pub fn run(args: AuditArgs, global: &GlobalArgs) -> CmdResult {
    if args.list_checks {
        return super::finding::list_checks(global.json);
    }
    let now = OffsetDateTime::now_utc();
    let format = args.format.unwrap_or(if global.json {
        Format::Json
    } else {
        Format::Markdown
    });
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, now))
        .transpose()?;
    if let Some(since) = since {
        warn_beyond_cloudtrail(since, now);
    }
    let saved_checkpoint = args
        .since_checkpoint
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read saved checkpoint {}: {e}", p.display()))
        })
        .transpose()?;
    let finding_config: FindingConfig = global.load_config()?.section("aws")?;
    let ledger = global.ledger_path()?;

    let (evidence, scope, accounts) = match &args.evidence_in {
        Some(path) => (
            aws::load_evidence(path)?,
            format!("evidence:{}", path.display()),
            None,
        ),
        None => {
            let scope = if args.organization {
                Scope::Organization
            } else {
                Scope::Accounts(args.accounts.clone())
            };
            let login_since = since.unwrap_or_else(|| cloudtrail_horizon(now));
            let evidence = read_with_progress(args.aws.options(), &scope, login_since)?;
            let accounts = match &scope {
                Scope::Accounts(ids) if !ids.is_empty() => Some(ids.clone()),
                _ => None,
            };
            (evidence, scope.as_str().to_string(), accounts)
        }
    };

    if since.is_some_and(|t| t > now) {
        return Err(
            "--since is in the future: the audited period would be empty; give a date in the past"
                .into(),
        );
    }
    let (anchor, saved_checkpoint, vkey) = match &args.anchor {
        Some(url) => {
            super::ledger::audit_anchor(url, &args.aws, &ledger, args.vkey.clone(), global)?
        }
        None => (None, saved_checkpoint, args.vkey.clone()),
    };
    let report = audit_flow::prepare(&AuditRequest {
        ledger: &ledger,
        evidence: &evidence,
        finding_config: &finding_config,
        scope,
        accounts,
        since,
        saved_checkpoint,
        vkey,
        anchor,
        now,
    })?;
    if !args.exports.is_empty() {
        write_exports(&args, &report, &evidence, &ledger)?;
    }
    let rendered = report::render(&report, format);
    let digest = report::digest(rendered.as_bytes());
    let place = match &args.out {
        Some(path) => {
            crate::fsutil::write_atomic(path, rendered.as_bytes())
                .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
            path.display().to_string()
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write the report to stdout: {e}"))?;
            "stdout".to_string()
        }
    };
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    eprintln!(
        "audit {}: {}; {} report on {place} (sha256 {digest})",
        report.verdict.label(),
        if counts.is_empty() {
            "no findings".to_string()
        } else {
            counts.join(", ")
        },
        format.as_str(),
    );
    if args.no_record {
        eprintln!("not recorded in the ledger (--no-record)");
    } else {
        let actor = args
            .approvers
            .first()
            .cloned()
            .unwrap_or_else(|| "auditor".into());
        let approvers = args.keys.approver_list(&args.approvers)?;
        match audit_flow::record(
            &ledger,
            args.signing_key.as_deref(),
            &actor,
            &report,
            format,
            rendered.as_bytes(),
            &approvers,
            &mut global.console(),
        )? {
            Recorded::NotApproved => eprintln!(
                "not recorded in the ledger: an audit counts only when the auditor's own key \
                 (or two custodians) approve it; pass --approvers YOUR_ID (or A,B) to record it"
            ),
            Recorded::Appended { seq } => {
                eprintln!("recorded as ledger entry {seq} (audit.completed)")
            }
            Recorded::NoSigningKey { path, why } => eprintln!(
                "not recorded in the ledger: its signing key {} cannot be read ({why}); \
                 read-only access is enough to audit, but ask the ledger owner to record it \
                 (or pass --signing-key)",
                path.display()
            ),
        }
    }
    Ok(match report.verdict {
        Verdict::Pass => Outcome::Ok,
        Verdict::Findings | Verdict::Fail => Outcome::Findings,
    })
}

/// `--export`: the audit's findings and the posture's passed checks; `CreatedAt` from the first
/// recorded audit that saw each finding (the ledger, read-only), else from the evidence.
fn write_exports(
    args: &AuditArgs,
    report: &report::AuditReport,
    evidence: &aws::Evidence,
    ledger: &std::path::Path,
) -> Result<(), super::CliError> {
    let mut first_audit = std::collections::BTreeMap::new();
    if let Ok(station) = crate::custody::Station::open_readonly(ledger) {
        for a in station.state().audits() {
            for id in &a.findings {
                first_audit.entry(id.clone()).or_insert(a.time);
            }
        }
    }
    let all = report
        .findings
        .iter()
        .chain(&report.passed)
        .chain(&report.remediated);
    let records = crate::export::adapt::from_findings(all, evidence, &first_audit);
    let ctx = super::aws::export_context(&args.aws, evidence);
    crate::export::write_all(&args.exports, &records, &ctx)?;
    Ok(())
}
