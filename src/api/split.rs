//! `POST /split` and `/split_async`: which pages of a document belong to
//! which category.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let split = client
//!     .split()
//!     .run("https://example.com/packet.pdf")
//!     .category("invoice", "Invoices and their terms")
//!     .category("receipt", "Receipts of payment")
//!     .await?;
//! println!("{:?}", split.result);
//! # Ok(()) }
//! ```

use serde_json::{json, Map, Value};

use super::{fetch_result, result_of_kind, BoxFuture, Operation, Request, Run, RunJob};
use crate::{
    error::{Error, Result},
    types::{SplitResponse, SplitResponseResult, SplitSettings},
    DocumentInput, Reducto,
};

/// Split calls: `client.split()`.
#[derive(Debug, Clone)]
pub struct Splits {
    client: Reducto,
}

impl Splits {
    pub(crate) fn new(client: &Reducto) -> Self {
        Splits {
            client: client.clone(),
        }
    }

    /// Splits synchronously (`POST /split`); add categories with
    /// [`category`](Request::category).
    pub fn run(&self, input: impl Into<DocumentInput>) -> Run<Split> {
        Request::new(&self.client, input.into())
    }

    /// Starts a split job (`POST /split_async`).
    pub fn run_job(&self, input: impl Into<DocumentInput>) -> RunJob<Split> {
        Request::new(&self.client, input.into())
    }
}

/// The split operation.
#[derive(Debug)]
pub struct Split;

impl super::sealed::Sealed for Split {}

impl Operation for Split {
    type Output = SplitResponse;
    type Response = SplitResponse;
    const NAME: &'static str = "split";

    fn prepare(body: &mut Map<String, Value>) -> Result<()> {
        match body.get("split_description") {
            Some(Value::Array(categories)) if !categories.is_empty() => Ok(()),
            _ => Err(Error::invalid(
                "split_description",
                "a split needs at least one category: call .category(name, description)",
            )),
        }
    }

    result_of_kind!(SplitResponse);

    fn finish(client: Reducto, mut response: SplitResponse) -> BoxFuture<SplitResponse> {
        Box::pin(async move {
            if let SplitResponseResult::UrlResult(url) = &response.result {
                response.result = fetch_result(&client, url).await?;
            }
            Ok(response)
        })
    }
}

impl<M> Request<Split, M> {
    /// A category of pages (`split_description` item): its name, and a
    /// description of what belongs in it.
    pub fn category(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.push(
            "split_description",
            json!({"name": name.into(), "description": description.into()}),
        )
    }

    /// A category whose pages are further partitioned by the value of
    /// `partition_key` (e.g. one partition per invoice number).
    pub fn partitioned_category(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        partition_key: impl Into<String>,
    ) -> Self {
        self.push(
            "split_description",
            json!({"name": name.into(), "description": description.into(),
                   "partition_key": partition_key.into()}),
        )
    }

    /// Rules for the model, in prose (`split_rules`).
    pub fn split_rules(self, rules: impl Into<String>) -> Self {
        self.set(&["split_rules"], rules.into())
    }

    /// A slower, more thorough split (`settings.deep_split`).
    pub fn deep_split(self, on: bool) -> Self {
        self.set(&["settings", "deep_split"], on)
    }

    /// Whether a page may belong to several categories (default true).
    pub fn allow_page_overlap(self, on: bool) -> Self {
        self.set(&["settings", "allow_page_overlap"], on)
    }

    /// Every setting at once, as the generated type.
    pub fn settings(self, settings: SplitSettings) -> Self {
        self.set_group("settings", settings)
    }

    /// How the document is parsed first, as the generated type.
    pub fn parsing(self, parsing: crate::types::ParseOptions) -> Self {
        self.set_group("parsing", parsing)
    }
}
