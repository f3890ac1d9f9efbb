//! `rootkey custodian ...`: the people who approve (bootstrap, add, remove, list).

use super::{print_json, CliError, CmdResult, GlobalArgs, Outcome, Table};
use crate::custody::flows::approve::parse_custodian_device;
use crate::custody::flows::custodians::{
    self, AddRequest, BootstrapRequest, CustodianOutcome, NewCustodian, RemoveRequest,
};
use crate::custody::flows::{Approver, Eligibility};
use crate::custody::{Role, Station};
use crate::device::DeviceSpec;

/// Custodians' keys: `--custodian-device ID=SPEC`, repeatable; flatten into any approving command.
#[derive(Debug, Clone, clap::Args)]
pub struct CustodianDevices {
    /// Key of one custodian, as ID=SPEC (`alice=hid:/dev/hidraw2`, `bob=soft:FILE`); repeat
    /// for each; custodians not named use `hid` (the one key plugged in, swapped between them)
    #[arg(long = "custodian-device", value_name = "ID=SPEC", value_parser = parse_custodian_device)]
    pub devices: Vec<(String, DeviceSpec)>,
}

impl CustodianDevices {
    /// The approvers for `ids`, each with their key; see [`Self::check_named`].
    pub fn approvers<const N: usize>(&self, ids: &[String; N]) -> Result<[Approver; N], CliError> {
        self.check_named(ids)?;
        Ok(ids
            .clone()
            .map(|id| Approver::with_devices(id.trim(), &self.devices)))
    }

    /// The approvers for a list of `ids`, each with their key; see [`Self::check_named`].
    pub fn approver_list(&self, ids: &[String]) -> Result<Vec<Approver>, CliError> {
        self.check_named(ids)?;
        Ok(ids
            .iter()
            .map(|id| Approver::with_devices(id.trim(), &self.devices))
            .collect())
    }

    /// No silent fallbacks: every `--custodian-device ID=SPEC` must name someone this command
    /// asks to approve, and only once. A misspelt id would otherwise be ignored and that
    /// person's approval taken from whatever `hid` key is plugged in.
    pub fn check_named(&self, ids: &[String]) -> Result<(), CliError> {
        let key = |s: &str| crate::text::id_key(s.trim());
        for (i, (id, _)) in self.devices.iter().enumerate() {
            if self.devices[..i]
                .iter()
                .any(|(other, _)| key(other) == key(id))
            {
                return Err(format!(
                    "--custodian-device names {} twice: give each person's key once",
                    crate::text::escape(id)
                )
                .into());
            }
            if !ids.iter().any(|named| key(named) == key(id)) {
                return Err(format!(
                    "--custodian-device {}=...: {} is not asked to approve this command (it \
                     names {}); remove it or correct the id",
                    crate::text::escape(id),
                    crate::text::escape(id),
                    if ids.is_empty() {
                        "nobody".to_string()
                    } else {
                        crate::text::escape(&ids.join(", ")).to_string()
                    }
                )
                .into());
            }
        }
        Ok(())
    }
}

/// Parses `A,B`: exactly two ids.
pub fn parse_pair(s: &str) -> Result<[String; 2], String> {
    let ids: Vec<String> = s.split(',').map(|p| p.trim().to_string()).collect();
    match ids.as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() => Ok([a.clone(), b.clone()]),
        _ => Err(format!("`{s}`: give exactly two custodian ids, as A,B")),
    }
}

/// `rootkey custodian` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CustodianCmd {
    /// Enroll the first two custodians together (only while the registry is empty); each
    /// enrolls their own key and both approve with it
    Bootstrap(BootstrapArgs),
    /// Enroll one more person with their own key (--device), approved by two custodians
    Add(AddArgs),
    /// Remove a person, approved by two custodians
    Remove(RemoveArgs),
    /// Replace a person's own key with a new one (--device): approved by the person with their
    /// current key, or by two other custodians when it is lost
    Rotate(RotateArgs),
    /// List everyone the ledger enrolled
    List,
}

/// `rootkey custodian bootstrap` flags.
#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// First custodian's id
    #[arg(long, value_name = "ID")]
    pub first: String,
    /// First custodian's display name
    #[arg(long, value_name = "NAME")]
    pub first_name: String,
    /// Second custodian's id
    #[arg(long, value_name = "ID")]
    pub second: String,
    /// Second custodian's display name
    #[arg(long, value_name = "NAME")]
    pub second_name: String,
    #[command(flatten)]
    pub trust: KeyTrust,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// How a new custodian key's attestation is judged: extra roots and the custodian policy.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyTrust {
    /// Also trust every *.pem in DIR as an attestation root (e.g. the software key's CA)
    #[arg(long, value_name = "DIR")]
    pub roots: Option<std::path::PathBuf>,
    /// Policy file (TOML) [default: the config's [policy.custodian]]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
}

impl KeyTrust {
    /// Trust anchors and the custodian-key policy.
    pub fn eligibility(&self, global: &GlobalArgs) -> Result<Eligibility, super::CliError> {
        let (trust, policy) = super::attest::trust_and_policy(
            crate::attest::KeyPurpose::Custodian,
            self.roots.as_deref(),
            self.policy.as_deref(),
            global,
        )?;
        Ok(Eligibility { trust, policy })
    }
}

/// `rootkey custodian add` flags.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The new person's id (stable, unique)
    pub id: String,
    /// Display name
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Role
    #[arg(long, value_enum, default_value_t = RoleArg::Custodian)]
    pub role: RoleArg,
    /// The two custodians approving, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub approvers: [String; 2],
    #[command(flatten)]
    pub trust: KeyTrust,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// `rootkey custodian remove` flags.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The person's id
    pub id: String,
    /// The two custodians approving, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub approvers: [String; 2],
    /// Why, for the record
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// `rootkey custodian rotate` flags.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// The person whose key is replaced
    #[arg(long, value_name = "ID")]
    pub id: String,
    /// Why (lost, broken, upgraded)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who approves: the person themselves (with their current key), or two other custodians
    #[arg(long, value_name = "ID[,ID]", value_delimiter = ',', required = true)]
    pub approvers: Vec<String>,
    #[command(flatten)]
    pub trust: KeyTrust,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Approves custody changes
    Custodian,
    /// Reads and audits
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Custodian => Role::Custodian,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

/// Runs one `rootkey custodian` subcommand.
pub fn run(cmd: CustodianCmd, global: &GlobalArgs) -> CmdResult {
    let path = global.ledger_path()?;
    let mut console = global.console();
    let outcome = match cmd {
        CustodianCmd::List => return list(&Station::open_readonly(&path)?, global.json),
        CustodianCmd::Bootstrap(a) => {
            a.keys.check_named(&[a.first.clone(), a.second.clone()])?;
            let person = |id: &String, name: &String| NewCustodian {
                id: id.clone(),
                name: name.clone(),
                role: Role::Custodian,
                device: Approver::with_devices(id, &a.keys.devices).device,
            };
            let req = BootstrapRequest {
                actor: a.first.clone(),
                first: person(&a.first, &a.first_name),
                second: person(&a.second, &a.second_name),
            };
            let elig = a.trust.eligibility(global)?;
            custodians::bootstrap(&mut Station::open(&path, None)?, &mut console, &req, &elig)?
        }
        CustodianCmd::Add(a) => {
            let req = AddRequest {
                actor: a.approvers[0].clone(),
                person: NewCustodian {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    role: a.role.into(),
                    device: DeviceSpec::from_flag(global.device.as_deref())?,
                },
                approvers: a.keys.approvers(&a.approvers)?,
            };
            let elig = a.trust.eligibility(global)?;
            custodians::add(&mut Station::open(&path, None)?, &mut console, &req, &elig)?
        }
        CustodianCmd::Rotate(a) => {
            let req = custodians::RotateRequest {
                actor: a.id.clone(),
                id: a.id.clone(),
                device: DeviceSpec::from_flag(global.device.as_deref())?,
                reason: a.reason.clone(),
                approvers: a.keys.approver_list(&a.approvers)?,
            };
            let elig = a.trust.eligibility(global)?;
            custodians::rotate(&mut Station::open(&path, None)?, &mut console, &req, &elig)?
        }
        CustodianCmd::Remove(a) => {
            let req = RemoveRequest {
                actor: a.approvers[0].clone(),
                id: a.id.clone(),
                reason: a.reason.clone(),
                approvers: a.keys.approvers(&a.approvers)?,
            };
            custodians::remove(&mut Station::open(&path, None)?, &mut console, &req)?
        }
    };
    print_outcome(&outcome, global.json)
}

fn print_outcome(o: &CustodianOutcome, json: bool) -> CmdResult {
    if json {
        print_json(o)?;
    } else {
        for c in &o.custodians {
            let what = if o.kind.ends_with("removed") {
                "removed"
            } else if o.kind.ends_with("rotated") {
                "gave a new key to"
            } else {
                "enrolled"
            };
            println!(
                "{what} {} ({}, {}) at ledger entry {}",
                c.id,
                c.name,
                c.role.as_str(),
                o.seq
            );
        }
    }
    Ok(Outcome::Ok)
}

fn list(station: &Station, json: bool) -> CmdResult {
    let people = custodians::list(station);
    if json {
        print_json(&people)?;
        return Ok(Outcome::Ok);
    }
    if people.is_empty() {
        println!("no custodians yet: enroll the first two with `rootkey custodian bootstrap`");
        return Ok(Outcome::Ok);
    }
    let mut t = Table::new([
        "id",
        "name",
        "role",
        "key",
        "status",
        "added at",
        "removed at",
    ]);
    for p in &people {
        t.row([
            p.id.clone(),
            p.name.clone(),
            p.role.as_str().to_string(),
            if p.software {
                format!("SOFTWARE, not hardware: {}", p.model)
            } else {
                p.model.clone()
            },
            if p.active { "active" } else { "removed" }.to_string(),
            p.added_seq.to_string(),
            p.removed_seq.map_or("-".to_string(), |s| s.to_string()),
        ]);
    }
    println!("{t}");
    Ok(Outcome::Ok)
}
