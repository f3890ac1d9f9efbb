//! Reading root posture from AWS. Read-only: every call here is a List/Get/Describe/Lookup,
//! `GenerateCredentialReport` (which only refreshes IAM's cached report), or an STS session.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::client::{in_region, load_sdk_config, with_credentials, AwsOptions};
use super::credreport::CredentialReport;
use super::model::*;
use super::serial::MfaKind;
use super::AwsError;

/// The task policy that lets an `AssumeRoot` session read, and only read, root credentials
/// (commercial partition; see [`audit_task_policy`] for others).
pub const AUDIT_TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

/// The audit task policy ARN in `partition` (`aws`, `aws-us-gov`, `aws-cn`, ...).
pub fn audit_task_policy(partition: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/root-task/IAMAuditRootUserCredentials")
}

/// `ListOrganizationsFeatures` error codes that mean "centralized root access is off" rather
/// than "the read failed" (IAM trusted access not enabled; organization not in all-features
/// mode).
pub const FEATURES_OFF_CODES: &[&str] = &[
    "ServiceAccessNotEnabledException",
    "OrganizationNotInAllFeaturesModeException",
];

/// The status of an Organizations account: the newer `State`, else the older `Status`.
fn account_status(a: &aws_sdk_organizations::types::Account) -> Option<String> {
    a.state()
        .map(|s| s.as_str().to_string())
        .or_else(|| a.status().map(|s| s.as_str().to_string()))
}

/// How many times the credential report is polled before giving up.
const REPORT_POLLS: u32 = 30;

/// An account to read, as listed by Organizations or named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Account id.
    pub account_id: String,
    /// Name, when known.
    pub name: Option<String>,
    /// Email, when known.
    pub email: Option<String>,
    /// Management (or standalone) account: not reachable by `AssumeRoot`.
    pub management: bool,
    /// The account's state in Organizations (`ACTIVE`, `SUSPENDED`, `CLOSED`, ...), when
    /// listed; suspended and closed accounts are recorded, not read.
    pub status: Option<String>,
}

/// Reads root posture. Cheap to clone; holds the SDK configuration and the caller's identity.
#[derive(Clone)]
pub struct Reader {
    inner: Arc<Inner>,
}

struct Inner {
    sdk: SdkConfig,
    opts: AwsOptions,
    caller: CallerIdentity,
    partition: String,
}

fn to_time(t: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
}

fn to_dt(t: OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.unix_timestamp())
}

/// Turns an SDK error into a [`ReadError`] naming the call and the check it leaves open.
pub(crate) fn read_error<E, R>(
    call: &str,
    check: Check,
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> ReadError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let code = match err {
        SdkError::ServiceError(_) => err.code().unwrap_or("ServiceError").to_string(),
        SdkError::TimeoutError(_) => "Timeout".into(),
        SdkError::DispatchFailure(_) => "DispatchFailure".into(),
        SdkError::ResponseError(_) => "ResponseError".into(),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".into(),
        _ => "Unknown".into(),
    };
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(err).to_string());
    ReadError {
        call: call.to_string(),
        check,
        code,
        message,
    }
}

fn sdk_failure<E, R>(
    call: &'static str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let e = read_error(call, Check::Session, &err);
    AwsError::Call {
        call,
        code: e.code,
        message: e.message,
    }
}

/// Lists the MFA devices of the root user that `iam` is signed in as (a root or `AssumeRoot`
/// session). The custody layer polls this to confirm a console enrollment.
pub async fn root_mfa_devices(iam: &aws_sdk_iam::Client) -> Result<Vec<MfaDevice>, ReadError> {
    let mut out = Vec::new();
    let mut pages = iam.list_mfa_devices().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| read_error("iam:ListMFADevices", Check::MfaDevices, &e))?;
        for d in page.mfa_devices() {
            out.push(MfaDevice {
                serial: d.serial_number().to_string(),
                kind: MfaKind::classify(d.serial_number()),
                enable_date: to_time(Some(d.enable_date())),
            });
        }
    }
    Ok(out)
}

/// Keeps calls to one API at least `interval` apart (CloudTrail `LookupEvents` allows ~2/s).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    /// A limiter allowing one call per `interval`.
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

impl Reader {
    /// Loads the SDK configuration and asks STS who we are (fails if AWS cannot be reached or
    /// credentials are missing).
    pub async fn connect(opts: AwsOptions) -> Result<Reader, AwsError> {
        let sdk = load_sdk_config(&opts).await;
        let sts = aws_sdk_sts::Client::new(&sdk);
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk_failure("sts:GetCallerIdentity", e))?;
        let caller = CallerIdentity {
            account: who.account().unwrap_or_default().to_string(),
            arn: who.arn().unwrap_or_default().to_string(),
            user_id: who.user_id().unwrap_or_default().to_string(),
        };
        if caller.account.is_empty() {
            return Err(AwsError::Call {
                call: "sts:GetCallerIdentity",
                code: "MissingAccount".into(),
                message: "the response named no account".into(),
            });
        }
        let partition = caller
            .arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_string();
        Ok(Reader {
            inner: Arc::new(Inner {
                sdk,
                opts,
                caller,
                partition,
            }),
        })
    }

    /// The caller's identity.
    pub fn caller(&self) -> &CallerIdentity {
        &self.inner.caller
    }

    /// The caller's partition (`aws`, `aws-us-gov`, `aws-cn`, ...), from its ARN.
    pub fn partition(&self) -> &str {
        &self.inner.partition
    }

    /// The loaded SDK configuration (for building other clients).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk
    }

    /// Reads `ListOrganizationsFeatures` into `facts`. The two "feature is off" errors become
    /// features both `false` (with the code kept); any other failure leaves them unknown.
    pub async fn read_features(&self, facts: &mut OrganizationFacts) {
        let iam = aws_sdk_iam::Client::new(&self.inner.sdk);
        match iam.list_organizations_features().send().await {
            Ok(f) => {
                use aws_sdk_iam::types::FeatureType;
                let on = f.enabled_features();
                facts.features = Some(OrgFeatures {
                    root_credentials_management: on
                        .contains(&FeatureType::RootCredentialsManagement),
                    root_sessions: on.contains(&FeatureType::RootSessions),
                });
                if facts.id.is_none() {
                    facts.id = f.organization_id().map(str::to_string);
                }
            }
            Err(e) => {
                let err = read_error(
                    "iam:ListOrganizationsFeatures",
                    Check::OrganizationFeatures,
                    &e,
                );
                if FEATURES_OFF_CODES.contains(&err.code.as_str()) {
                    facts.features = Some(OrgFeatures::default());
                    facts.features_off_reason = Some(err.code);
                } else {
                    facts.errors.push(err);
                }
            }
        }
    }

    /// Organization facts without listing accounts (`--account` mode): the organization and
    /// its centralized root access features, each when the caller may read them.
    pub async fn organization_facts(&self) -> OrganizationFacts {
        let orgs = aws_sdk_organizations::Client::new(&self.inner.sdk);
        let mut facts = OrganizationFacts {
            id: None,
            management_account_id: None,
            features: None,
            features_off_reason: None,
            errors: Vec::new(),
        };
        match orgs.describe_organization().send().await {
            Ok(o) => {
                if let Some(o) = o.organization() {
                    facts.id = o.id().map(str::to_string);
                    facts.management_account_id = o.master_account_id().map(str::to_string);
                }
            }
            Err(e) => facts.errors.push(read_error(
                "organizations:DescribeOrganization",
                Check::OrganizationFeatures,
                &e,
            )),
        }
        self.read_features(&mut facts).await;
        facts
    }

    /// Lists every account of the organization (paginated) and its organization facts.
    pub async fn organization(&self) -> Result<(OrganizationFacts, Vec<Target>), AwsError> {
        let orgs = aws_sdk_organizations::Client::new(&self.inner.sdk);
        let facts = self.organization_facts().await;
        let mut targets = Vec::new();
        let mut pages = orgs.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_failure("organizations:ListAccounts", e))?;
            for a in page.accounts() {
                let Some(id) = a.id() else { continue };
                targets.push(Target {
                    account_id: id.to_string(),
                    name: a.name().map(str::to_string),
                    email: a.email().map(str::to_string),
                    management: facts.management_account_id.as_deref() == Some(id),
                    status: account_status(a),
                });
            }
        }
        Ok((facts, targets))
    }

    /// Describes named accounts for `--account` mode: name and email from Organizations when
    /// the caller may read them (a failure is recorded on the account, not fatal).
    pub async fn describe_targets(&self, ids: &[String]) -> Vec<(Target, Option<ReadError>)> {
        self.describe_targets_in(ids, None).await
    }

    /// [`describe_targets`](Self::describe_targets), knowing the management account when the
    /// organization said (else the caller's own account is taken as management/standalone).
    pub async fn describe_targets_in(
        &self,
        ids: &[String],
        management_account_id: Option<&str>,
    ) -> Vec<(Target, Option<ReadError>)> {
        let orgs = aws_sdk_organizations::Client::new(&self.inner.sdk);
        let mut out = Vec::new();
        for id in ids {
            let mut t = Target {
                account_id: id.clone(),
                name: None,
                email: None,
                management: match management_account_id {
                    Some(m) => m == id,
                    None => *id == self.inner.caller.account,
                },
                status: None,
            };
            let err = match orgs.describe_account().account_id(id).send().await {
                Ok(d) => {
                    if let Some(a) = d.account() {
                        t.name = a.name().map(str::to_string);
                        t.email = a.email().map(str::to_string);
                        t.status = account_status(a);
                    }
                    None
                }
                Err(e) => Some(read_error(
                    "organizations:DescribeAccount",
                    Check::AccountEmail,
                    &e,
                )),
            };
            out.push((t, err));
        }
        out
    }

    /// Reads every target with bounded concurrency, handing each account to `each` as soon as it
    /// is read (so memory stays flat however many accounts there are).
    pub async fn read_each(
        &self,
        targets: impl IntoIterator<Item = Target>,
        period: Period,
        mut each: impl FnMut(usize, AccountEvidence),
    ) {
        let limit = self.inner.opts.concurrency.max(1);
        let mut set = JoinSet::new();
        for (i, t) in targets.into_iter().enumerate() {
            while set.len() >= limit {
                if let Some(Ok((idx, ev))) = set.join_next().await {
                    each(idx, ev);
                }
            }
            let me = self.clone();
            set.spawn(async move { (i, me.read_account(t, period).await) });
        }
        while let Some(done) = set.join_next().await {
            if let Ok((idx, ev)) = done {
                each(idx, ev);
            }
        }
    }

    /// Reads every target and returns the evidence, accounts in target order.
    pub async fn read(
        &self,
        organization: Option<OrganizationFacts>,
        targets: Vec<Target>,
        since: OffsetDateTime,
        mut progress: impl FnMut(),
    ) -> Evidence {
        let until = OffsetDateTime::now_utc();
        let period = Period { since, until };
        let mut slots: Vec<Option<AccountEvidence>> = vec![None; targets.len()];
        let ids: Vec<String> = targets.iter().map(|t| t.account_id.clone()).collect();
        self.read_each(targets, period, |i, ev| {
            slots[i] = Some(ev);
            progress();
        })
        .await;
        let accounts = slots
            .into_iter()
            .zip(ids)
            .map(|(s, id)| {
                // A task that panicked left its slot empty: say so rather than drop the account.
                s.unwrap_or_else(|| AccountEvidence {
                    account_id: id,
                    name: None,
                    email: None,
                    management: false,
                    posture: RootPosture {
                        errors: vec![ReadError {
                            call: "rootkey".into(),
                            check: Check::Session,
                            code: "InternalError".into(),
                            message: "the read of this account stopped unexpectedly".into(),
                        }],
                        ..RootPosture::default()
                    },
                })
            })
            .collect();
        Evidence {
            format: EVIDENCE_FORMAT.to_string(),
            read_at: OffsetDateTime::now_utc(),
            caller: self.inner.caller.clone(),
            period,
            organization,
            accounts,
            scope: None,
        }
    }

    /// Adds root activity from the CloudTrail Lake event data store `eds` to every active
    /// account of `evidence`: logins become searched (`Some`) for accounts `LookupEvents` could
    /// not reach, and events already seen (same event id) are not added twice. A failed query is
    /// recorded on each account whose logins stay unsearched.
    pub async fn add_lake_activity(&self, eds: &str, evidence: &mut Evidence) {
        // The event data store lives in the region its ARN names (else the configured one).
        let region = eds
            .strip_prefix("arn:")
            .and_then(|r| r.split(':').nth(2))
            .filter(|r| !r.is_empty());
        let sdk = match region {
            Some(r) => in_region(&self.inner.sdk, r),
            None => self.inner.sdk.clone(),
        };
        let ct = aws_sdk_cloudtrail::Client::new(&sdk);
        let found = super::lake::root_activity(
            &ct,
            eds,
            evidence.period,
            self.inner.opts.report_poll_interval,
        )
        .await;
        for acc in &mut evidence.accounts {
            let p = &mut acc.posture;
            if p.account_inactive() {
                continue;
            }
            match &found {
                Ok(map) => {
                    let act = map.get(&acc.account_id).cloned().unwrap_or_default();
                    let mut seen: std::collections::HashSet<String> = p
                        .logins
                        .iter()
                        .flatten()
                        .filter_map(|l| l.event_id.clone())
                        .chain(p.usage.iter().filter_map(|u| u.event_id.clone()))
                        .chain(p.unparsed_events.iter().filter_map(|u| u.event_id.clone()))
                        .collect();
                    let mut fresh = |id: &Option<String>| match id {
                        Some(id) => seen.insert(id.clone()),
                        None => true,
                    };
                    let logins = p.logins.get_or_insert_with(Vec::new);
                    logins.extend(act.logins.into_iter().filter(|l| fresh(&l.event_id)));
                    logins.sort_by_key(|l| l.time);
                    p.usage
                        .extend(act.usage.into_iter().filter(|u| fresh(&u.event_id)));
                    p.usage.sort_by_key(|u| u.time);
                    p.unparsed_events
                        .extend(act.unparsed.into_iter().filter(|u| fresh(&u.event_id)));
                    p.not_read.retain(|n| n.check != Check::Logins);
                }
                Err(e) if p.logins.is_none() => p.errors.push(e.clone()),
                Err(_) => {}
            }
        }
    }

    /// Opens an `AssumeRoot` session in a member account with the audit task policy, through
    /// the regional STS endpoint (the global one rejects AssumeRoot).
    pub async fn assume_root(&self, account_id: &str) -> Result<aws_sdk_iam::Client, ReadError> {
        self.assume_root_with(account_id, &audit_task_policy(&self.inner.partition))
            .await
    }

    /// Opens an `AssumeRoot` session in a member account limited by the task policy
    /// `task_policy_arn` (remediation uses the delete policy), through the regional endpoint.
    pub async fn assume_root_with(
        &self,
        account_id: &str,
        task_policy_arn: &str,
    ) -> Result<aws_sdk_iam::Client, ReadError> {
        let sts = aws_sdk_sts::Client::new(&self.inner.sdk);
        let policy = aws_sdk_sts::types::PolicyDescriptorType::builder()
            .arn(task_policy_arn)
            .build();
        let out = sts
            .assume_root()
            .target_principal(account_id)
            .task_policy_arn(policy)
            .duration_seconds(900)
            .send()
            .await
            .map_err(|e| read_error("sts:AssumeRoot", Check::Session, &e))?;
        let creds = session_credentials(out.credentials(), "sts:AssumeRoot", "AssumeRoot")?;
        Ok(iam_client(
            &with_credentials(&self.inner.sdk, creds),
            account_id,
        ))
    }

    /// Opens a session in `account_id` through the `--member-role` role.
    pub async fn assume_member_role(
        &self,
        account_id: &str,
        role: &str,
    ) -> Result<SdkConfig, ReadError> {
        let sts = aws_sdk_sts::Client::new(&self.inner.sdk);
        let arn = format!("arn:{}:iam::{account_id}:role/{role}", self.inner.partition);
        let out = sts
            .assume_role()
            .role_arn(arn)
            .role_session_name("rootkey-posture")
            .send()
            .await
            .map_err(|e| read_error("sts:AssumeRole", Check::Session, &e))?;
        let creds = session_credentials(out.credentials(), "sts:AssumeRole", "AssumeRole")?;
        Ok(with_credentials(&self.inner.sdk, creds))
    }

    /// Reads one member's root MFA devices through `AssumeRoot` (enrollment confirmation).
    pub async fn member_root_mfa_devices(
        &self,
        account_id: &str,
    ) -> Result<Vec<MfaDevice>, ReadError> {
        let iam = self.assume_root(account_id).await?;
        root_mfa_devices(&iam).await
    }

    /// Reads one account; never fails: what could not be read is recorded in the posture.
    /// Suspended and closed accounts are recorded with their status and not read.
    pub async fn read_account(&self, t: Target, period: Period) -> AccountEvidence {
        let caller = &self.inner.caller;
        let own = t.account_id == caller.account;
        let caller_is_root = own && caller.arn.ends_with(":root");
        let mut p = RootPosture {
            account_status: t.status.clone(),
            ..RootPosture::default()
        };
        if p.account_inactive() {
            return AccountEvidence {
                account_id: t.account_id,
                name: t.name,
                email: t.email,
                management: t.management,
                posture: p,
            };
        }

        // The two sessions are independent: open them at once.
        let root_session = async {
            if caller_is_root {
                Some(Ok(aws_sdk_iam::Client::new(&self.inner.sdk)))
            } else if !own && !t.management {
                Some(self.assume_root(&t.account_id).await)
            } else {
                None
            }
        };
        let account_session = async {
            if own {
                Some(Ok(self.inner.sdk.clone()))
            } else if let Some(role) = &self.inner.opts.member_role {
                Some(self.assume_member_role(&t.account_id, role).await)
            } else {
                None
            }
        };
        let (root_session, account_session) = tokio::join!(root_session, account_session);
        let root_iam = match root_session {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                p.errors.push(e);
                None
            }
            None => None,
        };
        let account_sdk = match account_session {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                p.errors.push(e);
                None
            }
            None => None,
        };

        // Root-level reads (a root session) and account-level reads (own credentials or the
        // member role) run at the same time; each fills its own posture and they are merged.
        let root_part = async {
            let mut rp = RootPosture::default();
            if let Some(iam) = &root_iam {
                read_root_session(iam, caller_is_root, period, &mut rp).await;
            }
            rp
        };
        let account_part = async {
            let mut ap = RootPosture::default();
            if let Some(sdk) = &account_sdk {
                self.read_account_level(sdk, &t.account_id, root_iam.is_some(), period, &mut ap)
                    .await;
            }
            ap
        };
        let (rp, ap) = tokio::join!(root_part, account_part);
        merge_postures(&mut p, rp, ap);

        if account_sdk.is_none() && self.inner.opts.member_role.is_none() && !own {
            let reason = if root_iam.is_some() {
                "CloudTrail is outside the AssumeRoot audit policy; pass --member-role NAME"
            } else {
                "outside the AssumeRoot audit policy; pass --member-role NAME"
            };
            let mut checks = vec![Check::Logins];
            if root_iam.is_none() {
                checks.splice(
                    0..0,
                    [
                        Check::AccountSummary,
                        Check::CredentialReport,
                        Check::VirtualMfaDevices,
                    ],
                );
            }
            for check in checks {
                p.not_read.push(NotRead {
                    check,
                    reason: reason.into(),
                });
            }
        }
        if root_iam.is_none() && account_sdk.is_none() && p.errors.is_empty() {
            p.not_read.push(NotRead {
                check: Check::Session,
                reason: "no session could reach this account's root user".into(),
            });
        }

        AccountEvidence {
            account_id: t.account_id,
            name: t.name,
            email: t.email,
            management: t.management,
            posture: p,
        }
    }

    async fn read_account_level(
        &self,
        sdk: &SdkConfig,
        account_id: &str,
        have_root_session: bool,
        period: Period,
        p: &mut RootPosture,
    ) {
        let iam = iam_client(sdk, account_id);
        // With a root session, GetAccountSummary, GetUser and the complete device list come
        // from it: the credential report and the virtual MFA list add nothing.
        let summary = async {
            if have_root_session {
                None
            } else {
                Some(read_account_summary(&iam).await)
            }
        };
        let report = async {
            if have_root_session {
                None
            } else {
                Some(self.credential_report(&iam).await)
            }
        };
        let virtuals = async {
            if have_root_session {
                None
            } else {
                Some(self.root_virtual_devices(&iam, account_id).await)
            }
        };
        let activity = self.root_activity(sdk, account_id, period);
        let alerting = usage_alerting(sdk);
        let (summary, report, virtuals, activity, alerting) =
            tokio::join!(summary, report, virtuals, activity, alerting);

        match summary {
            Some(Ok(s)) => p.account_summary = Some(s),
            Some(Err(e)) => p.errors.push(e),
            None => {}
        }
        match report {
            Some(Ok(report)) => match report.root() {
                Ok(Some(row)) => {
                    p.mfa_active = Some(row.mfa_active);
                    for k in &row.access_keys {
                        if let Some(t) = k.last_used.filter(|t| in_period(*t, period)) {
                            p.usage.push(RootUse {
                                time: t,
                                kind: RootUseKind::AccessKey,
                                source: "credential_report".into(),
                                detail: format!(
                                    "access key {} last used{}{}",
                                    k.name(),
                                    k.last_used_service
                                        .as_deref()
                                        .map(|s| format!(" with {s}"))
                                        .unwrap_or_default(),
                                    k.last_used_region
                                        .as_deref()
                                        .map(|r| format!(" in {r}"))
                                        .unwrap_or_default()
                                ),
                                event_id: None,
                                credential: Some(k.name()),
                            });
                        }
                    }
                    p.access_keys = Some(row.access_keys);
                    p.signing_certificates = Some(row.signing_certificates);
                    p.password = row.password;
                    p.password_last_used = row.password_last_used;
                    if let Some(t) = row.password_last_used.filter(|t| in_period(*t, period)) {
                        p.usage.push(RootUse {
                            time: t,
                            kind: RootUseKind::Password,
                            source: "credential_report".into(),
                            detail: "password_last_used".into(),
                            event_id: None,
                            credential: None,
                        });
                    }
                }
                Ok(None) => p.errors.push(ReadError {
                    call: "iam:GetCredentialReport".into(),
                    check: Check::CredentialReport,
                    code: "NoRootRow".into(),
                    message: "the credential report has no <root_account> row".into(),
                }),
                Err(e) => p.errors.push(ReadError {
                    call: "iam:GetCredentialReport".into(),
                    check: Check::CredentialReport,
                    code: "Malformed".into(),
                    message: e.to_string(),
                }),
            },
            Some(Err(e)) => p.errors.push(e),
            None => {}
        }
        if let Some(s) = p.account_summary {
            p.mfa_active.get_or_insert(s.mfa_enabled);
        }
        match virtuals {
            Some(Ok(devices)) => p.mfa_devices = devices,
            Some(Err(e)) => p.errors.push(e),
            None => {}
        }
        let (logins, usage, unparsed, errors) = activity;
        p.logins = logins;
        p.usage.extend(usage);
        p.unparsed_events = unparsed;
        p.errors.extend(errors);
        match alerting {
            Ok(a) => p.usage_alerting = Some(a),
            Err((a, e)) => {
                p.usage_alerting = a;
                p.errors.push(e);
            }
        }
    }

    /// Virtual MFA devices assigned to root (`ListVirtualMFADevices`, `User.Arn` = root).
    async fn root_virtual_devices(
        &self,
        iam: &aws_sdk_iam::Client,
        account_id: &str,
    ) -> Result<Vec<MfaDevice>, ReadError> {
        let root_arn = format!("arn:{}:iam::{account_id}:root", self.inner.partition);
        let mut out: Vec<MfaDevice> = Vec::new();
        let mut pages = iam
            .list_virtual_mfa_devices()
            .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                read_error("iam:ListVirtualMFADevices", Check::VirtualMfaDevices, &e)
            })?;
            for d in page.virtual_mfa_devices() {
                if d.user().map(|u| u.arn()) != Some(root_arn.as_str()) {
                    continue;
                }
                if out.iter().any(|m| m.serial == d.serial_number()) {
                    continue;
                }
                out.push(MfaDevice {
                    serial: d.serial_number().to_string(),
                    kind: MfaKind::classify(d.serial_number()),
                    enable_date: to_time(d.enable_date()),
                });
            }
        }
        Ok(out)
    }

    /// Root activity from CloudTrail event history. Root sign-ins are always recorded in
    /// us-east-1: `EventName=ConsoleLogin` there decides whether logins were searched. Root API
    /// calls are recorded where they happen: `Username=root` in us-east-1 and the home region.
    /// A failure anywhere else is recorded without discarding what us-east-1 returned.
    async fn root_activity(
        &self,
        sdk: &SdkConfig,
        account_id: &str,
        period: Period,
    ) -> (
        Option<Vec<RootLogin>>,
        Vec<RootUse>,
        Vec<UnparsedEvent>,
        Vec<ReadError>,
    ) {
        use aws_sdk_cloudtrail::types::LookupAttributeKey as K;
        let east = super::client::FALLBACK_REGION;
        let home = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| east.to_string());
        let mut searches: Vec<(String, K, &'static str, Check)> = vec![
            (
                east.to_string(),
                K::EventName,
                "ConsoleLogin",
                Check::Logins,
            ),
            (east.to_string(), K::Username, "root", Check::RootActivity),
        ];
        if home != east {
            searches.push((home, K::Username, "root", Check::RootActivity));
        }
        // LookupEvents allows 2 requests per second per account and region: one limiter per
        // region, and the regions are searched at the same time.
        let east_limiter = RateLimiter::new(self.inner.opts.cloudtrail_interval);
        let home_limiter = RateLimiter::new(self.inner.opts.cloudtrail_interval);
        let search = |(region, key, value, check): (String, K, &'static str, Check)| {
            let limiter = if region == east {
                &east_limiter
            } else {
                &home_limiter
            };
            async move {
                let ct = cloudtrail_client(&in_region(sdk, &region), account_id, &region);
                let mut events = Vec::new();
                let result =
                    lookup_events(&ct, key.clone(), value, period, limiter, &mut events).await;
                let err = result.err().map(|mut e| {
                    e.check = check;
                    e.message = format!("{}={value} in {region}: {}", key.as_str(), e.message);
                    e
                });
                (region, events, err)
            }
        };
        let east_searches = async {
            let mut out = Vec::new();
            for s in searches.iter().filter(|s| s.0 == east).cloned() {
                out.push(search(s).await);
            }
            out
        };
        let home_searches = async {
            let mut out = Vec::new();
            for s in searches.iter().filter(|s| s.0 != east).cloned() {
                out.push(search(s).await);
            }
            out
        };
        let (east_done, home_done) = tokio::join!(east_searches, home_searches);
        let mut logins = Vec::new();
        let mut usage = Vec::new();
        let mut unparsed = Vec::new();
        let mut errors = Vec::new();
        let mut logins_ok = true;
        let mut seen = std::collections::HashSet::new();
        for (region, events, err) in east_done.into_iter().chain(home_done) {
            if let Some(e) = err {
                if e.check == Check::Logins {
                    logins_ok = false;
                }
                errors.push(e);
            }
            for ev in events {
                if let Some(id) = ev.event_id() {
                    if !seen.insert(id.to_string()) {
                        continue;
                    }
                }
                match classify_event(&ev, &region) {
                    RootEvent::Login(l) => logins.push(l),
                    RootEvent::Use(u) => usage.push(u),
                    RootEvent::Unparsed(u) => unparsed.push(u),
                    RootEvent::NotRootUse => {}
                }
            }
        }
        logins.sort_by_key(|l| l.time);
        usage.sort_by_key(|u| u.time);
        (logins_ok.then_some(logins), usage, unparsed, errors)
    }

    async fn credential_report(
        &self,
        iam: &aws_sdk_iam::Client,
    ) -> Result<CredentialReport, ReadError> {
        use aws_sdk_iam::operation::get_credential_report::GetCredentialReportError as G;
        use aws_sdk_iam::types::ReportStateType;
        let mut last = None;
        for attempt in 0..REPORT_POLLS {
            if attempt > 0 {
                tokio::time::sleep(self.inner.opts.report_poll_interval).await;
            }
            let gen = iam.generate_credential_report().send().await.map_err(|e| {
                read_error("iam:GenerateCredentialReport", Check::CredentialReport, &e)
            })?;
            if gen.state() != Some(&ReportStateType::Complete) {
                continue;
            }
            match iam.get_credential_report().send().await {
                Ok(r) => {
                    let content = r.content().map(|b| b.as_ref()).unwrap_or_default();
                    return CredentialReport::parse(content).map_err(|e| ReadError {
                        call: "iam:GetCredentialReport".into(),
                        check: Check::CredentialReport,
                        code: "Malformed".into(),
                        message: e.to_string(),
                    });
                }
                Err(e) => {
                    let retry = matches!(
                        e.as_service_error(),
                        Some(G::CredentialReportNotReadyException(_))
                            | Some(G::CredentialReportNotPresentException(_))
                            | Some(G::CredentialReportExpiredException(_))
                    );
                    let err = read_error("iam:GetCredentialReport", Check::CredentialReport, &e);
                    if !retry {
                        return Err(err);
                    }
                    last = Some(err);
                }
            }
        }
        Err(last.unwrap_or(ReadError {
            call: "iam:GenerateCredentialReport".into(),
            check: Check::CredentialReport,
            code: "NotReady".into(),
            message: format!("report not complete after {REPORT_POLLS} polls"),
        }))
    }
}

fn session_credentials(
    c: Option<&aws_sdk_sts::types::Credentials>,
    call: &str,
    provider: &'static str,
) -> Result<Credentials, ReadError> {
    let c = c.ok_or_else(|| ReadError {
        call: call.into(),
        check: Check::Session,
        code: "NoCredentials".into(),
        message: "the response carried no credentials".into(),
    })?;
    let expiry = to_time(Some(c.expiration()))
        .map(|t| std::time::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().max(0) as u64));
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        expiry,
        provider,
    ))
}

/// An IAM client for one account's session. IAM's request limits are per account, so each
/// account gets its own retry partition: with adaptive retries, a throttle in one member slows
/// that member only, not every IAM call of the whole organization read.
fn iam_client(sdk: &SdkConfig, account_id: &str) -> aws_sdk_iam::Client {
    use aws_sdk_iam::config::retry::RetryPartition;
    let conf = aws_sdk_iam::config::Builder::from(sdk)
        .retry_partition(RetryPartition::new(format!("iam-{account_id}")))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// A CloudTrail client for one account and region (its limits are per account and region:
/// one retry partition each, as for [`iam_client`]).
fn cloudtrail_client(
    sdk: &SdkConfig,
    account_id: &str,
    region: &str,
) -> aws_sdk_cloudtrail::Client {
    use aws_sdk_cloudtrail::config::retry::RetryPartition;
    let conf = aws_sdk_cloudtrail::config::Builder::from(sdk)
        .retry_partition(RetryPartition::new(format!(
            "cloudtrail-{account_id}-{region}"
        )))
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

/// Whether `t` falls in the period.
fn in_period(t: OffsetDateTime, period: Period) -> bool {
    t >= period.since && t <= period.until
}

/// Puts the root-session part and the account-level part of one account's read together. The
/// root session's answers win: it sees every device type, names every key and certificate.
fn merge_postures(p: &mut RootPosture, root: RootPosture, account: RootPosture) {
    let have_root = root.mfa_devices_complete;
    p.errors.extend(root.errors);
    p.errors.extend(account.errors);
    if have_root {
        p.mfa_devices = root.mfa_devices;
        p.mfa_devices_complete = true;
    } else {
        p.mfa_devices = account.mfa_devices;
    }
    for d in &p.mfa_devices {
        if !root.device_classes.iter().any(|c| c.serial == d.serial) {
            p.device_classes.push(DeviceClassification {
                serial: d.serial.clone(),
                class: DeviceClass::from_kind(d.kind),
                certifications: None,
            });
        } else if let Some(c) = root.device_classes.iter().find(|c| c.serial == d.serial) {
            p.device_classes.push(c.clone());
        }
    }
    p.access_keys = root.access_keys.or(account.access_keys);
    p.signing_certificates = root.signing_certificates.or(account.signing_certificates);
    p.password = if root.password != PasswordState::Unknown {
        root.password
    } else {
        account.password
    };
    p.password_last_used = root.password_last_used.or(account.password_last_used);
    p.account_summary = root.account_summary.or(account.account_summary);
    p.mfa_active = root
        .account_summary
        .map(|s| s.mfa_enabled)
        .or(account.mfa_active);
    p.logins = account.logins;
    p.unparsed_events = account.unparsed_events;
    p.usage_alerting = account.usage_alerting;
    // One use seen by two sources (GetUser and the credential report) is one use.
    let mut usage = root.usage;
    for u in account.usage {
        if !usage
            .iter()
            .any(|x| x.kind == u.kind && x.time == u.time && x.event_id == u.event_id)
        {
            usage.push(u);
        }
    }
    usage.sort_by_key(|u| u.time);
    p.usage = usage;
}

async fn read_account_summary(iam: &aws_sdk_iam::Client) -> Result<AccountSummary, ReadError> {
    use aws_sdk_iam::types::SummaryKeyType as K;
    let s = iam
        .get_account_summary()
        .send()
        .await
        .map_err(|e| read_error("iam:GetAccountSummary", Check::AccountSummary, &e))?;
    let map = s.summary_map();
    let flag = |k: K| map.and_then(|m| m.get(&k)).is_some_and(|v| *v > 0);
    Ok(AccountSummary {
        mfa_enabled: flag(K::AccountMfaEnabled),
        access_keys_present: flag(K::AccountAccessKeysPresent),
        signing_certificates_present: flag(K::AccountSigningCertificatesPresent),
    })
}

async fn read_access_keys(iam: &aws_sdk_iam::Client) -> (Option<Vec<AccessKey>>, Vec<ReadError>) {
    let out = match iam.list_access_keys().send().await {
        Ok(out) => out,
        Err(e) => {
            return (
                None,
                vec![read_error("iam:ListAccessKeys", Check::AccessKeys, &e)],
            )
        }
    };
    let mut errors = Vec::new();
    let mut keys = Vec::new();
    for k in out.access_key_metadata() {
        let status = match k.status() {
            Some(aws_sdk_iam::types::StatusType::Active) => CredentialStatus::Active,
            Some(aws_sdk_iam::types::StatusType::Inactive) => CredentialStatus::Inactive,
            _ => CredentialStatus::Unknown,
        };
        let mut key = AccessKey {
            id: k.access_key_id().map(str::to_string),
            status,
            created: to_time(k.create_date()),
            last_used: None,
            last_used_service: None,
            last_used_region: None,
            slot: None,
        };
        if let Some(id) = k.access_key_id() {
            match iam
                .get_access_key_last_used()
                .access_key_id(id)
                .send()
                .await
            {
                Ok(u) => {
                    if let Some(u) = u.access_key_last_used() {
                        key.last_used = to_time(u.last_used_date());
                        key.last_used_service =
                            Some(u.service_name().to_string()).filter(|s| s != "N/A");
                        key.last_used_region = Some(u.region().to_string()).filter(|s| s != "N/A");
                    }
                }
                Err(e) => errors.push(read_error(
                    "iam:GetAccessKeyLastUsed",
                    Check::AccessKeys,
                    &e,
                )),
            }
        }
        keys.push(key);
    }
    (Some(keys), errors)
}

/// Root's signing certificates (the caller's own, inside an AssumeRoot session).
pub(crate) async fn read_signing_certificates(
    iam: &aws_sdk_iam::Client,
) -> Result<Vec<SigningCertificate>, ReadError> {
    let out = iam.list_signing_certificates().send().await.map_err(|e| {
        read_error(
            "iam:ListSigningCertificates",
            Check::SigningCertificates,
            &e,
        )
    })?;
    Ok(out
        .certificates()
        .iter()
        .map(|c| SigningCertificate {
            id: Some(c.certificate_id().to_string()),
            status: match c.status() {
                aws_sdk_iam::types::StatusType::Active => CredentialStatus::Active,
                aws_sdk_iam::types::StatusType::Inactive => CredentialStatus::Inactive,
                _ => CredentialStatus::Unknown,
            },
            uploaded: to_time(c.upload_date()),
            slot: None,
        })
        .collect())
}

async fn read_password(iam: &aws_sdk_iam::Client) -> Result<PasswordState, ReadError> {
    match iam.get_login_profile().send().await {
        Ok(_) => Ok(PasswordState::Present),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(PasswordState::Absent)
        }
        Err(e) => Err(read_error("iam:GetLoginProfile", Check::Password, &e)),
    }
}

/// `GetUser` without a name in a root session describes root; `PasswordLastUsed` is when the
/// root password was last used (absent: never, or not since tracking began).
async fn read_password_last_used(
    iam: &aws_sdk_iam::Client,
) -> Result<Option<OffsetDateTime>, ReadError> {
    let out = iam
        .get_user()
        .send()
        .await
        .map_err(|e| read_error("iam:GetUser", Check::RootActivity, &e))?;
    Ok(out.user().and_then(|u| to_time(u.password_last_used())))
}

/// `GetMFADevice` certifications for a FIDO device (outside the AssumeRoot audit policy: only
/// when the caller is root itself).
async fn fido_class(iam: &aws_sdk_iam::Client, serial: &str) -> DeviceClassification {
    let certs = iam
        .get_mfa_device()
        .serial_number(serial)
        .send()
        .await
        .ok()
        .map(|o| {
            o.certifications()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<std::collections::BTreeMap<_, _>>()
                })
                .unwrap_or_default()
        });
    let class = match &certs {
        Some(c) if !c.is_empty() => DeviceClass::FidoSecurityKey,
        Some(_) => DeviceClass::FidoPasskey,
        None => DeviceClass::FidoUnverified,
    };
    DeviceClassification {
        serial: serial.to_string(),
        class,
        certifications: certs,
    }
}

/// The root-session reads, all at once: `ListMFADevices`, `ListAccessKeys` (+
/// `GetAccessKeyLastUsed`), `ListSigningCertificates`, `GetLoginProfile`, `GetAccountSummary`
/// and `GetUser` (all in the `IAMAuditRootUserCredentials` task policy). Each failure is
/// recorded on its own.
async fn read_root_session(
    iam: &aws_sdk_iam::Client,
    caller_is_root: bool,
    period: Period,
    p: &mut RootPosture,
) {
    let (devices, (keys, key_errors), certs, password, summary, last_used) = tokio::join!(
        root_mfa_devices(iam),
        read_access_keys(iam),
        read_signing_certificates(iam),
        read_password(iam),
        read_account_summary(iam),
        read_password_last_used(iam),
    );
    match devices {
        Ok(devices) => {
            for d in &devices {
                let c = if d.kind == MfaKind::Fido && caller_is_root {
                    fido_class(iam, &d.serial).await
                } else {
                    DeviceClassification {
                        serial: d.serial.clone(),
                        class: DeviceClass::from_kind(d.kind),
                        certifications: None,
                    }
                };
                p.device_classes.push(c);
            }
            p.mfa_devices = devices;
            p.mfa_devices_complete = true;
        }
        Err(e) => p.errors.push(e),
    }
    p.errors.extend(key_errors);
    if let Some(keys) = &keys {
        for k in keys {
            if let Some(t) = k.last_used.filter(|t| in_period(*t, period)) {
                p.usage.push(RootUse {
                    time: t,
                    kind: RootUseKind::AccessKey,
                    source: "iam:GetAccessKeyLastUsed".into(),
                    detail: format!(
                        "access key {} last used{}{}",
                        k.name(),
                        k.last_used_service
                            .as_deref()
                            .map(|s| format!(" with {s}"))
                            .unwrap_or_default(),
                        k.last_used_region
                            .as_deref()
                            .map(|r| format!(" in {r}"))
                            .unwrap_or_default()
                    ),
                    event_id: None,
                    credential: Some(k.name()),
                });
            }
        }
    }
    p.access_keys = keys;
    match certs {
        Ok(c) => p.signing_certificates = Some(c),
        Err(e) => p.errors.push(e),
    }
    match password {
        Ok(s) => p.password = s,
        Err(e) => p.errors.push(e),
    }
    match summary {
        Ok(s) => p.account_summary = Some(s),
        Err(e) => p.errors.push(e),
    }
    match last_used {
        Ok(t) => {
            p.password_last_used = t;
            if let Some(t) = t.filter(|t| in_period(*t, period)) {
                p.usage.push(RootUse {
                    time: t,
                    kind: RootUseKind::Password,
                    source: "iam:GetUser".into(),
                    detail: "PasswordLastUsed".into(),
                    event_id: None,
                    credential: None,
                });
            }
        }
        Err(e) => p.errors.push(e),
    }
}

/// Trails visible from the account (`DescribeTrails`, shadow trails included): organization
/// trails and trails delivering to CloudWatch Logs; then, on each such log group, metric
/// filters with the CIS root-usage pattern (`DescribeMetricFilters`) whose metric has an alarm
/// (`DescribeAlarmsForMetric`), each in the log group's region.
async fn usage_alerting(
    sdk: &SdkConfig,
) -> Result<UsageAlerting, (Option<UsageAlerting>, ReadError)> {
    let ct = aws_sdk_cloudtrail::Client::new(sdk);
    let out = ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| {
            (
                None,
                read_error("cloudtrail:DescribeTrails", Check::UsageAlerting, &e),
            )
        })?;
    let mut a = UsageAlerting {
        organization_trails: Vec::new(),
        trails_to_cloudwatch_logs: Vec::new(),
        root_usage_alarms: None,
    };
    let mut groups: Vec<(String, String)> = Vec::new();
    for t in out.trail_list() {
        let name = t
            .trail_arn()
            .or(t.name())
            .unwrap_or("(unnamed trail)")
            .to_string();
        if t.is_organization_trail() == Some(true) {
            a.organization_trails.push(name.clone());
        }
        if let Some(g) = t.cloud_watch_logs_log_group_arn().filter(|g| !g.is_empty()) {
            a.trails_to_cloudwatch_logs.push(name);
            // arn:<partition>:logs:<region>:<account>:log-group:<name>:*
            let parts: Vec<&str> = g.splitn(7, ':').collect();
            if let [_, _, _, region, _, _, rest] = parts.as_slice() {
                let group = rest.trim_end_matches(":*").to_string();
                if !groups.iter().any(|(r, n)| r == region && *n == group) {
                    groups.push((region.to_string(), group));
                }
            }
        }
    }
    // An organization trail is enough (CloudWatch.1 alternatives): no need to read filters.
    if !a.organization_trails.is_empty() {
        return Ok(a);
    }
    match root_usage_alarms(sdk, groups).await {
        Ok(alarms) => a.root_usage_alarms = Some(alarms),
        Err(e) => return Err((Some(a), e)),
    }
    Ok(a)
}

/// `log-group/filter -> alarm` for every root-usage metric filter with an alarm on `groups`
/// (region, log group name).
async fn root_usage_alarms(
    sdk: &SdkConfig,
    groups: Vec<(String, String)>,
) -> Result<Vec<String>, ReadError> {
    let mut alarms = Vec::new();
    for (region, group) in groups {
        let regional = in_region(sdk, &region);
        let logs = aws_sdk_cloudwatchlogs::Client::new(&regional);
        let cw = aws_sdk_cloudwatch::Client::new(&regional);
        let mut filters = Vec::new();
        let mut pages = logs
            .describe_metric_filters()
            .log_group_name(&group)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| read_error("logs:DescribeMetricFilters", Check::UsageAlerting, &e))?;
            filters.extend(page.metric_filters().iter().cloned());
        }
        for f in filters {
            if !f.filter_pattern().is_some_and(is_root_usage_pattern) {
                continue;
            }
            for m in f.metric_transformations() {
                let found = cw
                    .describe_alarms_for_metric()
                    .metric_name(m.metric_name())
                    .namespace(m.metric_namespace())
                    .send()
                    .await
                    .map_err(|e| {
                        read_error(
                            "cloudwatch:DescribeAlarmsForMetric",
                            Check::UsageAlerting,
                            &e,
                        )
                    })?;
                for alarm in found.metric_alarms() {
                    alarms.push(format!(
                        "{group}/{} -> {}",
                        f.filter_name().unwrap_or("(unnamed filter)"),
                        alarm.alarm_name().unwrap_or("(unnamed alarm)")
                    ));
                }
            }
        }
    }
    Ok(alarms)
}

/// One `LookupEvents` search (one attribute), every page, into `out`.
async fn lookup_events(
    ct: &aws_sdk_cloudtrail::Client,
    key: aws_sdk_cloudtrail::types::LookupAttributeKey,
    value: &str,
    period: Period,
    limiter: &RateLimiter,
    out: &mut Vec<aws_sdk_cloudtrail::types::Event>,
) -> Result<(), ReadError> {
    use aws_sdk_cloudtrail::types::LookupAttribute;
    let attr = LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .map_err(|e| ReadError {
            call: "cloudtrail:LookupEvents".into(),
            check: Check::Logins,
            code: "ConstructionFailure".into(),
            message: e.to_string(),
        })?;
    let mut token: Option<String> = None;
    loop {
        limiter.acquire().await;
        let page = ct
            .lookup_events()
            .lookup_attributes(attr.clone())
            .start_time(to_dt(period.since))
            .end_time(to_dt(period.until))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| read_error("cloudtrail:LookupEvents", Check::Logins, &e))?;
        out.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(()),
        }
    }
}

/// What one CloudTrail event says about root.
#[derive(Debug, PartialEq)]
pub(crate) enum RootEvent {
    /// A root console sign-in (successful or failed).
    Login(RootLogin),
    /// Another use of root: API call, password recovery.
    Use(RootUse),
    /// Not root usage: another principal, an AssumeRoot session, or a service acting for root.
    NotRootUse,
    /// Could not be interpreted: kept raw.
    Unparsed(UnparsedEvent),
}

/// Interprets one CloudTrail event. Root usage follows the CIS metric filter
/// (`userIdentity.type = Root`, no `invokedBy`, not an `AwsServiceEvent`) and drops
/// `AssumeRoot` sessions (`sessionContext.assumedRoot`), which are centralized root access
/// (rootkey's own audit among them), not use of the root user's credentials.
pub(crate) fn classify_event(ev: &aws_sdk_cloudtrail::types::Event, region: &str) -> RootEvent {
    let unparsed = |reason: &str| {
        RootEvent::Unparsed(UnparsedEvent {
            region: region.to_string(),
            event_id: ev.event_id().map(str::to_string),
            reason: reason.to_string(),
            raw: ev.cloud_trail_event().unwrap_or_default().to_string(),
        })
    };
    let Some(text) = ev.cloud_trail_event() else {
        return unparsed("the event carries no CloudTrailEvent");
    };
    let body: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return unparsed(&format!("CloudTrailEvent is not JSON: {e}")),
    };
    let Some(kind) = body.pointer("/userIdentity/type").and_then(|v| v.as_str()) else {
        return unparsed("no userIdentity.type");
    };
    if kind != "Root" {
        return RootEvent::NotRootUse;
    }
    let assumed_root = body
        .pointer("/userIdentity/sessionContext/assumedRoot")
        .is_some_and(|v| v.as_str() == Some("true") || v.as_bool() == Some(true));
    let invoked_by = body.pointer("/userIdentity/invokedBy").is_some();
    let service_event = body.get("eventType").and_then(|v| v.as_str()) == Some("AwsServiceEvent");
    if assumed_root || invoked_by || service_event {
        return RootEvent::NotRootUse;
    }
    let Some(time) = to_time(ev.event_time()).or_else(|| {
        body.get("eventTime")
            .and_then(|t| t.as_str())
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
    }) else {
        return unparsed("no event time");
    };
    let str_at = |ptr: &str| body.pointer(ptr).and_then(|v| v.as_str());
    let name = str_at("/eventName").or(ev.event_name()).unwrap_or("");
    let source = str_at("/eventSource").or(ev.event_source()).unwrap_or("");
    let ip = str_at("/sourceIPAddress").map(str::to_string);
    let yes = |ptr: &str, y: &str| str_at(ptr).map(|v| v == y);
    if name == "ConsoleLogin" {
        return RootEvent::Login(RootLogin {
            time,
            source_ip: ip,
            mfa_used: yes("/additionalEventData/MFAUsed", "Yes"),
            success: yes("/responseElements/ConsoleLogin", "Success"),
            region: region.to_string(),
            event_id: ev.event_id().map(str::to_string),
        });
    }
    if name.is_empty() {
        return unparsed("no eventName");
    }
    // CheckMfa is the second step of a console sign-in, already counted by its ConsoleLogin.
    if source == "signin.amazonaws.com" && name == "CheckMfa" {
        return RootEvent::NotRootUse;
    }
    let kind = if source == "signin.amazonaws.com" && name.starts_with("PasswordRecovery") {
        RootUseKind::PasswordRecovery
    } else {
        RootUseKind::ApiCall
    };
    let error = str_at("/errorCode")
        .map(|c| format!(", failed: {c}"))
        .unwrap_or_default();
    RootEvent::Use(RootUse {
        time,
        kind,
        source: format!("cloudtrail:{region}"),
        detail: format!(
            "{source} {name} from {}{error}",
            ip.as_deref().unwrap_or("unknown IP")
        ),
        event_id: ev.event_id().map(str::to_string),
        credential: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_spaces_calls() {
        let l = RateLimiter::new(Duration::from_millis(20));
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        // Five calls: the first at once, then four intervals.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(80), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    fn ev(json: &str) -> aws_sdk_cloudtrail::types::Event {
        aws_sdk_cloudtrail::types::Event::builder()
            .event_id("e1")
            .event_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .cloud_trail_event(json)
            .build()
    }

    #[test]
    fn root_console_logins_are_logins() {
        let root = ev(
            r#"{"userIdentity":{"type":"Root"},"eventName":"ConsoleLogin","sourceIPAddress":"198.51.100.7","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#,
        );
        let RootEvent::Login(l) = classify_event(&root, "us-east-1") else {
            panic!("a login");
        };
        assert_eq!(l.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(l.success, Some(true));
        assert_eq!(l.mfa_used, Some(false));
        let user = ev(r#"{"userIdentity":{"type":"IAMUser"},"eventName":"ConsoleLogin"}"#);
        assert_eq!(classify_event(&user, "us-east-1"), RootEvent::NotRootUse);
    }

    #[test]
    fn unreadable_events_are_kept_raw() {
        for (json, why) in [
            ("not json", "not JSON"),
            (r#"{"eventName":"ConsoleLogin"}"#, "userIdentity.type"),
            (r#"{"userIdentity":{"type":"Root"}}"#, "eventName"),
        ] {
            let RootEvent::Unparsed(u) = classify_event(&ev(json), "eu-west-1") else {
                panic!("{json} must be kept raw");
            };
            assert_eq!(u.raw, json);
            assert!(u.reason.contains(why), "{}", u.reason);
            assert_eq!(u.event_id.as_deref(), Some("e1"));
        }
    }

    #[test]
    fn assume_root_sessions_and_service_calls_are_not_root_use() {
        for json in [
            r#"{"userIdentity":{"type":"Root","sessionContext":{"assumedRoot":"true"}},"eventName":"ListMFADevices"}"#,
            r#"{"userIdentity":{"type":"Root","invokedBy":"support.amazonaws.com"},"eventName":"DescribeCases"}"#,
            r#"{"userIdentity":{"type":"Root"},"eventType":"AwsServiceEvent","eventName":"Something"}"#,
        ] {
            assert_eq!(
                classify_event(&ev(json), "us-east-1"),
                RootEvent::NotRootUse,
                "{json}"
            );
        }
        let call = ev(
            r#"{"userIdentity":{"type":"Root"},"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"192.0.2.9"}"#,
        );
        let RootEvent::Use(u) = classify_event(&call, "eu-west-1") else {
            panic!("a root API call is root use");
        };
        assert_eq!(u.kind, RootUseKind::ApiCall);
        assert_eq!(u.source, "cloudtrail:eu-west-1");
        assert!(u.detail.contains("ListBuckets") && u.detail.contains("192.0.2.9"));
        let recovery = ev(
            r#"{"userIdentity":{"type":"Root"},"eventSource":"signin.amazonaws.com","eventName":"PasswordRecoveryRequested"}"#,
        );
        let RootEvent::Use(u) = classify_event(&recovery, "us-east-1") else {
            panic!("password recovery is root use");
        };
        assert_eq!(u.kind, RootUseKind::PasswordRecovery);
    }
}
