//! The simulator's own endpoints under `https://management.{domain}/_sim/`, for tests, drills and
//! the demo: the request log, fault rules, region failures, behaviour settings, the clock, loading
//! world fragments, and reset. They need the admin token from the environment file.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::faults::FaultRule;
use super::http::{SimRequest, SimResponse};
use super::state::{Settings, State};
use super::{world, Sim};

fn error(status: StatusCode, message: &str) -> SimResponse {
    SimResponse::json(
        status,
        json!({ "error": { "code": "SimulatorAdmin", "message": message } }),
    )
}

fn parse_body<T: serde::de::DeserializeOwned>(req: &SimRequest) -> Result<T, SimResponse> {
    // JSON is YAML, so one parser takes both.
    serde_yaml::from_slice(&req.body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid body: {e}")))
}

pub fn handle(sim: &Sim, req: &SimRequest) -> SimResponse {
    let authorized = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| {
            constant_time_eq(t.trim().as_bytes(), sim.identity.admin_token.as_bytes())
        });
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "The simulator's admin endpoints need 'Authorization: Bearer <adminToken>' from the environment file.");
    }
    let segs: Vec<String> = req
        .segments
        .iter()
        .skip(1)
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (&req.method, segs.as_slice()) {
        (&Method::GET, ["health"]) => {
            let state = sim.state.lock();
            SimResponse::ok(json!({
                "status": "ok",
                "world": sim.world.name,
                "subscriptions": state.subscriptions.len(),
                "resources": state.resources.len(),
            }))
        }
        (&Method::GET, ["requests"]) => {
            let since = req
                .query_param("since")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let log = sim.log.lock();
            SimResponse::ok(json!({ "lastSeq": log.last_seq(), "requests": log.since(since) }))
        }
        (&Method::DELETE, ["requests"]) => {
            sim.log.lock().clear();
            SimResponse::new(StatusCode::NO_CONTENT)
        }
        (&Method::GET, ["faults"]) => {
            SimResponse::ok(json!({ "faults": sim.faults.lock().rules() }))
        }
        (&Method::POST, ["faults"]) => {
            let rule: FaultRule = match parse_body(req) {
                Ok(r) => r,
                Err(e) => return e,
            };
            match sim.faults.lock().add(rule) {
                Ok(id) => SimResponse::json(StatusCode::CREATED, json!({ "id": id })),
                Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
            }
        }
        (&Method::DELETE, ["faults"]) => {
            sim.faults.lock().clear();
            SimResponse::new(StatusCode::NO_CONTENT)
        }
        (&Method::DELETE, ["faults", id]) => {
            if sim.faults.lock().remove(id) {
                SimResponse::new(StatusCode::NO_CONTENT)
            } else {
                error(StatusCode::NOT_FOUND, &format!("no fault rule '{id}'"))
            }
        }
        (&Method::GET, ["settings"]) => SimResponse::ok(json!(sim.state.lock().settings)),
        (&Method::PATCH | &Method::PUT, ["settings"]) => {
            let mut state = sim.state.lock();
            let mut current = json!(state.settings);
            let patch: Value = match parse_body(req) {
                Ok(p) => p,
                Err(e) => return e,
            };
            super::providers::generic::merge_patch(&mut current, &patch);
            match serde_json::from_value::<Settings>(current) {
                Ok(s) => {
                    state.settings = s;
                    SimResponse::ok(json!(state.settings))
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid settings: {e}")),
            }
        }
        (&Method::POST, ["clock"]) => {
            let body: Value = match parse_body(req) {
                Ok(b) => b,
                Err(e) => return e,
            };
            let Some(secs) = body
                .get("advanceSeconds")
                .and_then(Value::as_i64)
                .filter(|s| *s >= 0)
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expected {\"advanceSeconds\": N} with N >= 0 (time only moves forward)",
                );
            };
            let mut state = sim.state.lock();
            state.clock_offset += chrono::Duration::seconds(secs);
            state.generation += 1;
            super::arm::lro::settle_due(&mut state);
            SimResponse::ok(json!({ "now": state.now().to_rfc3339() }))
        }
        (&Method::GET, ["regions"]) => super::regions::list(&sim.state.lock()),
        (&Method::POST, ["regions", region, "fail"]) => {
            let body: Value = if req.body.is_empty() {
                json!({})
            } else {
                match parse_body(req) {
                    Ok(b) => b,
                    Err(e) => return e,
                }
            };
            match super::regions::fail(&mut sim.state.lock(), region, &body) {
                Ok(r) => r,
                Err(message) => error(StatusCode::BAD_REQUEST, &message),
            }
        }
        (&Method::POST, ["regions", region, "restore"]) => {
            super::regions::restore(&mut sim.state.lock(), region)
        }
        (&Method::POST, ["world"]) => {
            let text = String::from_utf8_lossy(&req.body);
            let fragment = match world::parse("fragment", &text) {
                Ok(w) => w,
                Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            let mut state = sim.state.lock();
            // Load into a copy first so a bad fragment leaves the world untouched.
            let mut next: State = state.clone();
            if let Err(e) = world::load_into(&mut next, &fragment, &sim.identity.domain) {
                return error(StatusCode::BAD_REQUEST, &e.to_string());
            }
            *state = next;
            state.generation += 1;
            for rule in fragment.faults {
                if let Err(e) = sim.faults.lock().add(rule) {
                    return error(StatusCode::BAD_REQUEST, &e.to_string());
                }
            }
            SimResponse::ok(json!({ "resources": state.resources.len() }))
        }
        (&Method::POST, ["reset"]) => {
            let mut fresh = State::default();
            if let Err(e) = world::load_into(&mut fresh, &sim.world, &sim.identity.domain) {
                return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
            }
            if let Some(s) = &sim.settings_override {
                fresh.settings = s.clone();
            }
            {
                let mut state = sim.state.lock();
                fresh.generation = state.generation + 1;
                *state = fresh;
            }
            let mut faults = sim.faults.lock();
            faults.clear();
            for rule in &sim.world.faults {
                let _ = faults.add(rule.clone());
            }
            SimResponse::ok(json!({ "world": sim.world.name }))
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "unknown admin endpoint: see docs/SIMULATOR.md",
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
