//! Every TUI screen rendered with ratatui's `TestBackend` from fixture state: explicit asserts on
//! what matters (badges, header colours, intents emitted by keys, read-only gating), snapshots
//! of whole screens as a complement, and hostile strings from Azure in every external field.
//!
//! Snapshots live in tests/snapshots/; after an intended change of a screen, review and accept
//! them with `INSTA_UPDATE=always cargo test --test tui_screens` (CI fails on any mismatch).

use std::sync::{Arc, OnceLock};

use azdeck::azure::containerapps::{ContainerApp, Revision};
use azdeck::azure::http::CallRecord;
use azdeck::azure::resources::InventoryItem;
use azdeck::runbook::action::{Change, Plan, PlannedCall, Registry};
use azdeck::runbook::confirm::{ConfirmRequest, Confirmation};
use azdeck::runbook::events::RunEvent;
use azdeck::runbook::loader::{Catalog, LoadOptions};
use azdeck::store::{
    AuditEvent, AuditProblem, AuditProblemKind, AuditReport, RunRecord, RunStatus, StepRecord,
    StepState,
};
use azdeck::tui::app::{App, Screen};
use azdeck::tui::catalog::{self, ActionInfo, RunbookInfo};
use azdeck::tui::keymap::Keymap;
use azdeck::tui::modal::Modal;
use azdeck::tui::msg::{AppRevisions, EnvSummary, Intent, Msg, RunDetail};
use azdeck::tui::render::buffer_text;
use azdeck::tui::text::hostile_fixtures;
use azdeck::tui::theme::{ColorSupport, Role, Theme};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use insta::assert_snapshot;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;
use serde_json::{json, Value};

// ---- fixtures ----------------------------------------------------------------------------------

const SUB: &str = "8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d";
const RG: &str = "rg-platform-prod";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP_TYPE: &str = "Microsoft.App/containerApps";
const W: u16 = 120;
const H: u16 = 36;

fn rid(resource_type: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/{resource_type}/{name}")
}

fn app_id() -> String {
    rid(APP_TYPE, "dagster-webserver")
}

fn rev_name(v: &str) -> String {
    format!("dagster-webserver--{v}")
}

fn env(name: &str, protected: bool, read_only: bool) -> EnvSummary {
    EnvSummary {
        name: name.into(),
        protected,
        read_only,
        cloud: "public".into(),
        identity: "service-principal 5a0c9e1e…".into(),
        subscriptions: 1,
        portal: Some("https://portal.azure.com".into()),
        tenant: TENANT.into(),
    }
}

/// The built-in runbooks and actions, read once.
fn catalog_info() -> &'static (Vec<RunbookInfo>, Vec<ActionInfo>) {
    static INFO: OnceLock<(Vec<RunbookInfo>, Vec<ActionInfo>)> = OnceLock::new();
    INFO.get_or_init(|| {
        let catalog = Catalog::load(&LoadOptions {
            builtin: true,
            ..Default::default()
        })
        .expect("the built-in runbooks load");
        let registry = Registry::builtin();
        (
            catalog::runbooks(&catalog, &registry),
            catalog::actions(&registry),
        )
    })
}

fn theme() -> Theme {
    Theme::load("dark", None, ColorSupport::TrueColor)
        .expect("the dark theme loads")
        .0
}

/// An item as ARM's listing gives it (camelCase JSON).
fn item(name: &str, resource_type: &str, extra: Value) -> InventoryItem {
    let mut v = json!({
        "id": rid(resource_type, name),
        "name": name,
        "type": resource_type,
        "location": "eastus",
        "resourceGroup": RG,
        "subscriptionId": SUB,
        "tags": { "env": "prod" },
        "provisioningState": "Succeeded",
    });
    for (k, x) in extra.as_object().into_iter().flatten() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).expect("an inventory item")
}

fn items() -> Vec<InventoryItem> {
    vec![
        item(
            "dagster-webserver",
            APP_TYPE,
            json!({ "tags": { "env": "prod", "app": "dagster" } }),
        ),
        item("chat-api", APP_TYPE, json!({})),
        item(
            "pg-platform-prod",
            "Microsoft.DBforPostgreSQL/flexibleServers",
            json!({ "state": "Stopped" }),
        ),
        item(
            "stplatformbackup",
            "Microsoft.Storage/storageAccounts",
            json!({ "provisioningState": "Failed" }),
        ),
        item("kv-platform-prod", "Microsoft.KeyVault/vaults", json!({})),
        item(
            "cae-platform-prod",
            "Microsoft.App/managedEnvironments",
            json!({}),
        ),
        item(
            "log-platform-prod",
            "Microsoft.OperationalInsights/workspaces",
            json!({}),
        ),
    ]
}

/// An app for `env`, with no inventory yet.
fn bare_app(env: EnvSummary) -> App {
    let (runbooks, actions) = catalog_info().clone();
    App::new(
        env,
        vec!["prod".into(), "staging".into(), "audit".into()],
        Keymap::default_keys(),
        theme(),
        runbooks,
        actions,
    )
}

/// An app with `items` loaded and the health of its container apps known (the web server is not
/// healthy, chat-api is).
fn app_with_items(env: EnvSummary, items: Vec<InventoryItem>) -> App {
    let mut app = bare_app(env);
    let intents = app.handle_msg(Msg::Inventory(Ok(Arc::new(items))));
    for intent in intents {
        if let Intent::LoadAppHealth { app_ids } = intent {
            for id in app_ids {
                let healthy = !id.ends_with("/dagster-webserver");
                app.handle_msg(Msg::AppHealth {
                    app_id: id,
                    healthy,
                });
            }
        }
    }
    app
}

/// `prod`: protected.
fn prod() -> App {
    app_with_items(env("prod", true, false), items())
}

/// `staging`: not protected.
fn staging() -> App {
    app_with_items(env("staging", false, false), items())
}

/// `audit`: read-only.
fn read_only() -> App {
    app_with_items(env("audit", false, true), items())
}

fn container_app() -> ContainerApp {
    serde_json::from_value(json!({
        "id": app_id(),
        "name": "dagster-webserver",
        "type": APP_TYPE,
        "location": "eastus",
        "properties": {
            "provisioningState": "Succeeded",
            "runningStatus": "Running",
            "latestRevisionName": rev_name("v43"),
            "latestReadyRevisionName": rev_name("v43"),
            "configuration": {
                "activeRevisionsMode": "Multiple",
                "ingress": {
                    "fqdn": "dagster-webserver.happyhill-1a2b3c4d.eastus.azurecontainerapps.io",
                    "external": true,
                    "targetPort": 3000,
                    "traffic": [{ "latestRevision": true, "weight": 100 }]
                }
            },
            "template": {
                "containers": [{
                    "name": "webserver",
                    "image": "acrplatformprod.azurecr.io/dagster-webserver:1.43-broken"
                }]
            }
        }
    }))
    .expect("a container app")
}

/// A revision as the simulator (and ARM) renders it.
#[allow(clippy::too_many_arguments)]
fn revision(
    name: &str,
    created: &str,
    active: bool,
    replicas: i64,
    weight: i64,
    health: &str,
    running: &str,
    image: &str,
) -> Revision {
    serde_json::from_value(json!({
        "id": format!("{}/revisions/{name}", app_id()),
        "name": name,
        "type": "Microsoft.App/containerApps/revisions",
        "properties": {
            "createdTime": created,
            "fqdn": format!("{name}.happyhill-1a2b3c4d.eastus.azurecontainerapps.io"),
            "template": { "containers": [{ "name": "webserver", "image": image }] },
            "active": active,
            "replicas": replicas,
            "trafficWeight": weight,
            "healthState": health,
            "provisioningState": "Provisioned",
            "runningState": running,
        }
    }))
    .expect("a revision")
}

/// Multiple mode: v43 unhealthy with all the traffic, v42 healthy, active, 0%; v41 inactive.
/// Given oldest first: the screen sorts newest first.
fn app_revisions() -> AppRevisions {
    AppRevisions {
        app: container_app(),
        revisions: vec![
            revision(
                &rev_name("v41"),
                "2025-05-20T11:05:00Z",
                false,
                0,
                0,
                "Healthy",
                "Stopped",
                "acrplatformprod.azurecr.io/dagster-webserver:1.41",
            ),
            revision(
                &rev_name("v42"),
                "2025-05-28T16:40:00Z",
                true,
                1,
                0,
                "Healthy",
                "Running",
                "acrplatformprod.azurecr.io/dagster-webserver:1.42",
            ),
            revision(
                &rev_name("v43"),
                "2025-06-02T09:14:00Z",
                true,
                2,
                100,
                "Unhealthy",
                "Degraded",
                "acrplatformprod.azurecr.io/dagster-webserver:1.43-broken",
            ),
        ],
    }
}

/// `app` on the Revisions screen of the web server, its revisions loaded.
fn open_revisions(app: &mut App, data: AppRevisions) {
    app.handle_key(key('1'));
    assert!(app.inventory.select_id(&app_id()));
    let intents = app.handle_key(code(KeyCode::Enter));
    assert_eq!(intents, vec![Intent::LoadRevisions { app_id: app_id() }]);
    assert_eq!(app.screen, Screen::Revisions);
    let intents = app.handle_msg(Msg::Revisions {
        app_id: app_id(),
        result: Ok(Box::new(data)),
    });
    assert!(intents.is_empty());
}

fn ts(s: &str) -> DateTime<Utc> {
    s.parse().expect("a timestamp")
}

fn run_record(
    id: &str,
    runbook: &str,
    status: RunStatus,
    exit_code: Option<i32>,
    dry_run: bool,
    started: &str,
) -> RunRecord {
    RunRecord {
        id: id.into(),
        runbook: runbook.into(),
        runbook_source: "builtin".into(),
        runbook_text: String::new(),
        runbook_hash: "sha256:0f1e2d".into(),
        environment: "prod".into(),
        params: json!({ "app": app_id() }),
        started_by: "azdeck-operator".into(),
        dry_run,
        status,
        exit_code,
        current_step: None,
        started_at: ts(started),
        updated_at: ts(started),
        finished_at: Some(ts(started)),
    }
}

const FAILED_RUN: &str = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

fn runs() -> Vec<RunRecord> {
    vec![
        run_record(
            FAILED_RUN,
            "containerapp-rollback",
            RunStatus::Failed,
            Some(1),
            false,
            "2025-06-02T09:20:11Z",
        ),
        run_record(
            "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
            "containerapp-traffic",
            RunStatus::Succeeded,
            Some(0),
            false,
            "2025-06-01T14:02:45Z",
        ),
        run_record(
            "c0ffee00-1111-4222-8333-444455556666",
            "containerapp-restart",
            RunStatus::Succeeded,
            Some(0),
            true,
            "2025-05-31T08:00:00Z",
        ),
    ]
}

fn step_record(idx: i64, id: &str, state: StepState, error: Option<&str>) -> StepRecord {
    StepRecord {
        run_id: FAILED_RUN.into(),
        step_id: id.into(),
        idx,
        state,
        attempt: 1,
        inputs_hash: None,
        inputs: None,
        outputs: None,
        error: error.map(str::to_string),
        started_at: Some(ts("2025-06-02T09:20:11Z")),
        finished_at: Some(ts("2025-06-02T09:20:12Z")),
        rolled_back: false,
    }
}

/// An audit event as the journal writes it: the serialized `RunEvent` as payload.
fn audit_event(seq: i64, at: &str, event: RunEvent) -> AuditEvent {
    AuditEvent {
        seq,
        at: ts(at),
        run_id: Some(FAILED_RUN.into()),
        step_id: event.step().map(str::to_string),
        kind: event.kind().into(),
        payload: serde_json::to_value(&event).expect("an event"),
        prev_hash: format!("{:064}", seq - 1),
        hash: format!("{seq:064}"),
    }
}

fn call(method: &str, url: &str, status: u16, request_id: &str) -> CallRecord {
    CallRecord {
        method: method.into(),
        url: url.into(),
        status,
        attempts: 1,
        client_request_id: "5e1b3f0a-0000-4000-8000-000000000001".into(),
        request_id: Some(request_id.into()),
        correlation_id: None,
        elapsed_ms: 87,
    }
}

fn run_detail() -> RunDetail {
    let url = format!(
        "{}?api-version=2025-07-01",
        app_id().trim_start_matches('/')
    );
    RunDetail {
        run: runs().remove(0),
        steps: vec![
            step_record(0, "current", StepState::Succeeded, None),
            step_record(1, "target", StepState::Succeeded, None),
            step_record(
                2,
                "shift",
                StepState::Failed,
                Some("412 Precondition Failed: the app changed since it was read"),
            ),
        ],
        events: vec![
            audit_event(
                41,
                "2025-06-02T09:20:11Z",
                RunEvent::RunStarted {
                    run_id: FAILED_RUN.into(),
                    runbook: "containerapp-rollback".into(),
                    environment: "prod".into(),
                    params: json!({ "app": app_id() }),
                    dry_run: false,
                    resumed: false,
                },
            ),
            audit_event(
                42,
                "2025-06-02T09:20:11Z",
                RunEvent::Call {
                    step: "current".into(),
                    call: call("GET", &url, 200, "a1b2c3d4-0001"),
                },
            ),
            audit_event(
                43,
                "2025-06-02T09:20:12Z",
                RunEvent::Call {
                    step: "shift".into(),
                    call: call("PATCH", &url, 412, "a1b2c3d4-0002"),
                },
            ),
            audit_event(
                44,
                "2025-06-02T09:20:12Z",
                RunEvent::StepFailed {
                    step: "shift".into(),
                    error: "412 Precondition Failed".into(),
                    will_retry: false,
                },
            ),
            audit_event(
                45,
                "2025-06-02T09:20:12Z",
                RunEvent::RunFinished {
                    run_id: FAILED_RUN.into(),
                    status: "failed".into(),
                    exit_code: 1,
                    failed_step: Some("shift".into()),
                    error: Some("412 Precondition Failed".into()),
                },
            ),
        ],
    }
}

/// The plan the rollback shows: one PATCH of the traffic, before → after.
fn rollback_plan() -> Plan {
    Plan {
        calls: vec![PlannedCall {
            method: "PATCH".into(),
            url: format!(
                "{}?api-version=2025-07-01",
                app_id().trim_start_matches('/')
            ),
            body: None,
        }],
        changes: vec![Change {
            resource: app_id(),
            field: "configuration.ingress.traffic".into(),
            before: json!("latest 100%"),
            after: json!(format!("{} 100%", rev_name("v42"))),
        }],
        ..Plan::default()
    }
}

fn confirm_request(protected: bool, environment: &str) -> ConfirmRequest {
    ConfirmRequest {
        run_id: FAILED_RUN.into(),
        step_id: "shift".into(),
        message: "Send all traffic of dagster-webserver to dagster-webserver--v42".into(),
        environment: environment.into(),
        protected,
        details: vec![format!(
            "dagster-webserver configuration.ingress.traffic: latest 100% → {} 100%",
            rev_name("v42")
        )],
    }
}

// ---- keys and drawing ---------------------------------------------------------------------------

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Types `text` one key at a time; the intents of all of them.
fn type_text(app: &mut App, text: &str) -> Vec<Intent> {
    text.chars().flat_map(|c| app.handle_key(key(c))).collect()
}

fn draw_sized(app: &mut App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|f| app.render(f)).expect("a frame");
    terminal.backend().buffer().clone()
}

fn draw(app: &mut App) -> Buffer {
    draw_sized(app, W, H)
}

fn screen(app: &mut App) -> String {
    buffer_text(&draw(app))
}

/// The rows of a rendered screen.
fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The row whose text contains `needle`.
fn row_of(buf: &Buffer, needle: &str) -> Option<u16> {
    (0..buf.area.height).find(|&y| row_text(buf, y).contains(needle))
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

/// The column (cell index) where `needle` starts on row `y`: cells, not chars, so wide
/// characters before it count once each.
fn col_of(buf: &Buffer, y: u16, needle: &str) -> Option<u16> {
    (0..buf.area.width).find(|&x| text_from(buf, x, y, needle.chars().count() as u16) == needle)
}

/// `n` cells of row `y` from column `x`, as text.
fn text_from(buf: &Buffer, x: u16, y: u16, n: u16) -> String {
    (x..(x + n).min(buf.area.width))
        .map(|x| buf[(x, y)].symbol())
        .collect()
}

/// The elapsed seconds of a run (its title and a running step) vary with the machine: `0s` →
/// `Ns` for snapshots.
fn redact_elapsed(text: &str) -> String {
    let re = regex::Regex::new(r"(\s)\d+s(\s|$)").expect("a regex");
    text.lines()
        .map(|l| re.replace_all(l, "${1}Ns${2}").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A cell symbol no terminal may receive from external text.
fn is_forbidden(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || u == 0x7f
        || (0x80..=0x9f).contains(&u)
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

fn assert_inert(buf: &Buffer, label: &str) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let symbol = buf[(x, y)].symbol();
            assert!(
                !symbol.chars().any(is_forbidden),
                "{label}: cell ({x}, {y}) holds {symbol:?}\n{}",
                buffer_text(buf)
            );
        }
    }
}

/// Where the box-drawing characters of borders are, row by row.
fn border_columns(buf: &Buffer) -> Vec<Vec<u16>> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .filter(|&x| matches!(buf[(x, y)].symbol(), "│" | "┌" | "┐" | "└" | "┘"))
                .collect()
        })
        .collect()
}

// ---- 1. inventory ------------------------------------------------------------------------------

#[test]
fn inventory_rows_show_badges_and_state() {
    let mut app = prod();
    let text = screen(&mut app);
    let badge_of = |name: &str| -> String {
        let line = lines(&text)
            .into_iter()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} is on screen:\n{text}"))
            .to_string();
        line
    };
    assert!(badge_of("dagster-webserver").contains("UNHEALTHY"));
    assert!(!badge_of("chat-api").contains("UNHEALTHY"));
    assert!(badge_of("stplatformbackup").contains("FAILED"));
    let pg = badge_of("pg-platform-prod");
    assert!(pg.contains("STOPPED") && pg.contains("Stopped"), "{pg}");
    assert!(!badge_of("kv-platform-prod").contains("FAILED"));
    assert!(text.contains("Inventory · 7 resources"), "{text}");
    for column in ["NAME", "TYPE", "GROUP", "LOCATION", "STATE"] {
        assert!(lines(&text)[3].contains(column), "{}", lines(&text)[3]);
    }
    assert!(text.contains("flexibleServers"));
    assert_snapshot!("inventory_prod", text);
}

#[test]
fn protected_header_is_marked_and_uses_the_protected_colours() {
    let mut app = prod();
    let buf = draw(&mut app);
    let header = row_text(&buf, 0);
    assert!(header.starts_with(" azdeck │ prod │ PROTECTED"), "{header}");
    let bg = app.theme.style(Role::HeaderProtected).bg;
    assert!(bg.is_some());
    for x in 0..W {
        assert_eq!(buf[(x, 0)].bg, bg.unwrap(), "header cell {x}");
    }
}

#[test]
fn unprotected_and_read_only_headers() {
    let mut app = staging();
    let buf = draw(&mut app);
    let header = row_text(&buf, 0);
    assert!(header.starts_with(" azdeck │ staging │ cloud"), "{header}");
    assert!(!header.contains("PROTECTED") && !header.contains("READ-ONLY"));
    let bg = app.theme.style(Role::Header).bg.expect("a header colour");
    assert_ne!(Some(bg), app.theme.style(Role::HeaderProtected).bg);
    for x in 0..W {
        assert_eq!(buf[(x, 0)].bg, bg, "header cell {x}");
    }

    let mut app = read_only();
    let buf = draw(&mut app);
    let header = row_text(&buf, 0);
    assert!(header.contains("READ-ONLY"), "{header}");
    assert!(!header.contains("PROTECTED"));
    assert_eq!(
        Some(buf[(0, 0)].bg),
        app.theme.style(Role::HeaderReadOnly).bg
    );
}

#[test]
fn filter_narrows_and_highlights_matches() {
    let mut app = prod();
    assert!(app.handle_key(key('/')).is_empty());
    assert!(type_text(&mut app, "pg").is_empty());
    let buf = draw(&mut app);
    let title = row_text(&buf, 2);
    assert!(title.contains("/pg▏"), "{title}");
    // Each field on its own: PostgreSQL, OperationalInsights, App/managedEnvironments; not
    // the `p` of a type and the `g` of the group (`containerApps  rg-platform-prod`).
    assert!(title.contains("3 match"), "{title}");
    let text = buffer_text(&buf);
    assert!(!text.contains("dagster-webserver"), "{text}");
    assert!(text.contains("cae-platform-prod") && text.contains("log-platform-prod"));
    // The best match first, and selected.
    assert_eq!(
        app.inventory.selected_item().map(|i| i.name.as_str()),
        Some("pg-platform-prod")
    );
    assert_eq!(row_of(&buf, "pg-platform-prod"), Some(4));
    assert_snapshot!("inventory_filter_pg", text);
    let y = row_of(&buf, "pg-platform-prod").expect("the match is shown");
    let x = col_of(&buf, y, "pg-platform-prod").unwrap();
    let highlight = app.theme.style(Role::MatchHighlight);
    let (p, g, dash) = (&buf[(x, y)], &buf[(x + 1, y)], &buf[(x + 2, y)]);
    assert_eq!(Some(p.fg), highlight.fg, "p is highlighted");
    assert_eq!(Some(g.fg), highlight.fg, "g is highlighted");
    assert!(p.modifier.contains(highlight.add_modifier));
    assert_ne!(Some(dash.fg), highlight.fg, "- is not");
    // The status bar says how to leave the filter.
    assert!(row_text(&buf, H - 1).contains("Esc clear"));
    type_text(&mut app, "-");
    let buf = draw(&mut app);
    let title = row_text(&buf, 2);
    assert!(title.contains("/pg-▏ · 1 match"), "{title}");
    // Enter keeps the filter, Esc (back) clears it.
    app.handle_key(code(KeyCode::Enter));
    assert!(!app.inventory.editing_filter);
    assert_eq!(app.inventory.matches(), 1);
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.inventory.matches(), 7);
    assert_snapshot!("inventory_filter_cleared", screen(&mut app));
}

#[test]
fn group_by_type_shows_headings() {
    let mut app = prod();
    app.handle_key(key('t'));
    let text = screen(&mut app);
    assert!(text.contains("by type"), "{text}");
    // A heading: the namespace under NAME, the type and its count under TYPE.
    let buf = draw(&mut app);
    let header_y = row_of(&buf, "LOCATION").unwrap();
    let type_x = col_of(&buf, header_y, "TYPE").unwrap();
    let y = row_of(&buf, "▾ Microsoft.App ").unwrap();
    assert_eq!(text_from(&buf, type_x, y, 17), "containerApps (2)");
    let y = row_of(&buf, "▾ Microsoft.DBforPostgreSQL").unwrap();
    assert_eq!(text_from(&buf, type_x, y, 19), "flexibleServers (1)");
    assert_eq!(
        Some(buf[(type_x, y)].fg),
        app.theme.style(Role::GroupHeader).fg
    );
    // Headings come before their items.
    let heading = text.find("▾ Microsoft.App ").unwrap();
    let web = text.find("dagster-webserver").unwrap();
    assert!(heading < web);
    assert_snapshot!("inventory_grouped", text);
}

#[test]
fn detail_pane_shows_properties_and_portal_link() {
    let mut app = prod();
    assert!(app.handle_key(key('d')).is_empty());
    let text = screen(&mut app);
    assert!(text.contains(" Properties "), "{text}");
    for expected in [
        "name          dagster-webserver",
        "type          Microsoft.App/containerApps",
        "group         rg-platform-prod",
        "needs a look: UNHEALTHY",
        "tag app       dagster",
        "https://portal.azure.com/#@72f988bf",
        "Enter: revisions",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert_snapshot!("inventory_detail", text);
    // J asks for the JSON.
    assert_eq!(
        app.handle_key(key('J')),
        vec![Intent::LoadDetail { id: app_id() }]
    );
    app.handle_msg(Msg::Detail {
        id: app_id(),
        result: Ok(json!({ "id": app_id(), "properties": { "provisioningState": "Succeeded" } })),
    });
    let text = screen(&mut app);
    assert!(text.contains(" JSON "));
    assert!(
        text.contains("\"provisioningState\": \"Succeeded\""),
        "{text}"
    );
}

#[test]
fn portal_link_opens_in_a_window_whole() {
    let mut app = prod();
    app.handle_key(key('o'));
    let link = format!("https://portal.azure.com/#@{TENANT}/resource{}", app_id());
    assert!(
        matches!(app.modals.last(), Some(Modal::Message { lines, .. }) if lines == &vec![link.clone()])
    );
    // Wrapped over as many rows as it needs: joined back, every character is there.
    let text = screen(&mut app);
    let joined: String = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
        .collect();
    assert!(joined.contains(&link), "{text}");
    assert!(app.handle_key(code(KeyCode::Esc)).is_empty());
    assert!(app.modals.is_empty());
}

// ---- 2. 20,000 items ---------------------------------------------------------------------------

#[test]
fn twenty_thousand_items_render_and_scroll() {
    const TYPES: [&str; 4] = [
        "Microsoft.Storage/storageAccounts",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Web/sites",
        "Microsoft.Network/publicIPAddresses",
    ];
    let many: Vec<InventoryItem> = (0..20_000)
        .map(|i| item(&format!("res-{i:05}"), TYPES[i % TYPES.len()], json!({})))
        .collect();
    let mut app = bare_app(env("prod", true, false));
    let intents = app.handle_msg(Msg::Inventory(Ok(Arc::new(many))));
    assert!(intents.is_empty(), "no apps, no health reads");
    let text = screen(&mut app);
    assert!(text.contains("Inventory · 20000 resources"), "{text}");
    assert!(text.contains("res-00000"));
    assert!(!text.contains("res-19999"));
    // Only the rows on screen: the list's height (36 rows less header, tabs, status, the
    // block's borders and the table's header).
    assert_eq!(text.matches("res-").count(), usize::from(H) - 6);
    assert_eq!(app.list_area.1, H - 6);

    assert!(app.handle_key(key('G')).is_empty());
    let text = screen(&mut app);
    assert!(text.contains("res-19999"), "{text}");
    assert!(!text.contains("res-00000"));
    assert_eq!(
        app.inventory.selected_item().map(|i| i.name.as_str()),
        Some("res-19999")
    );

    app.handle_key(code(KeyCode::Home));
    assert!(screen(&mut app).contains("res-00000"));
    app.handle_key(code(KeyCode::End));
    assert!(screen(&mut app).contains("res-19999"));

    app.handle_key(key('/'));
    type_text(&mut app, "'res-1999");
    let matches = app.inventory.matches();
    assert_eq!(matches, 10, "res-19990 … res-19999");
    let text = screen(&mut app);
    assert!(text.contains("10 match"), "{text}");
    assert!(text.contains("res-19995"));
    assert!(!text.contains("res-00000"));
}

// ---- 3. revisions ------------------------------------------------------------------------------

#[test]
fn revisions_screen_shows_the_split_and_the_serving_revision() {
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    let buf = draw(&mut app);
    let text = buffer_text(&buf);
    assert!(
        text.contains("dagster-webserver · Multiple revision mode · latest dagster-webserver--v43"),
        "{text}"
    );
    let header = row_of(&buf, "REVISION").expect("the table header");
    for column in [
        "CREATED", "ACTIVE", "TRAFFIC", "REPLICAS", "HEALTH", "LABELS", "IMAGE",
    ] {
        assert!(row_text(&buf, header).contains(column));
    }
    // Newest first; the serving revision is marked.
    let (y43, y42, y41) = (header + 1, header + 2, header + 3);
    let v43 = row_text(&buf, y43);
    let v42 = row_text(&buf, y42);
    let v41 = row_text(&buf, y41);
    assert!(v43.contains("▶ dagster-webserver--v43"), "{v43}");
    assert!(v43.contains("100%") && v43.contains("Unhealthy"), "{v43}");
    assert!(
        v42.contains("  dagster-webserver--v42") && !v42.contains('▶'),
        "{v42}"
    );
    assert!(v42.contains(" yes ") && v42.contains(" 0% ") && v42.contains("Healthy"));
    assert!(v41.contains("dagster-webserver--v41") && v41.contains(" no "));
    // Health in colour (v42 is not selected).
    let hx = col_of(&buf, y42, "Healthy").unwrap();
    assert_eq!(Some(buf[(hx, y42)].fg), app.theme.style(Role::Ok).fg);
    // The image column takes what is left: the tags show on a wide terminal.
    let wide = draw_sized(&mut app, 200, H);
    assert!(row_text(&wide, y43).contains("dagster-webserver:1.43-broken"));
    assert!(row_text(&wide, y42).contains("dagster-webserver:1.42 "));
    // The app's name next to the tabs.
    assert!(row_text(&buf, 1).contains("dagster-webserver"));
    assert_snapshot!("revisions_prod", text);

    // i hides the inactive one.
    app.handle_key(key('i'));
    let text = screen(&mut app);
    assert!(!text.contains("dagster-webserver--v41"));
}

fn plan_of(intents: &[Intent]) -> (&str, &[(String, String)]) {
    match intents {
        [Intent::Plan {
            runbook, params, ..
        }] => (runbook.as_str(), params.as_slice()),
        other => panic!("one Plan intent, got {other:?}"),
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn rollback_on_the_unhealthy_revision_goes_to_the_previous_healthy_one() {
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    assert_eq!(
        app.revisions.selected_revision().map(|r| r.name.clone()),
        Some(rev_name("v43"))
    );
    let intents = app.handle_key(key('r'));
    let (runbook, ps) = plan_of(&intents);
    assert_eq!(runbook, "containerapp-rollback");
    assert_eq!(ps, params(&[("app", &app_id())]).as_slice());
    assert!(matches!(app.modals.last(), Some(Modal::Run(_))));
}

#[test]
fn rollback_on_a_healthy_older_revision_names_it() {
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    app.handle_key(key('j'));
    let intents = app.handle_key(key('r'));
    let (runbook, ps) = plan_of(&intents);
    assert_eq!(runbook, "containerapp-rollback");
    assert_eq!(
        ps,
        params(&[("app", &app_id()), ("revision", &rev_name("v42"))]).as_slice()
    );
}

#[test]
fn revision_keys_plan_their_runbooks() {
    for (k, runbook) in [
        ('a', "containerapp-revision-activate"),
        ('x', "containerapp-revision-deactivate"),
        ('R', "containerapp-restart"),
    ] {
        let mut app = prod();
        open_revisions(&mut app, app_revisions());
        app.handle_key(key('j'));
        let intents = app.handle_key(key(k));
        let (got, ps) = plan_of(&intents);
        assert_eq!(got, runbook, "key {k}");
        assert_eq!(
            ps,
            params(&[("app", &app_id()), ("revision", &rev_name("v42"))]).as_slice(),
            "key {k}"
        );
    }
    // Shift reported with the letter (kitty protocol): still restart.
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    let intents = app.handle_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::SHIFT));
    assert_eq!(plan_of(&intents).0, "containerapp-restart");
}

#[test]
fn traffic_editor_plans_a_split_that_adds_up() {
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    assert!(app.handle_key(key('w')).is_empty());
    let text = screen(&mut app);
    assert!(text.contains(" Traffic split "), "{text}");
    assert!(text.contains("total 100%"));
    assert_snapshot!("traffic_editor", text);

    // 95/0: not 100, nothing is planned and the status line says why.
    assert!(app.handle_key(code(KeyCode::Left)).is_empty());
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
    assert!(matches!(app.modals.last(), Some(Modal::Traffic(_))));
    let buf = draw(&mut app);
    assert!(buffer_text(&buf).contains("total 95%"));
    let status = row_text(&buf, H - 1);
    assert!(
        status.contains("the weights add up to 95%, not 100%"),
        "{status}"
    );
    let total_y = row_of(&buf, "total 95%").unwrap();
    let total_x = col_of(&buf, total_y, "total 95%").unwrap();
    assert_eq!(
        Some(buf[(total_x, total_y)].fg),
        app.theme.style(Role::Error).fg
    );

    // 95/5.
    app.handle_key(code(KeyCode::Down));
    app.handle_key(code(KeyCode::Right));
    assert!(screen(&mut app).contains("total 100%"));
    let intents = app.handle_key(code(KeyCode::Enter));
    let (runbook, ps) = plan_of(&intents);
    assert_eq!(runbook, "containerapp-traffic");
    let split = format!("{}=95, {}=5", rev_name("v43"), rev_name("v42"));
    assert_eq!(
        ps,
        params(&[("app", &app_id()), ("split", &split)]).as_slice()
    );
}

#[test]
fn traffic_needs_multiple_revision_mode() {
    let mut data = app_revisions();
    data.app.properties.configuration = None;
    let mut app = prod();
    open_revisions(&mut app, data);
    assert!(app.handle_key(key('w')).is_empty());
    assert!(app.modals.is_empty());
    assert!(row_text(&draw(&mut app), H - 1).contains("Multiple revision mode"));
}

// ---- 4. run flow -------------------------------------------------------------------------------

fn run_event(app: &mut App, ticket: u64, event: RunEvent) {
    assert!(app.handle_msg(Msg::Run { ticket, event }).is_empty());
}

/// Rollback planned and shown: returns the plan's ticket.
fn planned_rollback(app: &mut App) -> u64 {
    open_revisions(app, app_revisions());
    app.handle_key(key('j'));
    let intents = app.handle_key(key('r'));
    let Some(Intent::Plan { ticket, .. }) = intents.first().cloned() else {
        panic!("a plan: {intents:?}");
    };
    run_event(
        app,
        ticket,
        RunEvent::RunStarted {
            run_id: "9d8c7b6a-plan".into(),
            runbook: "containerapp-rollback".into(),
            environment: app.env.name.clone(),
            params: json!({ "app": app_id() }),
            dry_run: true,
            resumed: false,
        },
    );
    run_event(
        app,
        ticket,
        RunEvent::StepPlanned {
            step: "shift".into(),
            action: "containerapp.traffic.set".into(),
            plan: rollback_plan(),
        },
    );
    run_event(
        app,
        ticket,
        RunEvent::RunFinished {
            run_id: "9d8c7b6a-plan".into(),
            status: "succeeded".into(),
            exit_code: 0,
            failed_step: None,
            error: None,
        },
    );
    assert_eq!(
        app.handle_msg(Msg::RunDone { ticket }),
        vec![Intent::LoadRuns],
        "a plan refreshes the runs, not the revisions"
    );
    ticket
}

#[test]
fn plan_preview_then_run_then_protected_confirmation() {
    let mut app = prod();
    let ticket = planned_rollback(&mut app);
    let text = screen(&mut app);
    assert!(
        text.contains("Plan of containerapp-rollback in prod (PROTECTED)"),
        "{text}"
    );
    assert!(text.contains("~ shift"), "{text}");
    assert!(
        text.contains("dagster-webserver configuration.ingress.traffic: latest 100% → dagster-webserver--v42 100%"),
        "{text}"
    );
    assert!(text.contains(&format!("PATCH subscriptions/{SUB}/resourceGroups/")));
    assert!(text.contains("Plan: 1 step(s) change Azure; nothing was changed yet."));
    assert!(text.contains("Enter: run it (you will type the environment's name to confirm)"));
    assert_snapshot!("plan_preview", redact_elapsed(&text));

    // Enter runs the same runbook with the same params.
    let intents = app.handle_key(code(KeyCode::Enter));
    let expected = params(&[("app", &app_id()), ("revision", &rev_name("v42"))]);
    match intents.as_slice() {
        [Intent::Run {
            ticket: run_ticket,
            runbook,
            params,
        }] => {
            assert_ne!(*run_ticket, ticket);
            assert_eq!(runbook, "containerapp-rollback");
            assert_eq!(params, &expected);
        }
        other => panic!("one Run intent, got {other:?}"),
    }

    // The engine asks; the name must be typed.
    assert!(app
        .handle_msg(Msg::Confirm {
            id: 7,
            request: confirm_request(true, "prod"),
        })
        .is_empty());
    let text = screen(&mut app);
    assert!(
        text.contains("CONFIRM IN PROTECTED ENVIRONMENT prod"),
        "{text}"
    );
    assert!(text.contains("Type the environment's name (prod)"));
    // The change confirmed is shown whole: wrapped, not cut.
    let buf = draw(&mut app);
    let y = row_of(&buf, "dagster-webserver configuration.ingress").unwrap();
    let x = col_of(&buf, y, "dagster-webserver configuration.ingress").unwrap();
    let width = (0..)
        .take_while(|i| buf[(x + i, y)].symbol() != "│")
        .count() as u16;
    let shown = format!(
        "{}{}",
        text_from(&buf, x, y, width).trim_end(),
        text_from(&buf, x, y + 1, width).trim_end()
    );
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(
        squeeze(&shown),
        squeeze(&confirm_request(true, "prod").details[0])
    );
    assert!(row_text(&buf, y + 3).contains("Type the environment's name"));
    assert!(row_text(&buf, y + 4).contains("> ▏"));
    assert_snapshot!("confirm_protected", text);

    assert!(type_text(&mut app, "prdo").is_empty());
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
    let text = screen(&mut app);
    assert!(text.contains("> prdo▏"), "{text}");
    assert!(
        text.contains("that is not the environment's name"),
        "{text}"
    );
    assert_snapshot!("confirm_protected_mismatch", text);
    // y is a letter like any other here.
    for _ in 0..4 {
        app.handle_key(code(KeyCode::Backspace));
    }
    assert!(app.handle_key(key('y')).is_empty());
    app.handle_key(code(KeyCode::Backspace));
    assert!(type_text(&mut app, "prod").is_empty());
    assert_eq!(
        app.handle_key(code(KeyCode::Enter)),
        vec![Intent::Answer {
            id: 7,
            answer: Confirmation::Confirmed
        }]
    );
    assert!(!matches!(app.modals.last(), Some(Modal::Confirm(_))));

    // A second confirmation, declined with Esc.
    app.handle_msg(Msg::Confirm {
        id: 8,
        request: confirm_request(true, "prod"),
    });
    type_text(&mut app, "prod");
    assert_eq!(
        app.handle_key(code(KeyCode::Esc)),
        vec![Intent::Answer {
            id: 8,
            answer: Confirmation::Declined
        }]
    );
}

#[test]
fn unprotected_confirmation_is_y_or_n() {
    let mut app = staging();
    planned_rollback(&mut app);
    let text = screen(&mut app);
    assert!(
        text.contains("Enter: run it (you confirm before the change)"),
        "{text}"
    );
    assert!(matches!(
        app.handle_key(code(KeyCode::Enter)).as_slice(),
        [Intent::Run { .. }]
    ));
    app.handle_msg(Msg::Confirm {
        id: 1,
        request: confirm_request(false, "staging"),
    });
    let text = screen(&mut app);
    assert!(text.contains("Confirm · staging"), "{text}");
    assert!(text.contains("y: confirm · n / Esc: decline"));
    assert_snapshot!("confirm_unprotected", text);
    assert!(app.handle_key(key('p')).is_empty(), "other keys wait");
    assert_eq!(
        app.handle_key(key('y')),
        vec![Intent::Answer {
            id: 1,
            answer: Confirmation::Confirmed
        }]
    );
    app.handle_msg(Msg::Confirm {
        id: 2,
        request: confirm_request(false, "staging"),
    });
    assert_eq!(
        app.handle_key(key('n')),
        vec![Intent::Answer {
            id: 2,
            answer: Confirmation::Declined
        }]
    );
}

#[test]
fn progress_window_while_running_and_when_finished() {
    let mut app = prod();
    planned_rollback(&mut app);
    let Some(Intent::Run { ticket, .. }) = app.handle_key(code(KeyCode::Enter)).first().cloned()
    else {
        panic!("a run");
    };
    run_event(
        &mut app,
        ticket,
        RunEvent::RunStarted {
            run_id: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d".into(),
            runbook: "containerapp-rollback".into(),
            environment: "prod".into(),
            params: json!({ "app": app_id() }),
            dry_run: false,
            resumed: false,
        },
    );
    for (step, action) in [
        ("current", "containerapp.show"),
        ("target", "containerapp.revision.pick"),
    ] {
        run_event(
            &mut app,
            ticket,
            RunEvent::StepStarted {
                step: step.into(),
                action: action.into(),
                attempt: 1,
            },
        );
        run_event(
            &mut app,
            ticket,
            RunEvent::StepSucceeded {
                step: step.into(),
                outputs: json!({}),
                elapsed_ms: 42,
            },
        );
    }
    run_event(
        &mut app,
        ticket,
        RunEvent::StepStarted {
            step: "shift".into(),
            action: "containerapp.traffic.set".into(),
            attempt: 1,
        },
    );
    run_event(
        &mut app,
        ticket,
        RunEvent::StepProgress {
            step: "shift".into(),
            message: "operation InProgress".into(),
        },
    );
    assert_eq!(app.runs_in_flight(), 1);
    let text = screen(&mut app);
    assert!(
        text.contains("Running containerapp-rollback in prod (PROTECTED)"),
        "{text}"
    );
    assert!(text.contains("✓ current"));
    assert!(text.contains("42 ms"));
    assert!(text.contains("operation InProgress"));
    assert!(text.contains("s: stop after this step"));
    // The header counts it (at its end: a wide terminal shows it whole).
    assert!(row_text(&draw_sized(&mut app, 200, H), 0).contains("⠋ 1 in flight"));
    assert_snapshot!("progress_running", redact_elapsed(&text));

    // s asks the engine to stop after the step.
    assert_eq!(app.handle_key(key('s')), vec![Intent::Interrupt { ticket }]);

    run_event(
        &mut app,
        ticket,
        RunEvent::StepSucceeded {
            step: "shift".into(),
            outputs: json!({}),
            elapsed_ms: 1830,
        },
    );
    run_event(
        &mut app,
        ticket,
        RunEvent::RunFinished {
            run_id: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d".into(),
            status: "succeeded".into(),
            exit_code: 0,
            failed_step: None,
            error: None,
        },
    );
    // The run's end refreshes the runs and the app on screen.
    assert_eq!(
        app.handle_msg(Msg::RunDone { ticket }),
        vec![Intent::LoadRuns, Intent::LoadRevisions { app_id: app_id() }]
    );
    assert_eq!(app.runs_in_flight(), 0);
    let text = screen(&mut app);
    assert!(
        text.contains("✓ succeeded (exit 0) · run 5a4b3c2d"),
        "{text}"
    );
    assert!(
        text.contains("containerapp-rollback: succeeded"),
        "status line"
    );
    assert_snapshot!("progress_finished", redact_elapsed(&text));
    // Esc closes it; p brings it back.
    app.handle_key(code(KeyCode::Esc));
    assert!(app.modals.is_empty());
    app.handle_key(key('p'));
    assert!(matches!(app.modals.last(), Some(Modal::Run(t)) if *t == ticket));
}

#[test]
fn a_failed_call_shows_its_status_in_the_progress_window() {
    let mut app = prod();
    planned_rollback(&mut app);
    let Some(Intent::Run { ticket, .. }) = app.handle_key(code(KeyCode::Enter)).first().cloned()
    else {
        panic!("a run");
    };
    run_event(
        &mut app,
        ticket,
        RunEvent::StepStarted {
            step: "shift".into(),
            action: "containerapp.traffic.set".into(),
            attempt: 1,
        },
    );
    let url = format!(
        "{}?api-version=2025-07-01",
        app_id().trim_start_matches('/')
    );
    run_event(
        &mut app,
        ticket,
        RunEvent::Call {
            step: "shift".into(),
            call: call("PATCH", &url, 412, "a1b2c3d4-0002"),
        },
    );
    assert_eq!(app.live_run(ticket).map(|r| r.calls), Some(1));
    // The URL is longer than the window: the status comes before it.
    let text = screen(&mut app);
    assert!(text.contains("PATCH 412 subscriptions/8f3b2c1d"), "{text}");
    assert!(text.contains("1 REST calls so far"));
}

#[test]
fn a_failed_plan_offers_no_run() {
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    let Some(Intent::Plan { ticket, .. }) = app.handle_key(key('r')).first().cloned() else {
        panic!("a plan");
    };
    assert!(app
        .handle_msg(Msg::RunError {
            ticket,
            error: "no healthy revision before dagster-webserver--v43".into(),
        })
        .is_empty());
    app.handle_msg(Msg::RunDone { ticket });
    let text = screen(&mut app);
    assert!(text.contains("✗ no healthy revision before"), "{text}");
    assert!(!text.contains("Enter: run it"));
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
}

// ---- 5. read-only ------------------------------------------------------------------------------

#[test]
fn read_only_refuses_mutating_keys_and_says_why() {
    let mut app = read_only();
    open_revisions(&mut app, app_revisions());
    // Before any notice: the hints leave out what would change Azure.
    let buf = draw(&mut app);
    let hints = row_text(&buf, H - 1);
    assert!(hints.contains("read-only: changes disabled"), "{hints}");
    assert!(hints.contains(" i "), "show inactive is harmless: {hints}");
    for k in [" r ", " w ", " a ", " x ", " R "] {
        assert!(!hints.contains(k), "{k:?} in {hints}");
    }
    assert!(!hints.contains("Roll back"));

    for k in ['r', 'w', 'a', 'x', 'R'] {
        assert!(app.handle_key(key(k)).is_empty(), "key {k}");
        assert!(app.modals.is_empty(), "key {k}");
    }
    app.handle_key(key('r'));
    let status = row_text(&draw(&mut app), H - 1);
    assert!(
        status.contains("rollback is disabled: environment 'audit' is read-only"),
        "{status}"
    );

    // The writable environment shows them.
    let mut app = staging();
    open_revisions(&mut app, app_revisions());
    let hints = row_text(&draw(&mut app), H - 1);
    assert!(hints.contains(" r Roll back"), "{hints}");
    assert!(!hints.contains("read-only"));
}

#[test]
fn read_only_help_marks_mutating_commands_disabled() {
    let mut app = read_only();
    app.handle_key(key('?'));
    assert!(matches!(app.modals.last(), Some(Modal::Help { .. })));
    // Tall enough for all of it.
    let buf = draw_sized(&mut app, W, 120);
    let help = modal_text(&buf);
    assert!(
        help.contains(
            "Roll back: to the selected revision, or the previous healthy one (disabled: read-only environment)"
        ),
        "{help}"
    );
    assert!(
        help.contains("Fuzzy filter t Group by type"),
        "not disabled: {help}"
    );
    assert_eq!(
        help.matches("(disabled: read-only environment)").count(),
        7,
        "rollback traffic activate deactivate restart run resume"
    );
    // Drawn as disabled.
    let y = row_of(&buf, "Roll back: to the selected").unwrap();
    let x = col_of(&buf, y, "Roll back").unwrap();
    assert_eq!(Some(buf[(x, y)].fg), app.theme.style(Role::Disabled).fg);

    let mut app = prod();
    app.handle_key(key('?'));
    let buf = draw_sized(&mut app, W, 120);
    let help = modal_text(&buf);
    assert!(!help.contains("disabled"));
    assert_eq!(
        help.matches("(changes Azure: plan → confirm → run)")
            .count(),
        7,
        "{help}"
    );
    let y = row_of(&buf, "Roll back: to the selected").unwrap();
    let x = col_of(&buf, y, "Roll back").unwrap();
    assert_eq!(Some(buf[(x, y)].fg), app.theme.style(Role::Danger).fg);
}

/// The text inside a window 80% of the screen wide (help), its lines joined by spaces and
/// runs of spaces collapsed: wrapped lines read as one.
fn modal_text(buf: &Buffer) -> String {
    let w = buf.area.width;
    let inner_left = (w - w * 80 / 100) / 2 + 1;
    let inner_right = inner_left + w * 80 / 100 - 2;
    let text: String = (0..buf.area.height)
        .map(|y| text_from(buf, inner_left, y, inner_right - inner_left) + " ")
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn read_only_runbooks_can_plan_but_not_run() {
    let mut app = read_only();
    app.handle_key(key('3'));
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
    assert!(app.modals.is_empty());
    assert!(row_text(&draw(&mut app), H - 1).contains("read-only"));
    // P: a plan only.
    assert!(app.handle_key(key('P')).is_empty());
    assert!(matches!(app.modals.last(), Some(Modal::Form(f)) if f.plan_only));
}

// ---- 6. runbooks and runs ----------------------------------------------------------------------

#[test]
fn runbooks_screen_lists_the_catalog() {
    let mut app = prod();
    assert!(app.handle_key(key('3')).is_empty());
    assert_eq!(app.screen, Screen::Runbooks);
    let n = app.runbooks.list.len();
    assert!(n >= 6, "the built-ins");
    let i = app
        .runbooks
        .list
        .iter()
        .position(|r| r.name == "containerapp-rollback")
        .unwrap();
    app.runbooks.selected = i;
    let text = screen(&mut app);
    assert!(text.contains(&format!("Runbooks · {n}")), "{text}");
    assert!(text.contains("● containerapp-rollback"));
    assert!(text.contains("Roll a Container App back to its previous healthy revision"));
    assert!(text.contains("Parameters"));
    assert!(text.contains("app* resource"), "{text}");
    assert!(text.contains("Steps"));
    // The steps follow the description: all of them on a taller terminal.
    let tall = buffer_text(&draw_sized(&mut app, W, 60));
    assert!(tall.contains("1. Read the app"), "{tall}");
    assert!(tall.contains("containerapp.show"));
    assert_snapshot!("runbooks", text);

    // Enter opens the form pre-filled with the selected app.
    app.inventory.select_id(&app_id());
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
    match app.modals.last() {
        Some(Modal::Form(f)) => {
            assert_eq!(f.runbook, "containerapp-rollback");
            assert!(!f.plan_only);
            assert_eq!(f.fields[0].value, app_id());
        }
        other => panic!("a form, got {other:?}"),
    }
    let text = screen(&mut app);
    assert!(text.contains("Run containerapp-rollback"), "{text}");
    let intents = app.handle_key(code(KeyCode::Enter));
    assert_eq!(
        plan_of(&intents),
        (
            "containerapp-rollback",
            params(&[("app", &app_id())]).as_slice()
        )
    );
}

#[test]
fn runs_screen_shows_runs_steps_and_calls() {
    let mut app = prod();
    assert_eq!(app.handle_key(key('4')), vec![Intent::LoadRuns]);
    assert_eq!(app.screen, Screen::Runs);
    assert_eq!(
        app.handle_msg(Msg::Runs(Ok(runs()))),
        vec![Intent::LoadRunDetail {
            run_id: FAILED_RUN.into()
        }]
    );
    assert!(app
        .handle_msg(Msg::RunDetail(Ok(Box::new(run_detail()))))
        .is_empty());
    let text = screen(&mut app);
    assert!(text.contains("Runs · 3"), "{text}");
    assert!(text.contains("06-02 09:20:11 failed"), "{text}");
    assert!(text.contains("plan containerapp-restar"), "{text}");
    assert!(text.contains("containerapp-rollback  failed  exit 1  run 3f2a9c1e"));
    assert!(text.contains("shift        failed"), "{text}");
    assert!(text.contains("412 Precondition Failed: the app"));
    assert!(text.contains("Events and REST calls"));
    // A call: method and status first (the URL is long and the line is cut to the pane)…
    assert!(
        text.contains("09:20:12 shift     PATCH 412 subscriptions/8f3b2c1d"),
        "{text}"
    );
    assert!(text.contains("09:20:11 current   GET 200 subscriptions/8f3b2c1d"));
    assert!(text.contains("step_failed: 412 Precondition Failed"));
    assert!(text.contains("finished failed (exit 1)"));
    // …then the URL and the request id, whole on a wide terminal.
    let wide = buffer_text(&draw_sized(&mut app, 400, H));
    assert!(
        wide.contains("containerApps/dagster-webserver?api-version=2025-07-01 a1b2c3d4-0002"),
        "{wide}"
    );
    assert!(wide.contains("?api-version=2025-07-01 a1b2c3d4-0001"));
    assert_snapshot!("runs", text);

    // j moves and asks for that run's detail.
    assert_eq!(
        app.handle_key(key('j')),
        vec![Intent::LoadRunDetail {
            run_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d".into()
        }]
    );
    // u on a succeeded run: nothing to resume.
    assert!(app.handle_key(key('u')).is_empty());
    assert!(row_text(&draw(&mut app), H - 1).contains("nothing to resume"));
    app.handle_key(key('k'));
    match app.handle_key(key('u')).as_slice() {
        [Intent::Resume { run_id, .. }] => assert_eq!(run_id, FAILED_RUN),
        other => panic!("a resume, got {other:?}"),
    }
    assert!(screen(&mut app).contains("Resuming containerapp-rollback"));
}

#[test]
fn verify_audit_shows_the_result() {
    let mut app = prod();
    app.handle_key(key('4'));
    app.handle_msg(Msg::Runs(Ok(runs())));
    assert_eq!(app.handle_key(key('v')), vec![Intent::VerifyAudit]);
    assert!(row_text(&draw(&mut app), H - 1).contains("verifying the audit chain"));
    app.handle_msg(Msg::Audit(Ok(AuditReport {
        events: 45,
        head_seq: 45,
        problems: vec![],
    })));
    let buf = draw(&mut app);
    assert!(row_text(&buf, H - 1).contains("audit chain intact: 45 events verified"));
    assert!(row_text(&buf, 2).contains("audit ✓ 45 events"));

    assert_eq!(app.handle_key(key('v')), vec![Intent::VerifyAudit]);
    app.handle_msg(Msg::Audit(Ok(AuditReport {
        events: 44,
        head_seq: 45,
        problems: vec![AuditProblem {
            seq: 43,
            kind: AuditProblemKind::Missing { count: 1 },
        }],
    })));
    let buf = draw(&mut app);
    assert!(row_text(&buf, H - 1).contains("audit chain BROKEN: 1 problem(s)"));
    assert!(row_text(&buf, 2).contains("audit ✗ 1 problems"));
    assert_eq!(
        app.last_error.as_deref(),
        Some("audit chain BROKEN: 1 problem(s)")
    );
}

// ---- 7. palette --------------------------------------------------------------------------------

#[test]
fn palette_goes_to_a_screen() {
    let mut app = prod();
    assert!(app.handle_key(key(':')).is_empty());
    assert!(type_text(&mut app, "runs").is_empty());
    let text = screen(&mut app);
    assert!(text.contains(": command palette"), "{text}");
    assert!(text.contains(": runs▏"));
    assert_snapshot!("palette", text);
    assert_eq!(app.handle_key(code(KeyCode::Enter)), vec![Intent::LoadRuns]);
    assert_eq!(app.screen, Screen::Runs);
    assert!(app.modals.is_empty());
}

#[test]
fn palette_selects_a_resource() {
    let mut app = prod();
    app.handle_key(key('3'));
    assert_eq!(
        app.inventory.selected_item().map(|i| i.name.as_str()),
        Some("dagster-webserver")
    );
    app.handle_key(key(':'));
    type_text(&mut app, "kv-platform-prod");
    assert!(app.handle_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(app.screen, Screen::Inventory);
    assert_eq!(
        app.inventory.selected_item().map(|i| i.name.as_str()),
        Some("kv-platform-prod")
    );
    // Even when the filter hid it.
    app.handle_key(key('/'));
    type_text(&mut app, "chat");
    app.handle_key(code(KeyCode::Enter));
    assert_eq!(app.inventory.matches(), 1);
    app.handle_key(key(':'));
    type_text(&mut app, "stplatformbackup");
    app.handle_key(code(KeyCode::Enter));
    assert_eq!(
        app.inventory.selected_item().map(|i| i.name.as_str()),
        Some("stplatformbackup")
    );
    let buf = draw(&mut app);
    let y = row_of(&buf, "stplatformbackup").unwrap();
    let x = col_of(&buf, y, "stplatformbackup").unwrap();
    assert_eq!(
        Some(buf[(x, y)].bg),
        app.theme.style(Role::Selection).bg,
        "the selected row is drawn as selected"
    );
}

#[test]
fn palette_in_read_only_leaves_out_mutating_commands() {
    let mut app = read_only();
    app.handle_key(key(':'));
    type_text(&mut app, "rollback");
    let Some(Modal::Palette(p)) = app.modals.last() else {
        panic!("the palette");
    };
    assert!(p
        .hits
        .iter()
        .all(|i| !p.entries[*i].label.starts_with("rollback — ")));
}

// ---- 8. hostile data ---------------------------------------------------------------------------

/// The inventory with `name` as the first item's name and `tag` as a tag value of it.
fn inventory_with(name: &str, tag: &str) -> App {
    let mut list = items();
    list[3].name = name.to_string();
    list[3].id = rid("Microsoft.Storage/storageAccounts", name);
    list[3].tags.insert("owner".into(), tag.to_string());
    list.swap(0, 3);
    app_with_items(env("prod", true, false), list)
}

#[test]
fn hostile_resource_names_and_tags_stay_inert_and_in_their_columns() {
    let mut clean_app = inventory_with("stplatformbackup", "data-platform");
    let clean = draw(&mut clean_app);
    let clean_borders = border_columns(&clean);
    let header_y = row_of(&clean, "LOCATION").unwrap();
    let type_x = col_of(&clean, header_y, "TYPE").unwrap();
    let state_x = col_of(&clean, header_y, "STATE").unwrap();
    let first_row = header_y + 1;
    assert_eq!(text_from(&clean, type_x, first_row, 15), "storageAccounts");

    for (label, text) in hostile_fixtures() {
        let mut app = inventory_with(&text, &text);
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");
        assert_eq!(
            border_columns(&buf),
            clean_borders,
            "{label}: borders moved"
        );
        assert_eq!(
            text_from(&buf, type_x, first_row, 15),
            "storageAccounts",
            "{label}: the TYPE column moved\n{}",
            buffer_text(&buf)
        );
        assert_eq!(
            text_from(&buf, state_x, first_row, 6),
            "Failed",
            "{label}: the STATE column moved"
        );
        assert!(row_text(&buf, first_row).contains("FAILED"), "{label}");

        // The detail pane shows the tag and the id (which holds the name).
        app.handle_key(key('d'));
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");
        assert!(buffer_text(&buf).contains("tag owner"), "{label}");

        // The palette lists the resource by name.
        app.handle_key(key(':'));
        type_text(&mut app, "storageAccounts");
        let buf = draw(&mut app);
        assert_inert(&buf, label);
    }
}

#[test]
fn detail_pane_wraps_ids_without_breaking_characters() {
    for name in [
        "资源组-生产环境-東京",
        "🚀 deploy ✅",
        "e\u{301}\u{302} ñandú",
    ] {
        let mut app = inventory_with(name, "x");
        app.handle_key(key('d'));
        let buf = draw(&mut app);
        // The detail pane: the right 45%.
        let pane: String = (0..H)
            .flat_map(|y| (W * 55 / 100..W).map(move |x| (x, y)))
            .map(|(x, y)| buf[(x, y)].symbol().to_string())
            .collect();
        assert!(
            !pane.contains('\u{FFFD}'),
            "{name}: the id is cut inside a character\n{}",
            buffer_text(&buf)
        );
    }
}

#[test]
fn hostile_revision_names_and_images_stay_inert() {
    let mut clean_app = prod();
    open_revisions(&mut clean_app, app_revisions());
    let clean = draw(&mut clean_app);
    let clean_borders = border_columns(&clean);
    let header_y = row_of(&clean, "REVISION").unwrap();
    let created_x = col_of(&clean, header_y, "CREATED").unwrap();
    let active_x = col_of(&clean, header_y, "ACTIVE").unwrap();

    for (label, text) in hostile_fixtures() {
        let mut data = app_revisions();
        let v43 = data.revisions.last_mut().unwrap();
        v43.name = text.clone();
        v43.properties.template = Some(json!({ "containers": [{ "image": text }] }));
        v43.properties.labels = Some(text.clone());
        data.app.properties.latest_revision_name = Some(text.clone());
        data.app.name = text.clone();
        let mut app = prod();
        open_revisions(&mut app, data);
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");
        assert_eq!(
            border_columns(&buf),
            clean_borders,
            "{label}: borders moved"
        );
        // The name column adapts to the longest name (up to 40): the header and the rows must
        // still agree on where each column starts.
        let created_x = col_of(&buf, header_y, "CREATED").unwrap_or(created_x);
        let active_x = col_of(&buf, header_y, "ACTIVE").unwrap_or(active_x);
        let y = header_y + 1;
        assert_eq!(
            text_from(&buf, created_x, y, 16),
            "2025-06-02 09:14",
            "{label}: the CREATED column moved\n{}",
            buffer_text(&buf)
        );
        assert_eq!(text_from(&buf, active_x, y, 3), "yes", "{label}");

        // The traffic editor and a plan of it show the name too.
        app.handle_key(key('w'));
        assert_inert(&draw(&mut app), label);
        app.handle_key(code(KeyCode::Left));
        app.handle_key(code(KeyCode::Down));
        app.handle_key(code(KeyCode::Right));
        let intents = app.handle_key(code(KeyCode::Enter));
        assert!(
            matches!(intents.as_slice(), [Intent::Plan { .. }]),
            "{label}"
        );
        assert_inert(&draw(&mut app), label);
    }
}

#[test]
fn hostile_errors_stay_inert() {
    for (label, text) in hostile_fixtures() {
        // The inventory could not load.
        let mut app = bare_app(env("prod", true, false));
        app.handle_msg(Msg::Inventory(Err(text.clone())));
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(
            row_text(&buf, 0).starts_with(" azdeck │ prod │ PROTECTED"),
            "{label}"
        );
        assert!(app
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("inventory: ")));
        assert_eq!(buf[(0, 2)].symbol(), "┌", "{label}");
        assert_eq!(buf[(W - 1, 2)].symbol(), "┐", "{label}");
        assert_eq!(buf[(0, H - 2)].symbol(), "└", "{label}");

        // A run failed with it.
        let mut app = prod();
        open_revisions(&mut app, app_revisions());
        let Some(Intent::Plan { ticket, .. }) = app.handle_key(key('r')).first().cloned() else {
            panic!("a plan");
        };
        app.handle_msg(Msg::RunError {
            ticket,
            error: text.clone(),
        });
        run_event(
            &mut app,
            ticket,
            RunEvent::StepFailed {
                step: "shift".into(),
                error: text.clone(),
                will_retry: false,
            },
        );
        run_event(
            &mut app,
            ticket,
            RunEvent::RunFinished {
                run_id: "r".into(),
                status: "failed".into(),
                exit_code: 1,
                failed_step: Some("shift".into()),
                error: Some(text.clone()),
            },
        );
        app.handle_msg(Msg::RunDone { ticket });
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");

        // A confirmation whose details carry it.
        let mut request = confirm_request(true, "prod");
        request.message = text.clone();
        request.details = vec![text.clone(), text.clone()];
        app.handle_msg(Msg::Confirm { id: 1, request });
        type_text(&mut app, &text.chars().take(64).collect::<String>());
        assert_inert(&draw(&mut app), label);

        // The runs screen with it in the store.
        let mut app = prod();
        app.handle_key(key('4'));
        let mut list = runs();
        list[0].runbook = text.clone();
        list[0].started_by = text.clone();
        app.handle_msg(Msg::Runs(Ok(list)));
        let mut detail = run_detail();
        detail.run.runbook = text.clone();
        detail.steps[2].error = Some(text.clone());
        detail.events.push(audit_event(
            46,
            "2025-06-02T09:20:13Z",
            RunEvent::StepProgress {
                step: text.clone(),
                message: text.clone(),
            },
        ));
        app.handle_msg(Msg::RunDetail(Ok(Box::new(detail))));
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");
    }
}

#[test]
fn hostile_runbook_descriptions_stay_inert() {
    let mut clean_app = prod();
    clean_app.handle_key(key('3'));
    let clean_borders = border_columns(&draw(&mut clean_app));
    for (label, text) in hostile_fixtures() {
        let mut app = prod();
        app.handle_key(key('3'));
        let rb = &mut app.runbooks.list[0];
        rb.description = text.clone();
        rb.title = text.clone();
        rb.steps[0].explain = text.clone();
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck"), "{label}");
        assert_eq!(
            border_columns(&buf),
            clean_borders,
            "{label}: borders moved"
        );
        // And a broken runbook file's error.
        app.runbooks.list[0].problem = Some(text.clone());
        assert_inert(&draw(&mut app), label);
    }
}

#[test]
fn hostile_environment_and_warnings_stay_inert() {
    for (label, text) in hostile_fixtures() {
        let mut e = env(&text, true, false);
        e.identity = text.clone();
        e.cloud = text.clone();
        let mut app = app_with_items(e, items());
        app.handle_msg(Msg::Warning(text.clone()));
        let buf = draw(&mut app);
        assert_inert(&buf, label);
        assert!(row_text(&buf, 0).starts_with(" azdeck │ "), "{label}");
        assert!(row_text(&buf, 0).contains("PROTECTED"), "{label}");
    }
}

// ---- 9. small terminals ------------------------------------------------------------------------

#[test]
fn too_small_says_so() {
    let mut app = prod();
    let text = buffer_text(&draw_sized(&mut app, 30, 6));
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("the terminal is too small (40×8 at least)"),
        "{text}"
    );
    assert_snapshot!("too_small", text);
}

#[test]
fn resizing_never_panics() {
    let sizes = [
        (120, 36),
        (30, 6),
        (40, 8),
        (39, 8),
        (40, 7),
        (41, 9),
        (1, 1),
        (0, 0),
        (200, 60),
        (80, 24),
        (60, 10),
    ];
    let mut app = prod();
    open_revisions(&mut app, app_revisions());
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
    // Every screen and every window, at every size.
    let setups: Vec<fn(&mut App)> = vec![
        |_| {},
        |a| {
            a.handle_key(key('1'));
            a.handle_key(key('d'));
        },
        |a| {
            a.handle_key(key('t'));
        },
        |a| {
            a.handle_key(key('2'));
            a.handle_key(key('w'));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key('?'));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key(':'));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key('3'));
            a.handle_key(code(KeyCode::Enter));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key('2'));
            a.handle_key(key('r'));
            a.handle_msg(Msg::Confirm {
                id: 3,
                request: confirm_request(true, "prod"),
            });
            a.handle_key(code(KeyCode::Enter));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key('4'));
            a.handle_msg(Msg::Runs(Ok(runs())));
            a.handle_msg(Msg::RunDetail(Ok(Box::new(run_detail()))));
        },
        |a| {
            a.modals.clear();
            a.handle_key(key('q'));
        },
    ];
    for setup in setups {
        setup(&mut app);
        for (w, h) in sizes {
            terminal.backend_mut().resize(w, h);
            terminal.resize(Rect::new(0, 0, w, h)).unwrap();
            terminal.draw(|f| app.render(f)).unwrap();
        }
    }
}

// ---- 10. keys ----------------------------------------------------------------------------------

#[test]
fn tab_and_backtab_cycle_screens() {
    let mut app = staging();
    // Start on a resource that is not an app: the Revisions screen then loads nothing.
    app.inventory
        .select_id(&rid("Microsoft.KeyVault/vaults", "kv-platform-prod"));
    let order = [
        Screen::Revisions,
        Screen::Runbooks,
        Screen::Runs,
        Screen::Inventory,
    ];
    for expected in order {
        let intents = app.handle_key(code(KeyCode::Tab));
        assert_eq!(app.screen, expected);
        let want = if expected == Screen::Runs {
            vec![Intent::LoadRuns]
        } else {
            vec![]
        };
        assert_eq!(intents, want, "{expected:?}");
    }
    // BackTab, as terminals send it (with or without SHIFT).
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
        vec![Intent::LoadRuns]
    );
    assert_eq!(app.screen, Screen::Runs);
    app.handle_key(code(KeyCode::BackTab));
    assert_eq!(app.screen, Screen::Runbooks);
    let text = screen(&mut app);
    assert!(lines(&text)[1].contains(" 3 Runbooks "));
}

#[test]
fn number_keys_select_screens() {
    let mut app = staging();
    assert_eq!(
        app.handle_key(key('2')),
        vec![Intent::LoadRevisions { app_id: app_id() }],
        "the selected app's revisions"
    );
    assert_eq!(app.screen, Screen::Revisions);
    assert!(app.handle_key(key('3')).is_empty());
    assert_eq!(app.screen, Screen::Runbooks);
    assert_eq!(app.handle_key(key('4')), vec![Intent::LoadRuns]);
    assert_eq!(app.screen, Screen::Runs);
    assert!(app.handle_key(key('1')).is_empty());
    assert_eq!(app.screen, Screen::Inventory);
    // Revisions again: the app is already shown, nothing to load.
    assert!(app.handle_key(key('2')).is_empty());
}

#[test]
fn enter_on_an_app_opens_its_revisions() {
    let mut app = staging();
    app.handle_key(key('j'));
    let chat = rid(APP_TYPE, "chat-api");
    assert_eq!(
        app.handle_key(code(KeyCode::Enter)),
        vec![Intent::LoadRevisions {
            app_id: chat.clone()
        }]
    );
    assert_eq!(app.screen, Screen::Revisions);
    assert!(screen(&mut app).contains("Revisions · ⠋ loading…"));
    // Revisions of another app arriving late are ignored.
    app.handle_msg(Msg::Revisions {
        app_id: app_id(),
        result: Ok(Box::new(app_revisions())),
    });
    assert!(app.revisions.data.is_none());
    // Esc goes back; Enter on a non-app opens its JSON.
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Inventory);
    app.handle_key(key('j'));
    let pg = rid(
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "pg-platform-prod",
    );
    assert_eq!(
        app.handle_key(code(KeyCode::Enter)),
        vec![Intent::LoadDetail { id: pg }]
    );
    assert_eq!(app.screen, Screen::Inventory);
}

#[test]
fn quit_asks_when_a_run_is_in_flight() {
    let mut app = staging();
    assert_eq!(app.handle_key(key('q')), vec![Intent::Quit]);
    assert!(app.quit);

    let mut app = staging();
    open_revisions(&mut app, app_revisions());
    assert!(matches!(
        app.handle_key(key('r')).as_slice(),
        [Intent::Plan { .. }]
    ));
    // Esc leaves the run going in the background.
    assert!(app.handle_key(code(KeyCode::Esc)).is_empty());
    assert!(app.modals.is_empty());
    assert_eq!(app.runs_in_flight(), 1);
    assert!(app.handle_key(key('q')).is_empty());
    assert!(!app.quit);
    assert_eq!(app.modals.last(), Some(&Modal::QuitWhileRunning));
    let text = screen(&mut app);
    assert!(text.contains("1 run(s) still in flight"), "{text}");
    assert!(text.contains("│are;"), "wrapped, not cut: {text}");
    assert!(text.contains("y quit anyway · any other key stays"));
    assert_snapshot!("quit_while_running", text);
    // Any other key stays.
    assert!(app.handle_key(key('n')).is_empty());
    assert!(!app.quit && app.modals.is_empty());
    app.handle_key(key('q'));
    assert_eq!(app.handle_key(key('y')), vec![Intent::Quit]);
    assert!(app.quit);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = staging();
    for c in ['q', '4', 'j', '/'] {
        let release =
            KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::NONE, KeyEventKind::Release);
        assert!(app.handle_key(release).is_empty(), "{c}");
    }
    assert!(!app.quit);
    assert_eq!(app.screen, Screen::Inventory);
    assert_eq!(app.inventory.selected, 0);
    assert!(!app.inventory.editing_filter);
    // Repeats act like presses.
    let repeat =
        KeyEvent::new_with_kind(KeyCode::Char('j'), KeyModifiers::NONE, KeyEventKind::Repeat);
    app.handle_key(repeat);
    assert_eq!(app.inventory.selected, 1);
}

#[test]
fn ctrl_r_reloads_the_view() {
    let mut app = staging();
    assert_eq!(app.handle_key(ctrl('r')), vec![Intent::LoadInventory]);
    assert!(app.inventory.loading);
    assert!(screen(&mut app).contains("loading"));
    assert_eq!(
        app.handle_key(code(KeyCode::F(5))),
        vec![Intent::LoadInventory]
    );
    open_revisions(&mut app, app_revisions());
    assert_eq!(
        app.handle_key(ctrl('r')),
        vec![Intent::LoadRevisions { app_id: app_id() }]
    );
    app.handle_key(key('4'));
    assert_eq!(app.handle_key(ctrl('r')), vec![Intent::LoadRuns]);
    // ctrl-r while filtering is not "type r".
    app.handle_key(key('1'));
    app.handle_key(key('/'));
    app.handle_key(ctrl('r'));
    assert_eq!(app.inventory.filter, "");
}

#[test]
fn start_loads_inventory_and_runs_and_the_first_frame_says_loading() {
    let mut app = bare_app(env("prod", true, false));
    assert_eq!(app.start(), vec![Intent::LoadInventory, Intent::LoadRuns]);
    app.handle_msg(Msg::InventoryProgress { count: 1200 });
    let text = screen(&mut app);
    assert!(text.contains("loading 1200…"), "{text}");
    assert!(app.animating());
    let intents = app.handle_msg(Msg::Inventory(Ok(Arc::new(items()))));
    let vault = rid("Microsoft.KeyVault/vaults", "kv-platform-prod");
    assert_eq!(
        intents,
        vec![
            Intent::LoadAppHealth {
                app_ids: vec![app_id(), rid(APP_TYPE, "chat-api")]
            },
            Intent::LoadVaultExpiry {
                vaults: vec![(vault.clone(), "kv-platform-prod".to_string())]
            }
        ]
    );
    assert!(!app.animating());
    // A vault with a secret expiring soon gets its badge; one with none stays quiet.
    app.handle_msg(Msg::VaultExpiry {
        vault_id: vault.clone(),
        expiring: 1,
    });
    let text = screen(&mut app);
    let row = text
        .lines()
        .find(|l| l.contains("kv-platform-prod"))
        .unwrap_or_default();
    assert!(row.contains("EXPIRING"), "{text}");
    app.handle_msg(Msg::VaultExpiry {
        vault_id: vault,
        expiring: 0,
    });
    assert!(!screen(&mut app).contains("EXPIRING"));
}

#[test]
fn switching_environment_goes_through_the_palette() {
    let mut app = prod();
    app.handle_key(key('e'));
    type_text(&mut app, "staging");
    assert_eq!(
        app.handle_key(code(KeyCode::Enter)),
        vec![Intent::SwitchEnv {
            name: "staging".into()
        }]
    );
    let intents = app.handle_msg(Msg::EnvSwitched(Ok(env("staging", false, false))));
    assert_eq!(intents, vec![Intent::LoadInventory, Intent::LoadRuns]);
    let buf = draw(&mut app);
    assert!(row_text(&buf, 0).starts_with(" azdeck │ staging │ cloud"));
    assert_eq!(Some(buf[(0, 0)].bg), app.theme.style(Role::Header).bg);
    assert_ne!(
        app.theme.style(Role::Header).bg,
        app.base_theme
            .with_production_accent()
            .style(Role::Header)
            .bg
    );
}

#[test]
fn resuming_a_run_with_a_secret_param_asks_for_it_again_masked() {
    let mut app = prod();
    app.runbooks.list.push(RunbookInfo {
        name: "keyvault-rotate-secret".into(),
        title: "Rotate a secret".into(),
        description: String::new(),
        tags: vec![],
        applies_to: vec![],
        params: vec![catalog::ParamInfo {
            name: "value".into(),
            kind: azdeck::runbook::model::ParamType::Secret,
            required: true,
            description: "the new value".into(),
            resource_kind: None,
            values: vec![],
            default: None,
        }],
        steps: vec![],
        source: "test".into(),
        problem: None,
    });
    app.handle_key(key('4'));
    app.handle_msg(Msg::Runs(Ok(vec![run_record(
        FAILED_RUN,
        "keyvault-rotate-secret",
        RunStatus::Failed,
        Some(2),
        false,
        "2025-06-02T09:20:11Z",
    )])));
    assert!(app.handle_key(key('u')).is_empty(), "the form comes first");
    assert!(
        matches!(app.modals.last(), Some(Modal::Form(f)) if f.resume_run.as_deref() == Some(FAILED_RUN))
    );
    type_text(&mut app, "s3cr3t-value");
    let text = screen(&mut app);
    assert!(!text.contains("s3cr3t"), "the secret is masked:\n{text}");
    assert!(text.contains("••••"), "{text}");
    match app.handle_key(code(KeyCode::Enter)).as_slice() {
        [Intent::Resume { run_id, params, .. }] => {
            assert_eq!(run_id, FAILED_RUN);
            assert_eq!(
                params,
                &vec![("value".to_string(), "s3cr3t-value".to_string())]
            );
        }
        other => panic!("a resume with the secret, got {other:?}"),
    }
}
