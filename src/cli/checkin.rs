//! `rootkey checkin`: the returned key proves itself; two custodians approve.

use super::custodian::{parse_pair, CustodianDevices};
use super::{print_json, CmdResult, GlobalArgs, Outcome};
use crate::custody::flows::checkin::{self, CheckinRequest};
use crate::custody::Station;
use crate::device::DeviceSpec;

/// `rootkey checkin` flags (the returned key itself is `--device`).
#[derive(Debug, clap::Args)]
pub struct CheckinArgs {
    /// Key id
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Serial of the new tamper-evident bag
    #[arg(long, value_name = "SERIAL")]
    pub bag: String,
    /// The two custodians approving, as A,B
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub custodians: [String; 2],
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Runs `rootkey checkin`.
pub fn run(a: CheckinArgs, global: &GlobalArgs) -> CmdResult {
    let req = CheckinRequest {
        actor: a.custodians[0].clone(),
        key_id: a.key.clone(),
        key_device: DeviceSpec::from_flag(global.device.as_deref())?,
        bag_serial: a.bag.clone(),
        custodians: a.keys.approvers(&a.custodians)?,
    };
    let mut ledger = Station::open(&global.ledger_path()?, None)?;
    let o = checkin::checkin(&mut ledger, &mut global.console(), &req)?;
    if global.json {
        print_json(&o)?;
    } else {
        let when = if o.late {
            format!(
                "LATE: the window ended {}",
                crate::report::fmt_time(o.window_end)
            )
        } else {
            "on time".to_string()
        };
        println!(
            "key {} checked in ({when}), sealed in bag {} (entry {})",
            o.key_id, o.bag_serial, o.seq
        );
    }
    Ok(Outcome::Ok)
}
