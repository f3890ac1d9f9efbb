//! rootkey-vkey: a virtual FIDO2 security key for tests (CTAPHID over a Unix seqpacket socket).
//!
//! It listens on `--socket PATH`; processes that load `libvhid_preload.so` with
//! `ROOTKEY_VHID_PREFIX` covering PATH open it as if it were a hidraw node (see
//! docs/virtual-key.md). Each connection is one open handle: 64-byte reports in, 64-byte reports
//! out, framed by CTAPHID (CTAP 2.1 §11.2), carrying CTAP2 (see `ctap2`). Test-only: the
//! attestation is the soft authenticator's (a software key, never trusted as hardware).
//!
//! Usage: rootkey-vkey --socket PATH --state-dir DIR [--no-touch] [--touch-timeout-ms N]
//!        [--touch-delay-ms N] [--no-touch-while FILE]

mod ctap2;
mod pin;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use ctap2::{status, Authenticator, Presence};

/// CTAPHID commands (§11.2.9).
const CMD_PING: u8 = 0x81;
const CMD_MSG: u8 = 0x83;
const CMD_LOCK: u8 = 0x84;
const CMD_INIT: u8 = 0x86;
const CMD_WINK: u8 = 0x88;
const CMD_CBOR: u8 = 0x90;
const CMD_CANCEL: u8 = 0x91;
const CMD_KEEPALIVE: u8 = 0xBB;
const CMD_ERROR: u8 = 0xBF;
/// CTAPHID error codes (§11.2.9.1.6).
const ERR_INVALID_CMD: u8 = 0x01;
const ERR_INVALID_LEN: u8 = 0x03;
const ERR_INVALID_SEQ: u8 = 0x04;
const ERR_MSG_TIMEOUT: u8 = 0x05;
const ERR_CHANNEL_BUSY: u8 = 0x06;
const ERR_INVALID_CHANNEL: u8 = 0x0B;
/// KEEPALIVE status (§11.2.9.2.1).
const KEEPALIVE_UPNEEDED: u8 = 0x02;
/// INIT capability flags: WINK | CBOR | NMSG (no CTAP1/U2F).
const CAPABILITIES: u8 = 0x01 | 0x04 | 0x08;
const BROADCAST: u32 = 0xFFFF_FFFF;
const REPORT: usize = 64;
const INIT_DATA: usize = REPORT - 7;
const CONT_DATA: usize = REPORT - 5;
/// Largest CTAPHID message: one initialization and 128 continuation packets.
const MAX_MESSAGE: usize = INIT_DATA + 128 * CONT_DATA;
/// How long a half-sent message may wait for its next packet before ERR_MSG_TIMEOUT.
const TRANSACTION_TIMEOUT: Duration = Duration::from_millis(3000);

#[derive(Clone)]
struct Options {
    /// Whether the "user" ever touches the key.
    touch: bool,
    /// How long the key waits for a touch before CTAP2_ERR_USER_ACTION_TIMEOUT.
    touch_timeout: Duration,
    /// How long a touch takes when it comes (keepalives are sent meanwhile).
    touch_delay: Duration,
    /// While this file exists the user does not touch (as `--no-touch`), checked per request.
    no_touch_while: Option<PathBuf>,
}

/// What every open handle shares: the channel counter and the one authenticator, which serves
/// one CTAP2 request at a time (others get CTAPHID_ERROR CHANNEL_BUSY meanwhile).
struct Shared {
    next_cid: AtomicU32,
    auth: Mutex<Authenticator>,
}

fn usage() -> ! {
    eprintln!(
        "usage: rootkey-vkey --socket PATH --state-dir DIR [--no-touch] [--touch-timeout-ms N] [--touch-delay-ms N] [--no-touch-while FILE]"
    );
    std::process::exit(2)
}

fn main() {
    let mut socket: Option<PathBuf> = None;
    let mut state_dir: Option<PathBuf> = None;
    let mut opts = Options {
        touch: true,
        touch_timeout: Duration::from_secs(30),
        touch_delay: Duration::ZERO,
        no_touch_while: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        let ms = |s: String| Duration::from_millis(s.parse().unwrap_or_else(|_| usage()));
        match a.as_str() {
            "--socket" => socket = Some(value().into()),
            "--state-dir" => state_dir = Some(value().into()),
            "--no-touch" => opts.touch = false,
            "--touch-timeout-ms" => opts.touch_timeout = ms(value()),
            "--touch-delay-ms" => opts.touch_delay = ms(value()),
            "--no-touch-while" => opts.no_touch_while = Some(value().into()),
            _ => usage(),
        }
    }
    let (Some(socket), Some(state_dir)) = (socket, state_dir) else {
        usage()
    };
    let ca = match rootkey::device::soft::SoftCa::load_or_create(&state_dir) {
        Ok(ca) => ca,
        Err(e) => {
            eprintln!("rootkey-vkey: {e}");
            std::process::exit(1)
        }
    };
    let listener = match listen(&socket) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rootkey-vkey: cannot listen on {}: {e}", socket.display());
            std::process::exit(1)
        }
    };
    let shared = Arc::new(Shared {
        next_cid: AtomicU32::new(1),
        auth: Mutex::new(Authenticator::new(ca)),
    });
    eprintln!("rootkey-vkey: listening on {}", socket.display());
    loop {
        // SAFETY: accept on a listening socket we own; the result is a new descriptor or -1.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            continue;
        }
        // SAFETY: accept4 returned a fresh descriptor that nothing else owns.
        let conn = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = Arc::clone(&shared);
        let opts = opts.clone();
        std::thread::spawn(move || serve(conn, &shared, &opts));
    }
}

fn listen(path: &std::path::Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: plain socket calls on a zeroed sockaddr_un whose path length is checked.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        if bytes.len() >= addr.sun_path.len() {
            return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        let _ = std::fs::remove_file(path);
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::bind(fd, std::ptr::addr_of!(addr).cast(), len) < 0 || libc::listen(fd, 16) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(owned)
    }
}

/// One packet from the host, without the report id hidraw writes carry; None when the handle
/// was closed; Some(empty) on timeout.
fn recv(fd: RawFd, timeout: Option<Duration>) -> Option<Vec<u8>> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    // SAFETY: poll on one pollfd we own.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n == 0 {
        return Some(Vec::new());
    }
    let mut buf = [0u8; REPORT + 1];
    // SAFETY: recv into a local buffer of the size given.
    let got = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if got <= 0 {
        return None;
    }
    let got = got as usize;
    // hidraw output reports are written as report id 0 + 64 bytes.
    let pkt = if got == REPORT + 1 {
        &buf[1..]
    } else {
        &buf[..got]
    };
    let mut out = pkt.to_vec();
    out.resize(REPORT, 0);
    Some(out)
}

fn send_packet(fd: RawFd, pkt: &[u8; REPORT]) -> bool {
    // SAFETY: send from a local buffer; MSG_NOSIGNAL keeps a closed peer from killing us.
    unsafe { libc::send(fd, pkt.as_ptr().cast(), REPORT, libc::MSG_NOSIGNAL) == REPORT as isize }
}

/// Sends one CTAPHID message as an initialization packet and continuation packets.
fn send_message(fd: RawFd, cid: u32, cmd: u8, data: &[u8]) -> bool {
    let mut pkt = [0u8; REPORT];
    pkt[..4].copy_from_slice(&cid.to_be_bytes());
    pkt[4] = cmd;
    pkt[5..7].copy_from_slice(&(data.len() as u16).to_be_bytes());
    let first = data.len().min(INIT_DATA);
    pkt[7..7 + first].copy_from_slice(&data[..first]);
    if !send_packet(fd, &pkt) {
        return false;
    }
    for (seq, chunk) in data[first..].chunks(CONT_DATA).enumerate() {
        let mut pkt = [0u8; REPORT];
        pkt[..4].copy_from_slice(&cid.to_be_bytes());
        pkt[4] = seq as u8;
        pkt[5..5 + chunk.len()].copy_from_slice(chunk);
        if !send_packet(fd, &pkt) {
            return false;
        }
    }
    true
}

fn send_error(fd: RawFd, cid: u32, code: u8) -> bool {
    send_message(fd, cid, CMD_ERROR, &[code])
}

/// A message being reassembled from its packets.
struct Pending {
    cid: u32,
    cmd: u8,
    len: usize,
    data: Vec<u8>,
    next_seq: u8,
}

/// Serves one open handle until the host closes it.
fn serve(conn: OwnedFd, shared: &Shared, opts: &Options) {
    let fd = conn.as_raw_fd();
    let mut pending: Option<Pending> = None;
    loop {
        let timeout = pending.as_ref().map(|_| TRANSACTION_TIMEOUT);
        let Some(pkt) = recv(fd, timeout) else { return };
        if pkt.is_empty() {
            if let Some(p) = pending.take() {
                send_error(fd, p.cid, ERR_MSG_TIMEOUT);
            }
            continue;
        }
        let cid = u32::from_be_bytes([pkt[0], pkt[1], pkt[2], pkt[3]]);
        if pkt[4] & 0x80 != 0 {
            let cmd = pkt[4];
            let len = usize::from(u16::from_be_bytes([pkt[5], pkt[6]]));
            if let Some(p) = &pending {
                if cmd != CMD_INIT {
                    // §11.2.5.1: another channel waits; the same channel restarted mid-message.
                    let code = if p.cid == cid {
                        pending = None;
                        ERR_INVALID_SEQ
                    } else {
                        ERR_CHANNEL_BUSY
                    };
                    send_error(fd, cid, code);
                    continue;
                }
                if p.cid == cid {
                    pending = None;
                }
            }
            if cid == 0 || (cid != BROADCAST && !allocated(shared, cid)) {
                send_error(fd, cid, ERR_INVALID_CHANNEL);
                continue;
            }
            if cid == BROADCAST && cmd != CMD_INIT {
                send_error(fd, cid, ERR_INVALID_CHANNEL);
                continue;
            }
            if len > MAX_MESSAGE {
                send_error(fd, cid, ERR_INVALID_LEN);
                continue;
            }
            let first = len.min(INIT_DATA);
            let p = Pending {
                cid,
                cmd,
                len,
                data: pkt[7..7 + first].to_vec(),
                next_seq: 0,
            };
            if p.data.len() == p.len {
                if !dispatch(fd, shared, opts, p) {
                    return;
                }
            } else {
                pending = Some(p);
            }
        } else {
            // A continuation packet nobody started is ignored (§11.2.4).
            let Some(p) = pending.as_mut() else { continue };
            if p.cid != cid {
                send_error(fd, cid, ERR_CHANNEL_BUSY);
                continue;
            }
            if pkt[4] != p.next_seq {
                send_error(fd, cid, ERR_INVALID_SEQ);
                pending = None;
                continue;
            }
            p.next_seq += 1;
            let take = (p.len - p.data.len()).min(CONT_DATA);
            p.data.extend_from_slice(&pkt[5..5 + take]);
            if p.data.len() == p.len {
                let p = pending.take().expect("pending message");
                if !dispatch(fd, shared, opts, p) {
                    return;
                }
            }
        }
    }
}

fn allocated(shared: &Shared, cid: u32) -> bool {
    cid < shared.next_cid.load(Ordering::SeqCst)
}

/// Answers one complete message; false when the host is gone.
fn dispatch(fd: RawFd, shared: &Shared, opts: &Options, msg: Pending) -> bool {
    match msg.cmd {
        CMD_INIT => {
            if msg.data.len() != 8 {
                return send_error(fd, msg.cid, ERR_INVALID_LEN);
            }
            let new_cid = if msg.cid == BROADCAST {
                shared.next_cid.fetch_add(1, Ordering::SeqCst)
            } else {
                msg.cid // resynchronisation on an allocated channel
            };
            let mut data = msg.data.clone();
            data.extend_from_slice(&new_cid.to_be_bytes());
            data.extend_from_slice(&[2, 0, 1, 0, CAPABILITIES]);
            send_message(fd, msg.cid, CMD_INIT, &data)
        }
        CMD_PING => send_message(fd, msg.cid, CMD_PING, &msg.data),
        CMD_WINK => send_message(fd, msg.cid, CMD_WINK, &[]),
        CMD_CANCEL => true, // nothing is pending outside a CBOR request
        CMD_CBOR => {
            if msg.data.is_empty() {
                return send_error(fd, msg.cid, ERR_INVALID_LEN);
            }
            let mut presence = Touch {
                fd,
                cid: msg.cid,
                opts,
                host_gone: false,
            };
            let answer = {
                let mut auth = match shared.auth.try_lock() {
                    Ok(a) => a,
                    Err(TryLockError::Poisoned(p)) => p.into_inner(),
                    // Another handle's request is in progress (waiting for a touch, say).
                    Err(TryLockError::WouldBlock) => {
                        return send_error(fd, msg.cid, ERR_CHANNEL_BUSY);
                    }
                };
                auth.handle(&msg.data, &mut presence)
            };
            if presence.host_gone {
                return false;
            }
            send_message(fd, msg.cid, CMD_CBOR, &answer)
        }
        CMD_MSG | CMD_LOCK => send_error(fd, msg.cid, ERR_INVALID_CMD),
        _ => send_error(fd, msg.cid, ERR_INVALID_CMD),
    }
}

/// The user-presence test: keepalives every 100 ms while waiting, CANCEL honoured (§11.2.9.1.5).
struct Touch<'a> {
    fd: RawFd,
    cid: u32,
    opts: &'a Options,
    host_gone: bool,
}

impl Presence for Touch<'_> {
    fn wait(&mut self) -> Result<(), u8> {
        let start = Instant::now();
        let touch = self.opts.touch
            && !self
                .opts
                .no_touch_while
                .as_ref()
                .is_some_and(|f| f.exists());
        let limit = if touch {
            self.opts.touch_delay
        } else {
            self.opts.touch_timeout
        };
        if limit.is_zero() && touch {
            return Ok(());
        }
        if touch {
            eprintln!("rootkey-vkey: waiting for a touch (it comes in {limit:?})");
        } else {
            eprintln!("rootkey-vkey: waiting for a touch that will not come");
        }
        while start.elapsed() < limit {
            if !send_message(self.fd, self.cid, CMD_KEEPALIVE, &[KEEPALIVE_UPNEEDED]) {
                self.host_gone = true;
                return Err(status::KEEPALIVE_CANCEL);
            }
            let Some(pkt) = recv(self.fd, Some(Duration::from_millis(100))) else {
                self.host_gone = true;
                return Err(status::KEEPALIVE_CANCEL);
            };
            if pkt.is_empty() {
                continue;
            }
            let cid = u32::from_be_bytes([pkt[0], pkt[1], pkt[2], pkt[3]]);
            if cid == self.cid && pkt[4] == CMD_CANCEL {
                return Err(status::KEEPALIVE_CANCEL);
            }
            if pkt[4] & 0x80 != 0 && cid != self.cid {
                send_error(self.fd, cid, ERR_CHANNEL_BUSY);
            }
        }
        if touch {
            Ok(())
        } else {
            Err(status::USER_ACTION_TIMEOUT)
        }
    }
}
