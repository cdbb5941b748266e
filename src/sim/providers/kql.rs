//! The subset of KQL (Kusto Query Language) that the simulated Azure Resource Graph accepts
//! (`POST /providers/Microsoft.ResourceGraph/resources`).
//!
//! [`parse`] turns query text into a [`Query`]; [`Query::execute`] runs it over `Resources` rows
//! (JSON objects) and returns a [`Table`]. Query text comes from the network, so every failure is
//! a [`KqlError`] with the byte offset of the offending token: nothing here panics on input, and
//! both the query size and the expression nesting are bounded.
//!
//! | Area | Supported |
//! |---|---|
//! | Source | `Resources` (any case). A query that starts with an operator (`where type =~ 'x'`) is read as `Resources \| …`, as Resource Graph does. Other tables are errors. |
//! | `where <predicate>` | keeps rows whose predicate is `true` |
//! | `project a, b = <expr>, properties.x` | unaliased paths are named by their last segment (`properties.provisioningState` → `provisioningState`), other unaliased expressions `Column1`, `Column2`…; clashing derived names get a numeric suffix |
//! | `project-away a, b` | drops columns |
//! | `extend a = <expr>, …` | adds columns; an existing name is replaced in place |
//! | `order by` / `sort by <expr> [asc\|desc], …` | default `desc`; stable, total order with nulls lowest |
//! | `take N` / `limit N` | first N rows |
//! | `summarize [c =] count() [, …] [by <expr>, …]` | count column `count_` unless aliased; `by` columns come first; no `by` gives one row (0 on no input) |
//! | `count` | one row, column `Count` |
//! | `distinct <expr>, …` | unique combinations, first-seen order |
//! | Comparisons | `==` `!=` `=~` `!~` `<` `<=` `>` `>=`; `in` `in~` `!in` `!in~` `( … )`; `contains` `startswith` `endswith` `has` (case-insensitive), their `_cs` forms, and `!` negations of all of these |
//! | Logic | `and`, `or`, `not(…)`, parentheses |
//! | Functions | `tolower` `toupper` `tostring` `isempty` `isnotempty` `isnull` `isnotnull` `not` |
//! | Operands | columns (case-sensitive), `a.b.c`, `a['k']`, `a["k"]`, `a[0]`, `['col']`; `'…'`/`"…"` strings with escapes `\\ \' \" \n \t \r`; integers, reals, `true`/`false` |
//! | Comments | `// …` to end of line |
//! | Limits | query text up to 100 KiB; expressions nested up to 64 levels |
//!
//! Semantics: a null never equals anything; `!=`, `!~`, `!in` and the `!` string operators are
//! the negation of their positive form (so nulls pass them); `==` between a string and a number
//! is false; ordering comparisons work on two numbers or two strings only; string operators read
//! null as `""` and objects as their JSON text. A missing nested property is null; an unknown
//! top-level column is an error. Column types are inferred from the first non-null value
//! (RFC 3339 strings stay `string`). Everything else (joins, `let`, arithmetic, timespans,
//! other functions and aggregations) is a [`KqlError`].

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Longest query text accepted, in bytes.
const MAX_QUERY_BYTES: usize = 100 * 1024;
/// Deepest expression nesting accepted; bounds recursion in the parser and the evaluator.
const MAX_DEPTH: usize = 64;

const SUPPORTED_OPERATORS: &str = "where, project, project-away, extend, order by, sort by, take, \
                                   limit, summarize count() by, count, distinct";
const SUPPORTED_FUNCTIONS: &str =
    "tolower, toupper, tostring, isempty, isnotempty, isnull, isnotnull, not";
/// Operators a query may start with; such a query reads from `Resources`.
const IMPLICIT_SOURCE_OPERATORS: &[&str] = &[
    "where",
    "project",
    "extend",
    "order",
    "sort",
    "take",
    "limit",
    "summarize",
    "count",
    "distinct",
];
/// Words that end an expression rather than name a column.
const RESERVED: &[&str] = &["and", "or", "by", "asc", "desc", "in"];

/// The `Resources` columns in the order Resource Graph returns them, with their column types.
/// They form the schema even when no row carries them, so that column names resolve on an
/// empty subscription too.
const RESOURCE_COLUMNS: &[(&str, ColumnKind)] = &[
    ("id", ColumnKind::String),
    ("name", ColumnKind::String),
    ("type", ColumnKind::String),
    ("tenantId", ColumnKind::String),
    ("kind", ColumnKind::String),
    ("location", ColumnKind::String),
    ("resourceGroup", ColumnKind::String),
    ("subscriptionId", ColumnKind::String),
    ("managedBy", ColumnKind::String),
    ("sku", ColumnKind::Object),
    ("plan", ColumnKind::Object),
    ("properties", ColumnKind::Object),
    ("tags", ColumnKind::Object),
    ("identity", ColumnKind::Object),
    ("zones", ColumnKind::Object),
    ("extendedLocation", ColumnKind::Object),
];

static NULL: Value = Value::Null;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// A query error: what is wrong, and the byte offset in the query text where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct KqlError {
    pub message: String,
    pub position: usize,
}

impl KqlError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        KqlError {
            message: message.into(),
            position,
        }
    }

    /// A syntax or unsupported-feature error, worded the way Resource Graph words them.
    fn invalid(position: usize, detail: impl fmt::Display) -> Self {
        KqlError::new(position, format!("Query is invalid: {detail}"))
    }

    fn unresolved(name: &str, position: usize) -> Self {
        KqlError::new(
            position,
            format!("Failed to resolve scalar expression named '{name}'"),
        )
    }
}

impl fmt::Display for KqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at position {})", self.message, self.position)
    }
}

impl std::error::Error for KqlError {}

/// Resource Graph's column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    String,
    Integer,
    Real,
    Boolean,
    Object,
    DateTime,
}

impl ColumnKind {
    /// The type name Resource Graph puts in a result's column list.
    pub fn as_str(&self) -> &'static str {
        match self {
            ColumnKind::String => "string",
            ColumnKind::Integer => "integer",
            ColumnKind::Real => "real",
            ColumnKind::Boolean => "boolean",
            ColumnKind::Object => "object",
            ColumnKind::DateTime => "datetime",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Columns in output order.
    pub columns: Vec<Column>,
    /// Each row keyed by column name, in column order; absent values are null.
    pub rows: Vec<Map<String, Value>>,
}

/// A parsed query, ready to run over any number of row sets.
#[derive(Debug, Clone)]
pub struct Query {
    ops: Vec<Op>,
}

/// Parses query text.
pub fn parse(text: &str) -> Result<Query, KqlError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(KqlError::invalid(
            MAX_QUERY_BYTES,
            format!(
                "the query is {} bytes long; the limit is {MAX_QUERY_BYTES}",
                text.len()
            ),
        ));
    }
    let tokens = lex(text)?;
    Parser::new(tokens, text.len()).parse_query()
}

impl Query {
    /// Runs the query over rows; each row is a JSON object shaped like a Resource Graph
    /// `Resources` row: id, name, type, tenantId, kind, location, resourceGroup, subscriptionId,
    /// managedBy, sku, plan, properties (object), tags (object), identity, zones,
    /// extendedLocation.
    pub fn execute<'a>(&self, rows: impl Iterator<Item = &'a Value>) -> Result<Table, KqlError> {
        let mut input = Vec::new();
        for (index, row) in rows.enumerate() {
            match row.as_object() {
                Some(map) => input.push(map),
                None => {
                    return Err(KqlError::new(
                        0,
                        format!("Resources row {index} is not a JSON object"),
                    ))
                }
            }
        }
        let (steps, schema) = self.bind(input_schema(&input))?;
        let mut rows: Vec<Row<'a>> = input.into_iter().map(Row::Input).collect();
        for step in &steps {
            rows = run_step(step, rows);
        }
        Ok(materialize(schema, rows))
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Real(f64),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Assign,
    EqEq,
    NotEq,
    EqTilde,
    BangTilde,
    Bang,
    Tilde,
    Lt,
    Le,
    Gt,
    Ge,
    Minus,
    /// A character KQL has but this subset does not (`+`, `;`, `@`…); an error where parsed.
    Unknown(char),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn describe(tok: &Tok) -> String {
    let symbol = match tok {
        Tok::Ident(word) => return format!("'{word}'"),
        Tok::Str(_) => return "a string literal".to_string(),
        Tok::Int(n) => return format!("'{n}'"),
        Tok::Real(r) => return format!("'{r}'"),
        Tok::Eof => return "the end of the query".to_string(),
        Tok::Unknown(ch) => return format!("the character '{ch}'"),
        Tok::Pipe => "|",
        Tok::Comma => ",",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Dot => ".",
        Tok::Assign => "=",
        Tok::EqEq => "==",
        Tok::NotEq => "!=",
        Tok::EqTilde => "=~",
        Tok::BangTilde => "!~",
        Tok::Bang => "!",
        Tok::Tilde => "~",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Minus => "-",
    };
    format!("'{symbol}'")
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(text: &str) -> Result<Vec<Token>, KqlError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let (tok, len) = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if next == Some(b'/') => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                let (value, end) = lex_string(text, i)?;
                tokens.push(Token {
                    tok: Tok::Str(value),
                    start: i,
                    end,
                });
                i = end;
                continue;
            }
            b'0'..=b'9' => {
                let (tok, end) = lex_number(text, i)?;
                tokens.push(Token { tok, start: i, end });
                i = end;
                continue;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let mut end = i + 1;
                while bytes.get(end).is_some_and(|&c| is_ident_byte(c)) {
                    end += 1;
                }
                let word = text.get(i..end).unwrap_or_default().to_string();
                (Tok::Ident(word), end - i)
            }
            b'|' => (Tok::Pipe, 1),
            b',' => (Tok::Comma, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'.' => (Tok::Dot, 1),
            b'-' => (Tok::Minus, 1),
            b'~' => (Tok::Tilde, 1),
            b'=' => match next {
                Some(b'=') => (Tok::EqEq, 2),
                Some(b'~') => (Tok::EqTilde, 2),
                _ => (Tok::Assign, 1),
            },
            b'!' => match next {
                Some(b'=') => (Tok::NotEq, 2),
                Some(b'~') => (Tok::BangTilde, 2),
                _ => (Tok::Bang, 1),
            },
            b'<' => match next {
                Some(b'=') => (Tok::Le, 2),
                _ => (Tok::Lt, 1),
            },
            b'>' => match next {
                Some(b'=') => (Tok::Ge, 2),
                _ => (Tok::Gt, 1),
            },
            _ => {
                // `i` only ever advances over whole characters, so it is a char boundary.
                let ch = text
                    .get(i..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or('?');
                (Tok::Unknown(ch), ch.len_utf8())
            }
        };
        tokens.push(Token {
            tok,
            start: i,
            end: i + len,
        });
        i += len;
    }
    Ok(tokens)
}

/// Lexes a quoted string starting at `start`; returns its value and the offset past its end.
fn lex_string(text: &str, start: usize) -> Result<(String, usize), KqlError> {
    let rest = text.get(start..).unwrap_or_default();
    let mut chars = rest.char_indices();
    let quote = match chars.next() {
        Some((_, q)) => q,
        None => return Err(KqlError::invalid(start, "unterminated string literal")),
    };
    let mut value = String::new();
    while let Some((offset, ch)) = chars.next() {
        match ch {
            c if c == quote => return Ok((value, start + offset + c.len_utf8())),
            // Kusto string literals are single-line; a newline means the quote was never closed.
            '\n' | '\r' => break,
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, c @ ('\\' | '\'' | '"'))) => value.push(c),
                Some((_, c)) => {
                    return Err(KqlError::invalid(
                        start + offset,
                        format!("unknown escape sequence '\\{c}' in string literal"),
                    ))
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(KqlError::invalid(start, "unterminated string literal"))
}

/// Lexes an integer or real literal starting at `start`.
fn lex_number(text: &str, start: usize) -> Result<(Tok, usize), KqlError> {
    let bytes = text.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut end = start;
    while digit_at(end) {
        end += 1;
    }
    let mut real = false;
    if bytes.get(end) == Some(&b'.') && digit_at(end + 1) {
        real = true;
        end += 1;
        while digit_at(end) {
            end += 1;
        }
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        if digit_at(end + 1 + sign) {
            real = true;
            end += 1 + sign;
            while digit_at(end) {
                end += 1;
            }
        }
    }
    if bytes.get(end).is_some_and(|&c| is_ident_byte(c)) {
        let mut word_end = end;
        while bytes.get(word_end).is_some_and(|&c| is_ident_byte(c)) {
            word_end += 1;
        }
        let word = text.get(start..word_end).unwrap_or_default();
        return Err(KqlError::invalid(
            start,
            format!(
                "invalid number '{word}' (timespan and other typed literals are not supported)"
            ),
        ));
    }
    let literal = text.get(start..end).unwrap_or_default();
    let tok = if real {
        match literal.parse::<f64>() {
            Ok(value) if value.is_finite() => Tok::Real(value),
            _ => {
                return Err(KqlError::invalid(
                    start,
                    format!("number '{literal}' is out of range"),
                ))
            }
        }
    } else {
        match literal.parse::<i64>() {
            Ok(value) => Tok::Int(value),
            Err(_) => {
                return Err(KqlError::invalid(
                    start,
                    format!("integer '{literal}' is out of range"),
                ))
            }
        }
    };
    Ok((tok, end))
}

// ---------------------------------------------------------------------------------------------
// Syntax tree
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Where(Expr),
    Project(Vec<Item>),
    ProjectAway(Vec<(String, usize)>),
    Extend(Vec<Item>),
    Order(Vec<SortKey>),
    Take(usize),
    Summarize { aggs: Vec<Agg>, by: Vec<Item> },
    Count,
    Distinct(Vec<Item>),
}

/// `[alias =] expr` in project, extend, distinct and summarize's `by`.
#[derive(Debug, Clone)]
struct Item {
    alias: Option<String>,
    expr: Expr,
    pos: usize,
}

/// A `count()` aggregation, the only one supported.
#[derive(Debug, Clone)]
struct Agg {
    alias: Option<String>,
    pos: usize,
}

#[derive(Debug, Clone)]
struct SortKey {
    expr: Expr,
    descending: bool,
}

/// `and`/`or` hold flat operand lists so that long chains do not build deep trees (which would
/// recurse once per operand when evaluated and dropped).
#[derive(Debug, Clone)]
enum Expr {
    Literal(Value),
    Path {
        column: String,
        pos: usize,
        segments: Vec<Segment>,
    },
    Call {
        func: Func,
        arg: Box<Expr>,
    },
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        lhs: Box<Expr>,
        list: Vec<Expr>,
        case_insensitive: bool,
        negated: bool,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    ToLower,
    ToUpper,
    ToString,
    IsEmpty,
    IsNotEmpty,
    IsNull,
    IsNotNull,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
    Has,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    NotEq,
    EqCi,
    NotEqCi,
    Lt,
    Le,
    Gt,
    Ge,
    Str {
        op: StrOp,
        case_sensitive: bool,
        negated: bool,
    },
}

fn string_operator(word: &str) -> Option<(StrOp, bool)> {
    Some(match word {
        "contains" => (StrOp::Contains, false),
        "contains_cs" => (StrOp::Contains, true),
        "startswith" => (StrOp::StartsWith, false),
        "startswith_cs" => (StrOp::StartsWith, true),
        "endswith" => (StrOp::EndsWith, false),
        "endswith_cs" => (StrOp::EndsWith, true),
        "has" => (StrOp::Has, false),
        "has_cs" => (StrOp::Has, true),
        _ => return None,
    })
}

/// Whether an expression can stand where Kusto wants a boolean. Paths are dynamic and may hold
/// a boolean, so they pass; literals and string functions never can.
fn is_boolean(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(value) => value.is_boolean(),
        Expr::Path { .. } => true,
        Expr::Call { func, .. } => !matches!(func, Func::ToLower | Func::ToUpper | Func::ToString),
        Expr::Compare { .. } | Expr::In { .. } | Expr::And(_) | Expr::Or(_) => true,
    }
}

fn require_boolean(expr: &Expr, pos: usize) -> Result<(), KqlError> {
    if is_boolean(expr) {
        Ok(())
    } else {
        Err(KqlError::invalid(
            pos,
            "expected a boolean expression here, such as a comparison",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    idx: usize,
    depth: usize,
    eof: Token,
}

impl Parser {
    fn new(tokens: Vec<Token>, len: usize) -> Self {
        Parser {
            tokens,
            idx: 0,
            depth: 0,
            eof: Token {
                tok: Tok::Eof,
                start: len,
                end: len,
            },
        }
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        self.tokens.get(self.idx + n).unwrap_or(&self.eof)
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.idx < self.tokens.len() {
            self.idx += 1;
        }
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w == word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.at_word(word);
        if found {
            self.bump();
        }
        found
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = &self.peek().tok == tok;
        if found {
            self.bump();
        }
        found
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token, KqlError> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, expected: &str) -> KqlError {
        let token = self.peek();
        if let Tok::Unknown(ch) = token.tok {
            return KqlError::invalid(token.start, format!("unexpected character '{ch}'"));
        }
        KqlError::invalid(
            token.start,
            format!("expected {expected}, found {}", describe(&token.tok)),
        )
    }

    /// Whether the next token starts exactly where `token` ends (`!in`, `in~`, `project-away`).
    fn adjacent(&self, token: &Token, n: usize) -> bool {
        self.peek_at(n).start == token.end
    }

    fn parse_query(mut self) -> Result<Query, KqlError> {
        let mut ops = Vec::new();
        let first = self.peek().clone();
        match &first.tok {
            Tok::Eof => return Err(KqlError::invalid(0, "the query is empty")),
            Tok::Ident(name) if name.eq_ignore_ascii_case("resources") => {
                self.bump();
            }
            Tok::Ident(name) if IMPLICIT_SOURCE_OPERATORS.contains(&name.as_str()) => {
                ops.push(self.parse_operator()?);
            }
            Tok::Ident(name) if name == "let" => {
                return Err(KqlError::invalid(
                    first.start,
                    "'let' statements are not supported by the simulated Resource Graph",
                ))
            }
            Tok::Ident(name) => {
                return Err(KqlError::invalid(
                    first.start,
                    format!(
                        "table '{name}' is not supported by the simulated Resource Graph \
                         (only 'Resources' is supported)"
                    ),
                ))
            }
            _ => return Err(self.unexpected("the table name 'Resources' or an operator")),
        }
        loop {
            match self.peek().tok {
                Tok::Eof => break,
                Tok::Pipe => {
                    self.bump();
                    ops.push(self.parse_operator()?);
                }
                _ => return Err(self.unexpected("'|' or the end of the query")),
            }
        }
        Ok(Query { ops })
    }

    fn parse_operator(&mut self) -> Result<Op, KqlError> {
        let token = self.bump();
        let Tok::Ident(mut name) = token.tok else {
            return Err(KqlError::invalid(
                token.start,
                format!("expected an operator, found {}", describe(&token.tok)),
            ));
        };
        // Hyphenated operator names (project-away, mv-expand) lex as words joined by '-'.
        let mut end = token.end;
        loop {
            let dash = self.peek();
            if dash.tok != Tok::Minus || dash.start != end || !self.adjacent(dash, 1) {
                break;
            }
            let Tok::Ident(part) = &self.peek_at(1).tok else {
                break;
            };
            name.push('-');
            name.push_str(part);
            end = self.peek_at(1).end;
            self.idx += 2;
        }
        let op = match name.as_str() {
            "where" => {
                let pos = self.peek().start;
                let expr = self.parse_expr()?;
                require_boolean(&expr, pos)?;
                Op::Where(expr)
            }
            "project" => Op::Project(self.parse_items()?),
            "project-away" => Op::ProjectAway(self.parse_column_names()?),
            "extend" => Op::Extend(self.parse_items()?),
            "order" | "sort" => {
                if !self.eat_word("by") {
                    return Err(self.unexpected(&format!("'by' after '{name}'")));
                }
                Op::Order(self.parse_sort_keys()?)
            }
            "take" | "limit" => {
                let count = self.bump();
                match count.tok {
                    Tok::Int(n) => match usize::try_from(n) {
                        Ok(n) => Op::Take(n),
                        Err(_) => {
                            return Err(KqlError::invalid(
                                count.start,
                                format!("'{name}' needs a non-negative row count"),
                            ))
                        }
                    },
                    other => {
                        return Err(KqlError::invalid(
                            count.start,
                            format!(
                                "expected a row count after '{name}', found {}",
                                describe(&other)
                            ),
                        ))
                    }
                }
            }
            "summarize" => self.parse_summarize()?,
            "count" => Op::Count,
            "distinct" => Op::Distinct(self.parse_items()?),
            _ => {
                return Err(KqlError::invalid(
                    token.start,
                    format!(
                        "operator '{name}' is not supported by the simulated Resource Graph \
                         (supported: {SUPPORTED_OPERATORS})"
                    ),
                ))
            }
        };
        Ok(op)
    }

    /// `[alias =] expr, ...`
    fn parse_items(&mut self) -> Result<Vec<Item>, KqlError> {
        let mut items = Vec::new();
        loop {
            let pos = self.peek().start;
            let alias = self.parse_alias();
            let expr = self.parse_expr()?;
            items.push(Item { alias, expr, pos });
            if !self.eat(&Tok::Comma) {
                return Ok(items);
            }
        }
    }

    fn parse_alias(&mut self) -> Option<String> {
        match (&self.peek().tok, &self.peek_at(1).tok) {
            (Tok::Ident(name), Tok::Assign) => {
                let name = name.clone();
                self.idx += 2;
                Some(name)
            }
            _ => None,
        }
    }

    fn parse_column_names(&mut self) -> Result<Vec<(String, usize)>, KqlError> {
        let mut names = Vec::new();
        loop {
            let token = self.bump();
            match token.tok {
                Tok::Ident(name) => names.push((name, token.start)),
                other => {
                    return Err(KqlError::invalid(
                        token.start,
                        format!("expected a column name, found {}", describe(&other)),
                    ))
                }
            }
            if !self.eat(&Tok::Comma) {
                return Ok(names);
            }
        }
    }

    fn parse_sort_keys(&mut self) -> Result<Vec<SortKey>, KqlError> {
        let mut keys = Vec::new();
        loop {
            let expr = self.parse_expr()?;
            // Kusto sorts descending unless told otherwise.
            let descending = !self.eat_word("asc");
            if descending {
                self.eat_word("desc");
            }
            keys.push(SortKey { expr, descending });
            if !self.eat(&Tok::Comma) {
                return Ok(keys);
            }
        }
    }

    fn parse_summarize(&mut self) -> Result<Op, KqlError> {
        let mut aggs = Vec::new();
        if !self.at_word("by") {
            loop {
                let pos = self.peek().start;
                let alias = self.parse_alias();
                let func = self.bump();
                match (&func.tok, &self.peek().tok) {
                    (Tok::Ident(name), Tok::LParen) if name == "count" => {
                        self.bump();
                        self.expect(Tok::RParen, "')' (count() takes no arguments)")?;
                    }
                    (Tok::Ident(name), Tok::LParen) => {
                        return Err(KqlError::invalid(
                            func.start,
                            format!(
                                "aggregation '{name}' is not supported by the simulated \
                                 Resource Graph (supported: count())"
                            ),
                        ))
                    }
                    (other, _) => {
                        return Err(KqlError::invalid(
                            func.start,
                            format!(
                                "expected an aggregation such as count(), found {}",
                                describe(other)
                            ),
                        ))
                    }
                }
                aggs.push(Agg { alias, pos });
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        let by = if self.eat_word("by") {
            self.parse_items()?
        } else {
            Vec::new()
        };
        Ok(Op::Summarize { aggs, by })
    }

    /// Every nested expression comes through here, so this is where nesting is bounded.
    fn parse_expr(&mut self) -> Result<Expr, KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(KqlError::invalid(
                self.peek().start,
                format!("expressions are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        let expr = self.parse_or();
        self.depth -= 1;
        expr
    }

    fn parse_or(&mut self) -> Result<Expr, KqlError> {
        let pos = self.peek().start;
        let first = self.parse_and()?;
        if !self.at_word("or") {
            return Ok(first);
        }
        require_boolean(&first, pos)?;
        let mut operands = vec![first];
        while self.eat_word("or") {
            let pos = self.peek().start;
            let operand = self.parse_and()?;
            require_boolean(&operand, pos)?;
            operands.push(operand);
        }
        Ok(Expr::Or(operands))
    }

    fn parse_and(&mut self) -> Result<Expr, KqlError> {
        let pos = self.peek().start;
        let first = self.parse_comparison()?;
        if !self.at_word("and") {
            return Ok(first);
        }
        require_boolean(&first, pos)?;
        let mut operands = vec![first];
        while self.eat_word("and") {
            let pos = self.peek().start;
            let operand = self.parse_comparison()?;
            require_boolean(&operand, pos)?;
            operands.push(operand);
        }
        Ok(Expr::And(operands))
    }

    fn parse_comparison(&mut self) -> Result<Expr, KqlError> {
        let lhs = self.parse_operand()?;
        let op_token = self.peek().clone();
        let symbolic = match op_token.tok {
            Tok::EqEq => Some(CmpOp::Eq),
            Tok::NotEq => Some(CmpOp::NotEq),
            Tok::EqTilde => Some(CmpOp::EqCi),
            Tok::BangTilde => Some(CmpOp::NotEqCi),
            Tok::Lt => Some(CmpOp::Lt),
            Tok::Le => Some(CmpOp::Le),
            Tok::Gt => Some(CmpOp::Gt),
            Tok::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = symbolic {
            self.bump();
            let rhs = self.parse_operand()?;
            return Ok(Expr::Compare {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            });
        }
        // Word operators, optionally negated by a '!' written right against them.
        let negated = op_token.tok == Tok::Bang;
        if negated && !self.adjacent(&op_token, 1) {
            return Err(KqlError::invalid(
                op_token.start,
                "'!' must be followed directly by '=', '~', 'in' or a string operator",
            ));
        }
        let word_at = usize::from(negated);
        let word_token = self.peek_at(word_at).clone();
        let Tok::Ident(word) = &word_token.tok else {
            if negated {
                return Err(KqlError::invalid(
                    op_token.start,
                    "'!' must be followed directly by '=', '~', 'in' or a string operator",
                ));
            }
            return Ok(lhs);
        };
        if word == "in" {
            self.idx += word_at + 1;
            let case_insensitive = self.peek().tok == Tok::Tilde && self.adjacent(&word_token, 0);
            if case_insensitive {
                self.bump();
            }
            self.expect(Tok::LParen, "'(' after 'in'")?;
            let mut list = Vec::new();
            if self.peek().tok != Tok::RParen {
                loop {
                    list.push(self.parse_expr()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
            }
            self.expect(Tok::RParen, "',' or ')' in the 'in' list")?;
            return Ok(Expr::In {
                lhs: Box::new(lhs),
                list,
                case_insensitive,
                negated,
            });
        }
        if let Some((op, case_sensitive)) = string_operator(word) {
            self.idx += word_at + 1;
            let rhs = self.parse_operand()?;
            return Ok(Expr::Compare {
                op: CmpOp::Str {
                    op,
                    case_sensitive,
                    negated,
                },
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            });
        }
        if negated {
            return Err(KqlError::invalid(
                word_token.start,
                format!("operator '!{word}' is not supported by the simulated Resource Graph"),
            ));
        }
        Ok(lhs)
    }

    fn parse_operand(&mut self) -> Result<Expr, KqlError> {
        let token = self.bump();
        match token.tok {
            Tok::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Tok::Int(n) => Ok(Expr::Literal(Value::from(n))),
            Tok::Real(r) => Ok(Expr::Literal(Value::from(r))),
            Tok::Minus => {
                let number = self.bump();
                match number.tok {
                    // `n` is non-negative, so negating cannot overflow.
                    Tok::Int(n) => Ok(Expr::Literal(Value::from(-n))),
                    Tok::Real(r) => Ok(Expr::Literal(Value::from(-r))),
                    _ => Err(KqlError::invalid(
                        token.start,
                        "arithmetic is not supported by the simulated Resource Graph",
                    )),
                }
            }
            Tok::LParen => {
                let expr = self.parse_expr()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(expr)
            }
            // ['column name'] is Kusto's quoted column reference.
            Tok::LBracket => {
                let name = self.bump();
                let Tok::Str(column) = name.tok else {
                    return Err(KqlError::invalid(
                        name.start,
                        format!(
                            "expected a quoted column name, found {}",
                            describe(&name.tok)
                        ),
                    ));
                };
                self.expect(Tok::RBracket, "']'")?;
                let segments = self.parse_segments()?;
                Ok(Expr::Path {
                    column,
                    pos: name.start,
                    segments,
                })
            }
            Tok::Ident(name) => {
                if self.peek().tok == Tok::LParen {
                    return self.parse_call(&name, token.start);
                }
                if name.eq_ignore_ascii_case("true") || name.eq_ignore_ascii_case("false") {
                    return Ok(Expr::Literal(Value::Bool(
                        name.eq_ignore_ascii_case("true"),
                    )));
                }
                if RESERVED.contains(&name.as_str()) {
                    return Err(KqlError::invalid(
                        token.start,
                        format!("expected an expression, found '{name}'"),
                    ));
                }
                let segments = self.parse_segments()?;
                Ok(Expr::Path {
                    column: name,
                    pos: token.start,
                    segments,
                })
            }
            other => Err(KqlError::invalid(
                token.start,
                format!("expected an expression, found {}", describe(&other)),
            )),
        }
    }

    /// `.name`, `['key']` and `[index]` after a column.
    fn parse_segments(&mut self) -> Result<Vec<Segment>, KqlError> {
        let mut segments = Vec::new();
        loop {
            match self.peek().tok {
                Tok::Dot => {
                    self.bump();
                    let key = self.bump();
                    match key.tok {
                        Tok::Ident(name) => segments.push(Segment::Key(name)),
                        other => {
                            return Err(KqlError::invalid(
                                key.start,
                                format!(
                                    "expected a property name after '.', found {}",
                                    describe(&other)
                                ),
                            ))
                        }
                    }
                }
                Tok::LBracket => {
                    self.bump();
                    let key = self.bump();
                    let segment = match key.tok {
                        Tok::Str(name) => Segment::Key(name),
                        Tok::Int(n) => Segment::Index(n),
                        Tok::Minus => match self.bump().tok {
                            Tok::Int(n) => Segment::Index(-n),
                            other => {
                                return Err(KqlError::invalid(
                                    key.start,
                                    format!("expected an array index, found {}", describe(&other)),
                                ))
                            }
                        },
                        other => {
                            return Err(KqlError::invalid(
                                key.start,
                                format!(
                                    "expected a quoted property name or an array index, found {}",
                                    describe(&other)
                                ),
                            ))
                        }
                    };
                    segments.push(segment);
                    self.expect(Tok::RBracket, "']'")?;
                }
                _ => return Ok(segments),
            }
        }
    }

    fn parse_call(&mut self, name: &str, pos: usize) -> Result<Expr, KqlError> {
        let func = match name {
            "tolower" => Func::ToLower,
            "toupper" => Func::ToUpper,
            "tostring" => Func::ToString,
            "isempty" => Func::IsEmpty,
            "isnotempty" => Func::IsNotEmpty,
            "isnull" => Func::IsNull,
            "isnotnull" => Func::IsNotNull,
            "not" => Func::Not,
            "count" => {
                return Err(KqlError::invalid(
                    pos,
                    "count() is only supported as an aggregation in summarize",
                ))
            }
            _ => {
                return Err(KqlError::invalid(
                    pos,
                    format!(
                        "function '{name}' is not supported by the simulated Resource Graph \
                         (supported: {SUPPORTED_FUNCTIONS})"
                    ),
                ))
            }
        };
        self.expect(Tok::LParen, "'('")?;
        let arg_pos = self.peek().start;
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                args.push(self.parse_expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "',' or ')'")?;
        let count = args.len();
        let (Some(arg), 1) = (args.pop(), count) else {
            return Err(KqlError::invalid(
                pos,
                format!("function '{name}' expects 1 argument, got {count}"),
            ));
        };
        if func == Func::Not {
            require_boolean(&arg, arg_pos)?;
        }
        Ok(Expr::Call {
            func,
            arg: Box::new(arg),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Binding: resolve column names against the schema and name output columns
// ---------------------------------------------------------------------------------------------

/// A column of an intermediate schema; `kind` is the fallback when no value says otherwise.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    kind: Option<ColumnKind>,
}

/// Columns in order, indexed by name so that a query with thousands of columns stays linear.
#[derive(Debug, Default)]
struct Schema {
    cols: Vec<Col>,
    index: HashMap<String, usize>,
    /// Next numeric suffix to try per base name, so repeated clashes do not rescan.
    next_suffix: HashMap<String, usize>,
}

impl Schema {
    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn kind(&self, name: &str) -> Option<ColumnKind> {
        self.index
            .get(name)
            .and_then(|&i| self.cols.get(i))
            .and_then(|c| c.kind)
    }

    /// Appends a column whose name is not taken yet.
    fn push(&mut self, name: String, kind: Option<ColumnKind>) {
        self.index.insert(name.clone(), self.cols.len());
        self.cols.push(Col { name, kind });
    }

    /// Sets a column, replacing an existing one where it stands.
    fn upsert(&mut self, name: &str, kind: Option<ColumnKind>) {
        match self.index.get(name).and_then(|&i| self.cols.get_mut(i)) {
            Some(col) => col.kind = kind,
            None => self.push(name.to_string(), kind),
        }
    }

    fn remove_all(&mut self, names: &HashSet<&str>) {
        self.cols.retain(|c| !names.contains(c.name.as_str()));
        self.index = self
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
    }

    /// `base`, or `base1`, `base2`… if taken; `Column1`, `Column2`… when there is no base.
    fn fresh_name(&mut self, base: Option<String>) -> String {
        let base = match base {
            Some(base) if !self.contains(&base) => return base,
            Some(base) => base,
            None => "Column".to_string(),
        };
        let mut n = self.next_suffix.get(&base).copied().unwrap_or(1);
        // Terminates: only finitely many names are taken.
        loop {
            let name = format!("{base}{n}");
            n += 1;
            if !self.contains(&name) {
                self.next_suffix.insert(base, n);
                return name;
            }
        }
    }

    /// Adds an output column: explicit aliases must be unique, derived names are made unique.
    fn add(
        &mut self,
        alias: Option<&str>,
        derived: Option<String>,
        pos: usize,
        kind: Option<ColumnKind>,
    ) -> Result<String, KqlError> {
        let name = match alias {
            Some(alias) if self.contains(alias) => {
                return Err(KqlError::invalid(
                    pos,
                    format!("column '{alias}' is defined more than once"),
                ))
            }
            Some(alias) => alias.to_string(),
            None => self.fresh_name(derived),
        };
        self.push(name.clone(), kind);
        Ok(name)
    }
}

/// Output column names paired with the expressions that fill them.
type Named<'q> = Vec<(String, &'q Expr)>;

/// One operator, with its output column names settled.
enum Step<'q> {
    Where(&'q Expr),
    Project(Named<'q>),
    Extend(Named<'q>),
    Order(&'q [SortKey]),
    Take(usize),
    Summarize { by: Named<'q>, aggs: Vec<String> },
    Count,
    Distinct(Named<'q>),
}

/// The input columns: every key the rows carry, in first-seen order, then any standard
/// `Resources` column no row carries.
fn input_schema(rows: &[&Map<String, Value>]) -> Schema {
    let standard_kind = |name: &str| {
        RESOURCE_COLUMNS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    };
    let mut schema = Schema::default();
    for row in rows {
        for key in row.keys() {
            if !schema.contains(key) {
                schema.push(key.clone(), standard_kind(key));
            }
        }
    }
    for (name, kind) in RESOURCE_COLUMNS {
        if !schema.contains(name) {
            schema.push((*name).to_string(), Some(*kind));
        }
    }
    schema
}

fn resolve(expr: &Expr, schema: &Schema) -> Result<(), KqlError> {
    match expr {
        Expr::Literal(_) => Ok(()),
        Expr::Path { column, pos, .. } => {
            if schema.contains(column) {
                Ok(())
            } else {
                Err(KqlError::unresolved(column, *pos))
            }
        }
        Expr::Call { arg, .. } => resolve(arg, schema),
        Expr::Compare { lhs, rhs, .. } => {
            resolve(lhs, schema)?;
            resolve(rhs, schema)
        }
        Expr::In { lhs, list, .. } => {
            resolve(lhs, schema)?;
            list.iter().try_for_each(|e| resolve(e, schema))
        }
        Expr::And(operands) | Expr::Or(operands) => {
            operands.iter().try_for_each(|e| resolve(e, schema))
        }
    }
}

/// The column type an expression has when none of its values is non-null.
fn kind_hint(expr: &Expr, schema: &Schema) -> Option<ColumnKind> {
    match expr {
        Expr::Literal(value) => kind_of_value(value),
        Expr::Path {
            column, segments, ..
        } if segments.is_empty() => schema.kind(column),
        // A property inside a dynamic column is itself dynamic.
        Expr::Path { .. } => Some(ColumnKind::Object),
        Expr::Call {
            func: Func::ToLower | Func::ToUpper | Func::ToString,
            ..
        } => Some(ColumnKind::String),
        _ => Some(ColumnKind::Boolean),
    }
}

/// The name Kusto gives an unaliased expression: a path's last key (`properties.a.b` → `b`),
/// the argument's name for `tostring`, and `ColumnN` (None here) for anything computed.
fn derived_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path {
            column, segments, ..
        } => Some(
            segments
                .iter()
                .rev()
                .find_map(|s| match s {
                    Segment::Key(key) => Some(key.clone()),
                    Segment::Index(_) => None,
                })
                .unwrap_or_else(|| column.clone()),
        ),
        Expr::Call {
            func: Func::ToString,
            arg,
        } => derived_name(arg),
        _ => None,
    }
}

/// Binds a project-like list over `input`, adding its columns to `out`.
fn bind_items<'q>(
    items: &'q [Item],
    input: &Schema,
    out: &mut Schema,
) -> Result<Named<'q>, KqlError> {
    let mut named = Vec::new();
    for item in items {
        resolve(&item.expr, input)?;
        let name = out.add(
            item.alias.as_deref(),
            derived_name(&item.expr),
            item.pos,
            kind_hint(&item.expr, input),
        )?;
        named.push((name, &item.expr));
    }
    Ok(named)
}

impl Query {
    /// Checks every column reference and settles every output column name before any row is
    /// touched, so errors do not depend on the data.
    fn bind(&self, mut schema: Schema) -> Result<(Vec<Step<'_>>, Schema), KqlError> {
        let mut steps = Vec::new();
        for op in &self.ops {
            match op {
                Op::Where(expr) => {
                    resolve(expr, &schema)?;
                    steps.push(Step::Where(expr));
                }
                Op::Project(items) => {
                    let mut out = Schema::default();
                    let named = bind_items(items, &schema, &mut out)?;
                    schema = out;
                    steps.push(Step::Project(named));
                }
                Op::ProjectAway(names) => {
                    let mut away = HashSet::new();
                    for (name, pos) in names {
                        if !schema.contains(name) {
                            return Err(KqlError::unresolved(name, *pos));
                        }
                        away.insert(name.as_str());
                    }
                    schema.remove_all(&away);
                }
                Op::Extend(items) => {
                    let mut named = Vec::new();
                    for item in items {
                        resolve(&item.expr, &schema)?;
                        let kind = kind_hint(&item.expr, &schema);
                        let name = match &item.alias {
                            Some(alias) => {
                                schema.upsert(alias, kind);
                                alias.clone()
                            }
                            None => {
                                let name = schema.fresh_name(derived_name(&item.expr));
                                schema.push(name.clone(), kind);
                                name
                            }
                        };
                        named.push((name, &item.expr));
                    }
                    steps.push(Step::Extend(named));
                }
                Op::Order(keys) => {
                    for key in keys {
                        resolve(&key.expr, &schema)?;
                    }
                    steps.push(Step::Order(keys));
                }
                Op::Take(n) => steps.push(Step::Take(*n)),
                Op::Summarize { aggs, by } => {
                    let mut out = Schema::default();
                    let by = bind_items(by, &schema, &mut out)?;
                    let mut agg_names = Vec::new();
                    for agg in aggs {
                        agg_names.push(out.add(
                            agg.alias.as_deref(),
                            Some("count_".to_string()),
                            agg.pos,
                            Some(ColumnKind::Integer),
                        )?);
                    }
                    schema = out;
                    steps.push(Step::Summarize {
                        by,
                        aggs: agg_names,
                    });
                }
                Op::Count => {
                    schema = Schema::default();
                    schema.push("Count".to_string(), Some(ColumnKind::Integer));
                    steps.push(Step::Count);
                }
                Op::Distinct(items) => {
                    let mut out = Schema::default();
                    let named = bind_items(items, &schema, &mut out)?;
                    schema = out;
                    steps.push(Step::Distinct(named));
                }
            }
        }
        Ok((steps, schema))
    }
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

/// Input rows stay borrowed until an operator has to build new ones, so `where`, `order by` and
/// `take` never copy a resource.
enum Row<'a> {
    Input(&'a Map<String, Value>),
    Owned(Map<String, Value>),
}

impl Row<'_> {
    fn map(&self) -> &Map<String, Value> {
        match self {
            Row::Input(map) => map,
            Row::Owned(map) => map,
        }
    }

    fn into_map(self) -> Map<String, Value> {
        match self {
            Row::Input(map) => map.clone(),
            Row::Owned(map) => map,
        }
    }
}

fn run_step<'a>(step: &Step<'_>, rows: Vec<Row<'a>>) -> Vec<Row<'a>> {
    match step {
        Step::Where(expr) => rows
            .into_iter()
            .filter(|row| is_true(&eval(expr, row.map())))
            .collect(),
        Step::Project(items) => rows
            .iter()
            .map(|row| {
                let map = items
                    .iter()
                    .map(|(name, expr)| (name.clone(), eval(expr, row.map()).into_owned()))
                    .collect();
                Row::Owned(map)
            })
            .collect(),
        Step::Extend(items) => rows
            .into_iter()
            .map(|row| {
                let mut map = row.into_map();
                // Later items may read columns that earlier ones just set.
                for (name, expr) in items {
                    let value = eval(expr, &map).into_owned();
                    map.insert(name.clone(), value);
                }
                Row::Owned(map)
            })
            .collect(),
        Step::Order(keys) => {
            let mut keyed: Vec<(Vec<Value>, Row<'a>)> = rows
                .into_iter()
                .map(|row| {
                    let values = keys
                        .iter()
                        .map(|k| eval(&k.expr, row.map()).into_owned())
                        .collect();
                    (values, row)
                })
                .collect();
            keyed.sort_by(|(a, _), (b, _)| compare_sort_keys(a, b, keys));
            keyed.into_iter().map(|(_, row)| row).collect()
        }
        Step::Take(n) => {
            let mut rows = rows;
            rows.truncate(*n);
            rows
        }
        Step::Summarize { by, aggs } => {
            let mut groups = group(&rows, by);
            // Without `by`, Kusto returns one row even for no input.
            if by.is_empty() && groups.is_empty() {
                groups.push((Vec::new(), 0));
            }
            groups
                .into_iter()
                .map(|(key, count)| {
                    let mut map: Map<String, Value> =
                        by.iter().map(|(name, _)| name.clone()).zip(key).collect();
                    for agg in aggs {
                        map.insert(agg.clone(), Value::from(count));
                    }
                    Row::Owned(map)
                })
                .collect()
        }
        Step::Count => {
            let mut map = Map::new();
            map.insert("Count".to_string(), Value::from(rows.len()));
            vec![Row::Owned(map)]
        }
        Step::Distinct(items) => group(&rows, items)
            .into_iter()
            .map(|(key, _)| Row::Owned(items.iter().map(|(n, _)| n.clone()).zip(key).collect()))
            .collect(),
    }
}

/// Groups rows by the values of `by`, in first-seen order, counting each group.
fn group(rows: &[Row<'_>], by: &[(String, &Expr)]) -> Vec<(Vec<Value>, usize)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(Vec<Value>, usize)> = Vec::new();
    for row in rows {
        let key: Vec<Value> = by
            .iter()
            .map(|(_, expr)| eval(expr, row.map()).into_owned())
            .collect();
        // JSON text never holds a raw control character, so \u{1f} separates values unambiguously.
        let mut signature = String::new();
        for value in &key {
            signature.push_str(&value.to_string());
            signature.push('\u{1f}');
        }
        match index.get(&signature) {
            Some(&i) => {
                if let Some(group) = groups.get_mut(i) {
                    group.1 += 1;
                }
            }
            None => {
                index.insert(signature, groups.len());
                groups.push((key, 1));
            }
        }
    }
    groups
}

fn materialize(schema: Schema, rows: Vec<Row<'_>>) -> Table {
    let schema = schema.cols;
    let rows: Vec<Map<String, Value>> = rows
        .into_iter()
        .map(|row| match row {
            Row::Input(source) => schema
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        source.get(&c.name).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect(),
            Row::Owned(mut source) => schema
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        source.remove(&c.name).unwrap_or(Value::Null),
                    )
                })
                .collect(),
        })
        .collect();
    let columns = schema
        .into_iter()
        .map(|col| {
            let kind = rows
                .iter()
                .find_map(|row| row.get(&col.name).and_then(kind_of_value))
                .or(col.kind)
                .unwrap_or(ColumnKind::String);
            Column {
                name: col.name,
                kind,
            }
        })
        .collect();
    Table { columns, rows }
}

fn kind_of_value(value: &Value) -> Option<ColumnKind> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some(ColumnKind::Boolean),
        Value::Number(n) if n.is_f64() => Some(ColumnKind::Real),
        Value::Number(_) => Some(ColumnKind::Integer),
        Value::String(_) => Some(ColumnKind::String),
        Value::Array(_) | Value::Object(_) => Some(ColumnKind::Object),
    }
}

fn eval<'r>(expr: &'r Expr, row: &'r Map<String, Value>) -> Cow<'r, Value> {
    match expr {
        Expr::Literal(value) => Cow::Borrowed(value),
        Expr::Path {
            column, segments, ..
        } => {
            let mut current = row.get(column).unwrap_or(&NULL);
            for segment in segments {
                current = match (segment, current) {
                    (Segment::Key(key), Value::Object(map)) => map.get(key).unwrap_or(&NULL),
                    (Segment::Index(i), Value::Array(items)) => {
                        // Negative indexes count from the end, as in Kusto.
                        let index = if *i < 0 {
                            i64::try_from(items.len())
                                .ok()
                                .and_then(|len| len.checked_add(*i))
                        } else {
                            Some(*i)
                        };
                        index
                            .and_then(|i| usize::try_from(i).ok())
                            .and_then(|i| items.get(i))
                            .unwrap_or(&NULL)
                    }
                    _ => &NULL,
                };
            }
            Cow::Borrowed(current)
        }
        Expr::Call { func, arg } => {
            let value = eval(arg, row);
            let result = match func {
                Func::ToString => Value::String(to_text(&value).into_owned()),
                Func::ToLower => Value::String(to_text(&value).to_lowercase()),
                Func::ToUpper => Value::String(to_text(&value).to_uppercase()),
                Func::IsEmpty => Value::Bool(is_empty(&value)),
                Func::IsNotEmpty => Value::Bool(!is_empty(&value)),
                Func::IsNull => Value::Bool(value.is_null()),
                Func::IsNotNull => Value::Bool(!value.is_null()),
                Func::Not => Value::Bool(!is_true(&value)),
            };
            Cow::Owned(result)
        }
        Expr::Compare { op, lhs, rhs } => {
            Cow::Owned(Value::Bool(compare(*op, &eval(lhs, row), &eval(rhs, row))))
        }
        Expr::In {
            lhs,
            list,
            case_insensitive,
            negated,
        } => {
            let left = eval(lhs, row);
            let found = list.iter().any(|item| {
                let right = eval(item, row);
                if *case_insensitive {
                    equals_ci(&left, &right)
                } else {
                    equals(&left, &right)
                }
            });
            Cow::Owned(Value::Bool(found != *negated))
        }
        Expr::And(operands) => {
            Cow::Owned(Value::Bool(operands.iter().all(|e| is_true(&eval(e, row)))))
        }
        Expr::Or(operands) => {
            Cow::Owned(Value::Bool(operands.iter().any(|e| is_true(&eval(e, row)))))
        }
    }
}

fn is_true(value: &Value) -> bool {
    matches!(value, Value::Bool(true))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// How string operators and `tostring` read a value: null is empty, dynamic values are JSON.
fn to_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Array(_) | Value::Object(_) => Cow::Owned(value.to_string()),
    }
}

fn compare(op: CmpOp, left: &Value, right: &Value) -> bool {
    match op {
        CmpOp::Eq => equals(left, right),
        CmpOp::NotEq => !equals(left, right),
        CmpOp::EqCi => equals_ci(left, right),
        CmpOp::NotEqCi => !equals_ci(left, right),
        CmpOp::Lt => ordered(left, right).is_some_and(Ordering::is_lt),
        CmpOp::Le => ordered(left, right).is_some_and(Ordering::is_le),
        CmpOp::Gt => ordered(left, right).is_some_and(Ordering::is_gt),
        CmpOp::Ge => ordered(left, right).is_some_and(Ordering::is_ge),
        CmpOp::Str {
            op,
            case_sensitive,
            negated,
        } => {
            let (hay, needle) = (to_text(left), to_text(right));
            let (hay, needle) = if case_sensitive {
                (hay, needle)
            } else {
                (
                    Cow::Owned(hay.to_lowercase()),
                    Cow::Owned(needle.to_lowercase()),
                )
            };
            let found = match op {
                StrOp::Contains => hay.contains(needle.as_ref()),
                StrOp::StartsWith => hay.starts_with(needle.as_ref()),
                StrOp::EndsWith => hay.ends_with(needle.as_ref()),
                StrOp::Has => has_term(&hay, &needle),
            };
            found != negated
        }
    }
}

/// `==`: null equals nothing, numbers compare by value, differing types are unequal.
fn equals(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b) == Ordering::Equal,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => left == right,
        _ => false,
    }
}

fn equals_ci(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::String(a), Value::String(b)) => a == b || a.to_lowercase() == b.to_lowercase(),
        _ => equals(left, right),
    }
}

/// Ordering for `<`, `<=`, `>`, `>=`: only two numbers or two strings compare.
fn ordered(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => Some(compare_numbers(a, b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Exact numeric comparison. Mixing integers and floats through `f64` would make distinct large
/// integers equal to the same float and break the total order that sorting relies on.
fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    let as_int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    let as_float = |n: &serde_json::Number| n.as_f64().unwrap_or(0.0);
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => compare_int_float(x, as_float(b)),
        (None, Some(y)) => compare_int_float(y, as_float(a)).reverse(),
        // JSON numbers are never NaN; -0.0 and 0.0 are equal, as they are to the integer 0.
        (None, None) => as_float(a)
            .partial_cmp(&as_float(b))
            .unwrap_or(Ordering::Equal),
    }
}

fn compare_int_float(int: i128, float: f64) -> Ordering {
    let floor = float.floor();
    // `as` saturates, which still orders correctly against any i64/u64 value.
    match int.cmp(&(floor as i128)) {
        Ordering::Equal if float > floor => Ordering::Less,
        other => other,
    }
}

/// A total order over all values for `order by`: null < bool < number < string < array <
/// object, natural order within a type.
fn total_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            a.to_string().cmp(&b.to_string())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_sort_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), key) in a.iter().zip(b).zip(keys) {
        let order = total_cmp(x, y);
        let order = if key.descending {
            order.reverse()
        } else {
            order
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// `has`: `needle` occurs in `hay` with no letter or digit right before or after it, which
/// approximates Kusto's whole-term match.
fn has_term(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.match_indices(needle).any(|(i, matched)| {
        let before = hay.get(..i).and_then(|s| s.chars().next_back());
        let after = hay.get(i + matched.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(
        name: &str,
        kind_of: &str,
        location: &str,
        group: &str,
        properties: Value,
        tags: Value,
        zones: Value,
    ) -> Value {
        json!({
            "id": format!("/subscriptions/s1/resourceGroups/{group}/providers/{kind_of}/{name}"),
            "name": name,
            "type": kind_of,
            "tenantId": "t1",
            "kind": "",
            "location": location,
            "resourceGroup": group,
            "subscriptionId": "s1",
            "managedBy": "",
            "sku": null,
            "plan": null,
            "properties": properties,
            "tags": tags,
            "identity": null,
            "zones": zones,
            "extendedLocation": null,
        })
    }

    /// Five resources: two web apps (one with a mixed-case type), a VM, a storage account whose
    /// name has a quote, and a vault with no tags at all.
    fn sample() -> Vec<Value> {
        vec![
            resource(
                "web-1",
                "microsoft.web/sites",
                "westeurope",
                "rg-web",
                json!({"provisioningState": "Succeeded", "instances": 3, "cpu": 0.5, "enabled": true,
                       "configuration": {"activeRevisionsMode": "Single"}}),
                json!({"env": "prod", "app-name": "shop"}),
                json!(["1", "2"]),
            ),
            resource(
                "web-2",
                "Microsoft.Web/sites",
                "eastus",
                "rg-web",
                json!({"provisioningState": "Failed", "instances": 1, "enabled": false}),
                json!({"env": "dev"}),
                json!(null),
            ),
            resource(
                "vm-1",
                "microsoft.compute/virtualmachines",
                "westeurope",
                "rg-vm",
                json!({"provisioningState": "Succeeded", "instances": 10,
                       "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
                       "timeCreated": "2024-01-02T03:04:05Z"}),
                json!({}),
                json!(["3"]),
            ),
            resource(
                "it's",
                "microsoft.storage/storageaccounts",
                "northeurope",
                "RG-Data",
                json!({"provisioningState": "Succeeded", "instances": 2}),
                json!({"env": "Prod", "owner": "team-a"}),
                json!(null),
            ),
            resource(
                "kv-ünïcode",
                "microsoft.keyvault/vaults",
                "eastus",
                "rg-data",
                json!({}),
                json!(null),
                json!(null),
            ),
        ]
    }

    fn run_on(query: &str, rows: &[Value]) -> Table {
        match parse(query).and_then(|q| q.execute(rows.iter())) {
            Ok(table) => table,
            Err(e) => panic!("query {:?} failed: {e}", short(query)),
        }
    }

    /// Keeps failure messages readable when the query is huge.
    fn short(query: &str) -> String {
        query.chars().take(200).collect()
    }

    fn run(query: &str) -> Table {
        run_on(query, &sample())
    }

    fn err(query: &str) -> KqlError {
        match parse(query).and_then(|q| q.execute(sample().iter())) {
            Ok(table) => panic!(
                "query {:?} should fail, got {} rows",
                short(query),
                table.rows.len()
            ),
            Err(e) => e,
        }
    }

    fn names(table: &Table) -> Vec<String> {
        table
            .rows
            .iter()
            .map(|r| {
                r.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }

    fn column_names(table: &Table) -> Vec<&str> {
        table.columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn values(table: &Table, column: &str) -> Vec<Value> {
        table
            .rows
            .iter()
            .map(|r| r.get(column).cloned().unwrap_or(json!("<missing>")))
            .collect()
    }

    fn where_names(predicate: &str) -> Vec<String> {
        names(&run(&format!(
            "Resources | where {predicate} | project name"
        )))
    }

    // --- tokenizer -------------------------------------------------------------------------

    #[test]
    fn escaped_quotes_in_single_and_double_quoted_strings() {
        assert_eq!(where_names(r"name == 'it\'s'"), ["it's"]);
        assert_eq!(where_names(r#"name == "it's""#), ["it's"]);
        assert_eq!(where_names(r#"name == "it\'s""#), ["it's"]);
        let t = run(r#"Resources | take 1 | project a = "q\"b\\c\td\n""#);
        assert_eq!(values(&t, "a"), [json!("q\"b\\c\td\n")]);
    }

    #[test]
    fn unterminated_string_points_at_its_quote() {
        let e = err("Resources | where name == 'abc");
        assert_eq!(e.position, 26);
        assert!(e.message.contains("unterminated string"), "{}", e.message);
        let e = err(r"Resources | where name == 'abc\'");
        assert_eq!(e.position, 26);
        let e = err("where name == \"abc\n\" or true");
        assert_eq!(e.position, 14);
        assert!(e.message.contains("unterminated"));
    }

    #[test]
    fn unknown_escape_is_an_error_at_the_backslash() {
        let e = err(r"where name == 'a\qb'");
        assert_eq!(e.position, 16);
        assert!(e.message.contains("escape"), "{}", e.message);
    }

    #[test]
    fn unexpected_characters_and_bad_numbers() {
        let e = err("Resources | where name == 'a' + 'b'");
        assert_eq!(e.position, 30);
        assert!(e.message.contains("'+'"));
        let e = err("Resources | where properties.instances > 1d");
        assert_eq!(e.position, 41);
        assert!(e.message.contains("timespan"));
        let e = err("Resources | take 99999999999999999999");
        assert!(e.message.contains("out of range"));
        assert_eq!(e.position, 17);
    }

    #[test]
    fn comments_are_ignored() {
        let t =
            run("Resources // all of them\n| where name == 'vm-1' // just the vm\n| project name");
        assert_eq!(names(&t), ["vm-1"]);
    }

    #[test]
    fn number_literals() {
        assert_eq!(where_names("properties.cpu == 0.5"), ["web-1"]);
        assert_eq!(where_names("properties.cpu == 5e-1"), ["web-1"]);
        assert_eq!(
            where_names("properties.instances > -1 and properties.instances < 2"),
            ["web-2"]
        );
        assert_eq!(where_names("properties.instances == 3.0"), ["web-1"]);
    }

    // --- where: comparisons ----------------------------------------------------------------

    #[test]
    fn equality_is_case_sensitive() {
        assert_eq!(where_names("type == 'microsoft.web/sites'"), ["web-1"]);
        assert_eq!(where_names("type != 'microsoft.web/sites'").len(), 4);
    }

    #[test]
    fn tilde_equality_ignores_case() {
        assert_eq!(
            where_names("type =~ 'MICROSOFT.WEB/SITES'"),
            ["web-1", "web-2"]
        );
        assert_eq!(where_names("name =~ 'KV-ÜNÏCODE'"), ["kv-ünïcode"]);
        assert_eq!(
            where_names("type !~ 'microsoft.web/sites'"),
            ["vm-1", "it's", "kv-ünïcode"]
        );
    }

    #[test]
    fn nulls_never_equal_and_negations_let_them_through() {
        // The vault has no tags, vm-1 has no env tag.
        assert_eq!(
            where_names("tags.env == tags.env"),
            ["web-1", "web-2", "it's"]
        );
        assert_eq!(
            where_names("properties.nothere == properties.nothere"),
            Vec::<String>::new()
        );
        assert_eq!(
            where_names("tags.env != 'prod'"),
            ["web-2", "vm-1", "it's", "kv-ünïcode"]
        );
        assert_eq!(where_names("tags.env =~ 'prod'"), ["web-1", "it's"]);
    }

    #[test]
    fn string_and_number_never_equal() {
        assert!(where_names("properties.instances == '3'").is_empty());
        assert!(where_names("name == 3").is_empty());
        assert!(where_names("properties.enabled == 'true'").is_empty());
        assert_eq!(where_names("properties.enabled == true"), ["web-1"]);
        assert_eq!(where_names("properties.enabled == False"), ["web-2"]);
    }

    #[test]
    fn contains_family() {
        assert_eq!(where_names("type contains 'WEB'"), ["web-1", "web-2"]);
        assert_eq!(where_names("type contains_cs 'Web'"), ["web-2"]);
        assert_eq!(
            where_names("type !contains 'web'"),
            ["vm-1", "it's", "kv-ünïcode"]
        );
        assert_eq!(where_names("type !contains_cs 'Web'").len(), 4);
        // Objects are searched as JSON text, a common Resource Graph idiom.
        assert_eq!(where_names("properties contains 'standard_d2s'"), ["vm-1"]);
        assert_eq!(where_names("tags contains 'team-'"), ["it's"]);
    }

    #[test]
    fn startswith_and_endswith_ignore_case() {
        assert_eq!(where_names("name startswith 'WEB-'"), ["web-1", "web-2"]);
        assert_eq!(
            where_names("resourceGroup endswith 'data'"),
            ["it's", "kv-ünïcode"]
        );
        assert_eq!(
            where_names("resourceGroup endswith_cs 'data'"),
            ["kv-ünïcode"]
        );
        assert_eq!(
            where_names("name !startswith 'web'"),
            ["vm-1", "it's", "kv-ünïcode"]
        );
        assert_eq!(
            where_names("name startswith_cs 'Web'"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn has_matches_whole_terms() {
        assert_eq!(where_names("id has 'sites'"), ["web-1", "web-2"]);
        assert!(where_names("id has 'site'").is_empty());
        assert_eq!(where_names("id has 'DATA'"), ["it's", "kv-ünïcode"]);
        assert_eq!(where_names("id has_cs 'Data'"), ["it's"]);
        assert!(where_names("id has_cs 'DATA'").is_empty());
        assert_eq!(
            where_names("name !has 'web'"),
            ["vm-1", "it's", "kv-ünïcode"]
        );
    }

    #[test]
    fn in_operators() {
        assert_eq!(
            where_names("location in ('eastus', 'northeurope')"),
            ["web-2", "it's", "kv-ünïcode"]
        );
        assert!(where_names("location in ('EASTUS')").is_empty());
        assert_eq!(
            where_names("location in~ ('EASTUS')"),
            ["web-2", "kv-ünïcode"]
        );
        assert_eq!(
            where_names("location !in ('eastus', 'westeurope')"),
            ["it's"]
        );
        assert_eq!(
            where_names("location !in~ ('EastUS', 'WestEurope')"),
            ["it's"]
        );
        assert_eq!(
            where_names("properties.instances in (1, 2)"),
            ["web-2", "it's"]
        );
        assert!(where_names("tags.env in ('nope')").is_empty());
    }

    #[test]
    fn ordering_comparisons_on_numbers_and_strings() {
        assert_eq!(where_names("properties.instances > 2"), ["web-1", "vm-1"]);
        assert_eq!(
            where_names("properties.instances >= 2"),
            ["web-1", "vm-1", "it's"]
        );
        assert_eq!(where_names("properties.instances < 2"), ["web-2"]);
        assert_eq!(where_names("properties.instances <= 2"), ["web-2", "it's"]);
        assert_eq!(where_names("properties.cpu < 1"), ["web-1"]);
        assert_eq!(where_names("location < 'f'"), ["web-2", "kv-ünïcode"]);
        // Mixed types and nulls never compare.
        assert!(where_names("name > 1").is_empty());
        assert!(where_names("properties.missing < 100").is_empty());
    }

    #[test]
    fn logic_and_precedence() {
        // `and` binds tighter than `or`.
        assert_eq!(
            where_names("name == 'vm-1' or location == 'eastus' and tags.env == 'dev'"),
            ["web-2", "vm-1"]
        );
        assert_eq!(
            where_names("(name == 'vm-1' or location == 'eastus') and isnull(tags.env)"),
            ["vm-1", "kv-ünïcode"]
        );
        assert_eq!(
            where_names("not(location == 'eastus')"),
            ["web-1", "vm-1", "it's"]
        );
        assert_eq!(where_names("not(not(name == 'vm-1'))"), ["vm-1"]);
        assert_eq!(where_names("true").len(), 5);
        assert!(where_names("false").is_empty());
        assert_eq!(where_names("properties.enabled"), ["web-1"]);
    }

    #[test]
    fn emptiness_functions() {
        assert_eq!(where_names("isempty(tags.env)"), ["vm-1", "kv-ünïcode"]);
        assert_eq!(
            where_names("isnotempty(tags.env)"),
            ["web-1", "web-2", "it's"]
        );
        assert_eq!(where_names("isempty(kind)").len(), 5);
        assert_eq!(
            where_names("isnull(zones)"),
            ["web-2", "it's", "kv-ünïcode"]
        );
        assert_eq!(where_names("isnotnull(zones)"), ["web-1", "vm-1"]);
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            where_names("tolower(type) == 'microsoft.web/sites'"),
            ["web-1", "web-2"]
        );
        assert_eq!(
            where_names("toupper(tags.env) == 'PROD'"),
            ["web-1", "it's"]
        );
        assert_eq!(
            where_names("tostring(properties.instances) == '10'"),
            ["vm-1"]
        );
        let t = run("Resources | where name == 'web-1' | extend s = tostring(properties.configuration), b = tostring(properties.enabled), n = tostring(properties.nothere)");
        assert_eq!(
            values(&t, "s"),
            [json!("{\"activeRevisionsMode\":\"Single\"}")]
        );
        assert_eq!(values(&t, "b"), [json!("true")]);
        assert_eq!(values(&t, "n"), [json!("")]);
    }

    // --- paths -----------------------------------------------------------------------------

    #[test]
    fn dotted_and_bracket_paths() {
        assert_eq!(
            where_names("properties.configuration.activeRevisionsMode == 'Single'"),
            ["web-1"]
        );
        assert_eq!(where_names("tags['app-name'] == 'shop'"), ["web-1"]);
        assert_eq!(where_names(r#"tags["app-name"] == 'shop'"#), ["web-1"]);
        assert_eq!(
            where_names("properties['hardwareProfile'].vmSize == 'Standard_D2s_v3'"),
            ["vm-1"]
        );
        assert_eq!(where_names("zones[0] == '3'"), ["vm-1"]);
        assert_eq!(where_names("zones[-1] == '2'"), ["web-1"]);
        assert_eq!(where_names("['name'] == 'vm-1'"), ["vm-1"]);
        // Keywords are fine as property names.
        let rows = vec![json!({"name": "x", "properties": {"type": "a", "in": 1}})];
        let t = run_on("where properties.type == 'a' and properties.in == 1", &rows);
        assert_eq!(t.rows.len(), 1);
    }

    #[test]
    fn missing_properties_are_null_not_errors() {
        let t = run(
            "Resources | project name, s = properties.no.such.path, z = zones[7], i = name.inner",
        );
        assert_eq!(t.rows.len(), 5);
        assert!(values(&t, "s").iter().all(Value::is_null));
        assert!(values(&t, "z").iter().all(Value::is_null));
        assert!(values(&t, "i").iter().all(Value::is_null));
        // All-null paths are dynamic, hence "object".
        assert_eq!(t.columns[1].kind, ColumnKind::Object);
    }

    #[test]
    fn unknown_column_is_a_kusto_style_error() {
        let e = err("Resources | where Type == 'x'");
        assert_eq!(
            e.message,
            "Failed to resolve scalar expression named 'Type'"
        );
        assert_eq!(e.position, 18);
        let e = err("Resources | project name | where type == 'x'");
        assert_eq!(
            e.message,
            "Failed to resolve scalar expression named 'type'"
        );
        assert_eq!(e.position, 33);
        let e = err("Resources | project-away nope");
        assert_eq!(e.position, 25);
        let e = err("Resources | order by bogus.x");
        assert!(e.message.contains("'bogus'"));
        // Unknown columns fail even when there is no data to look at.
        let q = parse("where bogus == 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(q.execute(std::iter::empty()).is_err());
    }

    // --- operators -------------------------------------------------------------------------

    #[test]
    fn no_project_keeps_all_columns_in_row_order() {
        let t = run("Resources | where name == 'vm-1'");
        let expected: Vec<&str> = RESOURCE_COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(column_names(&t), expected);
        let keys: Vec<&String> = t.rows[0].keys().collect();
        assert_eq!(keys, expected);
        // Rows in another key order keep that order.
        let rows = vec![json!({"zeta": 1, "name": "a", "alpha": true})];
        let t = run_on("Resources", &rows);
        assert_eq!(&column_names(&t)[..3], ["zeta", "name", "alpha"]);
        assert_eq!(t.columns.len(), 3 + RESOURCE_COLUMNS.len() - 1);
    }

    #[test]
    fn project_names_columns_like_kusto() {
        let t = run("Resources | take 1 | project name, properties.provisioningState, tags.env, rg = resourceGroup, tags['app-name'], tolower(name), toupper(name)");
        assert_eq!(
            column_names(&t),
            [
                "name",
                "provisioningState",
                "env",
                "rg",
                "app-name",
                "Column1",
                "Column2"
            ]
        );
        assert_eq!(
            t.rows[0].get("provisioningState"),
            Some(&json!("Succeeded"))
        );
        assert_eq!(t.rows[0].get("Column1"), Some(&json!("web-1")));
        assert_eq!(t.rows[0].get("Column2"), Some(&json!("WEB-1")));
        let keys: Vec<&String> = t.rows[0].keys().collect();
        assert_eq!(keys, column_names(&t));
    }

    #[test]
    fn project_deduplicates_derived_names_and_rejects_duplicate_aliases() {
        let t = run("Resources | take 1 | project name, properties.name, tags.name");
        assert_eq!(column_names(&t), ["name", "name1", "name2"]);
        let e = err("Resources | project a = name, a = type");
        assert_eq!(e.position, 30);
        assert!(e.message.contains("'a'"));
    }

    #[test]
    fn project_away_drops_columns() {
        let t = run("Resources | project-away properties, tags, id | take 1");
        let cols = column_names(&t);
        assert!(!cols.contains(&"properties") && !cols.contains(&"tags") && !cols.contains(&"id"));
        assert_eq!(cols.len(), RESOURCE_COLUMNS.len() - 3);
        assert!(!t.rows[0].contains_key("properties"));
        let e = err("Resources | project-away name | where name == 'x'");
        assert!(e.message.contains("'name'"));
    }

    #[test]
    fn extend_adds_and_replaces_columns() {
        let t = run("Resources | where name == 'web-2' | extend lower = tolower(type), upper = toupper(lower), n = 5, r = 1.5, state = properties.provisioningState, flag = location == 'eastus'");
        let row = &t.rows[0];
        assert_eq!(row.get("lower"), Some(&json!("microsoft.web/sites")));
        assert_eq!(row.get("upper"), Some(&json!("MICROSOFT.WEB/SITES")));
        assert_eq!(row.get("n"), Some(&json!(5)));
        assert_eq!(row.get("state"), Some(&json!("Failed")));
        assert_eq!(row.get("flag"), Some(&json!(true)));
        let cols = column_names(&t);
        assert_eq!(
            &cols[cols.len() - 6..],
            ["lower", "upper", "n", "r", "state", "flag"]
        );
        let kinds: Vec<&str> = t.columns[cols.len() - 6..]
            .iter()
            .map(|c| c.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            ["string", "string", "integer", "real", "string", "boolean"]
        );
        // Replacing keeps the column where it was.
        let t = run("Resources | where name == 'web-2' | extend name = toupper(name)");
        assert_eq!(t.columns[1].name, "name");
        assert_eq!(t.rows[0].get("name"), Some(&json!("WEB-2")));
        assert_eq!(t.columns.len(), RESOURCE_COLUMNS.len());
        // Unaliased paths take their last segment.
        let t = run("Resources | take 1 | extend properties.provisioningState, tostring(name)");
        let cols = column_names(&t);
        assert_eq!(&cols[cols.len() - 2..], ["provisioningState", "name1"]);
    }

    #[test]
    fn order_by_defaults_to_descending() {
        let t = run("Resources | order by name | project name");
        assert_eq!(names(&t), ["web-2", "web-1", "vm-1", "kv-ünïcode", "it's"]);
        let t = run("Resources | sort by name asc | project name");
        assert_eq!(names(&t), ["it's", "kv-ünïcode", "vm-1", "web-1", "web-2"]);
        let t = run("Resources | order by properties.instances desc | project name");
        // The vault has no instances: nulls are lowest.
        assert_eq!(names(&t), ["vm-1", "web-1", "it's", "web-2", "kv-ünïcode"]);
        let t = run("Resources | order by properties.instances asc | project name");
        assert_eq!(names(&t), ["kv-ünïcode", "web-2", "it's", "web-1", "vm-1"]);
    }

    #[test]
    fn order_by_multiple_keys() {
        let t = run("Resources | order by location asc, name desc | project name, location");
        assert_eq!(names(&t), ["web-2", "kv-ünïcode", "it's", "web-1", "vm-1"]);
        let t = run("Resources | order by tolower(resourceGroup) asc, properties.instances asc | project name");
        assert_eq!(names(&t), ["kv-ünïcode", "it's", "vm-1", "web-2", "web-1"]);
    }

    #[test]
    fn order_is_total_over_mixed_types() {
        let rows: Vec<Value> = [
            json!("b"),
            json!(2),
            json!(null),
            json!(true),
            json!(1.5),
            json!({"a": 1}),
            json!([1]),
            json!("a"),
            json!(9007199254740993_i64),
            json!(9007199254740992.0),
            json!(-0.0),
            json!(0),
            json!(false),
            json!(u64::MAX),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"name": i.to_string(), "properties": {"v": v}}))
        .collect();
        let t = run_on(
            "Resources | order by properties.v asc | project v = properties.v",
            &rows,
        );
        let got = values(&t, "v");
        assert_eq!(got[0], json!(null));
        assert_eq!(&got[1..3], [json!(false), json!(true)]);
        assert_eq!(got[3], json!(-0.0));
        assert_eq!(got[4], json!(0));
        assert_eq!(&got[5..7], [json!(1.5), json!(2)]);
        assert_eq!(
            &got[7..10],
            [
                json!(9007199254740992.0),
                json!(9007199254740993_i64),
                json!(u64::MAX)
            ]
        );
        assert_eq!(
            &got[10..],
            [json!("a"), json!("b"), json!([1]), json!({"a": 1})]
        );
    }

    #[test]
    fn take_and_limit() {
        let t = run("Resources | order by name asc | take 2 | project name");
        assert_eq!(names(&t), ["it's", "kv-ünïcode"]);
        let t = run("Resources | limit 3");
        assert_eq!(t.rows.len(), 3);
        assert!(run("Resources | take 0").rows.is_empty());
        assert_eq!(run("Resources | take 100").rows.len(), 5);
        // take before order is a different query.
        let t = run("Resources | take 2 | order by name asc | project name");
        assert_eq!(names(&t), ["web-1", "web-2"]);
    }

    #[test]
    fn summarize_count_by() {
        let t = run("Resources | summarize count() by location");
        assert_eq!(column_names(&t), ["location", "count_"]);
        assert_eq!(t.columns[1].kind, ColumnKind::Integer);
        assert_eq!(
            values(&t, "location"),
            [json!("westeurope"), json!("eastus"), json!("northeurope")]
        );
        assert_eq!(values(&t, "count_"), [json!(2), json!(2), json!(1)]);
        let t = run("Resources | summarize n = count() by tolower(type) | order by n desc");
        assert_eq!(column_names(&t), ["Column1", "n"]);
        assert_eq!(
            t.rows[0].get("Column1"),
            Some(&json!("microsoft.web/sites"))
        );
        assert_eq!(t.rows[0].get("n"), Some(&json!(2)));
        let t = run("Resources | summarize count() by location, env = tostring(tags.env)");
        assert_eq!(column_names(&t), ["location", "env", "count_"]);
        assert_eq!(t.rows.len(), 5);
        let t = run("Resources | summarize count() by tags.env");
        assert_eq!(column_names(&t), ["env", "count_"]);
        assert_eq!(
            values(&t, "env"),
            [json!("prod"), json!("dev"), json!(null), json!("Prod")]
        );
        assert_eq!(
            values(&t, "count_"),
            [json!(1), json!(1), json!(2), json!(1)]
        );
    }

    #[test]
    fn summarize_without_by() {
        let t = run("Resources | summarize count()");
        assert_eq!(column_names(&t), ["count_"]);
        assert_eq!(values(&t, "count_"), [json!(5)]);
        let t = run("Resources | where name == 'none' | summarize total = count()");
        assert_eq!(values(&t, "total"), [json!(0)]);
        let t = run("Resources | where name == 'none' | summarize count() by location");
        assert!(t.rows.is_empty());
        assert_eq!(t.columns[1].kind, ColumnKind::Integer);
        let t = run("Resources | summarize by location");
        assert_eq!(column_names(&t), ["location"]);
        assert_eq!(t.rows.len(), 3);
        let e = err("Resources | summarize dcount(name) by location");
        assert!(e.message.contains("aggregation 'dcount'"));
        assert_eq!(e.position, 22);
    }

    #[test]
    fn count_operator() {
        let t = run("Resources | where type =~ 'microsoft.web/sites' | count");
        assert_eq!(column_names(&t), ["Count"]);
        assert_eq!(t.columns[0].kind, ColumnKind::Integer);
        assert_eq!(values(&t, "Count"), [json!(2)]);
        assert_eq!(values(&run("count"), "Count"), [json!(5)]);
    }

    #[test]
    fn distinct_operator() {
        let t = run("Resources | distinct location");
        assert_eq!(
            values(&t, "location"),
            [json!("westeurope"), json!("eastus"), json!("northeurope")]
        );
        let t = run("Resources | distinct resourceGroup, tags.env | order by resourceGroup asc");
        assert_eq!(column_names(&t), ["resourceGroup", "env"]);
        assert_eq!(t.rows.len(), 5);
    }

    #[test]
    fn queries_may_start_with_an_operator() {
        assert_eq!(
            names(&run("where type =~ 'microsoft.compute/virtualmachines'")),
            ["vm-1"]
        );
        assert_eq!(
            column_names(&run("project name, location")),
            ["name", "location"]
        );
        assert_eq!(run("take 2").rows.len(), 2);
        assert_eq!(run("limit 1").rows.len(), 1);
        assert_eq!(names(&run("order by name asc | take 1")), ["it's"]);
        assert_eq!(run("summarize count() by location").rows.len(), 3);
        assert_eq!(run("distinct location").rows.len(), 3);
        assert_eq!(run("extend x = 1").rows.len(), 5);
        assert_eq!(names(&run("sort by name asc | take 1")), ["it's"]);
    }

    #[test]
    fn table_name_is_case_insensitive() {
        assert_eq!(run("resources").rows.len(), 5);
        assert_eq!(run("RESOURCES | take 1").rows.len(), 1);
        assert_eq!(run("  Resources\n|\twhere name=='vm-1'").rows.len(), 1);
    }

    // --- errors ----------------------------------------------------------------------------

    #[test]
    fn unsupported_tables() {
        let e = err("ResourceContainers | take 1");
        assert_eq!(e.position, 0);
        assert!(
            e.message.contains("table 'ResourceContainers'"),
            "{}",
            e.message
        );
        assert!(e.message.contains("only 'Resources'"));
        let e = err("  AdvisorResources");
        assert_eq!(e.position, 2);
        let e = err("let x = 1; Resources");
        assert!(e.message.contains("'let'"));
    }

    #[test]
    fn unsupported_operators() {
        let e = err("Resources | join (Resources) on id");
        assert_eq!(e.position, 12);
        assert!(e.message.starts_with("Query is invalid: operator 'join' is not supported by the simulated Resource Graph (supported: where, project"), "{}", e.message);
        let e = err("Resources | mv-expand zones");
        assert!(e.message.contains("operator 'mv-expand'"));
        let e = err("Resources | project-rename a = name");
        assert!(e.message.contains("operator 'project-rename'"));
        let e = err("Resources | top 5 by name");
        assert!(e.message.contains("operator 'top'"));
        let e = err("Resources | order name");
        assert!(e.message.contains("'by'"));
        assert_eq!(e.position, 18);
    }

    #[test]
    fn unsupported_functions_and_syntax() {
        let e = err("Resources | where strlen(name) > 3");
        assert_eq!(e.position, 18);
        assert!(e.message.contains("function 'strlen'"));
        let e = err("Resources | where count() > 3");
        assert!(e.message.contains("summarize"));
        let e = err("Resources | where name matches regex 'x'");
        assert_eq!(e.position, 23);
        let e = err("Resources | where name ! contains 'x'");
        assert_eq!(e.position, 23);
        let e = err("Resources | where name !between (1 .. 2)");
        assert!(e.message.contains("'!between'"));
        let e = err("Resources | where tolower(name, 'x') == 'a'");
        assert!(e.message.contains("expects 1 argument, got 2"));
        let e = err("Resources | where name == - 'x'");
        assert!(e.message.contains("arithmetic"));
        let e = err("Resources | take -1");
        assert_eq!(e.position, 17);
        let e = err("Resources | take many");
        assert!(e.message.contains("row count"));
    }

    #[test]
    fn where_needs_a_boolean() {
        assert_eq!(err("Resources | where 'abc'").position, 18);
        assert_eq!(err("Resources | where tolower(name)").position, 18);
        assert_eq!(err("Resources | where name == 'a' and 5").position, 34);
        assert_eq!(err("Resources | where not('x')").position, 22);
        assert_eq!(err("Resources | where not(tolower(name))").position, 22);
        // Paths are dynamic and may hold booleans.
        assert_eq!(
            where_names("not(properties.enabled)"),
            ["web-2", "vm-1", "it's", "kv-ünïcode"]
        );
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for query in [
            "",
            "   ",
            "// only a comment",
            "|",
            "|||",
            "| where true",
            "Resources |",
            "Resources | |",
            "Resources ||",
            "Resources | where",
            "Resources | where (",
            "Resources | where )",
            "Resources | where name ==",
            "Resources | where name in (",
            "Resources | where name in ('a'",
            "Resources | project",
            "Resources | project ,",
            "Resources | project a =",
            "Resources | summarize",
            "Resources | summarize count(",
            "Resources | summarize count() by",
            "Resources | order by",
            "Resources | where tags[",
            "Resources | where tags['x'",
            "Resources | where tags[x]",
            "Resources | where tags.",
            "Resources | where name !",
            "Resources | where name in~",
            "Resources extra",
            "Resources | where name == 'a' name",
            "Resources | where ∑ == 1",
            "Résources",
            "Resources | where name == @'x'",
            "Resources ; Resources",
            "\u{feff}Resources",
            "Resources | where 1 == 1 == 1",
            "Resources | where name == 'é' and",
            "-",
            "'",
            "\"",
        ] {
            let result = parse(query).and_then(|q| q.execute(sample().iter()));
            assert!(
                result.is_err(),
                "{query:?} should be an error, got {result:?}"
            );
            if let Err(e) = result {
                assert!(e.position <= query.len(), "{query:?}: {e}");
                assert!(!e.message.is_empty());
            }
        }
        assert_eq!(err("").message, "Query is invalid: the query is empty");
        assert_eq!(err("Resources |").position, 11);
    }

    #[test]
    fn unicode_inside_strings_works() {
        assert_eq!(where_names("name == 'kv-ünïcode'"), ["kv-ünïcode"]);
        assert_eq!(where_names("name contains 'ÜNÏ'"), ["kv-ünïcode"]);
        let e = err("Resources | where ünï == 1");
        assert_eq!(e.position, 18);
        assert!(e.message.contains("'ü'"));
        let e = err("where name == '日本' | foo");
        assert_eq!(e.position, 25);
    }

    #[test]
    fn oversized_query_is_rejected() {
        let query = format!("Resources | where name == '{}'", "x".repeat(200 * 1024));
        let e = err(&query);
        assert_eq!(e.position, MAX_QUERY_BYTES);
        assert!(e.message.contains("limit"));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("Resources | where {}true{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(run(&ok).rows.len(), 5);
        let deep = format!(
            "Resources | where {}true{}",
            "(".repeat(100),
            ")".repeat(100)
        );
        let e = err(&deep);
        assert!(e.message.contains("nested"), "{}", e.message);
        assert_eq!(e.position, 18 + 64);
        let nots = format!(
            "Resources | where {}true{}",
            "not(".repeat(200),
            ")".repeat(200)
        );
        assert!(err(&nots).message.contains("nested"));
        // Unbalanced, as large as allowed: still a clean error.
        let flood = format!("where {}", "(".repeat(MAX_QUERY_BYTES - 10));
        assert!(err(&flood).message.contains("nested"));
        let calls = format!(
            "where {}name{} == 'a'",
            "tolower(".repeat(70),
            ")".repeat(70)
        );
        assert!(err(&calls).message.contains("nested"));
    }

    #[test]
    fn long_flat_chains_do_not_recurse() {
        let terms: Vec<String> = (0..5000).map(|i| format!("name == 'n{i}'")).collect();
        let query = format!("Resources | where {} or name == 'vm-1'", terms.join(" or "));
        assert!(query.len() < MAX_QUERY_BYTES);
        assert_eq!(names(&run(&format!("{query} | project name"))), ["vm-1"]);
        let list: Vec<String> = (0..10000).map(|i| i.to_string()).collect();
        let query = format!(
            "where properties.instances in ({}) | project name",
            list.join(",")
        );
        assert_eq!(run(&query).rows.len(), 4);
    }

    #[test]
    fn wide_queries_stay_linear() {
        let repeated = |item: &str, n: usize| vec![item; n].join(",");
        let t = run(&format!("Resources | project {}", repeated("name", 20_000)));
        assert_eq!(t.columns.len(), 20_000);
        assert_eq!(t.columns[19_999].name, "name19999");
        let t = run(&format!(
            "Resources | take 1 | project {}",
            repeated("tolower(name)", 7_000)
        ));
        assert_eq!(t.columns[6_999].name, "Column7000");
        let t = run(&format!("Resources | extend {}", repeated("x = 1", 16_000)));
        assert_eq!(t.columns.len(), RESOURCE_COLUMNS.len() + 1);
        let t = run(&format!(
            "Resources | summarize {}",
            repeated("count()", 11_000)
        ));
        assert_eq!(t.columns[10_999].name, "count_10999");
        let t = run(&format!(
            "Resources | project-away {}",
            repeated("id", 30_000)
        ));
        assert_eq!(t.columns.len(), RESOURCE_COLUMNS.len() - 1);
    }

    #[test]
    fn random_token_soup_never_panics() {
        const PIECES: &[&str] = &[
            "Resources",
            "resources",
            "|",
            "where",
            "project",
            "project-away",
            "extend",
            "order",
            "sort",
            "by",
            "asc",
            "desc",
            "take",
            "limit",
            "summarize",
            "count",
            "count()",
            "distinct",
            "(",
            ")",
            "[",
            "]",
            "'",
            "\"",
            "\\",
            "'a'",
            "\"b\"",
            "==",
            "!=",
            "=~",
            "!~",
            "=",
            "!",
            "~",
            "in",
            "in~",
            "!in",
            "contains",
            "!has",
            "startswith",
            "<",
            ">=",
            "and",
            "or",
            "not",
            "tolower",
            "isempty",
            "name",
            "type",
            "tags",
            "properties",
            ".",
            ",",
            "-",
            "1",
            "2.5",
            "1e9",
            "true",
            "//",
            "\n",
            " ",
            "é",
            "日",
            "@",
            ";",
            "zones",
            "env",
            "['x']",
            "[0]",
        ];
        let rows = sample();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0;
        for _ in 0..4000 {
            let len = next() % 14;
            let mut query = String::new();
            for _ in 0..len {
                let piece = PIECES[(next() % PIECES.len() as u64) as usize];
                query.push_str(piece);
                if next() % 3 != 0 {
                    query.push(' ');
                }
            }
            if let Ok(q) = parse(&query) {
                parsed += 1;
                if let Ok(table) = q.execute(rows.iter()) {
                    for row in &table.rows {
                        assert_eq!(row.len(), table.columns.len(), "{query:?}");
                    }
                }
            }
        }
        assert!(
            parsed > 0,
            "the generator should produce some valid queries"
        );
    }

    #[test]
    fn non_object_rows_are_rejected() {
        let rows = [json!({"name": "a"}), json!(42)];
        let result = parse("Resources").and_then(|q| q.execute(rows.iter()));
        assert!(result.is_err_and(|e| e.message.contains("row 1")));
    }

    #[test]
    fn column_kinds_are_inferred_from_values() {
        let t = run("Resources | order by name asc | project name, n = properties.instances, c = properties.cpu, e = properties.enabled, p = properties, z = zones, t = properties.timeCreated, m = properties.nothere");
        let kinds: Vec<&str> = t.columns.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["string", "integer", "real", "boolean", "object", "object", "string", "object"]
        );
        let t = run("Resources | where name == 'none'");
        assert_eq!(
            t.columns.iter().find(|c| c.name == "tags").map(|c| c.kind),
            Some(ColumnKind::Object)
        );
        assert_eq!(
            t.columns.iter().find(|c| c.name == "name").map(|c| c.kind),
            Some(ColumnKind::String)
        );
        assert_eq!(ColumnKind::DateTime.as_str(), "datetime");
    }

    #[test]
    fn error_display_includes_position() {
        let e = err("Resources | nope");
        assert_eq!(e.to_string(), format!("{} (at position 12)", e.message));
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("'nope'"));
    }

    #[test]
    fn a_parsed_query_runs_many_times() {
        let q = parse("where location == 'eastus' | count").unwrap_or_else(|e| panic!("{e}"));
        let rows = sample();
        for _ in 0..3 {
            let t = q.execute(rows.iter()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(values(&t, "Count"), [json!(2)]);
        }
        let empty = q
            .execute(std::iter::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(values(&empty, "Count"), [json!(0)]);
    }

    #[test]
    fn twenty_thousand_rows_summarize_correctly() {
        const TYPES: &[&str] = &[
            "Microsoft.Web/sites",
            "microsoft.web/SITES",
            "microsoft.compute/virtualmachines",
            "microsoft.storage/storageaccounts",
        ];
        const LOCATIONS: &[&str] = &[
            "westeurope",
            "eastus",
            "northeurope",
            "japaneast",
            "brazilsouth",
        ];
        let mut state: u64 = 42;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let rows: Vec<Value> = (0..20_000)
            .map(|i| {
                let kind_of = TYPES[(next() % TYPES.len() as u64) as usize];
                let location = LOCATIONS[(next() % LOCATIONS.len() as u64) as usize];
                resource(
                    &format!("r{i}"),
                    kind_of,
                    location,
                    "rg",
                    json!({"i": i}),
                    json!({}),
                    json!(null),
                )
            })
            .collect();
        let mut expected: HashMap<String, u64> = HashMap::new();
        for row in &rows {
            let is_site = row["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("microsoft.web/sites"));
            if is_site {
                *expected
                    .entry(row["location"].as_str().unwrap_or("").to_string())
                    .or_default() += 1;
            }
        }
        let t = run_on(
            "Resources | where type =~ 'MICROSOFT.WEB/SITES' | summarize count() by location",
            &rows,
        );
        let mut got: HashMap<String, u64> = HashMap::new();
        for row in &t.rows {
            let location = row["location"].as_str().unwrap_or("").to_string();
            let count = row["count_"].as_u64().unwrap_or(0);
            assert!(got.insert(location, count).is_none(), "each location once");
        }
        assert_eq!(got, expected);
        assert_eq!(got.values().sum::<u64>(), expected.values().sum::<u64>());
        assert!(expected.values().sum::<u64>() > 8_000);
        let t = run_on("Resources | count", &rows);
        assert_eq!(values(&t, "Count"), [json!(20_000)]);
    }
}
