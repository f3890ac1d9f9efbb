//! `rootkey completions SHELL` and `rootkey man`: generated from the same clap definitions that
//! parse the arguments, so they cannot drift from the real flags.

use clap::CommandFactory;

use super::{Cli, CmdResult, Outcome};

/// Prints a completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> CmdResult {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "rootkey", &mut std::io::stdout());
    Ok(Outcome::Ok)
}

/// Prints the rootkey(1) man page (roff) on stdout.
pub fn man() -> CmdResult {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Outcome::Ok)
}
