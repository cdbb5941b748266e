//! `azdeck sim` as a user runs it: the real binary, its environment file, a client using only
//! that file, a clean stop on SIGTERM, and `--state-dir` keeping the cloud across restarts.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use azdeck::model::SimEnvironment;
use serde_json::{json, Value};

struct Running {
    child: Child,
    env: SimEnvironment,
}

fn start(state_dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .args(["sim", "--port", "0", "--fast", "--quiet", "--state-dir"])
        .arg(state_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("azdeck sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("env file path on stdout");
    let env = SimEnvironment::load(std::path::Path::new(line.trim())).expect("env file is valid");
    Running { child, env }
}

fn stop(mut running: Running) {
    let pid = running.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = running.child.wait().expect("azdeck sim exits");
    assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}");
}

#[tokio::test]
async fn the_binary_serves_its_env_file_and_keeps_state_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path());
    let env = running.env.clone();
    assert!(env.ca_file.starts_with(dir.path()));
    assert!(env.hosts.iter().any(|h| h == "*.vault.azdeck.localhost"));
    let addr: std::net::SocketAddr = env.listen.parse().unwrap();
    let client = support::simulator::client_for(&env, addr, &[]);
    let bearer = support::simulator::token_for(
        &client,
        &env,
        &format!("{}.default", env.endpoints.resource_manager),
    )
    .await;
    let sub = env
        .subscriptions
        .iter()
        .find(|s| s.name == "platform-prod")
        .unwrap()
        .id
        .clone();
    let rg = format!(
        "{}subscriptions/{sub}/resourcegroups/rg-kept?api-version=2025-04-01",
        env.endpoints.resource_manager
    );
    let resp = client
        .put(&rg)
        .bearer_auth(&bearer)
        .json(&json!({"location": "eastus", "tags": {"kept": "yes"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // The state file is written within a second of the change; SIGTERM also saves.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop(running);
    assert!(dir.path().join("state.json").exists());

    let running = start(dir.path());
    let env = running.env.clone();
    let addr: std::net::SocketAddr = env.listen.parse().unwrap();
    let client = support::simulator::client_for(&env, addr, &[]);
    let bearer = support::simulator::token_for(
        &client,
        &env,
        &format!("{}.default", env.endpoints.resource_manager),
    )
    .await;
    let rg = format!(
        "{}subscriptions/{sub}/resourcegroups/rg-kept?api-version=2025-04-01",
        env.endpoints.resource_manager
    );
    let resp = client.get(&rg).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the resource group survived the restart"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tags"]["kept"], "yes");
    stop(running);
}

#[test]
fn a_bad_world_is_a_clear_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .args(["sim", "--port", "0", "--world", "/nonexistent/world.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown world"), "{stderr}");
    assert!(!stderr.contains("panicked"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("w.yaml");
    std::fs::write(&bad, "name: x\nsubscriptions: 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .args(["sim", "--port", "0", "--world"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid YAML for a world"));
}
