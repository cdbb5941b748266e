//! `azdeck ui` (the TUI on a configured environment) and `azdeck demo` (the simulated Azure
//! started in this process, and the TUI on it: nothing to configure, nothing real to break).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::run::{open_store, StoreArgs};
use super::{exit, CliError};
use crate::azure::session::Session;
use crate::config::{self, Config, Environment};
use crate::model::SecretString;
use crate::runbook::action::Registry;
use crate::runbook::loader::{Catalog, LoadOptions};
use crate::store::Store;
use crate::tui::app::App;
use crate::tui::keymap::Keymap;
use crate::tui::theme::{detect_color_support, Theme};
use crate::tui::worker::{self, Connector, Worker};
use crate::tui::{catalog, terminal, Timing};

#[derive(Debug, Args)]
pub struct UiArgs {
    /// Environment to open (default: the configuration's default).
    #[arg(long)]
    pub env: Option<String>,
    /// Theme: dark, light, high-contrast, or a file's name in $XDG_CONFIG_HOME/azdeck/themes.
    #[arg(long)]
    pub theme: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// World to simulate: default (the seeds' platform, with incidents to practise), large, empty,
    /// or a YAML file.
    #[arg(long, default_value = "default")]
    pub world: String,
    /// Keep the simulated cloud and the demo's runs here across restarts (default: a fresh
    /// world each time, removed on exit).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Port of the simulated Azure (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Write the simulator's environment file (endpoints, CA, credentials) here, to look at the
    /// same cloud with `azdeck env add NAME --sim-env FILE` or other clients while the demo runs.
    #[arg(long)]
    pub env_out: Option<PathBuf>,
    /// Long-running operations finish in 200 ms (drills and tests).
    #[arg(long)]
    pub fast: bool,
    /// Theme: dark, light, high-contrast, or a file's name in $XDG_CONFIG_HOME/azdeck/themes.
    #[arg(long)]
    pub theme: Option<String>,
}

/// What the TUI needs, however the environments came to be.
struct Launch {
    config: Config,
    config_dir: Option<PathBuf>,
    env: Option<String>,
    theme: Option<String>,
    connector: Connector,
    store: Store,
}

fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let path = config::config_path(path).map_err(CliError::usage)?;
    Config::load(&path).map_err(CliError::usage)
}

pub async fn ui(args: UiArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let config = load_config(config_path)?;
    if config.environments.is_empty() {
        return Err(CliError::usage(anyhow::anyhow!(
            "no environments configured: `azdeck env add` one, or try `azdeck demo`"
        )));
    }
    let store = open_store(&args.store, &config).await?;
    let connector_config = config.clone();
    let connector: Connector = Arc::new(move |name: &str| {
        Session::open(&connector_config, Some(name)).map_err(|e| e.to_string())
    });
    launch(
        Launch {
            config,
            config_dir: config::config_dir(config_path).ok(),
            env: args.env,
            theme: args.theme,
            connector,
            store,
        },
        None,
    )
    .await
}

pub async fn demo(args: DemoArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    // The screen first: a large world takes a moment to build, and the user should see why.
    let timing = Timing::from_env();
    let mut screen = terminal::enter().map_err(CliError::io)?;
    splash(&mut screen.0, &args.world, &timing);
    let settings = args.fast.then(crate::sim::state::Settings::fast);
    let handle = crate::sim::start(crate::sim::SimOptions {
        bind: std::net::IpAddr::from([127, 0, 0, 1]),
        port: args.port,
        domain: crate::sim::DEFAULT_DOMAIN.to_string(),
        world: args.world.clone(),
        state_dir: args.state_dir.clone(),
        env_out: args.env_out.clone(),
        settings,
    })
    .await
    .map_err(|e| {
        CliError::usage(anyhow::Error::from(e).context("cannot start the simulated Azure"))
    })?;
    let config = demo_config(&handle.env);
    let runs_dir = handle
        .env_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let url = format!("sqlite://{}", runs_dir.join("demo-runs.sqlite").display());
    let store = Store::open(&url)
        .await
        .map_err(|e| CliError::from(anyhow::Error::from(e)))?;
    let secret = handle.env.service_principal.client_secret.clone();
    let connector_config = config.clone();
    let connector: Connector = Arc::new(move |name: &str| {
        Session::connect(
            &connector_config,
            Some(name),
            Some(SecretString::new(secret.clone())),
        )
        .map_err(|e| e.to_string())
    });
    // The user's own theme and keys still apply; their environments do not.
    let user_theme = config::config_path(config_path)
        .ok()
        .and_then(|p| Config::load(&p).ok())
        .and_then(|c| c.theme);
    let result = launch(
        Launch {
            config,
            config_dir: config::config_dir(config_path).ok(),
            env: Some("prod".into()),
            theme: args.theme.or(user_theme),
            connector,
            store,
        },
        Some(screen),
    )
    .await;
    handle.shutdown().await;
    result
}

/// Two environments over the simulated subscriptions: `prod` (protected: red, the name typed to
/// confirm) and `dev`, as a platform team would set them up.
fn demo_config(env: &crate::model::SimEnvironment) -> Config {
    let (cloud, base) = config::from_sim(env);
    let mut environments = BTreeMap::new();
    let (prod, other): (Vec<_>, Vec<_>) = env
        .subscriptions
        .iter()
        .partition(|s| s.name.contains("prod"));
    let subs = |list: &[&crate::model::SimSubscription]| -> Vec<String> {
        list.iter().map(|s| s.id.clone()).collect()
    };
    let make = |subscriptions: Vec<String>, protected: bool| Environment {
        cloud: "sim".into(),
        subscriptions,
        protected,
        ..base.clone()
    };
    if prod.is_empty() || other.is_empty() {
        // A world without the prod/dev split: one environment over everything.
        environments.insert("sim".to_string(), make(base.subscriptions.clone(), false));
    } else {
        environments.insert("prod".to_string(), make(subs(&prod), true));
        environments.insert("dev".to_string(), make(subs(&other), false));
    }
    Config {
        default_environment: Some(if environments.contains_key("prod") {
            "prod".into()
        } else {
            "sim".into()
        }),
        environments,
        clouds: BTreeMap::from([("sim".to_string(), cloud)]),
        ..Config::default()
    }
}

/// One frame while the simulated Azure starts.
fn splash(term: &mut terminal::Term, world: &str, timing: &Timing) {
    let text = format!("azdeck demo — starting the simulated Azure (world '{world}')…");
    let _ = term.draw(|frame| {
        let area = frame.area();
        let y = area.height / 2;
        frame.render_widget(
            ratatui::widgets::Paragraph::new(
                crate::tui::text::fit(&text, area.width as usize).into_owned(),
            )
            .alignment(ratatui::layout::Alignment::Center),
            ratatui::layout::Rect {
                y,
                height: 1.min(area.height),
                ..area
            },
        );
    });
    timing.mark("first_frame");
}

async fn launch(
    launch: Launch,
    screen: Option<(terminal::Term, terminal::Guard)>,
) -> Result<u8, CliError> {
    let Launch {
        config,
        config_dir,
        env,
        theme,
        connector,
        store,
    } = launch;
    let (env_name, environment) = config
        .environment(env.as_deref())
        .map(|(n, e)| (n.to_string(), e.clone()))
        .or_else(|_| {
            // The demo's worlds may not have `prod`: the default then.
            config
                .environment(None)
                .map(|(n, e)| (n.to_string(), e.clone()))
        })
        .map_err(CliError::usage)?;
    let session = connector(&env_name).map_err(|e| CliError {
        code: exit::AZURE,
        error: anyhow::anyhow!("environment {env_name}: {e}"),
    })?;
    let mut warnings = Vec::new();
    let support = detect_color_support(|k| std::env::var(k).ok());
    let theme_dir = config_dir.as_ref().map(|d| d.join("themes"));
    let theme_name = theme
        .or(environment.theme.clone())
        .or(config.theme.clone())
        .unwrap_or_else(|| "dark".into());
    let theme = match Theme::load(&theme_name, theme_dir.as_deref(), support) {
        Ok((t, w)) => {
            warnings.extend(w);
            t
        }
        Err(e) => {
            warnings.push(format!("theme: {e}; using dark"));
            Theme::default_for(support)
        }
    };
    let keys_file = config_dir.as_ref().map(|d| d.join("keys.toml"));
    let (keymap, key_warnings) = Keymap::load(keys_file.as_deref());
    warnings.extend(key_warnings.into_iter().map(|w| format!("keys.toml: {w}")));
    let catalog = Catalog::load(&LoadOptions {
        builtin: true,
        default_dir: config_dir.as_ref().map(|d| d.join("runbooks")),
        config_dirs: config.runbook_dirs.clone(),
        extra_dirs: vec![],
    })
    .map_err(CliError::usage)?;
    let registry = Registry::builtin();
    let runbooks = catalog::runbooks(&catalog, &registry);
    let actions = catalog::actions(&registry);
    let summary = worker::summary(&session);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let mut worker = Worker::new(tx, connector, session, store, catalog);
    let mut app = App::new(
        summary,
        config.environments.keys().cloned().collect(),
        keymap,
        theme,
        runbooks,
        actions,
    );
    // Every problem with the user's theme and keys at once, where they can be read.
    if !warnings.is_empty() {
        app.modals.push(crate::tui::modal::Modal::Message {
            title: "Configuration warnings (the rest applies)".into(),
            lines: warnings,
        });
    }
    let timing = Timing::from_env();
    let (mut term, guard) = match screen {
        Some(s) => s,
        None => terminal::enter().map_err(CliError::io)?,
    };
    let events = crossterm::event::EventStream::new();
    let result =
        crate::tui::run_loop(&mut term, &mut app, &mut worker, &mut rx, events, &timing).await;
    drop(guard);
    result.map_err(|e| CliError::from(anyhow::Error::from(e)))?;
    Ok(exit::OK)
}
