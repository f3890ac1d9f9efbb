//! rootkey's software authenticator: a real CTAP2 authenticator with no hardware behind it.
//!
//! Real P-256 credential keys, real `packed` attestation signed by a local attestation CA, a
//! signature counter, an optional PIN, and state kept in a file so credentials survive between
//! runs. It exists so every flow can run on machines without USB (the demo, the tests); its model
//! name says "NOT HARDWARE", it reports `is_software`, and its CA is trusted by no default policy.
//!
//! Files, all mode 0600 and written atomically (temp file + rename):
//! - the state file named by `soft:FILE`: counter, PIN hash, credentials (private keys included:
//!   protect it like a key);
//! - `rootkey-soft-ca.json` beside it: the attestation CA shared by every soft key in that
//!   directory (created once, like a vendor CA), with its certificate also in
//!   `rootkey-soft-ca.pem` (public, 0644) for `rootkey attest verify --roots DIR`.
//!
//! User presence is always asserted (the software key stands for a touch); user verification
//! only when a PIN is set and was given correctly. With a PIN set, every make-credential and
//! get-assertion needs it (the soft key behaves like an `alwaysUv` key).

use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde::{Deserialize, Serialize};

use super::{
    Assertion, AttStmt, Authenticator, DeviceError, DeviceInfo, GetAssertion, MakeCredential,
    PinState, Registration,
};
use crate::webauthn::models::{SOFT_AAGUID, SOFT_MODEL_NAME};
use crate::webauthn::{self, b64url, b64url_decode, AuthData, CoseKey, Flags};

/// File name of the attestation CA shared by the soft keys in one directory.
pub const CA_FILE: &str = "rootkey-soft-ca.json";
/// File name of the CA certificate (PEM) beside it, for `--roots DIR`.
pub const CA_PEM_FILE: &str = "rootkey-soft-ca.pem";
/// PIN tries before the soft key locks (as CTAP keys do).
pub const PIN_RETRIES: u32 = 8;

const STATE_FORMAT: &str = "rootkey-soft-authenticator/1";
const CA_FORMAT: &str = "rootkey-soft-ca/1";
// The PIN hash protects a file that already holds private keys; PBKDF2 keeps a copied file from
// giving the PIN away cheaply without making every test slow.
const PIN_ITERATIONS: u32 = 10_000;
const FIDO_AAGUID_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4];
const BASIC_CONSTRAINTS_OID: &[u64] = &[2, 5, 29, 19];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PinRecord {
    salt_b64url: String,
    hash_b64url: String,
    iterations: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SoftCredential {
    id_b64url: String,
    rp_id: String,
    user_id_b64url: String,
    user_name: String,
    private_key_pkcs8_b64url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SoftState {
    format: String,
    sign_count: u32,
    pin: Option<PinRecord>,
    pin_retries: u32,
    credentials: Vec<SoftCredential>,
}

impl SoftState {
    fn new() -> Self {
        SoftState {
            format: STATE_FORMAT.into(),
            sign_count: 0,
            pin: None,
            pin_retries: PIN_RETRIES,
            credentials: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CaFile {
    format: String,
    root_cert_der_b64url: String,
    root_key_pkcs8_b64url: String,
    attestation_cert_der_b64url: String,
    attestation_key_pkcs8_b64url: String,
}

/// The attestation CA of the soft keys in one directory.
#[derive(Debug, Clone)]
pub struct SoftCa {
    /// Root certificate (DER): the trust anchor a verifier must be given explicitly.
    pub root_der: Vec<u8>,
    /// Attestation (leaf) certificate (DER), carried in `x5c`.
    pub attestation_der: Vec<u8>,
    attestation_key_pkcs8: Vec<u8>,
}

impl SoftCa {
    /// Loads the CA in `dir`, creating it (and its PEM) on first use.
    pub fn load_or_create(dir: &Path) -> Result<SoftCa, DeviceError> {
        let path = dir.join(CA_FILE);
        if !path.exists() {
            let file = Self::generate()?;
            let bytes = serde_json::to_vec_pretty(&file)
                .map_err(|e| DeviceError::Crypto(format!("encoding the CA: {e}")))?;
            // Two processes may race to create the CA: only the first link wins, and the loser
            // loads the winner's, so every attestation in a directory chains to one root.
            create_once(&path, &bytes)?;
        }
        let ca = Self::load(&path)?;
        let pem_path = dir.join(CA_PEM_FILE);
        let pem = pem_encode("CERTIFICATE", &ca.root_der);
        if std::fs::read(&pem_path).ok().as_deref() != Some(pem.as_bytes()) {
            write_atomic(&pem_path, pem.as_bytes(), 0o644)?;
        }
        Ok(ca)
    }

    /// Signs `message` with the attestation key (ECDSA P-256 SHA-256, DER): the packed
    /// attestation signature of another front end to this CA (the virtual HID key).
    pub fn sign_attestation(&self, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &self.attestation_key_pkcs8,
            &rng,
        )
        .map_err(|e| DeviceError::Crypto(format!("attestation key: {e}")))?;
        key.sign(&rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| DeviceError::Crypto(format!("attestation signature: {e}")))
    }

    fn load(path: &Path) -> Result<SoftCa, DeviceError> {
        let bytes = read_private(path)?;
        let corrupt = |reason: String| DeviceError::StateCorrupt {
            path: path.to_path_buf(),
            reason,
        };
        let f: CaFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if f.format != CA_FORMAT {
            return Err(corrupt(format!("unknown format {:?}", f.format)));
        }
        let dec = |s: &str, what: &str| {
            b64url_decode(s).map_err(|_| corrupt(format!("{what} is not base64url")))
        };
        let ca = SoftCa {
            root_der: dec(&f.root_cert_der_b64url, "root certificate")?,
            attestation_der: dec(&f.attestation_cert_der_b64url, "attestation certificate")?,
            attestation_key_pkcs8: dec(&f.attestation_key_pkcs8_b64url, "attestation key")?,
        };
        // Fail now, not at the first registration, if the key is unusable.
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ca.attestation_key_pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| corrupt(format!("attestation key rejected: {e}")))?;
        Ok(ca)
    }

    fn generate() -> Result<CaFile, DeviceError> {
        use rcgen::{
            BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
            KeyPair as RcKeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
        };
        let err =
            |e: rcgen::Error| DeviceError::Crypto(format!("creating the attestation CA: {e}"));
        let now = time::OffsetDateTime::now_utc();
        let serial = || -> Result<rcgen::SerialNumber, DeviceError> {
            let mut s = random_bytes::<16>()?;
            s[0] &= 0x7f; // positive INTEGER
            Ok(rcgen::SerialNumber::from_slice(&s))
        };

        let root_key = RcKeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut root = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "rootkey");
        dn.push(
            DnType::CommonName,
            "rootkey software authenticator attestation root (NOT HARDWARE)",
        );
        root.distinguished_name = dn;
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        root.not_before = now - time::Duration::days(1);
        root.not_after = now + time::Duration::days(365 * 30);
        root.serial_number = Some(serial()?);
        let root_cert = root.self_signed(&root_key).map_err(err)?;

        // The packed attestation certificate profile (WebAuthn §8.2.1): v3, subject C/O/OU/CN
        // with OU "Authenticator Attestation", CA=false, and the AAGUID extension non-critical.
        let leaf_key = RcKeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut leaf = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "ZZ");
        dn.push(DnType::OrganizationName, "rootkey");
        dn.push(DnType::OrganizationalUnitName, "Authenticator Attestation");
        dn.push(DnType::CommonName, SOFT_MODEL_NAME);
        leaf.distinguished_name = dn;
        // basicConstraints with cA false, as DER requires it (X.690 §11.5: a DEFAULT value is
        // not encoded): an empty SEQUENCE. rcgen's ExplicitNoCa writes `cA FALSE`, which strict
        // DER parsers (python-fido2's, through pyca/cryptography) reject.
        leaf.is_ca = IsCa::NoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.not_before = now - time::Duration::days(1);
        leaf.not_after = now + time::Duration::days(365 * 20);
        leaf.serial_number = Some(serial()?);
        leaf.custom_extensions = vec![
            CustomExtension::from_oid_content(BASIC_CONSTRAINTS_OID, vec![0x30, 0x00]),
            CustomExtension::from_oid_content(FIDO_AAGUID_OID, der_octet_string(&SOFT_AAGUID)),
        ];
        let leaf_cert = leaf
            .signed_by(&leaf_key, &root_cert, &root_key)
            .map_err(err)?;

        Ok(CaFile {
            format: CA_FORMAT.into(),
            root_cert_der_b64url: b64url(root_cert.der()),
            root_key_pkcs8_b64url: b64url(&root_key.serialize_der()),
            attestation_cert_der_b64url: b64url(leaf_cert.der()),
            attestation_key_pkcs8_b64url: b64url(&leaf_key.serialize_der()),
        })
    }
}

/// The software authenticator, bound to its state file.
#[derive(Debug)]
pub struct SoftAuthenticator {
    path: PathBuf,
    state: SoftState,
    ca: SoftCa,
    rng: SystemRandom,
}

impl SoftAuthenticator {
    /// Opens the soft key kept in `path`. Never creates or writes anything: a missing file is
    /// an error saying how to create one (`rootkey keys soft-init FILE`), so a typo in a path
    /// can never silently stand in a fresh, empty key for an enrolled one.
    pub fn open(path: &Path) -> Result<SoftAuthenticator, DeviceError> {
        if !path.exists() {
            return Err(DeviceError::SoftMissing {
                path: path.to_path_buf(),
            });
        }
        let bytes = read_private(path)?;
        let state = parse_state(path, &bytes)?;
        let ca = SoftCa::load(&key_dir(path).join(CA_FILE))?;
        Ok(SoftAuthenticator {
            path: path.to_path_buf(),
            state,
            ca,
            rng: SystemRandom::new(),
        })
    }

    /// Creates a new soft key in `path` (and the directory's CA on first use); refuses when the
    /// file exists, so an enrolled key is never replaced.
    pub fn create(path: &Path) -> Result<SoftAuthenticator, DeviceError> {
        let ca = SoftCa::load_or_create(&key_dir(path))?;
        let state = SoftState::new();
        if !create_once_flag(path, &encode_state(&state)?)? {
            return Err(DeviceError::SoftExists {
                path: path.to_path_buf(),
            });
        }
        Ok(SoftAuthenticator {
            path: path.to_path_buf(),
            state,
            ca,
            rng: SystemRandom::new(),
        })
    }

    /// The attestation CA this key signs with.
    pub fn ca(&self) -> &SoftCa {
        &self.ca
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn save(&self) -> Result<(), DeviceError> {
        write_atomic(&self.path, &encode_state(&self.state)?, 0o600)
    }

    /// Checks the PIN as CTAP would; returns whether the user was verified.
    fn verify_pin(&mut self, pin: Option<&str>) -> Result<bool, DeviceError> {
        let Some(record) = self.state.pin.clone() else {
            return match pin {
                Some(_) => Err(DeviceError::PinNotSet),
                None => Ok(false),
            };
        };
        if self.state.pin_retries == 0 {
            return Err(DeviceError::PinBlocked);
        }
        let pin = pin.ok_or(DeviceError::PinRequired)?;
        let corrupt = |reason: &str| DeviceError::StateCorrupt {
            path: self.path.clone(),
            reason: reason.to_string(),
        };
        let salt = b64url_decode(&record.salt_b64url).map_err(|_| corrupt("PIN salt"))?;
        let hash = b64url_decode(&record.hash_b64url).map_err(|_| corrupt("PIN hash"))?;
        let iterations =
            NonZeroU32::new(record.iterations).ok_or_else(|| corrupt("PIN iterations"))?;
        let ok = ring::pbkdf2::verify(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            pin.as_bytes(),
            &hash,
        )
        .is_ok();
        if ok {
            if self.state.pin_retries != PIN_RETRIES {
                self.state.pin_retries = PIN_RETRIES;
                self.save()?;
            }
            Ok(true)
        } else {
            self.state.pin_retries -= 1;
            self.save()?;
            if self.state.pin_retries == 0 {
                Err(DeviceError::PinBlocked)
            } else {
                Err(DeviceError::PinInvalid {
                    retries: Some(self.state.pin_retries),
                })
            }
        }
    }

    fn next_count(&mut self) -> Result<u32, DeviceError> {
        self.state.sign_count = self
            .state
            .sign_count
            .checked_add(1)
            .ok_or_else(|| DeviceError::Crypto("signature counter exhausted".into()))?;
        Ok(self.state.sign_count)
    }

    fn flags(uv: bool) -> Flags {
        Flags(Flags::UP | if uv { Flags::UV } else { 0 })
    }
}

impl Authenticator for SoftAuthenticator {
    fn info(&mut self) -> Result<DeviceInfo, DeviceError> {
        Ok(DeviceInfo {
            path: format!("soft:{}", self.path.display()),
            vendor_id: None,
            product_id: None,
            manufacturer: Some("rootkey".into()),
            product: Some("software authenticator (NOT HARDWARE)".into()),
            aaguid: Some(SOFT_AAGUID),
            model: super::model_name(&SOFT_AAGUID).map(str::to_string),
            firmware_version: Some(env!("CARGO_PKG_VERSION").into()),
            versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
            pin_set: Some(self.state.pin.is_some()),
            uv: None,
            attestation_formats: vec!["packed".into()],
            is_software: true,
            error: None,
        })
    }

    fn make_credential(&mut self, req: &MakeCredential) -> Result<Registration, DeviceError> {
        if req.rp_id.is_empty() {
            return Err(DeviceError::Ctap {
                code: 0x02,
                name: "CTAP1_ERR_INVALID_PARAMETER",
            });
        }
        let uv = self.verify_pin(req.pin.as_deref())?;
        let crypto = |e: ring::error::Unspecified| DeviceError::Crypto(e.to_string());
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.rng)
            .map_err(crypto)?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &self.rng)
                .map_err(|e| DeviceError::Crypto(e.to_string()))?;
        let public_key = cose_from_sec1(key.public_key().as_ref())?;
        let credential_id = random_bytes::<32>()?.to_vec();
        let count = self.next_count()?;
        let auth_data = AuthData::encode(
            &webauthn::sha256(req.rp_id.as_bytes()),
            Self::flags(uv),
            count,
            Some((&SOFT_AAGUID, &credential_id, &public_key)),
        );
        let att_key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &self.ca.attestation_key_pkcs8,
            &self.rng,
        )
        .map_err(|e| DeviceError::Crypto(e.to_string()))?;
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&req.client_data_hash());
        let sig = att_key.sign(&self.rng, &signed).map_err(crypto)?;
        let stmt = AttStmt::Packed {
            alg: webauthn::cose::ALG_ES256,
            sig: sig.as_ref().to_vec(),
            x5c: vec![self.ca.attestation_der.clone()],
        };
        self.state.credentials.push(SoftCredential {
            id_b64url: b64url(&credential_id),
            rp_id: req.rp_id.clone(),
            user_id_b64url: b64url(&req.user_id),
            user_name: req.user_name.clone(),
            private_key_pkcs8_b64url: b64url(pkcs8.as_ref()),
        });
        // Persist before handing the credential out: a credential the file does not hold could
        // never sign again, and a counter that went backwards would look like a clone.
        self.save()?;
        super::registration(&stmt, auth_data)
    }

    fn get_assertion(&mut self, req: &GetAssertion) -> Result<Assertion, DeviceError> {
        // A silent probe (up=false, no PIN) is answered without user verification, as a CTAP
        // key answers one for a credential made without credProtect level 3.
        let uv = if !req.user_presence && req.pin.is_none() {
            false
        } else {
            self.verify_pin(req.pin.as_deref())?
        };
        let cred = req
            .allow_credentials
            .iter()
            .find_map(|id| {
                let id_text = b64url(id);
                self.state
                    .credentials
                    .iter()
                    .find(|c| c.id_b64url == id_text && c.rp_id == req.rp_id)
            })
            .cloned()
            .ok_or_else(|| DeviceError::NoCredentials {
                rp_id: req.rp_id.clone(),
            })?;
        let path = self.path.clone();
        let corrupt = |reason: &str| DeviceError::StateCorrupt {
            path: path.clone(),
            reason: reason.to_string(),
        };
        let pkcs8 = b64url_decode(&cred.private_key_pkcs8_b64url)
            .map_err(|_| corrupt("credential key is not base64url"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &self.rng)
            .map_err(|_| corrupt("credential key rejected"))?;
        let count = self.next_count()?;
        let flags = if req.user_presence {
            Self::flags(uv)
        } else {
            Flags(if uv { Flags::UV } else { 0 })
        };
        let auth_data =
            AuthData::encode(&webauthn::sha256(req.rp_id.as_bytes()), flags, count, None);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&req.client_data_hash());
        let sig = key
            .sign(&self.rng, &signed)
            .map_err(|e| DeviceError::Crypto(e.to_string()))?;
        self.save()?;
        let credential_id = b64url_decode(&cred.id_b64url).map_err(|_| corrupt("credential id"))?;
        let user_handle = b64url_decode(&cred.user_id_b64url)
            .ok()
            .filter(|u| !u.is_empty());
        Ok(Assertion {
            credential_id,
            authenticator_data: auth_data,
            signature: sig.as_ref().to_vec(),
            user_handle,
        })
    }

    fn pin_state(&mut self) -> Result<PinState, DeviceError> {
        Ok(PinState {
            pin_set: Some(self.state.pin.is_some()),
            pin_retries: Some(self.state.pin_retries),
            uv: None,
        })
    }

    fn set_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeviceError> {
        super::check_new_pin(new)?;
        if self.state.pin.is_some() {
            self.verify_pin(Some(current.ok_or(DeviceError::PinRequired)?))?;
        } else if current.is_some() {
            return Err(DeviceError::PinNotSet);
        }
        let salt = random_bytes::<16>()?;
        let mut hash = [0u8; 32];
        let iterations = NonZeroU32::new(PIN_ITERATIONS).unwrap_or(NonZeroU32::MIN);
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            new.as_bytes(),
            &mut hash,
        );
        self.state.pin = Some(PinRecord {
            salt_b64url: b64url(&salt),
            hash_b64url: b64url(&hash),
            iterations: PIN_ITERATIONS,
        });
        self.state.pin_retries = PIN_RETRIES;
        self.save()
    }
}

fn parse_state(path: &Path, bytes: &[u8]) -> Result<SoftState, DeviceError> {
    let corrupt = |reason: String| DeviceError::StateCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let s: SoftState = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if s.format != STATE_FORMAT {
        return Err(corrupt(format!(
            "unknown format {:?} (expected {STATE_FORMAT:?})",
            s.format
        )));
    }
    if s.pin_retries > PIN_RETRIES {
        return Err(corrupt(format!(
            "pin_retries {} out of range",
            s.pin_retries
        )));
    }
    Ok(s)
}

fn encode_state(s: &SoftState) -> Result<Vec<u8>, DeviceError> {
    serde_json::to_vec_pretty(s).map_err(|e| DeviceError::Crypto(format!("encoding state: {e}")))
}

/// Reads a file that holds secrets, refusing it if group or others may access it.
fn read_private(path: &Path) -> Result<Vec<u8>, DeviceError> {
    let unreadable = |source| DeviceError::StateUnreadable {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DeviceError::StateInsecure {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::fs::read(path).map_err(unreadable)
}

/// Replaces `path` atomically at `mode`: readers see the old file or the new one.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DeviceError> {
    crate::fsutil::write_atomic_mode(path, bytes, mode).map_err(|source| DeviceError::StateWrite {
        path: path.to_path_buf(),
        source,
    })
}

/// Creates `path` with `bytes` unless it already exists (then leaves the existing file alone).
/// The directory a key file (and its CA) lives in.
fn key_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `path` at mode 0600 unless it exists; whether this call created it.
fn create_once_flag(path: &Path, bytes: &[u8]) -> Result<bool, DeviceError> {
    crate::fsutil::create_once(path, bytes, 0o600).map_err(|source| DeviceError::StateWrite {
        path: path.to_path_buf(),
        source,
    })
}

fn create_once(path: &Path, bytes: &[u8]) -> Result<(), DeviceError> {
    crate::fsutil::create_once(path, bytes, 0o600)
        .map(|_| ())
        .map_err(|source| DeviceError::StateWrite {
            path: path.to_path_buf(),
            source,
        })
}

fn random_bytes<const N: usize>() -> Result<[u8; N], DeviceError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| DeviceError::Crypto("the system random generator failed".into()))?;
    Ok(b)
}

fn cose_from_sec1(point: &[u8]) -> Result<CoseKey, DeviceError> {
    if point.len() != 65 || point[0] != 0x04 {
        return Err(DeviceError::Crypto(
            "unexpected P-256 public key encoding".into(),
        ));
    }
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    x.copy_from_slice(&point[1..33]);
    y.copy_from_slice(&point[33..]);
    Ok(CoseKey::Es256 { x, y })
}

/// DER OCTET STRING of a short value (the AAGUID extension's content).
fn der_octet_string(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04, data.len() as u8];
    out.extend_from_slice(data);
    out
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mc(pin: Option<&str>) -> MakeCredential {
        MakeCredential {
            rp_id: "rootkey.custody".into(),
            client_data: b"client data".to_vec(),
            user_id: b"user".to_vec(),
            user_name: "alice".into(),
            pin: pin.map(str::to_string),
        }
    }

    #[test]
    fn new_key_files_are_private_and_ca_pem_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let k = SoftAuthenticator::create(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join(CA_FILE)), 0o600);
        let pem = std::fs::read_to_string(dir.path().join(CA_PEM_FILE)).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(k.ca().root_der.len() > 100);
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn attestation_certificate_basic_constraints_are_der() {
        // cA FALSE is the DEFAULT: DER leaves it out, so the extension is an empty SEQUENCE.
        // Strict parsers (pyca/cryptography, under python-fido2) reject an encoded default.
        use x509_parser::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let ca = SoftCa::load_or_create(dir.path()).unwrap();
        let (_, cert) = X509Certificate::from_der(&ca.attestation_der).unwrap();
        let bc = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "2.5.29.19")
            .expect("basicConstraints present");
        assert_eq!(bc.value, &[0x30, 0x00]);
        assert!(matches!(cert.basic_constraints(), Ok(Some(b)) if !b.value.ca));
        let sig = ca.sign_attestation(b"message").unwrap();
        assert_eq!(sig[0], 0x30, "a DER ECDSA signature");
    }

    #[test]
    fn two_keys_in_one_directory_share_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let a = SoftAuthenticator::create(&dir.path().join("a.json")).unwrap();
        let b = SoftAuthenticator::create(&dir.path().join("b.json")).unwrap();
        assert_eq!(a.ca().root_der, b.ca().root_der);
        assert_eq!(a.ca().attestation_der, b.ca().attestation_der);
    }

    #[test]
    fn pin_retries_count_down_and_block() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = SoftAuthenticator::create(&dir.path().join("k.json")).unwrap();
        k.set_pin(None, "123456").unwrap();
        for left in (1..PIN_RETRIES).rev() {
            match k.make_credential(&mc(Some("000000"))) {
                Err(DeviceError::PinInvalid { retries }) => assert_eq!(retries, Some(left)),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            k.make_credential(&mc(Some("000000"))),
            Err(DeviceError::PinBlocked)
        ));
        // Even the right PIN is refused once blocked.
        assert!(matches!(
            k.make_credential(&mc(Some("123456"))),
            Err(DeviceError::PinBlocked)
        ));
    }

    #[test]
    fn right_pin_resets_retries_and_sets_uv() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = SoftAuthenticator::create(&dir.path().join("k.json")).unwrap();
        let reg = k.make_credential(&mc(None)).unwrap();
        let ad = AuthData::parse(&reg.auth_data).unwrap();
        assert!(ad.flags.user_present() && !ad.flags.user_verified());
        assert!(matches!(
            k.make_credential(&mc(Some("1234"))),
            Err(DeviceError::PinNotSet)
        ));
        k.set_pin(None, "1234").unwrap();
        assert!(k.make_credential(&mc(Some("9999"))).is_err());
        let reg = k.make_credential(&mc(Some("1234"))).unwrap();
        let ad = AuthData::parse(&reg.auth_data).unwrap();
        assert!(ad.flags.user_present() && ad.flags.user_verified());
        assert_eq!(k.pin_state().unwrap().pin_retries, Some(PIN_RETRIES));
    }

    #[test]
    fn changing_the_pin_needs_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut k = SoftAuthenticator::create(&dir.path().join("k.json")).unwrap();
        assert!(matches!(
            k.set_pin(Some("1111"), "2222"),
            Err(DeviceError::PinNotSet)
        ));
        assert!(matches!(
            k.set_pin(None, "12"),
            Err(DeviceError::PinPolicy(_))
        ));
        k.set_pin(None, "1111").unwrap();
        assert!(matches!(
            k.set_pin(None, "2222"),
            Err(DeviceError::PinRequired)
        ));
        assert!(matches!(
            k.set_pin(Some("0000"), "2222"),
            Err(DeviceError::PinInvalid { .. })
        ));
        k.set_pin(Some("1111"), "2222").unwrap();
        assert!(k.make_credential(&mc(Some("2222"))).is_ok());
    }

    #[test]
    fn unknown_state_format_and_bad_retries_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.json");
        let mut s = SoftState::new();
        s.format = "other/9".into();
        assert!(matches!(
            parse_state(&p, &serde_json::to_vec(&s).unwrap()),
            Err(DeviceError::StateCorrupt { .. })
        ));
        let mut s = SoftState::new();
        s.pin_retries = 99;
        assert!(matches!(
            parse_state(&p, &serde_json::to_vec(&s).unwrap()),
            Err(DeviceError::StateCorrupt { .. })
        ));
    }

    #[test]
    fn der_octet_string_of_aaguid() {
        let d = der_octet_string(&SOFT_AAGUID);
        assert_eq!(&d[..2], &[0x04, 16]);
        assert_eq!(&d[2..], &SOFT_AAGUID);
    }
}
