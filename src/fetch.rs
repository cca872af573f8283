//! Fetching one URL into one [`Outcome`]: the shared ureq Agent, its timeouts and headers, and
//! streaming the body so only a byte count and a short prefix are kept.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ureq::http::{HeaderName, HeaderValue};
use ureq::{Agent, ResponseExt};

use crate::cancel;
use crate::links::Job;
use crate::outcome::{ErrorKind, Failure, Outcome, redact_str};
use crate::resolve::CachingResolver;

/// Network settings, validated, shared by every fetch of a run.
#[derive(Debug, Clone)]
pub struct NetSettings {
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub stall_timeout: Option<Duration>,
    pub max_redirects: u32,
    pub user_agent: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bytes of each body kept for display.
    pub prefix: usize,
    /// Connections kept open for reuse; at least the number of concurrent fetches.
    pub pool: usize,
}

/// Parses `Name: value` as given to `-H`.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue)> {
    let Some((name, value)) = text.split_once(':') else {
        bail!("header `{text}` is not of the form `Name: value`");
    };
    let name = HeaderName::try_from(name.trim())
        .with_context(|| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::try_from(value.trim())
        .with_context(|| format!("the value of header `{name}` is not valid"))?;
    Ok((name, value))
}

/// Fetches URLs with one Agent, so connections are pooled across all threads.
pub struct Fetcher {
    agent: Agent,
    settings: NetSettings,
    /// When the run started; outcomes record their start relative to it.
    epoch: Instant,
    /// Test hook: a URL containing this text makes its worker panic, to prove that a dying
    /// worker still yields a result. Read once from `FETCHPAR_TEST_PANIC`.
    panic_on: Option<String>,
}

/// Read size for bodies: large enough that a fast stream is few syscalls, small enough that a
/// thousand threads reading at once stay within a few tens of MiB.
const READ_CHUNK: usize = 32 * 1024;

impl Fetcher {
    pub fn new(settings: NetSettings) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(settings.max_redirects)
            .user_agent(settings.user_agent.as_str())
            // Name lookups are bounded too; the resolver only pays for that on a cache miss.
            .timeout_resolve(settings.connect_timeout)
            .timeout_connect(settings.connect_timeout)
            .timeout_global(settings.timeout)
            .timeout_per_read(settings.stall_timeout)
            .max_idle_connections(settings.pool.max(10))
            .max_idle_connections_per_host(settings.pool.max(3))
            .build();
        let agent = Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::default(),
        );
        Self {
            agent,
            settings,
            epoch: Instant::now(),
            panic_on: std::env::var("FETCHPAR_TEST_PANIC")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// Restarts the clock that outcomes' start times are measured from.
    pub fn reset_epoch(&mut self) {
        self.epoch = Instant::now();
    }

    /// Fetches one job. Never panics on bad input or network failure: every failure is data.
    pub fn fetch(&self, job: &Job) -> Outcome {
        let start = Instant::now();
        let mut outcome = Outcome::new(job, start.saturating_duration_since(self.epoch));
        let target = match &job.target {
            Ok(target) => target,
            Err(reason) => {
                outcome.error = Some(Failure::new(ErrorKind::InvalidUrl, reason.clone()));
                return outcome;
            }
        };
        if let Some(marker) = &self.panic_on {
            assert!(
                !target.url.as_str().contains(marker.as_str()),
                "test hook: panicking for {marker}"
            );
        }
        if cancel::requested() {
            outcome.error = Some(Failure::new(
                ErrorKind::Cancelled,
                "not started: interrupted",
            ));
            return outcome;
        }
        if let Err(failure) = self.fetch_into(target.url.as_str(), start, &mut outcome) {
            outcome.error = Some(failure);
        }
        outcome.elapsed = start.elapsed();
        outcome
    }

    fn fetch_into(&self, url: &str, start: Instant, outcome: &mut Outcome) -> Result<(), Failure> {
        let mut request = self.agent.get(url);
        for (name, value) in &self.settings.headers {
            request = request.header(name, value);
        }
        let response = request.call().map_err(classify)?;
        outcome.ttfb = Some(start.elapsed());
        let status = response.status();
        outcome.status = Some(status.as_u16());
        let final_url = response.get_uri().to_string();
        if final_url != url {
            outcome.final_url = Some(redact_str(&final_url));
        } else {
            outcome.final_url = Some(outcome.url.clone());
        }
        let mut body = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        self.drain(&mut body, outcome)?;
        if status.is_client_error() || status.is_server_error() {
            let reason = status.canonical_reason().unwrap_or("");
            return Err(Failure::new(
                ErrorKind::HttpStatus,
                format!("HTTP {} {reason}", status.as_u16())
                    .trim_end()
                    .to_string(),
            ));
        }
        Ok(())
    }

    /// Streams the body, counting bytes and keeping only the prefix.
    fn drain(&self, body: &mut impl Read, outcome: &mut Outcome) -> Result<(), Failure> {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if cancel::requested() {
                return Err(Failure::new(
                    ErrorKind::Cancelled,
                    "interrupted while downloading",
                ));
            }
            let n = match body.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(classify(ureq::Error::from(err))),
            };
            let room = self.settings.prefix.saturating_sub(outcome.prefix.len());
            outcome.prefix.extend_from_slice(&buf[..n.min(room)]);
            outcome.bytes += n as u64;
        }
    }
}

/// Maps ureq's error to a kind and a message a user can act on.
pub fn classify(err: ureq::Error) -> Failure {
    use ErrorKind as K;
    let (kind, message) = match &err {
        ureq::Error::Timeout(which) => (K::Timeout, timeout_message(*which)),
        ureq::Error::HostNotFound => (K::Dns, "host name not found".to_string()),
        ureq::Error::Io(io) => (io_kind(io), io_message(io)),
        ureq::Error::ConnectionFailed => (K::Connect, "connection failed".to_string()),
        ureq::Error::TooManyRedirects => (K::Redirects, "too many redirects".to_string()),
        ureq::Error::RedirectFailed => (K::Redirects, "redirect could not be followed".into()),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => (K::InvalidUrl, err.to_string()),
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_) => {
            (K::Tls, err.to_string())
        }
        ureq::Error::BodyExceedsLimit(_) => (K::TooLarge, err.to_string()),
        ureq::Error::LargeResponseHeader(..) => (K::TooLarge, err.to_string()),
        ureq::Error::Protocol(_) => (K::Protocol, err.to_string()),
        ureq::Error::Decompress(..) => (K::Protocol, err.to_string()),
        _ => (K::Io, err.to_string()),
    };
    Failure::new(kind, message)
}

fn timeout_message(which: ureq::Timeout) -> String {
    use ureq::Timeout as T;
    let what = match which {
        T::PerRead => "no data received within the stall timeout (--stall-timeout)",
        T::Global => "the whole-URL timeout ran out (--timeout)",
        T::Connect | T::Resolve => {
            "could not connect within the connect timeout (--connect-timeout)"
        }
        _ => "timed out",
    };
    what.to_string()
}

fn io_kind(err: &io::Error) -> ErrorKind {
    use io::ErrorKind as E;
    match err.kind() {
        E::ConnectionRefused
        | E::HostUnreachable
        | E::NetworkUnreachable
        | E::AddrNotAvailable
        | E::NetworkDown => ErrorKind::Connect,
        E::TimedOut | E::WouldBlock => ErrorKind::Timeout,
        _ => ErrorKind::Io,
    }
}

fn io_message(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            "connection closed before the response was complete".to_string()
        }
        _ => err.to_string(),
    }
}

/// A fetcher shared by worker threads.
pub type SharedFetcher = Arc<Fetcher>;
