//! `azdeck login` / `azdeck logout` against the simulated Entra ID: the secret is checked before it
//! is stored, a wrong one is refused with Entra's message and stores nothing, logout deletes it,
//! and credential kinds that store no secret are refused (exit 3).
//!
//! The simulator serves from the runtime's workers while a test waits for azdeck (multi-thread
//! flavour). The OS keyring is shared by every test (and test run) of the user, so each test uses its own
//! environment names. Where no keyring works (a CI runner without one), the tests assert the
//! clear error instead, and say which path ran.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use azdeck::azure::secrets::{self, SecretStore};
use azdeck::config::Config;
use support::simulator::TestSim;

/// Runs azdeck with the secret (if any) piped on stdin, and no AZURE_* variables of the caller's.
fn azdeck(config: &Path, args: &[&str], stdin: Option<&str>, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_azdeck"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("AZDECK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in [
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_AUTHORITY_HOST",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("azdeck runs");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write stdin");
        }
    } // closed: EOF
    child.wait_with_output().expect("azdeck ends")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An environment name no other test or run uses.
fn unique(tag: &str) -> String {
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

struct Setup {
    sim: TestSim,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

async fn setup() -> Setup {
    let sim = TestSim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    Setup {
        sim,
        _dir: dir,
        config,
    }
}

impl Setup {
    fn add(&self, name: &str, extra: &[&str]) {
        let env_file = self.sim.handle.env_file.to_string_lossy().to_string();
        let mut args = vec!["env", "add", name, "--sim-env", &env_file];
        args.extend_from_slice(extra);
        let out = azdeck(&self.config, &args, None, &[]);
        assert!(out.status.success(), "{}", text(&out));
    }

    fn stored(&self, name: &str) -> Option<String> {
        let env = self.sim.env();
        secrets::load(name, &env.tenant_id, &env.service_principal.client_id)
            .expect("keyring readable")
            .map(|s| s.expose().to_string())
    }
}

/// Which path this machine takes: a working keyring, or the clear error.
fn keyring_works() -> bool {
    match SecretStore::os().probe() {
        Ok(backend) => {
            println!("keyring path: {backend} works here");
            true
        }
        Err(e) => {
            println!("keyring path: none available ({e}); asserting the error path");
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_the_secret_stores_it_and_logout_deletes_it() {
    let s = setup().await;
    let name = unique("sim");
    s.add(&name, &[]);
    let good = s.sim.env().service_principal.client_secret.clone();

    if !keyring_works() {
        let out = azdeck(
            &s.config,
            &["login", "--env", &name],
            Some(&format!("{good}\n")),
            &[],
        );
        assert_eq!(out.status.code(), Some(20), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no OS keyring available: "), "{err}");
        assert!(
            err.contains("set AZURE_CLIENT_SECRET for this process instead"),
            "{err}"
        );
        assert!(!text(&out).contains(&good));
        s.sim.stop().await;
        return;
    }

    // A wrong secret: Entra's refusal, exit 3, nothing stored.
    let wrong = "not-the-secret";
    let out = azdeck(
        &s.config,
        &["login", "--env", &name],
        Some(&format!("{wrong}\n")),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the secret was not stored"), "{err}");
    assert!(err.contains("AADSTS7000215"), "Entra's message: {err}");
    assert!(!text(&out).contains(wrong), "the secret is never echoed");
    assert_eq!(s.stored(&name), None);

    // The right one (CRLF line ending, as from a Windows pipe): verified, stored, readable by
    // another process (this one) and used by `secret_for`.
    let out = azdeck(
        &s.config,
        &["login", "--env", &name],
        Some(&format!("{good}\r\n")),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Entra ID accepted the secret"), "{said}");
    assert!(!text(&out).contains(&good), "the secret is never echoed");
    assert_eq!(s.stored(&name).as_deref(), Some(good.as_str()));
    let config = Config::load(&s.config).unwrap();
    let (_, env) = config.environment(Some(&name)).unwrap();
    assert_eq!(
        secrets::secret_for(&name, env).map(|s| s.expose().to_string()),
        Some(good.clone())
    );
    // Nothing of it in the config file.
    assert!(!std::fs::read_to_string(&s.config).unwrap().contains(&good));

    // A second wrong attempt leaves the working secret in place.
    let out = azdeck(
        &s.config,
        &["login", "--env", &name],
        Some("still-wrong\n"),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(s.stored(&name).as_deref(), Some(good.as_str()));

    // Logout deletes it; a second logout has nothing to delete.
    let out = azdeck(&s.config, &["logout", "--env", &name], None, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Removed the client secret"));
    assert_eq!(s.stored(&name), None);
    let out = azdeck(&s.config, &["logout", "--env", &name], None, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("No client secret was stored"));
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_from_env_and_the_default_environment() {
    let s = setup().await;
    // The first environment added is the default one: no --env needed.
    let name = unique("simenv");
    s.add(&name, &[]);
    let good = s.sim.env().service_principal.client_secret.clone();

    // --secret-from-env without the variable is an input error.
    let out = azdeck(&s.config, &["login", "--secret-from-env"], None, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AZURE_CLIENT_SECRET is not set"));
    // Nothing on stdin is an input error too.
    let out = azdeck(&s.config, &["login"], Some(""), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no secret given"));

    let out = azdeck(
        &s.config,
        &["login", "--secret-from-env"],
        None,
        &[("AZURE_CLIENT_SECRET", &good)],
    );
    if keyring_works() {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(s.stored(&name).as_deref(), Some(good.as_str()));
        let out = azdeck(&s.config, &["logout"], None, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(s.stored(&name), None);
    } else {
        assert_eq!(out.status.code(), Some(20), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no OS keyring available"));
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_without_a_secret_are_refused_with_what_they_use() {
    let s = setup().await;
    let cases = [
        ("managed-identity", "IDENTITY_ENDPOINT"),
        ("workload-identity", "AZURE_FEDERATED_TOKEN_FILE"),
        ("azure-cli", "az login"),
    ];
    for (kind, hint) in cases {
        let name = unique(kind);
        s.add(&name, &["--credential", kind]);
        let out = azdeck(
            &s.config,
            &["login", "--env", &name],
            Some("whatever\n"),
            &[],
        );
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("uses the {kind} credential")) && err.contains(hint),
            "{err}"
        );
    }
    // An unknown environment is an input error as well.
    let out = azdeck(&s.config, &["login", "--env", "nope"], Some("x\n"), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    s.sim.stop().await;
}
