//! `rootkey aws remediate`: remove a root credential finding under two-person control.
//!
//! 1. Who approves is checked against the registry before AWS is asked anything.
//! 2. An `AssumeRoot` session with the delete task policy reads exactly what the finding would
//!    remove, with last-use evidence: the plan. Items used within `recent_days` block the run
//!    unless `force_recent_use` with a reason (the fold enforces the same rule on the entry).
//! 3. Dry run (the default) stops here: nothing is recorded, nothing changes in AWS.
//! 4. With `execute`, both custodians approve the `remediation.approved` event, whose body is the
//!    plan and its digest, so an approval cannot be replayed for another plan. It is appended
//!    before the first change.
//! 5. Each item is removed; AWS is read again; `remediation.completed` records per item done or
//!    failed (with AWS's error code) and what AWS lists now.
//!
//! A re-run after a partial failure (or a crash before the completion was recorded) continues:
//! when every credential AWS still shows was in the earlier plan and not done, the new plan names
//! `continues` = that plan's entry. It needs a fresh two-person approval all the same, because its
//! items and last-use evidence are read anew and an approval binds exactly one plan.
//!
//! The management account is refused (AssumeRoot cannot reach it) with the console steps.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::{check_approvers, check_text, gather_approvals, Approver, Console, FlowError};
use crate::aws::{self, AwsOptions};
use crate::custody::events::{
    plan_sha256, CredentialRef, CustodyEvent, ItemOutcome, ItemResult, PlanItem,
    RemediationApproved, RemediationCompleted, RemediationFinding,
};
use crate::custody::{Requirement, Station};
use crate::ledger::UnsignedEvent;
use crate::text::{self, TextKind};

/// What to remediate and how.
#[derive(Debug, Clone)]
pub struct RemediateRequest {
    /// Who runs it (recorded as the events' actor).
    pub actor: String,
    /// The member account.
    pub account_id: String,
    /// The finding to fix.
    pub finding: RemediationFinding,
    /// The two approving custodians and their keys.
    pub custodians: [Approver; 2],
    /// Change AWS (after approval); `false` is a dry run.
    pub execute: bool,
    /// Include credentials used within `recent_days` (needs `reason`).
    pub force_recent_use: bool,
    /// Why.
    pub reason: Option<String>,
    /// Change or incident ticket.
    pub ticket: Option<String>,
    /// A credential used within this many days is recent.
    pub recent_days: u32,
}

/// The plan as shown and recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The account.
    pub account_id: String,
    /// The finding.
    pub finding: RemediationFinding,
    /// What would be removed.
    pub items: Vec<PlanItem>,
    /// The digest the approvals bind.
    pub plan_sha256: String,
    /// Ids of items used within `recent_days`.
    pub recently_used: Vec<String>,
    /// The earlier plan this one finishes.
    pub continues: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RemediateOutcome {
    /// The plan.
    pub plan: Plan,
    /// Whether AWS was changed (false: dry run, or nothing to do).
    pub executed: bool,
    /// The `remediation.approved` entry.
    pub approval_seq: Option<u64>,
    /// The `remediation.completed` entry.
    pub completion_seq: Option<u64>,
    /// Per item, in plan order.
    pub results: Vec<ItemResult>,
    /// What AWS lists after the run.
    pub aws_now: Option<Vec<CredentialRef>>,
    /// Why the re-read failed.
    pub reread_error: Option<String>,
    /// An earlier approved plan whose run was cut before its completion and whose items AWS no
    /// longer lists: closed by this run (or, in a dry run, to be closed by `--execute`).
    pub closed: Option<Closed>,
}

/// An open plan closed because AWS no longer lists any of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Closed {
    /// Its `remediation.approved` entry.
    pub plan_seq: u64,
    /// The `remediation.completed` entry recording its items as absent (`None`: dry run).
    pub completion_seq: Option<u64>,
}

impl RemediateOutcome {
    /// Whether every item was removed and AWS lists none of the finding's credentials.
    pub fn fixed(&self) -> bool {
        self.executed
            && self.results.iter().all(|r| r.outcome.gone())
            && self.aws_now.as_ref().is_some_and(|n| n.is_empty())
    }
}

/// The console steps for the management account's root, which AssumeRoot cannot reach.
pub fn management_steps(account_id: &str, finding: RemediationFinding) -> String {
    let what = match finding {
        RemediationFinding::AccessKey => {
            "Security credentials > Access keys: Actions > Deactivate, check nothing breaks, then Delete"
        }
        RemediationFinding::SigningCert => {
            "Security credentials > X.509 certificates: Actions > Delete"
        }
        RemediationFinding::PasswordPresent => {
            "the management account's root needs its password (with hardware MFA); nothing to delete"
        }
        RemediationFinding::MfaVirtual => {
            "Security credentials > Multi-factor authentication: Remove the virtual device, after both FIDO keys are registered"
        }
    };
    format!(
        "account {account_id} is the organization's management account: AssumeRoot cannot reach it, so rootkey cannot remediate it. \
         Check out its primary key (`rootkey checkout`), sign in to the console as root, open {what}, then check the key in and run \
         `rootkey aws posture --account {account_id}` to confirm"
    )
}

fn runtime() -> Result<tokio::runtime::Runtime, FlowError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FlowError::Aws(format!("cannot start the AWS client runtime: {e}")))
}

fn aws_err(e: aws::model::ReadError) -> FlowError {
    FlowError::Aws(format!(
        "{} failed ({}): {}",
        e.call,
        text::escape(&e.code),
        text::escape(&e.message)
    ))
}

fn check_request(req: &RemediateRequest) -> Result<(), FlowError> {
    if !crate::custody::enrollment::is_aws_account_id(&req.account_id) {
        return Err(FlowError::Usage(format!(
            "{} is not an AWS account id (12 digits)",
            text::escape(&req.account_id)
        )));
    }
    if let Some(r) = &req.reason {
        check_text("--reason", TextKind::Reason, r)?;
    }
    if let Some(t) = &req.ticket {
        check_text("--ticket", TextKind::Ticket, t)?;
    }
    if req.recent_days == 0 {
        return Err(FlowError::Usage(
            "--recent-days must be at least 1; to include recently used credentials use --force-recent-use with --reason".into(),
        ));
    }
    if req.force_recent_use && req.reason.is_none() {
        return Err(FlowError::Usage(
            "--force-recent-use needs --reason: say why a credential in use may go".into(),
        ));
    }
    Ok(())
}

/// Reads the plan (dry run) or carries it out under approval (`execute`). `station` is the
/// verified ledger; a dry run only reads it.
pub fn remediate(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RemediateRequest,
    opts: &AwsOptions,
) -> Result<RemediateOutcome, FlowError> {
    check_request(req)?;
    let ids: Vec<&str> = req.custodians.iter().map(|a| a.id.as_str()).collect();
    check_approvers(
        station.state().registry(),
        &ids,
        &Requirement::Custodians(2),
    )?;
    let rt = runtime()?;
    let (reader, items) = rt.block_on(read_plan(opts, req))?;
    let vanished = station
        .state()
        .open_remediation(&req.account_id, req.finding)
        .filter(|p| p.vanished(&items))
        .map(|p| p.seq);
    let closed = match vanished {
        Some(seq) => Some(close_vanished(station, console, req, seq, &items)?),
        None => None,
    };
    let plan = make_plan(station, console, req, items, vanished)?;
    let mut outcome = RemediateOutcome {
        plan,
        closed,
        executed: false,
        approval_seq: None,
        completion_seq: None,
        results: vec![],
        aws_now: None,
        reread_error: None,
    };
    if outcome.plan.items.is_empty() || !req.execute {
        return Ok(outcome);
    }
    if !outcome.plan.recently_used.is_empty() && !req.force_recent_use {
        return Err(FlowError::Usage(format!(
            "refused, nothing changed: {} used within {} days; if it must go anyway, run again with --force-recent-use --reason TEXT",
            outcome.plan.recently_used.join(", "),
            req.recent_days
        )));
    }
    outcome.approval_seq = Some(approve(station, console, req, &outcome.plan)?);
    // A fresh session: the approvals may have taken longer than the 15 minutes one lasts.
    let (results, now) = rt.block_on(async {
        let iam = aws::remediate::open_session(&reader, &req.account_id)
            .await
            .map_err(aws_err)?;
        let results = aws::remediate::remove(&iam, &outcome.plan.items, &mut |_| {}).await;
        let now = aws::remediate::reread(&iam, req.finding).await;
        Ok::<_, FlowError>((results, now))
    })?;
    outcome.executed = true;
    outcome.results = results;
    match now {
        Ok(n) => outcome.aws_now = Some(n),
        Err(e) => {
            outcome.reread_error = Some(format!("{} failed ({})", e.call, e.code));
        }
    }
    outcome.completion_seq = Some(complete(station, req, &outcome)?);
    Ok(outcome)
}

/// Connects, refuses the management account, and reads the finding's credentials.
async fn read_plan(
    opts: &AwsOptions,
    req: &RemediateRequest,
) -> Result<(aws::Reader, Vec<PlanItem>), FlowError> {
    let reader = aws::Reader::connect(opts.clone())
        .await
        .map_err(|e| FlowError::Aws(e.to_string()))?;
    let management = if reader.caller().account == req.account_id {
        true
    } else {
        aws::remediate::management_account(&reader)
            .await
            .map_err(aws_err)?
            .is_some_and(|m| m == req.account_id)
    };
    if management {
        return Err(FlowError::Usage(management_steps(
            &req.account_id,
            req.finding,
        )));
    }
    let iam = aws::remediate::open_session(&reader, &req.account_id)
        .await
        .map_err(aws_err)?;
    let items = aws::remediate::read_items(&iam, req.finding)
        .await
        .map_err(aws_err)?;
    Ok((reader, items))
}

/// Builds the plan from what AWS shows, continuing an unfinished earlier plan when AWS shows
/// only what that plan left; shows it on the console.
fn make_plan(
    station: &Station,
    console: &mut dyn Console,
    req: &RemediateRequest,
    items: Vec<PlanItem>,
    closed: Option<u64>,
) -> Result<Plan, FlowError> {
    let state = station.state();
    let mut items = items;
    let mut continues = None;
    if let Some(prev) = state
        .unfinished_remediation(&req.account_id, req.finding)
        .filter(|p| Some(p.seq) != closed)
    {
        let left = prev.remaining();
        let in_prev = |i: &PlanItem| left.iter().any(|p| p.id == i.id && p.kind == i.kind);
        if !items.is_empty() && items.iter().all(in_prev) {
            continues = Some(prev.seq);
        } else if prev.is_open() {
            // Never completed (a crash after approval): finish what it covers first.
            let (inside, outside): (Vec<_>, Vec<_>) = items.into_iter().partition(in_prev);
            for o in &outside {
                console.say(&format!(
                    "{} {} is not in the unfinished plan of entry {}: run again after this one",
                    o.kind.as_str(),
                    o.id,
                    prev.seq
                ));
            }
            items = inside;
            continues = Some(prev.seq);
        }
    }
    let horizon = OffsetDateTime::now_utc() - Duration::days(i64::from(req.recent_days));
    let recently_used = items
        .iter()
        .filter(|i| i.last_used.is_some_and(|t| t > horizon))
        .map(|i| i.id.clone())
        .collect();
    let plan = Plan {
        plan_sha256: plan_sha256(&req.account_id, req.finding, &items)?,
        account_id: req.account_id.clone(),
        finding: req.finding,
        items,
        recently_used,
        continues,
    };
    show_plan(console, &plan, req.recent_days);
    Ok(plan)
}

fn show_plan(console: &mut dyn Console, plan: &Plan, recent_days: u32) {
    if plan.items.is_empty() {
        console.say(&format!(
            "account {}: AWS shows nothing {} would remove",
            plan.account_id,
            plan.finding.as_str()
        ));
        return;
    }
    console.say(&format!(
        "plan {} for {} on account {}{}:",
        &plan.plan_sha256[..16],
        plan.finding.as_str(),
        plan.account_id,
        plan.continues
            .map(|s| format!(" (continues the plan of entry {s})"))
            .unwrap_or_default()
    ));
    for i in &plan.items {
        let used = match (i.last_used, &i.last_used_service) {
            (Some(t), Some(s)) => format!("last used {} with {s}", crate::report::fmt_time(t)),
            (Some(t), None) => format!("last used {}", crate::report::fmt_time(t)),
            (None, _) => "no recorded use".to_string(),
        };
        let flag = if plan.recently_used.contains(&i.id) {
            format!(" — USED WITHIN {recent_days} DAYS")
        } else {
            String::new()
        };
        let verb = match i.kind {
            crate::custody::events::CredentialKind::MfaDevice => "deactivate",
            _ => "delete",
        };
        console.say(&format!(
            "  {verb} {} {} ({used}){flag}",
            i.kind.as_str(),
            i.id
        ));
    }
}

/// Records `remediation.approved` with both custodians' approvals; returns its entry.
fn approve(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RemediateRequest,
    plan: &Plan,
) -> Result<u64, FlowError> {
    let body = CustodyEvent::RemediationApproved(RemediationApproved {
        account_id: plan.account_id.clone(),
        finding: plan.finding,
        items: plan.items.clone(),
        plan_sha256: plan.plan_sha256.clone(),
        recent_days: req.recent_days,
        force_recent_use: req.force_recent_use,
        reason: req.reason.clone(),
        ticket: req.ticket.clone(),
        continues: plan.continues,
    });
    let ev = UnsignedEvent::new(body.kind(), &req.actor, body.to_body()?)?;
    let requirement = station.check(&[&ev])?.remove(0);
    let approvals = gather_approvals(station, &ev, &requirement, &req.custodians, console)?;
    let receipt = station.append_one(ev, approvals)?;
    Ok(receipt.first_seq)
}

/// Records `remediation.completed` for this run's plan; returns its entry.
fn complete(
    station: &mut Station,
    req: &RemediateRequest,
    o: &RemediateOutcome,
) -> Result<u64, FlowError> {
    record_completion(
        station,
        &req.actor,
        RemediationCompleted {
            approval_seq: o.approval_seq.unwrap_or_default(),
            account_id: o.plan.account_id.clone(),
            plan_sha256: o.plan.plan_sha256.clone(),
            results: o.results.clone(),
            aws_now: o.aws_now.clone(),
            reread_error: o.reread_error.clone(),
        },
    )
}

/// Closes the open plan at `seq`, none of whose items AWS lists any more (`listed` is what it
/// lists now), by recording each item as absent; a dry run only says it would.
fn close_vanished(
    station: &mut Station,
    console: &mut dyn Console,
    req: &RemediateRequest,
    seq: u64,
    listed: &[PlanItem],
) -> Result<Closed, FlowError> {
    let plan = station
        .state()
        .remediation(seq)
        .cloned()
        .ok_or_else(|| FlowError::Usage(format!("entry {seq} is no remediation plan")))?;
    console.say(&format!(
        "the plan approved at entry {seq} never recorded its completion, and AWS no longer lists any of its {} item(s): {}",
        plan.items.len(),
        if req.execute {
            "recording them as absent closes it"
        } else {
            "--execute records them as absent and closes it"
        }
    ));
    if !req.execute {
        return Ok(Closed {
            plan_seq: seq,
            completion_seq: None,
        });
    }
    let results = plan
        .items
        .iter()
        .map(|i| ItemResult {
            kind: i.kind,
            id: i.id.clone(),
            outcome: ItemOutcome::Absent,
            error_code: None,
            error_message: None,
        })
        .collect();
    let aws_now = listed
        .iter()
        .map(|i| CredentialRef {
            kind: i.kind,
            id: i.id.clone(),
        })
        .collect();
    let completion = record_completion(
        station,
        &req.actor,
        RemediationCompleted {
            approval_seq: seq,
            account_id: plan.account_id,
            plan_sha256: plan.plan_sha256,
            results,
            aws_now: Some(aws_now),
            reread_error: None,
        },
    )?;
    Ok(Closed {
        plan_seq: seq,
        completion_seq: Some(completion),
    })
}

/// Appends a `remediation.completed` (it needs no approval: it records what AWS answered).
fn record_completion(
    station: &mut Station,
    actor: &str,
    body: RemediationCompleted,
) -> Result<u64, FlowError> {
    let approval_seq = body.approval_seq;
    let body = CustodyEvent::RemediationCompleted(body);
    let ev = UnsignedEvent::new(body.kind(), actor, body.to_body()?)?;
    let receipt = station.append_one(ev, vec![]).map_err(|e| {
        FlowError::Usage(format!(
            "the completion of the plan approved at entry {approval_seq} could not be recorded ({e}); \
             run the same command again: it reads what AWS still lists and continues or closes that plan"
        ))
    })?;
    Ok(receipt.first_seq)
}

/// One line for `rootkey ledger show` of a `remediation.*` body (`None` for other bodies).
pub fn ledger_summary(body: &serde_json::Value) -> Option<String> {
    let s = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or("?");
    let count = |k: &str| body.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
    let digest = body.get("plan_sha256")?.as_str()?;
    let short = digest.get(..12).unwrap_or(digest);
    if body.get("finding").is_some() {
        let cont = body
            .get("continues")
            .and_then(|v| v.as_u64())
            .map(|c| format!(", continues entry {c}"))
            .unwrap_or_default();
        return Some(format!(
            "approved {} on account {}: {} item(s), plan {short}{cont}",
            s("finding"),
            s("account_id"),
            count("items")
        ));
    }
    let results = body.get("results")?.as_array()?;
    let count_of = |o: &str| results.iter().filter(|r| r["outcome"] == o).count();
    let (done, failed, absent) = (count_of("done"), count_of("failed"), count_of("absent"));
    let absent = if absent > 0 {
        format!(", {absent} already absent")
    } else {
        String::new()
    };
    let now = match body.get("aws_now").and_then(|v| v.as_array()) {
        Some(a) => format!("AWS lists {} now", a.len()),
        None => "AWS not read again".into(),
    };
    Some(format!(
        "completed entry {} on account {}: {done} done, {failed} failed{absent}; {now}",
        body.get("approval_seq")
            .and_then(|v| v.as_u64())
            .unwrap_or_default(),
        s("account_id")
    ))
}
