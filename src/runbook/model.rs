//! The runbook format (`apiVersion: azdeck/v1`), as serde types. The JSON Schema that
//! `azdeck runbooks schema` publishes is generated from these types, so the schema and the parser
//! cannot drift.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A runbook: typed params and a sequence of steps, each an action of the registry.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "azdeck runbook")]
pub struct Runbook {
    pub api_version: ApiVersion,
    pub kind: RunbookKind,
    pub metadata: Metadata,
    /// Typed parameters, in the order they are asked for.
    #[serde(default)]
    pub params: IndexMap<String, ParamSpec>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum ApiVersion {
    #[serde(rename = "azdeck/v1")]
    V1,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum RunbookKind {
    Runbook,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Unique name, e.g. `containerapp-rollback` (lowercase letters, digits and dashes).
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub name: String,
    /// One line, shown in lists.
    pub title: String,
    /// Markdown, shown by `azdeck runbooks show` and in the TUI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Resource types the TUI offers this runbook on, with its resource params pre-filled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
}

/// A parameter's type; values given as text (`-p k=v`) are parsed by it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    /// `90s`, `15m`, `2h`, `7d`.
    Duration,
    /// An ARM resource id (`kind` restricts its type).
    Resource,
    /// Never stored, logged or shown: resume asks for it again.
    Secret,
    /// One of `values`.
    Enum,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub param_type: ParamType,
    /// For `resource` params: the ARM resource type, e.g. `Microsoft.App/containerApps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For `enum` params: the accepted values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Bounds for `integer` params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// What the engine does when a step fails (after its retries).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Stop the run; nothing is undone.
    #[default]
    Abort,
    /// Record the failure and go on with the next step.
    Continue,
    /// Undo the succeeded steps that declare a rollback, newest first, then stop.
    Rollback,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// Unique within the runbook; later steps read `steps.<id>.outputs`.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_-]*$"))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An action of the registry (`azdeck runbooks actions`).
    pub action: String,
    /// The action's inputs; strings are templates.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub with: Map<String, Value>,
    /// A condition (`{{ expr }}`); the step is skipped when it is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Extra attempts after a failure (0 by default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// Longest the step may take, e.g. `10m` (the action's default otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_failure: OnFailure,
    /// An action that undoes this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackSpec>,
    /// Onboarding text: why this step exists and what it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollbackSpec {
    pub action: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub with: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_default(f: &OnFailure) -> bool {
    *f == OnFailure::default()
}

impl Runbook {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The title of a step, or its id.
    pub fn step_title(step: &Step) -> &str {
        step.title.as_deref().unwrap_or(&step.id)
    }
}

/// The JSON Schema of the format, as `azdeck runbooks schema` prints it.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Runbook)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
apiVersion: azdeck/v1
kind: Runbook
metadata: { name: hello, title: Says hello }
params:
  app: { type: resource, kind: Microsoft.App/containerApps, required: true }
  count: { type: integer, default: 2 }
steps:
  - id: greet
    action: log
    with: { message: "hello {{ params.app | name }}" }
    onFailure: continue
"#;

    #[test]
    fn a_runbook_parses_and_keeps_param_order() {
        let rb: Runbook = serde_yaml::from_str(MINIMAL).unwrap();
        assert_eq!(rb.metadata.name, "hello");
        assert_eq!(rb.params.keys().collect::<Vec<_>>(), ["app", "count"]);
        assert_eq!(rb.params["app"].param_type, ParamType::Resource);
        assert_eq!(rb.steps[0].on_failure, OnFailure::Continue);
        assert_eq!(rb.steps[0].with["message"], "hello {{ params.app | name }}");
    }

    #[test]
    fn unknown_fields_and_versions_are_refused() {
        let typo = MINIMAL.replace("onFailure", "on_failure");
        let err = serde_yaml::from_str::<Runbook>(&typo).unwrap_err();
        assert!(err.to_string().contains("on_failure"), "{err}");
        assert!(err.location().is_some());
        let v2 = MINIMAL.replace("azdeck/v1", "azdeck/v2");
        assert!(serde_yaml::from_str::<Runbook>(&v2).is_err());
    }

    #[test]
    fn the_schema_describes_steps_and_params() {
        let schema = json_schema();
        let text = schema.to_string();
        for needle in [
            "onFailure",
            "apiVersion",
            "azdeck/v1",
            "rollback",
            "explain",
        ] {
            assert!(text.contains(needle), "schema lacks {needle}");
        }
    }
}
