//! `--verbose`: each request's head as it was written, the connection it went on, and each
//! answer's head, kept per URL on the thread that fetches it and printed with its result.
//!
//! ureq writes a request on the thread that calls it, so a thread-local trace collects what the
//! [`Trace`] link (last in the connector chain, above TLS) sees written, with no lock and
//! nothing shared between fetches. Credentials are never kept: `Authorization` and
//! `Proxy-Authorization` values, and cookie values, are replaced by `***`, and so is a login in a
//! `Location`.

use std::cell::RefCell;

use ureq::Error;
use ureq::http::{HeaderMap, StatusCode, Version};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

use crate::proxy;
use crate::report;

/// Most text one URL's trace keeps: results wait in memory for their turn with --keep-order,
/// and a server answering every request with 48 KiB of headers through ten redirects and three
/// attempts would otherwise leave megabytes per URL.
const MAX_TRACE: usize = 64 * 1024;

/// One URL's trace while it is kept: its lines and their bytes.
#[derive(Default)]
struct Kept {
    lines: Vec<String>,
    bytes: usize,
}

impl Kept {
    fn push(&mut self, line: String) {
        match self.bytes.checked_add(line.len()) {
            Some(bytes) if bytes <= MAX_TRACE => {
                self.bytes = bytes;
                self.lines.push(line);
            }
            // Once: nothing later is kept either.
            _ if self.bytes <= MAX_TRACE => {
                self.bytes = usize::MAX;
                self.lines.push(format!(
                    "* the rest is left out: a trace keeps {MAX_TRACE} bytes"
                ));
            }
            _ => {}
        }
    }
}

thread_local! {
    /// This thread's trace, while one is being kept.
    static LINES: RefCell<Option<Kept>> = const { RefCell::new(None) };
    /// Whether the connection the next request goes on was just made.
    static FRESH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// What the links below [`Trace`] learned of the connection being made, for the lines
    /// that say it was made: the address reached directly, and how TLS was agreed.
    static MAKING: RefCell<Making> = const { RefCell::new(Making { peer: None, tls: None }) };
    /// Set while the CONNECT link makes its connection to the proxy (see [`Tunnel`]).
    static TUNNELING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// See [`MAKING`].
#[derive(Default)]
struct Making {
    peer: Option<std::net::SocketAddr>,
    tls: Option<String>,
}

/// A new connection is being made, to the address `peer` gives when it is a direct one (the
/// TCP link's; asked only when a trace is kept).
pub fn reached(peer: impl FnOnce() -> Option<std::net::SocketAddr>) {
    if keeping() {
        let peer = peer();
        MAKING.with(|making| *making.borrow_mut() = Making { peer, tls: None });
    }
}

/// The TLS link's handshake on the connection being made agreed what `make` says.
pub fn secured(make: impl FnOnce() -> String) {
    if keeping() {
        MAKING.with(|making| making.borrow_mut().tls = Some(make()));
    }
}

/// Bytes made safe for a terminal as [`report::escape`] makes them, but for quotes, which are
/// only escaped there because a body's prefix is shown inside quotes (an ETag is `"abc"`).
fn escape(bytes: &[u8]) -> String {
    report::escape(bytes).replace("\\\"", "\"")
}

/// Starts keeping this thread's trace (dropping any left over).
pub fn start() {
    LINES.with(|lines| *lines.borrow_mut() = Some(Kept::default()));
}

/// Stops keeping this thread's trace and returns it.
pub fn take() -> Vec<String> {
    LINES.with(|lines| lines.borrow_mut().take().unwrap_or_default().lines)
}

/// Adds lines (another thread's trace) to this thread's, if it keeps one.
pub fn extend(more: Vec<String>) {
    LINES.with(|lines| {
        if let Some(kept) = lines.borrow_mut().as_mut() {
            more.into_iter().for_each(|line| kept.push(line));
        }
    });
}

/// Adds the line `make` gives, if this thread keeps a trace (`make` is not called otherwise).
pub fn note(make: impl FnOnce() -> String) {
    LINES.with(|lines| {
        if let Some(kept) = lines.borrow_mut().as_mut() {
            kept.push(make());
        }
    });
}

fn keeping() -> bool {
    LINES.with(|lines| lines.borrow().is_some())
}

/// An answer's head: its status line and headers, as curl -v shows them.
pub fn received(version: Version, status: StatusCode, headers: &HeaderMap) {
    if !keeping() {
        return;
    }
    let reason = status.canonical_reason().unwrap_or("");
    note(|| format!("< {version:?} {} {reason}", status.as_u16()));
    for (name, value) in headers {
        let value = shown(name.as_str(), value.as_bytes());
        note(|| format!("< {name}: {value}"));
    }
}

/// A request head as written: one line each, up to the blank line that ends it.
fn sent(bytes: &[u8]) {
    if !FRESH.replace(false) {
        note(|| "* on a kept-alive connection".into());
    }
    // As the TCP link below writes it to a proxy that takes the whole URL.
    let absolute = proxy::absolute_head(bytes);
    let text = String::from_utf8_lossy(absolute.as_deref().unwrap_or(bytes));
    let mut lines = text.split("\r\n").take_while(|line| !line.is_empty());
    // The request line (through a proxy, with a whole URL and its colons), then the headers.
    if let Some(first) = lines.next() {
        note(|| format!("> {}", escape(first.as_bytes())));
    }
    for line in lines {
        let line = match line.split_once(':') {
            Some((name, value)) => {
                let value = shown(name, value.trim().as_bytes());
                format!("{}: {value}", escape(name.as_bytes()))
            }
            None => escape(line.as_bytes()),
        };
        note(|| format!("> {line}"));
    }
}

/// A header's value as the trace shows it: credentials hidden, controls escaped.
fn shown(name: &str, value: &[u8]) -> String {
    if name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization")
    {
        // The scheme stays (`Basic`, `Bearer`): it says what kind of login went.
        let text = String::from_utf8_lossy(value);
        let scheme = text.split_whitespace().next().unwrap_or("");
        return format!("{} ***", escape(scheme.as_bytes()));
    }
    if name.eq_ignore_ascii_case("cookie") || name.eq_ignore_ascii_case("set-cookie") {
        return hide_cookie_values(&String::from_utf8_lossy(value), name.len() == 6);
    }
    // A redirect to a URL with a login in it: the login is hidden as a URL argument's is.
    if name.eq_ignore_ascii_case("location")
        && let Ok(url) = url::Url::parse(&String::from_utf8_lossy(value))
        && (!url.username().is_empty() || url.password().is_some())
    {
        return escape(crate::outcome::redact(&url).as_bytes());
    }
    escape(value)
}

/// `a=1; b=2` as `a=***; b=***`; for a Set-Cookie (`all` false) only the first pair is the
/// cookie, and its attributes (`Path=/`, `Max-Age=60`) are shown as they are.
fn hide_cookie_values(text: &str, all: bool) -> String {
    let pairs =
        text.split(';')
            .enumerate()
            .map(|(i, pair)| match (i == 0 || all, pair.split_once('=')) {
                (true, Some((name, _))) => format!("{}=***", name),
                _ => pair.to_string(),
            });
    escape(pairs.collect::<Vec<_>>().join(";").as_bytes())
}

/// The link that wraps each connection in [`Traced`]; only in the chain with `--verbose`.
#[derive(Debug)]
pub struct Trace;

impl<In: Transport> Connector<In> for Trace {
    type Out = Traced<In>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        Ok(chained.map(|inner| {
            FRESH.set(true);
            // The CONNECT link makes its connection to the proxy by running the whole chain,
            // this link included: that connection shows the CONNECT and its answer,
            // then nothing (what goes through the tunnel is shown by the link above it,
            // where https is plaintext).
            let tunnel = TUNNELING.get();
            if keeping() {
                connected(details, inner.is_tls(), tunnel);
            }
            Traced {
                inner,
                pending: Vec::new(),
                shows: if tunnel { Shows::Connect } else { Shows::All },
            }
        }))
    }
}

/// Notes that a connection was made, and what its TLS agreed.
fn connected(details: &ConnectionDetails, tls: bool, to_proxy: bool) {
    let making = MAKING.with(|making| std::mem::take(&mut *making.borrow_mut()));
    let tls = if tls { " (TLS)" } else { "" };
    // Host and port, not the authority: a proxy's URI keeps its user name and password there.
    let host = match (details.uri.host(), details.uri.port_u16()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (host, _) => host.unwrap_or_default().to_string(),
    };
    // The connection to the proxy for a tunnel is made with the proxy still in the settings.
    let via = match (details.config.proxy().filter(|_| !to_proxy), making.peer) {
        (Some(p), _) => format!(" through the proxy {}", proxy::address(p)),
        (None, _) if let Some(at) = proxy::absolute_proxy_address() => {
            format!(" through the proxy {at}")
        }
        // The address the name led to (not repeated when the URL gave it).
        (None, Some(peer)) if peer.to_string() != host => format!(" at {peer}"),
        (None, _) => String::new(),
    };
    let what = if to_proxy { "the proxy " } else { "" };
    note(|| {
        format!(
            "* connected to {what}{}{tls}{}",
            escape(host.as_bytes()),
            escape(via.as_bytes())
        )
    });
    if let Some(agreed) = making.tls {
        note(|| format!("* {agreed}"));
    }
}

/// The link around the CONNECT link ([`proxy::Connect`]): marks the connection it makes as the
/// one to the proxy (see [`Trace`]).
#[derive(Debug)]
pub struct Tunnel<C>(pub C);

impl<In: Transport, C: Connector<In>> Connector<In> for Tunnel<C> {
    type Out = C::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        let before = TUNNELING.replace(chained.is_none());
        let made = self.0.connect(details, chained);
        TUNNELING.set(before);
        made
    }
}

/// The link around ureq's SOCKS link: notes what the proxy is asked to reach, and that it
/// did, as curl -v's "SOCKS5 connect to HOST" and "SOCKS5 request granted" do (the handshake
/// itself is binary).
#[derive(Debug)]
pub struct Socks<C>(pub C);

impl<In: Transport, C: Connector<In>> Connector<In> for Socks<C> {
    type Out = C::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        // `no_proxy` hosts never get here with a proxy: `Proxies::for_url` leaves it off.
        let proxy = (details.config.proxy())
            .filter(|p| chained.is_none() && keeping() && proxy::is_socks(p));
        if let Some(proxy) = proxy {
            let asked = match details.addrs.first() {
                // socks4 and socks5 take an address, looked up here.
                Some(addr) if proxy.resolve_target() => format!("{addr} (looked up here)"),
                _ => format!("{} (looked up by the proxy)", proxy::target(details)),
            };
            let at = proxy::address(proxy);
            note(|| {
                format!(
                    "* asking the {} proxy {at} to connect to {asked}",
                    proxy.protocol()
                )
            });
        }
        let made = self.0.connect(details, chained);
        if proxy.is_some() && matches!(made, Ok(Some(_))) {
            note(|| "* the proxy connected".to_string());
        }
        made
    }
}

/// What a [`Traced`] connection still shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shows {
    /// Every request head written on it.
    All,
    /// The CONNECT request (a connection to a proxy), then its answer, then nothing.
    Connect,
    Answer,
    Nothing,
}

/// A connection whose writes go to the writing thread's trace.
#[derive(Debug)]
pub struct Traced<T> {
    inner: T,
    /// Written bytes of a head not yet complete: ureq writes a CONNECT in pieces.
    pending: Vec<u8>,
    shows: Shows,
}

impl<T: Transport> Traced<T> {
    /// Adds `bytes` to the head being written and shows each one completed.
    fn written(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = head_end(&self.pending) {
            sent(&self.pending[..end]);
            self.pending.drain(..end);
            if self.shows == Shows::Connect {
                self.shows = Shows::Answer;
                self.pending.clear();
            }
        }
        // A head is bounded by the request size limit; past a trace's bound nothing is kept.
        if self.pending.len() > MAX_TRACE {
            self.pending.clear();
        }
    }
}

/// Where the head at the start of `bytes` ends (after its blank line), if it is all there.
fn head_end(bytes: &[u8]) -> Option<usize> {
    (bytes.windows(4).position(|w| w == b"\r\n\r\n")).map(|at| at + 4)
}

/// A proxy's answer to CONNECT, as [`received`] shows an answer's head.
fn answered(head: &[u8]) {
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n").take_while(|line| !line.is_empty()) {
        let line = match line.split_once(':') {
            Some((name, value)) if !name.contains(' ') => {
                let value = shown(name, value.trim().as_bytes());
                format!("{}: {value}", escape(name.as_bytes()))
            }
            _ => escape(line.as_bytes()),
        };
        note(|| format!("< {line}"));
    }
}

impl<T: Transport> Transport for Traced<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        if matches!(self.shows, Shows::All | Shows::Connect) && keeping() {
            let bytes = self.inner.buffers().output()[..amount].to_vec();
            self.written(&bytes);
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.inner.maybe_await_input(timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let more = self.inner.await_input(timeout)?;
        if self.shows == Shows::Answer && keeping() {
            let input = self.inner.buffers().input();
            if let Some(end) = head_end(input) {
                let head = input[..end].to_vec();
                answered(&head);
                self.shows = Shows::Nothing;
            }
        }
        Ok(more)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_cookie_values_are_hidden() {
        assert_eq!(shown("Authorization", b"Basic dXNlcjpwYXNz"), "Basic ***");
        assert_eq!(shown("proxy-authorization", b"Bearer abc"), "Bearer ***");
        assert_eq!(shown("Cookie", b"a=1; b=2"), "a=***; b=***");
        assert_eq!(
            shown("Location", b"http://u:secret@example.com/a@b"),
            "http://***@example.com/a@b"
        );
        assert_eq!(shown("location", b"/a@b"), "/a@b");
        assert_eq!(
            shown("set-cookie", b"sid=secret; Path=/; Max-Age=60"),
            "sid=***; Path=/; Max-Age=60"
        );
        assert_eq!(shown("X-Other", b"plain\x1b[31m"), "plain\\x1b[31m");
        assert_eq!(shown("etag", br#""v1" \"#), r#""v1" \\"#);
    }

    #[test]
    fn a_trace_keeps_at_most_its_bound_and_says_so_once() {
        start();
        for _ in 0..100 {
            note(|| "x".repeat(1000));
        }
        let lines = take();
        assert_eq!(lines.len(), MAX_TRACE / 1000 + 1);
        assert!(lines.last().unwrap().starts_with("* the rest is left out"));
        assert!(lines.iter().map(String::len).sum::<usize>() < MAX_TRACE + 100);
    }

    #[test]
    fn a_request_head_is_kept_line_by_line_and_only_while_asked() {
        sent(b"GET / HTTP/1.1\r\nhost: a\r\n\r\n");
        assert!(take().is_empty(), "nothing is kept unasked");
        start();
        FRESH.set(true);
        sent(b"GET /x HTTP/1.1\r\nhost: a\r\nauthorization: Basic Zm9v\r\n\r\n");
        sent(b"GET http://p:8/y HTTP/1.1\r\n\r\n");
        assert_eq!(
            take(),
            [
                "> GET /x HTTP/1.1",
                "> host: a",
                "> authorization: Basic ***",
                "* on a kept-alive connection",
                "> GET http://p:8/y HTTP/1.1"
            ]
        );
    }
}
