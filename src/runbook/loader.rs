//! Where runbooks come from: the built-in ones (the repository's `runbooks/*.yaml`, embedded at
//! build time by `build.rs`), then the user's folders — `$XDG_CONFIG_HOME/azdeck/runbooks`, the
//! config's `runbook_dirs`, and `--runbooks DIR` — each later source overriding an earlier runbook
//! of the same name. A file that cannot be read or parsed stays in the catalog with its error, so
//! one broken file never hides the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::Runbook;

/// Larger files are refused unread: a runbook is a page of YAML, not a data set.
pub const MAX_RUNBOOK_BYTES: u64 = 1024 * 1024;

/// `(file name, text)` of every built-in runbook, sorted by file name.
static EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_runbooks.rs"));

/// The built-in runbook files as `(file name, text)`.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    EMBEDDED
}

/// Where a runbook was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// Embedded in the binary; the file name under the repository's `runbooks/`.
    Builtin(String),
    File(PathBuf),
}

impl Source {
    /// The name diagnostics use: the repository path of a built-in, the path of a file.
    pub fn file_name(&self) -> String {
        match self {
            Source::Builtin(f) => format!("runbooks/{f}"),
            Source::File(p) => p.display().to_string(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        matches!(self, Source::Builtin(_))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin(_) => f.write_str("built-in"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Whether a runbook's text is not YAML at all, or YAML that is not a runbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InvalidKind {
    Syntax,
    Schema,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is {size} bytes; runbooks are limited to {MAX_RUNBOOK_BYTES}", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{} is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot list runbook folder {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not a valid runbook; `line` and `column` are 1-based.
    #[error("line {line}, column {column}: {message}")]
    Invalid {
        kind: InvalidKind,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One runbook of the catalog, parsed or not.
#[derive(Debug)]
pub struct Entry {
    /// `metadata.name`, or the file stem when the file could not be parsed.
    pub name: String,
    pub source: Source,
    /// The file's text (empty when it could not be read).
    pub text: String,
    pub parsed: Result<Runbook, LoadError>,
    /// Earlier runbooks of the same name this one hides, oldest first.
    pub overrides: Vec<Source>,
}

impl Entry {
    pub fn runbook(&self) -> Option<&Runbook> {
        self.parsed.as_ref().ok()
    }

    /// Hides a built-in runbook of the same name.
    pub fn overrides_builtin(&self) -> bool {
        self.overrides.iter().any(Source::is_builtin)
    }

    fn new(source: Source, stem: &str, text: String) -> Entry {
        let parsed = parse(&text);
        let name = match &parsed {
            Ok(rb) => rb.metadata.name.clone(),
            Err(_) => stem.to_string(),
        };
        Entry {
            name,
            source,
            text,
            parsed,
            overrides: Vec::new(),
        }
    }

    fn unreadable(path: &Path, error: LoadError) -> Entry {
        Entry {
            name: stem_of(path),
            source: Source::File(path.to_path_buf()),
            text: String::new(),
            parsed: Err(error),
            overrides: Vec::new(),
        }
    }
}

/// Which folders to read, besides the built-in runbooks.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Include the embedded runbooks (true unless a test wants only its own files).
    pub builtin: bool,
    /// `$XDG_CONFIG_HOME/azdeck/runbooks`: read when it exists.
    pub default_dir: Option<PathBuf>,
    /// The config's `runbook_dirs`: one that cannot be read is a [`Catalog::problems`] entry.
    pub config_dirs: Vec<PathBuf>,
    /// `--runbooks DIR`: the user named them just now, so one that cannot be read is an error.
    pub extra_dirs: Vec<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            builtin: true,
            default_dir: None,
            config_dirs: Vec::new(),
            extra_dirs: Vec::new(),
        }
    }
}

/// Every runbook azdeck knows, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Sorted by name; one entry per name (the winning source).
    entries: Vec<Entry>,
    problems: Vec<LoadError>,
}

impl Catalog {
    /// Reads the built-in runbooks and the folders of `options`, later sources overriding
    /// earlier ones by name. Fails only when an `extra_dirs` folder cannot be listed.
    pub fn load(options: &LoadOptions) -> Result<Catalog, LoadError> {
        let builtins = if options.builtin { EMBEDDED } else { &[] };
        Catalog::load_with(builtins, options)
    }

    fn load_with(builtins: &[(&str, &str)], options: &LoadOptions) -> Result<Catalog, LoadError> {
        let mut found: Vec<Entry> = builtins
            .iter()
            .map(|(file, text)| {
                Entry::new(
                    Source::Builtin((*file).to_string()),
                    &stem_of(Path::new(file)),
                    strip_bom(text).to_string(),
                )
            })
            .collect();
        let mut problems = Vec::new();
        if let Some(dir) = &options.default_dir {
            match dir_entries(dir) {
                Ok(entries) => found.extend(entries),
                Err(LoadError::Dir { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => problems.push(e),
            }
        }
        for dir in &options.config_dirs {
            match dir_entries(dir) {
                Ok(entries) => found.extend(entries),
                Err(e) => problems.push(e),
            }
        }
        for dir in &options.extra_dirs {
            found.extend(dir_entries(dir)?);
        }

        // Later sources win; the loser is remembered so `list` can say what is overridden.
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        for entry in found {
            match by_name.get(&entry.name) {
                Some(&i) => {
                    let old = std::mem::replace(&mut entries[i], entry);
                    entries[i].overrides = old.overrides;
                    entries[i].overrides.push(old.source);
                }
                None => {
                    by_name.insert(entry.name.clone(), entries.len());
                    entries.push(entry);
                }
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalog { entries, problems })
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every runbook, sorted by name.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Configured folders that could not be read (the catalog holds the rest).
    pub fn problems(&self) -> &[LoadError] {
        &self.problems
    }
}

/// A runbook file named directly (`azdeck runbooks lint ./x.yaml`). Errors only when the file
/// cannot be read; a parse error is in the entry's `parsed`.
pub fn load_file(path: &Path) -> Result<Entry, LoadError> {
    let text = read_runbook_file(path)?;
    Ok(Entry::new(
        Source::File(path.to_path_buf()),
        &stem_of(path),
        text,
    ))
}

/// Reads a runbook file: bounded in size, UTF-8, without a byte-order mark.
pub fn read_runbook_file(path: &Path) -> Result<String, LoadError> {
    let read_err = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read_err)?.len();
    if size > MAX_RUNBOOK_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Parses runbook text; errors carry serde_yaml's position (1-based) and say whether the text
/// was not YAML at all or not a runbook.
pub fn parse(text: &str) -> Result<Runbook, LoadError> {
    let err = match serde_yaml::from_str::<Runbook>(text) {
        Ok(rb) => return Ok(rb),
        Err(e) => e,
    };
    // serde_yaml deserialises while it parses, so a type error can come before a syntax error
    // further on: a text that is not YAML at all is reported as such, with the parser's error.
    let (kind, err) = match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(_) => (InvalidKind::Schema, err),
        Err(syntax) => (InvalidKind::Syntax, syntax),
    };
    let (line, column) = err
        .location()
        .map(|l| (l.line().max(1), l.column().max(1)))
        .unwrap_or((1, 1));
    // The position is reported separately; drop serde_yaml's copy of it from the message.
    let message = err
        .to_string()
        .replacen(&format!(" at line {line} column {column}"), "", 1);
    Err(LoadError::Invalid {
        kind,
        line,
        column,
        message,
    })
}

/// The runbook files of a folder (`.yaml`/`.yml`, not hidden), sorted by file name.
fn dir_entries(dir: &Path) -> Result<Vec<Entry>, LoadError> {
    let dir_err = |source| LoadError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for item in std::fs::read_dir(dir).map_err(dir_err)? {
        let path = item.map_err(dir_err)?.path();
        if is_runbook_file(&path) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| match read_runbook_file(&path) {
            Ok(text) => Entry::new(Source::File(path.clone()), &stem_of(&path), text),
            Err(e) => Entry::unreadable(&path, e),
        })
        .collect())
}

fn is_runbook_file(path: &Path) -> bool {
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    // Editors' lock and swap files (`.#x.yaml`) are hidden, and often dangling symlinks.
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    yaml && !hidden && path.is_file()
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runbook(name: &str, title: &str) -> String {
        format!(
            "apiVersion: azdeck/v1\nkind: Runbook\nmetadata: {{ name: {name}, title: {title} }}\n\
             steps:\n  - id: hi\n    action: log\n    with: {{ message: hi }}\n"
        )
    }

    fn only(dirs: &[&Path]) -> LoadOptions {
        LoadOptions {
            builtin: false,
            extra_dirs: dirs.iter().map(|d| d.to_path_buf()).collect(),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn embedded_runbooks_parse_and_are_named_after_their_file() {
        // Holds for zero built-ins too: the folder may be empty while they are being written.
        for (file, text) in builtin_files() {
            let rb = parse(text).unwrap_or_else(|e| panic!("runbooks/{file}: {e}"));
            assert_eq!(
                stem_of(Path::new(file)),
                rb.metadata.name,
                "runbooks/{file}"
            );
        }
        let catalog = Catalog::load(&LoadOptions::default()).unwrap();
        assert_eq!(catalog.entries().len(), builtin_files().len());
        assert!(catalog.entries().iter().all(|e| e.source.is_builtin()));
    }

    #[test]
    fn yaml_and_yml_files_are_read_and_others_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), runbook("a", "A")).unwrap();
        std::fs::write(dir.path().join("b.yml"), runbook("b", "B")).unwrap();
        std::fs::write(dir.path().join("c.txt"), runbook("c", "C")).unwrap();
        std::fs::write(dir.path().join(".d.yaml"), runbook("d", "D")).unwrap();
        std::fs::create_dir(dir.path().join("e.yaml")).unwrap();
        let catalog = Catalog::load(&only(&[dir.path()])).unwrap();
        assert_eq!(catalog.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            catalog.get("b").unwrap().runbook().unwrap().metadata.title,
            "B"
        );
    }

    #[test]
    fn a_broken_file_keeps_its_error_and_hides_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.yaml"), runbook("good", "Good")).unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "steps: [\n").unwrap();
        std::fs::write(
            dir.path().join("shape.yaml"),
            "apiVersion: azdeck/v1\nkind: Runbook\nnope: 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("binary.yaml"), [0xff, 0xfe, 0x00]).unwrap();
        let catalog = Catalog::load(&only(&[dir.path()])).unwrap();
        assert_eq!(
            catalog.names().collect::<Vec<_>>(),
            ["binary", "broken", "good", "shape"]
        );
        assert!(catalog.get("good").unwrap().runbook().is_some());
        assert!(matches!(
            catalog.get("broken").unwrap().parsed,
            Err(LoadError::Invalid {
                kind: InvalidKind::Syntax,
                ..
            })
        ));
        match &catalog.get("shape").unwrap().parsed {
            Err(LoadError::Invalid {
                kind: InvalidKind::Schema,
                line,
                message,
                ..
            }) => {
                assert_eq!(*line, 3, "{message}");
                assert!(message.contains("nope"), "{message}");
                assert!(!message.contains("at line"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            catalog.get("binary").unwrap().parsed,
            Err(LoadError::NotUtf8 { .. })
        ));
    }

    #[test]
    fn user_runbooks_override_builtins_and_earlier_folders() {
        let config = tempfile::tempdir().unwrap();
        let extra = tempfile::tempdir().unwrap();
        std::fs::write(config.path().join("x.yaml"), runbook("rollback", "Mine")).unwrap();
        std::fs::write(
            extra.path().join("rollback.yaml"),
            runbook("rollback", "Extra"),
        )
        .unwrap();
        let builtins = [
            ("rollback.yaml", runbook("rollback", "Built in")),
            ("scale.yaml", runbook("scale", "Scale")),
        ];
        let builtins: Vec<(&str, &str)> = builtins.iter().map(|(f, t)| (*f, t.as_str())).collect();
        let mut options = LoadOptions {
            default_dir: Some(config.path().to_path_buf()),
            ..LoadOptions::default()
        };
        let catalog = Catalog::load_with(&builtins, &options).unwrap();
        let rollback = catalog.get("rollback").unwrap();
        assert_eq!(rollback.runbook().unwrap().metadata.title, "Mine");
        assert_eq!(rollback.source, Source::File(config.path().join("x.yaml")));
        assert!(rollback.overrides_builtin());
        assert!(!catalog.get("scale").unwrap().overrides_builtin());

        options.extra_dirs.push(extra.path().to_path_buf());
        let catalog = Catalog::load_with(&builtins, &options).unwrap();
        let rollback = catalog.get("rollback").unwrap();
        assert_eq!(rollback.runbook().unwrap().metadata.title, "Extra");
        assert_eq!(rollback.overrides.len(), 2);
        assert!(rollback.overrides_builtin());
        assert_eq!(catalog.entries().len(), 2);
    }

    #[test]
    fn missing_folders_are_quiet_configured_or_fatal_by_origin() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let options = LoadOptions {
            builtin: false,
            default_dir: Some(missing.clone()),
            ..LoadOptions::default()
        };
        assert!(Catalog::load(&options).unwrap().problems().is_empty());

        let options = LoadOptions {
            builtin: false,
            config_dirs: vec![missing.clone()],
            ..LoadOptions::default()
        };
        let catalog = Catalog::load(&options).unwrap();
        assert!(matches!(catalog.problems(), [LoadError::Dir { .. }]));

        let err = Catalog::load(&only(&[&missing])).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn load_file_reads_one_path_and_refuses_huge_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.yml");
        std::fs::write(&path, format!("\u{feff}{}", runbook("one", "One"))).unwrap();
        let entry = load_file(&path).unwrap();
        assert_eq!(entry.name, "one");
        assert!(entry.runbook().is_some(), "a byte-order mark is tolerated");

        assert!(matches!(
            load_file(&dir.path().join("nope.yaml")),
            Err(LoadError::Read { .. })
        ));
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; MAX_RUNBOOK_BYTES as usize + 1]).unwrap();
        assert!(matches!(load_file(&big), Err(LoadError::TooLarge { .. })));
    }
}
