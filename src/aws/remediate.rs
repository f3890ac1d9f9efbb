//! Removing root credentials through `AssumeRoot` with the `IAMDeleteRootUserCredentials` task
//! policy: read exactly what a finding would remove (with last-use evidence), remove it item by
//! item, and read again. The custody side (`custody::flows::remediate`) decides whether anything
//! may be removed and records it; this module only talks to AWS.
//!
//! The task policy allows `DeleteAccessKey`, `DeleteSigningCertificate`, `DeleteLoginProfile` and
//! `DeactivateMFADevice` on root, and the reads needed to plan them; it has no deactivate step for
//! keys (no `UpdateAccessKey`), so a key is deleted outright. It cannot reach the management
//! account.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::{Check, ReadError};
use super::read::{read_error, Reader};
use super::serial::MfaKind;

/// The root-credential findings `rootkey aws remediate` can fix through an `AssumeRoot` session
/// with the `IAMDeleteRootUserCredentials` task policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RemediationFinding {
    /// Root access keys: deleted (the task policy has no deactivate step).
    #[serde(rename = "ROOT-ACCESS-KEY")]
    AccessKey,
    /// Root X.509 signing certificates: deleted.
    #[serde(rename = "ROOT-SIGNING-CERT")]
    SigningCert,
    /// Root's console password (login profile): deleted.
    #[serde(rename = "ROOT-PASSWORD-PRESENT")]
    PasswordPresent,
    /// Virtual MFA devices on root: deactivated.
    #[serde(rename = "ROOT-MFA-VIRTUAL")]
    MfaVirtual,
}

impl RemediationFinding {
    /// Every remediable finding.
    pub const ALL: [RemediationFinding; 4] = [
        RemediationFinding::AccessKey,
        RemediationFinding::SigningCert,
        RemediationFinding::PasswordPresent,
        RemediationFinding::MfaVirtual,
    ];

    /// The finding id as `rootkey aws posture` and the audit name it.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationFinding::AccessKey => "ROOT-ACCESS-KEY",
            RemediationFinding::SigningCert => "ROOT-SIGNING-CERT",
            RemediationFinding::PasswordPresent => "ROOT-PASSWORD-PRESENT",
            RemediationFinding::MfaVirtual => "ROOT-MFA-VIRTUAL",
        }
    }

    /// Parses a finding id (exact, as printed by `rootkey aws posture`).
    pub fn parse(s: &str) -> Option<RemediationFinding> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The kind of credential a plan for this finding may name.
    pub fn credential(self) -> CredentialKind {
        match self {
            RemediationFinding::AccessKey => CredentialKind::AccessKey,
            RemediationFinding::SigningCert => CredentialKind::SigningCertificate,
            RemediationFinding::PasswordPresent => CredentialKind::LoginProfile,
            RemediationFinding::MfaVirtual => CredentialKind::MfaDevice,
        }
    }
}

/// A root credential a plan names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// An access key (id `AKIA...`), removed with `DeleteAccessKey`.
    AccessKey,
    /// A signing certificate, removed with `DeleteSigningCertificate`.
    SigningCertificate,
    /// The console password (id `login-profile`), removed with `DeleteLoginProfile`.
    LoginProfile,
    /// A virtual MFA device (id: its serial ARN), removed with `DeactivateMFADevice`.
    MfaDevice,
}

impl CredentialKind {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AccessKey => "access-key",
            CredentialKind::SigningCertificate => "signing-certificate",
            CredentialKind::LoginProfile => "login-profile",
            CredentialKind::MfaDevice => "mfa-device",
        }
    }
}

/// The id a plan gives root's login profile (there is one at most, and it has no id in AWS).
pub const LOGIN_PROFILE_ID: &str = "login-profile";

/// One credential in a remediation plan, with the last-use evidence it was judged on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    /// What it is.
    pub kind: CredentialKind,
    /// Its AWS id (access key id, certificate id, MFA serial, or `login-profile`).
    pub id: String,
    /// When AWS says it was last used, if it says.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// The service it was last used with (access keys), if AWS says.
    #[serde(default)]
    pub last_used_service: Option<String>,
}

/// What one deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemOutcome {
    /// AWS accepted the deletion.
    Done,
    /// AWS refused it (the error code says why).
    Failed,
    /// Not tried (an earlier step failed in a way that stops the run).
    NotAttempted,
    /// Not deleted by this run because AWS no longer listed it: the plan's approval was recorded
    /// but its run was cut before the completion was (the deletion went through, or someone
    /// removed it by hand). Only valid when the completion's `aws_now` does not list it.
    Absent,
}

impl ItemOutcome {
    /// Whether the credential is gone: deleted now, or found already gone.
    pub fn gone(self) -> bool {
        matches!(self, Self::Done | Self::Absent)
    }
}

/// One item's result in `remediation.completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemResult {
    /// What it is.
    pub kind: CredentialKind,
    /// Its AWS id, as in the plan.
    pub id: String,
    /// What happened.
    pub outcome: ItemOutcome,
    /// AWS's error code when it failed.
    #[serde(default)]
    pub error_code: Option<String>,
    /// AWS's error message when it failed.
    #[serde(default)]
    pub error_message: Option<String>,
}

/// A credential as AWS listed it after the deletions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRef {
    /// What it is.
    pub kind: CredentialKind,
    /// Its AWS id.
    pub id: String,
}

/// The task policy that lets an `AssumeRoot` session delete root credentials, in `partition`.
pub fn delete_task_policy(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/root-task/IAMDeleteRootUserCredentials")
}

/// Opens a root session in `account_id` limited to reading and deleting root credentials.
pub async fn open_session(
    reader: &Reader,
    account_id: &str,
) -> Result<aws_sdk_iam::Client, ReadError> {
    let policy = delete_task_policy(reader.partition());
    reader.assume_root_with(account_id, &policy).await
}

/// The organization's management account, from `DescribeOrganization` (`Ok(None)`: the caller
/// is in no organization).
pub async fn management_account(reader: &Reader) -> Result<Option<String>, ReadError> {
    let orgs = aws_sdk_organizations::Client::new(reader.sdk_config());
    match orgs.describe_organization().send().await {
        Ok(o) => Ok(o
            .organization()
            .and_then(|o| o.master_account_id())
            .map(str::to_string)),
        Err(e) => {
            let err = read_error("organizations:DescribeOrganization", Check::Session, &e);
            if err.code == "AWSOrganizationsNotInUseException" {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

fn to_time(t: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
}

/// A service name as AWS reports it, kept only when it is a plain id (`s3`, `sts`).
fn service_name(s: &str) -> Option<String> {
    let plain = !s.is_empty()
        && s != "N/A"
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| s.to_string())
}

/// What the finding would remove from root now, with last-use evidence. Any failed read fails
/// the plan: a credential whose last use is unknown cannot be judged.
pub async fn read_items(
    iam: &aws_sdk_iam::Client,
    finding: RemediationFinding,
) -> Result<Vec<PlanItem>, ReadError> {
    let item = |kind, id: &str| PlanItem {
        kind,
        id: id.to_string(),
        last_used: None,
        last_used_service: None,
    };
    match finding {
        RemediationFinding::AccessKey => {
            let out = iam
                .list_access_keys()
                .send()
                .await
                .map_err(|e| read_error("iam:ListAccessKeys", Check::AccessKeys, &e))?;
            let mut items = Vec::new();
            for k in out.access_key_metadata() {
                let Some(id) = k.access_key_id() else {
                    continue;
                };
                let used = iam
                    .get_access_key_last_used()
                    .access_key_id(id)
                    .send()
                    .await
                    .map_err(|e| read_error("iam:GetAccessKeyLastUsed", Check::AccessKeys, &e))?;
                let mut it = item(CredentialKind::AccessKey, id);
                if let Some(u) = used.access_key_last_used() {
                    it.last_used = to_time(u.last_used_date());
                    it.last_used_service = service_name(u.service_name());
                }
                items.push(it);
            }
            Ok(items)
        }
        RemediationFinding::SigningCert => Ok(super::read::read_signing_certificates(iam)
            .await?
            .iter()
            .filter_map(|c| c.id.as_deref())
            .map(|id| item(CredentialKind::SigningCertificate, id))
            .collect()),
        RemediationFinding::PasswordPresent => match iam.get_login_profile().send().await {
            Ok(_) => {
                let user = iam
                    .get_user()
                    .send()
                    .await
                    .map_err(|e| read_error("iam:GetUser", Check::RootActivity, &e))?;
                let mut it = item(CredentialKind::LoginProfile, LOGIN_PROFILE_ID);
                it.last_used = user.user().and_then(|u| to_time(u.password_last_used()));
                Ok(vec![it])
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(vec![])
            }
            Err(e) => Err(read_error("iam:GetLoginProfile", Check::Password, &e)),
        },
        RemediationFinding::MfaVirtual => {
            let devices = super::read::root_mfa_devices(iam).await?;
            Ok(devices
                .iter()
                .filter(|d| d.kind == MfaKind::Virtual)
                .map(|d| item(CredentialKind::MfaDevice, &d.serial))
                .collect())
        }
    }
}

/// What AWS lists now for the finding (ids only), after the deletions.
pub async fn reread(
    iam: &aws_sdk_iam::Client,
    finding: RemediationFinding,
) -> Result<Vec<CredentialRef>, ReadError> {
    let refs = |kind, ids: Vec<String>| {
        let mut v: Vec<CredentialRef> = ids
            .into_iter()
            .map(|id| CredentialRef { kind, id })
            .collect();
        v.sort();
        v
    };
    let kind = finding.credential();
    let ids: Vec<String> = match finding {
        RemediationFinding::AccessKey => iam
            .list_access_keys()
            .send()
            .await
            .map_err(|e| read_error("iam:ListAccessKeys", Check::AccessKeys, &e))?
            .access_key_metadata()
            .iter()
            .filter_map(|k| k.access_key_id().map(str::to_string))
            .collect(),
        RemediationFinding::MfaVirtual => super::read::root_mfa_devices(iam)
            .await?
            .into_iter()
            .filter(|d| d.kind == MfaKind::Virtual)
            .map(|d| d.serial)
            .collect(),
        // The other two need no last-use evidence: the plan reader lists exactly them.
        _ => read_items(iam, finding)
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect(),
    };
    Ok(refs(kind, ids))
}

/// AWS error text as the ledger may hold it: one line, at most 500 characters.
fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    let s = s.trim().to_string();
    if s.is_empty() || crate::text::check("error", crate::text::TextKind::Reason, &s).is_err() {
        "(AWS gave no readable message)".into()
    } else {
        s
    }
}

/// An AWS error code kept only when it is a plain id (`AccessDenied`, `NoSuchEntity`).
fn code_of(code: &str) -> String {
    match service_name(code) {
        Some(c) => c,
        None => "Unknown".into(),
    }
}

/// Removes each item in order and says what AWS answered for each. A refusal by AWS is recorded
/// and the next item is tried; when AWS cannot be reached at all (no service answer), the
/// remaining items are not attempted (`on_call` is told before each call, for tests and logs).
pub async fn remove(
    iam: &aws_sdk_iam::Client,
    items: &[PlanItem],
    on_call: &mut dyn FnMut(&PlanItem),
) -> Vec<ItemResult> {
    let mut out = Vec::with_capacity(items.len());
    let mut stop = false;
    for it in items {
        let mut r = ItemResult {
            kind: it.kind,
            id: it.id.clone(),
            outcome: ItemOutcome::NotAttempted,
            error_code: None,
            error_message: None,
        };
        if !stop {
            on_call(it);
            match remove_one(iam, it).await {
                Ok(()) => r.outcome = ItemOutcome::Done,
                Err((e, service_answered)) => {
                    r.outcome = ItemOutcome::Failed;
                    r.error_code = Some(code_of(&e.code));
                    r.error_message = Some(one_line(&e.message));
                    stop = !service_answered;
                }
            }
        }
        out.push(r);
    }
    out
}

/// One deletion; the error and whether AWS itself answered (a service error).
async fn remove_one(iam: &aws_sdk_iam::Client, it: &PlanItem) -> Result<(), (ReadError, bool)> {
    fn fail<E, R>(
        call: &str,
        e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> (ReadError, bool)
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let answered = matches!(
            e,
            aws_smithy_runtime_api::client::result::SdkError::ServiceError(_)
        );
        (read_error(call, Check::Session, &e), answered)
    }
    match it.kind {
        CredentialKind::AccessKey => iam
            .delete_access_key()
            .access_key_id(&it.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("iam:DeleteAccessKey", e)),
        CredentialKind::SigningCertificate => iam
            .delete_signing_certificate()
            .certificate_id(&it.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("iam:DeleteSigningCertificate", e)),
        CredentialKind::LoginProfile => iam
            .delete_login_profile()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("iam:DeleteLoginProfile", e)),
        CredentialKind::MfaDevice => iam
            .deactivate_mfa_device()
            .serial_number(&it.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("iam:DeactivateMFADevice", e)),
    }
}
