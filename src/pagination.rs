//! Every job of `GET /jobs` as an async stream over the cursor pages.
//!
//! One driver task per stream walks the cursors and hands pages over a
//! channel; the consumer grants it "credits", one per page it may request,
//! so that it runs at most `prefetch` pages ahead of what the consumer has
//! taken. Nothing is requested before the first poll, and dropping the
//! stream aborts the task at once.

use std::{
    collections::{HashSet, VecDeque},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::Stream;
use std::future::Future;
use tokio::sync::{mpsc, Semaphore};

use crate::{
    error::{Error, Result},
    job::{fetch_page, validate_limit, GetJobs, JobsPage, ListParams},
    transport::RequestOptions,
    types::JobSummary,
    Reducto,
};

/// How many recent cursors are remembered to detect a server that sends the
/// listing round in a loop. Bounded, so memory does not grow with the
/// number of pages; catches any loop up to this many pages long.
const REMEMBERED_CURSORS: usize = 1024;

/// Pages prefetched by default: the next page is on its way while the
/// caller works through the current one.
pub const DEFAULT_PREFETCH: usize = 1;

/// The most pages a stream fetches ahead: a larger
/// [`prefetch`](GetJobs::prefetch) is clamped to it (memory stays bounded by
/// this many pages of at most 500 jobs).
pub const MAX_PREFETCH: usize = 64;

impl GetJobs {
    /// Every page, starting at this request's cursor, as a stream.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut pages = client.job().get_all().limit(500).exclude_configs(true).pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{} jobs", page.jobs.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages(self) -> JobPages {
        JobPages::new(self.client, self.params, self.request, self.prefetch)
    }

    /// Every job, over all pages, newest first, as a stream.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
    /// use futures::TryStreamExt;
    ///
    /// let mut jobs = client.job().get_all().limit(100).stream();
    /// while let Some(job) = jobs.try_next().await? {
    ///     println!("Job {}: {}", job.job_id, job.status);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// If a page fails (after retries), the error is yielded and the stream
    /// ends; [`JobStream::resume_cursor`] then says where to start again so
    /// that nothing is listed twice or skipped.
    pub fn stream(self) -> JobStream {
        JobStream {
            pages: self.pages(),
            current: VecDeque::new(),
            current_page_cursor: None,
        }
    }

    /// Pages fetched ahead of the consumer by [`stream`](Self::stream) and
    /// [`pages`](Self::pages): default 1, 0 fetches only on demand, more
    /// than [`MAX_PREFETCH`] counts as that many.
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages.min(MAX_PREFETCH);
        self
    }
}

/// A stream of [`JobsPage`]s, from [`GetJobs::pages`].
pub struct JobPages {
    state: PagesState,
    prefetch: usize,
    /// Pages the driver may request in all (credits granted).
    granted: usize,
    /// Pages handed to the consumer.
    delivered: usize,
    /// Where to start again: the next cursor after the last page delivered.
    resume: Option<String>,
    finished: bool,
}

enum PagesState {
    /// Not polled yet: nothing has been sent.
    Idle {
        client: Reducto,
        params: ListParams,
        request: RequestOptions,
        /// The span the stream was made in: its page requests belong there.
        span: tracing::Span,
    },
    Running {
        credits: Arc<Semaphore>,
        pages: mpsc::UnboundedReceiver<Result<JobsPage>>,
        task: tokio::task::JoinHandle<()>,
    },
    Done,
}

impl JobPages {
    fn new(client: Reducto, params: ListParams, request: RequestOptions, prefetch: usize) -> Self {
        JobPages {
            resume: params.cursor.clone(),
            state: PagesState::Idle {
                client,
                params,
                request,
                span: tracing::Span::current(),
            },
            prefetch: prefetch.min(MAX_PREFETCH),
            granted: 0,
            delivered: 0,
            finished: false,
        }
    }

    /// The cursor to resume from after an error: the next cursor of the
    /// last page delivered (or the starting cursor if none was). `None`
    /// with a start at the first page means "from the beginning".
    pub fn resume_cursor(&self) -> Option<&str> {
        self.resume.as_deref()
    }

    /// Grants credits so the driver may request up to `target` pages in all.
    fn grant_up_to(&mut self, target: usize) {
        if let PagesState::Running { credits, .. } = &self.state {
            if target > self.granted {
                credits.add_permits(target - self.granted);
                self.granted = target;
            }
        }
    }

    fn start(&mut self) -> Result<()> {
        if !matches!(self.state, PagesState::Idle { .. }) {
            return Ok(());
        }
        let PagesState::Idle {
            client,
            params,
            request,
            span,
        } = std::mem::replace(&mut self.state, PagesState::Done)
        else {
            return Ok(());
        };
        validate_limit(params.limit)?;
        let credits = Arc::new(Semaphore::new(0));
        let (tx, rx) = mpsc::unbounded_channel();
        let driver = drive(client, params, request, credits.clone(), tx);
        let task = tokio::spawn(tracing::Instrument::instrument(driver, span));
        self.state = PagesState::Running {
            credits,
            pages: rx,
            task,
        };
        Ok(())
    }
}

/// Fetches pages in order, one per credit, until the last page or an error.
async fn drive(
    client: Reducto,
    mut params: ListParams,
    request: RequestOptions,
    credits: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Result<JobsPage>>,
) {
    let mut seen = RecentCursors::default();
    if let Some(start) = &params.cursor {
        seen.insert(start.clone());
    }
    loop {
        match credits.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return,
        }
        let page = match fetch_page(&client, &params, &request).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let next = page.next_cursor.clone();
        if tx.send(Ok(page)).is_err() {
            return; // The consumer is gone.
        }
        let Some(next) = next else { return };
        if !seen.insert(next.clone()) {
            let _ = tx.send(Err(Error::CursorLoop { cursor: next }));
            return;
        }
        params.cursor = Some(next);
    }
}

impl Stream for JobPages {
    type Item = Result<JobsPage>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if let Err(e) = this.start() {
            this.finished = true;
            return Poll::Ready(Some(Err(e)));
        }
        // The consumer wants a page now: make sure one is requested.
        let demand = this.delivered.saturating_add(1);
        this.grant_up_to(demand);
        let PagesState::Running { pages, task, .. } = &mut this.state else {
            return Poll::Ready(None);
        };
        match pages.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                // The driver always sends the last page or an error before
                // it ends: a channel closed without either means it died.
                let why = match Pin::new(task).poll(cx) {
                    Poll::Ready(Err(e)) if e.is_panic() => "the page driver task panicked",
                    Poll::Ready(Err(_)) => {
                        "the page driver task was cancelled (its runtime shut down?)"
                    }
                    _ => "the page driver task stopped before the last page",
                };
                this.finished = true;
                Poll::Ready(Some(Err(Error::Interrupted(why.to_owned()))))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finished = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(page))) => {
                this.delivered += 1;
                this.resume = page.next_cursor.clone();
                // While the consumer works on this page, the driver may
                // fetch `prefetch` more.
                let ahead = this.delivered.saturating_add(this.prefetch);
                this.grant_up_to(ahead);
                if page.next_cursor.is_none() {
                    this.finished = true;
                }
                Poll::Ready(Some(Ok(page)))
            }
        }
    }
}

impl Drop for JobPages {
    fn drop(&mut self) {
        if let PagesState::Running { task, .. } = &self.state {
            task.abort();
        }
    }
}

impl std::fmt::Debug for JobPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobPages")
            .field("prefetch", &self.prefetch)
            .field("delivered", &self.delivered)
            .field("resume_cursor", &self.resume)
            .finish_non_exhaustive()
    }
}

/// A stream of every job over all pages, from [`GetJobs::stream`].
#[derive(Debug)]
pub struct JobStream {
    pages: JobPages,
    current: VecDeque<JobSummary>,
    /// The cursor the page `current` came from was fetched with.
    current_page_cursor: Option<String>,
}

impl JobStream {
    /// The cursor to resume from: after an error (which always comes at a
    /// page boundary) exactly where the stream stopped, so nothing is listed
    /// twice or skipped. Stopped mid-page, it is the cursor of the current
    /// page, which lists that page again rather than skip its rest.
    pub fn resume_cursor(&self) -> Option<&str> {
        if self.current.is_empty() {
            self.pages.resume_cursor()
        } else {
            self.current_page_cursor.as_deref()
        }
    }
}

impl Stream for JobStream {
    type Item = Result<JobSummary>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(job) = this.current.pop_front() {
                return Poll::Ready(Some(Ok(job)));
            }
            // Empty pages (which may still have a cursor) are skipped.
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Ready(Some(Ok(page))) => {
                    this.current_page_cursor = page.cursor;
                    this.current = page.jobs.into();
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The last [`REMEMBERED_CURSORS`] cursors, for loop detection.
#[derive(Default)]
struct RecentCursors {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl RecentCursors {
    /// Records `cursor`; false if it was already there.
    fn insert(&mut self, cursor: String) -> bool {
        if self.set.contains(&cursor) {
            return false;
        }
        if self.order.len() == REMEMBERED_CURSORS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(cursor.clone());
        self.order.push_back(cursor);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_cursors_detect_repeats_within_the_window() {
        let mut recent = RecentCursors::default();
        assert!(recent.insert("a".into()));
        assert!(recent.insert("b".into()));
        assert!(!recent.insert("a".into()));
        for i in 0..REMEMBERED_CURSORS {
            recent.insert(i.to_string());
        }
        // "a" has left the window: bounded memory, so it is forgotten.
        assert!(recent.insert("a".into()));
        assert!(recent.set.len() <= REMEMBERED_CURSORS);
    }

    #[test]
    fn streams_can_move_between_tasks() {
        fn is<T: Send + Sync + Unpin + 'static>() {}
        is::<JobPages>();
        is::<JobStream>();
    }
}
