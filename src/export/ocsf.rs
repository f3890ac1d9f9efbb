//! OCSF Compliance Finding (class 2003, category Findings), schema 1.3.0: one JSON object per
//! line.

use serde_json::{json, Value};

use super::{clip, Context, ExportError, Record, Resource, Status};
use crate::findings::Severity;

/// The OCSF schema version written in `metadata.version`.
pub const SCHEMA_VERSION: &str = "1.3.0";
/// Compliance Finding.
pub const CLASS_UID: u32 = 2003;
/// Findings.
pub const CATEGORY_UID: u32 = 2;
/// Activity `Create`.
pub const ACTIVITY_ID: u32 = 1;

/// OCSF `severity_id` (1 Informational … 5 Critical).
pub fn severity_id(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// The standards a record's controls belong to (never empty: rootkey's own custody rules when
/// no public control maps).
pub fn standards(r: &Record) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &r.standards {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    if out.is_empty() {
        out.push("rootkey custody controls".into());
    }
    out
}

fn ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// One record as an OCSF Compliance Finding.
pub fn finding(r: &Record, ctx: &Context) -> Value {
    let (status_id, status) = match r.status {
        Status::Failed | Status::Warning => (1, "New"),
        Status::Passed => (4, "Resolved"),
    };
    let (compliance_status_id, compliance_status) = match r.status {
        Status::Passed => (1, "Pass"),
        Status::Warning => (2, "Warning"),
        Status::Failed => (3, "Fail"),
    };
    let resource = match r.resource {
        Resource::RootUser => {
            json!({"type": "AWS::IAM::User", "uid": format!("arn:{}:iam::{}:root", ctx.partition, r.account_id), "name": "root"})
        }
        Resource::Account => json!({"type": "AWS::::Account", "uid": r.account_id}),
        Resource::Custody => json!({"type": "rootkey custody", "uid": clip(&r.subject, 256)}),
    };
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_ID,
        "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
        "time": ms(ctx.now),
        "severity_id": severity_id(r.severity),
        "severity": severity_name(r.severity),
        "status_id": status_id,
        "status": status,
        "message": clip(&r.title, 1024),
        "finding_info": {
            "uid": r.id(),
            "title": clip(&r.title, 1024),
            "desc": clip(&r.description, 4096),
            "types": [r.check],
            "created_time": ms(r.first_seen),
            "first_seen_time": ms(r.first_seen),
            "last_seen_time": ms(ctx.now),
        },
        "compliance": {
            "standards": standards(r),
            "requirements": r.controls,
            "control": r.check,
            "status_id": compliance_status_id,
            "status": compliance_status,
        },
        "cloud": {
            "provider": "AWS",
            "region": ctx.region,
            "account": {"uid": r.account_id, "type": "AWS Account", "type_id": 10},
        },
        "resources": [resource],
        "metadata": {
            "version": SCHEMA_VERSION,
            "product": {
                "name": "rootkey",
                "vendor_name": "rootkey",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
    })
}

/// The OCSF export: JSON lines.
pub fn render(records: &[Record], ctx: &Context) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, &finding(r, ctx)).map_err(|e| ExportError::Encode {
            format: "ocsf",
            detail: e.to_string(),
        })?;
        out.push(b'\n');
    }
    Ok(out)
}
