use super::*;
use crate::custody::state::tests::{confirmed, enrolled, entry, fold, k};
use crate::custody::state::{CheckinRecord, KeyStatus, Registration};
use crate::report::Severity;
use time::macros::datetime;

const ACCT: &str = "111122223333";

/// Ledger with k1 (primary, Safe for k1, bag B1) and k2 (backup, bag B2), both confirmed.
fn state() -> CustodyState {
    let t = datetime!(2025-01-02 09:00 UTC);
    fold(&[
        entry(1, t, "key.enrolled", enrolled("k1", ACCT, "primary", "B1")),
        entry(2, t, "key.enrolled", enrolled("k2", ACCT, "backup", "B2")),
        entry(3, t, "key.registration_confirmed", confirmed("k1", ACCT)),
        entry(4, t, "key.registration_confirmed", confirmed("k2", ACCT)),
    ])
    .unwrap()
}

#[test]
fn possession_age() {
    let last = datetime!(2025-01-01 00:00 UTC);
    assert_eq!(
        possession_age_days(last, datetime!(2025-04-01 00:00 UTC)),
        90
    );
    assert!(!possession_stale(last, last + Duration::days(90)));
    assert!(possession_stale(
        last,
        last + Duration::days(90) + Duration::seconds(1)
    ));
}

// ----- AWS agreement

pub(crate) fn device(serial: &str) -> MfaDevice {
    MfaDevice {
        serial: serial.into(),
        kind: MfaKind::classify(serial),
        enable_date: Some(datetime!(2025-01-02 10:00 UTC)),
    }
}

fn fido(serial: &str) -> MfaDevice {
    device(serial)
}

/// What `aws::evaluate` reports for an account whose root shows `devices` (complete list).
pub(crate) fn aws_account(account: &str, devices: Vec<MfaDevice>) -> AccountReport {
    AccountReport {
        account_id: account.into(),
        name: None,
        email: None,
        management: false,
        credential_less: false,
        posture: crate::aws::RootPosture {
            mfa_devices: devices,
            mfa_devices_complete: true,
            logins: Some(vec![]),
            ..Default::default()
        },
        findings: vec![],
        passed: vec![],
    }
}

/// A successful root console sign-in at `time`.
pub(crate) fn root_login(
    time: OffsetDateTime,
    success: Option<bool>,
    mfa: Option<bool>,
) -> RootLogin {
    RootLogin {
        time,
        source_ip: Some("198.51.100.4".into()),
        mfa_used: mfa,
        success,
        region: "us-east-1".into(),
        event_id: None,
    }
}

fn facts(devices: Vec<MfaDevice>) -> AccountReport {
    aws_account(ACCT, devices)
}

fn arn(key: &str) -> String {
    format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{key}-ABCDEFGHIJKLMNOP")
}

fn codes(a: &Agreement) -> Vec<&str> {
    let mut c: Vec<_> = a.findings.iter().map(|f| f.check.as_str()).collect();
    c.sort();
    c
}

#[test]
fn ledger_and_aws_agree() {
    let s = state();
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(
        &keys,
        &facts(vec![fido(&arn(&k("k1"))), fido(&arn(&k("k2")))]),
    );
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert_eq!(a.keys_seen.len(), 2);
    assert_eq!(a.matched.get(&arn(&k("k1"))), Some(&k("k1")));
}

#[test]
fn disagreements_are_findings() {
    let mut s = state();
    // k2 never confirmed; AWS shows it by name only.
    s.keys.get_mut(&k("k2")).unwrap().registration = None;
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(
        &keys,
        &facts(vec![
            fido(&arn(&k("k2"))),
            fido(&format!("arn:aws:iam::{ACCT}:mfa/root-account-mfa-device")),
            fido(&format!(
                "arn:aws:iam::{ACCT}:u2f/root/someone-elses-key-QQQ"
            )),
        ]),
    );
    assert_eq!(
        codes(&a),
        [
            "AWS-DEVICE-UNKNOWN",
            "AWS-DEVICE-UNKNOWN",
            "KEY-REGISTRATION-UNCONFIRMED",
            "LEDGER-KEY-NOT-IN-AWS",
            "ROOT-FEWER-THAN-TWO-KEYS"
        ]
    );
    let virt = a
        .findings
        .iter()
        .find(|f| f.resource.contains(":mfa/"))
        .unwrap();
    assert_eq!(virt.evidence["type"], "virtual");
    assert!(virt
        .controls
        .contains(&crate::findings::Control::fsbp("IAM.6")));
}

#[test]
fn unregistered_changed_and_retired_keys() {
    let mut s = state();
    s.keys.get_mut(&k("k2")).unwrap().registration = None;
    let k1 = s.keys.get_mut(&k("k1")).unwrap();
    k1.registration = Some(Registration {
        serial_arn: format!("arn:aws:iam::{ACCT}:u2f/root/rootkey-{}-OLD", k("k1")),
        enable_date: datetime!(2025-01-02 10:00 UTC),
        confirmed_at: datetime!(2025-01-02 10:00 UTC),
        source: crate::custody::events::ConfirmationSource::Api,
    });
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(&keys, &facts(vec![fido(&arn(&k("k1")))]));
    assert_eq!(
        codes(&a),
        [
            "KEY-NOT-REGISTERED",
            "KEY-SERIAL-CHANGED",
            "ROOT-FEWER-THAN-TWO-KEYS"
        ]
    );

    let mut s = state();
    s.keys.get_mut(&k("k2")).unwrap().status = KeyStatus::Retired {
        at: datetime!(2025-02-01 0:00 UTC),
    };
    let keys: Vec<_> = s.keys.values().collect();
    let a = compare_with_aws(
        &keys,
        &facts(vec![fido(&arn(&k("k1"))), fido(&arn(&k("k2")))]),
    );
    assert_eq!(
        codes(&a),
        ["RETIRED-KEY-STILL-ON-ROOT", "ROOT-FEWER-THAN-TWO-KEYS"]
    );
}

#[test]
fn keyless_members_need_no_keys_but_management_does() {
    let mut f = facts(vec![]);
    f.credential_less = true;
    assert!(compare_with_aws(&[], &f).findings.is_empty());
    f.management = true;
    assert_eq!(
        codes(&compare_with_aws(&[], &f)),
        ["ROOT-FEWER-THAN-TWO-KEYS"]
    );
}

#[test]
fn device_name_matching_is_exact_on_the_key_id() {
    assert!(serial_names_key(&arn("a1b2"), "a1b2"));
    assert!(!serial_names_key(&arn("a1b2c3"), "a1b2"));
    assert!(!serial_names_key(
        &format!("arn:aws:iam::{ACCT}:u2f/user/bob/rootkey-a1b2-X"),
        "a1b2"
    ));
}

#[test]
fn two_hardware_keys_kpi_counts_attested_ledger_keys_only() {
    let mut s = state();
    let seen: BTreeSet<String> = [k("k1"), k("k2")].into_iter().collect();
    let both = facts(vec![fido(&arn(&k("k1"))), fido(&arn(&k("k2")))]);
    let keys: Vec<_> = s.keys.values().collect();
    assert!(two_hardware_keys_no_virtual(&seen, &keys, &both));
    let one: BTreeSet<String> = [k("k1")].into_iter().collect();
    assert!(!two_hardware_keys_no_virtual(&one, &keys, &both));
    let with_virtual = facts(vec![
        fido(&arn(&k("k1"))),
        fido(&arn(&k("k2"))),
        fido(&format!("arn:aws:iam::{ACCT}:mfa/phone")),
    ]);
    assert!(!two_hardware_keys_no_virtual(&seen, &keys, &with_virtual));
    // A software key, or one anchored in a root the operator trusted, is not hardware.
    for assurance in [
        crate::attest::Assurance::Software,
        crate::attest::Assurance::UserRoot,
    ] {
        s.keys.get_mut(&k("k2")).unwrap().attestation.assurance = assurance;
        let keys: Vec<_> = s.keys.values().collect();
        assert!(
            !two_hardware_keys_no_virtual(&seen, &keys, &both),
            "{assurance:?}"
        );
    }
}

// ----- logins

fn record(
    start: OffsetDateTime,
    end: OffsetDateTime,
    back: Option<OffsetDateTime>,
) -> CheckoutRecord {
    CheckoutRecord {
        seq: 7,
        time: start,
        key_id: "k1".into(),
        account_id: ACCT.into(),
        reason: "r".into(),
        ticket: "CHG-1".into(),
        window_start: start,
        window_end: end,
        requester: "alice".into(),
        approver: "bob".into(),
        bag_broken: "B1".into(),
        checkin: back.map(|t| CheckinRecord {
            seq: 8,
            time: t,
            late: t > end,
            bag_serial: "N1".into(),
        }),
        closed_by_retirement: None,
    }
}

#[test]
fn logins_are_matched_to_windows() {
    let start = datetime!(2025-02-01 10:00 UTC);
    let end = datetime!(2025-02-01 14:00 UTC);
    let now = datetime!(2025-03-01 00:00 UTC);
    let early_back = record(start, end, Some(datetime!(2025-02-01 12:00 UTC)));
    let late_back = record(start, end, Some(datetime!(2025-02-01 18:00 UTC)));
    let still_out = record(start, end, None);
    let is = |c: &CheckoutRecord, t| explain_login(t, &[c], now);
    assert!(matches!(
        is(&early_back, datetime!(2025-02-01 11:00 UTC)),
        LoginExplanation::InWindow {
            checkout_seq: 7,
            ..
        }
    ));
    assert!(
        matches!(
            is(&early_back, datetime!(2025-02-01 09:59 UTC)),
            LoginExplanation::InWindow { .. }
        ),
        "within clock skew"
    );
    assert_eq!(
        is(&early_back, datetime!(2025-02-01 09:50 UTC)),
        LoginExplanation::Unexplained
    );
    assert_eq!(
        is(&early_back, datetime!(2025-02-01 13:00 UTC)),
        LoginExplanation::Unexplained,
        "key already back"
    );
    assert!(matches!(
        is(&late_back, datetime!(2025-02-01 16:00 UTC)),
        LoginExplanation::AfterWindow { .. }
    ));
    assert_eq!(
        is(&late_back, datetime!(2025-02-01 19:00 UTC)),
        LoginExplanation::Unexplained
    );
    assert!(matches!(
        is(&still_out, datetime!(2025-02-10 00:00 UTC)),
        LoginExplanation::AfterWindow { .. }
    ));
    assert_eq!(
        explain_login(start, &[], now),
        LoginExplanation::Unexplained
    );
}

#[test]
fn login_findings_by_case() {
    let login = |success, mfa| root_login(datetime!(2025-02-01 11:00 UTC), Some(success), mfa);
    let inw = LoginExplanation::InWindow {
        key_id: "k1".into(),
        ticket: "T".into(),
        checkout_seq: 1,
    };
    let after = LoginExplanation::AfterWindow {
        key_id: "k1".into(),
        ticket: "T".into(),
        checkout_seq: 1,
    };
    let un = LoginExplanation::Unexplained;
    let c = |l: RootLogin, e: &LoginExplanation| {
        login_findings(ACCT, &l, e)
            .into_iter()
            .map(|f| (f.check, f.severity))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        c(login(true, Some(true)), &inw),
        [("ROOT-LOGIN-EXPLAINED".to_string(), Severity::Info)]
    );
    assert_eq!(
        c(login(true, Some(true)), &un),
        [("ROOT-LOGIN-UNEXPLAINED".to_string(), Severity::Critical)]
    );
    assert_eq!(
        c(login(false, None), &un),
        [(
            "ROOT-LOGIN-FAILED-UNEXPLAINED".to_string(),
            Severity::Medium
        )]
    );
    assert_eq!(
        c(login(true, Some(true)), &after),
        [("ROOT-LOGIN-AFTER-WINDOW".to_string(), Severity::High)]
    );
    assert_eq!(
        c(login(true, Some(false)), &inw),
        [
            ("ROOT-LOGIN-EXPLAINED".to_string(), Severity::Info),
            ("ROOT-LOGIN-WITHOUT-MFA".to_string(), Severity::Critical)
        ]
    );
    let f = &login_findings(ACCT, &login(true, Some(true)), &un)[0];
    assert_eq!(f.resource, "2025-02-01T11:00:00Z 198.51.100.4");
    assert_eq!(f.evidence["source_ip"], "198.51.100.4");
}

// ----- time to remediate

#[test]
fn mttr_over_audits() {
    let set = |v: &[&str]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    let t0 = datetime!(2025-01-01 00:00 UTC);
    let t1 = t0 + Duration::days(10);
    let t2 = t0 + Duration::days(30);
    let a = set(&["111122223333", "444455556666"]);
    let only_other = set(&["444455556666"]);
    let f0 = set(&["X|111122223333|k1", "Y|444455556666|k9"]);
    let f1 = set(&["X|111122223333|k1"]);
    let none = set(&[]);
    // Y fixed after 10 days, X after 30 days: mean 20 days.
    let (m, n) = mean_time_to_remediate(&[(t0, &f0, &a), (t1, &f1, &a), (t2, &none, &a)]);
    assert_eq!((m, n), (Some(20 * 86_400), 2));
    // An audit of another account does not close X.
    let (m, n) = mean_time_to_remediate(&[(t0, &f1, &a), (t1, &none, &only_other)]);
    assert_eq!((m, n), (None, 0));
    assert_eq!(mean_time_to_remediate(&[]), (None, 0));
    // A finding that returns opens a new episode.
    let (m, n) = mean_time_to_remediate(&[(t0, &f1, &a), (t1, &none, &a), (t2, &f1, &a)]);
    assert_eq!((m, n), (Some(10 * 86_400), 1));
    // A late check-in leaves with its period: no remediation to count.
    let late = set(&["KEY-CHECKIN-LATE|111122223333|k1 entry 9"]);
    assert_eq!(
        mean_time_to_remediate(&[(t0, &late, &a), (t1, &none, &a)]),
        (None, 0)
    );
}

#[test]
fn root_usage_is_matched_against_checkouts_like_sign_ins() {
    use crate::aws::{RootUse, RootUseKind};
    let start = datetime!(2025-02-01 10:00 UTC);
    let c = record(start, start + Duration::hours(4), None);
    let now = start + Duration::hours(10);
    let usage = |t: OffsetDateTime, kind| RootUse {
        time: t,
        kind,
        source: "cloudtrail:us-east-1".into(),
        detail: "iam.amazonaws.com DeleteAccessKey from 198.51.100.1".into(),
        event_id: Some("ev-1".into()),
        credential: None,
    };
    let judge = |u: &RootUse, logins: &[RootLogin]| {
        usage_findings(ACCT, u, &explain_login(u.time, &[&c], now), logins)
            .into_iter()
            .map(|f| f.check)
            .collect::<Vec<_>>()
    };
    let inside = usage(start + Duration::hours(1), RootUseKind::ApiCall);
    assert_eq!(
        judge(&inside, &[]),
        ["ROOT-USED-EXPLAINED"],
        "explained by the checkout"
    );
    let outside = usage(start - Duration::days(1), RootUseKind::AccessKey);
    assert_eq!(judge(&outside, &[]), ["ROOT-USED-UNEXPLAINED"]);
    let after = usage(start + Duration::hours(5), RootUseKind::ApiCall);
    assert_eq!(judge(&after, &[]), ["ROOT-USED-AFTER-WINDOW"]);
    // A password use at the time of a console sign-in is that sign-in: judged once, from logins.
    let pw = usage(start - Duration::days(1), RootUseKind::Password);
    let login = root_login(pw.time + Duration::seconds(30), Some(true), Some(true));
    assert!(judge(&pw, &[login]).is_empty());
    assert_eq!(judge(&pw, &[]), ["ROOT-USED-UNEXPLAINED"]);
}

#[test]
fn two_uses_in_the_same_second_are_two_findings() {
    use crate::aws::{RootUse, RootUseKind};
    let t = datetime!(2025-02-01 10:00 UTC);
    let now = t + Duration::days(1);
    let key = |credential: &str| RootUse {
        time: t,
        kind: RootUseKind::AccessKey,
        source: "iam:GetAccessKeyLastUsed".into(),
        detail: format!("access key {credential} last used with s3"),
        event_id: None,
        credential: Some(credential.into()),
    };
    let call = |event: &str| RootUse {
        kind: RootUseKind::ApiCall,
        source: "cloudtrail:us-east-1".into(),
        event_id: Some(event.into()),
        credential: None,
        ..key("unused")
    };
    let ids: Vec<String> = [key("AKIA1"), key("AKIA2"), call("ev-1"), call("ev-2")]
        .iter()
        .flat_map(|u| usage_findings(ACCT, u, &explain_login(u.time, &[], now), &[]))
        .map(|f| f.id)
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(
        unique.len(),
        4,
        "an acceptance of one would accept the other: {ids:?}"
    );
}
