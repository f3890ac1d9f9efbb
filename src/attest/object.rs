//! The attestation object (WebAuthn §6.5.4): a CBOR map of `fmt`, `attStmt` and `authData`.
//!
//! Parsing is strict: exactly those three keys, the right CBOR types, nothing after the map.
//! Everything here comes from outside, so every failure is a [`ObjectError`], never a panic.

use ciborium::Value;

/// Why an attestation object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("attestation object is not valid CBOR: {0}")]
    Cbor(String),
    #[error("attestation object is not a CBOR map")]
    NotAMap,
    #[error("attestation object lacks {0:?}")]
    Missing(&'static str),
    #[error("attestation object field {0:?} has the wrong CBOR type")]
    WrongType(&'static str),
    #[error("attestation object has an unexpected or duplicate key")]
    UnexpectedKey,
    #[error("{0} bytes follow the attestation object")]
    TrailingBytes(usize),
}

/// An attestation object split into its three parts; the statement is left for the format.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationObject {
    /// The attestation statement format identifier (`packed`, `fido-u2f`, `none`, ...).
    pub fmt: String,
    /// The attestation statement, a CBOR map whose shape depends on `fmt`.
    pub att_stmt: Vec<(Value, Value)>,
    /// The raw authenticator data bytes (what the signature covers).
    pub auth_data: Vec<u8>,
}

/// Limit on nesting while decoding; real attestation objects nest four levels deep.
const MAX_DEPTH: usize = 16;

impl AttestationObject {
    /// Parses an attestation object; the whole input must be one CBOR map.
    pub fn parse(bytes: &[u8]) -> Result<AttestationObject, ObjectError> {
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH)
            .map_err(|e| ObjectError::Cbor(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ObjectError::TrailingBytes(rest.len()));
        }
        let Value::Map(entries) = value else {
            return Err(ObjectError::NotAMap);
        };
        let mut fmt = None;
        let mut att_stmt = None;
        let mut auth_data = None;
        for (k, v) in entries {
            let slot_taken = match k.as_text() {
                Some("fmt") => match v {
                    Value::Text(t) => fmt.replace(t).is_some(),
                    _ => return Err(ObjectError::WrongType("fmt")),
                },
                Some("attStmt") => match v {
                    Value::Map(m) => att_stmt.replace(m).is_some(),
                    _ => return Err(ObjectError::WrongType("attStmt")),
                },
                Some("authData") => match v {
                    Value::Bytes(b) => auth_data.replace(b).is_some(),
                    _ => return Err(ObjectError::WrongType("authData")),
                },
                _ => true,
            };
            if slot_taken {
                return Err(ObjectError::UnexpectedKey);
            }
        }
        Ok(AttestationObject {
            fmt: fmt.ok_or(ObjectError::Missing("fmt"))?,
            att_stmt: att_stmt.ok_or(ObjectError::Missing("attStmt"))?,
            auth_data: auth_data.ok_or(ObjectError::Missing("authData"))?,
        })
    }

    /// The statement field `name`, if present.
    pub fn stmt(&self, name: &str) -> Option<&Value> {
        self.att_stmt
            .iter()
            .find_map(|(k, v)| (k.as_text() == Some(name)).then_some(v))
    }

    /// The statement's keys, for formats that must reject unknown ones.
    pub fn stmt_keys(&self) -> impl Iterator<Item = Option<&str>> {
        self.att_stmt.iter().map(|(k, _)| k.as_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn obj(fmt: Value) -> Value {
        Value::Map(vec![
            (Value::Text("fmt".into()), fmt),
            (Value::Text("attStmt".into()), Value::Map(vec![])),
            (Value::Text("authData".into()), Value::Bytes(vec![1, 2, 3])),
        ])
    }

    #[test]
    fn parses_and_rejects_each_malformation() {
        let good = encode(&obj(Value::Text("none".into())));
        let o = AttestationObject::parse(&good).unwrap();
        assert_eq!(o.fmt, "none");
        assert_eq!(o.auth_data, vec![1, 2, 3]);
        assert_eq!(
            AttestationObject::parse(&encode(&obj(Value::Integer(1.into())))),
            Err(ObjectError::WrongType("fmt"))
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            AttestationObject::parse(&trailing),
            Err(ObjectError::TrailingBytes(1))
        );
        assert_eq!(
            AttestationObject::parse(&encode(&Value::Array(vec![]))),
            Err(ObjectError::NotAMap)
        );
        for n in 0..good.len() {
            assert!(AttestationObject::parse(&good[..n]).is_err());
        }
        let Value::Map(mut m) = obj(Value::Text("none".into())) else {
            unreachable!()
        };
        m.push((Value::Text("fmt".into()), Value::Text("packed".into())));
        assert_eq!(
            AttestationObject::parse(&encode(&Value::Map(m))),
            Err(ObjectError::UnexpectedKey)
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut bytes = vec![0x81; 100_000];
        bytes.push(0x00);
        assert!(matches!(
            AttestationObject::parse(&bytes),
            Err(ObjectError::Cbor(_))
        ));
    }
}
