//! `azdeck login` / `azdeck logout`: a service principal's client secret into and out of the OS
//! keyring (`azure::secrets`). The secret is checked with Entra ID before it is stored, so a typo
//! never replaces a working secret.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::anyhow;
use azure_core::credentials::Secret;
use clap::Args;

use super::{exit, CliError};
use crate::azure::auth::{
    build_credential, get_token, process_env, AuthError, CredentialKind as AuthKind,
    CredentialSettings, AZURE_CLIENT_SECRET,
};
use crate::azure::cloud::Cloud;
use crate::azure::http::http_client;
use crate::azure::secrets::{self, Backend, SecretStoreError};
use crate::config::{self, Config, CredentialKind, Environment};
use crate::model::SecretString;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The environment (default: the configuration's default environment).
    #[arg(long)]
    pub env: Option<String>,
    /// Take the secret from AZURE_CLIENT_SECRET instead of stdin (which is read without echo at a
    /// terminal, or as one line when piped).
    #[arg(long)]
    pub secret_from_env: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The environment (default: the configuration's default environment).
    #[arg(long)]
    pub env: Option<String>,
}

fn environment(
    config_path: Option<PathBuf>,
    name: Option<&str>,
) -> Result<(Config, String, Environment), CliError> {
    let path = config::config_path(config_path.as_deref()).map_err(CliError::usage)?;
    let config = Config::load(&path).map_err(CliError::usage)?;
    let (name, env) = config.environment(name).map_err(CliError::usage)?;
    let (name, env) = (name.to_string(), env.clone());
    Ok((config, name, env))
}

/// What a credential kind that stores no secret uses instead.
fn instead(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ServicePrincipal => "a client secret",
        CredentialKind::WorkloadIdentity => {
            "it reads a federated token file (AZURE_FEDERATED_TOKEN_FILE, with AZURE_CLIENT_ID and AZURE_TENANT_ID), as Kubernetes workload identity and CI systems provide"
        }
        CredentialKind::ManagedIdentity => {
            "it uses the managed identity of the Azure resource azdeck runs on (IDENTITY_ENDPOINT and IDENTITY_HEADER, or the instance metadata service)"
        }
        CredentialKind::AzureCli => {
            "it uses the account the Azure CLI is signed in to: run `az login` instead"
        }
    }
}

fn internal(e: impl Into<anyhow::Error>) -> CliError {
    CliError {
        code: exit::INTERNAL,
        error: e.into(),
    }
}

/// The secret from `--secret-from-env`, the terminal (no echo), or one line of piped stdin.
fn read_secret(args: &LoginArgs, name: &str, client_id: &str) -> Result<SecretString, CliError> {
    let secret = if args.secret_from_env {
        let value = process_env(AZURE_CLIENT_SECRET).ok_or_else(|| {
            CliError::usage(anyhow!(
                "--secret-from-env: {AZURE_CLIENT_SECRET} is not set"
            ))
        })?;
        SecretString::new(value)
    } else if std::io::stdin().is_terminal() {
        let prompt = format!("Client secret for {name} (client id {client_id}): ");
        SecretString::new(rpassword::prompt_password(prompt).map_err(CliError::io)?)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(CliError::io)?;
        let len = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(len);
        SecretString::new(line)
    };
    if secret.is_empty() {
        return Err(CliError::usage(anyhow!(
            "no secret given: type it at the prompt, pipe it on stdin (one line), or use --secret-from-env"
        )));
    }
    Ok(secret)
}

/// Whether Entra ID answered and refused (a 4xx), as opposed to not being reached.
fn rejected(e: &AuthError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(status) = err
            .downcast_ref::<azure_core::Error>()
            .and_then(azure_core::Error::http_status)
        {
            return status.is_client_error();
        }
        cur = err.source();
    }
    false
}

/// Runs a blocking keyring call off the async workers (the Secret Service speaks D-Bus).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SecretStoreError> + Send + 'static,
) -> Result<T, CliError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

pub async fn login(args: LoginArgs, config_path: Option<PathBuf>) -> Result<u8, CliError> {
    let (config, name, env) = environment(config_path, args.env.as_deref())?;
    if env.credential != CredentialKind::ServicePrincipal {
        return Err(CliError::usage(anyhow!(
            "environment {name} uses the {} credential, which needs no stored secret: {}",
            env.credential.as_str(),
            instead(env.credential)
        )));
    }
    let client_id = env.client_id.clone().ok_or_else(|| {
        CliError::usage(anyhow!(
            "environment {name}: a service-principal credential needs client_id"
        ))
    })?;
    let cloud = Cloud::named(&env.cloud, &config).map_err(CliError::usage)?;
    let secret = read_secret(&args, &name, &client_id)?;

    // Check it with Entra ID before storing anything.
    let http = http_client(&cloud).map_err(internal)?;
    let credential = build_credential(
        CredentialSettings {
            cloud: cloud.clone(),
            tenant_id: Some(env.tenant.clone()),
            kind: AuthKind::ClientSecret {
                client_id: Some(client_id.clone()),
            },
            secret: Some(Secret::from(secret.expose().to_string())),
            retry: None,
        },
        http,
    )
    .map_err(|e| CliError::usage(anyhow!("{}", e.chain())))?;
    let scope = cloud.arm_scope();
    if let Err(e) = get_token(credential.as_ref(), &scope).await {
        // Refused: the secret (or client id, tenant) is wrong input. Otherwise Entra was not reached.
        let code = if rejected(&e) {
            exit::USAGE
        } else {
            exit::AZURE
        };
        return Err(CliError {
            code,
            error: anyhow!(
                "the secret was not stored: no token for service principal {client_id} in tenant {}: {}",
                env.tenant,
                e.chain()
            ),
        });
    }

    let backend = {
        let (name, tenant, client_id) = (name.clone(), env.tenant.clone(), client_id.clone());
        blocking(move || secrets::store(&name, &tenant, &client_id, &secret)).await?
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Entra ID accepted the secret of {client_id}; stored it for environment {name} in the {backend}."
    )
    .map_err(CliError::io)?;
    if backend == Backend::KernelKeyring {
        writeln!(
            out,
            "The kernel keyring keeps it until the machine restarts, or until it goes unused for the persistent keyring's expiry (/proc/sys/kernel/keys/persistent_keyring_expiry, 3 days by default); run `azdeck login` again then."
        )
        .map_err(CliError::io)?;
    }
    Ok(exit::OK)
}

pub async fn logout(args: LogoutArgs, config_path: Option<PathBuf>) -> Result<u8, CliError> {
    let (_, name, env) = environment(config_path, args.env.as_deref())?;
    let mut out = std::io::stdout().lock();
    // Whatever the credential kind now: a secret stored while it was a service principal goes too.
    let Some(client_id) = env.client_id.clone() else {
        writeln!(
            out,
            "Environment {name} has no client id, so no secret is stored for it."
        )
        .map_err(CliError::io)?;
        return Ok(exit::OK);
    };
    let deleted = {
        let (name, tenant, client_id) = (name.clone(), env.tenant.clone(), client_id.clone());
        blocking(move || secrets::delete(&name, &tenant, &client_id)).await?
    };
    if deleted {
        writeln!(
            out,
            "Removed the client secret of {client_id} for environment {name} from the OS keyring."
        )
    } else {
        writeln!(out, "No client secret was stored for environment {name}.")
    }
    .map_err(CliError::io)?;
    Ok(exit::OK)
}
