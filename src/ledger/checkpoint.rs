//! Checkpoints (C2SP tlog-checkpoint) inside signed notes (C2SP signed-note), Ed25519 via ring.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

use super::tree::Hash;

/// Signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

/// Why a checkpoint, note or verifier key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("origin {0:?} is not a valid note key name (non-empty, no spaces, no '+')")]
    BadOrigin(String),
    #[error("verifier key is malformed: {0}")]
    BadVkey(&'static str),
    #[error("signed note is malformed: {0}")]
    Malformed(&'static str),
    #[error("checkpoint body is malformed: {0}")]
    BadBody(&'static str),
    #[error("note carries no signature by {name}+{key_id}")]
    NoSignature { name: String, key_id: String },
    #[error("signature by {0} does not verify: the checkpoint was altered or forged")]
    BadSignature(String),
}

/// A note key name: non-empty, no whitespace, no `+` (C2SP signed-note).
pub fn check_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(CheckpointError::BadOrigin(name.to_string()));
    }
    Ok(())
}

/// Key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut buf = Vec::with_capacity(name.len() + 34);
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(ALG_ED25519);
    buf.extend_from_slice(public_key);
    let h = super::tree::sha256(&buf);
    [h[0], h[1], h[2], h[3]]
}

/// A verifier key: name and Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key name (the ledger's origin).
    pub name: String,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
}

impl VerifierKey {
    /// The key id of this key.
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, &self.public_key)
    }

    /// The `vkey` text form: `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn encode(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(&self.public_key);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            B64.encode(k)
        )
    }

    /// Parses a `vkey` string and checks that its key id matches its name and key.
    pub fn parse(s: &str) -> Result<Self, CheckpointError> {
        let mut parts = s.trim().splitn(3, '+');
        let (name, id, key) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(k)) => (n, i, k),
            _ => return Err(CheckpointError::BadVkey("expected NAME+KEYID+KEY")),
        };
        check_name(name).map_err(|_| CheckpointError::BadVkey("invalid name"))?;
        let raw = B64
            .decode(key)
            .map_err(|_| CheckpointError::BadVkey("key is not base64"))?;
        let public_key: [u8; 32] = match raw.split_first() {
            Some((&ALG_ED25519, rest)) => rest
                .try_into()
                .map_err(|_| CheckpointError::BadVkey("Ed25519 key is not 32 bytes"))?,
            _ => return Err(CheckpointError::BadVkey("not an Ed25519 (type 0x01) key")),
        };
        let vk = VerifierKey {
            name: name.to_string(),
            public_key,
        };
        if hex::encode(vk.key_id()) != id.to_ascii_lowercase() {
            return Err(CheckpointError::BadVkey(
                "key id does not match name and key",
            ));
        }
        Ok(vk)
    }

    /// Verifies a signed note, returning its text (the signed part) on success.
    pub fn verify_note<'a>(&self, note: &'a str) -> Result<&'a str, CheckpointError> {
        let split = note.rfind("\n\n").ok_or(CheckpointError::Malformed(
            "no blank line before signatures",
        ))?;
        let text = &note[..split + 1];
        let sigs = &note[split + 2..];
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(CheckpointError::Malformed(
                "signature block is empty or not newline-terminated",
            ));
        }
        let want_id = self.key_id();
        for line in sigs.lines() {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(CheckpointError::Malformed(
                    "signature line must start with '— '",
                ))?;
            let (name, sig_b64) = rest.split_once(' ').ok_or(CheckpointError::Malformed(
                "signature line lacks a signature",
            ))?;
            let sig = B64
                .decode(sig_b64)
                .map_err(|_| CheckpointError::Malformed("signature is not base64"))?;
            if name != self.name || sig.len() < 4 || sig[..4] != want_id {
                continue;
            }
            return UnparsedPublicKey::new(&ED25519, &self.public_key)
                .verify(text.as_bytes(), &sig[4..])
                .map(|_| text)
                .map_err(|_| CheckpointError::BadSignature(self.name.clone()));
        }
        Err(CheckpointError::NoSignature {
            name: self.name.clone(),
            key_id: hex::encode(want_id),
        })
    }
}

/// A tree head: origin, size and root, as the checkpoint body states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: Hash,
    /// The whole signed note, exactly as stored and signed.
    pub note: String,
}

impl Checkpoint {
    /// The checkpoint body: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(origin: &str, size: u64, root: &Hash) -> String {
        format!("{origin}\n{size}\n{}\n", B64.encode(root))
    }

    /// Verifies `note` with `key` and parses the checkpoint it carries.
    pub fn open(note: &str, key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
        let text = key.verify_note(note)?;
        let mut lines = text.lines();
        let origin = lines.next().ok_or(CheckpointError::BadBody("no origin"))?;
        let size_s = lines.next().ok_or(CheckpointError::BadBody("no size"))?;
        let root_s = lines.next().ok_or(CheckpointError::BadBody("no root"))?;
        // Canonical decimal only: a leading zero or sign would give two texts for one size.
        if size_s.is_empty()
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(CheckpointError::BadBody("size is not a decimal number"));
        }
        let size = size_s
            .parse()
            .map_err(|_| CheckpointError::BadBody("size out of range"))?;
        let root: Hash = B64
            .decode(root_s)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::BadBody("root is not 32 bytes of base64"))?;
        if origin != key.name {
            return Err(CheckpointError::BadBody(
                "origin line differs from the key name",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            note: note.to_string(),
        })
    }
}

/// The ledger's checkpoint signer.
pub struct Signer {
    name: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).finish()
    }
}

impl Signer {
    /// A signer from a PKCS#8 Ed25519 document.
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, ring::error::KeyRejected> {
        Ok(Signer {
            name: name.to_string(),
            pair: Ed25519KeyPair::from_pkcs8(pkcs8)?,
        })
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.pair.public_key().as_ref());
        VerifierKey {
            name: self.name.clone(),
            public_key,
        }
    }

    /// Signs a checkpoint for `size` and `root`.
    pub fn sign(&self, size: u64, root: &Hash) -> Checkpoint {
        let body = Checkpoint::body(&self.name, size, root);
        let sig = self.pair.sign(body.as_bytes());
        let mut blob = self.verifier().key_id().to_vec();
        blob.extend_from_slice(sig.as_ref());
        let note = format!("{body}\n\u{2014} {} {}\n", self.name, B64.encode(blob));
        Checkpoint {
            origin: self.name.clone(),
            size,
            root: *root,
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str) -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Signer::from_pkcs8(name, doc.as_ref()).unwrap()
    }

    #[test]
    fn key_id_matches_the_c2sp_example_key() {
        // C2SP signed-note example: "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        let vk = VerifierKey::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        assert_eq!(hex::encode(vk.key_id()), "c74f20a3");
        assert!(VerifierKey::parse(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        .is_err());
    }

    #[test]
    fn signed_checkpoint_round_trips_and_detects_changes() {
        let s = signer("example.org/ledger");
        let root = [7u8; 32];
        let cp = s.sign(42, &root);
        assert!(cp.note.starts_with("example.org/ledger\n42\n"));
        let vk = VerifierKey::parse(&s.verifier().encode()).unwrap();
        let back = Checkpoint::open(&cp.note, &vk).unwrap();
        assert_eq!((back.size, back.root), (42, root));

        let forged = cp.note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            Checkpoint::open(&forged, &vk),
            Err(CheckpointError::BadSignature(_))
        ));
        let other = signer("example.org/ledger");
        assert!(matches!(
            Checkpoint::open(&other.sign(42, &root).note, &vk),
            Err(CheckpointError::NoSignature { .. })
        ));
    }

    #[test]
    fn a_note_cosigned_by_a_witness_still_verifies_and_stays_byte_exact() {
        let s = signer("example.org/ledger");
        let cp = s.sign(5, &[3u8; 32]);
        // A witness appends its own signature line, shaped as a C2SP cosignature (key id, 8-byte
        // timestamp, signature); the ledger key ignores lines of other names.
        let witness = signer("witness.example");
        let body = &cp.note[..cp.note.rfind("\n\n").unwrap() + 1];
        let wsig = witness.pair.sign(body.as_bytes());
        let mut blob = witness.verifier().key_id().to_vec();
        blob.extend_from_slice(&[0u8; 8]);
        blob.extend_from_slice(wsig.as_ref());
        let cosigned = format!(
            "{}\u{2014} witness.example {}\n",
            cp.note,
            B64.encode(&blob)
        );
        for note in [cosigned.clone(), {
            // The witness line first: order of signature lines does not matter.
            let (text, sigs) = cosigned.split_at(cp.note.rfind("\n\n").unwrap() + 2);
            let mut lines: Vec<&str> = sigs.lines().collect();
            lines.reverse();
            format!("{text}{}\n", lines.join("\n"))
        }] {
            let vk = s.verifier();
            let back = Checkpoint::open(&note, &vk).unwrap();
            assert_eq!((back.size, back.note.as_str()), (5, note.as_str()));
        }
        // A forged ledger signature is not rescued by a valid witness line.
        let forged = cosigned.replacen("\n5\n", "\n6\n", 1);
        assert!(Checkpoint::open(&forged, &s.verifier()).is_err());
    }
}
