//! What a simulated vault holds: its secrets, each a list of versions, and its soft-deleted
//! secrets. Kept in the simulator's `State` (keyed by lower-case vault name) so `--state-dir`
//! persistence and world seeding see it like any other simulated data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultSecrets {
    /// Live secrets by lower-case name: Key Vault names are case-insensitive.
    #[serde(default)]
    pub live: BTreeMap<String, Secret>,
    /// Soft-deleted secrets by lower-case name, until recovered, purged or past their purge date.
    #[serde(default)]
    pub deleted: BTreeMap<String, DeletedSecret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// The name as first set (its case is kept in ids).
    pub name: String,
    /// Oldest first; the last one is what "get latest" returns.
    pub versions: Vec<SecretVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    /// 32 lower-case hex digits, as Key Vault issues them.
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub enabled: bool,
    /// Not before / expires, unix seconds.
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedSecret {
    pub secret: Secret,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

impl Secret {
    pub fn latest(&self) -> Option<&SecretVersion> {
        self.versions.last()
    }

    pub fn version(&self, version: &str) -> Option<&SecretVersion> {
        self.versions
            .iter()
            .find(|v| v.version.eq_ignore_ascii_case(version))
    }

    pub fn version_mut(&mut self, version: &str) -> Option<&mut SecretVersion> {
        self.versions
            .iter_mut()
            .find(|v| v.version.eq_ignore_ascii_case(version))
    }
}

impl VaultSecrets {
    /// Deleted secrets past their scheduled purge date are gone, as Key Vault purges them itself.
    pub fn purge_expired(&mut self, now: i64) {
        self.deleted.retain(|_, d| d.scheduled_purge_date > now);
    }

    /// Adds a version of `name` (a new secret when there is none); it becomes the latest.
    pub fn add_version(&mut self, name: &str, version: SecretVersion) -> &Secret {
        let secret = self
            .live
            .entry(name.to_ascii_lowercase())
            .or_insert_with(|| Secret {
                name: name.to_string(),
                versions: Vec::new(),
            });
        secret.versions.push(version);
        secret
    }
}

/// A fresh version id: 32 hex digits, what clients parse out of a secret id.
pub fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
