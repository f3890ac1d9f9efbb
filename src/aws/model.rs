//! The evidence a read produces: normalised facts about each account's root user, with the time
//! of the read and who read it. Everything here is plain data (serde), so an evidence file can be
//! written, handed to an auditor, and evaluated again offline with the same result.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::serial::MfaKind;

/// The version tag every evidence file carries; readers refuse other versions.
pub const EVIDENCE_FORMAT: &str = "rootkey-aws-evidence/1";

/// Everything one `aws posture` run read, in the `rootkey-aws-evidence/1` format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Always [`EVIDENCE_FORMAT`].
    pub format: String,
    /// When the read finished.
    #[serde(with = "time::serde::rfc3339")]
    pub read_at: OffsetDateTime,
    /// Who read it (STS GetCallerIdentity).
    pub caller: CallerIdentity,
    /// The period searched for root console logins.
    pub period: Period,
    /// The organization, when the read covered one (`--organization`).
    pub organization: Option<OrganizationFacts>,
    /// One entry per account read, in the order the accounts were listed.
    pub accounts: Vec<AccountEvidence>,
}

/// The principal that made the read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    /// Account id of the caller.
    pub account: String,
    /// ARN of the caller.
    pub arn: String,
    /// Unique id of the caller.
    pub user_id: String,
}

/// A half-open time window `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Start of the window.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// End of the window (the time of the read).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// Organization-wide facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationFacts {
    /// The organization id (`o-...`), when known.
    pub id: Option<String>,
    /// The management account id, when known.
    pub management_account_id: Option<String>,
    /// Centralized root access features (`ListOrganizationsFeatures`); `None` when unreadable.
    pub features: Option<OrgFeatures>,
    /// Calls that failed while reading organization-wide facts.
    #[serde(default)]
    pub errors: Vec<ReadError>,
}

/// Which centralized root access features the organization has enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrgFeatures {
    /// `RootCredentialsManagement`: member root credentials can be removed and password
    /// recovery is blocked.
    pub root_credentials_management: bool,
    /// `RootSessions`: `sts:AssumeRoot` into members is allowed.
    pub root_sessions: bool,
}

/// What was read about one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountEvidence {
    /// The 12-digit account id.
    pub account_id: String,
    /// The account name from Organizations, when known.
    pub name: Option<String>,
    /// The root user's email address (the account email), when known.
    pub email: Option<String>,
    /// Whether this is the organization's management account (or a standalone account).
    pub management: bool,
    /// The root user's state.
    pub posture: RootPosture,
}

/// The root user of one account, as AWS reported it. `None` / `unknown` means "not read", never
/// "absent": evaluation treats missing facts as [`READ-INCOMPLETE`](super::findings::FindingId).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RootPosture {
    /// MFA devices seen on root (from `ListMFADevices` in a root session and/or
    /// `ListVirtualMFADevices`).
    pub mfa_devices: Vec<MfaDevice>,
    /// True when `mfa_devices` is the complete list (read in a root session). When false, only
    /// virtual devices could be listed and non-virtual ones may exist.
    pub mfa_devices_complete: bool,
    /// Whether root has any MFA at all (account summary / credential report), when known.
    pub mfa_active: Option<bool>,
    /// Root access keys; `None` when they could not be read.
    pub access_keys: Option<Vec<AccessKey>>,
    /// Root X.509 signing certificates; `None` when they could not be read.
    pub signing_certificates: Option<Vec<SigningCertificate>>,
    /// Whether root has a console password.
    pub password: PasswordState,
    /// When root's password was last used, if the credential report said.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub password_last_used: Option<OffsetDateTime>,
    /// `GetAccountSummary` root flags, when read.
    pub account_summary: Option<AccountSummary>,
    /// Root console logins found in CloudTrail during the period; `None` when not searched.
    pub logins: Option<Vec<RootLogin>>,
    /// Calls that failed (a partial read stays visible).
    #[serde(default)]
    pub errors: Vec<ReadError>,
    /// Checks that were not attempted because no session allowed them.
    #[serde(default)]
    pub not_read: Vec<NotRead>,
}

/// One MFA device assigned to root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaDevice {
    /// The serial number exactly as AWS returned it (an ARN, or a vendor serial).
    pub serial: String,
    /// The device type, told by the serial's shape.
    pub kind: MfaKind,
    /// When the device was enabled on root.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub enable_date: Option<OffsetDateTime>,
}

/// Active or inactive, as IAM reports keys and certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Usable.
    Active,
    /// Present but disabled.
    Inactive,
    /// Present, status not reported (e.g. only the account summary flag was readable).
    Unknown,
}

/// One root access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// The key id, when listed (the credential report does not name keys).
    pub id: Option<String>,
    /// Active or inactive.
    pub status: CredentialStatus,
    /// When the key was created or last rotated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    /// When the key was last used, if ever.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    /// Service it was last used with.
    pub last_used_service: Option<String>,
    /// Region it was last used in.
    pub last_used_region: Option<String>,
}

/// One root signing certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningCertificate {
    /// The certificate id, when listed.
    pub id: Option<String>,
    /// Active or inactive.
    pub status: CredentialStatus,
    /// When it was uploaded or last rotated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub uploaded: Option<OffsetDateTime>,
}

/// Whether root has a console password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// `GetLoginProfile` succeeded, or the credential report said `true`.
    Present,
    /// `GetLoginProfile` answered `NoSuchEntity`, or the credential report said `false`.
    Absent,
    /// Not read, or AWS answered `not_supported` / `no_information`.
    #[default]
    Unknown,
}

/// `GetAccountSummary`'s root flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// `AccountMFAEnabled`.
    pub mfa_enabled: bool,
    /// `AccountAccessKeysPresent`.
    pub access_keys_present: bool,
    /// `AccountSigningCertificatesPresent`.
    pub signing_certificates_present: bool,
}

/// One root console sign-in from CloudTrail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootLogin {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `additionalEventData.MFAUsed` (`Yes` → true), when present.
    pub mfa_used: Option<bool>,
    /// `responseElements.ConsoleLogin` (`Success` → true), when present.
    pub success: Option<bool>,
    /// The region whose trail returned it.
    pub region: String,
    /// The CloudTrail event id.
    pub event_id: Option<String>,
}

/// What a read was for, so a failure names the check it leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Getting into the account at all (AssumeRoot / AssumeRole).
    Session,
    /// The root MFA device list.
    MfaDevices,
    /// Root access keys.
    AccessKeys,
    /// Root signing certificates.
    SigningCertificates,
    /// Root password.
    Password,
    /// `GetAccountSummary`.
    AccountSummary,
    /// The credential report.
    CredentialReport,
    /// `ListVirtualMFADevices`.
    VirtualMfaDevices,
    /// CloudTrail root logins.
    Logins,
    /// The account email.
    AccountEmail,
    /// Organization-wide features.
    OrganizationFeatures,
}

/// A call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadError {
    /// The API call (`iam:ListMFADevices`, `sts:AssumeRoot`, ...).
    pub call: String,
    /// The check it was for.
    pub check: Check,
    /// The AWS error code (`AccessDenied`, `Throttling`, ...) or a local kind.
    pub code: String,
    /// The message, for people.
    pub message: String,
}

/// A check not attempted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRead {
    /// The check.
    pub check: Check,
    /// Why it was not possible (e.g. "needs --member-role").
    pub reason: String,
}

impl RootPosture {
    /// True when AWS showed root with no password, no keys, no certificates and no MFA, and
    /// every one of those facts was actually read (unknown is never credential-less).
    pub fn has_no_credentials(&self) -> bool {
        self.password == PasswordState::Absent
            && self.access_keys.as_ref().is_some_and(Vec::is_empty)
            && self
                .signing_certificates
                .as_ref()
                .is_some_and(Vec::is_empty)
            && self.mfa_devices_complete
            && self.mfa_devices.is_empty()
    }
}
