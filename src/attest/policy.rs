//! Eligibility policy: may this verified key guard a root account, or approve custody actions?
//!
//! Two policies, one per [`KeyPurpose`]: the `[policy]` section of the config file is the policy
//! for the keys that guard root accounts, and its `[policy.custodian]` sub-table is the policy for
//! the custodians' own keys (the ones that approve checkouts, check-ins and audits). `--policy
//! FILE` takes the same shape, either bare or under `[policy]`, with or without `[custodian]`.
//!
//! ```toml
//! [policy]
//! allowed_formats = ["packed", "fido-u2f"]   # default
//! allowed_aaguids = []                       # empty: any model
//! allowed_models = []                        # substrings of model names; empty: any
//! min_certification = "L1"                   # FIDO_CERTIFIED level; unset: not required
//! require_pin = true                         # default
//! allow_self_attestation = false             # default
//! allow_software = false                     # default: software authenticators are denied
//! trusted_roots = ["rootkey-soft-ca.pem"]    # user roots: PEM paths or SHA-256 fingerprints
//! vulnerable_firmware = "deny"               # or "warn"
//!
//! [policy.custodian]                         # custodians' keys: same fields, same defaults
//! require_pin = true
//! ```
//!
//! `allow_software = true` lets a software authenticator (rootkey's own soft key, or any key whose
//! AAGUID, model or attestation certificate says "NOT HARDWARE") be eligible with a warning
//! instead of being denied; it is for demos and tests only, since a software key's secrets can be
//! copied with its state file. Every report names the result's [`super::Assurance`] (`hardware`,
//! `user-root` or `software`) so an eligible software key is never taken for hardware downstream.
//!
//! The two tables are independent: `[policy.custodian]` does **not** inherit from `[policy]`,
//! and `[policy]` does not read `[policy.custodian]`. A field left out of either takes the
//! built-in default above, never the other table's value, so a setting written to loosen root
//! keys (say `require_pin = false` or `allow_software = true`) cannot silently loosen custodian
//! keys, and the other way round. Write a setting in both tables when both should have it.
//!
//! The operator's description of every field is `docs/policy.md`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::assurance::{self, Assurance};
use super::firmware::{self, FirmwareStatus};
use super::{AnchorSource, AttestationResult, AttestationType, Certification, ChallengeCheck};
use super::{Verdict, VerifiedAttestation};
use crate::webauthn::models::{self, Family};
use crate::webauthn::DeviceFacts;

/// What to do about known-vulnerable firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirmwareAction {
    /// The key is not eligible.
    #[default]
    Deny,
    /// Eligible, with a warning.
    Warn,
}

fn default_formats() -> Vec<String> {
    vec!["packed".into(), "fido-u2f".into()]
}

fn yes() -> bool {
    true
}

/// The `[policy]` section as written in TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Attestation formats accepted.
    #[serde(default = "default_formats")]
    pub allowed_formats: Vec<String>,
    /// AAGUIDs accepted (empty: any).
    #[serde(default)]
    pub allowed_aaguids: Vec<String>,
    /// Model-name substrings accepted, case-insensitive (empty: any).
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// Minimum FIDO certification level (`L1`, `L2`, `L3plus`, ...), from metadata.
    #[serde(default)]
    pub min_certification: Option<String>,
    /// Whether the key must have a PIN set.
    #[serde(default = "yes")]
    pub require_pin: bool,
    /// Whether self attestation (no certificate chain) may be eligible.
    #[serde(default)]
    pub allow_self_attestation: bool,
    /// Whether a software authenticator may be eligible (with a warning); demos and tests only.
    #[serde(default)]
    pub allow_software: bool,
    /// User roots trusted for eligibility: PEM file paths or SHA-256 fingerprints (hex).
    #[serde(default)]
    pub trusted_roots: Vec<String>,
    /// Known-vulnerable firmware: `deny` or `warn`.
    #[serde(default)]
    pub vulnerable_firmware: FirmwareAction,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            allowed_formats: default_formats(),
            allowed_aaguids: Vec::new(),
            allowed_models: Vec::new(),
            min_certification: None,
            require_pin: true,
            allow_self_attestation: false,
            allow_software: false,
            trusted_roots: Vec::new(),
            vulnerable_firmware: FirmwareAction::Deny,
        }
    }
}

/// Which key a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// A key that guards an AWS account's root user: the `[policy]` table.
    Root,
    /// A custodian's own key, which approves custody actions: the `[policy.custodian]` table.
    Custodian,
}

impl KeyPurpose {
    /// `root` or `custodian`, as `--purpose` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Root => "root",
            KeyPurpose::Custodian => "custodian",
        }
    }

    /// The config table this purpose's policy is read from.
    pub fn table(self) -> &'static str {
        match self {
            KeyPurpose::Root => "policy",
            KeyPurpose::Custodian => "policy.custodian",
        }
    }

    /// This purpose's half of a `(root, custodian)` pair, as [`configs_from_table`] returns it.
    pub fn pick<T>(self, (root, custodian): (T, T)) -> T {
        match self {
            KeyPurpose::Root => root,
            KeyPurpose::Custodian => custodian,
        }
    }
}

/// The name of the custodian sub-table inside `[policy]`.
pub const CUSTODIAN_TABLE: &str = "custodian";

/// Why a policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "policy min_certification {0:?} is not a FIDO level (L1, L1plus, L2, L2plus, L3, L3plus)"
    )]
    Certification(String),
    #[error("policy allowed_aaguids entry {0:?} is not a UUID")]
    Aaguid(String),
    #[error("policy file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("policy file {path} is not valid TOML in the [{table}] shape: {source}")]
    Toml {
        path: String,
        /// `policy` or `policy.custodian`.
        table: &'static str,
        source: Box<toml::de::Error>,
    },
    #[error("[{table}] is not in the policy shape: {source}")]
    Table {
        /// `policy` or `policy.custodian`.
        table: &'static str,
        source: Box<toml::de::Error>,
    },
}

/// Reads the `[policy]` table: the root-key policy and the `[policy.custodian]` policy.
///
/// Neither inherits from the other: a field missing from a table takes the built-in default
/// ([`PolicyConfig::default`]), never the other table's value. A missing `[policy]` gives two
/// default policies; a missing `[policy.custodian]` gives the default custodian policy.
pub fn configs_from_table(
    policy: Option<&toml::Value>,
) -> Result<(PolicyConfig, PolicyConfig), PolicyError> {
    let root_err = |source| PolicyError::Table {
        table: KeyPurpose::Root.table(),
        source: Box::new(source),
    };
    let mut table = match policy {
        None => return Ok((PolicyConfig::default(), PolicyConfig::default())),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(other) => {
            return Err(root_err(serde::de::Error::custom(format!(
                "expected a table, found {}",
                other.type_str()
            ))))
        }
    };
    let custodian = table.remove(CUSTODIAN_TABLE);
    let root = PolicyConfig::deserialize(toml::Value::Table(table)).map_err(root_err)?;
    let custodian = match custodian {
        None => PolicyConfig::default(),
        Some(v) => PolicyConfig::deserialize(v).map_err(|source| PolicyError::Table {
            table: KeyPurpose::Custodian.table(),
            source: Box::new(source),
        })?,
    };
    Ok((root, custodian))
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    allowed_formats: Vec<String>,
    allowed_aaguids: Vec<[u8; 16]>,
    allowed_models: Vec<String>,
    min_certification: Option<Certification>,
    require_pin: bool,
    allow_self_attestation: bool,
    allow_software: bool,
    trusted_root_fingerprints: BTreeSet<String>,
    vulnerable_firmware: FirmwareAction,
}

impl Default for Policy {
    fn default() -> Self {
        // Built from the default config, so the two cannot disagree; that config holds no
        // AAGUID or certification text to reject, which the tests exercise on every run.
        Policy::from_config(&PolicyConfig::default())
            .expect("the default policy configuration is valid")
    }
}

impl Policy {
    /// Checks a policy section. Path entries of `trusted_roots` are resolved by the caller (they
    /// must also be loaded as anchors) and added with [`Policy::trust_root`].
    pub fn from_config(c: &PolicyConfig) -> Result<Policy, PolicyError> {
        let min_certification = match &c.min_certification {
            None => None,
            Some(s) => {
                Some(Certification::parse(s).ok_or_else(|| PolicyError::Certification(s.clone()))?)
            }
        };
        let allowed_aaguids = c
            .allowed_aaguids
            .iter()
            .map(|a| {
                uuid::Uuid::parse_str(a)
                    .map(|u| *u.as_bytes())
                    .map_err(|_| PolicyError::Aaguid(a.clone()))
            })
            .collect::<Result<_, _>>()?;
        let trusted_root_fingerprints = c
            .trusted_roots
            .iter()
            .filter(|r| is_fingerprint(r))
            .map(|r| r.to_ascii_lowercase())
            .collect();
        Ok(Policy {
            allowed_formats: c.allowed_formats.clone(),
            allowed_aaguids,
            allowed_models: c.allowed_models.iter().map(|m| m.to_lowercase()).collect(),
            min_certification,
            require_pin: c.require_pin,
            allow_self_attestation: c.allow_self_attestation,
            allow_software: c.allow_software,
            trusted_root_fingerprints,
            vulnerable_firmware: c.vulnerable_firmware,
        })
    }

    /// Reads a `--policy FILE` for root keys (see [`Policy::configs_from_file`]).
    pub fn config_from_file(path: &std::path::Path) -> Result<PolicyConfig, PolicyError> {
        Ok(Policy::configs_from_file(path)?.0)
    }

    /// Reads a `--policy FILE` for keys of `purpose` (see [`Policy::configs_from_file`]).
    pub fn config_from_file_for(
        path: &std::path::Path,
        purpose: KeyPurpose,
    ) -> Result<PolicyConfig, PolicyError> {
        Ok(purpose.pick(Policy::configs_from_file(path)?))
    }

    /// Reads a `--policy FILE`: the same shape as `[policy]` (a `[custodian]` sub-table
    /// included), either bare or under `[policy]`; returns the root-key and custodian policies.
    pub fn configs_from_file(
        path: &std::path::Path,
    ) -> Result<(PolicyConfig, PolicyConfig), PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|source| PolicyError::Toml {
            path: path.display().to_string(),
            table: KeyPurpose::Root.table(),
            source: Box::new(source),
        })?;
        let section = match table.get("policy") {
            Some(toml::Value::Table(t)) if table.len() == 1 => t.clone(),
            _ => table,
        };
        configs_from_table(Some(&toml::Value::Table(section))).map_err(|e| match e {
            PolicyError::Table { table, source } => PolicyError::Toml {
                path: path.display().to_string(),
                table,
                source,
            },
            other => other,
        })
    }

    /// Trusts a user root (by SHA-256 fingerprint of its DER) for eligibility.
    pub fn trust_root(&mut self, fingerprint: &str) {
        self.trusted_root_fingerprints
            .insert(fingerprint.to_ascii_lowercase());
    }
}

/// Whether a `trusted_roots` entry is a fingerprint rather than a path.
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Eligible, but someone should look.
    Warn,
    /// Not eligible.
    Deny,
}

/// One policy finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier (`vulnerable-firmware`, `self-attestation`, ...).
    pub id: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// What it means and what to do.
    pub message: String,
}

/// The policy decision on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// Findings, most serious first.
    pub findings: Vec<Finding>,
    /// The model name, when known.
    pub model: Option<String>,
    approved: Option<VerifiedAttestation>,
    assurance: Option<Assurance>,
}

impl Eligibility {
    /// Whether the key may guard a root account.
    pub fn eligible(&self) -> bool {
        self.approved.is_some()
    }
    /// The verified attestation, only when eligible.
    pub fn approved(&self) -> Option<&VerifiedAttestation> {
        self.approved.as_ref()
    }
    /// Consumes the decision, yielding the verified attestation only when eligible.
    pub fn into_approved(self) -> Option<VerifiedAttestation> {
        self.approved
    }
    /// How much the approved attestation proves about the key being hardware; None when the key
    /// is not eligible. The verifier's [`VerifiedAttestation::assurance`], made `Software` when
    /// the key's own statements (device facts) say it is a software authenticator: software wins
    /// over a user root and over a vendor root.
    pub fn assurance(&self) -> Option<Assurance> {
        self.approved.as_ref().and(self.assurance)
    }
}

/// The model name for a result: rootkey's table, else metadata.
pub fn model_name(result: &AttestationResult) -> Option<String> {
    let by_table = result
        .aaguid
        .as_ref()
        .filter(|a| **a != [0u8; 16])
        .and_then(models::by_aaguid)
        .map(|m| m.name.to_string());
    by_table.or_else(|| match &result.verdict {
        Verdict::Valid(v) => v
            .mds()
            .map(|m| m.description.clone())
            .filter(|d| !d.is_empty()),
        _ => None,
    })
}

/// Decides whether a verified key is eligible under `policy` (device facts are the key's own,
/// unattested statements: firmware version and PIN state).
pub fn evaluate(
    result: &AttestationResult,
    device: Option<&DeviceFacts>,
    policy: &Policy,
) -> Eligibility {
    let mut findings = Vec::new();
    let mut add = |id, severity, message: String| {
        findings.push(Finding {
            id,
            severity,
            message,
        })
    };
    let model = model_name(result);
    if result.challenge == ChallengeCheck::NotChecked {
        add(
            "challenge-not-checked",
            Severity::Info,
            "no issued challenge was supplied, so the client data challenge was not checked \
             (replay of an old registration is not excluded)"
                .into(),
        );
    }
    let fmt = result.fmt.clone().unwrap_or_default();
    let verified = match &result.verdict {
        Verdict::Invalid(r) => {
            add(
                "attestation-invalid",
                Severity::Deny,
                format!("attestation failed verification: {r}"),
            );
            None
        }
        Verdict::Absent => {
            add(
                "attestation-absent",
                Severity::Deny,
                "attestation format none: the key proved nothing about its model or that it is \
                 hardware; register it again with attestation requested (direct)"
                    .into(),
            );
            None
        }
        Verdict::Platform => {
            add(
                "platform-authenticator",
                Severity::Deny,
                format!(
                    "{fmt} attestation comes from a platform authenticator (built into a laptop \
                     or phone), which cannot be kept in a safe; use a roaming hardware key"
                ),
            );
            None
        }
        Verdict::Valid(v) => Some(v),
    };
    // A missing format is not a loophole: only listed formats pass.
    if !policy.allowed_formats.contains(&fmt) {
        add(
            "format-not-allowed",
            Severity::Deny,
            format!(
                "attestation format {fmt:?} is not in the policy's allowed_formats {:?}",
                policy.allowed_formats
            ),
        );
    }

    if let Some(v) = verified {
        check_verified(v, model.as_deref(), result, policy, &mut add);
    }
    let software = verified
        .and_then(|v| {
            assurance::software_in_attestation(&v.aaguid(), model.as_deref(), v.leaf_subject())
        })
        .or_else(|| device.and_then(assurance::software_in_device));
    if let Some(why) = &software {
        check_software(why, policy, &mut add);
    }
    check_device(result, device, policy, &mut add);

    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let denied = findings.iter().any(|f| f.severity == Severity::Deny);
    Eligibility {
        findings,
        model,
        approved: match (&result.verdict, denied) {
            (Verdict::Valid(v), false) => Some(v.as_ref().clone()),
            _ => None,
        },
        assurance: verified.map(|v| match software {
            Some(_) => Assurance::Software,
            None => v.assurance(),
        }),
    }
}

fn check_software(
    why: &str,
    policy: &Policy,
    add: &mut impl FnMut(&'static str, Severity, String),
) {
    if policy.allow_software {
        add(
            "software-authenticator",
            Severity::Warn,
            format!(
                "this is a software authenticator, NOT HARDWARE ({why}), eligible only because \
                 the policy sets allow_software = true; its secrets can be copied with its state \
                 file, so never let it guard a real root account or stand for a custodian"
            ),
        );
    } else {
        add(
            "software-authenticator",
            Severity::Deny,
            format!(
                "this is a software authenticator, NOT HARDWARE ({why}): its secrets can be \
                 copied with its state file, so it proves neither a physical key nor a person; \
                 use a hardware key, and set allow_software = true only for demos and tests"
            ),
        );
    }
}

fn check_verified(
    v: &VerifiedAttestation,
    model: Option<&str>,
    result: &AttestationResult,
    policy: &Policy,
    add: &mut impl FnMut(&'static str, Severity, String),
) {
    if v.kind() == AttestationType::SelfAttestation {
        let sev = if policy.allow_self_attestation {
            Severity::Warn
        } else {
            Severity::Deny
        };
        add(
            "self-attestation",
            sev,
            "self attestation: the credential signed its own statement, with no certificate \
             chain, so neither the model nor that the key is hardware can be proven (platform \
             authenticators such as Touch ID and software keys attest this way)"
                .into(),
        );
    }
    if let Some(root) = v.trust_root() {
        if root.source == AnchorSource::User {
            if policy.trusted_root_fingerprints.contains(&root.fingerprint) {
                add(
                    "user-trusted-root",
                    Severity::Warn,
                    format!(
                        "chain anchored in {}, a root you trusted explicitly (not a pinned vendor \
                         root or FIDO metadata)",
                        root.name
                    ),
                );
            } else {
                add(
                    "untrusted-user-root",
                    Severity::Deny,
                    format!(
                        "chain anchored in {} (sha256 {}), which is neither a pinned vendor root \
                         nor in FIDO metadata; list it in policy.trusted_roots to accept it",
                        root.name, root.fingerprint
                    ),
                );
            }
        }
    }
    if !policy.allowed_aaguids.is_empty() && !policy.allowed_aaguids.contains(&v.aaguid()) {
        add(
            "aaguid-not-allowed",
            Severity::Deny,
            format!(
                "AAGUID {} is not in the policy's allowed_aaguids",
                result.aaguid_string().unwrap_or_default()
            ),
        );
    }
    if !policy.allowed_models.is_empty() {
        let ok = model.is_some_and(|m| {
            let m = m.to_lowercase();
            policy.allowed_models.iter().any(|a| m.contains(a))
        });
        if !ok {
            add(
                "model-not-allowed",
                Severity::Deny,
                format!(
                    "model {} is not in the policy's allowed_models",
                    model.unwrap_or("(unknown)")
                ),
            );
        }
    }
    if let Some(m) = v.mds() {
        for status in &m.compromised {
            add(
                "mds-compromised",
                Severity::Deny,
                format!("FIDO metadata reports {status} for {}", m.description),
            );
        }
        if m.blob_stale {
            add(
                "mds-stale",
                Severity::Warn,
                "the FIDO metadata BLOB is past its nextUpdate; fetch a fresh one".into(),
            );
        }
    }
    if let Some(min) = policy.min_certification {
        match v.mds().and_then(|m| m.certification) {
            Some(level) if level >= min => {}
            Some(level) => add(
                "certification-below-minimum",
                Severity::Deny,
                format!(
                    "certified {} but policy requires {}",
                    level.as_str(),
                    min.as_str()
                ),
            ),
            None => add(
                "certification-unknown",
                Severity::Deny,
                format!(
                    "policy requires {} but no FIDO metadata certifies this model (pass --mds)",
                    min.as_str()
                ),
            ),
        }
    }
}

fn check_device(
    result: &AttestationResult,
    device: Option<&DeviceFacts>,
    policy: &Policy,
    add: &mut impl FnMut(&'static str, Severity, String),
) {
    if policy.require_pin {
        match device.and_then(|d| d.pin_set) {
            Some(true) => {}
            Some(false) => add(
                "pin-not-set",
                Severity::Deny,
                "the key has no PIN; set one (rootkey keys set-pin) before enrolling it".into(),
            ),
            // The policy asks for a PIN; "cannot tell" is not "yes" (fail closed).
            None => add(
                "pin-unknown",
                Severity::Deny,
                "cannot tell whether the key has a PIN (the evidence does not say): produce the \
                 evidence with `rootkey keys attest`, which records it, after `rootkey keys \
                 set-pin`; or set require_pin = false in the policy for evidence that cannot \
                 carry it"
                    .into(),
            ),
        }
    }
    // Family from the attested AAGUID; a U2F attestation has none, so fall back to what the key
    // reported (firmware is self-reported anyway).
    let family: Option<Family> = result
        .aaguid
        .filter(|a| *a != [0u8; 16])
        .and_then(|a| models::by_aaguid(&a))
        .or_else(|| {
            device
                .and_then(|d| d.aaguid.as_deref())
                .and_then(models::by_aaguid_str)
        })
        .map(|m| m.family);
    let fw = device.and_then(|d| d.firmware_version.as_deref());
    match firmware::check(family, fw) {
        FirmwareStatus::Unaffected => {}
        FirmwareStatus::Vulnerable(adv) => add(
            "vulnerable-firmware",
            match policy.vulnerable_firmware {
                FirmwareAction::Deny => Severity::Deny,
                FirmwareAction::Warn => Severity::Warn,
            },
            format!(
                "firmware {} is affected by {} (fixed in {}): {}",
                fw.unwrap_or("?"),
                adv.id,
                adv.fixed_from.map(|n| n.to_string()).join("."),
                adv.summary
            ),
        ),
        FirmwareStatus::Unknown(adv) => add(
            "firmware-unknown",
            Severity::Warn,
            format!(
                "firmware version unknown, and this model family is affected by {} below {}; \
                 read the version with `ykman info` and replace the key if it is older",
                adv.id,
                adv.fixed_from.map(|n| n.to_string()).join(".")
            ),
        ),
    }
}

/// Loads the path entries of `cfg.trusted_roots` (relative to `base`) into `store` as user
/// anchors and trusts each for eligibility; fingerprint entries were taken by
/// [`Policy::from_config`].
pub fn load_trusted_roots(
    cfg: &PolicyConfig,
    base: Option<&std::path::Path>,
    store: &mut super::TrustStore,
    policy: &mut Policy,
) -> Result<(), super::TrustError> {
    for entry in cfg.trusted_roots.iter().filter(|r| !is_fingerprint(r)) {
        let path = std::path::Path::new(entry);
        let path = match base {
            Some(b) if path.is_relative() => b.join(path),
            _ => path.to_path_buf(),
        };
        let before = store.anchors().len();
        store.add_user_file(&path)?;
        for a in &store.anchors()[before..] {
            policy.trust_root(&a.fingerprint());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_parse_bare_or_under_a_policy_table_and_reject_typos() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(
            &p,
            "[policy]\nrequire_pin = false\nmin_certification = \"L2+\"\n",
        )
        .unwrap();
        let c = Policy::config_from_file(&p).unwrap();
        assert!(!c.require_pin);
        assert_eq!(c.allowed_formats, default_formats());
        let policy = Policy::from_config(&c).unwrap();
        assert_eq!(policy.min_certification, Some(Certification::L2Plus));
        std::fs::write(&p, "vulnerable_firmware = \"warn\"\n").unwrap();
        assert_eq!(
            Policy::config_from_file(&p).unwrap().vulnerable_firmware,
            FirmwareAction::Warn
        );
        std::fs::write(&p, "[policy]\nrequire_pinn = false\n").unwrap();
        assert!(matches!(
            Policy::config_from_file(&p),
            Err(PolicyError::Toml { .. })
        ));
        assert!(Policy::from_config(&PolicyConfig {
            allowed_aaguids: vec!["not-a-uuid".into()],
            ..PolicyConfig::default()
        })
        .is_err());
    }

    fn table(text: &str) -> toml::Value {
        toml::Value::Table(toml::from_str(text).unwrap())
    }

    #[test]
    fn software_is_denied_by_default_and_allowed_only_by_name() {
        assert!(!PolicyConfig::default().allow_software);
        assert!(!Policy::default().allow_software);
        let (root, _) = configs_from_table(Some(&table("allow_software = true\n"))).unwrap();
        assert!(Policy::from_config(&root).unwrap().allow_software);
    }

    #[test]
    fn the_custodian_table_is_split_off_and_inherits_nothing() {
        let (root, custodian) = configs_from_table(None).unwrap();
        assert_eq!(root, PolicyConfig::default());
        assert_eq!(custodian, PolicyConfig::default());

        let (root, custodian) = configs_from_table(Some(&table(
            "require_pin = false\nallow_software = true\nallowed_models = [\"YubiKey\"]\n\
             [custodian]\nallowed_formats = [\"packed\"]\n",
        )))
        .unwrap();
        assert!(!root.require_pin && root.allow_software);
        assert_eq!(root.allowed_models, vec!["YubiKey".to_string()]);
        assert_eq!(root.allowed_formats, default_formats());
        // What the root table loosened stays at the defaults for custodians, and vice versa.
        assert_eq!(
            custodian,
            PolicyConfig {
                allowed_formats: vec!["packed".into()],
                ..PolicyConfig::default()
            }
        );
        assert_eq!(
            KeyPurpose::Custodian.pick((root.clone(), custodian.clone())),
            custodian
        );
        assert_eq!(KeyPurpose::Root.pick((root.clone(), custodian)), root);

        // A custodian-only table leaves root keys at the defaults.
        let (root, custodian) =
            configs_from_table(Some(&table("[custodian]\nrequire_pin = false\n"))).unwrap();
        assert_eq!(root, PolicyConfig::default());
        assert!(!custodian.require_pin);
    }

    #[test]
    fn typos_are_reported_with_the_table_they_are_in() {
        let err =
            configs_from_table(Some(&table("[custodian]\nrequire_pinn = false\n"))).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Table {
                    table: "policy.custodian",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("[policy.custodian]"), "{err}");
        let err = configs_from_table(Some(&table("require_pinn = false\n"))).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Table {
                    table: "policy",
                    ..
                }
            ),
            "{err}"
        );
        let err = configs_from_table(Some(&table("custodian = 3\n"))).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Table {
                    table: "policy.custodian",
                    ..
                }
            ),
            "{err}"
        );
        let err = configs_from_table(Some(&toml::Value::Integer(3))).unwrap_err();
        assert!(err.to_string().contains("expected a table"), "{err}");
    }

    #[test]
    fn policy_files_may_hold_the_custodian_table_bare_or_under_policy() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        for text in [
            "require_pin = false\n[custodian]\nallow_software = true\n",
            "[policy]\nrequire_pin = false\n[policy.custodian]\nallow_software = true\n",
        ] {
            std::fs::write(&p, text).unwrap();
            let (root, custodian) = Policy::configs_from_file(&p).unwrap();
            assert!(!root.require_pin && !root.allow_software, "{text}");
            assert!(custodian.require_pin && custodian.allow_software, "{text}");
            assert_eq!(Policy::config_from_file(&p).unwrap(), root);
            assert_eq!(
                Policy::config_from_file_for(&p, KeyPurpose::Custodian).unwrap(),
                custodian
            );
        }
        std::fs::write(&p, "[custodian]\nno_such_rule = 1\n").unwrap();
        let err = Policy::configs_from_file(&p).unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Toml {
                    table: "policy.custodian",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn fingerprints_and_paths_are_told_apart() {
        assert!(is_fingerprint(&"ab".repeat(32)));
        assert!(!is_fingerprint("rootkey-soft-ca.pem"));
        let c = PolicyConfig {
            trusted_roots: vec!["AB".repeat(32), "ca.pem".into()],
            ..PolicyConfig::default()
        };
        let p = Policy::from_config(&c).unwrap();
        assert!(p.trusted_root_fingerprints.contains(&"ab".repeat(32)));
        assert_eq!(p.trusted_root_fingerprints.len(), 1);
    }
}
