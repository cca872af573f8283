//! Name resolution for the shared Agent: IP literals are used as they are, each host name is
//! looked up once and cached for a minute, as curl does, and `-4` or `-6` keep one family's
//! addresses.
//!
//! Why not ureq's default: with a whole-URL timeout set, ureq resolves every request on a newly
//! spawned thread (so the lookup can be abandoned), and it resolves before it looks in its
//! connection pool. For a list of small files on one host that thread costs more than the
//! request itself. Here only the first lookup of each name pays it: the threads that want the
//! same name while it is being looked up wait for that lookup instead of starting their own,
//! so a list of 384 URLs on one host sends one query, not 384 at once, to the system's resolver.
//!
//! `--resolve HOST:PORT:ADDR` (curl's) answers for a host and port with the addresses given,
//! before any of the above: a staging server reached by its real name, TLS name checks and
//! `Host` header included.
//!
//! `localhost` and names under `.localhost` are the loopback addresses, 127.0.0.1 and ::1, as
//! RFC 6761 asks and as curl answers them, without a lookup: a `/etc/hosts` that lists only
//! 127.0.0.1 would otherwise leave a server listening on ::1 alone unreachable by that name.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::cancel;
use crate::connect_to::ConnectTo;
use crate::transport::{CANCEL_SLICE, Interrupted};

/// How long a looked-up address is reused.
const TTL: Duration = Duration::from_secs(60);

/// Most names remembered at once. A list of a million URLs on as many hosts would otherwise
/// keep every answer (about 600 bytes each) to the end of the run.
const MAX_NAMES: usize = 4096;

/// A host name that did not resolve. Its own type so the fetcher can report kind `dns` rather
/// than a generic I/O error.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {source}")]
pub struct LookupFailed {
    pub host: String,
    source: io::Error,
}

/// Resolves with `R` (the system's resolver, through ureq) and remembers the answers.
#[derive(Debug, Default)]
pub struct CachingResolver<R = DefaultResolver> {
    inner: Arc<R>,
    cache: Arc<Mutex<HashMap<String, Slot>>>,
}

type Cache = Arc<Mutex<HashMap<String, Slot>>>;

fn lock(cache: &Cache) -> MutexGuard<'_, HashMap<String, Slot>> {
    cache.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
enum Slot {
    /// Looked up at that instant.
    Found(Instant, Box<ResolvedSocketAddrs>),
    /// Being looked up by one thread; the others wait for its answer.
    Pending(Arc<Flight>),
}

/// One lookup in progress and, once it ends, its answer for the threads that waited for it.
#[derive(Debug, Default)]
struct Flight {
    answer: Mutex<Option<Result<ResolvedSocketAddrs, Lost>>>,
    ended: Condvar,
}

/// A failed lookup as the threads that waited for it are told it: ureq's error cannot be
/// cloned, so each gets its own copy, of the same kind and with the same text.
#[derive(Debug, Clone)]
enum Lost {
    Timeout(ureq::Timeout),
    NotFound,
    Lookup(io::ErrorKind, String),
    Other(String),
    /// This caller stopped waiting: the run was interrupted.
    Interrupted,
}

impl Lost {
    fn of(err: &ureq::Error) -> Self {
        match err {
            ureq::Error::Timeout(which) => Lost::Timeout(*which),
            ureq::Error::HostNotFound => Lost::NotFound,
            ureq::Error::Other(inner) => match inner.downcast_ref::<LookupFailed>() {
                Some(failed) => Lost::Lookup(failed.source.kind(), failed.source.to_string()),
                None => Lost::Other(inner.to_string()),
            },
            other => Lost::Other(other.to_string()),
        }
    }

    fn error(self, host: &str) -> ureq::Error {
        match self {
            Lost::Timeout(which) => ureq::Error::Timeout(which),
            Lost::NotFound => ureq::Error::HostNotFound,
            Lost::Lookup(kind, text) => ureq::Error::Other(Box::new(LookupFailed {
                host: host.to_string(),
                source: io::Error::new(kind, text),
            })),
            Lost::Other(text) => ureq::Error::Other(text.into()),
            Lost::Interrupted => ureq::Error::Io(io::Error::other(Interrupted)),
        }
    }
}

impl Flight {
    fn end(&self, answer: Result<ResolvedSocketAddrs, Lost>) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
        self.ended.notify_all();
    }

    /// The lookup's answer, or a timeout of this caller's own when it runs out first, or
    /// [`Lost::Interrupted`] when `stop` says so first (looked at every [`CANCEL_SLICE`]).
    fn wait(
        &self,
        timeout: NextTimeout,
        stop: &dyn Fn() -> bool,
    ) -> Result<ResolvedSocketAddrs, Lost> {
        let deadline = timeout.not_zero().map(|limit| Instant::now() + *limit);
        let mut answer = self.answer.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(answer) = answer.as_ref() {
                return answer.clone();
            }
            if stop() {
                return Err(Lost::Interrupted);
            }
            let slice = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(CANCEL_SLICE),
                    _ => return Err(Lost::Timeout(timeout.reason)),
                },
                None => CANCEL_SLICE,
            };
            answer = (self.ended.wait_timeout(answer, slice))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The thread looking a name up. However it stops, even by a panic, the threads waiting for it
/// get an answer and the name is no longer marked as being looked up.
struct Lead {
    cache: Cache,
    key: String,
    flight: Arc<Flight>,
    ended: bool,
}

impl Lead {
    fn end(mut self, answer: &Result<ResolvedSocketAddrs, ureq::Error>) {
        let mut cache = lock(&self.cache);
        match answer {
            Ok(addrs) => {
                if cache.len() >= MAX_NAMES {
                    forget_some(&mut cache);
                }
                cache.insert(
                    self.key.clone(),
                    Slot::Found(Instant::now(), Box::new(addrs.clone())),
                )
            }
            // Not remembered: a later attempt (a retry) looks the name up again.
            Err(_) => cache.remove(&self.key),
        };
        drop(cache);
        self.flight.end(match answer {
            Ok(addrs) => Ok(addrs.clone()),
            Err(err) => Err(Lost::of(err)),
        });
        self.ended = true;
    }
}

/// Makes room in a full cache: answers past their time go first, and if that is not enough,
/// every answer (names being looked up stay, since threads wait on them).
fn forget_some(cache: &mut HashMap<String, Slot>) {
    cache.retain(|_, slot| !matches!(slot, Slot::Found(at, _) if at.elapsed() >= TTL));
    if cache.len() >= MAX_NAMES {
        cache.retain(|_, slot| matches!(slot, Slot::Pending(_)));
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.ended {
            lock(&self.cache).remove(&self.key);
            let why = Lost::Lookup(io::ErrorKind::Other, "the lookup was abandoned".into());
            self.flight.end(Err(why));
        }
    }
}

impl CachingResolver {
    /// Resolves with the system's resolver, through ureq's.
    pub fn new() -> Self {
        Self::default()
    }
}

/// One [`CachingResolver`] for several Agents, keeping only the addresses of one family with
/// `-4` or `-6` (the cache keeps every answer whole), after the `--resolve` overrides.
#[derive(Debug, Clone)]
pub struct SharedResolver {
    cache: Arc<CachingResolver>,
    family: IpFamily,
    overrides: Arc<Overrides>,
    connect_to: Arc<ConnectTo>,
}

impl SharedResolver {
    pub fn new(family: IpFamily, overrides: Arc<Overrides>, connect_to: Arc<ConnectTo>) -> Self {
        Self {
            cache: Arc::default(),
            family,
            overrides,
            connect_to,
        }
    }
}

/// `--resolve` entries: the addresses to use for a host (lowercase) and port.
#[derive(Debug, Default)]
pub struct Overrides(HashMap<(String, u16), Vec<IpAddr>>);

impl Overrides {
    /// Reads curl's `HOST:PORT:ADDR[,ADDR]...` entries; an IPv6 address may be in brackets.
    /// A later entry for the same host and port replaces an earlier one. The host `*` is any
    /// host on that port that no other entry names, and a `+` before the host (curl's entry
    /// that expires after a minute, to be looked up again) is taken as a plain one: a run's
    /// entries hold for the whole run.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut map = HashMap::new();
        for entry in entries {
            let bad = |why: &str| {
                format!("--resolve `{entry}`: {why} (expected HOST:PORT:ADDRESS[,ADDRESS...])")
            };
            if entry.starts_with('-') {
                return Err(bad(
                    "a `-` entry takes one out of curl's cache, which a run here starts without",
                ));
            }
            let given = entry.strip_prefix('+').unwrap_or(entry);
            let (host, rest) = match given.strip_prefix('[') {
                // An IPv6 address as the host: its colons are not the separators.
                Some(inner) => match inner.split_once("]:") {
                    Some(split) => split,
                    None => return Err(bad("no port after the `]`")),
                },
                None => given.split_once(':').ok_or_else(|| bad("no port"))?,
            };
            let (port, addresses) = rest.split_once(':').ok_or_else(|| bad("no address"))?;
            if host.is_empty() {
                return Err(bad("no host"));
            }
            let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
            let addresses = (addresses.split(','))
                .map(|a| {
                    let a = a.trim().trim_start_matches('[').trim_end_matches(']');
                    a.parse::<IpAddr>()
                        .map_err(|_| bad(&format!("`{a}` is not an IP address")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // ureq's answers hold as many at most.
            if addresses.len() > 16 {
                return Err(bad("more than 16 addresses"));
            }
            map.insert((ascii_host(host), port), addresses);
        }
        Ok(Self(map))
    }

    fn get(&self, uri: &Uri) -> Option<&[IpAddr]> {
        if self.0.is_empty() {
            return None;
        }
        let authority = uri.authority()?;
        let port = port_of(uri)?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let named = self.0.get(&(host.to_ascii_lowercase(), port));
        let addresses = named.or_else(|| self.0.get(&("*".to_string(), port)))?;
        Some(addresses)
    }
}

impl Resolver for SharedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // A request going to an HTTP proxy in absolute form connects to the proxy; a proxy's
        // own name (asked by the SOCKS and CONNECT links) is not the URL's, which
        // `--connect-to` may send elsewhere.
        let proxy_uri = crate::proxy::absolute_proxy_uri();
        let to_proxy = config.proxy().is_some_and(|proxy| proxy.uri() == uri);
        let moved = match (&proxy_uri, to_proxy) {
            (None, false) => self.connect_to.uri(uri),
            _ => None,
        };
        let uri = proxy_uri.as_ref().or(moved.as_ref()).unwrap_or(uri);
        let found = match self.overrides.get(uri) {
            Some(addresses) => {
                let port = port_of(uri).unwrap_or(80);
                let mut found = self.empty();
                for ip in addresses {
                    found.push(SocketAddr::new(*ip, port));
                }
                found
            }
            None => self.cache.resolve(uri, config, timeout)?,
        };
        if self.family == IpFamily::Any {
            return Ok(found);
        }
        let mut kept = self.empty();
        for addr in self.family.keep_wanted(found.iter().copied()) {
            kept.push(addr);
        }
        if kept.is_empty() {
            let host = uri.host().unwrap_or_default().to_string();
            return Err(ureq::Error::Other(Box::new(NoAddress {
                host,
                family: self.family,
            })));
        }
        Ok(kept)
    }
}

/// A host with no address of the one family `-4` or `-6` allows: reported as kind `dns`, as
/// curl reports it.
#[derive(Debug, thiserror::Error)]
#[error("{host} has no {} address ({})", family_name(*.family), family_flag(*.family))]
pub struct NoAddress {
    host: String,
    family: IpFamily,
}

fn family_name(family: IpFamily) -> &'static str {
    match family {
        IpFamily::Ipv6Only => "IPv6",
        _ => "IPv4",
    }
}

fn family_flag(family: IpFamily) -> &'static str {
    match family {
        IpFamily::Ipv6Only => "-6 allows only those",
        _ => "-4 allows only those",
    }
}

impl<R> CachingResolver<R> {
    #[cfg(test)]
    fn with(inner: R) -> Self {
        Self {
            inner: Arc::new(inner),
            cache: Cache::default(),
        }
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        lock(&self.cache)
    }

    /// How many hold the lookup of `key` in progress (the cache, the thread looking it up and
    /// every thread waiting for it, the one that started it included), or 0 when none is.
    #[cfg(test)]
    fn sharing(&self, key: &str) -> usize {
        match self.cache().get(key) {
            Some(Slot::Pending(flight)) => Arc::strong_count(flight),
            _ => 0,
        }
    }
}

impl<R: Resolver> Resolver for CachingResolver<R> {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(authority) = uri.authority() else {
            return self.inner.resolve(uri, config, timeout);
        };
        let port = port_of(uri);
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let (Ok(ip), Some(port)) = (literal.parse::<IpAddr>(), port) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        if let (true, Some(port)) = (is_localhost(host), port) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
            addrs.push(SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port));
            return Ok(addrs);
        }
        let key = format!("{host}:{}", port.unwrap_or(0));
        let mut cache = self.cache();
        let flight = match cache.get(&key) {
            Some(Slot::Found(at, addrs)) if at.elapsed() < TTL => return Ok((**addrs).clone()),
            Some(Slot::Pending(flight)) => Some(Arc::clone(flight)),
            _ => None,
        };
        if let Some(flight) = flight {
            drop(cache);
            return (flight.wait(timeout, &cancel::requested)).map_err(|lost| lost.error(host));
        }
        let flight = Arc::new(Flight::default());
        cache.insert(key.clone(), Slot::Pending(Arc::clone(&flight)));
        drop(cache);
        let lead = Lead {
            cache: Arc::clone(&self.cache),
            key,
            flight: Arc::clone(&flight),
            ended: false,
        };
        // The lookup runs on a thread of its own, with no time limit, and every thread that
        // wants the name waits for it with its own: so a wait can end (its timeout, or an
        // interrupt, which the system's resolver cannot be given) without abandoning the
        // lookup, whose answer is then still there for the host's next URL. ureq spawned a
        // thread per lookup too, whenever a timeout was set.
        let (inner, uri, config) = (Arc::clone(&self.inner), uri.clone(), config.clone());
        let name = host.to_string();
        // A thread that cannot start drops `lead`, which tells the waiters so.
        let _ = thread::Builder::new()
            .name("fetchpar-lookup".into())
            .spawn(move || {
                let answer = (inner.resolve(&uri, &config, NextTimeout::default())).map_err(
                    |err| match err {
                        ureq::Error::Io(source) => {
                            ureq::Error::Other(Box::new(LookupFailed { host: name, source }))
                        }
                        other => other,
                    },
                );
                lead.end(&answer);
            });
        (flight.wait(timeout, &cancel::requested)).map_err(|lost| lost.error(host))
    }
}

/// The port `uri` names, or its scheme's (80 for http, 443 for https); none for another
/// scheme without one.
pub fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// Whether a host name is `localhost` or under it (a trailing dot and any case allowed).
fn is_localhost(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// A host name as URLs hold it, for matching the names users give (`--resolve`, `--noproxy`,
/// a netrc `machine`) against theirs: an international name in its ASCII form (IDNA, so that
/// `bücher.example` is `xn--bcher-kva.example`), lowercase; anything that is not a domain
/// name (an IP address, `*`) lowercased as it is.
pub fn ascii_host(name: &str) -> String {
    match url::Host::parse(name) {
        Ok(url::Host::Domain(ascii)) => ascii,
        _ => name.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use ureq::unversioned::transport::time;

    use super::*;

    #[test]
    fn resolve_entries_are_read_as_curl_writes_them() {
        let entries = [
            "Files.test:443:10.0.0.1,[::1]".to_string(),
            "[::2]:8080:127.0.0.1".to_string(),
            "Bücher.test:80:10.0.0.2".to_string(),
        ];
        let overrides = Overrides::parse(&entries).unwrap();
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        let ips = |text: &str| overrides.get(&uri(text)).map(<[IpAddr]>::to_vec);
        let (ten, v6): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "::1".parse().unwrap());
        assert_eq!(ips("https://files.TEST/a"), Some(vec![ten, v6]));
        assert_eq!(ips("http://files.test/a"), None, "another port");
        // A URL holds an international name in its ASCII form: the entry's is matched so.
        let idn = url::Url::parse("http://bücher.test/a").unwrap();
        assert_eq!(ips(idn.as_str()), Some(vec!["10.0.0.2".parse().unwrap()]));
        assert_eq!(
            ips("http://[::2]:8080/"),
            Some(vec!["127.0.0.1".parse().unwrap()])
        );
        // curl's `*` is any other host on that port, and its `+` an entry like another.
        let wild = [
            "*:443:10.0.0.9".to_string(),
            "+kept.test:443:10.0.0.8".to_string(),
        ];
        let wild = Overrides::parse(&wild).unwrap();
        let at = |text: &str| wild.get(&uri(text)).map(<[IpAddr]>::to_vec);
        assert_eq!(
            at("https://any.test/"),
            Some(vec!["10.0.0.9".parse().unwrap()])
        );
        assert_eq!(
            at("https://kept.test/"),
            Some(vec!["10.0.0.8".parse().unwrap()])
        );
        assert_eq!(at("http://any.test/"), None, "another port");
        let removal = Overrides::parse(&["-a.test:80".to_string()]).unwrap_err();
        assert!(removal.contains("curl's cache"), "{removal}");
        let many = format!("h.test:80:{}", vec!["10.0.0.1"; 17].join(","));
        assert!(
            Overrides::parse(&[many])
                .unwrap_err()
                .contains("more than 16")
        );
    }
    use crate::outcome::ErrorKind;

    /// A resolver that answers 192.0.2.1 (or fails, or panics) only once the test opens it,
    /// counting its lookups.
    #[derive(Debug, Default)]
    struct Gate {
        lookups: AtomicUsize,
        open: Mutex<bool>,
        opened: Condvar,
        answer: Answer,
    }

    #[derive(Debug, Default, Clone, Copy)]
    enum Answer {
        #[default]
        Address,
        Fail,
        Panic,
    }

    impl Gate {
        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }
    }

    #[derive(Debug)]
    struct Gated(Arc<Gate>);

    impl Resolver for Gated {
        fn resolve(
            &self,
            uri: &Uri,
            _: &Config,
            _: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            let gate = &self.0;
            gate.lookups.fetch_add(1, Ordering::SeqCst);
            drop(
                gate.opened
                    .wait_while(gate.open.lock().unwrap(), |open| !*open),
            );
            match gate.answer {
                Answer::Address => {
                    let mut addrs = self.empty();
                    let port = uri.port_u16().unwrap_or(80);
                    addrs.push(SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), port));
                    Ok(addrs)
                }
                Answer::Fail => Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::NotFound,
                    "Name or service not known",
                ))),
                Answer::Panic => panic!("the lookup panicked"),
            }
        }
    }

    type Shared = Arc<CachingResolver<Gated>>;

    fn gated(answer: Answer) -> (Arc<Gate>, Shared) {
        let gate = Arc::new(Gate {
            answer,
            ..Gate::default()
        });
        (gate.clone(), Arc::new(CachingResolver::with(Gated(gate))))
    }

    /// The addresses, or the failure's kind and message as a result line shows them.
    type Looked = Result<Vec<SocketAddr>, (ErrorKind, String)>;

    fn lookup(resolver: &Shared, url: &str, timeout: NextTimeout) -> Looked {
        let uri: Uri = url.parse().unwrap();
        (resolver.resolve(&uri, &Config::default(), timeout))
            .map(|addrs| addrs.iter().copied().collect())
            .map_err(|err| {
                let failure = crate::fetch::classify(err);
                (failure.kind, failure.message)
            })
    }

    /// Starts `n` threads looking `url` up and returns once the gated lookup has started and
    /// all of them wait for it.
    fn start_lookups(
        n: usize,
        resolver: &Shared,
        url: &'static str,
        key: &str,
    ) -> Vec<thread::JoinHandle<Looked>> {
        let threads = (0..n)
            .map(|_| {
                let resolver = Arc::clone(resolver);
                thread::spawn(move || lookup(&resolver, url, NextTimeout::default()))
            })
            .collect();
        // The cache and the lookup's own thread hold the lookup, and so does each waiting one.
        let deadline = Instant::now() + Duration::from_secs(20);
        while resolver.sharing(key) < n + 2 {
            assert!(
                Instant::now() < deadline,
                "{} of {n} threads share the lookup",
                resolver.sharing(key).saturating_sub(2)
            );
            thread::yield_now();
        }
        threads
    }

    #[test]
    fn threads_wanting_one_name_share_one_lookup() {
        let (gate, resolver) = gated(Answer::Address);
        let threads = start_lookups(8, &resolver, "http://files.test:81/a", "files.test:81");
        gate.open();
        let expected = vec![SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 81)];
        for thread in threads {
            assert_eq!(thread.join().unwrap(), Ok(expected.clone()));
        }
        // And the answer is remembered.
        let again = lookup(&resolver, "http://files.test:81/b", NextTimeout::default());
        assert_eq!(again, Ok(expected));
        assert_eq!(gate.lookups.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_lookup_fails_every_thread_waiting_for_it_and_is_not_remembered() {
        let (gate, resolver) = gated(Answer::Fail);
        let threads = start_lookups(4, &resolver, "http://gone.test/", "gone.test:80");
        gate.open();
        for thread in threads {
            let (kind, message) = thread.join().unwrap().unwrap_err();
            assert_eq!(kind, ErrorKind::Dns);
            assert_eq!(
                message,
                "cannot resolve gone.test: Name or service not known"
            );
        }
        assert_eq!(gate.lookups.load(Ordering::SeqCst), 1);
        // A retry looks again.
        assert!(lookup(&resolver, "http://gone.test/", NextTimeout::default()).is_err());
        assert_eq!(gate.lookups.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_cache_holds_a_bounded_number_of_names() {
        let (gate, resolver) = gated(Answer::Address);
        gate.open();
        for i in 0..MAX_NAMES + 10 {
            let url = format!("http://host{i}.test/");
            assert!(lookup(&resolver, &url, NextTimeout::default()).is_ok());
            assert!(resolver.cache().len() <= MAX_NAMES);
        }
        // The newest answer is kept.
        let last = format!("http://host{}.test/", MAX_NAMES + 9);
        let before = gate.lookups.load(Ordering::SeqCst);
        assert!(lookup(&resolver, &last, NextTimeout::default()).is_ok());
        assert_eq!(gate.lookups.load(Ordering::SeqCst), before);
    }

    /// A lookup's time limit that runs out at once.
    fn one_millisecond() -> NextTimeout {
        NextTimeout {
            after: time::Duration::from_millis(1),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        }
    }

    #[test]
    fn a_waiting_thread_keeps_its_own_timeout() {
        let (gate, resolver) = gated(Answer::Address);
        let threads = start_lookups(1, &resolver, "http://slow.test/", "slow.test:80");
        let short = one_millisecond();
        let (kind, _) = lookup(&resolver, "http://slow.test/", short).unwrap_err();
        assert_eq!(kind, ErrorKind::Timeout);
        gate.open();
        assert!(threads.into_iter().all(|t| t.join().unwrap().is_ok()));
    }

    #[test]
    fn a_lookup_that_panics_still_answers_the_threads_waiting_for_it() {
        let (gate, resolver) = gated(Answer::Panic);
        let threads = start_lookups(3, &resolver, "http://odd.test/", "odd.test:80");
        gate.open();
        // The lookup's own thread panicked; every thread that wanted the name is told so.
        for thread in threads {
            let (kind, message) = thread.join().unwrap().unwrap_err();
            assert_eq!(kind, ErrorKind::Dns);
            assert_eq!(message, "cannot resolve odd.test: the lookup was abandoned");
        }
        assert_eq!(resolver.sharing("odd.test:80"), 0);
    }

    #[test]
    fn a_lookup_outliving_its_callers_timeout_is_still_remembered() {
        let (gate, resolver) = gated(Answer::Address);
        let short = one_millisecond();
        let (kind, _) = lookup(&resolver, "http://late.test/", short).unwrap_err();
        assert_eq!(kind, ErrorKind::Timeout);
        gate.open();
        let deadline = Instant::now() + Duration::from_secs(20);
        while resolver.sharing("late.test:80") > 0 {
            assert!(Instant::now() < deadline, "the lookup ends");
            thread::yield_now();
        }
        assert!(lookup(&resolver, "http://late.test/", NextTimeout::default()).is_ok());
        assert_eq!(gate.lookups.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_wait_for_a_lookup_ends_when_stop_says_so() {
        let flight = Flight::default();
        let calls = AtomicUsize::new(0);
        let stop = || calls.fetch_add(1, Ordering::Relaxed) >= 2;
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        thread::scope(|scope| {
            scope.spawn(|| {
                let _ = done_tx.send(flight.wait(NextTimeout::default(), &stop));
            });
            let waited = done_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("the wait ended once stop said so");
            assert!(matches!(waited, Err(Lost::Interrupted)), "{waited:?}");
        });
        assert_eq!(calls.into_inner(), 3);
        let err = Lost::Interrupted.error("h.test");
        assert_eq!(crate::fetch::classify(err).kind, ErrorKind::Cancelled);
    }

    fn resolve(url: &str) -> Vec<SocketAddr> {
        let uri: Uri = url.parse().unwrap();
        let config = Config::default();
        let addrs = CachingResolver::new()
            .resolve(&uri, &config, NextTimeout::default())
            .unwrap();
        addrs.iter().copied().collect()
    }

    #[test]
    fn localhost_is_both_loopback_addresses_without_a_lookup() {
        let both = |port| {
            vec![
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
            ]
        };
        assert_eq!(resolve("http://localhost:8080/x"), both(8080));
        assert_eq!(resolve("https://API.LocalHost./"), both(443));
        assert_eq!(resolve("http://dev.localhost/"), both(80));
        assert!(!is_localhost("localhost.example.com"));
        assert!(!is_localhost("notlocalhost"));
        assert_eq!(
            resolve("http://[::1]:9/"),
            vec![SocketAddr::new(Ipv6Addr::LOCALHOST.into(), 9)]
        );
    }
}
