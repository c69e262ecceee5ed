//! Operations of a spec, and cutting a spec down to some of its operations
//! with every schema they reference and nothing else (for fixtures and tests).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every `(method, path)` the document defines, in document order.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .filter(|method| METHODS.contains(&method.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

/// Returns a copy of `doc` with only the operations in `keep` and the
/// component schemas they reference, directly or through other schemas.
/// Everything else at the top level (info, servers, security schemes) is kept.
///
/// Fails with the operations of `keep` that the document does not define.
pub fn subset(doc: &Value, keep: &[(&str, &str)]) -> Result<Value, Vec<String>> {
    let mut out = doc.clone();
    let missing: Vec<String> = keep
        .iter()
        .filter(|(method, path)| {
            doc.pointer(&format!("/paths/{}/{method}", escape(path)))
                .is_none()
        })
        .map(|(method, path)| format!("{} {path}", method.to_uppercase()))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }

    let mut paths = Map::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let Some(item) = item.as_object() else {
            continue;
        };
        let kept: Map<String, Value> = item
            .iter()
            .filter(|(key, _)| {
                // Path-level keys (parameters, summary) stay with any kept operation.
                !METHODS.contains(&key.as_str()) || keep.contains(&(key.as_str(), path.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if kept.keys().any(|k| METHODS.contains(&k.as_str())) {
            paths.insert(path.clone(), Value::Object(kept));
        }
    }

    // Close the set of referenced schemas transitively.
    let mut needed = BTreeSet::new();
    let mut queue = Vec::new();
    collect_refs(&Value::Object(paths.clone()), &mut queue);
    while let Some(name) = queue.pop() {
        if needed.insert(name.clone()) {
            if let Some(schema) = doc.pointer(&format!("/components/schemas/{}", escape(&name))) {
                collect_refs(schema, &mut queue);
            }
        }
    }

    out["paths"] = Value::Object(paths);
    if let Some(schemas) = out
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.retain(|name, _| needed.contains(name));
    }
    Ok(out)
}

pub(crate) fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            out.push(name.replace("~1", "/").replace("~0", "~"));
                        }
                    }
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": {
                "/a": { "get": { "responses": { "200": { "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/A" } } } } } },
                        "post": { "responses": {} } },
                "/b": { "get": { "responses": { "200": { "content": { "application/json": {
                            "schema": { "$ref": "#/components/schemas/B" } } } } } } },
            },
            "components": {
                "schemas": {
                    "A": { "properties": { "inner": { "anyOf": [
                        { "$ref": "#/components/schemas/Inner" }, { "type": "null" } ] } } },
                    "Inner": { "type": "string" },
                    "B": { "type": "integer" },
                },
                "securitySchemes": { "Bearer": { "type": "http", "scheme": "bearer" } },
            },
        })
    }

    #[test]
    fn keeps_operations_and_transitive_schemas_only() {
        let cut = subset(&doc(), &[("get", "/a")]).unwrap();
        assert_eq!(operations(&cut), vec![("get".to_owned(), "/a".to_owned())]);
        let names: Vec<&String> = cut["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["A", "Inner"]);
        assert!(cut["components"]["securitySchemes"]["Bearer"].is_object());
        assert_eq!(cut["info"]["version"], "1");
    }

    #[test]
    fn unknown_operations_are_reported() {
        let err = subset(&doc(), &[("get", "/a"), ("delete", "/nope")]).unwrap_err();
        assert_eq!(err, vec!["DELETE /nope".to_owned()]);
    }

    #[test]
    fn operations_lists_every_method() {
        assert_eq!(operations(&doc()).len(), 3);
    }
}
