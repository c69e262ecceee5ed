//! Jobs: `GET /job/{id}`, `POST /cancel/{id}` and `GET /jobs`.

use crate::{
    error::{Error, Result},
    transport::RequestOptions,
    types::{DeleteJobResponse, Job, JobSummary},
    Reducto,
};

/// The largest page `GET /jobs` serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Job calls: `client.job()`. Owns a clone of the client.
#[derive(Debug, Clone)]
pub struct Jobs {
    pub(crate) client: Reducto,
}

impl Jobs {
    pub(crate) fn new(client: Reducto) -> Self {
        Jobs { client }
    }

    /// A job's status, progress and (once completed) result.
    ///
    /// The id is sent as exactly one path segment, whatever it contains.
    pub fn get(&self, job_id: impl Into<String>) -> GetJob {
        GetJob {
            client: self.client.clone(),
            job_id: job_id.into(),
            request: RequestOptions::default(),
        }
    }

    /// Cancels a job; a cancelled job never completes.
    pub fn cancel(&self, job_id: impl Into<String>) -> CancelJob {
        CancelJob {
            client: self.client.clone(),
            job_id: job_id.into(),
            request: RequestOptions::default(),
        }
    }

    /// Deletes a job and its result (`DELETE /job/{id}`); it is gone from
    /// `get`, `get_all` and `jobid://` afterwards.
    pub fn delete(&self, job_id: impl Into<String>) -> DeleteJob {
        DeleteJob {
            client: self.client.clone(),
            job_id: job_id.into(),
            include_persisted: None,
            request: RequestOptions::default(),
        }
    }

    /// The jobs of the account, newest first, one page at a time; or every
    /// page as a stream with [`GetJobs::stream`].
    pub fn get_all(&self) -> GetJobs {
        GetJobs {
            client: self.client.clone(),
            params: ListParams::default(),
            request: RequestOptions::default(),
            prefetch: crate::pagination::DEFAULT_PREFETCH,
        }
    }
}

/// Refuses ids that would not reach `/job/{id}` as one segment.
pub(crate) fn validate_job_id(job_id: &str) -> Result<()> {
    if job_id.is_empty() {
        return Err(Error::invalid("job_id", "the job id is empty"));
    }
    // Every other character is percent-encoded into the segment, but URL
    // parsing resolves a `.` or `..` segment (encoded or not) against the
    // path, which would change the route.
    if job_id == "." || job_id == ".." {
        return Err(Error::invalid(
            "job_id",
            format!("{job_id:?} cannot be sent as a path segment"),
        ));
    }
    Ok(())
}

/// `GET /job/{id}`, ready to send.
#[must_use = "a request does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct GetJob {
    client: Reducto,
    job_id: String,
    request: RequestOptions,
}

impl GetJob {
    request_options!(request);

    pub(crate) fn with_options(mut self, request: RequestOptions) -> Self {
        self.request = request;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Job> {
        validate_job_id(&self.job_id)?;
        // By hand rather than through the generated call, whose untagged
        // result union tries each kind in turn: the result is decoded by the
        // kind it names, and a failure names its path (see `Job`).
        crate::api::send_json(
            &self.client,
            &self.request,
            reqwest::Method::GET,
            &["job", &self.job_id],
            "retrieve_parse_job_job_id_get",
            None,
        )
        .await
    }
}

into_future!(GetJob => Job);

/// `POST /cancel/{id}`, ready to send.
#[must_use = "a request does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct CancelJob {
    client: Reducto,
    job_id: String,
    request: RequestOptions,
}

impl CancelJob {
    request_options!(request);

    /// Sends the request. The API documents no response shape, so the
    /// server's JSON is returned as is.
    pub async fn send(self) -> Result<serde_json::Value> {
        validate_job_id(&self.job_id)?;
        let call = self.client.call(&self.request);
        match call.api().cancel_job_cancel_job_id_post(&self.job_id).await {
            Ok(value) => Ok(value.into_inner()),
            Err(e) => Err(call.error(e).await),
        }
    }
}

into_future!(CancelJob => serde_json::Value);

/// `DELETE /job/{id}`, ready to send.
#[must_use = "a request does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct DeleteJob {
    client: Reducto,
    job_id: String,
    include_persisted: Option<bool>,
    request: RequestOptions,
}

impl DeleteJob {
    /// Delete the job's persisted copies too (`include_persisted`).
    pub fn include_persisted(mut self, on: bool) -> Self {
        self.include_persisted = Some(on);
        self
    }

    request_options!(request);

    /// Sends the request.
    pub async fn send(self) -> Result<DeleteJobResponse> {
        validate_job_id(&self.job_id)?;
        let query: Vec<(&str, String)> = self
            .include_persisted
            .map(|on| ("include_persisted", on.to_string()))
            .into_iter()
            .collect();
        crate::api::send_json_query(
            &self.client,
            &self.request,
            reqwest::Method::DELETE,
            &["job", &self.job_id],
            &query,
            "delete_parse_job_job_job_id_delete",
            None,
        )
        .await
    }
}

impl std::future::IntoFuture for DeleteJob {
    type Output = Result<DeleteJobResponse>;
    type IntoFuture = crate::api::BoxFuture<DeleteJobResponse>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The query of a `GET /jobs` listing, carried to every page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListParams {
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    pub(crate) exclude_configs: Option<bool>,
}

/// `GET /jobs`: one page with [`send`](Self::send) (or `.await`), every job
/// with [`stream`](Self::stream), every page with [`pages`](Self::pages).
///
/// ```no_run
/// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
/// // get_all(limit=50, cursor=None, exclude_configs=True)
/// let page = client.job().get_all().limit(50).exclude_configs(true).await?;
/// for job in &page.jobs {
///     println!("{} {} {}", job.job_id, job.status, job.type_);
/// }
/// if let Some(cursor) = page.next_cursor {
///     let next = client.job().get_all().limit(50).cursor(cursor).await?;
///     # let _ = next;
/// }
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct GetJobs {
    pub(crate) client: Reducto,
    pub(crate) params: ListParams,
    pub(crate) request: RequestOptions,
    pub(crate) prefetch: usize,
}

impl GetJobs {
    /// Jobs per page, 1 to 500 (the server's default is 100).
    pub fn limit(mut self, limit: u32) -> Self {
        self.params.limit = Some(limit);
        self
    }

    /// Start after this cursor (a previous page's `next_cursor`).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.params.cursor = Some(cursor.into());
        self
    }

    /// Leave each job's `raw_config` out (smaller pages).
    pub fn exclude_configs(mut self, exclude: bool) -> Self {
        self.params.exclude_configs = Some(exclude);
        self
    }

    request_options!(request);

    /// Fetches the one page this request describes.
    pub async fn send(self) -> Result<JobsPage> {
        fetch_page(&self.client, &self.params, &self.request).await
    }
}

into_future!(GetJobs => JobsPage);

pub(crate) fn validate_limit(limit: Option<u32>) -> Result<()> {
    match limit {
        Some(limit) if !(1..=MAX_PAGE_SIZE).contains(&limit) => Err(Error::invalid(
            "limit",
            format!("{limit} is outside 1..={MAX_PAGE_SIZE}"),
        )),
        _ => Ok(()),
    }
}

/// One `GET /jobs` request.
pub(crate) async fn fetch_page(
    client: &Reducto,
    params: &ListParams,
    request: &RequestOptions,
) -> Result<JobsPage> {
    validate_limit(params.limit)?;
    let limit = params
        .limit
        .and_then(|l| std::num::NonZeroU64::new(u64::from(l)));
    let call = client.call(request);
    let result = call
        .api()
        .get_jobs_jobs_get(params.cursor.as_deref(), params.exclude_configs, limit)
        .await;
    match result {
        Ok(value) => {
            let page = value.into_inner();
            Ok(JobsPage {
                jobs: page.jobs,
                // An empty cursor cannot be sent back meaningfully: treat it
                // as the end, like null.
                next_cursor: page.next_cursor.filter(|c| !c.is_empty()),
                cursor: params.cursor.clone(),
            })
        }
        Err(e) => Err(call.error(e).await),
    }
}

/// One page of `GET /jobs`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobsPage {
    /// The page's jobs, newest first.
    pub jobs: Vec<JobSummary>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The cursor this page was fetched with (`None` for the first page).
    pub cursor: Option<String>,
}

impl JobsPage {
    /// Whether another page follows.
    pub fn has_next(&self) -> bool {
        self.next_cursor.is_some()
    }
}
