//! Command-line interface: argument parsing, output formatting and exit codes.
//!
//! Every subcommand returns [`Outcome`] or an error; this module alone turns those into the
//! documented exit codes (0 ok, 1 findings or verification failed, 2 usage or runtime error).

mod attest;
mod audit;
pub mod aws;
mod checkin;
mod checkout;
mod config;
mod custodian;
mod demo;
mod docs;
mod enroll;
mod exit;
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
    /// Show what is being done on stderr: every command sent to a key, every AWS call (-vv: and
    /// how each ended)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Security key to use: `hid` (the one plugged in), `hid:PATH` (a hidraw path) or `soft:FILE`
    /// (a software authenticator kept in FILE) [default: hid]
    #[arg(long, global = true, env = "ROOTKEY_DEVICE", value_name = "SPEC")]
    pub device: Option<String>,
    /// Take every PIN a key asks for from this environment variable instead of prompting
    /// (for scripts; the variable holds the PIN, not a file name)
    #[arg(long, global = true, value_name = "VAR", conflicts_with_all = ["pin_stdin", "pin_fd"])]
    pub pin_env: Option<String>,
    /// Read every PIN a key asks for from stdin, one per line in the order they are asked
    /// (`keys set-pin`: the current PIN first when the key has one, then the new PIN)
    #[arg(long, global = true, conflicts_with = "pin_fd")]
    pub pin_stdin: bool,
    /// Read every PIN a key asks for from this open file descriptor, one per line in the order
    /// they are asked (`3< pins.txt`): stdin stays free
    #[arg(long, global = true, value_name = "N")]
    pub pin_fd: Option<i32>,
    /// Do not wait at the "[Enter to continue]" steps: show them and go on (for scripts)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
}

impl GlobalArgs {
    /// The ledger database path: `--ledger`, `ROOTKEY_LEDGER`, or the XDG data directory.
    pub fn ledger_path(&self) -> Result<PathBuf, CliError> {
        match &self.ledger {
            Some(p) => Ok(p.clone()),
            None => Ok(crate::config::data_dir()?.join("ledger.db")),
        }
    }

    /// Where PINs come from: `--pin-env`, `--pin-stdin`, `--pin-fd`, or a prompt.
    pub fn pin_source(&self) -> crate::custody::flows::PinSource {
        use crate::custody::flows::{PinKind, PinSource};
        let kind = if let Some(var) = &self.pin_env {
            PinKind::Env(var.clone())
        } else if self.pin_stdin {
            PinKind::Stdin
        } else if let Some(fd) = self.pin_fd {
            PinKind::Fd(fd)
        } else {
            PinKind::Prompt
        };
        PinSource::new(kind)
    }

    /// The console people are guided through (stderr; PINs from [`Self::pin_source`]; steps
    /// not waited for with `--yes`).
    pub fn console(&self) -> crate::custody::flows::StderrConsole {
        crate::custody::flows::StderrConsole::with_pins(self.pin_source(), self.yes)
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
    /// The configuration file: show what is in effect and where each value came from, or write
    /// a commented template
    #[command(subcommand)]
    Config(config::ConfigCmd),
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
    // Before parsing, so that even a usage error comes as JSON when JSON was asked for.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if json => {
            let text = e.render().to_string();
            let message = text.lines().next().unwrap_or_default();
            let message = message.strip_prefix("error: ").unwrap_or(message);
            print_error_json(
                "usage",
                message,
                Some("see `rootkey help` or `rootkey COMMAND --help`"),
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let json = cli.global.json;
    crate::verbose::set_level(cli.global.verbose);
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            let class = exit::classify(e.as_ref());
            if json {
                print_error_json(class.code, &exit::message_chain(e.as_ref()), class.hint);
            } else {
                report_error(e.as_ref());
            }
            ExitCode::from(class.status)
        }
    }
}

/// Parses an AWS account id as people write it and the AWS console prints it: twelve digits,
/// or `1111-2222-3333` (dashes or spaces between the groups of four). Gives the twelve digits;
/// anything else is refused with the forms that work. The value parser of every account flag.
pub(crate) fn parse_account_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    let grouped = t.len() == 14
        && t.char_indices().all(|(i, c)| {
            if i == 4 || i == 9 {
                c == '-' || c == ' '
            } else {
                c.is_ascii_digit()
            }
        })
        && t.as_bytes()[4] == t.as_bytes()[9];
    let plain = t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit());
    if plain || grouped {
        Ok(t.chars().filter(char::is_ascii_digit).collect())
    } else {
        Err(format!(
            "`{}` is not an AWS account id: give its 12 digits, as 123456789012 or 1234-5678-9012",
            crate::text::escape(s)
        ))
    }
}

/// `{"error":{"code":...,"message":...,"hint":...}}` on stderr (`--json`): scripts read why.
fn print_error_json(code: &str, message: &str, hint: Option<&str>) {
    let v = serde_json::json!({"error": {"code": code, "message": message, "hint": hint}});
    eprintln!("{v}");
}

fn run(cli: Cli) -> CmdResult {
    let global = &cli.global;
    if !matches!(cli.command, Command::Demo(_)) {
        ledger::install_auto_publish(global); // `[ledger.anchor]`: publish after each append
    }
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
        Command::Config(cmd) => config::run(cmd, global),
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
