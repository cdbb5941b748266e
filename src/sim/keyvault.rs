//! The Key Vault data plane host `{vault}.vault.{domain}`. Clients start with an unauthenticated
//! request and expect the 401 challenge that tells them which authority and resource to get a
//! token for; that challenge is served exactly as REAL-CLIENTS.md describes. The secrets API itself
//! is the subject of a later issue: authenticated requests get Key Vault's error shape saying so.

use http::StatusCode;
use serde_json::json;

use super::http::{SimRequest, SimResponse};
use super::Sim;

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

fn vault_exists(sim: &Sim, vault: &str) -> bool {
    let state = sim.state.lock();
    state.resources.values().any(|r| {
        r.resource_type == "Microsoft.KeyVault/vaults" && r.name().eq_ignore_ascii_case(vault)
    })
}

pub fn handle(sim: &Sim, req: &SimRequest, vault: &str) -> SimResponse {
    if !vault_exists(sim, vault) {
        // An unknown vault has no DNS name on Azure; the closest a server can say is 404.
        return SimResponse::json(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "VaultNotFound", "message": format!("The vault '{vault}' does not exist in the simulated cloud.")}}),
        );
    }
    let bearer = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let now = sim.state.lock().now().timestamp();
    let valid = bearer
        .and_then(|t| sim.signer.verify(t, now).ok())
        .is_some_and(|c| {
            c.aud.trim_end_matches('/') == format!("https://{}", sim.identity.key_vault_suffix)
        });
    if !valid {
        return SimResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}}),
        )
        .with_header("WWW-Authenticate", challenge(sim));
    }
    SimResponse::json(
        StatusCode::NOT_IMPLEMENTED,
        json!({"error": {"code": "NotImplemented", "message": "The simulated Key Vault data plane (secrets) is not available in this version of azdeck."}}),
    )
}
