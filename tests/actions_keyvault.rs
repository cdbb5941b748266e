//! The Key Vault actions against the simulated vault: outputs without values, plans, check, and
//! from the simulator's request log exactly the requests they send.

mod support;

use std::time::Duration;

use azdeck::runbook::action::{ActionContext, Check, EnvironmentInfo, Registry};
use azdeck::runbook::confirm::Headless;
use serde_json::json;
use support::simulator::TestSim;
use tokio::sync::watch;

#[tokio::test]
async fn set_show_disable_enable_with_exact_requests_and_no_value_out() {
    let sim = TestSim::start().await;
    let (pipeline, _) = support::simulator::pipeline_for(&sim, false);
    let environment = EnvironmentInfo {
        name: "sim".into(),
        protected: false,
        read_only: false,
    };
    let confirmer = Headless {
        yes: true,
        confirm_env: None,
    };
    let progress = |_: String| {};
    let cancel = watch::channel(false).0;
    let ctx = ActionContext {
        azure: Some(&pipeline),
        http: None,
        environment: &environment,
        run_id: "r",
        step_id: "s",
        timeout: Duration::from_secs(60),
        confirmer: &confirmer,
        progress: &progress,
        cancel: cancel.subscribe(),
    };
    let registry = Registry::builtin();
    for name in [
        "keyvault.secret.show",
        "keyvault.secret.versions",
        "keyvault.secret.set",
        "keyvault.secret.disable",
        "keyvault.secret.enable",
    ] {
        assert!(registry.get(name).is_some(), "{name} registered");
    }
    assert!(registry.get("keyvault.secret.set").unwrap().spec().mutates);
    let kv = |_: &str| json!({"vault": "kv-platform-prod", "name": "newsapi-api-key"});

    // show: properties of the latest version, expiring in 5 days.
    let shown = registry
        .get("keyvault.secret.show")
        .unwrap()
        .run(&ctx, &kv(""))
        .await
        .expect("show");
    assert_eq!(shown["enabled"], true);
    assert!(shown["expires"].is_string());
    assert!(!shown.to_string().contains("sim-newsapi-key"));

    // set with a generated value: a version and id out, the value nowhere.
    let set = registry.get("keyvault.secret.set").unwrap();
    let input = json!({"vault": "kv-platform-prod", "name": "rotated", "generate": {"length": 32}});
    let plan = set.plan(&ctx, &input).await.expect("plan");
    assert_eq!(plan.calls[0].method, "PUT");
    assert_eq!(plan.calls[0].body.as_ref().unwrap()["value"], "***");
    let since = sim.last_seq().await;
    let out = set.run(&ctx, &input).await.expect("set");
    let version = out["version"].as_str().expect("version").to_string();
    assert!(out["id"].as_str().unwrap().ends_with(&version));
    assert_eq!(out.as_object().unwrap().len(), 2, "{out}");
    let calls: Vec<String> = sim
        .requests_since(since)
        .await
        .iter()
        .filter(|r| {
            r["host"]
                .as_str()
                .unwrap_or_default()
                .starts_with("kv-platform-prod")
        })
        .map(|r| {
            format!(
                "{} {} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["status"]
            )
        })
        .collect();
    assert_eq!(
        calls,
        ["PUT /secrets/rotated 401", "PUT /secrets/rotated 200"]
    );

    // disable (the rollback of set): check, plan, run, then idempotent.
    let disable = registry.get("keyvault.secret.disable").unwrap();
    let v = json!({"vault": "kv-platform-prod", "name": "rotated", "version": version});
    assert_eq!(
        disable.check(&ctx, &v).await.expect("check"),
        Check::NotApplied
    );
    let plan = disable.plan(&ctx, &v).await.expect("plan");
    assert_eq!(plan.calls.len(), 1);
    assert_eq!(plan.changes[0].after, json!(false));
    let out = disable.run(&ctx, &v).await.expect("disable");
    assert_eq!(out["changed"], true);
    assert_eq!(
        disable.check(&ctx, &v).await.expect("check"),
        Check::Applied
    );
    let since = sim.last_seq().await;
    let again = disable.run(&ctx, &v).await.expect("again");
    assert_eq!(again["changed"], false);
    assert!(
        sim.requests_since(since)
            .await
            .iter()
            .all(|r| r["method"] == "GET"),
        "an applied disable sends no change"
    );
    let out = registry
        .get("keyvault.secret.enable")
        .unwrap()
        .run(&ctx, &v)
        .await
        .expect("enable");
    assert_eq!(out["changed"], true);
    let versions = registry
        .get("keyvault.secret.versions")
        .unwrap()
        .run(
            &ctx,
            &json!({"vault": "kv-platform-prod", "name": "rotated"}),
        )
        .await
        .expect("versions");
    assert_eq!(versions["versions"].as_array().unwrap().len(), 1);
    sim.stop().await;
}
