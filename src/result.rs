//! The full result of a parse, whether Reducto inlined it or returned a URL.
//!
//! Reducto returns `{type: "url", url, result_id}` instead of the chunks when
//! a result is too large to inline. [`Parses::full_result`] hides the
//! difference: it fetches the URL (with the client's retry policy, and never
//! with the Reducto key: the URL points at a storage host).

use crate::{
    error::{Error, Result},
    parse::Parses,
    transport::RequestOptions,
    types::{FullResult, Job, JobResult, ParseChunk, ParseResponse, ParseResult},
    Reducto,
};

/// Anything that carries a parse result: a [`ParseResponse`], a completed
/// [`Job`], or the [`ParseResult`] itself.
pub trait ParseResultSource {
    /// The parse result, if there is one.
    fn parse_result(&self) -> Option<&ParseResult>;
}

impl ParseResultSource for ParseResult {
    fn parse_result(&self) -> Option<&ParseResult> {
        Some(self)
    }
}

impl ParseResultSource for ParseResponse {
    fn parse_result(&self) -> Option<&ParseResult> {
        Some(&self.result)
    }
}

impl ParseResultSource for Job {
    fn parse_result(&self) -> Option<&ParseResult> {
        match &self.result {
            Some(JobResult::ParseResponse(parsed)) => Some(&parsed.result),
            _ => None,
        }
    }
}

impl<T: ParseResultSource + ?Sized> ParseResultSource for &T {
    fn parse_result(&self) -> Option<&ParseResult> {
        (**self).parse_result()
    }
}

/// What a result URL may hold: the full result object, or just its chunks.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Stored {
    Full(FullResult),
    Chunks(Vec<ParseChunk>),
}

impl Parses {
    /// The full result, fetched from its URL when Reducto did not inline it.
    /// What is needed is taken from `source` now, so the request owns
    /// everything (its future is `Send + 'static`).
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto, job_id: String) -> Result<(), reducto::Error> {
    /// let job = client.job().wait(&job_id).await?;
    /// let result = client.parse().full_result(&job).await?;
    /// println!("{} chunks", result.chunks.len());
    /// # Ok(()) }
    /// ```
    pub fn full_result(&self, source: impl ParseResultSource) -> FetchFullResult {
        let target = match source.parse_result() {
            Some(ParseResult::FullResult(full)) => Target::Inline(full.clone()),
            Some(ParseResult::UrlResult(url)) => Target::Url(url.url.clone()),
            None => Target::Missing,
        };
        FetchFullResult {
            client: self.client().clone(),
            target,
            request: RequestOptions::default(),
        }
    }
}

/// Where a full result is.
#[derive(Debug, Clone)]
enum Target {
    Inline(FullResult),
    Url(String),
    Missing,
}

/// The full result of a parse, ready to fetch: from
/// [`Parses::full_result`]. Await it, or set options first.
#[must_use = "a request does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct FetchFullResult {
    client: Reducto,
    target: Target,
    request: RequestOptions,
}

impl FetchFullResult {
    request_options!(request);

    /// Fetches the result (at once, without a request, when it was inline).
    pub async fn send(self) -> Result<FullResult> {
        let url = match self.target {
            Target::Inline(full) => return Ok(full),
            Target::Url(url) => url,
            Target::Missing => {
                return Err(Error::invalid(
                    "source",
                    "it carries no parse result (a job that is not a completed parse job?)",
                ))
            }
        };
        match crate::api::fetch_url::<Stored>(&self.client, &self.request, &url).await? {
            Stored::Full(full) => Ok(full),
            Stored::Chunks(chunks) => {
                let mut full: FullResult = crate::types::from_required(
                    serde_json::json!({ "type": "full", "chunks": [] }),
                )?;
                full.chunks = chunks;
                Ok(full)
            }
        }
    }
}

into_future!(FetchFullResult => FullResult);
