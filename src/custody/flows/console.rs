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

/// Where PINs come from: a prompt without echo, or (for scripts) an environment variable,
/// stdin or an inherited file descriptor. One type, so every command that touches a key takes
/// its PINs the same way (`--pin-env VAR`, `--pin-stdin`, `--pin-fd N`).
pub struct PinSource {
    kind: PinKind,
    /// The descriptor named by `--pin-fd`, opened (duplicated) at the first PIN asked.
    fd: Option<std::io::BufReader<std::fs::File>>,
}

/// Which source [`PinSource`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinKind {
    /// Prompt on the terminal without echo.
    Prompt,
    /// Every PIN is the value of this environment variable.
    Env(String),
    /// One PIN per line of stdin, in the order they are asked.
    Stdin,
    /// One PIN per line read from this file descriptor, in the order they are asked.
    Fd(i32),
}

impl std::fmt::Debug for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinSource")
            .field("kind", &self.kind)
            .finish()
    }
}

impl PinSource {
    /// PINs from `kind`.
    pub fn new(kind: PinKind) -> Self {
        PinSource { kind, fd: None }
    }

    /// Where the PINs come from.
    pub fn kind(&self) -> &PinKind {
        &self.kind
    }

    /// The next PIN from a scripted source, or None when PINs are to be prompted for. `what`
    /// names the PIN in messages (`alice's key`, `new PIN`).
    pub fn scripted(&mut self, what: &str) -> Result<Option<String>, String> {
        let line = match &self.kind {
            PinKind::Prompt => return Ok(None),
            PinKind::Env(var) => {
                return std::env::var(var).map(Some).map_err(|_| {
                    format!("the {what} is needed, and --pin-env names {var}, which is not set")
                })
            }
            PinKind::Stdin => read_pin_line(&mut std::io::stdin().lock()),
            PinKind::Fd(n) => {
                let n = *n;
                if self.fd.is_none() {
                    self.fd = Some(std::io::BufReader::new(dup_fd(n)?));
                }
                read_pin_line(self.fd.as_mut().expect("opened above"))
            }
        };
        match line {
            Ok(Some(pin)) => Ok(Some(pin)),
            Ok(None) => Err(format!(
                "the {what} is needed, and {} ended before it: give one PIN per line, in the \
                 order they are asked",
                self.where_from()
            )),
            Err(e) => Err(format!(
                "cannot read the {what} from {}: {e}",
                self.where_from()
            )),
        }
    }

    /// The next PIN: scripted, or prompted for with `label` on the terminal.
    pub fn get(&mut self, what: &str, label: &str) -> Result<String, String> {
        if let Some(pin) = self.scripted(what)? {
            return Ok(pin);
        }
        rpassword::prompt_password(label).map_err(|e| {
            format!(
                "the {what} is needed and none can be asked here ({e}): give it with \
                 --pin-stdin, --pin-fd N or --pin-env VAR"
            )
        })
    }

    fn where_from(&self) -> String {
        match &self.kind {
            PinKind::Prompt => "the terminal".into(),
            PinKind::Env(var) => format!("${var}"),
            PinKind::Stdin => "stdin (--pin-stdin)".into(),
            PinKind::Fd(n) => format!("file descriptor {n} (--pin-fd)"),
        }
    }
}

/// One line without its line ending; None at end of input.
fn read_pin_line(r: &mut dyn BufRead) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// Our own copy of descriptor `n`, so reading (and dropping) it never closes the caller's.
fn dup_fd(n: i32) -> Result<std::fs::File, String> {
    use std::os::fd::FromRawFd;
    if n < 0 {
        return Err(format!("--pin-fd {n}: not a file descriptor"));
    }
    // SAFETY: dup only reads the descriptor table; a closed `n` gives -1, checked below.
    let fd = unsafe { libc::dup(n) };
    if fd < 0 {
        return Err(format!(
            "--pin-fd {n}: descriptor {n} is not open ({})",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `fd` was just returned by dup, is open and owned by nothing else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// The CLI's console: everything on stderr (stdout stays for results and `--json`); waits for
/// Enter only when stdin is a terminal and `--yes` was not given, so scripts and pipes run
/// straight through. Text is escaped line by line ([`escape_lines`]): names and locations from
/// the ledger never reach the terminal raw.
#[derive(Debug)]
pub struct StderrConsole {
    wait: bool,
    pins: PinSource,
}

impl StderrConsole {
    /// A console that waits at steps when stdin is a terminal, and prompts for PINs.
    pub fn new() -> Self {
        Self::with_pins(PinSource::new(PinKind::Prompt), false)
    }

    /// A console that answers every PIN question from the environment variable `var`
    /// (`--pin-env VAR`: scripts and the demo), instead of prompting.
    pub fn with_pin_env(var: Option<String>) -> Self {
        Self::with_pins(
            PinSource::new(var.map_or(PinKind::Prompt, PinKind::Env)),
            false,
        )
    }

    /// A console taking PINs from `pins`; with `yes`, steps are shown and never waited for.
    pub fn with_pins(pins: PinSource, yes: bool) -> Self {
        // Stdin answering PINs cannot also answer "Enter to continue".
        let stdin_free = !matches!(pins.kind(), PinKind::Stdin);
        StderrConsole {
            wait: !yes && stdin_free && std::io::stdin().is_terminal(),
            pins,
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
        eprint!("{text} [Enter to continue, or run with --yes] ");
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
        let what = format!("PIN of {who}'s key");
        let label = format!("PIN of {}'s key: ", crate::text::escape(who));
        self.pins.get(&what, &label).map_err(FlowError::Console)
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
