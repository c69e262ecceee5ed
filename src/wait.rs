//! Waiting on jobs without sleep loops: `wait`, `watch` and `wait_all`.
//!
//! Polling runs inside the returned future or stream, on tokio's clock: no
//! task is spawned, so dropping a wait or a watch stops all polling at once,
//! and tests can drive it with a paused clock.

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use futures::{stream, Stream, StreamExt};
use tokio::time::Instant;

use crate::{
    error::{Error, Result},
    job::{validate_job_id, Jobs},
    transport::RequestOptions,
    types::{Job, JobStatus},
    Reducto, RetryPolicy,
};

/// How long the cancel sent at a wait's deadline
/// ([`WaitJob::cancel_on_timeout`]) may take, retries included: the wait
/// ends at most this long after its deadline, whether or not the server
/// answered the cancel.
pub const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest poll interval a [`PollPolicy`] accepts.
pub const MIN_POLL_DELAY: Duration = Duration::from_millis(1);

/// How long before the deadline the last poll is made, so that its answer
/// can arrive in time: a poll still in flight at the deadline is abandoned.
pub const FINAL_POLL_LEAD: Duration = Duration::from_secs(1);

/// When to poll a job.
///
/// The first poll is immediate (the job may already be done); then the
/// interval starts at `initial_delay` and grows by `multiplier` up to
/// `max_delay`, each scaled by a jitter factor in `0.75..=1.0`. The deadline
/// is hard: the wait ends at it, whatever is in flight (a poll still
/// running, with its retries, is abandoned). The last poll is made
/// [`FINAL_POLL_LEAD`] before the deadline (at once, if less time remains).
///
/// The defaults — 1 s growing ×2 to 10 s, a 10 minute deadline — follow the
/// official CLI's `--timeout 10m` and aws-sdk-rust waiters' shape (quick first
/// polls, capped exponential growth, a final poll near the deadline); a 10 s
/// cap keeps the added latency small for parse jobs that take minutes.
///
/// Values are checked when a wait or watch starts; one that cannot be right
/// ends it with [`Error::InvalidArgument`] (`poll_policy`) before any
/// request: an `initial_delay` under [`MIN_POLL_DELAY`], a `max_delay` below
/// it, a `multiplier` that is NaN, infinite or below 1.0. A deadline too far
/// to represent (`Duration::MAX`) means no deadline.
///
/// ```
/// use std::time::Duration;
/// use reducto::PollPolicy;
///
/// let patient = PollPolicy::default()
///     .initial_delay(Duration::from_secs(2))
///     .max_delay(Duration::from_secs(30))
///     .deadline(Duration::from_secs(3600));
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    initial_delay: Duration,
    multiplier: f64,
    max_delay: Duration,
    deadline: Option<Duration>,
    jitter: bool,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial_delay: Duration::from_secs(1),
            multiplier: 2.0,
            max_delay: Duration::from_secs(10),
            deadline: Some(Duration::from_secs(600)),
            jitter: true,
        }
    }
}

impl PollPolicy {
    /// The first interval (default 1 s; at least [`MIN_POLL_DELAY`]).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The interval's growth factor (default 2.0; 1.0 polls at a fixed
    /// rate; finite and at least 1.0).
    pub fn multiplier(mut self, factor: f64) -> Self {
        self.multiplier = factor;
        self
    }

    /// The longest interval (default 10 s; at least `initial_delay`).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How long to wait in all (default 10 minutes).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Waits for as long as the job takes.
    pub fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Whether intervals are jittered (default on).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Refuses the values that cannot be right (see the type's docs).
    pub(crate) fn validate(&self) -> Result<()> {
        let refuse = |reason: String| Err(Error::invalid("poll_policy", reason));
        if self.initial_delay < MIN_POLL_DELAY {
            return refuse(format!(
                "initial_delay {:?} is under the minimum {MIN_POLL_DELAY:?}",
                self.initial_delay
            ));
        }
        if self.max_delay < self.initial_delay {
            return refuse(format!(
                "max_delay {:?} is below initial_delay {:?}",
                self.max_delay, self.initial_delay
            ));
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return refuse(format!(
                "multiplier {} must be a finite number of at least 1.0",
                self.multiplier
            ));
        }
        Ok(())
    }

    /// The interval after poll number `n` (0-based), before jitter; never
    /// panics or overflows (it saturates at `max_delay`).
    pub(crate) fn interval(&self, n: u32) -> Duration {
        let grown = self.initial_delay.as_secs_f64() * self.multiplier.powi(n.min(64) as i32);
        crate::retry::secs_saturating(grown).min(self.max_delay)
    }
}

/// One status change seen by [`Jobs::watch`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobUpdate {
    /// The status.
    pub status: JobStatus,
    /// Progress as a fraction, 0.0 to 1.0 (as Reducto reports it; multiply
    /// by 100 for a percentage), when the server reports it.
    pub progress: Option<f64>,
    /// The whole job as last polled (with its result once completed).
    pub job: Job,
}

/// When one wait's polls are due, and its hard deadline: the schedule shared
/// by wait, watch, wait_all and the batch pipeline's waits.
#[derive(Debug)]
pub(crate) struct PollSchedule {
    policy: PollPolicy,
    started: Option<Instant>,
    polls: u32,
}

/// What [`PollSchedule::next_poll`] decided.
pub(crate) enum Due {
    /// Poll now.
    Poll,
    /// The deadline has passed.
    TimedOut,
}

impl PollSchedule {
    pub(crate) fn new(policy: PollPolicy) -> Self {
        PollSchedule {
            policy,
            started: None,
            polls: 0,
        }
    }

    /// The hard deadline, once the first poll has been scheduled; `None`
    /// without one (or one too far to represent).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let started = self.started?;
        self.policy.deadline.and_then(|d| started.checked_add(d))
    }

    /// Sleeps until the next poll is due (none before the first) or until
    /// `early` resolves (word that the job may have ended); `TimedOut` at
    /// the deadline. The last poll is made [`FINAL_POLL_LEAD`] before it.
    pub(crate) async fn next_poll(&mut self, early: impl Future<Output = ()>) -> Result<Due> {
        self.policy.validate()?;
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        let deadline = self.deadline();
        if self.polls > 0 {
            let mut wait = self.policy.interval(self.polls - 1);
            if self.policy.jitter {
                let factor = crate::retry::jitter_factor();
                wait = crate::retry::secs_saturating(wait.as_secs_f64() * factor);
            }
            let mut wake = now.checked_add(wait);
            if let Some(deadline) = deadline {
                // The last poll is made FINAL_POLL_LEAD before the deadline;
                // once it has been, only the deadline is left to wait for.
                let last_poll = deadline
                    .checked_sub(FINAL_POLL_LEAD)
                    .unwrap_or(started)
                    .max(started);
                if now >= last_poll {
                    tokio::time::sleep_until(deadline).await;
                    return Ok(Due::TimedOut);
                }
                wake = Some(wake.map_or(last_poll, |w| w.min(last_poll)));
            }
            let sleep = async {
                match wake {
                    Some(wake) => tokio::time::sleep_until(wake).await,
                    // Beyond what the clock holds: never, in practice.
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = early => {}
            }
        }
        self.polls += 1;
        Ok(Due::Poll)
    }

    /// Runs one poll, abandoning it at the deadline (`None`).
    pub(crate) async fn bounded<T>(&self, poll: impl Future<Output = T>) -> Option<T> {
        match self.deadline() {
            Some(deadline) => tokio::time::timeout_at(deadline, poll).await.ok(),
            None => Some(poll.await),
        }
    }
}

/// The polling loop shared by wait and watch.
struct Poller {
    client: Reducto,
    job_id: String,
    schedule: PollSchedule,
    request: RequestOptions,
    last_status: Option<JobStatus>,
    last_progress: Option<f64>,
    finished: bool,
}

enum Polled {
    /// The job as polled.
    Job(Box<Job>),
    /// The deadline passed with the job still running.
    TimedOut,
}

impl Poller {
    fn new(client: Reducto, job_id: String, policy: PollPolicy, request: RequestOptions) -> Self {
        Poller {
            client,
            job_id,
            schedule: PollSchedule::new(policy),
            request,
            last_status: None,
            last_progress: None,
            finished: false,
        }
    }

    /// Sleeps until the next poll is due (none before the first), then polls;
    /// `TimedOut` at the deadline, even with a poll in flight.
    async fn next(&mut self) -> Result<Polled> {
        validate_job_id(&self.job_id)?;
        if let Due::TimedOut = self.schedule.next_poll(std::future::pending()).await? {
            return Ok(Polled::TimedOut);
        }
        let poll = self
            .client
            .job()
            .get(&self.job_id)
            .with_options(self.request.clone())
            .send();
        let Some(job) = self.schedule.bounded(poll).await else {
            return Ok(Polled::TimedOut);
        };
        let job = job?;
        if let JobStatus::Other(status) = &job.status {
            tracing::debug!(job_id = %self.job_id, status, "unknown job status; still polling");
        }
        self.last_status = Some(job.status.clone());
        self.last_progress = job.progress;
        Ok(Polled::Job(Box::new(job)))
    }

    fn timeout_error(&self) -> Error {
        Error::WaitTimeout {
            job_id: self.job_id.clone(),
            last_status: self.last_status.clone(),
            last_progress: self.last_progress,
        }
    }

    /// At the deadline: cancel the job on the server if asked (for at most
    /// [`CANCEL_TIMEOUT`]), then report.
    async fn timed_out(&self, cancel: bool) -> Error {
        if cancel {
            let request = self.client.job().cancel(&self.job_id).send();
            match tokio::time::timeout(CANCEL_TIMEOUT, request).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(job_id = %self.job_id, error = %e, "cancel after deadline failed");
                }
                Err(_) => {
                    tracing::debug!(job_id = %self.job_id, "cancel after deadline timed out");
                }
            }
        }
        self.timeout_error()
    }
}

/// Turns a terminal job into the wait's outcome.
pub(crate) fn outcome(job_id: &str, job: Job) -> Result<Job> {
    match job.status {
        JobStatus::Failed => Err(Error::JobFailed {
            job_id: job_id.to_owned(),
            reason: job.reason,
        }),
        JobStatus::Cancelled => Err(Error::JobCancelled {
            job_id: job_id.to_owned(),
        }),
        _ => Ok(job),
    }
}

/// Waits for a job to finish: from [`Jobs::wait`]. Await it.
///
/// ```no_run
/// # async fn run(client: reducto::Reducto, job_id: String) -> Result<(), reducto::Error> {
/// use std::time::Duration;
///
/// let done = client.job().wait(&job_id).timeout(Duration::from_secs(600)).await?;
/// println!("{:?}", done.result);
/// # Ok(()) }
/// ```
#[must_use = "a wait does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct WaitJob {
    client: Reducto,
    job_id: String,
    policy: PollPolicy,
    request: RequestOptions,
    cancel_on_timeout: bool,
}

impl WaitJob {
    /// Gives up after this long (default 10 minutes) with
    /// [`Error::WaitTimeout`], at the deadline whatever is in flight (see
    /// [`PollPolicy`]).
    pub fn timeout(mut self, deadline: Duration) -> Self {
        self.policy.deadline = Some(deadline);
        self
    }

    /// Waits for as long as the job takes.
    pub fn no_timeout(mut self) -> Self {
        self.policy.deadline = None;
        self
    }

    /// The whole polling schedule.
    pub fn poll_policy(mut self, policy: PollPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Cancels the job on the server when the deadline passes (off by
    /// default). The cancel has its own bound, [`CANCEL_TIMEOUT`], so the
    /// wait ends at most that long after its deadline.
    pub fn cancel_on_timeout(mut self, cancel: bool) -> Self {
        self.cancel_on_timeout = cancel;
        self
    }

    /// How each poll is retried, instead of the client's policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.request.retry = Some(policy);
        self
    }

    /// Time allowed for each poll request.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }

    /// Polls until the job is completed (`Ok`), failed, cancelled or out of
    /// time (the matching [`Error`]).
    pub async fn send(self) -> Result<Job> {
        let mut poller = Poller::new(self.client, self.job_id, self.policy, self.request);
        loop {
            match poller.next().await? {
                Polled::Job(job) if job.status.is_terminal() => {
                    return outcome(&poller.job_id, *job);
                }
                Polled::Job(_) => {}
                Polled::TimedOut => return Err(poller.timed_out(self.cancel_on_timeout).await),
            }
        }
    }
}

impl IntoFuture for WaitJob {
    type Output = Result<Job>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Waits for many jobs with bounded concurrency: from [`Jobs::wait_all`].
/// Turn it into a stream with [`stream`](Self::stream).
#[must_use = "call .stream() to start waiting"]
#[derive(Debug, Clone)]
pub struct WaitAll {
    template: WaitJob,
    job_ids: Vec<String>,
    concurrency: usize,
}

impl WaitAll {
    /// How many jobs are polled at once (default 32; 0 counts as 1, and any
    /// larger number is accepted: no more jobs than given are polled).
    pub fn concurrency(mut self, jobs: usize) -> Self {
        self.concurrency = jobs.max(1);
        self
    }

    /// The polling schedule of each job (its deadline counts from when that
    /// job's wait starts).
    pub fn poll_policy(mut self, policy: PollPolicy) -> Self {
        self.template.policy = policy;
        self
    }

    /// Each job's deadline.
    pub fn timeout(mut self, deadline: Duration) -> Self {
        self.template.policy.deadline = Some(deadline);
        self
    }

    /// `(job id, outcome)` for every job, in the order they finish.
    pub fn stream(self) -> impl Stream<Item = (String, Result<Job>)> + Send + 'static {
        let template = self.template;
        stream::iter(self.job_ids)
            .map(move |job_id| {
                let mut wait = template.clone();
                wait.job_id = job_id.clone();
                async move { (job_id, wait.send().await) }
            })
            .buffer_unordered(self.concurrency)
    }
}

impl Jobs {
    fn waiter(&self, job_id: String) -> WaitJob {
        WaitJob {
            client: self.client.clone(),
            job_id,
            policy: PollPolicy::default(),
            request: RequestOptions::default(),
            cancel_on_timeout: false,
        }
    }

    /// Waits until the job completes: resolves to the completed job, or to
    /// [`Error::JobFailed`], [`Error::JobCancelled`] or
    /// [`Error::WaitTimeout`]. Statuses a newer API adds keep it polling.
    pub fn wait(&self, job_id: impl Into<String>) -> WaitJob {
        self.waiter(job_id.into())
    }

    /// Waits for many jobs at once, yielding each as it finishes.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto, ids: Vec<String>) {
    /// use futures::StreamExt;
    ///
    /// let mut done = client.job().wait_all(ids).concurrency(64).stream();
    /// while let Some((job_id, outcome)) = done.next().await {
    ///     println!("{job_id}: {}", if outcome.is_ok() { "done" } else { "failed" });
    /// }
    /// # }
    /// ```
    pub fn wait_all<I, S>(&self, job_ids: I) -> WaitAll
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        WaitAll {
            template: self.waiter(String::new()),
            job_ids: job_ids.into_iter().map(Into::into).collect(),
            concurrency: 32,
        }
    }

    /// Every change of a job's status or progress, as a stream that ends
    /// after the job reaches a terminal state (yielded like any other
    /// update), for a progress bar. Polls on the default [`PollPolicy`]; at
    /// its deadline the stream yields [`Error::WaitTimeout`] and ends.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto, job_id: String) -> Result<(), reducto::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut updates = client.job().watch(&job_id);
    /// while let Some(update) = updates.try_next().await? {
    ///     println!("{} {:.0}%", update.status, update.progress.unwrap_or(0.0) * 100.0);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(
        &self,
        job_id: impl Into<String>,
    ) -> impl Stream<Item = Result<JobUpdate>> + Send + Unpin + 'static {
        self.watch_with(job_id, PollPolicy::default())
    }

    /// [`watch`](Self::watch) with a polling schedule of your own.
    pub fn watch_with(
        &self,
        job_id: impl Into<String>,
        policy: PollPolicy,
    ) -> impl Stream<Item = Result<JobUpdate>> + Send + Unpin + 'static {
        let poller = Poller::new(
            self.client.clone(),
            job_id.into(),
            policy,
            RequestOptions::default(),
        );
        // Fused: polling again after the end keeps returning `None` (a bare
        // `unfold` panics).
        let updates = stream::unfold(poller, |mut poller| async move {
            loop {
                if poller.finished {
                    return None;
                }
                let previous = (poller.last_status.clone(), poller.last_progress);
                match poller.next().await {
                    Err(e) => {
                        poller.finished = true;
                        return Some((Err(e), poller));
                    }
                    Ok(Polled::TimedOut) => {
                        poller.finished = true;
                        let e = poller.timeout_error();
                        return Some((Err(e), poller));
                    }
                    Ok(Polled::Job(job)) => {
                        poller.finished = job.status.is_terminal();
                        let changed = previous != (Some(job.status.clone()), job.progress);
                        if changed || poller.finished {
                            let update = JobUpdate {
                                status: job.status.clone(),
                                progress: job.progress,
                                job: *job,
                            };
                            return Some((Ok(update), poller));
                        }
                    }
                }
            }
        });
        Box::pin(updates.fuse())
    }
}
