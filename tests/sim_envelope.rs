//! The ARM envelope of the simulated Azure, over HTTPS: authentication, api-version, routing,
//! errors, paging, throttling, faults, ETags, long-running operations and resource groups.

mod support;

use azdeck::sim::state::Settings;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{header, status_json, TestSim};

const RG_API: &str = "api-version=2025-04-01";
const APP_API: &str = "api-version=2025-07-01";

fn app_path(sub: &str, app: &str) -> String {
    format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/{app}?{APP_API}")
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_as_arm_does() {
    let sim = TestSim::start().await;
    let url = sim.url("subscriptions?api-version=2022-12-01");
    let (status, body) = status_json(sim.client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "AuthenticationFailed");

    let resp = sim
        .client
        .get(&url)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert!(header(&resp, "www-authenticate").is_some_and(|h| h.starts_with("Bearer ")));
    let (status, body) = status_json(resp).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );

    // A token for another audience (Key Vault's) is not accepted by ARM.
    let env = sim.env();
    let vault_scope = format!("https://{}/.default", env.endpoints.key_vault_dns_suffix);
    let vault_token = support::simulator::token_for(&sim.client, env, &vault_scope).await;
    let (status, body) = status_json(
        sim.client
            .get(&url)
            .bearer_auth(&vault_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationTokenAudience"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn expired_tokens_are_refused_and_token_lifetime_is_configurable() {
    let mut short = TestSim::start().await;
    short.settings(json!({ "tokenLifetimeSecs": 5 })).await;
    short.token = short.fresh_token().await;
    let (status, _) = short.get("subscriptions?api-version=2022-12-01").await;
    assert_eq!(status, 200);
    short.advance_clock(6).await;
    let (status, body) = short.get("subscriptions?api-version=2022-12-01").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "ExpiredAuthenticationToken");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("is earlier than current UTC time"));
    short.stop().await;
}

#[tokio::test]
async fn entra_errors_have_entra_shape() {
    let sim = TestSim::start().await;
    let env = sim.env().clone();
    let token_url = format!(
        "{}/{}/oauth2/v2.0/token",
        env.endpoints.active_directory, env.tenant_id
    );
    let scope = format!("{}.default", env.endpoints.resource_manager);
    let cases = [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", env.service_principal.client_id.as_str()),
                ("client_secret", "wrong"),
                ("scope", scope.as_str()),
            ],
            401,
            "invalid_client",
            7000215,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "00000000-0000-0000-0000-000000000000"),
                ("client_secret", "x"),
                ("scope", scope.as_str()),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", env.service_principal.client_id.as_str()),
                (
                    "client_secret",
                    env.service_principal.client_secret.as_str(),
                ),
                ("scope", "openid"),
            ],
            400,
            "invalid_scope",
            1002012,
        ),
    ];
    for (form, status, error, code) in cases {
        let resp = sim
            .client
            .post(&token_url)
            .form(&form)
            .send()
            .await
            .unwrap();
        let (s, body) = status_json(resp).await;
        assert_eq!(s, status, "{body}");
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"][0], code);
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:")));
    }
    // Extra fields MSAL sends are accepted, `expires_in` is a number, and the JWT carries the claims clients read.
    let resp = sim
        .client
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", env.service_principal.client_id.as_str()),
            (
                "client_secret",
                env.service_principal.client_secret.as_str(),
            ),
            (
                "scope",
                &format!(
                    "{}/.default",
                    env.endpoints.resource_manager.trim_end_matches('/')
                ),
            ),
            ("client_info", "1"),
            ("claims", "{}"),
        ])
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert_eq!(s, 200);
    assert!(body["expires_in"].is_number());
    assert_eq!(body["token_type"], "Bearer");
    let claims = azdeck::sim::token::peek_claims(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        claims["aud"],
        env.endpoints.resource_manager.trim_end_matches('/')
    );
    assert_eq!(claims["tid"], env.tenant_id);
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", env.tenant_id)
    );
    assert_eq!(claims["appid"], env.service_principal.client_id);
    sim.stop().await;
}

#[tokio::test]
async fn workload_identity_and_managed_identity_get_tokens() {
    let sim = TestSim::start().await;
    let env = sim.env().clone();
    let assertion = std::fs::read_to_string(&env.federated_token_file).unwrap();
    let token_url = format!(
        "{}/{}/oauth2/v2.0/token",
        env.endpoints.active_directory, env.tenant_id
    );
    let resp = sim
        .client
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", env.service_principal.client_id.as_str()),
            ("client_assertion", assertion.trim()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "scope",
                &format!("{}.default", env.endpoints.resource_manager),
            ),
        ])
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert_eq!(s, 200, "{body}");
    // An assertion for a subject with no federated credential is refused.
    let other = {
        let mut c = azdeck::sim::token::peek_claims(assertion.trim()).unwrap();
        c["sub"] = json!("system:serviceaccount:evil:thief");
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"RS256"}"#),
            e.encode(c.to_string())
        )
    };
    let resp = sim
        .client
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", env.service_principal.client_id.as_str()),
            ("client_assertion", other.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "scope",
                &format!("{}.default", env.endpoints.resource_manager),
            ),
        ])
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert_eq!((s, body["error_codes"][0].as_u64()), (401, Some(700213)));

    // App Service managed identity: header required, expires_on is a string.
    let mi = format!(
        "{}?api-version=2019-08-01&resource={}",
        env.identity_endpoint, env.endpoints.resource_manager
    );
    let (s, _) = status_json(sim.client.get(&mi).send().await.unwrap()).await;
    assert_eq!(s, 401);
    let (s, body) = status_json(
        sim.client
            .get(&mi)
            .header("x-identity-header", &env.identity_header)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert!(body["expires_on"].is_string());
    let token = body["access_token"].as_str().unwrap();
    let (s, _) = status_json(
        sim.client
            .get(sim.url("subscriptions?api-version=2022-12-01"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    // MSAL reads the OpenID configuration first.
    let (s, body) = status_json(
        sim.client
            .get(format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                env.endpoints.active_directory, env.tenant_id
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["token_endpoint"], token_url);
    assert!(body["authorization_endpoint"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn api_version_is_required_and_checked_per_provider() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let (s, body) = sim
        .get(&format!("subscriptions/{sub}/resourcegroups"))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
    let (s, body) = sim
        .get(&format!(
            "subscriptions/{sub}/resourcegroups?api-version=1999-01-01"
        ))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidApiVersionParameter"))
    );
    let bad_app = app_path(&sub, "dagster-webserver").replace("2025-07-01", "2019-01-01");
    let (s, body) = sim.get(&bad_app).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("NoRegisteredProviderFound"))
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2025-07-01"));
    // Versions real clients send are accepted.
    for v in ["2025-07-01", "2026-07-01", "2024-03-01"] {
        let (s, _) = sim
            .get(&app_path(&sub, "dagster-webserver").replace("2025-07-01", v))
            .await;
        assert_eq!(s, 200, "Microsoft.App {v}");
    }
    sim.stop().await;
}

#[tokio::test]
async fn paths_are_case_insensitive_and_headers_are_arm_shaped() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let lower = format!("subscriptions/{sub}/resourcegroups/RG-PLATFORM-PROD/providers/microsoft.app/CONTAINERAPPS/dagster-webserver?{APP_API}");
    let resp = sim
        .client
        .get(sim.url(&lower))
        .bearer_auth(&sim.token)
        .header("x-ms-client-request-id", "abc-123")
        .header("x-ms-correlation-request-id", "corr-9")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "x-ms-request-id").is_some());
    assert_eq!(
        header(&resp, "x-ms-client-request-id").as_deref(),
        Some("abc-123")
    );
    assert_eq!(
        header(&resp, "x-ms-correlation-request-id").as_deref(),
        Some("corr-9")
    );
    assert!(header(&resp, "x-ms-ratelimit-remaining-subscription-reads")
        .is_some_and(|v| v.parse::<u32>().is_ok()));
    assert!(header(&resp, "etag").is_some());
    let body: Value = resp.json().await.unwrap();
    // The canonical id comes back whatever casing was asked.
    assert_eq!(body["id"], format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/dagster-webserver"));
    sim.stop().await;
}

#[tokio::test]
async fn bad_input_gets_azure_shaped_4xx_never_500() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let app = app_path(&sub, "chat-worker");
    // Malformed JSON.
    let resp = sim
        .client
        .put(sim.url(&app))
        .bearer_auth(&sim.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (s, body) = status_json(resp).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidRequestContent"))
    );
    // Wrong types.
    let (s, body) = status_json(
        sim.send(Method::PUT, &app, Some(json!({"location": 5})))
            .await,
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = status_json(sim.send(Method::PUT, &app, Some(json!([1, 2]))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidRequestContent"))
    );
    // Bodies over 4 MiB.
    let big = "x".repeat(4 * 1024 * 1024 + 10);
    let resp = sim
        .client
        .put(sim.url(&app))
        .bearer_auth(&sim.token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Path traversal.
    for path in [
        // (`..` and `%2e%2e` never leave a WHATWG URL parser; the unit tests cover them.)
        format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/a%5Cb?{APP_API}"),
        format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/a%2Fb?{APP_API}"),
    ] {
        let (s, body) = sim.get(&path).await;
        assert_eq!((s, body["error"]["code"].as_str()), (400, Some("InvalidRequestUri")), "{path}");
    }
    // Invalid names per Azure's rules.
    let (s, body) = sim.get(&app_path(&sub, "Bad_Name")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("ContainerAppInvalidName"))
    );
    let (s, body) = sim
        .get(&format!("subscriptions/{sub}/resourcegroups/bad.?{RG_API}"))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidResourceGroupName"))
    );
    // Unknown resource types and namespaces.
    let (s, body) = sim.get(&format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/widgets/a?{APP_API}")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidResourceType"))
    );
    let (s, body) = sim.get(&format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Contoso.Nope/things/a?{RG_API}")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidResourceNamespace"))
    );
    // Not found, with ARM's codes.
    let (s, body) = sim.get(&app_path(&sub, "no-such-app")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("ResourceNotFound"))
    );
    let (s, body) = sim
        .get(&format!(
            "subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?{RG_API}"
        ))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
    // None of it was a 5xx in the log.
    assert!(sim
        .requests_since(0)
        .await
        .iter()
        .all(|r| r["status"].as_u64().unwrap() < 500));
    sim.stop().await;
}

#[tokio::test]
async fn lists_page_with_next_link_until_done() {
    let sim = TestSim::start().await;
    sim.settings(json!({ "pageSize": 2 })).await;
    let sub = sim.prod_sub();
    let mut url = format!("subscriptions/{sub}/resources?{RG_API}");
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (s, body) = sim.get(&url).await;
        assert_eq!(s, 200);
        pages += 1;
        let value = body["value"].as_array().unwrap();
        assert!(value.len() <= 2);
        ids.extend(value.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        match body["nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no item twice");
    assert!(
        ids.len() >= 14,
        "the prod subscription's top-level resources: {}",
        ids.len()
    );
    assert_eq!(pages, ids.len().div_ceil(2));
    // Child resources (revisions, Front Door routes) are not in the generic listing.
    assert!(ids
        .iter()
        .all(|id| !id.contains("/revisions/") && !id.contains("/routes/")));
    // $filter and $top.
    let (s, body) = sim.get(&format!("subscriptions/{sub}/resources?{RG_API}&$filter=resourceType eq 'Microsoft.App/containerApps'&$top=100")).await;
    assert_eq!(s, 200);
    let apps = body["value"].as_array().unwrap();
    assert_eq!(apps.len(), 7);
    assert!(apps
        .iter()
        .all(|a| a["type"] == "Microsoft.App/containerApps"));
    let (s, body) = sim
        .get(&format!(
            "subscriptions/{sub}/resources?{RG_API}&$filter=plan eq 'x'"
        ))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("InvalidFilterInQueryString"))
    );
    let (s, _) = sim
        .get(&format!(
            "subscriptions/{sub}/resources?{RG_API}&$skiptoken=forged"
        ))
        .await;
    assert_eq!(s, 400);
    sim.stop().await;
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let sim = TestSim::start_with(
        "default",
        Settings {
            throttle_scale: 0.02,
            ..Settings::fast()
        },
    )
    .await;
    let sub = sim.prod_sub();
    let path = format!("subscriptions/{sub}/resourcegroups?{RG_API}");
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let resp = sim.send(Method::GET, &path, None).await;
        if resp.status() == 429 {
            retry_after = header(&resp, "retry-after");
        }
        statuses.push(resp.status().as_u16());
    }
    // Scale 0.02 leaves a bucket of 5 reads.
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429));
    assert!(retry_after.is_some_and(|r| r.parse::<u64>().unwrap() >= 1));
    sim.stop().await;
}

#[tokio::test]
async fn fault_rules_inject_throttling_errors_latency_and_drops() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("subscriptions/{sub}/resourcegroups?{RG_API}");
    sim.add_fault(json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "throttle", "retryAfterSecs": 7}, "times": 1})).await;
    sim.add_fault(json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "serverError", "status": 503}, "times": 1, "skip": 1})).await;
    let resp = sim.send(Method::GET, &path, None).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(header(&resp, "retry-after").as_deref(), Some("7"));
    let resp = sim.send(Method::GET, &path, None).await;
    assert_eq!(resp.status(), 503);
    assert!(header(&resp, "retry-after").is_some());
    assert_eq!(sim.send(Method::GET, &path, None).await.status(), 200);

    let drop = sim
        .add_fault(
            json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "drop"}, "times": 1}),
        )
        .await;
    let err = sim
        .client
        .get(sim.url(&path))
        .bearer_auth(&sim.token)
        .send()
        .await;
    assert!(err.is_err(), "the connection is dropped without an answer");
    let log = sim.requests_since(0).await;
    let faults: Vec<&str> = log.iter().filter_map(|r| r["fault"].as_str()).collect();
    assert_eq!(faults.len(), 3, "{faults:?}");
    let (s, _) = sim
        .admin(Method::DELETE, &format!("faults/{drop}"), None)
        .await;
    assert_eq!(s, 204);
    // Bad rules are refused.
    let (s, _) = sim
        .admin(
            Method::POST,
            "faults",
            Some(json!({"action": {"kind": "serverError", "status": 418}})),
        )
        .await;
    assert_eq!(s, 400);
    sim.stop().await;
}

#[tokio::test]
async fn resource_groups_create_update_head_and_delete_as_lro() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let rg = format!("subscriptions/{sub}/resourcegroups/rg-scratch?{RG_API}");
    let (s, body) = status_json(
        sim.send(
            Method::PUT,
            &rg,
            Some(json!({"location": "westeurope", "tags": {"a": "b"}})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    let (s, _) = status_json(
        sim.send(Method::PUT, &rg, Some(json!({"location": "westeurope"})))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = status_json(
        sim.send(Method::PUT, &rg, Some(json!({"location": "eastus"})))
            .await,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("InvalidResourceGroupLocation"))
    );
    let (s, body) = status_json(sim.send(Method::PUT, &rg, Some(json!({"tags": {}}))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("LocationRequired"))
    );
    assert_eq!(sim.send(Method::HEAD, &rg, None).await.status(), 204);
    let resp = sim.send(Method::DELETE, &rg, None).await;
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location").expect("Location header");
    assert!(header(&resp, "retry-after").is_some_and(|r| r.parse::<u64>().unwrap() >= 1));
    // Deleting: still there, then gone.
    let (s, body) = sim.get(&rg).await;
    assert_eq!(
        (s, body["properties"]["provisioningState"].as_str()),
        (200, Some("Deleting"))
    );
    let mut final_status = 0;
    for _ in 0..100 {
        let resp = sim.send(Method::GET, &location, None).await;
        final_status = resp.status().as_u16();
        if final_status != 202 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(matches!(final_status, 200 | 204), "{final_status}");
    assert_eq!(sim.send(Method::HEAD, &rg, None).await.status(), 404);
    sim.stop().await;
}

#[tokio::test]
async fn etags_guard_writes_and_busy_resources_answer_409() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let app = app_path(&sub, "chat-worker");
    let resp = sim.send(Method::GET, &app, None).await;
    let etag = header(&resp, "etag").unwrap();
    let body: Value = resp.json().await.unwrap();
    let stale = sim
        .client
        .put(sim.url(&app))
        .bearer_auth(&sim.token)
        .header("If-Match", "\"stale\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, err) = status_json(stale).await;
    assert_eq!(
        (s, err["error"]["code"].as_str()),
        (412, Some("PreconditionFailed"))
    );
    let ok = sim
        .client
        .put(sim.url(&app))
        .bearer_auth(&sim.token)
        .header("If-Match", &etag)
        .json(&body)
        .send()
        .await
        .unwrap();
    let op = header(&ok, "azure-asyncoperation").expect("a PUT is long-running");
    assert_eq!(ok.status(), 200);
    sim.wait_operation(&op).await;
    // With slow operations, a second change while the first runs is a conflict.
    sim.settings(json!({"lroMs": 60000})).await;
    let mut changed = body.clone();
    // A used revision suffix cannot name a new revision: drop it, as `az containerapp update` does.
    changed["properties"]["template"]
        .as_object_mut()
        .unwrap()
        .remove("revisionSuffix");
    changed["properties"]["template"]["containers"][0]["image"] = json!("acr/chat-worker:2.14.0");
    let first = sim.send(Method::PUT, &app, Some(changed.clone())).await;
    assert_eq!(first.status(), 200);
    changed["properties"]["template"]["containers"][0]["image"] = json!("acr/chat-worker:2.15.0");
    let (s, err) = status_json(sim.send(Method::PUT, &app, Some(changed)).await).await;
    assert_eq!(
        (s, err["error"]["code"].as_str()),
        (409, Some("AnotherOperationInProgress"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn failing_operations_end_failed_with_an_error() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let app = app_path(&sub, "chat-worker");
    sim.add_fault(json!({"match": {"method": "PATCH", "path": "chat-worker"}, "action": {"kind": "failLro", "code": "ContainerAppProvisioningFailed", "message": "Image pull failed"}, "times": 1})).await;
    let resp = sim.send(Method::PATCH, &app, Some(json!({"properties": {"template": {"containers": [{"name": "chat-worker", "image": "acr/chat-worker:nope"}]}}}))).await;
    assert_eq!(resp.status(), 202);
    let op = header(&resp, "azure-asyncoperation").unwrap();
    assert!(op.contains("/providers/Microsoft.App/locations/eastus/containerappOperationStatuses/"));
    let status = sim.wait_operation(&op).await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["code"], "ContainerAppProvisioningFailed");
    let (_, body) = sim.get(&app).await;
    assert_eq!(body["properties"]["provisioningState"], "Failed");
    // The failed revision carries the error; traffic stays on the one that was running.
    let (_, revs) = sim.get(&format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-worker/revisions?{APP_API}")).await;
    let revs = revs["value"].as_array().unwrap();
    let failed = revs.last().unwrap();
    assert_eq!(failed["properties"]["provisioningState"], "Failed");
    assert_eq!(
        failed["properties"]["provisioningError"],
        "Image pull failed"
    );
    assert_eq!(revs[0]["properties"]["trafficWeight"], 100);
    sim.stop().await;
}

#[tokio::test]
async fn subscriptions_tenants_providers_locations_and_metadata() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let (s, body) = sim.get("tenants?api-version=2022-12-01").await;
    assert_eq!(s, 200);
    assert_eq!(body["value"][0]["tenantId"], sim.env().tenant_id);
    let (s, body) = sim.get("subscriptions?api-version=2022-12-01").await;
    assert_eq!(s, 200);
    assert_eq!(body["count"]["value"], 2);
    let (s, body) = sim
        .get(&format!(
            "subscriptions/{sub}/providers/Microsoft.App?{RG_API}"
        ))
        .await;
    assert_eq!(
        (s, body["registrationState"].as_str()),
        (200, Some("Registered"))
    );
    let (s, body) = sim
        .get(&format!(
            "subscriptions/{sub}/locations?api-version=2022-12-01"
        ))
        .await;
    assert_eq!(s, 200);
    let eastus = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "eastus")
        .unwrap();
    assert_eq!(eastus["metadata"]["pairedRegion"][0]["name"], "westus");
    // Metadata is anonymous.
    let (s, body) = status_json(
        sim.client
            .get(sim.url("metadata/endpoints?api-version=2022-09-01"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["resourceManager"], sim.arm());
    assert_eq!(
        body["suffixes"]["keyVaultDns"],
        sim.env().endpoints.key_vault_dns_suffix
    );
    assert_eq!(
        body["authentication"]["loginEndpoint"],
        format!("{}/", sim.env().endpoints.active_directory)
    );
    // Older versions answer a list of clouds.
    let (s, body) = status_json(
        sim.client
            .get(sim.url("metadata/endpoints?api-version=2019-05-01"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body[0]["resourceManager"], sim.arm());
    sim.stop().await;
}

#[tokio::test]
async fn key_vault_challenge_is_what_clients_parse() {
    let sim = TestSim::start().await;
    let url = format!(
        "https://kv-platform-prod.vault.azdeck.localhost:{}/secrets/x/?api-version=7.6",
        sim.handle.addr.port()
    );
    let resp = sim.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = header(&resp, "www-authenticate").unwrap();
    assert_eq!(
        challenge,
        format!(
            "Bearer authorization=\"{}/{}\", resource=\"https://{}\"",
            sim.env().endpoints.active_directory,
            sim.env().tenant_id,
            sim.env().endpoints.key_vault_dns_suffix
        )
    );
    sim.stop().await;
}

#[tokio::test]
async fn the_request_log_records_every_answer() {
    let sim = TestSim::start().await;
    let before = sim.last_seq().await;
    let sub = sim.prod_sub();
    sim.get(&format!("subscriptions/{sub}/resourcegroups?{RG_API}"))
        .await;
    sim.send(Method::POST, &format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-api/listSecrets?{APP_API}"), None).await;
    let log = sim.requests_since(before).await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[0]["method"].as_str(),
            log[0]["mutating"].as_bool(),
            log[0]["status"].as_u64()
        ),
        (Some("GET"), Some(false), Some(200))
    );
    // listSecrets is a POST that only reads.
    assert_eq!(
        (log[1]["method"].as_str(), log[1]["mutating"].as_bool()),
        (Some("POST"), Some(false))
    );
    assert_eq!(log[0]["principal"], sim.env().service_principal.object_id);
    // The admin endpoints need the admin token.
    let (s, _) = status_json(
        sim.client
            .get(sim.url("_sim/requests"))
            .bearer_auth(&sim.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401);
    sim.stop().await;
}
