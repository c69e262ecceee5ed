//! `POST /classify` and `/classify_async`: which category a document is.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let kind = client
//!     .classify()
//!     .run("https://example.com/doc.pdf")
//!     .category("invoice", ["invoice", "amount due"])
//!     .category("receipt", ["receipt", "paid"])
//!     .await?;
//! println!("{}", kind.category);
//! # Ok(()) }
//! ```

use serde_json::{json, Map, Value};

use super::{
    entry_point, fetch_result, require_items, result_of_kind, BoxFuture, Operation, Request,
};
use crate::{
    error::{Error, Result},
    types::{ClassifyConfigModel, ClassifyResponse, ClassifyResponseResult},
    Reducto,
};

entry_point! {
    /// Classification calls: `client.classify()`; add categories with
    /// [`category`](Request::category) or [`categories`](Request::categories).
    Classifies => Classify, "classify"
}

/// A classification: the category picked, and the whole response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Classified {
    /// The category picked.
    pub category: String,
    /// The whole response (confidence, usage, `extra_metadata`).
    pub response: ClassifyResponse,
}

impl Operation for Classify {
    type Output = Classified;
    type Response = ClassifyResponse;
    const NAME: &'static str = "classify";

    fn prepare(body: &mut Map<String, Value>) -> Result<()> {
        require_items(
            body,
            "classification_schema",
            "a classification needs categories: call .category(name, criteria)",
        )
    }

    result_of_kind!(ClassifyResponse);

    fn finish(client: Reducto, mut response: ClassifyResponse) -> BoxFuture<Classified> {
        Box::pin(async move {
            if let ClassifyResponseResult::UrlResult(url) = &response.result {
                response.result = fetch_result(&client, url).await?;
            }
            match &response.result {
                ClassifyResponseResult::ClassifyResponseCategory(picked) => Ok(Classified {
                    category: picked.category.clone(),
                    response,
                }),
                ClassifyResponseResult::UrlResult(_) => Err(Error::invalid(
                    "result",
                    "the classification's result URL held another URL",
                )),
            }
        })
    }
}

impl<M> Request<Classify, M> {
    /// A category and the words or phrases that mark it.
    pub fn category<I, S>(self, name: impl Into<String>, criteria: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let criteria: Vec<String> = criteria.into_iter().map(Into::into).collect();
        self.push(
            "classification_schema",
            json!({"category": name.into(), "criteria": criteria}),
        )
    }

    /// Categories known by name alone (each its own criterion).
    pub fn categories<I, S>(self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        names.into_iter().fold(self, |request, name| {
            let name = name.into();
            request.category(name.clone(), [name])
        })
    }

    /// Groups categories under a name, reported in `extra_metadata.grouping`.
    pub fn category_group<I, S>(self, group: impl Into<String>, categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let categories: Vec<String> = categories.into_iter().map(Into::into).collect();
        self.insert("category_groups", group.into(), json!(categories))
    }

    /// What is known about the document, for the model (`document_metadata`).
    pub fn document_metadata(self, metadata: impl Into<String>) -> Self {
        self.set(&["document_metadata"], metadata.into())
    }

    /// The model (`default` or `accurate`).
    pub fn model(self, model: ClassifyConfigModel) -> Self {
        self.set(&["model"], model)
    }

    /// Always return the result as a URL (fetched for you).
    pub fn force_url_result(self, on: bool) -> Self {
        self.set(&["force_url_result"], on)
    }

    /// Only pages `start..=end` (1-based).
    pub fn pages(self, start: i64, end: i64) -> Self {
        self.set(&["page_range"], json!({"start": start, "end": end}))
    }
}
