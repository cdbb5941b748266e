//! `azdeck runbooks list | show | lint | schema | actions`: the runbook catalog, the linter, the
//! format's JSON Schema and the action registry. Nothing here talks to Azure.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::{exit, CliError};
use crate::config::{self, Config};
use crate::runbook::action::Registry;
use crate::runbook::lint::{self, Diagnostic};
use crate::runbook::loader::{self, Catalog, Entry, LoadOptions, Source};
use crate::runbook::model::{self, OnFailure, ParamSpec, ParamType, Runbook, Step};

#[derive(Debug, Args)]
pub struct RunbooksArgs {
    /// Also read the runbooks of this folder (repeatable); they override runbooks of the same
    /// name from the built-in set, `$XDG_CONFIG_HOME/azdeck/runbooks` and the config's
    /// `runbook_dirs`.
    #[arg(long = "runbooks", value_name = "DIR", global = true)]
    pub dirs: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: RunbooksCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum TextFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum RunbooksCommand {
    /// Every runbook: name, title, where it comes from; broken files with their error.
    List {
        #[arg(long, short, value_enum, default_value_t = TableFormat::Table)]
        output: TableFormat,
    },
    /// One runbook explained: its parameters, and what each step does and why.
    Show {
        /// A runbook name, or the path of a runbook file.
        runbook: String,
        #[arg(long, short, value_enum, default_value_t = TextFormat::Text)]
        output: TextFormat,
    },
    /// Check runbooks without running them (every runbook when none is named); exit 3 on errors.
    Lint {
        /// Runbook names or paths of runbook files.
        runbooks: Vec<String>,
        #[arg(long, short, value_enum, default_value_t = TextFormat::Text)]
        output: TextFormat,
    },
    /// The JSON Schema of the runbook format (for editors and CI).
    Schema,
    /// The actions steps can use: what they do, whether they change Azure.
    Actions {
        #[arg(long, short, value_enum, default_value_t = TableFormat::Table)]
        output: TableFormat,
    },
}

pub fn run(args: RunbooksArgs, config_path: Option<&Path>) -> Result<u8, CliError> {
    let mut out = std::io::stdout().lock();
    let registry = Registry::builtin();
    match args.command {
        RunbooksCommand::List { output } => {
            let catalog = load_catalog(&args.dirs, config_path)?;
            list(&mut out, &catalog, output)
        }
        RunbooksCommand::Show { runbook, output } => {
            let catalog = if looks_like_path(&runbook) {
                None
            } else {
                Some(load_catalog(&args.dirs, config_path)?)
            };
            let file;
            let entry = match &catalog {
                None => {
                    file = loader::load_file(Path::new(&runbook)).map_err(CliError::usage)?;
                    &file
                }
                Some(catalog) => find(catalog, &runbook)?,
            };
            show(&mut out, entry, &registry, output)
        }
        RunbooksCommand::Lint { runbooks, output } => {
            let needs_catalog = runbooks.is_empty() || runbooks.iter().any(|r| !looks_like_path(r));
            let catalog = if needs_catalog {
                Some(load_catalog(&args.dirs, config_path)?)
            } else {
                None
            };
            let mut diagnostics = Vec::new();
            let mut checked = 0;
            match &catalog {
                Some(catalog) if runbooks.is_empty() => {
                    for entry in catalog.entries() {
                        diagnostics.extend(lint::lint_entry(entry, &registry));
                        checked += 1;
                    }
                }
                _ => {
                    for name in &runbooks {
                        if looks_like_path(name) {
                            diagnostics.extend(lint::lint_file(Path::new(name), &registry));
                        } else if let Some(catalog) = &catalog {
                            diagnostics.extend(lint::lint_entry(find(catalog, name)?, &registry));
                        }
                        checked += 1;
                    }
                }
            }
            print_lint(&mut out, &diagnostics, checked, output)
        }
        RunbooksCommand::Schema => {
            let text = serde_json::to_string_pretty(&model::json_schema())
                .map_err(|e| CliError::from(anyhow::Error::from(e)))?;
            writeln!(out, "{text}").map_err(CliError::io)?;
            Ok(exit::OK)
        }
        RunbooksCommand::Actions { output } => actions(&mut out, &registry, output),
    }
}

/// A path (it has a separator or a YAML extension) rather than a catalog name.
fn looks_like_path(arg: &str) -> bool {
    arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || arg.ends_with(".yaml")
        || arg.ends_with(".yml")
}

/// The catalog: built-in runbooks, `<config dir>/runbooks`, the config's `runbook_dirs`
/// (relative ones are relative to the config file's folder) and `--runbooks`.
fn load_catalog(dirs: &[PathBuf], config_path: Option<&Path>) -> Result<Catalog, CliError> {
    let path = config::config_path(config_path).map_err(CliError::usage)?;
    let config = Config::load(&path).map_err(CliError::usage)?;
    let base = config::config_dir(config_path).map_err(CliError::usage)?;
    let options = LoadOptions {
        builtin: true,
        default_dir: Some(base.join("runbooks")),
        config_dirs: config.runbook_dirs.iter().map(|d| base.join(d)).collect(),
        extra_dirs: dirs.to_vec(),
    };
    let catalog = Catalog::load(&options).map_err(CliError::usage)?;
    for problem in catalog.problems() {
        eprintln!("azdeck: warning: {problem}");
    }
    Ok(catalog)
}

fn find<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Entry, CliError> {
    catalog.get(name).ok_or_else(|| {
        let known: Vec<&str> = catalog.names().collect();
        CliError::usage(anyhow::anyhow!(
            "no runbook named {name:?} (known: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// The parsed runbook, or its load error as a usage error naming the file.
fn parsed(entry: &Entry) -> Result<&Runbook, CliError> {
    entry.parsed.as_ref().map_err(|e| {
        CliError::usage(anyhow::anyhow!(
            "{}: {e} (see `azdeck runbooks lint`)",
            entry.source.file_name()
        ))
    })
}

fn source_label(entry: &Entry) -> String {
    let mut label = entry.source.to_string();
    if entry.overrides_builtin() {
        label.push_str(" (overrides built-in)");
    }
    label
}

fn list(out: &mut impl Write, catalog: &Catalog, output: TableFormat) -> Result<u8, CliError> {
    if output == TableFormat::Json {
        let items: Vec<Value> = catalog
            .entries()
            .iter()
            .map(|e| {
                let rb = e.runbook();
                json!({
                    "name": e.name,
                    "title": rb.map(|r| r.metadata.title.as_str()),
                    "tags": rb.map(|r| r.metadata.tags.clone()).unwrap_or_default(),
                    "appliesTo": rb.map(|r| r.metadata.applies_to.clone()).unwrap_or_default(),
                    "source": if e.source.is_builtin() { "builtin" } else { "file" },
                    "file": e.source.file_name(),
                    "overrides": e.overrides.iter().map(Source::file_name).collect::<Vec<_>>(),
                    "error": e.parsed.as_ref().err().map(ToString::to_string),
                })
            })
            .collect();
        return print_json(out, &Value::Array(items));
    }
    if catalog.entries().is_empty() {
        writeln!(
            out,
            "No runbooks. Put runbook files (.yaml) in a folder and pass --runbooks DIR."
        )
        .map_err(CliError::io)?;
        return Ok(exit::OK);
    }
    let rows = catalog
        .entries()
        .iter()
        .map(|e| match &e.parsed {
            Ok(rb) => vec![
                e.name.clone(),
                cut(&rb.metadata.title, TITLE_WIDTH),
                source_label(e),
                rb.metadata.tags.join(","),
                rb.metadata.applies_to.join(","),
            ],
            // The whole error is in `-o json` and `runbooks lint`.
            Err(err) => vec![
                e.name.clone(),
                cut(&format!("INVALID: {err}"), TITLE_WIDTH),
                source_label(e),
                String::new(),
                String::new(),
            ],
        })
        .collect();
    table(
        out,
        &["NAME", "TITLE", "SOURCE", "TAGS", "APPLIES TO"],
        rows,
    )?;
    Ok(exit::OK)
}

fn show(
    out: &mut impl Write,
    entry: &Entry,
    registry: &Registry,
    output: TextFormat,
) -> Result<u8, CliError> {
    let rb = parsed(entry)?;
    if output == TextFormat::Json {
        let steps: Vec<Value> = rb
            .steps
            .iter()
            .map(|s| {
                let spec = registry.get(&s.action).map(|a| a.spec());
                json!({
                    "id": s.id,
                    "action": s.action,
                    "known": spec.is_some(),
                    "summary": spec.as_ref().map(|a| a.summary),
                    "mutates": spec.as_ref().map(|a| a.mutates),
                    "idempotent": spec.as_ref().map(|a| a.idempotent),
                })
            })
            .collect();
        return print_json(
            out,
            &json!({
                "name": entry.name,
                "source": if entry.source.is_builtin() { "builtin" } else { "file" },
                "file": entry.source.file_name(),
                "runbook": rb,
                "actions": steps,
            }),
        );
    }
    let text = render_show(entry, rb, registry);
    out.write_all(text.as_bytes()).map_err(CliError::io)?;
    Ok(exit::OK)
}

/// `runbooks show` as text: what a newcomer reads to learn the procedure.
fn render_show(entry: &Entry, rb: &Runbook, registry: &Registry) -> String {
    let mut s = String::new();
    let m = &rb.metadata;
    s += &format!("{} — {}\n", clean(&m.name), clean(&m.title));
    s += &format!("source: {}\n", clean(&source_label(entry)));
    if !m.tags.is_empty() {
        s += &format!("tags: {}\n", clean(&m.tags.join(", ")));
    }
    if !m.applies_to.is_empty() {
        s += &format!("applies to: {}\n", clean(&m.applies_to.join(", ")));
    }
    if let Some(d) = m.description.as_deref().filter(|d| !d.trim().is_empty()) {
        s.push('\n');
        s += &indent(d.trim_end(), 2);
    }

    s += "\nParameters\n";
    if rb.params.is_empty() {
        s += "  (none)\n";
    } else {
        let rows: Vec<Vec<String>> = rb
            .params
            .iter()
            .map(|(name, p)| {
                vec![
                    name.clone(),
                    param_type(p),
                    if p.required { "yes" } else { "no" }.to_string(),
                    param_default(p),
                    p.description.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut buf = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = table(
            &mut buf,
            &["NAME", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"],
            rows,
        );
        s += &indent(&String::from_utf8_lossy(&buf), 2);
    }

    s += "\nSteps\n";
    for (i, step) in rb.steps.iter().enumerate() {
        s += &render_step(i + 1, step, registry);
    }
    s
}

fn render_step(n: usize, step: &Step, registry: &Registry) -> String {
    let mut s = String::new();
    let heading = match &step.title {
        Some(t) => format!("{} ({})", clean(t), clean(&step.id)),
        None => clean(&step.id),
    };
    s += &format!("  {n}. {heading}\n");
    let field = |name: &str, value: &str| format!("     {name:<11}{value}\n");
    match registry.get(&step.action).map(|a| a.spec()) {
        Some(spec) => {
            let effect = match (spec.mutates, spec.idempotent) {
                (true, true) => "changes Azure; safe to re-run",
                (true, false) => "changes Azure; not safe to re-run blindly",
                (false, _) => "reads only",
            };
            s += &field("action", &format!("{} ({effect})", clean(&step.action)));
            s += &field("", spec.summary);
        }
        None => {
            s += &field(
                "action",
                &format!("{} (unknown action)", clean(&step.action)),
            )
        }
    }
    if let Some(when) = &step.when {
        s += &field("runs when", &clean(when));
    }
    if let Some(t) = &step.timeout {
        s += &field("timeout", &clean(t));
    }
    if step.retries > 0 || step.on_failure != OnFailure::Abort {
        let then = match step.on_failure {
            OnFailure::Abort => "stop the run",
            OnFailure::Continue => "go on with the next step",
            OnFailure::Rollback => "undo the steps done so far, then stop",
        };
        let retries = match step.retries {
            0 => String::new(),
            1 => "retry once, then ".to_string(),
            n => format!("retry {n} times, then "),
        };
        s += &field("on failure", &format!("{retries}{then}"));
    }
    if let Some(rb) = &step.rollback {
        s += &field("undo with", &clean(&rb.action));
    }
    if let Some(explain) = step.explain.as_deref().filter(|e| !e.trim().is_empty()) {
        // The first line beside the label, the rest aligned under it.
        let body = indent(explain.trim(), 16);
        s += &format!("     {:<11}{}", "why", body.trim_start());
    }
    s.push('\n');
    s
}

fn param_type(p: &ParamSpec) -> String {
    let base = format!("{:?}", p.param_type).to_lowercase();
    match p.param_type {
        ParamType::Resource => match &p.kind {
            Some(kind) => format!("resource ({kind})"),
            None => base,
        },
        ParamType::Enum => format!("enum ({})", p.values.join("|")),
        ParamType::Integer if p.min.is_some() || p.max.is_some() => format!(
            "integer {}..{}",
            p.min.map(|n| n.to_string()).unwrap_or_default(),
            p.max.map(|n| n.to_string()).unwrap_or_default()
        ),
        _ => base,
    }
}

fn param_default(p: &ParamSpec) -> String {
    match (&p.default, p.param_type) {
        (None, _) => "-".to_string(),
        // A secret's value is never shown, even a default written in the file.
        (Some(_), ParamType::Secret) => "(set)".to_string(),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(v), _) => v.to_string(),
    }
}

fn print_lint(
    out: &mut impl Write,
    diagnostics: &[Diagnostic],
    checked: usize,
    output: TextFormat,
) -> Result<u8, CliError> {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if output == TextFormat::Json {
        print_json(
            out,
            &json!({
                "checked": checked,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics,
            }),
        )?;
    } else {
        for d in diagnostics {
            writeln!(out, "{}", clean(&d.to_string())).map_err(CliError::io)?;
        }
        writeln!(
            out,
            "{checked} runbook{} checked: {errors} error{}, {warnings} warning{}",
            plural(checked),
            plural(errors),
            plural(warnings)
        )
        .map_err(CliError::io)?;
    }
    Ok(if errors > 0 { exit::USAGE } else { exit::OK })
}

fn actions(out: &mut impl Write, registry: &Registry, output: TableFormat) -> Result<u8, CliError> {
    if output == TableFormat::Json {
        let items: Vec<Value> = registry
            .iter()
            .map(|(name, a)| {
                let spec = a.spec();
                json!({
                    "name": name,
                    "summary": spec.summary,
                    "mutates": spec.mutates,
                    "idempotent": spec.idempotent,
                    "defaultTimeoutSeconds": spec.default_timeout.as_secs(),
                    "input": a.input_schema(),
                    "output": a.output_schema(),
                })
            })
            .collect();
        return print_json(out, &Value::Array(items));
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows = registry
        .iter()
        .map(|(name, a)| {
            let spec = a.spec();
            vec![
                name.to_string(),
                yes_no(spec.mutates),
                yes_no(spec.idempotent),
                spec.summary.to_string(),
            ]
        })
        .collect();
    table(out, &["NAME", "MUTATES", "IDEMPOTENT", "SUMMARY"], rows)?;
    Ok(exit::OK)
}

fn print_json(out: &mut impl Write, value: &Value) -> Result<u8, CliError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::from(anyhow::Error::from(e)))?;
    writeln!(out, "{text}").map_err(CliError::io)?;
    Ok(exit::OK)
}

/// Left-aligned columns as wide as their widest cell; the last column is not padded.
fn table(out: &mut impl Write, headers: &[&str], rows: Vec<Vec<String>>) -> Result<(), CliError> {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                s.push_str(cell);
            } else {
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                s.push_str(cell);
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(headers.to_vec())).map_err(CliError::io)?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))
            .map_err(CliError::io)?;
    }
    Ok(())
}

/// Control characters from files never reach the terminal (newlines become spaces).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// Titles longer than this are cut in tables, so one long line does not widen every row.
const TITLE_WIDTH: usize = 60;

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| {
            if l.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{}\n", clean(l))
            }
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_clean_their_cells() {
        let mut buf = Vec::new();
        table(
            &mut buf,
            &["A", "BB"],
            vec![
                vec!["long\u{1b}[31m".into(), "x".into()],
                vec!["s".into(), "y".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "A          BB\nlong?[31m  x\ns          y\n"
        );
    }

    #[test]
    fn names_and_paths_are_told_apart() {
        assert!(!looks_like_path("containerapp-rollback"));
        for p in ["./x", "dir/x", "x.yaml", "x.yml"] {
            assert!(looks_like_path(p), "{p}");
        }
    }
}
