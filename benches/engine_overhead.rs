//! Engine overhead per step (`cargo bench --bench engine_overhead`): everything a step costs but
//! its REST round trips — rendering its templates, validating its inputs, two checkpoints and its
//! audit events (hash-chained, appended in order) in a SQLite store on disk. Target: under 1 ms.
//!
//! The runbook is 200 steps that make no call: `log` and `assert`, and a stand-in action that
//! declares it changes Azure (so its start is checkpointed too, as a real change's is), each
//! reading params and earlier outputs through templates. The measure is the engine's own work.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use azdeck::runbook::action::{
    Action, ActionContext, ActionError, ActionSpec, EnvironmentInfo, Plan, Registry,
};
use azdeck::runbook::confirm::Headless;
use azdeck::runbook::engine::{Engine, RunRequest, Stop};
use azdeck::runbook::model::Runbook;
use azdeck::runbook::params;
use azdeck::store::Store;
use serde_json::json;

const STEPS: usize = 200;

/// A change that costs nothing: the engine treats it as it treats `containerapp.traffic.set`.
struct Touch;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct TouchInput {
    target: String,
}

#[async_trait]
impl Action for Touch {
    type Input = TouchInput;
    type Output = serde_json::Value;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "bench.touch",
            summary: "a change that sends nothing",
            mutates: true,
            idempotent: true,
            default_timeout: Duration::from_secs(10),
        }
    }

    async fn plan(&self, _: &ActionContext<'_>, _: &TouchInput) -> Result<Plan, ActionError> {
        Ok(Plan::default())
    }

    async fn run(
        &self,
        _: &ActionContext<'_>,
        input: &TouchInput,
    ) -> Result<serde_json::Value, ActionError> {
        Ok(json!({"touched": input.target}))
    }
}

fn runbook_text() -> String {
    let mut text = String::from(
        "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: { name: overhead, title: Engine overhead }\n\
         params:\n  app: { type: string, default: dagster-webserver }\n  n: { type: integer, default: 3 }\nsteps:\n",
    );
    text.push_str(
        "  - id: s0\n    action: confirm\n    with: { message: \"start {{ params.app }}\" }\n",
    );
    for i in 1..STEPS {
        let step = match i % 3 {
            0 => format!(
                "  - id: s{i}\n    action: bench.touch\n    with: {{ target: \"{{{{ params.app }}}}-{i}\" }}\n"
            ),
            1 => format!(
                "  - id: s{i}\n    action: log\n    when: \"{{{{ params.n > 0 }}}}\"\n    with: {{ message: \"{{{{ steps.s{}.outputs.touched | default('-') }}}} {{{{ params.app | upper }}}}\" }}\n",
                i - 1
            ),
            _ => format!(
                "  - id: s{i}\n    action: assert\n    with: {{ that: \"{{{{ params.n == 3 and run.dryRun == false }}}}\", message: \"n is 3\" }}\n"
            ),
        };
        text.push_str(&step);
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
        let mut registry = Registry::builtin();
        registry.register(Touch);
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
