//! The one TOML configuration file and the XDG directories rootkey uses by default.
//!
//! Each layer owns the shape of its own section (`[policy]` belongs to `attest`, `[aws]` to
//! `aws`, ...): this module only finds the file, parses it as TOML and hands a section to whoever
//! asks for it, so no module needs to know another's settings.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("section [{section}] of {path} is invalid: {message}")]
    Section {
        path: PathBuf,
        section: String,
        message: String,
    },
    #[error(
        "[{section}] in {path} is not a rootkey section (known: {known}): a misspelt section would \
         be ignored, so rootkey refuses it; see docs/configuration.md"
    )]
    UnknownSection {
        path: PathBuf,
        section: String,
        known: String,
    },
    #[error(
        "cannot find a home directory for default paths; pass --ledger and --config explicitly"
    )]
    NoHome,
}

/// The top-level tables rootkey reads. Any other is refused when the file is loaded: a
/// misspelt `[ledgr]` must not silently turn off, say, publishing to the anchor.
pub const KNOWN_SECTIONS: &[&str] = &["policy", "aws", "ledger"];

/// The parsed configuration file (empty when there is none).
#[derive(Debug, Clone, Default)]
pub struct Config {
    path: Option<PathBuf>,
    table: toml::Table,
}

impl Config {
    /// Loads `explicit` (which must exist), else the default path if it exists, else nothing.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match config_dir() {
                Ok(dir) if dir.join("config.toml").exists() => dir.join("config.toml"),
                _ => return Ok(Self::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses configuration text; `path` is only used in error messages.
    pub fn parse(text: &str, path: PathBuf) -> Result<Self, ConfigError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Parse {
                path: path.clone(),
                source: Box::new(e),
            })?;
        if let Some(unknown) = table.keys().find(|k| !KNOWN_SECTIONS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownSection {
                section: crate::text::escape(unknown).into_owned(),
                path,
                known: KNOWN_SECTIONS.join(", "),
            });
        }
        Ok(Config {
            path: Some(path),
            table,
        })
    }

    /// The file this configuration came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Section `[name]` as raw TOML, for a layer whose section holds sub-tables it reads
    /// separately (`[policy]` and `[policy.custodian]`); None when the file has no such section.
    pub fn value(&self, name: &str) -> Option<&toml::Value> {
        self.table.get(name)
    }

    /// Deserializes section `[name]`; a missing section gives `T::default()`.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        match self.table.get(name) {
            None => Ok(T::default()),
            Some(value) => {
                value
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| ConfigError::Section {
                        path: self.path.clone().unwrap_or_default(),
                        section: name.to_string(),
                        message: e.message().to_string(),
                    })
            }
        }
    }
}

fn project_dirs() -> Result<directories::ProjectDirs, ConfigError> {
    directories::ProjectDirs::from("", "", "rootkey").ok_or(ConfigError::NoHome)
}

/// Where rootkey keeps data by default (`$XDG_DATA_HOME/rootkey`).
pub fn data_dir() -> Result<PathBuf, ConfigError> {
    Ok(project_dirs()?.data_dir().to_path_buf())
}

/// Where rootkey looks for `config.toml` by default (`$XDG_CONFIG_HOME/rootkey`).
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    Ok(project_dirs()?.config_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    struct Demo {
        #[serde(default)]
        domains: Vec<String>,
    }

    #[test]
    fn an_unknown_top_level_section_is_refused_on_load() {
        for text in ["[ledgr.anchor]\nto = \"s3://b/p\"\n", "polcy = 1\n"] {
            let e = Config::parse(text, "c.toml".into()).unwrap_err();
            assert!(
                matches!(&e, ConfigError::UnknownSection { .. }),
                "{text}: {e}"
            );
            assert!(e.to_string().contains("policy, aws, ledger"), "{e}");
        }
    }

    #[test]
    fn missing_section_is_default_and_present_section_parses() {
        let c = Config::parse("[aws]\ndomains = [\"example.com\"]\n", "c.toml".into()).unwrap();
        assert_eq!(c.section::<Demo>("policy").unwrap(), Demo::default());
        assert_eq!(
            c.section::<Demo>("aws").unwrap().domains,
            vec!["example.com"]
        );
    }

    #[test]
    fn raw_sections_are_handed_out_as_written() {
        let c = Config::parse(
            "[policy]\n[policy.custodian]\nrequire_pin = false\n",
            "c".into(),
        )
        .unwrap();
        let policy = c.value("policy").unwrap();
        assert_eq!(policy["custodian"]["require_pin"].as_bool(), Some(false));
        assert!(c.value("aws").is_none());
    }

    #[test]
    fn wrong_types_name_the_section() {
        let c = Config::parse("[aws]\ndomains = 3\n", "c.toml".into()).unwrap();
        let err = c.section::<Demo>("aws").unwrap_err().to_string();
        assert!(err.contains("[aws]"), "{err}");
    }

    #[test]
    fn invalid_toml_is_a_parse_error() {
        let err = Config::parse("[aws\n", "c.toml".into()).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }));
    }
}
