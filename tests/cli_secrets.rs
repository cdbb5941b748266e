//! `azdeck secrets VAULT` as a user runs it: the real binary against the simulated vault, the
//! table and JSON, expiry in days, deleted secrets left out, and no value anywhere — not on stdout,
//! not in a trace-level log on stderr.

mod support;

use serde_json::Value;
use support::cli::{stderr, stdout, CliEnv};
use support::simulator::TestSim;

/// Values of the seeded kv-platform-prod secrets (src/sim/worlds/default.yaml).
const VALUES: &[&str] = &[
    "sim-newsapi-key-0b7e4c2d9a1f",
    "sk_test_sim_51HsimStripeKeyNotReal",
    "Sim-Prod",
];

#[tokio::test(flavor = "multi_thread")]
async fn secrets_lists_properties_and_expiry_never_values() {
    let sim = TestSim::start().await;
    let cli = CliEnv::new(&sim);

    let out = cli
        .command(&["secrets", "kv-platform-prod", "--env", "sim"])
        .env("AZDECK_LOG", "trace")
        .output()
        .expect("azdeck runs");
    let (table, log) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{log}");
    let line = table
        .lines()
        .find(|l| l.starts_with("newsapi-api-key "))
        .unwrap_or_else(|| panic!("newsapi-api-key listed: {table}"));
    assert!(line.contains("(in 5 days)"), "{line}");
    assert!(table.contains("stripe-secret"));
    assert!(table.contains("newsapi-postgres-credentials"));
    assert!(
        !table.contains("acr-pull-token"),
        "deleted secrets are not listed"
    );
    for v in VALUES {
        assert!(
            !table.contains(v) && !log.contains(v),
            "a value leaked: {v}"
        );
    }

    let out = cli.run(&["secrets", "kv-platform-prod", "--env", "sim", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let key = rows
        .iter()
        .find(|r| r["name"] == "newsapi-api-key")
        .expect("listed");
    assert_eq!(key["expiresIn"], "in 5 days");
    assert_eq!(key["enabled"], true);
    assert!(key.get("value").is_none());
    assert!(!rows.iter().any(|r| r["name"] == "acr-pull-token"));

    // One secret's versions: the older, disabled version of the connection string is there.
    let out = cli.run(&[
        "secrets",
        "kv-platform-prod",
        "--env",
        "sim",
        "--versions",
        "newsapi-postgres-credentials",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let versions: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(versions.len() >= 2, "{versions:?}");
    assert!(versions.iter().any(|v| v["enabled"] == false));
    for v in VALUES {
        assert!(!stdout(&out).contains(v));
    }

    // A bad name is the user's mistake (exit 3), not Azure's.
    let out = cli.run(&[
        "secrets",
        "kv-platform-prod",
        "--env",
        "sim",
        "--versions",
        "a_b",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    sim.stop().await;
}
