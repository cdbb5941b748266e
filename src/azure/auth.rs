//! Azure credentials for azdeck, built on the official `azure_identity` 1.0 crate.
//!
//! Every credential uses the `reqwest::Client` the caller built (as the azure_core *transport*), so an
//! extra root CA and custom name resolution apply to token requests too. That is what makes a
//! *custom cloud* (azdeck's simulated Azure: `login.azdeck.localhost`, `management.azdeck.localhost`,
//! `*.vault.azdeck.localhost`, TLS chained to a CA generated at start) work exactly like real Azure.
//!
//! Supported kinds and where their inputs come from (explicit value first, then the environment):
//!
//! | kind | tenant | client id | other |
//! |---|---|---|---|
//! | [`CredentialKind::ClientSecret`] | `tenant_id` / `AZURE_TENANT_ID` | `client_id` / `AZURE_CLIENT_ID` | secret: caller (OS keyring) / `AZURE_CLIENT_SECRET` |
//! | [`CredentialKind::WorkloadIdentity`] | `tenant_id` / `AZURE_TENANT_ID` | `client_id` / `AZURE_CLIENT_ID` | token file: `token_file` / `AZURE_FEDERATED_TOKEN_FILE` |
//! | [`CredentialKind::ManagedIdentity`] | – | optional user-assigned client id (explicit only) | **process env only** (the crate has no option): `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` (App Service); without them the crate uses IMDS `http://169.254.169.254` |
//! | [`CredentialKind::AzureCli`] | optional `--tenant` (omitted when a subscription is given: az rejects both) | – | runs `/bin/sh -c "cd /bin && az account get-access-token -o json --scope S [--tenant T] [--subscription \"S\"]"`; needs `az` ≥ 2.54 on `PATH`, logged in (for a custom cloud: `az cloud register/set`, `REQUESTS_CA_BUNDLE`) |
//!
//! The authority host comes from the [`Cloud`], overridden by `AZURE_AUTHORITY_HOST`. The credentials
//! are always given an explicit cloud, so the crate itself never reads `AZURE_AUTHORITY_HOST`.
//!
//! Token caching: `ClientSecretCredential`, `WorkloadIdentityCredential` and `ManagedIdentityCredential`
//! cache per scope list inside azure_identity and fetch a new token when the cached one expires within
//! 300 s (so a token that lives less than 5 minutes is never reused). `AzureCliCredential` does not
//! cache (every call runs `az`), so it is wrapped in [`CachedCredential`].
//!
//! Requirements on the caller's `reqwest` (0.13, the version azure_core 1.x implements `HttpClient` for):
//! a rustls crypto provider must be installed before `build()` when reqwest's `rustls-no-provider`
//! feature is used — `azure::http::http_client` does that (ring) and mirrors azure_core's own client
//! settings (no redirects, 20 s connect / 60 s read timeout).

use std::{collections::HashMap, fmt, path::PathBuf, sync::Arc};

use super::cloud::Cloud;

use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport, Url},
    time::{Duration, OffsetDateTime},
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no tenant id for the {kind} credential: set it in the configuration or AZURE_TENANT_ID"
    )]
    MissingTenantId { kind: &'static str },
    #[error(
        "no client id for the {kind} credential: set it in the configuration or AZURE_CLIENT_ID"
    )]
    MissingClientId { kind: &'static str },
    #[error("no client secret: store it in the OS keyring or set AZURE_CLIENT_SECRET")]
    MissingClientSecret,
    #[error("no federated token file: set it in the configuration or AZURE_FEDERATED_TOKEN_FILE")]
    MissingFederatedTokenFile,
    #[error("federated token file {path} is not readable: {source}")]
    FederatedTokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid authority host '{host}': {reason}")]
    InvalidAuthorityHost { host: String, reason: String },
    #[error("could not create the {kind} credential: {source}")]
    Construct {
        kind: &'static str,
        #[source]
        source: azure_core::Error,
    },
    #[error("could not get a token for {scope}: {source}")]
    Token {
        scope: String,
        #[source]
        source: azure_core::Error,
    },
}

impl AuthError {
    /// The whole cause chain on one line. azure_core's top-level messages are often generic (a TLS
    /// failure reads "retry policy expired and the request will no longer be retried"); the cause,
    /// e.g. "invalid peer certificate: UnknownIssuer", is only in the sources.
    pub fn chain(&self) -> String {
        super::error::one_line(self)
    }
}

/// The Entra configuration azure_identity needs for `cloud`, honouring `AZURE_AUTHORITY_HOST`.
fn cloud_configuration(
    cloud: &Cloud,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<CloudConfiguration, AuthError> {
    let host = env(AZURE_AUTHORITY_HOST).unwrap_or_else(|| cloud.authority_host.clone());
    let invalid = |reason: String| AuthError::InvalidAuthorityHost {
        host: host.clone(),
        reason,
    };
    let url = Url::parse(&host).map_err(|e| invalid(e.to_string()))?;
    if url.scheme() != "https" {
        return Err(invalid("it must use https".into()));
    }
    // azure_identity joins the absolute path `/{tenant}/oauth2/v2.0/token`, so a path here would be dropped.
    if url.path() != "/" && !url.path().is_empty() {
        return Err(invalid("it must not have a path".into()));
    }
    let mut custom = CustomConfiguration::default(); // #[non_exhaustive]: no struct literal
    custom.authority_host = host.trim_end_matches('/').to_string();
    Ok(CloudConfiguration::Custom(custom))
}

/// Which credential to build.
#[derive(Clone, Debug)]
pub enum CredentialKind {
    /// Service principal with a client secret.
    ClientSecret { client_id: Option<String> },
    /// Federated token (Kubernetes workload identity, or the simulator's `federatedTokenFile`).
    WorkloadIdentity {
        client_id: Option<String>,
        token_file: Option<PathBuf>,
    },
    /// Managed identity; `None` is the system-assigned identity.
    ManagedIdentity {
        user_assigned_client_id: Option<String>,
    },
    /// The identity logged in to the Azure CLI.
    AzureCli { subscription: Option<String> },
}

impl CredentialKind {
    pub fn name(&self) -> &'static str {
        match self {
            CredentialKind::ClientSecret { .. } => "ClientSecretCredential",
            CredentialKind::WorkloadIdentity { .. } => "WorkloadIdentityCredential",
            CredentialKind::ManagedIdentity { .. } => "ManagedIdentityCredential",
            CredentialKind::AzureCli { .. } => "AzureCliCredential",
        }
    }
}

/// Inputs of [`build_credential`].
#[derive(Clone, Debug)]
pub struct CredentialSettings {
    pub cloud: Cloud,
    /// `None`: `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    pub kind: CredentialKind,
    /// Client secret from the OS keyring; `None`: `AZURE_CLIENT_SECRET`. Only for `ClientSecret`.
    pub secret: Option<Secret>,
    /// `None`: [`short_retry`].
    pub retry: Option<RetryOptions>,
}

/// Retry policy for token requests: at most 2 retries within 4 s (azure_core's default retries
/// transport errors, TLS failures included, for about a minute).
pub fn short_retry() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: Duration::milliseconds(250),
        max_retries: 2,
        max_total_elapsed: Duration::seconds(4),
        max_delay: Duration::seconds(1),
    })
}

/// Reads a process environment variable; empty counts as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Builds the credential with [`process_env`] as the environment.
pub fn build_credential(
    settings: CredentialSettings,
    http: reqwest::Client,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    build_credential_with_env(settings, http, &process_env)
}

/// Builds the credential; `env` supplies the `AZURE_*` fallbacks (injectable for tests).
/// Managed identity reads `IDENTITY_*` from the real process environment regardless (crate limitation).
pub fn build_credential_with_env(
    settings: CredentialSettings,
    http: reqwest::Client,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn TokenCredential>, AuthError> {
    let kind_name = settings.kind.name();
    let construct = |source: azure_core::Error| AuthError::Construct {
        kind: kind_name,
        source,
    };
    let client_options = ClientOptions {
        transport: Some(Transport::new(Arc::new(http))),
        retry: settings.retry.clone().unwrap_or_else(short_retry),
        cloud: Some(Arc::new(cloud_configuration(&settings.cloud, env)?)),
        ..Default::default()
    };
    let tenant = settings
        .tenant_id
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| env(AZURE_TENANT_ID));
    let require_tenant = || {
        tenant
            .clone()
            .ok_or(AuthError::MissingTenantId { kind: kind_name })
    };
    let client_id_or_env = |explicit: &Option<String>| {
        explicit
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| env(AZURE_CLIENT_ID))
            .ok_or(AuthError::MissingClientId { kind: kind_name })
    };

    match &settings.kind {
        CredentialKind::ClientSecret { client_id } => {
            let tenant = require_tenant()?;
            let client_id = client_id_or_env(client_id)?;
            let secret = match settings.secret {
                Some(s) if !s.secret().is_empty() => s,
                _ => env(AZURE_CLIENT_SECRET)
                    .map(Secret::from)
                    .ok_or(AuthError::MissingClientSecret)?,
            };
            let cred = ClientSecretCredential::new(
                &tenant,
                client_id,
                secret,
                Some(ClientSecretCredentialOptions { client_options }),
            )
            .map_err(construct)?;
            Ok(cred)
        }
        CredentialKind::WorkloadIdentity {
            client_id,
            token_file,
        } => {
            let tenant = require_tenant()?;
            let client_id = client_id_or_env(client_id)?;
            let path = token_file
                .clone()
                .or_else(|| env(AZURE_FEDERATED_TOKEN_FILE).map(PathBuf::from))
                .ok_or(AuthError::MissingFederatedTokenFile)?;
            // The crate reads the file here too (and again every 10 minutes); check first for a clear error.
            std::fs::metadata(&path).map_err(|source| AuthError::FederatedTokenFile {
                path: path.clone(),
                source,
            })?;
            let cred = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions { client_options },
                client_id: Some(client_id),
                tenant_id: Some(tenant),
                token_file_path: Some(path),
            }))
            .map_err(construct)?;
            Ok(cred)
        }
        CredentialKind::ManagedIdentity {
            user_assigned_client_id,
        } => {
            let cred = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: user_assigned_client_id
                    .clone()
                    .filter(|c| !c.is_empty())
                    .map(UserAssignedId::ClientId),
                client_options,
            }))
            .map_err(construct)?;
            Ok(cred)
        }
        CredentialKind::AzureCli { subscription } => {
            let subscription = subscription.clone().filter(|s| !s.is_empty());
            let options = AzureCliCredentialOptions {
                // `az account get-access-token` refuses both: "Please specify only one of subscription
                // and tenant, not both". The subscription implies its tenant.
                tenant_id: if subscription.is_none() { tenant } else { None },
                subscription,
                executor: None, // TokioExecutor (feature "tokio")
            };
            let cred = AzureCliCredential::new(Some(options)).map_err(construct)?;
            Ok(Arc::new(CachedCredential::new(cred)))
        }
    }
}

/// Which managed identity endpoint `ManagedIdentityCredential` will use, decided from the process
/// environment exactly as azure_identity 1.0 does (`get_source` in managed_identity_credential.rs).
/// Only `AppService` and `Imds` are supported by the crate; the others make `new()` fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagedIdentitySource {
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R`
    /// with `x-identity-header: {IDENTITY_HEADER}` (re-read on every request) and `metadata: true`.
    AppService,
    /// Nothing set: `http://169.254.169.254/metadata/identity/oauth2/token`, with the crate's own retry
    /// (6 retries, up to 72 s), which replaces ours.
    Imds,
    ServiceFabric,
    AzureArc,
    AzureMl,
    CloudShell,
}

pub fn managed_identity_source() -> ManagedIdentitySource {
    // The crate tests presence (`is_ok()`), not emptiness.
    let set = |k: &str| std::env::var(k).is_ok();
    if set(IDENTITY_ENDPOINT) {
        if set(IDENTITY_HEADER) {
            if set("IDENTITY_SERVER_THUMBPRINT") {
                return ManagedIdentitySource::ServiceFabric;
            }
            return ManagedIdentitySource::AppService;
        } else if set("IMDS_ENDPOINT") {
            return ManagedIdentitySource::AzureArc;
        }
    } else if set("MSI_ENDPOINT") {
        if set("MSI_SECRET") {
            return ManagedIdentitySource::AzureMl;
        }
        return ManagedIdentitySource::CloudShell;
    }
    ManagedIdentitySource::Imds
}

/// Feeds the request pipeline from an azure_identity credential.
pub struct CredentialTokens(pub Arc<dyn TokenCredential>);

impl super::http::TokenSource for CredentialTokens {
    fn fetch<'a>(&'a self, scope: &'a str) -> super::http::TokenFuture<'a> {
        Box::pin(async move {
            let token = get_token(self.0.as_ref(), scope)
                .await
                .map_err(|e| e.chain())?;
            let expires = u64::try_from(token.expires_on.unix_timestamp()).unwrap_or(0);
            Ok(super::http::AccessToken {
                token: crate::model::SecretString::new(token.token.secret()),
                expires_at: std::time::SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(expires),
            })
        })
    }
}

/// Gets a token, mapping the error.
pub async fn get_token(cred: &dyn TokenCredential, scope: &str) -> Result<AccessToken, AuthError> {
    cred.get_token(&[scope], None)
        .await
        .map_err(|source| AuthError::Token {
            scope: scope.to_string(),
            source,
        })
}

/// Per-scope token cache for credentials that don't cache (AzureCliCredential). A token is reused
/// until `min(300 s, half its lifetime)` before it expires; concurrent callers share one fetch.
pub struct CachedCredential {
    inner: Arc<dyn TokenCredential>,
    tokens: tokio::sync::Mutex<HashMap<Vec<String>, CachedToken>>,
}

struct CachedToken {
    token: AccessToken,
    fetched_at: OffsetDateTime,
}

impl CachedToken {
    fn is_fresh(&self, now: OffsetDateTime) -> bool {
        let lifetime = self.token.expires_on - self.fetched_at;
        let margin = std::cmp::min(Duration::seconds(300), lifetime / 2);
        now < self.token.expires_on - margin
    }
}

impl CachedCredential {
    pub fn new(inner: Arc<dyn TokenCredential>) -> Self {
        Self {
            inner,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

impl fmt::Debug for CachedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl TokenCredential for CachedCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let key: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut tokens = self.tokens.lock().await;
        if let Some(cached) = tokens.get(&key) {
            if cached.is_fresh(OffsetDateTime::now_utc()) {
                return Ok(cached.token.clone());
            }
        }
        let fetched_at = OffsetDateTime::now_utc();
        let token = self.inner.get_token(scopes, options).await?;
        tokens.insert(
            key,
            CachedToken {
                token: token.clone(),
                fetched_at,
            },
        );
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn http() -> reqwest::Client {
        crate::azure::http::http_client(&Cloud::public()).expect("client")
    }

    fn example_cloud(authority_host: &str) -> Cloud {
        Cloud {
            authority_host: authority_host.into(),
            ..Cloud::public()
        }
    }

    fn settings(kind: CredentialKind) -> CredentialSettings {
        CredentialSettings {
            cloud: example_cloud("https://login.example.test"),
            tenant_id: None,
            kind,
            secret: None,
            retry: None,
        }
    }

    #[test]
    fn authority_host_comes_from_the_cloud_or_the_environment() {
        let none = env_of(&[]);
        let CloudConfiguration::Custom(c) =
            cloud_configuration(&Cloud::public(), &none).expect("public")
        else {
            panic!("a custom configuration");
        };
        assert_eq!(c.authority_host, "https://login.microsoftonline.com");
        let env = env_of(&[(AZURE_AUTHORITY_HOST, "https://login.other/")]);
        let CloudConfiguration::Custom(c) =
            cloud_configuration(&Cloud::public(), &env).expect("override")
        else {
            panic!("a custom configuration");
        };
        assert_eq!(c.authority_host, "https://login.other");
        for bad in ["http://login.x", "https://login.x/tenant", "not a url"] {
            assert!(
                matches!(
                    cloud_configuration(&example_cloud(bad), &none),
                    Err(AuthError::InvalidAuthorityHost { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn client_secret_env_fallbacks() {
        let kind = CredentialKind::ClientSecret { client_id: None };
        let empty = env_of(&[]);
        assert!(matches!(
            build_credential_with_env(settings(kind.clone()), http(), &empty),
            Err(AuthError::MissingTenantId { .. })
        ));
        let env = env_of(&[(AZURE_TENANT_ID, "t1"), (AZURE_CLIENT_ID, "c1")]);
        assert!(matches!(
            build_credential_with_env(settings(kind.clone()), http(), &env),
            Err(AuthError::MissingClientSecret)
        ));
        let env = env_of(&[
            (AZURE_TENANT_ID, "t1"),
            (AZURE_CLIENT_ID, "c1"),
            (AZURE_CLIENT_SECRET, "s"),
        ]);
        assert!(build_credential_with_env(settings(kind), http(), &env).is_ok());
    }

    #[test]
    fn workload_identity_needs_file() {
        let kind = CredentialKind::WorkloadIdentity {
            client_id: Some("c".into()),
            token_file: Some("/nonexistent/azdeck-token".into()),
        };
        let env = env_of(&[(AZURE_TENANT_ID, "t1")]);
        assert!(matches!(
            build_credential_with_env(settings(kind), http(), &env),
            Err(AuthError::FederatedTokenFile { .. })
        ));
    }

    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("t{n}"),
                OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    #[tokio::test]
    async fn cache_reuses_and_refreshes() {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: Duration::seconds(3600),
        });
        let cached = CachedCredential::new(inner.clone());
        let a = get_token(&cached, "s/.default").await.expect("token");
        let b = get_token(&cached, "s/.default").await.expect("token");
        assert_eq!(a.token.secret(), b.token.secret());
        get_token(&cached, "other/.default").await.expect("token");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);

        // 2 s tokens: reused for the first second, refreshed after.
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: Duration::seconds(2),
        });
        let cached = CachedCredential::new(inner.clone());
        get_token(&cached, "s").await.expect("token");
        get_token(&cached, "s").await.expect("token");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        get_token(&cached, "s").await.expect("token");
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }
}
