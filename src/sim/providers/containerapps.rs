//! Microsoft.App container apps and their revisions, with the semantics of the real service:
//! a change to `template` creates a revision `{app}--{suffix}`; Single mode keeps one active
//! revision with all traffic (activating an older one makes it that revision); Multiple mode
//! validates traffic weights and labels; revisions have health and running state, and can be
//! activated, deactivated and restarted. Secret values never appear in GET, only in listSecrets.

use chrono::{DateTime, Utc};
use http::{Method, StatusCode};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::generic::{check_preconditions, check_put_body, merge_patch};
use super::{resource_not_found, TypeInfo};
use crate::sim::arm::{lro, paging, ArmCtx, ProviderPath};
use crate::sim::http::SimResponse;
use crate::sim::state::{Effect, OpStatus, Operation, Resource, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Health {
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Provisioning {
    Provisioning,
    Provisioned,
    Failed,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    pub name: String,
    pub created: DateTime<Utc>,
    pub last_active: Option<DateTime<Utc>>,
    pub template: Value,
    pub active: bool,
    /// How the revision behaves once running (from the world, or the image's health rule).
    pub health: Health,
    pub provisioning: Provisioning,
    /// Start of the current activation or restart; the revision is `Processing` for
    /// `settings.revision_start` after it.
    pub started: DateTime<Utc>,
    pub provisioning_error: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AppState {
    /// Oldest first.
    pub revisions: Vec<Revision>,
    pub stopped: bool,
}

impl AppState {
    pub fn revision(&self, name: &str) -> Option<&Revision> {
        self.revisions
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    fn revision_mut(&mut self, name: &str) -> Option<&mut Revision> {
        self.revisions
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    pub fn latest(&self) -> Option<&Revision> {
        self.revisions.last()
    }

    pub fn latest_ready(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.provisioning == Provisioning::Provisioned)
    }
}

pub fn revision_mode(body: &Value) -> &str {
    match body
        .pointer("/properties/configuration/activeRevisionsMode")
        .and_then(Value::as_str)
    {
        Some(m) if m.eq_ignore_ascii_case("multiple") => "Multiple",
        _ => "Single",
    }
}

/// The default domain of the app's managed environment: its FQDN is `{app}.{domain}`.
pub fn environment_domain(state: &State, body: &Value) -> String {
    let env_id = body
        .pointer("/properties/environmentId")
        .or_else(|| body.pointer("/properties/managedEnvironmentId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    state
        .resource(env_id)
        .and_then(|e| e.body.pointer("/properties/defaultDomain"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| "env.apps.azdeck.localhost".to_string())
}

fn ingress(body: &Value) -> Option<&Value> {
    body.pointer("/properties/configuration/ingress")
        .filter(|v| v.is_object())
}

/// Traffic weight of each revision now, by name.
pub fn traffic_weights(state: &State, r: &Resource) -> Vec<(String, i64)> {
    let Some(app) = &r.app else { return vec![] };
    if revision_mode(&r.body) == "Single" {
        // All traffic goes to the one active, provisioned revision.
        return app
            .revisions
            .iter()
            .rev()
            .find(|rev| rev.active && rev.provisioning == Provisioning::Provisioned)
            .map(|rev| vec![(rev.name.clone(), 100)])
            .unwrap_or_default();
    }
    let _ = state;
    let mut out: Vec<(String, i64)> = Vec::new();
    let Some(traffic) = ingress(&r.body)
        .and_then(|i| i.get("traffic"))
        .and_then(Value::as_array)
    else {
        return out;
    };
    for entry in traffic {
        let weight = entry.get("weight").and_then(Value::as_i64).unwrap_or(0);
        let target = if entry.get("latestRevision").and_then(Value::as_bool) == Some(true) {
            app.latest_ready().map(|r| r.name.clone())
        } else {
            entry
                .get("revisionName")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let Some(name) = target {
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                Some(e) => e.1 += weight,
                None => out.push((name, weight)),
            }
        }
    }
    out
}

fn labels_of(r: &Resource, revision: &str) -> Vec<String> {
    let Some(app) = &r.app else { return vec![] };
    ingress(&r.body)
        .and_then(|i| i.get("traffic"))
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter(|e| {
                    let target = if e.get("latestRevision").and_then(Value::as_bool) == Some(true) {
                        app.latest_ready().map(|r| r.name.clone())
                    } else {
                        e.get("revisionName")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    };
                    target.is_some_and(|t| t.eq_ignore_ascii_case(revision))
                })
                .filter_map(|e| e.get("label").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn min_replicas(template: &Value) -> i64 {
    template
        .pointer("/scale/minReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

pub fn render_revision(state: &State, r: &Resource, rev: &Revision) -> Value {
    let now = state.now();
    let domain = environment_domain(state, &r.body);
    let weight = traffic_weights(state, r)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&rev.name))
        .map(|(_, w)| w)
        .unwrap_or(0);
    let stopped = r.app.as_ref().is_some_and(|a| a.stopped);
    let processing = now < rev.started + state.settings.revision_start();
    let (provisioning, running, health, replicas) = match (rev.provisioning, rev.active) {
        (Provisioning::Provisioning, _) => ("Provisioning", "Processing", "None", 0),
        (Provisioning::Failed, _) => ("Failed", "Failed", "Unhealthy", 0),
        (Provisioning::Provisioned, false) => ("Provisioned", "Stopped", health_str(rev.health), 0),
        (Provisioning::Provisioned, true) if stopped => ("Provisioned", "Stopped", "None", 0),
        (Provisioning::Provisioned, true) if processing => ("Provisioned", "Processing", "None", 0),
        (Provisioning::Provisioned, true) => {
            let replicas = min_replicas(&rev.template).max(if weight > 0 { 1 } else { 0 });
            match rev.health {
                Health::Healthy => ("Provisioned", "Running", "Healthy", replicas),
                Health::Unhealthy => ("Provisioned", "Degraded", "Unhealthy", replicas.max(1)),
            }
        }
    };
    let mut props = json!({
        "createdTime": rev.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "fqdn": format!("{}.{}", rev.name, domain),
        "template": rev.template,
        "active": rev.active,
        "replicas": replicas,
        "trafficWeight": weight,
        "healthState": health,
        "provisioningState": provisioning,
        "runningState": running,
    });
    if let Some(t) = rev.last_active {
        props["lastActiveTime"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    } else if rev.active {
        props["lastActiveTime"] = json!(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    if let Some(e) = &rev.provisioning_error {
        props["provisioningError"] = json!(e);
    }
    let labels = labels_of(r, &rev.name);
    if !labels.is_empty() {
        // Not in the 2025-07-01 schema, but the service reports the labels a revision carries.
        props["labels"] = json!(labels.join(","));
    }
    json!({
        "id": format!("{}/revisions/{}", r.id, rev.name),
        "name": rev.name,
        "type": "Microsoft.App/containerApps/revisions",
        "properties": props,
    })
}

fn health_str(h: Health) -> &'static str {
    match h {
        Health::Healthy => "Healthy",
        Health::Unhealthy => "Unhealthy",
    }
}

pub fn render_app(state: &State, r: &Resource) -> Value {
    let mut body = r.body.clone();
    let domain = environment_domain(state, &body);
    let name = r.name().to_string();
    // GET never returns secret values (listSecrets does).
    if let Some(secrets) = body
        .pointer_mut("/properties/configuration/secrets")
        .and_then(Value::as_array_mut)
    {
        for s in secrets {
            if let Some(o) = s.as_object_mut() {
                o.remove("value");
            }
        }
    }
    if let Some(app) = &r.app {
        let props = body
            .as_object_mut()
            .and_then(|o| o.get_mut("properties"))
            .and_then(Value::as_object_mut);
        if let Some(props) = props {
            if let Some(latest) = app.latest() {
                props.insert("latestRevisionName".into(), json!(latest.name));
                props.insert(
                    "latestRevisionFqdn".into(),
                    json!(format!("{}.{}", latest.name, domain)),
                );
                props.insert("template".into(), latest.template.clone());
            }
            if let Some(ready) = app.latest_ready() {
                props.insert("latestReadyRevisionName".into(), json!(ready.name));
            }
            props.insert(
                "runningStatus".into(),
                json!(if app.stopped { "Stopped" } else { "Running" }),
            );
            props.insert(
                "outboundIpAddresses".into(),
                json!(["20.1.2.3", "20.1.2.4"]),
            );
            props.insert(
                "eventStreamEndpoint".into(),
                json!(format!(
                    "https://{}.apps.azdeck.localhost/subscriptions/{}/resourceGroups/{}/containerApps/{}/eventstream",
                    r.location().to_ascii_lowercase().replace(' ', ""),
                    r.subscription_id,
                    r.resource_group,
                    name
                )),
            );
            if let Some(ingress) = props
                .get_mut("configuration")
                .and_then(|c| c.get_mut("ingress"))
                .and_then(Value::as_object_mut)
            {
                ingress.insert("fqdn".into(), json!(format!("{name}.{domain}")));
            }
        }
    }
    body
}

fn not_found_revision(app: &str, revision: &str) -> SimResponse {
    SimResponse::arm_error(
        StatusCode::NOT_FOUND,
        "ContainerAppRevisionNotFound",
        &format!("The revision '{revision}' of container app '{app}' was not found."),
    )
}

pub fn handle(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    info: &TypeInfo,
) -> SimResponse {
    let req = ctx.req;
    let depth = path.types.len();
    if depth == 1 && path.is_collection() {
        return match req.method {
            Method::GET => super::generic::list(state, ctx, path, info),
            _ => super::generic::method_not_allowed(req.method.as_str()),
        };
    }
    let app_id = path.resource_id("Microsoft.App/containerApps");
    let app_id = app_id
        .split("/revisions/")
        .next()
        .unwrap_or_default()
        .to_string();
    if depth == 1 {
        return match (&req.method, path.action.as_deref().map(str::to_ascii_lowercase).as_deref()) {
            (&Method::GET, None) => match state.resource(&app_id) {
                Some(r) => SimResponse::ok(render_app(state, r)).with_header("ETag", r.etag.clone()),
                None => resource_not_found(path, info.canonical),
            },
            (&Method::HEAD, None) => match state.resource(&app_id) {
                Some(_) => SimResponse::new(StatusCode::NO_CONTENT),
                None => SimResponse::new(StatusCode::NOT_FOUND),
            },
            (&Method::PUT, None) => put(state, ctx, path, &app_id),
            (&Method::PATCH, None) => patch(state, ctx, path, &app_id),
            (&Method::DELETE, None) => delete(state, ctx, &app_id),
            (&Method::POST, Some("listsecrets")) => list_secrets(state, path, &app_id),
            (&Method::POST, Some("start")) => start_stop(state, ctx, path, &app_id, true),
            (&Method::POST, Some("stop")) => start_stop(state, ctx, path, &app_id, false),
            (&Method::POST, Some(other)) => SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidResourceType",
                &format!("The action '{other}' on container apps is not supported by the simulated Azure."),
            ),
            _ => super::generic::method_not_allowed(req.method.as_str()),
        };
    }
    // Revisions and replicas.
    let Some(app) = state.resource(&app_id) else {
        return resource_not_found(path, "Microsoft.App/containerApps");
    };
    let app_name = app.name().to_string();
    let Some(app_state) = &app.app else {
        return resource_not_found(path, "Microsoft.App/containerApps");
    };
    if depth == 2 && path.is_collection() {
        if req.method != Method::GET {
            return super::generic::method_not_allowed(req.method.as_str());
        }
        let items: Vec<Value> = app_state
            .revisions
            .iter()
            .map(|rev| render_revision(state, app, rev))
            .collect();
        return paging::page(req, items, state.settings.page_size);
    }
    let rev_name = path.names.get(1).cloned().unwrap_or_default();
    let Some(rev) = app_state.revision(&rev_name) else {
        return not_found_revision(&app_name, &rev_name);
    };
    if depth == 3 {
        return replicas(state, app, rev, path, req.method.clone());
    }
    match (
        &req.method,
        path.action
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
    ) {
        (&Method::GET, None) => SimResponse::ok(render_revision(state, app, rev)),
        (&Method::POST, Some("activate")) => activate(state, &app_id, &rev_name),
        (&Method::POST, Some("deactivate")) => deactivate(state, &app_id, &rev_name),
        (&Method::POST, Some("restart")) => restart(state, &app_id, &rev_name),
        (&Method::POST, Some(other)) => SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceType",
            &format!("The action '{other}' on revisions is not supported by the simulated Azure."),
        ),
        _ => super::generic::method_not_allowed(req.method.as_str()),
    }
}

fn replicas(
    state: &State,
    app: &Resource,
    rev: &Revision,
    path: &ProviderPath,
    method: Method,
) -> SimResponse {
    if method != Method::GET {
        return super::generic::method_not_allowed(method.as_str());
    }
    let rendered = render_revision(state, app, rev);
    let count = rendered
        .pointer("/properties/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let running = rendered
        .pointer("/properties/runningState")
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        == "Running";
    let containers: Vec<Value> = rev
        .template
        .get("containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    json!({
                        "name": c.get("name").cloned().unwrap_or(json!("main")),
                        "containerId": format!("containerd://{}", uuid::Uuid::new_v4().simple()),
                        "ready": running,
                        "started": true,
                        "restartCount": if running { 0 } else { 3 },
                        "runningState": if running { "Running" } else { "Waiting" },
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let items: Vec<Value> = (0..count)
        .map(|i| {
            let name = format!(
                "{}-{:x}-{i}",
                rev.name,
                (rev.created.timestamp() as u64) & 0xffffff
            );
            json!({
                "id": format!("{}/revisions/{}/replicas/{}", app.id, rev.name, name),
                "name": name,
                "type": "Microsoft.App/containerApps/revisions/replicas",
                "properties": {
                    "createdTime": rev.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "runningState": if running { "Running" } else { "NotRunning" },
                    "containers": containers,
                }
            })
        })
        .collect();
    if path.is_collection() {
        return SimResponse::ok(json!({ "value": items }));
    }
    let wanted = path.names.get(2).cloned().unwrap_or_default();
    items
        .into_iter()
        .find(|i| {
            i["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&wanted))
        })
        .map(SimResponse::ok)
        .unwrap_or_else(|| {
            SimResponse::arm_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The replica '{wanted}' of revision '{}' was not found.",
                    rev.name
                ),
            )
        })
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..7)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn bad(code: &str, message: &str) -> SimResponse {
    SimResponse::arm_error(StatusCode::BAD_REQUEST, code, message)
}

/// A template without its suffix: two templates that differ only there are the same revision
/// content, but a new suffix still asks for a new revision.
fn template_content(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("revisionSuffix");
    }
    t
}

fn validate_template(template: &Value) -> Result<(), SimResponse> {
    let Some(containers) = template.get("containers").and_then(Value::as_array) else {
        return Err(bad(
            "ContainerAppInvalidSchema",
            "Invalid request body: 'properties.template.containers' is required and must contain at least one container.",
        ));
    };
    if containers.is_empty() {
        return Err(bad(
            "ContainerAppInvalidSchema",
            "Invalid request body: 'properties.template.containers' must contain at least one container.",
        ));
    }
    for (i, c) in containers.iter().enumerate() {
        if !c.get("image").is_some_and(Value::is_string)
            || !c.get("name").is_some_and(Value::is_string)
        {
            return Err(bad(
                "ContainerAppInvalidSchema",
                &format!(
                    "Invalid request body: container {i} must have a string 'name' and 'image'."
                ),
            ));
        }
    }
    if let Some(scale) = template.get("scale") {
        let min = scale.get("minReplicas").map(|v| v.as_i64());
        let max = scale.get("maxReplicas").map(|v| v.as_i64());
        if matches!(min, Some(None)) || matches!(max, Some(None)) {
            return Err(bad(
                "ContainerAppInvalidSchema",
                "Invalid request body: 'scale.minReplicas' and 'scale.maxReplicas' must be integers.",
            ));
        }
        let min = min.flatten().unwrap_or(0);
        let max = max.flatten().unwrap_or(10);
        if min < 0 || max < 1 || min > max || max > 1000 {
            return Err(bad(
                "ContainerAppInvalidScaleSettings",
                &format!("Invalid scale settings: minReplicas ({min}) must be between 0 and maxReplicas ({max}), and maxReplicas between 1 and 1000."),
            ));
        }
    }
    if let Some(suffix) = template.get("revisionSuffix").and_then(Value::as_str) {
        let ok = !suffix.is_empty()
            && suffix.len() <= 64
            && suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && suffix
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
            && suffix
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && !suffix.contains("--");
        if !ok {
            return Err(bad(
                "ContainerAppInvalidRevisionName",
                &format!("Invalid revision suffix '{}'. A revision suffix must consist of lower case alphanumeric characters or '-', start with a letter, end with an alphanumeric character, not contain '--' and be at most 64 characters.", suffix.chars().filter(|c| !c.is_control()).take(80).collect::<String>()),
            ));
        }
    }
    Ok(())
}

/// Validates `configuration.ingress.traffic` against the revisions the app will have.
fn validate_traffic(
    body: &Value,
    revisions: &[Revision],
    new_revision: Option<&str>,
) -> Result<(), SimResponse> {
    let Some(traffic) = ingress(body).and_then(|i| i.get("traffic")) else {
        return Ok(());
    };
    let Some(entries) = traffic.as_array() else {
        return Err(bad(
            "ContainerAppInvalidSchema",
            "Invalid request body: 'ingress.traffic' must be an array.",
        ));
    };
    let mode = revision_mode(body);
    let mut sum = 0i64;
    let mut labels: Vec<String> = Vec::new();
    for e in entries {
        let weight = match e.get("weight") {
            None | Some(Value::Null) => 0,
            Some(w) => match w.as_i64() {
                Some(w) if (0..=100).contains(&w) => w,
                _ => {
                    return Err(bad(
                        "ContainerAppInvalidTrafficWeight",
                        &format!("Traffic weight '{w}' is invalid: a weight must be an integer between 0 and 100."),
                    ))
                }
            },
        };
        sum += weight;
        let latest = e.get("latestRevision").and_then(Value::as_bool) == Some(true);
        let name = e.get("revisionName").and_then(Value::as_str);
        if latest && name.is_some() {
            return Err(bad(
                "ContainerAppInvalidTrafficWeight",
                "A traffic weight entry cannot set both 'revisionName' and 'latestRevision'.",
            ));
        }
        if let Some(name) = name {
            let known = revisions.iter().find(|r| r.name.eq_ignore_ascii_case(name));
            let is_new = new_revision.is_some_and(|n| n.eq_ignore_ascii_case(name));
            if known.is_none() && !is_new {
                return Err(bad(
                    "ContainerAppRevisionNotFound",
                    &format!("Traffic weight refers to revision '{name}', which does not exist."),
                ));
            }
            if mode == "Multiple" && weight > 0 && known.is_some_and(|r| !r.active) && !is_new {
                return Err(bad(
                    "ContainerAppInactiveRevisionTraffic",
                    &format!("Cannot assign traffic to revision '{name}' because it is not active. Activate the revision first."),
                ));
            }
        } else if !latest {
            return Err(bad(
                "ContainerAppInvalidTrafficWeight",
                "Each traffic weight entry must set 'revisionName' or 'latestRevision: true'.",
            ));
        }
        if let Some(label) = e.get("label").and_then(Value::as_str) {
            let ok = !label.is_empty()
                && label.len() <= 64
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && label.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            if !ok {
                return Err(bad(
                    "ContainerAppInvalidTrafficLabel",
                    &format!("Traffic label '{}' is invalid: a label must be lower case alphanumeric characters or '-' and start with a letter.", label.chars().filter(|c| !c.is_control()).take(80).collect::<String>()),
                ));
            }
            if labels.iter().any(|l| l == label) {
                return Err(bad(
                    "ContainerAppDuplicateTrafficLabel",
                    &format!(
                        "Traffic label '{label}' is used more than once; labels must be unique."
                    ),
                ));
            }
            labels.push(label.to_string());
        }
    }
    if !entries.is_empty() && sum != 100 {
        return Err(bad(
            "ContainerAppInvalidTrafficWeight",
            &format!("The sum of traffic weights must be 100, but it is {sum}."),
        ));
    }
    if mode == "Single" {
        // Only a real split is refused. One entry (100%) is accepted whatever revision it names —
        // the spec's own ContainerApps_CreateOrUpdate example sends one naming an older revision
        // without a revision mode and documents 200/201 — and all traffic still goes to the latest.
        let split = entries.len() > 1;
        if split {
            return Err(bad(
                "ContainerAppTrafficSplitNotAllowedInSingleRevisionMode",
                "Revision weights can not be used in Single revision mode: all traffic goes to the latest revision. Switch 'activeRevisionsMode' to 'Multiple' to split traffic.",
            ));
        }
    }
    Ok(())
}

fn check_environment(state: &State, body: &Value) -> Result<(), SimResponse> {
    let env_id = body
        .pointer("/properties/environmentId")
        .or_else(|| body.pointer("/properties/managedEnvironmentId"))
        .and_then(Value::as_str);
    match env_id {
        None => Err(bad(
            "ContainerAppInvalidSchema",
            "Invalid request body: 'properties.environmentId' (or 'managedEnvironmentId') is required.",
        )),
        Some(id) if state.resource(id).is_none() => Err(SimResponse::arm_error(
            StatusCode::NOT_FOUND,
            "ManagedEnvironmentNotFound",
            &format!("The managed environment '{id}' was not found."),
        )),
        Some(_) => Ok(()),
    }
}

/// Applies a new desired body (`PUT` or the result of a `PATCH`) to an app: validates it, creates
/// a revision when the template changed, and starts the provisioning operation.
fn apply(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    app_id: &str,
    mut body: Value,
    is_patch: bool,
) -> SimResponse {
    if let Some(b) = body.as_object() {
        if let Err(e) = check_put_body(
            b,
            super::type_info("Microsoft.App/containerApps").unwrap_or(&super::TYPES[1]),
        ) {
            return e;
        }
    }
    if let Err(e) = check_environment(state, &body) {
        return e;
    }
    let template = body
        .pointer("/properties/template")
        .cloned()
        .unwrap_or(Value::Null);
    if let Err(e) = validate_template(&template) {
        return e;
    }
    if let Some(mode) = body.pointer("/properties/configuration/activeRevisionsMode") {
        let ok = mode.as_str().is_some_and(|m| {
            m.eq_ignore_ascii_case("single") || m.eq_ignore_ascii_case("multiple")
        });
        if !ok {
            return bad(
                "ContainerAppInvalidSchema",
                &format!("Invalid value {mode} for 'activeRevisionsMode': expected 'Single' or 'Multiple'."),
            );
        }
    }
    let existing = state.resource(app_id).cloned();
    let app_name = path.names.first().cloned().unwrap_or_default();
    let mut app_state = existing
        .as_ref()
        .and_then(|r| r.app.clone())
        .unwrap_or_default();
    let changed = match app_state.latest() {
        None => true,
        Some(latest) => {
            template_content(&latest.template) != template_content(&template)
                || (template.get("revisionSuffix").is_some()
                    && template.get("revisionSuffix") != latest.template.get("revisionSuffix"))
        }
    };
    let new_revision = if changed {
        let suffix = template
            .get("revisionSuffix")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(random_suffix);
        let name = format!("{app_name}--{suffix}");
        if app_state.revision(&name).is_some() {
            return bad(
                "ContainerAppInvalidRevisionName",
                &format!(
                    "A revision named '{name}' already exists. Use a different revision suffix."
                ),
            );
        }
        Some(name)
    } else {
        None
    };
    if let Err(e) = validate_traffic(&body, &app_state.revisions, new_revision.as_deref()) {
        return e;
    }
    // Default traffic: all to the latest revision.
    if ingress(&body).is_some() && ingress(&body).and_then(|i| i.get("traffic")).is_none() {
        if let Some(i) = body
            .pointer_mut("/properties/configuration/ingress")
            .and_then(Value::as_object_mut)
        {
            i.insert(
                "traffic".into(),
                json!([{ "weight": 100, "latestRevision": true }]),
            );
        }
    }
    let now = state.now();
    if let Some(name) = &new_revision {
        let image = template
            .pointer("/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let health = if state.image_is_unhealthy(&image) {
            Health::Unhealthy
        } else {
            Health::Healthy
        };
        app_state.revisions.push(Revision {
            name: name.clone(),
            created: now,
            last_active: None,
            template: template.clone(),
            active: false,
            health,
            provisioning: Provisioning::Provisioning,
            started: now,
            provisioning_error: None,
        });
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("id".into(), json!(app_id));
        o.insert("name".into(), json!(app_name));
        o.insert("type".into(), json!("Microsoft.App/containerApps"));
    }
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("provisioningState".into(), json!("InProgress"));
        if !props.contains_key("environmentId") {
            if let Some(e) = props.get("managedEnvironmentId").cloned() {
                props.insert("environmentId".into(), e);
            }
        }
        if !props.contains_key("managedEnvironmentId") {
            if let Some(e) = props.get("environmentId").cloned() {
                props.insert("managedEnvironmentId".into(), e);
            }
        }
        let config = props.entry("configuration").or_insert_with(|| json!({}));
        if let Some(c) = config.as_object_mut() {
            c.entry("activeRevisionsMode").or_insert(json!("Single"));
        }
    }
    let created = existing.is_none();
    let resource = Resource {
        id: app_id.to_string(),
        resource_type: "Microsoft.App/containerApps".into(),
        subscription_id: path.subscription.clone(),
        resource_group: path.resource_group.clone().unwrap_or_default(),
        body,
        etag: Resource::new_etag(),
        created_at: existing.as_ref().map(|r| r.created_at).unwrap_or(now),
        changed_at: now,
        busy_with: None,
        app: Some(app_state),
    };
    let location = resource.location().to_string();
    state.insert_resource(resource);
    let op = lro::begin(
        state,
        ctx,
        "Microsoft.App",
        &location,
        app_id,
        Effect::ContainerAppSettle { new_revision },
    );
    let etag = state
        .resource(app_id)
        .map(|r| r.etag.clone())
        .unwrap_or_default();
    if is_patch {
        return lro::accepted(state, ctx, &op);
    }
    let body = state
        .resource(app_id)
        .map(|r| render_app(state, r))
        .unwrap_or_default();
    let mut resp = SimResponse::json(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        body,
    )
    .with_header("ETag", etag);
    lro::headers(state, ctx, &mut resp, &op, false);
    resp
}

fn put(state: &mut State, ctx: &ArmCtx, path: &ProviderPath, app_id: &str) -> SimResponse {
    let body = match ctx.req.json_object_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Err(e) = lro::conflict_if_busy(state, app_id) {
        return e;
    }
    if let Err(e) = check_preconditions(ctx, state.resource(app_id)) {
        return e;
    }
    let mut body = Value::Object(body);
    // Secrets sent without a value keep the value they had (clients round-trip GET output).
    if let Some(existing) = state.resource(app_id) {
        keep_secret_values(&existing.body, &mut body);
    }
    apply(state, ctx, path, app_id, body, false)
}

fn keep_secret_values(old: &Value, new: &mut Value) {
    let Some(old_secrets) = old
        .pointer("/properties/configuration/secrets")
        .and_then(Value::as_array)
    else {
        return;
    };
    let Some(new_secrets) = new
        .pointer_mut("/properties/configuration/secrets")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for s in new_secrets {
        let name = s.get("name").and_then(Value::as_str).map(str::to_string);
        let has_source = s.get("value").is_some() || s.get("keyVaultUrl").is_some();
        if let (Some(name), false) = (name, has_source) {
            if let Some(old) = old_secrets
                .iter()
                .find(|o| o.get("name").and_then(Value::as_str) == Some(name.as_str()))
            {
                if let (Some(o), Some(v)) = (s.as_object_mut(), old.get("value")) {
                    o.insert("value".into(), v.clone());
                }
            }
        }
    }
}

fn patch(state: &mut State, ctx: &ArmCtx, path: &ProviderPath, app_id: &str) -> SimResponse {
    let patch = match ctx.req.json_object_body() {
        Ok(b) => Value::Object(b),
        Err(e) => return e,
    };
    let Some(existing) = state.resource(app_id) else {
        return resource_not_found(path, "Microsoft.App/containerApps");
    };
    if let Err(e) = lro::conflict_if_busy(state, app_id) {
        return e;
    }
    if let Err(e) = check_preconditions(ctx, Some(existing)) {
        return e;
    }
    let mut body = existing.body.clone();
    // The current template lives on the latest revision.
    if let (Some(latest), Some(props)) = (
        existing.app.as_ref().and_then(|a| a.latest()),
        body.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        props.insert("template".into(), latest.template.clone());
    }
    let mut patch = patch;
    if let Some(p) = patch.as_object_mut() {
        for k in ["id", "name", "type", "location"] {
            p.remove(k);
        }
    }
    // A revision suffix is for one revision only: a PATCH that does not name one gets a new one.
    if let Some(t) = body
        .pointer_mut("/properties/template")
        .and_then(Value::as_object_mut)
    {
        if patch
            .pointer("/properties/template/revisionSuffix")
            .is_none()
        {
            t.remove("revisionSuffix");
        }
    }
    merge_patch(&mut body, &patch);
    apply(state, ctx, path, app_id, body, true)
}

fn delete(state: &mut State, ctx: &ArmCtx, app_id: &str) -> SimResponse {
    let Some(existing) = state.resource(app_id) else {
        return SimResponse::new(StatusCode::NO_CONTENT);
    };
    if let Err(e) = check_preconditions(ctx, Some(existing)) {
        return e;
    }
    if let Err(e) = lro::conflict_if_busy(state, app_id) {
        return e;
    }
    let location = existing.location().to_string();
    super::generic::set_provisioning_state(state, app_id, "Deleting");
    let op = lro::begin(
        state,
        ctx,
        "Microsoft.App",
        &location,
        app_id,
        Effect::DeleteResource,
    );
    lro::accepted(state, ctx, &op)
}

fn list_secrets(state: &State, path: &ProviderPath, app_id: &str) -> SimResponse {
    let Some(r) = state.resource(app_id) else {
        return resource_not_found(path, "Microsoft.App/containerApps");
    };
    let secrets: Vec<Value> = r
        .body
        .pointer("/properties/configuration/secrets")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .map(|s| {
                    let mut out = Map::new();
                    for k in ["name", "value", "identity", "keyVaultUrl"] {
                        if let Some(v) = s.get(k) {
                            out.insert(k.into(), v.clone());
                        }
                    }
                    Value::Object(out)
                })
                .collect()
        })
        .unwrap_or_default();
    SimResponse::ok(json!({ "value": secrets }))
}

fn start_stop(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    app_id: &str,
    start: bool,
) -> SimResponse {
    let Some(r) = state.resource(app_id) else {
        return resource_not_found(path, "Microsoft.App/containerApps");
    };
    if let Err(e) = lro::conflict_if_busy(state, app_id) {
        return e;
    }
    let location = r.location().to_string();
    let effect = if start {
        Effect::ContainerAppStart
    } else {
        Effect::ContainerAppStop
    };
    let op = lro::begin(state, ctx, "Microsoft.App", &location, app_id, effect);
    lro::accepted(state, ctx, &op)
}

fn revision_error(message: String) -> SimResponse {
    bad("RevisionOperationError", &message)
}

fn activate(state: &mut State, app_id: &str, rev_name: &str) -> SimResponse {
    let now = state.now();
    let Some(r) = state.resource_mut(app_id) else {
        return revision_error(format!(
            "Error activating revision {rev_name}: the container app was not found."
        ));
    };
    let single = revision_mode(&r.body) == "Single";
    let Some(app) = r.app.as_mut() else {
        return revision_error(format!("Error activating revision {rev_name}."));
    };
    match app.revision(rev_name).map(|x| x.provisioning) {
        Some(Provisioning::Provisioned) => {}
        Some(_) => {
            return revision_error(format!(
                "Error activating revision {rev_name}. Details Reason: Bad Request. The revision is not provisioned."
            ))
        }
        None => return not_found_revision(r.name(), rev_name),
    }
    if single {
        // Single mode: the activated revision becomes the one active revision.
        for other in app.revisions.iter_mut() {
            if !other.name.eq_ignore_ascii_case(rev_name) && other.active {
                other.active = false;
                other.last_active = Some(now);
            }
        }
    }
    if let Some(rev) = app.revision_mut(rev_name) {
        if !rev.active {
            rev.active = true;
            rev.last_active = None;
            rev.started = now;
        }
    }
    r.changed_at = now;
    // The service answers with a JSON string; az prints it (and fails on an empty body).
    SimResponse::ok(json!("Activate succeeded"))
}

fn deactivate(state: &mut State, app_id: &str, rev_name: &str) -> SimResponse {
    let now = state.now();
    let weights = state
        .resource(app_id)
        .map(|r| traffic_weights(state, r))
        .unwrap_or_default();
    let Some(r) = state.resource_mut(app_id) else {
        return revision_error(format!("Error deactivating revision {rev_name}."));
    };
    let single = revision_mode(&r.body) == "Single";
    let app_name = r.name().to_string();
    let Some(app) = r.app.as_mut() else {
        return revision_error(format!("Error deactivating revision {rev_name}."));
    };
    if app.revision(rev_name).is_none() {
        return not_found_revision(&app_name, rev_name);
    }
    let weight = weights
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(rev_name))
        .map(|(_, w)| *w)
        .unwrap_or(0);
    if single
        && app.revisions.iter().filter(|x| x.active).count() <= 1
        && app.revision(rev_name).is_some_and(|x| x.active)
    {
        return revision_error(format!(
            "Error deactivating revision {rev_name}. Details Reason: Bad Request. It is the only active revision of an app in Single revision mode; deploy or activate another revision instead."
        ));
    }
    if weight > 0 {
        return revision_error(format!(
            "Error deactivating revision {rev_name}. Details Reason: Bad Request. The revision receives {weight}% of the traffic; move its traffic to another revision first."
        ));
    }
    if let Some(rev) = app.revision_mut(rev_name) {
        if rev.active {
            rev.active = false;
            rev.last_active = Some(now);
        }
    }
    // The service answers with a JSON string; az prints it (and fails on an empty body).
    SimResponse::ok(json!("Deactivate succeeded"))
}

fn restart(state: &mut State, app_id: &str, rev_name: &str) -> SimResponse {
    let now = state.now();
    let Some(r) = state.resource_mut(app_id) else {
        return revision_error(format!("Error restarting revision {rev_name}."));
    };
    let app_name = r.name().to_string();
    let Some(app) = r.app.as_mut() else {
        return revision_error(format!("Error restarting revision {rev_name}."));
    };
    let Some(rev) = app.revision_mut(rev_name) else {
        return not_found_revision(&app_name, rev_name);
    };
    if !rev.active {
        return revision_error(format!(
            "Error restarting revision {rev_name}. Details Reason: Bad Request. Cannot restart an inactive revision; activate it first."
        ));
    }
    rev.started = now;
    // The service answers with a JSON string; az prints it (and fails on an empty body).
    SimResponse::ok(json!("Restart succeeded"))
}

/// Completion of a container app operation.
pub fn complete(state: &mut State, op: &Operation) {
    let now = state.now();
    let Some(r) = state.resource_mut(&op.resource_id) else {
        return;
    };
    let single = revision_mode(&r.body) == "Single";
    let Some(app) = r.app.as_mut() else { return };
    match &op.effect {
        Effect::ContainerAppSettle {
            new_revision: Some(name),
        } => {
            if single {
                for other in app.revisions.iter_mut() {
                    if !other.name.eq_ignore_ascii_case(name) && other.active {
                        other.active = false;
                        other.last_active = Some(now);
                    }
                }
            }
            if let Some(rev) = app.revision_mut(name) {
                rev.provisioning = Provisioning::Provisioned;
                rev.active = true;
                rev.started = now;
            }
        }
        Effect::ContainerAppStart => app.stopped = false,
        Effect::ContainerAppStop => app.stopped = true,
        _ => {}
    }
    if let Some(p) = r.body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("provisioningState".into(), json!("Succeeded"));
    }
}

/// A failed container app operation: the new revision fails, traffic stays where it was.
pub fn fail(state: &mut State, op: &Operation) {
    let message = match &op.status {
        OpStatus::Failed { message, .. } => message.clone(),
        _ => "The operation failed.".to_string(),
    };
    let Some(r) = state.resource_mut(&op.resource_id) else {
        return;
    };
    if let (
        Some(app),
        Effect::ContainerAppSettle {
            new_revision: Some(name),
        },
    ) = (r.app.as_mut(), &op.effect)
    {
        if let Some(rev) = app.revision_mut(name) {
            rev.provisioning = Provisioning::Failed;
            rev.provisioning_error = Some(
                op.planned_failure
                    .as_ref()
                    .map(|(_, m)| m.clone())
                    .unwrap_or(message),
            );
        }
    }
    if let Some(p) = r.body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert("provisioningState".into(), json!("Failed"));
    }
}
