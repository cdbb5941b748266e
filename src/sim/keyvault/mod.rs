//! The Key Vault data plane host `{vault}.vault.{domain}`. Clients start with an unauthenticated
//! request and expect the 401 challenge that tells them which authority and resource to get a
//! token for; that challenge is served exactly as REAL-CLIENTS.md describes. Authenticated requests
//! reach the secrets API ([`secrets`]), whose data lives in [`store`].

mod error;
pub mod secrets;
pub mod store;

use http::StatusCode;
use serde_json::{json, Value};

use super::http::{SimRequest, SimResponse};
use super::Sim;
pub use error::KvError;

/// The api-versions clients send (REAL-CLIENTS.md: 7.4 from the az CLI, 7.6, 2025-07-01 from the
/// Rust crate, 2026-04-01 from Python) and the ones between them in the specs; all share the
/// secrets API of secrets.json 7.6.
pub const API_VERSIONS: &[&str] = &["7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"];
pub const LATEST_API_VERSION: &str = "2026-04-01";

pub fn challenge(sim: &Sim) -> String {
    let state = sim.state.lock();
    // Quoted values with no ',' or '=' inside: the Rust parser only finds quoted ones.
    format!(
        "Bearer authorization=\"{}/{}\", resource=\"https://{}\"",
        sim.identity.login_url,
        state.tenant_id(),
        sim.identity.key_vault_suffix
    )
}

/// The vault's soft-delete settings, from its ARM resource; `None` when there is no such vault.
fn vault_settings(sim: &Sim, vault: &str) -> Option<(bool, i64)> {
    let state = sim.state.lock();
    let r = state.resources.values().find(|r| {
        r.resource_type == "Microsoft.KeyVault/vaults" && r.name().eq_ignore_ascii_case(vault)
    })?;
    let props = r.body.get("properties").unwrap_or(&Value::Null);
    let purge_protection = props
        .get("enablePurgeProtection")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let retention = props
        .get("softDeleteRetentionInDays")
        .and_then(Value::as_i64)
        .unwrap_or(90);
    Some((purge_protection, retention))
}

fn authorized(sim: &Sim, req: &SimRequest) -> bool {
    let bearer = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let now = sim.state.lock().now().timestamp();
    bearer
        .and_then(|t| sim.signer.verify(t, now).ok())
        .is_some_and(|c| {
            c.aud.trim_end_matches('/') == format!("https://{}", sim.identity.key_vault_suffix)
        })
}

pub fn handle(sim: &Sim, req: &SimRequest, vault: &str) -> SimResponse {
    let Some((purge_protection, retention_days)) = vault_settings(sim, vault) else {
        // An unknown vault has no DNS name on Azure; the closest a server can say is 404.
        return SimResponse::json(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "VaultNotFound", "message": format!("The vault '{vault}' does not exist in the simulated cloud.")}}),
        );
    };
    if !authorized(sim, req) {
        return SimResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}}),
        )
        .with_header("WWW-Authenticate", challenge(sim));
    }
    let api_version = match req.api_version() {
        None => return KvError::MissingApiVersion.response(),
        Some(v) if !API_VERSIONS.contains(&v) => {
            return KvError::UnsupportedApiVersion(v.to_string()).response()
        }
        Some(v) => v.to_string(),
    };
    let ctx = secrets::Vault {
        base_url: req.base_url.trim_end_matches('/').to_string(),
        api_version,
        purge_protection,
        retention_days,
    };
    let mut state = sim.state.lock();
    let now = state.now().timestamp();
    let store = state
        .vault_secrets
        .entry(vault.to_ascii_lowercase())
        .or_default();
    secrets::handle(req, &ctx, store, now).unwrap_or_else(|e| e.response())
}
