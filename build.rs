//! Embeds the built-in runbooks (`runbooks/*.yaml`, `runbooks/*.yml`) into the binary: writes
//! `$OUT_DIR/embedded_runbooks.rs`, a slice of `(file name, include_str!(absolute path))`, which
//! `src/runbook/loader.rs` includes. An empty or missing folder gives an empty slice. Also makes
//! a new migration rebuild the store.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    // A directory here makes cargo re-run the script when any file under it changes (added,
    // removed or edited), so new runbooks are picked up without touching build.rs.
    println!("cargo:rerun-if-changed=runbooks");
    // The store embeds `migrations/` with `sqlx::migrate!()`; a new file must rebuild it.
    println!("cargo:rerun-if-changed=migrations");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("embedded_runbooks.rs");
    let files = runbook_files(&manifest_dir.join("runbooks"))?;
    let mut code = String::from("&[\n");
    for (name, path) in files {
        // `{:?}` of a str is a valid Rust string literal (quotes and escapes included).
        writeln!(code, "    ({name:?}, include_str!({path:?})),")?;
    }
    code.push(']');
    std::fs::write(out, code)?;
    Ok(())
}

/// The runbook files of `dir` by file name, sorted; none when the folder is missing.
fn runbook_files(dir: &Path) -> Result<Vec<(String, String)>, Box<dyn Error>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display()).into()),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !is_yaml || !path.is_file() {
            continue;
        }
        let (Some(name), Some(full)) = (path.file_name().and_then(|n| n.to_str()), path.to_str())
        else {
            println!(
                "cargo:warning=skipping runbook with a non-UTF-8 path: {}",
                path.display()
            );
            continue;
        };
        // Editors' lock and swap files (`.#x.yaml`) are not runbooks.
        if name.starts_with('.') {
            continue;
        }
        files.push((name.to_string(), full.to_string()));
    }
    files.sort();
    Ok(files)
}
