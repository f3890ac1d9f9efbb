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

/// Number of distinct active custodians that must approve an event of `kind`, or `None` when
/// the kind is unknown (rejected on append and flagged by verify).
pub fn required_approvals(kind: &str) -> Option<usize> {
    match kind {
        NOTE => Some(0),
        // Both people being enrolled approve with the keys being enrolled.
        CUSTODIAN_BOOTSTRAP => Some(2),
        CUSTODIAN_ADDED => Some(2),
        CUSTODIAN_REMOVED => Some(2),
        // Custody kinds (bodies in `custody::events`, which checks this table agrees with its own).
        "key.enrolled" | "account.enrolled" | "key.checked_out" | "key.checked_in"
        | "key.moved" | "key.retired" => Some(2),
        "key.verified" => Some(1),
        "key.registration_confirmed" | "audit.completed" => Some(0),
        _ => None,
    }
}

/// Every kind [`required_approvals`] knows, for help texts and documentation.
pub const KNOWN_KINDS: &[&str] = &[
    NOTE,
    CUSTODIAN_BOOTSTRAP,
    CUSTODIAN_ADDED,
    CUSTODIAN_REMOVED,
    "key.enrolled",
    "key.registration_confirmed",
    "account.enrolled",
    "key.checked_out",
    "key.checked_in",
    "key.verified",
    "key.moved",
    "key.retired",
    "audit.completed",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_fail_closed() {
        assert_eq!(required_approvals("note"), Some(0));
        assert_eq!(required_approvals("custodian.added"), Some(2));
        assert_eq!(required_approvals("custodian.removed"), Some(2));
        assert_eq!(required_approvals("key.checked_out.typo"), None);
        for k in KNOWN_KINDS {
            assert!(required_approvals(k).is_some());
        }
    }
}
