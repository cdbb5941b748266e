//! The one request pipeline: every call azdeck makes to Azure Resource Manager goes through
//! `Pipeline::send`. It adds the bearer token (fetched, cached and refreshed here), a client
//! request id and the User-Agent; retries what can succeed later (see `retry.rs`) without ever
//! sending a change twice that may have been applied; records ARM's throttle headroom; refuses
//! every change in a read-only environment before anything leaves the machine; and traces each
//! call in a span that carries no token, no body and no secret query value.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use parking_lot::Mutex;
use serde_json::Value;
use tracing::Instrument;

use super::cloud::Cloud;
use super::error::{self, AzureError};
use super::retry::{retry_hint, Decision, Failure, RetryPolicy};
use crate::model::http::is_mutating;
use crate::model::SecretString;

pub const USER_AGENT: &str = concat!("azdeck/", env!("CARGO_PKG_VERSION"));

/// One logical call as a run's audit trail records it: never a token, a body or a secret query
/// value.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CallRecord {
    pub method: String,
    /// Redacted (see [`redact_url`]).
    pub url: String,
    /// 0 when no answer arrived.
    pub status: u16,
    pub attempts: u32,
    pub client_request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    pub elapsed_ms: u64,
}

/// Receives the calls made inside [`record_calls`].
pub type CallSink = Arc<dyn Fn(CallRecord) + Send + Sync>;

tokio::task_local! {
    static CALL_SINK: CallSink;
}

/// Runs `future` with every call its pipeline sends reported to `sink` (how a runbook run records
/// the REST calls of each step without the client knowing about runs).
pub async fn record_calls<F: Future>(sink: CallSink, future: F) -> F::Output {
    CALL_SINK.scope(sink, future).await
}

/// Reports a call to the run recording it, if any (also used by the Key Vault client's policy).
pub(crate) fn report_call(record: CallRecord) {
    let _ = CALL_SINK.try_with(|sink| sink(record));
}

/// A bearer token and when it stops being valid.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_at: SystemTime,
}

pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, String>> + Send + 'a>>;

/// Where tokens come from (the configured credential). The pipeline caches what it is given.
pub trait TokenSource: Send + Sync {
    fn fetch<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;
}

/// What ARM's headers say about how much more we may ask, for the status bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headroom {
    pub reads: Option<u64>,
    pub writes: Option<u64>,
    pub deletes: Option<u64>,
    /// Set while a throttled call waits, to the moment it will try again.
    pub throttled_until: Option<Instant>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("environment is read-only: {method} {url} would change Azure and was not sent")]
    ReadOnly { method: Method, url: String },
    #[error(transparent)]
    Azure(#[from] AzureError),
    #[error("cannot reach {host}: {message}")]
    Transport { host: String, message: String },
    #[error("{method} {url}: the connection failed after the request was sent, so whether Azure applied it is unknown; check the resource before trying again")]
    OutcomeUnknown { method: Method, url: String },
    #[error("cannot get a token for {scope}: {message}")]
    Credential { scope: String, message: String },
    #[error("{0}; the credential has no newer token to offer, which usually means this machine's clock and Azure's disagree: check the system clock")]
    StaleToken(AzureError),
    #[error("invalid request URL {0:?}")]
    Url(String),
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    #[error("unexpected answer from Azure: {0}")]
    Decode(String),
}

/// A request relative to the cloud's ARM endpoint (or an absolute URL, e.g. a nextLink).
#[derive(Debug, Clone)]
pub struct ArmRequest {
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
    pub if_match: Option<String>,
}

impl ArmRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            body: None,
            if_match: None,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn with_if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }
}

#[derive(Debug, Clone)]
pub struct ArmResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Our id for the call, the same on every attempt (ARM echoes it in its logs).
    pub client_request_id: String,
    pub attempts: u32,
}

impl ArmResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-ms-request-id")
    }

    pub fn json(&self) -> Result<Value, ClientError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ClientError::Decode(format!("not JSON: {e}")))
    }
}

/// Resolves the cloud's own host names (e.g. the simulator's) to its address, others through the
/// system resolver.
struct CloudResolver {
    cloud: Cloud,
}

impl reqwest::dns::Resolve for CloudResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let fixed = self.cloud.resolve_host(name.as_str());
        let host = name.as_str().to_string();
        Box::pin(async move {
            if let Some(addr) = fixed {
                let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(addr));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for a cloud: its extra CA, its name resolution, sane timeouts. Official crates
/// that take a transport get this same client.
pub fn http_client(cloud: &Cloud) -> Result<reqwest::Client, ClientError> {
    // reqwest is built without a TLS provider of its own: rustls with ring, as the simulator uses.
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        // As azure_core's own client: credentials must never follow a redirect elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(ca) = &cloud.ca_file {
        let pem = std::fs::read(ca).map_err(|e| {
            ClientError::Setup(format!("cannot read CA file {}: {e}", ca.display()))
        })?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| ClientError::Setup(format!("CA file {} is not PEM: {e}", ca.display())))?;
        builder = builder.tls_certs_merge([cert]);
    }
    if cloud.resolve.is_some() {
        builder = builder.dns_resolver(Arc::new(CloudResolver {
            cloud: cloud.clone(),
        }));
    }
    builder
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))
}

/// Query parameters whose values are secrets (SAS signatures, codes) are shown as `***`.
pub fn redact_url(url: &url::Url) -> String {
    const SECRET: &[&str] = &[
        "sig",
        "signature",
        "code",
        "client_secret",
        "token",
        "access_token",
        "se",
        "st",
        "sp",
        "skoid",
        "sktid",
        "skt",
        "ske",
        "sks",
        "skv",
    ];
    let mut shown = url.clone();
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if SECRET.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.set_password(None).ok();
    shown.to_string()
}

struct CachedToken {
    token: AccessToken,
    fetched: SystemTime,
}

impl CachedToken {
    /// Fresh until 5 minutes before expiry, or the last fifth of a short token's life.
    fn is_fresh(&self, now: SystemTime) -> bool {
        let life = self
            .token
            .expires_at
            .duration_since(self.fetched)
            .unwrap_or_default();
        let margin = (life / 5).min(Duration::from_secs(300));
        now + margin < self.token.expires_at
    }
}

pub struct Pipeline {
    cloud: Cloud,
    http: reqwest::Client,
    base: url::Url,
    scope: String,
    tokens: Arc<dyn TokenSource>,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    retry: RetryPolicy,
    read_only: bool,
    headroom: Arc<Mutex<Headroom>>,
    attempt_timeout: Duration,
}

impl Pipeline {
    pub fn new(
        cloud: &Cloud,
        http: reqwest::Client,
        tokens: Arc<dyn TokenSource>,
        read_only: bool,
    ) -> Result<Self, ClientError> {
        let base = url::Url::parse(&cloud.resource_manager)
            .map_err(|_| ClientError::Url(cloud.resource_manager.clone()))?;
        Ok(Self {
            cloud: cloud.clone(),
            http,
            base,
            scope: cloud.arm_scope(),
            tokens,
            cache: tokio::sync::Mutex::new(None),
            retry: RetryPolicy::default(),
            read_only,
            headroom: Arc::new(Mutex::new(Headroom::default())),
            attempt_timeout: Duration::from_secs(60),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The cloud this pipeline talks to (data-plane clients need its endpoints).
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// The token source, for data-plane clients that ask for other audiences (Key Vault).
    pub fn tokens(&self) -> Arc<dyn TokenSource> {
        self.tokens.clone()
    }

    /// The cloud's HTTP client (its CA, its name resolution), for requests that are not ARM calls
    /// and carry no token (e.g. probing an app's URL).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A handle on the throttle headroom, updated by every answer.
    pub fn headroom(&self) -> Arc<Mutex<Headroom>> {
        self.headroom.clone()
    }

    pub fn url(&self, path_or_url: &str) -> Result<url::Url, ClientError> {
        let parsed = if path_or_url.starts_with("https://") {
            url::Url::parse(path_or_url)
        } else {
            self.base.join(path_or_url.trim_start_matches('/'))
        };
        let url = parsed.map_err(|_| ClientError::Url(path_or_url.to_string()))?;
        // Tokens go to the cloud's ARM host only (nextLink and LRO URLs come from the server).
        if url.scheme() != "https"
            || url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(ClientError::Url(redact_url(&url)));
        }
        Ok(url)
    }

    async fn token(&self) -> Result<SecretString, ClientError> {
        let mut cache = self.cache.lock().await;
        let now = SystemTime::now();
        if let Some(c) = cache.as_ref().filter(|c| c.is_fresh(now)) {
            return Ok(c.token.token.clone());
        }
        let token =
            self.tokens
                .fetch(&self.scope)
                .await
                .map_err(|message| ClientError::Credential {
                    scope: self.scope.clone(),
                    message,
                })?;
        let secret = token.token.clone();
        *cache = Some(CachedToken {
            token,
            fetched: now,
        });
        Ok(secret)
    }

    async fn forget_token(&self) {
        *self.cache.lock().await = None;
    }

    fn record_headroom(&self, headers: &HeaderMap) {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let mut guard = self.headroom.lock();
        let h = &mut *guard;
        for (class, slot) in [
            ("reads", &mut h.reads),
            ("writes", &mut h.writes),
            ("deletes", &mut h.deletes),
        ] {
            if let Some(v) = read(&format!("x-ms-ratelimit-remaining-subscription-{class}"))
                .or_else(|| read(&format!("x-ms-ratelimit-remaining-tenant-{class}")))
            {
                *slot = Some(v);
            }
        }
    }

    /// Sends one logical call, retrying as the policy allows.
    pub async fn send(&self, request: ArmRequest) -> Result<ArmResponse, ClientError> {
        let url = self.url(&request.url)?;
        let mutating = is_mutating(&request.method, url.path());
        if self.read_only && mutating {
            tracing::warn!(method = %request.method, url = %redact_url(&url), "refused: read-only environment");
            return Err(ClientError::ReadOnly {
                method: request.method,
                url: redact_url(&url),
            });
        }
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "azure_call",
            method = %request.method,
            url = %redact_url(&url),
            client_request_id = %client_request_id,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let method = request.method.to_string();
        let shown_url = redact_url(&url);
        let result = self
            .send_with_retries(request, url, mutating, client_request_id.clone())
            .instrument(span)
            .await;
        let (status, attempts, request_id, correlation_id) = match &result {
            Ok(r) => (
                r.status,
                r.attempts,
                r.request_id().map(str::to_string),
                r.header("x-ms-correlation-request-id").map(str::to_string),
            ),
            Err(ClientError::Azure(e)) => (e.status(), 0, None, None),
            Err(_) => (0, 0, None, None),
        };
        report_call(CallRecord {
            method,
            url: shown_url,
            status,
            attempts,
            client_request_id,
            request_id,
            correlation_id,
            elapsed_ms: started.elapsed().as_millis() as u64,
        });
        result
    }

    async fn send_with_retries(
        &self,
        request: ArmRequest,
        url: url::Url,
        mutating: bool,
        client_request_id: String,
    ) -> Result<ArmResponse, ClientError> {
        let started = Instant::now();
        let host = url.host_str().unwrap_or_default().to_string();
        // PUT, PATCH and DELETE are idempotent in ARM; a POST action may not be.
        let may_resend_after_send = !(mutating && request.method == Method::POST);
        let lost = |maybe_sent: bool, message: String| {
            if maybe_sent && !may_resend_after_send {
                return Err(ClientError::OutcomeUnknown {
                    method: request.method.clone(),
                    url: redact_url(&url),
                });
            }
            Ok((
                Failure::Transport,
                ClientError::Transport {
                    host: host.clone(),
                    message,
                },
            ))
        };
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let mut builder = self
                .http
                .request(request.method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header("x-ms-client-request-id", &client_request_id)
                .header("x-ms-return-client-request-id", "true")
                .header("Accept", "application/json");
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            if let Some(etag) = &request.if_match {
                builder = builder.header("If-Match", etag);
            }
            let outcome = tokio::time::timeout(self.attempt_timeout, builder.send()).await;
            let (failure, last_error) = match outcome {
                Ok(Ok(resp)) => {
                    self.record_headroom(resp.headers());
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let hint = retry_hint(
                        headers
                            .iter()
                            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
                        SystemTime::now(),
                    );
                    let body = resp.bytes().await.unwrap_or_default();
                    let span = tracing::Span::current();
                    span.record("status", status);
                    span.record("attempts", attempt);
                    if let Some(id) = headers.get("x-ms-request-id").and_then(|v| v.to_str().ok()) {
                        span.record("request_id", id);
                    }
                    if (200..300).contains(&status) {
                        return Ok(ArmResponse {
                            status,
                            headers,
                            body,
                            client_request_id,
                            attempts: attempt,
                        });
                    }
                    let err = error::from_response(status, &body, hint);
                    // A token that expired on the way: get a new one, once. If the credential
                    // offers the same token again, sending it again cannot help.
                    if status == 401 && !reauthenticated {
                        reauthenticated = true;
                        self.forget_token().await;
                        let fresh = self.token().await?;
                        if fresh.expose() == token.expose() {
                            return Err(ClientError::StaleToken(err));
                        }
                        attempt -= 1;
                        continue;
                    }
                    (Failure::Status { status, hint }, ClientError::Azure(err))
                }
                // A connection that failed before sending can always be retried; one that may
                // have delivered the request only when resending cannot apply a change twice.
                Ok(Err(e)) => lost(!e.is_connect(), error_chain(&e))?,
                Err(_) => lost(
                    true,
                    format!("no answer within {} s", self.attempt_timeout.as_secs()),
                )?,
            };
            let jitter: f64 = rand::random();
            match self
                .retry
                .decide(attempt, &failure, started.elapsed(), jitter)
            {
                Decision::RetryAfter(wait) => {
                    tracing::info!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
                    let throttled = matches!(failure, Failure::Status { status: 429, .. });
                    if throttled {
                        self.headroom.lock().throttled_until = Some(Instant::now() + wait);
                    }
                    tokio::time::sleep(wait).await;
                    if throttled {
                        self.headroom.lock().throttled_until = None;
                    }
                }
                Decision::GiveUp => return Err(last_error),
            }
        }
    }

    /// GET and parse JSON.
    pub async fn get_json(&self, url: &str) -> Result<Value, ClientError> {
        self.send(ArmRequest::get(url)).await?.json()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_secret_query_values() {
        let url = url::Url::parse("https://acct.blob.core.windows.net/c/b?sv=2024-01-01&sig=abc%2Bdef&se=2030&api-version=1").unwrap();
        let shown = redact_url(&url);
        assert!(!shown.contains("abc"), "{shown}");
        assert!(
            shown.contains("sig=***")
                && shown.contains("api-version=1")
                && shown.contains("sv=2024-01-01")
        );
    }

    #[test]
    fn short_tokens_refresh_in_their_last_fifth() {
        let now = SystemTime::now();
        let t = |secs| CachedToken {
            token: AccessToken {
                token: SecretString::new("t"),
                expires_at: now + Duration::from_secs(secs),
            },
            fetched: now,
        };
        assert!(t(3600).is_fresh(now));
        assert!(!t(3600).is_fresh(now + Duration::from_secs(3301)));
        assert!(t(5).is_fresh(now + Duration::from_secs(3)));
        assert!(!t(5).is_fresh(now + Duration::from_millis(4100)));
    }
}
