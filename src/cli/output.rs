//! Output helpers shared by every command: JSON on stdout, tables for people.

use std::io::{IsTerminal, Write};

use serde::Serialize;

/// Writes `value` as pretty JSON and a newline on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), super::CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A table for people, in one house style: drawn and wrapped to the terminal's width when
/// stdout is a terminal; plain columns (no box drawing, no colour, one line per row) when it is
/// a pipe or a file, for grep and awk.
pub struct Table(comfy_table::Table);

impl Table {
    /// A table with the given header row.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<comfy_table::Cell>,
    {
        Self::styled(header, std::io::stdout().is_terminal())
    }

    /// A table drawn for a terminal (`terminal`) or plain.
    pub fn styled<I, S>(header: I, terminal: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<comfy_table::Cell>,
    {
        let mut t = comfy_table::Table::new();
        if terminal {
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        } else {
            t.load_preset(comfy_table::presets::NOTHING)
                .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        }
        t.set_header(header);
        Table(t)
    }

    /// Adds one row. Every cell is escaped for the terminal ([`crate::text::escape_lines`]):
    /// cells hold ledger and AWS text, which must never reach the terminal raw. Line breaks stay
    /// (a multi-line cell is drawn inside its borders); every other control, format or bidi
    /// character is shown as `\u{XXXX}`.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<comfy_table::Cell>,
    {
        self.0.add_row(cells.into_iter().map(|c| {
            let content = c.into().content();
            comfy_table::Cell::new(crate::text::escape_lines(&content))
        }));
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
