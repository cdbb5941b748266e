//! What the Runbooks screen, the param form and the help need to know of runbooks and actions,
//! taken once from the catalog and the action registry (so screens and tests need neither).

use crate::runbook::action::Registry;
use crate::runbook::loader::Catalog;
use crate::runbook::model::ParamType;

#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub kind: ParamType,
    pub required: bool,
    pub description: String,
    /// For `resource` params: the ARM type it takes (prefilled from the selection).
    pub resource_kind: Option<String>,
    /// For `enum` params.
    pub values: Vec<String>,
    pub default: Option<String>,
}

impl ParamInfo {
    pub fn is_secret(&self) -> bool {
        self.kind == ParamType::Secret
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    pub id: String,
    pub title: String,
    pub action: String,
    pub mutates: bool,
    pub explain: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunbookInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub applies_to: Vec<String>,
    pub params: Vec<ParamInfo>,
    pub steps: Vec<StepInfo>,
    pub source: String,
    /// Why it cannot run (a broken file), shown instead of its steps.
    pub problem: Option<String>,
}

impl RunbookInfo {
    pub fn mutates(&self) -> bool {
        self.steps.iter().any(|s| s.mutates)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionInfo {
    pub name: String,
    pub summary: String,
    pub mutates: bool,
}

pub fn runbooks(catalog: &Catalog, registry: &Registry) -> Vec<RunbookInfo> {
    let mutates = |action: &str| {
        registry
            .get(action)
            .map(|a| a.spec().mutates)
            .unwrap_or(false)
    };
    catalog
        .entries()
        .iter()
        .map(|entry| match &entry.parsed {
            Ok(rb) => RunbookInfo {
                name: rb.metadata.name.clone(),
                title: rb.metadata.title.clone(),
                description: rb.metadata.description.clone().unwrap_or_default(),
                tags: rb.metadata.tags.clone(),
                applies_to: rb.metadata.applies_to.clone(),
                params: rb
                    .params
                    .iter()
                    .map(|(name, p)| ParamInfo {
                        name: name.clone(),
                        kind: p.param_type,
                        required: p.required,
                        description: p.description.clone().unwrap_or_default(),
                        resource_kind: p.kind.clone(),
                        values: p.values.clone(),
                        default: p.default.as_ref().map(|v| match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }),
                    })
                    .collect(),
                steps: rb
                    .steps
                    .iter()
                    .map(|s| StepInfo {
                        id: s.id.clone(),
                        title: crate::runbook::model::Runbook::step_title(s).to_string(),
                        action: s.action.clone(),
                        mutates: mutates(&s.action),
                        explain: s.explain.clone().unwrap_or_default(),
                    })
                    .collect(),
                source: entry.source.file_name(),
                problem: None,
            },
            Err(e) => RunbookInfo {
                name: entry.name.clone(),
                title: String::new(),
                description: String::new(),
                tags: vec![],
                applies_to: vec![],
                params: vec![],
                steps: vec![],
                source: entry.source.file_name(),
                problem: Some(e.to_string()),
            },
        })
        .collect()
}

pub fn actions(registry: &Registry) -> Vec<ActionInfo> {
    registry
        .iter()
        .map(|(name, action)| {
            let spec = action.spec();
            ActionInfo {
                name: name.to_string(),
                summary: spec.summary.to_string(),
                mutates: spec.mutates,
            }
        })
        .collect()
}
