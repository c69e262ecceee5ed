//! `POST /classify` (`/classify_async`): pick the category whose criteria
//! words occur most in the document.
//!
//! A category's score is the number of times the key words of its
//! criteria (words of 3+ characters, see [`super::text`]) occur in the
//! whole document; the highest score wins, ties (all zero included) go to
//! the first category listed. `response_confidence` gives each category
//! its share of all scores and each criterion `high` when one of its
//! words occurs, else `low`. With `category_groups`,
//! `extra_metadata.grouping` names the group holding the chosen category
//! (or `ungrouped`). `page_range` is accepted and, as Reducto documents for
//! non-PDF documents, ignored. `force_url_result` or the server's threshold
//! make the result a URL result.

use serde_json::{json, Map, Value};

use super::text;
use super::{Body, Op, Work};
use crate::state::Finished;

/// The classify operation.
pub(crate) struct Classify;

/// Validated classify options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    categories: Vec<(String, Vec<String>)>,
    groups: Map<String, Value>,
    force_url: bool,
}

impl Op for Classify {
    const JOB_TYPE: &'static str = "Classify";
    type Config = Config;

    fn config(body: &mut Body) -> Config {
        body.choice(&["model"], &["default", "accurate"], "default");
        body.bool(&["priority"], true);
        let force_url = body.bool(&["force_url_result"], false);
        body.string(&["document_metadata"]);
        let mut categories = Vec::new();
        let items = body.list(&["classification_schema"]).unwrap_or_default();
        // Absent (default `[]`) or empty; a non-list was refused above.
        let not_a_list = body
            .get(&["classification_schema"])
            .is_some_and(|v| !v.is_array());
        if items.is_empty() && !not_a_list {
            body.error(
                &["classification_schema"],
                "Value error, classification_schema must list at least one category",
                "value_error",
                Value::Array(items.clone()),
            );
        }
        for (i, item) in items.iter().enumerate() {
            let loc = |k: &str| json!(["body", "classification_schema", i, k]);
            let category = match item.get("category") {
                Some(Value::String(s)) => Some(s.clone()),
                other => {
                    let (msg, kind) = match other {
                        None => ("Field required", "missing"),
                        Some(_) => ("Input should be a valid string", "string_type"),
                    };
                    body.error_at(
                        loc("category"),
                        msg,
                        kind,
                        other.cloned().unwrap_or_else(|| item.clone()),
                    );
                    None
                }
            };
            let criteria = match item.get("criteria") {
                Some(Value::Array(c)) if c.iter().all(Value::is_string) => Some(
                    c.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                ),
                other => {
                    let (msg, kind) = match other {
                        None => ("Field required", "missing"),
                        Some(_) => ("Input should be a valid list of strings", "list_type"),
                    };
                    body.error_at(
                        loc("criteria"),
                        msg,
                        kind,
                        other.cloned().unwrap_or_else(|| item.clone()),
                    );
                    None
                }
            };
            if let (Some(c), Some(k)) = (category, criteria) {
                categories.push((c, k));
            }
        }
        let groups = body.object(&["category_groups"]).unwrap_or_default();
        for (name, members) in &groups {
            let ok = members
                .as_array()
                .is_some_and(|m| m.iter().all(Value::is_string));
            if !ok {
                body.error(
                    &["category_groups", name],
                    "Input should be a valid list of strings",
                    "list_type",
                    members.clone(),
                );
            }
        }
        Config {
            categories,
            groups,
            force_url,
        }
    }

    fn run(config: &Config, work: &Work<'_>) -> Result<Finished, String> {
        let parsed = work.parse()?;
        let counts = text::word_counts(parsed.blocks.iter().map(|b| b.content.as_str()));
        let scores: Vec<usize> = config
            .categories
            .iter()
            .map(|(_, criteria)| text::score(&counts, &text::key_words(&criteria.join(" "))))
            .collect();
        // max_by_key keeps the last maximum; scan for the first.
        let mut chosen = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[chosen] {
                chosen = i;
            }
        }
        let category = config
            .categories
            .get(chosen)
            .map_or("", |(c, _)| c.as_str());
        let total: usize = scores.iter().sum();
        let confidences: Vec<Value> = config
            .categories
            .iter()
            .zip(&scores)
            .map(|((name, criteria), score)| {
                let share = if total == 0 { 0.0 } else { *score as f64 / total as f64 };
                json!({
                    "category": name,
                    "confidence": share,
                    "criteria_confidence": criteria.iter().map(|c| json!({
                        "criterion": c,
                        "confidence": if text::score(&counts, &text::key_words(c)) > 0 { "high" } else { "low" },
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        // Reducto omits `extra_metadata` when it is empty.
        let mut extra = Map::new();
        if !config.groups.is_empty() {
            let group = config
                .groups
                .iter()
                .find(|(_, members)| {
                    members
                        .as_array()
                        .is_some_and(|m| m.iter().any(|c| c == category))
                })
                .map_or("ungrouped", |(g, _)| g.as_str());
            extra.insert("grouping".to_owned(), json!(group));
        }
        let pages = parsed.num_pages;
        let mut response = json!({
                "response_type": "classify",
                "job_id": "",
                "result": work.state.inline_or_url(json!({ "category": category }), config.force_url),
                "response_confidence": { "categories": confidences },
                "usage": {
                    "num_pages": pages,
                    "num_categories": config.categories.len(),
                    "credits": pages as f64,
                    "usage_breakdown": null,
                },
                "duration": 0.0,
        });
        if !extra.is_empty() {
            response["extra_metadata"] = Value::Object(extra);
        }
        Ok(Finished { response, pages })
    }
}
