//! The kinds of change an API makes between versions, as named mutations of
//! an OpenAPI 3.1 document.
//!
//! "Regenerate when the API changes" must never break on a spec that only
//! adds things. The `reducto-evolution-check` workspace member applies every
//! mutation in [`ALL`] (but the ones in [`PENDING_FIXES`]) to the current
//! `openapi.yaml`, generates with the same [`crate::generate`] and
//! [`crate::Config::reducto`] as the `reducto` crate, compiles the result
//! under the workspace's lints and decodes responses that use the new parts.
//!
//! Each mutation is a plain function over the JSON tree that returns how
//! many places it changed (as [`crate::rewrite`] does), so a mutation that
//! finds nothing to change in a newer spec shows up as a `0` in the check's
//! report instead of silently proving nothing. Mutations only add: they
//! never remove or retype anything, so every value the original spec
//! describes is still described by the evolved one.
//!
//! Names the mutations add all start with `evolved` (`evolved_note`,
//! `EvolvedDetail`, `/evolved/...`), so they never collide with the spec's.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// One kind of change a newer API version brings.
pub struct Mutation {
    /// Short name, used in the check's report.
    pub name: &'static str,
    /// The real-world API change it models.
    pub models: &'static str,
    /// The mutation itself: returns the number of places changed.
    pub apply: fn(&mut Value) -> usize,
}

/// Every mutation, in the order [`evolve`] applies them (new schemas first,
/// so the later mutations decorate them too).
pub const ALL: &[Mutation] = &[
    Mutation {
        name: "new_operation",
        models: "a release adds an endpoint (POST /evolved/{job-id}/annotate) whose schemas \
                 have every awkward feature FastAPI and hand-written specs produce: two inline \
                 enums titled `Status`, a `default` on a union, a `pattern`, Rust keywords and \
                 dashes in property names, a recursive schema, 3.1 `type` arrays and both \
                 `exclusiveMinimum` forms",
        apply: new_operation,
    },
    Mutation {
        name: "new_enum_values",
        models: "a release adds a value to an enum: a job status, a job type, a block type, \
                 an OCR mode (every string and integer enum gains one)",
        apply: new_enum_values,
    },
    Mutation {
        name: "new_optional_field_everywhere",
        models: "a release adds one optional, nullable field to every object schema, request \
                 and response alike (the most common API change there is)",
        apply: new_optional_field_everywhere,
    },
    Mutation {
        name: "new_optional_fields_of_every_shape",
        models: "a release adds optional fields of every shape to the operations' request and \
                 response bodies: nullable, arrays of nullable items, maps of unions, \
                 date-times, nested objects",
        apply: new_optional_fields_of_every_shape,
    },
    Mutation {
        name: "new_integer_const_fields",
        models: "a release adds an integer `const` property (v1.12.20's `ChartUsage.num_charts`)",
        apply: new_integer_const_fields,
    },
    Mutation {
        name: "new_integer_enum_fields",
        models: "a release adds an integer `enum` property (a level, a version number)",
        apply: new_integer_enum_fields,
    },
    Mutation {
        name: "rich_descriptions",
        models: "descriptions rewritten as documentation pages: Markdown headings, lists, \
                 tables, links, inline HTML, generics in prose and indented blocks",
        apply: rich_descriptions,
    },
    Mutation {
        name: "code_fences_in_descriptions",
        models: "descriptions gain code examples in fenced blocks (```python, bare ``` and ~~~)",
        apply: code_fences_in_descriptions,
    },
    Mutation {
        name: "deprecations_and_extensions",
        models: "a release deprecates an operation, schemas and fields, and adds vendor \
                 extensions (`x-...`) at every level of the document",
        apply: deprecations_and_extensions,
    },
];

/// Mutations whose generated code needs a fix that is in progress in
/// [`crate::rewrite`] (by the "codegen" engineer): `(mutation, fix it waits
/// for)`. [`evolve`] skips them; once the fix is merged the entry is removed
/// and the evolution check covers the mutation. An entry must never stay
/// here once its fix has landed: `reducto-evolution-check`'s tests fail when
/// a pending mutation changes nothing in the spec, and reviewers empty this
/// list after each merge.
pub const PENDING_FIXES: &[(&str, &str)] = &[];

/// Whether `name` is waiting for a fix listed in [`PENDING_FIXES`].
pub fn is_pending(name: &str) -> bool {
    PENDING_FIXES.iter().any(|(pending, _)| *pending == name)
}

/// Applies every mutation of [`ALL`] that is not [`PENDING_FIXES`] and
/// returns `(name, places changed)` for each one applied.
pub fn evolve(doc: &mut Value) -> Vec<(&'static str, usize)> {
    ALL.iter()
        .filter(|m| !is_pending(m.name))
        .map(|m| (m.name, (m.apply)(doc)))
        .collect()
}

// ---------------------------------------------------------------------------
// Finding places

/// Keys whose values are data, not schemas: never walked into.
const DATA_KEYS: &[&str] = &["example", "examples", "default", "const", "enum"];

/// Calls `f` on every JSON object of the document that is not example or
/// default data (schemas, operations, parameters alike).
fn for_each_object(v: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if !DATA_KEYS.contains(&key.as_str()) {
                    for_each_object(child, f);
                }
            }
            f(map);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| for_each_object(i, f)),
        _ => {}
    }
}

/// `(method, operation)` of every operation.
fn operations_mut(doc: &mut Value) -> Vec<&mut Map<String, Value>> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| {
            item.iter_mut()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(|(_, op)| op.as_object_mut())
        })
        .collect()
}

/// Names of the component schemas that are operations' JSON request or
/// success-response bodies, directly or as variants of a body union
/// (`oneOf [SyncParseConfig, AsyncParseConfig]`).
pub fn body_schemas(doc: &Value) -> BTreeSet<String> {
    fn refs_of(schema: &Value, out: &mut BTreeSet<String>) {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            out.insert(name.to_owned());
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for variant in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                refs_of(variant, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut doc = doc.clone();
    for op in operations_mut(&mut doc) {
        let bodies = op
            .get("requestBody")
            .into_iter()
            .chain(
                op.get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|r| r.iter())
                    .filter(|(status, _)| status.starts_with('2'))
                    .map(|(_, response)| response),
            )
            .filter_map(|body| body.pointer("/content/application~1json/schema"));
        for schema in bodies {
            refs_of(schema, &mut out);
        }
    }
    out
}

/// The object component schemas (those with `properties`), by name.
fn object_schemas(doc: &mut Value) -> Vec<(String, &mut Map<String, Value>)> {
    doc.pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|schemas| schemas.iter_mut())
        .filter_map(|(name, schema)| {
            let schema = schema.as_object_mut()?;
            schema
                .get("properties")
                .is_some_and(Value::is_object)
                .then(|| (name.clone(), schema))
        })
        .collect()
}

/// Adds `properties.name = schema` unless the property exists; returns 1 if added.
fn add_property(schema: &mut Map<String, Value>, name: &str, property: Value) -> usize {
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return 0;
    };
    if properties.contains_key(name) {
        return 0;
    }
    properties.insert(name.to_owned(), property);
    1
}

/// Adds a component schema unless one of that name exists; returns 1 if added.
fn add_component(doc: &mut Value, name: &str, schema: Value) -> usize {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return 0;
    };
    if schemas.contains_key(name) {
        return 0;
    }
    schemas.insert(name.to_owned(), schema);
    1
}

// ---------------------------------------------------------------------------
// The mutations

/// The string every string enum gains: a space and a capital, as Reducto's
/// block types have (`"Page Number"`).
pub const NEW_ENUM_VALUE: &str = "Added Later";

/// Adds a new operation, `POST /evolved/{job-id}/annotate`
/// (`annotate_evolved_post`), with the schemas `EvolvedAnnotateRequest`,
/// `EvolvedAnnotateResponse` and the recursive `EvolvedNode`.
pub fn new_operation(doc: &mut Value) -> usize {
    const PATH: &str = "/evolved/{job-id}/annotate";
    if doc.pointer("/paths").is_none() {
        return 0;
    }
    let paths = doc["paths"].as_object_mut().expect("paths is an object");
    if paths.contains_key(PATH) {
        return 0;
    }
    paths.insert(
        PATH.to_owned(),
        json!({ "post": {
            "summary": "Annotate",
            "description": "Annotates a finished job's blocks.",
            "operationId": "annotate_evolved_post",
            "parameters": [
                { "name": "job-id", "in": "path", "required": true,
                  "schema": { "type": "string", "title": "Job-Id" } },
                { "name": "max-items", "in": "query", "required": false,
                  "schema": { "type": "integer", "exclusiveMinimum": 0, "title": "Max-Items" } },
            ],
            "requestBody": { "required": true, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/EvolvedAnnotateRequest" } } } },
            "responses": {
                "200": { "description": "Successful Response", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/EvolvedAnnotateResponse" } } } },
                "422": { "description": "Validation Error", "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/HTTPValidationError" } } } },
            },
            "security": [{ "SkippableHTTPBearer": [] }],
        }}),
    );
    let node = json!({
        "title": "EvolvedNode", "type": "object", "required": ["label"],
        "description": "A node of an annotation tree.",
        "properties": {
            "label": { "type": "string", "title": "Label" },
            "children": { "type": "array", "title": "Children",
                          "items": { "$ref": "#/components/schemas/EvolvedNode" } },
            "parent": { "anyOf": [{ "$ref": "#/components/schemas/EvolvedNode" },
                                  { "type": "null" }], "title": "Parent" },
        },
    });
    let request = json!({
        "title": "EvolvedAnnotateRequest", "type": "object", "required": ["status", "type"],
        "properties": {
            "status": { "title": "Status", "type": "string", "enum": ["draft", "final"],
                        "description": "The annotation's own status." },
            "type": { "type": "string", "title": "Type" },
            "ref": { "type": "string", "title": "Ref", "pattern": "^[a-z]+-[0-9]+$" },
            "self": { "type": "boolean", "title": "Self" },
            "async": { "type": "boolean", "title": "Async" },
            "match": { "type": ["string", "null"], "title": "Match" },
            "x-request-id": { "type": "string", "title": "X-Request-Id" },
            "mode": {
                "anyOf": [{ "type": "string", "enum": ["auto", "manual"] },
                          { "type": "integer", "minimum": 1 }],
                "title": "Mode", "default": "auto",
            },
            "threshold": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1,
                           "title": "Threshold" },
            "legacy_threshold": { "type": "number", "minimum": 0, "exclusiveMinimum": true,
                                  "title": "Legacy Threshold" },
            "labels": { "type": ["array", "null"], "items": { "type": "string" },
                        "title": "Labels" },
            "tree": { "$ref": "#/components/schemas/EvolvedNode" },
        },
    });
    let response = json!({
        "title": "EvolvedAnnotateResponse", "type": "object", "required": ["job_id", "status"],
        "properties": {
            "job_id": { "type": "string", "title": "Job Id" },
            "status": { "title": "Status", "type": "string",
                        "enum": ["Queued", "Annotated", "Rejected"] },
            "annotations": { "type": "array", "title": "Annotations",
                             "items": { "$ref": "#/components/schemas/EvolvedNode" } },
            "created_at": { "type": "string", "format": "date-time", "title": "Created At" },
            "score": { "type": ["number", "null"], "title": "Score" },
        },
    });
    1 + add_component(doc, "EvolvedNode", node)
        + add_component(doc, "EvolvedAnnotateRequest", request)
        + add_component(doc, "EvolvedAnnotateResponse", response)
}

/// The value every integer enum gains.
pub const NEW_INTEGER_ENUM_VALUE: i64 = 99;

/// Appends [`NEW_ENUM_VALUE`] to every string `enum`, and
/// [`NEW_INTEGER_ENUM_VALUE`] to every integer `enum`.
pub fn new_enum_values(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_object(doc, &mut |map| {
        let Some(Value::Array(values)) = map.get_mut("enum") else {
            return;
        };
        let added = if values.iter().any(Value::is_string) {
            json!(NEW_ENUM_VALUE)
        } else if values.iter().any(Value::is_i64) {
            json!(NEW_INTEGER_ENUM_VALUE)
        } else {
            return;
        };
        if !values.contains(&added) {
            values.push(added);
            n += 1;
        }
    });
    n
}

/// Adds `evolved_note: string | null` to every object component schema.
pub fn new_optional_field_everywhere(doc: &mut Value) -> usize {
    object_schemas(doc)
        .into_iter()
        .map(|(_, schema)| {
            add_property(
                schema,
                "evolved_note",
                json!({ "anyOf": [{ "type": "string" }, { "type": "null" }],
                        "title": "Evolved Note", "description": "Added later." }),
            )
        })
        .sum()
}

/// The fields [`new_optional_fields_of_every_shape`] adds, by name.
pub fn fields_of_every_shape() -> Vec<(&'static str, Value)> {
    vec![
        (
            "evolved_ref",
            json!({ "anyOf": [{ "$ref": "#/components/schemas/EvolvedDetail" },
                              { "type": "null" }], "title": "Evolved Ref" }),
        ),
        (
            "evolved_scores",
            json!({ "type": "array", "title": "Evolved Scores",
                    "items": { "anyOf": [{ "type": "number" }, { "type": "null" }] } }),
        ),
        (
            "evolved_map",
            json!({ "type": "object", "title": "Evolved Map",
                    "additionalProperties": { "anyOf": [
                        { "type": "string" }, { "type": "integer" },
                        { "$ref": "#/components/schemas/EvolvedDetail" } ] } }),
        ),
        (
            "evolved_at",
            json!({ "anyOf": [{ "type": "string", "format": "date-time" }, { "type": "null" }],
                    "title": "Evolved At" }),
        ),
        (
            "evolved_nested",
            json!({ "type": "object", "title": "Evolved Nested",
                    "properties": {
                        "label": { "type": "string", "title": "Label" },
                        "inner": { "type": "object", "title": "Inner",
                                   "properties": { "depth": { "type": "integer" } } } } }),
        ),
    ]
}

/// Adds the fields of [`fields_of_every_shape`] to every body schema
/// ([`body_schemas`]), and the component `EvolvedDetail` they reference.
pub fn new_optional_fields_of_every_shape(doc: &mut Value) -> usize {
    let bodies = body_schemas(doc);
    let fields = fields_of_every_shape();
    let mut n = 0;
    for (name, schema) in object_schemas(doc) {
        if bodies.contains(&name) {
            for (field, property) in &fields {
                n += add_property(schema, field, property.clone());
            }
        }
    }
    if n > 0 {
        n += add_component(
            doc,
            "EvolvedDetail",
            json!({ "title": "EvolvedDetail", "type": "object", "required": ["kind"],
                    "properties": { "kind": { "type": "string", "title": "Kind" },
                                    "weight": { "type": "number", "title": "Weight" } } }),
        );
    }
    n
}

/// Adds `evolved_version: {type: integer, const: 2}` to every body schema.
pub fn new_integer_const_fields(doc: &mut Value) -> usize {
    add_to_bodies(
        doc,
        "evolved_version",
        json!({ "type": "integer", "const": 2, "title": "Evolved Version" }),
    )
}

/// Adds `evolved_level: {type: integer, enum: [1, 2, 3]}` to every body schema.
pub fn new_integer_enum_fields(doc: &mut Value) -> usize {
    add_to_bodies(
        doc,
        "evolved_level",
        json!({ "type": "integer", "enum": [1, 2, 3], "title": "Evolved Level" }),
    )
}

fn add_to_bodies(doc: &mut Value, field: &str, property: Value) -> usize {
    let bodies = body_schemas(doc);
    object_schemas(doc)
        .into_iter()
        .filter(|(name, _)| bodies.contains(name))
        .map(|(_, schema)| add_property(schema, field, property.clone()))
        .sum()
}

/// The Markdown [`rich_descriptions`] appends: everything rustdoc reads
/// specially except code fences (see [`code_fences_in_descriptions`]).
pub const RICH_MARKDOWN: &str = "\n\n## Details\n\n\
    * **Bold**, _italic_, `code`, [a link](https://docs.reducto.ai) and [Brackets] that are \
    not links, a footnote[^1].\n\
    * HTML: <b>bold</b>, a <br> break, an unclosed <details> and a Vec<String> in prose; \
    a & b < c > d.\n\
    * A table:\n\n\
    | key | value |\n|---|---|\n| a | 1 |\n\n\
    Indented under a list item:\n\n    \
    let x = parse(document)?;\n    \
    assert!(x.is_ok());\n\n\
    \tA tab-indented line.\n\n\
    > A quote with `code`.\n\n\
    [^1]: The footnote.";

/// Appends [`RICH_MARKDOWN`] to the description of every operation, every
/// component schema and every property of a component schema.
pub fn rich_descriptions(doc: &mut Value) -> usize {
    append_to_descriptions(doc, RICH_MARKDOWN)
}

/// The code examples [`code_fences_in_descriptions`] appends.
pub const CODE_FENCES: &str = "\n\nExample:\n\n```python\nresult = client.parse.run(\
    document_url=url)\nprint(result.job_id)\n```\n\nA bare fence:\n\n```\ncurl -X POST \
    https://platform.reducto.ai/parse\n```\n\n~~~\nnot rust either\n~~~\n";

/// Appends [`CODE_FENCES`] to the descriptions [`rich_descriptions`] touches.
pub fn code_fences_in_descriptions(doc: &mut Value) -> usize {
    append_to_descriptions(doc, CODE_FENCES)
}

fn append_to_descriptions(doc: &mut Value, text: &str) -> usize {
    fn append(map: &mut Map<String, Value>, text: &str) -> usize {
        let current = map
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("Described later.");
        if current.ends_with(text) {
            return 0;
        }
        let described = format!("{current}{text}");
        map.insert("description".into(), Value::String(described));
        1
    }
    let mut n = 0;
    for op in operations_mut(doc) {
        n += append(op, text);
    }
    for (_, schema) in object_schemas(doc) {
        n += append(schema, text);
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            for property in properties.values_mut().filter_map(Value::as_object_mut) {
                // A bare `$ref` takes no siblings in OpenAPI 3.0.
                if !property.contains_key("$ref") {
                    n += append(property, text);
                }
            }
        }
    }
    n
}

/// Marks the first operation, the first object component schema and the
/// first property of every object component schema deprecated, and adds
/// an `x-evolved` vendor extension to the document, its info, every path
/// item, operation, parameter, response and component schema.
pub fn deprecations_and_extensions(doc: &mut Value) -> usize {
    fn extend(map: &mut Map<String, Value>) -> usize {
        if map.contains_key("x-evolved") {
            return 0;
        }
        map.insert(
            "x-evolved".into(),
            json!({ "since": "next", "internal": false }),
        );
        1
    }
    let mut n = 0;
    if let Some(root) = doc.as_object_mut() {
        n += extend(root);
    }
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        n += extend(info);
    }
    for item in doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|p| p.values_mut())
        .filter_map(Value::as_object_mut)
    {
        n += extend(item);
    }
    for (i, op) in operations_mut(doc).into_iter().enumerate() {
        n += extend(op);
        if i == 0 && op.insert("deprecated".into(), Value::Bool(true)).is_none() {
            n += 1;
        }
        for parameter in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            n += extend(parameter);
        }
        for response in op
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.values_mut())
            .filter_map(Value::as_object_mut)
        {
            n += extend(response);
        }
    }
    for (i, (_, schema)) in object_schemas(doc).into_iter().enumerate() {
        n += extend(schema);
        if i == 0
            && schema
                .insert("deprecated".into(), Value::Bool(true))
                .is_none()
        {
            n += 1;
        }
        if let Some(first) = schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .and_then(|p| p.values_mut().next())
            .and_then(Value::as_object_mut)
        {
            if !first.contains_key("$ref")
                && first
                    .insert("deprecated".into(), Value::Bool(true))
                    .is_none()
            {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-operation document: `POST /parse` (body `oneOf [Sync, Async]`,
    /// answers `Parsed`) and `GET /job` answering `Job`; `Block` is nested.
    fn doc() -> Value {
        let body =
            |schema: Value| json!({ "content": { "application/json": { "schema": schema } } });
        json!({
            "openapi": "3.1.0", "info": { "title": "t", "version": "1" },
            "paths": {
                "/parse": { "post": {
                    "operationId": "parse",
                    "requestBody": body(json!({ "oneOf": [
                        { "$ref": "#/components/schemas/Sync" },
                        { "$ref": "#/components/schemas/Async" } ] })),
                    "responses": { "200": body(json!({ "$ref": "#/components/schemas/Parsed" })),
                                   "422": body(json!({ "$ref": "#/components/schemas/Error" })) },
                } },
                "/job": { "get": {
                    "operationId": "job", "description": "Gets a job.",
                    "parameters": [{ "name": "id", "in": "query", "schema": { "type": "string" } }],
                    "responses": { "200": body(json!({ "$ref": "#/components/schemas/Job" })) },
                } },
            },
            "components": { "schemas": {
                "Sync": { "type": "object", "properties": { "url": { "type": "string" } } },
                "Async": { "type": "object", "properties": { "url": { "type": "string" } } },
                "Parsed": { "type": "object", "properties": {
                    "block": { "$ref": "#/components/schemas/Block" } } },
                "Block": { "type": "object", "properties": {
                    "type": { "type": "string", "enum": ["Text", "Table"],
                              "default": "Text", "examples": [{ "enum": ["x"] }] } } },
                "Job": { "type": "object", "properties": {
                    "level": { "type": "integer", "enum": [1, 3] } } },
                "Error": { "type": "object", "properties": { "detail": { "type": "string" } } },
                "Scalar": { "type": "string", "enum": ["a"] },
            } },
        })
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    #[test]
    fn every_mutation_is_named_once_and_pending_ones_exist() {
        let names: BTreeSet<&str> = ALL.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), ALL.len(), "a mutation name is used twice");
        for (pending, why) in PENDING_FIXES {
            assert!(names.contains(pending), "{pending} is not a mutation");
            assert!(!why.is_empty());
        }
    }

    #[test]
    fn body_schemas_are_request_and_success_response_roots() {
        let names = body_schemas(&doc());
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["Async", "Job", "Parsed", "Sync"]
        );
    }

    #[test]
    fn new_operation_adds_path_and_schemas_once() {
        let mut d = doc();
        assert_eq!(new_operation(&mut d), 4);
        let op = &d["paths"]["/evolved/{job-id}/annotate"]["post"];
        assert_eq!(op["operationId"], "annotate_evolved_post");
        let request = schema(&d, "EvolvedAnnotateRequest");
        let response = schema(&d, "EvolvedAnnotateResponse");
        // Two inline enums titled Status, with different values.
        assert_eq!(request["properties"]["status"]["title"], "Status");
        assert_eq!(response["properties"]["status"]["title"], "Status");
        assert_ne!(
            request["properties"]["status"]["enum"],
            response["properties"]["status"]["enum"]
        );
        for key in ["type", "ref", "self", "async", "match", "x-request-id"] {
            assert!(request["properties"].get(key).is_some(), "{key}");
        }
        assert_eq!(
            schema(&d, "EvolvedNode")["properties"]["children"]["items"]["$ref"],
            "#/components/schemas/EvolvedNode"
        );
        assert!(body_schemas(&d).contains("EvolvedAnnotateRequest"));
        assert_eq!(new_operation(&mut d), 0, "applied once");
    }

    #[test]
    fn every_enum_gains_a_value_but_data_is_left_alone() {
        let mut d = doc();
        assert_eq!(new_enum_values(&mut d), 3);
        assert_eq!(
            schema(&d, "Block")["properties"]["type"]["enum"],
            json!(["Text", "Table", NEW_ENUM_VALUE])
        );
        assert_eq!(
            schema(&d, "Job")["properties"]["level"]["enum"],
            json!([1, 3, NEW_INTEGER_ENUM_VALUE])
        );
        assert_eq!(schema(&d, "Scalar")["enum"], json!(["a", NEW_ENUM_VALUE]));
        // Examples are data, not schemas.
        assert_eq!(
            schema(&d, "Block")["properties"]["type"]["examples"],
            json!([{ "enum": ["x"] }])
        );
        assert_eq!(new_enum_values(&mut d), 0, "applied once");
    }

    #[test]
    fn every_object_schema_gains_one_nullable_field() {
        let mut d = doc();
        assert_eq!(new_optional_field_everywhere(&mut d), 6);
        assert_eq!(
            schema(&d, "Block")["properties"]["evolved_note"]["anyOf"][1],
            json!({ "type": "null" })
        );
        assert!(schema(&d, "Scalar").get("properties").is_none());
        assert_eq!(new_optional_field_everywhere(&mut d), 0);
    }

    #[test]
    fn body_schemas_gain_fields_of_every_shape() {
        let mut d = doc();
        let per_body = fields_of_every_shape().len();
        assert_eq!(new_optional_fields_of_every_shape(&mut d), 4 * per_body + 1);
        for body in ["Sync", "Async", "Parsed", "Job"] {
            for (field, _) in fields_of_every_shape() {
                assert!(
                    schema(&d, body)["properties"].get(field).is_some(),
                    "{body}.{field}"
                );
            }
        }
        // Nested and error schemas are not bodies.
        assert!(schema(&d, "Block")["properties"]
            .get("evolved_map")
            .is_none());
        assert!(schema(&d, "Error")["properties"]
            .get("evolved_map")
            .is_none());
        assert_eq!(schema(&d, "EvolvedDetail")["required"], json!(["kind"]));
        assert_eq!(new_optional_fields_of_every_shape(&mut d), 0);
    }

    #[test]
    fn body_schemas_gain_an_integer_const() {
        let mut d = doc();
        assert_eq!(new_integer_const_fields(&mut d), 4);
        assert_eq!(
            schema(&d, "Job")["properties"]["evolved_version"],
            json!({ "type": "integer", "const": 2, "title": "Evolved Version" })
        );
    }

    #[test]
    fn body_schemas_gain_an_integer_enum() {
        let mut d = doc();
        assert_eq!(new_integer_enum_fields(&mut d), 4);
        assert_eq!(
            schema(&d, "Sync")["properties"]["evolved_level"]["enum"],
            json!([1, 2, 3])
        );
        assert!(schema(&d, "Block")["properties"]
            .get("evolved_level")
            .is_none());
    }

    #[test]
    fn descriptions_are_appended_to_not_replaced() {
        let mut d = doc();
        // 2 operations, 6 object schemas, 5 properties without a bare $ref.
        assert_eq!(rich_descriptions(&mut d), 13);
        assert_eq!(
            d["paths"]["/job"]["get"]["description"],
            format!("Gets a job.{RICH_MARKDOWN}")
        );
        assert!(schema(&d, "Parsed")["properties"]["block"]
            .get("description")
            .is_none());
        assert_eq!(rich_descriptions(&mut d), 0, "applied once");
        assert_eq!(code_fences_in_descriptions(&mut d), 13);
        let text = schema(&d, "Job")["description"].as_str().unwrap();
        assert!(text.contains("```python") && text.contains("\n```\ncurl"));
    }

    #[test]
    fn deprecations_and_extensions_reach_every_level() {
        let mut d = doc();
        let n = deprecations_and_extensions(&mut d);
        assert!(n > 0);
        assert!(d.get("x-evolved").is_some());
        assert!(d["info"].get("x-evolved").is_some());
        assert!(d["paths"]["/job"].get("x-evolved").is_some());
        assert!(d["paths"]["/job"]["get"]["parameters"][0]
            .get("x-evolved")
            .is_some());
        assert!(d["paths"]["/parse"]["post"]["responses"]["422"]
            .get("x-evolved")
            .is_some());
        assert_eq!(d["paths"]["/parse"]["post"]["deprecated"], true);
        assert_eq!(schema(&d, "Sync")["deprecated"], true);
        assert_eq!(schema(&d, "Job")["properties"]["level"]["deprecated"], true);
        assert_eq!(deprecations_and_extensions(&mut d), 0, "applied once");
    }

    #[test]
    fn evolve_applies_all_but_pending_and_only_adds() {
        let original = doc();
        let mut d = original.clone();
        let report = evolve(&mut d);
        let applied: Vec<&str> = report.iter().map(|(n, _)| *n).collect();
        let expected: Vec<&str> = ALL
            .iter()
            .map(|m| m.name)
            .filter(|n| !is_pending(n))
            .collect();
        assert_eq!(applied, expected);
        for (name, places) in &report {
            assert!(*places > 0, "{name} changed nothing");
        }
        // Every original schema's properties are still there, unchanged in type.
        for (name, s) in original["components"]["schemas"].as_object().unwrap() {
            for (prop, p) in s["properties"].as_object().into_iter().flatten() {
                let now = &d["components"]["schemas"][name]["properties"][prop];
                assert_eq!(now.get("type"), p.get("type"), "{name}.{prop}");
                assert_eq!(now.get("$ref"), p.get("$ref"), "{name}.{prop}");
            }
        }
    }
}
