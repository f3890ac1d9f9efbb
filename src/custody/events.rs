//! The one table of event kinds the ledger accepts, and their typed bodies.
//!
//! The ledger stores `{id, time, kind, actor, body}`; this module owns `kind` and `body`. Bodies
//! hold no floats (the ledger's canonical JSON forbids them), binary values are base64url without
//! padding, times are RFC 3339 in UTC. Unknown kinds and unknown fields are rejected: a body that
//! does not match its kind exactly is an integrity problem, not something to guess around. Every
//! text a person typed is checked by [`crate::text::check`] here, so a control character or a
//! bidi override cannot enter the ledger through rootkey, and one written into the database by
//! hand fails verification.
//!
//! Who must approve each kind is decided by the custody fold ([`super::dual_control`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::attest::Assurance;
use crate::text::{self, TextKind};
use crate::webauthn::{b64url, b64url_decode};

/// Free-text note by an operator.
pub const NOTE: &str = "note";
/// The first two custodians, enrolled together while there are none.
pub const CUSTODIAN_BOOTSTRAP: &str = "custodian.bootstrap";
/// One more custodian or auditor.
pub const CUSTODIAN_ADDED: &str = "custodian.added";
/// A custodian or auditor leaves; their later approvals are invalid.
pub const CUSTODIAN_REMOVED: &str = "custodian.removed";
/// One key taken into custody for an account.
pub const KEY_ENROLLED: &str = "key.enrolled";
/// AWS shows an enrolled key on the account's root user.
pub const KEY_REGISTRATION_CONFIRMED: &str = "key.registration_confirmed";
/// An account's onboarding is complete (primary and backup both confirmed).
pub const ACCOUNT_ENROLLED: &str = "account.enrolled";
/// A dual-control break-glass checkout.
pub const KEY_CHECKED_OUT: &str = "key.checked_out";
/// A key returned to the safe, with its possession proof.
pub const KEY_CHECKED_IN: &str = "key.checked_in";
/// A possession check of a key in the safe.
pub const KEY_VERIFIED: &str = "key.verified";
/// A key moved to another storage location or bag.
pub const KEY_MOVED: &str = "key.moved";
/// A key taken out of custody for good (lost, replaced, destroyed).
pub const KEY_RETIRED: &str = "key.retired";
/// A finished audit and the digest of its report.
pub const AUDIT_COMPLETED: &str = "audit.completed";
/// A person's new custodian key replaces their old one.
pub const CUSTODIAN_ROTATED: &str = "custodian.rotated";
/// An account leaves rootkey's scope (closed, or credential-less under central root access).
pub const ACCOUNT_CLOSED: &str = "account.closed";
/// Two custodians approved deleting an exact plan of root credentials (before any change).
pub const REMEDIATION_APPROVED: &str = "remediation.approved";
/// What the deletions of an approved plan did, and what AWS showed afterwards.
pub const REMEDIATION_COMPLETED: &str = "remediation.completed";

// Findings (issue 16): a risk accepted for a finding, until a date.
/// A finding's risk accepted until a date, approved by the auditor or two custodians.
pub const FINDING_ACCEPTED: &str = "finding.accepted";
/// The longest an acceptance may run: it must be looked at again at least yearly.
pub const ACCEPTANCE_MAX: time::Duration = time::Duration::days(366);

/// Every kind the ledger accepts, for help texts and documentation.
pub const KINDS: &[&str] = &[
    NOTE,
    CUSTODIAN_BOOTSTRAP,
    CUSTODIAN_ADDED,
    CUSTODIAN_REMOVED,
    KEY_ENROLLED,
    KEY_REGISTRATION_CONFIRMED,
    ACCOUNT_ENROLLED,
    KEY_CHECKED_OUT,
    KEY_CHECKED_IN,
    KEY_VERIFIED,
    KEY_MOVED,
    KEY_RETIRED,
    AUDIT_COMPLETED,
    CUSTODIAN_ROTATED,
    ACCOUNT_CLOSED,
    FINDING_ACCEPTED,
    REMEDIATION_APPROVED,
    REMEDIATION_COMPLETED,
];

/// What a registered person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Approves custody changes.
    Custodian,
    /// Reads and audits; approves only the audits they ran.
    Auditor,
}

impl Role {
    /// The role's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Custodian => "custodian",
            Role::Auditor => "auditor",
        }
    }
}

/// Bytes carried in a body as base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct B64(pub Vec<u8>);

impl B64 {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for B64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64url(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // Padding would make two encodings of the same bytes; the canonical form has none.
        if s.contains('=') {
            return Err(serde::de::Error::custom(
                "base64url value must not be padded",
            ));
        }
        b64url_decode(&s)
            .map(B64)
            .map_err(|e| serde::de::Error::custom(format!("not base64url: {e}")))
    }
}

/// Which of an account's two keys this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// The key used for break-glass.
    Primary,
    /// The key kept apart in case the primary is lost.
    Backup,
}

impl KeyRole {
    /// `primary` or `backup`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Primary => "primary",
            KeyRole::Backup => "backup",
        }
    }
}

/// What the attestation verifier concluded about a key (root key or custodian key) when it
/// entered the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationSummary {
    /// Attestation statement format (`packed`, `fido-u2f`, ...).
    pub fmt: String,
    /// Subject of the trusted root the chain ended at.
    pub trust_root: String,
    /// What the attestation proves: genuine hardware, a root the operator trusted, or software.
    pub assurance: Assurance,
    /// FIDO certification level or FIPS status, when metadata states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<String>,
}

/// A person as written in a `custodian.bootstrap` / `custodian.added` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianSpec {
    /// Stable id (ASCII, unique case-insensitively for the life of the ledger).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Credential id of their custodian credential (RP ID `rootkey.custodian`).
    pub credential_id: B64,
    /// COSE public key of that credential; their approvals verify against it.
    pub public_key: B64,
    /// Their key's AAGUID, hyphenated lowercase.
    pub aaguid: String,
    /// Their key's model, as attested.
    pub model: String,
    /// The attestation verdict on their key.
    pub attestation: AttestationSummary,
}

/// Body of `custodian.bootstrap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianBootstrap {
    /// The first two custodians.
    pub custodians: Vec<CustodianSpec>,
}

/// Body of `custodian.added`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianAdded {
    /// The new person.
    pub custodian: CustodianSpec,
}

/// Body of `custodian.removed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianRemoved {
    /// The person leaving.
    pub id: String,
    /// Why, for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Body of `note`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// The note.
    pub text: String,
}

/// Body of `key.enrolled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEnrolled {
    /// Short id of the key (see [`crate::custody::key_id_for`]).
    pub key_id: String,
    /// AWS account whose root user this key guards.
    pub account_id: String,
    /// Primary or backup.
    pub role: KeyRole,
    /// The model's AAGUID, hyphenated lowercase.
    pub aaguid: String,
    /// The model's name as metadata states it.
    pub model: String,
    /// Firmware version, when the key reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// The attestation verdict's summary.
    pub attestation: AttestationSummary,
    /// Credential id of the custody credential (RP ID `rootkey.custody`).
    pub custody_credential_id: B64,
    /// COSE public key of the custody credential; possession proofs verify against it.
    pub custody_public_key: B64,
    /// Where the key is stored, in the custodians' words.
    pub location: String,
    /// Serial of the tamper-evident bag the key was sealed in.
    pub bag_serial: String,
    /// The device name proposed for the AWS console (`rootkey-<key id>`).
    pub aws_device_name: String,
    /// The key this one succeeds (same account and role), retired once AWS shows this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// How AWS's view of the root user's devices was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmationSource {
    /// Live AWS API calls.
    Api,
    /// An offline evidence file exported from AWS.
    Evidence,
}

/// Body of `key.registration_confirmed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRegistrationConfirmed {
    /// The key AWS now shows.
    pub key_id: String,
    /// The account whose root user shows it.
    pub account_id: String,
    /// `SerialNumber` from `ListMFADevices` (`arn:aws:iam::<acct>:u2f/root/rootkey-<id>-...`).
    pub serial_arn: String,
    /// `EnableDate` from `ListMFADevices`.
    #[serde(with = "time::serde::rfc3339")]
    pub enable_date: OffsetDateTime,
    /// Live API or evidence file.
    pub source: ConfirmationSource,
}

/// Body of `account.enrolled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEnrolled {
    /// The account now under custody.
    pub account_id: String,
    /// Its primary key.
    pub primary_key_id: String,
    /// Its backup key.
    pub backup_key_id: String,
}

/// Body of `key.checked_out`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCheckedOut {
    /// The key taken out.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// Why root access is needed.
    pub reason: String,
    /// Change or incident ticket reference.
    pub ticket: String,
    /// Start of the approved window.
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    /// End of the approved window: the key is due back by then.
    #[serde(with = "time::serde::rfc3339")]
    pub window_end: OffsetDateTime,
    /// Custodian who asked.
    pub requester: String,
    /// Second custodian who approved.
    pub approver: String,
    /// Serial of the tamper-evident bag that was broken to take the key out.
    pub bag_broken: String,
}

/// An assertion by a key against its custody credential: proof that this very key was in hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PossessionProof {
    /// The challenge rootkey issued.
    pub challenge: B64,
    /// Authenticator data as the key returned it.
    pub authenticator_data: B64,
    /// Client data JSON whose hash the key signed.
    pub client_data_json: B64,
    /// The signature over authenticator data ‖ SHA-256(client data).
    pub signature: B64,
    /// The signature counter in the authenticator data.
    pub counter: u32,
}

/// Body of `key.checked_in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCheckedIn {
    /// The key returned.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// Serial of the new tamper-evident bag it was sealed in.
    pub bag_serial: String,
    /// The key's proof that it is the key that was checked out.
    pub proof: PossessionProof,
}

/// Body of `key.verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyVerified {
    /// The key checked.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// The key's proof.
    pub proof: PossessionProof,
    /// Serial of the bag the key was resealed in, when the check needed the bag opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bag_serial: Option<String>,
}

/// Body of `key.moved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyMoved {
    /// The key moved.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// Where it was.
    pub from_location: String,
    /// Where it is now.
    pub to_location: String,
    /// Serial of the new tamper-evident bag it was sealed in at its new place.
    pub bag_serial: String,
    /// Why it moved.
    pub reason: String,
    /// The key's proof, taken when it was resealed: the key that moved is the enrolled key.
    pub proof: PossessionProof,
}

/// Body of `key.retired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRetired {
    /// The key leaving custody.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// Why it leaves.
    pub reason: RetireReason,
    /// What happened, in the custodians' words (incident number, where it was last seen).
    pub note: String,
}

/// Why a key leaves custody. `lost` and `compromised` are incidents: the audit lists them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetireReason {
    /// Nobody knows where it is.
    Lost,
    /// Physically destroyed (witnessed).
    Destroyed,
    /// It may have been copied, tampered with, or used outside custody.
    Compromised,
    /// A successor key took its place.
    Replaced,
    /// Anything else (the note says what).
    Other,
}

impl RetireReason {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RetireReason::Lost => "lost",
            RetireReason::Destroyed => "destroyed",
            RetireReason::Compromised => "compromised",
            RetireReason::Replaced => "replaced",
            RetireReason::Other => "other",
        }
    }

    /// Whether the retirement is an incident (the key may be in someone else's hands).
    pub fn is_incident(self) -> bool {
        matches!(self, RetireReason::Lost | RetireReason::Compromised)
    }
}

/// Body of `custodian.rotated`: a person's new key replaces their old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianRotated {
    /// The person.
    pub id: String,
    /// Credential id of their new custodian credential.
    pub credential_id: B64,
    /// Its COSE public key.
    pub public_key: B64,
    /// The new key's AAGUID.
    pub aaguid: String,
    /// The new key's model.
    pub model: String,
    /// The attestation verdict on the new key.
    pub attestation: AttestationSummary,
    /// Why (lost, broken, upgraded).
    pub reason: String,
}

/// Why an account leaves rootkey's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseReason {
    /// The AWS account was closed.
    Closed,
    /// Its root has no credentials at all, under centralized root access.
    CredentialLess,
    /// Anything else (the note says what).
    Other,
}

/// Body of `account.closed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountClosed {
    /// The account leaving scope.
    pub account_id: String,
    /// Why.
    pub reason: CloseReason,
    /// What happened, in the custodians' words.
    pub note: String,
}

/// Number of findings per severity in an audit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: u32,
    /// High findings.
    pub high: u32,
    /// Medium findings.
    pub medium: u32,
    /// Low findings.
    pub low: u32,
    /// Informational findings.
    pub info: u32,
}

/// Body of `audit.completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCompleted {
    /// SHA-256 of the report bytes, lowercase hex.
    pub report_sha256: String,
    /// `md`, `html` or `json`.
    pub format: String,
    /// The ledger checkpoint text the audit verified.
    pub checkpoint: String,
    /// Start of the audited period.
    #[serde(with = "time::serde::rfc3339")]
    pub period_start: OffsetDateTime,
    /// End of the audited period.
    #[serde(with = "time::serde::rfc3339")]
    pub period_end: OffsetDateTime,
    /// `pass`, `findings` or `fail`.
    pub verdict: String,
    /// Findings per severity.
    pub counts: SeverityCounts,
    /// Identity (`CODE|subject`) of every finding, sorted: later audits compute time to remediate.
    pub findings: Vec<String>,
    /// Accounts in scope, sorted.
    pub accounts: Vec<String>,
}

/// Body of `finding.accepted`: the finding it accepts is named by its instance id and by the
/// check, account and resource that id is derived from (the fold checks they agree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingAccepted {
    /// The finding's stable id ([`crate::findings::instance_id`]).
    pub finding_id: String,
    /// Its check id.
    pub check: String,
    /// Its account, if any.
    pub account_id: Option<String>,
    /// Its resource.
    pub resource: String,
    /// Why the risk is accepted.
    pub reason: String,
    /// The risk or change ticket.
    pub ticket: String,
    /// When the acceptance ends (at most [`ACCEPTANCE_MAX`] after it is recorded).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// A custody event decoded from a ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustodyEvent {
    /// `note`.
    Note(Note),
    /// `custodian.bootstrap`.
    CustodianBootstrap(CustodianBootstrap),
    /// `custodian.added`.
    CustodianAdded(CustodianAdded),
    /// `custodian.removed`.
    CustodianRemoved(CustodianRemoved),
    /// `custodian.rotated`.
    CustodianRotated(CustodianRotated),
    /// `account.closed`.
    AccountClosed(AccountClosed),
    /// `key.enrolled`.
    KeyEnrolled(KeyEnrolled),
    /// `key.registration_confirmed`.
    KeyRegistrationConfirmed(KeyRegistrationConfirmed),
    /// `account.enrolled`.
    AccountEnrolled(AccountEnrolled),
    /// `key.checked_out`.
    KeyCheckedOut(KeyCheckedOut),
    /// `key.checked_in`.
    KeyCheckedIn(KeyCheckedIn),
    /// `key.verified`.
    KeyVerified(KeyVerified),
    /// `key.moved`.
    KeyMoved(KeyMoved),
    /// `key.retired`.
    KeyRetired(KeyRetired),
    /// `audit.completed`.
    AuditCompleted(AuditCompleted),
    /// `finding.accepted`.
    FindingAccepted(FindingAccepted),
    /// `remediation.approved`.
    RemediationApproved(RemediationApproved),
    /// `remediation.completed`.
    RemediationCompleted(RemediationCompleted),
}

/// Why a body could not be decoded as its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The JSON does not match the kind's shape.
    #[error("{kind} body does not match its schema: {detail}")]
    Schema {
        /// The kind.
        kind: String,
        /// serde's description.
        detail: String,
    },
    /// A field is present but its value cannot be right.
    #[error("{kind} body field {field}: {detail}")]
    Invalid {
        /// The kind.
        kind: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
}

fn parse<T: serde::de::DeserializeOwned>(
    kind: &str,
    body: &serde_json::Value,
) -> Result<T, EventError> {
    T::deserialize(body).map_err(|e| EventError::Schema {
        kind: kind.to_string(),
        detail: e.to_string(),
    })
}

fn non_empty(kind: &str, field: &'static str, v: &str) -> Result<(), EventError> {
    if v.trim().is_empty() {
        return Err(Fields(kind).invalid(field, "must not be empty"));
    }
    Ok(())
}

/// The field errors of one event kind's checks.
#[derive(Clone, Copy)]
struct Fields<'a>(&'a str);

impl Fields<'_> {
    /// `field` holds a value that cannot be right.
    fn invalid(self, field: &'static str, detail: impl Into<String>) -> EventError {
        EventError::Invalid {
            kind: self.0.to_string(),
            field,
            detail: detail.into(),
        }
    }

    /// `field` is text a person typed: it must pass [`text::check`] as `k`.
    fn text(self, field: &'static str, k: TextKind, v: &str) -> Result<(), EventError> {
        text::check(field, k, v).map_err(|e| self.invalid(field, e.to_string()))
    }
}

impl CustodyEvent {
    /// Decodes `body` as `kind`. `Ok(None)` only for a kind this binary does not know, which
    /// the fold refuses (fail closed).
    pub fn decode(
        kind: &str,
        body: &serde_json::Value,
    ) -> Result<Option<CustodyEvent>, EventError> {
        let ev = match kind {
            NOTE => CustodyEvent::Note(parse(kind, body)?),
            CUSTODIAN_BOOTSTRAP => CustodyEvent::CustodianBootstrap(parse(kind, body)?),
            CUSTODIAN_ADDED => CustodyEvent::CustodianAdded(parse(kind, body)?),
            CUSTODIAN_REMOVED => CustodyEvent::CustodianRemoved(parse(kind, body)?),
            CUSTODIAN_ROTATED => CustodyEvent::CustodianRotated(parse(kind, body)?),
            ACCOUNT_CLOSED => CustodyEvent::AccountClosed(parse(kind, body)?),
            KEY_ENROLLED => CustodyEvent::KeyEnrolled(parse(kind, body)?),
            KEY_REGISTRATION_CONFIRMED => {
                CustodyEvent::KeyRegistrationConfirmed(parse(kind, body)?)
            }
            ACCOUNT_ENROLLED => CustodyEvent::AccountEnrolled(parse(kind, body)?),
            KEY_CHECKED_OUT => CustodyEvent::KeyCheckedOut(parse(kind, body)?),
            KEY_CHECKED_IN => CustodyEvent::KeyCheckedIn(parse(kind, body)?),
            KEY_VERIFIED => CustodyEvent::KeyVerified(parse(kind, body)?),
            KEY_MOVED => CustodyEvent::KeyMoved(parse(kind, body)?),
            KEY_RETIRED => CustodyEvent::KeyRetired(parse(kind, body)?),
            AUDIT_COMPLETED => CustodyEvent::AuditCompleted(parse(kind, body)?),
            FINDING_ACCEPTED => CustodyEvent::FindingAccepted(parse(kind, body)?),
            REMEDIATION_APPROVED => CustodyEvent::RemediationApproved(parse(kind, body)?),
            REMEDIATION_COMPLETED => CustodyEvent::RemediationCompleted(parse(kind, body)?),
            _ => return Ok(None),
        };
        ev.validate()?;
        Ok(Some(ev))
    }

    /// The ledger kind of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            CustodyEvent::Note(_) => NOTE,
            CustodyEvent::CustodianBootstrap(_) => CUSTODIAN_BOOTSTRAP,
            CustodyEvent::CustodianAdded(_) => CUSTODIAN_ADDED,
            CustodyEvent::CustodianRemoved(_) => CUSTODIAN_REMOVED,
            CustodyEvent::CustodianRotated(_) => CUSTODIAN_ROTATED,
            CustodyEvent::AccountClosed(_) => ACCOUNT_CLOSED,
            CustodyEvent::KeyEnrolled(_) => KEY_ENROLLED,
            CustodyEvent::KeyRegistrationConfirmed(_) => KEY_REGISTRATION_CONFIRMED,
            CustodyEvent::AccountEnrolled(_) => ACCOUNT_ENROLLED,
            CustodyEvent::KeyCheckedOut(_) => KEY_CHECKED_OUT,
            CustodyEvent::KeyCheckedIn(_) => KEY_CHECKED_IN,
            CustodyEvent::KeyVerified(_) => KEY_VERIFIED,
            CustodyEvent::KeyMoved(_) => KEY_MOVED,
            CustodyEvent::KeyRetired(_) => KEY_RETIRED,
            CustodyEvent::AuditCompleted(_) => AUDIT_COMPLETED,
            CustodyEvent::FindingAccepted(_) => FINDING_ACCEPTED,
            CustodyEvent::RemediationApproved(_) => REMEDIATION_APPROVED,
            CustodyEvent::RemediationCompleted(_) => REMEDIATION_COMPLETED,
        }
    }

    /// The body as JSON for the ledger (validated first, so nothing invalid is ever appended).
    pub fn to_body(&self) -> Result<serde_json::Value, EventError> {
        self.validate()?;
        let v = match self {
            CustodyEvent::Note(b) => serde_json::to_value(b),
            CustodyEvent::CustodianBootstrap(b) => serde_json::to_value(b),
            CustodyEvent::CustodianAdded(b) => serde_json::to_value(b),
            CustodyEvent::CustodianRemoved(b) => serde_json::to_value(b),
            CustodyEvent::CustodianRotated(b) => serde_json::to_value(b),
            CustodyEvent::AccountClosed(b) => serde_json::to_value(b),
            CustodyEvent::KeyEnrolled(b) => serde_json::to_value(b),
            CustodyEvent::KeyRegistrationConfirmed(b) => serde_json::to_value(b),
            CustodyEvent::AccountEnrolled(b) => serde_json::to_value(b),
            CustodyEvent::KeyCheckedOut(b) => serde_json::to_value(b),
            CustodyEvent::KeyCheckedIn(b) => serde_json::to_value(b),
            CustodyEvent::KeyVerified(b) => serde_json::to_value(b),
            CustodyEvent::KeyMoved(b) => serde_json::to_value(b),
            CustodyEvent::KeyRetired(b) => serde_json::to_value(b),
            CustodyEvent::AuditCompleted(b) => serde_json::to_value(b),
            CustodyEvent::FindingAccepted(b) => serde_json::to_value(b),
            CustodyEvent::RemediationApproved(b) => serde_json::to_value(b),
            CustodyEvent::RemediationCompleted(b) => serde_json::to_value(b),
        };
        v.map_err(|e| EventError::Schema {
            kind: self.kind().to_string(),
            detail: e.to_string(),
        })
    }

    /// Checks what the schema alone cannot: every text a person typed is clean, windows are
    /// ordered, digests are hex.
    pub fn validate(&self) -> Result<(), EventError> {
        let kind = self.kind();
        let f = Fields(kind);
        let ids = |v: &[(&'static str, &str)]| -> Result<(), EventError> {
            v.iter()
                .try_for_each(|(field, x)| f.text(field, TextKind::Id, x))
        };
        match self {
            CustodyEvent::Note(b) => f.text("text", TextKind::Reason, &b.text)?,
            CustodyEvent::CustodianBootstrap(b) => {
                if b.custodians.len() != 2 {
                    return Err(f.invalid("custodians", "a bootstrap lists exactly two people"));
                }
                b.custodians
                    .iter()
                    .try_for_each(|c| validate_person(kind, c))?;
            }
            CustodyEvent::CustodianAdded(b) => validate_person(kind, &b.custodian)?,
            CustodyEvent::CustodianRemoved(b) => {
                f.text("id", TextKind::Id, &b.id)?;
                if let Some(r) = &b.reason {
                    f.text("reason", TextKind::Reason, r)?;
                }
            }
            CustodyEvent::KeyEnrolled(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                f.text("location", TextKind::Location, &b.location)?;
                f.text("bag_serial", TextKind::Serial, &b.bag_serial)?;
                f.text("model", TextKind::Name, &b.model)?;
                non_empty(kind, "aws_device_name", &b.aws_device_name)?;
                if uuid::Uuid::parse_str(&b.aaguid).is_err() {
                    return Err(f.invalid("aaguid", "not a UUID"));
                }
                if b.custody_credential_id.0.is_empty() {
                    return Err(f.invalid("custody_credential_id", "empty"));
                }
                crate::webauthn::CoseKey::parse(&b.custody_public_key.0)
                    .map_err(|e| f.invalid("custody_public_key", e.to_string()))?;
            }
            CustodyEvent::KeyRegistrationConfirmed(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                non_empty(kind, "serial_arn", &b.serial_arn)?;
            }
            CustodyEvent::AccountEnrolled(b) => {
                ids(&[
                    ("account_id", &b.account_id),
                    ("primary_key_id", &b.primary_key_id),
                    ("backup_key_id", &b.backup_key_id),
                ])?;
                if b.primary_key_id == b.backup_key_id {
                    return Err(f.invalid("backup_key_id", "same key as the primary"));
                }
            }
            CustodyEvent::KeyCheckedOut(b) => {
                ids(&[
                    ("key_id", &b.key_id),
                    ("account_id", &b.account_id),
                    ("requester", &b.requester),
                    ("approver", &b.approver),
                ])?;
                f.text("reason", TextKind::Reason, &b.reason)?;
                f.text("ticket", TextKind::Ticket, &b.ticket)?;
                f.text("bag_broken", TextKind::Serial, &b.bag_broken)?;
                if b.window_end <= b.window_start {
                    return Err(f.invalid("window_end", "not after window_start"));
                }
                if text::id_key(&b.requester) == text::id_key(&b.approver) {
                    return Err(f.invalid("approver", "same person as the requester"));
                }
            }
            CustodyEvent::KeyCheckedIn(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                f.text("bag_serial", TextKind::Serial, &b.bag_serial)?;
            }
            CustodyEvent::KeyVerified(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                if let Some(bag) = &b.bag_serial {
                    f.text("bag_serial", TextKind::Serial, bag)?;
                }
            }
            CustodyEvent::KeyMoved(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                f.text("from_location", TextKind::Location, &b.from_location)?;
                f.text("to_location", TextKind::Location, &b.to_location)?;
                f.text("reason", TextKind::Reason, &b.reason)?;
                f.text("bag_serial", TextKind::Serial, &b.bag_serial)?;
            }
            CustodyEvent::KeyRetired(b) => {
                ids(&[("key_id", &b.key_id), ("account_id", &b.account_id)])?;
                f.text("note", TextKind::Reason, &b.note)?;
            }
            CustodyEvent::CustodianRotated(b) => {
                f.text("id", TextKind::Id, &b.id)?;
                f.text("model", TextKind::Name, &b.model)?;
                f.text("reason", TextKind::Reason, &b.reason)?;
                if uuid::Uuid::parse_str(&b.aaguid).is_err() {
                    return Err(f.invalid("aaguid", "not a UUID"));
                }
                if b.credential_id.0.is_empty() {
                    return Err(f.invalid("credential_id", "empty"));
                }
                crate::webauthn::CoseKey::parse(&b.public_key.0)
                    .map_err(|e| f.invalid("public_key", e.to_string()))?;
            }
            CustodyEvent::AccountClosed(b) => {
                f.text("account_id", TextKind::Id, &b.account_id)?;
                f.text("note", TextKind::Reason, &b.note)?;
            }
            CustodyEvent::AuditCompleted(b) => {
                let d = &b.report_sha256;
                if d.len() != 64 || !d.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(f.invalid("report_sha256", "not 64 lowercase hex digits"));
                }
                if !matches!(b.format.as_str(), "md" | "html" | "json") {
                    return Err(f.invalid("format", "must be md, html or json"));
                }
                if !matches!(b.verdict.as_str(), "pass" | "findings" | "fail") {
                    return Err(f.invalid("verdict", "must be pass, findings or fail"));
                }
                non_empty(kind, "checkpoint", &b.checkpoint)?;
                if b.period_end < b.period_start {
                    return Err(f.invalid("period_end", "before period_start"));
                }
            }
            CustodyEvent::FindingAccepted(b) => {
                if !crate::findings::is_instance_id(&b.finding_id) {
                    return Err(f.invalid("finding_id", "not 16 lowercase hex digits"));
                }
                f.text("check", TextKind::Id, &b.check)?;
                if let Some(a) = &b.account_id {
                    f.text("account_id", TextKind::Id, a)?;
                }
                non_empty(kind, "resource", &b.resource)?;
                f.text("reason", TextKind::Reason, &b.reason)?;
                f.text("ticket", TextKind::Ticket, &b.ticket)?;
            }
            CustodyEvent::RemediationApproved(b) => b.validate(kind)?,
            CustodyEvent::RemediationCompleted(b) => b.validate(kind)?,
        }
        Ok(())
    }
}

/// Checks a person's spec: clean id and name, a readable public key, a UUID AAGUID.
fn validate_person(kind: &str, c: &CustodianSpec) -> Result<(), EventError> {
    let f = Fields(kind);
    text::check("id", TextKind::Id, &c.id).map_err(|e| f.invalid("id", e.to_string()))?;
    text::check("name", TextKind::Name, &c.name).map_err(|e| f.invalid("name", e.to_string()))?;
    text::check("model", TextKind::Name, &c.model)
        .map_err(|e| f.invalid("model", e.to_string()))?;
    if uuid::Uuid::parse_str(&c.aaguid).is_err() {
        return Err(f.invalid("aaguid", "not a UUID"));
    }
    if c.credential_id.0.is_empty() {
        return Err(f.invalid("credential_id", "empty"));
    }
    crate::webauthn::CoseKey::parse(&c.public_key.0)
        .map_err(|e| f.invalid("public_key", e.to_string()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Remediation of root credentials (`remediation.approved`, `remediation.completed`)

pub use crate::aws::remediate::{
    CredentialKind, CredentialRef, ItemOutcome, ItemResult, PlanItem, RemediationFinding,
    LOGIN_PROFILE_ID,
};

/// Body of `remediation.approved`: the exact plan two custodians approved. Their approvals sign
/// this body, so they bind the plan and its digest and cannot be replayed for another plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationApproved {
    /// The account whose root credentials go.
    pub account_id: String,
    /// The finding being fixed.
    pub finding: RemediationFinding,
    /// Exactly what will be deleted or deactivated.
    pub items: Vec<PlanItem>,
    /// SHA-256 of the plan (see [`plan_sha256`]), recomputed by the fold.
    pub plan_sha256: String,
    /// Items used within this many days are refused unless `force_recent_use`.
    pub recent_days: u32,
    /// Whether recently used items were knowingly included (needs a reason).
    pub force_recent_use: bool,
    /// Why, in the custodians' words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Change or incident ticket.
    #[serde(default)]
    pub ticket: Option<String>,
    /// The earlier approval whose plan this one finishes (a re-run after a partial failure).
    #[serde(default)]
    pub continues: Option<u64>,
}

/// Body of `remediation.completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationCompleted {
    /// The `remediation.approved` entry this run carried out.
    pub approval_seq: u64,
    /// Its account.
    pub account_id: String,
    /// Its plan digest.
    pub plan_sha256: String,
    /// One result per plan item, in plan order.
    pub results: Vec<ItemResult>,
    /// The finding's credentials AWS still lists after the run (`None`: the re-read failed).
    #[serde(default)]
    pub aws_now: Option<Vec<CredentialRef>>,
    /// Why the re-read failed, if it did.
    #[serde(default)]
    pub reread_error: Option<String>,
}

/// SHA-256 (lowercase hex) of a plan: the canonical JSON of account, finding and items.
pub fn plan_sha256(
    account_id: &str,
    finding: RemediationFinding,
    items: &[PlanItem],
) -> Result<String, EventError> {
    let v = serde_json::json!({
        "account_id": account_id,
        "finding": finding,
        "items": items,
    });
    let bytes = crate::ledger::canonical::to_vec(&v).map_err(|e| EventError::Schema {
        kind: REMEDIATION_APPROVED.into(),
        detail: e.to_string(),
    })?;
    Ok(hex::encode(crate::ledger::tree::sha256(&bytes)))
}

impl RemediationApproved {
    fn validate(&self, kind: &str) -> Result<(), EventError> {
        let f = Fields(kind);
        if !is_account_id(&self.account_id) {
            return Err(f.invalid("account_id", "not 12 digits"));
        }
        if self.items.is_empty() {
            return Err(f.invalid("items", "a plan names at least one credential"));
        }
        for i in &self.items {
            validate_credential_id(i.kind, &i.id).map_err(|d| f.invalid("items", d))?;
            if i.kind != self.finding.credential() {
                return Err(f.invalid(
                    "items",
                    format!(
                        "{} {} is not a credential {} removes",
                        i.kind.as_str(),
                        i.id,
                        self.finding.as_str()
                    ),
                ));
            }
            if let Some(s) = &i.last_used_service {
                f.text("last_used_service", TextKind::Id, s)?;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        if !self.items.iter().all(|i| seen.insert(&i.id)) {
            return Err(f.invalid("items", "an item is named twice"));
        }
        if let Some(r) = &self.reason {
            f.text("reason", TextKind::Reason, r)?;
        }
        if let Some(x) = &self.ticket {
            f.text("ticket", TextKind::Ticket, x)?;
        }
        if self.force_recent_use && self.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(f.invalid("reason", "force_recent_use needs a reason"));
        }
        let want = plan_sha256(&self.account_id, self.finding, &self.items)?;
        if self.plan_sha256 != want {
            return Err(f.invalid(
                "plan_sha256",
                "does not match the plan's account, finding and items",
            ));
        }
        Ok(())
    }
}

impl RemediationCompleted {
    fn validate(&self, kind: &str) -> Result<(), EventError> {
        let f = Fields(kind);
        if !is_account_id(&self.account_id) {
            return Err(f.invalid("account_id", "not 12 digits"));
        }
        let d = &self.plan_sha256;
        if d.len() != 64 || !d.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(f.invalid("plan_sha256", "not 64 lowercase hex digits"));
        }
        for r in &self.results {
            validate_credential_id(r.kind, &r.id).map_err(|e| f.invalid("results", e))?;
            match (r.outcome, &r.error_code) {
                (ItemOutcome::Failed, None) => {
                    return Err(
                        f.invalid("results", format!("{} failed without an error code", r.id))
                    )
                }
                (ItemOutcome::Done | ItemOutcome::NotAttempted | ItemOutcome::Absent, Some(_)) => {
                    return Err(f.invalid(
                        "results",
                        format!("{} has an error code but did not fail", r.id),
                    ))
                }
                _ => {}
            }
            if let Some(c) = &r.error_code {
                f.text("error_code", TextKind::Id, c)?;
            }
            if let Some(m) = &r.error_message {
                f.text("error_message", TextKind::Reason, m)?;
            }
        }
        for c in self.aws_now.iter().flatten() {
            validate_credential_id(c.kind, &c.id).map_err(|e| f.invalid("aws_now", e))?;
        }
        if let Some(e) = &self.reread_error {
            f.text("reread_error", TextKind::Reason, e)?;
        }
        if self.aws_now.is_some() == self.reread_error.is_some() {
            return Err(f.invalid(
                "aws_now",
                "either what AWS shows now or why it could not be read, not both or neither",
            ));
        }
        // "Absent" is a claim about what AWS lists: it needs the listing, and must agree with it.
        for r in self
            .results
            .iter()
            .filter(|r| r.outcome == ItemOutcome::Absent)
        {
            let listed = self
                .aws_now
                .as_ref()
                .map(|now| now.iter().any(|c| c.kind == r.kind && c.id == r.id));
            if listed != Some(false) {
                return Err(f.invalid(
                    "results",
                    format!(
                        "{} is recorded as absent, but aws_now {}",
                        r.id,
                        if listed.is_some() {
                            "lists it"
                        } else {
                            "was not read"
                        }
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS credential id: printable ASCII without spaces (MFA serials are ARNs), and the fixed
/// id for the login profile.
fn validate_credential_id(kind: CredentialKind, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 512
        && id.bytes().all(|b| b.is_ascii_graphic())
        && (kind == CredentialKind::LoginProfile) == (id == LOGIN_PROFILE_ID);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a {} id",
            text::escape(id),
            kind.as_str()
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A valid COSE ES256 public key (the P-256 generator point) for bodies in tests.
    pub(crate) fn sample_cose() -> Vec<u8> {
        let x: [u8; 32] = [
            0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
            0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45,
            0xd8, 0x98, 0xc2, 0x96,
        ];
        let y: [u8; 32] = [
            0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f,
            0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68,
            0x37, 0xbf, 0x51, 0xf5,
        ];
        crate::webauthn::CoseKey::Es256 { x, y }.to_cbor()
    }

    pub(crate) fn enrolled_body() -> serde_json::Value {
        json!({
            "key_id": "a1b2c3d4",
            "account_id": "111122223333",
            "role": "primary",
            "aaguid": "ee882879-721c-4913-9775-3dfcce97072a",
            "model": "YubiKey 5 NFC",
            "firmware": "5.7.1",
            "attestation": {"fmt": "packed", "trust_root": "Yubico FIDO Root CA Serial 450203556", "assurance": "hardware", "certification": "FIDO_CERTIFIED_L1"},
            "custody_credential_id": b64url(b"cred-1"),
            "custody_public_key": b64url(&sample_cose()),
            "location": "Safe A, Dublin",
            "bag_serial": "BAG-0001",
            "aws_device_name": "rootkey-a1b2c3d4"
        })
    }

    #[test]
    fn enrolled_round_trips_through_json() {
        let body = enrolled_body();
        let ev = CustodyEvent::decode(KEY_ENROLLED, &body).unwrap().unwrap();
        assert_eq!(ev.kind(), KEY_ENROLLED);
        assert_eq!(ev.to_body().unwrap(), body);
    }

    #[test]
    fn unknown_kinds_are_not_custody_events() {
        assert_eq!(
            CustodyEvent::decode("key.checked_out.typo", &json!({"x": 1})).unwrap(),
            None
        );
        // Every known kind has a body shape: a wrong one is an error, not an unknown kind.
        for kind in KINDS {
            assert!(
                CustodyEvent::decode(kind, &json!({"x": 1})).is_err(),
                "{kind}"
            );
        }
    }

    #[test]
    fn user_text_with_control_or_bidi_characters_is_invalid() {
        for (field, bad) in [
            ("location", "Safe A\u{1b}[31m"),
            ("location", "Safe\nFake prompt> "),
            ("location", "Safe \u{202e}A"),
            ("bag_serial", "BAG\u{200b}1"),
            ("model", "Yubi\u{7}Key"),
        ] {
            let mut b = enrolled_body();
            b[field] = json!(bad);
            assert!(
                CustodyEvent::decode(KEY_ENROLLED, &b).is_err(),
                "{field} {bad:?}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut body = enrolled_body();
        body["extra"] = json!("x");
        let err = CustodyEvent::decode(KEY_ENROLLED, &body).unwrap_err();
        assert!(matches!(err, EventError::Schema { .. }), "{err}");
    }

    #[test]
    fn padded_or_invalid_base64_is_rejected() {
        let mut body = enrolled_body();
        body["custody_credential_id"] = json!("Y3JlZA==");
        assert!(CustodyEvent::decode(KEY_ENROLLED, &body).is_err());
        body["custody_credential_id"] = json!("not base64!");
        assert!(CustodyEvent::decode(KEY_ENROLLED, &body).is_err());
    }

    #[test]
    fn enrolled_with_a_broken_public_key_is_invalid() {
        let mut body = enrolled_body();
        body["custody_public_key"] = json!(b64url(b"\x01\x02"));
        let err = CustodyEvent::decode(KEY_ENROLLED, &body).unwrap_err();
        assert!(
            matches!(
                err,
                EventError::Invalid {
                    field: "custody_public_key",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn checkout_window_must_be_ordered_and_people_distinct() {
        let body = json!({
            "key_id": "k", "account_id": "1", "reason": "r", "ticket": "T-1",
            "window_start": "2025-01-01T10:00:00Z", "window_end": "2025-01-01T09:00:00Z",
            "requester": "alice", "approver": "bob", "bag_broken": "B1"
        });
        let err = CustodyEvent::decode(KEY_CHECKED_OUT, &body).unwrap_err();
        assert!(matches!(
            err,
            EventError::Invalid {
                field: "window_end",
                ..
            }
        ));
        let mut body = body;
        body["window_end"] = json!("2025-01-01T11:00:00Z");
        body["approver"] = json!("alice");
        let err = CustodyEvent::decode(KEY_CHECKED_OUT, &body).unwrap_err();
        assert!(matches!(
            err,
            EventError::Invalid {
                field: "approver",
                ..
            }
        ));
        body["approver"] = json!("bob");
        assert!(CustodyEvent::decode(KEY_CHECKED_OUT, &body)
            .unwrap()
            .is_some());
    }

    #[test]
    fn floats_are_not_accepted_where_integers_belong() {
        let body = json!({
            "key_id": "k", "account_id": "1", "bag_serial": "B2", "late": false,
            "proof": {"challenge": "AA", "authenticator_data": "AA", "client_data_json": "AA",
                      "signature": "AA", "counter": 1.5}
        });
        assert!(CustodyEvent::decode(KEY_CHECKED_IN, &body).is_err());
    }

    #[test]
    fn finding_accepted_checks_its_id_and_texts() {
        let good = json!({
            "finding_id": "0123456789abcdef", "check": "ROOT-LOGIN-UNEXPLAINED",
            "account_id": "111122223333", "resource": "2025-01-01T00:00:00Z 192.0.2.1",
            "reason": "explained by INC-4711", "ticket": "RISK-1", "until": "2025-06-30T00:00:00Z"
        });
        assert!(CustodyEvent::decode(FINDING_ACCEPTED, &good)
            .unwrap()
            .is_some());
        for (field, value) in [
            ("finding_id", json!("0123456789ABCDEF")),
            ("finding_id", json!("0123")),
            ("reason", json!("hidden\u{202e}text")),
            ("reason", json!(" ")),
            ("resource", json!("")),
            ("check", json!("ROOT LOGIN")),
        ] {
            let mut bad = good.clone();
            bad[field] = value.clone();
            assert!(
                CustodyEvent::decode(FINDING_ACCEPTED, &bad).is_err(),
                "{field} = {value}"
            );
        }
        let mut extra = good.clone();
        extra["hidden"] = json!(true);
        assert!(CustodyEvent::decode(FINDING_ACCEPTED, &extra).is_err());
    }

    #[test]
    fn audit_completed_checks_digest_format_and_verdict() {
        let good = json!({
            "report_sha256": "a".repeat(64), "format": "md", "checkpoint": "origin\n1\nabc\n",
            "period_start": "2025-01-01T00:00:00Z", "period_end": "2025-03-31T00:00:00Z",
            "verdict": "findings",
            "counts": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
            "findings": ["KEY-CHECKIN-OVERDUE|k1"], "accounts": ["111122223333"]
        });
        assert!(CustodyEvent::decode(AUDIT_COMPLETED, &good)
            .unwrap()
            .is_some());
        for (field, bad) in [
            ("report_sha256", json!("A".repeat(64))),
            ("format", json!("pdf")),
            ("verdict", json!("ok")),
        ] {
            let mut b = good.clone();
            b[field] = bad;
            assert!(
                CustodyEvent::decode(AUDIT_COMPLETED, &b).is_err(),
                "{field}"
            );
        }
    }

    #[test]
    fn every_custody_kind_is_in_the_ledger_table() {
        for kind in [
            KEY_ENROLLED,
            KEY_REGISTRATION_CONFIRMED,
            ACCOUNT_ENROLLED,
            KEY_CHECKED_OUT,
            KEY_CHECKED_IN,
            KEY_VERIFIED,
            KEY_MOVED,
            KEY_RETIRED,
            AUDIT_COMPLETED,
        ] {
            assert!(KINDS.contains(&kind), "{kind}");
        }
    }
}
