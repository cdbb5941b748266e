//! Service-principal secrets in the OS keyring, keyed by (environment, tenant, client id) under the
//! service name `azdeck`. Never a file: when no keyring works, the error says so and points to
//! `AZURE_CLIENT_SECRET` for the one process.
//!
//! Backends (`keyring` 3.x, features chosen in Cargo.toml):
//!
//! - Linux: the **Secret Service** (GNOME Keyring, KWallet; persists across reboots) when a session
//!   bus offers it, else the **kernel keyring** (keyutils: no daemon, no desktop session, so it works
//!   on a headless server or in a container; it lives in kernel memory, linked into the session
//!   keyring and the user's persistent keyring, and is gone after a reboot or when the persistent
//!   keyring expires — `/proc/sys/kernel/keys/persistent_keyring_expiry`, 3 days by default).
//!   Features: `linux-native` (keyutils, a pure-Rust syscall wrapper) and `async-secret-service` with
//!   `async-io` and `crypto-rust` (zbus: pure Rust, so no libdbus to link; `async-io` rather than
//!   `tokio` because zbus's tokio flavour blocks on its own runtime and panics or deadlocks when
//!   called from inside ours; `crypto-rust` encrypts the secret on the bus without OpenSSL). Not
//!   `linux-native-*-persistent`: that store's builder creates Secret Service entries only, so it
//!   fails exactly where keyutils is needed. Both backends are compiled in and tried in that order
//!   at run time, each addressed explicitly (not through the crate's default builder).
//! - macOS: the login Keychain (`apple-native`). Windows: the Credential Manager (`windows-native`).
//! - Anywhere else the crate would fall back to its *mock* store (memory of one `Entry`), which
//!   would silently lose the secret: we refuse instead.
//!
//! Secret values are only handed to the keyring and wrapped in [`SecretString`] on the way out;
//! no error or log line carries one (keyring's `BadEncoding` holds the bytes: it is mapped to a
//! message without them).

use std::fmt;

use crate::config::Environment;
use crate::model::SecretString;

use super::auth::{process_env, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET};

/// The keyring service name of every azdeck entry.
pub const SERVICE: &str = "azdeck";

/// One OS credential store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// freedesktop.org Secret Service over D-Bus (Linux desktops).
    SecretService,
    /// The Linux kernel key retention service (keyutils).
    KernelKeyring,
    /// macOS Keychain or Windows Credential Manager.
    Native,
}

impl Backend {
    /// The backends of this platform, in the order they are tried.
    pub fn platform() -> Vec<Backend> {
        if cfg!(target_os = "linux") {
            vec![Backend::SecretService, Backend::KernelKeyring]
        } else if cfg!(any(target_os = "macos", target_os = "windows")) {
            vec![Backend::Native]
        } else {
            vec![]
        }
    }

    /// Whether the secret survives a reboot.
    pub fn persistent(self) -> bool {
        !matches!(self, Backend::KernelKeyring)
    }

    fn entry(self, user: &str) -> keyring::Result<keyring::Entry> {
        match self {
            #[cfg(target_os = "linux")]
            Backend::SecretService => Ok(keyring::Entry::new_with_credential(Box::new(
                keyring::secret_service::SsCredential::new_with_target(None, SERVICE, user)?,
            ))),
            #[cfg(target_os = "linux")]
            Backend::KernelKeyring => {
                kernel::prepare().map_err(|e| keyring::Error::PlatformFailure(e.into()))?;
                Ok(keyring::Entry::new_with_credential(Box::new(
                    keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, user)?,
                )))
            }
            #[cfg(any(target_os = "macos", target_os = "windows"))]
            Backend::Native => keyring::Entry::new(SERVICE, user),
            #[allow(unreachable_patterns)]
            _ => Err(keyring::Error::PlatformFailure(
                "not available on this platform".into(),
            )),
        }
    }
}

/// The kernel keyring as `keyring`'s keyutils store expects it: a session keyring this thread
/// *possesses*, with the user's persistent keyring linked in.
///
/// A process started outside a login session (container, cron, systemd service, CI) has no session
/// keyring. The store then takes the serial of the user-session keyring the kernel substitutes, and
/// its own `get_persistent` call makes the kernel join the thread to a fresh session keyring: the
/// keyring the store holds is no longer possessed, so every key it writes there is unreadable and
/// unlinkable (EACCES, which the crate reports as "no entry"; seen on kernel 6.18). So: join a
/// session keyring of our own first (a no-op inside a real login session), and require the
/// persistent keyring when that session is only ours, or a secret would die with the process.
/// Kernel credentials are per thread: this runs before every operation, on the thread doing it.
#[cfg(target_os = "linux")]
mod kernel {
    use linux_keyutils::{KeyRing, KeyRingIdentifier as Id};

    pub fn prepare() -> Result<(), String> {
        let fail = |what: &str, e: linux_keyutils::KeyError| format!("{what}: {e}");
        let user_session = KeyRing::from_special_id(Id::UserSession, false)
            .map_err(|e| fail("no user-session keyring", e))?;
        let session = KeyRing::from_special_id(Id::Session, false)
            .map_err(|e| fail("no session keyring", e))?;
        let login_session = session != user_session;
        if !login_session {
            KeyRing::from_special_id(Id::Session, true)
                .map_err(|e| fail("cannot join a session keyring", e))?;
        }
        match KeyRing::get_persistent(Id::Session) {
            Ok(_) => Ok(()),
            Err(_) if login_session => Ok(()),
            Err(e) => Err(format!(
                "no persistent keyring ({e}) and no login session keyring, so a secret would not outlive this process"
            )),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::SecretService => "Secret Service",
            Backend::KernelKeyring => "kernel keyring",
            Backend::Native if cfg!(target_os = "macos") => "macOS Keychain",
            Backend::Native if cfg!(target_os = "windows") => "Windows Credential Manager",
            Backend::Native => "OS keyring",
        })
    }
}

/// Errors of the secret store. None carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretStoreError {
    #[error(
        "no OS keyring available: {reasons}; set AZURE_CLIENT_SECRET for this process instead"
    )]
    Unavailable { reasons: String },
    #[error("an empty secret cannot be stored")]
    Empty,
    #[error("the {backend} rejected the entry for {key}: {message}")]
    Invalid {
        backend: Backend,
        key: String,
        message: String,
    },
    #[error("the {backend} holds a secret for {key} that is not UTF-8 text; run `azdeck logout` and `azdeck login` again")]
    NotText { backend: Backend, key: String },
    #[error("the {backend} holds several entries for {key}; remove the duplicates with the keyring's own tool")]
    Ambiguous { backend: Backend, key: String },
}

/// What a backend answered, in the terms the store decides on.
enum Outcome<T> {
    Done(T),
    Missing,
    /// The backend cannot be used here: try the next one.
    Unusable(String),
    Failed(SecretStoreError),
}

fn classify<T>(backend: Backend, key: &str, r: keyring::Result<T>) -> Outcome<T> {
    match r {
        Ok(v) => Outcome::Done(v),
        Err(keyring::Error::NoEntry) => Outcome::Missing,
        Err(keyring::Error::BadEncoding(_)) => Outcome::Failed(SecretStoreError::NotText {
            backend,
            key: key.to_string(),
        }),
        Err(keyring::Error::Ambiguous(_)) => Outcome::Failed(SecretStoreError::Ambiguous {
            backend,
            key: key.to_string(),
        }),
        Err(e @ (keyring::Error::Invalid(..) | keyring::Error::TooLong(..))) => {
            Outcome::Failed(SecretStoreError::Invalid {
                backend,
                key: key.to_string(),
                message: e.to_string(),
            })
        }
        Err(keyring::Error::PlatformFailure(e)) => {
            Outcome::Unusable(format!("{backend}: {}", super::error::one_line(e.as_ref())))
        }
        // E.g. a locked collection whose unlock prompt was dismissed.
        Err(keyring::Error::NoStorageAccess(e)) => Outcome::Unusable(format!(
            "{backend}: locked or access refused: {}",
            super::error::one_line(e.as_ref())
        )),
        Err(e) => Outcome::Unusable(format!("{backend}: {}", super::error::one_line(&e))),
    }
}

/// The key of an entry: what the keyring shows as the account name.
pub fn entry_name(env: &str, tenant: &str, client_id: &str) -> String {
    format!("{env}/{tenant}/{client_id}")
}

/// The store: the platform's backends, or chosen ones (tests).
#[derive(Debug, Clone)]
pub struct SecretStore {
    backends: Vec<Backend>,
}

impl Default for SecretStore {
    fn default() -> Self {
        Self::os()
    }
}

impl SecretStore {
    /// The platform's keyrings, in order ([`Backend::platform`]).
    pub fn os() -> Self {
        Self::with_backends(Backend::platform())
    }

    pub fn with_backends(backends: Vec<Backend>) -> Self {
        Self { backends }
    }

    fn unavailable(&self, reasons: Vec<String>) -> SecretStoreError {
        let reasons = if self.backends.is_empty() {
            "this platform has no supported keyring".to_string()
        } else {
            reasons.join("; ")
        };
        SecretStoreError::Unavailable { reasons }
    }

    /// Stores the secret in the first backend that works; returns which. Copies in the other
    /// backends are removed (best effort), so a later `load` cannot find an older secret first.
    pub fn store(
        &self,
        env: &str,
        tenant: &str,
        client_id: &str,
        secret: &SecretString,
    ) -> Result<Backend, SecretStoreError> {
        if secret.is_empty() {
            return Err(SecretStoreError::Empty);
        }
        let key = entry_name(env, tenant, client_id);
        let mut reasons = Vec::new();
        for &backend in &self.backends {
            let result = backend
                .entry(&key)
                .and_then(|e| e.set_password(secret.expose()));
            match classify(backend, &key, result) {
                Outcome::Done(()) => {
                    for &other in self.backends.iter().filter(|b| **b != backend) {
                        if let Ok(e) = other.entry(&key) {
                            let _ = e.delete_credential();
                        }
                    }
                    tracing::debug!(%backend, key, "secret stored");
                    return Ok(backend);
                }
                // keyutils reports some access failures as "no entry"; on a write it means unusable.
                Outcome::Missing => reasons.push(format!("{backend}: no access")),
                Outcome::Unusable(reason) => reasons.push(reason),
                Outcome::Failed(e) => return Err(e),
            }
        }
        Err(self.unavailable(reasons))
    }

    /// The stored secret, from the first backend that has one. `Ok(None)`: a keyring works but
    /// holds nothing for this key.
    pub fn load(
        &self,
        env: &str,
        tenant: &str,
        client_id: &str,
    ) -> Result<Option<SecretString>, SecretStoreError> {
        let key = entry_name(env, tenant, client_id);
        let mut reasons = Vec::new();
        let mut reachable = false;
        for &backend in &self.backends {
            let result = backend.entry(&key).and_then(|e| e.get_password());
            match classify(backend, &key, result) {
                Outcome::Done(secret) => return Ok(Some(SecretString::new(secret))),
                Outcome::Missing => reachable = true,
                Outcome::Unusable(reason) => reasons.push(reason),
                Outcome::Failed(e) => return Err(e),
            }
        }
        if reachable {
            Ok(None)
        } else {
            Err(self.unavailable(reasons))
        }
    }

    /// Deletes the secret from every backend; `true` if one held it.
    pub fn delete(
        &self,
        env: &str,
        tenant: &str,
        client_id: &str,
    ) -> Result<bool, SecretStoreError> {
        let key = entry_name(env, tenant, client_id);
        let mut reasons = Vec::new();
        let mut reachable = false;
        let mut deleted = false;
        for &backend in &self.backends {
            let result = backend.entry(&key).and_then(|e| e.delete_credential());
            match classify(backend, &key, result) {
                Outcome::Done(()) => deleted = true,
                Outcome::Missing => reachable = true,
                Outcome::Unusable(reason) => reasons.push(reason),
                Outcome::Failed(e) => return Err(e),
            }
        }
        if deleted || reachable {
            Ok(deleted)
        } else {
            Err(self.unavailable(reasons))
        }
    }

    /// Which backend works here, found by writing, reading back and deleting a throw-away entry
    /// (a read alone proves little: keyutils reports some access failures as "no entry").
    pub fn probe(&self) -> Result<Backend, SecretStoreError> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let env = format!("probe-{}", std::process::id());
        let value = SecretString::new(format!("probe-{nonce}"));
        let mut reasons = Vec::new();
        for &backend in &self.backends {
            let single = SecretStore::with_backends(vec![backend]);
            let round_trip = single
                .store(&env, "probe", &nonce, &value)
                .and_then(|_| single.load(&env, "probe", &nonce));
            if round_trip.is_ok() {
                let _ = single.delete(&env, "probe", &nonce);
            }
            match round_trip {
                Ok(Some(got)) if got == value => return Ok(backend),
                Ok(_) => reasons.push(format!("{backend}: a stored value did not read back")),
                Err(SecretStoreError::Unavailable { reasons: r }) => reasons.push(r),
                Err(e) => reasons.push(format!("{backend}: {e}")),
            }
        }
        Err(self.unavailable(reasons))
    }
}

/// Stores with the platform's keyrings ([`SecretStore::store`]).
pub fn store(
    env: &str,
    tenant: &str,
    client_id: &str,
    secret: &SecretString,
) -> Result<Backend, SecretStoreError> {
    SecretStore::os().store(env, tenant, client_id, secret)
}

/// Loads from the platform's keyrings ([`SecretStore::load`]).
pub fn load(
    env: &str,
    tenant: &str,
    client_id: &str,
) -> Result<Option<SecretString>, SecretStoreError> {
    SecretStore::os().load(env, tenant, client_id)
}

/// Deletes from the platform's keyrings ([`SecretStore::delete`]).
pub fn delete(env: &str, tenant: &str, client_id: &str) -> Result<bool, SecretStoreError> {
    SecretStore::os().delete(env, tenant, client_id)
}

/// The client secret for a service-principal environment: the one `azdeck login` stored in the OS
/// keyring, else `AZURE_CLIENT_SECRET`. The client id is the environment's, else `AZURE_CLIENT_ID`.
/// Blocking (the keyring may talk D-Bus): call it off the async workers.
pub fn secret_for(env_name: &str, env: &Environment) -> Option<SecretString> {
    secret_for_with(&SecretStore::os(), env_name, env, &process_env)
}

/// [`secret_for`] with the store and the environment variables given.
pub fn secret_for_with(
    store: &SecretStore,
    env_name: &str,
    env: &Environment,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Option<SecretString> {
    let client_id = env
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .or_else(|| vars(AZURE_CLIENT_ID));
    if let Some(client_id) = client_id {
        match store.load(env_name, &env.tenant, &client_id) {
            Ok(Some(secret)) => return Some(secret),
            Ok(None) => tracing::debug!(env = env_name, "no secret in the keyring"),
            Err(e) => tracing::debug!(env = env_name, error = %e, "keyring not used"),
        }
    }
    vars(AZURE_CLIENT_SECRET).map(SecretString::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CredentialKind;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    /// A name no other test (or test run) uses: the kernel keyring is shared by the whole user.
    fn unique(tag: &str) -> String {
        format!(
            "test-{tag}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }

    fn environment(client_id: &str) -> Environment {
        Environment {
            cloud: "public".into(),
            tenant: TENANT.into(),
            subscriptions: vec!["8f3b2c1d-6e5f-4a7b-9c8d-1e2f3a4b5c6d".into()],
            resource_groups: vec![],
            credential: CredentialKind::ServicePrincipal,
            client_id: Some(client_id.into()),
            protected: false,
            read_only: false,
            theme: None,
        }
    }

    /// Round trip, overwrite, delete, and `secret_for`'s order, on a store known to work.
    fn exercise(store: &SecretStore, expected: Backend) {
        let env = unique("rt");
        let client = uuid::Uuid::new_v4().to_string();
        assert!(store.load(&env, TENANT, &client).unwrap().is_none());
        let first = SecretString::new("canary-secret-1");
        assert_eq!(
            store.store(&env, TENANT, &client, &first).unwrap(),
            expected
        );
        assert_eq!(store.load(&env, TENANT, &client).unwrap(), Some(first));
        let second = SecretString::new("canary-secret-2 with spaces ✓");
        store.store(&env, TENANT, &client, &second).unwrap();
        assert_eq!(
            store.load(&env, TENANT, &client).unwrap(),
            Some(second.clone())
        );
        // Keyed by all three parts.
        assert!(store.load(&env, TENANT, "other-client").unwrap().is_none());
        assert!(store
            .load(&unique("other"), TENANT, &client)
            .unwrap()
            .is_none());

        let vars = |k: &str| (k == AZURE_CLIENT_SECRET).then(|| "from-env".to_string());
        let e = environment(&client);
        assert_eq!(secret_for_with(store, &env, &e, &vars), Some(second));

        assert!(store.delete(&env, TENANT, &client).unwrap());
        assert!(!store.delete(&env, TENANT, &client).unwrap());
        assert!(store.load(&env, TENANT, &client).unwrap().is_none());
        assert_eq!(
            secret_for_with(store, &env, &e, &vars).map(|s| s.expose().to_string()),
            Some("from-env".into())
        );
        assert!(matches!(
            store.store(&env, TENANT, &client, &SecretString::new("")),
            Err(SecretStoreError::Empty)
        ));
    }

    /// Without a working keyring every operation says so, clearly, with the way out.
    fn assert_unavailable(store: &SecretStore) {
        let env = unique("none");
        let secret = SecretString::new("canary-never-shown");
        let err = store.store(&env, TENANT, "c", &secret).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SecretStoreError::Unavailable { .. }), "{msg}");
        assert!(msg.starts_with("no OS keyring available: "), "{msg}");
        assert!(
            msg.ends_with("; set AZURE_CLIENT_SECRET for this process instead"),
            "{msg}"
        );
        assert!(!msg.contains("canary") && !format!("{err:?}").contains("canary"));
        assert!(matches!(
            store.load(&env, TENANT, "c"),
            Err(SecretStoreError::Unavailable { .. })
        ));
        assert!(matches!(
            store.delete(&env, TENANT, "c"),
            Err(SecretStoreError::Unavailable { .. })
        ));
        let vars = |k: &str| (k == AZURE_CLIENT_SECRET).then(|| "from-env".to_string());
        assert_eq!(
            secret_for_with(store, &env, &environment("c"), &vars).map(|s| s.expose().to_string()),
            Some("from-env".into())
        );
    }

    #[test]
    fn the_platform_store_works_or_says_clearly_why_not() {
        let store = SecretStore::os();
        match store.probe() {
            Ok(backend) => {
                println!("keyring path: {backend} works here; exercising it");
                exercise(&store, backend);
            }
            Err(e) => {
                println!("keyring path: none available ({e}); asserting the error path");
                assert_unavailable(&store);
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_keyring_works_or_says_clearly_why_not() {
        let store = SecretStore::with_backends(vec![Backend::KernelKeyring]);
        match store.probe() {
            Ok(backend) => {
                assert_eq!(backend, Backend::KernelKeyring);
                println!("kernel keyring path: available; exercising it");
                exercise(&store, backend);
            }
            Err(e) => {
                println!("kernel keyring path: unavailable ({e}); asserting the error path");
                assert!(e.to_string().contains("kernel keyring: "), "{e}");
                assert_unavailable(&store);
            }
        }
    }

    #[test]
    fn no_backend_is_a_clear_error_never_a_file() {
        let store = SecretStore::with_backends(vec![]);
        assert!(matches!(
            store.probe(),
            Err(SecretStoreError::Unavailable { .. })
        ));
        assert_unavailable(&store);
        let msg = store.load("e", TENANT, "c").unwrap_err().to_string();
        assert_eq!(
            msg,
            "no OS keyring available: this platform has no supported keyring; set AZURE_CLIENT_SECRET for this process instead"
        );
    }

    #[test]
    fn secret_for_needs_a_client_id_for_the_keyring() {
        let store = SecretStore::with_backends(vec![]);
        let mut e = environment("c");
        e.client_id = None;
        let none = |_: &str| None;
        assert!(secret_for_with(&store, "e", &e, &none).is_none());
        let vars = |k: &str| match k {
            AZURE_CLIENT_ID => Some("c".to_string()),
            AZURE_CLIENT_SECRET => Some("s".to_string()),
            _ => None,
        };
        assert_eq!(
            secret_for_with(&store, "e", &e, &vars).map(|s| s.expose().to_string()),
            Some("s".into())
        );
    }
}
