//! Key Vault secrets: show and list versions (properties only), set a new version (its value from a
//! secret param, or generated here), disable and enable a version. Values never appear in an
//! output, a plan or an error. `set` is undone by disabling the version it created:
//! `rollback: {action: keyvault.secret.disable, with: {…, version: "{{ steps.S.outputs.version }}"}}`.
//!
//! There is no `secret.generate` action: the engine masks secret *params* only (its masker is
//! built from them before the run), so a generated value returned as an output would be stored
//! and shown in clear. `keyvault.secret.set` takes `generate: {length, charset}` instead.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::azure::keyvault::{KeyVaultClient, KeyVaultError, NewSecret, SecretUpdate};
use crate::model::SecretString;
use crate::runbook::action::{
    Action, ActionContext, ActionError, ActionSpec, Change, Check, Plan, PlannedCall, Registry,
    KNOWN_AFTER_APPLY,
};

pub fn register(registry: &mut Registry) {
    registry.register(Show);
    registry.register(Versions);
    registry.register(Set);
    registry.register(Enabled { enable: false });
    registry.register(Enabled { enable: true });
}

const API: &str = "api-version=2025-07-01";

impl From<KeyVaultError> for ActionError {
    fn from(e: KeyVaultError) -> Self {
        match e {
            KeyVaultError::Name(_)
            | KeyVaultError::VaultUrl(_)
            | KeyVaultError::ForeignHost { .. } => ActionError::Input(e.to_string()),
            other => ActionError::Azure(other.to_string()),
        }
    }
}

fn client(ctx: &ActionContext<'_>, vault: &str) -> Result<KeyVaultClient, ActionError> {
    if vault.starts_with("https://") {
        Ok(KeyVaultClient::new(ctx.azure()?, vault)?)
    } else {
        Ok(KeyVaultClient::for_vault(ctx.azure()?, vault)?)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The vault's name, or its URL (`properties.vaultUri`).
    pub vault: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SecretInfo {
    /// The latest version.
    pub version: Option<String>,
    pub enabled: bool,
    #[schemars(with = "Option<String>")]
    pub expires: Option<DateTime<Utc>>,
    pub content_type: Option<String>,
    #[schemars(with = "Option<String>")]
    pub updated: Option<DateTime<Utc>>,
}

pub struct Show;

#[async_trait]
impl Action for Show {
    type Input = SecretRef;
    type Output = SecretInfo;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "keyvault.secret.show",
            summary: "A secret's latest version, enabled and expiry (never its value)",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(60),
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, i: &SecretRef) -> Result<Plan, ActionError> {
        let kv = client(ctx, &i.vault)?;
        Ok(Plan {
            calls: vec![PlannedCall::new(
                "GET",
                format!("{}/versions?{API}", kv.secret_url(&i.name, None)),
            )],
            ..Default::default()
        })
    }

    async fn run(&self, ctx: &ActionContext<'_>, i: &SecretRef) -> Result<SecretInfo, ActionError> {
        let kv = client(ctx, &i.vault)?;
        let p = kv.latest_properties(&i.name).await?.ok_or_else(|| {
            ActionError::Precondition(format!("no secret {} in {}", i.name, kv.vault_url()))
        })?;
        Ok(SecretInfo {
            version: p.version,
            enabled: p.enabled != Some(false),
            expires: p.expires,
            content_type: p.content_type,
            updated: p.updated,
        })
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionInfo {
    pub version: Option<String>,
    pub enabled: bool,
    #[schemars(with = "Option<String>")]
    pub created: Option<DateTime<Utc>>,
    #[schemars(with = "Option<String>")]
    pub expires: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionsOutput {
    /// Oldest first.
    pub versions: Vec<VersionInfo>,
}

pub struct Versions;

#[async_trait]
impl Action for Versions {
    type Input = SecretRef;
    type Output = VersionsOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "keyvault.secret.versions",
            summary: "A secret's versions, oldest first (never values)",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(60),
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, i: &SecretRef) -> Result<Plan, ActionError> {
        Show.plan(ctx, i).await
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        i: &SecretRef,
    ) -> Result<VersionsOutput, ActionError> {
        let kv = client(ctx, &i.vault)?;
        let versions = kv
            .list_versions(&i.name)
            .await?
            .into_iter()
            .map(|p| VersionInfo {
                version: p.version,
                enabled: p.enabled != Some(false),
                created: p.created,
                expires: p.expires,
            })
            .collect();
        Ok(VersionsOutput { versions })
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    pub length: usize,
    /// `alphanumeric` (default), `hex` or `ascii` (printable, no space).
    #[serde(default)]
    pub charset: Option<String>,
}

#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInput {
    pub vault: String,
    pub name: String,
    /// The value: pass a `type: secret` param (`"{{ params.x }}"`) so the engine masks it.
    #[serde(default)]
    pub value: Option<String>,
    /// Or a random value made here, never shown.
    #[serde(default)]
    pub generate: Option<Generate>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expires: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SetInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetInput")
            .field("vault", &self.vault)
            .field("name", &self.name)
            .field("value", &self.value.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SetOutput {
    pub version: String,
    pub id: String,
}

pub fn generate(g: &Generate) -> Result<SecretString, ActionError> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    let ascii: Vec<u8> = (b'!'..=b'~').collect();
    let set: &[u8] = match g.charset.as_deref() {
        None | Some("alphanumeric") => ALNUM,
        Some("hex") => HEX,
        Some("ascii") => &ascii,
        Some(other) => return Err(ActionError::Input(format!("unknown charset {other:?}"))),
    };
    if !(8..=4096).contains(&g.length) {
        return Err(ActionError::Input(
            "generate.length must be 8..=4096".into(),
        ));
    }
    let mut rng = rand::rngs::OsRng;
    let value: String = (0..g.length)
        .map(|_| set[rng.gen_range(0..set.len())] as char)
        .collect();
    Ok(SecretString::new(value))
}

fn value_of(i: &SetInput) -> Result<SecretString, ActionError> {
    match (&i.value, &i.generate) {
        (Some(v), None) if !v.is_empty() => Ok(SecretString::new(v.clone())),
        (None, Some(g)) => generate(g),
        _ => Err(ActionError::Input(
            "give exactly one of value (non-empty) and generate".into(),
        )),
    }
}

pub struct Set;

#[async_trait]
impl Action for Set {
    type Input = SetInput;
    type Output = SetOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "keyvault.secret.set",
            summary: "Add a secret version (value from a secret param, or generated); outputs its version, never the value",
            mutates: true,
            idempotent: false,
            default_timeout: Duration::from_secs(60),
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, i: &SetInput) -> Result<Plan, ActionError> {
        value_of(i)?;
        let kv = client(ctx, &i.vault)?;
        let before = kv.latest_properties(&i.name).await?;
        Ok(Plan {
            calls: vec![
                PlannedCall::new("PUT", format!("{}?{API}", kv.secret_url(&i.name, None)))
                    .with_body(
                        json!({"value": "***", "contentType": i.content_type, "tags": i.tags}),
                    ),
            ],
            changes: vec![Change {
                resource: kv.secret_url(&i.name, None),
                field: "latest version".into(),
                before: json!(before.and_then(|p| p.version)),
                after: json!(KNOWN_AFTER_APPLY),
            }],
            outputs: Some(json!({"version": KNOWN_AFTER_APPLY, "id": KNOWN_AFTER_APPLY})),
            notes: vec!["the value is not shown".into()],
        })
    }

    async fn run(&self, ctx: &ActionContext<'_>, i: &SetInput) -> Result<SetOutput, ActionError> {
        let value = value_of(i)?;
        let kv = client(ctx, &i.vault)?;
        let p = kv
            .set(
                &i.name,
                &value,
                &NewSecret {
                    content_type: i.content_type.clone(),
                    tags: i.tags.clone(),
                    expires: i.expires,
                    ..Default::default()
                },
            )
            .await?;
        match (p.version, p.id) {
            (Some(version), Some(id)) => Ok(SetOutput { version, id }),
            _ => Err(ActionError::Azure(
                "Key Vault answered without a version".into(),
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRef {
    pub vault: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnabledOutput {
    pub version: String,
    pub enabled: bool,
    /// False when it already was.
    pub changed: bool,
}

/// `keyvault.secret.disable` / `keyvault.secret.enable`.
pub struct Enabled {
    enable: bool,
}

impl Enabled {
    async fn current(
        &self,
        kv: &KeyVaultClient,
        i: &VersionRef,
    ) -> Result<Option<bool>, ActionError> {
        let versions = kv.list_versions(&i.name).await?;
        Ok(versions
            .iter()
            .find(|p| p.version.as_deref() == Some(i.version.as_str()))
            .map(|p| p.enabled != Some(false)))
    }
}

#[async_trait]
impl Action for Enabled {
    type Input = VersionRef;
    type Output = EnabledOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: if self.enable {
                "keyvault.secret.enable"
            } else {
                "keyvault.secret.disable"
            },
            summary: if self.enable {
                "Enable a secret version"
            } else {
                "Disable a secret version (undoes keyvault.secret.set)"
            },
            mutates: true,
            idempotent: true,
            default_timeout: Duration::from_secs(60),
        }
    }

    async fn check(&self, ctx: &ActionContext<'_>, i: &VersionRef) -> Result<Check, ActionError> {
        let kv = client(ctx, &i.vault)?;
        Ok(match self.current(&kv, i).await? {
            Some(e) if e == self.enable => Check::Applied,
            Some(_) => Check::NotApplied,
            None => Check::Unknown,
        })
    }

    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        i: &VersionRef,
    ) -> Result<Option<EnabledOutput>, ActionError> {
        Ok(match self.check(ctx, i).await? {
            Check::Applied => Some(EnabledOutput {
                version: i.version.clone(),
                enabled: self.enable,
                changed: false,
            }),
            _ => None,
        })
    }

    async fn plan(&self, ctx: &ActionContext<'_>, i: &VersionRef) -> Result<Plan, ActionError> {
        let kv = client(ctx, &i.vault)?;
        let before = self.current(&kv, i).await?.ok_or_else(|| {
            ActionError::Precondition(format!("no version {} of {}", i.version, i.name))
        })?;
        let url = kv.secret_url(&i.name, Some(&i.version));
        let mut plan = Plan::default();
        if before != self.enable {
            plan.calls.push(
                PlannedCall::new("PATCH", format!("{url}?{API}"))
                    .with_body(json!({"attributes": {"enabled": self.enable}})),
            );
            plan.changes.push(Change {
                resource: url,
                field: "attributes.enabled".into(),
                before: json!(before),
                after: json!(self.enable),
            });
        } else {
            plan.notes.push("already in place: nothing to send".into());
        }
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        i: &VersionRef,
    ) -> Result<EnabledOutput, ActionError> {
        let kv = client(ctx, &i.vault)?;
        let before = self.current(&kv, i).await?.ok_or_else(|| {
            ActionError::Precondition(format!("no version {} of {}", i.version, i.name))
        })?;
        if before == self.enable {
            return Ok(EnabledOutput {
                version: i.version.clone(),
                enabled: self.enable,
                changed: false,
            });
        }
        kv.update(
            &i.name,
            Some(&i.version),
            &SecretUpdate {
                enabled: Some(self.enable),
                ..Default::default()
            },
        )
        .await?;
        Ok(EnabledOutput {
            version: i.version.clone(),
            enabled: self.enable,
            changed: true,
        })
    }
}
