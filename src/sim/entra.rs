//! Microsoft Entra ID as the official clients use it: the v2.0 token endpoint (client secret and
//! client assertion / workload identity), OpenID configuration (MSAL reads it first), the JWKS
//! document, and the App Service managed-identity endpoint.

use http::{Method, StatusCode};
use serde_json::json;

use super::http::{SimRequest, SimResponse};
use super::state::State;
use super::token::{peek_claims, Claims, TokenSigner};
use super::SimIdentity;

/// Audience Entra puts in a token requested for `scope`: the scope without `/.default`
/// (`https://host//.default` → `https://host/`).
pub fn audience_of_scope(scope: &str) -> Option<String> {
    let scope = scope
        .split_whitespace()
        .find(|s| s.ends_with("/.default"))?;
    let resource = scope.strip_suffix(".default")?;
    // `https://host//.default` asks for the audience `https://host/`.
    let resource = if resource.ends_with("//") {
        &resource[..resource.len() - 1]
    } else {
        resource.strip_suffix('/').unwrap_or(resource)
    };
    Some(resource.to_string())
}

pub fn handle(
    state: &State,
    identity: &SimIdentity,
    signer: &TokenSigner,
    req: &SimRequest,
    lifetime_override: Option<u64>,
) -> SimResponse {
    let segs: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (&req.method, segs.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"])
        | (&Method::POST, [tenant, "oauth2", "token"]) => {
            token(state, signer, req, tenant, lifetime_override)
        }
        (&Method::GET, [tenant, "v2.0", ".well-known", "openid-configuration"])
        | (&Method::GET, [tenant, ".well-known", "openid-configuration"]) => {
            openid_configuration(state, identity, tenant)
        }
        (&Method::GET, [_, "discovery", "v2.0", "keys"])
        | (&Method::GET, ["common", "discovery", "keys"]) => SimResponse::ok(json!({ "keys": [] })),
        (&Method::GET, ["msi", "token"]) => managed_identity(state, identity, signer, req, lifetime_override),
        _ => SimResponse::entra_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests to /{tenant}/oauth2/v2.0/token, or the other endpoints of the simulated Entra ID.",
        ),
    }
}

fn tenant_matches(state: &State, tenant: &str) -> bool {
    state
        .tenant
        .as_ref()
        .is_some_and(|t| t.id.eq_ignore_ascii_case(tenant) || t.domain.eq_ignore_ascii_case(tenant))
}

fn openid_configuration(state: &State, identity: &SimIdentity, tenant: &str) -> SimResponse {
    let known =
        tenant_matches(state, tenant) || ["organizations", "common", "consumers"].contains(&tenant);
    if !known {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    let base = &identity.login_url;
    let tid = if tenant_matches(state, tenant) {
        state.tenant_id()
    } else {
        "{tenantid}"
    };
    SimResponse::ok(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/{tenant}/openid/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": identity.domain,
        "cloud_graph_host_name": format!("graph.{}", identity.domain),
        "msgraph_host": format!("graph.{}", identity.domain),
        "rbac_url": format!("https://pas.{}", identity.domain),
    }))
}

fn form(req: &SimRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn token(
    state: &State,
    signer: &TokenSigner,
    req: &SimRequest,
    tenant: &str,
    lifetime_override: Option<u64>,
) -> SimResponse {
    if !tenant_matches(state, tenant) {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    let form = form(req);
    let grant = field(&form, "grant_type").unwrap_or_default();
    if grant != "client_credentials" {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'. The simulated Entra ID issues tokens to applications (client_credentials)."),
        );
    }
    let Some(client_id) = field(&form, "client_id") else {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(scope) = field(&form, "scope") else {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let Some(audience) = audience_of_scope(scope) else {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        );
    };
    let Some(principal) = state.principal_by_client_id(client_id) else {
        return SimResponse::entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", state.tenant_id()),
        );
    };
    if let Some(secret) = field(&form, "client_secret") {
        if principal.secret.as_deref() != Some(secret) {
            return SimResponse::entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
            );
        }
    } else if let Some(assertion) = field(&form, "client_assertion") {
        if field(&form, "client_assertion_type")
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return SimResponse::entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "Invalid client_assertion_type: expected urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        if let Err(description) = check_assertion(state, principal, assertion) {
            return SimResponse::entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700213,
                &description,
            );
        }
    } else {
        return SimResponse::entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    }
    let lifetime = lifetime_override
        .map(|s| s as i64)
        .unwrap_or_else(|| state.settings.token_lifetime_secs);
    let access_token = mint(
        state,
        signer,
        &audience,
        &principal.object_id,
        &principal.client_id,
        lifetime,
    );
    SimResponse::ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    }))
    .with_header("Cache-Control", "no-store, no-cache")
}

/// Workload identity: Entra accepts an assertion whose issuer and subject match a federated
/// credential of the application and whose audience is the credential's, and which has not
/// expired. It does not hold the issuer's keys here, so (like the real service without the
/// issuer's JWKS) only the claims are checked.
fn check_assertion(
    state: &State,
    principal: &super::state::Principal,
    assertion: &str,
) -> Result<(), String> {
    let claims =
        peek_claims(assertion).ok_or_else(|| "Client assertion is not a valid JWT.".to_string())?;
    let iss = claims
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let sub = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let exp = claims.get("exp").and_then(|v| v.as_i64()).unwrap_or(0);
    if exp <= state.now().timestamp() {
        return Err("AADSTS700024: Client assertion is not within its valid time range.".into());
    }
    let auds: Vec<String> = match claims.get("aud") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    let matched = principal
        .federated
        .iter()
        .any(|f| f.issuer == iss && f.subject == sub && auds.iter().any(|a| a == &f.audience));
    if matched {
        Ok(())
    } else {
        Err(format!("AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'.", auds.join(",")))
    }
}

pub fn mint(
    state: &State,
    signer: &TokenSigner,
    audience: &str,
    object_id: &str,
    app_id: &str,
    lifetime_secs: i64,
) -> String {
    let now = state.now().timestamp();
    signer.sign(&Claims {
        aud: audience.to_string(),
        iss: format!("https://sts.windows.net/{}/", state.tenant_id()),
        iat: now,
        nbf: now,
        exp: now + lifetime_secs.max(1),
        tid: state.tenant_id().to_string(),
        oid: object_id.to_string(),
        sub: object_id.to_string(),
        appid: app_id.to_string(),
        idtyp: Some("app".into()),
        ver: "1.0".into(),
    })
}

/// App Service style managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
fn managed_identity(
    state: &State,
    identity: &SimIdentity,
    signer: &TokenSigner,
    req: &SimRequest,
    lifetime_override: Option<u64>,
) -> SimResponse {
    if req.header("x-identity-header") != Some(identity.identity_header.as_str()) {
        return SimResponse::json(
            StatusCode::UNAUTHORIZED,
            json!({"statusCode": 401, "message": "Missing or invalid X-IDENTITY-HEADER."}),
        );
    }
    let Some(resource) = req.query_param("resource") else {
        return SimResponse::json(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": "The 'resource' query parameter is required."}),
        );
    };
    // The managed identity is the world's first principal unless a client_id picks another.
    let principal = match req.query_param("client_id") {
        Some(id) => state.principal_by_client_id(id),
        None => state.principals.first(),
    };
    let Some(principal) = principal else {
        return SimResponse::json(
            StatusCode::BAD_REQUEST,
            json!({"statusCode": 400, "message": "No managed identity found for the requested client_id."}),
        );
    };
    let lifetime = lifetime_override
        .map(|s| s as i64)
        .unwrap_or_else(|| state.settings.token_lifetime_secs);
    let audience = resource.trim_end_matches("/.default").trim_end_matches('/');
    let token = mint(
        state,
        signer,
        audience,
        &principal.object_id,
        &principal.client_id,
        lifetime,
    );
    SimResponse::ok(json!({
        "access_token": token,
        "expires_on": (state.now().timestamp() + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal.client_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_drops_default_suffix_and_double_slash() {
        assert_eq!(
            audience_of_scope("https://management.azure.com/.default").as_deref(),
            Some("https://management.azure.com")
        );
        assert_eq!(
            audience_of_scope("https://management.azure.com//.default").as_deref(),
            Some("https://management.azure.com/")
        );
        assert_eq!(
            audience_of_scope("openid https://vault.azure.net/.default offline_access").as_deref(),
            Some("https://vault.azure.net")
        );
        assert_eq!(
            audience_of_scope("https://management.azure.com/user_impersonation"),
            None
        );
    }
}
