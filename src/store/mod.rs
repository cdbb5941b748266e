//! The store: runs of runbooks, their steps' checkpoints, the audit trail of everything a run does
//! (every REST call included) and the leases that keep two runs off one target resource.
//!
//! SQLite by default (one file under `$XDG_STATE_HOME/azdeck`, shared by every azdeck process on
//! the machine: WAL journal, a 10 s busy timeout) or PostgreSQL for a team (`postgres://…`). Both
//! run the same migrations (`migrations/`, portable SQL) and the same runtime-checked queries
//! through sqlx's `Any` driver, so building needs no database.
//!
//! Several processes share a store: two `azdeck run`s, or a run killed in one process and resumed
//! by another. Every change that takes more than one statement is a transaction; audit appends
//! serialise on the one-row `audit_head` table so the chain stays contiguous under concurrency.
//!
//! **Secrets never reach the store.** Callers mask secret values (parameters, step inputs and
//! outputs, request bodies in audit payloads) before handing them over; the store writes what it
//! is given and the audit trail cannot be edited afterwards. PostgreSQL passwords in URLs are
//! redacted from every error this module returns.

mod audit;
mod leases;
mod runs;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyConnection, AnyPool, Connection, Row};

pub use audit::{
    event_hash, AuditEvent, AuditProblem, AuditProblemKind, AuditReport, NewEvent, GENESIS_HASH,
};
pub use leases::{Lease, LeaseHolder, LeaseOutcome};
pub use runs::{NewRun, RunRecord, RunStatus, StepRecord, StepState};

static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a SQLite statement waits for another process's write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// Extra attempts after SQLite still reports the database busy (beyond the busy timeout: WAL
/// snapshots and journal-mode switches return BUSY without waiting).
const BUSY_RETRIES: u32 = 5;
/// How long opening a PostgreSQL store waits for the server.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Shortest accepted run id prefix: shorter ones would match too much to be meant.
pub const MIN_RUN_ID_PREFIX: usize = 8;

/// Which database a store lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not a store or the database cannot be reached. `url` has its password redacted.
    #[error("cannot open the store at {url}: {message}")]
    Open { url: String, message: String },
    #[error("no state directory: set XDG_STATE_HOME, HOME or AZDECK_STATE_URL")]
    NoStateDir,
    #[error("cannot bring the store's schema at {url} up to date")]
    Migrate {
        url: String,
        #[source]
        source: MigrateError,
    },
    #[error("store: {context}")]
    Query {
        context: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("no run {run_id}")]
    NotFound { run_id: String },
    #[error("run id prefix {prefix} matches more than one run: give more of the id")]
    Ambiguous { prefix: String },
    /// The lease kept being released and retaken faster than `acquire_lease` could look at it.
    #[error("the lease on {target} keeps changing hands")]
    LeaseContended { target: String },
    /// A row the store cannot read back (bad JSON, unknown status, impossible time).
    #[error("corrupt store: {message}")]
    Corrupt { message: String },
}

impl StoreError {
    fn corrupt(message: impl Into<String>) -> Self {
        StoreError::Corrupt {
            message: message.into(),
        }
    }
}

/// `map_err` adapter: a sqlx error with what the store was doing.
fn query_err(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Query { context, source }
}

/// Runs, checkpoints, audit trail and leases in one database; cheap to clone (a pool inside).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Store {
    // The pool's options hold the URL, password included: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating a SQLite file and its directory if needed) and migrates the store at `url`:
    /// `sqlite:///abs/path.db`, `sqlite://relative.db`, `sqlite::memory:` or `postgres://…`.
    #[tracing::instrument(level = "debug", skip_all, fields(url = %redact_url(url)))]
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let open_err = |message: String| StoreError::Open {
            url: redact_url(url),
            message: scrub(&message, url),
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(open_err(
                "not a store URL (sqlite://… or postgres://…)".into(),
            ));
        };

        let mut connect_url = url.to_string();
        let options = match backend {
            Backend::Sqlite => {
                let sqlite = SqliteTarget::parse(url).map_err(open_err)?;
                let in_memory = match &sqlite {
                    SqliteTarget::Memory => true,
                    SqliteTarget::File { path, has_mode } => {
                        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                            std::fs::create_dir_all(dir).map_err(|e| {
                                open_err(format!("cannot create {}: {e}", dir.display()))
                            })?;
                        }
                        if !has_mode {
                            connect_url.push(if url.contains('?') { '&' } else { '?' });
                            connect_url.push_str("mode=rwc");
                        }
                        false
                    }
                };
                let options = AnyPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(move |conn, _| {
                        Box::pin(async move { sqlite_session(conn, in_memory).await })
                    });
                if in_memory {
                    // Each connection would see its own empty database once the last one closed:
                    // keep exactly one, forever.
                    options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    // Writers take turns on SQLite anyway; a few connections serve concurrent reads.
                    options.max_connections(4)
                }
            }
            Backend::Postgres => AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(30))
                .max_connections(5),
        };
        if backend == Backend::Postgres {
            // The pool retries a refused connection until its acquire timeout; one direct attempt
            // first makes an unreachable server an error in seconds, not half a minute.
            let probe =
                tokio::time::timeout(PG_CONNECT_TIMEOUT, AnyConnection::connect(&connect_url))
                    .await
                    .map_err(|_| {
                        open_err(format!(
                            "no answer within {} s",
                            PG_CONNECT_TIMEOUT.as_secs()
                        ))
                    })?
                    .map_err(|e| open_err(e.to_string()))?;
            // Only a probe: closing it cleanly or not changes nothing.
            let _ = probe.close().await;
        }
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let store = Store { pool, backend };
        store.migrate(url).await?;
        Ok(store)
    }

    async fn migrate(&self, url: &str) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Ok(()) => return Ok(()),
                // SQLite has no migration lock: two processes creating one file race, the loser
                // fails (busy, or the table exists) and finds the work done when it looks again.
                Err(MigrateError::Execute(_) | MigrateError::ExecuteMigration(..))
                    if self.backend == Backend::Sqlite && attempt < BUSY_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(source) => {
                    return Err(StoreError::Migrate {
                        url: redact_url(url),
                        source,
                    })
                }
            }
        }
    }

    /// Where the store lives unless configured: `$AZDECK_STATE_URL`, else the SQLite file
    /// `$XDG_STATE_HOME/azdeck/azdeck.db`, else `~/.local/state/azdeck/azdeck.db`.
    pub fn default_url() -> Result<String, StoreError> {
        default_url_from(
            std::env::var("AZDECK_STATE_URL").ok(),
            std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool's connections (SQLite checkpoints its WAL on the last close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs `op` again while SQLite reports the database busy past its timeout.
    async fn retry_busy<T, F, Fut>(&self, mut op: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Err(StoreError::Query { source, .. })
                    if self.backend == Backend::Sqlite
                        && attempt < BUSY_RETRIES
                        && is_sqlite_busy(&source) =>
                {
                    attempt += 1;
                    tracing::debug!(attempt, "SQLite busy, retrying");
                    tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }
}

/// Per-connection SQLite settings: wait for other processes' locks, enforce foreign keys, WAL so
/// readers never block the writer.
async fn sqlite_session(conn: &mut AnyConnection, in_memory: bool) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    // In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses
    // nothing it committed; a power cut may lose the last commits but never corrupts the file.
    // That keeps a step's checkpoints well under a millisecond.
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    if in_memory {
        return Ok(());
    }
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    // Switching to WAL needs a moment alone with the file and does not wait on the busy timeout:
    // only the first connection to a new file gets here; retry if another process is in it too.
    let mut attempt = 0;
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 40 && is_sqlite_busy(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, extended codes included.
fn is_sqlite_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

/// What a `sqlite:` URL points at.
#[derive(Debug, PartialEq)]
enum SqliteTarget {
    Memory,
    File { path: PathBuf, has_mode: bool },
}

impl SqliteTarget {
    /// Mirrors sqlx's own parsing (`sqlite://path`, `sqlite:path`, percent-decoded, `?params`).
    fn parse(url: &str) -> Result<SqliteTarget, String> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let (database, params) = match rest.split_once('?') {
            Some((database, params)) => (database, Some(params)),
            None => (rest, None),
        };
        let pairs: Vec<(String, String)> = params
            .map(|p| {
                url::form_urlencoded::parse(p.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let mode = pairs
            .iter()
            .find(|(k, _)| k == "mode")
            .map(|(_, v)| v.as_str());
        if database == ":memory:" || mode == Some("memory") {
            return Ok(SqliteTarget::Memory);
        }
        if database.is_empty() {
            return Err("no database file in the URL".into());
        }
        let path = percent_encoding::percent_decode_str(database)
            .decode_utf8()
            .map_err(|e| format!("database path is not UTF-8: {e}"))?;
        Ok(SqliteTarget::File {
            path: PathBuf::from(path.as_ref()),
            has_mode: mode.is_some(),
        })
    }
}

fn default_url_from(
    state_url: Option<String>,
    xdg_state_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<String, StoreError> {
    if let Some(url) = state_url.filter(|u| !u.trim().is_empty()) {
        return Ok(url);
    }
    // The XDG spec: a relative XDG_STATE_HOME is invalid and is ignored.
    let state_dir = xdg_state_home
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.filter(|p| p.is_absolute())
                .map(|h| h.join(".local").join("state"))
        })
        .ok_or(StoreError::NoStateDir)?;
    Ok(sqlite_url(&state_dir.join("azdeck").join("azdeck.db")))
}

/// `sqlite://` URL of a file; `%`, `?` and `#` in the path are percent-encoded (sqlx decodes them).
pub fn sqlite_url(path: &Path) -> String {
    const ENCODE: &percent_encoding::AsciiSet =
        &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');
    let path = path.to_string_lossy();
    format!(
        "sqlite://{}",
        percent_encoding::utf8_percent_encode(&path, ENCODE)
    )
}

/// The URL with any password (in the user info or a `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.find("://") {
        Some(scheme_end) => {
            let auth_start = scheme_end + 3;
            let auth_end = base[auth_start..]
                .find('/')
                .map_or(base.len(), |i| auth_start + i);
            let authority = &base[auth_start..auth_end];
            match authority.rfind('@').and_then(|at| {
                authority[..at]
                    .find(':')
                    .map(|colon| (auth_start + colon, auth_start + at))
            }) {
                Some((colon, at)) => format!("{}:***{}", &base[..colon], &base[at..]),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// Removes the URL's password from a driver's message, should the driver ever echo it.
fn scrub(message: &str, url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return message.to_string();
    };
    let mut secrets: Vec<String> = Vec::new();
    if let Some(password) = parsed.password() {
        secrets.push(password.to_string());
        if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
            secrets.push(decoded.into_owned());
        }
    }
    secrets.extend(
        parsed
            .query_pairs()
            .filter(|(k, _)| k.eq_ignore_ascii_case("password"))
            .map(|(_, v)| v.into_owned()),
    );
    let mut message = message.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "***");
    }
    message
}

// Times are epoch milliseconds in the database; the Rust side uses `DateTime<Utc>` truncated to
// the millisecond, so what is written reads back equal.

fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn time_from_ms(ms: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::corrupt(format!("{what}: {ms} is not a time")))
}

fn opt_time_from_ms(ms: Option<i64>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|ms| time_from_ms(ms, what)).transpose()
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

fn json_text(value: &serde_json::Value) -> String {
    // Serialising a `Value` cannot fail (its map keys are strings).
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn json_from_text(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("{what} is not JSON: {e}")))
}

/// Reads a column, naming it if the row does not have it in the expected type.
fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(query_err(format!("reading column {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_user_info_and_parameters() {
        assert_eq!(
            redact_url("postgres://azdeck:s3cr%40t@db.example:5432/azdeck?sslmode=require"),
            "postgres://azdeck:***@db.example:5432/azdeck?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/azdeck?user=me&password=hunter2"),
            "postgres://db/azdeck?user=me&password=***"
        );
        assert_eq!(
            redact_url("postgres://azdeck@db/azdeck"),
            "postgres://azdeck@db/azdeck"
        );
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }

    #[test]
    fn scrubs_the_password_from_driver_messages() {
        let url = "postgres://azdeck:p%40ss@db/azdeck";
        assert_eq!(
            scrub("auth failed for p@ss and p%40ss", url),
            "auth failed for *** and ***"
        );
    }

    #[test]
    fn default_url_prefers_the_environment_then_xdg_then_home() {
        let url = default_url_from(
            Some("postgres://team/azdeck".into()),
            Some("/xdg".into()),
            Some("/home/me".into()),
        );
        assert_eq!(url.ok().as_deref(), Some("postgres://team/azdeck"));
        let url = default_url_from(None, Some("/xdg".into()), Some("/home/me".into()));
        assert_eq!(url.ok().as_deref(), Some("sqlite:///xdg/azdeck/azdeck.db"));
        let url = default_url_from(
            Some(" ".into()),
            Some("rel".into()),
            Some("/home/me".into()),
        );
        assert_eq!(
            url.ok().as_deref(),
            Some("sqlite:///home/me/.local/state/azdeck/azdeck.db")
        );
        assert!(matches!(
            default_url_from(None, None, None),
            Err(StoreError::NoStateDir)
        ));
    }

    #[test]
    fn sqlite_urls_round_trip_awkward_paths() {
        let url = sqlite_url(Path::new("/tmp/a?b#c%d/x.db"));
        assert_eq!(url, "sqlite:///tmp/a%3Fb%23c%25d/x.db");
        assert_eq!(
            SqliteTarget::parse(&url),
            Ok(SqliteTarget::File {
                path: PathBuf::from("/tmp/a?b#c%d/x.db"),
                has_mode: false
            })
        );
        assert_eq!(
            SqliteTarget::parse("sqlite::memory:"),
            Ok(SqliteTarget::Memory)
        );
        assert_eq!(
            SqliteTarget::parse("sqlite://rel.db?mode=rwc"),
            Ok(SqliteTarget::File {
                path: PathBuf::from("rel.db"),
                has_mode: true
            })
        );
        assert!(SqliteTarget::parse("sqlite://").is_err());
    }

    #[tokio::test]
    async fn opens_in_memory_and_keeps_data_across_calls() -> Result<(), StoreError> {
        let store = Store::open("sqlite::memory:").await?;
        assert_eq!(store.backend(), Backend::Sqlite);
        store
            .append(&NewEvent {
                run_id: None,
                step_id: None,
                kind: "test".into(),
                payload: serde_json::json!({"n": 1}),
            })
            .await?;
        // A second pool connection would see an empty database; the one kept must not.
        let events = store.events(None, 0, 10).await?;
        assert_eq!(events.len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn rejects_other_schemes_without_echoing_passwords() {
        let err = Store::open("mysql://me:topsecret@db/x").await.err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("not a store URL"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
    }
}
