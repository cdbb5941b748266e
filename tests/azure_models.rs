//! Every example response in the official specifications for the operations the client models
//! parses into our models and serialises back without losing a field. (A `null` counts as absent,
//! as in ARM's merge semantics.)

use std::path::PathBuf;

use azdeck::azure::containerapps::{ContainerApp, Revision};
use azdeck::azure::resources::{InventoryItem, ResourceGroup, Subscription};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn specs() -> PathBuf {
    if let Some(p) = std::env::var_os("AZDECK_SPECS") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/azure-specs/specification")
}

fn example(rel: &str) -> Value {
    let path = specs().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(what: &str, body: &Value) {
    let model: T = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{what} does not parse: {e}"));
    let back = serde_json::to_value(&model).unwrap();
    assert_eq!(
        without_nulls(&back),
        without_nulls(body),
        "{what} lost or changed a field"
    );
}

const APP: &str = "app/resource-manager/Microsoft.App/ContainerApps/stable/2025-07-01/examples";

#[test]
fn container_apps_and_revisions() {
    let get = example(&format!("{APP}/ContainerApps_Get.json"));
    round_trip::<ContainerApp>("ContainerApps_Get", &get["responses"]["200"]["body"]);
    let list = example(&format!("{APP}/ContainerApps_ListByResourceGroup.json"));
    let apps = list["responses"]["200"]["body"]["value"]
        .as_array()
        .unwrap();
    assert!(!apps.is_empty());
    for a in apps {
        round_trip::<ContainerApp>("ContainerApps_ListByResourceGroup item", a);
    }
    for (file, status) in [
        ("ContainerApps_CreateOrUpdate.json", "200"),
        ("ContainerApps_CreateOrUpdate.json", "201"),
    ] {
        round_trip::<ContainerApp>(
            file,
            &example(&format!("{APP}/{file}"))["responses"][status]["body"],
        );
    }
    // A PATCH body the client would send round-trips too.
    round_trip::<ContainerApp>("ContainerApps_Patch request", &{
        let mut body = example(&format!("{APP}/ContainerApps_Patch.json"))["parameters"]
            ["containerAppEnvelope"]
            .clone();
        body["id"] = Value::String(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/a".into(),
        );
        body["name"] = Value::String("a".into());
        body
    });
    round_trip::<Revision>(
        "Revisions_Get",
        &example(&format!("{APP}/Revisions_Get.json"))["responses"]["200"]["body"],
    );
    for r in example(&format!("{APP}/Revisions_List.json"))["responses"]["200"]["body"]["value"]
        .as_array()
        .unwrap()
    {
        round_trip::<Revision>("Revisions_List item", r);
    }
}

#[test]
fn subscriptions_and_resource_groups() {
    let subs = example("resources/resource-manager/Microsoft.Resources/stable/2022-12-01/examples/GetSubscriptions.json");
    for s in subs["responses"]["200"]["body"]["value"]
        .as_array()
        .unwrap()
    {
        round_trip::<Subscription>("GetSubscriptions item", s);
    }
    let rg = example("resources/resource-manager/Microsoft.Resources/stable/2025-04-01/examples/CreateResourceGroup.json");
    for status in ["200", "201"] {
        round_trip::<ResourceGroup>("CreateResourceGroup", &rg["responses"][status]["body"]);
    }
}

#[test]
fn resource_graph_rows_become_inventory_items() {
    let basic = example("resourcegraph/resource-manager/Microsoft.ResourceGraph/ResourceGraph/stable/2024-04-01/examples/ResourcesBasicQuery.json");
    let rows = basic["responses"]["200"]["body"]["data"]
        .as_array()
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let item = InventoryItem::from_row(row).expect("a row with an id");
        assert_eq!(item.id, row["id"].as_str().unwrap());
        assert!(!item.name.is_empty());
    }
}
