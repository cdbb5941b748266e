//! The strict Jinja-like template language of azdeck runbooks.
//!
//! A template is literal text with `{{ expr }}` parts. Expressions support
//! paths (`a.b`, `a['key-with-dash']`, `a[0]`), literals, `or`/`and`/`not`,
//! comparisons, `in`/`not in`, parentheses, filters (`x | f`, `x | f(arg)`)
//! and a few functions (`now()`, `now('-2h')`, `duration('90m')`,
//! `random_secret(n)`). Templates never read the process environment.
//!
//! # Strictness and the missing-value rule
//!
//! A reference to a top-level name that is not a key of the context (e.g.
//! `foo.bar` when the context has only `params`, `env`, `steps`, `run`) is
//! **always** an error. Descending into a scalar (e.g. `params.app.x` when
//! `params.app` is a string) is always an error too.
//!
//! A *missing* value — an absent object key, an out-of-range array index, or
//! descending through `null` — is an error in strict positions and `null` in
//! lenient positions. Evaluation starts strict (in [`Template::render`]) or
//! lenient (in [`Template::render_condition`], the evaluator for `when:`).
//! Leniency is decided per node:
//! * every operand of `or` except the last is lenient; the last inherits;
//! * the operand of `not` is lenient;
//! * the input of a filter chain whose first filter is `default` is lenient;
//! * operands of `and`, of comparisons, of `in`, and parenthesised
//!   expressions inherit the current mode;
//! * filter inputs (other than `default`), filter arguments and function
//!   arguments are always strict.
//!
//! So `{{ params.revision or steps.target.outputs.name }}` falls back when
//! `params.revision` is missing, and `{{ not params.revision }}` is `true`
//! when it is missing, but `{{ params.nope }}` is an error.

use std::fmt;

use chrono::{SecondsFormat, Utc};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::Rng;
use serde_json::{Map, Number, Value};

/// Largest accepted template text, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Maximum expression nesting depth (parentheses, `not`, call arguments).
pub const MAX_DEPTH: usize = 64;
/// Maximum nesting depth of JSON values walked by [`render_value`].
pub const MAX_VALUE_DEPTH: usize = 128;

/// A template parse or render error; `offset` is a byte offset into the
/// template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub message: String,
    pub offset: usize,
}

impl TemplateError {
    fn new(message: impl Into<String>, offset: usize) -> Self {
        TemplateError {
            message: message.into(),
            offset,
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset)
    }
}

impl std::error::Error for TemplateError {}

type Result<T> = std::result::Result<T, TemplateError>;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
struct Expr {
    kind: Kind,
    offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Lit(Value),
    Path(Path),
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Filter(Box<Expr>, Vec<FilterCall>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
struct FilterCall {
    name: String,
    args: Vec<Expr>,
    offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct Path {
    root: String,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Path {
    fn display(&self, upto: usize) -> String {
        let mut out = self.root.clone();
        for seg in self.segs.iter().take(upto) {
            match seg {
                Seg::Key(k) if is_ident(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Seg::Key(k) => {
                    out.push_str("['");
                    for c in k.chars() {
                        if c == '\'' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push_str("']");
                }
                Seg::Index(i) => {
                    out.push_str(&format!("[{i}]"));
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Dot,
    Comma,
    Pipe,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Minus,
}

/// Lexes an expression starting at byte `start` (just after `{{`) up to and
/// including the closing `}}`. Returns the tokens and the byte offset after
/// `}}`.
fn lex(text: &str, start: usize, open: usize) -> Result<(Vec<(Tok, usize)>, usize)> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = start;
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err(TemplateError::new("unclosed '{{'", open));
        };
        let at = i;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Ok((toks, i + 2)),
            b'(' | b')' | b'[' | b']' | b'.' | b',' | b'|' | b'-' => {
                let tok = match b {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'[' => Tok::LBrack,
                    b']' => Tok::RBrack,
                    b'.' => Tok::Dot,
                    b',' => Tok::Comma,
                    b'|' => Tok::Pipe,
                    _ => Tok::Minus,
                };
                toks.push((tok, at));
                i += 1;
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                toks.push((Tok::Eq, at));
                i += 2;
            }
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                toks.push((Tok::Ne, at));
                i += 2;
            }
            b'<' | b'>' => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let tok = match (b, eq) {
                    (b'<', true) => Tok::Le,
                    (b'<', false) => Tok::Lt,
                    (_, true) => Tok::Ge,
                    _ => Tok::Gt,
                };
                toks.push((tok, at));
                i += if eq { 2 } else { 1 };
            }
            b'\'' | b'"' => {
                let (s, next) = lex_string(text, i)?;
                toks.push((Tok::Str(s), at));
                i = next;
            }
            b'0'..=b'9' => {
                let mut j = i;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                let is_float = bytes.get(j) == Some(&b'.')
                    && bytes.get(j + 1).is_some_and(|c| c.is_ascii_digit());
                if is_float {
                    j += 1;
                    while j < bytes.len() && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                    let f: f64 = text[i..j]
                        .parse()
                        .map_err(|_| TemplateError::new("invalid number", at))?;
                    toks.push((Tok::Float(f), at));
                } else {
                    let n: i64 = text[i..j]
                        .parse()
                        .map_err(|_| TemplateError::new("integer literal out of range", at))?;
                    toks.push((Tok::Int(n), at));
                }
                if bytes
                    .get(j)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                {
                    return Err(TemplateError::new("invalid number literal", at));
                }
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                toks.push((Tok::Ident(text[i..j].to_string()), at));
                i = j;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(TemplateError::new(
                    format!("unexpected character {ch:?} in expression"),
                    at,
                ));
            }
        }
    }
}

fn lex_string(text: &str, start: usize) -> Result<(String, usize)> {
    let mut chars = text[start..].char_indices();
    let quote = match chars.next() {
        Some((_, q)) => q,
        None => return Err(TemplateError::new("unterminated string", start)),
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, start + i + c.len_utf8()));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((j, e)) = chars.next() else { break };
        let at = start + j;
        match e {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'u' => {
                let mut code = 0u32;
                for _ in 0..4 {
                    let d = chars
                        .next()
                        .and_then(|(_, h)| h.to_digit(16))
                        .ok_or_else(|| TemplateError::new("invalid \\u escape", at))?;
                    code = code * 16 + d;
                }
                let ch = char::from_u32(code)
                    .ok_or_else(|| TemplateError::new("invalid \\u escape", at))?;
                out.push(ch);
            }
            other => {
                return Err(TemplateError::new(
                    format!("unknown escape '\\{other}'"),
                    at,
                ));
            }
        }
    }
    Err(TemplateError::new("unterminated string", start))
}

// --------------------------------------------------------------- parser

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

const KEYWORDS: &[&str] = &["and", "or", "not", "in", "true", "false", "null"];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|(t, _)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map(|(_, o)| *o).unwrap_or(self.end)
    }
    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == kw)
    }
    fn expect(&mut self, tok: Tok, what: &str) -> Result<usize> {
        let off = self.offset();
        match self.next() {
            Some((t, o)) if t == tok => Ok(o),
            _ => Err(TemplateError::new(format!("expected {what}"), off)),
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(TemplateError::new(
                format!("expression nested deeper than {MAX_DEPTH}"),
                self.offset(),
            ));
        }
        let first = self.parse_and(depth)?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let offset = first.offset;
        let mut items = vec![first];
        while self.is_kw("or") {
            self.pos += 1;
            items.push(self.parse_and(depth)?);
        }
        Ok(Expr {
            kind: Kind::Or(items),
            offset,
        })
    }

    fn parse_and(&mut self, depth: usize) -> Result<Expr> {
        let first = self.parse_not(depth)?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let offset = first.offset;
        let mut items = vec![first];
        while self.is_kw("and") {
            self.pos += 1;
            items.push(self.parse_not(depth)?);
        }
        Ok(Expr {
            kind: Kind::And(items),
            offset,
        })
    }

    fn parse_not(&mut self, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(TemplateError::new(
                format!("expression nested deeper than {MAX_DEPTH}"),
                self.offset(),
            ));
        }
        if self.is_kw("not") {
            let offset = self.offset();
            self.pos += 1;
            let inner = self.parse_not(depth + 1)?;
            return Ok(Expr {
                kind: Kind::Not(Box::new(inner)),
                offset,
            });
        }
        self.parse_cmp(depth)
    }

    fn parse_cmp(&mut self, depth: usize) -> Result<Expr> {
        let left = self.parse_filter(depth)?;
        let op = match self.peek() {
            Some(Tok::Eq) => Some((CmpOp::Eq, 1)),
            Some(Tok::Ne) => Some((CmpOp::Ne, 1)),
            Some(Tok::Lt) => Some((CmpOp::Lt, 1)),
            Some(Tok::Le) => Some((CmpOp::Le, 1)),
            Some(Tok::Gt) => Some((CmpOp::Gt, 1)),
            Some(Tok::Ge) => Some((CmpOp::Ge, 1)),
            Some(Tok::Ident(s)) if s == "in" => Some((CmpOp::In, 1)),
            Some(Tok::Ident(s))
                if s == "not" && matches!(self.peek_at(1), Some(Tok::Ident(t)) if t == "in") =>
            {
                Some((CmpOp::NotIn, 2))
            }
            _ => None,
        };
        let Some((op, n)) = op else { return Ok(left) };
        let op_off = self.offset();
        self.pos += n;
        let right = self.parse_filter(depth)?;
        if matches!(
            self.peek(),
            Some(Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
        ) || self.is_kw("in")
        {
            return Err(TemplateError::new(
                "chained comparisons are not supported; use parentheses and 'and'",
                self.offset(),
            ));
        }
        Ok(Expr {
            kind: Kind::Cmp(op, Box::new(left), Box::new(right)),
            offset: op_off,
        })
    }

    fn parse_filter(&mut self, depth: usize) -> Result<Expr> {
        let input = self.parse_primary(depth)?;
        if self.peek() != Some(&Tok::Pipe) {
            return Ok(input);
        }
        let offset = input.offset;
        let mut chain = Vec::new();
        while self.peek() == Some(&Tok::Pipe) {
            self.pos += 1;
            let off = self.offset();
            let name = match self.next() {
                Some((Tok::Ident(n), _)) => n,
                _ => return Err(TemplateError::new("expected a filter name after '|'", off)),
            };
            let args = if self.peek() == Some(&Tok::LParen) {
                self.pos += 1;
                self.parse_args(depth)?
            } else {
                Vec::new()
            };
            check_filter(&name, args.len(), off)?;
            chain.push(FilterCall {
                name,
                args,
                offset: off,
            });
        }
        Ok(Expr {
            kind: Kind::Filter(Box::new(input), chain),
            offset,
        })
    }

    /// Parses `arg, arg)` after an opening parenthesis.
    fn parse_args(&mut self, depth: usize) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.parse_or(depth + 1)?);
            let off = self.offset();
            match self.next() {
                Some((Tok::Comma, _)) => {}
                Some((Tok::RParen, _)) => return Ok(args),
                _ => return Err(TemplateError::new("expected ',' or ')'", off)),
            }
        }
    }

    fn parse_primary(&mut self, depth: usize) -> Result<Expr> {
        let off = self.offset();
        let Some((tok, _)) = self.next() else {
            return Err(TemplateError::new("expected an expression", off));
        };
        let lit = |v: Value| {
            Ok(Expr {
                kind: Kind::Lit(v),
                offset: off,
            })
        };
        match tok {
            Tok::Str(s) => lit(Value::String(s)),
            Tok::Int(n) => lit(Value::from(n)),
            Tok::Float(f) => lit(float_value(f, off)?),
            Tok::Minus => match self.next() {
                Some((Tok::Int(n), _)) => lit(Value::from(-n)),
                Some((Tok::Float(f), _)) => lit(float_value(-f, off)?),
                _ => Err(TemplateError::new("'-' must precede a number", off)),
            },
            Tok::LParen => {
                let inner = self.parse_or(depth + 1)?;
                self.expect(Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::Ident(name) => match name.as_str() {
                "true" => lit(Value::Bool(true)),
                "false" => lit(Value::Bool(false)),
                "null" => lit(Value::Null),
                kw if KEYWORDS.contains(&kw) => Err(TemplateError::new(
                    format!("unexpected keyword '{kw}'"),
                    off,
                )),
                _ if self.peek() == Some(&Tok::LParen) => {
                    self.pos += 1;
                    let args = self.parse_args(depth)?;
                    check_function(&name, args.len(), off)?;
                    Ok(Expr {
                        kind: Kind::Call(name, args),
                        offset: off,
                    })
                }
                _ => self.parse_path(name, off),
            },
            _ => Err(TemplateError::new("expected an expression", off)),
        }
    }

    fn parse_path(&mut self, root: String, offset: usize) -> Result<Expr> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    let off = self.offset();
                    match self.next() {
                        Some((Tok::Ident(k), _)) => segs.push(Seg::Key(k)),
                        _ => return Err(TemplateError::new("expected a name after '.'", off)),
                    }
                }
                Some(Tok::LBrack) => {
                    self.pos += 1;
                    let off = self.offset();
                    match self.next() {
                        Some((Tok::Str(k), _)) => segs.push(Seg::Key(k)),
                        Some((Tok::Int(i), _)) => segs.push(Seg::Index(
                            usize::try_from(i)
                                .map_err(|_| TemplateError::new("index out of range", off))?,
                        )),
                        _ => {
                            return Err(TemplateError::new(
                                "expected a string or integer literal inside '[]'",
                                off,
                            ));
                        }
                    }
                    self.expect(Tok::RBrack, "']'")?;
                }
                _ => break,
            }
        }
        Ok(Expr {
            kind: Kind::Path(Path { root, segs }),
            offset,
        })
    }
}

fn float_value(f: f64, off: usize) -> Result<Value> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| TemplateError::new("number is not finite", off))
}

fn check_filter(name: &str, argc: usize, off: usize) -> Result<()> {
    let ok = match name {
        "name" | "resource_group" | "subscription" | "lower" | "upper" | "json" | "length"
        | "first" | "last" | "trim" | "weights" => argc == 0,
        "default" => argc == 1,
        "join" => argc <= 1,
        _ => return Err(TemplateError::new(format!("unknown filter '{name}'"), off)),
    };
    if ok {
        Ok(())
    } else {
        Err(TemplateError::new(
            format!("wrong number of arguments ({argc}) for filter '{name}'"),
            off,
        ))
    }
}

fn check_function(name: &str, argc: usize, off: usize) -> Result<()> {
    let ok = match name {
        "now" => argc <= 1,
        "duration" | "random_secret" => argc == 1,
        _ => {
            return Err(TemplateError::new(
                format!("unknown function '{name}'"),
                off,
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(TemplateError::new(
            format!("wrong number of arguments ({argc}) for function '{name}'"),
            off,
        ))
    }
}

// ------------------------------------------------------------ templates

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Template> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::new(
                format!("template is larger than {MAX_TEMPLATE_BYTES} bytes"),
                MAX_TEMPLATE_BYTES,
            ));
        }
        let mut parts = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let rest = &text[pos..];
            let next = ["{{", "{%", "{#"].iter().filter_map(|d| rest.find(d)).min();
            let Some(rel) = next else {
                parts.push(Part::Text(rest.to_string()));
                break;
            };
            let open = pos + rel;
            if open > pos {
                parts.push(Part::Text(text[pos..open].to_string()));
            }
            if &text[open..open + 2] != "{{" {
                return Err(TemplateError::new(
                    "'{%' statements and '{#' comments are not supported",
                    open,
                ));
            }
            let (toks, end) = lex(text, open + 2, open)?;
            if toks.is_empty() {
                return Err(TemplateError::new("empty expression '{{ }}'", open));
            }
            let mut parser = Parser {
                toks,
                pos: 0,
                end: end - 2,
            };
            let expr = parser.parse_or(0)?;
            if parser.pos < parser.toks.len() {
                return Err(TemplateError::new(
                    "unexpected token after expression",
                    parser.offset(),
                ));
            }
            parts.push(Part::Expr(expr));
            pos = end;
        }
        Ok(Template { parts })
    }

    /// Every variable path the template reads, in order of first appearance,
    /// without duplicates (e.g. `params.app`, `steps.target.outputs.name`,
    /// `steps['set-traffic'].outputs.x`, `a[0]`).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Expr(e) = part {
                collect_refs(e, &mut out);
            }
        }
        out
    }

    fn single_expr(&self) -> Option<&Expr> {
        let mut found = None;
        for part in &self.parts {
            match part {
                Part::Text(t) if t.trim().is_empty() => {}
                Part::Text(_) => return None,
                Part::Expr(e) => {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(e);
                }
            }
        }
        found
    }

    /// Renders with `context` (a JSON object keyed by `params`, `env`,
    /// `steps`, `run`, ...). A template that is exactly one `{{ expr }}`
    /// (whitespace around allowed) keeps the value's JSON type; otherwise the
    /// parts are concatenated into a string. Evaluation starts strict; see
    /// the module docs for the missing-value rule.
    pub fn render(&self, context: &Value) -> Result<Value> {
        if let Some(e) = self.single_expr() {
            return eval(e, context, false);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => out.push_str(&to_text(&eval(e, context, false)?)),
            }
        }
        Ok(Value::String(out))
    }

    /// Evaluates a `when:` condition: the template must be a single
    /// `{{ expr }}` (or plain text, judged by truthiness); the expression is
    /// evaluated leniently (missing values are null) and its truthiness
    /// returned. Unknown top-level names remain errors.
    pub fn render_condition(&self, context: &Value) -> Result<bool> {
        if let Some(e) = self.single_expr() {
            return Ok(truthy(&eval(e, context, true)?));
        }
        if self.parts.iter().any(|p| matches!(p, Part::Expr(_))) {
            return Err(TemplateError::new(
                "a condition must be a single '{{ expression }}'",
                0,
            ));
        }
        Ok(truthy(&self.render(context)?))
    }
}

fn collect_refs(e: &Expr, out: &mut Vec<String>) {
    match &e.kind {
        Kind::Lit(_) => {}
        Kind::Path(p) => {
            let s = p.display(p.segs.len());
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Kind::Or(items) | Kind::And(items) | Kind::Call(_, items) => {
            items.iter().for_each(|i| collect_refs(i, out))
        }
        Kind::Not(inner) => collect_refs(inner, out),
        Kind::Cmp(_, a, b) => {
            collect_refs(a, out);
            collect_refs(b, out);
        }
        Kind::Filter(input, chain) => {
            collect_refs(input, out);
            for f in chain {
                f.args.iter().for_each(|a| collect_refs(a, out));
            }
        }
    }
}

/// Renders every string inside a JSON value (objects and arrays
/// recursively; keys are not rendered) — the `with:` block of a step.
/// Errors name the JSON location in the message; the offset is into the
/// failing string.
pub fn render_value(value: &Value, context: &Value) -> Result<Value> {
    render_value_at(value, context, "$", 0)
}

fn render_value_at(value: &Value, context: &Value, at: &str, depth: usize) -> Result<Value> {
    if depth > MAX_VALUE_DEPTH {
        return Err(TemplateError::new(
            format!("{at}: value nested deeper than {MAX_VALUE_DEPTH}"),
            0,
        ));
    }
    match value {
        Value::String(s) => Template::parse(s)
            .and_then(|t| t.render(context))
            .map_err(|e| TemplateError::new(format!("{at}: {}", e.message), e.offset)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| render_value_at(v, context, &format!("{at}[{i}]"), depth + 1))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let r = render_value_at(v, context, &format!("{at}.{k}"), depth + 1)?;
                out.insert(k.clone(), r);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

// ------------------------------------------------------------ evaluation

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Text form used in concatenation: strings as-is, null empty, everything
/// else compact JSON.
fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn eval(e: &Expr, ctx: &Value, lenient: bool) -> Result<Value> {
    match &e.kind {
        Kind::Lit(v) => Ok(v.clone()),
        Kind::Path(p) => eval_path(p, e.offset, ctx, lenient),
        Kind::Or(items) => {
            let last = items.len() - 1;
            let mut value = Value::Null;
            for (i, item) in items.iter().enumerate() {
                value = eval(item, ctx, lenient || i < last)?;
                if truthy(&value) {
                    return Ok(value);
                }
            }
            Ok(value)
        }
        Kind::And(items) => {
            let mut value = Value::Bool(true);
            for item in items {
                value = eval(item, ctx, lenient)?;
                if !truthy(&value) {
                    return Ok(value);
                }
            }
            Ok(value)
        }
        Kind::Not(inner) => Ok(Value::Bool(!truthy(&eval(inner, ctx, true)?))),
        Kind::Cmp(op, a, b) => {
            let a = eval(a, ctx, lenient)?;
            let b = eval(b, ctx, lenient)?;
            compare(*op, &a, &b, e.offset).map(Value::Bool)
        }
        Kind::Filter(input, chain) => {
            let lenient_input = chain.first().is_some_and(|f| f.name == "default");
            let mut value = eval(input, ctx, lenient_input)?;
            for f in chain {
                let args = f
                    .args
                    .iter()
                    .map(|a| eval(a, ctx, false))
                    .collect::<Result<Vec<_>>>()?;
                value = apply_filter(&f.name, value, &args, f.offset)?;
            }
            Ok(value)
        }
        Kind::Call(name, args) => {
            let args = args
                .iter()
                .map(|a| eval(a, ctx, false))
                .collect::<Result<Vec<_>>>()?;
            call_function(name, &args, e.offset)
        }
    }
}

fn eval_path(p: &Path, offset: usize, ctx: &Value, lenient: bool) -> Result<Value> {
    let Some(mut cur) = ctx.get(&p.root) else {
        return Err(TemplateError::new(
            format!("unknown variable '{}'", p.root),
            offset,
        ));
    };
    for (i, seg) in p.segs.iter().enumerate() {
        let next = match (cur, seg) {
            (Value::Object(m), Seg::Key(k)) => m.get(k),
            (Value::Array(a), Seg::Index(n)) => a.get(*n),
            (Value::Null, _) => None,
            (other, _) => {
                return Err(TemplateError::new(
                    format!(
                        "cannot look up '{}' in {} '{}'",
                        p.display(i + 1),
                        type_name(other),
                        p.display(i)
                    ),
                    offset,
                ));
            }
        };
        match next {
            Some(v) => cur = v,
            None if lenient => return Ok(Value::Null),
            None => {
                return Err(TemplateError::new(
                    format!("'{}' is not defined", p.display(i + 1)),
                    offset,
                ));
            }
        }
    }
    Ok(cur.clone())
}

fn num_eq(a: &Number, b: &Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a.as_u64(), b.as_u64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
    }
}

fn values_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        _ => a == b,
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value, off: usize) -> Result<bool> {
    use std::cmp::Ordering;
    let ordering = || -> Result<Ordering> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                if num_eq(x, y) {
                    return Ok(Ordering::Equal);
                }
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.partial_cmp(&y)
                    .ok_or_else(|| TemplateError::new("numbers are not comparable", off))
            }
            (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
            _ => Err(TemplateError::new(
                format!("cannot compare {} with {}", type_name(a), type_name(b)),
                off,
            )),
        }
    };
    let contains = || -> Result<bool> {
        match (a, b) {
            (Value::String(x), Value::String(y)) => Ok(y.contains(x.as_str())),
            (_, Value::Array(items)) => Ok(items.iter().any(|i| values_eq(a, i))),
            (Value::String(x), Value::Object(m)) => Ok(m.contains_key(x)),
            _ => Err(TemplateError::new(
                format!("cannot test {} 'in' {}", type_name(a), type_name(b)),
                off,
            )),
        }
    };
    Ok(match op {
        CmpOp::Eq => values_eq(a, b),
        CmpOp::Ne => !values_eq(a, b),
        CmpOp::Lt => ordering()? == Ordering::Less,
        CmpOp::Le => ordering()? != Ordering::Greater,
        CmpOp::Gt => ordering()? == Ordering::Greater,
        CmpOp::Ge => ordering()? != Ordering::Less,
        CmpOp::In => contains()?,
        CmpOp::NotIn => !contains()?,
    })
}

fn want_str<'a>(v: &'a Value, what: &str, off: usize) -> Result<&'a str> {
    v.as_str().ok_or_else(|| {
        TemplateError::new(
            format!("{what} expects a string, got {}", type_name(v)),
            off,
        )
    })
}

/// Segment after `marker` (case-insensitive) in an Azure resource id.
fn id_segment(id: &str, marker: &str, filter: &str, off: usize) -> Result<Value> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    segs.windows(2)
        .find(|w| w[0].eq_ignore_ascii_case(marker))
        .map(|w| Value::String(w[1].to_string()))
        .ok_or_else(|| {
            TemplateError::new(
                format!("filter '{filter}': '{id}' has no '{marker}' segment"),
                off,
            )
        })
}

fn apply_filter(name: &str, v: Value, args: &[Value], off: usize) -> Result<Value> {
    let what = format!("filter '{name}'");
    match name {
        "name" => {
            let s = want_str(&v, &what, off)?;
            s.split('/')
                .rfind(|p| !p.is_empty())
                .map(|p| Value::String(p.to_string()))
                .ok_or_else(|| TemplateError::new("filter 'name': empty resource id", off))
        }
        "resource_group" => id_segment(want_str(&v, &what, off)?, "resourceGroups", name, off),
        "subscription" => id_segment(want_str(&v, &what, off)?, "subscriptions", name, off),
        "lower" => Ok(Value::String(want_str(&v, &what, off)?.to_lowercase())),
        "upper" => Ok(Value::String(want_str(&v, &what, off)?.to_uppercase())),
        "trim" => Ok(Value::String(want_str(&v, &what, off)?.trim().to_string())),
        "default" => Ok(if v.is_null() { args[0].clone() } else { v }),
        "json" => Ok(Value::String(v.to_string())),
        "length" => match &v {
            Value::String(s) => Ok(Value::from(s.chars().count())),
            Value::Array(a) => Ok(Value::from(a.len())),
            Value::Object(o) => Ok(Value::from(o.len())),
            other => Err(TemplateError::new(
                format!("filter 'length' cannot measure {}", type_name(other)),
                off,
            )),
        },
        "first" | "last" => match &v {
            Value::Array(a) => Ok(if name == "first" { a.first() } else { a.last() }
                .cloned()
                .unwrap_or(Value::Null)),
            Value::String(s) => Ok(if name == "first" {
                s.chars().next()
            } else {
                s.chars().next_back()
            }
            .map(|c| Value::String(c.to_string()))
            .unwrap_or(Value::Null)),
            other => Err(TemplateError::new(
                format!(
                    "{what} expects an array or string, got {}",
                    type_name(other)
                ),
                off,
            )),
        },
        "weights" => traffic_weights(want_str(&v, "filter 'weights'", off)?, off),
        "join" => {
            let sep = match args.first() {
                Some(s) => want_str(s, "filter 'join' separator", off)?,
                None => "",
            };
            match &v {
                Value::Array(a) => Ok(Value::String(
                    a.iter().map(to_text).collect::<Vec<_>>().join(sep),
                )),
                other => Err(TemplateError::new(
                    format!("filter 'join' expects an array, got {}", type_name(other)),
                    off,
                )),
            }
        }
        _ => Err(TemplateError::new(format!("unknown filter '{name}'"), off)),
    }
}

/// A traffic split written as `REVISION[@LABEL]=PERCENT, …` (`latest=PERCENT` follows the latest
/// revision) → the rules `containerapp.traffic.set` takes. Azure checks that they sum to 100.
fn traffic_weights(text: &str, off: usize) -> Result<Value> {
    let mut rules = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').ok_or_else(|| {
            TemplateError::new(
                format!("filter 'weights': '{part}' is not REVISION=PERCENT"),
                off,
            )
        })?;
        let (name, weight) = (name.trim(), weight.trim().trim_end_matches('%'));
        // `REVISION@LABEL`: the rule keeps its label (the PATCH replaces every rule, so a label
        // not written here is gone).
        let (name, label) = match name.split_once('@') {
            Some((n, l)) if !l.trim().is_empty() => (n.trim(), Some(l.trim())),
            _ => (name, None),
        };
        let weight: i64 = weight
            .parse()
            .ok()
            .filter(|w| (0..=100).contains(w))
            .ok_or_else(|| {
                TemplateError::new(
                    format!("filter 'weights': weight '{weight}' of {name} is not 0–100"),
                    off,
                )
            })?;
        if name.is_empty() {
            return Err(TemplateError::new(
                format!("filter 'weights': '{part}' names no revision"),
                off,
            ));
        }
        let mut rule = if name == "latest" {
            serde_json::json!({ "latestRevision": true, "weight": weight })
        } else {
            serde_json::json!({ "revisionName": name, "weight": weight })
        };
        if let (Some(label), Some(obj)) = (label, rule.as_object_mut()) {
            obj.insert("label".into(), Value::String(label.to_string()));
        }
        rules.push(rule);
    }
    if rules.is_empty() {
        return Err(TemplateError::new("filter 'weights': no rules", off));
    }
    Ok(Value::Array(rules))
}

/// Parses a duration like `90s`, `30m`, `-2h`, `7d`, `1h30m` into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let s = text.trim();
    let (sign, body) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if body.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num: Option<i64> = None;
    for c in body.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(i64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        return None;
    }
    total.checked_mul(sign)
}

fn call_function(name: &str, args: &[Value], off: usize) -> Result<Value> {
    let duration_arg = |v: &Value| -> Result<i64> {
        let s = want_str(v, &format!("function '{name}'"), off)?;
        parse_duration(s).ok_or_else(|| {
            TemplateError::new(
                format!("invalid duration '{s}' (use e.g. '90s', '30m', '-2h', '7d')"),
                off,
            )
        })
    };
    match name {
        "now" => {
            let mut t = Utc::now();
            if let Some(a) = args.first() {
                let secs = duration_arg(a)?;
                t = chrono::Duration::try_seconds(secs)
                    .and_then(|d| t.checked_add_signed(d))
                    .ok_or_else(|| TemplateError::new("now(): offset out of range", off))?;
            }
            Ok(Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true)))
        }
        "duration" => Ok(Value::from(duration_arg(&args[0])?)),
        "random_secret" => {
            let n = args[0]
                .as_u64()
                .filter(|n| (8..=256).contains(n))
                .ok_or_else(|| {
                    TemplateError::new("random_secret(n) needs an integer n in 8..=256", off)
                })?;
            let s: String = OsRng
                .sample_iter(&Alphanumeric)
                .take(n as usize)
                .map(char::from)
                .collect();
            Ok(Value::String(s))
        }
        _ => Err(TemplateError::new(
            format!("unknown function '{name}'"),
            off,
        )),
    }
}

#[cfg(test)]
mod weights_tests {
    use super::*;

    #[test]
    fn a_written_split_becomes_traffic_rules() {
        let v = traffic_weights("app--v1@stable=90, latest=10%", 0).expect("valid split");
        assert_eq!(
            v,
            serde_json::json!([
                {"revisionName": "app--v1", "weight": 90, "label": "stable"},
                {"latestRevision": true, "weight": 10}
            ])
        );
        for bad in ["", "app--v1", "app--v1=101", "=5", "a=x"] {
            assert!(traffic_weights(bad, 0).is_err(), "{bad:?} must be refused");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/api";

    fn ctx() -> Value {
        json!({
            "params": { "app": ID, "revision": null, "empty": "", "n": 0, "mode": "fast",
                        "list": ["a", "b", "c"], "weird-key": "w", "flag": true },
            "env": { "name": "prod" },
            "steps": {
                "target": { "outputs": { "name": "api--v2" } },
                "current": { "outputs": { "fqdn": "api.example.net",
                    "traffic": [{ "revision": "api--v1", "weight": 100 }], "count": 3, "ratio": 1.5 } },
                "set-traffic": { "outputs": { "ok": true } }
            },
            "run": { "id": "r1" }
        })
    }

    fn r(t: &str) -> Result<Value> {
        Template::parse(t)?.render(&ctx())
    }

    fn ok(t: &str) -> Value {
        r(t).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    fn err(t: &str) -> TemplateError {
        match r(t) {
            Ok(v) => panic!("{t}: expected error, got {v}"),
            Err(e) => e,
        }
    }

    fn cond(t: &str, c: &Value) -> Result<bool> {
        Template::parse(t)?.render_condition(c)
    }

    #[test]
    fn plain_text_and_simple_path() {
        assert_eq!(ok("hello"), json!("hello"));
        assert_eq!(ok(""), json!(""));
        assert_eq!(ok("{{ params.app }}"), json!(ID));
        assert_eq!(ok("{{params.mode}}"), json!("fast"));
    }

    #[test]
    fn single_expression_keeps_type() {
        assert_eq!(
            ok("{{ steps.current.outputs.traffic }}"),
            json!([{ "revision": "api--v1", "weight": 100 }])
        );
        assert_eq!(ok("  {{ steps.current.outputs.count }}\n"), json!(3));
        assert_eq!(ok("{{ steps.current.outputs.ratio }}"), json!(1.5));
        assert_eq!(ok("{{ params.flag }}"), json!(true));
        assert_eq!(ok("{{ params.revision }}"), Value::Null);
        assert_eq!(
            ok("{{ steps['set-traffic'].outputs }}"),
            json!({ "ok": true })
        );
    }

    #[test]
    fn concatenation() {
        assert_eq!(
            ok("https://{{ steps.current.outputs.fqdn }}/"),
            json!("https://api.example.net/")
        );
        assert_eq!(
            ok(
                "{{ steps.current.outputs.count }}-{{ params.flag }}-{{ params.revision }}-{{ steps['set-traffic'].outputs }}"
            ),
            json!("3-true--{\"ok\":true}")
        );
        assert_eq!(ok("{{ 1 }}{{ 2 }}"), json!("12"));
        assert_eq!(
            ok(
                "Send 100% of {{ params.app | name }} traffic to {{ params.revision or steps.target.outputs.name }}"
            ),
            json!("Send 100% of api traffic to api--v2")
        );
    }

    #[test]
    fn strict_missing_and_unknown() {
        let e = err("x {{ params.nope }}");
        assert!(e.message.contains("params.nope"), "{e}");
        assert_eq!(e.offset, 5);
        let e = err("{{ foo.bar }}");
        assert!(e.message.contains("unknown variable 'foo'"), "{e}");
        // unknown roots stay errors even in lenient positions
        assert!(err("{{ foo or 1 }}").message.contains("unknown variable"));
        assert!(cond("{{ not foo }}", &ctx()).is_err());
        // last operand of `or` is strict
        assert!(err("{{ params.revision or params.nope }}")
            .message
            .contains("params.nope"));
        assert!(err("{{ steps.missing.outputs.x }}")
            .message
            .contains("steps.missing"));
        assert!(err("{{ params.list[7] }}")
            .message
            .contains("params.list[7]"));
        // descending into a scalar is always an error
        assert!(err("{{ params.mode.x or 1 }}")
            .message
            .contains("cannot look up"));
        assert!(err("{{ params.nope | upper }}")
            .message
            .contains("params.nope"));
        assert!(err("{{ params.nope == 1 }}")
            .message
            .contains("params.nope"));
    }

    #[test]
    fn or_fallbacks() {
        let t = "{{ params.revision or steps.target.outputs.name }}";
        assert_eq!(ok(t), json!("api--v2"));
        let mut c = ctx();
        c["params"]["revision"] = json!("api--v7");
        assert_eq!(
            Template::parse(t).unwrap().render(&c).unwrap(),
            json!("api--v7")
        );
        c["params"].as_object_mut().unwrap().remove("revision");
        assert_eq!(
            Template::parse(t).unwrap().render(&c).unwrap(),
            json!("api--v2")
        );
        assert_eq!(ok("{{ params.empty or 'x' }}"), json!("x"));
        assert_eq!(ok("{{ params.n or 5 }}"), json!(5));
        assert_eq!(ok("{{ params.nope or params.other or 'z' }}"), json!("z"));
        assert_eq!(ok("{{ params.revision or params.empty }}"), json!(""));
        assert_eq!(
            ok("{{ params.nope or steps.current.outputs.traffic }}")[0]["weight"],
            json!(100)
        );
    }

    #[test]
    fn and_not_and_conditions() {
        assert_eq!(ok("{{ params.flag and params.mode }}"), json!("fast"));
        assert_eq!(ok("{{ params.n and params.mode }}"), json!(0));
        assert_eq!(ok("{{ not params.flag }}"), json!(false));
        assert_eq!(ok("{{ not not params.flag }}"), json!(true));
        assert_eq!(ok("{{ not params.nope }}"), json!(true));
        assert_eq!(ok("{{ (params.nope or params.n) and true }}"), json!(0));
        assert_eq!(ok("{{ not (params.nope or params.mode) }}"), json!(false));

        let t = "{{ not params.revision }}";
        let mut c = ctx();
        c["params"].as_object_mut().unwrap().remove("revision");
        assert_eq!(Template::parse(t).unwrap().render(&c).unwrap(), json!(true));
        assert!(cond(t, &c).unwrap());
        c["params"]["revision"] = json!("");
        assert!(cond(t, &c).unwrap());
        c["params"]["revision"] = json!("api--v1");
        assert!(!cond(t, &c).unwrap());
        assert_eq!(
            Template::parse(t).unwrap().render(&c).unwrap(),
            json!(false)
        );

        // conditions are lenient at the top level
        assert!(!cond("{{ params.nope }}", &ctx()).unwrap());
        assert!(!cond("{{ params.nope == 'x' }}", &ctx()).unwrap());
        assert!(cond("{{ params.mode == 'fast' }}", &ctx()).unwrap());
        assert!(cond("{{ params.x }} and {{ params.y }}", &ctx()).is_err());
        assert!(cond("yes", &ctx()).unwrap());
    }

    #[test]
    fn comparisons_and_membership() {
        assert_eq!(ok("{{ params.mode == 'fast' }}"), json!(true));
        assert_eq!(ok("{{ params.mode != \"fast\" }}"), json!(false));
        assert_eq!(ok("{{ steps.current.outputs.count > 2 }}"), json!(true));
        assert_eq!(ok("{{ steps.current.outputs.count >= 3.0 }}"), json!(true));
        assert_eq!(ok("{{ 3 == 3.0 }}"), json!(true));
        assert_eq!(ok("{{ 1 < 2 }}"), json!(true));
        assert_eq!(ok("{{ 2 <= 1 }}"), json!(false));
        assert_eq!(ok("{{ 'a' < 'b' }}"), json!(true));
        assert_eq!(ok("{{ 'as' in 'fast' }}"), json!(true));
        assert_eq!(ok("{{ 'b' in params.list }}"), json!(true));
        assert_eq!(ok("{{ 'z' not in params.list }}"), json!(true));
        assert_eq!(ok("{{ 'flag' in params }}"), json!(true));
        assert_eq!(ok("{{ null == params.revision }}"), json!(true));
        assert!(err("{{ 1 < 'a' }}").message.contains("cannot compare"));
        assert!(err("{{ 1 in 2 }}").message.contains("'in'"));
        assert!(err("{{ 1 < 2 < 3 }}").message.contains("chained"));
        assert_eq!(ok("{{ (1 < 2) == true }}"), json!(true));
    }

    #[test]
    fn paths_and_literals() {
        assert_eq!(ok("{{ params['weird-key'] }}"), json!("w"));
        assert_eq!(ok("{{ params.list[1] }}"), json!("b"));
        assert_eq!(
            ok("{{ steps.current.outputs.traffic[0].weight }}"),
            json!(100)
        );
        assert_eq!(ok("{{ 'it\\'s' }}"), json!("it's"));
        assert_eq!(ok("{{ \"a\\\"b\\n\\t\\\\\" }}"), json!("a\"b\n\t\\"));
        assert_eq!(ok("{{ '\\u00e9' }}"), json!("é"));
        assert_eq!(ok("{{ 42 }}"), json!(42));
        assert_eq!(ok("{{ -7 }}"), json!(-7));
        assert_eq!(ok("{{ 2.5 }}"), json!(2.5));
        assert_eq!(ok("{{ true }}{{ false }}{{ null }}"), json!("truefalse"));
        assert_eq!(ok("{{ null }}"), Value::Null);
        assert!(err("{{ 'bad \\q' }}").message.contains("escape"));
        assert!(err("{{ 99999999999999999999 }}").message.contains("range"));
        assert!(err("{{ 12abc }}").message.contains("number"));
    }

    #[test]
    fn filters_on_resource_ids() {
        assert_eq!(ok("{{ params.app | name }}"), json!("api"));
        assert_eq!(ok("{{ params.app | resource_group }}"), json!("rg"));
        assert_eq!(ok("{{ params.app | subscription }}"), json!("s"));
        assert_eq!(
            ok("{{ 'x/resourcegroups/RG2/y' | resource_group }}"),
            json!("RG2")
        );
        assert_eq!(
            ok("{{ '/subscriptions/s/resourceGroups/rg' | name }}"),
            json!("rg")
        );
        assert!(err("{{ '///' | name }}").message.contains("empty"));
    }

    #[test]
    fn other_filters() {
        assert_eq!(ok("{{ 'AbC' | lower }}"), json!("abc"));
        assert_eq!(ok("{{ 'AbC' | upper }}"), json!("ABC"));
        assert_eq!(ok("{{ '  x ' | trim }}"), json!("x"));
        assert_eq!(ok("{{ params.nope | default('d') }}"), json!("d"));
        assert_eq!(ok("{{ params.revision | default(5) }}"), json!(5));
        assert_eq!(ok("{{ params.mode | default('d') }}"), json!("fast"));
        assert_eq!(ok("{{ params.list | json }}"), json!("[\"a\",\"b\",\"c\"]"));
        assert_eq!(ok("{{ params.list | length }}"), json!(3));
        assert_eq!(ok("{{ 'héllo' | length }}"), json!(5));
        assert_eq!(ok("{{ params | length }}"), json!(8));
        assert_eq!(ok("{{ params.list | first }}"), json!("a"));
        assert_eq!(ok("{{ params.list | last }}"), json!("c"));
        assert_eq!(ok("{{ params.list | join(', ') }}"), json!("a, b, c"));
        assert_eq!(ok("{{ params.list | join }}"), json!("abc"));
        assert_eq!(ok("{{ params.app | name | upper }}"), json!("API"));
        assert_eq!(
            ok("{{ params.nope | default(params.app) | name }}"),
            json!("api")
        );
        let e = err("{{ params.app | bogus }}");
        assert!(e.message.contains("unknown filter 'bogus'"));
        assert_eq!(e.offset, 16);
        assert!(err("{{ params.app | default }}")
            .message
            .contains("arguments"));
        assert!(err("{{ params.app | name(1) }}")
            .message
            .contains("arguments"));
        assert!(err("{{ 3 | upper }}").message.contains("expects a string"));
        assert!(err("{{ 'abc' | resource_group }}")
            .message
            .contains("resourceGroups"));
        assert!(err("{{ params.mode | join(',') }}")
            .message
            .contains("array"));
        assert!(err("{{ params.app | }}").message.contains("filter name"));
    }

    #[test]
    fn functions() {
        let now = ok("{{ now() }}");
        let now = chrono::DateTime::parse_from_rfc3339(now.as_str().unwrap()).unwrap();
        assert!((Utc::now().timestamp() - now.timestamp()).abs() < 5);
        let past = ok("{{ now('-2h') }}");
        let past = chrono::DateTime::parse_from_rfc3339(past.as_str().unwrap()).unwrap();
        assert!(((now.timestamp() - past.timestamp()) - 7200).abs() < 5);
        assert!(ok("{{ now('30m') }}").as_str().unwrap().ends_with('Z'));
        assert_eq!(ok("{{ duration('90m') }}"), json!(5400));
        assert_eq!(ok("{{ duration('90s') }}"), json!(90));
        assert_eq!(ok("{{ duration('7d') }}"), json!(604800));
        assert_eq!(ok("{{ duration('1h30m') }}"), json!(5400));
        assert_eq!(ok("{{ duration('-2h') }}"), json!(-7200));
        assert!(err("{{ duration('2x') }}")
            .message
            .contains("invalid duration"));
        assert!(err("{{ duration('h') }}")
            .message
            .contains("invalid duration"));
        assert!(err("{{ duration('99999999999999999999d') }}")
            .message
            .contains("invalid"));
        assert!(err("{{ now('-999999999999d') }}").message.contains("range"));
        assert!(err("{{ duration(5) }}").message.contains("string"));
        assert!(err("{{ env_var('HOME') }}")
            .message
            .contains("unknown function"));
        assert!(err("{{ lookup('x') }}")
            .message
            .contains("unknown function"));
        assert!(err("{{ now(1, 2) }}").message.contains("arguments"));
    }

    #[test]
    fn random_secret() {
        let a = ok("{{ random_secret(32) }}");
        let b = ok("{{ random_secret(32) }}");
        let a = a.as_str().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b.as_str().unwrap());
        assert_eq!(ok("{{ random_secret(8) }}").as_str().unwrap().len(), 8);
        assert_eq!(ok("{{ random_secret(256) }}").as_str().unwrap().len(), 256);
        for bad in ["7", "257", "0", "-1", "8.5", "'16'"] {
            let e = err(&format!("{{{{ random_secret({bad}) }}}}"));
            assert!(e.message.contains("8..=256"), "{bad}: {e}");
        }
    }

    #[test]
    fn references_in_order_without_duplicates() {
        let t = Template::parse(
            "{{ params.app | name }} {{ params.revision or steps.target.outputs.name }} \
             {{ params.app }} {{ steps['set-traffic'].outputs.ok }} {{ params.list[0] }} \
             {{ now(params.offset) }} {{ params.x | default(env.name) }} {{ 'lit' }}",
        )
        .unwrap();
        assert_eq!(
            t.references(),
            vec![
                "params.app",
                "params.revision",
                "steps.target.outputs.name",
                "steps['set-traffic'].outputs.ok",
                "params.list[0]",
                "params.offset",
                "params.x",
                "env.name",
            ]
        );
        assert!(Template::parse("no refs").unwrap().references().is_empty());
    }

    #[test]
    fn render_value_nested() {
        let with = json!({
            "app": "{{ params.app }}",
            "weights": "{{ steps.current.outputs.traffic }}",
            "nested": { "list": ["{{ params.app | name }}", 7, true, null, "plain"],
                        "url": "https://{{ steps.current.outputs.fqdn }}/" },
            "attempts": 10
        });
        let out = render_value(&with, &ctx()).unwrap();
        assert_eq!(
            out,
            json!({
                "app": ID,
                "weights": [{ "revision": "api--v1", "weight": 100 }],
                "nested": { "list": ["api", 7, true, null, "plain"],
                            "url": "https://api.example.net/" },
                "attempts": 10
            })
        );
        let e = render_value(&json!({ "a": ["ok", "{{ params.nope }}"] }), &ctx()).unwrap_err();
        assert!(e.message.starts_with("$.a[1]:"), "{e}");
        assert_eq!(e.offset, 3);
        let mut deep = json!("x");
        for _ in 0..500 {
            deep = json!([deep]);
        }
        assert!(render_value(&deep, &ctx()).is_err());
    }

    #[test]
    fn syntax_errors_have_offsets() {
        let e = err("abc {{ params.app");
        assert_eq!((e.message.as_str(), e.offset), ("unclosed '{{'", 4));
        assert_eq!(err("{{}}").offset, 0);
        assert!(err("{{   }}").message.contains("empty"));
        assert!(err("{{ params. }}").message.contains("after '.'"));
        assert!(err("{{ params[ }}").message.contains("inside '[]'"));
        assert!(err("{{ params['a' }}").message.contains("']'"));
        assert!(err("{{ (1 }}").message.contains("')'"));
        assert!(err("{{ 1 2 }}").message.contains("unexpected token"));
        assert!(err("{{ 'open }}").message.contains("unterminated"));
        assert!(err("{{ a = b }}").message.contains("unexpected character"));
        assert!(err("{% if x %}").message.contains("not supported"));
        assert!(err("{# c #}").message.contains("not supported"));
        assert!(err("{{ or }}").message.contains("keyword"));
        assert!(err("{{ not }}").message.contains("expected an expression"));
        assert!(err("{{ - }}").message.contains("'-'"));
        assert_eq!(ok("a }} b"), json!("a }} b"));
        let e = TemplateError::new("boom", 3);
        assert_eq!(e.to_string(), "boom (at offset 3)");
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let big = "x".repeat(100_000);
        assert!(Template::parse(&big)
            .unwrap_err()
            .message
            .contains("larger"));
        assert!(Template::parse(&"y".repeat(60_000)).is_ok());
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Template::parse(&deep)
            .unwrap_err()
            .message
            .contains("nested"));
        let nots = format!("{{{{ {}true }}}}", "not ".repeat(10_000));
        assert!(Template::parse(&nots)
            .unwrap_err()
            .message
            .contains("nested"));
        let args = format!("{{{{ {}1{} }}}}", "now(".repeat(1000), ")".repeat(1000));
        assert!(Template::parse(&args).is_err());
        let ok60 = format!("{{{{ {}1{} }}}}", "(".repeat(60), ")".repeat(60));
        assert_eq!(r(&ok60).unwrap(), json!(1));
        let filters = format!("{{{{ 'a'{} }}}}", " | upper".repeat(5000));
        assert_eq!(r(&filters).unwrap(), json!("A"));
        let ors = format!(
            "{{{{ params.nope{} or 1 }}}}",
            " or params.nope".repeat(3000)
        );
        assert_eq!(r(&ors).unwrap(), json!(1));
        assert_eq!(
            ok("héllo ✓ {{ 'ünï' | upper }} 日本"),
            json!("héllo ✓ ÜNÏ 日本")
        );
        assert!(err("{{ ünï }}").message.contains("unexpected character"));
        assert!(err("{{ params.app | ✓ }}")
            .message
            .contains("unexpected character"));
        assert!(err("{{ '\\u12 }}").message.contains("escape"));
        // render against a non-object context is an error, not a panic
        assert!(Template::parse("{{ a }}")
            .unwrap()
            .render(&json!(3))
            .is_err());

        // deterministic fuzz over a template alphabet
        let alphabet: Vec<char> = "{}()[]|.,'\"\\ -=!<>0123456789abnotrdipmsé_ \n"
            .chars()
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            let mut s = String::from("{{ ");
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            if let Ok(t) = Template::parse(&s) {
                let _ = t.render(&ctx());
                let _ = t.render_condition(&ctx());
                let _ = t.references();
            }
        }
    }
}
