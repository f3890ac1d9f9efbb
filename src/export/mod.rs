//! Findings where security teams read them: AWS Security Hub (ASFF), SIEMs (OCSF Compliance
//! Finding, class 2003) and spreadsheets (CSV), from one [`Record`] view.
//!
//! The view is small on purpose: [`adapt`] builds it from the AWS posture report and the audit
//! report, so a richer finding model needs to change one adapter, not three writers.
//!
//! - Identity: one record per account, check and resource (`Id`), the same whether the check
//!   failed or passed, so a later PASSED import closes the finding in Security Hub.
//! - Times: `first_seen` comes from the evidence (a credential's creation or upload date, an
//!   MFA device's enable date, the read time) or the ledger (the first recorded audit that saw
//!   the finding), never from the clock, so it is stable across runs; only `UpdatedAt` is now.

pub mod adapt;
pub mod asff;
pub mod csv;
pub mod ocsf;

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::findings::Severity;

/// Whether the check failed or passed for the resource. Ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The check failed.
    Failed,
    /// Nothing failed, but a person should look: an informational finding such as a root
    /// sign-in inside an approved checkout window (ASFF `WARNING`, as Prowler exports its
    /// manual checks; OCSF compliance status Warning).
    Warning,
    /// The check passed (exported so Security Hub can close an earlier failure).
    Passed,
}

impl Status {
    /// `FAILED` / `PASSED` (ASFF's `Compliance.Status` values).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Failed => "FAILED",
            Status::Warning => "WARNING",
            Status::Passed => "PASSED",
        }
    }
}

/// What a record is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Resource {
    /// The account as a whole.
    Account,
    /// The account's root user.
    RootUser,
    /// Something else the custody ledger knows (a key id, a checkout), named by `subject`.
    Custody,
}

/// One exported finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The finding's stable instance id ([`crate::findings::instance_id`]).
    pub id: String,
    /// The check (`ROOT-ACCESS-KEY`, `KEY-POSSESSION-STALE`, ...): `GeneratorId`.
    pub check: String,
    /// Failed or passed.
    pub status: Status,
    /// Severity (of the check, for a passed record).
    pub severity: Severity,
    /// The AWS account it concerns.
    pub account_id: String,
    /// What it is about.
    pub resource: Resource,
    /// Distinguishes two records of the same check and resource (empty for per-account checks).
    pub subject: String,
    /// One sentence.
    pub title: String,
    /// The facts.
    pub description: String,
    /// Controls, as `framework version/id`.
    pub controls: Vec<String>,
    /// The frameworks of those controls.
    pub standards: Vec<String>,
    /// When it was first seen (stable across runs).
    pub first_seen: OffsetDateTime,
}

impl Record {
    /// The stable id: account, check and the finding's instance id (which covers the resource).
    pub fn id(&self) -> String {
        format!("rootkey/{}/{}/{}", self.account_id, self.check, self.id)
    }
}

/// Where and when the export is made.
#[derive(Debug, Clone)]
pub struct Context {
    /// Region of the Security Hub product ARN.
    pub region: String,
    /// Partition (`aws`, `aws-us-gov`, `aws-cn`).
    pub partition: String,
    /// This run (`UpdatedAt`, OCSF `time`).
    pub now: OffsetDateTime,
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// AWS Security Finding Format, a JSON array as `BatchImportFindings` takes it.
    Asff,
    /// OCSF Compliance Finding (class 2003), one JSON object per line.
    Ocsf,
    /// One row per finding.
    Csv,
}

/// One `--export FORMAT:FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The format.
    pub format: Format,
    /// The file.
    pub path: PathBuf,
}

/// Parses `asff:FILE`, `ocsf:FILE` or `csv:FILE`.
pub fn parse_spec(s: &str) -> Result<Spec, String> {
    let (f, path) = s.split_once(':').ok_or_else(|| {
        format!(
            "`{}` is not FORMAT:FILE (e.g. asff:findings.json)",
            crate::text::escape(s)
        )
    })?;
    let format = match f {
        "asff" => Format::Asff,
        "ocsf" => Format::Ocsf,
        "csv" => Format::Csv,
        _ => {
            return Err(format!(
                "`{}` is not an export format: use asff, ocsf or csv",
                crate::text::escape(f)
            ))
        }
    };
    if path.is_empty() {
        return Err("the file after FORMAT: is empty".into());
    }
    Ok(Spec {
        format,
        path: PathBuf::from(path),
    })
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A record could not be encoded.
    #[error("cannot encode the {format} export: {detail}")]
    Encode {
        /// The format.
        format: &'static str,
        /// Why.
        detail: String,
    },
    /// The file could not be written.
    #[error("cannot write the export {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The bytes of one export.
pub fn render(format: Format, records: &[Record], ctx: &Context) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Asff => asff::render(records, ctx),
        Format::Ocsf => ocsf::render(records, ctx),
        Format::Csv => csv::render(records),
    }
}

/// Writes every requested export atomically.
pub fn write_all(specs: &[Spec], records: &[Record], ctx: &Context) -> Result<(), ExportError> {
    for s in specs {
        let bytes = render(s.format, records, ctx)?;
        write(&s.path, &bytes)?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Records with the same id become one: the most severe, the earliest first seen, the
/// descriptions joined (two access keys on one root are one failed check of that root).
pub fn merge(records: Vec<Record>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for r in records {
        match out.iter_mut().find(|o| o.id() == r.id()) {
            Some(o) => {
                o.severity = o.severity.max(r.severity);
                o.first_seen = o.first_seen.min(r.first_seen);
                // One failure fails the check.
                o.status = o.status.min(r.status);
                if !o.description.contains(&r.description) {
                    o.description = format!("{}; {}", o.description, r.description);
                }
            }
            None => out.push(r),
        }
    }
    out
}

/// The first `max` characters of `s` (ASFF and OCSF limit some strings).
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// RFC 3339 in UTC with milliseconds, as ASFF examples write it.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
