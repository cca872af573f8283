//! What a failed fetch is called: ureq's errors, I/O errors, statuses and limits turned into a
//! [`Failure`]'s kind and a message that names the cause in words a user can act on.

use std::io;
use std::time::Duration;

use url::Url;

use crate::cancel;
use crate::decode::BadEncoding;
use crate::outcome::{ErrorKind, Failure, Outcome, redact};
use crate::proxy::AtProxy;
use crate::resolve::{LookupFailed, NoAddress};
use crate::retry;
use crate::tls;
use crate::transport;

/// The failure for an answer with a 4xx or 5xx status; for 429 and 503 with the wait its
/// Retry-After asks for.
pub(super) fn status_failure(
    status: ureq::http::StatusCode,
    retry_after: Option<String>,
) -> Failure {
    let code = status.as_u16();
    let reason = match status.canonical_reason() {
        Some(reason) => reason,
        None if !(100..600).contains(&code) => "(not a status HTTP defines)",
        None => "",
    };
    let message = format!("HTTP {code} {reason}");
    let mut failure = Failure::new(ErrorKind::HttpStatus, message.trim_end());
    if matches!(code, 429 | 503) {
        failure.retry_after = retry_after
            .as_deref()
            .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
    }
    failure
}

/// A request that failed after `hops` redirects says where: the line's own URL answered, so
/// "Connection refused" alone would blame the wrong server. The URL it failed at is also the
/// result's `final_url`.
pub(super) fn where_led(
    mut failure: Failure,
    at: &Url,
    hops: u32,
    outcome: &mut Outcome,
) -> Failure {
    if hops > 0 {
        let shown = redact(at);
        let plural = if hops == 1 { "" } else { "s" };
        failure.message = format!(
            "at {shown} (where {hops} redirect{plural} led): {}",
            failure.message
        );
        outcome.final_url = Some(shown);
    }
    failure
}

pub(super) fn too_large(max: Option<u64>) -> Failure {
    let max = max.unwrap_or(u64::MAX);
    Failure::new(
        ErrorKind::TooLarge,
        format!("body is larger than --max-size ({max} bytes)"),
    )
}

pub(super) fn disk(err: io::Error, path: &std::path::Path) -> Failure {
    Failure::new(
        ErrorKind::Disk,
        format!("writing {}: {err}", path.display()),
    )
}

/// Maps ureq's error to a kind and a message a user can act on.
pub fn classify(err: ureq::Error) -> Failure {
    use ErrorKind as K;
    let (kind, message) = match &err {
        ureq::Error::Timeout(which) => (K::Timeout, timeout_message(*which)),
        ureq::Error::HostNotFound => (K::Dns, "host name not found".to_string()),
        ureq::Error::Other(inner) if inner.is::<LookupFailed>() || inner.is::<NoAddress>() => {
            (K::Dns, inner.to_string())
        }
        ureq::Error::Io(io) if transport::was_interrupted(io) => (
            K::Cancelled,
            format!("{} before it finished", cancel::why()),
        ),
        ureq::Error::Io(io) if tls::is_tls(io) => (K::Tls, tls::message(io)),
        ureq::Error::Io(io) if transport::went_stale(&err) => (K::Io, io.to_string()),
        // A shown body that is not the gzip it claims (see `decode`).
        ureq::Error::Io(io) if io.get_ref().is_some_and(|e| e.is::<BadEncoding>()) => {
            (K::Protocol, io.to_string())
        }
        ureq::Error::Io(io) if at_proxy(io).is_some() => (K::Proxy, io.to_string()),
        ureq::Error::Io(io) => (io_kind(io), io_message(io)),
        ureq::Error::ConnectionFailed => (K::Connect, "connection failed".to_string()),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => (K::InvalidUrl, err.to_string()),
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_) => {
            (K::Tls, err.to_string())
        }
        ureq::Error::BodyExceedsLimit(_) => (K::TooLarge, err.to_string()),
        ureq::Error::LargeResponseHeader(size, most) => (
            K::TooLarge,
            format!("the answer's head is {size} bytes, more than the {most} fetchpar reads"),
        ),
        ureq::Error::Protocol(inner) => (K::Protocol, protocol_message(inner)),
        // ureq's reader saw its buffer full and no chunk in it: a line of the chunked framing
        // longer than the buffer (its own text, "body data reading stalled", reads as a
        // timeout, which this is not).
        ureq::Error::BodyStalled => (
            K::Protocol,
            "the chunked body is malformed (a chunk size or trailer line too long to read)"
                .to_string(),
        ),
        _ => (K::Io, err.to_string()),
    };
    let mut failure = Failure::new(kind, message);
    failure.refused =
        matches!(&err, ureq::Error::Io(io) if io.kind() == io::ErrorKind::ConnectionRefused);
    failure.settled = matches!(&err, ureq::Error::Io(io)
        if io.get_ref().is_some_and(|inner| inner.is::<crate::interface::NoFamily>())
            || at_proxy(io).is_some_and(AtProxy::settled));
    failure
}

/// What was wrong with an answer ureq could not read, in words that say it was the server's
/// (ureq's own text is a parser's: "http parse fail: invalid header name").
fn protocol_message(err: &ureq_proto::Error) -> String {
    use ureq_proto::Error as E;
    let what = match err {
        E::HttpParseFail(why) if why.contains("version") => {
            "the server did not answer in HTTP/1.x (another protocol on this port, or HTTP/0.9)"
        }
        E::HttpParseFail(why) if why.contains("header value") => {
            "the answer has a header value with bytes no header may hold (control characters)"
        }
        E::HttpParseFail(why) if why.contains("header") => {
            "the answer has a header line that is not `Name: value` (a folded line, or a space \
             before the colon)"
        }
        E::HttpParseFail(why) if why.contains("status") => "the answer's status line is malformed",
        E::HttpParseFail(_) => "the answer's head is not valid HTTP",
        E::HttpParseTooManyHeaders => "the answer has more than 128 header lines, the most read",
        E::UnsupportedVersion => "the server answered in an HTTP version other than 1.0 or 1.1",
        E::TooManyContentLengthHeaders => {
            "the answer gives different Content-Lengths, so where its body ends is unknown"
        }
        E::BadContentLengthHeader => "the answer's Content-Length is not a number",
        E::ChunkLenNotAscii | E::ChunkLenNotANumber | E::ChunkExpectedCrLf => {
            "the chunked body is malformed"
        }
        E::NoLocationHeader => "a redirect without a Location header",
        E::BadLocationHeader(_) => "a redirect whose Location is not a URL",
        _ => "the answer is not valid HTTP",
    };
    format!("{what} ({err})")
}

fn at_proxy(io: &io::Error) -> Option<&AtProxy> {
    io.get_ref().and_then(|inner| inner.downcast_ref())
}

/// A body that came slower than `--speed-limit` over `--speed-time`.
pub(super) fn too_slow(least: u64, time: Duration) -> Failure {
    Failure::new(
        ErrorKind::Timeout,
        format!(
            "slower than {least} bytes per second for {} s (--speed-limit, --speed-time)",
            time.as_secs_f64()
        ),
    )
}

fn timeout_message(which: ureq::Timeout) -> String {
    use ureq::Timeout as T;
    let what = match which {
        T::PerRead => "no data received within the stall timeout (--stall-timeout)",
        T::Global => "the whole-URL timeout ran out (-m, --max-time)",
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

/// A body that ended before its Content-Length says how much of it came (the bytes already
/// counted show nothing of what was missing).
pub(super) fn cut_short(err: io::Error, received: u64, length: Option<u64>) -> Failure {
    let eof = err.kind() == io::ErrorKind::UnexpectedEof;
    let mut failure = classify(ureq::Error::from(err));
    if let Some(length) = length
        && eof
        && failure.kind == ErrorKind::Io
    {
        failure.message = format!(
            "connection closed after {received} of {length} bytes ({} missing)",
            length.saturating_sub(received)
        );
    }
    failure
}

fn io_message(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            "connection closed before the response was complete".to_string()
        }
        _ => err.to_string(),
    }
}
