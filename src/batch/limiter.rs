//! The adaptive limit on a batch's requests in flight.
//!
//! Reducto answers 429 above the account's request rate and above its
//! concurrent synchronous requests, and the limits differ by plan and
//! region, so a batch cannot be told them. [`AdaptiveLimiter`] finds them:
//! additive increase, multiplicative decrease on the number of requests in
//! flight (like TCP's congestion window), plus a pause honouring the
//! server's `retry-after`.
//!
//! - Every request holds a [`Permit`] while it is in flight.
//! - A success grows the limit by `1 / limit` (about +1 per round of
//!   requests), up to the configured maximum.
//! - A 429 halves the limit (never below 1) and stops every new request
//!   until the server's `retry-after` has passed. Requests already in
//!   flight when the limit was cut may see 429s too; they do not cut it
//!   again (one decrease per round, as TCP reacts once per window).
//! - After a decrease the limit grows back only to just below the highest
//!   level refused, and holds there for [`PROBE_AFTER`] before probing
//!   higher again. Without the hold, additive increase finds the server's
//!   limit again within a fraction of a second and every such probe costs
//!   a `retry-after` pause; the benchmark (`cargo bench --bench batch`)
//!   measured 2.75x the time of a loop that knows the limit without it.
//!   Re-probing now and then still finds a limit that was raised (other
//!   clients of the account finished, a plan changed).

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

/// How long, after a 429, the limit stays below the level that was refused
/// before probing above it again.
pub const PROBE_AFTER: Duration = Duration::from_secs(30);

/// A snapshot of an [`AdaptiveLimiter`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LimiterState {
    /// The current limit on requests in flight (whole requests).
    pub limit: usize,
    /// The configured maximum.
    pub max: usize,
    /// The lowest the limit has been.
    pub lowest: usize,
    /// Requests in flight now.
    pub in_flight: usize,
    /// 429s seen so far.
    pub rate_limited: u64,
    /// Whether new requests are held back for a `retry-after`.
    pub paused: bool,
}

struct Inner {
    /// Fractional, so that additive increase can be +1/limit per success.
    limit: f64,
    max: usize,
    lowest: f64,
    in_flight: usize,
    paused_until: Option<Instant>,
    /// Bumped at each decrease; a permit remembers the epoch it began in.
    epoch: u64,
    rate_limited: u64,
    /// The level last refused with a 429, and until when growth stays
    /// below it.
    refused: Option<(f64, Instant)>,
}

/// Limits how many requests are in flight, shrinking on 429s and growing
/// back while they stop. Cheap to clone (shared state).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use reducto::batch::AdaptiveLimiter;
///
/// let limiter = AdaptiveLimiter::new(8, 64);
/// let permit = limiter.acquire().await;
/// // ... the request answered 429 with retry-after: 2
/// permit.rate_limited(Some(Duration::from_secs(2)));
/// assert_eq!(limiter.state().limit, 4);
/// assert!(limiter.state().paused);
/// # }
/// ```
#[derive(Clone)]
pub struct AdaptiveLimiter {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for AdaptiveLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AdaptiveLimiter")
            .field(&self.state())
            .finish()
    }
}

impl AdaptiveLimiter {
    /// A limiter starting at `initial` requests in flight, never above
    /// `max`. Both are clamped to at least 1, and `initial` to at most `max`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        AdaptiveLimiter {
            inner: Arc::new(Mutex::new(Inner {
                limit: initial.clamp(1, max) as f64,
                lowest: initial.clamp(1, max) as f64,
                max,
                in_flight: 0,
                paused_until: None,
                epoch: 0,
                rate_limited: 0,
                refused: None,
            })),
            changed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; recover anyway.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current limit, requests in flight and pause.
    pub fn state(&self) -> LimiterState {
        let inner = self.lock();
        LimiterState {
            limit: inner.limit as usize,
            max: inner.max,
            lowest: inner.lowest as usize,
            in_flight: inner.in_flight,
            rate_limited: inner.rate_limited,
            paused: inner
                .paused_until
                .is_some_and(|until| until > Instant::now()),
        }
    }

    /// Waits until a request may be sent: the pause (if any) is over and
    /// fewer than `limit` requests are in flight.
    pub async fn acquire(&self) -> Permit {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release between the check
            // and the wait is not missed.
            notified.as_mut().enable();
            let pause = {
                let mut inner = self.lock();
                match inner.paused_until {
                    Some(until) if until > Instant::now() => Some(until),
                    _ => {
                        inner.paused_until = None;
                        if (inner.in_flight as f64) < inner.limit.floor() {
                            inner.in_flight += 1;
                            return Permit {
                                limiter: self.clone(),
                                epoch: inner.epoch,
                                done: false,
                            };
                        }
                        None
                    }
                }
            };
            match pause {
                Some(until) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    fn release(&self, feedback: Feedback, epoch: u64) {
        {
            let mut inner = self.lock();
            inner.in_flight = inner.in_flight.saturating_sub(1);
            match feedback {
                Feedback::Neutral => {}
                Feedback::Success => {
                    let mut cap = inner.max as f64;
                    match inner.refused {
                        Some((level, until)) if Instant::now() < until => {
                            cap = cap.min((level - 1.0).max(1.0));
                        }
                        _ => inner.refused = None,
                    }
                    if inner.limit < cap {
                        inner.limit = (inner.limit + 1.0 / inner.limit).min(cap);
                    }
                }
                Feedback::RateLimited(retry_after) => {
                    inner.rate_limited += 1;
                    if epoch == inner.epoch {
                        // The highest level refused in this episode: later
                        // halvings say the server still refused, not that
                        // its limit is that low.
                        let now = Instant::now();
                        let level = match inner.refused {
                            Some((level, until)) if now < until => level.max(inner.limit.floor()),
                            _ => inner.limit.floor(),
                        };
                        inner.refused = Some((level, now + PROBE_AFTER));
                        inner.limit = (inner.limit / 2.0).max(1.0);
                        inner.lowest = inner.lowest.min(inner.limit);
                        inner.epoch += 1;
                    }
                    let until = Instant::now() + retry_after;
                    inner.paused_until = Some(inner.paused_until.map_or(until, |p| p.max(until)));
                }
            }
        }
        self.changed.notify_waiters();
    }
}

enum Feedback {
    Neutral,
    Success,
    RateLimited(Duration),
}

/// One request's place in an [`AdaptiveLimiter`]. Report how the request
/// went with [`success`](Self::success) or
/// [`rate_limited`](Self::rate_limited); dropping it reports nothing (e.g.
/// a 500, which says nothing about rate limits) and frees the place.
#[must_use = "a permit holds a place until it is dropped"]
#[derive(Debug)]
pub struct Permit {
    limiter: AdaptiveLimiter,
    epoch: u64,
    done: bool,
}

impl Permit {
    /// The request succeeded: the limit grows by `1 / limit`.
    pub fn success(mut self) {
        self.done = true;
        self.limiter.release(Feedback::Success, self.epoch);
    }

    /// The request was answered 429: the limit halves (once per round) and
    /// new requests wait for `retry_after` (the server's `retry-after`, or
    /// the caller's backoff when the server gave none).
    pub fn rate_limited(mut self, retry_after: Option<Duration>) {
        self.done = true;
        self.limiter.release(
            Feedback::RateLimited(retry_after.unwrap_or(Duration::ZERO)),
            self.epoch,
        );
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.release(Feedback::Neutral, self.epoch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_in_flight_than_the_limit() {
        let limiter = AdaptiveLimiter::new(3, 10);
        let permits: Vec<Permit> =
            futures::future::join_all((0..3).map(|_| limiter.acquire())).await;
        assert_eq!(limiter.state().in_flight, 3);
        // A fourth waits until one is released.
        let fourth = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!fourth.is_finished());
        drop(permits);
        let fourth = fourth.await.unwrap();
        assert_eq!(limiter.state().in_flight, 1);
        drop(fourth);
        assert_eq!(limiter.state().in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_halves_once_per_round_and_pauses_for_retry_after() {
        let limiter = AdaptiveLimiter::new(16, 16);
        let mut round = Vec::new();
        for _ in 0..16 {
            round.push(limiter.acquire().await);
        }
        // The whole round answers 429: one decrease, not sixteen.
        for permit in round {
            permit.rate_limited(Some(Duration::from_secs(2)));
        }
        let state = limiter.state();
        assert_eq!(
            (state.limit, state.rate_limited, state.paused),
            (8, 16, true)
        );

        let start = Instant::now();
        let permit = limiter.acquire().await;
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "retry-after honoured"
        );
        // A 429 of the next round halves again.
        permit.rate_limited(None);
        assert_eq!(limiter.state().limit, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_never_drops_below_one() {
        let limiter = AdaptiveLimiter::new(2, 2);
        for _ in 0..10 {
            limiter.acquire().await.rate_limited(None);
        }
        assert_eq!(limiter.state().limit, 1);
        let permit = limiter.acquire().await;
        assert_eq!(limiter.state().in_flight, 1);
        permit.success();
    }

    #[tokio::test(start_paused = true)]
    async fn successes_grow_the_limit_back_to_the_maximum_and_no_further() {
        let limiter = AdaptiveLimiter::new(32, 32);
        limiter.acquire().await.rate_limited(None);
        limiter.acquire().await.rate_limited(None);
        assert_eq!(limiter.state().limit, 8);
        // Additive increase: from 8 to 9 takes about 8 successes.
        let mut successes = 0;
        while limiter.state().limit < 9 {
            limiter.acquire().await.success();
            successes += 1;
        }
        assert!((8..=9).contains(&successes), "{successes}");
        // Below the highest level refused (32) until the hold is over ...
        for _ in 0..10_000 {
            limiter.acquire().await.success();
        }
        assert_eq!(limiter.state().limit, 31);
        // ... then on to the maximum.
        tokio::time::sleep(PROBE_AFTER).await;
        for _ in 0..10_000 {
            limiter.acquire().await.success();
        }
        let state = limiter.state();
        assert_eq!((state.limit, state.lowest), (32, 8));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_429_the_limit_holds_below_the_refused_level_then_probes() {
        let limiter = AdaptiveLimiter::new(40, 64);
        limiter.acquire().await.rate_limited(None);
        assert_eq!(limiter.state().limit, 20);
        let grow = |n: usize| {
            let limiter = limiter.clone();
            async move {
                for _ in 0..n {
                    limiter.acquire().await.success();
                }
            }
        };
        grow(5_000).await;
        assert_eq!(limiter.state().limit, 39, "held just below the refused 40");
        tokio::time::sleep(PROBE_AFTER - Duration::from_secs(1)).await;
        grow(5_000).await;
        assert_eq!(limiter.state().limit, 39, "still held");
        tokio::time::sleep(Duration::from_secs(1)).await;
        grow(100).await;
        assert!(limiter.state().limit >= 41, "probing above it again");
        // A 429 at the new level sets a new hold below it.
        let level = limiter.state().limit;
        limiter.acquire().await.rate_limited(None);
        grow(10_000).await;
        assert_eq!(limiter.state().limit, level - 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_permit_frees_its_place_without_feedback() {
        let limiter = AdaptiveLimiter::new(4, 8);
        drop(limiter.acquire().await);
        let state = limiter.state();
        assert_eq!((state.limit, state.in_flight), (4, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_released_when_the_pause_ends() {
        let limiter = AdaptiveLimiter::new(4, 4);
        limiter
            .acquire()
            .await
            .rate_limited(Some(Duration::from_millis(1500)));
        let start = Instant::now();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire().await })
            })
            .collect();
        for waiter in waiters {
            drop(waiter.await.unwrap());
        }
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
    }

    #[test]
    fn nonsense_sizes_are_clamped() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let limiter = AdaptiveLimiter::new(0, 0);
            assert_eq!(limiter.state().limit, 1);
            let limiter = AdaptiveLimiter::new(100, 10);
            assert_eq!(limiter.state().limit, 10);
        });
    }
}
