//! The CTAP2 authenticator behind the virtual key: authenticatorGetInfo, MakeCredential,
//! GetAssertion, ClientPIN, Reset and Selection (CTAP 2.1 §6), as CBOR in and status + CBOR out.
//!
//! Credentials are ES256 keys made with ring; the packed attestation is signed by the soft
//! authenticator's local CA (`rootkey-soft-ca.pem` in the state directory) under the soft
//! AAGUID, so rootkey's verifier recognises a software key, as it must.

use ciborium::Value;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use rootkey::device::soft::SoftCa;
use rootkey::webauthn::models::SOFT_AAGUID;

use crate::pin::{KeyAgreement, Protocol};

/// CTAP status codes (§8.2).
pub mod status {
    pub const OK: u8 = 0x00;
    pub const INVALID_COMMAND: u8 = 0x01;
    pub const INVALID_PARAMETER: u8 = 0x02;
    pub const INVALID_LENGTH: u8 = 0x03;
    pub const CBOR_UNEXPECTED_TYPE: u8 = 0x11;
    pub const INVALID_CBOR: u8 = 0x12;
    pub const MISSING_PARAMETER: u8 = 0x14;
    pub const CREDENTIAL_EXCLUDED: u8 = 0x19;
    pub const UNSUPPORTED_ALGORITHM: u8 = 0x26;
    pub const UNSUPPORTED_OPTION: u8 = 0x2B;
    pub const INVALID_OPTION: u8 = 0x2C;
    pub const KEEPALIVE_CANCEL: u8 = 0x2D;
    pub const NO_CREDENTIALS: u8 = 0x2E;
    pub const USER_ACTION_TIMEOUT: u8 = 0x2F;
    pub const NOT_ALLOWED: u8 = 0x30;
    pub const PIN_INVALID: u8 = 0x31;
    pub const PIN_BLOCKED: u8 = 0x32;
    pub const PIN_AUTH_INVALID: u8 = 0x33;
    pub const PIN_AUTH_BLOCKED: u8 = 0x34;
    pub const PIN_NOT_SET: u8 = 0x35;
    pub const PUAT_REQUIRED: u8 = 0x36;
    pub const PIN_POLICY_VIOLATION: u8 = 0x37;
    pub const INVALID_SUBCOMMAND: u8 = 0x3E;
    pub const OTHER: u8 = 0x7F;
}

/// PIN retries a fresh PIN gets (§6.5.2.1: the maximum is 8).
pub const PIN_RETRIES_MAX: u8 = 8;
/// Consecutive wrong PINs before PIN auth is blocked until a power cycle (§6.5.5.5).
pub const PIN_AUTH_BLOCK_AFTER: u8 = 3;
const MAX_MSG_SIZE: u64 = 7609;

/// Permissions of a pinUvAuthToken (§6.5.5.7).
const PERM_MC: u8 = 0x01;
const PERM_GA: u8 = 0x02;

/// How the platform's user-presence test turned out.
pub trait Presence {
    /// Waits for a touch: Ok, or the status to answer (timeout, cancel).
    fn wait(&mut self) -> Result<(), u8>;
}

struct Credential {
    id: Vec<u8>,
    rp_id: String,
    user_id: Vec<u8>,
    discoverable: bool,
    key: EcdsaKeyPair,
}

struct Token {
    value: [u8; 32],
    permissions: u8,
    rp_id: Option<String>,
}

/// One virtual authenticator's volatile state (lost when its process ends, as if unplugged
/// from a key that keeps nothing; the PIN and credentials live as long as the process).
pub struct Authenticator {
    ca: SoftCa,
    rng: SystemRandom,
    credentials: Vec<Credential>,
    sign_count: u32,
    /// LEFT(SHA-256(PIN), 16) (§6.5.5.5).
    pin_hash: Option<[u8; 16]>,
    pin_retries: u8,
    consecutive_mismatches: u8,
    key_agreement: KeyAgreement,
    token: Option<Token>,
}

type Map = Vec<(Value, Value)>;

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_integer().and_then(|i| i64::try_from(i).ok())
}

fn get(m: &Map, key: i64) -> Option<&Value> {
    m.iter()
        .find(|(k, _)| as_i64(k) == Some(key))
        .map(|(_, v)| v)
}

fn get_text<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn bytes(v: Option<&Value>) -> Result<&Vec<u8>, u8> {
    v.ok_or(status::MISSING_PARAMETER)?
        .as_bytes()
        .ok_or(status::CBOR_UNEXPECTED_TYPE)
}

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = ciborium::into_writer(v, &mut out);
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// An option in an `options` map (§6.1, §6.2): None when absent.
fn option(options: Option<&Value>, name: &str) -> Result<Option<bool>, u8> {
    let Some(o) = options else { return Ok(None) };
    let m = o.as_map().ok_or(status::CBOR_UNEXPECTED_TYPE)?;
    match get_text(m, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

impl Authenticator {
    pub fn new(ca: SoftCa) -> Authenticator {
        Authenticator {
            ca,
            rng: SystemRandom::new(),
            credentials: Vec::new(),
            sign_count: 0,
            pin_hash: None,
            pin_retries: PIN_RETRIES_MAX,
            consecutive_mismatches: 0,
            key_agreement: KeyAgreement::generate(),
            token: None,
        }
    }

    /// Handles one CTAPHID_CBOR request: command byte + CBOR parameters (§6, §8).
    /// Returns the status byte followed by the CBOR response, if any.
    pub fn handle(&mut self, request: &[u8], presence: &mut dyn Presence) -> Vec<u8> {
        let Some((&cmd, params)) = request.split_first() else {
            return vec![status::INVALID_LENGTH];
        };
        let params: Map = if params.is_empty() {
            Vec::new()
        } else {
            match ciborium::from_reader::<Value, _>(params) {
                Ok(Value::Map(m)) => m,
                Ok(_) => return vec![status::CBOR_UNEXPECTED_TYPE],
                Err(_) => return vec![status::INVALID_CBOR],
            }
        };
        let result = match cmd {
            0x01 => self.make_credential(&params, presence),
            0x02 => self.get_assertion(&params, presence),
            0x04 => Ok(Some(self.get_info())),
            0x06 => self.client_pin(&params),
            0x07 => self.reset(presence),
            0x0B => presence.wait().map(|()| None),
            _ => Err(status::INVALID_COMMAND),
        };
        match result {
            Ok(None) => vec![status::OK],
            Ok(Some(v)) => [vec![status::OK], encode(&v)].concat(),
            Err(code) => vec![code],
        }
    }

    fn random<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng.fill(&mut out).expect("system random");
        out
    }

    /// authenticatorGetInfo (§6.4), keys in canonical order.
    fn get_info(&self) -> Value {
        Value::Map(vec![
            (
                int(0x01),
                Value::Array(vec![text("FIDO_2_0"), text("FIDO_2_1")]),
            ),
            (int(0x02), Value::Array(vec![])),
            (int(0x03), Value::Bytes(SOFT_AAGUID.to_vec())),
            (
                int(0x04),
                Value::Map(vec![
                    (text("rk"), Value::Bool(true)),
                    (text("up"), Value::Bool(true)),
                    (text("plat"), Value::Bool(false)),
                    (text("clientPin"), Value::Bool(self.pin_hash.is_some())),
                    (text("pinUvAuthToken"), Value::Bool(true)),
                ]),
            ),
            (int(0x05), Value::Integer(MAX_MSG_SIZE.into())),
            (int(0x06), Value::Array(vec![int(2), int(1)])),
            (int(0x09), Value::Array(vec![text("usb")])),
            (
                int(0x0A),
                Value::Array(vec![Value::Map(vec![
                    (text("alg"), int(-7)),
                    (text("type"), text("public-key")),
                ])]),
            ),
            (int(0x0D), int(4)),
            (int(0x0E), int(0x0001_0000)),
        ])
    }

    /// The zero-length pinUvAuthParam probe platforms use to make the user pick a key
    /// (§6.1.2 step 1, §6.2.2 step 1).
    fn pin_probe(&self, presence: &mut dyn Presence) -> Result<Option<Value>, u8> {
        presence.wait()?;
        Err(if self.pin_hash.is_some() {
            status::PIN_INVALID
        } else {
            status::PIN_NOT_SET
        })
    }

    /// Checks pinUvAuthParam over the clientDataHash with the current pinUvAuthToken, its
    /// permission and its RP binding (§6.1.2 step 11, §6.2.2 step 6).
    fn check_token(
        &mut self,
        params: &Map,
        param_key: i64,
        protocol_key: i64,
        cdh: &[u8],
        permission: u8,
        rp_id: &str,
    ) -> Result<bool, u8> {
        let Some(param) = get(params, param_key) else {
            return Ok(false);
        };
        let param = param.as_bytes().ok_or(status::CBOR_UNEXPECTED_TYPE)?;
        let protocol =
            Protocol::from_value(get(params, protocol_key).ok_or(status::MISSING_PARAMETER)?)?;
        let token = self.token.as_mut().ok_or(status::PIN_AUTH_INVALID)?;
        if !protocol.verify(&token.value, cdh, param) {
            return Err(status::PIN_AUTH_INVALID);
        }
        if token.permissions & permission == 0 {
            return Err(status::PIN_AUTH_INVALID);
        }
        match &token.rp_id {
            Some(bound) if bound != rp_id => return Err(status::PIN_AUTH_INVALID),
            Some(_) => {}
            None => token.rp_id = Some(rp_id.to_string()),
        }
        Ok(true)
    }

    fn next_count(&mut self) -> u32 {
        self.sign_count = self.sign_count.wrapping_add(1);
        self.sign_count
    }

    /// authenticatorMakeCredential (§6.1).
    fn make_credential(
        &mut self,
        params: &Map,
        presence: &mut dyn Presence,
    ) -> Result<Option<Value>, u8> {
        if let Some(Value::Bytes(b)) = get(params, 0x08) {
            if b.is_empty() {
                return self.pin_probe(presence);
            }
        }
        let cdh = bytes(get(params, 0x01))?.clone();
        let rp = get(params, 0x02)
            .ok_or(status::MISSING_PARAMETER)?
            .as_map()
            .ok_or(status::CBOR_UNEXPECTED_TYPE)?;
        let rp_id = get_text(rp, "id")
            .and_then(Value::as_text)
            .ok_or(status::MISSING_PARAMETER)?
            .to_string();
        let user = get(params, 0x03)
            .ok_or(status::MISSING_PARAMETER)?
            .as_map()
            .ok_or(status::CBOR_UNEXPECTED_TYPE)?;
        let user_id = bytes(get_text(user, "id"))?.clone();
        let algs = get(params, 0x04)
            .ok_or(status::MISSING_PARAMETER)?
            .as_array()
            .ok_or(status::CBOR_UNEXPECTED_TYPE)?;
        // Step 3: ES256 is the one algorithm this key has.
        let es256 = algs.iter().any(|p| {
            p.as_map().is_some_and(|m| {
                get_text(m, "alg").and_then(as_i64) == Some(-7)
                    && get_text(m, "type").and_then(Value::as_text) == Some("public-key")
            })
        });
        if !es256 {
            return Err(status::UNSUPPORTED_ALGORITHM);
        }
        // Step 5: options. No built-in UV; up=false is invalid for makeCredential.
        let options = get(params, 0x07);
        let rk = option(options, "rk")?.unwrap_or(false);
        // With a pinUvAuthParam, "uv" is treated as false (§6.1.2 step 5); otherwise this key
        // has no built-in UV to honour it.
        if option(options, "uv")? == Some(true) && get(params, 0x08).is_none() {
            return Err(status::INVALID_OPTION);
        }
        if option(options, "up")? == Some(false) {
            return Err(status::INVALID_OPTION);
        }
        // Steps 6 and 11: a key with a PIN needs a pinUvAuthToken (no makeCredUvNotRqd).
        let uv = self.check_token(params, 0x08, 0x09, &cdh, PERM_MC, &rp_id)?;
        if !uv && self.pin_hash.is_some() {
            return Err(status::PUAT_REQUIRED);
        }
        // Step 12: excludeList.
        if let Some(list) = get(params, 0x05) {
            let list = list.as_array().ok_or(status::CBOR_UNEXPECTED_TYPE)?;
            let excluded = list.iter().any(|d| {
                d.as_map()
                    .and_then(|m| get_text(m, "id"))
                    .and_then(Value::as_bytes)
                    .is_some_and(|id| {
                        self.credentials
                            .iter()
                            .any(|c| &c.id == id && c.rp_id == rp_id)
                    })
            });
            if excluded {
                presence.wait()?;
                return Err(status::CREDENTIAL_EXCLUDED);
            }
        }
        // Step 13: user presence.
        presence.wait()?;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.rng)
            .map_err(|_| status::OTHER)?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &self.rng)
                .map_err(|_| status::OTHER)?;
        let id = self.random::<32>().to_vec();
        let point = key.public_key().as_ref().to_vec();
        let cose = encode(&Value::Map(vec![
            (int(1), int(2)),
            (int(3), int(-7)),
            (int(-1), int(1)),
            (int(-2), Value::Bytes(point[1..33].to_vec())),
            (int(-3), Value::Bytes(point[33..65].to_vec())),
        ]));
        let flags = 0x01 | if uv { 0x04 } else { 0 } | 0x40; // UP, UV, AT
        let count = self.next_count();
        let mut auth_data = sha256(rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&count.to_be_bytes());
        auth_data.extend_from_slice(&SOFT_AAGUID);
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose);
        // Packed attestation (WebAuthn §8.2): sig over authData || clientDataHash.
        let sig = self
            .ca
            .sign_attestation(&[auth_data.as_slice(), &cdh].concat())
            .map_err(|_| status::OTHER)?;
        self.credentials.push(Credential {
            id,
            rp_id,
            user_id,
            discoverable: rk,
            key,
        });
        Ok(Some(Value::Map(vec![
            (int(0x01), text("packed")),
            (int(0x02), Value::Bytes(auth_data)),
            (
                int(0x03),
                Value::Map(vec![
                    (text("alg"), int(-7)),
                    (text("sig"), Value::Bytes(sig)),
                    (
                        text("x5c"),
                        Value::Array(vec![Value::Bytes(self.ca.attestation_der.clone())]),
                    ),
                ]),
            ),
        ])))
    }

    /// authenticatorGetAssertion (§6.2); one assertion (no getNextAssertion).
    fn get_assertion(
        &mut self,
        params: &Map,
        presence: &mut dyn Presence,
    ) -> Result<Option<Value>, u8> {
        if let Some(Value::Bytes(b)) = get(params, 0x06) {
            if b.is_empty() {
                return self.pin_probe(presence);
            }
        }
        let rp_id = get(params, 0x01)
            .ok_or(status::MISSING_PARAMETER)?
            .as_text()
            .ok_or(status::CBOR_UNEXPECTED_TYPE)?
            .to_string();
        let cdh = bytes(get(params, 0x02))?.clone();
        let options = get(params, 0x05);
        if option(options, "rk")?.is_some() {
            return Err(status::UNSUPPORTED_OPTION);
        }
        // As for makeCredential (§6.2.2 step 5).
        if option(options, "uv")? == Some(true) && get(params, 0x06).is_none() {
            return Err(status::INVALID_OPTION);
        }
        let up = option(options, "up")?.unwrap_or(true);
        let uv = self.check_token(params, 0x06, 0x07, &cdh, PERM_GA, &rp_id)?;
        // Step 7: locate credentials (the allow list, else discoverable ones for the RP).
        let index = match get(params, 0x03) {
            Some(list) => {
                let list = list.as_array().ok_or(status::CBOR_UNEXPECTED_TYPE)?;
                let ids: Vec<&Vec<u8>> = list
                    .iter()
                    .filter_map(|d| d.as_map().and_then(|m| get_text(m, "id")))
                    .filter_map(Value::as_bytes)
                    .collect();
                self.credentials
                    .iter()
                    .position(|c| c.rp_id == rp_id && ids.contains(&&c.id))
            }
            None => self
                .credentials
                .iter()
                .rposition(|c| c.rp_id == rp_id && c.discoverable),
        };
        let Some(index) = index else {
            return Err(status::NO_CREDENTIALS);
        };
        // Step 9: user presence, unless the platform asked for a silent probe (up=false).
        if up {
            presence.wait()?;
        }
        let flags = if up { 0x01 } else { 0 } | if uv { 0x04 } else { 0 };
        let count = self.next_count();
        let mut auth_data = sha256(rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&count.to_be_bytes());
        let cred = &self.credentials[index];
        let sig = cred
            .key
            .sign(&self.rng, &[auth_data.as_slice(), &cdh].concat())
            .map_err(|_| status::OTHER)?;
        let mut out = vec![
            (
                int(0x01),
                Value::Map(vec![
                    (text("id"), Value::Bytes(cred.id.clone())),
                    (text("type"), text("public-key")),
                ]),
            ),
            (int(0x02), Value::Bytes(auth_data)),
            (int(0x03), Value::Bytes(sig.as_ref().to_vec())),
        ];
        if cred.discoverable {
            out.push((
                int(0x04),
                Value::Map(vec![(text("id"), Value::Bytes(cred.user_id.clone()))]),
            ));
        }
        Ok(Some(Value::Map(out)))
    }

    /// authenticatorReset (§6.6): forgets credentials, PIN and tokens.
    fn reset(&mut self, presence: &mut dyn Presence) -> Result<Option<Value>, u8> {
        presence.wait()?;
        self.credentials.clear();
        self.pin_hash = None;
        self.pin_retries = PIN_RETRIES_MAX;
        self.consecutive_mismatches = 0;
        self.key_agreement = KeyAgreement::generate();
        self.token = None;
        Ok(None)
    }

    /// authenticatorClientPIN (§6.5.5).
    fn client_pin(&mut self, params: &Map) -> Result<Option<Value>, u8> {
        let sub = get(params, 0x02)
            .and_then(as_i64)
            .ok_or(status::MISSING_PARAMETER)?;
        if sub == 0x01 {
            // getPINRetries (§6.5.5.2).
            return Ok(Some(Value::Map(vec![
                (int(0x03), int(i64::from(self.pin_retries))),
                (int(0x04), Value::Bool(false)),
            ])));
        }
        let protocol = Protocol::from_value(get(params, 0x01).ok_or(status::MISSING_PARAMETER)?)?;
        match sub {
            // getKeyAgreement (§6.5.5.4).
            0x02 => Ok(Some(Value::Map(vec![(
                int(0x01),
                self.key_agreement.cose(),
            )]))),
            0x03 => self.set_pin(protocol, params).map(|()| None),
            0x04 => self.change_pin(protocol, params).map(|()| None),
            // getPinToken (§6.5.5.7.1, legacy: mc and ga permissions, no RP binding).
            0x05 => self.pin_token(protocol, params, PERM_MC | PERM_GA, None),
            // getPinUvAuthTokenUsingPinWithPermissions (§6.5.5.7.2).
            0x09 => {
                let perms = get(params, 0x09)
                    .and_then(as_i64)
                    .ok_or(status::MISSING_PARAMETER)?;
                if perms == 0 || perms > 0xFF {
                    return Err(status::INVALID_PARAMETER);
                }
                // Permissions other than mc and ga need features this key lacks.
                if perms as u8 & !(PERM_MC | PERM_GA) != 0 {
                    return Err(status::UNSUPPORTED_OPTION);
                }
                let rp_id = get(params, 0x0A)
                    .map(|v| {
                        v.as_text()
                            .map(str::to_string)
                            .ok_or(status::CBOR_UNEXPECTED_TYPE)
                    })
                    .transpose()?;
                self.pin_token(protocol, params, perms as u8, rp_id)
            }
            _ => Err(status::INVALID_SUBCOMMAND),
        }
    }

    fn shared_secret(&self, protocol: Protocol, params: &Map) -> Result<Vec<u8>, u8> {
        let peer = get(params, 0x03).ok_or(status::MISSING_PARAMETER)?;
        self.key_agreement.shared_secret(protocol, peer)
    }

    /// Decrypts and checks newPinEnc (§6.5.5.5 steps for setPIN and changePIN).
    fn new_pin(&self, protocol: Protocol, shared: &[u8], enc: &[u8]) -> Result<[u8; 16], u8> {
        let padded = protocol.decrypt(shared, enc)?;
        if padded.len() != 64 {
            return Err(status::INVALID_PARAMETER);
        }
        let end = padded.iter().position(|&b| b == 0).unwrap_or(64);
        let pin = &padded[..end];
        let chars = std::str::from_utf8(pin)
            .map(|s| s.chars().count())
            .unwrap_or(pin.len());
        if chars < 4 || pin.len() > 63 {
            return Err(status::PIN_POLICY_VIOLATION);
        }
        let mut h = [0u8; 16];
        h.copy_from_slice(&sha256(pin)[..16]);
        Ok(h)
    }

    /// setPIN (§6.5.5.5).
    fn set_pin(&mut self, protocol: Protocol, params: &Map) -> Result<(), u8> {
        let auth = bytes(get(params, 0x04))?;
        let new_enc = bytes(get(params, 0x05))?;
        if self.pin_hash.is_some() {
            return Err(status::NOT_ALLOWED);
        }
        let shared = self.shared_secret(protocol, params)?;
        if !protocol.verify(&shared, new_enc, auth) {
            return Err(status::PIN_AUTH_INVALID);
        }
        self.pin_hash = Some(self.new_pin(protocol, &shared, new_enc)?);
        self.pin_retries = PIN_RETRIES_MAX;
        Ok(())
    }

    /// Checks pinHashEnc against the stored PIN, counting retries (§6.5.5.5 changePIN steps,
    /// §6.5.5.7 getPinToken steps).
    fn check_pin_hash(&mut self, protocol: Protocol, shared: &[u8], enc: &[u8]) -> Result<(), u8> {
        let stored = self.pin_hash.ok_or(status::PIN_NOT_SET)?;
        if self.pin_retries == 0 {
            return Err(status::PIN_BLOCKED);
        }
        if self.consecutive_mismatches >= PIN_AUTH_BLOCK_AFTER {
            return Err(status::PIN_AUTH_BLOCKED);
        }
        self.pin_retries -= 1;
        let given = protocol.decrypt(shared, enc)?;
        if given.len() != 16 || given.as_slice() != stored.as_slice() {
            self.key_agreement = KeyAgreement::generate();
            self.consecutive_mismatches += 1;
            return Err(if self.pin_retries == 0 {
                status::PIN_BLOCKED
            } else if self.consecutive_mismatches >= PIN_AUTH_BLOCK_AFTER {
                status::PIN_AUTH_BLOCKED
            } else {
                status::PIN_INVALID
            });
        }
        self.pin_retries = PIN_RETRIES_MAX;
        self.consecutive_mismatches = 0;
        Ok(())
    }

    /// changePIN (§6.5.5.6).
    fn change_pin(&mut self, protocol: Protocol, params: &Map) -> Result<(), u8> {
        let auth = bytes(get(params, 0x04))?.clone();
        let new_enc = bytes(get(params, 0x05))?.clone();
        let hash_enc = bytes(get(params, 0x06))?.clone();
        if self.pin_hash.is_none() {
            return Err(status::PIN_NOT_SET);
        }
        if self.pin_retries == 0 {
            return Err(status::PIN_BLOCKED);
        }
        let shared = self.shared_secret(protocol, params)?;
        if !protocol.verify(&shared, &[new_enc.as_slice(), &hash_enc].concat(), &auth) {
            return Err(status::PIN_AUTH_INVALID);
        }
        self.check_pin_hash(protocol, &shared, &hash_enc)?;
        self.pin_hash = Some(self.new_pin(protocol, &shared, &new_enc)?);
        self.token = None;
        Ok(())
    }

    /// getPinToken / getPinUvAuthTokenUsingPinWithPermissions (§6.5.5.7): a fresh token,
    /// encrypted to the platform.
    fn pin_token(
        &mut self,
        protocol: Protocol,
        params: &Map,
        permissions: u8,
        rp_id: Option<String>,
    ) -> Result<Option<Value>, u8> {
        let hash_enc = bytes(get(params, 0x06))?.clone();
        if self.pin_hash.is_none() {
            return Err(status::PIN_NOT_SET);
        }
        let shared = self.shared_secret(protocol, params)?;
        self.check_pin_hash(protocol, &shared, &hash_enc)?;
        let value = self.random::<32>();
        self.token = Some(Token {
            value,
            permissions,
            rp_id,
        });
        Ok(Some(Value::Map(vec![(
            int(0x02),
            Value::Bytes(protocol.encrypt(&shared, &value)),
        )])))
    }
}
