//! Custodians approve an event with their own keys: one WebAuthn assertion each, whose challenge
//! is the event's [`UnsignedEvent::approval_challenge`].

use super::{with_key, Console, FlowError};
use crate::device::{DeviceSpec, GetAssertion};
use crate::ledger::{Approval, Custodian, Registry, UnsignedEvent, CUSTODIAN_RP_ID};
use crate::webauthn::{client_data::TYPE_GET, ClientData};

/// Origin written into approval client data.
pub const APPROVAL_ORIGIN: &str = "rootkey:approval";

/// A custodian about to approve: their registry id and the key they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Registry id.
    pub id: String,
    /// Their custodian key.
    pub device: DeviceSpec,
}

impl Approver {
    /// `id` with the key `devices` names for them (`--custodian-device ID=SPEC`), else `hid`.
    pub fn with_devices(id: &str, devices: &[(String, DeviceSpec)]) -> Approver {
        let device = devices
            .iter()
            .find(|(who, _)| who == id)
            .map(|(_, d)| d.clone())
            .unwrap_or(DeviceSpec::Hid);
        Approver {
            id: id.to_string(),
            device,
        }
    }
}

/// Parses one `ID=SPEC` (`alice=soft:/tmp/alice.json`, `bob=hid:/dev/hidraw2`).
pub fn parse_custodian_device(s: &str) -> Result<(String, DeviceSpec), String> {
    let (id, spec) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not ID=SPEC (e.g. alice=hid or bob=soft:FILE)"))?;
    if id.trim().is_empty() {
        return Err(format!("`{s}`: the custodian id before `=` is empty"));
    }
    let spec = DeviceSpec::parse(spec).map_err(|e| e.to_string())?;
    Ok((id.trim().to_string(), spec))
}

/// Gathers one approval per approver (in order) for `event`, then checks them exactly as the
/// ledger will at `seq`. Who may approve is checked before any key is touched.
pub fn gather_approvals(
    registry: &Registry,
    seq: u64,
    event: &UnsignedEvent,
    approvers: &[Approver],
    console: &mut dyn Console,
) -> Result<Vec<Approval>, FlowError> {
    let pool: Vec<Custodian> = registry.active().cloned().collect();
    let approvals = gather_from(registry, &pool, event, approvers, console)?;
    registry.check(seq, event.event(), event.canonical_bytes(), &approvals)?;
    Ok(approvals)
}

/// Gathers approvals from people in `pool` (the active custodians, or for a bootstrap the two
/// people being enrolled); `registry` names removed people in errors.
pub(crate) fn gather_from(
    registry: &Registry,
    pool: &[Custodian],
    event: &UnsignedEvent,
    approvers: &[Approver],
    console: &mut dyn Console,
) -> Result<Vec<Approval>, FlowError> {
    let pool: Vec<&Custodian> = pool.iter().collect();
    let who = registry.resolve_approvers(&pool, approvers.iter().map(|a| a.id.as_str()))?;
    let people = who.into_iter().zip(approvers);
    let client_data = ClientData::json(TYPE_GET, &event.approval_challenge(), APPROVAL_ORIGIN);
    let mut out = Vec::with_capacity(people.len());
    for (who, a) in people {
        console.step(&format!(
            "custodian {} ({}): insert your key and touch it to approve {}",
            who.id,
            who.name,
            event.event().kind
        ))?;
        let label = format!("custodian {}", who.id);
        let assertion = with_key(console, &label, &a.device, |key, pin| {
            key.get_assertion(&GetAssertion {
                rp_id: CUSTODIAN_RP_ID.into(),
                client_data: client_data.clone(),
                allow_credentials: vec![who.credential_id.clone()],
                pin,
            })
        })?;
        out.push(Approval {
            custodian_id: who.id.clone(),
            credential_id: assertion.credential_id,
            authenticator_data: assertion.authenticator_data,
            client_data_json: client_data.clone(),
            signature: assertion.signature,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custodian_device_flag_parses_and_refuses_nonsense() {
        let (id, spec) = parse_custodian_device("alice=soft:/tmp/a.json").unwrap();
        assert_eq!(id, "alice");
        assert_eq!(spec, DeviceSpec::Soft("/tmp/a.json".into()));
        assert!(parse_custodian_device("alice").is_err());
        assert!(parse_custodian_device("=hid").is_err());
        assert!(parse_custodian_device("bob=usb").is_err());
        let devices = vec![(
            "bob".to_string(),
            DeviceSpec::HidPath("/dev/hidraw2".into()),
        )];
        assert_eq!(
            Approver::with_devices("alice", &devices).device,
            DeviceSpec::Hid
        );
        assert_eq!(
            Approver::with_devices("bob", &devices).device,
            DeviceSpec::HidPath("/dev/hidraw2".into())
        );
    }
}
