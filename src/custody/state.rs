//! The custody state: a fold over ledger entries into where every key is and what happened to it.
//!
//! The fold is strict. Unknown kinds belong to other layers and are skipped; a custody kind whose
//! body is malformed, or that contradicts what came before (checking in a key that is not out,
//! enrolling the same key twice), is an error naming the entry's sequence number, because the
//! ledger only ever receives events that passed the rules: a contradiction means tampering or a
//! bug, and an audit must not paper over either.
//!
//! Nothing in a body is taken on trust: possession proofs are re-verified against the key's
//! enrolled custody credential, the approvals the ledger verified must be the people the body
//! names (and as many as the kind needs), and the state rules the flows check before appending
//! (one key of an account always in the safe, keys stored apart) are enforced again here, so two
//! racing appends cannot build a history the rules forbid.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::events::{
    AttestationSummary, ConfirmationSource, CustodyEvent, EventError, KeyRole, PossessionProof,
};
use super::rules::{self, RuleError};

/// One ledger entry as the custody fold needs it; the ledger layer builds these from its rows.
#[derive(Debug, Clone, Copy)]
pub struct LedgerEvent<'a> {
    /// Position in the ledger (0-based or 1-based, as the ledger numbers them; only order matters).
    pub seq: u64,
    /// When the entry was appended.
    pub time: OffsetDateTime,
    /// Event kind, e.g. `key.checked_out`.
    pub kind: &'a str,
    /// Who appended it.
    pub actor: &'a str,
    /// The event body.
    pub body: &'a serde_json::Value,
    /// Custodian ids whose approvals the ledger verified for this entry.
    pub approvers: &'a [String],
}

/// Why the ledger's custody history cannot be folded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A custody body does not decode.
    #[error("ledger entry {seq}: {source}; the ledger holds an event rootkey would never write: run `rootkey ledger verify` and investigate")]
    Malformed {
        /// Sequence number of the entry.
        seq: u64,
        /// The decoding error.
        #[source]
        source: EventError,
    },
    /// An event refers to a key the ledger never enrolled.
    #[error("ledger entry {seq} ({kind}) refers to key {key_id}, which was never enrolled")]
    UnknownKey {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// The key id.
        key_id: String,
    },
    /// An event contradicts the history before it.
    #[error("ledger entry {seq} ({kind}) contradicts the custody history: {detail}")]
    Inconsistent {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// What it contradicts.
        detail: String,
    },
    /// A possession proof does not verify against the key's enrolled custody credential.
    #[error("ledger entry {seq} ({kind}): the possession proof for key {key_id} does not verify: {reason}; the proof was forged, copied or replayed: run `rootkey ledger verify` and investigate")]
    ProofRefused {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// The key the proof claims to be from.
        key_id: String,
        /// What failed.
        reason: String,
    },
    /// The approvals stored with an entry are not the people (or not as many) the event needs.
    #[error("ledger entry {seq} ({kind}) has the wrong approvals: {detail}; run `rootkey ledger verify` and investigate")]
    Approvals {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// What is wrong with them.
        detail: String,
    },
    /// A checkout while the account's other key was already out: one key must stay in the safe.
    #[error("ledger entry {seq} (key.checked_out) takes out key {key_id} while key {other} of the same account is checked out; one key must always stay in the safe")]
    OtherKeyOut {
        /// Sequence number of the entry.
        seq: u64,
        /// The key taken out.
        key_id: String,
        /// The account's other key that was already out.
        other: String,
    },
}

/// AWS's confirmation that a key is registered on root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Serial ARN as `ListMFADevices` returns it.
    pub serial_arn: String,
    /// AWS enable date.
    pub enable_date: OffsetDateTime,
    /// When rootkey recorded the confirmation.
    pub confirmed_at: OffsetDateTime,
    /// Live API or evidence file.
    pub source: ConfirmationSource,
}

/// Where a key is, custody-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Sealed in its bag at its location.
    InSafe,
    /// Out on a break-glass checkout; the index is into [`CustodyState::checkouts`].
    CheckedOut {
        /// Index of the open checkout.
        checkout: usize,
    },
    /// Out of custody for good.
    Retired {
        /// When it was retired.
        at: OffsetDateTime,
    },
}

/// Everything the ledger says about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// Short key id.
    pub key_id: String,
    /// Account whose root it guards.
    pub account_id: String,
    /// Primary or backup.
    pub role: KeyRole,
    /// AAGUID, hyphenated.
    pub aaguid: String,
    /// Model name.
    pub model: String,
    /// Firmware version, when known.
    pub firmware: Option<String>,
    /// Attestation summary at enrollment.
    pub attestation: AttestationSummary,
    /// Custody credential id.
    pub custody_credential_id: Vec<u8>,
    /// Custody credential COSE public key.
    pub custody_public_key: Vec<u8>,
    /// Current storage location.
    pub location: String,
    /// Current bag serial (while checked out: the serial of the bag that was broken).
    pub bag_serial: String,
    /// Proposed AWS device name.
    pub aws_device_name: String,
    /// AWS confirmation, once seen.
    pub registration: Option<Registration>,
    /// In the safe, out, or retired.
    pub status: KeyStatus,
    /// When it was enrolled.
    pub enrolled_at: OffsetDateTime,
    /// Last time the key itself proved possession (enrollment, check-in or verification).
    pub last_possession: OffsetDateTime,
    /// Highest signature counter seen in a possession proof (0 at enrollment).
    pub last_counter: u32,
}

impl KeyState {
    /// Whether the key is still under custody (not retired).
    pub fn is_active(&self) -> bool {
        !matches!(self.status, KeyStatus::Retired { .. })
    }
}

/// A check-in closing a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinRecord {
    /// Ledger sequence number.
    pub seq: u64,
    /// When the key came back.
    pub time: OffsetDateTime,
    /// Whether that was after the window.
    pub late: bool,
    /// The new bag serial.
    pub bag_serial: String,
}

/// One break-glass checkout, open or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRecord {
    /// Ledger sequence number of the checkout.
    pub seq: u64,
    /// When it was recorded.
    pub time: OffsetDateTime,
    /// The key.
    pub key_id: String,
    /// The key's account.
    pub account_id: String,
    /// Why.
    pub reason: String,
    /// Ticket reference.
    pub ticket: String,
    /// Window start.
    pub window_start: OffsetDateTime,
    /// Window end (due back).
    pub window_end: OffsetDateTime,
    /// Requesting custodian.
    pub requester: String,
    /// Approving custodian.
    pub approver: String,
    /// Bag broken to take the key out.
    pub bag_broken: String,
    /// The check-in, once it happened.
    pub checkin: Option<CheckinRecord>,
}

impl CheckoutRecord {
    /// Whether the key is out past its window at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.checkin.is_none() && now > self.window_end
    }
}

/// An account under custody.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    /// Ids of every key ever enrolled for it (retired ones included).
    pub keys: BTreeSet<String>,
    /// When `account.enrolled` closed its onboarding, if it has.
    pub enrolled_at: Option<OffsetDateTime>,
}

/// A finished audit as recorded by `audit.completed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Ledger sequence number.
    pub seq: u64,
    /// When it was recorded.
    pub time: OffsetDateTime,
    /// SHA-256 of the report.
    pub report_sha256: String,
    /// Verdict string.
    pub verdict: String,
    /// Audited period start.
    pub period_start: OffsetDateTime,
    /// Audited period end.
    pub period_end: OffsetDateTime,
    /// Finding identities.
    pub findings: BTreeSet<String>,
    /// Accounts in scope.
    pub accounts: BTreeSet<String>,
}

/// The custody state after folding a ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustodyState {
    /// Every key ever enrolled, by key id.
    pub keys: BTreeMap<String, KeyState>,
    /// Accounts with at least one enrolled key, by account id.
    pub accounts: BTreeMap<String, AccountState>,
    /// Every checkout in ledger order.
    pub checkouts: Vec<CheckoutRecord>,
    /// Every audit in ledger order.
    pub audits: Vec<AuditRecord>,
    /// Every bag serial the ledger has seen: bags are single-use, so none may come back.
    pub used_bags: BTreeSet<String>,
    /// Sequence number of the last custody event folded.
    pub last_seq: Option<u64>,
}

impl CustodyState {
    /// Folds `events` (in ledger order) into a state.
    pub fn fold<'a, I>(events: I) -> Result<CustodyState, StateError>
    where
        I: IntoIterator<Item = LedgerEvent<'a>>,
    {
        let mut state = CustodyState::default();
        for ev in events {
            state.apply(ev)?;
        }
        Ok(state)
    }

    /// Applies one ledger entry; other layers' kinds are ignored. A refused entry leaves the
    /// state as it was. `ev.approvers` must be the people the event needs.
    pub fn apply(&mut self, ev: LedgerEvent<'_>) -> Result<(), StateError> {
        self.apply_with(ev, true)
    }

    /// Applies an event that has not been approved yet: every check of [`Self::apply`] except
    /// the approvals, which do not exist before the custodians touch their keys. Flows use this
    /// to refuse an event before asking anyone to approve it; a ledger is never folded this way.
    pub fn apply_before_approval(&mut self, ev: LedgerEvent<'_>) -> Result<(), StateError> {
        self.apply_with(ev, false)
    }

    fn apply_with(&mut self, ev: LedgerEvent<'_>, approved: bool) -> Result<(), StateError> {
        let decoded =
            CustodyEvent::decode(ev.kind, ev.body).map_err(|source| StateError::Malformed {
                seq: ev.seq,
                source,
            })?;
        let Some(decoded) = decoded else {
            return Ok(());
        };
        let seq = ev.seq;
        let kind = ev.kind;
        if approved {
            check_approvers(seq, kind, &decoded, ev.approvers)?;
        }
        let inconsistent = |detail: String| StateError::Inconsistent {
            seq,
            kind: kind.to_string(),
            detail,
        };
        match decoded {
            CustodyEvent::KeyEnrolled(b) => {
                if self.keys.contains_key(&b.key_id) {
                    return Err(inconsistent(format!(
                        "key {} is already enrolled",
                        b.key_id
                    )));
                }
                if let Some(other) = self.keys.values().find(|k| {
                    k.custody_credential_id == b.custody_credential_id.0
                        || k.custody_public_key == b.custody_public_key.0
                }) {
                    return Err(inconsistent(format!(
                        "its custody credential is already key {}'s",
                        other.key_id
                    )));
                }
                let here = rules::normalise_location(&b.location);
                if let Some(other) = self
                    .active_keys_of(&b.account_id)
                    .into_iter()
                    .find(|k| rules::normalise_location(&k.location) == here)
                {
                    return Err(inconsistent(format!(
                        "key {} would be stored at the same location as key {} of the same account",
                        b.key_id, other.key_id
                    )));
                }
                if !self.used_bags.insert(b.bag_serial.clone()) {
                    return Err(inconsistent(format!(
                        "bag {} was already used",
                        b.bag_serial
                    )));
                }
                self.accounts
                    .entry(b.account_id.clone())
                    .or_default()
                    .keys
                    .insert(b.key_id.clone());
                self.keys.insert(
                    b.key_id.clone(),
                    KeyState {
                        key_id: b.key_id,
                        account_id: b.account_id,
                        role: b.role,
                        aaguid: b.aaguid,
                        model: b.model,
                        firmware: b.firmware,
                        attestation: b.attestation,
                        custody_credential_id: b.custody_credential_id.0,
                        custody_public_key: b.custody_public_key.0,
                        location: b.location,
                        bag_serial: b.bag_serial,
                        aws_device_name: b.aws_device_name,
                        registration: None,
                        status: KeyStatus::InSafe,
                        enrolled_at: ev.time,
                        // Making the custody credential needed the key in hand.
                        last_possession: ev.time,
                        last_counter: 0,
                    },
                );
            }
            CustodyEvent::KeyRegistrationConfirmed(b) => {
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                if !key.is_active() {
                    return Err(inconsistent(format!("key {} is retired", b.key_id)));
                }
                key.registration = Some(Registration {
                    serial_arn: b.serial_arn,
                    enable_date: b.enable_date,
                    confirmed_at: ev.time,
                    source: b.source,
                });
            }
            CustodyEvent::AccountEnrolled(b) => {
                for (id, role) in [
                    (&b.primary_key_id, KeyRole::Primary),
                    (&b.backup_key_id, KeyRole::Backup),
                ] {
                    let key = self.key_mut(seq, kind, id, &b.account_id)?;
                    if key.role != role {
                        return Err(inconsistent(format!(
                            "key {id} was enrolled as {}, not {}",
                            key.role.as_str(),
                            role.as_str()
                        )));
                    }
                    if key.registration.is_none() {
                        return Err(inconsistent(format!(
                            "key {id} was never confirmed registered in AWS"
                        )));
                    }
                }
                self.accounts.entry(b.account_id).or_default().enrolled_at = Some(ev.time);
            }
            CustodyEvent::KeyCheckedOut(b) => {
                let index = self.checkouts.len();
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                if key.status != KeyStatus::InSafe {
                    return Err(inconsistent(format!("key {} is not in the safe", b.key_id)));
                }
                if key.bag_serial != b.bag_broken {
                    return Err(inconsistent(format!(
                        "bag broken is {} but key {} was sealed in {}",
                        b.bag_broken, b.key_id, key.bag_serial
                    )));
                }
                if let Some(other) = self.active_keys_of(&b.account_id).into_iter().find(|k| {
                    k.key_id != b.key_id && matches!(k.status, KeyStatus::CheckedOut { .. })
                }) {
                    return Err(StateError::OtherKeyOut {
                        seq,
                        key_id: b.key_id.clone(),
                        other: other.key_id.clone(),
                    });
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                key.status = KeyStatus::CheckedOut { checkout: index };
                self.checkouts.push(CheckoutRecord {
                    seq,
                    time: ev.time,
                    key_id: b.key_id,
                    account_id: b.account_id,
                    reason: b.reason,
                    ticket: b.ticket,
                    window_start: b.window_start,
                    window_end: b.window_end,
                    requester: b.requester,
                    approver: b.approver,
                    bag_broken: b.bag_broken,
                    checkin: None,
                });
            }
            CustodyEvent::KeyCheckedIn(b) => {
                if self.used_bags.contains(&b.bag_serial) {
                    return Err(inconsistent(format!(
                        "bag {} was already used",
                        b.bag_serial
                    )));
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                let KeyStatus::CheckedOut { checkout } = key.status else {
                    return Err(inconsistent(format!("key {} is not checked out", b.key_id)));
                };
                check_proof(seq, kind, key, &b.proof)?;
                if checkout >= self.checkouts.len() {
                    return Err(inconsistent("open checkout not found".into()));
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                key.status = KeyStatus::InSafe;
                key.bag_serial = b.bag_serial.clone();
                record_proof(key, ev.time, &b.proof);
                self.used_bags.insert(b.bag_serial.clone());
                let record = &mut self.checkouts[checkout];
                record.checkin = Some(CheckinRecord {
                    seq,
                    time: ev.time,
                    late: b.late,
                    bag_serial: b.bag_serial,
                });
            }
            CustodyEvent::KeyVerified(b) => {
                if let Some(bag) = &b.bag_serial {
                    if self.used_bags.contains(bag) {
                        return Err(inconsistent(format!("bag {bag} was already used")));
                    }
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                if !key.is_active() {
                    return Err(inconsistent(format!("key {} is retired", b.key_id)));
                }
                check_proof(seq, kind, key, &b.proof)?;
                if let Some(bag) = &b.bag_serial {
                    key.bag_serial = bag.clone();
                }
                record_proof(key, ev.time, &b.proof);
                self.used_bags.extend(b.bag_serial);
            }
            CustodyEvent::KeyMoved(b) => {
                if let Some(bag) = &b.bag_serial {
                    if self.used_bags.contains(bag) {
                        return Err(inconsistent(format!("bag {bag} was already used")));
                    }
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                if key.status != KeyStatus::InSafe {
                    return Err(inconsistent(format!("key {} is not in the safe", b.key_id)));
                }
                let to = rules::normalise_location(&b.to_location);
                if to == rules::normalise_location(&key.location) {
                    return Err(inconsistent(format!(
                        "key {} is already at {}",
                        b.key_id, key.location
                    )));
                }
                if let Some(other) = self
                    .active_keys_of(&b.account_id)
                    .into_iter()
                    .find(|k| k.key_id != b.key_id && rules::normalise_location(&k.location) == to)
                {
                    return Err(inconsistent(format!(
                        "key {} would be stored at the same location as key {} of the same account",
                        b.key_id, other.key_id
                    )));
                }
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                key.location = b.to_location;
                if let Some(bag) = &b.bag_serial {
                    key.bag_serial = bag.clone();
                }
                self.used_bags.extend(b.bag_serial);
            }
            CustodyEvent::KeyRetired(b) => {
                let key = self.key_mut(seq, kind, &b.key_id, &b.account_id)?;
                if !key.is_active() {
                    return Err(inconsistent(format!("key {} is already retired", b.key_id)));
                }
                key.status = KeyStatus::Retired { at: ev.time };
            }
            CustodyEvent::AuditCompleted(b) => {
                self.audits.push(AuditRecord {
                    seq,
                    time: ev.time,
                    report_sha256: b.report_sha256,
                    verdict: b.verdict,
                    period_start: b.period_start,
                    period_end: b.period_end,
                    findings: b.findings.into_iter().collect(),
                    accounts: b.accounts.into_iter().collect(),
                });
            }
        }
        self.last_seq = Some(seq);
        Ok(())
    }

    fn key_mut(
        &mut self,
        seq: u64,
        kind: &str,
        key_id: &str,
        account_id: &str,
    ) -> Result<&mut KeyState, StateError> {
        let key = self
            .keys
            .get_mut(key_id)
            .ok_or_else(|| StateError::UnknownKey {
                seq,
                kind: kind.to_string(),
                key_id: key_id.to_string(),
            })?;
        if key.account_id != account_id {
            return Err(StateError::Inconsistent {
                seq,
                kind: kind.to_string(),
                detail: format!(
                    "key {key_id} belongs to account {}, not {account_id}",
                    key.account_id
                ),
            });
        }
        Ok(key)
    }

    /// Active (not retired) keys of `account_id`, in key id order.
    pub fn active_keys_of(&self, account_id: &str) -> Vec<&KeyState> {
        self.accounts
            .get(account_id)
            .map(|a| {
                a.keys
                    .iter()
                    .filter_map(|id| self.keys.get(id))
                    .filter(|k| k.is_active())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The open checkout of `key`, if it is out.
    pub fn open_checkout(&self, key: &KeyState) -> Option<&CheckoutRecord> {
        match key.status {
            KeyStatus::CheckedOut { checkout } => self.checkouts.get(checkout),
            _ => None,
        }
    }

    /// Checkouts of `account_id`'s keys, in ledger order.
    pub fn checkouts_of(&self, account_id: &str) -> Vec<&CheckoutRecord> {
        self.checkouts
            .iter()
            .filter(|c| c.account_id == account_id)
            .collect()
    }

    /// Open checkouts past their window at `now`.
    pub fn overdue(&self, now: OffsetDateTime) -> Vec<&CheckoutRecord> {
        self.checkouts
            .iter()
            .filter(|c| c.is_overdue(now))
            .collect()
    }

    /// The active key whose custody credential id is `credential_id`.
    pub fn key_by_credential(&self, credential_id: &[u8]) -> Option<&KeyState> {
        self.keys
            .values()
            .find(|k| k.is_active() && k.custody_credential_id == credential_id)
    }
}

/// Why the custody history could not be read out of a ledger.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    /// The database could not be read.
    #[error("cannot read the custody ledger: {0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A stored entry does not decode.
    #[error("ledger entry {seq} cannot be decoded ({detail}); run `rootkey ledger verify` and investigate")]
    Entry {
        /// Sequence number of the entry.
        seq: u64,
        /// The decoding error.
        detail: String,
    },
    /// An entry's time is not RFC 3339.
    #[error("ledger entry {seq} has time {time:?}, which is not an RFC 3339 time; run `rootkey ledger verify` and investigate")]
    BadTime {
        /// Sequence number of the entry.
        seq: u64,
        /// The stored text.
        time: String,
    },
    /// The custody history contradicts itself.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The time an entry was appended, as the fold sees it.
pub fn entry_time(entry: &crate::ledger::Entry) -> Result<OffsetDateTime, FoldError> {
    OffsetDateTime::parse(
        &entry.event.time,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| FoldError::BadTime {
        seq: entry.seq,
        time: entry.event.time.clone(),
    })
}

/// Folds one decoded ledger entry: the single adapter from ledger entries to [`LedgerEvent`]
/// (approvers are the custodian ids of the approvals stored with the entry).
pub fn apply_entry(
    state: &mut CustodyState,
    entry: &crate::ledger::Entry,
) -> Result<(), FoldError> {
    let time = entry_time(entry)?;
    let approvers: Vec<String> = entry
        .approvals
        .iter()
        .map(|a| a.custodian_id.clone())
        .collect();
    state.apply(LedgerEvent {
        seq: entry.seq,
        time,
        kind: &entry.event.kind,
        actor: &entry.event.actor,
        body: &entry.event.body,
        approvers: &approvers,
    })?;
    Ok(())
}

/// The custody state of a whole ledger, streamed entry by entry (memory stays flat).
///
/// This reads; it does not verify. Callers that must trust the result run
/// [`crate::ledger::Ledger::verify`] as well (the audit does both and reports either failing).
pub fn fold_ledger(ledger: &crate::ledger::Ledger) -> Result<CustodyState, FoldError> {
    let mut state = CustodyState::default();
    let mut failure = None;
    ledger.for_each_raw(0, |raw| {
        let seq = raw.seq;
        let step = crate::ledger::Entry::decode(raw.bytes)
            .map_err(|e| FoldError::Entry {
                seq,
                detail: e.to_string(),
            })
            .and_then(|entry| apply_entry(&mut state, &entry));
        match step {
            Ok(()) => Ok(true),
            Err(e) => {
                failure = Some(e);
                Ok(false)
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(state),
    }
}

/// Checks that the approvals the ledger verified for an entry are the people its body names, as
/// many distinct people as the kind needs, and two for a possession check that reseals a bag
/// (opening a bag is a change of custody, so it needs dual control like a check-in).
fn check_approvers(
    seq: u64,
    kind: &str,
    event: &CustodyEvent,
    approvers: &[String],
) -> Result<(), StateError> {
    let wrong = |detail: String| StateError::Approvals {
        seq,
        kind: kind.to_string(),
        detail,
    };
    let people: BTreeSet<&str> = approvers.iter().map(String::as_str).collect();
    if people.len() != approvers.len() {
        return Err(wrong(format!(
            "the same custodian approved twice ({})",
            approvers.join(", ")
        )));
    }
    let mut needed = crate::ledger::rules::required_approvals(kind)
        .ok_or_else(|| wrong("the ledger has no approval rule for this kind".into()))?;
    match event {
        CustodyEvent::KeyCheckedOut(b) => {
            let named = BTreeSet::from([b.requester.as_str(), b.approver.as_str()]);
            if people != named {
                return Err(wrong(format!(
                    "the body names requester {} and approver {}, but the approvals are from {}",
                    b.requester,
                    b.approver,
                    listed(&people)
                )));
            }
        }
        CustodyEvent::KeyVerified(b) if b.bag_serial.is_some() => needed = needed.max(2),
        _ => {}
    }
    if people.len() < needed {
        return Err(wrong(format!(
            "it needs {needed} distinct custodians, but the approvals are from {}",
            listed(&people)
        )));
    }
    Ok(())
}

fn listed(people: &BTreeSet<&str>) -> String {
    if people.is_empty() {
        "nobody".into()
    } else {
        people.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

/// Verifies a recorded possession proof exactly as the flows did before appending it, against
/// the challenge the proof itself records: the key's signature binds the client data, so a
/// proof copied from another entry or made by another key fails, and one replayed on the same
/// key fails the counter check.
fn check_proof(
    seq: u64,
    kind: &str,
    key: &KeyState,
    proof: &PossessionProof,
) -> Result<(), StateError> {
    rules::verify_possession(key, proof, proof.challenge.as_bytes()).map_err(|e| {
        let reason = match e {
            RuleError::PossessionRefused { reason, .. } => reason,
            other => other.to_string(),
        };
        StateError::ProofRefused {
            seq,
            kind: kind.to_string(),
            key_id: key.key_id.clone(),
            reason,
        }
    })
}

fn record_proof(key: &mut KeyState, at: OffsetDateTime, proof: &PossessionProof) {
    key.last_possession = at;
    key.last_counter = key.last_counter.max(proof.counter);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::custody::events::tests::{enrolled_body, sample_cose};
    use crate::webauthn::client_data::TYPE_GET;
    use crate::webauthn::{b64url, sha256, AuthData, ClientData, Flags};
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use serde_json::{json, Value};
    use time::macros::datetime;

    /// An owned ledger entry for tests.
    pub(crate) struct Entry {
        pub seq: u64,
        pub time: OffsetDateTime,
        pub kind: String,
        pub body: Value,
        pub approvers: Vec<String>,
    }

    pub(crate) fn fold(entries: &[Entry]) -> Result<CustodyState, StateError> {
        CustodyState::fold(entries.iter().map(|e| LedgerEvent {
            seq: e.seq,
            time: e.time,
            kind: &e.kind,
            actor: "tester",
            body: &e.body,
            approvers: &e.approvers,
        }))
    }

    pub(crate) fn entry(seq: u64, time: OffsetDateTime, kind: &str, body: Value) -> Entry {
        Entry {
            seq,
            time,
            kind: kind.into(),
            body,
            approvers: vec!["alice".into(), "bob".into()],
        }
    }

    /// Body of `key.enrolled` for `key_id` in `account`, with a distinct credential.
    pub(crate) fn enrolled(key_id: &str, account: &str, role: &str, bag: &str) -> Value {
        let mut b = enrolled_body();
        b["key_id"] = json!(key_id);
        b["account_id"] = json!(account);
        b["role"] = json!(role);
        b["bag_serial"] = json!(bag);
        b["location"] = json!(format!("Safe for {key_id}"));
        b["aws_device_name"] = json!(format!("rootkey-{key_id}"));
        b["custody_credential_id"] = json!(b64url(key_id.as_bytes()));
        b["custody_public_key"] = json!(b64url(&cose_for(key_id)));
        b
    }

    /// The custody key pair of `key_id` in tests: Ed25519 seeded from the id, so a test can sign
    /// possession proofs for a key it enrolled with [`enrolled`].
    pub(crate) fn pair_for(key_id: &str) -> Ed25519KeyPair {
        let seed = crate::webauthn::sha256(key_id.as_bytes());
        Ed25519KeyPair::from_seed_unchecked(&seed).unwrap()
    }

    /// The COSE public key of [`pair_for`]`(key_id)`.
    pub(crate) fn cose_for(key_id: &str) -> Vec<u8> {
        let pair = pair_for(key_id);
        crate::webauthn::CoseKey::EdDsa {
            x: pair.public_key().as_ref().try_into().unwrap(),
        }
        .to_cbor()
    }

    /// A possession proof signed by `pair` with the given RP, client data type and counter.
    pub(crate) fn signed_proof(
        pair: &Ed25519KeyPair,
        rp_id: &str,
        kind: &'static str,
        counter: u32,
        challenge: &[u8],
    ) -> Value {
        let auth = AuthData::encode(&sha256(rp_id.as_bytes()), Flags(Flags::UP), counter, None);
        let cd = ClientData::json(kind, challenge, "rootkey:custody");
        let mut msg = auth.clone();
        msg.extend_from_slice(&sha256(&cd));
        json!({"challenge": b64url(challenge), "authenticator_data": b64url(&auth),
               "client_data_json": b64url(&cd),
               "signature": b64url(pair.sign(&msg).as_ref()), "counter": counter})
    }

    pub(crate) fn confirmed(key_id: &str, account: &str) -> Value {
        json!({
            "key_id": key_id, "account_id": account,
            "serial_arn": format!("arn:aws:iam::{account}:u2f/root/rootkey-{key_id}-ABCDEFGHIJKLMNOP"),
            "enable_date": "2025-01-02T10:00:00Z", "source": "evidence"
        })
    }

    /// A valid possession proof by `key_id`'s custody key at `counter`.
    pub(crate) fn proof(key_id: &str, counter: u32) -> Value {
        let challenge = format!("challenge {key_id} {counter}");
        signed_proof(
            &pair_for(key_id),
            crate::device::CUSTODY_RP_ID,
            TYPE_GET,
            counter,
            challenge.as_bytes(),
        )
    }

    pub(crate) fn checkout(
        key_id: &str,
        account: &str,
        bag: &str,
        start: &str,
        end: &str,
    ) -> Value {
        json!({"key_id": key_id, "account_id": account, "reason": "billing contact change",
               "ticket": "CHG-1", "window_start": start, "window_end": end,
               "requester": "alice", "approver": "bob", "bag_broken": bag})
    }

    pub(crate) fn checkin(
        key_id: &str,
        account: &str,
        bag: &str,
        late: bool,
        counter: u32,
    ) -> Value {
        json!({"key_id": key_id, "account_id": account, "bag_serial": bag, "late": late,
               "proof": proof(key_id, counter)})
    }

    fn basic() -> Vec<Entry> {
        let t0 = datetime!(2025-01-02 09:00 UTC);
        vec![
            entry(1, t0, "custodian.bootstrap", json!({"anything": [1, 2]})),
            entry(
                2,
                t0,
                "key.enrolled",
                enrolled("k1", "111122223333", "primary", "B1"),
            ),
            entry(
                3,
                t0,
                "key.enrolled",
                enrolled("k2", "111122223333", "backup", "B2"),
            ),
            entry(
                4,
                t0,
                "key.registration_confirmed",
                confirmed("k1", "111122223333"),
            ),
            entry(
                5,
                t0,
                "key.registration_confirmed",
                confirmed("k2", "111122223333"),
            ),
            entry(
                6,
                t0,
                "account.enrolled",
                json!({"account_id": "111122223333", "primary_key_id": "k1", "backup_key_id": "k2"}),
            ),
        ]
    }

    #[test]
    fn enrollment_builds_keys_and_accounts() {
        let s = fold(&basic()).unwrap();
        assert_eq!(s.keys.len(), 2);
        assert_eq!(s.active_keys_of("111122223333").len(), 2);
        let k1 = &s.keys["k1"];
        assert_eq!(k1.status, KeyStatus::InSafe);
        assert_eq!(k1.bag_serial, "B1");
        assert!(k1
            .registration
            .as_ref()
            .unwrap()
            .serial_arn
            .contains("rootkey-k1-"));
        assert!(s.accounts["111122223333"].enrolled_at.is_some());
        assert_eq!(s.last_seq, Some(6));
        assert!(s.used_bags.contains("B2"));
        let _ = sample_cose();
    }

    #[test]
    fn checkout_and_checkin_track_status_bag_and_possession() {
        let mut e = basic();
        let t1 = datetime!(2025-02-01 10:00 UTC);
        let t2 = datetime!(2025-02-03 10:00 UTC);
        e.push(entry(
            7,
            t1,
            "key.checked_out",
            checkout(
                "k1",
                "111122223333",
                "B1",
                "2025-02-01T10:00:00Z",
                "2025-02-02T10:00:00Z",
            ),
        ));
        let s = fold(&e).unwrap();
        let k1 = &s.keys["k1"];
        assert_eq!(k1.status, KeyStatus::CheckedOut { checkout: 0 });
        assert!(s.open_checkout(k1).is_some());
        assert!(s.overdue(t2).len() == 1);
        assert!(s.overdue(t1).is_empty());

        e.push(entry(
            8,
            t2,
            "key.checked_in",
            checkin("k1", "111122223333", "B3", true, 7),
        ));
        let s = fold(&e).unwrap();
        let k1 = &s.keys["k1"];
        assert_eq!(k1.status, KeyStatus::InSafe);
        assert_eq!(k1.bag_serial, "B3");
        assert_eq!(k1.last_possession, t2);
        assert_eq!(k1.last_counter, 7);
        let c = &s.checkouts[0];
        assert_eq!(c.checkin.as_ref().map(|c| c.late), Some(true));
        assert!(s.overdue(t2).is_empty());
        assert_eq!(s.checkouts_of("111122223333").len(), 1);
        assert!(s.checkouts_of("999").is_empty());
    }

    #[test]
    fn malformed_known_kind_names_the_seq() {
        let mut e = basic();
        e.push(entry(
            42,
            datetime!(2025-02-01 10:00 UTC),
            "key.checked_out",
            json!({"key_id": "k1"}),
        ));
        let err = fold(&e).unwrap_err();
        assert!(
            matches!(err, StateError::Malformed { seq: 42, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("ledger entry 42"));
    }

    #[test]
    fn contradictions_are_errors() {
        let t = datetime!(2025-02-01 10:00 UTC);
        type Check = fn(&StateError) -> bool;
        let cases: Vec<(Entry, Check)> = vec![
            (
                entry(
                    9,
                    t,
                    "key.checked_in",
                    checkin("k1", "111122223333", "B9", false, 1),
                ),
                |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
            ),
            (
                entry(
                    9,
                    t,
                    "key.enrolled",
                    enrolled("k1", "111122223333", "primary", "B9"),
                ),
                |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
            ),
            (
                entry(
                    9,
                    t,
                    "key.verified",
                    json!({"key_id": "zz", "account_id": "111122223333", "proof": proof("zz", 1)}),
                ),
                |e| matches!(e, StateError::UnknownKey { seq: 9, .. }),
            ),
            (
                entry(
                    9,
                    t,
                    "key.retired",
                    json!({"key_id": "k1", "account_id": "444455556666", "reason": "lost"}),
                ),
                |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
            ),
            (
                entry(
                    9,
                    t,
                    "key.checked_out",
                    checkout(
                        "k1",
                        "111122223333",
                        "WRONG",
                        "2025-02-01T10:00:00Z",
                        "2025-02-02T10:00:00Z",
                    ),
                ),
                |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
            ),
            (
                entry(
                    9,
                    t,
                    "key.moved",
                    json!({"key_id": "k2", "account_id": "111122223333", "from_location": "a", "to_location": "b", "bag_serial": "B1", "reason": "r"}),
                ),
                |e| matches!(e, StateError::Inconsistent { seq: 9, .. }),
            ),
        ];
        for (bad, check) in cases {
            let mut e = basic();
            let kind = bad.kind.clone();
            e.push(bad);
            let err = fold(&e).unwrap_err();
            assert!(check(&err), "{kind}: {err}");
        }
    }

    #[test]
    fn same_credential_under_a_new_id_is_refused() {
        let mut e = basic();
        let mut b = enrolled("k9", "111122223333", "primary", "B9");
        b["custody_credential_id"] = json!(b64url(b"k1"));
        e.push(entry(9, datetime!(2025-02-01 10:00 UTC), "key.enrolled", b));
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 9, .. }
        ));
    }

    #[test]
    fn account_enrolled_needs_confirmed_keys_in_the_right_roles() {
        let t = datetime!(2025-01-02 09:00 UTC);
        let e = vec![
            entry(1, t, "key.enrolled", enrolled("k1", "1", "primary", "B1")),
            entry(2, t, "key.enrolled", enrolled("k2", "1", "backup", "B2")),
            entry(
                3,
                t,
                "account.enrolled",
                json!({"account_id": "1", "primary_key_id": "k1", "backup_key_id": "k2"}),
            ),
        ];
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 3, .. }
        ));
        let e = vec![
            entry(1, t, "key.enrolled", enrolled("k1", "1", "primary", "B1")),
            entry(2, t, "key.enrolled", enrolled("k2", "1", "backup", "B2")),
            entry(3, t, "key.registration_confirmed", confirmed("k1", "1")),
            entry(4, t, "key.registration_confirmed", confirmed("k2", "1")),
            entry(
                5,
                t,
                "account.enrolled",
                json!({"account_id": "1", "primary_key_id": "k2", "backup_key_id": "k1"}),
            ),
        ];
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 5, .. }
        ));
    }

    #[test]
    fn move_verify_retire_and_audit() {
        let mut e = basic();
        let t = datetime!(2025-03-01 10:00 UTC);
        e.push(entry(7, t, "key.moved", json!({"key_id": "k2", "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "Vault C", "bag_serial": "B7", "reason": "office move"})));
        e.push(entry(
            8,
            t,
            "key.verified",
            json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 3)}),
        ));
        e.push(entry(
            9,
            t,
            "key.retired",
            json!({"key_id": "k2", "account_id": "111122223333", "reason": "lost"}),
        ));
        e.push(entry(10, t, "audit.completed", json!({
            "report_sha256": "0".repeat(64), "format": "json", "checkpoint": "c",
            "period_start": "2025-01-01T00:00:00Z", "period_end": "2025-03-01T00:00:00Z",
            "verdict": "pass", "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0},
            "findings": [], "accounts": ["111122223333"]})));
        let s = fold(&e).unwrap();
        assert_eq!(s.keys["k2"].location, "Vault C");
        assert_eq!(s.keys["k2"].bag_serial, "B7");
        assert!(!s.keys["k2"].is_active());
        assert_eq!(s.active_keys_of("111122223333").len(), 1);
        assert_eq!(s.keys["k1"].last_possession, t);
        assert_eq!(s.keys["k1"].last_counter, 3);
        assert_eq!(s.audits.len(), 1);
        assert!(s.key_by_credential(b"k1").is_some());
        assert!(s.key_by_credential(b"k2").is_none());
    }

    #[test]
    fn a_refused_entry_leaves_the_state_unchanged() {
        let mut s = fold(&basic()).unwrap();
        let before = s.clone();
        let approvers = vec![];
        for (kind, body) in [
            (
                "key.checked_in",
                checkin("k1", "111122223333", "B-new", false, 1),
            ),
            (
                "key.verified",
                json!({"key_id": "k1", "account_id": "444455556666", "proof": proof("k1", 1), "bag_serial": "B-new"}),
            ),
            (
                "key.moved",
                json!({"key_id": "k9", "account_id": "111122223333", "from_location": "a", "to_location": "b", "bag_serial": "B-new", "reason": "r"}),
            ),
        ] {
            let err = s
                .apply(LedgerEvent {
                    seq: 7,
                    time: datetime!(2025-02-01 10:00 UTC),
                    kind,
                    actor: "t",
                    body: &body,
                    approvers: &approvers,
                })
                .unwrap_err();
            assert!(err.to_string().contains("ledger entry 7"), "{err}");
            assert_eq!(s, before, "{kind}");
        }
    }

    #[test]
    fn a_bag_serial_cannot_be_reused() {
        let mut e = basic();
        let t = datetime!(2025-02-01 10:00 UTC);
        e.push(entry(
            7,
            t,
            "key.checked_out",
            checkout(
                "k1",
                "111122223333",
                "B1",
                "2025-02-01T10:00:00Z",
                "2025-02-02T10:00:00Z",
            ),
        ));
        e.push(entry(
            8,
            t,
            "key.checked_in",
            checkin("k1", "111122223333", "B2", false, 1),
        ));
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 8, .. }
        ));
    }

    /// `basic()` plus k1 checked out (seq 7) at `t`.
    fn with_k1_out() -> Vec<Entry> {
        let mut e = basic();
        e.push(entry(
            7,
            datetime!(2025-02-01 10:00 UTC),
            "key.checked_out",
            checkout(
                "k1",
                "111122223333",
                "B1",
                "2025-02-01T10:00:00Z",
                "2025-02-02T10:00:00Z",
            ),
        ));
        e
    }

    fn clone_entries(e: &[Entry]) -> Vec<Entry> {
        e.iter()
            .map(|x| Entry {
                seq: x.seq,
                time: x.time,
                kind: x.kind.clone(),
                body: x.body.clone(),
                approvers: x.approvers.clone(),
            })
            .collect()
    }

    fn refused_proof(err: &StateError) -> Option<&str> {
        match err {
            StateError::ProofRefused {
                seq: 8,
                key_id,
                reason,
                ..
            } if key_id == "k1" => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn a_forged_proof_fails_the_fold() {
        let t = datetime!(2025-02-01 12:00 UTC);
        let other = pair_for("somebody else's key");
        let cases = [
            // Signed by another key.
            signed_proof(&other, crate::device::CUSTODY_RP_ID, TYPE_GET, 5, b"c"),
            // The right key, but for another RP or a registration, not an assertion.
            signed_proof(&pair_for("k1"), "example.com", TYPE_GET, 5, b"c"),
            signed_proof(
                &pair_for("k1"),
                crate::device::CUSTODY_RP_ID,
                crate::webauthn::client_data::TYPE_CREATE,
                5,
                b"c",
            ),
            // The placeholder the fold used to accept.
            json!({"challenge": "AA", "authenticator_data": "AA", "client_data_json": "AA",
                   "signature": "AA", "counter": 5}),
        ];
        for (i, forged) in cases.into_iter().enumerate() {
            let mut e = with_k1_out();
            let mut body = checkin("k1", "111122223333", "B8", false, 5);
            body["proof"] = forged;
            e.push(entry(8, t, "key.checked_in", body));
            let err = fold(&e).unwrap_err();
            assert!(refused_proof(&err).is_some(), "case {i}: {err}");
            assert!(err.to_string().contains("ledger entry 8"), "{err}");
        }
        // A proof whose challenge was swapped after signing no longer matches its client data.
        let mut e = basic();
        let mut p = proof("k1", 5);
        p["challenge"] = json!(b64url(b"another challenge"));
        e.push(entry(
            8,
            t,
            "key.verified",
            json!({"key_id": "k1", "account_id": "111122223333", "proof": p}),
        ));
        assert!(refused_proof(&fold(&e).unwrap_err()).is_some());
        // A proof of k2 presented for k1.
        let mut e = basic();
        e.push(entry(
            8,
            t,
            "key.verified",
            json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k2", 5)}),
        ));
        let err = fold(&e).unwrap_err();
        assert!(
            refused_proof(&err).is_some_and(|r| r.contains("signature")),
            "{err}"
        );
    }

    #[test]
    fn a_replayed_proof_fails_the_fold() {
        let t = datetime!(2025-02-01 12:00 UTC);
        let mut e = basic();
        let v = json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 5)});
        e.push(entry(7, t, "key.verified", v.clone()));
        assert_eq!(fold(&e).unwrap().keys["k1"].last_counter, 5);
        // The same proof again, and an older one, are both refused for the counter.
        for counter in [5, 4] {
            let mut e = clone_entries(&e);
            e.push(entry(
                8,
                t,
                "key.verified",
                json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", counter)}),
            ));
            let err = fold(&e).unwrap_err();
            assert!(
                refused_proof(&err).is_some_and(|r| r.contains("did not increase")),
                "{counter}: {err}"
            );
        }
        // A counter of 0 is fine only while it has always been 0.
        let mut e = basic();
        for seq in [7, 8] {
            e.push(entry(
                seq,
                t,
                "key.verified",
                json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 0)}),
            ));
        }
        assert_eq!(fold(&e).unwrap().keys["k1"].last_counter, 0);
    }

    #[test]
    fn checkout_approvers_must_be_the_named_requester_and_approver() {
        let t = datetime!(2025-02-01 10:00 UTC);
        let body = checkout(
            "k1",
            "111122223333",
            "B1",
            "2025-02-01T10:00:00Z",
            "2025-02-02T10:00:00Z",
        );
        for approvers in [
            vec!["alice", "carol"],
            vec!["carol", "dave"],
            vec!["alice"],
            vec!["alice", "alice"],
            vec!["alice", "bob", "carol"],
            vec![],
        ] {
            let mut e = basic();
            let mut c = entry(7, t, "key.checked_out", body.clone());
            c.approvers = approvers.iter().map(|a| a.to_string()).collect();
            e.push(c);
            let err = fold(&e).unwrap_err();
            assert!(
                matches!(err, StateError::Approvals { seq: 7, .. }),
                "{approvers:?}: {err}"
            );
        }
        // Order does not matter: the set is what counts.
        let mut e = basic();
        let mut c = entry(7, t, "key.checked_out", body);
        c.approvers = vec!["bob".into(), "alice".into()];
        e.push(c);
        assert!(fold(&e).is_ok());
    }

    #[test]
    fn kinds_naming_nobody_still_need_the_ledgers_count_of_approvers() {
        let t = datetime!(2025-02-01 12:00 UTC);
        for (kind, body) in [
            (
                "key.checked_in",
                checkin("k1", "111122223333", "B8", false, 3),
            ),
            (
                "key.retired",
                json!({"key_id": "k2", "account_id": "111122223333", "reason": "lost"}),
            ),
        ] {
            let mut e = with_k1_out();
            let mut c = entry(8, t, kind, body);
            c.approvers = vec!["alice".into()];
            e.push(c);
            let err = fold(&e).unwrap_err();
            assert!(
                matches!(err, StateError::Approvals { seq: 8, .. }),
                "{kind}: {err}"
            );
        }
        let mut e = basic();
        let mut c = entry(
            7,
            t,
            "key.verified",
            json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 1)}),
        );
        c.approvers = vec![];
        e.push(c);
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Approvals { seq: 7, .. }
        ));
    }

    #[test]
    fn a_reseal_needs_two_approvers() {
        let t = datetime!(2025-02-01 12:00 UTC);
        let reseal = json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 2), "bag_serial": "B8"});
        let mut e = basic();
        let mut v = entry(7, t, "key.verified", reseal.clone());
        v.approvers = vec!["alice".into()];
        e.push(v);
        let err = fold(&e).unwrap_err();
        assert!(
            matches!(err, StateError::Approvals { seq: 7, .. }) && err.to_string().contains("2"),
            "{err}"
        );
        // A plain check needs the one custodian who held the key; a reseal with two is fine.
        let mut e = basic();
        let mut v = entry(
            7,
            t,
            "key.verified",
            json!({"key_id": "k1", "account_id": "111122223333", "proof": proof("k1", 1)}),
        );
        v.approvers = vec!["alice".into()];
        e.push(v);
        e.push(entry(8, t, "key.verified", reseal));
        let s = fold(&e).unwrap();
        assert_eq!(s.keys["k1"].bag_serial, "B8");
    }

    #[test]
    fn a_second_checkout_while_the_other_key_is_out_fails_the_fold() {
        let mut e = with_k1_out();
        e.push(entry(
            8,
            datetime!(2025-02-01 11:00 UTC),
            "key.checked_out",
            checkout(
                "k2",
                "111122223333",
                "B2",
                "2025-02-01T11:00:00Z",
                "2025-02-02T11:00:00Z",
            ),
        ));
        let err = fold(&e).unwrap_err();
        assert_eq!(
            err,
            StateError::OtherKeyOut {
                seq: 8,
                key_id: "k2".into(),
                other: "k1".into()
            }
        );
        // Once k1 is back, k2 may go out.
        let mut e = with_k1_out();
        e.push(entry(
            8,
            datetime!(2025-02-01 12:00 UTC),
            "key.checked_in",
            checkin("k1", "111122223333", "B8", false, 1),
        ));
        e.push(entry(
            9,
            datetime!(2025-02-01 13:00 UTC),
            "key.checked_out",
            checkout(
                "k2",
                "111122223333",
                "B2",
                "2025-02-01T13:00:00Z",
                "2025-02-02T13:00:00Z",
            ),
        ));
        assert!(fold(&e).is_ok());
    }

    #[test]
    fn keys_of_one_account_are_never_stored_together() {
        let t = datetime!(2025-03-01 10:00 UTC);
        for (seq, body) in [
            // Moved to where the other key is (spelled differently).
            (
                7,
                json!({"key_id": "k2", "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "safe FOR k1", "bag_serial": "B7", "reason": "r"}),
            ),
            // Moved to where it already is.
            (
                7,
                json!({"key_id": "k2", "account_id": "111122223333", "from_location": "Safe for k2", "to_location": "Safe for k2", "bag_serial": "B7", "reason": "r"}),
            ),
        ] {
            let mut e = basic();
            e.push(entry(seq, t, "key.moved", body));
            assert!(matches!(
                fold(&e).unwrap_err(),
                StateError::Inconsistent { seq: 7, .. }
            ));
        }
        let mut e = basic();
        let mut b = enrolled("k3", "111122223333", "backup", "B9");
        b["location"] = json!("Safe for k1");
        e.push(entry(7, t, "key.enrolled", b));
        assert!(matches!(
            fold(&e).unwrap_err(),
            StateError::Inconsistent { seq: 7, .. }
        ));
    }

    #[test]
    fn flows_can_check_an_event_before_it_is_approved() {
        let mut s = fold(&basic()).unwrap();
        let body = checkout(
            "k1",
            "111122223333",
            "B1",
            "2025-02-01T10:00:00Z",
            "2025-02-02T10:00:00Z",
        );
        let ev = LedgerEvent {
            seq: 7,
            time: datetime!(2025-02-01 10:00 UTC),
            kind: "key.checked_out",
            actor: "t",
            body: &body,
            approvers: &[],
        };
        assert!(matches!(
            s.clone().apply(ev).unwrap_err(),
            StateError::Approvals { seq: 7, .. }
        ));
        s.apply_before_approval(ev).unwrap();
        assert!(matches!(s.keys["k1"].status, KeyStatus::CheckedOut { .. }));
    }
}
