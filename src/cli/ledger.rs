//! `rootkey ledger ...`: create, append notes, show, checkpoint, verify, export.

use std::io::Write;
use std::path::PathBuf;

use serde_json::json;

use super::{print_json, CmdResult, GlobalArgs, Outcome, Table};
use crate::custody::events::{CustodyEvent, Note};
use crate::custody::{verify_ledger, Station};
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
