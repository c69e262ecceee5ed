//! The server's in-memory state: uploaded files, jobs, stored URL results.
//!
//! Job state is computed lazily from elapsed tokio time on every request, so
//! no background task is needed and a paused tokio clock drives progress.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::faults::{FaultEngine, Faults};
use crate::record::{lock, Recorder};
use crate::results::{self, Parsed, Source};
use crate::webhooks::{SvixEndpoint, WebhookRequest, Webhooks};

/// Reason reported for cancelled jobs.
pub(crate) const CANCEL_REASON: &str = "Job cancelled by user";

/// Statuses that a cancel request turns into `Cancelled` (for seeded jobs).
const CANCELLABLE: &[&str] = &["Pending", "Idle", "InProgress", "Completing"];

/// Settings fixed at start-up (see `ServerBuilder`).
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) api_key: Option<String>,
    pub(crate) job_duration: Duration,
    pub(crate) url_result_threshold: Option<usize>,
    pub(crate) chunk_size: usize,
    pub(crate) sync_latency: Duration,
    pub(crate) page_latency: Duration,
    /// Pipelines served by `/pipeline`, by id (see `ops::pipeline`).
    pub(crate) pipelines: BTreeMap<String, Value>,
    /// `GET /job/{id}` answers `Cancelled` after a cancel (outside the
    /// spec) instead of `Failed` with [`CANCEL_REASON`].
    pub(crate) cancelled_on_get_job: bool,
    /// Requests kept by the recorder (the most recent); `None`: all.
    pub(crate) record_limit: Option<usize>,
    /// Uploads kept (the most recent); `None`: all.
    pub(crate) upload_limit: Option<usize>,
    pub(crate) webhook_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: None,
            job_duration: Duration::from_secs(2),
            url_result_threshold: None,
            chunk_size: 1000,
            sync_latency: Duration::ZERO,
            page_latency: Duration::ZERO,
            pipelines: BTreeMap::new(),
            cancelled_on_get_job: false,
            record_limit: None,
            upload_limit: None,
            webhook_backoff: Duration::from_secs(1),
        }
    }
}

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT`, used to build result URLs.
    pub(crate) base_url: String,
    pub(crate) store: Mutex<Store>,
    pub(crate) recorder: Recorder,
    pub(crate) faults: FaultEngine,
    pub(crate) webhooks: Webhooks,
}

/// An uploaded file.
#[derive(Clone, Debug)]
pub(crate) struct StoredFile {
    pub(crate) filename: Option<String>,
    pub(crate) ext: Option<String>,
    pub(crate) bytes: Bytes,
}

/// Listing order: creation time, then insertion sequence. Listing walks this
/// key in reverse (newest first); a cursor names the last key returned, so
/// jobs added later never shift a page that is being walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct OrderKey {
    pub(crate) micros: i64,
    pub(crate) seq: u64,
}

#[derive(Default)]
pub(crate) struct Store {
    files: HashMap<String, StoredFile>,
    /// File ids, oldest first, for the upload limit.
    file_order: std::collections::VecDeque<String>,
    jobs: HashMap<String, Job>,
    order: BTreeMap<OrderKey, String>,
    next_seq: u64,
    /// Stored documents served by `GET /results/{id}`: serialized URL
    /// results and edited documents, with their content type.
    results: HashMap<String, (&'static str, Bytes)>,
}

struct Job {
    key: OrderKey,
    job_type: String,
    raw_config: String,
    source: Value,
    kind: JobKind,
    /// A cancel took effect: `GET /job` reports it within the spec.
    cancelled: bool,
}

enum JobKind {
    /// Created through the API: its status follows the tokio clock.
    Live(LiveJob),
    /// Inserted with `Server::seed_jobs`: served exactly as given.
    Seeded(Box<SeedJob>),
}

struct LiveJob {
    started: Instant,
    duration: Duration,
    docs: Arc<Vec<Source>>,
    /// The finished response, or the failure reason.
    outcome: Outcome,
    /// Set by a cancel while pending: progress at that moment.
    cancelled_at_progress: Option<f64>,
}

/// A job's state at one instant.
pub(crate) struct JobView {
    pub(crate) status: String,
    pub(crate) progress: Option<f64>,
    pub(crate) reason: Option<String>,
    pub(crate) result: Option<Value>,
    pub(crate) num_pages: Option<u64>,
    pub(crate) total_pages: Option<u64>,
    pub(crate) duration: Option<f64>,
}

/// A finished operation: its response (`ParseResponse`, `V3ExtractResponse`,
/// ...), whose `job_id` and `duration` are filled in by [`Finished::stamp`],
/// and the number of pages it worked on.
#[derive(Clone, Debug)]
pub(crate) struct Finished {
    pub(crate) response: Value,
    pub(crate) pages: u64,
}

impl Finished {
    /// The response of job `job_id` that took `secs`: `job_id` is set, and
    /// `duration` where the response type has one.
    pub(crate) fn stamp(&self, job_id: &str, secs: f64) -> Value {
        let mut response = self.response.clone();
        if let Some(obj) = response.as_object_mut() {
            obj.insert("job_id".to_owned(), json!(job_id));
            if obj.contains_key("duration") {
                obj.insert("duration".to_owned(), json!(secs));
            }
        }
        response
    }
}

/// What a job ends with: its response, or why it failed.
pub(crate) type Outcome = Result<Finished, String>;

/// What a new live job needs.
pub(crate) struct NewJob {
    /// `Parse`, `Extract`, ...: the job's `type`.
    pub(crate) job_type: &'static str,
    pub(crate) docs: Arc<Vec<Source>>,
    pub(crate) outcome: Outcome,
    pub(crate) duration: Duration,
    pub(crate) raw_config: String,
    pub(crate) source: Value,
    /// The webhook the request asked for, delivered when the job ends.
    pub(crate) webhook: Option<WebhookRequest>,
}

/// A job to insert directly with [`Server::seed_jobs`](crate::Server::seed_jobs),
/// bypassing the API (fast enough for thousands of jobs).
///
/// Seeded jobs never change by themselves: `GET /job/{id}` and `GET /jobs`
/// serve `status`, `job_type` and the other fields exactly as given, even
/// values the API does not document (e.g. status `"Archived"`), which is how
/// client forward-compatibility is tested. A cancel turns a seeded
/// `Pending`/`Idle`/`InProgress`/`Completing` job into `Cancelled`.
///
/// ```
/// use reducto_mock::SeedJob;
/// let jobs = (0..3).map(|_| SeedJob::completed());
/// let odd = SeedJob::with_status("Archived").job_type("Pipeline");
/// # let _ = (jobs, odd);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SeedJob {
    /// Job id; `None` generates a UUID.
    pub job_id: Option<String>,
    /// Status string, served as-is.
    pub status: String,
    /// Job type (`"Parse"`, `"Extract"`, ... or anything), served as-is.
    pub job_type: String,
    /// Creation time; `None` means "now". Jobs are listed newest first, ties
    /// broken by seeding order (later seeded = newer).
    pub created_at: Option<SystemTime>,
    /// The job's `raw_config` string.
    pub raw_config: String,
    /// The job's `source` (any JSON; `None` serves `null`).
    pub source: Option<Value>,
    /// `num_pages`.
    pub num_pages: Option<u64>,
    /// `total_pages`.
    pub total_pages: Option<u64>,
    /// `duration` in seconds.
    pub duration: Option<f64>,
    /// `progress` reported by `GET /job/{id}`: a fraction, 0.0 to 1.0, as
    /// Reducto reports it.
    pub progress: Option<f64>,
    /// `reason` reported by `GET /job/{id}`.
    pub reason: Option<String>,
    /// `result` reported by `GET /job/{id}`. `None` with status
    /// `"Completed"` serves a small generated response of the job type's
    /// kind: for `Extract`, `Split`, `Classify`, `Edit` and `Pipeline`, what
    /// that operation answers (with default options) for a placeholder
    /// document naming the job; a `ParseResponse` for `Parse` and any other
    /// type. `None` otherwise serves `null`.
    pub result: Option<Value>,
}

impl Default for SeedJob {
    /// Same as [`SeedJob::completed`].
    fn default() -> Self {
        SeedJob::completed()
    }
}

impl SeedJob {
    /// A completed one-page `Parse` job created now.
    pub fn completed() -> Self {
        SeedJob {
            job_id: None,
            status: "Completed".to_owned(),
            job_type: "Parse".to_owned(),
            created_at: None,
            raw_config: "{}".to_owned(),
            source: None,
            num_pages: Some(1),
            total_pages: Some(1),
            duration: Some(1.0),
            progress: Some(1.0),
            reason: None,
            result: None,
        }
    }

    /// A `Pending` job at progress 0 (it stays pending forever).
    pub fn pending() -> Self {
        SeedJob::with_status("Pending").progress(Some(0.0))
    }

    /// A `Failed` job with this reason.
    pub fn failed(reason: impl Into<String>) -> Self {
        let mut job = SeedJob::with_status("Failed");
        job.reason = Some(reason.into());
        job
    }

    /// A job with any status string (no progress, pages or duration).
    pub fn with_status(status: impl Into<String>) -> Self {
        SeedJob {
            status: status.into(),
            num_pages: None,
            total_pages: None,
            duration: None,
            progress: None,
            ..SeedJob::completed()
        }
    }

    /// Set the job id.
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.job_id = Some(id.into());
        self
    }

    /// Set the job type.
    pub fn job_type(mut self, job_type: impl Into<String>) -> Self {
        self.job_type = job_type.into();
        self
    }

    /// Set the creation time.
    pub fn created_at(mut self, t: SystemTime) -> Self {
        self.created_at = Some(t);
        self
    }

    /// Set `raw_config`.
    pub fn raw_config(mut self, raw: impl Into<String>) -> Self {
        self.raw_config = raw.into();
        self
    }

    /// Set `progress`.
    pub fn progress(mut self, p: Option<f64>) -> Self {
        self.progress = p;
        self
    }

    /// Set the `result` served by `GET /job/{id}`.
    pub fn result(mut self, result: Value) -> Self {
        self.result = Some(result);
        self
    }
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        base_url: String,
        faults: Faults,
        svix: Option<SvixEndpoint>,
    ) -> Self {
        AppState {
            recorder: Recorder::with_limit(config.record_limit),
            webhooks: Webhooks::new(config.webhook_backoff, svix, config.record_limit),
            config,
            base_url,
            store: Mutex::new(Store::default()),
            faults: FaultEngine::new(faults),
        }
    }

    /// Stores an upload; past the upload limit the oldest is forgotten
    /// (its `reducto://` id then parses as not found).
    pub(crate) fn add_file(&self, file_id: String, file: StoredFile) {
        let mut store = lock(&self.store);
        if store.files.insert(file_id.clone(), file).is_none() {
            store.file_order.push_back(file_id);
        }
        if let Some(limit) = self.config.upload_limit {
            while store.file_order.len() > limit {
                if let Some(old) = store.file_order.pop_front() {
                    store.files.remove(&old);
                }
            }
        }
    }

    pub(crate) fn file(&self, file_id: &str) -> Option<StoredFile> {
        lock(&self.store).files.get(file_id).cloned()
    }

    /// The documents of an earlier job (for `jobid://` inputs); `None` if
    /// the job does not exist. Seeded jobs have no document: a placeholder
    /// naming the reference is returned.
    pub(crate) fn job_docs(&self, job_id: &str) -> Option<Vec<Source>> {
        let store = lock(&self.store);
        let job = store.jobs.get(job_id)?;
        Some(match &job.kind {
            JobKind::Live(live) => live.docs.as_ref().clone(),
            JobKind::Seeded(_) => vec![Source::Remote {
                reference: format!("jobid://{job_id}"),
            }],
        })
    }

    /// Turn a parse into the `result` object, storing it behind a URL when
    /// it is larger than the threshold or a URL result was forced.
    pub(crate) fn finish_result(&self, parsed: Parsed, force_url: bool) -> (Value, u64) {
        (
            self.inline_or_url(parsed.full_result, force_url),
            parsed.num_pages,
        )
    }

    /// Any operation's `result` value, or a `UrlResult` pointing at it when
    /// its JSON is larger than the threshold or a URL result was forced.
    pub(crate) fn inline_or_url(&self, result: Value, force_url: bool) -> Value {
        let too_big = |len: usize| self.config.url_result_threshold.is_some_and(|t| len > t);
        if force_url || self.config.url_result_threshold.is_some() {
            // Serializing a Value cannot fail.
            let bytes = serde_json::to_vec(&result).unwrap_or_default();
            if force_url || too_big(bytes.len()) {
                let result_id = self.store_document("application/json", Bytes::from(bytes));
                return results::url_result(&self.base_url, &result_id);
            }
        }
        result
    }

    /// Store a document served without auth at `GET /results/{id}` (like a
    /// presigned storage URL); returns its id.
    pub(crate) fn store_document(&self, content_type: &'static str, bytes: Bytes) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        lock(&self.store)
            .results
            .insert(id.clone(), (content_type, bytes));
        id
    }

    /// A stored document and its content type.
    pub(crate) fn stored_result(&self, result_id: &str) -> Option<(&'static str, Bytes)> {
        lock(&self.store).results.get(result_id).cloned()
    }

    /// Forget an uploaded file; returns whether it existed.
    pub(crate) fn delete_file(&self, file_id: &str) -> bool {
        lock(&self.store).files.remove(file_id).is_some()
    }

    /// Delete a job (it disappears from `/job`, `/jobs` and `jobid://`);
    /// returns whether it existed.
    pub(crate) fn delete_job(&self, job_id: &str) -> bool {
        let mut store = lock(&self.store);
        let Some(job) = store.jobs.remove(job_id) else {
            return false;
        };
        store.order.remove(&job.key);
        drop(store);
        self.webhooks.job_changed(job_id);
        true
    }

    /// Insert a live job and start the delivery of the webhook it asked
    /// for (every operation's jobs, sync or async, come through here);
    /// returns its id.
    pub(crate) fn create_job(self: &Arc<Self>, new: NewJob) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let webhook = new.webhook;
        let mut store = lock(&self.store);
        let key = store.next_key(SystemTime::now());
        store.insert(
            id.clone(),
            Job {
                key,
                job_type: new.job_type.to_owned(),
                raw_config: new.raw_config,
                source: new.source,
                kind: JobKind::Live(LiveJob {
                    started: Instant::now(),
                    duration: new.duration,
                    docs: new.docs,
                    outcome: new.outcome,
                    cancelled_at_progress: None,
                }),
                cancelled: false,
            },
        );
        drop(store);
        if let Some(webhook) = webhook {
            self.webhooks.spawn(self, id.clone(), webhook);
        }
        id
    }

    pub(crate) fn seed(&self, jobs: impl IntoIterator<Item = SeedJob>) -> Vec<String> {
        let now = SystemTime::now();
        // Results of the other operations are made before the store is
        // locked: making one may store a document.
        let jobs: Vec<(String, SeedJob)> = jobs
            .into_iter()
            .map(|mut seed| {
                let id = seed
                    .job_id
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                if seed.result.is_none() && seed.status == "Completed" {
                    let secs = seed.duration.unwrap_or(0.0);
                    seed.result = crate::ops::seeded_response(self, &seed.job_type, &id, secs);
                }
                (id, seed)
            })
            .collect();
        let mut store = lock(&self.store);
        jobs.into_iter()
            .map(|(id, seed)| {
                let key = store.next_key(seed.created_at.unwrap_or(now));
                let job = Job {
                    key,
                    job_type: seed.job_type.clone(),
                    raw_config: seed.raw_config.clone(),
                    source: seed.source.clone().unwrap_or(Value::Null),
                    kind: JobKind::Seeded(Box::new(seed)),
                    cancelled: false,
                };
                store.insert(id.clone(), job);
                id
            })
            .collect()
    }

    pub(crate) fn job_count(&self) -> usize {
        lock(&self.store).jobs.len()
    }

    /// `EnhancedAsyncJobResponse` for a job, or `None` if unknown.
    pub(crate) fn job_json(&self, job_id: &str) -> Option<Value> {
        let store = lock(&self.store);
        let job = store.jobs.get(job_id)?;
        let v = job.view(job_id, Instant::now());
        // The spec's /job statuses do not include Cancelled: a cancelled
        // job is Failed there, with the cancel as its reason (unless the
        // server was asked for the old, off-spec answer).
        let status = if job.cancelled && !self.config.cancelled_on_get_job {
            "Failed".to_owned()
        } else {
            v.status
        };
        Some(json!({
            "status": status,
            "result": v.result,
            "progress": v.progress,
            "reason": v.reason,
            "type": job.job_type,
            "num_pages": v.num_pages,
            "total_pages": v.total_pages,
            "source": job.source,
            "duration": v.duration,
            "created_at": rfc3339(job.key.micros),
            "raw_config": job.raw_config,
            "bucket": null,
        }))
    }

    /// A job's status now and, while it is pending on its own (not
    /// cancelled, not seeded), when it will end; `None` if unknown.
    pub(crate) fn job_end(&self, job_id: &str) -> Option<(String, Option<Instant>)> {
        let store = lock(&self.store);
        let job = store.jobs.get(job_id)?;
        let view = job.view(job_id, Instant::now());
        let ends_at = match &job.kind {
            JobKind::Live(live) if view.status == "Pending" => Some(live.started + live.duration),
            _ => None,
        };
        Some((view.status, ends_at))
    }

    /// Cancel a job; returns its status afterwards, or `None` if unknown.
    pub(crate) fn cancel(&self, job_id: &str) -> Option<String> {
        let mut store = lock(&self.store);
        let job = store.jobs.get_mut(job_id)?;
        let now = Instant::now();
        let status = job.view(job_id, now);
        if let JobKind::Live(live) = &mut job.kind {
            if status.status == "Pending" {
                live.cancelled_at_progress = Some(status.progress.unwrap_or(0.0));
                job.cancelled = true;
            }
        } else if let JobKind::Seeded(seed) = &mut job.kind {
            if CANCELLABLE.contains(&seed.status.as_str()) {
                seed.status = "Cancelled".to_owned();
                seed.reason = Some(CANCEL_REASON.to_owned());
                job.cancelled = true;
            }
        }
        let status = job.view(job_id, now).status;
        drop(store);
        // A delivery waiting for the job's planned end sends now.
        self.webhooks.job_changed(job_id);
        Some(status)
    }

    /// One page of `SingleJob`s, newest first, starting after `after`
    /// (`None` = from the newest). Also returns the key of the last job
    /// returned if more jobs follow it.
    pub(crate) fn list(
        &self,
        after: Option<OrderKey>,
        limit: usize,
        exclude_configs: bool,
    ) -> (Vec<Value>, Option<OrderKey>) {
        let store = lock(&self.store);
        let now = Instant::now();
        let mut iter: Box<dyn Iterator<Item = (&OrderKey, &String)>> = match after {
            Some(k) => Box::new(store.order.range(..k).rev()),
            None => Box::new(store.order.iter().rev()),
        };
        let mut page = Vec::with_capacity(limit.min(500));
        let mut last = None;
        for (key, id) in iter.by_ref().take(limit) {
            let Some(job) = store.jobs.get(id) else {
                continue;
            };
            let v = job.view(id, now);
            page.push(json!({
                "job_id": id,
                "status": v.status,
                "type": job.job_type,
                "raw_config": if exclude_configs { "" } else { job.raw_config.as_str() },
                "created_at": rfc3339(job.key.micros),
                "source": job.source,
                "num_pages": v.num_pages,
                "total_pages": v.total_pages,
                "duration": v.duration,
                "bucket": null,
            }));
            last = Some(*key);
        }
        let more = iter.next().is_some();
        (page, if more { last } else { None })
    }
}

impl Store {
    fn next_key(&mut self, t: SystemTime) -> OrderKey {
        self.next_seq += 1;
        OrderKey {
            micros: unix_micros(t),
            seq: self.next_seq,
        }
    }

    fn insert(&mut self, id: String, job: Job) {
        // Re-seeding an existing id replaces the job and its list position.
        if let Some(old) = self.jobs.get(&id) {
            self.order.remove(&old.key);
        }
        self.order.insert(job.key, id.clone());
        self.jobs.insert(id, job);
    }
}

impl Job {
    fn view(&self, id: &str, now: Instant) -> JobView {
        match &self.kind {
            JobKind::Seeded(s) => {
                let result = match (&s.result, s.status.as_str()) {
                    (Some(r), _) => Some(r.clone()),
                    (None, "Completed") => Some(seeded_result(id, s)),
                    (None, _) => None,
                };
                JobView {
                    status: s.status.clone(),
                    progress: s.progress,
                    reason: s.reason.clone(),
                    result,
                    num_pages: s.num_pages,
                    total_pages: s.total_pages,
                    duration: s.duration,
                }
            }
            JobKind::Live(live) => live.view(id, now),
        }
    }
}

impl LiveJob {
    fn view(&self, id: &str, now: Instant) -> JobView {
        let secs = self.duration.as_secs_f64();
        let pages = self.outcome.as_ref().ok().map(|f| f.pages);
        if let Some(progress) = self.cancelled_at_progress {
            return JobView {
                status: "Cancelled".to_owned(),
                progress: Some(progress),
                reason: Some(CANCEL_REASON.to_owned()),
                result: None,
                num_pages: None,
                total_pages: pages,
                duration: None,
            };
        }
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed < self.duration {
            // Linear progress over the configured duration, as a fraction
            // (Reducto reports 0.0 to 1.0; its CLI prints progress x 100).
            let progress = elapsed.as_secs_f64() / secs;
            return JobView {
                status: "Pending".to_owned(),
                progress: Some(progress),
                reason: None,
                result: None,
                num_pages: None,
                total_pages: pages,
                duration: None,
            };
        }
        match &self.outcome {
            Ok(finished) => JobView {
                status: "Completed".to_owned(),
                progress: Some(1.0),
                reason: None,
                result: Some(finished.stamp(id, secs)),
                num_pages: Some(finished.pages),
                total_pages: Some(finished.pages),
                duration: Some(secs),
            },
            Err(reason) => JobView {
                status: "Failed".to_owned(),
                progress: None,
                reason: Some(reason.clone()),
                result: None,
                num_pages: None,
                total_pages: None,
                duration: Some(secs),
            },
        }
    }
}

/// The `ParseResponse` served for a seeded `Completed` job without a result.
fn seeded_result(id: &str, s: &SeedJob) -> Value {
    let pages = s.num_pages.unwrap_or(1);
    let parsed = results::parse(
        &[Source::Remote {
            reference: format!("jobid://{id}"),
        }],
        1000,
        None,
    );
    let full = parsed.map(|p| p.full_result).unwrap_or(Value::Null);
    results::parse_response(id, s.duration.unwrap_or(0.0), pages, full)
}

fn unix_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// RFC 3339 UTC timestamp with microseconds, e.g. `2025-01-31T12:00:00.000000Z`.
pub(crate) fn rfc3339(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let us = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T23:59:59.5Z (leap day).
        assert_eq!(
            rfc3339(1_709_251_199_500_000),
            "2024-02-29T23:59:59.500000Z"
        );
        assert_eq!(rfc3339(951_782_400_000_000), "2000-02-29T00:00:00.000000Z");
    }
}
