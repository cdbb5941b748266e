//! Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` over the KQL subset of
//! `kql.rs`, across the requested subscriptions, with `$skipToken` paging, both result formats
//! and the per-user quota headers (15 queries per 5-second window, scaled like ARM throttling).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::kql;
use crate::sim::arm::{apiversion, ArmCtx};
use crate::sim::http::SimResponse;
use crate::sim::state::{Resource, State};

const QUOTA: f64 = 15.0;
const WINDOW: Duration = Duration::from_secs(5);

fn invalid_query(message: &str) -> SimResponse {
    SimResponse::arm_error_details(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Query is invalid: {message}"),
        None,
        vec![
            json!({ "code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying." }),
            json!({ "code": "ParserFailure", "message": message }),
        ],
    )
}

fn bad_request(message: &str) -> SimResponse {
    SimResponse::arm_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// A row of the `Resources` table.
pub fn row(state: &State, r: &Resource) -> Value {
    let mut row = json!({
        "id": r.id,
        "name": r.name(),
        "type": r.resource_type.to_ascii_lowercase(),
        "tenantId": state.tenant_id(),
        "kind": r.body.get("kind").cloned().unwrap_or(json!("")),
        "location": r.location().to_ascii_lowercase().replace(' ', ""),
        "resourceGroup": r.resource_group.to_ascii_lowercase(),
        "subscriptionId": r.subscription_id,
        "managedBy": r.body.get("managedBy").cloned().unwrap_or(json!("")),
        "sku": r.body.get("sku").cloned().unwrap_or(Value::Null),
        "plan": r.body.get("plan").cloned().unwrap_or(Value::Null),
        "properties": super::render(state, &r.id).and_then(|b| b.get("properties").cloned()).unwrap_or(json!({})),
        "tags": r.body.get("tags").cloned().unwrap_or(Value::Null),
        "identity": r.body.get("identity").cloned().unwrap_or(Value::Null),
        "zones": r.body.get("zones").cloned().unwrap_or(Value::Null),
        "extendedLocation": r.body.get("extendedLocation").cloned().unwrap_or(Value::Null),
    });
    if row["tags"].is_null() {
        row["tags"] = json!({});
    }
    row
}

fn skip_token(offset: usize, query: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(query.as_bytes());
    URL_SAFE_NO_PAD.encode(format!("{offset}:{:x}", digest)[..].as_bytes())
}

fn parse_skip_token(token: &str, query: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?).ok()?;
    let (offset, _) = text.split_once(':')?;
    let offset: usize = offset.parse().ok()?;
    // A token only continues the query it came from.
    (skip_token(offset, query) == token.trim_end_matches('=')).then_some(offset)
}

/// Takes one query from the caller's 5-second quota; `None` when it is used up.
fn take_quota(state: &mut State, principal: &str) -> Option<(u64, Duration)> {
    let scale = state.settings.throttle_scale;
    if scale <= 0.0 {
        return Some((QUOTA as u64, WINDOW));
    }
    let limit = (QUOTA * scale).max(1.0) as u64;
    let now = Instant::now();
    let entry = state
        .graph_quota
        .entry(principal.to_string())
        .or_insert((now, 0));
    if now.duration_since(entry.0) >= WINDOW {
        *entry = (now, 0);
    }
    let resets = WINDOW.saturating_sub(now.duration_since(entry.0));
    if entry.1 >= limit {
        return None;
    }
    entry.1 += 1;
    Some((limit - entry.1, resets))
}

fn format_resets(d: Duration) -> String {
    let secs = d.as_secs();
    format!("00:00:{:02}", secs.min(59))
}

pub fn query(state: &mut State, ctx: &ArmCtx) -> SimResponse {
    let req = ctx.req;
    if let Err(e) = apiversion::check(req.api_version(), "Microsoft.ResourceGraph/resources", "") {
        return e;
    }
    if req.method != Method::POST {
        return super::generic::method_not_allowed(req.method.as_str());
    }
    let body = match req.json_object_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(query_text) = body.get("query").and_then(Value::as_str) else {
        return bad_request("The request body must contain a string 'query'.");
    };
    let options = body.get("options").cloned().unwrap_or(json!({}));
    let top = match options.get("$top") {
        None | Some(Value::Null) => state.settings.page_size.min(1000),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => n as usize,
            _ => return bad_request("options.$top must be an integer between 1 and 1000."),
        },
    };
    let skip = match options.get("$skip") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_u64() {
            Some(n) => n as usize,
            None => return bad_request("options.$skip must be a non-negative integer."),
        },
    };
    let offset = match options.get("$skipToken").and_then(Value::as_str) {
        None => skip,
        Some(t) => match parse_skip_token(t, query_text) {
            Some(o) => o,
            None => {
                return bad_request("The $skipToken is invalid or does not belong to this query.")
            }
        },
    };
    let table_format = match options.get("resultFormat").and_then(Value::as_str) {
        Some(f) if f.eq_ignore_ascii_case("table") => true,
        Some(f) if f.eq_ignore_ascii_case("objectArray") => false,
        Some(f) => {
            return bad_request(&format!(
                "Unknown resultFormat '{f}': expected 'table' or 'objectArray'."
            ))
        }
        // Versions before 2021-03-01 answered in table format by default.
        None => ctx.api_version() < "2021-03-01",
    };
    let subscriptions: Vec<String> = match body.get("subscriptions") {
        None | Some(Value::Null) => state.subscriptions.values().map(|s| s.id.clone()).collect(),
        Some(Value::Array(a)) => {
            let mut subs = Vec::new();
            for s in a {
                let Some(s) = s.as_str() else {
                    return bad_request("'subscriptions' must be an array of subscription ids.");
                };
                if state.subscription(s).is_none() {
                    return SimResponse::arm_error(
                        StatusCode::FORBIDDEN,
                        "AuthorizationFailed",
                        &format!("The client '{}' does not have authorization to perform action 'Microsoft.ResourceGraph/resources/read' over scope '/subscriptions/{s}' or the scope is invalid.", ctx.principal),
                    );
                }
                subs.push(s.to_string());
            }
            subs
        }
        Some(_) => return bad_request("'subscriptions' must be an array of subscription ids."),
    };

    let parsed = match kql::parse(query_text) {
        Ok(q) => q,
        Err(e) => return invalid_query(&format!("{} (at position {})", e.message, e.position)),
    };
    let Some((remaining, resets)) = take_quota(state, &ctx.principal) else {
        let mut resp = SimResponse::arm_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimiting",
            "Please provide below info when asking for support: timestamp, correlationId. Details: Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed.",
        );
        resp.set_header("x-ms-user-quota-remaining", "0");
        resp.set_header("x-ms-user-quota-resets-after", "00:00:05");
        resp.set_header("Retry-After", "5");
        return resp;
    };
    let cache_key = format!("{}\n{}", subscriptions.join(","), query_text);
    let table = match &state.graph_cache {
        Some((key, generation, table)) if *key == cache_key && *generation == state.generation => {
            table.clone()
        }
        _ => {
            let rows: Vec<Value> = subscriptions
                .iter()
                .flat_map(|s| {
                    state
                        .resources_under(&format!("/subscriptions/{s}"))
                        .filter(|r| r.is_top_level())
                        .map(|r| row(state, r))
                        .collect::<Vec<_>>()
                })
                .collect();
            let table = match parsed.execute(rows.iter()) {
                Ok(t) => std::sync::Arc::new(t),
                Err(e) => {
                    return invalid_query(&format!("{} (at position {})", e.message, e.position))
                }
            };
            state.graph_cache = Some((cache_key, state.generation, table.clone()));
            table
        }
    };
    let total = table.rows.len();
    let end = offset.saturating_add(top).min(total);
    let page: Vec<serde_json::Map<String, Value>> = table
        .rows
        .iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .cloned()
        .collect();
    let data = if table_format {
        json!({
            "columns": table.columns.iter().map(|c| json!({"name": c.name, "type": c.kind.as_str()})).collect::<Vec<_>>(),
            "rows": page.iter().map(|r| table.columns.iter().map(|c| r.get(&c.name).cloned().unwrap_or(Value::Null)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        })
    } else {
        Value::Array(page.iter().cloned().map(Value::Object).collect())
    };
    let mut body = json!({
        "totalRecords": total,
        "count": page.len(),
        "resultTruncated": "false",
        "data": data,
        "facets": [],
    });
    if end < total {
        body["$skipToken"] = json!(skip_token(end, query_text));
    }
    let mut resp = SimResponse::ok(body);
    resp.set_header("x-ms-user-quota-remaining", remaining.to_string());
    resp.set_header("x-ms-user-quota-resets-after", format_resets(resets));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_tokens_belong_to_their_query() {
        let t = skip_token(200, "Resources | take 5");
        assert_eq!(parse_skip_token(&t, "Resources | take 5"), Some(200));
        assert_eq!(parse_skip_token(&t, "Resources"), None);
        assert_eq!(parse_skip_token("junk", "Resources"), None);
    }
}
