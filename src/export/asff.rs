//! AWS Security Finding Format (SchemaVersion 2018-10-08): a JSON array of findings, as
//! `BatchImportFindings` takes it. The same types read the file back for `rootkey aws findings
//! import`.

use serde::{Deserialize, Serialize};

use super::{clip, rfc3339, Context, ExportError, Record, Resource};
use crate::findings::Severity;

/// The ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// ASFF limits `Title` to 256 characters.
pub const TITLE_MAX: usize = 256;
/// ASFF limits `Description` to 1024 characters.
pub const DESCRIPTION_MAX: usize = 1024;
/// ASFF limits `Id`, `GeneratorId` and `ProductArn` to 512 characters.
pub const ID_MAX: usize = 512;

/// One ASFF finding (the attributes rootkey writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// Stable per account, check and resource.
    pub id: String,
    /// The default product of the account the finding belongs to.
    pub product_arn: String,
    /// The check.
    pub generator_id: String,
    /// The account.
    pub aws_account_id: String,
    /// `namespace/category/classifier`.
    pub types: Vec<String>,
    /// First seen.
    pub created_at: String,
    /// This run.
    pub updated_at: String,
    /// Severity.
    pub severity: AsffSeverity,
    /// ≤ 256 characters.
    pub title: String,
    /// ≤ 1024 characters.
    pub description: String,
    /// What it is about.
    pub resources: Vec<AsffResource>,
    /// PASSED / FAILED and the related controls.
    pub compliance: AsffCompliance,
    /// `rootkey`.
    pub product_name: String,
    /// `rootkey`.
    pub company_name: String,
    /// Record state: always ACTIVE (a passed check closes through `Compliance.Status`).
    pub record_state: String,
    /// Severity and types as the finding provider judged them. Security Hub keeps these apart
    /// from the top-level `Severity` and `Types`, which an analyst may change with
    /// `BatchUpdateFindings` and a provider should not overwrite on update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<AsffProviderFields>,
}

/// `FindingProviderFields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffProviderFields {
    /// rootkey's severity: `Label` and, as `Original`, rootkey's own name for it.
    pub severity: AsffProviderSeverity,
    /// As the top-level `Types`.
    pub types: Vec<String>,
}

/// `FindingProviderFields.Severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffProviderSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL.
    pub label: String,
    /// rootkey's severity (`info`, `low`, `medium`, `high`, `critical`).
    pub original: String,
}

/// `Severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL.
    pub label: String,
}

/// One of `Resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// `AwsAccount`, `AwsIamUser` or `Other`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The resource's id (ARN for the root user).
    pub id: String,
    /// Partition.
    pub partition: String,
    /// Region.
    pub region: String,
}

/// `Compliance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffCompliance {
    /// PASSED or FAILED.
    pub status: String,
    /// CIS / Security Hub / Prowler control ids.
    #[serde(default)]
    pub related_requirements: Vec<String>,
}

/// ASFF's severity label.
pub fn label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// The default Security Hub product of `account` in `region`: findings of an account are
/// imported into that account under this ARN.
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// ASFF finding types for a check.
fn types(r: &Record) -> Vec<String> {
    let t = if r.check.starts_with("ROOT-LOGIN") || r.check == "ROOT-USED" {
        "Unusual Behaviors/User"
    } else if r.standards.iter().any(|c| c == crate::findings::CIS) {
        "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"
    } else {
        "Software and Configuration Checks/AWS Security Best Practices"
    };
    vec![t.to_string()]
}

/// One record as ASFF.
pub fn finding(r: &Record, ctx: &Context) -> AsffFinding {
    let resource = match r.resource {
        Resource::RootUser => AsffResource {
            kind: "AwsIamUser".into(),
            id: format!("arn:{}:iam::{}:root", ctx.partition, r.account_id),
            partition: ctx.partition.clone(),
            region: ctx.region.clone(),
        },
        Resource::Account => AsffResource {
            kind: "AwsAccount".into(),
            id: format!("AWS::::Account:{}", r.account_id),
            partition: ctx.partition.clone(),
            region: ctx.region.clone(),
        },
        Resource::Custody => AsffResource {
            kind: "Other".into(),
            id: clip(&format!("rootkey-custody:{}", r.subject), ID_MAX),
            partition: ctx.partition.clone(),
            region: ctx.region.clone(),
        },
    };
    AsffFinding {
        schema_version: SCHEMA_VERSION.into(),
        id: clip(&r.id(), ID_MAX),
        product_arn: product_arn(&ctx.partition, &ctx.region, &r.account_id),
        generator_id: clip(&r.check, ID_MAX),
        aws_account_id: r.account_id.clone(),
        types: types(r),
        created_at: rfc3339(r.first_seen),
        updated_at: rfc3339(ctx.now),
        severity: AsffSeverity {
            label: label(r.severity).into(),
        },
        title: clip(&r.title, TITLE_MAX),
        description: clip(&r.description, DESCRIPTION_MAX),
        resources: vec![resource],
        compliance: AsffCompliance {
            status: r.status.as_str().into(),
            related_requirements: r.controls.clone(),
        },
        product_name: "rootkey".into(),
        company_name: "rootkey".into(),
        record_state: "ACTIVE".into(),
        finding_provider_fields: Some(AsffProviderFields {
            severity: AsffProviderSeverity {
                label: label(r.severity).into(),
                original: r.severity.as_str().into(),
            },
            types: types(r),
        }),
    }
}

/// The ASFF export: a JSON array.
pub fn render(records: &[Record], ctx: &Context) -> Result<Vec<u8>, ExportError> {
    let all: Vec<AsffFinding> = records.iter().map(|r| finding(r, ctx)).collect();
    let mut out = serde_json::to_vec_pretty(&all).map_err(|e| ExportError::Encode {
        format: "asff",
        detail: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}
