//! Sending ASFF findings to AWS Security Hub with `BatchImportFindings`: at most 100 per call,
//! and each account's findings from inside that account, because the default product
//! (`product/ACCOUNT/default`) accepts only findings whose `AwsAccountId` is the caller's.
//! The caller's own findings go directly; a member's go through `--member-role` or are reported
//! as skipped.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{Check, ReadError};
use super::read::{read_error, Reader};
use crate::export::asff::AsffFinding;

/// `BatchImportFindings` takes at most this many findings per call.
pub const BATCH_MAX: usize = 100;

/// A finding Security Hub refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    /// The finding's `Id`.
    pub id: String,
    /// Security Hub's error code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// What happened to one account's findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountImport {
    /// The account (`AwsAccountId`).
    pub account_id: String,
    /// Findings for it in the file.
    pub findings: usize,
    /// `BatchImportFindings` calls made.
    pub calls: usize,
    /// Findings Security Hub accepted.
    pub imported: usize,
    /// Findings Security Hub refused, one by one.
    pub failed: Vec<Failed>,
    /// Why nothing was sent (no session in the account, a call that failed as a whole).
    pub error: Option<String>,
}

/// Splits findings by account, in account order.
pub fn by_account(findings: Vec<AsffFinding>) -> BTreeMap<String, Vec<AsffFinding>> {
    let mut out: BTreeMap<String, Vec<AsffFinding>> = BTreeMap::new();
    for f in findings {
        out.entry(f.aws_account_id.clone()).or_default().push(f);
    }
    out
}

/// The SDK's type for one finding.
pub fn to_sdk(f: &AsffFinding) -> aws_sdk_securityhub::types::AwsSecurityFinding {
    use aws_sdk_securityhub::types as t;
    let mut b = t::AwsSecurityFinding::builder()
        .schema_version(&f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .severity(
            t::Severity::builder()
                .label(t::SeverityLabel::from(f.severity.label.as_str()))
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .compliance(
            t::Compliance::builder()
                .status(t::ComplianceStatus::from(f.compliance.status.as_str()))
                .set_related_requirements(Some(f.compliance.related_requirements.clone()))
                .build(),
        )
        .product_name(&f.product_name)
        .company_name(&f.company_name)
        .record_state(t::RecordState::from(f.record_state.as_str()));
    for ty in &f.types {
        b = b.types(ty);
    }
    if let Some(p) = &f.finding_provider_fields {
        b = b.finding_provider_fields(
            t::FindingProviderFields::builder()
                .severity(
                    t::FindingProviderSeverity::builder()
                        .label(t::SeverityLabel::from(p.severity.label.as_str()))
                        .original(&p.severity.original)
                        .build(),
                )
                .set_types(Some(p.types.clone()))
                .build(),
        );
    }
    for r in &f.resources {
        b = b.resources(
            t::Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(t::Partition::from(r.partition.as_str()))
                .region(&r.region)
                .build(),
        );
    }
    b.build()
}

/// Imports one account's findings with `client`, 100 per call.
pub async fn import_with(
    client: &aws_sdk_securityhub::Client,
    account_id: &str,
    findings: &[AsffFinding],
) -> AccountImport {
    let mut out = AccountImport {
        account_id: account_id.to_string(),
        findings: findings.len(),
        calls: 0,
        imported: 0,
        failed: Vec::new(),
        error: None,
    };
    for chunk in findings.chunks(BATCH_MAX) {
        out.calls += 1;
        let sent = client
            .batch_import_findings()
            .set_findings(Some(chunk.iter().map(to_sdk).collect()))
            .send()
            .await;
        match sent {
            Ok(r) => {
                out.imported += usize::try_from(r.success_count().unwrap_or(0)).unwrap_or(0);
                out.failed
                    .extend(r.failed_findings().iter().map(|e| Failed {
                        id: e.id().unwrap_or_default().to_string(),
                        code: e.error_code().unwrap_or_default().to_string(),
                        message: e.error_message().unwrap_or_default().to_string(),
                    }));
            }
            Err(e) => {
                let e = read_error("securityhub:BatchImportFindings", Check::Session, &e);
                out.error = Some(format!("{} failed ({}): {}", e.call, e.code, e.message));
                break;
            }
        }
    }
    out
}

/// Imports every account's findings: the caller's own directly, a member's through
/// `member_role` (else skipped, with the reason).
pub async fn import(
    reader: &Reader,
    findings: Vec<AsffFinding>,
    member_role: Option<&str>,
) -> Vec<AccountImport> {
    let own = reader.caller().account.clone();
    let mut out = Vec::new();
    for (account, list) in by_account(findings) {
        let config = if account == own {
            Ok(reader.sdk_config().clone())
        } else {
            match member_role {
                Some(role) => reader
                    .assume_member_role(&account, role)
                    .await
                    .map_err(|e: ReadError| format!("{} failed ({}): {}", e.call, e.code, e.message)),
                None => Err(format!(
                    "the default product imports only findings of the calling account; pass --member-role NAME to import {account}'s from inside it"
                )),
            }
        };
        match config {
            Ok(c) => {
                let client = aws_sdk_securityhub::Client::new(&c);
                out.push(import_with(&client, &account, &list).await);
            }
            Err(e) => out.push(AccountImport {
                account_id: account,
                findings: list.len(),
                calls: 0,
                imported: 0,
                failed: Vec::new(),
                error: Some(e),
            }),
        }
    }
    out
}
