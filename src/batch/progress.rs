//! Counts per stage and throughput, published as a `tokio::sync::watch`
//! value that a progress bar can draw.

use std::time::Duration;

use tokio::{sync::watch, time::Instant};

/// Where a batch stands. Every document read from the source is counted in
/// exactly one of `queued`, `uploading`, `submitting`, `running`,
/// `fetching`, `done`, `failed` or `skipped` at any moment.
///
/// The source is read lazily, so the total is not known in advance:
/// `queued` counts documents read and waiting for a place, not the rest of
/// the source.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Read from the source, waiting to be uploaded.
    pub queued: u64,
    /// Being uploaded.
    pub uploading: u64,
    /// Being submitted (the operation's job being started).
    pub submitting: u64,
    /// Submitted: waiting for the job to end.
    pub running: u64,
    /// The job ended: its result is being fetched.
    pub fetching: u64,
    /// Finished with a result.
    pub done: u64,
    /// Finished with an error.
    pub failed: u64,
    /// Finished in an earlier run (per the state file): not processed again.
    pub skipped: u64,
    /// Resumed from the state file: their upload or job was reused.
    pub resumed: u64,
    /// 429s answered to the batch's requests so far.
    pub rate_limited: u64,
    /// The adaptive limit on requests in flight, as it stands.
    pub request_limit: usize,
    /// Time since the batch started (tokio's clock).
    pub elapsed: Duration,
    /// Whether the source is exhausted and every document has finished.
    pub finished: bool,
}

impl Progress {
    /// Documents finished in this run (done or failed).
    pub fn completed(&self) -> u64 {
        self.done + self.failed
    }

    /// Documents still being worked on (read, not finished).
    pub fn in_progress(&self) -> u64 {
        self.queued + self.uploading + self.submitting + self.running + self.fetching
    }

    /// Documents finished in this run per second of `elapsed`.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.completed() as f64 / secs
        } else {
            0.0
        }
    }
}

/// The stage counters a document moves between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Queued,
    Uploading,
    Submitting,
    Running,
    Fetching,
    Done,
    Failed,
    Skipped,
}

/// The publishing side: moves documents between counters.
#[derive(Debug)]
pub(crate) struct Tracker {
    tx: watch::Sender<Progress>,
    started: Instant,
}

impl Tracker {
    pub(crate) fn new() -> (Tracker, watch::Receiver<Progress>) {
        let (tx, rx) = watch::channel(Progress::default());
        (
            Tracker {
                tx,
                started: Instant::now(),
            },
            rx,
        )
    }

    fn counter(progress: &mut Progress, counter: Counter) -> &mut u64 {
        match counter {
            Counter::Queued => &mut progress.queued,
            Counter::Uploading => &mut progress.uploading,
            Counter::Submitting => &mut progress.submitting,
            Counter::Running => &mut progress.running,
            Counter::Fetching => &mut progress.fetching,
            Counter::Done => &mut progress.done,
            Counter::Failed => &mut progress.failed,
            Counter::Skipped => &mut progress.skipped,
        }
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        let elapsed = self.started.elapsed();
        self.tx.send_modify(|p| {
            change(p);
            p.elapsed = elapsed;
        });
    }

    /// A new document enters `counter`.
    pub(crate) fn enter(&self, counter: Counter) {
        self.update(|p| *Self::counter(p, counter) += 1);
    }

    /// A document moves from one counter to another.
    pub(crate) fn moved(&self, from: Counter, to: Counter) {
        if from != to {
            self.update(|p| {
                let old = Self::counter(p, from);
                *old = old.saturating_sub(1);
                *Self::counter(p, to) += 1;
            });
        }
    }

    /// A document was resumed from the state file.
    pub(crate) fn resumed(&self) {
        self.update(|p| p.resumed += 1);
    }

    /// The limiter's figures changed.
    pub(crate) fn limiter(&self, limit: usize, rate_limited: u64) {
        self.update(|p| {
            p.request_limit = limit;
            p.rate_limited = rate_limited;
        });
    }

    /// The batch is over.
    pub(crate) fn finish(&self) {
        self.update(|p| p.finished = true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn moves_keep_one_count_per_document_and_time_throughput() {
        let (tracker, rx) = Tracker::new();
        tracker.enter(Counter::Queued);
        tracker.enter(Counter::Queued);
        tracker.moved(Counter::Queued, Counter::Uploading);
        tokio::time::sleep(Duration::from_secs(2)).await;
        tracker.moved(Counter::Uploading, Counter::Done);
        let p = rx.borrow().clone();
        assert_eq!((p.queued, p.uploading, p.done), (1, 0, 1));
        assert_eq!(p.in_progress(), 1);
        assert_eq!(p.elapsed, Duration::from_secs(2));
        assert_eq!(p.throughput(), 0.5);
        assert_eq!(Progress::default().throughput(), 0.0);
    }
}
