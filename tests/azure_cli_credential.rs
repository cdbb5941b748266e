//! The Azure CLI credential (its own test binary: it changes PATH). `az` is not installed here, so
//! a fake `az` on PATH answers `az account get-access-token` with a real token from the simulated
//! Entra ID — the credential, our cache around it and the pipeline are then used against ARM.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use azdeck::azure::auth::{build_credential, CredentialKind, CredentialSettings, CredentialTokens};
use azdeck::azure::cloud::Cloud;
use azdeck::azure::http::{http_client, Pipeline};
use azdeck::config;
use support::simulator::TestSim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_azure_cli_credential_runs_az_once_and_its_token_reaches_arm() {
    let sim = TestSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.log");
    let expires = chrono::Utc::now().timestamp() + 3000;
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{log}'\nprintf '{{\"accessToken\":\"%s\",\"expires_on\":{expires},\"tokenType\":\"Bearer\",\"subscription\":\"s\",\"tenant\":\"t\"}}' '{token}'\n",
        log = calls.display(),
        token = sim.token,
    );
    std::fs::write(dir.path().join("az"), script).unwrap();
    std::fs::set_permissions(
        dir.path().join("az"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    // This binary has one test, so changing the process environment races with nothing.
    std::env::set_var(
        "PATH",
        format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );

    let (custom, _) = config::from_sim(sim.env());
    let cloud = Cloud::custom("sim", &custom).unwrap();
    let http = http_client(&cloud).unwrap();
    let sub = sim.prod_sub();
    let credential = build_credential(
        CredentialSettings {
            cloud: cloud.clone(),
            tenant_id: Some(sim.env().tenant_id.clone()),
            kind: CredentialKind::AzureCli {
                subscription: Some(sub.clone()),
            },
            secret: None,
            retry: None,
        },
        http.clone(),
    )
    .unwrap();
    let p = Pipeline::new(&cloud, http, Arc::new(CredentialTokens(credential)), false).unwrap();
    p.get_json("subscriptions?api-version=2022-12-01")
        .await
        .expect("ARM accepts the CLI's token");
    p.get_json("tenants?api-version=2022-12-01")
        .await
        .expect("again, from the cache");
    let log = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(log.lines().count(), 1, "az ran once: {log}");
    assert!(
        log.contains("account get-access-token")
            && log.contains(&format!("--scope {}", cloud.arm_scope())),
        "{log}"
    );
    assert!(
        log.contains(&sub) && !log.contains("--tenant"),
        "az refuses --tenant with --subscription: {log}"
    );
    sim.stop().await;
}
