//! Key Vault secrets, through the official `azure_security_keyvault_secrets` crate.
//!
//! The crate's `SecretClient` gets our transport (the cloud's `reqwest` client: its CA, its name
//! resolution) and a credential fed by the pipeline's token source; it answers Key Vault's 401
//! challenge itself and asks for a token for the audience the challenge names (checked against the
//! vault's host). What azdeck adds around it, in [`AzdeckPolicy`] and here:
//! - read-only environments: every change is refused before anything is sent;
//! - each call traced in an `azure_call` span (method, URL, client request id, status) like ARM
//!   calls, and reported to the run recording it; the crate's own `x-ms-client-request-id` is used;
//! - values as [`SecretString`]: never in `Debug`, errors or spans (errors carry Key Vault's code
//!   and message only, never a body we sent);
//! - tokens go only to hosts under the cloud's Key Vault DNS suffix.
//!
//! Limits of the crate we live with: the value passes through plain `String`s inside the crate
//! (its models and the serialised request body), which we cannot zeroize.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::headers::HeaderName;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Request, RequestContent, RetryOptions,
    Transport,
};
use azure_core::time::{Duration, OffsetDateTime};
use azure_security_keyvault_secrets::models::{
    DeletedSecret as RawDeleted, Secret as RawSecret, SecretAttributes,
    SecretClientGetSecretOptions, SecretClientUpdateSecretPropertiesOptions,
    SecretProperties as RawProperties, SetSecretParameters, UpdateSecretPropertiesParameters,
};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use tracing::Instrument;
use zeroize::Zeroize;

use super::http::{redact_url, report_call, CallRecord, Pipeline, TokenSource};
use crate::model::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum KeyVaultError {
    #[error("environment is read-only: {operation} {url} would change Key Vault and was not sent")]
    ReadOnly {
        operation: &'static str,
        url: String,
    },
    #[error("invalid vault URL {0:?}")]
    VaultUrl(String),
    #[error("{url} is not a Key Vault of this cloud (its host must end in .{suffix}): no token is sent there")]
    ForeignHost { url: String, suffix: String },
    #[error("invalid secret name {0:?}: 1-127 letters, digits and hyphens")]
    Name(String),
    #[error("Key Vault answered {status} {code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    #[error("Key Vault request failed: {0}")]
    Request(String),
    #[error("unexpected answer from Key Vault: {0}")]
    Decode(String),
}

impl KeyVaultError {
    pub fn status(&self) -> Option<u16> {
        match self {
            KeyVaultError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// Maps the crate's error to ours: the service's code and message, never a body or a header.
fn service_error(e: azure_core::Error) -> KeyVaultError {
    use azure_core::error::ErrorKind;
    match e.kind() {
        ErrorKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } => {
            let body: Option<serde_json::Value> = raw_response
                .as_ref()
                .and_then(|r| serde_json::from_slice(r.body().as_ref()).ok());
            let err = body.as_ref().map(|b| &b["error"]);
            let text = |k: &str| err.and_then(|e| e[k].as_str()).map(str::to_string);
            let inner = err.and_then(|e| e["innererror"]["code"].as_str());
            let code = text("code")
                .or_else(|| error_code.clone())
                .unwrap_or_else(|| "Unknown".into());
            let code = match inner {
                Some(i) => format!("{code} ({i})"),
                None => code,
            };
            KeyVaultError::Service {
                status: u16::from(*status),
                code,
                message: text("message").unwrap_or_default(),
            }
        }
        ErrorKind::DataConversion => KeyVaultError::Decode(super::error::one_line(&e)),
        _ => KeyVaultError::Request(super::error::one_line(&e)),
    }
}

/// A secret's properties (never its value), as list, versions, set and update return them.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SecretProperties {
    pub name: String,
    /// `None` where Key Vault does not say (list items name the secret, not a version).
    pub version: Option<String>,
    pub id: Option<String>,
    pub enabled: Option<bool>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub managed: bool,
}

/// A secret with its value.
#[derive(Debug, Clone)]
pub struct SecretBundle {
    pub properties: SecretProperties,
    pub value: SecretString,
}

/// A soft-deleted secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletedSecret {
    pub properties: SecretProperties,
    pub recovery_id: Option<String>,
    pub deleted: Option<DateTime<Utc>>,
    pub scheduled_purge: Option<DateTime<Utc>>,
}

/// What `set` sends besides the value.
#[derive(Debug, Clone, Default)]
pub struct NewSecret {
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub enabled: Option<bool>,
    pub expires: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
}

/// Attribute changes of one version; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretUpdate {
    pub enabled: Option<bool>,
    pub expires: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
    pub content_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

fn to_chrono(t: Option<OffsetDateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.unix_timestamp(), 0))
}

fn to_offset(t: Option<DateTime<Utc>>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t.timestamp()).ok())
}

/// `https://{vault}/secrets/{name}[/{version}]` → (name, version).
pub fn parse_secret_id(id: &str) -> Option<(String, Option<String>)> {
    let url = url::Url::parse(id).ok()?;
    let mut segments = url.path_segments()?.filter(|s| !s.is_empty());
    if !matches!(segments.next(), Some("secrets" | "deletedsecrets")) {
        return None;
    }
    let name = segments.next()?.to_string();
    Some((name, segments.next().map(str::to_string)))
}

fn properties(
    id: Option<String>,
    attributes: Option<SecretAttributes>,
    content_type: Option<String>,
    tags: Option<std::collections::HashMap<String, String>>,
    managed: Option<bool>,
) -> SecretProperties {
    let (name, version) = id.as_deref().and_then(parse_secret_id).unwrap_or_default();
    let a = attributes.unwrap_or_default();
    SecretProperties {
        name,
        version,
        id,
        enabled: a.enabled,
        created: to_chrono(a.created),
        updated: to_chrono(a.updated),
        expires: to_chrono(a.expires),
        not_before: to_chrono(a.not_before),
        content_type,
        tags: tags.unwrap_or_default().into_iter().collect(),
        managed: managed.unwrap_or(false),
    }
}

fn from_list_item(p: RawProperties) -> SecretProperties {
    properties(p.id, p.attributes, p.content_type, p.tags, p.managed)
}

/// Properties of a bundle; its value, if any, is wiped.
fn from_bundle(mut s: RawSecret) -> SecretProperties {
    if let Some(v) = s.value.as_mut() {
        v.zeroize();
    }
    properties(s.id, s.attributes, s.content_type, s.tags, s.managed)
}

fn from_deleted(d: RawDeleted) -> DeletedSecret {
    DeletedSecret {
        properties: properties(d.id, d.attributes, d.content_type, d.tags, d.managed),
        recovery_id: d.recovery_id,
        deleted: to_chrono(d.deleted_date),
        scheduled_purge: to_chrono(d.scheduled_purge_date),
    }
}

pub fn check_name(name: &str) -> Result<(), KeyVaultError> {
    let ok = !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(KeyVaultError::Name(name.chars().take(130).collect()))
    }
}

/// Feeds the crate's authentication policy from the pipeline's token source (the environment's
/// credential and its cache), for whatever audience the vault's challenge names.
#[derive(Clone)]
struct PipelineCredential(Arc<dyn TokenSource>);

impl std::fmt::Debug for PipelineCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipelineCredential")
    }
}

#[async_trait::async_trait]
impl TokenCredential for PipelineCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let scope = scopes.first().copied().unwrap_or_default();
        let token = self.0.fetch(scope).await.map_err(|message| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
        })?;
        let secs = token
            .expires_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let expires =
            OffsetDateTime::from_unix_timestamp(secs).unwrap_or_else(|_| OffsetDateTime::now_utc());
        Ok(AccessToken::new(token.token.expose().to_string(), expires))
    }
}

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

struct Attempts(Arc<AtomicU32>);

fn is_change(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head)
}

/// Per call: refuses changes in a read-only environment (a second line behind the client's own
/// check), traces the call like the ARM pipeline does and reports it to the run recording calls.
#[derive(Debug)]
struct AzdeckPolicy {
    read_only: bool,
}

#[async_trait::async_trait]
impl Policy for AzdeckPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let method = request.method();
        let url = redact_url(request.url());
        if self.read_only && is_change(method) {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                format!("environment is read-only: {method} {url} was not sent"),
            ));
        }
        let client_request_id = request
            .headers()
            .get_optional_str(&CLIENT_REQUEST_ID)
            .unwrap_or_default()
            .to_string();
        let span = tracing::info_span!(
            "azure_call",
            method = %method,
            url = %url,
            client_request_id = %client_request_id,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let attempts = Arc::new(AtomicU32::new(0));
        let ctx = ctx.clone().with_value(Attempts(attempts.clone()));
        let started = Instant::now();
        let result = next[0]
            .send(&ctx, request, &next[1..])
            .instrument(span.clone())
            .await;
        let (status, request_id) = match &result {
            Ok(r) => (
                u16::from(r.status()),
                r.headers()
                    .get_optional_str(&REQUEST_ID)
                    .map(str::to_string),
            ),
            Err(e) => (e.http_status().map(u16::from).unwrap_or(0), None),
        };
        let attempts = attempts.load(Ordering::SeqCst);
        span.record("status", status);
        span.record("attempts", attempts);
        if let Some(id) = &request_id {
            span.record("request_id", id.as_str());
        }
        report_call(CallRecord {
            method: method.to_string(),
            url,
            status,
            attempts,
            client_request_id,
            request_id,
            correlation_id: None,
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
        result
    }
}

/// Per try (the challenge's resend included): counts attempts for the call record.
#[derive(Debug)]
struct AttemptPolicy;

#[async_trait::async_trait]
impl Policy for AttemptPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if let Some(a) = ctx.value::<Attempts>() {
            a.0.fetch_add(1, Ordering::SeqCst);
        }
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The secrets of one vault.
pub struct KeyVaultClient {
    client: SecretClient,
    vault_url: String,
    read_only: bool,
}

impl std::fmt::Debug for KeyVaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultClient")
            .field("vault_url", &self.vault_url)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl KeyVaultClient {
    /// The vault named `vault` of the pipeline's cloud.
    pub fn for_vault(pipeline: &Pipeline, vault: &str) -> Result<Self, KeyVaultError> {
        Self::new(pipeline, &pipeline.cloud().vault_url(vault))
    }

    /// The vault at `vault_url` (e.g. a vault resource's `properties.vaultUri`), which must be a
    /// host under the cloud's Key Vault DNS suffix.
    pub fn new(pipeline: &Pipeline, vault_url: &str) -> Result<Self, KeyVaultError> {
        let mut url = url::Url::parse(vault_url)
            .map_err(|_| KeyVaultError::VaultUrl(vault_url.to_string()))?;
        if url.scheme() != "https" || url.host_str().is_none() {
            return Err(KeyVaultError::VaultUrl(vault_url.to_string()));
        }
        let cloud = pipeline.cloud();
        let suffix = cloud.key_vault_dns_suffix.to_ascii_lowercase();
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if !host.ends_with(&format!(".{suffix}")) {
            return Err(KeyVaultError::ForeignHost {
                url: vault_url.to_string(),
                suffix,
            });
        }
        // The simulator's vaults listen on its port; ARM's vaultUri may omit it.
        if url.port().is_none() {
            if let Some(port) = cloud
                .resolve
                .as_ref()
                .filter(|_| cloud.resolve_host(&host).is_some())
                .map(|r| r.address.port())
                .filter(|p| *p != 443)
            {
                let _ = url.set_port(Some(port));
            }
        }
        url.set_path("/");
        url.set_query(None);
        let vault_url = url.to_string();
        let options = SecretClientOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(pipeline.http().clone()))),
                per_call_policies: vec![Arc::new(AzdeckPolicy {
                    read_only: pipeline.is_read_only(),
                })],
                per_try_policies: vec![Arc::new(AttemptPolicy)],
                // A few quick retries: throttling and transient 5xx only (the crate's rule).
                retry: RetryOptions::exponential(ExponentialRetryOptions {
                    initial_delay: Duration::milliseconds(500),
                    max_retries: 3,
                    max_total_elapsed: Duration::seconds(30),
                    max_delay: Duration::seconds(8),
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let client = SecretClient::new(
            &vault_url,
            Arc::new(PipelineCredential(pipeline.tokens())),
            Some(options),
        )
        .map_err(|e| {
            KeyVaultError::VaultUrl(format!("{vault_url}: {}", super::error::one_line(&e)))
        })?;
        Ok(Self {
            client,
            vault_url,
            read_only: pipeline.is_read_only(),
        })
    }

    pub fn vault_url(&self) -> &str {
        &self.vault_url
    }

    /// `https://{vault}/secrets/{name}[/{version}]`, as plans show it.
    pub fn secret_url(&self, name: &str, version: Option<&str>) -> String {
        match version {
            Some(v) => format!("{}secrets/{name}/{v}", self.vault_url),
            None => format!("{}secrets/{name}", self.vault_url),
        }
    }

    fn writable(&self, operation: &'static str, url: String) -> Result<(), KeyVaultError> {
        if self.read_only {
            tracing::warn!(operation, url = %url, "refused: read-only environment");
            return Err(KeyVaultError::ReadOnly { operation, url });
        }
        Ok(())
    }

    /// Every secret's properties (no values; managed and deleted ones as Key Vault lists them).
    pub async fn list_secrets(&self) -> Result<Vec<SecretProperties>, KeyVaultError> {
        let mut pager = self
            .client
            .list_secret_properties(None)
            .map_err(service_error)?;
        let mut out = Vec::new();
        while let Some(item) = pager.try_next().await.map_err(service_error)? {
            out.push(from_list_item(item));
        }
        Ok(out)
    }

    /// Every version of a secret, oldest first (by `created`).
    pub async fn list_versions(&self, name: &str) -> Result<Vec<SecretProperties>, KeyVaultError> {
        check_name(name)?;
        let mut pager = self
            .client
            .list_secret_properties_versions(name, None)
            .map_err(service_error)?;
        let mut out = Vec::new();
        while let Some(item) = pager.try_next().await.map_err(service_error)? {
            out.push(from_list_item(item));
        }
        // Stable: versions created in the same second keep Key Vault's order.
        out.sort_by_key(|p| p.created);
        Ok(out)
    }

    /// The latest version's properties without reading its value (from the versions list, so a
    /// disabled latest version is shown too). `None` when the secret does not exist.
    pub async fn latest_properties(
        &self,
        name: &str,
    ) -> Result<Option<SecretProperties>, KeyVaultError> {
        match self.list_versions(name).await {
            Ok(mut versions) => Ok(versions.pop()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The latest version, or `version`, with its value.
    pub async fn get(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<SecretBundle, KeyVaultError> {
        check_name(name)?;
        let options = SecretClientGetSecretOptions {
            secret_version: version.map(str::to_string),
            ..Default::default()
        };
        let mut secret: RawSecret = self
            .client
            .get_secret(name, Some(options))
            .await
            .map_err(service_error)?
            .into_model()
            .map_err(service_error)?;
        let value = SecretString::new(secret.value.take().unwrap_or_default());
        Ok(SecretBundle {
            properties: from_bundle(secret),
            value,
        })
    }

    /// Adds a version; returns its properties (the new `version` and `id`).
    pub async fn set(
        &self,
        name: &str,
        value: &SecretString,
        new: &NewSecret,
    ) -> Result<SecretProperties, KeyVaultError> {
        check_name(name)?;
        self.writable("set", self.secret_url(name, None))?;
        let attributes = (new.enabled.is_some()
            || new.expires.is_some()
            || new.not_before.is_some())
        .then(|| SecretAttributes {
            enabled: new.enabled,
            expires: to_offset(new.expires),
            not_before: to_offset(new.not_before),
            ..Default::default()
        });
        let mut params = SetSecretParameters {
            content_type: new.content_type.clone(),
            secret_attributes: attributes,
            tags: (!new.tags.is_empty()).then(|| {
                new.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
            value: Some(value.expose().to_string()),
        };
        let body = serde_json::to_vec(&params);
        if let Some(v) = params.value.as_mut() {
            v.zeroize();
        }
        let mut body = body.map_err(|e| KeyVaultError::Decode(e.to_string()))?;
        let content = RequestContent::from(body.clone());
        body.zeroize();
        let secret = self
            .client
            .set_secret(name, content, None)
            .await
            .map_err(service_error)?
            .into_model()
            .map_err(service_error)?;
        Ok(from_bundle(secret))
    }

    /// Changes the attributes of `version` (the latest when `None`).
    pub async fn update(
        &self,
        name: &str,
        version: Option<&str>,
        update: &SecretUpdate,
    ) -> Result<SecretProperties, KeyVaultError> {
        check_name(name)?;
        self.writable("update", self.secret_url(name, version))?;
        let attributes =
            (update.enabled.is_some() || update.expires.is_some() || update.not_before.is_some())
                .then(|| SecretAttributes {
                    enabled: update.enabled,
                    expires: to_offset(update.expires),
                    not_before: to_offset(update.not_before),
                    ..Default::default()
                });
        let params = UpdateSecretPropertiesParameters {
            content_type: update.content_type.clone(),
            secret_attributes: attributes,
            tags: update
                .tags
                .as_ref()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        };
        let body = serde_json::to_vec(&params).map_err(|e| KeyVaultError::Decode(e.to_string()))?;
        let options = SecretClientUpdateSecretPropertiesOptions {
            secret_version: version.map(str::to_string),
            ..Default::default()
        };
        let secret = self
            .client
            .update_secret_properties(name, RequestContent::from(body), Some(options))
            .await
            .map_err(service_error)?
            .into_model()
            .map_err(service_error)?;
        Ok(from_bundle(secret))
    }

    /// Soft delete (every version).
    pub async fn delete(&self, name: &str) -> Result<DeletedSecret, KeyVaultError> {
        check_name(name)?;
        self.writable("delete", self.secret_url(name, None))?;
        let mut deleted = self
            .client
            .delete_secret(name, None)
            .await
            .map_err(service_error)?
            .into_model()
            .map_err(service_error)?;
        if let Some(v) = deleted.value.as_mut() {
            v.zeroize();
        }
        Ok(from_deleted(deleted))
    }

    /// Brings a soft-deleted secret back.
    pub async fn recover(&self, name: &str) -> Result<SecretProperties, KeyVaultError> {
        check_name(name)?;
        self.writable(
            "recover",
            format!("{}deletedsecrets/{name}/recover", self.vault_url),
        )?;
        let secret = self
            .client
            .recover_deleted_secret(name, None)
            .await
            .map_err(service_error)?
            .into_model()
            .map_err(service_error)?;
        Ok(from_bundle(secret))
    }

    /// Removes a soft-deleted secret for good.
    pub async fn purge(&self, name: &str) -> Result<(), KeyVaultError> {
        check_name(name)?;
        self.writable("purge", format!("{}deletedsecrets/{name}", self.vault_url))?;
        self.client
            .purge_deleted_secret(name, None)
            .await
            .map_err(service_error)?;
        Ok(())
    }

    /// The soft-deleted secrets.
    pub async fn list_deleted(&self) -> Result<Vec<DeletedSecret>, KeyVaultError> {
        let mut pager = self
            .client
            .list_deleted_secret_properties(None)
            .map_err(service_error)?;
        let mut out = Vec::new();
        while let Some(d) = pager.try_next().await.map_err(service_error)? {
            out.push(DeletedSecret {
                properties: properties(d.id, d.attributes, d.content_type, d.tags, d.managed),
                recovery_id: d.recovery_id,
                deleted: to_chrono(d.deleted_date),
                scheduled_purge: to_chrono(d.scheduled_purge_date),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ids_name_the_secret_and_version() {
        assert_eq!(
            parse_secret_id("https://kv.vault.azure.net/secrets/db/0123abcd"),
            Some(("db".into(), Some("0123abcd".into())))
        );
        assert_eq!(
            parse_secret_id("https://kv.vault.azure.net/secrets/db"),
            Some(("db".into(), None))
        );
        assert_eq!(parse_secret_id("https://kv.vault.azure.net/keys/k"), None);
    }

    #[test]
    fn names_follow_key_vault_rules() {
        assert!(check_name("newsapi-api-key").is_ok());
        for bad in ["", "a_b", "a/b", &"x".repeat(128)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bundle_prints_no_value() {
        let b = SecretBundle {
            properties: SecretProperties::default(),
            value: SecretString::new("canary-4711"),
        };
        assert!(!format!("{b:?}").contains("canary"));
    }
}
