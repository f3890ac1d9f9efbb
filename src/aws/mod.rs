//! The AWS boundary: the root posture of one account or a whole organization.
//!
//! - [`model`]: the evidence types (`rootkey-aws-evidence/1`), plain serde data.
//! - [`serial`]: MFA device type from its serial number.
//! - [`credreport`]: the IAM credential report and its `<root_account>` row.
//! - [`findings`]: `evaluate(&Evidence, &FindingConfig) -> Report`, pure.
//! - [`client`] and [`read`]: the SDK side; read-only.

pub mod client;
pub mod credreport;
pub mod findings;
pub mod model;
pub mod read;
pub mod serial;

pub use client::{AwsOptions, DEFAULT_CONCURRENCY};
pub use findings::{evaluate, AccountReport, Finding, FindingConfig, FindingId, Report, Severity};
pub use model::{AccountEvidence, Evidence, MfaDevice, RootLogin, RootPosture, EVIDENCE_FORMAT};
pub use read::{root_mfa_devices, Reader, Target};
pub use serial::MfaKind;

use std::path::{Path, PathBuf};

/// Why an AWS read or an evidence file failed as a whole (per-call failures are recorded in the
/// evidence instead).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A call the whole read depends on failed (caller identity, account listing).
    #[error("{call} failed ({code}): {message}; check credentials (--profile, AWS_PROFILE), region and permissions")]
    Call {
        /// The API call.
        call: &'static str,
        /// AWS error code or local kind.
        code: String,
        /// Details.
        message: String,
    },
    /// The evidence file could not be read.
    #[error("cannot read evidence file {path}: {source}")]
    EvidenceRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The evidence file is not valid evidence JSON.
    #[error("evidence file {path} is not valid rootkey evidence: {message}")]
    EvidenceParse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The evidence file has another format version.
    #[error("evidence file {path} has format `{found}`; this rootkey reads `{EVIDENCE_FORMAT}`")]
    EvidenceFormat {
        /// The file.
        path: PathBuf,
        /// The format tag found.
        found: String,
    },
    /// The evidence file could not be written.
    #[error("cannot write evidence file {path}: {source}")]
    EvidenceWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads and checks an evidence file (`--evidence-in`).
pub fn load_evidence(path: &Path) -> Result<Evidence, AwsError> {
    let text = std::fs::read_to_string(path).map_err(|source| AwsError::EvidenceRead {
        path: path.to_path_buf(),
        source,
    })?;
    parse_evidence(&text, path)
}

/// Parses evidence JSON; `path` is only used in errors. The format tag is checked first, so a
/// future version is refused by name rather than by a confusing field error.
pub fn parse_evidence(text: &str, path: &Path) -> Result<Evidence, AwsError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AwsError::EvidenceParse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let found = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if found != EVIDENCE_FORMAT {
        return Err(AwsError::EvidenceFormat {
            path: path.to_path_buf(),
            found: found.to_string(),
        });
    }
    serde_json::from_value(value).map_err(|e| AwsError::EvidenceParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes evidence atomically (temp file + rename), so a failed run leaves no half-written file.
pub fn save_evidence(evidence: &Evidence, path: &Path) -> Result<(), AwsError> {
    let err = |source| AwsError::EvidenceWrite {
        path: path.to_path_buf(),
        source,
    };
    let json = serde_json::to_vec_pretty(evidence).map_err(|e| err(std::io::Error::other(e)))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "evidence".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, &json).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}
