//! Container Apps actions: read an app and its revisions, pick the revision to roll back to,
//! activate / deactivate / restart revisions, set traffic, scale, and re-apply an older revision's
//! template (how Single revision mode rolls back).
//!
//! `app` is always the app's full ARM id. Every action makes only the requests its answer needs:
//! `run` reads what the change is computed from once and sends the change once; `plan` reads live
//! state (it may read more, to explain) and lists the exact calls `run` would send.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::azure::containerapps::{
    app_url, revision_url, AppError, ContainerApp, ContainerApps, Revision, TrafficWeight,
};
use crate::azure::error::AzureError;
use crate::azure::http::ClientError;
use crate::azure::lro::{LroError, Progress};
use crate::azure::resources::ResourceId;
use crate::runbook::action::{
    Action, ActionContext, ActionError, ActionSpec, Change, Check, Plan, PlannedCall, Registry,
    KNOWN_AFTER_APPLY,
};

pub fn register(registry: &mut Registry) {
    registry.register(Show);
    registry.register(RevisionsList);
    registry.register(PickPreviousHealthy);
    registry.register(Activate);
    registry.register(Deactivate);
    registry.register(Restart);
    registry.register(TrafficSet);
    registry.register(ScaleSet);
    registry.register(TemplateApply);
    registry.register(WaitHealthy);
}

const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Template changes provision a revision: minutes on the real service.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const TRAFFIC_FIELD: &str = "properties.configuration.ingress.traffic";

// ---------------------------------------------------------------------------------------------
// Shared pieces

fn client<'a>(ctx: &'a ActionContext<'_>) -> Result<ContainerApps<'a>, ActionError> {
    Ok(ContainerApps::new(ctx.azure()?))
}

/// The path a call goes to, as the request log shows it (leading `/`, api-version).
fn call(method: &str, url: Result<String, AppError>) -> Result<PlannedCall, ActionError> {
    Ok(PlannedCall::new(method, format!("/{}", url?)))
}

fn app_name(app: &str) -> &str {
    app.trim_end_matches('/').rsplit('/').next().unwrap_or(app)
}

fn revision_id(app: &str, revision: &str) -> String {
    format!("{}/revisions/{revision}", app.trim_end_matches('/'))
}

/// Reports a long-running operation's progress as the step's progress lines.
fn progress_lines<'c>(ctx: &ActionContext<'c>, what: &'c str) -> impl FnMut(&Progress) + Send + 'c {
    let sink = ctx.progress;
    move |p: &Progress| {
        sink(format!(
            "{what}: {} after {} s",
            p.status,
            p.elapsed.as_secs()
        ))
    }
}

fn azure_error(e: &AppError) -> Option<&AzureError> {
    match e {
        AppError::Client(c) => match c.as_ref() {
            ClientError::Azure(a) => Some(a),
            _ => None,
        },
        AppError::Lro(l) => match l.as_ref() {
            LroError::Client(ClientError::Azure(a)) => Some(a),
            _ => None,
        },
        _ => None,
    }
}

/// Azure's refusal of a change whose conditions do not hold (a revision that does not exist, has
/// traffic, is inactive; an app changed since it was read) as a failed precondition carrying the
/// service's own words; every other error as usual.
fn refusal(e: AppError, codes: &[&str]) -> ActionError {
    match azure_error(&e) {
        Some(AzureError::BadRequest { code, message, .. } | AzureError::NotFound { code, message })
            if codes.iter().any(|c| c.eq_ignore_ascii_case(code)) =>
        {
            ActionError::Precondition(format!("Azure refused: {message} ({code})"))
        }
        Some(AzureError::PreconditionFailed { .. }) => ActionError::Precondition(
            "the app changed since it was read (ETag mismatch); nothing was changed: run the step again".into(),
        ),
        _ => ActionError::from(e),
    }
}

const REVISION_REFUSALS: &[&str] = &["RevisionOperationError", "ContainerAppRevisionNotFound"];
const TRAFFIC_REFUSALS: &[&str] = &[
    "ContainerAppRevisionNotFound",
    "ContainerAppInactiveRevisionTraffic",
    "ContainerAppInvalidTrafficWeight",
    "ContainerAppDuplicateTrafficLabel",
    "ContainerAppInvalidTrafficLabel",
    "ContainerAppTrafficSplitNotAllowedInSingleRevisionMode",
];
const TEMPLATE_REFUSALS: &[&str] = &[
    "ContainerAppInvalidScaleSettings",
    "ContainerAppInvalidRevisionName",
    "ContainerAppInvalidSchema",
];

fn template_of(app: &ContainerApp) -> Value {
    app.properties.template.clone().unwrap_or(Value::Null)
}

fn image_of(template: &Value) -> Option<String> {
    template
        .pointer("/containers/0/image")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn scale_of(template: &Value) -> Replicas {
    Replicas {
        min_replicas: template
            .pointer("/scale/minReplicas")
            .and_then(Value::as_i64),
        max_replicas: template
            .pointer("/scale/maxReplicas")
            .and_then(Value::as_i64),
    }
}

/// A template as revision content: the suffix names a revision, it is not part of what runs.
fn without_suffix(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(o) = t.as_object_mut() {
        o.remove("revisionSuffix");
    }
    t
}

fn ingress_traffic(app: &ContainerApp) -> Option<Vec<TrafficEntry>> {
    app.properties
        .configuration
        .as_ref()
        .and_then(|c| c.ingress.as_ref())
        .map(|i| {
            i.traffic
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(TrafficEntry::from_weight)
                .collect()
        })
}

/// The revision serving now: the newest with traffic; without traffic (no ingress) the newest
/// active one; with none active, the newest.
fn serving(revisions: &[Revision]) -> Option<&Revision> {
    revisions
        .iter()
        .rev()
        .find(|r| r.properties.traffic_weight.unwrap_or(0) > 0)
        .or_else(|| revisions.iter().rev().find(|r| r.is_active()))
        .or_else(|| revisions.last())
}

fn find_revision<'r>(revisions: &'r [Revision], name: &str) -> Option<&'r Revision> {
    revisions.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// A plan is computed before the steps ahead of it run, which may change what it depends on
/// (activate a revision, move its traffic): such conditions are told, not enforced, in a plan.
fn as_things_stand(why: String) -> String {
    format!(
        "as things stand, Azure would refuse this step (unless an earlier step changes it): {why}"
    )
}

fn revision_missing(app: &str, revision: &str) -> ActionError {
    ActionError::Precondition(format!(
        "{} has no revision named '{revision}'",
        app_name(app)
    ))
}

// ---------------------------------------------------------------------------------------------
// Shapes shared by several actions

/// One traffic rule of an app's ingress, as `containerapp.show` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrafficEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_name: Option<String>,
    pub weight: i64,
    /// Follows the latest ready revision (present only when true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_revision: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl TrafficEntry {
    fn from_weight(w: &TrafficWeight) -> Self {
        TrafficEntry {
            revision_name: w.revision_name.clone(),
            weight: w.weight.unwrap_or(0),
            latest_revision: w.latest_revision.filter(|l| *l),
            label: w.label.clone(),
        }
    }

    fn to_body(&self) -> Value {
        let mut o = Map::new();
        if let Some(n) = &self.revision_name {
            o.insert("revisionName".into(), json!(n));
        }
        if self.latest_revision == Some(true) {
            o.insert("latestRevision".into(), json!(true));
        }
        if let Some(l) = &self.label {
            o.insert("label".into(), json!(l));
        }
        o.insert("weight".into(), json!(self.weight));
        Value::Object(o)
    }

    /// What decides routing: two rule lists with the same keys route alike.
    fn key(&self) -> (String, bool, Option<String>, i64) {
        (
            self.revision_name
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            self.latest_revision == Some(true),
            self.label.clone(),
            self.weight,
        )
    }
}

/// Rules compared as routing: order does not matter, and a 0% rule without a label routes nothing.
fn same_routing(a: &[TrafficEntry], b: &[TrafficEntry]) -> bool {
    let norm = |t: &[TrafficEntry]| {
        let mut keys: Vec<_> = t
            .iter()
            .filter(|e| e.weight != 0 || e.label.is_some())
            .map(TrafficEntry::key)
            .collect();
        keys.sort();
        keys
    };
    norm(a) == norm(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppInput {
    /// The container app's full ARM resource id.
    pub app: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevisionInput {
    /// The container app's full ARM resource id.
    pub app: String,
    /// The revision's full name, e.g. `my-app--v42`.
    pub revision: String,
}

// ---------------------------------------------------------------------------------------------
// containerapp.show

pub struct Show;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShowOutput {
    pub id: String,
    pub name: String,
    pub resource_group: Option<String>,
    pub location: Option<String>,
    /// `Single` or `Multiple`.
    pub revision_mode: String,
    pub latest_revision: Option<String>,
    pub latest_ready_revision: Option<String>,
    /// `null` when the app has no ingress.
    pub fqdn: Option<String>,
    /// The ingress traffic rules (empty without ingress); `containerapp.traffic.set` takes them back.
    pub traffic: Vec<TrafficEntry>,
    /// Oldest first.
    pub active_revisions: Vec<String>,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    /// The first container's image in the app's current template.
    pub image: Option<String>,
    pub provisioning_state: Option<String>,
    /// Every revision, oldest first, as read with the app (a later
    /// `containerapp.revision.pick_previous_healthy` can take them instead of reading again).
    pub revisions: Vec<RevisionRow>,
}

fn show_output(app: &ContainerApp, revisions: &[Revision]) -> ShowOutput {
    let template = template_of(app);
    let scale = scale_of(&template);
    let resource_group = ResourceId::parse(&app.id)
        .ok()
        .and_then(|r| r.resource_group);
    ShowOutput {
        id: app.id.clone(),
        name: app.name.clone(),
        resource_group,
        location: app.location.clone(),
        revision_mode: app.revision_mode().to_string(),
        latest_revision: app.properties.latest_revision_name.clone(),
        latest_ready_revision: app.properties.latest_ready_revision_name.clone(),
        fqdn: app
            .properties
            .configuration
            .as_ref()
            .and_then(|c| c.ingress.as_ref())
            .and_then(|i| i.fqdn.clone()),
        traffic: ingress_traffic(app).unwrap_or_default(),
        active_revisions: revisions
            .iter()
            .filter(|r| r.is_active())
            .map(|r| r.name.clone())
            .collect(),
        min_replicas: scale.min_replicas,
        max_replicas: scale.max_replicas,
        image: image_of(&template),
        provisioning_state: app.properties.provisioning_state.clone(),
        revisions: revisions.iter().map(revision_row).collect(),
    }
}

async fn read_show(ctx: &ActionContext<'_>, app: &str) -> Result<ShowOutput, ActionError> {
    let apps = client(ctx)?;
    let current = apps.get(app).await?;
    let revisions = apps.revisions(app).await?;
    Ok(show_output(&current, &revisions))
}

#[async_trait]
impl Action for Show {
    type Input = AppInput;
    type Output = ShowOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.show",
            summary: "Read a container app: revision mode, latest and active revisions, FQDN, traffic, scale, image",
            mutates: false,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &AppInput) -> Result<Plan, ActionError> {
        let calls = vec![
            call("GET", app_url(&input.app, ""))?,
            call("GET", app_url(&input.app, "/revisions"))?,
        ];
        // Reading changes nothing, so the plan shows what later steps will be given.
        let outputs = serde_json::to_value(read_show(ctx, &input.app).await?)
            .map_err(|e| ActionError::Failed(format!("output: {e}")))?;
        Ok(Plan {
            calls,
            outputs: Some(outputs),
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &AppInput,
    ) -> Result<ShowOutput, ActionError> {
        read_show(ctx, &input.app).await
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.revisions.list

pub struct RevisionsList;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRow {
    pub name: String,
    pub active: bool,
    pub health_state: Option<String>,
    pub running_state: Option<String>,
    pub traffic_weight: i64,
    pub created_time: Option<String>,
    pub image: Option<String>,
    pub replicas: i64,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RevisionsOutput {
    /// Oldest first.
    pub revisions: Vec<RevisionRow>,
}

fn revision_row(r: &Revision) -> RevisionRow {
    RevisionRow {
        name: r.name.clone(),
        active: r.is_active(),
        health_state: r.properties.health_state.clone(),
        running_state: r.properties.running_state.clone(),
        traffic_weight: r.properties.traffic_weight.unwrap_or(0),
        created_time: r.properties.created_time.clone(),
        image: r.image().map(str::to_string),
        replicas: r.properties.replicas.unwrap_or(0),
        labels: r
            .properties
            .labels
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

async fn read_revisions(
    ctx: &ActionContext<'_>,
    app: &str,
) -> Result<RevisionsOutput, ActionError> {
    let revisions = client(ctx)?.revisions(app).await?;
    Ok(RevisionsOutput {
        revisions: revisions.iter().map(revision_row).collect(),
    })
}

#[async_trait]
impl Action for RevisionsList {
    type Input = AppInput;
    type Output = RevisionsOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revisions.list",
            summary:
                "List a container app's revisions, oldest first, with health, traffic and image",
            mutates: false,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &AppInput) -> Result<Plan, ActionError> {
        let calls = vec![call("GET", app_url(&input.app, "/revisions"))?];
        let outputs = serde_json::to_value(read_revisions(ctx, &input.app).await?)
            .map_err(|e| ActionError::Failed(format!("output: {e}")))?;
        Ok(Plan {
            calls,
            outputs: Some(outputs),
            notes: vec!["follows nextLink if the list has more pages".into()],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &AppInput,
    ) -> Result<RevisionsOutput, ActionError> {
        read_revisions(ctx, &input.app).await
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.revision.pick_previous_healthy

/// The revision to roll back to. The rule:
///
/// 1. The revision serving now is the newest revision with traffic (`trafficWeight > 0`; in
///    Multiple mode that resolves `latestRevision` rules, in Single mode it is the one active
///    revision). Without any traffic (an app without ingress) it is the newest active revision,
///    and with none active, the newest revision.
/// 2. The pick is the newest revision created strictly before it whose `healthState` is
///    `Healthy` and whose name is not in `exclude`. Inactive revisions count: they report the
///    health they last had.
///
/// No such revision is a failed precondition.
pub struct PickPreviousHealthy;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickInput {
    /// The container app's full ARM resource id.
    pub app: String,
    /// Revision names never to pick (e.g. ones already tried).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The revisions as an earlier `containerapp.show` read them (`steps.X.outputs.revisions`):
    /// the pick is then made from the same snapshot the rollback undoes to, without reading again.
    #[serde(default)]
    pub revisions: Option<Vec<RevisionRow>>,
}

/// A revision rebuilt from a row of `containerapp.show` (what the pick rule reads of it).
fn revision_from_row(row: &RevisionRow) -> Revision {
    Revision {
        id: String::new(),
        name: row.name.clone(),
        properties: crate::azure::containerapps::RevisionProperties {
            created_time: row.created_time.clone(),
            active: Some(row.active),
            traffic_weight: Some(row.traffic_weight),
            health_state: row.health_state.clone(),
            running_state: row.running_state.clone(),
            replicas: Some(row.replicas),
            template: row
                .image
                .as_ref()
                .map(|i| serde_json::json!({"containers": [{"image": i}]})),
            ..Default::default()
        },
        extra: Default::default(),
    }
}

/// The given revisions, or the app's as read now.
async fn revisions_for_pick(
    ctx: &ActionContext<'_>,
    input: &PickInput,
) -> Result<Vec<Revision>, ActionError> {
    match &input.revisions {
        Some(rows) => Ok(rows.iter().map(revision_from_row).collect()),
        None => Ok(client(ctx)?.revisions(&input.app).await?),
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PickOutput {
    pub name: String,
    pub image: Option<String>,
    pub created_time: Option<String>,
    pub active: bool,
    pub health_state: Option<String>,
}

fn pick_previous_healthy(
    app: &str,
    revisions: &[Revision],
    exclude: &[String],
) -> Result<PickOutput, ActionError> {
    let Some(current) = serving(revisions) else {
        return Err(ActionError::Precondition(format!(
            "{} has no revisions",
            app_name(app)
        )));
    };
    // Revisions arrive oldest first; those before `current` in that order were created before it.
    let position = revisions
        .iter()
        .position(|r| std::ptr::eq(r, current))
        .unwrap_or(0);
    let pick = revisions[..position]
        .iter()
        .rev()
        .find(|r| r.is_healthy() && !exclude.iter().any(|x| x.eq_ignore_ascii_case(&r.name)));
    match pick {
        Some(r) => Ok(PickOutput {
            name: r.name.clone(),
            image: r.image().map(str::to_string),
            created_time: r.properties.created_time.clone(),
            active: r.is_active(),
            health_state: r.properties.health_state.clone(),
        }),
        None => Err(ActionError::Precondition(format!(
            "no healthy revision of {} was created before {} (the revision serving now){}",
            app_name(app),
            current.name,
            if exclude.is_empty() {
                String::new()
            } else {
                format!(", leaving out {}", exclude.join(", "))
            }
        ))),
    }
}

#[async_trait]
impl Action for PickPreviousHealthy {
    type Input = PickInput;
    type Output = PickOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revision.pick_previous_healthy",
            summary: "Find the newest healthy revision created before the one serving now",
            mutates: false,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &PickInput) -> Result<Plan, ActionError> {
        let calls = match input.revisions {
            Some(_) => Vec::new(),
            None => vec![call("GET", app_url(&input.app, "/revisions"))?],
        };
        let revisions = revisions_for_pick(ctx, input).await?;
        let picked = pick_previous_healthy(&input.app, &revisions, &input.exclude)?;
        let outputs = serde_json::to_value(&picked)
            .map_err(|e| ActionError::Failed(format!("output: {e}")))?;
        Ok(Plan {
            calls,
            outputs: Some(outputs),
            notes: vec![format!(
                "picks {} (serving now: {})",
                picked.name,
                serving(&revisions)
                    .map(|r| r.name.as_str())
                    .unwrap_or("none")
            )],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &PickInput,
    ) -> Result<PickOutput, ActionError> {
        let revisions = revisions_for_pick(ctx, input).await?;
        pick_previous_healthy(&input.app, &revisions, &input.exclude)
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.revision.activate / deactivate

pub struct Activate;
pub struct Deactivate;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RevisionStateOutput {
    pub revision: String,
    pub active: bool,
}

async fn check_active(
    ctx: &ActionContext<'_>,
    input: &RevisionInput,
    wanted: bool,
) -> Result<Check, ActionError> {
    match client(ctx)?.revision(&input.app, &input.revision).await {
        Ok(r) if r.is_active() == wanted => Ok(Check::Applied),
        Ok(_) => Ok(Check::NotApplied),
        Err(e) => Err(refusal(e, REVISION_REFUSALS)),
    }
}

fn active_change(app: &str, revision: &str, before: bool, after: bool) -> Change {
    Change {
        resource: revision_id(app, revision),
        field: "active".into(),
        before: json!(before),
        after: json!(after),
    }
}

/// What the plans of `activate` and `deactivate` start from.
struct RevisionPlanBase {
    app: ContainerApp,
    revisions: Vec<Revision>,
    target: Revision,
    plan: Plan,
}

/// The POST, the app and its revisions, and the target; `None` when the target is already in
/// the wanted state (the call would change nothing).
async fn revision_plan_base(
    ctx: &ActionContext<'_>,
    input: &RevisionInput,
    verb: &str,
    wanted: bool,
) -> Result<Option<RevisionPlanBase>, ActionError> {
    let calls = vec![call(
        "POST",
        revision_url(&input.app, &input.revision, Some(verb)),
    )?];
    let apps = client(ctx)?;
    let app = apps.get(&input.app).await?;
    let revisions = apps.revisions(&input.app).await?;
    let target = find_revision(&revisions, &input.revision)
        .cloned()
        .ok_or_else(|| revision_missing(&input.app, &input.revision))?;
    if target.is_active() == wanted {
        return Ok(None);
    }
    let plan = Plan {
        calls,
        outputs: Some(json!({"revision": target.name, "active": wanted})),
        ..Plan::default()
    };
    Ok(Some(RevisionPlanBase {
        app,
        revisions,
        target,
        plan,
    }))
}

/// The plan of a revision call that would change nothing.
fn already_plan(input: &RevisionInput, verb: &str, wanted: bool) -> Result<Plan, ActionError> {
    Ok(Plan {
        calls: vec![call(
            "POST",
            revision_url(&input.app, &input.revision, Some(verb)),
        )?],
        outputs: Some(json!({"revision": input.revision, "active": wanted})),
        notes: vec![format!(
            "{} is already {}: the call changes nothing",
            input.revision,
            if wanted { "active" } else { "inactive" }
        )],
        ..Plan::default()
    })
}

#[async_trait]
impl Action for Activate {
    type Input = RevisionInput;
    type Output = RevisionStateOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revision.activate",
            summary: "Activate a revision (in Single mode it becomes the one active revision, with all traffic)",
            mutates: true,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Check, ActionError> {
        check_active(ctx, input, true).await
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Plan, ActionError> {
        let RevisionPlanBase {
            app,
            revisions,
            target,
            mut plan,
        } = match revision_plan_base(ctx, input, "activate", true).await? {
            Some(base) => base,
            None => return already_plan(input, "activate", true),
        };
        let target = &target;
        plan.changes
            .push(active_change(&input.app, &target.name, false, true));
        if app.revision_mode() == "Single" {
            // The service keeps one active revision in Single mode: the others stop.
            for other in revisions.iter().filter(|r| r.is_active()) {
                plan.changes
                    .push(active_change(&input.app, &other.name, true, false));
            }
            plan.notes.push(format!(
                "Single revision mode: {} becomes the only active revision and receives all traffic",
                target.name
            ));
        } else {
            plan.notes.push(format!(
                "Multiple revision mode: {} gets no traffic until a traffic rule gives it some",
                target.name
            ));
        }
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<RevisionStateOutput, ActionError> {
        client(ctx)?
            .activate(&input.app, &input.revision)
            .await
            .map_err(|e| refusal(e, REVISION_REFUSALS))?;
        Ok(RevisionStateOutput {
            revision: input.revision.clone(),
            active: true,
        })
    }
}

#[async_trait]
impl Action for Deactivate {
    type Input = RevisionInput;
    type Output = RevisionStateOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revision.deactivate",
            summary: "Deactivate a revision (refused for one with traffic, or the only active one in Single mode)",
            mutates: true,
            idempotent: true,
            default_timeout: READ_TIMEOUT,
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Check, ActionError> {
        check_active(ctx, input, false).await
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Plan, ActionError> {
        let RevisionPlanBase {
            app,
            revisions,
            target,
            mut plan,
        } = match revision_plan_base(ctx, input, "deactivate", false).await? {
            Some(base) => base,
            None => return already_plan(input, "deactivate", false),
        };
        let target = &target;
        // The service's rules (RevisionOperationError).
        let weight = target.properties.traffic_weight.unwrap_or(0);
        if weight > 0 {
            plan.notes.push(as_things_stand(format!(
                "{} receives {weight}% of the traffic; move it to another revision first",
                target.name
            )));
        }
        let active = revisions.iter().filter(|r| r.is_active()).count();
        if app.revision_mode() == "Single" && active <= 1 {
            plan.notes.push(as_things_stand(format!(
                "{} is the only active revision of {} in Single revision mode; deploy or activate another revision instead",
                target.name,
                app_name(&input.app)
            )));
        }
        plan.changes
            .push(active_change(&input.app, &target.name, true, false));
        plan.notes
            .push(format!("stops every replica of {}", target.name));
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<RevisionStateOutput, ActionError> {
        // Azure applies the rules above and answers RevisionOperationError: no read first.
        client(ctx)?
            .deactivate(&input.app, &input.revision)
            .await
            .map_err(|e| refusal(e, REVISION_REFUSALS))?;
        Ok(RevisionStateOutput {
            revision: input.revision.clone(),
            active: false,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.revision.restart

pub struct Restart;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartInput {
    /// The container app's full ARM resource id.
    pub app: String,
    /// The revision to restart; without it, every active revision.
    #[serde(default)]
    pub revision: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RestartOutput {
    pub restarted: Vec<String>,
}

/// The same error, its message saying what was done before it.
fn after_partial(e: ActionError, done: &[String]) -> ActionError {
    if done.is_empty() {
        return e;
    }
    let prefix = format!("restarted {} before this failed: ", done.join(", "));
    match e {
        ActionError::OutcomeUnknown(m) => ActionError::OutcomeUnknown(prefix + &m),
        ActionError::Precondition(m) => ActionError::Precondition(prefix + &m),
        ActionError::Azure(m) => ActionError::Azure(prefix + &m),
        ActionError::Failed(m) => ActionError::Failed(prefix + &m),
        other => other,
    }
}

#[async_trait]
impl Action for Restart {
    type Input = RestartInput;
    type Output = RestartOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revision.restart",
            summary:
                "Restart a revision, or every active revision (e.g. to pick up rotated secrets)",
            mutates: true,
            // A second restart restarts again.
            idempotent: false,
            default_timeout: Duration::from_secs(300),
        }
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &RestartInput,
    ) -> Result<Plan, ActionError> {
        let revisions = client(ctx)?.revisions(&input.app).await?;
        let mut plan = Plan::default();
        let targets: Vec<&Revision> = match &input.revision {
            Some(name) => {
                let r = find_revision(&revisions, name)
                    .ok_or_else(|| revision_missing(&input.app, name))?;
                if !r.is_active() {
                    plan.notes.push(as_things_stand(format!(
                        "{} is inactive, and only active revisions can be restarted",
                        r.name
                    )));
                }
                vec![r]
            }
            None => {
                plan.calls
                    .push(call("GET", app_url(&input.app, "/revisions"))?);
                revisions.iter().filter(|r| r.is_active()).collect()
            }
        };
        if targets.is_empty() {
            plan.notes.push(format!(
                "{} has no active revision: nothing to restart",
                app_name(&input.app)
            ));
        }
        for r in &targets {
            plan.calls.push(call(
                "POST",
                revision_url(&input.app, &r.name, Some("restart")),
            )?);
            plan.notes.push(format!(
                "restarts the {} replica(s) of {}",
                r.properties.replicas.unwrap_or(0),
                r.name
            ));
        }
        plan.outputs = Some(json!({
            "restarted": targets.iter().map(|r| r.name.clone()).collect::<Vec<_>>()
        }));
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RestartInput,
    ) -> Result<RestartOutput, ActionError> {
        let apps = client(ctx)?;
        let targets = match &input.revision {
            Some(name) => vec![name.clone()],
            None => apps
                .revisions(&input.app)
                .await?
                .into_iter()
                .filter(Revision::is_active)
                .map(|r| r.name)
                .collect(),
        };
        let mut restarted = Vec::new();
        for name in targets {
            if *ctx.cancel.borrow() {
                return Err(after_partial(ActionError::Cancelled, &restarted));
            }
            apps.restart(&input.app, &name)
                .await
                .map_err(|e| after_partial(refusal(e, REVISION_REFUSALS), &restarted))?;
            (ctx.progress)(format!("restarted {name}"));
            restarted.push(name);
        }
        Ok(RestartOutput { restarted })
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.traffic.set

pub struct TrafficSet;

/// A traffic rule as a runbook writes it: `containerapp.show`'s `traffic` entries as they are,
/// or `{revision: name, weight: n}` for short.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficInput {
    #[serde(default)]
    pub revision_name: Option<String>,
    /// Short for `revisionName`.
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    /// Follow the latest ready revision instead of naming one.
    #[serde(default)]
    pub latest_revision: Option<bool>,
    /// Percent, 0–100; the weights sum to 100.
    pub weight: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrafficSetInput {
    /// The container app's full ARM resource id.
    pub app: String,
    pub weights: Vec<TrafficInput>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TrafficSetOutput {
    /// The rules before the change (give them back to undo it).
    pub previous: Vec<TrafficEntry>,
    /// The rules in place after the change.
    pub traffic: Vec<TrafficEntry>,
}

/// Checks the rules' shape and sum (no request needed) and gives them in the service's form.
fn requested_traffic(input: &TrafficSetInput) -> Result<Vec<TrafficEntry>, ActionError> {
    let mut out = Vec::new();
    for (i, w) in input.weights.iter().enumerate() {
        let name = match (&w.revision_name, &w.revision) {
            (Some(a), Some(b)) if a != b => {
                return Err(ActionError::Input(format!(
                    "weights[{i}]: revisionName '{a}' and revision '{b}' disagree"
                )))
            }
            (Some(a), _) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        let latest = w.latest_revision == Some(true);
        match (&name, latest) {
            (Some(_), true) => {
                return Err(ActionError::Input(format!(
                    "weights[{i}]: name a revision or set latestRevision, not both"
                )))
            }
            (None, false) => {
                return Err(ActionError::Input(format!(
                    "weights[{i}]: name a revision (revisionName or revision) or set latestRevision: true"
                )))
            }
            _ => {}
        }
        if !(0..=100).contains(&w.weight) {
            return Err(ActionError::Input(format!(
                "weights[{i}]: weight {} is not between 0 and 100",
                w.weight
            )));
        }
        out.push(TrafficEntry {
            revision_name: name,
            weight: w.weight,
            latest_revision: latest.then_some(true),
            label: w.label.clone(),
        });
    }
    let sum: i64 = out.iter().map(|e| e.weight).sum();
    if sum != 100 {
        return Err(ActionError::Input(format!(
            "the weights sum to {sum}, not 100"
        )));
    }
    Ok(out)
}

/// In Single mode all traffic goes to the active revision whatever the rules say; the one
/// request that means exactly that is 100% to the latest revision.
fn trivial_in_single_mode(app: &ContainerApp, requested: &[TrafficEntry]) -> bool {
    let effective: Vec<&TrafficEntry> = requested
        .iter()
        .filter(|e| e.weight != 0 || e.label.is_some())
        .collect();
    let [only] = effective.as_slice() else {
        return false;
    };
    let names_latest = match (&only.revision_name, &app.properties.latest_revision_name) {
        (Some(name), Some(latest)) => name.eq_ignore_ascii_case(latest),
        _ => false,
    };
    only.weight == 100
        && only.label.is_none()
        && (only.latest_revision == Some(true) || names_latest)
}

fn single_mode_refusal(app: &ContainerApp) -> ActionError {
    ActionError::Precondition(format!(
        "{} is in Single revision mode: all traffic goes to its one active revision and weights do nothing. \
         Roll back with containerapp.template.apply (a new revision from an older one's template) \
         or containerapp.revision.activate",
        app.name
    ))
}

fn traffic_body(requested: &[TrafficEntry]) -> Value {
    json!({"properties": {"configuration": {"ingress": {"traffic":
        requested.iter().map(TrafficEntry::to_body).collect::<Vec<_>>()}}}})
}

/// Each revision's share under `rules`: what `trafficWeight` will say.
fn shares(rules: &[TrafficEntry], latest_ready: Option<&str>) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for e in rules {
        let target = if e.latest_revision == Some(true) {
            latest_ready.map(str::to_string)
        } else {
            e.revision_name.clone()
        };
        if let Some(t) = target {
            match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&t)) {
                Some(x) => x.1 += e.weight,
                None => out.push((t, e.weight)),
            }
        }
    }
    out
}

fn to_json(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[async_trait]
impl Action for TrafficSet {
    type Input = TrafficSetInput;
    type Output = TrafficSetOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.traffic.set",
            summary: "Set an app's traffic split (Multiple revision mode); takes containerapp.show's traffic back",
            mutates: true,
            idempotent: true,
            default_timeout: Duration::from_secs(600),
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &TrafficSetInput,
    ) -> Result<Check, ActionError> {
        let requested = requested_traffic(input)?;
        let app = client(ctx)?.get(&input.app).await?;
        if app.revision_mode() == "Single" {
            return Ok(if trivial_in_single_mode(&app, &requested) {
                Check::Applied
            } else {
                Check::NotApplied
            });
        }
        Ok(match ingress_traffic(&app) {
            Some(current) if same_routing(&current, &requested) => Check::Applied,
            _ => Check::NotApplied,
        })
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &TrafficSetInput,
    ) -> Result<Plan, ActionError> {
        let requested = requested_traffic(input)?;
        let apps = client(ctx)?;
        let (app, etag) = apps.get_with_etag(&input.app).await?;
        let read = call("GET", app_url(&input.app, ""))?;
        let Some(current) = ingress_traffic(&app) else {
            return Err(ActionError::Precondition(format!(
                "{} has no ingress: there is no traffic to split",
                app.name
            )));
        };
        if app.revision_mode() == "Single" {
            if trivial_in_single_mode(&app, &requested) {
                return Ok(Plan {
                    calls: vec![read],
                    outputs: Some(json!({"previous": current, "traffic": current})),
                    notes: vec![format!(
                        "{} is in Single revision mode: its active revision already has all traffic; nothing is sent",
                        app.name
                    )],
                    ..Plan::default()
                });
            }
            return Err(single_mode_refusal(&app));
        }
        // Read to explain the change; `run` leaves these checks to Azure.
        let revisions = apps.revisions(&input.app).await?;
        let mut plan = Plan {
            calls: vec![
                read,
                call("PATCH", app_url(&input.app, ""))?.with_body(traffic_body(&requested)),
            ],
            outputs: Some(json!({"previous": current, "traffic": requested})),
            ..Plan::default()
        };
        for e in &requested {
            let Some(name) = &e.revision_name else {
                continue;
            };
            let Some(r) = find_revision(&revisions, name) else {
                return Err(revision_missing(&input.app, name));
            };
            if e.weight > 0 && !r.is_active() {
                plan.notes.push(as_things_stand(format!(
                    "{} is inactive; activate it before giving it traffic",
                    r.name
                )));
            }
        }
        if same_routing(&current, &requested) {
            plan.notes
                .push("the traffic rules are already these: the PATCH changes nothing".into());
            return Ok(plan);
        }
        plan.changes.push(Change {
            resource: app.id.clone(),
            field: TRAFFIC_FIELD.into(),
            before: to_json(&current),
            after: to_json(&requested),
        });
        let latest_ready = app.properties.latest_ready_revision_name.as_deref();
        let after = shares(&requested, latest_ready);
        for r in &revisions {
            let before = r.properties.traffic_weight.unwrap_or(0);
            let now = after
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&r.name))
                .map(|(_, w)| *w)
                .unwrap_or(0);
            if before != now {
                plan.changes.push(Change {
                    resource: revision_id(&input.app, &r.name),
                    field: "trafficWeight".into(),
                    before: json!(before),
                    after: json!(now),
                });
            }
        }
        if let Some(latest) =
            latest_ready.filter(|_| current.iter().any(|e| e.latest_revision == Some(true)))
        {
            plan.notes
                .push(format!("latestRevision currently means {latest}"));
        }
        if etag.is_some() {
            plan.notes
                .push("sent with If-Match: the app's ETag as read, so a concurrent change is not overwritten".into());
        }
        plan.notes.push(
            "configuration-only change: no new revision; waits for the operation (Azure-AsyncOperation), then reads the app"
                .into(),
        );
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &TrafficSetInput,
    ) -> Result<TrafficSetOutput, ActionError> {
        let requested = requested_traffic(input)?;
        let apps = client(ctx)?;
        // One read: the rules to give back, the mode, the ETag. Revision names and states are
        // checked by Azure itself when it gets the PATCH (refusals become failed preconditions).
        let (app, etag) = apps.get_with_etag(&input.app).await?;
        let Some(previous) = ingress_traffic(&app) else {
            return Err(ActionError::Precondition(format!(
                "{} has no ingress: there is no traffic to split",
                app.name
            )));
        };
        if app.revision_mode() == "Single" {
            if trivial_in_single_mode(&app, &requested) {
                (ctx.progress)(format!(
                    "{} is in Single revision mode: its active revision already has all traffic",
                    app.name
                ));
                return Ok(TrafficSetOutput {
                    traffic: previous.clone(),
                    previous,
                });
            }
            return Err(single_mode_refusal(&app));
        }
        let mut progress = progress_lines(ctx, "setting traffic");
        let done = apps
            .patch_if_match(
                &input.app,
                traffic_body(&requested),
                etag.as_deref(),
                &ctx.lro_options(),
                &mut progress,
            )
            .await
            .map_err(|e| refusal(e, TRAFFIC_REFUSALS))?;
        Ok(TrafficSetOutput {
            previous,
            traffic: ingress_traffic(&done).unwrap_or_default(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.scale.set

pub struct ScaleSet;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleInput {
    /// The container app's full ARM resource id.
    pub app: String,
    #[serde(default)]
    pub min_replicas: Option<i64>,
    #[serde(default)]
    pub max_replicas: Option<i64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleOutput {
    pub previous: Replicas,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    /// The revision the app runs after the change (a new one when the scale changed).
    pub latest_revision: Option<String>,
}

fn wanted_scale(input: &ScaleInput, current: Replicas) -> Result<Replicas, ActionError> {
    if input.min_replicas.is_none() && input.max_replicas.is_none() {
        return Err(ActionError::Input(
            "give minReplicas, maxReplicas or both".into(),
        ));
    }
    let wanted = Replicas {
        min_replicas: input.min_replicas.or(current.min_replicas),
        max_replicas: input.max_replicas.or(current.max_replicas),
    };
    if let Some(min) = wanted.min_replicas.filter(|m| *m < 0) {
        return Err(ActionError::Input(format!("minReplicas {min} is below 0")));
    }
    if let Some(max) = wanted.max_replicas.filter(|m| !(1..=1000).contains(m)) {
        return Err(ActionError::Input(format!(
            "maxReplicas {max} is not between 1 and 1000"
        )));
    }
    if let (Some(min), Some(max)) = (wanted.min_replicas, wanted.max_replicas) {
        if min > max {
            return Err(ActionError::Input(format!(
                "minReplicas {min} is above maxReplicas {max}"
            )));
        }
    }
    Ok(wanted)
}

/// The app's scale block with new bounds; its rules and anything else in it stay as they are.
fn scale_body(template: &Value, wanted: Replicas) -> Value {
    let mut scale = template
        .get("scale")
        .filter(|s| s.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(o) = scale.as_object_mut() {
        if let Some(min) = wanted.min_replicas {
            o.insert("minReplicas".into(), json!(min));
        }
        if let Some(max) = wanted.max_replicas {
            o.insert("maxReplicas".into(), json!(max));
        }
    }
    json!({"properties": {"template": {"scale": scale}}})
}

/// What a template change does to traffic, by revision mode.
fn new_revision_note(app: &ContainerApp) -> String {
    if app.revision_mode() == "Single" {
        return "a template change creates a new revision; in Single revision mode it takes over \
                all traffic once ready and the current revision is deactivated"
            .into();
    }
    let latest_weight = ingress_traffic(app).and_then(|t| {
        t.iter()
            .filter(|e| e.latest_revision == Some(true))
            .map(|e| e.weight)
            .reduce(|a, b| a + b)
    });
    match latest_weight {
        Some(w) => format!(
            "a template change creates a new revision; in Multiple revision mode it gets the \
             latestRevision rule's {w}% once ready, and the other revisions stay active"
        ),
        None => "a template change creates a new revision; in Multiple revision mode it gets no \
                 traffic (the rules name revisions, none follows latestRevision)"
            .into(),
    }
}

#[async_trait]
impl Action for ScaleSet {
    type Input = ScaleInput;
    type Output = ScaleOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.scale.set",
            summary: "Set an app's min/max replicas (keeps its scale rules; creates a revision)",
            mutates: true,
            idempotent: true,
            default_timeout: CHANGE_TIMEOUT,
        }
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &ScaleInput,
    ) -> Result<Check, ActionError> {
        let app = client(ctx)?.get(&input.app).await?;
        let current = scale_of(&template_of(&app));
        let wanted = wanted_scale(input, current)?;
        Ok(if wanted == current {
            Check::Applied
        } else {
            Check::NotApplied
        })
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &ScaleInput) -> Result<Plan, ActionError> {
        let (app, etag) = client(ctx)?.get_with_etag(&input.app).await?;
        let template = template_of(&app);
        let current = scale_of(&template);
        let wanted = wanted_scale(input, current)?;
        let mut plan = Plan {
            calls: vec![call("GET", app_url(&input.app, ""))?],
            outputs: Some(json!({
                "previous": current,
                "minReplicas": wanted.min_replicas,
                "maxReplicas": wanted.max_replicas,
                "latestRevision": if wanted == current {
                    json!(app.properties.latest_revision_name)
                } else {
                    json!(KNOWN_AFTER_APPLY)
                },
            })),
            ..Plan::default()
        };
        if wanted == current {
            plan.notes
                .push("the scale is already this: nothing is sent".into());
            return Ok(plan);
        }
        plan.calls
            .push(call("PATCH", app_url(&input.app, ""))?.with_body(scale_body(&template, wanted)));
        for (field, before, after) in [
            ("minReplicas", current.min_replicas, wanted.min_replicas),
            ("maxReplicas", current.max_replicas, wanted.max_replicas),
        ] {
            if before != after {
                plan.changes.push(Change {
                    resource: app.id.clone(),
                    field: format!("properties.template.scale.{field}"),
                    before: json!(before),
                    after: json!(after),
                });
            }
        }
        plan.notes.push(new_revision_note(&app));
        if etag.is_some() {
            plan.notes
                .push("sent with If-Match: the app's ETag as read".into());
        }
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &ScaleInput,
    ) -> Result<ScaleOutput, ActionError> {
        let apps = client(ctx)?;
        let (app, etag) = apps.get_with_etag(&input.app).await?;
        let template = template_of(&app);
        let current = scale_of(&template);
        let wanted = wanted_scale(input, current)?;
        if wanted == current {
            return Ok(ScaleOutput {
                previous: current,
                min_replicas: wanted.min_replicas,
                max_replicas: wanted.max_replicas,
                latest_revision: app.properties.latest_revision_name,
            });
        }
        let mut progress = progress_lines(ctx, "scaling (new revision)");
        let done = apps
            .patch_if_match(
                &input.app,
                scale_body(&template, wanted),
                etag.as_deref(),
                &ctx.lro_options(),
                &mut progress,
            )
            .await
            .map_err(|e| refusal(e, TEMPLATE_REFUSALS))?;
        let now = scale_of(&template_of(&done));
        Ok(ScaleOutput {
            previous: current,
            min_replicas: now.min_replicas,
            max_replicas: now.max_replicas,
            latest_revision: done.properties.latest_revision_name,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.template.apply

/// Re-applies an older revision's template, which makes a new revision running what that one
/// ran: how Container Apps documents creating a revision from an existing one (`az containerapp
/// revision copy --from-revision` PATCHes the app with the revision's template), and the way to
/// roll back in Single revision mode.
pub struct TemplateApply;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateApplyOutput {
    pub latest_revision: Option<String>,
    pub image: Option<String>,
}

/// A merge patch turning `current` into `target`: `target` whole, plus `null` for what `current`
/// has and `target` does not (so a removed volume or scale rule does not survive the merge).
fn replacing(current: &Value, target: &Value) -> Value {
    match (current, target) {
        (Value::Object(c), Value::Object(t)) => {
            let mut out = Map::new();
            for (k, v) in t {
                let merged = match c.get(k) {
                    Some(cv) => replacing(cv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            for k in c.keys().filter(|k| !t.contains_key(*k)) {
                out.insert(k.clone(), Value::Null);
            }
            Value::Object(out)
        }
        _ => target.clone(),
    }
}

/// The PATCH that re-applies `source` over `current`, without a revision suffix so the service
/// names a new revision (the old name is taken).
fn apply_body(current: &Value, source: &Value) -> Value {
    json!({"properties": {"template": replacing(&without_suffix(current), &without_suffix(source))}})
}

async fn read_for_apply(
    ctx: &ActionContext<'_>,
    input: &RevisionInput,
) -> Result<(ContainerApp, Option<String>, Revision), ActionError> {
    let apps = client(ctx)?;
    let (app, etag) = apps.get_with_etag(&input.app).await?;
    let source = apps
        .revision(&input.app, &input.revision)
        .await
        .map_err(|e| refusal(e, REVISION_REFUSALS))?;
    if source.properties.template.is_none() {
        return Err(ActionError::Precondition(format!(
            "Azure reports no template for {}",
            source.name
        )));
    }
    Ok((app, etag, source))
}

fn same_template(app: &ContainerApp, source: &Revision) -> bool {
    let source = source.properties.template.clone().unwrap_or(Value::Null);
    without_suffix(&template_of(app)) == without_suffix(&source)
}

#[async_trait]
impl Action for TemplateApply {
    type Input = RevisionInput;
    type Output = TemplateApplyOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.template.apply",
            summary: "Make a new revision from an older revision's template (how Single revision mode rolls back)",
            mutates: true,
            idempotent: true,
            default_timeout: CHANGE_TIMEOUT,
        }
    }

    /// After a resume found the template already applied: the app's latest revision and image.
    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Option<TemplateApplyOutput>, ActionError> {
        let app = client(ctx)?.get(&input.app).await?;
        Ok(Some(TemplateApplyOutput {
            latest_revision: app.properties.latest_revision_name.clone(),
            image: image_of(&template_of(&app)),
        }))
    }

    async fn check(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Check, ActionError> {
        let (app, _, source) = read_for_apply(ctx, input).await?;
        Ok(if same_template(&app, &source) {
            Check::Applied
        } else {
            Check::NotApplied
        })
    }

    async fn plan(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<Plan, ActionError> {
        let (app, etag, source) = read_for_apply(ctx, input).await?;
        let current = template_of(&app);
        let source_template = source.properties.template.clone().unwrap_or(Value::Null);
        let mut plan = Plan {
            calls: vec![
                call("GET", app_url(&input.app, ""))?,
                call("GET", revision_url(&input.app, &input.revision, None))?,
            ],
            ..Plan::default()
        };
        if same_template(&app, &source) {
            plan.outputs = Some(json!({
                "latestRevision": app.properties.latest_revision_name,
                "image": image_of(&current),
            }));
            plan.notes.push(format!(
                "the app's template is already {}'s: nothing is sent",
                source.name
            ));
            return Ok(plan);
        }
        plan.calls.push(
            call("PATCH", app_url(&input.app, ""))?
                .with_body(apply_body(&current, &source_template)),
        );
        plan.changes.push(Change {
            resource: app.id.clone(),
            field: "properties.template".into(),
            before: without_suffix(&current),
            after: without_suffix(&source_template),
        });
        let (before, after) = (image_of(&current), image_of(&source_template));
        if before != after {
            plan.changes.push(Change {
                resource: app.id.clone(),
                field: "properties.template.containers[0].image".into(),
                before: json!(before),
                after: json!(after),
            });
        }
        plan.outputs = Some(json!({"latestRevision": KNOWN_AFTER_APPLY, "image": after}));
        plan.notes.push(format!(
            "creates a new revision (name chosen by Azure) running {}'s template",
            source.name
        ));
        plan.notes.push(new_revision_note(&app));
        if etag.is_some() {
            plan.notes
                .push("sent with If-Match: the app's ETag as read".into());
        }
        Ok(plan)
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &RevisionInput,
    ) -> Result<TemplateApplyOutput, ActionError> {
        let (app, etag, source) = read_for_apply(ctx, input).await?;
        let current = template_of(&app);
        if same_template(&app, &source) {
            return Ok(TemplateApplyOutput {
                latest_revision: app.properties.latest_revision_name,
                image: image_of(&current),
            });
        }
        let source_template = source.properties.template.clone().unwrap_or(Value::Null);
        let mut progress = progress_lines(ctx, "provisioning the new revision");
        let done = client(ctx)?
            .patch_if_match(
                &input.app,
                apply_body(&current, &source_template),
                etag.as_deref(),
                &ctx.lro_options(),
                &mut progress,
            )
            .await
            .map_err(|e| refusal(e, TEMPLATE_REFUSALS))?;
        Ok(TemplateApplyOutput {
            latest_revision: done.properties.latest_revision_name.clone(),
            image: image_of(&template_of(&done)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(name: &str, created: &str, active: bool, health: &str, weight: i64) -> Revision {
        serde_json::from_value(json!({
            "id": format!("/x/revisions/{name}"), "name": name,
            "properties": {"createdTime": created, "active": active, "healthState": health,
                "trafficWeight": weight, "template": {"containers": [{"name": "c", "image": format!("img:{name}")}]}}
        }))
        .unwrap()
    }

    const APP: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a";

    #[test]
    fn the_previous_healthy_revision_is_before_the_one_with_traffic() {
        let revs = vec![
            rev("a--1", "2024-01-01T00:00:00Z", false, "Healthy", 0),
            rev("a--2", "2024-01-02T00:00:00Z", true, "Healthy", 0),
            rev("a--3", "2024-01-03T00:00:00Z", true, "Unhealthy", 100),
        ];
        assert_eq!(pick_previous_healthy(APP, &revs, &[]).unwrap().name, "a--2");
        assert_eq!(
            pick_previous_healthy(APP, &revs, &["A--2".into()])
                .unwrap()
                .name,
            "a--1"
        );
        // After a rollback to a--2, the one before a--2 is next.
        let rolled = vec![
            rev("a--1", "2024-01-01T00:00:00Z", false, "Healthy", 0),
            rev("a--2", "2024-01-02T00:00:00Z", true, "Healthy", 100),
            rev("a--3", "2024-01-03T00:00:00Z", true, "Unhealthy", 0),
        ];
        assert_eq!(
            pick_previous_healthy(APP, &rolled, &[]).unwrap().name,
            "a--1"
        );
        // Without traffic (no ingress) the newest active revision is the one serving.
        let no_ingress = vec![
            rev("a--1", "2024-01-01T00:00:00Z", false, "Healthy", 0),
            rev("a--2", "2024-01-02T00:00:00Z", true, "Unhealthy", 0),
        ];
        assert_eq!(
            pick_previous_healthy(APP, &no_ingress, &[]).unwrap().name,
            "a--1"
        );
        let none = vec![rev("a--1", "2024-01-01T00:00:00Z", true, "Healthy", 100)];
        assert!(matches!(
            pick_previous_healthy(APP, &none, &[]),
            Err(ActionError::Precondition(m)) if m.contains("a--1")
        ));
    }

    fn input(weights: Value) -> TrafficSetInput {
        serde_json::from_value(json!({"app": APP, "weights": weights})).unwrap()
    }

    #[test]
    fn traffic_input_takes_show_output_and_the_short_form() {
        let show = vec![
            TrafficEntry {
                revision_name: Some("a--1".into()),
                weight: 90,
                latest_revision: None,
                label: Some("stable".into()),
            },
            TrafficEntry {
                revision_name: None,
                weight: 10,
                latest_revision: Some(true),
                label: None,
            },
        ];
        let back = requested_traffic(&input(to_json(&show))).unwrap();
        assert_eq!(back, show);
        let short =
            requested_traffic(&input(json!([{"revision": "a--1", "weight": 100}]))).unwrap();
        assert_eq!(short[0].revision_name.as_deref(), Some("a--1"));
        for bad in [
            json!([{"revision": "a--1", "weight": 90}]),
            json!([{"weight": 100}]),
            json!([{"revision": "a--1", "latestRevision": true, "weight": 100}]),
            json!([{"revision": "a--1", "revisionName": "a--2", "weight": 100}]),
            json!([{"revision": "a--1", "weight": 101}, {"revision": "a--2", "weight": -1}]),
        ] {
            assert!(
                matches!(
                    requested_traffic(&input(bad.clone())),
                    Err(ActionError::Input(_))
                ),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<TrafficSetInput>(
            json!({"app": APP, "weights": [{"revision": "a--1", "weight": 100, "extra": 1}]})
        )
        .is_err());
    }

    #[test]
    fn routing_is_compared_without_order_or_idle_rules() {
        let e = |n: &str, w: i64| TrafficEntry {
            revision_name: Some(n.into()),
            weight: w,
            latest_revision: None,
            label: None,
        };
        assert!(same_routing(
            &[e("a", 90), e("b", 10)],
            &[e("b", 10), e("A", 90)]
        ));
        assert!(same_routing(&[e("a", 100), e("b", 0)], &[e("a", 100)]));
        assert!(!same_routing(&[e("a", 100)], &[e("b", 100)]));
    }

    #[test]
    fn a_reapplied_template_drops_the_suffix_and_what_the_old_one_lacked() {
        let current = json!({"revisionSuffix": "r18", "containers": [{"name": "c", "image": "new"}],
            "scale": {"minReplicas": 1, "rules": [{"name": "http"}]}, "volumes": [{"name": "v"}]});
        let source = json!({"revisionSuffix": "r17", "containers": [{"name": "c", "image": "old"}],
            "scale": {"minReplicas": 1}});
        assert_eq!(
            apply_body(&current, &source),
            json!({"properties": {"template": {"containers": [{"name": "c", "image": "old"}],
                "scale": {"minReplicas": 1, "rules": null}, "volumes": null}}})
        );
    }

    #[test]
    fn scale_keeps_rules_and_checks_bounds() {
        let template =
            json!({"scale": {"minReplicas": 1, "maxReplicas": 4, "rules": [{"name": "q"}]}});
        let current = scale_of(&template);
        let ask = |min: Option<i64>, max: Option<i64>| ScaleInput {
            app: APP.into(),
            min_replicas: min,
            max_replicas: max,
        };
        let wanted = wanted_scale(&ask(Some(3), None), current).unwrap();
        assert_eq!(
            scale_body(&template, wanted),
            json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 4, "rules": [{"name": "q"}]}}}})
        );
        assert!(wanted_scale(&ask(None, None), current).is_err());
        assert!(wanted_scale(&ask(Some(5), None), current).is_err());
        assert!(wanted_scale(&ask(None, Some(0)), current).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// containerapp.revision.wait_healthy

/// Waits until a revision runs and reports `Healthy` (the "monitor" of a rollback): a template
/// change is done when the revision is provisioned, but its replicas start afterwards. Fails as
/// soon as the revision is provisioned and reports `Unhealthy`, or when the time is up.
pub struct WaitHealthy;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitHealthyInput {
    /// The container app's full ARM resource id.
    pub app: String,
    pub revision: String,
    /// Longest wait, e.g. `5m` (default 5 minutes).
    #[serde(default)]
    pub within: Option<String>,
    /// Between reads, e.g. `5s` (default 5 seconds; `500ms` is accepted).
    #[serde(default)]
    pub interval: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitHealthyOutput {
    pub revision: String,
    pub health_state: Option<String>,
    pub running_state: Option<String>,
    pub reads: u32,
}

fn millis(text: Option<&str>, default_ms: u64) -> Result<u64, ActionError> {
    let Some(text) = text else {
        return Ok(default_ms);
    };
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .parse()
            .map_err(|_| ActionError::Input(format!("'{text}' is not a duration")));
    }
    crate::runbook::template::parse_duration(text)
        .filter(|s| *s >= 0)
        .map(|s| s as u64 * 1000)
        .ok_or_else(|| ActionError::Input(format!("'{text}' is not a duration")))
}

#[async_trait]
impl Action for WaitHealthy {
    type Input = WaitHealthyInput;
    type Output = WaitHealthyOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "containerapp.revision.wait_healthy",
            summary: "Wait until a revision is running and healthy (fails early when it is not)",
            mutates: false,
            idempotent: true,
            default_timeout: CHANGE_TIMEOUT,
        }
    }

    /// The revision may not exist before the steps ahead of it run: a dry run only describes it.
    fn runs_in_dry_run(&self) -> bool {
        false
    }

    async fn plan(
        &self,
        _: &ActionContext<'_>,
        input: &WaitHealthyInput,
    ) -> Result<Plan, ActionError> {
        let within = millis(input.within.as_deref(), 300_000)?;
        Ok(Plan {
            calls: vec![call(
                "GET",
                revision_url(&input.app, &input.revision, None),
            )?],
            notes: vec![format!(
                "reads {} until it is running and healthy (up to {} s)",
                input.revision,
                within / 1000
            )],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &WaitHealthyInput,
    ) -> Result<WaitHealthyOutput, ActionError> {
        let within = Duration::from_millis(millis(input.within.as_deref(), 300_000)?);
        let interval = Duration::from_millis(millis(input.interval.as_deref(), 5_000)?.max(100));
        let apps = client(ctx)?;
        let started = std::time::Instant::now();
        let mut cancel = ctx.cancel.clone();
        let mut reads = 0;
        loop {
            let revision = apps.revision(&input.app, &input.revision).await?;
            reads += 1;
            let health = revision.properties.health_state.clone();
            let running = revision.properties.running_state.clone();
            let provisioned = revision
                .properties
                .provisioning_state
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("Provisioned"));
            (ctx.progress)(format!(
                "{}: health {}, running {}",
                input.revision,
                health.as_deref().unwrap_or("unknown"),
                running.as_deref().unwrap_or("unknown")
            ));
            if revision.is_healthy() && running.as_deref().is_some_and(|r| r.starts_with("Running"))
            {
                return Ok(WaitHealthyOutput {
                    revision: revision.name,
                    health_state: health,
                    running_state: running,
                    reads,
                });
            }
            if provisioned && health.as_deref() == Some("Unhealthy") {
                return Err(ActionError::Failed(format!(
                    "{} is unhealthy (running state: {})",
                    input.revision,
                    running.as_deref().unwrap_or("unknown")
                )));
            }
            if started.elapsed() + interval > within {
                return Err(ActionError::Failed(format!(
                    "{} was not running and healthy within {} s (health {}, running {})",
                    input.revision,
                    within.as_secs(),
                    health.as_deref().unwrap_or("unknown"),
                    running.as_deref().unwrap_or("unknown")
                )));
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = cancel.wait_for(|c| *c) => return Err(ActionError::Cancelled),
            }
        }
    }
}
