//! `rootkey attest ...` (placeholder until its issue lands).

use super::{CmdResult, GlobalArgs};

/// `rootkey attest` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AttestCmd {
    /// Placeholder
    Todo,
}

/// Runs one `rootkey attest` subcommand.
pub fn run(cmd: AttestCmd, _global: &GlobalArgs) -> CmdResult {
    match cmd {
        AttestCmd::Todo => Err("not built yet".into()),
    }
}
