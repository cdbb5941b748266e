//! Container Apps: models (every level keeps the fields we do not model, so a read-modify-write
//! never drops one) and operations — get, list, revisions, activate, deactivate, restart, traffic,
//! patch (a long-running operation), listSecrets.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::http::{ArmRequest, ClientError, Pipeline};
use super::lro::{self, LroError, LroOptions, Progress};
use super::paging;
use super::resources::{api_version, Extra, ResourceId};
use crate::model::SecretString;

pub const TYPE: &str = "Microsoft.App/containerApps";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerApp {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: AppProperties,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AppProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ready_revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_revisions_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Vec<TrafficWeight>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TrafficWeight {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub properties: RevisionProperties,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RevisionProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContainerApp {
    pub fn revision_mode(&self) -> &str {
        match self
            .properties
            .configuration
            .as_ref()
            .and_then(|c| c.active_revisions_mode.as_deref())
        {
            Some(m) if m.eq_ignore_ascii_case("multiple") => "Multiple",
            _ => "Single",
        }
    }
}

impl Revision {
    /// The first container's image.
    pub fn image(&self) -> Option<&str> {
        self.properties
            .template
            .as_ref()?
            .pointer("/containers/0/image")?
            .as_str()
    }

    pub fn is_active(&self) -> bool {
        self.properties.active == Some(true)
    }

    pub fn is_healthy(&self) -> bool {
        self.properties.health_state.as_deref() == Some("Healthy")
    }
}

/// A secret of an app as `listSecrets` returns it: a value, or a Key Vault reference.
#[derive(Debug, Clone)]
pub struct AppSecret {
    pub name: String,
    pub value: Option<SecretString>,
    pub key_vault_url: Option<String>,
    pub identity: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    // Boxed: a `Result` stays small on the happy path.
    #[error(transparent)]
    Client(Box<ClientError>),
    #[error(transparent)]
    Lro(Box<LroError>),
    #[error("{id} is not a container app")]
    NotAnApp { id: String },
    #[error("{name:?} is not a revision name (letters, digits and '-')")]
    BadRevisionName { name: String },
    #[error("unexpected {what} from Azure: {message}")]
    Decode { what: &'static str, message: String },
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        AppError::Client(Box::new(e))
    }
}

impl From<LroError> for AppError {
    fn from(e: LroError) -> Self {
        AppError::Lro(Box::new(e))
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &'static str, v: Value) -> Result<T, AppError> {
    serde_json::from_value(v).map_err(|e| AppError::Decode {
        what,
        message: e.to_string(),
    })
}

fn app_id(id: &str) -> Result<ResourceId, AppError> {
    let parsed = ResourceId::parse(id).map_err(|_| AppError::NotAnApp { id: id.to_string() })?;
    if !parsed.resource_type.eq_ignore_ascii_case(TYPE) {
        return Err(AppError::NotAnApp { id: id.to_string() });
    }
    Ok(parsed)
}

fn path(id: &ResourceId, suffix: &str) -> String {
    format!(
        "{}{suffix}?api-version={}",
        id.id.trim_start_matches('/'),
        api_version(TYPE)
    )
}

/// A revision name as one path segment: anything else could change which URL is called.
fn revision_segment(name: &str) -> Result<&str, AppError> {
    let ok = !name.is_empty()
        && name.len() <= 260
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(name)
    } else {
        Err(AppError::BadRevisionName {
            name: name.chars().filter(|c| !c.is_control()).take(80).collect(),
        })
    }
}

/// The URL (relative to ARM, with the api-version) of an app, or of something under it such as
/// `/revisions/{name}/activate`: what the operations below send, so plans can show it exactly.
pub fn app_url(id: &str, suffix: &str) -> Result<String, AppError> {
    Ok(path(&app_id(id)?, suffix))
}

/// The URL of a revision of an app, or of an action on it (`action` e.g. `"activate"`).
pub fn revision_url(id: &str, revision: &str, action: Option<&str>) -> Result<String, AppError> {
    let revision = revision_segment(revision)?;
    let suffix = match action {
        Some(a) => format!("/revisions/{revision}/{a}"),
        None => format!("/revisions/{revision}"),
    };
    app_url(id, &suffix)
}

pub struct ContainerApps<'a> {
    pipeline: &'a Pipeline,
}

impl<'a> ContainerApps<'a> {
    pub fn new(pipeline: &'a Pipeline) -> Self {
        Self { pipeline }
    }

    pub async fn get(&self, id: &str) -> Result<ContainerApp, AppError> {
        let id = app_id(id)?;
        decode(
            "container app",
            self.pipeline.get_json(&path(&id, "")).await?,
        )
    }

    /// The app and its ETag, when the service sends one (for `If-Match` on a later change).
    pub async fn get_with_etag(
        &self,
        id: &str,
    ) -> Result<(ContainerApp, Option<String>), AppError> {
        let id = app_id(id)?;
        let resp = self.pipeline.send(ArmRequest::get(path(&id, ""))).await?;
        let etag = resp.header("etag").map(str::to_string);
        Ok((decode("container app", resp.json()?)?, etag))
    }

    /// Apps of a subscription, or of one resource group.
    pub async fn list(
        &self,
        subscription: &str,
        resource_group: Option<&str>,
    ) -> Result<Vec<ContainerApp>, AppError> {
        let scope = match resource_group {
            Some(rg) => {
                format!("subscriptions/{subscription}/resourceGroups/{rg}/providers/{TYPE}")
            }
            None => format!("subscriptions/{subscription}/providers/{TYPE}"),
        };
        let rows = paging::collect(
            self.pipeline,
            &format!("{scope}?api-version={}", api_version(TYPE)),
        )
        .await?;
        rows.into_iter()
            .map(|r| decode("container app", r))
            .collect()
    }

    /// Every revision of an app, oldest first.
    pub async fn revisions(&self, id: &str) -> Result<Vec<Revision>, AppError> {
        let id = app_id(id)?;
        let rows = paging::collect(self.pipeline, &path(&id, "/revisions")).await?;
        let mut revisions: Vec<Revision> = rows
            .into_iter()
            .map(|r| decode("revision", r))
            .collect::<Result<_, _>>()?;
        revisions.sort_by(|a, b| {
            a.properties
                .created_time
                .cmp(&b.properties.created_time)
                .then(a.name.cmp(&b.name))
        });
        Ok(revisions)
    }

    pub async fn revision(&self, id: &str, revision: &str) -> Result<Revision, AppError> {
        decode(
            "revision",
            self.pipeline
                .get_json(&revision_url(id, revision, None)?)
                .await?,
        )
    }

    async fn revision_action(
        &self,
        id: &str,
        revision: &str,
        action: &str,
    ) -> Result<(), AppError> {
        self.pipeline
            .send(ArmRequest::new(
                http::Method::POST,
                revision_url(id, revision, Some(action))?,
            ))
            .await?;
        Ok(())
    }

    pub async fn activate(&self, id: &str, revision: &str) -> Result<(), AppError> {
        self.revision_action(id, revision, "activate").await
    }

    pub async fn deactivate(&self, id: &str, revision: &str) -> Result<(), AppError> {
        self.revision_action(id, revision, "deactivate").await
    }

    pub async fn restart(&self, id: &str, revision: &str) -> Result<(), AppError> {
        self.revision_action(id, revision, "restart").await
    }

    /// PATCHes the app (JSON merge semantics) and waits for the operation.
    pub async fn patch(
        &self,
        id: &str,
        patch: Value,
        options: &LroOptions,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<ContainerApp, AppError> {
        self.patch_if_match(id, patch, None, options, progress)
            .await
    }

    /// As [`Self::patch`], refused by Azure (412) if the app's ETag is no longer `if_match`: a
    /// change computed from what was read does not overwrite a change made since.
    pub async fn patch_if_match(
        &self,
        id: &str,
        patch: Value,
        if_match: Option<&str>,
        options: &LroOptions,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<ContainerApp, AppError> {
        let rid = app_id(id)?;
        let mut request = ArmRequest::new(http::Method::PATCH, path(&rid, "")).with_body(patch);
        if let Some(etag) = if_match {
            request = request.with_if_match(etag);
        }
        let done = lro::send_and_wait(self.pipeline, request, options, progress).await?;
        match done {
            Some(v) => decode("container app", v),
            None => self.get(id).await,
        }
    }

    /// Sets the traffic split (Multiple revision mode) and waits for it to apply.
    pub async fn set_traffic(
        &self,
        id: &str,
        weights: &[TrafficWeight],
        options: &LroOptions,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<ContainerApp, AppError> {
        let traffic = serde_json::to_value(weights).map_err(|e| AppError::Decode {
            what: "traffic",
            message: e.to_string(),
        })?;
        self.patch(
            id,
            json!({"properties": {"configuration": {"ingress": {"traffic": traffic}}}}),
            options,
            progress,
        )
        .await
    }

    pub async fn list_secrets(&self, id: &str) -> Result<Vec<AppSecret>, AppError> {
        let rid = app_id(id)?;
        let resp = self
            .pipeline
            .send(ArmRequest::new(
                http::Method::POST,
                path(&rid, "/listSecrets"),
            ))
            .await?;
        let body = resp.json()?;
        let items = body
            .get("value")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(items
            .iter()
            .map(|s| AppSecret {
                name: s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                value: s
                    .get("value")
                    .and_then(Value::as_str)
                    .map(SecretString::new),
                key_vault_url: s
                    .get("keyVaultUrl")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                identity: s
                    .get("identity")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = json!({
            "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a",
            "name": "a", "location": "eastus", "identity": {"type": "SystemAssigned"},
            "properties": {"provisioningState": "Succeeded", "futureField": [1, 2],
                "configuration": {"activeRevisionsMode": "Multiple", "dapr": {"enabled": true},
                    "ingress": {"fqdn": "a.x", "targetPort": 80, "traffic": [{"revisionName": "a--1", "weight": 100, "newKnob": "k"}]}}}
        });
        let app: ContainerApp = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(app.revision_mode(), "Multiple");
        assert_eq!(serde_json::to_value(&app).unwrap(), json);
    }

    #[test]
    fn app_ids_are_checked() {
        assert!(app_id(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a"
        )
        .is_ok());
        assert!(matches!(
            app_id("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/a"),
            Err(AppError::NotAnApp { .. })
        ));
        assert!(app_id("dagster").is_err());
    }

    #[test]
    fn revision_names_stay_one_path_segment() {
        let app = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a";
        assert_eq!(
            revision_url(app, "a--v2", Some("activate")).unwrap(),
            "subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a/revisions/a--v2/activate?api-version=2025-07-01"
        );
        for bad in ["", "../x", "a/b", "a?b", "a%2f", "a b"] {
            assert!(
                matches!(
                    revision_url(app, bad, None),
                    Err(AppError::BadRevisionName { .. })
                ),
                "{bad}"
            );
        }
    }
}
