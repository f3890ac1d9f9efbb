//! `rootkey enroll` and `rootkey enroll confirm`: onboarding an account's root user.
//!
//! With `--evidence-in FILE` (offline station) `enroll` records the attested keys and prints the
//! console steps and the `enroll confirm` command to run once AWS shows them. Without it, AWS is
//! read live: the devices on root are counted first, and after the console steps rootkey polls
//! until both keys appear (up to `--wait`) and confirms in the same run.

use std::path::PathBuf;
use std::time::Duration;

use super::aws::AwsArgs;
use super::custodian::{parse_pair, CustodianDevices};
use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome};
use crate::attest::KeyPurpose;
use crate::custody::flows::enroll::{
    self, AwsView, ConfirmOutcome, ConfirmRequest, Eligibility, EnrollOutcome, EnrollRequest,
    KeyPlacement,
};
use crate::custody::flows::Console;
use crate::custody::Station;
use crate::device::DeviceSpec;

/// How often the live read asks AWS again.
const POLL_EVERY: Duration = Duration::from_secs(5);

/// `rootkey enroll` flags.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EnrollArgs {
    #[command(subcommand)]
    pub confirm: Option<EnrollCmd>,
    /// The AWS account id (123456789012 or 1234-5678-9012)
    #[arg(long, value_name = "ID", required = true, value_parser = super::parse_account_id)]
    pub account: Option<String>,
    /// Enroll a successor for this key (same account and role) instead of a new pair: give
    /// only that role's flags (--primary/--location-primary/--bag-primary, or the backup's);
    /// the old key is retired when `enroll confirm` sees the successor in AWS
    #[arg(long, value_name = "KEY")]
    pub replace: Option<String>,
    /// The primary key: `hid:PATH` or `soft:FILE`
    #[arg(long, value_name = "DEVICE", required_unless_present = "replace")]
    pub primary: Option<String>,
    /// The backup key
    #[arg(long, value_name = "DEVICE", required_unless_present = "replace")]
    pub backup: Option<String>,
    /// Where the primary key will be stored
    #[arg(long, value_name = "TEXT", required_unless_present = "replace")]
    pub location_primary: Option<String>,
    /// Where the backup key will be stored (a different place)
    #[arg(long, value_name = "TEXT", required_unless_present = "replace")]
    pub location_backup: Option<String>,
    /// Serial of the primary key's tamper-evident bag
    #[arg(long, value_name = "SERIAL", required_unless_present = "replace")]
    pub bag_primary: Option<String>,
    /// Serial of the backup key's tamper-evident bag
    #[arg(long, value_name = "SERIAL", required_unless_present = "replace")]
    pub bag_backup: Option<String>,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair, required = true)]
    pub custodians: Option<[String; 2]>,
    /// Also trust every *.pem in DIR as an attestation root (e.g. the software key's CA)
    #[arg(long, value_name = "DIR")]
    pub roots: Option<PathBuf>,
    /// Policy file (TOML) [default: the config's [policy]]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub source: AwsSource,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Where AWS's view of root comes from.
#[derive(Debug, clap::Args)]
pub struct AwsSource {
    /// Read root's devices from an evidence file (rootkey-aws-evidence/1) instead of AWS
    #[arg(long, value_name = "FILE")]
    pub evidence_in: Option<PathBuf>,
    /// How long to wait for AWS to show the keys (live reads): 10m, 1h
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_wait)]
    pub wait: Duration,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `rootkey enroll` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EnrollCmd {
    /// Record that AWS shows both enrolled keys on root, and close the onboarding
    Confirm(ConfirmArgs),
}

/// `rootkey enroll confirm` flags.
#[derive(Debug, clap::Args)]
pub struct ConfirmArgs {
    /// The AWS account id (123456789012 or 1234-5678-9012)
    #[arg(long, value_name = "ID", value_parser = super::parse_account_id)]
    pub account: String,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub custodians: [String; 2],
    #[command(flatten)]
    pub source: AwsSource,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

fn parse_wait(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. 10m"))
}

fn required<T>(v: Option<T>, flag: &str) -> Result<T, CliError> {
    v.ok_or_else(|| format!("{flag} is required").into())
}

/// Runs `rootkey enroll` or `rootkey enroll confirm`.
pub fn run(a: EnrollArgs, global: &GlobalArgs) -> CmdResult {
    if let Some(EnrollCmd::Confirm(c)) = a.confirm {
        return confirm(c, global);
    }
    let account = required(a.account, "--account")?;
    let custodians = required(a.custodians, "--custodians")?;
    let placement = |device: Option<String>,
                     loc: Option<String>,
                     bag: Option<String>,
                     role: &str|
     -> Result<KeyPlacement, CliError> {
        Ok(KeyPlacement {
            device: DeviceSpec::parse(&required(device, &format!("--{role}"))?)?,
            location: required(loc, &format!("--location-{role}"))?,
            bag_serial: required(bag, &format!("--bag-{role}"))?,
        })
    };
    let (trust, policy) = super::attest::trust_and_policy(
        KeyPurpose::Root,
        a.roots.as_deref(),
        a.policy.as_deref(),
        global,
    )?;
    let elig = Eligibility { trust, policy };
    let mut console = global.console();
    // What AWS shows before: counts toward the limit of 8 devices on root.
    let before = read_view(&a.source, &account, Duration::ZERO, &mut console, |_| true)?;
    let mut ledger = Station::open(&global.ledger_path()?, None)?;
    let enrolled = match &a.replace {
        Some(old) => {
            let (role, of) = ledger
                .state()
                .key(old)
                .map(|k| (k.role, k.account_id.clone()))
                .ok_or_else(|| {
                    format!(
                        "no key {} in custody: check `rootkey keys enrolled`",
                        crate::text::escape(old)
                    )
                })?;
            if of != account {
                return Err(format!(
                    "key {old} guards account {of}, not {}",
                    crate::text::escape(&account)
                )
                .into());
            }
            let placement = match role {
                crate::custody::events::KeyRole::Primary => {
                    placement(a.primary, a.location_primary, a.bag_primary, "primary")?
                }
                crate::custody::events::KeyRole::Backup => {
                    placement(a.backup, a.location_backup, a.bag_backup, "backup")?
                }
            };
            let req = enroll::ReplaceRequest {
                actor: custodians[0].clone(),
                key_id: old.clone(),
                placement,
                custodians: a.keys.approvers(&custodians)?,
                root_mfa_devices: before.devices.len(),
            };
            enroll::replace(&mut ledger, &mut console, &req, &elig)?
        }
        None => {
            let req = EnrollRequest {
                actor: custodians[0].clone(),
                account_id: account.clone(),
                primary: placement(a.primary, a.location_primary, a.bag_primary, "primary")?,
                backup: placement(a.backup, a.location_backup, a.bag_backup, "backup")?,
                custodians: a.keys.approvers(&custodians)?,
                root_mfa_devices: before.devices.len(),
            };
            enroll::enroll(&mut ledger, &mut console, &req, &elig)?
        }
    };
    print_enrolled(&enrolled, global.json && a.source.evidence_in.is_some())?;
    for (i, step) in enrolled.console_steps.iter().enumerate() {
        console.step(&format!("AWS console step {}: {step}", i + 1))?;
    }
    let resume = format!(
        "rootkey enroll confirm --account {account} --custodians {},{} [--evidence-in FILE | AWS flags]",
        custodians[0], custodians[1]
    );
    if a.source.evidence_in.is_some() {
        console.say(&format!(
            "when AWS shows both keys on root, export the evidence and run:\n  {resume}"
        ));
        return Ok(Outcome::Ok);
    }
    let keys = enroll::pending_keys(&ledger, &account)?;
    let view = read_view(
        &a.source,
        &account,
        a.source.wait,
        &mut console,
        |devices| {
            keys.iter()
                .all(|k| enroll::device_for(k, devices).is_some())
        },
    )?;
    let confirmed = enroll::confirm(
        &mut ledger,
        &mut console,
        &ConfirmRequest {
            actor: custodians[0].clone(),
            account_id: account.clone(),
            custodians: a.keys.approvers(&custodians)?,
        },
        &view,
    )
    .map_err(|e| {
        format!("{e}\nthe keys are recorded as enrolled; finish later with:\n  {resume}")
    })?;
    if global.json {
        print_json(&serde_json::json!({"enrolled": enrolled, "confirmed": confirmed}))?;
    } else {
        print_confirmed(&confirmed);
    }
    Ok(Outcome::Ok)
}

fn confirm(c: ConfirmArgs, global: &GlobalArgs) -> CmdResult {
    let mut console = global.console();
    let mut ledger = Station::open(&global.ledger_path()?, None)?;
    let keys = enroll::pending_keys(&ledger, &c.account)?;
    let view = read_view(
        &c.source,
        &c.account,
        c.source.wait,
        &mut console,
        |devices| {
            keys.iter()
                .all(|k| enroll::device_for(k, devices).is_some())
        },
    )?;
    let o = enroll::confirm(
        &mut ledger,
        &mut console,
        &ConfirmRequest {
            actor: c.custodians[0].clone(),
            account_id: c.account.clone(),
            custodians: c.keys.approvers(&c.custodians)?,
        },
        &view,
    )?;
    if global.json {
        print_json(&o)?;
    } else {
        print_confirmed(&o);
    }
    Ok(Outcome::Ok)
}

fn read_view(
    src: &AwsSource,
    account: &str,
    wait: Duration,
    console: &mut dyn Console,
    done: impl Fn(&[crate::aws::MfaDevice]) -> bool,
) -> Result<AwsView, CliError> {
    Ok(match &src.evidence_in {
        Some(path) => enroll::view_from_evidence(&crate::aws::load_evidence(path)?, account)?,
        None => enroll::poll_live(&src.aws.options(), account, wait, POLL_EVERY, console, done)?,
    })
}

fn print_enrolled(o: &EnrollOutcome, json: bool) -> Result<(), CliError> {
    if json {
        return print_json(o);
    }
    for k in &o.keys {
        println!(
            "{} key {} ({}) enrolled for account {} at entry {}: AWS device name {}, bag {}, {}",
            k.role.as_str(),
            k.key_id,
            k.model,
            o.account_id,
            k.seq,
            k.aws_device_name,
            k.bag_serial,
            k.location
        );
    }
    Ok(())
}

fn print_confirmed(o: &ConfirmOutcome) {
    for k in &o.keys {
        println!(
            "AWS shows key {} on root as {} (enabled {})",
            k.key_id,
            k.serial_arn,
            crate::report::fmt_time(k.enable_date)
        );
    }
    println!("account {} enrolled (entry {})", o.account_id, o.seq);
}
