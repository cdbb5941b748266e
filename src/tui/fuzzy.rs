//! The `/` filter and the command palette: fzf-style fuzzy matching (nucleo's matcher, the one
//! helix uses) and highlighting of the matched characters.
//!
//! A view keeps one [`Fuzzy`] and calls [`Fuzzy::filter`] on every key press: the matcher's
//! scratch memory (about 135 kB), the parsed query and the UTF-32 buffer are reused, so a
//! keystroke allocates only the list of hits. Filtering skips match positions; the view asks
//! [`Fuzzy::positions`] for the few rows it draws.

use nucleo_matcher::chars::graphemes;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::offset_in;

/// A reusable matcher; one per view.
#[derive(Debug)]
pub struct Fuzzy {
    matcher: Matcher,
    /// `query` parsed; re-parsed only when the query changes.
    pattern: Pattern,
    query: String,
    /// A non-ASCII haystack as nucleo reads it: one char per grapheme.
    utf32: Vec<char>,
    indices: Vec<u32>,
    starts: Vec<u32>,
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
    pub fn new() -> Fuzzy {
        Fuzzy {
            matcher: Matcher::new(Config::DEFAULT),
            pattern: Pattern::default(),
            query: String::new(),
            utf32: Vec::new(),
            indices: Vec::new(),
            starts: Vec::new(),
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
        let mut hits = Vec::new();
        for (index, haystack) in haystacks.enumerate() {
            let utf32 = to_utf32(haystack, &mut self.utf32);
            let hit = if with_positions {
                self.indices.clear();
                self.pattern
                    .indices(utf32, &mut self.matcher, &mut self.indices)
                    .map(|score| Hit {
                        index,
                        score,
                        positions: char_positions(haystack, &mut self.indices, &mut self.starts),
                    })
            } else {
                self.pattern
                    .score(utf32, &mut self.matcher)
                    .map(|score| Hit {
                        index,
                        score,
                        positions: Vec::new(),
                    })
            };
            hits.extend(hit);
        }
        hits.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
        hits
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
        self.set_query(query);
        let mut hits = Vec::new();
        'rows: for (index, haystack) in haystacks.enumerate() {
            let mut score = 0;
            for atom in &self.pattern.atoms {
                let best = if atom.negative {
                    atom.score(to_utf32(haystack, &mut self.utf32), &mut self.matcher)
                } else {
                    haystack
                        .split(sep)
                        .filter_map(|field| {
                            atom.score(to_utf32(field, &mut self.utf32), &mut self.matcher)
                        })
                        .max()
                };
                match best {
                    Some(s) => score += u32::from(s),
                    None => continue 'rows,
                }
            }
            hits.push(Hit {
                index,
                score,
                positions: Vec::new(),
            });
        }
        hits.sort_unstable_by(|a, b| b.score.cmp(&a.score).then(a.index.cmp(&b.index)));
        hits
    }

    /// The char indices `query` matches in `haystack` (sorted, deduped), `None` when it does
    /// not match: for highlighting the visible rows after a [`filter`](Fuzzy::filter) without
    /// positions. An empty query matches with no positions.
    pub fn positions(&mut self, query: &str, haystack: &str) -> Option<Vec<u32>> {
        self.set_query(query);
        let utf32 = to_utf32(haystack, &mut self.utf32);
        self.indices.clear();
        self.pattern
            .indices(utf32, &mut self.matcher, &mut self.indices)?;
        Some(char_positions(
            haystack,
            &mut self.indices,
            &mut self.starts,
        ))
    }

    fn set_query(&mut self, query: &str) {
        if self.query != query {
            self.pattern
                .reparse(query, CaseMatching::Smart, Normalization::Smart);
            self.query.clear();
            self.query.push_str(query);
        }
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
        let mut fuzzy = Fuzzy::new();
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
