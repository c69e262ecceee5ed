//! `POST /split` (`/split_async`): assign pages to the categories of
//! `split_description` by their words.
//!
//! The rule: a category's score on a page is the number of times the key
//! words (3+ characters, see [`super::text`]) of its `name` and
//! `description` occur on that page. A page goes to the category with the
//! highest score, and with `settings.allow_page_overlap` (the default)
//! also to every category tied with it; a page where no category scores
//! goes nowhere. Every category is listed, in order, with its pages
//! (`conf` `high` when it has any). With a `partition_key`, a category's
//! pages are grouped by the value of a `Label: value` line whose label is
//! (or ends with) the key; a page without such a line joins the partition
//! before it (`unknown` if none). `settings.deep_split` answers a
//! `DeepSplitResult` whose page evidence lists the words that matched.
//! `settings.force_url_result` or the server's threshold make the result a
//! URL result.

use serde_json::{json, Value};

use super::text;
use super::{Body, Op, Work};
use crate::results::Parsed;
use crate::state::{AppState, Finished};

/// The split operation.
pub(crate) struct Split;

/// Validated split options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    categories: Vec<Category>,
    overlap: bool,
    deep: bool,
    force_url: bool,
}

#[derive(Clone, Debug)]
struct Category {
    name: String,
    words: Vec<String>,
    partition_key: Option<Vec<String>>,
}

/// A category's pages (1-based) and, when partitioned, its partitions.
pub(crate) struct Assigned {
    pub(crate) name: String,
    pub(crate) pages: Vec<u64>,
    partitions: Option<Vec<(String, Vec<u64>)>>,
}

impl Op for Split {
    const JOB_TYPE: &'static str = "Split";
    type Config = Config;

    fn config(body: &mut Body) -> Config {
        body.object(&["parsing"]);
        body.string(&["split_rules"]);
        body.object(&["settings"]);
        body.choice(
            &["settings", "table_cutoff"],
            &["truncate", "preserve"],
            "truncate",
        );
        let overlap = body.bool(&["settings", "allow_page_overlap"], true);
        body.bool(&["settings", "auto_partition"], true);
        let deep = body.bool(&["settings", "deep_split"], false);
        let force_url = body.bool(&["settings", "force_url_result"], false);
        let mut categories = Vec::new();
        if body.require(&["split_description"]).is_some() {
            for (i, item) in body
                .list(&["split_description"])
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let mut text_at = |key: &str, required: bool| match item.get(key) {
                    Some(Value::String(s)) => Some(s.clone()),
                    None | Some(Value::Null) if !required => None,
                    other => {
                        let (msg, kind) = if other.is_none() {
                            ("Field required", "missing")
                        } else {
                            ("Input should be a valid string", "string_type")
                        };
                        body.error_at(
                            json!(["body", "split_description", i, key]),
                            msg,
                            kind,
                            other.cloned().unwrap_or_else(|| item.clone()),
                        );
                        None
                    }
                };
                let name = text_at("name", true);
                let description = text_at("description", true);
                let partition_key = text_at("partition_key", false);
                if let (Some(name), Some(description)) = (name, description) {
                    categories.push(Category {
                        words: text::key_words(&format!("{name} {description}")),
                        name,
                        partition_key: partition_key.map(|k| text::words(&k)),
                    });
                }
            }
        }
        Config {
            categories,
            overlap,
            deep,
            force_url,
        }
    }

    fn run(config: &Config, work: &Work<'_>) -> Result<Finished, String> {
        let parsed = work.parse()?;
        Ok(Finished {
            response: respond(config, work.state, &parsed),
            pages: parsed.num_pages,
        })
    }
}

/// Pages of each category (see the module docs).
pub(crate) fn assign(config: &Config, parsed: &Parsed) -> Vec<Assigned> {
    let pages = text::page_texts(&parsed.blocks, parsed.num_pages);
    let mut out: Vec<Assigned> = config
        .categories
        .iter()
        .map(|c| Assigned {
            name: c.name.clone(),
            pages: Vec::new(),
            partitions: None,
        })
        .collect();
    for (i, page) in pages.iter().enumerate() {
        let counts = text::word_counts([page.as_str()]);
        let scores: Vec<usize> = config
            .categories
            .iter()
            .map(|c| text::score(&counts, &c.words))
            .collect();
        let top = scores.iter().copied().max().unwrap_or(0);
        if top == 0 {
            continue;
        }
        let page_no = i as u64 + 1;
        for (c, s) in scores.iter().enumerate() {
            if *s == top {
                out[c].pages.push(page_no);
                if !config.overlap {
                    break;
                }
            }
        }
    }
    let fields = text::fields(&parsed.blocks);
    for (assigned, category) in out.iter_mut().zip(&config.categories) {
        let Some(key) = &category.partition_key else {
            continue;
        };
        let mut partitions: Vec<(String, Vec<u64>)> = Vec::new();
        for &page in &assigned.pages {
            let value = fields
                .iter()
                .find(|f| {
                    parsed.blocks[f.block].page == page && !key.is_empty() && f.label.ends_with(key)
                })
                .map(|f| f.value.clone());
            match (value, partitions.last_mut()) {
                (Some(v), Some((last, pages))) if *last == v => pages.push(page),
                (Some(v), _) => partitions.push((v, vec![page])),
                (None, Some((_, pages))) => pages.push(page),
                (None, None) => partitions.push(("unknown".to_owned(), vec![page])),
            }
        }
        assigned.partitions = Some(partitions);
    }
    out
}

/// A `SplitResponse` (job id and duration to be stamped).
pub(crate) fn respond(config: &Config, state: &AppState, parsed: &Parsed) -> Value {
    let assigned = assign(config, parsed);
    let result = if config.deep {
        let pages_text = text::page_texts(&parsed.blocks, parsed.num_pages);
        let evidence = |category: &Category, page: u64| {
            let counts = text::word_counts([pages_text[(page - 1) as usize].as_str()]);
            let matched: Vec<&str> = category
                .words
                .iter()
                .filter(|w| counts.contains_key(*w))
                .map(String::as_str)
                .collect();
            json!({
                "page_number": page,
                "evidence": format!("Words of '{}' on the page: {}", category.name, matched.join(", ")),
                "confidence": "high",
            })
        };
        let splits: Vec<Value> = assigned
            .iter()
            .zip(&config.categories)
            .map(|(a, c)| {
                json!({
                    "name": a.name,
                    "pages": a.pages.iter().map(|p| evidence(c, *p)).collect::<Vec<_>>(),
                    "partitions": a.partitions.as_ref().map(|parts| parts.iter().map(|(name, pages)| json!({
                        "name": name,
                        "pages": pages.iter().map(|p| evidence(c, *p)).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>()),
                })
            })
            .collect();
        json!({ "splits": splits })
    } else {
        let conf = |pages: &[u64]| if pages.is_empty() { "low" } else { "high" };
        let splits: Vec<Value> = assigned
            .iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "pages": a.pages,
                    "conf": conf(&a.pages),
                    "partitions": a.partitions.as_ref().map(|parts| parts.iter().map(|(name, pages)| json!({
                        "name": name,
                        "pages": pages,
                        "conf": conf(pages),
                    })).collect::<Vec<_>>()),
                })
            })
            .collect();
        let mapping: serde_json::Map<String, Value> = assigned
            .iter()
            .map(|a| (a.name.clone(), json!(a.pages)))
            .collect();
        json!({ "section_mapping": mapping, "splits": splits })
    };
    let pages = parsed.num_pages;
    json!({
        "response_type": "split",
        "job_id": null,
        "usage": super::parse_usage(pages),
        "duration": 0.0,
        "result": state.inline_or_url(result, config.force_url),
    })
}
