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

use super::{
    entry_point, fetch_result, require_items, result_of_kind, BoxFuture, Operation, Request,
};
use crate::{
    error::Result,
    types::{SplitResponse, SplitResponseResult, SplitSettings},
    Reducto,
};

entry_point! {
    /// Split calls: `client.split()`; add categories with
    /// [`category`](Request::category).
    Splits => Split, "split"
}

impl Operation for Split {
    type Output = SplitResponse;
    type Response = SplitResponse;
    const NAME: &'static str = "split";

    fn prepare(body: &mut Map<String, Value>) -> Result<()> {
        require_items(
            body,
            "split_description",
            "a split needs at least one category: call .category(name, description)",
        )
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

    /// Always return the result as a URL (fetched for you).
    pub fn force_url_result(self, on: bool) -> Self {
        self.set(&["settings", "force_url_result"], on)
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
