//! The engine: runs a runbook's steps in order, checkpointing each step's state and outputs in the
//! store before the next starts, so a run can be resumed after a crash, an interrupt or a failure.
//!
//! A run holds a lease on every resource its params name, so two runs cannot change one resource
//! at once. Changes need confirmation: a `confirm` step, or, when a mutating step comes before any,
//! an implicit one showing that step's plan. A dry run executes only the read steps and asks each
//! mutating step for its plan.
//!
//! Resume replays the stored runbook text (not today's file), reuses the outputs of finished steps,
//! and re-runs a step interrupted mid-flight only when its action is idempotent or its `check`
//! says the change is not applied (or the operator forces it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::action::{
    ActionContext, ActionError, Check, DynAction, EnvironmentInfo, Registry, KNOWN_AFTER_APPLY,
};
use super::confirm::{ConfirmRequest, Confirmation, Confirmer};
use super::events::RunEvent;
use super::journal::{Journal, Masker};
use super::model::{OnFailure, Runbook, Step};
use super::params::{self, Params, MASK};
use super::template::{parse_duration, render_value, Template};
use crate::azure::http::{record_calls, CallSink, Pipeline};
use crate::store::{
    LeaseHolder, LeaseOutcome, NewRun, RunRecord, RunStatus, StepRecord, StepState, Store,
    StoreError,
};

/// Exit codes of a run (documented in the README).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const STEP_FAILED: i32 = 1;
    pub const ROLLED_BACK: i32 = 2;
    pub const INVALID: i32 = 3;
    pub const PRECONDITION: i32 = 4;
    pub const CONFIRMATION_REQUIRED: i32 = 5;
    pub const ABORTED: i32 = 10;
    pub const INTERNAL: i32 = 20;
}

/// How long a lease lasts without renewal (a crashed run's lease frees itself after this).
pub const LEASE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Boxed: the engine's results stay small on the happy path.
    #[error("{0}")]
    Busy(Box<Busy>),
    #[error(transparent)]
    Params(#[from] params::ParamError),
    #[error("the audit trail could not be written: {0}")]
    Audit(String),
    #[error("run {run_id} cannot be resumed: {reason}")]
    NotResumable { run_id: String, reason: String },
}

/// Another run holds the lease on a target.
#[derive(Debug)]
pub struct Busy {
    pub target: String,
    pub run_id: String,
    pub owner: String,
    pub pid: i64,
    pub since: String,
    pub until: String,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is in use by run {} ({}, pid {}) since {}; it is free again at {} unless that run goes on",
            self.target, self.run_id, self.owner, self.pid, self.since, self.until
        )
    }
}

impl EngineError {
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Store(_) | EngineError::Audit(_) => exit::INTERNAL,
            EngineError::Busy(_) => exit::PRECONDITION,
            EngineError::Params(_) => exit::INVALID,
            EngineError::NotResumable { .. } => exit::INVALID,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub run_id: String,
    pub status: RunStatus,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The user's interrupts: `soft` stops at the next step boundary, `hard` also stops waiting inside
/// the current step (the change it sent goes on in Azure; resume checks it).
#[derive(Clone)]
pub struct Stop {
    pub soft: watch::Receiver<bool>,
    pub hard: watch::Receiver<bool>,
    /// Keeps the senders of `never()` alive: a receiver whose sender is gone would read as
    /// "stopped" to anyone waiting on it.
    _never: Option<Arc<(watch::Sender<bool>, watch::Sender<bool>)>>,
}

impl Stop {
    /// Interrupts sent through the senders of these receivers.
    pub fn new(soft: watch::Receiver<bool>, hard: watch::Receiver<bool>) -> Stop {
        Stop {
            soft,
            hard,
            _never: None,
        }
    }

    /// Never set: for runs nobody interrupts.
    pub fn never() -> Stop {
        let (soft_tx, soft) = watch::channel(false);
        let (hard_tx, hard) = watch::channel(false);
        Stop {
            soft,
            hard,
            _never: Some(Arc::new((soft_tx, hard_tx))),
        }
    }
}

/// A run to start.
pub struct RunRequest {
    pub runbook: Runbook,
    /// The YAML the runbook was parsed from: stored, so resume replays exactly this.
    pub text: String,
    /// Where it came from (`builtin:containerapp-rollback.yaml`, a path).
    pub source: String,
    pub params: Params,
    pub environment: EnvironmentInfo,
    /// `env` in templates: name, protected, readOnly, cloud, tenant, subscriptions, resourceGroups.
    pub env_context: Value,
    pub dry_run: bool,
}

/// What resume needs besides the stored run.
#[derive(Default)]
pub struct ResumeOptions {
    /// Re-run this step even if it was interrupted mid-flight and cannot be checked.
    pub force_step: Option<String>,
    /// Secret params again (they were never stored).
    pub params: Vec<(String, String)>,
}

/// The engine's collaborators; cheap to build per run.
pub struct Engine<'a> {
    pub registry: &'a Registry,
    pub store: &'a Store,
    pub azure: Option<&'a Pipeline>,
    pub http: Option<&'a reqwest::Client>,
    pub confirmer: &'a dyn Confirmer,
    /// Where the CLI or TUI receives events (the store always gets them).
    pub events: Option<mpsc::UnboundedSender<RunEvent>>,
    pub stop: Stop,
}

/// Why a step did not succeed, as the run's end sees it.
struct StepFailure {
    step: String,
    error: ActionError,
}

fn failure_exit(e: &ActionError) -> (RunStatus, i32) {
    match e {
        ActionError::Precondition(_) => (RunStatus::Failed, exit::PRECONDITION),
        ActionError::ConfirmationRequired(_) => (RunStatus::Aborted, exit::CONFIRMATION_REQUIRED),
        ActionError::Declined => (RunStatus::Aborted, exit::ABORTED),
        ActionError::Cancelled => (RunStatus::Interrupted, exit::ABORTED),
        ActionError::Input(_) => (RunStatus::Failed, exit::INVALID),
        _ => (RunStatus::Failed, exit::STEP_FAILED),
    }
}

fn retryable(e: &ActionError, idempotent: bool) -> bool {
    match e {
        ActionError::Azure(_) | ActionError::Timeout(_) | ActionError::Failed(_) => true,
        ActionError::OutcomeUnknown(_) => idempotent,
        _ => false,
    }
}

/// What a run knows of its environment: the engine's view (name, protected, read-only) and `env`
/// in templates (name, protected, readOnly, cloud, tenant, subscriptions, resourceGroups).
pub fn environment_of(session: &crate::azure::session::Session) -> (EnvironmentInfo, Value) {
    let env = &session.environment;
    let info = EnvironmentInfo {
        name: session.name.clone(),
        protected: env.protected,
        read_only: env.read_only,
    };
    let context = serde_json::json!({
        "name": session.name,
        "protected": env.protected,
        "readOnly": env.read_only,
        "cloud": env.cloud,
        "tenant": env.tenant,
        "subscriptions": env.subscriptions,
        "resourceGroups": env.resource_groups,
    });
    (info, context)
}

pub fn inputs_hash(inputs: &Value) -> String {
    let text = serde_json::to_string(inputs).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `user@host` for leases and the audit trail.
pub fn operator() -> (String, String) {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    (format!("{user}@{host}"), host)
}

fn lease_holder(run_id: &str) -> LeaseHolder {
    let (owner, host) = operator();
    LeaseHolder {
        run_id: run_id.to_string(),
        owner,
        host,
        pid: i64::from(std::process::id()),
    }
}

/// The account this process runs as, when the environment does not say (services, containers):
/// the audit trail records who ran what.
#[cfg(unix)]
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let owner: u32 = fields.get(2)?.parse().ok()?;
        (owner == uid).then(|| fields[0].to_string())
    })
}

#[cfg(not(unix))]
fn user_from_passwd() -> Option<String> {
    None
}

/// Whether a process of this host still runs (a crashed run's lease can be taken over at once).
fn process_alive(pid: i64) -> Option<bool> {
    if cfg!(target_os = "linux") {
        Some(std::path::Path::new(&format!("/proc/{pid}")).exists())
    } else {
        None
    }
}

/// The mutable state of one execution (a start or a resume).
struct Execution {
    run_id: String,
    runbook: Runbook,
    params: Params,
    environment: EnvironmentInfo,
    context: Value,
    dry_run: bool,
    /// Steps finished before a resume, by id.
    prior: HashMap<String, StepRecord>,
    force_step: Option<String>,
    /// Indexes of succeeded steps, for rollback.
    succeeded: Vec<usize>,
    confirmed: bool,
    /// A failure with `onFailure: continue`.
    continued_failure: Option<StepFailure>,
}

impl Engine<'_> {
    /// Starts a run; returns when it ends (or stops at a boundary).
    pub async fn start(&self, request: RunRequest) -> Result<Outcome, EngineError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let (owner, _) = operator();
        let runbook_hash = inputs_hash(&Value::String(request.text.clone()));
        self.store
            .create_run(&NewRun {
                id: run_id.clone(),
                runbook: request.runbook.metadata.name.clone(),
                runbook_source: request.source.clone(),
                runbook_text: request.text.clone(),
                runbook_hash,
                environment: request.environment.name.clone(),
                params: request.params.masked(),
                started_by: owner.clone(),
                dry_run: request.dry_run,
            })
            .await?;
        let context = json!({
            "params": request.params.context(),
            "env": request.env_context,
            "steps": {},
            "run": {
                "id": run_id,
                "runbook": request.runbook.metadata.name,
                "startedAt": now_rfc3339(),
                "startedBy": owner,
                "dryRun": request.dry_run,
            },
        });
        let execution = Execution {
            run_id,
            runbook: request.runbook,
            params: request.params,
            environment: request.environment,
            context,
            dry_run: request.dry_run,
            prior: HashMap::new(),
            force_step: None,
            succeeded: Vec::new(),
            confirmed: false,
            continued_failure: None,
        };
        self.execute(execution, false).await
    }

    /// Resumes a run that did not finish (crashed, interrupted, failed or refused confirmation).
    pub async fn resume(
        &self,
        record: &RunRecord,
        environment: EnvironmentInfo,
        env_context: Value,
        options: ResumeOptions,
    ) -> Result<Outcome, EngineError> {
        let not_resumable = |reason: String| EngineError::NotResumable {
            run_id: record.id.clone(),
            reason,
        };
        if matches!(record.status, RunStatus::Succeeded | RunStatus::RolledBack) {
            return Err(not_resumable(format!(
                "it already {}",
                record.status.as_str()
            )));
        }
        if record.dry_run {
            return Err(not_resumable("it was a dry run".into()));
        }
        if record.environment != environment.name {
            return Err(not_resumable(format!(
                "it ran in environment '{}', not '{}'",
                record.environment, environment.name
            )));
        }
        let runbook: Runbook = serde_yaml::from_str(&record.runbook_text)
            .map_err(|e| not_resumable(format!("its stored runbook no longer parses: {e}")))?;
        if let Some(force) = &options.force_step {
            if runbook.step(force).is_none() {
                return Err(not_resumable(format!("it has no step '{force}'")));
            }
        }
        let params = stored_params(&runbook, &record.params, &options.params)?;
        let prior: HashMap<String, StepRecord> = self
            .store
            .steps(&record.id)
            .await?
            .into_iter()
            .map(|s| (s.step_id.clone(), s))
            .collect();
        let context = json!({
            "params": params.context(),
            "env": env_context,
            "steps": {},
            "run": {
                "id": record.id,
                "runbook": runbook.metadata.name,
                "startedAt": record.started_at,
                "startedBy": record.started_by,
                "dryRun": false,
            },
        });
        let execution = Execution {
            run_id: record.id.clone(),
            runbook,
            params,
            environment,
            context,
            dry_run: false,
            prior,
            force_step: options.force_step,
            succeeded: Vec::new(),
            confirmed: false,
            continued_failure: None,
        };
        self.execute(execution, true).await
    }

    async fn acquire_leases(&self, ex: &Execution) -> Result<Vec<String>, EngineError> {
        let holder = lease_holder(&ex.run_id);
        let host = holder.host.clone();
        let mut targets: Vec<String> = ex
            .params
            .resources(&ex.runbook.params)
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        targets.sort();
        targets.dedup();
        let mut held = Vec::new();
        for target in &targets {
            let outcome = self.store.acquire_lease(target, &holder, LEASE_TTL).await?;
            let refused = match outcome {
                LeaseOutcome::Acquired => None,
                LeaseOutcome::Held(lease) => {
                    // Our own run, crashed on this host: take its lease over at once.
                    let crashed_here = lease.run_id == ex.run_id
                        && lease.host == host
                        && process_alive(lease.pid) == Some(false);
                    if crashed_here
                        && self
                            .store
                            .take_over_lease(target, &lease, &holder, LEASE_TTL)
                            .await?
                    {
                        None
                    } else {
                        Some(lease)
                    }
                }
            };
            if let Some(lease) = refused {
                self.store.release_run_leases(&ex.run_id).await?;
                return Err(EngineError::Busy(Box::new(Busy {
                    target: target.clone(),
                    run_id: lease.run_id,
                    owner: lease.owner,
                    pid: lease.pid,
                    since: lease
                        .acquired_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    until: lease
                        .expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })));
            }
            held.push(target.clone());
        }
        Ok(held)
    }

    async fn execute(&self, mut ex: Execution, resumed: bool) -> Result<Outcome, EngineError> {
        let masker = Masker {
            secrets: ex.params.secret_values(),
        };
        let leased = if ex.dry_run {
            Vec::new()
        } else {
            match self.acquire_leases(&ex).await {
                Ok(l) => l,
                Err(e) => {
                    if !resumed {
                        self.store
                            .update_run(&ex.run_id, RunStatus::Aborted, Some(e.exit_code()), None)
                            .await?;
                    }
                    return Err(e);
                }
            }
        };
        let (journal, writer) = Journal::start(
            self.store.clone(),
            ex.run_id.clone(),
            self.events.clone(),
            masker.clone(),
        );
        // Keep the leases alive while the run goes on.
        let heartbeat = (!leased.is_empty()).then(|| {
            let store = self.store.clone();
            let holder = lease_holder(&ex.run_id);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    if let Err(e) = store.renew_leases(&holder, LEASE_TTL).await {
                        tracing::warn!(error = %e, "lease renewal failed");
                    }
                }
            })
        });
        if resumed {
            self.store
                .update_run(&ex.run_id, RunStatus::Running, None, None)
                .await?;
        }
        journal.emit(RunEvent::RunStarted {
            run_id: ex.run_id.clone(),
            runbook: ex.runbook.metadata.name.clone(),
            environment: ex.environment.name.clone(),
            params: ex.params.masked(),
            dry_run: ex.dry_run,
            resumed,
        });
        let result = self.steps(&mut ex, &journal, &masker).await;
        if let Some(h) = heartbeat {
            h.abort();
        }
        let outcome = match result {
            Ok(o) => o,
            Err(e) => Outcome {
                run_id: ex.run_id.clone(),
                status: RunStatus::Failed,
                exit_code: e.exit_code(),
                failed_step: None,
                error: Some(masker.text(&e.to_string())),
            },
        };
        journal.emit(RunEvent::RunFinished {
            run_id: outcome.run_id.clone(),
            status: outcome.status.as_str().to_string(),
            exit_code: outcome.exit_code,
            failed_step: outcome.failed_step.clone(),
            error: outcome.error.clone(),
        });
        let flushed = journal.flush().await;
        drop(journal);
        let _ = writer.await;
        self.store
            .update_run(
                &ex.run_id,
                outcome.status,
                Some(outcome.exit_code),
                outcome.failed_step.as_deref(),
            )
            .await?;
        if !leased.is_empty() {
            self.store.release_run_leases(&ex.run_id).await?;
        }
        flushed?;
        Ok(outcome)
    }

    fn context_for<'c>(
        &'c self,
        ex: &'c Execution,
        step: &'c Step,
        timeout: Duration,
        progress: &'c (dyn Fn(String) + Send + Sync),
    ) -> ActionContext<'c> {
        ActionContext {
            azure: self.azure,
            http: self.http,
            environment: &ex.environment,
            run_id: &ex.run_id,
            step_id: &step.id,
            timeout,
            confirmer: self.confirmer,
            progress,
            cancel: self.stop.hard.clone(),
        }
    }

    fn set_step_context(ex: &mut Execution, id: &str, state: &str, outputs: Value) {
        if let Some(steps) = ex.context.get_mut("steps").and_then(Value::as_object_mut) {
            steps.insert(id.to_string(), json!({"state": state, "outputs": outputs}));
        }
    }

    async fn checkpoint(&self, journal: &Journal, record: StepRecord) -> Result<(), EngineError> {
        journal.flush().await?;
        self.store.save_step(&record).await?;
        Ok(())
    }

    fn outcome(
        ex: &Execution,
        status: RunStatus,
        exit_code: i32,
        failure: Option<&StepFailure>,
        masker: &Masker,
    ) -> Outcome {
        Outcome {
            run_id: ex.run_id.clone(),
            status,
            exit_code,
            failed_step: failure.map(|f| f.step.clone()),
            error: failure.map(|f| masker.text(&f.error.to_string())),
        }
    }

    async fn steps(
        &self,
        ex: &mut Execution,
        journal: &Journal,
        masker: &Masker,
    ) -> Result<Outcome, EngineError> {
        for idx in 0..ex.runbook.steps.len() {
            let step = ex.runbook.steps[idx].clone();
            // Finished before a resume: reuse.
            if let Some(prior) = ex.prior.get(&step.id).cloned() {
                match prior.state {
                    StepState::Succeeded => {
                        Self::set_step_context(
                            ex,
                            &step.id,
                            "succeeded",
                            prior.outputs.clone().unwrap_or(Value::Object(Map::new())),
                        );
                        ex.succeeded.push(idx);
                        journal.emit(RunEvent::StepReused {
                            step: step.id.clone(),
                        });
                        continue;
                    }
                    StepState::Skipped => {
                        Self::set_step_context(ex, &step.id, "skipped", json!({}));
                        journal.emit(RunEvent::StepReused {
                            step: step.id.clone(),
                        });
                        continue;
                    }
                    _ => {}
                }
            }
            if *self.stop.soft.borrow() {
                return Ok(Self::outcome(
                    ex,
                    RunStatus::Interrupted,
                    exit::ABORTED,
                    Some(&StepFailure {
                        step: step.id.clone(),
                        error: ActionError::Cancelled,
                    }),
                    masker,
                ));
            }
            match self.step(ex, idx, &step, journal, masker).await? {
                None => {}
                Some(failure) => {
                    let (status, code) = failure_exit(&failure.error);
                    let abort_only = matches!(
                        failure.error,
                        ActionError::Cancelled
                            | ActionError::ConfirmationRequired(_)
                            | ActionError::Declined
                    );
                    match step.on_failure {
                        OnFailure::Continue if !abort_only => {
                            ex.continued_failure.get_or_insert(failure);
                        }
                        OnFailure::Rollback if !abort_only && !ex.dry_run => {
                            let clean = self.rollback(ex, journal, masker).await?;
                            let (status, code) = if clean {
                                (RunStatus::RolledBack, exit::ROLLED_BACK)
                            } else {
                                (RunStatus::Failed, exit::STEP_FAILED)
                            };
                            return Ok(Self::outcome(ex, status, code, Some(&failure), masker));
                        }
                        _ => return Ok(Self::outcome(ex, status, code, Some(&failure), masker)),
                    }
                }
            }
        }
        Ok(match ex.continued_failure.take() {
            Some(f) => Self::outcome(ex, RunStatus::Failed, exit::STEP_FAILED, Some(&f), masker),
            None => Self::outcome(ex, RunStatus::Succeeded, exit::SUCCESS, None, masker),
        })
    }

    fn step_record(ex: &Execution, idx: usize, step: &Step, state: StepState) -> StepRecord {
        StepRecord {
            run_id: ex.run_id.clone(),
            step_id: step.id.clone(),
            idx: idx as i64,
            state,
            attempt: 0,
            inputs_hash: None,
            inputs: None,
            outputs: None,
            error: None,
            started_at: Some(chrono::Utc::now()),
            finished_at: None,
            rolled_back: false,
        }
    }

    /// Runs one step; `Some` when it failed (after its retries).
    async fn step(
        &self,
        ex: &mut Execution,
        idx: usize,
        step: &Step,
        journal: &Journal,
        masker: &Masker,
    ) -> Result<Option<StepFailure>, EngineError> {
        let fail = |error: ActionError| {
            Ok(Some(StepFailure {
                step: step.id.clone(),
                error,
            }))
        };
        if let Some(condition) = &step.when {
            let holds = Template::parse(condition).and_then(|t| t.render_condition(&ex.context));
            match holds {
                Ok(true) => {}
                Ok(false) => {
                    journal.emit(RunEvent::StepSkipped {
                        step: step.id.clone(),
                        reason: format!("when is false: {condition}"),
                    });
                    Self::set_step_context(ex, &step.id, "skipped", json!({}));
                    if !ex.dry_run {
                        let mut record = Self::step_record(ex, idx, step, StepState::Skipped);
                        record.finished_at = record.started_at;
                        self.checkpoint(journal, record).await?;
                    }
                    return Ok(None);
                }
                Err(e) => return fail(ActionError::Input(format!("when: {e}"))),
            }
        }
        let Some(action) = self.registry.get(&step.action).cloned() else {
            return fail(ActionError::Input(format!(
                "unknown action '{}'",
                step.action
            )));
        };
        let spec = action.spec();
        let inputs = match render_value(&Value::Object(step.with.clone()), &ex.context) {
            Ok(v) => v,
            Err(e) if ex.dry_run && depends_on_planned(step, &ex.context) => {
                return self.plan_unknown(ex, step, journal, &e.message);
            }
            Err(e) => return fail(ActionError::Input(format!("with {}", e.message))),
        };
        if let Err(e) = action.validate(&inputs) {
            if ex.dry_run && depends_on_planned(step, &ex.context) {
                return self.plan_unknown(ex, step, journal, &e.to_string());
            }
            return fail(e);
        }
        let hash = inputs_hash(&inputs);
        let shown_inputs = masker.value(&inputs);
        let timeout = step
            .timeout
            .as_deref()
            .and_then(parse_duration)
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(spec.default_timeout);

        if ex.dry_run {
            return self
                .dry_run_step(ex, step, action.as_ref(), &inputs, timeout, journal, masker)
                .await;
        }

        // A step interrupted mid-flight before a resume.
        if let Some(prior) = ex.prior.get(&step.id).cloned() {
            if matches!(prior.state, StepState::Running | StepState::Failed) {
                if prior.inputs_hash.as_deref().is_some_and(|h| h != hash) {
                    journal.emit(RunEvent::InputsChanged {
                        step: step.id.clone(),
                        before: prior.inputs.clone().unwrap_or(Value::Null),
                        after: shown_inputs.clone(),
                    });
                }
                let forced = ex.force_step.as_deref() == Some(step.id.as_str());
                // Ask the resource before sending a change again: a change that landed before
                // the crash must not be sent twice, even an idempotent one.
                if spec.mutates && !forced {
                    let progress = |_: String| {};
                    let ctx = self.context_for(ex, step, timeout, &progress);
                    let check = action.check(&ctx, &inputs).await.unwrap_or(Check::Unknown);
                    let rerun = match check {
                        Check::Applied => false,
                        Check::NotApplied => true,
                        Check::Unknown => spec.idempotent,
                    };
                    let decision = match (check, rerun) {
                        (Check::Applied, _) => "already applied: not sent again",
                        (Check::NotApplied, _) => "not applied: running it again",
                        (Check::Unknown, true) => "cannot tell, and running it again is harmless",
                        (Check::Unknown, false) => {
                            "cannot tell: stopping (resume with --force-step to send it again)"
                        }
                    };
                    journal.emit(RunEvent::Checked {
                        step: step.id.clone(),
                        check,
                        decision: decision.to_string(),
                    });
                    if check == Check::Applied {
                        let outputs = match prior.outputs.clone() {
                            Some(o) => o,
                            None => action
                                .applied_outputs(&ctx, &inputs)
                                .await
                                .ok()
                                .flatten()
                                .unwrap_or(json!({})),
                        };
                        drop(ctx);
                        let mut record = prior.clone();
                        record.state = StepState::Succeeded;
                        record.outputs = Some(masker.value(&outputs));
                        record.error = None;
                        record.finished_at = Some(chrono::Utc::now());
                        self.checkpoint(journal, record).await?;
                        Self::set_step_context(ex, &step.id, "succeeded", outputs);
                        ex.succeeded.push(idx);
                        return Ok(None);
                    }
                    if !rerun {
                        return fail(ActionError::Precondition(format!(
                            "step '{}' was interrupted after sending its change and '{}' cannot tell whether it applied; look at the resource, then resume with --force-step {} to send it again",
                            step.id, spec.name, step.id
                        )));
                    }
                }
            }
        }

        // Confirmation before the first change.
        if spec.mutates && !ex.confirmed {
            if let Some(failure) = self
                .implicit_confirmation(ex, step, action.as_ref(), &inputs, timeout, journal)
                .await
            {
                return fail(failure);
            }
        }

        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut record = Self::step_record(ex, idx, step, StepState::Running);
            record.attempt = i64::from(attempt);
            record.inputs_hash = Some(hash.clone());
            record.inputs = Some(shown_inputs.clone());
            // Only a change needs its start on disk: resume must check a change that may have
            // been sent; a read interrupted midway is simply run again.
            if spec.mutates {
                self.checkpoint(journal, record.clone()).await?;
            }
            journal.emit(RunEvent::StepStarted {
                step: step.id.clone(),
                action: step.action.clone(),
                attempt,
            });
            if step.action == "confirm" {
                journal.emit(RunEvent::ConfirmationRequested {
                    step: step.id.clone(),
                    message: inputs
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                });
            }
            let started = Instant::now();
            let result = self
                .run_action(ex, step, action.as_ref(), &inputs, timeout, journal)
                .await;
            match result {
                Ok(outputs) => {
                    let shown = masker.value(&outputs);
                    record.state = StepState::Succeeded;
                    record.outputs = Some(shown.clone());
                    record.finished_at = Some(chrono::Utc::now());
                    journal.emit(RunEvent::StepSucceeded {
                        step: step.id.clone(),
                        outputs: shown,
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    });
                    if step.action == "confirm" {
                        ex.confirmed = true;
                        journal.emit(RunEvent::Confirmed {
                            step: step.id.clone(),
                        });
                    }
                    self.checkpoint(journal, record).await?;
                    Self::set_step_context(ex, &step.id, "succeeded", outputs);
                    ex.succeeded.push(idx);
                    return Ok(None);
                }
                Err(error) => {
                    let will_retry = attempt <= step.retries
                        && retryable(&error, spec.idempotent)
                        && !*self.stop.soft.borrow();
                    journal.emit(RunEvent::StepFailed {
                        step: step.id.clone(),
                        error: masker.text(&error.to_string()),
                        will_retry,
                    });
                    if will_retry {
                        let backoff = Duration::from_secs(2u64.pow(attempt.min(5)).min(30));
                        let mut hard = self.stop.hard.clone();
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = hard.wait_for(|s| *s) => {}
                        }
                        continue;
                    }
                    // Interrupted or with an unknown outcome, the step stays "running": resume
                    // must check it before sending anything again.
                    let stays_running = matches!(
                        error,
                        ActionError::Cancelled | ActionError::OutcomeUnknown(_)
                    ) || (matches!(error, ActionError::Timeout(_))
                        && spec.mutates);
                    if !stays_running {
                        record.state = StepState::Failed;
                        record.error = Some(masker.text(&error.to_string()));
                        record.finished_at = Some(chrono::Utc::now());
                        self.checkpoint(journal, record).await?;
                    }
                    return fail(error);
                }
            }
        }
    }

    async fn run_action(
        &self,
        ex: &Execution,
        step: &Step,
        action: &dyn DynAction,
        inputs: &Value,
        timeout: Duration,
        journal: &Journal,
    ) -> Result<Value, ActionError> {
        let progress_journal = journal.clone();
        let progress_step = step.id.clone();
        let progress = move |message: String| {
            progress_journal.emit(RunEvent::StepProgress {
                step: progress_step.clone(),
                message,
            })
        };
        let ctx = self.context_for(ex, step, timeout, &progress);
        let call_journal = journal.clone();
        let call_step = step.id.clone();
        let sink: CallSink = Arc::new(move |call| {
            call_journal.emit(RunEvent::Call {
                step: call_step.clone(),
                call,
            })
        });
        match tokio::time::timeout(timeout, record_calls(sink, action.run(&ctx, inputs))).await {
            Ok(result) => result,
            Err(_) => Err(ActionError::Timeout(timeout)),
        }
    }

    /// Asks before the first mutating step when no `confirm` step came first; `Some` when the
    /// answer is not yes.
    async fn implicit_confirmation(
        &self,
        ex: &mut Execution,
        step: &Step,
        action: &dyn DynAction,
        inputs: &Value,
        timeout: Duration,
        journal: &Journal,
    ) -> Option<ActionError> {
        let progress = |_: String| {};
        let ctx = self.context_for(ex, step, timeout, &progress);
        let details = match action.plan(&ctx, inputs).await {
            Ok(plan) => plan_lines(&plan),
            Err(e) => vec![format!("(no plan: {e})")],
        };
        let message = format!(
            "Step '{}' changes Azure ({}).",
            step.id,
            Runbook::step_title(step)
        );
        journal.emit(RunEvent::ConfirmationRequested {
            step: step.id.clone(),
            message: message.clone(),
        });
        let request = ConfirmRequest {
            run_id: ex.run_id.clone(),
            step_id: step.id.clone(),
            message,
            environment: ex.environment.name.clone(),
            protected: ex.environment.protected,
            details,
        };
        match self.confirmer.confirm(&request).await {
            Confirmation::Confirmed => {
                ex.confirmed = true;
                journal.emit(RunEvent::Confirmed {
                    step: step.id.clone(),
                });
                None
            }
            Confirmation::Declined => Some(ActionError::Declined),
            Confirmation::Unavailable(why) => Some(ActionError::ConfirmationRequired(why)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn dry_run_step(
        &self,
        ex: &mut Execution,
        step: &Step,
        action: &dyn DynAction,
        inputs: &Value,
        timeout: Duration,
        journal: &Journal,
        masker: &Masker,
    ) -> Result<Option<StepFailure>, EngineError> {
        if action.runs_in_dry_run() {
            journal.emit(RunEvent::StepStarted {
                step: step.id.clone(),
                action: step.action.clone(),
                attempt: 1,
            });
            let started = Instant::now();
            return match self
                .run_action(ex, step, action, inputs, timeout, journal)
                .await
            {
                Ok(outputs) => {
                    journal.emit(RunEvent::StepSucceeded {
                        step: step.id.clone(),
                        outputs: masker.value(&outputs),
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    });
                    Self::set_step_context(ex, &step.id, "succeeded", outputs);
                    Ok(None)
                }
                Err(error) => {
                    journal.emit(RunEvent::StepFailed {
                        step: step.id.clone(),
                        error: masker.text(&error.to_string()),
                        will_retry: false,
                    });
                    Ok(Some(StepFailure {
                        step: step.id.clone(),
                        error,
                    }))
                }
            };
        }
        let progress = |_: String| {};
        let ctx = self.context_for(ex, step, timeout, &progress);
        let plan = match action.plan(&ctx, inputs).await {
            Ok(p) => p,
            Err(e) => super::action::Plan {
                notes: vec![format!("cannot plan from the current state: {e}")],
                ..Default::default()
            },
        };
        let outputs = plan
            .outputs
            .clone()
            .unwrap_or_else(|| Value::String(KNOWN_AFTER_APPLY.into()));
        let mut shown = plan.clone();
        shown.calls.iter_mut().for_each(|c| {
            c.body = c.body.as_ref().map(|b| masker.value(b));
        });
        journal.emit(RunEvent::StepPlanned {
            step: step.id.clone(),
            action: step.action.clone(),
            plan: shown,
        });
        Self::set_step_context(ex, &step.id, "planned", outputs);
        Ok(None)
    }

    /// A dry-run step whose inputs depend on a change not yet made.
    fn plan_unknown(
        &self,
        ex: &mut Execution,
        step: &Step,
        journal: &Journal,
        why: &str,
    ) -> Result<Option<StepFailure>, EngineError> {
        journal.emit(RunEvent::StepPlanned {
            step: step.id.clone(),
            action: step.action.clone(),
            plan: super::action::Plan {
                notes: vec![format!("inputs known after apply ({why})")],
                ..Default::default()
            },
        });
        Self::set_step_context(
            ex,
            &step.id,
            "planned",
            Value::String(KNOWN_AFTER_APPLY.into()),
        );
        Ok(None)
    }

    /// Undoes succeeded steps that declare a rollback, newest first; `true` when all undid.
    async fn rollback(
        &self,
        ex: &mut Execution,
        journal: &Journal,
        masker: &Masker,
    ) -> Result<bool, EngineError> {
        let mut clean = true;
        let done: Vec<usize> = ex.succeeded.iter().rev().copied().collect();
        for idx in done {
            let step = ex.runbook.steps[idx].clone();
            let Some(undo) = &step.rollback else { continue };
            journal.emit(RunEvent::RollbackStarted {
                step: step.id.clone(),
                action: undo.action.clone(),
            });
            let result = match (
                self.registry.get(&undo.action).cloned(),
                render_value(&Value::Object(undo.with.clone()), &ex.context),
            ) {
                (None, _) => Err(ActionError::Input(format!(
                    "unknown action '{}'",
                    undo.action
                ))),
                (_, Err(e)) => Err(ActionError::Input(format!("rollback with {}", e.message))),
                (Some(action), Ok(inputs)) => {
                    let timeout = action.spec().default_timeout;
                    self.run_action(ex, &step, action.as_ref(), &inputs, timeout, journal)
                        .await
                }
            };
            let mut record = ex
                .prior
                .get(&step.id)
                .cloned()
                .filter(|r| r.state == StepState::Succeeded)
                .unwrap_or_else(|| Self::step_record(ex, idx, &step, StepState::Succeeded));
            match result {
                Ok(_) => {
                    journal.emit(RunEvent::RollbackSucceeded {
                        step: step.id.clone(),
                    });
                    record.state = StepState::RolledBack;
                    record.rolled_back = true;
                }
                Err(e) => {
                    clean = false;
                    let message = masker.text(&e.to_string());
                    journal.emit(RunEvent::RollbackFailed {
                        step: step.id.clone(),
                        error: message.clone(),
                    });
                    record.state = StepState::RollbackFailed;
                    record.error = Some(message);
                }
            }
            record.finished_at = Some(chrono::Utc::now());
            self.checkpoint(journal, record).await?;
        }
        Ok(clean)
    }
}

/// One line per planned call and change, for confirmations and the CLI.
pub fn plan_lines(plan: &super::action::Plan) -> Vec<String> {
    let mut lines: Vec<String> = plan
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {}: {} → {}",
                short_resource(&c.resource),
                c.field,
                compact(&c.before),
                compact(&c.after)
            )
        })
        .collect();
    lines.extend(plan.calls.iter().map(|c| format!("{} {}", c.method, c.url)));
    lines.extend(plan.notes.iter().cloned());
    lines
}

fn short_resource(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a step's inputs read the outputs of a step a dry run only planned.
fn depends_on_planned(step: &Step, context: &Value) -> bool {
    let Some(steps) = context.get("steps").and_then(Value::as_object) else {
        return false;
    };
    let text = serde_json::to_string(&step.with).unwrap_or_default();
    steps.iter().any(|(id, s)| {
        s.get("state").and_then(Value::as_str) == Some("planned")
            && (text.contains(&format!("steps.{id}.")) || text.contains(&format!("steps['{id}']")))
    })
}

/// The params of a stored run, with secrets given again.
fn stored_params(
    runbook: &Runbook,
    stored: &Value,
    given: &[(String, String)],
) -> Result<Params, EngineError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, spec) in &runbook.params {
        if let Some((_, v)) = given.iter().find(|(k, _)| k == name) {
            pairs.push((name.clone(), v.clone()));
            continue;
        }
        match stored.get(name) {
            Some(Value::String(s))
                if s == MASK && spec.param_type == super::model::ParamType::Secret =>
            {
                return Err(EngineError::Params(params::ParamError::Missing {
                    name: name.clone(),
                }));
            }
            Some(Value::String(s)) => pairs.push((name.clone(), s.clone())),
            Some(Value::Null) | None => {}
            Some(other) => pairs.push((name.clone(), other.to_string())),
        }
    }
    for (k, _) in given {
        if !runbook.params.contains_key(k) {
            return Err(EngineError::Params(params::ParamError::Unknown {
                name: k.clone(),
                known: runbook
                    .params
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            }));
        }
    }
    Ok(params::parse(&runbook.params, &pairs)?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use schemars::JsonSchema;
    use serde::Deserialize;

    use super::*;
    use crate::runbook::action::{Action, ActionSpec, Plan, PlannedCall};
    use crate::runbook::confirm::Headless;

    /// A change that records what it was asked, and fails its first `fail_first` attempts.
    struct Set {
        log: Arc<parking_lot::Mutex<Vec<String>>>,
        attempts: Arc<AtomicU32>,
        fail_first: u32,
    }

    #[derive(Deserialize, JsonSchema)]
    struct SetInput {
        value: String,
    }

    #[async_trait]
    impl Action for Set {
        type Input = SetInput;
        type Output = Value;

        fn spec(&self) -> ActionSpec {
            ActionSpec {
                name: "test.set",
                summary: "records a value",
                mutates: true,
                idempotent: true,
                default_timeout: Duration::from_secs(5),
            }
        }

        async fn plan(&self, _: &ActionContext<'_>, input: &SetInput) -> Result<Plan, ActionError> {
            Ok(Plan {
                calls: vec![PlannedCall::new("PUT", format!("/things/{}", input.value))
                    .with_body(json!({"value": input.value}))],
                ..Plan::default()
            })
        }

        async fn run(&self, _: &ActionContext<'_>, input: &SetInput) -> Result<Value, ActionError> {
            let n = self.attempts.fetch_add(1, Ordering::SeqCst);
            if n < self.fail_first {
                return Err(ActionError::Azure("503 from a flaky service".into()));
            }
            if input.value == "boom" {
                return Err(ActionError::Failed("boom".into()));
            }
            self.log.lock().push(input.value.clone());
            Ok(json!({"value": input.value}))
        }
    }

    struct Fixture {
        store: Store,
        registry: Registry,
        log: Arc<parking_lot::Mutex<Vec<String>>>,
        attempts: Arc<AtomicU32>,
    }

    async fn fixture(fail_first: u32) -> Fixture {
        let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicU32::new(0));
        let mut registry = Registry::builtin();
        registry.register(Set {
            log: log.clone(),
            attempts: attempts.clone(),
            fail_first,
        });
        Fixture {
            store: Store::open("sqlite::memory:").await.unwrap(),
            registry,
            log,
            attempts,
        }
    }

    async fn run(f: &Fixture, yaml: &str, yes: bool, dry_run: bool) -> (Outcome, Vec<RunEvent>) {
        run_with(f, yaml, &[], yes, dry_run).await
    }

    async fn run_with(
        f: &Fixture,
        yaml: &str,
        given: &[(String, String)],
        yes: bool,
        dry_run: bool,
    ) -> (Outcome, Vec<RunEvent>) {
        let runbook: Runbook = serde_yaml::from_str(yaml).unwrap();
        let params = params::parse(&runbook.params, given).unwrap();
        let confirmer = Headless {
            yes,
            confirm_env: None,
        };
        let (engine, rx) = test_engine(f, &confirmer);
        let outcome = engine
            .start(RunRequest {
                runbook,
                text: yaml.to_string(),
                source: "test".into(),
                params,
                environment: test_environment(),
                env_context: json!({"name": "test"}),
                dry_run,
            })
            .await
            .unwrap();
        drop(engine);
        (outcome, drain(rx).await)
    }

    /// An engine over the fixture's registry and store, with no Azure, whose events come out of
    /// the receiver.
    fn test_engine<'a>(
        f: &'a Fixture,
        confirmer: &'a Headless,
    ) -> (Engine<'a>, mpsc::UnboundedReceiver<RunEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = Engine {
            registry: &f.registry,
            store: &f.store,
            azure: None,
            http: None,
            confirmer,
            events: Some(tx),
            stop: Stop::never(),
        };
        (engine, rx)
    }

    fn test_environment() -> EnvironmentInfo {
        EnvironmentInfo {
            name: "test".into(),
            protected: false,
            read_only: false,
        }
    }

    /// Every event, once the engine that sent them is dropped.
    async fn drain(mut rx: mpsc::UnboundedReceiver<RunEvent>) -> Vec<RunEvent> {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    }

    const HEADER: &str = "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: { name: t, title: T }\n";

    #[tokio::test]
    async fn a_failure_rolls_back_succeeded_steps_newest_first() {
        let f = fixture(0).await;
        let yaml = format!(
            "{HEADER}steps:
  - {{ id: a, action: test.set, with: {{ value: a }}, rollback: {{ action: test.set, with: {{ value: undo-a }} }} }}
  - {{ id: skipped, action: test.set, when: '{{{{ false }}}}', with: {{ value: never }} }}
  - {{ id: b, action: test.set, with: {{ value: '{{{{ steps.a.outputs.value }}}}-b' }}, rollback: {{ action: test.set, with: {{ value: 'undo-{{{{ steps.b.outputs.value }}}}' }} }} }}
  - {{ id: c, action: test.set, with: {{ value: boom }}, onFailure: rollback }}
"
        );
        let (outcome, events) = run(&f, &yaml, true, false).await;
        assert_eq!(outcome.status, RunStatus::RolledBack);
        assert_eq!(outcome.exit_code, exit::ROLLED_BACK);
        assert_eq!(outcome.failed_step.as_deref(), Some("c"));
        assert_eq!(*f.log.lock(), ["a", "a-b", "undo-a-b", "undo-a"]);
        assert!(events
            .iter()
            .any(|e| matches!(e, RunEvent::StepSkipped { step, .. } if step == "skipped")));
        let steps = f.store.steps(&outcome.run_id).await.unwrap();
        let state = |id: &str| steps.iter().find(|s| s.step_id == id).map(|s| s.state);
        assert_eq!(state("a"), Some(StepState::RolledBack));
        assert_eq!(state("b"), Some(StepState::RolledBack));
        assert_eq!(state("c"), Some(StepState::Failed));
        assert_eq!(state("skipped"), Some(StepState::Skipped));
        assert!(f.store.verify().await.unwrap().is_intact());
    }

    #[tokio::test]
    async fn retries_absorb_transient_failures_and_continue_goes_on() {
        let f = fixture(1).await;
        let yaml = format!(
            "{HEADER}steps:
  - {{ id: a, action: test.set, retries: 2, with: {{ value: a }} }}
  - {{ id: b, action: test.set, with: {{ value: boom }}, onFailure: continue }}
  - {{ id: c, action: test.set, with: {{ value: c }} }}
"
        );
        let started = tokio::time::Instant::now();
        let (outcome, events) = run(&f, &yaml, true, false).await;
        assert_eq!(
            f.attempts.load(Ordering::SeqCst),
            4,
            "2 for a, 1 for b, 1 for c"
        );
        assert_eq!(*f.log.lock(), ["a", "c"]);
        assert_eq!(
            outcome.status,
            RunStatus::Failed,
            "a continued failure still fails the run"
        );
        assert_eq!(outcome.exit_code, exit::STEP_FAILED);
        assert_eq!(outcome.failed_step.as_deref(), Some("b"));
        let retried = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    RunEvent::StepFailed {
                        will_retry: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(retried, 1);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "backed off 2 s"
        );
    }

    #[tokio::test]
    async fn no_change_without_confirmation_and_a_dry_run_changes_nothing() {
        let f = fixture(0).await;
        let yaml = format!(
            "{HEADER}steps:
  - {{ id: note, action: log, with: {{ message: hi }} }}
  - {{ id: a, action: test.set, with: {{ value: a }} }}
  - {{ id: b, action: test.set, with: {{ value: '{{{{ steps.a.outputs.value }}}}' }} }}
"
        );
        let (outcome, _) = run(&f, &yaml, false, false).await;
        assert_eq!(outcome.exit_code, exit::CONFIRMATION_REQUIRED);
        assert!(f.log.lock().is_empty());

        let (outcome, events) = run(&f, &yaml, false, true).await;
        assert_eq!(outcome.exit_code, exit::SUCCESS);
        assert!(f.log.lock().is_empty(), "a dry run sends no change");
        let planned: Vec<&Plan> = events
            .iter()
            .filter_map(|e| match e {
                RunEvent::StepPlanned { plan, .. } => Some(plan),
                _ => None,
            })
            .collect();
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[0].calls[0].url, "/things/a");
        assert!(
            planned[1].notes[0].contains("known after apply"),
            "{:?}",
            planned[1]
        );
    }

    #[tokio::test]
    async fn a_secret_param_never_reaches_events_or_the_store() {
        let f = fixture(0).await;
        let yaml = format!(
            "{HEADER}params:\n  password: {{ type: secret, required: true }}\nsteps:
  - {{ id: confirm, action: confirm, with: {{ message: ok }} }}
  - {{ id: a, action: test.set, with: {{ value: 'user:{{{{ params.password }}}}' }} }}
"
        );
        let given = vec![("password".to_string(), "hunter2".to_string())];
        for dry_run in [true, false] {
            let (outcome, events) = run_with(&f, &yaml, &given, true, dry_run).await;
            assert_eq!(outcome.exit_code, exit::SUCCESS);
            let shown = serde_json::to_string(&events).unwrap();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("user:***"), "masked, not dropped: {shown}");
            let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
            let steps = f.store.steps(&outcome.run_id).await.unwrap();
            let trail = f
                .store
                .events(Some(&outcome.run_id), 0, 1000)
                .await
                .unwrap();
            let stored = format!(
                "{} {} {}",
                serde_json::to_string(&run).unwrap(),
                serde_json::to_string(&steps).unwrap(),
                serde_json::to_string(&trail).unwrap()
            );
            assert!(!stored.contains("hunter2"), "dry run {dry_run}: {stored}");
        }
        assert_eq!(
            *f.log.lock(),
            ["user:hunter2"],
            "the action itself got the value"
        );
    }

    #[tokio::test]
    async fn resume_shows_changed_inputs_and_reuses_finished_steps() {
        let f = fixture(1).await;
        let yaml = format!(
            "{HEADER}params:\n  password: {{ type: secret, required: true }}\nsteps:
  - {{ id: confirm, action: confirm, with: {{ message: ok }} }}
  - {{ id: a, action: test.set, with: {{ value: 'user:{{{{ params.password }}}}' }} }}
"
        );
        let first = vec![("password".to_string(), "old".to_string())];
        let (outcome, _) = run_with(&f, &yaml, &first, true, false).await;
        assert_eq!(
            outcome.exit_code,
            exit::STEP_FAILED,
            "the first attempt fails"
        );
        let record = f.store.run(&outcome.run_id).await.unwrap().unwrap();

        let confirmer = Headless {
            yes: true,
            confirm_env: None,
        };
        let (engine, rx) = test_engine(&f, &confirmer);
        let environment = test_environment();
        let missing = engine
            .resume(
                &record,
                environment.clone(),
                json!({}),
                ResumeOptions::default(),
            )
            .await;
        assert!(
            matches!(missing, Err(EngineError::Params(_))),
            "the secret must be given again"
        );
        let options = ResumeOptions {
            force_step: None,
            params: vec![("password".to_string(), "new".to_string())],
        };
        let resumed = engine
            .resume(&record, environment, json!({}), options)
            .await
            .unwrap();
        drop(engine);
        assert_eq!(resumed.exit_code, exit::SUCCESS);
        assert_eq!(resumed.run_id, outcome.run_id, "the same run goes on");
        let events = drain(rx).await;
        assert!(events
            .iter()
            .any(|e| matches!(e, RunEvent::StepReused { step } if step == "confirm")));
        let changed = events
            .iter()
            .find_map(|e| match e {
                RunEvent::InputsChanged {
                    step,
                    before,
                    after,
                } => Some((step, before, after)),
                _ => None,
            })
            .expect("the changed inputs are shown");
        assert_eq!(changed.0, "a");
        // Both sides masked: the secret changed, and neither value is shown.
        assert_eq!(changed.1["value"], "user:***");
        assert_eq!(changed.2["value"], "user:***");
        assert_eq!(*f.log.lock(), ["user:new"]);
    }

    #[test]
    fn failures_map_to_documented_exit_codes() {
        let code = |e: ActionError| failure_exit(&e).1;
        assert_eq!(code(ActionError::Precondition("x".into())), 4);
        assert_eq!(code(ActionError::ConfirmationRequired("x".into())), 5);
        assert_eq!(code(ActionError::Declined), 10);
        assert_eq!(code(ActionError::Cancelled), 10);
        assert_eq!(code(ActionError::Input("x".into())), 3);
        assert_eq!(code(ActionError::Azure("x".into())), 1);
        assert!(!retryable(&ActionError::OutcomeUnknown("x".into()), false));
        assert!(retryable(&ActionError::OutcomeUnknown("x".into()), true));
    }

    #[test]
    fn a_resume_needs_secret_params_again() {
        let runbook: Runbook = serde_yaml::from_str(&format!(
            "{HEADER}params:\n  token: {{ type: secret, required: true }}\n  n: {{ type: integer, default: 1 }}\nsteps: []\n"
        ))
        .unwrap();
        let stored = json!({"token": MASK, "n": 2});
        assert!(matches!(
            stored_params(&runbook, &stored, &[]),
            Err(EngineError::Params(params::ParamError::Missing { .. }))
        ));
        let given = vec![("token".to_string(), "s3cret".to_string())];
        let p = stored_params(&runbook, &stored, &given).unwrap();
        assert_eq!(p.context(), json!({"token": "s3cret", "n": 2}));
    }
}
