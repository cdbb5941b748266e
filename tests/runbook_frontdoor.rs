//! The Front Door runbooks run headless by the real binary against the simulator: a regional
//! failover drill, an emergency deny (and its rollback when the deny is not seen), and plans that
//! change nothing.

mod support;

use reqwest::{Client, Method};
use serde_json::Value;
use support::cli::{events, stderr, stdout, CliEnv};
use support::simulator::{client_for_hosts, header, TestSim};

const API: &str = "api-version=2025-06-01";

fn profile(sim: &TestSim) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-platform-prod/providers/Microsoft.Cdn/profiles/afd-platform",
        sim.prod_sub()
    )
}

fn route_id(sim: &TestSim) -> String {
    format!("{}/afdEndpoints/chat/routes/route-chat-api", profile(sim))
}

fn origin_id(sim: &TestSim, name: &str) -> String {
    format!("{}/originGroups/og-chat-api/origins/{name}", profile(sim))
}

async fn props(sim: &TestSim, id: &str) -> Value {
    let (s, body) = sim
        .get(&format!("{}?{API}", id.trim_start_matches('/')))
        .await;
    assert_eq!(s, 200, "{body}");
    body["properties"].clone()
}

/// The data path of the world's `chat` endpoint.
struct Edge {
    client: Client,
    url: String,
}

impl Edge {
    async fn of(sim: &TestSim) -> Edge {
        let ep = props(sim, &format!("{}/afdEndpoints/chat", profile(sim))).await;
        let host = ep["hostName"].as_str().unwrap().to_string();
        Edge {
            client: client_for_hosts(sim.env(), sim.handle.addr, &[&host]),
            url: format!("https://{host}:{}", sim.handle.addr.port()),
        }
    }

    async fn call(&self) -> (u16, Option<String>) {
        let resp = self
            .client
            .get(format!("{}/api/chat", self.url))
            .send()
            .await
            .expect("Front Door answers");
        (resp.status().as_u16(), header(&resp, "x-azdeck-origin"))
    }
}

fn run(env: &CliEnv, args: &[&str]) -> std::process::Output {
    let out = env.run(&[args, &["--env", "sim", "-o", "jsonl"]].concat());
    eprintln!("{}\n{}", stdout(&out), stderr(&out));
    out
}

/// The PATCH calls of the plan of `step`.
fn planned_patches(events: &[Value], step: &str) -> Vec<Value> {
    let planned = events
        .iter()
        .find(|e| e["type"] == "step_planned" && e["step"] == step)
        .unwrap_or_else(|| panic!("step {step} is planned: {events:#?}"));
    planned["plan"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "PATCH")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failover_drill_moves_traffic_to_the_dr_origin() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let edge = Edge::of(&sim).await;
    assert_eq!(edge.call().await, (200, Some("primary-eastus".into())));

    let (s, body) = sim.admin(Method::POST, "regions/eastus/fail", None).await;
    assert_eq!(s, 200, "{body}");
    let (primary, dr) = (
        origin_id(&sim, "primary-eastus"),
        origin_id(&sim, "dr-westus"),
    );
    let out = run(
        &env,
        &[
            "run",
            "dr-region-failover",
            "-p",
            &format!("primaryOrigin={primary}"),
            "-p",
            &format!("drOrigin={dr}"),
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = events(&out);
    let promote = events
        .iter()
        .find(|e| e["type"] == "step_succeeded" && e["step"] == "promote")
        .unwrap_or_else(|| panic!("promote succeeded: {events:#?}"));
    assert_eq!(promote["outputs"]["previous"]["priority"], 2, "{promote}");

    let dr_now = props(&sim, &dr).await;
    assert_eq!(
        (&dr_now["priority"], &dr_now["enabledState"]),
        (&1.into(), &"Enabled".into())
    );
    let primary_now = props(&sim, &primary).await;
    assert_eq!(primary_now["enabledState"], "Disabled");
    assert_eq!(primary_now["priority"], 1);

    // Sticky: the primary's region comes back, traffic stays on DR.
    assert_eq!(edge.call().await, (200, Some("dr-westus".into())));
    sim.admin(Method::POST, "regions/eastus/restore", None)
        .await;
    assert_eq!(edge.call().await, (200, Some("dr-westus".into())));
}

/// The emergency-deny runbook with a probe that can never pass (it expects a 599).
fn impossible_deny(dir: &std::path::Path) {
    let text = include_str!("../runbooks/frontdoor-emergency-deny.yaml")
        .replace("status: [404]", "status: [599]")
        .replace("attempts: 10", "attempts: 2")
        .replace("interval: 3s", "interval: 100ms");
    std::fs::write(dir.join("frontdoor-emergency-deny.yaml"), text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emergency_deny_answers_404_and_rolls_back_when_not_seen() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let edge = Edge::of(&sim).await;
    let route = route_id(&sim);

    // A deny whose probe fails: the route is enabled again.
    let custom = tempfile::tempdir().unwrap();
    impossible_deny(custom.path());
    let dir = custom.path().display().to_string();
    let out = run(
        &env,
        &[
            "run",
            "frontdoor-emergency-deny",
            "--runbooks",
            &dir,
            "-p",
            &format!("route={route}"),
            "--yes",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "the probe fails the run");
    assert_eq!(props(&sim, &route).await["enabledState"], "Enabled");
    assert_eq!(edge.call().await.0, 200);
    let before = sim.last_seq().await;
    let patches: Vec<_> = sim
        .requests_since(0)
        .await
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2, "disable then enable: {patches:#?}");

    // The real one.
    let out = run(
        &env,
        &[
            "run",
            "frontdoor-emergency-deny",
            "-p",
            &format!("route={route}"),
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(props(&sim, &route).await["enabledState"], "Disabled");
    assert_eq!(edge.call().await.0, 404);
    assert_eq!(sim.mutations_since(before).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_show_the_patches_and_change_nothing() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before = sim.last_seq().await;
    let route = route_id(&sim);
    let (primary, dr) = (
        origin_id(&sim, "primary-eastus"),
        origin_id(&sim, "dr-westus"),
    );

    let out = run(
        &env,
        &[
            "plan",
            "frontdoor-emergency-deny",
            "-p",
            &format!("route={route}"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patches = planned_patches(&events(&out), "deny");
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert!(patches[0]["url"]
        .as_str()
        .unwrap()
        .ends_with("routes/route-chat-api?api-version=2025-06-01"));
    assert_eq!(patches[0]["body"]["properties"]["enabledState"], "Disabled");

    let out = run(
        &env,
        &[
            "plan",
            "dr-region-failover",
            "-p",
            &format!("primaryOrigin={primary}"),
            "-p",
            &format!("drOrigin={dr}"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = events(&out);
    let promote = planned_patches(&events, "promote");
    assert_eq!(promote.len(), 1, "{promote:#?}");
    assert!(promote[0]["url"]
        .as_str()
        .unwrap()
        .contains("origins/dr-westus?"));
    assert_eq!(
        promote[0]["body"],
        serde_json::json!({"properties": {"priority": 1}})
    );
    let drain = planned_patches(&events, "drain");
    assert_eq!(
        drain[0]["body"],
        serde_json::json!({"properties": {"enabledState": "Disabled"}})
    );

    assert!(sim.mutations_since(before).await.is_empty());
    assert_eq!(props(&sim, &route).await["enabledState"], "Enabled");
    assert_eq!(props(&sim, &dr).await["priority"], 2);
}
