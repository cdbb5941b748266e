//! Long-running operations as ARM's RPC describes them: the request is accepted (201/202) with an
//! `Azure-AsyncOperation` status resource and/or a `Location` result URL and `Retry-After`; the
//! operation completes when its time is up — lazily, on the next request, so the simulator needs
//! no timers and a test can move the clock instead of sleeping.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::json;

use super::ArmCtx;
use crate::sim::http::SimResponse;
use crate::sim::providers;
use crate::sim::state::{Effect, OpStatus, Operation, State};

/// The status/result path segment each provider uses.
fn kinds(namespace: &str) -> (&'static str, &'static str) {
    match namespace.to_ascii_lowercase().as_str() {
        "microsoft.app" => (
            "containerappOperationStatuses",
            "containerappOperationResults",
        ),
        "microsoft.dbforpostgresql" => ("azureAsyncOperation", "operationResults"),
        _ => ("operationStatuses", "operationResults"),
    }
}

pub fn is_status_kind(kind: &str) -> bool {
    matches!(
        kind,
        "containerappoperationstatuses"
            | "containerappoperationresults"
            | "azureasyncoperation"
            | "operationresults"
            | "operationstatuses"
    )
}

/// Starts an operation on `resource_id` and returns its id.
pub fn begin(
    state: &mut State,
    ctx: &ArmCtx,
    namespace: &str,
    location: &str,
    resource_id: &str,
    effect: Effect,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let now = state.now();
    let subscription_id = resource_id
        .split('/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    // Child resources (Front Door origin groups, origins, routes) have no location: their status
    // URL takes the top-level resource's, so it never has an empty `locations//` segment.
    let mut location = normalize_location(location);
    if location.is_empty() {
        let top: Vec<&str> = resource_id.split('/').take(9).collect();
        location = state
            .resource(&top.join("/"))
            .map(|r| normalize_location(r.location()))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "global".to_string());
    }
    let op = Operation {
        id: id.clone(),
        subscription_id,
        namespace: namespace.to_string(),
        location,
        resource_id: resource_id.to_string(),
        started: now,
        due: now + state.settings.lro_duration(),
        effect,
        planned_failure: ctx.fail_lro.clone(),
        status: OpStatus::InProgress,
        ended: None,
    };
    if let Some(r) = state.resource_mut(resource_id) {
        r.busy_with = Some(id.clone());
    }
    state.operations.insert(id.clone(), op);
    state.pending_operations.push(id.clone());
    id
}

pub fn normalize_location(location: &str) -> String {
    location.to_ascii_lowercase().replace(' ', "")
}

/// Adds `Azure-AsyncOperation`, `Location` and `Retry-After` headers for operation `op_id`.
pub fn headers(
    state: &State,
    ctx: &ArmCtx,
    resp: &mut SimResponse,
    op_id: &str,
    with_location: bool,
) {
    let Some(op) = state.operations.get(op_id) else {
        return;
    };
    let (status_kind, result_kind) = kinds(&op.namespace);
    let base = format!(
        "{}/subscriptions/{}/providers/{}/locations/{}",
        ctx.req.base_url, op.subscription_id, op.namespace, op.location
    );
    let version = ctx.api_version();
    resp.set_header(
        "Azure-AsyncOperation",
        format!("{base}/{status_kind}/{op_id}?api-version={version}"),
    );
    if with_location {
        resp.set_header(
            "Location",
            format!("{base}/{result_kind}/{op_id}?api-version={version}"),
        );
    }
    retry_after(state, resp);
}

/// `202 Accepted` for operation `op_id`, with `Azure-AsyncOperation`, `Location` and `Retry-After`.
pub fn accepted(state: &State, ctx: &ArmCtx, op_id: &str) -> SimResponse {
    let mut resp = SimResponse::new(StatusCode::ACCEPTED);
    headers(state, ctx, &mut resp, op_id, true);
    resp
}

pub fn retry_after(state: &State, resp: &mut SimResponse) {
    resp.set_header(
        "Retry-After",
        state.settings.retry_after_secs.max(1).to_string(),
    );
    if let Some(ms) = state.settings.retry_after_ms {
        resp.set_header("retry-after-ms", ms.to_string());
    }
}

/// Completes every operation whose time has come.
pub fn settle_due(state: &mut State) {
    let now = state.now();
    let due: Vec<String> = state
        .pending_operations
        .iter()
        .filter(|id| {
            state
                .operations
                .get(*id)
                .is_some_and(|op| op.status == OpStatus::InProgress && op.due <= now)
        })
        .cloned()
        .collect();
    state.pending_operations.retain(|id| !due.contains(id));
    if !due.is_empty() {
        state.generation += 1;
    }
    for id in due {
        settle(state, &id, now);
    }
}

fn settle(state: &mut State, op_id: &str, now: DateTime<Utc>) {
    let Some(op) = state.operations.get(op_id).cloned() else {
        return;
    };
    let status = match &op.planned_failure {
        Some((code, message)) => {
            providers::fail_operation(state, &op);
            OpStatus::Failed {
                code: code.clone(),
                message: message.clone(),
            }
        }
        None => {
            match op.effect {
                Effect::DeleteResourceGroup => {
                    let key = op.resource_id.to_ascii_lowercase();
                    let parts: Vec<&str> = key.split('/').collect();
                    if let (Some(sub), Some(rg)) = (parts.get(2), parts.get(4)) {
                        state
                            .resource_groups
                            .remove(&crate::sim::state::rg_key(sub, rg));
                        state.remove_resource_tree(&format!(
                            "/subscriptions/{sub}/resourcegroups/{rg}"
                        ));
                    }
                }
                _ => providers::complete_operation(state, &op),
            }
            OpStatus::Succeeded
        }
    };
    if let Some(r) = state.resource_mut(&op.resource_id) {
        if r.busy_with.as_deref() == Some(op_id) {
            r.busy_with = None;
        }
    }
    if let Some(op) = state.operations.get_mut(op_id) {
        op.status = status;
        op.ended = Some(now);
    }
}

fn status_body(ctx: &ArmCtx, op: &Operation) -> serde_json::Value {
    let mut body = json!({
        "id": ctx.req.path,
        "name": op.id,
        "status": op.status.as_str(),
        "startTime": op.started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    if let Some(end) = op.ended {
        body["endTime"] = json!(end.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    if let OpStatus::Failed { code, message } = &op.status {
        body["error"] = json!({ "code": code, "message": message });
    }
    body
}

/// `GET …/locations/{loc}/{statusKind|resultKind}/{op}`.
pub fn operation_status(state: &mut State, ctx: &ArmCtx, op_id: &str, kind: &str) -> SimResponse {
    let Some(op) = state.operations.get(op_id).cloned() else {
        return SimResponse::arm_error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            &format!("The operation '{op_id}' could not be found."),
        );
    };
    let is_result = kind.ends_with("results");
    if !is_result {
        let mut resp = SimResponse::ok(status_body(ctx, &op));
        if op.status == OpStatus::InProgress {
            retry_after(state, &mut resp);
        }
        return resp;
    }
    // The Location (result) URL: 202 while running, then the outcome.
    match &op.status {
        OpStatus::InProgress => {
            let mut resp = SimResponse::new(StatusCode::ACCEPTED);
            resp.set_header(
                "Location",
                format!("{}{}", ctx.req.base_url, ctx.req.path)
                    + &format!("?api-version={}", ctx.api_version()),
            );
            retry_after(state, &mut resp);
            resp
        }
        // Done: what the operation would have answered synchronously (async-api-reference.md) —
        // the resource it created, changed, started or stopped; nothing for a deletion, with the
        // 200 a resource group's deletion declares (ResourceGroups_Delete has no 204).
        OpStatus::Succeeded => match (&op.effect, state.resource(&op.resource_id)) {
            (Effect::DeleteResourceGroup, _) => SimResponse::new(StatusCode::OK),
            (Effect::DeleteResource, _) | (_, None) => SimResponse::new(StatusCode::NO_CONTENT),
            (_, Some(_)) => providers::render(state, &op.resource_id)
                .map(SimResponse::ok)
                .unwrap_or_else(|| SimResponse::new(StatusCode::NO_CONTENT)),
        },
        OpStatus::Failed { code, message } => SimResponse::arm_error(
            if code == "InternalServerError" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            },
            code,
            message,
        ),
        OpStatus::Canceled => SimResponse::arm_error(
            StatusCode::CONFLICT,
            "OperationCanceled",
            "The operation was canceled.",
        ),
    }
}

/// `GET /subscriptions/{s}/operationresults/{op}` (resource group deletion).
pub fn resource_group_operation_result(
    state: &mut State,
    ctx: &ArmCtx,
    op_id: &str,
) -> SimResponse {
    operation_status(state, ctx, op_id, "operationresults")
}

/// The standard 409 while another operation changes a resource.
pub fn conflict_if_busy(state: &State, resource_id: &str) -> Result<(), SimResponse> {
    let Some(r) = state.resource(resource_id) else {
        return Ok(());
    };
    let Some(op_id) = &r.busy_with else {
        return Ok(());
    };
    let running = state
        .operations
        .get(op_id)
        .is_some_and(|op| op.status == OpStatus::InProgress);
    if running {
        return Err(SimResponse::arm_error(
            StatusCode::CONFLICT,
            "AnotherOperationInProgress",
            &format!(
                "Another operation ({op_id}) is in progress on resource '{}'. Please retry once it has completed.",
                r.id
            ),
        ));
    }
    Ok(())
}
