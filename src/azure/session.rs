//! A connected environment: its cloud, a credential of the configured kind, and the request
//! pipeline (read-only when the environment says so).

use std::sync::Arc;

use super::auth::{self, build_credential, CredentialSettings, CredentialTokens};
use super::cloud::{Cloud, CloudError};
use super::http::{http_client, ClientError, Pipeline};
use crate::config::{Config, ConfigError, CredentialKind, Environment};
use crate::model::SecretString;

pub struct Session {
    pub name: String,
    pub environment: Environment,
    pub cloud: Cloud,
    pub pipeline: Pipeline,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    // Boxed: a `Result` stays small on the happy path.
    #[error(transparent)]
    Client(Box<ClientError>),
    #[error("environment {env}: {message}")]
    Credential { env: String, message: String },
}

impl From<ClientError> for SessionError {
    fn from(e: ClientError) -> Self {
        SessionError::Client(Box::new(e))
    }
}

impl Session {
    /// Connects to environment `name` (or the default one). `secret` is the service principal's
    /// secret for `service-principal` environments (from the OS keyring or `AZURE_CLIENT_SECRET`).
    pub fn connect(
        config: &Config,
        name: Option<&str>,
        secret: Option<SecretString>,
    ) -> Result<Session, SessionError> {
        let (name, environment) = config.environment(name)?;
        let cloud = Cloud::named(&environment.cloud, config)?;
        let http = http_client(&cloud)?;
        let kind = match environment.credential {
            CredentialKind::ServicePrincipal => auth::CredentialKind::ClientSecret {
                client_id: environment.client_id.clone(),
            },
            CredentialKind::WorkloadIdentity => auth::CredentialKind::WorkloadIdentity {
                client_id: environment.client_id.clone(),
                token_file: None,
            },
            CredentialKind::ManagedIdentity => auth::CredentialKind::ManagedIdentity {
                user_assigned_client_id: environment.client_id.clone(),
            },
            CredentialKind::AzureCli => auth::CredentialKind::AzureCli {
                subscription: environment.subscriptions.first().cloned(),
            },
        };
        let credential = build_credential(
            CredentialSettings {
                cloud: cloud.clone(),
                tenant_id: Some(environment.tenant.clone()),
                kind,
                secret: secret
                    .map(|s| azure_core::credentials::Secret::from(s.expose().to_string())),
                retry: None,
            },
            http.clone(),
        )
        .map_err(|e| SessionError::Credential {
            env: name.to_string(),
            message: e.chain(),
        })?;
        let pipeline = Pipeline::new(
            &cloud,
            http,
            Arc::new(CredentialTokens(credential)),
            environment.read_only,
        )?;
        Ok(Session {
            name: name.to_string(),
            environment: environment.clone(),
            cloud,
            pipeline,
        })
    }

    /// Connects to environment `name` (or the default one), finding a service principal's secret
    /// where `login` keeps it: the OS keyring, else `AZURE_CLIENT_SECRET`.
    pub fn open(config: &Config, name: Option<&str>) -> Result<Session, SessionError> {
        let (env_name, environment) = config.environment(name)?;
        let secret = match environment.credential {
            CredentialKind::ServicePrincipal => super::secrets::secret_for(env_name, environment),
            _ => None,
        };
        Self::connect(config, name, secret)
    }
}
