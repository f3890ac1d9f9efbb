//! `rootkey aws ...` (placeholder until its issue lands).

use super::{CmdResult, GlobalArgs};

/// `rootkey aws` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AwsCmd {
    /// Placeholder
    Todo,
}

/// Runs one `rootkey aws` subcommand.
pub fn run(cmd: AwsCmd, _global: &GlobalArgs) -> CmdResult {
    match cmd {
        AwsCmd::Todo => Err("not built yet".into()),
    }
}
