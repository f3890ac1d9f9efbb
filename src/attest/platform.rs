//! Platform attestation formats (WebAuthn §8.3 tpm, §8.4 android-key, §8.5 android-safetynet,
//! §8.8 apple). They are recognised, not verified: a key built into a laptop or phone cannot be
//! kept in a safe, so it is never eligible to guard a root account whatever its statement says.

/// The platform attestation formats rootkey recognises.
pub const PLATFORM_FORMATS: &[&str] = &["tpm", "android-key", "android-safetynet", "apple"];

/// Whether `fmt` is a platform authenticator's attestation format.
pub fn is_platform(fmt: &str) -> bool {
    PLATFORM_FORMATS.contains(&fmt)
}
