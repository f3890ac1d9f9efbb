//! `rootkey config show` and `rootkey config init`: the effective configuration with where each
//! value came from, and a commented template to start from. The settings themselves belong to
//! their layers (`[policy]` to attest, `[aws]` to aws); this is where the CLI lists them together.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome, Table};
use crate::attest::policy::{configs_from_table, PolicyConfig};
use crate::aws::findings::FindingConfig;

/// `rootkey config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCmd {
    /// Print the effective configuration: every setting, its value, and where it came from
    /// (default, the file, an environment variable or a flag)
    Show,
    /// Write a commented template of every setting (refuses to overwrite an existing file)
    Init {
        /// Where to write it [default: --config, ROOTKEY_CONFIG, or
        /// $XDG_CONFIG_HOME/rootkey/config.toml]
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
    },
}

/// Runs one `rootkey config` subcommand.
pub fn run(cmd: ConfigCmd, global: &GlobalArgs) -> CmdResult {
    match cmd {
        ConfigCmd::Show => show(global),
        ConfigCmd::Init { path } => init(path, global),
    }
}

/// One effective setting.
#[derive(Debug, Serialize)]
struct Setting {
    key: String,
    value: String,
    source: String,
}

fn show(global: &GlobalArgs) -> CmdResult {
    let config = global.load_config()?;
    let file = config
        .path()
        .map(|p| format!("file {}", p.display()))
        .unwrap_or_default();
    let mut out = globals(global)?;
    // Each section is checked by its own layer's parser, exactly as the commands read it.
    let (root, custodian) = configs_from_table(config.value("policy"))?;
    let policy = config.value("policy").and_then(toml::Value::as_table);
    let custodian_file = policy
        .and_then(|t| t.get("custodian"))
        .and_then(toml::Value::as_table);
    section(&mut out, "policy", &root, policy, &file)?;
    section(
        &mut out,
        "policy.custodian",
        &custodian,
        custodian_file,
        &file,
    )?;
    let aws: FindingConfig = config.section("aws")?;
    let aws_file = config.value("aws").and_then(toml::Value::as_table);
    section(&mut out, "aws", &aws, aws_file, &file)?;
    if let Some(table) = config.value("ledger").and_then(toml::Value::as_table) {
        // [ledger.*] sections are read by the ledger layer; shown as written.
        for (k, v) in table {
            out.push(Setting {
                key: format!("ledger.{k}"),
                value: v.to_string(),
                source: file.clone(),
            });
        }
    }
    print_settings(&out, global.json)?;
    Ok(Outcome::Ok)
}

/// The settings every command takes from a flag, an environment variable or a default.
fn globals(global: &GlobalArgs) -> Result<Vec<Setting>, CliError> {
    let ledger = global.ledger_path()?;
    let config_path = match &global.config {
        Some(p) => p.display().to_string(),
        None => {
            let p = crate::config::config_dir()?.join("config.toml");
            let note = if p.exists() { "" } else { " (absent)" };
            format!("{}{note}", p.display())
        }
    };
    let device = global.device.clone().unwrap_or_else(|| "hid".into());
    let pins = match global.pin_source().kind() {
        crate::custody::flows::PinKind::Env(v) => format!("env var {v}"),
        crate::custody::flows::PinKind::Stdin => "stdin".into(),
        crate::custody::flows::PinKind::Fd(n) => format!("file descriptor {n}"),
        _ => "prompt".into(),
    };
    Ok(vec![
        flag_setting(
            "ledger",
            ledger.display().to_string(),
            global.ledger.is_some(),
            "ROOTKEY_LEDGER",
        ),
        flag_setting(
            "config",
            config_path,
            global.config.is_some(),
            "ROOTKEY_CONFIG",
        ),
        flag_setting("device", device, global.device.is_some(), "ROOTKEY_DEVICE"),
        Setting {
            key: "pins".into(),
            value: pins,
            source: if global.pin_stdin || global.pin_fd.is_some() || global.pin_env.is_some() {
                "flag".into()
            } else {
                "default".into()
            },
        },
    ])
}

/// A global setting: from its flag, its environment variable (clap read it), or the default.
fn flag_setting(name: &str, value: String, given: bool, env: &str) -> Setting {
    let flag = format!("--{name}");
    let on_command_line = std::env::args().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
    let source = match (given, on_command_line) {
        (false, _) => "default".to_string(),
        (true, true) => format!("flag {flag}"),
        (true, false) => format!("env {env}"),
    };
    Setting {
        key: name.into(),
        value,
        source,
    }
}

/// Every field of a section: the value in effect, from the file when written there.
fn section<T: Serialize>(
    out: &mut Vec<Setting>,
    name: &str,
    effective: &T,
    in_file: Option<&toml::Table>,
    file: &str,
) -> Result<(), CliError> {
    let toml::Value::Table(fields) = toml::Value::try_from(effective)? else {
        return Err(format!("[{name}] is not a table").into());
    };
    for key in all_fields(name, &fields) {
        let value = fields
            .get(&key)
            .map_or("(unset)".to_string(), |v| v.to_string());
        let written = in_file.is_some_and(|t| t.contains_key(&key));
        out.push(Setting {
            key: format!("{name}.{key}"),
            value,
            source: if written {
                file.to_string()
            } else {
                "default".into()
            },
        });
    }
    Ok(())
}

/// The section's fields, including the optional ones that serialize to nothing when unset.
fn all_fields(name: &str, fields: &toml::Table) -> Vec<String> {
    let mut keys: Vec<String> = fields.keys().cloned().collect();
    if name.starts_with("policy") && !keys.iter().any(|k| k == "min_certification") {
        keys.push("min_certification".into());
    }
    keys.sort();
    keys
}

fn print_settings(settings: &[Setting], json: bool) -> Result<(), CliError> {
    if json {
        return print_json(settings);
    }
    let mut t = Table::new(["setting", "value", "from"]);
    for s in settings {
        t.row([s.key.as_str(), s.value.as_str(), s.source.as_str()]);
    }
    println!("{t}");
    Ok(())
}

fn init(path: Option<PathBuf>, global: &GlobalArgs) -> CmdResult {
    let path = match path.or_else(|| global.config.clone()) {
        Some(p) => p,
        None => crate::config::config_dir()?.join("config.toml"),
    };
    write_template(&path)?;
    eprintln!(
        "wrote a configuration template to {}: every setting is commented out at its default; \
         uncomment what you change. Check it with `rootkey --config {} config show`",
        path.display(),
        path.display()
    );
    Ok(Outcome::Ok)
}

fn write_template(path: &Path) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let created = crate::fsutil::create_once(path, template()?.as_bytes(), 0o644)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if !created {
        return Err(format!(
            "{} already exists: not overwritten. Edit it, or give another --path",
            path.display()
        )
        .into());
    }
    Ok(())
}

/// The template: each section with every field commented out at its default value, so the file
/// parses as it is and uncommenting a line changes one thing.
pub fn template() -> Result<String, CliError> {
    let mut s = String::from(TEMPLATE_HEAD);
    let policy = commented(&PolicyConfig::default())?;
    s += "\n# Attestation policy for root keys (docs/policy.md).\n[policy]\n";
    s += &policy;
    s += "# min_certification = \"L1\"   # default: unset (not required)\n";
    s += "\n# Attestation policy for custodian keys: same fields, does NOT inherit [policy].\n";
    s += "[policy.custodian]\n";
    s += &policy;
    s += "# min_certification = \"L1\"   # default: unset (not required)\n";
    s += "\n# AWS posture and audit checks (docs/configuration.md).\n[aws]\n";
    s += &commented(&FindingConfig::default())?;
    s += TEMPLATE_LEDGER;
    Ok(s)
}

fn commented<T: Serialize>(value: &T) -> Result<String, CliError> {
    let text = toml::to_string(value)?;
    Ok(text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("# {l}\n"))
        .collect())
}

const TEMPLATE_HEAD: &str = "\
# rootkey configuration (TOML). Every setting is documented in docs/configuration.md.
# Lines starting with # are the defaults: uncomment a line to change it.
# `rootkey config show` prints what is in effect and where each value came from.
";

const TEMPLATE_LEDGER: &str = "
# [ledger.anchor]: where the ledger's checkpoints are anchored (docs/configuration.md).
";
