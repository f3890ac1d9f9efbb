use super::*;

#[test]
fn instance_ids_are_stable_and_distinct() {
    let a = instance_id("ROOT-ACCESS-KEY", Some("111122223333"), "AKIA1");
    assert_eq!(
        a,
        instance_id("ROOT-ACCESS-KEY", Some("111122223333"), "AKIA1")
    );
    assert!(is_instance_id(&a), "{a}");
    assert_ne!(
        a,
        instance_id("ROOT-ACCESS-KEY", Some("111122223333"), "AKIA2")
    );
    assert_ne!(
        a,
        instance_id("ROOT-ACCESS-KEY", Some("444455556666"), "AKIA1")
    );
    assert_ne!(
        a,
        instance_id("ROOT-SIGNING-CERT", Some("111122223333"), "AKIA1")
    );
    // Pinned: the derivation is documented in docs/findings.md and must not drift.
    assert_eq!(
        instance_id("ROOT-MFA-MISSING", Some("111122223333"), "111122223333"),
        hex::encode(
            &ring::digest::digest(
                &ring::digest::SHA256,
                b"rootkey-finding/1\nROOT-MFA-MISSING\n111122223333\n111122223333"
            )
            .as_ref()[..8]
        )
    );
}

#[test]
fn catalogue_ids_are_unique_shaped_and_remediated() {
    let mut seen = std::collections::BTreeSet::new();
    for c in CHECKS {
        assert!(seen.insert(c.id), "duplicate check {}", c.id);
        assert!(
            c.id.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
            "{}",
            c.id
        );
        assert!(!c.remediation.is_empty() && !c.title.is_empty(), "{}", c.id);
    }
    assert!(check("ROOT-LOGIN-UNEXPLAINED").is_some());
    assert!(check("NO-SUCH-CHECK").is_none());
}

#[test]
fn sign_in_checks_are_graded_as_the_issue_asks() {
    let sev = |id| check(id).unwrap().severity;
    assert_eq!(sev("ROOT-LOGIN-EXPLAINED"), Severity::Info);
    assert_eq!(sev("ROOT-LOGIN-UNEXPLAINED"), Severity::Critical);
    assert_eq!(sev("ROOT-LOGIN-FAILED-UNEXPLAINED"), Severity::Medium);
}

#[test]
fn identities_round_trip() {
    let f = Finding::new(
        catalogue::known("KEY-SOFTWARE"),
        Some("111122223333"),
        "k|1",
    );
    let id = f.identity();
    let (c, a, r) = parse_identity(&id).unwrap();
    assert_eq!((c, a, r), ("KEY-SOFTWARE", Some("111122223333"), "k|1"));
    let g = Finding::new(catalogue::known("LEDGER-UNANCHORED"), None, "ledger");
    let id = g.identity();
    assert_eq!(parse_identity(&id).unwrap().1, None);
}
