//! `azdeck runs list | show` and `azdeck audit [--verify]`: what runs did, from the store.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::run::{invalid, open_store, StoreArgs};
use super::{exit, CliError};
use crate::config::Config;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ListOutput {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
    /// One run: its params, steps (state, outputs) and the REST calls it made.
    Show {
        run_id: String,
        #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Check the hash chain: a modified or deleted row is reported (exit 1).
    #[arg(long)]
    pub verify: bool,
    /// Only this run's events.
    #[arg(long)]
    pub run: Option<String>,
    #[arg(long, default_value_t = 200)]
    pub limit: i64,
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
    #[command(flatten)]
    pub store: StoreArgs,
}

fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let path = crate::config::config_path(path).map_err(invalid)?;
    Config::load(&path).map_err(invalid)
}

fn internal(e: impl Into<anyhow::Error>) -> CliError {
    CliError::from(e.into())
}

fn write_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| CliError::from(anyhow::Error::from(e)))
}

fn pretty(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(internal)
}

pub async fn runs(args: RunsArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let config = load_config(config_path)?;
    let store = open_store(&args.store, &config).await?;
    match args.command {
        RunsCommand::List { limit, output } => {
            let runs = store.runs(limit).await.map_err(internal)?;
            match output {
                ListOutput::Json => write_out(&pretty(&json!(runs))?)?,
                ListOutput::Table => {
                    let mut text = format!(
                        "{:<36}  {:<24}  {:<8}  {:<12}  {:>4}  {}\n",
                        "RUN", "RUNBOOK", "ENV", "STATUS", "EXIT", "STARTED"
                    );
                    for r in &runs {
                        text.push_str(&format!(
                            "{:<36}  {:<24}  {:<8}  {:<12}  {:>4}  {}{}\n",
                            r.id,
                            r.runbook,
                            r.environment,
                            r.status.as_str(),
                            r.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                            r.started_at,
                            if r.dry_run { " (plan)" } else { "" }
                        ));
                    }
                    write_out(&text)?;
                }
            }
            Ok(exit::OK)
        }
        RunsCommand::Show { run_id, output } => {
            let run = store
                .run(&run_id)
                .await
                .map_err(invalid)?
                .ok_or_else(|| invalid(anyhow::anyhow!("no run {run_id}")))?;
            let steps = store.steps(&run.id).await.map_err(internal)?;
            let events = store
                .events(Some(&run.id), 0, 100_000)
                .await
                .map_err(internal)?;
            let calls: Vec<&Value> = events
                .iter()
                .filter(|e| e.kind == "call")
                .map(|e| &e.payload)
                .collect();
            match output {
                ListOutput::Json => write_out(&pretty(&json!({
                    "run": run,
                    "steps": steps,
                    "calls": calls,
                }))?)?,
                ListOutput::Table => {
                    let mut text = format!(
                        "run {}\n  runbook   {} ({})\n  env       {}\n  status    {}{}\n  started   {} by {}\n  params    {}\n\nsteps\n",
                        run.id,
                        run.runbook,
                        run.runbook_source,
                        run.environment,
                        run.status.as_str(),
                        run.exit_code.map(|c| format!(" (exit {c})")).unwrap_or_default(),
                        run.started_at,
                        run.started_by,
                        run.params,
                    );
                    for s in &steps {
                        text.push_str(&format!(
                            "  {:<14} {:<14} attempt {}{}\n",
                            s.step_id,
                            s.state.as_str(),
                            s.attempt,
                            s.error
                                .as_deref()
                                .map(|e| format!("  {e}"))
                                .unwrap_or_default()
                        ));
                    }
                    text.push_str("\ncalls\n");
                    for c in calls {
                        text.push_str(&format!(
                            "  {:<6} {} {} {}\n",
                            c.pointer("/call/method")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                            c.pointer("/call/status")
                                .and_then(Value::as_u64)
                                .unwrap_or(0),
                            c.pointer("/call/url").and_then(Value::as_str).unwrap_or(""),
                            c.pointer("/call/request_id")
                                .and_then(Value::as_str)
                                .map(|r| format!("(request {r})"))
                                .unwrap_or_default()
                        ));
                    }
                    write_out(&text)?;
                }
            }
            Ok(exit::OK)
        }
    }
}

pub async fn audit(args: AuditArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let config = load_config(config_path)?;
    let store = open_store(&args.store, &config).await?;
    if args.verify {
        let report = store.verify().await.map_err(internal)?;
        match args.output {
            ListOutput::Json => write_out(&pretty(&json!(report))?)?,
            ListOutput::Table => {
                let mut text = format!(
                    "{} events checked, chain head at {}: {}\n",
                    report.events,
                    report.head_seq,
                    if report.is_intact() {
                        "intact"
                    } else {
                        "TAMPERED"
                    }
                );
                for p in &report.problems {
                    text.push_str(&format!("  {p}\n"));
                }
                write_out(&text)?;
            }
        }
        return Ok(if report.is_intact() { exit::OK } else { 1 });
    }
    let run_id = match &args.run {
        Some(r) => Some(
            store
                .run(r)
                .await
                .map_err(invalid)?
                .ok_or_else(|| invalid(anyhow::anyhow!("no run {r}")))?
                .id,
        ),
        None => None,
    };
    let events = store
        .events(run_id.as_deref(), 0, args.limit)
        .await
        .map_err(internal)?;
    match args.output {
        ListOutput::Json => write_out(&pretty(&json!(events))?)?,
        ListOutput::Table => {
            let mut text = String::new();
            for e in &events {
                text.push_str(&format!(
                    "{:>6}  {}  {}  {:<22} {}\n",
                    e.seq,
                    e.at,
                    e.run_id
                        .as_deref()
                        .map(|r| &r[..r.len().min(8)])
                        .unwrap_or("-"),
                    e.kind,
                    e.step_id.as_deref().unwrap_or("")
                ));
            }
            write_out(&text)?;
        }
    }
    Ok(exit::OK)
}
