//! The custodian registry, rebuilt from `custodian.*` events, and approval verification.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::{Approval, Event};
use super::rules;
use crate::webauthn::{b64url, b64url_decode, AuthData, ClientData, CoseKey};

/// The WebAuthn RP ID custodian credentials are scoped to.
pub const CUSTODIAN_RP_ID: &str = "rootkey.custodian";

/// What a registered person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May approve events.
    Custodian,
    /// May read and audit; cannot approve.
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
    /// Stable id, unique for the life of the ledger.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Their FIDO2 credential id.
    pub credential_id: Vec<u8>,
    /// Their credential public key.
    pub public_key: CoseKey,
    /// Entry that enrolled them.
    pub added_seq: u64,
    /// Entry that removed them, if any.
    pub removed_seq: Option<u64>,
}

/// A person as written in a `custodian.bootstrap` / `custodian.added` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianSpec {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Credential id, base64url.
    pub credential_id: String,
    /// COSE_Key public key, base64url of its CBOR.
    pub public_key: String,
}

impl CustodianSpec {
    /// The spec for a person with the given credential.
    pub fn new(id: &str, name: &str, role: Role, credential_id: &[u8], key: &CoseKey) -> Self {
        CustodianSpec {
            id: id.to_string(),
            name: name.to_string(),
            role,
            credential_id: b64url(credential_id),
            public_key: b64url(&key.to_cbor()),
        }
    }

    fn resolve(&self, seq: u64) -> Result<Custodian, RuleError> {
        let bad = |what: &'static str| RuleError::BadBody(format!("{}: {what}", self.id));
        if self.id.is_empty() || self.name.is_empty() {
            return Err(RuleError::BadBody(
                "custodian id and name must be non-empty".into(),
            ));
        }
        let credential_id = b64url_decode(&self.credential_id)
            .map_err(|_| bad("credential_id is not base64url"))?;
        let cbor =
            b64url_decode(&self.public_key).map_err(|_| bad("public_key is not base64url"))?;
        let public_key = CoseKey::parse(&cbor)
            .map_err(|e| RuleError::BadBody(format!("{}: public_key: {e}", self.id)))?;
        Ok(Custodian {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            credential_id,
            public_key,
            added_seq: seq,
            removed_seq: None,
        })
    }
}

/// Why an event breaks the ledger's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("event kind {0:?} is not known to this ledger (unknown kinds are refused)")]
    UnknownKind(String),
    #[error("body is invalid: {0}")]
    BadBody(String),
    #[error("custodian.bootstrap is allowed only while there are no custodians")]
    AlreadyBootstrapped,
    #[error("custodian id {0:?} is already used")]
    DuplicateId(String),
    #[error("credential of {0} is already enrolled for someone else")]
    DuplicateCredential(String),
    #[error("no active custodian has id {0:?}")]
    NoSuchCustodian(String),
    #[error("needs {need} approvals by distinct active custodians, has {got}")]
    TooFewApprovals { need: usize, got: usize },
    #[error("{0} approved twice")]
    DuplicateApprover(String),
    #[error("approval by unknown custodian id {0:?}")]
    UnknownApprover(String),
    #[error("approval by {name}, who was removed at entry {removed_seq}")]
    RemovedApprover { name: String, removed_seq: u64 },
    #[error("approval by {0}, whose role is auditor: only custodians approve")]
    AuditorApprover(String),
    #[error("approval by {name} does not verify for this event: {why}")]
    BadApproval { name: String, why: String },
}

/// Every person the log has enrolled, in enrolment order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    people: Vec<Custodian>,
}

impl Registry {
    /// The empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everyone ever enrolled, removed ones included.
    pub fn all(&self) -> &[Custodian] {
        &self.people
    }

    /// People currently active (not removed).
    pub fn active(&self) -> impl Iterator<Item = &Custodian> {
        self.people.iter().filter(|c| c.removed_seq.is_none())
    }

    /// The person with `id`, removed or not.
    pub fn get(&self, id: &str) -> Option<&Custodian> {
        self.people.iter().find(|c| c.id == id)
    }

    /// Checks `event` (at `seq`) against the rules and its approvals, without changing anything.
    pub fn check(
        &self,
        seq: u64,
        event: &Event,
        event_bytes: &[u8],
        approvals: &[Approval],
    ) -> Result<Change, RuleError> {
        let need = rules::required_approvals(&event.kind)
            .ok_or_else(|| RuleError::UnknownKind(event.kind.clone()))?;
        let change = self.change_for(seq, event)?;
        if approvals.is_empty() {
            // The common case (notes): no pool, no challenge hash, no allocation.
            return if need == 0 {
                Ok(change)
            } else {
                Err(RuleError::TooFewApprovals { need, got: 0 })
            };
        }
        // Bootstrap is approved by the two people it enrols, with the keys it enrols.
        let pool: Vec<&Custodian> = match &change {
            Change::Add(people) if event.kind == rules::CUSTODIAN_BOOTSTRAP => {
                people.iter().collect()
            }
            _ => self.active().collect(),
        };
        let challenge = super::tree::sha256(event_bytes);
        let people =
            self.resolve_approvers(&pool, approvals.iter().map(|a| a.custodian_id.as_str()))?;
        for (who, a) in people.iter().zip(approvals) {
            verify_assertion(who, a, &challenge).map_err(|why| RuleError::BadApproval {
                name: who.name.clone(),
                why,
            })?;
        }
        if people.len() < need {
            return Err(RuleError::TooFewApprovals {
                need,
                got: people.len(),
            });
        }
        Ok(change)
    }

    /// Who approves, in order: each id must name someone in `pool` (the active custodians, or
    /// for a bootstrap the two people it enrols) with role custodian, and nobody twice. The
    /// registry itself names removed people in the error. Flows call this before touching a key.
    pub fn resolve_approvers<'a, 'i>(
        &self,
        pool: &[&'a Custodian],
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<Vec<&'a Custodian>, RuleError> {
        let mut seen = HashSet::new();
        let mut people = Vec::new();
        for id in ids {
            let who = match pool.iter().find(|c| c.id == id) {
                Some(c) => *c,
                None => {
                    return Err(match self.get(id) {
                        Some(Custodian {
                            name,
                            removed_seq: Some(r),
                            ..
                        }) => RuleError::RemovedApprover {
                            name: name.clone(),
                            removed_seq: *r,
                        },
                        _ => RuleError::UnknownApprover(id.to_string()),
                    })
                }
            };
            if !seen.insert(who.id.as_str()) {
                return Err(RuleError::DuplicateApprover(who.name.clone()));
            }
            if who.role != Role::Custodian {
                return Err(RuleError::AuditorApprover(who.name.clone()));
            }
            people.push(who);
        }
        Ok(people)
    }

    fn change_for(&self, seq: u64, event: &Event) -> Result<Change, RuleError> {
        let specs = |v: &Value| -> Result<Vec<Custodian>, RuleError> {
            let list: Vec<CustodianSpec> =
                serde_json::from_value(v.clone()).map_err(|e| RuleError::BadBody(e.to_string()))?;
            list.iter().map(|s| s.resolve(seq)).collect()
        };
        let body = event.body.as_object();
        let field = |k: &str| body.and_then(|b| b.get(k));
        match event.kind.as_str() {
            rules::CUSTODIAN_BOOTSTRAP => {
                if !self.people.is_empty() {
                    return Err(RuleError::AlreadyBootstrapped);
                }
                let people = specs(field("custodians").unwrap_or(&Value::Null))?;
                if people.len() != 2 {
                    return Err(RuleError::BadBody(
                        "bootstrap lists exactly two custodians".into(),
                    ));
                }
                if people.iter().any(|p| p.role != Role::Custodian) {
                    return Err(RuleError::BadBody(
                        "both bootstrap people must have role custodian".into(),
                    ));
                }
                self.check_new(&people)?;
                Ok(Change::Add(people))
            }
            rules::CUSTODIAN_ADDED => {
                let one = field("custodian")
                    .map(|c| Value::Array(vec![c.clone()]))
                    .unwrap_or(Value::Null);
                let people = specs(&one)?;
                self.check_new(&people)?;
                Ok(Change::Add(people))
            }
            rules::CUSTODIAN_REMOVED => {
                let id = field("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| RuleError::BadBody("body.id (string) is required".into()))?;
                if !self.active().any(|c| c.id == id) {
                    return Err(RuleError::NoSuchCustodian(id.to_string()));
                }
                Ok(Change::Remove(id.to_string()))
            }
            _ => Ok(Change::None),
        }
    }

    fn check_new(&self, people: &[Custodian]) -> Result<(), RuleError> {
        let mut ids = HashSet::new();
        let mut creds = HashSet::new();
        for p in people {
            if self.get(&p.id).is_some() || !ids.insert(&p.id) {
                return Err(RuleError::DuplicateId(p.id.clone()));
            }
            let taken = self
                .people
                .iter()
                .any(|c| c.credential_id == p.credential_id);
            if taken || !creds.insert(&p.credential_id) {
                return Err(RuleError::DuplicateCredential(p.name.clone()));
            }
        }
        Ok(())
    }

    /// Applies a change that [`Registry::check`] accepted at `seq`.
    pub fn apply(&mut self, seq: u64, change: Change) {
        match change {
            Change::Add(people) => self.people.extend(people),
            Change::Remove(id) => {
                if let Some(c) = self.people.iter_mut().find(|c| c.id == id) {
                    c.removed_seq = Some(seq);
                }
            }
            Change::None => {}
        }
    }
}

/// What an accepted event does to the registry.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Nothing.
    None,
    /// Enrols people.
    Add(Vec<Custodian>),
    /// Removes the person with this id.
    Remove(String),
}

/// Checks one WebAuthn assertion against the custodian's key and the event challenge.
fn verify_assertion(who: &Custodian, a: &Approval, challenge: &[u8; 32]) -> Result<(), String> {
    if a.credential_id != who.credential_id {
        return Err("signed with a credential that is not the custodian's enrolled one".into());
    }
    let ad = AuthData::parse(&a.authenticator_data).map_err(|e| e.to_string())?;
    if !ad.is_for_rp(CUSTODIAN_RP_ID) {
        return Err(format!(
            "authenticator data is for another RP (expected {CUSTODIAN_RP_ID})"
        ));
    }
    if !ad.flags.user_present() {
        return Err("user presence flag not set".into());
    }
    let cd = ClientData::parse(&a.client_data_json).map_err(|e| e.to_string())?;
    cd.check(crate::webauthn::client_data::TYPE_GET, challenge)
        .map_err(|e| format!("client data: {e} (the approval was made for another event)"))?;
    let mut msg = a.authenticator_data.clone();
    msg.extend_from_slice(&crate::webauthn::sha256(&a.client_data_json));
    who.public_key
        .verify(&msg, &a.signature)
        .map_err(|e| e.to_string())
}
