//! Custodians approve an event with their own keys: one WebAuthn assertion each, whose challenge
//! is the event's [`UnsignedEvent::approval_challenge`].

use super::{check_approvers, with_key_pin, Console, FlowError};
use crate::custody::dual_control::{Custodian, Requirement, APPROVAL_ORIGIN, CUSTODIAN_RP_ID};
use crate::custody::Station;
use crate::device::{DeviceSpec, GetAssertion};
use crate::ledger::{Approval, UnsignedEvent};
use crate::webauthn::{client_data::TYPE_GET, ClientData};

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
            .find(|(who, _)| crate::text::id_key(who) == crate::text::id_key(id))
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

/// Gathers one approval per approver (in order) for `event`, which needs `requirement`. Who
/// may approve is checked against the registry and the requirement before any key is touched;
/// the approvals themselves are verified when the station appends.
pub fn gather_approvals(
    station: &Station,
    event: &UnsignedEvent,
    requirement: &Requirement,
    approvers: &[Approver],
    console: &mut dyn Console,
) -> Result<Vec<Approval>, FlowError> {
    let registry = station.state().registry();
    let ids: Vec<&str> = approvers.iter().map(|a| a.id.as_str()).collect();
    check_approvers(registry, &ids, requirement)?;
    let people: Vec<Custodian> = approvers
        .iter()
        .filter_map(|a| registry.get(&a.id).cloned())
        .collect();
    gather_from(&people, event, approvers, console)
}

/// Gathers approvals from `people` (in the order of `approvers`): each touches their own key
/// and gives its PIN, since an approval needs the person, not only their key.
pub(crate) fn gather_from(
    people: &[Custodian],
    event: &UnsignedEvent,
    approvers: &[Approver],
    console: &mut dyn Console,
) -> Result<Vec<Approval>, FlowError> {
    let client_data = ClientData::json(TYPE_GET, &event.approval_challenge(), APPROVAL_ORIGIN);
    let mut out = Vec::with_capacity(approvers.len());
    for (who, a) in people.iter().zip(approvers) {
        let software = if who.software {
            " (a SOFTWARE key)"
        } else {
            ""
        };
        console.step(&format!(
            "{} {} ({}): insert your key{software}, give its PIN and touch it to approve {}",
            who.role.as_str(),
            who.id,
            who.name,
            event.event().kind
        ))?;
        let label = format!("{} {}", who.role.as_str(), who.id);
        let assertion = with_key_pin(console, &label, &a.device, true, |key, pin| {
            key.get_assertion(&GetAssertion {
                rp_id: CUSTODIAN_RP_ID.into(),
                client_data: client_data.clone(),
                allow_credentials: vec![who.credential_id.clone()],
                pin,
                user_presence: true,
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
