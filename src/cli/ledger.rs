//! `rootkey ledger ...` (placeholder until its issue lands).

use super::{CmdResult, GlobalArgs};

/// `rootkey ledger` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum LedgerCmd {
    /// Placeholder
    Todo,
}

/// Runs one `rootkey ledger` subcommand.
pub fn run(cmd: LedgerCmd, _global: &GlobalArgs) -> CmdResult {
    match cmd {
        LedgerCmd::Todo => Err("not built yet".into()),
    }
}
