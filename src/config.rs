//! Configuration: named environments (sets of subscriptions and resource groups in a cloud, with a
//! credential kind and safety flags) and custom clouds, in a TOML file. A leaf module: it reads and
//! writes its file and knows nothing of Azure clients or the UI.
//!
//! Location: `--config`, else `$AZDECK_CONFIG`, else `$XDG_CONFIG_HOME/azdeck/config.toml`, else
//! `~/.config/azdeck/config.toml`.
//!
//! ```toml
//! default_environment = "prod"
//!
//! [environments.prod]
//! cloud = "public"                 # public | china | usgov | the name of a [clouds.X] table
//! tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
//! subscriptions = ["8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d"]
//! resource_groups = ["rg-platform-prod"]   # optional: limit the environment to these groups
//! credential = "service-principal"  # service-principal | workload-identity | managed-identity | azure-cli
//! client_id = "5a0c9e1e-8d2b-4d5f-9c1a-3e7f2b6d8a41"
//! protected = true                  # red, and changes need the name typed
//! read_only = false                 # no change can be sent at all
//! theme = "high-contrast"          # optional: this environment's TUI theme
//!
//! [clouds.sim]
//! resource_manager = "https://management.azdeck.localhost:8443/"
//! authority_host = "https://login.azdeck.localhost:8443"
//! resource_manager_audience = "https://management.azdeck.localhost:8443/"
//! key_vault_dns_suffix = "vault.azdeck.localhost"
//! ca_file = "/tmp/azdeck-sim/ca.pem"
//! resolve_domain = "azdeck.localhost"      # host names under it go to resolve_address
//! resolve_address = "127.0.0.1:8443"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::SimEnvironment;

pub const BUILT_IN_CLOUDS: &[&str] = &["public", "china", "usgov"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_environment: Option<String>,
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    #[serde(default)]
    pub clouds: BTreeMap<String, CustomCloud>,
    /// Folders of the user's own runbooks (besides `$XDG_CONFIG_HOME/azdeck/runbooks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runbook_dirs: Vec<PathBuf>,
    /// Where runs, checkpoints and the audit trail live: `sqlite://…` or `postgres://…`
    /// (default: SQLite under `$XDG_STATE_HOME/azdeck`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_url: Option<String>,
    /// The TUI's theme: a built-in (`dark`, `light`, `high-contrast`) or a file in
    /// `$XDG_CONFIG_HOME/azdeck/themes/NAME.toml`. An environment's own `theme` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    #[serde(default = "public")]
    pub cloud: String,
    pub tenant: String,
    pub subscriptions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_groups: Vec<String>,
    #[serde(default)]
    pub credential: CredentialKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

fn public() -> String {
    "public".into()
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// Client id + secret; the secret lives in the OS keyring (`azdeck login`).
    ServicePrincipal,
    /// A federated token file (`AZURE_FEDERATED_TOKEN_FILE`), as in Kubernetes or CI.
    WorkloadIdentity,
    ManagedIdentity,
    /// Whatever `az login` holds.
    #[default]
    AzureCli,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ServicePrincipal => "service-principal",
            CredentialKind::WorkloadIdentity => "workload-identity",
            CredentialKind::ManagedIdentity => "managed-identity",
            CredentialKind::AzureCli => "azure-cli",
        }
    }
}

/// A cloud that is not one of Azure's built-in ones: Azure Stack, a private endpoint setup, or the
/// simulated Azure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomCloud {
    pub resource_manager: String,
    pub authority_host: String,
    pub resource_manager_audience: String,
    pub key_vault_dns_suffix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<String>,
    /// Extra certificate authority to trust (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Host names under this domain resolve to `resolve_address` (names not in DNS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_address: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no environment named {name:?} (known: {known})")]
    UnknownEnvironment { name: String, known: String },
    #[error("an environment named {0:?} exists already; remove it from the config file first")]
    Exists(String),
    #[error("no environment given and no default_environment in the config file")]
    NoDefault,
    #[error("cannot find the configuration directory: set AZDECK_CONFIG or HOME")]
    NoHome,
}

/// The folder of the config file (`…/azdeck`), where the user's runbooks live by default.
pub fn config_dir(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let path = config_path(explicit)?;
    Ok(path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")))
}

/// Where the config file is: the explicit path, `$AZDECK_CONFIG`, or the XDG location.
pub fn config_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("AZDECK_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").ok_or(ConfigError::NoHome)?).join(".config"),
    };
    Ok(base.join("azdeck").join("config.toml"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn looks_like_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        for (name, env) in &self.environments {
            if !valid_name(name) {
                return Err(invalid(format!(
                    "environment name {name:?}: use letters, digits, '-' and '_'"
                )));
            }
            if !BUILT_IN_CLOUDS.contains(&env.cloud.as_str())
                && !self.clouds.contains_key(&env.cloud)
            {
                return Err(invalid(format!(
                    "environment {name}: unknown cloud {:?} (built in: {}; or define [clouds.{}])",
                    env.cloud,
                    BUILT_IN_CLOUDS.join(", "),
                    env.cloud
                )));
            }
            if !looks_like_guid(&env.tenant) && !env.tenant.contains('.') {
                return Err(invalid(format!(
                    "environment {name}: tenant {:?} is neither a tenant id nor a domain",
                    env.tenant
                )));
            }
            if env.subscriptions.is_empty() {
                return Err(invalid(format!(
                    "environment {name}: at least one subscription is needed"
                )));
            }
            if let Some(s) = env.subscriptions.iter().find(|s| !looks_like_guid(s)) {
                return Err(invalid(format!(
                    "environment {name}: subscription {s:?} is not a subscription id"
                )));
            }
            if env.credential == CredentialKind::ServicePrincipal && env.client_id.is_none() {
                return Err(invalid(format!(
                    "environment {name}: a service-principal credential needs client_id"
                )));
            }
        }
        if let Some(d) = &self.default_environment {
            if !self.environments.contains_key(d) {
                return Err(invalid(format!(
                    "default_environment {d:?} is not an environment"
                )));
            }
        }
        for (name, c) in &self.clouds {
            if BUILT_IN_CLOUDS.contains(&name.as_str()) || !valid_name(name) {
                return Err(invalid(format!(
                    "cloud name {name:?} is reserved or invalid"
                )));
            }
            for (field, url) in [
                ("resource_manager", &c.resource_manager),
                ("authority_host", &c.authority_host),
            ] {
                if !url.starts_with("https://") || url::Url::parse(url).is_err() {
                    return Err(invalid(format!(
                        "cloud {name}: {field} must be an https URL, got {url:?}"
                    )));
                }
            }
            if c.resolve_domain.is_some() != c.resolve_address.is_some() {
                return Err(invalid(format!(
                    "cloud {name}: resolve_domain and resolve_address go together"
                )));
            }
            if let Some(a) = &c.resolve_address {
                if a.parse::<std::net::SocketAddr>().is_err() {
                    return Err(invalid(format!(
                        "cloud {name}: resolve_address {a:?} is not IP:port"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The named environment, or the default one.
    pub fn environment(&self, name: Option<&str>) -> Result<(&str, &Environment), ConfigError> {
        let name = match name.or(self.default_environment.as_deref()) {
            Some(n) => n,
            None if self.environments.len() == 1 => self
                .environments
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or_default(),
            None => return Err(ConfigError::NoDefault),
        };
        self.environments
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| ConfigError::UnknownEnvironment {
                name: name.to_string(),
                known: self
                    .environments
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The custom cloud and environment that describe a running simulator.
pub fn from_sim(env: &SimEnvironment) -> (CustomCloud, Environment) {
    let domain = env
        .endpoints
        .key_vault_dns_suffix
        .strip_prefix("vault.")
        .unwrap_or(&env.endpoints.key_vault_dns_suffix)
        .to_string();
    let cloud = CustomCloud {
        resource_manager: env.endpoints.resource_manager.clone(),
        authority_host: env.endpoints.active_directory.clone(),
        resource_manager_audience: env.endpoints.resource_manager_audience.clone(),
        key_vault_dns_suffix: env.endpoints.key_vault_dns_suffix.clone(),
        portal: None,
        ca_file: Some(env.ca_file.clone()),
        resolve_domain: Some(domain),
        resolve_address: Some(env.listen.clone()),
    };
    let environment = Environment {
        cloud: String::new(),
        tenant: env.tenant_id.clone(),
        subscriptions: env.subscriptions.iter().map(|s| s.id.clone()).collect(),
        resource_groups: vec![],
        credential: CredentialKind::ServicePrincipal,
        client_id: Some(env.service_principal.client_id.clone()),
        protected: false,
        read_only: false,
        theme: None,
    };
    (cloud, environment)
}

/// Adds an environment (and its custom cloud, if given) to the file, keeping the file's comments
/// and layout.
pub fn add_environment(
    path: &Path,
    name: &str,
    environment: &Environment,
    cloud: Option<(&str, &CustomCloud)>,
) -> Result<(), ConfigError> {
    if !valid_name(name) {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("environment name {name:?}: use letters, digits, '-' and '_'"),
        });
    }
    let existing = Config::load(path)?;
    if existing.environments.contains_key(name) {
        return Err(ConfigError::Exists(name.to_string()));
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    let to_item = |value: String| -> Result<toml_edit::Item, ConfigError> {
        let table: toml_edit::DocumentMut =
            value
                .parse()
                .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
        Ok(toml_edit::Item::Table(table.as_table().clone()))
    };
    let serialize = |v: &dyn erased::Ser| {
        v.to_toml().map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    };
    if let Some((cloud_name, cloud)) = cloud {
        let clouds = doc.entry("clouds").or_insert(toml_edit::table());
        if let Some(t) = clouds.as_table_mut() {
            t.set_implicit(true);
            t.insert(cloud_name, to_item(serialize(cloud)?)?);
        }
    }
    let envs = doc.entry("environments").or_insert(toml_edit::table());
    if let Some(t) = envs.as_table_mut() {
        t.set_implicit(true);
        t.insert(name, to_item(serialize(environment)?)?);
    }
    if existing.environments.is_empty() && existing.default_environment.is_none() {
        doc.insert("default_environment", toml_edit::value(name));
    }
    // Validate what we are about to write before writing it.
    let new_text = doc.to_string();
    let check: Config = toml::from_str(&new_text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check.validate(path)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, new_text).map_err(|source| ConfigError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Serialising two different structs through one closure.
mod erased {
    pub trait Ser {
        fn to_toml(&self) -> Result<String, String>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_toml(&self) -> Result<String, String> {
            toml::to_string(self).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn env(cloud: &str) -> Environment {
        Environment {
            cloud: cloud.into(),
            tenant: TENANT.into(),
            subscriptions: vec![SUB.into()],
            resource_groups: vec![],
            credential: CredentialKind::AzureCli,
            client_id: None,
            protected: true,
            read_only: false,
            theme: None,
        }
    }

    #[test]
    fn adding_keeps_comments_sets_the_default_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# my notes\n").unwrap();
        add_environment(&path, "prod", &env("public"), None).unwrap();
        let cloud = CustomCloud {
            resource_manager: "https://management.azdeck.localhost:8443/".into(),
            authority_host: "https://login.azdeck.localhost:8443".into(),
            resource_manager_audience: "https://management.azdeck.localhost:8443/".into(),
            key_vault_dns_suffix: "vault.azdeck.localhost".into(),
            portal: None,
            ca_file: Some("/tmp/ca.pem".into()),
            resolve_domain: Some("azdeck.localhost".into()),
            resolve_address: Some("127.0.0.1:8443".into()),
        };
        add_environment(&path, "sim", &env("sim"), Some(("sim", &cloud))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# my notes"), "comments survive: {text}");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.default_environment.as_deref(), Some("prod"));
        assert_eq!(config.environments["sim"], env("sim"));
        assert_eq!(config.clouds["sim"], cloud);
        assert_eq!(config.environment(None).unwrap().0, "prod");
        assert_eq!(config.environment(Some("sim")).unwrap().0, "sim");
        assert!(matches!(
            config.environment(Some("nope")),
            Err(ConfigError::UnknownEnvironment { .. })
        ));
        assert!(matches!(
            add_environment(&path, "prod", &env("public"), None),
            Err(ConfigError::Exists(_))
        ));
    }

    #[test]
    fn invalid_configurations_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let cases = [
            ("[environments.x]\ncloud = \"mars\"\ntenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\nsubscriptions = [\"8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d\"]\n", "unknown cloud"),
            ("[environments.x]\ntenant = \"t\"\nsubscriptions = [\"8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d\"]\n", "neither a tenant id"),
            ("[environments.x]\ntenant = \"contoso.onmicrosoft.com\"\nsubscriptions = [\"nope\"]\n", "not a subscription id"),
            ("[environments.x]\ntenant = \"contoso.onmicrosoft.com\"\nsubscriptions = [\"8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d\"]\ncredential = \"service-principal\"\n", "needs client_id"),
            ("default_environment = \"y\"\n", "not an environment"),
            ("[environments.x]\ntenant = 5\n", "invalid"),
            ("unknown_key = 1\n", "invalid"),
            ("[clouds.c]\nresource_manager = \"http://x/\"\nauthority_host = \"https://l\"\nresource_manager_audience = \"a\"\nkey_vault_dns_suffix = \"v\"\n", "https URL"),
        ];
        for (text, expect) in cases {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
        assert!(Config::load(&dir.path().join("missing.toml"))
            .unwrap()
            .environments
            .is_empty());
    }

    #[test]
    fn config_path_prefers_explicit_then_env() {
        assert_eq!(
            config_path(Some(Path::new("/x/c.toml"))).unwrap(),
            PathBuf::from("/x/c.toml")
        );
    }
}
