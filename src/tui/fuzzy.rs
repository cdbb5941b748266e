//! The `/` filter and the command palette: fzf-style fuzzy matching (nucleo's matcher, the one
//! helix uses) and highlighting of the matched characters.
//!
//! A view keeps one [`Fuzzy`] and calls [`Fuzzy::filter`] on every key press: the matchers'
//! scratch memory (about 135 kB each), the parsed query and the UTF-32 buffers are reused, so a
//! keystroke allocates only the list of hits (and a list of the rows when it splits them
//! between threads). Filtering skips match positions; the view asks [`Fuzzy::positions`] for
//! the few rows it draws.
//!
//! nucleo's best-match search costs O(query × row length) per row; a query every row matches
//! (`Microsoft`) takes more than a frame for 20,000 rows. Two things keep a keystroke short,
//! without changing any result:
//! - most of the time the user types the start of a word that follows a space (a name, a
//!   type, a resource group): the O(row) greedy match then already reaches the highest score
//!   any match of that atom can have, so it is the best match and the search is skipped;
//! - large lists are split between threads (scoped, joined before `filter` returns: the event
//!   loop sees a plain function call).

use std::cmp::Reverse;
use std::num::NonZeroUsize;
use std::thread;

use nucleo_matcher::chars::graphemes;
use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::offset_in;

/// Below this many rows, one thread: starting another costs more than it saves.
const ROWS_PER_THREAD: usize = 2_000;
/// More threads than this gain little on 20,000 rows and take cores from the runtime.
const MAX_THREADS: usize = 4;
/// nucleo's scoring (`score.rs`): a matched char scores 16 plus a bonus of at most 10 (a word
/// start after whitespace; consecutive chars inherit their run's bonus, gaps only subtract), and
/// the first char's bonus counts twice. So an atom of `n` chars scores at most `26 n + 10`,
/// which a run right after whitespace reaches. Checked against nucleo when a query is parsed:
/// if its scoring ever changes, the shortcut turns itself off.
const SCORE_PER_CHAR_MAX: u16 = 16 + 10;
const FIRST_CHAR_EXTRA_MAX: u16 = 10;
/// Longer needles are rare and nucleo's u16 scores would overflow the bound.
const SHORTCUT_MAX_LEN: usize = 256;

/// A reusable matcher; one per view.
#[derive(Debug)]
pub struct Fuzzy {
    /// `query` parsed; re-parsed only when the query changes.
    pattern: Pattern,
    query: String,
    /// Per atom of `pattern`: whether its greedy match can stand for the best one.
    shortcuts: Vec<Option<Shortcut>>,
    /// How many threads `filter` may use.
    threads: usize,
    /// One per thread used so far; the first also serves `positions`.
    workers: Vec<Worker>,
}

/// A matching row.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The row's index in the haystacks given to [`Fuzzy::filter`].
    pub index: usize,
    /// Higher is better; 0 for an empty query (or one of negations only).
    pub score: u32,
    /// Char indices into the haystack, sorted, deduped; empty unless asked for.
    pub positions: Vec<u32>,
}

impl Default for Fuzzy {
    fn default() -> Self {
        Fuzzy::new()
    }
}

impl Fuzzy {
    /// Uses up to as many threads as there are cores (at most 4) on long lists.
    pub fn new() -> Fuzzy {
        let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Fuzzy::with_threads(cores.min(MAX_THREADS))
    }

    /// At most `threads` threads (1: only the caller's), for tests and benchmarks.
    pub fn with_threads(threads: usize) -> Fuzzy {
        Fuzzy {
            pattern: Pattern::default(),
            query: String::new(),
            shortcuts: Vec::new(),
            threads: threads.max(1),
            workers: vec![Worker::new()],
        }
    }

    /// The rows matching `query`, best score first, ties in row order.
    ///
    /// The query is fzf's syntax: space-separated atoms that must all match (`\ ` is a literal
    /// space), each fuzzy unless written `'exact`, `^prefix`, `suffix$`, `^whole$` or negated
    /// with `!` (`!word` excludes rows containing `word`). Case is smart (an atom with a capital
    /// respects case), and Latin letters match their accented forms (`cafe` finds `café`).
    /// An empty query keeps every row, in order. Positions are computed only `with_positions`.
    pub fn filter<'a>(
        &mut self,
        query: &str,
        haystacks: impl Iterator<Item = &'a str>,
        with_positions: bool,
    ) -> Vec<Hit> {
        self.filter_rows(query, haystacks, with_positions, None)
    }

    /// [`filter`](Fuzzy::filter) for rows made of fields joined by `sep` (name, type, group…):
    /// each atom must match within one field, different atoms may match different fields. On
    /// the joined text `pg` would match every row with a `p` in one field and a `g` in a later one
    /// (`containerApps  rg-prod`). Negated atoms apply to the whole row. No positions.
    pub fn filter_fields<'a>(
        &mut self,
        query: &str,
        sep: char,
        haystacks: impl Iterator<Item = &'a str>,
    ) -> Vec<Hit> {
        self.filter_rows(query, haystacks, false, Some(sep))
    }

    fn filter_rows<'a>(
        &mut self,
        query: &str,
        haystacks: impl Iterator<Item = &'a str>,
        with_positions: bool,
        sep: Option<char>,
    ) -> Vec<Hit> {
        self.set_query(query);
        if self.pattern.atoms.is_empty() {
            return haystacks
                .enumerate()
                .map(|(index, _)| Hit {
                    index,
                    score: 0,
                    positions: Vec::new(),
                })
                .collect();
        }
        let rows: Vec<&str> = haystacks.collect();
        let threads = self.threads.min(rows.len() / ROWS_PER_THREAD).max(1);
        while self.workers.len() < threads {
            self.workers.push(Worker::new());
        }
        let pattern = &self.pattern;
        let shortcuts = &self.shortcuts;
        let mut hits = Vec::new();
        let Some((first, others)) = self.workers.split_first_mut() else {
            return hits;
        };
        if threads == 1 {
            first.filter(
                pattern,
                shortcuts,
                &rows,
                0,
                (with_positions, sep),
                &mut hits,
            );
        } else {
            let chunk = rows.len().div_ceil(threads);
            let mut parts = rows.chunks(chunk);
            let head = parts.next().unwrap_or_default();
            thread::scope(|scope| {
                let mut spawned = Vec::with_capacity(threads - 1);
                let mut unspawned = Vec::new();
                for (n, (worker, part)) in others.iter_mut().zip(parts).enumerate() {
                    let offset = (n + 1) * chunk;
                    let job = move || {
                        let mut hits = Vec::new();
                        worker.filter(
                            pattern,
                            shortcuts,
                            part,
                            offset,
                            (with_positions, sep),
                            &mut hits,
                        );
                        hits
                    };
                    match thread::Builder::new().spawn_scoped(scope, job) {
                        Ok(handle) => spawned.push(handle),
                        // No thread to be had: the part is matched here.
                        Err(_) => unspawned.push((offset, part)),
                    }
                }
                first.filter(
                    pattern,
                    shortcuts,
                    head,
                    0,
                    (with_positions, sep),
                    &mut hits,
                );
                for (offset, part) in unspawned {
                    first.filter(
                        pattern,
                        shortcuts,
                        part,
                        offset,
                        (with_positions, sep),
                        &mut hits,
                    );
                }
                for handle in spawned {
                    match handle.join() {
                        Ok(part_hits) => hits.extend(part_hits),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            });
        }
        hits.sort_unstable_by_key(|hit| (Reverse(hit.score), hit.index));
        hits
    }

    /// The char indices `query` matches in `haystack` (sorted, deduped), `None` when it does
    /// not match: for highlighting the visible rows after a [`filter`](Fuzzy::filter) without
    /// positions. An empty query matches with no positions.
    pub fn positions(&mut self, query: &str, haystack: &str) -> Option<Vec<u32>> {
        self.set_query(query);
        self.workers[0].positions(&self.pattern, haystack)
    }

    fn set_query(&mut self, query: &str) {
        if self.query != query {
            self.pattern
                .reparse(query, CaseMatching::Smart, Normalization::Smart);
            self.query.clear();
            self.query.push_str(query);
            self.shortcuts.clear();
            for atom in &self.pattern.atoms {
                let shortcut = match atom.needle_text() {
                    Utf32Str::Ascii(needle) if atom.kind == AtomKind::Fuzzy && !atom.negative => {
                        Shortcut::new(needle, &mut self.workers[0].matcher)
                    }
                    _ => None,
                };
                self.shortcuts.push(shortcut);
            }
        }
    }
}

/// A fuzzy atom with an ASCII needle, matched on ASCII rows: when nucleo's greedy match scores
/// `ceiling`, no match scores more, and that score is the best match's.
#[derive(Debug, Clone, Copy)]
struct Shortcut {
    ceiling: u16,
    /// What `Atom::score` would set: smart case on an ASCII needle.
    ignore_case: bool,
}

impl Shortcut {
    fn new(needle: &[u8], matcher: &mut Matcher) -> Option<Shortcut> {
        // One char is a plain search already; longer needles gain nothing from the check.
        if !(2..=SHORTCUT_MAX_LEN).contains(&needle.len()) {
            return None;
        }
        let chars = u16::try_from(needle.len()).ok()?;
        let ceiling = chars * SCORE_PER_CHAR_MAX + FIRST_CHAR_EXTRA_MAX;
        let shortcut = Shortcut {
            ceiling,
            ignore_case: !needle.iter().any(u8::is_ascii_uppercase),
        };
        // The needle right after a space must reach the bound, as the analysis says.
        let mut line = Vec::with_capacity(needle.len() + 1);
        line.push(b' ');
        line.extend_from_slice(needle);
        shortcut.configure(matcher);
        let reached = matcher.fuzzy_match(Utf32Str::Ascii(&line), Utf32Str::Ascii(needle));
        (reached == Some(ceiling)).then_some(shortcut)
    }

    fn configure(self, matcher: &mut Matcher) {
        matcher.config.ignore_case = self.ignore_case;
        matcher.config.normalize = true;
    }
}

/// What one thread needs to match: its own matcher and buffers.
#[derive(Debug)]
struct Worker {
    matcher: Matcher,
    /// A non-ASCII haystack as nucleo reads it: one char per grapheme.
    utf32: Vec<char>,
    indices: Vec<u32>,
    starts: Vec<u32>,
}

impl Worker {
    fn new() -> Worker {
        Worker {
            matcher: Matcher::new(Config::DEFAULT),
            utf32: Vec::new(),
            indices: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// Appends the rows of `rows` that match, numbered from `offset`.
    fn filter(
        &mut self,
        pattern: &Pattern,
        shortcuts: &[Option<Shortcut>],
        rows: &[&str],
        offset: usize,
        (with_positions, sep): (bool, Option<char>),
        hits: &mut Vec<Hit>,
    ) {
        for (n, &haystack) in rows.iter().enumerate() {
            let index = offset + n;
            if let Some(sep) = sep {
                if let Some(score) = self.score_fields(pattern, shortcuts, haystack, sep) {
                    hits.push(Hit {
                        index,
                        score,
                        positions: Vec::new(),
                    });
                }
            } else if with_positions {
                if let Some((score, positions)) = self.indices(pattern, haystack) {
                    hits.push(Hit {
                        index,
                        score,
                        positions,
                    });
                }
            } else if let Some(score) = self.score(pattern, shortcuts, haystack) {
                hits.push(Hit {
                    index,
                    score,
                    positions: Vec::new(),
                });
            }
        }
    }

    /// Each positive atom's best score over the fields of `haystack`; negated atoms on the
    /// whole row.
    fn score_fields(
        &mut self,
        pattern: &Pattern,
        shortcuts: &[Option<Shortcut>],
        haystack: &str,
        sep: char,
    ) -> Option<u32> {
        let mut total = 0;
        for (atom, shortcut) in pattern.atoms.iter().zip(shortcuts) {
            let score = if atom.negative {
                let utf32 = to_utf32(haystack, &mut self.utf32);
                atom.score(utf32, &mut self.matcher)?
            } else {
                haystack
                    .split(sep)
                    .filter_map(|field| self.atom_score(atom, shortcut.as_ref(), field))
                    .max()?
            };
            total += u32::from(score);
        }
        Some(total)
    }

    /// One atom's score on one text, with the greedy shortcut where it gives the same score.
    fn atom_score(
        &mut self,
        atom: &nucleo_matcher::pattern::Atom,
        shortcut: Option<&Shortcut>,
        text: &str,
    ) -> Option<u16> {
        let utf32 = to_utf32(text, &mut self.utf32);
        match (shortcut, utf32) {
            (Some(shortcut), Utf32Str::Ascii(_)) => {
                shortcut.configure(&mut self.matcher);
                let needle = atom.needle_text();
                let greedy = self.matcher.fuzzy_match_greedy(utf32, needle)?;
                if greedy == shortcut.ceiling {
                    Some(greedy)
                } else {
                    self.matcher.fuzzy_match(utf32, needle)
                }
            }
            _ => atom.score(utf32, &mut self.matcher),
        }
    }

    /// `pattern.score`, with the greedy shortcut where it gives the same score.
    fn score(
        &mut self,
        pattern: &Pattern,
        shortcuts: &[Option<Shortcut>],
        haystack: &str,
    ) -> Option<u32> {
        let mut total = 0;
        for (atom, shortcut) in pattern.atoms.iter().zip(shortcuts) {
            total += u32::from(self.atom_score(atom, shortcut.as_ref(), haystack)?);
        }
        Some(total)
    }

    fn positions(&mut self, pattern: &Pattern, haystack: &str) -> Option<Vec<u32>> {
        self.indices(pattern, haystack)
            .map(|(_, positions)| positions)
    }

    fn indices(&mut self, pattern: &Pattern, haystack: &str) -> Option<(u32, Vec<u32>)> {
        let utf32 = to_utf32(haystack, &mut self.utf32);
        self.indices.clear();
        let score = pattern.indices(utf32, &mut self.matcher, &mut self.indices)?;
        let positions = char_positions(haystack, &mut self.indices, &mut self.starts);
        Some((score, positions))
    }
}

/// Splits `text` into spans: the chars at `positions` (char indices, as in [`Hit`]) in
/// `hit_style`, the rest in `base`, consecutive chars of one style in one span. The spans borrow
/// `text` and together reproduce it exactly. Meant for text already `sanitize`d and `fit`:
/// positions past its end (cut off by `fit`) are ignored.
pub fn highlight<'a>(text: &'a str, positions: &[u32], base: Style, hit_style: Style) -> Line<'a> {
    let sorted;
    let positions = if positions.is_sorted() {
        positions
    } else {
        let mut copy = positions.to_vec();
        copy.sort_unstable();
        sorted = copy;
        &sorted
    };
    let mut next = positions.iter().map(|&p| p as usize).peekable();
    let mut spans = Vec::new();
    let mut run_start = 0;
    let mut run_hit = false;
    for (char_index, (byte, _)) in text.char_indices().enumerate() {
        while next.next_if(|&p| p < char_index).is_some() {}
        let hit = next.peek() == Some(&char_index);
        if hit != run_hit {
            if byte > run_start {
                let style = if run_hit { hit_style } else { base };
                spans.push(Span::styled(&text[run_start..byte], style));
            }
            run_start = byte;
            run_hit = hit;
        }
    }
    if run_start < text.len() {
        let style = if run_hit { hit_style } else { base };
        spans.push(Span::styled(&text[run_start..], style));
    }
    Line::from(spans)
}

/// `haystack` as nucleo reads it. Not `Utf32Str::new`: for text that is non-ASCII but whose
/// graphemes all start with ASCII (`e\u{301}`) it hands the matcher UTF-8 bytes as if they were
/// chars, and indices would be byte offsets.
fn to_utf32<'h>(haystack: &'h str, buf: &'h mut Vec<char>) -> Utf32Str<'h> {
    if haystack.is_ascii() {
        Utf32Str::Ascii(haystack.as_bytes())
    } else {
        buf.clear();
        buf.extend(graphemes(haystack));
        Utf32Str::Unicode(buf)
    }
}

/// nucleo's indices count graphemes; a [`Hit`]'s count chars. Each matched grapheme becomes all
/// of its chars, so a highlight never splits an accent from its letter.
fn char_positions(haystack: &str, indices: &mut Vec<u32>, starts: &mut Vec<u32>) -> Vec<u32> {
    indices.sort_unstable();
    indices.dedup();
    if haystack.is_ascii() {
        return indices.clone();
    }
    grapheme_starts(haystack, starts);
    let mut positions = Vec::with_capacity(indices.len());
    for &g in indices.iter() {
        let g = g as usize;
        if let (Some(&first), Some(&end)) = (starts.get(g), starts.get(g + 1)) {
            positions.extend(first..end);
        }
    }
    positions
}

/// The char index at which each grapheme of `s` starts, then the char count. Segmentation is
/// ratatui's (the same unicode-segmentation nucleo uses), which leaves out graphemes holding a
/// control character; those are put back: a control is a grapheme of its own, `\r\n` one too.
fn grapheme_starts(s: &str, starts: &mut Vec<u32>) {
    fn controls(gap: &str, chars: &mut u32, starts: &mut Vec<u32>) {
        let mut it = gap.chars().peekable();
        while let Some(c) = it.next() {
            starts.push(*chars);
            *chars += 1;
            if c == '\r' && it.next_if_eq(&'\n').is_some() {
                *chars += 1;
            }
        }
    }
    starts.clear();
    let mut chars = 0;
    let mut byte = 0;
    let span = Span::raw(s);
    for g in span.styled_graphemes(Style::default()) {
        let at = offset_in(s, g.symbol);
        controls(s.get(byte..at).unwrap_or(""), &mut chars, starts);
        starts.push(chars);
        chars += g.symbol.chars().count() as u32;
        byte = at + g.symbol.len();
    }
    controls(s.get(byte..).unwrap_or(""), &mut chars, starts);
    starts.push(chars);
}

#[cfg(test)]
mod tests {
    use ratatui::style::{Color, Modifier};

    use super::*;

    #[test]
    fn field_filter_matches_each_atom_within_one_field() {
        let rows = [
            "web\u{1f}Microsoft.App/containerApps\u{1f}rg-prod\u{1f}eastus",
            "pg-main\u{1f}Microsoft.DBforPostgreSQL/flexibleServers\u{1f}rg-prod\u{1f}westus",
        ];
        for threads in [1, 4] {
            let mut fuzzy = Fuzzy::with_threads(threads);
            let mut names = |query: &str| -> Vec<usize> {
                fuzzy
                    .filter_fields(query, '\u{1f}', rows.iter().copied())
                    .iter()
                    .map(|h| h.index)
                    .collect()
            };
            // `p` of `containerApps` and `g` of `rg-prod` are in different fields.
            assert_eq!(names("pg"), vec![1]);
            // Atoms may match different fields.
            assert_eq!(names("web eastus"), vec![0]);
            assert_eq!(names("pg westus"), vec![1]);
            assert!(names("web westus").is_empty());
            // Negation looks at the whole row; an empty query keeps every row.
            assert_eq!(names("prod !web"), vec![1]);
            assert_eq!(names(""), vec![0, 1]);
        }
    }

    fn order(fuzzy: &mut Fuzzy, query: &str, rows: &[&str]) -> Vec<String> {
        fuzzy
            .filter(query, rows.iter().copied(), false)
            .iter()
            .map(|hit| rows[hit.index].to_owned())
            .collect()
    }

    #[test]
    fn exact_and_prefix_beat_scattered() {
        let rows = [
            "dxxaxxgxx",
            "d-a-t-a-g-r-i-d",
            "redis-cache",
            "my-dag",
            "dagster-webserver",
            "dag",
        ];
        let mut fuzzy = Fuzzy::new();
        let found = order(&mut fuzzy, "dag", &rows);
        assert_eq!(
            found,
            [
                "dagster-webserver",
                "dag",
                "my-dag",
                "d-a-t-a-g-r-i-d",
                "dxxaxxgxx"
            ]
        );
    }

    #[test]
    fn ties_keep_row_order() {
        let rows = ["web-1", "web-2", "web-3", "other", "web-4"];
        let hits = Fuzzy::new().filter("web", rows.iter().copied(), false);
        let indices: Vec<usize> = hits.iter().map(|h| h.index).collect();
        assert_eq!(indices, [0, 1, 2, 4]);
        assert!(hits.windows(2).all(|w| w[0].score == w[1].score));
    }

    #[test]
    fn threads_find_what_one_thread_finds() {
        let rows: Vec<String> = (0..9_001)
            .map(|i| {
                format!(
                    "app-{i:05}  rg-{}  {}",
                    i % 7,
                    ["eastus", "westeurope"][i % 2]
                )
            })
            .collect();
        let mut one = Fuzzy::with_threads(1);
        let mut four = Fuzzy::with_threads(4);
        for query in ["a", "app 1 west", "^app-0 !eastus", "rg-3$", "0042", "zzz"] {
            for with_positions in [false, true] {
                let want = one.filter(query, rows.iter().map(String::as_str), with_positions);
                let got = four.filter(query, rows.iter().map(String::as_str), with_positions);
                assert_eq!(got, want, "{query:?}");
            }
        }
        assert!(four.workers.len() == 4);
    }

    #[test]
    fn the_greedy_shortcut_changes_no_score() {
        let words = [
            "dagster",
            "web",
            "Microsoft.App",
            "rg-data",
            "prod",
            "dag",
            "a",
            "east",
            "0042",
            "Web",
            "kv",
            "x-y",
            "/",
            "  ",
            "d_a_g",
        ];
        // Rows where the query's word follows a space, a delimiter, a dash, a capital, nothing.
        let mut rows = Vec::new();
        for (i, a) in words.iter().enumerate() {
            for b in words.iter().skip(i % 3) {
                rows.push(format!("{a} {b}"));
                rows.push(format!("{a}-{b}{a}"));
                rows.push(format!("x{b}/{a}:{b}"));
                rows.push(format!("{b}{a}{b}"));
            }
        }
        let queries = [
            "dag",
            "Dag",
            "web",
            "Web",
            "Micro",
            "microsoft",
            "rg-d",
            "rgd",
            "0042",
            "00",
            "east",
            "dag web",
            "d_a",
            "x-y",
            "/a",
            "da\\ w",
            "prod$",
            "^rg",
            "'web !x",
            "dgw",
            "aa",
        ];
        let mut fuzzy = Fuzzy::with_threads(1);
        for query in queries {
            fuzzy.set_query(query);
            let worker = &mut fuzzy.workers[0];
            for row in &rows {
                let shortcut = worker.score(&fuzzy.pattern, &fuzzy.shortcuts, row);
                let mut buf = Vec::new();
                let plain = fuzzy
                    .pattern
                    .score(to_utf32(row, &mut buf), &mut worker.matcher);
                assert_eq!(shortcut, plain, "{query:?} on {row:?}");
            }
        }
        // Both ways were taken: rows where the greedy match is the best possible, and others.
        fuzzy.set_query("dag");
        let (ceiling, matcher) = match fuzzy.shortcuts.first() {
            Some(Some(shortcut)) => (shortcut.ceiling, &mut fuzzy.workers[0].matcher),
            _ => panic!("no shortcut for dag"),
        };
        let greedy: Vec<Option<u16>> = rows
            .iter()
            .map(|row| {
                matcher.fuzzy_match_greedy(Utf32Str::Ascii(row.as_bytes()), Utf32Str::Ascii(b"dag"))
            })
            .collect();
        assert!(greedy.contains(&Some(ceiling)));
        assert!(greedy.iter().any(|g| g.is_some_and(|g| g < ceiling)));
        // The shortcut is on for the atoms it can serve.
        fuzzy.set_query("dag Micro ^rg !x 'web w");
        let on: Vec<bool> = fuzzy.shortcuts.iter().map(Option::is_some).collect();
        assert_eq!(on, [true, true, false, false, false, false]);
    }

    #[test]
    fn smart_case() {
        let rows = ["dagster", "Dagster", "DAGSTER"];
        let mut fuzzy = Fuzzy::new();
        assert_eq!(order(&mut fuzzy, "dag", &rows).len(), 3);
        assert_eq!(order(&mut fuzzy, "Dag", &rows), ["Dagster"]);
        assert_eq!(order(&mut fuzzy, "DAG", &rows), ["DAGSTER"]);
    }

    #[test]
    fn atoms_must_all_match() {
        let rows = [
            "dagster-webserver  rg-platform-prod  eastus",
            "dagster-daemon  rg-platform-prod  eastus",
            "webapp-frontend  rg-web-dev  westeurope",
        ];
        let mut fuzzy = Fuzzy::new();
        assert_eq!(order(&mut fuzzy, "dag web", &rows), [rows[0]]);
        assert_eq!(order(&mut fuzzy, "web", &rows).len(), 2);
        assert_eq!(order(&mut fuzzy, "dag prod eastus", &rows).len(), 2);
        assert!(order(&mut fuzzy, "dag westeurope", &rows).is_empty());
    }

    #[test]
    fn fzf_syntax() {
        let rows = ["api-prod", "api-dev", "web-prod", "prod-api"];
        let mut fuzzy = Fuzzy::new();
        assert_eq!(order(&mut fuzzy, "api !prod", &rows), ["api-dev"]);
        assert_eq!(order(&mut fuzzy, "!prod", &rows), ["api-dev"]);
        assert_eq!(order(&mut fuzzy, "^api", &rows), ["api-prod", "api-dev"]);
        assert_eq!(order(&mut fuzzy, "prod$", &rows), ["api-prod", "web-prod"]);
        assert_eq!(order(&mut fuzzy, "^api-dev$", &rows), ["api-dev"]);
        // 'exact: contiguous only, where the fuzzy atom also finds a-p-i scattered.
        let rows = ["a-p-i", "api"];
        assert_eq!(order(&mut fuzzy, "'api", &rows), ["api"]);
        assert_eq!(order(&mut fuzzy, "api", &rows).len(), 2);
    }

    #[test]
    fn empty_query_keeps_every_row_in_order() {
        let rows = ["b", "a", "c"];
        let mut fuzzy = Fuzzy::new();
        for query in ["", "   ", "!"] {
            let hits = fuzzy.filter(query, rows.iter().copied(), true);
            let want: Vec<Hit> = (0..3)
                .map(|index| Hit {
                    index,
                    score: 0,
                    positions: Vec::new(),
                })
                .collect();
            assert_eq!(hits, want, "{query:?}");
        }
        assert_eq!(fuzzy.positions("", "abc"), Some(Vec::new()));
    }

    #[test]
    fn positions_on_known_text() {
        let mut fuzzy = Fuzzy::new();
        let row = "dagster-webserver-0042";
        assert_eq!(fuzzy.positions("web", row), Some(vec![8, 9, 10]));
        assert_eq!(fuzzy.positions("^dag", row), Some(vec![0, 1, 2]));
        assert_eq!(fuzzy.positions("0042$", row), Some(vec![18, 19, 20, 21]));
        // Two atoms: their positions merged, sorted, deduped; a negation adds none.
        assert_eq!(
            fuzzy.positions("web dag !prod", row),
            Some(vec![0, 1, 2, 8, 9, 10])
        );
        assert_eq!(fuzzy.positions("web web", row), Some(vec![8, 9, 10]));
        assert_eq!(fuzzy.positions("xyz", row), None);
        // filter with positions agrees with positions.
        let hits = fuzzy.filter("web", [row].into_iter(), true);
        assert_eq!(hits[0].positions, [8, 9, 10]);
    }

    #[test]
    fn unicode_haystacks() {
        let mut fuzzy = Fuzzy::new();
        // Wide chars: char indices, not bytes.
        assert_eq!(fuzzy.positions("生產", "資源組-生產"), Some(vec![4, 5]));
        // Accents: `cafe` finds `café`; an accented query respects accents.
        let rows = ["café", "cafe", "cafetería"];
        assert_eq!(order(&mut fuzzy, "cafe", &rows).len(), 3);
        assert_eq!(order(&mut fuzzy, "café", &rows), ["café"]);
        // A decomposed accent is part of its letter's grapheme: both chars are positions, and
        // the chars after it are counted as chars.
        let decomposed = "cafe\u{301} bar";
        assert_eq!(
            fuzzy.positions("cafe", decomposed),
            Some(vec![0, 1, 2, 3, 4])
        );
        assert_eq!(fuzzy.positions("bar", decomposed), Some(vec![6, 7, 8]));
        // An emoji ZWJ sequence is one grapheme of five chars.
        let family = "👨\u{200D}👩\u{200D}👧 team-ops";
        assert_eq!(fuzzy.positions("ops", family), Some(vec![11, 12, 13]));
        // Control characters (each a grapheme; \r\n one) do not shift positions.
        let controls = "é\x07\r\nab";
        assert_eq!(fuzzy.positions("ab", controls), Some(vec![4, 5]));
        let hits = fuzzy.filter("ab", [controls].into_iter(), true);
        assert_eq!(hits[0].positions, [4, 5]);
    }

    #[test]
    fn highlight_merges_runs_and_reproduces_the_text() {
        let base = Style::new().fg(Color::Gray);
        let hit = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
        let line = highlight("dagster-web", &[0, 1, 2, 8, 9, 10], base, hit);
        let spans: Vec<(&str, Style)> = line
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(spans, [("dag", hit), ("ster-", base), ("web", hit)]);

        let line = highlight("資源組-生產", &[4, 5], base, hit);
        let spans: Vec<(&str, Style)> = line
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(spans, [("資源組-", base), ("生產", hit)]);

        // Positions past the end (text cut by `fit`), unsorted or repeated, or none at all.
        let line = highlight("abc…", &[5, 2, 2, 40, 0], base, hit);
        let spans: Vec<(&str, Style)> = line
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style))
            .collect();
        assert_eq!(spans, [("a", hit), ("b", base), ("c", hit), ("…", base)]);
        assert_eq!(highlight("plain", &[], base, hit).spans.len(), 1);
        assert!(highlight("", &[0, 1], base, hit).spans.is_empty());

        let mut fuzzy = Fuzzy::new();
        for text in [
            "dagster-webserver-0042",
            "cafe\u{301} ✅ 東京 web",
            "a\u{200D}b",
        ] {
            for query in ["w", "web", "a e", "東", "ab"] {
                let positions = fuzzy.positions(query, text).unwrap_or_default();
                let line = highlight(text, &positions, base, hit);
                let joined: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                assert_eq!(joined, text);
                assert!(line.spans.windows(2).all(|w| w[0].style != w[1].style));
            }
        }
    }
}
