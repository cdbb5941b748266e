//! Resource providers of the simulated ARM. `dispatch` checks what every provider request needs
//! (api-version, known namespace and type, resource group) and hands the request to the provider
//! that owns the type: Container Apps and Front Door have behaviour of their own, the other
//! inventory types share the generic provider.

pub mod containerapps;
pub mod frontdoor;
pub mod generic;
pub mod graph;
pub mod kql;
pub mod names;
pub mod resources;

use http::StatusCode;
use serde_json::Value;

use super::arm::{apiversion, ArmCtx, ProviderPath};
use super::http::SimResponse;
use super::state::{Effect, Operation, State};

/// How a generic resource type behaves.
#[derive(Debug, Clone, Copy)]
pub struct TypeInfo {
    pub canonical: &'static str,
    /// PUT is long-running (201 + Azure-AsyncOperation).
    pub lro_put: bool,
    /// PATCH is long-running (202).
    pub lro_patch: bool,
    /// DELETE is long-running (202 + Location).
    pub lro_delete: bool,
    /// Top-level tracked resources need a location.
    pub tracked: bool,
    pub name_rule: names::NameRule,
    /// A long-running PUT answers `202 Accepted` without a body instead of 200/201 (the
    /// PostgreSQL and Storage specs declare no 201).
    pub put_accepted: bool,
    /// `202 Accepted` answers of PATCH carry the resource (the Front Door spec declares a body).
    pub accepted_body: bool,
}

const fn t(
    canonical: &'static str,
    lro: bool,
    tracked: bool,
    name_rule: names::NameRule,
) -> TypeInfo {
    TypeInfo {
        canonical,
        lro_put: lro,
        lro_patch: lro,
        lro_delete: lro,
        tracked,
        name_rule,
        put_accepted: false,
        accepted_body: false,
    }
}

impl TypeInfo {
    /// PATCH and DELETE answer synchronously (Key Vault: 200, 201 or 204, never 202).
    const fn sync_update_delete(mut self) -> Self {
        self.lro_patch = false;
        self.lro_delete = false;
        self
    }

    const fn put_accepted(mut self) -> Self {
        self.put_accepted = true;
        self
    }

    const fn accepted_body(mut self) -> Self {
        self.accepted_body = true;
        self
    }
}

use names::NameRule as N;

pub const TYPES: &[TypeInfo] = &[
    t(
        "Microsoft.App/managedEnvironments",
        true,
        true,
        N::ContainerAppsEnvironment,
    ),
    t("Microsoft.App/containerApps", true, true, N::ContainerApp),
    t(
        "Microsoft.App/containerApps/revisions",
        false,
        false,
        N::Any,
    ),
    t(
        "Microsoft.App/containerApps/revisions/replicas",
        false,
        false,
        N::Any,
    ),
    t("Microsoft.KeyVault/vaults", true, true, N::KeyVault).sync_update_delete(),
    t(
        "Microsoft.DBforPostgreSQL/flexibleServers",
        true,
        true,
        N::PostgresServer,
    )
    .put_accepted(),
    t("Microsoft.Cdn/profiles", true, true, N::Cdn).accepted_body(),
    t("Microsoft.Cdn/profiles/afdEndpoints", true, true, N::Cdn).accepted_body(),
    t("Microsoft.Cdn/profiles/originGroups", true, false, N::Cdn).accepted_body(),
    t(
        "Microsoft.Cdn/profiles/originGroups/origins",
        true,
        false,
        N::Cdn,
    )
    .accepted_body(),
    t(
        "Microsoft.Cdn/profiles/afdEndpoints/routes",
        true,
        false,
        N::Cdn,
    )
    .accepted_body(),
    TypeInfo {
        canonical: "Microsoft.Storage/storageAccounts",
        lro_put: true,
        lro_patch: false,
        lro_delete: false,
        tracked: true,
        name_rule: N::StorageAccount,
        put_accepted: true,
        accepted_body: false,
    },
    t(
        "Microsoft.ContainerRegistry/registries",
        true,
        true,
        N::ContainerRegistry,
    ),
    t(
        "Microsoft.OperationalInsights/workspaces",
        true,
        true,
        N::LogAnalytics,
    ),
];

pub fn type_info(resource_type: &str) -> Option<&'static TypeInfo> {
    TYPES
        .iter()
        .find(|t| t.canonical.eq_ignore_ascii_case(resource_type))
}

pub fn canonical_type(resource_type: &str) -> Option<&'static str> {
    type_info(resource_type).map(|t| t.canonical)
}

fn known_namespace(namespace: &str) -> bool {
    TYPES.iter().any(|t| {
        t.canonical
            .split('/')
            .next()
            .is_some_and(|ns| ns.eq_ignore_ascii_case(namespace))
    })
}

pub fn dispatch(state: &mut State, ctx: &ArmCtx, path: &ProviderPath) -> SimResponse {
    let req = ctx.req;
    let requested_type = path.resource_type();
    if !known_namespace(&path.namespace) {
        if let Err(e) = apiversion::check(req.api_version(), "Microsoft.Resources", "") {
            return e;
        }
        return SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{}' is invalid.", path.namespace),
        );
    }
    let Some(info) = type_info(&requested_type) else {
        return SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceType",
            &format!(
                "The resource type '{}' could not be found in the namespace '{}' for api version '{}'.",
                path.types.join("/"),
                path.namespace,
                req.api_version().unwrap_or_default()
            ),
        );
    };
    if let Err(e) = apiversion::check(req.api_version(), info.canonical, "") {
        return e;
    }
    // Names in the path are checked before anything else touches state.
    for (i, name) in path.names.iter().enumerate() {
        let ty = info
            .canonical
            .split('/')
            .take(i + 2)
            .collect::<Vec<_>>()
            .join("/");
        let rule = type_info(&ty).map(|t| t.name_rule).unwrap_or(N::Any);
        // ARM names are case-insensitive: a path may address an existing resource in another case
        // (the specs' examples write `testcontainerApp0`); only the name a PUT creates must follow
        // the provider's casing rule.
        let creating = req.method == http::Method::PUT && i + 1 == path.names.len();
        if !creating && names::violation(rule, &name.to_ascii_lowercase()).is_none() {
            continue;
        }
        if let Err(e) = names::check(rule, name, &ty) {
            return e;
        }
    }
    if let Some(rg) = &path.resource_group {
        if state.resource_group(&path.subscription, rg).is_none() {
            return SimResponse::arm_error(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                &format!("Resource group '{rg}' could not be found."),
            );
        }
    } else if !path.is_collection() {
        return super::arm::not_found_path(req);
    }
    if info.canonical.starts_with("Microsoft.App/containerApps") {
        return containerapps::handle(state, ctx, path, info);
    }
    if info.canonical.starts_with("Microsoft.Cdn/") {
        return frontdoor::handle(state, ctx, path, info);
    }
    generic::handle(state, ctx, path, info)
}

/// The current ARM representation of a resource (dynamic fields filled in).
pub fn render(state: &State, id: &str) -> Option<Value> {
    let r = state.resource(id)?;
    if r.app.is_some() {
        return Some(containerapps::render_app(state, r));
    }
    Some(generic::render(r))
}

/// Applies a successful operation's effect.
pub fn complete_operation(state: &mut State, op: &Operation) {
    match &op.effect {
        Effect::ContainerAppSettle { .. }
        | Effect::ContainerAppStart
        | Effect::ContainerAppStop => containerapps::complete(state, op),
        Effect::DeleteResource => state.remove_resource_tree(&op.resource_id),
        Effect::Provisioned | Effect::DeleteResourceGroup => {}
    }
    if op.effect != Effect::DeleteResource {
        generic::set_provisioning_state(state, &op.resource_id, "Succeeded");
        frontdoor::set_deployment_status(state, &op.resource_id, "Succeeded");
    }
}

/// Applies a failed operation's effect: the resource stays as it was, marked `Failed`.
pub fn fail_operation(state: &mut State, op: &Operation) {
    match &op.effect {
        Effect::ContainerAppSettle { .. }
        | Effect::ContainerAppStart
        | Effect::ContainerAppStop => containerapps::fail(state, op),
        Effect::DeleteResourceGroup => {
            if let Some(rg) = state
                .resource_groups
                .values_mut()
                .find(|g| g.id().eq_ignore_ascii_case(&op.resource_id))
            {
                rg.provisioning_state = "Succeeded".into();
            }
        }
        _ => {
            generic::set_provisioning_state(state, &op.resource_id, "Failed");
            frontdoor::set_deployment_status(state, &op.resource_id, "Failed");
        }
    }
}

/// 404 for a resource that is not there, worded as ARM words it.
pub fn resource_not_found(path: &ProviderPath, canonical_type: &str) -> SimResponse {
    let rg = path.resource_group.as_deref().unwrap_or_default();
    let type_and_names: Vec<String> = canonical_type
        .split('/')
        .skip(1)
        .zip(path.names.iter())
        .map(|(t, n)| format!("{t}/{n}"))
        .collect();
    SimResponse::arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource '{}/{}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            canonical_type.split('/').next().unwrap_or_default(),
            type_and_names.join("/")
        ),
    )
}
