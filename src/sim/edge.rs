//! Front Door's data path: the simulator answers each AFD endpoint's `hostName`
//! (`{endpoint}-{hash}.z01.azurefd.{domain}`, which the certificate covers) as the edge would:
//!
//! - the endpoint must be enabled, and a route of it must match: enabled, linked to the default
//!   domain, serving HTTPS, with a `patternsToMatch` entry covering the path (the longest wins);
//!   otherwise `404`;
//! - the route's origin group picks among its enabled, healthy origins: the lowest `priority`
//!   first, then by `weight` (a smooth weighted round robin per group, as ingress does);
//! - an origin is healthy when its health probe would pass: its host is a container app the
//!   simulator serves, the app's region has not been failed (`/_sim/regions/{r}/fail`), and the
//!   share of the app's traffic on healthy revisions, over the group's `sampleSize`, reaches
//!   `successfulSamplesRequired`. Probes are evaluated at request time, so failover is immediate;
//! - the request is forwarded to the origin through the ingress logic and its answer returned
//!   (so a rollback of the app changes what Front Door serves); `503` when no origin is healthy.
//!
//! Every answer carries `x-azure-ref`; answers from an origin name it in `x-azdeck-origin`.

use http::StatusCode;
use serde_json::Value;

use super::arm::lro;
use super::http::{SimRequest, SimResponse};
use super::ingress;
use super::providers::frontdoor::{ENDPOINT, ORIGIN, ROUTE};
use super::state::{Resource, State};
use super::Sim;

/// Probe defaults of an origin group without `loadBalancingSettings`.
const SAMPLE_SIZE: i64 = 4;
const SUCCESSFUL_SAMPLES: i64 = 3;

pub fn handle(sim: &Sim, req: &SimRequest) -> Option<SimResponse> {
    let mut state = sim.state.lock();
    lro::settle_due(&mut state);
    respond(&mut state, &req.host, &req.path)
}

/// The answer for `host` and `path`, or `None` when `host` is no endpoint's.
pub fn respond(state: &mut State, host: &str, path: &str) -> Option<SimResponse> {
    let host = host.trim_end_matches('.');
    let endpoint = state
        .resources
        .values()
        .find(|r| {
            is(r, ENDPOINT)
                && r.body
                    .pointer("/properties/hostName")
                    .and_then(Value::as_str)
                    .is_some_and(|h| h.eq_ignore_ascii_case(host))
        })?
        .clone();
    let reference = azure_ref(state);
    let resp = route_and_forward(state, &endpoint, path);
    Some(resp.with_header("x-azure-ref", reference))
}

fn route_and_forward(state: &mut State, endpoint: &Resource, path: &str) -> SimResponse {
    if !enabled(&endpoint.body) {
        return not_found();
    }
    let Some(group_id) = matching_route(state, &endpoint.id, path) else {
        return not_found();
    };
    let Some((origin_name, origin_host)) = choose_origin(state, &group_id) else {
        return unavailable();
    };
    let resp = ingress::respond(state, &origin_host).unwrap_or_else(unavailable);
    resp.with_header("x-azdeck-origin", origin_name)
        .with_header("x-cache", "CONFIG_NOCACHE")
}

fn is(r: &Resource, canonical: &str) -> bool {
    r.resource_type.eq_ignore_ascii_case(canonical)
}

fn prop<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.get("properties").and_then(|p| p.get(key))
}

/// `enabledState` absent means enabled (the service's default).
fn enabled(body: &Value) -> bool {
    prop(body, "enabledState").and_then(Value::as_str) != Some("Disabled")
}

fn children<'a>(
    state: &'a State,
    parent_id: &str,
    canonical: &'a str,
) -> impl Iterator<Item = &'a Resource> + 'a {
    let prefix = format!("{}/", parent_id.to_ascii_lowercase());
    state
        .resources_under(parent_id)
        .filter(move |r| is(r, canonical) && r.id.to_ascii_lowercase().starts_with(&prefix))
}

/// The origin group of the endpoint's route that serves `path` on the default domain.
fn matching_route(state: &State, endpoint_id: &str, path: &str) -> Option<String> {
    children(state, endpoint_id, ROUTE)
        .filter(|r| enabled(&r.body))
        .filter(|r| prop(&r.body, "linkToDefaultDomain").and_then(Value::as_str) == Some("Enabled"))
        .filter(|r| serves_https(&r.body))
        .filter_map(|r| {
            let best = patterns(&r.body)
                .filter(|p| pattern_matches(p, path))
                .map(str::len)
                .max()?;
            let group = prop(&r.body, "originGroup")?.get("id")?.as_str()?;
            Some((best, group.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, group)| group)
}

fn serves_https(route: &Value) -> bool {
    match prop(route, "supportedProtocols").and_then(Value::as_array) {
        // The spec's default is both protocols.
        None => true,
        Some(protocols) => protocols
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.eq_ignore_ascii_case("Https"))),
    }
}

fn patterns(route: &Value) -> impl Iterator<Item = &str> {
    prop(route, "patternsToMatch")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Front Door's patterns: `/images/*` covers everything under `/images/` (and `/images`),
/// anything else is an exact path; both case-insensitive.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let path = path.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix) || path == prefix.trim_end_matches('/'),
        None => path == pattern,
    }
}

/// The origin the group sends this request to: (name, host name).
fn choose_origin(state: &mut State, group_id: &str) -> Option<(String, String)> {
    let group = state.resource(group_id)?;
    let settings = prop(&group.body, "loadBalancingSettings");
    let setting = |key: &str, default: i64| {
        settings
            .and_then(|s| s.get(key))
            .and_then(Value::as_i64)
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    let sample_size = setting("sampleSize", SAMPLE_SIZE);
    let required = setting("successfulSamplesRequired", SUCCESSFUL_SAMPLES).min(sample_size);
    let healthy: Vec<(i64, i64, String, String)> = children(state, &group.id, ORIGIN)
        .filter(|o| enabled(&o.body))
        .filter_map(|o| {
            let host = prop(&o.body, "hostName")?.as_str()?.to_string();
            let passing = ingress::probe(state, &host)?;
            let passes = passing * sample_size as f64 + 1e-9 >= required as f64;
            passes.then(|| {
                let priority = prop(&o.body, "priority")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let weight = prop(&o.body, "weight")
                    .and_then(Value::as_i64)
                    .unwrap_or(50);
                (priority, weight, o.name().to_string(), host)
            })
        })
        .collect();
    let top = healthy.iter().map(|(p, ..)| *p).min()?;
    let tier: Vec<&(i64, i64, String, String)> =
        healthy.iter().filter(|(p, ..)| *p == top).collect();
    let weights: Vec<(String, i64)> = tier.iter().map(|(_, w, n, _)| (n.clone(), *w)).collect();
    let key = group_id.to_ascii_lowercase();
    let served = state.afd_served.entry(key).or_insert(0);
    let n = *served;
    *served += 1;
    let (_, _, name, host) = tier.get(ingress::pick(&weights, n))?;
    Some((name.clone(), host.clone()))
}

/// `x-azure-ref` as the edge writes it: a UTC time stamp and a unique reference.
fn azure_ref(state: &State) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}",
        state.now().format("%Y%m%dT%H%M%SZ"),
        id.get(..20).unwrap_or(&id)
    )
}

fn not_found() -> SimResponse {
    SimResponse::text(
        StatusCode::NOT_FOUND,
        "<h2>Our services aren't available right now</h2><p>The requested resource was not found: no route of this Front Door endpoint matches the request.</p>".to_string(),
        "text/html; charset=utf-8",
    )
}

fn unavailable() -> SimResponse {
    SimResponse::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "<h2>Our services aren't available right now</h2><p>We're working to restore all services as soon as possible. Please check back soon.</p>".to_string(),
        "text/html; charset=utf-8",
    )
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn patterns_match_prefixes_and_exact_paths() {
        assert!(pattern_matches("/*", "/"));
        assert!(pattern_matches("/*", "/api/chat"));
        assert!(pattern_matches("/api/*", "/API/chat"));
        assert!(pattern_matches("/api/*", "/api"));
        assert!(!pattern_matches("/api/*", "/apis"));
        assert!(pattern_matches("/health", "/health"));
        assert!(!pattern_matches("/health", "/health/x"));
    }
}
