//! The simulated Key Vault secrets data plane, over HTTPS like any client: the challenge, then
//! set/get/update/list/versions/delete/recover/purge with a token for the vault audience.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{header, status_json, token_for, TestSim};

const V: &str = "7.6";

struct Kv<'a> {
    sim: &'a TestSim,
    token: String,
}

impl<'a> Kv<'a> {
    async fn new(sim: &'a TestSim) -> Kv<'a> {
        let scope = format!(
            "https://{}/.default",
            sim.env().endpoints.key_vault_dns_suffix
        );
        let token = token_for(&sim.client, sim.env(), &scope).await;
        Kv { sim, token }
    }

    fn url(&self, vault: &str, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        let path = if path.contains("api-version=") {
            path.to_string()
        } else {
            format!("{path}{sep}api-version={V}")
        };
        format!(
            "https://{vault}.{}:{}{path}",
            self.sim.env().endpoints.key_vault_dns_suffix,
            self.sim.handle.addr.port()
        )
    }

    async fn call_url(&self, method: Method, url: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .sim
            .client
            .request(method, url)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        status_json(req.send().await.expect("request sent")).await
    }

    async fn call(
        &self,
        method: Method,
        vault: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_url(method, &self.url(vault, path), body).await
    }

    async fn get(&self, vault: &str, path: &str) -> (u16, Value) {
        self.call(Method::GET, vault, path, None).await
    }

    async fn set(&self, vault: &str, name: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, vault, &format!("/secrets/{name}"), Some(body))
            .await
    }
}

fn version_of(bundle: &Value) -> String {
    bundle["id"]
        .as_str()
        .and_then(|id| id.rsplit('/').next())
        .unwrap_or_default()
        .to_string()
}

const DEV: &str = "kv-platform-dev";
const PROD: &str = "kv-platform-prod";

#[tokio::test]
async fn challenge_then_set_and_get() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    // The first request of a client: no token, no body.
    let resp = sim
        .client
        .put(kv.url(DEV, "/secrets/db-url"))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate")
        .unwrap()
        .contains("resource=\"https://vault."));

    let (s, set) = kv
        .set(DEV, "db-url", json!({"value": "postgresql://x"}))
        .await;
    assert_eq!(s, 200, "{set}");
    let id = set["id"].as_str().unwrap();
    let prefix = format!(
        "https://{DEV}.{}:{}/secrets/db-url/",
        sim.env().endpoints.key_vault_dns_suffix,
        sim.handle.addr.port()
    );
    assert!(id.starts_with(&prefix), "{id}");
    let version = version_of(&set);
    assert_eq!(version.len(), 32);
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()));
    let a = &set["attributes"];
    assert_eq!(a["enabled"], true);
    assert!(a["created"].is_i64() && a["updated"].is_i64());
    assert_eq!(a["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(a["recoverableDays"], 90);
    assert_eq!(set["value"], "postgresql://x");

    // Latest with the trailing slash (the clients' form), without it, and by version.
    for path in [
        "/secrets/db-url/".to_string(),
        "/secrets/db-url".to_string(),
        "/secrets/DB-URL/".to_string(),
        format!("/secrets/db-url/{version}"),
    ] {
        let (s, got) = kv.get(DEV, &path).await;
        assert_eq!(s, 200, "{path}: {got}");
        assert_eq!(got["value"], "postgresql://x");
        assert_eq!(got["id"], set["id"]);
    }
    let (s, body) = kv.get(DEV, "/secrets/no-such-secret/").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );
    let (s, body) = kv
        .get(DEV, "/secrets/db-url/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );
    let (s, body) = kv.get(DEV, "/secrets/bad_name/").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    let (s, body) = kv.set(DEV, "no-value", json!({"contentType": "x"})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("BadParameter"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn api_versions_clients_send_are_accepted() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    for v in ["7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"] {
        let (s, body) = kv
            .get(PROD, &format!("/secrets/stripe-secret/?api-version={v}"))
            .await;
        assert_eq!(s, 200, "{v}: {body}");
    }
    let (s, body) = kv
        .get(PROD, "/secrets/stripe-secret/?api-version=1999-01-01")
        .await;
    assert_eq!(s, 400);
    assert_eq!(body["error"]["code"], "BadParameter");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1999-01-01"));
    sim.stop().await;
}

#[tokio::test]
async fn versions_accumulate_and_attributes_update() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    let mut versions = Vec::new();
    for i in 0..3 {
        let (s, b) = kv
            .set(
                DEV,
                "rotating",
                json!({"value": format!("v{i}"), "contentType": "text/plain", "tags": {"round": i.to_string()}}),
            )
            .await;
        assert_eq!(s, 200);
        versions.push(version_of(&b));
        sim.advance_clock(60).await;
    }
    let (_, latest) = kv.get(DEV, "/secrets/rotating/").await;
    assert_eq!(latest["value"], "v2");
    assert_eq!(latest["contentType"], "text/plain");
    assert_eq!(latest["tags"], json!({"round": "2"}));
    let (_, first) = kv
        .get(DEV, &format!("/secrets/rotating/{}", versions[0]))
        .await;
    assert_eq!(first["value"], "v0");

    // Versions list without values, paged by maxresults.
    let mut seen = Vec::new();
    let mut next = Some(kv.url(DEV, "/secrets/rotating/versions?maxresults=2"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let (s, page) = kv.call_url(Method::GET, &url, None).await;
        assert_eq!(s, 200, "{page}");
        pages += 1;
        for item in page["value"].as_array().unwrap() {
            assert!(item.get("value").is_none());
            seen.push(version_of(item));
        }
        next = page["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, versions);

    // Disable the latest: its get is 403 Forbidden/SecretDisabled; exp and nbf round-trip.
    let (exp, nbf) = (1_900_000_000_i64, 1_700_000_000_i64);
    let (s, upd) = kv
        .call(
            Method::PATCH,
            DEV,
            &format!("/secrets/rotating/{}", versions[2]),
            Some(json!({"attributes": {"enabled": false, "exp": exp, "nbf": nbf}, "tags": {"state": "off"}})),
        )
        .await;
    assert_eq!(s, 200, "{upd}");
    assert!(upd.get("value").is_none());
    assert_eq!(upd["attributes"]["enabled"], false);
    assert_eq!(upd["attributes"]["exp"], exp);
    assert_eq!(upd["attributes"]["nbf"], nbf);
    assert_eq!(upd["tags"], json!({"state": "off"}));
    assert!(upd["attributes"]["updated"].as_i64() > upd["attributes"]["created"].as_i64());
    let (s, body) = kv.get(DEV, "/secrets/rotating/").await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "Forbidden");
    assert_eq!(body["error"]["innererror"]["code"], "SecretDisabled");
    assert_eq!(
        body["error"]["message"],
        "Operation get is not allowed on a disabled secret."
    );
    // Older versions still read; re-enabling (PATCH of the latest, no version) restores the get.
    let (s, _) = kv
        .get(DEV, &format!("/secrets/rotating/{}", versions[1]))
        .await;
    assert_eq!(s, 200);
    let (s, _) = kv
        .call(
            Method::PATCH,
            DEV,
            "/secrets/rotating/",
            Some(json!({"attributes": {"enabled": true}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, got) = kv.get(DEV, "/secrets/rotating/").await;
    assert_eq!(s, 200);
    assert_eq!(got["attributes"]["exp"], exp);
    assert_eq!(got["value"], "v2");
    sim.stop().await;
}

#[tokio::test]
async fn list_pages_with_maxresults() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    for i in 0..5 {
        kv.set(DEV, &format!("paged-{i}"), json!({"value": "x"}))
            .await;
    }
    let mut names = Vec::new();
    let mut next = Some(kv.url(DEV, "/secrets?maxresults=2"));
    while let Some(url) = next.take() {
        let (s, page) = kv.call_url(Method::GET, &url, None).await;
        assert_eq!(s, 200, "{page}");
        let items = page["value"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert!(item.get("value").is_none(), "lists carry no values");
            let id = item["id"].as_str().unwrap();
            names.push(id.rsplit('/').next().unwrap().to_string());
        }
        next = page["nextLink"].as_str().map(str::to_string);
    }
    // The three seeded dev secrets and the five new ones, once each.
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.contains(&"paged-4".to_string()));
    let (s, _) = kv.get(DEV, "/secrets?maxresults=26").await;
    assert_eq!(s, 400);
    sim.stop().await;
}

#[tokio::test]
async fn soft_delete_recover_and_purge() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    kv.set(DEV, "short-lived", json!({"value": "x"})).await;
    let (s, del) = kv
        .call(Method::DELETE, DEV, "/secrets/short-lived", None)
        .await;
    assert_eq!(s, 200, "{del}");
    assert!(del["recoveryId"]
        .as_str()
        .unwrap()
        .ends_with("/deletedsecrets/short-lived"));
    let deleted = del["deletedDate"].as_i64().unwrap();
    assert_eq!(
        del["scheduledPurgeDate"].as_i64().unwrap() - deleted,
        90 * 86_400
    );
    assert!(del.get("value").is_none());

    let (s, body) = kv.get(DEV, "/secrets/short-lived/").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("SecretNotFound"))
    );
    // Its name cannot be reused while it is recoverable.
    let (s, body) = kv.set(DEV, "short-lived", json!({"value": "y"})).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "Conflict");
    assert_eq!(
        body["error"]["innererror"]["code"],
        "ObjectIsDeletedButRecoverable"
    );
    let (s, got) = kv.get(DEV, "/deletedsecrets/short-lived").await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["id"], del["id"]);
    let (s, list) = kv.get(DEV, "/deletedsecrets").await;
    assert_eq!(s, 200);
    assert!(list["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["recoveryId"] == del["recoveryId"]));

    // Recover: readable again, with its value.
    let (s, rec) = kv
        .call(
            Method::POST,
            DEV,
            "/deletedsecrets/short-lived/recover",
            None,
        )
        .await;
    assert_eq!(s, 200, "{rec}");
    let (s, got) = kv.get(DEV, "/secrets/short-lived/").await;
    assert_eq!((s, got["value"].as_str()), (200, Some("x")));
    let (s, _) = kv.get(DEV, "/deletedsecrets/short-lived").await;
    assert_eq!(s, 404);

    // Delete again and purge: gone for good, and the name is free.
    let (s, _) = kv
        .call(Method::DELETE, DEV, "/secrets/short-lived", None)
        .await;
    assert_eq!(s, 200);
    let (s, body) = kv
        .call(Method::DELETE, DEV, "/deletedsecrets/short-lived", None)
        .await;
    assert_eq!((s, body), (204, Value::Null));
    let (s, _) = kv.get(DEV, "/deletedsecrets/short-lived").await;
    assert_eq!(s, 404);
    let (s, _) = kv.get(DEV, "/secrets/short-lived/").await;
    assert_eq!(s, 404);
    let (s, _) = kv.set(DEV, "short-lived", json!({"value": "z"})).await;
    assert_eq!(s, 200);

    // Purge protection (prod) refuses the purge; after the retention period the secret is gone.
    let (s, _) = kv
        .call(Method::DELETE, PROD, "/secrets/stripe-secret", None)
        .await;
    assert_eq!(s, 200);
    let (s, body) = kv
        .call(Method::DELETE, PROD, "/deletedsecrets/stripe-secret", None)
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("Forbidden"))
    );
    sim.advance_clock(91 * 86_400).await;
    let kv = Kv::new(&sim).await; // the old token expired meanwhile
    let (s, _) = kv.get(PROD, "/deletedsecrets/stripe-secret").await;
    assert_eq!(s, 404);
    sim.stop().await;
}

#[tokio::test]
async fn tokens_for_other_audiences_and_unknown_vaults_are_refused() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    // The ARM token of TestSim is for management.{domain}: 401 with the challenge again.
    let resp = sim
        .client
        .get(kv.url(PROD, "/secrets/stripe-secret/"))
        .bearer_auth(&sim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(header(&resp, "www-authenticate").is_some());
    let unknown = support::simulator::client_for(sim.env(), sim.handle.addr, &["kv-nowhere"]);
    let (s, body) = status_json(
        unknown
            .get(kv.url("kv-nowhere", "/secrets/x/"))
            .bearer_auth(&kv.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("VaultNotFound"))
    );
    // Backup and restore are not simulated.
    let (s, _) = kv
        .call(Method::POST, PROD, "/secrets/stripe-secret/backup", None)
        .await;
    assert_eq!(s, 501);
    sim.stop().await;
}

#[tokio::test]
async fn seeded_secrets_back_the_apps_key_vault_references() {
    let sim = TestSim::start().await;
    let kv = Kv::new(&sim).await;
    let sub = sim.prod_sub();
    let (s, apps) = sim
        .get(&format!(
            "subscriptions/{sub}/providers/Microsoft.App/containerApps?api-version=2025-07-01"
        ))
        .await;
    assert_eq!(s, 200);
    let mut checked = 0;
    for app in apps["value"].as_array().unwrap() {
        let secrets = app["properties"]["configuration"]["secrets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for secret in secrets {
            let Some(url) = secret["keyVaultUrl"].as_str() else {
                continue;
            };
            let rest = url.strip_prefix("https://").unwrap();
            let (host, path) = rest.split_once('/').unwrap();
            let vault = host.split('.').next().unwrap();
            let (s, body) = kv.get(vault, &format!("/{path}/")).await;
            assert_eq!(s, 200, "{url}: {body}");
            assert!(body["value"].as_str().is_some_and(|v| !v.is_empty()));
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} keyVaultUrls");
    // One prod secret expires within 7 days (the TUI's "expiring soon").
    let (_, list) = kv.get(PROD, "/secrets").await;
    let now = chrono::Utc::now().timestamp();
    let soon = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["attributes"]["exp"]
                .as_i64()
                .is_some_and(|e| e > now && e < now + 7 * 86_400)
        })
        .count();
    assert_eq!(soon, 1);
    // The database credentials have an older, disabled version.
    let (_, versions) = kv
        .get(PROD, "/secrets/newsapi-postgres-credentials/versions")
        .await;
    let v = versions["value"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["attributes"]["enabled"], false);
    // Prod has purge protection: recoveryLevel says so.
    assert_eq!(v[1]["attributes"]["recoveryLevel"], "Recoverable");
    let (s, _) = kv.get(PROD, "/deletedsecrets/acr-pull-token").await;
    assert_eq!(s, 200);
    sim.stop().await;
}
