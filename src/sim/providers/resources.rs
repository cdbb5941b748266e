//! ARM's own resources: tenants, subscriptions, locations, provider registrations, resource groups,
//! the generic resource listing (`$filter`, `$top`, `$expand`) and the cloud metadata endpoint.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::names::{self, NameRule};
use crate::sim::arm::{apiversion, lro, paging, ArmCtx};
use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::{rg_key, Effect, ResourceGroup, State};
use crate::sim::Sim;

const SUBSCRIPTIONS: &str = "Microsoft.Resources/subscriptions";
const TENANTS: &str = "Microsoft.Resources/tenants";
const RESOURCES: &str = "Microsoft.Resources";

/// Regions the simulated cloud offers, with their Azure pairs (for geo-restore and DR drills).
pub const REGIONS: &[(&str, &str, &str, &str)] = &[
    ("eastus", "East US", "westus", "US"),
    ("westus", "West US", "eastus", "US"),
    ("eastus2", "East US 2", "centralus", "US"),
    ("centralus", "Central US", "eastus2", "US"),
    ("westus2", "West US 2", "westcentralus", "US"),
    ("westcentralus", "West Central US", "westus2", "US"),
    ("northeurope", "North Europe", "westeurope", "Europe"),
    ("westeurope", "West Europe", "northeurope", "Europe"),
    ("uksouth", "UK South", "ukwest", "UK"),
    ("ukwest", "UK West", "uksouth", "UK"),
];

pub fn paired_region(region: &str) -> Option<&'static str> {
    let r = region.to_ascii_lowercase().replace(' ', "");
    REGIONS.iter().find(|x| x.0 == r).map(|x| x.2)
}

fn check(req: &SimRequest, ty: &str) -> Result<(), SimResponse> {
    apiversion::check(req.api_version(), ty, "")
}

macro_rules! checked {
    ($req:expr, $ty:expr) => {
        if let Err(e) = check($req, $ty) {
            return e;
        }
    };
}

fn only_get(req: &SimRequest) -> Option<SimResponse> {
    (req.method != Method::GET).then(|| super::generic::method_not_allowed(req.method.as_str()))
}

pub fn tenants(state: &State, ctx: &ArmCtx) -> SimResponse {
    checked!(ctx.req, TENANTS);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    let value: Vec<Value> = state
        .tenant
        .iter()
        .map(|t| {
            json!({
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id,
                "tenantCategory": "Home",
                "country": "United States",
                "countryCode": "US",
                "displayName": t.display_name,
                "domains": [t.domain],
                "defaultDomain": t.domain,
                "tenantType": "AAD",
            })
        })
        .collect();
    SimResponse::ok(json!({ "value": value }))
}

fn subscription_json(state: &State, s: &crate::sim::state::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": state.tenant_id(),
        "displayName": s.display_name,
        "state": s.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

pub fn list_subscriptions(state: &State, ctx: &ArmCtx) -> SimResponse {
    checked!(ctx.req, SUBSCRIPTIONS);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    let items: Vec<Value> = state
        .subscriptions
        .values()
        .map(|s| subscription_json(state, s))
        .collect();
    let total = items.len();
    let mut resp = paging::page(ctx.req, items, state.settings.page_size);
    if let crate::sim::http::Body::Json(body) = &mut resp.body {
        if body.get("value").is_some() {
            body["count"] = json!({ "type": "Total", "value": total });
        }
    }
    resp
}

pub fn get_subscription(state: &State, ctx: &ArmCtx, sub: &str) -> SimResponse {
    checked!(ctx.req, SUBSCRIPTIONS);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    match state.subscription(sub) {
        Some(s) => SimResponse::ok(subscription_json(state, s)),
        None => SimResponse::arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        ),
    }
}

pub fn locations(state: &State, ctx: &ArmCtx, sub: &str) -> SimResponse {
    checked!(ctx.req, SUBSCRIPTIONS);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    let _ = state;
    let value: Vec<Value> = REGIONS
        .iter()
        .map(|(name, display, pair, geo)| {
            json!({
                "id": format!("/subscriptions/{sub}/locations/{name}"),
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": format!("({geo}) {display}"),
                "metadata": {
                    "regionType": "Physical",
                    "regionCategory": "Recommended",
                    "geographyGroup": geo,
                    "pairedRegion": [{ "name": pair, "id": format!("/subscriptions/{sub}/locations/{pair}") }],
                },
            })
        })
        .collect();
    SimResponse::ok(json!({ "value": value }))
}

fn provider_json(sub: Option<&str>, namespace: &str) -> Value {
    let types: Vec<Value> = super::TYPES
        .iter()
        .filter(|t| {
            t.canonical
                .split('/')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(namespace))
        })
        .map(|t| {
            let rest = t.canonical.split_once('/').map(|x| x.1).unwrap_or_default();
            json!({
                "resourceType": rest,
                "locations": REGIONS.iter().map(|r| r.1).collect::<Vec<_>>(),
                "apiVersions": apiversion::supported(t.canonical).unwrap_or(&[]),
                "capabilities": "SupportsTags, SupportsLocation",
            })
        })
        .collect();
    let canonical_ns = super::TYPES
        .iter()
        .filter_map(|t| t.canonical.split('/').next())
        .find(|n| n.eq_ignore_ascii_case(namespace))
        .unwrap_or(
            if namespace.eq_ignore_ascii_case("microsoft.resourcegraph") {
                "Microsoft.ResourceGraph"
            } else {
                namespace
            },
        );
    let id = match sub {
        Some(s) => format!("/subscriptions/{s}/providers/{canonical_ns}"),
        None => format!("/providers/{canonical_ns}"),
    };
    json!({
        "id": id,
        "namespace": canonical_ns,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types,
    })
}

fn namespaces() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = super::TYPES
        .iter()
        .filter_map(|t| t.canonical.split('/').next())
        .collect();
    v.push("Microsoft.ResourceGraph");
    v.push("Microsoft.Resources");
    v.sort_unstable();
    v.dedup();
    v
}

pub fn list_providers(state: &State, ctx: &ArmCtx, sub: Option<&str>) -> SimResponse {
    checked!(ctx.req, RESOURCES);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    let items: Vec<Value> = namespaces()
        .into_iter()
        .map(|ns| provider_json(sub, ns))
        .collect();
    paging::page(ctx.req, items, state.settings.page_size)
}

/// `GET …/providers/{ns}` and `POST …/providers/{ns}/register` (always registered here: an SDK
/// that sees `MissingSubscriptionRegistration` tries to register, so the simulator never says it).
pub fn provider(state: &State, ctx: &ArmCtx, sub: Option<&str>, namespace: &str) -> SimResponse {
    checked!(ctx.req, RESOURCES);
    let _ = state;
    let registering = ctx.req.method == Method::POST;
    if ctx.req.method != Method::GET && !registering {
        return super::generic::method_not_allowed(ctx.req.method.as_str());
    }
    if !namespaces()
        .iter()
        .any(|n| n.eq_ignore_ascii_case(namespace))
    {
        return SimResponse::arm_error(
            StatusCode::NOT_FOUND,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{namespace}' is invalid."),
        );
    }
    SimResponse::ok(provider_json(sub, namespace))
}

pub fn list_resource_groups(state: &State, ctx: &ArmCtx, sub: &str) -> SimResponse {
    checked!(ctx.req, RESOURCES);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    let prefix = format!("{}/", sub.to_ascii_lowercase());
    let tag_filter = match ctx.req.query_param("$filter") {
        None => None,
        Some(f) => match parse_filter(f) {
            Ok(terms) => Some(terms),
            Err(e) => return e,
        },
    };
    let items: Vec<Value> = state
        .resource_groups
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, g)| g)
        .filter(|g| {
            tag_filter.as_ref().is_none_or(|terms| {
                let row = json!({"name": g.name, "location": g.location, "tags": g.tags, "resourceGroup": g.name, "type": "Microsoft.Resources/resourceGroups"});
                terms.iter().all(|t| t.matches(&row))
            })
        })
        .map(ResourceGroup::to_json)
        .collect();
    paging::page(ctx.req, items, state.settings.page_size)
}

pub fn resource_group(state: &mut State, ctx: &ArmCtx, sub: &str, name: &str) -> SimResponse {
    checked!(ctx.req, RESOURCES);
    if let Err(e) = names::check(
        NameRule::ResourceGroup,
        name,
        "Microsoft.Resources/resourceGroups",
    ) {
        return e;
    }
    let key = rg_key(sub, name);
    let not_found = || {
        SimResponse::arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{name}' could not be found."),
        )
    };
    match ctx.req.method {
        Method::GET => match state.resource_groups.get(&key) {
            Some(g) => SimResponse::ok(g.to_json()),
            None => not_found(),
        },
        Method::HEAD => match state.resource_groups.get(&key) {
            Some(_) => SimResponse::new(StatusCode::NO_CONTENT),
            None => SimResponse::new(StatusCode::NOT_FOUND),
        },
        Method::PUT => {
            let body = match ctx.req.json_object_body() {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(location) = body
                .get("location")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return SimResponse::arm_error(
                    StatusCode::BAD_REQUEST,
                    "LocationRequired",
                    "The location property is required for this definition.",
                );
            };
            let tags = match body.get("tags") {
                None | Some(Value::Null) => serde_json::Map::new(),
                Some(Value::Object(m)) if m.values().all(Value::is_string) => m.clone(),
                Some(_) => {
                    return SimResponse::arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequestContent",
                        "The request content was invalid and could not be deserialized: 'tags' must be an object of string values.",
                    )
                }
            };
            let managed_by = body
                .get("managedBy")
                .and_then(Value::as_str)
                .map(str::to_string);
            let location_norm = lro::normalize_location(&location);
            if let Some(existing) = state.resource_groups.get_mut(&key) {
                if existing.provisioning_state == "Deleting" {
                    return SimResponse::arm_error(
                        StatusCode::CONFLICT,
                        "ResourceGroupBeingDeleted",
                        &format!("The resource group '{name}' is in deprovisioning state and cannot perform this operation."),
                    );
                }
                if lro::normalize_location(&existing.location) != location_norm {
                    return SimResponse::arm_error(
                        StatusCode::CONFLICT,
                        "InvalidResourceGroupLocation",
                        &format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", existing.location),
                    );
                }
                existing.tags = tags;
                existing.managed_by = managed_by;
                return SimResponse::ok(existing.to_json());
            }
            let group = ResourceGroup {
                subscription_id: state
                    .subscription(sub)
                    .map(|s| s.id.clone())
                    .unwrap_or_else(|| sub.to_string()),
                name: name.to_string(),
                location: location_norm,
                tags,
                managed_by,
                provisioning_state: "Succeeded".into(),
            };
            let json = group.to_json();
            state.resource_groups.insert(key, group);
            SimResponse::json(StatusCode::CREATED, json)
        }
        Method::PATCH => {
            let body = match ctx.req.json_object_body() {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(group) = state.resource_groups.get_mut(&key) else {
                return not_found();
            };
            if let Some(tags) = body.get("tags") {
                match tags {
                    Value::Object(m) if m.values().all(Value::is_string) => group.tags = m.clone(),
                    Value::Null => group.tags.clear(),
                    _ => {
                        return SimResponse::arm_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidRequestContent",
                            "The request content was invalid and could not be deserialized: 'tags' must be an object of string values.",
                        )
                    }
                }
            }
            if let Some(m) = body.get("managedBy").and_then(Value::as_str) {
                group.managed_by = Some(m.to_string());
            }
            SimResponse::ok(group.to_json())
        }
        Method::DELETE => {
            let Some(group) = state.resource_groups.get_mut(&key) else {
                return not_found();
            };
            if group.provisioning_state == "Deleting" {
                let mut resp = SimResponse::new(StatusCode::ACCEPTED);
                lro::retry_after(state, &mut resp);
                return resp;
            }
            group.provisioning_state = "Deleting".into();
            let id = group.id();
            let location = group.location.clone();
            let op_id = lro::begin(
                state,
                ctx,
                "Microsoft.Resources",
                &location,
                &id,
                Effect::DeleteResourceGroup,
            );
            let mut resp = SimResponse::new(StatusCode::ACCEPTED);
            // ARM answers a resource group deletion with a Location result URL only.
            let sub_id = id.split('/').nth(2).unwrap_or_default();
            resp.set_header(
                "Location",
                format!(
                    "{}/subscriptions/{sub_id}/operationresults/{op_id}?api-version={}",
                    ctx.req.base_url,
                    ctx.api_version()
                ),
            );
            lro::retry_after(state, &mut resp);
            resp
        }
        _ => super::generic::method_not_allowed(ctx.req.method.as_str()),
    }
}

/// One term of the generic listing's OData `$filter` subset.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterTerm {
    Eq {
        field: String,
        value: String,
        negate: bool,
    },
    SubstringOf {
        field: String,
        value: String,
    },
    Tag {
        name: String,
        value: Option<String>,
    },
}

impl FilterTerm {
    fn field_value(row: &Value, field: &str) -> String {
        let key = match field {
            "resourcetype" => "type",
            "resourcegroup" => "resourceGroup",
            other => other,
        };
        row.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    pub fn matches(&self, row: &Value) -> bool {
        match self {
            FilterTerm::Eq {
                field,
                value,
                negate,
            } => (Self::field_value(row, field).eq_ignore_ascii_case(value)) != *negate,
            FilterTerm::SubstringOf { field, value } => Self::field_value(row, field)
                .to_ascii_lowercase()
                .contains(&value.to_ascii_lowercase()),
            FilterTerm::Tag { name, value } => {
                let tags = row.get("tags").and_then(Value::as_object);
                match tags.and_then(|t| t.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))) {
                    None => false,
                    Some((_, v)) => value
                        .as_ref()
                        .is_none_or(|want| v.as_str().is_some_and(|s| s == want)),
                }
            }
        }
    }
}

fn filter_error(filter: &str, why: &str) -> SimResponse {
    SimResponse::arm_error(
        StatusCode::BAD_REQUEST,
        "InvalidFilterInQueryString",
        &format!(
            "Invalid $filter '{}' specified in the query string: {why}",
            filter
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        ),
    )
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// Parses ARM's `$filter` subset: `field eq 'v'`, `field ne 'v'` (location, resourceType, name,
/// resourceGroup), `substringof('v', name|resourceGroup)`, `tagName eq 'n' [and tagValue eq 'v']`,
/// joined by `and`.
pub fn parse_filter(filter: &str) -> Result<Vec<FilterTerm>, SimResponse> {
    if filter.len() > 4096 {
        return Err(filter_error(filter, "the filter is too long."));
    }
    let mut terms = Vec::new();
    let mut pending_tag: Option<String> = None;
    for raw in split_and(filter) {
        let part = raw.trim();
        let lower = part.to_ascii_lowercase();
        if let Some(args) = lower
            .strip_prefix("substringof(")
            .and_then(|a| a.strip_suffix(')'))
        {
            let original = &part["substringof(".len()..part.len() - 1];
            let (v, f) = original
                .rsplit_once(',')
                .ok_or_else(|| filter_error(filter, "substringof takes a value and a property."))?;
            let field = f.trim().to_ascii_lowercase();
            let _ = args;
            if !["name", "resourcegroup"].contains(&field.as_str()) {
                return Err(filter_error(
                    filter,
                    "substringof is supported on 'name' and 'resourceGroup' only.",
                ));
            }
            let value = unquote(v).ok_or_else(|| {
                filter_error(filter, "string values must be quoted with single quotes.")
            })?;
            terms.push(FilterTerm::SubstringOf { field, value });
            continue;
        }
        let mut words = part.splitn(3, ' ');
        let (Some(field), Some(op), Some(value)) = (words.next(), words.next(), words.next())
        else {
            return Err(filter_error(filter, "expected '<property> eq '<value>''."));
        };
        let field = field.to_ascii_lowercase();
        let op = op.to_ascii_lowercase();
        let value = unquote(value).ok_or_else(|| {
            filter_error(filter, "string values must be quoted with single quotes.")
        })?;
        match (field.as_str(), op.as_str()) {
            ("tagname", "eq") => {
                if let Some(name) = pending_tag.take() {
                    terms.push(FilterTerm::Tag { name, value: None });
                }
                pending_tag = Some(value);
            }
            ("tagvalue", "eq") => {
                let name = pending_tag
                    .take()
                    .ok_or_else(|| filter_error(filter, "tagValue must follow tagName."))?;
                terms.push(FilterTerm::Tag { name, value: Some(value) });
            }
            ("location" | "resourcetype" | "name" | "resourcegroup", "eq" | "ne") => {
                terms.push(FilterTerm::Eq { field, value, negate: op == "ne" })
            }
            _ => {
                return Err(filter_error(
                    filter,
                    "supported are eq/ne on location, resourceType, name and resourceGroup, substringof(value, name|resourceGroup), and tagName/tagValue eq.",
                ))
            }
        }
    }
    if let Some(name) = pending_tag {
        terms.push(FilterTerm::Tag { name, value: None });
    }
    Ok(terms)
}

/// Splits on ` and ` outside quotes.
fn split_and(filter: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let chars: Vec<char> = filter.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote && i + 5 <= chars.len() {
            let window: String = chars[i..i + 5].iter().collect();
            if window.eq_ignore_ascii_case(" and ") {
                parts.push(std::mem::take(&mut current));
                i += 5;
                continue;
            }
        }
        current.push(c);
        i += 1;
    }
    parts.push(current);
    parts
}

/// The generic listing's row for a resource (`GenericResourceExpanded`).
pub fn generic_row(r: &crate::sim::state::Resource, expand: &[String]) -> Value {
    let mut row = json!({
        "id": r.id,
        "name": r.name(),
        "type": r.resource_type,
        "location": r.location(),
    });
    for key in ["tags", "kind", "sku", "identity", "managedBy", "plan"] {
        if let Some(v) = r.body.get(key) {
            if !v.is_null() {
                row[key] = v.clone();
            }
        }
    }
    if expand.iter().any(|e| e == "createdtime") {
        row["createdTime"] = json!(r
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    if expand.iter().any(|e| e == "changedtime") {
        row["changedTime"] = json!(r
            .changed_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    if expand.iter().any(|e| e == "provisioningstate") {
        if let Some(p) = r.body.pointer("/properties/provisioningState") {
            row["provisioningState"] = p.clone();
        }
    }
    row
}

pub fn list_resources(state: &State, ctx: &ArmCtx, sub: &str, rg: Option<&str>) -> SimResponse {
    checked!(ctx.req, RESOURCES);
    if let Some(e) = only_get(ctx.req) {
        return e;
    }
    if let Some(rg) = rg {
        if state.resource_group(sub, rg).is_none() {
            return SimResponse::arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                &format!("Resource group '{rg}' could not be found."),
            );
        }
    }
    let terms = match ctx.req.query_param("$filter") {
        None => Vec::new(),
        Some(f) => match parse_filter(f) {
            Ok(t) => t,
            Err(e) => return e,
        },
    };
    let expand: Vec<String> = ctx
        .req
        .query_param("$expand")
        .map(|e| {
            e.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let scope = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{sub}"),
    };
    let filtered_by_tag = terms.iter().any(|t| matches!(t, FilterTerm::Tag { .. }));
    let items: Vec<Value> = state
        .resources_under(&scope)
        .filter(|r| r.is_top_level())
        .filter_map(|r| {
            let mut row = generic_row(r, &expand);
            let probe = {
                let mut p = row.clone();
                p["resourceGroup"] = json!(r.resource_group);
                p
            };
            if !terms.iter().all(|t| t.matches(&probe)) {
                return None;
            }
            // ARM leaves tags out of rows when filtering by tag.
            if filtered_by_tag {
                if let Some(o) = row.as_object_mut() {
                    o.remove("tags");
                }
            }
            Some(row)
        })
        .collect();
    paging::page(ctx.req, items, state.settings.page_size)
}

/// `GET /metadata/endpoints` (anonymous): the cloud's endpoints as `az cloud register` reads them.
pub fn metadata_endpoints(sim: &Sim, req: &SimRequest) -> SimResponse {
    let version = req.api_version();
    if let Err(e) = apiversion::check(version, "Microsoft.Resources/metadata", "") {
        let mut e = e;
        crate::sim::arm::decorate(&mut e, req);
        return e;
    }
    let id = &sim.identity;
    let cloud = json!({
        "portal": format!("https://portal.{}", id.domain),
        "authentication": {
            "loginEndpoint": format!("{}/", id.login_url),
            "audiences": [id.management_url.clone(), id.management_url.trim_end_matches('/')],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": format!("https://rest.media.{}", id.domain),
        "graphAudience": format!("https://graph.{}/", id.domain),
        "graph": format!("https://graph.{}/", id.domain),
        "name": id.cloud_name,
        "suffixes": {
            "azureDataLakeStoreFileSystem": format!("azuredatalakestore.{}", id.domain),
            "acrLoginServer": format!("azurecr.{}", id.domain),
            "sqlServerHostname": format!("database.{}", id.domain),
            "azureDataLakeAnalyticsCatalogAndJob": format!("azuredatalakeanalytics.{}", id.domain),
            "keyVaultDns": id.key_vault_suffix,
            "storage": format!("core.{}", id.domain),
            "azureFrontDoorEndpointSuffix": format!("azurefd.{}", id.domain),
            "storageSyncEndpointSuffix": format!("afs.{}", id.domain),
            "mhsmDns": format!("managedhsm.{}", id.domain),
            "mysqlServerEndpoint": format!("mysql.{}", id.domain),
            "postgresqlServerEndpoint": format!("postgres.{}", id.domain),
            "sqlServerEndpoint": format!("database.{}", id.domain),
        },
        "batch": format!("https://batch.{}/", id.domain),
        "resourceManager": id.management_url,
        "vmImageAliasDoc": "",
        "activeDirectoryDataLake": format!("https://datalake.{}/", id.domain),
        "sqlManagement": format!("https://management.{}:{}/", id.domain, id.port),
        "microsoftGraphResourceId": format!("https://graph.{}/", id.domain),
        "appInsightsResourceId": format!("https://api.applicationinsights.{}", id.domain),
        "appInsightsTelemetryChannelResourceId": format!("https://dc.applicationinsights.{}/v2/track", id.domain),
        "attestationResourceId": format!("https://attest.{}", id.domain),
        "synapseAnalyticsResourceId": format!("https://dev.azuresynapse.{}", id.domain),
        "logAnalyticsResourceId": format!("https://api.loganalytics.{}", id.domain),
        "ossrDbmsResourceId": format!("https://ossrdbms-aad.database.{}", id.domain),
    });
    // 2015-01-01 and 2018-01-01 answer the legacy object; 2019-05-01 and 2020-06-01 a list of
    // clouds; 2022-09-01 this cloud's object alone (az's `cloud register` indexes it directly).
    let body = if version == Some("2015-01-01") || version == Some("2018-01-01") {
        json!({
            "galleryEndpoint": "",
            "graphEndpoint": cloud["graph"],
            "portalEndpoint": cloud["portal"],
            "authentication": cloud["authentication"],
        })
    } else if version == Some("2019-05-01") || version == Some("2020-06-01") {
        json!([cloud])
    } else {
        cloud
    };
    let mut resp = SimResponse::ok(body);
    crate::sim::arm::decorate(&mut resp, req);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_subset_parses_and_matches() {
        let terms = parse_filter(
            "resourceType eq 'Microsoft.App/containerApps' and substringof('dag', name)",
        )
        .unwrap();
        let row = json!({"type": "Microsoft.App/containerApps", "name": "dagster-webserver", "resourceGroup": "rg"});
        assert!(terms.iter().all(|t| t.matches(&row)));
        let row2 = json!({"type": "Microsoft.App/containerApps", "name": "api"});
        assert!(!terms.iter().all(|t| t.matches(&row2)));
        let tags = parse_filter("tagName eq 'env' and tagValue eq 'prod'").unwrap();
        assert_eq!(
            tags,
            vec![FilterTerm::Tag {
                name: "env".into(),
                value: Some("prod".into())
            }]
        );
        assert!(tags[0].matches(&json!({"tags": {"Env": "prod"}})));
        assert!(!tags[0].matches(&json!({"tags": {"env": "dev"}})));
        let quoted = parse_filter("name eq 'it''s and more'").unwrap();
        assert_eq!(
            quoted,
            vec![FilterTerm::Eq {
                field: "name".into(),
                value: "it's and more".into(),
                negate: false
            }]
        );
    }

    #[test]
    fn unsupported_filters_are_400() {
        for bad in [
            "plan eq 'x'",
            "name gt 'a'",
            "name eq x",
            "substringof('x', location)",
            "tagValue eq 'v'",
            "",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pairs_are_symmetric() {
        for (name, _, pair, _) in REGIONS {
            assert_eq!(paired_region(pair), Some(*name));
        }
    }
}
