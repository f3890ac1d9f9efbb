//! The ledger's external anchor: its entries and signed checkpoints published as write-once
//! objects (S3 Object Lock), and the checks that read them back: publishing what is not yet
//! published, verifying the published log and the local ledger against it, restoring a ledger.
//!
//! Storage only: this module knows the bucket layout (`docs/ledger-format.md` §8) and talks to
//! it through [`ObjectStore`]; the S3 transport lives in `crate::aws::s3`.
//!
//! Crash safety comes from the order of writes: `ledger.json` first, then entry bundles, the
//! checkpoint last. A reader trusts only entries a published checkpoint covers; a bundle left
//! without its checkpoint by an interrupted publish is completed by the next one (reused if
//! byte-identical, refused loudly otherwise, since a locked object cannot be overwritten).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::checkpoint::{Checkpoint, VerifierKey};
use super::store::{Ledger, Restorer};
use super::tree::{self, CompactRange, Hash};
use super::verify::Failure;
use super::LedgerError;

/// `format` of `PREFIX/ledger.json`.
pub const FORMAT: &str = "rootkey-anchor/1";
/// Most entries in one bundle object: bounds what one request carries and one retry repeats.
pub const MAX_BUNDLE: u64 = 10_000;
const META_KEY: &str = "ledger.json";
const ENTRIES_DIR: &str = "entries/";
const CHECKPOINTS_DIR: &str = "checkpoints/";

/// Where a ledger is anchored: `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    bucket: String,
    prefix: String,
}

impl Location {
    /// Parses `s3://BUCKET[/PREFIX]`; the prefix loses surrounding slashes.
    pub fn parse(s: &str) -> Result<Location, String> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| {
            format!(
                "`{}` is not an s3://BUCKET/PREFIX address",
                crate::text::escape(s)
            )
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
            && !prefix
                .split('/')
                .any(|p| (p.is_empty() && !prefix.is_empty()) || p == ".." || p == ".");
        if !bucket_ok || !prefix_ok {
            return Err(format!(
                "`{}` is not an s3://BUCKET/PREFIX address (bucket: 3-63 of a-z 0-9 . -; prefix: \
                 A-Z a-z 0-9 / - _ .)",
                crate::text::escape(s)
            ));
        }
        Ok(Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The full object key of `rel` (a key relative to the prefix).
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// What every key of this anchor starts with (`PREFIX/`, or nothing).
    pub fn key_prefix(&self) -> String {
        self.key("")
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Key (relative to the prefix) of the bundle of entries `first..=last`.
pub fn bundle_key(first: u64, last: u64) -> String {
    format!("{ENTRIES_DIR}{first:020}-{last:020}.jsonl")
}

/// Key (relative to the prefix) of the checkpoint of `size` entries.
pub fn checkpoint_key(size: u64) -> String {
    format!("{CHECKPOINTS_DIR}{size:020}")
}

/// One stored version of an object under the anchor's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// Key relative to the prefix.
    pub key: String,
    /// The version id (None where the store has no versions).
    pub version_id: Option<String>,
    /// When it was written.
    pub last_modified: OffsetDateTime,
    /// Whether this is a delete marker rather than data.
    pub delete_marker: bool,
}

/// What a write-once put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The object was created.
    Created,
    /// An object with that key already exists; nothing was written.
    Exists,
}

/// Why the object store could not do something.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The bucket cannot hold immutable objects: nothing was uploaded.
    #[error("{0}")]
    NotWorm(String),
    /// A call failed.
    #[error("{0}")]
    Call(String),
}

/// The write-once object store under one anchor's prefix (S3 with Object Lock in production).
pub trait ObjectStore {
    /// Checks the bucket keeps what is written (Object Lock enabled, which implies versioning).
    fn check_worm(&self) -> Result<(), StoreError>;
    /// Every version (and delete marker) of every object under the prefix.
    fn list(&self) -> Result<Vec<ObjectVersion>, StoreError>;
    /// The bytes of `key` at `version` (the latest without one).
    fn get(&self, key: &str, version: Option<&str>) -> Result<Vec<u8>, StoreError>;
    /// Writes `key` only if no object has that key, locked until the store's retention date.
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put, StoreError>;
}

/// Why anchoring failed: the anchor disagrees (exit 1) or could not be read or written (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The published log or the local ledger is not what it must be; the reason names what.
    #[error("{0}")]
    Mismatch(Failure),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The local ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

fn mismatch(seq: Option<u64>, reason: String) -> AnchorError {
    AnchorError::Mismatch(Failure { seq, reason })
}

/// `PREFIX/ledger.json`: which ledger this prefix anchors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Meta {
    format: String,
    origin: String,
    vkey: String,
}

/// The anchor's objects, sorted, as the listing shows them (nothing read yet).
#[derive(Debug, Default)]
struct Layout {
    meta: Option<ObjectVersion>,
    /// first -> (last, object)
    bundles: BTreeMap<u64, (u64, ObjectVersion)>,
    checkpoints: BTreeMap<u64, ObjectVersion>,
}

impl Layout {
    /// Sorts a listing into the layout; anything under `entries/` or `checkpoints/` that is not
    /// a well-formed single version is refused (an overwrite or delete means someone wrote to the
    /// anchor who should not have).
    fn parse(list: Vec<ObjectVersion>) -> Result<Layout, AnchorError> {
        let mut by_key: BTreeMap<String, Vec<ObjectVersion>> = BTreeMap::new();
        for v in list {
            by_key.entry(v.key.clone()).or_default().push(v);
        }
        let mut layout = Layout::default();
        for (key, mut versions) in by_key {
            let ours =
                key == META_KEY || key.starts_with(ENTRIES_DIR) || key.starts_with(CHECKPOINTS_DIR);
            if !ours {
                continue;
            }
            if versions.len() != 1 || versions[0].delete_marker {
                return Err(mismatch(
                    None,
                    format!(
                        "published object {} has {} versions or delete markers: it was written \
                         over or deleted by someone other than rootkey (which writes each key \
                         once); inspect it with `aws s3api list-object-versions`",
                        crate::text::escape(&key),
                        versions.len()
                    ),
                ));
            }
            let v = versions.remove(0);
            if key == META_KEY {
                layout.meta = Some(v);
            } else if let Some(name) = key.strip_prefix(ENTRIES_DIR) {
                let (first, last) = parse_bundle_name(name).ok_or_else(|| bad_key(&key))?;
                layout.bundles.insert(first, (last, v));
            } else if let Some(name) = key.strip_prefix(CHECKPOINTS_DIR) {
                let size = parse_padded(name).ok_or_else(|| bad_key(&key))?;
                layout.checkpoints.insert(size, v);
            }
        }
        layout.check_contiguous()?;
        Ok(layout)
    }

    /// Bundles must cover `0..end` without gap or overlap.
    fn check_contiguous(&self) -> Result<(), AnchorError> {
        let mut next = 0u64;
        for (&first, (last, _)) in &self.bundles {
            if first != next {
                return Err(mismatch(
                    Some(next),
                    format!(
                        "the published bundles do not continue at entry {next} (the next one is \
                         {}): entries are missing from the anchor or bundles overlap",
                        bundle_key(first, *last)
                    ),
                ));
            }
            next = last + 1;
        }
        Ok(())
    }

    /// Number of entries the bundles hold.
    fn bundled(&self) -> u64 {
        self.bundles
            .values()
            .next_back()
            .map_or(0, |(last, _)| last + 1)
    }

    fn newest_checkpoint(&self) -> Option<(u64, &ObjectVersion)> {
        self.checkpoints.iter().next_back().map(|(s, v)| (*s, v))
    }
}

fn bad_key(key: &str) -> AnchorError {
    mismatch(
        None,
        format!(
            "object {} is not a name rootkey writes: the anchor holds something else",
            crate::text::escape(key)
        ),
    )
}

/// A 20-digit zero-padded decimal.
fn parse_padded(s: &str) -> Option<u64> {
    (s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_bundle_name(name: &str) -> Option<(u64, u64)> {
    let (a, b) = name.strip_suffix(".jsonl")?.split_once('-')?;
    let (first, last) = (parse_padded(a)?, parse_padded(b)?);
    (first <= last).then_some((first, last))
}

/// Splits a bundle into its entries' bytes: one line each, `\n`-terminated (canonical JSON
/// never holds a raw newline). Exactly `count` lines or an error.
fn bundle_lines(bytes: &[u8], count: u64) -> Option<Vec<&[u8]>> {
    let body = bytes.strip_suffix(b"\n")?;
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    (lines.len() as u64 == count && lines.iter().all(|l| !l.is_empty())).then_some(lines)
}

/// A bundle's bytes: each entry's stored bytes followed by `\n`.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(e);
        out.push(b'\n');
    }
    out
}

/// One published checkpoint, signature verified and root recomputed from the published entries.
#[derive(Debug, Clone)]
pub struct PublishedCheckpoint {
    checkpoint: Checkpoint,
    published: OffsetDateTime,
}

impl PublishedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// When it was written to the anchor.
    pub fn published(&self) -> OffsetDateTime {
        self.published
    }
}

/// The published log, verified: every checkpoint signed by the anchor's key and every
/// checkpoint's root recomputed from the published entries (so each is consistent with every
/// later one: they are heads of one sequence of leaves).
#[derive(Debug, Clone)]
pub struct Published {
    location: String,
    vkey: Option<VerifierKey>,
    leaves: Vec<Hash>,
    checkpoints: Vec<PublishedCheckpoint>,
}

impl Published {
    /// The anchor, `s3://BUCKET/PREFIX`.
    pub fn location(&self) -> &str {
        &self.location
    }
    /// The verifier key recorded in `ledger.json` (None: nothing published yet).
    pub fn vkey(&self) -> Option<&VerifierKey> {
        self.vkey.as_ref()
    }
    /// Entries published, including any a checkpoint does not cover yet.
    pub fn entries(&self) -> u64 {
        self.leaves.len() as u64
    }
    /// The published checkpoints, oldest first.
    pub fn checkpoints(&self) -> &[PublishedCheckpoint] {
        &self.checkpoints
    }
    /// The newest published checkpoint.
    pub fn newest(&self) -> Option<&PublishedCheckpoint> {
        self.checkpoints.last()
    }
    /// Entries the newest checkpoint covers (what a verifier trusts).
    pub fn covered(&self) -> u64 {
        self.newest().map_or(0, |c| c.checkpoint.size)
    }
    /// The oldest published checkpoint that covers entry `seq`.
    fn covering(&self, seq: u64) -> Option<&PublishedCheckpoint> {
        self.checkpoints.iter().find(|c| c.checkpoint.size > seq)
    }
}

fn read_meta(
    store: &dyn ObjectStore,
    layout: &Layout,
    trusted: Option<&VerifierKey>,
) -> Result<Option<VerifierKey>, AnchorError> {
    let Some(meta_obj) = &layout.meta else {
        if layout.bundles.is_empty() && layout.checkpoints.is_empty() {
            return Ok(None);
        }
        return Err(mismatch(
            None,
            "the anchor holds entries or checkpoints but no ledger.json: it was not written by \
             rootkey, or ledger.json was removed"
                .into(),
        ));
    };
    let raw = store.get(META_KEY, meta_obj.version_id.as_deref())?;
    let meta: Meta = serde_json::from_slice(&raw).map_err(|e| {
        mismatch(
            None,
            format!("ledger.json is not a rootkey anchor description: {e}"),
        )
    })?;
    if meta.format != FORMAT {
        return Err(mismatch(
            None,
            format!(
                "ledger.json has format {:?}, not {FORMAT}",
                crate::text::escape(&meta.format)
            ),
        ));
    }
    let vkey = VerifierKey::parse(&meta.vkey)
        .map_err(|e| mismatch(None, format!("ledger.json: verifier key: {e}")))?;
    if vkey.name != meta.origin {
        return Err(mismatch(
            None,
            "ledger.json: origin and verifier key name differ".into(),
        ));
    }
    if let Some(t) = trusted.filter(|t| **t != vkey) {
        return Err(mismatch(
            None,
            format!(
                "this prefix anchors another ledger (origin {}, key {}), not this one (origin {}, \
                 key {}): use another prefix",
                crate::text::escape(&vkey.name),
                vkey.encode(),
                crate::text::escape(&t.name),
                t.encode()
            ),
        ));
    }
    Ok(Some(vkey))
}

/// What [`read_published`] hands each covered entry to: its sequence number and exact bytes.
pub type OnCovered<'a> = dyn FnMut(u64, &[u8]) -> Result<(), LedgerError> + 'a;

/// Reads and verifies the whole published log. `trusted`, when given, is the key the anchor must
/// be of. `on_covered` receives each entry a checkpoint covers, in order, as published; it is
/// called before that checkpoint's root is checked, so whoever keeps them must discard them when
/// this returns an error.
pub fn read_published(
    store: &dyn ObjectStore,
    location: &Location,
    trusted: Option<&VerifierKey>,
    on_covered: &mut OnCovered<'_>,
) -> Result<Published, AnchorError> {
    let layout = Layout::parse(store.list()?)?;
    let vkey = read_meta(store, &layout, trusted)?;
    let mut out = Published {
        location: location.to_string(),
        vkey: vkey.clone(),
        leaves: Vec::new(),
        checkpoints: Vec::new(),
    };
    let Some(vkey) = vkey else { return Ok(out) };
    let mut pending: Vec<(u64, Checkpoint, OffsetDateTime)> = Vec::new();
    for (&size, obj) in &layout.checkpoints {
        let raw = store.get(&checkpoint_key(size), obj.version_id.as_deref())?;
        let note = String::from_utf8(raw)
            .map_err(|_| mismatch(None, format!("published checkpoint {size} is not text")))?;
        let cp = Checkpoint::open(&note, &vkey)
            .map_err(|e| mismatch(None, format!("published checkpoint {size}: {e}")))?;
        if cp.size != size {
            return Err(mismatch(
                None,
                format!(
                    "published checkpoint {size} is a checkpoint of size {}",
                    cp.size
                ),
            ));
        }
        pending.push((size, cp, obj.last_modified));
    }
    pending.reverse(); // pop() yields the smallest
    let covered = layout.newest_checkpoint().map_or(0, |(s, _)| s);
    if covered > layout.bundled() {
        return Err(mismatch(
            Some(layout.bundled()),
            format!(
                "published checkpoint {covered} covers entries {}..{} that no published bundle \
                 holds (rootkey uploads bundles before their checkpoint)",
                layout.bundled(),
                covered - 1
            ),
        ));
    }
    let mut cr = CompactRange::new();
    let check_due = |cr: &CompactRange,
                     pending: &mut Vec<(u64, Checkpoint, OffsetDateTime)>,
                     out: &mut Published| {
        while let Some((size, _, _)) = pending.last() {
            if *size != cr.size() {
                break;
            }
            let (size, cp, t) = pending.pop().expect("just seen");
            if cp.root != cr.root() {
                let from = out.checkpoints.last().map_or(0, |c| c.checkpoint.size);
                return Err(mismatch(
                    None,
                    format!(
                        "published checkpoint {size} does not match the published entries \
                         {from}..{size}: the anchor's bundles and checkpoints disagree"
                    ),
                ));
            }
            out.checkpoints.push(PublishedCheckpoint {
                checkpoint: cp,
                published: t,
            });
        }
        Ok(())
    };
    check_due(&cr, &mut pending, &mut out)?;
    for (&first, (last, obj)) in &layout.bundles {
        let key = bundle_key(first, *last);
        let raw = store.get(&key, obj.version_id.as_deref())?;
        let lines = bundle_lines(&raw, last - first + 1).ok_or_else(|| {
            mismatch(
                Some(first),
                format!(
                    "bundle {key} does not hold exactly {} lines",
                    last - first + 1
                ),
            )
        })?;
        for line in lines {
            let seq = cr.size();
            if seq < covered {
                on_covered(seq, line)?;
            }
            let leaf = tree::leaf_hash(line);
            out.leaves.push(leaf);
            cr.push(leaf);
            check_due(&cr, &mut pending, &mut out)?;
        }
    }
    Ok(out)
}

/// Compares the local ledger with the published log: every published entry must be stored
/// locally with the same bytes, and the ledger must hold at least what the newest checkpoint
/// covers. The first disagreement, naming the entry and the checkpoint, or None.
pub fn compare_local(
    ledger: &Ledger,
    published: &Published,
) -> Result<Option<Failure>, LedgerError> {
    let _snapshot = ledger.read_snapshot()?;
    let mut failure = None;
    let mut seen = 0u64;
    ledger.for_each_raw(0, |raw| {
        let Some(want) = published.leaves.get(raw.seq as usize) else {
            return Ok(false);
        };
        if raw.seq != seen {
            failure = Some(Failure {
                seq: Some(seen),
                reason: "the entry is missing locally but was published".into(),
            });
            return Ok(false);
        }
        seen += 1;
        if tree::leaf_hash(raw.bytes) != *want {
            failure = Some(Failure {
                seq: Some(raw.seq),
                reason: match published.covering(raw.seq) {
                    Some(c) => format!(
                        "the entry differs from the one published in {} and covered by \
                         published checkpoint {} (published {}): the local ledger was \
                         rewritten or forked after it was anchored",
                        published.location,
                        c.checkpoint.size,
                        fmt_time(c.published)
                    ),
                    None => format!(
                        "the entry differs from the one published in {} (in a bundle no \
                         checkpoint covers yet)",
                        published.location
                    ),
                },
            });
            return Ok(false);
        }
        Ok(true)
    })?;
    if failure.is_none() && seen < published.covered() {
        let c = published.newest().expect("covered > 0");
        failure = Some(Failure {
            seq: Some(seen),
            reason: format!(
                "the ledger holds {seen} entries but published checkpoint {} (published {}) in \
                 {} covers {}: the local ledger was rolled back or replaced by an older copy",
                c.checkpoint.size,
                fmt_time(c.published),
                published.location,
                c.checkpoint.size
            ),
        });
    }
    Ok(failure)
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// What a publish did.
#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    /// The anchor.
    pub anchor: String,
    /// Bundle keys uploaded now.
    pub uploaded: Vec<String>,
    /// Bundles a previous, interrupted publish left that were found identical and kept.
    pub completed: Vec<String>,
    /// Entries uploaded now.
    pub entries_uploaded: u64,
    /// Size of the checkpoint published now (None: the newest was already published).
    pub checkpoint: Option<u64>,
    /// Size of the newest published checkpoint after this publish.
    pub covered: u64,
}

/// Publishes every entry not yet published and the ledger's signed checkpoint: checks the bucket
/// keeps objects, that the prefix anchors this ledger, that the ledger extends the newest
/// published checkpoint and that any bundle left by an interrupted publish holds exactly the
/// local entries; then uploads bundles, then the checkpoint.
///
/// The local side is read in one read transaction that ends before the first upload: the
/// checkpoint and the bundles then come from one state of the ledger, and appends by other
/// processes wait only for that read, never for the network. What is uploaded is held in memory
/// meanwhile (all new entries; a few hundred bytes each).
pub fn publish(
    store: &dyn ObjectStore,
    location: &Location,
    ledger: &Ledger,
) -> Result<PublishReport, AnchorError> {
    store.check_worm()?;
    let key = ledger.verifier_key().clone();
    let layout = Layout::parse(store.list()?)?;
    let have_meta = read_meta(store, &layout, Some(&key))?.is_some();
    let published_note = match layout.newest_checkpoint() {
        Some((size, obj)) => Some((
            size,
            String::from_utf8(store.get(&checkpoint_key(size), obj.version_id.as_deref())?)
                .map_err(|_| mismatch(None, format!("published checkpoint {size} is not text")))?,
        )),
        None => None,
    };
    let covered = layout.newest_checkpoint().map_or(0, |(s, _)| s);
    let local = read_local(ledger, &key, location, &layout, published_note, covered)?;
    let mut report = PublishReport {
        anchor: location.to_string(),
        uploaded: Vec::new(),
        completed: Vec::new(),
        entries_uploaded: 0,
        checkpoint: None,
        covered,
    };
    // Bundles past the newest checkpoint were left by an interrupted publish.
    for ((first, last, mine), (_, (_, obj))) in
        local.leftovers.iter().zip(layout.bundles.range(covered..))
    {
        let key = bundle_key(*first, *last);
        let raw = store.get(&key, obj.version_id.as_deref())?;
        same_bundle(&key, *first, *last, mine, &raw)?;
        report.completed.push(key);
    }
    if !have_meta {
        let meta = Meta {
            format: FORMAT.into(),
            origin: key.name.clone(),
            vkey: key.encode(),
        };
        let mut bytes =
            serde_json::to_vec(&meta).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        bytes.push(b'\n');
        if store.put_new(META_KEY, &bytes)? == Put::Exists {
            // A concurrent first publish: it must be of this ledger too.
            read_meta(store, &Layout::parse(store.list()?)?, Some(&key))?;
        }
    }
    for (first, last, bytes) in &local.new_bundles {
        let key_rel = bundle_key(*first, *last);
        match store.put_new(&key_rel, bytes)? {
            Put::Created => report.uploaded.push(key_rel),
            Put::Exists => {
                let raw = store.get(&key_rel, None)?;
                same_bundle(&key_rel, *first, *last, bytes, &raw)?;
                report.completed.push(key_rel);
            }
        }
        report.entries_uploaded += last - first + 1;
    }
    let checkpoint = &local.checkpoint;
    if layout.checkpoints.contains_key(&checkpoint.size) {
        return Ok(report);
    }
    if store.put_new(&checkpoint_key(checkpoint.size), checkpoint.note.as_bytes())? == Put::Exists
        && store.get(&checkpoint_key(checkpoint.size), None)? != checkpoint.note.as_bytes()
    {
        return Err(mismatch(
            None,
            format!(
                "{location} already holds a different checkpoint of size {}: two histories were \
                 signed with this ledger's key",
                checkpoint.size
            ),
        ));
    }
    report.checkpoint = Some(checkpoint.size);
    report.covered = checkpoint.size;
    Ok(report)
}

/// What one publish takes from the local ledger, read in one transaction.
struct LocalSide {
    /// The stored signed checkpoint.
    checkpoint: Checkpoint,
    /// The local bytes of each bundle an interrupted publish left, in layout order.
    leftovers: Vec<(u64, u64, Vec<u8>)>,
    /// The bundles to upload: (first, last, bytes).
    new_bundles: Vec<(u64, u64, Vec<u8>)>,
}

/// Reads the local side of a publish in one read transaction: the signed checkpoint, proof that
/// it extends the newest published one (`published`: its size and note), and the bytes of every
/// bundle to compare or upload.
fn read_local(
    ledger: &Ledger,
    key: &VerifierKey,
    location: &Location,
    layout: &Layout,
    published: Option<(u64, String)>,
    covered: u64,
) -> Result<LocalSide, AnchorError> {
    let snapshot = ledger.read_snapshot()?;
    let local =
        Checkpoint::open(&ledger.stored_checkpoint_note()?, key).map_err(LedgerError::from)?;
    if let Some((size, note)) = published {
        ledger
            .check_extends(&note, key, local.size, &local.root)
            .map_err(|why| {
                mismatch(None, format!("refusing to publish: against published checkpoint {size} in {location}: {why}"))
            })?;
    }
    let bundled = layout.bundled();
    if bundled > local.size {
        return Err(mismatch(
            Some(local.size),
            format!(
                "refusing to publish: {location} holds bundles up to entry {} but the ledger has \
                 only {} entries (rolled back?); published objects cannot be overwritten",
                bundled - 1,
                local.size
            ),
        ));
    }
    let mut leftovers = Vec::new();
    for (&first, (last, _)) in layout.bundles.range(covered..) {
        leftovers.push((first, *last, local_bundle(ledger, first, *last)?));
    }
    let mut new_bundles = Vec::new();
    let mut first = bundled;
    while first < local.size {
        let last = (first + MAX_BUNDLE).min(local.size) - 1;
        new_bundles.push((first, last, local_bundle(ledger, first, last)?));
        first = last + 1;
    }
    drop(snapshot);
    Ok(LocalSide {
        checkpoint: local,
        leftovers,
        new_bundles,
    })
}

/// The local entries `first..=last` as a bundle.
fn local_bundle(ledger: &Ledger, first: u64, last: u64) -> Result<Vec<u8>, LedgerError> {
    let mut out = Vec::new();
    ledger.for_each_raw(first, |raw| {
        if raw.seq > last {
            return Ok(false);
        }
        out.extend_from_slice(raw.bytes);
        out.push(b'\n');
        Ok(true)
    })?;
    Ok(out)
}

/// Checks that a bundle found in the anchor holds exactly the local entries `first..=last`.
fn same_bundle(
    key: &str,
    first: u64,
    last: u64,
    local: &[u8],
    published: &[u8],
) -> Result<(), AnchorError> {
    if local == published {
        return Ok(());
    }
    Err(mismatch(
        Some(first),
        format!(
            "refusing to publish: bundle {key} was already uploaded (by a publish that did not \
             finish) with entries that differ from the local entries {first}..{last}; it cannot \
             be overwritten. The local ledger changed after those entries were uploaded: run \
             `rootkey ledger verify --anchor` and restore the ledger from the anchor"
        ),
    ))
}

/// A ledger restored from an anchor into a temporary file beside its destination, verified
/// against the published checkpoints; [`RestoredLedger::commit`] puts it in place.
#[derive(Debug)]
pub struct RestoredLedger {
    temp: PathBuf,
    dest: PathBuf,
    published: Published,
    done: bool,
}

impl RestoredLedger {
    /// The file to verify before committing.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }
    /// The published log it came from.
    pub fn published(&self) -> &Published {
        &self.published
    }
    /// Moves the restored ledger to its destination, refusing to overwrite a file there.
    pub fn commit(mut self) -> Result<PathBuf, LedgerError> {
        std::fs::hard_link(&self.temp, &self.dest).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => LedgerError::Exists(self.dest.clone()),
            _ => LedgerError::Io {
                path: self.dest.clone(),
                source: e,
            },
        })?;
        let _ = std::fs::remove_file(&self.temp);
        self.done = true;
        Ok(self.dest.clone())
    }
}

impl Drop for RestoredLedger {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Rebuilds the ledger the anchor holds, up to its newest checkpoint, into a temporary file
/// beside `dest` (which must not exist); every entry is checked against the published
/// checkpoints. `trusted`: the verifier key from the caller's records, if any.
pub fn restore(
    store: &dyn ObjectStore,
    location: &Location,
    dest: &Path,
    trusted: Option<&VerifierKey>,
) -> Result<RestoredLedger, AnchorError> {
    if dest.exists() {
        return Err(LedgerError::Exists(dest.to_path_buf()).into());
    }
    let layout = Layout::parse(store.list()?)?;
    let vkey = read_meta(store, &layout, trusted)?
        .ok_or_else(|| mismatch(None, format!("{location} holds no published ledger")))?;
    let mut temp = dest.as_os_str().to_owned();
    temp.push(".restoring");
    let temp = PathBuf::from(temp);
    let mut restorer = Restorer::create(&temp, &vkey)?;
    let result = read_published(store, location, Some(&vkey), &mut |_, bytes| {
        restorer.push(bytes)
    });
    let published = match result {
        Ok(p) => p,
        Err(e) => {
            restorer.abandon();
            return Err(e);
        }
    };
    let Some(newest) = published.newest() else {
        restorer.abandon();
        return Err(mismatch(
            None,
            format!("{location} holds no published checkpoint"),
        ));
    };
    restorer.finish(&newest.checkpoint.note)?;
    Ok(RestoredLedger {
        temp,
        dest: dest.to_path_buf(),
        published,
        done: false,
    })
}

/// What the audit learns from the anchor (`audit --anchor`): how far it reaches, how old its
/// last publish is, and the first disagreement with the local ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorStatus {
    /// `s3://BUCKET/PREFIX`.
    pub anchor: String,
    /// Entries the newest published checkpoint covers.
    pub published_size: u64,
    /// When the newest checkpoint was published (None: never).
    pub last_publish: Option<OffsetDateTime>,
    /// Entries in the local ledger.
    pub local_entries: u64,
    /// The published log or the local ledger disagreeing with it, if they do.
    pub disagreement: Option<Failure>,
    /// The oldest acceptable last publish (`[ledger.anchor] max_age`).
    pub max_age: std::time::Duration,
}

impl AnchorStatus {
    /// Reads the anchor and compares the local ledger with it; store failures are errors,
    /// disagreements are part of the status.
    pub fn read(
        store: &dyn ObjectStore,
        location: &Location,
        ledger: &Ledger,
        trusted: Option<&VerifierKey>,
        max_age: std::time::Duration,
    ) -> Result<(AnchorStatus, Option<Published>), AnchorError> {
        let mut status = AnchorStatus {
            anchor: location.to_string(),
            published_size: 0,
            last_publish: None,
            local_entries: ledger.len()?,
            disagreement: None,
            max_age,
        };
        match read_published(store, location, trusted, &mut |_, _| Ok(())) {
            Ok(p) => {
                status.published_size = p.covered();
                status.last_publish = p.newest().map(|c| c.published);
                status.disagreement = compare_local(ledger, &p)?;
                Ok((status, Some(p)))
            }
            Err(AnchorError::Mismatch(f)) => {
                status.disagreement = Some(f);
                Ok((status, None))
            }
            Err(e) => Err(e),
        }
    }
}

/// The `[ledger.anchor]` configuration section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnchorConfig {
    /// `s3://BUCKET/PREFIX`: publish there after every approved custody step.
    pub to: Option<String>,
    /// Object Lock retention of each object (e.g. "7y"), default [`DEFAULT_RETAIN`].
    pub retain: Option<String>,
    /// `compliance` (default) or `governance`.
    pub mode: Option<String>,
    /// Oldest acceptable age of the last publish for the audit (e.g. "7d"), default
    /// [`DEFAULT_MAX_AGE`].
    pub max_age: Option<String>,
    /// AWS profile, region and endpoint for the anchor's bucket.
    pub profile: Option<String>,
    /// The bucket's region.
    pub region: Option<String>,
    /// Endpoint (tests, S3-compatible stores).
    pub endpoint_url: Option<String>,
}

/// Default Object Lock retention.
pub const DEFAULT_RETAIN: &str = "7y";
/// Default maximum age of the last publish before the audit reports it.
pub const DEFAULT_MAX_AGE: &str = "7d";

/// Object Lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Nobody, not even the account root, can delete or shorten it before the date.
    Compliance,
    /// Users with s3:BypassGovernanceRetention can; for trying things out.
    Governance,
}

impl AnchorConfig {
    /// Reads `[ledger.anchor]` from the configuration.
    pub fn from_config(config: &crate::config::Config) -> Result<AnchorConfig, String> {
        // `[ledger]` holds only `[ledger.anchor]`: a misspelt `[ledger.ancor]` would otherwise
        // leave the ledger silently unpublished.
        if let Some(other) = config
            .value("ledger")
            .and_then(toml::Value::as_table)
            .and_then(|l| l.keys().find(|k| *k != "anchor"))
        {
            return Err(format!(
                "[ledger.{}] is not a rootkey setting: [ledger] holds only [ledger.anchor] (docs/configuration.md)",
                crate::text::escape(other)
            ));
        }
        let Some(section) = config.value("ledger").and_then(|l| l.get("anchor")) else {
            return Ok(AnchorConfig::default());
        };
        section.clone().try_into().map_err(|e: toml::de::Error| {
            format!("section [ledger.anchor] is invalid: {}", e.message())
        })
    }

    /// The retention, checked.
    pub fn retain(&self) -> Result<std::time::Duration, String> {
        parse_duration(self.retain.as_deref().unwrap_or(DEFAULT_RETAIN))
    }

    /// The maximum publish age, checked.
    pub fn max_age(&self) -> Result<std::time::Duration, String> {
        parse_duration(self.max_age.as_deref().unwrap_or(DEFAULT_MAX_AGE))
    }

    /// The lock mode, checked.
    pub fn mode(&self) -> Result<LockMode, String> {
        match self.mode.as_deref() {
            None | Some("compliance") => Ok(LockMode::Compliance),
            Some("governance") => Ok(LockMode::Governance),
            Some(m) => Err(format!(
                "[ledger.anchor] mode {:?} is neither compliance nor governance",
                crate::text::escape(m)
            )),
        }
    }
}

/// Parses a duration such as `7d`, `36h` or `7y`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "`{}` is not a duration (e.g. 7d, 36h, 7y)",
                crate::text::escape(s)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::UnsignedEvent;
    use std::cell::RefCell;

    /// An in-memory write-once store that keeps every version, so tests can play the attacker.
    #[derive(Default)]
    struct Mem {
        objects: RefCell<BTreeMap<String, Vec<Vec<u8>>>>,
    }

    impl Mem {
        fn overwrite(&self, key: &str, bytes: &[u8]) {
            self.objects
                .borrow_mut()
                .entry(key.into())
                .or_default()
                .push(bytes.to_vec());
        }
    }

    impl ObjectStore for Mem {
        fn check_worm(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn list(&self) -> Result<Vec<ObjectVersion>, StoreError> {
            Ok(self
                .objects
                .borrow()
                .iter()
                .flat_map(|(k, vs)| {
                    (0..vs.len()).map(move |i| ObjectVersion {
                        key: k.clone(),
                        version_id: Some(i.to_string()),
                        last_modified: OffsetDateTime::UNIX_EPOCH,
                        delete_marker: false,
                    })
                })
                .collect())
        }
        fn get(&self, key: &str, version: Option<&str>) -> Result<Vec<u8>, StoreError> {
            let objects = self.objects.borrow();
            let vs = objects
                .get(key)
                .ok_or_else(|| StoreError::Call(key.into()))?;
            let i = version.map_or(vs.len() - 1, |v| v.parse().unwrap());
            Ok(vs[i].clone())
        }
        fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put, StoreError> {
            let mut objects = self.objects.borrow_mut();
            if objects.contains_key(key) {
                return Ok(Put::Exists);
            }
            objects.insert(key.into(), vec![bytes.to_vec()]);
            Ok(Put::Created)
        }
    }

    fn ledger(dir: &Path, n: usize) -> Ledger {
        let db = dir.join("l.db");
        let mut l = Ledger::create(&db, &dir.join("l.key"), "test/anchor").unwrap();
        for i in 0..n {
            let ev = UnsignedEvent::new("note", "t", serde_json::json!({"text": format!("n{i}")}))
                .unwrap();
            l.append(&ev, vec![]).unwrap();
        }
        l
    }

    fn read(store: &Mem, l: &Ledger) -> Result<Published, AnchorError> {
        let loc = Location::parse("s3://bucket-x/p").unwrap();
        read_published(store, &loc, Some(l.verifier_key()), &mut |_, _| Ok(()))
    }

    #[test]
    fn locations_parse_and_bad_ones_are_refused() {
        let l = Location::parse("s3://my-bucket/a/b/").unwrap();
        assert_eq!(
            (l.bucket(), l.key("ledger.json").as_str()),
            ("my-bucket", "a/b/ledger.json")
        );
        assert_eq!(Location::parse("s3://my-bucket").unwrap().key("x"), "x");
        for bad in [
            "my-bucket/p",
            "s3://UPPER/p",
            "s3://b/p",
            "s3://bucket/a//b",
            "s3://bucket/../x",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn published_log_round_trips_and_tampering_with_it_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::parse("s3://bucket-x/p").unwrap();
        let mut l = ledger(dir.path(), 3);
        let store = Mem::default();
        let r = publish(&store, &loc, &l).unwrap();
        assert_eq!((r.entries_uploaded, r.checkpoint), (3, Some(3)));
        let ev = UnsignedEvent::new("note", "t", serde_json::json!({"text": "more"})).unwrap();
        l.append(&ev, vec![]).unwrap();
        assert_eq!(publish(&store, &loc, &l).unwrap().entries_uploaded, 1);
        let p = read(&store, &l).unwrap();
        assert_eq!((p.entries(), p.covered(), p.checkpoints().len()), (4, 4, 2));
        assert!(compare_local(&l, &p).unwrap().is_none());

        // A second version of a published object: refused, even if the first is intact.
        let altered = Mem::default();
        *altered.objects.borrow_mut() = store.objects.borrow().clone();
        let key = bundle_key(0, 2);
        let mut bytes = altered.get(&key, None).unwrap();
        bytes[10] ^= 1;
        altered.overwrite(&key, &bytes);
        let err = read(&altered, &l).unwrap_err().to_string();
        assert!(err.contains("versions"), "{err}");

        // A bundle whose bytes are not what the checkpoint signed (written in place).
        altered
            .objects
            .borrow_mut()
            .insert(key.clone(), vec![bytes]);
        let err = read(&altered, &l).unwrap_err().to_string();
        assert!(
            err.contains("published checkpoint 3 does not match"),
            "{err}"
        );

        // A checkpoint whose bundle was never uploaded.
        let missing = Mem::default();
        *missing.objects.borrow_mut() = store.objects.borrow().clone();
        missing.objects.borrow_mut().remove(&bundle_key(3, 3));
        let err = read(&missing, &l).unwrap_err().to_string();
        assert!(err.contains("no published bundle"), "{err}");
    }

    #[test]
    fn config_section_parses_and_rejects_unknown_keys() {
        let c = crate::config::Config::parse(
            "[ledger.anchor]\nto = \"s3://b-1/p\"\nmax_age = \"3d\"\n",
            "c.toml".into(),
        )
        .unwrap();
        let a = AnchorConfig::from_config(&c).unwrap();
        assert_eq!(a.to.as_deref(), Some("s3://b-1/p"));
        assert_eq!(
            a.max_age().unwrap(),
            std::time::Duration::from_secs(3 * 86400)
        );
        assert_eq!(a.mode().unwrap(), LockMode::Compliance);
        let c = crate::config::Config::parse("[ledger.anchor]\nbucket = 1\n", "c".into()).unwrap();
        assert!(AnchorConfig::from_config(&c).is_err());
        // A misspelt sub-section is refused, not read as "no anchor".
        let c = crate::config::Config::parse("[ledger.ancor]\nto = \"s3://b/p\"\n", "c".into())
            .unwrap();
        let err = AnchorConfig::from_config(&c).unwrap_err();
        assert!(
            err.contains("[ledger.ancor] is not a rootkey setting"),
            "{err}"
        );
    }
}
