//! The RFC 6962 / RFC 9162 Merkle tree: hashing, the compact range that makes appends
//! O(log n), and inclusion and consistency proofs (generation and verification).

use ring::digest::{Context, SHA256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof did not verify or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder { old: u64, new: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { got: usize, expected: usize },
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    #[error("stored tree state is corrupt: {0}")]
    CorruptFrontier(&'static str),
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    crate::webauthn::sha256(data)
}

/// Leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    finish(ctx)
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x01]);
    ctx.update(left);
    ctx.update(right);
    finish(ctx)
}

fn finish(ctx: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The right frontier of a tree: one perfect-subtree hash per set bit of the size, largest
/// first. It is all an append needs to compute the new root, so appends cost O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds one leaf hash on the right.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        // Each trailing one bit of the old size is a perfect subtree that the new leaf completes.
        let mut s = self.size;
        while s & 1 == 1 {
            let left = self.hashes.pop().unwrap_or_default();
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// The tree head (MTH) of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.hashes.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Serialises as the 8-byte big-endian size followed by the frontier hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.hashes.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.hashes {
            out.extend_from_slice(h);
        }
        out
    }

    /// Parses [`CompactRange::to_bytes`] output, checking it is consistent with its size.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, ProofError> {
        let (size_bytes, rest) = raw
            .split_first_chunk::<8>()
            .ok_or(ProofError::CorruptFrontier("shorter than 8 bytes"))?;
        let size = u64::from_be_bytes(*size_bytes);
        if rest.len() % 32 != 0 || rest.len() / 32 != size.count_ones() as usize {
            return Err(ProofError::CorruptFrontier(
                "hash count does not match the tree size",
            ));
        }
        let hashes = rest
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, hashes })
    }
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges `[start, end)` whose subtree hashes form the inclusion proof of `index`
/// in a tree of `size` leaves (RFC 6962 §2.1.1 PATH), in proof order (bottom up).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut out);
    Ok(out)
}

fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        path(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        path(m - k, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The leaf ranges whose subtree hashes form the consistency proof from `old` to `new`
/// leaves (RFC 6962 §2.1.2 PROOF/SUBPROOF), in proof order.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, &mut out);
    }
    Ok(out)
}

fn subproof(m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, lo, lo + k, whole, out);
        out.push((lo + k, hi));
    } else {
        subproof(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// MTH of a list of leaf hashes (any list, not only a prefix of the tree).
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut cr = CompactRange::new();
    for l in leaves {
        cr.push(*l);
    }
    cr.root()
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_ranges(index, size)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies a consistency proof between two tree heads (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    let expected = consistency_ranges(old, new)?.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            expected,
        });
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old == 0 {
        // Every tree extends the empty tree.
        return Ok(());
    }
    // When old is a power of two, its root is the first node of the walk.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    //! Reference vectors: the 8-leaf tree of Certificate Transparency, as published in
    //! google/trillian `merkle/log_verifier_test.go` (commit 166e69e65d8365db09dbfe51af622d988f29aca1,
    //! Apache-2.0; the same leaves and roots as google/certificate-transparency
    //! `cpp/merkletree/merkle_tree_test.cc`). Leaf indices there are 1-based; here 0-based.
    use super::*;

    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    // (leaf index, tree size, proof)
    const INCLUSION: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    // (old size, new size, proof)
    const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }
    fn leaves() -> Vec<Hash> {
        LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }
    fn prove(ranges: Vec<(u64, u64)>, ls: &[Hash]) -> Vec<Hash> {
        ranges
            .into_iter()
            .map(|(a, b)| root_of(&ls[a as usize..b as usize]))
            .collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(CompactRange::new().root(), empty_root());
    }

    #[test]
    fn incremental_roots_match_reference() {
        let mut cr = CompactRange::new();
        for (i, l) in leaves().into_iter().enumerate() {
            cr.push(l);
            assert_eq!(hex::encode(cr.root()), ROOTS[i], "size {}", i + 1);
            let back = CompactRange::from_bytes(&cr.to_bytes()).unwrap();
            assert_eq!(back, cr);
        }
    }

    #[test]
    fn inclusion_proofs_match_reference_and_verify() {
        let ls = leaves();
        for (index, size, want) in INCLUSION {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            let got = prove(inclusion_ranges(index, size).unwrap(), &ls);
            assert_eq!(got, want, "inclusion {index} in {size}");
            let root = h(ROOTS[size as usize - 1]);
            verify_inclusion(index, size, &ls[index as usize], &got, &root).unwrap();
            // Wrong index, wrong size, wrong leaf, truncated or padded proof all fail.
            assert!(verify_inclusion(index ^ 1, size, &ls[index as usize], &got, &root).is_err());
            // (Sizes with the same tree shape along the path cannot be told apart; the
            // reference suite uses double and half.)
            assert!(verify_inclusion(index, size * 2, &ls[index as usize], &got, &root).is_err());
            assert!(verify_inclusion(index, size / 2, &ls[index as usize], &got, &root).is_err());
            assert!(verify_inclusion(index, size, &empty_root(), &got, &root).is_err());
            let mut longer = got.clone();
            longer.push(root);
            assert!(verify_inclusion(index, size, &ls[index as usize], &longer, &root).is_err());
            for i in 0..got.len() {
                let mut bad = got.clone();
                bad[i] = empty_root();
                assert!(verify_inclusion(index, size, &ls[index as usize], &bad, &root).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_match_reference_and_verify() {
        let ls = leaves();
        for (old, new, want) in CONSISTENCY {
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            let got = prove(consistency_ranges(old, new).unwrap(), &ls);
            assert_eq!(got, want, "consistency {old} -> {new}");
            let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
            verify_consistency(old, new, &r1, &r2, &got).unwrap();
            if !got.is_empty() {
                assert!(verify_consistency(old, new, &r2, &r1, &got).is_err());
                assert!(verify_consistency(old, new, &empty_root(), &r2, &got).is_err());
                assert!(verify_consistency(old, new, &r1, &r2, &got[1..]).is_err());
                for i in 0..got.len() {
                    let mut bad = got.clone();
                    bad[i] = empty_root();
                    assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
                }
            }
        }
    }

    #[test]
    fn every_proof_in_small_trees_verifies() {
        let ls: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=ls.len() as u64 {
            let root = root_of(&ls[..n as usize]);
            for i in 0..n {
                let p = prove(inclusion_ranges(i, n).unwrap(), &ls);
                verify_inclusion(i, n, &ls[i as usize], &p, &root).unwrap();
            }
            for m in 0..=n {
                let p = prove(consistency_ranges(m, n).unwrap(), &ls);
                let old = root_of(&ls[..m as usize]);
                verify_consistency(m, n, &old, &root, &p).unwrap();
                if m > 0 && m < n {
                    let wrong = root_of(&ls[1..m as usize + 1]);
                    assert!(verify_consistency(m, n, &wrong, &root, &p).is_err());
                }
            }
        }
    }
}
