//! The audit trail: append-only events, each carrying the hash of the one before it, so a deleted,
//! edited or reordered event shows when the chain is verified.
//!
//! An event's hash is the hex SHA-256 of a length-prefixed encoding of its fields (see
//! [`event_hash`]); the first event's `prev_hash` is [`GENESIS_HASH`]. The `audit_head` row holds
//! the last sequence number and hash: appenders update it first, inside their transaction, which
//! makes them take turns on both backends and lets verification see a truncated tail.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::{col, json_from_text, json_text, now, query_err, Backend, Store, StoreError};

/// `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Events read per query while verifying: the whole trail never sits in memory.
const VERIFY_PAGE: i64 = 1000;

/// An event to record; `payload` is already masked (no secrets, no tokens).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewEvent {
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    /// What happened, dotted: `run.started`, `step.finished`, `http.request`, …
    pub kind: String,
    pub payload: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    /// 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it was recorded (UTC, millisecond precision; hashed as `YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub at: DateTime<Utc>,
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    pub kind: String,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of walking the whole chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditReport {
    /// Events found.
    pub events: i64,
    /// The last sequence number `audit_head` records.
    pub head_seq: i64,
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Something wrong with the chain, at the first sequence number concerned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditProblem {
    pub seq: i64,
    #[serde(flatten)]
    pub kind: AuditProblemKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblemKind {
    /// `count` events from `seq` on are gone (deleted rows).
    Missing { count: i64 },
    /// The event's fields do not hash to its recorded hash (the row was modified).
    HashMismatch { recorded: String, computed: String },
    /// The event's `prev_hash` is not the previous event's hash (rows replaced or re-hashed).
    BrokenLink { prev_hash: String, expected: String },
    /// The chain ends elsewhere than the head says: events deleted from (or added at) the end.
    HeadMismatch { head_seq: i64, last_seq: i64 },
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = self.seq;
        match &self.kind {
            AuditProblemKind::Missing { count: 1 } => write!(f, "event {seq} is missing"),
            AuditProblemKind::Missing { count } => {
                write!(f, "events {seq} to {} are missing", seq + count - 1)
            }
            AuditProblemKind::HashMismatch { .. } => {
                write!(
                    f,
                    "event {seq} was modified: its content does not match its hash"
                )
            }
            AuditProblemKind::BrokenLink { .. } => write!(
                f,
                "event {seq} does not follow the event before it (its previous hash differs)"
            ),
            AuditProblemKind::HeadMismatch { head_seq, last_seq } => write!(
                f,
                "the trail should end at event {head_seq} but ends at event {last_seq}"
            ),
        }
    }
}

/// Hex SHA-256 over `seq`, `at`, `run_id`, `step_id`, `kind`, `payload` (compact JSON, as stored)
/// and `prev_hash`. Every field is length-prefixed (8 bytes, big-endian) and an absent one is
/// written as `u64::MAX`, so no two different events encode alike.
pub fn event_hash(
    seq: i64,
    at: &str,
    run_id: Option<&str>,
    step_id: Option<&str>,
    kind: &str,
    payload: &str,
    prev_hash: &str,
) -> String {
    fn field(hasher: &mut Sha256, value: Option<&[u8]>) {
        match value {
            Some(bytes) => {
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(bytes);
            }
            None => hasher.update(u64::MAX.to_be_bytes()),
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(b"azdeck-audit-v1");
    field(&mut hasher, Some(&seq.to_be_bytes()));
    field(&mut hasher, Some(at.as_bytes()));
    field(&mut hasher, run_id.map(str::as_bytes));
    field(&mut hasher, step_id.map(str::as_bytes));
    field(&mut hasher, Some(kind.as_bytes()));
    field(&mut hasher, Some(payload.as_bytes()));
    field(&mut hasher, Some(prev_hash.as_bytes()));
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An event row as stored: verification hashes exactly these strings.
struct RawEvent {
    seq: i64,
    at: String,
    run_id: Option<String>,
    step_id: Option<String>,
    kind: String,
    payload: String,
    prev_hash: String,
    hash: String,
}

impl RawEvent {
    fn from_row(row: &AnyRow) -> Result<RawEvent, StoreError> {
        Ok(RawEvent {
            seq: col(row, "seq")?,
            at: col(row, "at")?,
            run_id: col(row, "run_id")?,
            step_id: col(row, "step_id")?,
            kind: col(row, "kind")?,
            payload: col(row, "payload")?,
            prev_hash: col(row, "prev_hash")?,
            hash: col(row, "hash")?,
        })
    }

    fn computed_hash(&self) -> String {
        event_hash(
            self.seq,
            &self.at,
            self.run_id.as_deref(),
            self.step_id.as_deref(),
            &self.kind,
            &self.payload,
            &self.prev_hash,
        )
    }

    fn into_event(self) -> Result<AuditEvent, StoreError> {
        let seq = self.seq;
        Ok(AuditEvent {
            at: DateTime::parse_from_rfc3339(&self.at)
                .map_err(|e| StoreError::corrupt(format!("audit event {seq}: time: {e}")))?
                .with_timezone(&Utc),
            payload: json_from_text(&self.payload, &format!("audit event {seq}: payload"))?,
            seq,
            run_id: self.run_id,
            step_id: self.step_id,
            kind: self.kind,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

const EVENT_COLUMNS: &str = "seq, at, run_id, step_id, kind, payload, prev_hash, hash";

impl Store {
    /// Records an event at the end of the chain and returns it as stored.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = event.run_id.as_deref(), kind = %event.kind))]
    pub async fn append(&self, event: &NewEvent) -> Result<AuditEvent, StoreError> {
        let payload = [json_text(&event.payload)];
        let raw = self
            .retry_busy(|| self.append_all_once(std::slice::from_ref(event), &payload))
            .await?
            .pop()
            .ok_or_else(|| StoreError::corrupt("an append returned no event"))?;
        Ok(AuditEvent {
            seq: raw.seq,
            at: raw.at_time,
            run_id: event.run_id.clone(),
            step_id: event.step_id.clone(),
            kind: event.kind.clone(),
            payload: event.payload.clone(),
            prev_hash: raw.prev_hash,
            hash: raw.hash,
        })
    }

    /// Records several events, in order, in one transaction (a run's writer batches what queued
    /// up while the last batch was being written: one commit instead of one per event).
    #[tracing::instrument(level = "debug", skip_all, fields(events = events.len()))]
    pub async fn append_all(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let payloads: Vec<String> = events.iter().map(|e| json_text(&e.payload)).collect();
        self.retry_busy(|| self.append_all_once(events, &payloads))
            .await
            .map(|_| ())
    }

    async fn append_all_once(
        &self,
        events: &[NewEvent],
        payloads: &[String],
    ) -> Result<Vec<Appended>, StoreError> {
        let err = || query_err("appending to the audit trail");
        let count = events.len() as i64;
        let mut tx = self.pool.begin().await.map_err(err())?;
        // Taking the head first is what serialises appenders: PostgreSQL locks the row until
        // commit (a waiter then sees the committed seq), SQLite takes its write lock here. The
        // update reserves `count` sequence numbers.
        let head =
            sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
                .bind(count)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err())?
                .ok_or_else(|| StoreError::corrupt("the audit head row is missing"))?;
        let last_seq: i64 = col(&head, "seq")?;
        let mut prev_hash: String = col(&head, "hash")?;
        // Stamped under the lock, so times follow sequence numbers (clocks permitting).
        let at_time = now();
        let at = at_time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut appended = Vec::with_capacity(events.len());
        for (offset, (event, payload)) in events.iter().zip(payloads).enumerate() {
            let seq = last_seq - count + 1 + offset as i64;
            let hash = event_hash(
                seq,
                &at,
                event.run_id.as_deref(),
                event.step_id.as_deref(),
                &event.kind,
                payload,
                &prev_hash,
            );
            sqlx::query(&format!(
                "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(seq)
            .bind(&at)
            .bind(event.run_id.as_deref())
            .bind(event.step_id.as_deref())
            .bind(&event.kind)
            .bind(payload.as_str())
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .map_err(err())?;
            appended.push(Appended {
                seq,
                at_time,
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            });
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev_hash)
            .execute(&mut *tx)
            .await
            .map_err(err())?;
        tx.commit().await.map_err(err())?;
        Ok(appended)
    }

    /// Up to `limit` events after `after_seq`, oldest first; only the run's when `run_id` is given.
    #[tracing::instrument(level = "debug", skip_all, fields(run_id = run_id))]
    pub async fn events(
        &self,
        run_id: Option<&str>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let err = || query_err("reading the audit trail");
        let rows = match run_id {
            Some(run_id) => sqlx::query(&format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events WHERE run_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3"
            ))
            .bind(run_id)
            .bind(after_seq)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(err())?,
            None => sqlx::query(&format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(after_seq)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(err())?,
        };
        rows.iter()
            .map(|row| RawEvent::from_row(row)?.into_event())
            .collect()
    }

    /// Walks the whole chain and reports every gap, modified event, broken link and a head that
    /// does not match the last event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn verify(&self) -> Result<AuditReport, StoreError> {
        let err = || query_err("verifying the audit trail");
        // One snapshot for the head and every page, so concurrent appends cannot look like damage.
        // (A SQLite read transaction is a snapshot under WAL; PostgreSQL needs REPEATABLE READ.)
        let mut tx = self.pool.begin().await.map_err(err())?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(err())?;
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(err())?
            .ok_or_else(|| StoreError::corrupt("the audit head row is missing"))?;
        let head_seq: i64 = col(&head, "seq")?;
        let head_hash: String = col(&head, "hash")?;

        let mut problems = Vec::new();
        let mut events = 0;
        let mut last_seq = 0;
        let mut last_hash = GENESIS_HASH.to_string();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(last_seq)
            .bind(VERIFY_PAGE)
            .fetch_all(&mut *tx)
            .await
            .map_err(err())?;
            let page_len = rows.len();
            for row in &rows {
                let event = RawEvent::from_row(row)?;
                events += 1;
                let expected_seq = last_seq + 1;
                if event.seq != expected_seq {
                    problems.push(AuditProblem {
                        seq: expected_seq,
                        kind: AuditProblemKind::Missing {
                            count: event.seq - expected_seq,
                        },
                    });
                } else if event.prev_hash != last_hash {
                    // Across a gap the link is broken by the gap itself: only reported here.
                    problems.push(AuditProblem {
                        seq: event.seq,
                        kind: AuditProblemKind::BrokenLink {
                            prev_hash: event.prev_hash.clone(),
                            expected: last_hash.clone(),
                        },
                    });
                }
                let computed = event.computed_hash();
                if computed != event.hash {
                    problems.push(AuditProblem {
                        seq: event.seq,
                        kind: AuditProblemKind::HashMismatch {
                            recorded: event.hash.clone(),
                            computed,
                        },
                    });
                }
                last_seq = event.seq;
                last_hash = event.hash;
            }
            if page_len < VERIFY_PAGE as usize {
                break;
            }
        }
        tx.commit().await.map_err(err())?;

        if head_seq != last_seq || head_hash != last_hash {
            problems.push(AuditProblem {
                // The first event the head and the rows disagree about.
                seq: if head_seq == last_seq {
                    last_seq
                } else {
                    head_seq.min(last_seq) + 1
                },
                kind: AuditProblemKind::HeadMismatch { head_seq, last_seq },
            });
        }
        Ok(AuditReport {
            events,
            head_seq,
            problems,
        })
    }
}

struct Appended {
    seq: i64,
    at_time: DateTime<Utc>,
    prev_hash: String,
    hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_on_field_boundaries() {
        let base = event_hash(1, "t", Some("r"), Some("s"), "k", "{}", GENESIS_HASH);
        assert_eq!(base.len(), 64);
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
        let variants = [
            event_hash(2, "t", Some("r"), Some("s"), "k", "{}", GENESIS_HASH),
            event_hash(1, "u", Some("r"), Some("s"), "k", "{}", GENESIS_HASH),
            event_hash(1, "t", None, Some("s"), "k", "{}", GENESIS_HASH),
            event_hash(1, "t", Some(""), Some("s"), "k", "{}", GENESIS_HASH),
            event_hash(1, "t", Some("r"), None, "k", "{}", GENESIS_HASH),
            event_hash(1, "t", Some("r"), Some("s"), "K", "{}", GENESIS_HASH),
            event_hash(1, "t", Some("r"), Some("s"), "k", "[]", GENESIS_HASH),
            event_hash(1, "t", Some("r"), Some("s"), "k", "{}", &"1".repeat(64)),
            // Moving a character from one field to the next must change the hash.
            event_hash(1, "t", Some("rs"), Some(""), "k", "{}", GENESIS_HASH),
        ];
        for (i, variant) in variants.iter().enumerate() {
            assert_ne!(variant, &base, "variant {i} hashes like the original");
        }
        // Deterministic.
        assert_eq!(
            base,
            event_hash(1, "t", Some("r"), Some("s"), "k", "{}", GENESIS_HASH)
        );
    }

    #[test]
    fn problems_read_as_sentences() {
        let missing = AuditProblem {
            seq: 4,
            kind: AuditProblemKind::Missing { count: 2 },
        };
        assert_eq!(missing.to_string(), "events 4 to 5 are missing");
        let head = AuditProblem {
            seq: 10,
            kind: AuditProblemKind::HeadMismatch {
                head_seq: 10,
                last_seq: 9,
            },
        };
        assert_eq!(
            head.to_string(),
            "the trail should end at event 10 but ends at event 9"
        );
    }
}
