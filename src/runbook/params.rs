//! Runbook parameters: `-p key=value` text checked and typed against the runbook's `params`, with
//! defaults applied. Resource params accept an ARM id, `GROUP/NAME` or a unique name (resolved in
//! the environment). Secret params are kept apart so nothing stores, logs or prints them.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::model::{ParamSpec, ParamType};
use super::template::parse_duration;
use crate::azure::http::Pipeline;
use crate::azure::resources::{self, ResourceId};

pub const MASK: &str = "***";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("unknown parameter '{name}' (this runbook takes: {known})")]
    Unknown { name: String, known: String },
    #[error("parameter '{name}' is required")]
    Missing { name: String },
    #[error("parameter '{name}': {message}")]
    Invalid { name: String, message: String },
    #[error("'{text}' is not KEY=VALUE")]
    Syntax { text: String },
    #[error("parameter '{name}' given twice")]
    Repeated { name: String },
}

/// Typed parameter values, and which of them are secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: Map<String, Value>,
    secrets: BTreeSet<String>,
}

impl Params {
    /// The values as templates see them (secrets included).
    pub fn context(&self) -> Value {
        Value::Object(self.values.clone())
    }

    /// The values as they may be stored and shown: secrets replaced by `***`.
    pub fn masked(&self) -> Value {
        Value::Object(
            self.values
                .iter()
                .map(|(k, v)| {
                    let shown = if self.secrets.contains(k) {
                        Value::String(MASK.into())
                    } else {
                        v.clone()
                    };
                    (k.clone(), shown)
                })
                .collect(),
        )
    }

    /// The secret values, so any text that carries one can be masked.
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets
            .iter()
            .filter_map(|k| self.values.get(k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The values of resource params: what a run's leases cover.
    pub fn resources(&self, specs: &IndexMap<String, ParamSpec>) -> Vec<String> {
        specs
            .iter()
            .filter(|(_, s)| s.param_type == ParamType::Resource)
            .filter_map(|(k, _)| self.values.get(k).and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }
}

/// Splits `key=value` arguments.
pub fn split_assignments(args: &[String]) -> Result<Vec<(String, String)>, ParamError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| ParamError::Syntax { text: a.clone() })?;
        let k = k.trim().to_string();
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(ParamError::Repeated { name: k });
        }
        out.push((k, v.to_string()));
    }
    Ok(out)
}

/// Checks and types the given values (resource params not yet resolved to ids: see
/// [`resolve_resources`]).
pub fn parse(
    specs: &IndexMap<String, ParamSpec>,
    given: &[(String, String)],
) -> Result<Params, ParamError> {
    for (k, _) in given {
        if !specs.contains_key(k) {
            return Err(ParamError::Unknown {
                name: k.clone(),
                known: specs.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut params = Params::default();
    for (name, spec) in specs {
        if spec.param_type == ParamType::Secret {
            params.secrets.insert(name.clone());
        }
        let text = given.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let value = match (text, &spec.default) {
            (Some(t), _) => typed(name, spec, t)?,
            (None, Some(d)) => d.clone(),
            (None, None) if spec.required => {
                return Err(ParamError::Missing { name: name.clone() })
            }
            (None, None) => continue,
        };
        params.values.insert(name.clone(), value);
    }
    Ok(params)
}

fn typed(name: &str, spec: &ParamSpec, text: &str) -> Result<Value, ParamError> {
    let invalid = |message: String| ParamError::Invalid {
        name: name.to_string(),
        message,
    };
    match spec.param_type {
        ParamType::String | ParamType::Secret => Ok(Value::String(text.to_string())),
        ParamType::Integer => {
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| invalid(format!("'{text}' is not an integer")))?;
            if let Some(min) = spec.min.filter(|m| n < *m) {
                return Err(invalid(format!("{n} is below the minimum {min}")));
            }
            if let Some(max) = spec.max.filter(|m| n > *m) {
                return Err(invalid(format!("{n} is above the maximum {max}")));
            }
            Ok(Value::from(n))
        }
        ParamType::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(invalid(format!("'{text}' is not true or false"))),
        },
        ParamType::Duration => parse_duration(text.trim())
            .map(|_| Value::String(text.trim().to_string()))
            .ok_or_else(|| invalid(format!("'{text}' is not a duration (e.g. 90s, 15m, 2h)"))),
        ParamType::Enum => {
            if spec.values.iter().any(|v| v == text) {
                Ok(Value::String(text.to_string()))
            } else {
                Err(invalid(format!(
                    "'{text}' is not one of {}",
                    spec.values.join(", ")
                )))
            }
        }
        ParamType::Resource => {
            let text = text.trim();
            if text.starts_with('/') {
                let id = ResourceId::parse(text)
                    .map_err(|e| invalid(format!("not a resource id: {e}")))?;
                if let Some(kind) = &spec.kind {
                    if !id.resource_type.eq_ignore_ascii_case(kind) {
                        return Err(invalid(format!(
                            "{text} is a {}, not a {kind}",
                            id.resource_type
                        )));
                    }
                }
            } else if text.is_empty() {
                return Err(invalid("empty resource name".into()));
            }
            Ok(Value::String(text.to_string()))
        }
    }
}

/// Where a short resource name is looked for.
pub struct Scope<'a> {
    pub environment: &'a str,
    pub subscriptions: &'a [String],
    pub resource_groups: &'a [String],
}

/// Turns resource params given as `NAME` or `GROUP/NAME` into ARM ids by listing the environment's
/// resources of the param's kind. Ids are left as they are.
pub async fn resolve_resources(
    params: &mut Params,
    specs: &IndexMap<String, ParamSpec>,
    pipeline: &Pipeline,
    scope: &Scope<'_>,
) -> Result<(), ParamError> {
    for (name, spec) in specs {
        if spec.param_type != ParamType::Resource {
            continue;
        }
        let Some(text) = params.values.get(name).and_then(Value::as_str) else {
            continue;
        };
        if text.starts_with('/') {
            continue;
        }
        let invalid = |message: String| ParamError::Invalid {
            name: name.clone(),
            message,
        };
        let (group, short) = match text.split_once('/') {
            Some((g, n)) => (Some(g), n),
            None => (None, text),
        };
        let mut found = Vec::new();
        for sub in scope.subscriptions {
            let groups: Vec<Option<&str>> = match group {
                Some(g) => vec![Some(g)],
                None if scope.resource_groups.is_empty() => vec![None],
                None => scope
                    .resource_groups
                    .iter()
                    .map(|g| Some(g.as_str()))
                    .collect(),
            };
            for g in groups {
                let items = match resources::list(pipeline, sub, g, spec.kind.as_deref()).await {
                    Ok(items) => items,
                    // The group lives in another of the environment's subscriptions.
                    Err(crate::azure::http::ClientError::Azure(
                        crate::azure::error::AzureError::NotFound { .. },
                    )) => continue,
                    Err(e) => return Err(invalid(format!("cannot look up '{text}': {e}"))),
                };
                found.extend(
                    items
                        .into_iter()
                        .filter(|i| i.name.eq_ignore_ascii_case(short))
                        .map(|i| i.id),
                );
            }
        }
        found.sort();
        found.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let id = match found.len() {
            1 => found.remove(0),
            0 => {
                return Err(invalid(format!(
                    "no {} named '{text}' in environment {}",
                    spec.kind.as_deref().unwrap_or("resource"),
                    scope.environment
                )))
            }
            _ => {
                return Err(invalid(format!(
                    "'{text}' names several resources; give GROUP/NAME or the id:\n  {}",
                    found.join("\n  ")
                )))
            }
        };
        params.values.insert(name.clone(), Value::String(id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn specs() -> IndexMap<String, ParamSpec> {
        serde_yaml::from_str(
            r#"
app: { type: resource, kind: Microsoft.App/containerApps, required: true }
replicas: { type: integer, min: 1, max: 30, default: 3 }
mode: { type: enum, values: [fast, safe] }
drain: { type: boolean }
after: { type: duration }
password: { type: secret }
"#,
        )
        .unwrap()
    }

    fn given(pairs: &[&str]) -> Vec<(String, String)> {
        split_assignments(&pairs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    const APP: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a";

    #[test]
    fn values_are_typed_and_defaults_applied() {
        let p = parse(
            &specs(),
            &given(&[&format!("app={APP}"), "drain=yes", "after=15m", "mode=safe"]),
        )
        .unwrap();
        assert_eq!(
            p.context(),
            json!({"app": APP, "replicas": 3, "mode": "safe", "drain": true, "after": "15m"})
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let s = specs();
        let err = |pairs: &[&str]| parse(&s, &given(pairs)).unwrap_err().to_string();
        assert!(err(&[]).contains("'app' is required"));
        assert!(err(&[&format!("app={APP}"), "replicas=99"]).contains("above the maximum 30"));
        assert!(err(&[&format!("app={APP}"), "replicas=x"]).contains("not an integer"));
        assert!(err(&[&format!("app={APP}"), "mode=yolo"]).contains("not one of fast, safe"));
        assert!(err(&[&format!("app={APP}"), "after=soon"]).contains("not a duration"));
        assert!(err(&[&format!("app={APP}"), "colour=red"]).contains("unknown parameter 'colour'"));
        assert!(err(&[
            "app=/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"
        ])
        .contains("not a Microsoft.App/containerApps"));
        assert_eq!(
            split_assignments(&["novalue".to_string()]).unwrap_err(),
            ParamError::Syntax {
                text: "novalue".into()
            }
        );
        assert!(matches!(
            split_assignments(&["a=1".to_string(), "a=2".to_string()]),
            Err(ParamError::Repeated { .. })
        ));
    }

    #[test]
    fn secrets_are_masked_and_listed() {
        let p = parse(
            &specs(),
            &given(&[&format!("app={APP}"), "password=hunter2"]),
        )
        .unwrap();
        assert_eq!(p.masked()["password"], MASK);
        assert_eq!(p.context()["password"], "hunter2");
        assert_eq!(p.secret_values(), vec!["hunter2".to_string()]);
        assert_eq!(p.resources(&specs()), vec![APP.to_string()]);
    }
}
