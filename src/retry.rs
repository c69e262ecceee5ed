//! Retries, with the official SDKs' rules: what to retry, how long to wait.
//!
//! Retried: connection failures (also while the body arrives), timeouts,
//! 408, 409, 429 and >= 500, unless the error response says
//! `x-should-retry: false` (and `x-should-retry: true` forces a retry of
//! an error response; a success is never sent again, whatever it says). The wait is `min(initial * 2^n, max)` scaled by a jitter
//! factor in `0.75..=1.0`, unless the server sent `retry-after-ms` or
//! `retry-after` with a value in `(0, 60 s]`, which is then used as is.

use std::time::{Duration, SystemTime};

use reqwest::{header::HeaderMap, StatusCode};

/// How a failed request is retried.
///
/// The defaults are the official SDKs': 2 retries (3 attempts), 0.5 s
/// doubling to at most 8 s, server `retry-after` honoured up to 60 s.
///
/// ```
/// use std::time::Duration;
/// use reducto::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .max_delay(Duration::from_secs(30));
/// let none = RetryPolicy::none();
/// # let _ = (patient, none);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The most retries a policy makes: [`max_retries`](Self::max_retries)
    /// beyond this is clamped to it, so that no setting retries for ever.
    pub const MAX_RETRIES: u32 = 100;

    /// No retries at all: every failure is returned at once.
    pub fn none() -> Self {
        RetryPolicy::default().max_retries(0)
    }

    /// How many times a failed request is sent again (0 disables retries;
    /// more than [`MAX_RETRIES`](Self::MAX_RETRIES) counts as that many).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry; it doubles for each further one.
    /// Any duration is accepted: waits are computed without overflow and
    /// capped by [`max_delay`](Self::max_delay).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest computed wait between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest server-requested wait (`retry-after`) that is honoured;
    /// a longer one falls back to the computed backoff.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Whether waits are scaled by a random factor in `0.75..=1.0` (on by
    /// default, so that many clients do not retry in lockstep).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// The number of retries, clamped to [`MAX_RETRIES`](Self::MAX_RETRIES).
    pub(crate) fn retries(&self) -> u32 {
        self.max_retries.min(Self::MAX_RETRIES)
    }

    /// The wait before retry number `retry` (0-based), given the response
    /// headers of the failed attempt, if any.
    pub(crate) fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        if let Some(wait) = headers.and_then(|h| parse_retry_after(h, SystemTime::now())) {
            if !wait.is_zero() && wait <= self.max_retry_after {
                return wait;
            }
        }
        self.backoff(retry, if self.jitter { jitter_factor() } else { 1.0 })
    }

    /// `min(initial * 2^retry, max) * factor`, saturating at
    /// `Duration::MAX` instead of overflowing.
    pub(crate) fn backoff(&self, retry: u32, factor: f64) -> Duration {
        let exp = 2f64.powi(retry.min(30) as i32);
        let raw = self.initial_delay.as_secs_f64() * exp;
        secs_saturating(raw.min(self.max_delay.as_secs_f64()) * factor)
    }
}

/// Seconds as a `Duration`, saturating: `Duration::MAX` for values too large
/// (or infinite), zero for negative ones and NaN. Never panics, unlike
/// `Duration::from_secs_f64`.
pub(crate) fn secs_saturating(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// A jitter factor in `0.75..=1.0`, without a random-number dependency: the
/// standard library's randomly keyed hasher is enough for spreading retries.
pub(crate) fn jitter_factor() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    let unit = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    1.0 - 0.25 * unit
}

/// Whether a response with this status and these headers should be retried:
/// only error responses (4xx, 5xx) are, and only they consult
/// `x-should-retry`, as in the official SDKs.
pub(crate) fn should_retry_status(status: StatusCode, headers: &HeaderMap) -> bool {
    if !status.is_client_error() && !status.is_server_error() {
        return false;
    }
    match headers
        .get("x-should-retry")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// Whether a request that failed without a response should be retried.
pub(crate) fn should_retry_transport(error: &reqwest::Error) -> bool {
    // A request that could not even be built (bad URL, bad header) will fail
    // the same way again; everything else is a network problem.
    !error.is_builder() && !error.is_redirect() && !error.is_decode()
}

/// `retry-after-ms` (milliseconds), else `retry-after` (seconds, or an HTTP
/// date relative to `now`). A value a `Duration` cannot hold (`1e300`) is
/// no value, like text that is not a number.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| *ms >= 0.0)
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
    {
        return Some(ms);
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).ok())
            .flatten();
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(date.timestamp().max(0) as u64);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<f64> = (0..6).map(|n| p.backoff(n, 1.0).as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(p.backoff(100, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff(1, 0.75), Duration::from_millis(750));
    }

    #[test]
    fn jitter_stays_in_range() {
        let p = RetryPolicy::default();
        for _ in 0..1000 {
            let d = p.delay(0, None);
            assert!(
                d >= Duration::from_millis(375) && d <= Duration::from_millis(500),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let p = |pairs| parse_retry_after(&headers(pairs), now);
        assert_eq!(p(&[("retry-after", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(
            p(&[("retry-after", "1.5")]),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            p(&[("retry-after-ms", "250"), ("retry-after", "9")]),
            Some(Duration::from_millis(250))
        );
        // 1_700_000_010 is Tue, 14 Nov 2023 22:13:30 GMT.
        assert_eq!(
            p(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")]),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            p(&[("retry-after", "Tue, 14 Nov 2023 22:00:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(p(&[("retry-after", "soon")]), None);
        assert_eq!(p(&[("retry-after", "-1")]), None);
        // Values no Duration holds are no value (they used to panic).
        for huge in ["1e300", "inf", "NaN"] {
            for name in ["retry-after", "retry-after-ms"] {
                let h = headers(&[(name, huge)]);
                assert_eq!(parse_retry_after(&h, now), None, "{name}: {huge}");
            }
        }
        assert_eq!(p(&[("retry-after", "18446744073709551616")]), None);
        assert_eq!(p(&[]), None);
    }

    #[test]
    fn retry_after_honoured_only_within_bounds() {
        let p = RetryPolicy::default().jitter(false);
        let d = |v: &str| p.delay(1, Some(&headers(&[("retry-after", v)])));
        assert_eq!(d("7"), Duration::from_secs(7));
        assert_eq!(d("60"), Duration::from_secs(60));
        // Zero and over 60 s fall back to the computed backoff (1 s at retry 1).
        assert_eq!(d("0"), Duration::from_secs(1));
        assert_eq!(d("61"), Duration::from_secs(1));
        assert_eq!(d("3600"), Duration::from_secs(1));
    }

    #[test]
    fn retryable_statuses_and_override() {
        let none = HeaderMap::new();
        for code in [408, 409, 429, 500, 502, 503, 504] {
            assert!(
                should_retry_status(StatusCode::from_u16(code).unwrap(), &none),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(
                !should_retry_status(StatusCode::from_u16(code).unwrap(), &none),
                "{code}"
            );
        }
        let no = headers(&[("x-should-retry", "false")]);
        let yes = headers(&[("x-should-retry", "true")]);
        assert!(!should_retry_status(StatusCode::SERVICE_UNAVAILABLE, &no));
        assert!(should_retry_status(StatusCode::BAD_REQUEST, &yes));
        // A success is never resent, whatever the header says.
        for code in [200, 201, 202, 204, 304] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(!should_retry_status(status, &yes), "{code}");
        }
    }

    #[test]
    fn backoff_never_panics_on_extreme_durations() {
        for initial in [Duration::ZERO, Duration::from_nanos(1), Duration::MAX] {
            for max in [Duration::ZERO, Duration::from_secs(8), Duration::MAX] {
                let p = RetryPolicy::default().initial_delay(initial).max_delay(max);
                for retry in [0, 1, 31, u32::MAX] {
                    let d = p.delay(retry, None);
                    assert!(d <= max, "{initial:?} {max:?} {retry}: {d:?}");
                }
            }
        }
        assert_eq!(secs_saturating(f64::NAN), Duration::ZERO);
        assert_eq!(secs_saturating(-1.0), Duration::ZERO);
        assert_eq!(secs_saturating(f64::INFINITY), Duration::MAX);
        assert_eq!(secs_saturating(1e300), Duration::MAX);
    }
}
