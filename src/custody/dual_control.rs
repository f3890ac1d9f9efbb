//! Dual control: who the custodians are, what approval each kind of event needs, and the one
//! place approvals are verified.
//!
//! An approval is a WebAuthn assertion by a person's own custodian key over the SHA-256 of the
//! event's canonical bytes; [`crate::webauthn::assertion::verify`] checks all of it (RP ID,
//! origin, type, challenge, touch, PIN or biometrics, signature, counter). Only
//! [`Registry::approve`] turns verified approvals into an [`Approved`] entry, and the custody
//! state applies nothing else: an event whose approvals were not verified cannot be folded.
//! The rules of the registry's own events are in [`super::membership`].

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::events::{CustodianSpec, CustodyEvent};
use crate::ledger::{Approval, Entry, Event};
use crate::text;
use crate::webauthn::assertion::{self, Expected, Parts};
use crate::webauthn::CoseKey;

/// The WebAuthn RP ID custodian credentials are scoped to.
pub const CUSTODIAN_RP_ID: &str = "rootkey.custodian";
/// Origin written into (and required of) the client data of every approval.
pub const APPROVAL_ORIGIN: &str = "rootkey:approval";

pub use super::events::Role;

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
    /// Credentials they used before a rotation, with the entry that ended each.
    pub retired_credentials: Vec<(Vec<u8>, u64)>,
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
            retired_credentials: Vec::new(),
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
        self.people.iter().find(|c| {
            c.credential_id == credential_id
                || c.public_key.to_cbor() == public_key
                || c.retired_credentials
                    .iter()
                    .any(|(old, _)| old == credential_id)
        })
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

    /// Gives `id` their new key (kept from `seq` on); their old one approves nothing more.
    pub(crate) fn rotate(&mut self, id: &str, new: Custodian, seq: u64) {
        let key = text::id_key(id);
        if let Some(c) = self.people.iter_mut().find(|c| text::id_key(&c.id) == key) {
            c.retired_credentials.push((c.credential_id.clone(), seq));
            c.credential_id = new.credential_id;
            c.public_key = new.public_key;
            c.model = new.model;
            c.software = new.software;
            c.last_counter = 0;
        }
    }

    /// Remembers the counter of an approval by `credential` (ignored when the person has moved
    /// to another key meanwhile: a new key counts from its own start).
    pub(crate) fn record_counter(&mut self, id: &str, credential: &[u8], counter: u32) {
        let key = text::id_key(id);
        if let Some(c) = self
            .people
            .iter_mut()
            .find(|c| text::id_key(&c.id) == key && c.credential_id == credential)
        {
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
    /// The person themselves (with the key being replaced), or two other custodians (a key
    /// rotation: the old key approves its successor when the person still has it).
    SelfOrCustodians(String),
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
            Requirement::SelfOrCustodians(who) => {
                let me = text::id_key(who);
                let others = approvers
                    .iter()
                    .filter(|(id, r)| *r == Role::Custodian && text::id_key(id) != me)
                    .count();
                if ids.contains(&me) || others >= 2 {
                    Ok(())
                } else {
                    Err(format!(
                        "a new key for {who} is approved by {who} with their current key, or by two other custodians, but the approvals are from {}",
                        listed()
                    ))
                }
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
            Requirement::SelfOrCustodians(who) => {
                format!("{who} with their current key, or two other custodians")
            }
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
    /// The credential that signed it.
    pub credential_id: Vec<u8>,
}

/// A ledger entry whose approvals were verified against the registry. Only
/// [`Registry::approve`] makes one, and only an `Approved` can be applied to the state.
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

/// Why an entry's approvals were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// A bootstrap body that does not decode (the fold names it).
    #[error(transparent)]
    Body(#[from] super::events::EventError),
    /// An approval that does not verify, or an approver who may not approve.
    #[error("{0}")]
    Refused(String),
}

impl Registry {
    /// Verifies `entry`'s approvals: each is by a distinct active person (for a bootstrap, one of
    /// the two it enrols, with the key it enrols), signed by their enrolled credential over this
    /// event, with their PIN or biometrics, and a counter higher than any seen from them. The
    /// only way to make an [`Approved`].
    pub fn approve<'e>(
        &self,
        entry: &'e Entry,
        time: OffsetDateTime,
    ) -> Result<Approved<'e>, ApprovalError> {
        let seq = entry.seq;
        let kind = entry.event.kind.as_str();
        let wrong = ApprovalError::Refused;
        let newcomers: Vec<Custodian> = if kind == super::events::CUSTODIAN_BOOTSTRAP {
            match CustodyEvent::decode(kind, &entry.event.body)? {
                Some(CustodyEvent::CustodianBootstrap(b)) => b
                    .custodians
                    .iter()
                    .map(|s| Custodian::from_spec(s, seq))
                    .collect::<Result<_, _>>()
                    .map_err(wrong)?,
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let challenge = crate::webauthn::sha256(&entry.event_bytes);
        let mut seen = BTreeSet::new();
        let mut approvers = Vec::with_capacity(entry.approvals.len());
        for a in &entry.approvals {
            let who = if newcomers.is_empty() {
                self.get(&a.custodian_id)
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
                credential_id: who.credential_id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const C: Role = Role::Custodian;
    const A: Role = Role::Auditor;

    #[test]
    fn requirements_accept_exactly_the_people_they_name() {
        let two = Requirement::Custodians(2);
        assert!(two.check(&[("alice", C), ("bob", C)]).is_ok());
        assert!(two.check(&[("alice", C)]).is_err());
        assert!(
            two.check(&[("alice", C), ("dana", A)]).is_err(),
            "auditors approve audits only"
        );
        let named = Requirement::Named(["alice".into(), "bob".into()]);
        assert!(
            named.check(&[("BOB", C), ("alice", C)]).is_ok(),
            "ids compare case-insensitively"
        );
        assert!(named.check(&[("alice", C), ("carol", C)]).is_err());
        assert!(named
            .check(&[("alice", C), ("bob", C), ("carol", C)])
            .is_err());
        let removal = Requirement::CustodiansExcept("carol".into());
        assert!(removal.check(&[("alice", C), ("bob", C)]).is_ok());
        let own = removal.check(&[("alice", C), ("Carol", C)]).unwrap_err();
        assert!(own.contains("own removal"), "{own}");
        let audit = Requirement::AuditorOrCustodians;
        assert!(audit.check(&[("dana", A)]).is_ok());
        assert!(audit.check(&[("alice", C), ("bob", C)]).is_ok());
        assert!(audit.check(&[("alice", C)]).is_err());
        assert!(audit.check(&[]).is_err());
        assert!(Requirement::Nobody.check(&[]).is_ok());
    }
}
