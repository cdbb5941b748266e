//! The environment file `azdeck sim` writes: everything a client needs to use the simulated Azure
//! as a custom cloud (endpoints, CA, tenant, subscriptions, a service principal, the admin token).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimEnvironment {
    /// Name of the cloud, used by `az cloud register --name` and as azdeck's cloud name.
    pub cloud_name: String,
    pub world: String,
    pub tenant_id: String,
    pub tenant_domain: String,
    pub subscriptions: Vec<SimSubscription>,
    pub endpoints: SimEndpoints,
    /// PEM file of the simulator's certificate authority: trust it, not the leaf.
    pub ca_file: PathBuf,
    /// Address the HTTPS listener is bound to; every host name below resolves to it.
    pub listen: String,
    /// Host names the listener serves (wildcards for Key Vault), for /etc/hosts or a custom resolver.
    pub hosts: Vec<String>,
    pub service_principal: SimServicePrincipal,
    /// A token file for workload identity (`AZURE_FEDERATED_TOKEN_FILE`), valid for the default
    /// principal's federated credential.
    pub federated_token_file: PathBuf,
    /// App Service style managed identity: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    pub identity_endpoint: String,
    pub identity_header: String,
    /// Bearer token for the simulator's own `/_sim/...` endpoints (request log, faults, world).
    pub admin_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimSubscription {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimEndpoints {
    /// ARM base URL with a trailing slash, e.g. `https://management.azdeck.localhost:8443/`.
    pub resource_manager: String,
    /// Entra authority host, e.g. `https://login.azdeck.localhost:8443` (no trailing slash).
    pub active_directory: String,
    /// The audience ARM tokens are requested for (scope = this + `.default`).
    pub resource_manager_audience: String,
    /// `vault.azdeck.localhost`: a vault's URL is `https://{name}.{suffix}:{port}/`.
    pub key_vault_dns_suffix: String,
    /// `GET` this to read the cloud's metadata as `az cloud register` does.
    pub metadata: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimServicePrincipal {
    pub client_id: String,
    pub client_secret: String,
    pub object_id: String,
    pub display_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SimEnvError {
    #[error("cannot read simulator environment file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("simulator environment file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl SimEnvironment {
    pub fn load(path: &Path) -> Result<Self, SimEnvError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimEnvError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SimEnvError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The port the simulator listens on (every endpoint shares it).
    pub fn port(&self) -> u16 {
        self.listen
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(443)
    }

    /// The URL of a Key Vault in this cloud.
    pub fn vault_url(&self, vault: &str) -> String {
        format!(
            "https://{}.{}:{}/",
            vault,
            self.endpoints.key_vault_dns_suffix,
            self.port()
        )
    }
}
