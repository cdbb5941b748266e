//! Drawing the state: header, tabs, the screen, the status bar and any windows on top. Every
//! string from Azure, the store or a runbook goes through `text::sanitize` first.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::app::{short, short_type, App, Level, Screen};
use super::fuzzy;
use super::inventory::{Badge, Row as InvRow};
use super::keymap::Command;
use super::live::{LiveRun, Purpose, StepStatus};
use super::modal::{ConfirmDialog, Form, Modal, Palette, TrafficEditor};
use super::text::{fit, sanitize, sanitize_lines};
use super::theme::Role;

/// Longest text taken from outside for one cell; `fit` cuts it to the column after that.
const CELL_MAX: usize = 256;
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// External text as one inert cell of at most `width` columns.
fn cell(s: &str, width: usize) -> String {
    fit(&sanitize(s, CELL_MAX), width).into_owned()
}

impl App {
    fn style(&self, role: Role) -> Style {
        self.theme.style(role)
    }

    fn spinner(&self) -> char {
        SPINNER[(self.tick as usize) % SPINNER.len()]
    }

    pub fn render(&mut self, frame: &mut Frame) {
        let area = frame.area();
        frame.render_widget(Block::default().style(self.style(Role::Text)), area);
        if area.width < 40 || area.height < 8 {
            frame.render_widget(
                Paragraph::new("azdeck: the terminal is too small (40×8 at least)")
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let [header, tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_header(frame, header);
        self.render_tabs(frame, tabs);
        match self.screen {
            Screen::Inventory => self.render_inventory(frame, body),
            Screen::Revisions => self.render_revisions(frame, body),
            Screen::Runbooks => self.render_runbooks(frame, body),
            Screen::Runs => self.render_runs(frame, body),
        }
        self.render_status(frame, status);
        for i in 0..self.modals.len() {
            let modal = self.modals[i].clone();
            self.render_modal(frame, body, &modal);
        }
    }

    fn render_header(&self, frame: &mut Frame, area: Rect) {
        let env = &self.env;
        let style = if env.protected {
            self.style(Role::HeaderProtected)
        } else if env.read_only {
            self.style(Role::HeaderReadOnly)
        } else {
            self.style(Role::Header)
        };
        let mut parts = vec![format!(" azdeck │ {}", cell(&env.name, 24))];
        if env.protected {
            parts.push("PROTECTED".into());
        }
        if env.read_only {
            parts.push("READ-ONLY".into());
        }
        // What is happening comes before the static context, so a narrow terminal keeps it.
        let running = self.runs_in_flight();
        if running > 0 {
            parts.push(format!("{} {running} in flight", self.spinner()));
        }
        parts.push(format!("cloud {}", cell(&env.cloud, 20)));
        parts.push(cell(&env.identity, 40));
        parts.push(format!(
            "{} subscription{}",
            env.subscriptions,
            if env.subscriptions == 1 { "" } else { "s" }
        ));
        let h = self.headroom;
        let budget = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "–".into());
        parts.push(format!(
            "ARM left: {} reads · {} writes{}",
            budget(h.reads),
            budget(h.writes),
            if h.throttled { " (THROTTLED)" } else { "" }
        ));
        if let Some(e) = &self.last_error {
            parts.push(format!("last error: {}", cell(e, 60)));
        }
        let text = parts.join(" │ ");
        frame.render_widget(
            Paragraph::new(fit(&text, area.width as usize).into_owned()).style(style),
            area,
        );
    }

    fn render_tabs(&self, frame: &mut Frame, area: Rect) {
        let mut spans = Vec::new();
        for (i, s) in Screen::ALL.iter().enumerate() {
            let label = format!(" {} {} ", i + 1, s.title());
            let style = if *s == self.screen {
                self.style(Role::TabActive)
            } else {
                self.style(Role::Tab)
            };
            spans.push(Span::styled(label, style));
            spans.push(Span::raw(" "));
        }
        if self.screen == Screen::Revisions {
            if let Some(d) = &self.revisions.data {
                spans.push(Span::styled(
                    format!("  {}", cell(&d.app.name, 40)),
                    self.style(Role::Title),
                ));
            }
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn render_status(&self, frame: &mut Frame, area: Rect) {
        let line = match &self.notice {
            Some(n) if n.at.elapsed().as_secs() < 8 || n.level == Level::Error => {
                let role = match n.level {
                    Level::Info => Role::Info,
                    Level::Warn => Role::Warn,
                    Level::Error => Role::Error,
                };
                Line::from(Span::styled(
                    cell(&n.text, area.width as usize),
                    self.style(role),
                ))
            }
            _ => self.key_hints(area.width as usize),
        };
        frame.render_widget(
            Paragraph::new(line).style(self.style(Role::StatusBar)),
            area,
        );
    }

    /// The keys that matter on this screen, from the key map; mutating ones are hidden in a
    /// read-only environment (help says why).
    fn key_hints(&self, width: usize) -> Line<'static> {
        let commands: &[Command] = match self.screen {
            Screen::Inventory if self.inventory.editing_filter => &[],
            Screen::Inventory => &[
                Command::Filter,
                Command::Select,
                Command::GroupByType,
                Command::ToggleDetail,
                Command::ToggleJson,
                Command::PortalLink,
            ],
            Screen::Revisions => &[
                Command::Rollback,
                Command::Traffic,
                Command::Activate,
                Command::Deactivate,
                Command::Restart,
                Command::ShowInactive,
            ],
            Screen::Runbooks => &[Command::Run, Command::Plan],
            Screen::Runs => &[Command::Resume, Command::VerifyAudit],
        };
        let mut spans = Vec::new();
        // First, so a narrow terminal never cuts it off.
        if self.env.read_only {
            spans.push(Span::styled(
                " read-only: changes disabled ",
                self.style(Role::Warn),
            ));
        }
        if self.screen == Screen::Inventory && self.inventory.editing_filter {
            spans.push(Span::styled(
                " type to filter · Enter keep · Esc clear ",
                self.style(Role::KeyHint),
            ));
        }
        let globals = [Command::Palette, Command::Help, Command::Quit];
        for c in commands.iter().chain(globals.iter()) {
            let meta = c.meta();
            if meta.mutates && self.env.read_only {
                continue;
            }
            let keys = self.keymap.keys(*c);
            let Some(key) = keys.first() else { continue };
            spans.push(Span::styled(format!(" {key} "), self.style(Role::KeyHint)));
            spans.push(Span::raw(format!(
                "{} ",
                short_description(meta.description)
            )));
        }
        // A key and its description fit together or not at all.
        let mut used = 0;
        let mut out = Vec::new();
        let mut pending: Vec<Span<'static>> = Vec::new();
        for s in spans {
            let is_key = s.style == self.style(Role::KeyHint) && s.content.starts_with(' ');
            if is_key && !pending.is_empty() {
                let w: usize = pending.iter().map(|p| super::text::width(&p.content)).sum();
                if used + w > width {
                    return Line::from(out);
                }
                used += w;
                out.append(&mut pending);
            }
            pending.push(s);
        }
        let w: usize = pending.iter().map(|p| super::text::width(&p.content)).sum();
        if used + w <= width {
            out.append(&mut pending);
        }
        Line::from(out)
    }

    fn block(&self, title: String, focused: bool) -> Block<'static> {
        Block::default()
            .borders(Borders::ALL)
            .border_style(self.style(if focused {
                Role::BorderFocus
            } else {
                Role::Border
            }))
            .title(Span::styled(title, self.style(Role::Title)))
    }

    // ---- inventory -------------------------------------------------------------------------

    fn render_inventory(&mut self, frame: &mut Frame, area: Rect) {
        let (list_area, detail_area) = if self.inventory.detail && area.width >= 80 {
            let [l, d] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(area);
            (l, Some(d))
        } else {
            (area, None)
        };
        let inv = &self.inventory;
        let mut title = format!(" Inventory · {} resources", inv.items.len());
        if !inv.filter.is_empty() || inv.editing_filter {
            title.push_str(&format!(
                " · /{}{} · {} match",
                cell(&inv.filter, 40),
                if inv.editing_filter { "▏" } else { "" },
                inv.matches()
            ));
        }
        if inv.grouped {
            title.push_str(" · by type");
        }
        if inv.loading {
            title.push_str(&format!(
                " · {} loading {}…",
                self.spinner(),
                inv.loaded_count
            ));
        }
        title.push(' ');
        let block = self.block(title, true);
        let inner = block.inner(list_area);
        frame.render_widget(block, list_area);
        if let Some(e) = &self.inventory.error {
            if self.inventory.items.is_empty() {
                frame.render_widget(
                    Paragraph::new(sanitize_lines(e, 300, 10).join("\n"))
                        .style(self.style(Role::Error))
                        .wrap(Wrap { trim: false }),
                    inner,
                );
                return;
            }
        }
        let height = inner.height.saturating_sub(1) as usize;
        self.list_area = (inner.y + 1, height as u16);
        self.inventory.scroll_into_view(height);
        // Badge, location and state are narrow and fixed; the rest is shared out.
        let w = inner.width as usize;
        let loc_w = 12;
        let state_w = 12;
        let rest = w.saturating_sub(10 + loc_w + state_w + 5);
        let name_w = (rest * 40 / 100).max(8);
        let type_w = (rest * 30 / 100).max(6);
        let group_w = (rest * 30 / 100).max(6);
        let start = self.inventory.offset;
        let end = (start + height).min(self.inventory.rows.len());
        let mut rows = Vec::with_capacity(end - start);
        for r in start..end {
            let row = self.inventory.rows[r];
            let selected = r == self.inventory.selected;
            match row {
                InvRow::Group { first, count } => {
                    let t = self
                        .inventory
                        .items
                        .get(first)
                        .map(|i| i.resource_type.clone())
                        .unwrap_or_default();
                    let style = if selected {
                        self.style(Role::Selection)
                    } else {
                        self.style(Role::GroupHeader)
                    };
                    // A cell does not span columns: the namespace under NAME, the type and the
                    // count under TYPE (where the rows show their type).
                    let (namespace, short) = t.rsplit_once('/').unwrap_or(("", t.as_str()));
                    let count = format!(" ({count})");
                    rows.push(
                        Row::new(vec![
                            Cell::from(""),
                            Cell::from(format!("▾ {}", cell(namespace, name_w.saturating_sub(2)))),
                            Cell::from(format!(
                                "{}{count}",
                                cell(short, type_w.saturating_sub(count.len()))
                            )),
                        ])
                        .style(style),
                    );
                }
                InvRow::Item(i) => {
                    let positions = self.inventory.name_positions(i);
                    let Some(item) = self.inventory.items.get(i) else {
                        continue;
                    };
                    let badge = self.inventory.badge(item);
                    let badge_cell = match badge {
                        Some(b) => Cell::from(Span::styled(
                            b.label(),
                            self.style(match b {
                                Badge::Failed => Role::BadgeFailed,
                                Badge::Unhealthy => Role::BadgeUnhealthy,
                                Badge::Stopped => Role::BadgeStopped,
                                Badge::Expiring => Role::BadgeExpiring,
                            }),
                        )),
                        None => Cell::from(""),
                    };
                    let base = if selected {
                        self.style(Role::Selection)
                    } else {
                        self.style(Role::Text)
                    };
                    let name = cell(&item.name, name_w);
                    let name_line = fuzzy::highlight(
                        &name,
                        &positions,
                        base,
                        base.patch(self.style(Role::MatchHighlight)),
                    );
                    let state = item
                        .state
                        .as_deref()
                        .or(item.provisioning_state.as_deref())
                        .unwrap_or("");
                    rows.push(
                        Row::new(vec![
                            badge_cell,
                            Cell::from(Line::from(
                                name_line
                                    .spans
                                    .into_iter()
                                    .map(|s| Span::styled(s.content.into_owned(), s.style))
                                    .collect::<Vec<_>>(),
                            )),
                            Cell::from(cell(short_type(&item.resource_type), type_w)),
                            Cell::from(cell(&item.resource_group, group_w)),
                            Cell::from(cell(&item.location, loc_w)),
                            Cell::from(cell(state, state_w)),
                        ])
                        .style(base),
                    );
                }
            }
        }
        let header = Row::new(vec!["", "NAME", "TYPE", "GROUP", "LOCATION", "STATE"])
            .style(self.style(Role::Muted).add_modifier(Modifier::BOLD));
        let table = Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(name_w as u16),
                Constraint::Length(type_w as u16),
                Constraint::Length(group_w as u16),
                Constraint::Length(loc_w as u16),
                Constraint::Length(state_w as u16),
            ],
        )
        .header(header);
        frame.render_widget(table, inner);
        if self.inventory.items.is_empty() && !self.inventory.loading {
            frame.render_widget(
                Paragraph::new("no resources in this environment").style(self.style(Role::Muted)),
                Rect {
                    y: inner.y + 1,
                    height: 1,
                    ..inner
                },
            );
        }
        if let Some(d) = detail_area {
            self.render_detail(frame, d);
        }
    }

    fn render_detail(&self, frame: &mut Frame, area: Rect) {
        let block = self.block(
            if self.inventory.json {
                " JSON ".into()
            } else {
                " Properties ".into()
            },
            false,
        );
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(item) = self.inventory.selected_item() else {
            return;
        };
        let w = inner.width as usize;
        let mut lines: Vec<Line> = Vec::new();
        if self.inventory.json {
            match &self.inventory.detail_json {
                Some((id, Ok(v))) if *id == item.id => {
                    let text = serde_json::to_string_pretty(v).unwrap_or_default();
                    for l in sanitize_lines(&text, 500, inner.height as usize) {
                        lines.push(Line::from(fit(&l, w).into_owned()));
                    }
                }
                Some((id, Err(e))) if *id == item.id => {
                    lines.push(Line::styled(cell(e, w), self.style(Role::Error)))
                }
                _ => lines.push(Line::styled(
                    format!("{} loading…", self.spinner()),
                    self.style(Role::Muted),
                )),
            }
        } else {
            let kv = |k: &str, v: &str| {
                Line::from(vec![
                    Span::styled(format!("{k:<14}"), self.style(Role::Muted)),
                    Span::raw(cell(v, w.saturating_sub(14))),
                ])
            };
            lines.push(kv("name", &item.name));
            lines.push(kv("type", &item.resource_type));
            lines.push(kv("group", &item.resource_group));
            lines.push(kv("location", &item.location));
            lines.push(kv("subscription", &item.subscription_id));
            if let Some(p) = &item.provisioning_state {
                lines.push(kv("provisioning", p));
            }
            if let Some(s) = &item.state {
                lines.push(kv("state", s));
            }
            if let Some(b) = self.inventory.badge(item) {
                lines.push(Line::styled(
                    format!("needs a look: {}", b.label()),
                    self.style(Role::Warn),
                ));
            }
            if let Some(n) = self
                .inventory
                .vault_expiry
                .get(&item.id.to_ascii_lowercase())
                .filter(|n| **n > 0)
            {
                lines.push(Line::styled(
                    format!(
                        "{n} secret(s) expired or expiring within {} days (azdeck secrets {})",
                        super::msg::EXPIRY_WARNING_DAYS,
                        cell(&item.name, 40)
                    ),
                    self.style(Role::Warn),
                ));
            }
            for (k, v) in item.tags.iter().take(20) {
                lines.push(kv(&format!("tag {}", cell(k, 9)), v));
            }
            lines.push(Line::raw(""));
            for chunk in wrap(&sanitize(&item.id, 1000), w) {
                lines.push(Line::styled(chunk, self.style(Role::Muted)));
            }
            let portal = self
                .env
                .portal
                .clone()
                .unwrap_or_else(|| "https://portal.azure.com".into());
            if let Some(link) = self.inventory.portal_link(&portal, &self.env.tenant) {
                lines.push(Line::styled(
                    sanitize(&link, 1000).into_owned(),
                    self.style(Role::Link),
                ));
            }
            if item
                .resource_type
                .eq_ignore_ascii_case(super::inventory::CONTAINER_APP)
            {
                lines.push(Line::styled(
                    "Enter: revisions (roll back with r)",
                    self.style(Role::KeyHint),
                ));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    // ---- revisions -------------------------------------------------------------------------

    fn render_revisions(&mut self, frame: &mut Frame, area: Rect) {
        let rv = &self.revisions;
        let title = match &rv.data {
            Some(d) => format!(
                " {} · {} revision mode · latest {} ",
                cell(&d.app.name, 40),
                rv.revision_mode(),
                cell(
                    d.app
                        .properties
                        .latest_revision_name
                        .as_deref()
                        .unwrap_or("–"),
                    40
                )
            ),
            None if rv.app_id.is_some() => format!(" Revisions · {} loading… ", self.spinner()),
            None => " Revisions ".into(),
        };
        let block = self.block(title, true);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if rv.app_id.is_none() {
            frame.render_widget(
                Paragraph::new("Select a Container App in the Inventory (1) and press Enter.")
                    .style(self.style(Role::Muted)),
                inner,
            );
            return;
        }
        if let (Some(e), None) = (&rv.error, &rv.data) {
            frame.render_widget(
                Paragraph::new(sanitize_lines(e, 300, 10).join("\n"))
                    .style(self.style(Role::Error))
                    .wrap(Wrap { trim: false }),
                inner,
            );
            return;
        }
        let height = inner.height.saturating_sub(1);
        self.list_area = (inner.y + 1, height);
        let rv = &self.revisions;
        let visible = rv.visible();
        let start = rv
            .selected
            .saturating_sub(height.saturating_sub(1) as usize);
        // The name column as wide as the longest name (within reason); the image gets the rest.
        let name_w = visible
            .iter()
            .map(|r| super::text::width(&sanitize(&r.name, 64)))
            .max()
            .unwrap_or(8)
            .clamp(8, 40)
            + 2;
        let rows: Vec<Row> = visible
            .iter()
            .enumerate()
            .skip(start)
            .take(height as usize)
            .map(|(i, r)| {
                let p = &r.properties;
                let active = r.is_active();
                let serving = rv.is_serving(r);
                let health = p.health_state.as_deref().unwrap_or("");
                let health_style = match health {
                    "Healthy" => self.style(Role::Ok),
                    "Unhealthy" => self.style(Role::Error),
                    _ => self.style(Role::Muted),
                };
                let base = if i == rv.selected {
                    self.style(Role::Selection)
                } else if !active {
                    self.style(Role::Disabled)
                } else {
                    self.style(Role::Text)
                };
                let traffic = if rv.revision_mode() == "Single" {
                    if serving {
                        "100%".to_string()
                    } else {
                        "–".to_string()
                    }
                } else {
                    format!("{}%", p.traffic_weight.unwrap_or(0))
                };
                Row::new(vec![
                    Cell::from(format!(
                        "{}{}",
                        if serving { "▶ " } else { "  " },
                        cell(&r.name, name_w - 2)
                    )),
                    // `2025-06-02T09:14:00Z` → `2025-06-02 09:14`: minutes are enough here.
                    Cell::from(cell(
                        &p.created_time
                            .as_deref()
                            .unwrap_or("")
                            .replacen('T', " ", 1)
                            .chars()
                            .take(16)
                            .collect::<String>(),
                        16,
                    )),
                    Cell::from(if active { "yes" } else { "no" }),
                    Cell::from(traffic),
                    Cell::from(p.replicas.unwrap_or(0).to_string()),
                    Cell::from(Span::styled(
                        cell(health, 10),
                        if i == rv.selected { base } else { health_style },
                    )),
                    Cell::from(cell(p.labels.as_deref().unwrap_or(""), 10)),
                    Cell::from(cell(r.image().unwrap_or(""), 80)),
                ])
                .style(base)
            })
            .collect();
        let header = Row::new(vec![
            "REVISION", "CREATED", "ACTIVE", "TRAFFIC", "REPLICAS", "HEALTH", "LABELS", "IMAGE",
        ])
        .style(self.style(Role::Muted).add_modifier(Modifier::BOLD));
        let table = Table::new(
            rows,
            [
                Constraint::Length(name_w as u16),
                Constraint::Length(16),
                Constraint::Length(6),
                Constraint::Length(7),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
        .header(header);
        frame.render_widget(table, inner);
    }

    // ---- runbooks --------------------------------------------------------------------------

    fn render_runbooks(&mut self, frame: &mut Frame, area: Rect) {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(area);
        let block = self.block(format!(" Runbooks · {} ", self.runbooks.list.len()), true);
        let inner = block.inner(list);
        frame.render_widget(block, list);
        self.list_area = (inner.y, inner.height);
        let w = inner.width as usize;
        let lines: Vec<Line> = self
            .runbooks
            .list
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let style = if i == self.runbooks.selected {
                    self.style(Role::Selection)
                } else if r.problem.is_some() {
                    self.style(Role::Error)
                } else {
                    self.style(Role::Text)
                };
                let mark = if r.mutates() { "●" } else { "○" };
                Line::styled(
                    fit(
                        &format!("{mark} {}  {}", cell(&r.name, 40), r.tags.join(",")),
                        w,
                    )
                    .into_owned(),
                    style,
                )
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        let Some(rb) = self.runbooks.list.get(self.runbooks.selected) else {
            return;
        };
        let block = self.block(format!(" {} ", cell(&rb.title, 60)), false);
        let inner = block.inner(detail);
        frame.render_widget(block, detail);
        let w = inner.width as usize;
        let mut lines: Vec<Line> = Vec::new();
        if let Some(p) = &rb.problem {
            lines.push(Line::styled(cell(p, w * 4), self.style(Role::Error)));
        }
        for l in sanitize_lines(&rb.description, 400, 14) {
            lines.push(Line::raw(l));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "tags: {}   source: {}",
                rb.tags.join(", "),
                cell(&rb.source, 60)
            ),
            self.style(Role::Muted),
        ));
        lines.push(Line::styled("Parameters", self.style(Role::Title)));
        for p in &rb.params {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {}{} ", p.name, if p.required { "*" } else { "" }),
                    self.style(Role::Text).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("{:?} ", p.kind).to_lowercase(),
                    self.style(Role::Muted),
                ),
                Span::raw(cell(&p.description, 200)),
            ]));
        }
        lines.push(Line::styled("Steps", self.style(Role::Title)));
        for (i, s) in rb.steps.iter().enumerate() {
            lines.push(Line::from(vec![
                Span::raw(format!("  {}. ", i + 1)),
                Span::styled(
                    cell(&s.title, 60),
                    if s.mutates {
                        self.style(Role::Danger)
                    } else {
                        self.style(Role::Text)
                    },
                ),
                Span::styled(format!("  {}", s.action), self.style(Role::Muted)),
            ]));
            if !s.explain.is_empty() {
                lines.push(Line::styled(
                    format!("     {}", cell(&s.explain, 400)),
                    self.style(Role::Muted),
                ));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    // ---- runs ------------------------------------------------------------------------------

    fn render_runs(&mut self, frame: &mut Frame, area: Rect) {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(area);
        let mut title = format!(" Runs · {} ", self.runs.runs.len());
        if self.runs.loading {
            title.push_str(&format!("{} ", self.spinner()));
        }
        if let Some(Ok(r)) = &self.runs.audit {
            title.push_str(&if r.is_intact() {
                format!("· audit ✓ {} events ", r.events)
            } else {
                format!("· audit ✗ {} problems ", r.problems.len())
            });
        }
        let block = self.block(title, true);
        let inner = block.inner(list);
        frame.render_widget(block, list);
        self.list_area = (inner.y, inner.height);
        let w = inner.width as usize;
        let start = self
            .runs
            .selected
            .saturating_sub(inner.height.saturating_sub(1) as usize);
        let lines: Vec<Line> = self
            .runs
            .runs
            .iter()
            .enumerate()
            .skip(start)
            .take(inner.height as usize)
            .map(|(i, r)| {
                let status_role = match r.status {
                    crate::store::RunStatus::Succeeded => Role::Ok,
                    crate::store::RunStatus::Running => Role::Info,
                    crate::store::RunStatus::Failed | crate::store::RunStatus::RolledBack => {
                        Role::Error
                    }
                    _ => Role::Warn,
                };
                let base = if i == self.runs.selected {
                    self.style(Role::Selection)
                } else {
                    self.style(Role::Text)
                };
                Line::from(vec![
                    Span::styled(format!("{} ", r.started_at.format("%m-%d %H:%M:%S")), base),
                    Span::styled(
                        format!("{:<11} ", r.status.as_str()),
                        if i == self.runs.selected {
                            base
                        } else {
                            self.style(status_role)
                        },
                    ),
                    Span::styled(
                        fit(
                            &format!(
                                "{}{} {} · {}",
                                if r.dry_run { "plan " } else { "" },
                                cell(&r.runbook, 40),
                                cell(&r.environment, 16),
                                cell(&r.started_by, 24)
                            ),
                            w.saturating_sub(27),
                        )
                        .into_owned(),
                        base,
                    ),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        let block = self.block(" Run ".into(), false);
        let inner = block.inner(detail);
        frame.render_widget(block, detail);
        let Some(d) = &self.runs.detail else {
            if self.runs.runs.is_empty() && !self.runs.loading {
                frame.render_widget(
                    Paragraph::new("No runs yet. Runbooks (3) or r on a revision start one.")
                        .style(self.style(Role::Muted)),
                    inner,
                );
            }
            return;
        };
        let w = inner.width as usize;
        let r = &d.run;
        let mut lines = vec![
            Line::from(vec![
                Span::styled(cell(&r.runbook, 40), self.style(Role::Title)),
                Span::raw(format!(
                    "  {}  exit {}  run {}",
                    r.status,
                    r.exit_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "–".into()),
                    short(&r.id)
                )),
            ]),
            Line::styled(
                fit(
                    &format!(
                        "{} by {} · params {}",
                        cell(&r.environment, 20),
                        cell(&r.started_by, 30),
                        sanitize(&r.params.to_string(), 300)
                    ),
                    w,
                )
                .into_owned(),
                self.style(Role::Muted),
            ),
            Line::styled("Steps", self.style(Role::Title)),
        ];
        for s in &d.steps {
            let state = format!("{:?}", s.state).to_lowercase();
            lines.push(Line::from(vec![
                Span::raw(format!("  {:<12} ", cell(&s.step_id, 12))),
                Span::styled(format!("{state:<12}"), self.style(Role::Muted)),
                Span::styled(
                    s.error
                        .as_deref()
                        .map(|e| cell(e, w.saturating_sub(26)))
                        .unwrap_or_default(),
                    self.style(Role::Error),
                ),
            ]));
        }
        lines.push(Line::styled(
            "Events and REST calls",
            self.style(Role::Title),
        ));
        let room = (inner.height as usize).saturating_sub(lines.len());
        let events: Vec<&crate::store::AuditEvent> = d.events.iter().collect();
        let skip = events.len().saturating_sub(room);
        for e in events.into_iter().skip(skip) {
            let summary = event_summary(&e.kind, &e.payload);
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{} ", e.at.format("%H:%M:%S")),
                    self.style(Role::Muted),
                ),
                Span::raw(
                    fit(
                        &format!(
                            "{:<9} {}",
                            cell(e.step_id.as_deref().unwrap_or("run"), 9),
                            summary
                        ),
                        w.saturating_sub(9),
                    )
                    .into_owned(),
                ),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    // ---- modals ----------------------------------------------------------------------------

    fn modal_area(&self, body: Rect, width_pct: u16, height: u16) -> Rect {
        let w = (body.width * width_pct / 100).max(40).min(body.width);
        let h = height.min(body.height);
        Rect {
            x: body.x + (body.width - w) / 2,
            y: body.y + (body.height - h) / 2,
            width: w,
            height: h,
        }
    }

    fn modal_block(&self, title: String) -> Block<'static> {
        Block::default()
            .borders(Borders::ALL)
            .border_style(self.style(Role::ModalBorder))
            .style(self.style(Role::Modal))
            .title(Span::styled(title, self.style(Role::Title)))
    }

    fn render_modal(&mut self, frame: &mut Frame, body: Rect, modal: &Modal) {
        match modal {
            Modal::Help { scroll } => self.render_help(frame, body, *scroll),
            Modal::Palette(p) => self.render_palette(frame, body, p),
            Modal::Form(f) => self.render_form(frame, body, f),
            Modal::Run(ticket) => {
                if let Some(run) = self.live_run(*ticket).cloned() {
                    self.render_run(frame, body, &run);
                }
            }
            Modal::Confirm(c) => self.render_confirm(frame, body, c),
            Modal::Traffic(t) => self.render_traffic(frame, body, t),
            Modal::QuitWhileRunning => {
                let area = self.modal_area(body, 50, 7);
                frame.render_widget(Clear, area);
                let n = self.runs_in_flight();
                frame.render_widget(
                    Paragraph::new(format!(
                        "{n} run(s) still in flight. Quitting stops them where they are;\nthey can be resumed from Runs (state is saved).\n\ny quit anyway · any other key stays"
                    ))
                    // The first line is wider than the window at 120 columns.
                    .wrap(Wrap { trim: false })
                    .block(self.modal_block(" Quit? ".into())),
                    area,
                );
            }
            Modal::Message { title, lines } => {
                let width = (body.width * 60 / 100).max(40).min(body.width);
                let mut shown: Vec<Line> = Vec::new();
                for l in lines {
                    for piece in wrap(&sanitize(l, 2000), width.saturating_sub(2) as usize) {
                        shown.push(Line::raw(piece));
                    }
                }
                shown.push(Line::styled("Esc: close", self.style(Role::KeyHint)));
                let area = self.modal_area(body, 60, shown.len() as u16 + 2);
                frame.render_widget(Clear, area);
                frame.render_widget(
                    Paragraph::new(shown).block(self.modal_block(format!(" {title} "))),
                    area,
                );
            }
        }
    }

    fn render_help(&self, frame: &mut Frame, body: Rect, scroll: usize) {
        let area = self.modal_area(body, 80, body.height);
        frame.render_widget(Clear, area);
        let mut lines: Vec<Line> = Vec::new();
        for section in self.keymap.help() {
            lines.push(Line::styled(
                section.title.to_string(),
                self.style(Role::Title),
            ));
            for l in section.lines {
                let disabled = l.mutates && self.env.read_only;
                let style = if disabled {
                    self.style(Role::Disabled)
                } else if l.mutates {
                    self.style(Role::Danger)
                } else {
                    self.style(Role::Text)
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<16}", l.keys), self.style(Role::KeyHint)),
                    Span::styled(l.description.to_string(), style),
                    Span::styled(
                        if disabled {
                            "  (disabled: read-only environment)"
                        } else if l.mutates {
                            "  (changes Azure: plan → confirm → run)"
                        } else {
                            ""
                        },
                        self.style(Role::Muted),
                    ),
                ]));
            }
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            "Runbook actions (what runbook steps can do)",
            self.style(Role::Title),
        ));
        for a in &self.actions {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<40}", a.name),
                    if a.mutates {
                        self.style(Role::Danger)
                    } else {
                        self.style(Role::Text)
                    },
                ),
                Span::styled(a.summary.clone(), self.style(Role::Muted)),
            ]));
        }
        let scroll = scroll.min(lines.len().saturating_sub(1));
        frame.render_widget(
            Paragraph::new(lines)
                // Wrapped: a long description must not cut off "(disabled: read-only …)".
                .wrap(Wrap { trim: false })
                .scroll((scroll as u16, 0))
                .block(self.modal_block(" Help · ↑↓ scroll · Esc close ".into())),
            area,
        );
    }

    fn render_palette(&self, frame: &mut Frame, body: Rect, p: &Palette) {
        let area = self.modal_area(body, 70, 20);
        frame.render_widget(Clear, area);
        let block = self.modal_block(" : command palette ".into());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let w = inner.width as usize;
        let mut lines = vec![Line::styled(
            format!(": {}▏", cell(&p.query, w.saturating_sub(4))),
            self.style(Role::Input),
        )];
        for (row, index) in p.hits.iter().take(inner.height as usize - 1).enumerate() {
            let Some(e) = p.entries.get(*index) else {
                continue;
            };
            let style = if row == p.selected {
                self.style(Role::Selection)
            } else {
                self.style(Role::Text)
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{:<12}", e.kind), self.style(Role::Muted)),
                Span::styled(cell(&e.label, w.saturating_sub(12)), style),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn render_form(&self, frame: &mut Frame, body: Rect, f: &Form) {
        let height = (f.fields.len() as u16) * 2 + 6;
        let area = self.modal_area(body, 70, height);
        frame.render_widget(Clear, area);
        let block = self.modal_block(format!(
            " {} {} ",
            if f.plan_only { "Plan" } else { "Run" },
            cell(&f.runbook, 50)
        ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let w = inner.width as usize;
        let mut lines = vec![Line::styled(cell(&f.title, w), self.style(Role::Muted))];
        for (i, field) in f.fields.iter().enumerate() {
            let focused = i == f.focus;
            let shown = if field.param.is_secret() {
                "•".repeat(field.value.chars().count().min(32))
            } else {
                cell(&field.value, w.saturating_sub(22))
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "{}{:<18}",
                        if focused { "▸ " } else { "  " },
                        format!(
                            "{}{}",
                            field.param.name,
                            if field.param.required { "*" } else { "" }
                        )
                    ),
                    self.style(Role::Text).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!("{shown}{}", if focused { "▏" } else { "" }),
                    if focused {
                        self.style(Role::Input)
                    } else {
                        self.style(Role::Text)
                    },
                ),
            ]));
            let mut hint = cell(&field.param.description, w.saturating_sub(4));
            if !field.param.values.is_empty() {
                hint = format!("←/→: {}", field.param.values.join(" | "));
            }
            lines.push(Line::styled(format!("    {hint}"), self.style(Role::Muted)));
        }
        if let Some(e) = &f.error {
            lines.push(Line::styled(cell(e, w), self.style(Role::Error)));
        }
        lines.push(Line::styled(
            "Tab next field · Enter show the plan · Esc cancel",
            self.style(Role::KeyHint),
        ));
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn render_run(&self, frame: &mut Frame, body: Rect, run: &LiveRun) {
        let width = (body.width * 85 / 100).max(40).min(body.width);
        let elapsed = run.started.elapsed().as_secs();
        let what = match run.purpose {
            Purpose::Preview { .. } => "Plan of",
            Purpose::Run => "Running",
            Purpose::Resume => "Resuming",
        };
        let title = format!(
            " {what} {} in {}{} · {}s ",
            cell(&run.runbook, 40),
            cell(&self.env.name, 20),
            if self.env.protected {
                " (PROTECTED)"
            } else {
                ""
            },
            elapsed
        );
        let w = width.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::new();
        if !run.params.is_empty() {
            let params = run
                .params
                .iter()
                .map(|(k, v)| format!("{k}={}", short_type(v)))
                .collect::<Vec<_>>()
                .join("  ");
            lines.push(Line::styled(cell(&params, w), self.style(Role::Muted)));
        }
        for s in &run.steps {
            let (mark, role) = match s.status {
                StepStatus::Running => (self.spinner().to_string(), Role::Info),
                StepStatus::Succeeded => ("✓".into(), Role::Ok),
                StepStatus::Failed => ("✗".into(), Role::Error),
                StepStatus::Skipped => ("–".into(), Role::Muted),
                StepStatus::Reused => ("=".into(), Role::Muted),
                StepStatus::Planned => ("~".into(), Role::Warn),
                StepStatus::WaitingConfirmation => ("?".into(), Role::Warn),
                StepStatus::RollingBack => ("↶".into(), Role::Warn),
                StepStatus::RolledBack => ("↶".into(), Role::Warn),
                StepStatus::RollbackFailed => ("✗".into(), Role::Error),
            };
            let timing = match (s.elapsed_ms, s.started, s.status) {
                (Some(ms), _, _) => format!(" {ms} ms"),
                (None, Some(t), StepStatus::Running) => format!(" {}s", t.elapsed().as_secs()),
                _ => String::new(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!(" {mark} "), self.style(role)),
                Span::styled(
                    cell(&s.id, 20),
                    self.style(Role::Text).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("  {}{timing}", s.action), self.style(Role::Muted)),
            ]));
            // The exact calls and changes: wrapped, never cut.
            for p in &s.plan {
                for chunk in wrap(&sanitize(p, 2000), w.saturating_sub(6)) {
                    lines.push(Line::styled(
                        format!("      {chunk}"),
                        self.style(Role::Danger),
                    ));
                }
            }
            if let Some(m) = &s.message {
                lines.push(Line::styled(
                    format!("      {}", cell(m, w.saturating_sub(6))),
                    self.style(Role::Muted),
                ));
            }
            if let Some(e) = &s.error {
                lines.push(Line::styled(
                    format!("      {}", cell(e, w.saturating_sub(6))),
                    self.style(Role::Error),
                ));
            }
        }
        lines.push(Line::raw(""));
        if let Some(e) = &run.error {
            lines.push(Line::styled(
                format!("✗ {}", cell(e, w)),
                self.style(Role::Error),
            ));
        }
        match (&run.finish, run.done, run.purpose) {
            (_, false, _) => lines.push(Line::styled(
                format!(
                    "{} {} REST calls so far · Esc: keep it running in the background{}",
                    self.spinner(),
                    run.calls,
                    if run.is_dry_run() {
                        ""
                    } else {
                        " · s: stop after this step"
                    }
                ),
                self.style(Role::KeyHint),
            )),
            (Some(f), true, Purpose::Preview { then_run })
                if run.error.is_none() && f.exit_code == 0 =>
            {
                let changes = run.planned_changes().count();
                lines.push(Line::styled(
                    format!("Plan: {changes} step(s) change Azure; nothing was changed yet."),
                    self.style(Role::Title),
                ));
                if then_run {
                    lines.push(Line::styled(
                        if self.env.protected {
                            "Enter: run it (you will type the environment's name to confirm) · Esc: cancel"
                        } else {
                            "Enter: run it (you confirm before the change) · Esc: cancel"
                        },
                        self.style(Role::KeyHint),
                    ));
                } else {
                    lines.push(Line::styled("Esc: close", self.style(Role::KeyHint)));
                }
            }
            (Some(f), true, _) => {
                let ok = f.exit_code == 0;
                lines.push(Line::styled(
                    format!(
                        "{} {} (exit {}) · run {}",
                        if ok { "✓" } else { "✗" },
                        f.status,
                        f.exit_code,
                        run.run_id.as_deref().map(short).unwrap_or("")
                    ),
                    self.style(if ok { Role::Ok } else { Role::Error }),
                ));
                if let Some(e) = &f.error {
                    lines.push(Line::styled(cell(e, w * 2), self.style(Role::Error)));
                }
                lines.push(Line::styled(
                    "Esc: close · Runs (4) has every step, event and REST call",
                    self.style(Role::KeyHint),
                ));
            }
            (None, true, _) => lines.push(Line::styled("Esc: close", self.style(Role::KeyHint))),
        }
        let area = self.modal_area(body, 85, lines.len() as u16 + 2);
        frame.render_widget(Clear, area);
        let block = self.modal_block(title);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        // The end matters most (result, keys): a long run scrolls its first steps away.
        let overflow = lines.len().saturating_sub(inner.height as usize);
        frame.render_widget(Paragraph::new(lines).scroll((overflow as u16, 0)), inner);
    }

    fn render_confirm(&self, frame: &mut Frame, body: Rect, c: &ConfirmDialog) {
        let r = &c.request;
        // The changes being confirmed: wrapped to the window, never cut (the height counts them,
        // so the input line stays on screen).
        let detail_w = self.modal_area(body, 75, 1).width.saturating_sub(4) as usize;
        let details: Vec<String> = r
            .details
            .iter()
            .take(12)
            .flat_map(|d| wrap(&sanitize(d, 2000), detail_w))
            .take(16)
            .collect();
        let height = details.len() as u16 + if r.protected { 8 } else { 6 };
        let area = self.modal_area(body, 75, height);
        frame.render_widget(Clear, area);
        let title = if r.protected {
            format!(
                " CONFIRM IN PROTECTED ENVIRONMENT {} ",
                cell(&r.environment, 24)
            )
        } else {
            format!(" Confirm · {} ", cell(&r.environment, 24))
        };
        let block = self
            .modal_block(title)
            .border_style(self.style(Role::Danger));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let w = inner.width as usize;
        let mut lines = vec![Line::styled(
            cell(&r.message, w * 2),
            self.style(Role::Danger),
        )];
        for d in details {
            lines.push(Line::raw(format!("  {d}")));
        }
        lines.push(Line::raw(""));
        if r.protected {
            lines.push(Line::raw(format!(
                "Type the environment's name ({}) and press Enter to confirm; Esc declines.",
                cell(&r.environment, 24)
            )));
            lines.push(Line::styled(
                format!("> {}▏", cell(&c.typed, 64)),
                self.style(Role::Input),
            ));
            if c.mismatch {
                lines.push(Line::styled(
                    "that is not the environment's name",
                    self.style(Role::Error),
                ));
            }
        } else {
            lines.push(Line::styled(
                "y: confirm · n / Esc: decline (nothing changes)",
                self.style(Role::KeyHint),
            ));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }

    fn render_traffic(&self, frame: &mut Frame, body: Rect, t: &TrafficEditor) {
        let area = self.modal_area(body, 60, t.rows.len() as u16 + 6);
        frame.render_widget(Clear, area);
        let block = self.modal_block(" Traffic split ".into());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = Vec::new();
        for (i, (name, weight)) in t.rows.iter().enumerate() {
            let bar = "█".repeat((*weight as usize) / 5);
            lines.push(Line::styled(
                format!(
                    "{} {:<36} {:>3}% {bar}",
                    if i == t.focus { "▸" } else { " " },
                    cell(name, 36),
                    weight
                ),
                if i == t.focus {
                    self.style(Role::Selection)
                } else {
                    self.style(Role::Text)
                },
            ));
        }
        let total = t.total();
        lines.push(Line::styled(
            format!("total {total}%"),
            self.style(if total == 100 { Role::Ok } else { Role::Error }),
        ));
        lines.push(Line::styled(
            "←/→ ±5 · +/- ±1 · ! all to this one · Enter plan · Esc cancel",
            self.style(Role::KeyHint),
        ));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// Sanitized text in pieces of at most `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > width {
            out.push(std::mem::take(&mut line));
            used = 0;
        }
        line.push(ch);
        used += w;
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// "Roll back: to the selected …" → "Roll back" for the status bar.
fn short_description(d: &str) -> &str {
    d.split([':', '(']).next().unwrap_or(d).trim()
}

/// One line for an audit event: what happened, calls with their status and request id.
fn event_summary(kind: &str, payload: &serde_json::Value) -> String {
    let s = |k: &str| payload.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let text = match kind {
        "call" => {
            let call = payload.get("call").unwrap_or(payload);
            let c = |k: &str| call.get(k).and_then(|v| v.as_str()).unwrap_or("");
            // The status before the URL: a line cut to the pane still shows it.
            format!(
                "{} {} {} {}",
                c("method"),
                call.get("status").and_then(|v| v.as_u64()).unwrap_or(0),
                c("url"),
                c("request_id")
            )
        }
        "step_failed" | "rollback_failed" => format!("{kind}: {}", s("error")),
        "step_progress" => s("message").to_string(),
        "run_finished" => format!(
            "finished {} (exit {})",
            s("status"),
            payload
                .get("exit_code")
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
        ),
        other => other.replace('_', " "),
    };
    sanitize(&text, 400).into_owned()
}

/// `Text` for tests that want the whole screen as a string.
pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
