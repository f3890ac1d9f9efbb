//! Onboarding an account: two attested keys, custody credentials, AWS console registration
//! guided step by step, and confirmation that AWS shows exactly those keys on root.
//!
//! Two steps, each one ledger transaction:
//! 1. [`enroll`]: attest both keys, make their custody credentials, refuse what the rules
//!    refuse, and record `key.enrolled` twice (each approved by the two custodians). The key ids
//!    are recorded before anyone types `rootkey-<key id>` into the AWS console, so the names in
//!    AWS always refer to keys the ledger knows.
//! 2. [`confirm`]: given what AWS shows on root (live read or evidence file), record
//!    `key.registration_confirmed` for both keys and `account.enrolled` (approved by two
//!    custodians). A key AWS does not show is refused, with what AWS does show.

use std::time::{Duration, Instant};

use serde::Serialize;

pub use super::attested::Eligibility;
use super::attested::{attest_key, refuse_known, Attested};
use super::{check_text, gather_approvals, Approver, Console, FlowError};
use crate::aws::{self, AwsOptions, MfaDevice, MfaKind};
use crate::custody::enrollment::{self, aws_device_name, key_id_for, MAX_ROOT_MFA_DEVICES};
use crate::custody::events::{
    AccountEnrolled, ConfirmationSource, CustodyEvent, KeyEnrolled, KeyRegistrationConfirmed,
    KeyRole, B64,
};
use crate::custody::state::{CustodyState, KeyState};
use crate::custody::Station;
use crate::device::{DeviceSpec, CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::ledger::{Approval, UnsignedEvent};
use crate::text::{self, TextKind};

/// One key presented for enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPlacement {
    /// The key.
    pub device: DeviceSpec,
    /// Where it will be stored.
    pub location: String,
    /// The bag it will be sealed in.
    pub bag_serial: String,
}

/// An onboarding request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollRequest {
    /// Who records it.
    pub actor: String,
    /// 12-digit account id.
    pub account_id: String,
    /// The primary key.
    pub primary: KeyPlacement,
    /// The backup key.
    pub backup: KeyPlacement,
    /// The two approving custodians.
    pub custodians: [Approver; 2],
    /// MFA devices AWS shows on root before enrollment.
    pub root_mfa_devices: usize,
}

/// One key as enrollment recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolledKey {
    /// Key id (write it on the bag label).
    pub key_id: String,
    /// Primary or backup.
    pub role: KeyRole,
    /// Model.
    pub model: String,
    /// The device name to type in the AWS console.
    pub aws_device_name: String,
    /// Location.
    pub location: String,
    /// Bag.
    pub bag_serial: String,
    /// Ledger sequence number of its `key.enrolled`.
    pub seq: u64,
}

/// What [`enroll`] recorded, and what the people do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollOutcome {
    /// Account.
    pub account_id: String,
    /// Primary then backup.
    pub keys: Vec<EnrolledKey>,
    /// The AWS console steps, in order.
    pub console_steps: Vec<String>,
}

/// What AWS shows on root, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsView {
    /// Devices on root (the complete list).
    pub devices: Vec<MfaDevice>,
    /// Live API or evidence file.
    pub source: ConfirmationSource,
}

/// A confirmation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmRequest {
    /// Who records it.
    pub actor: String,
    /// Account.
    pub account_id: String,
    /// The two custodians approving `account.enrolled`.
    pub custodians: [Approver; 2],
}

/// One key AWS confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmedKey {
    /// Key id.
    pub key_id: String,
    /// Serial ARN.
    pub serial_arn: String,
    /// Enable date.
    #[serde(with = "time::serde::rfc3339")]
    pub enable_date: time::OffsetDateTime,
}

/// What [`confirm`] recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmOutcome {
    /// Account.
    pub account_id: String,
    /// Primary then backup.
    pub keys: Vec<ConfirmedKey>,
    /// Ledger sequence number of `account.enrolled`.
    pub seq: u64,
}

fn role_name(role: KeyRole) -> &'static str {
    role.as_str()
}

/// The AWS console steps for the account's keys.
pub fn console_steps(account_id: &str, keys: &[(KeyRole, String)]) -> Vec<String> {
    let mut steps = vec![format!(
        "Sign in to the AWS console as the root user of account {account_id}, open Security \
         credentials → Multi-factor authentication (MFA) → Assign MFA device."
    )];
    for (role, key_id) in keys {
        steps.push(format!(
            "{} key {key_id}: device name exactly `{}`, choose \"Passkey or security key\", insert \
             this key and touch it when the browser asks.",
            role_name(*role),
            aws_device_name(key_id)
        ));
    }
    steps.push(
        "Check that root now lists both devices (and no virtual MFA device), then sign out.".into(),
    );
    steps
}

/// Step 1: attests both keys, proves each is a new key (it holds no credential the ledger
/// knows, and they are not one key twice), makes their custody credentials, and records both
/// `key.enrolled` events (one transaction, each approved by both custodians).
pub fn enroll(
    station: &mut Station,
    console: &mut dyn Console,
    req: &EnrollRequest,
    elig: &Eligibility,
) -> Result<EnrollOutcome, FlowError> {
    // What needs no key is refused before anyone touches one.
    if !enrollment::is_aws_account_id(&req.account_id) {
        return Err(FlowError::Usage(format!(
            "{} is not an AWS account id (12 digits)",
            text::escape(&req.account_id)
        )));
    }
    for (field, p) in [("primary", &req.primary), ("backup", &req.backup)] {
        check_text(
            &format!("--location-{field}"),
            TextKind::Location,
            &p.location,
        )?;
        check_text(&format!("--bag-{field}"), TextKind::Serial, &p.bag_serial)?;
    }
    if req.root_mfa_devices + 2 > MAX_ROOT_MFA_DEVICES {
        return Err(FlowError::Usage(format!(
            "root of this account already has {} MFA devices; adding 2 would exceed AWS's limit of {MAX_ROOT_MFA_DEVICES}: remove unused devices first",
            req.root_mfa_devices
        )));
    }
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(
        station.state().registry(),
        &ids,
        &crate::custody::Requirement::Custodians(2),
    )?;
    enroll_keys(
        station,
        console,
        &req.actor,
        &req.account_id,
        &[
            (KeyRole::Primary, &req.primary),
            (KeyRole::Backup, &req.backup),
        ],
        &req.custodians,
        elig,
        None,
    )
}

/// A successor for one key in custody: same account, same role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaceRequest {
    /// Who records it.
    pub actor: String,
    /// The key being replaced.
    pub key_id: String,
    /// The successor.
    pub placement: KeyPlacement,
    /// The two approving custodians.
    pub custodians: [Approver; 2],
    /// MFA devices AWS shows on root now.
    pub root_mfa_devices: usize,
}

/// Replacement, step 1: attests the successor, proves it is a new key, and records its
/// `key.enrolled` naming the key it replaces. Step 2 is [`confirm`]: once AWS shows the
/// successor, its confirmation and the old key's retirement are one approved transaction.
pub fn replace(
    station: &mut Station,
    console: &mut dyn Console,
    req: &ReplaceRequest,
    elig: &Eligibility,
) -> Result<EnrollOutcome, FlowError> {
    check_text("--location", TextKind::Location, &req.placement.location)?;
    check_text("--bag", TextKind::Serial, &req.placement.bag_serial)?;
    if req.root_mfa_devices + 1 > MAX_ROOT_MFA_DEVICES {
        return Err(FlowError::Usage(format!(
            "root of this account already has {} MFA devices, AWS's limit: remove an unused device first",
            req.root_mfa_devices
        )));
    }
    let old = super::verify::known_key(station, &req.key_id)?;
    let (account, role) = (old.account_id.clone(), old.role);
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(
        station.state().registry(),
        &ids,
        &crate::custody::Requirement::Custodians(2),
    )?;
    enroll_keys(
        station,
        console,
        &req.actor,
        &account,
        &[(role, &req.placement)],
        &req.custodians,
        elig,
        Some(&req.key_id),
    )
}

/// Attests, probes and records `keys` (one transaction, each approved by both custodians).
#[allow(clippy::too_many_arguments)]
fn enroll_keys(
    station: &mut Station,
    console: &mut dyn Console,
    actor: &str,
    account_id: &str,
    placements: &[(KeyRole, &KeyPlacement)],
    custodians: &[Approver; 2],
    elig: &Eligibility,
    replaces: Option<&str>,
) -> Result<EnrollOutcome, FlowError> {
    let mut attested: Vec<(KeyRole, &KeyPlacement, Attested)> = Vec::new();
    for &(role, placement) in placements {
        console.step(&format!(
            "{} key: insert it (and only it) and touch it when it blinks",
            role_name(role)
        ))?;
        let others: Vec<(Vec<u8>, String)> = attested
            .iter()
            .map(|(r, _, a)| {
                (
                    a.credential_id.clone(),
                    format!("the {} key just attested", r.as_str()),
                )
            })
            .collect();
        refuse_known_custody(
            console,
            role_name(role),
            &placement.device,
            station.state(),
            &others,
        )?;
        let a = attest_key(
            console,
            role_name(role),
            &placement.device,
            CUSTODY_RP_ID,
            CUSTODY_ORIGIN,
            elig,
        )?;
        if a.attestation.assurance != crate::attest::Assurance::Hardware {
            console.say(&format!(
                "warning: the {} key's attestation proves {}, not genuine hardware; the audit will say so",
                role_name(role),
                a.attestation.assurance.as_str()
            ));
        }
        attested.push((role, placement, a));
    }
    let mut events = Vec::new();
    let mut keys = Vec::new();
    for (role, placement, a) in &attested {
        let key_id = key_id_for(&a.public_key);
        let body = KeyEnrolled {
            key_id: key_id.clone(),
            account_id: account_id.to_string(),
            role: *role,
            aaguid: a.aaguid.clone(),
            model: a.model.clone(),
            firmware: a.firmware.clone(),
            attestation: a.attestation.clone(),
            custody_credential_id: B64(a.credential_id.clone()),
            custody_public_key: B64(a.public_key.clone()),
            location: placement.location.trim().to_string(),
            bag_serial: placement.bag_serial.trim().to_string(),
            aws_device_name: aws_device_name(&key_id),
            replaces: replaces.map(str::to_string),
        };
        keys.push(EnrolledKey {
            key_id: key_id.clone(),
            role: *role,
            model: a.model.clone(),
            aws_device_name: aws_device_name(&key_id),
            location: body.location.clone(),
            bag_serial: body.bag_serial.clone(),
            seq: 0,
        });
        let custody = CustodyEvent::KeyEnrolled(body);
        events.push(UnsignedEvent::new(
            custody.kind(),
            actor,
            custody.to_body()?,
        )?);
    }
    let refs: Vec<&UnsignedEvent> = events.iter().collect();
    let requirements = station.check(&refs)?;
    let mut batch = Vec::new();
    for ((ev, requirement), k) in events.into_iter().zip(&requirements).zip(&keys) {
        console.say(&format!(
            "approve recording {} key {}",
            role_name(k.role),
            k.key_id
        ));
        let approvals = gather_approvals(station, &ev, requirement, custodians, console)?;
        batch.push((ev, approvals));
    }
    let receipt = station.append(batch)?;
    for (i, k) in keys.iter_mut().enumerate() {
        k.seq = receipt.first_seq + i as u64;
    }
    let steps = console_steps(
        account_id,
        &keys
            .iter()
            .map(|k| (k.role, k.key_id.clone()))
            .collect::<Vec<_>>(),
    );
    Ok(EnrollOutcome {
        account_id: account_id.to_string(),
        keys,
        console_steps: steps,
    })
}

/// [`refuse_known`] for a root key: the other candidate's custody credential counts as known.
fn refuse_known_custody(
    console: &mut dyn Console,
    who: &str,
    device: &DeviceSpec,
    state: &CustodyState,
    others: &[(Vec<u8>, String)],
) -> Result<(), FlowError> {
    refuse_known(console, who, device, state)?;
    // The other candidate was just made on rootkey.custody: probe for it there.
    super::attested::refuse_holding(console, who, device, CUSTODY_RP_ID, others)
}

/// The account's enrolled keys awaiting confirmation, primary first.
pub fn pending_keys(station: &Station, account_id: &str) -> Result<Vec<KeyState>, FlowError> {
    pending_in(station.state(), account_id)
}

fn pending_in(state: &CustodyState, account_id: &str) -> Result<Vec<KeyState>, FlowError> {
    if !enrollment::is_aws_account_id(account_id) {
        return Err(FlowError::Usage(format!(
            "{} is not an AWS account id (12 digits)",
            text::escape(account_id)
        )));
    }
    if state
        .accounts()
        .get(account_id)
        .is_some_and(|a| a.enrolled_at.is_some())
    {
        // An enrolled account awaits only successors of keys being replaced.
        let successors: Vec<KeyState> = state
            .active_keys_of(account_id)
            .into_iter()
            .filter(|k| k.replaces.is_some() && k.registration.is_none())
            .cloned()
            .collect();
        if successors.is_empty() {
            return Err(FlowError::Usage(format!(
                "account {account_id} is already enrolled and no replacement key awaits confirmation"
            )));
        }
        return Ok(successors);
    }
    let mut keys: Vec<KeyState> = state
        .active_keys_of(account_id)
        .into_iter()
        .cloned()
        .collect();
    keys.sort_by_key(|k| k.role);
    let roles: Vec<KeyRole> = keys.iter().map(|k| k.role).collect();
    if roles != [KeyRole::Primary, KeyRole::Backup] {
        return Err(FlowError::Usage(format!(
            "account {account_id} has no primary and backup key awaiting confirmation: run `rootkey enroll` first"
        )));
    }
    Ok(keys)
}

/// The device AWS shows for `key`, if any.
pub fn device_for<'a>(key: &KeyState, devices: &'a [MfaDevice]) -> Option<&'a MfaDevice> {
    devices
        .iter()
        .find(|d| d.kind == MfaKind::Fido && enrollment::serial_names_key(&d.serial, &key.key_id))
}

/// Step 2: records what AWS shows: both confirmations and `account.enrolled`, in one
/// transaction; refuses (recording nothing) when AWS does not show a key.
pub fn confirm(
    station: &mut Station,
    console: &mut dyn Console,
    req: &ConfirmRequest,
    aws: &AwsView,
) -> Result<ConfirmOutcome, FlowError> {
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    super::check_approvers(
        station.state().registry(),
        &ids,
        &crate::custody::Requirement::Custodians(2),
    )?;
    let keys = pending_in(station.state(), &req.account_id)?;
    let shows = || {
        if aws.devices.is_empty() {
            "no MFA device at all".to_string()
        } else {
            aws.devices
                .iter()
                .map(|d| d.serial.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut events = Vec::new();
    let mut confirmed = Vec::new();
    for k in &keys {
        let d = device_for(k, &aws.devices).ok_or_else(|| {
            FlowError::Unconfirmed(format!(
                "AWS does not show {} key {} on the root user of account {}: it shows {}. \
                 Register it in the console under the name `{}` and run confirm again; \
                 nothing was recorded as registered",
                role_name(k.role),
                k.key_id,
                req.account_id,
                shows(),
                k.aws_device_name
            ))
        })?;
        let enable_date = d.enable_date.ok_or_else(|| {
            FlowError::Aws(format!(
                "AWS lists {} without an enable date: read again from a root session",
                d.serial
            ))
        })?;
        let custody = CustodyEvent::KeyRegistrationConfirmed(KeyRegistrationConfirmed {
            key_id: k.key_id.clone(),
            account_id: req.account_id.clone(),
            serial_arn: d.serial.clone(),
            enable_date,
            source: aws.source,
        });
        events.push(UnsignedEvent::new(
            custody.kind(),
            &req.actor,
            custody.to_body()?,
        )?);
        confirmed.push(ConfirmedKey {
            key_id: k.key_id.clone(),
            serial_arn: d.serial.clone(),
            enable_date,
        });
    }
    // Onboarding closes with account.enrolled; a replacement retires the key it replaces, in
    // the same transaction, now that AWS shows its successor.
    let closing: Vec<CustodyEvent> = match keys.iter().find_map(|k| k.replaces.clone()) {
        None => vec![CustodyEvent::AccountEnrolled(AccountEnrolled {
            account_id: req.account_id.clone(),
            primary_key_id: keys[0].key_id.clone(),
            backup_key_id: keys[1].key_id.clone(),
        })],
        Some(_) => keys
            .iter()
            .filter_map(|k| k.replaces.as_ref().map(|old| (k, old)))
            .map(|(k, old)| {
                CustodyEvent::KeyRetired(crate::custody::events::KeyRetired {
                    key_id: old.clone(),
                    account_id: req.account_id.clone(),
                    reason: crate::custody::events::RetireReason::Replaced,
                    note: format!("replaced by key {}, which AWS shows on root", k.key_id),
                })
            })
            .collect(),
    };
    for custody in closing {
        events.push(UnsignedEvent::new(
            custody.kind(),
            &req.actor,
            custody.to_body()?,
        )?);
    }
    let refs: Vec<&UnsignedEvent> = events.iter().collect();
    let requirements = station.check(&refs)?;
    for c in &confirmed {
        console.say(&format!("AWS shows key {} as {}", c.key_id, c.serial_arn));
    }
    let mut batch: Vec<(UnsignedEvent, Vec<Approval>)> = Vec::new();
    for (ev, requirement) in events.into_iter().zip(&requirements) {
        let approvals = if *requirement == crate::custody::Requirement::Nobody {
            vec![]
        } else {
            gather_approvals(station, &ev, requirement, &req.custodians, console)?
        };
        batch.push((ev, approvals));
    }
    let n = batch.len() as u64;
    let receipt = station.append(batch)?;
    Ok(ConfirmOutcome {
        account_id: req.account_id.clone(),
        keys: confirmed,
        seq: receipt.first_seq + n - 1,
    })
}

/// Root's MFA devices for `account_id` from an evidence file (the list must be complete, i.e.
/// read in a root session).
pub fn view_from_evidence(ev: &aws::Evidence, account_id: &str) -> Result<AwsView, FlowError> {
    let acct = ev
        .accounts
        .iter()
        .find(|a| a.account_id == account_id)
        .ok_or_else(|| FlowError::Aws(format!("the evidence file has no account {account_id}")))?;
    if !acct.posture.mfa_devices_complete {
        return Err(FlowError::Aws(format!(
            "the evidence for {account_id} lists only virtual MFA devices (not read in a root \
             session), so it cannot show security keys: read it again with AssumeRoot"
        )));
    }
    Ok(AwsView {
        devices: acct.posture.mfa_devices.clone(),
        source: ConfirmationSource::Evidence,
    })
}

/// Reads root's MFA devices live, polling every `every` until `done` holds or `wait` runs out;
/// returns the last list read. The caller's own root (a root session) or a member through
/// `AssumeRoot`.
pub fn poll_live(
    opts: &AwsOptions,
    account_id: &str,
    wait: Duration,
    every: Duration,
    console: &mut dyn Console,
    done: impl Fn(&[MfaDevice]) -> bool,
) -> Result<AwsView, FlowError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FlowError::Aws(format!("cannot start the AWS client runtime: {e}")))?;
    let deadline = Instant::now() + wait;
    rt.block_on(async {
        let reader = aws::Reader::connect(opts.clone())
            .await
            .map_err(|e| FlowError::Aws(e.to_string()))?;
        let own = reader.caller().account == account_id;
        loop {
            let read = if own {
                let iam = aws_sdk_iam::Client::new(reader.sdk_config());
                aws::root_mfa_devices(&iam).await
            } else {
                reader.member_root_mfa_devices(account_id).await
            };
            let devices = read.map_err(|e| {
                FlowError::Aws(format!("{} failed ({}): {}", e.call, e.code, e.message))
            })?;
            if done(&devices) || Instant::now() + every > deadline {
                return Ok(AwsView {
                    devices,
                    source: ConfirmationSource::Api,
                });
            }
            console.say(&format!(
                "waiting for AWS to show the keys on root ({} device(s) now)…",
                devices.len()
            ));
            tokio::time::sleep(every).await;
        }
    })
}
