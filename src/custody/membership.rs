//! Membership: the rules of the registry's own events (`custodian.bootstrap`, `.added`,
//! `.removed`). Who may approve what is [`super::dual_control`]'s.

use super::dual_control::{Custodian, Role};
use super::state::{At, CustodyState, StateError};
use crate::text;

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

    /// A person's new key replaces their old one: the person is active, the new credential is
    /// nobody's (theirs included); from this entry on only the new key approves for them.
    pub(super) fn apply_rotated(
        &mut self,
        at: &At<'_>,
        b: super::events::CustodianRotated,
    ) -> Result<(), StateError> {
        let who = self
            .registry
            .get(&b.id)
            .filter(|c| c.is_active())
            .ok_or_else(|| at.inconsistent(format!("no active person has id {}", b.id)))?;
        let spec = super::events::CustodianSpec {
            id: who.id.clone(),
            name: who.name.clone(),
            role: who.role,
            credential_id: b.credential_id,
            public_key: b.public_key,
            aaguid: b.aaguid,
            model: b.model,
            attestation: b.attestation,
        };
        let new = Custodian::from_spec(&spec, who.added_seq).map_err(|e| at.inconsistent(e))?;
        self.check_new_credential(at, &new)?;
        self.registry.rotate(&spec.id, new, at.seq);
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
