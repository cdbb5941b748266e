//! The Azure client against the simulated Azure over real HTTPS: credentials (azure_identity with
//! our transport), the request pipeline's retries, read-only refusal, headroom, token renewal and
//! redaction. What the client did is proven from the simulator's request log, not from the clock.

mod support;

use std::sync::{Arc, Mutex};

use azdeck::azure::auth::{build_credential, CredentialKind, CredentialSettings, CredentialTokens};
use azdeck::azure::cloud::Cloud;
use azdeck::azure::error::AzureError;
use azdeck::azure::http::{http_client, ArmRequest, ClientError, Pipeline};
use azdeck::azure::retry::RetryPolicy;
use azdeck::config;
use azure_core::credentials::Secret;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::TestSim;

fn cloud(sim: &TestSim) -> Cloud {
    let (custom, _) = config::from_sim(sim.env());
    Cloud::custom("sim", &custom).expect("the simulator is a valid custom cloud")
}

fn pipeline_with(sim: &TestSim, kind: CredentialKind, read_only: bool) -> Pipeline {
    let cloud = cloud(sim);
    let http = http_client(&cloud).expect("client");
    let credential = build_credential(
        CredentialSettings {
            cloud: cloud.clone(),
            tenant_id: Some(sim.env().tenant_id.clone()),
            kind,
            secret: Some(Secret::from(
                sim.env().service_principal.client_secret.clone(),
            )),
            retry: None,
        },
        http.clone(),
    )
    .expect("credential");
    Pipeline::new(
        &cloud,
        http,
        Arc::new(CredentialTokens(credential)),
        read_only,
    )
    .expect("pipeline")
    .with_retry(RetryPolicy {
        budget: std::time::Duration::from_secs(20),
        ..RetryPolicy::default()
    })
}

fn pipeline(sim: &TestSim, read_only: bool) -> Pipeline {
    let client_id = Some(sim.env().service_principal.client_id.clone());
    pipeline_with(sim, CredentialKind::ClientSecret { client_id }, read_only)
}

fn arm_requests(log: &[Value]) -> Vec<&Value> {
    log.iter()
        .filter(|r| {
            r["host"]
                .as_str()
                .is_some_and(|h| h.starts_with("management."))
        })
        .collect()
}

#[tokio::test]
async fn client_secret_and_workload_identity_reach_arm() {
    let sim = TestSim::start().await;
    let before = sim.last_seq().await;
    let p = pipeline(&sim, false);
    let subs = p
        .get_json("subscriptions?api-version=2022-12-01")
        .await
        .expect("subscriptions");
    assert_eq!(subs["value"].as_array().unwrap().len(), 2);
    let wi = pipeline_with(
        &sim,
        CredentialKind::WorkloadIdentity {
            client_id: Some(sim.env().service_principal.client_id.clone()),
            token_file: Some(sim.env().federated_token_file.clone()),
        },
        false,
    );
    let tenants = wi
        .get_json("tenants?api-version=2022-12-01")
        .await
        .expect("tenants");
    assert_eq!(tenants["value"][0]["tenantId"], sim.env().tenant_id);
    // One token request per credential, whatever the number of calls (tokens are cached).
    p.get_json("subscriptions?api-version=2022-12-01")
        .await
        .expect("again");
    let log = sim.requests_since(before).await;
    let token_requests = log
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/oauth2/v2.0/token"))
        })
        .count();
    assert_eq!(token_requests, 2, "{log:#?}");
    sim.stop().await;
}

#[tokio::test]
async fn throttling_server_errors_and_drops_are_retried_as_one_call() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let sub = sim.prod_sub();
    let path = format!("subscriptions/{sub}/resourcegroups?api-version=2025-04-01");
    p.get_json(&path).await.expect("warm up: token");
    let before = sim.last_seq().await;
    sim.add_fault(json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "throttle", "retryAfterSecs": 1}, "times": 1})).await;
    sim.add_fault(json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "serverError", "status": 503}, "times": 1, "skip": 1})).await;
    sim.add_fault(json!({"match": {"path": "/resourcegroups$"}, "action": {"kind": "drop"}, "times": 1, "skip": 2})).await;
    let resp = p
        .send(ArmRequest::get(&path))
        .await
        .expect("succeeds after retries");
    assert_eq!((resp.status, resp.attempts), (200, 4));
    let log = sim.requests_since(before).await;
    let calls = arm_requests(&log);
    let statuses: Vec<u64> = calls
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![429, 503, 0, 200], "{log:#?}");
    // One logical call: the same client request id on every attempt (the dropped one has no answer to echo it).
    let ids: Vec<&str> = calls
        .iter()
        .filter_map(|r| r["clientRequestId"].as_str())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| *id == resp.client_request_id));
    // Retry-After (1 s) was honoured: the attempt after the 429 came at least a second later.
    let t = |r: &Value| chrono::DateTime::parse_from_rfc3339(r["time"].as_str().unwrap()).unwrap();
    assert!(
        t(calls[1]) - t(calls[0]) >= chrono::Duration::milliseconds(950),
        "{} then {}",
        calls[0]["time"],
        calls[1]["time"]
    );
    sim.stop().await;
}

#[tokio::test]
async fn errors_that_cannot_succeed_later_are_not_retried_and_are_typed() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let sub = sim.prod_sub();
    let before = sim.last_seq().await;
    let err = p
        .get_json(&format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/nope?api-version=2025-07-01"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Azure(AzureError::NotFound { .. })),
        "{err}"
    );
    assert_eq!(arm_requests(&sim.requests_since(before).await).len(), 1);
    // A budget that runs out surfaces the throttling, saying when to retry.
    sim.add_fault(json!({"match": {"path": "/tenants$"}, "action": {"kind": "throttle", "retryAfterSecs": 30}})).await;
    let err = p
        .get_json("tenants?api-version=2022-12-01")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "throttled by Azure (TooManyRequests), retry in 30 s: The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/armthrottling");
    sim.stop().await;
}

#[tokio::test]
async fn an_action_whose_answer_was_lost_is_never_sent_twice() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let sub = sim.prod_sub();
    p.get_json("tenants?api-version=2022-12-01")
        .await
        .expect("token");
    let before = sim.last_seq().await;
    sim.add_fault(json!({"match": {"path": "/restart$"}, "action": {"kind": "drop"}, "times": 1}))
        .await;
    let url = format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-api/revisions/chat-api--b212/restart?api-version=2025-07-01");
    let err = p
        .send(ArmRequest::new(Method::POST, &url))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::OutcomeUnknown { .. }), "{err}");
    assert_eq!(
        arm_requests(&sim.requests_since(before).await).len(),
        1,
        "sent once, not resent"
    );
    sim.stop().await;
}

#[tokio::test]
async fn read_only_environments_send_no_change() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, true);
    let sub = sim.prod_sub();
    let before = sim.last_seq().await;
    let base = format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-api");
    let changes = [
        ArmRequest::new(
            Method::PUT,
            format!("subscriptions/{sub}/resourcegroups/rg-x?api-version=2025-04-01"),
        )
        .with_body(json!({"location": "eastus"})),
        ArmRequest::new(Method::PATCH, format!("{base}?api-version=2025-07-01"))
            .with_body(json!({"tags": {}})),
        ArmRequest::new(Method::DELETE, format!("{base}?api-version=2025-07-01")),
        ArmRequest::new(
            Method::POST,
            format!("{base}/revisions/chat-api--b212/activate?api-version=2025-07-01"),
        ),
    ];
    for change in changes {
        let err = p.send(change).await.unwrap_err();
        assert!(matches!(err, ClientError::ReadOnly { .. }), "{err}");
    }
    let log = sim.requests_since(before).await;
    assert!(
        log.iter().all(|r| r["mutating"] == false),
        "no mutating request reached Azure: {log:#?}"
    );
    assert!(arm_requests(&log).is_empty());
    // Reads, including reading POSTs, still work.
    p.get_json(&format!("{base}?api-version=2025-07-01"))
        .await
        .expect("GET");
    p.send(ArmRequest::new(
        Method::POST,
        format!("{base}/listSecrets?api-version=2025-07-01"),
    ))
    .await
    .expect("listSecrets reads");
    sim.stop().await;
}

#[tokio::test]
async fn headroom_follows_arms_headers() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    let sub = sim.prod_sub();
    p.get_json(&format!(
        "subscriptions/{sub}/resourcegroups?api-version=2025-04-01"
    ))
    .await
    .unwrap();
    let reads = p.headroom().lock().reads;
    p.get_json(&format!(
        "subscriptions/{sub}/resourcegroups?api-version=2025-04-01"
    ))
    .await
    .unwrap();
    let after = p.headroom().lock().reads;
    assert!(reads.is_some() && after.is_some());
    assert_eq!(after.unwrap() + 1, reads.unwrap());
    sim.stop().await;
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_before_they_expire() {
    let mut sim = TestSim::start().await;
    sim.settings(json!({ "tokenLifetimeSecs": 2 })).await;
    sim.token = sim.fresh_token().await;
    let p = pipeline(&sim, false);
    let before = sim.last_seq().await;
    p.get_json("tenants?api-version=2022-12-01")
        .await
        .expect("first call");
    // Real time passes beyond the first token's life; the next call must not present it.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    p.get_json("tenants?api-version=2022-12-01")
        .await
        .expect("second call");
    let log = sim.requests_since(before).await;
    let hosts: Vec<(String, u64)> = log
        .iter()
        .map(|r| {
            (
                r["host"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("login".into(), 200),
            ("management".into(), 200),
            ("login".into(), 200),
            ("management".into(), 200)
        ],
        "a new token before the second call, no 401"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_token_azure_calls_expired_is_not_sent_twice_and_the_clock_is_blamed() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim, false);
    p.get_json("tenants?api-version=2022-12-01").await.unwrap();
    // Azure's clock runs ahead of ours: it calls the token expired, our credential does not.
    sim.advance_clock(4000).await;
    let before = sim.last_seq().await;
    let err = p
        .get_json("tenants?api-version=2022-12-01")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::StaleToken(AzureError::Unauthenticated { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("check the system clock"), "{err}");
    let arm: Vec<u64> = arm_requests(&sim.requests_since(before).await)
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(arm, vec![401], "the refused token was not sent again");
    sim.stop().await;
}

/// Captures everything traced while a future runs.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    use tracing::instrument::WithSubscriber;
    let sim = TestSim::start().await;
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let p = pipeline(&sim, false);
    let sub = sim.prod_sub();
    async {
        p.get_json("subscriptions?api-version=2022-12-01").await.unwrap();
        p.send(ArmRequest::new(Method::POST, format!("subscriptions/{sub}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/chat-api/listSecrets?api-version=2025-07-01"))).await.unwrap();
        let _ = p.get_json("https://management.azdeck.localhost:1/elsewhere?sig=canary-sas-signature").await;
    }
    .with_subscriber(subscriber)
    .await;
    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("azure_call"), "calls are traced: {logged}");
    assert!(
        !logged.contains(&sim.env().service_principal.client_secret),
        "client secret in the log"
    );
    assert!(!logged.contains("eyJ"), "a token in the log: {logged}");
    assert!(!logged.contains("canary-sas-signature"));
    sim.stop().await;
}
