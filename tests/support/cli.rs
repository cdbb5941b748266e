//! The real `azdeck` binary against a test simulator: a config with the simulator as environment
//! `sim`, the service principal's secret from `AZURE_CLIENT_SECRET`, and a store of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use super::simulator::TestSim;

pub struct CliEnv {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub secret: String,
    pub state_url: String,
}

impl CliEnv {
    /// A config naming the simulator `sim`, and a SQLite store in a temp dir (or `state_url`).
    pub fn new(sim: &TestSim) -> CliEnv {
        Self::with_state(sim, None)
    }

    pub fn with_state(sim: &TestSim, state_url: Option<String>) -> CliEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.toml");
        let out = Command::new(env!("CARGO_BIN_EXE_azdeck"))
            .arg("--config")
            .arg(&config)
            .args(["env", "add", "sim", "--sim-env"])
            .arg(&sim.handle.env_file)
            .output()
            .expect("azdeck runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state_url = state_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("state.db").display()));
        CliEnv {
            secret: sim.env().service_principal.client_secret.clone(),
            config,
            state_url,
            dir,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_azdeck"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("AZURE_CLIENT_SECRET", &self.secret)
            .env("AZDECK_STATE_URL", &self.state_url)
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env_remove("AZDECK_CONFIG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("azdeck runs")
    }

    /// Starts azdeck with stdout piped (to read its JSON lines as they come).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("azdeck starts")
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON lines of a `-o jsonl` run.
pub fn events(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The run id announced by the first event.
pub fn run_id(events: &[Value]) -> String {
    events
        .iter()
        .find(|e| e["type"] == "run_started")
        .and_then(|e| e["run_id"].as_str())
        .expect("a run_started event")
        .to_string()
}
