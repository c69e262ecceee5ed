//! What a spec update changes for users of the crate: `reducto-codegen diff
//! OLD NEW`.
//!
//! [`diff`] compares two OpenAPI 3.1 documents as Reducto publishes them
//! (before any of [`crate::rewrite`]'s normalisation) and lists every change
//! a user of the generated client can notice, each with a [`Verdict`]:
//!
//! - operations added or removed, and for the operations in both: parameters,
//!   the request body and each success response's schema;
//! - every component schema (each becomes a public Rust type): added or
//!   removed, and for the schemas in both, their fields (properties, nested
//!   inline objects, array items and map values followed) added, removed,
//!   changed in type or in requiredness, and enum values added or removed.
//!
//! # Verdicts
//!
//! A change is **breaking** when an application built on the old spec can
//! fail against the new server, or when code that uses the crate no longer
//! states a valid request; otherwise it is **compatible**. Whether that
//! happens depends on the side a schema is used on (request bodies and
//! parameters, or responses; a schema used on both sides gets the worse of
//! the two verdicts):
//!
//! | change | request side | response side |
//! |---|---|---|
//! | operation added / removed | compatible / breaking | |
//! | field added, required | breaking | compatible |
//! | field added, optional | compatible | compatible |
//! | field removed | breaking | breaking if it was required |
//! | field became optional | compatible | breaking |
//! | field became required | breaking | compatible |
//! | type changed | breaking | breaking |
//! | enum value added | compatible | compatible for open enums, breaking for closed |
//! | enum value removed | breaking | compatible |
//! | union alternative added | compatible | breaking |
//! | union alternative removed | breaking | compatible |
//! | type (component schema) removed | breaking | breaking |
//!
//! A component schema that no operation uses (an unused public type) can be
//! removed compatibly: no response ever carried it.
//!
//! Open enums are the ones [`crate::REDUCTO_OPEN_ENUMS`] lists: they keep
//! unknown values, so an older build decodes a value the newer API added.
//!
//! # What is approximated
//!
//! - A field is *optional* when it is not in `required` or when it may be
//!   `null` (`anyOf [X, {type: null}]`, `type: [X, "null"]`, 3.0
//!   `nullable`): both become `Option` in Rust and both may be absent in a
//!   response, so the two are not told apart.
//! - `const` is a one-value enum: its value is compared like enum values.
//! - Types are compared by a short description (`string`, `array of Chunk`,
//!   `map of any`, `A | B`, the name of a `$ref`'d schema); any difference is
//!   a type change, so widening (integer to number) is reported as breaking.
//!   A `$ref` is not followed where it appears: the schema it names is
//!   compared once, under its own name.
//! - `oneOf`/`anyOf` variants are compared by their descriptions; inline
//!   variants are followed pairwise only when both sides have as many.
//!   `allOf` with one member is that member; with several, their names
//!   joined by `&` (members are not merged).
//! - Error responses (4xx, 5xx, `default`) are not compared: the crate turns
//!   every error status into its typed `Error` whatever the body says. A
//!   change in the set of success statuses is breaking.
//! - Descriptions, titles, examples, defaults, formats and bounds are not
//!   compared.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::subset::{collect_refs, operations};

/// Whether users of the crate can take a change without changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Applications built on the old spec can fail, or their requests stop
    /// being valid.
    Breaking,
    /// Nothing a user wrote or built stops working.
    Compatible,
}

/// Where a schema is used: what a client sends, what it receives, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Request bodies and parameters.
    Request,
    /// Success and error response bodies.
    Response,
    /// Both.
    Both,
    /// No operation uses it (still generated as a public type).
    Unused,
}

impl Side {
    fn new(request: bool, response: bool) -> Side {
        match (request, response) {
            (true, true) => Side::Both,
            (true, false) => Side::Request,
            (false, true) => Side::Response,
            (false, false) => Side::Unused,
        }
    }

    fn request(self) -> bool {
        matches!(self, Side::Request | Side::Both)
    }

    fn response(self) -> bool {
        matches!(self, Side::Response | Side::Both)
    }

    /// The worse of the verdicts the change gets on each side it is used on;
    /// a change on an unused schema is compatible.
    fn verdict(self, on_request: Verdict, on_response: Verdict) -> Verdict {
        let mut verdict = Verdict::Compatible;
        if self.request() {
            verdict = verdict.min(on_request);
        }
        if self.response() {
            verdict = verdict.min(on_response);
        }
        verdict
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Request => "request",
            Side::Response => "response",
            Side::Both => "request and response",
            Side::Unused => "used by no operation",
        })
    }
}

/// The kind of a [`Change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new operation.
    OperationAdded,
    /// An operation that is gone.
    OperationRemoved,
    /// A new component schema (a new public type).
    TypeAdded,
    /// A component schema that is gone.
    TypeRemoved,
    /// A new property or parameter.
    FieldAdded {
        /// Whether it is required (and not nullable).
        required: bool,
    },
    /// A property or parameter that is gone.
    FieldRemoved {
        /// Whether it was required (and not nullable).
        was_required: bool,
    },
    /// A property, parameter, body or response whose type changed.
    TypeChanged,
    /// A property or parameter that became required (`true`) or optional.
    RequirednessChanged {
        /// Whether it is required now.
        now_required: bool,
    },
    /// A value an enum (or a `const`) gained.
    EnumValueAdded {
        /// Whether the enum keeps unknown values (see [`crate::REDUCTO_OPEN_ENUMS`]).
        open: bool,
    },
    /// A value an enum lost.
    EnumValueRemoved,
    /// A new alternative in a union (`anyOf`/`oneOf`), or a type that became
    /// a union of itself and something else.
    VariantAdded,
    /// An alternative a union lost.
    VariantRemoved,
    /// The set of success statuses of an operation changed.
    StatusesChanged,
}

/// One change between two specs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// Where: `POST /parse`, `GET /jobs (query limit)`, `SingleJob.type`,
    /// `POST /parse (request body)`, `Chunk.blocks[].bbox`. Inside a
    /// schema, `.name` is a property, `[]` an array's items, `{}` a map's
    /// values and `<2>` the second alternative of an inline union.
    pub location: String,
    /// The side the changed schema is used on.
    pub side: Side,
    /// What it was and what it is, for people.
    pub detail: String,
    /// Breaking or compatible.
    pub verdict: Verdict,
}

/// Every change from one spec to another, printed (with [`fmt::Display`])
/// as a Markdown changelog section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `info.version` of the old spec, without a `git describe` suffix.
    pub old_version: String,
    /// `info.version` of the new spec, likewise.
    pub new_version: String,
    /// The changes, in the order found: operations, then schemas by name.
    pub changes: Vec<Change>,
}

impl Report {
    /// The changes with this verdict.
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.verdict == verdict)
    }

    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.with_verdict(Verdict::Breaking).next().is_some()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let breaking = self.with_verdict(Verdict::Breaking).count();
        let compatible = self.changes.len() - breaking;
        writeln!(
            f,
            "## API contract {} -> {}\n",
            self.old_version, self.new_version
        )?;
        writeln!(
            f,
            "{breaking} breaking and {compatible} compatible changes for users of the crate \
             (`cargo run -p reducto-codegen -- diff OLD NEW`)."
        )?;
        for (title, verdict) in [
            ("Breaking", Verdict::Breaking),
            ("Compatible", Verdict::Compatible),
        ] {
            let mut changes = self.with_verdict(verdict).peekable();
            if changes.peek().is_none() {
                continue;
            }
            writeln!(f, "\n### {title}\n")?;
            for change in changes {
                writeln!(f, "- {change}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.verdict {
            Verdict::Breaking => "breaking",
            Verdict::Compatible => "compatible",
        };
        write!(f, "`{}`: {}", self.location, self.detail)?;
        match self.kind {
            ChangeKind::OperationAdded
            | ChangeKind::OperationRemoved
            | ChangeKind::StatusesChanged => write!(f, " ({verdict})"),
            _ => write!(f, " ({}; {verdict})", self.side),
        }
    }
}

/// Compares two specs as published (OpenAPI 3.1, JSON or YAML parsed into
/// a [`Value`]) and lists what changed for users of the generated client.
pub fn diff(old: &Value, new: &Value) -> Report {
    let open: BTreeSet<String> = crate::REDUCTO_OPEN_ENUMS
        .iter()
        .flat_map(|entry| {
            std::iter::once(entry.name.to_owned()).chain(
                entry
                    .locations
                    .iter()
                    .map(|(schema, property)| format!("{schema}.{property}")),
            )
        })
        .collect();
    let mut d = Differ {
        old,
        new,
        old_sides: sides(old),
        new_sides: sides(new),
        open,
        changes: Vec::new(),
    };
    d.operations();
    d.schemas();
    Report {
        old_version: version(old),
        new_version: version(new),
        changes: d.changes,
    }
}

fn version(doc: &Value) -> String {
    let full = doc["info"]["version"].as_str().unwrap_or("?");
    // `v1.12.20-329-g39692c7ddfb9` (git describe) -> `v1.12.20`.
    match full.split_once('-') {
        Some((release, rest)) if rest.contains("-g") => release.to_owned(),
        _ => full.to_owned(),
    }
}

const SCHEMA_REF: &str = "#/components/schemas/";

/// For each component schema: (used by a request, used by a response).
fn sides(doc: &Value) -> BTreeMap<String, (bool, bool)> {
    let mut request = Vec::new();
    let mut response = Vec::new();
    for (method, path) in operations(doc) {
        let Some(op) = operation(doc, &method, &path) else {
            continue;
        };
        for param in parameters(doc, &path, op).values() {
            collect_refs(param, &mut request);
        }
        if let Some(body) = op.get("requestBody") {
            collect_refs(body, &mut request);
        }
        if let Some(responses) = op.get("responses") {
            collect_refs(responses, &mut response);
        }
    }
    let mut out: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for (roots, is_request) in [(request, true), (response, false)] {
        let mut seen = BTreeSet::new();
        let mut queue = roots;
        while let Some(name) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = doc["components"]["schemas"].get(&name) {
                collect_refs(schema, &mut queue);
            }
            let entry = out.entry(name).or_default();
            if is_request {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
    }
    out
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    doc.get("paths")?.get(path)?.get(method)
}

/// The parameters of an operation (path-level ones included), by
/// `in name` (`query limit`), with `$ref`s to `#/components/parameters` resolved.
fn parameters<'a>(doc: &'a Value, path: &str, op: &'a Value) -> BTreeMap<String, &'a Value> {
    let path_level = doc["paths"][path]["parameters"].as_array();
    let op_level = op["parameters"].as_array();
    let mut out = BTreeMap::new();
    // Operation-level parameters override path-level ones of the same key.
    for param in path_level.into_iter().chain(op_level).flatten() {
        let param = match param["$ref"].as_str() {
            Some(r) => r
                .strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .unwrap_or(param),
            None => param,
        };
        let key = format!(
            "{} {}",
            param["in"].as_str().unwrap_or("?"),
            param["name"].as_str().unwrap_or("?")
        );
        out.insert(key, param);
    }
    out
}

/// The body schema of a request body or response: the JSON one if there
/// is one, else the first media type's.
fn body_schema(body: &Value) -> Option<&Value> {
    let content = body.get("content")?.as_object()?;
    content
        .get("application/json")
        .or_else(|| content.values().next())
        .and_then(|media| media.get("schema"))
}

/// ` (Delete Parse Job; 202 DeleteJobResponse)`: an operation's summary and
/// success responses.
fn summarize(op: &Value) -> String {
    let mut parts: Vec<String> = op["summary"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        if is_success(status) {
            let body = body_schema(response).map_or("no body".into(), display);
            parts.push(format!("{status} `{body}`"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    old_sides: BTreeMap<String, (bool, bool)>,
    new_sides: BTreeMap<String, (bool, bool)>,
    /// Open enums: schema names and `Schema.property` locations.
    open: BTreeSet<String>,
    changes: Vec<Change>,
}

impl Differ<'_> {
    fn push(&mut self, kind: ChangeKind, location: String, side: Side, detail: String) {
        use Verdict::{Breaking as B, Compatible as C};
        let verdict = match &kind {
            ChangeKind::OperationAdded | ChangeKind::TypeAdded => C,
            ChangeKind::OperationRemoved | ChangeKind::StatusesChanged => B,
            ChangeKind::TypeRemoved => side.verdict(B, B),
            ChangeKind::FieldAdded { required } => side.verdict(if *required { B } else { C }, C),
            ChangeKind::FieldRemoved { was_required } => {
                side.verdict(B, if *was_required { B } else { C })
            }
            ChangeKind::RequirednessChanged { now_required: true } => side.verdict(B, C),
            ChangeKind::RequirednessChanged {
                now_required: false,
            } => side.verdict(C, B),
            ChangeKind::TypeChanged => side.verdict(B, B),
            ChangeKind::EnumValueAdded { open } => side.verdict(C, if *open { C } else { B }),
            ChangeKind::EnumValueRemoved => side.verdict(B, C),
            ChangeKind::VariantAdded => side.verdict(C, B),
            ChangeKind::VariantRemoved => side.verdict(B, C),
        };
        self.changes.push(Change {
            kind,
            location,
            side,
            detail,
            verdict,
        });
    }

    fn operations(&mut self) {
        let old_ops = operations(self.old);
        let new_ops = operations(self.new);
        let name = |(method, path): &(String, String)| format!("{} {path}", method.to_uppercase());
        for op in &new_ops {
            if !old_ops.contains(op) {
                let summary = operation(self.new, &op.0, &op.1)
                    .map(summarize)
                    .unwrap_or_default();
                self.push(
                    ChangeKind::OperationAdded,
                    name(op),
                    Side::Unused,
                    format!("operation added{summary}"),
                );
            }
        }
        for op in &old_ops {
            if !new_ops.contains(op) {
                self.push(
                    ChangeKind::OperationRemoved,
                    name(op),
                    Side::Unused,
                    "operation removed".into(),
                );
            }
        }
        for op in old_ops.iter().filter(|op| new_ops.contains(op)) {
            let (Some(old), Some(new)) = (
                operation(self.old, &op.0, &op.1),
                operation(self.new, &op.0, &op.1),
            ) else {
                continue;
            };
            self.operation(&name(op), &op.1, old, new);
        }
    }

    fn operation(&mut self, name: &str, path: &str, old: &Value, new: &Value) {
        // Parameters are fields of the request.
        let old_params = parameters(self.old, path, old);
        let new_params = parameters(self.new, path, new);
        let required = |p: &Value| p["required"] == Value::Bool(true);
        for (key, param) in &new_params {
            if !old_params.contains_key(key) {
                let required = required(param);
                let detail = added_detail(required, &param["schema"]);
                self.push(
                    ChangeKind::FieldAdded { required },
                    format!("{name} ({key})"),
                    Side::Request,
                    format!("parameter {detail}"),
                );
            }
        }
        for (key, param) in &old_params {
            let location = format!("{name} ({key})");
            let Some(new_param) = new_params.get(key) else {
                self.push(
                    ChangeKind::FieldRemoved {
                        was_required: required(param),
                    },
                    location,
                    Side::Request,
                    "parameter removed".into(),
                );
                continue;
            };
            let (was, now) = (required(param), required(new_param));
            if was != now {
                self.push(
                    ChangeKind::RequirednessChanged { now_required: now },
                    location.clone(),
                    Side::Request,
                    requiredness_detail("parameter", now),
                );
            }
            self.schema(
                &location,
                &param["schema"],
                &new_param["schema"],
                Side::Request,
                true,
            );
        }

        // The request body.
        let location = format!("{name} (request body)");
        match (old.get("requestBody"), new.get("requestBody")) {
            (None, Some(body)) => {
                let required = required(body);
                self.push(
                    ChangeKind::FieldAdded { required },
                    location,
                    Side::Request,
                    format!(
                        "request body {}",
                        added_detail(required, body_schema(body).unwrap_or(&Value::Null))
                    ),
                );
            }
            (Some(body), None) => self.push(
                ChangeKind::FieldRemoved {
                    was_required: required(body),
                },
                location,
                Side::Request,
                "request body removed".into(),
            ),
            (Some(old_body), Some(new_body)) => {
                let (was, now) = (required(old_body), required(new_body));
                if was != now {
                    self.push(
                        ChangeKind::RequirednessChanged { now_required: now },
                        location.clone(),
                        Side::Request,
                        requiredness_detail("request body", now),
                    );
                }
                if let (Some(o), Some(n)) = (body_schema(old_body), body_schema(new_body)) {
                    self.schema(&location, o, n, Side::Request, true);
                }
            }
            (None, None) => {}
        }

        // Success responses.
        let statuses = |op: &Value| -> BTreeSet<String> {
            op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.keys())
                .filter(|s| is_success(s))
                .cloned()
                .collect()
        };
        let (old_statuses, new_statuses) = (statuses(old), statuses(new));
        if old_statuses != new_statuses {
            self.push(
                ChangeKind::StatusesChanged,
                name.to_owned(),
                Side::Response,
                format!(
                    "success status {} -> {}",
                    join(&old_statuses),
                    join(&new_statuses)
                ),
            );
        }
        for status in old_statuses.intersection(&new_statuses) {
            let (Some(o), Some(n)) = (
                body_schema(&old["responses"][status]),
                body_schema(&new["responses"][status]),
            ) else {
                continue;
            };
            self.schema(
                &format!("{name} ({status} response)"),
                o,
                n,
                Side::Response,
                true,
            );
        }
    }

    fn schemas(&mut self) {
        let empty = Map::new();
        let old_schemas = self.old["components"]["schemas"]
            .as_object()
            .unwrap_or(&empty);
        let new_schemas = self.new["components"]["schemas"]
            .as_object()
            .unwrap_or(&empty);
        let names: BTreeSet<&String> = old_schemas.keys().chain(new_schemas.keys()).collect();
        for name in names {
            let (or, os) = self.old_sides.get(name).copied().unwrap_or_default();
            let (nr, ns) = self.new_sides.get(name).copied().unwrap_or_default();
            match (old_schemas.get(name), new_schemas.get(name)) {
                (None, Some(schema)) => {
                    let side = Side::new(nr, ns);
                    self.push(
                        ChangeKind::TypeAdded,
                        name.clone(),
                        side,
                        match enum_values(schema) {
                            Some(values) => format!(
                                "type added (values {})",
                                values.into_iter().collect::<Vec<_>>().join(", ")
                            ),
                            None => "type added".into(),
                        },
                    );
                }
                (Some(_), None) => {
                    let side = Side::new(or, os);
                    self.push(
                        ChangeKind::TypeRemoved,
                        name.clone(),
                        side,
                        "type removed".into(),
                    );
                }
                (Some(o), Some(n)) => {
                    let side = Side::new(or || nr, os || ns);
                    self.schema(name, o, n, side, true);
                }
                (None, None) => {}
            }
        }
    }

    /// Compares two schemas found at `location`. `nullability` says whether
    /// a change of nullability is reported here (not for properties and
    /// parameters, whose requiredness already accounts for it).
    fn schema(&mut self, location: &str, old: &Value, new: &Value, side: Side, nullability: bool) {
        let (old_ty, old_null) = describe(old);
        let (new_ty, new_null) = describe(new);
        let (old_inner, new_inner) = (strip_null(old).0, strip_null(new).0);

        let (old_values, new_values) = (enum_values(old_inner), enum_values(new_inner));
        if let (Some(o), Some(n)) = (&old_values, &new_values) {
            let open = self.open.contains(location);
            for value in n.difference(o) {
                self.push(
                    ChangeKind::EnumValueAdded { open },
                    location.to_owned(),
                    side,
                    format!(
                        "{} value `{value}` added",
                        if open { "open enum" } else { "enum" }
                    ),
                );
            }
            for value in o.difference(n) {
                self.push(
                    ChangeKind::EnumValueRemoved,
                    location.to_owned(),
                    side,
                    format!("enum value `{value}` removed"),
                );
            }
        }
        if old_ty != new_ty {
            let (old_members, new_members) = (members(old_inner), members(new_inner));
            let (added, removed): (Vec<&String>, Vec<&String>) = (
                new_members.difference(&old_members).collect(),
                old_members.difference(&new_members).collect(),
            );
            if added.is_empty() != removed.is_empty() {
                for member in added {
                    self.push(
                        ChangeKind::VariantAdded,
                        location.to_owned(),
                        side,
                        format!("union alternative `{member}` added"),
                    );
                }
                for member in removed {
                    self.push(
                        ChangeKind::VariantRemoved,
                        location.to_owned(),
                        side,
                        format!("union alternative `{member}` removed"),
                    );
                }
                return;
            }
            self.push(
                ChangeKind::TypeChanged,
                location.to_owned(),
                side,
                format!("type `{old_ty}` -> `{new_ty}`"),
            );
            return;
        }
        if nullability && old_null != new_null {
            self.push(
                ChangeKind::RequirednessChanged {
                    now_required: !new_null,
                },
                location.to_owned(),
                side,
                if new_null {
                    "became nullable".into()
                } else {
                    "no longer nullable".into()
                },
            );
        }
        if old_inner.get("$ref").is_some() {
            return; // compared under its own name
        }
        self.properties(location, old_inner, new_inner, side);
        let (old_items, new_items) = (&old_inner["items"], &new_inner["items"]);
        if old_items.is_object() && new_items.is_object() {
            self.schema(&format!("{location}[]"), old_items, new_items, side, true);
        }
        let (old_values, new_values) = (
            &old_inner["additionalProperties"],
            &new_inner["additionalProperties"],
        );
        if old_values.is_object() && new_values.is_object() {
            self.schema(
                &format!("{location}{{}}"),
                old_values,
                new_values,
                side,
                true,
            );
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            let (Some(o), Some(n)) = variants(old_inner, key, new_inner) else {
                continue;
            };
            if o.len() != n.len() {
                continue;
            }
            for (i, (o, n)) in o.iter().zip(&n).enumerate() {
                if o.get("$ref").is_none() && n.get("$ref").is_none() {
                    self.schema(&format!("{location}<{}>", i + 1), o, n, side, true);
                }
            }
        }
    }

    fn properties(&mut self, location: &str, old: &Value, new: &Value, side: Side) {
        let empty = Map::new();
        let old_props = old["properties"].as_object().unwrap_or(&empty);
        let new_props = new["properties"].as_object().unwrap_or(&empty);
        let required = |schema: &Value, name: &str, prop: &Value| {
            let listed = schema["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|v| v == name));
            listed && !strip_null(prop).1
        };
        for (name, prop) in new_props {
            if !old_props.contains_key(name) {
                let required = required(new, name, prop);
                self.push(
                    ChangeKind::FieldAdded { required },
                    format!("{location}.{name}"),
                    side,
                    format!("field {}", added_detail(required, prop)),
                );
            }
        }
        for (name, prop) in old_props {
            let location = format!("{location}.{name}");
            let was = required(old, name, prop);
            let Some(new_prop) = new_props.get(name) else {
                self.push(
                    ChangeKind::FieldRemoved { was_required: was },
                    location,
                    side,
                    format!(
                        "field removed (was {} `{}`)",
                        if was { "required" } else { "optional" },
                        display(prop)
                    ),
                );
                continue;
            };
            let now = required(new, name, new_prop);
            if was != now {
                self.push(
                    ChangeKind::RequirednessChanged { now_required: now },
                    location.clone(),
                    side,
                    requiredness_detail("field", now),
                );
            }
            self.schema(&location, prop, new_prop, side, false);
        }
    }
}

/// The descriptions of a union's non-null alternatives, or of the one type
/// a schema that is not a union has.
fn members(schema: &Value) -> BTreeSet<String> {
    for key in ["anyOf", "oneOf"] {
        if let Some(members) = schema[key].as_array() {
            return members
                .iter()
                .filter(|m| !is_null_type(m))
                .map(|m| describe(m).0)
                .collect();
        }
    }
    BTreeSet::from([describe(schema).0])
}

/// The non-null members of `old[key]` and `new[key]`.
fn variants<'v>(old: &'v Value, key: &str, new: &'v Value) -> VariantPair<'v> {
    let members = |v: &'v Value| {
        v[key]
            .as_array()
            .map(|a| a.iter().filter(|m| !is_null_type(m)).collect::<Vec<_>>())
    };
    (members(old), members(new))
}

type VariantPair<'v> = (Option<Vec<&'v Value>>, Option<Vec<&'v Value>>);

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        return "none".into();
    }
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn added_detail(required: bool, schema: &Value) -> String {
    format!(
        "added, {} `{}`",
        if required { "required" } else { "optional" },
        display(schema)
    )
}

/// [`describe`], plus the value of a `const` (`string = "chart"`).
fn display(schema: &Value) -> String {
    let ty = describe(schema).0;
    match strip_null(schema).0.get("const") {
        Some(value) => format!("{ty} = {value}"),
        None => ty,
    }
}

fn requiredness_detail(what: &str, now_required: bool) -> String {
    if now_required {
        format!("{what} became required")
    } else {
        format!("{what} became optional")
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema["type"] == "null" || schema.get("const") == Some(&Value::Null)
}

/// The schema without its `null` alternative, and whether it had one.
fn strip_null(schema: &Value) -> (&Value, bool) {
    let mut nullable = schema["nullable"] == Value::Bool(true)
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "null"));
    for key in ["anyOf", "oneOf"] {
        if let Some(members) = schema[key].as_array() {
            if members.iter().any(is_null_type) {
                nullable = true;
                let rest: Vec<&Value> = members.iter().filter(|m| !is_null_type(m)).collect();
                if let [only] = rest.as_slice() {
                    let (inner, inner_null) = strip_null(only);
                    return (inner, nullable || inner_null);
                }
            }
        }
    }
    (schema, nullable)
}

/// The values an enum or `const` allows (JSON text for non-strings), or
/// `None` when the schema is not one.
fn enum_values(schema: &Value) -> Option<BTreeSet<String>> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(values) = schema["enum"].as_array() {
        return Some(values.iter().filter(|v| !v.is_null()).map(text).collect());
    }
    schema.get("const").map(|c| BTreeSet::from([text(c)]))
}

/// A short description of a schema's type (without `null`), and whether
/// it may be null.
fn describe(schema: &Value) -> (String, bool) {
    let (schema, nullable) = strip_null(schema);
    (describe_inner(schema), nullable)
}

fn describe_inner(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return r.strip_prefix(SCHEMA_REF).unwrap_or(r).to_owned();
    }
    for (key, sep) in [("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")] {
        if let Some(members) = schema[key].as_array() {
            let members: Vec<String> = members
                .iter()
                .filter(|m| !is_null_type(m))
                .map(|m| describe(m).0)
                .collect();
            return members.join(sep);
        }
    }
    let ty = match &schema["type"] {
        Value::String(t) => Some(t.as_str()),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    };
    // `const` and `enum` values are compared on their own: only the base
    // type is part of the description.
    let from_value = |v: &Value| match v {
        Value::String(_) => "string",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::Bool(_) => "boolean",
        _ => "any",
    };
    match ty {
        Some("array") => match schema.get("items") {
            Some(items) => format!("array of {}", describe_item(items)),
            None => "array".into(),
        },
        Some("object") | None if schema["properties"].is_object() => "object".into(),
        Some("object") | None => match schema.get("additionalProperties") {
            Some(Value::Object(values)) if !values.is_empty() => {
                format!("map of {}", describe_item(&Value::Object(values.clone())))
            }
            _ if ty.is_some() => "object".into(),
            _ => match (schema.get("const"), schema["enum"].as_array()) {
                (Some(c), _) => from_value(c).into(),
                (None, Some(values)) => values
                    .iter()
                    .find(|v| !v.is_null())
                    .map_or("any", from_value)
                    .into(),
                _ => "any".into(),
            },
        },
        Some(t) => match schema["format"].as_str() {
            Some(format) => format!("{t} ({format})"),
            None => t.to_owned(),
        },
    }
}

/// An array's item or a map's value type, with `?` when it may be null.
fn describe_item(schema: &Value) -> String {
    let (ty, nullable) = describe(schema);
    let ty = if ty.contains(" | ") || ty.contains(" & ") {
        format!("({ty})")
    } else {
        ty
    };
    if nullable {
        format!("{ty}?")
    } else {
        ty
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Verdict::{Breaking, Compatible};

    /// A spec with `POST /op` sending `Req` and answering `Resp`; `Shared`
    /// is used by both, `Loose` by neither.
    fn spec(schemas: Value) -> Value {
        let mut all = json!({
            "Req": { "type": "object", "properties": {
                "shared": { "$ref": "#/components/schemas/Shared" } } },
            "Resp": { "type": "object", "properties": {
                "shared": { "anyOf": [{ "$ref": "#/components/schemas/Shared" }, { "type": "null" }] } } },
            "Shared": { "type": "object", "properties": {} },
            "Loose": { "type": "object" },
        });
        for (name, schema) in schemas.as_object().unwrap() {
            all[name] = schema.clone();
        }
        json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "v1.0.0-3-gabc" },
            "paths": { "/op": { "post": {
                "summary": "Op",
                "parameters": [{ "name": "id", "in": "path", "required": true,
                                 "schema": { "type": "string" } }],
                "requestBody": { "required": true, "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/Req" } } } },
                "responses": {
                    "200": { "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/Resp" } } } },
                    "422": { "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/Err" } } } },
                },
            } } },
            "components": { "schemas": all },
        })
    }

    /// The only change between `old` and `new` schemas.
    fn only_change(old: Value, new: Value) -> Change {
        let report = diff(&spec(old), &spec(new));
        assert_eq!(report.changes.len(), 1, "{report}");
        report.changes.into_iter().next().unwrap()
    }

    fn obj(properties: Value, required: &[&str]) -> Value {
        json!({ "type": "object", "properties": properties, "required": required })
    }

    #[test]
    fn identical_specs_have_no_changes() {
        let report = diff(&spec(json!({})), &spec(json!({})));
        assert!(report.changes.is_empty());
        assert!(!report.is_breaking());
    }

    #[test]
    fn operations_added_and_removed() {
        let old = spec(json!({}));
        let mut new = old.clone();
        new["paths"]["/other"] = json!({ "delete": { "summary": "Delete", "responses": {
            "202": { "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Loose" } } } } } } });
        let report = diff(&old, &new);
        assert_eq!(report.changes.len(), 1);
        let added = &report.changes[0];
        assert_eq!(added.kind, ChangeKind::OperationAdded);
        assert_eq!(added.location, "DELETE /other");
        assert_eq!(added.detail, "operation added (Delete; 202 `Loose`)");
        assert_eq!(added.verdict, Compatible);

        let removed = &diff(&new, &old).changes[0];
        assert_eq!(removed.kind, ChangeKind::OperationRemoved);
        assert_eq!(removed.verdict, Breaking);
    }

    #[test]
    fn new_required_request_field_is_breaking_optional_is_not() {
        let old = json!({ "Req": obj(json!({ "a": { "type": "string" } }), &["a"]) });
        let required = json!({ "Req": obj(json!({ "a": { "type": "string" },
                                                   "b": { "type": "integer" } }), &["a", "b"]) });
        let change = only_change(old.clone(), required);
        assert_eq!(change.kind, ChangeKind::FieldAdded { required: true });
        assert_eq!(change.location, "Req.b");
        assert_eq!(change.side, Side::Request);
        assert_eq!(change.verdict, Breaking);

        // Required but nullable is optional (an `Option` in Rust).
        let nullable = json!({ "Req": obj(json!({ "a": { "type": "string" },
            "b": { "anyOf": [{ "type": "integer" }, { "type": "null" }] } }), &["a", "b"]) });
        let change = only_change(old, nullable);
        assert_eq!(change.kind, ChangeKind::FieldAdded { required: false });
        assert_eq!(change.detail, "field added, optional `integer`");
        assert_eq!(change.verdict, Compatible);
    }

    #[test]
    fn new_response_fields_are_compatible_even_required() {
        let old = json!({ "Resp": obj(json!({}), &[]) });
        let new = json!({ "Resp": obj(json!({ "n": { "type": "integer", "const": 1 } }), &["n"]) });
        let change = only_change(old, new);
        assert_eq!(change.kind, ChangeKind::FieldAdded { required: true });
        assert_eq!(change.side, Side::Response);
        assert_eq!(change.detail, "field added, required `integer = 1`");
        assert_eq!(change.verdict, Compatible);
    }

    #[test]
    fn removed_fields_break_requests_and_required_response_fields() {
        let field = json!({ "x": { "type": "boolean" } });
        let change = only_change(
            json!({ "Req": obj(field.clone(), &[]) }),
            json!({ "Req": obj(json!({}), &[]) }),
        );
        assert_eq!(
            change.kind,
            ChangeKind::FieldRemoved {
                was_required: false
            }
        );
        assert_eq!(change.verdict, Breaking);

        let optional = only_change(
            json!({ "Resp": obj(field.clone(), &[]) }),
            json!({ "Resp": obj(json!({}), &[]) }),
        );
        assert_eq!(optional.verdict, Compatible);
        let required = only_change(
            json!({ "Resp": obj(field, &["x"]) }),
            json!({ "Resp": obj(json!({}), &[]) }),
        );
        assert_eq!(
            required.kind,
            ChangeKind::FieldRemoved { was_required: true }
        );
        assert_eq!(required.verdict, Breaking);
    }

    #[test]
    fn requiredness_verdict_depends_on_the_side() {
        let field = json!({ "x": { "type": "string" } });
        let to_required = |name: &str| {
            only_change(
                json!({ name: obj(field.clone(), &[]) }),
                json!({ name: obj(field.clone(), &["x"]) }),
            )
        };
        let request = to_required("Req");
        assert_eq!(
            request.kind,
            ChangeKind::RequirednessChanged { now_required: true }
        );
        assert_eq!(request.detail, "field became required");
        assert_eq!(request.verdict, Breaking);
        assert_eq!(to_required("Resp").verdict, Compatible);

        // Becoming nullable is becoming optional: older builds expect a value.
        let nullable = only_change(
            json!({ "Resp": obj(field.clone(), &["x"]) }),
            json!({ "Resp": obj(json!({ "x": { "type": ["string", "null"] } }), &["x"]) }),
        );
        assert_eq!(
            nullable.kind,
            ChangeKind::RequirednessChanged {
                now_required: false
            }
        );
        assert_eq!(nullable.verdict, Breaking);
    }

    #[test]
    fn type_changes_are_breaking_and_refs_are_named() {
        let change = only_change(
            json!({ "Resp": obj(json!({ "x": { "type": "array",
                "items": { "$ref": "#/components/schemas/Loose" } } }), &[]) }),
            json!({ "Resp": obj(json!({ "x": { "type": "array",
                "items": { "type": "string", "format": "date-time" } } }), &[]) }),
        );
        assert_eq!(change.kind, ChangeKind::TypeChanged);
        assert_eq!(
            change.detail,
            "type `array of Loose` -> `array of string (date-time)`"
        );
        assert_eq!(change.verdict, Breaking);
    }

    #[test]
    fn enum_values_follow_open_and_closed_rules() {
        let status = |values: Value| json!({ "type": "string", "enum": values });
        // A closed response enum: older builds fail on the new value.
        let closed = only_change(
            json!({ "Resp": obj(json!({ "kind": status(json!(["a"])) }), &[]) }),
            json!({ "Resp": obj(json!({ "kind": status(json!(["a", "b"])) }), &[]) }),
        );
        assert_eq!(closed.kind, ChangeKind::EnumValueAdded { open: false });
        assert_eq!(closed.detail, "enum value `b` added");
        assert_eq!(closed.verdict, Breaking);

        // An open one (listed in REDUCTO_OPEN_ENUMS) keeps unknown values.
        let open = |values: Value| {
            json!({ "SingleJob": obj(json!({ "type": status(values) }), &[]),
                    "Resp": obj(json!({ "job": { "$ref": "#/components/schemas/SingleJob" } }), &[]) })
        };
        let change = only_change(open(json!(["Parse"])), open(json!(["Parse", "Chart"])));
        assert_eq!(change.kind, ChangeKind::EnumValueAdded { open: true });
        assert_eq!(change.location, "SingleJob.type");
        assert_eq!(change.side, Side::Response);
        assert_eq!(change.detail, "open enum value `Chart` added");
        assert_eq!(change.verdict, Compatible);
        let removed = only_change(open(json!(["Parse", "Chart"])), open(json!(["Parse"])));
        assert_eq!(removed.kind, ChangeKind::EnumValueRemoved);
        assert_eq!(removed.verdict, Compatible);

        // A closed request enum may grow; losing a value breaks senders.
        let request = |values: Value| json!({ "Req": obj(json!({ "mode": status(values) }), &[]) });
        let grown = only_change(request(json!(["x"])), request(json!(["x", "y"])));
        assert_eq!(grown.verdict, Compatible);
        let shrunk = only_change(request(json!(["x", "y"])), request(json!(["x"])));
        assert_eq!(shrunk.kind, ChangeKind::EnumValueRemoved);
        assert_eq!(shrunk.verdict, Breaking);
    }

    #[test]
    fn a_const_is_a_one_value_enum() {
        let tag = |value: &str| json!({ "Resp": obj(json!({ "t": { "type": "string", "const": value } }), &[]) });
        let report = diff(&spec(tag("a")), &spec(tag("b")));
        let kinds: Vec<_> = report.changes.iter().map(|c| c.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::EnumValueAdded { open: false },
                ChangeKind::EnumValueRemoved
            ]
        );
    }

    #[test]
    fn a_schema_on_both_sides_gets_the_worse_verdict() {
        let change = only_change(
            json!({ "Shared": obj(json!({}), &[]) }),
            json!({ "Shared": obj(json!({ "v": { "type": "string" } }), &["v"]) }),
        );
        assert_eq!(change.side, Side::Both);
        assert_eq!(change.verdict, Breaking); // a required field on the request side
    }

    #[test]
    fn nested_inline_objects_array_items_and_maps_are_followed() {
        let nested = |leaf: Value| {
            json!({ "Req": obj(json!({ "outer": {
                "type": "object",
                "properties": { "rows": { "type": "array", "items": {
                    "type": "object", "additionalProperties": leaf } } } } }), &[]) })
        };
        let change = only_change(
            nested(obj(json!({}), &[])),
            nested(obj(json!({ "z": { "type": "number" } }), &["z"])),
        );
        assert_eq!(change.location, "Req.outer.rows[]{}.z");
        assert_eq!(change.verdict, Breaking);
    }

    #[test]
    fn union_alternatives_added_and_removed() {
        let result =
            |members: Value| json!({ "Resp": obj(json!({ "r": { "anyOf": members } }), &[]) });
        let one = json!([{ "$ref": "#/components/schemas/Loose" }, { "type": "null" }]);
        let two = json!([{ "$ref": "#/components/schemas/Loose" }, { "$ref": "#/components/schemas/Url" },
                         { "type": "null" }]);
        let added = only_change(result(one.clone()), result(two.clone()));
        assert_eq!(added.kind, ChangeKind::VariantAdded);
        assert_eq!(added.detail, "union alternative `Url` added");
        assert_eq!(added.verdict, Breaking); // older builds cannot decode a `Url`
        let removed = only_change(result(two), result(one));
        assert_eq!(removed.kind, ChangeKind::VariantRemoved);
        assert_eq!(removed.verdict, Compatible);

        // On the request side, accepting more is compatible.
        let body =
            |members: Value| json!({ "Req": obj(json!({ "f": { "anyOf": members } }), &[]) });
        let widened = only_change(
            body(json!([{ "type": "string", "format": "binary" }])),
            body(json!([{ "type": "string", "format": "binary" }, { "type": "string" }])),
        );
        assert_eq!(widened.kind, ChangeKind::VariantAdded);
        assert_eq!(widened.verdict, Compatible);
    }

    #[test]
    fn types_added_and_removed() {
        let added = only_change(
            json!({}),
            json!({ "Mode": { "type": "string", "enum": ["a", "b"] } }),
        );
        assert_eq!(added.kind, ChangeKind::TypeAdded);
        assert_eq!(added.detail, "type added (values a, b)");
        assert_eq!(added.side, Side::Unused);
        assert_eq!(added.verdict, Compatible);

        let mut new = spec(json!({}));
        new["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("Loose");
        let report = diff(&spec(json!({})), &new);
        assert_eq!(report.changes[0].kind, ChangeKind::TypeRemoved);
        assert_eq!(report.changes[0].verdict, Compatible); // no operation used it

        // A used type that disappears breaks (here: the request's `Shared`
        // becomes an inline object).
        let mut new = spec(
            json!({ "Req": obj(json!({ "shared": obj(json!({}), &[]) }), &[]),
                                   "Resp": obj(json!({}), &[]) }),
        );
        new["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("Shared");
        let report = diff(&spec(json!({})), &new);
        let removed = report
            .changes
            .iter()
            .find(|c| c.kind == ChangeKind::TypeRemoved)
            .unwrap();
        assert_eq!(removed.location, "Shared");
        assert_eq!(removed.verdict, Breaking);
    }

    #[test]
    fn parameters_body_and_statuses_of_kept_operations() {
        let old = spec(json!({}));
        let mut new = old.clone();
        let op = &mut new["paths"]["/op"]["post"];
        op["parameters"][0]["schema"] = json!({ "type": "integer" });
        op["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "name": "limit", "in": "query", "required": false,
                          "schema": { "anyOf": [{ "type": "integer" }, { "type": "null" }] } }));
        op["requestBody"]["content"]["application/json"]["schema"] =
            json!({ "$ref": "#/components/schemas/Loose" });
        let ok = op["responses"]["200"].take();
        op["responses"].as_object_mut().unwrap().remove("200");
        op["responses"]["202"] = ok;
        let report = diff(&old, &new);
        let summary: Vec<(String, String, Verdict)> = report
            .changes
            .iter()
            .filter(|c| !matches!(c.kind, ChangeKind::TypeRemoved | ChangeKind::TypeAdded))
            .map(|c| (c.location.clone(), c.detail.clone(), c.verdict))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "POST /op (query limit)".to_owned(),
                    "parameter added, optional `integer`".to_owned(),
                    Compatible
                ),
                (
                    "POST /op (path id)".to_owned(),
                    "type `string` -> `integer`".to_owned(),
                    Breaking
                ),
                (
                    "POST /op (request body)".to_owned(),
                    "type `Req` -> `Loose`".to_owned(),
                    Breaking
                ),
                (
                    "POST /op".to_owned(),
                    "success status 200 -> 202".to_owned(),
                    Breaking
                ),
            ]
        );
    }

    #[test]
    fn report_prints_a_changelog_section() {
        let old = json!({ "Resp": obj(json!({ "kind": { "type": "string", "enum": ["a"] } }), &[]),
                          "Req": obj(json!({}), &[]) });
        let new = json!({ "Resp": obj(json!({ "kind": { "type": "string", "enum": ["a", "b"] },
                                              "extra": { "type": "string" } }), &[]),
                          "Req": obj(json!({}), &[]) });
        let mut new = spec(new);
        new["info"]["version"] = json!("v1.1.0");
        let text = diff(&spec(old), &new).to_string();
        assert_eq!(
            text,
            "## API contract v1.0.0 -> v1.1.0\n\n\
             1 breaking and 1 compatible changes for users of the crate \
             (`cargo run -p reducto-codegen -- diff OLD NEW`).\n\n\
             ### Breaking\n\n\
             - `Resp.kind`: enum value `b` added (response; breaking)\n\n\
             ### Compatible\n\n\
             - `Resp.extra`: field added, optional `string` (response; compatible)\n"
        );
    }
}
