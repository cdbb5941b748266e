//! The typed Key Vault secrets client (the official crate with our transport and credential)
//! against the simulated Azure over HTTPS: every operation, read-only refusal, call records, and
//! that a secret value never reaches the trace output.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use azdeck::azure::http::{record_calls, CallRecord, Pipeline};
use azdeck::azure::keyvault::{KeyVaultClient, KeyVaultError, NewSecret, SecretUpdate};
use azdeck::model::SecretString;
use support::simulator::TestSim;

const VAULT: &str = "kv-platform-prod";

fn pipeline(sim: &TestSim, read_only: bool) -> Pipeline {
    support::simulator::pipeline_for(sim, read_only).0
}

/// The vault requests since `since`, as `METHOD path status`.
async fn vault_calls(sim: &TestSim, since: u64) -> Vec<String> {
    sim.requests_since(since)
        .await
        .iter()
        .filter(|r| r["host"].as_str().unwrap_or_default().starts_with(VAULT))
        .map(|r| {
            format!(
                "{} {} {}",
                r["method"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default(),
                r["status"]
            )
        })
        .collect()
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for this test binary: a scoped one (`set_default`) misses callsites whose
/// interest another test thread cached first. Every test's trace lands here; the canary is unique.
fn trace_buffer() -> Buf {
    static BUF: std::sync::OnceLock<Buf> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

#[tokio::test]
async fn every_secret_operation_against_the_simulated_vault() {
    trace_buffer();
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let kv = KeyVaultClient::for_vault(&p, VAULT).expect("client");

    // The seeded world: the soft-deleted secret is not listed, but is among the deleted.
    let names: Vec<String> = kv
        .list_secrets()
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.name)
        .collect();
    for n in [
        "newsapi-postgres-credentials",
        "newsapi-api-key",
        "stripe-secret",
    ] {
        assert!(names.contains(&n.to_string()), "{n} in {names:?}");
    }
    assert!(!names.contains(&"acr-pull-token".to_string()));
    let deleted = kv.list_deleted().await.expect("deleted");
    assert!(deleted
        .iter()
        .any(|d| d.properties.name == "acr-pull-token" && d.recovery_id.is_some()));

    // set → get → versions.
    let v1 = kv
        .set(
            "kv-test",
            &SecretString::new("first-value"),
            &NewSecret {
                content_type: Some("text/plain".into()),
                tags: [("owner".to_string(), "ops".to_string())].into(),
                ..Default::default()
            },
        )
        .await
        .expect("set");
    let v1_version = v1.version.clone().expect("a version");
    assert_eq!(v1.name, "kv-test");
    assert_eq!(v1.content_type.as_deref(), Some("text/plain"));
    assert_eq!(v1.tags.get("owner").map(String::as_str), Some("ops"));
    let v2 = kv
        .set(
            "kv-test",
            &SecretString::new("second-value"),
            &NewSecret::default(),
        )
        .await
        .expect("set again");
    let v2_version = v2.version.clone().expect("a version");
    assert_ne!(v1_version, v2_version);
    let latest = kv.get("kv-test", None).await.expect("get");
    assert_eq!(latest.value.expose(), "second-value");
    assert_eq!(
        latest.properties.version.as_deref(),
        Some(v2_version.as_str())
    );
    let old = kv.get("kv-test", Some(&v1_version)).await.expect("get v1");
    assert_eq!(old.value.expose(), "first-value");
    let versions = kv.list_versions("kv-test").await.expect("versions");
    assert_eq!(versions.len(), 2);

    // update: disable v1; a disabled version cannot be read.
    let updated = kv
        .update(
            "kv-test",
            Some(&v1_version),
            &SecretUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(updated.enabled, Some(false));
    let err = kv
        .get("kv-test", Some(&v1_version))
        .await
        .expect_err("disabled");
    assert_eq!(err.status(), Some(403), "{err}");

    // delete → 404 → recover → purge.
    let deleted = kv.delete("kv-test").await.expect("delete");
    assert!(deleted.scheduled_purge.is_some());
    assert!(kv
        .get("kv-test", None)
        .await
        .expect_err("gone")
        .is_not_found());
    assert!(kv.latest_properties("kv-test").await.expect("ok").is_none());
    kv.recover("kv-test").await.expect("recover");
    let back = kv.get("kv-test", None).await.expect("recovered");
    assert_eq!(back.value.expose(), "second-value");
    // kv-platform-prod has purge protection: Key Vault refuses, and the error says why.
    kv.delete("kv-test").await.expect("delete again");
    let err = kv.purge("kv-test").await.expect_err("purge protection");
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("PurgeProtectionEnabled"), "{err}");
    // kv-platform-dev has none.
    let dev = KeyVaultClient::for_vault(&p, "kv-platform-dev").expect("client");
    dev.set("kv-test", &SecretString::new("x"), &NewSecret::default())
        .await
        .expect("set");
    dev.delete("kv-test").await.expect("delete");
    dev.purge("kv-test").await.expect("purge");
    assert!(!dev
        .list_deleted()
        .await
        .expect("deleted")
        .iter()
        .any(|d| d.properties.name == "kv-test"));
    sim.stop().await;
}

#[tokio::test]
async fn a_read_only_environment_sends_no_change() {
    trace_buffer();
    let sim = TestSim::start().await;
    let p = pipeline(&sim, true);
    let kv = KeyVaultClient::for_vault(&p, VAULT).expect("client");
    let since = sim.last_seq().await;
    let value = SecretString::new("nope");
    let refused = |r: Result<(), KeyVaultError>| {
        assert!(matches!(r, Err(KeyVaultError::ReadOnly { .. })), "{r:?}")
    };
    refused(kv.set("x", &value, &NewSecret::default()).await.map(|_| ()));
    refused(
        kv.update("stripe-secret", None, &SecretUpdate::default())
            .await
            .map(|_| ()),
    );
    refused(kv.delete("stripe-secret").await.map(|_| ()));
    refused(kv.recover("acr-pull-token").await.map(|_| ()));
    refused(kv.purge("acr-pull-token").await);
    assert!(vault_calls(&sim, since).await.is_empty());
    // Reads still work.
    assert!(!kv.list_secrets().await.expect("list").is_empty());
    sim.stop().await;
}

#[test]
fn tokens_go_only_to_the_clouds_vaults() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sim = TestSim::start().await;
        let p = pipeline(&sim, false);
        for bad in [
            "https://evil.example.com/",
            "http://kv.vault.azdeck.localhost/",
            "not a url",
        ] {
            assert!(KeyVaultClient::new(&p, bad).is_err(), "{bad}");
        }
        // ARM's vaultUri has no port: the simulator's is added.
        let kv = KeyVaultClient::new(&p, "https://kv-platform-prod.vault.azdeck.localhost/")
            .expect("client");
        assert_eq!(kv.vault_url(), p.cloud().vault_url(VAULT));
        sim.stop().await;
    });
}

#[tokio::test]
async fn calls_are_recorded_with_the_id_the_vault_saw_and_values_never_traced() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let buf = trace_buffer();

    let records: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let sink = records.clone();
    let since = sim.last_seq().await;
    let canary = "canary-7f3a9-never-log-me";
    record_calls(Arc::new(move |r| sink.lock().unwrap().push(r)), async {
        let kv = KeyVaultClient::for_vault(&p, VAULT).expect("client");
        kv.set("canary", &SecretString::new(canary), &NewSecret::default())
            .await
            .expect("set");
        let got = kv.get("canary", None).await.expect("get");
        assert_eq!(got.value.expose(), canary);
        assert!(!format!("{got:?}").contains(canary));
    })
    .await;

    // The challenge (no body, 401), the PUT with a token, then the GET.
    assert_eq!(
        vault_calls(&sim, since).await,
        [
            "PUT /secrets/canary 401",
            "PUT /secrets/canary 200",
            "GET /secrets/canary/ 200"
        ]
    );
    let records = records.lock().unwrap().clone();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        (
            records[0].method.as_str(),
            records[0].status,
            records[0].attempts
        ),
        ("PUT", 200, 2)
    );
    // One client request id per logical call (the same on the challenge's resend).
    assert!(records.iter().all(|r| r.client_request_id.len() == 36));
    assert_ne!(records[0].client_request_id, records[1].client_request_id);

    let out = String::from_utf8_lossy(&buf.0.lock().unwrap()).to_string();
    assert!(out.contains("azure_call"), "spans are traced: {out}");
    assert!(!out.contains(canary), "the value reached the trace output");
    sim.stop().await;
}
