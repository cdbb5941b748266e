//! The Azure Resource Manager envelope: what every ARM request goes through before a provider sees
//! it (bearer token, api-version, throttling, common headers, error shapes) and the routing of a
//! path to the provider that owns it.

pub mod apiversion;
pub mod lro;
pub mod paging;
pub mod throttle;

use std::time::Instant;

use http::{Method, StatusCode};

use super::http::{SimRequest, SimResponse};
use super::providers;
use super::state::State;
use super::token::TokenError;
use super::Sim;
use throttle::{Admission, OpClass};

/// What a provider handler knows about the request beyond its bytes.
pub struct ArmCtx<'a> {
    pub req: &'a SimRequest,
    /// Object id of the calling principal.
    pub principal: String,
    /// Set by a fault rule: the long-running operation this request starts must fail.
    pub fail_lro: Option<(String, String)>,
}

impl ArmCtx<'_> {
    pub fn api_version(&self) -> &str {
        self.req.api_version().unwrap_or_default()
    }
}

/// A resource-provider path: `/subscriptions/{s}[/resourceGroups/{rg}]/providers/{ns}/{type}/{name}…`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderPath {
    pub subscription: String,
    pub resource_group: Option<String>,
    pub namespace: String,
    /// Alternating types and names after the namespace: `[t1, n1, t2, n2, …]`.
    pub types: Vec<String>,
    pub names: Vec<String>,
    /// A trailing action (`activate`, `listSecrets`, …) when the path addresses one.
    pub action: Option<String>,
}

impl ProviderPath {
    /// `Namespace/type[/childType…]` in the request's casing.
    pub fn resource_type(&self) -> String {
        let mut t = self.namespace.clone();
        for ty in &self.types {
            t.push('/');
            t.push_str(ty);
        }
        t
    }

    /// Whether the path addresses a collection (the last type has no name).
    pub fn is_collection(&self) -> bool {
        self.names.len() < self.types.len()
    }

    /// The resource id of the named resource (collection paths: of its parent), canonical casing
    /// for the known parts.
    pub fn resource_id(&self, canonical_type: &str) -> String {
        let mut id = format!("/subscriptions/{}", self.subscription);
        if let Some(rg) = &self.resource_group {
            id.push_str(&format!("/resourceGroups/{rg}"));
        }
        let canon: Vec<&str> = canonical_type.split('/').collect();
        id.push_str(&format!(
            "/providers/{}",
            canon.first().copied().unwrap_or(&self.namespace)
        ));
        for (i, name) in self.names.iter().enumerate() {
            let ty = canon.get(i + 1).copied().unwrap_or(&self.types[i]);
            id.push_str(&format!("/{ty}/{name}"));
        }
        id
    }

    pub fn parse(segs: &[String], method: &Method) -> Option<Self> {
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        if lower.first().map(String::as_str) != Some("subscriptions") || segs.len() < 2 {
            return None;
        }
        let subscription = segs[1].clone();
        let mut i = 2;
        let mut resource_group = None;
        if lower.get(i).map(String::as_str) == Some("resourcegroups") {
            resource_group = Some(segs.get(i + 1)?.clone());
            i += 2;
        }
        if lower.get(i).map(String::as_str) != Some("providers") {
            return None;
        }
        let namespace = segs.get(i + 1)?.clone();
        let rest = &segs[i + 2..];
        if rest.is_empty() {
            return None;
        }
        let mut types = Vec::new();
        let mut names = Vec::new();
        let mut action = None;
        let mut rest: Vec<String> = rest.to_vec();
        // An odd tail addresses a collection on GET, an action on POST.
        if rest.len() % 2 == 1 && *method == Method::POST && rest.len() >= 3 {
            action = rest.pop();
        }
        for (j, s) in rest.iter().enumerate() {
            if j % 2 == 0 {
                types.push(s.clone());
            } else {
                names.push(s.clone());
            }
        }
        Some(ProviderPath {
            subscription,
            resource_group,
            namespace,
            types,
            names,
            action,
        })
    }
}

/// Entry point for every request on the management host (except `/_sim`).
pub fn handle(
    sim: &Sim,
    req: &SimRequest,
    fail_lro: Option<(String, String)>,
) -> (SimResponse, Option<String>) {
    let lower: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    // Cloud metadata is anonymous, as it is on Azure (`az cloud register` reads it before login).
    if lower.len() == 2 && lower[0] == "metadata" && lower[1] == "endpoints" {
        return (providers::resources::metadata_endpoints(sim, req), None);
    }

    let principal = match authenticate(sim, req) {
        Ok(p) => p,
        Err(resp) => return (resp, None),
    };

    let mut state = sim.state.lock();
    lro::settle_due(&mut state);

    // Throttling is per subscription (or tenant) and principal.
    let scope = if lower.first().map(String::as_str) == Some("subscriptions") && lower.len() > 1 {
        lower[1].clone()
    } else {
        format!("tenant:{}", state.tenant_id())
    };
    let class = OpClass::of(&req.method);
    let admission = sim.throttle.lock().admit(
        &scope,
        &principal,
        class,
        state.settings.throttle_scale,
        Instant::now(),
    );
    let header_scope = if scope.starts_with("tenant:") {
        "tenant"
    } else {
        "subscription"
    };
    let remaining_header = format!(
        "x-ms-ratelimit-remaining-{header_scope}-{}",
        class.header_suffix()
    );
    let mut resp = match admission {
        Admission::Throttled { retry_after_secs } => throttled(retry_after_secs),
        Admission::Admitted { remaining } => {
            let ctx = ArmCtx {
                req,
                principal: principal.clone(),
                fail_lro,
            };
            let mut r = route(&mut state, &ctx);
            if req.is_mutating() {
                state.generation += 1;
            }
            r.set_header(&remaining_header, remaining.to_string());
            r
        }
    };
    drop(state);
    decorate(&mut resp, req);
    (resp, Some(principal))
}

/// ARM's throttling answer.
pub fn throttled(retry_after_secs: u64) -> SimResponse {
    SimResponse::arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/armthrottling",
    )
    .with_header("Retry-After", retry_after_secs.to_string())
}

/// Headers every ARM response carries.
pub fn decorate(resp: &mut SimResponse, req: &SimRequest) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = req
        .header("x-ms-correlation-request-id")
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    resp.set_header("x-ms-request-id", request_id.clone());
    resp.set_header("x-ms-correlation-request-id", correlation);
    resp.set_header(
        "x-ms-routing-request-id",
        format!(
            "EASTUS:{}:{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
            request_id
        ),
    );
    if let Some(client_id) = req.header("x-ms-client-request-id") {
        // ARM echoes the client's id so it can match logs on both sides.
        resp.set_header("x-ms-client-request-id", client_id.to_string());
    }
    resp.set_header("Cache-Control", "no-cache");
    resp.set_header(
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    );
    resp.set_header("X-Content-Type-Options", "nosniff");
}

fn authenticate(sim: &Sim, req: &SimRequest) -> Result<String, SimResponse> {
    let challenge = format!(
        "Bearer authorization_uri=\"{}/\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
        sim.identity.login_url
    );
    let Some(auth) = req.header("authorization") else {
        return Err(SimResponse::arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
        .with_header("WWW-Authenticate", challenge));
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return Err(SimResponse::arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
        .with_header("WWW-Authenticate", challenge));
    };
    let now = sim.state.lock().now().timestamp();
    match sim.signer.verify(token.trim(), now) {
        Ok(claims) => {
            let aud = claims.aud.trim_end_matches('/');
            if !sim.identity.arm_audiences().iter().any(|a| a == aud) {
                return Err(SimResponse::arm_error(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationTokenAudience",
                    &format!("The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences '{}'.", claims.aud, sim.identity.arm_audiences().join("','")),
                ));
            }
            Ok(claims.oid)
        }
        Err(TokenError::Expired { exp }) => {
            let exp = chrono::DateTime::from_timestamp(exp, 0).unwrap_or_default();
            let now = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
            Err(SimResponse::arm_error(
                StatusCode::UNAUTHORIZED,
                "ExpiredAuthenticationToken",
                &format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    exp.format("%-m/%-d/%Y %-I:%M:%S %p"),
                    now.format("%-m/%-d/%Y %-I:%M:%S %p")
                ),
            )
            .with_header("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"The access token has expired.\""))
        }
        Err(_) => Err(SimResponse::arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid.",
        )
        .with_header("WWW-Authenticate", challenge)),
    }
}

fn route(state: &mut State, ctx: &ArmCtx) -> SimResponse {
    let req = ctx.req;
    let lower: Vec<String> = req
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    use providers::resources as res;
    match l.as_slice() {
        ["tenants"] => res::tenants(state, ctx),
        ["subscriptions"] => res::list_subscriptions(state, ctx),
        ["providers"] => res::list_providers(state, ctx, None),
        ["providers", _ns] => res::provider(state, ctx, None, &req.segments[1]),
        ["providers", "microsoft.resourcegraph", "resources"] => {
            providers::graph::query(state, ctx)
        }
        ["subscriptions", _, rest @ ..] => {
            let sub = req.segments[1].clone();
            if state.subscription(&sub).is_none() {
                if req.api_version().is_none() {
                    return apiversion::missing();
                }
                return SimResponse::arm_error(
                    StatusCode::NOT_FOUND,
                    "SubscriptionNotFound",
                    &format!("The subscription '{}' could not be found.", req.segments[1]),
                );
            }
            match rest {
                [] => res::get_subscription(state, ctx, &sub),
                ["locations"] => res::locations(state, ctx, &sub),
                ["resources"] => res::list_resources(state, ctx, &sub, None),
                ["resourcegroups"] => res::list_resource_groups(state, ctx, &sub),
                ["resourcegroups", _rg] => res::resource_group(state, ctx, &sub, &req.segments[3]),
                ["resourcegroups", _rg, "resources"] => {
                    res::list_resources(state, ctx, &sub, Some(&req.segments[3]))
                }
                ["operationresults", _token] => {
                    lro::resource_group_operation_result(state, ctx, &req.segments[3])
                }
                ["providers"] => res::list_providers(state, ctx, Some(&sub)),
                ["providers", _ns] => res::provider(state, ctx, Some(&sub), &req.segments[3]),
                ["providers", _ns, "register"] => {
                    res::provider(state, ctx, Some(&sub), &req.segments[3])
                }
                ["providers", _ns, "locations", _loc, kind, _op] if lro::is_status_kind(kind) => {
                    lro::operation_status(state, ctx, &req.segments[7], kind)
                }
                _ => match ProviderPath::parse(&req.segments, &req.method) {
                    Some(path) => providers::dispatch(state, ctx, &path),
                    None => not_found_path(req),
                },
            }
        }
        _ => not_found_path(req),
    }
}

pub fn not_found_path(req: &SimRequest) -> SimResponse {
    SimResponse::arm_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!(
            "The requested URI '{}' does not exist or is not served by the simulated Azure Resource Manager.",
            req.path
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        SimRequest::parse_path(p).unwrap()
    }

    #[test]
    fn provider_paths_split_into_types_names_and_actions() {
        let p = ProviderPath::parse(
            &segs("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a/revisions/r/activate"),
            &Method::POST,
        )
        .unwrap();
        assert_eq!(p.resource_group.as_deref(), Some("rg"));
        assert_eq!(p.types, vec!["containerApps", "revisions"]);
        assert_eq!(p.names, vec!["a", "r"]);
        assert_eq!(p.action.as_deref(), Some("activate"));
        assert!(!p.is_collection());

        let p = ProviderPath::parse(
            &segs("/subscriptions/s/resourcegroups/rg/providers/microsoft.app/containerapps/a/revisions"),
            &Method::GET,
        )
        .unwrap();
        assert!(p.is_collection());
        assert_eq!(
            p.resource_id("Microsoft.App/containerApps/revisions"),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a"
        );

        let p = ProviderPath::parse(
            &segs("/subscriptions/s/providers/Microsoft.App/containerApps"),
            &Method::GET,
        )
        .unwrap();
        assert_eq!(p.resource_group, None);
        assert!(p.is_collection());
        assert!(
            ProviderPath::parse(&segs("/subscriptions/s/resourceGroups/rg"), &Method::GET)
                .is_none()
        );
    }
}
