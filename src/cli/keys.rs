//! `rootkey keys ...` (placeholder until its issue lands).

use super::{CmdResult, GlobalArgs};

/// `rootkey keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// Placeholder
    Todo,
}

/// Runs one `rootkey keys` subcommand.
pub fn run(cmd: KeysCmd, _global: &GlobalArgs) -> CmdResult {
    match cmd {
        KeysCmd::Todo => Err("not built yet".into()),
    }
}
