//! Canonical JSON (RFC 8785, JCS) restricted to integer numbers: the bytes the ledger hashes.
//!
//! Only integers are allowed because JCS serialises numbers as ECMAScript doubles, and an
//! auditor's tool must reproduce our bytes exactly; with integers in ±2^53 the two agree.

use serde_json::Value;

/// The largest integer magnitude that every JCS implementation renders identically (2^53 - 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("number {0} is not an integer in ±(2^53-1); ledger events use integers or strings")]
    Number(String),
}

/// Encodes `value` as RFC 8785 canonical JSON.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// Appends the canonical encoding of `value` to `out`.
pub fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let ok = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= MAX_SAFE_INTEGER,
                (None, Some(i)) => i.unsigned_abs() <= MAX_SAFE_INTEGER,
                _ => false,
            };
            if !ok {
                return Err(CanonicalError::Number(n.to_string()));
            }
            // Integer display in Rust matches ECMAScript Number.prototype.toString for these.
            use std::io::Write;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // JCS sorts member names by their UTF-16 code units, not by UTF-8 bytes.
            let mut keys: Vec<(&String, Vec<u16>)> = map
                .keys()
                .map(|k| (k, k.encode_utf16().collect()))
                .collect();
            keys.sort_by(|a, b| a.1.cmp(&b.1));
            out.push(b'{');
            for (i, (k, _)) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                if let Some(v) = map.get(k.as_str()) {
                    write_value(v, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Appends `s` as a canonical JSON string.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    // Fast path: nothing to escape.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            canon(json!({"b": [1, 2, {"z": null, "a": true}], "a": "x"})),
            r#"{"a":"x","b":[1,2,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // RFC 8785 §3.2.3 example: U+20AC sorts after U+FB33 in UTF-8 but the order here is
        // by UTF-16, where the surrogate pair of U+1F600 (0xD83D) comes before U+FB33.
        let v = json!({"\u{20ac}": 1, "\u{1f600}": 2, "\u{fb33}": 3, "\r": 4, "1": 5});
        assert_eq!(
            canon(v),
            "{\"\\r\":4,\"1\":5,\"\u{20ac}\":1,\"\u{1f600}\":2,\"\u{fb33}\":3}"
        );
    }

    #[test]
    fn escapes_like_jcs() {
        assert_eq!(
            canon(json!("\u{0}\u{1f}\"\\/\u{08}\u{0c}\n\r\té")),
            "\"\\u0000\\u001f\\\"\\\\/\\b\\f\\n\\r\\té\""
        );
    }

    #[test]
    fn rejects_non_integers_and_unsafe_integers() {
        assert!(to_vec(&json!(1.5)).is_err());
        assert!(to_vec(&json!(9007199254740992u64)).is_err());
        assert_eq!(canon(json!(-9007199254740991i64)), "-9007199254740991");
    }
}
