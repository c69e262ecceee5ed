//! What a batch does to each document once it is uploaded: an
//! [`Operation`] starts a job and turns the finished job into a result.

use std::future::Future;

use crate::{
    error::Result,
    parse::{DocumentInput, ParseOptions},
    types::{FullResult, Job},
    Reducto, RetryPolicy,
};

/// One of Reducto's asynchronous operations, as a batch runs it: start a
/// job for a document, then turn the completed job into the result the
/// batch yields. The batch does the rest (upload, limits, retries, state,
/// waiting).
///
/// An operation is a few lines on top of the client's own calls. Send the
/// request with the `retry` policy given (the batch's requests are not
/// retried inside the client, so that the batch sees each 429 and adapts).
///
/// ```
/// use reducto::{batch::Operation, types::Job, DocumentInput, Reducto, RetryPolicy};
///
/// /// Parses, and keeps only the number of pages.
/// struct PageCount;
///
/// impl Operation for PageCount {
///     type Output = i64;
///
///     fn name(&self) -> &'static str {
///         "page-count"
///     }
///
///     async fn submit(
///         &self,
///         client: &Reducto,
///         input: DocumentInput,
///         retry: RetryPolicy,
///     ) -> reducto::Result<String> {
///         Ok(client.parse().run_job(input).retry(retry).await?.job_id)
///     }
///
///     async fn result(&self, _client: &Reducto, job: Job) -> reducto::Result<i64> {
///         Ok(job.result.map_or(0, |r| match r {
///             reducto::types::JobResult::ParseResponse(p) => p.usage.num_pages,
///             _ => 0,
///         }))
///     }
/// }
/// ```
pub trait Operation: Send + Sync + 'static {
    /// What the batch yields for each document.
    type Output: Send + 'static;

    /// A short name, for logs.
    fn name(&self) -> &'static str;

    /// Starts the job for `input` (an upload, or a URL); resolves to its id.
    fn submit(
        &self,
        client: &Reducto,
        input: DocumentInput,
        retry: RetryPolicy,
    ) -> impl Future<Output = Result<String>> + Send;

    /// The result of a job that ended `Completed`.
    fn result(
        &self,
        client: &Reducto,
        job: Job,
    ) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// Parses each document (`POST /parse_async`) and yields the full parse
/// result, fetched from its URL when Reducto did not inline it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParseOperation {
    options: ParseOptions,
}

impl ParseOperation {
    /// Parses with these options.
    pub fn new(options: ParseOptions) -> Self {
        ParseOperation { options }
    }
}

impl Operation for ParseOperation {
    type Output = FullResult;

    fn name(&self) -> &'static str {
        "parse"
    }

    async fn submit(
        &self,
        client: &Reducto,
        input: DocumentInput,
        retry: RetryPolicy,
    ) -> Result<String> {
        let started = client
            .parse()
            .run_job(input)
            .options(self.options.clone())
            .retry(retry)
            .await?;
        Ok(started.job_id)
    }

    async fn result(&self, client: &Reducto, job: Job) -> Result<FullResult> {
        client.parse().full_result(&job).await
    }
}
