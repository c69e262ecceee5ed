//! `POST /extract` and `/extract_async`: fields out of a document, into a
//! Rust type.
//!
//! ```no_run
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! /// An invoice.
//! #[derive(JsonSchema, Deserialize)]
//! struct Invoice {
//!     /// The invoice number, as printed.
//!     number: String,
//!     total: f64,
//! }
//!
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let upload = client.upload("invoice.pdf").await?;
//! let invoice: Invoice = client.extract().run::<Invoice>(&upload).await?.value;
//!
//! // Untyped: a JSON Schema in, JSON out.
//! let schema = serde_json::json!({"type": "object", "properties": {"total": {"type": "number"}}});
//! let json = client.extract().run::<serde_json::Value>(&upload).schema(schema).await?.value;
//! # let _ = (invoice, json);
//! # Ok(()) }
//! ```

use std::{any::TypeId, marker::PhantomData};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{fetch_url, url_of, BoxFuture, Operation, Request, Run, RunJob};
use crate::{
    error::{DecodeError, Error, Result},
    transport::RequestOptions,
    types::{ExtractSettings, ExtractUsage, JobResult},
    DocumentInput, Reducto,
};

/// Extraction calls: `client.extract()`.
#[derive(Debug, Clone)]
pub struct Extracts {
    client: Reducto,
}

impl Extracts {
    pub(crate) fn new(client: &Reducto) -> Self {
        Extracts {
            client: client.clone(),
        }
    }

    /// Extracts synchronously (`POST /extract`) into `T`, whose JSON Schema
    /// (see [`extraction_schema`](super::schema::extraction_schema)) is sent
    /// as the instructions. With `T = serde_json::Value`, give the schema
    /// with [`schema`](Request::schema).
    pub fn run<T: Extractable>(&self, input: impl Into<DocumentInput>) -> Run<Extract<T>> {
        Request::new(&self.client, input.into())
    }

    /// Starts an extraction job (`POST /extract_async`).
    pub fn run_job<T: Extractable>(&self, input: impl Into<DocumentInput>) -> RunJob<Extract<T>> {
        Request::new(&self.client, input.into())
    }
}

/// A type extraction can fill: any `JsonSchema + Deserialize` type, or
/// `serde_json::Value` with a schema given by hand.
pub trait Extractable: JsonSchema + DeserializeOwned + Send + 'static {}
impl<T: JsonSchema + DeserializeOwned + Send + 'static> Extractable for T {}

/// The extract operation, filling a `T`.
pub struct Extract<T>(PhantomData<fn() -> T>);

impl<T> super::sealed::Sealed for Extract<T> {}

impl<T: Extractable> Operation for Extract<T> {
    type Output = Extracted<T>;
    type Response = Value;
    const NAME: &'static str = "extract";
    const QUEUE_PRIORITY: bool = true;

    fn prepare(body: &mut Map<String, Value>) -> Result<()> {
        let given = body
            .get("instructions")
            .and_then(|i| i.get("schema"))
            .is_some();
        if given {
            return Ok(());
        }
        if TypeId::of::<T>() == TypeId::of::<Value>() {
            return Err(Error::invalid(
                "schema",
                "an untyped extraction needs a schema: call .schema(..) or extract into a type",
            ));
        }
        let schema = super::schema::extraction_schema::<T>()?;
        let instructions = body
            .entry("instructions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(instructions) = instructions {
            instructions.insert("schema".into(), schema);
        }
        Ok(())
    }

    #[allow(clippy::result_large_err)]
    fn from_job(result: JobResult) -> std::result::Result<Value, JobResult> {
        match &result {
            JobResult::V3ExtractResponse(_) | JobResult::ExtractResponse(_) => {
                serde_json::to_value(&result).map_err(|_| result)
            }
            _ => Err(result),
        }
    }

    fn finish(client: Reducto, response: Value) -> BoxFuture<Extracted<T>> {
        Box::pin(Extracted::from_response(client, response))
    }
}

impl<T: Extractable, M> Request<Extract<T>, M> {
    /// The JSON Schema to fill (`instructions.schema`), instead of the one
    /// generated from `T`; sent as given.
    pub fn schema(self, schema: Value) -> Self {
        self.set(&["instructions", "schema"], schema)
    }

    /// The system prompt (`instructions.system_prompt`).
    pub fn system_prompt(self, prompt: impl Into<String>) -> Self {
        self.set(&["instructions", "system_prompt"], prompt.into())
    }

    /// Cite where each value came from (`settings.citations.enabled`); the
    /// citations are in [`Extracted::citations`].
    pub fn citations(self, on: bool) -> Self {
        self.set(&["settings", "citations", "enabled"], on)
    }

    /// A slower, more thorough extraction with confidence (`settings.deep_extract`).
    pub fn deep_extract(self, on: bool) -> Self {
        self.set(&["settings", "deep_extract"], on)
    }

    /// Extract a long list across the whole document
    /// (`settings.array_extract`; deprecated by Reducto for deep extract).
    pub fn array_extract(self, on: bool) -> Self {
        self.set(&["settings", "array_extract"], on)
    }

    /// Only pages `start..=end` (1-based).
    pub fn pages(self, start: i64, end: i64) -> Self {
        self.set(
            &["settings", "page_range"],
            serde_json::json!({"start": start, "end": end}),
        )
    }

    /// Give the model the page images too (`settings.include_images`).
    pub fn include_images(self, on: bool) -> Self {
        self.set(&["settings", "include_images"], on)
    }

    /// Always return the result as a URL (fetched for you).
    pub fn force_url_result(self, on: bool) -> Self {
        self.set(&["settings", "force_url_result"], on)
    }

    /// Every setting at once, as the generated type.
    pub fn settings(self, settings: ExtractSettings) -> Self {
        self.set_group("settings", settings)
    }

    /// How the document is parsed first, as the generated type.
    pub fn parsing(self, parsing: crate::types::ParseOptions) -> Self {
        self.set_group("parsing", parsing)
    }
}

/// An extraction's result: the value, typed, and what came with it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Extracted<T> {
    /// The extracted value.
    pub value: T,
    /// With citations on: the result as returned, each value beside its
    /// citations (`{"value": .., "citations": [..]}`), or the separate
    /// `citations` list of the older extract API.
    pub citations: Option<Value>,
    /// Pages, fields and credits used.
    pub usage: Option<ExtractUsage>,
    /// The job's id (for `jobid://` reuse or support).
    pub job_id: Option<String>,
    /// The whole response, for fields not surfaced here (deep extract's
    /// `confidence`, `studio_link`, ...).
    pub response: Value,
}

impl<T> Extracted<T> {
    /// Deep extract's document-level confidence (`high` or `low`), when
    /// [`deep_extract`](Request::deep_extract) asked for it.
    pub fn confidence(&self) -> Option<&str> {
        self.response.get("confidence").and_then(Value::as_str)
    }
}

impl<T: Extractable> Extracted<T> {
    async fn from_response(client: Reducto, mut response: Value) -> Result<Extracted<T>> {
        for field in ["result", "citations"] {
            if let Some(url) = url_of(response.get(field)) {
                let fetched: Value = fetch_url(&client, &RequestOptions::default(), &url).await?;
                response[field] = fetched;
            }
        }
        let raw = response.get("result").cloned().unwrap_or(Value::Null);
        let (plain, cited) = strip_citations(raw.clone());
        let citations = if cited {
            Some(raw)
        } else {
            response.get("citations").filter(|c| !c.is_null()).cloned()
        };
        let value = decode_value::<T>(plain)?;
        Ok(Extracted {
            value,
            citations,
            usage: response
                .get("usage")
                .and_then(|u| serde_json::from_value(u.clone()).ok()),
            job_id: response
                .get("job_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            response,
        })
    }
}

/// Replaces every `{"value": v, "citations": [..]}` by `v`; says whether
/// there was any.
fn strip_citations(value: Value) -> (Value, bool) {
    match value {
        Value::Object(mut map)
            if map.len() <= 3 && map.contains_key("value") && map.contains_key("citations") =>
        {
            let inner = map.remove("value").unwrap_or(Value::Null);
            (strip_citations(inner).0, true)
        }
        Value::Object(map) => {
            let mut any = false;
            let map = map
                .into_iter()
                .map(|(k, v)| {
                    let (v, cited) = strip_citations(v);
                    any |= cited;
                    (k, v)
                })
                .collect();
            (Value::Object(map), any)
        }
        Value::Array(items) => {
            let mut any = false;
            let items = items
                .into_iter()
                .map(|v| {
                    let (v, cited) = strip_citations(v);
                    any |= cited;
                    v
                })
                .collect();
            (Value::Array(items), any)
        }
        other => (other, false),
    }
}

/// Decodes the extracted value into `T`. Reducto answers a list of one
/// object for one document; that object is `T`. A longer list (array
/// extract) is `T` itself (e.g. a `Vec`).
fn decode_value<T: Extractable>(result: Value) -> Result<T> {
    let (value, prefix) = match result {
        Value::Array(mut items)
            if items.len() == 1 && TypeId::of::<T>() != TypeId::of::<Value>() =>
        {
            (items.remove(0), "result[0]")
        }
        other => (other, "result"),
    };
    crate::job_result::decode_at::<T>(&value).map_err(|e| {
        let path = if e.path == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", e.path)
        };
        Error::Decode(Box::new(DecodeError {
            status: reqwest::StatusCode::OK,
            headers: Default::default(),
            body: serde_json::to_vec(&value).unwrap_or_default().into(),
            path: Some(path),
            source: e.source,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, JsonSchema, PartialEq)]
    struct Small {
        total: f64,
        lines: Vec<Line>,
    }
    #[derive(Debug, serde::Deserialize, JsonSchema, PartialEq)]
    struct Line {
        amount: f64,
    }

    #[test]
    fn citations_are_stripped_and_kept() {
        let raw = json!({"total": {"value": 3.0, "citations": [{"bbox": {}}]},
                         "lines": [{"amount": {"value": 3.0, "citations": []}}]});
        let (plain, cited) = strip_citations(raw);
        assert!(cited);
        assert_eq!(plain, json!({"total": 3.0, "lines": [{"amount": 3.0}]}));
    }

    #[test]
    fn a_value_the_type_cannot_hold_names_path_expectation_and_value() {
        let err = decode_value::<Small>(json!([{"total": 1.0, "lines": [{"amount": "ten"}]}]))
            .unwrap_err();
        let Error::Decode(decode) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(decode.path.as_deref(), Some("result[0].lines[0].amount"));
        let err = format!("{err} {}", decode.source);
        assert!(err.contains("at result[0].lines[0].amount"), "{err}");
        assert!(
            err.contains("invalid type: string \"ten\", expected f64"),
            "{err}"
        );
    }
}
