//! The action registry's contract. An action is typed (its input and output are Rust types with a
//! JSON Schema), declares whether it mutates Azure and whether running it twice is harmless, and
//! offers three operations: `check` (is the change already applied?), `plan` (the REST calls it
//! would make and the before/after they would cause, read from live state) and `run`.
//!
//! The engine, the linter, `azdeck runbooks actions` and the TUI's hints all read the registry,
//! so they cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use super::confirm::Confirmer;
use crate::azure::containerapps::AppError;
use crate::azure::http::{ClientError, Pipeline};
use crate::azure::lro::LroError;

/// What a value in a plan shows when it depends on a change not yet made.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Static facts about an action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: &'static str,
    pub summary: &'static str,
    /// Sends a change to Azure (needs confirmation; refused in read-only environments).
    pub mutates: bool,
    /// Running it again with the same input changes nothing more (safe to re-run on resume).
    pub idempotent: bool,
    /// Used when the step sets no `timeout`.
    #[serde(with = "duration_secs")]
    pub default_timeout: Duration,
}

mod duration_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// The environment a run targets, as actions need to know it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentInfo {
    pub name: String,
    pub protected: bool,
    pub read_only: bool,
}

/// What an action may use while it runs.
pub struct ActionContext<'a> {
    /// The environment's ARM pipeline; `None` where no Azure is at hand (lint, unit tests).
    pub azure: Option<&'a Pipeline>,
    /// The environment's HTTP client for requests outside ARM (`http.probe`): it trusts the
    /// cloud's CA and resolves its host names, as `azure::http::http_client(&cloud)` builds it.
    /// `None` falls back to the pipeline's client, which is built the same way.
    pub http: Option<&'a reqwest::Client>,
    pub environment: &'a EnvironmentInfo,
    pub run_id: &'a str,
    pub step_id: &'a str,
    /// The step's deadline (the engine also enforces it).
    pub timeout: Duration,
    pub confirmer: &'a dyn Confirmer,
    /// Short human progress lines ("waiting for the operation: InProgress").
    pub progress: &'a (dyn Fn(String) + Send + Sync),
    /// Turns true when the user interrupts; long waits stop early.
    pub cancel: watch::Receiver<bool>,
}

impl ActionContext<'_> {
    pub fn azure(&self) -> Result<&Pipeline, ActionError> {
        self.azure.ok_or(ActionError::NoAzure)
    }

    /// The HTTP client for requests outside ARM (see [`ActionContext::http`]).
    pub fn http_client(&self) -> Result<&reqwest::Client, ActionError> {
        self.http
            .or_else(|| self.azure.map(Pipeline::http))
            .ok_or(ActionError::NoAzure)
    }

    /// LRO options for this step: its deadline, the user's interrupt, and the server's polling
    /// interval (Retry-After) as the default.
    pub fn lro_options(&self) -> crate::azure::lro::LroOptions {
        crate::azure::lro::LroOptions {
            timeout: self.timeout,
            cancel: Some(self.cancel.clone()),
            ..Default::default()
        }
    }
}

/// The answer of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The change is already in place: running it again is unnecessary.
    Applied,
    NotApplied,
    /// The action cannot tell.
    Unknown,
}

/// One REST call a step would make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCall {
    pub method: String,
    /// Path and query relative to the ARM endpoint, or an absolute URL (data planes, probes).
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// One visible effect of a step: a field of a resource, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub resource: String,
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// What a step would do, computed from live state without changing anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub calls: Vec<PlannedCall>,
    pub changes: Vec<Change>,
    /// The outputs the step would produce, where they can be known ahead
    /// ([`KNOWN_AFTER_APPLY`] where not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl PlannedCall {
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        PlannedCall {
            method: method.to_string(),
            url: url.into(),
            body: None,
        }
    }

    pub fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("invalid input: {0}")]
    Input(String),
    /// A condition the runbook relies on does not hold (exit code 4).
    #[error("precondition failed: {0}")]
    Precondition(String),
    #[error("{0}")]
    Azure(String),
    /// A change was sent but its answer was lost: whether it applied is unknown.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    #[error("confirmation declined")]
    Declined,
    /// No one can confirm (no terminal and no `--yes`) (exit code 5).
    #[error("confirmation required: {0}")]
    ConfirmationRequired(String),
    #[error("interrupted")]
    Cancelled,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("this action needs an Azure connection")]
    NoAzure,
    #[error("{0}")]
    Failed(String),
}

impl From<ClientError> for ActionError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::OutcomeUnknown { .. } => ActionError::OutcomeUnknown(e.to_string()),
            other => ActionError::Azure(other.to_string()),
        }
    }
}

impl From<LroError> for ActionError {
    fn from(e: LroError) -> Self {
        match e {
            LroError::Cancelled { .. } => ActionError::Cancelled,
            LroError::TimedOut { timeout, .. } => ActionError::Timeout(timeout),
            LroError::Client(c) => ActionError::from(c),
            other => ActionError::Azure(other.to_string()),
        }
    }
}

impl From<AppError> for ActionError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Client(c) => ActionError::from(*c),
            AppError::Lro(l) => ActionError::from(*l),
            // What the runbook passed, not what Azure answered.
            e @ (AppError::NotAnApp { .. } | AppError::BadRevisionName { .. }) => {
                ActionError::Input(e.to_string())
            }
            other => ActionError::Azure(other.to_string()),
        }
    }
}

/// A typed action. Implement this; the registry erases the types.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    /// Deserialised from the step's rendered `with:` (unknown fields are refused by the types).
    type Input: DeserializeOwned + JsonSchema + Send + Sync;
    type Output: Serialize + JsonSchema + Send;

    fn spec(&self) -> ActionSpec;

    /// Whether a dry run executes this action (reads) rather than asking for its plan. Waiting,
    /// asking and probing are only described.
    fn runs_in_dry_run(&self) -> bool {
        !self.spec().mutates
    }

    async fn check(
        &self,
        _ctx: &ActionContext<'_>,
        _input: &Self::Input,
    ) -> Result<Check, ActionError> {
        Ok(Check::Unknown)
    }

    /// The outputs of a change `check` found already in place, read from the resource: resume
    /// uses them for a step interrupted after its change landed. `None` when the action cannot
    /// tell them without changing anything.
    async fn applied_outputs(
        &self,
        _ctx: &ActionContext<'_>,
        _input: &Self::Input,
    ) -> Result<Option<Self::Output>, ActionError> {
        Ok(None)
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &Self::Input)
        -> Result<Plan, ActionError>;

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &Self::Input,
    ) -> Result<Self::Output, ActionError>;
}

/// An action with its types erased: JSON in, JSON out.
#[async_trait]
pub trait DynAction: Send + Sync {
    fn spec(&self) -> ActionSpec;
    fn runs_in_dry_run(&self) -> bool;
    fn input_schema(&self) -> Value;
    fn output_schema(&self) -> Value;
    /// Checks a rendered `with:` against the input type.
    fn validate(&self, input: &Value) -> Result<(), ActionError>;
    async fn check(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Check, ActionError>;
    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        input: &Value,
    ) -> Result<Option<Value>, ActionError>;
    async fn plan(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Plan, ActionError>;
    async fn run(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Value, ActionError>;
}

fn decode<T: DeserializeOwned>(name: &str, input: &Value) -> Result<T, ActionError> {
    serde_json::from_value(input.clone()).map_err(|e| ActionError::Input(format!("{name}: {e}")))
}

fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

#[async_trait]
impl<A: Action> DynAction for A {
    fn spec(&self) -> ActionSpec {
        Action::spec(self)
    }

    fn runs_in_dry_run(&self) -> bool {
        Action::runs_in_dry_run(self)
    }

    fn input_schema(&self) -> Value {
        schema_of::<A::Input>()
    }

    fn output_schema(&self) -> Value {
        schema_of::<A::Output>()
    }

    fn validate(&self, input: &Value) -> Result<(), ActionError> {
        decode::<A::Input>(Action::spec(self).name, input).map(|_| ())
    }

    async fn check(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Check, ActionError> {
        let input = decode::<A::Input>(Action::spec(self).name, input)?;
        Action::check(self, ctx, &input).await
    }

    async fn applied_outputs(
        &self,
        ctx: &ActionContext<'_>,
        input: &Value,
    ) -> Result<Option<Value>, ActionError> {
        let input = decode::<A::Input>(Action::spec(self).name, input)?;
        match Action::applied_outputs(self, ctx, &input).await? {
            Some(output) => serde_json::to_value(output)
                .map(Some)
                .map_err(|e| ActionError::Failed(format!("output: {e}"))),
            None => Ok(None),
        }
    }

    async fn plan(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Plan, ActionError> {
        let input = decode::<A::Input>(Action::spec(self).name, input)?;
        Action::plan(self, ctx, &input).await
    }

    async fn run(&self, ctx: &ActionContext<'_>, input: &Value) -> Result<Value, ActionError> {
        let input = decode::<A::Input>(Action::spec(self).name, input)?;
        let output = Action::run(self, ctx, &input).await?;
        serde_json::to_value(output).map_err(|e| ActionError::Failed(format!("output: {e}")))
    }
}

/// Every action by name.
#[derive(Clone)]
pub struct Registry {
    actions: BTreeMap<&'static str, Arc<dyn DynAction>>,
}

impl Registry {
    pub fn empty() -> Self {
        Registry {
            actions: BTreeMap::new(),
        }
    }

    /// The built-in actions.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        super::actions::register_all(&mut r);
        r
    }

    pub fn register(&mut self, action: impl DynAction + 'static) {
        let name = action.spec().name;
        self.actions.insert(name, Arc::new(action));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn DynAction>> {
        self.actions.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Arc<dyn DynAction>)> {
        self.actions.iter().map(|(k, v)| (*k, v))
    }
}
