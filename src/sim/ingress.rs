//! Container Apps ingress: the simulator answers an app's FQDN (`{app}.{environment's
//! defaultDomain}`, which the certificate covers with `*.{defaultDomain}`) as the service's
//! Envoy front end would:
//!
//! - it picks a revision by the app's traffic weights — a smooth weighted round robin over a
//!   per-app request counter, so any run of 100 requests splits exactly by weight (90/10 sends
//!   the 6th of every 10 to the canary) and tests can count;
//! - the revision answers `200` with a small JSON body naming it when it is running and healthy,
//!   and `503` with Envoy's upstream failure text when not (unhealthy, starting, stopped);
//! - label URLs (`{app}---{label}.{domain}`) and revision URLs (`{revision}.{domain}`) reach one
//!   revision, as on the service;
//! - any other name under an environment's domain, an app without ingress, a stopped app or an
//!   inactive revision get the service's `404` ("stopped or does not exist").
//!
//! Any method and path is answered alike; requests need no token. Host names under no
//! environment's domain are not ingress (`None`: the server answers 421).

use http::StatusCode;
use serde_json::{json, Value};

use super::arm::lro;
use super::http::{SimRequest, SimResponse};
use super::providers::containerapps::{environment_domain, render_revision, traffic_weights};
use super::state::{Resource, State};
use super::Sim;

const APP_TYPE: &str = "Microsoft.App/containerApps";
const ENV_TYPE: &str = "Microsoft.App/managedEnvironments";
/// What Envoy answers when the upstream refuses or resets the connection.
const UPSTREAM_FAILURE: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

/// Where a request goes, by host name.
enum Target {
    /// The app's FQDN: a revision chosen by traffic weight.
    App,
    Label(String),
    Revision(String),
}

pub fn handle(sim: &Sim, req: &SimRequest) -> Option<SimResponse> {
    let mut state = sim.state.lock();
    // Like every request: operations due by now complete first (a revision provisioned by a
    // PATCH starts serving without an ARM call in between).
    lro::settle_due(&mut state);
    respond(&mut state, &req.host)
}

/// The answer to a request for `host`, or `None` when `host` is under no environment's domain.
/// Front Door forwards to origins through this too.
pub fn respond(state: &mut State, host: &str) -> Option<SimResponse> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (first, domain) = host.split_once('.')?;
    if !in_environment(state, domain) {
        return None;
    }
    let Some((app_id, target)) = find(state, first, domain) else {
        return Some(not_found());
    };
    if app_region_failed(state, &app_id) {
        return Some(region_down());
    }
    Some(answer(state, &app_id, target))
}

fn in_environment(state: &State, domain: &str) -> bool {
    state.resources.values().any(|r| {
        r.resource_type.eq_ignore_ascii_case(ENV_TYPE)
            && r.body
                .pointer("/properties/defaultDomain")
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case(domain))
    })
}

fn app_region_failed(state: &State, app_id: &str) -> bool {
    state
        .resource(app_id)
        .is_some_and(|a| state.region_failed(a.location()))
}

/// What a health probe of `host` finds, without moving the app's round robin: `None` when the
/// simulator serves no app there, else the share (0..=1) of the app's traffic that a healthy,
/// running revision would answer — 0 when the app's region is down, it is stopped or has no
/// ingress.
pub fn probe(state: &State, host: &str) -> Option<f64> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (first, domain) = host.split_once('.')?;
    if !in_environment(state, domain) {
        return None;
    }
    let (app_id, target) = find(state, first, domain)?;
    if app_region_failed(state, &app_id) {
        return Some(0.0);
    }
    let app = state.resource(&app_id)?;
    let has_ingress = app
        .body
        .pointer("/properties/configuration/ingress")
        .is_some_and(Value::is_object);
    if !has_ingress || app.app.as_ref().is_none_or(|a| a.stopped) {
        return Some(0.0);
    }
    let weights: Vec<(String, i64)> = match target {
        Target::App => traffic_weights(state, app),
        Target::Label(label) => labelled(app, &label).into_iter().map(|r| (r, 1)).collect(),
        Target::Revision(name) => vec![(name, 1)],
    };
    let total: i64 = weights.iter().map(|(_, w)| (*w).max(0)).sum();
    if total <= 0 {
        return Some(0.0);
    }
    let healthy: i64 = weights
        .iter()
        .filter(|(name, _)| revision_serves(state, app, name))
        .map(|(_, w)| (*w).max(0))
        .sum();
    Some(healthy as f64 / total as f64)
}

/// The region an app host name is served from (its app's location).
pub fn region_of(state: &State, host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (first, domain) = host.split_once('.')?;
    let (app_id, _) = find(state, first, domain)?;
    state.resource(&app_id).map(|a| a.location().to_string())
}

fn revision_serves(state: &State, app: &Resource, name: &str) -> bool {
    let Some(rev) = app.app.as_ref().and_then(|a| a.revision(name)) else {
        return false;
    };
    let rendered = render_revision(state, app, rev);
    let props = &rendered["properties"];
    rev.active && props["runningState"] == "Running" && props["healthState"] == "Healthy"
}

fn region_down() -> SimResponse {
    SimResponse::text(
        StatusCode::SERVICE_UNAVAILABLE,
        UPSTREAM_FAILURE.to_string(),
        "text/plain; charset=utf-8",
    )
    .with_header("x-azdeck-region-failed", "true".to_string())
}

/// The app (and how it is addressed) that `name` means under environment domain `domain`.
fn find(state: &State, name: &str, domain: &str) -> Option<(String, Target)> {
    let apps = state.resources.values().filter(|r| {
        r.resource_type.eq_ignore_ascii_case(APP_TYPE)
            && environment_domain(state, &r.body).eq_ignore_ascii_case(domain)
    });
    for app in apps {
        let app_name = app.name().to_ascii_lowercase();
        if name == app_name {
            return Some((app.id.clone(), Target::App));
        }
        if let Some(label) = name
            .strip_prefix(&app_name)
            .and_then(|rest| rest.strip_prefix("---"))
        {
            return Some((app.id.clone(), Target::Label(label.to_string())));
        }
        if app.app.as_ref().is_some_and(|a| a.revision(name).is_some()) {
            return Some((app.id.clone(), Target::Revision(name.to_string())));
        }
    }
    None
}

fn not_found() -> SimResponse {
    SimResponse::text(
        StatusCode::NOT_FOUND,
        "Error 404 - This Container App is stopped or does not exist.".to_string(),
        "text/plain; charset=utf-8",
    )
}

fn upstream_failure() -> SimResponse {
    SimResponse::text(
        StatusCode::SERVICE_UNAVAILABLE,
        UPSTREAM_FAILURE.to_string(),
        "text/plain; charset=utf-8",
    )
}

fn answer(state: &mut State, app_id: &str, target: Target) -> SimResponse {
    let Some(app) = state.resource(app_id) else {
        return not_found();
    };
    let has_ingress = app
        .body
        .pointer("/properties/configuration/ingress")
        .is_some_and(Value::is_object);
    let stopped = app.app.as_ref().is_none_or(|a| a.stopped);
    if !has_ingress || stopped {
        return not_found();
    }
    let revision = match target {
        Target::App => {
            let weights: Vec<(String, i64)> = traffic_weights(state, app)
                .into_iter()
                .filter(|(_, w)| *w > 0)
                .collect();
            if weights.is_empty() {
                return SimResponse::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no healthy upstream".to_string(),
                    "text/plain; charset=utf-8",
                );
            }
            let served = state.ingress_served.entry(app_id.to_string()).or_insert(0);
            let n = *served;
            *served += 1;
            weights[pick(&weights, n)].0.clone()
        }
        Target::Label(label) => match labelled(app, &label) {
            Some(r) => r,
            None => return not_found(),
        },
        Target::Revision(name) => name,
    };
    serve(state, app_id, &revision)
}

/// The revision a label is on (or the latest ready one, for a `latestRevision` rule).
fn labelled(app: &Resource, label: &str) -> Option<String> {
    let state_app = app.app.as_ref()?;
    app.body
        .pointer("/properties/configuration/ingress/traffic")
        .and_then(Value::as_array)?
        .iter()
        .find(|e| {
            e.get("label")
                .and_then(Value::as_str)
                .is_some_and(|l| l.eq_ignore_ascii_case(label))
        })
        .and_then(|e| {
            if e.get("latestRevision").and_then(Value::as_bool) == Some(true) {
                state_app.latest_ready().map(|r| r.name.clone())
            } else {
                e.get("revisionName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
        })
}

fn serve(state: &State, app_id: &str, revision: &str) -> SimResponse {
    let Some(app) = state.resource(app_id) else {
        return not_found();
    };
    let Some(rev) = app.app.as_ref().and_then(|a| a.revision(revision)) else {
        return upstream_failure();
    };
    if !rev.active {
        return not_found();
    }
    let rendered = render_revision(state, app, rev);
    let props = &rendered["properties"];
    let running = props["runningState"] == "Running";
    let healthy = props["healthState"] == "Healthy";
    if !(running && healthy) {
        return upstream_failure().with_header("x-azdeck-revision", rev.name.clone());
    }
    SimResponse::ok(json!({
        "app": app.name(),
        "revision": rev.name,
        "image": rev.template.pointer("/containers/0/image").cloned().unwrap_or(Value::Null),
    }))
    .with_header("x-azdeck-revision", rev.name.clone())
}

/// The `n`-th choice (from 0) of a smooth weighted round robin (nginx's): each revision's credit
/// grows by its weight, the richest is chosen and pays the total. The sequence repeats every
/// `total` requests with each revision chosen exactly its weight's times, spread out.
pub fn pick(weights: &[(String, i64)], n: u64) -> usize {
    let total: i64 = weights.iter().map(|(_, w)| *w).sum();
    if total <= 0 {
        return 0;
    }
    let steps = n % total as u64;
    let mut credit = vec![0i64; weights.len()];
    let mut chosen = 0;
    for _ in 0..=steps {
        for (c, (_, w)) in credit.iter_mut().zip(weights) {
            *c += w;
        }
        chosen = credit
            .iter()
            .enumerate()
            .fold(0, |best, (i, c)| if *c > credit[best] { i } else { best });
        credit[chosen] -= total;
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
        pairs.iter().map(|(n, w)| (n.to_string(), *w)).collect()
    }

    #[test]
    fn weighted_round_robin_splits_exactly_and_spreads_out() {
        let weights = w(&[("stable", 90), ("canary", 10)]);
        let picks: Vec<usize> = (0..100).map(|n| pick(&weights, n)).collect();
        assert_eq!(picks.iter().filter(|p| **p == 1).count(), 10);
        // One canary in every ten, not ten in a row.
        for chunk in picks.chunks(10) {
            assert_eq!(chunk.iter().filter(|p| **p == 1).count(), 1, "{picks:?}");
        }
        assert_eq!(pick(&weights, 100), pick(&weights, 0));
        let even = w(&[("a", 50), ("b", 50)]);
        assert_ne!(pick(&even, 0), pick(&even, 1));
        assert_eq!(pick(&w(&[("only", 100)]), 7), 0);
    }
}
