//! `rootkey keys move`, `rootkey keys retire` and `rootkey account close`: the lifecycle steps
//! after onboarding, each approved by two custodians.

use super::custodian::{parse_pair, CustodianDevices};
use super::{print_json, CmdResult, GlobalArgs, Outcome};
use crate::custody::events::{CloseReason, RetireReason};
use crate::custody::flows::lifecycle::{
    self, CloseRequest, LifecycleOutcome, MoveRequest, RetireRequest,
};
use crate::custody::Station;
use crate::device::DeviceSpec;

/// `rootkey keys move` flags.
#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    /// Key id
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// The new storage location (apart from the account's other key)
    #[arg(long, value_name = "LOCATION")]
    pub to: String,
    /// Serial of the new tamper-evident bag it is sealed in there
    #[arg(long, value_name = "SERIAL")]
    pub bag: String,
    /// Why it moves
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub custodians: [String; 2],
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// `rootkey keys retire` flags.
#[derive(Debug, clap::Args)]
pub struct RetireArgs {
    /// Key id
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Why it leaves custody (lost and compromised are incidents)
    #[arg(long, value_enum)]
    pub reason: RetireArg,
    /// What happened (incident number, where it was last seen, who witnessed the destruction)
    #[arg(long, value_name = "TEXT")]
    pub note: String,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub custodians: [String; 2],
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Retirement reasons on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RetireArg {
    /// Nobody knows where it is (an incident)
    Lost,
    /// Physically destroyed, witnessed
    Destroyed,
    /// May have been copied, tampered with or used outside custody (an incident)
    Compromised,
    /// A successor key took its place
    Replaced,
    /// Anything else (say what in --note)
    Other,
}

impl From<RetireArg> for RetireReason {
    fn from(r: RetireArg) -> Self {
        match r {
            RetireArg::Lost => RetireReason::Lost,
            RetireArg::Destroyed => RetireReason::Destroyed,
            RetireArg::Compromised => RetireReason::Compromised,
            RetireArg::Replaced => RetireReason::Replaced,
            RetireArg::Other => RetireReason::Other,
        }
    }
}

/// `rootkey account` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AccountCmd {
    /// Take an account out of rootkey's scope (closed, or credential-less under centralized
    /// root access); its keys must be retired first, and later audits no longer expect it
    Close(CloseArgs),
}

/// `rootkey account close` flags.
#[derive(Debug, clap::Args)]
pub struct CloseArgs {
    /// The 12-digit AWS account id
    #[arg(long, value_name = "ID", value_parser = super::parse_account_id)]
    pub account: String,
    /// Why it leaves scope
    #[arg(long, value_enum)]
    pub reason: CloseArg,
    /// What happened (closure ticket, date)
    #[arg(long, value_name = "TEXT")]
    pub note: String,
    /// The two approving custodians, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub custodians: [String; 2],
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Account-closing reasons on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CloseArg {
    /// The AWS account was closed
    Closed,
    /// Its root has no credentials at all under centralized root access
    CredentialLess,
    /// Anything else (say what in --note)
    Other,
}

impl From<CloseArg> for CloseReason {
    fn from(r: CloseArg) -> Self {
        match r {
            CloseArg::Closed => CloseReason::Closed,
            CloseArg::CredentialLess => CloseReason::CredentialLess,
            CloseArg::Other => CloseReason::Other,
        }
    }
}

/// Runs `rootkey keys move` (the key to move is `--device`).
pub fn run_move(a: MoveArgs, spec: DeviceSpec, global: &GlobalArgs) -> CmdResult {
    let req = MoveRequest {
        actor: a.custodians[0].clone(),
        key_id: a.key,
        key_device: spec,
        to_location: a.to,
        bag_serial: a.bag,
        reason: a.reason,
        custodians: a.keys.approvers(&a.custodians)?,
    };
    let mut station = Station::open(&global.ledger_path()?, None)?;
    let o = lifecycle::move_key(&mut station, &mut global.console(), &req)?;
    print(&o, global, &format!("key {} moved", o.subject))
}

/// Runs `rootkey keys retire`.
pub fn run_retire(a: RetireArgs, global: &GlobalArgs) -> CmdResult {
    let req = RetireRequest {
        actor: a.custodians[0].clone(),
        key_id: a.key,
        reason: a.reason.into(),
        note: a.note,
        custodians: a.keys.approvers(&a.custodians)?,
    };
    let mut station = Station::open(&global.ledger_path()?, None)?;
    let o = lifecycle::retire(&mut station, &mut global.console(), &req)?;
    print(&o, global, &format!("key {} retired", o.subject))
}

/// Runs one `rootkey account` subcommand.
pub fn run_account(cmd: AccountCmd, global: &GlobalArgs) -> CmdResult {
    let AccountCmd::Close(a) = cmd;
    let req = CloseRequest {
        actor: a.custodians[0].clone(),
        account_id: a.account,
        reason: a.reason.into(),
        note: a.note,
        custodians: a.keys.approvers(&a.custodians)?,
    };
    let mut station = Station::open(&global.ledger_path()?, None)?;
    let o = lifecycle::close_account(&mut station, &mut global.console(), &req)?;
    print(
        &o,
        global,
        &format!("account {} is out of scope", o.subject),
    )
}

fn print(o: &LifecycleOutcome, global: &GlobalArgs, what: &str) -> CmdResult {
    if global.json {
        print_json(o)?;
    } else {
        println!("{what} (ledger entry {}, {})", o.seq, o.kind);
        for step in &o.next_steps {
            println!("next: {step}");
        }
    }
    Ok(Outcome::Ok)
}
