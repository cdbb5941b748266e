//! Worlds: YAML descriptions of a simulated cloud (tenant, principals, subscriptions, resource
//! groups, resources with their history) loaded into `State`. The default world is the platform our
//! users' documents describe; `large` is generated for scale tests.
//!
//! String values may use placeholders: `${subscriptionId}`, `${subscription}` (its id path),
//! `${resourceGroup}` (the resource group's id path), `${resourceGroupName}`, `${location}` and
//! `${domain}` (the simulator's DNS domain).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::faults::FaultRule;
use super::keyvault::store::{new_version_id, DeletedSecret, SecretVersion, VaultSecrets};
use super::providers::containerapps::{AppState, Health, Provisioning, Revision};
use super::providers::{canonical_type, names, type_info};
use super::state::{
    rg_key, sub_key, FederatedCredential, Principal, Resource, ResourceGroup, Settings, State,
    Subscription, Tenant,
};

pub const DEFAULT_WORLD: &str = include_str!("worlds/default.yaml");

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("cannot read world file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("world {name} is not valid YAML for a world: {source}")]
    Parse {
        name: String,
        source: serde_yaml::Error,
    },
    #[error("world {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("unknown world {0:?}: use 'default', 'large', 'large:SUBSxRESOURCES', 'empty' or a path to a YAML file")]
    Unknown(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorldFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub tenant: Option<TenantSpec>,
    #[serde(default)]
    pub principals: Vec<PrincipalSpec>,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Image patterns (`*` wildcards) whose revisions come up unhealthy.
    #[serde(default)]
    pub unhealthy_images: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    pub id: String,
    pub domain: String,
    #[serde(default)]
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrincipalSpec {
    pub client_id: String,
    pub object_id: String,
    pub display_name: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub federated: Vec<FederatedSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedSpec {
    pub issuer: String,
    pub subject: String,
    #[serde(default = "default_audience")]
    pub audience: String,
}

fn default_audience() -> String {
    "api://AzureADTokenExchange".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroupSpec {
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// `Namespace/type` for top-level resources; for `children`, the child type segment.
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub sku: Option<Value>,
    #[serde(default)]
    pub identity: Option<Value>,
    #[serde(default)]
    pub properties: Option<Value>,
    /// Container apps: their revision history, oldest first.
    #[serde(default)]
    pub revisions: Vec<RevisionSpec>,
    #[serde(default)]
    pub children: Vec<ResourceSpec>,
    /// Key vaults: their secrets. Entries with the same name are its versions, oldest first.
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
    /// How long ago it was created, e.g. `90d`, `6h`, `30m`.
    #[serde(default)]
    pub created_ago: Option<String>,
}

/// One version of a key vault secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSpec {
    pub name: String,
    pub value: String,
    /// 32 hex digits; a fresh one when absent.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// How long ago this version was set, e.g. `90d` (default 30 days).
    #[serde(default)]
    pub created_ago: Option<String>,
    /// Expires this long from now, e.g. `5d`.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// The whole secret is soft-deleted at load time (set on any of its entries).
    #[serde(default)]
    pub deleted: bool,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevisionSpec {
    pub suffix: String,
    /// The full revision name when it is not `{app}--{suffix}` (the specs' examples name revisions
    /// `{app}-{suffix}`, and one names a revision after another app).
    #[serde(default)]
    pub name: Option<String>,
    /// The image of the first container (the rest of the template is the app's).
    #[serde(default)]
    pub image: Option<String>,
    /// A whole template, replacing the app's.
    #[serde(default)]
    pub template: Option<Value>,
    #[serde(default)]
    pub created_ago: Option<String>,
    #[serde(default = "healthy")]
    pub health: HealthSpec,
    /// Whether it is active; by default the latest (Single mode) or those with traffic (Multiple).
    #[serde(default)]
    pub active: Option<bool>,
}

fn healthy() -> HealthSpec {
    HealthSpec::Healthy
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub enum HealthSpec {
    Healthy,
    Unhealthy,
}

/// Parses `90d`, `6h`, `30m`, `45s`.
pub fn parse_ago(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    match unit {
        "d" => Some(Duration::days(n)),
        "h" => Some(Duration::hours(n)),
        "m" => Some(Duration::minutes(n)),
        "s" => Some(Duration::seconds(n)),
        _ => None,
    }
}

/// Resolves `--world`: a built-in name or a file path.
pub fn resolve(spec: &str, domain: &str) -> Result<WorldFile, WorldError> {
    match spec {
        "default" | "seeds" => parse("default", DEFAULT_WORLD),
        "empty" => Ok(WorldFile {
            name: "empty".into(),
            ..parse("default", DEFAULT_WORLD)?.without_resources()
        }),
        s if s == "large" || s.starts_with("large:") => {
            let (subs, per_sub) = match s.strip_prefix("large:") {
                None => (20, 1000),
                Some(dim) => {
                    let (a, b) = dim
                        .split_once('x')
                        .ok_or_else(|| WorldError::Unknown(s.to_string()))?;
                    let a: usize = a.parse().map_err(|_| WorldError::Unknown(s.to_string()))?;
                    let b: usize = b.parse().map_err(|_| WorldError::Unknown(s.to_string()))?;
                    (a.clamp(1, 200), b.clamp(1, 20_000))
                }
            };
            Ok(generate_large(subs, per_sub, domain))
        }
        path => {
            let p = Path::new(path);
            if !p.exists() {
                return Err(WorldError::Unknown(path.to_string()));
            }
            let text = std::fs::read_to_string(p).map_err(|source| WorldError::Read {
                path: path.to_string(),
                source,
            })?;
            parse(path, &text)
        }
    }
}

pub fn parse(name: &str, text: &str) -> Result<WorldFile, WorldError> {
    serde_yaml::from_str(text).map_err(|source| WorldError::Parse {
        name: name.to_string(),
        source,
    })
}

impl WorldFile {
    fn without_resources(self) -> WorldFile {
        WorldFile {
            subscriptions: self
                .subscriptions
                .into_iter()
                .map(|s| SubscriptionSpec {
                    resource_groups: vec![],
                    ..s
                })
                .collect(),
            faults: vec![],
            ..self
        }
    }

    /// Every managed environment's default domain, for the certificate's wildcard names.
    pub fn environment_domains(&self, domain: &str) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.subscriptions {
            for g in &s.resource_groups {
                for r in &g.resources {
                    if r.resource_type
                        .eq_ignore_ascii_case("Microsoft.App/managedEnvironments")
                    {
                        let loc = r.location.clone().unwrap_or_else(|| g.location.clone());
                        out.push(environment_domain(&r.name, &loc, domain));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

pub fn environment_domain(env: &str, location: &str, domain: &str) -> String {
    format!(
        "{}.{}.apps.{domain}",
        env,
        location.to_ascii_lowercase().replace(' ', "")
    )
}

fn substitute(value: &mut Value, vars: &[(&str, &str)]) {
    match value {
        Value::String(s) if s.contains("${") => {
            for (k, v) in vars {
                *s = s.replace(&format!("${{{k}}}"), v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| substitute(v, vars)),
        Value::Object(o) => o.values_mut().for_each(|v| substitute(v, vars)),
        _ => {}
    }
}

fn invalid(world: &str, message: String) -> WorldError {
    WorldError::Invalid {
        name: world.to_string(),
        message,
    }
}

/// Loads `world` into `state` (adding to what is there: the admin endpoint merges fragments).
pub fn load_into(state: &mut State, world: &WorldFile, domain: &str) -> Result<(), WorldError> {
    let now = Utc::now() + state.clock_offset;
    if let Some(t) = &world.tenant {
        state.tenant = Some(Tenant {
            id: t.id.clone(),
            domain: t.domain.clone(),
            display_name: if t.display_name.is_empty() {
                t.domain.clone()
            } else {
                t.display_name.clone()
            },
        });
    }
    for p in &world.principals {
        state
            .principals
            .retain(|x| !x.client_id.eq_ignore_ascii_case(&p.client_id));
        state.principals.push(Principal {
            client_id: p.client_id.clone(),
            object_id: p.object_id.clone(),
            display_name: p.display_name.clone(),
            secret: p.secret.clone(),
            federated: p
                .federated
                .iter()
                .map(|f| FederatedCredential {
                    issuer: f.issuer.clone(),
                    subject: f.subject.clone(),
                    audience: f.audience.clone(),
                })
                .collect(),
        });
    }
    if let Some(s) = &world.settings {
        state.settings = s.clone();
    }
    for pattern in &world.unhealthy_images {
        if !state.unhealthy_images.contains(pattern) {
            state.unhealthy_images.push(pattern.clone());
        }
    }
    for sub in &world.subscriptions {
        state.subscriptions.insert(
            sub_key(&sub.id),
            Subscription {
                id: sub.id.clone(),
                display_name: sub.name.clone(),
                state: "Enabled".into(),
            },
        );
        for g in &sub.resource_groups {
            if let Err(e) = names::check(
                names::NameRule::ResourceGroup,
                &g.name,
                "Microsoft.Resources/resourceGroups",
            ) {
                return Err(invalid(
                    &world.name,
                    format!("resource group {:?}: {:?}", g.name, e.body),
                ));
            }
            state.resource_groups.insert(
                rg_key(&sub.id, &g.name),
                ResourceGroup {
                    subscription_id: sub.id.clone(),
                    name: g.name.clone(),
                    location: g.location.to_ascii_lowercase().replace(' ', ""),
                    tags: g.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
                    managed_by: None,
                    provisioning_state: "Succeeded".into(),
                },
            );
            let rg_id = format!("/subscriptions/{}/resourceGroups/{}", sub.id, g.name);
            let sub_path = format!("/subscriptions/{}", sub.id);
            for spec in &g.resources {
                let vars = Vars {
                    subscription_id: &sub.id,
                    subscription: &sub_path,
                    resource_group: &rg_id,
                    resource_group_name: &g.name,
                    location: &g.location,
                    domain,
                };
                load_resource(state, &world.name, spec, &rg_id, None, &vars, now)?;
            }
        }
    }
    Ok(())
}

struct Vars<'a> {
    subscription_id: &'a str,
    subscription: &'a str,
    resource_group: &'a str,
    resource_group_name: &'a str,
    location: &'a str,
    domain: &'a str,
}

fn load_resource(
    state: &mut State,
    world: &str,
    spec: &ResourceSpec,
    rg_id: &str,
    parent: Option<(&str, &str)>,
    vars: &Vars,
    now: chrono::DateTime<Utc>,
) -> Result<(), WorldError> {
    let full_type = match parent {
        Some((_, parent_type)) => format!("{parent_type}/{}", spec.resource_type),
        None => spec.resource_type.clone(),
    };
    let canonical = canonical_type(&full_type).ok_or_else(|| {
        invalid(
            world,
            format!("resource {:?}: unknown type {full_type:?}", spec.name),
        )
    })?;
    if let Some(info) = type_info(canonical) {
        if let Err(e) = names::check(info.name_rule, &spec.name, canonical) {
            return Err(invalid(
                world,
                format!("resource {:?}: {:?}", spec.name, e.body),
            ));
        }
    }
    let id = match parent {
        Some((parent_id, _)) => format!(
            "{parent_id}/{}/{}",
            canonical.rsplit('/').next().unwrap_or_default(),
            spec.name
        ),
        None => format!("{rg_id}/providers/{canonical}/{}", spec.name),
    };
    let location = spec.location.clone().unwrap_or_else(|| {
        if parent.is_some() && !canonical.ends_with("afdEndpoints") {
            String::new()
        } else if canonical.starts_with("Microsoft.Cdn/profiles") {
            "Global".into()
        } else {
            vars.location.to_string()
        }
    });
    let loc_norm = location.to_ascii_lowercase().replace(' ', "");
    let subst: Vec<(&str, &str)> = vec![
        ("subscriptionId", vars.subscription_id),
        ("subscription", vars.subscription),
        ("resourceGroup", vars.resource_group),
        ("resourceGroupName", vars.resource_group_name),
        ("location", &loc_norm),
        ("domain", vars.domain),
    ];
    let mut properties = spec.properties.clone().unwrap_or_else(|| json!({}));
    if !properties.is_object() {
        return Err(invalid(
            world,
            format!("resource {:?}: properties must be a mapping", spec.name),
        ));
    }
    substitute(&mut properties, &subst);
    if let Some(p) = properties.as_object_mut() {
        p.entry("provisioningState").or_insert(json!("Succeeded"));
        if canonical == "Microsoft.App/managedEnvironments" {
            p.entry("defaultDomain").or_insert(json!(environment_domain(
                &spec.name,
                &location,
                vars.domain
            )));
            p.entry("staticIp").or_insert(json!("20.62.10.4"));
        }
    }
    let mut body = Map::new();
    body.insert("id".into(), json!(id));
    body.insert("name".into(), json!(spec.name));
    body.insert("type".into(), json!(canonical));
    if !location.is_empty() {
        body.insert("location".into(), json!(location));
    }
    if !spec.tags.is_empty() {
        body.insert("tags".into(), json!(spec.tags));
    }
    if let Some(k) = &spec.kind {
        body.insert("kind".into(), json!(k));
    }
    if let Some(s) = &spec.sku {
        body.insert("sku".into(), s.clone());
    }
    if let Some(i) = &spec.identity {
        let mut i = i.clone();
        substitute(&mut i, &subst);
        body.insert("identity".into(), i);
    }
    body.insert("properties".into(), properties);
    let created = spec
        .created_ago
        .as_deref()
        .and_then(parse_ago)
        .map(|d| now - d)
        .unwrap_or(now - Duration::days(30));
    let mut resource = Resource {
        id: id.clone(),
        resource_type: canonical.to_string(),
        subscription_id: vars.subscription_id.to_string(),
        resource_group: vars.resource_group_name.to_string(),
        body: Value::Object(body),
        etag: Resource::new_etag(),
        created_at: created,
        changed_at: created,
        busy_with: None,
        app: None,
    };
    if canonical == "Microsoft.App/containerApps" {
        resource.app = Some(build_app(world, spec, &mut resource.body, &subst, now)?);
    }
    if !spec.secrets.is_empty() {
        if canonical != "Microsoft.KeyVault/vaults" {
            return Err(invalid(
                world,
                format!("resource {:?}: only key vaults hold secrets", spec.name),
            ));
        }
        let store = seed_secrets(world, &spec.secrets, &subst, now)?;
        state
            .vault_secrets
            .insert(spec.name.to_ascii_lowercase(), store);
    }
    state.insert_resource(resource);
    for child in &spec.children {
        load_resource(
            state,
            world,
            child,
            rg_id,
            Some((&id, canonical)),
            vars,
            now,
        )?;
    }
    Ok(())
}

/// A vault's secrets from its `secrets` entries (placeholders filled in values).
fn seed_secrets(
    world: &str,
    specs: &[SecretSpec],
    subst: &[(&str, &str)],
    now: chrono::DateTime<Utc>,
) -> Result<VaultSecrets, WorldError> {
    let mut store = VaultSecrets::default();
    let mut deleted = Vec::new();
    for s in specs {
        let bad = |what: &str| invalid(world, format!("secret {:?}: {what}", s.name));
        if s.name.is_empty()
            || s.name.len() > 127
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad("names are 1-127 letters, digits and hyphens"));
        }
        let version = match &s.version {
            Some(v) if v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit()) => {
                v.to_ascii_lowercase()
            }
            Some(_) => return Err(bad("a version is 32 hex digits")),
            None => new_version_id(),
        };
        let ago = |text: &Option<String>, what: &str| match text {
            None => Ok(None),
            Some(t) => parse_ago(t)
                .map(Some)
                .ok_or_else(|| bad(&format!("{what} {t:?} is not like 90d, 6h or 30m"))),
        };
        let created =
            (now - ago(&s.created_ago, "createdAgo")?.unwrap_or(Duration::days(30))).timestamp();
        let exp = ago(&s.expires_in, "expiresIn")?.map(|d| (now + d).timestamp());
        let mut value = Value::String(s.value.clone());
        substitute(&mut value, subst);
        store.add_version(
            &s.name,
            SecretVersion {
                version,
                value: value.as_str().unwrap_or_default().to_string(),
                content_type: s.content_type.clone(),
                tags: s.tags.clone(),
                enabled: s.enabled,
                nbf: None,
                exp,
                created,
                updated: created,
            },
        );
        if s.deleted {
            deleted.push(s.name.to_ascii_lowercase());
        }
    }
    for key in deleted {
        if let Some(secret) = store.live.remove(&key) {
            store.deleted.insert(
                key,
                DeletedSecret {
                    secret,
                    deleted_date: now.timestamp(),
                    scheduled_purge_date: (now + Duration::days(90)).timestamp(),
                },
            );
        }
    }
    Ok(store)
}

fn build_app(
    world: &str,
    spec: &ResourceSpec,
    body: &mut Value,
    subst: &[(&str, &str)],
    now: chrono::DateTime<Utc>,
) -> Result<AppState, WorldError> {
    let base_template = body
        .pointer("/properties/template")
        .cloned()
        .unwrap_or_else(|| json!({"containers": [{"name": spec.name, "image": "mcr.microsoft.com/k8se/quickstart:latest", "resources": {"cpu": 0.5, "memory": "1Gi"}}]}));
    let multiple = super::providers::containerapps::revision_mode(body) == "Multiple";
    let traffic_targets: Vec<String> = body
        .pointer("/properties/configuration/ingress/traffic")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter(|e| e.get("weight").and_then(Value::as_i64).unwrap_or(0) > 0)
                .filter_map(|e| {
                    e.get("revisionName")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let specs: Vec<RevisionSpec> = if spec.revisions.is_empty() {
        vec![RevisionSpec {
            suffix: "initial".into(),
            name: None,
            image: None,
            template: None,
            created_ago: spec.created_ago.clone(),
            health: HealthSpec::Healthy,
            active: None,
        }]
    } else {
        spec.revisions.clone()
    };
    let count = specs.len();
    let mut revisions = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| format!("{}--{}", spec.name, r.suffix));
        let mut template = r.template.clone().unwrap_or_else(|| base_template.clone());
        if let Some(image) = &r.image {
            match template.pointer_mut("/containers/0/image") {
                Some(slot) => *slot = json!(image),
                None => {
                    return Err(invalid(
                        world,
                        format!(
                            "app {:?}: its template has no container to set the image of",
                            spec.name
                        ),
                    ))
                }
            }
        }
        // After the image is set: a revision's own image may use placeholders too.
        substitute(&mut template, subst);
        if let Some(o) = template.as_object_mut() {
            o.insert("revisionSuffix".into(), json!(r.suffix));
        }
        let latest = i + 1 == count;
        let active = r.active.unwrap_or(if multiple {
            latest
                || traffic_targets
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(&name))
        } else {
            latest
        });
        let created = r
            .created_ago
            .as_deref()
            .and_then(parse_ago)
            .map(|d| now - d)
            .unwrap_or(now - Duration::days((count - i) as i64));
        revisions.push(Revision {
            name,
            created,
            last_active: if active {
                None
            } else {
                Some(created + Duration::hours(1))
            },
            template,
            active,
            health: if r.health == HealthSpec::Healthy {
                Health::Healthy
            } else {
                Health::Unhealthy
            },
            provisioning: Provisioning::Provisioned,
            // Long started: running from the first request.
            started: created,
            provisioning_error: None,
        });
    }
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        if let Some(latest) = revisions.last() {
            props.insert("template".into(), latest.template.clone());
        }
        let config = props.entry("configuration").or_insert_with(|| json!({}));
        if let Some(c) = config.as_object_mut() {
            c.entry("activeRevisionsMode").or_insert(json!("Single"));
        }
        if props.get("environmentId").is_none() {
            if let Some(e) = props.get("managedEnvironmentId").cloned() {
                props.insert("environmentId".into(), e);
            }
        }
        if props.get("managedEnvironmentId").is_none() {
            if let Some(e) = props.get("environmentId").cloned() {
                props.insert("managedEnvironmentId".into(), e);
            }
        }
    }
    Ok(AppState {
        revisions,
        stopped: false,
    })
}

/// A world of `subs` subscriptions with `per_sub` resources each, for scale tests.
pub fn generate_large(subs: usize, per_sub: usize, domain: &str) -> WorldFile {
    let base = parse("default", DEFAULT_WORLD).unwrap_or_default();
    let regions = ["eastus", "westus", "westeurope", "northeurope"];
    let mut subscriptions = Vec::with_capacity(subs);
    for s in 0..subs {
        let id = format!("{:08x}-1a2b-4c3d-8e9f-{:012x}", 0x5ca1e000 + s, s);
        let groups_n = 5.min(per_sub.max(1));
        let mut groups: Vec<ResourceGroupSpec> = (0..groups_n)
            .map(|g| ResourceGroupSpec {
                name: format!("rg-scale-{s:02}-{g:02}"),
                location: regions[g % regions.len()].to_string(),
                tags: BTreeMap::from([(
                    "env".to_string(),
                    if g % 2 == 0 { "prod" } else { "dev" }.to_string(),
                )]),
                resources: vec![ResourceSpec {
                    resource_type: "Microsoft.App/managedEnvironments".into(),
                    name: format!("cae-{s:02}-{g:02}"),
                    location: None,
                    tags: BTreeMap::new(),
                    kind: None,
                    sku: None,
                    identity: None,
                    properties: Some(json!({})),
                    revisions: vec![],
                    secrets: vec![],
                    children: vec![],
                    created_ago: None,
                }],
            })
            .collect();
        for i in groups_n..per_sub {
            let g = i % groups_n;
            let env_id = format!(
                "${{resourceGroup}}/providers/Microsoft.App/managedEnvironments/cae-{s:02}-{g:02}"
            );
            let (ty, name, props) = match i % 6 {
                0 | 1 => (
                    "Microsoft.App/containerApps",
                    format!("app-{s:02}-{i:05}"),
                    json!({"environmentId": env_id, "configuration": {"activeRevisionsMode": "Single", "ingress": {"external": true, "targetPort": 8080}}, "template": {"containers": [{"name": "app", "image": format!("acrscale.azurecr.{domain}/svc:{i}"), "resources": {"cpu": 0.25, "memory": "0.5Gi"}}], "scale": {"minReplicas": 1, "maxReplicas": 3}}}),
                ),
                2 => (
                    "Microsoft.Storage/storageAccounts",
                    format!("st{s:02}x{i:05}"),
                    json!({"primaryEndpoints": {"blob": format!("https://st{s:02}x{i:05}.blob.core.{domain}/")}}),
                ),
                3 => (
                    "Microsoft.KeyVault/vaults",
                    format!("kv-{s:02}-{i:05}"),
                    json!({"tenantId": base.tenant.as_ref().map(|t| t.id.clone()).unwrap_or_default(), "sku": {"family": "A", "name": "standard"}, "vaultUri": format!("https://kv-{s:02}-{i:05}.vault.{domain}/")}),
                ),
                4 => (
                    "Microsoft.OperationalInsights/workspaces",
                    format!("log-{s:02}-{i:05}"),
                    json!({"retentionInDays": 30}),
                ),
                _ => (
                    "Microsoft.DBforPostgreSQL/flexibleServers",
                    format!("psql-{s:02}-{i:05}"),
                    json!({"state": "Ready", "version": "16", "fullyQualifiedDomainName": format!("psql-{s:02}-{i:05}.postgres.{domain}")}),
                ),
            };
            groups[g].resources.push(ResourceSpec {
                resource_type: ty.into(),
                name,
                location: None,
                tags: BTreeMap::from([("app".to_string(), format!("svc-{}", i % 50))]),
                kind: None,
                sku: None,
                identity: None,
                properties: Some(props),
                revisions: vec![],
                secrets: vec![],
                children: vec![],
                created_ago: None,
            });
        }
        subscriptions.push(SubscriptionSpec {
            id,
            name: format!("scale-{s:02}"),
            resource_groups: groups,
        });
    }
    WorldFile {
        name: format!("large:{subs}x{per_sub}"),
        description: "Generated for scale tests.".into(),
        tenant: base.tenant,
        principals: base.principals,
        subscriptions,
        settings: base.settings,
        faults: vec![],
        unhealthy_images: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_loads_with_unhealthy_apps_in_both_modes() {
        let world = resolve("default", "azdeck.localhost").expect("default world parses");
        let mut state = State::default();
        load_into(&mut state, &world, "azdeck.localhost").expect("default world loads");
        let apps: Vec<&Resource> = state
            .resources
            .values()
            .filter(|r| r.app.is_some())
            .collect();
        let unhealthy_latest = |mode: &str| {
            apps.iter().any(|a| {
                let app = a.app.as_ref().unwrap();
                super::super::providers::containerapps::revision_mode(&a.body) == mode
                    && app.latest().is_some_and(|r| r.health == Health::Unhealthy)
                    && app.revisions.len() >= 2
                    && app.revisions[app.revisions.len() - 2].health == Health::Healthy
            })
        };
        // Placeholders are filled in revisions' own images too.
        for a in &apps {
            for r in &a.app.as_ref().unwrap().revisions {
                let template = r.template.to_string();
                assert!(!template.contains("${"), "{}: {template}", r.name);
            }
        }
        assert!(
            unhealthy_latest("Single"),
            "a Single-mode app with an unhealthy latest revision"
        );
        assert!(
            unhealthy_latest("Multiple"),
            "a Multiple-mode app with an unhealthy latest revision"
        );
        assert!(state.subscriptions.len() >= 2);
        for t in [
            "Microsoft.KeyVault/vaults",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            "Microsoft.Cdn/profiles",
            "Microsoft.Cdn/profiles/originGroups/origins",
            "Microsoft.Storage/storageAccounts",
            "Microsoft.ContainerRegistry/registries",
            "Microsoft.OperationalInsights/workspaces",
            "Microsoft.App/managedEnvironments",
        ] {
            assert!(
                state.resources.values().any(|r| r.resource_type == t),
                "{t} in the default world"
            );
        }
    }

    #[test]
    fn large_world_has_the_requested_size() {
        let world = resolve("large:3x50", "azdeck.localhost").unwrap();
        let mut state = State::default();
        load_into(&mut state, &world, "azdeck.localhost").unwrap();
        assert_eq!(state.subscriptions.len(), 3);
        assert_eq!(
            state
                .resources
                .values()
                .filter(|r| r.is_top_level())
                .count(),
            150
        );
    }

    #[test]
    fn bad_worlds_are_errors_not_panics() {
        assert!(parse("x", "name: [").is_err());
        assert!(parse("x", "name: x\nunknownField: 1").is_err());
        let w = parse("x", "name: x\nsubscriptions:\n- id: s\n  name: s\n  resourceGroups:\n  - name: rg\n    location: eastus\n    resources:\n    - type: Microsoft.Nope/things\n      name: a\n").unwrap();
        assert!(load_into(&mut State::default(), &w, "d").is_err());
        assert!(resolve("/nonexistent/world.yaml", "d").is_err());
        assert!(resolve("large:axb", "d").is_err());
        assert_eq!(parse_ago("3d"), Some(Duration::days(3)));
        assert_eq!(parse_ago("x"), None);
    }
}
