//! User-text hygiene, in one place: what a typed value may contain ([`check`]), how two values
//! are compared ([`serial_key`], [`location_key`], [`id_key`], [`name_key`]) and how any text is
//! made safe for a terminal ([`escape`]). Pure: no I/O.
//!
//! Character classes come from the Unicode tables of `unicode-properties` (general category)
//! and `unicode-normalization` (NFKC), not from hand-written lists; the only hand-written list
//! is `INVISIBLE_LETTERS`, a few characters that Unicode files as letters or symbols but that
//! draw nothing.

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// What kind of user text a value is; decides which characters and lengths are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// An identifier typed on command lines (`--custodians alice,bob`): ASCII `[A-Za-z0-9._-]`.
    Id,
    /// A person's display name: any printable text.
    Name,
    /// A storage location: any printable text.
    Location,
    /// A tamper-evident bag serial: ASCII letters, digits, `-`, `.`, `/` and spaces after NFKC.
    Serial,
    /// A ticket reference: any printable text.
    Ticket,
    /// A free-text reason: any printable text.
    Reason,
}

impl TextKind {
    /// The longest value accepted, in characters.
    pub const fn max_chars(self) -> usize {
        match self {
            TextKind::Id => 64,
            TextKind::Name => 100,
            TextKind::Location => 200,
            TextKind::Serial => 64,
            TextKind::Ticket => 100,
            TextKind::Reason => 1000,
        }
    }

    /// The kind's name in messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            TextKind::Id => "an id",
            TextKind::Name => "a name",
            TextKind::Location => "a location",
            TextKind::Serial => "a bag serial",
            TextKind::Ticket => "a ticket",
            TextKind::Reason => "a reason",
        }
    }

    /// What to type instead, for the kinds with a restricted alphabet.
    const fn hint(self) -> &'static str {
        match self {
            TextKind::Id => {
                "ids use only ASCII letters, digits, `.`, `_` and `-`, and start with a letter or \
                 digit (e.g. `alice`, `j.doe-2`)"
            }
            TextKind::Serial => {
                "type the serial printed on the bag with ASCII letters, digits, `-`, `.`, `/` and \
                 spaces (a letter from another script that looks like a Latin one is refused)"
            }
            _ => "type it without",
        }
    }
}

impl fmt::Display for TextKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A character shown in a message: escaped if invisible, always with its code point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownChar(pub char);

impl fmt::Display for ShownChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 4];
        let s = self.0.encode_utf8(&mut buf);
        if needs_escape(self.0) {
            write!(f, "U+{:04X}", u32::from(self.0))
        } else {
            write!(f, "`{}` (U+{:04X})", escape(s), u32::from(self.0))
        }
    }
}

/// Why a value was refused; Display says which field, what is wrong, what to type instead
/// (never echoing the raw value: at most the offending character, escaped, with its code point).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("{field} is empty: type {kind}")]
    Empty {
        /// The field, as the user knows it (`--bag-primary`, `location`).
        field: String,
        /// What was expected.
        kind: TextKind,
    },
    /// Longer than the kind allows.
    #[error("{field} is {len} characters long; {kind} takes at most {max}: shorten it")]
    TooLong {
        /// The field.
        field: String,
        /// What was expected.
        kind: TextKind,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character that is invisible or changes how a terminal shows text.
    #[error(
        "{field} contains {shown} ({class}), which could disguise text on a terminal: type it \
         without"
    )]
    Invisible {
        /// The field.
        field: String,
        /// The offending character.
        shown: ShownChar,
        /// What kind of character it is (`a bidi control`, `a control character`).
        class: &'static str,
    },
    /// A visible character outside the kind's alphabet (ids and serials).
    #[error("{field} contains {shown}, which {kind} may not contain: {hint}", hint = .kind.hint())]
    NotAllowed {
        /// The field.
        field: String,
        /// What was expected.
        kind: TextKind,
        /// The offending character.
        shown: ShownChar,
    },
    /// An id that starts with punctuation.
    #[error("{field} starts with {shown}: {hint}", hint = TextKind::Id.hint())]
    BadStart {
        /// The field.
        field: String,
        /// The first character.
        shown: ShownChar,
    },
    /// A serial of only separators.
    #[error("{field} has no letter or digit: type the serial printed on the bag")]
    NoAlphanumeric {
        /// The field.
        field: String,
    },
}

/// Characters Unicode files as letters, symbols or marks that nevertheless draw nothing (all are
/// Default_Ignorable_Code_Point or blank fillers), so they could make two values look alike.
const INVISIBLE_LETTERS: &[char] = &[
    '\u{034F}', // COMBINING GRAPHEME JOINER (Mn)
    '\u{115F}', // HANGUL CHOSEONG FILLER (Lo)
    '\u{1160}', // HANGUL JUNGSEONG FILLER (Lo)
    '\u{17B4}', // KHMER VOWEL INHERENT AQ (Mn)
    '\u{17B5}', // KHMER VOWEL INHERENT AA (Mn)
    '\u{2800}', // BRAILLE PATTERN BLANK (So)
    '\u{3164}', // HANGUL FILLER (Lo)
    '\u{FFA0}', // HALFWIDTH HANGUL FILLER (Lo)
];

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The class of an invisible or terminal-unsafe character, `None` for a visible one.
fn invisible_class(c: char) -> Option<&'static str> {
    if is_bidi_control(c) {
        return Some("a bidi control");
    }
    match c.general_category() {
        GeneralCategory::Control => Some("a control character"),
        GeneralCategory::Format => Some("an invisible format character"),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            Some("a line or paragraph separator")
        }
        GeneralCategory::PrivateUse => Some("a private-use character"),
        GeneralCategory::Unassigned => Some("an unassigned code point"),
        GeneralCategory::Surrogate => Some("a surrogate"),
        _ if INVISIBLE_LETTERS.contains(&c) => Some("an invisible character"),
        _ => None,
    }
}

fn needs_escape(c: char) -> bool {
    invisible_class(c).is_some()
}

/// Every Unicode dash, hyphen and minus sign, as `-` (after NFKC).
fn unify_dash(c: char) -> char {
    if c.general_category() == GeneralCategory::DashPunctuation
        || matches!(
            c,
            '\u{2212}' // MINUS SIGN
                | '\u{2796}' // HEAVY MINUS SIGN
                | '\u{02D7}' // MODIFIER LETTER MINUS SIGN
                | '\u{2043}' // HYPHEN BULLET
                | '\u{2E3A}'..='\u{2E3B}' // TWO- AND THREE-EM DASH
        )
    {
        '-'
    } else {
        c
    }
}

/// Checks one user-supplied value for `field` (e.g. "--bag-primary", "location", "name").
pub fn check(field: &str, kind: TextKind, value: &str) -> Result<(), TextError> {
    let field = || field.to_string();
    if value.trim().is_empty() {
        return Err(TextError::Empty {
            field: field(),
            kind,
        });
    }
    if let Some((c, class)) = value
        .chars()
        .find_map(|c| invisible_class(c).map(|class| (c, class)))
    {
        return Err(TextError::Invisible {
            field: field(),
            shown: ShownChar(c),
            class,
        });
    }
    let len = value.chars().count();
    if len > kind.max_chars() {
        return Err(TextError::TooLong {
            field: field(),
            kind,
            len,
            max: kind.max_chars(),
        });
    }
    match kind {
        TextKind::Id => {
            if let Some(c) = value
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            {
                return Err(TextError::NotAllowed {
                    field: field(),
                    kind,
                    shown: ShownChar(c),
                });
            }
            match value.chars().next() {
                Some(c) if !c.is_ascii_alphanumeric() => Err(TextError::BadStart {
                    field: field(),
                    shown: ShownChar(c),
                }),
                _ => Ok(()),
            }
        }
        TextKind::Serial => {
            let normal: String = value.nfkc().map(unify_dash).collect();
            if let Some(c) = normal
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | ' ')))
            {
                return Err(TextError::NotAllowed {
                    field: field(),
                    kind,
                    shown: ShownChar(c),
                });
            }
            if !normal.chars().any(|c| c.is_ascii_alphanumeric()) {
                return Err(TextError::NoAlphanumeric { field: field() });
            }
            Ok(())
        }
        TextKind::Name | TextKind::Location | TextKind::Ticket | TextKind::Reason => Ok(()),
    }
}

/// The comparison key of a bag serial: NFKC, every Unicode dash/hyphen/minus unified, invisible
/// and separator characters (spaces, dashes, dots, slashes, zero-width) dropped, ASCII uppercase.
/// `TB-100231`, `tb 100231`, `TB‐100231` (U+2010), `ＴＢ－１００２３１` and `TB-100231\u{200B}` all give `TB100231`.
pub fn serial_key(value: &str) -> String {
    value
        .nfkc()
        .map(unify_dash)
        .filter(|&c| {
            !(needs_escape(c)
                || c.is_whitespace()
                || c.general_category() == GeneralCategory::SpaceSeparator
                || matches!(c, '-' | '.' | '/'))
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The comparison key of a location: NFKC, lowercase, runs of non-alphanumerics collapsed to
/// one space, trimmed (`Safe A, Dublin` == `safe a  dublin`).
pub fn location_key(value: &str) -> String {
    let lower: String = value.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(lower.len());
    let mut gap = false;
    for c in lower.chars() {
        // Combining marks belong to the letter before them (Devanagari vowel signs, accents).
        if c.is_alphanumeric() || c.general_category_group() == GeneralCategoryGroup::Mark {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// The comparison key of an id: ASCII lowercase (ids are ASCII, see [`check`]).
pub fn id_key(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// The comparison key of a person's display name: NFKC, lowercase, whitespace collapsed.
pub fn name_key(value: &str) -> String {
    let lower: String = value.nfkc().flat_map(char::to_lowercase).collect();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `value` made safe for a terminal: every control (Cc), format (Cf, incl. bidi controls
/// U+202A–202E, U+2066–2069, U+200E/F, U+061C, zero-width chars), line/paragraph separator
/// (Zl/Zp), private-use or unassigned code point and other invisible character replaced by a
/// visible `\u{XXXX}` escape; newline and tab too. Borrowed when nothing needed escaping.
pub fn escape(value: &str) -> Cow<'_, str> {
    let Some(first) = value.find(needs_escape) else {
        return Cow::Borrowed(value);
    };
    let mut out = String::with_capacity(value.len() + 16);
    out.push_str(&value[..first]);
    for c in value[first..].chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] applied to each line of `value` separately: the line breaks (`\n`) stay, so a
/// multi-line message still reads as lines, but nothing else invisible reaches the terminal.
pub fn escape_lines(value: &str) -> Cow<'_, str> {
    if !value.contains(|c: char| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(value.split('\n').map(escape).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TextKind; 6] = [
        TextKind::Id,
        TextKind::Name,
        TextKind::Location,
        TextKind::Serial,
        TextKind::Ticket,
        TextKind::Reason,
    ];

    /// Attacks every kind refuses, with the code point the message must name.
    const ATTACKS: [(&str, &str); 8] = [
        ("a\x1b[2Jb", "U+001B"),
        ("alice\nrootkey> approved", "U+000A"),
        ("abc\u{202E}fed", "U+202E"),
        ("ab\u{200B}c", "U+200B"),
        ("ab\u{2066}c", "U+2066"),
        ("ab\u{2028}c", "U+2028"),
        ("ab\u{E000}c", "U+E000"),
        ("ab\u{3164}c", "U+3164"),
    ];

    #[test]
    fn every_kind_refuses_invisible_and_terminal_characters() {
        for kind in ALL {
            for (value, cp) in ATTACKS {
                let e = check("--field", kind, value).unwrap_err();
                let msg = e.to_string();
                assert!(msg.contains(cp), "{kind:?} {value:?}: {msg}");
                assert!(msg.starts_with("--field "), "{msg}");
                assert!(!msg.contains(value), "raw value echoed: {msg}");
                assert!(!msg.chars().any(needs_escape), "raw character in {msg:?}");
            }
        }
        let e = check("name", TextKind::Name, "Eve\u{202E}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "name contains U+202E (a bidi control), which could disguise text on a terminal: \
             type it without"
        );
    }

    #[test]
    fn every_kind_refuses_empty_and_whitespace_only() {
        for kind in ALL {
            for v in ["", " ", "\t", " \u{3000} "] {
                let e = check("x", kind, v).unwrap_err();
                assert!(
                    matches!(e, TextError::Empty { .. } | TextError::Invisible { .. }),
                    "{kind:?} {v:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn lengths_are_limited_in_characters() {
        let id64 = "a".repeat(64);
        assert!(check("--id", TextKind::Id, &id64).is_ok());
        let e = check("--id", TextKind::Id, &"a".repeat(65)).unwrap_err();
        assert!(
            matches!(
                e,
                TextError::TooLong {
                    len: 65,
                    max: 64,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("at most 64"));
        // Characters, not bytes: 100 two-byte letters are a valid name.
        assert!(check("name", TextKind::Name, &"é".repeat(100)).is_ok());
        assert!(check("name", TextKind::Name, &"é".repeat(101)).is_err());
        assert!(check("loc", TextKind::Location, &"x".repeat(200)).is_ok());
        assert!(check("loc", TextKind::Location, &"x".repeat(201)).is_err());
        assert!(check("s", TextKind::Serial, &"1".repeat(65)).is_err());
        assert!(check("t", TextKind::Ticket, &"1".repeat(101)).is_err());
        assert!(check("r", TextKind::Reason, &"r".repeat(1000)).is_ok());
        assert!(check("r", TextKind::Reason, &"r".repeat(1001)).is_err());
    }

    #[test]
    fn ids_are_ascii_and_start_with_a_letter_or_digit() {
        for good in ["alice", "Bob", "j.doe-2", "ops_1", "7of9"] {
            assert!(check("--custodians", TextKind::Id, good).is_ok(), "{good}");
        }
        for bad in [
            "al ice",
            "alice,bob",
            "élise",
            "\u{0430}lice",   // Cyrillic а
            "alice\u{2010}2", // hyphen look-alike
            "ａｌｉｃｅ",     // fullwidth
            "alice/..",
            "al:ice",
        ] {
            let e = check("--custodians", TextKind::Id, bad).unwrap_err();
            assert!(matches!(e, TextError::NotAllowed { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("ASCII letters"), "{e}");
        }
        for bad in ["-alice", ".hidden", "_x"] {
            let e = check("--custodians", TextKind::Id, bad).unwrap_err();
            assert!(matches!(e, TextError::BadStart { .. }), "{bad}: {e}");
        }
        assert_eq!(id_key("Alice"), id_key("aLICE"));
    }

    #[test]
    fn serials_are_ascii_after_normalisation() {
        for good in [
            "TB-100231",
            "tb 100231",
            "TB\u{2010}100231",
            "ＴＢ－１００２３１",
            "A/12.7",
            "TB\u{2212}100231",
        ] {
            assert!(
                check("--bag-primary", TextKind::Serial, good).is_ok(),
                "{good}"
            );
        }
        // Cyrillic А (U+0410) looks like Latin A.
        let e = check("--bag-primary", TextKind::Serial, "\u{0410}B-100231").unwrap_err();
        assert!(matches!(e, TextError::NotAllowed { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("U+0410") && msg.contains("another script"),
            "{msg}"
        );
        for bad in ["TB_100231", "TB#1", "TB-1\u{200B}", "TB 1é"] {
            assert!(check("s", TextKind::Serial, bad).is_err(), "{bad}");
        }
        let e = check("s", TextKind::Serial, "- / .").unwrap_err();
        assert!(matches!(e, TextError::NoAlphanumeric { .. }), "{e}");
    }

    #[test]
    fn free_text_takes_every_script() {
        for good in [
            "Siobhán Ní Bhriain",
            "Łukasz Żółć",
            "Иван Петров",
            "李小龍",
            "محمد",
            "देवनागरी",
            "Safe A, Dublin (2nd floor) — shelf #3",
            "INC-4711: root login needed ✓",
        ] {
            for kind in [
                TextKind::Name,
                TextKind::Location,
                TextKind::Ticket,
                TextKind::Reason,
            ] {
                assert!(check("f", kind, good).is_ok(), "{kind:?} {good}");
            }
        }
    }

    #[test]
    fn serial_keys_unify_look_alikes() {
        for v in [
            "TB-100231",
            "tb 100231",
            "TB\u{2010}100231",
            "ＴＢ－１００２３１",
            "TB-100231\u{200B}",
            "TB.100/231",
            "TB\u{2212}100231",
            "TB\u{00AD}100231",
        ] {
            assert_eq!(serial_key(v), "TB100231", "{v:?}");
        }
        // A Cyrillic look-alike does not collapse onto the Latin serial (check refuses it).
        assert_ne!(serial_key("\u{0422}B-100231"), "TB100231");
    }

    #[test]
    fn location_and_name_keys() {
        assert_eq!(
            location_key("Safe A, Dublin"),
            location_key("safe a  dublin")
        );
        assert_eq!(location_key("  Safe A, Dublin. "), "safe a dublin");
        assert_eq!(location_key("ＳＡＦＥ Ａ"), "safe a");
        assert_eq!(location_key("Café–Bar"), location_key("café bar"));
        assert_ne!(location_key("Safe A"), location_key("Safe B"));
        assert_eq!(name_key("  Alice   Smith "), name_key("alice smith"));
        assert_eq!(name_key("ＡＬＩＣＥ"), "alice");
    }

    #[test]
    fn escape_makes_every_invisible_class_visible() {
        assert!(matches!(escape("plain text, é 李 ✓"), Cow::Borrowed(_)));
        for (raw, want) in [
            ("a\x1b[31mb", "a\\u{001B}[31mb"),
            ("a\nb\tc\r", "a\\u{000A}b\\u{0009}c\\u{000D}"),
            ("\u{7F}\u{85}", "\\u{007F}\\u{0085}"),
            ("x\u{202E}y\u{202A}", "x\\u{202E}y\\u{202A}"),
            ("\u{2066}\u{2069}", "\\u{2066}\\u{2069}"),
            ("\u{200E}\u{200F}\u{061C}", "\\u{200E}\\u{200F}\\u{061C}"),
            (
                "z\u{200B}w\u{200D}\u{FEFF}",
                "z\\u{200B}w\\u{200D}\\u{FEFF}",
            ),
            ("\u{2028}\u{2029}", "\\u{2028}\\u{2029}"),
            ("\u{E000}\u{10FFFD}", "\\u{E000}\\u{10FFFD}"),
            ("\u{3164}", "\\u{3164}"),
        ] {
            assert_eq!(escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn escape_lines_keeps_line_breaks_only() {
        assert!(matches!(escape_lines("one\ntwo"), Cow::Borrowed(_)));
        assert_eq!(
            escape_lines("one\x1b[2J\ntwo\u{202E}\r"),
            "one\\u{001B}[2J\ntwo\\u{202E}\\u{000D}"
        );
    }
}
