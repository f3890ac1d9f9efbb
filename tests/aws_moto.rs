//! The real SDK against moto server: organization listing through pagination, caller identity,
//! the credential report, and the real binary with `--endpoint-url`.

mod support;

use std::process::Command;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::Credentials;
use rootkey::aws::credreport::CredentialReport;
use rootkey::aws::{AwsOptions, Reader};
use support::moto::Moto;

const ACCOUNTS: usize = 300;

fn creds() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

async fn sdk(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(creds())
        .load()
        .await
}

/// Test setup only (the product is read-only): an organization with `ACCOUNTS` members.
async fn seed_organization(url: &str) {
    let orgs = aws_sdk_organizations::Client::new(&sdk(url).await);
    orgs.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    for i in 0..ACCOUNTS {
        orgs.create_account()
            .account_name(format!("member-{i:04}"))
            .email(format!("root+{i:04}@example.com"))
            .send()
            .await
            .expect("create account");
    }
}

fn options(url: &str) -> AwsOptions {
    AwsOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.into()),
        credentials: Some(creds()),
        ..AwsOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_listing_identity_and_credential_report_against_moto() {
    let moto = Moto::start();
    seed_organization(&moto.url()).await;

    let reader = Reader::connect(options(&moto.url()))
        .await
        .expect("connect");
    assert_eq!(reader.caller().account.len(), 12);
    assert!(
        reader.caller().arn.starts_with("arn:aws:"),
        "{}",
        reader.caller().arn
    );

    let (org, targets) = reader.organization().await.expect("list the organization");
    // moto pages ListAccounts (20 per page), so this proves the paginator is followed.
    assert_eq!(
        targets.len(),
        ACCOUNTS + 1,
        "members plus the management account"
    );
    let mgmt = org.management_account_id.clone().expect("management id");
    assert_eq!(targets.iter().filter(|t| t.management).count(), 1);
    assert!(targets.iter().any(|t| t.account_id == mgmt));
    assert!(targets
        .iter()
        .any(|t| t.email.as_deref() == Some("root+0299@example.com")));
    // moto lacks ListOrganizationsFeatures: recorded, not fatal.
    assert!(org.features.is_none());
    assert!(org
        .errors
        .iter()
        .any(|e| e.call == "iam:ListOrganizationsFeatures"));

    // Credential report through the real SDK: header parsed, no root row in moto.
    let iam = aws_sdk_iam::Client::new(reader.sdk_config());
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("create user");
    let mut content = None;
    for _ in 0..20 {
        iam.generate_credential_report()
            .send()
            .await
            .expect("generate");
        if let Ok(r) = iam.get_credential_report().send().await {
            content = r.content().map(|b| b.as_ref().to_vec());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let report = CredentialReport::parse(&content.expect("report content")).expect("parse");
    assert_eq!(report.header().len(), 22, "{:?}", report.header());
    assert_eq!(report.header()[0], "user");
    assert!(report.users().contains(&"alice"));
    assert_eq!(report.root().expect("root lookup"), None);
}

#[test]
fn binary_with_endpoint_url_reads_moto() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let orgs = aws_sdk_organizations::Client::new(&sdk(&moto.url()).await);
        orgs.create_organization()
            .send()
            .await
            .expect("create organization");
        for i in 0..3 {
            orgs.create_account()
                .account_name(format!("m{i}"))
                .email(format!("m{i}@example.com"))
                .send()
                .await
                .expect("create account");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence.json");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[aws]\ncompany_domains = []\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rootkey"))
        .args([
            "--json",
            "aws",
            "posture",
            "--organization",
            "--region",
            "us-east-1",
        ])
        .args(["--endpoint-url", &moto.url()])
        .arg("--evidence-out")
        .arg(&evidence)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("ROOTKEY_CONFIG", &config)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    // moto cannot AssumeRoot: every member is READ-INCOMPLETE, so the run has findings (1).
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let accounts = json["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 4);
    let members: Vec<_> = accounts
        .iter()
        .filter(|a| a["management"] == false)
        .collect();
    assert_eq!(members.len(), 3);
    for m in members {
        let f = m["findings"].as_array().unwrap();
        assert!(f.iter().any(|f| f["check"] == "READ-INCOMPLETE"), "{m}");
        assert!(
            !f.iter().any(|f| f["check"] == "ROOT-MFA-MISSING"),
            "unread is not missing: {m}"
        );
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(saved["format"], "rootkey-aws-evidence/1");
    assert_eq!(saved["accounts"].as_array().unwrap().len(), 4);
}

/// Test setup only: a trail delivering to a CloudWatch Logs group, the CIS root-usage metric
/// filter on it and an alarm on its metric, created through the real SDK in moto.
async fn seed_root_usage_alarm(url: &str, with_alarm: bool) {
    let conf = sdk(url).await;
    let s3 = create_bucket(url, "trail-bucket");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&conf);
    logs.create_log_group()
        .log_group_name("trail-logs")
        .send()
        .await
        .expect("log group");
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    ct.create_trail()
        .name("main")
        .s3_bucket_name(s3)
        .is_multi_region_trail(true)
        .cloud_watch_logs_log_group_arn(
            "arn:aws:logs:us-east-1:123456789012:log-group:trail-logs:*",
        )
        .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/trail-to-logs")
        .send()
        .await
        .expect("trail");
    logs.put_metric_filter()
        .log_group_name("trail-logs")
        .filter_name("root-usage")
        .filter_pattern(
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
        )
        .metric_transformations(
            aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                .metric_name("RootAccountUsage")
                .metric_namespace("CISBenchmark")
                .metric_value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("metric filter");
    if with_alarm {
        // Not reached in moto 5.2.5 (no CloudWatch CBOR); kept for a moto that serves it.
        aws_sdk_cloudwatch::Client::new(&conf)
            .put_metric_alarm()
            .alarm_name("root-usage")
            .metric_name("RootAccountUsage")
            .namespace("CISBenchmark")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .send()
            .await
            .expect("alarm");
    }
}

/// Test setup only: the trail's S3 bucket, made with one path-style `PUT` (rootkey has no S3
/// client; moto does not check SigV4 signatures, the credential scope routes it to S3).
fn create_bucket(url: &str, name: &'static str) -> &'static str {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to moto");
    let req = format!(
        "PUT /{name} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_log_group_and_root_usage_metric_filter_are_read_from_moto() {
    // moto 5.2.5 serves CloudTrail and CloudWatch Logs but not CloudWatch's RPC v2 CBOR
    // protocol: the alarm lookup is replayed in aws_replay; here the trail and the metric
    // filter come from moto, and reaching DescribeAlarmsForMetric proves the filter matched.
    let moto = Moto::start();
    seed_root_usage_alarm(&moto.url(), false).await;
    let reader = Reader::connect(options(&moto.url()))
        .await
        .expect("connect");
    let me = reader.caller().account.clone();
    let ev = reader
        .read(
            None,
            vec![rootkey::aws::Target {
                account_id: me,
                name: None,
                email: None,
                management: true,
                status: None,
            }],
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
            || {},
        )
        .await;
    let p = &ev.accounts[0].posture;
    let a = p.usage_alerting.as_ref().expect("trails read");
    assert!(a.organization_trails.is_empty());
    assert_eq!(a.trails_to_cloudwatch_logs.len(), 1, "{a:?}");
    assert!(
        p.errors
            .iter()
            .any(|e| e.call == "cloudwatch:DescribeAlarmsForMetric"
                && e.check == rootkey::aws::model::Check::UsageAlerting),
        "the CIS filter matched, so its alarm was looked up: {:?}",
        p.errors
    );
    assert!(
        !p.errors
            .iter()
            .any(|e| e.call == "logs:DescribeMetricFilters"),
        "{:?}",
        p.errors
    );
}
