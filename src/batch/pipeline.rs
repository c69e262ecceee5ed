//! The batch's machinery: the driver task that reads the source and
//! delivers outcomes, and each document's way through the stages.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

use futures::{stream::BoxStream, StreamExt};
use tokio::{
    sync::{mpsc, Notify, Semaphore},
    task::JoinSet,
};

use super::{
    limiter::AdaptiveLimiter,
    progress::{Counter, Tracker},
    source::{BatchDocument, Input, Source},
    state::{Record, RecordStage, Resume, StateFile},
    Failure, OnDrop, Operation, Outcome, Stage,
};
use crate::{
    error::{Error, Result},
    parse::DocumentInput,
    types::{Job, JobStatus},
    upload::Document,
    wait::{Due, PollSchedule},
    PollPolicy, Reducto, RetryPolicy,
};

/// How many ids of unknown jobs are remembered, in case their job event
/// arrives before the submission's answer is processed.
const EARLY_EVENTS: usize = 4096;

pub(super) struct Settings<O> {
    pub(super) client: Reducto,
    pub(super) operation: O,
    pub(super) state: Option<StateFile>,
    pub(super) limiter: AdaptiveLimiter,
    pub(super) tracker: Tracker,
    pub(super) uploads: usize,
    pub(super) submits: usize,
    pub(super) running_jobs: usize,
    pub(super) results: usize,
    pub(super) retry: RetryPolicy,
    pub(super) max_rate_limit_retries: u32,
    pub(super) poll: PollPolicy,
    pub(super) on_drop: OnDrop,
}

/// What every document's task shares.
pub(super) struct Context<O> {
    s: Settings<O>,
    uploads: Semaphore,
    submits: Semaphore,
    running: Semaphore,
    results: Semaphore,
    /// Jobs submitted and not ended, with a wake-up for their job event.
    jobs: Mutex<Jobs>,
}

#[derive(Default)]
struct Jobs {
    waiting: HashMap<String, Arc<Notify>>,
    /// Submitted jobs whose wait has not seen them end (kept when a wait is
    /// aborted, for [`OnDrop::Cancel`]).
    unfinished: HashSet<String>,
    early: VecDeque<String>,
}

impl<O: Operation> Context<O> {
    pub(super) fn new(s: Settings<O>) -> Self {
        Context {
            uploads: Semaphore::new(s.uploads),
            submits: Semaphore::new(s.submits),
            running: Semaphore::new(s.running_jobs),
            results: Semaphore::new(s.results),
            jobs: Mutex::default(),
            s,
        }
    }

    fn jobs(&self) -> MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A job event: wake that job's wait, or remember the id briefly.
    fn job_event(&self, job_id: String) {
        let mut jobs = self.jobs();
        match jobs.waiting.get(&job_id) {
            Some(wake) => wake.notify_one(),
            None => {
                if jobs.early.len() == EARLY_EVENTS {
                    jobs.early.pop_front();
                }
                jobs.early.push_back(job_id);
            }
        }
    }

    fn record(&self, record: Record) -> Result<()> {
        match &self.s.state {
            Some(state) => state.append(&record),
            None => Ok(()),
        }
    }

    /// Sends one request through the limiter: 429s shrink the limit and are
    /// retried after the pause (up to `max_rate_limit_retries`), other
    /// retryable errors after the retry policy's backoff. `attempt` gives
    /// `None` when the request cannot be sent again (a one-shot reader).
    async fn request<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Option<Fut>,
        Fut: Future<Output = Result<T>>,
    {
        let (mut rate_limited, mut retries) = (0u32, 0u32);
        let mut last_error = None;
        loop {
            let permit = self.s.limiter.acquire().await;
            let Some(request) = attempt() else {
                return Err(last_error
                    .unwrap_or_else(|| Error::invalid("document", "the document cannot be sent")));
            };
            let result = request.await;
            match result {
                Ok(value) => {
                    permit.success();
                    self.publish_limiter();
                    return Ok(value);
                }
                Err(e) if e.is_rate_limit() => {
                    permit.rate_limited(Some(self.s.retry.delay(rate_limited, e.headers())));
                    self.publish_limiter();
                    if rate_limited >= self.s.max_rate_limit_retries {
                        return Err(e);
                    }
                    rate_limited += 1;
                    last_error = Some(e);
                }
                Err(e) if e.is_retryable() && retries < self.s.retry.max_retries => {
                    drop(permit);
                    let delay = self.s.retry.delay(retries, e.headers());
                    retries += 1;
                    last_error = Some(e);
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn publish_limiter(&self) {
        let state = self.s.limiter.state();
        self.s.tracker.limiter(state.limit, state.rate_limited);
    }

    async fn upload(&self, document: Document) -> Result<String> {
        let replay = match document {
            Document::Path(path) => Replay::Path(path),
            Document::Bytes { data, file_name } => Replay::Bytes(data, file_name),
            reader @ Document::Reader { .. } => {
                // A one-shot reader: sent once, whatever the answer.
                let mut once = Some(reader);
                return self
                    .request(|| {
                        once.take()
                            .map(|d| self.s.client.upload(d).retry(RetryPolicy::none()).send())
                    })
                    .await
                    .map(|u| u.file_id);
            }
        };
        self.request(|| {
            Some(
                self.s
                    .client
                    .upload(replay.document())
                    .retry(RetryPolicy::none())
                    .send(),
            )
        })
        .await
        .map(|u| u.file_id)
    }

    /// Polls a job until it ends (or its deadline), waking early on its job
    /// event.
    async fn wait(&self, job_id: &str) -> Result<Job> {
        let wake = {
            let mut jobs = self.jobs();
            let wake = Arc::new(Notify::new());
            if let Some(i) = jobs.early.iter().position(|id| id == job_id) {
                jobs.early.remove(i);
                wake.notify_one();
            }
            jobs.waiting.insert(job_id.to_owned(), wake.clone());
            jobs.unfinished.insert(job_id.to_owned());
            wake
        };
        let mut registered = Registered {
            ctx: self,
            job_id,
            ended: false,
        };
        // The same schedule and hard deadline as `client.job().wait`.
        let mut schedule = PollSchedule::new(self.s.poll.clone());
        let mut last = None::<Job>;
        let timed_out = |last: Option<Job>| Error::WaitTimeout {
            job_id: job_id.to_owned(),
            last_status: last.as_ref().map(|j| j.status.clone()),
            last_progress: last.and_then(|j| j.progress),
        };
        loop {
            if let Due::TimedOut = schedule.next_poll(wake.notified()).await? {
                return Err(timed_out(last));
            }
            let poll = self.request(|| {
                Some(
                    self.s
                        .client
                        .job()
                        .get(job_id)
                        .retry(RetryPolicy::none())
                        .send(),
                )
            });
            let Some(job) = schedule.bounded(poll).await else {
                return Err(timed_out(last));
            };
            let job = job?;
            if job.status.is_terminal() {
                registered.ended = true;
                return Ok(job);
            }
            last = Some(job);
        }
    }
}

/// Unregisters a job's wake-up when its wait ends or is dropped.
struct Registered<'a, O> {
    ctx: &'a Context<O>,
    job_id: &'a str,
    /// Whether the job was seen to end.
    ended: bool,
}

impl<O> Drop for Registered<'_, O> {
    fn drop(&mut self) {
        let mut jobs = self.ctx.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.waiting.remove(self.job_id);
        if self.ended {
            jobs.unfinished.remove(self.job_id);
        }
    }
}

/// A document that can be sent again: a path or bytes.
enum Replay {
    Path(std::path::PathBuf),
    Bytes(bytes::Bytes, String),
}

impl Replay {
    fn document(&self) -> Document {
        match self {
            Replay::Path(path) => Document::Path(path.clone()),
            Replay::Bytes(data, name) => Document::bytes(data.clone(), name.clone()),
        }
    }
}

/// A document's place in the progress counts.
struct Position<'a> {
    tracker: &'a Tracker,
    at: Counter,
}

impl Position<'_> {
    fn to(&mut self, counter: Counter) {
        self.tracker.moved(self.at, counter);
        self.at = counter;
    }
}

/// One document, from upload to result.
async fn process<O: Operation>(
    ctx: Arc<Context<O>>,
    document: BatchDocument,
    resume: Option<Resume>,
) -> Outcome<O::Output> {
    let key = document.key.clone();
    let resumed = resume.is_some();
    if resumed {
        ctx.s.tracker.resumed();
    }
    let mut position = Position {
        tracker: &ctx.s.tracker,
        at: Counter::Queued,
    };
    let (mut upload_id, mut job_id) = (None, None);
    let result = stages(
        &ctx,
        document,
        resume,
        &mut upload_id,
        &mut job_id,
        &mut position,
    )
    .await;
    position.to(if result.is_ok() {
        Counter::Done
    } else {
        Counter::Failed
    });
    Outcome {
        document: key,
        upload_id,
        job_id,
        resumed,
        result,
    }
}

async fn stages<O: Operation>(
    ctx: &Context<O>,
    document: BatchDocument,
    resume: Option<Resume>,
    upload_id: &mut Option<String>,
    job_id: &mut Option<String>,
    position: &mut Position<'_>,
) -> Result<O::Output, Failure> {
    let fail = |stage| move |error| Failure { stage, error };
    let key = document.key;
    match resume {
        Some(Resume::Submitted {
            upload_id: upload,
            job_id: job,
        }) => {
            *upload_id = upload;
            *job_id = Some(job);
        }
        Some(Resume::Uploaded { upload_id: upload }) => *upload_id = Some(upload),
        Some(Resume::Finished) | None => {}
    }
    let running = if job_id.is_none() {
        let input = match (upload_id.clone(), document.input) {
            (Some(id), _) => DocumentInput::Url(id),
            (None, Input::Url(url)) => DocumentInput::Url(url),
            (None, Input::Document(doc)) => {
                let _slot = ctx.uploads.acquire().await.map_err(closed(Stage::Upload))?;
                position.to(Counter::Uploading);
                let id = ctx.upload(doc).await.map_err(fail(Stage::Upload))?;
                *upload_id = Some(id.clone());
                ctx.record(Record {
                    key: key.clone(),
                    stage: RecordStage::Uploaded,
                    upload_id: Some(id.clone()),
                    job_id: None,
                    status: None,
                    reason: None,
                })
                .map_err(fail(Stage::Upload))?;
                DocumentInput::Url(id)
            }
        };
        // A place among the running jobs first, so that a submitted job
        // never waits for one.
        let running = ctx.running.acquire().await.map_err(closed(Stage::Submit))?;
        let _slot = ctx.submits.acquire().await.map_err(closed(Stage::Submit))?;
        position.to(Counter::Submitting);
        let operation = &ctx.s.operation;
        let id = ctx
            .request(|| Some(operation.submit(&ctx.s.client, input.clone(), RetryPolicy::none())))
            .await
            .map_err(fail(Stage::Submit))?;
        *job_id = Some(id.clone());
        ctx.record(Record {
            key: key.clone(),
            stage: RecordStage::Submitted,
            upload_id: upload_id.clone(),
            job_id: Some(id),
            status: None,
            reason: None,
        })
        .map_err(fail(Stage::Submit))?;
        running
    } else {
        ctx.running.acquire().await.map_err(closed(Stage::Wait))?
    };
    let job_id = job_id.clone().unwrap_or_default();

    position.to(Counter::Running);
    let job = ctx.wait(&job_id).await.map_err(fail(Stage::Wait))?;
    drop(running);
    if matches!(job.status, JobStatus::Failed | JobStatus::Cancelled) {
        ctx.record(Record {
            key: key.clone(),
            stage: RecordStage::Failed,
            upload_id: None,
            job_id: Some(job_id.clone()),
            status: Some(job.status.to_string()),
            reason: job.reason.clone(),
        })
        .map_err(fail(Stage::Wait))?;
        let error = crate::wait::outcome(&job_id, job)
            .err()
            .unwrap_or_else(|| Error::invalid("job", "a failed job"));
        return Err(fail(Stage::Wait)(error));
    }

    let _slot = ctx.results.acquire().await.map_err(closed(Stage::Result))?;
    position.to(Counter::Fetching);
    let status = job.status.to_string();
    let output = ctx
        .s
        .operation
        .result(&ctx.s.client, job)
        .await
        .map_err(fail(Stage::Result))?;
    ctx.record(Record {
        key,
        stage: RecordStage::Done,
        upload_id: None,
        job_id: Some(job_id),
        status: Some(status),
        reason: None,
    })
    .map_err(fail(Stage::Result))?;
    Ok(output)
}

/// The stage semaphores are never closed; should one be, say so.
fn closed(stage: Stage) -> impl FnOnce(tokio::sync::AcquireError) -> Failure {
    move |_| Failure {
        stage,
        error: Error::invalid("batch", "the batch is shutting down"),
    }
}

/// The batch's task: reads the source as places free up, starts a task per
/// document, delivers outcomes in completion order, forwards job events,
/// and stops everything when the [`BatchRun`](super::BatchRun) is dropped.
pub(super) async fn drive<O: Operation>(
    ctx: Arc<Context<O>>,
    mut source: Source,
    mut index: HashMap<String, Resume>,
    mut events: Option<BoxStream<'static, String>>,
    tx: mpsc::Sender<Outcome<O::Output>>,
    admit: usize,
) {
    let mut tasks = JoinSet::new();
    let mut ready: VecDeque<Outcome<O::Output>> = VecDeque::new();
    let mut source_done = false;
    loop {
        let admitted = tasks.len() + ready.len();
        if source_done && admitted == 0 {
            break;
        }
        tokio::select! {
            biased;
            _ = tx.closed() => return shut_down(&ctx, tasks).await,
            permit = tx.reserve(), if !ready.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(outcome) = ready.pop_front() {
                        permit.send(outcome);
                    }
                }
                Err(_) => return shut_down(&ctx, tasks).await,
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => match joined {
                Ok(outcome) => ready.push_back(outcome),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {} // aborted: only at shutdown
            },
            Some(job_id) = next_event(&mut events) => ctx.job_event(job_id),
            item = source.next(), if !source_done && admitted < admit => match item {
                None => source_done = true,
                Some(Ok(document)) => match index.remove(&document.key) {
                    Some(Resume::Finished) => ctx.s.tracker.enter(Counter::Skipped),
                    resume => {
                        ctx.s.tracker.enter(Counter::Queued);
                        tasks.spawn(process(ctx.clone(), document, resume));
                    }
                },
                Some(Err(unreadable)) => {
                    ctx.s.tracker.enter(Counter::Failed);
                    ready.push_back(Outcome {
                        document: unreadable.key,
                        upload_id: None,
                        job_id: None,
                        resumed: false,
                        result: Err(Failure { stage: Stage::Source, error: unreadable.error }),
                    });
                }
            },
        }
    }
    ctx.s.tracker.finish();
}

/// The next job event; pending for ever once there are none.
async fn next_event(events: &mut Option<BoxStream<'static, String>>) -> Option<String> {
    if let Some(stream) = events {
        if let Some(id) = stream.next().await {
            return Some(id);
        }
        *events = None;
    }
    std::future::pending().await
}

/// The run was dropped: stop every document's task now, then cancel the
/// jobs left running if asked.
async fn shut_down<O: Operation>(ctx: &Context<O>, mut tasks: JoinSet<Outcome<O::Output>>) {
    tasks.shutdown().await;
    if ctx.s.on_drop != OnDrop::Cancel {
        return;
    }
    let running: Vec<String> = ctx.jobs().unfinished.drain().collect();
    futures::stream::iter(running)
        .for_each_concurrent(8, |job_id| async move {
            let cancelled = ctx
                .s
                .client
                .job()
                .cancel(&job_id)
                .retry(RetryPolicy::none())
                .send()
                .await;
            if let Err(e) = cancelled {
                tracing::warn!(%job_id, error = %e, "cancelling a batch job failed");
            }
        })
        .await;
}
