//! Themes: TOML files that name colours by meaning ([`Role`]), so screens ask for "selection" or
//! "header_protected" and never for a colour. Built-ins are embedded in the binary; users add
//! their own (or override a built-in) in a folder the caller passes, and a theme may `extends`
//! another and give only some roles. `themes/README.md` documents the format.
//!
//! Colours are adapted once, at load, to what the terminal can show ([`ColorSupport`]): RGB, the
//! xterm-256 palette, the 16 ANSI colours, or none at all (`NO_COLOR`), where the roles that must
//! stay distinguishable get modifiers instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// What a colour means on screen. The TOML key of each role is its snake_case name ([`Role::key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Text,
    Muted,
    Title,
    Border,
    BorderFocus,
    Header,
    HeaderProtected,
    HeaderReadOnly,
    Tab,
    TabActive,
    Selection,
    MatchHighlight,
    KeyHint,
    Ok,
    Warn,
    Error,
    Info,
    BadgeFailed,
    BadgeUnhealthy,
    BadgeStopped,
    BadgeExpiring,
    Modal,
    ModalBorder,
    Danger,
    Input,
    Disabled,
    GroupHeader,
    Link,
    StatusBar,
}

const ROLE_COUNT: usize = Role::ALL.len();

impl Role {
    /// Every role, in declaration order (`Role::ALL[r as usize] == r`: themes index styles by it).
    pub const ALL: &'static [Role] = &[
        Role::Text,
        Role::Muted,
        Role::Title,
        Role::Border,
        Role::BorderFocus,
        Role::Header,
        Role::HeaderProtected,
        Role::HeaderReadOnly,
        Role::Tab,
        Role::TabActive,
        Role::Selection,
        Role::MatchHighlight,
        Role::KeyHint,
        Role::Ok,
        Role::Warn,
        Role::Error,
        Role::Info,
        Role::BadgeFailed,
        Role::BadgeUnhealthy,
        Role::BadgeStopped,
        Role::BadgeExpiring,
        Role::Modal,
        Role::ModalBorder,
        Role::Danger,
        Role::Input,
        Role::Disabled,
        Role::GroupHeader,
        Role::Link,
        Role::StatusBar,
    ];

    /// The role's key in a theme file's `[roles]` table.
    pub fn key(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Title => "title",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Header => "header",
            Role::HeaderProtected => "header_protected",
            Role::HeaderReadOnly => "header_read_only",
            Role::Tab => "tab",
            Role::TabActive => "tab_active",
            Role::Selection => "selection",
            Role::MatchHighlight => "match_highlight",
            Role::KeyHint => "key_hint",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Error => "error",
            Role::Info => "info",
            Role::BadgeFailed => "badge_failed",
            Role::BadgeUnhealthy => "badge_unhealthy",
            Role::BadgeStopped => "badge_stopped",
            Role::BadgeExpiring => "badge_expiring",
            Role::Modal => "modal",
            Role::ModalBorder => "modal_border",
            Role::Danger => "danger",
            Role::Input => "input",
            Role::Disabled => "disabled",
            Role::GroupHeader => "group_header",
            Role::Link => "link",
            Role::StatusBar => "status_bar",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.key() == key)
    }

    /// Without colour these roles would look like plain text, so they get modifiers instead.
    fn no_color_emphasis(self) -> Modifier {
        match self {
            Role::Selection | Role::TabActive => Modifier::REVERSED,
            Role::HeaderProtected => Modifier::REVERSED | Modifier::BOLD,
            Role::Danger | Role::MatchHighlight => Modifier::BOLD | Modifier::UNDERLINED,
            Role::Error
            | Role::BadgeFailed
            | Role::BadgeUnhealthy
            | Role::BadgeStopped
            | Role::BadgeExpiring => Modifier::BOLD,
            _ => Modifier::empty(),
        }
    }
}

/// How many colours the terminal shows; themes are written in RGB and brought down to this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorSupport {
    None,
    Ansi16,
    Indexed256,
    TrueColor,
}

/// NO_COLOR (any non-empty value) → None; TERM=dumb → None; COLORTERM truecolor|24bit →
/// TrueColor; TERM containing 256color → Indexed256; else Ansi16. Takes a lookup so tests need
/// no real environment. `dumb` is checked before COLORTERM because COLORTERM is often inherited
/// from an outer terminal (an editor's shell buffer sets TERM=dumb under a truecolor terminal).
pub fn detect_color_support(var: impl Fn(&str) -> Option<String>) -> ColorSupport {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if set("NO_COLOR").is_some() {
        return ColorSupport::None;
    }
    let term = set("TERM").unwrap_or_default();
    if term == "dumb" {
        return ColorSupport::None;
    }
    let colorterm = set("COLORTERM").unwrap_or_default().to_ascii_lowercase();
    if colorterm == "truecolor" || colorterm == "24bit" {
        ColorSupport::TrueColor
    } else if term.contains("256color") {
        ColorSupport::Indexed256
    } else {
        ColorSupport::Ansi16
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme named {name:?} (available: {available})")]
    Unknown { name: String, available: String },
    #[error("cannot read theme file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("theme {source_name} is invalid: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("themes extend each other in a loop: {chain}")]
    Cycle { chain: String },
}

/// A loaded theme: one style per role, already adapted to the terminal.
#[derive(Clone, Debug)]
pub struct Theme {
    /// The name it was loaded as (the file's stem or the built-in's name).
    pub name: String,
    pub description: String,
    styles: [Style; ROLE_COUNT],
    support: ColorSupport,
}

const BUILTINS: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];
const BUILTIN_NAMES: &[&str] = &["dark", "light", "high-contrast"];
const PRODUCTION: &str = include_str!("../../themes/production.toml");

/// A theme file as written. Unknown top-level keys are errors (a typo in `extends` would
/// otherwise silently give a different theme); the roles are checked one by one, as warnings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    /// Informational: a theme is known by its file name.
    #[serde(default, rename = "name")]
    _name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    roles: toml::Table,
}

/// One role's entry. A role given replaces the base theme's role whole (no field-by-field merge:
/// what you read in the file is what you get).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

impl RoleSpec {
    fn to_style(&self) -> Result<Style, String> {
        let color = |which: &str, value: &Option<String>| -> Result<Option<Color>, String> {
            match value {
                None => Ok(None),
                Some(s) => s
                    .parse::<Color>()
                    .map(Some)
                    .map_err(|_| format!("bad colour {s:?} for {which}")),
            }
        };
        let mut style = Style::new();
        style.fg = color("fg", &self.fg)?;
        style.bg = color("bg", &self.bg)?;
        for (on, modifier) in [
            (self.bold, Modifier::BOLD),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.dim, Modifier::DIM),
        ] {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        Ok(style)
    }
}

/// A theme's text and where it came from (for messages and for `extends` of its own name).
struct Source {
    label: String,
    text: String,
    from_user: bool,
}

/// Styles as written (RGB), before adaptation to the terminal.
type Styles = [Style; ROLE_COUNT];

impl Theme {
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Loads `name` (user dir first, then built-ins), resolving `extends` (cycle → error), and
    /// adapts colours to `support`. Warnings (unknown role keys, bad colour strings — these keep
    /// the base theme's value) are returned, not fatal. Unknown theme name → error listing the
    /// names available. A user theme that extends its own name extends the built-in of that name.
    pub fn load(
        name: &str,
        user_dir: Option<&Path>,
        support: ColorSupport,
    ) -> Result<(Theme, Vec<String>), ThemeError> {
        let mut warnings = Vec::new();
        let mut chain = Vec::new();
        let (raw, description) = resolve(name, user_dir, false, &mut chain, &mut warnings)?;
        let theme = Theme {
            name: name.to_string(),
            description,
            styles: adapt_all(&raw, support),
            support,
        };
        Ok((theme, warnings))
    }

    /// The dark theme. Never fails: built-ins are tested; were one broken anyway, the result
    /// is the terminal's own colours rather than a crash.
    pub fn default_for(support: ColorSupport) -> Theme {
        match Theme::load("dark", None, support) {
            Ok((theme, _)) => theme,
            Err(_) => Theme {
                name: "dark".into(),
                description: String::new(),
                styles: adapt_all(&[Style::new(); ROLE_COUNT], support),
                support,
            },
        }
    }

    /// The production accent overlay on top of this theme (for protected environments). Without
    /// colour, the header is drawn like `header_protected` (reversed, bold) instead of red.
    pub fn with_production_accent(&self) -> Theme {
        let mut theme = self.clone();
        // Built-in and tested (no warnings, valid roles): nothing to report here.
        let Ok(file) = toml::from_str::<ThemeFile>(PRODUCTION) else {
            return theme;
        };
        for (key, value) in &file.roles {
            let Some(role) = Role::from_key(key) else {
                continue;
            };
            if let Ok(style) = parse_role(value) {
                theme.styles[role as usize] = adapt(role, style, self.support);
            }
        }
        if self.support == ColorSupport::None {
            let header = &mut theme.styles[Role::Header as usize];
            *header = header.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        theme
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }

    pub fn support(&self) -> ColorSupport {
        self.support
    }
}

/// Each role's style brought down to what the terminal shows.
fn adapt_all(raw: &Styles, support: ColorSupport) -> Styles {
    let mut styles = *raw;
    for role in Role::ALL {
        styles[*role as usize] = adapt(*role, raw[*role as usize], support);
    }
    styles
}

fn parse_role(value: &toml::Value) -> Result<Style, String> {
    let spec: RoleSpec = value.clone().try_into().map_err(|e| e.to_string())?;
    spec.to_style()
}

/// Resolves one theme and its `extends` chain into raw styles and a description. `chain` holds
/// the sources being resolved, to report a loop instead of recursing forever.
fn resolve(
    name: &str,
    user_dir: Option<&Path>,
    skip_user: bool,
    chain: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<(Styles, String), ThemeError> {
    let source = match find(name, user_dir, skip_user)? {
        Some(source) => source,
        // A user theme extending its own name with no built-in of that name extends itself.
        None if skip_user => {
            chain.push(name.to_string());
            return Err(ThemeError::Cycle {
                chain: chain.join(" → "),
            });
        }
        None => {
            return Err(ThemeError::Unknown {
                name: name.to_string(),
                available: available(user_dir).join(", "),
            })
        }
    };
    if chain.contains(&source.label) {
        chain.push(source.label);
        return Err(ThemeError::Cycle {
            chain: chain.join(" → "),
        });
    }
    chain.push(source.label.clone());

    let file: ThemeFile = toml::from_str(&source.text).map_err(|e| ThemeError::Parse {
        source_name: source.label.clone(),
        message: e.to_string(),
    })?;
    let (mut styles, base_description) = match &file.extends {
        Some(base) => {
            let own_name = source.from_user && base == name;
            resolve(base, user_dir, own_name, chain, warnings)?
        }
        None => {
            let missing: Vec<&str> = Role::ALL
                .iter()
                .map(|r| r.key())
                .filter(|k| !file.roles.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                warnings.push(format!(
                    "theme {}: no `extends` and no style for {}: they use the terminal's colours",
                    source.label,
                    missing.join(", ")
                ));
            }
            ([Style::new(); ROLE_COUNT], String::new())
        }
    };
    for (key, value) in &file.roles {
        let Some(role) = Role::from_key(key) else {
            warnings.push(format!(
                "theme {}: unknown role {key:?} (ignored)",
                source.label
            ));
            continue;
        };
        match parse_role(value) {
            Ok(style) => styles[role as usize] = style,
            Err(message) => warnings.push(format!(
                "theme {}: role {key}: {}; keeping the base theme's value",
                source.label,
                message.trim()
            )),
        }
    }
    chain.pop();
    Ok((styles, file.description.unwrap_or(base_description)))
}

/// The user's `NAME.toml` unless `skip_user`, else the built-in. Names are restricted to
/// `[A-Za-z0-9_-]` so a theme name can never reach outside the user's folder.
fn find(
    name: &str,
    user_dir: Option<&Path>,
    skip_user: bool,
) -> Result<Option<Source>, ThemeError> {
    if !valid_name(name) {
        return Ok(None);
    }
    if let (Some(dir), false) = (user_dir, skip_user) {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                return Ok(Some(Source {
                    label: path.display().to_string(),
                    text,
                    from_user: true,
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ThemeError::Read { path, source }),
        }
    }
    Ok(BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(builtin, text)| Source {
            label: format!("{builtin} (built-in)"),
            text: (*text).to_string(),
            from_user: false,
        }))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Built-ins first, then the user's themes (for the unknown-name error).
fn available(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN_NAMES.iter().map(|n| n.to_string()).collect();
    let user: BTreeSet<String> = user_dir
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "toml" {
                return None;
            }
            Some(path.file_stem()?.to_str()?.to_string())
        })
        .filter(|n| valid_name(n) && !BUILTIN_NAMES.contains(&n.as_str()))
        .collect();
    names.extend(user);
    names
}

/// One role's style brought down to what the terminal shows.
fn adapt(role: Role, style: Style, support: ColorSupport) -> Style {
    if support == ColorSupport::None {
        return Style::new().add_modifier(style.add_modifier | role.no_color_emphasis());
    }
    let mut out = style;
    out.fg = style.fg.map(|c| adapt_color(c, support));
    out.bg = style.bg.map(|c| adapt_color(c, support));
    out.underline_color = style.underline_color.map(|c| adapt_color(c, support));
    out
}

fn adapt_color(color: Color, support: ColorSupport) -> Color {
    match (support, color) {
        (ColorSupport::Indexed256, Color::Rgb(r, g, b)) => Color::Indexed(nearest_256([r, g, b])),
        (ColorSupport::Ansi16, Color::Rgb(r, g, b)) => nearest_16([r, g, b]),
        (ColorSupport::Ansi16, Color::Indexed(i)) => match ANSI16.get(usize::from(i)) {
            Some((named, _)) => *named,
            None => nearest_16(rgb_of_index(i)),
        },
        _ => color,
    }
}

/// The levels of the xterm-256 colour cube (indices 16–231).
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn distance(a: [u8; 3], b: [u8; 3]) -> u32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u32::from(x.abs_diff(y)).pow(2))
        .sum()
}

/// The nearest of the cube and the grey ramp (232–255). Indices 0–15 are left out: each terminal
/// draws them differently.
fn nearest_256(rgb: [u8; 3]) -> u8 {
    let level = |v: u8| -> usize {
        (0..CUBE.len())
            .min_by_key(|i| CUBE[*i].abs_diff(v))
            .unwrap_or(0)
    };
    let [r, g, b] = rgb.map(level);
    let cube = [CUBE[r], CUBE[g], CUBE[b]];
    let cube_index = 16 + 36 * r + 6 * g + b;
    let mean = (rgb.iter().map(|v| u32::from(*v)).sum::<u32>() / 3) as i32;
    let step = ((mean - 8 + 5) / 10).clamp(0, 23);
    let grey = (8 + 10 * step) as u8;
    let grey_index = 232 + step as usize;
    let index = if distance(rgb, [grey; 3]) < distance(rgb, cube) {
        grey_index
    } else {
        cube_index
    };
    u8::try_from(index).unwrap_or(u8::MAX)
}

fn rgb_of_index(i: u8) -> [u8; 3] {
    match i {
        0..=15 => ANSI16[usize::from(i)].1,
        16..=231 => {
            let n = usize::from(i - 16);
            [CUBE[n / 36], CUBE[n / 6 % 6], CUBE[n % 6]]
        }
        _ => [8 + 10 * (i - 232); 3],
    }
}

/// The 16 ANSI colours as the classic VGA palette draws them, with a yellow instead of its brown
/// (as today's terminals draw it): only a reference, since every terminal has its own.
const ANSI16: [(Color, [u8; 3]); 16] = [
    (Color::Black, [0, 0, 0]),
    (Color::Red, [170, 0, 0]),
    (Color::Green, [0, 170, 0]),
    (Color::Yellow, [170, 170, 0]),
    (Color::Blue, [0, 0, 170]),
    (Color::Magenta, [170, 0, 170]),
    (Color::Cyan, [0, 170, 170]),
    (Color::Gray, [170, 170, 170]),
    (Color::DarkGray, [85, 85, 85]),
    (Color::LightRed, [255, 85, 85]),
    (Color::LightGreen, [85, 255, 85]),
    (Color::LightYellow, [255, 255, 85]),
    (Color::LightBlue, [85, 85, 255]),
    (Color::LightMagenta, [255, 85, 255]),
    (Color::LightCyan, [85, 255, 255]),
    (Color::White, [255, 255, 255]),
];

/// The nearest ANSI colour; a clearly coloured input never maps to a grey, or pastel warnings
/// and accents would all turn grey on a 16-colour terminal.
fn nearest_16(rgb: [u8; 3]) -> Color {
    let chroma = rgb.iter().max().unwrap_or(&0) - rgb.iter().min().unwrap_or(&0);
    let is_grey = |c: &[u8; 3]| c[0] == c[1] && c[1] == c[2];
    ANSI16
        .iter()
        .filter(|(_, c)| chroma < 64 || !is_grey(c))
        .min_by_key(|(_, c)| distance(rgb, *c))
        .map_or(Color::Reset, |(named, _)| *named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
    }

    #[test]
    fn role_all_is_in_declaration_order_with_unique_keys() {
        for (i, role) in Role::ALL.iter().enumerate() {
            assert_eq!(*role as usize, i);
            assert_eq!(Role::from_key(role.key()), Some(*role));
        }
        let keys: BTreeSet<&str> = Role::ALL.iter().map(|r| r.key()).collect();
        assert_eq!(keys.len(), Role::ALL.len());
    }

    #[test]
    fn every_builtin_parses_and_defines_every_role() {
        for (name, text) in BUILTINS {
            let file: ThemeFile = toml::from_str(text).unwrap();
            assert!(file.extends.is_none(), "{name}");
            for role in Role::ALL {
                let value = file.roles.get(role.key());
                assert!(value.is_some(), "{name} lacks {}", role.key());
                parse_role(value.unwrap()).unwrap();
            }
            assert_eq!(
                file.roles.len(),
                Role::ALL.len(),
                "{name} has unknown roles"
            );
            for support in [ColorSupport::TrueColor, ColorSupport::None] {
                let (theme, warnings) = Theme::load(name, None, support).unwrap();
                assert!(warnings.is_empty(), "{name}: {warnings:?}");
                assert_eq!(theme.support(), support);
            }
        }
        assert_eq!(
            Theme::builtin_names(),
            BUILTINS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        let (dark, _) = Theme::load("dark", None, ColorSupport::TrueColor).unwrap();
        assert_eq!(
            Theme::default_for(ColorSupport::TrueColor).styles,
            dark.styles
        );
    }

    #[test]
    fn the_production_overlay_is_valid() {
        let file: ThemeFile = toml::from_str(PRODUCTION).unwrap();
        for key in [
            "header",
            "border_focus",
            "modal_border",
            "title",
            "tab_active",
        ] {
            assert!(file.roles.contains_key(key), "{key}");
        }
        for (key, value) in &file.roles {
            assert!(Role::from_key(key).is_some(), "{key}");
            parse_role(value).unwrap();
        }
    }

    #[test]
    fn protected_and_read_only_headers_stand_out_in_every_builtin() {
        for name in Theme::builtin_names() {
            let (theme, _) = Theme::load(name, None, ColorSupport::TrueColor).unwrap();
            let Some(Color::Rgb(r, g, b)) = theme.style(Role::HeaderProtected).bg else {
                panic!("{name}: header_protected has no RGB background");
            };
            assert!(r > 150 && g < 60 && b < 60, "{name}: not red");
            let read_only = theme.style(Role::HeaderReadOnly).bg;
            assert!(read_only.is_some() && read_only != theme.style(Role::HeaderProtected).bg);
        }
    }

    #[test]
    fn badges_and_highlights_stay_apart_with_fewer_colours() {
        let apart = [
            Role::BadgeFailed,
            Role::BadgeUnhealthy,
            Role::BadgeStopped,
            Role::BadgeExpiring,
        ];
        for name in Theme::builtin_names() {
            for support in [ColorSupport::Ansi16, ColorSupport::Indexed256] {
                let (theme, _) = Theme::load(name, None, support).unwrap();
                let styles: BTreeSet<String> = apart
                    .iter()
                    .map(|r| format!("{:?}", theme.style(*r)))
                    .collect();
                assert_eq!(styles.len(), apart.len(), "{name} {support:?}");
                let (error, matched) =
                    (theme.style(Role::Error), theme.style(Role::MatchHighlight));
                assert_ne!(error, matched, "{name} {support:?}");
                assert_ne!(
                    theme.style(Role::HeaderProtected),
                    theme.style(Role::HeaderReadOnly)
                );
            }
        }
    }

    #[test]
    fn detects_color_support() {
        let cases: &[(&[(&str, &str)], ColorSupport)] = &[
            (
                &[("NO_COLOR", "1"), ("COLORTERM", "truecolor")],
                ColorSupport::None,
            ),
            (
                &[("NO_COLOR", ""), ("COLORTERM", "truecolor")],
                ColorSupport::TrueColor,
            ),
            (&[("TERM", "dumb")], ColorSupport::None),
            (
                &[("TERM", "dumb"), ("COLORTERM", "truecolor")],
                ColorSupport::None,
            ),
            (&[("TERM", "xterm-256color")], ColorSupport::Indexed256),
            (
                &[("TERM", "xterm-256color"), ("COLORTERM", "24bit")],
                ColorSupport::TrueColor,
            ),
            (
                &[("TERM", "xterm"), ("COLORTERM", "TrueColor")],
                ColorSupport::TrueColor,
            ),
            (&[("TERM", "xterm")], ColorSupport::Ansi16),
            (&[], ColorSupport::Ansi16),
        ];
        for (vars, expected) in cases {
            assert_eq!(detect_color_support(env(vars)), *expected, "{vars:?}");
        }
    }

    #[test]
    fn maps_rgb_to_the_256_palette() {
        let map = |rgb: [u8; 3]| nearest_256(rgb);
        assert_eq!(map([255, 0, 0]), 196);
        assert_eq!(map([0, 0, 0]), 16);
        assert_eq!(map([255, 255, 255]), 231);
        assert_eq!(map([128, 128, 128]), 244);
        assert_eq!(map([0x87, 0xaf, 0xff]), 111);
        assert_eq!(map([0xb0, 0x00, 0x20]), 124);
        for i in 16..=255u8 {
            assert_eq!(map(rgb_of_index(i)), i, "round trip of {i}");
        }
    }

    #[test]
    fn maps_colours_to_the_16_ansi_colours() {
        let map = |c| adapt_color(c, ColorSupport::Ansi16);
        assert_eq!(map(Color::Rgb(255, 0, 0)), Color::Red);
        assert_eq!(map(Color::Rgb(0, 0, 0)), Color::Black);
        assert_eq!(map(Color::Rgb(255, 255, 255)), Color::White);
        assert_eq!(map(Color::Rgb(0, 0, 255)), Color::Blue);
        assert_eq!(map(Color::Rgb(0x9e, 0xce, 0x6a)), Color::LightGreen);
        // A pastel amber stays yellow rather than the nearer grey.
        assert_eq!(map(Color::Rgb(0xe0, 0xaf, 0x68)), Color::LightYellow);
        assert_eq!(map(Color::Rgb(0x56, 0x5f, 0x6a)), Color::DarkGray);
        assert_eq!(map(Color::Indexed(9)), Color::LightRed);
        assert_eq!(map(Color::Indexed(196)), Color::Red);
        assert_eq!(map(Color::Cyan), Color::Cyan);
        assert_eq!(map(Color::Reset), Color::Reset);
        let truecolor = |c| adapt_color(c, ColorSupport::TrueColor);
        assert_eq!(truecolor(Color::Rgb(1, 2, 3)), Color::Rgb(1, 2, 3));
        let indexed = |c| adapt_color(c, ColorSupport::Indexed256);
        assert_eq!(indexed(Color::Rgb(255, 0, 0)), Color::Indexed(196));
        assert_eq!(indexed(Color::Red), Color::Red);
    }

    #[test]
    fn no_color_keeps_only_modifiers_and_marks_what_matters() {
        for name in Theme::builtin_names() {
            let (theme, _) = Theme::load(name, None, ColorSupport::None).unwrap();
            for role in Role::ALL {
                let style = theme.style(*role);
                assert_eq!((style.fg, style.bg), (None, None), "{name} {role:?}");
                assert!(style.underline_color.is_none());
            }
            let has = |role, m: Modifier| theme.style(role).add_modifier.contains(m);
            assert!(has(Role::Selection, Modifier::REVERSED));
            assert!(has(Role::TabActive, Modifier::REVERSED));
            assert!(has(
                Role::HeaderProtected,
                Modifier::REVERSED | Modifier::BOLD
            ));
            assert!(has(Role::Danger, Modifier::BOLD | Modifier::UNDERLINED));
            assert!(has(
                Role::MatchHighlight,
                Modifier::BOLD | Modifier::UNDERLINED
            ));
            assert!(has(Role::Error, Modifier::BOLD));
            assert!(has(Role::BadgeExpiring, Modifier::BOLD));
            let accent = theme.with_production_accent();
            assert_eq!(accent.style(Role::Header).bg, None);
            assert!(accent
                .style(Role::Header)
                .add_modifier
                .contains(Modifier::REVERSED | Modifier::BOLD));
        }
    }

    #[test]
    fn production_accent_turns_the_header_red() {
        for name in Theme::builtin_names() {
            let (theme, _) = Theme::load(name, None, ColorSupport::TrueColor).unwrap();
            let accent = theme.with_production_accent();
            assert_eq!(accent.name, theme.name);
            let Some(Color::Rgb(r, g, b)) = accent.style(Role::Header).bg else {
                panic!("{name}: no RGB header background");
            };
            assert!(r > 150 && g < 60 && b < 60, "{name}: ({r}, {g}, {b})");
            assert!(accent
                .style(Role::Header)
                .add_modifier
                .contains(Modifier::BOLD));
            assert_ne!(
                accent.style(Role::BorderFocus),
                theme.style(Role::BorderFocus)
            );
            assert_eq!(accent.style(Role::Text), theme.style(Role::Text));

            let (theme, _) = Theme::load(name, None, ColorSupport::Ansi16).unwrap();
            let bg = theme.with_production_accent().style(Role::Header).bg;
            assert!(matches!(bg, Some(Color::Red | Color::LightRed)), "{bg:?}");

            let (theme, _) = Theme::load(name, None, ColorSupport::Indexed256).unwrap();
            let bg = theme.with_production_accent().style(Role::Header).bg;
            assert!(matches!(bg, Some(Color::Indexed(_))), "{bg:?}");
        }
    }

    #[test]
    fn a_user_theme_extends_a_builtin_and_warns_about_what_it_cannot_use() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "mine",
            r##"
                extends = "dark"
                [roles]
                selection = { fg = "black", bg = "#00ff00", bold = true }
                error = { fg = "#zzzzzz" }
                sparkle = { fg = "red" }
                warn = { fg = "yellow", blink = true }
            "##,
        );
        let (theme, warnings) =
            Theme::load("mine", Some(dir.path()), ColorSupport::TrueColor).unwrap();
        let (dark, _) = Theme::load("dark", None, ColorSupport::TrueColor).unwrap();
        assert_eq!(theme.name, "mine");
        assert_eq!(theme.description, dark.description);
        assert_eq!(
            theme.style(Role::Selection),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Rgb(0, 255, 0))
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(theme.style(Role::Error), dark.style(Role::Error));
        assert_eq!(theme.style(Role::Warn), dark.style(Role::Warn));
        assert_eq!(theme.style(Role::Text), dark.style(Role::Text));
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        let has = |s: &str| warnings.iter().any(|w| w.contains(s));
        assert!(has("\"#zzzzzz\""), "{warnings:?}");
        assert!(has("unknown role \"sparkle\""), "{warnings:?}");
        assert!(has("role warn"), "{warnings:?}");
    }

    #[test]
    fn a_user_theme_without_extends_warns_about_missing_roles() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bare", "[roles]\ntext = { fg = \"15\" }\n");
        let (theme, warnings) =
            Theme::load("bare", Some(dir.path()), ColorSupport::TrueColor).unwrap();
        assert_eq!(theme.style(Role::Text).fg, Some(Color::Indexed(15)));
        assert_eq!(theme.style(Role::Selection), Style::new());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("selection"), "{warnings:?}");
    }

    #[test]
    fn a_user_file_overrides_the_builtin_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "light",
            "description = \"mine\"\nextends = \"dark\"\n[roles]\ntext = { fg = \"reset\" }\n",
        );
        let (theme, _) = Theme::load("light", Some(dir.path()), ColorSupport::TrueColor).unwrap();
        let (dark, _) = Theme::load("dark", None, ColorSupport::TrueColor).unwrap();
        assert_eq!(theme.description, "mine");
        assert_eq!(theme.style(Role::Text).fg, Some(Color::Reset));
        assert_eq!(theme.style(Role::Header), dark.style(Role::Header));

        // Extending its own name means the built-in it replaces.
        write(
            dir.path(),
            "dark",
            "extends = \"dark\"\n[roles]\ntext = { fg = \"white\" }\n",
        );
        let (theme, warnings) =
            Theme::load("dark", Some(dir.path()), ColorSupport::TrueColor).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(theme.style(Role::Text).fg, Some(Color::White));
        assert_eq!(theme.style(Role::Header), dark.style(Role::Header));
    }

    #[test]
    fn extends_loops_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", "extends = \"b\"\n");
        write(dir.path(), "b", "extends = \"a\"\n");
        write(dir.path(), "c", "extends = \"c\"\n");
        for name in ["a", "c"] {
            let err = Theme::load(name, Some(dir.path()), ColorSupport::TrueColor).unwrap_err();
            assert!(matches!(err, ThemeError::Cycle { .. }), "{err}");
        }
    }

    #[test]
    fn unknown_names_list_what_is_available() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "solarized", "extends = \"light\"\n");
        write(dir.path(), "dark", "extends = \"dark\"\n");
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let err = Theme::load("nope", Some(dir.path()), ColorSupport::TrueColor).unwrap_err();
        let ThemeError::Unknown { available, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(available, "dark, light, high-contrast, solarized");
        assert!(err.to_string().contains("\"nope\""), "{err}");

        let err = Theme::load("../dark", Some(dir.path()), ColorSupport::TrueColor).unwrap_err();
        assert!(matches!(err, ThemeError::Unknown { .. }), "{err}");
        let err = Theme::load("production", None, ColorSupport::TrueColor).unwrap_err();
        assert!(matches!(err, ThemeError::Unknown { .. }), "{err}");
        // An unknown base is reported the same way.
        write(dir.path(), "broken", "extends = \"drak\"\n");
        let err = Theme::load("broken", Some(dir.path()), ColorSupport::TrueColor).unwrap_err();
        assert!(err.to_string().contains("\"drak\""), "{err}");
    }

    #[test]
    fn invalid_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bad", "roles = [\n");
        write(dir.path(), "typo", "extend = \"dark\"\n");
        for name in ["bad", "typo"] {
            let err = Theme::load(name, Some(dir.path()), ColorSupport::TrueColor).unwrap_err();
            assert!(matches!(err, ThemeError::Parse { .. }), "{err}");
            assert!(err.to_string().contains(&format!("{name}.toml")), "{err}");
        }
    }
}
