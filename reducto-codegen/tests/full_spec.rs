//! The generator on real input: Reducto's whole published spec (the
//! v1.11.57 fixture), the `openapi.yaml` the `reducto` crate builds from, and
//! a "newer" spec with the kinds of change Reducto ships between versions.
//!
//! The assertions are properties read against the spec itself (every
//! operation has a method, unions keep the spec's order, enums keep the
//! spec's values), never counts of one spec version: replacing
//! `openapi.yaml` with a newer spec leaves them green unless the API really
//! broke what the handwritten layer uses, and a failure names what broke.
//!
//! Besides "it generates", these tests pin down the shapes that progenitor
//! and typify get silently wrong without the rewrites in `rewrite.rs`: each
//! assertion below fails if the rewrite that fixes its shape is removed.

use std::collections::BTreeSet;

use quote::ToTokens;
use reducto_codegen::{rewrite, Config, Generated};
use serde_json::{json, Value};

const FULL_SPEC: &str = include_str!("../fixtures/reducto-openapi-v1.11.57.json");
const CRATE_SPEC: &str = include_str!("../../openapi.yaml");

fn crate_config() -> Config {
    Config::reducto("crate::types", "crate::transport::CallContext")
}

/// The generated code, parsed.
struct Code {
    generated: Generated,
    file: syn::File,
}

impl Code {
    fn generate(spec: &str, config: &Config) -> Code {
        let generated = reducto_codegen::generate(spec, config).expect("the spec generates");
        let file = syn::parse_file(&generated.code).expect("the generated code parses");
        Code { generated, file }
    }

    /// The items of `pub mod types`.
    fn types(&self) -> &[syn::Item] {
        self.file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| &c.1[..]),
                _ => None,
            })
            .expect("a `types` module")
    }

    fn find_struct(&self, name: &str) -> Option<&syn::ItemStruct> {
        self.types().iter().find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
    }

    fn structure(&self, name: &str) -> &syn::ItemStruct {
        self.find_struct(name)
            .unwrap_or_else(|| panic!("no struct {name} in the generated types"))
    }

    fn enumeration(&self, name: &str) -> &syn::ItemEnum {
        self.types()
            .iter()
            .find_map(|item| match item {
                syn::Item::Enum(e) if e.ident == name => Some(e),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no enum {name} in the generated types"))
    }

    fn type_names(&self) -> BTreeSet<String> {
        self.types()
            .iter()
            .filter_map(|item| match item {
                syn::Item::Struct(s) => Some(s.ident.to_string()),
                syn::Item::Enum(e) => Some(e.ident.to_string()),
                syn::Item::Type(t) => Some(t.ident.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The type of `structure.field`, as compact text (`Option<Vec<T>>`).
    fn field_type(&self, structure: &str, field: &str) -> String {
        let s = self.structure(structure);
        let f = s
            .fields
            .iter()
            .find(|f| f.ident.as_ref().is_some_and(|i| i == field))
            .unwrap_or_else(|| panic!("{structure} has no field {field}"));
        compact(&f.ty)
    }

    /// The return type of the generated `Client` method `name`.
    fn method_output(&self, name: &str) -> Option<String> {
        self.file.items.iter().find_map(|item| match item {
            syn::Item::Impl(imp) if compact(&imp.self_ty) == "Client" => {
                imp.items.iter().find_map(|i| match i {
                    syn::ImplItem::Fn(f) if f.sig.ident == name => match &f.sig.output {
                        syn::ReturnType::Type(_, ty) => Some(compact(ty)),
                        syn::ReturnType::Default => Some("()".into()),
                    },
                    _ => None,
                })
            }
            _ => None,
        })
    }

    fn operations(&self) -> BTreeSet<(String, String)> {
        self.generated.operations.iter().cloned().collect()
    }
}

/// Tokens as text without spaces, and without the `::std::option::` style
/// prefixes, so `::std::option::Option<::std::vec::Vec<T>>` reads `Option<Vec<T>>`.
fn compact(tokens: &impl ToTokens) -> String {
    let text: String = tokens
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.replace("::std::option::", "")
        .replace("::std::vec::", "")
        .replace("::std::string::", "")
}

/// `(method, path)` of every operation in a spec given as JSON or YAML.
fn spec_operations(spec: &str) -> BTreeSet<(String, String)> {
    let doc = reducto_codegen::parse_spec(spec).unwrap();
    reducto_codegen::subset::operations(&doc)
        .into_iter()
        .collect()
}

fn upload() -> (String, String) {
    ("post".into(), "/upload".into())
}

// ---------------------------------------------------------------------------
// What is generated

/// Every operation of the spec, read from the spec itself, has a generated
/// client method; only multipart ones (POST /upload) are left to
/// handwritten code. A failure names the operations without a method.
#[test]
fn every_operation_of_the_spec_has_a_method() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let doc = reducto_codegen::parse_spec(spec).unwrap();
        let missing = reducto_codegen::operations_without_method(&doc, &code.generated.code);
        assert!(
            missing.is_empty(),
            "operations without a method: {missing:?}"
        );
        let mut expected = spec_operations(spec);
        assert!(expected.remove(&upload()), "POST /upload is in the spec");
        assert_eq!(code.operations(), expected);
        assert_eq!(code.method_output("upload_upload_post"), None);
    }
}

#[test]
fn every_rewrite_runs_and_the_ones_this_spec_needs_change_something() {
    let names: Vec<&str> = rewrite::ALL.iter().map(|r| r.name).collect();
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let report: Vec<&str> = code.generated.rewrites.iter().map(|(n, _)| *n).collect();
        assert_eq!(report, names);
    }
    // The fixed v1.11.57 fixture, not openapi.yaml: each of these fixes
    // something Reducto's spec really has, so none is dead code.
    let code = Code::generate(FULL_SPEC, &crate_config());
    let changed = |name: &str| {
        code.generated
            .rewrites
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, places)| *places)
            .unwrap()
    };
    for needed in [
        "drop_multipart_operations",
        "error_responses_to_unexpected",
        "strip_nested_titles",
        "const_to_enum",
        "null_unions_to_nullable",
        "collapse_superset_any_of",
        "any_of_to_one_of",
        // Request bodies' union defaults go with request_defaults_to_optional
        // first; drop_defaults_on_unions guards response schemas.
        "request_defaults_to_optional",
        "openapi_version_3_0_3",
    ] {
        assert!(changed(needed) > 0, "{needed} changed nothing");
    }
}

// ---------------------------------------------------------------------------
// The shapes progenitor gets wrong without the rewrites

/// `GET /job` answers `anyOf [AsyncJobResponse, EnhancedAsyncJobResponse]`.
/// Left alone, typify makes a struct of two flattened Options that keeps only
/// the first variant's fields; collapsed, it is the superset type itself.
#[test]
fn job_response_is_the_enhanced_job_type() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let output = code.method_output("retrieve_parse_job_job_id_get").unwrap();
        assert_eq!(
            output,
            "Result<ResponseValue<types::EnhancedAsyncJobResponse>,Error<()>>"
        );
        for field in [
            "status",
            "progress",
            "reason",
            "result",
            "type_",
            "num_pages",
        ] {
            code.field_type("EnhancedAsyncJobResponse", field);
        }
        let names = code.type_names();
        assert!(
            !names.iter().any(|n| n.starts_with("RetrieveParseJob")),
            "an ad-hoc /job response type was generated: {names:?}"
        );
    }
}

/// No anyOf becomes a struct of `#[serde(flatten)] Option<_>` fields: unions
/// are untagged enums that decode each variant whole.
#[test]
fn no_optional_field_is_flattened() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let mut flattened = Vec::new();
        for item in code.types() {
            let syn::Item::Struct(s) = item else { continue };
            for field in &s.fields {
                let is_flatten = field
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("serde") && compact(&a.meta).contains("flatten"));
                if is_flatten && compact(&field.ty).starts_with("Option<") {
                    flattened.push(format!("{}.{}", s.ident, compact(&field.ident)));
                }
            }
        }
        assert!(flattened.is_empty(), "flattened Options: {flattened:?}");
        // The job result is the untagged union the handwritten layer reads.
        let result = code.enumeration("EnhancedAsyncJobResponseResult");
        assert!(result
            .attrs
            .iter()
            .any(|a| compact(&a.meta) == "serde(untagged)"));
        assert_eq!(
            code.field_type("EnhancedAsyncJobResponse", "result"),
            "Option<EnhancedAsyncJobResponseResult>"
        );
    }
}

/// A union's variants, told apart by trying each in turn, must be tried in
/// the spec's order (the parse response before the others that would also
/// accept it). Every untagged enum whose variants are named types is a
/// union of the spec with the same variants in the same order; a failure
/// names the enum.
#[test]
fn untagged_unions_keep_the_spec_variant_order() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let unions = spec_ref_unions(&reducto_codegen::parse_spec(spec).unwrap());
        let named = code.type_names();
        let mut checked = 0;
        for item in code.types() {
            let syn::Item::Enum(e) = item else { continue };
            if !e
                .attrs
                .iter()
                .any(|a| compact(&a.meta) == "serde(untagged)")
            {
                continue;
            }
            // Only unions of named types: `Variant(Variant)` for each.
            let variants: Option<Vec<String>> = e
                .variants
                .iter()
                .map(|v| match &v.fields {
                    syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                        let ty = compact(&f.unnamed[0].ty);
                        (v.ident == ty && named.contains(&ty)).then(|| ident_key(&ty))
                    }
                    _ => None,
                })
                .collect();
            let Some(variants) = variants else { continue };
            assert!(
                unions.contains(&variants),
                "{}: variants {variants:?} are not a union of the spec in this order",
                e.ident
            );
            checked += 1;
        }
        assert!(
            checked > 0,
            "no untagged union of named types was generated"
        );
        // The unions the handwritten layer matches on are among them.
        for name in ["EnhancedAsyncJobResponseResult", "ParseResponseResult"] {
            code.enumeration(name);
        }
    }
}

/// The `$ref` unions (anyOf/oneOf) of a spec, each as its list of schema
/// names in the spec's order (`null` variants left out), compared as
/// [`ident_key`]s.
fn spec_ref_unions(doc: &Value) -> BTreeSet<Vec<String>> {
    fn walk(v: &Value, out: &mut BTreeSet<Vec<String>>) {
        match v {
            Value::Object(map) => {
                for key in ["anyOf", "oneOf"] {
                    let Some(Value::Array(variants)) = map.get(key) else {
                        continue;
                    };
                    let names: Option<Vec<String>> = variants
                        .iter()
                        .filter(|v| v.get("type") != Some(&json!("null")))
                        .map(|v| {
                            v.get("$ref")
                                .and_then(Value::as_str)
                                .and_then(|r| r.rsplit('/').next())
                                .map(ident_key)
                        })
                        .collect();
                    if let Some(names) = names.filter(|n| n.len() > 1) {
                        out.insert(names);
                    }
                }
                map.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(doc, &mut out);
    out
}

/// A schema or type name with case and separators ignored, so the spec's
/// `Body_upload_upload_post` matches the generated `BodyUploadUploadPost`.
fn ident_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The string values the spec lists at `schema.property` (`enum`, or a `const`).
fn spec_enum_values(spec: &str, schema: &str, property: &str) -> BTreeSet<String> {
    let doc = reducto_codegen::parse_spec(spec).unwrap();
    spec_enum_values_in(&doc, schema, property)
        .unwrap_or_else(|| panic!("the spec has no {schema}.{property}"))
}

/// The values of the enum at `schema`'s `property`, which may be a path
/// into it (`page_billing_breakdown/additionalProperties/items`), looking
/// through 3.1 nullable unions on the way; `None` if there is no such place.
/// An empty property names a component schema that is itself the enum.
fn spec_enum_values_in(doc: &Value, schema: &str, property: &str) -> Option<BTreeSet<String>> {
    fn places<'a>(at: &'a Value, path: &[&str], found: &mut Vec<&'a Value>) {
        let members = at
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        match path.split_first() {
            None => found.push(at),
            Some((first, rest)) => {
                if let Some(child) = at.get(*first) {
                    places(child, rest, found);
                }
            }
        }
        for member in members {
            places(member, path, found);
        }
    }
    let component = doc.pointer(&format!("/components/schemas/{schema}"))?;
    let mut path = Vec::new();
    if !property.is_empty() {
        path.push("properties");
        path.extend(property.split('/'));
    }
    let mut found = Vec::new();
    places(component, &path, &mut found);
    if found.is_empty() {
        return None;
    }
    let listed: Vec<&Value> = found
        .iter()
        .filter_map(|s| s.get("enum").and_then(Value::as_array))
        .flatten()
        .collect();
    assert!(!listed.is_empty(), "{schema}.{property} is not an enum");
    Some(
        listed
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}

/// The wire values of a generated string enum: each variant's
/// `serde(rename)`, or its name when it has none.
fn wire_values(e: &syn::ItemEnum) -> BTreeSet<String> {
    e.variants
        .iter()
        .map(|v| {
            v.attrs
                .iter()
                .find_map(|a| {
                    let meta = compact(&a.meta);
                    meta.strip_prefix("serde(rename=\"")
                        .and_then(|m| m.strip_suffix("\")"))
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| v.ident.to_string())
        })
        .collect()
}

#[test]
fn status_and_type_fields_use_the_open_enums() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        for structure in ["AsyncJobResponse", "EnhancedAsyncJobResponse", "SingleJob"] {
            assert_eq!(
                code.field_type(structure, "status"),
                "crate::types::JobStatus",
                "{structure}.status"
            );
        }
        assert_eq!(
            code.field_type("SingleJob", "type_"),
            "crate::types::JobType"
        );
        assert_eq!(
            code.field_type("EnhancedAsyncJobResponse", "type_"),
            "Option<crate::types::JobType>"
        );
        assert_eq!(
            code.field_type("ParseBlock", "type_"),
            "crate::types::BlockType"
        );
        // Replaced, so not generated as closed enums.
        let names = code.type_names();
        for replaced in ["JobStatus", "JobType", "BlockType"] {
            assert!(!names.contains(replaced), "{replaced} was generated");
        }
        // Each open enum knows the union of the values its locations
        // document, read from the spec.
        for open in &code.generated.open_enums {
            if open.values.is_empty() {
                // Not in this (older) spec at all, e.g. v1.12.20's ErrorCode.
                continue;
            }
            let entry = reducto_codegen::REDUCTO_OPEN_ENUMS
                .iter()
                .find(|entry| entry.name == open.name)
                .unwrap();
            // A location may be missing only where the spec has no such
            // property (an older spec: v1.11.57 has no deep-extract
            // confidence), never because it stopped being an enum.
            let doc = reducto_codegen::parse_spec(spec).unwrap();
            for (schema, property) in entry.locations {
                let place = format!("{schema}.{property}");
                if open.missing.contains(&place) {
                    assert!(
                        spec_enum_values_in(&doc, schema, property).is_none(),
                        "{}: {place} reported missing but the spec has it",
                        open.name
                    );
                }
            }
            assert!(
                open.missing.iter().all(|m| !m.ends_with("(not an enum)")),
                "{}: {:?}",
                open.name,
                open.missing
            );
            let documented: BTreeSet<String> = entry
                .locations
                .iter()
                .filter_map(|(schema, property)| spec_enum_values_in(&doc, schema, property))
                .flatten()
                .collect();
            let generated: BTreeSet<String> = open.values.iter().cloned().collect();
            assert_eq!(generated, documented, "{}", open.name);
        }
    }
}

/// FastAPI titles every `status` property "Status"; typify merges inline
/// enums that share a title into one type with the wrong variants. Without
/// the open-enum replacement (so the generator's own enums show), `/jobs`'s
/// seven statuses and `/job`'s four must stay two distinct enums.
#[test]
fn titled_status_enums_are_not_merged() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &Config::default());
        let listed = code.field_type("SingleJob", "status");
        let single = code.field_type("AsyncJobResponse", "status");
        assert_ne!(listed, single, "one enum for both status sets");
        // Each keeps exactly its own location's values.
        for (structure, generated) in [("SingleJob", &listed), ("AsyncJobResponse", &single)] {
            assert_eq!(
                wire_values(code.enumeration(generated)),
                spec_enum_values(spec, structure, "status"),
                "{structure}.status"
            );
        }
        assert!(!code.type_names().contains("Status"));
    }
}

/// `Enhance.agentic` items are `anyOf [TableAgentic, FigureAgentic,
/// TextAgentic]`, told apart by a one-value `scope`. Figure has every
/// property name of the others, but only its own scope: collapsing to it
/// made table and text enhancement impossible to request.
#[test]
fn agentic_enhancements_keep_all_three_scopes() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        let agentic = code.field_type("Enhance", "agentic");
        let item = agentic
            .strip_prefix("Vec<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or_else(|| panic!("agentic is {agentic}"));
        let variants: Vec<String> = code
            .enumeration(item)
            .variants
            .iter()
            .map(|v| v.ident.to_string())
            .collect();
        let doc = reducto_codegen::parse_spec(spec).unwrap();
        let in_spec: Vec<String> = doc["components"]["schemas"]["Enhance"]["properties"]["agentic"]
            ["items"]["anyOf"]
            .as_array()
            .expect("Enhance.agentic items are a union")
            .iter()
            .filter_map(|v| v["$ref"].as_str()?.rsplit('/').next().map(str::to_owned))
            .collect();
        assert!(in_spec.len() > 1, "{in_spec:?}");
        assert_eq!(
            variants, in_spec,
            "one variant per scope, in the spec's order"
        );
    }
}

/// `const` (3.1) is invisible to progenitor: unconverted, every one-value
/// discriminator (`type: "full"`, `scope: "table"`) would be any string.
#[test]
fn constants_become_one_value_enums() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        for (structure, field, enumeration, value) in [
            ("FullResult", "type_", "FullResultType", "Full"),
            ("UrlResult", "type_", "UrlResultType", "Url"),
            ("TableAgentic", "scope", "TableAgenticScope", "Table"),
        ] {
            assert_eq!(code.field_type(structure, field), enumeration);
            let variants: Vec<String> = code
                .enumeration(enumeration)
                .variants
                .iter()
                .map(|v| v.ident.to_string())
                .collect();
            assert_eq!(variants, [value]);
        }
    }
}

/// A `default` on a union makes typify generate a required field with a
/// default the client would always send (`size: 50`, `page_range: {}`); the
/// server applies its own defaults, so such fields stay optional. Patterns
/// would make the code depend on `regress`.
#[test]
fn union_defaults_and_patterns_leave_no_trace() {
    for spec in [FULL_SPEC, CRATE_SPEC] {
        let code = Code::generate(spec, &crate_config());
        assert_eq!(
            code.field_type("SplitLargeTables", "size"),
            "Option<SplitLargeTablesSize>"
        );
        assert!(!code.generated.code.contains("regress"));
    }
    let code = Code::generate(FULL_SPEC, &crate_config());
    assert_eq!(
        code.field_type("ProcessingOptions", "page_range"),
        "Option<ProcessingOptionsPageRange>"
    );
}

// ---------------------------------------------------------------------------
// A newer spec

/// The published spec with the kinds of change a new Reducto version brings:
/// a new operation, a new job status, new properties.
fn newer_spec() -> String {
    let mut doc: Value = serde_json::from_str(FULL_SPEC).unwrap();
    doc["info"]["version"] = json!("v1.12.0");
    doc["paths"]["/translate"] = json!({ "post": {
        "summary": "Translate",
        "operationId": "translate_translate_post",
        "requestBody": { "required": true, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/TranslateConfig" } } } },
        "responses": {
            "200": { "description": "Successful Response", "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/TranslateResponse" } } } },
            "422": { "description": "Validation Error", "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/HTTPValidationError" } } } }
        },
        "security": [{ "SkippableHTTPBearer": [] }]
    }});
    let schemas = &mut doc["components"]["schemas"];
    schemas["TranslateConfig"] = json!({
        "title": "TranslateConfig", "type": "object", "required": ["input", "language"],
        "properties": {
            "input": { "type": "string", "title": "Input" },
            "language": { "type": "string", "title": "Language" },
            "preserve_layout": { "anyOf": [{ "type": "boolean" }, { "type": "null" }],
                                 "title": "Preserve Layout", "default": null }
        }
    });
    schemas["TranslateResponse"] = json!({
        "title": "TranslateResponse", "type": "object", "required": ["job_id", "document_url"],
        "properties": {
            "job_id": { "type": "string", "title": "Job Id" },
            "document_url": { "type": "string", "title": "Document Url" },
            "usage": { "anyOf": [{ "$ref": "#/components/schemas/ParseUsage" }, { "type": "null" }] }
        }
    });
    schemas["SingleJob"]["properties"]["status"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("Archived"));
    schemas["SingleJob"]["properties"]["type"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("Translate"));
    schemas["ParseResponse"]["properties"]["cost_center"] = json!({
        "anyOf": [{ "type": "string" }, { "type": "null" }], "title": "Cost Center"
    });
    schemas["EnhancedAsyncJobResponse"]["properties"]["priority"] = json!({
        "anyOf": [{ "type": "integer" }, { "type": "null" }], "title": "Priority"
    });
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn newer_spec_still_generates() {
    let code = Code::generate(&newer_spec(), &crate_config());
    let doc = reducto_codegen::parse_spec(&newer_spec()).unwrap();
    let missing = reducto_codegen::operations_without_method(&doc, &code.generated.code);
    assert!(
        missing.is_empty(),
        "operations without a method: {missing:?}"
    );
    assert!(code
        .operations()
        .contains(&("post".into(), "/translate".into())));
    assert_eq!(
        code.method_output("translate_translate_post").unwrap(),
        "Result<ResponseValue<types::TranslateResponse>,Error<()>>"
    );
    let status = &code.generated.open_enums[0];
    assert!(status.values.iter().any(|v| v == "Archived"));
    let job_type = &code.generated.open_enums[1];
    assert!(job_type.values.iter().any(|v| v == "Translate"));
    assert_eq!(
        code.field_type("SingleJob", "status"),
        "crate::types::JobStatus"
    );
    assert_eq!(
        code.field_type("ParseResponse", "cost_center"),
        "Option<String>"
    );
    // The superset only grew: /job still answers the enhanced job.
    assert_eq!(
        code.method_output("retrieve_parse_job_job_id_get").unwrap(),
        "Result<ResponseValue<types::EnhancedAsyncJobResponse>,Error<()>>"
    );
    assert_eq!(
        code.field_type("EnhancedAsyncJobResponse", "priority"),
        "Option<i64>"
    );
    assert!(code.generated.code.contains("\"v1.12.0\""));
}

// ---------------------------------------------------------------------------
// Names

/// Splits a CamelCase name into its words (`ParseParsePost` -> Parse, Parse, Post).
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() || out.is_empty() {
            out.push(c.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// `parse_parse_post` / `config__v3__AsyncConfig` as typify spells a name.
fn camel(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|f| f.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The public types and variants of the crate's spec carry names a person
/// would choose: no `VariantN`, no name built from an operation id or a
/// Python module path, no doubled word. Offenders are listed.
#[test]
fn no_machine_made_names_in_the_generated_types() {
    let code = Code::generate(CRATE_SPEC, &crate_config());
    let doc = reducto_codegen::parse_spec(CRATE_SPEC).unwrap();
    let operation_ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op.get("operationId").and_then(Value::as_str))
        .map(camel)
        .collect();
    let module_paths: Vec<String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.contains("__"))
        .map(|k| camel(k))
        .collect();
    assert!(!operation_ids.is_empty());

    let mut offenders = BTreeSet::new();
    let mut check = |name: String| {
        let w = words(&name);
        let doubled = w.windows(2).any(|pair| pair[0] == pair[1]);
        let numbered = name
            .strip_prefix("Variant")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let from_operation = operation_ids.iter().any(|id| name.contains(id.as_str()));
        let from_module = module_paths.iter().any(|m| name.starts_with(m.as_str()));
        if doubled || numbered || from_operation || from_module {
            offenders.insert(name);
        }
    };
    for item in code.types() {
        match item {
            syn::Item::Struct(s) => check(s.ident.to_string()),
            syn::Item::Enum(e) => {
                check(e.ident.to_string());
                for v in &e.variants {
                    if v.ident.to_string().starts_with("Variant") {
                        check(v.ident.to_string());
                    }
                }
            }
            syn::Item::Type(t) => check(t.ident.to_string()),
            _ => {}
        }
    }
    assert!(
        offenders.is_empty(),
        "machine-made names: give them names in rewrite::TYPE_NAMES: {offenders:?}"
    );
}

/// A value the spec adds becomes a variant at the next build, with nothing
/// edited by hand: the open enums are generated from the spec's values.
#[test]
fn a_new_enum_value_becomes_a_variant_of_the_generated_open_enum() {
    let code = Code::generate(&newer_spec(), &crate_config());
    let source = reducto_codegen::open_enum::source_file(
        &code.generated.open_enums,
        reducto_codegen::REDUCTO_OPEN_ENUMS,
        "reducto::types",
    )
    .unwrap();
    let file = syn::parse_file(&source).unwrap();
    let variants = |name: &str| -> Vec<String> {
        file.items
            .iter()
            .find_map(|item| match item {
                syn::Item::Enum(e) if e.ident == name => {
                    Some(e.variants.iter().map(|v| v.ident.to_string()).collect())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no open enum {name}"))
    };
    assert!(variants("JobStatus").contains(&"Archived".to_owned()));
    assert!(variants("JobType").contains(&"Translate".to_owned()));
    // Known values keep their variants and the catch-all stays last.
    assert!(variants("BlockType").contains(&"SectionHeader".to_owned()));
    assert_eq!(
        variants("JobStatus").last().map(String::as_str),
        Some("Other")
    );
}

/// The rule of `reducto::types::from_required`: `src/` never writes a
/// complete struct literal of a generated type (a spec adding an optional
/// field would break it). Every `Type {` of a generated struct in `src/` is
/// either a pattern or ends in `..Default::default()` / `..`.
#[test]
fn the_handwritten_layer_has_no_complete_literal_of_a_generated_struct() {
    let code = Code::generate(CRATE_SPEC, &crate_config());
    let structs: Vec<String> = code
        .types()
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            _ => None,
        })
        .collect();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../src");
    let mut literals = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for name in &structs {
            let needle = format!("{name} {{");
            for (at, _) in text.match_indices(&needle) {
                let before = text[..at].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // part of a longer name
                }
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line = &text[line_start..at];
                if ["struct ", "enum ", "impl", "fn ", "//"]
                    .iter()
                    .any(|k| line.contains(k))
                {
                    continue;
                }
                // The braces' contents.
                let open = at + needle.len();
                let mut depth = 1;
                let mut end = open;
                for (i, c) in text[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                if !text[open..end].contains("..") {
                    let line_no = text[..at].lines().count();
                    literals.push(format!("{}:{line_no}: {name}", path.display()));
                }
            }
        }
    }
    assert!(
        literals.is_empty(),
        "complete literals of generated structs: {literals:?}"
    );
}
