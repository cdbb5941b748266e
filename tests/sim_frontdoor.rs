//! Front Door (Standard/Premium) in the simulated Azure: the control plane (profiles, endpoints,
//! origin groups, origins, routes with their long-running operations and validation) and the data
//! path (routes, origin priority and weight, health, regional failover) — over HTTPS against the
//! default world.

mod support;

use std::collections::BTreeMap;

use reqwest::{Client, Method};
use serde_json::{json, Value};
use support::simulator::{client_for_hosts, header, status_json, TestSim};

const API: &str = "api-version=2025-06-01";

fn profile(sub: &str, name: &str) -> String {
    format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.Cdn/profiles/{name}")
}

/// Sends a write and waits for its operation; returns the accepted status and the final body.
async fn write(sim: &TestSim, method: Method, path: &str, body: Value) -> (u16, Value) {
    let resp = sim
        .send(method.clone(), &format!("{path}?{API}"), Some(body))
        .await;
    let status = resp.status().as_u16();
    let op = header(&resp, "azure-asyncoperation");
    let (_, answer) = status_json(resp).await;
    assert!(
        matches!(status, 200..=202),
        "{method} {path}: {status} {answer}"
    );
    let op = op.unwrap_or_else(|| panic!("{method} {path} is long-running: {answer}"));
    let done = sim.wait_operation(&op).await;
    assert_eq!(done["status"], "Succeeded", "{done}");
    (status, answer)
}

async fn get(sim: &TestSim, path: &str) -> (u16, Value) {
    sim.get(&format!("{path}?{API}")).await
}

/// The data path of the world's `chat` endpoint.
struct Edge {
    client: Client,
    url: String,
}

impl Edge {
    async fn of(sim: &TestSim, endpoint: &str) -> Edge {
        let (s, ep) = get(sim, endpoint).await;
        assert_eq!(s, 200, "{ep}");
        let host = ep["properties"]["hostName"].as_str().unwrap().to_string();
        let client = client_for_hosts(sim.env(), sim.handle.addr, &[&host]);
        let url = format!("https://{host}:{}", sim.handle.addr.port());
        Edge { client, url }
    }

    /// (status, origin that answered, body).
    async fn call(&self, path: &str) -> (u16, Option<String>, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("Front Door answers");
        assert!(header(&resp, "x-azure-ref").is_some(), "x-azure-ref");
        let origin = header(&resp, "x-azdeck-origin");
        let (s, body) = status_json(resp).await;
        (s, origin, body)
    }

    async fn origins(&self, n: usize) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for _ in 0..n {
            let (s, origin, body) = self.call("/api/chat").await;
            assert_eq!(s, 200, "{body}");
            *seen.entry(origin.unwrap_or_default()).or_insert(0) += 1;
        }
        seen
    }
}

fn only(origin: &str, n: usize) -> BTreeMap<String, usize> {
    BTreeMap::from([(origin.to_string(), n)])
}

#[tokio::test]
async fn the_world_endpoint_fails_over_to_the_dr_region_and_back() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let afd = profile(&sub, "afd-platform");
    let edge = Edge::of(&sim, &format!("{afd}/afdEndpoints/chat")).await;
    assert!(edge.url.contains(".z01.azurefd."), "{}", edge.url);

    let (s, origin, body) = edge.call("/api/chat").await;
    assert_eq!(
        (s, origin.as_deref()),
        (200, Some("primary-eastus")),
        "{body}"
    );
    assert_eq!(body["app"], "chat-api");

    // East US goes down: the priority-2 origin in West US answers, from the DR app.
    let (s, failed) = sim.admin(Method::POST, "regions/eastus/fail", None).await;
    assert_eq!((s, &failed["down"]), (200, &json!(true)), "{failed}");
    let (s, origin, body) = edge.call("/api/chat").await;
    assert_eq!((s, origin.as_deref()), (200, Some("dr-westus")), "{body}");
    assert_eq!(body["app"], "chat-api-dr");
    assert_eq!(edge.origins(5).await, only("dr-westus", 5));

    // Both regions down: nothing healthy is left.
    sim.admin(Method::POST, "regions/West US/fail", None).await;
    let (s, origin, _) = edge.call("/").await;
    assert_eq!((s, origin), (503, None));

    // Restored: back to the primary.
    for region in ["eastus", "westus"] {
        let (s, body) = sim
            .admin(Method::POST, &format!("regions/{region}/restore"), None)
            .await;
        assert_eq!(s, 200, "{body}");
    }
    assert_eq!(edge.origins(3).await, only("primary-eastus", 3));
    let (s, _) = sim
        .admin(Method::POST, "regions/eastus/restore", None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_scheduled_region_failure_starts_on_the_simulator_clock() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let edge = Edge::of(
        &sim,
        &format!("{}/afdEndpoints/chat", profile(&sub, "afd-platform")),
    )
    .await;
    let (s, body) = sim
        .admin(
            Method::POST,
            "regions/eastus/fail",
            Some(json!({"afterSeconds": 600})),
        )
        .await;
    assert_eq!((s, &body["down"]), (200, &json!(false)), "{body}");
    let (s, listed) = sim.admin(Method::GET, "regions", None).await;
    assert_eq!(
        (s, &listed["failedRegions"][0]["region"]),
        (200, &json!("eastus"))
    );
    assert_eq!(edge.origins(2).await, only("primary-eastus", 2));
    sim.advance_clock(601).await;
    assert_eq!(edge.origins(2).await, only("dr-westus", 2));
    let (s, _) = sim
        .admin(
            Method::POST,
            "regions/eastus/fail",
            Some(json!({"at": "soon"})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn enabled_state_toggles_change_the_data_path() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let afd = profile(&sub, "afd-platform");
    let endpoint = format!("{afd}/afdEndpoints/chat");
    let route = format!("{endpoint}/routes/route-chat-api");
    let primary = format!("{afd}/originGroups/og-chat-api/origins/primary-eastus");
    let edge = Edge::of(&sim, &endpoint).await;

    // A disabled route serves nothing: no route matches, Front Door's 404.
    let (s, body) = write(
        &sim,
        Method::PATCH,
        &route,
        json!({"properties": {"enabledState": "Disabled"}}),
    )
    .await;
    assert_eq!(s, 202);
    assert_eq!(body["properties"]["enabledState"], "Disabled");
    let (s, origin, _) = edge.call("/api/chat").await;
    assert_eq!((s, origin), (404, None));
    write(
        &sim,
        Method::PATCH,
        &route,
        json!({"properties": {"enabledState": "Enabled"}}),
    )
    .await;
    assert_eq!(edge.origins(2).await, only("primary-eastus", 2));

    // A disabled origin is skipped: the DR origin answers.
    write(
        &sim,
        Method::PATCH,
        &primary,
        json!({"properties": {"enabledState": "Disabled"}}),
    )
    .await;
    let (_, got) = get(&sim, &primary).await;
    assert_eq!(
        (
            &got["properties"]["enabledState"],
            &got["properties"]["deploymentStatus"],
            &got["properties"]["provisioningState"]
        ),
        (&json!("Disabled"), &json!("Succeeded"), &json!("Succeeded"))
    );
    assert_eq!(edge.origins(3).await, only("dr-westus", 3));

    // A disabled endpoint serves nothing either.
    write(
        &sim,
        Method::PATCH,
        &endpoint,
        json!({"properties": {"enabledState": "Disabled"}}),
    )
    .await;
    assert_eq!(edge.call("/").await.0, 404);
}

#[tokio::test]
async fn equal_priorities_split_by_weight() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let group = format!("{}/originGroups/og-chat-api", profile(&sub, "afd-platform"));
    let edge = Edge::of(
        &sim,
        &format!("{}/afdEndpoints/chat", profile(&sub, "afd-platform")),
    )
    .await;
    write(
        &sim,
        Method::PATCH,
        &format!("{group}/origins/primary-eastus"),
        json!({"properties": {"weight": 750}}),
    )
    .await;
    write(
        &sim,
        Method::PATCH,
        &format!("{group}/origins/dr-westus"),
        json!({"properties": {"priority": 1, "weight": 250}}),
    )
    .await;
    let seen = edge.origins(100).await;
    assert_eq!(
        seen,
        BTreeMap::from([("dr-westus".into(), 25), ("primary-eastus".into(), 75)])
    );
}

#[tokio::test]
async fn an_unhealthy_backend_fails_its_probe_and_a_rollback_brings_it_back() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let afd = profile(&sub, "afd-platform");
    let (_, ep) = get(&sim, &format!("{afd}/afdEndpoints/chat")).await;
    let domain = ep["properties"]["hostName"]
        .as_str()
        .and_then(|h| h.split_once(".z01.azurefd."))
        .map(|(_, d)| d.to_string())
        .unwrap();
    // Point the primary at dagster-webserver, whose latest revision (all its traffic) is unhealthy.
    let webserver = format!("dagster-webserver.cae-platform-prod.eastus.apps.{domain}");
    let primary = format!("{afd}/originGroups/og-chat-api/origins/primary-eastus");
    write(
        &sim,
        Method::PATCH,
        &primary,
        json!({"properties": {"hostName": webserver, "originHostHeader": webserver}}),
    )
    .await;
    let edge = Edge::of(&sim, &format!("{afd}/afdEndpoints/chat")).await;
    assert_eq!(edge.origins(3).await, only("dr-westus", 3));
    // Roll the app back to its healthy revision: the primary passes its probes again.
    let app = format!(
        "subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/dagster-webserver"
    );
    let resp = sim
        .send(
            Method::PATCH,
            &format!("{app}?api-version=2025-07-01"),
            Some(
                json!({"properties": {"configuration": {"ingress": {"traffic": [
                    {"revisionName": "dagster-webserver--v42", "weight": 100}
                ]}}}}),
            ),
        )
        .await;
    let op = header(&resp, "azure-asyncoperation");
    assert!(resp.status().is_success(), "{}", resp.status());
    if let Some(op) = op {
        sim.wait_operation(&op).await;
    }
    let (s, origin, body) = edge.call("/").await;
    assert_eq!(
        (s, origin.as_deref()),
        (200, Some("primary-eastus")),
        "{body}"
    );
    assert_eq!(
        (&body["app"], &body["revision"]),
        (
            &json!("dagster-webserver"),
            &json!("dagster-webserver--v42")
        )
    );
}

#[tokio::test]
async fn each_child_type_is_created_updated_and_deleted_as_long_running_operations() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let afd = profile(&sub, "afd-test");
    let endpoint = format!("{afd}/afdEndpoints/web");
    let group = format!("{afd}/originGroups/og-web");
    let origin = format!("{group}/origins/chat");
    let route = format!("{endpoint}/routes/all");
    let (_, world_ep) = get(
        &sim,
        &format!("{}/afdEndpoints/chat", profile(&sub, "afd-platform")),
    )
    .await;
    let domain = world_ep["properties"]["hostName"]
        .as_str()
        .and_then(|h| h.split_once(".z01.azurefd."))
        .map(|(_, d)| d.to_string())
        .unwrap();
    let chat = format!("chat-api.cae-platform-prod.eastus.apps.{domain}");

    let creations = [
        (
            afd.clone(),
            json!({"location": "Global", "sku": {"name": "Standard_AzureFrontDoor"}}),
        ),
        (
            endpoint.clone(),
            json!({"location": "Global", "properties": {}}),
        ),
        (
            group.clone(),
            json!({"properties": {"sessionAffinityState": "Disabled"}}),
        ),
        (origin.clone(), json!({"properties": {"hostName": chat}})),
        (
            route.clone(),
            json!({"properties": {"originGroup": {"id": format!("/{group}")}, "patternsToMatch": ["/*"], "linkToDefaultDomain": "Enabled", "supportedProtocols": ["Https"]}}),
        ),
    ];
    for (path, body) in &creations {
        let (s, created) = write(&sim, Method::PUT, path, body.clone()).await;
        assert_eq!(s, 201, "{path}: {created}");
        assert_eq!(created["properties"]["provisioningState"], "Creating");
        let (s, got) = get(&sim, path).await;
        assert_eq!(s, 200);
        assert_eq!(got["properties"]["provisioningState"], "Succeeded", "{got}");
    }
    let (_, p) = get(&sim, &afd).await;
    assert!(p["properties"]["frontDoorId"].is_string(), "{p}");
    let (_, ep) = get(&sim, &endpoint).await;
    let host = ep["properties"]["hostName"].as_str().unwrap();
    assert!(
        host.starts_with("web-") && host.ends_with(&format!(".z01.azurefd.{domain}")),
        "{host}"
    );
    assert_eq!(
        (
            &ep["properties"]["enabledState"],
            &ep["properties"]["deploymentStatus"]
        ),
        (&json!("Enabled"), &json!("Succeeded"))
    );
    let (_, o) = get(&sim, &origin).await;
    assert_eq!(
        (
            &o["properties"]["priority"],
            &o["properties"]["weight"],
            &o["properties"]["originGroupName"]
        ),
        (&json!(1), &json!(50), &json!("og-web"))
    );
    // The new endpoint serves at once, from its origin.
    let edge = Edge::of(&sim, &endpoint).await;
    assert_eq!(edge.origins(2).await, only("chat", 2));

    // Lists under each parent.
    for (collection, n) in [
        (format!("{afd}/afdEndpoints"), 1),
        (format!("{afd}/originGroups"), 1),
        (format!("{group}/origins"), 1),
        (format!("{endpoint}/routes"), 1),
    ] {
        let (s, list) = get(&sim, &collection).await;
        assert_eq!(s, 200);
        assert_eq!(list["value"].as_array().map(Vec::len), Some(n), "{list}");
    }
    // A read-only host name cannot be patched away.
    let (s, patched) = write(
        &sim,
        Method::PATCH,
        &endpoint,
        json!({"properties": {"hostName": "elsewhere.example.com"}}),
    )
    .await;
    assert_eq!(s, 202);
    assert_eq!(patched["properties"]["hostName"], host);

    for path in [&route, &origin, &group, &endpoint, &afd] {
        let resp = sim
            .send(Method::DELETE, &format!("{path}?{API}"), None)
            .await;
        assert_eq!(resp.status().as_u16(), 202, "{path}");
        let op = header(&resp, "azure-asyncoperation").unwrap();
        assert_eq!(sim.wait_operation(&op).await["status"], "Succeeded");
        assert_eq!(get(&sim, path).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn invalid_origins_and_missing_parents_are_refused() {
    let sim = TestSim::start().await;
    let sub = sim.prod_sub();
    let afd = profile(&sub, "afd-platform");
    let origin = format!("{afd}/originGroups/og-chat-api/origins/bad");
    for props in [
        json!({"hostName": "x.example.com", "priority": 0}),
        json!({"hostName": "x.example.com", "priority": 6}),
        json!({"hostName": "x.example.com", "weight": 0}),
        json!({"hostName": "x.example.com", "weight": 1001}),
        json!({"hostName": "x.example.com", "enabledState": "Off"}),
    ] {
        let resp = sim
            .send(
                Method::PUT,
                &format!("{origin}?{API}"),
                Some(json!({ "properties": props })),
            )
            .await;
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, &body["error"]["code"]),
            (400, &json!("BadRequest")),
            "{props}: {body}"
        );
    }
    // PATCH is held to the same bounds.
    let resp = sim
        .send(
            Method::PATCH,
            &format!("{afd}/originGroups/og-chat-api/origins/dr-westus?{API}"),
            Some(json!({"properties": {"weight": 1001}})),
        )
        .await;
    assert_eq!(status_json(resp).await.0, 400);
    assert_eq!(get(&sim, &origin).await.0, 404);

    for path in [
        format!("{afd}/originGroups/og-missing/origins/o1"),
        format!("{}/afdEndpoints/e1", profile(&sub, "afd-missing")),
        format!("{afd}/afdEndpoints/missing/routes/r1"),
    ] {
        let resp = sim
            .send(
                Method::PUT,
                &format!("{path}?{API}"),
                Some(json!({"properties": {}})),
            )
            .await;
        let (s, body) = status_json(resp).await;
        assert_eq!(
            (s, &body["error"]["code"]),
            (404, &json!("ParentResourceNotFound")),
            "{path}: {body}"
        );
    }
}
