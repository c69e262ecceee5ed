//! What a batch does to each document once it is uploaded: an
//! [`Operation`] starts a job and turns the finished job into a result.

use std::future::Future;

use crate::{
    api::{self, RunJob},
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

    /// Checks the operation's settings once, when the batch starts, so
    /// that settings no document can succeed with (a classification
    /// without categories) fail [`Batch::start`](super::Batch::start)
    /// instead of every document. Accepts anything by default.
    fn check(&self) -> Result<()> {
        Ok(())
    }
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

/// Runs one of the operations of [`api`] (extract, split, classify,
/// pipeline, edit) on each document, as a job (`POST /<operation>_async`):
/// the same request as `client.<operation>().run_job(..)`, with the same
/// options, sent once per document. Its output is what that job's
/// `.wait()` resolves to ([`Extracted<T>`](crate::api::extract::Extracted)
/// for extract, [`Classified`](crate::api::classify::Classified) for
/// classify, ...), URL results fetched.
///
/// Made by [`Batch::extract`](super::Batch::extract),
/// [`split`](super::Batch::split), [`classify`](super::Batch::classify),
/// [`pipeline`](super::Batch::pipeline) and [`edit`](super::Batch::edit);
/// set its options with [`Batch::options`](super::Batch::options).
pub struct JobOperation<Op: api::Operation> {
    /// The request every document is sent with, its input replaced.
    template: RunJob<Op>,
}

impl<Op: api::Operation> JobOperation<Op> {
    pub(crate) fn new(template: RunJob<Op>) -> Self {
        JobOperation { template }
    }

    pub(crate) fn map(self, f: impl FnOnce(RunJob<Op>) -> RunJob<Op>) -> Self {
        JobOperation {
            template: f(self.template),
        }
    }
}

impl<Op: api::Operation> std::fmt::Debug for JobOperation<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobOperation")
            .field("template", &self.template)
            .finish()
    }
}

impl<Op: api::Operation> Operation for JobOperation<Op> {
    type Output = Op::Output;

    fn name(&self) -> &'static str {
        Op::NAME
    }

    async fn submit(
        &self,
        _client: &Reducto,
        input: DocumentInput,
        retry: RetryPolicy,
    ) -> Result<String> {
        // The template was made on the batch's own client.
        let request = self.template.for_input(input).retry(retry);
        Ok(request.send().await?.job_id)
    }

    async fn result(&self, client: &Reducto, job: Job) -> Result<Op::Output> {
        api::result_of::<Op>(client.clone(), None, job).await
    }

    fn check(&self) -> Result<()> {
        // Any non-empty input will do: the options are what is checked.
        let probe = DocumentInput::Url("https://example.com/document.pdf".into());
        self.template.for_input(probe).job_body().map(drop)
    }
}
