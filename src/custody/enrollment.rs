//! Keys entering custody: the rules of `key.enrolled`, `key.registration_confirmed` and
//! `account.enrolled`, and the names rootkey gives keys.

use super::events::{AccountEnrolled, KeyEnrolled, KeyRegistrationConfirmed, KeyRole};
use super::state::{At, CustodyState, KeyState, KeyStatus, Registration, StateError};
use crate::text;

/// AWS allows at most this many MFA devices on a root user.
pub const MAX_ROOT_MFA_DEVICES: usize = 8;
/// Prefix of the AWS device name rootkey proposes.
pub const AWS_DEVICE_PREFIX: &str = "rootkey-";

/// Short id of a key: the first 4 bytes of SHA-256 of its custody public key, hex (8 chars).
pub fn key_id_for(custody_public_key: &[u8]) -> String {
    hex::encode(&crate::webauthn::sha256(custody_public_key)[..4])
}

/// The device name to type in the AWS console, so that the serial ARN names the physical key.
pub fn aws_device_name(key_id: &str) -> String {
    format!("{AWS_DEVICE_PREFIX}{key_id}")
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_aws_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `serial` is a FIDO device on root named `rootkey-<key_id>-...` by the console.
pub fn serial_names_key(serial: &str, key_id: &str) -> bool {
    serial
        .split_once(":u2f/root/")
        .map(|(_, name)| name.starts_with(&format!("{AWS_DEVICE_PREFIX}{key_id}-")))
        .unwrap_or(false)
}

/// The account id inside an IAM ARN (`arn:PARTITION:iam::ACCOUNT:...`).
fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some("iam"), Some(""), Some(account)) => Some(account),
        _ => None,
    }
}

impl CustodyState {
    /// A key enters custody: its id is derived from its credential, the credential is nobody
    /// else's, the account gets at most one primary and one backup, stored apart, each in a bag
    /// never used before.
    pub(super) fn apply_enrolled(&mut self, at: &At<'_>, b: KeyEnrolled) -> Result<(), StateError> {
        if !is_aws_account_id(&b.account_id) {
            return Err(at.inconsistent(format!(
                "{} is not an AWS account id (12 digits)",
                b.account_id
            )));
        }
        let derived = key_id_for(&b.custody_public_key.0);
        if b.key_id != derived {
            return Err(at.inconsistent(format!(
                "key id {} is not derived from its custody public key (that would be {derived})",
                b.key_id
            )));
        }
        if b.aws_device_name != aws_device_name(&b.key_id) {
            return Err(at.inconsistent(format!(
                "AWS device name {:?} is not {}",
                b.aws_device_name,
                aws_device_name(&b.key_id)
            )));
        }
        if self.keys.contains_key(&b.key_id) {
            return Err(at.inconsistent(format!("key {} is already enrolled", b.key_id)));
        }
        if let Some(owner) =
            self.credential_owner(&b.custody_credential_id.0, &b.custody_public_key.0)
        {
            return Err(at.inconsistent(format!(
                "its custody credential is already {owner}'s: one key, one purpose; use another key"
            )));
        }
        let replaced = self.replaced_key(at, &b)?;
        // The key being replaced stays in custody until AWS shows its successor: it takes no
        // part in the role and location rules of the successor.
        let active: Vec<&KeyState> = self
            .active_keys_of(&b.account_id)
            .into_iter()
            .filter(|k| Some(k.key_id.as_str()) != replaced.as_deref())
            .collect();
        if let Some(same) = active.iter().find(|k| k.role == b.role) {
            return Err(at.inconsistent(format!(
                "account {} already has an active {} key ({}): retire it first",
                b.account_id,
                b.role.as_str(),
                same.key_id
            )));
        }
        let here = text::location_key(&b.location);
        if let Some(other) = active
            .iter()
            .find(|k| text::location_key(&k.location) == here)
        {
            return Err(at.inconsistent(format!(
                "key {} would be stored at the same location as key {} of the same account: primary and backup are stored apart",
                b.key_id, other.key_id
            )));
        }
        self.use_bag(at, &b.bag_serial)?;
        self.accounts
            .entry(b.account_id.clone())
            .or_default()
            .keys
            .insert(b.key_id.clone());
        let key_id = b.key_id.clone();
        self.keys.insert(
            b.key_id.clone(),
            KeyState {
                key_id: b.key_id,
                account_id: b.account_id,
                role: b.role,
                aaguid: b.aaguid,
                model: b.model,
                firmware: b.firmware,
                attestation: b.attestation,
                custody_credential_id: b.custody_credential_id.0,
                custody_public_key: b.custody_public_key.0,
                location: b.location,
                bag_serial: b.bag_serial,
                aws_device_name: b.aws_device_name,
                registration: None,
                status: KeyStatus::InSafe,
                enrolled_at: at.time,
                // Making the custody credential needed the key in hand.
                last_possession: at.time,
                last_counter: 0,
                history: Vec::new(),
                replaces: b.replaces,
            },
        );
        if let Some(k) = self.keys.get_mut(&key_id) {
            let detail = format!(
                "enrolled as {} of account {}, sealed in bag {} at {}",
                k.role.as_str(),
                k.account_id,
                k.bag_serial,
                k.location
            );
            k.log(at, detail);
        }
        Ok(())
    }

    /// The key a successor replaces: active, of the same account and role, with no other
    /// successor pending.
    fn replaced_key(&self, at: &At<'_>, b: &KeyEnrolled) -> Result<Option<String>, StateError> {
        let Some(old) = &b.replaces else {
            return Ok(None);
        };
        let key = self
            .keys
            .get(old)
            .filter(|k| k.is_active() && k.account_id == b.account_id)
            .ok_or_else(|| {
                at.inconsistent(format!(
                    "key {old} is not an active key of account {}: nothing to replace",
                    b.account_id
                ))
            })?;
        if key.role != b.role {
            return Err(at.inconsistent(format!(
                "key {old} is the {}; its successor must be too, not the {}",
                key.role.as_str(),
                b.role.as_str()
            )));
        }
        if let Some(other) = self
            .keys
            .values()
            .find(|k| k.is_active() && k.replaces.as_deref() == Some(old))
        {
            return Err(at.inconsistent(format!(
                "key {} is already enrolled to replace {old}: confirm or retire it first",
                other.key_id
            )));
        }
        Ok(Some(old.clone()))
    }

    /// AWS shows the key on this account's root, under the name rootkey proposed.
    pub(super) fn apply_confirmed(
        &mut self,
        at: &At<'_>,
        b: KeyRegistrationConfirmed,
    ) -> Result<(), StateError> {
        if arn_account(&b.serial_arn) != Some(b.account_id.as_str())
            || !serial_names_key(&b.serial_arn, &b.key_id)
        {
            return Err(at.inconsistent(format!(
                "serial {} is not a security key named {}-… on the root user of account {}",
                b.serial_arn,
                aws_device_name(&b.key_id),
                b.account_id
            )));
        }
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        if !key.is_active() {
            return Err(at.inconsistent(format!("key {} is retired", b.key_id)));
        }
        key.log(at, format!("AWS shows it on root as {}", b.serial_arn));
        key.registration = Some(Registration {
            serial_arn: b.serial_arn,
            enable_date: b.enable_date,
            confirmed_at: at.time,
            source: b.source,
        });
        Ok(())
    }

    /// The account's onboarding closes: its active primary and backup, both confirmed in AWS.
    pub(super) fn apply_account_enrolled(
        &mut self,
        at: &At<'_>,
        b: AccountEnrolled,
    ) -> Result<(), StateError> {
        if self
            .accounts
            .get(&b.account_id)
            .is_some_and(|a| a.enrolled_at.is_some())
        {
            return Err(at.inconsistent(format!("account {} is already enrolled", b.account_id)));
        }
        for (id, role) in [
            (&b.primary_key_id, KeyRole::Primary),
            (&b.backup_key_id, KeyRole::Backup),
        ] {
            let key: &KeyState = self.key_mut(at, id, &b.account_id)?;
            if !key.is_active() {
                return Err(at.inconsistent(format!("key {id} is retired")));
            }
            if key.role != role {
                return Err(at.inconsistent(format!(
                    "key {id} was enrolled as {}, not {}",
                    key.role.as_str(),
                    role.as_str()
                )));
            }
            if key.registration.is_none() {
                return Err(
                    at.inconsistent(format!("key {id} was never confirmed registered in AWS"))
                );
            }
        }
        self.accounts.entry(b.account_id).or_default().enrolled_at = Some(at.time);
        Ok(())
    }
}

impl CustodyState {
    /// An account leaves rootkey's scope: none of its keys may still be in custody.
    pub(super) fn apply_account_closed(
        &mut self,
        at: &At<'_>,
        b: super::events::AccountClosed,
    ) -> Result<(), StateError> {
        if !is_aws_account_id(&b.account_id) {
            return Err(at.inconsistent(format!(
                "{} is not an AWS account id (12 digits)",
                b.account_id
            )));
        }
        if self.account_closed(&b.account_id) {
            return Err(at.inconsistent(format!("account {} is already closed", b.account_id)));
        }
        if let Some(k) = self.active_keys_of(&b.account_id).first() {
            return Err(at.inconsistent(format!(
                "key {} of account {} is still in custody: retire it (or them) first",
                k.key_id, b.account_id
            )));
        }
        self.accounts.entry(b.account_id).or_default().closed_at = Some(at.time);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(key_id_for(b"x").len(), 8);
        assert_eq!(aws_device_name("a1b2c3d4"), "rootkey-a1b2c3d4");
        assert!(is_aws_account_id("111122223333"));
        for bad in [
            "11112222333",
            "1111222233334",
            "11112222333a",
            "١١١١٢٢٢٢٣٣٣٣",
        ] {
            assert!(!is_aws_account_id(bad), "{bad}");
        }
        let arn = "arn:aws:iam::111122223333:u2f/root/rootkey-a1b2c3d4-ABCDEF";
        assert!(serial_names_key(arn, "a1b2c3d4"));
        assert!(!serial_names_key(arn, "a1b2c3d"));
        assert_eq!(arn_account(arn), Some("111122223333"));
        assert_eq!(
            arn_account("arn:aws-us-gov:iam::111122223333:u2f/root/x"),
            Some("111122223333")
        );
        assert_eq!(arn_account("arn:aws:s3:::bucket"), None);
    }
}
