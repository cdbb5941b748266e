//! The command registry and the key bindings.
//!
//! One registry of commands (as in k9s and kdash): key hints, the `?` help, the command palette and
//! read-only gating are all generated from it, so a command cannot exist in one and be missing from
//! another. Bindings come from the embedded `keys.toml` with the user's file merged over it command
//! by command; a bad user entry costs a warning and that entry, never the console.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The default bindings: a file rather than code so that it doubles as the user's template.
const DEFAULT_KEYS: &str = include_str!("keys.toml");

/// Where a binding applies: everywhere, or on one screen (where it wins over a global one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Inventory,
    Revisions,
    Runbooks,
    Runs,
}

impl Context {
    /// Global first: the help lists it first.
    pub const ALL: [Context; 5] = [
        Context::Global,
        Context::Inventory,
        Context::Revisions,
        Context::Runbooks,
        Context::Runs,
    ];

    /// The TOML table name.
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Inventory => "inventory",
            Context::Revisions => "revisions",
            Context::Runbooks => "runbooks",
            Context::Runs => "runs",
        }
    }

    /// The help section's title.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Global",
            Context::Inventory => "Inventory",
            Context::Revisions => "Revisions",
            Context::Runbooks => "Runbooks",
            Context::Runs => "Runs",
        }
    }

    pub fn from_name(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Everything the user can ask for. The order is the registry's (help and palette order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    // Global
    Quit,
    Help,
    Palette,
    ScreenInventory,
    ScreenRevisions,
    ScreenRunbooks,
    ScreenRuns,
    NextScreen,
    PrevScreen,
    Refresh,
    SwitchEnv,
    Progress,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    // Inventory
    Filter,
    GroupByType,
    ToggleDetail,
    ToggleJson,
    PortalLink,
    // Revisions
    Rollback,
    Traffic,
    Activate,
    Deactivate,
    Restart,
    ShowInactive,
    // Runbooks
    Run,
    Plan,
    // Runs
    Resume,
    VerifyAudit,
}

/// A command's registry entry.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandMeta {
    pub command: Command,
    /// snake_case: the TOML key, and what the palette matches on.
    pub name: &'static str,
    pub context: Context,
    pub description: &'static str,
    /// Changes Azure (through a runbook run): read-only mode refuses it and the help marks it.
    pub mutates: bool,
}

const fn entry(
    command: Command,
    name: &'static str,
    context: Context,
    description: &'static str,
    mutates: bool,
) -> CommandMeta {
    CommandMeta {
        command,
        name,
        context,
        description,
        mutates,
    }
}

/// In `Command`'s declaration order, so that `meta` is an index (a test checks it). One line per
/// command reads as the table it is, hence no rustfmt.
#[rustfmt::skip]
static COMMANDS: &[CommandMeta] = {
    use Command as C;
    use Context::{Global as G, Inventory as I, Revisions as Rv, Runbooks as Rb, Runs as Rs};
    &[
        entry(C::Quit, "quit", G, "Quit", false),
        entry(C::Help, "help", G, "Help: every key", false),
        entry(C::Palette, "palette", G, "Command palette: screens, resources, runbooks, actions", false),
        entry(C::ScreenInventory, "screen_inventory", G, "Inventory", false),
        entry(C::ScreenRevisions, "screen_revisions", G, "Revisions of the selected app", false),
        entry(C::ScreenRunbooks, "screen_runbooks", G, "Runbooks", false),
        entry(C::ScreenRuns, "screen_runs", G, "Runs and audit", false),
        entry(C::NextScreen, "next_screen", G, "Next screen", false),
        entry(C::PrevScreen, "prev_screen", G, "Previous screen", false),
        entry(C::Refresh, "refresh", G, "Reload this view", false),
        entry(C::SwitchEnv, "switch_env", G, "Switch environment", false),
        entry(C::Progress, "progress", G, "Show the run in progress", false),
        entry(C::Back, "back", G, "Back / close", false),
        entry(C::Up, "up", G, "Up", false),
        entry(C::Down, "down", G, "Down", false),
        entry(C::PageUp, "page_up", G, "Page up", false),
        entry(C::PageDown, "page_down", G, "Page down", false),
        entry(C::Top, "top", G, "Top", false),
        entry(C::Bottom, "bottom", G, "Bottom", false),
        entry(C::Select, "select", G, "Open / drill in", false),
        entry(C::Filter, "filter", I, "Fuzzy filter", false),
        entry(C::GroupByType, "group_by_type", I, "Group by type", false),
        entry(C::ToggleDetail, "toggle_detail", I, "Detail pane", false),
        entry(C::ToggleJson, "toggle_json", I, "JSON in the detail pane", false),
        entry(C::PortalLink, "portal_link", I, "Show the portal link", false),
        entry(C::Rollback, "rollback", Rv, "Roll back: to the selected revision, or the previous healthy one", true),
        entry(C::Traffic, "traffic", Rv, "Edit the traffic split", true),
        entry(C::Activate, "activate", Rv, "Activate the revision", true),
        entry(C::Deactivate, "deactivate", Rv, "Deactivate the revision", true),
        entry(C::Restart, "restart", Rv, "Restart the revision", true),
        entry(C::ShowInactive, "show_inactive", Rv, "Show inactive revisions", false),
        entry(C::Run, "run", Rb, "Run with parameters (plan, confirm, run)", true),
        entry(C::Plan, "plan", Rb, "Dry run: show the plan only", false),
        entry(C::Resume, "resume", Rs, "Resume the stopped run", true),
        entry(C::VerifyAudit, "verify_audit", Rs, "Verify the audit chain", false),
    ]
};

impl Command {
    pub fn meta(self) -> &'static CommandMeta {
        &COMMANDS[self as usize]
    }

    /// The whole registry, in order.
    pub fn all() -> &'static [CommandMeta] {
        COMMANDS
    }

    /// Names are looked up per context: a name from another table is not this table's command.
    pub fn from_name(context: Context, name: &str) -> Option<Command> {
        COMMANDS
            .iter()
            .find(|m| m.context == context && m.name == name)
            .map(|m| m.command)
    }
}

/// A key as bound: normalised so that a terminal's event and a parsed binding compare equal
/// (`Char` keys never carry SHIFT, the case says it; `BackTab` never carries SHIFT either).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyBinding {
    /// The binding an event would match. Terminals disagree on SHIFT: legacy ones send `G` with or
    /// without it, the kitty protocol may send `g` with it; all of these become `G`.
    pub fn from_event(event: &KeyEvent) -> KeyBinding {
        let mut modifiers = event.modifiers;
        let code = match event.code {
            KeyCode::Char(c) => {
                let shifted = modifiers.contains(KeyModifiers::SHIFT);
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(if shifted { to_upper(c).unwrap_or(c) } else { c })
            }
            KeyCode::BackTab => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            code => code,
        };
        KeyBinding { code, modifiers }
    }
}

/// The uppercase of a lowercase letter, when it is a single character.
fn to_upper(c: char) -> Option<char> {
    if !c.is_lowercase() {
        return None;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// Named keys, canonical name first (the one `Display` writes); the rest are accepted aliases.
const NAMED_KEYS: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backspace", KeyCode::Backspace),
    ("space", KeyCode::Char(' ')),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
    ("insert", KeyCode::Insert),
];

impl fmt::Display for KeyBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => match NAMED_KEYS.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => f.write_str(name),
                None => match code {
                    KeyCode::Char(c) => write!(f, "{c}"),
                    // Never parsed, but an unbound key may still be shown.
                    other => write!(f, "{}", format!("{other:?}").to_lowercase()),
                },
            },
        }
    }
}

/// Parses `q`, `G`, `ctrl-c`, `alt-x`, `shift-tab`, `enter`, `pgdn`, `f5`... (see keys.toml).
pub fn parse_key(s: &str) -> Result<KeyBinding, String> {
    let mut rest = s;
    let mut modifiers = KeyModifiers::NONE;
    // A single character left is the key itself, so `-` and `ctrl--` work.
    while rest.chars().count() > 1 {
        let lower = rest.to_ascii_lowercase();
        let Some((prefix, modifier)) = [
            ("ctrl-", KeyModifiers::CONTROL),
            ("alt-", KeyModifiers::ALT),
            ("shift-", KeyModifiers::SHIFT),
        ]
        .into_iter()
        .find(|(p, _)| lower.starts_with(p)) else {
            break;
        };
        if modifiers.contains(modifier) {
            return Err(format!(
                "`{s}`: {} given twice",
                &prefix[..prefix.len() - 1]
            ));
        }
        modifiers.insert(modifier);
        rest = &rest[prefix.len()..];
    }
    let code = key_code(rest).map_err(|e| format!("`{s}`: {e}"))?;
    let code = match code {
        KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            if c.is_uppercase() {
                KeyCode::Char(c)
            } else if let Some(u) = to_upper(c) {
                KeyCode::Char(u)
            } else {
                // Which character shift-1 gives depends on the keyboard layout.
                return Err(format!(
                    "`{s}`: shift only goes with letters; write the shifted character itself"
                ));
            }
        }
        KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
            modifiers.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        code => code,
    };
    Ok(KeyBinding { code, modifiers })
}

fn key_code(name: &str) -> Result<KeyCode, String> {
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Err("no key".into()),
        (Some(c), None) => return Ok(KeyCode::Char(c)),
        _ => {}
    }
    let lower = name.to_ascii_lowercase();
    if let Some((_, code)) = NAMED_KEYS.iter().find(|(n, _)| *n == lower) {
        return Ok(*code);
    }
    if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
        if (1..=12).contains(&n) {
            return Ok(KeyCode::F(n));
        }
    }
    Err(format!("unknown key `{name}`"))
}

/// A problem in a keys file: shown to the user, who keeps a working console.
#[derive(Debug, Clone, PartialEq)]
pub struct KeymapWarning {
    pub message: String,
}

impl fmt::Display for KeymapWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn warning(message: impl Into<String>) -> KeymapWarning {
    KeymapWarning {
        message: message.into(),
    }
}

/// Keys per command, in the order written (the first is the hint's).
type Bindings = HashMap<Command, Vec<KeyBinding>>;

/// The bindings in effect.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Bindings,
    lookup: HashMap<(Context, KeyBinding), Command>,
}

/// One context's part of the `?` help.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpSection {
    pub title: &'static str,
    pub context: Context,
    pub lines: Vec<HelpLine>,
}

/// A command in the help; `keys` is empty when the user unbound it.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpLine {
    pub keys: String,
    pub command: Command,
    pub description: &'static str,
    pub mutates: bool,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::default_keys()
    }
}

impl Keymap {
    /// The embedded defaults (a test proves they parse with no warnings).
    pub fn default_keys() -> Keymap {
        Keymap::new(default_bindings())
    }

    /// Defaults, then the user's file merged over them table by table, command by command: a user
    /// entry replaces that command's keys only. Bad entries (unknown table, unknown command, a
    /// command of another context, unparsable key, a key bound twice in one context) are skipped
    /// with a warning; a missing file is no warning; an unreadable/unparsable file is one warning
    /// and the defaults.
    pub fn load(user_file: Option<&Path>) -> (Keymap, Vec<KeymapWarning>) {
        let Some(path) = user_file else {
            return (Keymap::default_keys(), Vec::new());
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let (keymap, warnings) = Keymap::from_toml(&text);
                let warnings = warnings
                    .into_iter()
                    .map(|w| warning(format!("{}: {}", path.display(), w.message)))
                    .collect();
                (keymap, warnings)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Keymap::default_keys(), Vec::new())
            }
            Err(e) => (
                Keymap::default_keys(),
                vec![warning(format!(
                    "{}: cannot read it, using the default keys: {e}",
                    path.display()
                ))],
            ),
        }
    }

    /// The same merge as `load`, from text.
    pub fn from_toml(user_text: &str) -> (Keymap, Vec<KeymapWarning>) {
        let (bindings, warnings) = merge(default_bindings(), user_text);
        (Keymap::new(bindings), warnings)
    }

    fn new(bindings: Bindings) -> Keymap {
        let mut lookup = HashMap::new();
        for meta in COMMANDS {
            for key in bindings.get(&meta.command).into_iter().flatten() {
                // Merging leaves no duplicates in a context; were there one, the first command wins.
                lookup.entry((meta.context, *key)).or_insert(meta.command);
            }
        }
        Keymap { bindings, lookup }
    }

    /// The command bound to `key` in `context`, falling back to Global. Releases never match:
    /// terminals that report them would otherwise fire every command twice.
    pub fn command(&self, context: Context, key: &KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let binding = KeyBinding::from_event(key);
        self.lookup
            .get(&(context, binding))
            .or_else(|| self.lookup.get(&(Context::Global, binding)))
            .copied()
    }

    /// Keys shown for a command, e.g. `["r"]`, `["q", "ctrl-c"]`, in the order bound.
    pub fn keys(&self, command: Command) -> Vec<String> {
        self.bindings
            .get(&command)
            .into_iter()
            .flatten()
            .map(ToString::to_string)
            .collect()
    }

    /// Help: one section per context (Global first), each line (keys joined by "/",
    /// description, mutates), every command listed even when unbound (the palette still runs it).
    pub fn help(&self) -> Vec<HelpSection> {
        Context::ALL
            .into_iter()
            .map(|context| HelpSection {
                title: context.title(),
                context,
                lines: COMMANDS
                    .iter()
                    .filter(|m| m.context == context)
                    .map(|m| HelpLine {
                        keys: self.keys(m.command).join("/"),
                        command: m.command,
                        description: m.description,
                        mutates: m.mutates,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// keys.toml merged over nothing: the same code path as a user's file, so the test that it gives no
/// warnings also proves it has no bad or duplicate keys.
fn default_bindings() -> Bindings {
    merge(Bindings::new(), DEFAULT_KEYS).0
}

/// `text`'s entries over `base`, skipping bad ones with a warning.
fn merge(base: Bindings, text: &str) -> (Bindings, Vec<KeymapWarning>) {
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            return (
                base,
                vec![warning(format!(
                    "not valid TOML, using the default keys: {e}"
                ))],
            );
        }
    };
    let mut warnings = Vec::new();
    let mut result = base.clone();
    for (table_name, value) in &table {
        let Some(context) = Context::from_name(table_name) else {
            let known: Vec<_> = Context::ALL.iter().map(|c| c.name()).collect();
            warnings.push(warning(format!(
                "unknown table `{table_name}` (the tables are {})",
                known.join(", ")
            )));
            continue;
        };
        let toml::Value::Table(entries) = value else {
            warnings.push(warning(format!(
                "`{table_name}` must be a table: [{table_name}]"
            )));
            continue;
        };
        let mut user = Vec::new();
        for (name, value) in entries {
            match parse_entry(context, name, value) {
                Ok(entry) => user.push(entry),
                Err(message) => warnings.push(warning(format!("[{table_name}] {name}: {message}"))),
            }
        }
        for (command, keys) in resolve_conflicts(context, &base, user, &mut warnings) {
            result.insert(command, keys);
        }
    }
    (result, warnings)
}

fn parse_entry(
    context: Context,
    name: &str,
    value: &toml::Value,
) -> Result<(Command, Vec<KeyBinding>), String> {
    let command = Command::from_name(context, name).ok_or_else(|| {
        match COMMANDS.iter().find(|m| m.name == name) {
            Some(m) => format!(
                "a command of [{}], not [{}]",
                m.context.name(),
                context.name()
            ),
            None => format!("no such command in [{}]", context.name()),
        }
    })?;
    let texts: Vec<&str> = match value {
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or("expected a key or a list of keys"))
            .collect::<Result<_, _>>()?,
        _ => return Err("expected a key or a list of keys".into()),
    };
    let mut keys: Vec<KeyBinding> = Vec::new();
    for text in texts {
        let key = parse_key(text)?;
        // `["G", "shift-g"]` is one key written twice: harmless.
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok((command, keys))
}

/// Drops the user's entries that would bind one key to two commands of `context`, until none do.
/// Decided on the whole table at once, so swapping two commands' keys works.
fn resolve_conflicts(
    context: Context,
    base: &Bindings,
    mut user: Vec<(Command, Vec<KeyBinding>)>,
    warnings: &mut Vec<KeymapWarning>,
) -> Vec<(Command, Vec<KeyBinding>)> {
    loop {
        let keys_of = |command: Command| -> &[KeyBinding] {
            match user.iter().find(|(c, _)| *c == command) {
                Some((_, keys)) => keys,
                None => base.get(&command).map_or(&[], Vec::as_slice),
            }
        };
        let commands: Vec<Command> = COMMANDS
            .iter()
            .filter(|m| m.context == context)
            .map(|m| m.command)
            .collect();
        // The first clash in registry order, so the warnings are the same on every run.
        let clash = commands.iter().find_map(|&command| {
            keys_of(command).iter().find_map(|key| {
                let owners: Vec<Command> = commands
                    .iter()
                    .copied()
                    .filter(|&c| keys_of(c).contains(key))
                    .collect();
                let from_user = owners.iter().any(|c| user.iter().any(|(u, _)| u == c));
                (owners.len() > 1 && from_user).then_some((*key, owners))
            })
        });
        let Some((key, owners)) = clash else {
            return user;
        };
        let skipped: Vec<Command> = owners
            .iter()
            .copied()
            .filter(|c| user.iter().any(|(u, _)| u == c))
            .collect();
        user.retain(|(c, _)| !skipped.contains(c));
        let names = |commands: &[Command]| {
            let names: Vec<_> = commands.iter().map(|c| c.meta().name).collect();
            names.join(", ")
        };
        warnings.push(warning(format!(
            "[{}] `{key}` is bound to {}: skipped the entry for {} (keeping its previous keys)",
            context.name(),
            names(&owners),
            names(&skipped),
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn ch(c: char) -> KeyEvent {
        press(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn messages(warnings: &[KeymapWarning]) -> String {
        warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn registry_is_in_declaration_order_with_unique_names() {
        for (i, meta) in Command::all().iter().enumerate() {
            assert_eq!(meta.command as usize, i, "{} out of order", meta.name);
            assert_eq!(meta.command.meta(), meta);
            assert_eq!(
                Command::from_name(meta.context, meta.name),
                Some(meta.command)
            );
            let same_name = Command::all()
                .iter()
                .filter(|m| m.name == meta.name)
                .count();
            assert_eq!(same_name, 1, "{} is not unique", meta.name);
        }
        assert_eq!(Command::from_name(Context::Global, "rollback"), None);
    }

    #[test]
    fn defaults_parse_without_warnings_and_bind_every_command() {
        let (bindings, warnings) = merge(Bindings::new(), DEFAULT_KEYS);
        assert!(warnings.is_empty(), "{}", messages(&warnings));
        let keymap = Keymap::new(bindings);
        for meta in Command::all() {
            assert!(
                !keymap.keys(meta.command).is_empty(),
                "{} has no key",
                meta.name
            );
        }
        assert_eq!(keymap.keys(Command::Quit), ["q", "ctrl-c"]);
        assert_eq!(keymap.keys(Command::PrevScreen), ["shift-tab"]);
        let (loaded, warnings) = Keymap::load(None);
        assert!(warnings.is_empty());
        assert_eq!(loaded.keys(Command::Refresh), ["ctrl-r", "f5"]);
    }

    #[test]
    fn context_wins_over_global_and_falls_back_to_it() {
        let keymap = Keymap::default_keys();
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(
            keymap.command(Context::Runbooks, &enter),
            Some(Command::Run)
        );
        assert_eq!(
            keymap.command(Context::Inventory, &enter),
            Some(Command::Select)
        );
        assert_eq!(
            keymap.command(Context::Global, &enter),
            Some(Command::Select)
        );
        assert_eq!(
            keymap.command(Context::Inventory, &ch('g')),
            Some(Command::Top)
        );
        assert_eq!(
            keymap.command(Context::Inventory, &ch('t')),
            Some(Command::GroupByType)
        );
        // A screen's key is not bound elsewhere.
        assert_eq!(
            keymap.command(Context::Revisions, &ch('r')),
            Some(Command::Rollback)
        );
        assert_eq!(keymap.command(Context::Inventory, &ch('r')), None);
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(keymap.command(Context::Runs, &ctrl_c), Some(Command::Quit));
        assert_eq!(keymap.command(Context::Runs, &ch('c')), None);
        let back_tab = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            keymap.command(Context::Runs, &back_tab),
            Some(Command::PrevScreen)
        );
        let f5 = press(KeyCode::F(5), KeyModifiers::NONE);
        assert_eq!(keymap.command(Context::Runs, &f5), Some(Command::Refresh));
    }

    #[test]
    fn uppercase_letters_match_with_or_without_shift() {
        let keymap = Keymap::default_keys();
        let ctx = Context::Inventory;
        assert_eq!(keymap.command(ctx, &ch('G')), Some(Command::Bottom));
        let shift_g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(keymap.command(ctx, &shift_g), Some(Command::Bottom));
        // The kitty protocol reports the unshifted letter with SHIFT.
        let kitty = press(KeyCode::Char('g'), KeyModifiers::SHIFT);
        assert_eq!(keymap.command(ctx, &kitty), Some(Command::Bottom));
        assert_eq!(keymap.command(ctx, &ch('g')), Some(Command::Top));
        let shift_j = press(KeyCode::Char('J'), KeyModifiers::SHIFT);
        assert_eq!(keymap.command(ctx, &shift_j), Some(Command::ToggleJson));
        assert_eq!(keymap.command(ctx, &ch('j')), Some(Command::Down));
        // Symbols typed with SHIFT match their character.
        let question = press(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(keymap.command(ctx, &question), Some(Command::Help));
    }

    #[test]
    fn releases_never_match() {
        let keymap = Keymap::default_keys();
        let release = KeyEvent::new_with_kind(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        assert_eq!(keymap.command(Context::Global, &release), None);
        let repeat =
            KeyEvent::new_with_kind(KeyCode::Char('j'), KeyModifiers::NONE, KeyEventKind::Repeat);
        assert_eq!(
            keymap.command(Context::Global, &repeat),
            Some(Command::Down)
        );
    }

    #[test]
    fn user_entry_replaces_only_that_commands_keys() {
        let (keymap, warnings) = Keymap::from_toml(
            "[global]\nquit = \"ctrl-q\"\n[revisions]\nrollback = [\"b\", \"ctrl-z\"]\n",
        );
        assert!(warnings.is_empty(), "{}", messages(&warnings));
        assert_eq!(keymap.keys(Command::Quit), ["ctrl-q"]);
        assert_eq!(keymap.command(Context::Global, &ch('q')), None);
        assert_eq!(keymap.keys(Command::Rollback), ["b", "ctrl-z"]);
        assert_eq!(keymap.command(Context::Revisions, &ch('r')), None);
        assert_eq!(
            keymap.command(Context::Revisions, &ch('b')),
            Some(Command::Rollback)
        );
        // Untouched commands, in the same tables and others, keep their defaults.
        assert_eq!(keymap.keys(Command::Help), ["?"]);
        assert_eq!(keymap.keys(Command::Traffic), ["w"]);
        assert_eq!(keymap.keys(Command::Filter), ["/"]);
        // An empty list unbinds.
        let (keymap, warnings) = Keymap::from_toml("[global]\nprogress = []\n");
        assert!(warnings.is_empty());
        assert!(keymap.keys(Command::Progress).is_empty());
        assert_eq!(keymap.command(Context::Global, &ch('p')), None);
    }

    #[test]
    fn bad_entries_warn_and_good_ones_still_apply() {
        let text = r#"
            [global]
            quit = "ctrl-q"
            teleport = "t"
            rollback = "b"
            help = "ctrl-nope"
            back = 3
            refresh = ["f6", 7]
            [inventory]
            filter = "f"
            [inventroy]
            filter = "/"
            [revisions]
            traffic = "shift-1"
            activate = "A"
            misplaced = "oops"
        "#;
        let (keymap, warnings) = Keymap::from_toml(text);
        let all = messages(&warnings);
        assert_eq!(warnings.len(), 8, "{all}");
        for expected in [
            "[global] teleport: no such command in [global]",
            "[global] rollback: a command of [revisions], not [global]",
            "[global] help: `ctrl-nope`: unknown key `nope`",
            "[global] back: expected a key or a list of keys",
            "[global] refresh: expected a key or a list of keys",
            "unknown table `inventroy`",
            "[revisions] traffic: `shift-1`: shift only goes with letters",
            "[revisions] misplaced: no such command in [revisions]",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        // Good entries applied; bad ones kept their defaults.
        assert_eq!(keymap.keys(Command::Quit), ["ctrl-q"]);
        assert_eq!(keymap.keys(Command::Filter), ["f"]);
        assert_eq!(keymap.keys(Command::Activate), ["A"]);
        assert_eq!(keymap.keys(Command::Help), ["?"]);
        assert_eq!(keymap.keys(Command::Back), ["esc"]);
        assert_eq!(keymap.keys(Command::Refresh), ["ctrl-r", "f5"]);
        assert_eq!(keymap.keys(Command::Rollback), ["r"]);
        assert_eq!(keymap.keys(Command::Traffic), ["w"]);
        // A non-table at the top level is a bad table.
        let (_, warnings) = Keymap::from_toml("quit = \"q\"\n");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn a_key_bound_twice_in_one_context_warns() {
        // `x` is deactivate's default: the user's rollback entry is skipped.
        let (keymap, warnings) =
            Keymap::from_toml("[revisions]\nrollback = \"x\"\ntraffic = \"W\"\n");
        assert_eq!(warnings.len(), 1, "{}", messages(&warnings));
        assert!(
            warnings[0]
                .message
                .contains("`x` is bound to rollback, deactivate"),
            "{}",
            warnings[0]
        );
        assert_eq!(keymap.keys(Command::Rollback), ["r"]);
        assert_eq!(keymap.keys(Command::Deactivate), ["x"]);
        assert_eq!(keymap.keys(Command::Traffic), ["W"]);
        // Two user entries on one key: both skipped.
        let (keymap, warnings) =
            Keymap::from_toml("[runs]\nresume = \"z\"\nverify_audit = \"z\"\n");
        assert_eq!(warnings.len(), 1, "{}", messages(&warnings));
        assert_eq!(keymap.keys(Command::Resume), ["u"]);
        assert_eq!(keymap.keys(Command::VerifyAudit), ["v"]);
        // A swap is decided on the whole table, so it is no conflict.
        let (keymap, warnings) =
            Keymap::from_toml("[revisions]\nrollback = \"x\"\ndeactivate = \"r\"\n");
        assert!(warnings.is_empty(), "{}", messages(&warnings));
        assert_eq!(
            keymap.command(Context::Revisions, &ch('x')),
            Some(Command::Rollback)
        );
        assert_eq!(
            keymap.command(Context::Revisions, &ch('r')),
            Some(Command::Deactivate)
        );
        // The same key in a screen and in Global is shadowing, not a conflict.
        let (keymap, warnings) = Keymap::from_toml("[inventory]\nfilter = \"q\"\n");
        assert!(warnings.is_empty());
        assert_eq!(
            keymap.command(Context::Inventory, &ch('q')),
            Some(Command::Filter)
        );
        assert_eq!(keymap.command(Context::Runs, &ch('q')), Some(Command::Quit));
    }

    #[test]
    fn unparsable_or_unreadable_file_gives_defaults_and_one_warning() {
        let (keymap, warnings) = Keymap::from_toml("[global\nquit = ");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("not valid TOML"));
        assert_eq!(keymap.keys(Command::Quit), ["q", "ctrl-c"]);

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("keys.toml");
        let (keymap, warnings) = Keymap::load(Some(&missing));
        assert!(warnings.is_empty());
        assert_eq!(keymap.keys(Command::Quit), ["q", "ctrl-c"]);
        // A directory cannot be read as a file.
        let (keymap, warnings) = Keymap::load(Some(dir.path()));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("cannot read"));
        assert_eq!(keymap.keys(Command::Help), ["?"]);

        std::fs::write(&missing, "[global]\nhelp = \"h\"\nnope = \"n\"\n").unwrap();
        let (keymap, warnings) = Keymap::load(Some(&missing));
        assert_eq!(keymap.keys(Command::Help), ["h"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0]
            .message
            .starts_with(&missing.display().to_string()));
    }

    #[test]
    fn parse_key_round_trips_through_display() {
        let forms = [
            "q",
            "?",
            ":",
            "/",
            "-",
            "G",
            "1",
            "space",
            "ctrl-c",
            "ctrl--",
            "alt-x",
            "ctrl-alt-d",
            "shift-tab",
            "ctrl-shift-tab",
            "enter",
            "esc",
            "tab",
            "backspace",
            "up",
            "down",
            "left",
            "right",
            "home",
            "end",
            "pgup",
            "pgdn",
            "f1",
            "f12",
            "delete",
            "insert",
            "shift-up",
            "ctrl-G",
        ];
        for form in forms {
            let key = parse_key(form).unwrap();
            assert_eq!(key.to_string(), form);
            assert_eq!(parse_key(&key.to_string()), Ok(key));
        }
        // Aliases and other spellings normalise to the canonical form.
        for (alias, canonical) in [
            ("shift-g", "G"),
            ("shift-G", "G"),
            ("Ctrl-c", "ctrl-c"),
            ("alt-ctrl-d", "ctrl-alt-d"),
            (" ", "space"),
            ("Enter", "enter"),
            ("escape", "esc"),
            ("pagedown", "pgdn"),
            ("F5", "f5"),
        ] {
            assert_eq!(
                parse_key(alias).map(|k| k.to_string()),
                Ok(canonical.into())
            );
        }
        assert_eq!(
            parse_key("shift-tab"),
            Ok(KeyBinding {
                code: KeyCode::BackTab,
                modifiers: KeyModifiers::NONE
            })
        );
        for bad in [
            "",
            "ctrl-",
            "f0",
            "f13",
            "hyper-x",
            "ctrl-ctrl-c",
            "shift-?",
            "enterr",
        ] {
            assert!(parse_key(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn help_lists_global_first_and_marks_mutating_commands() {
        let help = Keymap::default_keys().help();
        let order: Vec<Context> = help.iter().map(|s| s.context).collect();
        assert_eq!(order, Context::ALL);
        assert_eq!(help[0].title, "Global");
        let quit = &help[0].lines[0];
        assert_eq!(
            (quit.command, quit.keys.as_str()),
            (Command::Quit, "q/ctrl-c")
        );
        assert!(!quit.mutates);
        let revisions = &help[2];
        let rollback = revisions
            .lines
            .iter()
            .find(|l| l.command == Command::Rollback);
        assert!(rollback.is_some_and(|l| l.mutates && l.keys == "r"));
        let mutating: Vec<Command> = help
            .iter()
            .flat_map(|s| &s.lines)
            .filter(|l| l.mutates)
            .map(|l| l.command)
            .collect();
        use Command::*;
        assert_eq!(
            mutating,
            [Rollback, Traffic, Activate, Deactivate, Restart, Run, Resume]
        );
        let lines: usize = help.iter().map(|s| s.lines.len()).sum();
        assert_eq!(lines, Command::all().len());
    }
}
