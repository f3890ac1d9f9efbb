//! The per-file report `rootkey attest verify` prints (JSON shape is part of the CLI contract).

use serde::Serialize;

use super::policy::{Eligibility, Finding};
use super::{AttestationResult, AttestationType, ChallengeCheck, Verdict};

/// One evidence file's verdict and eligibility, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The evidence file.
    pub file: String,
    /// `valid`, `invalid`, `absent` or `platform`.
    pub attestation: &'static str,
    /// Why it is not valid (or what a valid one could not prove), in words.
    pub reason: Option<String>,
    /// The stable reason name for invalid attestations (`BadSignature`, `RpIdMismatch`, ...).
    pub reason_code: Option<&'static str>,
    /// The statement format.
    pub fmt: Option<String>,
    /// Basic (certificate chain) or self attestation, when valid.
    pub attestation_type: Option<AttestationType>,
    /// The AAGUID.
    pub aaguid: Option<String>,
    /// The model name, when known.
    pub model: Option<String>,
    /// The root that anchored the chain (file name or `mds:<description>`).
    pub trust_root: Option<String>,
    /// Where that root came from (`pinned-vendor`, `mds`, `user`).
    pub trust_root_source: Option<super::AnchorSource>,
    /// FIDO certification level from metadata.
    pub certification: Option<&'static str>,
    /// Whether metadata mentions a FIPS certification.
    pub fips: Option<bool>,
    /// Whether the issued challenge was compared.
    pub challenge_checked: bool,
    /// Whether the key is eligible under the policy it was judged by.
    pub eligible: bool,
    /// When eligible, how much the attestation proves about the key being hardware
    /// (`hardware`, `user-root`, `software`); null when not eligible.
    pub assurance: Option<super::Assurance>,
    /// Policy findings, most serious first.
    pub policy_findings: Vec<Finding>,
}

impl FileReport {
    /// Builds the report for one file.
    pub fn new(file: &str, result: &AttestationResult, eligibility: &Eligibility) -> FileReport {
        let valid = match &result.verdict {
            Verdict::Valid(v) => Some(v),
            _ => None,
        };
        let reason = match &result.verdict {
            Verdict::Invalid(r) => Some(r.to_string()),
            Verdict::Absent => Some(
                "attestation format none: nothing about the key's model or hardware is proven"
                    .to_string(),
            ),
            Verdict::Platform => Some(
                "platform authenticator: built into a computer or phone, cannot be kept in a safe"
                    .to_string(),
            ),
            Verdict::Valid(v) if v.kind() == AttestationType::SelfAttestation => Some(
                "self attestation: signature is valid but there is no certificate chain, so the \
                 model and that it is hardware are unproven"
                    .to_string(),
            ),
            Verdict::Valid(_) => None,
        };
        FileReport {
            file: file.to_string(),
            attestation: result.verdict.label(),
            reason,
            reason_code: match &result.verdict {
                Verdict::Invalid(r) => Some(r.code()),
                _ => None,
            },
            fmt: result.fmt.clone(),
            attestation_type: valid.map(|v| v.kind()),
            aaguid: result.aaguid_string(),
            model: eligibility.model.clone(),
            trust_root: valid.and_then(|v| v.trust_root()).map(|r| r.name.clone()),
            trust_root_source: valid.and_then(|v| v.trust_root()).map(|r| r.source),
            certification: valid
                .and_then(|v| v.mds())
                .and_then(|m| m.certification)
                .map(|c| c.as_str()),
            fips: valid.and_then(|v| v.mds()).map(|m| m.fips),
            challenge_checked: result.challenge == ChallengeCheck::Checked,
            eligible: eligibility.eligible(),
            assurance: eligibility.assurance(),
            policy_findings: eligibility.findings.clone(),
        }
    }
}
