//! `rootkey attest ...`: verify attestation evidence against pinned roots, metadata and policy.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome, Table};
use crate::attest::policy::{self, KeyPurpose};
use crate::attest::{self, mds, FileReport, MdsBlob, Policy, TrustStore};
use crate::text::escape;
use crate::webauthn::Evidence;

/// `rootkey attest` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AttestCmd {
    /// Verify attestation evidence files and decide whether each key is eligible
    Verify(VerifyArgs),
}

/// Arguments of `rootkey attest verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Evidence files (JSON, as `rootkey keys attest` writes them)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Also trust every *.pem in DIR (explicit operator trust, e.g. the software key's CA)
    #[arg(long, value_name = "DIR")]
    pub roots: Option<PathBuf>,
    /// FIDO MDS3 metadata BLOB (JWT) to look models, roots and certification up in
    #[arg(long, value_name = "FILE")]
    pub mds: Option<PathBuf>,
    /// Root the MDS BLOB signer must chain to [default: pinned GlobalSign Root CA R3]
    #[arg(long, value_name = "PEM", requires = "mds")]
    pub mds_root: Option<PathBuf>,
    /// Check certificate validity at this time (RFC 3339) [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Policy file (TOML, the shape of the config's [policy] section, [custodian] table included)
    /// [default: the config's [policy], or its [policy.custodian] with --purpose custodian]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Which policy the keys are judged by: root ([policy]) or custodian ([policy.custodian])
    #[arg(long, value_enum, default_value_t = Purpose::Root)]
    pub purpose: Purpose,
}

/// What the keys in the evidence are for (`--purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Purpose {
    /// Keys that guard an AWS account's root user: the [policy] table
    Root,
    /// Custodians' own keys, which approve custody actions: the [policy.custodian] table
    Custodian,
}

impl From<Purpose> for KeyPurpose {
    fn from(p: Purpose) -> KeyPurpose {
        match p {
            Purpose::Root => KeyPurpose::Root,
            Purpose::Custodian => KeyPurpose::Custodian,
        }
    }
}

/// Runs one `rootkey attest` subcommand.
pub fn run(cmd: AttestCmd, global: &GlobalArgs) -> CmdResult {
    match cmd {
        AttestCmd::Verify(args) => verify(args, global),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

/// The trust anchors and policy a key of `purpose` is judged by: pinned roots, the policy for
/// that purpose (`--policy FILE`, else the config's `[policy]` for root keys or
/// `[policy.custodian]` for custodian keys; neither inherits from the other) with its trusted
/// roots, and every root in `--roots DIR`, which naming on the command line trusts explicitly.
pub(super) fn trust_and_policy(
    purpose: KeyPurpose,
    roots: Option<&Path>,
    policy_file: Option<&Path>,
    global: &GlobalArgs,
) -> Result<(TrustStore, Policy), CliError> {
    let (policy_cfg, policy_base) = match policy_file {
        Some(p) => (
            Policy::config_from_file_for(p, purpose)?,
            p.parent().map(Path::to_path_buf),
        ),
        None => {
            let config = global.load_config()?;
            let base = config.path().and_then(Path::parent).map(Path::to_path_buf);
            let configs = policy::configs_from_table(config.value("policy")).map_err(|e| {
                match config.path() {
                    Some(path) => format!("config file {}: {e}", path.display()),
                    None => e.to_string(),
                }
            })?;
            (purpose.pick(configs), base)
        }
    };
    let mut policy = Policy::from_config(&policy_cfg)?;
    let mut trust = TrustStore::pinned();
    policy::load_trusted_roots(&policy_cfg, policy_base.as_deref(), &mut trust, &mut policy)?;
    if let Some(dir) = roots {
        let before = trust.anchors().len();
        trust.add_user_dir(dir)?;
        for a in &trust.anchors()[before..] {
            policy.trust_root(&a.fingerprint());
        }
    }
    Ok((trust, policy))
}

fn verify(args: VerifyArgs, global: &GlobalArgs) -> CmdResult {
    let at = match &args.at {
        None => OffsetDateTime::now_utc(),
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                format!("--at {s:?} is not an RFC 3339 time (2025-06-01T00:00:00Z): {e}")
            })?,
    };

    // Every input is read and checked before anything is verified or printed.
    let mut evidence = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let bytes = read(path)?;
        let ev = Evidence::from_json(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        ev.attestation_object()
            .and(ev.client_data_json())
            .and(ev.challenge())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        evidence.push((path.display().to_string(), ev));
    }

    let (mut trust, policy) = trust_and_policy(
        args.purpose.into(),
        args.roots.as_deref(),
        args.policy.as_deref(),
        global,
    )?;
    if let Some(mds_path) = &args.mds {
        let roots = match &args.mds_root {
            Some(p) => mds::root_from_pem(&p.display().to_string(), &read(p)?)?,
            None => vec![mds::default_root()],
        };
        let blob = MdsBlob::verify(&read(mds_path)?, &roots, at)
            .map_err(|e| format!("{}: {e}; refusing to use it", mds_path.display()))?;
        if blob.is_stale(at) {
            eprintln!(
                "warning: metadata BLOB {} (no {}) was due for replacement on {}; fetch a fresh one",
                mds_path.display(),
                blob.no,
                blob.next_update
            );
        }
        trust.set_mds(blob);
    }

    let opts = attest::VerifyOptions {
        at,
        expected_challenge: None,
        rp_id: None,
    };
    let mut reports = Vec::with_capacity(evidence.len());
    for (file, ev) in &evidence {
        let result =
            attest::verify_evidence(ev, &trust, &opts).map_err(|e| format!("{file}: {e}"))?;
        let eligibility = attest::evaluate(&result, ev.device.as_ref(), &policy);
        reports.push(FileReport::new(file, &result, &eligibility));
    }

    if global.json {
        print_json(&reports)?;
    } else {
        print_table(&reports);
    }
    let all_ok = reports
        .iter()
        .all(|r| r.attestation == "valid" && r.eligible);
    Ok(if all_ok {
        Outcome::Ok
    } else {
        Outcome::Findings
    })
}

fn print_table(reports: &[FileReport]) {
    let mut t = Table::new([
        "file",
        "attestation",
        "fmt",
        "model",
        "trust root",
        "certification",
        "eligible",
        "assurance",
    ]);
    for r in reports {
        t.row([
            r.file.clone(),
            match r.reason_code {
                Some(code) => format!("{} ({code})", r.attestation),
                None => r.attestation.to_string(),
            },
            r.fmt.clone().unwrap_or_else(|| "-".into()),
            r.model.clone().unwrap_or_else(|| "unknown".into()),
            r.trust_root.clone().unwrap_or_else(|| "-".into()),
            r.certification.unwrap_or("-").to_string(),
            if r.eligible { "yes" } else { "NO" }.to_string(),
            r.assurance.map_or("-", |a| a.as_str()).to_string(),
        ]);
    }
    println!("{t}");
    for r in reports {
        if r.reason.is_none() && r.policy_findings.is_empty() {
            continue;
        }
        // Certificate names and file names come from outside: escaped for the terminal.
        println!("{}:", escape(&r.file));
        if let Some(reason) = &r.reason {
            println!("  {}: {}", r.attestation, escape(reason));
        }
        for f in &r.policy_findings {
            let sev = serde_json::to_value(f.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            println!("  [{sev}] {}: {}", f.id, escape(&f.message));
        }
    }
}
