//! Key press to rendered frame with 20,000 resources loaded and a filter active (goal < 16 ms),
//! and the memory the UI's state takes for them. The frame is drawn into ratatui's TestBackend
//! (the same widgets and buffer diff as the terminal, without the terminal's write).
//!
//! `cargo bench --bench tui_frame`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use azdeck::azure::resources::InventoryItem;
use azdeck::runbook::action::Registry;
use azdeck::runbook::loader::{Catalog, LoadOptions};
use azdeck::tui::app::App;
use azdeck::tui::catalog;
use azdeck::tui::keymap::Keymap;
use azdeck::tui::msg::{EnvSummary, Msg};
use azdeck::tui::theme::{ColorSupport, Theme};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const TYPES: [&str; 8] = [
    "Microsoft.App/containerApps",
    "Microsoft.App/managedEnvironments",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.ContainerRegistry/registries",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Cdn/profiles",
];
const WORDS: [&str; 10] = [
    "dagster",
    "chat",
    "billing",
    "search",
    "ingest",
    "webserver",
    "worker",
    "api",
    "daemon",
    "etl",
];

fn items(n: usize) -> Vec<InventoryItem> {
    (0..n)
        .map(|i| {
            let t = TYPES[i % TYPES.len()];
            let name = format!("{}-{}-{i:05}", WORDS[i % 10], WORDS[(i / 10) % 10]);
            let group = format!(
                "rg-team{:02}-{}",
                i % 40,
                if i % 3 == 0 { "prod" } else { "dev" }
            );
            InventoryItem {
                id: format!(
                    "/subscriptions/sub-{:02}/resourceGroups/{group}/providers/{t}/{name}",
                    i % 20
                ),
                name,
                resource_type: t.to_string(),
                location: if i % 2 == 0 { "eastus" } else { "westeurope" }.into(),
                resource_group: group,
                subscription_id: format!("sub-{:02}", i % 20),
                tags: BTreeMap::from([("env".to_string(), "prod".to_string())]),
                provisioning_state: Some("Succeeded".into()),
                state: None,
            }
        })
        .collect()
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p) as usize]
}

fn main() {
    let registry = Registry::builtin();
    let catalog = Catalog::load(&LoadOptions {
        builtin: true,
        ..LoadOptions::default()
    })
    .expect("built-in runbooks load");
    let env = EnvSummary {
        name: "prod".into(),
        protected: true,
        read_only: false,
        cloud: "public".into(),
        identity: "service-principal 5a0c9e1e…".into(),
        subscriptions: 20,
        portal: None,
        tenant: "t".into(),
    };
    let before = rss_kb();
    let mut app = App::new(
        env,
        vec!["prod".into(), "dev".into()],
        Keymap::default_keys(),
        Theme::default_for(ColorSupport::TrueColor),
        catalog::runbooks(&catalog, &registry),
        catalog::actions(&registry),
    );
    app.handle_msg(Msg::Inventory(Ok(Arc::new(items(20_000)))));
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    terminal.draw(|f| app.render(f)).expect("draw");
    let after = rss_kb();

    let frame = |app: &mut App, terminal: &mut Terminal<TestBackend>, k: KeyEvent| -> f64 {
        let started = Instant::now();
        app.handle_key(k);
        terminal.draw(|f| app.render(f)).expect("draw");
        started.elapsed().as_secs_f64() * 1000.0
    };

    // Typing a filter, one key at a time, then erasing it: 20 rounds.
    let mut typing = Vec::new();
    for _ in 0..20 {
        frame(&mut app, &mut terminal, key(KeyCode::Char('/')));
        for c in "dagster web".chars() {
            typing.push(frame(&mut app, &mut terminal, key(KeyCode::Char(c))));
        }
        for _ in 0.."dagster web".len() {
            typing.push(frame(&mut app, &mut terminal, key(KeyCode::Backspace)));
        }
        frame(&mut app, &mut terminal, key(KeyCode::Esc));
    }
    // Moving through the filtered list (filter kept active).
    frame(&mut app, &mut terminal, key(KeyCode::Char('/')));
    for c in "api".chars() {
        frame(&mut app, &mut terminal, key(KeyCode::Char(c)));
    }
    frame(&mut app, &mut terminal, key(KeyCode::Enter));
    let matches = app.inventory.matches();
    let mut moving = Vec::new();
    for i in 0..2000 {
        let k = if i % 400 < 200 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        moving.push(frame(&mut app, &mut terminal, key(k)));
    }
    for _ in 0..50 {
        moving.push(frame(&mut app, &mut terminal, key(KeyCode::PageDown)));
    }
    println!(
        "20,000 resources, 200x50 frame: typing a filter: median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} keys)",
        percentile(&mut typing, 0.5),
        percentile(&mut typing, 0.99),
        percentile(&mut typing, 1.0),
        typing.len()
    );
    println!(
        "moving with the filter 'api' active ({matches} matches): median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} keys)",
        percentile(&mut moving, 0.5),
        percentile(&mut moving, 0.99),
        percentile(&mut moving, 1.0),
        moving.len()
    );
    println!(
        "resident memory: {:.1} MB before, {:.1} MB with 20,000 resources loaded and drawn (+{:.1} MB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0
    );
}
