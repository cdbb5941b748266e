//! Container Apps in the simulated Azure behave like the service: revisions, revision modes,
//! traffic, activation, restarts and secrets — checked over HTTPS against the default world.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{client_for_hosts, header, status_json, TestSim};

const API: &str = "api-version=2025-07-01";

fn app(sub: &str, name: &str) -> String {
    format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/{name}")
}

async fn revisions(sim: &TestSim, sub: &str, name: &str) -> Vec<Value> {
    let (s, body) = sim
        .get(&format!("{}/revisions?{API}", app(sub, name)))
        .await;
    assert_eq!(s, 200, "{body}");
    body["value"].as_array().cloned().unwrap_or_default()
}

fn by_name<'a>(revs: &'a [Value], name: &str) -> &'a Value {
    revs.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("revision {name} in {revs:?}"))
}

fn prop<'a>(rev: &'a Value, key: &str) -> &'a Value {
    &rev["properties"][key]
}

async fn post(sim: &TestSim, path: &str) -> (u16, Value) {
    status_json(sim.send(Method::POST, path, None).await).await
}

/// Waits until every revision of `name` has left `Processing` (restarts and activations).
async fn settle(sim: &TestSim, sub: &str, name: &str) -> Vec<Value> {
    for _ in 0..100 {
        let revs = revisions(sim, sub, name).await;
        if revs.iter().all(|r| prop(r, "runningState") != "Processing") {
            return revs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("revisions of {name} stay Processing");
}

#[tokio::test]
async fn the_default_world_has_an_unhealthy_latest_revision_in_each_mode() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    // Multiple mode: v43 is unhealthy with all traffic, v42 healthy and active.
    let revs = revisions(&sim, &sub, "dagster-webserver").await;
    assert_eq!(revs.len(), 3);
    let v43 = by_name(&revs, "dagster-webserver--v43");
    assert_eq!(
        (
            prop(v43, "healthState"),
            prop(v43, "trafficWeight"),
            prop(v43, "active")
        ),
        (&json!("Unhealthy"), &json!(100), &json!(true))
    );
    let v42 = by_name(&revs, "dagster-webserver--v42");
    assert_eq!(
        (
            prop(v42, "healthState"),
            prop(v42, "runningState"),
            prop(v42, "trafficWeight")
        ),
        (&json!("Healthy"), &json!("Running"), &json!(0))
    );
    // Single mode: r18 is unhealthy and the only active one; r17 healthy, inactive.
    let revs = revisions(&sim, &sub, "dagster-daemon").await;
    let r18 = by_name(&revs, "dagster-daemon--r18");
    assert_eq!(
        (prop(r18, "healthState"), prop(r18, "trafficWeight")),
        (&json!("Unhealthy"), &json!(100))
    );
    let r17 = by_name(&revs, "dagster-daemon--r17");
    assert_eq!(
        (
            prop(r17, "active"),
            prop(r17, "healthState"),
            prop(r17, "replicas")
        ),
        (&json!(false), &json!("Healthy"), &json!(0))
    );
    assert!(prop(r17, "lastActiveTime").is_string());
    // The app reports its latest revision and FQDN.
    let (_, body) = sim
        .get(&format!("{}?{API}", app(&sub, "dagster-webserver")))
        .await;
    assert_eq!(
        body["properties"]["latestRevisionName"],
        "dagster-webserver--v43"
    );
    assert_eq!(
        body["properties"]["configuration"]["ingress"]["fqdn"],
        "dagster-webserver.cae-platform-prod.eastus.apps.azdeck.localhost"
    );
    sim.stop().await;
}

#[tokio::test]
async fn multiple_mode_rollback_moves_traffic_to_the_healthy_revision() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "dagster-webserver"));
    let patch = json!({"properties": {"configuration": {"ingress": {"traffic": [
        {"revisionName": "dagster-webserver--v42", "weight": 100, "label": "stable"},
        {"revisionName": "dagster-webserver--v43", "weight": 0}
    ]}}}});
    let resp = sim.send(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(resp.status(), 202);
    assert!(header(&resp, "location").is_some());
    let op = sim
        .wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    assert_eq!(op["status"], "Succeeded");
    let revs = revisions(&sim, &sub, "dagster-webserver").await;
    assert_eq!(
        prop(by_name(&revs, "dagster-webserver--v42"), "trafficWeight"),
        100
    );
    assert_eq!(
        prop(by_name(&revs, "dagster-webserver--v43"), "trafficWeight"),
        0
    );
    assert_eq!(
        prop(by_name(&revs, "dagster-webserver--v42"), "labels"),
        "stable"
    );
    // No new revision: only configuration changed.
    assert_eq!(revs.len(), 3);
    // Now the unhealthy revision carries no traffic and can be deactivated.
    let (s, body) = post(
        &sim,
        &format!(
            "{}/revisions/dagster-webserver--v43/deactivate?{API}",
            app(&sub, "dagster-webserver")
        ),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let revs = revisions(&sim, &sub, "dagster-webserver").await;
    assert_eq!(
        prop(by_name(&revs, "dagster-webserver--v43"), "active"),
        false
    );
    sim.stop().await;
}

#[tokio::test]
async fn multiple_mode_validates_traffic_weights_and_labels() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "chat-api"));
    let cases = [
        (
            json!([{"revisionName": "chat-api--b212", "weight": 60}, {"revisionName": "chat-api--b213", "weight": 30}]),
            "ContainerAppInvalidTrafficWeight",
        ),
        (
            json!([{"revisionName": "chat-api--nope", "weight": 100}]),
            "ContainerAppRevisionNotFound",
        ),
        (
            json!([{"revisionName": "chat-api--b211", "weight": 100}]),
            "ContainerAppInactiveRevisionTraffic",
        ),
        (
            json!([{"revisionName": "chat-api--b212", "weight": 50, "label": "x"}, {"revisionName": "chat-api--b213", "weight": 50, "label": "x"}]),
            "ContainerAppDuplicateTrafficLabel",
        ),
        (
            json!([{"revisionName": "chat-api--b212", "weight": 100, "label": "Bad Label"}]),
            "ContainerAppInvalidTrafficLabel",
        ),
        (
            json!([{"revisionName": "chat-api--b212", "weight": 150}]),
            "ContainerAppInvalidTrafficWeight",
        ),
        (
            json!([{"revisionName": "chat-api--b212", "latestRevision": true, "weight": 100}]),
            "ContainerAppInvalidTrafficWeight",
        ),
    ];
    let before = sim.last_seq().await;
    for (traffic, code) in cases {
        let (s, body) = status_json(
            sim.send(
                Method::PATCH,
                &path,
                Some(json!({"properties": {"configuration": {"ingress": {"traffic": traffic}}}})),
            )
            .await,
        )
        .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{traffic}: {body}"
        );
    }
    // Rejected changes changed nothing.
    let revs = revisions(&sim, &sub, "chat-api").await;
    assert_eq!(prop(by_name(&revs, "chat-api--b212"), "trafficWeight"), 90);
    assert_eq!(prop(by_name(&revs, "chat-api--b213"), "trafficWeight"), 10);
    assert!(sim
        .requests_since(before)
        .await
        .iter()
        .all(|r| r["status"] != 202));
    sim.stop().await;
}

#[tokio::test]
async fn single_mode_activation_makes_the_revision_the_only_active_one() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let base = app(&sub, "dagster-daemon");
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/dagster-daemon--r17/activate?{API}"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let revs = settle(&sim, &sub, "dagster-daemon").await;
    let r17 = by_name(&revs, "dagster-daemon--r17");
    let r18 = by_name(&revs, "dagster-daemon--r18");
    assert_eq!(
        (
            prop(r17, "active"),
            prop(r17, "trafficWeight"),
            prop(r17, "runningState"),
            prop(r17, "healthState")
        ),
        (
            &json!(true),
            &json!(100),
            &json!("Running"),
            &json!("Healthy")
        )
    );
    assert_eq!(
        (prop(r18, "active"), prop(r18, "trafficWeight")),
        (&json!(false), &json!(0))
    );
    // Traffic splits are refused in Single mode.
    let (s, body) = status_json(sim.send(Method::PATCH, &format!("{base}?{API}"), Some(json!({"properties": {"configuration": {"ingress": {"traffic": [
        {"revisionName": "dagster-daemon--r17", "weight": 50}, {"revisionName": "dagster-daemon--r18", "weight": 50}]}}}}))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (
            400,
            Some("ContainerAppTrafficSplitNotAllowedInSingleRevisionMode")
        )
    );
    // The only active revision cannot be deactivated in Single mode.
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/dagster-daemon--r17/deactivate?{API}"),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("RevisionOperationError"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_template_change_creates_a_revision_and_single_mode_switches_to_it() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "chat-worker"));
    let patch = json!({"properties": {"template": {"revisionSuffix": "v2140", "containers": [{"name": "chat-worker", "image": "acr/chat-worker:2.14.0", "resources": {"cpu": 1.0, "memory": "2Gi"}}], "scale": {"minReplicas": 2, "maxReplicas": 8}}}});
    let resp = sim.send(Method::PATCH, &path, Some(patch)).await;
    assert_eq!(resp.status(), 202);
    // While provisioning, the old revision keeps all traffic.
    let revs = revisions(&sim, &sub, "chat-worker").await;
    let new = by_name(&revs, "chat-worker--v2140");
    assert_eq!(
        (prop(new, "provisioningState"), prop(new, "trafficWeight")),
        (&json!("Provisioning"), &json!(0))
    );
    assert_eq!(
        prop(by_name(&revs, "chat-worker--initial"), "trafficWeight"),
        100
    );
    let (_, body) = sim.get(&path).await;
    assert_eq!(body["properties"]["provisioningState"], "InProgress");
    sim.wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    let revs = settle(&sim, &sub, "chat-worker").await;
    let new = by_name(&revs, "chat-worker--v2140");
    assert_eq!(
        (
            prop(new, "active"),
            prop(new, "trafficWeight"),
            prop(new, "replicas")
        ),
        (&json!(true), &json!(100), &json!(2))
    );
    assert_eq!(
        prop(by_name(&revs, "chat-worker--initial"), "active"),
        false
    );
    let (_, body) = sim.get(&path).await;
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        body["properties"]["latestRevisionName"],
        "chat-worker--v2140"
    );
    assert_eq!(
        body["properties"]["latestReadyRevisionName"],
        "chat-worker--v2140"
    );
    // A configuration-only change makes no revision.
    let resp = sim
        .send(
            Method::PATCH,
            &path,
            Some(json!({"tags": {"team": "chat"}})),
        )
        .await;
    sim.wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    assert_eq!(revisions(&sim, &sub, "chat-worker").await.len(), 2);
    // Reusing a suffix is refused.
    let (s, body) = status_json(sim.send(Method::PATCH, &path, Some(json!({"properties": {"template": {"revisionSuffix": "v2140", "containers": [{"name": "chat-worker", "image": "acr/chat-worker:2.15.0"}]}}}))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("ContainerAppInvalidRevisionName"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn images_matching_the_worlds_unhealthy_pattern_come_up_unhealthy() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "chat-worker"));
    let resp = sim.send(Method::PATCH, &path, Some(json!({"properties": {"template": {"containers": [{"name": "chat-worker", "image": "acr/chat-worker:2.14.0-broken"}]}}}))).await;
    sim.wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    let revs = settle(&sim, &sub, "chat-worker").await;
    let latest = revs.last().unwrap();
    assert!(latest["name"]
        .as_str()
        .unwrap()
        .starts_with("chat-worker--"));
    assert_eq!(
        latest["name"].as_str().unwrap().len(),
        "chat-worker--".len() + 7,
        "a generated 7-character suffix"
    );
    assert_eq!(
        (prop(latest, "healthState"), prop(latest, "runningState")),
        (&json!("Unhealthy"), &json!("Degraded"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn restart_and_activation_rules() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let base = app(&sub, "chat-api");
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/chat-api--b212/restart?{API}"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let revs = revisions(&sim, &sub, "chat-api").await;
    assert_eq!(
        prop(by_name(&revs, "chat-api--b212"), "runningState"),
        "Processing"
    );
    let revs = settle(&sim, &sub, "chat-api").await;
    assert_eq!(
        prop(by_name(&revs, "chat-api--b212"), "runningState"),
        "Running"
    );
    // Inactive revisions cannot be restarted; revisions with traffic cannot be deactivated.
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/chat-api--b211/restart?{API}"),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("RevisionOperationError"))
    );
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/chat-api--b213/deactivate?{API}"),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("RevisionOperationError"))
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("10%"));
    let (s, body) = post(
        &sim,
        &format!("{base}/revisions/chat-api--nope/activate?{API}"),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("ContainerAppRevisionNotFound"))
    );
    // Activate an old revision in Multiple mode: active, no traffic until given some.
    let (s, _) = post(
        &sim,
        &format!("{base}/revisions/chat-api--b211/activate?{API}"),
    )
    .await;
    assert_eq!(s, 200);
    let revs = settle(&sim, &sub, "chat-api").await;
    let b211 = by_name(&revs, "chat-api--b211");
    assert_eq!(
        (prop(b211, "active"), prop(b211, "trafficWeight")),
        (&json!(true), &json!(0))
    );
    // Replicas of a running revision.
    let (s, body) = sim
        .get(&format!("{base}/revisions/chat-api--b212/replicas?{API}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 2);
    sim.stop().await;
}

#[tokio::test]
async fn secret_values_only_come_from_list_secrets() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "chat-worker"));
    let (_, mut body) = sim.get(&path).await;
    body["properties"]["configuration"]["secrets"] =
        json!([{"name": "canary", "value": "s3cr3t-canary-value"}]);
    body["properties"]["template"]
        .as_object_mut()
        .unwrap()
        .remove("revisionSuffix");
    let resp = sim.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(resp.status(), 200);
    let op = header(&resp, "azure-asyncoperation").unwrap();
    let text = resp.text().await.unwrap();
    sim.wait_operation(&op).await;
    assert!(
        !text.contains("s3cr3t-canary-value"),
        "a PUT answer has no secret values"
    );
    let (_, got) = sim.get(&path).await;
    assert!(!got.to_string().contains("s3cr3t-canary-value"));
    assert_eq!(
        got["properties"]["configuration"]["secrets"][0]["name"],
        "canary"
    );
    let (s, listed) = post(
        &sim,
        &format!("{}/listSecrets?{API}", app(&sub, "chat-worker")),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(listed["value"][0]["value"], "s3cr3t-canary-value");
    // Round-tripping GET output (no values) keeps the stored values.
    let resp = sim.send(Method::PUT, &path, Some(got)).await;
    sim.wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    let (_, listed) = post(
        &sim,
        &format!("{}/listSecrets?{API}", app(&sub, "chat-worker")),
    )
    .await;
    assert_eq!(listed["value"][0]["value"], "s3cr3t-canary-value");
    // Key Vault references are listed with their URL and identity, never a value.
    let (_, listed) = post(
        &sim,
        &format!("{}/listSecrets?{API}", app(&sub, "dagster-daemon")),
    )
    .await;
    assert!(listed["value"][0]["keyVaultUrl"]
        .as_str()
        .unwrap()
        .contains("kv-platform-prod"));
    assert!(listed["value"][0].get("value").is_none());
    sim.stop().await;
}

#[tokio::test]
async fn create_and_delete_an_app_as_long_running_operations() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let path = format!("{}?{API}", app(&sub, "smoke-test"));
    let env_id = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/managedEnvironments/cae-platform-prod");
    // Missing containers, unknown environment.
    let (s, body) = status_json(sim.send(Method::PUT, &path, Some(json!({"location": "eastus", "properties": {"environmentId": env_id, "template": {"containers": []}}}))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("ContainerAppInvalidSchema"))
    );
    let (s, body) = status_json(sim.send(Method::PUT, &path, Some(json!({"location": "eastus", "properties": {"environmentId": format!("{env_id}x"), "template": {"containers": [{"name": "a", "image": "b"}]}}}))).await).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("ManagedEnvironmentNotFound"))
    );
    let resp = sim.send(Method::PUT, &path, Some(json!({"location": "eastus", "properties": {"environmentId": env_id, "configuration": {"ingress": {"external": true, "targetPort": 80}}, "template": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}))).await;
    assert_eq!(resp.status(), 201);
    let retry = header(&resp, "retry-after")
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(header(&resp, "retry-after-ms").as_deref(), Some("50"));
    let op = header(&resp, "azure-asyncoperation").unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "InProgress");
    assert_eq!(sim.wait_operation(&op).await["status"], "Succeeded");
    let (_, body) = sim.get(&path).await;
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        body["properties"]["configuration"]["activeRevisionsMode"],
        "Single"
    );
    assert_eq!(
        body["properties"]["configuration"]["ingress"]["traffic"],
        json!([{"weight": 100, "latestRevision": true}])
    );
    let resp = sim.send(Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location").unwrap();
    for _ in 0..100 {
        if sim.send(Method::GET, &location, None).await.status() != 202 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, _) = sim.get(&path).await;
    assert_eq!(s, 404);
    assert_eq!(sim.send(Method::DELETE, &path, None).await.status(), 204);
    sim.stop().await;
}

#[tokio::test]
async fn ingress_answers_app_fqdns_by_traffic_weight_and_revision_health() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let (_, chat) = sim.get(&format!("{}?{API}", app(&sub, "chat-api"))).await;
    let fqdn = chat["properties"]["configuration"]["ingress"]["fqdn"]
        .as_str()
        .unwrap()
        .to_string();
    let domain = fqdn.strip_prefix("chat-api.").unwrap().to_string();
    let label = format!("chat-api---canary.{domain}");
    let webserver = format!("dagster-webserver.{domain}");
    let inactive = format!("chat-api--b211.{domain}");
    let unknown = format!("nope.{domain}");
    let client = client_for_hosts(
        sim.env(),
        sim.handle.addr,
        &[&fqdn, &label, &webserver, &inactive, &unknown],
    );
    let port = sim.handle.addr.port();
    let get = |host: &str| {
        let url = format!("https://{host}:{port}/healthz");
        let client = client.clone();
        async move { status_json(client.get(url).send().await.expect("ingress answers")).await }
    };
    let before = sim.last_seq().await;
    // 90/10: every run of ten requests sends exactly one to the canary.
    let mut served = Vec::new();
    for _ in 0..20 {
        let (s, body) = get(&fqdn).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["app"], "chat-api");
        served.push(body["revision"].as_str().unwrap().to_string());
    }
    let canary = served.iter().filter(|r| *r == "chat-api--b213").count();
    let stable = served.iter().filter(|r| *r == "chat-api--b212").count();
    assert_eq!((stable, canary), (18, 2), "{served:?}");
    // A label URL reaches its revision only.
    let (s, body) = get(&label).await;
    assert_eq!(
        (s, body["revision"].as_str()),
        (200, Some("chat-api--b213"))
    );
    // All of dagster-webserver's traffic goes to its unhealthy latest revision: Envoy's 503.
    let (s, body) = get(&webserver).await;
    assert_eq!(s, 503);
    assert!(
        body.as_str().unwrap().contains("upstream connect error"),
        "{body}"
    );
    // Inactive revisions and unknown names under the environment's domain are not served.
    assert_eq!(get(&inactive).await.0, 404);
    let (s, body) = get(&unknown).await;
    assert_eq!(s, 404);
    assert!(body.as_str().unwrap().contains("stopped or does not exist"));
    // Logged like every request.
    let logged = sim.requests_since(before).await;
    let app_requests: Vec<&Value> = logged.iter().filter(|r| r["host"] == fqdn).collect();
    assert_eq!(app_requests.len(), 20);
    assert!(app_requests
        .iter()
        .all(|r| r["status"] == 200 && r["path"] == "/healthz"));
    assert!(logged
        .iter()
        .any(|r| r["host"] == webserver.as_str() && r["status"] == 503));
    // Moving the traffic moves what the FQDN serves.
    let resp = sim
        .send(
            Method::PATCH,
            &format!("{}?{API}", app(&sub, "dagster-webserver")),
            Some(
                json!({"properties": {"configuration": {"ingress": {"traffic": [
        {"revisionName": "dagster-webserver--v42", "weight": 100}]}}}}),
            ),
        )
        .await;
    sim.wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    let (s, body) = get(&webserver).await;
    assert_eq!(
        (s, body["revision"].as_str()),
        (200, Some("dagster-webserver--v42"))
    );
    sim.stop().await;
}
