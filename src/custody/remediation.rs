//! The rules of root-credential remediation: an approved plan comes first, the completion
//! refers to it, and a re-run after a partial failure finishes only what the earlier plan left.
//!
//! - `remediation.approved` needs two distinct custodians (its body binds the exact plan and its
//!   digest, which `events` recomputes). Items used within `recent_days` of the entry are refused
//!   unless `force_recent_use` with a reason. One plan per account and finding is open at a time;
//!   a plan that names `continues` finishes an earlier one: its items must be ones that plan named
//!   and did not get done, and the earlier plan is then superseded.
//! - `remediation.completed` needs no approval (it records what AWS answered), but it must name an
//!   approved, open plan of the same account with the same digest, and give one result per plan
//!   item, in plan order: nothing outside the approved plan can be recorded as done.

use time::{Duration, OffsetDateTime};

use super::events::{
    CredentialRef, ItemOutcome, ItemResult, PlanItem, RemediationApproved, RemediationCompleted,
    RemediationFinding,
};
use super::state::{At, CustodyState, StateError};

/// Default for `--recent-days`: a credential used within this many days is not deleted without
/// `--force-recent-use` (CloudTrail's event history reaches as far).
pub const DEFAULT_RECENT_DAYS: u32 = 90;

/// One approved plan and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemediationRecord {
    /// The `remediation.approved` entry.
    pub seq: u64,
    /// When it was approved.
    pub time: OffsetDateTime,
    /// The account.
    pub account_id: String,
    /// The finding fixed.
    pub finding: RemediationFinding,
    /// The plan.
    pub items: Vec<PlanItem>,
    /// Its digest.
    pub plan_sha256: String,
    /// Who approved it.
    pub approved_by: Vec<String>,
    /// The earlier plan this one finishes.
    pub continues: Option<u64>,
    /// Its completion, once recorded.
    pub completion: Option<CompletionRecord>,
    /// The later plan that took over what this one left.
    pub superseded_by: Option<u64>,
}

/// A recorded `remediation.completed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRecord {
    /// Ledger entry.
    pub seq: u64,
    /// When.
    pub time: OffsetDateTime,
    /// Per item, in plan order.
    pub results: Vec<ItemResult>,
    /// What AWS listed afterwards (`None`: the re-read failed).
    pub aws_now: Option<Vec<CredentialRef>>,
}

impl RemediationRecord {
    /// Whether nothing was recorded for it yet and no later plan took it over.
    pub fn is_open(&self) -> bool {
        self.completion.is_none() && self.superseded_by.is_none()
    }

    /// Items not (yet) done: all of them before completion.
    pub fn remaining(&self) -> Vec<&PlanItem> {
        self.items
            .iter()
            .filter(|i| {
                !self.completion.as_ref().is_some_and(|c| {
                    c.results
                        .iter()
                        .any(|r| r.id == i.id && r.outcome == ItemOutcome::Done)
                })
            })
            .collect()
    }

    /// Whether every item was done and AWS, read again, listed none of the finding's
    /// credentials: the finding is fixed.
    pub fn fixed(&self) -> Option<OffsetDateTime> {
        let c = self.completion.as_ref()?;
        let all_done = c.results.iter().all(|r| r.outcome == ItemOutcome::Done);
        let clean = c.aws_now.as_ref().is_some_and(|now| now.is_empty());
        (all_done && clean).then_some(c.time)
    }
}

impl CustodyState {
    /// Every approved remediation plan, in ledger order.
    pub fn remediations(&self) -> &[RemediationRecord] {
        &self.remediations
    }

    /// The approved plan recorded at `seq`.
    pub fn remediation(&self, seq: u64) -> Option<&RemediationRecord> {
        self.remediations.iter().find(|r| r.seq == seq)
    }

    /// The open plan for this account and finding, if any.
    pub fn open_remediation(
        &self,
        account_id: &str,
        finding: RemediationFinding,
    ) -> Option<&RemediationRecord> {
        self.remediations
            .iter()
            .find(|r| r.account_id == account_id && r.finding == finding && r.is_open())
    }

    /// The latest plan for this account and finding that a re-run may continue: completed
    /// with items left, or never completed; not superseded.
    pub fn unfinished_remediation(
        &self,
        account_id: &str,
        finding: RemediationFinding,
    ) -> Option<&RemediationRecord> {
        self.remediations.iter().rev().find(|r| {
            r.account_id == account_id
                && r.finding == finding
                && r.superseded_by.is_none()
                && !r.remaining().is_empty()
        })
    }

    /// `remediation.approved`: recent use refused unless forced; one open plan at a time; a
    /// continuation stays inside what the earlier plan left.
    pub(super) fn apply_remediation_approved(
        &mut self,
        at: &At<'_>,
        b: RemediationApproved,
        approved_by: Vec<String>,
    ) -> Result<(), StateError> {
        if b.recent_days == 0 {
            return Err(at.inconsistent(
                "recent_days must be at least 1: use force_recent_use with a reason to include recently used credentials",
            ));
        }
        let horizon = at.time - Duration::days(i64::from(b.recent_days));
        if !b.force_recent_use {
            if let Some(i) = b
                .items
                .iter()
                .find(|i| i.last_used.is_some_and(|t| t > horizon))
            {
                return Err(at.inconsistent(format!(
                    "{} {} was used within {} days of the approval; it is deleted only with force_recent_use and a reason",
                    i.kind.as_str(),
                    i.id,
                    b.recent_days
                )));
            }
        }
        match b.continues {
            None => {
                if let Some(open) = self.open_remediation(&b.account_id, b.finding) {
                    return Err(at.inconsistent(format!(
                        "the plan approved at entry {} for {} on account {} is still open: continue it (its remaining items) instead of approving a second plan",
                        open.seq,
                        b.finding.as_str(),
                        b.account_id
                    )));
                }
            }
            Some(prev) => self.continue_plan(at, &b, prev)?,
        }
        self.remediations.push(RemediationRecord {
            seq: at.seq,
            time: at.time,
            account_id: b.account_id,
            finding: b.finding,
            items: b.items,
            plan_sha256: b.plan_sha256,
            approved_by,
            continues: b.continues,
            completion: None,
            superseded_by: None,
        });
        Ok(())
    }

    /// Checks that `b` finishes plan `prev` and marks `prev` superseded.
    fn continue_plan(
        &mut self,
        at: &At<'_>,
        b: &RemediationApproved,
        prev: u64,
    ) -> Result<(), StateError> {
        let earlier = self
            .remediations
            .iter_mut()
            .find(|r| r.seq == prev)
            .ok_or_else(|| {
                at.inconsistent(format!(
                    "it continues entry {prev}, which is no approved remediation plan"
                ))
            })?;
        if earlier.account_id != b.account_id || earlier.finding != b.finding {
            return Err(at.inconsistent(format!(
                "it continues entry {prev}, a plan for another account or finding"
            )));
        }
        if let Some(by) = earlier.superseded_by {
            return Err(
                at.inconsistent(format!("entry {prev} was already continued by entry {by}"))
            );
        }
        let left: Vec<(&str, _)> = earlier
            .remaining()
            .iter()
            .map(|i| (i.id.as_str(), i.kind))
            .collect();
        if let Some(i) = b
            .items
            .iter()
            .find(|i| !left.contains(&(i.id.as_str(), i.kind)))
        {
            return Err(at.inconsistent(format!(
                "{} {} is not among what the plan at entry {prev} left to do: a continuation only finishes that plan; approve a new plan for anything else",
                i.kind.as_str(),
                i.id
            )));
        }
        earlier.superseded_by = Some(at.seq);
        Ok(())
    }

    /// `remediation.completed`: names an open approved plan of the same account and digest,
    /// one result per plan item in plan order.
    pub(super) fn apply_remediation_completed(
        &mut self,
        at: &At<'_>,
        b: RemediationCompleted,
    ) -> Result<(), StateError> {
        let seq = b.approval_seq;
        let plan = self
            .remediations
            .iter_mut()
            .find(|r| r.seq == seq)
            .ok_or_else(|| {
                at.inconsistent(format!(
                    "it completes entry {seq}, which is no approved remediation plan: nothing may be recorded as remediated without two custodians' approval first"
                ))
            })?;
        if plan.account_id != b.account_id || plan.plan_sha256 != b.plan_sha256 {
            return Err(at.inconsistent(format!(
                "it names account {} and plan {}, but entry {seq} approved account {} and plan {}",
                b.account_id, b.plan_sha256, plan.account_id, plan.plan_sha256
            )));
        }
        if let Some(c) = &plan.completion {
            return Err(at.inconsistent(format!(
                "the plan at entry {seq} was already completed at entry {}",
                c.seq
            )));
        }
        if let Some(by) = plan.superseded_by {
            return Err(at.inconsistent(format!(
                "the plan at entry {seq} was taken over by entry {by}; complete that one"
            )));
        }
        let planned: Vec<(&str, _)> = plan.items.iter().map(|i| (i.id.as_str(), i.kind)).collect();
        let reported: Vec<(&str, _)> = b.results.iter().map(|r| (r.id.as_str(), r.kind)).collect();
        if planned != reported {
            return Err(at.inconsistent(format!(
                "its results must be the approved plan's items, in order (entry {seq}): only what two custodians approved can be recorded"
            )));
        }
        plan.completion = Some(CompletionRecord {
            seq: at.seq,
            time: at.time,
            results: b.results,
            aws_now: b.aws_now,
        });
        Ok(())
    }
}
