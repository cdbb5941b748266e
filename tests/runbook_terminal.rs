//! The confirmation prompt on a real terminal: `azdeck run` under a pseudo-terminal (util-linux
//! `script`), in a protected environment whose name must be typed. A wrong name sends nothing.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::cli::CliEnv;
use support::simulator::TestSim;

/// Runs azdeck on a pseudo-terminal, typing `answer` at its prompt; returns (exit code, screen).
fn run_on_terminal(env: &CliEnv, args: &str, answer: &str) -> (Option<i32>, String) {
    let command = format!(
        "{} --config {} {args}",
        env!("CARGO_BIN_EXE_azdeck"),
        env.config.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("AZURE_CLIENT_SECRET", &env.secret)
        .env("AZDECK_STATE_URL", &env.state_url)
        .env("XDG_CONFIG_HOME", env.dir.path().join("xdg-config"))
        .env_remove("AZDECK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs");
    // Typed ahead: the terminal keeps the line until the prompt reads it. The pipe stays open
    // until azdeck is done, as a keyboard would.
    let mut keyboard = child.stdin.take().expect("stdin");
    keyboard
        .write_all(format!("{answer}\n").as_bytes())
        .expect("typed");
    let out = child.wait_with_output().expect("azdeck ends");
    drop(keyboard);
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    // script(1) exits with the child's status (-e).
    (out.status.code(), screen)
}

async fn patches_since(sim: &TestSim, since: u64) -> usize {
    sim.requests_since(since)
        .await
        .iter()
        .filter(|r: &&Value| r["method"] == "PATCH")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_environment_asks_for_its_name_to_be_typed() {
    let sim = TestSim::start().await;
    let env = CliEnv::new(&sim);
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        config.replace("protected = false", "protected = true"),
    )
    .unwrap();
    let args = "run containerapp-scale -p app=rg-platform-prod/chat-worker -p minReplicas=2 -p maxReplicas=4 --env sim";

    let before = sim.last_seq().await;
    let (code, screen) = run_on_terminal(&env, args, "prod");
    assert!(
        screen.contains("'sim' is protected. Type its name to go on:"),
        "{screen}"
    );
    assert!(
        screen.contains("to 2–4 replicas"),
        "the question says what changes: {screen}"
    );
    assert_eq!(code, Some(10), "a wrong name declines: {screen}");
    assert_eq!(patches_since(&sim, before).await, 0, "nothing was sent");

    let before = sim.last_seq().await;
    let (code, screen) = run_on_terminal(&env, args, "sim");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(patches_since(&sim, before).await, 1, "{screen}");
}
