//! `rootkey aws remediate` end to end: custodians with soft keys on a real ledger, the real SDK
//! answered in AWS's wire format by a replay client that plays a member account's root
//! credentials (AssumeRoot, the reads, every deletion, AccessDenied, a failure in the middle).
//! Each deletion call looks at the ledger at the moment it arrives, so the tests prove the
//! approval was recorded before AWS was changed.

mod station;
mod support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_sdk_iam::config::Credentials;
use rootkey::aws::AwsOptions;
use rootkey::custody::events::{ItemOutcome, RemediationFinding};
use rootkey::custody::flows::remediate::{remediate, RemediateOutcome, RemediateRequest};
use rootkey::custody::flows::{Approver, FlowError, RecordingConsole};
use rootkey::custody::Station as Custody;
use rootkey::device::DeviceSpec;
use rootkey::ledger::{Ledger, UnsignedEvent};
use station::*;
use support::replay::*;

const MGMT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const KEY_OLD: &str = "AKIAIOSFODNN7EXAMPLE";
const KEY_OTHER: &str = "AKIAI44QH8DHBEXAMPLE";
const VIRTUAL: &str = "arn:aws:iam::222222222222:mfa/root-account-mfa-device";
const FIDO: &str = "arn:aws:iam::222222222222:u2f/root/rootkey-a1b2c3-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A member account's root credentials as AWS holds them, and what the replay saw.
#[derive(Default)]
struct World {
    keys: Vec<(String, Option<String>)>,
    certs: Vec<String>,
    password: Option<Option<String>>,
    mfa: Vec<String>,
    /// Ids whose deletion AWS refuses with AccessDenied (once each).
    deny_once: Vec<String>,
    /// AssumeRoot refused.
    deny_assume: bool,
    /// Every change call: (action, id, ledger length then, last entry kind then).
    changes: Vec<(String, String, u64, String)>,
    /// Task policies AssumeRoot was asked for.
    task_policies: Vec<String>,
}

type Shared = Arc<Mutex<World>>;

fn empty_ok(action: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "text/xml",
        body: format!(
            "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></{action}Response>"
        ),
    }
}

fn ledger_now(db: &std::path::Path) -> (u64, String) {
    let l = Ledger::open_readonly(db).unwrap();
    let e = l.entries(0).unwrap();
    (
        e.len() as u64,
        e.last().map(|x| x.event.kind.clone()).unwrap_or_default(),
    )
}

fn handler(world: Shared, db: PathBuf) -> impl Fn(&Call) -> Reply + Send + Sync + 'static {
    move |c: &Call| {
        let mut w = world.lock().unwrap();
        let root = matches!(&c.session, Session::Root(a) if a == MEMBER);
        let change = |w: &mut World, id: &str| -> Option<Reply> {
            let (n, kind) = ledger_now(&db);
            w.changes.push((c.action.clone(), id.to_string(), n, kind));
            if let Some(p) = w.deny_once.iter().position(|d| d == id) {
                w.deny_once.remove(p);
                return Some(query_error(
                    403,
                    "AccessDenied",
                    "User: arn:aws:sts::222222222222:assumed-root/rootkey is not authorized to perform this action",
                ));
            }
            None
        };
        match c.action.as_str() {
            "GetCallerIdentity" => caller_identity(MGMT, "arn:aws:iam::111111111111:user/admin"),
            "DescribeOrganization" => describe_organization(MGMT),
            "AssumeRoot" => {
                let policy = c.form.get("TaskPolicyArn.arn").cloned().unwrap_or_default();
                w.task_policies.push(policy);
                let target = c.form.get("TargetPrincipal").cloned().unwrap_or_default();
                if w.deny_assume {
                    query_error(
                        403,
                        "AccessDenied",
                        "not authorized to perform: sts:AssumeRoot",
                    )
                } else {
                    assume_root_ok(&target)
                }
            }
            _ if !root => query_error(403, "AccessDenied", "not a root session"),
            "ListAccessKeys" => {
                let k: Vec<(&str, &str)> = w
                    .keys
                    .iter()
                    .map(|(id, _)| (id.as_str(), "Active"))
                    .collect();
                access_keys(&k)
            }
            "GetAccessKeyLastUsed" => {
                let id = c.form.get("AccessKeyId").cloned().unwrap_or_default();
                let used = w
                    .keys
                    .iter()
                    .find(|(k, _)| *k == id)
                    .and_then(|(_, u)| u.clone());
                let inner = match used {
                    Some(t) => format!("<AccessKeyLastUsed><Region>us-east-1</Region><LastUsedDate>{t}</LastUsedDate><ServiceName>s3</ServiceName></AccessKeyLastUsed>"),
                    None => "<AccessKeyLastUsed><Region>N/A</Region><ServiceName>N/A</ServiceName></AccessKeyLastUsed>".into(),
                };
                iam_ok(
                    "GetAccessKeyLastUsed",
                    &format!("<UserName>root</UserName>{inner}"),
                )
            }
            "ListSigningCertificates" => {
                let certs: Vec<(&str, &str)> =
                    w.certs.iter().map(|c| (c.as_str(), "Active")).collect();
                signing_certs(&certs)
            }
            "GetLoginProfile" => login_profile(w.password.is_some()),
            "GetUser" => root_user(MEMBER, w.password.clone().flatten().as_deref()),
            "ListMFADevices" => {
                let s: Vec<&str> = w.mfa.iter().map(String::as_str).collect();
                mfa_devices(&s)
            }
            "DeleteAccessKey" => {
                let id = c.form.get("AccessKeyId").cloned().unwrap_or_default();
                if let Some(r) = change(&mut w, &id) {
                    return r;
                }
                w.keys.retain(|(k, _)| *k != id);
                empty_ok("DeleteAccessKey")
            }
            "DeleteSigningCertificate" => {
                let id = c.form.get("CertificateId").cloned().unwrap_or_default();
                if let Some(r) = change(&mut w, &id) {
                    return r;
                }
                w.certs.retain(|x| *x != id);
                empty_ok("DeleteSigningCertificate")
            }
            "DeleteLoginProfile" => {
                if let Some(r) = change(&mut w, "login-profile") {
                    return r;
                }
                w.password = None;
                empty_ok("DeleteLoginProfile")
            }
            "DeactivateMFADevice" => {
                let id = c.form.get("SerialNumber").cloned().unwrap_or_default();
                if let Some(r) = change(&mut w, &id) {
                    return r;
                }
                w.mfa.retain(|x| *x != id);
                empty_ok("DeactivateMFADevice")
            }
            other => query_error(400, "InvalidAction", &format!("unexpected {other}")),
        }
    }
}

struct Setup {
    s: Station,
    world: Shared,
    opts: AwsOptions,
}

fn setup(world: World) -> Setup {
    let s = Station::new();
    let world = Arc::new(Mutex::new(world));
    let (http, _log) = client(handler(world.clone(), s.path("ledger.db")), None);
    let opts = AwsOptions {
        region: Some("eu-west-1".into()),
        credentials: Some(Credentials::new(CALLER_KEY, "secret", None, None, "test")),
        http_client: Some(http),
        retry: RetryConfig::standard().with_max_attempts(1),
        ..AwsOptions::default()
    };
    Setup { s, world, opts }
}

fn request(s: &Station, finding: RemediationFinding, execute: bool) -> RemediateRequest {
    let who = |id: &str| Approver {
        id: id.into(),
        device: DeviceSpec::Soft(s.path(&format!("{id}.json"))),
    };
    RemediateRequest {
        actor: "alice".into(),
        account_id: MEMBER.into(),
        finding,
        custodians: [who("alice"), who("bob")],
        execute,
        force_recent_use: false,
        reason: None,
        ticket: Some("CHG-42".into()),
        recent_days: 90,
    }
}

fn console() -> RecordingConsole {
    RecordingConsole {
        pins: vec![
            ("custodian alice".into(), PIN.into()),
            ("custodian bob".into(), PIN.into()),
            ("custodian carol".into(), PIN.into()),
        ],
        ..RecordingConsole::default()
    }
}

fn run(x: &Setup, req: &RemediateRequest) -> Result<RemediateOutcome, FlowError> {
    let mut station = Custody::open(&x.s.path("ledger.db"), None).unwrap();
    remediate(&mut station, &mut console(), req, &x.opts)
}

fn long_ago() -> Option<String> {
    Some("2024-10-02T08:00:00Z".into())
}

fn days_ago(n: i64) -> Option<String> {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(n);
    Some(
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    )
}

fn bodies(s: &Station, kind: &str) -> Vec<(u64, serde_json::Value)> {
    Ledger::open_readonly(&s.path("ledger.db"))
        .unwrap()
        .entries(0)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.kind == kind)
        .map(|e| (e.seq, e.event.body.clone()))
        .collect()
}

#[test]
fn dry_run_shows_the_exact_plan_and_changes_nothing() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), long_ago()), (KEY_OTHER.into(), None)],
        ..World::default()
    });
    let before = x.s.len();
    let o = run(&x, &request(&x.s, RemediationFinding::AccessKey, false)).unwrap();
    assert!(!o.executed);
    let ids: Vec<&str> = o.plan.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [KEY_OLD, KEY_OTHER]);
    assert_eq!(
        o.plan.items[0].last_used.map(|t| t.unix_timestamp()),
        Some(1_727_856_000)
    );
    assert_eq!(o.plan.items[0].last_used_service.as_deref(), Some("s3"));
    assert_eq!(o.plan.items[1].last_used, None);
    assert_eq!(o.plan.plan_sha256.len(), 64);
    let w = x.world.lock().unwrap();
    assert!(
        w.changes.is_empty(),
        "a dry run changed AWS: {:?}",
        w.changes
    );
    assert_eq!(w.keys.len(), 2);
    assert!(w
        .task_policies
        .iter()
        .all(|p| p == "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"));
    assert_eq!(x.s.len(), before, "a dry run recorded something");
}

#[test]
fn approval_is_recorded_before_the_first_deletion_and_completion_matches_aws() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), long_ago()), (KEY_OTHER.into(), None)],
        ..World::default()
    });
    let before = x.s.len() as u64;
    let o = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    assert!(o.fixed(), "{o:?}");
    let approval = o.approval_seq.unwrap();
    assert_eq!(approval, before);
    let w = x.world.lock().unwrap();
    assert_eq!(w.changes.len(), 2);
    for (action, _, len, kind) in &w.changes {
        assert_eq!(action, "DeleteAccessKey");
        assert_eq!(
            *len,
            approval + 1,
            "the approval was not in the ledger at {action}"
        );
        assert_eq!(kind, "remediation.approved");
    }
    assert!(w.keys.is_empty());
    drop(w);

    let approved = bodies(&x.s, "remediation.approved");
    assert_eq!(approved.len(), 1);
    let (seq, a) = &approved[0];
    assert_eq!(*seq, approval);
    assert_eq!(a["account_id"], MEMBER);
    assert_eq!(a["finding"], "ROOT-ACCESS-KEY");
    assert_eq!(a["plan_sha256"], o.plan.plan_sha256);
    assert_eq!(a["ticket"], "CHG-42");
    assert_eq!(a["items"][0]["id"], KEY_OLD);
    assert_eq!(a["items"][0]["last_used"], "2024-10-02T08:00:00Z");
    let completed = bodies(&x.s, "remediation.completed");
    let (cseq, c) = &completed[0];
    assert_eq!(Some(*cseq), o.completion_seq);
    assert_eq!(c["approval_seq"], approval);
    assert_eq!(c["results"][0]["outcome"], "done");
    assert_eq!(c["results"][1]["outcome"], "done");
    assert_eq!(c["aws_now"], serde_json::json!([]));
    x.s.verifies();
    let shown = stdout(&x.s.run(&["ledger", "show"]));
    assert!(
        shown.contains("approved ROOT-ACCESS-KEY on account 222222222222: 2 item(s)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "completed entry {approval} on account 222222222222: 2 done, 0 failed; AWS lists 0 now"
        )),
        "{shown}"
    );
}

#[test]
fn a_failure_in_the_middle_is_recorded_and_a_rerun_continues_under_a_new_approval() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), long_ago()), (KEY_OTHER.into(), None)],
        deny_once: vec![KEY_OLD.into()],
        ..World::default()
    });
    let first = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    assert!(!first.fixed());
    assert_eq!(first.results[0].outcome, ItemOutcome::Failed);
    assert_eq!(first.results[0].error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(first.results[1].outcome, ItemOutcome::Done);
    let now: Vec<&str> = first
        .aws_now
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        now,
        [KEY_OLD],
        "the completion must say what AWS lists afterwards"
    );
    let c = &bodies(&x.s, "remediation.completed")[0].1;
    assert_eq!(c["results"][0]["outcome"], "failed");
    assert_eq!(c["results"][0]["error_code"], "AccessDenied");
    assert_eq!(c["aws_now"][0]["id"], KEY_OLD);

    // The re-run plans what is left, continues the first plan, and needs its own approval.
    let second = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    assert_eq!(second.plan.continues, first.approval_seq);
    let ids: Vec<&str> = second.plan.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [KEY_OLD]);
    assert!(second.fixed());
    let approvals = bodies(&x.s, "remediation.approved");
    assert_eq!(approvals.len(), 2);
    assert_eq!(approvals[1].1["continues"], first.approval_seq.unwrap());
    x.s.verifies();

    // Nothing is left: a third run plans nothing and records nothing.
    let len = x.s.len();
    let third = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    assert!(third.plan.items.is_empty() && !third.executed);
    assert_eq!(x.s.len(), len);
}

#[test]
fn recent_use_is_refused_unless_forced_with_a_reason() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), days_ago(2))],
        ..World::default()
    });
    let len = x.s.len();
    let err = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap_err();
    assert!(err.to_string().contains("--force-recent-use"), "{err}");
    assert_eq!(x.s.len(), len);
    assert!(x.world.lock().unwrap().changes.is_empty());

    let mut forced = request(&x.s, RemediationFinding::AccessKey, true);
    forced.force_recent_use = true;
    let err = run(&x, &forced).unwrap_err();
    assert!(err.to_string().contains("--reason"), "{err}");
    forced.reason = Some("key leaked in a public repository (INC-7)".into());
    let o = run(&x, &forced).unwrap();
    assert!(o.fixed());
    let a = &bodies(&x.s, "remediation.approved")[0].1;
    assert_eq!(a["force_recent_use"], true);
    assert_eq!(a["reason"], "key leaked in a public repository (INC-7)");
    x.s.verifies();
}

#[test]
fn certificates_password_and_virtual_mfa_each_go_through_their_own_call() {
    let x = setup(World {
        certs: vec!["9GPN3QWRZ3PIEXAMPLEHBRBJXKFMOH7A".into()],
        password: Some(Some("2024-01-05T10:00:00Z".into())),
        mfa: vec![FIDO.into(), VIRTUAL.into()],
        ..World::default()
    });
    for f in [
        RemediationFinding::SigningCert,
        RemediationFinding::PasswordPresent,
        RemediationFinding::MfaVirtual,
    ] {
        let o = run(&x, &request(&x.s, f, true)).unwrap();
        assert!(o.fixed(), "{f:?}: {o:?}");
        assert_eq!(o.plan.items.len(), 1);
    }
    let w = x.world.lock().unwrap();
    let calls: Vec<(&str, &str)> = w
        .changes
        .iter()
        .map(|(a, id, _, kind)| {
            assert_eq!(kind, "remediation.approved");
            (a.as_str(), id.as_str())
        })
        .collect();
    assert_eq!(
        calls,
        [
            (
                "DeleteSigningCertificate",
                "9GPN3QWRZ3PIEXAMPLEHBRBJXKFMOH7A"
            ),
            ("DeleteLoginProfile", "login-profile"),
            ("DeactivateMFADevice", VIRTUAL),
        ]
    );
    assert_eq!(
        w.mfa,
        [FIDO],
        "the FIDO key is not part of ROOT-MFA-VIRTUAL"
    );
    drop(w);
    let a = bodies(&x.s, "remediation.approved");
    assert_eq!(a[1].1["items"][0]["last_used"], "2024-01-05T10:00:00Z");
    x.s.verifies();
}

#[test]
fn assume_root_refused_changes_and_records_nothing() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), long_ago())],
        deny_assume: true,
        ..World::default()
    });
    let len = x.s.len();
    let err = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap_err();
    assert!(
        err.to_string()
            .contains("sts:AssumeRoot failed (AccessDenied)"),
        "{err}"
    );
    assert_eq!(x.s.len(), len);
    assert!(x.world.lock().unwrap().changes.is_empty());
}

#[test]
fn the_management_account_is_refused_with_console_steps() {
    let x = setup(World::default());
    let mut req = request(&x.s, RemediationFinding::AccessKey, true);
    req.account_id = MGMT.into();
    let err = run(&x, &req).unwrap_err().to_string();
    assert!(err.contains("management account"), "{err}");
    assert!(err.contains("console"), "{err}");
    assert!(
        x.world.lock().unwrap().task_policies.is_empty(),
        "AssumeRoot was tried"
    );
}

#[test]
fn one_custodian_or_the_same_one_twice_is_refused_before_aws() {
    let x = setup(World {
        keys: vec![(KEY_OLD.into(), long_ago())],
        ..World::default()
    });
    let mut req = request(&x.s, RemediationFinding::AccessKey, true);
    req.custodians[1] = req.custodians[0].clone();
    let err = run(&x, &req).unwrap_err().to_string();
    assert!(err.contains("named twice"), "{err}");
    req.custodians[1].id = "mallory".into();
    let err = run(&x, &req).unwrap_err().to_string();
    assert!(err.contains("not a registered custodian"), "{err}");
    assert!(x.world.lock().unwrap().task_policies.is_empty());

    // Through the binary: one id alone, and the same one twice.
    for (ids, why) in [
        ("alice", "exactly two custodian ids"),
        ("alice,ALICE", "named twice"),
    ] {
        let o = x.s.run(&[
            "aws",
            "remediate",
            "--account",
            MEMBER,
            "--finding",
            "ROOT-ACCESS-KEY",
            "--custodians",
            ids,
            "--execute",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--region",
            "eu-west-1",
        ]);
        assert_eq!(o.status.code(), Some(2), "{ids}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{ids}: {}", stderr(&o));
    }
}

/// An event as someone holding the ledger's signing key would write it, bypassing rootkey.
fn force(s: &Station, ev: &UnsignedEvent, approvals: Vec<rootkey::ledger::Approval>) {
    let mut l = Ledger::open(&s.path("ledger.db"), None).unwrap();
    l.append(ev, approvals).unwrap();
}

#[test]
fn forged_remediation_entries_fail_ledger_verify() {
    use rootkey::custody::events::{plan_sha256, CredentialKind, PlanItem};
    use rootkey::custody::flows::gather_approvals;
    use rootkey::custody::Requirement;
    let x = setup(World::default());
    let vkey = x.s.vkey();
    let verify = || {
        let o = x.s.run(&["ledger", "verify", "--vkey", &vkey]);
        (o.status.code(), stdout(&o) + &stderr(&o))
    };
    // A completion that names no approved plan.
    let items = vec![PlanItem {
        kind: CredentialKind::AccessKey,
        id: KEY_OLD.into(),
        last_used: None,
        last_used_service: None,
    }];
    let digest = plan_sha256(MEMBER, RemediationFinding::AccessKey, &items).unwrap();
    let completed = serde_json::json!({
        "approval_seq": 1, "account_id": MEMBER, "plan_sha256": digest,
        "results": [{"kind": "access-key", "id": KEY_OLD, "outcome": "done"}],
        "aws_now": []
    });
    let s2 = Station::new();
    force(
        &s2,
        &UnsignedEvent::new("remediation.completed", "mallory", completed).unwrap(),
        vec![],
    );
    let o = s2.run(&["ledger", "verify", "--vkey", &s2.vkey()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("no approved remediation plan"),
        "{}",
        stdout(&o)
    );

    // An approval by one custodian alone.
    let approved = serde_json::json!({
        "account_id": MEMBER, "finding": "ROOT-ACCESS-KEY", "items": items,
        "plan_sha256": digest, "recent_days": 90, "force_recent_use": false
    });
    let ev = UnsignedEvent::new("remediation.approved", "alice", approved).unwrap();
    let station = Custody::open(&x.s.path("ledger.db"), None).unwrap();
    let alice = request(&x.s, RemediationFinding::AccessKey, true).custodians[0].clone();
    let one = gather_approvals(
        &station,
        &ev,
        &Requirement::Custodians(1),
        &[alice],
        &mut console(),
    )
    .unwrap();
    drop(station);
    force(&x.s, &ev, one);
    let (code, out) = verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("2 distinct custodians"), "{out}");
}

#[test]
fn a_plan_whose_digest_or_items_were_changed_fails_ledger_verify() {
    let s = Station::new();
    let approved = serde_json::json!({
        "account_id": MEMBER, "finding": "ROOT-ACCESS-KEY",
        "items": [{"kind": "access-key", "id": KEY_OTHER}],
        "plan_sha256": "0".repeat(64), "recent_days": 90, "force_recent_use": false
    });
    force(
        &s,
        &UnsignedEvent::new("remediation.approved", "alice", approved).unwrap(),
        vec![],
    );
    let o = s.run(&["ledger", "verify", "--vkey", &s.vkey()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("plan_sha256"), "{}", stdout(&o));
}

#[test]
fn the_cli_checks_finding_names_and_that_force_has_a_reason() {
    let s = Station::new();
    let o = s.run(&[
        "aws",
        "remediate",
        "--account",
        MEMBER,
        "--finding",
        "ROOT-MFA-MISSING",
        "--custodians",
        "alice,bob",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a finding rootkey can remediate"),
        "{}",
        stderr(&o)
    );
    let o = s.run(&[
        "aws",
        "remediate",
        "--account",
        MEMBER,
        "--finding",
        "ROOT-ACCESS-KEY",
        "--custodians",
        "alice,bob",
        "--force-recent-use",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--force-recent-use without --reason"
    );
}

/// Appends `body` as `kind` through the station (the fold that `ledger verify` runs), approved
/// by alice and bob when `approved`; the fold's refusal, if any.
fn append(s: &Station, kind: &str, body: serde_json::Value, approved: bool) -> Result<u64, String> {
    use rootkey::custody::flows::gather_approvals;
    use rootkey::custody::Requirement;
    let mut station = Custody::open(&s.path("ledger.db"), None).unwrap();
    let ev = UnsignedEvent::new(kind, "alice", body).map_err(|e| e.to_string())?;
    let approvals = if approved {
        let r = request(s, RemediationFinding::AccessKey, true);
        gather_approvals(
            &station,
            &ev,
            &Requirement::Custodians(2),
            &r.custodians,
            &mut console(),
        )
        .unwrap()
    } else {
        vec![]
    };
    station
        .append_one(ev, approvals)
        .map(|r| r.first_seq)
        .map_err(|e| e.to_string())
}

fn plan_body(ids: &[(&str, Option<&str>)], continues: Option<u64>) -> serde_json::Value {
    use rootkey::custody::events::{plan_sha256, CredentialKind, PlanItem};
    let items: Vec<PlanItem> = ids
        .iter()
        .map(|(id, used)| PlanItem {
            kind: CredentialKind::AccessKey,
            id: id.to_string(),
            last_used: used.map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .unwrap()
            }),
            last_used_service: None,
        })
        .collect();
    let mut b = serde_json::json!({
        "account_id": MEMBER, "finding": "ROOT-ACCESS-KEY", "items": items,
        "plan_sha256": plan_sha256(MEMBER, RemediationFinding::AccessKey, &items).unwrap(),
        "recent_days": 90, "force_recent_use": false
    });
    if let Some(c) = continues {
        b["continues"] = c.into();
    }
    b
}

#[test]
fn the_fold_refuses_what_the_flow_never_writes() {
    let s = Station::new();
    let recent = days_ago(1).unwrap();
    let err = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, Some(&recent))], None),
        true,
    )
    .unwrap_err();
    assert!(err.contains("used within 90 days"), "{err}");

    let p1 = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, None)], None),
        true,
    )
    .unwrap();
    let err = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OTHER, None)], None),
        true,
    )
    .unwrap_err();
    assert!(err.contains("still open"), "{err}");
    let err = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OTHER, None)], Some(p1)),
        true,
    )
    .unwrap_err();
    assert!(err.contains("not among what the plan"), "{err}");

    let digest = plan_body(&[(KEY_OLD, None)], None)["plan_sha256"].clone();
    let completed = |id: &str| {
        serde_json::json!({
            "approval_seq": p1, "account_id": MEMBER, "plan_sha256": digest,
            "results": [{"kind": "access-key", "id": id, "outcome": "done"}], "aws_now": []
        })
    };
    let err = append(&s, "remediation.completed", completed(KEY_OTHER), false).unwrap_err();
    assert!(err.contains("approved plan's items"), "{err}");
    let c = append(&s, "remediation.completed", completed(KEY_OLD), false).unwrap();
    let err = append(&s, "remediation.completed", completed(KEY_OLD), false).unwrap_err();
    assert!(
        err.contains(&format!("already completed at entry {c}")),
        "{err}"
    );
    // Completed with nothing left: there is nothing for a continuation to finish.
    let err = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, None)], Some(p1)),
        true,
    )
    .unwrap_err();
    assert!(err.contains("not among what the plan"), "{err}");
    s.verifies();
}

#[test]
fn a_plan_cut_before_its_completion_is_closed_once_aws_no_longer_lists_its_items() {
    use rootkey::custody::flows::remediate::Closed;
    const KEY_NEW: &str = "AKIAZZZZEXAMPLE00003";
    // The approval of both keys was recorded, the deletions went through, and the run was cut
    // before its completion; since then someone created a third key the plan never named.
    let x = setup(World {
        keys: vec![(KEY_NEW.into(), None)],
        ..World::default()
    });
    let p1 = append(
        &x.s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, None), (KEY_OTHER, None)], None),
        true,
    )
    .unwrap();

    // A dry run says the plan would be closed, plans the new key on its own, records nothing.
    let before = x.s.len();
    let dry = run(&x, &request(&x.s, RemediationFinding::AccessKey, false)).unwrap();
    assert_eq!(
        dry.closed,
        Some(Closed {
            plan_seq: p1,
            completion_seq: None
        })
    );
    let ids: Vec<&str> = dry.plan.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [KEY_NEW]);
    assert_eq!(
        dry.plan.continues, None,
        "the new key is not the old plan's"
    );
    assert_eq!(x.s.len(), before);

    // Executed: the old plan is closed with its items absent and the new key listed, then the
    // new key goes under its own approval.
    let o = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    let closing = o.closed.and_then(|c| c.completion_seq).expect("closed");
    assert!(o.fixed(), "{o:?}");
    let completed = bodies(&x.s, "remediation.completed");
    let (seq, c) = &completed[0];
    assert_eq!(*seq, closing);
    assert_eq!(c["approval_seq"], p1);
    assert_eq!(c["results"][0]["outcome"], "absent");
    assert_eq!(c["results"][1]["outcome"], "absent");
    assert_eq!(
        c["aws_now"],
        serde_json::json!([{"kind": "access-key", "id": KEY_NEW}])
    );
    assert!(closing < o.approval_seq.unwrap());
    assert_eq!(
        x.world.lock().unwrap().changes.len(),
        1,
        "only the new key was deleted"
    );
    x.s.verifies();
    let shown = stdout(&x.s.run(&["ledger", "show"]));
    assert!(
        shown.contains(&format!(
            "completed entry {p1} on account 222222222222: 0 done, 0 failed, 2 already absent; AWS lists 1 now"
        )),
        "{shown}"
    );

    // Nothing left and nothing open: a further run records nothing.
    let len = x.s.len();
    let again = run(&x, &request(&x.s, RemediationFinding::AccessKey, true)).unwrap();
    assert!(again.closed.is_none() && again.plan.items.is_empty());
    assert_eq!(x.s.len(), len);
}

#[test]
fn absent_is_refused_unless_the_recorded_listing_agrees() {
    let s = Station::new();
    let p1 = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, None)], None),
        true,
    )
    .unwrap();
    let digest = plan_body(&[(KEY_OLD, None)], None)["plan_sha256"].clone();
    let absent = |now: serde_json::Value| {
        let mut b = serde_json::json!({
            "approval_seq": p1, "account_id": MEMBER, "plan_sha256": digest,
            "results": [{"kind": "access-key", "id": KEY_OLD, "outcome": "absent"}],
        });
        match now {
            serde_json::Value::Null => b["reread_error"] = "GetUser failed (Throttling)".into(),
            v => b["aws_now"] = v,
        }
        b
    };
    // Absent while the recorded listing still shows it, or with no listing at all.
    let still = serde_json::json!([{"kind": "access-key", "id": KEY_OLD}]);
    let err = append(&s, "remediation.completed", absent(still), false).unwrap_err();
    assert!(
        err.contains("recorded as absent, but aws_now lists it"),
        "{err}"
    );
    let err = append(
        &s,
        "remediation.completed",
        absent(serde_json::Value::Null),
        false,
    )
    .unwrap_err();
    assert!(err.contains("aws_now was not read"), "{err}");
    // With an error code, it is no absence.
    let mut coded = absent(serde_json::json!([]));
    coded["results"][0]["error_code"] = "AccessDenied".into();
    let err = append(&s, "remediation.completed", coded, false).unwrap_err();
    assert!(err.contains("did not fail"), "{err}");
    append(
        &s,
        "remediation.completed",
        absent(serde_json::json!([])),
        false,
    )
    .unwrap();
    s.verifies();
}

#[test]
fn an_absent_forged_by_the_key_holder_fails_ledger_verify() {
    // The holder of the ledger key closes an approved plan as "absent" while the listing it
    // records still shows the credential, bypassing rootkey's checks.
    let s = Station::new();
    let p1 = append(
        &s,
        "remediation.approved",
        plan_body(&[(KEY_OLD, None)], None),
        true,
    )
    .unwrap();
    let digest = plan_body(&[(KEY_OLD, None)], None)["plan_sha256"].clone();
    let forged = serde_json::json!({
        "approval_seq": p1, "account_id": MEMBER, "plan_sha256": digest,
        "results": [{"kind": "access-key", "id": KEY_OLD, "outcome": "absent"}],
        "aws_now": [{"kind": "access-key", "id": KEY_OLD}]
    });
    force(
        &s,
        &UnsignedEvent::new("remediation.completed", "mallory", forged).unwrap(),
        vec![],
    );
    let o = s.run(&["ledger", "verify", "--vkey", &s.vkey()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("recorded as absent, but aws_now lists it"),
        "{}",
        stdout(&o)
    );
}
