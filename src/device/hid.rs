//! USB HID security keys, over ctap-hid-fido2 (CTAP) and hidapi (enumeration).
//!
//! ctap-hid-fido2 has traps this module exists to contain:
//! - its HID reads never time out: every call runs on a worker thread and is waited for with a
//!   bound ([`with_timeout`]); after a timeout the key is treated as stuck;
//! - it prints to stdout in places: fd 1 is pointed at stderr around its calls
//!   ([`StdoutToStderr`]) so `--json` output stays valid, and a worker abandoned after a
//!   timeout can never print to stdout again ([`quiet_call`]);
//! - it refuses to choose among several keys: enumeration is done here with hidapi, filtered on
//!   the FIDO usage page ([`fido_devices`]), and keys are opened by path;
//! - it does not keep the raw attestation object: it is rebuilt from its parts
//!   ([`super::attestation_object`]); its built-in verifier is never used.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ctap_hid_fido2::fidokey::get_info::InfoOption;
use ctap_hid_fido2::fidokey::{GetAssertionArgsBuilder, MakeCredentialArgsBuilder};
use ctap_hid_fido2::public_key_credential_user_entity::PublicKeyCredentialUserEntity;
use ctap_hid_fido2::{FidoKeyHid, HidParam, LibCfg};

use super::{
    Assertion, AttStmt, Authenticator, DeviceError, DeviceInfo, GetAssertion, MakeCredential,
    PinState, Registration,
};

/// HID usage page of FIDO authenticators (CTAP §11.2.8.1).
pub const FIDO_USAGE_PAGE: u16 = 0xF1D0;
/// HID usage of the CTAPHID interface on that page.
pub const FIDO_USAGE: u16 = 0x01;
/// How long a key may take to answer a command that needs no touch.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a touch (CTAP keys give up after about 30 s themselves).
pub const TOUCH_TIMEOUT: Duration = Duration::from_secs(35);

/// One HID interface as enumeration reports it (what [`fido_devices`] filters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HidDescriptor {
    /// Device path (`/dev/hidraw3`).
    pub path: String,
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// HID usage page of this interface.
    pub usage_page: u16,
    /// HID usage of this interface.
    pub usage: u16,
    /// USB manufacturer string.
    pub manufacturer: Option<String>,
    /// USB product string.
    pub product: Option<String>,
}

impl HidDescriptor {
    /// One line naming the key, for lists and errors.
    pub fn label(&self) -> String {
        format!(
            "hid:{}  {:04x}:{:04x}  {} {}",
            self.path,
            self.vendor_id,
            self.product_id,
            self.manufacturer.as_deref().unwrap_or("?"),
            self.product.as_deref().unwrap_or("?"),
        )
    }

    /// What a key says about itself before anyone has asked it (USB descriptors only).
    fn base_info(&self) -> DeviceInfo {
        DeviceInfo {
            path: self.path.clone(),
            vendor_id: Some(self.vendor_id),
            product_id: Some(self.product_id),
            manufacturer: self.manufacturer.clone(),
            product: self.product.clone(),
            ..DeviceInfo::default()
        }
    }
}

/// The FIDO interfaces among enumerated HID interfaces: usage page 0xF1D0, usage 0x01, one per
/// path, sorted by path so the order is stable between runs.
pub fn fido_devices(all: &[HidDescriptor]) -> Vec<HidDescriptor> {
    let mut out: Vec<HidDescriptor> = all
        .iter()
        .filter(|d| d.usage_page == FIDO_USAGE_PAGE && d.usage == FIDO_USAGE)
        .cloned()
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

/// Every HID interface on the machine (none on a machine without USB is not an error).
pub fn enumerate() -> Result<Vec<HidDescriptor>, DeviceError> {
    let api = hidapi::HidApi::new().map_err(|e| DeviceError::Hid(format!("hidapi: {e}")))?;
    Ok(api
        .device_list()
        .map(|d| HidDescriptor {
            path: d.path().to_string_lossy().into_owned(),
            vendor_id: d.vendor_id(),
            product_id: d.product_id(),
            usage_page: d.usage_page(),
            usage: d.usage(),
            manufacturer: d.manufacturer_string().map(str::to_string),
            product: d.product_string().map(str::to_string),
        })
        .collect())
}

/// Every plugged-in FIDO key with its details; a key that cannot be asked keeps its USB
/// descriptors and says why in [`DeviceInfo::error`].
pub fn list_all() -> Result<Vec<DeviceInfo>, DeviceError> {
    let keys = fido_devices(&enumerate()?);
    Ok(keys
        .iter()
        .map(
            |d| match HidAuthenticator::open_descriptor(d.clone()).and_then(|mut k| k.info()) {
                Ok(info) => info,
                Err(e) => DeviceInfo {
                    error: Some(e.to_string()),
                    ..d.base_info()
                },
            },
        )
        .collect())
}

/// Runs `f` on a worker thread and waits at most `limit` for it.
///
/// On timeout the worker is abandoned (a blocked HID read cannot be interrupted); the caller
/// must not use whatever the worker holds again.
pub fn with_timeout<T, F>(limit: Duration, waiting_for_touch: bool, f: F) -> Result<T, DeviceError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("rootkey-hid".into())
        .spawn(move || {
            // The receiver may have given up; nothing to do then.
            let _ = tx.send(f());
        })
        .map_err(|e| DeviceError::Hid(format!("cannot start the HID worker thread: {e}")))?;
    rx.recv_timeout(limit).map_err(|e| match e {
        mpsc::RecvTimeoutError::Timeout => DeviceError::Timeout {
            secs: limit.as_secs().max(1),
            waiting_for_touch,
        },
        mpsc::RecvTimeoutError::Disconnected => {
            DeviceError::Hid("the HID worker thread died (the HID library panicked)".into())
        }
    })
}

/// Runs `f` on a worker thread ([`with_timeout`]) with fd 1 pointed at stderr.
///
/// A worker abandoned after a timeout is still inside the library: when the key answers late
/// it may go on and print, after fd 1 is back on stdout, into the middle of `--json` output.
/// The library prints through Rust's stdout, which sits behind a reentrant lock: on a timeout
/// the calling thread takes that lock, before fd 1 is restored, and never gives it back. That
/// thread (the one that prints rootkey's output) keeps printing; every other thread, the
/// abandoned worker included, blocks for good on its first print. rootkey prints its output
/// from the thread that drives the keys, so nothing else is held up.
pub fn quiet_call<T, F>(limit: Duration, waiting_for_touch: bool, f: F) -> Result<T, DeviceError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _quiet = StdoutToStderr::new();
    let result = with_timeout(limit, waiting_for_touch, f);
    if matches!(result, Err(DeviceError::Timeout { .. })) {
        std::mem::forget(std::io::stdout().lock());
    }
    result
}

/// Points fd 1 at stderr while it lives, so a library that prints cannot corrupt `--json`.
pub struct StdoutToStderr {
    saved: libc::c_int,
}

static REDIRECT: Mutex<()> = Mutex::new(());

impl StdoutToStderr {
    /// Starts redirecting; None if the descriptors could not be duplicated (then nothing changed).
    pub fn new() -> Option<StdoutToStderr> {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _lock = REDIRECT.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: dup/dup2/close on the process's standard descriptors; no memory is involved.
        unsafe {
            let saved = libc::dup(1);
            if saved < 0 {
                return None;
            }
            if libc::dup2(2, 1) < 0 {
                libc::close(saved);
                return None;
            }
            Some(StdoutToStderr { saved })
        }
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        use std::io::Write;
        // Anything the library left in Rust's stdout buffer belongs on stderr too.
        let _ = std::io::stdout().flush();
        let _lock = REDIRECT.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: restores the descriptor saved in `new`, then closes the copy.
        unsafe {
            libc::dup2(self.saved, 1);
            libc::close(self.saved);
        }
    }
}

/// Maps an error from opening a hidraw node (an OS error) to what the user must do.
pub fn classify_open_error(path: &str, err: &std::io::Error) -> DeviceError {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::PermissionDenied => DeviceError::PermissionDenied { path: path.into() },
        ErrorKind::NotFound => DeviceError::NotFound { path: path.into() },
        ErrorKind::TimedOut | ErrorKind::WouldBlock => DeviceError::Timeout {
            secs: ANSWER_TIMEOUT.as_secs(),
            waiting_for_touch: false,
        },
        _ => match err.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => DeviceError::NotFound { path: path.into() },
            Some(libc::EBUSY) => DeviceError::Hid(format!(
                "{path} is busy: another program (a browser?) has the key open"
            )),
            _ => DeviceError::Hid(format!("cannot open {path}: {err}")),
        },
    }
}

/// Maps hidapi's textual open errors (it keeps no error code) the same way.
pub fn classify_hidapi_message(path: &str, msg: &str) -> DeviceError {
    let m = msg.to_ascii_lowercase();
    if m.contains("permission denied") || m.contains("access denied") {
        DeviceError::PermissionDenied { path: path.into() }
    } else if m.contains("no such file") || m.contains("no such device") || m.contains("not found")
    {
        DeviceError::NotFound { path: path.into() }
    } else if m.contains("timed out") || m.contains("timeout") {
        DeviceError::Timeout {
            secs: ANSWER_TIMEOUT.as_secs(),
            waiting_for_touch: false,
        }
    } else {
        DeviceError::Hid(format!("cannot open {path}: {msg}"))
    }
}

/// Name of a CTAP status code (CTAP 2.1 §8.2), for messages.
pub fn ctap_status_name(code: u8) -> &'static str {
    match code {
        0x01 => "CTAP1_ERR_INVALID_COMMAND",
        0x02 => "CTAP1_ERR_INVALID_PARAMETER",
        0x03 => "CTAP1_ERR_INVALID_LENGTH",
        0x04 => "CTAP1_ERR_INVALID_SEQ",
        0x05 => "CTAP1_ERR_TIMEOUT",
        0x06 => "CTAP1_ERR_CHANNEL_BUSY",
        0x0A => "CTAP1_ERR_LOCK_REQUIRED",
        0x0B => "CTAP1_ERR_INVALID_CHANNEL",
        0x11 => "CTAP2_ERR_CBOR_UNEXPECTED_TYPE",
        0x12 => "CTAP2_ERR_INVALID_CBOR",
        0x14 => "CTAP2_ERR_MISSING_PARAMETER",
        0x15 => "CTAP2_ERR_LIMIT_EXCEEDED",
        0x19 => "CTAP2_ERR_CREDENTIAL_EXCLUDED",
        0x21 => "CTAP2_ERR_PROCESSING",
        0x22 => "CTAP2_ERR_INVALID_CREDENTIAL",
        0x23 => "CTAP2_ERR_USER_ACTION_PENDING",
        0x24 => "CTAP2_ERR_OPERATION_PENDING",
        0x25 => "CTAP2_ERR_NO_OPERATIONS",
        0x26 => "CTAP2_ERR_UNSUPPORTED_ALGORITHM",
        0x27 => "CTAP2_ERR_OPERATION_DENIED",
        0x28 => "CTAP2_ERR_KEY_STORE_FULL",
        0x2B => "CTAP2_ERR_UNSUPPORTED_OPTION",
        0x2C => "CTAP2_ERR_INVALID_OPTION",
        0x2D => "CTAP2_ERR_KEEPALIVE_CANCEL",
        0x2E => "CTAP2_ERR_NO_CREDENTIALS",
        0x2F => "CTAP2_ERR_USER_ACTION_TIMEOUT",
        0x30 => "CTAP2_ERR_NOT_ALLOWED",
        0x31 => "CTAP2_ERR_PIN_INVALID",
        0x32 => "CTAP2_ERR_PIN_BLOCKED",
        0x33 => "CTAP2_ERR_PIN_AUTH_INVALID",
        0x34 => "CTAP2_ERR_PIN_AUTH_BLOCKED",
        0x35 => "CTAP2_ERR_PIN_NOT_SET",
        0x36 => "CTAP2_ERR_PUAT_REQUIRED",
        0x37 => "CTAP2_ERR_PIN_POLICY_VIOLATION",
        0x39 => "CTAP2_ERR_REQUEST_TOO_LARGE",
        0x3A => "CTAP2_ERR_ACTION_TIMEOUT",
        0x3B => "CTAP2_ERR_UP_REQUIRED",
        0x3C => "CTAP2_ERR_UV_BLOCKED",
        0x3F => "CTAP2_ERR_UV_INVALID",
        0x7F => "CTAP1_ERR_OTHER",
        _ => "unknown CTAP status",
    }
}

/// Maps a CTAP status code to what the user must do.
pub fn map_ctap_status(code: u8, rp_id: &str) -> DeviceError {
    match code {
        // The key's own timeout, not rootkey's: how long it waited is the key's business.
        0x05 | 0x2F | 0x3A => DeviceError::Timeout {
            secs: 0,
            waiting_for_touch: true,
        },
        0x06 => DeviceError::Hid(
            "the key is busy with another program's request (a browser, another rootkey waiting for a touch): finish that first, then try again".into(),
        ),
        0x27 | 0x2D => DeviceError::OperationDenied,
        0x2E | 0x22 => DeviceError::NoCredentials {
            rp_id: rp_id.into(),
        },
        0x31 | 0x33 => DeviceError::PinInvalid { retries: None },
        0x32 => DeviceError::PinBlocked,
        // PIN_AUTH_BLOCKED is not a lock-out: a power cycle clears it (CTAP 2.1 §6.5.5.5).
        0x34 => DeviceError::PinAuthBlocked,
        0x35 => DeviceError::PinNotSet,
        0x36 => DeviceError::PinRequired,
        0x37 => DeviceError::PinPolicy("the key's PIN policy refused it".into()),
        _ => DeviceError::Ctap {
            code,
            name: ctap_status_name(code),
        },
    }
}

/// Maps an error message from ctap-hid-fido2 (it has no typed errors; CTAP failures read
/// `response_status err = 0x31 CTAP2_ERR_PIN_INVALID ...`).
pub fn map_ctap_error(msg: &str, rp_id: &str) -> DeviceError {
    if msg.contains("read err") {
        return DeviceError::Hid("reading from the key failed: was it unplugged?".into());
    }
    if let Some(pos) = msg.find("response_status err = 0x") {
        let hex = msg.get(pos + 24..pos + 26).unwrap_or("");
        if let Ok(code) = u8::from_str_radix(hex, 16) {
            return map_ctap_status(code, rp_id);
        }
    }
    DeviceError::Hid(msg.to_string())
}

/// Firmware version as people know it: Yubico packs major.minor.patch into one integer
/// (0x050701 = 5.7.1); other vendors' numbers are shown as they are.
pub fn format_firmware(vendor_id: Option<u16>, raw: u32) -> Option<String> {
    if raw == 0 {
        return None;
    }
    if vendor_id == Some(0x1050) {
        return Some(format!(
            "{}.{}.{}",
            raw >> 16,
            (raw >> 8) & 0xff,
            raw & 0xff
        ));
    }
    Some(raw.to_string())
}

/// hidraw ioctl request numbers (linux/hidraw.h): `_IOR('H', nr, size)`.
const fn hidioc_read(nr: u32, size: u32) -> u32 {
    (2 << 30) | (size << 16) | ((b'H' as u32) << 8) | nr
}
const HID_MAX_DESCRIPTOR_SIZE: usize = 4096;
const HIDIOCGRDESCSIZE: u32 = hidioc_read(0x01, 4);
const HIDIOCGRDESC: u32 = hidioc_read(0x02, 4 + HID_MAX_DESCRIPTOR_SIZE as u32);
const HIDIOCGRAWINFO: u32 = hidioc_read(0x03, 8);
const fn hidiocgrawname(len: u32) -> u32 {
    hidioc_read(0x04, len)
}

#[repr(C)]
struct HidrawReportDescriptor {
    size: u32,
    value: [u8; HID_MAX_DESCRIPTOR_SIZE],
}

#[repr(C)]
#[derive(Default)]
struct HidrawDevinfo {
    bustype: u32,
    vendor: i16,
    product: i16,
}

/// Describes an open hidraw node from its own ioctls (report descriptor, ids, name): what
/// enumeration would have said, for a node enumeration does not see. None if the node does not
/// answer as hidraw does.
fn probe_hidraw(file: &std::fs::File, path: &str) -> Option<HidDescriptor> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut size: libc::c_int = 0;
    // SAFETY: each ioctl writes at most the size encoded in its request into the buffer given,
    // which is that size.
    unsafe {
        if libc::ioctl(fd, HIDIOCGRDESCSIZE as _, &mut size) < 0 {
            return None;
        }
        let mut desc = Box::new(HidrawReportDescriptor {
            size: u32::try_from(size)
                .ok()?
                .min(HID_MAX_DESCRIPTOR_SIZE as u32),
            value: [0; HID_MAX_DESCRIPTOR_SIZE],
        });
        if libc::ioctl(fd, HIDIOCGRDESC as _, &mut *desc) < 0 {
            return None;
        }
        let (usage_page, usage) = descriptor_usage(&desc.value[..desc.size as usize])?;
        let mut info = HidrawDevinfo::default();
        if libc::ioctl(fd, HIDIOCGRAWINFO as _, &mut info) < 0 {
            return None;
        }
        let mut name = [0u8; 256];
        let n = libc::ioctl(
            fd,
            hidiocgrawname(name.len() as u32) as _,
            name.as_mut_ptr(),
        );
        let product = (n > 0).then(|| {
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            String::from_utf8_lossy(&name[..end]).into_owned()
        });
        Some(HidDescriptor {
            path: path.to_string(),
            vendor_id: info.vendor as u16,
            product_id: info.product as u16,
            usage_page,
            usage,
            manufacturer: None,
            product,
        })
    }
}

/// The usage page and usage of a report descriptor's first top-level collection (HID 1.11
/// §6.2.2): the items hidapi reports as a device's usage page and usage.
pub fn descriptor_usage(desc: &[u8]) -> Option<(u16, u16)> {
    let mut page = None;
    let mut usage = None;
    let mut i = 0;
    while i < desc.len() {
        let prefix = desc[i];
        if prefix == 0xFE {
            // Long item: size in the next byte, skipped.
            i += 3 + usize::from(*desc.get(i + 1)?);
            continue;
        }
        let size = match prefix & 0x03 {
            3 => 4,
            n => usize::from(n),
        };
        let data = desc.get(i + 1..i + 1 + size)?;
        let value = data
            .iter()
            .rev()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        match prefix & 0xFC {
            0x04 => page = Some(value as u16), // Usage Page
            0x08 if usage.is_none() => usage = Some(value as u16), // Usage
            0xA0 => return Some((page?, usage?)), // Collection
            _ => {}
        }
        i += 1 + size;
    }
    None
}

/// A USB FIDO key opened by path.
pub struct HidAuthenticator {
    desc: HidDescriptor,
    key: Arc<FidoKeyHid>,
    stuck: bool,
}

impl HidAuthenticator {
    /// Opens the one FIDO key plugged in.
    pub fn open_default() -> Result<HidAuthenticator, DeviceError> {
        let keys = fido_devices(&enumerate()?);
        match keys.len() {
            0 => Err(DeviceError::NoDevice),
            1 => Self::open_descriptor(keys[0].clone()),
            _ => Err(DeviceError::MultipleDevices {
                keys: keys.iter().map(HidDescriptor::label).collect(),
            }),
        }
    }

    /// Opens the FIDO key at `path` (a hidraw node).
    pub fn open_path(path: &str) -> Result<HidAuthenticator, DeviceError> {
        let all = enumerate()?;
        if let Some(d) = fido_devices(&all).into_iter().find(|d| d.path == path) {
            return Self::open_descriptor(d);
        }
        if all.iter().any(|d| d.path == path) {
            return Err(DeviceError::NotFido { path: path.into() });
        }
        // Not enumerated (no udev in a container, a node bind-mounted elsewhere, a virtual
        // node): ask the node itself with hidraw ioctls, and say why (missing node,
        // permissions) when opening it fails.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| classify_open_error(path, &e))?;
        match probe_hidraw(&file, path) {
            Some(d) if d.usage_page == FIDO_USAGE_PAGE && d.usage == FIDO_USAGE => {
                drop(file);
                Self::open_descriptor(d)
            }
            _ => Err(DeviceError::NotFido { path: path.into() }),
        }
    }

    fn open_descriptor(desc: HidDescriptor) -> Result<HidAuthenticator, DeviceError> {
        // hidapi reports open failures as text only; opening the node ourselves first gives the
        // OS error, which tells permission problems (udev rules) from vanished devices.
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&desc.path)
            .map_err(|e| classify_open_error(&desc.path, &e))?;
        let cfg = LibCfg::init()
            .with_enable_log(false)
            .with_keep_alive_msg_to_stderr(true);
        let param = HidParam::Path(desc.path.clone());
        let path = desc.path.clone();
        let key = quiet_call(ANSWER_TIMEOUT, false, move || {
            FidoKeyHid::new(&[param], &cfg).map_err(|e| e.to_string())
        })?
        .map_err(|m| classify_hidapi_message(&path, &m))?;
        Ok(HidAuthenticator {
            desc,
            key: Arc::new(key),
            stuck: false,
        })
    }

    /// Runs one library call on the key with a bound, stdout redirected.
    fn call<T, F>(
        &mut self,
        limit: Duration,
        touch: bool,
        rp_id: &str,
        f: F,
    ) -> Result<T, DeviceError>
    where
        T: Send + 'static,
        F: FnOnce(&FidoKeyHid) -> Result<T, String> + Send + 'static,
    {
        if self.stuck {
            return Err(DeviceError::Timeout {
                secs: limit.as_secs(),
                waiting_for_touch: false,
            });
        }
        let key = Arc::clone(&self.key);
        let result = quiet_call(limit, touch, move || f(&key));
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(msg)) => Err(self.with_retries(map_ctap_error(&msg, rp_id))),
            Err(e) => {
                // The worker still holds the device; later calls would queue behind it.
                if matches!(e, DeviceError::Timeout { .. }) {
                    self.stuck = true;
                }
                Err(e)
            }
        }
    }
}

impl HidAuthenticator {
    /// A wrong PIN says how many tries are left, as the key counts them (getPINRetries): the
    /// error from the key itself carries no count.
    fn with_retries(&mut self, e: DeviceError) -> DeviceError {
        if !matches!(e, DeviceError::PinInvalid { retries: None }) {
            return e;
        }
        let key = Arc::clone(&self.key);
        let retries = quiet_call(ANSWER_TIMEOUT, false, move || key.get_pin_retries().ok());
        match retries {
            Ok(n) => DeviceError::PinInvalid {
                retries: n.and_then(|n| u32::try_from(n).ok()),
            },
            Err(timeout) => {
                self.stuck = true;
                timeout
            }
        }
    }
}

impl Authenticator for HidAuthenticator {
    fn info(&mut self) -> Result<DeviceInfo, DeviceError> {
        let info = self.call(ANSWER_TIMEOUT, false, "", |k| {
            k.get_info().map_err(|e| format!("{e:#}"))
        })?;
        let option = |name: &str| {
            info.options
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| *v)
        };
        let aaguid: Option<[u8; 16]> = info.aaguid.as_slice().try_into().ok();
        let mut out = self.desc.base_info();
        out.aaguid = aaguid;
        out.model = aaguid
            .as_ref()
            .and_then(super::model_name)
            .map(str::to_string);
        out.firmware_version = format_firmware(out.vendor_id, info.firmware_version);
        out.versions = info.versions.clone();
        out.pin_set = option("clientPin");
        out.uv = option("uv");
        out.attestation_formats = info.attestation_formats.clone();
        // A key that calls itself rootkey's software authenticator is taken at its word (the
        // virtual HID key does): claiming software can only make it less trusted.
        out.is_software = aaguid == Some(crate::webauthn::models::SOFT_AAGUID);
        Ok(out)
    }

    fn make_credential(&mut self, req: &MakeCredential) -> Result<Registration, DeviceError> {
        let req = req.clone();
        let rp_id = req.rp_id.clone();
        let att = self.call(TOUCH_TIMEOUT, true, &rp_id, move |k| {
            let user = PublicKeyCredentialUserEntity::new(
                Some(&req.user_id),
                Some(&req.user_name),
                Some(&req.user_name),
            );
            // The library hashes what it is given as "challenge" into the clientDataHash.
            let mut b =
                MakeCredentialArgsBuilder::new(&req.rp_id, &req.client_data).user_entity(&user);
            b = match req.pin.as_deref() {
                Some(pin) => b.pin(pin),
                None => b.without_pin_and_uv(),
            };
            k.make_credential_with_args(&b.build())
                .map_err(|e| format!("{e:#}"))
        })?;
        let stmt = match att.fmt.as_str() {
            "packed" => AttStmt::Packed {
                alg: i64::from(att.attstmt_alg),
                sig: att.attstmt_sig,
                x5c: att.attstmt_x5c,
            },
            "fido-u2f" => AttStmt::FidoU2f {
                sig: att.attstmt_sig,
                x5c: att.attstmt_x5c,
            },
            "none" => AttStmt::None,
            other => return Err(DeviceError::UnsupportedAttestation(other.to_string())),
        };
        super::registration(&stmt, att.auth_data)
    }

    fn get_assertion(&mut self, req: &GetAssertion) -> Result<Assertion, DeviceError> {
        if req.allow_credentials.is_empty() {
            return Err(DeviceError::NoCredentials {
                rp_id: req.rp_id.clone(),
            });
        }
        let req = req.clone();
        let rp_id = req.rp_id.clone();
        let mut got = self.call(TOUCH_TIMEOUT, true, &rp_id, move |k| {
            let mut b = GetAssertionArgsBuilder::new(&req.rp_id, &req.client_data);
            for id in &req.allow_credentials {
                b = b.add_credential_id(id);
            }
            b = match req.pin.as_deref() {
                Some(pin) => b.pin(pin),
                None => b.without_pin_and_uv(),
            };
            if !req.user_presence {
                b = b.without_up();
            }
            k.get_assertion_with_args(&b.build())
                .map_err(|e| format!("{e:#}"))
        })?;
        if got.is_empty() {
            return Err(DeviceError::Malformed("no assertion in the answer".into()));
        }
        let a = got.swap_remove(0);
        Ok(Assertion {
            credential_id: a.credential_id,
            authenticator_data: a.auth_data,
            signature: a.signature,
            user_handle: Some(a.user.id).filter(|u| !u.is_empty()),
        })
    }

    fn pin_state(&mut self) -> Result<PinState, DeviceError> {
        let (pin_set, uv) = self.call(ANSWER_TIMEOUT, false, "", |k| {
            let pin = k
                .enable_info_option(&InfoOption::ClientPin)
                .map_err(|e| format!("{e:#}"))?;
            let uv = k
                .enable_info_option(&InfoOption::Uv)
                .map_err(|e| format!("{e:#}"))?;
            Ok((pin, uv))
        })?;
        let pin_retries = if pin_set == Some(true) {
            let n = self.call(ANSWER_TIMEOUT, false, "", |k| {
                k.get_pin_retries().map_err(|e| format!("{e:#}"))
            })?;
            u32::try_from(n).ok()
        } else {
            None
        };
        Ok(PinState {
            pin_set,
            pin_retries,
            uv,
        })
    }

    fn set_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeviceError> {
        super::check_new_pin(new)?;
        let current = current.map(str::to_string);
        let new = new.to_string();
        self.call(ANSWER_TIMEOUT * 2, false, "", move |k| {
            match current.as_deref() {
                Some(cur) => k.change_pin(cur, &new),
                None => k.set_new_pin(&new),
            }
            .map_err(|e| format!("{e:#}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn desc(path: &str, page: u16, usage: u16) -> HidDescriptor {
        HidDescriptor {
            path: path.into(),
            vendor_id: 0x1050,
            product_id: 0x0407,
            usage_page: page,
            usage,
            manufacturer: Some("Yubico".into()),
            product: Some("YubiKey OTP+FIDO+CCID".into()),
        }
    }

    #[test]
    fn only_fido_interfaces_are_kept_once_each_in_path_order() {
        let all = vec![
            desc("/dev/hidraw5", FIDO_USAGE_PAGE, FIDO_USAGE),
            desc("/dev/hidraw1", 0x0001, 0x06), // the same YubiKey's keyboard (OTP) interface
            desc("/dev/hidraw2", FIDO_USAGE_PAGE, FIDO_USAGE),
            desc("/dev/hidraw2", FIDO_USAGE_PAGE, FIDO_USAGE), // reported twice
            desc("/dev/hidraw3", FIDO_USAGE_PAGE, 0x02),       // FIDO page, other usage
            desc("/dev/hidraw4", 0xFF00, 0x01),                // vendor page
        ];
        let keys = fido_devices(&all);
        let paths: Vec<_> = keys.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/dev/hidraw2", "/dev/hidraw5"]);
        assert!(fido_devices(&[]).is_empty());
    }

    #[test]
    fn several_keys_are_listed_in_the_error() {
        let e = DeviceError::MultipleDevices {
            keys: vec![
                desc("/dev/hidraw2", 0, 0).label(),
                desc("/dev/hidraw5", 0, 0).label(),
            ],
        };
        let m = e.to_string();
        assert!(
            m.contains("hid:/dev/hidraw2") && m.contains("hid:/dev/hidraw5"),
            "{m}"
        );
        assert!(m.contains("--device hid:PATH"), "{m}");
    }

    #[test]
    fn open_errors_map_to_actions() {
        let p = "/dev/hidraw0";
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(
            classify_open_error(p, &denied),
            DeviceError::PermissionDenied { .. }
        ));
        let gone = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert!(matches!(
            classify_open_error(p, &gone),
            DeviceError::NotFound { .. }
        ));
        let nodev = std::io::Error::from_raw_os_error(libc::ENODEV);
        assert!(matches!(
            classify_open_error(p, &nodev),
            DeviceError::NotFound { .. }
        ));
        let slow = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(matches!(
            classify_open_error(p, &slow),
            DeviceError::Timeout { .. }
        ));
        let busy = std::io::Error::from_raw_os_error(libc::EBUSY);
        assert!(classify_open_error(p, &busy).to_string().contains("busy"));
    }

    #[test]
    fn a_real_permission_failure_is_classified() {
        // A file we cannot open for writing gives the OS's own EACCES (unless we are root, who
        // may open anything; then there is nothing to provoke).
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hidraw9");
        std::fs::write(&f, b"").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o400)).unwrap();
        let r = std::fs::OpenOptions::new().read(true).write(true).open(&f);
        if let Err(e) = r {
            let mapped = classify_open_error(f.to_str().unwrap(), &e);
            assert!(matches!(mapped, DeviceError::PermissionDenied { .. }));
        }
        let e = std::fs::File::open(dir.path().join("absent")).unwrap_err();
        assert!(matches!(
            classify_open_error("x", &e),
            DeviceError::NotFound { .. }
        ));
    }

    #[test]
    fn hidapi_messages_map_to_actions() {
        let p = "/dev/hidraw0";
        let m = |s| classify_hidapi_message(p, s);
        assert!(matches!(
            m("hidapi error: Failed to open a device with path '/dev/hidraw0': Permission denied"),
            DeviceError::PermissionDenied { .. }
        ));
        assert!(matches!(
            m("hidapi error: No such file or directory"),
            DeviceError::NotFound { .. }
        ));
        assert!(matches!(
            m("Connection timed out"),
            DeviceError::Timeout { .. }
        ));
        assert!(matches!(m("Failed to open device."), DeviceError::Hid(_)));
    }

    #[test]
    fn ctap_errors_map_to_actions() {
        let m = |s: &str| map_ctap_error(s, "rootkey.custody");
        assert!(matches!(
            m("response_status err = 0x31 CTAP2_ERR_PIN_INVALID   PIN Invalid."),
            DeviceError::PinInvalid { .. }
        ));
        assert!(matches!(
            m("response_status err = 0x32 x"),
            DeviceError::PinBlocked
        ));
        assert!(matches!(
            m("response_status err = 0x34 x"),
            DeviceError::PinAuthBlocked
        ));
        assert!(matches!(
            m("response_status err = 0x36 x"),
            DeviceError::PinRequired
        ));
        assert!(matches!(
            m("response_status err = 0x35 x"),
            DeviceError::PinNotSet
        ));
        assert!(matches!(
            m("response_status err = 0x2E CTAP2_ERR_NO_CREDENTIALS"),
            DeviceError::NoCredentials { .. }
        ));
        assert!(matches!(
            m("response_status err = 0x2F x"),
            DeviceError::Timeout {
                waiting_for_touch: true,
                ..
            }
        ));
        let key_gave_up = m("response_status err = 0x2F x").to_string();
        assert!(
            key_gave_up.contains("the key gave up waiting for a touch"),
            "{key_gave_up}"
        );
        assert!(matches!(
            m("response_status err = 0x27 x"),
            DeviceError::OperationDenied
        ));
        match m("response_status err = 0x26 x") {
            DeviceError::Ctap { code, name } => {
                assert_eq!(code, 0x26);
                assert_eq!(name, "CTAP2_ERR_UNSUPPORTED_ALGORITHM");
            }
            other => panic!("{other:?}"),
        }
        assert!(m("response_status err = 0x06 x")
            .to_string()
            .contains("busy with another program"));
        assert!(matches!(m("read err = 0xFE"), DeviceError::Hid(_)));
        assert!(matches!(m("something else"), DeviceError::Hid(_)));
        assert!(matches!(m("response_status err = 0x"), DeviceError::Hid(_)));
    }

    #[test]
    fn timeout_wrapper_bounds_a_blocking_call() {
        let start = Instant::now();
        // A call that never returns, as a silent key's read does.
        let r = with_timeout(Duration::from_millis(100), true, || loop {
            std::thread::park();
        });
        let waited = start.elapsed();
        match r {
            Err(
                e @ DeviceError::Timeout {
                    waiting_for_touch: true,
                    ..
                },
            ) => {
                assert!(e.to_string().contains("touch your key"), "{e}");
            }
            other => panic!("{:?}", other.map(|_: ()| ())),
        }
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_secs(5));
        let e = with_timeout(Duration::from_millis(50), false, || loop {
            std::thread::park();
        })
        .map(|_: ()| ())
        .unwrap_err();
        assert!(e.to_string().contains("not responding"), "{e}");
    }

    #[test]
    fn timeout_wrapper_returns_a_prompt_answer_and_reports_a_panic() {
        assert_eq!(
            with_timeout(Duration::from_secs(5), false, || 42).unwrap(),
            42
        );
        let r = with_timeout(Duration::from_secs(5), false, || -> u8 {
            panic!("library bug")
        });
        assert!(matches!(r, Err(DeviceError::Hid(_))));
    }

    #[test]
    fn stdout_redirect_points_fd1_at_stderr_and_restores_it() {
        fn ino(fd: libc::c_int) -> (u64, u64) {
            // SAFETY: fstat into a zeroed stat buffer.
            unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                assert_eq!(libc::fstat(fd, &mut st), 0);
                (st.st_dev as u64, st.st_ino as u64)
            }
        }
        let before = ino(1);
        {
            let _g = StdoutToStderr::new().expect("dup works");
            assert_eq!(ino(1), ino(2));
        }
        assert_eq!(ino(1), before);
    }

    /// The child half of [`an_abandoned_worker_never_prints_to_stdout`]: a "library call" that
    /// times out, then prints to stdout (as ctap-hid-fido2 does) once the key answers late,
    /// while the caller prints its own output. Writes through `std::io::stdout()`, which the
    /// test harness does not capture, so the parent sees fd 1 as rootkey would.
    #[test]
    fn abandoned_worker_child() {
        use std::io::Write;
        if std::env::var_os("ROOTKEY_TEST_ABANDONED_WORKER").is_none() {
            return;
        }
        let r = quiet_call(Duration::from_millis(100), true, || {
            std::thread::sleep(Duration::from_millis(300));
            let _ = writeln!(std::io::stdout(), "LIBRARY NOISE");
            let _ = std::io::stdout().flush();
        });
        assert!(matches!(r, Err(DeviceError::Timeout { .. })));
        let mut out = std::io::stdout();
        writeln!(out, "{{\"json\": true}}").unwrap();
        out.flush().unwrap();
        // Long enough for the worker to have printed, were it able to.
        std::thread::sleep(Duration::from_millis(800));
        writeln!(out, "{{\"still\": \"mine\"}}").unwrap();
        out.flush().unwrap();
        // The harness would wait on stdout to report: leave without it.
        std::process::exit(0);
    }

    #[test]
    fn an_abandoned_worker_never_prints_to_stdout() {
        let o = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "device::hid::tests::abandoned_worker_child",
                "--nocapture",
            ])
            .env("ROOTKEY_TEST_ABANDONED_WORKER", "1")
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("{\"json\": true}\n{\"still\": \"mine\"}\n"),
            "{out}"
        );
        assert!(!out.contains("LIBRARY NOISE"), "{out}");
    }

    #[test]
    fn report_descriptor_usage() {
        // A FIDO interface (CTAP 2.1 §11.2.8.1) and a boot keyboard.
        let fido = [
            0x06, 0xD0, 0xF1, 0x09, 0x01, 0xA1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xFF, 0x00,
            0x75, 0x08, 0x95, 0x40, 0x81, 0x02, 0xC0,
        ];
        assert_eq!(descriptor_usage(&fido), Some((FIDO_USAGE_PAGE, FIDO_USAGE)));
        let keyboard = [0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0xC0];
        assert_eq!(descriptor_usage(&keyboard), Some((0x0001, 0x06)));
        assert_eq!(descriptor_usage(&[]), None);
        assert_eq!(descriptor_usage(&[0x06, 0xD0]), None); // truncated item
        assert_eq!(descriptor_usage(&[0xA1, 0x01]), None); // collection without usage
    }

    #[test]
    fn hidraw_request_numbers_match_linux() {
        assert_eq!(HIDIOCGRDESCSIZE, 0x8004_4801);
        assert_eq!(HIDIOCGRDESC, 0x9004_4802);
        assert_eq!(HIDIOCGRAWINFO, 0x8008_4803);
        assert_eq!(hidiocgrawname(256), 0x8100_4804);
    }

    #[test]
    fn firmware_versions() {
        assert_eq!(
            format_firmware(Some(0x1050), 0x050701).as_deref(),
            Some("5.7.1")
        );
        assert_eq!(
            format_firmware(Some(0x1050), 328707).as_deref(),
            Some("5.4.3")
        );
        assert_eq!(format_firmware(Some(0x20a0), 123).as_deref(), Some("123"));
        assert_eq!(format_firmware(Some(0x1050), 0), None);
    }

    #[test]
    fn enumeration_without_keys_is_empty_not_an_error() {
        // These machines have no USB: enumeration must still work and find no FIDO key.
        let all = enumerate().expect("hidapi enumerates");
        let _ = fido_devices(&all);
        assert!(matches!(
            HidAuthenticator::open_path("/nonexistent/hidraw99"),
            Err(DeviceError::NotFound { .. })
        ));
    }
}
