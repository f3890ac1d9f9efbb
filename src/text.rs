//! TEMPORARY STUB (replaced by the hygiene branch): user-text checks and comparison keys.

use std::borrow::Cow;

/// What kind of user text a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Id,
    Name,
    Location,
    Serial,
    Ticket,
    Reason,
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    #[error("{0}")]
    Bad(String),
}

/// Checks one user-supplied value.
pub fn check(field: &str, kind: TextKind, value: &str) -> Result<(), TextError> {
    if value.trim().is_empty() {
        return Err(TextError::Bad(format!("{field} must not be empty")));
    }
    if let Some(c) = value.chars().find(|c| {
        c.is_control()
            || ('\u{200b}'..='\u{200f}').contains(c)
            || ('\u{202a}'..='\u{202e}').contains(c)
            || ('\u{2066}'..='\u{2069}').contains(c)
    }) {
        return Err(TextError::Bad(format!(
            "{field} contains U+{:04X}",
            c as u32
        )));
    }
    if kind == TextKind::Id
        && !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(TextError::Bad(format!(
            "{field}: ids are letters, digits, . _ -"
        )));
    }
    Ok(())
}

/// Comparison key of a bag serial.
pub fn serial_key(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Comparison key of a location.
pub fn location_key(value: &str) -> String {
    value
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Comparison key of an id.
pub fn id_key(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// Comparison key of a display name.
pub fn name_key(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `value` made safe for a terminal.
pub fn escape(value: &str) -> Cow<'_, str> {
    if value.chars().any(|c| c.is_control()) {
        Cow::Owned(
            value
                .chars()
                .map(|c| {
                    if c.is_control() {
                        format!("\\u{{{:04x}}}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    }
}
