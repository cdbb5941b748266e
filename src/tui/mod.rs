//! The terminal UI: state, an event loop that never awaits Azure, screens rendered from state.
//! Reads run in background tasks and come back as messages; every change is a runbook run.

pub mod app;
pub mod catalog;
pub mod fuzzy;
pub mod inventory;
pub mod keymap;
pub mod live;
pub mod modal;
pub mod msg;
pub mod render;
pub mod revisions;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod worker;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use app::App;
use msg::{Intent, Msg};
use worker::Worker;

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("drawing: {0}")]
    Draw(String),
}

/// When to write timings (first frame, first inventory frame) for the startup benchmark:
/// milliseconds since the Unix epoch, one `name millis` line each.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub file: Option<PathBuf>,
    /// Quit once the inventory has been drawn (benchmarks).
    pub exit_after_inventory: bool,
}

impl Timing {
    pub fn from_env() -> Timing {
        Timing {
            file: std::env::var_os("AZDECK_TUI_TIMING").map(PathBuf::from),
            exit_after_inventory: std::env::var_os("AZDECK_TUI_EXIT_AFTER_INVENTORY").is_some(),
        }
    }

    pub fn mark(&self, name: &str) {
        let Some(path) = &self.file else { return };
        let millis = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        // Peak resident memory so far (Linux), for the memory goal.
        let peak_kb = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            })
            .unwrap_or_default();
        let line = format!("{name} {millis} {peak_kb}\n");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    }
}

/// Redraw at least this often while something animates (spinner, elapsed time).
const TICK: Duration = Duration::from_millis(120);

/// The loop: draw, then wait for a key, a message or a tick; keys and messages become intents
/// for the worker. Generic over the backend and the event source so tests can drive it.
pub async fn run_loop<B, E>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    worker: &mut Worker,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    mut events: E,
    timing: &Timing,
) -> Result<(), TuiError>
where
    B: Backend,
    E: Stream<Item = std::io::Result<crossterm::event::Event>> + Unpin,
{
    let mut first = true;
    let mut inventory_marked = false;
    for intent in app.start() {
        worker.dispatch(intent);
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        app.headroom = worker::headroom(&worker.session());
        terminal
            .draw(|frame| app.render(frame))
            .map_err(|e| TuiError::Draw(e.to_string()))?;
        app.tick += 1;
        if first {
            timing.mark("first_frame");
            first = false;
        }
        if !inventory_marked && !app.inventory.loading && !app.inventory.items.is_empty() {
            timing.mark("inventory_frame");
            inventory_marked = true;
            if timing.exit_after_inventory {
                return Ok(());
            }
        }
        if app.quit {
            return Ok(());
        }
        let mut intents: Vec<Intent> = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(crossterm::event::Event::Key(key))) => intents.extend(app.handle_key(key)),
                Some(Ok(crossterm::event::Event::Mouse(mouse))) => intents.extend(app.handle_mouse(mouse)),
                // Resize and focus changes: the next draw uses the new size.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(TuiError::Terminal(e)),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => {
                intents.extend(app.handle_msg(msg));
                // Whatever else is ready goes into the same frame (a burst of run events).
                while let Ok(more) = rx.try_recv() {
                    intents.extend(app.handle_msg(more));
                }
            },
            _ = tick.tick(), if app.animating() || app.notice_fresh() => {}
        }
        for intent in intents {
            if intent == Intent::Quit {
                app.quit = true;
                continue;
            }
            worker.dispatch(intent);
        }
    }
}
