//! What flows between the UI and the background: intents (the UI asks) and messages (results
//! come back). The UI turns keys into intents and renders from the state messages build; it
//! never awaits anything itself.

use std::sync::Arc;

use serde_json::Value;

use crate::azure::containerapps::{ContainerApp, Revision};
use crate::azure::resources::InventoryItem;
use crate::runbook::confirm::{ConfirmRequest, Confirmation};
use crate::runbook::events::RunEvent;
use crate::store::{AuditEvent, AuditReport, RunRecord, StepRecord};

/// A secret expiring within this many days earns its vault a badge.
pub const EXPIRY_WARNING_DAYS: i64 = 7;

/// A run started from this UI, numbered before the engine gives it a run id.
pub type Ticket = u64;

/// Something the UI wants done outside the draw loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Quit,
    /// The environment's resources (replaces any inventory load still in flight).
    LoadInventory,
    /// Revisions of one app, for the Revisions screen and the inventory's health badges.
    LoadRevisions {
        app_id: String,
    },
    /// Health of these apps' serving revisions (inventory badges), a few at a time.
    LoadAppHealth {
        app_ids: Vec<String>,
    },
    /// How many secrets of these Key Vaults (id, name) expire soon (inventory badges).
    LoadVaultExpiry {
        vaults: Vec<(String, String)>,
    },
    /// The resource's JSON for the detail pane.
    LoadDetail {
        id: String,
    },
    LoadRuns,
    LoadRunDetail {
        run_id: String,
    },
    VerifyAudit,
    /// A dry run: the plan of `runbook` with `params`, changing nothing.
    Plan {
        ticket: Ticket,
        runbook: String,
        params: Vec<(String, String)>,
    },
    /// The real run (after its plan was shown); confirmations come back as `Msg::Confirm`.
    Run {
        ticket: Ticket,
        runbook: String,
        params: Vec<(String, String)>,
    },
    /// Go on with a stopped run; `params` are its secret params again (never stored).
    Resume {
        ticket: Ticket,
        run_id: String,
        params: Vec<(String, String)>,
    },
    /// The answer to `Msg::Confirm { id, .. }`.
    Answer {
        id: u64,
        answer: Confirmation,
    },
    /// Stop a run at its next step boundary (state saved; resumable).
    Interrupt {
        ticket: Ticket,
    },
    SwitchEnv {
        name: String,
    },
}

/// The environment as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvSummary {
    pub name: String,
    pub protected: bool,
    pub read_only: bool,
    pub cloud: String,
    pub identity: String,
    pub subscriptions: usize,
    /// Where the portal shows a resource (`https://portal.azure.com`), if the cloud has one.
    pub portal: Option<String>,
    pub tenant: String,
}

/// ARM's remaining request budget, from the last response headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Headroom {
    pub reads: Option<u64>,
    pub writes: Option<u64>,
    pub throttled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppRevisions {
    pub app: ContainerApp,
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    pub run: RunRecord,
    pub steps: Vec<StepRecord>,
    pub events: Vec<AuditEvent>,
}

/// A result from the background.
#[derive(Debug)]
pub enum Msg {
    InventoryProgress {
        count: usize,
    },
    Inventory(Result<Arc<Vec<InventoryItem>>, String>),
    Revisions {
        app_id: String,
        result: Result<Box<AppRevisions>, String>,
    },
    /// Whether the revisions serving an app's traffic are all healthy.
    AppHealth {
        app_id: String,
        healthy: bool,
    },
    /// Enabled secrets of a vault that have expired or expire within `EXPIRY_WARNING_DAYS`.
    VaultExpiry {
        vault_id: String,
        expiring: usize,
    },
    Detail {
        id: String,
        result: Result<Value, String>,
    },
    Runs(Result<Vec<RunRecord>, String>),
    RunDetail(Result<Box<RunDetail>, String>),
    Audit(Result<AuditReport, String>),
    /// An event of a run this UI started (already masked by the engine).
    Run {
        ticket: Ticket,
        event: RunEvent,
    },
    /// The run could not start (bad params, no such runbook, busy) or ended with an error.
    RunError {
        ticket: Ticket,
        error: String,
    },
    /// The engine is done with the run (events all delivered before this).
    RunDone {
        ticket: Ticket,
    },
    /// A run waits for the user's yes.
    Confirm {
        id: u64,
        request: ConfirmRequest,
    },
    EnvSwitched(Result<EnvSummary, String>),
    /// A warning worth a line in the status bar (bad key bindings, theme entries).
    Warning(String),
}
