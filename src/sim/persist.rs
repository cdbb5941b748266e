//! Keeping a simulated cloud across restarts (`--state-dir`): its state is written as JSON (atomically,
//! through a temporary file) and read back instead of the world at the next start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keyvault::store::VaultSecrets;
use super::state::{
    Operation, Principal, Resource, ResourceGroup, Settings, State, Subscription, Tenant,
};
use super::Sim;

const FILE: &str = "state.json";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read saved simulator state {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("saved simulator state {path} is not readable by this version ({source}); move it away to start from the world again")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write simulator state {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    format: u32,
    tenant: Option<Tenant>,
    principals: Vec<Principal>,
    subscriptions: BTreeMap<String, Subscription>,
    resource_groups: BTreeMap<String, ResourceGroup>,
    resources: BTreeMap<String, Resource>,
    operations: HashMap<String, Operation>,
    settings: Settings,
    unhealthy_images: Vec<String>,
    clock_offset_secs: i64,
    /// Absent in files written before the Key Vault data plane existed.
    #[serde(default)]
    vault_secrets: BTreeMap<String, VaultSecrets>,
}

impl Saved {
    fn of(state: &State) -> Saved {
        Saved {
            format: FORMAT,
            tenant: state.tenant.clone(),
            principals: state.principals.clone(),
            subscriptions: state.subscriptions.clone(),
            resource_groups: state.resource_groups.clone(),
            resources: state.resources.clone(),
            operations: state.operations.clone(),
            settings: state.settings.clone(),
            unhealthy_images: state.unhealthy_images.clone(),
            clock_offset_secs: state.clock_offset.num_seconds(),
            vault_secrets: state.vault_secrets.clone(),
        }
    }

    pub fn into_state(self, state: &mut State) {
        state.tenant = self.tenant;
        state.principals = self.principals;
        state.subscriptions = self.subscriptions;
        state.resource_groups = self.resource_groups;
        state.resources = self.resources;
        state.pending_operations = self
            .operations
            .values()
            .filter(|op| op.status == super::state::OpStatus::InProgress)
            .map(|op| op.id.clone())
            .collect();
        state.operations = self.operations;
        state.settings = self.settings;
        state.unhealthy_images = self.unhealthy_images;
        state.clock_offset = chrono::Duration::seconds(self.clock_offset_secs);
        state.vault_secrets = self.vault_secrets;
    }
}

pub fn load(dir: &Path) -> Result<Option<Saved>, PersistError> {
    let path = dir.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| PersistError::Read {
        path: path.clone(),
        source,
    })?;
    let saved: Saved = serde_json::from_str(&text).map_err(|source| PersistError::Parse {
        path: path.clone(),
        source,
    })?;
    if saved.format != FORMAT {
        return Err(PersistError::Parse {
            path,
            source: serde::de::Error::custom(format!(
                "format {} (expected {FORMAT})",
                saved.format
            )),
        });
    }
    Ok(Some(saved))
}

pub fn save(sim: &Sim, dir: &Path) -> Result<(), PersistError> {
    let json = {
        let state = sim.state.lock();
        let saved = Saved::of(&state);
        serde_json::to_vec(&saved).unwrap_or_default()
    };
    let path = dir.join(FILE);
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(|source| PersistError::Write {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| PersistError::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::keyvault::store::SecretVersion;

    #[test]
    fn secrets_survive_a_save_and_load() {
        let mut state = State::default();
        state
            .vault_secrets
            .entry("kv".into())
            .or_default()
            .add_version(
                "db",
                SecretVersion {
                    version: "0123456789abcdef0123456789abcdef".into(),
                    value: "postgresql://x".into(),
                    content_type: None,
                    tags: BTreeMap::new(),
                    enabled: true,
                    nbf: None,
                    exp: Some(1),
                    created: 1,
                    updated: 1,
                },
            );
        let json = serde_json::to_string(&Saved::of(&state)).unwrap_or_default();
        let saved: Saved = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let mut loaded = State::default();
        saved.into_state(&mut loaded);
        let db = &loaded.vault_secrets["kv"].live["db"];
        assert_eq!(
            db.latest().map(|v| v.value.as_str()),
            Some("postgresql://x")
        );
    }
}
