//! Thousands of documents: a batch pipeline.
//!
//! A [`Batch`] reads documents lazily (paths, a directory walked
//! recursively, URLs, [`Document`](crate::Document)s, or any `Stream` of
//! them), runs each through upload, the chosen [`Operation`] (parse by
//! default; [`extract`](Batch::extract) into a type,
//! [`split`](Batch::split), [`classify`](Batch::classify),
//! [`pipeline`](Batch::pipeline), [`edit`](Batch::edit), each with the
//! options of its `run_job` set in [`options`](Batch::options)), wait and
//! result, and yields one [`Outcome`] per document in the order they finish.
//!
//! - **Failures stay per document.** An outcome names its document, and a
//!   failure its [`Stage`] and the crate's [`Error`]; the other documents
//!   go on.
//! - **Bounded memory.** At most `uploads + submits + running_jobs +
//!   results + 1` documents are held between the source and the caller;
//!   the source (a directory walk too) is read only as places free up.
//! - **Stages overlap**, each bounded: uploads go on while earlier jobs run.
//! - **Adapts to rate limits.** Every request goes through one
//!   [`AdaptiveLimiter`]: a 429 halves the requests in flight and holds new
//!   ones for the server's `retry-after`; successes grow the limit back, up
//!   to [`Batch::max_requests`]. To see each 429, the batch sends its
//!   requests with [`RetryPolicy::none`] and retries them itself, through
//!   the limiter ([`Batch::retry`] for other retryable errors).
//! - **Survives restarts** with a [`state file`](Batch::state_file): a rerun
//!   skips finished documents and waits on submitted jobs instead of
//!   uploading and billing them again. The format and its damage rules are
//!   in [`state`].
//! - **Progress** as a `tokio::sync::watch` value: [`BatchRun::progress`].
//! - **Dropping** the [`BatchRun`] stops new work at once: in-flight
//!   requests are dropped, nothing more is read or uploaded. Jobs already
//!   submitted are left running by default ([`OnDrop::Leave`]), or
//!   cancelled with [`OnDrop::Cancel`].
//! - **Webhooks instead of polling**: give [`Batch::job_events`] a stream of
//!   ids of jobs that ended (e.g. from verified webhook deliveries); each
//!   such job is fetched at once, and polling falls back to a slow schedule.
//!
//! ```no_run
//! use futures::StreamExt;
//! use reducto::{batch::Batch, Reducto};
//!
//! # async fn run() -> Result<(), reducto::Error> {
//! let client = Reducto::from_env()?;
//! let mut outcomes = Batch::new(&client)
//!     .documents_in("./contracts")
//!     .state_file("contracts.batch.jsonl")
//!     .start()
//!     .await?;
//! let progress = outcomes.progress();
//! while let Some(outcome) = outcomes.next().await {
//!     match outcome.result {
//!         Ok(parsed) => println!("{}: {} chunks", outcome.document, parsed.chunks.len()),
//!         Err(failure) => eprintln!("{}: {failure}", outcome.document),
//!     }
//! }
//! let p = progress.borrow().clone();
//! println!("{} done, {} failed, {:.1} docs/s", p.done, p.failed, p.throughput());
//! # Ok(()) }
//! ```
//!
//! Extraction into a type, resumable:
//!
//! ```no_run
//! use futures::StreamExt;
//! use reducto::{batch::Batch, Reducto};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! /// An invoice.
//! #[derive(JsonSchema, Deserialize)]
//! struct Invoice {
//!     /// The invoice number, as printed.
//!     number: String,
//!     /// The amount due, in the invoice's currency.
//!     total: f64,
//! }
//!
//! # async fn run(client: Reducto) -> Result<(), reducto::Error> {
//! let mut outcomes = Batch::new(&client)
//!     .documents_in("./contracts")
//!     .extract::<Invoice>()
//!     .state_file("contracts.batch.jsonl")
//!     .start()
//!     .await?;
//! while let Some(outcome) = outcomes.next().await {
//!     match outcome.result {
//!         Ok(invoice) => println!("{}: {}", outcome.document, invoice.value.number),
//!         Err(e) => eprintln!("{}: {e}", outcome.document),
//!     }
//! }
//! # Ok(()) }
//! ```

mod limiter;
mod operation;
mod pipeline;
mod progress;
mod source;
pub mod state;

use std::{
    fmt,
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::{stream::BoxStream, Stream, StreamExt};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

pub use limiter::{AdaptiveLimiter, LimiterState, Permit, PROBE_AFTER};
pub use operation::{JobOperation, Operation, ParseOperation};
pub use progress::Progress;
pub use source::BatchDocument;

use crate::{
    api::{
        self, classify::Classify, edit::Edit, extract::Extract, extract::Extractable,
        pipeline::Pipeline, split::Split, RunJob,
    },
    error::Error,
    DocumentInput, ParseOptions, PollPolicy, Reducto, RetryPolicy,
};

/// The largest value any of a batch's concurrency settings accepts.
pub const MAX_CONCURRENCY: usize = 10_000;

/// The stage of a document's journey where it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The source could not produce the document (an unreadable directory:
    /// the outcome's `document` is the directory).
    Source,
    /// Uploading it (a missing or unreadable file, an HTTP error).
    Upload,
    /// Starting its job.
    Submit,
    /// Waiting for its job (the job failed or was cancelled, the wait timed
    /// out, polling failed).
    Wait,
    /// Fetching the completed job's result.
    Result,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Source => "source",
            Stage::Upload => "upload",
            Stage::Submit => "submit",
            Stage::Wait => "wait",
            Stage::Result => "result",
        })
    }
}

/// Why a document failed: the stage, and the error.
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure {
    /// Where it failed.
    pub stage: Stage,
    /// Why.
    pub error: Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.stage, self.error)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// What became of one document.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome<T> {
    /// The document's key (its path, URL, or the key given).
    pub document: String,
    /// Its upload's `reducto://` id, once uploaded.
    pub upload_id: Option<String>,
    /// Its job's id, once submitted.
    pub job_id: Option<String>,
    /// Whether an earlier run's upload or job was reused (state file).
    pub resumed: bool,
    /// The operation's result, or where and why it failed.
    pub result: Result<T, Failure>,
}

/// What happens to submitted jobs when the [`BatchRun`] is dropped before
/// they end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnDrop {
    /// Leave them running (the default): they are already billed, their
    /// results stay available by job id, and a rerun with the same state
    /// file picks them up instead of submitting the documents again.
    #[default]
    Leave,
    /// Cancel each (best effort, without retries) before the batch's task
    /// ends.
    Cancel,
}

/// A batch of documents, configured: start it with [`start`](Self::start).
///
/// Defaults: parse with the server's defaults; 8 uploads, 16 submissions,
/// 256 running jobs and 8 result fetches at once; at most 64 requests in
/// flight, starting at 16 and adapting to 429s; other retryable errors
/// retried as by [`RetryPolicy::default`], 429s up to 20 times per request;
/// jobs polled from 1 s growing to 10 s, for at most an hour each (30 s to
/// 60 s with [`job_events`](Self::job_events)); no state file; submitted
/// jobs left running when dropped.
#[must_use = "a batch does nothing until started"]
pub struct Batch<O = ParseOperation> {
    client: Reducto,
    operation: O,
    source: Option<source::Source>,
    state_file: Option<PathBuf>,
    limits: Limits,
    retry: RetryPolicy,
    max_rate_limit_retries: u32,
    poll: PollPolicy,
    event_poll: PollPolicy,
    events: Option<BoxStream<'static, String>>,
    on_drop: OnDrop,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    uploads: usize,
    submits: usize,
    running_jobs: usize,
    results: usize,
    max_requests: usize,
    initial_requests: Option<usize>,
}

impl<O> fmt::Debug for Batch<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("state_file", &self.state_file)
            .field("limits", &self.limits)
            .field("on_drop", &self.on_drop)
            .finish_non_exhaustive()
    }
}

impl Batch<ParseOperation> {
    /// A batch on this client (cloned: it shares the connection pool) that
    /// parses each document with the server's defaults. Give it documents
    /// with [`documents`](Self::documents),
    /// [`document_stream`](Self::document_stream) or
    /// [`documents_in`](Self::documents_in).
    pub fn new(client: &Reducto) -> Self {
        Batch {
            client: client.clone(),
            operation: ParseOperation::default(),
            source: None,
            state_file: None,
            limits: Limits {
                uploads: 8,
                submits: 16,
                running_jobs: 256,
                results: 8,
                max_requests: 64,
                initial_requests: None,
            },
            retry: RetryPolicy::default(),
            max_rate_limit_retries: 20,
            poll: PollPolicy::default().deadline(Duration::from_secs(3600)),
            event_poll: PollPolicy::default()
                .initial_delay(Duration::from_secs(30))
                .max_delay(Duration::from_secs(60))
                .deadline(Duration::from_secs(3600)),
            events: None,
            on_drop: OnDrop::Leave,
        }
    }

    /// Parses each document with these options.
    pub fn parse(self, options: ParseOptions) -> Self {
        self.operation(ParseOperation::new(options))
    }
}

impl<O: Operation> Batch<O> {
    /// Runs this operation on each document instead.
    pub fn operation<P: Operation>(self, operation: P) -> Batch<P> {
        Batch {
            client: self.client,
            operation,
            source: self.source,
            state_file: self.state_file,
            limits: self.limits,
            retry: self.retry,
            max_rate_limit_retries: self.max_rate_limit_retries,
            poll: self.poll,
            event_poll: self.event_poll,
            events: self.events,
            on_drop: self.on_drop,
        }
    }

    /// Extracts a `T` from each document (`POST /extract_async`), with the
    /// JSON Schema generated from `T`; each outcome's value is an
    /// [`Extracted<T>`](crate::api::extract::Extracted) (the value in
    /// `.value`, with its citations, usage and job id), as
    /// `client.extract().run_job::<T>(..).wait()` gives. With
    /// `T = serde_json::Value`, give the schema with
    /// [`options`](Self::options): `.options(|e| e.schema(schema))`.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use reducto::{batch::Batch, Reducto};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// /// An invoice.
    /// #[derive(JsonSchema, Deserialize)]
    /// struct Invoice {
    ///     /// The invoice number, as printed.
    ///     number: String,
    ///     total: f64,
    /// }
    ///
    /// # async fn run(client: Reducto) -> Result<(), reducto::Error> {
    /// let mut outcomes = Batch::new(&client)
    ///     .documents_in("./invoices")
    ///     .extract::<Invoice>()
    ///     .options(|e| e.system_prompt("Amounts are in euros."))
    ///     .state_file("invoices.batch.jsonl")
    ///     .start()
    ///     .await?;
    /// while let Some(outcome) = outcomes.next().await {
    ///     match outcome.result {
    ///         Ok(invoice) => println!("{}: {}", outcome.document, invoice.value.number),
    ///         Err(failure) => eprintln!("{}: {failure}", outcome.document),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn extract<T: Extractable>(self) -> Batch<JobOperation<Extract<T>>> {
        let template = self.client.extract().run_job::<T>(unset());
        self.job(template)
    }

    /// Splits each document's pages into categories (`POST /split_async`);
    /// add the categories with [`options`](Self::options):
    /// `.options(|s| s.category("invoice", "Invoices"))`. Each outcome's
    /// value is the [`SplitResponse`](crate::types::SplitResponse).
    pub fn split(self) -> Batch<JobOperation<Split>> {
        let template = self.client.split().run_job(unset());
        self.job(template)
    }

    /// Classifies each document (`POST /classify_async`); add the
    /// categories with [`options`](Self::options):
    /// `.options(|c| c.category("invoice", ["invoice", "amount due"]))`.
    /// Each outcome's value is a
    /// [`Classified`](crate::api::classify::Classified).
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
    /// use futures::StreamExt;
    /// use reducto::batch::Batch;
    ///
    /// let mut outcomes = Batch::new(&client)
    ///     .documents_in("./inbox")
    ///     .classify()
    ///     .options(|c| c.categories(["invoice", "receipt", "contract"]))
    ///     .start()
    ///     .await?;
    /// while let Some(outcome) = outcomes.next().await {
    ///     if let Ok(kind) = outcome.result {
    ///         println!("{} is a {}", outcome.document, kind.category);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn classify(self) -> Batch<JobOperation<Classify>> {
        let template = self.client.classify().run_job(unset());
        self.job(template)
    }

    /// Runs the Reducto Studio pipeline `pipeline_id` on each document
    /// (`POST /pipeline_async`). Each outcome's value is the
    /// [`PipelineResponse`](crate::types::PipelineResponse).
    pub fn pipeline(self, pipeline_id: impl Into<String>) -> Batch<JobOperation<Pipeline>> {
        let template = self.client.pipeline().run_job(unset(), pipeline_id);
        self.job(template)
    }

    /// Edits each document by these instructions (`POST /edit_async`).
    /// Each outcome's value is the
    /// [`EditResponse`](crate::types::EditResponse), with the edited
    /// document's URL (not downloaded).
    pub fn edit(self, instructions: impl Into<String>) -> Batch<JobOperation<Edit>> {
        let template = self.client.edit().run_job(unset(), instructions);
        self.job(template)
    }

    fn job<Op: api::Operation>(self, template: RunJob<Op>) -> Batch<JobOperation<Op>> {
        self.operation(JobOperation::new(template))
    }

    /// The documents: paths (`&str`, `String`, `PathBuf`) or
    /// [`BatchDocument`]s, from any iterator; read one at a time as the
    /// pipeline has room.
    pub fn documents<I>(mut self, documents: I) -> Self
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send + 'static,
        I::Item: Into<BatchDocument>,
    {
        self.source = Some(source::from_iter(documents));
        self
    }

    /// The documents, from any stream (a queue, a bucket listing).
    pub fn document_stream<S>(mut self, documents: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: Into<BatchDocument>,
    {
        self.source = Some(source::from_stream(documents));
        self
    }

    /// Every file under `dir`, recursively, walked lazily (one directory
    /// entry at a time). Symbolic links to files are followed, links to
    /// directories are not. An unreadable directory becomes one failed
    /// outcome ([`Stage::Source`]) and the walk goes on.
    pub fn documents_in(self, dir: impl Into<PathBuf>) -> Self {
        self.documents_in_where(dir, |_| true)
    }

    /// The files under `dir` that `filter` accepts, e.g. by extension.
    ///
    /// ```no_run
    /// # fn run(client: reducto::Reducto) {
    /// use reducto::batch::Batch;
    ///
    /// let pdfs = Batch::new(&client)
    ///     .documents_in_where("./contracts", |path| path.extension().is_some_and(|e| e == "pdf"));
    /// # let _ = pdfs; }
    /// ```
    pub fn documents_in_where(
        mut self,
        dir: impl Into<PathBuf>,
        filter: impl Fn(&Path) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(source::walk(dir.into(), Arc::new(filter)));
        self
    }

    /// Records each step in this file (created if missing) and resumes from
    /// it: see [`state`].
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Documents uploaded at once (default 8).
    pub fn uploads(mut self, n: usize) -> Self {
        self.limits.uploads = n;
        self
    }

    /// Jobs being submitted at once (default 16).
    pub fn submits(mut self, n: usize) -> Self {
        self.limits.submits = n;
        self
    }

    /// Jobs submitted and not yet ended, at most (default 256). Reducto
    /// queues async jobs beyond the account's ceiling rather than failing
    /// them, so this bounds the batch's memory and its polling, not the
    /// server's work.
    pub fn running_jobs(mut self, n: usize) -> Self {
        self.limits.running_jobs = n;
        self
    }

    /// Results fetched at once (default 8).
    pub fn results(mut self, n: usize) -> Self {
        self.limits.results = n;
        self
    }

    /// The most requests in flight, whatever the limiter learns (default
    /// 64).
    pub fn max_requests(mut self, n: usize) -> Self {
        self.limits.max_requests = n;
        self
    }

    /// Where the adaptive limit starts (default 16, or `max_requests` if
    /// lower).
    pub fn initial_requests(mut self, n: usize) -> Self {
        self.limits.initial_requests = Some(n);
        self
    }

    /// How requests failing with a connection error, a timeout, 408, 409 or
    /// 5xx are retried (default [`RetryPolicy::default`]); also the backoff
    /// after a 429 without `retry-after`.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How many 429s one request may get before its document fails with
    /// [`Error::RateLimit`] (default 20).
    pub fn max_rate_limit_retries(mut self, n: u32) -> Self {
        self.max_rate_limit_retries = n;
        self
    }

    /// When jobs are polled, and how long each may take.
    pub fn poll_policy(mut self, policy: PollPolicy) -> Self {
        self.poll = policy;
        self
    }

    /// Ids of jobs that have ended, e.g. from verified webhook deliveries:
    /// each is fetched at once, and polling falls back to
    /// [`event_poll_policy`](Self::event_poll_policy) (default 30 s growing
    /// to 60 s) in case a delivery is lost. Ids of jobs the batch does not
    /// know are ignored.
    pub fn job_events<S>(mut self, job_ids: S) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: Into<String>,
    {
        self.events = Some(job_ids.map(Into::into).boxed());
        self
    }

    /// The fallback polling schedule used with [`job_events`](Self::job_events).
    pub fn event_poll_policy(mut self, policy: PollPolicy) -> Self {
        self.event_poll = policy;
        self
    }

    /// What happens to submitted jobs when the [`BatchRun`] is dropped
    /// early (default [`OnDrop::Leave`]).
    pub fn on_drop(mut self, on_drop: OnDrop) -> Self {
        self.on_drop = on_drop;
        self
    }

    /// Checks the settings, opens the state file, and starts the batch on
    /// the current tokio runtime.
    ///
    /// Fails with [`Error::InvalidArgument`] for a concurrency of 0 or above
    /// [`MAX_CONCURRENCY`], no documents, or operation settings no document
    /// can succeed with ([`Operation::check`]), and with [`Error::StateFile`]
    /// for a state file that cannot be opened or is damaged before its last
    /// line.
    pub async fn start(self) -> crate::Result<BatchRun<O::Output>> {
        self.operation.check()?;
        let l = self.limits;
        for (name, value) in [
            ("uploads", l.uploads),
            ("submits", l.submits),
            ("running_jobs", l.running_jobs),
            ("results", l.results),
            ("max_requests", l.max_requests),
            ("initial_requests", l.initial_requests.unwrap_or(1)),
        ] {
            if !(1..=MAX_CONCURRENCY).contains(&value) {
                return Err(Error::invalid(
                    name,
                    format!("{value} is outside 1..={MAX_CONCURRENCY}"),
                ));
            }
        }
        let source = self.source.ok_or_else(|| {
            Error::invalid(
                "documents",
                "the batch has no documents: call documents, document_stream or documents_in",
            )
        })?;
        let (state, index) = match self.state_file {
            Some(path) => {
                let opened = tokio::task::spawn_blocking(move || state::StateFile::open(&path))
                    .await
                    .map_err(|e| Error::Config(format!("opening the state file: {e}")))??;
                (Some(opened.0), opened.1)
            }
            None => (None, Default::default()),
        };
        let limiter = AdaptiveLimiter::new(
            l.initial_requests.unwrap_or(16).min(l.max_requests),
            l.max_requests,
        );
        let (tracker, progress) = progress::Tracker::new();
        tracker.limiter(limiter.state().limit, 0);
        let ctx = Arc::new(pipeline::Context::new(pipeline::Settings {
            client: self.client,
            operation: self.operation,
            state,
            limiter: limiter.clone(),
            tracker,
            uploads: l.uploads,
            submits: l.submits,
            running_jobs: l.running_jobs,
            results: l.results,
            retry: self.retry,
            max_rate_limit_retries: self.max_rate_limit_retries,
            poll: if self.events.is_some() {
                self.event_poll
            } else {
                self.poll
            },
            on_drop: self.on_drop,
        }));
        // Every outcome counts as admitted until it is in the channel, and
        // the channel holds one: the documents held stay within `admit + 1`.
        let admit = l.uploads + l.submits + l.running_jobs + l.results;
        let (tx, rx) = mpsc::channel(1);
        let driver = tokio::spawn(pipeline::drive(ctx, source, index, self.events, tx, admit));
        Ok(BatchRun {
            outcomes: rx,
            progress,
            limiter,
            driver: Some(driver),
        })
    }
}

impl<Op: api::Operation> Batch<JobOperation<Op>> {
    /// Sets the operation's options with the same setters as
    /// `client.<operation>().run_job(..)`: the closure gets the request
    /// every document will be sent with, and returns it changed. Settings
    /// no document can succeed with (no categories, no schema for
    /// `serde_json::Value`) fail [`start`](Self::start).
    ///
    /// ```no_run
    /// # fn run(client: reducto::Reducto) {
    /// use reducto::batch::Batch;
    ///
    /// let batch = Batch::new(&client)
    ///     .documents_in("./packets")
    ///     .split()
    ///     .options(|s| {
    ///         s.category("invoice", "Invoices and their terms")
    ///             .category("receipt", "Receipts of payment")
    ///             .allow_page_overlap(false)
    ///     });
    /// # let _ = batch; }
    /// ```
    pub fn options(mut self, f: impl FnOnce(RunJob<Op>) -> RunJob<Op>) -> Self {
        self.operation = self.operation.map(f);
        self
    }
}

/// The input of a batch's request template: each document replaces it.
fn unset() -> DocumentInput {
    DocumentInput::Url(String::new())
}

/// A running batch: a `Stream` of [`Outcome`]s in the order documents
/// finish, ending when every document has one. Dropping it stops the batch
/// (see [`OnDrop`]).
#[must_use = "a batch stops when its run is dropped"]
pub struct BatchRun<T> {
    outcomes: mpsc::Receiver<Outcome<T>>,
    progress: watch::Receiver<Progress>,
    limiter: AdaptiveLimiter,
    driver: Option<JoinHandle<()>>,
}

impl<T> fmt::Debug for BatchRun<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchRun")
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl<T> BatchRun<T> {
    /// Counts per stage and throughput, updated as documents move: await
    /// `changed()` on it to redraw a progress bar.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// The adaptive request limit as it stands.
    pub fn limiter(&self) -> LimiterState {
        self.limiter.state()
    }
}

impl<T> Stream for BatchRun<T> {
    type Item = Outcome<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(outcome) = futures::ready!(self.outcomes.poll_recv(cx)) {
            return Poll::Ready(Some(outcome));
        }
        // The channel closed: the batch is over. A panic in it (a bug)
        // surfaces here instead of looking like a short batch.
        if let Some(driver) = self.driver.as_mut() {
            let ended = futures::ready!(Pin::new(driver).poll(cx));
            self.driver = None;
            if let Err(e) = ended {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        Poll::Ready(None)
    }
}
