//! Regional outages: `POST /_sim/regions/{region}/fail` takes a whole Azure region down (now, or
//! from a time on the simulator's clock), `…/restore` brings it back. While a region is down, the
//! container apps located there answer `503`, so Front Door's probes of origins there fail and it
//! fails over to the next priority.

use chrono::{DateTime, Duration, Utc};
use http::StatusCode;
use serde_json::{json, Value};

use super::http::SimResponse;
use super::state::State;

fn key(region: &str) -> String {
    region.to_ascii_lowercase().replace(' ', "")
}

pub fn list(state: &State) -> SimResponse {
    let now = state.now();
    let regions: Vec<Value> = state
        .failed_regions
        .iter()
        .map(|(region, since)| {
            json!({
                "region": region,
                "failedFrom": since.to_rfc3339(),
                "down": *since <= now,
            })
        })
        .collect();
    SimResponse::ok(json!({ "now": now.to_rfc3339(), "failedRegions": regions }))
}

/// Body (optional): `{"at": "<RFC 3339 time>"}` or `{"afterSeconds": N}` on the simulator's clock;
/// immediately when absent.
pub fn fail(state: &mut State, region: &str, body: &Value) -> Result<SimResponse, String> {
    let now = state.now();
    let from: DateTime<Utc> = match (body.get("at"), body.get("afterSeconds")) {
        (Some(at), _) => at
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("'at' must be an RFC 3339 time, got {at}"))?,
        (None, Some(secs)) => secs
            .as_i64()
            .filter(|s| *s >= 0)
            .map(|s| now + Duration::seconds(s))
            .ok_or_else(|| format!("'afterSeconds' must be an integer >= 0, got {secs}"))?,
        (None, None) => now,
    };
    if region.trim().is_empty() {
        return Err("a region name is required".into());
    }
    state.failed_regions.insert(key(region), from);
    state.generation += 1;
    Ok(SimResponse::ok(json!({
        "region": key(region),
        "failedFrom": from.to_rfc3339(),
        "down": from <= now,
    })))
}

pub fn restore(state: &mut State, region: &str) -> SimResponse {
    if state.failed_regions.remove(&key(region)).is_none() {
        return SimResponse::json(
            StatusCode::NOT_FOUND,
            json!({ "error": { "code": "SimulatorAdmin", "message": format!("region '{region}' is not failed") } }),
        );
    }
    state.generation += 1;
    SimResponse::ok(json!({ "region": key(region), "down": false }))
}
