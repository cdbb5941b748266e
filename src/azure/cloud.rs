//! The endpoints of a cloud: Azure's public cloud, the sovereign clouds (China, US Government), and
//! custom clouds from the configuration — the simulated Azure is one of those. This is the only
//! place that knows a cloud may need its own certificate authority or name resolution; everything
//! else talks to whatever cloud it is given, the same way.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{self, CustomCloud};

#[derive(Debug, Clone, PartialEq)]
pub struct Cloud {
    pub name: String,
    /// ARM base URL, with a trailing slash.
    pub resource_manager: String,
    /// Entra authority host, without a trailing slash.
    pub authority_host: String,
    /// Tokens for ARM are requested for `{audience}.default`.
    pub resource_manager_audience: String,
    /// `vault.azure.net` and the like; a vault is `https://{name}.{suffix}/`.
    pub key_vault_dns_suffix: String,
    pub portal: Option<String>,
    /// A certificate authority to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Host names under `domain` resolve to `address` (clouds whose names are not in DNS).
    pub resolve: Option<Resolve>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    pub domain: String,
    pub address: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("unknown cloud {0:?}: use public, china, usgov or a cloud defined in the config file")]
    Unknown(String),
    #[error("cloud {name}: {message}")]
    Invalid { name: String, message: String },
}

impl Cloud {
    pub fn public() -> Cloud {
        Cloud {
            name: "public".into(),
            resource_manager: "https://management.azure.com/".into(),
            authority_host: "https://login.microsoftonline.com".into(),
            resource_manager_audience: "https://management.azure.com/".into(),
            key_vault_dns_suffix: "vault.azure.net".into(),
            portal: Some("https://portal.azure.com".into()),
            ca_file: None,
            resolve: None,
        }
    }

    pub fn china() -> Cloud {
        Cloud {
            name: "china".into(),
            resource_manager: "https://management.chinacloudapi.cn/".into(),
            authority_host: "https://login.chinacloudapi.cn".into(),
            resource_manager_audience: "https://management.chinacloudapi.cn/".into(),
            key_vault_dns_suffix: "vault.azure.cn".into(),
            portal: Some("https://portal.azure.cn".into()),
            ca_file: None,
            resolve: None,
        }
    }

    pub fn us_government() -> Cloud {
        Cloud {
            name: "usgov".into(),
            resource_manager: "https://management.usgovcloudapi.net/".into(),
            authority_host: "https://login.microsoftonline.us".into(),
            resource_manager_audience: "https://management.usgovcloudapi.net/".into(),
            key_vault_dns_suffix: "vault.usgovcloudapi.net".into(),
            portal: Some("https://portal.azure.us".into()),
            ca_file: None,
            resolve: None,
        }
    }

    /// A built-in cloud by name, or a custom one from the configuration.
    pub fn named(name: &str, config: &config::Config) -> Result<Cloud, CloudError> {
        match name {
            "public" => Ok(Cloud::public()),
            "china" => Ok(Cloud::china()),
            "usgov" => Ok(Cloud::us_government()),
            other => match config.clouds.get(other) {
                Some(c) => Cloud::custom(other, c),
                None => Err(CloudError::Unknown(other.to_string())),
            },
        }
    }

    pub fn custom(name: &str, c: &CustomCloud) -> Result<Cloud, CloudError> {
        let invalid = |message: String| CloudError::Invalid {
            name: name.to_string(),
            message,
        };
        let resolve = match (&c.resolve_domain, &c.resolve_address) {
            (Some(domain), Some(address)) => Some(Resolve {
                domain: domain.trim_start_matches('.').to_ascii_lowercase(),
                address: address
                    .parse()
                    .map_err(|_| invalid(format!("resolve_address {address:?} is not IP:port")))?,
            }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "resolve_domain and resolve_address go together".into(),
                ))
            }
        };
        Ok(Cloud {
            name: name.to_string(),
            resource_manager: with_trailing_slash(&c.resource_manager),
            authority_host: c.authority_host.trim_end_matches('/').to_string(),
            resource_manager_audience: c.resource_manager_audience.clone(),
            key_vault_dns_suffix: c.key_vault_dns_suffix.trim_start_matches('.').to_string(),
            portal: c.portal.clone(),
            ca_file: c.ca_file.clone(),
            resolve,
        })
    }

    /// The scope to ask Entra for ARM tokens (`…/.default`, keeping the audience's slash rule).
    pub fn arm_scope(&self) -> String {
        format!(
            "{}.default",
            with_trailing_slash(&self.resource_manager_audience)
        )
    }

    /// Where a host name of this cloud connects, when the cloud overrides name resolution.
    pub fn resolve_host(&self, host: &str) -> Option<SocketAddr> {
        let r = self.resolve.as_ref()?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        (host == r.domain || host.ends_with(&format!(".{}", r.domain))).then_some(r.address)
    }

    /// The URL of a Key Vault of this cloud.
    pub fn vault_url(&self, vault: &str) -> String {
        let port = self
            .resolve
            .as_ref()
            .map(|r| r.address.port())
            .filter(|p| *p != 443);
        match port {
            Some(p) => format!("https://{vault}.{}:{p}/", self.key_vault_dns_suffix),
            None => format!("https://{vault}.{}/", self.key_vault_dns_suffix),
        }
    }

    /// A link to the resource in the portal, when the cloud has one.
    pub fn portal_link(&self, tenant: &str, resource_id: &str) -> Option<String> {
        self.portal.as_ref().map(|p| {
            format!(
                "{}/#@{tenant}/resource{resource_id}",
                p.trim_end_matches('/')
            )
        })
    }
}

fn with_trailing_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_clouds_have_their_endpoints() {
        assert_eq!(
            Cloud::public().arm_scope(),
            "https://management.azure.com/.default"
        );
        assert_eq!(Cloud::china().key_vault_dns_suffix, "vault.azure.cn");
        assert_eq!(
            Cloud::us_government().authority_host,
            "https://login.microsoftonline.us"
        );
        assert_eq!(
            Cloud::public().vault_url("kv1"),
            "https://kv1.vault.azure.net/"
        );
        assert_eq!(
            Cloud::public()
                .portal_link("t", "/subscriptions/s")
                .as_deref(),
            Some("https://portal.azure.com/#@t/resource/subscriptions/s")
        );
        assert!(matches!(
            Cloud::named("mars", &config::Config::default()),
            Err(CloudError::Unknown(_))
        ));
    }

    #[test]
    fn the_simulator_is_a_custom_cloud_with_its_own_resolution() {
        let env = crate::model::SimEnvironment {
            cloud_name: "AzdeckSimulated".into(),
            world: "w".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            tenant_domain: "d".into(),
            subscriptions: vec![],
            endpoints: crate::model::SimEndpoints {
                resource_manager: "https://management.azdeck.localhost:8443/".into(),
                active_directory: "https://login.azdeck.localhost:8443".into(),
                resource_manager_audience: "https://management.azdeck.localhost:8443/".into(),
                key_vault_dns_suffix: "vault.azdeck.localhost".into(),
                metadata: String::new(),
            },
            ca_file: "/tmp/ca.pem".into(),
            listen: "127.0.0.1:8443".into(),
            hosts: vec![],
            service_principal: crate::model::SimServicePrincipal {
                client_id: "c".into(),
                client_secret: "s".into(),
                object_id: "o".into(),
                display_name: "d".into(),
            },
            federated_token_file: "/tmp/t".into(),
            identity_endpoint: String::new(),
            identity_header: String::new(),
            admin_token: String::new(),
        };
        let (custom, _) = config::from_sim(&env);
        let cloud = Cloud::custom("sim", &custom).unwrap();
        let addr: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        assert_eq!(
            cloud.resolve_host("management.azdeck.localhost"),
            Some(addr)
        );
        assert_eq!(
            cloud.resolve_host("kv-1.vault.AZDECK.localhost."),
            Some(addr)
        );
        assert_eq!(cloud.resolve_host("evilazdeck.localhost"), None);
        assert_eq!(cloud.resolve_host("management.azure.com"), None);
        assert_eq!(
            cloud.vault_url("kv-1"),
            "https://kv-1.vault.azdeck.localhost:8443/"
        );
        assert_eq!(
            cloud.arm_scope(),
            "https://management.azdeck.localhost:8443/.default"
        );
        assert_eq!(
            cloud.ca_file.as_deref(),
            Some(std::path::Path::new("/tmp/ca.pem"))
        );
    }
}
