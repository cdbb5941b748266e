//! Startup of `azdeck demo` in a real pseudo-terminal (`script`): from spawning the process to
//! its first frame (goal ≤ 150 ms) and to the first frame with the inventory loaded, plus the
//! process's peak memory once the inventory is on screen (goal < 100 MB with 20,000 resources,
//! simulator included). The binary writes its own timestamps (`AZDECK_TUI_TIMING`).
//!
//! `cargo bench --bench tui_startup` (builds the release binary).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

struct Sample {
    first_frame_ms: f64,
    inventory_ms: f64,
    peak_mb: f64,
}

fn millis(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// `azdeck demo` on `world`, or (`ui_env`) `azdeck ui` on an environment of a simulator
/// running in another process, so the UI's own memory is measured alone.
fn once(bin: &str, world: &str, ui_env: Option<&str>, dir: &Path) -> Option<Sample> {
    let timing = dir.join(format!("timing-{world}.txt"));
    let _ = std::fs::remove_file(&timing);
    let command = match ui_env {
        Some(env) => format!("{bin} ui --env {env}"),
        None => format!("{bin} demo --fast --world {world}"),
    };
    let secret = ui_env.and_then(|_| {
        let text = std::fs::read_to_string(dir.join("sim-env.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        Some(
            v.pointer("/servicePrincipal/clientSecret")?
                .as_str()?
                .to_string(),
        )
    });
    let spawned = SystemTime::now();
    let status = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("AZURE_CLIENT_SECRET", secret.unwrap_or_default())
        .env("AZDECK_TUI_TIMING", &timing)
        .env("AZDECK_TUI_EXIT_AFTER_INVENTORY", "1")
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("AZDECK_LOG_FILE", dir.join("azdeck.log"))
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .env("LINES", "45")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        eprintln!("azdeck demo exited with {status}");
        return None;
    }
    let text = std::fs::read_to_string(&timing).ok()?;
    let mark = |name: &str| -> Option<(u128, f64)> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let mut parts = line.split_whitespace().skip(1);
        let at: u128 = parts.next()?.parse().ok()?;
        let kb: f64 = parts.next().and_then(|k| k.parse().ok()).unwrap_or(0.0);
        Some((at, kb))
    };
    let start = millis(spawned);
    let (first, _) = mark("first_frame")?;
    let (inventory, kb) = mark("inventory_frame")?;
    Some(Sample {
        first_frame_ms: (first.saturating_sub(start)) as f64,
        inventory_ms: (inventory.saturating_sub(start)) as f64,
        peak_mb: kb / 1024.0,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_azdeck");
    let dir = std::env::temp_dir().join(format!("azdeck-bench-startup-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // A simulator of the large world in its own process, throttling off, for `azdeck ui`.
    let mut sim = Command::new(bin)
        .args([
            "sim",
            "--world",
            "large",
            "--port",
            "0",
            "--quiet",
            "--throttle-scale",
            "0",
        ])
        .arg("--env-out")
        .arg(dir.join("sim-env.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("azdeck sim starts");
    for _ in 0..600 {
        if dir.join("sim-env.json").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let added = Command::new(bin)
        .args(["env", "add", "large", "--sim-env"])
        .arg(dir.join("sim-env.json"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let cases: [(&str, &str, Option<&str>, usize); 3] = [
        ("default", "default", None, 15),
        ("large", "large", None, 3),
        ("large (ui, simulator apart)", "large", Some("large"), 5),
    ];
    for (label, world, ui_env, runs) in cases {
        if ui_env.is_some() && !added {
            println!("{label}: could not add the environment");
            continue;
        }
        let mut samples = Vec::new();
        for _ in 0..runs {
            if let Some(s) = once(bin, world, ui_env, &dir) {
                samples.push(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if samples.is_empty() {
            println!("{label}: no successful run");
            continue;
        }
        let worst = |f: fn(&Sample) -> f64| samples.iter().map(f).fold(0.0, f64::max);
        println!(
            "{label:<28} runs {:>2}  first frame: median {:>5.0} ms, worst {:>5.0} ms (goal ≤ 150)  inventory on screen: median {:>5.0} ms  peak memory: median {:>5.1} MB, worst {:>5.1} MB (goal < 100)",
            samples.len(),
            median(samples.iter().map(|s| s.first_frame_ms).collect()),
            worst(|s| s.first_frame_ms),
            median(samples.iter().map(|s| s.inventory_ms).collect()),
            median(samples.iter().map(|s| s.peak_mb).collect()),
            worst(|s| s.peak_mb),
        );
    }
    let _ = sim.kill();
    let _ = sim.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
