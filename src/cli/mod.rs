//! Command-line interface: argument parsing, output formatting and exit codes.
//!
//! Every subcommand returns [`Outcome`] or an error; this module alone turns those into the
//! documented exit codes (0 ok, 1 findings or verification failed, 2 usage or runtime error).

mod attest;
mod audit;
pub mod aws;
mod checkin;
mod checkout;
mod custodian;
mod demo;
mod docs;
mod enroll;
mod finding;
mod keys;
mod ledger;
mod lifecycle;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::{print_json, Table};

/// What a command concluded, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out (exit 0).
    Ok,
    /// The command ran, and found something wrong: findings, a failed verification (exit 1).
    Findings,
}

/// An error that stops a command (exit 2): printed with its chain of causes.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Result of running one command.
pub type CmdResult = Result<Outcome, CliError>;

/// Custody of FIDO2 keys guarding AWS root users.
#[derive(Debug, Parser)]
#[command(name = "rootkey", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Custody ledger database [default: $XDG_DATA_HOME/rootkey/ledger.db]
    #[arg(long, global = true, env = "ROOTKEY_LEDGER", value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Configuration file (TOML) [default: $XDG_CONFIG_HOME/rootkey/config.toml]
    #[arg(long, global = true, env = "ROOTKEY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Security key to use: `hid` (the one plugged in), `hid:PATH` (a hidraw path) or `soft:FILE`
    /// (a software authenticator kept in FILE) [default: hid]
    #[arg(long, global = true, env = "ROOTKEY_DEVICE", value_name = "SPEC")]
    pub device: Option<String>,
    /// Take every PIN a key asks for from this environment variable instead of prompting
    /// (for scripts; the variable holds the PIN, not a file name)
    #[arg(long, global = true, value_name = "VAR")]
    pub pin_env: Option<String>,
}

impl GlobalArgs {
    /// The ledger database path: `--ledger`, `ROOTKEY_LEDGER`, or the XDG data directory.
    pub fn ledger_path(&self) -> Result<PathBuf, CliError> {
        match &self.ledger {
            Some(p) => Ok(p.clone()),
            None => Ok(crate::config::data_dir()?.join("ledger.db")),
        }
    }

    /// The console people are guided through (stderr; PINs prompted, or from `--pin-env`).
    pub fn console(&self) -> crate::custody::flows::StderrConsole {
        crate::custody::flows::StderrConsole::with_pin_env(self.pin_env.clone())
    }

    /// The configuration: from `--config` (which must exist) or the default path (optional).
    pub fn load_config(&self) -> Result<crate::config::Config, CliError> {
        Ok(crate::config::Config::load(self.config.as_deref())?)
    }
}

/// rootkey's commands: `<noun> <verb>`, plus the jobs as verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The custody ledger: create, append notes, show, checkpoint, verify, export
    #[command(subcommand)]
    Ledger(ledger::LedgerCmd),
    /// Security keys: list, inspect, set a PIN, attest; keys in custody and their possession checks
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Attestation: verify what a key is, against pinned roots, FIDO metadata and policy
    #[command(subcommand)]
    Attest(attest::AttestCmd),
    /// AWS: read the root posture of accounts or a whole organization
    #[command(subcommand)]
    Aws(aws::AwsCmd),
    /// Custodians: bootstrap the first two, add, remove, list
    #[command(subcommand)]
    Custodian(custodian::CustodianCmd),
    /// Accounts in custody: take one out of scope
    #[command(subcommand)]
    Account(lifecycle::AccountCmd),
    /// Onboard an account: attest two keys, guide the AWS console registration, confirm it
    Enroll(Box<enroll::EnrollArgs>),
    /// Break-glass: check a key out under dual control
    Checkout(checkout::CheckoutArgs),
    /// Check a key back in: the key proves itself, two custodians approve
    Checkin(checkin::CheckinArgs),
    /// Findings: accept a finding's risk until a date
    #[command(subcommand)]
    Finding(finding::FindingCmd),
    /// Quarterly audit: prove the ledger intact, compare it with AWS, write the report, record it
    Audit(Box<audit::AuditArgs>),
    /// The whole custody story with software keys and bundled AWS evidence, in seconds
    Demo(demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the rootkey(1) man page (roff): `rootkey man | man -l -`
    Man,
}

/// Parses the process arguments, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`| head`), instead
    // of panicking in println!. Nothing half-written follows: ledger writes are transactions.
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            report_error(e.as_ref());
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> CmdResult {
    let global = &cli.global;
    match cli.command {
        Command::Ledger(cmd) => ledger::run(cmd, global),
        Command::Keys(cmd) => keys::run(cmd, global),
        Command::Attest(cmd) => attest::run(cmd, global),
        Command::Aws(cmd) => aws::run(cmd, global),
        Command::Custodian(cmd) => custodian::run(cmd, global),
        Command::Account(cmd) => lifecycle::run_account(cmd, global),
        Command::Enroll(args) => enroll::run(*args, global),
        Command::Checkout(args) => checkout::run(args, global),
        Command::Checkin(args) => checkin::run(args, global),
        Command::Audit(args) => audit::run(*args, global),
        Command::Finding(cmd) => finding::run(cmd, global),
        Command::Demo(args) => demo::run(args, global),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man => docs::man(),
    }
}

/// Prints an error and its causes to stderr, `cargo`-style. Messages quote paths, ledger text and
/// AWS answers, so each line is escaped for the terminal ([`crate::text::escape_lines`]).
pub fn report_error(e: &(dyn std::error::Error + 'static)) {
    eprintln!("error: {}", crate::text::escape_lines(&e.to_string()));
    let mut source = e.source();
    while let Some(cause) = source {
        eprintln!(
            "  caused by: {}",
            crate::text::escape_lines(&cause.to_string())
        );
        source = cause.source();
    }
}
