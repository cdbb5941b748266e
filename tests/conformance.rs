//! Conformance of the simulated Azure to the Azure REST API specifications in `shared/azure-specs`,
//! spoken to over HTTPS like any client:
//!
//! - (a) `responses_validate_against_the_specs`: every operation the simulator implements is driven
//!   through the default world (lists page by page, get, create, update, delete, actions, the status
//!   and result URLs of long-running operations, Resource Graph in both result formats, error
//!   answers) and every body is validated against the schema of the spec operation the request
//!   matches, at the specification's own api-version (errors against `default`). Operation-status
//!   resources are in no specification here, so they are checked by hand against the ARM RPC.
//! - (b) `spec_examples_replay`: every `x-ms-examples` request of an implemented operation is sent
//!   after seeding `tests/worlds/spec-examples.yaml`, and must be answered with one of the example's
//!   documented statuses and a valid body.
//! - `coverage_table_is_current`: `docs/CONFORMANCE.md` is exactly what [`IMPLEMENTED`] and the specs
//!   say (`AZDECK_WRITE_CONFORMANCE_TABLE=1` rewrites it), and `unimplemented_operations_are_refused`
//!   keeps [`IMPLEMENTED`] honest the other way: what it leaves out must not answer 2xx.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use azdeck::sim::state::Settings;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::{client_for, status_json, token_for, TestSim};
#[path = "support/swagger.rs"]
mod swagger;
use swagger::{Example, Operation, Specs};

/// The api-version of each specification file (its `info.version`): requests carry it so the
/// response is checked against the schema of that very version.
const RESOURCES: &str = "2025-04-01";
const SUBSCRIPTIONS: &str = "2022-12-01";
const GRAPH: &str = "2024-04-01";
const APP: &str = "2025-07-01";
const KEY_VAULT: &str = "2025-05-01";
const POSTGRES: &str = "2025-08-01";
const CDN: &str = "2025-06-01";
const STORAGE: &str = "2025-01-01";
/// The Key Vault data plane's secrets.json.
const SECRETS: &str = "7.6";

/// The operations of the specs the simulator implements, by (api-version, operationId). (a) must
/// exercise each of them successfully, and nothing else may answer 2xx
/// (`unimplemented_operations_are_refused`).
const IMPLEMENTED: &[(&str, &[&str])] = &[
    (
        RESOURCES,
        &[
            "Providers_Register",
            "Providers_List",
            "Providers_ListAtTenantScope",
            "Providers_Get",
            "Providers_GetAtTenantScope",
            "Resources_ListByResourceGroup",
            "Resources_List",
            "ResourceGroups_CheckExistence",
            "ResourceGroups_CreateOrUpdate",
            "ResourceGroups_Delete",
            "ResourceGroups_Get",
            "ResourceGroups_Update",
            "ResourceGroups_List",
        ],
    ),
    (
        SUBSCRIPTIONS,
        &[
            "Subscriptions_List",
            "Subscriptions_Get",
            "Subscriptions_ListLocations",
            "Tenants_List",
        ],
    ),
    (GRAPH, &["Resources"]),
    (
        APP,
        &[
            "ContainerApps_ListBySubscription",
            "ContainerApps_ListByResourceGroup",
            "ContainerApps_Get",
            "ContainerApps_CreateOrUpdate",
            "ContainerApps_Delete",
            "ContainerApps_Update",
            "ContainerApps_ListSecrets",
            "ContainerApps_Start",
            "ContainerApps_Stop",
            "ContainerAppsRevisions_ListRevisions",
            "ContainerAppsRevisions_GetRevision",
            "ContainerAppsRevisions_ActivateRevision",
            "ContainerAppsRevisions_DeactivateRevision",
            "ContainerAppsRevisions_RestartRevision",
            "ContainerAppsRevisionReplicas_ListReplicas",
            "ContainerAppsRevisionReplicas_GetReplica",
        ],
    ),
    (
        KEY_VAULT,
        &[
            "Vaults_ListBySubscription",
            "Vaults_ListByResourceGroup",
            "Vaults_Get",
            "Vaults_CreateOrUpdate",
            "Vaults_Update",
            "Vaults_Delete",
        ],
    ),
    (
        POSTGRES,
        &[
            "Servers_ListBySubscription",
            "Servers_ListByResourceGroup",
            "Servers_Get",
            "Servers_CreateOrUpdate",
            "Servers_Update",
            "Servers_Delete",
        ],
    ),
    (
        CDN,
        &[
            "Profiles_List",
            "Profiles_ListByResourceGroup",
            "Profiles_Get",
            "Profiles_Create",
            "Profiles_Update",
            "Profiles_Delete",
            "AFDEndpoints_ListByProfile",
            "AFDEndpoints_Get",
            "AFDEndpoints_Create",
            "AFDEndpoints_Update",
            "AFDEndpoints_Delete",
            "AFDOriginGroups_ListByProfile",
            "AFDOriginGroups_Get",
            "AFDOriginGroups_Create",
            "AFDOriginGroups_Update",
            "AFDOriginGroups_Delete",
            "AFDOrigins_ListByOriginGroup",
            "AFDOrigins_Get",
            "AFDOrigins_Create",
            "AFDOrigins_Update",
            "AFDOrigins_Delete",
            "Routes_ListByEndpoint",
            "Routes_Get",
            "Routes_Create",
            "Routes_Update",
            "Routes_Delete",
        ],
    ),
    (
        STORAGE,
        &[
            "StorageAccounts_List",
            "StorageAccounts_ListByResourceGroup",
            "StorageAccounts_GetProperties",
            "StorageAccounts_Create",
            "StorageAccounts_Update",
            "StorageAccounts_Delete",
        ],
    ),
    (
        SECRETS,
        &[
            "SetSecret",
            "GetSecret",
            "UpdateSecret",
            "GetSecrets",
            "GetSecretVersions",
            "DeleteSecret",
            "GetDeletedSecret",
            "GetDeletedSecrets",
            "RecoverDeletedSecret",
            "PurgeDeletedSecret",
        ],
    ),
];

/// Spec examples the simulator cannot honour, by file name, with the reason. Each is printed when
/// used; an entry no example uses fails the suite, so the list cannot go stale.
const EXAMPLE_ALLOW_LIST: &[(&str, &str)] = &[
    (
        "ResourcesNextPageQuery.json",
        "its $skipToken is made up (base64 of a joke, not a token any service issued); the simulator \
         continues only the queries it paged itself and refuses any other token with 400",
    ),
    (
        "GetDeletedSecret-example.json",
        "it reads GetDeletedSecretTest as deleted while DeleteSecret-example.json deletes that same \
         live secret: one seeded world cannot hold both, and the delete is the one replayed",
    ),
];

/// The vaults the tests address: the default world's and the specs' examples' `myvault`.
const VAULTS: &[&str] = &["kv-platform-prod", "kv-platform-dev", "myvault"];

fn is_data_plane(op: &Operation) -> bool {
    op.file.components().any(|c| c.as_os_str() == "data-plane")
}

/// `https://{vault}.vault.{domain}:{port}`, the base URL of a data-plane request.
fn vault_base(sim: &TestSim, vault: &str) -> String {
    format!(
        "https://{vault}.{}:{}",
        sim.env().endpoints.key_vault_dns_suffix,
        sim.handle.addr.port()
    )
}

/// A token for the Key Vault data plane's audience (ARM's is refused there).
async fn vault_token(sim: &TestSim) -> String {
    let scope = format!(
        "https://{}/.default",
        sim.env().endpoints.key_vault_dns_suffix
    );
    token_for(&sim.client, sim.env(), &scope).await
}

/// The seed of the examples: the resources they name, merged into the default world.
const EXAMPLES_WORLD: &str = include_str!("worlds/spec-examples.yaml");

const TABLE_PATH: &str = "docs/CONFORMANCE.md";

fn specs() -> &'static Specs {
    swagger::shared().unwrap_or_else(|e| panic!("loading the Azure specs failed: {e}"))
}

fn is_implemented(op: &Operation) -> bool {
    IMPLEMENTED
        .iter()
        .any(|(version, ids)| op.api_version == *version && ids.contains(&op.operation_id.as_str()))
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// A simulator whose long-running operations last until the test moves the clock (so "in
/// progress" is observable without racing), with small pages (so every list is paged) and no
/// throttling (so the suite is deterministic).
async fn start_sim() -> TestSim {
    let settings = Settings {
        page_size: 3,
        lro_ms: 10_000,
        throttle_scale: 0.0,
        token_lifetime_secs: 86_400,
        ..Settings::fast()
    };
    let mut sim = TestSim::start_with("default", settings).await;
    sim.client = client_for(sim.env(), sim.handle.addr, VAULTS);
    sim
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `path?query` (or an absolute URL) → (path, api-version).
fn split_url(url: &str) -> (String, Option<String>) {
    let rest = match url.strip_prefix("https://") {
        Some(r) => r.find('/').map_or("/", |i| &r[i..]),
        None => url,
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))
        .map(str::to_string);
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    (path, version)
}

fn with_version(path: &str, version: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={version}")
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

struct Answer {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name)
    }
}

/// How a long-running operation is expected to end.
#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Succeeded,
    /// Failed with this error code.
    Failed(&'static str),
}

/// Drives the simulator and collects every departure from the specs.
struct Conformance<'a> {
    sim: &'a TestSim,
    specs: &'static Specs,
    violations: Vec<String>,
    /// (api-version, operationId) of every operation answered with a 2xx.
    exercised: BTreeSet<(String, String)>,
    requests: usize,
    /// Sent instead of the ARM token to `*.vault.*` hosts.
    vault_token: String,
}

impl<'a> Conformance<'a> {
    fn new(sim: &'a TestSim) -> Self {
        Conformance {
            sim,
            specs: specs(),
            violations: Vec::new(),
            exercised: BTreeSet::new(),
            requests: 0,
            vault_token: String::new(),
        }
    }

    fn fail(&mut self, what: String) {
        self.violations.push(what);
    }

    async fn raw(&mut self, method: Method, url: &str, body: Option<Value>) -> Answer {
        self.raw_with(method, url, body, &[], true).await
    }

    /// A request with extra headers, with or without the bearer token.
    async fn raw_with(
        &mut self,
        method: Method,
        url: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
        token: bool,
    ) -> Answer {
        self.requests += 1;
        let mut req = self.sim.client.request(method, self.sim.url(url));
        if token {
            let vault_host = url
                .strip_prefix("https://")
                .is_some_and(|r| r.split('/').next().is_some_and(|h| h.contains(".vault.")));
            let t = if vault_host {
                &self.vault_token
            } else {
                &self.sim.token
            };
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let (_, body) = status_json(resp).await;
        Answer {
            status,
            body,
            headers,
        }
    }

    fn operation(&mut self, method: &Method, url: &str) -> Option<&'static Operation> {
        let (path, version) = split_url(url);
        let op = self
            .specs
            .find_operation(method.as_str(), &path, version.as_deref());
        if op.is_none() {
            self.fail(format!(
                "{method} {path} (api-version {version:?}): no operation of the specs matches"
            ));
        }
        op
    }

    /// Validates one answer of `op` (errors against `default`).
    fn validate(&mut self, op: &Operation, what: &str, a: &Answer) {
        let body = (!a.body.is_null()).then_some(&a.body);
        let declared = |s: &str| op.statuses.iter().any(|x| x == s);
        if a.status >= 400 && !declared("default") && !declared(&a.status.to_string()) {
            // storage.json declares no error response at all: hold its errors to ARM's envelope.
            self.check_error_envelope(&op.operation_id, what, a);
            return;
        }
        for v in self.specs.validate_response(op, a.status, body) {
            self.fail(format!("{} {} {what}: {v}", op.operation_id, a.status));
        }
    }

    fn check_error_envelope(&mut self, op_id: &str, what: &str, a: &Answer) {
        let e = &a.body["error"];
        if e["code"].as_str().is_none_or(str::is_empty) || !e["message"].is_string() {
            self.fail(format!(
                "{op_id} {} {what}: not ARM's error envelope {{\"error\": {{\"code\", \"message\"}}}}: {}",
                a.status, a.body
            ));
        }
    }

    /// Sends a request to an operation of the specs and validates the request body and the answer.
    async fn call(&mut self, method: Method, url: &str, body: Option<Value>) -> Answer {
        let op = self.operation(&method, url);
        if let (Some(op), Some(b)) = (op, &body) {
            for v in self.specs.validate_request(op, b) {
                self.fail(format!(
                    "{} request of the test itself: {v}",
                    op.operation_id
                ));
            }
        }
        let a = self.raw(method.clone(), url, body).await;
        if let Some(op) = op {
            let what = format!("{method} {}", split_url(url).0);
            self.validate(op, &what, &a);
            if (200..300).contains(&a.status) {
                self.exercised
                    .insert((op.api_version.clone(), op.operation_id.clone()));
            }
        }
        a
    }

    /// [`call`](Self::call), and the status must be one of `want`.
    async fn expect(
        &mut self,
        method: Method,
        url: &str,
        body: Option<Value>,
        want: &[u16],
    ) -> Answer {
        let a = self.call(method.clone(), url, body).await;
        if !want.contains(&a.status) {
            self.fail(format!(
                "{method} {}: expected {want:?}, got {}: {}",
                split_url(url).0,
                a.status,
                a.body
            ));
        }
        a
    }

    async fn get(&mut self, url: &str) -> Answer {
        self.expect(Method::GET, url, None, &[200]).await
    }

    /// A request the spec itself forbids (a value out of its bounds), sent to see the service
    /// refuse it: the answer must be one of `want` and valid against the operation's `default`.
    async fn refused(&mut self, method: Method, url: &str, body: Value, want: &[u16]) {
        let op = self.operation(&method, url);
        let a = self.raw(method.clone(), url, Some(body)).await;
        let what = format!("{method} {}", split_url(url).0);
        if !want.contains(&a.status) {
            self.fail(format!(
                "{what}: expected {want:?}, got {}: {}",
                a.status, a.body
            ));
        }
        if let Some(op) = op {
            self.validate(op, &what, &a);
        }
    }

    /// Every item of a list, following `nextLink` (each page validated).
    async fn list_all(&mut self, url: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(url.to_string());
        let mut pages = 0;
        while let Some(u) = next.take() {
            pages += 1;
            if pages > 100 {
                self.fail(format!("{url}: more than 100 pages"));
                break;
            }
            let a = self.get(&u).await;
            items.extend(a.body["value"].as_array().cloned().unwrap_or_default());
            next = a.body["nextLink"].as_str().map(str::to_string);
        }
        items
    }

    /// GETs every listed item by its id.
    async fn get_each(&mut self, items: &[Value], version: &str) {
        for item in items {
            match item["id"].as_str() {
                Some(id) => {
                    self.get(&with_version(id, version)).await;
                }
                None => self.fail(format!("listed item without an id: {item}")),
            }
        }
    }

    /// Follows the long-running operation `a` started (the answer to `method url`): its
    /// `Azure-AsyncOperation` status resource while running and once done, and its `Location`
    /// result URL likewise. The clock is moved instead of waiting.
    async fn follow(&mut self, method: Method, url: &str, a: &Answer, outcome: Outcome) {
        let Some(op) = self.operation(&method, url) else {
            return;
        };
        let what = format!("{method} {}", split_url(url).0);
        let status_url = a.header("azure-asyncoperation");
        let result_url = a.header("location");
        if status_url.is_none() && result_url.is_none() {
            // 200/201 without either header: the operation completed synchronously.
            if a.status == 202 {
                self.fail(format!(
                    "{} 202 {what}: accepted without Azure-AsyncOperation or Location",
                    op.operation_id
                ));
            }
            return;
        }
        if a.header("retry-after")
            .and_then(|r| r.parse::<u64>().ok())
            .is_none_or(|r| r < 1)
        {
            self.fail(format!(
                "{} {} {what}: Retry-After must be at least 1 second (0 makes the Python SDK wait 30 s)",
                op.operation_id, a.status
            ));
        }
        if let Some(u) = &status_url {
            self.status_resource(op, u, "InProgress").await;
        }
        if let Some(u) = &result_url {
            self.result(op, url, u, None).await;
        }
        self.sim.advance_clock(11).await;
        if let Some(u) = &status_url {
            let want = match outcome {
                Outcome::Succeeded => "Succeeded",
                Outcome::Failed(_) => "Failed",
            };
            let body = self.status_resource(op, u, want).await;
            if let Outcome::Failed(code) = outcome {
                if body["error"]["code"] != code {
                    self.fail(format!(
                        "{} status {u}: expected error code {code}: {body}",
                        op.operation_id
                    ));
                }
            }
        }
        if let Some(u) = &result_url {
            self.result(op, url, u, Some(outcome)).await;
        }
    }

    /// An operation-status resource (`Azure-AsyncOperation`). The specs here define none, so it is
    /// held to the ARM RPC (async-api-reference.md, "Azure-AsyncOperation Resource format").
    async fn status_resource(&mut self, op: &Operation, url: &str, want: &str) -> Value {
        self.requests += 1;
        let (status, body) = self.sim.get(url).await;
        let who = format!("{} status resource {}", op.operation_id, split_url(url).0);
        let mut bad = |m: String| self.violations.push(format!("{who}: {m}"));
        if status != 200 {
            bad(format!(
                "answered {status}, a status resource always answers 200: {body}"
            ));
            return body;
        }
        let Some(o) = body.as_object() else {
            bad(format!("not an object: {body}"));
            return body;
        };
        let state = o.get("status").and_then(Value::as_str).unwrap_or_default();
        if state != want {
            bad(format!(
                "status is {:?}, expected {want:?}",
                o.get("status")
            ));
        }
        if let Some(id) = o.get("id") {
            let path = split_url(url).0;
            match id.as_str() {
                Some(id) if id.eq_ignore_ascii_case(&path) => {
                    let last = id.rsplit('/').next().unwrap_or_default();
                    if o.get("name").is_some_and(|n| n.as_str() != Some(last)) {
                        bad(format!(
                            "name {:?} is not the last segment of id",
                            o["name"]
                        ));
                    }
                }
                _ => bad(format!("id {id} is not the path it is read from ({path})")),
            }
        }
        for key in ["startTime", "endTime"] {
            if o.get(key).is_some_and(|t| !is_rfc3339(t)) {
                bad(format!("{key} {:?} is not an ISO 8601 date-time", o[key]));
            }
        }
        if let Some(p) = o.get("percentComplete") {
            if !p.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p)) {
                bad(format!("percentComplete {p} is not a number in 0..=100"));
            }
        }
        let terminal_error = matches!(state, "Failed" | "Canceled");
        match o.get("error") {
            Some(e) if terminal_error => {
                if e["code"].as_str().is_none_or(str::is_empty) {
                    bad(format!("error.code is required when {state}: {e}"));
                }
                if state == "Failed" && !e["message"].is_string() {
                    bad(format!("error.message is required when Failed: {e}"));
                }
            }
            Some(e) => bad(format!("an error while {state}: {e}")),
            None if terminal_error => bad(format!("no error although {state}")),
            None => {}
        }
        if o.contains_key("properties") && state != "Succeeded" {
            bad(format!("properties while {state}"));
        }
        body
    }

    /// The `Location` result URL of an operation started by `started_url`: 202 while running;
    /// once done, what the operation would have answered synchronously (async-api-reference.md).
    async fn result(
        &mut self,
        op: &Operation,
        started_url: &str,
        url: &str,
        outcome: Option<Outcome>,
    ) {
        let a = self.raw(Method::GET, url, None).await;
        let what = format!("{} result {}", op.operation_id, split_url(url).0);
        let Some(outcome) = outcome else {
            if a.status != 202 || !a.body.is_null() {
                self.fail(format!(
                    "{what}: expected 202 without a body while running, got {}: {}",
                    a.status, a.body
                ));
            }
            if a.header("location").is_none() || a.header("retry-after").is_none() {
                self.fail(format!("{what}: 202 without Location and Retry-After"));
            }
            return;
        };
        if let Outcome::Failed(_) = outcome {
            if a.status < 400 {
                self.fail(format!(
                    "{what}: the operation failed but its result answered {}",
                    a.status
                ));
            }
            self.validate(op, &what, &a);
            return;
        }
        if op.method == "DELETE" {
            if !matches!(a.status, 200 | 204) || !a.body.is_null() {
                self.fail(format!(
                    "{what}: expected 200 or 204 without a body, got {}: {}",
                    a.status, a.body
                ));
            }
            self.validate(op, &what, &a);
            return;
        }
        if a.status != 200 {
            self.fail(format!(
                "{what}: expected 200 with the resource, got {}: {}",
                a.status, a.body
            ));
            return;
        }
        if op.statuses.iter().any(|s| s == "200") {
            self.validate(op, &what, &a);
        } else {
            // The operation declares no synchronous answer (PostgreSQL: 202 only): the result is the
            // resource as its GET describes it.
            let (path, version) = split_url(started_url);
            let resource = if op.method == "POST" {
                path.rsplit_once('/').map_or(path.as_str(), |(p, _)| p)
            } else {
                path.as_str()
            };
            let get = self.operation(
                &Method::GET,
                &with_version(resource, version.as_deref().unwrap_or_default()),
            );
            if let Some(get) = get {
                self.validate(get, &what, &a);
            }
        }
    }

    /// A write that starts a long-running operation, followed to its end.
    async fn lro(
        &mut self,
        method: Method,
        url: &str,
        body: Option<Value>,
        want: &[u16],
        outcome: Outcome,
    ) -> Answer {
        let a = self.expect(method.clone(), url, body, want).await;
        if (200..300).contains(&a.status) {
            self.follow(method, url, &a, outcome).await;
        }
        a
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Every implemented operation, through the default world.
// ---------------------------------------------------------------------------------------------

async fn drive_resources(c: &mut Conformance<'_>, sub: &str) {
    let v = RESOURCES;
    let providers = c
        .list_all(&with_version(&format!("/subscriptions/{sub}/providers"), v))
        .await;
    if providers.is_empty() {
        c.fail("no resource providers listed".into());
    }
    c.list_all(&with_version("/providers", v)).await;
    for ns in [
        "Microsoft.App",
        "Microsoft.ResourceGraph",
        "microsoft.keyvault",
    ] {
        c.get(&with_version(
            &format!("/subscriptions/{sub}/providers/{ns}"),
            v,
        ))
        .await;
        c.get(&with_version(&format!("/providers/{ns}"), v)).await;
    }
    c.expect(
        Method::POST,
        &with_version(
            &format!("/subscriptions/{sub}/providers/Microsoft.App/register"),
            v,
        ),
        None,
        &[200],
    )
    .await;
    c.expect(
        Method::GET,
        &with_version(
            &format!("/subscriptions/{sub}/providers/Contoso.Nothing"),
            v,
        ),
        None,
        &[404],
    )
    .await;

    // The generic resource listing, with ARM's query options.
    c.list_all(&with_version(&format!("/subscriptions/{sub}/resources"), v))
        .await;
    c.list_all(&with_version(
        &format!(
            "/subscriptions/{sub}/resources?$expand=createdTime,changedTime,provisioningState"
        ),
        v,
    ))
    .await;
    c.list_all(&with_version(
        &format!("/subscriptions/{sub}/resources?$filter=resourceType%20eq%20'Microsoft.App/containerApps'"),
        v,
    ))
    .await;
    c.list_all(&with_version(
        &format!("/subscriptions/{sub}/resources?$filter=tagName%20eq%20'env'%20and%20tagValue%20eq%20'prod'"),
        v,
    ))
    .await;
    c.expect(
        Method::GET,
        &with_version(
            &format!("/subscriptions/{sub}/resources?$filter=plan%20eq%20'x'"),
            v,
        ),
        None,
        &[400],
    )
    .await;

    // Resource groups.
    let groups = c
        .list_all(&with_version(
            &format!("/subscriptions/{sub}/resourcegroups"),
            v,
        ))
        .await;
    c.get_each(&groups, v).await;
    for g in &groups {
        if let Some(id) = g["id"].as_str() {
            c.list_all(&with_version(&format!("{id}/resources"), v))
                .await;
        }
    }
    let rg = format!("/subscriptions/{sub}/resourcegroups/rg-platform-prod");
    c.expect(Method::HEAD, &with_version(&rg, v), None, &[204])
        .await;
    let missing = format!("/subscriptions/{sub}/resourcegroups/rg-does-not-exist");
    c.expect(Method::HEAD, &with_version(&missing, v), None, &[404])
        .await;
    c.expect(Method::GET, &with_version(&missing, v), None, &[404])
        .await;
    c.expect(
        Method::GET,
        &with_version(&format!("{missing}/resources"), v),
        None,
        &[404],
    )
    .await;
    let new = with_version(
        &format!("/subscriptions/{sub}/resourcegroups/rg-conformance"),
        v,
    );
    let body = json!({"location": "eastus", "tags": {"purpose": "conformance"}});
    c.expect(Method::PUT, &new, Some(body.clone()), &[201])
        .await;
    c.expect(Method::PUT, &new, Some(body), &[200]).await;
    c.expect(
        Method::PATCH,
        &new,
        Some(json!({"tags": {"purpose": "conformance", "owner": "tests"}})),
        &[200],
    )
    .await;
    c.expect(
        Method::PUT,
        &new,
        Some(json!({"location": "westeurope"})),
        &[409],
    )
    .await;
    c.lro(Method::DELETE, &new, None, &[202], Outcome::Succeeded)
        .await;
    c.expect(Method::GET, &new, None, &[404]).await;
    c.expect(
        Method::GET,
        &with_version(
            "/subscriptions/00000000-0000-0000-0000-00000000dead/resourcegroups",
            v,
        ),
        None,
        &[404],
    )
    .await;
}

/// A request the ARM envelope refuses before any provider sees it.
struct Refusal {
    method: Method,
    url: String,
    body: Option<Value>,
    headers: &'static [(&'static str, &'static str)],
    token: bool,
    want: u16,
}

/// The envelope's own refusals, in the error shape of the operation they were addressed to.
async fn drive_envelope_errors(c: &mut Conformance<'_>, sub: &str) {
    let rg = format!("/subscriptions/{sub}/resourcegroups/rg-platform-prod");
    let vault = format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-platform-prod");
    let get = |url: String, token: bool, want: u16| Refusal {
        method: Method::GET,
        url,
        body: None,
        headers: &[],
        token,
        want,
    };
    let cases = [
        // No bearer token.
        get(with_version(&rg, RESOURCES), false, 401),
        // No api-version, and one that no specification or client uses.
        get(rg.clone(), true, 400),
        get(with_version(&rg, "1999-01-01"), true, 400),
        get(with_version(&vault, "1999-01-01"), true, 400),
        // An ETag that does not match.
        Refusal {
            method: Method::PATCH,
            url: with_version(&vault, KEY_VAULT),
            body: Some(json!({"tags": {"env": "prod"}})),
            headers: &[("If-Match", "\"not-the-etag\"")],
            token: true,
            want: 412,
        },
    ];
    for r in cases {
        // The operation is the one at the specification's version, whatever the URL carries.
        let (path, _) = split_url(&r.url);
        let version = if path.contains("Microsoft.KeyVault") {
            KEY_VAULT
        } else {
            RESOURCES
        };
        let Some(op) = c.operation(&r.method, &with_version(&path, version)) else {
            continue;
        };
        let a = c
            .raw_with(r.method.clone(), &r.url, r.body, r.headers, r.token)
            .await;
        let what = format!("{} {}", r.method, r.url);
        if a.status != r.want {
            c.fail(format!(
                "{what}: expected {}, got {}: {}",
                r.want, a.status, a.body
            ));
        }
        c.validate(op, &what, &a);
    }
}

async fn drive_subscriptions(c: &mut Conformance<'_>) {
    let v = SUBSCRIPTIONS;
    let subs = c.list_all(&with_version("/subscriptions", v)).await;
    for s in &subs {
        let Some(id) = s["id"].as_str() else { continue };
        c.get(&with_version(id, v)).await;
        c.list_all(&with_version(&format!("{id}/locations"), v))
            .await;
    }
    c.list_all(&with_version("/tenants", v)).await;
    c.expect(
        Method::GET,
        &with_version("/subscriptions/00000000-0000-0000-0000-00000000dead", v),
        None,
        &[404],
    )
    .await;
}

async fn drive_graph(c: &mut Conformance<'_>, sub: &str) {
    let url = with_version("/providers/Microsoft.ResourceGraph/resources", GRAPH);
    for body in [
        json!({"query": "Resources"}),
        json!({"subscriptions": [sub], "query": "Resources | where type =~ 'Microsoft.App/containerApps' | project name, resourceGroup, mode = properties.configuration.activeRevisionsMode | order by name asc"}),
        json!({"subscriptions": [sub], "query": "Resources | summarize count() by type | order by type asc", "options": {"resultFormat": "table"}}),
        json!({"query": "Resources | where name == 'kv-platform-prod' | project name, location, tags", "options": {"resultFormat": "objectArray"}}),
    ] {
        c.expect(Method::POST, &url, Some(body), &[200]).await;
    }
    // Paging with $skipToken, in both result formats.
    for format in ["objectArray", "table"] {
        let query = "Resources | project id, name, type | order by id asc";
        let mut options = json!({"$top": 5, "resultFormat": format});
        for _ in 0..50 {
            let a = c
                .expect(
                    Method::POST,
                    &url,
                    Some(json!({"query": query, "options": options.clone()})),
                    &[200],
                )
                .await;
            let Some(token) = a.body["$skipToken"].as_str() else {
                break;
            };
            options = json!({"$skipToken": token, "resultFormat": format});
        }
    }
    c.expect(
        Method::POST,
        &url,
        Some(json!({"query": "Resources | frobnicate"})),
        &[400],
    )
    .await;
    c.expect(
        Method::POST,
        &url,
        Some(json!({"subscriptions": ["00000000-0000-0000-0000-00000000dead"], "query": "Resources"})),
        &[403],
    )
    .await;
}

async fn drive_container_apps(c: &mut Conformance<'_>, subs: &[String], sub: &str) {
    let v = APP;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod");
    let apps_of =
        |scope: &str| with_version(&format!("{scope}/providers/Microsoft.App/containerApps"), v);
    for s in subs {
        c.list_all(&apps_of(&format!("/subscriptions/{s}"))).await;
    }
    let apps = c.list_all(&apps_of(&rg)).await;
    for app in &apps {
        let Some(id) = app["id"].as_str() else {
            continue;
        };
        c.get(&with_version(id, v)).await;
        let revisions = c
            .list_all(&with_version(&format!("{id}/revisions"), v))
            .await;
        c.get_each(&revisions, v).await;
    }

    let app = |name: &str| format!("{rg}/providers/Microsoft.App/containerApps/{name}");
    // Replicas of a revision that takes traffic.
    let b212 = format!("{}/revisions/chat-api--b212", app("chat-api"));
    let replicas = c
        .list_all(&with_version(&format!("{b212}/replicas"), v))
        .await;
    if replicas.is_empty() {
        c.fail(format!("{b212}: a revision with traffic has no replicas"));
    }
    c.get_each(&replicas, v).await;
    c.expect(
        Method::GET,
        &with_version(&format!("{b212}/replicas/no-such-replica"), v),
        None,
        &[404],
    )
    .await;
    c.expect(
        Method::POST,
        &with_version(&format!("{}/listSecrets", app("dagster-daemon")), v),
        None,
        &[200],
    )
    .await;

    // Revision actions (Multiple mode).
    let b211 = format!("{}/revisions/chat-api--b211", app("chat-api"));
    let b213 = format!("{}/revisions/chat-api--b213", app("chat-api"));
    for (path, want) in [
        (format!("{b211}/activate"), 200),
        (format!("{b211}/deactivate"), 200),
        (format!("{b213}/restart"), 200),
        (format!("{b211}/restart"), 400),
        (
            format!("{}/revisions/chat-api--nope/activate", app("chat-api")),
            404,
        ),
    ] {
        c.expect(Method::POST, &with_version(&path, v), None, &[want])
            .await;
    }
    c.expect(
        Method::GET,
        &with_version(&format!("{}/revisions/chat-api--nope", app("chat-api")), v),
        None,
        &[404],
    )
    .await;
    c.expect(
        Method::GET,
        &with_version(&app("no-such-app"), v),
        None,
        &[404],
    )
    .await;

    // A new app through its whole life.
    let env = format!("{rg}/providers/Microsoft.App/managedEnvironments/cae-platform-prod");
    let url = with_version(&app("conformance-app"), v);
    let body = json!({
        "location": "eastus",
        "tags": {"purpose": "conformance"},
        "properties": {
            "environmentId": env,
            "configuration": {
                "activeRevisionsMode": "Single",
                "ingress": {"external": true, "targetPort": 8080},
                "secrets": [{"name": "db-password", "value": "not-a-real-password"}],
            },
            "template": {
                "containers": [{"name": "web", "image": "mcr.microsoft.com/k8se/quickstart:latest", "resources": {"cpu": 0.25, "memory": "0.5Gi"}}],
                "scale": {"minReplicas": 1, "maxReplicas": 2},
            },
        },
    });
    let mut invalid = body.clone();
    invalid["properties"]["template"]["containers"] = json!([]);
    c.expect(Method::PUT, &url, Some(invalid), &[400]).await;
    c.lro(
        Method::PUT,
        &url,
        Some(body.clone()),
        &[201],
        Outcome::Succeeded,
    )
    .await;
    c.lro(Method::PUT, &url, Some(body), &[200], Outcome::Succeeded)
        .await;
    c.get(&url).await;
    let revisions = c
        .list_all(&with_version(
            &format!("{}/revisions", app("conformance-app")),
            v,
        ))
        .await;
    for rev in &revisions {
        if let Some(id) = rev["id"].as_str() {
            c.list_all(&with_version(&format!("{id}/replicas"), v))
                .await;
        }
    }
    c.expect(
        Method::POST,
        &with_version(&format!("{}/listSecrets", app("conformance-app")), v),
        None,
        &[200],
    )
    .await;
    // The PATCH body is a ContainerApp, whose schema requires a location (clients send it).
    let patch = json!({
        "location": "eastus",
        "tags": {"purpose": "conformance", "tier": "web"},
        "properties": {"template": {"containers": [{"name": "web", "image": "mcr.microsoft.com/k8se/quickstart:v2"}]}},
    });
    let a = c
        .expect(Method::PATCH, &url, Some(patch.clone()), &[202])
        .await;
    // While it runs, another change is refused.
    c.expect(Method::PATCH, &url, Some(patch), &[409]).await;
    c.follow(Method::PATCH, &url, &a, Outcome::Succeeded).await;
    for action in ["stop", "start"] {
        c.lro(
            Method::POST,
            &with_version(&format!("{}/{action}", app("conformance-app")), v),
            None,
            &[202],
            Outcome::Succeeded,
        )
        .await;
    }
    // An operation that fails: the status resource carries the error, the result URL answers it.
    c.sim
        .add_fault(json!({"match": {"method": "PATCH", "path": "conformance-app"}, "action": {"kind": "failLro", "code": "ContainerAppProvisioningFailed", "message": "Image pull failed"}, "times": 1}))
        .await;
    let broken = json!({"location": "eastus", "properties": {"template": {"containers": [{"name": "web", "image": "mcr.microsoft.com/k8se/quickstart:nope"}]}}});
    c.lro(
        Method::PATCH,
        &url,
        Some(broken),
        &[202],
        Outcome::Failed("ContainerAppProvisioningFailed"),
    )
    .await;
    c.get(&url).await;
    c.lro(Method::DELETE, &url, None, &[202], Outcome::Succeeded)
        .await;
    c.expect(Method::DELETE, &url, None, &[204]).await;
    c.expect(Method::GET, &url, None, &[404]).await;
}

async fn drive_key_vault(c: &mut Conformance<'_>, subs: &[String], sub: &str) {
    let v = KEY_VAULT;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod");
    for s in subs {
        let vaults = c
            .list_all(&with_version(
                &format!("/subscriptions/{s}/providers/Microsoft.KeyVault/vaults"),
                v,
            ))
            .await;
        c.get_each(&vaults, v).await;
    }
    c.list_all(&with_version(
        &format!("{rg}/providers/Microsoft.KeyVault/vaults"),
        v,
    ))
    .await;
    let url = with_version(
        &format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-conformance"),
        v,
    );
    let tenant = c.sim.env().tenant_id.clone();
    let body = json!({
        "location": "eastus",
        "tags": {"purpose": "conformance"},
        "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "standard"}, "enableRbacAuthorization": true, "enableSoftDelete": true},
    });
    c.lro(Method::PUT, &url, Some(body), &[201], Outcome::Succeeded)
        .await;
    c.get(&url).await;
    c.expect(
        Method::PATCH,
        &url,
        Some(json!({"tags": {"purpose": "conformance", "owner": "tests"}, "properties": {"enablePurgeProtection": true}})),
        &[200],
    )
    .await;
    c.expect(Method::DELETE, &url, None, &[200]).await;
    c.expect(Method::DELETE, &url, None, &[204]).await;
    c.expect(Method::GET, &url, None, &[404]).await;
    c.expect(
        Method::GET,
        &with_version(
            &format!("{rg}/providers/Microsoft.KeyVault/vaults/Bad_Vault_Name"),
            v,
        ),
        None,
        &[400],
    )
    .await;
}

/// The Key Vault secrets data plane (its own host, a token for the vault audience), in kv-platform-dev
/// where purging is allowed, and the purge protection of kv-platform-prod.
async fn drive_secrets(c: &mut Conformance<'_>) {
    let v = SECRETS;
    c.vault_token = vault_token(c.sim).await;
    let dev = vault_base(c.sim, "kv-platform-dev");
    let prod = vault_base(c.sim, "kv-platform-prod");
    let url = |base: &str, path: &str| with_version(&format!("{base}{path}"), v);

    let secrets = c.list_all(&url(&dev, "/secrets?maxresults=2")).await;
    if secrets.is_empty() {
        c.fail("kv-platform-dev lists no secrets".into());
    }
    for s in &secrets {
        if let Some(id) = s["id"].as_str() {
            c.list_all(&with_version(&format!("{id}/versions"), v))
                .await;
        }
    }
    let set = url(&dev, "/secrets/conformance-secret");
    let first = c
        .expect(
            Method::PUT,
            &set,
            Some(json!({"value": "one", "contentType": "text/plain", "tags": {"purpose": "conformance"}})),
            &[200],
        )
        .await;
    c.expect(
        Method::PUT,
        &set,
        Some(json!({"value": "two", "attributes": {"enabled": true, "exp": 1_900_000_000}})),
        &[200],
    )
    .await;
    let versions = c
        .list_all(&url(
            &dev,
            "/secrets/conformance-secret/versions?maxresults=1",
        ))
        .await;
    if versions.len() != 2 {
        c.fail(format!("two versions set, {} listed", versions.len()));
    }
    for item in &versions {
        if let Some(id) = item["id"].as_str() {
            c.get(&with_version(id, v)).await;
        }
    }
    if let Some(id) = first.body["id"].as_str() {
        c.expect(
            Method::PATCH,
            &with_version(id, v),
            Some(json!({"contentType": "application/json", "attributes": {"enabled": false}, "tags": {"state": "off"}})),
            &[200],
        )
        .await;
        c.expect(Method::GET, &with_version(id, v), None, &[403])
            .await;
    }
    c.expect(
        Method::GET,
        &url(
            &dev,
            "/secrets/conformance-secret/0123456789abcdef0123456789abcdef",
        ),
        None,
        &[404],
    )
    .await;
    c.expect(
        Method::PUT,
        &url(&dev, "/secrets/bad_name"),
        Some(json!({"value": "x"})),
        &[400],
    )
    .await;
    c.expect(Method::DELETE, &set, None, &[200]).await;
    c.expect(Method::PUT, &set, Some(json!({"value": "three"})), &[409])
        .await;
    let deleted = url(&dev, "/deletedsecrets/conformance-secret");
    c.get(&deleted).await;
    c.list_all(&url(&dev, "/deletedsecrets?maxresults=1")).await;
    c.expect(
        Method::POST,
        &url(&dev, "/deletedsecrets/conformance-secret/recover"),
        None,
        &[200],
    )
    .await;
    c.expect(Method::DELETE, &set, None, &[200]).await;
    c.expect(Method::DELETE, &deleted, None, &[204]).await;
    c.expect(Method::GET, &deleted, None, &[404]).await;
    c.expect(Method::DELETE, &set, None, &[404]).await;
    // Purge protection: the purge is refused.
    c.expect(
        Method::DELETE,
        &url(&prod, "/deletedsecrets/acr-pull-token"),
        None,
        &[403],
    )
    .await;
}

async fn drive_postgres(c: &mut Conformance<'_>, subs: &[String], sub: &str) {
    let v = POSTGRES;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod");
    for s in subs {
        let servers = c
            .list_all(&with_version(
                &format!("/subscriptions/{s}/providers/Microsoft.DBforPostgreSQL/flexibleServers"),
                v,
            ))
            .await;
        c.get_each(&servers, v).await;
    }
    c.list_all(&with_version(
        &format!("{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"),
        v,
    ))
    .await;
    let url = with_version(
        &format!("{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-conformance"),
        v,
    );
    let body = json!({
        "location": "eastus",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "administratorLogin": "conformance",
            "administratorLoginPassword": "not-a-real-password-1!",
            "version": "16",
            "storage": {"storageSizeGB": 32},
            "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
            "createMode": "Create",
        },
    });
    c.lro(Method::PUT, &url, Some(body), &[202], Outcome::Succeeded)
        .await;
    c.get(&url).await;
    c.lro(
        Method::PATCH,
        &url,
        Some(json!({"tags": {"purpose": "conformance"}, "properties": {"backup": {"backupRetentionDays": 14}}})),
        &[202],
        Outcome::Succeeded,
    )
    .await;
    c.lro(Method::DELETE, &url, None, &[202], Outcome::Succeeded)
        .await;
    c.expect(Method::GET, &url, None, &[404]).await;
}

async fn drive_cdn(c: &mut Conformance<'_>, subs: &[String], sub: &str) {
    let v = CDN;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod");
    for s in subs {
        c.list_all(&with_version(
            &format!("/subscriptions/{s}/providers/Microsoft.Cdn/profiles"),
            v,
        ))
        .await;
    }
    let profiles = c
        .list_all(&with_version(
            &format!("{rg}/providers/Microsoft.Cdn/profiles"),
            v,
        ))
        .await;
    for p in &profiles {
        let Some(id) = p["id"].as_str() else { continue };
        c.get(&with_version(id, v)).await;
        let endpoints = c
            .list_all(&with_version(&format!("{id}/afdEndpoints"), v))
            .await;
        c.get_each(&endpoints, v).await;
        for e in &endpoints {
            if let Some(eid) = e["id"].as_str() {
                let routes = c.list_all(&with_version(&format!("{eid}/routes"), v)).await;
                c.get_each(&routes, v).await;
            }
        }
        let groups = c
            .list_all(&with_version(&format!("{id}/originGroups"), v))
            .await;
        c.get_each(&groups, v).await;
        for g in &groups {
            if let Some(gid) = g["id"].as_str() {
                let origins = c
                    .list_all(&with_version(&format!("{gid}/origins"), v))
                    .await;
                c.get_each(&origins, v).await;
            }
        }
    }

    // A profile with one of each child, created, updated and deleted.
    let profile = format!("{rg}/providers/Microsoft.Cdn/profiles/afd-conformance");
    let endpoint = format!("{profile}/afdEndpoints/ep-conformance");
    let group = format!("{profile}/originGroups/og-conformance");
    let origin = format!("{group}/origins/origin-conformance");
    let route = format!("{endpoint}/routes/route-conformance");
    let creations = [
        (
            profile.clone(),
            json!({"location": "Global", "sku": {"name": "Standard_AzureFrontDoor"}, "tags": {"purpose": "conformance"}}),
        ),
        (
            endpoint.clone(),
            json!({"location": "Global", "properties": {"enabledState": "Enabled"}}),
        ),
        (
            group.clone(),
            json!({"properties": {
                "loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3, "additionalLatencyInMilliseconds": 50},
                "healthProbeSettings": {"probePath": "/healthz", "probeRequestType": "GET", "probeProtocol": "Https", "probeIntervalInSeconds": 30},
                "sessionAffinityState": "Disabled",
            }}),
        ),
        (
            origin.clone(),
            json!({"properties": {"hostName": "conformance.example.com", "originHostHeader": "conformance.example.com", "httpPort": 80, "httpsPort": 443, "priority": 1, "weight": 1000, "enabledState": "Enabled"}}),
        ),
        (
            route.clone(),
            json!({"properties": {
                "originGroup": {"id": group},
                "supportedProtocols": ["Https"],
                "patternsToMatch": ["/*"],
                "forwardingProtocol": "HttpsOnly",
                "linkToDefaultDomain": "Enabled",
                "httpsRedirect": "Enabled",
            }}),
        ),
    ];
    for (path, body) in &creations {
        let url = with_version(path, v);
        c.lro(
            Method::PUT,
            &url,
            Some(body.clone()),
            &[201],
            Outcome::Succeeded,
        )
        .await;
        c.get(&url).await;
    }
    let updates = [
        (
            &profile,
            json!({"tags": {"purpose": "conformance", "owner": "tests"}}),
        ),
        (
            &endpoint,
            json!({"properties": {"enabledState": "Disabled"}}),
        ),
        (
            &group,
            json!({"properties": {"sessionAffinityState": "Enabled"}}),
        ),
        (
            &origin,
            json!({"properties": {"enabledState": "Disabled", "priority": 2}}),
        ),
        (&route, json!({"properties": {"enabledState": "Disabled"}})),
    ];
    for (path, body) in updates {
        c.lro(
            Method::PATCH,
            &with_version(path, v),
            Some(body),
            &[200, 202],
            Outcome::Succeeded,
        )
        .await;
    }
    // Front Door's refusals: an origin priority out of 1–5, a weight out of 1–1000 (400) and a
    // child of a parent that is not there (404 ParentResourceNotFound), against `default`.
    for props in [json!({"priority": 0}), json!({"weight": 1001})] {
        let mut props = props;
        props["hostName"] = json!("conformance.example.com");
        c.refused(
            Method::PUT,
            &with_version(&format!("{group}/origins/origin-invalid"), v),
            json!({ "properties": props }),
            &[400],
        )
        .await;
    }
    c.expect(
        Method::PUT,
        &with_version(&format!("{profile}/originGroups/og-missing/origins/o1"), v),
        Some(json!({"properties": {"hostName": "conformance.example.com"}})),
        &[404],
    )
    .await;
    for path in [&route, &origin, &group, &endpoint, &profile] {
        let url = with_version(path, v);
        c.lro(Method::DELETE, &url, None, &[200, 202], Outcome::Succeeded)
            .await;
        c.expect(Method::GET, &url, None, &[404]).await;
    }
}

async fn drive_storage(c: &mut Conformance<'_>, subs: &[String], sub: &str) {
    let v = STORAGE;
    let rg = format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod");
    for s in subs {
        let accounts = c
            .list_all(&with_version(
                &format!("/subscriptions/{s}/providers/Microsoft.Storage/storageAccounts"),
                v,
            ))
            .await;
        c.get_each(&accounts, v).await;
    }
    c.list_all(&with_version(
        &format!("{rg}/providers/Microsoft.Storage/storageAccounts"),
        v,
    ))
    .await;
    let url = with_version(
        &format!("{rg}/providers/Microsoft.Storage/storageAccounts/stconformance01"),
        v,
    );
    let body = json!({
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "tags": {"purpose": "conformance"},
        "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false},
    });
    c.lro(
        Method::PUT,
        &url,
        Some(body),
        &[200, 202],
        Outcome::Succeeded,
    )
    .await;
    c.get(&url).await;
    c.expect(
        Method::PATCH,
        &url,
        Some(json!({"tags": {"purpose": "conformance", "owner": "tests"}})),
        &[200],
    )
    .await;
    c.expect(Method::DELETE, &url, None, &[200]).await;
    c.expect(Method::DELETE, &url, None, &[204]).await;
    c.expect(Method::GET, &url, None, &[404]).await;
    c.expect(
        Method::GET,
        &with_version(
            &format!("{rg}/providers/Microsoft.Storage/storageAccounts/Not_Valid"),
            v,
        ),
        None,
        &[400],
    )
    .await;
}

fn implemented_set() -> BTreeSet<(String, String)> {
    IMPLEMENTED
        .iter()
        .flat_map(|(v, ids)| ids.iter().map(|id| (v.to_string(), id.to_string())))
        .collect()
}

#[tokio::test]
async fn responses_validate_against_the_specs() {
    let started = std::time::Instant::now();
    let sim = start_sim().await;
    let sub = sim.prod_sub();
    let subs: Vec<String> = sim
        .env()
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let mut c = Conformance::new(&sim);
    drive_resources(&mut c, &sub).await;
    drive_envelope_errors(&mut c, &sub).await;
    drive_subscriptions(&mut c).await;
    drive_graph(&mut c, &sub).await;
    drive_container_apps(&mut c, &subs, &sub).await;
    drive_key_vault(&mut c, &subs, &sub).await;
    drive_postgres(&mut c, &subs, &sub).await;
    drive_cdn(&mut c, &subs, &sub).await;
    drive_storage(&mut c, &subs, &sub).await;
    drive_secrets(&mut c).await;

    // "Implemented" must mean exercised here, and what answered 2xx must be declared implemented.
    let implemented = implemented_set();
    for (v, id) in implemented.difference(&c.exercised) {
        c.violations.push(format!(
            "{id} ({v}) is listed as implemented but no request of this test got a 2xx from it"
        ));
    }
    for (v, id) in c.exercised.difference(&implemented) {
        c.violations.push(format!(
            "{id} ({v}) answered 2xx but is not in IMPLEMENTED: add it (and regenerate {TABLE_PATH})"
        ));
    }
    println!(
        "conformance (a): {} requests, {} operations exercised, {:?}",
        c.requests,
        c.exercised.len(),
        started.elapsed()
    );
    let violations = std::mem::take(&mut c.violations);
    sim.stop().await;
    assert!(
        violations.is_empty(),
        "{} departures from the Azure specs:\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// (b) The specs' own examples.
// ---------------------------------------------------------------------------------------------

fn examples_world() -> Value {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(EXAMPLES_WORLD).expect("tests/worlds/spec-examples.yaml is YAML");
    serde_json::to_value(yaml).expect("the examples world converts to JSON")
}

/// The examples (b) replays: every local example of every implemented operation, in spec order.
fn replayed_examples() -> Vec<(&'static Operation, &'static PathBuf)> {
    specs()
        .operations()
        .iter()
        .filter(|op| is_implemented(op))
        .flat_map(|op| op.examples.iter().map(move |e| (op, e)))
        .collect()
}

#[tokio::test]
async fn spec_examples_replay() {
    let sim = start_sim().await;
    let kv_token = vault_token(&sim).await;
    let specs = specs();
    let world = examples_world();
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut allowed_used = BTreeSet::new();
    for (op, path) in replayed_examples() {
        let name = file_name(path);
        // A fresh copy of what the examples name, with nothing still running from the last one.
        sim.advance_clock(11).await;
        let (s, body) = sim.admin(Method::POST, "world", Some(world.clone())).await;
        assert_eq!(s, 200, "seeding the examples world: {body}");

        let verdict = async {
            let example = Example::load(path, &op.operation_id)?;
            let req = example.request(specs, op)?;
            let method = Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
            let url = with_version(&req.path, &req.api_version);
            let resp = if is_data_plane(op) {
                // Every Key Vault example addresses https://myvault.vault.azure.net/.
                let mut r = sim
                    .client
                    .request(method, format!("{}{url}", vault_base(&sim, "myvault")))
                    .bearer_auth(&kv_token);
                if let Some(b) = req.body.clone() {
                    r = r.json(&b);
                }
                r.send().await.map_err(|e| e.to_string())?
            } else {
                sim.send(method, &url, req.body.clone()).await
            };
            let status = resp.status().as_u16();
            let (_, body) = status_json(resp).await;
            let documented: Vec<u16> = example.responses.keys().copied().collect();
            if !documented.contains(&status) {
                return Err(format!(
                    "{} {}: answered {status}, the example documents {documented:?}: {body}",
                    req.method, req.path
                ));
            }
            let body = (!body.is_null()).then_some(&body);
            let v = specs.validate_response(op, status, body);
            if !v.is_empty() {
                let list: Vec<String> = v.iter().map(|v| v.to_string()).collect();
                return Err(format!("{status} body: {}", list.join("; ")));
            }
            Ok(status)
        }
        .await;
        match (verdict, EXAMPLE_ALLOW_LIST.iter().find(|(f, _)| *f == name)) {
            (Ok(status), None) => {
                passed += 1;
                println!("PASS  {:<45} {name} ({status})", op.operation_id);
            }
            (Ok(status), Some(_)) => failures.push(format!(
                "{} {name}: passes ({status}) but is allow-listed: remove it from EXAMPLE_ALLOW_LIST",
                op.operation_id
            )),
            (Err(e), Some((_, why))) => {
                allowed_used.insert(name.to_string());
                println!("ALLOW {:<45} {name}: {e}\n      allow-listed: {why}", op.operation_id);
            }
            (Err(e), None) => {
                println!("FAIL  {:<45} {name}: {e}", op.operation_id);
                failures.push(format!("{} {name}: {e}", op.operation_id));
            }
        }
    }
    for (f, _) in EXAMPLE_ALLOW_LIST {
        if !allowed_used.contains(*f) {
            failures.push(format!(
                "allow-list entry {f} matches no failing example: remove it"
            ));
        }
    }
    println!(
        "conformance (b): {passed} examples pass, {} allow-listed",
        allowed_used.len()
    );
    sim.stop().await;
    assert!(passed > 0, "no example was replayed");
    assert!(
        failures.is_empty(),
        "{} example(s) not honoured:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Coverage: the table in docs/CONFORMANCE.md, and the operations left out really are left out.
// ---------------------------------------------------------------------------------------------

/// "Microsoft.App" for resource-manager files, "keyvault data plane (Secrets)" for data-plane ones.
fn provider_of(root: &Path, op: &Operation) -> String {
    let rel = op.file.strip_prefix(root).unwrap_or(&op.file);
    let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    match parts.as_slice() {
        [service, "data-plane", area, ..] => format!("{service} data plane ({area})"),
        [service, ..] => parts
            .iter()
            .find(|p| p.starts_with("Microsoft."))
            .map_or(service.to_string(), |p| p.to_string()),
        [] => "?".into(),
    }
}

fn method_rank(m: &str) -> usize {
    ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]
        .iter()
        .position(|x| *x == m)
        .unwrap_or(9)
}

fn coverage_table() -> String {
    let specs = specs();
    let root = swagger::locate_specs()
        .and_then(|r| r.canonicalize().ok())
        .expect("specs folder");
    let mut rows: Vec<(String, &Operation)> = specs
        .operations()
        .iter()
        .map(|op| (provider_of(&root, op), op))
        .collect();
    rows.sort_by(|(pa, a), (pb, b)| {
        (
            pa,
            &a.api_version,
            &a.path_template.to_ascii_lowercase(),
            method_rank(&a.method),
        )
            .cmp(&(
                pb,
                &b.api_version,
                &b.path_template.to_ascii_lowercase(),
                method_rank(&b.method),
            ))
            .then_with(|| a.operation_id.cmp(&b.operation_id))
    });
    let implemented = rows.iter().filter(|(_, op)| is_implemented(op)).count();
    let replayed = replayed_examples();
    let allowed = replayed
        .iter()
        .filter(|(_, p)| EXAMPLE_ALLOW_LIST.iter().any(|(f, _)| *f == file_name(p)))
        .count();
    let mut per_provider: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (p, op) in &rows {
        let e = per_provider.entry(p.as_str()).or_default();
        e.1 += 1;
        if is_implemented(op) {
            e.0 += 1;
        }
    }

    let mut out = String::new();
    out.push_str("# Conformance of the simulated Azure to the Azure REST API specifications\n\n");
    out.push_str(
        "Generated by `tests/conformance.rs` from the specifications in `../shared/azure-specs` and the \
         test's list of implemented operations — do not edit by hand. Regenerate with\n\n\
         ```sh\nAZDECK_WRITE_CONFORMANCE_TABLE=1 cargo test --test conformance coverage_table\n```\n\n",
    );
    out.push_str(
        "`cargo test --test conformance` talks HTTPS to a real simulator and checks that\n\n\
         - **(a)** every implemented operation, driven through the default world (lists page by page, \
         get, create, update, delete, actions, the status and result URLs of long-running operations, \
         Resource Graph in both result formats, error answers), answers with bodies that validate \
         against the operation's response schema at the specification's api-version (errors against \
         `default`); operation-status resources, which no specification here defines, are held to the \
         ARM RPC (`status`, `error.code`/`message`, `id`, `name`, times);\n\
         - **(b)** every example (`x-ms-examples` present in the specs) of an implemented operation is \
         accepted after seeding `tests/worlds/spec-examples.yaml`, and answered with one of its \
         documented statuses and a valid body;\n\
         - operations marked *no* are refused (no 2xx answer), so this table claims neither more nor \
         less than the simulator does.\n\n",
    );
    let _ = writeln!(
        out,
        "**{implemented} of {} operations implemented; {} examples replayed ({} allow-listed in \
         `EXAMPLE_ALLOW_LIST`).**\n",
        rows.len(),
        replayed.len() - allowed,
        allowed
    );
    out.push_str("| Provider | Implemented |\n|---|---|\n");
    for (p, (i, n)) in &per_provider {
        let _ = writeln!(out, "| {p} | {i} of {n} |");
    }
    out.push_str(
        "\nAlso served, but without a specification in `shared/azure-specs` (so not validated here): \
         Microsoft.App managed environments, Microsoft.ContainerRegistry registries and \
         Microsoft.OperationalInsights workspaces (get, list, create, update, delete), \
         and `GET /metadata/endpoints`. The Key Vault data plane also serves its 401 challenge; \
         its backup and restore answer 501.\n\n",
    );
    out.push_str(
        "| Provider | api-version | operationId | Method | Path | Implemented | Examples replayed |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (provider, op) in &rows {
        let examples = if is_implemented(op) {
            let mut names: Vec<String> = op
                .examples
                .iter()
                .map(|p| {
                    let f = file_name(p);
                    if EXAMPLE_ALLOW_LIST.iter().any(|(a, _)| *a == f) {
                        format!("~~{f}~~ (allow-listed)")
                    } else {
                        f.to_string()
                    }
                })
                .collect();
            names.sort();
            if names.is_empty() {
                "none available".into()
            } else {
                names.join(", ")
            }
        } else {
            "—".into()
        };
        let _ = writeln!(
            out,
            "| {provider} | {} | {} | {} | `{}` | {} | {examples} |",
            op.api_version,
            op.operation_id,
            op.method,
            op.path_template,
            if is_implemented(op) { "yes" } else { "no" },
        );
    }
    out
}

#[test]
fn coverage_table_is_current() {
    // Every IMPLEMENTED entry names exactly one operation of the specs.
    for (v, ids) in IMPLEMENTED {
        for id in *ids {
            let n = specs()
                .operations()
                .iter()
                .filter(|op| op.api_version == *v && op.operation_id == *id)
                .count();
            assert_eq!(
                n, 1,
                "IMPLEMENTED entry {id} ({v}) matches {n} operations of the specs"
            );
        }
    }
    let table = coverage_table();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TABLE_PATH);
    if std::env::var_os("AZDECK_WRITE_CONFORMANCE_TABLE").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("docs folder")).expect("create docs/");
        std::fs::write(&path, &table).expect("write docs/CONFORMANCE.md");
        println!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == table,
        "{TABLE_PATH} is not what the specs and IMPLEMENTED say; regenerate it with\n  \
         AZDECK_WRITE_CONFORMANCE_TABLE=1 cargo test --test conformance coverage_table"
    );
}

/// A value for each path parameter, naming what exists in the default world, so an operation the
/// simulator did implement would find its resource and answer 2xx.
fn probe_value(name: &str, sub: &str) -> String {
    match name {
        "subscriptionId" => sub.to_string(),
        "resourceGroupName" | "sourceResourceGroupName" => "rg-platform-prod".into(),
        "containerAppName" => "chat-api".into(),
        "revisionName" => "chat-api--b213".into(),
        "profileName" => "afd-platform".into(),
        "endpointName" => "chat".into(),
        "originGroupName" => "og-chat-api".into(),
        "originName" => "primary-eastus".into(),
        "routeName" => "route-chat-api".into(),
        "vaultName" => "kv-platform-prod".into(),
        "serverName" => "psql-platform-prod".into(),
        "accountName" => "stplatformbackups".into(),
        "location" => "eastus".into(),
        "resourceProviderNamespace" => "Microsoft.App".into(),
        "scope" => format!("/subscriptions/{sub}/resourceGroups/rg-platform-prod"),
        "resourceId" => format!(
            "/subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-api"
        ),
        "secret-name" => "newsapi-api-key".into(),
        _ => "conformance-probe".into(),
    }
}

#[tokio::test]
async fn unimplemented_operations_are_refused() {
    let sim = start_sim().await;
    let specs = specs();
    let sub = sim.prod_sub();
    let vault = format!(
        "https://kv-platform-prod.{}:{}",
        sim.env().endpoints.key_vault_dns_suffix,
        sim.handle.addr.port()
    );
    let mut answered = Vec::new();
    let mut probed = 0;
    for op in specs.operations().iter().filter(|op| !is_implemented(op)) {
        // The operation's own example supplies a body; the path names the default world.
        let mut parameters = op
            .examples
            .first()
            .and_then(|p| Example::load(p, &op.operation_id).ok())
            .map(|e| e.parameters)
            .unwrap_or_default();
        let mut rest = op.path_template.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let name = &rest[open + 1..open + close];
            parameters.insert(name.to_string(), json!(probe_value(name, &sub)));
            rest = &rest[open + close + 1..];
        }
        let example = Example {
            operation_id: op.operation_id.clone(),
            file: PathBuf::new(),
            parameters,
            responses: BTreeMap::new(),
        };
        let req = match example.request(specs, op) {
            Ok(r) => r,
            Err(e) => panic!("cannot build a probe of {}: {e}", op.operation_id),
        };
        let path = with_version(&req.path, &req.api_version);
        let url = if is_data_plane(op) {
            format!("{vault}{path}")
        } else {
            path
        };
        let method = Method::from_bytes(req.method.as_bytes()).expect("method");
        let resp = sim.send(method, &url, req.body.clone()).await;
        probed += 1;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            answered.push(format!(
                "{} ({}) {} {}: {status}",
                op.operation_id, op.api_version, req.method, req.path
            ));
        }
    }
    println!("probed {probed} operations not implemented");
    sim.stop().await;
    assert!(
        answered.is_empty(),
        "operations not in IMPLEMENTED answered 2xx; add them to IMPLEMENTED (and regenerate {TABLE_PATH}):\n  {}",
        answered.join("\n  ")
    );
}
