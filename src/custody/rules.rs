//! The custody rules, as pure functions over the custody state and plain input facts.
//!
//! Flows call these before they touch a device or append to the ledger, so a refused request
//! leaves nothing behind; the audit calls the comparison and matching functions to produce its
//! findings. Nothing here does I/O.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::events::{KeyCheckedIn, KeyCheckedOut, KeyMoved, KeyVerified, PossessionProof};
use super::state::{CheckoutRecord, CustodyState, KeyState, KeyStatus};
use crate::aws::{AccountReport, MfaDevice, MfaKind, RootLogin};
use crate::device::CUSTODY_RP_ID;
use crate::ledger::{Custodian, Role};
use crate::report::{Finding, FindingSource, LoginExplanation, Severity};
use crate::webauthn::{self, AuthData, ClientData, CoseKey};

/// AWS allows at most this many MFA devices on a root user.
pub const MAX_ROOT_MFA_DEVICES: usize = 8;
/// Longest break-glass window: a key out for longer is no longer "break-glass".
pub const MAX_CHECKOUT_WINDOW: Duration = Duration::days(7);
/// Shortest window: anything shorter is a typo (`5s` for `5h`).
pub const MIN_CHECKOUT_WINDOW: Duration = Duration::minutes(5);
/// A key whose last possession proof is older than this is a finding.
pub const POSSESSION_MAX_AGE: Duration = Duration::days(90);
/// Tolerance between CloudTrail's clock and the custodians' workstation when matching logins.
pub const LOGIN_CLOCK_SKEW: Duration = Duration::minutes(2);
/// Prefix of the AWS device name rootkey proposes.
pub const AWS_DEVICE_PREFIX: &str = "rootkey-";

/// Why a custody request is refused. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Approver id is not in the custodian registry.
    #[error("{0} is not a registered custodian: check `rootkey custodian list`")]
    NotACustodian(String),
    /// Approver was removed.
    #[error(
        "custodian {0} has been removed and can no longer approve: ask another active custodian"
    )]
    CustodianInactive(String),
    /// Approver is an auditor.
    #[error(
        "{0} is an auditor; auditors observe but cannot approve custody changes: ask a custodian"
    )]
    AuditorCannotApprove(String),
    /// The two approvers are one person.
    #[error("dual control needs two different people, but {first} and {second} are the same person: ask a second custodian")]
    SamePerson {
        /// First approver.
        first: String,
        /// Second approver.
        second: String,
    },
    /// Not a 12-digit AWS account id.
    #[error("{0:?} is not an AWS account id (12 digits)")]
    InvalidAccountId(String),
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Primary and backup would share a location.
    #[error("primary and backup keys must be stored apart, but both locations read {0:?}: choose a second location")]
    SameLocation(String),
    /// The bag serial was used before (bags are single use).
    #[error("tamper-evident bag {0} has already been used; seal the key in a new bag and give its serial")]
    BagReused(String),
    /// Primary and backup were given the same bag.
    #[error("primary and backup cannot share bag {0}: seal each key in its own bag")]
    SameBag(String),
    /// Primary and backup are the same physical key.
    #[error("primary and backup are the same physical key: present two different keys")]
    SamePhysicalKey,
    /// The key is already in custody.
    #[error("this key is already enrolled as {key_id} for account {account_id}: use another key, or retire {key_id} first")]
    AlreadyEnrolled {
        /// Existing key id.
        key_id: String,
        /// Its account.
        account_id: String,
    },
    /// Too many MFA devices on root.
    #[error("root of this account already has {existing} MFA devices; adding {adding} would exceed AWS's limit of {max}: remove unused devices first")]
    TooManyDevices {
        /// Devices AWS shows now.
        existing: usize,
        /// Devices to add.
        adding: usize,
        /// AWS's limit.
        max: usize,
    },
    /// Derived key id collides with an existing key.
    #[error("key id {0} is already taken by another key: make a new custody credential and retry")]
    KeyIdCollision(String),
    /// No such key.
    #[error("no key {0} in custody: check `rootkey keys list`")]
    UnknownKey(String),
    /// The key is retired.
    #[error("key {0} is retired and no longer in custody")]
    KeyRetired(String),
    /// The key is not in the safe.
    #[error("key {0} is checked out; check it in first")]
    KeyCheckedOut(String),
    /// The account's other key is out: one key must stay in the safe.
    #[error("key {other} of the same account is checked out; check it in before taking out {key_id}, so one key always stays in the safe")]
    OtherKeyOut {
        /// The requested key.
        key_id: String,
        /// The other key of the account that is out.
        other: String,
    },
    /// Check-in of a key that is not out.
    #[error("key {0} is not checked out; to prove a key in the safe is present use `rootkey keys verify`")]
    KeyNotCheckedOut(String),
    /// The window text does not parse.
    #[error("window {text:?} is not a duration ({detail}); write e.g. 4h, 90m or 2d")]
    BadWindow {
        /// What was given.
        text: String,
        /// Parser message.
        detail: String,
    },
    /// The window is out of bounds.
    #[error("window {text:?} must be between 5 minutes and 7 days")]
    WindowOutOfRange {
        /// What was given.
        text: String,
    },
    /// The move keeps the key where it is.
    #[error("key {0} is already at that location")]
    SameLocationAsBefore(String),
    /// The move would put both of an account's keys together.
    #[error("key {key_id} would be stored at the same location as key {other} of the same account: choose another location")]
    TogetherWithOtherKey {
        /// The key moved.
        key_id: String,
        /// The other key.
        other: String,
    },
    /// The key in hand did not prove it is the enrolled key.
    #[error("possession proof for key {key_id} refused: {reason}. Is this the right key? A different key cannot answer for {key_id}")]
    PossessionRefused {
        /// The key.
        key_id: String,
        /// What failed.
        reason: String,
    },
}

fn refused(key: &KeyState, reason: impl Into<String>) -> RuleError {
    RuleError::PossessionRefused {
        key_id: key.key_id.clone(),
        reason: reason.into(),
    }
}

fn require(field: &'static str, v: &str) -> Result<(), RuleError> {
    if v.trim().is_empty() {
        Err(RuleError::Empty(field))
    } else {
        Ok(())
    }
}

/// Short id of a key: the first 4 bytes of SHA-256 of its custody public key, hex (8 chars).
pub fn key_id_for(custody_public_key: &[u8]) -> String {
    hex::encode(&webauthn::sha256(custody_public_key)[..4])
}

/// The device name to type in the AWS console, so that the serial ARN names the physical key.
pub fn aws_device_name(key_id: &str) -> String {
    format!("{AWS_DEVICE_PREFIX}{key_id}")
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_aws_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Location text reduced to what matters for "the same place": case, spacing and punctuation
/// dropped, so `Safe A, Dublin` and `safe a dublin` compare equal.
pub fn normalise_location(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Custodians and dual control

fn person_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Dual control: two different people, both active custodians with the custodian role
/// (`custodians` is the ledger registry, [`crate::ledger::Registry::all`]).
///
/// Ids are compared case- and space-insensitively, and so are display names: two registry
/// entries with the same name are treated as one person, because approving twice under two ids
/// is exactly what dual control must stop.
pub fn check_dual_control(
    first: &str,
    second: &str,
    custodians: &[Custodian],
) -> Result<(), RuleError> {
    let mut found = Vec::with_capacity(2);
    for id in [first, second] {
        let c = custodians
            .iter()
            .find(|c| person_key(&c.id) == person_key(id))
            .ok_or_else(|| RuleError::NotACustodian(id.to_string()))?;
        if c.removed_seq.is_some() {
            return Err(RuleError::CustodianInactive(c.id.clone()));
        }
        if c.role != Role::Custodian {
            return Err(RuleError::AuditorCannotApprove(c.id.clone()));
        }
        found.push(c);
    }
    let (a, b) = (found[0], found[1]);
    if person_key(&a.id) == person_key(&b.id) || person_key(&a.name) == person_key(&b.name) {
        return Err(RuleError::SamePerson {
            first: first.to_string(),
            second: second.to_string(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Enrollment

/// One key presented for enrollment, after attestation passed and its custody credential was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateKey {
    /// AAGUID, hyphenated.
    pub aaguid: String,
    /// New custody credential id.
    pub custody_credential_id: Vec<u8>,
    /// New custody credential COSE public key.
    pub custody_public_key: Vec<u8>,
    /// Storage location.
    pub location: String,
    /// Bag serial.
    pub bag_serial: String,
    /// Custody credential ids this device answered for when probed (an assertion with
    /// `up=false` over an allow list of every active custody credential plus the other
    /// candidate's). A device that knows a credential holds it: that is how the same physical
    /// key is recognised, since each make-credential gives a new key pair.
    pub recognised_credentials: Vec<Vec<u8>>,
}

/// An onboarding request for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRequest {
    /// Account id.
    pub account_id: String,
    /// Primary key.
    pub primary: CandidateKey,
    /// Backup key.
    pub backup: CandidateKey,
    /// The two approving custodians.
    pub custodians: [String; 2],
    /// MFA devices AWS shows on the account's root now (from the posture reader).
    pub root_mfa_devices: usize,
}

/// Key ids assigned by a successful enrollment check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentPlan {
    /// Primary key id.
    pub primary_key_id: String,
    /// Backup key id.
    pub backup_key_id: String,
}

/// Checks an onboarding request against the rules and the ledger; assigns key ids.
pub fn check_enrollment(
    state: &CustodyState,
    req: &EnrollmentRequest,
    custodians: &[Custodian],
) -> Result<EnrollmentPlan, RuleError> {
    if !is_aws_account_id(&req.account_id) {
        return Err(RuleError::InvalidAccountId(req.account_id.clone()));
    }
    check_dual_control(&req.custodians[0], &req.custodians[1], custodians)?;
    let (p, b) = (&req.primary, &req.backup);
    require("primary location", &p.location)?;
    require("backup location", &b.location)?;
    require("primary bag serial", &p.bag_serial)?;
    require("backup bag serial", &b.bag_serial)?;
    let loc = normalise_location(&p.location);
    if loc == normalise_location(&b.location) {
        return Err(RuleError::SameLocation(loc));
    }
    if p.bag_serial.trim() == b.bag_serial.trim() {
        return Err(RuleError::SameBag(p.bag_serial.clone()));
    }
    for bag in [&p.bag_serial, &b.bag_serial] {
        if state.used_bags.contains(bag.trim()) {
            return Err(RuleError::BagReused(bag.clone()));
        }
    }
    let same = p.custody_credential_id == b.custody_credential_id
        || p.custody_public_key == b.custody_public_key
        || p.recognised_credentials.contains(&b.custody_credential_id)
        || b.recognised_credentials.contains(&p.custody_credential_id);
    if same {
        return Err(RuleError::SamePhysicalKey);
    }
    for cand in [p, b] {
        for key in state.keys.values().filter(|k| k.is_active()) {
            if key.custody_credential_id == cand.custody_credential_id
                || key.custody_public_key == cand.custody_public_key
                || cand
                    .recognised_credentials
                    .contains(&key.custody_credential_id)
            {
                return Err(RuleError::AlreadyEnrolled {
                    key_id: key.key_id.clone(),
                    account_id: key.account_id.clone(),
                });
            }
        }
    }
    if req.root_mfa_devices + 2 > MAX_ROOT_MFA_DEVICES {
        return Err(RuleError::TooManyDevices {
            existing: req.root_mfa_devices,
            adding: 2,
            max: MAX_ROOT_MFA_DEVICES,
        });
    }
    let primary_key_id = key_id_for(&p.custody_public_key);
    let backup_key_id = key_id_for(&b.custody_public_key);
    for id in [&primary_key_id, &backup_key_id] {
        if state.keys.contains_key(id) {
            return Err(RuleError::KeyIdCollision(id.clone()));
        }
    }
    if primary_key_id == backup_key_id {
        return Err(RuleError::KeyIdCollision(primary_key_id));
    }
    Ok(EnrollmentPlan {
        primary_key_id,
        backup_key_id,
    })
}

// ---------------------------------------------------------------------------------------------
// Checkout, check-in, verification, moves

/// Parses a window such as `4h`, `90m` or `2d` (humantime), bounded to 5 minutes .. 7 days.
pub fn parse_window(text: &str) -> Result<Duration, RuleError> {
    let std = humantime::parse_duration(text.trim()).map_err(|e| RuleError::BadWindow {
        text: text.to_string(),
        detail: e.to_string(),
    })?;
    let d = Duration::try_from(std).map_err(|_| RuleError::WindowOutOfRange {
        text: text.to_string(),
    })?;
    if !(MIN_CHECKOUT_WINDOW..=MAX_CHECKOUT_WINDOW).contains(&d) {
        return Err(RuleError::WindowOutOfRange {
            text: text.to_string(),
        });
    }
    Ok(d)
}

fn active_key<'a>(state: &'a CustodyState, key_id: &str) -> Result<&'a KeyState, RuleError> {
    let key = state
        .keys
        .get(key_id)
        .ok_or_else(|| RuleError::UnknownKey(key_id.to_string()))?;
    if !key.is_active() {
        return Err(RuleError::KeyRetired(key_id.to_string()));
    }
    Ok(key)
}

/// A break-glass checkout request as the custodians typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Key id.
    pub key_id: String,
    /// Why.
    pub reason: String,
    /// Ticket reference.
    pub ticket: String,
    /// Window text (`4h`).
    pub window: String,
    /// Requesting custodian.
    pub requester: String,
    /// Approving custodian.
    pub approver: String,
}

/// Checks a checkout and returns the `key.checked_out` body to have approved and appended.
pub fn plan_checkout(
    state: &CustodyState,
    req: &CheckoutRequest,
    custodians: &[Custodian],
    now: OffsetDateTime,
) -> Result<KeyCheckedOut, RuleError> {
    require("reason", &req.reason)?;
    require("ticket", &req.ticket)?;
    check_dual_control(&req.requester, &req.approver, custodians)?;
    let window = parse_window(&req.window)?;
    // Ledger times are UTC to the second, so the same instant always encodes the same way.
    let now = now.to_offset(time::UtcOffset::UTC);
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let key = active_key(state, &req.key_id)?;
    if key.status != KeyStatus::InSafe {
        return Err(RuleError::KeyCheckedOut(key.key_id.clone()));
    }
    if let Some(other) = state
        .active_keys_of(&key.account_id)
        .into_iter()
        .find(|k| k.key_id != key.key_id && matches!(k.status, KeyStatus::CheckedOut { .. }))
    {
        return Err(RuleError::OtherKeyOut {
            key_id: key.key_id.clone(),
            other: other.key_id.clone(),
        });
    }
    Ok(KeyCheckedOut {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        reason: req.reason.trim().to_string(),
        ticket: req.ticket.trim().to_string(),
        window_start: now,
        window_end: now + window,
        requester: req.requester.clone(),
        approver: req.approver.clone(),
        bag_broken: key.bag_serial.clone(),
    })
}

/// Whether a key due back at `window_end` is late at `now`.
pub fn is_late(window_end: OffsetDateTime, now: OffsetDateTime) -> bool {
    now > window_end
}

/// Verifies that `proof` is an assertion by `key`'s custody credential over `expected_challenge`.
///
/// Checks RP ID, user presence, client data type and challenge, the signature, and that the
/// signature counter moved forward (a clone would have its own counter). Counters that stay at
/// zero are accepted: some authenticators never count.
pub fn verify_possession(
    key: &KeyState,
    proof: &PossessionProof,
    expected_challenge: &[u8],
) -> Result<(), RuleError> {
    let public = CoseKey::parse(&key.custody_public_key)
        .map_err(|e| refused(key, format!("stored custody key unreadable: {e}")))?;
    if proof.challenge.as_bytes() != expected_challenge {
        return Err(refused(key, "the proof answers a different challenge"));
    }
    let auth = AuthData::parse(proof.authenticator_data.as_bytes())
        .map_err(|e| refused(key, format!("authenticator data: {e}")))?;
    if !auth.is_for_rp(CUSTODY_RP_ID) {
        return Err(refused(
            key,
            format!("the assertion is not for {CUSTODY_RP_ID}"),
        ));
    }
    if !auth.flags.user_present() {
        return Err(refused(
            key,
            "the key did not register a touch (user presence)",
        ));
    }
    let cd = ClientData::parse(proof.client_data_json.as_bytes())
        .map_err(|e| refused(key, e.to_string()))?;
    cd.check(webauthn::client_data::TYPE_GET, expected_challenge)
        .map_err(|e| refused(key, e.to_string()))?;
    let mut message = auth.raw.clone();
    message.extend_from_slice(&webauthn::sha256(proof.client_data_json.as_bytes()));
    public
        .verify(&message, proof.signature.as_bytes())
        .map_err(|_| {
            refused(
                key,
                "the signature does not verify with this key's custody credential",
            )
        })?;
    if auth.sign_count != proof.counter {
        return Err(refused(
            key,
            "the recorded counter differs from the authenticator data",
        ));
    }
    if (auth.sign_count != 0 || key.last_counter != 0) && auth.sign_count <= key.last_counter {
        return Err(refused(
            key,
            format!(
                "signature counter {} did not increase past {}: the key may have been cloned",
                auth.sign_count, key.last_counter
            ),
        ));
    }
    Ok(())
}

/// A check-in request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinRequest {
    /// Key id.
    pub key_id: String,
    /// Serial of the new bag.
    pub bag_serial: String,
    /// The two approving custodians.
    pub custodians: [String; 2],
}

/// Checks a check-in, verifies the key's possession proof, and returns the `key.checked_in` body.
pub fn plan_checkin(
    state: &CustodyState,
    req: &CheckinRequest,
    custodians: &[Custodian],
    proof: PossessionProof,
    expected_challenge: &[u8],
    now: OffsetDateTime,
) -> Result<KeyCheckedIn, RuleError> {
    require("bag serial", &req.bag_serial)?;
    check_dual_control(&req.custodians[0], &req.custodians[1], custodians)?;
    let key = active_key(state, &req.key_id)?;
    let checkout = state
        .open_checkout(key)
        .ok_or_else(|| RuleError::KeyNotCheckedOut(key.key_id.clone()))?;
    let bag = req.bag_serial.trim();
    if state.used_bags.contains(bag) {
        return Err(RuleError::BagReused(bag.to_string()));
    }
    verify_possession(key, &proof, expected_challenge)?;
    Ok(KeyCheckedIn {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        bag_serial: bag.to_string(),
        late: is_late(checkout.window_end, now),
        proof,
    })
}

/// Checks a possession check of a key and returns the `key.verified` body.
pub fn plan_verify(
    state: &CustodyState,
    key_id: &str,
    proof: PossessionProof,
    expected_challenge: &[u8],
    new_bag: Option<&str>,
) -> Result<KeyVerified, RuleError> {
    let key = active_key(state, key_id)?;
    let bag_serial = match new_bag.map(str::trim) {
        Some("") => return Err(RuleError::Empty("bag serial")),
        Some(b) if state.used_bags.contains(b) => return Err(RuleError::BagReused(b.to_string())),
        Some(b) => Some(b.to_string()),
        None => None,
    };
    verify_possession(key, &proof, expected_challenge)?;
    Ok(KeyVerified {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        proof,
        bag_serial,
    })
}

/// Checks a move of a key in the safe to another location and returns the `key.moved` body.
pub fn plan_move(
    state: &CustodyState,
    key_id: &str,
    to_location: &str,
    new_bag: Option<&str>,
    reason: &str,
) -> Result<KeyMoved, RuleError> {
    require("location", to_location)?;
    require("reason", reason)?;
    let key = active_key(state, key_id)?;
    if key.status != KeyStatus::InSafe {
        return Err(RuleError::KeyCheckedOut(key.key_id.clone()));
    }
    let to = normalise_location(to_location);
    if to == normalise_location(&key.location) {
        return Err(RuleError::SameLocationAsBefore(key.key_id.clone()));
    }
    if let Some(other) = state
        .active_keys_of(&key.account_id)
        .into_iter()
        .find(|k| k.key_id != key.key_id && normalise_location(&k.location) == to)
    {
        return Err(RuleError::TogetherWithOtherKey {
            key_id: key.key_id.clone(),
            other: other.key_id.clone(),
        });
    }
    let bag_serial = match new_bag.map(str::trim) {
        Some("") => return Err(RuleError::Empty("bag serial")),
        Some(b) if state.used_bags.contains(b) => return Err(RuleError::BagReused(b.to_string())),
        Some(b) => Some(b.to_string()),
        None => None,
    };
    Ok(KeyMoved {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        from_location: key.location.clone(),
        to_location: to_location.trim().to_string(),
        bag_serial,
        reason: reason.trim().to_string(),
    })
}

/// Whole days since the key last proved possession.
pub fn possession_age_days(last: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (now - last).whole_days()
}

/// Whether the last possession proof is older than [`POSSESSION_MAX_AGE`].
pub fn possession_stale(last: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - last > POSSESSION_MAX_AGE
}

// ---------------------------------------------------------------------------------------------
// AWS facts: the posture reader's own types ([`aws::AccountReport`], [`aws::MfaDevice`],
// [`aws::RootLogin`]), so a serial is classified and a login described in one place only.

/// Whether AWS shows this account compliant without keys: a member whose root has no
/// credentials at all under centralized root access (the management account never is).
pub fn keyless_by_design(aws: &AccountReport) -> bool {
    aws.credential_less && !aws.management
}

// ---------------------------------------------------------------------------------------------
// Ledger ↔ AWS agreement

/// Whether `serial` is a FIDO device on root named `rootkey-<key_id>-...` by the console.
pub fn serial_names_key(serial: &str, key_id: &str) -> bool {
    serial
        .split_once(":u2f/root/")
        .map(|(_, name)| name.starts_with(&format!("{AWS_DEVICE_PREFIX}{key_id}-")))
        .unwrap_or(false)
}

/// The key (active or retired) of this account that `device` is: by recorded serial ARN first,
/// else by the proposed device name embedded in the ARN.
pub fn match_device<'a>(device: &MfaDevice, keys: &[&'a KeyState]) -> Option<&'a KeyState> {
    keys.iter()
        .find(|k| {
            k.registration
                .as_ref()
                .is_some_and(|r| r.serial_arn == device.serial)
        })
        .or_else(|| {
            keys.iter().find(|k| {
                device.kind == MfaKind::Fido && serial_names_key(&device.serial, &k.key_id)
            })
        })
        .copied()
}

// Every finding needs all of these; a builder would only move the argument list elsewhere.
#[allow(clippy::too_many_arguments)]
fn custody_finding(
    code: &str,
    severity: Severity,
    account_id: &str,
    key_id: Option<&str>,
    subject: &str,
    title: String,
    evidence: Vec<(&str, String)>,
    controls: &[&str],
) -> Finding {
    Finding {
        code: code.to_string(),
        severity,
        source: FindingSource::Custody,
        account_id: Some(account_id.to_string()),
        key_id: key_id.map(str::to_string),
        subject: subject.to_string(),
        title,
        evidence: evidence
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        controls: controls.iter().map(|c| c.to_string()).collect(),
    }
}

/// Result of comparing one account's ledger keys with AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// Device serial → key id it matched (absent: unknown to the ledger).
    pub matched: BTreeMap<String, String>,
    /// Active keys AWS shows on root.
    pub keys_seen: BTreeSet<String>,
    /// Findings.
    pub findings: Vec<Finding>,
}

/// Compares the ledger's keys of an account (all of them, retired included) with what AWS shows.
pub fn compare_with_aws(keys: &[&KeyState], aws: &AccountReport) -> Agreement {
    let acct = aws.account_id.as_str();
    let mut matched = BTreeMap::new();
    let mut keys_seen = BTreeSet::new();
    let mut findings = Vec::new();
    for d in &aws.posture.mfa_devices {
        match match_device(d, keys) {
            Some(k) if !k.is_active() => findings.push(custody_finding(
                "RETIRED-KEY-STILL-ON-ROOT",
                Severity::High,
                acct,
                Some(&k.key_id),
                &d.serial,
                format!("retired key {} is still an MFA device on root", k.key_id),
                vec![("serial", d.serial.clone()), ("key", k.key_id.clone())],
                &["IAM.6"],
            )),
            Some(k) => {
                matched.insert(d.serial.clone(), k.key_id.clone());
                keys_seen.insert(k.key_id.clone());
                match &k.registration {
                    None => findings.push(custody_finding(
                        "KEY-REGISTRATION-UNCONFIRMED",
                        Severity::Low,
                        acct,
                        Some(&k.key_id),
                        &k.key_id,
                        format!("AWS shows key {} on root but the ledger never recorded the confirmation", k.key_id),
                        vec![("serial", d.serial.clone())],
                        &[],
                    )),
                    Some(r) if r.serial_arn != d.serial => findings.push(custody_finding(
                        "KEY-SERIAL-CHANGED",
                        Severity::Medium,
                        acct,
                        Some(&k.key_id),
                        &k.key_id,
                        format!("key {} is on root under a different serial than the ledger recorded (re-registered?)", k.key_id),
                        vec![("ledger serial", r.serial_arn.clone()), ("aws serial", d.serial.clone())],
                        &[],
                    )),
                    Some(_) => {}
                }
            }
            None => findings.push(custody_finding(
                "AWS-DEVICE-UNKNOWN",
                Severity::High,
                acct,
                None,
                &d.serial,
                format!(
                    "root has a {} MFA device the ledger does not know",
                    d.kind.as_str()
                ),
                vec![
                    ("serial", d.serial.clone()),
                    ("type", d.kind.as_str().to_string()),
                    (
                        "enabled",
                        d.enable_date
                            .map(crate::report::fmt_time)
                            .unwrap_or_else(|| "unknown".into()),
                    ),
                ],
                if d.kind == MfaKind::Virtual {
                    &["IAM.6", "CIS 1.6"]
                } else {
                    &["IAM.6"]
                },
            )),
        }
    }
    for k in keys.iter().filter(|k| k.is_active()) {
        if keys_seen.contains(&k.key_id) {
            continue;
        }
        let (code, sev, title) = match &k.registration {
            Some(_) => (
                "LEDGER-KEY-NOT-IN-AWS",
                Severity::High,
                format!("AWS no longer shows key {} on root", k.key_id),
            ),
            None => (
                "KEY-NOT-REGISTERED",
                Severity::Medium,
                format!(
                    "key {} was enrolled but AWS never showed it on root",
                    k.key_id
                ),
            ),
        };
        let mut ev = vec![
            ("key", k.key_id.clone()),
            ("expected device name", k.aws_device_name.clone()),
        ];
        if let Some(r) = &k.registration {
            ev.push(("ledger serial", r.serial_arn.clone()));
        }
        findings.push(custody_finding(
            code,
            sev,
            acct,
            Some(&k.key_id),
            &k.key_id,
            title,
            ev,
            &[],
        ));
    }
    if keys_seen.len() < 2 && !keyless_by_design(aws) {
        findings.push(custody_finding(
            "ROOT-FEWER-THAN-TWO-KEYS",
            Severity::High,
            acct,
            None,
            acct,
            format!(
                "root is guarded by {} custody key(s) AWS confirms; two are required",
                keys_seen.len()
            ),
            vec![
                (
                    "keys seen on root",
                    keys_seen.iter().cloned().collect::<Vec<_>>().join(", "),
                ),
                ("devices on root", aws.posture.mfa_devices.len().to_string()),
            ],
            &["IAM.6", "IAM.9"],
        ));
    }
    Agreement {
        matched,
        keys_seen,
        findings,
    }
}

/// Whether the account has at least two FIDO keys on root and no virtual MFA device.
pub fn two_hardware_keys_no_virtual(aws: &AccountReport) -> bool {
    let fido = aws
        .posture
        .mfa_devices
        .iter()
        .filter(|d| d.kind == MfaKind::Fido)
        .count();
    let virt = aws
        .posture
        .mfa_devices
        .iter()
        .any(|d| d.kind == MfaKind::Virtual);
    fido >= 2 && !virt
}

// ---------------------------------------------------------------------------------------------
// Root logins

/// Explains a root login at `t` by the account's checkouts (at `now`, for keys still out).
///
/// In window: `[window_start, min(window_end, check-in)]` widened by [`LOGIN_CLOCK_SKEW`].
/// After window: past `window_end` while the key was still out (until a late check-in, or
/// still out now). Anything else is unexplained.
pub fn explain_login(
    t: OffsetDateTime,
    checkouts: &[&CheckoutRecord],
    now: OffsetDateTime,
) -> LoginExplanation {
    let mut after = None;
    for c in checkouts {
        let back = c.checkin.as_ref().map(|i| i.time);
        let in_end = back.map_or(c.window_end, |b| b.min(c.window_end));
        if t >= c.window_start - LOGIN_CLOCK_SKEW && t <= in_end + LOGIN_CLOCK_SKEW {
            return LoginExplanation::InWindow {
                key_id: c.key_id.clone(),
                ticket: c.ticket.clone(),
                checkout_seq: c.seq,
            };
        }
        let out_until = back.unwrap_or(now);
        if after.is_none() && t > c.window_end && t <= out_until + LOGIN_CLOCK_SKEW {
            after = Some(LoginExplanation::AfterWindow {
                key_id: c.key_id.clone(),
                ticket: c.ticket.clone(),
                checkout_seq: c.seq,
            });
        }
    }
    after.unwrap_or(LoginExplanation::Unexplained)
}

/// Whether a login counts as a sign-in: CloudTrail not saying is treated as success, because an
/// audit must not wave a root sign-in through on a missing field.
pub fn login_succeeded(login: &RootLogin) -> bool {
    login.success != Some(false)
}

/// The login's source IP, or `unknown` when CloudTrail did not record one.
pub fn login_source_ip(login: &RootLogin) -> &str {
    login.source_ip.as_deref().unwrap_or("unknown")
}

/// The findings a root login raises, given its explanation.
pub fn login_findings(
    account_id: &str,
    login: &RootLogin,
    explanation: &LoginExplanation,
) -> Vec<Finding> {
    let when = crate::report::fmt_time(login.time);
    let ip = login_source_ip(login);
    let success = login_succeeded(login);
    let subject = format!("{when} {ip}");
    let evidence = || {
        vec![
            ("time", when.clone()),
            ("source ip", ip.to_string()),
            (
                "result",
                match login.success {
                    Some(true) => "success",
                    Some(false) => "failure",
                    None => "not recorded (counted as success)",
                }
                .to_string(),
            ),
            (
                "mfa used",
                crate::report::opt_bool(login.mfa_used).to_string(),
            ),
        ]
    };
    let mut out = Vec::new();
    match (explanation, success) {
        (LoginExplanation::Unexplained, true) => out.push(custody_finding(
            "ROOT-LOGIN-UNEXPLAINED",
            Severity::Critical,
            account_id,
            None,
            &subject,
            "root signed in to the console while no key was checked out".into(),
            evidence(),
            &["CIS 1.7"],
        )),
        (LoginExplanation::Unexplained, false) => out.push(custody_finding(
            "ROOT-LOGIN-FAILED-UNEXPLAINED",
            Severity::High,
            account_id,
            None,
            &subject,
            "a failed root console sign-in while no key was checked out".into(),
            evidence(),
            &["CIS 1.7"],
        )),
        (LoginExplanation::AfterWindow { key_id, ticket, .. }, true) => {
            let mut ev = evidence();
            ev.push(("ticket", ticket.clone()));
            out.push(custody_finding(
                "ROOT-LOGIN-AFTER-WINDOW",
                Severity::High,
                account_id,
                Some(key_id),
                &subject,
                format!("root signed in after the approved window of key {key_id} had ended"),
                ev,
                &["CIS 1.7"],
            ))
        }
        _ => {}
    }
    if success && login.mfa_used == Some(false) {
        out.push(custody_finding(
            "ROOT-LOGIN-WITHOUT-MFA",
            Severity::Critical,
            account_id,
            None,
            &subject,
            "root signed in to the console without MFA".into(),
            evidence(),
            &["IAM.9", "CIS 1.5"],
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Time to remediate

/// Mean seconds from the audit that first saw a finding to the first later audit, covering the
/// same account, that no longer saw it; and how many findings that mean is over.
///
/// `audits` are (time, finding identities, accounts in scope) in time order; the current audit
/// goes last. Identities are `CODE|account|subject` ([`Finding::identity`]); an audit of other
/// accounts says nothing about this one, so it does not close the finding.
pub fn mean_time_to_remediate(
    audits: &[(OffsetDateTime, &BTreeSet<String>, &BTreeSet<String>)],
) -> (Option<u64>, u64) {
    let mut open: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
    let mut total: i128 = 0;
    let mut count: u64 = 0;
    for (time, findings, accounts) in audits {
        let closed: Vec<&str> = open
            .keys()
            .copied()
            .filter(|id| !findings.contains(*id))
            .filter(|id| {
                let account = id.split('|').nth(1).unwrap_or("-");
                account == "-" || accounts.contains(account)
            })
            .collect();
        for id in closed {
            if let Some(first) = open.remove(id) {
                total += (*time - first).whole_seconds().max(0) as i128;
                count += 1;
            }
        }
        for id in findings.iter() {
            open.entry(id.as_str()).or_insert(*time);
        }
    }
    if count == 0 {
        (None, 0)
    } else {
        (u64::try_from(total / i128::from(count)).ok(), count)
    }
}

#[cfg(test)]
pub(crate) mod tests;
