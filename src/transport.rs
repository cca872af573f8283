//! The plain TCP connection under the shared Agent: ureq's connector chain (SOCKS, CONNECT
//! proxies) with our own TCP link, and TLS from [`crate::tls`].
//!
//! Why not ureq's: its TCP transport zero-fills the whole read buffer (64 KiB here) on every
//! new connection, 30% of all page faults on a list of 2,000 small files, and checks a pooled
//! connection with three system calls (switch to non-blocking, read, switch back), once when it
//! goes back to the pool and again, under the pool's lock, when it is taken out. This one starts
//! with a small buffer that doubles while reads keep filling it, up to a bound the caller sets,
//! and checks a connection with one non-blocking peek. It also connects to hosts with several
//! addresses as curl does (`connect_any`), and tells a pooled connection that the server
//! closed before answering from a failed request ([`Stale`]).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, Weak};
use std::time;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::RecvFlags;
use ureq::Error;
use ureq::Timeout;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, ShutdownHandle, SocksConnector,
    Transport,
};

use crate::cancel;
use crate::interface::Local;
use crate::proxy::Blamed;
use crate::tls::Tls;
use crate::trace;

/// Read buffer of a new connection: a response head and a small body fit. 8 KiB rather than
/// 16: it is zero-filled when the connection is made, while the run's first requests are still
/// going out, and on two cores every page touched then holds them back (see the README).
const FIRST_INPUT: usize = 8 * 1024;

/// ureq's default chain with [`Tcp`] as its TCP link: a SOCKS proxy, else a CONNECT proxy, else
/// a direct connection; then `tls` for https. For runs with a proxy.
pub fn proxied(tcp: Tcp, tls: Tls, connect: crate::proxy::Connect) -> impl Connector<()> {
    ().chain(Blamed(trace::Socks(SocksConnector::default())))
        .chain(Blamed(trace::Tunnel(connect)))
        .chain(tcp)
        .chain(tls)
}

/// [`Tcp`] then `tls`, for runs with no proxy: ureq's proxy links, which do nothing then, have
/// frames of 2 KiB each, and every thread making a connection touched their pages (2,000 small
/// files: about 250 more page faults a run than without them).
pub fn direct(tcp: Tcp, tls: Tls) -> impl Connector<()> {
    ().chain(tcp).chain(tls)
}

/// Opens direct TCP connections, unless an earlier link in the chain already made one.
#[derive(Debug)]
pub struct Tcp {
    /// The most a connection's read buffer grows to.
    max_input: usize,
    winners: Winners,
    /// `--interface`: where connections are made from.
    local: Option<Arc<Local>>,
}

impl Tcp {
    /// `max_input` bounds a direct connection's read buffer (a TLS connection's grows up to
    /// the Agent's configured input size).
    pub fn new(max_input: usize, winners: Winners, local: Option<Arc<Local>>) -> Self {
        Self {
            max_input,
            winners,
            local,
        }
    }
}

/// Most hosts whose winning address is remembered; past it, all are forgotten at once.
const WINNERS: usize = 4096;

/// For hosts with several addresses, the one that answered last time, keyed by the host's
/// first address: the next connection to the host tries it first, so that only the first
/// connection waits out [`ATTEMPT_DELAY`] on an address that does not answer (an IPv6 address
/// dropped on the way), not every one. Shared by the connectors of all the Agents.
#[derive(Debug, Default, Clone)]
pub struct Winners(Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>);

impl Winners {
    /// The order to try `addrs` in: families taking turns, last time's winner first.
    fn order(&self, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let mut order = interleaved(addrs);
        let winner = self.map().get(&addrs[0]).copied();
        if let Some(at) = winner.and_then(|w| order.iter().position(|a| *a == w)) {
            let winner = order.remove(at);
            order.insert(0, winner);
        }
        order
    }

    fn won(&self, addrs: &[SocketAddr], winner: SocketAddr) {
        let mut map = self.map();
        if winner == addrs[0] {
            map.remove(&addrs[0]);
        } else {
            if map.len() >= WINNERS {
                map.clear();
            }
            map.insert(addrs[0], winner);
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, SocketAddr>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<In: Transport> Connector<In> for Tcp {
    type Out = Either<In, Connection>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(proxied) = chained {
            trace::reached(|| None);
            return Ok(Some(Either::A(proxied)));
        }
        let stream = connect_any(
            &details.addrs,
            details.timeout,
            &self.winners,
            self.local.as_deref(),
        )?;
        trace::reached(|| stream.peer_addr().ok());
        if details.config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let connection =
            Connection::new(stream, self.max_input, details.config.output_buffer_size());
        // Lets the Agent interrupt blocked I/O on this socket from another thread (ureq's own
        // handle for a TcpStream: shut both ways).
        let handle = Arc::downgrade(&connection.stream) as Weak<dyn ShutdownHandle>;
        (details.register_shutdown)(handle)?;
        Ok(Some(Either::B(connection)))
    }
}

/// Connects to one of a host's addresses. One address is simply connected to. With several,
/// the attempts overlap as RFC 8305 ("Happy Eyeballs") has them, as curl and browsers make them:
/// the address families take turns, each attempt gets [`ATTEMPT_DELAY`] before the next
/// address is tried beside it (at once if it fails), and the first connection made wins. A
/// host whose IPv6 addresses are dropped on the way, a network that looks dual-stack and is
/// not, then costs each new connection a quarter of a second, where trying the addresses in
/// turn cost it half the connect timeout (5 s by default); and the address that answered is
/// tried first next time ([`Winners`]). If every address fails, the first one's failure is
/// reported: it is the preferred address (127.0.0.1 for `localhost`, whose ::1 may not even
/// exist on the machine).
fn connect_any(
    addrs: &[SocketAddr],
    timeout: NextTimeout,
    winners: &Winners,
    local: Option<&Local>,
) -> Result<TcpStream, Error> {
    let budget = timeout.not_zero().map(|d| *d);
    // With --interface, only the addresses of a family it has.
    let usable: Vec<SocketAddr>;
    let addrs = match local {
        Some(local) => {
            usable = (addrs.iter().copied())
                .filter(|a| local.for_target(a).is_some())
                .collect();
            if let (true, Some(first)) = (usable.is_empty(), addrs.first()) {
                return Err(Error::Io(local.no_family(first)));
            }
            &usable[..]
        }
        None => addrs,
    };
    let start = |addr: SocketAddr| start(addr, local.and_then(|l| l.for_target(&addr)));
    match addrs {
        [] => Err(Error::Io(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "no address to connect to",
        ))),
        // One address goes through the race too, alone: it is what std's connect_timeout does
        // (a non-blocking connect, then poll), with the poll in slices an interrupt can end.
        [addr] => race(addrs, *addr, budget, &start, &cancel::requested).map(|(stream, _)| stream),
        _ => {
            let order = winners.order(addrs);
            let (stream, winner) = race(&order, addrs[0], budget, &start, &cancel::requested)?;
            winners.won(addrs, winner);
            Ok(stream)
        }
    }
}

/// How long a connection attempt to one of a host's addresses runs alone before the next
/// address is tried beside it (RFC 8305's Connection Attempt Delay; it recommends 250 ms).
const ATTEMPT_DELAY: time::Duration = time::Duration::from_millis(250);

/// The addresses with their families taking turns, the first address's family first.
fn interleaved(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = addrs[0].is_ipv6();
    let (same, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv6() == first_v6);
    let (mut same, mut other) = (same.into_iter(), other.into_iter());
    let mut out = Vec::with_capacity(addrs.len());
    loop {
        match (same.next(), other.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// Overlapping attempts at `addrs`, in that order (see [`connect_any`]), within `budget` in
/// all. Returns the connection and the address it is to; if all fail, `report`'s failure; if
/// `stop` says so first (looked at every [`CANCEL_SLICE`] at least), [`Interrupted`].
fn race(
    addrs: &[SocketAddr],
    report: SocketAddr,
    budget: Option<time::Duration>,
    start: &dyn Fn(SocketAddr) -> io::Result<(socket2::Socket, bool)>,
    stop: &dyn Fn() -> bool,
) -> Result<(TcpStream, SocketAddr), Error> {
    let deadline = budget.map(|b| time::Instant::now() + b);
    let mut pending: Vec<(usize, socket2::Socket)> = Vec::new();
    // The reported address's failure, if it has failed.
    let mut first: Option<io::Error> = None;
    let mut failed = |index: usize, e: io::Error| {
        if addrs[index] == report {
            first = Some(e);
        }
    };
    let mut next = 0;
    let mut next_at = time::Instant::now();
    loop {
        if stop() {
            return Err(interrupted());
        }
        let now = time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break;
        }
        if next < addrs.len() && (now >= next_at || pending.is_empty()) {
            match start(addrs[next]) {
                Ok((socket, true)) => return Ok((connected(socket)?, addrs[next])),
                Ok((socket, false)) => pending.push((next, socket)),
                // Refused or unreachable concerns this address only: the next may work.
                Err(e) if address_specific(&e) => failed(next, e),
                Err(e) => return Err(Error::Io(e)),
            }
            next += 1;
            next_at = now + ATTEMPT_DELAY;
            continue;
        }
        if pending.is_empty() {
            break;
        }
        let wake = [(next < addrs.len()).then_some(next_at), deadline]
            .into_iter()
            .flatten()
            .min();
        let wait = wake.map_or(CANCEL_SLICE, |at| (at - now).min(CANCEL_SLICE));
        let wait = Timespec::try_from(wait).unwrap_or_default();
        let mut fds: Vec<PollFd<'_>> = (pending.iter())
            .map(|(_, socket)| PollFd::new(socket, PollFlags::OUT))
            .collect();
        match rustix::event::poll(&mut fds, Some(&wait)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
        // A connection made shows as writable alone; one that failed also as an error or a
        // hang-up, and only then is its error read (as std's connect_timeout reads it).
        let done: Vec<(usize, bool)> = (fds.iter().enumerate())
            .filter(|(_, fd)| !fd.revents().is_empty())
            .map(|(at, fd)| (at, fd.revents().intersects(PollFlags::ERR | PollFlags::HUP)))
            .collect();
        drop(fds);
        for (at, failed_flag) in done.into_iter().rev() {
            let (index, socket) = pending.remove(at);
            let error = if failed_flag {
                socket.take_error()
            } else {
                Ok(None)
            };
            match error {
                Ok(None) => return Ok((connected(socket)?, addrs[index])),
                Ok(Some(e)) | Err(e) => failed(index, e),
            }
            // A failure starts the next address at once.
            next_at = now;
        }
    }
    Err(match first {
        Some(e) if address_specific(&e) || pending.is_empty() => {
            let at = Refused {
                addr: report,
                of: addrs.len(),
                source: e,
            };
            Error::Io(io::Error::new(at.source.kind(), at))
        }
        _ => Error::Timeout(Timeout::Connect),
    })
}

/// A connection refused (or unreachable) with the address it was to: the URL names a host, and
/// which of its addresses failed, or where `--resolve` or `--connect-to` sent it, is what a
/// user has to look into ("connecting to 127.0.0.1:8080: Connection refused", as curl's
/// "Failed to connect to localhost port 8080").
#[derive(Debug)]
pub struct Refused {
    addr: SocketAddr,
    /// How many addresses the host had: all were tried, and this first one's failure is told.
    of: usize,
    source: io::Error,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { addr, of, source } = self;
        match of {
            1 => write!(f, "connecting to {addr}: {source}"),
            _ => write!(
                f,
                "connecting to {addr} (the first of {of} addresses): {source}"
            ),
        }
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What went wrong connecting, without the address [`Refused`] adds: for a proxy, whose own
/// address the message names already.
pub fn without_address(err: &io::Error) -> String {
    match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
    {
        Some(refused) => refused.source.to_string(),
        None => err.to_string(),
    }
}

/// Starts a non-blocking connection, from `local` when given; `true` if it is already made.
fn start(addr: SocketAddr, local: Option<SocketAddr>) -> io::Result<(socket2::Socket, bool)> {
    use socket2::{Domain, Protocol, Socket, Type};
    // Non-blocking from its creation: no system call to switch it (std's connect_timeout made
    // one each way, socket2's switch takes two).
    let kind = Type::STREAM.nonblocking();
    let socket = Socket::new(Domain::for_address(addr), kind, Some(Protocol::TCP))?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => Ok((socket, true)),
        Err(e) if e.raw_os_error() == Some(Errno::INPROGRESS.raw_os_error()) => Ok((socket, false)),
        Err(e) => Err(e),
    }
}

fn connected(socket: socket2::Socket) -> Result<TcpStream, Error> {
    let stream = TcpStream::from(socket);
    // std's switch is one ioctl.
    stream.set_nonblocking(false)?;
    Ok(stream)
}

fn address_specific(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
            | io::ErrorKind::AddrNotAvailable
    )
}

/// One TCP connection and its buffers.
pub struct Connection {
    /// Shared (weakly) with the Agent's shutdown handle.
    stream: Arc<TcpStream>,
    buffers: GrowingBuffers,
    /// The socket's timeouts as last set, so they are set again only when they change.
    read_timeout: Option<time::Duration>,
    write_timeout: Option<time::Duration>,
    /// Taken from (or given back to) the pool and not answered since: a close now is the
    /// server's on an idle connection, not a failure of the request (see [`Stale`]).
    idle: bool,
}

impl Connection {
    fn new(stream: TcpStream, max_input: usize, output_size: usize) -> Self {
        Self {
            stream: Arc::new(stream),
            buffers: GrowingBuffers::new(max_input, output_size),
            read_timeout: None,
            write_timeout: None,
            idle: false,
        }
    }
}

/// On a connection that is `idle` (see [`Stale`]), an error that says the peer closed it
/// becomes [`Stale`]; anything else stays as it is.
pub(crate) fn stale_if(idle: bool, e: io::Error) -> io::Error {
    let closed = matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    );
    if idle && closed && !is_stale(&e) {
        io::Error::new(e.kind(), Stale)
    } else {
        e
    }
}

/// End of stream on an idle connection, which ureq would take for a response cut short.
pub(crate) fn stale_end() -> Error {
    Error::Io(io::Error::new(io::ErrorKind::UnexpectedEof, Stale))
}

/// A kept-alive connection that the server closed before answering the request sent on it.
/// HTTP/1.1 lets a server close an idle connection at any time, and one that does so just as
/// the connection is taken from the pool cannot be told from an open one beforehand; nothing
/// of the request was answered, so the GET is sent again on a new connection at once, as curl
/// and browsers send it, rather than failed or retried after a wait (see [`went_stale`]).
#[derive(Debug, thiserror::Error)]
#[error("the server closed a kept-alive connection before answering")]
pub struct Stale;

/// Whether a request failed on a kept-alive connection the server had closed ([`Stale`]).
pub fn went_stale(err: &Error) -> bool {
    matches!(err, Error::Io(io) if is_stale(io))
}

fn is_stale(io: &io::Error) -> bool {
    holds::<Stale>(io)
}

/// `T`, directly or under the TLS layer's own io::Error.
fn holds<T: std::error::Error + 'static>(io: &io::Error) -> bool {
    match io.get_ref() {
        Some(inner) if inner.is::<T>() => true,
        Some(inner) => inner.downcast_ref::<io::Error>().is_some_and(holds::<T>),
        None => false,
    }
}

/// Longest a socket wait (for a connection, an answer or the next bytes of one) goes without
/// looking whether the run was interrupted. Without it a fetch waited out its server or its
/// timeout after Ctrl-C, up to `--stall-timeout` (30 s) for a silent server: in the threaded
/// run only its worker did, but a sequential run fetches on the main thread. A wait shorter
/// than this costs nothing more; a longer one wakes four times a second.
pub(crate) const CANCEL_SLICE: time::Duration = time::Duration::from_millis(250);

/// A wait for the server cut short by a stop (Ctrl-C, SIGTERM or `--fail-early`, see
/// [`crate::cancel`]); its result says which.
/// Not io::ErrorKind::Interrupted: readers retry on that, and would wait again.
#[derive(Debug, thiserror::Error)]
#[error("interrupted before it finished")]
pub struct Interrupted;

fn interrupted() -> Error {
    Error::Io(io::Error::other(Interrupted))
}

/// Whether a request or a read of its body was cut short by an interrupt ([`Interrupted`]).
pub fn was_interrupted(err: &io::Error) -> bool {
    holds::<Interrupted>(err)
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

/// The timeout to give the socket, or an error if it has already run out.
fn socket_timeout(timeout: NextTimeout) -> Result<Option<time::Duration>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|d| *d))
}

/// Whether the socket's timeout must be set again. The whole-URL timeout shrinks with every
/// call, and setting it each time was a system call per request; a timeout already within
/// 1/64 of the wanted one is kept (a 600 s limit may run over by at most 9 s, 1.5 s by 23 ms).
fn needs_update(current: Option<time::Duration>, wanted: Option<time::Duration>) -> bool {
    match (current, wanted) {
        (Some(current), Some(wanted)) => current.abs_diff(wanted) > wanted / 64,
        (current, wanted) => current != wanted,
    }
}

fn timed_out(e: io::Error, reason: Timeout) -> Error {
    match e.kind() {
        // A socket timeout shows as WouldBlock on Unix.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout(reason),
        _ => Error::Io(e),
    }
}

impl Transport for Connection {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let wanted = socket_timeout(timeout)?;
        if needs_update(self.write_timeout, wanted) {
            self.stream.set_write_timeout(wanted)?;
            self.write_timeout = wanted;
        }
        let output = &self.buffers.output[..amount];
        let absolute = crate::proxy::absolute_head(output);
        (&*self.stream)
            .write_all(absolute.as_deref().unwrap_or(output))
            .map_err(|e| timed_out(stale_if(self.idle, e), timeout.reason))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        let timeout = timeout.for_read();
        let wanted = socket_timeout(timeout)?;
        // The socket waits at most a slice at a time, so that an interrupt ends a wait for a
        // slow or stalled server within one (see [`CANCEL_SLICE`]).
        let slice = Some(wanted.map_or(CANCEL_SLICE, |w| w.min(CANCEL_SLICE)));
        if needs_update(self.read_timeout, slice) {
            self.stream.set_read_timeout(slice)?;
            self.read_timeout = slice;
        }
        let started = time::Instant::now();
        let buf = self.buffers.input_append_buf();
        let amount = loop {
            match (&*self.stream).read(buf) {
                // The end of a slice (a socket timeout shows as WouldBlock on Unix), or a
                // signal: Linux does not restart a socket read that has a timeout after one,
                // even with SA_RESTART. Go on with what is left of the time.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if cancel::requested() {
                        return Err(interrupted());
                    }
                    let left = match wanted {
                        Some(whole) => whole.saturating_sub(started.elapsed()),
                        None => CANCEL_SLICE,
                    };
                    if left.is_zero() {
                        return Err(Error::Timeout(timeout.reason));
                    }
                    let next = Some(left.min(CANCEL_SLICE));
                    if needs_update(self.read_timeout, next) {
                        self.stream.set_read_timeout(next)?;
                        self.read_timeout = next;
                    }
                }
                result => {
                    break result.map_err(|e| timed_out(stale_if(self.idle, e), timeout.reason))?;
                }
            }
        };
        if amount == 0 && self.idle {
            return Err(stale_end());
        }
        self.idle = false;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// Open and idle: nothing to read yet. Bytes waiting (the server sent something unasked,
    /// or the last body was not read to its end), end of stream or an error all mean the
    /// connection must not carry another request.
    fn is_open(&mut self) -> bool {
        let mut byte = [0u8; 1];
        // ureq asks only of a connection going into the pool or coming out of it.
        self.idle = matches!(
            rustix::net::recv(
                &*self.stream,
                &mut byte,
                RecvFlags::PEEK | RecvFlags::DONTWAIT
            ),
            Err(Errno::AGAIN)
        );
        self.idle
    }
}

/// Input and output buffers. The input starts at [`FIRST_INPUT`] and doubles, up to `max_input`,
/// whenever a read filled all the room it was given: a large body soon reads in large pieces,
/// while a connection that only ever carries small ones never touches more memory.
#[derive(Debug)]
pub(crate) struct GrowingBuffers {
    input: Vec<u8>,
    /// Input bytes `consumed..filled` are read and not yet used.
    filled: usize,
    consumed: usize,
    max_input: usize,
    /// The room the last read was given, and whether it filled all of it.
    offered: usize,
    full: bool,
    /// Whether the last consume used anything; see [`Buffers::can_use_input`].
    progress: bool,
    output: Vec<u8>,
    output_size: usize,
}

impl GrowingBuffers {
    pub(crate) fn new(max_input: usize, output_size: usize) -> Self {
        Self {
            input: Vec::new(),
            filled: 0,
            consumed: 0,
            max_input: max_input.max(1),
            offered: 0,
            full: false,
            progress: false,
            output: Vec::new(),
            output_size: output_size.max(1),
        }
    }

    /// Moves unconsumed input to the front when that frees room worth having.
    fn shift(&mut self) {
        if self.consumed == 0 {
            return;
        }
        if self.consumed == self.filled {
            self.consumed = 0;
            self.filled = 0;
        } else if self.filled > self.input.len() / 2 {
            self.input.copy_within(self.consumed..self.filled, 0);
            self.filled -= self.consumed;
            self.consumed = 0;
        }
    }

    fn ensure_output(&mut self) {
        if self.output.len() < self.output_size {
            self.output.resize(self.output_size, 0);
        }
    }
}

impl Buffers for GrowingBuffers {
    fn output(&mut self) -> &mut [u8] {
        self.ensure_output();
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        &self.input[self.consumed..self.filled]
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.shift();
        let size = self.input.len();
        let grown = if size == 0 {
            FIRST_INPUT.min(self.max_input)
        } else if self.full || self.filled == size {
            (size * 2).min(self.max_input.max(size))
        } else {
            size
        };
        if grown > size {
            self.input.resize(grown, 0);
            self.full = false;
        }
        self.offered = self.input.len() - self.filled;
        &mut self.input[self.filled..]
    }

    fn input_appended(&mut self, amount: usize) {
        self.filled += amount;
        assert!(self.filled <= self.input.len());
        self.full = amount > 0 && amount == self.offered;
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.consumed += amount;
        assert!(self.consumed <= self.filled);
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        // Scratch room for reading a request body; GETs have none, but keep ureq's minimum.
        const MIN_TMP: usize = 10 * 1024;
        self.ensure_output();
        self.shift();
        if self.input.len() - self.filled < MIN_TMP {
            self.input.resize(self.filled + MIN_TMP, 0);
        }
        (&mut self.input[self.filled..], &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.filled > self.consumed && self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection to a loopback listener, and the server's end of it.
    fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream =
            connect_any(&[addr], NextTimeout::default(), &Winners::default(), None).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Connection::new(stream, 64 * 1024, 1024), server)
    }

    /// Blocks until something (bytes or the end of the stream) is waiting to be read.
    fn wait_readable(c: &Connection) {
        let mut byte = [0u8; 1];
        rustix::net::recv(&*c.stream, &mut byte, RecvFlags::PEEK).unwrap();
    }

    #[test]
    fn an_idle_connection_is_open_and_stays_usable() {
        let (mut c, mut server) = pair();
        assert!(c.is_open());
        assert!(
            c.is_open(),
            "the probe must not consume anything or change the socket"
        );
        server.write_all(b"hello").unwrap();
        assert!(c.await_input(NextTimeout::default()).unwrap());
        assert_eq!(c.buffers.input(), b"hello");
    }

    #[test]
    fn unasked_bytes_or_a_closed_peer_mean_not_open() {
        let (mut c, mut server) = pair();
        server.write_all(b"x").unwrap();
        wait_readable(&c);
        assert!(!c.is_open());

        let (mut c, server) = pair();
        drop(server);
        wait_readable(&c);
        assert!(!c.is_open());
    }

    #[test]
    fn refused_address_is_skipped_for_the_next_one() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = closed.local_addr().unwrap();
        drop(closed);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let stream = connect_any(
            &[refused, good],
            NextTimeout::default(),
            &Winners::default(),
            None,
        )
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        // When all fail, the first address's failure is the one reported (TCP to the broadcast
        // address fails in the kernel, with nothing sent).
        let broadcast: SocketAddr = "255.255.255.255:80".parse().unwrap();
        for addrs in [vec![refused], vec![refused, broadcast]] {
            let err =
                connect_any(&addrs, NextTimeout::default(), &Winners::default(), None).unwrap_err();
            assert!(
                matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused),
                "{addrs:?}: {err:?}"
            );
        }
    }

    /// An address whose connection attempts hang, as one dropped on the way does: a listener
    /// whose accept queue is full drops new handshakes. Keep what it returns alive.
    fn blackholed() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
        use socket2::{Domain, Socket, Type};
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        listener.bind(&any.into()).unwrap();
        listener.listen(0).unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let short = time::Duration::from_millis(200);
        let fill: Vec<TcpStream> = (0..2)
            .filter_map(|_| TcpStream::connect_timeout(&addr, short).ok())
            .collect();
        assert!(
            TcpStream::connect_timeout(&addr, short).is_err(),
            "the queue is full"
        );
        (listener, fill, addr)
    }

    fn within(limit: time::Duration) -> NextTimeout {
        NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from(limit),
            reason: Timeout::Connect,
            ..NextTimeout::default()
        }
    }

    #[test]
    fn a_connection_that_never_completes_ends_when_stop_says_so() {
        let (_hole, _fill, hole) = blackholed();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // No time limit: only `stop` can end the attempt, looked at once per slice.
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let stop = || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 2;
            let result = race(&[hole], hole, None, &|a| start(a, None), &stop).map(|_| ());
            let _ = done_tx.send((result, calls.into_inner()));
        });
        let (result, calls) = done_rx
            .recv_timeout(time::Duration::from_secs(20))
            .expect("the attempt ended once stop said so");
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Io(e) if was_interrupted(e)),
            "{err:?}"
        );
        assert_eq!(calls, 3);
    }

    #[test]
    fn an_address_that_never_answers_does_not_hold_up_the_next() {
        let (_hole, _fill, hole) = blackholed();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let limit = time::Duration::from_secs(60);
        let started = time::Instant::now();
        let stream = connect_any(&[hole, good], within(limit), &Winners::default(), None).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        // In turn, the first address would have had two thirds of the limit; the next one was
        // tried a quarter of a second after it.
        assert!(started.elapsed() < limit / 10, "{:?}", started.elapsed());
    }

    #[test]
    fn the_address_that_answered_is_tried_first_next_time() {
        let (_hole, _fill, hole) = blackholed();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let winners = Winners::default();
        let limit = within(time::Duration::from_secs(60));
        let first = time::Instant::now();
        connect_any(&[hole, good], limit, &winners, None).unwrap();
        let first = first.elapsed();
        let again = time::Instant::now();
        let stream = connect_any(&[hole, good], limit, &winners, None).unwrap();
        let again = again.elapsed();
        assert_eq!(stream.peer_addr().unwrap(), good);
        // The first connection waited out the attempt delay on the address that never
        // answers; the second went to the good one straight away.
        assert!(again * 5 < first, "first {first:?}, again {again:?}");
        assert_eq!(winners.order(&[hole, good]), [good, hole]);
        // Once the first address answers again, it is first again.
        winners.won(&[hole, good], hole);
        assert_eq!(winners.order(&[hole, good]), [hole, good]);
    }

    #[test]
    fn addresses_that_never_answer_time_out_within_the_connect_time() {
        let (_a, _fa, one) = blackholed();
        let (_b, _fb, two) = blackholed();
        let err = connect_any(
            &[one, two],
            within(time::Duration::from_millis(300)),
            &Winners::default(),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Timeout(Timeout::Connect)), "{err:?}");
    }

    #[test]
    fn address_families_take_turns() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let got = interleaved(&[a("[::1]:1"), a("[::2]:1"), a("[::3]:1"), a("10.0.0.1:1")]);
        assert_eq!(
            got,
            [a("[::1]:1"), a("10.0.0.1:1"), a("[::2]:1"), a("[::3]:1")]
        );
    }

    #[test]
    fn socket_timeouts_are_reset_only_for_real_changes() {
        let secs = |s: f64| Some(time::Duration::from_secs_f64(s));
        assert!(!needs_update(secs(600.0), secs(599.0)));
        assert!(needs_update(secs(600.0), secs(500.0)));
        assert!(needs_update(secs(30.0), secs(1.0)));
        assert!(needs_update(None, secs(30.0)));
        assert!(needs_update(secs(30.0), None));
        assert!(!needs_update(None, None));
    }

    /// Appends `n` bytes as a read would, returning the room that was offered.
    fn read(b: &mut GrowingBuffers, n: usize) -> usize {
        let room = b.input_append_buf().len();
        b.input_appended(n.min(room));
        room
    }

    #[test]
    fn small_reads_keep_the_first_size() {
        let mut b = GrowingBuffers::new(64 * 1024, 1024);
        for _ in 0..10 {
            assert_eq!(read(&mut b, 4200), FIRST_INPUT);
            b.input_consume(4200);
        }
        assert_eq!(b.input.len(), FIRST_INPUT);
    }

    #[test]
    fn full_reads_double_up_to_the_limit() {
        let mut b = GrowingBuffers::new(64 * 1024, 1024);
        let mut offered = Vec::new();
        for _ in 0..6 {
            let room = read(&mut b, usize::MAX);
            offered.push(room);
            b.input_consume(room);
        }
        let f = FIRST_INPUT;
        let expected: Vec<usize> = [f, 2 * f, 4 * f, 8 * f, 16 * f, 32 * f]
            .iter()
            .map(|&n| n.min(64 * 1024))
            .collect();
        assert_eq!(offered, expected);
        assert_eq!(offered.last(), Some(&(64 * 1024)), "reaches the limit");
    }

    #[test]
    fn one_full_read_grows_the_buffer_once() {
        let mut b = GrowingBuffers::new(1024 * 1024, 1024);
        let room = read(&mut b, usize::MAX);
        b.input_consume(room);
        let grown = b.input_append_buf().len();
        assert_eq!(b.input_append_buf().len(), grown);
        assert_eq!(grown, 2 * FIRST_INPUT);
    }

    #[test]
    fn unconsumed_input_survives_growth() {
        let mut b = GrowingBuffers::new(64 * 1024, 1024);
        let room = b.input_append_buf().len();
        b.input_append_buf().fill(7);
        b.input_appended(room);
        // A head not yet parsed: nothing consumed, more room needed.
        let more = b.input_append_buf().len();
        assert!(more >= FIRST_INPUT);
        assert_eq!(b.input().len(), room);
        assert!(b.input().iter().all(|&x| x == 7));
    }
}
