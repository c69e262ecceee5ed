//! The JSON Schema sent to Reducto's extract, generated from a Rust type.
//!
//! Reducto's extract reads `instructions.schema` as a description of the
//! object to fill: a root `object`, fields with `type` and `description`
//! (its docs: clear field names, descriptions, enums for closed sets of
//! values, no needless nesting). What schemars produces for a Rust type
//! carries more than that, so [`extraction_schema`] rewrites it:
//!
//! - `$ref`s are inlined and `$defs` dropped (the schema is read as one
//!   self-contained tree); a recursive type cannot be inlined and is an
//!   error naming the cycle;
//! - an `Option` field is simply not `required` (no `null` type, no
//!   `anyOf`): an absent value comes back missing or `null`, and either
//!   decodes as `None`;
//! - an enum of unit variants is a string `enum` (variant doc comments
//!   are folded into the field's description);
//! - doc comments are `description`s; `$schema`, `title` and numeric
//!   `format`s (`double`, `uint32`, ...) are dropped.

use schemars::{generate::SchemaSettings, JsonSchema};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The schema Reducto's extract is sent for `T` (see the module docs).
///
/// ```
/// use schemars::JsonSchema;
///
/// /// An invoice.
/// #[derive(JsonSchema)]
/// struct Invoice {
///     /// The invoice number, as printed.
///     number: String,
///     currency: Option<Currency>,
/// }
/// #[derive(JsonSchema)]
/// enum Currency { USD, EUR }
///
/// let schema = reducto::api::schema::extraction_schema::<Invoice>()?;
/// assert_eq!(schema, serde_json::json!({
///     "type": "object",
///     "description": "An invoice.",
///     "properties": {
///         "number": {"type": "string", "description": "The invoice number, as printed."},
///         "currency": {"type": "string", "enum": ["USD", "EUR"]},
///     },
///     "required": ["number"],
/// }));
/// # Ok::<(), reducto::Error>(())
/// ```
pub fn extraction_schema<T: JsonSchema>() -> Result<Value> {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    clean(schema.to_value())
}

/// Rewrites a generated schema into the form described in the module docs.
pub fn clean(schema: Value) -> Result<Value> {
    let defs = match &schema {
        Value::Object(root) => root
            .get("$defs")
            .or_else(|| root.get("definitions"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        _ => Map::new(),
    };
    let cleaned = Inliner {
        defs: &defs,
        stack: Vec::new(),
    }
    .visit(schema)?;
    if cleaned.get("type").and_then(Value::as_str) != Some("object") {
        return Err(Error::invalid(
            "schema",
            "Reducto's extract fills an object: the extraction type must be a struct \
             (wrap a list in a struct field)",
        ));
    }
    Ok(cleaned)
}

struct Inliner<'a> {
    defs: &'a Map<String, Value>,
    /// The definitions being inlined, outermost first.
    stack: Vec<String>,
}

impl Inliner<'_> {
    fn visit(&mut self, schema: Value) -> Result<Value> {
        let Value::Object(mut map) = schema else {
            // `true`: anything.
            return Ok(if schema == Value::Bool(true) {
                Value::Object(Map::new())
            } else {
                schema
            });
        };
        if let Some(Value::String(reference)) = map.remove("$ref") {
            let name = reference
                .rsplit('/')
                .next()
                .unwrap_or(&reference)
                .to_owned();
            if let Some(start) = self.stack.iter().position(|n| *n == name) {
                let mut cycle = self.stack[start..].to_vec();
                cycle.push(name);
                return Err(Error::invalid(
                    "schema",
                    format!(
                        "{} is recursive ({}); Reducto's extract takes a schema without \
                         references, so give the type a fixed depth",
                        self.stack[start],
                        cycle.join(" -> ")
                    ),
                ));
            }
            let target = self.defs.get(&name).cloned().ok_or_else(|| {
                Error::invalid("schema", format!("unresolved reference {reference}"))
            })?;
            self.stack.push(name);
            let inlined = self.visit(target);
            self.stack.pop();
            let Value::Object(mut inlined) = inlined? else {
                return Ok(Value::Object(map));
            };
            // Keywords beside the `$ref` (a field's description) win.
            for (key, value) in map {
                let value = self.visit_keyword(&key, value)?;
                inlined.insert(key, value);
            }
            return Ok(Value::Object(inlined));
        }
        for noise in [
            "$schema",
            "$defs",
            "definitions",
            "title",
            "$id",
            "$comment",
        ] {
            map.remove(noise);
        }
        if map
            .get("format")
            .and_then(Value::as_str)
            .is_some_and(is_numeric_format)
        {
            map.remove("format");
        }
        let mut out = Map::new();
        for (key, value) in map {
            let value = self.visit_keyword(&key, value)?;
            out.insert(key, value);
        }
        Ok(Value::Object(fold_enum(drop_null(out))))
    }

    fn visit_keyword(&mut self, key: &str, value: Value) -> Result<Value> {
        match (key, value) {
            ("properties" | "patternProperties", Value::Object(props)) => {
                let mut out = Map::new();
                for (name, schema) in props {
                    out.insert(name, self.visit(schema)?);
                }
                Ok(Value::Object(out))
            }
            ("items" | "additionalProperties" | "not" | "contains", schema) => self.visit(schema),
            ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => list
                .into_iter()
                .map(|s| self.visit(s))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            (_, value) => Ok(value),
        }
    }
}

fn is_numeric_format(format: &str) -> bool {
    matches!(
        format,
        "double"
            | "float"
            | "int"
            | "uint"
            | "uint8"
            | "int8"
            | "uint16"
            | "int16"
            | "uint32"
            | "int32"
            | "uint64"
            | "int64"
            | "uint128"
            | "int128"
    )
}

/// `Option<T>` is `T` (not `T | null`): its field is simply not required.
fn drop_null(mut map: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    for union in ["anyOf", "oneOf"] {
        let Some(Value::Array(variants)) = map.get_mut(union) else {
            continue;
        };
        variants.retain(|v| v.get("type").and_then(Value::as_str) != Some("null"));
        if variants.len() == 1 {
            if let Some(Value::Object(only)) = variants.pop() {
                map.remove(union);
                for (key, value) in only {
                    // The field's own keywords (its description) win.
                    map.entry(key).or_insert(value);
                }
            }
        }
    }
    map
}

/// `oneOf` of string constants (an enum whose variants have doc comments)
/// becomes `{"type": "string", "enum": [...]}`, the descriptions folded in.
fn fold_enum(mut map: Map<String, Value>) -> Map<String, Value> {
    let Some(Value::Array(variants)) = map.get("oneOf") else {
        return map;
    };
    let mut values = Vec::new();
    let mut notes = Vec::new();
    for variant in variants {
        let constant = variant.get("const").or_else(|| match variant.get("enum") {
            Some(Value::Array(one)) if one.len() == 1 => one.first(),
            _ => None,
        });
        match constant {
            Some(Value::String(value)) => {
                if let Some(Value::String(doc)) = variant.get("description") {
                    notes.push(format!("{value}: {doc}"));
                }
                values.push(Value::String(value.clone()));
            }
            _ => return map,
        }
    }
    map.remove("oneOf");
    map.insert("type".into(), "string".into());
    map.insert("enum".into(), Value::Array(values));
    if !notes.is_empty() {
        let notes = notes.join("; ");
        let description = match map.get("description").and_then(Value::as_str) {
            Some(doc) => format!("{doc} ({notes})"),
            None => notes,
        };
        map.insert("description".into(), description.into());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    /// An invoice.
    struct Invoice {
        /// The invoice number.
        number: String,
        total: f64,
        count: u32,
        currency: Option<Currency>,
        /// Its lines.
        lines: Vec<Line>,
        billed_to: Party,
        note: Option<String>,
    }

    #[allow(dead_code, clippy::upper_case_acronyms)]
    #[derive(JsonSchema)]
    enum Currency {
        USD,
        EUR,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    enum Status {
        /// Not yet paid.
        Open,
        /// Settled.
        Paid,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Line {
        description: String,
        amount: f64,
        status: Status,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Party {
        name: String,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Node {
        name: String,
        children: Vec<Node>,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Tree {
        root: Node,
    }

    fn no_refs(value: &Value) {
        let text = value.to_string();
        for word in [
            "$ref", "$defs", "$schema", "title", "null", "anyOf", "format",
        ] {
            assert!(!text.contains(word), "{word} left in {text}");
        }
    }

    #[test]
    fn nested_enums_options_and_arrays_inline_cleanly() {
        let schema = extraction_schema::<Invoice>().unwrap();
        no_refs(&schema);
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["description"], "An invoice.");
        assert_eq!(
            schema["properties"]["number"],
            json!({"type": "string", "description": "The invoice number."})
        );
        assert_eq!(schema["properties"]["total"], json!({"type": "number"}));
        assert_eq!(schema["properties"]["count"]["type"], "integer");
        // Options are present but not required, with no null type.
        assert_eq!(
            schema["properties"]["currency"],
            json!({"type": "string", "enum": ["USD", "EUR"]})
        );
        assert_eq!(schema["properties"]["note"], json!({"type": "string"}));
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["number", "total", "count", "lines", "billed_to"]);
        // Arrays of nested structs, with a documented enum folded.
        let lines = &schema["properties"]["lines"];
        assert_eq!(lines["type"], "array");
        assert_eq!(lines["description"], "Its lines.");
        let status = &lines["items"]["properties"]["status"];
        assert_eq!(status["enum"], json!(["Open", "Paid"]));
        assert_eq!(status["type"], "string");
        assert_eq!(status["description"], "Open: Not yet paid.; Paid: Settled.");
        assert_eq!(
            schema["properties"]["billed_to"]["properties"]["name"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn recursive_types_are_a_clear_error() {
        let err = extraction_schema::<Tree>().unwrap_err().to_string();
        assert!(err.contains("Node is recursive (Node -> Node)"), "{err}");
    }

    #[test]
    fn a_non_object_root_is_refused() {
        let err = extraction_schema::<Vec<String>>().unwrap_err().to_string();
        assert!(err.contains("must be a struct"), "{err}");
    }

    #[test]
    fn handwritten_schemas_are_cleaned_the_same_way() {
        let schema = clean(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "X",
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/A", "description": "field doc"}},
            "$defs": {"A": {"title": "A", "type": "integer", "format": "int64"}}
        }))
        .unwrap();
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"a": {"type": "integer", "description": "field doc"}}})
        );
    }
}
