//! A real simulated Azure for one test: started in-process on a free port, spoken to over HTTPS
//! with a client that trusts its CA and resolves its host names to loopback — the same path any
//! client takes, no handler is called directly.

use std::net::SocketAddr;
use std::time::Duration;

use azdeck::model::SimEnvironment;
use azdeck::sim::state::Settings;
use azdeck::sim::{self, SimHandle, SimOptions};
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

pub struct TestSim {
    pub handle: SimHandle,
    pub client: Client,
    pub token: String,
    _dir: tempfile::TempDir,
}

pub fn client_for(env: &SimEnvironment, addr: SocketAddr, vaults: &[&str]) -> Client {
    // reqwest brings no TLS provider of its own here: rustls with ring, as in the product.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(&env.ca_file).expect("CA file written by the simulator");
    let cert = reqwest::Certificate::from_pem(&ca).expect("CA is PEM");
    let mut builder = Client::builder()
        .tls_certs_merge([cert])
        .timeout(Duration::from_secs(30))
        .resolve(&format!("login.{}", sim::DEFAULT_DOMAIN), addr)
        .resolve(&format!("management.{}", sim::DEFAULT_DOMAIN), addr);
    for v in vaults {
        builder = builder.resolve(&format!("{v}.vault.{}", sim::DEFAULT_DOMAIN), addr);
    }
    builder.build().expect("client")
}

/// A client that reaches `hosts` (e.g. container apps' FQDNs) at the simulator; URLs must carry
/// the simulator's port.
pub fn client_for_hosts(env: &SimEnvironment, addr: SocketAddr, hosts: &[&str]) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(&env.ca_file).expect("CA file written by the simulator");
    let cert = reqwest::Certificate::from_pem(&ca).expect("CA is PEM");
    let mut builder = Client::builder()
        .tls_certs_merge([cert])
        .timeout(Duration::from_secs(30));
    for h in hosts {
        builder = builder.resolve(h, addr);
    }
    builder.build().expect("client")
}

impl TestSim {
    /// The default world, in fast mode (LROs take 200 ms, `retry-after-ms: 50`).
    pub async fn start() -> TestSim {
        Self::start_with("default", Settings::fast()).await
    }

    pub async fn start_with(world: &str, settings: Settings) -> TestSim {
        let dir = tempfile::tempdir().expect("temp dir");
        let handle = sim::start(SimOptions {
            port: 0,
            world: world.to_string(),
            state_dir: None,
            env_out: Some(dir.path().join("env.json")),
            settings: Some(settings),
            ..SimOptions::default()
        })
        .await
        .expect("simulator starts");
        let client = client_for(
            &handle.env,
            handle.addr,
            &["kv-platform-prod", "kv-platform-dev"],
        );
        let mut sim = TestSim {
            handle,
            client,
            token: String::new(),
            _dir: dir,
        };
        sim.token = sim.fresh_token().await;
        sim
    }

    pub fn env(&self) -> &SimEnvironment {
        &self.handle.env
    }

    pub fn arm(&self) -> &str {
        &self.handle.env.endpoints.resource_manager
    }

    /// The prod subscription of the default world.
    pub fn prod_sub(&self) -> String {
        self.env()
            .subscriptions
            .iter()
            .find(|s| s.name == "platform-prod")
            .map(|s| s.id.clone())
            .unwrap_or_else(|| self.env().subscriptions[0].id.clone())
    }

    pub async fn fresh_token(&self) -> String {
        let scope = format!("{}.default", self.env().endpoints.resource_manager);
        token_for(&self.client, self.env(), &scope).await
    }

    /// `path` is relative to ARM's root (no leading slash needed) or an absolute URL.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.arm(), path.trim_start_matches('/'))
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.send(Method::GET, path, None).await;
        status_json(resp).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(&format!("_sim/{path}")))
            .bearer_auth(&self.env().admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        status_json(req.send().await.expect("admin request")).await
    }

    /// The simulator's request log since sequence number `since`.
    pub async fn requests_since(&self, since: u64) -> Vec<Value> {
        let (_, body) = self
            .admin(Method::GET, &format!("requests?since={since}"), None)
            .await;
        body["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Changing ARM requests (not GET, not the simulator's own `/_sim` API) in the log since
    /// `since`.
    pub async fn mutations_since(&self, since: u64) -> Vec<Value> {
        self.requests_since(since)
            .await
            .into_iter()
            .filter(|r| {
                r["method"] != "GET"
                    && r["host"]
                        .as_str()
                        .is_some_and(|h| h.starts_with("management."))
            })
            .filter(|r| !r["path"].as_str().unwrap_or("").contains("/_sim"))
            .collect()
    }

    pub async fn last_seq(&self) -> u64 {
        let (_, body) = self
            .admin(Method::GET, "requests?since=999999999", None)
            .await;
        body["lastSeq"].as_u64().unwrap_or(0)
    }

    pub async fn add_fault(&self, rule: Value) -> String {
        let (status, body) = self.admin(Method::POST, "faults", Some(rule)).await;
        assert_eq!(status, 201, "fault accepted: {body}");
        body["id"].as_str().unwrap_or_default().to_string()
    }

    pub async fn settings(&self, patch: Value) {
        let (status, body) = self.admin(Method::PATCH, "settings", Some(patch)).await;
        assert_eq!(status, 200, "settings accepted: {body}");
    }

    pub async fn advance_clock(&self, secs: i64) {
        let (status, _) = self
            .admin(
                Method::POST,
                "clock",
                Some(json!({ "advanceSeconds": secs })),
            )
            .await;
        assert_eq!(status, 200);
    }

    /// Polls an `Azure-AsyncOperation` URL until the operation ends; returns its final body.
    pub async fn wait_operation(&self, url: &str) -> Value {
        for _ in 0..200 {
            let (status, body) = self.get(url).await;
            assert_eq!(status, 200, "operation status readable: {body}");
            if body["status"] != "InProgress" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("operation {url} did not finish");
    }

    pub async fn stop(self) {
        self.handle.shutdown().await;
    }
}

/// A token from the simulated Entra ID for the environment's service principal and `scope`.
pub async fn token_for(client: &Client, env: &SimEnvironment, scope: &str) -> String {
    let resp = client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            env.endpoints.active_directory, env.tenant_id
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", env.service_principal.client_id.as_str()),
            (
                "client_secret",
                env.service_principal.client_secret.as_str(),
            ),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200, "token endpoint answers 200");
    let body: Value = resp.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

pub async fn status_json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

pub fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The client's request pipeline on this simulator, as a service principal (read-only when
/// asked), plus the plain HTTP client it sends with: what a `Session` would build.
pub fn pipeline_for(sim: &TestSim, read_only: bool) -> (azdeck::azure::http::Pipeline, Client) {
    use azdeck::azure::auth::{
        build_credential, CredentialKind, CredentialSettings, CredentialTokens,
    };
    use azdeck::azure::cloud::Cloud;
    use azdeck::azure::http::{http_client, Pipeline};
    let (custom, _) = azdeck::config::from_sim(sim.env());
    let cloud = Cloud::custom("sim", &custom).expect("the simulator is a custom cloud");
    let http = http_client(&cloud).expect("HTTP client");
    let credential = build_credential(
        CredentialSettings {
            cloud: cloud.clone(),
            tenant_id: Some(sim.env().tenant_id.clone()),
            kind: CredentialKind::ClientSecret {
                client_id: Some(sim.env().service_principal.client_id.clone()),
            },
            secret: Some(azure_core::credentials::Secret::from(
                sim.env().service_principal.client_secret.clone(),
            )),
            retry: None,
        },
        http.clone(),
    )
    .expect("credential");
    let pipeline = Pipeline::new(
        &cloud,
        http.clone(),
        std::sync::Arc::new(CredentialTokens(credential)),
        read_only,
    )
    .expect("pipeline");
    (pipeline, http)
}
