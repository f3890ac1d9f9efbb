//! `rootkey checkout`: a dual-control break-glass checkout.

use super::custodian::CustodianDevices;
use super::{print_json, CmdResult, GlobalArgs, Outcome};
use crate::custody::flows::checkout::{self, CheckoutRequest};
use crate::custody::flows::Approver;
use crate::custody::Station;

/// `rootkey checkout` flags.
#[derive(Debug, clap::Args)]
pub struct CheckoutArgs {
    /// Key id (`rootkey keys enrolled`)
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Why root access is needed
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Change or incident ticket reference
    #[arg(long, value_name = "REF")]
    pub ticket: String,
    /// How long the key may stay out (5m to 7d): 4h, 90m, 2d
    #[arg(long, value_name = "DURATION")]
    pub window: String,
    /// The custodian who needs the key
    #[arg(long, value_name = "ID")]
    pub requester: String,
    /// The second custodian approving
    #[arg(long, value_name = "ID")]
    pub approver: String,
    /// Serial printed on the bag you are about to break (checked against the ledger)
    #[arg(long, value_name = "SERIAL")]
    pub bag_broken: Option<String>,
    #[command(flatten)]
    pub keys: CustodianDevices,
}

/// Runs `rootkey checkout`.
pub fn run(a: CheckoutArgs, global: &GlobalArgs) -> CmdResult {
    let req = CheckoutRequest {
        actor: a.requester.clone(),
        key_id: a.key.clone(),
        reason: a.reason.clone(),
        ticket: a.ticket.clone(),
        window: a.window.clone(),
        requester: {
            a.keys
                .check_named(&[a.requester.clone(), a.approver.clone()])?;
            Approver::with_devices(&a.requester, &a.keys.devices)
        },
        approver: Approver::with_devices(&a.approver, &a.keys.devices),
        bag_broken: a.bag_broken.clone(),
    };
    let mut ledger = Station::open(&global.ledger_path()?, None)?;
    let o = checkout::checkout(&mut ledger, &mut global.console(), &req)?;
    if global.json {
        print_json(&o)?;
    } else {
        println!(
            "key {} (account {}) checked out until {} (entry {}); break bag {} together and check its serial",
            o.key_id,
            o.account_id,
            crate::report::fmt_time(o.window_end),
            o.seq,
            o.bag_broken
        );
    }
    Ok(Outcome::Ok)
}
