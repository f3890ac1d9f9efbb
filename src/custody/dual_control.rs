//! Dual control: who the custodians are, what approval each kind of event needs, and the one
//! place approvals are verified.
//!
//! An approval is a WebAuthn assertion by a person's own custodian key over the SHA-256 of the
//! event's canonical bytes; [`crate::webauthn::assertion::verify`] checks all of it (RP ID,
//! origin, type, challenge, touch, PIN or biometrics, signature, counter). Only
//! [`CustodyState::approve`] turns verified approvals into an [`Approved`] entry, and the custody
//! state applies nothing else: an event whose approvals were not verified cannot be folded.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::events::{CustodianSpec, CustodyEvent};
use super::state::{At, CustodyState, StateError};
use crate::ledger::{Approval, Entry, Event};
use crate::text;
use crate::webauthn::assertion::{self, Expected, Parts};
use crate::webauthn::CoseKey;

/// The WebAuthn RP ID custodian credentials are scoped to.
pub const CUSTODIAN_RP_ID: &str = "rootkey.custodian";
/// Origin written into (and required of) the client data of every approval.
pub const APPROVAL_ORIGIN: &str = "rootkey:approval";

/// What a registered person may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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

/// A person in the registry, with the ledger positions that enrolled and removed them.
#[derive(Debug, Clone, PartialEq)]
pub struct Custodian {
    /// Stable id, unique (case-insensitively) for the life of the ledger.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Their FIDO2 credential id.
    pub credential_id: Vec<u8>,
    /// Their credential public key.
    pub public_key: CoseKey,
    /// The key's model, as attested.
    pub model: String,
    /// Whether the attestation showed a software authenticator (allowed only by policy).
    pub software: bool,
    /// Entry that enrolled them.
    pub added_seq: u64,
    /// Entry that removed them, if any.
    pub removed_seq: Option<u64>,
    /// Highest signature counter seen in their approvals.
    pub last_counter: u32,
}

impl Custodian {
    /// The person a spec describes, enrolled at `seq`.
    pub(crate) fn from_spec(spec: &CustodianSpec, seq: u64) -> Result<Custodian, String> {
        let public_key = CoseKey::parse(spec.public_key.as_bytes())
            .map_err(|e| format!("{}: public key: {e}", spec.id))?;
        Ok(Custodian {
            id: spec.id.clone(),
            name: spec.name.clone(),
            role: spec.role,
            credential_id: spec.credential_id.0.clone(),
            public_key,
            model: spec.model.clone(),
            software: spec.attestation.assurance == crate::attest::Assurance::Software,
            added_seq: seq,
            removed_seq: None,
            last_counter: 0,
        })
    }

    /// Whether they have not been removed.
    pub fn is_active(&self) -> bool {
        self.removed_seq.is_none()
    }
}

/// Every person the ledger has enrolled, in enrolment order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    people: Vec<Custodian>,
}

impl Registry {
    /// Everyone ever enrolled, removed ones included.
    pub fn all(&self) -> &[Custodian] {
        &self.people
    }

    /// People currently active (not removed).
    pub fn active(&self) -> impl Iterator<Item = &Custodian> {
        self.people.iter().filter(|c| c.is_active())
    }

    /// Active people with the custodian role.
    pub fn active_custodians(&self) -> impl Iterator<Item = &Custodian> {
        self.active().filter(|c| c.role == Role::Custodian)
    }

    /// The person with `id` (compared case-insensitively), removed or not.
    pub fn get(&self, id: &str) -> Option<&Custodian> {
        let key = text::id_key(id);
        self.people.iter().find(|c| text::id_key(&c.id) == key)
    }

    /// Whether anyone, ever, enrolled this credential (by id or public key).
    pub fn holds_credential(&self, credential_id: &[u8], public_key: &[u8]) -> Option<&Custodian> {
        self.people
            .iter()
            .find(|c| c.credential_id == credential_id || c.public_key.to_cbor() == public_key)
    }

    pub(crate) fn add(&mut self, person: Custodian) {
        self.people.push(person);
    }

    pub(crate) fn remove(&mut self, id: &str, seq: u64) {
        let key = text::id_key(id);
        if let Some(c) = self.people.iter_mut().find(|c| text::id_key(&c.id) == key) {
            c.removed_seq = Some(seq);
        }
    }

    pub(crate) fn record_counter(&mut self, id: &str, counter: u32) {
        let key = text::id_key(id);
        if let Some(c) = self.people.iter_mut().find(|c| text::id_key(&c.id) == key) {
            c.last_counter = c.last_counter.max(counter);
        }
    }
}

/// Who must approve an event, as the custody rules decide it from the event and the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// Nobody: an observation anyone can re-check (a note, AWS showing a device).
    Nobody,
    /// This many distinct active custodians.
    Custodians(usize),
    /// Exactly these two custodians (a checkout's requester and approver).
    Named([String; 2]),
    /// Exactly the two people a bootstrap enrols, with the keys it enrols.
    Newcomers([String; 2]),
    /// Two active custodians, neither of them this person (a removal: nobody approves their own).
    CustodiansExcept(String),
    /// An auditor's own key, or two custodians (an audit).
    AuditorOrCustodians,
}

impl Requirement {
    /// Checks distinct, verified approvers (id, role) against the requirement; the reason
    /// otherwise, for people.
    pub fn check(&self, approvers: &[(&str, Role)]) -> Result<(), String> {
        let ids: BTreeSet<String> = approvers.iter().map(|(id, _)| text::id_key(id)).collect();
        let custodians = approvers
            .iter()
            .filter(|(_, r)| *r == Role::Custodian)
            .count();
        let auditors = approvers.len() - custodians;
        let listed = || {
            if approvers.is_empty() {
                "nobody".to_string()
            } else {
                approvers
                    .iter()
                    .map(|(id, r)| format!("{id} ({})", r.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let two_named = |names: &[String; 2], what: &str| {
            let want: BTreeSet<String> = names.iter().map(|n| text::id_key(n)).collect();
            if ids == want {
                Ok(())
            } else {
                Err(format!(
                    "it must be approved by {what} {} and {}, but the approvals are from {}",
                    names[0],
                    names[1],
                    listed()
                ))
            }
        };
        match self {
            Requirement::Nobody => Ok(()),
            Requirement::Custodians(_) | Requirement::CustodiansExcept(_) if auditors > 0 => {
                Err(format!(
                    "only custodians approve custody changes, but the approvals are from {}",
                    listed()
                ))
            }
            Requirement::Custodians(n) if custodians < *n => Err(format!(
                "it needs {n} distinct custodians, but the approvals are from {}",
                listed()
            )),
            Requirement::Custodians(_) => Ok(()),
            Requirement::Named(names) => {
                if auditors > 0 {
                    return Err(format!(
                        "only custodians approve a checkout, but the approvals are from {}",
                        listed()
                    ));
                }
                two_named(names, "the requester and approver it names,")
            }
            Requirement::Newcomers(names) => two_named(names, "the two people it enrols,"),
            Requirement::CustodiansExcept(who) => {
                if ids.contains(&text::id_key(who)) {
                    return Err(format!(
                        "{who} cannot approve their own removal (approvals from {})",
                        listed()
                    ));
                }
                if custodians < 2 {
                    return Err(format!(
                        "it needs 2 distinct custodians other than {who}, but the approvals are from {}",
                        listed()
                    ));
                }
                Ok(())
            }
            Requirement::AuditorOrCustodians => {
                if auditors >= 1 || custodians >= 2 {
                    Ok(())
                } else {
                    Err(format!(
                        "an audit counts only when the auditor's own key or two custodians approve it, but the approvals are from {}",
                        listed()
                    ))
                }
            }
        }
    }

    /// For people: who must approve.
    pub fn describe(&self) -> String {
        match self {
            Requirement::Nobody => "no approval".into(),
            Requirement::Custodians(1) => "one custodian".into(),
            Requirement::Custodians(n) => format!("{n} distinct custodians"),
            Requirement::Named([a, b]) => format!("custodians {a} and {b}"),
            Requirement::Newcomers([a, b]) => format!("{a} and {b}, with the keys being enrolled"),
            Requirement::CustodiansExcept(who) => format!("two custodians other than {who}"),
            Requirement::AuditorOrCustodians => "an auditor, or two custodians".into(),
        }
    }
}

/// One approver whose assertion verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Registry id.
    pub id: String,
    /// Their role.
    pub role: Role,
    /// Whether their key is a software authenticator.
    pub software: bool,
    /// The signature counter of their approval.
    pub counter: u32,
}

/// A ledger entry whose approvals were verified against the registry. Only
/// [`CustodyState::approve`] makes one, and only an `Approved` can be applied to the state.
#[derive(Debug, Clone)]
pub struct Approved<'e> {
    seq: u64,
    time: OffsetDateTime,
    event: &'e Event,
    approvers: Vec<Approver>,
}

impl<'e> Approved<'e> {
    /// Position in the ledger.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// When the entry was made.
    pub fn time(&self) -> OffsetDateTime {
        self.time
    }
    /// The event.
    pub fn event(&self) -> &'e Event {
        self.event
    }
    /// Who approved it (verified).
    pub fn approvers(&self) -> &[Approver] {
        &self.approvers
    }

    /// A hand-made `Approved` for unit tests of the fold's rules (approvals not verified).
    #[cfg(test)]
    pub(crate) fn unverified_for_tests(
        seq: u64,
        time: OffsetDateTime,
        event: &'e Event,
        approvers: Vec<Approver>,
    ) -> Self {
        Approved {
            seq,
            time,
            event,
            approvers,
        }
    }
}

impl CustodyState {
    /// Verifies `entry`'s approvals: each is by a distinct active person (for a bootstrap, one of
    /// the two it enrols, with the key it enrols), signed by their enrolled credential over this
    /// event, with their PIN or biometrics, and a counter higher than any seen from them.
    pub fn approve<'e>(
        &self,
        entry: &'e Entry,
        time: OffsetDateTime,
    ) -> Result<Approved<'e>, StateError> {
        let seq = entry.seq;
        let kind = entry.event.kind.as_str();
        let wrong = |detail: String| StateError::Approvals {
            seq,
            kind: kind.to_string(),
            detail,
        };
        let newcomers: Vec<Custodian> = if kind == super::events::CUSTODIAN_BOOTSTRAP {
            match CustodyEvent::decode(kind, &entry.event.body) {
                Ok(Some(CustodyEvent::CustodianBootstrap(b))) => b
                    .custodians
                    .iter()
                    .map(|s| Custodian::from_spec(s, seq))
                    .collect::<Result<_, _>>()
                    .map_err(wrong)?,
                Ok(_) => Vec::new(),
                Err(source) => return Err(StateError::Malformed { seq, source }),
            }
        } else {
            Vec::new()
        };
        let challenge = crate::webauthn::sha256(&entry.event_bytes);
        let mut seen = BTreeSet::new();
        let mut approvers = Vec::with_capacity(entry.approvals.len());
        for a in &entry.approvals {
            let who = if newcomers.is_empty() {
                self.registry().get(&a.custodian_id)
            } else {
                let key = text::id_key(&a.custodian_id);
                newcomers.iter().find(|c| text::id_key(&c.id) == key)
            };
            let who = match who {
                Some(c) if c.is_active() => c,
                Some(c) => {
                    return Err(wrong(format!(
                        "approval by {}, who was removed at entry {}",
                        c.id,
                        c.removed_seq.unwrap_or_default()
                    )))
                }
                None => {
                    return Err(wrong(format!(
                        "approval by {:?}, who is not a registered person",
                        a.custodian_id
                    )))
                }
            };
            if !seen.insert(text::id_key(&who.id)) {
                return Err(wrong(format!("{} approved twice", who.id)));
            }
            let counter = verify_approval(who, a, &challenge).map_err(|why| {
                wrong(format!("the approval by {} does not verify: {why}", who.id))
            })?;
            approvers.push(Approver {
                id: who.id.clone(),
                role: who.role,
                software: who.software,
                counter,
            });
        }
        Ok(Approved {
            seq,
            time,
            event: &entry.event,
            approvers,
        })
    }
}

/// Checks one approval against the person's enrolled credential; the counter on success.
fn verify_approval(who: &Custodian, a: &Approval, challenge: &[u8; 32]) -> Result<u32, String> {
    if a.credential_id != who.credential_id {
        return Err("signed with a credential that is not their enrolled one".into());
    }
    assertion::verify(
        &who.public_key,
        Parts {
            authenticator_data: &a.authenticator_data,
            client_data_json: &a.client_data_json,
            signature: &a.signature,
        },
        &Expected {
            rp_id: CUSTODIAN_RP_ID,
            origin: APPROVAL_ORIGIN,
            challenge,
            user_verification: true,
            previous_counter: who.last_counter,
        },
    )
    .map(|v| v.counter())
    .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The rules of the registry itself.

impl CustodyState {
    /// The first two people, together, while there is nobody: custodians, two different
    /// people, two different keys that are nobody else's.
    pub(super) fn apply_bootstrap(
        &mut self,
        at: &At<'_>,
        b: super::events::CustodianBootstrap,
    ) -> Result<(), StateError> {
        if !self.registry.all().is_empty() {
            return Err(at.inconsistent(
                "custodian.bootstrap is allowed only while there are no custodians: add people with `rootkey custodian add`",
            ));
        }
        let people: Vec<Custodian> = b
            .custodians
            .iter()
            .map(|s| Custodian::from_spec(s, at.seq))
            .collect::<Result<_, _>>()
            .map_err(|e| at.inconsistent(e))?;
        if people.iter().any(|p| p.role != Role::Custodian) {
            return Err(at.inconsistent("both bootstrap people must have the custodian role"));
        }
        let (a, c) = (&people[0], &people[1]);
        if text::id_key(&a.id) == text::id_key(&c.id)
            || text::name_key(&a.name) == text::name_key(&c.name)
        {
            return Err(at.inconsistent(format!(
                "{} and {} are the same person: dual control needs two different people",
                a.id, c.id
            )));
        }
        if a.credential_id == c.credential_id || a.public_key == c.public_key {
            return Err(at.inconsistent(format!(
                "{} and {} enrolled the same credential: one key is one person",
                a.id, c.id
            )));
        }
        for p in &people {
            self.check_new_credential(at, p)?;
        }
        for p in people {
            self.registry.add(p);
        }
        Ok(())
    }

    /// One more person, with an id never used before (in any letter case) and a key that is
    /// nobody else's.
    pub(super) fn apply_added(
        &mut self,
        at: &At<'_>,
        b: super::events::CustodianAdded,
    ) -> Result<(), StateError> {
        if self.registry.all().is_empty() {
            return Err(at.inconsistent(
                "the registry is empty: the first two custodians enroll together with `rootkey custodian bootstrap`",
            ));
        }
        let p = Custodian::from_spec(&b.custodian, at.seq).map_err(|e| at.inconsistent(e))?;
        if let Some(old) = self.registry.get(&p.id) {
            return Err(at.inconsistent(format!(
                "id {} is taken: {} was enrolled at entry {} (ids are unique for the life of the ledger, in any letter case); choose another id",
                p.id, old.id, old.added_seq
            )));
        }
        self.check_new_credential(at, &p)?;
        self.registry.add(p);
        Ok(())
    }

    /// A person leaves. Removing a custodian must leave two, or nothing could be approved.
    pub(super) fn apply_removed(
        &mut self,
        at: &At<'_>,
        b: super::events::CustodianRemoved,
    ) -> Result<(), StateError> {
        let who = self
            .registry
            .get(&b.id)
            .filter(|c| c.is_active())
            .ok_or_else(|| at.inconsistent(format!("no active person has id {}", b.id)))?;
        if who.role == Role::Custodian {
            let left = self
                .registry
                .active_custodians()
                .filter(|c| text::id_key(&c.id) != text::id_key(&who.id))
                .count();
            if left < 2 {
                return Err(at.inconsistent(format!(
                    "removing {} would leave {left} active custodian(s), and dual control needs two: add a custodian first",
                    who.id
                )));
            }
        }
        let id = who.id.clone();
        self.registry.remove(&id, at.seq);
        Ok(())
    }

    /// One key, one person, one purpose: a credential already enrolled by anyone, as a
    /// custodian key or a root key, is refused.
    fn check_new_credential(&self, at: &At<'_>, p: &Custodian) -> Result<(), StateError> {
        if let Some(owner) = self.credential_owner(&p.credential_id, &p.public_key.to_cbor()) {
            return Err(at.inconsistent(format!(
                "the key {} enrolled holds a credential that is already {owner}'s: one key is one person and one purpose; use another key",
                p.id
            )));
        }
        Ok(())
    }
}
