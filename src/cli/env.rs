//! `azdeck env list | show | add`: the environments of the configuration.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::{exit, CliError};
use crate::config::{self, Config, CredentialKind, Environment};
use crate::model::SimEnvironment;

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(subcommand)]
    pub command: EnvCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List the configured environments.
    List {
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Show one environment (the default one without a name).
    Show { name: Option<String> },
    /// Add an environment: from a running simulator's environment file, or from flags.
    Add(AddArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub name: String,
    /// The environment file `azdeck sim` wrote: adds its cloud and all its subscriptions.
    #[arg(long, conflicts_with_all = ["cloud", "tenant", "subscription"])]
    pub sim_env: Option<PathBuf>,
    /// public, china, usgov, or a cloud defined in the config file.
    #[arg(long)]
    pub cloud: Option<String>,
    #[arg(long)]
    pub tenant: Option<String>,
    /// A subscription id (repeat for several).
    #[arg(long = "subscription")]
    pub subscription: Vec<String>,
    /// Limit the environment to these resource groups (repeat for several).
    #[arg(long = "resource-group")]
    pub resource_group: Vec<String>,
    #[arg(long, value_enum)]
    pub credential: Option<CredentialArg>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Red in the TUI; a change needs the environment's name typed.
    #[arg(long)]
    pub protected: bool,
    /// Nothing can be changed through this environment.
    #[arg(long)]
    pub read_only: bool,
    #[arg(long)]
    pub theme: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CredentialArg {
    ServicePrincipal,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

impl From<CredentialArg> for CredentialKind {
    fn from(c: CredentialArg) -> Self {
        match c {
            CredentialArg::ServicePrincipal => CredentialKind::ServicePrincipal,
            CredentialArg::WorkloadIdentity => CredentialKind::WorkloadIdentity,
            CredentialArg::ManagedIdentity => CredentialKind::ManagedIdentity,
            CredentialArg::AzureCli => CredentialKind::AzureCli,
        }
    }
}

fn flags(env: &Environment) -> String {
    let mut f = Vec::new();
    if env.protected {
        f.push("protected");
    }
    if env.read_only {
        f.push("read-only");
    }
    f.join(",")
}

pub fn run(args: EnvArgs, config_path: Option<PathBuf>) -> Result<u8, CliError> {
    let path = config::config_path(config_path.as_deref()).map_err(CliError::usage)?;
    let mut out = std::io::stdout().lock();
    match args.command {
        EnvCommand::List { output } => {
            let config = Config::load(&path).map_err(CliError::usage)?;
            if output == ListFormat::Json {
                let list: Vec<_> = config
                    .environments
                    .iter()
                    .map(|(name, e)| json!({"name": name, "default": config.default_environment.as_deref() == Some(name.as_str()), "environment": e}))
                    .collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                )
                .map_err(CliError::io)?;
                return Ok(exit::OK);
            }
            if config.environments.is_empty() {
                writeln!(
                    out,
                    "No environments in {}. Add one with `azdeck env add`.",
                    path.display()
                )
                .map_err(CliError::io)?;
                return Ok(exit::OK);
            }
            writeln!(
                out,
                "{:<2}{:<16} {:<10} {:<38} {:>4}  {:<18} FLAGS",
                "", "NAME", "CLOUD", "TENANT", "SUBS", "CREDENTIAL"
            )
            .map_err(CliError::io)?;
            for (name, e) in &config.environments {
                let mark = if config.default_environment.as_deref() == Some(name.as_str()) {
                    "*"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{mark:<2}{name:<16} {:<10} {:<38} {:>4}  {:<18} {}",
                    e.cloud,
                    e.tenant,
                    e.subscriptions.len(),
                    e.credential.as_str(),
                    flags(e)
                )
                .map_err(CliError::io)?;
            }
            Ok(exit::OK)
        }
        EnvCommand::Show { name } => {
            let config = Config::load(&path).map_err(CliError::usage)?;
            let (name, env) = config
                .environment(name.as_deref())
                .map_err(CliError::usage)?;
            let cloud = config.clouds.get(&env.cloud);
            let shown = json!({"name": name, "environment": env, "customCloud": cloud});
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            )
            .map_err(CliError::io)?;
            Ok(exit::OK)
        }
        EnvCommand::Add(a) => {
            let (environment, cloud) = match &a.sim_env {
                Some(file) => {
                    let sim = SimEnvironment::load(file).map_err(CliError::usage)?;
                    let (cloud, mut env) = config::from_sim(&sim);
                    env.cloud = a.name.clone();
                    apply_flags(&mut env, &a);
                    (env, Some(cloud))
                }
                None => {
                    let (Some(tenant), false) = (a.tenant.clone(), a.subscription.is_empty())
                    else {
                        return Err(CliError::usage(anyhow::anyhow!("`env add` needs --sim-env FILE, or --tenant and at least one --subscription")));
                    };
                    let mut env = Environment {
                        cloud: a.cloud.clone().unwrap_or_else(|| "public".into()),
                        tenant,
                        subscriptions: a.subscription.clone(),
                        resource_groups: vec![],
                        credential: CredentialKind::AzureCli,
                        client_id: None,
                        protected: false,
                        read_only: false,
                        theme: None,
                    };
                    apply_flags(&mut env, &a);
                    (env, None)
                }
            };
            config::add_environment(
                &path,
                &a.name,
                &environment,
                cloud.as_ref().map(|c| (a.name.as_str(), c)),
            )
            .map_err(CliError::usage)?;
            writeln!(out, "Added environment {} to {}.", a.name, path.display())
                .map_err(CliError::io)?;
            Ok(exit::OK)
        }
    }
}

fn apply_flags(env: &mut Environment, a: &AddArgs) {
    if !a.resource_group.is_empty() {
        env.resource_groups = a.resource_group.clone();
    }
    if let Some(c) = a.credential {
        env.credential = c.into();
    }
    if a.client_id.is_some() {
        env.client_id = a.client_id.clone();
    }
    env.protected |= a.protected;
    env.read_only |= a.read_only;
    if a.theme.is_some() {
        env.theme = a.theme.clone();
    }
}
