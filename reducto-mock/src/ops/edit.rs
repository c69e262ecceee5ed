//! `POST /edit` (`/edit_async`): apply `edit_instructions` to a text
//! document and serve the result at `document_url`.
//!
//! Each line of the instructions is one edit, applied in order to a
//! `.txt`/`.md` document:
//! - `replace "old" with "new"` (either quotes): every occurrence of `old`
//!   becomes `new`;
//! - `Label: value`: fills a form field: the value of the first line
//!   labelled `Label` (compared like extract's labels: case and
//!   punctuation aside) becomes `value`; with no such line,
//!   `Label: value` is appended as a new line;
//! - any other line is not understood and changes nothing.
//!
//! `form_schema` widgets with a `value` (and `fill` not false) are filled
//! the same way, labelled by their `description`, and echoed back. Other
//! formats are returned unchanged (the mock edits only text). The edited
//! document is served without auth at `GET /results/{id}`, like a presigned
//! URL. An http(s) URL input fails the job: the mock does not fetch
//! documents.

use bytes::Bytes;
use serde_json::{json, Value};

use super::text;
use super::{Body, Op, Work};
use crate::results::{self, Source, FAIL_MARKER, FAIL_REASON};
use crate::state::{AppState, Finished};
use crate::webhooks::WebhookAt;

/// The edit operation.
pub(crate) struct Edit;

/// Validated edit options.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    instructions: String,
    form_schema: Value,
}

impl Op for Edit {
    const JOB_TYPE: &'static str = "Edit";
    const INPUT: &'static str = "document_url";
    const LIST_INPUT: bool = false;
    // AsyncEditConfig takes `webhook` itself (checked in `config`).
    const ASYNC_OPTIONS: &'static [&'static str] = &[];
    /// `AsyncEditConfig.webhook` is a `WebhookConfigNew` at the top level.
    const WEBHOOK_AT: WebhookAt = WebhookAt::TopLevel;
    type Config = Config;

    fn config(body: &mut Body) -> Config {
        let instructions = match body.require(&["edit_instructions"]) {
            Some(_) => body.string(&["edit_instructions"]).unwrap_or_default(),
            None => String::new(),
        };
        body.object(&["edit_options"]);
        if let Some(color) = body.string(&["edit_options", "color"]) {
            let hex = color.len() == 7
                && color.starts_with('#')
                && color[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !hex {
                body.error(
                    &["edit_options", "color"],
                    "String should match pattern '^#[0-9A-Fa-f]{6}$'",
                    "string_pattern_mismatch",
                    json!(color),
                );
            }
        }
        body.number(&["edit_options", "font_size"], 1.0, 72.0);
        body.bool(&["edit_options", "enable_overflow_pages"], false);
        body.bool(&["edit_options", "flatten"], false);
        body.bool(&["priority"], true);
        // `webhook` is read (and validated) by `run_op`: `WEBHOOK_AT`.
        let form_schema = match body.get(&["form_schema"]).cloned() {
            None | Some(Value::Null) => Value::Null,
            Some(Value::Array(widgets)) => {
                for (i, w) in widgets.iter().enumerate() {
                    let fine = w.get("description").is_some_and(Value::is_string)
                        && w.get("bbox").is_some_and(Value::is_object)
                        && w.get("type").and_then(Value::as_str).is_some_and(|t| {
                            ["text", "checkbox", "radio", "dropdown", "barcode"].contains(&t)
                        });
                    if !fine {
                        body.error_at(
                            json!(["body", "form_schema", i]),
                            "Input should be an EditWidget with bbox, description and type",
                            "model_type",
                            w.clone(),
                        );
                    }
                }
                Value::Array(widgets)
            }
            Some(v) => {
                body.error(
                    &["form_schema"],
                    "Input should be a valid list",
                    "list_type",
                    v,
                );
                Value::Null
            }
        };
        Config {
            instructions,
            form_schema,
        }
    }

    fn run(config: &Config, work: &Work<'_>) -> Result<Finished, String> {
        let response = respond(config, work.state, work.docs)?;
        let pages = response["usage"]["num_pages"].as_u64().unwrap_or(1);
        Ok(Finished { response, pages })
    }
}

/// An `EditResponse` (job id to be stamped), storing the edited document.
pub(crate) fn respond(config: &Config, state: &AppState, docs: &[Source]) -> Result<Value, String> {
    let Some(Source::File { ext, bytes, .. }) = docs.first() else {
        let reference = match docs.first() {
            Some(Source::Remote { reference }) if reference.contains(FAIL_MARKER) => {
                return Err(FAIL_REASON.to_owned())
            }
            Some(Source::Remote { reference }) => reference.as_str(),
            _ => "",
        };
        return Err(format!(
            "The mock server does not fetch remote documents ({reference}); upload it instead"
        ));
    };
    if memchr::memmem::find(bytes, FAIL_MARKER.as_bytes()).is_some() {
        return Err(FAIL_REASON.to_owned());
    }
    let is_text = ext.as_deref().is_some_and(results::is_text_ext);
    let (content_type, edited) = if is_text {
        let mut lines = config
            .instructions
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if let Value::Array(widgets) = &config.form_schema {
            for w in widgets {
                let fill = w.get("fill").and_then(Value::as_bool).unwrap_or(true);
                if let (true, Some(label), Some(value)) = (
                    fill,
                    w.get("description").and_then(Value::as_str),
                    w.get("value").and_then(Value::as_str),
                ) {
                    lines.push(format!("{label}: {value}"));
                }
            }
        }
        let text = apply(&String::from_utf8_lossy(bytes), &lines);
        ("text/plain; charset=utf-8", Bytes::from(text))
    } else {
        ("application/octet-stream", bytes.clone())
    };
    let pages = (memchr::memchr_iter(b'\x0c', &edited).count() + 1) as u64;
    let id = state.store_document(content_type, edited);
    Ok(json!({
        "response_type": "edit",
        "job_id": null,
        "document_url": format!("{}/results/{id}", state.base_url),
        "form_schema": config.form_schema,
        "usage": super::parse_usage(pages),
    }))
}

/// Apply instruction lines to a text (see the module docs).
fn apply(doc: &str, instructions: &[String]) -> String {
    let mut doc = doc.to_owned();
    for line in instructions
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
    {
        if let Some((old, new)) = replacement(line) {
            if !old.is_empty() {
                doc = doc.replace(&old, &new);
            }
        } else if let Some((label, value)) = line.split_once(':') {
            let want = text::words(label);
            if want.is_empty() || value.trim().is_empty() {
                continue;
            }
            let mut filled = false;
            let mut out: Vec<String> = Vec::new();
            for doc_line in doc.split('\n') {
                if !filled {
                    if let Some((l, _)) = doc_line.split_once(':') {
                        let bare = l.trim_start_matches(['#', '-', '*', ' ', '\t']);
                        if text::words(bare) == want {
                            out.push(format!("{l}: {}", value.trim()));
                            filled = true;
                            continue;
                        }
                    }
                }
                out.push(doc_line.to_owned());
            }
            doc = out.join("\n");
            if !filled {
                if !doc.ends_with('\n') && !doc.is_empty() {
                    doc.push('\n');
                }
                doc.push_str(&format!("{}: {}\n", label.trim(), value.trim()));
            }
        }
    }
    doc
}

/// `replace "old" with "new"` (double or single quotes).
fn replacement(line: &str) -> Option<(String, String)> {
    let rest = line
        .strip_prefix("replace ")
        .or_else(|| line.strip_prefix("Replace "))?;
    let (old, rest) = quoted(rest.trim_start())?;
    let rest = rest.trim_start().strip_prefix("with")?;
    let (new, _) = quoted(rest.trim_start())?;
    Some((old, new))
}

/// A leading quoted string and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = s[1..].find(q)? + 1;
    Some((s[1..end].to_owned(), &s[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_fills_and_appends() {
        let doc = "# Form\n\nName: ____\nDate: 2024-01-01\n- Status: draft\n";
        let edits = [
            r#"replace "Form" with "Application form""#,
            "name: Ada Lovelace",
            "Status: final",
            "Signature: A.L.",
            "make it nicer",
        ]
        .map(str::to_owned);
        assert_eq!(
            apply(doc, &edits),
            "# Application form\n\nName: Ada Lovelace\nDate: 2024-01-01\n- Status: final\nSignature: A.L.\n"
        );
        assert_eq!(
            replacement("replace 'a' with 'b'"),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(replacement("replace a with b"), None);
    }
}
