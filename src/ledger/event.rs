//! Events and entries: what is approved, what is stored, and their canonical bytes.
//!
//! An *event* (`{"actor","body","id","kind","time","v"}`) is what custodians approve: its
//! canonical bytes carry a random 128-bit id but no sequence number, so an approval stays valid
//! if someone else appends first. An *entry* (`{"approvals","event","seq"}`) is what the tree
//! commits to: the leaf hash is over the entry's canonical bytes, exactly as stored.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::canonical::{self, CanonicalError};
use super::tree::{self, Hash};
use crate::webauthn::{b64url, b64url_decode};

/// The event format version this binary writes and reads.
pub const EVENT_VERSION: u64 = 1;

/// Why bytes are not a well-formed ledger entry or event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("{0}")]
    Canonical(#[from] CanonicalError),
    #[error("not JSON: {0}")]
    Json(String),
    #[error("bytes are not in canonical form (RFC 8785): the entry was rewritten")]
    NotCanonical,
    #[error("field {0} is missing or has the wrong type")]
    Field(&'static str),
    #[error("unsupported event version {0} (this binary reads version {EVENT_VERSION})")]
    Version(u64),
}

/// An event not yet in the ledger: its canonical bytes are fixed when it is made, so what
/// custodians approve is exactly what will be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsignedEvent {
    event: Event,
    bytes: Vec<u8>,
}

impl UnsignedEvent {
    /// A new event of `kind` by `actor`, stamped now with a fresh random 128-bit id.
    pub fn new(kind: &str, actor: &str, body: Value) -> Result<Self, EncodingError> {
        let mut id = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
            .map_err(|_| EncodingError::Json("system random generator failed".into()))?;
        let time = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
        Self::from_event(Event {
            id,
            time,
            kind: kind.to_string(),
            actor: actor.to_string(),
            body,
        })
    }

    /// An event from explicit parts (tests, imports); the bytes are computed here.
    pub fn from_event(event: Event) -> Result<Self, EncodingError> {
        let bytes = canonical::to_vec(&event.to_json())?;
        Ok(UnsignedEvent { event, bytes })
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The canonical bytes custodians approve.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// What each custodian's key signs as the WebAuthn challenge: SHA-256 of the event bytes.
    pub fn approval_challenge(&self) -> [u8; 32] {
        tree::sha256(&self.bytes)
    }
}

/// One event's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Random 128-bit id that makes every event's bytes (and so its approvals) unique.
    pub id: [u8; 16],
    /// RFC 3339 UTC time, whole seconds, when the event was made.
    pub time: String,
    /// Event kind (see [`super::rules`]).
    pub kind: String,
    /// Who recorded it.
    pub actor: String,
    /// Kind-specific content.
    pub body: Value,
}

impl Event {
    fn to_json(&self) -> Value {
        json!({
            "v": EVENT_VERSION,
            "id": hex::encode(self.id),
            "time": self.time,
            "kind": self.kind,
            "actor": self.actor,
            "body": self.body,
        })
    }
}

/// A custodian's approval of one event: a WebAuthn assertion whose challenge is the event's
/// [`UnsignedEvent::approval_challenge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The approving custodian's registry id.
    pub custodian_id: String,
    /// The credential that signed (must be the custodian's enrolled one).
    #[serde(with = "b64")]
    pub credential_id: Vec<u8>,
    /// Authenticator data as the key returned it.
    #[serde(with = "b64")]
    pub authenticator_data: Vec<u8>,
    /// Client data JSON, exactly as hashed.
    #[serde(with = "b64")]
    pub client_data_json: Vec<u8>,
    /// Signature over authenticator data || SHA-256(client data JSON).
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

mod b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64url(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::b64url_decode(&s).map_err(serde::de::Error::custom)
    }
}

/// One committed ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the log (0-based; equal to the leaf index).
    pub seq: u64,
    /// The event.
    pub event: Event,
    /// The event's canonical bytes (what approvals sign).
    pub event_bytes: Vec<u8>,
    /// Approvals stored with it.
    pub approvals: Vec<Approval>,
    /// The entry's canonical bytes, exactly as stored and hashed.
    pub bytes: Vec<u8>,
}

impl Entry {
    /// Builds the entry for `event` at `seq` with `approvals`.
    pub fn build(
        seq: u64,
        event: &UnsignedEvent,
        approvals: Vec<Approval>,
    ) -> Result<Entry, EncodingError> {
        let v = json!({
            "seq": seq,
            "event": event.event.to_json(),
            "approvals": approvals_json(&approvals),
        });
        Ok(Entry {
            seq,
            event: event.event.clone(),
            event_bytes: event.bytes.clone(),
            approvals,
            bytes: canonical::to_vec(&v)?,
        })
    }

    /// Decodes stored bytes. The event bytes are the exact `event` substring of the entry,
    /// so nothing is re-encoded on the verification path; [`Entry::is_canonical`] checks form.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EncodingError> {
        let wire: EntryWire<'_> =
            serde_json::from_slice(bytes).map_err(|e| EncodingError::Json(e.to_string()))?;
        let raw_event = wire.event.get().as_bytes();
        let ev: EventWire<'_> =
            serde_json::from_slice(raw_event).map_err(|e| EncodingError::Json(e.to_string()))?;
        if ev.v != EVENT_VERSION {
            return Err(EncodingError::Version(ev.v));
        }
        let id = hex::decode(ev.id.as_ref())
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .ok_or(EncodingError::Field("id"))?;
        Ok(Entry {
            seq: wire.seq,
            event: Event {
                id,
                time: ev.time.into_owned(),
                kind: ev.kind.into_owned(),
                actor: ev.actor.into_owned(),
                body: ev.body,
            },
            event_bytes: raw_event.to_vec(),
            approvals: wire.approvals,
            bytes: bytes.to_vec(),
        })
    }

    /// Whether the stored bytes are exactly the canonical encoding of what they contain.
    pub fn is_canonical(&self) -> bool {
        serde_json::from_slice::<Value>(&self.bytes)
            .ok()
            .and_then(|v| canonical::to_vec(&v).ok())
            .is_some_and(|c| c == self.bytes)
    }

    /// RFC 6962 leaf hash of the entry bytes.
    pub fn leaf_hash(&self) -> Hash {
        tree::leaf_hash(&self.bytes)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryWire<'a> {
    approvals: Vec<Approval>,
    #[serde(borrow)]
    event: &'a serde_json::value::RawValue,
    seq: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventWire<'a> {
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    body: Value,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    v: u64,
}

fn approvals_json(approvals: &[Approval]) -> Value {
    Value::Array(
        approvals
            .iter()
            .map(|a| {
                json!({
                    "custodian_id": a.custodian_id,
                    "credential_id": b64url(&a.credential_id),
                    "authenticator_data": b64url(&a.authenticator_data),
                    "client_data_json": b64url(&a.client_data_json),
                    "signature": b64url(&a.signature),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips_and_event_bytes_exclude_seq() {
        let ev = UnsignedEvent::new("note", "alice", json!({"text": "hello"})).unwrap();
        let text = String::from_utf8(ev.canonical_bytes().to_vec()).unwrap();
        assert!(text.starts_with(r#"{"actor":"alice","body":{"text":"hello"},"id":""#));
        assert!(!text.contains("seq"));
        let e = Entry::build(5, &ev, vec![]).unwrap();
        let back = Entry::decode(&e.bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.event_bytes, ev.canonical_bytes());
        // Two events with the same content still differ (random id), so approvals cannot move.
        let ev2 = UnsignedEvent::new("note", "alice", json!({"text": "hello"})).unwrap();
        assert_ne!(ev.approval_challenge(), ev2.approval_challenge());
    }

    #[test]
    fn canonical_form_is_checkable_and_floats_refused() {
        let ev = UnsignedEvent::new("note", "a", json!({"text": "x"})).unwrap();
        let e = Entry::build(0, &ev, vec![]).unwrap();
        assert!(e.is_canonical());
        let mut spaced = b" ".to_vec();
        spaced.extend_from_slice(&e.bytes);
        assert!(!Entry::decode(&spaced).unwrap().is_canonical());
        let dup = String::from_utf8(e.bytes.clone()).unwrap().replacen(
            r#""seq":0"#,
            r#""seq":0,"seq":1"#,
            1,
        );
        assert!(
            Entry::decode(dup.as_bytes()).is_err(),
            "duplicate members are refused"
        );
        assert!(UnsignedEvent::new("note", "a", json!({"n": 0.5})).is_err());
    }
}
