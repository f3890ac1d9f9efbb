//! Events and entries: what is approved, what is stored, and their canonical bytes.
//!
//! An *event* (`{"actor","body","id","kind","time","v"}`) is what custodians approve: its
//! canonical bytes carry a random 128-bit id but no sequence number, so an approval stays valid
//! if someone else appends first. An *entry* (`{"approvals","event","seq"}`) is what the tree
//! commits to: the leaf hash is over the entry's canonical bytes, exactly as stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    #[error("the system random generator failed; cannot make an event id")]
    Random,
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
            .map_err(|_| EncodingError::Random)?;
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
        let mut bytes = Vec::with_capacity(256);
        encode_event(&event, &mut bytes)?;
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
    /// Event kind (the kinds are listed in `custody::events`).
    pub kind: String,
    /// Who recorded it.
    pub actor: String,
    /// Kind-specific content.
    pub body: Value,
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
        let bytes = encode_entry(seq, &event.event, &approvals)?;
        Ok(Entry {
            seq,
            event: event.event.clone(),
            event_bytes: event.bytes.clone(),
            approvals,
            bytes,
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
        // Re-encoding the decoded parts reproduces the bytes only if they were canonical:
        // decoding refuses unknown and duplicate members, and every other degree of freedom
        // (spacing, order, escapes, hex and base64 spelling) is fixed by the encoder.
        encode_entry(self.seq, &self.event, &self.approvals).is_ok_and(|c| c == self.bytes)
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

/// Canonical event bytes; members in JCS order (actor, body, id, kind, time, v).
fn encode_event(e: &Event, out: &mut Vec<u8>) -> Result<(), EncodingError> {
    use canonical::write_string as string;
    out.extend_from_slice(b"{\"actor\":");
    string(&e.actor, out);
    out.extend_from_slice(b",\"body\":");
    canonical::write_value(&e.body, out)?;
    out.extend_from_slice(b",\"id\":\"");
    out.extend_from_slice(hex::encode(e.id).as_bytes());
    out.extend_from_slice(b"\",\"kind\":");
    string(&e.kind, out);
    out.extend_from_slice(b",\"time\":");
    string(&e.time, out);
    out.extend_from_slice(format!(",\"v\":{EVENT_VERSION}}}").as_bytes());
    Ok(())
}

/// Canonical entry bytes; members in JCS order (approvals, event, seq).
fn encode_entry(seq: u64, e: &Event, approvals: &[Approval]) -> Result<Vec<u8>, EncodingError> {
    use canonical::write_string as string;
    let mut out = Vec::with_capacity(512 + approvals.len() * 512);
    out.extend_from_slice(b"{\"approvals\":[");
    for (i, a) in approvals.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"authenticator_data\":");
        string(&b64url(&a.authenticator_data), &mut out);
        out.extend_from_slice(b",\"client_data_json\":");
        string(&b64url(&a.client_data_json), &mut out);
        out.extend_from_slice(b",\"credential_id\":");
        string(&b64url(&a.credential_id), &mut out);
        out.extend_from_slice(b",\"custodian_id\":");
        string(&a.custodian_id, &mut out);
        out.extend_from_slice(b",\"signature\":");
        string(&b64url(&a.signature), &mut out);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"event\":");
    encode_event(e, &mut out)?;
    if seq > (1 << 53) - 1 {
        return Err(CanonicalError::Number(seq.to_string()).into());
    }
    out.extend_from_slice(format!(",\"seq\":{seq}}}").as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn direct_encoder_matches_generic_jcs() {
        let ev = UnsignedEvent::new(
            "note",
            "a\"\u{1}é",
            json!({"z": [1, {"b": null, "a": -3}], "a": "\n"}),
        )
        .unwrap();
        let ap = Approval {
            custodian_id: "c1".into(),
            credential_id: vec![1, 2, 255],
            authenticator_data: vec![9; 37],
            client_data_json: b"{}".to_vec(),
            signature: vec![0xfe; 70],
        };
        let e = Entry::build(3, &ev, vec![ap.clone()]).unwrap();
        let generic = canonical::to_vec(&json!({
            "seq": 3,
            "event": {
                "v": 1, "id": hex::encode(ev.event().id), "time": ev.event().time,
                "kind": "note", "actor": "a\"\u{1}é", "body": ev.event().body,
            },
            "approvals": [serde_json::to_value(&ap).unwrap()],
        }))
        .unwrap();
        assert_eq!(e.bytes, generic);
        assert_eq!(Entry::decode(&e.bytes).unwrap(), e);
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
