//! The command line: argument parsing, and the one place errors become what the user reads.

pub mod env;
pub mod exit;
pub mod login;
pub mod prompt;
pub mod read;
pub mod run;
pub mod runbooks;
pub mod runs;
pub mod sim;
pub mod tui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "azdeck", version, about = "A terminal operations console for Azure", long_about = None)]
pub struct Cli {
    /// Configuration file (default: $AZDECK_CONFIG, else $XDG_CONFIG_HOME/azdeck/config.toml).
    #[arg(long, global = true, env = "AZDECK_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// An error on its way to the user, with the exit code it ends the process with.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    /// The user's input (arguments, files) is wrong: exit code 3.
    pub fn usage(e: impl Into<anyhow::Error>) -> Self {
        Self {
            code: exit::USAGE,
            error: e.into(),
        }
    }

    pub fn io(e: std::io::Error) -> Self {
        Self {
            code: exit::INTERNAL,
            error: e.into(),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: exit::INTERNAL,
            error,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The simulated Azure and the TUI on it: practise every runbook without a subscription.
    Demo(tui::DemoArgs),
    /// The TUI on a configured environment.
    Ui(tui::UiArgs),
    /// Run the simulated Azure (Entra ID, Resource Manager, Resource Graph, Container Apps, …).
    Sim(sim::SimArgs),
    /// Named environments: list, show, add.
    Env(env::EnvArgs),
    /// Check a service principal's client secret with Entra ID and store it in the OS keyring.
    Login(login::LoginArgs),
    /// Remove an environment's client secret from the OS keyring.
    Logout(login::LogoutArgs),
    /// Every resource of the environment (Resource Graph, ARM listing as fallback).
    Inventory(read::InventoryArgs),
    /// Revisions of a Container App (active ones; --all for every one).
    Revisions(read::RevisionsArgs),
    /// Any resource by id, as JSON.
    Show(read::ShowArgs),
    /// A Key Vault's secrets (or one secret's versions): properties and expiry, never values.
    Secrets(read::SecretsArgs),
    /// Run a runbook: plan, confirm, change, checkpoint (exit codes in the README).
    Run(run::RunArgs),
    /// Show what a runbook would do (REST calls, before → after) without changing anything.
    Plan(run::PlanArgs),
    /// Go on with a run that stopped (crash, Ctrl-C, failure, missing confirmation).
    Resume(run::ResumeArgs),
    /// Past runs: list, show.
    Runs(runs::RunsArgs),
    /// The audit trail; --verify checks its hash chain.
    Audit(runs::AuditArgs),
    /// Runbooks: list, show, lint; the format's schema and the actions steps can use.
    Runbooks(runbooks::RunbooksArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The TUI owns the screen: its logs go to a file.
    let full_screen = matches!(cli.command, Command::Demo(_) | Command::Ui(_));
    init_logging(full_screen);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("azdeck: cannot start the async runtime: {e}");
            return exit::INTERNAL.into();
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => tui::demo(args, cli.config.as_deref()).await,
            Command::Ui(args) => tui::ui(args, cli.config.as_deref()).await,
            Command::Sim(args) => sim::run(args).await.map_err(CliError::from),
            Command::Env(args) => env::run(args, cli.config),
            Command::Login(args) => login::login(args, cli.config).await,
            Command::Logout(args) => login::logout(args, cli.config).await,
            Command::Inventory(args) => read::inventory(args, cli.config.as_deref()).await,
            Command::Revisions(args) => read::revisions(args, cli.config.as_deref()).await,
            Command::Show(args) => read::show(args, cli.config.as_deref()).await,
            Command::Secrets(args) => read::secrets(args, cli.config.as_deref()).await,
            Command::Run(args) => run::run(args, cli.config.as_deref()).await,
            Command::Plan(args) => run::plan(args, cli.config.as_deref()).await,
            Command::Resume(args) => run::resume(args, cli.config.as_deref()).await,
            Command::Runs(args) => runs::runs(args, cli.config.as_deref()).await,
            Command::Audit(args) => runs::audit(args, cli.config.as_deref()).await,
            Command::Runbooks(args) => runbooks::run(args, cli.config.as_deref()),
        }
    });
    match result {
        Ok(code) => code.into(),
        // The reader closed the pipe (`| head`): it has seen enough; nothing to report.
        Err(CliError { error, .. })
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(CliError { code, error }) => {
            // One reporting path: context and root cause on screen, the chain in the log.
            eprintln!("azdeck: {error:#}");
            tracing::debug!(error = ?error, "command failed");
            code.into()
        }
    }
}

/// Logs go to stderr for one-shot commands, filtered by `AZDECK_LOG` (default: warnings). While
/// the TUI runs they go to `$AZDECK_LOG_FILE`, else `azdeck.log` in the state directory (never
/// the screen).
fn init_logging(full_screen: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AZDECK_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if full_screen { "info" } else { "warn" })
    });
    if full_screen {
        let file = log_file().and_then(|path| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).ok()?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        // No place for a log: nothing is logged rather than the screen garbled.
        if let Some(f) = file {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .try_init();
        }
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn log_file() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("AZDECK_LOG_FILE") {
        return Some(p.into());
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/state"))
        })?;
    Some(state.join("azdeck").join("azdeck.log"))
}
