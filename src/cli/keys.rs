//! `rootkey keys ...`: list and inspect security keys, set their PIN, produce attestation evidence.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome, Table};
use crate::custody::flows::PinSource;
use crate::device::{self, DeviceInfo, DeviceSpec};

/// `rootkey keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// List the security keys plugged in (or the one --device names)
    List,
    /// Show one key in full (its PIN state included)
    Info,
    /// Ask the key in hand what it is to the ledger: which custodian's key or which root key it
    /// holds the credential of (a silent probe: no touch), with its model and firmware
    Identify,
    /// Set the key's PIN, or change it (the current PIN is asked first). Scripted with
    /// --pin-stdin or --pin-fd: the current PIN on the first line when the key has one, then the
    /// new PIN
    SetPin,
    /// Create a software authenticator in FILE, for tests and demos (refuses to overwrite one),
    /// and set its PIN: from --pin-stdin, --pin-fd or --pin-env, else prompted
    SoftInit {
        /// The new key's state file (then use it as `--device soft:FILE`)
        file: PathBuf,
        /// Leave the new key without a PIN
        #[arg(long)]
        no_pin: bool,
    },
    /// Make a custody credential and write its attestation evidence (JSON)
    Attest {
        /// Write the evidence to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the keys in custody, from the ledger: location, bag, whether out, last proof
    Enrolled {
        /// Only the keys guarding this AWS account
        #[arg(long, value_name = "ID", value_parser = super::parse_account_id)]
        account: Option<String>,
        /// Also print each key's history: where it has been, who had it, when it proved itself
        #[arg(long)]
        history: bool,
    },
    /// Prove a key in custody is present (the key in --device signs a fresh challenge with its
    /// custody credential) and record it in the ledger as key.verified
    Verify(VerifyArgs),
    /// Move a key in the safe to another location (the key in --device proves itself and is
    /// sealed in a new bag); two custodians approve
    Move(super::lifecycle::MoveArgs),
    /// Retire a key for good (lost, destroyed, compromised, replaced); two custodians approve
    Retire(super::lifecycle::RetireArgs),
}

/// `rootkey keys verify` flags.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Key id
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Witnessing custodian(s): one, or two (A,B) when the bag was opened and resealed
    #[arg(long, value_name = "A[,B]", value_delimiter = ',', required = true)]
    pub custodians: Vec<String>,
    /// Serial of the new bag, when the bag had to be opened for the check
    #[arg(long, value_name = "SERIAL")]
    pub bag: Option<String>,
    #[command(flatten)]
    pub keys: super::custodian::CustodianDevices,
}

/// Runs one `rootkey keys` subcommand.
pub fn run(cmd: KeysCmd, global: &GlobalArgs) -> CmdResult {
    // The custody inventory reads only the ledger: a bad --device must not stop it.
    let spec = || DeviceSpec::from_flag(global.device.as_deref());
    match cmd {
        KeysCmd::List => list(&spec()?, global.json),
        KeysCmd::Info => info(&spec()?, global.json),
        KeysCmd::Identify => identify(spec()?, global),
        KeysCmd::SetPin => set_pin(&spec()?, global.pin_source()),
        KeysCmd::SoftInit { file, no_pin } => soft_init(&file, no_pin, global.pin_source()),
        KeysCmd::Attest { out } => {
            attest(&spec()?, out.as_deref(), global.pin_source(), global.json)
        }
        KeysCmd::Enrolled { account, history } => enrolled(account.as_deref(), history, global),
        KeysCmd::Verify(args) => verify(args, spec()?, global),
        KeysCmd::Move(args) => super::lifecycle::run_move(args, spec()?, global),
        KeysCmd::Retire(args) => super::lifecycle::run_retire(args, global),
    }
}

fn enrolled(account: Option<&str>, history: bool, global: &GlobalArgs) -> CmdResult {
    let ledger = crate::custody::Station::open_readonly(&global.ledger_path()?)?;
    let now = time::OffsetDateTime::now_utc();
    let keys = crate::custody::flows::inventory::inventory(ledger.state(), account, now);
    if global.json {
        print_json(&keys)?;
        return Ok(Outcome::Ok);
    }
    if keys.is_empty() {
        eprintln!(
            "no keys in custody{}: onboard an account with `rootkey enroll`",
            account
                .map(|a| format!(" for account {a}"))
                .unwrap_or_default()
        );
        return Ok(Outcome::Ok);
    }
    let mut t = Table::new([
        "key",
        "account",
        "role",
        "attested as",
        "location",
        "bag",
        "status",
        "last proof",
        "AWS device",
    ]);
    for k in &keys {
        let status = match k.due {
            Some(due) => format!(
                "{} (due {})",
                k.status.replace('_', " "),
                crate::report::fmt_time(due)
            ),
            None => k.status.replace('_', " "),
        };
        let proof = format!(
            "{}{}",
            crate::report::fmt_time(k.last_possession),
            if k.possession_stale { " (stale)" } else { "" }
        );
        t.row([
            k.key_id.clone(),
            k.account_id.clone(),
            k.role.to_string(),
            match k.assurance {
                "hardware" => k.model.clone(),
                "software" => format!("SOFTWARE, not hardware: {}", k.model),
                _ => format!("NOT PROVEN HARDWARE (root trusted by hand): {}", k.model),
            },
            k.location.clone(),
            k.bag_serial.clone(),
            status,
            proof,
            k.serial_arn
                .clone()
                .unwrap_or_else(|| "not confirmed".into()),
        ]);
    }
    println!("{t}");
    if history {
        for k in &keys {
            println!(
                "\nkey {} ({} of account {}):",
                k.key_id, k.role, k.account_id
            );
            let mut h = Table::new(["entry", "time", "what"]);
            for step in &k.history {
                h.row([
                    step.seq.to_string(),
                    crate::report::fmt_time(step.time),
                    step.detail.clone(),
                ]);
            }
            println!("{h}");
        }
    }
    Ok(Outcome::Ok)
}

fn verify(a: VerifyArgs, spec: DeviceSpec, global: &GlobalArgs) -> CmdResult {
    use crate::custody::flows::verify;
    let req = verify::VerifyRequest {
        actor: a.custodians.first().cloned().unwrap_or_default(),
        key_id: a.key.clone(),
        key_device: spec,
        custodians: a.keys.approver_list(&a.custodians)?,
        new_bag: a.bag.clone(),
    };
    let mut ledger = crate::custody::Station::open(&global.ledger_path()?, None)?;
    let o = verify::verify(&mut ledger, &mut global.console(), &req)?;
    if global.json {
        print_json(&o)?;
    } else {
        println!(
            "key {} (account {}) is present: its custody credential signed a fresh challenge (counter {}); recorded at entry {}",
            o.key_id, o.account_id, o.counter, o.seq
        );
    }
    Ok(Outcome::Ok)
}

fn list(spec: &DeviceSpec, json: bool) -> CmdResult {
    let keys = device::list(spec)?;
    if keys.is_empty() {
        eprintln!(
            "no FIDO security key found (if one is plugged in, install the udev rules: {})",
            device::UDEV_INSTALL
        );
    }
    for k in keys.iter().filter(|k| k.error.is_some()) {
        eprintln!(
            "warning: {}: {}",
            crate::text::escape(&k.path),
            crate::text::escape(k.error.as_deref().unwrap_or(""))
        );
    }
    if json {
        print_json(&keys)?;
    } else if !keys.is_empty() {
        let mut t = Table::new([
            "path",
            "model",
            "usb id",
            "product",
            "aaguid",
            "firmware",
            "ctap",
            "pin",
            "uv",
            "attestation",
        ]);
        for k in &keys {
            t.row([
                k.path.clone(),
                model_cell(k),
                usb_id(k),
                join_opt([k.manufacturer.as_deref(), k.product.as_deref()]),
                k.aaguid_text().unwrap_or_else(|| "-".into()),
                k.firmware_version.clone().unwrap_or_else(|| "-".into()),
                list_or_dash(&k.versions),
                yes_no(k.pin_set, "set", "not set"),
                yes_no(k.uv, "configured", "not configured"),
                list_or_dash(&k.attestation_formats),
            ]);
        }
        println!("{t}");
    }
    Ok(Outcome::Ok)
}

/// What `keys identify` found.
#[derive(Serialize)]
struct Identity {
    path: String,
    model: String,
    aaguid: Option<String>,
    firmware_version: Option<String>,
    is_software: bool,
    /// Whose credential the key holds, as the ledger names it; None: none the ledger knows.
    holds: Option<String>,
}

fn identify(spec: DeviceSpec, global: &GlobalArgs) -> CmdResult {
    use crate::custody::flows::{refuse_known, FlowError};
    let ledger = crate::custody::Station::open_readonly(&global.ledger_path()?)?;
    let info = device::open(&spec)?.info()?;
    let mut console = global.console();
    // The same silent probe enrollment uses to refuse a known key, over every credential the
    // ledger knows on both RP IDs: "refused, it holds X" is the answer here.
    let holds = match refuse_known(&mut console, "the key in hand", &spec, ledger.state()) {
        Ok(()) => None,
        Err(FlowError::KnownKey { owner, .. }) => Some(owner),
        Err(e) => return Err(e.into()),
    };
    let id = Identity {
        path: info.path.clone(),
        model: model_cell(&info),
        aaguid: info.aaguid_text(),
        firmware_version: info.firmware_version.clone(),
        is_software: info.is_software,
        holds,
    };
    if global.json {
        print_json(&id)?;
        return Ok(Outcome::Ok);
    }
    let mut t = Table::new(["field", "value"]);
    t.row(["key".to_string(), id.path.clone()]);
    t.row(["model".to_string(), id.model.clone()]);
    t.row([
        "aaguid".to_string(),
        id.aaguid.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.row([
        "firmware".to_string(),
        id.firmware_version
            .clone()
            .unwrap_or_else(|| "not reported".into()),
    ]);
    t.row([
        "holds".to_string(),
        id.holds.clone().unwrap_or_else(|| {
            "no credential this ledger knows (a new or a stranger's key)".into()
        }),
    ]);
    println!("{t}");
    Ok(Outcome::Ok)
}

#[derive(Serialize)]
struct KeyDetails {
    #[serde(flatten)]
    info: DeviceInfo,
    pin_retries: Option<u32>,
}

fn info(spec: &DeviceSpec, json: bool) -> CmdResult {
    let mut key = device::open(spec)?;
    let info = key.info()?;
    let pin = key.pin_state()?;
    let details = KeyDetails {
        info,
        pin_retries: pin.pin_retries,
    };
    if json {
        print_json(&details)?;
        return Ok(Outcome::Ok);
    }
    let k = &details.info;
    let mut t = Table::new(["field", "value"]);
    t.row(["path".to_string(), k.path.clone()]);
    t.row(["model".to_string(), model_cell(k)]);
    t.row([
        "software".to_string(),
        yes_no(Some(k.is_software), "YES (not hardware)", "no"),
    ]);
    t.row(["usb id".to_string(), usb_id(k)]);
    t.row([
        "manufacturer".to_string(),
        k.manufacturer.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.row([
        "product".to_string(),
        k.product.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.row([
        "aaguid".to_string(),
        k.aaguid_text().unwrap_or_else(|| "-".into()),
    ]);
    t.row([
        "firmware".to_string(),
        k.firmware_version.clone().unwrap_or_else(|| "-".into()),
    ]);
    t.row(["ctap versions".to_string(), list_or_dash(&k.versions)]);
    t.row(["pin".to_string(), yes_no(k.pin_set, "set", "not set")]);
    t.row([
        "pin retries".to_string(),
        details.pin_retries.map_or("-".into(), |r| r.to_string()),
    ]);
    t.row([
        "uv (built-in)".to_string(),
        yes_no(k.uv, "configured", "not configured"),
    ]);
    t.row([
        "attestation formats".to_string(),
        list_or_dash(&k.attestation_formats),
    ]);
    println!("{t}");
    Ok(Outcome::Ok)
}

fn soft_init(file: &Path, no_pin: bool, mut pins: PinSource) -> CmdResult {
    // The PIN first: a key is never left behind without the PIN that was asked for.
    let pin = if no_pin {
        None
    } else {
        Some(new_pin(&mut pins)?)
    };
    let mut key = device::soft::SoftAuthenticator::create(file)?;
    if let Some(pin) = pin {
        if let Err(e) = device::Authenticator::set_pin(&mut key, None, &pin) {
            let _ = std::fs::remove_file(file);
            return Err(e.into());
        }
    }
    eprintln!(
        "created software authenticator {} ({}; NOT HARDWARE: for tests and demos); use it as \
         --device soft:{}",
        file.display(),
        if no_pin { "no PIN" } else { "PIN set" },
        file.display()
    );
    Ok(Outcome::Ok)
}

fn set_pin(spec: &DeviceSpec, mut pins: PinSource) -> CmdResult {
    let mut key = device::open(spec)?;
    let has_pin = key.pin_state()?.pin_set == Some(true);
    let current = if has_pin {
        Some(pins.get("current PIN", "Current PIN: ")?)
    } else {
        None
    };
    let new = new_pin(&mut pins)?;
    key.set_pin(current.as_deref(), &new)?;
    eprintln!("PIN {}", if has_pin { "changed" } else { "set" });
    Ok(Outcome::Ok)
}

/// A new PIN: the next scripted one, or prompted twice (and checked) on the terminal.
fn new_pin(pins: &mut PinSource) -> Result<String, CliError> {
    if let Some(new) = pins.scripted("new PIN")? {
        return Ok(new);
    }
    let new = pins.get("new PIN", "New PIN: ")?;
    device::check_new_pin(&new)?;
    if pins.get("new PIN", "New PIN again: ")? != new {
        return Err("the two new PINs differ; nothing changed".into());
    }
    Ok(new)
}

fn attest(spec: &DeviceSpec, out: Option<&Path>, mut pins: PinSource, json: bool) -> CmdResult {
    let mut key = device::open(spec)?;
    let pin = if key.pin_state()?.pin_set == Some(true) {
        Some(pins.get("key's PIN", "PIN: ")?)
    } else {
        None
    };
    if !key.info()?.is_software {
        eprintln!("touch your key when it blinks");
    }
    let (evidence, reg) = device::attest(key.as_mut(), pin)?;
    let text = serde_json::to_string_pretty(&evidence)? + "\n";
    match out {
        None => {
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Some(path) => {
            write_new_file(path, text.as_bytes())?;
            let summary = AttestSummary {
                out: path.display().to_string(),
                fmt: evidence.fmt.clone(),
                aaguid: evidence.aaguid.clone(),
                credential_id_b64url: crate::webauthn::b64url(&reg.credential_id),
            };
            if json {
                print_json(&summary)?;
            } else {
                eprintln!(
                    "wrote attestation evidence to {} (format {}, AAGUID {})",
                    summary.out,
                    summary.fmt.as_deref().unwrap_or("?"),
                    summary.aaguid.as_deref().unwrap_or("?"),
                );
            }
        }
    }
    Ok(Outcome::Ok)
}

#[derive(Serialize)]
struct AttestSummary {
    out: String,
    fmt: Option<String>,
    aaguid: Option<String>,
    credential_id_b64url: String,
}

/// Writes `bytes` to `path` all at once (temp file + rename): never a half-written file.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::fsutil::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

fn model_cell(k: &DeviceInfo) -> String {
    match (&k.model, k.is_software) {
        (Some(m), _) => m.clone(),
        (None, true) => "software (NOT HARDWARE)".into(),
        (None, false) => "unknown model".into(),
    }
}

fn usb_id(k: &DeviceInfo) -> String {
    match (k.vendor_id, k.product_id) {
        (Some(v), Some(p)) => format!("{v:04x}:{p:04x}"),
        _ => "-".into(),
    }
}

fn yes_no(v: Option<bool>, yes: &str, no: &str) -> String {
    match v {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => "-".into(),
    }
}

fn list_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

fn join_opt<'a>(parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let s: Vec<&str> = parts.into_iter().flatten().collect();
    if s.is_empty() {
        "-".into()
    } else {
        s.join(" ")
    }
}
