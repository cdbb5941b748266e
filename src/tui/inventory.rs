//! The Inventory screen's state: every resource of the environment, a fuzzy filter, grouping by
//! type, badges. Only the rows on screen are ever turned into widgets, so 20,000 resources cost
//! a filter pass per key press and nothing per frame beyond the visible rows.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::fuzzy::Fuzzy;
use crate::azure::resources::InventoryItem;

pub const CONTAINER_APP: &str = "Microsoft.App/containerApps";
pub const KEY_VAULT: &str = "Microsoft.KeyVault/vaults";

/// Between the fields of a filter haystack: each filter atom matches within one field.
const FIELD_SEP: char = '\u{1f}';
const FIELD_SEP_STR: &str = "\u{1f}";

/// What needs a look, most serious first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Badge {
    Failed,
    Unhealthy,
    Stopped,
    /// A Key Vault with secrets expired or expiring soon.
    Expiring,
}

impl Badge {
    pub fn label(self) -> &'static str {
        match self {
            Badge::Failed => "FAILED",
            Badge::Unhealthy => "UNHEALTHY",
            Badge::Stopped => "STOPPED",
            Badge::Expiring => "EXPIRING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A type's heading when grouped: the type of `items[index]` and how many rows follow.
    Group {
        first: usize,
        count: usize,
    },
    Item(usize),
}

#[derive(Debug, Default)]
pub struct InventoryState {
    pub items: Arc<Vec<InventoryItem>>,
    /// One string per item, what the filter matches against: name, type, group, location
    /// (joined by `FIELD_SEP`).
    haystacks: Vec<String>,
    pub loading: bool,
    pub loaded_count: usize,
    pub error: Option<String>,
    pub filter: String,
    pub editing_filter: bool,
    pub grouped: bool,
    pub rows: Vec<Row>,
    pub selected: usize,
    pub offset: usize,
    pub detail: bool,
    pub json: bool,
    pub detail_json: Option<(String, Result<Value, String>)>,
    /// Apps whose serving revisions are not all healthy (false) or are (true).
    pub app_health: HashMap<String, bool>,
    /// Secrets expired or expiring soon, per vault id (lower case).
    pub vault_expiry: HashMap<String, usize>,
    fuzzy: Fuzzy,
}

impl InventoryState {
    /// Empty, waiting for the first load.
    pub fn loading() -> InventoryState {
        InventoryState {
            loading: true,
            ..InventoryState::default()
        }
    }

    pub fn set_items(&mut self, items: Arc<Vec<InventoryItem>>) {
        self.haystacks = items
            .iter()
            .map(|i| {
                [
                    i.name.as_str(),
                    &i.resource_type,
                    &i.resource_group,
                    &i.location,
                ]
                .join(FIELD_SEP_STR)
            })
            .collect();
        self.items = items;
        self.loading = false;
        self.error = None;
        let keep = self.selected_item().map(|i| i.id.clone());
        self.rebuild();
        if let Some(id) = keep {
            self.select_id(&id);
        }
    }

    pub fn selected_item(&self) -> Option<&InventoryItem> {
        match self.rows.get(self.selected)? {
            Row::Item(i) => self.items.get(*i),
            Row::Group { .. } => None,
        }
    }

    pub fn select_id(&mut self, id: &str) -> bool {
        let found = self.rows.iter().position(|r| match r {
            Row::Item(i) => self
                .items
                .get(*i)
                .is_some_and(|it| it.id.eq_ignore_ascii_case(id)),
            Row::Group { .. } => false,
        });
        if let Some(pos) = found {
            self.selected = pos;
        }
        found.is_some()
    }

    pub fn badge(&self, item: &InventoryItem) -> Option<Badge> {
        if item
            .provisioning_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Failed"))
        {
            return Some(Badge::Failed);
        }
        if self.app_health.get(&item.id.to_ascii_lowercase()) == Some(&false) {
            return Some(Badge::Unhealthy);
        }
        if item
            .state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Stopped"))
        {
            return Some(Badge::Stopped);
        }
        if self
            .vault_expiry
            .get(&item.id.to_ascii_lowercase())
            .is_some_and(|n| *n > 0)
        {
            return Some(Badge::Expiring);
        }
        None
    }

    pub fn set_health(&mut self, app_id: &str, healthy: bool) {
        self.app_health.insert(app_id.to_ascii_lowercase(), healthy);
    }

    pub fn set_vault_expiry(&mut self, vault_id: &str, expiring: usize) {
        self.vault_expiry
            .insert(vault_id.to_ascii_lowercase(), expiring);
    }

    /// The Key Vaults (id, name) whose secrets the badges need.
    pub fn vaults(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .filter(|i| i.resource_type.eq_ignore_ascii_case(KEY_VAULT))
            .map(|i| (i.id.clone(), i.name.clone()))
            .collect()
    }

    /// The container apps whose health the badges need.
    pub fn app_ids(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.resource_type.eq_ignore_ascii_case(CONTAINER_APP))
            .map(|i| i.id.clone())
            .collect()
    }

    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.rebuild();
        self.selected = self.first_item_row().unwrap_or(0);
        self.offset = 0;
    }

    pub fn toggle_grouped(&mut self) {
        let keep = self.selected_item().map(|i| i.id.clone());
        self.grouped = !self.grouped;
        self.rebuild();
        if let Some(id) = keep {
            self.select_id(&id);
        }
    }

    fn first_item_row(&self) -> Option<usize> {
        self.rows.iter().position(|r| matches!(r, Row::Item(_)))
    }

    /// Recomputes the visible rows from the items, the filter and the grouping.
    fn rebuild(&mut self) {
        let mut order: Vec<usize> = if self.filter.trim().is_empty() {
            (0..self.items.len()).collect()
        } else {
            let mut hits = self.fuzzy.filter_fields(
                &self.filter,
                FIELD_SEP,
                self.haystacks.iter().map(String::as_str),
            );
            // Equal scores: the shorter name is the closer match (`web` before `web-dr`).
            let items = &self.items;
            hits.sort_by_key(|h| {
                (
                    std::cmp::Reverse(h.score),
                    items.get(h.index).map(|i| i.name.len()).unwrap_or(0),
                    h.index,
                )
            });
            hits.into_iter().map(|h| h.index).collect()
        };
        self.rows.clear();
        if self.grouped {
            let items = &self.items;
            // Stable: within a type, filter score (or id order) is kept.
            order.sort_by(|a, b| {
                items[*a]
                    .resource_type
                    .to_ascii_lowercase()
                    .cmp(&items[*b].resource_type.to_ascii_lowercase())
            });
            let mut i = 0;
            while i < order.len() {
                let t = items[order[i]].resource_type.to_ascii_lowercase();
                let count = order[i..]
                    .iter()
                    .take_while(|j| items[**j].resource_type.to_ascii_lowercase() == t)
                    .count();
                self.rows.push(Row::Group {
                    first: order[i],
                    count,
                });
                self.rows
                    .extend(order[i..i + count].iter().map(|j| Row::Item(*j)));
                i += count;
            }
        } else {
            self.rows.extend(order.into_iter().map(Row::Item));
        }
        if self.selected >= self.rows.len() {
            self.selected = self.rows.len().saturating_sub(1);
        }
    }

    /// Match positions in an item's name, for highlighting the visible rows only.
    pub fn name_positions(&mut self, index: usize) -> Vec<u32> {
        if self.filter.trim().is_empty() {
            return Vec::new();
        }
        let Some(item) = self.items.get(index) else {
            return Vec::new();
        };
        self.fuzzy
            .positions(&self.filter, &item.name)
            .unwrap_or_default()
    }

    pub fn matches(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r, Row::Item(_)))
            .count()
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn select_row(&mut self, row: usize) {
        if row < self.rows.len() {
            self.selected = row;
        }
    }

    /// Keeps the selection inside a window of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        if height == 0 {
            return;
        }
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        let max_offset = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    /// The portal's page of the selected resource.
    pub fn portal_link(&self, portal: &str, tenant: &str) -> Option<String> {
        let item = self.selected_item()?;
        Some(format!(
            "{}/#@{}/resource{}",
            portal.trim_end_matches('/'),
            tenant,
            item.id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, t: &str) -> InventoryItem {
        InventoryItem {
            id: format!("/subscriptions/s/resourceGroups/rg/providers/{t}/{name}"),
            name: name.into(),
            resource_type: t.into(),
            location: "eastus".into(),
            resource_group: "rg".into(),
            subscription_id: "s".into(),
            tags: Default::default(),
            provisioning_state: Some("Succeeded".into()),
            state: None,
        }
    }

    fn state() -> InventoryState {
        let mut s = InventoryState::default();
        s.set_items(Arc::new(vec![
            item("web", CONTAINER_APP),
            item("pg-main", "Microsoft.DBforPostgreSQL/flexibleServers"),
            item("worker", CONTAINER_APP),
        ]));
        s
    }

    #[test]
    fn grouping_puts_a_heading_before_each_type_and_keeps_the_selection() {
        let mut s = state();
        s.select_id(&s.items[2].id.clone());
        s.toggle_grouped();
        assert_eq!(s.rows.len(), 5);
        assert!(matches!(s.rows[0], Row::Group { count: 2, .. }));
        assert_eq!(s.selected_item().map(|i| i.name.as_str()), Some("worker"));
    }

    #[test]
    fn the_filter_narrows_and_selects_the_best_match() {
        let mut s = state();
        s.set_filter("pg".into());
        assert_eq!(s.matches(), 1);
        assert_eq!(s.selected_item().map(|i| i.name.as_str()), Some("pg-main"));
        assert_eq!(s.name_positions(1), vec![0, 1]);
        s.set_filter(String::new());
        assert_eq!(s.matches(), 3);
    }

    #[test]
    fn badges_come_from_state_and_app_health() {
        let mut s = state();
        let mut failed = item("x", "Microsoft.Storage/storageAccounts");
        failed.provisioning_state = Some("Failed".into());
        assert_eq!(s.badge(&failed), Some(Badge::Failed));
        let mut stopped = item("pg", "Microsoft.DBforPostgreSQL/flexibleServers");
        stopped.state = Some("Stopped".into());
        assert_eq!(s.badge(&stopped), Some(Badge::Stopped));
        let web = s.items[0].clone();
        assert_eq!(s.badge(&web), None);
        s.set_health(&web.id.to_uppercase(), false);
        assert_eq!(s.badge(&web), Some(Badge::Unhealthy));
        let vault = item("kv-prod", KEY_VAULT);
        assert_eq!(s.badge(&vault), None);
        s.set_vault_expiry(&vault.id, 0);
        assert_eq!(s.badge(&vault), None, "nothing expiring: no badge");
        s.set_vault_expiry(&vault.id, 2);
        assert_eq!(s.badge(&vault), Some(Badge::Expiring));
        assert_eq!(s.app_ids().len(), 2);
    }

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        let mut s = InventoryState::default();
        s.set_items(Arc::new(
            (0..100)
                .map(|i| item(&format!("r{i:03}"), CONTAINER_APP))
                .collect(),
        ));
        s.move_by(50);
        s.scroll_into_view(10);
        assert_eq!(s.offset, 41);
        s.move_by(-45);
        s.scroll_into_view(10);
        assert_eq!(s.offset, 5);
        s.move_by(1000);
        s.scroll_into_view(10);
        assert_eq!((s.selected, s.offset), (99, 90));
    }
}
