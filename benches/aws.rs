//! Organization audit throughput through the real SDK: an injected HTTP client that sleeps 30 ms
//! per call and answers with canned wire responses. Each member is read the full way: AssumeRoot
//! and the member role (AssumeRole) at once, the six root-session reads at once, and the
//! CloudTrail searches (two in us-east-1, spaced 500 ms as LookupEvents' 2/s limit requires, one
//! in the home region) with DescribeTrails. Prints accounts/s at concurrency 1 and at the
//! default, and the peak RSS (VmHWM) of a child process per organization size.

#[path = "../tests/support/replay.rs"]
mod replay;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_iam::config::Credentials;
use replay::*;
use rootkey::aws::{evaluate, AwsOptions, FindingConfig, Reader};

const LATENCY: Duration = Duration::from_millis(30);
const PAGE: usize = 20;

fn account_id(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i)
}

fn handler(n: usize) -> impl Fn(&Call) -> Reply + Send + Sync + 'static {
    move |c: &Call| match c.action.as_str() {
        "GetCallerIdentity" => {
            caller_identity("100000000000", "arn:aws:iam::100000000000:user/auditor")
        }
        "DescribeOrganization" => describe_organization("100000000000"),
        "ListOrganizationsFeatures" => org_features(&["RootCredentialsManagement", "RootSessions"]),
        "ListAccounts" => {
            let start: usize = c
                .form
                .get("json")
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .and_then(|v| v["NextToken"].as_str().and_then(|t| t.parse().ok()))
                .unwrap_or(1);
            let end = (start + PAGE).min(n + 1);
            let ids: Vec<(String, String, String)> = (start..end)
                .map(|i| {
                    (
                        account_id(i),
                        format!("member-{i}"),
                        format!("root+{i}@example.com"),
                    )
                })
                .collect();
            let refs: Vec<(&str, &str, &str)> = ids
                .iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                .collect();
            let next = (end <= n).then(|| end.to_string());
            list_accounts(&refs, next.as_deref())
        }
        "AssumeRoot" => assume_root_ok(
            c.form
                .get("TargetPrincipal")
                .map(String::as_str)
                .unwrap_or(""),
        ),
        "ListMFADevices" => mfa_devices(&[
            "arn:aws:iam::100000000001:u2f/root/rootkey-a-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "arn:aws:iam::100000000001:u2f/root/rootkey-b-BCDEFGHIJKLMNOPQRSTUVWXYZA",
        ]),
        "ListAccessKeys" => access_keys(&[]),
        "ListSigningCertificates" => signing_certs(&[]),
        "GetLoginProfile" => login_profile(false),
        "GetAccountSummary" => account_summary(1, 0, 0),
        "GetUser" => root_user("100000000001", None),
        "AssumeRole" => assume_role_ok(
            c.form
                .get("RoleArn")
                .and_then(|a| a.split(':').nth(4))
                .unwrap_or(""),
        ),
        "DescribeTrails" => describe_trails("100000000000", true),
        "LookupEvents" => lookup_page(vec![], None),
        _ => query_error(400, "UnexpectedCall", &c.action),
    }
}

/// Audits an organization of `n` members; returns (accounts audited, seconds).
fn audit(n: usize, concurrency: usize) -> (usize, f64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let http = client_unlogged(handler(n), Some(LATENCY));
        let opts = AwsOptions {
            region: Some("us-east-1".into()),
            credentials: Some(Credentials::new(CALLER_KEY, "secret", None, None, "bench")),
            http_client: Some(http),
            concurrency,
            member_role: Some("RootkeyAudit".into()),
            ..AwsOptions::default()
        };
        let reader = Reader::connect(opts).await.expect("connect");
        let (org, targets) = reader.organization().await.expect("list accounts");
        let start = Instant::now();
        let period = rootkey::aws::model::Period {
            since: time::OffsetDateTime::now_utc() - time::Duration::days(90),
            until: time::OffsetDateTime::now_utc(),
        };
        let config = FindingConfig::default();
        let mut audited = 0;
        let mut findings = 0;
        // Stream: each account is evaluated and dropped as it arrives, as a large audit should.
        reader
            .read_each(targets, period, |_, account| {
                let ev = rootkey::aws::Evidence {
                    format: rootkey::aws::EVIDENCE_FORMAT.into(),
                    read_at: period.until,
                    caller: reader.caller().clone(),
                    period,
                    organization: Some(org.clone()),
                    accounts: vec![account],
                    scope: Some("organization".into()),
                };
                findings += evaluate(&ev, &config).summary.findings;
                audited += 1;
            })
            .await;
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(audited, n, "every account audited");
        // Members are compliant and every check was made: no finding at all.
        assert_eq!(findings, 0, "every member compliant");
        (audited, secs)
    })
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    if let Ok(n) = std::env::var("ROOTKEY_BENCH_CHILD") {
        let n: usize = n.parse().expect("child size");
        let (done, secs) = audit(n, rootkey::aws::DEFAULT_CONCURRENCY);
        println!(
            "{done} accounts at concurrency {}: {:.1} s, {:.1} accounts/s, VmHWM {} KiB",
            rootkey::aws::DEFAULT_CONCURRENCY,
            secs,
            done as f64 / secs,
            vm_hwm_kib().unwrap_or(0)
        );
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "aws posture benchmark: 12 calls per member (AssumeRoot, AssumeRole, 6 root-session reads, \
         DescribeTrails, 3 LookupEvents), 30 ms each, LookupEvents spaced 500 ms per region"
    );
    let (done, secs) = audit(10, 1);
    println!(
        "{done} accounts at concurrency 1: {:.1} s, {:.2} accounts/s (fewer accounts: 1,000 would take ~{:.0} s)",
        secs,
        done as f64 / secs,
        1000.0 * secs / done as f64
    );
    let exe = std::env::current_exe().expect("own path");
    for n in [1000, 2000] {
        let out = Command::new(&exe)
            .env("ROOTKEY_BENCH_CHILD", n.to_string())
            .output()
            .expect("run child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1);
        }
    }
}
