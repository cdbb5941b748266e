//! How many authenticated ARM GETs per second the simulator serves on this machine.
//!
//! `cargo bench --bench sim_throughput` (release build). Starts the simulator in-process on the
//! default world with ARM throttling off, gets one token, then runs concurrent clients doing
//! `GET` of a container app (a full envelope: TLS, token verification, routing, rendering,
//! request log) for a fixed time, over HTTP/2 and HTTP/1.1. Client and server share the
//! machine's cores, as they do in tests. The loops are bounded by time and count and send traffic
//! to loopback only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use azdeck::sim::state::Settings;
use azdeck::sim::{self, SimOptions};

// The tests' simulator support: the same token request, not a copy of it.
#[allow(dead_code)]
#[path = "../tests/support/simulator.rs"]
mod simulator;

const DURATION: Duration = Duration::from_secs(5);
const MAX_REQUESTS: u64 = 2_000_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let handle = sim::start(SimOptions {
        port: 0,
        env_out: Some(dir.path().join("env.json")),
        settings: Some(Settings {
            throttle_scale: 0.0,
            ..Settings::default()
        }),
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    let env = handle.env.clone();
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(&env.ca_file).expect("CA")).expect("PEM");
    let sub = env
        .subscriptions
        .iter()
        .find(|s| s.name == "platform-prod")
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let url = format!(
        "{}subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/dagster-webserver?api-version=2025-07-01",
        env.endpoints.resource_manager
    );
    let mut results = Vec::new();
    for (label, http2, clients) in [("HTTP/2", true, 32usize), ("HTTP/1.1", false, 32usize)] {
        let mut builder = reqwest::Client::builder()
            .tls_certs_merge([ca.clone()])
            .resolve(&format!("login.{}", sim::DEFAULT_DOMAIN), handle.addr)
            .resolve(&format!("management.{}", sim::DEFAULT_DOMAIN), handle.addr);
        builder = if http2 {
            builder.http2_prior_knowledge()
        } else {
            builder.http1_only()
        };
        let client = builder.build().expect("client");
        let token = simulator::token_for(
            &client,
            &env,
            &format!("{}.default", env.endpoints.resource_manager),
        )
        .await;
        // Warm up connections.
        for _ in 0..clients {
            let _ = client.get(&url).bearer_auth(&token).send().await;
        }
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, url, token, done, failed) = (
                client.clone(),
                url.clone(),
                token.clone(),
                done.clone(),
                failed.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while start.elapsed() < DURATION && done.load(Ordering::Relaxed) < MAX_REQUESTS {
                    match client.get(&url).bearer_auth(&token).send().await {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let secs = start.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed);
        let rate = n as f64 / secs;
        println!(
            "sim_throughput {label:8} clients={clients:3} requests={n:7} failed={} elapsed={secs:.2}s => {rate:.0} authenticated GETs/s",
            failed.load(Ordering::Relaxed)
        );
        results.push((label, rate));
    }
    handle.shutdown().await;
    let best = results.iter().map(|r| r.1).fold(0.0, f64::max);
    println!("sim_throughput best {best:.0} GETs/s (target: >= 2000)");
}
