//! The benchmark's origin server: event loops (mio over epoll), one per core, that answer
//! `GET` and `HEAD` with a body of `size=N` bytes (default 1024) after `delay=MS` milliseconds,
//! keep-alive, bodies written from one shared block; the same bytes and head as the library's
//! origin gives those URLs. Prints its address on stdout, then serves until killed.
//!
//! `cargo run --release --example origin -- [ADDR] [--loops N] [--listeners N] [--threads]`
//! (ADDR defaults to 127.0.0.1:0). `--listeners N` listens on N ports of ADDR's host (ADDR's
//! port must then be 0) and prints their addresses on one line, separated by spaces: to a
//! client, and to its connection pool, each port is another host. `--threads` serves with the library's thread-per-connection origin
//! (`fetchpar::origin`, which the tests use for its many fault modes) instead, the benchmark's
//! origin until 2026-11-25.
//!
//! Why event loops: the benchmark measures clients, and on this two-core machine the origin
//! shares the cores with them, while on a real network its work happens on another machine.
//! The thread origin spent 0.10-0.12 s of CPU answering 2,000 small delayed requests (a
//! wake-up, a sleep and context switches per request) in a run of 0.19-0.20 s; these loops
//! spend 0.06 s.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};

const WAKE: Token = Token(0);
const TIMER: Token = Token(1);
/// A request head larger than this is refused (the benchmark's are under 200 bytes).
const MAX_HEAD: usize = 64 * 1024;
/// Body bytes offered to the kernel per write: 16 slices of the 64 KiB pattern.
const SLICES: usize = 16;

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:0".to_string();
    let mut threads = false;
    let mut listeners = 1;
    let mut loops = thread::available_parallelism().map_or(2, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = true,
            "--loops" => loops = count(args.next(), loops),
            "--listeners" => listeners = count(args.next(), listeners),
            other => addr = other.to_string(),
        }
    }
    // Room for every connection the peers open.
    fetchpar::descriptors::reserve(16 * 1024);
    if threads {
        let origin = fetchpar::origin::Origin::bind_ready(&addr, 1024)?;
        println!("{}", origin.addr());
        origin.serve_forever();
        return Ok(());
    }
    let listeners = (0..listeners)
        .map(|_| fetchpar::origin::listen(&addr))
        .collect::<io::Result<Vec<_>>>()?;
    let addrs = (listeners.iter())
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect::<io::Result<Vec<_>>>()?;
    println!("{}", addrs.join(" "));
    serve(listeners, loops)
}

/// A count given on the command line: at least 1, or `default` if it is not a number.
fn count(arg: Option<String>, default: usize) -> usize {
    arg.and_then(|n| n.parse().ok()).unwrap_or(default).max(1)
}

/// Serves on `listeners` with `loops` event loops, until an error.
fn serve(listeners: Vec<std::net::TcpListener>, loops: usize) -> io::Result<()> {
    // Every body is the library origin's pattern from offset 0.
    let pattern: Arc<[u8]> = fetchpar::origin::body_bytes(0, 64 * 1024).into();
    // One loop per core by default: for a large body the loopback's TCP work happens on the
    // sending thread, and one loop was the bottleneck on 4 x 256 MiB (fetchpar's median 0.241
    // against 0.213 s with two, 10 interleaved runs).
    let mut handoffs = Vec::with_capacity(loops);
    for i in 0..loops {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut server = Server::new(rx, Arc::clone(&pattern))?;
        let waker = Waker::new(server.poll.registry(), WAKE)?;
        thread::Builder::new()
            .name(format!("origin-loop-{i}"))
            .spawn(move || {
                if let Err(e) = server.run() {
                    eprintln!("origin: {e}");
                    std::process::exit(1);
                }
            })?;
        handoffs.push((tx, waker));
    }
    let handoffs = Arc::new(handoffs);
    let dealt = Arc::new(AtomicUsize::new(0));
    // One thread blocked in accept per listener (the first on this one).
    let mut listeners = listeners.into_iter();
    let first = listeners.next().expect("at least one listener");
    for listener in listeners {
        let (handoffs, dealt) = (Arc::clone(&handoffs), Arc::clone(&dealt));
        thread::Builder::new()
            .name("origin-accept".into())
            .spawn(move || accept(listener, &handoffs, &dealt))?;
    }
    accept(first, &handoffs, &dealt)
}

/// Accepts connections and deals them to the loops in turn, so four large downloads are two
/// per core.
fn accept(
    listener: std::net::TcpListener,
    handoffs: &[(crossbeam_channel::Sender<std::net::TcpStream>, Waker)],
    dealt: &AtomicUsize,
) -> io::Result<()> {
    for conn in listener.incoming() {
        let Ok(conn) = conn else {
            // Out of descriptors, most likely: give the clients a moment to close some
            // rather than spinning on accept.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        if conn.set_nodelay(true).is_err() || conn.set_nonblocking(true).is_err() {
            continue;
        }
        let n = dealt.fetch_add(1, Ordering::Relaxed);
        let (tx, waker) = &handoffs[n % handoffs.len()];
        if tx.send(conn).is_ok() {
            waker.wake()?;
        }
    }
    Ok(())
}

/// Where one connection is in answering its current request.
enum State {
    /// Waiting for (the rest of) a request head.
    Reading,
    /// A request is in, its answer held back until its timer fires.
    Delayed(Answer),
    /// An answer is being written.
    Writing(Answer),
}

struct Answer {
    head: Vec<u8>,
    head_sent: usize,
    /// Where in the pattern the next body byte comes from (a range's start, then on), and body
    /// bytes still to write.
    body_sent: u64,
    body_left: u64,
    close: bool,
}

struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    state: State,
    peer_closed: bool,
}

struct Server {
    poll: Poll,
    incoming: Receiver<std::net::TcpStream>,
    timer: OwnedFd,
    /// When the timer is set to go off, if it is.
    armed: Option<Instant>,
    /// Delayed answers by when they are due, with their connection's token.
    due: BinaryHeap<Reverse<(Instant, usize)>>,
    conns: HashMap<usize, Conn>,
    next_token: usize,
    pattern: Arc<[u8]>,
}

impl Server {
    fn new(incoming: Receiver<std::net::TcpStream>, pattern: Arc<[u8]>) -> io::Result<Self> {
        let poll = Poll::new()?;
        // A timerfd rather than epoll's own timeout, which mio rounds up to whole milliseconds:
        // answers are due to the microsecond, as the thread origin's sleeps were.
        let timer = rustix::time::timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        poll.registry()
            .register(&mut SourceFd(&timer.as_raw_fd()), TIMER, Interest::READABLE)?;
        Ok(Self {
            poll,
            incoming,
            timer,
            armed: None,
            due: BinaryHeap::new(),
            conns: HashMap::new(),
            next_token: 2,
            pattern,
        })
    }

    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    WAKE => self.accept(),
                    TIMER => {
                        // Consume the expiry count; the heap says what is due.
                        let mut count = [0u8; 8];
                        let _ = rustix::io::read(&self.timer, &mut count);
                        self.armed = None;
                    }
                    Token(id) => self.serve(id, event.is_readable()),
                }
            }
            self.fire_due();
            self.arm()?;
        }
    }

    /// Takes on the connections the acceptor has dealt to this loop.
    fn accept(&mut self) {
        while let Ok(stream) = self.incoming.try_recv() {
            let mut stream = TcpStream::from_std(stream);
            let token = self.next_token;
            self.next_token += 1;
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut stream, Token(token), interest)
                .is_ok()
            {
                let conn = Conn {
                    stream,
                    input: Vec::new(),
                    state: State::Reading,
                    peer_closed: false,
                };
                self.conns.insert(token, conn);
            }
        }
    }

    /// Reads what a connection has sent, then moves it on as far as it can go.
    fn serve(&mut self, token: usize, readable: bool) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        if readable && conn.read_all().is_err() {
            self.close(token);
            return;
        }
        self.advance(token);
    }

    /// Parses, schedules and writes answers on one connection until it has to wait.
    fn advance(&mut self, token: usize) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        loop {
            match &mut conn.state {
                State::Delayed(_) => return,
                State::Writing(answer) => {
                    match write_answer(&mut conn.stream, answer, &self.pattern) {
                        Ok(false) => return,
                        Ok(true) if answer.close => break,
                        Ok(true) => conn.state = State::Reading,
                        Err(_) => break,
                    }
                }
                State::Reading => match next_request(&mut conn.input) {
                    Ok(Some((answer, delay))) if delay.is_zero() => {
                        conn.state = State::Writing(answer);
                    }
                    Ok(Some((answer, delay))) => {
                        conn.state = State::Delayed(answer);
                        self.due.push(Reverse((Instant::now() + delay, token)));
                        return;
                    }
                    Ok(None) if conn.peer_closed => break,
                    Ok(None) => return,
                    Err(()) => {
                        let _ = conn
                            .stream
                            .write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                        break;
                    }
                },
            }
        }
        self.close(token);
    }

    fn close(&mut self, token: usize) {
        if let Some(mut conn) = self.conns.remove(&token) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }

    /// Starts writing every delayed answer whose time has come.
    fn fire_due(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((when, token))) = self.due.peek() {
            if when > now {
                break;
            }
            self.due.pop();
            let Some(conn) = self.conns.get_mut(&token) else {
                continue;
            };
            // Only a closed connection leaves a stale entry (its token is never reused), so a
            // live one is still delayed; any other state is left as it is.
            conn.state = match std::mem::replace(&mut conn.state, State::Reading) {
                State::Delayed(answer) => State::Writing(answer),
                other => other,
            };
            self.advance(token);
        }
    }

    /// Sets the timer for the earliest delayed answer, unless it is already set for it.
    fn arm(&mut self) -> io::Result<()> {
        let Some(&Reverse((when, _))) = self.due.peek() else {
            return Ok(());
        };
        if self.armed.is_some_and(|armed| armed <= when) {
            return Ok(());
        }
        // At least a nanosecond: an all-zero value would disarm the timer instead.
        let left = when
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            },
        };
        rustix::time::timerfd_settime(&self.timer, TimerfdTimerFlags::empty(), &spec)?;
        self.armed = Some(when);
        Ok(())
    }
}

impl Conn {
    /// Reads everything the socket holds (the registration is edge-triggered).
    fn read_all(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.peer_closed = true;
                    return Ok(());
                }
                Ok(n) if self.input.len() + n > MAX_HEAD => {
                    return Err(io::Error::other("request too large"));
                }
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Takes one complete request head off the front of `input`: its answer and its delay, `None`
/// while the head is incomplete, `Err` for what is not HTTP.
fn next_request(input: &mut Vec<u8>) -> Result<Option<(Answer, Duration)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(input) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let (mut size, mut delay) = (1024u64, 0u64);
    let query = req.path.unwrap_or("/").split_once('?').map_or("", |q| q.1);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("size", v)) => size = v.parse().unwrap_or(size),
            Some(("delay", v)) => delay = v.parse().unwrap_or(delay),
            _ => {}
        }
    }
    let says = |value: &str| {
        req.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && String::from_utf8_lossy(h.value)
                    .split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case(value))
        })
    };
    // HTTP/1.0 closes unless asked to keep alive; HTTP/1.1 keeps alive unless asked to close.
    let close = if req.version == Some(0) {
        !says("keep-alive")
    } else {
        says("close")
    };
    let head_only = req.method == Some("HEAD");
    // `Range: bytes=A-` or `bytes=A-B` within the body is answered with that part (segmented
    // downloads ask so); any other range gets the whole body, as servers may answer.
    let range = (req.headers.iter())
        .find(|h| h.name.eq_ignore_ascii_case("range"))
        .and_then(|h| byte_range(&String::from_utf8_lossy(h.value), size));
    let (status, from, length, range_head) = match range {
        Some((a, b)) => (
            "206 Partial Content",
            a,
            b + 1 - a,
            format!("Content-Range: bytes {a}-{b}/{size}\r\n"),
        ),
        None => ("200 OK", 0, size, String::new()),
    };
    // The thread origin's head for a plain body, saying so when the connection ends after it.
    let head = format!(
        "HTTP/1.1 {status}\r\nETag: \"len-{size}\"\r\nContent-Type: text/plain\r\n\
         Content-Length: {length}\r\nAccept-Ranges: bytes\r\n{range_head}{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    );
    input.drain(..used);
    let answer = Answer {
        head: head.into_bytes(),
        head_sent: 0,
        body_sent: from,
        body_left: if head_only { 0 } else { length },
        close,
    };
    Ok(Some((answer, Duration::from_millis(delay))))
}

/// The first and last byte of `bytes=A-` or `bytes=A-B` in a body of `size` bytes.
fn byte_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let (a, b) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b = match b.trim() {
        "" => size.checked_sub(1)?,
        b => b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
    };
    (a <= b).then_some((a, b))
}

/// Writes as much of an answer as the socket takes; `Ok(true)` once all of it is out. Head and
/// body go out together, so a small answer leaves in one segment. (`sendfile` from an in-memory
/// file instead of copying was tried for large bodies: the loop's CPU barely moved, since the
/// loopback's TCP work dominates, and the clients' rose from 0.24 to 0.44 s for 4 x 256 MiB.)
fn write_answer(stream: &mut TcpStream, answer: &mut Answer, pattern: &[u8]) -> io::Result<bool> {
    loop {
        let mut slices: Vec<IoSlice> = Vec::with_capacity(SLICES + 1);
        if answer.head_sent < answer.head.len() {
            slices.push(IoSlice::new(&answer.head[answer.head_sent..]));
        }
        let mut offset = answer.body_sent;
        let mut left = answer.body_left;
        while left > 0 && slices.len() <= SLICES {
            let from = (offset % pattern.len() as u64) as usize;
            let n = ((pattern.len() - from) as u64).min(left) as usize;
            slices.push(IoSlice::new(&pattern[from..from + n]));
            offset += n as u64;
            left -= n as u64;
        }
        if slices.is_empty() {
            return Ok(true);
        }
        match stream.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(mut n) => {
                let head_part = n.min(answer.head.len() - answer.head_sent);
                answer.head_sent += head_part;
                n -= head_part;
                answer.body_sent += n as u64;
                answer.body_left -= n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{SocketAddr, TcpStream as StdStream};

    fn start(loops: usize) -> SocketAddr {
        let listener = fetchpar::origin::listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || serve(vec![listener], loops));
        addr
    }

    /// A client connection that fails a test rather than hanging it.
    fn connect(addr: SocketAddr) -> StdStream {
        let conn = StdStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        conn
    }

    /// Reads a response head, byte by byte so nothing after it is taken.
    fn head_of(conn: &mut StdStream) -> String {
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            conn.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    }

    /// Reads one response: its head as text and its body (by Content-Length).
    fn response(conn: &mut StdStream) -> (String, Vec<u8>) {
        let head = head_of(conn);
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0u8; length];
        conn.read_exact(&mut body).unwrap();
        (head, body)
    }

    fn get(conn: &mut StdStream, target: &str) -> (String, Vec<u8>) {
        write!(conn, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        response(conn)
    }

    #[test]
    fn answers_match_the_library_origin_on_one_connection() {
        let library = fetchpar::origin::Origin::start().unwrap();
        let mut theirs = connect(library.addr());
        let mut ours = connect(start(2));
        for size in [0, 1, 1000, 65_536, 65_537, 300_000, 3_000_000] {
            let target = format!("/f.bin?size={size}");
            let (head, body) = get(&mut ours, &target);
            assert_eq!(body.len(), size, "size {size}");
            assert_eq!((head, body), get(&mut theirs, &target), "size {size}");
        }
    }

    #[test]
    fn ranges_are_answered_as_the_library_origin_answers_them() {
        let library = fetchpar::origin::Origin::start().unwrap();
        let mut theirs = connect(library.addr());
        let mut ours = connect(start(1));
        for range in ["0-99", "100-", "65530-70000", "299990-400000", "5-5"] {
            let ask = |conn: &mut StdStream| {
                write!(
                    conn,
                    "GET /f.bin?size=300000 HTTP/1.1\r\nHost: x\r\nRange: bytes={range}\r\n\r\n"
                )
                .unwrap();
                response(conn)
            };
            let (head, body) = ask(&mut ours);
            assert!(head.starts_with("HTTP/1.1 206 "), "{range}: {head}");
            let (a, b) = byte_range(&format!("bytes={range}"), 300_000).unwrap();
            assert_eq!(body, fetchpar::origin::body_bytes(a, (b + 1 - a) as usize));
            assert_eq!((head, body), ask(&mut theirs), "{range}");
        }
    }

    #[test]
    fn every_listener_is_answered() {
        let listeners: Vec<_> = (0..3)
            .map(|_| fetchpar::origin::listen("127.0.0.1:0").unwrap())
            .collect();
        let addrs: Vec<_> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        thread::spawn(move || serve(listeners, 2));
        for (i, addr) in addrs.into_iter().enumerate() {
            let (head, body) = get(&mut connect(addr), &format!("/f.bin?size={}", 10 + i));
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert_eq!(body.len(), 10 + i);
        }
    }

    #[test]
    fn a_delayed_answer_waits_its_time_and_holds_back_no_other() {
        let addr = start(1);
        let mut slow = connect(addr);
        let mut quick = connect(addr);
        let asked = Instant::now();
        write!(slow, "GET /?size=10&delay=1000 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (_, body) = get(&mut quick, "/?size=20");
        assert_eq!(body.len(), 20);
        // The quick answer came while the slow one is still held back (a second is ample
        // margin for one loopback request, even on a loaded machine).
        slow.set_nonblocking(true).unwrap();
        let mut peek = [0u8; 1];
        let early = slow.peek(&mut peek);
        assert!(
            matches!(&early, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "{early:?}"
        );
        slow.set_nonblocking(false).unwrap();
        let (_, body) = response(&mut slow);
        assert_eq!(body.len(), 10);
        assert!(asked.elapsed() >= Duration::from_millis(1000));
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let mut conn = connect(start(1));
        conn.write_all(
            b"GET /?size=3&delay=50 HTTP/1.1\r\nHost: x\r\n\r\nGET /?size=7 HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
        assert_eq!(response(&mut conn).1.len(), 3);
        assert_eq!(response(&mut conn).1.len(), 7);
    }

    #[test]
    fn http_1_0_and_connection_close_end_the_connection() {
        let addr = start(1);
        for request in [
            "GET /?size=5 HTTP/1.0\r\n\r\n",
            "GET /?size=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ] {
            let mut conn = connect(addr);
            conn.write_all(request.as_bytes()).unwrap();
            let (head, body) = response(&mut conn);
            assert!(head.contains("Connection: close\r\n"), "{head}");
            assert_eq!(body.len(), 5);
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty(), "{request:?}");
        }
    }

    #[test]
    fn head_gets_no_body_and_garbage_gets_400() {
        let addr = start(1);
        let mut conn = connect(addr);
        conn.write_all(b"HEAD /?size=9 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = head_of(&mut conn);
        assert!(head.contains("Content-Length: 9\r\n"), "{head}");
        // No body followed: the next answer on the connection starts right after the head.
        let (head, body) = get(&mut conn, "/?size=4");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(body, fetchpar::origin::body_bytes(0, 4));

        let mut conn = connect(addr);
        conn.write_all(b"\x00\x01 not http\r\n\r\n").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    }
}
