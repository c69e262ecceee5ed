//! The named rewrites that bring Reducto's OpenAPI 3.1 document into the
//! OpenAPI 3.0.3 form that progenitor 0.15 reads, and around the places where
//! progenitor/typify would otherwise panic or silently generate wrong types.
//!
//! Each rewrite is a plain function over the JSON tree that returns how many
//! places it changed, so the build can report what it did and the unit tests
//! can pin each behaviour down on its own. [`ALL`] lists them in the order
//! [`normalize`] applies them; the order matters where noted.

use serde_json::{json, Map, Value};

/// One deliberate change to the spec.
pub struct Rewrite {
    /// Short name, used in build output and docs.
    pub name: &'static str,
    /// Why the rewrite exists.
    pub why: &'static str,
    /// The rewrite itself: returns the number of places changed.
    pub apply: fn(&mut Value) -> usize,
}

/// Every rewrite, in the order they are applied.
pub const ALL: &[Rewrite] = &[
    Rewrite {
        name: "drop_multipart_operations",
        why: "progenitor cannot generate multipart/form-data bodies (and panics on a body \
              with two media types); such operations (POST /upload) are written by hand",
        apply: drop_multipart_operations,
    },
    Rewrite {
        name: "error_responses_to_unexpected",
        why: "only success responses are generated; every error status (the documented 422 \
              included) reaches the handwritten layer as the raw response, so status, headers \
              and body are kept byte for byte and one code path classifies every error",
        apply: error_responses_to_unexpected,
    },
    Rewrite {
        name: "request_defaults_to_optional",
        why: "a non-required request property with a `default` is generated as a non-Option \
              field that is always serialised, so every request sends this spec version's \
              defaults the user never set (ParseOptions::new().pages(1, 2) sent seven \
              `settings` keys), pinning users to them and overriding account-dependent server \
              defaults; without the default it is an Option skipped when None, and the \
              default's value stays in the description",
        apply: request_defaults_to_optional,
    },
    Rewrite {
        name: "strip_nested_titles",
        why: "typify merges inline schemas that share a title (FastAPI titles every `status` \
              \"Status\") into one type with the wrong variants",
        apply: strip_nested_titles,
    },
    Rewrite {
        name: "name_types",
        why: "typify names what has no name from where it sits (`Variant0`, \
              `ParseParsePostBody` from the operation id, `ParseResponseResponseType`, \
              `ConfigV3AsyncConfig` from a Python module path); the one reviewed table \
              TYPE_NAMES gives those places the names a person would choose, as titles (or \
              component keys); run after strip_nested_titles, which would remove them",
        apply: name_types,
    },
    Rewrite {
        name: "const_to_enum",
        why: "OpenAPI 3.0 has no `const`; a one-value enum says the same",
        apply: const_to_enum,
    },
    Rewrite {
        name: "numeric_enums_to_plain_numbers",
        why: "typify generates an integer or number `enum` (and so an integer `const`, after \
              const_to_enum: ChartUsage.num_charts in v1.12.20) as a newtype with a \
              hand-written schemars 0.8 `JsonSchema` impl that does not compile against \
              schemars 1; a plain number that lists its values in the description compiles, \
              and also decodes the value a newer server may send instead of failing; run \
              after const_to_enum",
        apply: numeric_enums_to_plain_numbers,
    },
    Rewrite {
        name: "exclusive_bounds_to_3_0",
        why: "3.1 numeric exclusiveMinimum/exclusiveMaximum become minimum/maximum plus the 3.0 boolean",
        apply: exclusive_bounds_to_3_0,
    },
    Rewrite {
        name: "null_unions_to_nullable",
        why: "3.1 spells optional values `anyOf [X, {type: null}]`; 3.0 spells them `nullable: true` \
              (a nullable $ref needs `allOf: [$ref]`)",
        apply: null_unions_to_nullable,
    },
    Rewrite {
        name: "collapse_superset_any_of",
        why: "typify turns anyOf into a struct of flattened Options that keeps only the first \
              variant's fields; when one $ref variant has every property of the others, with the \
              same schemas, and the same required set (GET /job: EnhancedAsyncJobResponse over \
              AsyncJobResponse), the superset alone is the right type",
        apply: collapse_superset_any_of,
    },
    Rewrite {
        name: "any_of_to_one_of",
        why: "the remaining anyOf unions become oneOf, which typify generates as untagged (or \
              tagged) enums that decode each variant whole, tried in the spec's order",
        apply: any_of_to_one_of,
    },
    Rewrite {
        name: "drop_defaults_on_unions",
        why: "typify panics on a `default` attached to a oneOf/anyOf/allOf schema; the server \
              applies its own defaults, so the client never needs to send them",
        apply: drop_defaults_on_unions,
    },
    Rewrite {
        name: "drop_patterns",
        why: "a `pattern` makes the generated code depend on the regress crate and rejects \
              values a newer server may legitimately send; the server validates its own inputs",
        apply: drop_patterns,
    },
    Rewrite {
        name: "dedent_descriptions",
        why: "indented description lines become rustdoc code blocks and fail as doctests",
        apply: dedent_descriptions,
    },
    Rewrite {
        name: "fence_code_as_text",
        why: "a description's fenced code block (```, ```python, ~~~) becomes a rustdoc code \
              block, and an untagged one is compiled as a doctest of the generated module, \
              which fails; every fence is opened as ```text (run after dedent_descriptions, \
              which keeps indented lines from becoming code blocks)",
        apply: fence_code_as_text,
    },
    Rewrite {
        name: "openapi_version_3_0_3",
        why: "progenitor's parser (openapiv3) only accepts 3.0.x documents; run last, once the \
              document really is 3.0-shaped",
        apply: openapi_version_3_0_3,
    },
    Rewrite {
        name: "dedent_descriptions_inside_description_properties",
        why: "dedent_descriptions takes every `description` key for text and does not look \
              inside a property NAMED `description` (EditWidget.description): that property's \
              own indented description became a failing doctest",
        apply: dedent_descriptions_inside_description_properties,
    },
];

/// Applies every rewrite in [`ALL`] and returns `(name, places changed)` for each.
pub fn normalize(doc: &mut Value) -> Vec<(&'static str, usize)> {
    ALL.iter().map(|r| (r.name, (r.apply)(doc))).collect()
}

// ---------------------------------------------------------------------------
// Walking schemas

/// Calls `f` on every schema object in the document, children before parents
/// (so a rewrite of a parent sees already-rewritten children).
fn for_each_schema(doc: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, SchemaPlace)) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            walk_schema(schema, SchemaPlace::Component, f);
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            walk_operation_schemas(item, f);
        }
    }
}

/// Where a schema sits: a named component, or somewhere inside another schema
/// or an operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SchemaPlace {
    Component,
    Nested,
}

fn walk_operation_schemas(
    item: &mut Value,
    f: &mut dyn FnMut(&mut Map<String, Value>, SchemaPlace),
) {
    match item {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "schema" {
                    walk_schema(value, SchemaPlace::Nested, f);
                } else {
                    walk_operation_schemas(value, f);
                }
            }
        }
        Value::Array(items) => {
            for value in items {
                walk_operation_schemas(value, f);
            }
        }
        _ => {}
    }
}

fn walk_schema(
    schema: &mut Value,
    place: SchemaPlace,
    f: &mut dyn FnMut(&mut Map<String, Value>, SchemaPlace),
) {
    let Value::Object(map) = schema else { return };
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "properties" => {
                if let Value::Object(props) = child {
                    for prop in props.values_mut() {
                        walk_schema(prop, SchemaPlace::Nested, f);
                    }
                }
            }
            "items" | "additionalProperties" | "not" => walk_schema(child, SchemaPlace::Nested, f),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(variants) = child {
                    for variant in variants {
                        walk_schema(variant, SchemaPlace::Nested, f);
                    }
                }
            }
            _ => {}
        }
    }
    f(map, place);
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

fn is_empty_schema(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty())
}

// ---------------------------------------------------------------------------
// The rewrites

/// Removes operations whose request body offers `multipart/form-data`.
pub fn drop_multipart_operations(doc: &mut Value) -> usize {
    let mut dropped = 0;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return 0;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        item.retain(|_method, op| {
            let multipart = op
                .pointer("/requestBody/content/multipart~1form-data")
                .is_some();
            dropped += usize::from(multipart);
            !multipart
        });
    }
    // A path left with no operation would generate nothing; drop it too.
    paths.retain(|_, item| item.as_object().is_none_or(|m| !m.is_empty()));
    dropped
}

/// Removes every non-2xx response (and `default`) from every operation.
pub fn error_responses_to_unexpected(doc: &mut Value) -> usize {
    let mut n = 0;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return 0;
    };
    for item in paths.values_mut() {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                let before = responses.len();
                responses.retain(|code, _| code.starts_with('2'));
                n += before - responses.len();
            }
        }
    }
    n
}

/// For every schema reachable from a request body (through properties,
/// items, unions and `$ref`s to components), removes `default` from each
/// property that is not required and appends "Default: `x`." to its
/// description.
pub fn request_defaults_to_optional(doc: &mut Value) -> usize {
    // The component schemas request bodies reach, and the bodies' own
    // inline schemas (as pointers).
    let mut pending: Vec<String> = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.as_object().into_iter().flatten() {
            for (media, _) in op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                pending.push(format!(
                    "/paths/{}/{}/requestBody/content/{}/schema",
                    escape_pointer(path),
                    escape_pointer(method),
                    escape_pointer(media)
                ));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut n = 0;
    while let Some(pointer) = pending.pop() {
        if !seen.insert(pointer.clone()) {
            continue;
        }
        let Some(schema) = doc.pointer_mut(&pointer) else {
            continue;
        };
        n += drop_property_defaults(schema, &mut pending);
    }
    n
}

/// [`request_defaults_to_optional`] on one schema tree; pushes the pointers of
/// the components it references.
fn drop_property_defaults(schema: &mut Value, refs: &mut Vec<String>) -> usize {
    let Value::Object(map) = schema else { return 0 };
    let mut n = 0;
    if let Some(Value::String(r)) = map.get("$ref") {
        if let Some(name) = r.strip_prefix("#/components/schemas/") {
            refs.push(format!("/components/schemas/{name}"));
        }
    }
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if let (false, Value::Object(p)) = (required.contains(name), &mut *prop) {
                if let Some(default) = p.remove("default") {
                    let note = format!("Default: `{default}`.");
                    let text = match p.get("description").and_then(Value::as_str) {
                        Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
                        _ => note,
                    };
                    p.insert("description".into(), Value::String(text));
                    n += 1;
                }
            }
            n += drop_property_defaults(prop, refs);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            n += drop_property_defaults(child, refs);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(variants)) = map.get_mut(key) {
            for variant in variants {
                n += drop_property_defaults(variant, refs);
            }
        }
    }
    n
}

/// Removes `title` from every schema that is not a named component.
pub fn strip_nested_titles(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, place| {
        if place == SchemaPlace::Nested && schema.remove("title").is_some() {
            n += 1;
        }
    });
    n
}

/// THE reviewed table of names: JSON pointer into the published spec (3.1
/// form, before any other rewrite changes its shape) -> the name the
/// generated type or union variant gets. A pointer to a component schema
/// renames the component (and every `$ref` to it); any other pointer sets the
/// schema's `title`, which typify uses as the type's name or, for a member of
/// a union, as the variant's name. Pointers a spec lacks are skipped, so one
/// table serves every spec version.
pub const TYPE_NAMES: &[(&str, &str)] = &[
    // Python module paths in component keys.
    ("/components/schemas/config__v3__AsyncConfig", "AsyncConfig"),
    (
        "/components/schemas/config__v3__AsyncSplitConfig",
        "AsyncSplitConfig",
    ),
    (
        "/components/schemas/config__internal__AsyncConfig",
        "InternalAsyncConfig",
    ),
    (
        "/components/schemas/config__v2__AsyncSplitConfig",
        "V2AsyncSplitConfig",
    ),
    ("/components/schemas/Body_upload_upload_post", "UploadForm"),
    // Inline request and response bodies, otherwise named after the operation id.
    (
        "/paths/~1parse/post/requestBody/content/application~1json/schema",
        "ParseRequest",
    ),
    (
        "/paths/~1parse/post/responses/200/content/application~1json/schema",
        "ParseOutcome",
    ),
    (
        "/paths/~1extract/post/requestBody/content/application~1json/schema",
        "ExtractRequest",
    ),
    (
        "/paths/~1extract/post/responses/200/content/application~1json/schema",
        "ExtractOutcome",
    ),
    // Page ranges: one range (a `$ref`, so already `PageRange`), several
    // ranges, page numbers, sheet names.
    (
        "/components/schemas/Settings/properties/page_range/anyOf/1",
        "Ranges",
    ),
    (
        "/components/schemas/Settings/properties/page_range/anyOf/2",
        "Pages",
    ),
    (
        "/components/schemas/Settings/properties/page_range/anyOf/3",
        "SheetNames",
    ),
    (
        "/components/schemas/ExtractSettings/properties/page_range/anyOf/1",
        "Ranges",
    ),
    (
        "/components/schemas/ExtractSettings/properties/page_range/anyOf/2",
        "Pages",
    ),
    (
        "/components/schemas/ExtractSettings/properties/page_range/anyOf/3",
        "SheetNames",
    ),
    (
        "/components/schemas/ClassifyConfig/properties/page_range/anyOf/1",
        "Ranges",
    ),
    (
        "/components/schemas/ClassifyConfig/properties/page_range/anyOf/2",
        "Pages",
    ),
    // An extract result: one value in the user's schema, or a list of them.
    (
        "/components/schemas/V3ExtractResponse/properties/result/anyOf/0",
        "Value",
    ),
    (
        "/components/schemas/V3ExtractResponse/properties/result/anyOf/1",
        "List",
    ),
    // Result kinds (`response_type`), otherwise `XResponseResponseType`.
    (
        "/components/schemas/ParseResponse/properties/response_type",
        "ParseResponseKind",
    ),
    (
        "/components/schemas/ExtractResponse/properties/response_type",
        "ExtractResponseKind",
    ),
    (
        "/components/schemas/V3ExtractResponse/properties/response_type",
        "V3ExtractResponseKind",
    ),
    (
        "/components/schemas/SplitResponse/properties/response_type",
        "SplitResponseKind",
    ),
    (
        "/components/schemas/EditResponse/properties/response_type",
        "EditResponseKind",
    ),
    (
        "/components/schemas/PipelineResponse/properties/response_type",
        "PipelineResponseKind",
    ),
    (
        "/components/schemas/ClassifyResponse/properties/response_type",
        "ClassifyResponseKind",
    ),
    (
        "/components/schemas/ChartResponse/properties/response_type",
        "ChartResponseKind",
    ),
    // Other doubled words. A nullable union is hoisted into a component of
    // this name (typify ignores a title there).
    (
        "/components/schemas/ParseUsage/properties/usage_breakdown",
        "UsageBreakdown",
    ),
    // Confidence labels are the open enum `Confidence` (REDUCTO_OPEN_ENUMS).
];

/// Applies [`TYPE_NAMES`].
pub fn name_types(doc: &mut Value) -> usize {
    name_types_from(doc, TYPE_NAMES)
}

/// [`name_types`] with any table (the unit tests use their own).
pub fn name_types_from(doc: &mut Value, names: &[(&str, &str)]) -> usize {
    let mut n = 0;
    for (pointer, name) in names {
        let component = pointer
            .strip_prefix("/components/schemas/")
            .filter(|key| !key.contains('/'));
        if let Some(key) = component {
            let key = key.replace("~1", "/").replace("~0", "~");
            n += rename_component(doc, &key, name);
            continue;
        }
        if hoist_nullable_union(doc, pointer, name) {
            n += 1;
            continue;
        }
        let hoisted = json!({ "$ref": format!("#/components/schemas/{}", escape_pointer(name)) });
        if let Some(Value::Object(schema)) = doc.pointer_mut(pointer) {
            let already_hoisted = ["anyOf", "oneOf"].iter().any(|k| {
                schema
                    .get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|m| m.contains(&hoisted))
            });
            if !already_hoisted && schema.get("title").and_then(Value::as_str) != Some(name) {
                schema.insert("title".into(), Value::String((*name).to_owned()));
                n += 1;
            }
        }
    }
    n
}

/// A union with a `null` member at `pointer` (typify ignores a title there)
/// becomes the component `name` holding the other members, referenced as
/// `anyOf [$ref, null]`. False if there is no such union or `name` is taken.
fn hoist_nullable_union(doc: &mut Value, pointer: &str, name: &str) -> bool {
    let taken = doc
        .pointer(&format!("/components/schemas/{}", escape_pointer(name)))
        .is_some();
    let Some(Value::Object(schema)) = doc.pointer_mut(pointer) else {
        return false;
    };
    let Some(key) = ["anyOf", "oneOf"].into_iter().find(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|members| members.len() > 2 && members.iter().any(is_null_schema))
    }) else {
        return false;
    };
    if taken {
        return false;
    }
    let members: Vec<Value> = schema[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| !is_null_schema(m))
        .cloned()
        .collect();
    schema.remove("title");
    schema.insert(
        key.into(),
        json!([{ "$ref": format!("#/components/schemas/{}", escape_pointer(name)) },
               { "type": "null" }]),
    );
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(name.into(), json!({ key: members, "title": name }));
    }
    true
}

/// Renames component schema `from` to `to` and every `$ref` to it; nothing
/// if `from` is absent or `to` is taken.
fn rename_component(doc: &mut Value, from: &str, to: &str) -> usize {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return 0;
    };
    if schemas.contains_key(to) {
        return 0;
    }
    let Some(schema) = schemas.remove(from) else {
        return 0;
    };
    schemas.insert(to.to_owned(), schema);
    fn relink(v: &mut Value, old: &str, new: &str) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(r) if key == "$ref" && r == old => *r = new.to_owned(),
                        _ => relink(child, old, new),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| relink(i, old, new)),
            _ => {}
        }
    }
    relink(
        doc,
        &format!("#/components/schemas/{}", escape_pointer(from)),
        &format!("#/components/schemas/{}", escape_pointer(to)),
    );
    1
}

/// `const: v` becomes `enum: [v]`.
pub fn const_to_enum(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        if let Some(value) = schema.remove("const") {
            schema.insert("enum".into(), json!([value]));
            n += 1;
        }
    });
    n
}

/// An `integer` or `number` schema with an `enum` loses the `enum`; the
/// values it listed move to its description ("Always 1." / "One of: 1, 2.").
pub fn numeric_enums_to_plain_numbers(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        let numeric = matches!(
            schema.get("type").and_then(Value::as_str),
            Some("integer" | "number")
        );
        if !numeric {
            return;
        }
        let Some(Value::Array(values)) = schema.remove("enum") else {
            return;
        };
        let listed: Vec<String> = values.iter().map(Value::to_string).collect();
        let note = match listed.as_slice() {
            [only] => format!("Always {only}."),
            _ => format!("One of: {}.", listed.join(", ")),
        };
        let description = match schema.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
            _ => note,
        };
        schema.insert("description".into(), Value::String(description));
        n += 1;
    });
    n
}

/// Numeric `exclusiveMinimum: x` becomes `minimum: x, exclusiveMinimum: true`
/// (and likewise for the maximum).
pub fn exclusive_bounds_to_3_0(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        for (exclusive, inclusive) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if let Some(bound) = schema.get(exclusive).filter(|v| v.is_number()).cloned() {
                schema.insert(inclusive.into(), bound);
                schema.insert(exclusive.into(), Value::Bool(true));
                n += 1;
            }
        }
    });
    n
}

/// `anyOf`/`oneOf` with a `{type: null}` member becomes the other member(s)
/// marked `nullable: true`; `type: [T, "null"]` becomes `type: T, nullable`.
pub fn null_unions_to_nullable(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        // 3.1 type arrays.
        if let Some(Value::Array(types)) = schema.get("type") {
            let non_null: Vec<Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            if non_null.len() < types.len() && non_null.len() == 1 {
                schema.insert("type".into(), non_null[0].clone());
                schema.insert("nullable".into(), Value::Bool(true));
                n += 1;
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some(Value::Array(variants)) = schema.get(key) else {
                continue;
            };
            if !variants.iter().any(is_null_schema) {
                continue;
            }
            let rest: Vec<Value> = variants
                .iter()
                .filter(|v| !is_null_schema(v))
                .cloned()
                .collect();
            schema.remove(key);
            n += 1;
            match rest.as_slice() {
                // `anyOf [{}, null]`: any value at all, null included.
                [only] if is_empty_schema(only) => {}
                [only] if only.get("$ref").is_some() => {
                    schema.insert("allOf".into(), json!([only]));
                    schema.insert("nullable".into(), Value::Bool(true));
                }
                [Value::Object(only)] => {
                    // Inline the single variant; the outer keys (description,
                    // default, title) win over the variant's own.
                    for (k, v) in only {
                        schema.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    schema.insert("nullable".into(), Value::Bool(true));
                }
                _ => {
                    schema.insert(key.into(), Value::Array(rest));
                    schema.insert("nullable".into(), Value::Bool(true));
                }
            }
        }
    });
    n
}

/// The properties a component schema declares (name and schema, without
/// annotations), and its required set.
fn component_shape(doc: &Value, reference: &str) -> Option<(Map<String, Value>, Vec<String>)> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    let schema = doc.pointer(&format!("/components/schemas/{}", escape_pointer(name)))?;
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(name, prop)| (name.clone(), without_annotations(prop)))
                .collect()
        })
        .unwrap_or_default();
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    required.sort();
    Some((props, required))
}

/// A schema without the keywords that document it but do not change which
/// values it accepts, so two properties that differ only in wording compare
/// equal.
fn without_annotations(schema: &Value) -> Value {
    const ANNOTATIONS: &[&str] = &["title", "description", "examples", "example", "deprecated"];
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !ANNOTATIONS.contains(&key.as_str()))
                .map(|(key, value)| {
                    // Property names are data, not keywords: keep them all.
                    let value = if key == "properties" {
                        Value::Object(
                            value
                                .as_object()
                                .into_iter()
                                .flatten()
                                .map(|(k, v)| (k.clone(), without_annotations(v)))
                                .collect(),
                        )
                    } else {
                        without_annotations(value)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_annotations).collect()),
        other => other.clone(),
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Replaces `anyOf` of `$ref`s with the one variant that is a superset of all
/// the others: every property of theirs, with the same schema (annotations
/// aside), and the same required set.
pub fn collapse_superset_any_of(doc: &mut Value) -> usize {
    let snapshot = doc.clone();
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        let Some(Value::Array(variants)) = schema.get("anyOf") else {
            return;
        };
        let refs: Option<Vec<&str>> = variants
            .iter()
            .map(|v| v.get("$ref").and_then(Value::as_str))
            .collect();
        let Some(refs) = refs.filter(|r| r.len() >= 2) else {
            return;
        };
        let Some(shapes) = refs
            .iter()
            .map(|r| component_shape(&snapshot, r))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        // Every value of every variant must be a value of the superset: the
        // same required set, and each of the others' properties declared
        // with the same schema (property names alone are not enough:
        // Table/Figure/TextAgentic share `scope`, a different const in each).
        let superset = shapes.iter().position(|(props, required)| {
            shapes.iter().all(|(other_props, other_required)| {
                other_required == required
                    && other_props
                        .iter()
                        .all(|(name, schema)| props.get(name) == Some(schema))
            })
        });
        if let Some(i) = superset {
            let chosen = refs[i].to_owned();
            schema.remove("anyOf");
            if schema.is_empty() {
                schema.insert("$ref".into(), Value::String(chosen));
            } else {
                // Keep the siblings (nullable, description) next to the ref.
                schema.insert("allOf".into(), json!([{ "$ref": chosen }]));
            }
            n += 1;
        }
    });
    n
}

/// Renames every remaining `anyOf` to `oneOf`.
pub fn any_of_to_one_of(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        if let Some(variants) = schema.remove("anyOf") {
            if schema.contains_key("oneOf") {
                // Both present: keep the stricter one and say nothing more.
                return;
            }
            schema.insert("oneOf".into(), variants);
            n += 1;
        }
    });
    n
}

/// Removes `default` from composite (oneOf/anyOf/allOf) schemas.
pub fn drop_defaults_on_unions(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        let composite = ["oneOf", "anyOf", "allOf"]
            .iter()
            .any(|k| schema.contains_key(*k));
        if composite && schema.remove("default").is_some() {
            n += 1;
        }
    });
    n
}

/// Removes every `pattern`.
pub fn drop_patterns(doc: &mut Value) -> usize {
    let mut n = 0;
    for_each_schema(doc, &mut |schema, _| {
        if schema.remove("pattern").is_some() {
            n += 1;
        }
    });
    n
}

/// Strips leading whitespace from every line of every `description`, in
/// schemas, parameters and operations alike.
pub fn dedent_descriptions(doc: &mut Value) -> usize {
    fn walk(v: &mut Value, n: &mut usize) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "description" {
                        if let Value::String(text) = child {
                            let dedented = text
                                .lines()
                                .map(str::trim_start)
                                .collect::<Vec<_>>()
                                .join("\n");
                            if dedented != *text {
                                *text = dedented;
                                *n += 1;
                            }
                        }
                    } else {
                        walk(child, n);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, n)),
            _ => {}
        }
    }
    let mut n = 0;
    walk(doc, &mut n);
    n
}

/// Opens every fenced code block of every `description` as ```` ```text ````
/// (or `~~~text`), whatever its language tag; closing fences are kept.
pub fn fence_code_as_text(doc: &mut Value) -> usize {
    fn fence(text: &str) -> Option<String> {
        let mut open: Option<char> = None;
        let mut changed = false;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let trimmed = line.trim_start();
                let marker = ['`', '~']
                    .into_iter()
                    .find(|c| trimmed.starts_with(&c.to_string().repeat(3)));
                match (marker, open) {
                    (Some(c), None) => {
                        open = Some(c);
                        let opener = format!("{}text", c.to_string().repeat(3));
                        changed |= trimmed != opener;
                        opener
                    }
                    (Some(c), Some(o)) if c == o => {
                        open = None;
                        line.to_owned()
                    }
                    _ => line.to_owned(),
                }
            })
            .collect();
        changed.then(|| lines.join("\n"))
    }
    fn walk(v: &mut Value, n: &mut usize) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("description", Value::String(text)) => {
                            if let Some(fenced) = fence(text) {
                                *text = fenced;
                                *n += 1;
                            }
                        }
                        (_, child) => walk(child, n),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, n)),
            _ => {}
        }
    }
    let mut n = 0;
    walk(doc, &mut n);
    n
}

/// Sets `openapi: 3.0.3`.
pub fn openapi_version_3_0_3(doc: &mut Value) -> usize {
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") => 0,
        _ => {
            doc["openapi"] = Value::String("3.0.3".into());
            1
        }
    }
}

/// Dedents the descriptions [`dedent_descriptions`] cannot reach: those of
/// properties (and anything nested in properties) named `description`. A
/// `description` key is text when its value is a string and a property
/// schema to look inside when it is an object.
pub fn dedent_descriptions_inside_description_properties(doc: &mut Value) -> usize {
    fn walk(v: &mut Value, n: &mut usize) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(text) if key == "description" => {
                            let dedented = text
                                .lines()
                                .map(str::trim_start)
                                .collect::<Vec<_>>()
                                .join("\n");
                            if dedented != *text {
                                *text = dedented;
                                *n += 1;
                            }
                        }
                        _ => walk(child, n),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, n)),
            _ => {}
        }
    }
    let mut n = 0;
    walk(doc, &mut n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document with one component schema `S` and nothing else.
    fn component(schema: Value) -> Value {
        json!({ "openapi": "3.1.0", "paths": {}, "components": { "schemas": { "S": schema } } })
    }

    fn s(doc: &Value) -> &Value {
        &doc["components"]["schemas"]["S"]
    }

    #[test]
    fn multipart_operations_are_dropped_and_others_kept() {
        let mut doc = json!({ "paths": {
            "/upload": { "post": { "requestBody": { "content": {
                "multipart/form-data": {}, "application/json": {} } } } },
            "/parse": { "post": { "requestBody": { "content": { "application/json": {} } } } },
        }});
        assert_eq!(drop_multipart_operations(&mut doc), 1);
        assert!(doc["paths"].get("/upload").is_none());
        assert!(doc["paths"]["/parse"].get("post").is_some());
    }

    #[test]
    fn error_responses_removed_success_kept() {
        let mut doc = json!({ "paths": { "/jobs": {
            "parameters": [],
            "get": { "responses": { "200": {}, "422": {}, "default": {} } } } } });
        assert_eq!(error_responses_to_unexpected(&mut doc), 2);
        assert_eq!(
            doc["paths"]["/jobs"]["get"]["responses"],
            json!({ "200": {} })
        );
    }

    #[test]
    fn request_defaults_become_optional_and_response_defaults_stay() {
        let mut doc = json!({
            "paths": { "/parse": { "post": {
                "requestBody": { "content": { "application/json": { "schema": {
                    "anyOf": [{ "$ref": "#/components/schemas/Config" }] } } } },
                "responses": { "200": { "content": { "application/json": { "schema": {
                    "$ref": "#/components/schemas/Out" } } } } } } } },
            "components": { "schemas": {
                "Config": { "required": ["input"], "properties": {
                    "input": { "type": "string", "default": "x" },
                    "settings": { "$ref": "#/components/schemas/Settings" },
                    "list": { "type": "array", "items": { "properties": {
                        "deep": { "type": "integer", "default": 3 } } } } } },
                "Settings": { "properties": {
                    "ocr": { "type": "string", "enum": ["a", "b"], "default": "a",
                             "description": "The OCR." },
                    "back": { "$ref": "#/components/schemas/Config" } } },
                "Out": { "properties": { "flag": { "type": "boolean", "default": false } } },
            }},
        });
        assert_eq!(request_defaults_to_optional(&mut doc), 2);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Settings"]["properties"]["ocr"],
            json!({ "type": "string", "enum": ["a", "b"],
                    "description": "The OCR.\n\nDefault: `\"a\"`." })
        );
        assert_eq!(
            schemas["Config"]["properties"]["list"]["items"]["properties"]["deep"],
            json!({ "type": "integer", "description": "Default: `3`." })
        );
        // Required: must be sent anyway, its default is kept.
        assert_eq!(schemas["Config"]["properties"]["input"]["default"], "x");
        // Responses keep theirs (a missing field decodes to the default).
        assert_eq!(schemas["Out"]["properties"]["flag"]["default"], false);
        // Idempotent.
        assert_eq!(request_defaults_to_optional(&mut doc), 0);
    }

    #[test]
    fn nested_titles_go_component_titles_stay() {
        let mut doc = component(json!({
            "title": "S",
            "properties": { "status": { "title": "Status", "type": "string", "enum": ["A"] },
                            "items": { "type": "array", "items": { "title": "Item" } } }
        }));
        doc["paths"] = json!({ "/x": { "get": { "parameters": [
            { "name": "q", "schema": { "title": "Q", "type": "string" } } ] } } });
        assert_eq!(strip_nested_titles(&mut doc), 3);
        assert_eq!(s(&doc)["title"], "S");
        assert!(s(&doc)["properties"]["status"].get("title").is_none());
        assert!(s(&doc)["properties"]["items"]["items"]
            .get("title")
            .is_none());
        assert!(doc["paths"]["/x"]["get"]["parameters"][0]["schema"]
            .get("title")
            .is_none());
    }

    #[test]
    fn names_become_titles_and_components_are_renamed_with_their_refs() {
        let mut doc = json!({ "paths": {}, "components": { "schemas": {
            "config__v3__AsyncConfig": { "type": "object" },
            "Job": { "properties": {
                "async": { "$ref": "#/components/schemas/config__v3__AsyncConfig" },
                "range": { "anyOf": [{ "type": "integer" }, { "type": "string" }] } } },
        }}});
        let table = [
            ("/components/schemas/config__v3__AsyncConfig", "AsyncConfig"),
            ("/components/schemas/Job/properties/range/anyOf/1", "Name"),
            ("/components/schemas/Gone/properties/x", "Skipped"),
        ];
        assert_eq!(name_types_from(&mut doc, &table), 2);
        let schemas = &doc["components"]["schemas"];
        assert!(schemas.get("config__v3__AsyncConfig").is_none());
        assert_eq!(schemas["AsyncConfig"], json!({ "type": "object" }));
        assert_eq!(
            schemas["Job"]["properties"]["async"]["$ref"],
            "#/components/schemas/AsyncConfig"
        );
        assert_eq!(
            schemas["Job"]["properties"]["range"]["anyOf"][1]["title"],
            "Name"
        );
        assert_eq!(name_types_from(&mut doc, &table), 0, "idempotent");
    }

    #[test]
    fn a_named_nullable_union_becomes_a_component() {
        let mut doc = component(json!({ "properties": { "u": { "title": "U", "anyOf": [
            { "$ref": "#/components/schemas/A" }, { "$ref": "#/components/schemas/B" },
            { "type": "null" } ], "description": "d" } } }));
        let table = [("/components/schemas/S/properties/u", "Either")];
        assert_eq!(name_types_from(&mut doc, &table), 1);
        assert_eq!(
            s(&doc)["properties"]["u"],
            json!({ "anyOf": [{ "$ref": "#/components/schemas/Either" }, { "type": "null" }],
                    "description": "d" })
        );
        assert_eq!(
            doc["components"]["schemas"]["Either"],
            json!({ "anyOf": [{ "$ref": "#/components/schemas/A" },
                              { "$ref": "#/components/schemas/B" }], "title": "Either" })
        );
        assert_eq!(name_types_from(&mut doc, &table), 0, "idempotent");
    }

    #[test]
    fn const_becomes_single_value_enum() {
        let mut doc =
            component(json!({ "properties": { "type": { "type": "string", "const": "full" } } }));
        assert_eq!(const_to_enum(&mut doc), 1);
        assert_eq!(
            s(&doc)["properties"]["type"],
            json!({ "type": "string", "enum": ["full"] })
        );
    }

    #[test]
    fn numeric_enums_become_plain_numbers_with_values_described() {
        let mut doc = component(json!({ "properties": {
            "num_charts": { "type": "integer", "const": 1, "default": 1 },
            "level": { "type": "number", "enum": [1, 2.5], "description": "How much." },
            "mode": { "type": "string", "enum": ["a", "b"] },
        }}));
        const_to_enum(&mut doc);
        assert_eq!(numeric_enums_to_plain_numbers(&mut doc), 2);
        let p = &s(&doc)["properties"];
        assert_eq!(
            p["num_charts"],
            json!({ "type": "integer", "default": 1, "description": "Always 1." })
        );
        assert_eq!(
            p["level"],
            json!({ "type": "number", "description": "How much.\n\nOne of: 1, 2.5." })
        );
        // String enums are typify's to generate (and the open enums' to hoist).
        assert_eq!(p["mode"], json!({ "type": "string", "enum": ["a", "b"] }));
    }

    #[test]
    fn numeric_exclusive_bounds_become_boolean_form() {
        let mut doc =
            component(json!({ "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5 }));
        assert_eq!(exclusive_bounds_to_3_0(&mut doc), 2);
        assert_eq!(
            s(&doc),
            &json!({ "type": "number", "minimum": 0, "exclusiveMinimum": true,
                     "maximum": 1.5, "exclusiveMaximum": true })
        );
        // Already 3.0-shaped: untouched.
        assert_eq!(exclusive_bounds_to_3_0(&mut doc), 0);
    }

    #[test]
    fn null_unions_become_nullable_in_each_shape() {
        let mut doc = component(json!({ "properties": {
            "inline": { "anyOf": [{ "type": "string" }, { "type": "null" }], "description": "d" },
            "reference": { "anyOf": [{ "$ref": "#/components/schemas/T" }, { "type": "null" }] },
            "anything": { "anyOf": [{}, { "type": "null" }] },
            "several": { "anyOf": [{ "type": "string" }, { "type": "integer" }, { "type": "null" }] },
            "typearray": { "type": ["integer", "null"] },
            "plain": { "anyOf": [{ "type": "string" }, { "type": "integer" }] },
        }}));
        assert_eq!(null_unions_to_nullable(&mut doc), 5);
        let p = &s(&doc)["properties"];
        assert_eq!(
            p["inline"],
            json!({ "type": "string", "nullable": true, "description": "d" })
        );
        assert_eq!(
            p["reference"],
            json!({ "allOf": [{ "$ref": "#/components/schemas/T" }], "nullable": true })
        );
        assert_eq!(p["anything"], json!({}));
        assert_eq!(
            p["several"],
            json!({ "anyOf": [{ "type": "string" }, { "type": "integer" }], "nullable": true })
        );
        assert_eq!(
            p["typearray"],
            json!({ "type": "integer", "nullable": true })
        );
        assert_eq!(
            p["plain"],
            json!({ "anyOf": [{ "type": "string" }, { "type": "integer" }] })
        );
    }

    #[test]
    fn superset_any_of_collapses_only_with_equal_required_sets() {
        let mut doc = json!({ "paths": {}, "components": { "schemas": {
            "Small": { "properties": { "status": {} }, "required": ["status"] },
            "Big": { "properties": { "status": {}, "type": {} }, "required": ["status"] },
            "Strict": { "properties": { "status": {}, "type": {} }, "required": ["status", "type"] },
            "Job": { "anyOf": [{ "$ref": "#/components/schemas/Small" },
                               { "$ref": "#/components/schemas/Big" }] },
            "Either": { "anyOf": [{ "$ref": "#/components/schemas/Strict" },
                                  { "$ref": "#/components/schemas/Small" }] },
        }}});
        assert_eq!(collapse_superset_any_of(&mut doc), 1);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Job"],
            json!({ "$ref": "#/components/schemas/Big" })
        );
        // Strict requires more than Small: a Small value would not decode as
        // Strict, so both variants must stay.
        assert!(schemas["Either"].get("anyOf").is_some());
    }

    #[test]
    fn superset_keeps_siblings_through_all_of() {
        let mut doc = json!({ "paths": {}, "components": { "schemas": {
            "A": { "properties": { "x": {} } },
            "B": { "properties": { "x": {}, "y": {} } },
            "S": { "anyOf": [{ "$ref": "#/components/schemas/A" },
                             { "$ref": "#/components/schemas/B" }], "description": "d" },
        }}});
        assert_eq!(collapse_superset_any_of(&mut doc), 1);
        assert_eq!(
            s(&doc),
            &json!({ "description": "d", "allOf": [{ "$ref": "#/components/schemas/B" }] })
        );
    }

    /// Enhance.agentic in Reducto's spec: three variants told apart by a
    /// one-value `scope`. Figure has every property name of the others, but
    /// a `{scope: "table"}` is not a FigureAgentic, so nothing collapses.
    #[test]
    fn superset_needs_the_same_property_schemas_not_only_names() {
        let mut doc = json!({ "paths": {}, "components": { "schemas": {
            "TableAgentic": { "properties": {
                "scope": { "type": "string", "enum": ["table"] }, "prompt": { "type": "string" } },
                "required": ["scope"] },
            "FigureAgentic": { "properties": {
                "scope": { "type": "string", "enum": ["figure"] }, "prompt": { "type": "string" },
                "return_overlays": { "type": "boolean" } },
                "required": ["scope"] },
            "Enhance": { "properties": { "agentic": { "type": "array", "items": { "anyOf": [
                { "$ref": "#/components/schemas/TableAgentic" },
                { "$ref": "#/components/schemas/FigureAgentic" } ] } } } },
        }}});
        assert_eq!(collapse_superset_any_of(&mut doc), 0);
        let items = &doc["components"]["schemas"]["Enhance"]["properties"]["agentic"]["items"];
        assert_eq!(items["anyOf"].as_array().map(Vec::len), Some(2));
    }

    /// Wording is not shape: properties that differ only in their title or
    /// description still let the superset stand for both.
    #[test]
    fn superset_ignores_annotations_when_comparing_properties() {
        let mut doc = json!({ "paths": {}, "components": { "schemas": {
            "Small": { "properties": {
                "status": { "type": "string", "enum": ["A"], "description": "old words" } },
                "required": ["status"] },
            "Big": { "properties": {
                "status": { "type": "string", "enum": ["A"], "title": "Status",
                            "description": "new words" },
                "extra": { "type": "integer" } },
                "required": ["status"] },
            "S": { "anyOf": [{ "$ref": "#/components/schemas/Small" },
                             { "$ref": "#/components/schemas/Big" }] },
        }}});
        assert_eq!(collapse_superset_any_of(&mut doc), 1);
        assert_eq!(s(&doc), &json!({ "$ref": "#/components/schemas/Big" }));
    }

    #[test]
    fn any_of_renamed_to_one_of() {
        let mut doc = component(json!({ "anyOf": [{ "type": "string" }, { "type": "integer" }] }));
        assert_eq!(any_of_to_one_of(&mut doc), 1);
        assert_eq!(
            s(&doc),
            &json!({ "oneOf": [{ "type": "string" }, { "type": "integer" }] })
        );
    }

    #[test]
    fn defaults_dropped_only_on_composites() {
        let mut doc = component(json!({ "properties": {
            "u": { "oneOf": [{ "type": "string" }], "default": "x" },
            "a": { "allOf": [{ "$ref": "#/components/schemas/T" }], "default": {} },
            "k": { "type": "boolean", "default": false },
        }}));
        assert_eq!(drop_defaults_on_unions(&mut doc), 2);
        assert_eq!(s(&doc)["properties"]["k"]["default"], false);
    }

    #[test]
    fn patterns_dropped() {
        let mut doc = component(json!({ "type": "string", "pattern": "^a+$" }));
        assert_eq!(drop_patterns(&mut doc), 1);
        assert_eq!(s(&doc), &json!({ "type": "string" }));
    }

    #[test]
    fn descriptions_dedented_everywhere() {
        let mut doc = component(json!({ "description": "List:\n    1. one\n    2. two" }));
        doc["paths"] = json!({ "/x": { "get": { "description": "a\n  b" } } });
        assert_eq!(dedent_descriptions(&mut doc), 2);
        assert_eq!(s(&doc)["description"], "List:\n1. one\n2. two");
        assert_eq!(doc["paths"]["/x"]["get"]["description"], "a\nb");
    }

    #[test]
    fn every_code_fence_opens_as_text() {
        let mut doc = component(json!({
            "description": "Use it:\n```\nlet x = 1;\n```\nor\n```python\nprint(1)\n```\nend",
            "properties": { "p": { "description": "~~~json\n{}\n~~~" },
                            "q": { "description": "no code, `inline` only" } },
        }));
        doc["paths"] = json!({ "/x": { "get": { "description": "```rust\nfn main() {}\n```" } } });
        assert_eq!(fence_code_as_text(&mut doc), 3);
        assert_eq!(
            s(&doc)["description"],
            "Use it:\n```text\nlet x = 1;\n```\nor\n```text\nprint(1)\n```\nend"
        );
        assert_eq!(
            s(&doc)["properties"]["p"]["description"],
            "~~~text\n{}\n~~~"
        );
        assert_eq!(
            doc["paths"]["/x"]["get"]["description"],
            "```text\nfn main() {}\n```"
        );
        assert_eq!(fence_code_as_text(&mut doc), 0, "idempotent");
    }

    /// Descriptions full of examples end up as doc comments with no block
    /// rustdoc would compile: indented lines are dedented, fences are text.
    #[test]
    fn no_description_can_become_a_doctest() {
        let mut doc = component(json!({
            "description": "Example:\n\n    client.parse()\n\n```\nassert!(false);\n```" }));
        normalize(&mut doc);
        let text = s(&doc)["description"].as_str().unwrap();
        let mut in_block = false;
        for line in text.lines() {
            if line.starts_with("```") {
                assert!(in_block || line == "```text", "{line:?} opens a doctest");
                in_block = !in_block;
            } else {
                assert!(
                    in_block || !line.starts_with("    "),
                    "{line:?} is indented code"
                );
            }
        }
    }

    #[test]
    fn version_set_once() {
        let mut doc = json!({ "openapi": "3.1.0" });
        assert_eq!(openapi_version_3_0_3(&mut doc), 1);
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(openapi_version_3_0_3(&mut doc), 0);
    }

    #[test]
    fn normalize_is_idempotent() {
        let mut doc = component(json!({
            "properties": { "x": { "title": "X", "anyOf": [{ "type": "string" }, { "type": "null" }] } }
        }));
        normalize(&mut doc);
        let once = doc.clone();
        let second: usize = normalize(&mut doc).iter().map(|(_, n)| n).sum();
        assert_eq!(second, 0);
        assert_eq!(doc, once);
    }

    /// EditWidget in Reducto's spec has a property named `description`.
    #[test]
    fn descriptions_inside_a_property_named_description_are_dedented() {
        let mut doc = component(json!({ "description": "top", "properties": {
            "description": { "type": "object", "description": "Its own:\n    indented",
                             "properties": { "deeper": { "description": "x\n    y" },
                                             "description": { "description": "z\n  w" } } },
            "other": { "description": "fine" },
        }}));
        assert_eq!(
            dedent_descriptions(&mut doc),
            0,
            "the gap this rewrite fills"
        );
        assert_eq!(
            dedent_descriptions_inside_description_properties(&mut doc),
            3
        );
        let named = &s(&doc)["properties"]["description"];
        assert_eq!(named["description"], "Its own:\nindented");
        assert_eq!(named["properties"]["deeper"]["description"], "x\ny");
        assert_eq!(named["properties"]["description"]["description"], "z\nw");
        assert_eq!(
            dedent_descriptions_inside_description_properties(&mut doc),
            0
        );
    }
}
