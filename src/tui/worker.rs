//! The background side of the TUI: each intent becomes a task that talks to Azure, the store or
//! the runbook engine, and sends its result back as a `Msg`. A newer refresh of a view aborts the
//! one still in flight, so only the latest result arrives. Runs are tasks of their own and keep
//! going while the user looks elsewhere.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

use super::msg::{AppRevisions, EnvSummary, Headroom, Intent, Msg, RunDetail, Ticket};
use crate::azure::containerapps::ContainerApps;
use crate::azure::http::http_client;
use crate::azure::inventory;
use crate::azure::keyvault::KeyVaultClient;
use crate::azure::resources::{self, ResourceId};
use crate::azure::session::Session;
use crate::runbook::action::Registry;
use crate::runbook::confirm::{ConfirmRequest, Confirmation, Confirmer};
use crate::runbook::engine::{environment_of, Engine, ResumeOptions, RunRequest, Stop};
use crate::runbook::loader::Catalog;
use crate::runbook::params::{self, Scope};
use crate::store::Store;

/// Opens a session on a named environment (the demo hands its simulator's credentials here).
pub type Connector = Arc<dyn Fn(&str) -> Result<Session, String> + Send + Sync>;

/// How many apps' revisions the inventory reads at once for its health badges.
const HEALTH_CONCURRENCY: usize = 4;

/// Where a refresh belongs: a newer one of the same view replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum View {
    Inventory,
    AppHealth,
    VaultExpiry,
    Revisions,
    Detail,
    Runs,
    RunDetail,
    Audit,
}

struct RunHandle {
    soft: watch::Sender<bool>,
    _hard: watch::Sender<bool>,
}

pub struct Worker {
    tx: mpsc::UnboundedSender<Msg>,
    connector: Connector,
    /// The environment's session; switching environments replaces it from a blocking task.
    session: Arc<Mutex<Arc<Session>>>,
    store: Store,
    catalog: Arc<Catalog>,
    registry: Arc<Registry>,
    views: HashMap<View, AbortHandle>,
    runs: Arc<Mutex<HashMap<Ticket, RunHandle>>>,
    confirmations: Arc<Mutex<HashMap<u64, oneshot::Sender<Confirmation>>>>,
}

pub fn summary(session: &Session) -> EnvSummary {
    let env = &session.environment;
    let identity = match &env.client_id {
        Some(id) => format!("{} {}", env.credential.as_str(), short_id(id)),
        None => env.credential.as_str().to_string(),
    };
    EnvSummary {
        name: session.name.clone(),
        protected: env.protected,
        read_only: env.read_only,
        cloud: if env.cloud.is_empty() {
            "custom".into()
        } else {
            env.cloud.clone()
        },
        identity,
        subscriptions: env.subscriptions.len(),
        portal: session.cloud.portal.clone(),
        tenant: env.tenant.clone(),
    }
}

fn short_id(id: &str) -> String {
    match id.get(..8) {
        Some(head) if id.len() > 8 => format!("{head}…"),
        _ => id.to_string(),
    }
}

/// The pipeline's view of ARM's remaining budget.
pub fn headroom(session: &Session) -> Headroom {
    let h = session.pipeline.headroom();
    let h = h.lock();
    Headroom {
        reads: h.reads,
        writes: h.writes,
        throttled: h
            .throttled_until
            .is_some_and(|t| t > std::time::Instant::now()),
    }
}

impl Worker {
    pub fn new(
        tx: mpsc::UnboundedSender<Msg>,
        connector: Connector,
        session: Session,
        store: Store,
        catalog: Catalog,
    ) -> Worker {
        Worker {
            tx,
            connector,
            session: Arc::new(Mutex::new(Arc::new(session))),
            store,
            catalog: Arc::new(catalog),
            registry: Arc::new(Registry::builtin()),
            views: HashMap::new(),
            runs: Arc::new(Mutex::new(HashMap::new())),
            confirmations: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn session(&self) -> Arc<Session> {
        self.session.lock().clone()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Runs in flight (started here).
    pub fn runs_in_flight(&self) -> usize {
        self.runs.lock().len()
    }

    /// Starts the work `intent` asks for; never blocks.
    pub fn dispatch(&mut self, intent: Intent) {
        match intent {
            Intent::Quit => {}
            Intent::LoadInventory => {
                let session = self.session();
                let tx = self.tx.clone();
                self.replace(View::Inventory, async move {
                    let env = &session.environment;
                    let scope = inventory::Scope {
                        subscriptions: &env.subscriptions,
                        resource_groups: &env.resource_groups,
                        resource_type: None,
                    };
                    let progress_tx = tx.clone();
                    let result = inventory::load(&session.pipeline, &scope, move |count| {
                        let _ = progress_tx.send(Msg::InventoryProgress { count });
                    })
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Inventory(result));
                });
            }
            Intent::LoadAppHealth { app_ids } => {
                let session = self.session();
                let tx = self.tx.clone();
                self.replace(View::AppHealth, async move {
                    let apps = ContainerApps::new(&session.pipeline);
                    let apps = &apps;
                    let mut checks = futures::stream::iter(app_ids)
                        .map(|app_id| async move {
                            let result = apps.get(&app_id).await;
                            let revisions = apps.revisions(&app_id).await;
                            (app_id, result, revisions)
                        })
                        .buffer_unordered(HEALTH_CONCURRENCY);
                    while let Some((app_id, app, revisions)) = checks.next().await {
                        if let (Ok(app), Ok(revisions)) = (app, revisions) {
                            let healthy = serving_healthy(&app, &revisions);
                            let _ = tx.send(Msg::AppHealth { app_id, healthy });
                        }
                    }
                });
            }
            Intent::LoadVaultExpiry { vaults } => {
                let session = self.session();
                let tx = self.tx.clone();
                self.replace(View::VaultExpiry, async move {
                    let session = &session;
                    let soon = chrono::Utc::now()
                        + chrono::Duration::days(super::msg::EXPIRY_WARNING_DAYS);
                    let mut checks = futures::stream::iter(vaults)
                        .map(|(vault_id, name)| async move {
                            let secrets = match KeyVaultClient::for_vault(&session.pipeline, &name)
                            {
                                Ok(client) => client.list_secrets().await,
                                Err(e) => Err(e),
                            };
                            (vault_id, name, secrets)
                        })
                        .buffer_unordered(HEALTH_CONCURRENCY);
                    while let Some((vault_id, name, secrets)) = checks.next().await {
                        match secrets {
                            Ok(secrets) => {
                                let expiring = secrets
                                    .iter()
                                    .filter(|s| s.enabled != Some(false))
                                    .filter(|s| s.expires.is_some_and(|e| e <= soon))
                                    .count();
                                let _ = tx.send(Msg::VaultExpiry { vault_id, expiring });
                            }
                            // No data-plane access (RBAC, network) is common: no badge, a log line.
                            Err(e) => tracing::info!(vault = %name, error = %e, "cannot list the vault's secrets"),
                        }
                    }
                });
            }
            Intent::LoadRevisions { app_id } => {
                let session = self.session();
                let tx = self.tx.clone();
                self.replace(View::Revisions, async move {
                    let apps = ContainerApps::new(&session.pipeline);
                    let result = async {
                        let app = apps.get(&app_id).await?;
                        let revisions = apps.revisions(&app_id).await?;
                        Ok::<_, crate::azure::containerapps::AppError>(Box::new(AppRevisions {
                            app,
                            revisions,
                        }))
                    }
                    .await
                    .map_err(|e| e.to_string());
                    if let Ok(r) = &result {
                        let _ = tx.send(Msg::AppHealth {
                            app_id: app_id.clone(),
                            healthy: serving_healthy(&r.app, &r.revisions),
                        });
                    }
                    let _ = tx.send(Msg::Revisions { app_id, result });
                });
            }
            Intent::LoadDetail { id } => {
                let session = self.session();
                let tx = self.tx.clone();
                self.replace(View::Detail, async move {
                    let result = match ResourceId::parse(&id) {
                        Ok(rid) => resources::get(&session.pipeline, &rid)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = tx.send(Msg::Detail { id, result });
                });
            }
            Intent::LoadRuns => {
                let store = self.store.clone();
                let tx = self.tx.clone();
                self.replace(View::Runs, async move {
                    let result = store.runs(200).await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Runs(result));
                });
            }
            Intent::LoadRunDetail { run_id } => {
                let store = self.store.clone();
                let tx = self.tx.clone();
                self.replace(View::RunDetail, async move {
                    let result = async {
                        let run = store
                            .run(&run_id)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or_else(|| format!("no run {run_id}"))?;
                        let steps = store.steps(&run_id).await.map_err(|e| e.to_string())?;
                        let events = store
                            .events(Some(&run_id), 0, 2000)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok(Box::new(RunDetail { run, steps, events }))
                    }
                    .await;
                    let _ = tx.send(Msg::RunDetail(result));
                });
            }
            Intent::VerifyAudit => {
                let store = self.store.clone();
                let tx = self.tx.clone();
                self.replace(View::Audit, async move {
                    let result = store.verify().await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Audit(result));
                });
            }
            Intent::Plan {
                ticket,
                runbook,
                params,
            } => self.start_run(ticket, Job::Start { runbook, params }, true),
            Intent::Run {
                ticket,
                runbook,
                params,
            } => self.start_run(ticket, Job::Start { runbook, params }, false),
            Intent::Resume {
                ticket,
                run_id,
                params,
            } => self.start_run(ticket, Job::Resume { run_id, params }, false),
            Intent::Answer { id, answer } => {
                if let Some(reply) = self.confirmations.lock().remove(&id) {
                    let _ = reply.send(answer);
                }
            }
            Intent::Interrupt { ticket } => {
                if let Some(run) = self.runs.lock().get(&ticket) {
                    let _ = run.soft.send(true);
                }
            }
            Intent::SwitchEnv { name } => {
                for (_, handle) in self.views.drain() {
                    handle.abort();
                }
                let connector = self.connector.clone();
                let slot = self.session.clone();
                let tx = self.tx.clone();
                // Connecting may read the OS keyring (a D-Bus call): never on the UI's thread.
                tokio::task::spawn_blocking(move || match connector(&name) {
                    Ok(session) => {
                        let summary = summary(&session);
                        *slot.lock() = Arc::new(session);
                        let _ = tx.send(Msg::EnvSwitched(Ok(summary)));
                    }
                    Err(e) => {
                        let _ = tx.send(Msg::EnvSwitched(Err(e)));
                    }
                });
            }
        }
    }

    /// Runs `task` as the one refresh of `view`, aborting the previous one if still running.
    fn replace(
        &mut self,
        view: View,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        if let Some(previous) = self.views.remove(&view) {
            previous.abort();
        }
        let handle = tokio::spawn(task);
        self.views.insert(view, handle.abort_handle());
    }

    fn start_run(&mut self, ticket: Ticket, job: Job, dry_run: bool) {
        let (soft_tx, soft) = watch::channel(false);
        let (hard_tx, hard) = watch::channel(false);
        self.runs.lock().insert(
            ticket,
            RunHandle {
                soft: soft_tx,
                _hard: hard_tx,
            },
        );
        let context = RunContext {
            ticket,
            tx: self.tx.clone(),
            session: self.session(),
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            registry: self.registry.clone(),
            confirmations: self.confirmations.clone(),
            runs: self.runs.clone(),
        };
        tokio::spawn(async move {
            let tx = context.tx.clone();
            if let Err(error) = context.drive(job, dry_run, Stop::new(soft, hard)).await {
                let _ = tx.send(Msg::RunError { ticket, error });
            }
            context.runs.lock().remove(&ticket);
            let _ = tx.send(Msg::RunDone { ticket });
        });
    }
}

/// Whether every revision taking traffic is healthy (no traffic at all counts as healthy).
pub fn serving_healthy(
    app: &crate::azure::containerapps::ContainerApp,
    revisions: &[crate::azure::containerapps::Revision],
) -> bool {
    revisions
        .iter()
        .filter(|r| r.is_active() && r.properties.traffic_weight.unwrap_or(0) > 0)
        .all(|r| r.is_healthy())
        && app
            .properties
            .latest_revision_name
            .as_deref()
            .is_none_or(|latest| {
                // In Single mode the latest revision serves; its health decides.
                app.revision_mode() != "Single"
                    || revisions
                        .iter()
                        .find(|r| r.name == latest)
                        .is_none_or(|r| r.is_healthy())
            })
}

enum Job {
    Start {
        runbook: String,
        params: Vec<(String, String)>,
    },
    Resume {
        run_id: String,
        params: Vec<(String, String)>,
    },
}

/// What a run task owns: the engine borrows from here for the run's lifetime.
struct RunContext {
    ticket: Ticket,
    tx: mpsc::UnboundedSender<Msg>,
    session: Arc<Session>,
    store: Store,
    catalog: Arc<Catalog>,
    registry: Arc<Registry>,
    confirmations: Arc<Mutex<HashMap<u64, oneshot::Sender<Confirmation>>>>,
    runs: Arc<Mutex<HashMap<Ticket, RunHandle>>>,
}

impl RunContext {
    async fn drive(&self, job: Job, dry_run: bool, stop: Stop) -> Result<(), String> {
        let http = http_client(&self.session.cloud).map_err(|e| e.to_string())?;
        let confirmer = UiConfirmer {
            tx: self.tx.clone(),
            pending: self.confirmations.clone(),
        };
        let (events_tx, mut events_rx) = mpsc::unbounded_channel();
        let forward = {
            let tx = self.tx.clone();
            let ticket = self.ticket;
            tokio::spawn(async move {
                while let Some(event) = events_rx.recv().await {
                    let _ = tx.send(Msg::Run { ticket, event });
                }
            })
        };
        let env = &self.session.environment;
        let (environment, env_context) = environment_of(&self.session);
        let engine = Engine {
            registry: &self.registry,
            store: &self.store,
            azure: Some(&self.session.pipeline),
            http: Some(&http),
            confirmer: &confirmer,
            events: Some(events_tx),
            stop,
        };
        let result = match job {
            Job::Start { runbook, params } => {
                let entry = self
                    .catalog
                    .get(&runbook)
                    .ok_or_else(|| format!("no runbook named '{runbook}'"))?;
                let parsed = entry
                    .parsed
                    .as_ref()
                    .map_err(|e| format!("{}: {e}", entry.source.file_name()))?;
                let mut typed =
                    params::parse(&parsed.params, &params).map_err(|e| e.to_string())?;
                params::resolve_resources(
                    &mut typed,
                    &parsed.params,
                    &self.session.pipeline,
                    &Scope {
                        environment: &self.session.name,
                        subscriptions: &env.subscriptions,
                        resource_groups: &env.resource_groups,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
                engine
                    .start(RunRequest {
                        runbook: parsed.clone(),
                        text: entry.text.clone(),
                        source: match &entry.source {
                            crate::runbook::loader::Source::Builtin(f) => format!("builtin:{f}"),
                            crate::runbook::loader::Source::File(p) => p.display().to_string(),
                        },
                        params: typed,
                        environment,
                        env_context,
                        dry_run,
                    })
                    .await
            }
            Job::Resume { run_id, params } => {
                let record = self
                    .store
                    .run(&run_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no run {run_id}"))?;
                if record.environment != self.session.name {
                    return Err(format!(
                        "run {run_id} belongs to environment '{}': switch to it to resume",
                        record.environment
                    ));
                }
                engine
                    .resume(
                        &record,
                        environment,
                        env_context,
                        ResumeOptions {
                            force_step: None,
                            params,
                        },
                    )
                    .await
            }
        };
        // The engine holds the events' sender: dropping it ends the forwarder after the last one.
        drop(engine);
        let _ = forward.await;
        result.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Confirmation through the UI: the request becomes a modal, the answer comes back as
/// `Intent::Answer`. A UI that goes away declines.
struct UiConfirmer {
    tx: mpsc::UnboundedSender<Msg>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Confirmation>>>>,
}

static NEXT_CONFIRMATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[async_trait]
impl Confirmer for UiConfirmer {
    async fn confirm(&self, request: &ConfirmRequest) -> Confirmation {
        let id = NEXT_CONFIRMATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.pending.lock().insert(id, reply);
        if self
            .tx
            .send(Msg::Confirm {
                id,
                request: request.clone(),
            })
            .is_err()
        {
            self.pending.lock().remove(&id);
            return Confirmation::Declined;
        }
        answer.await.unwrap_or(Confirmation::Declined)
    }
}
