//! The generic resource provider: get, list, create, update and delete of resources whose
//! behaviour is ARM's common contract (Key Vault vaults, PostgreSQL servers, Front Door, Storage,
//! ACR, Log Analytics, managed environments). Bodies are kept whole so unknown properties survive.

use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{resource_not_found, TypeInfo};
use crate::sim::arm::{lro, paging, ArmCtx, ProviderPath};
use crate::sim::http::SimResponse;
use crate::sim::state::{Effect, Resource, State};

pub fn render(r: &Resource) -> Value {
    r.body.clone()
}

pub fn set_provisioning_state(state: &mut State, id: &str, value: &str) {
    if let Some(r) = state.resource_mut(id) {
        if let Some(props) = r.body.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("provisioningState".into(), json!(value));
        }
    }
}

/// The ids of `r`'s ancestors' types must match the collection's: `…/profiles/p/originGroups`
/// lists origin groups of profile `p` only.
fn in_collection(r: &Resource, parent_id: &str, canonical: &str) -> bool {
    r.resource_type.eq_ignore_ascii_case(canonical)
        && r.id
            .to_ascii_lowercase()
            .starts_with(&format!("{}/", parent_id.to_ascii_lowercase()))
}

pub fn list(state: &State, ctx: &ArmCtx, path: &ProviderPath, info: &TypeInfo) -> SimResponse {
    let parent = path.resource_id(info.canonical);
    // Nested collections need their parent to exist.
    if !path.names.is_empty() && state.resource(&parent).is_none() {
        let parent_type: String = info
            .canonical
            .rsplit_once('/')
            .map_or(info.canonical, |(parent, _)| parent)
            .to_string();
        return resource_not_found(path, &parent_type);
    }
    let scope = if path.names.is_empty() {
        // `…/providers/Ns/type` lists the type across the subscription or resource group.
        match &path.resource_group {
            Some(rg) => format!("/subscriptions/{}/resourceGroups/{rg}", path.subscription),
            None => format!("/subscriptions/{}", path.subscription),
        }
    } else {
        parent
    };
    let items: Vec<Value> = state
        .resources_under(&scope)
        .filter(|r| in_collection(r, &scope, info.canonical))
        .map(|r| super::render(state, &r.id).unwrap_or_else(|| render(r)))
        .collect();
    paging::page(ctx.req, items, state.settings.page_size)
}

pub fn handle(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    info: &TypeInfo,
) -> SimResponse {
    let req = ctx.req;
    if path.is_collection() {
        return match req.method {
            Method::GET => list(state, ctx, path, info),
            _ => method_not_allowed(req.method.as_str()),
        };
    }
    if path.action.is_some() {
        return SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceType",
            &format!(
                "The action '{}' is not supported on '{}' by the simulated Azure.",
                path.action.as_deref().unwrap_or_default(),
                info.canonical
            ),
        );
    }
    let id = path.resource_id(info.canonical);
    match req.method {
        Method::GET => match state.resource(&id) {
            Some(r) => SimResponse::ok(render(r)).with_header("ETag", r.etag.clone()),
            None => resource_not_found(path, info.canonical),
        },
        Method::HEAD => match state.resource(&id) {
            Some(_) => SimResponse::new(StatusCode::NO_CONTENT),
            None => SimResponse::new(StatusCode::NOT_FOUND),
        },
        Method::PUT => put(state, ctx, path, info, &id),
        Method::PATCH => patch(state, ctx, path, info, &id),
        Method::DELETE => delete(state, ctx, info, &id),
        _ => method_not_allowed(req.method.as_str()),
    }
}

pub fn method_not_allowed(method: &str) -> SimResponse {
    SimResponse::arm_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "HttpMethodNotAllowed",
        &format!("The HTTP method '{method}' is not supported for this resource."),
    )
}

/// `If-Match` / `If-None-Match` against the resource's current ETag.
pub fn check_preconditions(ctx: &ArmCtx, existing: Option<&Resource>) -> Result<(), SimResponse> {
    if let Some(if_match) = ctx.req.header("if-match") {
        let ok = match existing {
            Some(r) => if_match.trim() == "*" || if_match.split(',').any(|t| t.trim() == r.etag),
            None => false,
        };
        if !ok {
            return Err(SimResponse::arm_error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                &format!("The specified precondition 'If-Match = {if_match}' failed."),
            ));
        }
    }
    if let Some(if_none) = ctx.req.header("if-none-match") {
        if if_none.trim() == "*" && existing.is_some() {
            return Err(SimResponse::arm_error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "The specified precondition 'If-None-Match = *' failed: the resource already exists.",
            ));
        }
    }
    Ok(())
}

/// Validates the envelope of a PUT body: an object, with a location for tracked resources, and
/// tags as a string map.
pub fn check_put_body(body: &Map<String, Value>, info: &TypeInfo) -> Result<(), SimResponse> {
    if info.tracked {
        match body.get("location") {
            Some(Value::String(l)) if !l.trim().is_empty() => {}
            Some(other) if !other.is_null() => {
                return Err(SimResponse::arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized: 'location' must be a string.",
                ))
            }
            _ => {
                return Err(SimResponse::arm_error(
                    StatusCode::BAD_REQUEST,
                    "LocationRequired",
                    "The location property is required for this definition.",
                ))
            }
        }
    }
    if let Some(tags) = body.get("tags") {
        let valid = match tags {
            Value::Null => true,
            Value::Object(m) => m.values().all(|v| v.is_string()),
            _ => false,
        };
        if !valid {
            return Err(SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'tags' must be an object of string values.",
            ));
        }
    }
    if let Some(p) = body.get("properties") {
        if !p.is_object() && !p.is_null() {
            return Err(SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'properties' must be an object.",
            ));
        }
    }
    Ok(())
}

fn put(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    info: &TypeInfo,
    id: &str,
) -> SimResponse {
    let mut body = match ctx.req.json_object_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    if let Err(e) = check_put_body(&body, info) {
        return e;
    }
    if let Err(e) = lro::conflict_if_busy(state, id) {
        return e;
    }
    if let Err(e) = check_preconditions(ctx, state.resource(id)) {
        return e;
    }
    // A child needs its parent.
    if path.names.len() > 1 {
        let parent_id = id.rsplitn(3, '/').nth(2).unwrap_or_default().to_string();
        if state.resource(&parent_id).is_none() {
            let parent_type = info
                .canonical
                .rsplit_once('/')
                .map(|(p, _)| p)
                .unwrap_or_default();
            return resource_not_found(path, parent_type);
        }
    }
    let now = state.now();
    let existing = state.resource(id).cloned();
    let name = path.names.last().cloned().unwrap_or_default();
    body.insert("id".into(), json!(id));
    body.insert("name".into(), json!(name));
    body.insert("type".into(), json!(info.canonical));
    let props = body.entry("properties").or_insert_with(|| json!({}));
    if !props.is_object() {
        *props = json!({});
    }
    let provisioning = if info.lro_put {
        if existing.is_some() {
            "Updating"
        } else {
            "Creating"
        }
    } else {
        "Succeeded"
    };
    if let Some(p) = props.as_object_mut() {
        p.insert("provisioningState".into(), json!(provisioning));
    }
    let created = existing.is_none();
    let resource = Resource {
        id: id.to_string(),
        resource_type: info.canonical.to_string(),
        subscription_id: path.subscription.clone(),
        resource_group: path.resource_group.clone().unwrap_or_default(),
        body: Value::Object(body),
        etag: Resource::new_etag(),
        created_at: existing.as_ref().map(|r| r.created_at).unwrap_or(now),
        changed_at: now,
        busy_with: None,
        app: None,
    };
    let location = resource.location().to_string();
    let etag = resource.etag.clone();
    state.insert_resource(resource);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut resp = SimResponse::json(status, state.resource(id).map(render).unwrap_or_default())
        .with_header("ETag", etag);
    if info.lro_put {
        let ns = info.canonical.split('/').next().unwrap_or_default();
        let op = lro::begin(state, ctx, ns, &location, id, Effect::Provisioned);
        if info.put_accepted {
            return lro::accepted(state, ctx, &op);
        }
        lro::headers(state, ctx, &mut resp, &op, false);
    }
    resp
}

/// RFC 7386 JSON merge patch: objects merge, `null` removes, everything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patch(
    state: &mut State,
    ctx: &ArmCtx,
    path: &ProviderPath,
    info: &TypeInfo,
    id: &str,
) -> SimResponse {
    let body = match ctx.req.json_object_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    if state.resource(id).is_none() {
        return resource_not_found(path, info.canonical);
    }
    if let Err(e) = lro::conflict_if_busy(state, id) {
        return e;
    }
    if let Err(e) = check_preconditions(ctx, state.resource(id)) {
        return e;
    }
    let now = state.now();
    let mut patch = Value::Object(body);
    // Identity fields are not patchable.
    if let Some(p) = patch.as_object_mut() {
        for k in ["id", "name", "type", "location"] {
            p.remove(k);
        }
    }
    let Some(r) = state.resource_mut(id) else {
        return resource_not_found(path, info.canonical);
    };
    merge_patch(&mut r.body, &patch);
    r.etag = Resource::new_etag();
    r.changed_at = now;
    let location = r.location().to_string();
    if info.lro_patch {
        if let Some(p) = r.body.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert("provisioningState".into(), json!("Updating"));
        }
        let ns = info.canonical.split('/').next().unwrap_or_default();
        let op = lro::begin(state, ctx, ns, &location, id, Effect::Provisioned);
        let mut resp = lro::accepted(state, ctx, &op);
        if info.accepted_body {
            if let Some(r) = state.resource(id) {
                resp.body = crate::sim::http::Body::Json(render(r));
            }
        }
        return resp;
    }
    match state.resource(id) {
        Some(r) => SimResponse::ok(render(r)).with_header("ETag", r.etag.clone()),
        None => resource_not_found(path, info.canonical),
    }
}

fn delete(state: &mut State, ctx: &ArmCtx, info: &TypeInfo, id: &str) -> SimResponse {
    let Some(existing) = state.resource(id) else {
        return SimResponse::new(StatusCode::NO_CONTENT);
    };
    if let Err(e) = check_preconditions(ctx, Some(existing)) {
        return e;
    }
    if let Err(e) = lro::conflict_if_busy(state, id) {
        return e;
    }
    if !info.lro_delete {
        state.remove_resource_tree(id);
        return SimResponse::new(StatusCode::OK);
    }
    let location = existing.location().to_string();
    set_provisioning_state(state, id, "Deleting");
    let ns = info.canonical.split('/').next().unwrap_or_default();
    let op = lro::begin(state, ctx, ns, &location, id, Effect::DeleteResource);
    lro::accepted(state, ctx, &op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]});
        merge_patch(
            &mut target,
            &json!({"b": {"c": null, "x": 9}, "e": [3], "f": "new"}),
        );
        assert_eq!(
            target,
            json!({"a": 1, "b": {"d": 3, "x": 9}, "e": [3], "f": "new"})
        );
    }
}
