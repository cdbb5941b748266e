//! `azdeck run | plan | resume`: runbooks headless. Never prompts without a terminal; `--yes`
//! confirms (and `--confirm-env NAME` in a protected environment). Output is text for people or
//! JSON lines (one event each) for scripts; the exit code says how the run ended (README).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use tokio::sync::{mpsc, watch};

use super::prompt::TerminalPrompt;
use super::{exit, CliError};
use crate::azure::http::http_client;
use crate::azure::session::Session;
use crate::config::Config;
use crate::runbook::action::Registry;
use crate::runbook::confirm::{Confirmer, Headless};
use crate::runbook::engine::{
    environment_of, plan_lines, Engine, EngineError, ResumeOptions, RunRequest, Stop,
};
use crate::runbook::events::RunEvent;
use crate::runbook::loader::{self, Catalog, LoadOptions};
use crate::runbook::params::{self, Scope};
use crate::store::Store;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum RunOutput {
    Text,
    Jsonl,
}

#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Where runs and the audit trail live: sqlite://PATH or postgres://… (default: config
    /// `state_url`, else SQLite under $XDG_STATE_HOME/azdeck).
    #[arg(long, env = "AZDECK_STATE_URL")]
    pub state_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A runbook name (`azdeck runbooks list`) or a path to a runbook file.
    pub runbook: String,
    /// A parameter, KEY=VALUE (repeat for several).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[arg(long)]
    pub env: Option<String>,
    /// Confirm every change without asking (headless).
    #[arg(long)]
    pub yes: bool,
    /// With --yes in a protected environment: its name, typed.
    #[arg(long, value_name = "NAME")]
    pub confirm_env: Option<String>,
    /// Show the plan (REST calls, before → after) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// More folders of runbooks.
    #[arg(long = "runbooks", value_name = "DIR")]
    pub runbook_dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    pub runbook: String,
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    #[arg(long = "runbooks", value_name = "DIR")]
    pub runbook_dirs: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run's id (or a unique prefix of at least 8 characters).
    pub run_id: String,
    /// Re-run this step even though it was interrupted mid-flight and cannot be checked.
    #[arg(long, value_name = "STEP")]
    pub force_step: Option<String>,
    /// Secret parameters again (they are never stored).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    #[arg(long)]
    pub yes: bool,
    #[arg(long, value_name = "NAME")]
    pub confirm_env: Option<String>,
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn invalid(e: impl Into<anyhow::Error>) -> CliError {
    CliError::usage(e)
}

fn engine_error(e: EngineError) -> CliError {
    CliError {
        code: e.exit_code() as u8,
        error: e.into(),
    }
}

pub async fn open_store(args: &StoreArgs, config: &Config) -> Result<Store, CliError> {
    let url = match args.state_url.clone().or_else(|| config.state_url.clone()) {
        Some(u) => u,
        None => Store::default_url().map_err(|e| CliError::from(anyhow::Error::from(e)))?,
    };
    Store::open(&url)
        .await
        .map_err(|e| CliError::from(anyhow::Error::from(e)))
}

fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let path = crate::config::config_path(path).map_err(invalid)?;
    Config::load(&path).map_err(invalid)
}

fn connect(config: &Config, env: Option<&str>) -> Result<Session, CliError> {
    Session::open(config, env).map_err(|e| CliError {
        code: exit::AZURE,
        error: e.into(),
    })
}

/// Turns Ctrl-C into a stop at the next step boundary, and a second one into a stop inside the
/// current step. SIGTERM does both at once (a CI job being cancelled).
fn interrupts() -> Stop {
    let (soft_tx, soft) = watch::channel(false);
    let (hard_tx, hard) = watch::channel(false);
    tokio::spawn(async move {
        let mut presses = 0;
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminated = std::future::pending::<()>();
            tokio::select! {
                r = tokio::signal::ctrl_c() => {
                    if r.is_err() { return; }
                    presses += 1;
                    if presses == 1 {
                        eprintln!("\nazdeck: stopping after this step (state is saved; `azdeck resume` goes on). Ctrl-C again to stop waiting now.");
                        let _ = soft_tx.send(true);
                    } else {
                        let _ = hard_tx.send(true);
                    }
                }
                _ = terminated => {
                    let _ = soft_tx.send(true);
                    let _ = hard_tx.send(true);
                }
            }
        }
    });
    Stop::new(soft, hard)
}

fn confirmer(yes: bool, confirm_env: Option<String>) -> Box<dyn Confirmer> {
    if yes || !TerminalPrompt::available() {
        Box::new(Headless { yes, confirm_env })
    } else {
        Box::new(TerminalPrompt)
    }
}

/// A runbook ready to run: parsed, with its text (stored for resume) and where it came from.
struct Found {
    runbook: crate::runbook::model::Runbook,
    text: String,
    source: String,
}

fn entry_to_found(entry: &loader::Entry) -> Result<Found, CliError> {
    match &entry.parsed {
        Ok(runbook) => Ok(Found {
            runbook: runbook.clone(),
            text: entry.text.clone(),
            source: match &entry.source {
                loader::Source::Builtin(f) => format!("builtin:{f}"),
                loader::Source::File(p) => p.display().to_string(),
            },
        }),
        Err(loader::LoadError::Invalid {
            line,
            column,
            message,
            ..
        }) => Err(invalid(anyhow::anyhow!(
            "{}:{line}:{column}: {message}",
            entry.source.file_name()
        ))),
        Err(e) => Err(invalid(anyhow::anyhow!(
            "{}: {e}",
            entry.source.file_name()
        ))),
    }
}

/// Finds a runbook by name in the catalog, or reads the file a path names.
fn find_runbook(
    name_or_path: &str,
    config: &Config,
    config_path: Option<&Path>,
    extra_dirs: &[PathBuf],
) -> Result<Found, CliError> {
    let looks_like_path = name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".yml");
    if looks_like_path {
        let entry = loader::load_file(Path::new(name_or_path)).map_err(invalid)?;
        return entry_to_found(&entry);
    }
    let options = LoadOptions {
        builtin: true,
        default_dir: crate::config::config_dir(config_path)
            .ok()
            .map(|d| d.join("runbooks")),
        config_dirs: config.runbook_dirs.clone(),
        extra_dirs: extra_dirs.to_vec(),
    };
    let catalog = Catalog::load(&options).map_err(invalid)?;
    match catalog.get(name_or_path) {
        Some(entry) => entry_to_found(entry),
        None => Err(invalid(anyhow::anyhow!(
            "no runbook named '{name_or_path}' (see `azdeck runbooks list`)"
        ))),
    }
}

/// Writes events as they come; returns when the engine drops its sender.
async fn print_events(mut rx: mpsc::UnboundedReceiver<RunEvent>, output: RunOutput) {
    let mut out = std::io::stdout();
    while let Some(event) = rx.recv().await {
        let written = match output {
            RunOutput::Jsonl => serde_json::to_string(&event)
                .map(|line| writeln!(out, "{line}"))
                .unwrap_or(Ok(())),
            RunOutput::Text => match text_line(&event) {
                Some(line) => writeln!(out, "{line}"),
                None => Ok(()),
            },
        };
        if written.is_err() {
            // The reader went away; the run goes on and its record is in the store.
            break;
        }
        let _ = out.flush();
    }
}

fn text_line(event: &RunEvent) -> Option<String> {
    Some(match event {
        RunEvent::RunStarted {
            run_id,
            runbook,
            environment,
            dry_run,
            resumed,
            ..
        } => format!(
            "{} {runbook} in {environment} (run {run_id}){}",
            if *dry_run { "plan of" } else if *resumed { "resuming" } else { "running" },
            if *dry_run { ": nothing will change" } else { "" }
        ),
        RunEvent::StepStarted { step, action, attempt } if *attempt > 1 => {
            format!("  … {step}: {action} (attempt {attempt})")
        }
        RunEvent::StepStarted { step, action, .. } => format!("  … {step}: {action}"),
        RunEvent::StepSkipped { step, reason } => format!("  - {step}: skipped ({reason})"),
        RunEvent::StepReused { step } => format!("  = {step}: done before the resume"),
        RunEvent::StepPlanned { step, action, plan } => {
            let mut s = format!("  ~ {step}: {action}");
            for line in plan_lines(plan) {
                s.push_str(&format!("\n      {line}"));
            }
            s
        }
        RunEvent::StepProgress { step, message } => format!("    {step}: {message}"),
        // People read the changes and the failures; every read is in `-o jsonl` and `runs show`.
        RunEvent::Call { call, .. }
            if call.method == "GET" && (200..300).contains(&call.status) =>
        {
            return None
        }
        RunEvent::Call { call, .. } => format!(
            "      {} {} → {}{}",
            call.method,
            call.url,
            call.status,
            call.request_id
                .as_deref()
                .map(|r| format!(" (request {r})"))
                .unwrap_or_default()
        ),
        RunEvent::StepSucceeded { step, elapsed_ms, .. } => format!("  ✓ {step} ({elapsed_ms} ms)"),
        RunEvent::StepFailed { step, error, will_retry } => format!(
            "  ✗ {step}: {error}{}",
            if *will_retry { " (retrying)" } else { "" }
        ),
        RunEvent::InputsChanged { step, before, after } => format!(
            "  ! {step}: inputs changed since the checkpoint\n      before: {before}\n      now:    {after}"
        ),
        RunEvent::Checked { step, check, decision } => {
            format!("  ? {step}: check says {check:?}: {decision}")
        }
        RunEvent::ConfirmationRequested { step, message } => format!("  ? {step}: {message}"),
        RunEvent::Confirmed { step } => format!("  ✓ {step}: confirmed"),
        RunEvent::RollbackStarted { step, action } => format!("  ↶ {step}: rolling back ({action})"),
        RunEvent::RollbackSucceeded { step } => format!("  ↶ {step}: rolled back"),
        RunEvent::RollbackFailed { step, error } => format!("  ↶ {step}: rollback failed: {error}"),
        RunEvent::RunFinished {
            status,
            exit_code,
            failed_step,
            error,
            run_id,
        } => {
            let mut s = format!("{status} (exit {exit_code}, run {run_id})");
            if let Some(step) = failed_step {
                s.push_str(&format!("\n  at step {step}"));
            }
            if let Some(e) = error {
                s.push_str(&format!(": {e}"));
            }
            s
        }
    })
}

pub async fn run(args: RunArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let config = load_config(config_path)?;
    let loaded = find_runbook(&args.runbook, &config, config_path, &args.runbook_dirs)?;
    let given = params::split_assignments(&args.params).map_err(invalid)?;
    let mut typed = params::parse(&loaded.runbook.params, &given).map_err(invalid)?;
    let session = connect(&config, args.env.as_deref())?;
    params::resolve_resources(
        &mut typed,
        &loaded.runbook.params,
        &session.pipeline,
        &Scope {
            environment: &session.name,
            subscriptions: &session.environment.subscriptions,
            resource_groups: &session.environment.resource_groups,
        },
    )
    .await
    .map_err(invalid)?;
    let store = open_store(&args.store, &config).await?;
    let job = Job::Start {
        runbook: Box::new(loaded.runbook),
        text: loaded.text,
        source: loaded.source,
        params: typed,
        dry_run: args.dry_run,
    };
    let confirmer = confirmer(args.yes, args.confirm_env);
    drive(&session, &store, confirmer.as_ref(), args.output, job).await
}

/// What `drive` runs: a new run, or the rest of a stopped one.
enum Job<'r> {
    Start {
        // Boxed: a runbook is large beside a resume's two fields.
        runbook: Box<crate::runbook::model::Runbook>,
        text: String,
        source: String,
        params: params::Params,
        dry_run: bool,
    },
    Resume {
        record: &'r crate::store::RunRecord,
        options: ResumeOptions,
    },
}

/// Runs `job` with one engine over the session and the store, printing its events as they come;
/// the exit code is the run's.
async fn drive(
    session: &Session,
    store: &Store,
    confirmer: &dyn Confirmer,
    output: RunOutput,
    job: Job<'_>,
) -> Result<u8, CliError> {
    let http = http_client(&session.cloud).map_err(|e| CliError {
        code: exit::AZURE,
        error: e.into(),
    })?;
    let registry = Registry::builtin();
    let (tx, rx) = mpsc::unbounded_channel();
    let (environment, env_context) = environment_of(session);
    let engine = Engine {
        registry: &registry,
        store,
        azure: Some(&session.pipeline),
        http: Some(&http),
        confirmer,
        events: Some(tx),
        stop: interrupts(),
    };
    let printer = tokio::spawn(print_events(rx, output));
    let result = match job {
        Job::Start {
            runbook,
            text,
            source,
            params,
            dry_run,
        } => {
            engine
                .start(RunRequest {
                    runbook: *runbook,
                    text,
                    source,
                    params,
                    environment,
                    env_context,
                    dry_run,
                })
                .await
        }
        Job::Resume { record, options } => {
            engine
                .resume(record, environment, env_context, options)
                .await
        }
    };
    // The engine holds the events' sender: dropping it lets the printer finish.
    drop(engine);
    let _ = printer.await;
    match result {
        Ok(outcome) => Ok(outcome.exit_code as u8),
        Err(e) => Err(engine_error(e)),
    }
}

pub async fn plan(args: PlanArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    run(
        RunArgs {
            runbook: args.runbook,
            params: args.params,
            env: args.env,
            yes: false,
            confirm_env: None,
            dry_run: true,
            output: args.output,
            runbook_dirs: args.runbook_dirs,
            store: args.store,
        },
        config_path,
    )
    .await
}

pub async fn resume(args: ResumeArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let config = load_config(config_path)?;
    let store = open_store(&args.store, &config).await?;
    let record = store
        .run(&args.run_id)
        .await
        .map_err(invalid)?
        .ok_or_else(|| invalid(anyhow::anyhow!("no run {}", args.run_id)))?;
    let session = connect(&config, Some(&record.environment))?;
    let given = params::split_assignments(&args.params).map_err(invalid)?;
    let job = Job::Resume {
        record: &record,
        options: ResumeOptions {
            force_step: args.force_step,
            params: given,
        },
    };
    let confirmer = confirmer(args.yes, args.confirm_env);
    drive(&session, &store, confirmer.as_ref(), args.output, job).await
}
