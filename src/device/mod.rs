//! FIDO2 authenticators: USB HID security keys and a software authenticator, behind one trait.
//!
//! Everything above this layer (custody flows, the CLI) talks to [`Authenticator`] and never
//! knows whether a YubiKey or the software key answered; [`DeviceInfo::is_software`] and the
//! attestation (signed by a local CA no policy trusts by default) are how a software key is told
//! apart. `--device SPEC` selects the authenticator ([`DeviceSpec`], [`open`]).

pub mod hid;

pub mod soft;
mod trace;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use ciborium::Value;
use serde::Serialize;

use crate::webauthn::{self, CoseKey, DeviceFacts};

pub use crate::webauthn::models::model_name;

/// The udev rule file that grants access to FIDO hidraw devices (shipped in `udev/`).
pub const UDEV_RULE: &str = "udev/70-rootkey-fido.rules";
/// The command that installs rootkey's udev rules.
pub const UDEV_INSTALL: &str = "sudo install -m 0644 udev/*.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger";

/// What went wrong talking to an authenticator, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("invalid --device {spec:?}: {reason}; use `hid`, `hid:/dev/hidrawN` or `soft:FILE`")]
    InvalidSpec { spec: String, reason: &'static str },
    #[error("no FIDO security key found: plug one in (if one is plugged in, rootkey may not be allowed to see it: install {UDEV_RULE} with `{UDEV_INSTALL}`)")]
    NoDevice,
    #[error("{} FIDO security keys are plugged in; choose one with --device hid:PATH:\n{}", .keys.len(), .keys.join("\n"))]
    MultipleDevices { keys: Vec<String> },
    #[error("permission denied opening {path}: install rootkey's udev rules ({UDEV_RULE}) with `{UDEV_INSTALL}`, then unplug and replug the key")]
    PermissionDenied { path: String },
    #[error("no device at {path}: run `rootkey keys list` to see the keys that are plugged in")]
    NotFound { path: String },
    #[error("{path} is not a FIDO security key (its HID usage page is not 0xF1D0)")]
    NotFido { path: String },
    /// `secs` is how long rootkey waited; 0 when the key reported its own timeout.
    #[error("{}", timeout_message(*.secs, *.waiting_for_touch))]
    Timeout { secs: u64, waiting_for_touch: bool },
    #[error("this key has a PIN: give it (prompt or --pin-stdin)")]
    PinRequired,
    #[error("wrong PIN{}", .retries.map(|r| format!(" ({r} tries left before the key locks)")).unwrap_or_default())]
    PinInvalid { retries: Option<u32> },
    #[error("the PIN is blocked after too many wrong tries: the key must be reset (which erases its credentials)")]
    PinBlocked,
    #[error("several wrong PINs in a row: the key refuses PINs until it is unplugged and plugged in again (it is not locked; the tries left still count)")]
    PinAuthBlocked,
    #[error("a PIN was given but this key has none set: set one with `rootkey keys set-pin`")]
    PinNotSet,
    #[error("the new PIN is not acceptable: {0}")]
    PinPolicy(String),
    #[error("the key holds none of the requested credentials for {rp_id}: is this the key that was enrolled?")]
    NoCredentials { rp_id: String },
    #[error("the key refused the operation (CTAP2_ERR_OPERATION_DENIED): the touch was declined or timed out")]
    OperationDenied,
    #[error("no software authenticator at {path}: create one with `rootkey keys soft-init {path}` (rootkey never creates a key behind your back)", path = .path.display())]
    SoftMissing { path: PathBuf },
    #[error("{path} already exists: a software authenticator is never overwritten (its credentials may be enrolled); choose another file", path = .path.display())]
    SoftExists { path: PathBuf },
    #[error("cannot read software authenticator file {path}: {source}")]
    StateUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("software authenticator file {path} is corrupt ({reason}): restore it from a copy, or move it aside to start a new key")]
    StateCorrupt { path: PathBuf, reason: String },
    #[error("software authenticator file {path} is readable by others (mode {mode:o}): run `chmod 600 {path}`", path = .path.display())]
    StateInsecure { path: PathBuf, mode: u32 },
    #[error("cannot write software authenticator file {path}: {source}")]
    StateWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key answered with CTAP error 0x{code:02X} {name}")]
    Ctap { code: u8, name: &'static str },
    #[error("attestation format {0:?} cannot be rebuilt from what the HID library returns")]
    UnsupportedAttestation(String),
    #[error("the key's answer is malformed: {0}")]
    Malformed(String),
    #[error("HID transport error: {0}")]
    Hid(String),
    #[error("software authenticator crypto failure: {0}")]
    Crypto(String),
}

fn timeout_message(secs: u64, waiting_for_touch: bool) -> String {
    if waiting_for_touch && secs == 0 {
        // The key itself gave up (CTAP2_ERR_USER_ACTION_TIMEOUT): its own time, not ours.
        "the key gave up waiting for a touch: run the command again and touch your key when it blinks".to_string()
    } else if waiting_for_touch {
        format!("no touch within {secs} s: touch your key when it blinks (if it never blinks, it is not responding: unplug and replug it)")
    } else {
        format!(
            "the key did not answer within {secs} s: it is not responding; unplug and replug it"
        )
    }
}

/// Which authenticator to use: the `--device` flag (`ROOTKEY_DEVICE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSpec {
    /// The one FIDO key plugged in (an error lists them when there are several).
    Hid,
    /// The FIDO key at this hidraw path.
    HidPath(String),
    /// The software authenticator kept in this state file (created if missing).
    Soft(PathBuf),
}

impl DeviceSpec {
    /// Parses `hid`, `hid:PATH` or `soft:FILE`.
    pub fn parse(spec: &str) -> Result<DeviceSpec, DeviceError> {
        let bad = |reason| DeviceError::InvalidSpec {
            spec: spec.to_string(),
            reason,
        };
        if spec == "hid" {
            return Ok(DeviceSpec::Hid);
        }
        if let Some(path) = spec.strip_prefix("hid:") {
            if path.is_empty() {
                return Err(bad("`hid:` needs a hidraw path after the colon"));
            }
            return Ok(DeviceSpec::HidPath(path.to_string()));
        }
        if let Some(file) = spec.strip_prefix("soft:") {
            if file.is_empty() {
                return Err(bad("`soft:` needs a state file path after the colon"));
            }
            return Ok(DeviceSpec::Soft(PathBuf::from(file)));
        }
        Err(bad("unknown kind of device"))
    }

    /// The spec from an optional flag value; no flag means [`DeviceSpec::Hid`].
    pub fn from_flag(flag: Option<&str>) -> Result<DeviceSpec, DeviceError> {
        flag.map_or(Ok(DeviceSpec::Hid), DeviceSpec::parse)
    }
}

impl FromStr for DeviceSpec {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceSpec::parse(s)
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Hid => f.write_str("hid"),
            DeviceSpec::HidPath(p) => write!(f, "hid:{p}"),
            DeviceSpec::Soft(p) => write!(f, "soft:{}", p.display()),
        }
    }
}

/// What a key says about itself (USB descriptors and authenticatorGetInfo). Not attested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// Where the key is: a hidraw path, or `soft:FILE`.
    pub path: String,
    /// USB vendor id (absent for the software key).
    pub vendor_id: Option<u16>,
    /// USB product id (absent for the software key).
    pub product_id: Option<u16>,
    /// USB manufacturer string.
    pub manufacturer: Option<String>,
    /// USB product string.
    pub product: Option<String>,
    /// AAGUID from authenticatorGetInfo.
    #[serde(serialize_with = "ser_aaguid")]
    pub aaguid: Option<[u8; 16]>,
    /// Model name from rootkey's table, when the AAGUID is known.
    pub model: Option<String>,
    /// Firmware version, when the key reports it.
    pub firmware_version: Option<String>,
    /// CTAP versions (`FIDO_2_0`, `FIDO_2_1`, `U2F_V2`).
    pub versions: Vec<String>,
    /// Whether a PIN is set (None: the key has no PIN support or was not asked).
    pub pin_set: Option<bool>,
    /// Whether built-in user verification (biometrics) is configured (None: not supported).
    pub uv: Option<bool>,
    /// Attestation formats the key reports (CTAP 2.2), or the one it is known to use.
    pub attestation_formats: Vec<String>,
    /// True for rootkey's software authenticator: never hardware.
    pub is_software: bool,
    /// Why the key could not be asked for its details (e.g. permission denied), when listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn ser_aaguid<S: serde::Serializer>(v: &Option<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(a) => s.serialize_some(&webauthn::authdata::format_aaguid(a)),
        None => s.serialize_none(),
    }
}

impl DeviceInfo {
    /// The AAGUID as 8-4-4-4-12 text.
    pub fn aaguid_text(&self) -> Option<String> {
        self.aaguid.as_ref().map(webauthn::authdata::format_aaguid)
    }

    /// The facts recorded in an attestation evidence file.
    pub fn facts(&self) -> DeviceFacts {
        DeviceFacts {
            path: Some(self.path.clone()),
            manufacturer: self.manufacturer.clone(),
            product: self.product.clone(),
            aaguid: self.aaguid_text(),
            firmware_version: self.firmware_version.clone(),
            pin_set: self.pin_set,
            uv: self.uv,
            versions: self.versions.clone(),
        }
    }
}

/// PIN and user-verification state of a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PinState {
    /// Whether a PIN is set (None: the key does not support a PIN).
    pub pin_set: Option<bool>,
    /// PIN tries left before the key locks, when known.
    pub pin_retries: Option<u32>,
    /// Whether built-in user verification is configured (None: not supported).
    pub uv: Option<bool>,
}

/// authenticatorMakeCredential, as rootkey uses it (non-discoverable ES256 credential).
///
/// The request carries the client data itself rather than its hash: the HID library only
/// accepts the preimage and hashes it, so the preimage is what both implementations take.
/// For a WebAuthn ceremony that is the clientDataJSON; for a custody approval, the event bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeCredential {
    /// Relying party id the credential is scoped to (`rootkey.custody`).
    pub rp_id: String,
    /// The bytes whose SHA-256 is the clientDataHash the key signs.
    pub client_data: Vec<u8>,
    /// User handle stored with the credential.
    pub user_id: Vec<u8>,
    /// User name stored with the credential.
    pub user_name: String,
    /// PIN, when the key has one.
    pub pin: Option<String>,
}

impl MakeCredential {
    /// The clientDataHash the key signs over.
    pub fn client_data_hash(&self) -> [u8; 32] {
        webauthn::sha256(&self.client_data)
    }
}

/// A new credential and its attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The CBOR attestation object {fmt, attStmt, authData}.
    pub attestation_object: Vec<u8>,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key.
    pub public_key: CoseKey,
    /// The authenticator data inside the attestation object.
    pub auth_data: Vec<u8>,
}

/// authenticatorGetAssertion with an allow list (rootkey never uses discoverable credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssertion {
    /// Relying party id.
    pub rp_id: String,
    /// The bytes whose SHA-256 is the clientDataHash the key signs (see [`MakeCredential`]).
    pub client_data: Vec<u8>,
    /// Credential ids the key may use.
    pub allow_credentials: Vec<Vec<u8>>,
    /// PIN, when the key has one.
    pub pin: Option<String>,
    /// Whether the key must see a touch (CTAP `up` option). `false` asks silently, without a
    /// touch or PIN, whether the key holds one of the credentials: how rootkey recognises a
    /// key it already knows. Such an assertion never carries the UP flag, so it can never count
    /// as an approval or a possession proof.
    pub user_presence: bool,
}

impl GetAssertion {
    /// The clientDataHash the key signs over.
    pub fn client_data_hash(&self) -> [u8; 32] {
        webauthn::sha256(&self.client_data)
    }
}

/// A signature from a key: verify with the credential's public key over
/// `authenticator_data || clientDataHash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The credential that signed.
    pub credential_id: Vec<u8>,
    /// Authenticator data (RP ID hash, flags, counter).
    pub authenticator_data: Vec<u8>,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
    /// User handle, when the key returned one.
    pub user_handle: Option<Vec<u8>>,
}

/// A FIDO2 authenticator: a USB key or the software one.
pub trait Authenticator: Send {
    /// What the key says about itself.
    fn info(&mut self) -> Result<DeviceInfo, DeviceError>;
    /// Makes a credential and returns it with its attestation.
    fn make_credential(&mut self, req: &MakeCredential) -> Result<Registration, DeviceError>;
    /// Signs with one of the allowed credentials.
    fn get_assertion(&mut self, req: &GetAssertion) -> Result<Assertion, DeviceError>;
    /// PIN and user-verification state.
    fn pin_state(&mut self) -> Result<PinState, DeviceError>;
    /// Sets the PIN (`current` None) or changes it (`current` is the PIN now set).
    fn set_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeviceError>;
}

/// Opens the authenticator `spec` names.
pub fn open(spec: &DeviceSpec) -> Result<Box<dyn Authenticator>, DeviceError> {
    let key: Box<dyn Authenticator> = match spec {
        DeviceSpec::Hid => Box::new(hid::HidAuthenticator::open_default()?),
        DeviceSpec::HidPath(path) => Box::new(hid::HidAuthenticator::open_path(path)?),
        DeviceSpec::Soft(file) => Box::new(soft::SoftAuthenticator::open(file)?),
    };
    // `-v`: report every command sent to the key.
    if crate::verbose::level() > 0 {
        return Ok(Box::new(trace::Traced::new(key, spec.to_string())));
    }
    Ok(key)
}

/// Every key `spec` covers, with its details: all plugged-in FIDO keys for `hid` (none is not
/// an error), or the one key for `hid:PATH` / `soft:FILE`. A key that cannot be asked is listed
/// with [`DeviceInfo::error`] set rather than hiding the others.
pub fn list(spec: &DeviceSpec) -> Result<Vec<DeviceInfo>, DeviceError> {
    match spec {
        DeviceSpec::Hid => hid::list_all(),
        DeviceSpec::HidPath(_) | DeviceSpec::Soft(_) => Ok(vec![open(spec)?.info()?]),
    }
}

/// Minimum PIN length in code points (CTAP 2.1 default).
pub const PIN_MIN_CHARS: usize = 4;
/// Maximum PIN length in bytes (CTAP: the padded PIN block is 64 bytes, NUL-terminated).
pub const PIN_MAX_BYTES: usize = 63;

/// Checks a new PIN against the CTAP limits before any key sees it.
pub fn check_new_pin(pin: &str) -> Result<(), DeviceError> {
    if pin.chars().count() < PIN_MIN_CHARS {
        return Err(DeviceError::PinPolicy(format!(
            "it must have at least {PIN_MIN_CHARS} characters"
        )));
    }
    if pin.len() > PIN_MAX_BYTES {
        return Err(DeviceError::PinPolicy(format!(
            "it must be at most {PIN_MAX_BYTES} bytes"
        )));
    }
    if pin.contains('\0') {
        return Err(DeviceError::PinPolicy("it must not contain NUL".into()));
    }
    Ok(())
}

/// The statement part of an attestation object, as the key produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttStmt {
    /// `packed`: algorithm, signature, and the certificate chain (empty for self attestation).
    Packed {
        alg: i64,
        sig: Vec<u8>,
        x5c: Vec<Vec<u8>>,
    },
    /// `fido-u2f`: signature and the one attestation certificate.
    FidoU2f { sig: Vec<u8>, x5c: Vec<Vec<u8>> },
    /// `none`.
    None,
}

impl AttStmt {
    /// The `fmt` string of this statement.
    pub fn fmt(&self) -> &'static str {
        match self {
            AttStmt::Packed { .. } => "packed",
            AttStmt::FidoU2f { .. } => "fido-u2f",
            AttStmt::None => "none",
        }
    }
}

/// Encodes the CBOR attestation object `{fmt, attStmt, authData}` in CTAP2 canonical order.
pub fn attestation_object(stmt: &AttStmt, auth_data: &[u8]) -> Vec<u8> {
    let t = |s: &str| Value::Text(s.to_string());
    let certs =
        |x5c: &[Vec<u8>]| Value::Array(x5c.iter().map(|c| Value::Bytes(c.clone())).collect());
    let att_stmt = match stmt {
        AttStmt::Packed { alg, sig, x5c } => {
            let mut m = vec![
                (t("alg"), Value::Integer((*alg).into())),
                (t("sig"), Value::Bytes(sig.clone())),
            ];
            if !x5c.is_empty() {
                m.push((t("x5c"), certs(x5c)));
            }
            Value::Map(m)
        }
        AttStmt::FidoU2f { sig, x5c } => Value::Map(vec![
            (t("sig"), Value::Bytes(sig.clone())),
            (t("x5c"), certs(x5c)),
        ]),
        AttStmt::None => Value::Map(vec![]),
    };
    let obj = Value::Map(vec![
        (t("fmt"), t(stmt.fmt())),
        (t("attStmt"), att_stmt),
        (t("authData"), Value::Bytes(auth_data.to_vec())),
    ]);
    let mut out = Vec::new();
    // Writing CBOR into a Vec has no I/O that can fail.
    let _ = ciborium::into_writer(&obj, &mut out);
    out
}

/// Builds a [`Registration`] from a statement and authenticator data, taking the credential id
/// and public key from the authenticator data itself (not from anything else the key said).
pub fn registration(stmt: &AttStmt, auth_data: Vec<u8>) -> Result<Registration, DeviceError> {
    let parsed = webauthn::AuthData::parse(&auth_data)
        .map_err(|e| DeviceError::Malformed(format!("authenticator data: {e}")))?;
    let cred = parsed.attested.ok_or_else(|| {
        DeviceError::Malformed("authenticator data has no attested credential".into())
    })?;
    Ok(Registration {
        attestation_object: attestation_object(stmt, &auth_data),
        credential_id: cred.credential_id,
        public_key: cred.public_key,
        auth_data,
    })
}

/// RP ID of the custody credentials rootkey makes on a key.
pub const CUSTODY_RP_ID: &str = "rootkey.custody";
/// Origin written into the client data of rootkey's own ceremonies.
pub const CUSTODY_ORIGIN: &str = "rootkey:custody";

/// Makes a custody credential over a fresh random 32-byte challenge and packages the result as
/// attestation evidence (the schema the attestation verifier reads), with what the key said
/// about itself.
pub fn attest(
    key: &mut dyn Authenticator,
    pin: Option<String>,
) -> Result<(webauthn::Evidence, Registration), DeviceError> {
    attest_on(key, pin, CUSTODY_RP_ID, CUSTODY_ORIGIN, "rootkey-custody")
}

/// [`attest`] for a credential on `rp_id` (custodian keys get theirs on `rootkey.custodian`).
pub fn attest_on(
    key: &mut dyn Authenticator,
    pin: Option<String>,
    rp_id: &str,
    origin: &str,
    user_name: &str,
) -> Result<(webauthn::Evidence, Registration), DeviceError> {
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let mut challenge = [0u8; 32];
    let mut user_id = [0u8; 16];
    rng.fill(&mut challenge)
        .and_then(|()| rng.fill(&mut user_id))
        .map_err(|_| DeviceError::Crypto("the system random generator failed".into()))?;
    let info = key.info()?;
    let client_data =
        webauthn::ClientData::json(webauthn::client_data::TYPE_CREATE, &challenge, origin);
    let reg = key.make_credential(&MakeCredential {
        rp_id: rp_id.into(),
        client_data: client_data.clone(),
        user_id: user_id.to_vec(),
        user_name: user_name.into(),
        pin,
    })?;
    let parsed = webauthn::AuthData::parse(&reg.auth_data)
        .map_err(|e| DeviceError::Malformed(format!("authenticator data: {e}")))?;
    let fmt = attestation_fmt(&reg.attestation_object);
    let evidence = webauthn::Evidence {
        attestation_object_b64url: webauthn::b64url(&reg.attestation_object),
        client_data_json_b64url: webauthn::b64url(&client_data),
        rp_id: rp_id.into(),
        origin: Some(origin.into()),
        challenge_b64url: Some(webauthn::b64url(&challenge)),
        device: Some(info.facts()),
        fmt,
        aaguid: parsed
            .attested
            .as_ref()
            .map(|a| webauthn::authdata::format_aaguid(&a.aaguid)),
    };
    Ok((evidence, reg))
}

/// The `fmt` of an attestation object, for display.
fn attestation_fmt(obj: &[u8]) -> Option<String> {
    let v: Value = ciborium::from_reader(obj).ok()?;
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some("fmt"))
        .and_then(|(_, v)| v.as_text().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_the_three_kinds() {
        assert_eq!(DeviceSpec::parse("hid").unwrap(), DeviceSpec::Hid);
        assert_eq!(
            DeviceSpec::parse("hid:/dev/hidraw3").unwrap(),
            DeviceSpec::HidPath("/dev/hidraw3".into())
        );
        assert_eq!(
            DeviceSpec::parse("soft:/tmp/k.json").unwrap(),
            DeviceSpec::Soft("/tmp/k.json".into())
        );
        assert_eq!(DeviceSpec::from_flag(None).unwrap(), DeviceSpec::Hid);
        for s in ["hid", "hid:/dev/hidraw0", "soft:a/b.json"] {
            assert_eq!(DeviceSpec::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn spec_rejects_nonsense_with_a_hint() {
        for s in ["", "usb", "hid:", "soft:", "HID", "soft", "nfc:x"] {
            let e = DeviceSpec::parse(s).unwrap_err();
            assert!(matches!(e, DeviceError::InvalidSpec { .. }), "{s}");
            assert!(e.to_string().contains("soft:FILE"), "{e}");
        }
    }

    #[test]
    fn permission_error_names_rule_and_command() {
        let e = DeviceError::PermissionDenied {
            path: "/dev/hidraw0".into(),
        };
        let m = e.to_string();
        assert!(
            m.contains("70-rootkey-fido.rules") && m.contains("udevadm trigger"),
            "{m}"
        );
    }

    #[test]
    fn pin_policy() {
        assert!(check_new_pin("1234").is_ok());
        assert!(check_new_pin("123").is_err());
        assert!(check_new_pin(&"x".repeat(64)).is_err());
        assert!(check_new_pin(&"x".repeat(63)).is_ok());
        assert!(check_new_pin("12\u{0}34").is_err());
    }

    #[test]
    fn attestation_object_is_canonical_cbor() {
        let stmt = AttStmt::Packed {
            alg: -7,
            sig: vec![1, 2],
            x5c: vec![vec![3]],
        };
        let obj = attestation_object(&stmt, &[9, 9]);
        let v: Value = ciborium::from_reader(&obj[..]).unwrap();
        let m = v.as_map().unwrap();
        let keys: Vec<_> = m.iter().map(|(k, _)| k.as_text().unwrap()).collect();
        assert_eq!(keys, ["fmt", "attStmt", "authData"]);
        assert_eq!(m[0].1.as_text(), Some("packed"));
        let st = m[1].1.as_map().unwrap();
        let sk: Vec<_> = st.iter().map(|(k, _)| k.as_text().unwrap()).collect();
        assert_eq!(sk, ["alg", "sig", "x5c"]);
        assert_eq!(m[2].1.as_bytes().unwrap(), &vec![9, 9]);

        let u2f = attestation_object(
            &AttStmt::FidoU2f {
                sig: vec![1],
                x5c: vec![vec![2]],
            },
            &[0],
        );
        let v: Value = ciborium::from_reader(&u2f[..]).unwrap();
        let m = v.as_map().unwrap();
        assert_eq!(m[0].1.as_text(), Some("fido-u2f"));
        let sk: Vec<_> = m[1]
            .1
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_text().unwrap())
            .collect();
        assert_eq!(sk, ["sig", "x5c"]);
    }

    #[test]
    fn rebuilt_real_attestation_matches_the_original_bytes() {
        // A real YubiKey's attestation object, decomposed into the parts ctap-hid-fido2 returns
        // and rebuilt: the rebuild must be byte-identical, or signatures over it would not verify.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/attestation/real/yubico-yubikey_5_nfc-packed.json"
        );
        let ev = webauthn::Evidence::from_json(&std::fs::read(path).unwrap()).unwrap();
        let original = ev.attestation_object().unwrap();
        let v: Value = ciborium::from_reader(&original[..]).unwrap();
        let m = v.as_map().unwrap();
        let get = |m: &[(Value, Value)], k: &str| {
            m.iter()
                .find(|(kk, _)| kk.as_text() == Some(k))
                .unwrap()
                .1
                .clone()
        };
        let st = get(m, "attStmt");
        let st = st.as_map().unwrap();
        let alg = i64::try_from(get(st, "alg").as_integer().unwrap()).unwrap();
        let sig = get(st, "sig").as_bytes().unwrap().clone();
        let x5c = get(st, "x5c")
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_bytes().unwrap().clone())
            .collect();
        let auth = get(m, "authData").as_bytes().unwrap().clone();
        let reg = registration(&AttStmt::Packed { alg, sig, x5c }, auth).unwrap();
        assert_eq!(reg.attestation_object, original);
        assert!(!reg.credential_id.is_empty());
    }
}
