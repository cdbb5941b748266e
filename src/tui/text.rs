//! External text made inert before it reaches the screen.
//!
//! Resource names, tags, error messages and JSON come from Azure, and through it from whoever
//! controls a tenant. Written to the terminal as they are, an escape sequence could clear the
//! screen, move the cursor over our own text, set the window title or write the clipboard
//! (OSC 52); a bidi override could make `evil` U+202E `gpj.exe` read as `evilexe.jpg`; a 10 MB
//! tag could stall a frame. Everything external goes through [`sanitize`] (or
//! [`sanitize_lines`]) once, when it enters the UI's state, and is then cut to its column with
//! [`fit`].
//!
//! Choices:
//! - Escape sequences (7-bit `ESC …` and 8-bit C1 introducers) are removed whole, parameters and
//!   payloads included: they carry no text meant for a reader, and what is left around them (the
//!   link text of an OSC 8 hyperlink, the word inside SGR colour) survives.
//! - `\n`, `\r`, `\t` (and U+2028/U+2029) become `·`: a line break inside a one-line cell must
//!   not move the cursor, yet the reader should see that something was there.
//! - Every other control (C0, DEL, C1) becomes `�`, so a NUL or a backspace is visible, not
//!   silently dropped (a backspace could otherwise hide that two strings differ).
//! - Bidi controls are removed: a visible marker would not help, and without them the text shows
//!   in its stored order.
//! - The limit counts output characters and includes the `…` that marks a cut, so the result
//!   never has more than `max_chars` characters.

use std::borrow::Cow;
use std::str::Chars;

use ratatui::buffer::CellWidth;
use ratatui::style::Style;
use ratatui::text::Span;

/// Shown in place of `\n`, `\r`, `\t`, U+2028 and U+2029.
pub const BREAK_MARK: char = '·';
/// Shown in place of every other control character (C0, DEL, C1).
pub const CONTROL_MARK: char = '\u{FFFD}';
/// Appended when text is cut.
pub const ELLIPSIS: char = '…';

/// Input bytes [`sanitize`] may look at per output character. Escape sequences produce nothing,
/// so a line may spend several bytes per visible character (`ESC[38;2;255;0;0mX` is 19); past
/// this the text is cut as if it were too long.
const SCAN_BYTES_PER_CHAR: usize = 32;
/// Lets a short limit still see a short string with a few colour codes.
const SCAN_SLACK: usize = 256;

/// The most input bytes [`sanitize`] looks at for a given `max_chars`: what bounds its work.
pub fn scan_limit(max_chars: usize) -> usize {
    max_chars
        .saturating_mul(SCAN_BYTES_PER_CHAR)
        .saturating_add(SCAN_SLACK)
}

/// One line of display text.
///
/// Removed whole: CSI (`ESC [ … final`), OSC (`ESC ] … BEL | ST`), DCS/SOS/PM/APC
/// (`ESC P|X|^|_ … ST`), other escapes (`ESC` intermediates* final, e.g. `ESC ( B`), a bare
/// `ESC`, and the 8-bit forms U+009B (CSI), U+009D (OSC), U+0090/U+0098/U+009E/U+009F; an
/// unterminated sequence runs to the end of the input. Replaced: `\n` `\r` `\t` U+2028 U+2029 by
/// [`BREAK_MARK`], other C0, DEL and C1 by [`CONTROL_MARK`]. Removed: bidi controls (U+202A–202E,
/// U+2066–2069, U+200E, U+200F, U+061C).
///
/// The result has at most `max_chars` characters, its last one [`ELLIPSIS`] when cut. At most
/// [`scan_limit`]`(max_chars)` bytes of input are read, so a 10 MB string costs what a 10 kB one
/// does (its tail is cut). Clean text that fits is returned borrowed, without allocating.
pub fn sanitize(s: &str, max_chars: usize) -> Cow<'_, str> {
    sanitize_counted(s, max_chars).0
}

/// [`sanitize`], also returning how many input bytes it looked at (what the tests bound).
fn sanitize_counted(s: &str, max_chars: usize) -> (Cow<'_, str>, usize) {
    if max_chars == 0 {
        return (Cow::Borrowed(""), 0);
    }
    // The common case: plain text that fits. Reads at most max_chars + 1 characters.
    let mut read = 0;
    let mut clean = true;
    for (seen, c) in s.chars().enumerate() {
        if seen == max_chars || !is_plain(c) {
            clean = false;
            break;
        }
        read += c.len_utf8();
    }
    if clean {
        return (Cow::Borrowed(s), read);
    }

    let limit = scan_limit(max_chars);
    let mut end = s.len().min(limit);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let window = &s[..end];
    let input_cut = end < s.len();

    let mut out = Out::new(max_chars, window.len());
    let mut it = window.chars();
    while let Some(c) = it.next() {
        let shown = match c {
            '\x1b' => {
                skip_escape(&mut it);
                None
            }
            '\u{9b}' => {
                skip_csi(&mut it);
                None
            }
            '\u{9d}' => {
                skip_string(&mut it, true);
                None
            }
            '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut it, false);
                None
            }
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' => Some(BREAK_MARK),
            c if is_bidi(c) => None,
            c if is_control(c) => Some(CONTROL_MARK),
            c => Some(c),
        };
        if let Some(c) = shown {
            if !out.push(c) {
                return (Cow::Owned(out.cut()), window.len());
            }
        }
    }
    let text = if input_cut { out.cut() } else { out.text };
    (Cow::Owned(text), window.len())
}

/// Multi-line text (JSON, error details): [`sanitize`] per line, at most `max_lines` lines of at
/// most `max_chars` characters. Lines end at `\n` (a `\r` before it is dropped); like
/// [`str::lines`], a final line break adds no empty line. When lines are left out, the last line
/// kept ends with [`ELLIPSIS`]. Work is bounded by `max_lines` × [`scan_limit`]`(max_chars)`
/// bytes: a line longer than that ends the text.
pub fn sanitize_lines(s: &str, max_chars: usize, max_lines: usize) -> Vec<String> {
    let mut budget = scan_limit(max_chars).saturating_mul(max_lines);
    let mut lines = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if lines.len() == max_lines {
            mark_cut(&mut lines, max_chars);
            break;
        }
        let search = &rest.as_bytes()[..rest.len().min(budget)];
        match search.iter().position(|&b| b == b'\n') {
            Some(i) => {
                // `\n` is ASCII: both sides of it are char boundaries.
                let line = &rest[..i];
                let line = line.strip_suffix('\r').unwrap_or(line);
                lines.push(sanitize(line, max_chars).into_owned());
                budget -= i + 1;
                rest = &rest[i + 1..];
            }
            None if search.len() == rest.len() => {
                lines.push(sanitize(rest, max_chars).into_owned());
                break;
            }
            None => {
                // The budget ends inside this line: show what sanitize shows of it, then stop.
                lines.push(sanitize(rest, max_chars).into_owned());
                mark_cut(&mut lines, max_chars);
                break;
            }
        }
    }
    lines
}

/// Cuts already-sanitized text to `width` terminal columns, its last column [`ELLIPSIS`] when
/// cut. Widths are ratatui's (per grapheme: wide CJK 2, combining marks 0), so what fits here
/// fits on screen.
pub fn fit(s: &str, width: usize) -> Cow<'_, str> {
    if s.bytes().all(|b| matches!(b, b' '..=b'~')) {
        if s.len() <= width {
            return Cow::Borrowed(s);
        }
        if width == 0 {
            return Cow::Borrowed("");
        }
        let mut cut = String::with_capacity(width + 2);
        cut.push_str(&s[..width - 1]);
        cut.push(ELLIPSIS);
        return Cow::Owned(cut);
    }
    let span = Span::raw(s);
    let room = width.saturating_sub(1);
    let mut used = 0;
    // Where the text that leaves room for the ellipsis ends.
    let mut keep = None;
    for g in span.styled_graphemes(Style::default()) {
        let w = usize::from(g.symbol.cell_width());
        if keep.is_none() && used + w > room {
            keep = Some(offset_in(s, g.symbol));
        }
        used += w;
        if used > width {
            if width == 0 {
                return Cow::Borrowed("");
            }
            let head = s.get(..keep.unwrap_or(0)).unwrap_or("");
            let mut cut = String::with_capacity(head.len() + 3);
            cut.push_str(head);
            cut.push(ELLIPSIS);
            return Cow::Owned(cut);
        }
    }
    Cow::Borrowed(s)
}

/// The display width of already-sanitized text, as ratatui lays it out.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        // ratatui skips control characters; sanitized text has none.
        return s.bytes().filter(|b| !b.is_ascii_control()).count();
    }
    Span::raw(s)
        .styled_graphemes(Style::default())
        .map(|g| usize::from(g.symbol.cell_width()))
        .sum()
}

/// Hostile strings for tests here and in the TUI's render tests: `(label, text)`.
pub fn hostile_fixtures() -> Vec<(&'static str, String)> {
    let fixtures: [(&'static str, &str); 24] = [
        ("sgr colour", "a\x1b[31mred\x1b[0mb"),
        ("cursor movement", "\x1b[2J\x1b[Hscreen cleared\x1b[10;20H"),
        (
            "osc 8 hyperlink",
            "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
        ),
        (
            "osc 52 clipboard",
            "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07copied",
        ),
        ("osc window title", "\x1b]0;pwned\x07title"),
        ("dcs", "\x1bP1$r0m\x1b\\after dcs"),
        ("apc", "\x1b_hidden payload\x1b\\shown"),
        ("charset designation", "\x1b(0lqk\x1b(B"),
        ("8-bit csi", "x\u{9b}31mred\u{9b}0my"),
        ("8-bit osc", "\u{9d}0;title\u{9c}after"),
        ("bare esc at end", "trailing\x1b"),
        ("unterminated csi at end", "text\x1b[38;2;255"),
        ("unterminated osc at end", "before\x1b]0;never ends"),
        ("bel", "ding\x07dong"),
        ("backspace", "safe\x08\x08\x08\x08evil"),
        ("carriage return overwrite", "rm -rf /\rls -la   "),
        ("nul and del", "nul\0byte del\x7fete"),
        ("bidi rlo", "evil\u{202E}gpj.exe"),
        ("bidi isolates", "\u{2067}abc\u{2069}\u{200F}\u{061C}d"),
        (
            "zero-width joiners",
            "👨\u{200D}👩\u{200D}👧 family a\u{200D}b",
        ),
        (
            "combining marks",
            "e\u{301}\u{302}\u{303} Z\u{324}\u{354}\u{367}algo\u{319}",
        ),
        ("wide cjk", "资源组-生产环境-東京"),
        ("emoji", "🚀 deploy ✅ ❤\u{FE0F} 🇺🇸"),
        ("newlines", "line1\nline2\r\nline3\n\n\tindented\u{2028}sep"),
    ];
    let mut all: Vec<(&'static str, String)> = fixtures
        .iter()
        .map(|&(label, text)| (label, text.to_owned()))
        .collect();
    all.push(("10,000 chars", "x".repeat(10_000)));
    all.push(("10,000 chars of escapes", "\x1b[31m".repeat(2_000)));
    all.push(("10,000 wide chars", "界".repeat(10_000)));
    all
}

/// Printable and harmless as it is.
fn is_plain(c: char) -> bool {
    matches!(c, ' '..='~') || (c >= '\u{a0}' && !is_bidi(c) && c != '\u{2028}' && c != '\u{2029}')
}

fn is_control(c: char) -> bool {
    c < ' ' || ('\x7f'..='\u{9f}').contains(&c)
}

/// The controls that reorder text (embeddings, overrides, isolates, marks).
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// After `ESC`: the rest of the sequence it introduces.
fn skip_escape(it: &mut Chars<'_>) {
    match it.as_str().chars().next() {
        Some('[') => {
            it.next();
            skip_csi(it);
        }
        Some(']') => {
            it.next();
            skip_string(it, true);
        }
        Some('P' | 'X' | '^' | '_') => {
            it.next();
            skip_string(it, false);
        }
        // `ESC` intermediates (0x20–0x2F)* final (0x30–0x7E), e.g. `ESC ( B`, `ESC # 8`, `ESC c`.
        Some(' '..='~') => {
            while let Some(' '..='/') = it.as_str().chars().next() {
                it.next();
            }
            if let Some('0'..='~') = it.as_str().chars().next() {
                it.next();
            }
        }
        // A bare ESC: dropped; what follows is read on its own.
        _ => {}
    }
}

/// After a CSI introducer: parameter and intermediate bytes (0x20–0x3F), then a final byte
/// (0x40–0x7E). Anything else ends the sequence and is read on its own.
fn skip_csi(it: &mut Chars<'_>) {
    while let Some(c) = it.as_str().chars().next() {
        match c {
            ' '..='?' => {
                it.next();
            }
            '@'..='~' => {
                it.next();
                return;
            }
            _ => return,
        }
    }
}

/// After an OSC/DCS/SOS/PM/APC introducer: everything up to ST (`ESC \` or U+009C), or BEL
/// for OSC. An `ESC` not followed by `\` ends the string and starts a new sequence, as in
/// terminals.
fn skip_string(it: &mut Chars<'_>, osc: bool) {
    loop {
        let rest = it.as_str();
        if rest.starts_with('\x1b') {
            if rest.as_bytes().get(1) == Some(&b'\\') {
                it.next();
                it.next();
            }
            return;
        }
        match it.next() {
            None | Some('\u{9c}') => return,
            Some('\x07') if osc => return,
            Some(_) => {}
        }
    }
}

/// Output of at most `max` characters, remembering where the first `max - 1` end so that a cut
/// can put the ellipsis in the last place.
struct Out {
    text: String,
    chars: usize,
    max: usize,
    before_last: usize,
}

impl Out {
    fn new(max: usize, input_len: usize) -> Out {
        let capacity = input_len.min(max.saturating_mul(4));
        Out {
            text: String::with_capacity(capacity),
            chars: 0,
            max,
            before_last: 0,
        }
    }

    /// False when full: the text must be cut.
    fn push(&mut self, c: char) -> bool {
        if self.chars == self.max {
            return false;
        }
        if self.chars + 1 == self.max {
            self.before_last = self.text.len();
        }
        self.text.push(c);
        self.chars += 1;
        true
    }

    fn cut(mut self) -> String {
        if self.max == 0 {
            return String::new();
        }
        if self.chars == self.max {
            self.text.truncate(self.before_last);
        }
        self.text.push(ELLIPSIS);
        self.text
    }
}

/// Marks the last line as followed by more: ends it with the ellipsis, keeping `max_chars`.
fn mark_cut(lines: &mut [String], max_chars: usize) {
    let Some(last) = lines.last_mut() else {
        return;
    };
    if max_chars == 0 || last.ends_with(ELLIPSIS) {
        return;
    }
    if last.chars().count() >= max_chars {
        last.pop();
    }
    last.push(ELLIPSIS);
}

/// The byte offset of `sub` in `s`, `sub` being a slice of `s`.
pub(crate) fn offset_in(s: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).wrapping_sub(s.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_forbidden(c: char) -> bool {
        is_control(c) || is_bidi(c) || c == '\u{2028}' || c == '\u{2029}'
    }

    fn assert_inert(label: &str, text: &str) {
        if let Some(c) = text.chars().find(|&c| is_forbidden(c)) {
            panic!("{label}: {c:?} survived in {text:?}");
        }
    }

    #[test]
    fn fixtures_come_out_inert() {
        for (label, text) in hostile_fixtures() {
            for max in [0, 1, 2, 5, 20, 80, 200, 20_000] {
                let clean = sanitize(&text, max);
                assert_inert(label, &clean);
                assert!(clean.chars().count() <= max, "{label} at {max}: {clean:?}");
                for line in sanitize_lines(&text, max, 5) {
                    assert_inert(label, &line);
                    assert!(line.chars().count() <= max, "{label} at {max}: {line:?}");
                }
            }
        }
    }

    #[test]
    fn text_around_sequences_survives() {
        let cases = [
            ("a\x1b[31mred\x1b[0mb", "aredb"),
            ("\x1b[2J\x1b[Hscreen cleared\x1b[10;20H", "screen cleared"),
            (
                "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
                "click me",
            ),
            ("\x1b]52;c;Y3VybA==\x07copied", "copied"),
            ("\x1b]0;pwned\x07title", "title"),
            ("\x1bP1$r0m\x1b\\after dcs", "after dcs"),
            ("\x1b_hidden\x1b\\shown", "shown"),
            ("\x1b(0lqk\x1b(B", "lqk"),
            ("\x1b#8x\x1bcy\x1b7z", "xyz"),
            ("x\u{9b}31mred\u{9b}0my", "xredy"),
            ("\u{9d}0;title\u{9c}after", "after"),
            ("\u{90}q\u{9c}ok", "ok"),
            ("evil\u{202E}gpj.exe", "evilgpj.exe"),
            ("\u{2067}abc\u{2069}\u{200F}\u{061C}d\u{200E}", "abcd"),
            // An ESC inside a string ends it: the sequence it starts is removed in turn.
            ("\x1b]0;t\x1b[1mbold", "bold"),
            // A CSI broken by a non-CSI character ends there; that character is read on its own.
            ("\x1b[31\u{e9}t\x1b[1\x07x", "\u{e9}t\u{FFFD}x"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input, 100), want, "{input:?}");
        }
    }

    #[test]
    fn controls_become_visible() {
        assert_eq!(sanitize("ding\x07dong", 100), "ding\u{FFFD}dong");
        assert_eq!(sanitize("ab\x08\x08cd", 100), "ab\u{FFFD}\u{FFFD}cd");
        assert_eq!(sanitize("rm -rf /\rls", 100), "rm -rf /·ls");
        assert_eq!(sanitize("a\nb\tc\r\nd", 100), "a·b·c··d");
        assert_eq!(sanitize("nul\0 del\x7f c1\u{85}", 100), "nul� del� c1�");
        assert_eq!(sanitize("lone st\u{9c}", 100), "lone st�");
    }

    #[test]
    fn unterminated_sequences_at_the_end_are_removed() {
        assert_eq!(sanitize("trailing\x1b", 100), "trailing");
        assert_eq!(sanitize("text\x1b[38;2;255", 100), "text");
        assert_eq!(sanitize("before\x1b]0;never ends", 100), "before");
        assert_eq!(sanitize("before\x1bP never ends", 100), "before");
        assert_eq!(sanitize("x\u{9b}", 100), "x");
        assert_eq!(sanitize("\x1b", 100), "");
    }

    #[test]
    fn max_chars_is_honoured_with_an_ellipsis() {
        assert_eq!(sanitize("abcdef", 6), "abcdef");
        assert_eq!(sanitize("abcdefg", 6), "abcde…");
        assert_eq!(sanitize("abcdefg", 1), "…");
        assert_eq!(sanitize("abcdefg", 0), "");
        assert_eq!(sanitize("a\x1b[1mbcdefg", 6), "abcde…");
        assert_eq!(sanitize("a\x1b[1mbcdef", 6), "abcdef");
        assert_eq!(sanitize("界界界界", 3), "界界…");
        assert_eq!(sanitize("ab\ncd", 4), "ab·…");
        // Escapes count for nothing: only output characters do.
        assert_eq!(sanitize("\x1b[31m\x1b[1m\x1b[4mok\x1b[0m", 2), "ok");
    }

    #[test]
    fn clean_text_is_borrowed() {
        for s in ["", "dagster-webserver", "資源組 ✅ e\u{301}", "a b  c"] {
            assert!(matches!(sanitize(s, 100), Cow::Borrowed(_)), "{s:?}");
        }
        assert!(matches!(sanitize("abc", 3), Cow::Borrowed("abc")));
        assert!(matches!(sanitize("abcd", 3), Cow::Owned(_)));
        assert!(matches!(sanitize("a\x1b[0m", 100), Cow::Owned(_)));
    }

    #[test]
    fn work_is_bounded_by_max_chars() {
        let huge_plain = "x".repeat(10_000_000);
        let huge_escapes = "\x1b[31m".repeat(2_000_000);
        let huge_osc = format!("start\x1b]0;{}", "y".repeat(10_000_000));
        let huge_wide = "界".repeat(3_000_000);
        for huge in [&huge_plain, &huge_escapes, &huge_osc, &huge_wide] {
            for max in [1, 80, 1_000] {
                let (text, scanned) = sanitize_counted(huge, max);
                assert!(
                    scanned <= scan_limit(max),
                    "{max}: looked at {scanned} bytes"
                );
                assert!(text.chars().count() <= max);
            }
        }
        // Past the scan limit, text is cut even if few characters came out.
        let (text, _) = sanitize_counted(&huge_escapes, 80);
        assert_eq!(text, "…");
        let (text, _) = sanitize_counted(&huge_plain, 80);
        assert_eq!(text.chars().count(), 80);
        assert!(text.ends_with('…'));
        // Many lines, or one endless line: the same bound per line kept.
        let many_lines = "line\n".repeat(2_000_000);
        let lines = sanitize_lines(&many_lines, 80, 50);
        assert_eq!(lines.len(), 50);
        assert_eq!(lines[49], "line…");
        let lines = sanitize_lines(&format!("{huge_plain}\nsecond"), 80, 50);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with('…'));
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            sanitize_lines("{\n  \"a\": \"\x1b[31mx\"\r\n}\n", 80, 10),
            ["{", "  \"a\": \"x\"", "}"]
        );
        assert_eq!(sanitize_lines("", 80, 10), Vec::<String>::new());
        assert_eq!(sanitize_lines("a\n\nb", 80, 10), ["a", "", "b"]);
        assert_eq!(sanitize_lines("a\rb\tc", 80, 10), ["a·b·c"]);
        assert_eq!(sanitize_lines("1\n2\n3\n4", 80, 2), ["1", "2…"]);
        assert_eq!(sanitize_lines("12\n3", 2, 1), ["1…"]);
        assert_eq!(sanitize_lines("1\n2", 80, 0), Vec::<String>::new());
        assert_eq!(sanitize_lines("abcdef\nx", 4, 3), ["abc…", "x"]);
    }

    #[test]
    fn fit_never_exceeds_the_width() {
        let mut texts: Vec<String> = hostile_fixtures()
            .iter()
            .map(|(_, text)| sanitize(text, 300).into_owned())
            .collect();
        texts.push("ｶﾞｷﾞ halfwidth sound marks".to_owned());
        texts.push("a界b界c界d".to_owned());
        for text in &texts {
            let full = width(text);
            for w in 0..=full + 3 {
                let cut = fit(text, w);
                assert!(width(&cut) <= w, "{text:?} at {w}: {cut:?}");
                if full <= w {
                    assert_eq!(cut, text.as_str());
                    assert!(matches!(cut, Cow::Borrowed(_)));
                } else {
                    assert!(w == 0 || cut.ends_with('…'), "{text:?} at {w}: {cut:?}");
                    // Cutting wastes only what a grapheme that did not fit would have taken
                    // (ratatui counts `ｶﾞ` as 3 columns).
                    assert!(width(&cut) + 2 >= w, "{text:?} at {w}: {cut:?}");
                }
            }
        }
    }

    #[test]
    fn fit_and_width_on_known_text() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("界b"), 3);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("👨\u{200D}👩\u{200D}👧"), 2);
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 0), "");
        assert_eq!(fit("界界界", 4), "界…");
        assert_eq!(fit("界界界", 5), "界界…");
        assert_eq!(fit("界界界", 6), "界界界");
        assert_eq!(fit("ae\u{301}\u{302}bc", 3), "ae\u{301}\u{302}…");
    }
}
