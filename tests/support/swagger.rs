//! Conformance-test support: loads the Azure OpenAPI (swagger 2.0) specifications, matches concrete
//! requests to operations, reads `x-ms-examples` files and validates JSON bodies against the schemas
//! (the JSON-schema draft-4 subset AutoRest uses).
#![allow(dead_code)]

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// How many `$ref` hops may be followed without descending into the instance; recursive schemas
/// (A allOf B allOf A) would otherwise loop forever on the same value.
const MAX_REF_HOPS: u32 = 64;
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Finds the `specification` folder: `$AZDECK_SPECS`, then `$CARGO_MANIFEST_DIR/../shared/azure-specs/specification`
/// (the layout when running inside /work/main), then the absolute shared location.
pub fn locate_specs() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("AZDECK_SPECS") {
        candidates.push(PathBuf::from(p));
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_MANIFEST_DIR").map(PathBuf::from));
    if let Some(m) = manifest {
        candidates.push(m.join("../shared/azure-specs/specification"));
    }
    candidates.push(PathBuf::from("/work/shared/azure-specs/specification"));
    candidates.into_iter().find(|p| p.is_dir())
}

/// The specifications found by [`locate_specs`], loaded once per test binary.
pub fn shared() -> Result<&'static Specs, String> {
    static SPECS: OnceLock<Result<Specs, String>> = OnceLock::new();
    SPECS
        .get_or_init(|| {
            let root =
                locate_specs().ok_or("azure specification folder not found (set AZDECK_SPECS)")?;
            Specs::load(&root)
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[derive(Debug)]
pub struct Violation {
    /// JSON pointer into the validated body ("" is the whole body).
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub operation_id: String,
    /// Uppercase.
    pub method: String,
    pub path_template: String,
    pub file: PathBuf,
    pub api_version: String,
    pub long_running: bool,
    pub final_state_via: Option<String>,
    /// Declared response keys in document order, e.g. `["200", "201", "default"]`.
    pub statuses: Vec<String>,
    /// Resolved absolute paths of the `x-ms-examples` files that exist locally.
    pub examples: Vec<PathBuf>,
    /// JSON pointer of the operation object inside `file`.
    pointer: String,
    segments: Vec<Segment>,
    params: Vec<Param>,
}

#[derive(Debug, Clone)]
enum Segment {
    /// Lowercased literal.
    Literal(String),
    Param,
    /// A parameter with `x-ms-skip-url-encoding` (`{resourceId}`, `{scope}`): one or more segments.
    Multi,
    /// Literal text around a parameter inside one segment.
    Mixed(Regex),
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    location: String,
    required: bool,
    skip_url_encoding: bool,
    /// Where the resolved parameter object lives (its `schema` `$ref`s resolve against this file).
    file: PathBuf,
    pointer: String,
}

pub struct Specs {
    root: PathBuf,
    /// Every loaded document, keyed by canonical absolute path.
    docs: HashMap<PathBuf, Value>,
    /// Lexically-joined `$ref` file paths that differ from their canonical key (symlinks, upstream quirks).
    aliases: HashMap<PathBuf, PathBuf>,
    ops: Vec<Operation>,
    /// (file, definition) -> definitions that `allOf` it directly; used for discriminator dispatch.
    subtypes: HashMap<(PathBuf, String), Vec<(PathBuf, String)>>,
    /// Every string-valued `pattern` keyword, precompiled. Patterns the regex crate cannot compile
    /// (ECMA look-arounds) are absent and therefore not enforced.
    patterns: HashMap<String, Regex>,
    date_time: Regex,
    uuid: Regex,
}

impl fmt::Debug for Specs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Specs")
            .field("root", &self.root)
            .field("documents", &self.docs.len())
            .field("operations", &self.ops.len())
            .finish()
    }
}

impl Specs {
    /// Loads every swagger file under `root` (the `specification` folder) that has `paths` or `x-ms-paths`,
    /// plus whatever they `$ref` (common-types etc.). Example files (under `examples/`) are read lazily.
    pub fn load(root: &Path) -> Result<Specs, String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("{}: {e}", root.display()))?;
        let mut files = Vec::new();
        let mut example_index: HashMap<String, Vec<PathBuf>> = HashMap::new();
        walk(&root, false, &mut files, &mut example_index)?;

        let mut docs: HashMap<PathBuf, Value> = HashMap::new();
        let mut order = Vec::new();
        for file in files {
            let doc = read_json(&file)?;
            let has_paths = ["paths", "x-ms-paths"].iter().any(|k| {
                doc.get(k)
                    .and_then(Value::as_object)
                    .is_some_and(|m| !m.is_empty())
            });
            if doc.get("swagger").is_some() && has_paths {
                order.push(file.clone());
                docs.insert(file, doc);
            }
        }

        // Pull in everything the API files reference, transitively.
        let mut aliases = HashMap::new();
        let mut queue: VecDeque<PathBuf> = order.iter().cloned().collect();
        while let Some(file) = queue.pop_front() {
            let mut refs = HashSet::new();
            if let Some(doc) = docs.get(&file) {
                collect_file_refs(doc, &mut refs);
            }
            let dir = file.parent().unwrap_or(&root).to_path_buf();
            for file_part in refs {
                let lexical = normalize(&dir.join(percent_decode(&file_part)));
                if docs.contains_key(&lexical) || aliases.contains_key(&lexical) {
                    continue;
                }
                let actual = if lexical.is_file() {
                    lexical.clone()
                } else {
                    match common_types_fallback(&root, &lexical) {
                        Some(p) if p.is_file() => p,
                        _ => {
                            return Err(format!(
                                "{}: $ref to missing file '{file_part}'",
                                file.display()
                            ))
                        }
                    }
                };
                let canonical = actual
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", actual.display()))?;
                if canonical != lexical {
                    aliases.insert(lexical, canonical.clone());
                }
                if !docs.contains_key(&canonical) {
                    let doc = read_json(&canonical)?;
                    docs.insert(canonical.clone(), doc);
                    queue.push_back(canonical);
                }
            }
        }

        let mut patterns = HashMap::new();
        for doc in docs.values() {
            collect_patterns(doc, &mut patterns);
        }

        let mut specs = Specs {
            root,
            docs,
            aliases,
            ops: Vec::new(),
            subtypes: HashMap::new(),
            patterns,
            date_time: Regex::new(
                r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$",
            )
            .map_err(|e| e.to_string())?,
            uuid: Regex::new(
                r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            )
            .map_err(|e| e.to_string())?,
        };
        specs.subtypes = specs.build_subtypes();
        let mut ops = Vec::new();
        for file in &order {
            specs.collect_operations(file, &example_index, &mut ops)?;
        }
        specs.ops = ops;
        Ok(specs)
    }

    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// The operation with this `operationId` (ids repeat across files, e.g. `Operations_List`, so pass
    /// the api-version to disambiguate).
    pub fn operation(&self, operation_id: &str, api_version: Option<&str>) -> Option<&Operation> {
        self.ops.iter().find(|op| {
            op.operation_id == operation_id
                && api_version.is_none_or(|v| op.api_version.eq_ignore_ascii_case(v))
        })
    }

    /// Finds the operation for a concrete request: method (any case) + path (no query string), matched
    /// case-insensitively segment by segment against the templates (`{param}` matches one segment, except
    /// parameters with `x-ms-skip-url-encoding` such as `/{resourceId}` and `/{scope}/...`, which may span
    /// several). When several match, the one with the most literal segments wins.
    /// `api_version` narrows to files whose info.version equals it when given, else any.
    pub fn find_operation(
        &self,
        method: &str,
        path: &str,
        api_version: Option<&str>,
    ) -> Option<&Operation> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(&Operation, (usize, usize))> = None;
        for op in &self.ops {
            if !op.method.eq_ignore_ascii_case(method)
                || !api_version.is_none_or(|v| op.api_version.eq_ignore_ascii_case(v))
                || !match_segments(&op.segments, &segs)
            {
                continue;
            }
            let literals = op
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_) | Segment::Mixed(_)))
                .count();
            let multis = op
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Multi))
                .count();
            let score = (literals, usize::MAX - multis);
            let better = match best {
                None => true,
                Some((cur, cur_score)) => {
                    score > cur_score || (score == cur_score && op.api_version > cur.api_version)
                }
            };
            if better {
                best = Some((op, score));
            }
        }
        best.map(|(op, _)| op)
    }

    /// Validates `body` against the schema of `op`'s response for `status`. An undeclared status is a
    /// violation (validated against `default` when present), except an error status (>= 400) that
    /// `default` covers. Returns every violation found (empty = valid).
    pub fn validate_response(
        &self,
        op: &Operation,
        status: u16,
        body: Option<&Value>,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some((file, op_value)) = self.op_value(op) else {
            out.push(violation(
                "",
                format!("operation {} is not part of these specs", op.operation_id),
            ));
            return out;
        };
        let responses = op_value.get("responses").and_then(Value::as_object);
        let code = status.to_string();
        let declared = responses.and_then(|r| r.get(&code));
        let default = responses.and_then(|r| r.get("default"));
        let response = match (declared, default) {
            (Some(r), _) => r,
            (None, Some(d)) => {
                if status < 400 {
                    out.push(violation(
                        "",
                        format!(
                            "status {status} is not declared for {} (declared: {})",
                            op.operation_id,
                            op.statuses.join(", ")
                        ),
                    ));
                }
                d
            }
            (None, None) => {
                out.push(violation(
                    "",
                    format!(
                        "status {status} is not declared for {} (declared: {})",
                        op.operation_id,
                        op.statuses.join(", ")
                    ),
                ));
                return out;
            }
        };
        // Responses may themselves be `$ref`s into the document's `responses` section.
        let (file, response) = match self.deref_chain(file, response) {
            Ok(r) => r,
            Err(e) => {
                out.push(violation("", e));
                return out;
            }
        };
        let Some(schema) = response.get("schema") else {
            return out;
        };
        match body {
            Some(body) => {
                let mut walker = Walker {
                    specs: self,
                    request: false,
                    out,
                };
                walker.check(file, schema, None, body, "", 0, false);
                out = walker.out;
            }
            None => out.push(violation(
                "",
                format!(
                    "status {status} of {} declares a body schema but no body was given",
                    op.operation_id
                ),
            )),
        }
        out
    }

    /// Validates a request body against the operation's `in: body` parameter schema (same rules as
    /// responses, except that `readOnly` properties are ignored).
    pub fn validate_request(&self, op: &Operation, body: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let Some(param) = op.params.iter().find(|p| p.location == "body") else {
            if !body.is_null() {
                out.push(violation(
                    "",
                    format!("{} takes no request body", op.operation_id),
                ));
            }
            return out;
        };
        if body.is_null() {
            if param.required {
                out.push(violation(
                    "",
                    format!("{} requires a request body", op.operation_id),
                ));
            }
            return out;
        }
        let Some((file, doc)) = self.docs.get_key_value(&param.file) else {
            out.push(violation(
                "",
                format!("{}: not loaded", param.file.display()),
            ));
            return out;
        };
        let Some(schema) = doc.pointer(&param.pointer).and_then(|p| p.get("schema")) else {
            out.push(violation(
                "",
                format!("body parameter of {} has no schema", op.operation_id),
            ));
            return out;
        };
        let mut walker = Walker {
            specs: self,
            request: true,
            out,
        };
        walker.check(file, schema, None, body, "", 0, false);
        walker.out
    }

    fn op_value(&self, op: &Operation) -> Option<(&Path, &Value)> {
        let (file, doc) = self.docs.get_key_value(&op.file)?;
        Some((file.as_path(), doc.pointer(&op.pointer)?))
    }

    /// Follows `$ref`s until a non-reference object.
    fn deref_chain<'s>(
        &'s self,
        mut file: &'s Path,
        mut value: &'s Value,
    ) -> Result<(&'s Path, &'s Value), String> {
        for _ in 0..MAX_REF_HOPS {
            match value.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let target = self.resolve_ref(file, r)?;
                    file = target.file;
                    value = target.value;
                }
                None => return Ok((file, value)),
            }
        }
        Err(format!("$ref chain too long in {}", file.display()))
    }

    fn doc_key(&self, from: &Path, file_part: &str) -> Option<&Path> {
        if file_part.is_empty() {
            return self.docs.get_key_value(from).map(|(k, _)| k.as_path());
        }
        let dir = from.parent()?;
        let lexical = normalize(&dir.join(percent_decode(file_part)));
        let key = self.aliases.get(&lexical).unwrap_or(&lexical);
        self.docs.get_key_value(key).map(|(k, _)| k.as_path())
    }

    fn resolve_ref<'s>(&'s self, from: &Path, reference: &str) -> Result<Target<'s>, String> {
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let file = self
            .doc_key(from, file_part)
            .ok_or_else(|| format!("cannot resolve $ref '{reference}' from {}", from.display()))?;
        let pointer = percent_decode(fragment);
        let doc = &self.docs[file];
        let value = doc.pointer(&pointer).ok_or_else(|| {
            format!(
                "$ref '{reference}' (from {}) points nowhere",
                from.display()
            )
        })?;
        Ok(Target {
            file,
            pointer,
            value,
        })
    }

    fn build_subtypes(&self) -> HashMap<(PathBuf, String), Vec<(PathBuf, String)>> {
        let mut map: HashMap<(PathBuf, String), Vec<(PathBuf, String)>> = HashMap::new();
        for (file, doc) in &self.docs {
            let Some(defs) = doc.get("definitions").and_then(Value::as_object) else {
                continue;
            };
            for (name, def) in defs {
                let Some(all_of) = def.get("allOf").and_then(Value::as_array) else {
                    continue;
                };
                for item in all_of {
                    let Some(r) = item.get("$ref").and_then(Value::as_str) else {
                        continue;
                    };
                    // Malformed references surface when validating; here they just name no parent.
                    if let Ok(target) = self.resolve_ref(file, r) {
                        if let Some(parent) = definition_name(&target.pointer) {
                            map.entry((target.file.to_path_buf(), parent))
                                .or_default()
                                .push((file.clone(), name.clone()));
                        }
                    }
                }
            }
        }
        map
    }

    /// The definition deriving (transitively) from `base` whose discriminator value is `value`.
    fn find_subtype(
        &self,
        base_file: &Path,
        base: &str,
        value: &str,
    ) -> Option<(&Path, &str, &Value)> {
        let mut queue: VecDeque<(PathBuf, String)> = VecDeque::new();
        let mut seen = HashSet::new();
        queue.push_back((base_file.to_path_buf(), base.to_string()));
        while let Some(key) = queue.pop_front() {
            for child in self.subtypes.get(&key).into_iter().flatten() {
                if !seen.insert(child.clone()) {
                    continue;
                }
                let (file, doc) = self.docs.get_key_value(&child.0)?;
                let (name, def) = doc
                    .get("definitions")?
                    .as_object()?
                    .get_key_value(&child.1)?;
                let disc = def
                    .get("x-ms-discriminator-value")
                    .and_then(Value::as_str)
                    .unwrap_or(name);
                if disc == value {
                    return Some((file, name, def));
                }
                queue.push_back(child.clone());
            }
        }
        None
    }

    fn collect_operations(
        &self,
        file: &Path,
        example_index: &HashMap<String, Vec<PathBuf>>,
        ops: &mut Vec<Operation>,
    ) -> Result<(), String> {
        let doc = &self.docs[file];
        let api_version = doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for section in ["paths", "x-ms-paths"] {
            let Some(paths) = doc.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (template, item) in paths {
                let mut item_pointer = format!("/{section}/{}", escape_pointer(template));
                let mut item_file = file;
                let mut item = item;
                for _ in 0..MAX_REF_HOPS {
                    let Some(r) = item.get("$ref").and_then(Value::as_str) else {
                        break;
                    };
                    let target = self.resolve_ref(item_file, r)?;
                    item_file = target.file;
                    item_pointer = target.pointer;
                    item = target.value;
                }
                let Some(item_obj) = item.as_object() else {
                    return Err(format!(
                        "{}: path item {template} is not an object",
                        file.display()
                    ));
                };
                let shared = self.resolve_params(
                    item_file,
                    item.get("parameters"),
                    &format!("{item_pointer}/parameters"),
                )?;
                for method in METHODS {
                    let Some(op) = item_obj.get(method) else {
                        continue;
                    };
                    let pointer = format!("{item_pointer}/{method}");
                    let own = self.resolve_params(
                        item_file,
                        op.get("parameters"),
                        &format!("{pointer}/parameters"),
                    )?;
                    let mut params = own.clone();
                    for p in &shared {
                        if !own
                            .iter()
                            .any(|o| o.name == p.name && o.location == p.location)
                        {
                            params.push(p.clone());
                        }
                    }
                    let operation_id = op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            format!("{}: {method} {template} has no operationId", file.display())
                        })?
                        .to_string();
                    let statuses = op
                        .get("responses")
                        .and_then(Value::as_object)
                        .map(|r| r.keys().cloned().collect())
                        .unwrap_or_default();
                    let mut examples = Vec::new();
                    if let Some(ex) = op.get("x-ms-examples").and_then(Value::as_object) {
                        for entry in ex.values() {
                            let Some(r) = entry.get("$ref").and_then(Value::as_str) else {
                                continue;
                            };
                            if let Some(p) =
                                self.locate_example(item_file, r, &api_version, example_index)
                            {
                                examples.push(p);
                            }
                        }
                    }
                    let segments = parse_template(template, &params)?;
                    ops.push(Operation {
                        operation_id,
                        method: method.to_ascii_uppercase(),
                        path_template: template.split('?').next().unwrap_or_default().to_string(),
                        file: item_file.to_path_buf(),
                        api_version: api_version.clone(),
                        long_running: op
                            .get("x-ms-long-running-operation")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        final_state_via: op
                            .pointer("/x-ms-long-running-operation-options/final-state-via")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        statuses,
                        examples,
                        pointer,
                        segments,
                        params,
                    });
                }
            }
        }
        Ok(())
    }

    fn resolve_params(
        &self,
        file: &Path,
        list: Option<&Value>,
        list_pointer: &str,
    ) -> Result<Vec<Param>, String> {
        let mut out = Vec::new();
        let Some(list) = list else {
            return Ok(out);
        };
        let items = list
            .as_array()
            .ok_or_else(|| format!("{}: {list_pointer} is not an array", file.display()))?;
        for (i, item) in items.iter().enumerate() {
            let mut p_file = file;
            let mut pointer = format!("{list_pointer}/{i}");
            let mut value = item;
            for _ in 0..MAX_REF_HOPS {
                let Some(r) = value.get("$ref").and_then(Value::as_str) else {
                    break;
                };
                let target = self.resolve_ref(p_file, r)?;
                p_file = target.file;
                pointer = target.pointer;
                value = target.value;
            }
            let field = |k: &str| value.get(k).and_then(Value::as_str);
            let (Some(name), Some(location)) = (field("name"), field("in")) else {
                return Err(format!(
                    "{}: parameter {pointer} lacks name/in",
                    p_file.display()
                ));
            };
            out.push(Param {
                name: name.to_string(),
                location: location.to_string(),
                required: value
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                skip_url_encoding: value
                    .get("x-ms-skip-url-encoding")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                file: p_file.to_path_buf(),
                pointer,
            });
        }
        Ok(out)
    }

    /// Resolves an `x-ms-examples` `$ref`. The shared copy keeps some examples in another folder layout
    /// (`.../Microsoft.X/stable/<ver>/examples/`, `.../examples/<ver>/`, an older api-version), so when
    /// the literal target is absent, a file of the same name in the same service tree is used instead,
    /// preferring one whose path mentions the api-version. Missing examples are simply not listed.
    fn locate_example(
        &self,
        from: &Path,
        reference: &str,
        api_version: &str,
        index: &HashMap<String, Vec<PathBuf>>,
    ) -> Option<PathBuf> {
        let file_part = reference.split('#').next().unwrap_or_default();
        let lexical = normalize(&from.parent()?.join(percent_decode(file_part)));
        if lexical.is_file() {
            return lexical.canonicalize().ok();
        }
        let name = lexical.file_name()?.to_str()?;
        let service: PathBuf = from
            .strip_prefix(&self.root)
            .ok()?
            .components()
            .take(2)
            .collect();
        let service_dir = self.root.join(service);
        index
            .get(name)?
            .iter()
            .filter(|p| p.starts_with(&service_dir))
            .max_by_key(|p| {
                let has_version = p.components().any(|c| c.as_os_str() == api_version);
                let common = p
                    .components()
                    .zip(from.components())
                    .take_while(|(a, b)| a == b)
                    .count();
                (has_version, common, std::cmp::Reverse((*p).clone()))
            })
            .cloned()
    }

    fn param_schema(&self, param: &Param) -> Option<&Value> {
        self.docs.get(&param.file)?.pointer(&param.pointer)
    }
}

struct Target<'s> {
    file: &'s Path,
    pointer: String,
    value: &'s Value,
}

fn violation(pointer: &str, message: String) -> Violation {
    Violation {
        pointer: pointer.to_string(),
        message,
    }
}

/// Walks an instance and a schema together, following `$ref`s lazily.
struct Walker<'s> {
    specs: &'s Specs,
    /// Request bodies ignore `readOnly` properties.
    request: bool,
    out: Vec<Violation>,
}

impl<'s> Walker<'s> {
    fn report(&mut self, pointer: &str, message: String) {
        self.out.push(violation(pointer, message));
    }

    /// `def`: the definition name when `schema` is `file#/definitions/<def>` (discriminator identity).
    /// `derived`: `schema` is being checked as the `allOf` parent of a named definition, so its
    /// discriminator has already been resolved and must not dispatch again.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        file: &'s Path,
        schema: &'s Value,
        def: Option<&'s str>,
        inst: &Value,
        ptr: &str,
        hops: u32,
        derived: bool,
    ) {
        let Some(s) = schema.as_object() else {
            return;
        };
        if hops > MAX_REF_HOPS {
            self.report(
                ptr,
                "schema $ref nesting exceeds the depth limit (cycle?)".into(),
            );
            return;
        }
        if inst.is_null() && s.get("x-nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }

        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match self.specs.resolve_ref(file, r) {
                Ok(t) => {
                    let name = definition_name(&t.pointer);
                    // Borrow the name from the document so it lives as long as the schema.
                    let def_name = name.as_deref().and_then(|n| {
                        self.specs.docs[t.file]
                            .get("definitions")
                            .and_then(Value::as_object)
                            .and_then(|d| d.get_key_value(n))
                            .map(|(k, _)| k.as_str())
                    });
                    self.check(t.file, t.value, def_name, inst, ptr, hops + 1, derived);
                }
                Err(e) => self.report(ptr, e),
            }
        }

        if let (Some(disc), Some(base), false, Some(obj)) = (
            s.get("discriminator").and_then(Value::as_str),
            def,
            derived,
            inst.as_object(),
        ) {
            if let Some(value) = obj.get(disc).and_then(Value::as_str) {
                let own = s
                    .get("x-ms-discriminator-value")
                    .and_then(Value::as_str)
                    .unwrap_or(base);
                if value != own {
                    if let Some((sub_file, sub_name, sub)) =
                        self.specs.find_subtype(file, base, value)
                    {
                        // The subtype `allOf`s this base, so the base is checked through it.
                        self.check(sub_file, sub, Some(sub_name), inst, ptr, hops + 1, false);
                        return;
                    }
                    // Unknown values are allowed (discriminators are extensible): check the base only.
                }
            }
        }

        if let Some(all_of) = s.get("allOf").and_then(Value::as_array) {
            for sub in all_of {
                self.check(file, sub, None, inst, ptr, hops, derived || def.is_some());
            }
        }

        if let Some(t) = s.get("type") {
            let ok = match t {
                Value::String(t) => type_matches(t, inst),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| type_matches(t, inst)),
                _ => true,
            };
            if !ok {
                let expected = match t {
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" or "),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                self.report(ptr, format!("expected {expected}, got {}", kind(inst)));
                return;
            }
        }
        if inst.is_null() {
            // Nothing below applies to null; a typeless schema (pure $ref, allOf) judged it above.
            return;
        }

        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            let extensible = s
                .get("x-ms-enum")
                .and_then(|e| e.get("modelAsString"))
                .and_then(Value::as_bool)
                == Some(true);
            // modelAsString enums are extensible: any string is accepted.
            let accepted =
                values.iter().any(|v| json_eq(v, inst)) || (extensible && inst.is_string());
            if !accepted {
                let list = values
                    .iter()
                    .map(display_value)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.report(
                    ptr,
                    format!("value {} not in enum [{list}]", display_value(inst)),
                );
            }
        }

        match inst {
            Value::String(text) => self.check_string(s, text, ptr),
            Value::Number(_) => self.check_number(s, inst, ptr),
            Value::Array(items) => self.check_array(file, s, items, ptr),
            Value::Object(obj) => self.check_object(file, schema, obj, ptr),
            _ => {}
        }
    }

    fn check_string(&mut self, s: &Map<String, Value>, text: &str, ptr: &str) {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                self.report(ptr, format!("string length {len} is below minLength {min}"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                self.report(ptr, format!("string length {len} exceeds maxLength {max}"));
            }
        }
        if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
            if let Some(re) = self.specs.patterns.get(pattern) {
                if !re.is_match(text) {
                    self.report(ptr, format!("'{text}' does not match pattern {pattern}"));
                }
            }
        }
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") if !valid_date_time(&self.specs.date_time, text) => {
                self.report(ptr, format!("'{text}' is not a valid date-time"));
            }
            Some("uuid") if !self.specs.uuid.is_match(text) => {
                self.report(ptr, format!("'{text}' is not a valid uuid"));
            }
            _ => {}
        }
    }

    fn check_number(&mut self, s: &Map<String, Value>, inst: &Value, ptr: &str) {
        let Some(n) = inst.as_f64() else {
            return;
        };
        let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
        if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
            if n < min || (flag("exclusiveMinimum") && n == min) {
                self.report(ptr, format!("{inst} is below the minimum {min}"));
            }
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
            if n > max || (flag("exclusiveMaximum") && n == max) {
                self.report(ptr, format!("{inst} is above the maximum {max}"));
            }
        }
        if let Some(m) = s.get("multipleOf").and_then(Value::as_f64) {
            if m > 0.0 && ((n / m) - (n / m).round()).abs() > 1e-9 {
                self.report(ptr, format!("{inst} is not a multiple of {m}"));
            }
        }
        let range = match s.get("format").and_then(Value::as_str) {
            Some("int32") => Some((i32::MIN as i64, i32::MAX as i64, "int32")),
            Some("int64") => Some((i64::MIN, i64::MAX, "int64")),
            _ => None,
        };
        if let Some((lo, hi, name)) = range {
            let fits = match inst.as_i64() {
                Some(i) => i >= lo && i <= hi,
                // u64 above i64::MAX, or a float (integral or not; the type check reports fractions).
                None => inst.as_u64().is_none() && n >= lo as f64 && n <= hi as f64,
            };
            if !fits {
                self.report(ptr, format!("{inst} is out of {name} range"));
            }
        }
    }

    fn check_array(
        &mut self,
        file: &'s Path,
        s: &'s Map<String, Value>,
        items: &[Value],
        ptr: &str,
    ) {
        let len = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if len < min {
                self.report(
                    ptr,
                    format!("array has {len} items, fewer than minItems {min}"),
                );
            }
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if len > max {
                self.report(
                    ptr,
                    format!("array has {len} items, more than maxItems {max}"),
                );
            }
        }
        if s.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].iter().any(|b| json_eq(a, b)) {
                    self.report(
                        &format!("{ptr}/{i}"),
                        "duplicate item in uniqueItems array".into(),
                    );
                }
            }
        }
        if let Some(item_schema) = s.get("items").filter(|v| v.is_object()) {
            for (i, item) in items.iter().enumerate() {
                self.check(
                    file,
                    item_schema,
                    None,
                    item,
                    &format!("{ptr}/{i}"),
                    0,
                    false,
                );
            }
        }
    }

    fn check_object(
        &mut self,
        file: &'s Path,
        schema: &'s Value,
        obj: &Map<String, Value>,
        ptr: &str,
    ) {
        let Some(s) = schema.as_object() else {
            return;
        };
        let properties = s.get("properties").and_then(Value::as_object);
        if let Some(props) = properties {
            for (name, prop_schema) in props {
                let Some(value) = obj.get(name) else {
                    continue;
                };
                // Null stands for "absent" on optional properties; required ones are judged below.
                if value.is_null() || (self.request && self.read_only(file, prop_schema)) {
                    continue;
                }
                let child = format!("{ptr}/{}", escape_pointer(name));
                self.check(file, prop_schema, None, value, &child, 0, false);
            }
        }
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                let prop = self.find_property(file, schema, name, 0);
                if self.request && prop.is_some_and(|(f, p)| self.read_only(f, p)) {
                    continue;
                }
                match obj.get(name) {
                    None => self.report(ptr, format!("missing required property '{name}'")),
                    Some(Value::Null) => {
                        if !prop.is_some_and(|(f, p)| self.nullable(f, p)) {
                            let child = format!("{ptr}/{}", escape_pointer(name));
                            self.report(&child, format!("required property '{name}' is null"));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        match s.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                let mut known = HashSet::new();
                self.known_properties(file, schema, &mut known, 0);
                for name in obj.keys().filter(|k| !known.contains(k.as_str())) {
                    self.report(ptr, format!("unexpected property '{name}'"));
                }
            }
            Some(extra @ Value::Object(_)) => {
                let mut known = HashSet::new();
                self.known_properties(file, schema, &mut known, 0);
                for (name, value) in obj {
                    if known.contains(name.as_str()) || value.is_null() {
                        continue;
                    }
                    let child = format!("{ptr}/{}", escape_pointer(name));
                    self.check(file, extra, None, value, &child, 0, false);
                }
            }
            _ => {}
        }
    }

    /// The schema of property `name` declared on `schema` or its `allOf` ancestors.
    fn find_property(
        &self,
        file: &'s Path,
        schema: &'s Value,
        name: &str,
        hops: u32,
    ) -> Option<(&'s Path, &'s Value)> {
        if hops > MAX_REF_HOPS {
            return None;
        }
        if let Some(p) = schema.pointer("/properties").and_then(|p| p.get(name)) {
            return Some((file, p));
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let t = self.specs.resolve_ref(file, r).ok()?;
            if let Some(found) = self.find_property(t.file, t.value, name, hops + 1) {
                return Some(found);
            }
        }
        schema
            .get("allOf")
            .and_then(Value::as_array)?
            .iter()
            .find_map(|sub| self.find_property(file, sub, name, hops + 1))
    }

    fn known_properties(
        &self,
        file: &'s Path,
        schema: &'s Value,
        out: &mut HashSet<&'s str>,
        hops: u32,
    ) {
        if hops > MAX_REF_HOPS {
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().map(String::as_str));
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            if let Ok(t) = self.specs.resolve_ref(file, r) {
                self.known_properties(t.file, t.value, out, hops + 1);
            }
        }
        for sub in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.known_properties(file, sub, out, hops + 1);
        }
    }

    /// `readOnly` on the property schema itself or on what it references.
    fn read_only(&self, file: &'s Path, schema: &'s Value) -> bool {
        self.flag_through_refs(file, schema, "readOnly")
    }

    fn nullable(&self, file: &'s Path, schema: &'s Value) -> bool {
        self.flag_through_refs(file, schema, "x-nullable")
    }

    fn flag_through_refs(&self, mut file: &'s Path, mut schema: &'s Value, flag: &str) -> bool {
        for _ in 0..MAX_REF_HOPS {
            if schema.get(flag).and_then(Value::as_bool) == Some(true) {
                return true;
            }
            let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
                return false;
            };
            match self.specs.resolve_ref(file, r) {
                Ok(t) => {
                    file = t.file;
                    schema = t.value;
                }
                Err(_) => return false,
            }
        }
        false
    }
}

fn type_matches(t: &str, inst: &Value) -> bool {
    match t {
        "object" => inst.is_object(),
        "array" => inst.is_array(),
        "string" => inst.is_string(),
        "boolean" => inst.is_boolean(),
        "number" => inst.is_number(),
        "integer" => is_integer(inst),
        "null" => inst.is_null(),
        // "file" and unknown types constrain nothing we can check.
        _ => true,
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) if is_integer(v) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality that treats 1 and 1.0 as equal.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn valid_date_time(re: &Regex, text: &str) -> bool {
    let Some(c) = re.captures(text) else {
        return false;
    };
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (num(1), num(2), num(3), num(4), num(5), num(6))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    let offset_ok = match (num(9), num(10)) {
        (Some(h), Some(m)) => h < 24 && m < 60,
        _ => true,
    };
    // Second 60 is a leap second, which RFC 3339 allows.
    day >= 1 && day <= days && hour < 24 && minute < 60 && second <= 60 && offset_ok
}

fn match_segments(template: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest)) = template.split_first() else {
        return path.is_empty();
    };
    match first {
        Segment::Multi => (1..=path.len()).any(|k| match_segments(rest, &path[k..])),
        _ => {
            let Some((seg, path_rest)) = path.split_first() else {
                return false;
            };
            let ok = match first {
                Segment::Literal(l) => seg.eq_ignore_ascii_case(l),
                Segment::Mixed(re) => re.is_match(seg),
                _ => true,
            };
            ok && match_segments(rest, path_rest)
        }
    }
}

fn parse_template(template: &str, params: &[Param]) -> Result<Vec<Segment>, String> {
    let path = template.split('?').next().unwrap_or_default();
    let mut out = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if !seg.contains('{') {
            out.push(Segment::Literal(seg.to_ascii_lowercase()));
        } else if seg.starts_with('{') && seg.ends_with('}') && seg[1..].find('{').is_none() {
            let name = &seg[1..seg.len() - 1];
            let multi = params
                .iter()
                .any(|p| p.name == name && p.location == "path" && p.skip_url_encoding);
            out.push(if multi {
                Segment::Multi
            } else {
                Segment::Param
            });
        } else {
            // Literal text around parameters within one segment, e.g. `{name}.json`.
            let mut pattern = String::from("(?i)^");
            let mut rest = seg;
            while let Some(open) = rest.find('{') {
                pattern.push_str(&regex::escape(&rest[..open]));
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("unbalanced braces in path template {template}"))?;
                pattern.push_str("[^/]+");
                rest = &rest[open + close + 1..];
            }
            pattern.push_str(&regex::escape(rest));
            pattern.push('$');
            out.push(Segment::Mixed(
                Regex::new(&pattern).map_err(|e| e.to_string())?,
            ));
        }
    }
    Ok(out)
}

/// `x` for pointers of the form `/definitions/x`.
fn definition_name(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/definitions/")?;
    if rest.contains('/') {
        return None;
    }
    Some(rest.replace("~1", "/").replace("~0", "~"))
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes what cannot appear literally in a path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Upstream quirk: the Key Vault management file's network-security-perimeter `$ref`s climb one
/// directory too few (`specification/keyvault/common-types/...`); the files live in
/// `specification/common-types/...`.
fn common_types_fallback(root: &Path, lexical: &Path) -> Option<PathBuf> {
    let comps: Vec<_> = lexical.components().collect();
    let at = comps
        .iter()
        .rposition(|c| c.as_os_str() == "common-types")?;
    let mut p = root.join("common-types");
    for c in &comps[at + 1..] {
        p.push(c.as_os_str());
    }
    Some(p)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Some upstream files start with a UTF-8 byte-order mark.
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Collects spec JSON files (outside `examples` folders) and indexes example files by file name.
fn walk(
    dir: &Path,
    in_examples: bool,
    files: &mut Vec<PathBuf>,
    examples: &mut HashMap<String, Vec<PathBuf>>,
) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            let is_examples = path.file_name().is_some_and(|n| n == "examples");
            walk(&path, in_examples || is_examples, files, examples)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            if in_examples {
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    examples
                        .entry(name.to_string())
                        .or_default()
                        .push(path.clone());
                }
            } else {
                files.push(path);
            }
        }
    }
    Ok(())
}

fn collect_file_refs(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "x-ms-examples" {
                    continue;
                }
                if k == "$ref" {
                    if let Some(r) = child.as_str() {
                        let file = r.split('#').next().unwrap_or_default();
                        if !file.is_empty() {
                            out.insert(file.to_string());
                        }
                    }
                } else {
                    collect_file_refs(child, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_file_refs(c, out)),
        _ => {}
    }
}

fn collect_patterns(v: &Value, out: &mut HashMap<String, Regex>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match (k.as_str(), child) {
                    ("pattern", Value::String(p)) => {
                        if !out.contains_key(p) {
                            if let Ok(re) = Regex::new(p) {
                                out.insert(p.clone(), re);
                            }
                        }
                    }
                    ("x-ms-examples", _) => {}
                    _ => collect_patterns(child, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_patterns(c, out)),
        _ => {}
    }
}

pub struct Example {
    pub operation_id: String,
    pub file: PathBuf,
    pub parameters: Map<String, Value>,
    pub responses: BTreeMap<u16, ExampleResponse>,
}

pub struct ExampleResponse {
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
}

pub struct ExampleRequest {
    pub method: String,
    pub path: String,
    pub api_version: String,
    pub body: Option<Value>,
}

impl Example {
    /// Reads an `x-ms-examples` file. Fails when the file names a different `operationId`.
    pub fn load(path: &Path, operation_id: &str) -> Result<Example, String> {
        let doc = read_json(path)?;
        let here = || path.display().to_string();
        if let Some(own) = doc.get("operationId").and_then(Value::as_str) {
            if own != operation_id {
                return Err(format!(
                    "{}: example is for {own}, not {operation_id}",
                    here()
                ));
            }
        }
        let parameters = match doc.get("parameters") {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(format!("{}: 'parameters' is not an object", here())),
        };
        let mut responses = BTreeMap::new();
        let raw = doc
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{}: no 'responses' object", here()))?;
        for (code, resp) in raw {
            let status: u16 = code
                .parse()
                .map_err(|_| format!("{}: response key '{code}' is not a status code", here()))?;
            let headers = match resp.get("headers") {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(format!("{}: headers of {code} is not an object", here())),
            };
            responses.insert(
                status,
                ExampleResponse {
                    headers,
                    body: resp.get("body").cloned(),
                },
            );
        }
        Ok(Example {
            operation_id: operation_id.to_string(),
            file: path.to_path_buf(),
            parameters,
            responses,
        })
    }

    /// The concrete request: `op`'s template with every `{param}` filled from `parameters`
    /// (percent-encoding only what a segment cannot hold; `x-ms-skip-url-encoding` values verbatim),
    /// `op`'s api-version (examples shared across versions carry an older one), and the body
    /// parameter's value.
    pub fn request(&self, specs: &Specs, op: &Operation) -> Result<ExampleRequest, String> {
        let mut path = String::with_capacity(op.path_template.len() + 64);
        let mut rest = op.path_template.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| format!("unbalanced braces in {}", op.path_template))?;
            path.push_str(&rest[..open]);
            let name = &rest[open + 1..close];
            let value = match self.parameters.get(name) {
                Some(Value::String(s)) => s.clone(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                Some(_) => {
                    return Err(format!(
                        "{}: parameter '{name}' is not a scalar",
                        self.file.display()
                    ))
                }
                None => {
                    return Err(format!(
                        "{}: no value for path parameter '{name}'",
                        self.file.display()
                    ))
                }
            };
            let raw = op
                .params
                .iter()
                .any(|p| p.name == name && p.location == "path" && p.skip_url_encoding);
            if raw {
                // `/{scope}` with scope "/subscriptions/x" must not produce "//subscriptions".
                let v = if path.ends_with('/') {
                    value.trim_start_matches('/')
                } else {
                    value.as_str()
                };
                path.push_str(v);
            } else {
                path.push_str(&encode_segment(&value));
            }
            rest = &rest[close + 1..];
        }
        path.push_str(rest);

        let body = match op.params.iter().find(|p| p.location == "body") {
            Some(p) => {
                // Make sure the body parameter really exists in the loaded documents.
                specs
                    .param_schema(p)
                    .ok_or_else(|| format!("body parameter of {} not found", op.operation_id))?;
                self.parameters.get(&p.name).cloned()
            }
            None => None,
        };
        Ok(ExampleRequest {
            method: op.method.clone(),
            path,
            api_version: op.api_version.clone(),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Microsoft examples that genuinely contradict their own spec: (example file name, status, reason).
    /// Each entry is printed when it is used, so stale entries stand out.
    const ALLOWED_EXAMPLE_VIOLATIONS: &[(&str, u16, &str)] = &[];

    fn specs() -> &'static Specs {
        match shared() {
            Ok(s) => s,
            Err(e) => panic!("loading the Azure specs failed: {e}"),
        }
    }

    fn op(id: &str) -> &'static Operation {
        specs()
            .operation(id, None)
            .unwrap_or_else(|| panic!("operation {id} not loaded"))
    }

    fn example(op: &Operation, file_name: &str) -> Example {
        let path = op
            .examples
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == file_name))
            .unwrap_or_else(|| {
                panic!(
                    "{} has no example {file_name}: {:?}",
                    op.operation_id, op.examples
                )
            });
        Example::load(path, &op.operation_id).unwrap()
    }

    fn pointers(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.pointer.as_str()).collect()
    }

    #[test]
    fn loads_the_azure_specs() {
        let s = specs();
        assert!(s.operations().len() > 250, "{s:?}");
        let ids: HashSet<&str> = s
            .operations()
            .iter()
            .map(|o| o.operation_id.as_str())
            .collect();
        for id in [
            "ResourceGroups_Get",
            "ContainerApps_CreateOrUpdate",
            "SetSecret",
            "Routes_Update",
            "Servers_Get",
        ] {
            assert!(ids.contains(id), "{id} missing");
        }
        let put = op("ContainerApps_CreateOrUpdate");
        assert_eq!(put.method, "PUT");
        assert_eq!(put.api_version, "2025-07-01");
        assert!(put.long_running);
        assert_eq!(
            put.final_state_via.as_deref(),
            Some("azure-async-operation")
        );
        assert_eq!(put.statuses, ["200", "201", "default"]);
        assert!(put.file.is_absolute() && put.file.ends_with("ContainerApps.json"));
        // Examples kept under another folder layout or api-version are still found.
        for (id, name) in [
            ("Routes_Update", "Routes_Update.json"),
            ("Subscriptions_List", "GetSubscriptions.json"),
            ("UpdateSecret", "UpdateSecret-example.json"),
            ("Resources", "ResourcesFirstPageQuery.json"),
        ] {
            let o = op(id);
            assert!(
                o.examples.iter().any(|p| p.is_file() && p.ends_with(name)),
                "{id}: {:?}",
                o.examples
            );
        }
    }

    #[test]
    fn key_vault_nsp_refs_resolve_to_root_common_types() {
        let o = specs()
            .operation(
                "NetworkSecurityPerimeterConfigurations_GetConfiguration",
                Some("2025-05-01"),
            )
            .unwrap();
        let ok = json!({"id": "/x", "name": "n", "properties": {}});
        assert!(specs().validate_response(o, 200, Some(&ok)).is_empty());
        let bad = json!({"id": 5, "name": "n"});
        assert_eq!(
            pointers(&specs().validate_response(o, 200, Some(&bad))),
            ["/id"]
        );
    }

    #[test]
    fn every_example_matches_its_operation() {
        let s = specs();
        let mut checked = 0;
        let mut failures = Vec::new();
        for o in s.operations() {
            for path in &o.examples {
                let ex = match Example::load(path, &o.operation_id) {
                    Ok(ex) => ex,
                    Err(e) => {
                        failures.push(e);
                        continue;
                    }
                };
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                for (status, resp) in &ex.responses {
                    checked += 1;
                    let v = s.validate_response(o, *status, resp.body.as_ref());
                    if v.is_empty() {
                        continue;
                    }
                    if let Some((_, _, why)) = ALLOWED_EXAMPLE_VIOLATIONS
                        .iter()
                        .find(|(f, st, _)| *f == name && st == status)
                    {
                        println!("allow-listed {name} {status}: {why}");
                        continue;
                    }
                    for x in v {
                        failures.push(format!("{} {name} {status}: {x}", o.operation_id));
                    }
                }
                match ex.request(s, o) {
                    Ok(req) => {
                        if let Some(body) = &req.body {
                            for x in s.validate_request(o, body) {
                                failures.push(format!("{} {name} request: {x}", o.operation_id));
                            }
                        }
                        // The built path must lead back to the same operation.
                        let found =
                            s.find_operation(&req.method, &req.path, Some(&req.api_version));
                        if found.map(|f| (&f.operation_id, &f.file))
                            != Some((&o.operation_id, &o.file))
                        {
                            failures.push(format!(
                                "{} {} {} matched {:?}",
                                req.method,
                                req.path,
                                req.api_version,
                                found.map(|f| &f.operation_id)
                            ));
                        }
                    }
                    Err(e) => failures.push(e),
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(checked >= 40, "only {checked} example responses found");
    }

    #[test]
    fn find_operation_prefers_specific_templates() {
        let s = specs();
        let id = |m: &str, p: &str, v: Option<&str>| {
            s.find_operation(m, p, v).map(|o| o.operation_id.as_str())
        };
        assert_eq!(
            id(
                "post",
                "/subscriptions/X/resourcegroups/rg/providers/microsoft.app/containerapps/a/revisions/r/activate",
                None
            ),
            Some("ContainerAppsRevisions_ActivateRevision")
        );
        assert_eq!(
            id("GET", "/subscriptions/X/resourceGroups/rg", None),
            Some("ResourceGroups_Get")
        );
        assert_eq!(
            id("GET", "/SUBSCRIPTIONS/X/RESOURCEGROUPS/rg/", None),
            Some("ResourceGroups_Get")
        );
        assert_eq!(
            id("HEAD", "/subscriptions/X/resourceGroups/rg", None),
            Some("ResourceGroups_CheckExistence")
        );
        assert_eq!(
            id("GET", "/subscriptions/X", None),
            Some("Subscriptions_Get")
        );
        assert_eq!(
            id("GET", "/subscriptions/X/resourceGroups/rg/providers/Microsoft.App/containerApps/a/revisions", None),
            Some("ContainerAppsRevisions_ListRevisions")
        );
        // Nothing more specific: only then the generic `/{resourceId}`.
        assert_eq!(
            id(
                "GET",
                "/subscriptions/X/resourceGroups/rg/providers/Microsoft.Web/sites/s",
                None
            ),
            Some("Resources_GetById")
        );
        assert_eq!(
            id(
                "GET",
                "/subscriptions/X/resourceGroups/rg/providers/Microsoft.Web/sites/s/slots/a",
                None
            ),
            Some("Resources_Get")
        );
        assert_eq!(
            id(
                "PUT",
                "/subscriptions/X/resourceGroups/rg/providers/Microsoft.Resources/tags/default",
                None
            ),
            Some("Tags_CreateOrUpdateAtScope")
        );
        assert_eq!(
            id("GET", "/secrets/s/versions", None),
            Some("GetSecretVersions")
        );
        assert_eq!(id("GET", "/secrets/s/0123abcd", None), Some("GetSecret"));
        assert_eq!(id("POST", "/subscriptions/X/nothing", None), None);
        // api-version narrows to one file.
        let listed = s.find_operation(
            "GET",
            "/providers/Microsoft.Resources/operations",
            Some("2022-12-01"),
        );
        assert!(listed.is_some_and(|o| o.file.ends_with("subscriptions.json")));
        let listed = s.find_operation(
            "GET",
            "/providers/Microsoft.Resources/operations",
            Some("2025-04-01"),
        );
        assert!(listed.is_some_and(|o| o.file.ends_with("resources.json")));
        assert_eq!(
            id(
                "GET",
                "/subscriptions/X/resourceGroups/rg",
                Some("2022-12-01")
            ),
            None
        );
        assert_eq!(
            id(
                "GET",
                "/subscriptions/X/resourceGroups/rg?api-version=2025-04-01",
                None
            ),
            Some("ResourceGroups_Get")
        );
    }

    #[test]
    fn revision_with_string_replicas_fails() {
        let o = op("ContainerAppsRevisions_GetRevision");
        let mut body = example(o, "Revisions_Get.json").responses[&200]
            .body
            .clone()
            .unwrap();
        assert!(specs().validate_response(o, 200, Some(&body)).is_empty());
        body["properties"]["replicas"] = json!("two");
        let v = specs().validate_response(o, 200, Some(&body));
        assert_eq!(pointers(&v), ["/properties/replicas"]);
        assert!(
            v[0].message.contains("expected integer, got string"),
            "{}",
            v[0]
        );
        assert_eq!(
            v[0].to_string(),
            "/properties/replicas: expected integer, got string"
        );
    }

    /// A storage account list whose first account has network rules.
    fn storage_list() -> (&'static Operation, Value) {
        let o = op("StorageAccounts_List");
        let mut body = example(o, "StorageAccountList.json").responses[&200]
            .body
            .clone()
            .unwrap();
        let accounts = body["value"].as_array_mut().unwrap();
        let i = accounts
            .iter()
            .position(|a| a["properties"].get("networkAcls").is_some())
            .unwrap();
        accounts.swap(0, i);
        assert!(specs().validate_response(o, 200, Some(&body)).is_empty());
        (o, body)
    }

    #[test]
    fn missing_required_id_is_reported() {
        let (o, mut body) = storage_list();
        let acls = &mut body["value"][0]["properties"]["networkAcls"];
        acls["virtualNetworkRules"] = json!([{"action": "Allow"}, {"id": "/subnets/a"}]);
        let v = specs().validate_response(o, 200, Some(&body));
        assert_eq!(
            pointers(&v),
            ["/value/0/properties/networkAcls/virtualNetworkRules/0"]
        );
        assert_eq!(v[0].message, "missing required property 'id'");
    }

    #[test]
    fn sealed_enum_rejects_unknown_and_miscased_values() {
        let (o, mut body) = storage_list();
        for bad in ["Maybe", "allow"] {
            body["value"][0]["properties"]["networkAcls"]["defaultAction"] = json!(bad);
            let v = specs().validate_response(o, 200, Some(&body));
            assert_eq!(
                pointers(&v),
                ["/value/0/properties/networkAcls/defaultAction"]
            );
            assert_eq!(
                v[0].message,
                format!("value '{bad}' not in enum ['Allow', 'Deny']")
            );
        }
        // modelAsString enums are extensible: `kind` is one on storage accounts.
        body["value"][0]["properties"]["networkAcls"]["defaultAction"] = json!("Deny");
        body["value"][0]["kind"] = json!("SomeFutureKind");
        assert!(specs().validate_response(o, 200, Some(&body)).is_empty());
    }

    #[test]
    fn discriminator_selects_subtype() {
        let o = op("Rules_Get");
        let rule = |condition: Value| json!({"id": "/r", "properties": {"order": 1, "actions": [], "conditions": [condition]}});
        let good = rule(json!({"name": "RequestMethod", "parameters": {
            "typeName": "DeliveryRuleRequestMethodConditionParameters", "operator": "Equal", "matchValues": ["GET"]}}));
        assert!(specs().validate_response(o, 200, Some(&good)).is_empty());
        // Both violations exist only in the subtypes (DeliveryRuleRequestMethodCondition and its
        // discriminated parameters), not in the base definitions.
        let bad = rule(json!({"name": "RequestMethod", "parameters": {
            "typeName": "DeliveryRuleRequestMethodConditionParameters", "negateCondition": "yes"}}));
        let v = specs().validate_response(o, 200, Some(&bad));
        let mut got: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "/properties/conditions/0/parameters/negateCondition: expected boolean, got string",
                "/properties/conditions/0/parameters: missing required property 'operator'",
            ]
        );
        let v = specs().validate_response(o, 200, Some(&rule(json!({"name": "RequestMethod"}))));
        assert_eq!(
            v[0].to_string(),
            "/properties/conditions/0: missing required property 'parameters'"
        );
        // Unknown discriminator values are extensible: only the base applies.
        assert!(specs()
            .validate_response(o, 200, Some(&rule(json!({"name": "Future"}))))
            .is_empty());
    }

    #[test]
    fn status_rules() {
        let s = specs();
        let o = op("ResourceGroups_Get");
        let rg =
            json!({"id": "/subscriptions/x/resourceGroups/rg", "name": "rg", "location": "eastus"});
        assert!(s.validate_response(o, 200, Some(&rg)).is_empty());
        let err = json!({"error": {"code": "ResourceGroupNotFound", "message": "nope"}});
        assert!(s.validate_response(o, 404, Some(&err)).is_empty());
        let v = s.validate_response(o, 201, Some(&rg));
        assert!(
            v.iter()
                .any(|v| v.message.contains("status 201 is not declared")),
            "{v:?}"
        );
        // The default (error) schema is applied to the undeclared status.
        let v = s.validate_response(o, 404, Some(&json!({"error": {"code": 1}})));
        assert_eq!(pointers(&v), ["/error/code"]);
        let v = s.validate_response(o, 200, None);
        assert_eq!(v.len(), 1, "{v:?}");
        // No `default` at all: an error status is undeclared too.
        assert_eq!(
            s.validate_response(op("StorageAccounts_List"), 500, Some(&err))
                .len(),
            1
        );
        assert!(s
            .validate_response(op("ResourceGroups_CheckExistence"), 204, None)
            .is_empty());
    }

    #[test]
    fn request_validation_ignores_read_only() {
        let s = specs();
        let o = op("ResourceGroups_CreateOrUpdate");
        let body = json!({"location": "eastus", "id": 42, "properties": {"provisioningState": 7}});
        assert!(s.validate_request(o, &body).is_empty());
        // In a response the same read-only values are checked.
        assert_eq!(
            pointers(&s.validate_response(o, 200, Some(&body))),
            ["/id", "/properties/provisioningState"]
        );
        let v = s.validate_request(o, &json!({"tags": {"a": 1}}));
        let mut got: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "(root): missing required property 'location'",
                "/tags/a: expected string, got integer"
            ]
        );
        assert_eq!(s.validate_request(o, &Value::Null).len(), 1);
        assert_eq!(
            s.validate_request(op("ResourceGroups_Get"), &json!({}))
                .len(),
            1
        );
    }

    #[test]
    fn example_request_paths() {
        let s = specs();
        let o = op("ContainerAppsRevisions_ActivateRevision");
        let req = example(o, "Revisions_Activate.json").request(s, o).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.path,
            "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.App/containerApps/testcontainerApp0/revisions/testcontainerApp0-pjxhsye/activate"
        );
        assert_eq!(req.api_version, "2025-07-01");
        assert!(req.body.is_none());

        let o = op("ResourceGroups_CreateOrUpdate");
        let req = example(o, "CreateResourceGroup.json")
            .request(s, o)
            .unwrap();
        assert_eq!(req.method, "PUT");
        assert_eq!(
            req.path,
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/my-resource-group"
        );
        assert_eq!(req.api_version, "2025-04-01");
        assert_eq!(req.body, Some(json!({"location": "eastus"})));

        // Only what a segment cannot hold is encoded; skip-url-encoding parameters go in verbatim.
        let mut ex = example(o, "CreateResourceGroup.json");
        ex.parameters
            .insert("resourceGroupName".into(), json!("a b/c(d)"));
        let req = ex.request(s, o).unwrap();
        assert!(
            req.path.ends_with("/resourcegroups/a%20b%2Fc(d)"),
            "{}",
            req.path
        );
        let tags = s.operation("Tags_GetAtScope", None).unwrap();
        ex.parameters
            .insert("scope".into(), json!("/subscriptions/x/resourceGroups/rg"));
        let req = ex.request(s, tags).unwrap();
        assert_eq!(
            req.path,
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Resources/tags/default"
        );
        ex.parameters.remove("scope");
        assert!(ex.request(s, tags).is_err());
        // An example naming another operation is refused.
        let o = op("SetSecret");
        assert!(Example::load(&o.examples[0], "GetSecret").is_err());
    }

    #[test]
    fn date_time_forms() {
        let re = &specs().date_time;
        for ok in [
            "2021-05-24T21:24:22+00:00",
            "2017-04-27T19:24:02.5625955Z",
            "2021-06-15T16:05:19.902522+00:00",
            "2024-02-29T00:00:00.1z",
            "2020-01-01 10:00:00Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(valid_date_time(re, ok), "{ok}");
        }
        for bad in [
            "2021-05-24",
            "2021-05-24T21:24:22",
            "2023-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-05-24T25:00:00Z",
            "x",
        ] {
            assert!(!valid_date_time(re, bad), "{bad}");
        }
    }

    /// A throwaway spec tree under the temp dir; removed on drop.
    struct TempTree(PathBuf);

    impl TempTree {
        fn new(tag: &str, files: &[(&str, Value)]) -> TempTree {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let root = std::env::temp_dir()
                .join(format!("swagger-selftest-{}-{tag}-{n}", std::process::id()));
            for (rel, content) in files {
                let p = root.join(rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, content.to_string()).unwrap();
            }
            TempTree(root)
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn synthetic() -> (TempTree, Specs) {
        let main = json!({
            "swagger": "2.0",
            "info": {"version": "2099-01-01", "title": "t"},
            "paths": {
                "/things/{name}": {
                    "parameters": [{"$ref": "#/parameters/NameParameter"}],
                    "put": {
                        "operationId": "Things_Put",
                        "parameters": [{"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Thing"}}],
                        "responses": {
                            "200": {"schema": {"$ref": "#/definitions/Thing"}},
                            // One climb short, like the Key Vault quirk: resolved to <root>/common-types.
                            "default": {"schema": {"$ref": "../../common-types/v1/types.json#/definitions/Error"}}
                        }
                    }
                },
                "/nodes": {"get": {"operationId": "Nodes_Get", "responses": {"200": {"schema": {"$ref": "#/definitions/Node"}}}}}
            },
            "parameters": {"NameParameter": {"name": "name", "in": "path", "required": true, "type": "string"}},
            "definitions": {
                "Thing": {"type": "object", "required": ["id", "kind"], "properties": {
                    "id": {"type": "string", "readOnly": true},
                    "kind": {"type": "string", "x-nullable": true},
                    "count": {"type": "integer", "format": "int32", "minimum": 0},
                    "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": true},
                    "uid": {"type": "string", "format": "uuid"},
                    "note": {"type": "string", "maxLength": 5, "pattern": "^[a-z]*$"},
                    "strict": {"$ref": "#/definitions/Strict"},
                    "list": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
                    "pet": {"$ref": "#/definitions/Pet"},
                    "pets": {"type": "array", "items": {"$ref": "./pets.json#/definitions/Pets"}}
                }},
                "Strict": {"type": "object", "additionalProperties": false,
                           "allOf": [{"$ref": "#/definitions/StrictBase"}], "properties": {"b": {"type": "string"}}},
                "StrictBase": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Pet": {"type": "object", "discriminator": "petType", "required": ["petType"],
                        "properties": {"petType": {"type": "string"}}},
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}, "loop": {"$ref": "#/definitions/LoopA"}}},
                "LoopA": {"allOf": [{"$ref": "#/definitions/LoopB"}]},
                "LoopB": {"allOf": [{"$ref": "#/definitions/LoopA"}]}
            }
        });
        // The subtype lives in another document.
        let pets = json!({"swagger": "2.0", "info": {"version": "2099-01-01", "title": "p"}, "paths": {}, "definitions": {
            "Pets": {"$ref": "./main.json#/definitions/Pet"},
            "Dog": {"x-ms-discriminator-value": "dog", "allOf": [{"$ref": "./main.json#/definitions/Pet"}],
                    "required": ["bark"], "properties": {"bark": {"type": "boolean"}}}
        }});
        let common = json!({"swagger": "2.0", "info": {"version": "1", "title": "c"}, "paths": {},
            "definitions": {"Error": {"type": "object", "properties": {"code": {"type": "string"}}}}});
        let tree = TempTree::new(
            "ok",
            &[
                ("svc/rm/stable/main.json", main),
                ("svc/rm/stable/pets.json", pets),
                ("common-types/v1/types.json", common),
                (
                    "svc/rm/stable/examples/ignored.json",
                    json!("examples are not loaded eagerly"),
                ),
            ],
        );
        let specs = Specs::load(&tree.0).unwrap();
        (tree, specs)
    }

    #[test]
    fn synthetic_schema_rules() {
        let (_tree, s) = synthetic();
        let o = s.operation("Things_Put", None).unwrap();
        let check = |body: Value| -> Vec<String> {
            let mut v: Vec<String> = s
                .validate_response(o, 200, Some(&body))
                .iter()
                .map(|v| v.to_string())
                .collect();
            v.sort();
            v
        };
        assert!(check(
            json!({"id": "a", "kind": null, "count": 2.0, "ratio": 0.5, "extra": true,
            "note": null, "pet": {"petType": "dog", "bark": true}, "pets": [{"petType": "cat"}],
            "uid": "2b9d1f3c-0f3e-4c6a-9b8e-1a2b3c4d5e6f", "strict": {"a": "x", "b": "y"}})
        )
        .is_empty());
        assert_eq!(
            check(
                json!({"kind": "k", "count": 2.5, "ratio": 1, "note": "ABCDEFG", "uid": "nope",
                "list": [1, "x", 3], "strict": {"c": 1}, "pet": {"petType": "dog"}, "pets": [{"petType": "dog", "bark": 1}]})
            ),
            [
                "(root): missing required property 'id'",
                "/count: expected integer, got number",
                "/list/1: expected integer, got string",
                "/list: array has 3 items, more than maxItems 2",
                "/note: 'ABCDEFG' does not match pattern ^[a-z]*$",
                "/note: string length 7 exceeds maxLength 5",
                "/pet: missing required property 'bark'",
                "/pets/0/bark: expected boolean, got integer",
                "/ratio: 1 is above the maximum 1",
                "/strict: unexpected property 'c'",
                "/uid: 'nope' is not a valid uuid",
            ]
        );
        assert_eq!(
            check(json!({"id": null, "kind": "k", "count": 3_000_000_000u64}))[0],
            "/count: 3000000000 is out of int32 range"
        );
        assert_eq!(
            check(json!({"id": null, "kind": "k"})),
            ["/id: required property 'id' is null"]
        );
        assert_eq!(check(json!([]))[0], "(root): expected object, got array");
        // The read-only required `id` is not demanded of requests.
        assert!(s.validate_request(o, &json!({"kind": "k"})).is_empty());
        // The default response resolves through the common-types fallback.
        assert_eq!(
            s.validate_response(o, 500, Some(&json!({"code": 1})))[0].pointer,
            "/code"
        );

        let nodes = s.operation("Nodes_Get", None).unwrap();
        let deep = json!({"child": {"child": {"child": {"child": {}}}}});
        assert!(s.validate_response(nodes, 200, Some(&deep)).is_empty());
        // A reference cycle terminates with a report instead of hanging.
        let v = s.validate_response(nodes, 200, Some(&json!({"loop": {}})));
        assert!(v.iter().any(|v| v.message.contains("depth limit")), "{v:?}");
        assert_eq!(
            s.find_operation("put", "/things/a", Some("2099-01-01"))
                .map(|o| o.operation_id.as_str()),
            Some("Things_Put")
        );
    }

    #[test]
    fn malformed_specs_are_errors() {
        let base =
            |paths: Value| json!({"swagger": "2.0", "info": {"version": "1"}, "paths": paths});
        let cases = [
            ("a.json", base(json!({"/x": "not an object"}))),
            (
                "a.json",
                base(
                    json!({"/x": {"get": {"operationId": "X", "responses": {"200": {"schema": {"$ref": "./missing.json#/definitions/Y"}}}}}}),
                ),
            ),
            ("a.json", base(json!({"/x": {"get": {"responses": {}}}}))),
            (
                "a.json",
                base(
                    json!({"/x/{p}": {"get": {"operationId": "X", "parameters": [{"$ref": "#/parameters/Nope"}], "responses": {}}}}),
                ),
            ),
        ];
        for (i, (name, doc)) in cases.into_iter().enumerate() {
            let tree = TempTree::new(&format!("bad{i}"), &[(name, doc)]);
            assert!(Specs::load(&tree.0).is_err(), "case {i} loaded");
        }
        let tree = TempTree::new("badjson", &[]);
        std::fs::create_dir_all(&tree.0).unwrap();
        std::fs::write(tree.0.join("broken.json"), "{\"swagger\": ").unwrap();
        assert!(Specs::load(&tree.0).is_err());
        std::fs::write(tree.0.join("broken.json"), "{}").unwrap();
        let ex = tree.0.join("ex.json");
        std::fs::write(&ex, r#"{"parameters": {}, "responses": {"default": {}}}"#).unwrap();
        assert!(Example::load(&ex, "X").is_err());
        assert!(Specs::load(&tree.0).is_ok_and(|s| s.operations().is_empty()));
    }
}
