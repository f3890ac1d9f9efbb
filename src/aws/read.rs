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

/// The task policy that lets an `AssumeRoot` session read, and only read, root credentials.
pub const AUDIT_TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";

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
fn read_error<E, R>(
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

    /// The loaded SDK configuration (for building other clients).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk
    }

    /// Lists every account of the organization (paginated) and its organization facts.
    pub async fn organization(&self) -> Result<(OrganizationFacts, Vec<Target>), AwsError> {
        let orgs = aws_sdk_organizations::Client::new(&self.inner.sdk);
        let mut facts = OrganizationFacts {
            id: None,
            management_account_id: None,
            features: None,
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
            Err(e) => facts.errors.push(read_error(
                "iam:ListOrganizationsFeatures",
                Check::OrganizationFeatures,
                &e,
            )),
        }
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
                });
            }
        }
        Ok((facts, targets))
    }

    /// Describes named accounts for `--account` mode: name and email from Organizations when
    /// the caller may read them (a failure is recorded on the account, not fatal).
    pub async fn describe_targets(&self, ids: &[String]) -> Vec<(Target, Option<ReadError>)> {
        let orgs = aws_sdk_organizations::Client::new(&self.inner.sdk);
        let mut out = Vec::new();
        for id in ids {
            let mut t = Target {
                account_id: id.clone(),
                name: None,
                email: None,
                management: *id == self.inner.caller.account,
            };
            let err = match orgs.describe_account().account_id(id).send().await {
                Ok(d) => {
                    if let Some(a) = d.account() {
                        t.name = a.name().map(str::to_string);
                        t.email = a.email().map(str::to_string);
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
        }
    }

    /// Opens an `AssumeRoot` session in a member account with the audit task policy, through
    /// the regional STS endpoint (the global one rejects AssumeRoot).
    pub async fn assume_root(&self, account_id: &str) -> Result<aws_sdk_iam::Client, ReadError> {
        let sts = aws_sdk_sts::Client::new(&self.inner.sdk);
        let policy = aws_sdk_sts::types::PolicyDescriptorType::builder()
            .arn(AUDIT_TASK_POLICY)
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
        Ok(aws_sdk_iam::Client::new(&with_credentials(
            &self.inner.sdk,
            creds,
        )))
    }

    /// Opens a session in `account_id` through the `--member-role` role.
    async fn assume_member_role(
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
    pub async fn read_account(&self, t: Target, period: Period) -> AccountEvidence {
        let caller = &self.inner.caller;
        let own = t.account_id == caller.account;
        let caller_is_root = own && caller.arn.ends_with(":root");
        let mut p = RootPosture::default();

        // Root-level reads: our own root session, or AssumeRoot into a member.
        let root_iam = if caller_is_root {
            Some(aws_sdk_iam::Client::new(&self.inner.sdk))
        } else if !own && !t.management {
            match self.assume_root(&t.account_id).await {
                Ok(c) => Some(c),
                Err(e) => {
                    p.errors.push(e);
                    None
                }
            }
        } else {
            None
        };
        if let Some(iam) = &root_iam {
            read_root_session(iam, &mut p).await;
        }

        // Account-level reads: our own credentials in our account, else the member role.
        let account_sdk = if own {
            Some(self.inner.sdk.clone())
        } else if let Some(role) = &self.inner.opts.member_role {
            match self.assume_member_role(&t.account_id, role).await {
                Ok(s) => Some(s),
                Err(e) => {
                    p.errors.push(e);
                    None
                }
            }
        } else {
            for check in [
                Check::AccountSummary,
                Check::CredentialReport,
                Check::VirtualMfaDevices,
                Check::Logins,
            ] {
                p.not_read.push(NotRead {
                    check,
                    reason: "outside the AssumeRoot audit policy; pass --member-role NAME".into(),
                });
            }
            None
        };
        if let Some(sdk) = &account_sdk {
            self.read_account_level(sdk, &t.account_id, root_iam.is_some(), period, &mut p)
                .await;
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
        let iam = aws_sdk_iam::Client::new(sdk);
        match iam.get_account_summary().send().await {
            Ok(s) => {
                use aws_sdk_iam::types::SummaryKeyType as K;
                let map = s.summary_map();
                let flag = |k: K| map.and_then(|m| m.get(&k)).is_some_and(|v| *v > 0);
                p.account_summary = Some(AccountSummary {
                    mfa_enabled: flag(K::AccountMfaEnabled),
                    access_keys_present: flag(K::AccountAccessKeysPresent),
                    signing_certificates_present: flag(K::AccountSigningCertificatesPresent),
                });
            }
            Err(e) => p.errors.push(read_error(
                "iam:GetAccountSummary",
                Check::AccountSummary,
                &e,
            )),
        }

        match self.credential_report(&iam).await {
            Ok(report) => match report.root() {
                Ok(Some(row)) => {
                    p.mfa_active = Some(row.mfa_active);
                    if !have_root_session {
                        p.access_keys = Some(row.access_keys);
                        p.signing_certificates = Some(row.signing_certificates);
                        p.password = row.password;
                    }
                    p.password_last_used = row.password_last_used;
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
            Err(e) => p.errors.push(e),
        }
        if let Some(s) = p.account_summary {
            p.mfa_active.get_or_insert(s.mfa_enabled);
        }

        let root_arn = format!("arn:{}:iam::{account_id}:root", self.inner.partition);
        let mut pages = iam
            .list_virtual_mfa_devices()
            .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    for d in page.virtual_mfa_devices() {
                        if d.user().map(|u| u.arn()) != Some(root_arn.as_str()) {
                            continue;
                        }
                        if p.mfa_devices.iter().any(|m| m.serial == d.serial_number()) {
                            continue;
                        }
                        p.mfa_devices.push(MfaDevice {
                            serial: d.serial_number().to_string(),
                            kind: MfaKind::classify(d.serial_number()),
                            enable_date: to_time(d.enable_date()),
                        });
                    }
                }
                Err(e) => {
                    p.errors.push(read_error(
                        "iam:ListVirtualMFADevices",
                        Check::VirtualMfaDevices,
                        &e,
                    ));
                    break;
                }
            }
        }

        let home = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| super::client::FALLBACK_REGION.to_string());
        let mut regions = vec![super::client::FALLBACK_REGION.to_string()];
        if home != regions[0] {
            regions.push(home);
        }
        let limiter = RateLimiter::new(self.inner.opts.cloudtrail_interval);
        let mut logins = Vec::new();
        let mut ok = true;
        for region in &regions {
            let ct = aws_sdk_cloudtrail::Client::new(&in_region(sdk, region));
            if let Err(e) = root_logins(&ct, region, period, &limiter, &mut logins).await {
                p.errors.push(e);
                ok = false;
            }
        }
        logins.sort_by_key(|l| l.time);
        logins.dedup_by(|a, b| a.event_id.is_some() && a.event_id == b.event_id);
        if ok {
            p.logins = Some(logins);
        }
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

/// The root-session reads (`ListMFADevices`, `ListAccessKeys` + `GetAccessKeyLastUsed`,
/// `ListSigningCertificates`, `GetLoginProfile`), each recorded separately on failure.
async fn read_root_session(iam: &aws_sdk_iam::Client, p: &mut RootPosture) {
    match root_mfa_devices(iam).await {
        Ok(devices) => {
            p.mfa_devices = devices;
            p.mfa_devices_complete = true;
        }
        Err(e) => p.errors.push(e),
    }

    match iam.list_access_keys().send().await {
        Ok(out) => {
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
                                key.last_used_region =
                                    Some(u.region().to_string()).filter(|s| s != "N/A");
                            }
                        }
                        Err(e) => p.errors.push(read_error(
                            "iam:GetAccessKeyLastUsed",
                            Check::AccessKeys,
                            &e,
                        )),
                    }
                }
                keys.push(key);
            }
            p.access_keys = Some(keys);
        }
        Err(e) => p
            .errors
            .push(read_error("iam:ListAccessKeys", Check::AccessKeys, &e)),
    }

    match iam.list_signing_certificates().send().await {
        Ok(out) => {
            p.signing_certificates = Some(
                out.certificates()
                    .iter()
                    .map(|c| SigningCertificate {
                        id: Some(c.certificate_id().to_string()),
                        status: match c.status() {
                            aws_sdk_iam::types::StatusType::Active => CredentialStatus::Active,
                            aws_sdk_iam::types::StatusType::Inactive => CredentialStatus::Inactive,
                            _ => CredentialStatus::Unknown,
                        },
                        uploaded: to_time(c.upload_date()),
                    })
                    .collect(),
            )
        }
        Err(e) => p.errors.push(read_error(
            "iam:ListSigningCertificates",
            Check::SigningCertificates,
            &e,
        )),
    }

    match iam.get_login_profile().send().await {
        Ok(_) => p.password = PasswordState::Present,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            p.password = PasswordState::Absent
        }
        Err(e) => p
            .errors
            .push(read_error("iam:GetLoginProfile", Check::Password, &e)),
    }
}

/// Root console sign-ins in one region during `period` (CloudTrail `LookupEvents`,
/// `EventName=ConsoleLogin`, keeping `userIdentity.type == Root`).
async fn root_logins(
    ct: &aws_sdk_cloudtrail::Client,
    region: &str,
    period: Period,
    limiter: &RateLimiter,
    out: &mut Vec<RootLogin>,
) -> Result<(), ReadError> {
    use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
    let attr = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::EventName)
        .attribute_value("ConsoleLogin")
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
        for ev in page.events() {
            if let Some(login) = parse_login(ev, region) {
                out.push(login);
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(()),
        }
    }
}

/// Interprets one CloudTrail event; `None` unless it is a root console login.
fn parse_login(ev: &aws_sdk_cloudtrail::types::Event, region: &str) -> Option<RootLogin> {
    let body: serde_json::Value = serde_json::from_str(ev.cloud_trail_event()?).ok()?;
    if body.pointer("/userIdentity/type")?.as_str()? != "Root" {
        return None;
    }
    let time = to_time(ev.event_time()).or_else(|| {
        body.get("eventTime")
            .and_then(|t| t.as_str())
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
    })?;
    let yes = |ptr: &str, y: &str| body.pointer(ptr).and_then(|v| v.as_str()).map(|v| v == y);
    Some(RootLogin {
        time,
        source_ip: body
            .get("sourceIPAddress")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        mfa_used: yes("/additionalEventData/MFAUsed", "Yes"),
        success: yes("/responseElements/ConsoleLogin", "Success"),
        region: region.to_string(),
        event_id: ev.event_id().map(str::to_string),
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

    #[test]
    fn only_root_console_logins_are_kept() {
        let ev = |json: &str| {
            aws_sdk_cloudtrail::types::Event::builder()
                .event_id("e1")
                .event_time(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .cloud_trail_event(json)
                .build()
        };
        let root = ev(
            r#"{"userIdentity":{"type":"Root"},"sourceIPAddress":"198.51.100.7","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}}"#,
        );
        let l = parse_login(&root, "us-east-1").unwrap();
        assert_eq!(l.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(l.success, Some(true));
        assert_eq!(l.mfa_used, Some(false));
        let user = ev(r#"{"userIdentity":{"type":"IAMUser"}}"#);
        assert!(parse_login(&user, "us-east-1").is_none());
        assert!(parse_login(&ev("not json"), "us-east-1").is_none());
    }
}
