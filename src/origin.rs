//! A small HTTP/1.1 origin server on loopback, used by `--demo` and by the tests (and by the
//! benchmark's `--thread-origin`; its own origin, `bench/origin.rs`, answers the benchmark's
//! URLs alike with event loops). One thread per connection, taken from threads kept waiting in
//! `accept`, keep-alive, bodies written from one shared block (no per-byte work), and behaviour
//! chosen per request by query parameters, so a test describes the response it wants in the URL
//! it fetches:
//!
//! | parameter | effect |
//! |---|---|
//! | `size=N` | body of N bytes (default 1024) of a fixed text pattern ([`body_bytes`]) |
//! | `delay=MS` | wait before answering |
//! | `status=N` | answer with that status |
//! | `body=TEXT` | this exact body instead of the pattern |
//! | `echo=NAME` | the body is the value(s) of the request header NAME, one per line |
//! | `chunked=1` | chunked transfer encoding; with `endless=1`, chunks never end |
//! | `gzip=1` | gzip-encoded body, close-delimited (`body=TEXT` encoded too; `zeros=1`: all zero bytes, a bomb; `stall=0`: the head, then nothing) |
//! | `gzfile=1` | the body (`body=TEXT` or the pattern) gzip-compressed and sent as it is, with no Content-Encoding, as servers send `.gz` files |
//! | `sized=1` | with `gzip=1`: compressed first and sent with a Content-Length (a Range is of the compressed bytes; `body=TEXT` is sent as is, not gzip at all) |
//! | `hex=HEX` | this exact body, spelled in hex (for bytes that are not text; an empty one if HEX is not hex) |
//! | `encoded=NAME` | the body (`hex=HEX` or `body=TEXT`) sent as it is with `Content-Encoding: NAME` and a Content-Length; a Range is of those bytes |
//! | `negotiate=1` | with `gzip=1`: gzip only to a request whose `Accept-Encoding` names it; to others the body as it is, ranges and all, as servers that compress on the fly answer |
//! | `stall=N` | send the head and N body bytes, then nothing |
//! | `drip=MS` | one body byte every MS milliseconds |
//! | `fill=B` | a body of bytes all of value B (0-255) instead of the pattern |
//! | `rate=N` | the body at N bytes per second on each connection, as servers that limit each send it |
//! | `truncate=N` | declare `size` but close after N bytes; `truncate_once=N` only the first time |
//! | `redirect=N` | a chain of N redirects before the body; `loop=1` redirects to itself |
//! | `location=TEXT` | a 302 (or `status=N`) with exactly this Location and a 5-byte body |
//! | `fail=K` | the first K requests for this path get 503 (`fail_status=N` another status, `retry_after=S` adds Retry-After) |
//! | `cd=VALUE` | a Content-Disposition header with this value |
//! | `ctype=TYPE` | the Content-Type (default `text/plain`) |
//! | `big_header=N` | an extra header N bytes long |
//! | `garbage=1` | bytes that are not HTTP; `badchunk=1` invalid chunked encoding; `reset=1` close at once |
//! | `no_range=1` | ignore Range requests (answer 200 with the whole body) |
//! | `ignore_range=1` | say `Accept-Ranges: bytes` and still answer a Range with the whole body |
//! | `cut_ranges=K` | the first K answers to a Range starting past byte 0 send half their bytes and close |
//! | `wait_ranges=K` | an answer from byte 0 sends its head and 64 KiB, then waits (up to 30 s) until K Range requests past byte 0 for its path have come, so that a split's helpers claim their ranges before the first connection reaches them |
//! | `etag=TEXT` | the ETag to send (default derived from the size) |
//! | `cookie=TEXT` | a Set-Cookie header per line of TEXT, on any answer (redirects and `fail` too) |
//! | `need_cookie=TEXT` | 403 unless the request's Cookie header contains TEXT |
//! | `digest=USER:PASSWORD` | 401 with a Digest challenge (MD5, `qop="auth"`) unless the request answers one of this server's with that login (`digest_basic=1` offers Basic too, first; `digest_once=1` takes each nonce once, a reused one then being `stale`) |
//! | `no_head=1` | 405 Method Not Allowed to a HEAD request |
//! | `last_modified=SECS` | a Last-Modified of that Unix time, and 304 to an If-Modified-Since no older (`ignore_ims=1`: never 304) |
//!
//! A `CONNECT` request is answered as a proxy would, and what comes through the tunnel is then
//! served as above; a request naming a whole URL (`GET http://host/path`, what clients send a
//! proxy for http URLs) is answered for its path: so the server can also stand in for an HTTP
//! proxy.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, LazyLock, Mutex};
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Bodies up to this size are sent together with their head in one write.
const COALESCE_BELOW: u64 = 256 * 1024;

/// The repeating block every generated body is cut from.
static PATTERN: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut block = Vec::with_capacity(64 * 1024);
    let mut n = 0u32;
    while block.len() < 64 * 1024 {
        block.extend_from_slice(
            format!("fetchpar origin line {n:06},abcdefghijklmnop\n").as_bytes(),
        );
        n += 1;
    }
    block.truncate(64 * 1024);
    block
});

/// The bytes a generated body holds from `offset`, `len` long (for tests and checksums).
pub fn body_bytes(offset: u64, len: usize) -> Vec<u8> {
    let pattern = &*PATTERN;
    (0..len)
        .map(|i| pattern[((offset + i as u64) % pattern.len() as u64) as usize])
        .collect()
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    requests: AtomicUsize,
    proxied: AtomicUsize,
    active: AtomicUsize,
    max_active: AtomicUsize,
    per_path: Mutex<HashMap<String, usize>>,
    /// Digest nonces given out (`digest`), and those already answered (`digest_once`).
    nonces: AtomicUsize,
    answered: Mutex<std::collections::HashSet<String>>,
    /// Signalled when a Range request past byte 0 comes (`wait_ranges`).
    ranged: Condvar,
}

/// A running origin server; it stops accepting when dropped.
pub struct Origin {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    pool: Arc<Acceptors>,
}

impl Origin {
    /// Starts on 127.0.0.1 on a free port.
    pub fn start() -> io::Result<Self> {
        Self::bind("127.0.0.1:0")
    }

    /// Starts on the given address, with a couple of threads ready to accept.
    pub fn bind(addr: &str) -> io::Result<Self> {
        Self::bind_ready(addr, 2)
    }

    /// Starts on the given address with `ready` threads waiting in `accept`, topped up in the
    /// background as connections take them. A burst of connections (a benchmark opening a
    /// hundred at once) is then answered without spawning a thread for each on the way: spawning
    /// one by one in an accept loop put ~10 ms between the first and the hundredth answer.
    pub fn bind_ready(addr: &str, ready: usize) -> io::Result<Self> {
        let listener = listen(addr)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let pool = Arc::new(Acceptors {
            listener,
            ready: ready.max(1),
            idle: AtomicUsize::new(0),
            low: Mutex::new(()),
            top_up: Condvar::new(),
            stats: Arc::clone(&stats),
            stop: Arc::clone(&stop),
        });
        // Wait for the first threads to be warm, so a benchmark that starts as soon as the
        // address is printed does not share the cores with their warming up.
        let warm = Arc::new(Barrier::new(pool.ready + 1));
        pool.spawn_acceptors(pool.ready, Some(&warm))?;
        warm.wait();
        let keeper = Arc::clone(&pool);
        thread::Builder::new()
            .name("origin-pool".into())
            .spawn(move || keeper.keep_ready())?;
        Ok(Self {
            addr,
            stats,
            stop,
            pool,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    /// Requests answered or being answered so far.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Requests that came to it as a proxy: tunnels opened with CONNECT, and requests naming
    /// a whole `http://` URL.
    pub fn proxied(&self) -> usize {
        self.stats.proxied.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at the same moment.
    pub fn max_concurrent(&self) -> usize {
        self.stats.max_active.load(Ordering::SeqCst)
    }

    /// Blocks until the server is stopped from elsewhere (for the benchmark's server process).
    pub fn serve_forever(&self) {
        while !self.stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Shutting a listening socket down makes every blocked `accept` return at once.
        let _ = socket2::SockRef::from(&self.pool.listener).shutdown(std::net::Shutdown::Both);
        self.pool.top_up.notify_all();
    }
}

/// Threads that wait in `accept` on one listener, each serving the connection it gets and
/// then waiting again.
struct Acceptors {
    listener: TcpListener,
    /// Threads to keep waiting in `accept`.
    ready: usize,
    idle: AtomicUsize,
    low: Mutex<()>,
    /// Signalled when the waiting threads run low.
    top_up: Condvar,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Acceptors {
    /// Fewer waiting threads than this and more are spawned.
    fn low_water(&self) -> usize {
        self.ready.div_ceil(2)
    }

    fn spawn_acceptors(self: &Arc<Self>, n: usize, warm: Option<&Arc<Barrier>>) -> io::Result<()> {
        for _ in 0..n {
            let pool = Arc::clone(self);
            let warm = warm.cloned();
            self.idle.fetch_add(1, Ordering::SeqCst);
            let spawned = thread::Builder::new()
                .name("origin-conn".into())
                // gzip encoding keeps its state on the stack: keep the default size.
                .spawn(move || {
                    warm_up();
                    if let Some(warm) = warm {
                        warm.wait();
                    }
                    pool.accept_loop()
                });
            if let Err(err) = spawned {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                return Err(err);
            }
        }
        Ok(())
    }

    fn accept_loop(&self) {
        loop {
            let conn = self.listener.accept();
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let left = self.idle.fetch_sub(1, Ordering::SeqCst) - 1;
            if left < self.low_water() {
                let _guard = self.low.lock().unwrap_or_else(|e| e.into_inner());
                self.top_up.notify_one();
            }
            if let Ok((conn, _)) = conn {
                self.stats.connections.fetch_add(1, Ordering::SeqCst);
                let _ = serve_connection(conn, &self.stats, &self.stop);
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Runs on its own thread: spawns acceptors whenever fewer than half of `ready` are
    /// waiting, so spawning is never on a connection's path.
    fn keep_ready(self: Arc<Self>) {
        let mut guard = self.low.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let idle = self.idle.load(Ordering::SeqCst);
            if idle < self.low_water() {
                drop(guard);
                if self.spawn_acceptors(self.ready - idle, None).is_err() {
                    // Out of threads: the ones that exist keep serving.
                    thread::sleep(Duration::from_millis(100));
                }
                guard = self.low.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            guard = self
                .top_up
                .wait_timeout(guard, Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Touches the stack and heap a connection will use. Waiting threads take connections in
/// turn, so without this every connection of a benchmark's first runs met a thread that had
/// never run, and its page faults landed on the cores the client being measured shares.
fn warm_up() {
    let stack = [1u8; 64 * 1024];
    std::hint::black_box(&stack);
    let heap = vec![1u8; 96 * 1024];
    std::hint::black_box(&heap);
}

/// Binds with a deep accept queue. std's listener asks for 128; a client opening hundreds of
/// connections at once then overflows it, and the kernel drops SYNs that are retried only a
/// second later, which would make the server, not the client, the thing being measured.
pub fn listen(addr: &str) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: {e}")))?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

struct Request {
    method: String,
    /// The request line's target as sent (a path, or a whole URL to a proxy).
    target: String,
    path: String,
    params: HashMap<String, String>,
    range_start: Option<u64>,
    /// The last byte a `Range: bytes=A-B` asks for (none for `bytes=A-`).
    range_end: Option<u64>,
    if_range: Option<String>,
    close: bool,
    /// Request headers, names in lower case.
    headers: Vec<(String, String)>,
    /// The request line named a whole URL, as one sent to a proxy does.
    absolute: bool,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    let first = String::from_utf8_lossy(&line).trim().to_string();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let mut target = parts.next().unwrap_or("/").to_string();
    let sent = target.clone();
    // A request in absolute form, as a client sends one to a proxy: answered as the URL's
    // server would answer its path.
    let absolute = target.starts_with("http://");
    if absolute {
        let after = &target["http://".len()..];
        target = after
            .find('/')
            .map_or("/".into(), |at| after[at..].to_string());
    }
    let http10 = parts.next() == Some("HTTP/1.0");
    let mut range_start = None;
    let mut range_end = None;
    let mut if_range = None;
    let mut close = http10;
    let mut headers = Vec::new();
    let mut head_bytes = line.len();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        head_bytes += n;
        if n == 0 || head_bytes > 64 * 1024 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            headers.push((name.clone(), value.to_string()));
            if name == "range" {
                let range = value.strip_prefix("bytes=").and_then(|r| r.split_once('-'));
                range_start = range.and_then(|(a, _)| a.parse().ok());
                range_end = range.and_then(|(_, b)| b.parse().ok());
            } else if name == "if-range" {
                if_range = Some(value.to_string());
            } else if name == "connection" && value.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let params = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    Ok(Some(Request {
        method,
        target: sent,
        path: path.to_string(),
        params,
        range_start,
        range_end,
        if_range,
        close,
        headers,
        absolute,
    }))
}

fn serve_connection(conn: TcpStream, stats: &Stats, stop: &AtomicBool) -> io::Result<()> {
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    while let Some(request) = read_request(&mut reader)? {
        if request.method == "CONNECT" {
            // Acting as a proxy: open the "tunnel" and answer what comes through it ourselves,
            // so tests can check that proxy settings are followed.
            stats.proxied.fetch_add(1, Ordering::SeqCst);
            writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            continue;
        }
        if request.absolute {
            stats.proxied.fetch_add(1, Ordering::SeqCst);
        }
        stats.requests.fetch_add(1, Ordering::SeqCst);
        let mut answering = Answering::start(stats);
        let keep = respond(&mut writer, &request, stats, &mut answering, stop);
        drop(answering);
        if !keep? || request.close {
            break;
        }
    }
    Ok(())
}

/// Whether the request's Authorization answers a Digest challenge of this server's for
/// `login` (`USER:PASSWORD`), worked out here as RFC 7616 says, apart from the client's code.
/// `Err(true)` when it does but its nonce was answered before and `once` allows a nonce one
/// answer (the challenge is then `stale`).
fn digest_answered(req: &Request, login: &str, stats: &Stats, once: bool) -> Result<(), bool> {
    let value = (req.headers.iter())
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str())
        .ok_or(false)?;
    let nonce = digest_answer(value, login, &req.method, &req.target).ok_or(false)?;
    let ours = (nonce.strip_prefix('n'))
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n < stats.nonces.load(Ordering::SeqCst));
    if !ours {
        return Err(false);
    }
    let mut answered = stats.answered.lock().unwrap_or_else(|e| e.into_inner());
    if once && !answered.insert(nonce) {
        return Err(true);
    }
    Ok(())
}

/// The challenge [`digest_answer`] checks answers to: realm `fetchpar`, MD5, `qop="auth"`,
/// this nonce, opaque `fetchpar-opaque` (a `WWW-Authenticate` or `Proxy-Authenticate` value).
pub fn digest_challenge(nonce: &str) -> String {
    format!(
        "Digest realm=\"fetchpar\", qop=\"auth\", nonce=\"{nonce}\", opaque=\"fetchpar-opaque\""
    )
}

/// The nonce an `Authorization` (or `Proxy-Authorization`) value answers with `login`
/// (`USER:PASSWORD`) for a request of `method` and request target `target`, when it is a
/// right answer to a [`digest_challenge`]; worked out here as RFC 7616 says, apart from the
/// client's code. For the tests' servers and proxies.
pub fn digest_answer(value: &str, login: &str, method: &str, target: &str) -> Option<String> {
    use md5::Digest as _;
    let hex = |text: String| crate::links::hex(&md5::Md5::digest(text.as_bytes()));
    let (user, password) = login.split_once(':').unwrap_or((login, ""));
    let answer = http_auth::parse_challenges(value).ok()?;
    let answer = answer
        .first()
        .filter(|a| a.scheme.eq_ignore_ascii_case("Digest"))?;
    let param = |name: &str| {
        (answer.params.iter())
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_unescaped())
            .unwrap_or_default()
    };
    let nonce = param("nonce");
    let ha1 = hex(format!("{user}:fetchpar:{password}"));
    let ha2 = hex(format!("{method}:{}", param("uri")));
    let (nc, cnonce) = (param("nc"), param("cnonce"));
    let expected = hex(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    let right = param("username") == user
        && param("realm") == "fetchpar"
        && param("uri") == target
        && param("qop") == "auth"
        && param("opaque") == "fetchpar-opaque"
        && param("response") == expected;
    right.then_some(nonce)
}

/// Sleeps for `total`, measured against a deadline: every nap oversleeps a little, and with
/// hundreds of threads waking on two cores the overshoots of 20 ms naps added up to several
/// milliseconds more delay than was asked for.
fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(20);
    let deadline = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        thread::sleep(left.min(step));
    }
}

/// A request being answered, counted in `Stats::active` until its answer is about to leave.
struct Answering<'a> {
    stats: &'a Stats,
    counted: bool,
}

impl<'a> Answering<'a> {
    fn start(stats: &'a Stats) -> Self {
        let now = stats.active.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_active.fetch_max(now, Ordering::SeqCst);
        Self {
            stats,
            counted: true,
        }
    }

    /// Stops counting, just before an answer's last write: once the client holds the whole
    /// answer it may send its next request, and the count must be down by then, or a client
    /// keeping to N at once could be seen with N + 1 (it was, under --per-host 3).
    fn sent(&mut self) {
        if std::mem::take(&mut self.counted) {
            self.stats.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.sent();
    }
}

/// Writes one response; returns whether the connection can carry another request.
fn respond(
    out: &mut TcpStream,
    req: &Request,
    stats: &Stats,
    answering: &mut Answering,
    stop: &AtomicBool,
) -> io::Result<bool> {
    let p = |name: &str| req.params.get(name).map(String::as_str);
    let num = |name: &str| p(name).and_then(|v| v.parse::<u64>().ok());
    let flag = |name: &str| p(name).is_some_and(|v| v == "1" || v == "true");

    if let Some(ms) = num("delay") {
        sleep_unless_stopped(Duration::from_millis(ms), stop);
    }
    if flag("reset") {
        return Ok(false);
    }
    let cookies: String = p("cookie").map_or_else(String::new, |text| {
        (text.lines())
            .map(|line| format!("Set-Cookie: {line}\r\n"))
            .collect()
    });
    if let Some(needed) = p("need_cookie") {
        let has = (req.headers.iter()).any(|(n, v)| n == "cookie" && v.contains(needed));
        if !has {
            let head =
                format!("HTTP/1.1 403 Forbidden\r\n{cookies}Content-Length: 9\r\n\r\nforbidden");
            out.write_all(head.as_bytes())?;
            return Ok(true);
        }
    }
    if let Some(login) = p("digest")
        && let Err(stale) = digest_answered(req, login, stats, flag("digest_once"))
    {
        let nonce = stats.nonces.fetch_add(1, Ordering::SeqCst);
        let basic = match flag("digest_basic") {
            true => "WWW-Authenticate: Basic realm=\"fetchpar\"\r\n",
            false => "",
        };
        let stale = if stale { ", stale=true" } else { "" };
        let challenge = digest_challenge(&format!("n{nonce}"));
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\n{basic}WWW-Authenticate: {challenge}{stale}\r\n\
             {cookies}Content-Length: 12\r\n\r\nunauthorized"
        );
        out.write_all(head.as_bytes())?;
        return Ok(true);
    }
    if flag("garbage") {
        out.write_all(b"\x00\x01\x02 this is not HTTP at all \xff\xfe\r\n\r\n")?;
        return Ok(false);
    }
    if let Some(k) = num("fail") {
        let seen = {
            let mut map = stats.per_path.lock().unwrap_or_else(|e| e.into_inner());
            let count = map.entry(req.path.clone()).or_insert(0);
            *count += 1;
            *count as u64
        };
        if seen <= k {
            let retry = p("retry_after")
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let code = num("fail_status").unwrap_or(503);
            let head = format!(
                "HTTP/1.1 {code} Try Later\r\n{retry}{cookies}Content-Length: 11\r\n\r\nunavailable"
            );
            answering.sent();
            out.write_all(head.as_bytes())?;
            return Ok(true);
        }
    }
    if let Some(location) = p("location") {
        let code = num("status").unwrap_or(302);
        let head = format!(
            "HTTP/1.1 {code} Moved\r\nLocation: {location}\r\n{cookies}Content-Length: 5\r\n\r\nmoved"
        );
        out.write_all(head.as_bytes())?;
        return Ok(true);
    }
    if flag("loop") || num("redirect").is_some_and(|n| n > 0) {
        let location = if flag("loop") {
            format!("{}?{}", req.path, encode(&req.params))
        } else {
            let mut next = req.params.clone();
            let left = num("redirect").unwrap_or(1) - 1;
            next.insert("redirect".into(), left.to_string());
            format!("{}?{}", req.path, encode(&next))
        };
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\n{cookies}Content-Length: 0\r\n\r\n"
        );
        out.write_all(head.as_bytes())?;
        return Ok(true);
    }

    let modified = num("last_modified").map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
    if let Some(modified) = modified
        && !flag("ignore_ims")
    {
        let since = (req.headers.iter())
            .find(|(n, _)| n == "if-modified-since")
            .and_then(|(_, v)| httpdate::parse_http_date(v).ok());
        if since.is_some_and(|since| modified <= since) {
            let head = format!(
                "HTTP/1.1 304 Not Modified\r\nLast-Modified: {}\r\n\r\n",
                httpdate::fmt_http_date(modified)
            );
            out.write_all(head.as_bytes())?;
            return Ok(true);
        }
    }
    if flag("no_head") && req.method == "HEAD" {
        let head = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n";
        out.write_all(head.as_bytes())?;
        return Ok(true);
    }
    let status = num("status").unwrap_or(200);
    let echoed = p("echo").map(|name| {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.join("\n").into_bytes()
    });
    let mut literal = echoed
        .or_else(|| p("body").map(|b| b.as_bytes().to_vec()))
        // Hex that is not hex is no body at all (an empty one).
        .or_else(|| p("hex").map(|hex| crate::links::unhex(hex).unwrap_or_default()));
    if flag("gzfile") {
        // A gzip file sent as it is (no Content-Encoding), as servers send `.gz` files.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        match &literal {
            Some(text) => encoder.write_all(text)?,
            None => write_pattern(&mut encoder, 0, num("size").unwrap_or(1024))?,
        }
        literal = Some(encoder.finish()?);
    }
    let size = literal
        .as_ref()
        .map_or_else(|| num("size").unwrap_or(1024), |b| b.len() as u64);
    let mut head = String::new();
    let mut extra = cookies;
    if let Some(modified) = modified {
        extra.push_str(&format!(
            "Last-Modified: {}\r\n",
            httpdate::fmt_http_date(modified)
        ));
    }
    if let Some(cd) = p("cd") {
        extra.push_str(&format!("Content-Disposition: {cd}\r\n"));
    }
    if let Some(n) = num("big_header") {
        extra.push_str(&format!("X-Padding: {}\r\n", "a".repeat(n as usize)));
    }
    let etag = p("etag").map_or_else(|| format!("\"len-{size}\""), str::to_string);
    extra.push_str(&format!(
        "ETag: {etag}\r\nContent-Type: {}\r\n",
        p("ctype").unwrap_or("text/plain")
    ));
    let head_only = req.method == "HEAD";

    if flag("badchunk") {
        head.push_str(&format!(
            "HTTP/1.1 {status} OK\r\n{extra}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"
        ));
        out.write_all(head.as_bytes())?;
        return Ok(false);
    }
    let gzip = flag("gzip")
        && (!flag("negotiate")
            || (req.headers.iter())
                .any(|(name, value)| name == "accept-encoding" && value.contains("gzip")));
    let stored = match (gzip && flag("sized"), p("encoded")) {
        // Compressed in memory first, so the head can give its Content-Length.
        (true, _) => Some((
            match literal.take() {
                // A body that says it is gzip and is not.
                Some(bytes) => bytes,
                None => {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    write_pattern(&mut encoder, 0, size)?;
                    encoder.finish()?
                }
            },
            "gzip",
        )),
        (false, Some(coding)) => Some((literal.take().unwrap_or_default(), coding)),
        (false, None) => None,
    };
    if let Some((compressed, coding)) = stored {
        // A range is of the encoded bytes, as a store of pre-compressed files serves them.
        let total = compressed.len();
        let start = req.range_start.map_or(0, |s| s as usize);
        if req.range_start.is_some() && start >= total {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\n\r\n"
            );
            out.write_all(head.as_bytes())?;
            return Ok(true);
        }
        let range = if start > 0 {
            format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1)
        } else {
            String::new()
        };
        let (code, reason) = if start > 0 {
            (206, "Partial Content")
        } else {
            (status, "OK")
        };
        head.push_str(&format!(
            "HTTP/1.1 {code} {reason}\r\n{extra}{range}Content-Encoding: {coding}\r\nContent-Length: {}\r\n\r\n",
            total - start
        ));
        out.write_all(head.as_bytes())?;
        if !head_only {
            out.write_all(&compressed[start..])?;
        }
        return Ok(true);
    }
    if gzip {
        head.push_str(&format!(
            "HTTP/1.1 {status} OK\r\n{extra}Content-Encoding: gzip\r\nConnection: close\r\n\r\n"
        ));
        out.write_all(head.as_bytes())?;
        if p("stall").is_some() {
            // The head, then nothing: a stall before the first byte of the encoded body.
            sleep_unless_stopped(Duration::from_secs(60), stop);
        } else if let (Some(text), false) = (&literal, head_only) {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            encoder.write_all(text)?;
            encoder.finish()?;
        } else if !head_only {
            write_gzip(out, size, flag("zeros"), stop)?;
        }
        return Ok(false);
    }
    if flag("chunked") {
        head.push_str(&format!(
            "HTTP/1.1 {status} OK\r\n{extra}Transfer-Encoding: chunked\r\n\r\n"
        ));
        out.write_all(head.as_bytes())?;
        if head_only {
            return Ok(true);
        }
        let endless = flag("endless");
        let mut sent = 0u64;
        while (endless || sent < size) && !stop.load(Ordering::SeqCst) {
            let n = if endless {
                16 * 1024
            } else {
                (size - sent).min(16 * 1024)
            };
            out.write_all(format!("{n:x}\r\n").as_bytes())?;
            write_pattern(out, sent, n)?;
            out.write_all(b"\r\n")?;
            sent += n;
        }
        out.write_all(b"0\r\n\r\n")?;
        return Ok(true);
    }

    // A plain body with a Content-Length, possibly a range of it.
    // If-Range: the range applies only while the validator still matches.
    let ranged = status == 200
        && !flag("no_range")
        && !flag("ignore_range")
        && req.if_range.as_ref().is_none_or(|v| *v == etag);
    let (code, start) = match req.range_start {
        Some(start) if ranged && start < size => (206, start),
        Some(start) if ranged && start >= size && size > 0 => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\nContent-Length: 0\r\n\r\n"
            );
            out.write_all(head.as_bytes())?;
            return Ok(true);
        }
        _ => (status, 0),
    };
    // The last byte sent: a range may end before the body does.
    let last = match (code, req.range_end) {
        (206, Some(end)) => end.min(size - 1),
        _ => size.saturating_sub(1),
    };
    let length = if code == 206 { last + 1 - start } else { size };
    let reason = match code {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    head.push_str(&format!(
        "HTTP/1.1 {code} {reason}\r\n{extra}Content-Length: {length}\r\n"
    ));
    if !flag("no_range") {
        head.push_str("Accept-Ranges: bytes\r\n");
    }
    if code == 206 {
        head.push_str(&format!("Content-Range: bytes {start}-{last}/{size}\r\n"));
    }
    head.push_str("\r\n");
    let plain = !head_only
        && literal.is_none()
        && [
            "stall",
            "drip",
            "truncate",
            "truncate_once",
            "cut_ranges",
            "wait_ranges",
            "rate",
            "fill",
        ]
        .iter()
        .all(|key| p(key).is_none());
    if plain && length <= COALESCE_BELOW {
        // Head and body in one write: one segment and one wake-up for the client, as a
        // server that buffers its output would send them.
        let mut whole = head.into_bytes();
        write_pattern(&mut whole, start, length)?;
        answering.sent();
        out.write_all(&whole)?;
        return Ok(true);
    }
    out.write_all(head.as_bytes())?;
    if head_only {
        return Ok(true);
    }
    if let Some(k) = num("wait_ranges") {
        let key = format!("ranges {}", req.path);
        let mut map = stats.per_path.lock().unwrap_or_else(|e| e.into_inner());
        if start > 0 {
            *map.entry(key).or_insert(0) += 1;
            stats.ranged.notify_all();
        } else {
            drop(map);
            let first = length.min(64 * 1024);
            write_pattern(out, 0, first)?;
            let mut map = stats.per_path.lock().unwrap_or_else(|e| e.into_inner());
            let deadline = Instant::now() + Duration::from_secs(30);
            while (map.get(&key).copied().unwrap_or(0) as u64) < k && !stop.load(Ordering::SeqCst) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                map = (stats.ranged.wait_timeout(map, left))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            drop(map);
            write_pattern(out, first, length - first)?;
            return Ok(true);
        }
    }
    if let Some(bytes) = literal {
        out.write_all(&bytes[start as usize..][..length as usize])?;
        return Ok(true);
    }
    if let Some(n) = num("stall") {
        write_pattern(out, start, n.min(length))?;
        sleep_unless_stopped(Duration::from_secs(60), stop);
        return Ok(false);
    }
    if let Some(byte) = num("fill") {
        let block = [byte as u8; 16 * 1024];
        let mut left = length;
        while left > 0 {
            let n = left.min(block.len() as u64);
            out.write_all(&block[..n as usize])?;
            left -= n;
        }
        return Ok(true);
    }
    if let Some(rate) = num("rate").filter(|&r| r > 0) {
        // Paced against a deadline per piece, as a server that limits each connection sends.
        let started = Instant::now();
        let mut sent = 0;
        while sent < length && !stop.load(Ordering::SeqCst) {
            let n = (length - sent).min(16 * 1024);
            write_pattern(out, start + sent, n)?;
            sent += n;
            let due = started + Duration::from_secs_f64(sent as f64 / rate as f64);
            thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        return Ok(true);
    }
    if let Some(ms) = num("drip") {
        for i in 0..length {
            if stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            write_pattern(out, start + i, 1)?;
            thread::sleep(Duration::from_millis(ms));
        }
        return Ok(true);
    }
    if let Some(n) = num("truncate") {
        write_pattern(out, start, n.min(length))?;
        return Ok(false);
    }
    if let (Some(k), 206, true) = (num("cut_ranges"), code, start > 0) {
        let mut map = stats.per_path.lock().unwrap_or_else(|e| e.into_inner());
        let seen = map.entry(format!("cut_ranges {}", req.path)).or_insert(0);
        *seen += 1;
        if *seen as u64 <= k {
            drop(map);
            write_pattern(out, start, length / 2)?;
            return Ok(false);
        }
    }
    if let Some(n) = num("truncate_once") {
        let mut map = stats.per_path.lock().unwrap_or_else(|e| e.into_inner());
        let seen = map
            .entry(format!("truncate_once {}", req.path))
            .or_insert(0);
        *seen += 1;
        if *seen == 1 {
            drop(map);
            write_pattern(out, start, n.min(length))?;
            return Ok(false);
        }
    }
    write_pattern(out, start, length)?;
    Ok(true)
}

fn encode(params: &HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = params.iter().collect();
    pairs.sort();
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Writes `len` pattern bytes starting at body offset `offset`, in large slices.
fn write_pattern(out: &mut impl Write, offset: u64, len: u64) -> io::Result<()> {
    let pattern = &*PATTERN;
    let mut at = offset;
    let end = offset + len;
    while at < end {
        let from = (at % pattern.len() as u64) as usize;
        let n = ((pattern.len() - from) as u64).min(end - at) as usize;
        out.write_all(&pattern[from..from + n])?;
        at += n as u64;
    }
    Ok(())
}

fn write_gzip(out: &mut TcpStream, size: u64, zeros: bool, stop: &AtomicBool) -> io::Result<()> {
    let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let zero_block = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < size && !stop.load(Ordering::SeqCst) {
        let n = (size - sent).min(zero_block.len() as u64);
        if zeros {
            encoder.write_all(&zero_block[..n as usize])?;
        } else {
            write_pattern(&mut encoder, sent, n)?;
        }
        sent += n;
    }
    encoder.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_bytes_match_the_pattern_across_block_edges() {
        let len = PATTERN.len();
        let mut out = Vec::new();
        write_pattern(&mut out, len as u64 - 10, 20).unwrap();
        assert_eq!(out, body_bytes(len as u64 - 10, 20));
        assert_eq!(&out[10..], &PATTERN[..10]);
    }

    /// Fetches `path` on a fresh connection and returns the whole response.
    fn get(addr: SocketAddr, path: &str) -> String {
        use std::io::Read;
        let mut conn = TcpStream::connect(addr).unwrap();
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn a_burst_beyond_the_ready_threads_is_served_at_once() {
        let origin = Origin::bind_ready("127.0.0.1:0", 2).unwrap();
        let addr = origin.addr();
        let clients: Vec<_> = (0..12)
            .map(|i| thread::spawn(move || get(addr, &format!("/b{i}?size=10&delay=300"))))
            .collect();
        for client in clients {
            let response = client.join().unwrap();
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with(std::str::from_utf8(&body_bytes(0, 10)).unwrap()));
        }
        assert_eq!(origin.requests(), 12);
        // All twelve were answered together, not two at a time.
        assert_eq!(origin.max_concurrent(), 12);
    }

    #[test]
    fn a_dropped_origin_stops_listening() {
        let origin = Origin::bind_ready("127.0.0.1:0", 4).unwrap();
        let addr = origin.addr();
        assert!(get(addr, "/x?size=3").starts_with("HTTP/1.1 200"));
        drop(origin);
        assert!(TcpStream::connect(addr).is_err());
    }
}
