//! `azdeck sim`: runs the simulated Azure in the foreground until Ctrl-C.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::exit;
use crate::sim::state::Settings;
use crate::sim::{self, SimOptions};

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port of the HTTPS listener (0 picks a free one).
    #[arg(long, default_value_t = sim::DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind (loopback by default: the simulator is for this machine).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// DNS domain the simulated cloud's hosts live under.
    #[arg(long, default_value = sim::DEFAULT_DOMAIN)]
    pub domain: String,
    /// World to load: default, large, large:SUBSxRESOURCES, empty, or a YAML file.
    #[arg(long, default_value = "default")]
    pub world: String,
    /// Keep the simulated cloud's state (and its CA) here across restarts.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Write the environment file (endpoints, CA, credentials) here too.
    #[arg(long)]
    pub env_out: Option<PathBuf>,
    /// Test mode: long-running operations finish in 200 ms and clients are told to poll every 50 ms.
    #[arg(long)]
    pub fast: bool,
    /// Items per page of list operations.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Multiplier of ARM's throttling limits (0 disables throttling).
    #[arg(long)]
    pub throttle_scale: Option<f64>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long)]
    pub token_lifetime: Option<i64>,
    /// Print only the environment file's path (for scripts).
    #[arg(long)]
    pub quiet: bool,
}

impl SimArgs {
    fn settings(&self) -> Option<Settings> {
        let touched = self.fast
            || self.page_size.is_some()
            || self.throttle_scale.is_some()
            || self.token_lifetime.is_some();
        if !touched {
            return None;
        }
        let mut s = if self.fast {
            Settings::fast()
        } else {
            Settings::default()
        };
        if let Some(p) = self.page_size {
            s.page_size = p.max(1);
        }
        if let Some(t) = self.throttle_scale {
            s.throttle_scale = t.max(0.0);
        }
        if let Some(l) = self.token_lifetime {
            s.token_lifetime_secs = l.max(1);
        }
        Some(s)
    }
}

pub async fn run(args: SimArgs) -> anyhow::Result<u8> {
    let options = SimOptions {
        bind: args.bind,
        port: args.port,
        domain: args.domain.clone(),
        world: args.world.clone(),
        state_dir: args.state_dir.clone(),
        env_out: args.env_out.clone(),
        settings: args.settings(),
    };
    let handle = sim::start(options)
        .await
        .context("cannot start the simulated Azure")?;
    let mut out = std::io::stdout().lock();
    if args.quiet {
        writeln!(out, "{}", handle.env_file.display())?;
    } else {
        let env = &handle.env;
        writeln!(
            out,
            "azdeck simulated Azure — world '{}' on https://{}",
            env.world, env.listen
        )?;
        writeln!(out, "  ARM:        {}", env.endpoints.resource_manager)?;
        writeln!(out, "  Entra ID:   {}", env.endpoints.active_directory)?;
        writeln!(
            out,
            "  Key Vault:  https://{{vault}}.{}:{}/",
            env.endpoints.key_vault_dns_suffix,
            handle.addr.port()
        )?;
        writeln!(
            out,
            "  tenant:     {} ({})",
            env.tenant_id, env.tenant_domain
        )?;
        for s in &env.subscriptions {
            writeln!(out, "  subscription {} ({})", s.id, s.name)?;
        }
        writeln!(out, "  CA:         {}", env.ca_file.display())?;
        writeln!(out, "  env file:   {}", handle.env_file.display())?;
        writeln!(out)?;
        writeln!(out, "Host names resolve to {} through azdeck's own resolver. For other clients add to /etc/hosts:", handle.addr.ip())?;
        writeln!(
            out,
            "  {} login.{d} management.{d}",
            handle.addr.ip(),
            d = args.domain
        )?;
        writeln!(
            out,
            "(and one line per Key Vault: {{vault}}.vault.{}). Ctrl-C stops.",
            args.domain
        )?;
        writeln!(out)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&handle.env)?)?;
    }
    out.flush()?;
    drop(out);
    wait_for_stop_signal().await?;
    handle.shutdown().await;
    Ok(exit::OK)
}

/// Ctrl-C (SIGINT) or SIGTERM: both stop the simulator cleanly (state is saved when kept).
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")
    }
}
