//! `rootkey ledger ...`: create, append notes, show, checkpoint, verify, export.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::{print_json, CmdResult, GlobalArgs, Outcome, Table};
use crate::aws::s3::S3Store;
use crate::custody::events::{CustodyEvent, Note};
use crate::custody::{verify_ledger, Station};
use crate::ledger::anchor::{self, AnchorConfig, Location};
use crate::ledger::{self, Anchor, Ledger, UnsignedEvent, VerifierKey, VerifyOptions};
use crate::text::{escape, escape_lines};

/// `rootkey ledger` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum LedgerCmd {
    /// Create a new ledger database and its signing key (refuses to overwrite either)
    Init {
        /// Log origin: the checkpoint's first line and the key name (e.g. example.com/custody)
        #[arg(long)]
        origin: String,
        /// Signing key file [default: beside the database, `.key` instead of `.db`]
        #[arg(long, value_name = "PATH")]
        signing_key: Option<PathBuf>,
    },
    /// Append a signed note
    Note {
        /// The note's text
        text: String,
        /// Who records it [default: $USER]
        #[arg(long)]
        actor: Option<String>,
        /// Signing key file [default: beside the database]
        #[arg(long, value_name = "PATH")]
        signing_key: Option<PathBuf>,
    },
    /// Show entries (a table, or JSON with --json)
    Show {
        /// First sequence number to show
        #[arg(long, default_value_t = 0, value_name = "SEQ")]
        since: u64,
    },
    /// Print or save the latest signed checkpoint
    Checkpoint {
        /// Write it to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Recompute and check every entry, approval, the tree and the signed checkpoint
    Verify {
        /// A checkpoint saved earlier: prove the ledger extends it
        #[arg(long, value_name = "FILE")]
        since_checkpoint: Option<PathBuf>,
        /// The verifier key you trust (`name+keyid+key`, from your records) instead of the one
        /// stored in the database
        #[arg(long, value_name = "VKEY", value_parser = parse_vkey)]
        vkey: Option<VerifierKey>,
        /// Also verify against the ledger's anchor (s3://BUCKET/PREFIX): every published
        /// checkpoint, and that this ledger extends the newest
        #[arg(long, value_name = "S3URL")]
        anchor: Option<String>,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Upload every entry not yet published, then the signed checkpoint, as immutable objects
    /// (S3 Object Lock) [default destination: `[ledger.anchor] to`]
    Publish {
        /// Destination: s3://BUCKET/PREFIX
        #[arg(long, value_name = "S3URL")]
        to: Option<String>,
        /// How long each object stays locked (e.g. 400d, 7y) [default: `[ledger.anchor]
        /// retain`, else 7y]
        #[arg(long, value_name = "DURATION")]
        retain: Option<String>,
        /// Object Lock mode [default: `[ledger.anchor] mode`, else compliance]
        #[arg(long, value_enum)]
        mode: Option<anchor::LockMode>,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Rebuild a ledger (--ledger NEW.db, which must not exist) from its anchor, checking every
    /// entry against the published checkpoints
    Restore {
        /// The anchor: s3://BUCKET/PREFIX
        #[arg(long, value_name = "S3URL")]
        from: String,
        /// The verifier key you trust (`name+keyid+key`, from your records)
        #[arg(long, value_name = "VKEY", value_parser = parse_vkey)]
        vkey: Option<VerifierKey>,
        #[command(flatten)]
        s3: S3Args,
    },
    /// Print the inclusion proof of one entry in the latest checkpoint
    Prove {
        /// The entry's sequence number
        seq: u64,
    },
    /// Export every entry for archiving
    Export {
        /// Output format
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
    },
}

/// How to reach the anchor's bucket (as the AWS CLI) [default: `[ledger.anchor]`, else the
/// standard chain].
#[derive(Debug, Clone, clap::Args)]
pub struct S3Args {
    /// Named AWS profile (as `aws --profile`)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region of the bucket (as `aws --region`)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Send S3 calls to this endpoint (as `aws --endpoint-url`)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line, with the exact entry bytes in base64
    Jsonl,
}

/// Parses a `--vkey` argument (`name+keyid+key`); shared by `ledger verify` and `audit`.
pub(crate) fn parse_vkey(s: &str) -> Result<VerifierKey, String> {
    VerifierKey::parse(s).map_err(|e| e.to_string())
}

/// Runs one `rootkey ledger` subcommand.
pub fn run(cmd: LedgerCmd, global: &GlobalArgs) -> CmdResult {
    let db = global.ledger_path()?;
    match cmd {
        LedgerCmd::Init {
            origin,
            signing_key,
        } => {
            if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let key = signing_key.unwrap_or_else(|| Ledger::default_key_path(&db));
            let l = Ledger::create(&db, &key, &origin)?;
            let vkey = l.verifier_key().encode();
            if global.json {
                print_json(&json!({
                    "ledger": db, "signing_key": key, "origin": origin, "vkey": vkey,
                }))?;
            } else {
                println!("created ledger {}", db.display());
                println!("signing key    {} (mode 0600)", key.display());
                println!("verifier key   {vkey}");
                println!("give auditors the verifier key; keep the signing key private");
            }
            Ok(Outcome::Ok)
        }
        LedgerCmd::Note {
            text,
            actor,
            signing_key,
        } => {
            let actor = match actor.or_else(|| std::env::var("USER").ok()) {
                Some(a) if !a.is_empty() => a,
                _ => return Err("no actor: pass --actor NAME (or set $USER)".into()),
            };
            crate::text::check("--actor", crate::text::TextKind::Id, &actor)?;
            let note = CustodyEvent::Note(Note { text });
            note.validate()?;
            let mut station = Station::open(&db, signing_key.as_deref())?;
            let ev = UnsignedEvent::new(note.kind(), &actor, note.to_body()?)?;
            let r = station.append_one(ev, Vec::new())?;
            if global.json {
                print_json(&json!({
                    "seq": r.first_seq,
                    "checkpoint": r.checkpoint.note,
                }))?;
            } else {
                println!(
                    "appended entry {} (tree size {})",
                    r.first_seq, r.checkpoint.size
                );
            }
            Ok(Outcome::Ok)
        }
        LedgerCmd::Show { since } => {
            let l = Ledger::open_readonly(&db)?;
            let entries = l.entries(since)?;
            // Names come from the verified registry; a ledger that fails verification is still
            // shown (this is how people look into it), with ids instead of names and a warning.
            let verified = verify_ledger(&l, &VerifyOptions::default())?;
            if let Some(f) = &verified.report.failure {
                eprintln!("warning: this ledger FAILED verification ({f}); entries are shown as stored, nothing in them is trusted");
            }
            let reg = verified.state.registry();
            let name = |id: &str| {
                reg.get(id).map_or(id.to_string(), |c| {
                    if c.software {
                        format!("{} (SOFTWARE key)", c.name)
                    } else {
                        c.name.clone()
                    }
                })
            };
            if global.json {
                let list: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        json!({
                            "seq": e.seq,
                            "id": hex::encode(e.event.id),
                            "time": e.event.time,
                            "kind": e.event.kind,
                            "actor": e.event.actor,
                            "body": e.event.body,
                            "approved_by": e.approvals.iter().map(|a| name(&a.custodian_id)).collect::<Vec<_>>(),
                            "leaf_hash": hex::encode(e.leaf_hash()),
                        })
                    })
                    .collect();
                print_json(&list)?;
            } else {
                let mut t = Table::new(["seq", "time", "kind", "actor", "approved by", "detail"]);
                for e in &entries {
                    let approvers: Vec<String> =
                        e.approvals.iter().map(|a| name(&a.custodian_id)).collect();
                    t.row([
                        e.seq.to_string(),
                        e.event.time.clone(),
                        e.event.kind.clone(),
                        e.event.actor.clone(),
                        approvers.join(", "),
                        summary(&e.event.body),
                    ]);
                }
                println!("{t}");
                println!("{} entries shown", entries.len());
            }
            Ok(Outcome::Ok)
        }
        LedgerCmd::Checkpoint { out } => {
            let l = Ledger::open_readonly(&db)?;
            let cp = l.latest_checkpoint()?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &cp.note)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    if global.json {
                        print_json(&json!({"size": cp.size, "file": path}))?;
                    } else {
                        eprintln!("saved checkpoint of size {} to {}", cp.size, path.display());
                    }
                }
                None if global.json => print_json(&json!({
                    "origin": cp.origin, "size": cp.size,
                    "root": hex::encode(cp.root), "note": cp.note,
                    "vkey": l.verifier_key().encode(),
                }))?,
                None => print!("{}", escape_lines(&cp.note)),
            }
            Ok(Outcome::Ok)
        }
        LedgerCmd::Verify {
            since_checkpoint,
            vkey,
            anchor: Some(url),
            s3,
        } => {
            if since_checkpoint.is_some() {
                return Err(
                    "--anchor replaces --since-checkpoint (the anchor's newest checkpoint \
                     is the one the ledger must extend): pass one of them"
                        .into(),
                );
            }
            let config = anchor_config(global)?;
            let store = connect(&config, &s3, &url, None, None)?;
            let l = Ledger::open_readonly(&db)?;
            let checked = anchored_verify(&store.0, &store.1, &l, vkey.as_ref())?;
            print_anchored(&checked, global.json)?;
            Ok(if checked.report.ok {
                Outcome::Ok
            } else {
                Outcome::Findings
            })
        }
        LedgerCmd::Publish {
            to,
            retain,
            mode,
            s3,
        } => {
            let config = anchor_config(global)?;
            let Some(url) = to.or_else(|| config.to.clone()) else {
                return Err(
                    "no destination: pass --to s3://BUCKET/PREFIX or set `to` in \
                     [ledger.anchor]"
                        .into(),
                );
            };
            let station = Station::open_readonly(&db)?;
            let (store, loc) = connect(&config, &s3, &url, retain.as_deref(), mode)?;
            match anchor::publish(&store, &loc, station.ledger()) {
                Ok(r) => {
                    print_published(&r, global.json)?;
                    Ok(Outcome::Ok)
                }
                Err(anchor::AnchorError::Mismatch(f)) => {
                    println!("FAILED: {}", escape_lines(&f.to_string()));
                    Ok(Outcome::Findings)
                }
                Err(e) => Err(e.into()),
            }
        }
        LedgerCmd::Restore { from, vkey, s3 } => {
            let config = anchor_config(global)?;
            let (store, loc) = connect(&config, &s3, &from, None, None)?;
            restore(&store, &loc, &db, vkey.as_ref(), global.json)
        }
        LedgerCmd::Verify {
            since_checkpoint,
            vkey,
            anchor: None,
            s3: _,
        } => {
            let l = Ledger::open_readonly(&db)?;
            let since_checkpoint = match since_checkpoint {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .map_err(|e| format!("cannot read checkpoint {}: {e}", p.display()))?,
                ),
                None => None,
            };
            let report = verify_ledger(
                &l,
                &VerifyOptions {
                    since_checkpoint,
                    vkey,
                },
            )?
            .report;
            print_verification(&report, global.json)?;
            // Without an anchor a replaced database passes too: that is not a pass.
            Ok(if report.ok && report.anchor != Anchor::None {
                Outcome::Ok
            } else {
                Outcome::Findings
            })
        }
        LedgerCmd::Prove { seq } => {
            let l = Ledger::open_readonly(&db)?;
            let p = l.inclusion_proof(seq)?;
            let hashes: Vec<String> = p.proof.iter().map(hex::encode).collect();
            if global.json {
                print_json(&json!({
                    "seq": p.seq, "leaf_hash": hex::encode(p.leaf_hash),
                    "tree_size": p.checkpoint.size, "proof": hashes,
                    "checkpoint": p.checkpoint.note,
                }))?;
            } else {
                println!("entry {} leaf {}", p.seq, hex::encode(p.leaf_hash));
                println!(
                    "tree size {} root {}",
                    p.checkpoint.size,
                    hex::encode(p.checkpoint.root)
                );
                for h in hashes {
                    println!("  {h}");
                }
            }
            Ok(Outcome::Ok)
        }
        LedgerCmd::Export { format: _ } => {
            let l = Ledger::open_readonly(&db)?;
            let mut out = std::io::stdout().lock();
            let mut result = Ok(());
            l.for_each_raw(0, |raw| {
                let (seq, bytes) = (raw.seq, raw.bytes);
                use base64::Engine;
                let entry: serde_json::Value =
                    serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null);
                let line = json!({
                    "seq": seq,
                    "leaf_hash": hex::encode(ledger::tree::leaf_hash(bytes)),
                    "entry_b64": base64::engine::general_purpose::STANDARD.encode(bytes),
                    "entry": entry,
                });
                if let Err(e) = writeln!(out, "{line}") {
                    result = Err(e);
                    return Ok(false);
                }
                Ok(true)
            })?;
            result?;
            Ok(Outcome::Ok)
        }
    }
}

/// Prints a verification: the verdict, and what its anchor does and does not prove.
fn print_verification(report: &ledger::VerifyReport, json: bool) -> Result<(), super::CliError> {
    match (report.ok, report.anchor) {
        (true, Anchor::None) => eprintln!(
            "warning: {}; this database's verifier key, to compare with your records: {}",
            ledger::verify::UNANCHORED,
            escape(&report.vkey)
        ),
        (true, Anchor::VerifierKey) => eprintln!("note: {}", ledger::verify::KEY_ONLY),
        _ => {}
    }
    if json {
        return print_json(report);
    }
    if let Some(f) = &report.failure {
        println!("FAILED: {}", escape_lines(&f.to_string()));
        return Ok(());
    }
    let verdict = match report.anchor {
        Anchor::None => "ledger consistent but NOT ANCHORED (not a pass)",
        Anchor::VerifierKey => "ledger intact (anchored by your verifier key only)",
        Anchor::SavedCheckpoint => "ledger intact",
    };
    println!(
        "{verdict}: {} entries, {} approvals verified, every custody rule holds, root {}",
        report.entries, report.approvals_verified, report.root
    );
    println!("verifier key {}", escape(&report.vkey));
    if let Some(s) = report.extends_saved_size {
        println!("extends the saved checkpoint of size {s} (consistency proof holds)");
    }
    Ok(())
}

fn summary(body: &serde_json::Value) -> String {
    if let Some(t) = body.get("text").and_then(|t| t.as_str()) {
        return escape(t).into_owned();
    }
    if let Some(t) = crate::custody::flows::remediate::ledger_summary(body) {
        return escape(&t).into_owned();
    }
    let s = body.to_string();
    let s = if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    };
    escape(&s).into_owned()
}

/// `[ledger.anchor]` from the configuration.
fn anchor_config(global: &GlobalArgs) -> Result<AnchorConfig, super::CliError> {
    Ok(AnchorConfig::from_config(&global.load_config()?)?)
}

/// The anchor's store: flags first, then `[ledger.anchor]`, then the standard chain.
fn connect(
    config: &AnchorConfig,
    s3: &S3Args,
    url: &str,
    retain: Option<&str>,
    mode: Option<anchor::LockMode>,
) -> Result<(S3Store, Location), super::CliError> {
    let loc = Location::parse(url)?;
    let retain = match retain {
        Some(r) => anchor::parse_duration(r)?,
        None => config.retain()?,
    };
    let mode = match mode {
        Some(m) => m,
        None => config.mode()?,
    };
    let opts = crate::aws::AwsOptions {
        profile: s3.profile.clone().or_else(|| config.profile.clone()),
        region: s3.region.clone().or_else(|| config.region.clone()),
        endpoint_url: s3
            .endpoint_url
            .clone()
            .or_else(|| config.endpoint_url.clone()),
        ..Default::default()
    };
    Ok((S3Store::connect(&opts, loc.clone(), retain, mode)?, loc))
}

/// An anchored verification: the report, and the anchor's state.
#[derive(Debug, serde::Serialize)]
struct AnchoredCheck {
    report: ledger::VerifyReport,
    anchor: String,
    published_checkpoints: usize,
    published_size: u64,
    last_publish: Option<String>,
    last_publish_age_seconds: Option<i64>,
    unpublished_entries: u64,
}

/// Reads and verifies the published log, then the local ledger against it.
fn anchored_verify(
    store: &S3Store,
    loc: &Location,
    l: &Ledger,
    vkey: Option<&VerifierKey>,
) -> Result<AnchoredCheck, super::CliError> {
    let trusted = vkey.unwrap_or(l.verifier_key());
    let (published, failure) =
        match anchor::read_published(store, loc, Some(trusted), &mut |_, _| Ok(())) {
            Ok(p) => (Some(p), None),
            Err(anchor::AnchorError::Mismatch(f)) => (None, Some(f)),
            Err(e) => return Err(e.into()),
        };
    let mut report = match &published {
        Some(p) if p.newest().is_some() => {
            crate::custody::station::verify_anchored(l, p, Some(trusted))?.report
        }
        _ => {
            verify_ledger(
                l,
                &VerifyOptions {
                    since_checkpoint: None,
                    vkey: Some(trusted.clone()),
                },
            )?
            .report
        }
    };
    if let Some(f) = failure {
        report.ok = false;
        report.failure = Some(f);
    } else if published.as_ref().and_then(|p| p.newest()).is_none() {
        report.ok = false;
        report.failure = Some(ledger::Failure {
            seq: None,
            reason: format!("{loc} holds no published checkpoint: run `rootkey ledger publish --to {loc}` first"),
        });
    }
    let newest = published.as_ref().and_then(|p| p.newest());
    let now = time::OffsetDateTime::now_utc();
    Ok(AnchoredCheck {
        anchor: loc.to_string(),
        published_checkpoints: published.as_ref().map_or(0, |p| p.checkpoints().len()),
        published_size: published.as_ref().map_or(0, |p| p.covered()),
        last_publish: newest.map(|c| {
            c.published()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        }),
        last_publish_age_seconds: newest.map(|c| (now - c.published()).whole_seconds()),
        unpublished_entries: report
            .entries
            .saturating_sub(published.as_ref().map_or(0, |p| p.covered())),
        report,
    })
}

fn print_anchored(c: &AnchoredCheck, json: bool) -> Result<(), super::CliError> {
    if json {
        return print_json(c);
    }
    if let Some(f) = &c.report.failure {
        println!("FAILED: {}", escape_lines(&f.to_string()));
        println!("anchor {}", escape(&c.anchor));
        return Ok(());
    }
    println!(
        "ledger intact and anchored: {} entries, {} approvals verified, every custody rule holds, root {}",
        c.report.entries, c.report.approvals_verified, c.report.root
    );
    println!(
        "anchor {}: {} published checkpoints, each signed and consistent with the next; the ledger extends the newest (size {})",
        escape(&c.anchor),
        c.published_checkpoints,
        c.published_size
    );
    if let (Some(t), Some(age)) = (&c.last_publish, c.last_publish_age_seconds) {
        println!(
            "last publish {t} ({} ago); {} local entries not published yet",
            humantime::format_duration(std::time::Duration::from_secs(age.max(0) as u64)),
            c.unpublished_entries
        );
    }
    println!("verifier key {}", escape(&c.report.vkey));
    Ok(())
}

fn print_published(r: &anchor::PublishReport, json: bool) -> Result<(), super::CliError> {
    if json {
        return print_json(r);
    }
    for k in &r.completed {
        println!("kept {k} (left by an earlier publish; identical to the local entries)");
    }
    for k in &r.uploaded {
        println!("uploaded {k}");
    }
    match r.checkpoint {
        Some(s) => println!(
            "published checkpoint {s} to {} ({} entries uploaded)",
            escape(&r.anchor),
            r.entries_uploaded
        ),
        None => println!(
            "{} already holds the ledger's checkpoint (size {}): nothing to publish",
            escape(&r.anchor),
            r.covered
        ),
    }
    Ok(())
}

/// What to tell whoever restores: the anchor holds no signing key.
const RESTORE_NEXT: &str = "the signing key is not in the anchor (it never leaves the ceremony \
     station), so the restored ledger can be read and verified but not appended to. To continue \
     recording: copy the ledger's signing key from its own backup beside NEW.db (mode 0600, as \
     `.key` for `.db`, or pass --signing-key). If that key is lost too, rootkey cannot yet \
     continue this ledger: there is no ledger-key rotation entry (signed by two custodians) in \
     this version, so start a new ledger with `rootkey ledger init` and keep this restored one, \
     and its anchor, as the record of everything before";

fn restore(
    store: &S3Store,
    loc: &Location,
    db: &std::path::Path,
    vkey: Option<&VerifierKey>,
    json: bool,
) -> CmdResult {
    let restored = match anchor::restore(store, loc, db, vkey) {
        Ok(r) => r,
        Err(anchor::AnchorError::Mismatch(f)) => {
            println!(
                "FAILED: {}; nothing was written",
                escape_lines(&f.to_string())
            );
            return Ok(Outcome::Findings);
        }
        Err(e) => return Err(e.into()),
    };
    // The custody rules too, before the file takes its name.
    let l = Ledger::open_readonly(restored.temp_path())?;
    let report = verify_ledger(
        &l,
        &VerifyOptions {
            since_checkpoint: None,
            vkey: restored.published().vkey().cloned(),
        },
    )?
    .report;
    drop(l);
    if let Some(f) = &report.failure {
        println!(
            "FAILED: the published ledger does not verify ({}); nothing was written",
            escape_lines(&f.to_string())
        );
        return Ok(Outcome::Findings);
    }
    let path = restored.commit()?;
    if json {
        print_json(&json!({
            "ledger": path, "entries": report.entries, "root": report.root,
            "vkey": report.vkey, "anchor": loc.to_string(),
        }))?;
    } else {
        println!(
            "restored {} entries from {} into {} (verified against every published checkpoint; root {})",
            report.entries,
            escape(&loc.to_string()),
            path.display(),
            report.root
        );
        println!("verifier key {}", escape(&report.vkey));
    }
    if vkey.is_none() {
        eprintln!(
            "note: the verifier key above is the one the anchor recorded at its first publish; \
             compare it with your records (or restore with --vkey to have it checked)"
        );
    }
    eprintln!("note: {RESTORE_NEXT}");
    Ok(Outcome::Ok)
}

/// Installs automatic publishing after every approved custody append when `[ledger.anchor] to`
/// is set; a failure to publish is a loud warning, never a lost append.
pub(crate) fn install_auto_publish(global: &GlobalArgs) {
    // A configuration that cannot be read leaves publishing off: say so, whether or not the
    // command itself reads the configuration.
    let config = match global.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("WARNING: automatic publishing is off: {e}");
            return;
        }
    };
    let config = match AnchorConfig::from_config(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("WARNING: automatic publishing is off: {e}");
            return;
        }
    };
    let Some(url) = config.to.clone() else { return };
    let no_args = S3Args {
        profile: None,
        region: None,
        endpoint_url: None,
    };
    crate::custody::station::set_after_append(Box::new(move |l: &Ledger| {
        let result = connect(&config, &no_args, &url, None, None).and_then(|(store, loc)| {
            anchor::publish(&store, &loc, l).map_err(super::CliError::from)
        });
        match result {
            Ok(r) => eprintln!(
                "published to {} (checkpoint {})",
                escape(&r.anchor),
                r.covered
            ),
            Err(e) => eprintln!(
                "WARNING: the entry is recorded locally, but publishing it to {} FAILED: {}\n\
                 WARNING: the ledger is not anchored beyond the last publish; fix the cause and \
                 run `rootkey ledger publish` (the audit reports a stale anchor)",
                escape(&url),
                escape_lines(&e.to_string())
            ),
        }
    }));
}

/// `audit --anchor`: the anchor's status, the newest published checkpoint (which the audit
/// proves the ledger extends, as a saved checkpoint) and the verifier key (the one given, else
/// the anchor's, which was fixed at the first publish).
#[allow(clippy::type_complexity)]
pub(crate) fn audit_anchor(
    url: &str,
    aws: &super::aws::AwsArgs,
    db: &std::path::Path,
    vkey: Option<VerifierKey>,
    global: &GlobalArgs,
) -> Result<
    (
        Option<anchor::AnchorStatus>,
        Option<String>,
        Option<VerifierKey>,
    ),
    super::CliError,
> {
    let config = anchor_config(global)?;
    let s3 = S3Args {
        profile: aws.profile.clone(),
        region: aws.region.clone(),
        endpoint_url: aws.endpoint_url.clone(),
    };
    let (store, loc) = connect(&config, &s3, url, None, None)?;
    let l = Ledger::open_readonly(db)?;
    let (status, published) =
        anchor::AnchorStatus::read(&store, &loc, &l, vkey.as_ref(), config.max_age()?)?;
    let newest = published
        .as_ref()
        .and_then(|p| p.newest())
        .map(|c| c.checkpoint().note.clone());
    let key = vkey.or_else(|| published.as_ref().and_then(|p| p.vkey().cloned()));
    Ok((Some(status), newest, key))
}
