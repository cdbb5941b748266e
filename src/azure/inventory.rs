//! Every resource of an environment: Resource Graph in pages of 1,000, or ARM's generic listing
//! one subscription (and group) at a time when Graph is refused. The CLI's `inventory` and the
//! TUI's Inventory screen both read through here.

use futures::{StreamExt, TryStreamExt};

use super::error::AzureError;
use super::http::{ClientError, Pipeline};
use super::paging;
use super::resources::{self, InventoryItem};

/// What part of the environment to list.
pub struct Scope<'a> {
    pub subscriptions: &'a [String],
    /// Empty: every group of the subscriptions.
    pub resource_groups: &'a [String],
    /// Only this type, e.g. `Microsoft.App/containerApps`.
    pub resource_type: Option<&'a str>,
}

/// KQL string literal.
pub fn kql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The Resource Graph query for a scope: the columns `InventoryItem` reads, in id order.
pub fn graph_query(scope: &Scope<'_>) -> String {
    let mut query = String::from("Resources");
    if let Some(t) = scope.resource_type {
        query.push_str(&format!(" | where type =~ {}", kql_quote(t)));
    }
    if !scope.resource_groups.is_empty() {
        let groups: Vec<String> = scope.resource_groups.iter().map(|g| kql_quote(g)).collect();
        query.push_str(&format!(
            " | where resourceGroup in~ ({})",
            groups.join(", ")
        ));
    }
    query.push_str(" | project id, name, type, location, resourceGroup, subscriptionId, tags, provisioningState = properties.provisioningState, state = properties.state | order by id asc");
    query
}

/// Lists the scope's resources; `progress` hears the running count after each page.
pub async fn load(
    pipeline: &Pipeline,
    scope: &Scope<'_>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<InventoryItem>, ClientError> {
    let query = graph_query(scope);
    let mut items: Vec<InventoryItem> = Vec::new();
    let graph = {
        let mut pages = Box::pin(paging::graph_pages(
            pipeline,
            &query,
            scope.subscriptions,
            1000,
        ));
        loop {
            match pages.try_next().await {
                Ok(Some(rows)) => {
                    items.extend(rows.iter().filter_map(InventoryItem::from_row));
                    progress(items.len());
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        }
    };
    let Err(e) = graph else {
        return Ok(items);
    };
    // Resource Graph refused (not registered, not allowed, query unsupported): ARM's listing
    // tells the same, one subscription at a time.
    let fallback = matches!(
        &e,
        ClientError::Azure(
            AzureError::BadRequest { .. }
                | AzureError::Forbidden { .. }
                | AzureError::NotFound { .. }
        )
    );
    if !fallback {
        return Err(e);
    }
    tracing::info!(error = %e, "Resource Graph unavailable; listing through ARM");
    items.clear();
    let groups: Vec<Option<String>> = if scope.resource_groups.is_empty() {
        vec![None]
    } else {
        scope.resource_groups.iter().cloned().map(Some).collect()
    };
    let jobs: Vec<(String, Option<String>)> = scope
        .subscriptions
        .iter()
        .flat_map(|s| groups.iter().map(move |g| (s.clone(), g.clone())))
        .collect();
    let resource_type = scope.resource_type;
    let mut results =
        futures::stream::iter(jobs)
            .map(|(s, g)| async move {
                resources::list(pipeline, &s, g.as_deref(), resource_type).await
            })
            .buffer_unordered(4);
    while let Some(r) = results.next().await {
        items.extend(r?);
        progress(items.len());
    }
    items.sort_by_key(|i| i.id.to_ascii_lowercase());
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_quotes_and_scopes() {
        let subs = vec!["s".to_string()];
        let groups = vec!["rg-a".to_string(), "it's".to_string()];
        let q = graph_query(&Scope {
            subscriptions: &subs,
            resource_groups: &groups,
            resource_type: Some("Microsoft.App/containerApps"),
        });
        assert!(q.contains("where type =~ 'Microsoft.App/containerApps'"));
        assert!(q.contains("resourceGroup in~ ('rg-a', 'it\\'s')"));
        assert!(q.ends_with("order by id asc"));
        assert_eq!(kql_quote("a\\b"), "'a\\\\b'");
    }
}
