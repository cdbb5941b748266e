//! Long-running operations and pagers of the Azure client, against the simulator over HTTPS.

mod support;

use std::time::Duration;

use azdeck::azure::containerapps::{AppError, ContainerApps, TrafficWeight};
use azdeck::azure::http::{ArmRequest, Pipeline};
use azdeck::azure::lro::{self, LroError, LroOptions, Progress};
use azdeck::azure::{paging, resources};
use futures::TryStreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use support::simulator::TestSim;

fn pipeline(sim: &TestSim) -> Pipeline {
    support::simulator::pipeline_for(sim, false).0
}

fn app_id(sim: &TestSim, name: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/{name}", sim.prod_sub())
}

fn quick() -> LroOptions {
    LroOptions {
        default_wait: Duration::from_millis(50),
        ..LroOptions::default()
    }
}

async fn management(sim: &TestSim, since: u64) -> Vec<Value> {
    sim.requests_since(since)
        .await
        .into_iter()
        .filter(|r| r["host"].as_str().unwrap().starts_with("management."))
        .collect()
}

#[tokio::test]
async fn a_patch_is_followed_to_the_end_with_progress() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim);
    let apps = ContainerApps::new(&p);
    let id = app_id(&sim, "chat-worker");
    apps.get(&id).await.unwrap();
    let before = sim.last_seq().await;
    let mut seen: Vec<Progress> = Vec::new();
    let app = apps
        .patch(&id, json!({"properties": {"template": {"containers": [{"name": "chat-worker", "image": "acr/chat-worker:2.14.0"}]}}}), &quick(), &mut |p: &Progress| seen.push(p.clone()))
        .await
        .unwrap();
    assert_eq!(
        app.properties.provisioning_state.as_deref(),
        Some("Succeeded")
    );
    assert!(app
        .properties
        .latest_revision_name
        .as_deref()
        .is_some_and(|n| n != "chat-worker--initial"));
    assert_eq!(seen.last().map(|p| p.status.as_str()), Some("Succeeded"));
    let log = management(&sim, before).await;
    let polls = log
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .contains("containerappOperationStatuses")
        })
        .count();
    // The operation takes 200 ms and the server asks for 50 ms between polls: a handful, not a busy loop.
    assert!((1..=10).contains(&polls), "{polls} polls");
    assert_eq!(
        log.last().unwrap()["method"],
        "GET",
        "the final resource is fetched"
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_failed_operation_reports_azures_error() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim);
    let apps = ContainerApps::new(&p);
    sim.add_fault(json!({"match": {"method": "PATCH"}, "action": {"kind": "failLro", "code": "ContainerAppProvisioningFailed", "message": "Image pull failed"}, "times": 1})).await;
    let err = apps
        .set_traffic(
            &app_id(&sim, "chat-api"),
            &[TrafficWeight {
                revision_name: Some("chat-api--b212".into()),
                weight: Some(100),
                ..Default::default()
            }],
            &quick(),
            &mut |_: &Progress| {},
        )
        .await
        .unwrap_err();
    let AppError::Lro(e) = err else {
        panic!("an LRO error: {err}")
    };
    assert!(
        matches!(*e, LroError::Failed { ref code, .. } if code == "ContainerAppProvisioningFailed"),
        "{e}"
    );
    assert!(e.to_string().contains("Image pull failed"));
    sim.stop().await;
}

#[tokio::test]
async fn waiting_times_out_and_can_be_cancelled() {
    let sim = TestSim::start().await;
    sim.settings(json!({"lroMs": 60000})).await;
    let p = pipeline(&sim);
    let apps = ContainerApps::new(&p);
    let short = LroOptions {
        timeout: Duration::from_millis(300),
        ..quick()
    };
    let err = apps
        .patch(
            &app_id(&sim, "chat-worker"),
            json!({"tags": {"a": "b"}}),
            &short,
            &mut |_: &Progress| {},
        )
        .await
        .unwrap_err();
    let AppError::Lro(e) = err else {
        panic!("an LRO error: {err}")
    };
    assert!(matches!(*e, LroError::TimedOut { .. }), "{e}");

    let (tx, rx) = tokio::sync::watch::channel(false);
    let cancellable = LroOptions {
        cancel: Some(rx),
        ..quick()
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let _ = tx.send(true);
    });
    let err = apps
        .patch(
            &app_id(&sim, "dagster-user-code"),
            json!({"tags": {"a": "b"}}),
            &cancellable,
            &mut |_: &Progress| {},
        )
        .await
        .unwrap_err();
    let AppError::Lro(e) = err else {
        panic!("an LRO error: {err}")
    };
    assert!(matches!(*e, LroError::Cancelled { .. }), "{e}");
    sim.stop().await;
}

#[tokio::test]
async fn a_location_only_delete_ends_when_the_result_says_so() {
    let sim = TestSim::start().await;
    let p = pipeline(&sim);
    let sub = sim.prod_sub();
    let rg = format!("subscriptions/{sub}/resourcegroups/rg-temp?api-version=2025-04-01");
    p.send(ArmRequest::new(Method::PUT, &rg).with_body(json!({"location": "eastus"})))
        .await
        .unwrap();
    let done = lro::send_and_wait(
        &p,
        ArmRequest::new(Method::DELETE, &rg),
        &quick(),
        &mut |_: &Progress| {},
    )
    .await
    .unwrap();
    assert!(done.is_none());
    let groups = resources::resource_groups(&p, &sub).await.unwrap();
    assert!(groups.iter().all(|g| g.name != "rg-temp"));
    assert!(groups.iter().any(|g| g.name == "rg-platform-prod"));
    sim.stop().await;
}

#[tokio::test]
async fn pages_are_fetched_only_as_they_are_read() {
    let sim = TestSim::start().await;
    sim.settings(json!({"pageSize": 3})).await;
    let p = pipeline(&sim);
    let sub = sim.prod_sub();
    let url = format!("subscriptions/{sub}/resources?api-version=2025-04-01");
    p.get_json("tenants?api-version=2022-12-01").await.unwrap();
    let before = sim.last_seq().await;
    let mut stream = Box::pin(paging::pages(&p, &url));
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(
        management(&sim, before).await.len(),
        1,
        "one page read, one request"
    );
    let mut total = first.len();
    while let Some(page) = stream.try_next().await.unwrap() {
        total += page.len();
    }
    assert_eq!(total, 15);
    assert_eq!(
        management(&sim, before).await.len(),
        5,
        "15 items in pages of 3"
    );

    let subs: Vec<String> = sim
        .env()
        .subscriptions
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let before = sim.last_seq().await;
    let rows: Vec<Vec<Value>> =
        paging::graph_pages(&p, "Resources | project id | order by id asc", &subs, 4)
            .try_collect()
            .await
            .unwrap();
    assert_eq!(rows.iter().map(Vec::len).sum::<usize>(), 19);
    assert_eq!(
        management(&sim, before).await.len(),
        5,
        "19 rows in pages of 4"
    );
    let listed = resources::subscriptions(&p).await.unwrap();
    assert_eq!(listed.len(), 2);
    sim.stop().await;
}
