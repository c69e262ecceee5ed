//! Build-time code generation for the `reducto` crate.
//!
//! The pipeline is `openapi.yaml` (Reducto's published OpenAPI 3.1 contract)
//! -> [`rewrite::normalize`] (named rewrites into what progenitor 0.15 reads)
//! -> [`hoist_open_enums`] (statuses and types that a newer API may extend
//! become named types, replaced by the handwritten forward-compatible enums)
//! -> progenitor -> Rust source written to `OUT_DIR` by `reducto`'s `build.rs`.
//!
//! [`evolve`] holds the kinds of change an API makes between versions, which
//! the `reducto-evolution-check` member applies to `openapi.yaml` to prove a
//! spec that only adds things still generates, compiles and decodes.
//!
//! [`subset`] and the `reducto-codegen import` command produce `openapi.yaml`
//! from the spec Reducto publishes, so updating the contract is one command.
#![warn(missing_docs)]

pub mod diff;
pub mod evolve;
pub mod rewrite;
pub mod subset;

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// What can go wrong turning a spec into code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is neither valid YAML nor JSON.
    #[error("the spec is not valid YAML or JSON: {0}")]
    Syntax(#[from] serde_yaml_ng::Error),
    /// The normalised spec is still not an OpenAPI 3.0 document progenitor reads.
    #[error("the normalised spec is not a valid OpenAPI 3.0 document: {0}")]
    Schema(serde_json::Error),
    /// progenitor refused the document.
    #[error("progenitor could not generate the client: {0}")]
    Progenitor(#[from] progenitor::Error),
    /// progenitor produced tokens that are not valid Rust.
    #[error("generated code does not parse as Rust: {0}")]
    Parse(#[from] syn::Error),
}

/// A string enum that a newer API may extend (a job status, a block type).
///
/// Each listed property is pointed at one named schema, which the generator
/// then replaces with the handwritten Rust type `rust_type`: that type keeps
/// values it does not know as a string instead of failing to decode.
#[derive(Debug, Clone)]
pub struct OpenEnum {
    /// Name of the schema the properties are hoisted into (`JobStatus`).
    pub name: &'static str,
    /// Path of the Rust type that replaces it (`crate::JobStatus`).
    pub rust_type: String,
    /// `(component schema, property)` pairs that carry the enum.
    pub locations: &'static [(&'static str, &'static str)],
}

/// The enums the `reducto` crate keeps open, and the `(schema, property)`
/// places Reducto's spec carries each one.
pub const REDUCTO_OPEN_ENUMS: &[(&str, &[(&str, &str)])] = &[
    (
        "JobStatus",
        &[
            ("AsyncJobResponse", "status"),
            ("EnhancedAsyncJobResponse", "status"),
            ("SingleJob", "status"),
        ],
    ),
    (
        "JobType",
        &[("EnhancedAsyncJobResponse", "type"), ("SingleJob", "type")],
    ),
    ("BlockType", &[("ParseBlock", "type")]),
];

/// The outcome of [`hoist_open_enums`] for one [`OpenEnum`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoistedEnum {
    /// The enum's name.
    pub name: &'static str,
    /// Every value the spec lists at any of its locations.
    pub values: BTreeSet<String>,
    /// Locations the spec does not have (a newer spec may have moved them).
    pub missing: Vec<String>,
}

/// Points each location of each [`OpenEnum`] at a new component schema named
/// after it, whose `enum` is the union of the values found. Run after
/// [`rewrite::normalize`], so nullability is already in 3.0 form.
pub fn hoist_open_enums(doc: &mut Value, enums: &[OpenEnum]) -> Vec<HoistedEnum> {
    let mut report = Vec::new();
    for open in enums {
        let mut values = BTreeSet::new();
        let mut missing = Vec::new();
        let reference = format!("#/components/schemas/{}", open.name);
        for (schema, property) in open.locations {
            let pointer = format!("/components/schemas/{schema}/properties/{property}");
            let Some(Value::Object(prop)) = doc.pointer_mut(&pointer) else {
                missing.push(format!("{schema}.{property}"));
                continue;
            };
            let Some(Value::Array(listed)) = prop.remove("enum") else {
                missing.push(format!("{schema}.{property} (not an enum)"));
                continue;
            };
            values.extend(listed.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            let nullable = prop.get("nullable") == Some(&Value::Bool(true));
            let description = prop.get("description").cloned();
            prop.clear();
            if nullable {
                prop.insert("allOf".into(), json!([{ "$ref": reference }]));
                prop.insert("nullable".into(), Value::Bool(true));
            } else {
                prop.insert("$ref".into(), Value::String(reference.clone()));
            }
            if let Some(description) = description {
                if nullable {
                    prop.insert("description".into(), description);
                }
            }
        }
        if !values.is_empty() {
            if let Some(schemas) = doc
                .pointer_mut("/components/schemas")
                .and_then(Value::as_object_mut)
            {
                schemas.insert(
                    open.name.into(),
                    json!({ "type": "string", "enum": values.iter().collect::<Vec<_>>() }),
                );
            }
        }
        report.push(HoistedEnum {
            name: open.name,
            values,
            missing,
        });
    }
    report
}

/// What to generate.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Enums replaced by handwritten forward-compatible types.
    pub open_enums: Vec<OpenEnum>,
    /// Path of the type stored in the generated `Client` as its `inner`
    /// (progenitor's hook state), if any.
    pub inner_type: Option<String>,
    /// Extra derives on every generated type (`schemars::JsonSchema`).
    pub derives: Vec<String>,
}

impl Config {
    /// The `reducto` crate's configuration: [`REDUCTO_OPEN_ENUMS`] replaced
    /// by the types of the same names in `types_module`, `inner_type` as the
    /// generated client's hook state, and `JsonSchema` + `PartialEq` derived.
    pub fn reducto(types_module: &str, inner_type: &str) -> Config {
        Config {
            open_enums: REDUCTO_OPEN_ENUMS
                .iter()
                .map(|(name, locations)| OpenEnum {
                    name,
                    rust_type: format!("{types_module}::{name}"),
                    locations,
                })
                .collect(),
            inner_type: Some(inner_type.to_owned()),
            derives: vec!["schemars::JsonSchema".into(), "PartialEq".into()],
        }
    }
}

/// The generated bindings and what the normalisation did to get there.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Formatted Rust source.
    pub code: String,
    /// Places each rewrite changed, by rewrite name.
    pub rewrites: Vec<(&'static str, usize)>,
    /// What each open enum collected.
    pub open_enums: Vec<HoistedEnum>,
    /// `(method, path)` of every operation progenitor generated.
    pub operations: Vec<(String, String)>,
}

/// The operations of `spec` that the generated `code` has no client method
/// for, as `"METHOD /path (operationId)"`: every operation but the ones
/// [`rewrite::drop_multipart_operations`] leaves to handwritten code must
/// have one. Generated methods are recognised by the `operation_id` progenitor
/// records in each of them, so the check holds whatever the method is named.
pub fn operations_without_method(spec: &Value, code: &str) -> Vec<String> {
    // progenitor records the id snake-cased (`job__id` -> `job_id`):
    // compare letters and digits only.
    let key = |id: &str| -> String {
        id.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let recorded: BTreeSet<String> = code
        .split("operation_id: \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(key)
        .collect();
    let mut json_only = spec.clone();
    rewrite::drop_multipart_operations(&mut json_only);
    subset::operations(&json_only)
        .into_iter()
        .filter_map(|(method, path)| {
            let pointer = format!(
                "/paths/{}/{method}/operationId",
                path.replace('~', "~0").replace('/', "~1")
            );
            let id = json_only
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (id.is_empty() || !recorded.contains(&key(id)))
                .then(|| format!("{} {path} ({id})", method.to_uppercase()))
        })
        .collect()
}

/// Parses a YAML or JSON spec (JSON is YAML) into a JSON tree.
pub fn parse_spec(text: &str) -> Result<Value, Error> {
    Ok(serde_yaml_ng::from_str(text)?)
}

/// Normalises the spec and generates the bindings with progenitor.
pub fn generate(spec_text: &str, config: &Config) -> Result<Generated, Error> {
    let mut doc = parse_spec(spec_text)?;
    let rewrites = rewrite::normalize(&mut doc);
    let open_enums = hoist_open_enums(&mut doc, &config.open_enums);
    let operations = subset::operations(&doc);

    let spec: openapiv3::OpenAPI = serde_json::from_value(doc).map_err(Error::Schema)?;
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Positional);
    for derive in &config.derives {
        settings.with_derive(derive);
    }
    if let Some(inner) = &config.inner_type {
        let tokens: proc_macro2::TokenStream = inner.parse().map_err(|_| {
            Error::Parse(syn::Error::new(
                proc_macro2::Span::call_site(),
                format!("inner type `{inner}` is not a Rust path"),
            ))
        })?;
        settings.with_inner_type(tokens);
    }
    for open in open_enums.iter().filter(|e| !e.values.is_empty()) {
        let rust_type = config
            .open_enums
            .iter()
            .find(|c| c.name == open.name)
            .map_or(open.name, |c| c.rust_type.as_str());
        settings.with_replacement(
            open.name,
            rust_type,
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec)?;
    let file: syn::File = syn::parse2(tokens)?;
    Ok(Generated {
        code: prettyplease::unparse(&file),
        rewrites,
        open_enums,
        operations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_status() -> OpenEnum {
        OpenEnum {
            name: "JobStatus",
            rust_type: "crate::JobStatus".into(),
            locations: &[("A", "status"), ("B", "status"), ("Gone", "status")],
        }
    }

    #[test]
    fn operations_without_method_names_the_missing_ones_only() {
        let spec = json!({ "paths": {
            "/upload": { "post": { "operationId": "upload",
                "requestBody": { "content": { "multipart/form-data": {} } } } },
            "/job/{id}": { "get": { "operationId": "get_job" },
                           "delete": { "operationId": "delete_job" } },
            "/anonymous": { "get": {} },
        }});
        let code = "let info = OperationInfo {\n    operation_id: \"get_job\",\n};";
        // Snake-cased by progenitor: `get__job` is recorded as `get_job`.
        let mut spec = spec;
        spec["paths"]["/job/{id}"]["get"]["operationId"] = json!("get__job");
        assert_eq!(
            operations_without_method(&spec, code),
            ["DELETE /job/{id} (delete_job)", "GET /anonymous ()"]
        );
    }

    #[test]
    fn open_enum_is_hoisted_with_union_of_values_and_nullability_kept() {
        let mut doc = json!({ "components": { "schemas": {
            "A": { "properties": { "status": { "type": "string", "enum": ["Pending", "Failed"] } } },
            "B": { "properties": { "status": { "type": "string", "enum": ["Pending", "Cancelled"],
                                               "nullable": true } } },
        }}});
        let report = hoist_open_enums(&mut doc, &[job_status()]);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["A"]["properties"]["status"],
            json!({ "$ref": "#/components/schemas/JobStatus" })
        );
        assert_eq!(
            schemas["B"]["properties"]["status"],
            json!({ "allOf": [{ "$ref": "#/components/schemas/JobStatus" }], "nullable": true })
        );
        assert_eq!(
            schemas["JobStatus"]["enum"],
            json!(["Cancelled", "Failed", "Pending"])
        );
        assert_eq!(report[0].missing, vec!["Gone.status".to_owned()]);
    }
}
