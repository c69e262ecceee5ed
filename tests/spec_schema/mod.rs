//! Reducto's published spec as JSON Schema, shared by the tests that judge
//! traffic against it (`conformance.rs`, `mock_schema.rs`).
#![allow(dead_code)]

use std::{path::Path, sync::OnceLock};

use serde_json::{json, Value};

/// The published spec the crate is built from: `openapi.yaml`, as imported
/// from Reducto's spec (never edited by hand).
pub fn published_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        reducto_codegen::parse_spec(&text)
            .unwrap_or_else(|e| panic!("{} is not a spec: {e}", path.display()))
    })
}

/// `{"$ref": "#/components/schemas/{name}"}`, after checking the spec has it.
pub fn component(name: &str) -> Value {
    assert!(
        published_spec()["components"]["schemas"][name].is_object(),
        "no schema {name} in the spec"
    );
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A draft 2020-12 validator (what OpenAPI 3.1 uses) for `schema`, with
/// `spec` as its root so that every `#/components/schemas/...` ref resolves.
pub fn validator(spec: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = spec.clone();
    let object = root.as_object_mut().expect("the spec is an object");
    object.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    object.insert("$defs".into(), json!({ "target": schema }));
    object.insert("$ref".into(), json!("#/$defs/target"));
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("compiling {schema}: {e}"))
}

/// A validator for `#/components/schemas/{name}` of the published spec.
pub fn component_validator(name: &str) -> jsonschema::Validator {
    validator(published_spec(), &component(name))
}

/// Every way `value` breaks `validator`, one line each (empty: valid); an
/// `anyOf` failure lists why each branch refused it.
pub fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| {
            let mut line = format!(
                "at JSON path {:?}: {}",
                e.instance_path().as_str(),
                short(&e.to_string(), 300)
            );
            if let jsonschema::error::ValidationErrorKind::AnyOf { context } = e.kind() {
                for (i, branch) in context.iter().enumerate() {
                    for inner in branch {
                        line.push_str(&format!(
                            "\n      anyOf branch {i}: at {:?}: {}",
                            inner.instance_path().as_str(),
                            short(&inner.to_string(), 200)
                        ));
                    }
                }
            }
            line
        })
        .collect()
}

/// `text` cut to `max` characters, marked with `...` when cut.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}
