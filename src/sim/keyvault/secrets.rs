//! The secrets API of Key Vault (secrets.json 7.6 and the later api-versions that share it):
//! set, get (latest or a version), update, list, versions, soft delete, deleted get/list, recover
//! and purge. Backup and restore are not simulated (501).

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::error::KvError;
use super::store::{new_version_id, DeletedSecret, Secret, SecretVersion, VaultSecrets};
use crate::sim::http::{SimRequest, SimResponse};

/// Key Vault's page size when `maxresults` is absent, and its largest allowed value.
const MAX_RESULTS: usize = 25;
/// Key Vault refuses secret values over 25 KiB.
const MAX_VALUE_BYTES: usize = 25 * 1024;

/// What a request needs to know about its vault besides its secrets.
pub struct Vault {
    /// `https://{vault-host}[:port]`: ids and nextLinks are built on it.
    pub base_url: String,
    pub api_version: String,
    pub purge_protection: bool,
    pub retention_days: i64,
}

impl Vault {
    /// The `recoveryLevel` Key Vault reports for a soft-delete vault with these settings.
    fn recovery_level(&self) -> &'static str {
        match (self.retention_days < 90, self.purge_protection) {
            (false, false) => "Recoverable+Purgeable",
            (false, true) => "Recoverable",
            (true, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "CustomizedRecoverable",
        }
    }

    fn secret_url(&self, name: &str) -> String {
        format!("{}/secrets/{name}", self.base_url)
    }
}

/// Routes a `/secrets…` or `/deletedsecrets…` request. `segments` are the path's non-empty segments.
pub fn handle(
    req: &SimRequest,
    vault: &Vault,
    store: &mut VaultSecrets,
    now: i64,
) -> Result<SimResponse, KvError> {
    store.purge_expired(now);
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = &req.method;
    let is = |s: &str, lit: &str| s.eq_ignore_ascii_case(lit);
    match seg.as_slice() {
        [s] if is(s, "secrets") && m == Method::GET => list(req, vault, store),
        [s, r] if is(s, "secrets") && is(r, "restore") && m == Method::POST => {
            Err(KvError::NotImplemented("restore"))
        }
        [s, name] if is(s, "secrets") => match *m {
            Method::PUT => set(req, vault, store, name, now),
            Method::DELETE => delete(vault, store, name, now),
            // `GET /secrets/{name}/` is "latest" (the clients' form); accept it without the slash too.
            Method::GET => get(vault, store, name, None),
            Method::PATCH => update(req, vault, store, name, None, now),
            _ => Err(KvError::MethodNotAllowed),
        },
        [s, name, v] if is(s, "secrets") && is(v, "versions") && m == Method::GET => {
            versions(req, vault, store, name)
        }
        [s, _, b] if is(s, "secrets") && is(b, "backup") && m == Method::POST => {
            Err(KvError::NotImplemented("backup"))
        }
        [s, name, version] if is(s, "secrets") => match *m {
            Method::GET => get(vault, store, name, Some(version)),
            Method::PATCH => update(req, vault, store, name, Some(version), now),
            _ => Err(KvError::MethodNotAllowed),
        },
        [d] if is(d, "deletedsecrets") && m == Method::GET => list_deleted(req, vault, store),
        [d, name] if is(d, "deletedsecrets") => match *m {
            Method::GET => get_deleted(vault, store, name),
            Method::DELETE => purge(vault, store, name),
            _ => Err(KvError::MethodNotAllowed),
        },
        [d, name, r] if is(d, "deletedsecrets") && is(r, "recover") && m == Method::POST => {
            recover(vault, store, name)
        }
        [s, ..] if is(s, "keys") || is(s, "certificates") || is(s, "storage") => Err(
            KvError::NotImplemented("keys, certificates and storage accounts"),
        ),
        _ => Err(KvError::UnknownPath(req.path.clone())),
    }
}

/// Secret names are 1–127 characters of letters, digits and hyphens.
fn check_name(name: &str) -> Result<(), KvError> {
    let ok = !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(KvError::InvalidName(name.to_string()))
    }
}

fn live<'a>(store: &'a VaultSecrets, name: &str) -> Result<&'a Secret, KvError> {
    check_name(name)?;
    store
        .live
        .get(&name.to_ascii_lowercase())
        .ok_or_else(|| KvError::SecretNotFound(name.to_string()))
}

fn attributes(vault: &Vault, v: &SecretVersion) -> Value {
    let mut a = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": vault.recovery_level(),
        "recoverableDays": vault.retention_days,
    });
    if let Some(nbf) = v.nbf {
        a["nbf"] = json!(nbf);
    }
    if let Some(exp) = v.exp {
        a["exp"] = json!(exp);
    }
    a
}

/// The metadata every shape shares: id, attributes, contentType, tags.
fn item(vault: &Vault, id: String, v: &SecretVersion) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("attributes".into(), attributes(vault, v));
    if let Some(ct) = &v.content_type {
        m.insert("contentType".into(), json!(ct));
    }
    if !v.tags.is_empty() {
        m.insert("tags".into(), json!(v.tags));
    }
    m
}

/// A SecretBundle; the value only where Key Vault returns it (set and get).
fn bundle(vault: &Vault, secret: &Secret, v: &SecretVersion, with_value: bool) -> Value {
    let id = format!("{}/{}", vault.secret_url(&secret.name), v.version);
    let mut m = item(vault, id, v);
    if with_value {
        m.insert("value".into(), json!(v.value));
    }
    Value::Object(m)
}

fn deleted_fields(vault: &Vault, m: &mut Map<String, Value>, d: &DeletedSecret) {
    m.insert(
        "recoveryId".into(),
        json!(format!(
            "{}/deletedsecrets/{}",
            vault.base_url, d.secret.name
        )),
    );
    m.insert("deletedDate".into(), json!(d.deleted_date));
    m.insert("scheduledPurgeDate".into(), json!(d.scheduled_purge_date));
}

fn deleted_bundle(vault: &Vault, d: &DeletedSecret) -> Result<Value, KvError> {
    let latest = d
        .secret
        .latest()
        .ok_or_else(|| KvError::DeletedSecretNotFound(d.secret.name.clone()))?;
    let mut b = bundle(vault, &d.secret, latest, false);
    if let Value::Object(m) = &mut b {
        deleted_fields(vault, m, d);
    }
    Ok(b)
}

fn text_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, KvError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(KvError::BadParameter(format!(
            "The property '{key}' must be a string."
        ))),
    }
}

fn tags_field(body: &Map<String, Value>) -> Result<Option<BTreeMap<String, String>>, KvError> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(t)) => t
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(KvError::BadParameter(format!(
                    "The value of tag '{k}' must be a string."
                ))),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(KvError::BadParameter(
            "The property 'tags' must be an object of strings.".into(),
        )),
    }
}

/// Applies the writable attributes (`enabled`, `nbf`, `exp`); read-only ones are ignored, as
/// Key Vault does.
fn apply_attributes(body: &Map<String, Value>, v: &mut SecretVersion) -> Result<(), KvError> {
    let Some(a) = body.get("attributes") else {
        return Ok(());
    };
    let Some(a) = a.as_object() else {
        return Err(KvError::BadParameter(
            "The property 'attributes' must be an object.".into(),
        ));
    };
    match a.get("enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => v.enabled = *b,
        Some(_) => {
            return Err(KvError::BadParameter(
                "The attribute 'enabled' must be a boolean.".into(),
            ))
        }
    }
    for (key, slot) in [("nbf", &mut v.nbf), ("exp", &mut v.exp)] {
        match a.get(key) {
            None => {}
            Some(Value::Null) => *slot = None,
            Some(n) => match n.as_i64() {
                Some(t) => *slot = Some(t),
                None => {
                    return Err(KvError::BadParameter(format!(
                        "The attribute '{key}' must be a unix time in seconds."
                    )))
                }
            },
        }
    }
    Ok(())
}

fn body_object(req: &SimRequest) -> Result<Map<String, Value>, KvError> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(KvError::BadParameter(
            "The request body must be a JSON object.".into(),
        )),
        Err(e) => Err(KvError::BadParameter(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn set(
    req: &SimRequest,
    vault: &Vault,
    store: &mut VaultSecrets,
    name: &str,
    now: i64,
) -> Result<SimResponse, KvError> {
    check_name(name)?;
    let body = body_object(req)?;
    let value = text_field(&body, "value")?
        .ok_or_else(|| KvError::BadParameter("The property 'value' is required.".into()))?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(KvError::BadParameter(format!(
            "The secret value is {} bytes; Key Vault accepts at most {MAX_VALUE_BYTES}.",
            value.len()
        )));
    }
    if store.deleted.contains_key(&name.to_ascii_lowercase()) {
        return Err(KvError::DeletedButRecoverable(name.to_string()));
    }
    let mut version = SecretVersion {
        version: new_version_id(),
        value,
        content_type: text_field(&body, "contentType")?,
        tags: tags_field(&body)?.unwrap_or_default(),
        enabled: true,
        nbf: None,
        exp: None,
        created: now,
        updated: now,
    };
    apply_attributes(&body, &mut version)?;
    let secret = store.add_version(name, version);
    let latest = secret
        .latest()
        .ok_or_else(|| KvError::SecretNotFound(name.to_string()))?;
    // 200, not 201: the Rust crate accepts nothing else (REAL-CLIENTS.md).
    Ok(SimResponse::ok(bundle(vault, secret, latest, true)))
}

fn get(
    vault: &Vault,
    store: &VaultSecrets,
    name: &str,
    version: Option<&str>,
) -> Result<SimResponse, KvError> {
    let secret = live(store, name)?;
    let v = match version {
        Some(ver) => secret.version(ver),
        None => secret.latest(),
    }
    .ok_or_else(|| KvError::SecretNotFound(name.to_string()))?;
    if !v.enabled {
        return Err(KvError::Disabled);
    }
    Ok(SimResponse::ok(bundle(vault, secret, v, true)))
}

fn update(
    req: &SimRequest,
    vault: &Vault,
    store: &mut VaultSecrets,
    name: &str,
    version: Option<&str>,
    now: i64,
) -> Result<SimResponse, KvError> {
    check_name(name)?;
    let body = body_object(req)?;
    let not_found = || KvError::SecretNotFound(name.to_string());
    let secret = store
        .live
        .get_mut(&name.to_ascii_lowercase())
        .ok_or_else(not_found)?;
    let target = match version {
        Some(ver) => secret.version_mut(ver),
        None => secret.versions.last_mut(),
    }
    .ok_or_else(not_found)?;
    // Validate everything before changing anything: a refused PATCH leaves the version as it was.
    let mut next = target.clone();
    if body.contains_key("contentType") {
        next.content_type = text_field(&body, "contentType")?;
    }
    if let Some(tags) = tags_field(&body)? {
        next.tags = tags;
    }
    apply_attributes(&body, &mut next)?;
    next.updated = now;
    *target = next.clone();
    let secret = live(store, name)?;
    Ok(SimResponse::ok(bundle(vault, secret, &next, false)))
}

fn delete(
    vault: &Vault,
    store: &mut VaultSecrets,
    name: &str,
    now: i64,
) -> Result<SimResponse, KvError> {
    check_name(name)?;
    let key = name.to_ascii_lowercase();
    let secret = store
        .live
        .remove(&key)
        .ok_or_else(|| KvError::SecretNotFound(name.to_string()))?;
    let deleted = DeletedSecret {
        secret,
        deleted_date: now,
        scheduled_purge_date: now + vault.retention_days * 86_400,
    };
    let body = deleted_bundle(vault, &deleted)?;
    store.deleted.insert(key, deleted);
    Ok(SimResponse::ok(body))
}

fn find_deleted<'a>(store: &'a VaultSecrets, name: &str) -> Result<&'a DeletedSecret, KvError> {
    check_name(name)?;
    store
        .deleted
        .get(&name.to_ascii_lowercase())
        .ok_or_else(|| KvError::DeletedSecretNotFound(name.to_string()))
}

fn get_deleted(vault: &Vault, store: &VaultSecrets, name: &str) -> Result<SimResponse, KvError> {
    let d = find_deleted(store, name)?;
    Ok(SimResponse::ok(deleted_bundle(vault, d)?))
}

fn recover(vault: &Vault, store: &mut VaultSecrets, name: &str) -> Result<SimResponse, KvError> {
    find_deleted(store, name)?;
    let key = name.to_ascii_lowercase();
    let d = store
        .deleted
        .remove(&key)
        .ok_or_else(|| KvError::DeletedSecretNotFound(name.to_string()))?;
    let body = match d.secret.latest() {
        Some(v) => bundle(vault, &d.secret, v, false),
        None => return Err(KvError::DeletedSecretNotFound(name.to_string())),
    };
    store.live.insert(key, d.secret);
    Ok(SimResponse::ok(body))
}

fn purge(vault: &Vault, store: &mut VaultSecrets, name: &str) -> Result<SimResponse, KvError> {
    find_deleted(store, name)?;
    if vault.purge_protection {
        return Err(KvError::PurgeProtected);
    }
    store.deleted.remove(&name.to_ascii_lowercase());
    Ok(SimResponse::new(StatusCode::NO_CONTENT))
}

/// `maxresults`: 1–25, 25 when absent.
fn max_results(req: &SimRequest) -> Result<usize, KvError> {
    match req.query_param("maxresults") {
        None => Ok(MAX_RESULTS),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RESULTS).contains(n))
            .ok_or_else(|| {
                KvError::BadParameter(format!(
                    "The value of 'maxresults' ({text}) must be an integer from 1 to {MAX_RESULTS}."
                ))
            }),
    }
}

/// One page of `items` (sorted by their key): those after the request's `$skiptoken` (the last key
/// of the previous page), with a `nextLink` carrying this page's last key when more follow.
fn page(
    req: &SimRequest,
    vault: &Vault,
    path: &str,
    items: Vec<(String, Value)>,
) -> Result<SimResponse, KvError> {
    let max = max_results(req)?;
    let after = req.query_param("$skiptoken");
    let rest: Vec<(String, Value)> = items
        .into_iter()
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .collect();
    let more = rest.len() > max;
    let (keys, values): (Vec<String>, Vec<Value>) = rest.into_iter().take(max).unzip();
    let mut body = json!({ "value": values });
    if let Some(last) = keys.last().filter(|_| more) {
        body["nextLink"] = json!(format!(
            "{}{path}?api-version={}&$skiptoken={}&maxresults={max}",
            vault.base_url,
            vault.api_version,
            percent_encoding::utf8_percent_encode(last, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    Ok(SimResponse::ok(body))
}

fn list(req: &SimRequest, vault: &Vault, store: &VaultSecrets) -> Result<SimResponse, KvError> {
    let items = store
        .live
        .iter()
        .filter_map(|(key, s)| {
            let v = s.latest()?;
            Some((
                key.clone(),
                Value::Object(item(vault, vault.secret_url(&s.name), v)),
            ))
        })
        .collect();
    page(req, vault, "/secrets", items)
}

fn versions(
    req: &SimRequest,
    vault: &Vault,
    store: &VaultSecrets,
    name: &str,
) -> Result<SimResponse, KvError> {
    let secret = live(store, name)?;
    // Versions only ever append, so the position is a stable paging key.
    let items = secret
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let id = format!("{}/{}", vault.secret_url(&secret.name), v.version);
            (format!("{i:08}"), Value::Object(item(vault, id, v)))
        })
        .collect();
    page(
        req,
        vault,
        &format!("/secrets/{}/versions", secret.name),
        items,
    )
}

fn list_deleted(
    req: &SimRequest,
    vault: &Vault,
    store: &VaultSecrets,
) -> Result<SimResponse, KvError> {
    let items = store
        .deleted
        .iter()
        .filter_map(|(key, d)| {
            let v = d.secret.latest()?;
            let mut m = item(vault, vault.secret_url(&d.secret.name), v);
            deleted_fields(vault, &mut m, d);
            Some((key.clone(), Value::Object(m)))
        })
        .collect();
    page(req, vault, "/deletedsecrets", items)
}
