//! The one place errors become exit statuses: 0 ok, 1 the check ran and found something, 2 the
//! command could not run. Documented in README.md ("Exit status") and `rootkey man`.

use crate::custody::flows::FlowError;

/// The exit statuses, as README.md and the man page list them (a test keeps them equal).
pub const EXIT_STATUS: &[(u8, &str)] = &[
    (
        0,
        "Success: the command did what was asked; a check found nothing.",
    ),
    (
        1,
        "The check ran and found something: audit findings or FAIL, posture findings, a ledger \
         that does not verify, attestation refused, a refused possession proof (the key in hand \
         is not the key named), an enrollment AWS does not (yet) confirm.",
    ),
    (
        2,
        "Could not run: bad usage, a missing or unreadable file, a refused request (nothing \
         recorded), a key or AWS that could not be asked.",
    ),
];

/// How an error ends the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// The exit status (1 or 2).
    pub status: u8,
    /// A stable machine-readable code for `--json` errors.
    pub code: &'static str,
    /// What to do next, when there is one thing to say.
    pub hint: Option<&'static str>,
}

const fn class(status: u8, code: &'static str, hint: Option<&'static str>) -> Class {
    Class { status, code, hint }
}

/// Classifies `e` (or the first cause that is a known error).
pub fn classify(e: &(dyn std::error::Error + 'static)) -> Class {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(f) = err.downcast_ref::<FlowError>() {
            return flow(f);
        }
        if err.downcast_ref::<crate::config::ConfigError>().is_some() {
            return class(
                2,
                "config",
                Some("check the file with `rootkey config show`"),
            );
        }
        if err.downcast_ref::<crate::device::DeviceError>().is_some() {
            // The device errors say what to do themselves.
            return class(2, "device", None);
        }
        cur = err.source();
    }
    class(2, "error", None)
}

fn flow(f: &FlowError) -> Class {
    match f {
        // The key answered, and it is not the key it was asked to be: a finding, not a failure.
        FlowError::Possession { .. } => class(
            1,
            "possession_refused",
            Some("ask the key which credential it holds: `rootkey keys identify`"),
        ),
        FlowError::Unconfirmed(_) => class(
            1,
            "not_registered",
            Some("register the key in the AWS console, then run `rootkey enroll confirm` again"),
        ),
        FlowError::Refused(_) | FlowError::Approvers(_) | FlowError::KnownKey { .. } => {
            class(2, "refused", None)
        }
        FlowError::Ineligible { .. } => class(2, "ineligible", Some("take another key")),
        FlowError::Device { .. } => class(2, "device", None),
        FlowError::Ledger(_) | FlowError::Station(_) => class(
            2,
            "ledger",
            Some("check the ledger with `rootkey ledger verify`"),
        ),
        FlowError::Usage(_) => class(2, "usage", None),
        FlowError::Console(_) => class(2, "console", None),
        FlowError::Aws(_) => class(2, "aws", None),
        _ => class(2, "error", None),
    }
}

/// The message and its causes on one line (`--json` errors), escaped like terminal output.
pub fn message_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        // Many messages already end with their cause's text: say it once.
        let text = cause.to_string();
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    crate::text::escape(&parts.join(": ")).to_string()
}
