//! The simulated cloud's state: tenant, principals, subscriptions, resource groups, resources and
//! long-running operations. Handlers take `&mut State` under one lock, so every request sees and
//! leaves a consistent world.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::providers::containerapps::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub domain: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Principal {
    pub client_id: String,
    pub object_id: String,
    pub display_name: String,
    pub secret: Option<String>,
    /// Federated identity credentials (workload identity): issuer + subject pairs.
    pub federated: Vec<FederatedCredential>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub subscription_id: String,
    pub name: String,
    pub location: String,
    pub tags: serde_json::Map<String, Value>,
    pub managed_by: Option<String>,
    pub provisioning_state: String,
}

impl ResourceGroup {
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription_id, self.name
        )
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": self.location,
            "properties": { "provisioningState": self.provisioning_state },
        });
        if !self.tags.is_empty() {
            v["tags"] = Value::Object(self.tags.clone());
        }
        if let Some(m) = &self.managed_by {
            v["managedBy"] = json!(m);
        }
        v
    }
}

/// One resource. `body` is its full ARM representation (id, name, type, location, tags,
/// properties, …) so properties we do not model survive every read-modify-write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    pub resource_type: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub body: Value,
    pub etag: String,
    pub created_at: DateTime<Utc>,
    pub changed_at: DateTime<Utc>,
    /// The long-running operation currently changing this resource: others get 409 meanwhile.
    pub busy_with: Option<String>,
    /// Container App behaviour (revisions), when this is a container app.
    pub app: Option<AppState>,
}

impl Resource {
    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or_default()
    }

    pub fn location(&self) -> &str {
        self.body
            .get("location")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Whether this is a top-level resource (`Namespace/type`) rather than a child.
    pub fn is_top_level(&self) -> bool {
        self.resource_type.matches('/').count() == 1
    }

    pub fn new_etag() -> String {
        format!("\"{}\"", uuid::Uuid::new_v4().simple())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpStatus {
    InProgress,
    Succeeded,
    Failed { code: String, message: String },
    Canceled,
}

impl OpStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OpStatus::InProgress => "InProgress",
            OpStatus::Succeeded => "Succeeded",
            OpStatus::Failed { .. } => "Failed",
            OpStatus::Canceled => "Canceled",
        }
    }
}

/// What an operation does to the world when its time is up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// A generic resource finishes provisioning (`provisioningState` becomes `Succeeded`).
    Provisioned,
    /// A container app PUT/PATCH finishes provisioning (and its new revision, if any).
    ContainerAppSettle {
        new_revision: Option<String>,
    },
    ContainerAppStart,
    ContainerAppStop,
    DeleteResource,
    DeleteResourceGroup,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub subscription_id: String,
    pub namespace: String,
    pub location: String,
    pub resource_id: String,
    pub started: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub effect: Effect,
    /// Set at creation when a fault rule says this operation must fail.
    pub planned_failure: Option<(String, String)>,
    pub status: OpStatus,
    pub ended: Option<DateTime<Utc>>,
}

/// Behaviour settings of a world; the admin endpoint can change them at run time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    /// Items per page of list operations (ARM lists and Resource Graph), `nextLink` beyond.
    pub page_size: usize,
    /// How long a long-running operation takes, in milliseconds.
    pub lro_ms: u64,
    /// `Retry-After` seconds sent with LRO responses (ARM sends ≥ 1; 0 makes the Python SDK wait 30 s).
    pub retry_after_secs: u64,
    /// Also send `retry-after-ms` (which azure-core honours first) for fast test runs.
    pub retry_after_ms: Option<u64>,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: i64,
    /// Multiplier of ARM's throttling buckets; 0 disables throttling.
    pub throttle_scale: f64,
    /// Time a restarted or activated revision spends in `Processing` before `Running`, in ms.
    pub revision_start_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            page_size: 100,
            lro_ms: 3000,
            retry_after_secs: 1,
            retry_after_ms: None,
            token_lifetime_secs: 3599,
            throttle_scale: 1.0,
            revision_start_ms: 5000,
        }
    }
}

impl Settings {
    /// Settings for automated tests: operations finish in a blink and clients are told so.
    pub fn fast() -> Self {
        Self {
            lro_ms: 200,
            retry_after_ms: Some(50),
            revision_start_ms: 200,
            ..Self::default()
        }
    }

    pub fn lro_duration(&self) -> Duration {
        Duration::milliseconds(self.lro_ms as i64)
    }

    pub fn revision_start(&self) -> Duration {
        Duration::milliseconds(self.revision_start_ms as i64)
    }
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub tenant: Option<Tenant>,
    pub principals: Vec<Principal>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub resource_groups: BTreeMap<String, ResourceGroup>,
    pub resources: BTreeMap<String, Resource>,
    pub operations: HashMap<String, Operation>,
    pub settings: Settings,
    /// Image name patterns (`*` wildcards) whose revisions come up unhealthy.
    pub unhealthy_images: Vec<String>,
    /// Added to the wall clock: drills and tests move time forward without sleeping.
    pub clock_offset: Duration,
    /// Resource Graph's per-user quota window: start and queries used.
    pub graph_quota: HashMap<String, (std::time::Instant, u64)>,
    /// Requests each app's ingress has routed by weight (by app id): the round robin's position.
    pub ingress_served: HashMap<String, u64>,
    /// Requests each Front Door origin group has routed by weight (by group id).
    pub afd_served: HashMap<String, u64>,
    /// Regions made to fail (`/_sim/regions/{region}/fail`), by normalized name: failed from this
    /// time on the simulator's clock.
    pub failed_regions: BTreeMap<String, DateTime<Utc>>,
    /// Bumped by every change, so derived results (Resource Graph pages) know when to recompute.
    pub generation: u64,
    /// The last Resource Graph result: (query and scope, generation, table). Pages of one query
    /// read one snapshot, as Resource Graph's skip tokens do.
    /// Ids of operations still in progress: what each request checks, however many ran before.
    pub pending_operations: Vec<String>,
    /// Key Vault data plane contents, by lower-case vault name.
    pub vault_secrets: BTreeMap<String, crate::sim::keyvault::store::VaultSecrets>,
    pub graph_cache: Option<(
        String,
        u64,
        std::sync::Arc<crate::sim::providers::kql::Table>,
    )>,
}

pub fn sub_key(subscription_id: &str) -> String {
    subscription_id.to_ascii_lowercase()
}

pub fn rg_key(subscription_id: &str, rg: &str) -> String {
    format!(
        "{}/{}",
        subscription_id.to_ascii_lowercase(),
        rg.to_ascii_lowercase()
    )
}

pub fn resource_key(id: &str) -> String {
    id.trim_end_matches('/').to_ascii_lowercase()
}

impl State {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// Whether `region` (any spelling: `East US`, `eastus`) is down now.
    pub fn region_failed(&self, region: &str) -> bool {
        let key = region.to_ascii_lowercase().replace(' ', "");
        self.failed_regions
            .get(&key)
            .is_some_and(|since| *since <= self.now())
    }

    pub fn tenant_id(&self) -> &str {
        self.tenant.as_ref().map(|t| t.id.as_str()).unwrap_or("")
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions.get(&sub_key(id))
    }

    pub fn resource_group(&self, sub: &str, rg: &str) -> Option<&ResourceGroup> {
        self.resource_groups.get(&rg_key(sub, rg))
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&resource_key(id))
    }

    pub fn resource_mut(&mut self, id: &str) -> Option<&mut Resource> {
        self.resources.get_mut(&resource_key(id))
    }

    pub fn insert_resource(&mut self, resource: Resource) {
        self.resources.insert(resource_key(&resource.id), resource);
    }

    pub fn remove_resource_tree(&mut self, id: &str) {
        let key = resource_key(id);
        let prefix = format!("{key}/");
        self.resources
            .retain(|k, _| k != &key && !k.starts_with(&prefix));
    }

    /// Resources whose id starts with `scope` (a subscription or resource group id), in id order.
    pub fn resources_under<'a>(&'a self, scope: &str) -> impl Iterator<Item = &'a Resource> + 'a {
        let prefix = format!("{}/", resource_key(scope));
        self.resources
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, r)| r)
    }

    pub fn principal_by_client_id(&self, client_id: &str) -> Option<&Principal> {
        self.principals
            .iter()
            .find(|p| p.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn image_is_unhealthy(&self, image: &str) -> bool {
        self.unhealthy_images.iter().any(|p| glob_match(p, image))
    }
}

/// `*` matches any run of characters; everything else literally, case-insensitively.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let text = text.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob_match("*:broken*", "acr.io/app:broken-42"));
        assert!(glob_match("acr.io/app:v1", "ACR.io/app:V1"));
        assert!(!glob_match("acr.io/app:v1", "acr.io/app:v12"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b*c", "a-c-b"));
    }

    #[test]
    fn resources_under_a_scope_are_a_prefix_range() {
        let mut state = State::default();
        for id in [
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.App/containerApps/a",
            "/subscriptions/s1/resourceGroups/rg2/providers/Microsoft.App/containerApps/b",
            "/subscriptions/s2/resourceGroups/rg/providers/Microsoft.App/containerApps/c",
        ] {
            state.insert_resource(Resource {
                id: id.into(),
                resource_type: "Microsoft.App/containerApps".into(),
                subscription_id: String::new(),
                resource_group: String::new(),
                body: json!({}),
                etag: Resource::new_etag(),
                created_at: Utc::now(),
                changed_at: Utc::now(),
                busy_with: None,
                app: None,
            });
        }
        assert_eq!(state.resources_under("/subscriptions/S1").count(), 2);
        assert_eq!(
            state
                .resources_under("/subscriptions/s1/resourceGroups/RG")
                .count(),
            1
        );
    }
}
