//! `POST /extract` (`/extract_async`): fill `instructions.schema` from the
//! document's `Label: value` lines (see [`super::text`]).
//!
//! The rule, per schema property:
//! - A line matches a property when its label's words equal the property
//!   name's or its `title`'s words (best), or end with the name's words
//!   (`Invoice number` fills `number`), or occur in the property's
//!   `description` (`The invoice number` is filled by `Invoice number`).
//!   Names compare case-, underscore- and camelCase-insensitively. The
//!   first line of the best kind wins.
//! - `string` (or untyped) properties take the value as written; `number`
//!   and `integer` the first number in it (`$1,523.47` -> 1523.47; a
//!   fraction for an integer is no value); `boolean` yes/no, true/false,
//!   x; an `enum` (or `const`s in a `oneOf`/`anyOf`) the first listed
//!   value found in the matching line, else anywhere in the document.
//! - Nested objects fill their own properties the same way; `$ref`s to
//!   `$defs`/`definitions`, `allOf` of one schema, and nullable unions
//!   (`anyOf: [X, {"type": "null"}]`, `type: [X, "null"]`) are followed.
//! - An array of objects gets one element per record (a paragraph, or a
//!   list item) that has a line whose label is exactly one of the item's
//!   property names or titles, filled from that record's lines only; an
//!   array of scalars gets every matching line's value. Nothing found: `[]`.
//! - A value not found is `null` where the schema allows null, and left out
//!   otherwise (so a client type with a required field reports it missing).
//!
//! The result is `[object]` (a list of one, as Reducto's); with
//! `settings.citations.enabled` it is the object itself with every value
//! wrapped as `{"value", "citations": [...]}`, each citation naming the
//! block the line came from. `settings.deep_extract` adds a document-level
//! `confidence`: `high` when every value was found. The result becomes a
//! URL result with `settings.force_url_result` or over the server's
//! threshold. Usage: `num_fields` counts the values produced.

use serde_json::{json, Map, Value};

use super::text::{self, Field};
use super::{Body, Op, Work};
use crate::results::{Block, Parsed};
use crate::state::{AppState, Finished};

/// Deepest schema nesting followed (recursive schemas stop there).
const MAX_DEPTH: usize = 32;

/// Steps to resolve one schema at most: unions whose `$ref`s lead back to
/// themselves would otherwise take exponential time. Such a schema is not
/// found.
const NODE_BUDGET: u32 = 100_000;

/// The extract operation.
pub(crate) struct Extract;

/// Validated extract options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    schema: Value,
    citations: Option<Citations>,
    deep_extract: bool,
    force_url: bool,
}

#[derive(Clone, Copy, Debug)]
struct Citations {
    numerical_confidence: bool,
    full_parent_block: bool,
}

impl Op for Extract {
    const JOB_TYPE: &'static str = "Extract";
    type Config = Config;

    fn config(body: &mut Body) -> Config {
        body.object(&["parsing"]);
        body.object(&["instructions"]);
        let schema = match body.get(&["instructions", "schema"]).cloned() {
            None => json!({}),
            Some(Value::Object(o)) => Value::Object(o),
            Some(v) => {
                body.error(
                    &["instructions", "schema"],
                    "Input should be a valid dictionary (a JSON Schema)",
                    "dict_type",
                    v,
                );
                json!({})
            }
        };
        body.string(&["instructions", "system_prompt"]);
        body.object(&["settings"]);
        for flag in ["include_images", "optimize_for_latency", "array_extract"] {
            body.bool(&["settings", flag], false);
        }
        let deep_extract = body.bool(&["settings", "deep_extract"], false);
        let force_url = body.bool(&["settings", "force_url_result"], false);
        body.object(&["settings", "citations"]);
        let enabled = body.bool(&["settings", "citations", "enabled"], false);
        let numerical_confidence =
            body.bool(&["settings", "citations", "numerical_confidence"], true);
        let parent = body.choice(
            &["settings", "citations", "parent_block"],
            &["full", "bbox_only"],
            "full",
        );
        Config {
            schema,
            citations: enabled.then_some(Citations {
                numerical_confidence,
                full_parent_block: parent == "full",
            }),
            deep_extract,
            force_url,
        }
    }

    fn run(config: &Config, work: &Work<'_>) -> Result<Finished, String> {
        let parsed = work.parse()?;
        Ok(Finished {
            response: respond(config, work.state, &parsed.blocks, parsed.num_pages),
            pages: parsed.num_pages,
        })
    }
}

/// A `V3ExtractResponse` (job id and duration to be stamped) for `blocks`.
pub(crate) fn respond(config: &Config, state: &AppState, blocks: &[Block], pages: u64) -> Value {
    let extracted = extract(config, blocks);
    let (confidence, reason) = if config.deep_extract {
        if extracted.missing == 0 {
            (
                json!("high"),
                json!("Every field was found in the document."),
            )
        } else {
            let reason = format!(
                "{} field(s) were not found in the document.",
                extracted.missing
            );
            (json!("low"), json!(reason))
        }
    } else {
        (Value::Null, Value::Null)
    };
    json!({
        "response_type": "v3_extract",
        "job_id": null,
        "usage": {
            "num_pages": pages,
            "num_fields": extracted.fields,
            "credits": pages as f64,
            "extract_mode": "extract",
            "usage_breakdown": null,
        },
        "duration": 0.0,
        "studio_link": null,
        "confidence": confidence,
        "confidence_reason": reason,
        "result": state.inline_or_url(extracted.result, config.force_url),
    })
}

/// What an extraction produced.
struct Extracted {
    result: Value,
    /// Values produced (found or null).
    fields: usize,
    /// Values not found.
    missing: usize,
}

fn extract(config: &Config, blocks: &[Block]) -> Extracted {
    let fields = text::fields(blocks);
    let all: Vec<&Field> = fields.iter().collect();
    let doc = blocks
        .iter()
        .map(|b| b.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let schemas = Schemas {
        root: &config.schema,
        budget: std::cell::Cell::new(NODE_BUDGET),
    };
    let mut filler = Filler {
        root: &schemas,
        blocks,
        doc: &doc,
        citations: config.citations,
        fields: 0,
        missing: 0,
        filling: Vec::new(),
    };
    let empty = config.schema.as_object().is_some_and(Map::is_empty);
    let value = match resolve(&schemas, &config.schema, 0) {
        // No schema (the default `{}`): nothing to extract.
        _ if empty => json!({}),
        Some(n) => match n.shape {
            // The top level is always an object, found or not.
            Shape::Object(props) => filler.object(props, &all, 0).unwrap_or_else(|o| o),
            _ => filler
                .value("", &n, &all, 0)
                .unwrap_or_else(|| filler.missing_value()),
        },
        None => json!({}),
    };
    Extracted {
        result: if config.citations.is_some() {
            value
        } else {
            json!([value])
        },
        fields: filler.fields,
        missing: filler.missing,
    }
}

// ---------------------------------------------------------------- schemas

/// The schema being filled (the root of its `$ref`s) and what is left of
/// [`NODE_BUDGET`].
struct Schemas<'s> {
    root: &'s Value,
    budget: std::cell::Cell<u32>,
}

/// What a schema describes, after `$ref`s and unions are followed.
enum Shape<'s> {
    Object(&'s Map<String, Value>),
    Array(Option<&'s Value>),
    Enum(Vec<&'s Value>),
    String,
    Number,
    Integer,
    Boolean,
}

struct Node<'s> {
    shape: Shape<'s>,
    nullable: bool,
    title: Option<&'s str>,
    description: Option<&'s str>,
}

/// The node of `schema`; `None` past [`MAX_DEPTH`], [`NODE_BUDGET`] or at
/// a `$ref` that does not resolve.
fn resolve<'s>(root: &Schemas<'s>, schema: &'s Value, depth: usize) -> Option<Node<'s>> {
    root.budget.set(NODE_BUDGET);
    node(root, schema, depth)
}

/// [`resolve`]'s recursion.
fn node<'s>(root: &Schemas<'s>, schema: &'s Value, depth: usize) -> Option<Node<'s>> {
    let left = root.budget.get();
    if depth > MAX_DEPTH || left == 0 {
        return None;
    }
    root.budget.set(left - 1);
    let text = |k: &str| schema.get(k).and_then(Value::as_str);
    let with_doc = |mut n: Node<'s>| {
        n.title = text("title").or(n.title);
        n.description = text("description").or(n.description);
        n
    };
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix('#').and_then(|p| root.root.pointer(p))?;
        return node(root, target, depth + 1).map(with_doc);
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return node(root, only, depth + 1).map(with_doc);
    }
    let union = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(members) = union {
        let is_null = |m: &Value| {
            m.get("type") == Some(&json!("null")) || m.get("const") == Some(&Value::Null)
        };
        let nullable = members.iter().any(is_null);
        let others: Vec<Node<'s>> = members
            .iter()
            .filter(|m| !is_null(m))
            .filter_map(|m| node(root, m, depth + 1))
            .collect();
        let all_enums =
            !others.is_empty() && others.iter().all(|n| matches!(n.shape, Shape::Enum(_)));
        let shape = if all_enums {
            Shape::Enum(
                others
                    .into_iter()
                    .flat_map(|n| match n.shape {
                        Shape::Enum(v) => v,
                        _ => Vec::new(),
                    })
                    .collect(),
            )
        } else {
            others.into_iter().next()?.shape
        };
        return Some(with_doc(Node {
            shape,
            nullable,
            title: None,
            description: None,
        }));
    }
    let (ty, mut nullable) = match schema.get("type") {
        Some(Value::String(t)) => (Some(t.as_str()), false),
        Some(Value::Array(types)) => (
            types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null"),
            types.iter().any(|t| t == "null"),
        ),
        _ => (None, false),
    };
    nullable |= schema.get("nullable") == Some(&Value::Bool(true));
    let shape = if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        Shape::Enum(values.iter().filter(|v| !v.is_null()).collect())
    } else if let Some(c) = schema.get("const") {
        Shape::Enum(vec![c])
    } else {
        match ty {
            Some("object") => Shape::Object(props(schema)),
            Some("array") => Shape::Array(schema.get("items")),
            Some("number") => Shape::Number,
            Some("integer") => Shape::Integer,
            Some("boolean") => Shape::Boolean,
            Some(_) => Shape::String,
            None if schema.get("properties").is_some() => Shape::Object(props(schema)),
            None if schema.get("items").is_some() => Shape::Array(schema.get("items")),
            None => Shape::String,
        }
    };
    Some(with_doc(Node {
        shape,
        nullable,
        title: None,
        description: None,
    }))
}

fn props(schema: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// How well a labelled line fits a property: 3 exact name or title, 2 the
/// label ends with the name or occurs in the description, 0 not at all.
fn fit(name: &str, node: &Node<'_>, field: &Field) -> u8 {
    let name = text::words(name);
    let title = node.title.map(text::words).unwrap_or_default();
    if (!name.is_empty() && field.label == name) || (!title.is_empty() && field.label == title) {
        return 3;
    }
    if !name.is_empty() && field.label.ends_with(&name) {
        return 2;
    }
    let description = node.description.map(text::words).unwrap_or_default();
    if text::contains_run(&description, &field.label) {
        return 2;
    }
    0
}

/// The first best-fitting line, if any fits.
fn best<'f>(name: &str, node: &Node<'_>, scope: &[&'f Field]) -> Option<&'f Field> {
    let mut best: Option<(u8, &Field)> = None;
    for f in scope {
        let fit = fit(name, node, f);
        if fit > 0 && best.is_none_or(|(b, _)| fit > b) {
            best = Some((fit, f));
        }
    }
    best.map(|(_, f)| f)
}

// ---------------------------------------------------------------- filling

struct Filler<'a> {
    root: &'a Schemas<'a>,
    blocks: &'a [Block],
    doc: &'a str,
    citations: Option<Citations>,
    fields: usize,
    missing: usize,
    /// The objects being filled, innermost last: a recursive schema
    /// (`Node { children: Vec<Node> }`) stops where it would repeat.
    filling: Vec<*const Map<String, Value>>,
}

/// Where a value came from: a block and the text in it.
struct Origin<'a> {
    block: usize,
    text: &'a str,
}

impl Filler<'_> {
    /// An object's properties; `Err(object)` when nothing at all was found
    /// (the object as it would be, for the top level).
    fn object(
        &mut self,
        props: &Map<String, Value>,
        scope: &[&Field],
        depth: usize,
    ) -> Result<Value, Value> {
        let mut out = Map::new();
        let id: *const Map<String, Value> = props;
        if self.filling.contains(&id) {
            return Err(Value::Object(out));
        }
        self.filling.push(id);
        let mut found = false;
        for (name, schema) in props {
            let Some(node) = resolve(self.root, schema, depth + 1) else {
                continue;
            };
            match self.value(name, &node, scope, depth + 1) {
                Some(v) => {
                    found = true;
                    out.insert(name.clone(), v);
                }
                None if node.nullable => {
                    out.insert(name.clone(), self.missing_value());
                }
                None => self.missing += 1,
            }
        }
        self.filling.pop();
        if found {
            Ok(Value::Object(out))
        } else {
            Err(Value::Object(out))
        }
    }

    /// The value of property `name`, or `None` if not found.
    fn value(
        &mut self,
        name: &str,
        node: &Node<'_>,
        scope: &[&Field],
        depth: usize,
    ) -> Option<Value> {
        match &node.shape {
            Shape::Object(props) => self.object(props, scope, depth).ok(),
            Shape::Array(items) => Some(self.array(name, *items, scope, depth)),
            Shape::Enum(values) => {
                let field = best(name, node, scope);
                let hay = field.map_or(self.doc, |f| f.value.as_str());
                let (value, at) = find_enum(values, hay)?;
                let origin = match field {
                    Some(f) => Some(Origin {
                        block: f.block,
                        text: &f.text,
                    }),
                    None => self.block_with(at),
                };
                Some(self.leaf(value.clone(), origin))
            }
            scalar => {
                let field = best(name, node, scope)?;
                let value = convert(scalar, &field.value)?;
                Some(self.leaf(
                    value,
                    Some(Origin {
                        block: field.block,
                        text: &field.text,
                    }),
                ))
            }
        }
    }

    fn array(
        &mut self,
        name: &str,
        items: Option<&Value>,
        scope: &[&Field],
        depth: usize,
    ) -> Value {
        let item = items.and_then(|i| resolve(self.root, i, depth + 1));
        let Some(item) = item else {
            return json!([]);
        };
        let mut out = Vec::new();
        if let Shape::Object(props) = item.shape {
            // One element per record with a line named exactly like one of
            // the item's properties.
            let mut records: Vec<usize> = scope.iter().map(|f| f.record).collect();
            records.dedup();
            for record in records {
                let lines: Vec<&Field> = scope
                    .iter()
                    .copied()
                    .filter(|f| f.record == record)
                    .collect();
                let named = lines.iter().any(|f| {
                    props.iter().any(|(p, s)| {
                        resolve(self.root, s, depth + 2).is_some_and(|n| fit(p, &n, f) == 3)
                    })
                });
                if named {
                    if let Ok(v) = self.object(props, &lines, depth + 1) {
                        out.push(v);
                    }
                }
            }
        } else {
            // Every matching line, in order.
            for f in scope.iter().filter(|f| fit(name, &item, f) > 0) {
                let value = match &item.shape {
                    Shape::Enum(values) => find_enum(values, &f.value).map(|(v, _)| v.clone()),
                    scalar => convert(scalar, &f.value),
                };
                if let Some(v) = value {
                    let origin = Origin {
                        block: f.block,
                        text: &f.text,
                    };
                    out.push(self.leaf(v, Some(origin)));
                }
            }
        }
        Value::Array(out)
    }

    /// The block holding byte `at` of the document text.
    fn block_with(&self, at: usize) -> Option<Origin<'static>> {
        let mut start = 0;
        for (i, b) in self.blocks.iter().enumerate() {
            let end = start + b.content.len();
            if at < end {
                return Some(Origin { block: i, text: "" });
            }
            start = end + 1;
        }
        None
    }

    /// A value not found, where null is allowed.
    fn missing_value(&mut self) -> Value {
        self.missing += 1;
        self.fields += 1;
        match self.citations {
            Some(_) => json!({ "value": null, "citations": [] }),
            None => Value::Null,
        }
    }

    fn leaf(&mut self, value: Value, origin: Option<Origin<'_>>) -> Value {
        self.fields += 1;
        let Some(c) = self.citations else {
            return value;
        };
        let citations: Vec<Value> = origin
            .and_then(|o| self.blocks.get(o.block).map(|b| (o, b)))
            .map(|(o, block)| {
                let content = if o.text.is_empty() {
                    block.content.as_str()
                } else {
                    o.text
                };
                json!({
                    "type": block.kind,
                    "content": content,
                    "bbox": block.bbox(),
                    "confidence": "high",
                    "granular_confidence": if c.numerical_confidence {
                        json!({ "extract_confidence": 1.0, "parse_confidence": 1.0 })
                    } else {
                        Value::Null
                    },
                    "parentBlock": {
                        "type": block.kind,
                        "content": if c.full_parent_block { block.content.as_str() } else { "" },
                        "bbox": block.bbox(),
                    },
                })
            })
            .into_iter()
            .collect();
        json!({ "value": value, "citations": citations })
    }
}

/// The first of `values` (in listed order) found in `hay`: equal to it, or
/// as whole words in it (case-insensitive); with the byte where it occurs.
fn find_enum<'v>(values: &[&'v Value], hay: &str) -> Option<(&'v Value, usize)> {
    let hay_lower = hay.to_lowercase();
    let text_of = |v: &Value| match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    };
    if let Some(v) = values.iter().find(|v| text_of(v) == hay_lower.trim()) {
        return Some((v, 0));
    }
    values.iter().find_map(|v| {
        let needle = text_of(v);
        whole_word(&hay_lower, &needle).map(|at| (*v, at))
    })
}

/// Byte offset of `needle` in `hay` where it is not part of a longer word.
fn whole_word(hay: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    hay.match_indices(needle).map(|(i, _)| i).find(|&i| {
        boundary(hay[..i].chars().next_back()) && boundary(hay[i + needle.len()..].chars().next())
    })
}

/// A scalar value from a line's text; `None` if it does not fit the type.
fn convert(shape: &Shape<'_>, value: &str) -> Option<Value> {
    match shape {
        Shape::Number => first_number(value).map(|n| json!(n)),
        Shape::Integer => first_number(value)
            .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
            .map(|n| json!(n as i64)),
        Shape::Boolean => match value.trim().to_lowercase().as_str() {
            "yes" | "y" | "true" | "x" | "checked" | "on" => Some(json!(true)),
            "no" | "n" | "false" | "unchecked" | "off" => Some(json!(false)),
            _ => None,
        },
        _ => Some(json!(value)),
    }
}

/// The first number in `s`: digits with an optional sign, thousands commas
/// and decimal point (`-$1,234.50` -> -1234.5).
fn first_number(s: &str) -> Option<f64> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let negative = s[..start]
        .trim_end_matches(['$', '€', '£', ' '])
        .ends_with('-');
    let mut digits = String::new();
    let mut seen_point = false;
    let rest = &s[start..];
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '0'..='9' => digits.push(c),
            ',' if chars.peek().is_some_and(char::is_ascii_digit) => {}
            '.' if !seen_point && chars.peek().is_some_and(char::is_ascii_digit) => {
                seen_point = true;
                digits.push('.');
            }
            _ => break,
        }
    }
    let n: f64 = digits.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// Blocks of `parsed` on the given pages (1-based), for a split's extract.
pub(crate) fn blocks_on(parsed: &Parsed, pages: &[u64]) -> Vec<Block> {
    parsed
        .blocks
        .iter()
        .filter(|b| pages.contains(&b.page))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &str) -> Vec<Block> {
        crate::results::parse(
            &[crate::results::Source::File {
                file_id: "reducto://x.md".into(),
                filename: None,
                ext: Some("md".into()),
                bytes: bytes::Bytes::from(text.to_owned()),
            }],
            1000,
            None,
        )
        .expect("parses")
        .blocks
    }

    fn run(schema: Value, citations: bool, text: &str) -> Extracted {
        let config = Config {
            schema,
            citations: citations.then_some(Citations {
                numerical_confidence: true,
                full_parent_block: true,
            }),
            deep_extract: false,
            force_url: false,
        };
        extract(&config, &blocks(text))
    }

    const INVOICE: &str = "# Invoice\n\nInvoice number: INV-7\nTotal: $1,523.50\nCurrency: paid in eur\nPaid: yes\n\n## Lines\n\n- Description: Widget; Quantity: 2; Amount: 5.00\n- Description: Gadget; Quantity: 1; Amount: 2.50\n";

    #[test]
    fn fills_names_numbers_enums_nested_and_arrays() {
        let schema = json!({
            "type": "object",
            "properties": {
                "number": { "type": "string", "description": "The invoice number" },
                "invoice_number": { "type": "string" },
                "total": { "type": "number" },
                "paid": { "type": "boolean" },
                "currency": { "anyOf": [{ "$ref": "#/$defs/Currency" }, { "type": "null" }] },
                "vendor": { "type": ["string", "null"] },
                "iban": { "type": "string" },
                "lines": { "type": "array", "items": { "$ref": "#/$defs/Line" } },
            },
            "$defs": {
                "Currency": { "type": "string", "enum": ["USD", "EUR"] },
                "Line": {
                    "type": "object",
                    "properties": {
                        "description": { "type": "string" },
                        "quantity": { "type": "integer" },
                        "amount": { "type": "number" },
                    }
                }
            }
        });
        let out = run(schema, false, INVOICE);
        let r = &out.result[0];
        assert_eq!(r["number"], "INV-7");
        assert_eq!(r["invoice_number"], "INV-7");
        assert_eq!(r["total"], 1523.5);
        assert_eq!(r["paid"], true);
        assert_eq!(r["currency"], "EUR");
        assert_eq!(r["vendor"], Value::Null);
        assert!(r.get("iban").is_none(), "not nullable: left out");
        assert_eq!(
            r["lines"],
            json!([
                { "description": "Widget", "quantity": 2, "amount": 5.0 },
                { "description": "Gadget", "quantity": 1, "amount": 2.5 },
            ])
        );
        assert_eq!(out.missing, 2);
    }

    #[test]
    fn citations_wrap_every_value() {
        let schema = json!({ "properties": { "total": { "type": "number" }, "x": { "type": ["string", "null"] } } });
        let out = run(schema, true, INVOICE);
        let total = &out.result["total"];
        assert_eq!(total["value"], 1523.5);
        let cite = &total["citations"][0];
        assert_eq!(cite["content"], "Total: $1,523.50");
        assert_eq!(cite["type"], "Text");
        assert_eq!(cite["bbox"]["page"], 1);
        assert!(cite["parentBlock"]["content"]
            .as_str()
            .unwrap_or("")
            .contains("Invoice number"));
        assert_eq!(out.result["x"], json!({ "value": null, "citations": [] }));
    }

    #[test]
    fn schemars_style_enums_and_empty_schema() {
        let schema = json!({
            "properties": {
                "kind": { "oneOf": [
                    { "const": "credit_note", "description": "A credit note" },
                    { "const": "invoice" }
                ] }
            }
        });
        assert_eq!(
            run(schema, false, INVOICE).result,
            json!([{ "kind": "invoice" }])
        );
        assert_eq!(run(json!({}), false, INVOICE).result, json!([{}]));
        // A recursive schema ends instead of looping, a branching one in
        // bounded time.
        let recursive = json!({ "$ref": "#", "properties": { "me": { "$ref": "#" } } });
        assert_eq!(run(recursive, false, INVOICE).result, json!([{}]));
        let branching = json!({
            "properties": {
                "a": { "$ref": "#" }, "b": { "$ref": "#" },
                "c": { "anyOf": [{ "$ref": "#" }, { "$ref": "#" }] },
                "loop": { "$ref": "#/$defs/L" },
                "total": { "type": "number" }
            },
            "$defs": { "L": { "anyOf": [{ "$ref": "#/$defs/L" }, { "$ref": "#/$defs/L" }] } }
        });
        let out = run(branching, false, INVOICE);
        assert_eq!(out.result[0]["total"], 1523.5);
    }

    #[test]
    fn numbers() {
        assert_eq!(first_number("$1,234.50"), Some(1234.5));
        assert_eq!(first_number("-$3"), Some(-3.0));
        assert_eq!(first_number("about 7. Then"), Some(7.0));
        assert_eq!(first_number("none"), None);
        assert_eq!(convert(&Shape::Integer, "2.5"), None);
    }
}
