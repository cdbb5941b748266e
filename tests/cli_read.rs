//! `azdeck inventory`, `revisions` and `show` as a user runs them: the real binary, a config with
//! the simulator as an environment, the secret from `AZURE_CLIENT_SECRET`, exit codes.

mod support;

use std::process::{Command, Output};

use serde_json::{json, Value};
use support::simulator::TestSim;

struct Env {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    secret: String,
}

fn setup(sim: &TestSim) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .arg("--config")
        .arg(&config)
        .args(["env", "add", "sim", "--sim-env"])
        .arg(&sim.handle.env_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Env {
        _dir: dir,
        config,
        secret: sim.env().service_principal.client_secret.clone(),
    }
}

fn azdeck(env: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .arg("--config")
        .arg(&env.config)
        .args(args)
        .env("AZURE_CLIENT_SECRET", &env.secret)
        .env_remove("AZDECK_CONFIG")
        .output()
        .unwrap()
}

fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_uses_resource_graph_across_subscriptions() {
    let sim = TestSim::start().await;
    let env = setup(&sim);
    let before = sim.last_seq().await;
    let items = json_out(&azdeck(&env, &["inventory", "-o", "json"]));
    let items = items.as_array().unwrap();
    assert_eq!(
        items.len(),
        19,
        "every top-level resource of both subscriptions"
    );
    assert!(
        items
            .iter()
            .any(|i| i["type"] == "Microsoft.DBforPostgreSQL/flexibleServers"),
        "canonical type casing"
    );
    let arm: Vec<Value> = sim
        .requests_since(before)
        .await
        .into_iter()
        .filter(|r| r["host"].as_str().unwrap().starts_with("management."))
        .collect();
    assert_eq!(
        arm.len(),
        1,
        "one Resource Graph page, nothing else: {arm:#?}"
    );
    assert_eq!(
        arm[0]["path"],
        "/providers/Microsoft.ResourceGraph/resources"
    );

    let apps = json_out(&azdeck(
        &env,
        &[
            "inventory",
            "--type",
            "Microsoft.App/containerApps",
            "-o",
            "json",
        ],
    ));
    assert_eq!(apps.as_array().unwrap().len(), 8);
    let jsonl = azdeck(&env, &["inventory", "-o", "jsonl"]);
    assert_eq!(String::from_utf8_lossy(&jsonl.stdout).lines().count(), 19);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_falls_back_to_arm_listing_when_resource_graph_refuses() {
    let sim = TestSim::start().await;
    let env = setup(&sim);
    sim.add_fault(json!({"match": {"path": "Microsoft.ResourceGraph"}, "action": {"kind": "error", "status": 403, "code": "AuthorizationFailed", "message": "The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope '/' or the scope is invalid."}})).await;
    let before = sim.last_seq().await;
    let items = json_out(&azdeck(&env, &["inventory", "-o", "json"]));
    assert_eq!(items.as_array().unwrap().len(), 19);
    let listed = sim
        .requests_since(before)
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/resources") && r["method"] == "GET")
        .count();
    assert_eq!(listed, 2, "one listing per subscription");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_show_health_traffic_and_images() {
    let sim = TestSim::start().await;
    let env = setup(&sim);
    let all = json_out(&azdeck(
        &env,
        &[
            "revisions",
            "rg-platform-prod/dagster-webserver",
            "--all",
            "-o",
            "json",
        ],
    ));
    assert_eq!(all["revisionMode"], "Multiple");
    let revs = all["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 3);
    let v43 = revs
        .iter()
        .find(|r| r["name"] == "dagster-webserver--v43")
        .unwrap();
    assert_eq!(
        (
            v43["properties"]["healthState"].as_str(),
            v43["properties"]["trafficWeight"].as_i64()
        ),
        (Some("Unhealthy"), Some(100))
    );
    let active = json_out(&azdeck(
        &env,
        &[
            "revisions",
            "rg-platform-prod/dagster-webserver",
            "-o",
            "json",
        ],
    ));
    assert_eq!(
        active["revisions"].as_array().unwrap().len(),
        2,
        "only active revisions without --all"
    );
    let table = azdeck(&env, &["revisions", "dagster-daemon", "--all"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("revision mode Single")
            && text.contains("dagster-daemon--r18")
            && text.contains("Unhealthy"),
        "{text}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_say_whose_fault_it_is() {
    let sim = TestSim::start().await;
    let env = setup(&sim);
    let sub = sim.prod_sub();
    // Ambiguous or unknown app, malformed id: the input is wrong (3).
    let out = azdeck(&env, &["revisions", "dagster-webserver"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("names several apps"));
    assert_eq!(azdeck(&env, &["revisions", "nope"]).status.code(), Some(3));
    assert_eq!(azdeck(&env, &["show", "not/an/id"]).status.code(), Some(3));
    // Azure says no (8).
    let missing = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-nope");
    let out = azdeck(&env, &["show", &missing]);
    assert_eq!(out.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let vault = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-platform-prod");
    assert_eq!(
        json_out(&azdeck(&env, &["show", &vault]))["name"],
        "kv-platform-prod"
    );
    // A wrong secret is Entra's refusal, told plainly, and the secret is not echoed.
    let bad = Env {
        secret: "wrong-secret-canary".into(),
        ..env
    };
    let out = azdeck(&bad, &["inventory"]);
    assert_eq!(out.status.code(), Some(8));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AADSTS7000215"), "{stderr}");
    assert!(!stderr.contains("wrong-secret-canary"));
    sim.stop().await;
}
