//! Runs and their steps' checkpoints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;

use super::{
    col, json_from_text, json_text, now, opt_time_from_ms, query_err, time_from_ms, Store,
    StoreError, MIN_RUN_ID_PREFIX,
};

/// A run as it starts. `params` are already masked: secrets never reach the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewRun {
    pub id: String,
    /// The runbook's name.
    pub runbook: String,
    /// Where it was loaded from (a path, or `builtin:<name>`).
    pub runbook_source: String,
    /// The full YAML: a resume replays exactly this, whatever the file says by then.
    pub runbook_text: String,
    pub runbook_hash: String,
    pub environment: String,
    pub params: Value,
    /// `user@host`.
    pub started_by: String,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub runbook: String,
    pub runbook_source: String,
    pub runbook_text: String,
    pub runbook_hash: String,
    pub environment: String,
    pub params: Value,
    pub started_by: String,
    pub dry_run: bool,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub current_step: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    RolledBack,
    Aborted,
    /// Stopped by a signal or a lost process; can be resumed.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::RolledBack,
        RunStatus::Aborted,
        RunStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The run's process is done with it (`finished_at` is set). An interrupted run is terminal
    /// too until a resume sets it running again.
    pub fn is_terminal(self) -> bool {
        self != RunStatus::Running
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step's checkpoint in one run; `inputs` and `outputs` are already masked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    pub run_id: String,
    pub step_id: String,
    /// Position in the runbook: checkpoints are listed in this order.
    pub idx: i64,
    pub state: StepState,
    pub attempt: i64,
    /// Hash of the rendered inputs: a resume re-runs a step whose inputs changed.
    pub inputs_hash: Option<String>,
    pub inputs: Option<Value>,
    pub outputs: Option<Value>,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rolled_back: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    RolledBack,
    RollbackFailed,
}

impl StepState {
    pub const ALL: [StepState; 7] = [
        StepState::Pending,
        StepState::Running,
        StepState::Succeeded,
        StepState::Failed,
        StepState::Skipped,
        StepState::RolledBack,
        StepState::RollbackFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::RolledBack => "rolled_back",
            StepState::RollbackFailed => "rollback_failed",
        }
    }

    pub fn parse(s: &str) -> Option<StepState> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const RUN_COLUMNS: &str = "id, runbook, runbook_source, runbook_text, runbook_hash, environment, \
     params, started_by, dry_run, status, exit_code, current_step, started_at_ms, updated_at_ms, \
     finished_at_ms";

const STEP_COLUMNS: &str = "run_id, step_id, idx, state, attempt, inputs_hash, inputs, outputs, \
     error, started_at_ms, finished_at_ms, rolled_back";

impl Store {
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %run.id))]
    pub async fn create_run(&self, run: &NewRun) -> Result<(), StoreError> {
        let at = now().timestamp_millis();
        let params = json_text(&run.params);
        self.retry_busy(|| async {
            sqlx::query(
                "INSERT INTO runs (id, runbook, runbook_source, runbook_text, runbook_hash, \
                 environment, params, started_by, dry_run, status, exit_code, current_step, \
                 started_at_ms, updated_at_ms, finished_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, $11, $11, NULL)",
            )
            .bind(&run.id)
            .bind(&run.runbook)
            .bind(&run.runbook_source)
            .bind(&run.runbook_text)
            .bind(&run.runbook_hash)
            .bind(&run.environment)
            .bind(&params)
            .bind(&run.started_by)
            .bind(i64::from(run.dry_run))
            .bind(RunStatus::Running.as_str())
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(query_err(format!("recording run {}", run.id)))?;
            Ok(())
        })
        .await
    }

    /// Sets the run's status, exit code and current step; `finished_at` follows the status
    /// (set when terminal, cleared when a resume makes it running again).
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %id, %status))]
    pub async fn update_run(
        &self,
        id: &str,
        status: RunStatus,
        exit_code: Option<i32>,
        current_step: Option<&str>,
    ) -> Result<(), StoreError> {
        let at = now().timestamp_millis();
        let finished = status.is_terminal().then_some(at);
        let updated = self
            .retry_busy(|| async {
                sqlx::query(
                    "UPDATE runs SET status = $2, exit_code = $3, current_step = $4, \
                     updated_at_ms = $5, finished_at_ms = $6 WHERE id = $1",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(exit_code.map(i64::from))
                .bind(current_step)
                .bind(at)
                .bind(finished)
                .execute(&self.pool)
                .await
                .map_err(query_err(format!("updating run {id}")))
            })
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound { run_id: id.into() });
        }
        Ok(())
    }

    /// The run with this id, or with this unique id prefix (at least 8 characters).
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %id))]
    pub async fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        if let Some(run) = self.run_exact(id).await? {
            return Ok(Some(run));
        }
        match self.match_prefix(id).await? {
            Some(full) => self.run_exact(&full).await,
            None => Ok(None),
        }
    }

    /// The full id of the run `id_or_prefix` names (exactly, or as a unique prefix of 8+ chars).
    pub async fn resolve_run_id(&self, id_or_prefix: &str) -> Result<String, StoreError> {
        let exact: Option<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id = $1")
            .bind(id_or_prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_err(format!("looking up run {id_or_prefix}")))?;
        if let Some(id) = exact {
            return Ok(id);
        }
        self.match_prefix(id_or_prefix)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                run_id: id_or_prefix.into(),
            })
    }

    async fn match_prefix(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        if prefix.chars().count() < MIN_RUN_ID_PREFIX {
            return Ok(None);
        }
        // substr/length rather than LIKE: no wildcards to escape, case-sensitive on both backends.
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM runs WHERE substr(id, 1, length($1)) = $1 LIMIT 2")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await
                .map_err(query_err(format!("looking up run prefix {prefix}")))?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(StoreError::Ambiguous {
                prefix: prefix.into(),
            }),
        }
    }

    async fn run_exact(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query_err(format!("reading run {id}")))?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The latest `limit` runs, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn runs(&self, limit: i64) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at_ms DESC, id DESC LIMIT $1"
        ))
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(query_err("listing runs"))?;
        rows.iter().map(run_from_row).collect()
    }

    /// Writes the step's checkpoint, replacing the previous one of the same run and step.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %step.run_id, step_id = %step.step_id))]
    pub async fn save_step(&self, step: &StepRecord) -> Result<(), StoreError> {
        let inputs = step.inputs.as_ref().map(json_text);
        let outputs = step.outputs.as_ref().map(json_text);
        let result = self
            .retry_busy(|| async {
                sqlx::query(&format!(
                    "INSERT INTO steps ({STEP_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (run_id, step_id) DO UPDATE SET \
                     idx = excluded.idx, state = excluded.state, attempt = excluded.attempt, \
                     inputs_hash = excluded.inputs_hash, inputs = excluded.inputs, \
                     outputs = excluded.outputs, error = excluded.error, \
                     started_at_ms = excluded.started_at_ms, \
                     finished_at_ms = excluded.finished_at_ms, rolled_back = excluded.rolled_back"
                ))
                .bind(&step.run_id)
                .bind(&step.step_id)
                .bind(step.idx)
                .bind(step.state.as_str())
                .bind(step.attempt)
                .bind(step.inputs_hash.as_deref())
                .bind(inputs.as_deref())
                .bind(outputs.as_deref())
                .bind(step.error.as_deref())
                .bind(step.started_at.map(|t| t.timestamp_millis()))
                .bind(step.finished_at.map(|t| t.timestamp_millis()))
                .bind(i64::from(step.rolled_back))
                .execute(&self.pool)
                .await
                .map_err(query_err(format!(
                    "saving step {} of run {}",
                    step.step_id, step.run_id
                )))
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(StoreError::Query {
                source: sqlx::Error::Database(db),
                ..
            }) if db.is_foreign_key_violation() => Err(StoreError::NotFound {
                run_id: step.run_id.clone(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The run's step checkpoints in runbook order.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %run_id))]
    pub async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {STEP_COLUMNS} FROM steps WHERE run_id = $1 ORDER BY idx, step_id"
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query_err(format!("reading the steps of run {run_id}")))?;
        rows.iter().map(step_from_row).collect()
    }
}

fn run_from_row(row: &AnyRow) -> Result<RunRecord, StoreError> {
    let id: String = col(row, "id")?;
    let what = |field: &str| format!("run {id}: {field}");
    let status: String = col(row, "status")?;
    let exit_code: Option<i64> = col(row, "exit_code")?;
    Ok(RunRecord {
        params: json_from_text(&col::<String>(row, "params")?, &what("params"))?,
        status: RunStatus::parse(&status).ok_or_else(|| {
            StoreError::corrupt(format!("{}: unknown status {status:?}", what("status")))
        })?,
        exit_code: exit_code
            .map(i32::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt(what("exit code out of range")))?,
        started_at: time_from_ms(col(row, "started_at_ms")?, &what("started_at"))?,
        updated_at: time_from_ms(col(row, "updated_at_ms")?, &what("updated_at"))?,
        finished_at: opt_time_from_ms(col(row, "finished_at_ms")?, &what("finished_at"))?,
        runbook: col(row, "runbook")?,
        runbook_source: col(row, "runbook_source")?,
        runbook_text: col(row, "runbook_text")?,
        runbook_hash: col(row, "runbook_hash")?,
        environment: col(row, "environment")?,
        started_by: col(row, "started_by")?,
        dry_run: col::<i64>(row, "dry_run")? != 0,
        current_step: col(row, "current_step")?,
        id,
    })
}

fn step_from_row(row: &AnyRow) -> Result<StepRecord, StoreError> {
    let run_id: String = col(row, "run_id")?;
    let step_id: String = col(row, "step_id")?;
    let what = |field: &str| format!("step {step_id} of run {run_id}: {field}");
    let state: String = col(row, "state")?;
    let json = |name: &str| -> Result<Option<Value>, StoreError> {
        col::<Option<String>>(row, name)?
            .map(|text| json_from_text(&text, &what(name)))
            .transpose()
    };
    Ok(StepRecord {
        idx: col(row, "idx")?,
        state: StepState::parse(&state).ok_or_else(|| {
            StoreError::corrupt(format!("{}: unknown state {state:?}", what("state")))
        })?,
        attempt: col(row, "attempt")?,
        inputs_hash: col(row, "inputs_hash")?,
        inputs: json("inputs")?,
        outputs: json("outputs")?,
        error: col(row, "error")?,
        started_at: opt_time_from_ms(col(row, "started_at_ms")?, &what("started_at"))?,
        finished_at: opt_time_from_ms(col(row, "finished_at_ms")?, &what("finished_at"))?,
        rolled_back: col::<i64>(row, "rolled_back")? != 0,
        run_id,
        step_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_states_round_trip_through_their_names() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_value(status).ok();
            assert_eq!(json, Some(Value::String(status.as_str().into())));
        }
        for state in StepState::ALL {
            assert_eq!(StepState::parse(state.as_str()), Some(state));
            let json = serde_json::to_value(state).ok();
            assert_eq!(json, Some(Value::String(state.as_str().into())));
        }
        assert_eq!(RunStatus::parse("RUNNING"), None);
        assert!(!RunStatus::Running.is_terminal());
        assert!(RunStatus::RolledBack.is_terminal());
    }
}
