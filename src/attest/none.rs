//! `none` attestation (WebAuthn §8.7): the authenticator proved nothing about itself.

use super::object::AttestationObject;
use super::reason::InvalidReason;

/// Checks a none statement: it must be the empty map.
pub fn verify(obj: &AttestationObject) -> Result<(), InvalidReason> {
    if obj.att_stmt.is_empty() {
        Ok(())
    } else {
        Err(InvalidReason::MalformedStatement(
            "fmt none requires an empty attStmt".into(),
        ))
    }
}
