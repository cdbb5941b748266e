//! The command line: argument parsing, and the one place errors become what the user reads.

pub mod exit;
pub mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "azdeck", version, about = "A terminal operations console for Azure", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the simulated Azure (Entra ID, Resource Manager, Resource Graph, Container Apps, …).
    Sim(sim::SimArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
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
            Command::Sim(args) => sim::run(args).await,
        }
    });
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            // One reporting path: context and root cause on screen, the chain in the log.
            eprintln!("azdeck: {e:#}");
            tracing::debug!(error = ?e, "command failed");
            exit::INTERNAL.into()
        }
    }
}

/// Logs go to stderr for one-shot commands, filtered by `AZDECK_LOG` (default: warnings).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AZDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
