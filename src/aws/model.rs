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
    /// What the read covered: `organization` (`--organization`) or `accounts` (`--account`, the
    /// caller's own account). Absent in older files: `organization` present means an
    /// organization read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Evidence {
    /// True when the read listed a whole organization (older files: `organization` present).
    pub fn is_organization_scope(&self) -> bool {
        match self.scope.as_deref() {
            Some(s) => s == "organization",
            None => self.organization.is_some(),
        }
    }

    /// The part of the period CloudTrail's event history could not cover: `[since, horizon)`
    /// when `since` is older than [`CLOUDTRAIL_RETENTION_DAYS`](super::CLOUDTRAIL_RETENTION_DAYS)
    /// before the read. `None` when the whole period was searchable.
    pub fn cloudtrail_gap(&self) -> Option<Period> {
        let horizon = self.period.until - time::Duration::days(super::CLOUDTRAIL_RETENTION_DAYS);
        (self.period.since < horizon).then_some(Period {
            since: self.period.since,
            until: horizon,
        })
    }
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
    /// `ServiceAccessNotEnabledException` / `OrganizationNotInAllFeaturesModeException` mean
    /// the features are off: both `false`, with the code in `features_off_reason`.
    pub features: Option<OrgFeatures>,
    /// The error code that told rootkey the features are off (IAM trusted access not enabled,
    /// or the organization not in all-features mode), when that is how AWS answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features_off_reason: Option<String>,
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
    /// The account's state in Organizations (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`,
    /// `CLOSED`, ...), when listed. Suspended and closed accounts are not read or judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_status: Option<String>,
    /// Each time root's credentials were used in the period, from every source that tells
    /// (credential report, `GetUser`, `GetAccessKeyLastUsed`, CloudTrail root API calls and
    /// password recovery). Console sign-ins stay in `logins`. Empty when nothing was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage: Vec<RootUse>,
    /// CloudTrail events that could not be interpreted, kept raw (never dropped silently).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unparsed_events: Vec<UnparsedEvent>,
    /// Each MFA device classified as precisely as the API allows (same order as
    /// `mfa_devices`); empty in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_classes: Vec<DeviceClassification>,
    /// Whether root usage raises an alert (CloudWatch.1): an organization trail, or a metric
    /// filter with an alarm. `None` when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_alerting: Option<UsageAlerting>,
}

/// How a root credential was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootUseKind {
    /// The console password was used (a sign-in; `password_last_used`).
    Password,
    /// A root access key was used (`GetAccessKeyLastUsed`, credential report).
    AccessKey,
    /// Root made an API call (CloudTrail, `userIdentity.type = Root`, not an AssumeRoot
    /// session and not a service acting for root).
    ApiCall,
    /// Root password recovery was requested or completed (CloudTrail sign-in events).
    PasswordRecovery,
}

impl RootUseKind {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RootUseKind::Password => "password",
            RootUseKind::AccessKey => "access_key",
            RootUseKind::ApiCall => "api_call",
            RootUseKind::PasswordRecovery => "password_recovery",
        }
    }
}

/// One use of root in the period. Custody matches `time` against checkout windows as it does
/// console sign-ins; a "last used" source gives only the latest use, so one entry may stand
/// for several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootUse {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// What was used.
    pub kind: RootUseKind,
    /// Where rootkey saw it: `iam:GetUser`, `credential_report`, `iam:GetAccessKeyLastUsed`,
    /// `cloudtrail:<region>`.
    pub source: String,
    /// Facts for people: key id and service, event source and name, source IP.
    pub detail: String,
    /// The CloudTrail event id, when the use came from CloudTrail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The credential used, when AWS names it (an access key's [`AccessKey::name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// A CloudTrail event rootkey could not interpret, kept as AWS sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnparsedEvent {
    /// The region whose event history returned it.
    pub region: String,
    /// The event id, when the envelope had one.
    pub event_id: Option<String>,
    /// Why it could not be read.
    pub reason: String,
    /// The `CloudTrailEvent` text (empty when absent).
    pub raw: String,
}

/// What an MFA device is, as precisely as the API tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    /// A FIDO device that `GetMFADevice` reports with certifications (FIPS / FIDO level):
    /// a hardware security key.
    FidoSecurityKey,
    /// A FIDO device `GetMFADevice` reports without certifications: a synced passkey or an
    /// uncertified authenticator. Never a custody key without the ledger saying so.
    FidoPasskey,
    /// A FIDO (`u2f`) device whose certifications could not be read (`GetMFADevice` is outside
    /// the AssumeRoot audit policy): security key or passkey, the API does not say.
    FidoUnverified,
    /// A virtual (authenticator app) device, including TOTP seeds kept on a YubiKey.
    Virtual,
    /// A hardware TOTP token.
    HardwareTotp,
    /// A serial of no documented shape.
    Unknown,
}

/// One device's classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceClassification {
    /// The serial, as in `mfa_devices`.
    pub serial: String,
    /// The class.
    pub class: DeviceClass,
    /// `GetMFADevice` certifications (`FIPS-140-2` → `L2`, `FIDO` → `L1`, ...), when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certifications: Option<std::collections::BTreeMap<String, String>>,
}

/// Whether root usage raises an alert in this account (Security Hub CloudWatch.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageAlerting {
    /// Organization trails visible from the account (`DescribeTrails`,
    /// `IsOrganizationTrail`), by ARN.
    pub organization_trails: Vec<String>,
    /// Trails delivering to CloudWatch Logs (`CloudWatchLogsLogGroupArn`), by ARN.
    pub trails_to_cloudwatch_logs: Vec<String>,
    /// Root-usage alarms found on those trails' log groups: a metric filter with the CIS
    /// root-usage pattern whose metric has a CloudWatch alarm, as `log-group/filter -> alarm`.
    /// `None` when the metric filters or alarms could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_usage_alarms: Option<Vec<String>>,
}

/// True when a metric filter pattern is the CIS root-usage filter:
/// `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !=
/// "AwsServiceEvent" }`, compared without white space or quotes.
pub fn is_root_usage_pattern(pattern: &str) -> bool {
    let p: String = pattern
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    p.contains("$.userIdentity.type=Root")
        && p.contains("$.userIdentity.invokedByNOTEXISTS")
        && p.contains("$.eventType!=AwsServiceEvent")
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
    /// Its slot in the credential report (1 or 2), which names keys by slot only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u8>,
}

impl AccessKey {
    /// How findings name it: its id, else its credential-report column (`access_key_1`), so
    /// two keys are never one finding.
    pub fn name(&self) -> String {
        credential_name(self.id.as_deref(), "access_key", self.slot)
    }
}

impl SigningCertificate {
    /// How findings name it: its id, else its credential-report column (`cert_1`).
    pub fn name(&self) -> String {
        credential_name(self.id.as_deref(), "cert", self.slot)
    }
}

fn credential_name(id: Option<&str>, column: &str, slot: Option<u8>) -> String {
    match (id, slot) {
        (Some(id), _) => id.to_string(),
        (None, Some(n)) => format!("{column}_{n}"),
        (None, None) => "(unnamed)".to_string(),
    }
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
    /// Its slot in the credential report (1 or 2), which names certificates by slot only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u8>,
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
    /// Root activity beyond console sign-ins (CloudTrail `Username=root`, other regions).
    RootActivity,
    /// Root usage alerting (trails).
    UsageAlerting,
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
    /// True when the account is suspended or closed (or closing) in Organizations: listed as
    /// such, not read and not judged.
    pub fn account_inactive(&self) -> bool {
        self.account_status
            .as_deref()
            .is_some_and(|s| matches!(s, "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED"))
    }

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

impl DeviceClass {
    /// The class a serial's shape alone tells (FIDO devices stay unverified).
    pub fn from_kind(kind: MfaKind) -> DeviceClass {
        match kind {
            MfaKind::Fido => DeviceClass::FidoUnverified,
            MfaKind::Virtual => DeviceClass::Virtual,
            MfaKind::HardwareTotp => DeviceClass::HardwareTotp,
            MfaKind::Unknown => DeviceClass::Unknown,
        }
    }
}
