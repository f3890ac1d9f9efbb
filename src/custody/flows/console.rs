//! How flows talk to the people running them, without knowing whether a terminal is there.

use std::io::{BufRead, IsTerminal, Write};

use super::FlowError;
use crate::text::escape_lines;

/// Where a flow's guidance goes and where its few questions are answered.
pub trait Console {
    /// Guidance or progress for the people at the station.
    fn say(&mut self, text: &str);
    /// A step a person must do before the flow goes on (insert a key, use the AWS console).
    /// Interactive consoles wait for Enter; others only show it.
    fn step(&mut self, text: &str) -> Result<(), FlowError>;
    /// The PIN of `who`'s key, which asked for one.
    fn pin(&mut self, who: &str) -> Result<String, FlowError>;
}

/// The CLI's console: everything on stderr (stdout stays for results and `--json`); waits for
/// Enter only when stdin is a terminal, so scripts and pipes run straight through. Text is
/// escaped line by line ([`escape_lines`]): names and locations from the ledger never reach the
/// terminal raw.
#[derive(Debug)]
pub struct StderrConsole {
    wait: bool,
    pin_env: Option<String>,
}

impl StderrConsole {
    /// A console that waits at steps when stdin is a terminal.
    pub fn new() -> Self {
        StderrConsole {
            wait: std::io::stdin().is_terminal(),
            pin_env: None,
        }
    }

    /// A console that answers every PIN question from the environment variable `var`
    /// (`--pin-env VAR`: scripts and the demo), instead of prompting.
    pub fn with_pin_env(var: Option<String>) -> Self {
        StderrConsole {
            pin_env: var,
            ..Self::new()
        }
    }
}

impl Default for StderrConsole {
    fn default() -> Self {
        Self::new()
    }
}

impl Console for StderrConsole {
    fn say(&mut self, text: &str) {
        eprintln!("{}", escape_lines(text));
    }

    fn step(&mut self, text: &str) -> Result<(), FlowError> {
        let text = escape_lines(text);
        if !self.wait {
            eprintln!("{text}");
            return Ok(());
        }
        eprint!("{text} [Enter to continue] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) => Err(FlowError::Console(
                "stdin closed while waiting for a step: nothing was recorded for this step".into(),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(FlowError::Console(format!("cannot read stdin: {e}"))),
        }
    }

    fn pin(&mut self, who: &str) -> Result<String, FlowError> {
        if let Some(var) = &self.pin_env {
            return std::env::var(var).map_err(|_| {
                FlowError::Console(format!(
                    "{who}'s key needs its PIN, and --pin-env names {var}, which is not set"
                ))
            });
        }
        rpassword::prompt_password(format!("PIN of {}'s key: ", crate::text::escape(who))).map_err(
            |e| {
                FlowError::Console(format!(
                    "{who}'s key needs its PIN and none can be asked here ({e})"
                ))
            },
        )
    }
}

/// A console for tests and the demo: records what was said, answers PINs from a list.
#[derive(Debug, Default)]
pub struct RecordingConsole {
    /// Everything said or shown as a step, in order.
    pub lines: Vec<String>,
    /// PINs by custodian or key name.
    pub pins: Vec<(String, String)>,
}

impl Console for RecordingConsole {
    fn say(&mut self, text: &str) {
        self.lines.push(text.to_string());
    }

    fn step(&mut self, text: &str) -> Result<(), FlowError> {
        self.lines.push(text.to_string());
        Ok(())
    }

    fn pin(&mut self, who: &str) -> Result<String, FlowError> {
        self.pins
            .iter()
            .find(|(w, _)| w == who)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| {
                FlowError::Console(format!("{who}'s key needs a PIN and none was given"))
            })
    }
}
