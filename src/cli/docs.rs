//! `rootkey completions SHELL` and `rootkey man`: generated from the same clap definitions that
//! parse the arguments, so they cannot drift from the real flags.

use std::io::Write;

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
    let mut out = Vec::new();
    render_man(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(Outcome::Ok)
}

/// The whole page: clap_mangen's header and options, then one COMMANDS section for every
/// subcommand (there are no per-command pages to refer to), then the sections a man page is
/// expected to have.
pub fn render_man(w: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    writeln!(w, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands() {
        commands(w, "rootkey", sub)?;
    }
    exit_status(w)?;
    environment(w, &cmd)?;
    writeln!(w, "{}", FILES_AND_EXAMPLES.trim())?;
    man.render_version_section(w)
}

fn commands(w: &mut dyn Write, parent: &str, cmd: &clap::Command) -> std::io::Result<()> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let name = format!("{parent} {}", cmd.get_name());
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    writeln!(w, ".TP\n\\fB{}\\fR\n{}", roff(&name), roff(&about))?;
    for sub in cmd.get_subcommands() {
        commands(w, &name, sub)?;
    }
    Ok(())
}

fn exit_status(w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in super::exit::EXIT_STATUS {
        writeln!(w, ".TP\n\\fB{code}\\fR\n{}", roff(meaning))?;
    }
    Ok(())
}

/// Every environment variable a flag reads (from the parser itself), then the ones rootkey
/// reads without a flag.
fn environment(w: &mut dyn Write, cmd: &clap::Command) -> std::io::Result<()> {
    writeln!(w, ".SH ENVIRONMENT")?;
    let mut seen = std::collections::BTreeMap::new();
    collect_env(cmd, &mut seen);
    for (var, flag) in &seen {
        writeln!(
            w,
            ".TP\n\\fB{}\\fR\nThe default of \\fB\\-\\-{}\\fR.",
            roff(var),
            roff(flag)
        )?;
    }
    for (var, what) in OTHER_ENV {
        writeln!(w, ".TP\n\\fB{}\\fR\n{}", roff(var), roff(what))?;
    }
    Ok(())
}

fn collect_env(cmd: &clap::Command, seen: &mut std::collections::BTreeMap<String, String>) {
    for arg in cmd.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            seen.insert(env.to_string_lossy().into_owned(), long.to_string());
        }
    }
    for sub in cmd.get_subcommands() {
        collect_env(sub, seen);
    }
}

/// Variables rootkey reads that no flag names.
const OTHER_ENV: &[(&str, &str)] = &[
    (
        "XDG_DATA_HOME",
        "Where the default ledger lives: $XDG_DATA_HOME/rootkey/ledger.db (~/.local/share).",
    ),
    (
        "XDG_CONFIG_HOME",
        "Where the default configuration lives: $XDG_CONFIG_HOME/rootkey/config.toml (~/.config).",
    ),
    (
        "AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, ...",
        "The AWS SDK's own settings, when --profile and --region are not given.",
    ),
    (
        "NO_COLOR",
        "Tables and messages are plain text; rootkey never colours its output.",
    ),
];

const FILES_AND_EXAMPLES: &str = r#"
.SH FILES
.TP
\fB$XDG_CONFIG_HOME/rootkey/config.toml\fR
The configuration (TOML): \fBrootkey config init\fR writes a commented template, \fBrootkey config show\fR prints what is in effect and where each value came from.
.TP
\fB$XDG_DATA_HOME/rootkey/ledger.db\fR
The custody ledger (SQLite), unless \-\-ledger or ROOTKEY_LEDGER names another.
.TP
\fBsoft:FILE\fR
A software authenticator's state (tests and the demo only): created by \fBrootkey keys soft\-init FILE\fR; its CA sits next to it.
.SH EXAMPLES
.TP
Create a ledger and bootstrap the first two custodians:
.nf
rootkey ledger init \-\-origin example.com/custody
rootkey custodian bootstrap \-\-first alice \-\-first\-name "Alice Martin" \e
    \-\-second bob \-\-second\-name "Bob Okafor"
.fi
.TP
Read the root posture of the caller's account as JSON:
.nf
rootkey \-\-json aws posture
.fi
.TP
Quarterly audit as an HTML report, exit 1 on findings:
.nf
rootkey audit \-\-format html \-\-out report.html
.fi
.TP
Script a PIN change (current PIN, then new PIN) from a file descriptor:
.nf
rootkey keys set\-pin \-\-pin\-fd 3 3< pins.txt
.fi
"#;

/// Escapes text for roff: backslashes, hyphens (so they stay ASCII in copy and paste), and a
/// leading dot or quote that would start a request.
fn roff(text: &str) -> String {
    let mut s = text.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s.replace("\n.", "\n\\&.").replace("\n'", "\n\\&'")
}
