//! Engine overhead per step (`cargo bench --bench engine_overhead`): everything a step costs but
//! its REST round trips — rendering its templates, validating its inputs, two checkpoints and its
//! audit events (hash-chained, appended in order) in a SQLite store on disk. Target: under 1 ms.
//!
//! The runbook is 200 steps of `log` and `assert` (actions that make no call), each reading params
//! and the previous step's outputs through templates, so the measure is the engine's own work.

use std::time::{Duration, Instant};

use azdeck::runbook::action::{EnvironmentInfo, Registry};
use azdeck::runbook::confirm::Headless;
use azdeck::runbook::engine::{Engine, RunRequest, Stop};
use azdeck::runbook::model::Runbook;
use azdeck::runbook::params;
use azdeck::store::Store;
use serde_json::json;

const STEPS: usize = 200;

fn runbook_text() -> String {
    let mut text = String::from(
        "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: { name: overhead, title: Engine overhead }\n\
         params:\n  app: { type: string, default: dagster-webserver }\n  n: { type: integer, default: 3 }\nsteps:\n",
    );
    text.push_str(
        "  - id: s0\n    action: log\n    with: { message: \"start {{ params.app }}\" }\n",
    );
    for i in 1..STEPS {
        if i % 2 == 0 {
            text.push_str(&format!(
                "  - id: s{i}\n    action: log\n    when: \"{{{{ params.n > 0 }}}}\"\n    with: {{ message: \"{{{{ steps.s{}.outputs.message | default('-') }}}} {{{{ params.app | upper }}}}\" }}\n",
                i - 2
            ));
        } else {
            text.push_str(&format!(
                "  - id: s{i}\n    action: assert\n    with: {{ that: \"{{{{ params.n == 3 and run.dryRun == false }}}}\", message: \"n is 3\" }}\n"
            ));
        }
    }
    text
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.expect("store");
        let registry = Registry::builtin();
        let text = runbook_text();
        let runbook: Runbook = serde_yaml::from_str(&text).expect("bench runbook parses");
        let confirmer = Headless { yes: true, confirm_env: None };
        let mut per_step = Vec::new();
        for round in 0..6 {
            let params = params::parse(&runbook.params, &[]).expect("params");
            let engine = Engine {
                registry: &registry,
                store: &store,
                azure: None,
                http: None,
                confirmer: &confirmer,
                events: None,
                stop: Stop::never(),
            };
            let started = Instant::now();
            let outcome = engine
                .start(RunRequest {
                    runbook: runbook.clone(),
                    text: text.clone(),
                    source: "bench".into(),
                    params,
                    environment: EnvironmentInfo { name: "bench".into(), protected: false, read_only: false },
                    env_context: json!({"name": "bench"}),
                    dry_run: false,
                })
                .await
                .expect("run");
            let elapsed = started.elapsed();
            assert_eq!(outcome.exit_code, 0, "{outcome:?}");
            if round > 0 {
                per_step.push(elapsed / STEPS as u32);
            }
        }
        per_step.sort();
        let median: Duration = per_step[per_step.len() / 2];
        println!(
            "engine overhead per step (SQLite on disk, {STEPS} steps, 5 runs): median {:.3} ms, best {:.3} ms (target < 1 ms)",
            median.as_secs_f64() * 1e3,
            per_step[0].as_secs_f64() * 1e3
        );
        let verified = store.verify().await.expect("verify");
        assert!(verified.is_intact());
        println!("audit chain: {} events, intact", verified.events);
    });
}
