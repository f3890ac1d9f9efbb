//! CSV: one row per finding, the columns a person filters on.

use super::{rfc3339, ExportError, Record};

/// The header row.
pub const COLUMNS: [&str; 10] = [
    "account_id",
    "check",
    "status",
    "severity",
    "resource",
    "title",
    "first_seen",
    "controls",
    "description",
    "id",
];

/// The CSV export.
pub fn render(records: &[Record]) -> Result<Vec<u8>, ExportError> {
    let err = |e: &dyn std::fmt::Display| ExportError::Encode {
        format: "csv",
        detail: e.to_string(),
    };
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| err(&e))?;
    for r in records {
        let resource = match r.resource {
            super::Resource::Account => format!("account {}", r.account_id),
            super::Resource::RootUser => format!("root of {}", r.account_id),
            super::Resource::Custody => r.subject.clone(),
        };
        // A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
        let cell = |s: &str| {
            if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s.to_string()
            }
        };
        w.write_record([
            r.account_id.clone(),
            r.check.clone(),
            r.status.as_str().to_string(),
            r.severity.as_str().to_string(),
            cell(&resource),
            cell(&r.title),
            rfc3339(r.first_seen),
            r.controls.join("; "),
            cell(&r.description),
            r.id(),
        ])
        .map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}
