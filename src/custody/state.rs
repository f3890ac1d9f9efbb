//! The custody state: the one fold over verified ledger entries, and so the one authority on
//! what may happen next.
//!
//! Every custody rule is written once, in the `apply_*` functions of this module's siblings
//! ([`super::dual_control`] for who must approve and how approvals verify,
//! [`super::membership`] for people, [`super::enrollment`] for keys entering custody,
//! [`super::break_glass`] for keys going out and coming back, [`super::findings`] for audits).
//! Those siblings import this module; this module imports none of them (its `apply_*` calls
//! are methods), so the rules and the state do not import each other. Three callers ask them:
//! the flows ([`CustodyState::check`], before anyone touches a key), every append
//! (`custody::Station`, which folds the event with its verified approvals before writing it),
//! and verification (`custody::verify_ledger`, used by `ledger verify` and the audit). So
//! `ledger verify` fails on exactly what the commands refuse.
//!
//! Nothing in a body is taken on trust: approvals are verified against the registry, possession
//! proofs against the key's enrolled credential, derived values (key ids, lateness) recomputed.
//! The fields are private: a state can only be built by folding.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::dual_control::{ApprovalError, Approved, Registry, Requirement, Role};
use super::events::{
    AttestationSummary, ConfirmationSource, CustodyEvent, EventError, KeyRole, PossessionProof,
};
use crate::ledger::{Entry, Event, UnsignedEvent};

/// Why an entry cannot be folded: it breaks a custody rule (naming the entry and the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A body does not decode.
    #[error("ledger entry {seq}: {source}; the ledger holds an event rootkey would never write: run `rootkey ledger verify` and investigate")]
    Malformed {
        /// Sequence number of the entry.
        seq: u64,
        /// The decoding error.
        #[source]
        source: EventError,
    },
    /// A kind this binary does not know (refused: fail closed).
    #[error("ledger entry {seq}: event kind {kind:?} is not one rootkey knows (unknown kinds are refused)")]
    UnknownKind {
        /// Sequence number of the entry.
        seq: u64,
        /// The kind.
        kind: String,
    },
    /// An event refers to a key the ledger never enrolled.
    #[error("ledger entry {seq} ({kind}) refers to key {key_id}, which was never enrolled: check `rootkey keys enrolled`")]
    UnknownKey {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// The key id.
        key_id: String,
    },
    /// An event contradicts the history before it.
    #[error("ledger entry {seq} ({kind}) breaks the custody rules: {detail}")]
    Inconsistent {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// Which rule, and what to do.
        detail: String,
    },
    /// A possession proof does not verify against the key's enrolled custody credential.
    #[error("ledger entry {seq} ({kind}): the possession proof for key {key_id} does not verify: {reason}; is this the right key? A different key cannot answer for it")]
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
    /// The approvals are not the people (or not as many) the event needs, or do not verify.
    #[error("ledger entry {seq} ({kind}) has the wrong approvals: {detail}")]
    Approvals {
        /// Sequence number of the entry.
        seq: u64,
        /// The entry's kind.
        kind: String,
        /// What is wrong with them.
        detail: String,
    },
    /// A checkout while the account's other key was already out: one key must stay in the safe.
    #[error("ledger entry {seq} (key.checked_out) takes out key {key_id} while key {other} of the same account is checked out; one key must always stay in the safe: check {other} in first")]
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
    /// Where it has been and who had it, entry by entry.
    pub history: Vec<KeyHistory>,
    /// The key it succeeds, when it was enrolled as a replacement.
    pub replaces: Option<String>,
}

/// One step in a key's life, as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyHistory {
    /// Ledger entry.
    pub seq: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The event kind.
    pub kind: String,
    /// What happened, for people.
    pub detail: String,
}

impl KeyState {
    /// Records one step of the key's life.
    pub(super) fn log(&mut self, at: &At<'_>, detail: String) {
        self.history.push(KeyHistory {
            seq: at.seq,
            time: at.time,
            kind: at.kind.to_string(),
            detail,
        });
    }

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
    /// Whether that was after the window (computed from the window and the time).
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
    /// The entry that retired the key while it was out, closing this checkout.
    pub closed_by_retirement: Option<u64>,
}

impl CheckoutRecord {
    /// Whether the key is still out (not checked in, not retired).
    pub fn is_open(&self) -> bool {
        self.checkin.is_none() && self.closed_by_retirement.is_none()
    }

    /// Whether the key is out past its window at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.is_open() && now > self.window_end
    }
}

/// A key that left custody, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retirement {
    /// Ledger sequence number.
    pub seq: u64,
    /// When.
    pub time: OffsetDateTime,
    /// The key.
    pub key_id: String,
    /// Its account.
    pub account_id: String,
    /// Why (lost and compromised are incidents).
    pub reason: super::events::RetireReason,
    /// What happened.
    pub note: String,
}

/// An account under custody.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    /// Ids of every key ever enrolled for it (retired ones included).
    pub keys: BTreeSet<String>,
    /// When `account.enrolled` closed its onboarding, if it has.
    pub enrolled_at: Option<OffsetDateTime>,
    /// When `account.closed` took it out of rootkey's scope, if it has.
    pub closed_at: Option<OffsetDateTime>,
}

/// A finished audit as recorded by an approved `audit.completed`.
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
    /// Who approved it.
    pub approved_by: Vec<String>,
}

/// The custody state after folding a ledger. Built only by folding verified entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustodyState {
    pub(super) registry: Registry,
    pub(super) keys: BTreeMap<String, KeyState>,
    pub(super) accounts: BTreeMap<String, AccountState>,
    pub(super) checkouts: Vec<CheckoutRecord>,
    pub(super) audits: Vec<AuditRecord>,
    /// Risk acceptances by finding id, the latest for each ([`Self::acceptance`]).
    pub(super) acceptances: BTreeMap<String, crate::findings::Acceptance>,
    pub(super) retirements: Vec<Retirement>,
    /// Comparison keys ([`crate::text::serial_key`]) of every bag the ledger has seen: bags are
    /// single use, so none may come back, however it is spelled.
    pub(super) used_bags: BTreeSet<String>,
    pub(super) last_seq: Option<u64>,
    /// Approved root-credential remediation plans ([`super::remediation`]).
    pub(super) remediations: Vec<super::remediation::RemediationRecord>,
}

impl CustodyState {
    /// Custodians and auditors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
    /// Every key ever enrolled, by key id.
    pub fn keys(&self) -> &BTreeMap<String, KeyState> {
        &self.keys
    }
    /// The key with this id.
    pub fn key(&self, key_id: &str) -> Option<&KeyState> {
        self.keys.get(key_id)
    }
    /// Accounts with at least one enrolled key, by account id.
    pub fn accounts(&self) -> &BTreeMap<String, AccountState> {
        &self.accounts
    }
    /// Every checkout in ledger order.
    pub fn checkouts(&self) -> &[CheckoutRecord] {
        &self.checkouts
    }
    /// Every approved audit in ledger order.
    pub fn audits(&self) -> &[AuditRecord] {
        &self.audits
    }
    /// The acceptance of finding `finding_id` in force at `now`: none once it expired.
    pub fn acceptance(
        &self,
        finding_id: &str,
        now: OffsetDateTime,
    ) -> Option<&crate::findings::Acceptance> {
        self.acceptances.get(finding_id).filter(|a| a.until > now)
    }
    /// Every retirement in ledger order.
    pub fn retirements(&self) -> &[Retirement] {
        &self.retirements
    }
    /// Whether a bag with this serial (however spelled) was used before.
    pub fn bag_used(&self, serial: &str) -> bool {
        self.used_bags.contains(&crate::text::serial_key(serial))
    }
    /// Sequence number of the last entry folded.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Applies one entry whose approvals were verified ([`Registry::approve`](super::dual_control::Registry::approve)). A refused
    /// entry leaves the state as it was.
    pub fn apply(&mut self, approved: Approved<'_>) -> Result<(), StateError> {
        let who: Vec<(&str, Role)> = approved
            .approvers()
            .iter()
            .map(|a| (a.id.as_str(), a.role))
            .collect();
        self.apply_event(
            approved.seq(),
            approved.time(),
            approved.event(),
            Some(&who),
        )?;
        for a in approved.approvers() {
            self.registry
                .record_counter(&a.id, &a.credential_id, a.counter);
        }
        Ok(())
    }

    /// Verifies one ledger entry's approvals and applies it: the fold step.
    pub fn apply_entry(&mut self, entry: &Entry, time: OffsetDateTime) -> Result<(), StateError> {
        let approved = self.registry.approve(entry, time).map_err(|e| match e {
            ApprovalError::Body(source) => StateError::Malformed {
                seq: entry.seq,
                source,
            },
            ApprovalError::Refused(detail) => StateError::Approvals {
                seq: entry.seq,
                kind: entry.event.kind.clone(),
                detail,
            },
        })?;
        self.apply(approved)
    }

    /// Checks proposed events (in order, from `first_seq`) against every rule except their
    /// approvals, which do not exist before people touch their keys; returns who must approve
    /// each. Flows ask this before anyone touches a key; nothing changes.
    pub fn check(
        &self,
        first_seq: u64,
        events: &[&UnsignedEvent],
    ) -> Result<Vec<Requirement>, StateError> {
        let mut next = self.clone();
        let mut out = Vec::with_capacity(events.len());
        for (i, ev) in events.iter().enumerate() {
            let seq = first_seq + i as u64;
            let time = crate::ledger::entry_time(seq, &ev.event().time).map_err(|e| {
                StateError::Inconsistent {
                    seq,
                    kind: ev.event().kind.clone(),
                    detail: e.to_string(),
                }
            })?;
            out.push(next.apply_event(seq, time, ev.event(), None)?);
        }
        Ok(out)
    }

    /// The rules of every kind, in one place. `approvers` is `None` only when [`Self::check`]
    /// asks before approvals exist.
    fn apply_event(
        &mut self,
        seq: u64,
        time: OffsetDateTime,
        event: &Event,
        approvers: Option<&[(&str, Role)]>,
    ) -> Result<Requirement, StateError> {
        let kind = event.kind.as_str();
        let decoded = CustodyEvent::decode(kind, &event.body)
            .map_err(|source| StateError::Malformed { seq, source })?
            .ok_or_else(|| StateError::UnknownKind {
                seq,
                kind: kind.to_string(),
            })?;
        let at = At { seq, time, kind };
        let requirement = self.requirement(&at, &decoded)?;
        if let Some(who) = approvers {
            requirement
                .check(who)
                .map_err(|detail| StateError::Approvals {
                    seq,
                    kind: kind.to_string(),
                    detail,
                })?;
        }
        match decoded {
            CustodyEvent::Note(_) => {}
            CustodyEvent::CustodianBootstrap(b) => self.apply_bootstrap(&at, b)?,
            CustodyEvent::CustodianAdded(b) => self.apply_added(&at, b)?,
            CustodyEvent::CustodianRemoved(b) => self.apply_removed(&at, b)?,
            CustodyEvent::CustodianRotated(b) => self.apply_rotated(&at, b)?,
            CustodyEvent::AccountClosed(b) => self.apply_account_closed(&at, b)?,
            CustodyEvent::KeyEnrolled(b) => self.apply_enrolled(&at, b)?,
            CustodyEvent::KeyRegistrationConfirmed(b) => self.apply_confirmed(&at, b)?,
            CustodyEvent::AccountEnrolled(b) => self.apply_account_enrolled(&at, b)?,
            CustodyEvent::KeyCheckedOut(b) => self.apply_checked_out(&at, b)?,
            CustodyEvent::KeyCheckedIn(b) => self.apply_checked_in(&at, b)?,
            CustodyEvent::KeyVerified(b) => self.apply_verified(&at, b)?,
            CustodyEvent::KeyMoved(b) => self.apply_moved(&at, b)?,
            CustodyEvent::KeyRetired(b) => self.apply_retired(&at, b)?,
            CustodyEvent::AuditCompleted(b) => self.apply_audit(&at, b, names(approvers))?,
            CustodyEvent::FindingAccepted(b) => {
                self.apply_finding_accepted(&at, b, names(approvers))?
            }
            CustodyEvent::RemediationApproved(b) => {
                self.apply_remediation_approved(&at, b, names(approvers))?
            }
            CustodyEvent::RemediationCompleted(b) => self.apply_remediation_completed(&at, b)?,
        }
        self.last_seq = Some(seq);
        Ok(requirement)
    }
}

/// The ids of the people whose verified approvals an entry carries (none while [`CustodyState::check`]
/// asks before approvals exist).
fn names(approvers: Option<&[(&str, Role)]>) -> Vec<String> {
    approvers
        .unwrap_or_default()
        .iter()
        .map(|(id, _)| id.to_string())
        .collect()
}

impl CustodyState {
    /// Who must approve `event`, as decided from the event and the state.
    fn requirement(&self, at: &At<'_>, event: &CustodyEvent) -> Result<Requirement, StateError> {
        Ok(match event {
            CustodyEvent::Note(_) | CustodyEvent::KeyRegistrationConfirmed(_) => {
                Requirement::Nobody
            }
            CustodyEvent::CustodianBootstrap(b) => {
                let [a, c] = match b.custodians.as_slice() {
                    [a, c] => [a.id.clone(), c.id.clone()],
                    _ => return Err(at.inconsistent("a bootstrap lists exactly two people")),
                };
                Requirement::Newcomers([a, c])
            }
            CustodyEvent::CustodianRemoved(b) => Requirement::CustodiansExcept(b.id.clone()),
            CustodyEvent::CustodianRotated(b) => Requirement::SelfOrCustodians(b.id.clone()),
            CustodyEvent::KeyCheckedOut(b) => {
                Requirement::Named([b.requester.clone(), b.approver.clone()])
            }
            CustodyEvent::KeyVerified(b) if b.bag_serial.is_none() => Requirement::Custodians(1),
            CustodyEvent::AuditCompleted(_) => Requirement::AuditorOrCustodians,
            // Accepting a finding's risk: the auditor's own key, or two custodians.
            CustodyEvent::FindingAccepted(_) => Requirement::AuditorOrCustodians,
            // Deleting root credentials needs two distinct custodians on the exact plan; its
            // completion records what AWS answered and must name that approved plan.
            CustodyEvent::RemediationApproved(_) => Requirement::Custodians(2),
            CustodyEvent::RemediationCompleted(_) => Requirement::Nobody,
            // Every change of who may approve, which keys guard root, where a key is or who
            // holds it needs two people; so does opening a bag for a possession check.
            CustodyEvent::CustodianAdded(_)
            | CustodyEvent::KeyEnrolled(_)
            | CustodyEvent::AccountEnrolled(_)
            | CustodyEvent::KeyCheckedIn(_)
            | CustodyEvent::KeyVerified(_)
            | CustodyEvent::KeyMoved(_)
            | CustodyEvent::KeyRetired(_)
            | CustodyEvent::AccountClosed(_) => Requirement::Custodians(2),
        })
    }

    /// Marks a bag serial used; the error when it was used before.
    pub(super) fn use_bag(&mut self, at: &At<'_>, serial: &str) -> Result<(), StateError> {
        if !self.used_bags.insert(crate::text::serial_key(serial)) {
            return Err(at.inconsistent(format!(
                "tamper-evident bag {serial} was already used (bags are single use, however the serial is spelled): seal the key in a new bag"
            )));
        }
        Ok(())
    }

    /// Fails when a bag serial was used before, without marking it.
    pub(super) fn bag_unused(&self, at: &At<'_>, serial: &str) -> Result<(), StateError> {
        if self.bag_used(serial) {
            return Err(at.inconsistent(format!(
                "tamper-evident bag {serial} was already used (bags are single use, however the serial is spelled): seal the key in a new bag"
            )));
        }
        Ok(())
    }

    pub(super) fn key_mut(
        &mut self,
        at: &At<'_>,
        key_id: &str,
        account_id: &str,
    ) -> Result<&mut KeyState, StateError> {
        let key = self
            .keys
            .get_mut(key_id)
            .ok_or_else(|| StateError::UnknownKey {
                seq: at.seq,
                kind: at.kind.to_string(),
                key_id: key_id.to_string(),
            })?;
        if key.account_id != account_id {
            return Err(StateError::Inconsistent {
                seq: at.seq,
                kind: at.kind.to_string(),
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

    /// Whether `account_id` left rootkey's scope (`account.closed`).
    pub fn account_closed(&self, account_id: &str) -> bool {
        self.accounts
            .get(account_id)
            .is_some_and(|a| a.closed_at.is_some())
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

    /// Whoever (custodian or root key, active or not) already holds this credential, described
    /// for people: one key, one person, one purpose.
    pub fn credential_owner(&self, credential_id: &[u8], public_key: &[u8]) -> Option<String> {
        if let Some(c) = self.registry.holds_credential(credential_id, public_key) {
            return Some(format!("custodian {} ({})", c.id, c.name));
        }
        self.keys
            .values()
            .find(|k| {
                k.custody_credential_id == credential_id || k.custody_public_key == public_key
            })
            .map(|k| format!("root key {} of account {}", k.key_id, k.account_id))
    }

    /// The audit the next audit's period starts after: the last approved `audit.completed`
    /// before entry `anchored_len` (the size of a checkpoint the auditor saved).
    pub fn last_audit_before(&self, anchored_len: u64) -> Option<&AuditRecord> {
        self.audits.iter().rev().find(|a| a.seq < anchored_len)
    }
}

/// Where in the ledger a rule is being applied, for its errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'a> {
    pub seq: u64,
    pub time: OffsetDateTime,
    pub kind: &'a str,
}

impl At<'_> {
    pub fn inconsistent(&self, detail: impl Into<String>) -> StateError {
        StateError::Inconsistent {
            seq: self.seq,
            kind: self.kind.to_string(),
            detail: detail.into(),
        }
    }
}

/// Records a verified possession proof on the key.
pub(super) fn record_proof(key: &mut KeyState, at: OffsetDateTime, proof: &PossessionProof) {
    key.last_possession = at;
    key.last_counter = key.last_counter.max(proof.counter);
}

#[cfg(test)]
pub(crate) mod tests;
