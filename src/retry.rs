//! When a failed attempt is tried again, and how long to wait first: exponential backoff with
//! jitter, or the server's `Retry-After`, capped by `--max-retry-wait`.

use std::time::{Duration, SystemTime};

use crate::outcome::{ErrorKind, Failure};

/// Retry settings, validated.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Further attempts after the first.
    pub retries: u32,
    /// Base of the exponential backoff.
    pub base_delay: Duration,
    /// Longest wait before one retry, whatever the server asks.
    pub max_wait: Duration,
    /// Whether a refused connection is transient too (`--retry-connrefused`).
    pub retry_refused: bool,
}

/// Statuses worth another try: the server may answer differently in a moment.
const RETRY_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

impl RetryPolicy {
    /// Whether a failure is transient: connection failures, failures at a proxy that another
    /// try may pass, timeouts, broken or truncated bodies and the statuses above. A refused
    /// connection (or a host a SOCKS proxy found refusing) is final unless `retry_refused`, as
    /// in curl and wget: nothing listens there, and a moment later it is usually the same. Bad
    /// URLs, other 4xx, checksum and size failures are final.
    pub fn is_transient(&self, failure: &Failure, status: Option<u16>) -> bool {
        if failure.settled {
            return false;
        }
        match failure.kind {
            ErrorKind::Connect | ErrorKind::Proxy => !failure.refused || self.retry_refused,
            ErrorKind::Timeout | ErrorKind::Io => true,
            ErrorKind::HttpStatus => status.is_some_and(|s| RETRY_STATUSES.contains(&s)),
            _ => false,
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts failed (1-based): the
    /// server's Retry-After if it gave one, else base × 2^(attempt-1) with "equal jitter" (half
    /// fixed, half random) so that many URLs failing together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_wait);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let half = exp / 2;
        (half + half.mul_f64(fastrand::f64())).min(self.max_wait)
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            retries: 5,
            base_delay: Duration::from_millis(100),
            max_wait: Duration::from_secs(1),
            retry_refused: false,
        };
        for attempt in 1..=3 {
            let full = Duration::from_millis(100 << (attempt - 1));
            let d = policy.delay(attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(policy.delay(12, None) <= Duration::from_secs(1));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(9))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let mut policy = RetryPolicy {
            retries: 2,
            base_delay: Duration::ZERO,
            max_wait: Duration::ZERO,
            retry_refused: false,
        };
        let f = |kind| Failure::new(kind, "x");
        let refused = Failure {
            refused: true,
            ..f(ErrorKind::Connect)
        };
        assert!(policy.is_transient(&f(ErrorKind::Connect), None));
        assert!(!policy.is_transient(&refused, None));
        assert!(policy.is_transient(&f(ErrorKind::Io), None));
        assert!(policy.is_transient(&f(ErrorKind::HttpStatus), Some(503)));
        assert!(!policy.is_transient(&f(ErrorKind::HttpStatus), Some(404)));
        assert!(!policy.is_transient(&f(ErrorKind::Checksum), None));
        assert!(!policy.is_transient(&f(ErrorKind::InvalidUrl), None));
        assert!(!policy.is_transient(&f(ErrorKind::TooLarge), None));
        policy.retry_refused = true;
        assert!(policy.is_transient(&refused, None));
    }
}
