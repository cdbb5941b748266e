//! The simulated Azure: one HTTPS listener that routes by host name to Entra ID (`login.`), Azure
//! Resource Manager (`management.`), Key Vault (`{vault}.vault.`) and container apps' ingress
//! (`{app}.{environment domain}`), with state loaded from a world file. It is `azdeck sim`, the cloud behind `azdeck demo`, and the backend of every
//! integration test — a cloud, not a mock: official Azure clients work against it.

pub mod admin;
pub mod arm;
pub mod edge;
pub mod entra;
pub mod faults;
pub mod http;
pub mod ingress;
pub mod keyvault;
pub mod persist;
pub mod providers;
pub mod regions;
pub mod reqlog;
pub mod server;
pub mod state;
pub mod tls;
pub mod token;
pub mod world;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::model::{SimEndpoints, SimEnvironment, SimServicePrincipal, SimSubscription};
use faults::Faults;
use reqlog::RequestLog;
use state::{Settings, State};
use token::TokenSigner;

pub const DEFAULT_DOMAIN: &str = "azdeck.localhost";
pub const DEFAULT_PORT: u16 = 8443;

/// The simulator's own names: where it is and what it calls itself.
#[derive(Debug, Clone)]
pub struct SimIdentity {
    pub domain: String,
    pub port: u16,
    pub cloud_name: String,
    /// `https://management.{domain}:{port}/`
    pub management_url: String,
    /// `https://login.{domain}:{port}`
    pub login_url: String,
    /// `vault.{domain}`
    pub key_vault_suffix: String,
    pub identity_header: String,
    pub admin_token: String,
}

impl SimIdentity {
    pub fn new(domain: &str, port: u16) -> Self {
        Self {
            domain: domain.to_string(),
            port,
            cloud_name: "AzdeckSimulated".into(),
            management_url: format!("https://management.{domain}:{port}/"),
            login_url: format!("https://login.{domain}:{port}"),
            key_vault_suffix: format!("vault.{domain}"),
            identity_header: random_token(24),
            admin_token: random_token(32),
        }
    }

    /// Audiences ARM accepts in a token (with and without the trailing slash).
    pub fn arm_audiences(&self) -> Vec<String> {
        vec![self.management_url.trim_end_matches('/').to_string()]
    }

    pub fn host_role<'a>(&self, host: &'a str) -> HostRole<'a> {
        let host = host.trim_end_matches('.');
        let Some(prefix) = host
            .strip_suffix(&self.domain)
            .and_then(|p| p.strip_suffix('.'))
        else {
            return HostRole::Unknown;
        };
        match prefix {
            "login" => HostRole::Login,
            "management" => HostRole::Management,
            p => match p.strip_suffix(".vault") {
                Some(vault) if !vault.is_empty() && !vault.contains('.') => HostRole::Vault(vault),
                _ => HostRole::Unknown,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum HostRole<'a> {
    Login,
    Management,
    Vault(&'a str),
    Unknown,
}

pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The running simulator's shared state.
pub struct Sim {
    pub state: Mutex<State>,
    pub faults: Mutex<Faults>,
    pub log: Mutex<RequestLog>,
    pub throttle: Mutex<arm::throttle::Throttle>,
    pub signer: TokenSigner,
    pub identity: SimIdentity,
    /// The world as loaded at start, for `/_sim/reset`.
    pub world: world::WorldFile,
    pub settings_override: Option<Settings>,
    /// Set when state changed since it was last written to the state directory.
    pub dirty: AtomicBool,
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub domain: String,
    /// `default`, `large`, `large:SxR`, `empty`, or a YAML file.
    pub world: String,
    /// Keep state (and the CA, env file, token file) here across restarts.
    pub state_dir: Option<PathBuf>,
    /// Also write the environment file here.
    pub env_out: Option<PathBuf>,
    /// Replace the world's behaviour settings (e.g. `Settings::fast()` for tests).
    pub settings: Option<Settings>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            domain: DEFAULT_DOMAIN.into(),
            world: "default".into(),
            state_dir: None,
            env_out: None,
            settings: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    World(#[from] world::WorldError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Persist(#[from] persist::PersistError),
    #[error("fault rule in the world file: {0}")]
    Fault(#[from] faults::FaultError),
}

/// A started simulator. Dropping it does not stop it: call `shutdown`.
pub struct SimHandle {
    pub env: SimEnvironment,
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    pub env_file: PathBuf,
    /// A temporary folder for the CA and token files, removed at shutdown (no `--state-dir`).
    temp_dir: Option<PathBuf>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// Stops accepting connections, writes state (if kept) and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Starts the simulator: loads the world (or the kept state), generates certificates, binds the
/// listener and writes the environment file.
pub async fn start(options: SimOptions) -> Result<SimHandle, SimError> {
    let world = world::resolve(&options.world, &options.domain)?;
    let addr = SocketAddr::new(options.bind, options.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let identity = SimIdentity::new(&options.domain, local.port());

    let files_dir = match &options.state_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "azdeck-sim-{}-{}",
            std::process::id(),
            local.port()
        )),
    };
    std::fs::create_dir_all(&files_dir).map_err(|source| SimError::Write {
        path: files_dir.clone(),
        source,
    })?;

    let mut state = State::default();
    let restored = match &options.state_dir {
        Some(dir) => persist::load(dir)?,
        None => None,
    };
    match restored {
        Some(saved) => saved.into_state(&mut state),
        None => world::load_into(&mut state, &world, &options.domain)?,
    }
    if let Some(s) = &options.settings {
        state.settings = s.clone();
    }
    let mut faults = Faults::default();
    for rule in &world.faults {
        faults.add(rule.clone())?;
    }

    let mut extra_hosts = world.environment_domains(&options.domain);
    extra_hosts.iter_mut().for_each(|d| *d = format!("*.{d}"));
    let tls = tls::generate_with(&options.domain, &extra_hosts)?;
    let ca_file = files_dir.join("ca.pem");
    write(&ca_file, tls.ca_pem.as_bytes())?;

    let signer = TokenSigner::random();
    let sim = Arc::new(Sim {
        state: Mutex::new(state),
        faults: Mutex::new(faults),
        log: Mutex::new(RequestLog::default()),
        throttle: Mutex::new(arm::throttle::Throttle::default()),
        signer,
        identity: identity.clone(),
        world,
        settings_override: options.settings.clone(),
        dirty: AtomicBool::new(false),
    });

    let federated_token_file = files_dir.join("federated-token.jwt");
    write(&federated_token_file, federated_assertion(&sim).as_bytes())?;
    let env = environment(&sim, local, ca_file, federated_token_file, &extra_hosts);
    let env_file = options
        .env_out
        .clone()
        .unwrap_or_else(|| files_dir.join("env.json"));
    let env_json = serde_json::to_string_pretty(&env).unwrap_or_default();
    write(&env_file, env_json.as_bytes())?;
    if options.env_out.is_some() && options.state_dir.is_some() {
        write(&files_dir.join("env.json"), env_json.as_bytes())?;
    }

    let (tx, rx) = tokio::sync::watch::channel(false);
    let server_sim = sim.clone();
    let state_dir = options.state_dir.clone();
    let task = tokio::spawn(async move {
        server::serve(server_sim, listener, tls.server_config, rx, state_dir).await;
    });
    tracing::info!(addr = %local, world = %sim.world.name, "simulated Azure listening");
    Ok(SimHandle {
        env,
        addr: local,
        sim,
        env_file,
        temp_dir: options.state_dir.is_none().then(|| files_dir.clone()),
        shutdown: tx,
        task,
    })
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::write(path, bytes).map_err(|source| SimError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A workload-identity assertion for the first principal's first federated credential, as a
/// Kubernetes service account token would be: what `AZURE_FEDERATED_TOKEN_FILE` points to.
fn federated_assertion(sim: &Sim) -> String {
    let state = sim.state.lock();
    let Some((principal, cred)) = state
        .principals
        .iter()
        .find_map(|p| p.federated.first().map(|f| (p, f)))
    else {
        return String::new();
    };
    let now = state.now().timestamp();
    // Signed with the simulator's key; Entra (simulated or real) checks the claims, not our key.
    let claims = token::Claims {
        aud: cred.audience.clone(),
        iss: cred.issuer.clone(),
        iat: now,
        nbf: now,
        exp: now + 30 * 24 * 3600,
        tid: state.tenant_id().to_string(),
        oid: principal.object_id.clone(),
        sub: cred.subject.clone(),
        appid: principal.client_id.clone(),
        idtyp: None,
        ver: "2.0".into(),
    };
    sim.signer.sign(&claims)
}

fn environment(
    sim: &Sim,
    local: SocketAddr,
    ca_file: PathBuf,
    federated_token_file: PathBuf,
    extra_hosts: &[String],
) -> SimEnvironment {
    let id = &sim.identity;
    let state = sim.state.lock();
    let principal = state.principals.first();
    let mut hosts = tls::served_hosts(&id.domain);
    hosts.extend(extra_hosts.iter().cloned());
    SimEnvironment {
        cloud_name: id.cloud_name.clone(),
        world: sim.world.name.clone(),
        tenant_id: state.tenant_id().to_string(),
        tenant_domain: state
            .tenant
            .as_ref()
            .map(|t| t.domain.clone())
            .unwrap_or_default(),
        subscriptions: state
            .subscriptions
            .values()
            .map(|s| SimSubscription {
                id: s.id.clone(),
                name: s.display_name.clone(),
            })
            .collect(),
        endpoints: SimEndpoints {
            resource_manager: id.management_url.clone(),
            active_directory: id.login_url.clone(),
            resource_manager_audience: id.management_url.clone(),
            key_vault_dns_suffix: id.key_vault_suffix.clone(),
            metadata: format!(
                "{}metadata/endpoints?api-version=2022-09-01",
                id.management_url
            ),
        },
        ca_file,
        listen: local.to_string(),
        hosts,
        service_principal: SimServicePrincipal {
            client_id: principal.map(|p| p.client_id.clone()).unwrap_or_default(),
            client_secret: principal.and_then(|p| p.secret.clone()).unwrap_or_default(),
            object_id: principal.map(|p| p.object_id.clone()).unwrap_or_default(),
            display_name: principal
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
        },
        federated_token_file,
        identity_endpoint: format!("{}/msi/token", id.login_url),
        identity_header: id.identity_header.clone(),
        admin_token: id.admin_token.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_roles() {
        let id = SimIdentity::new("azdeck.localhost", 8443);
        assert_eq!(id.host_role("login.azdeck.localhost"), HostRole::Login);
        assert_eq!(
            id.host_role("management.azdeck.localhost"),
            HostRole::Management
        );
        assert_eq!(
            id.host_role("kv-1.vault.azdeck.localhost"),
            HostRole::Vault("kv-1")
        );
        assert_eq!(
            id.host_role("a.b.vault.azdeck.localhost"),
            HostRole::Unknown
        );
        assert_eq!(id.host_role("vault.azdeck.localhost"), HostRole::Unknown);
        assert_eq!(id.host_role("evil.com"), HostRole::Unknown);
    }
}
