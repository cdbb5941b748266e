//! Headless reads as whole processes (`cargo bench --bench client_reads`):
//! - `azdeck inventory -o json` on the `large` world (20 subscriptions × 1,000 resources) with 30 ms
//!   injected latency on every ARM request (target: ≤ 1.5 s wall; no more requests than pages);
//! - `azdeck revisions APP -o json` against a local simulator, token included (target: ≤ 60 ms).
//!
//! Each command runs the release binary as a child process; the simulator runs in this process.
//! Loops are bounded and traffic stays on loopback.

use std::process::Command;
use std::time::{Duration, Instant};

use azdeck::sim::state::Settings;
use azdeck::sim::{self, SimOptions};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        inventory_on_large_world().await;
        revisions_on_default_world().await;
    });
}

struct Setup {
    handle: sim::SimHandle,
    dir: tempfile::TempDir,
    secret: String,
}

async fn setup(world: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let handle = sim::start(SimOptions {
        port: 0,
        world: world.into(),
        env_out: Some(dir.path().join("env.json")),
        settings: Some(Settings {
            throttle_scale: 0.0,
            ..Settings::default()
        }),
        ..SimOptions::default()
    })
    .await
    .expect("simulator");
    let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["env", "add", "sim", "--sim-env"])
        .arg(&handle.env_file)
        .output()
        .expect("env add");
    assert!(out.status.success());
    let secret = handle.env.service_principal.client_secret.clone();
    Setup {
        handle,
        dir,
        secret,
    }
}

fn run(setup: &Setup, args: &[&str]) -> (Duration, usize) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
        .arg("--config")
        .arg(setup.dir.path().join("config.toml"))
        .args(args)
        .env("AZURE_CLIENT_SECRET", &setup.secret)
        .output()
        .expect("azdeck runs");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, out.stdout.len())
}

async fn inventory_on_large_world() {
    let setup = setup("large").await;
    setup
        .handle
        .sim
        .faults
        .lock()
        .add(serde_json::from_value(serde_json::json!({"match": {"host": "management"}, "action": {"kind": "latency", "ms": 30}})).expect("rule"))
        .expect("latency rule");
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..5 {
        let before = setup.handle.sim.log.lock().last_seq();
        let args = ["inventory", "-o", "json"];
        let (took, bytes) = tokio::task::block_in_place(|| run(&setup, &args));
        let log = setup.handle.sim.log.lock().since(before);
        requests = log
            .iter()
            .filter(|r| r.host.starts_with("management."))
            .count();
        assert!(bytes > 1_000_000, "20,000 resources printed");
        times.push(took);
    }
    println!(
        "client_reads inventory large world (20x1000, 30 ms/request): median {:?} min {:?} over 5 runs; {requests} ARM requests per run (20 pages of 1,000) — target <= 1.5 s",
        median(times.clone()),
        times.iter().min().copied().unwrap_or_default()
    );
    setup.handle.shutdown().await;
}

async fn revisions_on_default_world() {
    let setup = setup("default").await;
    let mut times = Vec::new();
    for _ in 0..20 {
        let args = [
            "revisions",
            "rg-platform-prod/dagster-webserver",
            "--all",
            "-o",
            "json",
        ];
        let (took, _) = tokio::task::block_in_place(|| run(&setup, &args));
        times.push(took);
    }
    println!(
        "client_reads revisions (whole process, token included): median {:?} min {:?} over 20 runs — target <= 60 ms",
        median(times.clone()),
        times.iter().min().copied().unwrap_or_default()
    );
    setup.handle.shutdown().await;
}
