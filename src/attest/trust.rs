//! Trust anchors: the vendor roots pinned in the binary, roots the operator adds, and the roots a
//! FIDO metadata entry vouches for. The anchor types themselves live in [`super::anchor`] and are
//! re-exported here.

use std::path::Path;

pub use super::anchor::{pem_certificates, Anchor, AnchorSource, TrustError};

/// The pinned vendor roots: Yubico's three and Nitrokey's two (see `roots/README.md`).
const PINNED: &[(&str, &str)] = &[
    (
        "yubico-u2f-root-ca-serial-457200631.pem",
        include_str!("roots/yubico-u2f-root-ca-serial-457200631.pem"),
    ),
    (
        "yubico-fido-root-ca-serial-450203556.pem",
        include_str!("roots/yubico-fido-root-ca-serial-450203556.pem"),
    ),
    (
        "yubico-attestation-root-1.pem",
        include_str!("roots/yubico-attestation-root-1.pem"),
    ),
    (
        "nitrokey-fido2-root-ca.pem",
        include_str!("roots/nitrokey-fido2-root-ca.pem"),
    ),
    (
        "nitrokey-u2f-root-ca.pem",
        include_str!("roots/nitrokey-u2f-root-ca.pem"),
    ),
];

/// The anchors an attestation chain may end in, plus the FIDO metadata to look models up in.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Anchor>,
    mds: Option<super::mds::MdsBlob>,
}

impl TrustStore {
    /// An empty store (nothing is trusted).
    pub fn empty() -> TrustStore {
        TrustStore::default()
    }

    /// The vendor roots compiled into rootkey.
    pub fn pinned() -> TrustStore {
        let mut store = TrustStore::empty();
        for (name, pem) in PINNED {
            // The pinned PEMs are part of the source tree and covered by a unit test.
            if let Ok(ders) = pem_certificates(name, pem.as_bytes()) {
                for der in ders {
                    store.anchors.push(Anchor {
                        name: (*name).to_string(),
                        der,
                        source: AnchorSource::PinnedVendor,
                    });
                }
            }
        }
        store
    }

    /// Adds every certificate in a PEM buffer as a user-supplied anchor named `name`.
    pub fn add_user_pem(&mut self, name: &str, pem: &[u8]) -> Result<usize, TrustError> {
        let ders = pem_certificates(name, pem)?;
        let n = ders.len();
        for der in ders {
            self.anchors.push(Anchor {
                name: name.to_string(),
                der,
                source: AnchorSource::User,
            });
        }
        Ok(n)
    }

    /// Adds one PEM file as user-supplied anchors.
    pub fn add_user_file(&mut self, path: &Path) -> Result<usize, TrustError> {
        let bytes = std::fs::read(path).map_err(|source| TrustError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.add_user_pem(&name, &bytes)
            .map_err(|e| with_path(e, path))
    }

    /// Adds every `*.pem` in `dir` as user-supplied anchors; returns how many certificates.
    pub fn add_user_dir(&mut self, dir: &Path) -> Result<usize, TrustError> {
        let io = |source| TrustError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "pem") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut n = 0;
        for p in paths {
            n += self.add_user_file(&p)?;
        }
        Ok(n)
    }

    /// Attaches a verified FIDO metadata BLOB (its entries' roots become anchors per model).
    pub fn set_mds(&mut self, mds: super::mds::MdsBlob) {
        self.mds = Some(mds);
    }

    /// The attached metadata, if any.
    pub fn mds(&self) -> Option<&super::mds::MdsBlob> {
        self.mds.as_ref()
    }

    /// Every anchor, in the order they were added.
    pub fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }
}

fn with_path(e: TrustError, path: &Path) -> TrustError {
    match e {
        TrustError::NoCertificate { .. } => TrustError::NoCertificate {
            path: path.display().to_string(),
        },
        TrustError::BadCertificate { index, detail, .. } => TrustError::BadCertificate {
            path: path.display().to_string(),
            index,
            detail,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_roots_are_the_documented_ones() {
        let store = TrustStore::pinned();
        let mut got: Vec<String> = store.anchors().iter().map(Anchor::fingerprint).collect();
        got.sort();
        let mut want = vec![
            "0fa1386f80eb8713263ae5c1d84deb455bdf08aea50ab05503cefee82b092d42",
            "35f1a54b353bfb711e6d42adbeb76c0e9dead095018e6a94783ba2192fd6faad",
            "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
            "a9f3e09f1aea89472e596127094f7519f7719b5f3a6c8503b964bd2712acf97b",
            "0b4f8d8779be3267acfcdbf7befdfc3806b4dddfb2cdd6802d5173c6ccbf2268",
        ];
        want.sort();
        assert_eq!(got, want);
        assert!(store
            .anchors()
            .iter()
            .all(|a| a.source == AnchorSource::PinnedVendor));
    }

    #[test]
    fn user_roots_load_from_a_directory_and_bad_pem_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.pem"),
            PINNED[0].1.as_bytes(), // any real certificate will do
        )
        .unwrap();
        std::fs::write(dir.path().join("ignored.txt"), b"not a pem").unwrap();
        let mut store = TrustStore::empty();
        assert_eq!(store.add_user_dir(dir.path()).unwrap(), 1);
        assert_eq!(store.anchors()[0].source, AnchorSource::User);
        assert_eq!(store.anchors()[0].name, "a.pem");
        std::fs::write(dir.path().join("b.pem"), b"garbage").unwrap();
        assert!(matches!(
            store.add_user_dir(dir.path()),
            Err(TrustError::NoCertificate { .. })
        ));
    }
}
