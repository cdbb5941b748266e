//! Managed identity (App Service style: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) against the
//! simulator, through azure_identity's `ManagedIdentityCredential` with our transport. Its own test
//! binary with ONE test: the crate reads those variables from the process environment only, and
//! setting them affects every thread of the process.

mod support;

use std::sync::Arc;

use azdeck::azure::auth::{
    build_credential, managed_identity_source, CredentialKind, CredentialSettings,
    CredentialTokens, ManagedIdentitySource, IDENTITY_ENDPOINT, IDENTITY_HEADER,
};
use azdeck::azure::cloud::Cloud;
use azdeck::azure::http::{http_client, ArmRequest, Pipeline};
use azdeck::config;
use serde_json::Value;
use support::simulator::TestSim;

#[tokio::test]
async fn managed_identity_gets_a_token_and_reaches_arm() {
    let sim = TestSim::start().await;
    // The variables come from the environment file `azdeck sim` writes, as a user would take them.
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(&sim.handle.env_file).expect("environment file"),
    )
    .expect("environment file is JSON");
    let endpoint = file["identityEndpoint"].as_str().expect("identityEndpoint");
    let header = file["identityHeader"].as_str().expect("identityHeader");
    assert!(
        endpoint.starts_with("https://login."),
        "the endpoint is on the simulator's login host: {endpoint}"
    );
    std::env::set_var(IDENTITY_ENDPOINT, endpoint);
    std::env::set_var(IDENTITY_HEADER, header);
    assert_eq!(managed_identity_source(), ManagedIdentitySource::AppService);

    // The simulator as a custom cloud: the client trusts its CA and resolves its host names, the
    // managed-identity endpoint's included.
    let (custom, _) = config::from_sim(sim.env());
    let cloud = Cloud::custom("sim", &custom).expect("custom cloud");
    let http = http_client(&cloud).expect("client");
    let credential = build_credential(
        CredentialSettings {
            cloud: cloud.clone(),
            tenant_id: None,
            kind: CredentialKind::ManagedIdentity {
                user_assigned_client_id: None,
            },
            secret: None,
            retry: None,
        },
        http.clone(),
    )
    .expect("managed identity credential");
    let pipeline = Pipeline::new(&cloud, http, Arc::new(CredentialTokens(credential)), true)
        .expect("pipeline");

    let before = sim.last_seq().await;
    let resp = pipeline
        .send(ArmRequest::get("subscriptions?api-version=2022-12-01"))
        .await
        .expect("subscriptions");
    assert_eq!(resp.status, 200);
    let body = resp.json().expect("JSON");
    assert!(
        !body["value"].as_array().expect("value").is_empty(),
        "{body}"
    );

    // The token came from the managed-identity endpoint, with the header, not from a client secret.
    let log = sim.requests_since(before).await;
    let paths: Vec<&str> = log.iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(paths.iter().any(|p| p.ends_with("/msi/token")), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.ends_with("/oauth2/v2.0/token")),
        "{paths:?}"
    );
    sim.stop().await;
}
