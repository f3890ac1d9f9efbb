//! The audit's view of the ledger's WORM anchor (`audit --anchor`): a disagreement with the
//! published log, nothing published, or a last publish older than `[ledger.anchor] max_age`.

use time::OffsetDateTime;

use crate::findings::{catalogue, Finding};
use crate::ledger::anchor::AnchorStatus;

/// The findings the anchor's status gives at `now`.
pub fn findings(status: &AnchorStatus, now: OffsetDateTime) -> Vec<Finding> {
    let mk = |check: &'static str, title: String, evidence: Vec<(&str, String)>| {
        evidence.into_iter().fold(
            Finding::new(catalogue::known(check), None, status.anchor.clone())
                .title(title)
                .with("anchor", status.anchor.clone()),
            |f, (k, v)| f.with(k, v),
        )
    };
    if let Some(f) = &status.disagreement {
        return vec![mk(
            "LEDGER-ANCHOR-MISMATCH",
            "the ledger disagrees with its write-once anchor: it was rolled back, rewritten or \
             forked after it was published (or the anchor was written by someone else)"
                .into(),
            vec![("detail", f.to_string())],
        )];
    }
    let Some(last) = status.last_publish else {
        return vec![mk(
            "LEDGER-ANCHOR-EMPTY",
            "nothing was ever published to the ledger's anchor: run `rootkey ledger publish`"
                .into(),
            vec![],
        )];
    };
    let age = now - last;
    if age > status.max_age {
        let round =
            |d: time::Duration| std::time::Duration::from_secs(d.whole_seconds().max(0) as u64);
        return vec![mk(
            "LEDGER-ANCHOR-STALE",
            format!(
                "the ledger's last publish to its anchor is {} old, more than the policy's {}: \
                 entries since then could be rewritten undetected; run `rootkey ledger publish` \
                 and find out why the station's automatic publish failed",
                humantime::format_duration(round(age)),
                humantime::format_duration(status.max_age)
            ),
            vec![
                ("last_publish", crate::report::fmt_time(last)),
                ("published_entries", status.published_size.to_string()),
                ("local_entries", status.local_entries.to_string()),
            ],
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;
    use crate::ledger::Failure;

    fn status(age_days: i64) -> AnchorStatus {
        AnchorStatus {
            anchor: "s3://b/p".into(),
            published_size: 4,
            last_publish: Some(OffsetDateTime::UNIX_EPOCH + time::Duration::days(100 - age_days)),
            local_entries: 6,
            disagreement: None,
            max_age: std::time::Duration::from_secs(7 * 86400),
        }
    }

    #[test]
    fn stale_missing_and_disagreeing_anchors_are_findings_and_a_fresh_one_is_not() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        assert!(findings(&status(6), now).is_empty());
        let f = findings(&status(8), now);
        assert_eq!(
            (f[0].check.as_str(), f[0].severity),
            ("LEDGER-ANCHOR-STALE", Severity::Medium)
        );
        assert_eq!(f[0].evidence["local_entries"], "6");
        let mut never = status(0);
        never.last_publish = None;
        assert_eq!(findings(&never, now)[0].check, "LEDGER-ANCHOR-EMPTY");
        let mut bad = status(0);
        bad.disagreement = Some(Failure {
            seq: Some(2),
            reason: "differs".into(),
        });
        let f = findings(&bad, now);
        assert_eq!(
            (f[0].check.as_str(), f[0].severity),
            ("LEDGER-ANCHOR-MISMATCH", Severity::Critical)
        );
        assert!(f[0].evidence["detail"]
            .as_str()
            .is_some_and(|d| d.contains("entry 2")));
    }
}
