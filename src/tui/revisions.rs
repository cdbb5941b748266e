//! The Revisions screen's state: one Container App's revisions, and what `r` rolls back to.

use super::msg::AppRevisions;
use crate::azure::containerapps::Revision;

#[derive(Debug, Default)]
pub struct RevisionsState {
    /// The app shown (set before its revisions arrive).
    pub app_id: Option<String>,
    pub data: Option<AppRevisions>,
    pub loading: bool,
    pub error: Option<String>,
    pub hide_inactive: bool,
    pub selected: usize,
}

/// What a rollback key press means for the selected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// The selected revision: healthy and not the one serving.
    Revision(String),
    /// Let the runbook pick the newest healthy revision before the serving one.
    PreviousHealthy,
}

impl RevisionsState {
    pub fn show(&mut self, app_id: &str) {
        if self.app_id.as_deref() != Some(app_id) {
            self.data = None;
            self.selected = 0;
        }
        self.app_id = Some(app_id.to_string());
        self.loading = true;
        self.error = None;
    }

    pub fn set(&mut self, data: AppRevisions) {
        let keep = self.selected_revision().map(|r| r.name.clone());
        let mut data = data;
        // Newest first: that is where an incident starts.
        data.revisions.sort_by(|a, b| {
            b.properties
                .created_time
                .as_deref()
                .unwrap_or("")
                .cmp(a.properties.created_time.as_deref().unwrap_or(""))
                .then_with(|| b.name.cmp(&a.name))
        });
        self.data = Some(data);
        self.loading = false;
        self.error = None;
        self.selected = keep
            .and_then(|name| self.visible().iter().position(|r| r.name == name))
            .unwrap_or(0);
    }

    pub fn visible(&self) -> Vec<&Revision> {
        match &self.data {
            Some(d) => d
                .revisions
                .iter()
                .filter(|r| !self.hide_inactive || r.is_active())
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn selected_revision(&self) -> Option<&Revision> {
        self.visible().get(self.selected).copied()
    }

    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible().len();
        if n == 0 {
            return;
        }
        self.selected = (self.selected as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    pub fn toggle_inactive(&mut self) {
        let keep = self.selected_revision().map(|r| r.name.clone());
        self.hide_inactive = !self.hide_inactive;
        self.selected = keep
            .and_then(|name| self.visible().iter().position(|r| r.name == name))
            .unwrap_or(0);
    }

    pub fn revision_mode(&self) -> &str {
        self.data
            .as_ref()
            .map(|d| d.app.revision_mode())
            .unwrap_or("")
    }

    /// Whether `revision` takes traffic now (Single mode: it is the latest one).
    pub fn is_serving(&self, revision: &Revision) -> bool {
        let Some(d) = &self.data else { return false };
        if d.app.revision_mode() == "Single" {
            return d.app.properties.latest_revision_name.as_deref()
                == Some(revision.name.as_str());
        }
        revision.properties.traffic_weight.unwrap_or(0) > 0
    }

    /// The selected revision when it is a sensible target, else the previous healthy one.
    pub fn rollback_target(&self) -> RollbackTarget {
        match self.selected_revision() {
            Some(r) if r.is_healthy() && !self.is_serving(r) => {
                RollbackTarget::Revision(r.name.clone())
            }
            _ => RollbackTarget::PreviousHealthy,
        }
    }

    /// The split now, as `containerapp-traffic` writes it (`name=weight, …`), active revisions only.
    /// The labels of the app's traffic rules, by revision.
    pub fn traffic_labels(&self) -> std::collections::BTreeMap<String, String> {
        let Some(d) = &self.data else {
            return Default::default();
        };
        d.app
            .properties
            .configuration
            .as_ref()
            .and_then(|c| c.ingress.as_ref())
            .and_then(|i| i.traffic.as_ref())
            .map(|rules| {
                rules
                    .iter()
                    .filter_map(|r| Some((r.revision_name.clone()?, r.label.clone()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn traffic_rows(&self) -> Vec<(String, i64)> {
        let Some(d) = &self.data else {
            return Vec::new();
        };
        d.revisions
            .iter()
            .filter(|r| r.is_active())
            .map(|r| (r.name.clone(), r.properties.traffic_weight.unwrap_or(0)))
            .collect()
    }
}
