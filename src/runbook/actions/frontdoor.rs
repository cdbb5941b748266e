//! Azure Front Door (Standard/Premium, `Microsoft.Cdn`) actions: read a route or an origin, turn a
//! route off and on (an emergency deny at the edge), and change an origin's enabled state,
//! priority and weight (a regional failover).
//!
//! Resources are always given by their full ARM id. Changes are PATCHes of the one field asked
//! for, followed as long-running operations (Front Door answers 202 with `Azure-AsyncOperation`
//! and redeploys the profile); `plan` reads live state and lists the exact calls `run` sends.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::azure::error::AzureError;
use crate::azure::http::{ArmRequest, ClientError};
use crate::azure::lro::{self, LroError, Progress};
use crate::azure::paging;
use crate::azure::resources::{api_version, ResourceId};
use crate::runbook::action::{
    Action, ActionContext, ActionError, ActionSpec, Change, Check, Plan, PlannedCall, Registry,
};

pub fn register(registry: &mut Registry) {
    registry.register(RouteShow);
    registry.register(RouteState { enable: false });
    registry.register(RouteState { enable: true });
    registry.register(OriginShow);
    registry.register(OriginSet);
}

const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// A Front Door change redeploys the profile to the edge: minutes on the real service.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const ROUTE_TYPE: &str = "Microsoft.Cdn/profiles/afdEndpoints/routes";
const ORIGIN_TYPE: &str = "Microsoft.Cdn/profiles/originGroups/origins";

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// The id, checked to be of the type the action works on.
fn typed_id(id: &str, ty: &str, what: &str) -> Result<ResourceId, ActionError> {
    let parsed = ResourceId::parse(id).map_err(|e| ActionError::Input(e.to_string()))?;
    if !parsed.resource_type.eq_ignore_ascii_case(ty) {
        return Err(ActionError::Input(format!(
            "{id} is a {}, not a Front Door {what} ({ty})",
            parsed.resource_type
        )));
    }
    Ok(parsed)
}

/// The URL relative to ARM, with the api-version, as the pipeline takes it.
fn url(id: &str, suffix: &str) -> String {
    format!(
        "{}{suffix}?api-version={}",
        id.trim_end_matches('/').trim_start_matches('/'),
        api_version("Microsoft.Cdn")
    )
}

/// The same call as the request log shows it (leading `/`).
fn planned(method: &str, id: &str, suffix: &str) -> PlannedCall {
    PlannedCall::new(method, format!("/{}", url(id, suffix)))
}

/// The id two segments up (`…/afdEndpoints/E/routes/R` → `…/afdEndpoints/E`).
fn parent(id: &str) -> String {
    let segs: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    segs[..segs.len().saturating_sub(2)].join("/")
}

fn name_of(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

fn prop<'v>(resource: &'v Value, key: &str) -> Option<&'v Value> {
    resource.get("properties").and_then(|p| p.get(key))
}

fn prop_str(resource: &Value, key: &str) -> Option<String> {
    prop(resource, key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn prop_i64(resource: &Value, key: &str) -> Option<i64> {
    prop(resource, key).and_then(Value::as_i64)
}

/// A missing resource as a failed precondition with Azure's words; other errors as usual.
fn client_error(e: ClientError) -> ActionError {
    match &e {
        ClientError::Azure(AzureError::NotFound { code, message }) => {
            ActionError::Precondition(format!("Azure: {message} ({code})"))
        }
        ClientError::Azure(AzureError::BadRequest { code, message, .. }) => {
            ActionError::Precondition(format!("Azure refused: {message} ({code})"))
        }
        _ => ActionError::from(e),
    }
}

fn lro_error(e: LroError) -> ActionError {
    match e {
        LroError::Client(c) => client_error(c),
        other => ActionError::from(other),
    }
}

async fn get(ctx: &ActionContext<'_>, id: &str) -> Result<Value, ActionError> {
    ctx.azure()?
        .get_json(&url(id, ""))
        .await
        .map_err(client_error)
}

/// PATCHes `id` and waits for the operation; the resource as it is afterwards.
async fn patch(ctx: &ActionContext<'_>, id: &str, body: Value) -> Result<Value, ActionError> {
    let pipeline = ctx.azure()?;
    let sink = ctx.progress;
    let what = format!("updating {}", name_of(id));
    let mut progress = move |p: &Progress| {
        sink(format!(
            "{what}: {} after {} s",
            p.status,
            p.elapsed.as_secs()
        ))
    };
    let request = ArmRequest::new(http::Method::PATCH, url(id, "")).with_body(body);
    match lro::send_and_wait(pipeline, request, &ctx.lro_options(), &mut progress)
        .await
        .map_err(lro_error)?
    {
        Some(v) if v.get("properties").is_some() => Ok(v),
        _ => get(ctx, id).await,
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, ActionError> {
    serde_json::to_value(v).map_err(|e| ActionError::Failed(format!("output: {e}")))
}

/// `Enabled` / `Disabled` as Azure spells them, whatever the case given.
fn enabled_state(text: &str) -> Result<&'static str, ActionError> {
    match text.to_ascii_lowercase().as_str() {
        "enabled" => Ok("Enabled"),
        "disabled" => Ok("Disabled"),
        _ => Err(ActionError::Input(format!(
            "enabledState {text:?} is not Enabled or Disabled"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// frontdoor.route.show

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteInput {
    /// The route's full ARM id (`…/profiles/P/afdEndpoints/E/routes/R`).
    pub route: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteShowOutput {
    pub id: String,
    pub name: String,
    /// `Enabled` or `Disabled`.
    pub enabled_state: Option<String>,
    pub patterns_to_match: Vec<String>,
    /// The origin group the route sends requests to.
    pub origin_group: Option<String>,
    /// The endpoint the route belongs to.
    pub endpoint: String,
    /// The endpoint's host name (`….azurefd.net`).
    pub host_name: Option<String>,
    /// `https://{hostName}/`, for a probe.
    pub url: Option<String>,
    pub deployment_status: Option<String>,
}

async fn read_route(ctx: &ActionContext<'_>, route: &str) -> Result<RouteShowOutput, ActionError> {
    typed_id(route, ROUTE_TYPE, "route")?;
    let r = get(ctx, route).await?;
    let endpoint = parent(route);
    let ep = get(ctx, &endpoint).await?;
    let host_name = prop_str(&ep, "hostName");
    Ok(RouteShowOutput {
        id: r["id"].as_str().unwrap_or(route).to_string(),
        name: r["name"].as_str().unwrap_or(name_of(route)).to_string(),
        enabled_state: prop_str(&r, "enabledState"),
        patterns_to_match: prop(&r, "patternsToMatch")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        origin_group: prop(&r, "originGroup")
            .and_then(|g| g.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string),
        endpoint: ep["id"].as_str().unwrap_or(&endpoint).to_string(),
        url: host_name.as_ref().map(|h| format!("https://{h}/")),
        host_name,
        deployment_status: prop_str(&r, "deploymentStatus"),
    })
}

pub struct RouteShow;

#[async_trait]
impl Action for RouteShow {
    type Input = RouteInput;
    type Output = RouteShowOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "frontdoor.route.show",
            summary: "Read a Front Door route: enabled state, patterns, origin group, and its endpoint's host name",
            mutates: false,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &RouteInput) -> Result<Plan, ActionError> {
        let outputs = to_value(&read_route(ctx, &input.route).await?)?;
        Ok(Plan {
            calls: vec![
                planned("GET", &input.route, ""),
                planned("GET", &parent(&input.route), ""),
            ],
            outputs: Some(outputs),
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RouteInput,
    ) -> Result<RouteShowOutput, ActionError> {
        read_route(ctx, &input.route).await
    }
}

// ---------------------------------------------------------------------------------------------
// frontdoor.route.disable / frontdoor.route.enable

/// `enable: false` is `frontdoor.route.disable`, `true` is `frontdoor.route.enable`.
pub struct RouteState {
    enable: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteStateOutput {
    pub route: String,
    /// The route's `enabledState` before the step (`null` when the step was resumed after its
    /// change landed and the earlier state can no longer be read).
    pub previous: Option<String>,
    /// The route's `enabledState` after the step.
    pub current: String,
}

impl RouteState {
    fn wanted(&self) -> &'static str {
        if self.enable {
            "Enabled"
        } else {
            "Disabled"
        }
    }

    fn body(&self) -> Value {
        json!({"properties": {"enabledState": self.wanted()}})
    }
}

#[async_trait]
impl Action for RouteState {
    type Input = RouteInput;
    type Output = RouteStateOutput;

    fn spec(&self) -> ActionSpec {
        if self.enable {
            ActionSpec {
                name: "frontdoor.route.enable",
                summary: "Enable a Front Door route: its endpoint serves the route's paths from its origin group again",
                mutates: true,
                idempotent: true,
                default_timeout: CHANGE_TIMEOUT,
            }
        } else {
            ActionSpec {
                name: "frontdoor.route.disable",
                summary: "Disable a Front Door route: its endpoint answers 404 for the route's paths (emergency deny at the edge)",
                mutates: true,
                idempotent: true,
                default_timeout: CHANGE_TIMEOUT,
            }
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &RouteInput,
    ) -> Result<Check, ActionError> {
        typed_id(&input.route, ROUTE_TYPE, "route")?;
        let r = get(ctx, &input.route).await?;
        Ok(
            match prop_str(&r, "enabledState").as_deref() == Some(self.wanted()) {
                true => Check::Applied,
                false => Check::NotApplied,
            },
        )
    }

    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        input: &RouteInput,
    ) -> Result<Option<RouteStateOutput>, ActionError> {
        typed_id(&input.route, ROUTE_TYPE, "route")?;
        let r = get(ctx, &input.route).await?;
        Ok(prop_str(&r, "enabledState")
            .filter(|s| s == self.wanted())
            .map(|current| RouteStateOutput {
                route: input.route.clone(),
                previous: None,
                current,
            }))
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &RouteInput) -> Result<Plan, ActionError> {
        typed_id(&input.route, ROUTE_TYPE, "route")?;
        let r = get(ctx, &input.route).await?;
        let before = prop_str(&r, "enabledState");
        let mut plan = Plan {
            calls: vec![planned("GET", &input.route, "")],
            outputs: Some(json!({
                "route": input.route,
                "previous": before,
                "current": self.wanted(),
            })),
            ..Plan::default()
        };
        if before.as_deref() == Some(self.wanted()) {
            plan.notes.push(format!(
                "{} is already {}: nothing is sent",
                name_of(&input.route),
                self.wanted()
            ));
            return Ok(plan);
        }
        plan.calls
            .push(planned("PATCH", &input.route, "").with_body(self.body()));
        plan.changes.push(Change {
            resource: input.route.clone(),
            field: "properties.enabledState".into(),
            before: json!(before),
            after: json!(self.wanted()),
        });
        plan.notes.push(if self.enable {
            "the endpoint serves the route's paths again once Front Door has redeployed".into()
        } else {
            "the endpoint answers 404 for the route's paths once Front Door has redeployed \
             (other routes of the endpoint keep serving)"
                .into()
        });
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RouteInput,
    ) -> Result<RouteStateOutput, ActionError> {
        typed_id(&input.route, ROUTE_TYPE, "route")?;
        let r = get(ctx, &input.route).await?;
        let previous = prop_str(&r, "enabledState");
        if previous.as_deref() == Some(self.wanted()) {
            return Ok(RouteStateOutput {
                route: input.route.clone(),
                previous,
                current: self.wanted().into(),
            });
        }
        let done = patch(ctx, &input.route, self.body()).await?;
        Ok(RouteStateOutput {
            route: input.route.clone(),
            previous,
            current: prop_str(&done, "enabledState").unwrap_or_else(|| self.wanted().into()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// frontdoor.origin.show

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OriginInput {
    /// The origin's full ARM id (`…/profiles/P/originGroups/G/origins/O`).
    pub origin: String,
}

/// An origin's routing settings; `origin.set` takes them back (a rollback puts `previous` back).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OriginSettings {
    pub enabled_state: Option<String>,
    pub priority: Option<i64>,
    pub weight: Option<i64>,
}

impl OriginSettings {
    fn of(origin: &Value) -> Self {
        OriginSettings {
            enabled_state: prop_str(origin, "enabledState"),
            priority: prop_i64(origin, "priority"),
            weight: prop_i64(origin, "weight"),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OriginShowOutput {
    pub id: String,
    pub name: String,
    /// The backend's host name.
    pub host_name: Option<String>,
    pub enabled_state: Option<String>,
    pub priority: Option<i64>,
    pub weight: Option<i64>,
    pub origin_group: String,
    /// The host names of the endpoints with a route to this origin's group.
    pub endpoint_host_names: Vec<String>,
    /// `https://{first endpoint host name}/`, for a probe (`null` when no route uses the group).
    pub url: Option<String>,
}

fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

async fn read_origin(
    ctx: &ActionContext<'_>,
    origin: &str,
) -> Result<(OriginShowOutput, Vec<PlannedCall>), ActionError> {
    typed_id(origin, ORIGIN_TYPE, "origin")?;
    let o = get(ctx, origin).await?;
    let group = parent(origin);
    let profile = parent(&group);
    let pipeline = ctx.azure()?;
    let mut calls = vec![
        planned("GET", origin, ""),
        planned("GET", &profile, "/afdEndpoints"),
    ];
    let endpoints = paging::collect(pipeline, &url(&profile, "/afdEndpoints"))
        .await
        .map_err(client_error)?;
    let mut hosts = Vec::new();
    for ep in &endpoints {
        let Some(ep_id) = ep["id"].as_str() else {
            continue;
        };
        calls.push(planned("GET", ep_id, "/routes"));
        let routes = paging::collect(pipeline, &url(ep_id, "/routes"))
            .await
            .map_err(client_error)?;
        let serves = routes.iter().any(|r| {
            prop(r, "originGroup")
                .and_then(|g| g.get("id"))
                .and_then(Value::as_str)
                .is_some_and(|g| same_id(g, &group))
        });
        if let (true, Some(h)) = (serves, prop_str(ep, "hostName")) {
            hosts.push(h);
        }
    }
    let settings = OriginSettings::of(&o);
    Ok((
        OriginShowOutput {
            id: o["id"].as_str().unwrap_or(origin).to_string(),
            name: o["name"].as_str().unwrap_or(name_of(origin)).to_string(),
            host_name: prop_str(&o, "hostName"),
            enabled_state: settings.enabled_state,
            priority: settings.priority,
            weight: settings.weight,
            origin_group: group,
            url: hosts.first().map(|h| format!("https://{h}/")),
            endpoint_host_names: hosts,
        },
        calls,
    ))
}

pub struct OriginShow;

#[async_trait]
impl Action for OriginShow {
    type Input = OriginInput;
    type Output = OriginShowOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "frontdoor.origin.show",
            summary: "Read a Front Door origin: host, enabled state, priority, weight, and the endpoints that route to its group",
            mutates: false,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginInput,
    ) -> Result<Plan, ActionError> {
        let (out, calls) = read_origin(ctx, &input.origin).await?;
        Ok(Plan {
            calls,
            outputs: Some(to_value(&out)?),
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginInput,
    ) -> Result<OriginShowOutput, ActionError> {
        Ok(read_origin(ctx, &input.origin).await?.0)
    }
}

// ---------------------------------------------------------------------------------------------
// frontdoor.origin.set

pub struct OriginSet;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OriginSetInput {
    /// The origin's full ARM id (`…/profiles/P/originGroups/G/origins/O`).
    pub origin: String,
    /// `Enabled` or `Disabled` (a disabled origin gets no traffic).
    #[serde(default)]
    pub enabled_state: Option<String>,
    /// 1–5: Front Door sends traffic to the healthy origins of the lowest priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// 1–1000: the share among healthy origins of the same priority.
    #[serde(default)]
    pub weight: Option<i64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OriginSetOutput {
    pub origin: String,
    /// The settings before the step (all `null` when the step was resumed after its change
    /// landed: the earlier values can no longer be read).
    pub previous: OriginSettings,
    pub current: OriginSettings,
}

/// The settings asked for, checked; `None` fields are left as they are.
fn wanted_origin(input: &OriginSetInput) -> Result<OriginSettings, ActionError> {
    typed_id(&input.origin, ORIGIN_TYPE, "origin")?;
    if let Some(p) = input.priority.filter(|p| !(1..=5).contains(p)) {
        return Err(ActionError::Input(format!(
            "priority {p} is not between 1 and 5"
        )));
    }
    if let Some(w) = input.weight.filter(|w| !(1..=1000).contains(w)) {
        return Err(ActionError::Input(format!(
            "weight {w} is not between 1 and 1000"
        )));
    }
    Ok(OriginSettings {
        enabled_state: input
            .enabled_state
            .as_deref()
            .map(enabled_state)
            .transpose()?
            .map(str::to_string),
        priority: input.priority,
        weight: input.weight,
    })
}

/// The fields that differ: (name, before, after).
fn origin_diff(
    current: &OriginSettings,
    wanted: &OriginSettings,
) -> Vec<(&'static str, Value, Value)> {
    let mut diff = Vec::new();
    if let Some(s) = wanted
        .enabled_state
        .as_ref()
        .filter(|s| current.enabled_state.as_ref() != Some(*s))
    {
        diff.push(("enabledState", json!(current.enabled_state), json!(s)));
    }
    if let Some(p) = wanted.priority.filter(|p| current.priority != Some(*p)) {
        diff.push(("priority", json!(current.priority), json!(p)));
    }
    if let Some(w) = wanted.weight.filter(|w| current.weight != Some(*w)) {
        diff.push(("weight", json!(current.weight), json!(w)));
    }
    diff
}

fn origin_body(diff: &[(&str, Value, Value)]) -> Value {
    let props: Map<String, Value> = diff
        .iter()
        .map(|(k, _, after)| ((*k).to_string(), after.clone()))
        .collect();
    json!({ "properties": props })
}

fn merged(current: &OriginSettings, wanted: &OriginSettings) -> OriginSettings {
    OriginSettings {
        enabled_state: wanted
            .enabled_state
            .clone()
            .or_else(|| current.enabled_state.clone()),
        priority: wanted.priority.or(current.priority),
        weight: wanted.weight.or(current.weight),
    }
}

#[async_trait]
impl Action for OriginSet {
    type Input = OriginSetInput;
    type Output = OriginSetOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "frontdoor.origin.set",
            summary: "Set a Front Door origin's enabledState, priority (1–5) and/or weight (1–1000); only what is given changes",
            mutates: true,
            idempotent: true,
            default_timeout: CHANGE_TIMEOUT,
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginSetInput,
    ) -> Result<Check, ActionError> {
        let wanted = wanted_origin(input)?;
        let current = OriginSettings::of(&get(ctx, &input.origin).await?);
        Ok(if origin_diff(&current, &wanted).is_empty() {
            Check::Applied
        } else {
            Check::NotApplied
        })
    }

    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginSetInput,
    ) -> Result<Option<OriginSetOutput>, ActionError> {
        let wanted = wanted_origin(input)?;
        let current = OriginSettings::of(&get(ctx, &input.origin).await?);
        if !origin_diff(&current, &wanted).is_empty() {
            return Ok(None);
        }
        Ok(Some(OriginSetOutput {
            origin: input.origin.clone(),
            previous: OriginSettings {
                enabled_state: None,
                priority: None,
                weight: None,
            },
            current,
        }))
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginSetInput,
    ) -> Result<Plan, ActionError> {
        let wanted = wanted_origin(input)?;
        let current = OriginSettings::of(&get(ctx, &input.origin).await?);
        let diff = origin_diff(&current, &wanted);
        let mut plan = Plan {
            calls: vec![planned("GET", &input.origin, "")],
            outputs: Some(json!({
                "origin": input.origin,
                "previous": current,
                "current": merged(&current, &wanted),
            })),
            ..Plan::default()
        };
        if diff.is_empty() {
            plan.notes.push(format!(
                "{} already has these settings: nothing is sent",
                name_of(&input.origin)
            ));
            return Ok(plan);
        }
        plan.calls
            .push(planned("PATCH", &input.origin, "").with_body(origin_body(&diff)));
        for (field, before, after) in diff {
            plan.changes.push(Change {
                resource: input.origin.clone(),
                field: format!("properties.{field}"),
                before,
                after,
            });
        }
        plan.notes.push(
            "Front Door sends traffic to the enabled, healthy origins of the lowest priority \
             number, split by weight"
                .into(),
        );
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &OriginSetInput,
    ) -> Result<OriginSetOutput, ActionError> {
        let wanted = wanted_origin(input)?;
        let previous = OriginSettings::of(&get(ctx, &input.origin).await?);
        let diff = origin_diff(&previous, &wanted);
        if diff.is_empty() {
            return Ok(OriginSetOutput {
                origin: input.origin.clone(),
                current: previous.clone(),
                previous,
            });
        }
        let done = patch(ctx, &input.origin, origin_body(&diff)).await?;
        Ok(OriginSetOutput {
            origin: input.origin.clone(),
            previous,
            current: OriginSettings::of(&done),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/p/originGroups/g/origins/o";

    fn input(enabled: Option<&str>, priority: Option<i64>, weight: Option<i64>) -> OriginSetInput {
        OriginSetInput {
            origin: ORIGIN.into(),
            enabled_state: enabled.map(str::to_string),
            priority,
            weight,
        }
    }

    #[test]
    fn origin_set_patches_only_what_differs() {
        let current = OriginSettings {
            enabled_state: Some("Enabled".into()),
            priority: Some(2),
            weight: Some(1000),
        };
        let wanted = wanted_origin(&input(Some("enabled"), Some(1), None)).unwrap();
        let diff = origin_diff(&current, &wanted);
        assert_eq!(origin_body(&diff), json!({"properties": {"priority": 1}}));
        assert!(origin_diff(&merged(&current, &wanted), &wanted).is_empty());
    }

    #[test]
    fn origin_set_checks_its_input() {
        assert!(wanted_origin(&input(None, Some(6), None)).is_err());
        assert!(wanted_origin(&input(None, None, Some(0))).is_err());
        assert!(wanted_origin(&input(Some("Off"), None, None)).is_err());
        let mut wrong = input(None, Some(1), None);
        wrong.origin = format!("{}/x/y", parent(ORIGIN));
        assert!(wanted_origin(&wrong).is_err());
    }

    #[test]
    fn parents_and_urls() {
        assert_eq!(
            parent(ORIGIN),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cdn/profiles/p/originGroups/g"
        );
        assert!(url(ORIGIN, "").ends_with("origins/o?api-version=2025-06-01"));
        assert!(!url(ORIGIN, "").starts_with('/'));
    }
}
