//! Runbooks run headless by the real binary against the simulator: rollback in both revision modes,
//! plans that change nothing, confirmation, rollback on failure, leases, a throttle storm, and the
//! documented exit codes.

mod support;

use std::io::{BufRead, BufReader};

use serde_json::{json, Value};
use support::cli::{events, run_id, stderr, stdout, CliEnv};
use support::simulator::TestSim;

const PROD_RG: &str = "rg-platform-prod";

fn app_path(sim: &TestSim, app: &str) -> String {
    format!(
        "subscriptions/{}/resourceGroups/{PROD_RG}/providers/Microsoft.App/containerApps/{app}?api-version=2025-07-01",
        sim.prod_sub()
    )
}

async fn app(sim: &TestSim, name: &str) -> Value {
    let (status, body) = sim.get(&app_path(sim, name)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn traffic(app: &Value) -> Value {
    app["properties"]["configuration"]["ingress"]["traffic"].clone()
}

/// `azdeck run containerapp-rollback` on dagster-webserver, confirmed, as JSON lines; it must
/// succeed.
fn roll_back_webserver(env: &CliEnv) -> std::process::Output {
    let out = env.run(&[
        "run",
        "containerapp-rollback",
        "-p",
        &format!("app={PROD_RG}/dagster-webserver"),
        "--env",
        "sim",
        "--yes",
        "-o",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn kinds(events: &[Value], step: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["step"] == step)
        .map(|e| e["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_in_multiple_mode_moves_all_traffic_to_the_previous_healthy_revision() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before = sim.last_seq().await;
    let out = roll_back_webserver(&env);
    let events = events(&out);
    assert!(kinds(&events, "reapply").contains(&"step_skipped".to_string()));
    assert!(
        kinds(&events, "activate").contains(&"step_skipped".to_string()),
        "v42 is already active"
    );
    assert!(kinds(&events, "shift").contains(&"step_succeeded".to_string()));
    assert!(kinds(&events, "verify").contains(&"step_succeeded".to_string()));
    let after = app(&sim, "dagster-webserver").await;
    assert_eq!(
        traffic(&after),
        json!([{"revisionName": "dagster-webserver--v42", "weight": 100}])
    );
    let mutations = sim.mutations_since(before).await;
    assert_eq!(
        mutations.len(),
        1,
        "one PATCH and nothing else: {mutations:#?}"
    );
    assert_eq!(mutations[0]["method"], "PATCH");
    // No needless reads: the revisions are listed once (the pick reuses the first read).
    let arm: Vec<String> = sim
        .requests_since(before)
        .await
        .iter()
        .filter(|r| {
            r["host"]
                .as_str()
                .is_some_and(|h| h.starts_with("management."))
        })
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect();
    let lists = arm
        .iter()
        .filter(|r| r.starts_with("GET ") && r.ends_with("/revisions"))
        .count();
    assert_eq!(lists, 1, "{arm:#?}");
    eprintln!("ARM requests of the rollback:\n  {}", arm.join("\n  "));
    // The run recorded every REST call it made.
    let calls: Vec<&Value> = events.iter().filter(|e| e["type"] == "call").collect();
    assert!(calls.iter().any(
        |c| c["call"]["method"] == "PATCH" && c["call"]["status"] == 200
            || c["call"]["status"] == 202
    ));
    let shown = env.run(&["runs", "show", &run_id(&events), "-o", "json"]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["run"]["status"], "succeeded");
    assert!(shown["calls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["call"]["method"] == "PATCH"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_in_single_mode_reapplies_the_previous_healthy_template() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before_app = app(&sim, "dagster-daemon").await;
    let before = sim.last_seq().await;
    let out = env.run(&[
        "run",
        "containerapp-rollback",
        "-p",
        &format!("app={PROD_RG}/dagster-daemon"),
        "--yes",
        "-o",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let events = events(&out);
    assert!(kinds(&events, "shift").contains(&"step_skipped".to_string()));
    assert!(kinds(&events, "reapply").contains(&"step_succeeded".to_string()));
    let after = app(&sim, "dagster-daemon").await;
    let latest = after["properties"]["latestRevisionName"].as_str().unwrap();
    assert_ne!(
        Some(latest),
        before_app["properties"]["latestRevisionName"].as_str()
    );
    let image = after["properties"]["template"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(
        image.ends_with("newsapi-dagster:sha-4f2a9c1"),
        "r17's image: {image}"
    );
    // The new revision comes up healthy (the simulator starts it after a moment).
    let revision_path =
        app_path(&sim, "dagster-daemon").replace("?api", &format!("/revisions/{latest}?api"));
    let mut health = Value::Null;
    for _ in 0..100 {
        let (_, rev) = sim.get(&revision_path).await;
        health = rev["properties"]["healthState"].clone();
        if health == "Healthy" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(health, "Healthy");
    let mutations = sim.mutations_since(before).await;
    assert_eq!(mutations.len(), 1, "{mutations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_shows_calls_and_before_after_and_changes_nothing() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before = sim.last_seq().await;
    let args = [
        "plan",
        "containerapp-rollback",
        "-p",
        "app=rg-platform-prod/dagster-webserver",
    ];
    let out = env.run(&[&args[..], &["-o", "jsonl"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let events = events(&out);
    let shift = events
        .iter()
        .find(|e| e["type"] == "step_planned" && e["step"] == "shift")
        .expect("the traffic step is planned");
    let plan = &shift["plan"];
    let patch = plan["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "PATCH")
        .expect("the plan shows the PATCH");
    assert!(patch["url"]
        .as_str()
        .unwrap()
        .contains("dagster-webserver?api-version="));
    assert!(patch["body"].is_object(), "with its body: {patch}");
    let change = &plan["changes"][0];
    assert_eq!(
        change["after"],
        json!([{"revisionName": "dagster-webserver--v42", "weight": 100}])
    );
    assert_ne!(change["before"], change["after"]);
    assert!(events
        .iter()
        .all(|e| e["type"] != "step_succeeded" || e["step"] != "shift"));
    assert!(
        sim.mutations_since(before).await.is_empty(),
        "a plan sends no change"
    );
    let text = env.run(&args);
    assert_eq!(text.status.code(), Some(0));
    let text = stdout(&text);
    assert!(text.contains("PATCH "), "{text}");
    assert!(text.contains("→"), "{text}");
    assert!(text.contains("nothing will change"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_or_yes_a_change_is_not_made_and_exit_is_5_then_resume_finishes() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before = sim.last_seq().await;
    let out = env.run(&[
        "run",
        "containerapp-rollback",
        "-p",
        "app=rg-platform-prod/dagster-webserver",
        "-o",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(sim.mutations_since(before).await.is_empty());
    let run = run_id(&events(&out));
    let resumed = env.run(&["resume", &run, "--yes", "-o", "jsonl"]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&resumed),
        stderr(&resumed)
    );
    let resumed = events(&resumed);
    assert!(kinds(&resumed, "current").contains(&"step_reused".to_string()));
    assert_eq!(sim.mutations_since(before).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_check_rolls_back_the_traffic_move_and_exits_2() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before_traffic = traffic(&app(&sim, "chat-api").await);
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/runbooks-engine/shift-then-fail.yaml"
    );
    let out = env.run(&[
        "run",
        file,
        "-p",
        "app=rg-platform-prod/chat-api",
        "-p",
        "revision=chat-api--b212",
        "--yes",
        "-o",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let events = events(&out);
    let order: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(order.contains(&"rollback_succeeded"), "{order:?}");
    assert_eq!(
        traffic(&app(&sim, "chat-api").await),
        before_traffic,
        "the split is back"
    );
    let last = events.last().unwrap();
    assert_eq!(last["status"], "rolled_back");
    assert_eq!(last["failed_step"], "check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_on_one_app_the_second_is_refused_with_the_holder() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/runbooks-engine/hold-app.yaml"
    );
    let app_arg = "app=rg-platform-prod/chat-api";
    let mut first = env.spawn(&["run", file, "-p", app_arg, "-p", "for=5s", "-o", "jsonl"]);
    let stdout_pipe = first.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout_pipe).lines();
    let mut first_run = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let e: Value = serde_json::from_str(&line).unwrap();
        if e["type"] == "run_started" {
            first_run = e["run_id"].as_str().unwrap().to_string();
        }
        if e["type"] == "step_started" && e["step"] == "hold" {
            break;
        }
    }
    let second = env.run(&["run", file, "-p", app_arg, "-p", "for=0s", "-o", "jsonl"]);
    assert_eq!(second.status.code(), Some(4), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains(&first_run),
        "names the holder's run: {message}"
    );
    assert!(message.contains("in use"), "{message}");
    // A different app is not held.
    let other = env.run(&[
        "run",
        file,
        "-p",
        "app=rg-platform-prod/chat-worker",
        "-p",
        "for=0s",
    ]);
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    for _ in lines {}
    assert!(first.wait().unwrap().success());
    // Once the first run is over, the app is free again.
    let third = env.run(&["run", file, "-p", app_arg, "-p", "for=0s"]);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_storm_completes_with_exactly_one_change() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let storm = sim
        .add_fault(json!({
            "match": {"host": "management"},
            "action": {"kind": "throttle", "retryAfterSecs": 1},
            "probability": 0.3
        }))
        .await;
    sim.settings(json!({"retryAfterMs": 20})).await;
    let before = sim.last_seq().await;
    roll_back_webserver(&env);
    sim.admin(reqwest::Method::DELETE, &format!("faults/{storm}"), None)
        .await;
    let log = sim.requests_since(before).await;
    let throttled = log.iter().filter(|r| r["status"] == 429).count();
    assert!(throttled > 0, "the storm happened");
    let applied: Vec<&Value> = log
        .iter()
        .filter(|r| {
            r["method"] == "PATCH"
                && r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
        })
        .collect();
    assert_eq!(applied.len(), 1, "exactly one change applied: {applied:#?}");
    assert_eq!(
        traffic(&app(&sim, "dagster-webserver").await),
        json!([{"revisionName": "dagster-webserver--v42", "weight": 100}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_params_and_runbooks_exit_3_with_a_clear_message() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let cases: &[(&[&str], &str)] = &[
        (&["run", "containerapp-rollback"], "'app' is required"),
        (
            &[
                "run",
                "containerapp-rollback",
                "-p",
                "app=x",
                "-p",
                "colour=red",
            ],
            "unknown parameter 'colour'",
        ),
        (
            &["run", "containerapp-rollback", "-p", "novalue"],
            "KEY=VALUE",
        ),
        (
            &["run", "containerapp-rollback", "-p", "app=no-such-app"],
            "no Microsoft.App/containerApps named 'no-such-app'",
        ),
        (
            &[
                "run",
                "containerapp-scale",
                "-p",
                "app=rg-platform-prod/chat-worker",
                "-p",
                "minReplicas=2",
                "-p",
                "maxReplicas=lots",
            ],
            "not an integer",
        ),
        (&["run", "no-such-runbook"], "no-such-runbook"),
    ];
    for (args, needle) in cases {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    // A malformed file names its line.
    let bad = env.dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: { name: bad, title: Bad }\nsteps:\n  - id: a\n    action: log\n    wiht: {}\n").unwrap();
    let out = env.run(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":7"),
        "line of the bad field: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_environment_needs_its_name_with_yes() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        config.replace("protected = false", "protected = true"),
    )
    .unwrap();
    assert!(std::fs::read_to_string(&env.config)
        .unwrap()
        .contains("protected = true"));
    let before = sim.last_seq().await;
    let base = [
        "run",
        "containerapp-rollback",
        "-p",
        "app=rg-platform-prod/dagster-webserver",
        "--yes",
    ];
    let out = env.run(&base);
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("--confirm-env sim"),
        "{}",
        stdout(&out)
    );
    assert!(sim.mutations_since(before).await.is_empty());
    let out = env.run(&[&base[..], &["--confirm-env", "sim"]].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_detects_a_modified_row() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let out = env.run(&[
        "plan",
        "containerapp-restart",
        "-p",
        "app=rg-platform-prod/chat-api",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ok = env.run(&["audit", "--verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("intact"));
    let db = env.state_url.trim_start_matches("sqlite://").to_string();
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{db}"))
            .await
            .unwrap();
        sqlx::query("UPDATE audit_events SET payload = replace(payload, 'chat-api', 'chat-apx') WHERE kind = 'run_started'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let bad = env.run(&["audit", "--verify"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    assert!(stdout(&bad).contains("TAMPERED"), "{}", stdout(&bad));
    assert!(
        stdout(&bad).contains("event 1 was modified"),
        "names the row: {}",
        stdout(&bad)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_at_the_next_step_boundary_and_resume_goes_on() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/runbooks-engine/hold-app.yaml"
    );
    let mut child = env.spawn(&[
        "run",
        file,
        "-p",
        "app=rg-platform-prod/chat-api",
        "-p",
        "for=2s",
        "-o",
        "jsonl",
    ]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run = String::new();
    for line in lines.by_ref() {
        let e: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if e["type"] == "run_started" {
            run = e["run_id"].as_str().unwrap().to_string();
        }
        if e["type"] == "step_started" && e["step"] == "hold" {
            break;
        }
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(10));
    assert!(
        rest.iter()
            .any(|e| e["type"] == "step_succeeded" && e["step"] == "hold"),
        "the step in progress finished: {rest:?}"
    );
    assert!(
        rest.iter().all(|e| e["step"] != "done"),
        "the next step did not start"
    );
    assert_eq!(rest.last().unwrap()["status"], "interrupted");
    let resumed = env.run(&["resume", &run, "-o", "jsonl"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let resumed = events(&resumed);
    assert!(kinds(&resumed, "hold").contains(&"step_reused".to_string()));
    assert!(kinds(&resumed, "done").contains(&"step_succeeded".to_string()));
}

/// A database of its own on the test PostgreSQL (`scripts/test` starts one), or `None` when there
/// is none and none is required.
async fn postgres_database() -> Option<String> {
    let Ok(admin) = std::env::var("AZDECK_TEST_PG_URL") else {
        assert!(
            std::env::var("AZDECK_REQUIRE_PG").as_deref() != Ok("1"),
            "AZDECK_REQUIRE_PG=1 but AZDECK_TEST_PG_URL is not set"
        );
        eprintln!("SKIPPED: no AZDECK_TEST_PG_URL (scripts/test starts a PostgreSQL)");
        return None;
    };
    use sqlx::Connection;
    let name = format!("azdeck_e2e_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("database created");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_with_the_store_on_postgresql() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let sim = TestSim::start().await;
    let env = CliEnv::with_state(&sim, Some(url));
    let out = roll_back_webserver(&env);
    let run = run_id(&events(&out));
    let listed = env.run(&["runs", "list", "-o", "json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], run.as_str());
    assert_eq!(listed[0]["status"], "succeeded");
    let verified = env.run(&["audit", "--verify", "-o", "json"]);
    assert_eq!(verified.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert!(report["events"].as_i64().unwrap() > 10, "{report}");
    assert_eq!(report["problems"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traffic_split_keeps_its_labels_and_a_revision_is_deactivated_then_activated() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let before = sim.last_seq().await;
    let out = env.run(&[
        "run",
        "containerapp-traffic",
        "-p",
        &format!("app={PROD_RG}/chat-api"),
        "-p",
        "split=chat-api--b212@stable=50, chat-api--b213@canary=50",
        "--env",
        "sim",
        "--yes",
        "-o",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let after = app(&sim, "chat-api").await;
    assert_eq!(
        traffic(&after),
        json!([
            {"revisionName": "chat-api--b212", "weight": 50, "label": "stable"},
            {"revisionName": "chat-api--b213", "weight": 50, "label": "canary"}
        ])
    );
    let mutations = sim.mutations_since(before).await;
    assert_eq!(mutations.len(), 1, "{mutations:#?}");

    // A split that does not add up is refused by Azure and nothing changes.
    let out = env.run(&[
        "run",
        "containerapp-traffic",
        "-p",
        &format!("app={PROD_RG}/chat-api"),
        "-p",
        "split=chat-api--b212=60, chat-api--b213=30",
        "--env",
        "sim",
        "--yes",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(traffic(&app(&sim, "chat-api").await), traffic(&after));

    // With its traffic moved away, a revision can be deactivated, and activated again.
    let out = env.run(&[
        "run",
        "containerapp-traffic",
        "-p",
        &format!("app={PROD_RG}/chat-api"),
        "-p",
        "split=chat-api--b212@stable=100",
        "--env",
        "sim",
        "--yes",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let revision = |name: &str| {
        format!(
            "subscriptions/{}/resourceGroups/{PROD_RG}/providers/Microsoft.App/containerApps/chat-api/revisions/{name}?api-version=2025-07-01",
            sim.prod_sub()
        )
    };
    for (runbook, active) in [
        ("containerapp-revision-deactivate", false),
        ("containerapp-revision-activate", true),
    ] {
        let out = env.run(&[
            "run",
            runbook,
            "-p",
            &format!("app={PROD_RG}/chat-api"),
            "-p",
            "revision=chat-api--b213",
            "--env",
            "sim",
            "--yes",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{runbook}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let (status, body) = sim.get(&revision("chat-api--b213")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["properties"]["active"],
            json!(active),
            "{runbook}: {body}"
        );
    }
}
