//! The `/` filter per keystroke (`cargo bench --bench tui_filter`): 20,000 rows like a large
//! subscription's resource list, queries typed one character at a time. Each keystroke filters
//! every row without positions, then computes positions for the 50 rows on screen. Target: well
//! under 16 ms per keystroke (a frame at 60 Hz) on a 2-core machine.
//!
//! Wall times include whatever else the machine runs; `cpu mean` is the calling thread's own CPU
//! time per keystroke (Linux), which with `threads=1` is all of the work:
//! `cargo bench --bench tui_filter -- threads=1 [query substring…]`.

use std::time::{Duration, Instant};

use azdeck::tui::fuzzy::Fuzzy;

const ROWS: usize = 20_000;
const VISIBLE: usize = 50;
const ITERATIONS: usize = 200;

const NAMES: [&str; 16] = [
    "dagster-webserver",
    "dagster-daemon",
    "dagster-user-code",
    "api-gateway",
    "orders-worker",
    "payments-api",
    "redis-cache",
    "kv-secrets",
    "stlogsarchive",
    "aks-nodepool",
    "psql-flex",
    "func-ingest",
    "web-frontend",
    "search-indexer",
    "notifications",
    "identity-broker",
];
const TYPES: [&str; 8] = [
    "Microsoft.App/containerApps",
    "Microsoft.Web/sites",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Cache/redis",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.Network/virtualNetworks",
];
const GROUPS: [&str; 6] = [
    "rg-platform-prod",
    "rg-platform-dev",
    "rg-data-prod",
    "rg-data-staging",
    "rg-shared-network",
    "rg-sandbox",
];
const LOCATIONS: [&str; 5] = [
    "eastus",
    "westeurope",
    "northeurope",
    "uksouth",
    "southeastasia",
];

/// Typed one character at a time, as a user would.
const TYPED: [&str; 3] = ["dag webs", "kv prod westeu", "Microsoft.App !dev"];

fn rows() -> Vec<String> {
    // A fixed LCG: the same rows on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    (0..ROWS)
        .map(|i| {
            format!(
                "{}-{:04}  {}  {}  {}",
                NAMES[next(NAMES.len())],
                i % 10_000,
                TYPES[next(TYPES.len())],
                GROUPS[next(GROUPS.len())],
                LOCATIONS[next(LOCATIONS.len())],
            )
        })
        .collect()
}

/// Time this thread has spent on a CPU (Linux): unlike wall time, not inflated when other
/// processes share the cores. `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median and 99th percentile, in ms.
fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (ms(at(0.5)), ms(at(0.99)))
}

fn main() {
    // `cargo bench --bench tui_filter -- threads=1 Micro`: one thread, only the queries
    // containing "Micro".
    let mut only = Vec::new();
    let mut fuzzy = Fuzzy::new();
    let mut threads = String::from("default");
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        match arg.strip_prefix("threads=").map(str::parse) {
            Some(Ok(n)) => {
                fuzzy = Fuzzy::with_threads(n);
                threads = n.to_string();
            }
            _ => only.push(arg),
        }
    }
    let rows = rows();
    println!(
        "{ROWS} rows, {ITERATIONS} iterations per query, threads: {threads}; filter without \
         positions, then positions of the {VISIBLE} visible rows (ms)"
    );
    println!(
        "{:<22} {:>6}  {:>10} {:>10}  {:>10} {:>10}  {:>10}  {:>9}",
        "query",
        "hits",
        "filter p50",
        "filter p99",
        "pos50 p50",
        "pos50 p99",
        "total p99",
        "cpu mean"
    );
    let mut worst: f64 = 0.0;
    for typed in TYPED {
        let ends = typed.char_indices().map(|(i, c)| i + c.len_utf8());
        for end in ends {
            let query = &typed[..end];
            if !only.is_empty() && !only.iter().any(|o| query.contains(o.as_str())) {
                continue;
            }
            let mut filter_times = Vec::with_capacity(ITERATIONS);
            let mut position_times = Vec::with_capacity(ITERATIONS);
            let mut totals = Vec::with_capacity(ITERATIONS);
            let mut hits = 0;
            let cpu_start = cpu_time();
            for _ in 0..ITERATIONS {
                let start = Instant::now();
                let found = fuzzy.filter(query, rows.iter().map(String::as_str), false);
                let filtered = start.elapsed();
                let start = Instant::now();
                let mut highlighted = 0;
                for hit in found.iter().take(VISIBLE) {
                    if let Some(positions) = fuzzy.positions(query, &rows[hit.index]) {
                        highlighted += positions.len();
                    }
                }
                let positioned = start.elapsed();
                std::hint::black_box(highlighted);
                hits = found.len();
                filter_times.push(filtered);
                position_times.push(positioned);
                totals.push(filtered + positioned);
            }
            // The calling thread's CPU per keystroke (with threads=1: all of the work).
            let cpu = match (cpu_start, cpu_time()) {
                (Some(start), Some(end)) => format!("{:.3}", ms(end - start) / ITERATIONS as f64),
                _ => "-".to_owned(),
            };
            let (f50, f99) = stats(filter_times);
            let (p50, p99) = stats(position_times);
            let (_, t99) = stats(totals);
            worst = worst.max(t99);
            println!(
                "{:<22} {hits:>6}  {f50:>10.3} {f99:>10.3}  {p50:>10.3} {p99:>10.3}  {t99:>10.3}  \
                 {cpu:>9}",
                format!("{query:?}")
            );
        }
    }
    println!("worst keystroke p99: {worst:.3} ms (target: well under 16 ms)");
}
