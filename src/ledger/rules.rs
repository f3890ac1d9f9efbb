//! The one table of event kinds the ledger accepts and how many custodian approvals each needs.
//!
//! Unknown kinds fail closed: [`required_approvals`] returns `None` and append refuses them, so
//! a new kind exists only once it is listed here (the custody layer adds its kinds here).

/// Free-text note by an operator.
pub const NOTE: &str = "note";
/// The first two custodians, enrolled together while there are none.
pub const CUSTODIAN_BOOTSTRAP: &str = "custodian.bootstrap";
/// One more custodian or auditor.
pub const CUSTODIAN_ADDED: &str = "custodian.added";
/// A custodian or auditor leaves; their later approvals are invalid.
pub const CUSTODIAN_REMOVED: &str = "custodian.removed";

/// One key taken into custody for an account (body: `custody::events::KeyEnrolled`).
pub const KEY_ENROLLED: &str = "key.enrolled";
/// AWS shows an enrolled key on the account's root user.
pub const KEY_REGISTRATION_CONFIRMED: &str = "key.registration_confirmed";
/// An account's onboarding is complete (primary and backup both confirmed).
pub const ACCOUNT_ENROLLED: &str = "account.enrolled";
/// A dual-control break-glass checkout.
pub const KEY_CHECKED_OUT: &str = "key.checked_out";
/// A key returned to the safe, with its possession proof.
pub const KEY_CHECKED_IN: &str = "key.checked_in";
/// A possession check of a key in the safe.
pub const KEY_VERIFIED: &str = "key.verified";
/// A key moved to another storage location or bag.
pub const KEY_MOVED: &str = "key.moved";
/// A key taken out of custody for good (lost, replaced, destroyed).
pub const KEY_RETIRED: &str = "key.retired";
/// A finished audit and the digest of its report.
pub const AUDIT_COMPLETED: &str = "audit.completed";

/// Every kind the ledger accepts with the number of distinct active custodians that must approve
/// it. Observations the tool makes and anyone can re-check (AWS shows a device, an audit ran)
/// need no person; a possession check needs the one custodian who held the key up to it (the
/// key's own signature is the evidence); every change of who holds a key, where it is, or who
/// may approve needs two.
pub const APPROVALS: &[(&str, usize)] = &[
    (NOTE, 0),
    // Both people being enrolled approve with the keys being enrolled.
    (CUSTODIAN_BOOTSTRAP, 2),
    (CUSTODIAN_ADDED, 2),
    (CUSTODIAN_REMOVED, 2),
    (KEY_ENROLLED, 2),
    (KEY_REGISTRATION_CONFIRMED, 0),
    (ACCOUNT_ENROLLED, 2),
    (KEY_CHECKED_OUT, 2),
    (KEY_CHECKED_IN, 2),
    (KEY_VERIFIED, 1),
    (KEY_MOVED, 2),
    (KEY_RETIRED, 2),
    (AUDIT_COMPLETED, 0),
];

/// Number of distinct active custodians that must approve an event of `kind`, or `None` when
/// the kind is unknown (rejected on append and flagged by verify).
pub fn required_approvals(kind: &str) -> Option<usize> {
    APPROVALS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
}

/// Every kind [`required_approvals`] knows, for help texts and documentation.
pub fn known_kinds() -> impl Iterator<Item = &'static str> {
    APPROVALS.iter().map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_fail_closed() {
        assert_eq!(required_approvals("note"), Some(0));
        assert_eq!(required_approvals("custodian.added"), Some(2));
        assert_eq!(required_approvals("custodian.removed"), Some(2));
        assert_eq!(required_approvals("key.checked_out.typo"), None);
        for k in known_kinds() {
            assert!(required_approvals(k).is_some());
        }
        for k in [
            KEY_ENROLLED,
            ACCOUNT_ENROLLED,
            KEY_CHECKED_OUT,
            KEY_CHECKED_IN,
            KEY_MOVED,
            KEY_RETIRED,
        ] {
            assert_eq!(required_approvals(k), Some(2), "{k} changes custody");
        }
        assert_eq!(required_approvals(KEY_VERIFIED), Some(1));
        assert_eq!(required_approvals(KEY_REGISTRATION_CONFIRMED), Some(0));
        assert_eq!(required_approvals(AUDIT_COMPLETED), Some(0));
        let mut kinds: Vec<_> = known_kinds().collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), APPROVALS.len(), "each kind listed once");
    }
}
