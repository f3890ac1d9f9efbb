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

use super::{gather_approvals, snapshot, with_key, Approver, Console, FlowError};
use crate::attest::{self, FileReport, Policy, TrustStore};
use crate::aws::{self, AwsOptions, MfaDevice, MfaKind};
use crate::custody::events::{
    AccountEnrolled, AttestationSummary, ConfirmationSource, CustodyEvent, KeyEnrolled,
    KeyRegistrationConfirmed, KeyRole, B64,
};
use crate::custody::rules::{self, CandidateKey, EnrollmentRequest, RuleError};
use crate::custody::state::KeyState;
use crate::device::{self, DeviceSpec, GetAssertion, CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::ledger::{Ledger, UnsignedEvent};
use crate::webauthn::{client_data::TYPE_GET, ClientData};

/// What decides whether a key may guard root: trust anchors and policy.
#[derive(Debug, Clone)]
pub struct Eligibility {
    /// Anchors (pinned vendor roots, plus any the operator trusted explicitly).
    pub trust: TrustStore,
    /// The policy.
    pub policy: Policy,
}

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

struct Candidate {
    role: KeyRole,
    placement: KeyPlacement,
    credential_id: Vec<u8>,
    public_key: Vec<u8>,
    aaguid: String,
    model: String,
    firmware: Option<String>,
    attestation: AttestationSummary,
}

fn role_name(role: KeyRole) -> &'static str {
    role.as_str()
}

/// Attests one key, checks it against trust and policy, and keeps its custody credential.
fn attest_key(
    console: &mut dyn Console,
    role: KeyRole,
    placement: &KeyPlacement,
    elig: &Eligibility,
) -> Result<Candidate, FlowError> {
    console.step(&format!(
        "{} key: insert it (and only it) and touch it when it blinks",
        role_name(role)
    ))?;
    let (evidence, reg) = with_key(
        console,
        &format!("{} key", role_name(role)),
        &placement.device,
        |k, pin| device::attest(k, pin),
    )?;
    let result = attest::verify_evidence(&evidence, &elig.trust, &attest::VerifyOptions::default())
        .map_err(|e| FlowError::Ineligible {
            role: role_name(role),
            why: e.to_string(),
        })?;
    let decision = attest::evaluate(&result, evidence.device.as_ref(), &elig.policy);
    let report = FileReport::new(role_name(role), &result, &decision);
    let Some(verified) = decision.approved() else {
        let mut why: Vec<String> = report.reason.iter().cloned().collect();
        why.extend(report.policy_findings.iter().map(|f| f.message.clone()));
        if why.is_empty() {
            why.push("the policy does not allow it".into());
        }
        return Err(FlowError::Ineligible {
            role: role_name(role),
            why: why.join("; "),
        });
    };
    // The attested credential was made on rootkey.custody: it is the custody credential.
    if verified.credential_id() != reg.credential_id.as_slice() {
        return Err(FlowError::Ineligible {
            role: role_name(role),
            why: "the attested credential is not the one the key returned".into(),
        });
    }
    Ok(Candidate {
        role,
        placement: placement.clone(),
        credential_id: reg.credential_id.clone(),
        public_key: reg.public_key.to_cbor(),
        aaguid: crate::webauthn::authdata::format_aaguid(&verified.aaguid()),
        model: report
            .model
            .clone()
            .unwrap_or_else(|| "unknown model".into()),
        firmware: evidence
            .device
            .as_ref()
            .and_then(|d| d.firmware_version.clone()),
        attestation: AttestationSummary {
            fmt: verified.fmt().to_string(),
            trust_root: verified
                .trust_root()
                .map(|t| t.name.clone())
                .unwrap_or_else(|| "self".into()),
            certification: report.certification.map(str::to_string),
        },
    })
}

/// Asks a candidate key which of `credentials` it holds (the same physical key answers for a
/// credential made on it earlier; a different key holds none of them).
fn probe(
    console: &mut dyn Console,
    c: &Candidate,
    credentials: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, FlowError> {
    if credentials.is_empty() {
        return Ok(vec![]);
    }
    let challenge = super::random_challenge()?;
    let client_data = ClientData::json(TYPE_GET, &challenge, CUSTODY_ORIGIN);
    console.step(&format!(
        "{} key: touch it once more (checking it is not a key already in custody)",
        role_name(c.role)
    ))?;
    let res = with_key(
        console,
        &format!("{} key", role_name(c.role)),
        &c.placement.device,
        |k, pin| {
            k.get_assertion(&GetAssertion {
                rp_id: CUSTODY_RP_ID.into(),
                client_data: client_data.clone(),
                allow_credentials: credentials.to_vec(),
                pin,
            })
        },
    );
    match res {
        Ok(a) => Ok(vec![a.credential_id]),
        Err(FlowError::Device {
            source: device::DeviceError::NoCredentials { .. },
            ..
        }) => Ok(vec![]),
        Err(e) => Err(e),
    }
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
            rules::aws_device_name(key_id)
        ));
    }
    steps.push(
        "Check that root now lists both devices (and no virtual MFA device), then sign out.".into(),
    );
    steps
}

/// Step 1: attests both keys, makes their custody credentials, checks every enrollment rule and
/// records both `key.enrolled` events (one transaction, each approved by both custodians).
pub fn enroll(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &EnrollRequest,
    elig: &Eligibility,
) -> Result<EnrollOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    // What needs no key is refused before anyone touches one.
    if !rules::is_aws_account_id(&req.account_id) {
        return Err(RuleError::InvalidAccountId(req.account_id.clone()).into());
    }
    let [a, b] = &req.custodians;
    rules::check_dual_control(&a.id, &b.id, snap.registry.all())?;
    let loc = rules::normalise_location(&req.primary.location);
    if !loc.is_empty() && loc == rules::normalise_location(&req.backup.location) {
        return Err(RuleError::SameLocation(loc).into());
    }
    if req.root_mfa_devices + 2 > rules::MAX_ROOT_MFA_DEVICES {
        return Err(RuleError::TooManyDevices {
            existing: req.root_mfa_devices,
            adding: 2,
            max: rules::MAX_ROOT_MFA_DEVICES,
        }
        .into());
    }
    if !snap.state.active_keys_of(&req.account_id).is_empty() {
        return Err(FlowError::Usage(format!(
            "account {} already has keys in custody: finish it with `rootkey enroll confirm --account {}`, or retire its keys first",
            req.account_id, req.account_id
        )));
    }
    let primary = attest_key(console, KeyRole::Primary, &req.primary, elig)?;
    let backup = attest_key(console, KeyRole::Backup, &req.backup, elig)?;
    let active: Vec<Vec<u8>> = snap
        .state
        .keys
        .values()
        .filter(|k| k.is_active())
        .map(|k| k.custody_credential_id.clone())
        .collect();
    let mut with = |c: &Candidate, other: &Candidate| -> Result<CandidateKey, FlowError> {
        let mut creds = active.clone();
        creds.push(other.credential_id.clone());
        Ok(CandidateKey {
            aaguid: c.aaguid.clone(),
            custody_credential_id: c.credential_id.clone(),
            custody_public_key: c.public_key.clone(),
            location: c.placement.location.clone(),
            bag_serial: c.placement.bag_serial.clone(),
            recognised_credentials: probe(console, c, &creds)?,
        })
    };
    let p = with(&primary, &backup)?;
    let q = with(&backup, &primary)?;
    let plan = rules::check_enrollment(
        &snap.state,
        &EnrollmentRequest {
            account_id: req.account_id.clone(),
            primary: p,
            backup: q,
            custodians: [a.id.clone(), b.id.clone()],
            root_mfa_devices: req.root_mfa_devices,
        },
        snap.registry.all(),
    )?;
    let mut events = Vec::new();
    let mut keys = Vec::new();
    for (c, key_id) in [
        (&primary, &plan.primary_key_id),
        (&backup, &plan.backup_key_id),
    ] {
        let body = KeyEnrolled {
            key_id: key_id.clone(),
            account_id: req.account_id.clone(),
            role: c.role,
            aaguid: c.aaguid.clone(),
            model: c.model.clone(),
            firmware: c.firmware.clone(),
            attestation: c.attestation.clone(),
            custody_credential_id: B64(c.credential_id.clone()),
            custody_public_key: B64(c.public_key.clone()),
            location: c.placement.location.trim().to_string(),
            bag_serial: c.placement.bag_serial.trim().to_string(),
            aws_device_name: rules::aws_device_name(key_id),
        };
        let custody = CustodyEvent::KeyEnrolled(body);
        events.push(UnsignedEvent::new(
            custody.kind(),
            &req.actor,
            custody.to_body()?,
        )?);
        keys.push(EnrolledKey {
            key_id: key_id.clone(),
            role: c.role,
            model: c.model.clone(),
            aws_device_name: rules::aws_device_name(key_id),
            location: c.placement.location.trim().to_string(),
            bag_serial: c.placement.bag_serial.trim().to_string(),
            seq: 0,
        });
    }
    let refs: Vec<&UnsignedEvent> = events.iter().collect();
    super::precheck_fold(&snap.state, snap.len, &refs)?;
    let mut batch = Vec::new();
    for (i, ev) in events.into_iter().enumerate() {
        console.say(&format!(
            "approve recording {} key {}",
            role_name(keys[i].role),
            keys[i].key_id
        ));
        let approvals = gather_approvals(
            &snap.registry,
            snap.len + i as u64,
            &ev,
            &req.custodians,
            console,
        )?;
        batch.push((ev, approvals));
    }
    let receipt = ledger
        .append_batch_at(snap.len, batch)?
        .ok_or_else(|| FlowError::Usage("nothing to record".into()))?;
    for (i, k) in keys.iter_mut().enumerate() {
        k.seq = receipt.first_seq + i as u64;
    }
    let steps = console_steps(
        &req.account_id,
        &keys
            .iter()
            .map(|k| (k.role, k.key_id.clone()))
            .collect::<Vec<_>>(),
    );
    Ok(EnrollOutcome {
        account_id: req.account_id.clone(),
        keys,
        console_steps: steps,
    })
}

/// The account's enrolled keys awaiting confirmation, primary first.
pub fn pending_keys(ledger: &Ledger, account_id: &str) -> Result<Vec<KeyState>, FlowError> {
    let snap = snapshot(ledger)?;
    pending_in(&snap.state, account_id)
}

fn pending_in(
    state: &crate::custody::CustodyState,
    account_id: &str,
) -> Result<Vec<KeyState>, FlowError> {
    if !rules::is_aws_account_id(account_id) {
        return Err(RuleError::InvalidAccountId(account_id.to_string()).into());
    }
    if state
        .accounts
        .get(account_id)
        .is_some_and(|a| a.enrolled_at.is_some())
    {
        return Err(FlowError::Usage(format!(
            "account {account_id} is already enrolled"
        )));
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
        .find(|d| d.kind == MfaKind::Fido && rules::serial_names_key(&d.serial, &key.key_id))
}

/// Step 2: records what AWS shows: both confirmations and `account.enrolled`, in one
/// transaction; refuses (recording nothing) when AWS does not show a key.
pub fn confirm(
    ledger: &mut Ledger,
    console: &mut dyn Console,
    req: &ConfirmRequest,
    aws: &AwsView,
) -> Result<ConfirmOutcome, FlowError> {
    let snap = snapshot(ledger)?;
    let [a, b] = &req.custodians;
    rules::check_dual_control(&a.id, &b.id, snap.registry.all())?;
    let keys = pending_in(&snap.state, &req.account_id)?;
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
            FlowError::Aws(format!(
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
    let custody = CustodyEvent::AccountEnrolled(AccountEnrolled {
        account_id: req.account_id.clone(),
        primary_key_id: keys[0].key_id.clone(),
        backup_key_id: keys[1].key_id.clone(),
    });
    events.push(UnsignedEvent::new(
        custody.kind(),
        &req.actor,
        custody.to_body()?,
    )?);
    let refs: Vec<&UnsignedEvent> = events.iter().collect();
    super::precheck_fold(&snap.state, snap.len, &refs)?;
    for c in &confirmed {
        console.say(&format!("AWS shows key {} as {}", c.key_id, c.serial_arn));
    }
    let n = events.len() as u64;
    let mut batch: Vec<(UnsignedEvent, Vec<crate::ledger::Approval>)> = Vec::new();
    for (i, ev) in events.into_iter().enumerate() {
        let approvals = if i as u64 == n - 1 {
            gather_approvals(
                &snap.registry,
                snap.len + i as u64,
                &ev,
                &req.custodians,
                console,
            )?
        } else {
            vec![]
        };
        batch.push((ev, approvals));
    }
    let receipt = ledger
        .append_batch_at(snap.len, batch)?
        .ok_or_else(|| FlowError::Usage("nothing to record".into()))?;
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
