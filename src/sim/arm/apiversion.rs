//! Which api-versions each resource provider accepts: every version the specifications in
//! `shared/azure-specs` define, every version the official clients were seen sending
//! (`shared/azure-notes/REAL-CLIENTS.md`), and long-standing GA versions clients still pin.

use http::StatusCode;

use crate::sim::http::SimResponse;

/// (lower-case resource type or namespace, accepted versions). A type not listed falls back to its
/// namespace's entry.
const TABLE: &[(&str, &[&str])] = &[
    (
        "microsoft.resources",
        &[
            "2025-04-01",
            "2025-03-01",
            "2024-11-01",
            "2024-07-01",
            "2024-03-01",
            "2023-07-01",
            "2022-09-01",
            "2021-04-01",
            "2021-01-01",
            "2020-10-01",
            "2020-06-01",
            "2019-10-01",
            "2019-08-01",
            "2019-07-01",
            "2019-05-10",
            "2018-05-01",
        ],
    ),
    (
        "microsoft.resources/subscriptions",
        &[
            "2022-12-01",
            "2021-01-01",
            "2020-01-01",
            "2019-11-01",
            "2019-06-01",
            "2016-06-01",
        ],
    ),
    (
        "microsoft.resources/tenants",
        &[
            "2022-12-01",
            "2021-01-01",
            "2020-01-01",
            "2019-11-01",
            "2016-06-01",
        ],
    ),
    (
        "microsoft.resources/metadata",
        &[
            "2022-09-01",
            "2020-06-01",
            "2019-05-01",
            "2018-01-01",
            "2015-01-01",
        ],
    ),
    (
        "microsoft.app",
        &[
            "2026-07-01",
            "2025-07-01",
            "2025-02-02-preview",
            "2025-01-01",
            "2024-10-02-preview",
            "2024-03-01",
            "2023-05-01",
            "2022-10-01",
            "2022-03-01",
        ],
    ),
    (
        "microsoft.resourcegraph",
        &[
            "2024-04-01",
            "2022-10-01",
            "2021-06-01-preview",
            "2021-03-01",
            "2020-04-01-preview",
            "2019-04-01",
        ],
    ),
    (
        "microsoft.dbforpostgresql",
        &[
            "2026-10-01",
            "2026-04-01-preview",
            "2025-08-01",
            "2025-06-01-preview",
            "2024-08-01",
            "2024-03-01-preview",
            "2023-06-01-preview",
            "2022-12-01",
            "2021-06-01",
        ],
    ),
    (
        "microsoft.keyvault",
        &[
            "2025-05-01",
            "2024-12-01-preview",
            "2024-11-01",
            "2023-07-01",
            "2023-02-01",
            "2022-07-01",
            "2021-10-01",
            "2019-09-01",
        ],
    ),
    (
        "microsoft.cdn",
        &[
            "2025-06-01",
            "2025-04-15",
            "2024-09-01",
            "2024-02-01",
            "2023-05-01",
            "2021-06-01",
        ],
    ),
    (
        "microsoft.storage",
        &[
            "2025-01-01",
            "2024-01-01",
            "2023-05-01",
            "2023-01-01",
            "2022-09-01",
            "2021-09-01",
            "2021-04-01",
        ],
    ),
    (
        "microsoft.containerregistry",
        &[
            "2025-04-01",
            "2023-11-01-preview",
            "2023-07-01",
            "2023-01-01-preview",
            "2022-12-01",
            "2021-09-01",
            "2019-05-01",
        ],
    ),
    (
        "microsoft.operationalinsights",
        &[
            "2025-02-01",
            "2023-09-01",
            "2022-10-01",
            "2021-12-01-preview",
            "2021-06-01",
            "2020-08-01",
        ],
    ),
];

pub fn supported(type_or_namespace: &str) -> Option<&'static [&'static str]> {
    let key = type_or_namespace.to_ascii_lowercase();
    if let Some((_, versions)) = TABLE.iter().find(|(k, _)| *k == key) {
        return Some(versions);
    }
    let namespace = key.split('/').next().unwrap_or_default();
    TABLE
        .iter()
        .find(|(k, _)| *k == namespace)
        .map(|(_, versions)| *versions)
}

/// ARM's own answer for a missing `api-version`.
pub fn missing() -> SimResponse {
    SimResponse::arm_error(
        StatusCode::BAD_REQUEST,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )
}

/// Checks `version` for a resource type (`Namespace/type[/child]`) or an ARM-own area.
pub fn check(
    version: Option<&str>,
    resource_type: &str,
    location: &str,
) -> Result<(), SimResponse> {
    let Some(version) = version else {
        return Err(missing());
    };
    let Some(versions) = supported(resource_type) else {
        return Ok(());
    };
    if versions.iter().any(|v| v.eq_ignore_ascii_case(version)) {
        return Ok(());
    }
    let list = versions.join(", ");
    if resource_type
        .to_ascii_lowercase()
        .starts_with("microsoft.resources")
    {
        return Err(SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{version}' is invalid. The supported versions are '{list}'."
            ),
        ));
    }
    Err(SimResponse::arm_error(
        StatusCode::BAD_REQUEST,
        "NoRegisteredProviderFound",
        &format!(
            "No registered resource provider found for location '{location}' and API version '{version}' for type '{}'. The supported api-versions are '{list}'. The supported locations are 'eastus, westus, westeurope, northeurope'.",
            resource_type.split_once('/').map(|(_, t)| t).unwrap_or(resource_type)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_and_client_versions() {
        for (t, v) in [
            ("Microsoft.App/containerApps", "2025-07-01"),
            ("Microsoft.App/containerApps", "2026-07-01"),
            (
                "Microsoft.DBforPostgreSQL/flexibleServers",
                "2026-04-01-preview",
            ),
            ("Microsoft.Resources/resourceGroups", "2024-11-01"),
            ("Microsoft.Resources/subscriptions", "2022-12-01"),
            ("Microsoft.ResourceGraph/resources", "2021-03-01"),
        ] {
            assert!(check(Some(v), t, "eastus").is_ok(), "{t} {v}");
        }
    }

    #[test]
    fn refuses_unknown_and_missing_versions_with_arm_codes() {
        let e = check(Some("1999-01-01"), "Microsoft.App/containerApps", "eastus").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(format!("{:?}", e.body).contains("NoRegisteredProviderFound"));
        let e = check(Some("1999-01-01"), "Microsoft.Resources/resourceGroups", "").unwrap_err();
        assert!(format!("{:?}", e.body).contains("InvalidApiVersionParameter"));
        let e = check(None, "Microsoft.App/containerApps", "").unwrap_err();
        assert!(format!("{:?}", e.body).contains("MissingApiVersionParameter"));
    }
}
