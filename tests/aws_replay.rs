//! Root-specific AWS calls that moto cannot serve (AssumeRoot, ListMFADevices as root,
//! ListOrganizationsFeatures, CloudTrail LookupEvents, a credential report with a root row),
//! replayed in AWS's wire format through the real SDK clients and deserializers.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_iam::config::Credentials;
use rootkey::aws::model::{Check, DeviceClass, PasswordState, RootUseKind};
use rootkey::aws::{evaluate, AwsOptions, FindingConfig, FindingId, Reader, Severity};
use support::replay::*;

const MGMT: &str = "111111111111";
const GOOD: &str = "222222222222";
const CREDLESS: &str = "333333333333";
const VIRTUAL: &str = "444444444444";
const KEYS: &str = "555555555555";
const DENIED: &str = "666666666666";
const THROTTLED: &str = "777777777777";
const BROKEN: &str = "888888888888";
const GMAIL: &str = "999999999999";

const FIDO_A: &str = "arn:aws:iam::{}:u2f/root/rootkey-a1b2c3-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const FIDO_B: &str = "arn:aws:iam::{}:u2f/root/rootkey-d4e5f6-BCDEFGHIJKLMNOPQRSTUVWXYZA";

fn fido(t: &str, acct: &str) -> String {
    t.replace("{}", acct)
}

fn options(http: aws_sdk_iam::config::SharedHttpClient) -> AwsOptions {
    AwsOptions {
        region: Some("eu-west-1".into()),
        credentials: Some(Credentials::new(CALLER_KEY, "secret", None, None, "test")),
        http_client: Some(http),
        retry: RetryConfig::adaptive()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
        report_poll_interval: Duration::from_millis(1),
        cloudtrail_interval: Duration::from_millis(1),
        concurrency: 4,
        ..AwsOptions::default()
    }
}

/// The organization scenario: one account per finding, plus throttling, AccessDenied and a 500.
fn org_handler(throttles: Arc<AtomicUsize>) -> impl Fn(&Call) -> Reply + Send + Sync + 'static {
    move |c: &Call| {
        let root = match &c.session {
            Session::Root(a) => Some(a.as_str()),
            _ => None,
        };
        match (c.action.as_str(), root) {
            ("GetCallerIdentity", _) => {
                caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor")
            }
            ("DescribeOrganization", _) => describe_organization(MGMT),
            ("ListOrganizationsFeatures", _) => org_features(&["RootCredentialsManagement"]),
            ("ListAccounts", _) => {
                let page1 = [
                    (MGMT, "management", "aws-root@example.com"),
                    (GOOD, "good", "good@example.com"),
                    (CREDLESS, "credless", "credless@example.com"),
                    (VIRTUAL, "virtual", "virtual@example.com"),
                    (KEYS, "keys", "keys@example.com"),
                ];
                let page2 = [
                    (DENIED, "denied", "denied@example.com"),
                    (THROTTLED, "throttled", "throttled@example.com"),
                    (BROKEN, "broken", "broken@example.com"),
                    (GMAIL, "gmail", "someone@gmail.com"),
                ];
                if c.form.get("json").is_some_and(|j| j.contains("page-2")) {
                    list_accounts(&page2, None)
                } else {
                    list_accounts(&page1, Some("page-2"))
                }
            }
            ("AssumeRoot", _) => {
                let target = c.form.get("TargetPrincipal").cloned().unwrap_or_default();
                if target == DENIED {
                    query_error(
                        403,
                        "AccessDenied",
                        "User: arn:aws:iam::111111111111:user/auditor is not authorized to perform: sts:AssumeRoot",
                    )
                } else {
                    assume_root_ok(&target)
                }
            }
            ("ListMFADevices", Some(a)) => match a {
                GOOD | GMAIL => mfa_devices(&[&fido(FIDO_A, a), &fido(FIDO_B, a)]),
                THROTTLED => {
                    if throttles.fetch_add(1, Ordering::SeqCst) == 0 {
                        query_error(400, "Throttling", "Rate exceeded")
                    } else {
                        mfa_devices(&[&fido(FIDO_A, a), &fido(FIDO_B, a)])
                    }
                }
                VIRTUAL => mfa_devices(&[
                    &fido(FIDO_A, a),
                    &format!("arn:aws:iam::{a}:mfa/root-account-mfa-device"),
                ]),
                BROKEN => mfa_devices(&[&fido(FIDO_A, a), &fido(FIDO_B, a)]),
                _ => mfa_devices(&[]),
            },
            ("ListAccessKeys", Some(a)) => match a {
                KEYS => access_keys(&[
                    ("AKIAIOSFODNN7EXAMPLE", "Active"),
                    ("AKIAI44QH8DHBEXAMPLE", "Inactive"),
                ]),
                BROKEN => Reply {
                    status: 500,
                    content_type: "text/xml",
                    body: "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>Internal failure</Message></Error></ErrorResponse>".into(),
                },
                _ => access_keys(&[]),
            },
            ("GetAccessKeyLastUsed", Some(_)) => key_last_used(),
            ("ListSigningCertificates", Some(a)) => match a {
                KEYS => signing_certs(&[("TA7SMP42TDN5Z26OBPJE7EXAMPLE", "Active")]),
                _ => signing_certs(&[]),
            },
            ("GetLoginProfile", Some(a)) => login_profile(a == KEYS),
            // Inside the root session: the audit task policy allows both.
            ("GetAccountSummary", Some(a)) => account_summary(u8::from(a != CREDLESS && a != KEYS), u8::from(a == KEYS), u8::from(a == KEYS)),
            ("GetUser", Some(a)) => root_user(a, (a == KEYS).then_some("2024-10-20T07:00:00Z")),
            ("GetUser", None) => root_user(MGMT, None),
            ("DescribeTrails", None) => describe_trails(MGMT, true),
            // The management account is read with the caller's own credentials.
            ("GetAccountSummary", None) => account_summary(1, 0, 0),
            ("GenerateCredentialReport", None) => report_complete(),
            ("GetCredentialReport", None) => credential_report(&format!(
                "{REPORT_HEADER}\n<root_account>,arn:aws:iam::{MGMT}:root,2019-01-01T00:00:00+00:00,not_supported,2024-10-15T08:12:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\nauditor,arn:aws:iam::{MGMT}:user/auditor,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2020-01-01T00:00:00+00:00,2024-11-01T00:00:00+00:00,eu-west-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
            )),
            ("ListVirtualMFADevices", None) => virtual_mfa(&[
                (&format!("arn:aws:iam::{MGMT}:mfa/root-phone"), &format!("arn:aws:iam::{MGMT}:root")),
                (&format!("arn:aws:iam::{MGMT}:mfa/auditor"), &format!("arn:aws:iam::{MGMT}:user/auditor")),
            ]),
            ("LookupEvents", None) if c.host.contains("us-east-1") => lookup_events(&[
                ("Root", "198.51.100.7", true, false),
                ("IAMUser", "203.0.113.9", true, true),
            ]),
            ("LookupEvents", None) => lookup_events(&[]),
            _ => query_error(400, "UnexpectedCall", &format!("test has no reply for {c:?}")),
        }
    }
}

fn ids(findings: &[rootkey::aws::Finding]) -> Vec<String> {
    findings.iter().map(|f| f.check.clone()).collect()
}

fn c(id: FindingId) -> String {
    id.as_str().to_string()
}

/// What `aws posture` reports without a ledger: the posture checks, then sign-ins and root use
/// judged by the custody rule (nothing explains them without a ledger).
fn judged(evidence: &rootkey::aws::Evidence, config: &FindingConfig) -> rootkey::aws::Report {
    let mut r = evaluate(evidence, config);
    rootkey::custody::findings::judge_posture_activity(
        &mut r,
        None,
        evidence.period.since,
        evidence.period.until,
        evidence.read_at,
    );
    r
}

#[tokio::test]
async fn organization_from_the_wire_produces_every_finding() {
    let throttles = Arc::new(AtomicUsize::new(0));
    let (http, log) = client(org_handler(throttles.clone()), None);
    let reader = Reader::connect(options(http)).await.expect("connect");
    assert_eq!(reader.caller().account, MGMT);
    let (org, targets) = reader.organization().await.expect("organization");
    assert_eq!(targets.len(), 9, "both ListAccounts pages were followed");
    assert_eq!(org.management_account_id.as_deref(), Some(MGMT));
    let features = org.features.expect("features read");
    assert!(features.root_credentials_management && !features.root_sessions);

    let since = time::macros::datetime!(2024-08-01 0:00 UTC);
    let evidence = reader.read(Some(org), targets, since, || {}).await;
    let config = FindingConfig {
        company_domains: vec!["example.com".into()],
    };
    let report = judged(&evidence, &config);
    let by_account: BTreeMap<&str, _> = report
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), a))
        .collect();

    // Management: org feature finding, the virtual device on root, the root login (no MFA),
    // and an incomplete device list (non-virtual devices need a root session).
    let mgmt = by_account[MGMT];
    let m = ids(&mgmt.findings);
    // RootCredentialsManagement on, RootSessions off: its own, lower finding.
    assert!(m.contains(&c(FindingId::OrgRootSessionsDisabled)), "{m:?}");
    assert!(!m.contains(&c(FindingId::OrgCentralRootDisabled)), "{m:?}");
    assert!(m.contains(&c(FindingId::RootMfaVirtual)), "{m:?}");
    let logins: Vec<_> = mgmt
        .findings
        .iter()
        .filter(|f| f.check == "ROOT-LOGIN-WITHOUT-MFA")
        .collect();
    assert_eq!(
        logins.len(),
        1,
        "only the Root-typed event counts: {logins:?}"
    );
    assert_eq!(
        (logins[0].check.as_str(), logins[0].severity),
        ("ROOT-LOGIN-WITHOUT-MFA", Severity::Critical),
        "no MFA used: {logins:?}"
    );
    assert_eq!(logins[0].evidence["source_ip"], "198.51.100.7");
    assert_eq!(mgmt.posture.mfa_active, Some(true));
    assert_eq!(
        mgmt.posture.password,
        PasswordState::Unknown,
        "not_supported"
    );
    assert_eq!(
        mgmt.posture.mfa_devices.len(),
        1,
        "the auditor's device is not root's"
    );

    // Members: AssumeRoot reads.
    let good = by_account[GOOD];
    assert_eq!(good.posture.mfa_devices.len(), 2);
    assert_eq!(good.posture.password, PasswordState::Absent);
    assert_eq!(ids(&good.findings), vec![c(FindingId::ReadIncomplete)]);
    // Without --member-role the account-level checks are open; root logins weigh medium.
    assert_eq!(good.findings[0].severity, Severity::Medium);
    assert!(good.findings[0].evidence["detail"]
        .as_str()
        .unwrap()
        .contains("--member-role"));

    let credless = by_account[CREDLESS];
    assert!(credless.credential_less);
    assert!(!ids(&credless.findings).contains(&c(FindingId::RootMfaMissing)));

    let v = ids(&by_account[VIRTUAL].findings);
    assert!(
        v.contains(&c(FindingId::RootMfaVirtual))
            && v.contains(&c(FindingId::RootBackupKeyMissing)),
        "{v:?}"
    );

    let keys = &by_account[KEYS];
    let k = ids(&keys.findings);
    for want in [
        FindingId::RootMfaMissing,
        FindingId::RootAccessKey,
        FindingId::RootSigningCert,
        FindingId::RootPasswordPresent,
    ] {
        assert!(k.contains(&c(want)), "{want:?} missing from {k:?}");
    }
    let sev: Vec<Severity> = keys
        .findings
        .iter()
        .filter(|f| f.check == FindingId::RootAccessKey.as_str())
        .map(|f| f.severity)
        .collect();
    assert_eq!(
        sev,
        vec![Severity::Critical, Severity::Critical],
        "IAM.4 is presence-based: the inactive key fails too"
    );
    // Root usage: the key's last use (GetAccessKeyLastUsed) and the password's (GetUser), both
    // read inside the root session without a member role.
    let used: Vec<_> = keys
        .posture
        .usage
        .iter()
        .map(|u| (u.kind, u.source.as_str()))
        .collect();
    assert!(
        used.contains(&(RootUseKind::AccessKey, "iam:GetAccessKeyLastUsed"))
            && used.contains(&(RootUseKind::Password, "iam:GetUser")),
        "{used:?}"
    );
    assert!(k.contains(&"ROOT-USED-UNEXPLAINED".to_string()), "{k:?}");
    assert!(keys.posture.account_summary.unwrap().access_keys_present);
    let active = keys.posture.access_keys.as_ref().unwrap();
    assert_eq!(active[0].last_used_service.as_deref(), Some("s3"));

    let denied = by_account[DENIED];
    assert_eq!(denied.findings[0].check, FindingId::ReadIncomplete.as_str());
    assert_eq!(denied.findings[0].severity, Severity::High);
    assert!(denied
        .posture
        .errors
        .iter()
        .any(|e| e.code == "AccessDenied" && e.check == Check::Session));
    assert!(
        !ids(&denied.findings).contains(&c(FindingId::RootMfaMissing)),
        "unknown is not missing"
    );

    let throttled = by_account[THROTTLED];
    assert!(
        throttles.load(Ordering::SeqCst) >= 2,
        "the throttled call was retried"
    );
    assert_eq!(throttled.posture.mfa_devices.len(), 2);
    assert!(
        throttled.posture.errors.is_empty(),
        "{:?}",
        throttled.posture.errors
    );

    let broken = by_account[BROKEN];
    assert!(broken.posture.access_keys.is_none());
    assert!(broken
        .posture
        .errors
        .iter()
        .any(|e| e.call == "iam:ListAccessKeys" && e.check == Check::AccessKeys));
    let b = broken
        .findings
        .iter()
        .find(|f| f.check == FindingId::ReadIncomplete.as_str())
        .unwrap();
    assert_eq!(b.severity, Severity::High);

    let gmail = ids(&by_account[GMAIL].findings);
    assert!(gmail.contains(&c(FindingId::RootEmailDomain)), "{gmail:?}");
    assert!(!ids(&good.findings).contains(&c(FindingId::RootEmailDomain)));

    // Wire-level facts: AssumeRoot went to the regional endpoint with the audit task policy;
    // CloudTrail was asked in us-east-1 and the home region; nothing but reads was called.
    let log = log.lock().unwrap();
    let ar: Vec<_> = log.iter().filter(|c| c.action == "AssumeRoot").collect();
    assert_eq!(ar.len(), 8);
    for c in &ar {
        assert_eq!(c.host, "sts.eu-west-1.amazonaws.com");
        assert_eq!(
            c.form.get("TaskPolicyArn.arn").map(String::as_str),
            Some("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"),
            "{:?}",
            c.form
        );
    }
    let ct_hosts: std::collections::BTreeSet<_> = log
        .iter()
        .filter(|c| c.action == "LookupEvents")
        .map(|c| c.host.as_str())
        .collect();
    assert_eq!(
        ct_hosts.into_iter().collect::<Vec<_>>(),
        vec![
            "cloudtrail.eu-west-1.amazonaws.com",
            "cloudtrail.us-east-1.amazonaws.com"
        ]
    );
    let read_only = |a: &str| {
        [
            "List",
            "Get",
            "Describe",
            "Lookup",
            "AssumeRoot",
            "AssumeRole",
            "GenerateCredentialReport",
        ]
        .iter()
        .any(|p| a.starts_with(p))
    };
    assert!(
        log.iter().all(|c| read_only(&c.action)),
        "a call that is not a read was made"
    );
    assert!(!log.iter().any(|c| c.action == "UnexpectedCall"));
    drop(log);
    organization_exports_match_the_report(&evidence);
}

/// The organization read from the wire, exported by the real binary as ASFF, OCSF and CSV:
/// each exported finding checked field by field against the report it came from, and the
/// organization's own facts (nine accounts, each under its own Security Hub product; the root
/// sign-in as unusual behaviour; two access keys as two findings).
fn organization_exports_match_the_report(evidence: &rootkey::aws::Evidence) {
    use support::export::{check_against_report, posture_exports};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("org-evidence.json");
    rootkey::aws::save_evidence(evidence, &file).unwrap();
    let e = posture_exports(
        dir.path(),
        &file,
        "[aws]\ncompany_domains = [\"example.com\"]\n",
    );
    check_against_report(&e);
    let accounts: std::collections::BTreeSet<&str> = e
        .asff
        .iter()
        .map(|f| f["AwsAccountId"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts.into_iter().collect::<Vec<_>>(),
        [MGMT, GOOD, CREDLESS, VIRTUAL, KEYS, DENIED, THROTTLED, BROKEN, GMAIL]
    );
    let failed = |account: &str, check: &str| -> Vec<serde_json::Value> {
        e.asff
            .iter()
            .filter(|f| {
                f["AwsAccountId"] == account
                    && f["GeneratorId"] == check
                    && f["Compliance"]["Status"] == "FAILED"
            })
            .cloned()
            .collect()
    };
    let login = failed(MGMT, "ROOT-LOGIN-WITHOUT-MFA");
    assert_eq!(login.len(), 1);
    assert_eq!(login[0]["Types"][0], "Unusual Behaviors/User");
    assert_eq!(login[0]["Severity"]["Label"], "CRITICAL");
    assert!(login[0]["Description"]
        .as_str()
        .unwrap()
        .contains("source_ip: 198.51.100.7"));
    let keys = failed(KEYS, "ROOT-ACCESS-KEY");
    assert_eq!(keys.len(), 2, "one finding per access key");
    assert_ne!(keys[0]["Id"], keys[1]["Id"]);
    assert!(keys
        .iter()
        .all(|k| k["Resources"][0]["Id"] == format!("arn:aws:iam::{KEYS}:root")));
    // An account that could not be read passes nothing it was not seen to pass.
    assert!(
        !e.asff
            .iter()
            .any(|f| f["AwsAccountId"] == DENIED && f["GeneratorId"] == "ROOT-MFA-MISSING"),
        "unknown is neither failed nor passed"
    );
    let org = failed(MGMT, "ORG-ROOT-SESSIONS-DISABLED");
    assert_eq!(org[0]["Resources"][0]["Type"], "AwsAccount");
    assert_eq!(failed(GMAIL, "ROOT-EMAIL-DOMAIN").len(), 1);
}

#[tokio::test]
async fn member_role_reads_account_level_facts_and_logins() {
    // us-east-1 EventName=ConsoleLogin: a failed root sign-in, an IAM user's sign-in and an
    // event that does not parse. us-east-1 Username=root: the same failed sign-in again (one
    // event, not two), a root API call, a password recovery, and rootkey's own AssumeRoot
    // session (dropped). eu-west-1 (the home region) fails: us-east-1's answers stay.
    let root_ct = |name: &str, source: &str, extra: serde_json::Value| {
        let mut v = serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "Root", "principalId": GOOD, "arn": format!("arn:aws:iam::{GOOD}:root"), "accountId": GOOD},
            "eventTime": "2024-10-15T08:12:00Z", "eventSource": source, "eventName": name,
            "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "recipientAccountId": GOOD
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                o.insert(k.clone(), x.clone());
            }
        }
        v.to_string()
    };
    let failed = ct_event(
        "ev-failed",
        1_729_000_000,
        "ConsoleLogin",
        &root_ct(
            "ConsoleLogin",
            "signin.amazonaws.com",
            serde_json::json!({"responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}, "errorMessage": "Failed authentication"}),
        ),
    );
    let iam_user = ct_event(
        "ev-user",
        1_729_000_001,
        "ConsoleLogin",
        r#"{"userIdentity":{"type":"IAMUser","userName":"alice"},"eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":"Success"}}"#,
    );
    let garbled = ct_event(
        "ev-garbled",
        1_729_000_002,
        "ConsoleLogin",
        "{\"userIdentity\": {\"type\": \"Ro",
    );
    let api_call = ct_event(
        "ev-api",
        1_729_000_003,
        "CreateAccessKey",
        &root_ct(
            "CreateAccessKey",
            "iam.amazonaws.com",
            serde_json::json!({}),
        ),
    );
    let recovery = ct_event(
        "ev-recovery",
        1_729_000_004,
        "PasswordRecoveryRequested",
        &root_ct(
            "PasswordRecoveryRequested",
            "signin.amazonaws.com",
            serde_json::json!({}),
        ),
    );
    let assumed = ct_event(
        "ev-assumed",
        1_729_000_005,
        "ListMFADevices",
        &root_ct(
            "ListMFADevices",
            "iam.amazonaws.com",
            serde_json::json!({"userIdentity": {"type": "Root", "arn": format!("arn:aws:iam::{GOOD}:root"), "sessionContext": {"assumedRoot": "true"}}}),
        ),
    );
    let (http, log) = client(
        move |c: &Call| {
            let json = c.form.get("json").cloned().unwrap_or_default();
            match (c.action.as_str(), &c.session) {
                ("GetCallerIdentity", _) => {
                    caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor")
                }
                ("AssumeRoot", _) => assume_root_ok(GOOD),
                ("AssumeRole", _) => assume_role_ok(GOOD),
                ("ListMFADevices", Session::Root(_)) => {
                    mfa_devices(&[&fido(FIDO_A, GOOD), &fido(FIDO_B, GOOD)])
                }
                ("ListAccessKeys", Session::Root(_)) => access_keys(&[]),
                ("ListSigningCertificates", Session::Root(_)) => signing_certs(&[]),
                ("GetLoginProfile", Session::Root(_)) => login_profile(true),
                ("GetAccountSummary", Session::Root(_)) => account_summary(1, 0, 0),
                ("GetUser", Session::Root(_)) => root_user(GOOD, Some("2024-10-15T08:12:00Z")),
                ("DescribeTrails", Session::Member(_)) => describe_trails(GOOD, false),
                ("LookupEvents", Session::Member(_)) if c.host.contains("us-east-1") => {
                    if json.contains("EventName") {
                        lookup_page(
                            vec![failed.clone(), iam_user.clone(), garbled.clone()],
                            None,
                        )
                    } else if json.contains("page-2") {
                        lookup_page(vec![recovery.clone(), assumed.clone()], None)
                    } else {
                        lookup_page(vec![failed.clone(), api_call.clone()], Some("page-2"))
                    }
                }
                ("LookupEvents", Session::Member(_)) => {
                    json_error(400, "AccessDeniedException", "not in eu-west-1")
                }
                _ => query_error(403, "AccessDenied", &format!("not expected: {c:?}")),
            }
        },
        None,
    );
    let mut opts = options(http);
    opts.member_role = Some("RootkeyAudit".into());
    let reader = Reader::connect(opts).await.unwrap();
    let ev = reader
        .read(
            None,
            vec![rootkey::aws::Target {
                account_id: GOOD.into(),
                name: None,
                email: None,
                management: false,
                status: None,
            }],
            time::macros::datetime!(2024-08-01 0:00 UTC),
            || {},
        )
        .await;
    let p = &ev.accounts[0].posture;
    assert!(p.not_read.is_empty(), "{:?}", p.not_read);
    // The home region's failure is recorded as root activity, not as "logins not searched".
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].check, Check::RootActivity);
    assert!(p.errors[0].message.contains("eu-west-1"), "{:?}", p.errors);
    assert_eq!(p.password, PasswordState::Present);
    let logins = p
        .logins
        .as_ref()
        .expect("us-east-1 answered: logins searched");
    assert_eq!(
        logins.len(),
        1,
        "the failed sign-in once; the IAM user's is not root's"
    );
    assert_eq!(logins[0].success, Some(false));
    let kinds: Vec<_> = p
        .usage
        .iter()
        .map(|u| (u.kind, u.source.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (RootUseKind::Password, "iam:GetUser"),
            (RootUseKind::ApiCall, "cloudtrail:us-east-1"),
            (RootUseKind::PasswordRecovery, "cloudtrail:us-east-1"),
        ],
        "the AssumeRoot session is not root use"
    );
    assert_eq!(p.unparsed_events.len(), 1);
    assert_eq!(
        p.unparsed_events[0].raw,
        "{\"userIdentity\": {\"type\": \"Ro"
    );
    assert_eq!(p.unparsed_events[0].event_id.as_deref(), Some("ev-garbled"));
    assert!(p
        .device_classes
        .iter()
        .all(|d| d.class == DeviceClass::FidoUnverified));

    let report = judged(&ev, &FindingConfig::default());
    let f = &report.accounts[0].findings;
    let got: Vec<_> = f.iter().map(|f| (f.check.as_str(), f.severity)).collect();
    for want in [
        ("ROOT-LOGIN-FAILED-UNEXPLAINED", Severity::Medium),
        ("ROOT-USED-UNEXPLAINED", Severity::Critical),
        ("ROOT-EVENT-UNPARSED", Severity::Medium),
        ("ROOT-USAGE-ALERT-MISSING", Severity::Low),
        ("READ-INCOMPLETE", Severity::Low),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    assert!(
        !got.iter().any(|(id, _)| *id == "ROOT-LOGIN-UNEXPLAINED"),
        "{got:?}"
    );

    let log = log.lock().unwrap();
    let role = log
        .iter()
        .find(|c| c.action == "AssumeRole")
        .cloned()
        .unwrap();
    assert_eq!(
        role.form.get("RoleArn").map(String::as_str),
        Some("arn:aws:iam::222222222222:role/RootkeyAudit")
    );
    // With a root session, the credential report and the virtual MFA list add nothing.
    assert!(!log
        .iter()
        .any(|c| c.action == "GenerateCredentialReport" || c.action == "ListVirtualMFADevices"));
    let lookups: Vec<String> = log
        .iter()
        .filter(|c| c.action == "LookupEvents")
        .map(|c| {
            format!(
                "{} {}",
                c.host,
                c.form.get("json").cloned().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        lookups.iter().any(|l| l.contains("us-east-1")
            && l.contains("\"Username\"")
            && l.contains("\"root\"")),
        "{lookups:?}"
    );
    assert!(
        lookups.iter().any(|l| l.contains("us-east-1")
            && l.contains("\"EventName\"")
            && l.contains("ConsoleLogin")),
        "{lookups:?}"
    );
    assert!(
        lookups
            .iter()
            .any(|l| l.contains("eu-west-1") && l.contains("\"Username\"")),
        "{lookups:?}"
    );
    assert!(
        !lookups
            .iter()
            .any(|l| l.contains("eu-west-1") && l.contains("\"EventName\"")),
        "sign-ins live in us-east-1: {lookups:?}"
    );
}

#[tokio::test]
async fn member_mfa_devices_for_enrollment_polling() {
    let (http, _) = client(
        |c: &Call| match c.action.as_str() {
            "GetCallerIdentity" => caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor"),
            "AssumeRoot" => assume_root_ok(GOOD),
            "ListMFADevices" => mfa_devices(&[&fido(FIDO_A, GOOD)]),
            _ => query_error(403, "AccessDenied", "no"),
        },
        None,
    );
    let reader = Reader::connect(options(http)).await.unwrap();
    let devices = reader.member_root_mfa_devices(GOOD).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].kind, rootkey::aws::MfaKind::Fido);
    assert_eq!(
        devices[0].enable_date,
        Some(time::macros::datetime!(2024-06-01 9:30 UTC))
    );
}

#[tokio::test]
async fn caller_identity_failure_is_a_whole_run_error() {
    let (http, _) = client(
        |_: &Call| {
            query_error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        },
        None,
    );
    let err = Reader::connect(options(http))
        .await
        .err()
        .expect("must fail");
    let text = err.to_string();
    assert!(
        text.contains("sts:GetCallerIdentity") && text.contains("InvalidClientTokenId"),
        "{text}"
    );
}

/// A credential-less member read with `--account`: ListAccounts is never called, but
/// ListOrganizationsFeatures is, and its answer decides the verdict.
fn account_mode_handler(features: Reply) -> impl Fn(&Call) -> Reply + Send + Sync + 'static {
    move |c: &Call| match (c.action.as_str(), &c.session) {
        ("GetCallerIdentity", _) => caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor"),
        ("DescribeOrganization", Session::Caller) => describe_organization(MGMT),
        ("ListOrganizationsFeatures", Session::Caller) => features.clone(),
        ("DescribeAccount", Session::Caller) => {
            describe_account(CREDLESS, "credless", "credless@example.com")
        }
        ("AssumeRoot", _) => assume_root_ok(CREDLESS),
        ("ListMFADevices", Session::Root(_)) => mfa_devices(&[]),
        ("ListAccessKeys", Session::Root(_)) => access_keys(&[]),
        ("ListSigningCertificates", Session::Root(_)) => signing_certs(&[]),
        ("GetLoginProfile", Session::Root(_)) => login_profile(false),
        ("GetAccountSummary", Session::Root(_)) => account_summary(0, 0, 0),
        ("GetUser", Session::Root(a)) => root_user(a, None),
        _ => query_error(
            400,
            "UnexpectedCall",
            &format!("test has no reply for {c:?}"),
        ),
    }
}

fn read_account_mode(features: Reply) -> (rootkey::aws::Evidence, Vec<Call>) {
    let (http, log) = client(account_mode_handler(features), None);
    let ev = rootkey::aws::read_evidence(
        options(http),
        &rootkey::aws::Scope::Accounts(vec![CREDLESS.into()]),
        time::macros::datetime!(2024-08-01 0:00 UTC),
        &mut |_| {},
    )
    .expect("read");
    let calls = log.lock().unwrap().clone();
    (ev, calls)
}

#[test]
fn account_mode_reads_central_root_state_and_says_unknown_when_it_cannot() {
    let cfg = FindingConfig::default();

    // Readable and on: the credential-less member is compliant (only logins remain open).
    let (ev, calls) =
        read_account_mode(org_features(&["RootCredentialsManagement", "RootSessions"]));
    assert_eq!(ev.scope.as_deref(), Some("accounts"));
    assert!(calls
        .iter()
        .any(|c| c.action == "ListOrganizationsFeatures"));
    assert!(!calls.iter().any(|c| c.action == "ListAccounts"));
    let r = evaluate(&ev, &cfg);
    let a = &r.accounts[0];
    assert_eq!(a.account_id, CREDLESS);
    assert!(
        !a.management,
        "the organization named another management account"
    );
    assert!(a.credential_less, "{:?}", a.findings);
    assert_eq!(ids(&a.findings), vec![c(FindingId::ReadIncomplete)]);
    let detail = a.findings[0].evidence["detail"].as_str().unwrap();
    assert!(detail.starts_with("logins:"), "{detail}");

    // Not readable (a member account's credentials): unknown, not "off", not MFA-MISSING.
    let (ev, _) = read_account_mode(query_error(
        403,
        "AccessDenied",
        "User: arn:aws:iam::111111111111:user/auditor is not authorized to perform: iam:ListOrganizationsFeatures",
    ));
    let r = evaluate(&ev, &cfg);
    assert_eq!(
        r.accounts.len(),
        1,
        "no organization row invented in --account mode"
    );
    let a = &r.accounts[0];
    assert!(!a.credential_less);
    let f = ids(&a.findings);
    assert!(!f.contains(&c(FindingId::RootMfaMissing)), "{f:?}");
    let ri = &a.findings[0];
    assert_eq!(
        (ri.check.as_str(), ri.severity),
        (FindingId::ReadIncomplete.as_str(), Severity::Medium)
    );
    let detail = ri.evidence["detail"].as_str().unwrap();
    assert!(
        detail.contains("organization_features") && detail.contains("RootCredentialsManagement"),
        "{detail}"
    );
    let org = ev.organization.as_ref().unwrap();
    assert!(org.features.is_none());
    assert!(org.errors.iter().any(|e| e.code == "AccessDenied"));

    // "Feature off" errors are an answer: off is a finding, and the member is judged as such.
    for code in [
        "ServiceAccessNotEnabledException",
        "OrganizationNotInAllFeaturesModeException",
    ] {
        let (ev, _) = read_account_mode(query_error(400, code, "not enabled"));
        let org = ev.organization.as_ref().unwrap();
        assert_eq!(org.features, Some(Default::default()), "{code}");
        assert_eq!(org.features_off_reason.as_deref(), Some(code));
        assert!(org.errors.is_empty(), "{code}: {:?}", org.errors);
        let r = evaluate(&ev, &cfg);
        let all: Vec<_> = r.accounts.iter().flat_map(|a| &a.findings).collect();
        let off = all
            .iter()
            .find(|f| f.check == FindingId::OrgCentralRootDisabled.as_str())
            .unwrap_or_else(|| panic!("{code}: {all:?}"));
        assert_eq!(off.account.as_deref(), Some(MGMT));
        let detail = |f: &rootkey::aws::Finding| f.evidence["detail"].to_string();
        assert!(detail(off).contains(code), "{}", detail(off));
        assert!(
            !all.iter()
                .any(|f| f.check == FindingId::ReadIncomplete.as_str()
                    && detail(f).contains("organization_features")),
            "{code}: off is not READ-INCOMPLETE: {all:?}"
        );
        let member = r
            .accounts
            .iter()
            .find(|a| a.account_id == CREDLESS)
            .unwrap();
        assert!(!member.credential_less);
        assert!(ids(&member.findings).contains(&c(FindingId::RootMfaMissing)));
    }
}

#[tokio::test]
async fn suspended_and_closed_members_are_listed_not_read_and_partition_follows_the_caller() {
    let (http, log) = client(
        |c: &Call| match (c.action.as_str(), &c.session) {
            ("GetCallerIdentity", _) => {
                caller_identity(MGMT, "arn:aws-us-gov:iam::111111111111:user/auditor")
            }
            ("DescribeOrganization", _) => describe_organization(MGMT),
            ("ListOrganizationsFeatures", _) => {
                org_features(&["RootCredentialsManagement", "RootSessions"])
            }
            ("ListAccounts", _) => list_accounts_with_state(&[
                (GOOD, "good", "good@example.com", "ACTIVE"),
                (CREDLESS, "gone", "gone@example.com", "SUSPENDED"),
                (VIRTUAL, "closed", "closed@example.com", "CLOSED"),
                (KEYS, "closing", "closing@example.com", "PENDING_CLOSURE"),
            ]),
            ("AssumeRoot", _) => assume_root_ok(GOOD),
            ("ListMFADevices", Session::Root(_)) => {
                mfa_devices(&[&fido(FIDO_A, GOOD), &fido(FIDO_B, GOOD)])
            }
            ("ListAccessKeys", Session::Root(_)) => access_keys(&[]),
            ("ListSigningCertificates", Session::Root(_)) => signing_certs(&[]),
            ("GetLoginProfile", Session::Root(_)) => login_profile(false),
            ("GetAccountSummary", Session::Root(_)) => account_summary(1, 0, 0),
            ("GetUser", Session::Root(a)) => root_user(a, None),
            _ => query_error(
                400,
                "UnexpectedCall",
                &format!("test has no reply for {c:?}"),
            ),
        },
        None,
    );
    let mut opts = options(http);
    opts.region = Some("us-gov-west-1".into());
    let reader = Reader::connect(opts).await.unwrap();
    let (org, targets) = reader.organization().await.unwrap();
    let ev = reader
        .read(
            Some(org),
            targets,
            time::macros::datetime!(2024-08-01 0:00 UTC),
            || {},
        )
        .await;
    let r = evaluate(&ev, &FindingConfig::default());
    assert_eq!(r.summary.inactive_accounts, 3);
    for a in &r.accounts {
        if a.account_id == GOOD {
            continue;
        }
        assert!(a.posture.account_inactive(), "{}", a.account_id);
        assert!(a.findings.is_empty(), "{}: {:?}", a.account_id, a.findings);
    }
    let log = log.lock().unwrap();
    let ar: Vec<_> = log.iter().filter(|c| c.action == "AssumeRoot").collect();
    assert_eq!(ar.len(), 1, "only the active member is read");
    assert_eq!(
        ar[0].form.get("TaskPolicyArn.arn").map(String::as_str),
        Some("arn:aws-us-gov:iam::aws:policy/root-task/IAMAuditRootUserCredentials")
    );
    assert!(ar[0].host.contains("us-gov-west-1"), "{}", ar[0].host);
}

#[tokio::test]
async fn signed_in_as_root_fido_devices_are_told_apart_by_their_certifications() {
    let key = format!("arn:aws:iam::{MGMT}:u2f/root/rootkey-a1b2c3-ABCDEFGHIJKLMNOP");
    let passkey = format!("arn:aws:iam::{MGMT}:u2f/root/iphone-passkey-QRSTUVWXYZ");
    let (k, pk) = (key.clone(), passkey.clone());
    let (http, log) = client(
        move |c: &Call| match c.action.as_str() {
            "GetCallerIdentity" => caller_identity(MGMT, "arn:aws:iam::111111111111:root"),
            "ListMFADevices" => mfa_devices(&[&k, &pk]),
            "GetMFADevice" if c.form.get("SerialNumber") == Some(&k) => {
                mfa_device(&k, &[("FIPS-140-2", "L2"), ("FIDO", "L1")])
            }
            "GetMFADevice" => mfa_device(&pk, &[]),
            "ListAccessKeys" => access_keys(&[]),
            "ListSigningCertificates" => signing_certs(&[]),
            "GetLoginProfile" => login_profile(true),
            "GetAccountSummary" => account_summary(1, 0, 0),
            "GetUser" => root_user(MGMT, Some("2024-10-15T08:12:00Z")),
            "DescribeTrails" => describe_trails(MGMT, false),
            "LookupEvents" => lookup_page(vec![], None),
            _ => query_error(
                400,
                "UnexpectedCall",
                &format!("test has no reply for {c:?}"),
            ),
        },
        None,
    );
    let reader = Reader::connect(options(http)).await.unwrap();
    let ev = reader
        .read(
            None,
            vec![rootkey::aws::Target {
                account_id: MGMT.into(),
                name: None,
                email: None,
                management: true,
                status: None,
            }],
            time::macros::datetime!(2024-08-01 0:00 UTC),
            || {},
        )
        .await;
    let p = &ev.accounts[0].posture;
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let classes: Vec<_> = p
        .device_classes
        .iter()
        .map(|d| (d.serial.as_str(), d.class))
        .collect();
    assert_eq!(
        classes,
        vec![
            (key.as_str(), DeviceClass::FidoSecurityKey),
            (passkey.as_str(), DeviceClass::FidoPasskey)
        ]
    );
    assert_eq!(
        p.device_classes[0].certifications.as_ref().unwrap()["FIPS-140-2"],
        "L2"
    );
    // Both are `u2f` to ListMFADevices: MfaKind stays `fido` for each (custody decides by ledger).
    assert!(p
        .mfa_devices
        .iter()
        .all(|d| d.kind == rootkey::aws::MfaKind::Fido));
    let r = judged(&ev, &FindingConfig::default());
    let f = ids(&r.accounts[0].findings);
    assert!(f.contains(&c(FindingId::RootUsageAlertMissing)), "{f:?}");
    assert!(
        f.contains(&"ROOT-USED-UNEXPLAINED".to_string()),
        "password used in the period: {f:?}"
    );
    assert_eq!(
        log.lock()
            .unwrap()
            .iter()
            .filter(|c| c.action == "GetMFADevice")
            .count(),
        2
    );
}

#[test]
fn cloudtrail_lake_finds_every_members_root_activity_with_one_paginated_query() {
    const EDS: &str =
        "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE";
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let row = |cols: &[(&str, &str)]| -> serde_json::Value {
        cols.iter()
            .map(|(k, v)| serde_json::json!({ *k: v }))
            .collect::<Vec<_>>()
            .into()
    };
    let page1 = vec![
        row(&[
            ("eventID", "lake-login"),
            ("eventTime", "2024-10-01 10:00:00.000"),
            ("eventSource", "signin.amazonaws.com"),
            ("eventName", "ConsoleLogin"),
            ("eventType", "AwsConsoleSignIn"),
            ("awsRegion", "us-east-1"),
            ("sourceIPAddress", "203.0.113.50"),
            ("recipientAccountId", GOOD),
            ("responseElements", "{ConsoleLogin=Success}"),
            ("additionalEventData", "{MFAUsed=No, MobileVersion=No}"),
        ]),
        row(&[
            ("eventID", "lake-assumed"),
            ("eventTime", "2024-10-01 11:00:00.000"),
            ("eventSource", "iam.amazonaws.com"),
            ("eventName", "ListMFADevices"),
            ("awsRegion", "us-east-1"),
            ("recipientAccountId", GOOD),
            ("userIdentity.sessionContext.assumedRoot", "true"),
        ]),
    ];
    let page2 = vec![
        row(&[
            ("eventID", "lake-api"),
            ("eventTime", "2024-10-02 09:00:00"),
            ("eventSource", "s3.amazonaws.com"),
            ("eventName", "PutBucketPolicy"),
            ("awsRegion", "eu-central-1"),
            ("sourceIPAddress", "203.0.113.51"),
            ("recipientAccountId", GOOD),
        ]),
        row(&[
            ("eventID", "lake-bad"),
            ("eventTime", "yesterday"),
            ("eventName", "ConsoleLogin"),
            ("awsRegion", "us-east-1"),
            ("recipientAccountId", GOOD),
        ]),
        // The management account's sign-in, also returned by LookupEvents: one event.
        row(&[
            ("eventID", "3a1f6e5c-0000-4000-8000-000000000000"),
            ("eventTime", "2024-10-15 08:12:00"),
            ("eventSource", "signin.amazonaws.com"),
            ("eventName", "ConsoleLogin"),
            ("awsRegion", "us-east-1"),
            ("recipientAccountId", MGMT),
            ("responseElements", "{ConsoleLogin=Success}"),
            ("additionalEventData", "{MFAUsed=Yes}"),
        ]),
    ];
    let (http, log) = client(
        move |c: &Call| {
            let json = c.form.get("json").cloned().unwrap_or_default();
            match (c.action.as_str(), &c.session) {
                ("GetCallerIdentity", _) => {
                    caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor")
                }
                ("DescribeOrganization", _) => describe_organization(MGMT),
                ("ListOrganizationsFeatures", _) => {
                    org_features(&["RootCredentialsManagement", "RootSessions"])
                }
                ("ListAccounts", _) => list_accounts(
                    &[
                        (MGMT, "management", "aws-root@example.com"),
                        (GOOD, "good", "good@example.com"),
                        (CREDLESS, "credless", "credless@example.com"),
                    ],
                    None,
                ),
                ("AssumeRoot", _) => {
                    assume_root_ok(c.form.get("TargetPrincipal").map(String::as_str).unwrap_or(""))
                }
                ("ListMFADevices", Session::Root(a)) if a == GOOD => {
                    mfa_devices(&[&fido(FIDO_A, GOOD), &fido(FIDO_B, GOOD)])
                }
                ("ListMFADevices", Session::Root(_)) => mfa_devices(&[]),
                ("ListAccessKeys", Session::Root(_)) => access_keys(&[]),
                ("ListSigningCertificates", Session::Root(_)) => signing_certs(&[]),
                ("GetLoginProfile", Session::Root(_)) => login_profile(false),
                ("GetAccountSummary", _) => account_summary(1, 0, 0),
                ("GetUser", Session::Root(a)) => root_user(a, None),
                ("GenerateCredentialReport", Session::Caller) => report_complete(),
                ("GetCredentialReport", Session::Caller) => credential_report(&format!(
                    "{REPORT_HEADER}\n<root_account>,arn:aws:iam::{MGMT}:root,2019-01-01T00:00:00+00:00,not_supported,2024-10-15T08:12:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
                )),
                ("ListVirtualMFADevices", Session::Caller) => virtual_mfa(&[]),
                ("DescribeTrails", Session::Caller) => describe_trails(MGMT, true),
                ("LookupEvents", Session::Caller) if c.host.contains("us-east-1") => {
                    lookup_events(&[("Root", "198.51.100.7", true, true)])
                }
                ("LookupEvents", Session::Caller) => lookup_events(&[]),
                ("StartQuery", Session::Caller) => json_ok(serde_json::json!({"QueryId": "EXAMPLEd-17a7-47c3-a9a1-eccf7EXAMPLE"})),
                ("GetQueryResults", Session::Caller) => {
                    if p2.fetch_add(1, Ordering::SeqCst) == 0 {
                        json_ok(serde_json::json!({"QueryStatus": "RUNNING"}))
                    } else if json.contains("page-2") {
                        json_ok(serde_json::json!({"QueryStatus": "FINISHED", "QueryResultRows": page2}))
                    } else {
                        json_ok(serde_json::json!({"QueryStatus": "FINISHED", "QueryResultRows": page1, "NextToken": "page-2"}))
                    }
                }
                _ => query_error(400, "UnexpectedCall", &format!("test has no reply for {c:?}")),
            }
        },
        None,
    );
    let mut opts = options(http);
    opts.cloudtrail_lake = Some(EDS.into());
    let ev = rootkey::aws::read_evidence(
        opts,
        &rootkey::aws::Scope::Organization,
        time::macros::datetime!(2024-08-01 0:00 UTC),
        &mut |_| {},
    )
    .expect("read");
    let acct = |id: &str| ev.accounts.iter().find(|a| a.account_id == id).unwrap();

    // The member needs no role: its root activity came from the event data store.
    let good = &acct(GOOD).posture;
    assert!(good.not_read.is_empty(), "{:?}", good.not_read);
    let logins = good.logins.as_ref().expect("searched through Lake");
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].mfa_used, Some(false));
    assert_eq!(logins[0].success, Some(true));
    assert_eq!(logins[0].event_id.as_deref(), Some("lake-login"));
    assert_eq!(
        good.usage.len(),
        1,
        "the AssumeRoot session is dropped: {:?}",
        good.usage
    );
    assert_eq!(good.usage[0].kind, RootUseKind::ApiCall);
    assert_eq!(good.usage[0].source, "cloudtrail-lake:eu-central-1");
    assert_eq!(good.unparsed_events.len(), 1);
    assert!(good.unparsed_events[0].raw.contains("yesterday"));
    // No activity for the credential-less member: searched, empty.
    assert_eq!(acct(CREDLESS).posture.logins.as_deref(), Some(&[][..]));
    assert_eq!(
        acct(MGMT).posture.logins.as_ref().unwrap().len(),
        1,
        "de-duplicated by event id"
    );

    let r = judged(&ev, &FindingConfig::default());
    let g = r.accounts.iter().find(|a| a.account_id == GOOD).unwrap();
    let got: Vec<_> = g
        .findings
        .iter()
        .map(|f| (f.check.as_str(), f.severity))
        .collect();
    assert!(
        got.iter().any(|(id, _)| id.starts_with("ROOT-LOGIN-")),
        "{got:?}"
    );
    assert!(
        got.contains(&("ROOT-USED-UNEXPLAINED", Severity::Critical)),
        "{got:?}"
    );
    assert!(
        got.contains(&("ROOT-EVENT-UNPARSED", Severity::Medium)),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(id, _)| *id == "READ-INCOMPLETE"),
        "{got:?}"
    );
    let c = r
        .accounts
        .iter()
        .find(|a| a.account_id == CREDLESS)
        .unwrap();
    assert!(
        c.credential_less && c.findings.is_empty(),
        "{:?}",
        c.findings
    );

    let log = log.lock().unwrap();
    let start: Vec<_> = log.iter().filter(|c| c.action == "StartQuery").collect();
    assert_eq!(start.len(), 1, "one query for the whole organization");
    assert_eq!(
        start[0].host, "cloudtrail.us-east-1.amazonaws.com",
        "the store's region"
    );
    let sql = start[0].form.get("json").unwrap();
    assert!(
        sql.contains("FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE")
            && sql.contains("userIdentity.type = 'Root'")
            && sql.contains("eventTime >= '2024-08-01 00:00:00'"),
        "{sql}"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 3, "RUNNING, page 1, page 2");
}

#[tokio::test]
async fn root_usage_alarm_is_a_cis_metric_filter_with_an_alarm_on_a_trail_log_group() {
    const CIS: &str = r#"{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) && ($.eventType != "AwsServiceEvent") }"#;
    for (pattern, alarm, alerted) in [
        (CIS, true, true),
        (CIS, false, false),
        (r#"{ $.userIdentity.type = "Root" }"#, true, false),
    ] {
        let (http, log) = client(
            move |c: &Call| {
                match c.action.as_str() {
                "GetCallerIdentity" => caller_identity(MGMT, "arn:aws:iam::111111111111:user/auditor"),
                "GetAccountSummary" => account_summary(1, 0, 0),
                "GenerateCredentialReport" => report_complete(),
                "GetCredentialReport" => credential_report(&format!(
                    "{REPORT_HEADER}\n<root_account>,arn:aws:iam::{MGMT}:root,2019-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
                )),
                "ListVirtualMFADevices" => virtual_mfa(&[]),
                "LookupEvents" => lookup_page(vec![], None),
                "DescribeTrails" => describe_trails_to_logs(MGMT, "trail-logs"),
                "DescribeMetricFilters" => {
                    metric_filters("trail-logs", "root-usage", pattern, "RootAccountUsage", "CISBenchmark")
                }
                "DescribeAlarmsForMetric" => cbor_ok(if alarm {
                    serde_json::json!({"MetricAlarms": [{"AlarmName": "root-usage", "MetricName": "RootAccountUsage", "Namespace": "CISBenchmark"}]})
                } else {
                    serde_json::json!({"MetricAlarms": []})
                }),
                _ => query_error(400, "UnexpectedCall", &format!("test has no reply for {c:?}")),
            }
            },
            None,
        );
        let reader = Reader::connect(options(http)).await.unwrap();
        let ev = reader
            .read(
                None,
                vec![rootkey::aws::Target {
                    account_id: MGMT.into(),
                    name: None,
                    email: None,
                    management: true,
                    status: None,
                }],
                time::macros::datetime!(2024-08-01 0:00 UTC),
                || {},
            )
            .await;
        let p = &ev.accounts[0].posture;
        assert!(p.errors.is_empty(), "{pattern}: {:?}", p.errors);
        let a = p.usage_alerting.as_ref().unwrap();
        assert_eq!(
            a.root_usage_alarms.as_ref().unwrap().len(),
            usize::from(alerted),
            "{pattern} {alarm}: {a:?}"
        );
        let r = evaluate(&ev, &FindingConfig::default());
        let missing = ids(&r.accounts[0].findings).contains(&c(FindingId::RootUsageAlertMissing));
        assert_eq!(missing, !alerted, "{pattern} {alarm}");
        let log = log.lock().unwrap();
        let cw: Vec<_> = log
            .iter()
            .filter(|c| c.action == "DescribeAlarmsForMetric")
            .collect();
        if pattern == CIS {
            assert_eq!(cw.len(), 1);
            assert!(
                cw[0].host.contains("monitoring.us-east-1"),
                "{}",
                cw[0].host
            );
            let body = cw[0].form.get("json").unwrap();
            assert!(
                body.contains("RootAccountUsage") && body.contains("CISBenchmark"),
                "{body}"
            );
        } else {
            assert!(cw.is_empty(), "a non-CIS filter is not a root-usage alarm");
        }
        let filters = log
            .iter()
            .find(|c| c.action == "DescribeMetricFilters")
            .unwrap();
        assert!(filters.host.contains("logs.us-east-1"), "{}", filters.host);
        assert!(filters.form.get("json").unwrap().contains("trail-logs"));
    }
}
