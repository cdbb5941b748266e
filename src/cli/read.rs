//! Headless reads: `azdeck inventory`, `azdeck revisions APP`, `azdeck show RESOURCE_ID`,
//! `azdeck secrets VAULT` (properties only: values are never read).

use std::io::{IsTerminal, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde_json::Value;

use super::{exit, CliError};
use crate::azure::containerapps::{ContainerApps, Revision};
use crate::azure::http::ClientError;
use crate::azure::inventory;
use crate::azure::keyvault::{KeyVaultClient, KeyVaultError, SecretProperties};
use crate::azure::resources::{self, InventoryItem, ResourceId};
use crate::azure::session::{Session, SessionError};
use crate::azure::{containerapps, error::AzureError};
use crate::config::{self, Config};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum Output {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Environment (default: the configuration's default).
    #[arg(long)]
    pub env: Option<String>,
    /// Only this resource type, e.g. Microsoft.App/containerApps.
    #[arg(long = "type")]
    pub resource_type: Option<String>,
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct RevisionsArgs {
    /// The app: a resource id, RESOURCE_GROUP/NAME, or a name unique in the environment.
    pub app: String,
    #[arg(long)]
    pub env: Option<String>,
    /// Include inactive revisions.
    #[arg(long)]
    pub all: bool,
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// The vault's name (`https://{name}.{the cloud's Key Vault suffix}/`).
    pub vault: String,
    #[arg(long)]
    pub env: Option<String>,
    /// The versions of this secret instead of the vault's secrets.
    #[arg(long, value_name = "NAME")]
    pub versions: Option<String>,
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub resource_id: String,
    #[arg(long)]
    pub env: Option<String>,
}

/// Azure refused, or could not be reached: exit code 8.
fn azure(e: impl Into<anyhow::Error>) -> CliError {
    CliError {
        code: exit::AZURE,
        error: e.into(),
    }
}

fn session_error(e: SessionError) -> CliError {
    match e {
        SessionError::Client(c) => azure(c),
        other => CliError::usage(other),
    }
}

fn client_error(e: ClientError) -> CliError {
    match e {
        ClientError::Url(_) => CliError::usage(e),
        other => azure(other),
    }
}

fn connect(config_path: Option<&Path>, env: Option<&str>) -> Result<Session, CliError> {
    let path = config::config_path(config_path).map_err(CliError::usage)?;
    let config = Config::load(&path).map_err(CliError::usage)?;
    Session::open(&config, env).map_err(session_error)
}

/// Control characters never reach the terminal; long values are cut.
fn cell(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > width {
        format!(
            "{}…",
            clean
                .chars()
                .take(width.saturating_sub(1))
                .collect::<String>()
        )
    } else {
        clean
    }
}

struct Progress {
    enabled: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }
    fn update(&self, message: &str) {
        if self.enabled {
            eprint!("\r\x1b[2K{message}");
        }
    }
    fn done(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

pub async fn inventory(args: InventoryArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let session = connect(config_path, args.env.as_deref())?;
    let env = &session.environment;
    let progress = Progress::new();
    let scope = inventory::Scope {
        subscriptions: &env.subscriptions,
        resource_groups: &env.resource_groups,
        resource_type: args.resource_type.as_deref(),
    };
    let loaded = inventory::load(&session.pipeline, &scope, |n| {
        progress.update(&format!("{n} resources…"))
    })
    .await;
    progress.done();
    let items = loaded.map_err(client_error)?;
    let mut out = std::io::stdout().lock();
    write_items(&mut out, &items, args.output).map_err(CliError::io)?;
    Ok(exit::OK)
}

fn write_items(
    out: &mut impl Write,
    items: &[InventoryItem],
    output: Output,
) -> std::io::Result<()> {
    match output {
        Output::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        ),
        Output::Jsonl => {
            for i in items {
                writeln!(out, "{}", serde_json::to_string(i).unwrap_or_default())?;
            }
            Ok(())
        }
        Output::Table => {
            writeln!(
                out,
                "{:<44} {:<32} {:<24} {:<14} STATE",
                "TYPE", "NAME", "RESOURCE GROUP", "LOCATION"
            )?;
            for i in items {
                writeln!(
                    out,
                    "{:<44} {:<32} {:<24} {:<14} {}",
                    cell(&i.resource_type, 44),
                    cell(&i.name, 32),
                    cell(&i.resource_group, 24),
                    cell(&i.location, 14),
                    cell(i.provisioning_state.as_deref().unwrap_or(""), 20)
                )?;
            }
            writeln!(out, "{} resources", items.len())
        }
    }
}

/// Finds the app's id from an id, `RG/NAME` or a unique name.
async fn resolve_app(session: &Session, app: &str) -> Result<String, CliError> {
    if app.starts_with("/subscriptions/") {
        ResourceId::parse(app).map_err(CliError::usage)?;
        return Ok(app.to_string());
    }
    let (group, name) = match app.split_once('/') {
        Some((g, n)) => (Some(g), n),
        None => (None, app),
    };
    let apps = ContainerApps::new(&session.pipeline);
    let mut matches = Vec::new();
    for sub in &session.environment.subscriptions {
        let listed = match apps.list(sub, group).await {
            Ok(l) => l,
            // The group lives in another of the environment's subscriptions.
            Err(containerapps::AppError::Client(e))
                if group.is_some()
                    && matches!(*e, ClientError::Azure(AzureError::NotFound { .. })) =>
            {
                continue
            }
            Err(e) => return Err(azure(e)),
        };
        for a in listed {
            if a.name.eq_ignore_ascii_case(name) {
                matches.push(a.id);
            }
        }
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(CliError::usage(anyhow::anyhow!(
            "no container app named {name:?} in environment {}",
            session.name
        ))),
        _ => Err(CliError::usage(anyhow::anyhow!(
            "{name:?} names several apps; give RESOURCE_GROUP/NAME or the id:\n  {}",
            matches.join("\n  ")
        ))),
    }
}

pub async fn revisions(args: RevisionsArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let session = connect(config_path, args.env.as_deref())?;
    let id = resolve_app(&session, &args.app).await?;
    let apps = ContainerApps::new(&session.pipeline);
    let app = apps.get(&id).await.map_err(app_error)?;
    let mut revs = apps.revisions(&id).await.map_err(app_error)?;
    if !args.all {
        revs.retain(Revision::is_active);
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            let v = serde_json::json!({"app": app.id, "revisionMode": app.revision_mode(), "latestRevision": app.properties.latest_revision_name, "revisions": revs});
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )
            .map_err(CliError::io)?;
        }
        Output::Jsonl => {
            for r in &revs {
                writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default())
                    .map_err(CliError::io)?;
            }
        }
        Output::Table => {
            writeln!(
                out,
                "{} — revision mode {}",
                cell(&app.name, 64),
                app.revision_mode()
            )
            .map_err(CliError::io)?;
            writeln!(
                out,
                "{:<32} {:<21} {:<6} {:>7} {:>8} {:<9} {:<10} {:<16} IMAGE",
                "REVISION",
                "CREATED",
                "ACTIVE",
                "TRAFFIC",
                "REPLICAS",
                "HEALTH",
                "RUNNING",
                "LABELS"
            )
            .map_err(CliError::io)?;
            for r in &revs {
                let p = &r.properties;
                writeln!(
                    out,
                    "{:<32} {:<21} {:<6} {:>6}% {:>8} {:<9} {:<10} {:<16} {}",
                    cell(&r.name, 32),
                    cell(p.created_time.as_deref().unwrap_or(""), 21),
                    if r.is_active() { "yes" } else { "no" },
                    p.traffic_weight.unwrap_or(0),
                    p.replicas.unwrap_or(0),
                    cell(p.health_state.as_deref().unwrap_or(""), 9),
                    cell(p.running_state.as_deref().unwrap_or(""), 10),
                    cell(p.labels.as_deref().unwrap_or(""), 16),
                    cell(r.image().unwrap_or(""), 80)
                )
                .map_err(CliError::io)?;
            }
        }
    }
    Ok(exit::OK)
}

fn app_error(e: containerapps::AppError) -> CliError {
    match e {
        containerapps::AppError::NotAnApp { .. } => CliError::usage(e),
        other => azure(other),
    }
}

pub async fn show(args: ShowArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let id = ResourceId::parse(&args.resource_id).map_err(CliError::usage)?;
    let session = connect(config_path, args.env.as_deref())?;
    let body: Value = resources::get(&session.pipeline, &id)
        .await
        .map_err(client_error)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&body).unwrap_or_default()
    )
    .map_err(CliError::io)?;
    Ok(exit::OK)
}

/// "in 5 days", "EXPIRED", or nothing: rounded to the nearest day, so a secret set to expire in
/// five days still reads "in 5 days" a few seconds later.
pub fn expiry_note(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(exp) = expires else {
        return String::new();
    };
    let secs = (exp - now).num_seconds();
    if secs <= 0 {
        return "EXPIRED".into();
    }
    match (secs + 43_200) / 86_400 {
        0 => "in <1 day".into(),
        1 => "in 1 day".into(),
        n => format!("in {n} days"),
    }
}

fn date(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

pub async fn secrets(args: SecretsArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let session = connect(config_path, args.env.as_deref())?;
    let kv = KeyVaultClient::for_vault(&session.pipeline, &args.vault).map_err(CliError::usage)?;
    let mut items = match &args.versions {
        Some(name) => kv.list_versions(name).await,
        None => kv.list_secrets().await,
    }
    .map_err(|e| match e {
        KeyVaultError::Name(_) | KeyVaultError::VaultUrl(_) | KeyVaultError::ForeignHost { .. } => {
            CliError::usage(e)
        }
        other => azure(other),
    })?;
    if args.versions.is_none() {
        items.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let now = Utc::now();
    let mut out = std::io::stdout().lock();
    let row = |p: &SecretProperties| {
        serde_json::json!({
            "name": p.name,
            "version": p.version,
            "id": p.id,
            "enabled": p.enabled,
            "created": p.created,
            "updated": p.updated,
            "expires": p.expires,
            "expiresIn": expiry_note(p.expires, now),
            "notBefore": p.not_before,
            "contentType": p.content_type,
            "tags": p.tags,
            "managed": p.managed,
        })
    };
    match args.output {
        Output::Json => {
            let rows: Vec<Value> = items.iter().map(row).collect();
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            )
            .map_err(CliError::io)?;
        }
        Output::Jsonl => {
            for p in &items {
                writeln!(out, "{}", row(p)).map_err(CliError::io)?;
            }
        }
        Output::Table => {
            let first = if args.versions.is_some() {
                "VERSION"
            } else {
                "NAME"
            };
            writeln!(
                out,
                "{first:<40} {:<7} {:<30} {:<16} CONTENT TYPE",
                "ENABLED", "EXPIRES", "UPDATED"
            )
            .map_err(CliError::io)?;
            for p in &items {
                let key = if args.versions.is_some() {
                    p.version.as_deref().unwrap_or("")
                } else {
                    &p.name
                };
                let expires = match p.expires {
                    Some(e) => format!("{} ({})", e.format("%Y-%m-%d"), expiry_note(Some(e), now)),
                    None => String::new(),
                };
                writeln!(
                    out,
                    "{:<40} {:<7} {:<30} {:<16} {}",
                    cell(key, 40),
                    match p.enabled {
                        Some(false) => "no",
                        _ => "yes",
                    },
                    cell(&expires, 30),
                    date(p.updated),
                    cell(p.content_type.as_deref().unwrap_or(""), 40)
                )
                .map_err(CliError::io)?;
            }
            let what = if args.versions.is_some() {
                "versions"
            } else {
                "secrets"
            };
            writeln!(out, "{} {what}", items.len()).map_err(CliError::io)?;
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_in_days_rounded() {
        let now = Utc::now();
        let d = chrono::Duration::days;
        assert_eq!(expiry_note(None, now), "");
        assert_eq!(
            expiry_note(Some(now + d(5) - chrono::Duration::seconds(3)), now),
            "in 5 days"
        );
        assert_eq!(expiry_note(Some(now + d(1)), now), "in 1 day");
        assert_eq!(expiry_note(Some(now - d(1)), now), "EXPIRED");
    }

    #[test]
    fn cells_are_inert_and_bounded() {
        assert_eq!(cell("a\u{1b}[31mb", 20), "a?[31mb");
        assert_eq!(cell("abcdef", 4), "abc…");
    }
}
