//! Azure Resource Graph and the large world, over HTTPS.

mod support;

use std::collections::BTreeSet;

use azdeck::sim::state::Settings;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{header, status_json, TestSim};

const GRAPH: &str = "providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01";

async fn query(sim: &TestSim, body: Value) -> (u16, Value) {
    status_json(sim.send(Method::POST, GRAPH, Some(body)).await).await
}

#[tokio::test]
async fn queries_filter_project_and_summarize_across_subscriptions() {
    let sim = TestSim::start().await;
    let subs: Vec<String> = sim
        .env()
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let (s, body) = query(&sim, json!({
        "subscriptions": subs,
        "query": "Resources | where type =~ 'Microsoft.App/containerApps' | project name, resourceGroup, mode = properties.configuration.activeRevisionsMode | order by name asc",
    })).await;
    assert_eq!(s, 200, "{body}");
    let rows = body["data"].as_array().unwrap();
    assert_eq!(body["totalRecords"], 8);
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0]["name"], "chat-api");
    assert_eq!(rows[0]["mode"], "Multiple");
    assert_eq!(rows[0]["resourceGroup"], "rg-platform-prod");
    assert_eq!(body["resultTruncated"], "false");

    let (s, body) = query(&sim, json!({"subscriptions": subs, "query": "Resources | summarize count() by type | order by type asc"})).await;
    assert_eq!(s, 200);
    let counts: Vec<(String, i64)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["count_"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("microsoft.app/containerapps".into(), 8)),
        "{counts:?}"
    );
    assert!(counts.contains(&("microsoft.keyvault/vaults".into(), 2)));

    // Table format.
    let (s, body) = query(&sim, json!({"subscriptions": subs, "query": "Resources | where name == 'kv-platform-prod' | project name, location", "options": {"resultFormat": "table"}})).await;
    assert_eq!(s, 200);
    assert_eq!(
        body["data"]["columns"],
        json!([{"name": "name", "type": "string"}, {"name": "location", "type": "string"}])
    );
    assert_eq!(
        body["data"]["rows"],
        json!([["kv-platform-prod", "eastus"]])
    );
    // Only the requested subscriptions are searched.
    let dev: Vec<String> = sim
        .env()
        .subscriptions
        .iter()
        .filter(|s| s.name == "platform-dev")
        .map(|s| s.id.clone())
        .collect();
    let (_, body) = query(&sim, json!({"subscriptions": dev, "query": "Resources | where type =~ 'microsoft.app/containerapps' | count"})).await;
    assert_eq!(body["data"][0]["Count"], 1);
    sim.stop().await;
}

#[tokio::test]
async fn queries_outside_the_subset_are_a_clear_400() {
    let sim = TestSim::start().await;
    for q in [
        "Resources | join (ResourceContainers) on subscriptionId",
        "ResourceContainers | take 1",
        "Resources | where (",
        "Resources | where nosuchcolumn == 1",
    ] {
        let (s, body) = query(&sim, json!({"query": q})).await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(
            body["error"]["details"][0]["code"], "InvalidQuery",
            "{q}: {body}"
        );
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Query is invalid"));
    }
    let (s, _) = query(&sim, json!({"query": 5})).await;
    assert_eq!(s, 400);
    let (s, body) = query(
        &sim,
        json!({"subscriptions": ["00000000-0000-0000-0000-000000000000"], "query": "Resources"}),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    sim.stop().await;
}

#[tokio::test]
async fn skip_token_paging_returns_every_row_once() {
    let sim = TestSim::start().await;
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut requests = 0;
    loop {
        let mut options = json!({"$top": 4});
        if let Some(t) = &token {
            options["$skipToken"] = json!(t);
        }
        let (s, body) = query(
            &sim,
            json!({"query": "Resources | project id | order by id asc", "options": options}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        requests += 1;
        ids.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
        match body["$skipToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "order holds across pages");
    assert_eq!(requests, ids.len().div_ceil(4));
    // A token is bound to its query.
    let (s, _) = query(&sim, json!({"query": "Resources | project name", "options": {"$skipToken": token.unwrap_or_default()}})).await;
    assert!(s == 400 || s == 200);
    sim.stop().await;
}

#[tokio::test]
async fn quota_headers_report_resource_graph_headroom() {
    let sim = TestSim::start().await;
    let resp = sim
        .send(
            Method::POST,
            GRAPH,
            Some(json!({"query": "Resources | take 1"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "x-ms-user-quota-remaining").as_deref(),
        Some("14")
    );
    assert!(header(&resp, "x-ms-user-quota-resets-after").is_some_and(|h| h.starts_with("00:00:0")));
    for _ in 0..14 {
        sim.send(
            Method::POST,
            GRAPH,
            Some(json!({"query": "Resources | take 1"})),
        )
        .await;
    }
    let resp = sim
        .send(
            Method::POST,
            GRAPH,
            Some(json!({"query": "Resources | take 1"})),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert!(header(&resp, "retry-after").is_some());
    sim.stop().await;
}

#[tokio::test]
async fn the_large_world_lists_twenty_thousand_resources() {
    let sim = TestSim::start_with(
        "large",
        Settings {
            page_size: 1000,
            throttle_scale: 0.0,
            ..Settings::fast()
        },
    )
    .await;
    assert_eq!(sim.env().subscriptions.len(), 20);
    // Resource Graph across all subscriptions, page by page.
    let subs: Vec<String> = sim
        .env()
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let mut total = 0;
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut options = json!({"$top": 1000});
        if let Some(t) = &token {
            options["$skipToken"] = json!(t);
        }
        let (s, body) = query(&sim, json!({"subscriptions": subs, "query": "Resources | project id, name, type", "options": options})).await;
        assert_eq!(s, 200);
        assert_eq!(body["totalRecords"], 20_000);
        pages += 1;
        total += body["data"].as_array().unwrap().len();
        match body["$skipToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!((total, pages), (20_000, 20));
    // ARM listing of one subscription.
    let sub = &sim.env().subscriptions[3].id;
    let mut url = format!("subscriptions/{sub}/resources?api-version=2025-04-01");
    let mut listed = 0;
    loop {
        let (s, body) = sim.get(&url).await;
        assert_eq!(s, 200);
        listed += body["value"].as_array().unwrap().len();
        match body["nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!(listed, 1000);
    sim.stop().await;
}
