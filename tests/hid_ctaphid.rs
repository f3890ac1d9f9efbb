//! CTAPHID framing of the virtual key (CTAP 2.1 §11.2), spoken raw over its socket: channel
//! allocation, continuation packets, errors, KEEPALIVE and CANCEL.

mod hid_support;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use ciborium::Value;
use hid_support::{KeyOptions, VirtualKeys};

const BROADCAST: u32 = 0xFFFF_FFFF;
const PING: u8 = 0x81;
const MSG: u8 = 0x83;
const INIT: u8 = 0x86;
const CBOR: u8 = 0x90;
const CANCEL: u8 = 0x91;
const KEEPALIVE: u8 = 0xBB;
const ERROR: u8 = 0xBF;

/// One open handle on a virtual key, as hidraw would give (report id 0 + 64 bytes out).
struct Handle(OwnedFd);

impl Handle {
    fn open(path: &Path) -> Handle {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: socket/connect on a zeroed sockaddr_un with a checked path length.
        unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let owned = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_un = std::mem::zeroed();
            assert!(bytes.len() < addr.sun_path.len());
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
                *d = *s as libc::c_char;
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            assert_eq!(libc::connect(fd, std::ptr::addr_of!(addr).cast(), len), 0);
            Handle(owned)
        }
    }

    fn write(&self, packet: &[u8; 64]) {
        let mut report = [0u8; 65];
        report[1..].copy_from_slice(packet);
        // SAFETY: send from a local buffer.
        let n = unsafe { libc::send(self.0.as_raw_fd(), report.as_ptr().cast(), 65, 0) };
        assert_eq!(n, 65);
    }

    fn read(&self) -> [u8; 64] {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll and recv on our descriptor into a local buffer.
        unsafe {
            assert_eq!(libc::poll(&mut pfd, 1, 5000), 1, "the key did not answer");
            let mut buf = [0u8; 64];
            let n = libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), 64, 0);
            assert_eq!(n, 64, "input reports are 64 bytes");
            buf
        }
    }

    fn init_packet(cid: u32, cmd: u8, len: usize, data: &[u8]) -> [u8; 64] {
        let mut p = [0u8; 64];
        p[..4].copy_from_slice(&cid.to_be_bytes());
        p[4] = cmd;
        p[5..7].copy_from_slice(&(len as u16).to_be_bytes());
        p[7..7 + data.len()].copy_from_slice(data);
        p
    }

    fn cont_packet(cid: u32, seq: u8, data: &[u8]) -> [u8; 64] {
        let mut p = [0u8; 64];
        p[..4].copy_from_slice(&cid.to_be_bytes());
        p[4] = seq;
        p[5..5 + data.len()].copy_from_slice(data);
        p
    }

    fn send(&self, cid: u32, cmd: u8, data: &[u8]) {
        let first = data.len().min(57);
        self.write(&Self::init_packet(cid, cmd, data.len(), &data[..first]));
        for (seq, chunk) in data[first..].chunks(59).enumerate() {
            self.write(&Self::cont_packet(cid, seq as u8, chunk));
        }
    }

    /// Reads one whole message: (cid, cmd, payload).
    fn recv(&self) -> (u32, u8, Vec<u8>) {
        let p = self.read();
        let cid = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
        assert!(p[4] & 0x80 != 0, "expected an initialization packet");
        let len = usize::from(u16::from_be_bytes([p[5], p[6]]));
        let mut data = p[7..7 + len.min(57)].to_vec();
        let mut seq = 0;
        while data.len() < len {
            let c = self.read();
            assert_eq!(u32::from_be_bytes([c[0], c[1], c[2], c[3]]), cid);
            assert_eq!(c[4], seq, "continuation packets in sequence");
            seq += 1;
            let take = (len - data.len()).min(59);
            data.extend_from_slice(&c[5..5 + take]);
        }
        (cid, p[4], data)
    }

    fn allocate(&self) -> u32 {
        let nonce = *b"8nonce!!";
        self.send(BROADCAST, INIT, &nonce);
        let (cid, cmd, data) = self.recv();
        assert_eq!((cid, cmd), (BROADCAST, INIT));
        assert_eq!(data.len(), 17);
        assert_eq!(&data[..8], &nonce);
        assert_eq!(data[12], 2, "CTAPHID protocol version 2");
        assert_eq!(data[16] & 0x0C, 0x0C, "capabilities CBOR and NMSG");
        u32::from_be_bytes([data[8], data[9], data[10], data[11]])
    }
}

#[test]
fn init_allocates_channels_and_ping_spans_continuation_packets() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let h = Handle::open(&keys.key(0).path);
    let a = h.allocate();
    let b = h.allocate();
    assert_ne!(a, b);
    assert!(a != 0 && a != BROADCAST);
    let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    h.send(a, PING, &payload);
    assert_eq!(h.recv(), (a, PING, payload));
    // INIT on an allocated channel resynchronises it and keeps it.
    h.send(b, INIT, b"resync!!");
    let (cid, cmd, data) = h.recv();
    assert_eq!((cid, cmd), (b, INIT));
    assert_eq!(
        u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        b
    );
}

#[test]
fn framing_errors_are_ctaphid_errors() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let h = Handle::open(&keys.key(0).path);
    let cid = h.allocate();
    h.send(0x1234_5678, PING, b"x");
    assert_eq!(h.recv(), (0x1234_5678, ERROR, vec![0x0B]), "unallocated");
    h.send(0, PING, b"x");
    assert_eq!(h.recv(), (0, ERROR, vec![0x0B]), "channel 0 is reserved");
    h.send(cid, MSG, &[0u8; 10]);
    assert_eq!(h.recv(), (cid, ERROR, vec![0x01]), "no CTAP1 (NMSG)");
    h.send(cid, 0xC2, b"");
    assert_eq!(h.recv(), (cid, ERROR, vec![0x01]), "unknown command");
    h.send(cid, INIT, b"short");
    assert_eq!(h.recv(), (cid, ERROR, vec![0x03]), "INIT needs 8 bytes");

    // A continuation packet out of sequence.
    h.write(&Handle::init_packet(cid, PING, 100, &[7; 57]));
    h.write(&Handle::cont_packet(cid, 1, &[7; 43]));
    assert_eq!(h.recv(), (cid, ERROR, vec![0x04]));

    // Another channel while a message is half sent: busy; the first message then completes.
    let other = h.allocate();
    h.write(&Handle::init_packet(cid, PING, 100, &[9; 57]));
    h.send(other, PING, b"y");
    assert_eq!(h.recv(), (other, ERROR, vec![0x06]));
    h.write(&Handle::cont_packet(cid, 0, &[9; 43]));
    assert_eq!(h.recv(), (cid, PING, vec![9; 100]));
}

#[test]
fn cbor_get_info_answers_with_status_and_a_map() {
    let keys = VirtualKeys::start(1, &KeyOptions::default());
    let h = Handle::open(&keys.key(0).path);
    let cid = h.allocate();
    h.send(cid, CBOR, &[0x04]);
    let (c, cmd, data) = h.recv();
    assert_eq!((c, cmd, data[0]), (cid, CBOR, 0x00));
    let v: Value = ciborium::from_reader(&data[1..]).expect("CBOR map");
    let keys_in_order: Vec<i128> = v
        .as_map()
        .expect("map")
        .iter()
        .map(|(k, _)| k.as_integer().expect("integer key").into())
        .collect();
    let mut sorted = keys_in_order.clone();
    sorted.sort();
    assert_eq!(keys_in_order, sorted, "canonical key order");
    h.send(cid, CBOR, &[0x42]);
    assert_eq!(
        h.recv(),
        (cid, CBOR, vec![0x01]),
        "CTAP1_ERR_INVALID_COMMAND"
    );
    h.send(cid, CBOR, &[0x01, 0xFF]);
    assert_eq!(h.recv(), (cid, CBOR, vec![0x12]), "CTAP2_ERR_INVALID_CBOR");
}

fn make_credential_request() -> Vec<u8> {
    let t = |s: &str| Value::Text(s.into());
    let i = |n: i64| Value::Integer(n.into());
    let req = Value::Map(vec![
        (i(1), Value::Bytes(vec![0x11; 32])),
        (i(2), Value::Map(vec![(t("id"), t("rootkey.custody"))])),
        (
            i(3),
            Value::Map(vec![
                (t("id"), Value::Bytes(b"u".to_vec())),
                (t("name"), t("u")),
            ]),
        ),
        (
            i(4),
            Value::Array(vec![Value::Map(vec![
                (t("alg"), i(-7)),
                (t("type"), t("public-key")),
            ])]),
        ),
    ]);
    let mut out = vec![0x01];
    ciborium::into_writer(&req, &mut out).expect("encode");
    out
}

#[test]
fn keepalives_while_waiting_for_a_touch_and_cancel_ends_the_wait() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            withhold_touch: true,
            touch_timeout: Some(Duration::from_secs(30)),
            ..KeyOptions::default()
        },
    );
    let h = Handle::open(&keys.key(0).path);
    let cid = h.allocate();
    h.send(cid, CBOR, &make_credential_request());
    assert_eq!(h.recv(), (cid, KEEPALIVE, vec![0x02]), "UPNEEDED");
    assert_eq!(h.recv(), (cid, KEEPALIVE, vec![0x02]));
    // CANCEL (no answer of its own) ends the wait with CTAP2_ERR_KEEPALIVE_CANCEL.
    h.send(cid, CANCEL, b"");
    loop {
        let (c, cmd, data) = h.recv();
        assert_eq!(c, cid);
        if cmd == KEEPALIVE {
            continue;
        }
        assert_eq!((cmd, data), (CBOR, vec![0x2D]));
        break;
    }
}

#[test]
fn a_withheld_touch_times_out_on_the_key() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            withhold_touch: true,
            touch_timeout: Some(Duration::from_millis(300)),
            ..KeyOptions::default()
        },
    );
    let h = Handle::open(&keys.key(0).path);
    let cid = h.allocate();
    h.send(cid, CBOR, &make_credential_request());
    loop {
        let (c, cmd, data) = h.recv();
        assert_eq!(c, cid);
        if cmd == KEEPALIVE {
            continue;
        }
        assert_eq!(
            (cmd, data),
            (CBOR, vec![0x2F]),
            "CTAP2_ERR_USER_ACTION_TIMEOUT"
        );
        break;
    }
}

#[test]
fn another_handle_is_told_the_key_is_busy_while_it_waits_for_a_touch() {
    let keys = VirtualKeys::start(
        1,
        &KeyOptions {
            withhold_touch: true,
            touch_timeout: Some(Duration::from_secs(30)),
            ..KeyOptions::default()
        },
    );
    let first = Handle::open(&keys.key(0).path);
    let cid = first.allocate();
    first.send(cid, CBOR, &make_credential_request());
    assert_eq!(first.recv(), (cid, KEEPALIVE, vec![0x02]));
    // A second program opens the key meanwhile: it gets a channel, then CHANNEL_BUSY.
    let second = Handle::open(&keys.key(0).path);
    let other = second.allocate();
    second.send(other, CBOR, &[0x04]);
    assert_eq!(second.recv(), (other, ERROR, vec![0x06]));
    first.send(cid, CANCEL, b"");
    loop {
        let (_, cmd, data) = first.recv();
        if cmd != KEEPALIVE {
            assert_eq!((cmd, data), (CBOR, vec![0x2D]));
            break;
        }
    }
    // Free again.
    second.send(other, CBOR, &[0x04]);
    let (c, cmd, data) = second.recv();
    assert_eq!((c, cmd, data[0]), (other, CBOR, 0x00));
}
