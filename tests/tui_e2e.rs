//! The TUI end to end: the real `azdeck` binary on a pseudo-terminal (160×45), its output fed to a
//! terminal emulator (vt100) and read back as a screen, keys typed into the terminal. The Azure
//! behind it is the simulator: `azdeck demo` starts its own, `azdeck ui` is pointed at one this
//! test starts. What the screen claims is checked against the simulator's API and request log.

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use azdeck::model::SimEnvironment;
use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};
use serde_json::Value;
use support::simulator::{client_for, status_json, token_for, TestSim};

const ROWS: u16 = 45;
const COLS: u16 = 160;
/// Generous: a loaded 2-core CI machine may take a while to draw what normally takes 100 ms.
const TIMEOUT: Duration = Duration::from_secs(20);

const ESC: &str = "\x1b";
const ENTER: &str = "\r";
const BACKSPACE: &str = "\x7f";
const DOWN: &str = "\x1b[B";

/// The binary running on a pseudo-terminal, its screen as a terminal would show it.
struct Tui {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything the program wrote, byte for byte (to check how it leaves the terminal).
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    reader: Option<JoinHandle<()>>,
    log_file: PathBuf,
    _master: Box<dyn MasterPty + Send>,
}

impl Tui {
    /// Starts `azdeck args` with a clean environment: `home` is HOME, and the XDG and temp
    /// directories are inside it, so nothing of the user's is read or written.
    fn spawn(args: &[&str], home: &Path, extra_env: &[(&str, &str)]) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_azdeck"));
        cmd.args(args);
        cmd.cwd(home);
        cmd.env_clear();
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp dir");
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", home);
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        cmd.env("XDG_STATE_HOME", home.join("state"));
        cmd.env("TMPDIR", &tmp);
        cmd.env("TERM", "xterm-256color");
        cmd.env("AZDECK_LOG_FILE", home.join("azdeck.log"));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("azdeck starts");
        // Only the child holds the terminal's other end now: reads end when it exits.
        drop(pair.slave);

        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            ROWS.try_into().unwrap(),
            COLS.try_into().unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut out = pair.master.try_clone_reader().expect("pty reader");
        let reader = {
            let parser = parser.clone();
            let raw = raw.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match out.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            parser.lock().unwrap().process(&buf[..n]);
                            raw.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    }
                }
            })
        };
        let writer = pair.master.take_writer().expect("pty writer");
        Tui {
            parser,
            raw,
            writer,
            child,
            reader: Some(reader),
            log_file: home.join("azdeck.log"),
            _master: pair.master,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn rows(&self) -> Vec<String> {
        self.parser.lock().unwrap().screen().rows(0, COLS).collect()
    }

    /// Types `keys` (one write, so an escape sequence arrives whole).
    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("typed");
        self.writer.flush().expect("flushed");
    }

    /// Polls the screen until `ok` holds; fails with `what` and the last screen.
    fn wait_until(&mut self, what: &str, ok: impl Fn(&Tui) -> bool) {
        let start = Instant::now();
        loop {
            if ok(self) {
                return;
            }
            if start.elapsed() > TIMEOUT {
                panic!(
                    "waited {TIMEOUT:?} for {what}; the screen:\n{}\n{}",
                    self.screen(),
                    self.log_tail()
                );
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The last output may still be on its way to the parser.
                std::thread::sleep(Duration::from_millis(200));
                if ok(self) {
                    return;
                }
                panic!(
                    "azdeck exited ({status:?}) while waiting for {what}; the screen:\n{}\n{}",
                    self.screen(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn wait_for(&mut self, text: &str) {
        self.wait_until(&format!("{text:?} on screen"), |t| {
            t.screen().contains(text)
        });
    }

    /// The table row whose first column is `name` (not a title that mentions it).
    fn row_of(&self, name: &str) -> Option<String> {
        self.rows()
            .into_iter()
            .find(|r| r.starts_with('│') && words(r).iter().find(|w| **w != "▶") == Some(&name))
    }

    /// The body's row drawn in the selection style: most of its text has a background colour
    /// (or is inverse) where other rows have only their badge coloured. The header, tabs and
    /// status bar (coloured rows of their own) are not looked at.
    fn selected_row(&self) -> Option<String> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let rows: Vec<String> = screen.rows(0, COLS).collect();
        (2..ROWS - 1)
            .find(|&y| {
                let (mut text, mut marked) = (0, 0);
                for x in 1..COLS - 1 {
                    let Some(c) = screen.cell(y, x) else { continue };
                    let s = c.contents();
                    if s.trim().is_empty() || "│─┌┐└┘".contains(s) {
                        continue;
                    }
                    text += 1;
                    if c.inverse() || c.bgcolor() != vt100::Color::Default {
                        marked += 1;
                    }
                }
                text > 0 && marked * 10 >= text * 8
            })
            .map(|y| rows[y as usize].clone())
    }

    /// The end of azdeck's own log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "azdeck.log (end):\n{}",
            lines[lines.len().saturating_sub(15)..].join("\n")
        )
    }

    /// Waits for the process to end; returns its exit code.
    fn wait_exit(&mut self, within: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                // Its end of the terminal is closed: the reader gets the last output and stops.
                let drained = Instant::now();
                while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
                    assert!(
                        drained.elapsed() < Duration::from_secs(10),
                        "the terminal's output never ended"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                return status.exit_code();
            }
            if start.elapsed() > within {
                panic!(
                    "azdeck did not exit within {within:?}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whitespace-separated words of a screen row, borders stripped.
fn words(row: &str) -> Vec<&str> {
    row.split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty())
        .collect()
}

/// The row of exactly `dagster-webserver` (not `dagster-webserver-dr`).
fn is_webserver_row(row: &str) -> bool {
    words(row).contains(&"dagster-webserver")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The app as ARM returns it, read with the environment's service principal at the URL (and
/// api-version) azdeck's own client uses.
async fn read_app(env: &SimEnvironment, app_id: &str) -> Value {
    let addr: SocketAddr = env.listen.parse().expect("listen is IP:port");
    let client = client_for(env, addr, &[]);
    let scope = format!("{}.default", env.endpoints.resource_manager);
    let token = token_for(&client, env, &scope).await;
    let url = format!(
        "{}{}",
        env.endpoints.resource_manager,
        azdeck::azure::containerapps::app_url(app_id, "").expect("an app id")
    );
    let resp = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET app");
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn prod_sub(env: &SimEnvironment) -> String {
    env.subscriptions
        .iter()
        .find(|s| s.name == "platform-prod")
        .expect("platform-prod subscription")
        .id
        .clone()
}

/// The incident drill of the demo: find the unhealthy app, roll it back in the protected
/// environment (typing its name, a wrong one first), and see the traffic move in Azure.
#[test]
fn demo_rolls_back_the_unhealthy_app_in_the_protected_environment() {
    let started = Instant::now();
    let home = tempfile::tempdir().expect("temp dir");
    let env_file: PathBuf = home.path().join("env.json");
    let env_arg = env_file.to_str().expect("utf-8 path").to_string();
    let mut tui = Tui::spawn(&["demo", "--fast", "--env-out", &env_arg], home.path(), &[]);

    // 1. The protected environment, and the inventory with its health badges.
    tui.wait_until("the header of prod, PROTECTED", |t| {
        t.rows()[0].contains("prod") && t.rows()[0].contains("PROTECTED")
    });
    tui.wait_until("dagster-webserver with its UNHEALTHY badge", |t| {
        t.rows()
            .iter()
            .any(|r| is_webserver_row(r) && r.contains("UNHEALTHY"))
    });
    // The vault's badge comes through the Key Vault data plane (challenge, token, list):
    // `newsapi-api-key` expires in 5 days in the demo world.
    tui.wait_until("kv-platform-prod with its EXPIRING badge", |t| {
        t.rows()
            .iter()
            .any(|r| r.contains("kv-platform-prod") && r.contains("EXPIRING"))
    });

    // 2. Filter, keep the filter, select the app's row, open its revisions.
    tui.send("/");
    tui.wait_for("· /▏");
    tui.send("dagster-webserver");
    tui.wait_for("/dagster-webserver▏");
    tui.send(ENTER);
    tui.wait_until("the filter kept (no cursor), its rows", |t| {
        let s = t.screen();
        s.contains("/dagster-webserver ·") && !s.contains("▏")
    });
    // Both dagster-webserver and dagster-webserver-dr match: walk down to the first.
    for _ in 0..5 {
        let selected = tui.selected_row().unwrap_or_default();
        if is_webserver_row(&selected) {
            break;
        }
        tui.send(DOWN);
        // A whole new row in the selection style (not a frame half drawn).
        tui.wait_until("the selection to move", |t| {
            t.selected_row().is_some_and(|r| r != selected)
        });
    }
    let selected = tui.selected_row().unwrap_or_default();
    assert!(
        is_webserver_row(&selected) && selected.contains("UNHEALTHY"),
        "selected: {selected:?}\n{}",
        tui.screen()
    );
    tui.send(ENTER);
    tui.wait_until("the revisions of dagster-webserver, v43 unhealthy", |t| {
        t.row_of("dagster-webserver--v43")
            .is_some_and(|r| r.contains("Unhealthy") && r.contains("100%"))
    });
    assert!(tui.screen().contains("Multiple revision mode"));

    // 3. Roll back: the plan first, then the protected environment's confirmation.
    tui.send("r");
    tui.wait_for("Plan of containerapp-rollback");
    tui.wait_for("nothing was changed yet");
    let plan = tui.screen();
    assert!(
        plan.contains("PATCH /subscriptions/") && plan.contains("rg-platform-prod"),
        "the plan shows the exact call: {plan}"
    );
    assert!(
        plan.contains("dagster-webserver--v42 trafficWeight: 0 → 100"),
        "{plan}"
    );
    assert!(plan.contains("dagster-webserver--v42"), "{plan}");
    tui.send(ENTER);
    tui.wait_for("CONFIRM IN PROTECTED ENVIRONMENT prod");
    tui.send("dev");
    tui.wait_for("> dev▏");
    tui.send(ENTER);
    tui.wait_for("that is not the environment's name");
    assert!(tui
        .screen()
        .contains("CONFIRM IN PROTECTED ENVIRONMENT prod"));
    tui.send(&BACKSPACE.repeat(3));
    tui.wait_until("the typed name cleared", |t| {
        let s = t.screen();
        s.contains("> ▏") && !s.contains("that is not the environment's name")
    });
    tui.send("prod");
    tui.wait_for("> prod▏");
    tui.send(ENTER);

    // 4. The run succeeds, and Azure says so: all traffic on v42.
    tui.wait_until("the run's success in its progress window", |t| {
        let s = t.screen();
        s.contains("Running containerapp-rollback") && s.contains("✓ succeeded (exit 0)")
    });
    assert!(
        !tui.screen().contains("CONFIRM IN PROTECTED"),
        "{}",
        tui.screen()
    );
    let env = SimEnvironment::load(&env_file).expect("the demo's environment file");
    let app_id = format!(
        "/subscriptions/{}/resourceGroups/rg-platform-prod/providers/Microsoft.App/containerApps/dagster-webserver",
        prod_sub(&env)
    );
    let app = runtime().block_on(read_app(&env, &app_id));
    let traffic = app["properties"]["configuration"]["ingress"]["traffic"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let weight = |name: &str| -> i64 {
        traffic
            .iter()
            .filter(|t| t["revisionName"] == name)
            .filter_map(|t| t["weight"].as_i64())
            .sum()
    };
    assert_eq!(weight("dagster-webserver--v42"), 100, "{traffic:?}");
    let others: i64 = traffic
        .iter()
        .filter(|t| t["revisionName"] != "dagster-webserver--v42")
        .filter_map(|t| t["weight"].as_i64())
        .sum();
    assert_eq!(others, 0, "nothing else takes traffic: {traffic:?}");

    tui.send(ESC);
    tui.wait_until("v42 serving 100% on the Revisions screen", |t| {
        !t.screen().contains("Running containerapp-rollback")
            && t.row_of("dagster-webserver--v42")
                .is_some_and(|r| r.contains("▶") && r.contains("100%"))
            && t.row_of("dagster-webserver--v43")
                .is_some_and(|r| r.contains(" 0%"))
    });

    // 5. Quit: exit 0, the terminal as it was.
    tui.send("q");
    let code = tui.wait_exit(Duration::from_secs(10));
    let raw = tui.raw_output();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(120)..]).into_owned();
    assert_eq!(code, 0, "exit code; output ends with {tail:?}");
    let leave = b"\x1b[?1049l";
    let show = b"\x1b[?25h";
    let last_leave = raw
        .windows(leave.len())
        .rposition(|w| w == leave)
        .unwrap_or_else(|| panic!("never left the alternate screen: {tail:?}"));
    assert!(
        raw[last_leave..].ends_with(show),
        "the output ends leaving the alternate screen and showing the cursor: {tail:?}"
    );
    {
        let parser = tui.parser.lock().unwrap();
        assert!(!parser.screen().alternate_screen(), "{tail:?}");
        assert!(!parser.screen().hide_cursor(), "{tail:?}");
    }
    eprintln!("demo scenario took {:?}", started.elapsed());
}

/// Requests that could change something: any PUT/PATCH/DELETE, and POSTs other than the token
/// endpoint's and reading ones (Resource Graph queries, `list…` actions).
fn writes(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| {
            let method = r["method"].as_str().unwrap_or_default();
            let host = r["host"].as_str().unwrap_or_default();
            match method {
                "PUT" | "PATCH" | "DELETE" => true,
                "POST" => r["mutating"] == true && !host.starts_with("login."),
                _ => false,
            }
        })
        .map(|r| format!("{} {}{}", r["method"], r["host"], r["path"]))
        .collect()
}

/// `azdeck ui` on an environment configured `read_only = true`: the header says so, and the
/// rollback key is refused with the reason, sending nothing.
#[test]
fn read_only_environment_refuses_the_rollback_and_sends_nothing() {
    let started = Instant::now();
    let rt = runtime();
    let sim = rt.block_on(TestSim::start());
    let home = tempfile::tempdir().expect("temp dir");
    let (cloud, base) = azdeck::config::from_sim(sim.env());
    let environment = azdeck::config::Environment {
        cloud: "sim".into(),
        read_only: true,
        ..base
    };
    let config = home
        .path()
        .join("config")
        .join("azdeck")
        .join("config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    azdeck::config::add_environment(&config, "sim", &environment, Some(("sim", &cloud)))
        .expect("config written");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("read_only = true"),
        "the config says read_only"
    );
    let secret = sim.env().service_principal.client_secret.clone();
    let before = rt.block_on(sim.last_seq());

    let mut tui = Tui::spawn(
        &["ui"],
        home.path(),
        &[("AZURE_CLIENT_SECRET", secret.as_str())],
    );
    tui.wait_until("the header of sim, READ-ONLY", |t| {
        let header = &t.rows()[0];
        header.contains("sim") && header.contains("READ-ONLY") && !header.contains("PROTECTED")
    });
    tui.wait_until("dagster-webserver with its UNHEALTHY badge", |t| {
        t.rows()
            .iter()
            .any(|r| is_webserver_row(r) && r.contains("UNHEALTHY"))
    });

    // Filtered to one row (the dev and DR apps of the same name are in other groups).
    tui.send("/");
    tui.wait_for("· /▏");
    tui.send("dagster-webserver rg-platform-prod");
    tui.wait_for("· 1 match");
    tui.send(ENTER);
    tui.wait_until("the filter kept", |t| !t.screen().contains("▏"));
    let selected = tui.selected_row().unwrap_or_default();
    assert!(is_webserver_row(&selected), "selected: {selected:?}");
    tui.send(ENTER);
    tui.wait_until("the revisions of dagster-webserver", |t| {
        t.row_of("dagster-webserver--v43")
            .is_some_and(|r| r.contains("Unhealthy"))
    });
    // The status bar offers no mutating key, and says why.
    tui.wait_until("the status bar's read-only hint", |t| {
        t.rows()[ROWS as usize - 1].contains("read-only: changes disabled")
    });
    let hints = tui.rows()[ROWS as usize - 1].clone();
    assert!(!hints.contains("Roll back"), "{hints}");
    assert!(hints.contains("Show inactive revisions"), "{hints}");

    tui.send("r");
    tui.wait_for("rollback is disabled: environment 'sim' is read-only (read_only = true");
    // What would run and confirm a plan, had one opened; then another mutating key, whose
    // refusal shows these keys were handled too.
    tui.send(ENTER);
    tui.send("y");
    tui.send("w");
    tui.wait_for("traffic is disabled: environment 'sim' is read-only");
    let screen = tui.screen();
    assert!(!screen.contains("Plan of"), "{screen}");
    assert!(!screen.contains("Confirm"), "{screen}");
    assert!(!screen.contains("Traffic split"), "{screen}");

    tui.send("q");
    assert_eq!(tui.wait_exit(Duration::from_secs(10)), 0);
    // The process is gone: everything it sent is in the log.
    let requests = rt.block_on(sim.requests_since(before));
    assert!(
        requests.iter().any(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            r["method"] == "GET"
                && path.contains("/rg-platform-prod/")
                && path.ends_with("/containerApps/dagster-webserver/revisions")
        }),
        "the revisions were read from the simulator: {requests:?}"
    );
    let sent = writes(&requests);
    assert!(sent.is_empty(), "a read-only environment sent {sent:?}");
    rt.block_on(sim.stop());
    eprintln!("read-only scenario took {:?}", started.elapsed());
}
