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

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use super::events::{
    CredentialRef, ItemResult, PlanItem, RemediationApproved, RemediationCompleted,
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

    /// Items not (yet) gone: all of them before completion.
    pub fn remaining(&self) -> Vec<&PlanItem> {
        self.items
            .iter()
            .filter(|i| {
                !self
                    .completion
                    .as_ref()
                    .is_some_and(|c| c.results.iter().any(|r| r.id == i.id && r.outcome.gone()))
            })
            .collect()
    }

    /// Whether this plan is open and AWS, which now lists `listed`, shows none of its items:
    /// its run was cut after the approval and before the completion, and what it was to remove
    /// is gone. Such a plan is closed with a completion recording each item as absent, or it
    /// would block every later plan for its finding.
    pub fn vanished(&self, listed: &[PlanItem]) -> bool {
        self.is_open()
            && !self
                .items
                .iter()
                .any(|i| listed.iter().any(|l| l.kind == i.kind && l.id == i.id))
    }

    /// Whether every item is gone and AWS, read again, listed none of the finding's
    /// credentials: the finding is fixed.
    pub fn fixed(&self) -> Option<OffsetDateTime> {
        let c = self.completion.as_ref()?;
        let all_done = c.results.iter().all(|r| r.outcome.gone());
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

/// One point of the audit history [`super::findings::mean_time_to_remediate`] reads: (time,
/// finding identities `CODE|account|subject`, accounts covered).
pub type HistoryPoint = (OffsetDateTime, BTreeSet<String>, BTreeSet<String>);

/// The audit history with each fixed remediation (every item done, AWS listing none afterwards)
/// added as a point that covers its account and no longer has that finding code: the time to
/// remediate then runs to the recorded fix, not to the next audit. `fixed` is (time, finding
/// code, account), e.g. from [`RemediationRecord::fixed`].
pub fn with_remediations(
    audits: &[(OffsetDateTime, &BTreeSet<String>, &BTreeSet<String>)],
    fixed: &[(OffsetDateTime, &str, &str)],
) -> Vec<HistoryPoint> {
    let mut out: Vec<HistoryPoint> = audits
        .iter()
        .map(|(t, f, a)| (*t, (*f).clone(), (*a).clone()))
        .collect();
    for (time, code, account) in fixed {
        // What the last audit before the fix saw of this account, minus the fixed code.
        let Some((_, seen, _)) = audits
            .iter()
            .rev()
            .find(|(t, _, a)| t <= time && a.contains(*account))
        else {
            continue;
        };
        let still: BTreeSet<String> = seen
            .iter()
            .filter(|id| {
                let mut p = id.split('|');
                let (c, a) = (p.next(), p.next());
                a == Some(*account) && c != Some(*code)
            })
            .cloned()
            .collect();
        out.push((*time, still, BTreeSet::from([account.to_string()])));
    }
    // Stable: at equal times an audit stays before the fix it preceded.
    out.sort_by_key(|p| p.0);
    out
}

/// Fixed remediations of `state` as [`with_remediations`] takes them.
pub fn fixes(state: &CustodyState) -> Vec<(OffsetDateTime, &str, &str)> {
    state
        .remediations()
        .iter()
        .filter_map(|r| {
            r.fixed()
                .map(|t| (t, r.finding.as_str(), r.account_id.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_recorded_fix_ends_the_time_to_remediate_of_its_finding_only() {
        let t0 = datetime!(2025-01-01 00:00 UTC);
        let acct = set(&["222222222222", "333333333333"]);
        let first = set(&[
            "ROOT-ACCESS-KEY|222222222222|root access key AKIA1 active",
            "ROOT-MFA-VIRTUAL|222222222222|virtual",
            "ROOT-ACCESS-KEY|333333333333|root access key AKIA2 active",
        ]);
        let later = set(&["ROOT-MFA-VIRTUAL|222222222222|virtual"]);
        let audits = [
            (t0, &first, &acct),
            (t0 + Duration::days(30), &later, &acct),
        ];
        // Without the fix: both access-key findings close at the second audit (30 days).
        let refs = |h: &[HistoryPoint]| {
            let v: Vec<_> = h.iter().map(|(t, f, a)| (*t, f, a)).collect();
            crate::custody::findings::mean_time_to_remediate(&v)
        };
        assert_eq!(
            refs(&with_remediations(&audits, &[])),
            (Some(30 * 86_400), 2)
        );
        // The fix on day 2 for 2222's key: (2 + 30) / 2 days; the virtual device stays open;
        // the other account's key is not closed by it.
        let fix = [(t0 + Duration::days(2), "ROOT-ACCESS-KEY", "222222222222")];
        assert_eq!(
            refs(&with_remediations(&audits, &fix)),
            (Some(16 * 86_400), 2)
        );
        // A fix before any audit of the account says nothing.
        let early = [(t0 - Duration::days(1), "ROOT-ACCESS-KEY", "222222222222")];
        assert_eq!(with_remediations(&audits, &early).len(), 2);
    }
}
