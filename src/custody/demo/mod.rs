//! What `rootkey demo` stands in for AWS with: a bundled evidence file of one account as AWS
//! showed it before the ceremony, and the changes the AWS console step and a root sign-in make.
//!
//! Everything else in the demo is real: software keys with real attestation, the real ledger,
//! the real flows; only AWS is replaced, by evidence in the format `aws posture` writes.

use time::{Duration, OffsetDateTime};

use crate::aws::{self, Evidence, MfaDevice, MfaKind, RootLogin};

/// The demo's AWS account.
pub const ACCOUNT: &str = "123456789012";

const BUNDLED: &str = include_str!("aws-evidence.json");

/// The bundled account, re-dated so its 90-day login window ends `now`.
pub fn bundled_evidence(now: OffsetDateTime) -> Result<Evidence, aws::AwsError> {
    let mut ev = aws::parse_evidence(BUNDLED, std::path::Path::new("<bundled demo evidence>"))?;
    ev.read_at = now;
    ev.period.since = now - Duration::days(90);
    ev.period.until = now;
    Ok(ev)
}

fn account(ev: &mut Evidence) -> &mut aws::AccountEvidence {
    ev.accounts
        .iter_mut()
        .find(|a| a.account_id == ACCOUNT)
        .expect("the bundled evidence holds the demo account")
}

/// What the AWS console does when an operator registers a security key on root under `name`:
/// a FIDO device whose serial ARN carries the name and an id AWS appends.
pub fn register_security_key(ev: &mut Evidence, name: &str, suffix: &str, at: OffsetDateTime) {
    let acct = account(ev);
    acct.posture.mfa_devices.push(MfaDevice {
        serial: format!("arn:aws:iam::{ACCOUNT}:u2f/root/{name}-{suffix}"),
        kind: MfaKind::Fido,
        enable_date: Some(at),
    });
    acct.posture.mfa_active = Some(true);
    if let Some(summary) = acct.posture.account_summary.as_mut() {
        summary.mfa_enabled = true;
    }
}

/// A root console sign-in as CloudTrail records it.
pub fn root_sign_in(ev: &mut Evidence, at: OffsetDateTime, source_ip: &str, event_id: &str) {
    let logins = account(ev).posture.logins.get_or_insert_with(Vec::new);
    logins.push(RootLogin {
        time: at,
        source_ip: Some(source_ip.to_string()),
        mfa_used: Some(true),
        success: Some(true),
        region: "us-east-1".to_string(),
        event_id: Some(event_id.to_string()),
    });
    logins.sort_by_key(|l| l.time);
    if ev.read_at < at {
        ev.read_at = at;
        ev.period.until = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_evidence_parses_and_has_no_keys_yet() {
        let now = OffsetDateTime::now_utc();
        let ev = bundled_evidence(now).unwrap();
        let report = aws::evaluate(&ev, &aws::FindingConfig::default());
        let ids: Vec<String> = report.accounts[0]
            .findings
            .iter()
            .map(|f| f.check.clone())
            .collect();
        assert!(ids.contains(&"ROOT-MFA-MISSING".to_string()), "{ids:?}");
    }

    #[test]
    fn registering_two_keys_clears_the_mfa_findings() {
        let now = OffsetDateTime::now_utc();
        let mut ev = bundled_evidence(now).unwrap();
        register_security_key(&mut ev, "rootkey-0a1b2c3d", "AAAA", now);
        register_security_key(&mut ev, "rootkey-4e5f6a7b", "BBBB", now);
        root_sign_in(&mut ev, now, "198.51.100.7", "ev-1");
        let report = aws::evaluate(&ev, &aws::FindingConfig::default());
        let ids: Vec<&str> = report.accounts[0]
            .findings
            .iter()
            .map(|f| f.check.as_str())
            .collect();
        assert!(!ids.contains(&"ROOT-MFA-MISSING"), "{ids:?}");
        assert!(!ids.contains(&"ROOT-BACKUP-KEY-MISSING"), "{ids:?}");
        assert_eq!(
            report.accounts[0].posture.logins.as_ref().map(Vec::len),
            Some(1)
        );
    }
}
