//! What one URL produced: the single [`Outcome`] every job yields, success or named failure,
//! and the failure kinds that scripts match on in `--json` output.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::links::Job;

/// Why a URL failed. The snake_case names are part of the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The line is not an http(s) URL, or its options are wrong.
    InvalidUrl,
    /// The server answered with a 4xx or 5xx status.
    HttpStatus,
    /// A connect, stall or whole-URL time limit ran out.
    Timeout,
    /// The connection could not be made (refused, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The connection broke, or a local read or write failed.
    Io,
    /// The body or the response head is larger than allowed.
    TooLarge,
    /// Too many redirects, or a redirect that could not be followed.
    Redirects,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The server did not speak valid HTTP.
    Protocol,
    /// The run was interrupted before this URL finished.
    Cancelled,
    /// The worker fetching this URL died (a bug); reported so the URL is not lost.
    Worker,
    /// The saved body does not match the `sha256=` given in the list.
    Checksum,
    /// The file to save exists and `--on-exists error` forbids replacing it, or `-c` cannot
    /// continue it (and keeps it).
    Exists,
    /// Writing the file failed (permission, disk full, name too long...).
    Disk,
    /// The proxy could not be reached, refused the tunnel or its login, or could not reach
    /// the host.
    Proxy,
}

impl ErrorKind {
    /// Whether another URL of the same file (a mirror) may succeed where this failure ended a
    /// URL: not when the run is interrupted, nor for what no source can mend (the local disk,
    /// the size limit, the `--on-exists` policy, a line that is not usable).
    pub fn another_source_may_do(self) -> bool {
        !matches!(
            self,
            Self::Cancelled | Self::Disk | Self::TooLarge | Self::Exists | Self::InvalidUrl
        )
    }
}

/// A failure: its kind and a message naming the cause.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
    /// How long the server asked us to wait (`Retry-After`), for the retry logic only.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// The connection was refused: nothing listens there, which curl and wget do not retry
    /// unless asked (`--retry-connrefused`). For the retry logic only.
    #[serde(skip)]
    pub refused: bool,
    /// Nothing a retry could change: the `--interface` lacks the host's address family. For
    /// the retry logic only.
    #[serde(skip)]
    pub settled: bool,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            refused: false,
            settled: false,
        }
    }
}

/// `http_status: 404 Not Found`, as a result line gives it.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", crate::report::kind_name(self), self.message)
    }
}

/// The one result of one job.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: usize,
    pub source: Arc<str>,
    pub line: usize,
    /// The URL as shown to the user: credentials redacted, or the raw line if it is invalid.
    pub url: String,
    pub status: Option<u16>,
    pub bytes: u64,
    /// When the fetch started, from the start of the run.
    pub started: Duration,
    /// Total time for this URL.
    pub elapsed: Duration,
    /// Time until the final response head arrived.
    pub ttfb: Option<Duration>,
    pub final_url: Option<String>,
    pub prefix: Vec<u8>,
    pub error: Option<Failure>,
    /// Where the body was saved (or found, when skipped).
    pub path: Option<String>,
    /// SHA-256 of the saved file, as lowercase hex.
    pub sha256: Option<String>,
    /// Saving was skipped because the file is already there.
    pub skipped: bool,
    /// The input line as written, with the option lines under it, for `--failed-out`.
    pub input: String,
    /// Attempts made (1 unless retried), over all of the line's mirrors.
    pub attempts: u32,
    /// The mirror (one of the line's other URLs) this result is from, credentials redacted;
    /// `None` for the line's own URL.
    pub mirror: Option<String>,
    /// The body length the final answer announced (`Content-Length`), whether or not the body
    /// was read: what `--spider` reports as the size.
    pub length: Option<u64>,
    /// The final answer's `Content-Type`, as sent (at most 200 bytes of it).
    pub content_type: Option<String>,
    /// The URL was only checked, its body not read (`--spider`, or its line's `dry-run=true`):
    /// its size is the one announced.
    pub spider: bool,
    /// Ranges the body was fetched as, at once, when it was split (`--split`).
    pub segments: Option<usize>,
    /// `--verbose`: the requests and answers' heads, one line each (see [`crate::trace`]).
    pub trace: Vec<String>,
}

impl Outcome {
    /// An outcome for `job` with nothing fetched yet.
    pub fn new(job: &Job, started: Duration) -> Self {
        let url = match &job.target {
            Ok(target) => redact(&target.url),
            // The URL line, without the option lines under it.
            Err(_) => {
                let line = job.text.lines().next().unwrap_or_default().trim();
                crate::links::shorten(&redact_str(line))
            }
        };
        Self {
            id: job.id,
            source: Arc::clone(&job.source),
            line: job.line,
            url,
            status: None,
            bytes: 0,
            started,
            elapsed: Duration::ZERO,
            ttfb: None,
            final_url: None,
            prefix: Vec::new(),
            error: None,
            path: None,
            sha256: None,
            skipped: false,
            input: job.text.clone(),
            attempts: 0,
            mirror: None,
            length: None,
            content_type: None,
            spider: false,
            segments: None,
            trace: Vec::new(),
        }
    }

    /// A job that failed before any work was done for it.
    pub fn failed(job: &Job, started: Duration, failure: Failure) -> Self {
        let mut outcome = Self::new(job, started);
        outcome.error = Some(failure);
        outcome
    }

    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The URL with any password replaced, so credentials never reach the terminal or a log.
pub fn redact(url: &url::Url) -> String {
    if url.password().is_none() && url.username().is_empty() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Setting credentials on an http(s) URL with a host cannot fail.
    let _ = shown.set_username("***");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Redacts a URL given as text, which need not parse (a list line that is not a valid URL, a
/// Location that cannot be followed, a proxy variable): everything between `scheme://` (or the
/// start, without one) and the last `@` becomes `***`, as [`redact`] shows credentials. Text
/// that does not parse can hold a password with a raw `/` or `?` in it, so the last `@`
/// anywhere is taken: an `@` in a path is masked with it, which hides more than needed of a
/// line that is invalid anyway, but never shows a password.
pub fn redact_str(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    match text[start..].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        let url = url::Url::parse("https://alice:s3cret@example.com/x?y=1").unwrap();
        let shown = redact(&url);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("alice"), "{shown}");
        assert_eq!(shown, "https://***@example.com/x?y=1");
        assert_eq!(redact_str("http://plain.example/"), "http://plain.example/");
    }

    #[test]
    fn credentials_in_text_that_is_not_a_url_are_redacted_too() {
        let cases = [
            (
                "http://alice:s3cret@host:99999/x",
                "http://***@host:99999/x",
            ),
            ("http://alice:s3cret@ho st/x?y", "http://***@ho st/x?y"),
            ("https://bob:p@ss@[::1/x", "https://***@[::1/x"),
            ("ftp://u:pw@host", "ftp://***@host"),
            ("carol:pw@host/x", "***@host/x"),
            // A password with characters a URL cannot hold raw.
            ("http://bob:pa/ss@host:99999/", "http://***@host:99999/"),
            ("http://bob:p?ss#@host:99999/", "http://***@host:99999/"),
            ("http://host:99999/x", "http://host:99999/x"),
            ("not a url", "not a url"),
        ];
        for (text, shown) in cases {
            assert_eq!(redact_str(text), shown, "{text}");
        }
    }
}
