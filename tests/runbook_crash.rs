//! Crash and resume: a real `azdeck run` child is killed with SIGKILL at every step boundary of a
//! rollback and in the middle of its long-running operation; `azdeck resume` finishes the run, and
//! the simulator's request log proves that no change was sent twice.

mod support;

use std::io::{BufRead, BufReader};

use serde_json::{json, Value};
use support::cli::{events, stderr, stdout, CliEnv};
use support::simulator::TestSim;

/// Where to kill the child: after the event matching `(type, step)`, or at the first PATCH call.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    After(&'static str, &'static str),
    MidOperation,
}

#[derive(Debug)]
struct Case {
    app: &'static str,
    kill: KillAt,
}

fn matches(kill: KillAt, event: &Value) -> bool {
    match kill {
        KillAt::After(kind, step) => event["type"] == kind && event["step"] == step,
        KillAt::MidOperation => event["type"] == "call" && event["call"]["method"] == "PATCH",
    }
}

/// Runs the rollback, kills it at `kill`, resumes, and returns the run id.
fn crash_and_resume(env: &CliEnv, case: &Case) -> String {
    let app_arg = format!("app=rg-platform-prod/{}", case.app);
    let mut child = env.spawn(&[
        "run",
        "containerapp-rollback",
        "-p",
        &app_arg,
        "--yes",
        "-o",
        "jsonl",
    ]);
    let out = child.stdout.take().expect("piped stdout");
    let mut run_id = String::new();
    let mut killed = false;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if event["type"] == "run_started" {
            run_id = event["run_id"].as_str().unwrap_or_default().to_string();
        }
        if matches(case.kill, &event) {
            child.kill().expect("SIGKILL sent");
            killed = true;
            break;
        }
    }
    let status = child.wait().expect("child reaped");
    assert!(killed, "{case:?}: the kill point was reached");
    assert!(!run_id.is_empty());
    if status.success() {
        // The run finished before the signal landed: nothing to resume.
        return run_id;
    }
    let resumed = env.run(&["resume", &run_id, "--yes", "-o", "jsonl"]);
    let code = resumed.status.code();
    let text = format!("{}\n{}", stdout(&resumed), stderr(&resumed));
    let finished_before = code == Some(3) && text.contains("already succeeded");
    assert!(
        code == Some(0) || finished_before,
        "{:?} resume exit {code:?}: {text}",
        case.kill
    );
    if code == Some(0) {
        let events = events(&resumed);
        let summary: Vec<String> = events
            .iter()
            .filter(|e| e["type"] != "call" && e["type"] != "step_progress")
            .map(|e| {
                format!(
                    "{}:{}",
                    e["type"].as_str().unwrap_or(""),
                    e["step"].as_str().unwrap_or("")
                )
            })
            .collect();
        eprintln!("{:?} resumed: {}", case.kill, summary.join(" "));
        let last = events.last().expect("events");
        assert_eq!(last["status"], "succeeded", "{text}");
    }
    run_id
}

/// Changes that Azure accepted (2xx) in the simulator's log, as (method, path).
async fn applied_changes(sim: &TestSim, since: u64) -> Vec<(String, String)> {
    sim.requests_since(since)
        .await
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .filter(|r| {
            r["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s))
        })
        .filter(|r| {
            r["host"]
                .as_str()
                .is_some_and(|h| h.starts_with("management."))
        })
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_string(),
                r["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn run_cases(
    app: &'static str,
    steps: &[(&'static str, &'static str)],
    check: impl Fn(&Value),
) {
    let mut cases: Vec<Case> = steps
        .iter()
        .map(|(kind, step)| Case {
            app,
            kill: KillAt::After(kind, step),
        })
        .collect();
    cases.push(Case {
        app,
        kill: KillAt::MidOperation,
    });
    for case in &cases {
        // A fresh world per case, with operations slow enough to be killed in the middle.
        let sim = TestSim::start().await;
        sim.settings(json!({"lroMs": 1500})).await;
        let env = CliEnv::new(&sim);
        let before = sim.last_seq().await;
        let run_id = crash_and_resume(&env, case);
        let changes = applied_changes(&sim, before).await;
        let mut unique = changes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            changes.len(),
            unique.len(),
            "{:?}: a change was sent twice: {changes:#?}",
            case.kill
        );
        assert_eq!(
            changes.len(),
            1,
            "{:?}: exactly the rollback's change: {changes:#?}",
            case.kill
        );
        let (_, body) = sim
            .get(&format!(
                "subscriptions/{}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/{app}?api-version=2025-07-01",
                sim.prod_sub()
            ))
            .await;
        check(&body);
        let shown = env.run(&["runs", "show", &run_id, "-o", "json"]);
        let shown: Value = serde_json::from_slice(&shown.stdout).expect("runs show json");
        assert_eq!(shown["run"]["status"], "succeeded", "{:?}", case.kill);
        sim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_mode_rollback_survives_sigkill_at_every_boundary() {
    run_cases(
        "dagster-webserver",
        &[
            ("step_succeeded", "current"),
            ("step_succeeded", "target"),
            ("step_succeeded", "confirm"),
            ("step_skipped", "activate"),
            ("step_succeeded", "shift"),
            ("step_skipped", "reapply"),
        ],
        |app| {
            assert_eq!(
                app["properties"]["configuration"]["ingress"]["traffic"],
                json!([{"revisionName": "dagster-webserver--v42", "weight": 100}])
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_mode_rollback_survives_sigkill_at_every_boundary() {
    run_cases(
        "dagster-daemon",
        &[
            ("step_succeeded", "target"),
            ("step_skipped", "shift"),
            ("step_succeeded", "reapply"),
        ],
        |app| {
            let image = app["properties"]["template"]["containers"][0]["image"]
                .as_str()
                .unwrap_or("");
            assert!(
                image.ends_with(":sha-4f2a9c1"),
                "r17's image is back: {image}"
            );
        },
    )
    .await;
}
