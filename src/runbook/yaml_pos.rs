//! Where each node of a YAML document is: a map from paths (`steps[2].with.app`) to line and
//! column, so the linter can point at the offending text. serde_yaml gives a position only for
//! its own errors; this index is built from yaml-rust2's marked events.
//!
//! Best effort by design: the index is consulted after serde_yaml accepted the text, and a path
//! it does not know (e.g. inside an alias) resolves to its nearest known ancestor, then to 1:1.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Containers nested deeper than this are not indexed (their positions fall back to the
/// outermost indexed ancestor): it bounds the memory a hostile file can make us use.
const MAX_INDEXED_DEPTH: usize = 256;

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root, e.g. `steps[2].with.app`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct YamlPath(Vec<Seg>);

impl YamlPath {
    pub fn root() -> Self {
        YamlPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        YamlPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        YamlPath(segs)
    }

    fn parent(&self) -> Option<YamlPath> {
        let (_, init) = self.0.split_last()?;
        Some(YamlPath(init.to_vec()))
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn of(mark: &Marker) -> Pos {
        // yaml-rust2's lines are 1-based, its columns 0-based.
        Pos {
            line: mark.line().max(1),
            column: mark.col() + 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    /// The key's position, for nodes that are mapping values.
    key: Option<Pos>,
    value: Pos,
    /// Set for scalars.
    style: Option<TScalarStyle>,
}

/// Positions of the first document's nodes.
#[derive(Debug)]
pub struct PosIndex<'a> {
    nodes: HashMap<YamlPath, Node>,
    lines: Vec<&'a str>,
}

impl<'a> PosIndex<'a> {
    /// Indexes `text`; a syntax error ends the index where it occurs.
    pub fn build(text: &'a str) -> PosIndex<'a> {
        let mut indexer = Indexer::default();
        let mut parser = Parser::new_from_str(text);
        // `next_token` is the parser's iterative state machine; `Parser::load` recurses per
        // nesting level, which a deeply nested file would turn into a stack overflow.
        while let Ok((event, mark)) = parser.next_token() {
            if matches!(event, Event::StreamEnd | Event::DocumentEnd) {
                break;
            }
            indexer.on_event(event, &mark);
        }
        PosIndex {
            nodes: indexer.nodes,
            lines: text.lines().collect(),
        }
    }

    /// Where the node at `path` starts (its nearest indexed ancestor's start if unknown).
    pub fn value(&self, path: &YamlPath) -> Pos {
        self.nearest(path).map(|n| n.value).unwrap_or(Pos::START)
    }

    /// Where the key of the mapping entry at `path` is (else as [`Self::value`]).
    pub fn key(&self, path: &YamlPath) -> Pos {
        self.nearest(path)
            .map(|n| n.key.unwrap_or(n.value))
            .unwrap_or(Pos::START)
    }

    /// The position of byte `offset` of the scalar `value` at `path`, when the scalar's text
    /// can be found in the source there (plain, quoted on one line, or a literal block);
    /// otherwise where the scalar starts.
    pub fn in_scalar(&self, path: &YamlPath, value: &str, offset: usize) -> Pos {
        let Some(node) = self.nodes.get(path) else {
            return self.value(path);
        };
        let start = node.value;
        let Some(prefix) = value.get(..offset) else {
            return start;
        };
        let found = match node.style {
            Some(TScalarStyle::Plain) => self.locate(start.line, start.column, prefix),
            Some(TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted) => {
                self.locate(start.line, start.column + 1, prefix)
            }
            Some(TScalarStyle::Literal) => {
                // A literal block starts at its first content line, at the block's indentation,
                // and each line of the value is one source line.
                let line = start.line + prefix.matches('\n').count();
                let last = prefix.rsplit('\n').next().unwrap_or("");
                self.locate(line, start.column, last)
            }
            _ => None,
        };
        found.unwrap_or(start)
    }

    /// The position after `text` if the source at `line:column` reads `text` (verbatim, on that
    /// line); `None` when escapes or folding make the source differ from the value.
    fn locate(&self, line: usize, column: usize, text: &str) -> Option<Pos> {
        if text.contains('\n') {
            return None;
        }
        let src = self.line(line)?;
        let rest: String = src.chars().skip(column - 1).collect();
        rest.starts_with(text).then(|| Pos {
            line,
            column: column + text.chars().count(),
        })
    }

    fn line(&self, line: usize) -> Option<&str> {
        self.lines.get(line.checked_sub(1)?).copied()
    }

    fn nearest(&self, path: &YamlPath) -> Option<&Node> {
        let mut at = Some(path.clone());
        while let Some(p) = at {
            if let Some(n) = self.nodes.get(&p) {
                return Some(n);
            }
            at = p.parent();
        }
        None
    }
}

enum Frame {
    Map {
        path: YamlPath,
        /// The current entry's key, once read: its text and position.
        key: Option<(String, Pos)>,
    },
    Seq {
        path: YamlPath,
        next: usize,
    },
    /// A container not indexed: too deep, or a complex key (`? [a, b]: …`), which is then
    /// recorded as the key `?`.
    Opaque {
        is_key: bool,
    },
}

#[derive(Default)]
struct Indexer {
    stack: Vec<Frame>,
    nodes: HashMap<YamlPath, Node>,
    root_seen: bool,
}

impl Indexer {
    fn on_event(&mut self, event: Event, mark: &Marker) {
        let pos = Pos::of(mark);
        match event {
            Event::Scalar(text, style, ..) => {
                self.place(pos, Some(text), Some(style));
            }
            Event::Alias(_) => {
                self.place(pos, Some("*".to_string()), None);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let frame = match self.stack.last() {
                    Some(Frame::Opaque { .. }) => Frame::Opaque { is_key: false },
                    Some(Frame::Map { key: None, .. }) => Frame::Opaque { is_key: true },
                    _ if self.stack.len() >= MAX_INDEXED_DEPTH => {
                        self.place(pos, None, None);
                        Frame::Opaque { is_key: false }
                    }
                    _ => match self.place(pos, None, None) {
                        Some(path) if is_map => Frame::Map { path, key: None },
                        Some(path) => Frame::Seq { path, next: 0 },
                        None => Frame::Opaque { is_key: false },
                    },
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Opaque { is_key: true }) = self.stack.pop() {
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(("?".to_string(), pos));
                    }
                }
            }
            _ => {}
        }
    }

    /// Places a node in its parent: records and returns its path, or takes it as the pending
    /// key of a mapping (returns `None`, as for nodes not indexed).
    fn place(
        &mut self,
        pos: Pos,
        scalar: Option<String>,
        style: Option<TScalarStyle>,
    ) -> Option<YamlPath> {
        let (path, key) = match self.stack.last_mut() {
            None if self.root_seen => return None,
            None => {
                self.root_seen = true;
                (YamlPath::root(), None)
            }
            Some(Frame::Opaque { .. }) => return None,
            Some(Frame::Map {
                path,
                key: key @ None,
            }) => {
                *key = Some((scalar.unwrap_or_default(), pos));
                let path = path.clone();
                self.starts_at(&path, pos);
                return None;
            }
            Some(Frame::Map { path, key }) => {
                let (k, kpos) = key.take()?;
                (path.key(&k), Some(kpos))
            }
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                let (parent, child) = (path.clone(), path.index(*next - 1));
                self.starts_at(&parent, pos);
                (child, None)
            }
        };
        self.nodes.insert(
            path.clone(),
            Node {
                key,
                value: pos,
                style,
            },
        );
        Some(path)
    }

    /// A block container's start event is marked after its first key; its first child is
    /// where a reader sees it start.
    fn starts_at(&mut self, container: &YamlPath, child: Pos) {
        if let Some(node) = self.nodes.get_mut(container) {
            node.value = node.value.min(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
apiVersion: azdeck/v1
metadata: { name: x, title: 'A title' }
steps:
  - id: one
    with:
      app: \"{{ params.app }}\"
      list: [a, {b: c}]
  - id: two
    explain: |
      first line
        second {{ x }}
";

    fn path(segs: &[&str]) -> YamlPath {
        segs.iter().fold(YamlPath::root(), |p, s| match s.parse() {
            Ok(n) => p.index(n),
            Err(_) => p.key(s),
        })
    }

    #[test]
    fn keys_and_values_have_their_positions() {
        let idx = PosIndex::build(DOC);
        let app = path(&["steps", "0", "with", "app"]);
        assert_eq!(idx.key(&app), Pos { line: 6, column: 7 });
        assert_eq!(
            idx.value(&app),
            Pos {
                line: 6,
                column: 12
            }
        );
        assert_eq!(
            idx.value(&path(&["metadata", "title"])),
            Pos {
                line: 2,
                column: 29
            }
        );
        assert_eq!(
            idx.value(&path(&["steps", "0", "with", "list", "1", "b"])),
            Pos {
                line: 7,
                column: 21
            }
        );
        // Block mappings start at their first key, flow mappings at their brace.
        assert_eq!(
            idx.value(&path(&["steps", "0"])),
            Pos { line: 4, column: 5 }
        );
        assert_eq!(
            idx.value(&path(&["steps", "0", "with"])),
            Pos { line: 6, column: 7 }
        );
        assert_eq!(
            idx.value(&path(&["metadata"])),
            Pos {
                line: 2,
                column: 11
            }
        );
        assert_eq!(idx.value(&path(&["steps", "1", "id"])).line, 8);
        assert_eq!(app.to_string(), "steps[0].with.app");
    }

    #[test]
    fn unknown_paths_fall_back_to_the_nearest_ancestor() {
        let idx = PosIndex::build(DOC);
        let known = idx.value(&path(&["steps", "1", "id"]));
        assert_eq!(
            idx.value(&path(&["steps", "1", "id", "deeper", "3"])),
            known
        );
        assert_eq!(idx.value(&path(&["nowhere"])), idx.value(&YamlPath::root()));
        assert_eq!(PosIndex::build("").value(&path(&["a"])), Pos::START);
    }

    #[test]
    fn offsets_inside_scalars_map_to_source_columns() {
        let idx = PosIndex::build(DOC);
        let app = path(&["steps", "0", "with", "app"]);
        // `params` starts at byte 3 of the value; the value starts after the quote.
        assert_eq!(
            idx.in_scalar(&app, "{{ params.app }}", 3),
            Pos {
                line: 6,
                column: 16
            }
        );
        let explain = path(&["steps", "1", "explain"]);
        let text = "first line\n  second {{ x }}\n";
        assert_eq!(
            idx.in_scalar(&explain, text, text.find("{{").unwrap()),
            Pos {
                line: 11,
                column: 16
            }
        );
        // An offset the source does not show verbatim stays at the scalar's start.
        assert_eq!(idx.in_scalar(&app, "other", 3), idx.value(&app));
        assert_eq!(idx.in_scalar(&app, "x", 99), idx.value(&app));
    }

    #[test]
    fn hostile_documents_do_not_break_the_index() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let idx = PosIndex::build(&deep);
        assert_eq!(idx.value(&YamlPath::root()), Pos::START);
        let complex = "? [a, b]\n: value\nnext: 1\n";
        assert_eq!(PosIndex::build(complex).value(&path(&["next"])).line, 3);
        for text in [
            "a: [",
            "- - -",
            "{{",
            "\u{0}\u{1}",
            "*x",
            "&a [*a]",
            "---\na: 1\n---\nb: 2",
        ] {
            let _ = PosIndex::build(text).value(&path(&["a"]));
        }
    }
}
