//! Virtual FIDO2 keys on a virtual hidraw path, for end-to-end tests through `--device hid:`.
//!
//! [`VirtualKeys::start`] starts N `rootkey-vkey` processes (each one key, listening on a
//! socket under a private directory); the preload library that makes those sockets look like
//! hidraw nodes is the one build.rs compiled. Give a child process [`VirtualKeys::env`] and `--device` one of
//! [`VirtualKeys::spec`]; nothing else changes in rootkey's `hid:` path. The directory also holds
//! the keys' attestation CA (`rootkey-soft-ca.pem`: pass [`VirtualKeys::roots_dir`] to
//! `attest verify --roots`). See docs/virtual-key.md.
//!
//! Reuse: `mod hid_support;` in a test file, then
//! `let keys = VirtualKeys::start(2, &KeyOptions::default());`
//! `Command::new(env!("CARGO_BIN_EXE_rootkey")).envs(keys.env()).args(["--device", &keys.spec(0), ...])`.

#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a virtual key behaves.
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    /// The "user" never touches the key: operations needing presence time out on the key.
    pub withhold_touch: bool,
    /// How long the key waits for a touch (default 30 s, as real keys do).
    pub touch_timeout: Option<Duration>,
    /// How long a touch takes (keepalives are sent meanwhile); default instant.
    pub touch_delay: Option<Duration>,
}

/// One running virtual key.
pub struct VirtualKey {
    /// The node path (a socket the preload opens as a hidraw node).
    pub path: PathBuf,
    /// The key's own log (its stderr).
    pub log: PathBuf,
    child: Option<Child>,
}

/// A set of running virtual keys sharing one attestation CA; killed on drop.
pub struct VirtualKeys {
    dir: tempfile::TempDir,
    keys: Vec<VirtualKey>,
}

/// The preload library build.rs compiled from tools/vhid-preload (with `cc`, into OUT_DIR: the
/// one `rootkey demo --hid` embeds).
pub fn preload_library() -> &'static Path {
    Path::new(concat!(env!("OUT_DIR"), "/libvhid_preload.so"))
}

impl VirtualKeys {
    /// Starts `n` virtual keys behaving as `opts` says; waits until each listens.
    pub fn start(n: usize, opts: &KeyOptions) -> VirtualKeys {
        let lib = preload_library();
        assert!(lib.exists());
        // Unix socket paths are limited to 107 bytes: keep the directory short.
        let dir = tempfile::Builder::new()
            .prefix("vk")
            .tempdir_in("/tmp")
            .expect("a temporary directory");
        std::fs::create_dir(dir.path().join("vhid")).expect("the node directory");
        let mut keys = VirtualKeys {
            dir,
            keys: Vec::new(),
        };
        for _ in 0..n {
            keys.add(opts);
        }
        keys
    }

    /// Plugs in one more key; returns its index.
    pub fn add(&mut self, opts: &KeyOptions) -> usize {
        let i = self.keys.len();
        let path = self.dir.path().join("vhid").join(format!("hidraw-vk{i}"));
        let log = self.dir.path().join(format!("vk{i}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rootkey-vkey"));
        cmd.arg("--socket")
            .arg(&path)
            .arg("--state-dir")
            .arg(self.dir.path());
        if opts.withhold_touch {
            cmd.arg("--no-touch");
        }
        if let Some(t) = opts.touch_timeout {
            cmd.args(["--touch-timeout-ms", &t.as_millis().to_string()]);
        }
        if let Some(t) = opts.touch_delay {
            cmd.args(["--touch-delay-ms", &t.as_millis().to_string()]);
        }
        cmd.arg("--no-touch-while").arg(self.no_touch_file(i));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the key's log"))
            .spawn()
            .expect("rootkey-vkey starts");
        let key = VirtualKey {
            path,
            log,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !key.log_contains("listening on") {
            assert!(
                Instant::now() < deadline,
                "virtual key {i} did not start: {}",
                key.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.keys.push(key);
        i
    }

    /// `hid:PATH` of key `i`, for `--device`.
    pub fn spec(&self, i: usize) -> String {
        format!("hid:{}", self.keys[i].path.display())
    }

    /// Key `i`.
    pub fn key(&self, i: usize) -> &VirtualKey {
        &self.keys[i]
    }

    /// Whether the "user" touches key `i` from now on (a key started to touch can be told to stop
    /// for a while: it then waits its touch timeout and answers `USER_ACTION_TIMEOUT`).
    pub fn set_touch(&self, i: usize, touch: bool) {
        let f = self.no_touch_file(i);
        if touch {
            let _ = std::fs::remove_file(f);
        } else {
            std::fs::write(f, b"").expect("write the no-touch marker");
        }
    }

    fn no_touch_file(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("vk{i}.no-touch"))
    }

    /// The environment a process needs to see the virtual nodes.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "LD_PRELOAD".into(),
                preload_library().to_string_lossy().into_owned(),
            ),
            (
                "ROOTKEY_VHID_PREFIX".into(),
                format!("{}/", self.dir.path().join("vhid").display()),
            ),
        ]
    }

    /// `rootkey` with the environment that makes the virtual nodes visible (and no
    /// `ROOTKEY_DEVICE` from the caller's environment): add `--device`, [`Self::spec`] and the rest.
    pub fn rootkey(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rootkey"));
        cmd.envs(self.env()).env_remove("ROOTKEY_DEVICE");
        cmd
    }

    /// The directory holding the keys' attestation root (`rootkey-soft-ca.pem`).
    pub fn roots_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A scratch directory that lives as long as the keys.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Unplugs key `i`: its process is killed (SIGKILL), its node stays behind, dead.
    pub fn unplug(&mut self, i: usize) {
        if let Some(mut c) = self.keys[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl VirtualKey {
    /// The key's process id (to freeze it with SIGSTOP, say); panics once unplugged.
    pub fn pid(&self) -> i32 {
        let id = self.child.as_ref().expect("the key is plugged in").id();
        i32::try_from(id).expect("a pid fits in i32")
    }

    /// What the key logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the key's log contains `s`.
    pub fn log_contains(&self, s: &str) -> bool {
        self.log_text().contains(s)
    }
}

impl Drop for VirtualKeys {
    fn drop(&mut self) {
        for i in 0..self.keys.len() {
            self.unplug(i);
        }
    }
}
