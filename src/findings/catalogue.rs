//! The check catalogue: every check rootkey makes, in one table that `aws posture`, `audit`,
//! `--list-checks` and `docs/findings.md` all read.

use super::{Check, Control, FindingSource, Severity};

const AWS: FindingSource = FindingSource::Aws;
const CUSTODY: FindingSource = FindingSource::Custody;
const LEDGER: FindingSource = FindingSource::Ledger;
const EVIDENCE: FindingSource = FindingSource::Evidence;

// Controls used by several checks.
const MFA: &[Control] = &[
    Control::cis("1.4"),
    Control::fsbp("IAM.9"),
    Control::nist("IA-2(1)"),
];
const HW_MFA: &[Control] = &[
    Control::cis("1.5"),
    Control::fsbp("IAM.6"),
    Control::nist("IA-2(1)"),
];
const ROOT_USE: &[Control] = &[Control::cis("1.6"), Control::nist("AC-6(9)")];
const LEDGER_INTEGRITY: &[Control] = &[Control::nist("AU-9")];
const CUSTODY_KEY: &[Control] = &[Control::nist("IA-5")];
const EVIDENCE_CONTROLS: &[Control] = &[Control::nist("CA-7")];
const SEPARATION: &[Control] = &[Control::nist("AC-5")];
const USAGE_ALERT: &[Control] = &[
    Control::new(super::CIS, "1.4.0", "4.3"),
    Control::fsbp("CloudWatch.1"),
    Control::nist("AU-6(1)"),
];
const CONTACT: &[Control] = &[Control::cis("1.1")];
const ACCESS_KEY: &[Control] = &[
    Control::cis("1.3"),
    Control::fsbp("IAM.4"),
    Control::nist("AC-6"),
];

const fn c(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    source: FindingSource,
    controls: &'static [Control],
    remediation: &'static str,
) -> Check {
    Check {
        id,
        title,
        severity,
        source,
        posture: false,
        acceptable: true,
        controls,
        remediation,
    }
}

/// A check `aws posture` evaluates too.
const fn p(check: Check) -> Check {
    Check {
        posture: true,
        ..check
    }
}

/// A check whose findings cannot be accepted.
const fn fixed(check: Check) -> Check {
    Check {
        acceptable: false,
        ..check
    }
}

/// Every check, posture checks first, then custody, evidence and ledger checks.
pub static CHECKS: &[Check] = &[
    p(c("ROOT-MFA-MISSING", "root has no MFA device", Severity::Critical, AWS, MFA,
        "Register two FIDO security keys on root (`rootkey enroll`), or, for a member account, turn on centralized root access and delete root's credentials.")),
    p(c("ROOT-MFA-VIRTUAL", "a virtual (app) MFA device is assigned to root", Severity::High, AWS, HW_MFA,
        "Once two FIDO security keys are registered, remove the virtual device from root (IAM console signed in as root: Security credentials → Multi-factor authentication → Remove).")),
    p(c("ROOT-BACKUP-KEY-MISSING", "root has fewer than two FIDO security keys", Severity::Medium, AWS, HW_MFA,
        "Register a second FIDO security key on root (`rootkey enroll`) and store it at another location.")),
    p(c("ROOT-ACCESS-KEY", "root has an access key", Severity::Critical, AWS,
        ACCESS_KEY,
        "Delete root's access key: as root in the IAM console, or with an AssumeRoot session and the IAMDeleteRootUserCredentials task policy. An inactive key still fails IAM.4.")),
    p(c("ROOT-SIGNING-CERT", "root has a signing certificate", Severity::High, AWS, &[],
        "Delete root's signing certificate (AssumeRoot with IAMDeleteRootUserCredentials, or as root).")),
    p(c("ROOT-PASSWORD-PRESENT", "a member root has a console password under centralized root access", Severity::Medium, AWS, &[],
        "Delete the member root's password with an AssumeRoot session and the IAMDeleteRootUserCredentials task policy.")),
    p(c("ROOT-LOGIN-EXPLAINED", "root signed in inside an approved checkout window", Severity::Info, CUSTODY, ROOT_USE,
        "Nothing to fix: an approved break-glass checkout covers the sign-in; review its ticket.")),
    p(c("ROOT-LOGIN-UNEXPLAINED", "root signed in to the console while no key was checked out", Severity::Critical, CUSTODY, ROOT_USE,
        "Find out who signed in (CloudTrail event, source IP). If nobody accounts for it, treat root as compromised: reset its password, check its MFA devices and review its activity. Accept it (`rootkey finding accept`) only with a ticket that explains it.")),
    p(c("ROOT-LOGIN-FAILED-UNEXPLAINED", "a failed root console sign-in while no key was checked out", Severity::Medium, CUSTODY, ROOT_USE,
        "Find out who tried to sign in (CloudTrail event, source IP); repeated attempts mean someone has root's email and password: reset the password.")),
    p(c("ROOT-LOGIN-AFTER-WINDOW", "root signed in after the approved checkout window had ended", Severity::High, CUSTODY, ROOT_USE,
        "Ask the checkout's requester why root was used after the window; check the key in (`rootkey checkin`) and review the session's activity.")),
    p(c("ROOT-LOGIN-WITHOUT-MFA", "root signed in to the console without MFA", Severity::Critical, CUSTODY, MFA,
        "Root's password alone opened a session: reset the password, register FIDO keys, and review the session's activity.")),
    p(c("ROOT-USED-EXPLAINED", "root credentials were used inside an approved checkout window", Severity::Info, CUSTODY, ROOT_USE,
        "Nothing to fix: an approved checkout covers the use; review its ticket.")),
    p(c("ROOT-USED-UNEXPLAINED", "root credentials were used while no key was checked out", Severity::Critical, CUSTODY, ROOT_USE,
        "Find out who used root (CloudTrail event); delete any root access key and treat root as compromised if nobody accounts for it.")),
    p(c("ROOT-USED-AFTER-WINDOW", "root credentials were used after the approved checkout window had ended", Severity::High, CUSTODY, ROOT_USE,
        "Ask the checkout's requester why root was used after the window and review the activity.")),
    p(c("ROOT-EMAIL-DOMAIN", "the root email address is outside the company domains", Severity::Medium, AWS, CONTACT,
        "Change the account's root email to a company-controlled distribution list.")),
    p(c("ORG-CENTRAL-ROOT-DISABLED", "centralized root access is not fully enabled for the organization", Severity::High, AWS, &[],
        "Enable RootCredentialsManagement and RootSessions (`aws iam enable-organizations-root-credentials-management`, `aws iam enable-organizations-root-sessions`) from the management account.")),
    p(c("ORG-ROOT-SESSIONS-DISABLED", "RootSessions is not enabled: privileged root tasks in members need their root credentials", Severity::Low, AWS, &[],
        "Enable RootSessions (`aws iam enable-organizations-root-sessions`) from the management account.")),
    p(c("READ-INCOMPLETE", "part of the root posture could not be read", Severity::High, AWS, &[],
        "Grant the reading role the permissions named in the evidence (see docs) and read again; graded by the most important part missing.")),
    p(c("ROOT-EVENT-UNPARSED", "a CloudTrail root event could not be interpreted", Severity::Medium, AWS, &[],
        "Read the raw event kept in the evidence file and judge it by hand.")),
    p(c("ROOT-USAGE-ALERT-MISSING", "root usage raises no alert", Severity::Low, AWS,
        USAGE_ALERT,
        "Create an organization trail, or a CloudWatch Logs metric filter on root usage with an alarm, in every account.")),
    c("RETIRED-KEY-STILL-ON-ROOT", "a retired custody key is still an MFA device on root", Severity::High, CUSTODY, HW_MFA,
        "Remove the device in the AWS console (sign in as root with the account's other key, Security credentials → Multi-factor authentication → Remove); AWS offers no API for this outside an AssumeRoot session with the IAMDeleteRootUserCredentials task policy."),
    c("KEY-REGISTRATION-UNCONFIRMED", "AWS shows a key on root but the ledger never recorded the confirmation", Severity::Low, CUSTODY, &[],
        "Run `rootkey enroll confirm` for the key."),
    c("KEY-SERIAL-CHANGED", "a key is on root under another serial than the ledger recorded", Severity::Medium, CUSTODY, CUSTODY_KEY,
        "Find out who re-registered the key; confirm the new serial (`rootkey enroll confirm`) or remove the device."),
    c("AWS-DEVICE-UNKNOWN", "root has an MFA device the ledger does not know", Severity::High, CUSTODY, HW_MFA,
        "Find out whose device it is; remove it from root, or enroll it into custody (`rootkey enroll`)."),
    c("LEDGER-KEY-NOT-IN-AWS", "AWS no longer shows a custody key on root", Severity::High, CUSTODY, CUSTODY_KEY,
        "Find out who removed the device; re-register the key or retire it (`rootkey keys retire`)."),
    c("KEY-NOT-REGISTERED", "a key was enrolled but AWS never showed it on root", Severity::Medium, CUSTODY, CUSTODY_KEY,
        "Finish the enrollment: register the key on root and run `rootkey enroll confirm`."),
    c("ROOT-FEWER-THAN-TWO-KEYS", "root is guarded by fewer than two custody keys AWS confirms", Severity::High, CUSTODY, HW_MFA,
        "Enroll and register two custody keys for the account (`rootkey enroll`)."),
    c("KEY-CHECKIN-OVERDUE", "a key was not checked in by the end of its window", Severity::High, CUSTODY, CUSTODY_KEY,
        "Return the key to the safe and check it in (`rootkey checkin`); if it cannot be found, retire it as lost."),
    c("KEY-CHECKED-OUT", "a key is checked out", Severity::Info, CUSTODY, &[],
        "Nothing to fix before the window ends; check it in when done."),
    c("KEY-POSSESSION-STALE", "a key has not proved possession for more than 90 days", Severity::Medium, CUSTODY, CUSTODY_KEY,
        "Prove possession: `rootkey keys verify --key KEY`."),
    c("KEYS-SAME-LOCATION", "two keys of one account are stored at the same location", Severity::Medium, CUSTODY, &[],
        "Move one key to another location (`rootkey keys move`)."),
    c("KEY-CHECKIN-LATE", "a key came back after its window", Severity::Low, CUSTODY, &[],
        "Review why the checkout ran late; ask for a longer window next time."),
    c("KEY-INCIDENT", "a key was retired as lost or compromised", Severity::High, CUSTODY, CUSTODY_KEY,
        "Check root activity since the key last proved possession and make sure its device is gone from root."),
    c("KEY-SOFTWARE", "a custody key is a software authenticator (copyable, not hardware)", Severity::High, CUSTODY, HW_MFA,
        "Replace it with an attested hardware key (`rootkey enroll --replace`)."),
    c("KEY-ATTESTATION-USER-ROOT", "a key's attestation ends in a root the operator trusted explicitly", Severity::Medium, CUSTODY, HW_MFA,
        "Replace it with a key whose attestation chains to a vendor or FIDO metadata root, or document why the root is trusted."),
    c("CUSTODIAN-KEY-SOFTWARE", "a custodian or auditor approves with a software key", Severity::High, CUSTODY, SEPARATION,
        "Enroll an attested hardware key for them and retire the software one."),
    c("AWS-POSTURE-MISSING", "no AWS facts for an account: its root could not be compared with the ledger", Severity::High, CUSTODY, &[],
        "Read the account (`--account`, `--organization`) or give evidence that covers it."),
    c("AWS-READ-GAP", "part of the audit could not be covered by AWS", Severity::Low, EVIDENCE, &[],
        "Search the uncovered part elsewhere (CloudTrail Lake, the trail's S3 archive) and keep that with the report."),
    c("ACCOUNT-INACTIVE", "the account is suspended or closing: its root was not compared with the ledger", Severity::Info, AWS, &[],
        "Nothing to fix; close the account in the ledger when it is gone (`rootkey account close`)."),
    c("EVIDENCE-STALE", "the AWS evidence was read before the audited period began", Severity::High, EVIDENCE, EVIDENCE_CONTROLS,
        "Read the posture again (`rootkey aws posture --evidence-out FILE`, or audit live) and audit with fresh evidence."),
    c("EVIDENCE-PARTIAL", "the evidence's sign-in search does not cover the whole audited period", Severity::High, EVIDENCE, EVIDENCE_CONTROLS,
        "Read the posture again with `--since` at or before the period start, so the sign-in search covers the whole period."),
    fixed(c("LEDGER-NOT-INTACT", "the custody ledger failed verification; nothing in it can be relied on", Severity::Critical, LEDGER, LEDGER_INTEGRITY,
        "Stop using the ledger: restore it from a verified backup and investigate who changed it (`rootkey ledger verify`).")),
    fixed(c("LEDGER-CHECKPOINT-NOT-EXTENDED", "today's ledger does not extend the auditor's saved checkpoint: rewritten or rolled back", Severity::Critical, LEDGER, LEDGER_INTEGRITY,
        "Treat the ledger as rewritten: compare it with backups and the saved checkpoint and investigate.")),
    fixed(c("LEDGER-ANCHOR-KEY-ONLY", "the ledger was verified against the auditor's verifier key but no saved checkpoint", Severity::Info, LEDGER, LEDGER_INTEGRITY,
        "Save the checkpoint this audit printed and pass it next time (`--since-checkpoint`).")),
    fixed(c("LEDGER-UNANCHORED", "the ledger was verified only against the verifier key stored in the database itself", Severity::Medium, LEDGER, LEDGER_INTEGRITY,
        "Audit with the verifier key from your records (`--vkey`) and a saved checkpoint (`--since-checkpoint`).")),
];

/// The catalogue entry of `id`.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// The catalogue entry of `id`, for ids written in rootkey's own code (a test checks every one
/// exists); an unknown id falls back to `READ-INCOMPLETE`-like generic text rather than panic.
pub fn known(id: &'static str) -> &'static Check {
    check(id).unwrap_or(&UNKNOWN)
}

static UNKNOWN: Check = c(
    "UNKNOWN-CHECK",
    "a check rootkey does not know",
    Severity::High,
    AUDIT_SOURCE,
    &[],
    "Report this to the rootkey maintainers.",
);
const AUDIT_SOURCE: FindingSource = FindingSource::Custody;
