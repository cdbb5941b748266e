//! Leases: a run holds each target resource it changes until the lease expires or is released,
//! so two runs never change one resource at once. Expiry uses the callers' clocks (epoch ms):
//! hosts sharing a PostgreSQL store are assumed to keep time (NTP); TTLs are minutes, not ms.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::{col, now, query_err, time_from_ms, ttl_ms, Store, StoreError};

/// Who asks for a lease: the run, and the process running it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeaseHolder {
    pub run_id: String,
    /// `user@host`, for people reading who holds what.
    pub owner: String,
    pub host: String,
    pub pid: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lease {
    /// What is leased, usually an ARM resource id.
    pub target: String,
    pub run_id: String,
    pub owner: String,
    pub host: String,
    pub pid: i64,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    pub fn is_expired(&self, at: DateTime<Utc>) -> bool {
        self.expires_at < at
    }

    /// Whether `holder` is the process that holds this lease.
    pub fn is_held_by(&self, holder: &LeaseHolder) -> bool {
        self.run_id == holder.run_id && self.host == holder.host && self.pid == holder.pid
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LeaseOutcome {
    Acquired,
    /// Someone else holds it (until `expires_at`).
    Held(Lease),
}

const LEASE_COLUMNS: &str = "target, run_id, owner, host, pid, acquired_at_ms, expires_at_ms";

/// Attempts at acquiring before giving up on a lease that keeps vanishing between statements.
const ACQUIRE_ATTEMPTS: u32 = 5;

impl Store {
    /// Takes `target` for `holder` for `ttl`: free, expired, or already this process's (then it
    /// is renewed and keeps its `acquired_at`). Otherwise says who holds it.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %holder.run_id, target))]
    pub async fn acquire_lease(
        &self,
        target: &str,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<LeaseOutcome, StoreError> {
        for _ in 0..ACQUIRE_ATTEMPTS {
            let at = now().timestamp_millis();
            let expires = at.saturating_add(ttl_ms(ttl));
            // One statement, atomic on both backends: insert, or overwrite only a row that has
            // expired or is already ours. Zero rows affected means someone else holds it.
            let done = self
                .retry_busy(|| async {
                    sqlx::query(&format!(
                        "INSERT INTO leases ({LEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (target) DO UPDATE SET \
                         acquired_at_ms = CASE WHEN leases.run_id = $2 AND leases.host = $4 \
                           AND leases.pid = $5 THEN leases.acquired_at_ms ELSE $6 END, \
                         run_id = $2, owner = $3, host = $4, pid = $5, expires_at_ms = $7 \
                         WHERE leases.expires_at_ms < $6 \
                         OR (leases.run_id = $2 AND leases.host = $4 AND leases.pid = $5)"
                    ))
                    .bind(target)
                    .bind(&holder.run_id)
                    .bind(&holder.owner)
                    .bind(&holder.host)
                    .bind(holder.pid)
                    .bind(at)
                    .bind(expires)
                    .execute(&self.pool)
                    .await
                    .map_err(query_err(format!("acquiring the lease on {target}")))
                })
                .await?;
            if done.rows_affected() > 0 {
                return Ok(LeaseOutcome::Acquired);
            }
            if let Some(lease) = self.lease(target).await? {
                return Ok(LeaseOutcome::Held(lease));
            }
            // Released between the two statements: try again.
        }
        Err(StoreError::LeaseContended {
            target: target.into(),
        })
    }

    /// Takes `target` over from a holder that is gone (a killed process whose run is resumed),
    /// only if the lease still is exactly `expected`: of two processes taking over, one wins.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %holder.run_id, target))]
    pub async fn take_over_lease(
        &self,
        target: &str,
        expected: &Lease,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let at = now().timestamp_millis();
        let expires = at.saturating_add(ttl_ms(ttl));
        let done = self
            .retry_busy(|| async {
                sqlx::query(
                    "UPDATE leases SET run_id = $2, owner = $3, host = $4, pid = $5, \
                     acquired_at_ms = $6, expires_at_ms = $7 \
                     WHERE target = $1 AND run_id = $8 AND host = $9 AND pid = $10 \
                     AND acquired_at_ms = $11",
                )
                .bind(target)
                .bind(&holder.run_id)
                .bind(&holder.owner)
                .bind(&holder.host)
                .bind(holder.pid)
                .bind(at)
                .bind(expires)
                .bind(&expected.run_id)
                .bind(&expected.host)
                .bind(expected.pid)
                .bind(expected.acquired_at.timestamp_millis())
                .execute(&self.pool)
                .await
                .map_err(query_err(format!("taking over the lease on {target}")))
            })
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Extends every lease `holder` holds to `ttl` from now; returns how many. Leases another
    /// process took over are not extended: 0 tells a renewing process it lost them.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %holder.run_id))]
    pub async fn renew_leases(
        &self,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let expires = now().timestamp_millis().saturating_add(ttl_ms(ttl));
        let done = self
            .retry_busy(|| async move {
                sqlx::query(
                    "UPDATE leases SET expires_at_ms = $4 \
                     WHERE run_id = $1 AND host = $2 AND pid = $3",
                )
                .bind(&holder.run_id)
                .bind(&holder.host)
                .bind(holder.pid)
                .bind(expires)
                .execute(&self.pool)
                .await
                .map_err(query_err(format!(
                    "renewing the leases of run {}",
                    holder.run_id
                )))
            })
            .await?;
        Ok(done.rows_affected())
    }

    /// Releases every lease `holder` holds; returns how many. Leases a resumed process took over
    /// are not the old process's to release.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %holder.run_id))]
    pub async fn release_leases(&self, holder: &LeaseHolder) -> Result<u64, StoreError> {
        let done = self
            .retry_busy(|| async move {
                sqlx::query("DELETE FROM leases WHERE run_id = $1 AND host = $2 AND pid = $3")
                    .bind(&holder.run_id)
                    .bind(&holder.host)
                    .bind(holder.pid)
                    .execute(&self.pool)
                    .await
                    .map_err(query_err(format!(
                        "releasing the leases of run {}",
                        holder.run_id
                    )))
            })
            .await?;
        Ok(done.rows_affected())
    }

    /// Releases the run's leases whichever process holds them (the run is over, or an operator
    /// clears a dead one); returns how many.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = %run_id))]
    pub async fn release_run_leases(&self, run_id: &str) -> Result<u64, StoreError> {
        let done = self
            .retry_busy(|| async move {
                sqlx::query("DELETE FROM leases WHERE run_id = $1")
                    .bind(run_id)
                    .execute(&self.pool)
                    .await
                    .map_err(query_err(format!("releasing the leases of run {run_id}")))
            })
            .await?;
        Ok(done.rows_affected())
    }

    /// The lease on `target`, expired or not.
    pub async fn lease(&self, target: &str) -> Result<Option<Lease>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {LEASE_COLUMNS} FROM leases WHERE target = $1"
        ))
        .bind(target)
        .fetch_optional(&self.pool)
        .await
        .map_err(query_err(format!("reading the lease on {target}")))?;
        row.as_ref().map(lease_from_row).transpose()
    }

    /// Every lease, expired ones included, by target.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {LEASE_COLUMNS} FROM leases ORDER BY target"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query_err("listing leases"))?;
        rows.iter().map(lease_from_row).collect()
    }
}

fn lease_from_row(row: &AnyRow) -> Result<Lease, StoreError> {
    let target: String = col(row, "target")?;
    let what = |field: &str| format!("lease on {target}: {field}");
    Ok(Lease {
        run_id: col(row, "run_id")?,
        owner: col(row, "owner")?,
        host: col(row, "host")?,
        pid: col(row, "pid")?,
        acquired_at: time_from_ms(col(row, "acquired_at_ms")?, &what("acquired_at"))?,
        expires_at: time_from_ms(col(row, "expires_at_ms")?, &what("expires_at"))?,
        target,
    })
}
