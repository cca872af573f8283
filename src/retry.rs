//! When a failed attempt is tried again, and how long to wait first: exponential backoff with
//! jitter, or the server's `Retry-After`, capped by `--max-retry-wait`.

use std::time::{Duration, SystemTime};

use crate::outcome::{ErrorKind, Failure};

/// Retry settings, validated.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Further attempts after the first.
    pub retries: u32,
    /// Base of the exponential backoff.
    pub base_delay: Duration,
    /// Longest wait before one retry, whatever the server asks.
    pub max_wait: Duration,
    /// Whether a refused connection is transient too (`--retry-connrefused`).
    pub retry_refused: bool,
    /// `--retry-all-errors`: every failure a new attempt might mend is transient.
    pub all_errors: bool,
    /// `--retry-on-http-error`: statuses retried besides [`RETRY_STATUSES`], and ones never.
    pub statuses: Statuses,
    /// `--retry-max-time`: no retry starts, or is waited for, past this long after a URL's
    /// first attempt.
    pub max_time: Option<Duration>,
}

/// Statuses worth another try: the server may answer differently in a moment.
const RETRY_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

impl RetryPolicy {
    /// Whether a failure is transient: connection failures, failures at a proxy that another
    /// try may pass, timeouts, broken or truncated bodies and the statuses above. A refused
    /// connection (or a host a SOCKS proxy found refusing) is final unless `retry_refused`, as
    /// in curl and wget: nothing listens there, and a moment later it is usually the same. Bad
    /// URLs, other 4xx, checksum and size failures are final.
    ///
    /// `--retry-on-http-error` adds statuses (or takes them away), and `--retry-all-errors`
    /// makes every failure transient but what no new attempt changes: a line that is not a
    /// usable URL, a file `--on-exists` keeps, the local disk, `--max-size`, an interrupt.
    pub fn is_transient(&self, failure: &Failure, status: Option<u16>) -> bool {
        if failure.settled {
            return false;
        }
        if let (ErrorKind::HttpStatus, Some(code)) = (failure.kind, status) {
            match self.statuses.verdict(code) {
                Some(verdict) => return verdict,
                None if self.all_errors => return true,
                None => {}
            }
        }
        if self.all_errors {
            return failure.kind.another_source_may_do()
                && !matches!(failure.kind, ErrorKind::Worker);
        }
        match failure.kind {
            ErrorKind::Connect | ErrorKind::Proxy => !failure.refused || self.retry_refused,
            ErrorKind::Timeout | ErrorKind::Io => true,
            ErrorKind::HttpStatus => status.is_some_and(|s| RETRY_STATUSES.contains(&s)),
            _ => false,
        }
    }

    /// Whether a retry that would start `wait` from now, `elapsed` after the URL's first
    /// attempt, is still within `--retry-max-time`.
    pub fn in_time(&self, elapsed: Duration, wait: Duration) -> bool {
        self.max_time
            .is_none_or(|max| elapsed.saturating_add(wait) <= max)
    }

    /// The wait before attempt `attempt + 1`, after `attempt` attempts failed (1-based): the
    /// server's Retry-After if it gave one, else base × 2^(attempt-1) with "equal jitter" (half
    /// fixed, half random) so that many URLs failing together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_wait);
        }
        self.delay_from(self.base_delay, attempt)
    }

    /// The wait before retry number `attempt` with `base` in place of `--retry-delay` (a
    /// line's aria2 `retry-wait=`): doubled each time, with jitter, at most `--max-retry-wait`.
    pub fn delay_from(&self, base: Duration, attempt: u32) -> Duration {
        let exp = base.saturating_mul(1u32 << (attempt.saturating_sub(1)).min(16));
        let half = exp / 2;
        (half + half.mul_f64(fastrand::f64())).min(self.max_wait)
    }
}

/// HTTP statuses named by `--retry-on-http-error`: those to retry and those never to retry
/// (a `!` before them), each list expanded from its patterns over 100-999 when parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statuses {
    retry: Vec<u16>,
    never: Vec<u16>,
}

impl Statuses {
    /// Whether `code` is retried by name: `Some(false)` for a `!` one (which wins), `Some(true)`
    /// for one listed, `None` for one the list does not name.
    fn verdict(&self, code: u16) -> Option<bool> {
        if self.never.contains(&code) {
            Some(false)
        } else if self.retry.contains(&code) {
            Some(true)
        } else {
            None
        }
    }
}

/// Parses `--retry-on-http-error`: comma-separated statuses or patterns of digits, `*` (any
/// digits) and `?` (one digit), each optionally after a `!`. A pattern that matches no status
/// is refused, so that a typo (`50`, `5xx`) does not quietly retry nothing.
pub fn parse_statuses(text: &str) -> Result<Statuses, String> {
    let mut statuses = Statuses::default();
    for item in text.split(',').map(str::trim) {
        let (pattern, never) = match item.strip_prefix('!') {
            Some(rest) => (rest, true),
            None => (item, false),
        };
        if pattern.is_empty()
            || !pattern
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'?')
        {
            return Err(format!(
                "`{item}` is not an HTTP status or a pattern of digits, `*` and `?` (as 404, 5*, !503)"
            ));
        }
        // Only digits, `*` and `?` get here, so the pattern always compiles.
        let glob = glob::Pattern::new(pattern).map_err(|err| format!("`{item}`: {err}"))?;
        let matched: Vec<u16> = (100..=999)
            .filter(|code| glob.matches(&code.to_string()))
            .collect();
        if matched.is_empty() {
            return Err(format!(
                "`{item}` matches no HTTP status (three digits, 100 to 999)"
            ));
        }
        let list = if never {
            &mut statuses.never
        } else {
            &mut statuses.retry
        };
        list.extend(matched);
    }
    for list in [&mut statuses.retry, &mut statuses.never] {
        list.sort_unstable();
        list.dedup();
    }
    Ok(statuses)
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
            all_errors: false,
            statuses: Statuses::default(),
            max_time: None,
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
            all_errors: false,
            statuses: Statuses::default(),
            max_time: None,
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

    #[test]
    fn retry_all_errors_retries_what_a_new_attempt_may_mend() {
        let policy = RetryPolicy {
            retries: 2,
            base_delay: Duration::ZERO,
            max_wait: Duration::ZERO,
            retry_refused: false,
            all_errors: true,
            statuses: parse_statuses("!404").unwrap(),
            max_time: None,
        };
        let f = |kind| Failure::new(kind, "x");
        let refused = Failure {
            refused: true,
            ..f(ErrorKind::Connect)
        };
        assert!(policy.is_transient(&refused, None));
        assert!(policy.is_transient(&f(ErrorKind::HttpStatus), Some(403)));
        assert!(policy.is_transient(&f(ErrorKind::Tls), None));
        assert!(policy.is_transient(&f(ErrorKind::Checksum), None));
        assert!(policy.is_transient(&f(ErrorKind::Dns), None));
        // A `!` status stays final, and so does what no attempt changes.
        assert!(!policy.is_transient(&f(ErrorKind::HttpStatus), Some(404)));
        for kind in [
            ErrorKind::InvalidUrl,
            ErrorKind::Exists,
            ErrorKind::Disk,
            ErrorKind::TooLarge,
            ErrorKind::Cancelled,
            ErrorKind::Worker,
        ] {
            assert!(!policy.is_transient(&f(kind), None), "{kind:?}");
        }
        let settled = Failure {
            settled: true,
            ..f(ErrorKind::Connect)
        };
        assert!(!policy.is_transient(&settled, None));
    }

    #[test]
    fn retry_on_http_error_adds_and_removes_statuses() {
        let policy = RetryPolicy {
            retries: 2,
            base_delay: Duration::ZERO,
            max_wait: Duration::ZERO,
            retry_refused: false,
            all_errors: false,
            statuses: parse_statuses("404, 41?,!503,!50*,*,!999").unwrap(),
            max_time: None,
        };
        let http = Failure::new(ErrorKind::HttpStatus, "x");
        let retried = |code| policy.is_transient(&http, Some(code));
        assert!(retried(404) && retried(410) && retried(419) && retried(451));
        // `*` names every status, and a `!` wins over it and over the statuses retried anyway.
        assert!(!retried(503) && !retried(500) && !retried(504) && !retried(999));
        assert!(retried(429) && retried(599));
        // Only HTTP failures are touched.
        assert!(!policy.is_transient(&Failure::new(ErrorKind::Tls, "x"), None));
        assert!(policy.is_transient(&Failure::new(ErrorKind::Timeout, "x"), None));
    }

    #[test]
    fn retry_max_time_bounds_when_a_retry_may_start() {
        let policy = RetryPolicy {
            retries: 9,
            base_delay: Duration::ZERO,
            max_wait: Duration::ZERO,
            retry_refused: false,
            all_errors: false,
            statuses: Statuses::default(),
            max_time: Some(Duration::from_secs(10)),
        };
        let s = Duration::from_secs;
        assert!(policy.in_time(s(4), s(6)));
        assert!(!policy.in_time(s(4), s(7)), "the wait would end past it");
        assert!(!policy.in_time(s(11), s(0)));
        let unbounded = RetryPolicy {
            max_time: None,
            ..policy
        };
        assert!(unbounded.in_time(s(1_000_000), s(1_000_000)));
    }

    #[test]
    fn status_patterns_are_checked() {
        let parsed = parse_statuses("404,4?4,!5*").unwrap();
        assert_eq!(parsed.never.len(), 100);
        assert_eq!(
            parsed.retry,
            (0..10).map(|d| 404 + d * 10).collect::<Vec<u16>>()
        );
        for bad in ["", "4x4", "50", "1000", "404,", "!", "-1", "*5*5*5*5"] {
            let err = parse_statuses(bad).unwrap_err();
            assert!(err.contains('`'), "{bad}: {err}");
        }
        assert_eq!(parse_statuses("*").unwrap().retry.len(), 900);
    }
}
