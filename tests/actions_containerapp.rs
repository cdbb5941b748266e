//! The Container Apps actions and `http.probe` against the simulated Azure over HTTPS: what they
//! read and output, what their plans say, what they change, and — from the simulator's request
//! log — that they send nothing they do not need.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azdeck::azure::http::Pipeline;
use azdeck::runbook::action::{
    ActionContext, ActionError, Check, EnvironmentInfo, Plan, Registry, KNOWN_AFTER_APPLY,
};
use azdeck::runbook::confirm::Headless;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{header, TestSim};
use tokio::sync::watch;

const API: &str = "api-version=2025-07-01";

type Lines = Arc<Mutex<Vec<String>>>;

struct Harness {
    sim: TestSim,
    pipeline: Pipeline,
    http: reqwest::Client,
    registry: Registry,
    environment: EnvironmentInfo,
    confirmer: Headless,
    lines: Lines,
    progress: Box<dyn Fn(String) + Send + Sync>,
    cancel: watch::Sender<bool>,
}

impl Harness {
    async fn start() -> Harness {
        let sim = TestSim::start().await;
        let (pipeline, http) = support::simulator::pipeline_for(&sim, false);
        let lines: Lines = Arc::default();
        let sink = lines.clone();
        Harness {
            sim,
            pipeline,
            http,
            registry: Registry::builtin(),
            environment: EnvironmentInfo {
                name: "sim".into(),
                protected: false,
                read_only: false,
            },
            confirmer: Headless {
                yes: true,
                confirm_env: None,
            },
            lines,
            progress: Box::new(move |line| sink.lock().unwrap().push(line)),
            cancel: watch::channel(false).0,
        }
    }

    fn ctx(&self) -> ActionContext<'_> {
        ActionContext {
            azure: Some(&self.pipeline),
            http: Some(&self.http),
            environment: &self.environment,
            run_id: "run-1",
            step_id: "step-1",
            timeout: Duration::from_secs(60),
            confirmer: &self.confirmer,
            progress: self.progress.as_ref(),
            cancel: self.cancel.subscribe(),
        }
    }

    fn app(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/{name}",
            self.sim.prod_sub()
        )
    }

    async fn run(&self, action: &str, input: Value) -> Result<Value, ActionError> {
        let a = self.registry.get(action).expect("registered");
        a.run(&self.ctx(), &input).await
    }

    async fn check(&self, action: &str, input: Value) -> Check {
        let a = self.registry.get(action).expect("registered");
        a.check(&self.ctx(), &input).await.expect("check answers")
    }

    async fn plan(&self, action: &str, input: Value) -> Plan {
        let a = self.registry.get(action).expect("registered");
        a.plan(&self.ctx(), &input).await.expect("plan")
    }

    /// The management requests since `since`, as `METHOD path?query`.
    async fn arm_calls(&self, since: u64) -> Vec<(String, String)> {
        self.sim
            .requests_since(since)
            .await
            .iter()
            .filter(|r| {
                r["host"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("management.")
            })
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or_default().to_string(),
                    format!(
                        "{}?{}",
                        r["path"].as_str().unwrap_or_default(),
                        r["query"].as_str().unwrap_or_default()
                    ),
                )
            })
            .collect()
    }

    async fn revisions(&self, app: &str) -> Vec<Value> {
        let out = self
            .run("containerapp.revisions.list", json!({"app": self.app(app)}))
            .await
            .expect("revisions");
        out["revisions"].as_array().cloned().unwrap_or_default()
    }

    /// Revisions of `app` once none is starting any more.
    async fn settled(&self, app: &str) -> Vec<Value> {
        for _ in 0..100 {
            let revs = self.revisions(app).await;
            if revs.iter().all(|r| r["runningState"] != "Processing") {
                return revs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("revisions of {app} stay Processing");
    }

    async fn stop(self) {
        self.sim.stop().await;
    }
}

fn named<'a>(revs: &'a [Value], name: &str) -> &'a Value {
    revs.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {revs:?}"))
}

fn app_path(h: &Harness, name: &str) -> String {
    format!("{}?{API}", h.app(name))
}

#[test]
fn the_registry_has_the_container_apps_actions_with_their_contracts() {
    let r = Registry::builtin();
    let expect = [
        ("containerapp.show", false, true),
        ("containerapp.revisions.list", false, true),
        ("containerapp.revision.pick_previous_healthy", false, true),
        ("containerapp.revision.activate", true, true),
        ("containerapp.revision.deactivate", true, true),
        ("containerapp.revision.restart", true, false),
        ("containerapp.traffic.set", true, true),
        ("containerapp.scale.set", true, true),
        ("containerapp.template.apply", true, true),
        ("http.probe", false, true),
    ];
    for (name, mutates, idempotent) in expect {
        let spec = r.get(name).unwrap_or_else(|| panic!("{name}")).spec();
        assert_eq!(
            (spec.mutates, spec.idempotent),
            (mutates, idempotent),
            "{name}"
        );
        let schema = r.get(name).unwrap().input_schema();
        assert_eq!(
            schema["additionalProperties"], false,
            "{name} refuses unknown fields"
        );
    }
    // The traffic input documents both spellings of a revision.
    let schema = r
        .get("containerapp.traffic.set")
        .unwrap()
        .input_schema()
        .to_string();
    assert!(schema.contains("revisionName") && schema.contains("\"revision\""));
}

#[tokio::test]
async fn show_and_list_report_apps_as_azure_has_them() {
    let h = Harness::start().await;
    let web = h
        .run(
            "containerapp.show",
            json!({"app": h.app("dagster-webserver")}),
        )
        .await
        .unwrap();
    assert_eq!(web["name"], "dagster-webserver");
    assert_eq!(web["resourceGroup"], "rg-platform-prod");
    assert_eq!(web["location"], "eastus");
    assert_eq!(web["revisionMode"], "Multiple");
    assert_eq!(web["latestRevision"], "dagster-webserver--v43");
    assert_eq!(web["latestReadyRevision"], "dagster-webserver--v43");
    assert_eq!(
        web["fqdn"],
        "dagster-webserver.cae-platform-prod.eastus.apps.azdeck.localhost"
    );
    assert_eq!(
        web["traffic"],
        json!([{"weight": 100, "latestRevision": true}])
    );
    assert_eq!(
        web["activeRevisions"],
        json!(["dagster-webserver--v42", "dagster-webserver--v43"])
    );
    assert_eq!(
        (web["minReplicas"].as_i64(), web["maxReplicas"].as_i64()),
        (Some(2), Some(4))
    );
    assert!(web["image"]
        .as_str()
        .unwrap()
        .ends_with("sha-7c3e5d2-broken"));
    assert_eq!(web["provisioningState"], "Succeeded");

    let daemon = h
        .run("containerapp.show", json!({"app": h.app("dagster-daemon")}))
        .await
        .unwrap();
    assert_eq!(daemon["revisionMode"], "Single");
    assert_eq!(daemon["fqdn"], Value::Null, "no ingress, no FQDN");
    assert_eq!(daemon["traffic"], json!([]));
    assert_eq!(daemon["activeRevisions"], json!(["dagster-daemon--r18"]));

    let chat = h.revisions("chat-api").await;
    let names: Vec<&str> = chat.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["chat-api--b211", "chat-api--b212", "chat-api--b213"],
        "oldest first"
    );
    let b212 = named(&chat, "chat-api--b212");
    assert_eq!(b212["labels"], json!(["stable"]));
    assert_eq!(
        (b212["trafficWeight"].as_i64(), b212["active"].as_bool()),
        (Some(90), Some(true))
    );
    assert_eq!(b212["healthState"], "Healthy");
    assert_eq!(b212["runningState"], "Running");
    assert_eq!(b212["replicas"], 2);
    assert!(b212["image"].as_str().unwrap().ends_with("chat-api:2.12.1"));
    assert!(b212["createdTime"].is_string());
    assert_eq!(named(&chat, "chat-api--b211")["active"], false);

    // A read-only plan lists its GETs and already knows its outputs.
    let plan = h
        .plan(
            "containerapp.show",
            json!({"app": h.app("dagster-webserver")}),
        )
        .await;
    let urls: Vec<&str> = plan.calls.iter().map(|c| c.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            app_path(&h, "dagster-webserver"),
            format!("{}/revisions?{API}", h.app("dagster-webserver"))
        ]
    );
    assert_eq!(
        plan.outputs.as_ref().unwrap()["latestRevision"],
        "dagster-webserver--v43"
    );

    // Not an app id: the runbook's mistake, said before anything is sent.
    let before = h.sim.last_seq().await;
    let err = h
        .run("containerapp.show", json!({"app": "dagster-webserver"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Input(_)), "{err}");
    let err = h
        .run("containerapp.show", json!({"app": h.app("x"), "extra": 1}))
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Input(_)), "{err}");
    assert!(h.arm_calls(before).await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn the_previous_healthy_revision_in_both_revision_modes() {
    let h = Harness::start().await;
    let harness = &h;
    let pick = |app: &str, exclude: Value| {
        let input = json!({"app": harness.app(app), "exclude": exclude});
        async move {
            harness
                .run("containerapp.revision.pick_previous_healthy", input)
                .await
        }
    };
    // Multiple mode: v43 has the traffic; v42 before it is healthy.
    let v42 = pick("dagster-webserver", json!([])).await.unwrap();
    assert_eq!(v42["name"], "dagster-webserver--v42");
    assert_eq!(
        (v42["active"].as_bool(), v42["healthState"].as_str()),
        (Some(true), Some("Healthy"))
    );
    assert!(v42["image"].as_str().unwrap().ends_with("sha-4f2a9c1"));
    assert!(v42["createdTime"].is_string());
    // Single mode: r18 is the active revision; r17, inactive, kept its health.
    let r17 = pick("dagster-daemon", json!([])).await.unwrap();
    assert_eq!(
        (r17["name"].as_str(), r17["active"].as_bool()),
        (Some("dagster-daemon--r17"), Some(false))
    );
    // Excluding one moves on to the one before.
    let v41 = pick("dagster-webserver", json!(["dagster-webserver--v42"]))
        .await
        .unwrap();
    assert_eq!(v41["name"], "dagster-webserver--v41");
    // Nothing left: a precondition that says why.
    let err = pick(
        "dagster-webserver",
        json!(["dagster-webserver--v42", "dagster-webserver--v41"]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("dagster-webserver--v43")),
        "{err}"
    );
    h.stop().await;
}

#[tokio::test]
async fn multiple_mode_rollback_moves_traffic_with_one_patch_and_the_app_answers_again() {
    let h = Harness::start().await;
    let app = h.app("dagster-webserver");
    let shift =
        json!({"app": app, "weights": [{"revision": "dagster-webserver--v42", "weight": 100}]});
    let current = h
        .run("containerapp.show", json!({"app": app}))
        .await
        .unwrap();
    let url = format!("https://{}/", current["fqdn"].as_str().unwrap());

    // Before: the app answers Envoy's 503 (its traffic goes to the unhealthy v43).
    let probe =
        json!({"url": url, "expect": {"status": [200, 204]}, "attempts": 2, "interval": "50ms"});
    let err = h.run("http.probe", probe.clone()).await.unwrap_err();
    assert!(
        matches!(&err, ActionError::Failed(m) if m.contains("status 503") && m.contains("2 attempts")),
        "{err}"
    );
    assert!(h
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("attempt 1/2")));

    // The plan: the exact PATCH and the before/after it causes.
    assert_eq!(
        h.check("containerapp.traffic.set", shift.clone()).await,
        Check::NotApplied
    );
    let plan = h.plan("containerapp.traffic.set", shift.clone()).await;
    let patch = plan
        .calls
        .iter()
        .find(|c| c.method == "PATCH")
        .expect("a PATCH");
    assert_eq!(patch.url, app_path(&h, "dagster-webserver"));
    assert_eq!(
        patch.body,
        Some(
            json!({"properties": {"configuration": {"ingress": {"traffic": [
            {"revisionName": "dagster-webserver--v42", "weight": 100}]}}}})
        )
    );
    let traffic = &plan.changes[0];
    assert_eq!(traffic.field, "properties.configuration.ingress.traffic");
    assert_eq!(
        traffic.before.to_string(),
        r#"[{"weight":100,"latestRevision":true}]"#
    );
    assert_eq!(
        traffic.after.to_string(),
        r#"[{"revisionName":"dagster-webserver--v42","weight":100}]"#
    );
    let weight = |rev: &str| {
        plan.changes
            .iter()
            .find(|c| c.resource.ends_with(rev) && c.field == "trafficWeight")
            .map(|c| (c.before.clone(), c.after.clone()))
    };
    assert_eq!(weight("--v43"), Some((json!(100), json!(0))));
    assert_eq!(weight("--v42"), Some((json!(0), json!(100))));
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("latestRevision currently means dagster-webserver--v43")));
    assert!(plan.notes.iter().any(|n| n.contains("If-Match")));

    // The run: one read, one PATCH, the operation's polls and the final read — nothing else.
    let before = h.sim.last_seq().await;
    let out = h
        .run("containerapp.traffic.set", shift.clone())
        .await
        .unwrap();
    let calls = h.arm_calls(before).await;
    let patches: Vec<_> = calls.iter().filter(|(m, _)| m == "PATCH").collect();
    assert_eq!(patches.len(), 1, "{calls:?}");
    assert_eq!(patches[0].1, app_path(&h, "dagster-webserver"));
    let app_reads = calls
        .iter()
        .filter(|(m, p)| m == "GET" && *p == app_path(&h, "dagster-webserver"))
        .count();
    assert_eq!(
        app_reads, 2,
        "the read before and the operation's final read: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .filter(|(m, p)| m == "GET" && *p != app_path(&h, "dagster-webserver"))
            .all(|(_, p)| p.contains("/containerappOperationStatuses/")),
        "only the operation is polled besides: {calls:?}"
    );
    assert_eq!(
        out["previous"],
        json!([{"weight": 100, "latestRevision": true}])
    );
    assert_eq!(
        out["traffic"],
        json!([{"revisionName": "dagster-webserver--v42", "weight": 100}])
    );
    assert!(h
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("setting traffic")));
    assert_eq!(
        h.check("containerapp.traffic.set", shift.clone()).await,
        Check::Applied
    );

    // After: the app answers through its ingress.
    let ok = h.run("http.probe", probe).await.unwrap();
    assert_eq!(
        (ok["status"].as_u64(), ok["url"].as_str()),
        (Some(200), Some(url.as_str()))
    );
    assert_eq!(ok["attempts"], 1);

    // Undo with show's own output, as a runbook's rollback step passes it back.
    let undo = json!({"app": app, "weights": current["traffic"]});
    assert_eq!(
        h.check("containerapp.traffic.set", undo.clone()).await,
        Check::NotApplied
    );
    let back = h
        .run("containerapp.traffic.set", undo.clone())
        .await
        .unwrap();
    assert_eq!(back["traffic"], current["traffic"]);
    assert_eq!(
        h.check("containerapp.traffic.set", undo).await,
        Check::Applied
    );
    h.stop().await;
}

#[tokio::test]
async fn traffic_set_checks_its_input_and_refuses_what_azure_would() {
    let h = Harness::start().await;
    let before = h.sim.last_seq().await;
    let chat = h.app("chat-api");
    for weights in [
        json!([{"revision": "chat-api--b212", "weight": 60}]),
        json!([{"weight": 100}]),
        json!([{"revision": "chat-api--b212", "revisionName": "chat-api--b213", "weight": 100}]),
    ] {
        let err = h
            .run(
                "containerapp.traffic.set",
                json!({"app": chat, "weights": weights}),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ActionError::Input(_)), "{weights}: {err}");
    }
    assert!(
        h.arm_calls(before).await.is_empty(),
        "bad input sends nothing"
    );

    // Azure's refusals are failed preconditions in its own words.
    let err = h
        .run(
            "containerapp.traffic.set",
            json!({"app": chat, "weights": [{"revision": "chat-api--b211", "weight": 100}]}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("ContainerAppInactiveRevisionTraffic")),
        "{err}"
    );
    // The plan tells it ahead, without failing (an earlier step may activate the revision).
    let plan = h
        .plan(
            "containerapp.traffic.set",
            json!({"app": chat, "weights": [{"revision": "chat-api--b211", "weight": 100}]}),
        )
        .await;
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("chat-api--b211 is inactive")),
        "{:?}",
        plan.notes
    );

    // Single revision mode: weights do nothing, so a split is refused before anything is sent…
    let user_code = h.app("dagster-user-code");
    let before = h.sim.last_seq().await;
    let err = h
        .run(
            "containerapp.traffic.set",
            json!({"app": user_code, "weights": [{"revision": "dagster-user-code--u07", "weight": 100}]}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("Single revision mode") && m.contains("containerapp.template.apply")),
        "{err}"
    );
    // …and 100% to the latest revision is what already happens: nothing to send.
    let trivial = json!({"app": user_code, "weights": [{"latestRevision": true, "weight": 100}]});
    assert_eq!(
        h.check("containerapp.traffic.set", trivial.clone()).await,
        Check::Applied
    );
    let out = h.run("containerapp.traffic.set", trivial).await.unwrap();
    assert_eq!(out["traffic"], out["previous"]);
    let calls = h.arm_calls(before).await;
    assert!(calls.iter().all(|(m, _)| m == "GET"), "{calls:?}");
    // An app without ingress has no traffic to set.
    let err = h
        .run(
            "containerapp.traffic.set",
            json!({"app": h.app("dagster-daemon"), "weights": [{"latestRevision": true, "weight": 100}]}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("no ingress")),
        "{err}"
    );
    h.stop().await;
}

#[tokio::test]
async fn single_mode_rollback_reapplies_the_old_template_as_a_new_healthy_revision() {
    let h = Harness::start().await;
    let app = h.app("dagster-daemon");
    let input = json!({"app": app, "revision": "dagster-daemon--r17"});
    let r17_image =
        named(&h.revisions("dagster-daemon").await, "dagster-daemon--r17")["image"].clone();
    assert_eq!(
        h.check("containerapp.template.apply", input.clone()).await,
        Check::NotApplied
    );

    let plan = h.plan("containerapp.template.apply", input.clone()).await;
    let methods: Vec<(&str, &str)> = plan
        .calls
        .iter()
        .map(|c| (c.method.as_str(), c.url.as_str()))
        .collect();
    let revision_path = format!("{app}/revisions/dagster-daemon--r17?{API}");
    assert_eq!(
        methods,
        [
            ("GET", app_path(&h, "dagster-daemon").as_str()),
            ("GET", revision_path.as_str()),
            ("PATCH", app_path(&h, "dagster-daemon").as_str())
        ]
    );
    let body = plan.calls[2].body.as_ref().unwrap();
    assert_eq!(
        body["properties"]["template"]["containers"][0]["image"],
        r17_image
    );
    assert!(
        body["properties"]["template"]
            .get("revisionSuffix")
            .is_none(),
        "no suffix: Azure names a new revision"
    );
    let image = plan
        .changes
        .iter()
        .find(|c| c.field == "properties.template.containers[0].image")
        .unwrap();
    assert!(image.before.as_str().unwrap().ends_with("-broken"));
    assert_eq!(image.after, r17_image);
    assert_eq!(
        plan.outputs.as_ref().unwrap()["latestRevision"],
        KNOWN_AFTER_APPLY
    );
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("Single revision mode")));

    let out = h
        .run("containerapp.template.apply", input.clone())
        .await
        .unwrap();
    let new = out["latestRevision"].as_str().unwrap().to_string();
    assert!(new.starts_with("dagster-daemon--"), "{new}");
    assert!(![
        "dagster-daemon--r16",
        "dagster-daemon--r17",
        "dagster-daemon--r18"
    ]
    .contains(&new.as_str()));
    assert_eq!(out["image"], r17_image);
    assert!(h
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("provisioning the new revision")));

    // The new revision runs r17's image, healthy, with all traffic; r18 is deactivated.
    let revs = h.settled("dagster-daemon").await;
    let fresh = named(&revs, &new);
    assert_eq!(
        (
            fresh["active"].as_bool(),
            fresh["healthState"].as_str(),
            fresh["runningState"].as_str(),
            fresh["trafficWeight"].as_i64()
        ),
        (Some(true), Some("Healthy"), Some("Running"), Some(100))
    );
    assert_eq!(fresh["image"], r17_image);
    assert_eq!(named(&revs, "dagster-daemon--r18")["active"], false);

    // Applied now: running it again sends no PATCH and reports the same revision.
    assert_eq!(
        h.check("containerapp.template.apply", input.clone()).await,
        Check::Applied
    );
    let before = h.sim.last_seq().await;
    let again = h.run("containerapp.template.apply", input).await.unwrap();
    assert_eq!(again["latestRevision"], new.as_str());
    let calls = h.arm_calls(before).await;
    assert_eq!(calls.len(), 2, "two reads only: {calls:?}");
    assert!(calls.iter().all(|(m, _)| m == "GET"));
    h.stop().await;
}

#[tokio::test]
async fn scale_set_changes_the_bounds_and_keeps_the_scale_rules() {
    let h = Harness::start().await;
    // Give chat-worker a scale rule first.
    let resp = h
        .sim
        .send(
            Method::PATCH,
            &app_path(&h, "chat-worker"),
            Some(json!({"properties": {"template": {"scale": {"minReplicas": 1, "maxReplicas": 8,
                "rules": [{"name": "queue", "custom": {"type": "azure-servicebus", "metadata": {"queueName": "jobs"}}}]}}}})),
        )
        .await;
    h.sim
        .wait_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    let app = h.app("chat-worker");
    let input = json!({"app": app, "minReplicas": 3});
    assert_eq!(
        h.check("containerapp.scale.set", input.clone()).await,
        Check::NotApplied
    );
    let plan = h.plan("containerapp.scale.set", input.clone()).await;
    let patch = plan.calls.iter().find(|c| c.method == "PATCH").unwrap();
    let scale = &patch.body.as_ref().unwrap()["properties"]["template"]["scale"];
    assert_eq!(
        (scale["minReplicas"].as_i64(), scale["maxReplicas"].as_i64()),
        (Some(3), Some(8))
    );
    assert_eq!(scale["rules"][0]["name"], "queue");
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].field,
        "properties.template.scale.minReplicas"
    );
    assert_eq!(
        (
            plan.changes[0].before.clone(),
            plan.changes[0].after.clone()
        ),
        (json!(1), json!(3))
    );
    assert!(plan
        .notes
        .iter()
        .any(|n| n.contains("new revision") && n.contains("Single")));

    let out = h
        .run("containerapp.scale.set", input.clone())
        .await
        .unwrap();
    assert_eq!(out["previous"], json!({"minReplicas": 1, "maxReplicas": 8}));
    assert_eq!(
        (out["minReplicas"].as_i64(), out["maxReplicas"].as_i64()),
        (Some(3), Some(8))
    );
    let shown = h
        .run("containerapp.show", json!({"app": app}))
        .await
        .unwrap();
    assert_eq!(out["latestRevision"], shown["latestRevision"]);
    let (_, body) = h.sim.get(&app_path(&h, "chat-worker")).await;
    assert_eq!(
        body["properties"]["template"]["scale"]["rules"][0]["name"], "queue",
        "rules kept"
    );
    assert_eq!(
        h.check("containerapp.scale.set", input.clone()).await,
        Check::Applied
    );

    // Already so: one read, no PATCH.
    let before = h.sim.last_seq().await;
    h.run("containerapp.scale.set", input).await.unwrap();
    assert_eq!(h.arm_calls(before).await.len(), 1);
    // Bounds are checked before anything is sent.
    let err = h
        .run(
            "containerapp.scale.set",
            json!({"app": app, "minReplicas": 9}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Input(_)), "{err}");

    // Multiple mode, traffic pinned to named revisions: the new revision gets none.
    let plan = h
        .plan(
            "containerapp.scale.set",
            json!({"app": h.app("chat-api"), "maxReplicas": 12}),
        )
        .await;
    assert!(
        plan.notes.iter().any(|n| n.contains("gets no traffic")),
        "{:?}",
        plan.notes
    );
    h.stop().await;
}

#[tokio::test]
async fn activate_and_deactivate_check_plan_and_refuse_like_azure() {
    let h = Harness::start().await;
    let app = h.app("dagster-webserver");
    let v41 = json!({"app": app, "revision": "dagster-webserver--v41"});
    assert_eq!(
        h.check("containerapp.revision.activate", v41.clone()).await,
        Check::NotApplied
    );
    assert_eq!(
        h.check("containerapp.revision.deactivate", v41.clone())
            .await,
        Check::Applied
    );
    let plan = h.plan("containerapp.revision.activate", v41.clone()).await;
    let post = format!("{app}/revisions/dagster-webserver--v41/activate?{API}");
    assert_eq!(plan.calls.len(), 1);
    assert_eq!(
        (plan.calls[0].method.as_str(), plan.calls[0].url.as_str()),
        ("POST", post.as_str())
    );
    assert_eq!(plan.changes[0].field, "active");
    assert_eq!(
        (
            plan.changes[0].before.clone(),
            plan.changes[0].after.clone()
        ),
        (json!(false), json!(true))
    );
    assert!(plan.changes[0]
        .resource
        .ends_with("/revisions/dagster-webserver--v41"));

    // The run sends the planned POST and nothing else.
    let before = h.sim.last_seq().await;
    let out = h
        .run("containerapp.revision.activate", v41.clone())
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"revision": "dagster-webserver--v41", "active": true})
    );
    assert_eq!(h.arm_calls(before).await, [("POST".to_string(), post)]);
    assert_eq!(
        h.check("containerapp.revision.activate", v41.clone()).await,
        Check::Applied
    );

    h.run("containerapp.revision.deactivate", v41.clone())
        .await
        .unwrap();
    assert_eq!(
        h.check("containerapp.revision.deactivate", v41.clone())
            .await,
        Check::Applied
    );

    // A revision with traffic: the plan warns, Azure refuses, the step fails its precondition.
    let v43 = json!({"app": app, "revision": "dagster-webserver--v43"});
    let plan = h
        .plan("containerapp.revision.deactivate", v43.clone())
        .await;
    assert!(
        plan.notes.iter().any(|n| n.contains("100% of the traffic")),
        "{:?}",
        plan.notes
    );
    let err = h
        .run("containerapp.revision.deactivate", v43)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("100%")),
        "{err}"
    );
    // Single mode: the only active revision stays.
    let r18 = json!({"app": h.app("dagster-daemon"), "revision": "dagster-daemon--r18"});
    let err = h
        .run("containerapp.revision.deactivate", r18)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("only active revision")),
        "{err}"
    );
    // Unknown revisions and names that are not one path segment.
    let err = h
        .run(
            "containerapp.revision.activate",
            json!({"app": app, "revision": "dagster-webserver--nope"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("ContainerAppRevisionNotFound")),
        "{err}"
    );
    let err = h
        .run(
            "containerapp.revision.activate",
            json!({"app": app, "revision": "../../x"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Input(_)), "{err}");

    // Single mode activation: the plan says the current revision stops.
    let plan = h
        .plan(
            "containerapp.revision.activate",
            json!({"app": h.app("dagster-daemon"), "revision": "dagster-daemon--r17"}),
        )
        .await;
    assert!(plan
        .changes
        .iter()
        .any(|c| c.resource.ends_with("dagster-daemon--r18") && c.after == json!(false)));
    h.stop().await;
}

#[tokio::test]
async fn restart_restarts_every_active_revision_or_the_one_named() {
    let h = Harness::start().await;
    let app = h.app("chat-api");
    assert_eq!(
        h.check("containerapp.revision.restart", json!({"app": app}))
            .await,
        Check::Unknown
    );
    let plan = h
        .plan("containerapp.revision.restart", json!({"app": app}))
        .await;
    let planned: Vec<(String, String)> = plan
        .calls
        .iter()
        .map(|c| (c.method.clone(), c.url.clone()))
        .collect();

    let before = h.sim.last_seq().await;
    let out = h
        .run("containerapp.revision.restart", json!({"app": app}))
        .await
        .unwrap();
    assert_eq!(
        out["restarted"],
        json!(["chat-api--b212", "chat-api--b213"])
    );
    let calls = h.arm_calls(before).await;
    assert_eq!(calls, planned, "the run sends what the plan lists");
    assert_eq!(calls.iter().filter(|(m, _)| m == "POST").count(), 2);
    let revs = h.revisions("chat-api").await;
    assert_eq!(named(&revs, "chat-api--b212")["runningState"], "Processing");

    let one = h
        .run(
            "containerapp.revision.restart",
            json!({"app": app, "revision": "chat-api--b213"}),
        )
        .await
        .unwrap();
    assert_eq!(one["restarted"], json!(["chat-api--b213"]));
    let err = h
        .run(
            "containerapp.revision.restart",
            json!({"app": app, "revision": "chat-api--b211"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Precondition(m) if m.contains("inactive")),
        "{err}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_probe_stops_when_interrupted() {
    let h = Harness::start().await;
    let url = "https://dagster-webserver.cae-platform-prod.eastus.apps.azdeck.localhost/";
    let probe = json!({"url": url, "attempts": 100, "interval": "10s"});
    let action = h.registry.get("http.probe").unwrap();
    let ctx = h.ctx();
    let started = std::time::Instant::now();
    let (result, _) = tokio::join!(action.run(&ctx, &probe), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        h.cancel.send_replace(true);
    });
    assert!(matches!(result, Err(ActionError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    h.stop().await;
}
