//! Resource ids, the api-version azdeck speaks per resource type, and generic reads: subscriptions,
//! resource groups, any resource by id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::http::{ClientError, Pipeline};
use super::paging;

/// The api-version azdeck uses for each resource type (the version of the specs it was built and
/// tested against).
pub fn api_version(resource_type: &str) -> &'static str {
    let t = resource_type.to_ascii_lowercase();
    let ns = t.split('/').next().unwrap_or_default();
    match ns {
        "microsoft.app" => "2025-07-01",
        "microsoft.keyvault" => "2025-05-01",
        "microsoft.dbforpostgresql" => "2025-08-01",
        "microsoft.cdn" => "2025-06-01",
        "microsoft.storage" => "2025-01-01",
        "microsoft.containerregistry" => "2023-07-01",
        "microsoft.operationalinsights" => "2022-10-01",
        "microsoft.resourcegraph" => "2024-04-01",
        _ => "2025-04-01",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub subscription: String,
    pub resource_group: Option<String>,
    /// `Namespace/type[/child…]`, empty for a subscription or resource group.
    pub resource_type: String,
    pub name: String,
    /// The id as given.
    pub id: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{id:?} is not an Azure resource id (expected /subscriptions/{{id}}/resourceGroups/{{group}}/providers/{{namespace}}/{{type}}/{{name}})")]
pub struct ResourceIdError {
    pub id: String,
}

impl ResourceId {
    pub fn parse(id: &str) -> Result<ResourceId, ResourceIdError> {
        let err = || ResourceIdError {
            id: id.chars().filter(|c| !c.is_control()).take(300).collect(),
        };
        let segs: Vec<&str> = id.trim_end_matches('/').split('/').collect();
        if segs.first() != Some(&"")
            || segs.get(1).map(|s| s.to_ascii_lowercase()) != Some("subscriptions".into())
        {
            return Err(err());
        }
        let subscription = segs
            .get(2)
            .filter(|s| !s.is_empty())
            .ok_or_else(err)?
            .to_string();
        let mut i = 3;
        let mut resource_group = None;
        if segs
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceGroups"))
        {
            resource_group = Some(
                segs.get(i + 1)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(err)?
                    .to_string(),
            );
            i += 2;
        }
        if i == segs.len() {
            let name = resource_group
                .clone()
                .unwrap_or_else(|| subscription.clone());
            return Ok(ResourceId {
                subscription,
                resource_group,
                resource_type: String::new(),
                name,
                id: id.to_string(),
            });
        }
        if !segs
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case("providers"))
        {
            return Err(err());
        }
        let namespace = segs.get(i + 1).filter(|s| !s.is_empty()).ok_or_else(err)?;
        let rest = &segs[i + 2..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) || rest.iter().any(|s| s.is_empty()) {
            return Err(err());
        }
        let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
        let name = rest[rest.len() - 1].to_string();
        Ok(ResourceId {
            subscription,
            resource_group,
            resource_type: format!("{namespace}/{}", types.join("/")),
            name,
            id: id.to_string(),
        })
    }

    /// The URL path (relative to ARM) with the type's api-version.
    pub fn url(&self) -> String {
        let version = if self.resource_type.is_empty() {
            "2025-04-01"
        } else {
            api_version(&self.resource_type)
        };
        format!("{}?api-version={version}", self.id.trim_start_matches('/'))
    }
}

/// A row of the inventory: what ARM's generic listing and Resource Graph both tell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItem {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub resource_group: String,
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// `properties.state` where the type has one (a PostgreSQL server: Ready, Stopped, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl InventoryItem {
    /// From a generic listing row or a Resource Graph row; `None` for rows without an id.
    pub fn from_row(row: &Value) -> Option<InventoryItem> {
        let id = row.get("id")?.as_str()?.to_string();
        let parsed = ResourceId::parse(&id).ok();
        let s = |k: &str| row.get(k).and_then(Value::as_str).map(str::to_string);
        let tags = row
            .get("tags")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        // Resource Graph lower-cases types; the id keeps the canonical casing.
        let resource_type = parsed
            .as_ref()
            .map(|p| p.resource_type.clone())
            .filter(|t| !t.is_empty())
            .or_else(|| s("type"))
            .unwrap_or_default();
        Some(InventoryItem {
            name: s("name")
                .unwrap_or_else(|| parsed.as_ref().map(|p| p.name.clone()).unwrap_or_default()),
            resource_type,
            location: s("location").unwrap_or_default(),
            resource_group: parsed
                .as_ref()
                .and_then(|p| p.resource_group.clone())
                .or_else(|| s("resourceGroup"))
                .unwrap_or_default(),
            subscription_id: parsed
                .as_ref()
                .map(|p| p.subscription.clone())
                .or_else(|| s("subscriptionId"))
                .unwrap_or_default(),
            tags,
            provisioning_state: s("provisioningState").or_else(|| {
                row.pointer("/properties/provisioningState")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            state: s("state").or_else(|| {
                row.pointer("/properties/state")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            id,
        })
    }
}

/// Any resource by id, as JSON (unknown fields and all).
pub async fn get(pipeline: &Pipeline, id: &ResourceId) -> Result<Value, ClientError> {
    pipeline.get_json(&id.url()).await
}

/// Top-level resources of a subscription (optionally one resource group) through ARM's generic
/// listing, with `$filter` on type.
pub async fn list(
    pipeline: &Pipeline,
    subscription: &str,
    resource_group: Option<&str>,
    resource_type: Option<&str>,
) -> Result<Vec<InventoryItem>, ClientError> {
    let scope = match resource_group {
        Some(rg) => format!("subscriptions/{subscription}/resourceGroups/{rg}/resources"),
        None => format!("subscriptions/{subscription}/resources"),
    };
    let mut url = url::Url::parse("https://x/").map_err(|_| ClientError::Url(scope.clone()))?;
    url.set_path(&scope);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", "2025-04-01");
        q.append_pair("$expand", "provisioningState");
        if let Some(t) = resource_type {
            q.append_pair(
                "$filter",
                &format!("resourceType eq '{}'", t.replace('\'', "''")),
            );
        }
    }
    let relative = format!("{}?{}", scope, url.query().unwrap_or_default());
    let rows = paging::collect(pipeline, &relative).await?;
    Ok(rows.iter().filter_map(InventoryItem::from_row).collect())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

fn decode_all<T: serde::de::DeserializeOwned>(
    rows: Vec<Value>,
    what: &str,
) -> Result<Vec<T>, ClientError> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r).map_err(|e| ClientError::Decode(format!("{what}: {e}"))))
        .collect()
}

/// The subscriptions the credential can see.
pub async fn subscriptions(pipeline: &Pipeline) -> Result<Vec<Subscription>, ClientError> {
    decode_all(
        paging::collect(pipeline, "subscriptions?api-version=2022-12-01").await?,
        "subscription",
    )
}

/// The resource groups of a subscription.
pub async fn resource_groups(
    pipeline: &Pipeline,
    subscription: &str,
) -> Result<Vec<ResourceGroup>, ClientError> {
    decode_all(
        paging::collect(
            pipeline,
            &format!("subscriptions/{subscription}/resourcegroups?api-version=2025-04-01"),
        )
        .await?,
        "resource group",
    )
}

/// Keeps what we do not model, for round trips.
pub type Extra = Map<String, Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_parse_and_refuse_garbage() {
        let id = ResourceId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/api/revisions/api--v2").unwrap();
        assert_eq!(id.resource_type, "Microsoft.App/containerApps/revisions");
        assert_eq!(
            (
                id.subscription.as_str(),
                id.resource_group.as_deref(),
                id.name.as_str()
            ),
            ("s", Some("rg"), "api--v2")
        );
        assert!(id.url().ends_with("?api-version=2025-07-01"));
        let rg = ResourceId::parse("/subscriptions/s/resourceGroups/rg").unwrap();
        assert_eq!((rg.resource_type.as_str(), rg.name.as_str()), ("", "rg"));
        for bad in [
            "",
            "subscriptions/s",
            "/subscriptions/",
            "/subscriptions/s/providers/Microsoft.App/containerApps",
            "/subscriptions/s/resourceGroups/rg/providers/X/t/n/extra",
            "/foo/bar",
            "/subscriptions/s/resourceGroups//providers/a/b/c",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn inventory_rows_come_from_listing_and_graph_alike() {
        let graph = serde_json::json!({"id": "/subscriptions/s/resourceGroups/RG/providers/Microsoft.App/containerApps/api", "name": "api", "type": "microsoft.app/containerapps", "location": "eastus", "resourceGroup": "rg", "subscriptionId": "s", "tags": {"env": "prod", "n": 1}, "properties": {"provisioningState": "Succeeded"}});
        let item = InventoryItem::from_row(&graph).unwrap();
        assert_eq!(item.resource_type, "Microsoft.App/containerApps");
        assert_eq!(item.resource_group, "RG");
        assert_eq!(item.tags.len(), 1);
        assert_eq!(item.provisioning_state.as_deref(), Some("Succeeded"));
        assert!(InventoryItem::from_row(&serde_json::json!({"name": "x"})).is_none());
    }
}
