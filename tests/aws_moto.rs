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
        assert!(f.iter().any(|f| f["id"] == "READ-INCOMPLETE"), "{m}");
        assert!(
            !f.iter().any(|f| f["id"] == "ROOT-MFA-MISSING"),
            "unread is not missing: {m}"
        );
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    assert_eq!(saved["format"], "rootkey-aws-evidence/1");
    assert_eq!(saved["accounts"].as_array().unwrap().len(), 4);
}
