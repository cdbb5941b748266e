//! The store against real databases: a SQLite file per test and, when `AZDECK_TEST_PG_URL` is set
//! (`eval "$(scripts/pg-test-cluster start)"`), PostgreSQL in a fresh schema per test.
//! `AZDECK_REQUIRE_PG=1` turns a missing PostgreSQL into a failure instead of a skip.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use azdeck::store::{
    event_hash, AuditProblem, AuditProblemKind, Backend, Lease, LeaseHolder, LeaseOutcome,
    NewEvent, NewRun, RunStatus, StepRecord, StepState, Store, StoreError, GENESIS_HASH,
};
use serde_json::json;
use sqlx::{AnyPool, Connection};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// One database a test runs against.
struct TestDb {
    label: &'static str,
    url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    /// PostgreSQL: the admin URL and the schema this test owns.
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    async fn open(&self) -> Result<Store, StoreError> {
        Store::open(&self.url).await
    }

    /// Raw SQL behind the store's back (the tamper tests), over a connection of its own.
    async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(&self.url).await?;
        let done = sqlx::query(sql).execute(&pool).await?;
        pool.close().await;
        Ok(done.rows_affected())
    }

    async fn cleanup(self) -> TestResult {
        if let Some((admin, schema)) = &self.pg_schema {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
        Ok(())
    }
}

/// SQLite in a temporary file, plus PostgreSQL if configured.
async fn databases(test: &str) -> Result<Vec<TestDb>, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state").join("azdeck.db");
    let mut dbs = vec![TestDb {
        label: "sqlite",
        url: azdeck::store::sqlite_url(&path),
        backend: Backend::Sqlite,
        _dir: Some(dir),
        pg_schema: None,
    }];
    match std::env::var("AZDECK_TEST_PG_URL") {
        Ok(admin) if !admin.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            let sep = if admin.contains('?') { '&' } else { '?' };
            dbs.push(TestDb {
                label: "postgres",
                url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                backend: Backend::Postgres,
                _dir: None,
                pg_schema: Some((admin, schema)),
            });
        }
        _ => {
            assert!(
                std::env::var("AZDECK_REQUIRE_PG").as_deref() != Ok("1"),
                "{test}: AZDECK_REQUIRE_PG=1 but AZDECK_TEST_PG_URL is not set \
                 (eval \"$(scripts/pg-test-cluster start)\")"
            );
            // Straight to the stream: libtest hides what passing tests print with eprintln!.
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!! SKIPPED: the store tests ran on SQLite only. Set \
                     AZDECK_TEST_PG_URL (eval \"$(scripts/pg-test-cluster start)\") to run \
                     them on PostgreSQL too; AZDECK_REQUIRE_PG=1 makes this an error.\n"
                );
            });
        }
    }
    Ok(dbs)
}

fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        runbook: "restart-app".into(),
        runbook_source: "builtin:restart-app".into(),
        runbook_text: "name: restart-app\nsteps:\n  - id: restart # «ünïcode»\n".into(),
        runbook_hash: "ab".repeat(32),
        environment: "prod".into(),
        params: json!({"app": "web", "secret": "***", "n": [1, 2.5, null]}),
        started_by: "ops@host".into(),
        dry_run: false,
    }
}

fn event(run_id: Option<&str>, kind: &str, n: i64) -> NewEvent {
    NewEvent {
        run_id: run_id.map(Into::into),
        step_id: run_id.map(|_| format!("step-{n}")),
        kind: kind.into(),
        payload: json!({"n": n, "url": "https://management.azure.com/x?api-version=1", "ok": true}),
    }
}

fn holder(run_id: &str, pid: i64) -> LeaseHolder {
    LeaseHolder {
        run_id: run_id.into(),
        owner: format!("ops@host-{pid}"),
        host: "host".into(),
        pid,
    }
}

async fn append_n(store: &Store, n: i64) -> Result<(), StoreError> {
    for i in 1..=n {
        store
            .append(&event(Some("run-1"), "http.request", i))
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn migrations_apply_once_and_reopening_is_idempotent() -> TestResult {
    for db in databases("migrations_apply_once_and_reopening_is_idempotent").await? {
        let ctx = db.label;
        let store = db.open().await?;
        assert_eq!(store.backend(), db.backend, "{ctx}");
        store.create_run(&new_run("run-kept")).await?;
        store.close().await;

        // Reopen several times, some concurrently: nothing applied twice, nothing lost.
        let reopened = futures::future::join_all((0..4).map(|_| db.open())).await;
        for store in reopened {
            store?.close().await;
        }
        let store = db.open().await?;
        assert!(store.run("run-kept").await?.is_some(), "{ctx}");
        store.close().await;

        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(&db.url).await?;
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await?;
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count();
        assert_eq!(applied, i64::try_from(files)?, "{ctx}: applied migrations");
        if db.backend == Backend::Sqlite {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&pool)
                .await?;
            assert_eq!(mode, "wal", "the SQLite file is in WAL mode");
        }
        pool.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_new_sqlite_file_opened_by_several_processes_at_once() -> TestResult {
    // Separate pools race to create the file, switch it to WAL and migrate it.
    let dir = tempfile::tempdir()?;
    let url = azdeck::store::sqlite_url(&dir.path().join("fresh").join("race.db"));
    let opened = futures::future::join_all((0..6).map(|_| Store::open(&url))).await;
    for store in opened {
        let store = store?;
        store.append(&event(None, "opened", 1)).await?;
    }
    let report = Store::open(&url).await?.verify().await?;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.events, 6);
    Ok(())
}

#[tokio::test]
async fn runs_are_created_updated_found_by_prefix_and_listed_newest_first() -> TestResult {
    for db in databases("runs_are_created_updated_found_by_prefix_and_listed_newest_first").await? {
        let ctx = db.label;
        let store = db.open().await?;
        let ids = [
            "aaaaaaaa-1111-4000-8000-000000000001",
            "aaaaaaaa-2222-4000-8000-000000000002",
            "bbbbbbbb-3333-4000-8000-000000000003",
        ];
        for id in ids {
            store.create_run(&new_run(id)).await?;
            // Distinct start times: the listing orders by them.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }

        let run = store.run(ids[0]).await?.ok_or("run 0 missing")?;
        let expected = new_run(ids[0]);
        assert_eq!(run.id, expected.id, "{ctx}");
        assert_eq!(run.runbook_text, expected.runbook_text, "{ctx}");
        assert_eq!(run.params, expected.params, "{ctx}");
        assert_eq!(run.runbook_hash, expected.runbook_hash, "{ctx}");
        assert_eq!(run.status, RunStatus::Running, "{ctx}");
        assert_eq!(run.exit_code, None, "{ctx}");
        assert_eq!(run.finished_at, None, "{ctx}");
        assert_eq!(run.started_at, run.updated_at, "{ctx}");
        assert!(!run.dry_run, "{ctx}");

        store
            .update_run(ids[0], RunStatus::Failed, Some(3), Some("restart"))
            .await?;
        let failed = store.run(ids[0]).await?.ok_or("run 0 missing")?;
        assert_eq!(failed.status, RunStatus::Failed, "{ctx}");
        assert_eq!(failed.exit_code, Some(3), "{ctx}");
        assert_eq!(failed.current_step.as_deref(), Some("restart"), "{ctx}");
        assert!(
            failed.finished_at.is_some(),
            "{ctx}: terminal sets finished_at"
        );
        assert!(failed.updated_at >= run.updated_at, "{ctx}");
        // A resume runs it again: no longer finished.
        store
            .update_run(ids[0], RunStatus::Running, None, Some("restart"))
            .await?;
        let resumed = store.run(ids[0]).await?.ok_or("run 0 missing")?;
        assert_eq!(resumed.finished_at, None, "{ctx}");
        assert!(matches!(
            store.update_run("nope", RunStatus::Aborted, None, None).await,
            Err(StoreError::NotFound { run_id }) if run_id == "nope"
        ));

        // Prefixes: unique ones resolve, shared ones are ambiguous, short ones are not looked up.
        let by_prefix = store.run("aaaaaaaa-2").await?.ok_or("prefix not found")?;
        assert_eq!(by_prefix.id, ids[1], "{ctx}");
        assert_eq!(store.resolve_run_id("bbbbbbbb").await?, ids[2], "{ctx}");
        assert!(
            matches!(
                store.run("aaaaaaaa").await,
                Err(StoreError::Ambiguous { .. })
            ),
            "{ctx}"
        );
        assert_eq!(store.run("bbbbbbb").await?, None, "{ctx}: 7 characters");
        assert_eq!(
            store.run("AAAAAAAA-2").await?,
            None,
            "{ctx}: case-sensitive"
        );
        assert!(matches!(
            store.resolve_run_id("cccccccc").await,
            Err(StoreError::NotFound { .. })
        ));

        let listed: Vec<String> = store.runs(10).await?.into_iter().map(|r| r.id).collect();
        assert_eq!(listed, [ids[2], ids[1], ids[0]], "{ctx}: newest first");
        let two: Vec<String> = store.runs(2).await?.into_iter().map(|r| r.id).collect();
        assert_eq!(two, [ids[2], ids[1]], "{ctx}");

        assert!(
            store.create_run(&new_run(ids[0])).await.is_err(),
            "{ctx}: duplicate id"
        );
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn step_checkpoints_are_upserted_and_listed_in_runbook_order() -> TestResult {
    for db in databases("step_checkpoints_are_upserted_and_listed_in_runbook_order").await? {
        let ctx = db.label;
        let store = db.open().await?;
        store.create_run(&new_run("run-s")).await?;
        let step = |id: &str, idx: i64| StepRecord {
            run_id: "run-s".into(),
            step_id: id.into(),
            idx,
            state: StepState::Pending,
            attempt: 0,
            inputs_hash: None,
            inputs: None,
            outputs: None,
            error: None,
            started_at: None,
            finished_at: None,
            rolled_back: false,
        };
        for (id, idx) in [("verify", 2), ("scale", 0), ("restart", 1)] {
            store.save_step(&step(id, idx)).await?;
        }
        let started = chrono::Utc::now();
        let mut done = step("scale", 0);
        done.state = StepState::Succeeded;
        done.attempt = 2;
        done.inputs_hash = Some("cd".repeat(32));
        done.inputs = Some(json!({"replicas": 3, "token": "***"}));
        done.outputs = Some(json!({"previous": 1}));
        done.started_at = chrono::DateTime::from_timestamp_millis(started.timestamp_millis());
        done.finished_at = done.started_at;
        done.rolled_back = true;
        store.save_step(&done).await?;

        let steps = store.steps("run-s").await?;
        let order: Vec<&str> = steps.iter().map(|s| s.step_id.as_str()).collect();
        assert_eq!(order, ["scale", "restart", "verify"], "{ctx}");
        assert_eq!(
            steps[0], done,
            "{ctx}: the checkpoint reads back as written"
        );
        assert_eq!(steps[1], step("restart", 1), "{ctx}");
        assert!(store.steps("other").await?.is_empty(), "{ctx}");

        let mut orphan = step("x", 0);
        orphan.run_id = "no-such-run".into();
        assert!(
            matches!(store.save_step(&orphan).await, Err(StoreError::NotFound { run_id }) if run_id == "no-such-run"),
            "{ctx}: steps need their run"
        );
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn audit_events_chain_and_verify_intact() -> TestResult {
    for db in databases("audit_events_chain_and_verify_intact").await? {
        let ctx = db.label;
        let store = db.open().await?;
        let empty = store.verify().await?;
        assert!(
            empty.is_intact() && empty.events == 0 && empty.head_seq == 0,
            "{ctx}"
        );

        let mut appended = Vec::new();
        for i in 1..=6 {
            let run = if i % 2 == 0 { Some("run-a") } else { None };
            appended.push(store.append(&event(run, "step.finished", i)).await?);
        }
        assert_eq!(appended[0].prev_hash, GENESIS_HASH, "{ctx}");
        for (i, pair) in appended.windows(2).enumerate() {
            assert_eq!(pair[1].seq, pair[0].seq + 1, "{ctx}: seq {i}");
            assert_eq!(pair[1].prev_hash, pair[0].hash, "{ctx}: link {i}");
        }
        let read = store.events(None, 0, 100).await?;
        assert_eq!(read, appended, "{ctx}: events read back as appended");
        let run_a: Vec<i64> = store
            .events(Some("run-a"), 0, 100)
            .await?
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(run_a, [2, 4, 6], "{ctx}");
        let page: Vec<i64> = store
            .events(None, 2, 3)
            .await?
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(page, [3, 4, 5], "{ctx}");
        let last = &appended[5];
        let recomputed = event_hash(
            last.seq,
            &last.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            last.run_id.as_deref(),
            last.step_id.as_deref(),
            &last.kind,
            &serde_json::to_string(&last.payload)?,
            &last.prev_hash,
        );
        assert_eq!(recomputed, last.hash, "{ctx}: the documented hash");

        let report = store.verify().await?;
        assert!(report.is_intact(), "{ctx}: {:?}", report.problems);
        assert_eq!((report.events, report.head_seq), (6, 6), "{ctx}");
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn batched_appends_continue_the_same_chain() -> TestResult {
    for db in databases("batched_appends_continue_the_same_chain").await? {
        let ctx = db.label;
        let store = db.open().await?;
        append_n(&store, 2).await?;
        let batch: Vec<_> = (3..=7).map(|i| event(Some("run-b"), "call", i)).collect();
        store.append_all(&batch).await?;
        store.append_all(&[]).await?;
        append_n(&store, 1).await?;
        let events = store.events(None, 0, 100).await?;
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "{ctx}");
        for pair in events.windows(2) {
            assert_eq!(
                pair[1].prev_hash, pair[0].hash,
                "{ctx}: link at {}",
                pair[1].seq
            );
        }
        assert_eq!(
            events[2].payload, batch[0].payload,
            "{ctx}: batch order kept"
        );
        let report = store.verify().await?;
        assert!(report.is_intact(), "{ctx}: {:?}", report.problems);
        assert_eq!((report.events, report.head_seq), (8, 8), "{ctx}");
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

/// Five events, `tamper` behind the store's back, then verify must report exactly one problem,
/// the one `expected` accepts.
async fn tampered(
    test: &str,
    tamper: &str,
    expected: impl Fn(&AuditProblem) -> bool,
) -> TestResult {
    for db in databases(test).await? {
        let ctx = db.label;
        let store = db.open().await?;
        append_n(&store, 5).await?;
        assert!(store.verify().await?.is_intact(), "{ctx}: before tampering");
        let changed = db.raw(tamper).await?;
        assert_eq!(changed, 1, "{ctx}: the tamper statement hit one row");
        let report = store.verify().await?;
        assert!(!report.is_intact(), "{ctx}");
        assert_eq!(report.problems.len(), 1, "{ctx}: {:?}", report.problems);
        assert!(
            expected(&report.problems[0]),
            "{ctx}: {:?}",
            report.problems
        );
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn audit_verify_detects_a_modified_payload() -> TestResult {
    tampered(
        "audit_verify_detects_a_modified_payload",
        r#"UPDATE audit_events SET payload = '{"n":3,"ok":false}' WHERE seq = 3"#,
        |p| {
            matches!(p, AuditProblem {
                seq: 3,
                kind: AuditProblemKind::HashMismatch { recorded, computed },
            } if recorded != computed)
        },
    )
    .await
}

#[tokio::test]
async fn audit_verify_detects_a_deleted_middle_event() -> TestResult {
    tampered(
        "audit_verify_detects_a_deleted_middle_event",
        "DELETE FROM audit_events WHERE seq = 3",
        |p| {
            *p == AuditProblem {
                seq: 3,
                kind: AuditProblemKind::Missing { count: 1 },
            }
        },
    )
    .await
}

#[tokio::test]
async fn audit_verify_detects_a_deleted_last_event() -> TestResult {
    tampered(
        "audit_verify_detects_a_deleted_last_event",
        "DELETE FROM audit_events WHERE seq = 5",
        |p| {
            *p == AuditProblem {
                seq: 5,
                kind: AuditProblemKind::HeadMismatch {
                    head_seq: 5,
                    last_seq: 4,
                },
            }
        },
    )
    .await
}

#[tokio::test]
async fn audit_verify_detects_a_rewritten_and_rehashed_event() -> TestResult {
    // A forger who recomputes the edited event's own hash still breaks the next event's link.
    for db in databases("audit_verify_detects_a_rewritten_and_rehashed_event").await? {
        let ctx = db.label;
        let store = db.open().await?;
        append_n(&store, 5).await?;
        let third = store
            .events(None, 2, 1)
            .await?
            .pop()
            .ok_or("event 3 missing")?;
        let at = third
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let forged_payload = r#"{"n":3,"forged":true}"#;
        let forged_hash = event_hash(
            3,
            &at,
            third.run_id.as_deref(),
            third.step_id.as_deref(),
            &third.kind,
            forged_payload,
            &third.prev_hash,
        );
        let changed = db
            .raw(&format!(
                "UPDATE audit_events SET payload = '{forged_payload}', hash = '{forged_hash}' \
                 WHERE seq = 3"
            ))
            .await?;
        assert_eq!(changed, 1, "{ctx}");
        let report = store.verify().await?;
        assert_eq!(report.problems.len(), 1, "{ctx}: {:?}", report.problems);
        assert!(
            matches!(
                &report.problems[0],
                AuditProblem { seq: 4, kind: AuditProblemKind::BrokenLink { expected, .. } }
                    if *expected == forged_hash
            ),
            "{ctx}: {:?}",
            report.problems
        );
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_separate_pools_keep_one_contiguous_chain() -> TestResult {
    const WRITERS: i64 = 8;
    const EACH: i64 = 50;
    for db in databases("concurrent_appends_from_separate_pools_keep_one_contiguous_chain").await? {
        let ctx = db.label;
        let started = std::time::Instant::now();
        // Separate pools, as separate processes would have.
        let mut stores = Vec::new();
        for _ in 0..WRITERS {
            stores.push(db.open().await?);
        }
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(w, store)| {
                let store = store.clone();
                tokio::spawn(async move {
                    let run = format!("writer-{w}");
                    let mut seqs = Vec::new();
                    for i in 0..EACH {
                        let e = store.append(&event(Some(&run), "http.request", i)).await?;
                        seqs.push(e.seq);
                    }
                    Ok::<_, StoreError>(seqs)
                })
            })
            .collect();
        let mut all = HashSet::new();
        for task in tasks {
            let seqs = task.await??;
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "{ctx}: one writer's seqs rise"
            );
            all.extend(seqs);
        }
        let total = WRITERS * EACH;
        assert_eq!(
            all,
            (1..=total).collect::<HashSet<i64>>(),
            "{ctx}: one seq each, no gaps"
        );
        let report = stores[0].verify().await?;
        assert!(report.is_intact(), "{ctx}: {:?}", report.problems);
        assert_eq!((report.events, report.head_seq), (total, total), "{ctx}");
        for store in &stores {
            store.close().await;
        }
        eprintln!(
            "{ctx}: {total} concurrent appends in {:?}",
            started.elapsed()
        );
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn leases_keep_two_runs_off_one_target() -> TestResult {
    for db in databases("leases_keep_two_runs_off_one_target").await? {
        let ctx = db.label;
        let store = db.open().await?;
        let target = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/web";
        let ttl = Duration::from_secs(300);
        let a = holder("run-a", 100);
        let b = holder("run-b", 200);

        assert_eq!(
            store.acquire_lease(target, &a, ttl).await?,
            LeaseOutcome::Acquired,
            "{ctx}"
        );
        let first = store.lease(target).await?.ok_or("lease missing")?;
        assert!(first.is_held_by(&a), "{ctx}");

        // Another run is refused and told who holds it.
        match store.acquire_lease(target, &b, ttl).await? {
            LeaseOutcome::Held(lease) => {
                assert_eq!(lease, first, "{ctx}");
                assert_eq!(
                    (
                        lease.run_id.as_str(),
                        lease.owner.as_str(),
                        lease.host.as_str(),
                        lease.pid
                    ),
                    ("run-a", "ops@host-100", "host", 100),
                    "{ctx}"
                );
            }
            other => panic!("{ctx}: run-b got {other:?}"),
        }
        // The same run from another process is refused too: that needs a take-over.
        let a_elsewhere = holder("run-a", 101);
        assert!(
            matches!(
                store.acquire_lease(target, &a_elsewhere, ttl).await?,
                LeaseOutcome::Held(_)
            ),
            "{ctx}"
        );

        // The holder re-acquiring renews: same acquired_at, later expiry.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            store.acquire_lease(target, &a, ttl).await?,
            LeaseOutcome::Acquired,
            "{ctx}"
        );
        let renewed = store.lease(target).await?.ok_or("lease missing")?;
        assert_eq!(renewed.acquired_at, first.acquired_at, "{ctx}");
        assert!(renewed.expires_at > first.expires_at, "{ctx}");
        assert_eq!(store.renew_leases(&a, ttl).await?, 1, "{ctx}");
        assert_eq!(store.renew_leases(&b, ttl).await?, 0, "{ctx}");
        let extended = store.lease(target).await?.ok_or("lease missing")?;
        assert!(extended.expires_at >= renewed.expires_at, "{ctx}");

        // Take-over is compare-and-swap: a stale view of the lease loses.
        let stale = Lease {
            acquired_at: first.acquired_at - chrono::Duration::milliseconds(1),
            ..renewed.clone()
        };
        assert!(
            !store
                .take_over_lease(target, &stale, &a_elsewhere, ttl)
                .await?,
            "{ctx}"
        );
        assert!(
            store
                .take_over_lease(target, &renewed, &a_elsewhere, ttl)
                .await?,
            "{ctx}"
        );
        assert!(
            !store.take_over_lease(target, &renewed, &b, ttl).await?,
            "{ctx}: the row changed, the second take-over fails"
        );
        let taken = store.lease(target).await?.ok_or("lease missing")?;
        assert!(taken.is_held_by(&a_elsewhere), "{ctx}: {taken:?}");

        // The old process can no longer renew or release what was taken over.
        assert_eq!(store.renew_leases(&a, ttl).await?, 0, "{ctx}");
        assert_eq!(store.release_leases(&a).await?, 0, "{ctx}");
        assert_eq!(store.leases().await?, [taken], "{ctx}");
        assert_eq!(store.release_leases(&a_elsewhere).await?, 1, "{ctx}");
        assert!(store.leases().await?.is_empty(), "{ctx}");

        // Releasing a run's leases whoever holds them leaves other runs' alone.
        let c = holder("run-c", 300);
        assert_eq!(
            store.acquire_lease(target, &b, ttl).await?,
            LeaseOutcome::Acquired
        );
        assert_eq!(
            store.acquire_lease("other", &c, ttl).await?,
            LeaseOutcome::Acquired
        );
        assert_eq!(store.release_run_leases("run-b").await?, 1, "{ctx}");
        let left: Vec<String> = store
            .leases()
            .await?
            .into_iter()
            .map(|l| l.run_id)
            .collect();
        assert_eq!(left, ["run-c"], "{ctx}");
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn an_expired_lease_is_taken_by_the_next_run() -> TestResult {
    for db in databases("an_expired_lease_is_taken_by_the_next_run").await? {
        let ctx = db.label;
        let store = db.open().await?;
        let target = "target-expiring";
        let a = holder("run-a", 1);
        let b = holder("run-b", 2);
        assert_eq!(
            store
                .acquire_lease(target, &a, Duration::from_millis(1))
                .await?,
            LeaseOutcome::Acquired,
            "{ctx}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let before = store.lease(target).await?.ok_or("lease missing")?;
        assert!(before.is_expired(chrono::Utc::now()), "{ctx}");
        assert_eq!(
            store
                .acquire_lease(target, &b, Duration::from_secs(60))
                .await?,
            LeaseOutcome::Acquired,
            "{ctx}"
        );
        let after = store.lease(target).await?.ok_or("lease missing")?;
        assert!(after.is_held_by(&b), "{ctx}");
        assert!(
            after.acquired_at > before.acquired_at,
            "{ctx}: a new acquisition"
        );
        assert!(matches!(
            store.acquire_lease(target, &a, Duration::from_secs(60)).await?,
            LeaseOutcome::Held(lease) if lease.run_id == "run-b"
        ));
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_processes_get_a_lease_exactly_once() -> TestResult {
    for db in databases("racing_processes_get_a_lease_exactly_once").await? {
        let ctx = db.label;
        let mut stores = Vec::new();
        for _ in 0..6 {
            stores.push(db.open().await?);
        }
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let store = store.clone();
                let who = holder(&format!("run-{i}"), i64::try_from(i).unwrap_or_default());
                tokio::spawn(async move {
                    store
                        .acquire_lease("contended", &who, Duration::from_secs(60))
                        .await
                })
            })
            .collect();
        let mut acquired = 0;
        for task in tasks {
            if task.await?? == LeaseOutcome::Acquired {
                acquired += 1;
            }
        }
        assert_eq!(acquired, 1, "{ctx}");
        for store in &stores {
            store.close().await;
        }
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn corrupt_rows_are_errors_not_panics() -> TestResult {
    for db in databases("corrupt_rows_are_errors_not_panics").await? {
        let ctx = db.label;
        let store = db.open().await?;
        store.create_run(&new_run("run-c")).await?;
        store.append(&event(Some("run-c"), "x", 1)).await?;
        db.raw("UPDATE runs SET params = 'not json' WHERE id = 'run-c'")
            .await?;
        db.raw("UPDATE audit_events SET payload = '{' WHERE seq = 1")
            .await?;
        assert!(
            matches!(store.run("run-c").await, Err(StoreError::Corrupt { .. })),
            "{ctx}"
        );
        assert!(
            matches!(store.runs(5).await, Err(StoreError::Corrupt { .. })),
            "{ctx}"
        );
        assert!(
            matches!(
                store.events(None, 0, 5).await,
                Err(StoreError::Corrupt { .. })
            ),
            "{ctx}"
        );
        db.raw("UPDATE runs SET params = '{}', status = 'exploded' WHERE id = 'run-c'")
            .await?;
        assert!(
            matches!(store.run("run-c").await, Err(StoreError::Corrupt { .. })),
            "{ctx}: unknown status"
        );
        // Verification still reads it, and reports the damage.
        let report = store.verify().await?;
        assert_eq!(report.problems.len(), 1, "{ctx}: {:?}", report.problems);
        store.close().await;
        db.cleanup().await?;
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_postgres_error_does_not_show_the_password() {
    // Port 1 on localhost: refused at once, no server needed.
    let err = Store::open("postgres://azdeck:hunter2-secret@127.0.0.1:1/azdeck").await;
    let Err(err) = err else {
        panic!("connected to port 1?");
    };
    let text = format!("{err} {err:?}");
    assert!(matches!(err, StoreError::Open { .. }), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("azdeck:***@127.0.0.1:1"), "{text}");
}
