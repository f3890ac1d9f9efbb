//! Keys going out and coming back: the rules of checkouts, check-ins, possession checks, moves
//! and retirement, and the possession proof a key gives of itself.

use time::{Duration, OffsetDateTime};

use super::events::{
    KeyCheckedIn, KeyCheckedOut, KeyMoved, KeyRetired, KeyVerified, PossessionProof,
};
use super::state::{
    record_proof, At, CheckinRecord, CheckoutRecord, CustodyState, KeyState, KeyStatus, Retirement,
    StateError,
};
use crate::device::{CUSTODY_ORIGIN, CUSTODY_RP_ID};
use crate::ledger::CLOCK_TOLERANCE;
use crate::text;
use crate::webauthn::assertion::{self, Expected, Parts};
use crate::webauthn::CoseKey;

/// Longest break-glass window: a key out for longer is no longer "break-glass".
pub const MAX_CHECKOUT_WINDOW: Duration = Duration::days(7);
/// Shortest window: anything shorter is a typo (`5s` for `5h`).
pub const MIN_CHECKOUT_WINDOW: Duration = Duration::minutes(5);

/// Why a window text is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not a duration.
    #[error("window {text:?} is not a duration ({detail}); write e.g. 4h, 90m or 2d")]
    Parse {
        /// What was given.
        text: String,
        /// Parser message.
        detail: String,
    },
    /// Out of bounds.
    #[error("window {0:?} must be between 5 minutes and 7 days")]
    OutOfRange(String),
}

/// Parses a window such as `4h`, `90m` or `2d` (humantime), bounded to 5 minutes .. 7 days
/// (the same bounds the fold enforces on the recorded window).
pub fn parse_window(window: &str) -> Result<Duration, WindowError> {
    let std = humantime::parse_duration(window.trim()).map_err(|e| WindowError::Parse {
        text: window.to_string(),
        detail: e.to_string(),
    })?;
    let d = Duration::try_from(std).map_err(|_| WindowError::OutOfRange(window.to_string()))?;
    if !(MIN_CHECKOUT_WINDOW..=MAX_CHECKOUT_WINDOW).contains(&d) {
        return Err(WindowError::OutOfRange(window.to_string()));
    }
    Ok(d)
}

/// Whether a key due back at `window_end` is late at `now`.
pub fn is_late(window_end: OffsetDateTime, now: OffsetDateTime) -> bool {
    now > window_end
}

/// Verifies that `proof` is an assertion by `key`'s custody credential over the challenge the
/// proof records, with a touch, and a counter that moved forward (a clone would have its own
/// counter). The one check for possession, in flows and in the fold alike; flows also compare
/// the challenge with the one they issued.
pub fn verify_possession(key: &KeyState, proof: &PossessionProof) -> Result<(), String> {
    let public = CoseKey::parse(&key.custody_public_key)
        .map_err(|e| format!("stored custody key unreadable: {e}"))?;
    let verified = assertion::verify(
        &public,
        Parts {
            authenticator_data: proof.authenticator_data.as_bytes(),
            client_data_json: proof.client_data_json.as_bytes(),
            signature: proof.signature.as_bytes(),
        },
        &Expected {
            rp_id: CUSTODY_RP_ID,
            origin: CUSTODY_ORIGIN,
            challenge: proof.challenge.as_bytes(),
            user_verification: false,
            previous_counter: key.last_counter,
        },
    )
    .map_err(|e| e.to_string())?;
    if verified.counter() != proof.counter {
        return Err("the recorded counter differs from the authenticator data".into());
    }
    Ok(())
}

impl CustodyState {
    fn check_proof(
        &self,
        at: &At<'_>,
        key: &KeyState,
        proof: &PossessionProof,
    ) -> Result<(), StateError> {
        verify_possession(key, proof).map_err(|reason| StateError::ProofRefused {
            seq: at.seq,
            kind: at.kind.to_string(),
            key_id: key.key_id.clone(),
            reason,
        })
    }

    fn active_key(
        &self,
        at: &At<'_>,
        key_id: &str,
        account_id: &str,
    ) -> Result<&KeyState, StateError> {
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| StateError::UnknownKey {
                seq: at.seq,
                kind: at.kind.to_string(),
                key_id: key_id.to_string(),
            })?;
        if key.account_id != account_id {
            return Err(at.inconsistent(format!(
                "key {key_id} belongs to account {}, not {account_id}",
                key.account_id
            )));
        }
        if !key.is_active() {
            return Err(
                at.inconsistent(format!("key {key_id} is retired and no longer in custody"))
            );
        }
        Ok(key)
    }

    /// Break-glass: the key is in the safe in the bag the ledger says, the account's other key
    /// stays in, and the window starts now and lasts between 5 minutes and 7 days.
    pub(super) fn apply_checked_out(
        &mut self,
        at: &At<'_>,
        b: KeyCheckedOut,
    ) -> Result<(), StateError> {
        let key = self.active_key(at, &b.key_id, &b.account_id)?;
        if key.status != KeyStatus::InSafe {
            return Err(at.inconsistent(format!(
                "key {} is not in the safe (it is checked out): check it in first",
                b.key_id
            )));
        }
        if text::serial_key(&key.bag_serial) != text::serial_key(&b.bag_broken) {
            return Err(at.inconsistent(format!(
                "the bag broken is {} but key {} was sealed in bag {}: stop, and record an incident (the key may have been tampered with)",
                b.bag_broken, b.key_id, key.bag_serial
            )));
        }
        if let Some(other) = self
            .active_keys_of(&b.account_id)
            .into_iter()
            .find(|k| k.key_id != b.key_id && matches!(k.status, KeyStatus::CheckedOut { .. }))
        {
            return Err(StateError::OtherKeyOut {
                seq: at.seq,
                key_id: b.key_id.clone(),
                other: other.key_id.clone(),
            });
        }
        if (b.window_start - at.time).abs() > CLOCK_TOLERANCE {
            return Err(at.inconsistent(format!(
                "the window starts {}, not when the checkout was recorded ({}): a window cannot be back- or forward-dated",
                crate::report::fmt_time(b.window_start),
                crate::report::fmt_time(at.time)
            )));
        }
        let length = b.window_end - b.window_start;
        if !(MIN_CHECKOUT_WINDOW..=MAX_CHECKOUT_WINDOW).contains(&length) {
            return Err(at.inconsistent(format!(
                "the window lasts {length}, outside 5 minutes .. 7 days"
            )));
        }
        let index = self.checkouts.len();
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        key.status = KeyStatus::CheckedOut { checkout: index };
        key.log(
            at,
            format!(
                "checked out by {} (approved by {}) until {}, ticket {}, bag {} broken",
                b.requester,
                b.approver,
                crate::report::fmt_time(b.window_end),
                b.ticket,
                b.bag_broken
            ),
        );
        self.checkouts.push(CheckoutRecord {
            seq: at.seq,
            time: at.time,
            key_id: b.key_id,
            account_id: b.account_id,
            reason: b.reason,
            ticket: b.ticket,
            window_start: b.window_start,
            window_end: b.window_end,
            requester: b.requester,
            approver: b.approver,
            bag_broken: b.bag_broken,
            checkin: None,
            closed_by_retirement: None,
        });
        Ok(())
    }

    /// Check-in: the key that went out proves it is back, and is sealed in a new bag.
    pub(super) fn apply_checked_in(
        &mut self,
        at: &At<'_>,
        b: KeyCheckedIn,
    ) -> Result<(), StateError> {
        self.bag_unused(at, &b.bag_serial)?;
        let key = self.active_key(at, &b.key_id, &b.account_id)?;
        let KeyStatus::CheckedOut { checkout } = key.status else {
            return Err(at.inconsistent(format!(
                "key {} is not checked out; to prove a key in the safe is present use `rootkey keys verify`",
                b.key_id
            )));
        };
        self.check_proof(at, key, &b.proof)?;
        let window_end = self
            .checkouts
            .get(checkout)
            .map(|c| c.window_end)
            .ok_or_else(|| at.inconsistent("open checkout not found"))?;
        self.use_bag(at, &b.bag_serial)?;
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        key.status = KeyStatus::InSafe;
        key.bag_serial = b.bag_serial.clone();
        record_proof(key, at.time, &b.proof);
        key.log(
            at,
            format!(
                "checked in{}, proved itself, sealed in bag {}",
                if is_late(window_end, at.time) {
                    " late"
                } else {
                    ""
                },
                b.bag_serial
            ),
        );
        self.checkouts[checkout].checkin = Some(CheckinRecord {
            seq: at.seq,
            time: at.time,
            late: is_late(window_end, at.time),
            bag_serial: b.bag_serial,
        });
        Ok(())
    }

    /// A possession check; resealing in a new bag is a custody change (two people).
    pub(super) fn apply_verified(&mut self, at: &At<'_>, b: KeyVerified) -> Result<(), StateError> {
        if let Some(bag) = &b.bag_serial {
            self.bag_unused(at, bag)?;
        }
        let key = self.active_key(at, &b.key_id, &b.account_id)?;
        self.check_proof(at, key, &b.proof)?;
        if let Some(bag) = &b.bag_serial {
            self.use_bag(at, bag)?;
        }
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        let detail = match &b.bag_serial {
            Some(bag) => format!("proved present, resealed in bag {bag}"),
            None => "proved present".to_string(),
        };
        if let Some(bag) = b.bag_serial {
            key.bag_serial = bag;
        }
        record_proof(key, at.time, &b.proof);
        key.log(at, detail);
        Ok(())
    }

    /// A key in the safe moves: from where the ledger says it is, to a place apart from the
    /// account's other key, resealed in a new bag, proving on the way that it is the key.
    pub(super) fn apply_moved(&mut self, at: &At<'_>, b: KeyMoved) -> Result<(), StateError> {
        self.bag_unused(at, &b.bag_serial)?;
        let key = self.active_key(at, &b.key_id, &b.account_id)?;
        if key.status != KeyStatus::InSafe {
            return Err(at.inconsistent(format!(
                "key {} is not in the safe: check it in first",
                b.key_id
            )));
        }
        if text::location_key(&b.from_location) != text::location_key(&key.location) {
            return Err(at.inconsistent(format!(
                "the move says key {} was at {:?}, but the ledger has it at {:?}",
                b.key_id, b.from_location, key.location
            )));
        }
        let to = text::location_key(&b.to_location);
        if to == text::location_key(&key.location) {
            return Err(at.inconsistent(format!("key {} is already at {}", b.key_id, key.location)));
        }
        if let Some(other) = self
            .active_keys_of(&b.account_id)
            .into_iter()
            .find(|k| k.key_id != b.key_id && text::location_key(&k.location) == to)
        {
            return Err(at.inconsistent(format!(
                "key {} would be stored at the same location as key {} of the same account: choose another location",
                b.key_id, other.key_id
            )));
        }
        self.check_proof(at, key, &b.proof)?;
        self.use_bag(at, &b.bag_serial)?;
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        key.log(
            at,
            format!(
                "moved from {} to {}, proved itself, sealed in bag {} ({})",
                key.location, b.to_location, b.bag_serial, b.reason
            ),
        );
        key.location = b.to_location;
        key.bag_serial = b.bag_serial;
        record_proof(key, at.time, &b.proof);
        Ok(())
    }

    /// A key leaves custody for good; a checkout it was out on is closed by the retirement
    /// (nothing is overdue any more: the key is gone, and the audit now expects AWS not to
    /// show it).
    pub(super) fn apply_retired(&mut self, at: &At<'_>, b: KeyRetired) -> Result<(), StateError> {
        // A key is "replaced" only once AWS shows its successor: the account is never left with
        // one confirmed key by a replacement.
        if b.reason == super::events::RetireReason::Replaced
            && !self.keys.values().any(|k| {
                k.is_active()
                    && k.replaces.as_deref() == Some(b.key_id.as_str())
                    && k.registration.is_some()
            })
        {
            return Err(at.inconsistent(format!(
                "key {} is retired as replaced, but no successor of it is confirmed in AWS: confirm the successor first (or retire it for another reason)",
                b.key_id
            )));
        }
        let key = self.key_mut(at, &b.key_id, &b.account_id)?;
        if !key.is_active() {
            return Err(at.inconsistent(format!("key {} is already retired", b.key_id)));
        }
        let open = match key.status {
            KeyStatus::CheckedOut { checkout } => Some(checkout),
            _ => None,
        };
        key.status = KeyStatus::Retired { at: at.time };
        key.log(at, format!("retired ({}): {}", b.reason.as_str(), b.note));
        if let Some(c) = open.and_then(|i| self.checkouts.get_mut(i)) {
            c.closed_by_retirement = Some(at.seq);
        }
        self.retirements.push(Retirement {
            seq: at.seq,
            time: at.time,
            key_id: b.key_id,
            account_id: b.account_id,
            reason: b.reason,
            note: b.note,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_within_bounds() {
        assert_eq!(parse_window("4h").unwrap(), Duration::hours(4));
        assert_eq!(parse_window(" 90m ").unwrap(), Duration::minutes(90));
        assert!(matches!(
            parse_window("5s"),
            Err(WindowError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_window("8d"),
            Err(WindowError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_window("soon"),
            Err(WindowError::Parse { .. })
        ));
        assert!(matches!(
            parse_window("99999999999999999d"),
            Err(WindowError::Parse { .. } | WindowError::OutOfRange(_))
        ));
    }
}
