//! The runbook linter: everything that can be known about a runbook without running it, checked
//! against the action registry, each finding at a real `file:line:column`.
//!
//! Schema errors carry serde_yaml's position; semantic findings are placed through a position
//! index of the YAML ([`PosIndex`]). The linter never renders a template: `with` values may be
//! templates, so only plain literals are type-checked.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::action::Registry;
use super::loader::{self, Entry, InvalidKind, LoadError};
use super::model::{ParamSpec, ParamType, Runbook};
use super::template::{parse_duration, Template};
use super::yaml_pos::{Pos, PosIndex, YamlPath};

/// What a template may read under `env`.
pub const ENV_FIELDS: &[&str] = &[
    "name",
    "protected",
    "readOnly",
    "cloud",
    "tenant",
    "subscriptions",
    "resourceGroups",
];
/// What a template may read under `run`.
pub const RUN_FIELDS: &[&str] = &["id", "runbook", "startedAt", "startedBy", "dryRun"];

/// `with` values nested deeper than this are not walked (serde_yaml stops at 128 anyway).
const MAX_WALK_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding, at a 1-based line and column of `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Stable and short, e.g. `unknown-action`, for scripts and for `grep`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} [{}]",
            self.file, self.line, self.column, self.severity, self.message, self.code
        )
    }
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Lints a catalog entry; a file that could not be read is one `read` error.
pub fn lint_entry(entry: &Entry, registry: &Registry) -> Vec<Diagnostic> {
    let file = entry.source.file_name();
    match &entry.parsed {
        Err(e) if !matches!(e, LoadError::Invalid { .. }) => vec![read_error(file, e)],
        _ => lint(&file, &entry.text, registry),
    }
}

/// Lints a file named directly; a file that cannot be read is one `read` error.
pub fn lint_file(path: &Path, registry: &Registry) -> Vec<Diagnostic> {
    match loader::load_file(path) {
        Ok(entry) => lint_entry(&entry, registry),
        Err(e) => vec![read_error(path.display().to_string(), &e)],
    }
}

fn read_error(file: String, error: &LoadError) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file,
        line: 1,
        column: 1,
        code: "read",
        message: error.to_string(),
    }
}

/// Lints runbook text. `source_name` is the file name diagnostics carry; its stem is compared
/// with `metadata.name`. Diagnostics come sorted by position.
pub fn lint(source_name: &str, text: &str, registry: &Registry) -> Vec<Diagnostic> {
    let runbook = match loader::parse(text) {
        Ok(rb) => rb,
        Err(LoadError::Invalid {
            kind,
            line,
            column,
            message,
        }) => {
            return vec![Diagnostic {
                severity: Severity::Error,
                file: source_name.to_string(),
                line,
                column,
                code: match kind {
                    InvalidKind::Syntax => "yaml",
                    InvalidKind::Schema => "schema",
                },
                message,
            }]
        }
        Err(other) => {
            return vec![Diagnostic {
                severity: Severity::Error,
                file: source_name.to_string(),
                line: 1,
                column: 1,
                code: "schema",
                message: other.to_string(),
            }]
        }
    };
    let mut linter = Linter {
        file: source_name,
        pos: PosIndex::build(text),
        registry,
        rb: &runbook,
        used_params: HashSet::new(),
        all_params_used: false,
        out: Vec::new(),
    };
    linter.run();
    let mut out = linter.out;
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// Which steps a template may read: those before `step`, and `step` itself in its rollback.
#[derive(Clone, Copy)]
struct Scope {
    step: usize,
    own_outputs: bool,
}

struct Linter<'a> {
    file: &'a str,
    pos: PosIndex<'a>,
    registry: &'a Registry,
    rb: &'a Runbook,
    used_params: HashSet<String>,
    /// A template reads `params` as a whole.
    all_params_used: bool,
    out: Vec<Diagnostic>,
}

impl Linter<'_> {
    fn report(&mut self, severity: Severity, at: Pos, code: &'static str, message: String) {
        self.out.push(Diagnostic {
            severity,
            file: self.file.to_string(),
            line: at.line,
            column: at.column,
            code,
            message,
        });
    }

    fn error(&mut self, at: Pos, code: &'static str, message: String) {
        self.report(Severity::Error, at, code, message);
    }

    fn warn(&mut self, at: Pos, code: &'static str, message: String) {
        self.report(Severity::Warning, at, code, message);
    }

    fn run(&mut self) {
        self.metadata();
        let rb = self.rb;
        for (name, spec) in &rb.params {
            self.param(name, spec);
        }
        self.steps();
        if !self.all_params_used {
            for name in rb.params.keys() {
                if !self.used_params.contains(name) {
                    let at = self.pos.key(&YamlPath::root().key("params").key(name));
                    self.warn(
                        at,
                        "unused-param",
                        format!("parameter `{name}` is never read by a template"),
                    );
                }
            }
        }
    }

    fn metadata(&mut self) {
        let name = &self.rb.metadata.name;
        let at = self
            .pos
            .value(&YamlPath::root().key("metadata").key("name"));
        if !valid_runbook_name(name) {
            self.error(
                at,
                "name",
                format!("runbook name `{name}`: use lowercase letters, digits and dashes"),
            );
        }
        let stem = Path::new(self.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        if let Some(stem) = stem.filter(|s| s != name) {
            self.warn(
                at,
                "name",
                format!("metadata.name `{name}` differs from the file name `{stem}`"),
            );
        }
    }

    fn param(&mut self, name: &str, spec: &ParamSpec) {
        let path = YamlPath::root().key("params").key(name);
        let t = spec.param_type;
        if t == ParamType::Enum && spec.values.is_empty() {
            let at = self.pos.key(&path);
            self.error(
                at,
                "param",
                format!("parameter `{name}` is an enum without `values`"),
            );
        }
        if t != ParamType::Enum && !spec.values.is_empty() {
            let at = self.pos.key(&path.key("values"));
            self.warn(
                at,
                "param",
                format!("`values` is only read for enum parameters (`{name}` is {t:?})"),
            );
        }
        if t != ParamType::Resource && spec.kind.is_some() {
            let at = self.pos.key(&path.key("kind"));
            self.error(
                at,
                "param",
                format!("`kind` is only for resource parameters (`{name}` is {t:?})"),
            );
        }
        if t != ParamType::Integer && (spec.min.is_some() || spec.max.is_some()) {
            let field = if spec.min.is_some() { "min" } else { "max" };
            let at = self.pos.key(&path.key(field));
            self.warn(
                at,
                "param",
                format!("`min`/`max` only bound integer parameters (`{name}` is {t:?})"),
            );
        }
        if let (Some(min), Some(max)) = (spec.min, spec.max) {
            if min > max {
                let at = self.pos.value(&path.key("min"));
                self.error(
                    at,
                    "param",
                    format!("parameter `{name}`: min {min} is above max {max}"),
                );
            }
        }
        let Some(default) = &spec.default else {
            return;
        };
        if spec.required {
            let at = self.pos.key(&path.key("required"));
            self.warn(
                at,
                "param",
                format!(
                    "parameter `{name}` is required and has a default: the default is never used"
                ),
            );
        }
        if t == ParamType::Secret {
            let at = self.pos.key(&path.key("default"));
            self.warn(
                at,
                "param",
                format!("secret `{name}` has a default, stored in plain text in the runbook"),
            );
        }
        if let Some(problem) = default_problem(spec, default) {
            let at = self.pos.value(&path.key("default"));
            self.error(at, "param", format!("default of `{name}`: {problem}"));
        }
    }

    fn steps(&mut self) {
        let rb = self.rb;
        let mut first_id: HashMap<&str, usize> = HashMap::new();
        let mut confirmed = false;
        let mut has_rollback = false;
        for (i, step) in rb.steps.iter().enumerate() {
            let path = YamlPath::root().key("steps").index(i);
            let id_at = self.pos.value(&path.key("id"));
            if !valid_step_id(&step.id) {
                self.error(
                    id_at,
                    "step-id",
                    format!(
                        "step id `{}`: start with a letter or `_`, then letters, digits, `_` or `-`",
                        step.id
                    ),
                );
            }
            if let Some(&first) = first_id.get(step.id.as_str()) {
                self.error(
                    id_at,
                    "duplicate-id",
                    format!(
                        "step id `{}` is already used by step {}",
                        step.id,
                        first + 1
                    ),
                );
            } else {
                first_id.insert(&step.id, i);
            }

            let scope = Scope {
                step: i,
                own_outputs: false,
            };
            let action_at = self.pos.value(&path.key("action"));
            match self.registry.get(&step.action) {
                None => self.error(
                    action_at,
                    "unknown-action",
                    format!(
                        "unknown action `{}` (see `azdeck runbooks actions`)",
                        step.action
                    ),
                ),
                Some(action) => {
                    let spec = action.spec();
                    let schema = action.input_schema();
                    self.inputs(&step.action, &schema, &step.with, &path, action_at);
                    if spec.mutates && !confirmed {
                        self.error(
                            action_at,
                            "unconfirmed-mutation",
                            format!(
                                "`{}` changes Azure, but no `confirm` step comes before it",
                                step.action
                            ),
                        );
                    }
                    if spec.mutates && step.rollback.is_none() {
                        self.warn(
                            action_at,
                            "no-rollback",
                            format!(
                                "`{}` changes Azure and step `{}` declares no `rollback`",
                                step.action, step.id
                            ),
                        );
                    }
                }
            }
            self.walk(
                &Value::Object(step.with.clone()),
                &path.key("with"),
                scope,
                0,
            );

            if let Some(when) = &step.when {
                let when_path = path.key("when");
                self.template(when, &when_path, scope);
                if when.matches("{{").count() > 1
                    || (when.contains("{{") && !is_single_expression(when))
                {
                    let at = self.pos.value(&when_path);
                    self.error(
                        at,
                        "template",
                        "`when` must be a single `{{ expression }}`".to_string(),
                    );
                }
            }

            if let Some(timeout) = &step.timeout {
                if parse_duration(timeout).is_none_or(|s| s <= 0) {
                    let at = self.pos.value(&path.key("timeout"));
                    self.error(
                        at,
                        "timeout",
                        format!(
                            "timeout `{timeout}` is not a positive duration like 90s, 10m or 1h30m"
                        ),
                    );
                }
            }

            if let Some(rollback) = &step.rollback {
                has_rollback = true;
                let rpath = path.key("rollback");
                let at = self.pos.value(&rpath.key("action"));
                match self.registry.get(&rollback.action) {
                    None => self.error(
                        at,
                        "unknown-action",
                        format!("unknown rollback action `{}`", rollback.action),
                    ),
                    Some(action) => {
                        let schema = action.input_schema();
                        self.inputs(&rollback.action, &schema, &rollback.with, &rpath, at);
                    }
                }
                let scope = Scope {
                    step: i,
                    own_outputs: true,
                };
                self.walk(
                    &Value::Object(rollback.with.clone()),
                    &rpath.key("with"),
                    scope,
                    0,
                );
            }
            if step.on_failure == super::model::OnFailure::Rollback && !has_rollback {
                let at = self.pos.value(&path.key("onFailure"));
                self.warn(
                    at,
                    "no-rollback",
                    "`onFailure: rollback`, but no step up to here declares a rollback".to_string(),
                );
            }
            if step.action == "confirm" {
                confirmed = true;
            }
        }
    }

    /// `with` keys against the action's input schema: unknown and missing inputs, and the JSON
    /// type of plain (non-template) values.
    fn inputs(
        &mut self,
        action: &str,
        schema: &Value,
        with: &Map<String, Value>,
        step_path: &YamlPath,
        action_at: Pos,
    ) {
        let Some(object) = object_schema(schema) else {
            return;
        };
        let with_path = step_path.key("with");
        if let Some(props) = object.properties {
            for (key, value) in with {
                let at = self.pos.key(&with_path.key(key));
                match props.get(key) {
                    None if !object.open => {
                        let known: Vec<&str> = props.keys().map(String::as_str).collect();
                        self.error(
                            at,
                            "unknown-input",
                            format!(
                                "`{action}` has no input `{key}` (inputs: {})",
                                known.join(", ")
                            ),
                        );
                    }
                    None => {}
                    Some(prop) => {
                        if let Some(expected) = literal_type_mismatch(schema, prop, value) {
                            let at = self.pos.value(&with_path.key(key));
                            self.error(
                                at,
                                "input-type",
                                format!("`{action}` input `{key}` must be {expected}"),
                            );
                        }
                    }
                }
            }
        }
        let missing: Vec<&str> = object
            .required
            .iter()
            .filter(|k| !with.contains_key(**k))
            .copied()
            .collect();
        if !missing.is_empty() {
            let at = if with.is_empty() {
                action_at
            } else {
                self.pos.key(&with_path)
            };
            self.error(
                at,
                "missing-input",
                format!("`{action}` needs input {}", quoted_list(&missing)),
            );
        }
    }

    /// Every string inside a `with` value is a template.
    fn walk(&mut self, value: &Value, path: &YamlPath, scope: Scope, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        match value {
            Value::String(s) => self.template(s, path, scope),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(item, &path.index(i), scope, depth + 1);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.walk(v, &path.key(k), scope, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn template(&mut self, text: &str, path: &YamlPath, scope: Scope) {
        match Template::parse(text) {
            Err(e) => {
                let at = self.pos.in_scalar(path, text, e.offset);
                self.error(at, "template", e.message);
            }
            Ok(t) => {
                for reference in t.references() {
                    let at = self
                        .pos
                        .in_scalar(path, text, text.find(&reference).unwrap_or(0));
                    if let Err((code, message)) = self.reference(&reference, scope) {
                        self.error(at, code, message);
                    }
                }
            }
        }
    }

    /// Checks one path a template reads against the context the engine will build.
    fn reference(&mut self, reference: &str, scope: Scope) -> Result<(), (&'static str, String)> {
        let unknown = |m: String| Err(("unknown-reference", m));
        let Some(segs) = parse_reference(reference) else {
            return Ok(());
        };
        let key = |i: usize| match segs.get(i) {
            Some(RefSeg::Key(k)) => Some(Some(k.as_str())),
            Some(RefSeg::Index(_)) => Some(None),
            None => None,
        };
        let Some(Some(root)) = key(0) else {
            return Ok(());
        };
        match root {
            "params" => match key(1) {
                None => {
                    self.all_params_used = true;
                    Ok(())
                }
                Some(Some(name)) if self.rb.params.contains_key(name) => {
                    self.used_params.insert(name.to_string());
                    Ok(())
                }
                Some(name) => {
                    let declared: Vec<&str> = self.rb.params.keys().map(String::as_str).collect();
                    unknown(format!(
                        "`{reference}`: no parameter `{}` (declared: {})",
                        name.unwrap_or("[…]"),
                        if declared.is_empty() {
                            "none".to_string()
                        } else {
                            declared.join(", ")
                        }
                    ))
                }
            },
            "env" | "run" => {
                let fields = if root == "env" {
                    ENV_FIELDS
                } else {
                    RUN_FIELDS
                };
                match key(1) {
                    None => Ok(()),
                    Some(Some(f)) if fields.contains(&f) => Ok(()),
                    Some(_) => unknown(format!(
                        "`{reference}`: `{root}` has only {}",
                        fields.join(", ")
                    )),
                }
            }
            "steps" => self.step_reference(reference, &segs, scope),
            other => unknown(format!(
                "`{reference}`: unknown name `{other}` (templates read params, env, run and steps)"
            )),
        }
    }

    fn step_reference(
        &self,
        reference: &str,
        segs: &[RefSeg],
        scope: Scope,
    ) -> Result<(), (&'static str, String)> {
        let unknown = |m: String| Err(("unknown-reference", m));
        let id = match segs.get(1) {
            None => return Ok(()),
            Some(RefSeg::Key(id)) => id.as_str(),
            Some(RefSeg::Index(_)) => {
                return unknown(format!("`{reference}`: steps are read by id"))
            }
        };
        let Some(target) = self.rb.steps.iter().position(|s| s.id == id) else {
            return unknown(format!("`{reference}`: no step `{id}`"));
        };
        let current = &self.rb.steps[scope.step].id;
        if target > scope.step {
            return Err((
                "forward-reference",
                format!("`{reference}`: step `{id}` runs after step `{current}`"),
            ));
        }
        if target == scope.step && !scope.own_outputs {
            return Err((
                "forward-reference",
                format!("`{reference}`: step `{id}` cannot read itself (only its rollback can)"),
            ));
        }
        match segs.get(2) {
            None => Ok(()),
            Some(RefSeg::Key(k)) if k == "state" => Ok(()),
            Some(RefSeg::Key(k)) if k == "outputs" => {
                let Some(RefSeg::Key(field)) = segs.get(3) else {
                    return Ok(());
                };
                let action = &self.rb.steps[target].action;
                let Some(schema) = self.registry.get(action).map(|a| a.output_schema()) else {
                    return Ok(());
                };
                match object_schema(&schema) {
                    Some(ObjectSchema {
                        properties: Some(props),
                        open: false,
                        ..
                    }) if !props.contains_key(field) => {
                        let known: Vec<&str> = props.keys().map(String::as_str).collect();
                        unknown(format!(
                            "`{reference}`: `{action}` has no output `{field}` (outputs: {})",
                            known.join(", ")
                        ))
                    }
                    _ => Ok(()),
                }
            }
            Some(_) => unknown(format!(
                "`{reference}`: a step has only `outputs` and `state`"
            )),
        }
    }
}

fn valid_runbook_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_step_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `{{ … }}` and nothing else but whitespace around it.
fn is_single_expression(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("{{") && t.ends_with("}}")
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a param's default does not fit its type, if it does not.
fn default_problem(spec: &ParamSpec, default: &Value) -> Option<String> {
    let got = json_type(default);
    match spec.param_type {
        ParamType::String | ParamType::Resource | ParamType::Secret => {
            (!default.is_string()).then(|| format!("expected a string, got {got}"))
        }
        ParamType::Boolean => {
            (!default.is_boolean()).then(|| format!("expected true or false, got {got}"))
        }
        ParamType::Integer => match default.as_i64() {
            None => Some(format!("expected an integer, got {got}")),
            Some(n) if spec.min.is_some_and(|m| n < m) || spec.max.is_some_and(|m| n > m) => {
                Some(format!("{n} is outside min/max"))
            }
            Some(_) => None,
        },
        ParamType::Duration => match default.as_str() {
            Some(s) if parse_duration(s).is_some() => None,
            Some(s) => Some(format!("`{s}` is not a duration like 90s, 15m, 2h or 7d")),
            None => Some(format!("expected a duration like 90s or 15m, got {got}")),
        },
        ParamType::Enum => match default.as_str() {
            Some(s) if spec.values.iter().any(|v| v == s) => None,
            Some(s) => Some(format!(
                "`{s}` is not one of the values ({})",
                spec.values.join(", ")
            )),
            None => Some(format!("expected one of the values, got {got}")),
        },
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What the linter reads from an action's JSON Schema (as schemars generates it).
struct ObjectSchema<'a> {
    /// `None` when the schema does not list properties (nothing to check against).
    properties: Option<&'a Map<String, Value>>,
    required: Vec<&'a str>,
    /// Other keys are accepted (`additionalProperties` true or a schema, or a combinator).
    open: bool,
}

/// The root object schema (following a root `$ref`), or `None` for non-object roots.
fn object_schema(schema: &Value) -> Option<ObjectSchema<'_>> {
    let root = resolve(schema, schema)?;
    let object = root.as_object()?;
    let combinator = ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| object.contains_key(*k));
    let open = combinator
        || matches!(
            object.get("additionalProperties"),
            Some(Value::Bool(true) | Value::Object(_))
        );
    Some(ObjectSchema {
        properties: object.get("properties").and_then(Value::as_object),
        required: object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        open,
    })
}

/// Follows a local `$ref` (`#/$defs/X` or `#/definitions/X`), a few levels at most.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let mut at = schema;
    for _ in 0..8 {
        let Some(reference) = at.get("$ref").and_then(Value::as_str) else {
            return Some(at);
        };
        let pointer = reference.strip_prefix('#')?;
        at = root.pointer(pointer)?;
    }
    None
}

/// The expected type, when a plain (non-template) value does not have the JSON type its
/// property's schema declares.
fn literal_type_mismatch(root: &Value, prop: &Value, value: &Value) -> Option<String> {
    if value.as_str().is_some_and(|s| s.contains("{{")) {
        return None;
    }
    let prop = resolve(root, prop)?;
    let types: Vec<&str> = match prop.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let got = json_type(value);
    let fits = types
        .iter()
        .any(|t| *t == got || (*t == "number" && got == "integer"));
    (!fits).then(|| format!("{} (got {got})", types.join(" or ")))
}

/// One segment of a reference as [`Template::references`] prints it.
#[derive(Debug, PartialEq)]
enum RefSeg {
    Key(String),
    Index(usize),
}

/// Parses `a.b`, `a['x-y']`, `a[0]` (the printed form of a template path).
fn parse_reference(text: &str) -> Option<Vec<RefSeg>> {
    let mut chars = text.chars().peekable();
    let mut segs = Vec::new();
    let ident = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut s = String::new();
        while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_') {
            s.push(c);
        }
        (!s.is_empty()).then_some(s)
    };
    segs.push(RefSeg::Key(ident(&mut chars)?));
    while let Some(c) = chars.next() {
        match c {
            '.' => segs.push(RefSeg::Key(ident(&mut chars)?)),
            '[' if chars.next_if_eq(&'\'').is_some() => {
                let mut key = String::new();
                loop {
                    match chars.next()? {
                        '\\' => key.push(chars.next()?),
                        '\'' => break,
                        c => key.push(c),
                    }
                }
                chars.next_if_eq(&']')?;
                segs.push(RefSeg::Key(key));
            }
            '[' => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                chars.next_if_eq(&']')?;
                segs.push(RefSeg::Index(digits.parse().ok()?));
            }
            _ => return None,
        }
    }
    Some(segs)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::*;

    /// The runbooks shipped in the binary lint without an error, against the real registry.
    #[test]
    fn built_in_runbooks_are_clean() {
        let registry = Registry::builtin();
        let files = crate::runbook::loader::builtin_files();
        assert!(files.len() >= 3, "the Container Apps runbooks are embedded");
        for (file, text) in files {
            let errors: Vec<String> = lint(file, text, &registry)
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect();
            assert!(errors.is_empty(), "{file}: {errors:#?}");
        }
    }
    use crate::runbook::action::{Action, ActionContext, ActionError, ActionSpec, Plan};

    /// A mutating action with typed inputs and outputs, standing in for the Azure ones.
    struct Deploy;

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct DeployInput {
        app: String,
        #[serde(default)]
        replicas: Option<u32>,
        #[serde(default)]
        weights: Vec<serde_json::Value>,
    }

    #[derive(Serialize, JsonSchema)]
    struct DeployOutput {
        name: String,
        traffic: Vec<serde_json::Value>,
    }

    #[async_trait]
    impl Action for Deploy {
        type Input = DeployInput;
        type Output = DeployOutput;

        fn spec(&self) -> ActionSpec {
            ActionSpec {
                name: "test.deploy",
                summary: "Deploys (test)",
                mutates: true,
                idempotent: true,
                default_timeout: Duration::from_secs(60),
            }
        }

        async fn plan(&self, _: &ActionContext<'_>, _: &DeployInput) -> Result<Plan, ActionError> {
            Ok(Plan::default())
        }

        async fn run(
            &self,
            _: &ActionContext<'_>,
            _: &DeployInput,
        ) -> Result<DeployOutput, ActionError> {
            Err(ActionError::NoAzure)
        }
    }

    fn registry() -> Registry {
        let mut r = Registry::builtin();
        r.register(Deploy);
        r
    }

    const HEAD: &str = "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: { name: t, title: T }\n";

    /// Lints `HEAD` + `body` as `t.yaml` (lines of `body` start at 4).
    fn lint_body(body: &str) -> Vec<Diagnostic> {
        lint("t.yaml", &format!("{HEAD}{body}"), &registry())
    }

    /// The one diagnostic with `code`, asserting there is exactly one.
    #[track_caller]
    fn one<'a>(diags: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
        let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
        assert_eq!(found.len(), 1, "one `{code}` expected in {diags:#?}");
        found[0]
    }

    #[track_caller]
    fn assert_at(d: &Diagnostic, line: usize, column: usize, severity: Severity) {
        assert_eq!(
            (d.line, d.column, d.severity),
            (line, column, severity),
            "{d}"
        );
    }

    const GOOD: &str = "\
apiVersion: azdeck/v1
kind: Runbook
metadata: { name: good, title: Good }
params:
  app: { type: resource, kind: Microsoft.App/containerApps, required: true }
  replicas: { type: integer, default: 2, min: 1, max: 10 }
steps:
  - id: current
    action: log
    with: { message: \"{{ params.app | name }} in {{ env.name }} by {{ run.startedBy }}\" }
  - id: ok
    action: confirm
    with: { message: \"Deploy {{ steps.current.outputs.message }}?\" }
  - id: deploy
    action: test.deploy
    when: \"{{ steps.ok.outputs.confirmed and steps.current.state == 'succeeded' }}\"
    with:
      app: \"{{ params.app }}\"
      replicas: \"{{ params.replicas }}\"
      weights: [{ revision: \"{{ steps.current.outputs.message }}\", weight: 100 }]
    timeout: 10m
    rollback:
      action: test.deploy
      with: { app: \"{{ params.app }}\", weights: \"{{ steps.deploy.outputs.traffic }}\" }
";

    #[test]
    fn a_good_runbook_has_no_findings() {
        let diags = lint("good.yaml", GOOD, &registry());
        assert!(diags.is_empty(), "{diags:#?}");
    }

    #[test]
    fn diagnostics_print_as_file_line_column() {
        let d = Diagnostic {
            severity: Severity::Warning,
            file: "x.yaml".into(),
            line: 3,
            column: 7,
            code: "no-rollback",
            message: "m".into(),
        };
        assert_eq!(d.to_string(), "x.yaml:3:7: warning: m [no-rollback]");
    }

    #[test]
    fn yaml_syntax_errors_are_placed_by_serde_yaml() {
        let diags = lint_body("steps:\n  - id: a\n    action: log: extra\n    with: {}\n");
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_at(&diags[0], 6, 16, Severity::Error);
        assert_eq!(diags[0].code, "yaml");
        // A type error before a syntax error further on is still reported as the syntax error.
        let diags = lint_body("steps:\n  - id: a\n    action: [log]\n    with: { a: [ }\n");
        let d = one(&diags, "yaml");
        assert_eq!(d.line, 7, "{d}");
        assert!(!d.message.contains("invalid type"), "{d}");
    }

    #[test]
    fn schema_errors_name_the_field_and_its_line() {
        let diags = lint_body("steps:\n  - id: a\n    action: log\n    on_failure: continue\n");
        let d = one(&diags, "schema");
        assert_at(d, 7, 5, Severity::Error);
        assert!(d.message.contains("on_failure"), "{d}");
        assert!(!d.message.contains(" at line "), "{d}");

        let diags = lint(
            "t.yaml",
            &GOOD.replace("azdeck/v1", "azdeck/v2"),
            &registry(),
        );
        assert_eq!(one(&diags, "schema").line, 1);
        let diags = lint(
            "t.yaml",
            &GOOD
                .replace("onFailure", "x")
                .replace("type: integer", "type: int"),
            &registry(),
        );
        assert_eq!(one(&diags, "schema").line, 6);
    }

    #[test]
    fn step_ids_must_be_unique_and_well_formed() {
        let diags = lint_body(
            "steps:\n  - { id: a, action: log, with: { message: x } }\n  \
             - { id: a, action: log, with: { message: y } }\n  \
             - { id: 9lives, action: log, with: { message: z } }\n",
        );
        assert_at(one(&diags, "duplicate-id"), 6, 11, Severity::Error);
        assert_at(one(&diags, "step-id"), 7, 11, Severity::Error);
    }

    #[test]
    fn unknown_actions_in_steps_and_rollbacks() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log.nope\n  - id: b\n    action: log\n    \
             with: { message: x }\n    rollback:\n      action: undo.nope\n",
        );
        let found: Vec<(usize, usize)> = diags
            .iter()
            .filter(|d| d.code == "unknown-action")
            .map(|d| (d.line, d.column))
            .collect();
        assert_eq!(found, [(6, 13), (11, 15)], "{diags:#?}");
    }

    #[test]
    fn inputs_are_checked_against_the_action_schema() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with:\n      mesage: hi\n  \
             - id: b\n    action: wait\n  - id: c\n    action: log\n    with: { message: [1] }\n",
        );
        let unknown = one(&diags, "unknown-input");
        assert_at(unknown, 8, 7, Severity::Error);
        assert!(unknown.message.contains("mesage"), "{unknown}");
        // Missing inputs: at `with`, or at the action when there is no `with`.
        let missing: Vec<(usize, &str)> = diags
            .iter()
            .filter(|d| d.code == "missing-input")
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(missing.len(), 2, "{diags:#?}");
        assert_eq!(missing[0].0, 7);
        assert!(missing[0].1.contains("`message`"));
        assert_eq!(missing[1].0, 10);
        assert!(missing[1].1.contains("`duration`"));
        assert_at(one(&diags, "input-type"), 13, 22, Severity::Error);
    }

    #[test]
    fn template_literals_are_not_type_checked_but_plain_values_are() {
        let diags = lint(
            "good.yaml",
            &GOOD.replace("replicas: \"{{ params.replicas }}\"", "replicas: many"),
            &registry(),
        );
        assert_at(one(&diags, "input-type"), 19, 17, Severity::Error);
    }

    #[test]
    fn template_syntax_errors_point_into_the_string() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with: { message: \"hi {{ params. }}\" }\n    \
             when: \"{{ not }}\"\n",
        );
        let found: Vec<(usize, usize)> = diags
            .iter()
            .filter(|d| d.code == "template")
            .map(|d| (d.line, d.column))
            .collect();
        assert_eq!(found.len(), 2, "{diags:#?}");
        assert_eq!(found[0].0, 7);
        assert!(found[0].1 > 23, "inside the string: {found:?}");
        assert_eq!(found[1].0, 8);
    }

    #[test]
    fn when_must_be_one_expression() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with: { message: x }\n    \
             when: \"{{ true }} and {{ false }}\"\n",
        );
        assert_at(one(&diags, "template"), 8, 11, Severity::Error);
    }

    #[test]
    fn references_to_unknown_params_and_names() {
        let diags = lint_body(
            "params:\n  app: { type: string }\nsteps:\n  - id: a\n    action: log\n    \
             with: { message: \"{{ params.app }} {{ params.revison }}\" }\n  - id: b\n    \
             action: log\n    with: { message: \"{{ foo.bar }} {{ env.region }} {{ run.id }}\" }\n",
        );
        let refs: Vec<(usize, usize)> = diags
            .iter()
            .filter(|d| d.code == "unknown-reference")
            .map(|d| (d.line, d.column))
            .collect();
        // Columns point at the reference inside the quoted string.
        assert_eq!(refs, [(9, 43), (12, 26), (12, 40)], "{diags:#?}");
        assert!(diags.iter().any(|d| d.message.contains("params.revison")));
    }

    #[test]
    fn references_to_later_steps_and_self_are_forward_references() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    when: \"{{ steps.b.outputs.message }}\"\n    \
             with: { message: \"{{ steps.a.outputs.message }}\" }\n  - id: b\n    action: log\n    \
             with: { message: \"{{ steps.nope.state }}\" }\n",
        );
        let fwd: Vec<usize> = diags
            .iter()
            .filter(|d| d.code == "forward-reference")
            .map(|d| d.line)
            .collect();
        assert_eq!(fwd, [7, 8], "{diags:#?}");
        assert_eq!(one(&diags, "unknown-reference").line, 11);
    }

    #[test]
    fn output_fields_come_from_the_output_schema() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with: { message: x }\n  - id: b\n    \
             action: log\n    with: { message: \"{{ steps.a.outputs.mesage }} {{ steps.a.outputs.message.deeper }} {{ steps.a.status }}\" }\n",
        );
        let refs: Vec<(usize, &str)> = diags
            .iter()
            .filter(|d| d.code == "unknown-reference")
            .map(|d| (d.line, d.message.as_str()))
            .collect();
        assert_eq!(refs.len(), 2, "{diags:#?}");
        assert_eq!(refs[0].0, 10);
        assert!(refs[0].1.contains("no output `mesage`"), "{}", refs[0].1);
        assert!(
            refs[1].1.contains("only `outputs` and `state`"),
            "{}",
            refs[1].1
        );
    }

    #[test]
    fn a_rollback_reads_its_own_step_but_no_later_one() {
        let text = GOOD.replace(
            "weights: \"{{ steps.deploy.outputs.traffic }}\"",
            "weights: \"{{ steps.later.outputs.x }}\"",
        ) + "  - id: later\n    action: log\n    with: { message: x }\n";
        let diags = lint("good.yaml", &text, &registry());
        assert_at(one(&diags, "forward-reference"), 24, 53, Severity::Error);
    }

    #[test]
    fn mutations_need_an_earlier_confirm_and_want_a_rollback() {
        let diags = lint_body(
            "steps:\n  - id: go\n    action: test.deploy\n    with: { app: x }\n  \
             - id: ok\n    action: confirm\n    with: { message: sure? }\n",
        );
        assert_at(one(&diags, "unconfirmed-mutation"), 6, 13, Severity::Error);
        assert_at(one(&diags, "no-rollback"), 6, 13, Severity::Warning);
        // The good runbook confirms first and declares a rollback.
        let diags = lint("good.yaml", GOOD, &registry());
        assert!(diags.iter().all(|d| d.code != "unconfirmed-mutation"));
    }

    #[test]
    fn on_failure_rollback_without_any_rollback_is_a_warning() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with: { message: x }\n    onFailure: rollback\n",
        );
        assert_at(one(&diags, "no-rollback"), 8, 16, Severity::Warning);
    }

    #[test]
    fn params_are_checked() {
        let diags = lint_body(
            "params:\n  \
             mode: { type: enum }\n  \
             app: { type: string, kind: Microsoft.App/containerApps }\n  \
             n: { type: integer, default: five }\n  \
             d: { type: duration, default: soon }\n  \
             e: { type: enum, values: [a, b], default: c }\n  \
             r: { type: string, required: true, default: x }\n  \
             m: { type: integer, min: 5, max: 1 }\n\
             steps:\n  - id: a\n    action: log\n    \
             with: { message: \"{{ params.mode }}{{ params.app }}{{ params.n }}{{ params.d }}{{ params.e }}{{ params.r }}{{ params.m }}\" }\n",
        );
        let found: Vec<(usize, Severity)> = diags
            .iter()
            .filter(|d| d.code == "param")
            .map(|d| (d.line, d.severity))
            .collect();
        assert_eq!(
            found,
            [
                (5, Severity::Error),
                (6, Severity::Error),
                (7, Severity::Error),
                (8, Severity::Error),
                (9, Severity::Error),
                (10, Severity::Warning),
                (11, Severity::Error),
            ],
            "{diags:#?}"
        );
    }

    #[test]
    fn unused_params_are_warnings() {
        let diags = lint_body(
            "params:\n  used: { type: string }\n  spare: { type: string }\nsteps:\n  - id: a\n    \
             action: log\n    with: { message: \"{{ params.used }}\" }\n",
        );
        assert_at(one(&diags, "unused-param"), 6, 3, Severity::Warning);
    }

    #[test]
    fn timeouts_must_be_durations() {
        let diags = lint_body(
            "steps:\n  - id: a\n    action: log\n    with: { message: x }\n    timeout: soon\n",
        );
        assert_at(one(&diags, "timeout"), 8, 14, Severity::Error);
    }

    #[test]
    fn names_are_checked_against_the_pattern_and_the_file() {
        let diags = lint("other.yaml", GOOD, &registry());
        assert_at(one(&diags, "name"), 3, 19, Severity::Warning);
        let diags = lint(
            "Bad_Name.yaml",
            &GOOD.replace("name: good", "name: Bad_Name"),
            &registry(),
        );
        assert_at(one(&diags, "name"), 3, 19, Severity::Error);
    }

    #[test]
    fn garbage_never_panics() {
        let deep_flow = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
        let deep_block: String = (0..2000)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        let deep_map = format!(
            "steps:\n  - id: a\n    action: log\n    with: {}x{}\n",
            "{ a: ".repeat(300),
            " }".repeat(300)
        );
        let inputs = [
            String::new(),
            "\n\n   \n".to_string(),
            "- a\n- b\n".to_string(),
            "42".to_string(),
            "\u{0}\u{1}\u{7f}\u{fffd}\u{feff}{{".to_string(),
            "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: {name: x, title: y}\nsteps: [{id: a, action: log, with: {message: '{{ \u{0} }}'}}]".to_string(),
            "a: &x [*x, *x]\n".to_string(),
            "*nope".to_string(),
            "---\na: 1\n---\nb: 2\n".to_string(),
            "? [complex, key]\n: 1\n".to_string(),
            deep_flow,
            deep_block,
            format!("{HEAD}{deep_map}"),
            format!("{HEAD}steps:\n  - id: a\n    action: log\n    with: {{ message: \"{}\" }}\n", "{{ (".repeat(500)),
        ];
        for input in &inputs {
            let diags = lint("g.yaml", input, &registry());
            assert!(
                diags.iter().any(Diagnostic::is_error),
                "garbage must be an error: {:?}",
                input.chars().take(40).collect::<String>()
            );
            assert!(diags.iter().all(|d| d.line >= 1 && d.column >= 1));
        }
    }

    #[test]
    fn reference_paths_parse_back() {
        assert_eq!(
            parse_reference("steps['set-traffic'].outputs.x[0]"),
            Some(vec![
                RefSeg::Key("steps".into()),
                RefSeg::Key("set-traffic".into()),
                RefSeg::Key("outputs".into()),
                RefSeg::Key("x".into()),
                RefSeg::Index(0),
            ])
        );
        assert_eq!(
            parse_reference("a['it\\'s']"),
            Some(vec![RefSeg::Key("a".into()), RefSeg::Key("it's".into())])
        );
        for bad in ["", ".a", "a[", "a['x", "a[x]", "a..b"] {
            assert_eq!(parse_reference(bad), None, "{bad}");
        }
    }

    #[test]
    fn unreadable_entries_are_one_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin.yaml");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let err = loader::load_file(&path).unwrap_err();
        let entry = Entry {
            name: "bin".into(),
            source: loader::Source::File(path),
            text: String::new(),
            parsed: Err(err),
            overrides: Vec::new(),
        };
        let diags = lint_entry(&entry, &registry());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "read");
    }
}
