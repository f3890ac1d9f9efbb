//! The IAM credential report (CSV) and its `<root_account>` row.
//!
//! Columns are found by header name, not position, so a report with extra or reordered columns
//! still parses; a missing required column is an error that names it. Every documented value is
//! recognised: `true`, `false`, ISO-8601 times, `N/A`, `no_information`, `not_supported`.

use std::collections::HashMap;

use time::format_description::well_known::Iso8601;
use time::OffsetDateTime;

use super::model::{AccessKey, CredentialStatus, PasswordState, SigningCertificate};

/// The user name AWS gives the root row.
pub const ROOT_USER: &str = "<root_account>";

/// Columns rootkey reads; all are in the documented 22-column header.
const REQUIRED: &[&str] = &[
    "user",
    "arn",
    "password_enabled",
    "password_last_used",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// Why a credential report could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialReportError {
    /// The content is not UTF-8.
    #[error("credential report is not UTF-8 text")]
    NotUtf8,
    /// The content is empty.
    #[error("credential report is empty")]
    Empty,
    /// A column rootkey needs is missing from the header.
    #[error("credential report header lacks column `{0}`; AWS may have changed the format")]
    MissingColumn(String),
    /// A row has a different number of fields than the header.
    #[error("credential report line {line} has {found} fields, the header has {expected}")]
    RowWidth {
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A quoted field never ends.
    #[error("credential report line {0} has an unterminated quoted field")]
    Unterminated(usize),
    /// A value is not one AWS documents for its column.
    #[error("credential report column `{column}` has unexpected value `{value}`")]
    BadValue {
        /// The column.
        column: String,
        /// The value seen.
        value: String,
    },
}

/// One value of a credential report cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportValue {
    /// `true` / `false`.
    Bool(bool),
    /// An ISO-8601 time.
    Time(OffsetDateTime),
    /// `N/A`: does not apply (e.g. no such key).
    NotApplicable,
    /// `no_information`: AWS has no data (e.g. never used since tracking began).
    NoInformation,
    /// `not_supported`: the field does not apply to this user (documented for root's password).
    NotSupported,
    /// Free text (region or service names).
    Text(String),
}

impl ReportValue {
    /// Parses one cell the way AWS documents the values.
    pub fn parse(raw: &str) -> ReportValue {
        match raw {
            "true" => ReportValue::Bool(true),
            "false" => ReportValue::Bool(false),
            "N/A" => ReportValue::NotApplicable,
            "no_information" => ReportValue::NoInformation,
            "not_supported" => ReportValue::NotSupported,
            other => match OffsetDateTime::parse(other, &Iso8601::DEFAULT) {
                Ok(t) => ReportValue::Time(t),
                Err(_) => ReportValue::Text(other.to_string()),
            },
        }
    }

    fn time(&self) -> Option<OffsetDateTime> {
        match self {
            ReportValue::Time(t) => Some(*t),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            ReportValue::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A parsed credential report: the header and every row, keyed by column name.
#[derive(Debug, Clone)]
pub struct CredentialReport {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The `<root_account>` row, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRow {
    /// `arn` (`arn:aws:iam::<account>:root`).
    pub arn: String,
    /// `password_enabled`: `true` is present, `false` absent, `not_supported` unknown.
    pub password: PasswordState,
    /// `password_last_used`, when a time.
    pub password_last_used: Option<OffsetDateTime>,
    /// `mfa_active`.
    pub mfa_active: bool,
    /// Keys 1 and 2 that exist (`access_key_N_active` true or false; `N/A` rows are skipped
    /// because AWS writes `false` for a key slot that was never used).
    pub access_keys: Vec<AccessKey>,
    /// Certificates 1 and 2 that are active or inactive.
    pub signing_certificates: Vec<SigningCertificate>,
}

impl CredentialReport {
    /// Parses the CSV content of `GetCredentialReport`.
    pub fn parse(content: &[u8]) -> Result<Self, CredentialReportError> {
        let text = std::str::from_utf8(content).map_err(|_| CredentialReportError::NotUtf8)?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, head) = lines.next().ok_or(CredentialReportError::Empty)?;
        let header = split_csv(head, 1)?;
        for col in REQUIRED {
            if !header.iter().any(|h| h == col) {
                return Err(CredentialReportError::MissingColumn((*col).to_string()));
            }
        }
        let mut rows = Vec::new();
        for (i, line) in lines {
            let row = split_csv(line, i + 1)?;
            if row.len() != header.len() {
                return Err(CredentialReportError::RowWidth {
                    line: i + 1,
                    expected: header.len(),
                    found: row.len(),
                });
            }
            rows.push(row);
        }
        Ok(CredentialReport { header, rows })
    }

    /// The header's column names, in order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The number of user rows (root included).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the report has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `user` column of every row.
    pub fn users(&self) -> Vec<&str> {
        let idx = self.column("user");
        self.rows
            .iter()
            .filter_map(|r| idx.and_then(|i| r.get(i)).map(String::as_str))
            .collect()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The root row, interpreted; `Ok(None)` when the report has none (moto, for instance).
    pub fn root(&self) -> Result<Option<RootRow>, CredentialReportError> {
        let Some(user) = self.column("user") else {
            return Err(CredentialReportError::MissingColumn("user".into()));
        };
        let Some(row) = self.rows.iter().find(|r| r[user] == ROOT_USER) else {
            return Ok(None);
        };
        let cells: HashMap<&str, ReportValue> = self
            .header
            .iter()
            .zip(row)
            .map(|(h, v)| (h.as_str(), ReportValue::parse(v)))
            .collect();
        let get = |c: &str| cells.get(c).cloned().unwrap_or(ReportValue::NotApplicable);
        let bad = |c: &str, v: &ReportValue| CredentialReportError::BadValue {
            column: c.to_string(),
            value: format!("{v:?}"),
        };
        let password = match get("password_enabled") {
            ReportValue::Bool(true) => PasswordState::Present,
            ReportValue::Bool(false) => PasswordState::Absent,
            ReportValue::NotSupported | ReportValue::NoInformation | ReportValue::NotApplicable => {
                PasswordState::Unknown
            }
            v => return Err(bad("password_enabled", &v)),
        };
        let mfa_active = match get("mfa_active") {
            ReportValue::Bool(b) => b,
            v => return Err(bad("mfa_active", &v)),
        };
        let mut access_keys = Vec::new();
        for n in 1..=2 {
            let active_col = format!("access_key_{n}_active");
            let status = match get(&active_col) {
                ReportValue::Bool(true) => CredentialStatus::Active,
                // `false` is written both for an inactive key and for an empty slot; the
                // rotation time tells them apart (an empty slot has `N/A`).
                ReportValue::Bool(false) => CredentialStatus::Inactive,
                ReportValue::NotApplicable | ReportValue::NotSupported => continue,
                v => return Err(bad(&active_col, &v)),
            };
            let rotated = get(&format!("access_key_{n}_last_rotated")).time();
            if status == CredentialStatus::Inactive && rotated.is_none() {
                continue;
            }
            access_keys.push(AccessKey {
                id: None,
                slot: Some(n),
                status,
                created: rotated,
                last_used: get(&format!("access_key_{n}_last_used_date")).time(),
                last_used_service: get(&format!("access_key_{n}_last_used_service")).text(),
                last_used_region: get(&format!("access_key_{n}_last_used_region")).text(),
            });
        }
        let mut signing_certificates = Vec::new();
        for n in 1..=2 {
            let active_col = format!("cert_{n}_active");
            let status = match get(&active_col) {
                ReportValue::Bool(true) => CredentialStatus::Active,
                ReportValue::Bool(false) => CredentialStatus::Inactive,
                ReportValue::NotApplicable | ReportValue::NotSupported => continue,
                v => return Err(bad(&active_col, &v)),
            };
            let rotated = get(&format!("cert_{n}_last_rotated")).time();
            if status == CredentialStatus::Inactive && rotated.is_none() {
                continue;
            }
            signing_certificates.push(SigningCertificate {
                id: None,
                slot: Some(n),
                status,
                uploaded: rotated,
            });
        }
        Ok(Some(RootRow {
            arn: row[self.column("arn").unwrap_or(user)].clone(),
            password,
            password_last_used: get("password_last_used").time(),
            mfa_active,
            access_keys,
            signing_certificates,
        }))
    }
}

/// Splits one CSV line (RFC 4180 quoting; IAM user names may contain commas).
fn split_csv(line: &str, line_no: usize) -> Result<Vec<String>, CredentialReportError> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return Err(CredentialReportError::Unterminated(line_no));
    }
    out.push(field);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report(root: &str) -> CredentialReport {
        let text = format!(
            "{HEADER}\n{root}\n\"bob,the,builder\",arn:aws:iam::111122223333:user/bob,2024-01-01T00:00:00+00:00,true,no_information,2024-01-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        CredentialReport::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn every_documented_value_parses() {
        assert_eq!(ReportValue::parse("true"), ReportValue::Bool(true));
        assert_eq!(ReportValue::parse("false"), ReportValue::Bool(false));
        assert_eq!(ReportValue::parse("N/A"), ReportValue::NotApplicable);
        assert_eq!(
            ReportValue::parse("no_information"),
            ReportValue::NoInformation
        );
        assert_eq!(
            ReportValue::parse("not_supported"),
            ReportValue::NotSupported
        );
        assert!(matches!(
            ReportValue::parse("2024-05-01T12:34:56+00:00"),
            ReportValue::Time(_)
        ));
        assert!(matches!(
            ReportValue::parse("2024-05-01T12:34:56Z"),
            ReportValue::Time(_)
        ));
        assert_eq!(
            ReportValue::parse("us-east-1"),
            ReportValue::Text("us-east-1".into())
        );
    }

    #[test]
    fn two_unnamed_keys_and_certificates_are_told_apart_by_their_slot() {
        let r = report("<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-01-01T00:00:00+00:00,2024-10-02T08:00:00+00:00,us-east-1,s3,true,2024-02-01T00:00:00+00:00,2024-10-02T08:00:00+00:00,us-east-1,s3,true,2024-01-01T00:00:00+00:00,true,2024-01-02T00:00:00+00:00");
        let root = r.root().unwrap().unwrap();
        let keys: Vec<String> = root.access_keys.iter().map(AccessKey::name).collect();
        assert_eq!(keys, ["access_key_1", "access_key_2"]);
        let certs: Vec<String> = root
            .signing_certificates
            .iter()
            .map(SigningCertificate::name)
            .collect();
        assert_eq!(certs, ["cert_1", "cert_2"]);
    }

    #[test]
    fn locked_down_root_with_not_supported_password() {
        let r = report("<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2024-03-01T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A");
        assert_eq!(r.len(), 2);
        assert_eq!(r.users(), vec!["<root_account>", "bob,the,builder"]);
        let root = r.root().unwrap().unwrap();
        assert_eq!(root.arn, "arn:aws:iam::111122223333:root");
        assert_eq!(root.password, PasswordState::Unknown);
        assert!(root.password_last_used.is_some());
        assert!(root.mfa_active);
        assert!(root.access_keys.is_empty());
        assert!(root.signing_certificates.is_empty());
    }

    #[test]
    fn root_with_password_keys_and_certs() {
        let r = report("<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,true,no_information,N/A,N/A,false,true,2021-01-01T00:00:00+00:00,2024-04-01T00:00:00+00:00,us-east-1,s3,false,2022-01-01T00:00:00+00:00,N/A,N/A,N/A,true,2021-06-01T00:00:00+00:00,false,N/A");
        let root = r.root().unwrap().unwrap();
        assert_eq!(root.password, PasswordState::Present);
        assert_eq!(root.password_last_used, None);
        assert!(!root.mfa_active);
        assert_eq!(root.access_keys.len(), 2);
        assert_eq!(root.access_keys[0].status, CredentialStatus::Active);
        assert_eq!(root.access_keys[0].last_used_service.as_deref(), Some("s3"));
        assert_eq!(
            root.access_keys[0].last_used_region.as_deref(),
            Some("us-east-1")
        );
        assert_eq!(root.access_keys[1].status, CredentialStatus::Inactive);
        assert_eq!(root.access_keys[1].last_used, None);
        assert_eq!(root.signing_certificates.len(), 1);
        assert_eq!(
            root.signing_certificates[0].status,
            CredentialStatus::Active
        );
    }

    #[test]
    fn password_false_is_absent() {
        let r = report("<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A");
        let root = r.root().unwrap().unwrap();
        assert_eq!(root.password, PasswordState::Absent);
    }

    #[test]
    fn no_root_row_is_none_not_an_error() {
        let r = CredentialReport::parse(format!("{HEADER}\n").as_bytes()).unwrap();
        assert!(r.is_empty());
        assert_eq!(r.root().unwrap(), None);
    }

    #[test]
    fn malformed_reports_are_named_errors() {
        assert_eq!(
            CredentialReport::parse(b"").unwrap_err(),
            CredentialReportError::Empty
        );
        assert_eq!(
            CredentialReport::parse(&[0xff, 0xfe]).unwrap_err(),
            CredentialReportError::NotUtf8
        );
        assert!(matches!(
            CredentialReport::parse(b"user,arn\n").unwrap_err(),
            CredentialReportError::MissingColumn(c) if c == "password_enabled"
        ));
        let short = format!("{HEADER}\n<root_account>,arn\n");
        assert!(matches!(
            CredentialReport::parse(short.as_bytes()).unwrap_err(),
            CredentialReportError::RowWidth { line: 2, .. }
        ));
        let open = format!("{HEADER}\n\"unterminated\n");
        assert!(matches!(
            CredentialReport::parse(open.as_bytes()).unwrap_err(),
            CredentialReportError::Unterminated(2)
        ));
        let weird = report("<root_account>,arn:aws:iam::111122223333:root,x,true,N/A,N/A,N/A,maybe,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A");
        assert!(matches!(
            weird.root().unwrap_err(),
            CredentialReportError::BadValue { column, .. } if column == "mfa_active"
        ));
    }
}
