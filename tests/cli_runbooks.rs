//! `azdeck runbooks list | show | lint | schema | actions` as a user runs them: the real binary,
//! a private config folder, fixtures from `tests/runbooks/`, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runbooks")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

/// A config folder of its own, so the user's runbooks never leak in.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn azdeck(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_azdeck"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("AZDECK_CONFIG")
            .env("XDG_CONFIG_HOME", self.dir.path())
            .output()
            .unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
fn json_out(out: &Output) -> Value {
    assert_exit(out, 0);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The diagnostic line of `file` with `[code]`, asserting it is at `line`.
#[track_caller]
fn assert_diagnostic(text: &str, file: &str, line: usize, code: &str) {
    let tag = format!("[{code}]");
    let found: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(file) && l.ends_with(&tag))
        .collect();
    assert!(!found.is_empty(), "no {tag} for {file} in:\n{text}");
    let prefix = format!("{file}:{line}:");
    assert!(
        found.iter().any(|l| l.starts_with(&prefix)),
        "{tag} of {file} expected at line {line}:\n{text}"
    );
}

#[test]
fn schema_is_the_format_as_json_schema() {
    let schema = json_out(&Home::new().azdeck(&["runbooks", "schema"]));
    assert!(schema["$schema"].as_str().is_some(), "{schema}");
    assert!(schema["properties"]["steps"].is_object(), "{schema}");
    assert!(schema["properties"]["apiVersion"].is_object(), "{schema}");
}

#[test]
fn a_good_runbook_lints_clean() {
    let out = Home::new().azdeck(&["runbooks", "lint", &fixture("good.yaml")]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "1 runbook checked: 0 errors, 0 warnings\n");
}

#[test]
fn malformed_runbooks_are_reported_at_their_line() {
    let cases = [
        ("bad-syntax.yaml", 6, "yaml"),
        ("bad-unknown-field.yaml", 8, "schema"),
        ("bad-unknown-action.yaml", 6, "unknown-action"),
        ("bad-unknown-param.yaml", 9, "unknown-reference"),
        ("bad-later-step.yaml", 7, "forward-reference"),
        ("bad-output-field.yaml", 10, "unknown-reference"),
        ("bad-duplicate-id.yaml", 8, "duplicate-id"),
    ];
    let home = Home::new();
    for (file, line, code) in cases {
        let path = fixture(file);
        let out = home.azdeck(&["runbooks", "lint", &path]);
        assert_exit(&out, 3);
        assert_diagnostic(&stdout(&out), &path, line, code);
    }

    // All at once, as JSON: one result per file, the exit code of the worst.
    let paths: Vec<String> = cases.iter().map(|(f, _, _)| fixture(f)).collect();
    let mut args = vec!["runbooks", "lint", "-o", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = home.azdeck(&args);
    assert_exit(&out, 3);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked"], cases.len());
    let diags = report["diagnostics"].as_array().unwrap();
    for (file, line, code) in cases {
        assert!(
            diags.iter().any(|d| d["file"] == fixture(file)
                && d["line"] == line
                && d["code"] == code
                && d["severity"] == "error"),
            "{file}: {report:#}"
        );
    }
}

#[test]
fn a_mutating_step_needs_a_confirm_before_it() {
    let home = Home::new();
    let actions = json_out(&home.azdeck(&["runbooks", "actions", "-o", "json"]));
    let mutating = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["mutates"] == true)
        .and_then(|a| a["name"].as_str())
        .map(str::to_string);
    let text = std::fs::read_to_string(fixtures().join("bad-unconfirmed.yaml")).unwrap();
    match mutating {
        Some(action) => {
            // Whatever mutating action the registry holds, in the fixture's step.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bad-unconfirmed.yaml");
            std::fs::write(
                &path,
                text.replace("containerapp.revision.restart", &action),
            )
            .unwrap();
            let path = path.display().to_string();
            let out = home.azdeck(&["runbooks", "lint", &path]);
            assert_exit(&out, 3);
            assert_diagnostic(&stdout(&out), &path, 8, "unconfirmed-mutation");
            assert_diagnostic(&stdout(&out), &path, 8, "no-rollback");
        }
        None => {
            // No mutating action is registered yet: the step's action is then unknown, at the
            // same line (the linter's unit tests cover the rule with a stand-in action).
            eprintln!("note: no mutating action registered; checking the unknown-action path");
            let path = fixture("bad-unconfirmed.yaml");
            let out = home.azdeck(&["runbooks", "lint", &path]);
            assert_exit(&out, 3);
            assert_diagnostic(&stdout(&out), &path, 8, "unknown-action");
        }
    }
}

#[test]
fn garbage_files_are_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let files: [(&str, &[u8]); 5] = [
        ("empty.yaml", b""),
        ("list.yaml", b"- a\n- b\n"),
        ("binary.yaml", &[0, 159, 146, 150, 0xff]),
        ("control.yaml", b"\x01\x02: \x1b[31m\n"),
        ("deep.yaml", deep.as_bytes()),
    ];
    let mut args = vec!["runbooks".to_string(), "lint".to_string()];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        args.push(path.display().to_string());
    }
    args.push(dir.path().join("missing.yaml").display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = Home::new().azdeck(&args);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.ends_with("6 runbooks checked: 6 errors, 0 warnings\n"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "control characters reach the terminal: {text:?}"
    );
}

/// A runbook folder holding the good fixture and a broken file.
fn user_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("good.yaml"), dir.path().join("good.yaml")).unwrap();
    std::fs::write(dir.path().join("broken.yml"), "steps: [\n").unwrap();
    dir
}

#[test]
fn list_shows_user_runbooks_and_broken_files_with_their_error() {
    let home = Home::new();
    let dir = user_dir();
    let dir_arg = dir.path().display().to_string();

    let out = home.azdeck(&["runbooks", "list", "--runbooks", &dir_arg]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("NAME"), "{text}");
    let good = text.lines().find(|l| l.starts_with("good ")).unwrap();
    assert!(good.contains("Greets, asks, waits and checks"), "{good}");
    assert!(good.contains("test,demo"), "{good}");
    assert!(good.contains("Microsoft.App/containerApps"), "{good}");
    let broken = text.lines().find(|l| l.starts_with("broken ")).unwrap();
    assert!(broken.contains("INVALID: line 2"), "{broken}");

    // `--runbooks` before the subcommand too; JSON has the error as a field.
    let items = json_out(&home.azdeck(&["runbooks", "--runbooks", &dir_arg, "list", "-o", "json"]));
    let find = |name: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {items:#}"))
    };
    let good = find("good");
    assert_eq!(good["source"], "file");
    assert_eq!(good["error"], Value::Null);
    assert_eq!(good["tags"], serde_json::json!(["test", "demo"]));
    let broken = find("broken");
    assert!(
        broken["error"].as_str().unwrap().contains("line 2"),
        "{broken}"
    );
}

#[test]
fn the_config_folder_is_read_and_runbooks_dir_overrides_it() {
    let home = Home::new();
    let own = home.dir.path().join("azdeck-config").join("runbooks");
    std::fs::create_dir_all(&own).unwrap();
    let retitled = std::fs::read_to_string(fixtures().join("good.yaml"))
        .unwrap()
        .replace("Greets, asks, waits and checks", "Mine");
    std::fs::write(own.join("good.yaml"), retitled).unwrap();
    // The config file's folder is the default runbook folder.
    let config = home.dir.path().join("azdeck-config").join("config.toml");
    let azdeck = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_azdeck"))
            .arg("--config")
            .arg(&config)
            .args(["runbooks", "list", "-o", "json"])
            .args(extra)
            .env_remove("AZDECK_CONFIG")
            .output()
            .unwrap()
    };
    let title_of_good = |items: &Value| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "good")
            .map(|i| (i["title"].clone(), i["overrides"].clone()))
    };
    let items = json_out(&azdeck(&[]));
    assert_eq!(title_of_good(&items).unwrap().0, "Mine");

    let dir = user_dir();
    let items = json_out(&azdeck(&["--runbooks", &dir.path().display().to_string()]));
    let (title, overrides) = title_of_good(&items).unwrap();
    assert_eq!(title, "Greets, asks, waits and checks");
    assert_eq!(
        overrides,
        serde_json::json!([own.join("good.yaml").display().to_string()])
    );
}

#[test]
fn show_explains_parameters_and_steps() {
    let home = Home::new();
    let dir = user_dir();
    let dir_arg = dir.path().display().to_string();
    let out = home.azdeck(&["runbooks", "show", "good", "--runbooks", &dir_arg]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for needle in [
        "good — Greets, asks, waits and checks",
        "Exercises the control actions only",
        "NAME   TYPE",
        "app    resource (Microsoft.App/containerApps)  yes",
        "pause  duration",
        "5s",
        "1. Say what is about to happen (hello)",
        "action     log (reads only)",
        "why        Tells the operator which app and environment the run targets.",
        "runs when  {{ steps.ok.outputs.confirmed }}",
        "timeout    1m",
        "undo with  log",
        "4. check",
        "on failure retry 2 times, then go on with the next step",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }

    let shown = json_out(&home.azdeck(&["runbooks", "show", &fixture("good.yaml"), "-o", "json"]));
    assert_eq!(shown["runbook"]["metadata"]["name"], "good");
    assert_eq!(shown["actions"][1]["action"], "confirm");
    assert_eq!(shown["actions"][1]["mutates"], false);

    // A broken runbook, or a name nobody knows: invalid input.
    let out = home.azdeck(&["runbooks", "show", "broken", "--runbooks", &dir_arg]);
    assert_exit(&out, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.yml"));
    let out = home.azdeck(&["runbooks", "show", "nope", "--runbooks", &dir_arg]);
    assert_exit(&out, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runbook named \"nope\""));
}

#[test]
fn lint_by_name_and_of_the_whole_catalog() {
    let home = Home::new();
    let dir = user_dir();
    let dir_arg = dir.path().display().to_string();
    let out = home.azdeck(&["runbooks", "lint", "good", "--runbooks", &dir_arg]);
    assert_exit(&out, 0);
    // Every runbook when none is named: the broken one fails the lint.
    let out = home.azdeck(&["runbooks", "lint", "--runbooks", &dir_arg]);
    assert_exit(&out, 3);
    let broken = dir.path().join("broken.yml").display().to_string();
    assert_diagnostic(&stdout(&out), &broken, 2, "yaml");
    let out = home.azdeck(&[
        "runbooks",
        "lint",
        "--runbooks",
        "/nonexistent/azdeck-runbooks",
    ]);
    assert_exit(&out, 3);
}

#[test]
fn actions_lists_the_registry() {
    let home = Home::new();
    let out = home.azdeck(&["runbooks", "actions"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("confirm ") && l.contains(" no ")),
        "{text}"
    );
    let actions = json_out(&home.azdeck(&["runbooks", "actions", "-o", "json"]));
    let log = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "log")
        .unwrap();
    assert!(log["input"]["properties"]["message"].is_object(), "{log}");
    assert!(log["output"]["properties"].is_object(), "{log}");
}
