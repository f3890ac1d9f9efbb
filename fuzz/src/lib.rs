//! The pure parts of rootkey, compiled from the main tree for fuzzing.

#[path = "../../src/webauthn/mod.rs"]
pub mod webauthn;

#[path = "../../src/attest/mod.rs"]
pub mod attest;
