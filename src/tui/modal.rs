//! Windows over the screens: the param form, the plan preview, run progress, confirmation, the
//! traffic editor, the command palette, help and messages. The top one gets the keys.

use super::catalog::{ParamInfo, RunbookInfo};
use super::msg::Ticket;
use crate::runbook::confirm::ConfirmRequest;

#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub param: ParamInfo,
    pub value: String,
}

/// Parameters of a runbook, pre-filled from the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub runbook: String,
    pub title: String,
    pub fields: Vec<FormField>,
    pub focus: usize,
    /// `P`: show the plan and stop there.
    pub plan_only: bool,
    pub error: Option<String>,
    /// Refresh this app's revisions when the run ends.
    pub refresh_app: Option<String>,
    /// A resume asking for the run's secret params again (they are never stored).
    pub resume_run: Option<String>,
}

impl Form {
    pub fn new(runbook: &RunbookInfo, prefill: &[(String, String)], plan_only: bool) -> Form {
        let fields = runbook
            .params
            .iter()
            .map(|p| FormField {
                value: prefill
                    .iter()
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| p.default.clone())
                    .unwrap_or_default(),
                param: p.clone(),
            })
            .collect();
        Form {
            runbook: runbook.name.clone(),
            title: runbook.title.clone(),
            fields,
            focus: 0,
            plan_only,
            error: None,
            refresh_app: None,
            resume_run: None,
        }
    }

    /// The values to run with, or why not yet.
    pub fn values(&self) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        for f in &self.fields {
            let v = f.value.trim();
            if v.is_empty() {
                if f.param.required {
                    return Err(format!("{} is required", f.param.name));
                }
                continue;
            }
            if !f.param.values.is_empty() && !f.param.values.iter().any(|x| x == v) {
                return Err(format!(
                    "{} must be one of {}",
                    f.param.name,
                    f.param.values.join(", ")
                ));
            }
            out.push((f.param.name.clone(), v.to_string()));
        }
        Ok(out)
    }

    /// Left/right on an enum field cycles its values.
    pub fn cycle(&mut self, forward: bool) {
        let Some(field) = self.fields.get_mut(self.focus) else {
            return;
        };
        let values = &field.param.values;
        if values.is_empty() {
            return;
        }
        let pos = values.iter().position(|v| *v == field.value);
        let next = match (pos, forward) {
            (None, _) => 0,
            (Some(i), true) => (i + 1) % values.len(),
            (Some(i), false) => (i + values.len() - 1) % values.len(),
        };
        field.value = values[next].clone();
    }
}

/// The split of an app's traffic being edited; it must add up to 100 to be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficEditor {
    pub app_id: String,
    pub rows: Vec<(String, i64)>,
    /// Labels of the rules now (revision → label): kept, since the change replaces every rule.
    pub labels: std::collections::BTreeMap<String, String>,
    pub focus: usize,
}

impl TrafficEditor {
    pub fn total(&self) -> i64 {
        self.rows.iter().map(|(_, w)| *w).sum()
    }

    pub fn adjust(&mut self, delta: i64) {
        if let Some((_, w)) = self.rows.get_mut(self.focus) {
            *w = (*w + delta).clamp(0, 100);
        }
    }

    /// `name[@label]=weight, …` as the `containerapp-traffic` runbook takes it.
    pub fn split(&self) -> String {
        self.rows
            .iter()
            .map(|(n, w)| match self.labels.get(n) {
                Some(label) => format!("{n}@{label}={w}"),
                None => format!("{n}={w}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A confirmation the engine waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmDialog {
    pub id: u64,
    pub request: ConfirmRequest,
    /// What the user typed (a protected environment's name).
    pub typed: String,
    pub mismatch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PaletteTarget {
    Screen(super::app::Screen),
    Resource(String),
    Runbook(String),
    Command(super::keymap::Command),
    Env(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaletteEntry {
    pub label: String,
    pub kind: &'static str,
    pub target: PaletteTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub query: String,
    pub entries: Vec<PaletteEntry>,
    /// Indices into `entries` that match the query, best first.
    pub hits: Vec<usize>,
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Help {
        scroll: usize,
    },
    Palette(Palette),
    Form(Form),
    /// A run's progress (also its plan preview, when it is a dry run).
    Run(Ticket),
    Confirm(ConfirmDialog),
    Traffic(TrafficEditor),
    /// Quitting with runs in flight.
    QuitWhileRunning,
    Message {
        title: String,
        lines: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_keeps_labels_and_must_add_up() {
        let mut t = TrafficEditor {
            app_id: "/subscriptions/s/…/containerApps/chat-api".into(),
            rows: vec![("chat-api--b212".into(), 90), ("chat-api--b213".into(), 10)],
            labels: [("chat-api--b212".to_string(), "stable".to_string())].into(),
            focus: 1,
        };
        assert_eq!(t.total(), 100);
        t.adjust(5);
        assert_eq!(t.total(), 105);
        t.focus = 0;
        t.adjust(-5);
        assert_eq!(t.split(), "chat-api--b212@stable=85, chat-api--b213=15");
        t.adjust(-200);
        assert_eq!(t.rows[0].1, 0, "weights stay within 0–100");
    }
}
