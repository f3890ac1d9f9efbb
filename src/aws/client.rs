//! Building the SDK configuration: the standard credential chain, AWS CLI-style overrides, adaptive
//! retries, and the hooks tests and benchmarks need (static credentials, an injected HTTP client).
//! Nothing here runs unless an AWS command asks for it, so other commands never pay for it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider, SharedHttpClient};

/// Region used when the chain names none: IAM and Organizations are global, and CloudTrail sign-in
/// events land in us-east-1, so it is the one region every read can use.
pub const FALLBACK_REGION: &str = "us-east-1";

/// Default number of accounts read at once. Each account's read is latency-bound (about 0.6 s:
/// two STS sessions, the root-session reads, and CloudTrail's LookupEvents spaced 500 ms for its
/// 2 requests/s per account and region). IAM and CloudTrail limits are per account, so they do
/// not add up across members; what is shared is the caller's STS rate (two session calls per
/// member) and Organizations (listing only). 64 reads about 100 accounts/s, i.e. about
/// 200 STS calls/s from the caller; see docs/aws-scale.md.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How to reach AWS. Built by the CLI from `AwsArgs`; tests and benches fill the hooks.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Named profile (`--profile`), else the chain's choice (`AWS_PROFILE`, `default`).
    pub profile: Option<String>,
    /// Region (`--region`), else the chain's, else [`FALLBACK_REGION`].
    pub region: Option<String>,
    /// One endpoint for every service (`--endpoint-url`), as the AWS CLI does.
    pub endpoint_url: Option<String>,
    /// Accounts read at once (at least 1).
    pub concurrency: usize,
    /// Role assumed in each member for account-level reads (`--member-role`).
    pub member_role: Option<String>,
    /// Static credentials instead of the chain (tests).
    pub credentials: Option<Credentials>,
    /// An HTTP client instead of the default HTTPS one (replay tests, benchmarks).
    pub http_client: Option<SharedHttpClient>,
    /// Retry policy; adaptive by default.
    pub retry: RetryConfig,
    /// Wait between credential report polls.
    pub report_poll_interval: Duration,
    /// Minimum spacing between CloudTrail `LookupEvents` calls (its limit is ~2/s).
    pub cloudtrail_interval: Duration,
    /// A CloudTrail Lake event data store (ARN or id) to search for every account's root
    /// activity with one query (`--cloudtrail-lake`).
    pub cloudtrail_lake: Option<String>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            concurrency: DEFAULT_CONCURRENCY,
            member_role: None,
            credentials: None,
            http_client: None,
            retry: RetryConfig::adaptive().with_max_attempts(5),
            report_poll_interval: Duration::from_secs(2),
            cloudtrail_interval: Duration::from_millis(500),
            cloudtrail_lake: None,
        }
    }
}

/// Loads the shared SDK configuration from the standard chain and the overrides.
pub async fn load_sdk_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).retry_config(opts.retry.clone());
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some(c) = &opts.credentials {
        loader = loader.credentials_provider(c.clone());
    }
    if let Some(h) = &opts.http_client {
        loader = loader.http_client(h.clone());
    }
    let mut sdk = loader.load().await;
    // `-v`: report every call (src/aws/trace.rs).
    if crate::verbose::level() > 0 {
        let http = super::trace::traced(sdk.http_client());
        sdk = sdk.to_builder().http_client(http).build();
    }
    if sdk.region().is_none() {
        sdk.to_builder()
            .region(Region::new(FALLBACK_REGION))
            .build()
    } else {
        sdk
    }
}

/// The same configuration with other credentials (an AssumeRoot or AssumeRole session).
pub fn with_credentials(sdk: &SdkConfig, creds: Credentials) -> SdkConfig {
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build()
}

/// The same configuration in another region (CloudTrail is regional).
pub fn in_region(sdk: &SdkConfig, region: &str) -> SdkConfig {
    sdk.to_builder()
        .region(Region::new(region.to_string()))
        .build()
}
