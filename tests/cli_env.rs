//! `azdeck env`: adding a running simulator as an environment, listing and showing it, and clear
//! errors (exit code 3) for bad input.

mod support;

use std::process::Command;

use serde_json::Value;
use support::simulator::TestSim;

fn azdeck(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("AZDECK_CONFIG")
        .output()
        .expect("azdeck runs")
}

#[tokio::test]
async fn a_simulator_becomes_an_environment() {
    let sim = TestSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let env_file = sim.handle.env_file.to_string_lossy().to_string();
    let out = azdeck(
        &config,
        &["env", "add", "sim", "--sim-env", &env_file, "--protected"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = azdeck(&config, &["env", "list", "-o", "json"]);
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "sim");
    assert_eq!(
        list[0]["default"], true,
        "the first environment becomes the default"
    );
    assert_eq!(list[0]["environment"]["protected"], true);
    assert_eq!(
        list[0]["environment"]["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let out = azdeck(&config, &["env", "show"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["customCloud"]["resource_manager"], sim.arm());
    assert_eq!(shown["customCloud"]["resolve_address"], sim.env().listen);
    assert_eq!(shown["environment"]["credential"], "service-principal");
    // The service principal's secret never lands in the config file.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains(&sim.env().service_principal.client_secret));

    let out = azdeck(&config, &["env", "list"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("* sim") && table.contains("protected"),
        "{table}"
    );

    // Adding it twice, an unknown environment, and a broken file are input errors: exit 3.
    let out = azdeck(&config, &["env", "add", "sim", "--sim-env", &env_file]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let out = azdeck(&config, &["env", "show", "nope"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no environment named \"nope\""));
    std::fs::write(&config, "environments = 5\n").unwrap();
    let out = azdeck(&config, &["env", "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    sim.stop().await;
}

#[test]
fn adding_by_flags_needs_a_tenant_and_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let out = azdeck(&config, &["env", "add", "prod", "--cloud", "public"]);
    assert_eq!(out.status.code(), Some(3));
    let out = azdeck(
        &config,
        &[
            "env",
            "add",
            "prod",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--subscription",
            "8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d",
            "--read-only",
            "--credential",
            "azure-cli",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = azdeck(&config, &["env", "show", "prod"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["environment"]["read_only"], true);
    assert_eq!(shown["environment"]["cloud"], "public");
}
