//! The UI's state and what keys and messages do to it. Keys become intents (returned, for the
//! worker); messages from the worker update the state; rendering reads it. Nothing here awaits.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::catalog::{ActionInfo, RunbookInfo};
use super::fuzzy::Fuzzy;
use super::inventory::{InventoryState, CONTAINER_APP};
use super::keymap::{Command, Context, Keymap};
use super::live::{LiveRun, Purpose};
use super::modal::{
    ConfirmDialog, Form, Modal, Palette, PaletteEntry, PaletteTarget, TrafficEditor,
};
use super::msg::{EnvSummary, Headroom, Intent, Msg, RunDetail, Ticket};
use super::revisions::{RevisionsState, RollbackTarget};
use super::theme::Theme;
use crate::runbook::confirm::Confirmation;
use crate::store::{AuditReport, RunRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Inventory,
    Revisions,
    Runbooks,
    Runs,
}

impl Screen {
    pub const ALL: [Screen; 4] = [
        Screen::Inventory,
        Screen::Revisions,
        Screen::Runbooks,
        Screen::Runs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Inventory => "Inventory",
            Screen::Revisions => "Revisions",
            Screen::Runbooks => "Runbooks",
            Screen::Runs => "Runs",
        }
    }

    fn context(self) -> Context {
        match self {
            Screen::Inventory => Context::Inventory,
            Screen::Revisions => Context::Revisions,
            Screen::Runbooks => Context::Runbooks,
            Screen::Runs => Context::Runs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub level: Level,
    pub text: String,
    pub at: Instant,
}

#[derive(Debug, Default)]
pub struct RunsState {
    pub runs: Vec<RunRecord>,
    pub loading: bool,
    pub error: Option<String>,
    pub selected: usize,
    pub detail: Option<RunDetail>,
    pub audit: Option<Result<AuditReport, String>>,
}

#[derive(Debug, Default)]
pub struct RunbooksState {
    pub list: Vec<RunbookInfo>,
    pub selected: usize,
}

/// Everything the screen shows.
pub struct App {
    pub env: EnvSummary,
    pub environments: Vec<String>,
    pub headroom: Headroom,
    pub screen: Screen,
    pub inventory: InventoryState,
    pub revisions: RevisionsState,
    pub runbooks: RunbooksState,
    pub runs: RunsState,
    pub live: Vec<LiveRun>,
    pub modals: Vec<Modal>,
    pub notice: Option<Notice>,
    pub last_error: Option<String>,
    pub keymap: Keymap,
    /// The theme as configured, and as shown (with the production accent when protected).
    pub base_theme: Theme,
    pub theme: Theme,
    pub actions: Vec<ActionInfo>,
    /// Frames drawn since start: drives the spinner.
    pub tick: u64,
    pub quit: bool,
    /// Rows of the list on screen and where it starts (for mouse clicks and paging).
    pub list_area: (u16, u16),
    next_ticket: Ticket,
    palette_fuzzy: Fuzzy,
}

impl App {
    pub fn new(
        env: EnvSummary,
        environments: Vec<String>,
        keymap: Keymap,
        theme: Theme,
        runbooks: Vec<RunbookInfo>,
        actions: Vec<ActionInfo>,
    ) -> App {
        let shown = if env.protected {
            theme.with_production_accent()
        } else {
            theme.clone()
        };
        App {
            env,
            environments,
            headroom: Headroom::default(),
            screen: Screen::Inventory,
            inventory: InventoryState::loading(),
            revisions: RevisionsState::default(),
            runbooks: RunbooksState {
                list: runbooks,
                selected: 0,
            },
            runs: RunsState::default(),
            live: Vec::new(),
            modals: Vec::new(),
            notice: None,
            last_error: None,
            keymap,
            base_theme: theme,
            theme: shown,
            actions,
            tick: 0,
            quit: false,
            list_area: (0, 0),
            next_ticket: 1,
            palette_fuzzy: Fuzzy::new(),
        }
    }

    /// What to load first.
    pub fn start(&mut self) -> Vec<Intent> {
        vec![Intent::LoadInventory, Intent::LoadRuns]
    }

    pub fn runs_in_flight(&self) -> usize {
        self.live.iter().filter(|r| !r.done).count()
    }

    /// Something moves on screen (spinner), so the loop should redraw on a timer.
    pub fn animating(&self) -> bool {
        self.runs_in_flight() > 0 || self.inventory.loading || self.revisions.loading
    }

    /// A notice still on screen: redraw once it expires.
    pub fn notice_fresh(&self) -> bool {
        self.notice
            .as_ref()
            .is_some_and(|n| n.level != Level::Error && n.at.elapsed().as_secs() < 9)
    }

    pub fn context(&self) -> Context {
        self.screen.context()
    }

    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if level == Level::Error {
            self.last_error = Some(text.clone());
        }
        self.notice = Some(Notice {
            level,
            text,
            at: Instant::now(),
        });
    }

    fn ticket(&mut self) -> Ticket {
        let t = self.next_ticket;
        self.next_ticket += 1;
        t
    }

    pub fn live_run(&self, ticket: Ticket) -> Option<&LiveRun> {
        self.live.iter().find(|r| r.ticket == ticket)
    }

    fn live_run_mut(&mut self, ticket: Ticket) -> Option<&mut LiveRun> {
        self.live.iter_mut().find(|r| r.ticket == ticket)
    }

    // ---- keys ------------------------------------------------------------------------------

    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Intent> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if !self.modals.is_empty() {
            return self.modal_key(key);
        }
        if self.screen == Screen::Inventory && self.inventory.editing_filter {
            return self.filter_key(key);
        }
        match self.keymap.command(self.context(), &key) {
            Some(command) => self.command(command),
            None => Vec::new(),
        }
    }

    /// A command from a key or the palette. Mutating ones are refused in read-only environments.
    pub fn command(&mut self, command: Command) -> Vec<Intent> {
        if command.meta().mutates && self.env.read_only {
            self.notify(
                Level::Warn,
                format!(
                    "{} is disabled: environment '{}' is read-only (read_only = true in its config)",
                    command.meta().name,
                    self.env.name
                ),
            );
            return Vec::new();
        }
        let page = (self.list_area.1 as isize).max(1);
        match command {
            Command::Quit => {
                if self.runs_in_flight() > 0 {
                    self.modals.push(Modal::QuitWhileRunning);
                    Vec::new()
                } else {
                    self.quit = true;
                    vec![Intent::Quit]
                }
            }
            Command::Help => {
                self.modals.push(Modal::Help { scroll: 0 });
                Vec::new()
            }
            Command::Palette => {
                self.open_palette(None);
                Vec::new()
            }
            Command::SwitchEnv => {
                self.open_palette(Some("env"));
                Vec::new()
            }
            Command::ScreenInventory => self.go(Screen::Inventory),
            Command::ScreenRevisions => self.go(Screen::Revisions),
            Command::ScreenRunbooks => self.go(Screen::Runbooks),
            Command::ScreenRuns => self.go(Screen::Runs),
            Command::NextScreen | Command::PrevScreen => {
                let i = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                let n = Screen::ALL.len();
                let next = if command == Command::NextScreen {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.go(Screen::ALL[next])
            }
            Command::Refresh => self.refresh(),
            Command::Progress => {
                match self.live.last() {
                    Some(run) => {
                        let t = run.ticket;
                        self.modals.push(Modal::Run(t));
                    }
                    None => self.notify(Level::Info, "no run started in this session"),
                }
                Vec::new()
            }
            Command::Back => {
                if self.screen == Screen::Inventory && !self.inventory.filter.is_empty() {
                    self.inventory.set_filter(String::new());
                } else if self.screen == Screen::Inventory && self.inventory.detail {
                    self.inventory.detail = false;
                } else if self.screen == Screen::Revisions {
                    return self.go(Screen::Inventory);
                }
                Vec::new()
            }
            Command::Up => self.move_by(-1),
            Command::Down => self.move_by(1),
            Command::PageUp => self.move_by(-page),
            Command::PageDown => self.move_by(page),
            Command::Top => self.move_by(isize::MIN / 2),
            Command::Bottom => self.move_by(isize::MAX / 2),
            Command::Select => self.select(),
            Command::Filter => {
                self.inventory.editing_filter = true;
                Vec::new()
            }
            Command::GroupByType => {
                self.inventory.toggle_grouped();
                Vec::new()
            }
            Command::ToggleDetail => {
                self.inventory.detail = !self.inventory.detail;
                self.detail_intent()
            }
            Command::ToggleJson => {
                self.inventory.detail = true;
                self.inventory.json = !self.inventory.json;
                self.detail_intent()
            }
            Command::PortalLink => {
                let portal = self
                    .env
                    .portal
                    .clone()
                    .unwrap_or_else(|| "https://portal.azure.com".into());
                match self.inventory.portal_link(&portal, &self.env.tenant) {
                    // A window, not the status bar: a link is longer than a line.
                    Some(link) => self.modals.push(Modal::Message {
                        title: "Portal link".into(),
                        lines: vec![link],
                    }),
                    None => self.notify(Level::Info, "select a resource first"),
                }
                Vec::new()
            }
            Command::ShowInactive => {
                self.revisions.toggle_inactive();
                Vec::new()
            }
            Command::Rollback => self.revision_runbook("containerapp-rollback", true),
            Command::Activate => self.revision_runbook("containerapp-revision-activate", false),
            Command::Deactivate => self.revision_runbook("containerapp-revision-deactivate", false),
            Command::Restart => self.revision_runbook("containerapp-restart", false),
            Command::Traffic => {
                let Some(app_id) = self.revisions.app_id.clone() else {
                    self.notify(Level::Info, "open an app's revisions first");
                    return Vec::new();
                };
                if self.revisions.revision_mode() != "Multiple" {
                    self.notify(
                        Level::Warn,
                        "traffic weights need Multiple revision mode: in Single mode one revision takes all traffic (use r to roll back)",
                    );
                    return Vec::new();
                }
                let rows = self.revisions.traffic_rows();
                self.modals.push(Modal::Traffic(TrafficEditor {
                    app_id,
                    rows,
                    labels: self.revisions.traffic_labels(),
                    focus: 0,
                }));
                Vec::new()
            }
            Command::Run | Command::Plan => {
                let Some(rb) = self.runbooks.list.get(self.runbooks.selected).cloned() else {
                    return Vec::new();
                };
                if let Some(problem) = &rb.problem {
                    self.notify(Level::Error, format!("{}: {problem}", rb.name));
                    return Vec::new();
                }
                if command == Command::Run && rb.mutates() && self.env.read_only {
                    self.notify(Level::Warn, "read-only environment: only plans can be made");
                    return Vec::new();
                }
                let prefill = self.prefill(&rb);
                self.modals.push(Modal::Form(Form::new(
                    &rb,
                    &prefill,
                    command == Command::Plan,
                )));
                Vec::new()
            }
            Command::Resume => {
                let Some(run) = self.runs.runs.get(self.runs.selected) else {
                    return Vec::new();
                };
                if !matches!(
                    run.status,
                    crate::store::RunStatus::Failed
                        | crate::store::RunStatus::Interrupted
                        | crate::store::RunStatus::Aborted
                ) {
                    self.notify(
                        Level::Info,
                        format!(
                            "run {} is {}: nothing to resume",
                            short(&run.id),
                            run.status
                        ),
                    );
                    return Vec::new();
                }
                let run_id = run.id.clone();
                let runbook = run.runbook.clone();
                // Secret params were never stored: ask for them again first.
                let secrets: Vec<_> = self
                    .runbooks
                    .list
                    .iter()
                    .find(|r| r.name == runbook)
                    .map(|r| r.params.iter().filter(|p| p.is_secret()).cloned().collect())
                    .unwrap_or_default();
                if !secrets.is_empty() {
                    let info = RunbookInfo {
                        name: runbook.clone(),
                        title: format!("Resume run {}: its secret params again", short(&run_id)),
                        description: String::new(),
                        tags: vec![],
                        applies_to: vec![],
                        params: secrets,
                        steps: vec![],
                        source: String::new(),
                        problem: None,
                    };
                    let mut form = Form::new(&info, &[], false);
                    form.resume_run = Some(run_id);
                    self.modals.push(Modal::Form(form));
                    return Vec::new();
                }
                self.resume(run_id, runbook, Vec::new())
            }
            Command::VerifyAudit => {
                self.runs.audit = None;
                self.notify(Level::Info, "verifying the audit chain…");
                vec![Intent::VerifyAudit]
            }
        }
    }

    fn go(&mut self, screen: Screen) -> Vec<Intent> {
        self.screen = screen;
        match screen {
            Screen::Runs => {
                self.runs.loading = true;
                vec![Intent::LoadRuns]
            }
            Screen::Revisions if self.revisions.app_id.is_none() => {
                // The selected resource, if it is an app.
                match self.inventory.selected_item() {
                    Some(i) if i.resource_type.eq_ignore_ascii_case(CONTAINER_APP) => {
                        let id = i.id.clone();
                        self.revisions.show(&id);
                        vec![Intent::LoadRevisions { app_id: id }]
                    }
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    fn refresh(&mut self) -> Vec<Intent> {
        match self.screen {
            Screen::Inventory => {
                self.inventory.loading = true;
                vec![Intent::LoadInventory]
            }
            Screen::Revisions => match self.revisions.app_id.clone() {
                Some(app_id) => {
                    self.revisions.loading = true;
                    vec![Intent::LoadRevisions { app_id }]
                }
                None => Vec::new(),
            },
            Screen::Runbooks => Vec::new(),
            Screen::Runs => {
                self.runs.loading = true;
                vec![Intent::LoadRuns]
            }
        }
    }

    fn move_by(&mut self, delta: isize) -> Vec<Intent> {
        match self.screen {
            Screen::Inventory => {
                self.inventory.move_by(delta);
                if self.inventory.detail {
                    return self.detail_intent();
                }
                Vec::new()
            }
            Screen::Revisions => {
                self.revisions.move_by(delta);
                Vec::new()
            }
            Screen::Runbooks => {
                let n = self.runbooks.list.len();
                if n > 0 {
                    self.runbooks.selected =
                        (self.runbooks.selected as isize + delta).clamp(0, n as isize - 1) as usize;
                }
                Vec::new()
            }
            Screen::Runs => {
                let n = self.runs.runs.len();
                if n == 0 {
                    return Vec::new();
                }
                self.runs.selected =
                    (self.runs.selected as isize + delta).clamp(0, n as isize - 1) as usize;
                self.run_detail_intent()
            }
        }
    }

    fn run_detail_intent(&mut self) -> Vec<Intent> {
        match self.runs.runs.get(self.runs.selected) {
            Some(r) if self.runs.detail.as_ref().map(|d| &d.run.id) != Some(&r.id) => {
                vec![Intent::LoadRunDetail {
                    run_id: r.id.clone(),
                }]
            }
            _ => Vec::new(),
        }
    }

    fn detail_intent(&mut self) -> Vec<Intent> {
        if !(self.inventory.detail && self.inventory.json) {
            return Vec::new();
        }
        match self.inventory.selected_item() {
            Some(item)
                if self.inventory.detail_json.as_ref().map(|(id, _)| id) != Some(&item.id) =>
            {
                vec![Intent::LoadDetail {
                    id: item.id.clone(),
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Enter: drill into the resource's own view.
    fn select(&mut self) -> Vec<Intent> {
        match self.screen {
            Screen::Inventory => match self.inventory.selected_item() {
                Some(item) if item.resource_type.eq_ignore_ascii_case(CONTAINER_APP) => {
                    let id = item.id.clone();
                    self.screen = Screen::Revisions;
                    self.revisions.show(&id);
                    vec![Intent::LoadRevisions { app_id: id }]
                }
                Some(_) => {
                    self.inventory.detail = true;
                    self.inventory.json = true;
                    self.detail_intent()
                }
                None => {
                    // A group heading: fold nothing, just move onto its first row.
                    self.inventory.move_by(1);
                    Vec::new()
                }
            },
            Screen::Runs => self.run_detail_intent(),
            _ => Vec::new(),
        }
    }

    /// Params pre-filled from what is selected: the app on screen or the inventory's selection.
    fn prefill(&self, rb: &RunbookInfo) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let selected: Option<(&str, &str)> = match (self.screen, &self.revisions.app_id) {
            (Screen::Revisions, Some(app)) => Some((app.as_str(), CONTAINER_APP)),
            _ => self
                .inventory
                .selected_item()
                .map(|i| (i.id.as_str(), i.resource_type.as_str())),
        };
        let selected =
            selected.or_else(|| self.revisions.app_id.as_deref().map(|a| (a, CONTAINER_APP)));
        for p in &rb.params {
            if let (Some(kind), Some((id, t))) = (&p.resource_kind, selected) {
                if kind.eq_ignore_ascii_case(t) {
                    out.push((p.name.clone(), id.to_string()));
                }
            }
        }
        out
    }

    /// The revision keys: a runbook about the app on screen and (for most) the selected revision.
    fn revision_runbook(&mut self, name: &str, rollback: bool) -> Vec<Intent> {
        let Some(app_id) = self.revisions.app_id.clone() else {
            self.notify(
                Level::Info,
                "open an app's revisions first (Enter on an app)",
            );
            return Vec::new();
        };
        let Some(rb) = self.runbooks.list.iter().find(|r| r.name == name).cloned() else {
            self.notify(Level::Error, format!("runbook {name} is missing"));
            return Vec::new();
        };
        let mut prefill = vec![("app".to_string(), app_id.clone())];
        if rollback {
            match self.revisions.rollback_target() {
                RollbackTarget::Revision(r) => prefill.push(("revision".into(), r)),
                RollbackTarget::PreviousHealthy => {}
            }
        } else if let Some(r) = self.revisions.selected_revision() {
            prefill.push(("revision".into(), r.name.clone()));
        }
        let mut form = Form::new(&rb, &prefill, false);
        form.refresh_app = Some(app_id);
        // Everything is known: go straight to the plan; the form stays reachable with Esc → r.
        if form.values().is_ok() {
            return self.submit_form(form);
        }
        self.modals.push(Modal::Form(form));
        Vec::new()
    }

    fn resume(
        &mut self,
        run_id: String,
        runbook: String,
        params: Vec<(String, String)>,
    ) -> Vec<Intent> {
        let ticket = self.ticket();
        self.live
            .push(LiveRun::new(ticket, &runbook, vec![], Purpose::Resume));
        self.modals.push(Modal::Run(ticket));
        vec![Intent::Resume {
            ticket,
            run_id,
            params,
        }]
    }

    /// Starts the plan of a filled form; its preview offers to run it.
    fn submit_form(&mut self, form: Form) -> Vec<Intent> {
        if let (Some(run_id), Ok(params)) = (form.resume_run.clone(), form.values()) {
            return self.resume(run_id, form.runbook, params);
        }
        match form.values() {
            Ok(params) => {
                let ticket = self.ticket();
                let mut run = LiveRun::new(
                    ticket,
                    &form.runbook,
                    params.clone(),
                    Purpose::Preview {
                        then_run: !form.plan_only,
                    },
                );
                run.refresh_app = form.refresh_app.clone();
                self.live.push(run);
                self.modals.push(Modal::Run(ticket));
                vec![Intent::Plan {
                    ticket,
                    runbook: form.runbook,
                    params,
                }]
            }
            Err(e) => {
                let mut form = form;
                form.error = Some(e);
                self.modals.push(Modal::Form(form));
                Vec::new()
            }
        }
    }

    fn filter_key(&mut self, key: KeyEvent) -> Vec<Intent> {
        let mut filter = self.inventory.filter.clone();
        match key.code {
            KeyCode::Esc => {
                self.inventory.editing_filter = false;
                self.inventory.set_filter(String::new());
                return Vec::new();
            }
            KeyCode::Enter => {
                self.inventory.editing_filter = false;
                return Vec::new();
            }
            KeyCode::Up => return self.move_by(-1),
            KeyCode::Down => return self.move_by(1),
            KeyCode::Backspace => {
                filter.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => filter.clear(),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => filter.push(c),
            _ => return Vec::new(),
        }
        self.inventory.set_filter(filter);
        Vec::new()
    }

    // ---- modals ----------------------------------------------------------------------------

    fn modal_key(&mut self, key: KeyEvent) -> Vec<Intent> {
        let Some(top) = self.modals.pop() else {
            return Vec::new();
        };
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match top {
            Modal::Help { scroll } => match key.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    self.modals.push(Modal::Help { scroll: scroll + 1 })
                }
                KeyCode::Up | KeyCode::Char('k') => self.modals.push(Modal::Help {
                    scroll: scroll.saturating_sub(1),
                }),
                KeyCode::PageDown => self.modals.push(Modal::Help {
                    scroll: scroll + 10,
                }),
                KeyCode::PageUp => self.modals.push(Modal::Help {
                    scroll: scroll.saturating_sub(10),
                }),
                _ => {}
            },
            Modal::Message { .. } => {}
            Modal::QuitWhileRunning => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    for run in self.live.iter().filter(|r| !r.done) {
                        tracing::info!(run = ?run.run_id, "quit while running: the run stops with the process and can be resumed");
                    }
                    self.quit = true;
                    return vec![Intent::Quit];
                }
            }
            Modal::Palette(p) => return self.palette_key(p, key),
            Modal::Form(f) => return self.form_key(f, key),
            Modal::Traffic(t) => return self.traffic_key(t, key),
            Modal::Confirm(c) => return self.confirm_key(c, key),
            Modal::Run(ticket) => {
                let Some(run) = self.live_run(ticket).cloned() else {
                    return Vec::new();
                };
                match key.code {
                    // The run goes on; `p` brings its progress back.
                    KeyCode::Esc | KeyCode::Char('q') if !ctrl_c => {
                        if !run.done {
                            self.notify(
                                Level::Info,
                                "the run goes on in the background: p shows it again",
                            );
                        }
                    }
                    KeyCode::Enter | KeyCode::Char('y')
                        if run.done
                            && run.error.is_none()
                            && run.finish.as_ref().is_some_and(|f| f.exit_code == 0)
                            && run.purpose == (Purpose::Preview { then_run: true }) =>
                    {
                        if self.env.read_only && self.plan_mutates(&run) {
                            self.notify(
                                Level::Warn,
                                "read-only environment: this plan cannot be applied",
                            );
                            self.modals.push(Modal::Run(ticket));
                            return Vec::new();
                        }
                        let t = self.ticket();
                        let mut real =
                            LiveRun::new(t, &run.runbook, run.params.clone(), Purpose::Run);
                        real.refresh_app = run.refresh_app.clone();
                        self.live.push(real);
                        self.modals.push(Modal::Run(t));
                        return vec![Intent::Run {
                            ticket: t,
                            runbook: run.runbook,
                            params: run.params,
                        }];
                    }
                    KeyCode::Enter if run.done => {}
                    KeyCode::Char('s') if !run.done && !run.is_dry_run() => {
                        self.notify(
                            Level::Info,
                            "stopping after the current step (resumable from Runs)",
                        );
                        self.modals.push(Modal::Run(ticket));
                        return vec![Intent::Interrupt { ticket }];
                    }
                    _ => self.modals.push(Modal::Run(ticket)),
                }
            }
        }
        Vec::new()
    }

    fn plan_mutates(&self, run: &LiveRun) -> bool {
        run.planned_changes().next().is_some()
    }

    fn confirm_key(&mut self, mut c: ConfirmDialog, key: KeyEvent) -> Vec<Intent> {
        let id = c.id;
        let decline = vec![Intent::Answer {
            id,
            answer: Confirmation::Declined,
        }];
        if key.code == KeyCode::Esc
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
        {
            self.notify(Level::Info, "declined: nothing was changed");
            return decline;
        }
        if c.request.protected {
            match key.code {
                KeyCode::Enter => {
                    if c.typed == c.request.environment {
                        return vec![Intent::Answer {
                            id,
                            answer: Confirmation::Confirmed,
                        }];
                    }
                    c.mismatch = true;
                }
                KeyCode::Backspace => {
                    c.typed.pop();
                    c.mismatch = false;
                }
                KeyCode::Char(ch) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    if c.typed.chars().count() < 64 {
                        c.typed.push(ch);
                    }
                    c.mismatch = false;
                }
                _ => {}
            }
            self.modals.push(Modal::Confirm(c));
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => vec![Intent::Answer {
                id,
                answer: Confirmation::Confirmed,
            }],
            KeyCode::Char('n') | KeyCode::Char('N') => {
                self.notify(Level::Info, "declined: nothing was changed");
                decline
            }
            _ => {
                self.modals.push(Modal::Confirm(c));
                Vec::new()
            }
        }
    }

    fn form_key(&mut self, mut f: Form, key: KeyEvent) -> Vec<Intent> {
        let n = f.fields.len();
        match key.code {
            KeyCode::Esc => return Vec::new(),
            KeyCode::Enter => return self.submit_form(f),
            KeyCode::Tab | KeyCode::Down if n > 0 => f.focus = (f.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up if n > 0 => f.focus = (f.focus + n - 1) % n,
            KeyCode::Left => f.cycle(false),
            KeyCode::Right => f.cycle(true),
            KeyCode::Backspace => {
                if let Some(field) = f.fields.get_mut(f.focus) {
                    field.value.pop();
                }
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(field) = f.fields.get_mut(f.focus) {
                    field.value.clear();
                }
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(field) = f.fields.get_mut(f.focus) {
                    if field.value.chars().count() < 4096 {
                        field.value.push(c);
                    }
                }
            }
            _ => {}
        }
        f.error = None;
        self.modals.push(Modal::Form(f));
        Vec::new()
    }

    fn traffic_key(&mut self, mut t: TrafficEditor, key: KeyEvent) -> Vec<Intent> {
        let n = t.rows.len();
        match key.code {
            KeyCode::Esc => return Vec::new(),
            KeyCode::Up | KeyCode::Char('k') if n > 0 => t.focus = (t.focus + n - 1) % n,
            KeyCode::Down | KeyCode::Char('j') | KeyCode::Tab if n > 0 => {
                t.focus = (t.focus + 1) % n
            }
            KeyCode::Left | KeyCode::Char('h') => t.adjust(-5),
            KeyCode::Right | KeyCode::Char('l') => t.adjust(5),
            KeyCode::Char('-') => t.adjust(-1),
            KeyCode::Char('+') | KeyCode::Char('=') => t.adjust(1),
            KeyCode::Char('0') => t.adjust(-100),
            KeyCode::Char('!') => {
                // All of it to the focused revision.
                for (i, (_, w)) in t.rows.iter_mut().enumerate() {
                    *w = if i == t.focus { 100 } else { 0 };
                }
            }
            KeyCode::Enter => {
                if t.total() != 100 {
                    self.notify(
                        Level::Warn,
                        format!("the weights add up to {}%, not 100%", t.total()),
                    );
                } else if let Some(rb) = self
                    .runbooks
                    .list
                    .iter()
                    .find(|r| r.name == "containerapp-traffic")
                    .cloned()
                {
                    let mut form = Form::new(
                        &rb,
                        &[
                            ("app".into(), t.app_id.clone()),
                            ("split".into(), t.split()),
                        ],
                        false,
                    );
                    form.refresh_app = Some(t.app_id.clone());
                    return self.submit_form(form);
                }
            }
            _ => {}
        }
        self.modals.push(Modal::Traffic(t));
        Vec::new()
    }

    // ---- palette ---------------------------------------------------------------------------

    fn open_palette(&mut self, prefix: Option<&str>) {
        let mut entries: Vec<PaletteEntry> = Screen::ALL
            .iter()
            .map(|s| PaletteEntry {
                label: format!("go to {}", s.title()),
                kind: "screen",
                target: PaletteTarget::Screen(*s),
            })
            .collect();
        entries.extend(self.environments.iter().map(|e| PaletteEntry {
            label: format!("env {e}"),
            kind: "environment",
            target: PaletteTarget::Env(e.clone()),
        }));
        entries.extend(self.runbooks.list.iter().map(|r| PaletteEntry {
            label: format!("runbook {} — {}", r.name, r.title),
            kind: "runbook",
            target: PaletteTarget::Runbook(r.name.clone()),
        }));
        entries.extend(
            Command::all()
                .iter()
                .filter(|m| !(m.mutates && self.env.read_only))
                .filter(|m| !matches!(m.command, Command::Palette | Command::Up | Command::Down))
                .map(|m| PaletteEntry {
                    label: format!("{} — {}", m.name, m.description),
                    kind: "action",
                    target: PaletteTarget::Command(m.command),
                }),
        );
        entries.extend(self.inventory.items.iter().map(|i| PaletteEntry {
            label: format!(
                "{}  {}  {}",
                i.name,
                short_type(&i.resource_type),
                i.resource_group
            ),
            kind: "resource",
            target: PaletteTarget::Resource(i.id.clone()),
        }));
        let mut palette = Palette {
            query: prefix.map(|p| format!("{p} ")).unwrap_or_default(),
            entries,
            hits: Vec::new(),
            selected: 0,
        };
        self.filter_palette(&mut palette);
        self.modals.push(Modal::Palette(palette));
    }

    fn filter_palette(&mut self, p: &mut Palette) {
        let hits =
            self.palette_fuzzy
                .filter(&p.query, p.entries.iter().map(|e| e.label.as_str()), false);
        p.hits = hits.into_iter().map(|h| h.index).take(500).collect();
        p.selected = 0;
    }

    fn palette_key(&mut self, mut p: Palette, key: KeyEvent) -> Vec<Intent> {
        match key.code {
            KeyCode::Esc => return Vec::new(),
            KeyCode::Up => p.selected = p.selected.saturating_sub(1),
            KeyCode::Down if p.selected + 1 < p.hits.len() => p.selected += 1,
            KeyCode::Enter => {
                let target = p
                    .hits
                    .get(p.selected)
                    .and_then(|i| p.entries.get(*i))
                    .map(|e| e.target.clone());
                return match target {
                    Some(t) => self.palette_go(t),
                    None => Vec::new(),
                };
            }
            KeyCode::Backspace => {
                p.query.pop();
                self.filter_palette(&mut p);
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                p.query.push(c);
                self.filter_palette(&mut p);
            }
            _ => {}
        }
        self.modals.push(Modal::Palette(p));
        Vec::new()
    }

    fn palette_go(&mut self, target: PaletteTarget) -> Vec<Intent> {
        match target {
            PaletteTarget::Screen(s) => self.go(s),
            PaletteTarget::Command(c) => self.command(c),
            PaletteTarget::Env(name) => {
                if name == self.env.name {
                    return Vec::new();
                }
                self.notify(Level::Info, format!("connecting to {name}…"));
                vec![Intent::SwitchEnv { name }]
            }
            PaletteTarget::Runbook(name) => {
                if let Some(i) = self.runbooks.list.iter().position(|r| r.name == name) {
                    self.runbooks.selected = i;
                }
                self.screen = Screen::Runbooks;
                Vec::new()
            }
            PaletteTarget::Resource(id) => {
                self.screen = Screen::Inventory;
                if !self.inventory.select_id(&id) {
                    // Hidden by the filter: clear it and look again.
                    self.inventory.set_filter(String::new());
                    self.inventory.select_id(&id);
                }
                Vec::new()
            }
        }
    }

    // ---- mouse -----------------------------------------------------------------------------

    pub fn handle_mouse(&mut self, mouse: MouseEvent) -> Vec<Intent> {
        if !self.modals.is_empty() {
            return Vec::new();
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
                let (top, height) = self.list_area;
                if mouse.row < top || mouse.row >= top + height {
                    return Vec::new();
                }
                let row = (mouse.row - top) as usize;
                match self.screen {
                    Screen::Inventory => {
                        self.inventory.select_row(self.inventory.offset + row);
                        self.detail_intent()
                    }
                    Screen::Revisions => {
                        let delta = row as isize - self.revisions.selected as isize;
                        self.revisions.move_by(delta);
                        Vec::new()
                    }
                    Screen::Runbooks => {
                        if row < self.runbooks.list.len() {
                            self.runbooks.selected = row;
                        }
                        Vec::new()
                    }
                    Screen::Runs => {
                        if row < self.runs.runs.len() {
                            self.runs.selected = row;
                        }
                        self.run_detail_intent()
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    // ---- messages --------------------------------------------------------------------------

    /// Applies a result from the background; may ask for more (health after an inventory).
    pub fn handle_msg(&mut self, msg: Msg) -> Vec<Intent> {
        match msg {
            Msg::InventoryProgress { count } => self.inventory.loaded_count = count,
            Msg::Inventory(Ok(items)) => {
                self.inventory.set_items(items);
                let app_ids = self.inventory.app_ids();
                let vaults = self.inventory.vaults();
                let mut intents = Vec::new();
                // Badges: a bounded number of reads, in the background.
                if !app_ids.is_empty() && app_ids.len() <= 200 {
                    intents.push(Intent::LoadAppHealth { app_ids });
                }
                if !vaults.is_empty() && vaults.len() <= 50 {
                    intents.push(Intent::LoadVaultExpiry { vaults });
                }
                return intents;
            }
            Msg::Inventory(Err(e)) => {
                self.inventory.loading = false;
                self.inventory.error = Some(e.clone());
                self.notify(Level::Error, format!("inventory: {e}"));
            }
            Msg::AppHealth { app_id, healthy } => self.inventory.set_health(&app_id, healthy),
            Msg::VaultExpiry { vault_id, expiring } => {
                self.inventory.set_vault_expiry(&vault_id, expiring)
            }
            Msg::Revisions { app_id, result } => {
                if self.revisions.app_id.as_deref() != Some(app_id.as_str()) {
                    return Vec::new();
                }
                match result {
                    Ok(data) => self.revisions.set(*data),
                    Err(e) => {
                        self.revisions.loading = false;
                        self.revisions.error = Some(e.clone());
                        self.notify(Level::Error, format!("revisions: {e}"));
                    }
                }
            }
            Msg::Detail { id, result } => {
                if let Err(e) = &result {
                    self.notify(Level::Error, format!("{}: {e}", short_type(&id)));
                }
                self.inventory.detail_json = Some((id, result));
            }
            Msg::Runs(result) => {
                self.runs.loading = false;
                match result {
                    Ok(runs) => {
                        let keep = self.runs.runs.get(self.runs.selected).map(|r| r.id.clone());
                        self.runs.runs = runs;
                        self.runs.selected = keep
                            .and_then(|id| self.runs.runs.iter().position(|r| r.id == id))
                            .unwrap_or(0);
                        self.runs.error = None;
                        if self.screen == Screen::Runs {
                            self.runs.detail = None;
                            return self.run_detail_intent();
                        }
                    }
                    Err(e) => {
                        self.runs.error = Some(e.clone());
                        self.notify(Level::Error, format!("runs: {e}"));
                    }
                }
            }
            Msg::RunDetail(result) => match result {
                Ok(d) => self.runs.detail = Some(*d),
                Err(e) => self.notify(Level::Error, format!("run: {e}")),
            },
            Msg::Audit(result) => {
                match &result {
                    Ok(r) if r.is_intact() => self.notify(
                        Level::Info,
                        format!("audit chain intact: {} events verified", r.events),
                    ),
                    Ok(r) => self.notify(
                        Level::Error,
                        format!("audit chain BROKEN: {} problem(s)", r.problems.len()),
                    ),
                    Err(e) => self.notify(Level::Error, format!("audit: {e}")),
                }
                self.runs.audit = Some(result);
            }
            Msg::Run { ticket, event } => {
                let started = matches!(event, crate::runbook::events::RunEvent::RunStarted { .. });
                if let Some(run) = self.live_run_mut(ticket) {
                    run.apply(&event);
                }
                // A new run is in the store now: the Runs screen lists it while it runs.
                if started && self.screen == Screen::Runs {
                    return vec![Intent::LoadRuns];
                }
            }
            Msg::RunError { ticket, error } => {
                if let Some(run) = self.live_run_mut(ticket) {
                    run.error = Some(error.clone());
                }
                self.notify(Level::Error, error);
            }
            Msg::RunDone { ticket } => return self.run_done(ticket),
            Msg::Confirm { id, request } => {
                // Above everything: the engine waits for this answer.
                self.modals.push(Modal::Confirm(ConfirmDialog {
                    id,
                    request,
                    typed: String::new(),
                    mismatch: false,
                }));
            }
            Msg::EnvSwitched(Ok(env)) => {
                self.theme = if env.protected {
                    self.base_theme.with_production_accent()
                } else {
                    self.base_theme.clone()
                };
                self.notify(Level::Info, format!("environment {}", env.name));
                self.env = env;
                self.inventory = InventoryState::loading();
                self.revisions = RevisionsState::default();
                self.screen = Screen::Inventory;
                return self.start();
            }
            Msg::EnvSwitched(Err(e)) => self.notify(Level::Error, e),
            Msg::Warning(w) => self.notify(Level::Warn, w),
        }
        Vec::new()
    }

    fn run_done(&mut self, ticket: Ticket) -> Vec<Intent> {
        let Some(run) = self.live_run_mut(ticket) else {
            return Vec::new();
        };
        run.done = true;
        let run = run.clone();
        let mut intents = vec![Intent::LoadRuns];
        if !run.is_dry_run() {
            match (&run.finish, &run.error) {
                (Some(f), None) if f.exit_code == 0 => {
                    self.notify(Level::Info, format!("{}: succeeded", run.runbook))
                }
                (Some(f), _) => self.notify(
                    Level::Error,
                    format!(
                        "{}: {} (exit {}){}",
                        run.runbook,
                        f.status,
                        f.exit_code,
                        f.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                ),
                (None, Some(_)) | (None, None) => {}
            }
            if let Some(app_id) = &run.refresh_app {
                if self.revisions.app_id.as_deref() == Some(app_id.as_str()) {
                    self.revisions.loading = true;
                    intents.push(Intent::LoadRevisions {
                        app_id: app_id.clone(),
                    });
                }
            }
        }
        intents
    }
}

/// `Microsoft.App/containerApps` → `containerApps`.
pub fn short_type(t: &str) -> &str {
    t.rsplit('/').next().unwrap_or(t)
}

pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
