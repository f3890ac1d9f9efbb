//! The AWS boundary: the root posture of one account or a whole organization.
//!
//! - [`model`]: the evidence types (`rootkey-aws-evidence/1`), plain serde data.
//! - [`serial`]: MFA device type from its serial number.
//! - [`credreport`]: the IAM credential report and its `<root_account>` row.
//! - [`findings`]: `evaluate(&Evidence, &FindingConfig) -> Report`, pure.
//! - [`client`] and [`read`]: the SDK side; read-only.
//! - [`lake`]: root activity of a whole organization from a CloudTrail Lake event data store.

pub mod client;
pub mod credreport;
pub mod findings;
pub mod lake;
pub mod model;
pub mod read;
pub mod remediate;
pub mod s3;
pub mod securityhub;
pub mod serial;
mod trace;

pub use client::{AwsOptions, DEFAULT_CONCURRENCY};
pub use findings::{evaluate, AccountReport, Finding, FindingConfig, FindingId, Report, Severity};
pub use model::{
    AccountEvidence, DeviceClass, DeviceClassification, Evidence, MfaDevice, RootLogin,
    RootPosture, RootUse, RootUseKind, EVIDENCE_FORMAT,
};
pub use read::{audit_task_policy, root_mfa_devices, Reader, Target};
pub use serial::MfaKind;

use std::path::{Path, PathBuf};

/// How far back CloudTrail's event history (`LookupEvents`) reaches, in days: root sign-ins
/// older than this cannot be read from AWS, whatever `--since` asks for.
pub const CLOUDTRAIL_RETENTION_DAYS: i64 = 90;

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
    /// The async runtime for the SDK could not start.
    #[error("cannot start the AWS client runtime: {0}")]
    Runtime(std::io::Error),
    /// The evidence file could not be written.
    #[error("cannot write evidence file {path}: {source}")]
    EvidenceWrite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Which accounts a live read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The caller's own account.
    Caller,
    /// These accounts (names and emails from Organizations when readable).
    Accounts(Vec<String>),
    /// Every account of the organization (from the management or delegated admin account).
    Organization,
}

impl Scope {
    /// `accounts` or `organization`, as reports name the scope.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::Caller | Scope::Accounts(_) => "accounts",
            Scope::Organization => "organization",
        }
    }
}

/// Progress of a live read, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadProgress {
    /// The accounts to read are known.
    Started {
        /// How many.
        accounts: usize,
    },
    /// One more account was read.
    AccountDone,
}

/// Reads the root posture of `scope` live through the SDK, logins since `since`. Blocking: it
/// runs its own async runtime, so callers need none. Per-call failures are recorded in the
/// evidence; `Err` means nothing could be read (credentials, caller identity, account listing).
pub fn read_evidence(
    options: AwsOptions,
    scope: &Scope,
    since: time::OffsetDateTime,
    progress: &mut (dyn FnMut(ReadProgress) + Send),
) -> Result<Evidence, AwsError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(AwsError::Runtime)?;
    let reader_lake = options.cloudtrail_lake.clone();
    rt.block_on(async {
        let reader = Reader::connect(options).await?;
        let (org, targets) = match scope {
            Scope::Organization => {
                let (org, targets) = reader.organization().await?;
                (org, targets)
            }
            Scope::Caller | Scope::Accounts(_) => {
                let ids = match scope {
                    Scope::Accounts(ids) if !ids.is_empty() => ids.clone(),
                    _ => vec![reader.caller().account.clone()],
                };
                // Whether centralized root access is on decides whether a credential-less
                // member is compliant: read it here too, and say "unknown" when it cannot be.
                let org = reader.organization_facts().await;
                let targets = reader
                    .describe_targets_in(&ids, org.management_account_id.as_deref())
                    .await
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect();
                (org, targets)
            }
        };
        progress(ReadProgress::Started {
            accounts: targets.len(),
        });
        let mut evidence = reader
            .read(Some(org), targets, since, || {
                progress(ReadProgress::AccountDone)
            })
            .await;
        if let Some(eds) = &reader_lake {
            reader.add_lake_activity(eds, &mut evidence).await;
        }
        evidence.scope = Some(scope.as_str().to_string());
        Ok(evidence)
    })
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
    crate::fsutil::write_atomic(path, &json).map_err(err)
}
