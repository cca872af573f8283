//! Fetching one URL into one [`Outcome`]: the shared ureq Agents, their timeouts and headers,
//! and streaming the body so only a byte count and a short prefix are kept.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_auth::PasswordClient;
use ureq::http::{HeaderName, HeaderValue, header};
use ureq::unversioned::transport::Connector;
use ureq::{Agent, Proxy};
use url::Url;

use crate::auth::{Auth, Login};
use crate::cancel;
use crate::connect_to::ConnectTo;
use crate::cookies::Jar;
use crate::decode;
use crate::hosts::Hosts;
use crate::interface::Local;
use crate::links::{Job, LineOptions, RemoteList, Target};
use crate::logins::Logins;
use crate::outcome::{ErrorKind, Failure, Outcome, redact, redact_str};
use crate::pace::Pace;
use crate::progress::{Live, Progress};
use crate::proxy::{self, LineProxies, Proxies};
use crate::rate::RateLimit;
use crate::referer::Referer;
use crate::resolve::{Overrides, SharedResolver};
use crate::retry::RetryPolicy;
use crate::reuse::SeenOrigins;
use crate::save::{PartWriter, Planned, Saver, Sink, Slot, SplitPart, aria2_control};
use crate::tls::Tls;
use crate::trace::{self, Trace};
use crate::transport;

mod failures;
mod segmented;

pub use failures::classify;
use failures::{cut_short, disk, status_failure, too_large, too_slow, where_led};
use segmented::{Split, end_split, head_wait, split_sources};

/// Network settings, validated, shared by every fetch of a run.
#[derive(Debug, Clone)]
pub struct NetSettings {
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub stall_timeout: Option<Duration>,
    pub max_redirects: u32,
    pub user_agent: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `--proxy-header`: sent to a proxy only, with each CONNECT and each request sent to it
    /// whole.
    pub proxy_headers: Arc<[(HeaderName, HeaderValue)]>,
    /// `-H 'Name:'`: headers sent unasked that are not to be sent (Accept, Accept-Encoding;
    /// User-Agent and Referer are left out of their settings instead).
    pub removed: Vec<HeaderName>,
    /// `--referer`, unless a line's `referer=` or a Referer header takes its place.
    pub referer: Option<Referer>,
    /// Whether cookies servers set are kept and sent back (see [`crate::cookies`]).
    pub cookies: bool,
    /// Most body bytes per second for the whole run (`--limit-rate`).
    pub limit_rate: Option<u64>,
    /// Most body bytes per second for each download (`--max-download-limit`).
    pub download_limit: Option<u64>,
    /// Which addresses hosts are connected at (`-4`, `-6`).
    pub ip_family: ureq::config::IpFamily,
    /// Bytes of each body kept for display.
    pub prefix: usize,
    /// Most idle connections kept open for reuse, in each of the [`AGENTS`].
    pub pool: usize,
    /// Largest body accepted, as saved, or decoded when shown (`--max-size`).
    pub max_size: Option<u64>,
    /// `--compressed`: bodies are asked for compressed as curl asks (deflate, gzip, br, zstd),
    /// and saved decoded.
    pub compressed: bool,
    /// `--https-only`: no http URL is fetched, a redirect to one included.
    pub https_only: bool,
    pub retry: RetryPolicy,
    /// Most fetches to one host at once (`--per-host`).
    pub per_host: Option<usize>,
    /// TLS for https URLs: the roots to trust (see [`crate::tls`]).
    pub tls: Tls,
    /// Proxies from the environment, chosen per URL.
    pub proxies: Proxies,
    /// Credentials by host from a netrc file (`-n`, `--netrc-file`).
    pub logins: Option<Arc<Logins>>,
    /// `--user`'s login, for each URL's own origin.
    pub user: Option<Login>,
    /// `--spider`: ask with HEAD (GET where HEAD is refused) and read no body.
    pub spider: bool,
    /// `--verbose`: keep each URL's requests and answers' heads (see [`crate::trace`]).
    pub verbose: bool,
    /// `--resolve`: addresses given for hosts, used instead of looking them up.
    pub resolve: Arc<Overrides>,
    /// `--connect-to`: hosts and ports whose connections go to others.
    pub connect_to: Arc<ConnectTo>,
    /// `--speed-limit` and `--speed-time`: a body read slower than this many bytes per second,
    /// averaged over each such span, is abandoned.
    pub low_speed: Option<(u64, Duration)>,
    /// `--split`: most connections one saved body is fetched over at once (1: no splitting).
    pub split: usize,
    /// `--min-split-size`: the smallest range a body is split into.
    pub min_split: u64,
    /// `--rate` or `--wait`: the least time between two URLs' starts, and whether it is drawn
    /// at random around that (`--random-wait`).
    pub pace: Option<(Duration, bool)>,
    /// `--interface`: the local address connections are made from.
    pub local: Option<Arc<Local>>,
}

/// Reads a short redirect body to its end, so its connection can carry the next request; a
/// longer one is left, and its connection closed. Never inlined: `io::copy` copies through an
/// 8 KiB buffer on the stack, and when the compiler inlined it into [`Fetcher::request`] every
/// fetch's frame grew by that much, redirected or not (2,000 small files: 34.5 against 31.6 MiB
/// peak, 780 more page faults, a run).
#[inline(never)]
fn drain_redirect(response: ureq::http::Response<ureq::Body>) {
    let mut body = response.into_body();
    let mut reader = body.with_config().limit(REDIRECT_BODY_LIMIT).reader();
    let _ = io::copy(&mut reader, &mut io::sink());
}

/// An Agent over `connector`, with the trace link last when `--verbose` asks for it (only
/// then: it is one more call on every write and read).
fn agent(
    config: &ureq::config::Config,
    connector: impl Connector<()>,
    verbose: bool,
    resolver: SharedResolver,
) -> Agent {
    match verbose {
        true => Agent::with_parts(config.clone(), connector.chain(Trace), resolver),
        false => Agent::with_parts(config.clone(), connector, resolver),
    }
}

/// Parses `Name: value` as given to `-H`.
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue)> {
    match given_header(text)? {
        Given::Set(name, value) => Ok((name, value)),
        Given::Removed(name) => bail!(
            "header `{name}:` has no value: `{name};` sends it empty, and -H '{name}:' keeps \
             the run from sending one"
        ),
    }
}

/// A header as curl's `-H` reads one.
pub enum Given {
    /// `Name: value`, or `Name;` for the header with an empty value.
    Set(HeaderName, HeaderValue),
    /// `Name:` with nothing after it: none of that header, not even one sent unasked.
    Removed(HeaderName),
}

/// Reads `Name: value`, curl's `Name;` (the header, empty) and `Name:` (no such header).
pub fn given_header(text: &str) -> Result<Given> {
    let name = |name: &str| {
        HeaderName::try_from(name.trim())
            .with_context(|| format!("`{}` is not a valid header name", name.trim()))
    };
    if let (Some(empty), false) = (text.strip_suffix(';'), text.contains(':')) {
        return Ok(Given::Set(name(empty)?, HeaderValue::from_static("")));
    }
    let Some((named, value)) = text.split_once(':') else {
        bail!("header `{text}` is not of the form `Name: value`");
    };
    let named = name(named)?;
    if value.trim().is_empty() {
        return Ok(Given::Removed(named));
    }
    let value = HeaderValue::try_from(value.trim())
        .with_context(|| format!("the value of header `{named}` is not valid"))?;
    Ok(Given::Set(named, value))
}

/// What one attempt at a URL leaves to the next.
#[derive(Default)]
struct Carried {
    /// A name taken from Content-Disposition: claimed once and kept across retries.
    named: Option<Slot>,
    /// A part file was written, which a retry resumes.
    part_written: bool,
    /// The part is a file that was under its final name, with this many bytes, moved aside
    /// by -c to be continued: `--remove-on-error` puts it back as it was.
    moved: Option<u64>,
}

/// Fetches URLs with [`AGENTS`] Agents shared by all threads, each host always with the same
/// one, so its connections are pooled across all threads.
pub struct Fetcher {
    agents: Box<[Agent]>,
    /// For the URLs a list line sends through another proxy than the run would (or direct
    /// where the run would not): an Agent for each such way, made when first needed. Apart
    /// from [`Fetcher::agents`], since ureq pools a connection an http URL makes to a proxy
    /// under the URL's host, as it pools a direct one (see [`proxy::absolute`]).
    line_agents: Mutex<std::collections::HashMap<Option<Proxy>, Agent>>,
    /// Makes one of [`Fetcher::line_agents`].
    make_line_agent: Box<dyn Fn() -> Agent + Send + Sync>,
    /// Picks a host's Agent.
    host_hash: RandomState,
    settings: NetSettings,
    saver: Option<Saver>,
    hosts: Hosts,
    progress: Option<Arc<Progress>>,
    /// When the run started; outcomes record their start relative to it.
    epoch: Instant,
    /// Bytes of every request head besides the URL: the configured headers and room for the
    /// rest (see [`HEAD_ALLOWANCE`]).
    head_fixed: usize,
    /// Set once every job of the run has been handed out: connections are then not kept for
    /// reuse (see [`Fetcher::drain`]).
    input_done: AtomicBool,
    /// Origins fetched from so far: a connection to a new one is not kept (see [`reuse`]).
    ///
    /// [`reuse`]: crate::reuse
    seen: SeenOrigins,
    /// Test hook: a URL containing this text makes its worker panic, to prove that a dying
    /// worker still yields a result; `prepare:TEXT` panics in [`Fetcher::prepare`] instead.
    /// Read once from `FETCHPAR_TEST_PANIC`.
    panic_on: Option<String>,
    /// Cookies servers have set in this run (and any loaded from a file).
    jar: Arc<Jar>,
    /// The run's download budget, with `--limit-rate`.
    rate: Option<RateLimit>,
    /// When URLs may start, with `--rate` or `--wait`.
    pace: Option<Pace>,
    /// The logins requests go with, and the Digest challenges servers and proxies have made
    /// (shared with the CONNECT link, which answers a proxy's).
    auth: Arc<Auth>,
}

/// Agents the hosts are shared out between, each with its own pool of idle connections (of
/// [`NetSettings::pool`] at most). ureq's pool, under its one lock, recounts each host's idle
/// connections by walking its whole list once per host whenever a connection is taken or
/// given back: with one Agent, a list over 100 hosts spent a third of its CPU there and, with
/// 64 idle connections for all of them, reconnected for most URLs. 20,000 URLs over 100 hosts:
/// 0.560 s with 8 Agents against 2.499 s with one (6 interleaved runs), 779 connections opened
/// against 13,387; lists on one host unchanged (see the README).
pub const AGENTS: usize = 8;

/// Largest read of a body that is not saved. ureq serves reads from its own buffer, so this
/// size sets how many copies are made, not how many system calls; each worker zero-fills its
/// buffer once, and 16 KiB rather than 64 KiB took 10% less CPU on 100 bodies of 64 KiB.
const READ_CHUNK: usize = 16 * 1024;

/// Largest read of a body that is not saved and is at least [`LARGE_BODY`] or of unknown
/// length: each read passes through ureq's layers (framing, timeout bookkeeping), and
/// 1 GiB in 16 KiB reads is 65,536 of them.
const READ_CHUNK_LARGE: usize = 64 * 1024;
const LARGE_BODY: u64 = 1024 * 1024;

/// Most a plain connection's read buffer grows to. 64 KiB against 128 KiB on 4 bodies of
/// 256 MiB discarded, in four sets of interleaved runs: medians 0.190/0.204, 0.224/0.248,
/// 0.185/0.189 and 0.209/0.213 s (25, 30, 25 and 40 runs). Reads of 128 KiB had taken 5% less
/// CPU in an earlier build; they no longer do. Small bodies never grow the buffer this far.
const MAX_INPUT: usize = 64 * 1024;

/// Room for a request head on a pooled connection. A head that may not fit (a URL of tens of
/// kilobytes, which a list line may hold) gets a connection of its own with room enough:
/// ureq cannot grow the buffer mid-request and failed such URLs with "output too small".
/// 8 KiB, not 16: it is zero-filled for every new connection before its request goes out.
const OUTPUT_BUFFER: usize = 8 * 1024;

/// Bytes of a request head besides the URL and the configured headers: request line, Host,
/// Accept, Accept-Encoding, Range and If-Range, with room to spare.
const HEAD_ALLOWANCE: usize = 2 * 1024;

/// Largest piece of a saved body written to its file at once: a 1 GiB download is then 4,096
/// writes instead of ~21,000.
const SAVE_CHUNK: usize = 256 * 1024;

/// Most of a redirect's body read so that its connection can be reused; past it, the
/// connection is closed instead.
const REDIRECT_BODY_LIMIT: u64 = 64 * 1024;

/// Characters of a Location that cannot be followed shown in the error.
const SHOWN_LOCATION: usize = 200;

/// Most of an error page (4xx/5xx body) read before giving up on it.
const ERROR_BODY_LIMIT: u64 = 1024 * 1024;

thread_local! {
    /// One read buffer per worker thread, reused for every URL it fetches: allocating and
    /// zeroing a fresh one per URL showed up in profiles of lists of small files.
    /// It grows to what the bodies need, so a thread fetching small files keeps a small one.
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Fetcher {
    pub fn new(settings: NetSettings, saver: Option<Saver>) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // Not ureq's reading of the environment: `proxy` picks one per URL, as curl does.
            .proxy(None)
            // Redirects are followed by `request`, one request at a time (so ureq never reports
            // a redirect error of its own).
            .max_redirects(0)
            .user_agent(settings.user_agent.as_str())
            // A saved body is kept as the server holds it, as curl, wget and aria2 keep it (so
            // its digest is the server's file's, and a resumed Range counts the part's bytes),
            // unless asked for compressed: see `accept_encoding`.
            .accept_encoding(accept_encoding(
                &settings,
                saver.is_some(),
                settings.compressed,
            ))
            // ureq's `*/*`, unless -H 'Accept:' asks for none.
            .accept(match settings.removed.contains(&header::ACCEPT) {
                true => "",
                false => "*/*",
            })
            // Name lookups are bounded too; the resolver only pays for that on a cache miss.
            .timeout_resolve(settings.connect_timeout)
            .timeout_connect(settings.connect_timeout)
            .timeout_global(settings.timeout)
            .timeout_per_read(settings.stall_timeout)
            // ureq's 128 KiB each way per connection, zero-filled up front, cost 64 MiB of
            // resident memory at 256 connections. Here the input size is only what a TLS
            // connection's read buffer may grow to (plain ones have `transport`'s own bound);
            // both kinds start small and grow with the body. A GET only writes its head, so
            // the output side can be small.
            .input_buffer_size(64 * 1024)
            .output_buffer_size(OUTPUT_BUFFER)
            .max_response_header_size(48 * 1024)
            .max_idle_connections(settings.pool)
            .max_idle_connections_per_host(settings.pool)
            .build();
        let head_fixed = HEAD_ALLOWANCE
            + settings.user_agent.len()
            + (settings.headers.iter())
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum::<usize>();
        let jar = Arc::new(Jar::new(settings.cookies));
        let rate = settings.limit_rate.map(RateLimit::new);
        let pace = (settings.pace).map(|(gap, random)| Pace::new(gap, random));
        let resolver = SharedResolver::new(
            settings.ip_family,
            Arc::clone(&settings.resolve),
            Arc::clone(&settings.connect_to),
        );
        let winners = transport::Winners::default();
        let auth = Arc::new(Auth::new(settings.user.clone(), settings.logins.clone()));
        let proxied = {
            let (config, auth, winners) = (config.clone(), Arc::clone(&auth), winners.clone());
            let (local, tls) = (settings.local.clone(), settings.tls.clone());
            let (verbose, resolver) = (settings.verbose, resolver.clone());
            let connect_to = Arc::clone(&settings.connect_to);
            let headers = Arc::clone(&settings.proxy_headers);
            move || {
                let tcp = transport::Tcp::new(MAX_INPUT, winners.clone(), local.clone());
                let (auth, connect_to) = (Arc::clone(&auth), Arc::clone(&connect_to));
                let connect = crate::proxy::Connect {
                    auth,
                    connect_to,
                    headers: Arc::clone(&headers),
                };
                let chain = transport::proxied(tcp, tls.clone(), connect);
                agent(&config, chain, verbose, resolver.clone())
            }
        };
        let agents = (0..AGENTS)
            .map(|_| match settings.proxies.any() {
                true => proxied(),
                false => {
                    let tcp =
                        transport::Tcp::new(MAX_INPUT, winners.clone(), settings.local.clone());
                    let chain = transport::direct(tcp, settings.tls.clone());
                    agent(&config, chain, settings.verbose, resolver.clone())
                }
            })
            .collect();
        Self {
            auth,
            agents,
            line_agents: Mutex::default(),
            make_line_agent: Box::new(proxied),
            host_hash: RandomState::new(),
            hosts: Hosts::new(settings.per_host),
            progress: None,
            settings,
            saver,
            epoch: Instant::now(),
            head_fixed,
            input_done: AtomicBool::new(false),
            seen: SeenOrigins::default(),
            panic_on: std::env::var("FETCHPAR_TEST_PANIC")
                .ok()
                .filter(|s| !s.is_empty()),
            jar,
            rate,
            pace,
        }
    }

    /// Shows this fetcher's work on a progress display (or stops showing it).
    pub fn set_progress(&mut self, progress: Option<Arc<Progress>>) {
        self.progress = progress;
    }

    /// The run's cookie jar, to load before the run and save after it.
    pub fn cookies(&self) -> Arc<Jar> {
        Arc::clone(&self.jar)
    }

    /// Tells the fetcher that no job is left to hand out.
    pub fn input_ended(&self) {
        self.input_done.store(true, Ordering::Relaxed);
        if let Some(progress) = &self.progress {
            progress.all_read();
        }
    }

    /// Restarts the clock that outcomes' start times are measured from, and puts the cookie
    /// jar back as the first run found it: `--compare`'s second run starts as its first did.
    pub fn reset_epoch(&mut self) {
        self.epoch = Instant::now();
        self.jar.clear();
        self.auth.forget_challenges();
    }

    /// Opens a link list on a server (`-i URL`, as wget reads one): one GET as a fetch makes
    /// it (redirects, proxies, TLS settings, logins, `-H` headers), whose body, decoded,
    /// is read as it arrives (as HTML or Metalink when the server says it is one). Anything but
    /// a 2xx answer is an error naming the status. Not retried: the run has not started, and says why at once.
    pub fn open_list(&self, url: &Url) -> Result<RemoteList, Failure> {
        if self.settings.https_only && url.scheme() != "https" {
            let why = "an http URL, and --https-only fetches https URLs only";
            return Err(Failure::new(ErrorKind::InvalidUrl, why));
        }
        let job = Job::outside_lists(url.clone(), "-i");
        let mut outcome = Outcome::new(&job, Duration::ZERO);
        let (response, location) = self.request(url, Ask::default(), &mut outcome)?;
        let status = response.status();
        if !status.is_success() {
            return Err(status_failure(status, None));
        }
        let codings =
            encoding(&response).map_err(|reason| Failure::new(ErrorKind::Protocol, reason))?;
        let codings = [codings, transfer_codings(&response)?].concat();
        let mime = header(&response, "content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let patience = self.settings.stall_timeout;
        let body = decode::decoded(&codings, response.into_body().into_reader(), patience);
        Ok(RemoteList {
            body,
            mime,
            location,
        })
    }

    /// With `--xattr`, what a body saved from `url` is labelled with: the URL without its
    /// credentials (curl and wget leave them out too) or fragment.
    fn label(&self, url: &Url) -> Option<String> {
        let asked = self.saver.as_ref().is_some_and(|s| s.settings().xattr);
        asked.then(|| crate::referer::bare(url).into())
    }

    /// Fetches one job. Never panics on bad input or network failure: every failure is data.
    /// With `--verbose`, the outcome carries the trace of its requests.
    pub fn fetch(&self, job: &Job) -> Outcome {
        if !self.settings.verbose {
            return self.fetch_untraced(job);
        }
        trace::start();
        let mut outcome = self.fetch_untraced(job);
        outcome.trace = trace::take();
        outcome
    }

    fn fetch_untraced(&self, job: &Job) -> Outcome {
        // Before the URL's clock starts: waiting for its turn is not part of fetching it.
        if let (Some(pace), Ok(_)) = (&self.pace, &job.target) {
            pace.wait(&cancel::requested);
        }
        let start = Instant::now();
        let mut outcome = Outcome::new(job, start.saturating_duration_since(self.epoch));
        let target = match &job.target {
            Ok(target) => target,
            Err(failure) => {
                outcome.error = Some(failure.clone());
                return outcome;
            }
        };
        if let Some(marker) = self
            .panic_on
            .as_deref()
            .filter(|m| !m.starts_with("prepare:"))
        {
            assert!(
                !target.url.as_str().contains(marker),
                "test hook: panicking for {marker}"
            );
        }
        outcome.spider = self.spider(&target.options);
        let started = outcome.started;
        let live = self
            .progress
            .as_ref()
            .map(|p| p.begin(job.id, &outcome.url));
        let mut carried = Carried::default();
        // The download's own budget (--max-download-limit, or the line's), kept across its
        // attempts and shared by the connections of a split.
        let own_rate = (target.options.download_limit)
            .or(self.settings.download_limit)
            .filter(|&r| r > 0)
            .map(RateLimit::new);
        let mut attempt = 0;
        // The line's URL and its mirrors, tried in rounds until one succeeds: a failed attempt
        // moves on to the next source at once (a mirror is there so that nobody waits on a
        // dead server), a source whose failure may pass is asked again next round, after the
        // backoff, up to --retries more rounds, and one whose failure is final (a 404) is not.
        let mut asking: Vec<usize> = (0..=target.mirrors.len()).collect();
        let mut round = 0;
        'rounds: loop {
            round += 1;
            // Whether every failure of this round came with a Retry-After, whose host pause
            // is the wait before the next one, and the longest such pause.
            let mut all_asked_to_wait = true;
            let mut asked_wait = Duration::ZERO;
            let mut at = 0;
            while let Some(&index) = asking.get(at) {
                let source = match index {
                    0 => &target.url,
                    _ => &target.mirrors[index - 1],
                };
                let mirror;
                let target = if index == 0 {
                    target
                } else {
                    mirror = Target {
                        url: source.clone(),
                        mirrors: Vec::new(),
                        options: target.options.clone(),
                    };
                    &mirror
                };
                let host = host_key(source);
                if attempt > 0 {
                    // Each attempt reports afresh; only the timing covers them all.
                    outcome = Outcome::new(job, started);
                }
                attempt += 1;
                let permit = self.hosts.acquire(&host);
                let result = match &permit {
                    Some(_) => self.fetch_into(
                        job,
                        target,
                        start,
                        &mut outcome,
                        (live.as_deref(), own_rate.as_ref()),
                        &mut carried,
                    ),
                    None => Err(Failure::new(
                        ErrorKind::Cancelled,
                        format!("not started: {}", cancel::why()),
                    )),
                };
                outcome.attempts = attempt;
                if index > 0 {
                    outcome.mirror = Some(redact(source));
                }
                let Err(failure) = result else {
                    self.drop_aria2_control(job, &outcome);
                    break 'rounds;
                };
                let transient = self.settings.retry.is_transient(&failure, outcome.status);
                let retry_after = failure.retry_after;
                let ends_all = cancel::requested() || !failure.kind.another_source_may_do();
                outcome.error = Some(failure);
                if ends_all {
                    break 'rounds;
                }
                if !transient {
                    asking.remove(at);
                    continue;
                }
                if let Some(asked) = retry_after {
                    // The server asked everyone to wait: hold back the whole host, not just
                    // this URL. The pause is set before the permit goes (at the end of this
                    // turn), so no other fetch to the host slips in between.
                    let pause = self.settings.retry.delay(round, Some(asked));
                    asked_wait = asked_wait.max(pause);
                    self.hosts.pause(&host, pause);
                } else {
                    all_asked_to_wait = false;
                }
                at += 1;
            }
            // aria2's max-tries= on the line counts attempts in all, as wget's -t does.
            let retries = (target.options.tries).map_or(self.settings.retry.retries, |t| t - 1);
            if asking.is_empty() || round > retries || cancel::requested() {
                break;
            }
            let wait = match (all_asked_to_wait, target.options.retry_wait) {
                (true, _) => asked_wait,
                (false, None) => self.settings.retry.delay(round, None),
                (false, Some(base)) => self.settings.retry.delay_from(base, round),
            };
            // --retry-max-time: no retry that would start past it, as curl's.
            if !self.settings.retry.in_time(start.elapsed(), wait) {
                break;
            }
            if !all_asked_to_wait {
                sleep_unless_cancelled(wait);
            }
        }
        if let Some(progress) = &self.progress {
            progress.end(job.id);
        }
        self.leave_parts(job, &carried, &outcome);
        outcome.elapsed = start.elapsed();
        outcome
    }

    /// What a URL that failed leaves on disk. A file -c moved aside that is over --max-size
    /// goes back under its name. With `--remove-on-error`, one that failed for good leaves no
    /// part to resume (a file that was under its final name goes back there instead); one cut
    /// short by an interrupt (or `--fail-early`) keeps its part, for the run that takes it up.
    fn leave_parts(&self, job: &Job, carried: &Carried, outcome: &Outcome) {
        let asked = self
            .saver
            .as_ref()
            .is_some_and(|s| s.settings().remove_on_error);
        let failed = outcome
            .error
            .as_ref()
            .is_some_and(|f| f.kind != ErrorKind::Cancelled);
        // A file -c moved aside that turns out larger than --max-size: no later -c can take
        // it up, so it goes back under its name as it was, whatever --remove-on-error says.
        let too_large = outcome
            .error
            .as_ref()
            .is_some_and(|f| f.kind == ErrorKind::TooLarge);
        if let (true, Some(Planned::Skip(slot)), Some(len)) =
            (too_large, &job.planned, carried.moved)
        {
            let _ = slot.put_back(len);
            return;
        }
        if !(asked && failed) {
            return;
        }
        let slot = match &job.planned {
            Some(Planned::Save(slot) | Planned::Skip(slot)) => Some(slot),
            _ => carried.named.as_ref(),
        };
        match (slot, carried.moved) {
            // Never lose a file that was under its final name before the run.
            (Some(slot), Some(len)) => {
                let _ = slot.put_back(len);
            }
            (Some(slot), None) => slot.discard_parts(),
            (None, _) => {}
        }
    }

    /// Decides where the body goes for a job; called in input order, so names are claimed in
    /// input order.
    pub fn prepare(&self, job: &mut Job) {
        if let Some(marker) = (self.panic_on.as_deref()).and_then(|m| m.strip_prefix("prepare:")) {
            assert!(
                !job.text.contains(marker),
                "test hook: panicking for {marker}"
            );
        }
        if let Some(progress) = &self.progress {
            progress.queued();
        }
        if let Ok(target) = &job.target
            && target.url.scheme() == "https"
        {
            self.settings.tls.ready();
        }
        // --https-only: an http URL's line fails, and its http mirrors are left out.
        if let Ok(target) = &mut job.target
            && self.settings.https_only
        {
            target.mirrors.retain(|mirror| mirror.scheme() == "https");
            if target.url.scheme() != "https" {
                let why = "an http URL, and --https-only fetches https URLs only";
                job.target = Err(Failure::new(ErrorKind::InvalidUrl, why));
            }
        }
        // A line's proxy options, weighed against the run's proxies now that all are read.
        if let Ok(target) = &mut job.target
            && let Some(proxies) = &mut target.options.proxies
            && let Err(why) = proxies.settle(&self.settings.proxies)
        {
            job.target = Err(Failure::new(ErrorKind::InvalidUrl, why));
        }
        // A URL only checked (a line's dry-run=true) is saved nowhere, so claims no name.
        if let Some(saver) = &self.saver
            && !(job.target.as_ref()).is_ok_and(|t| self.spider(&t.options))
        {
            job.planned = saver.plan(job);
        }
    }

    /// `next`, unless it is an http URL a redirect leads to under `--https-only`.
    fn https_only_allows(&self, next: Url) -> Result<Url, Failure> {
        match self.settings.https_only && next.scheme() != "https" {
            true => Err(Failure::new(
                ErrorKind::Redirects,
                format!(
                    "redirect to `{}` not followed: --https-only follows https URLs only",
                    redact(&next)
                ),
            )),
            false => Ok(next),
        }
    }

    /// Whether a URL is only checked, its body not read: its line's aria2c `dry-run=`, or the
    /// run's `--spider`.
    fn spider(&self, line: &LineOptions) -> bool {
        line.dry_run.unwrap_or(self.settings.spider)
    }

    /// Whether a URL's body is asked for compressed and saved decoded: its line's
    /// `http-accept-gzip=`, or the run's `--compressed`.
    fn compressed(&self, line: &LineOptions) -> bool {
        line.compressed.unwrap_or(self.settings.compressed)
    }

    /// A URL's stall timeout: its line's `timeout=`, or the run's `--stall-timeout`.
    fn stall_timeout(&self, line: &LineOptions) -> Option<Duration> {
        line.stall_timeout.unwrap_or(self.settings.stall_timeout)
    }

    /// A URL's `--speed-limit` and `--speed-time`: its line's `lowest-speed-limit=` (0: none)
    /// over the run's `--speed-time` (30 s, curl's default, when the run has no check), or
    /// the run's.
    fn low_speed(&self, line: &LineOptions) -> Option<(u64, Duration)> {
        let run = self.settings.low_speed;
        match line.low_speed {
            None => run,
            Some(0) => None,
            Some(rate) => Some((rate, run.map_or(Duration::from_secs(30), |(_, time)| time))),
        }
    }

    /// Sends a GET for `url` and follows its redirects, returning the last response and its
    /// URL. A redirect that is not followed (too many, or to where fetchpar does not go) fails
    /// the URL with that redirect's status and URL in `outcome`.
    ///
    /// Redirects are followed here, not by ureq: its join of a Location with the request's URL
    /// is not RFC 3986's, so `?page=2` lost the last path segment, a `file:` URL became a path
    /// on the same server, and a space or a non-ASCII letter failed the URL. `Url::join`
    /// resolves as browsers and curl do. Each hop also gets the proxy for its own scheme and,
    /// like curl, keeps custom `Authorization` and `Cookie` headers only on the first URL's
    /// origin.
    fn request(
        &self,
        url: &Url,
        ask: Ask<'_>,
        outcome: &mut Outcome,
    ) -> Result<(Response, Url), Failure> {
        let started = ask.clock.unwrap_or_else(Instant::now);
        let referer = ask.line.referer.as_ref().or(self.settings.referer.as_ref());
        let mut current = url.clone();
        let mut previous = None;
        let mut hops = 0;
        // The login challenge this hop's request is sent again to answer: once only, so a
        // login the server refuses ends as its 401.
        let mut challenge: Option<RefCell<PasswordClient>> = None;
        // The same for a proxy's 407, to an http URL sent to it whole.
        let mut proxy_challenge: Option<RefCell<PasswordClient>> = None;
        loop {
            let again = challenge.is_some() || proxy_challenge.is_some();
            let budget = match (hops, again, ask.clock, self.settings.timeout) {
                // The Agent's own whole-URL timeout covers the first request, unless the
                // URL's clock started before it (a segment's request).
                (0, false, None, _) | (_, _, _, None) => None,
                (_, _, _, Some(whole)) => match whole.checked_sub(started.elapsed()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => {
                        let out = classify(ureq::Error::Timeout(ureq::Timeout::Global));
                        return Err(where_led(out, &current, hops, outcome));
                    }
                },
            };
            if hops > 0 && cancel::requested() {
                return Err(Failure::new(
                    ErrorKind::Cancelled,
                    format!("{} while following redirects", cancel::why()),
                ));
            }
            let cookie = self.jar.header_for(&current);
            let hop = Hop {
                cookie: cookie.as_deref(),
                referer: referer.and_then(|r| r.for_request(url, previous.as_ref())),
                budget,
                same_origin: hops == 0 || current.origin() == url.origin(),
                challenge: challenge.as_ref(),
                proxy_challenge: proxy_challenge.as_ref(),
            };
            let once = |head: bool| self.request_once(&current, head, ask, &hop);
            let head = self.spider(ask.line);
            let mut response = match once(head) {
                // Sent again at once, on a new connection or another checked one: the server
                // closed the kept-alive one before this request (see `transport::Stale`).
                Err(err) if transport::went_stale(&err) => once(head),
                sent => sent,
            }
            .map_err(|e| where_led(classify(e), &current, hops, outcome))?;
            trace::received(response.version(), response.status(), response.headers());
            // A server that does not take HEAD is asked with GET, whose body goes unread.
            if head && matches!(response.status().as_u16(), 405 | 501) {
                response =
                    once(false).map_err(|e| where_led(classify(e), &current, hops, outcome))?;
                trace::received(response.version(), response.status(), response.headers());
            }
            // Whatever the status: a login's redirect and a 503 asking to come back both set
            // cookies the next request needs.
            self.jar.keep(&current, response.headers());
            let same_origin = hop.same_origin;
            // A proxy's 407 asking for Digest, to a request that has its login to answer with.
            let (proxies, line_proxies) = (&self.settings.proxies, ask.line.proxies.as_deref());
            let whole = (proxies.for_line(line_proxies, &current))
                .filter(|p| proxies.in_absolute_form(line_proxies, p, &current));
            if let Some(proxy) = whole {
                match proxy_challenge.take() {
                    None if response.status() == 407 => {
                        let values = response.headers().get_all("proxy-authenticate");
                        if let Some(asked) = self.auth.proxy_challenge(proxy, values) {
                            proxy_challenge = Some(RefCell::new(asked));
                            drain_redirect(response);
                            continue;
                        }
                    }
                    Some(answered) if response.status() != 407 => {
                        self.auth.keep_proxy(proxy, answered.into_inner());
                    }
                    _ => {}
                }
            }
            // A 401 asking for Digest, to a request that has a login to answer it with.
            match challenge.take() {
                None if response.status() == 401
                    && (self.login(&current, ask.line, same_origin)).is_some() =>
                {
                    if let Some(asked) = self.auth.challenge(&current, response.headers()) {
                        challenge = Some(RefCell::new(asked));
                        drain_redirect(response);
                        continue;
                    }
                }
                Some(answered) if response.status() != 401 => {
                    self.auth.keep(&current, answered.into_inner());
                }
                _ => {}
            }
            // A range sent in a transfer coding cannot be put in its place in a file (nothing
            // says what the coding covers): only a whole body is read through one.
            if (ask.from > 0 || ask.to.is_some()) && response.status() == 206 {
                match transfer_codings(&response) {
                    Ok(codings) if codings.is_empty() => {}
                    Ok(_) => {
                        let why = "a range was answered in a transfer coding (Transfer-Encoding), \
                                   which fetchpar undoes only on a whole body";
                        let failure = Failure::new(ErrorKind::Protocol, why);
                        return Err(where_led(failure, &current, hops, outcome));
                    }
                    Err(failure) => return Err(where_led(failure, &current, hops, outcome)),
                }
            }
            // RFC 9110's redirections with a Location to follow: not 304 Not Modified, nor the
            // deprecated 305 and unused 306.
            if !matches!(response.status().as_u16(), 300..=303 | 307 | 308) {
                return Ok((response, current));
            }
            // A redirect without a Location is an answer like any other, as curl takes it.
            let Some(location) = response.headers().get("location") else {
                return Ok((response, current));
            };
            let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
            let next = if hops == self.settings.max_redirects {
                let max = self.settings.max_redirects;
                Err(Failure::new(
                    ErrorKind::Redirects,
                    format!("too many redirects: more than {max} (--max-redirects)"),
                ))
            } else {
                next_url(&current, &location).and_then(|next| self.https_only_allows(next))
            };
            match next {
                Ok(next) => previous = Some(std::mem::replace(&mut current, next)),
                Err(failure) => {
                    outcome.status = Some(response.status().as_u16());
                    outcome.final_url = Some(redact(&current));
                    return Err(failure);
                }
            }
            hops += 1;
            drain_redirect(response);
        }
    }

    /// The login a request to `url` goes with, if any: none when an Authorization is given
    /// with -H (or the line's `header=`), which wins over any login, as in curl, and like the
    /// login of --user goes to the line's own origin only.
    fn login<'a>(
        &'a self,
        url: &Url,
        line: &'a LineOptions,
        same_origin: bool,
    ) -> Option<Cow<'a, Login>> {
        let given = (self.settings.headers.iter().chain(&line.headers))
            .any(|(name, _)| name == header::AUTHORIZATION);
        match (same_origin, given, &line.login) {
            (true, true, _) => None,
            // aria2's http-user= and http-passwd= on the line: for its own origin, as --user's.
            (true, false, Some(login)) => Some(Cow::Borrowed(login)),
            _ => self.auth.login_for(url, same_origin),
        }
    }

    /// The Agent for `url`'s host and port going through `proxy`, for a line that names its
    /// own proxies: one of [`Fetcher::line_agents`] when the run would send it another way.
    fn agent_via(&self, url: &Url, proxy: Option<&Proxy>) -> Cow<'_, Agent> {
        if proxy != self.settings.proxies.for_url(url) {
            let mut made = self
                .line_agents
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let agent = made
                .entry(proxy.cloned())
                .or_insert_with(|| (self.make_line_agent)());
            return Cow::Owned(agent.clone());
        }
        Cow::Borrowed(self.agent(url))
    }

    /// The Agent for `url`'s host and port: always the same one.
    fn agent(&self, url: &Url) -> &Agent {
        let key = (url.host_str(), url.port_or_known_default());
        &self.agents[self.host_hash.hash_one(key) as usize % self.agents.len()]
    }

    /// One request, no redirect followed: a GET, or a HEAD when `use_head`.
    fn request_once(
        &self,
        url: &Url,
        use_head: bool,
        Ask {
            from,
            to,
            validator,
            since,
            line,
            clock: _,
            head_within,
        }: Ask<'_>,
        hop: &Hop<'_>,
    ) -> Result<Response, ureq::Error> {
        let Hop {
            cookie,
            ref referer,
            budget,
            same_origin,
            challenge,
            proxy_challenge,
        } = *hop;
        let line_headers = &line.headers;
        let proxy = (self.settings.proxies).for_line(line.proxies.as_deref(), url);
        let agent = match line.proxies.as_deref().is_some_and(LineProxies::any) {
            true => self.agent_via(url, proxy),
            false => Cow::Borrowed(self.agent(url)),
        };
        // An http URL goes to an HTTP proxy as a request naming the whole URL, not through a
        // CONNECT tunnel (see `proxy::Absolute`): ureq is not told of the proxy.
        let (absolute, proxy) = match proxy {
            Some(p)
                if (self.settings.proxies).in_absolute_form(line.proxies.as_deref(), p, url) =>
            {
                (Some(p), None)
            }
            proxy => (None, proxy),
        };
        // Credentials in the URL go as an Authorization that this code makes (see `auth`):
        // ureq sent them still percent-encoded (`p%40ss` for the password `p@ss`), where curl
        // decodes them.
        let login = self.login(url, line, same_origin);
        let bare;
        let target = if url.username().is_empty() && url.password().is_none() {
            url.as_str()
        } else {
            let mut without = url.clone();
            let _ = without.set_username("");
            let _ = without.set_password(None);
            bare = without;
            bare.as_str()
        };
        let method = if use_head { "HEAD" } else { "GET" };
        let login = login.map(|login| {
            // Digest's `uri` is the request line's: the path, or the whole URL to a proxy.
            let uri = match absolute {
                Some(_) => target,
                None => &url[url::Position::BeforePath..url::Position::AfterQuery],
            };
            let mut fresh = challenge.map(RefCell::borrow_mut);
            self.auth
                .authorization(url, &login, (method, uri), fresh.as_deref_mut())
        });
        let mut request = if use_head {
            agent.head(target)
        } else {
            agent.get(target)
        };
        let head = self.head_fixed
            + url.as_str().len()
            + validator.map_or(0, str::len)
            + cookie.map_or(0, |c| c.len() + "Cookie: \r\n".len())
            + referer
                .as_ref()
                .map_or(0, |r| r.len() + "Referer: \r\n".len())
            + login
                .as_ref()
                .map_or(0, |b| b.len() + "Authorization: \r\n".len())
            + (line_headers.iter())
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum::<usize>();
        let proxy_login = absolute.and_then(|proxy| {
            // Digest's `uri` is the request line's target: the whole URL, as it is written.
            let uri = format!(
                "http://{}{}",
                &url[url::Position::BeforeHost..url::Position::AfterPort],
                &url[url::Position::BeforePath..url::Position::AfterQuery]
            );
            let mut fresh = proxy_challenge.map(RefCell::borrow_mut);
            (self.auth).proxy_authorization(proxy, (method, &uri), fresh.as_deref_mut())
        });
        // --proxy-header: sent to a proxy an http URL goes to whole, as curl sends them.
        let proxy_headers = match absolute {
            Some(_) => &self.settings.proxy_headers[..],
            None => &[],
        };
        let head = head
            + absolute.map_or(0, |_| url.as_str().len())
            + (proxy_login.as_ref()).map_or(0, |b| b.len() + "Proxy-Authorization: \r\n".len())
            + (proxy_headers.iter())
                .map(|(name, value)| name.as_str().len() + value.len() + 4)
                .sum::<usize>();
        let own_timeouts = line.stall_timeout.is_some() || line.connect_timeout.is_some();
        let own_coding = line.compressed.is_some();
        if head > OUTPUT_BUFFER
            || proxy.is_some()
            || budget.is_some()
            || head_within.is_some()
            || own_timeouts
            || own_coding
        {
            let mut config = request.config();
            if let Some(compressed) = line.compressed {
                let saving = self.saver.is_some();
                config =
                    config.accept_encoding(accept_encoding(&self.settings, saving, compressed));
            }
            if let Some(connect) = line.connect_timeout {
                config = config.timeout_resolve(connect).timeout_connect(connect);
            }
            if let Some(stall) = line.stall_timeout {
                config = config.timeout_per_read(stall);
            }
            if head_within.is_some() {
                config = config.timeout_recv_response(head_within);
            }
            if head > OUTPUT_BUFFER {
                // A request-level buffer size keeps this request off the shared pool's
                // connections.
                config = config.output_buffer_size(head.next_power_of_two());
            }
            if let Some(proxy) = proxy {
                config = config.proxy(Some(proxy.clone()));
            }
            if budget.is_some() {
                config = config.timeout_global(budget);
            }
            request = config.build();
        }
        let mut referred = false;
        let mut cookie = cookie;
        // A header the list gives for this URL takes the place of a -H one of the same name,
        // and a line's `referer=` that of a -H Referer.
        let given = (self.settings.headers.iter())
            .filter(|(name, _)| !line_headers.iter().any(|(line, _)| line == name))
            .filter(|(name, _)| line.referer.is_none() || name != header::REFERER);
        for (name, value) in given.chain(line_headers) {
            if !same_origin && (name == header::AUTHORIZATION || name == header::COOKIE) {
                continue;
            }
            referred |= name == header::REFERER;
            // Only a Cookie header takes the kept cookies along (a tuple with `cookie.take()`
            // in it once took them for any header, and -H X-Any or -u lost them).
            if name == header::COOKIE
                && let Some(kept) = cookie.take()
            {
                // One Cookie header (RFC 6265 5.4): the given cookies, then the kept ones.
                let merged = [value.as_bytes(), b"; ", kept.as_bytes()].concat();
                request = request.header(name, merged);
                continue;
            }
            request = request.header(name, value);
        }
        if let Some(kept) = cookie {
            request = request.header(header::COOKIE, kept);
        }
        // A Referer given as a header wins over --referer, as -H wins over curl's -e.
        if let (Some(referer), false) = (referer, referred) {
            request = request.header(header::REFERER, referer);
        }
        if let Some(login) = login {
            request = request.header(header::AUTHORIZATION, login);
        }
        if let Some(login) = proxy_login {
            request = request.header("Proxy-Authorization", login);
        }
        for (name, value) in proxy_headers {
            request = request.header(name, value);
        }
        if let Some(since) = since {
            request = request.header("If-Modified-Since", httpdate::fmt_http_date(since));
        }
        // With --compressed, a range is asked of the file as it is stored (ranges of a
        // compressed body cannot be decoded apart), so it continues the decoded part.
        if (from > 0 || to.is_some())
            && self.compressed(line)
            && self.saver.is_some()
            && !(self.settings.headers.iter().chain(line_headers))
                .any(|(name, _)| name == header::ACCEPT_ENCODING)
        {
            request = request.header(header::ACCEPT_ENCODING, "identity");
        }
        if let Some(to) = to {
            request = request.header("Range", format!("bytes={from}-{to}"));
            if let Some(validator) = validator {
                request = request.header("If-Range", validator);
            }
        } else if from > 0 {
            request = request.header("Range", format!("bytes={from}-"));
            if let Some(validator) = validator {
                // The server sends the rest only if the file is unchanged; otherwise all of it.
                request = request.header("If-Range", validator);
            }
        }
        match absolute {
            Some(proxy) => proxy::absolute(proxy, url, || request.call()),
            None => request.call(),
        }
    }

    /// With `-c`, the length of a file under its final name to be continued, as `wget -c` and
    /// `aria2c -c` continue one that another program (or a browser) left cut off: when the
    /// line gives neither a size nor a checksum, which decide without a request (see
    /// [`keep_saved`]), and no part of fetchpar's own is beside it. An empty file is fetched
    /// anew (`Some(0)`); a link or a folder under the name is kept, as before.
    fn saved_to_continue(&self, planned: Option<&Planned>, line: &LineOptions) -> Option<u64> {
        let resume = self.saver.as_ref()?.resumes(line);
        let Some(Planned::Skip(kept)) = planned else {
            return None;
        };
        if !resume {
            return None;
        }
        // aria2c's download in progress (`NAME.aria2` beside it) that could not be taken up
        // ([`crate::save::take_up_aria2`]): aria2c sizes the file whole before its pieces
        // arrive, in any order, so its length says nothing of what is there (nor does a
        // size= that matches it). Fetched anew, as if empty.
        let unfinished = aria2_control(&kept.path).is_some() && kept.path.is_file();
        if unfinished && kept.part.symlink_metadata().is_err() {
            return Some(0);
        }
        if line.size.is_some() || line.checksum.is_some() {
            return None;
        }
        if kept.part.symlink_metadata().is_ok() {
            return None;
        }
        let meta = kept.path.symlink_metadata().ok()?;
        meta.is_file().then_some(meta.len())
    }

    /// After -c put a whole file in place of one aria2c left unfinished, removes aria2c's
    /// control file for it (`NAME.aria2`), which describes a download that is now done: left
    /// there, it would have the next `fetchpar -c` fetch the file again, and aria2c fetch again
    /// the pieces it lists as missing.
    fn drop_aria2_control(&self, job: &Job, outcome: &Outcome) {
        let Ok(target) = &job.target else {
            return;
        };
        let resume = self
            .saver
            .as_ref()
            .is_some_and(|s| s.resumes(&target.options));
        let Some(Planned::Skip(kept)) = job.planned.as_ref().filter(|_| resume) else {
            return;
        };
        let replaced = !outcome.skipped && outcome.error.is_none() && outcome.path.is_some();
        if let (true, Some(control)) = (replaced, aria2_control(&kept.path)) {
            let _ = fs::remove_file(control);
        }
    }

    fn fetch_into(
        &self,
        job: &Job,
        target: &Target,
        start: Instant,
        outcome: &mut Outcome,
        (live, own_rate): (Option<&Live>, Option<&RateLimit>),
        carried: &mut Carried,
    ) -> Result<(), Failure> {
        let url = &target.url;
        // What the line says the saved body must be: its digest and its size.
        let expected = &target.options;
        // Digests are computed only when something checks or shows them: SHA-256 for --json
        // and --checksums, and the list's checksum of whatever kind.
        let hash = self.saver.as_ref().is_some_and(|s| s.settings().hash);
        let check = expected.checksum.as_ref().map(|c| c.algorithm);
        // -c on a file aria2c left unfinished: the pieces it wrote are kept, as a split of
        // fetchpar's own that stopped short, and only the others are asked for.
        if let Some(Planned::Skip(kept)) = &job.planned
            && self.saver.as_ref().is_some_and(|s| s.resumes(expected))
            && let Some(len) = crate::save::take_up_aria2(kept).map_err(|e| disk(e, &kept.path))?
        {
            carried.moved = Some(len);
            carried.part_written = true;
        }
        // -c on a file under its final name that nothing on the line can check: its length.
        let continuing = self.saved_to_continue(job.planned.as_ref(), expected);
        let mut slot = match &job.planned {
            Some(Planned::Skip(kept))
                if continuing.is_none() && keep_saved(kept, expected, outcome)? =>
            {
                return Ok(());
            }
            Some(Planned::Skip(wrong)) => Some(wrong.clone()),
            Some(Planned::Refuse(failure)) => return Err(failure.clone()),
            Some(Planned::Save(slot)) => Some(slot.clone()),
            None => carried.named.clone(),
        };
        // A retry resumes the part an earlier attempt wrote, as wget's retries do (with the
        // same If-Range check as -c), so a large download cut off near its end, or out of
        // --max-time, is not fetched again from zero.
        let resuming =
            carried.part_written || self.saver.as_ref().is_some_and(|s| s.resumes(expected));
        // A split download that stopped short is taken up where each of its ranges stopped.
        if let (true, Some(kept)) = (resuming, &slot)
            && let Some((part, segments)) =
                SplitPart::resume(kept, hash, check).map_err(|e| disk(e, &kept.part))?
        {
            carried.part_written = true;
            let taken = (kept, part, segments);
            let how = (start, live, own_rate);
            let resumed = (expected, &mut carried.moved);
            if let Some(ended) = self.resume_split(job, target, taken, resumed, outcome, how) {
                return ended;
            }
        }
        let mut from = match (&slot, continuing) {
            (_, Some(saved)) => saved,
            (Some(slot), None) if resuming => slot.part_len(),
            _ => 0,
        };
        // A file another program left has no validator of its own (nor has wget -c one).
        let old_validator = (slot.as_ref())
            .filter(|_| from > 0 && continuing.is_none())
            .and_then(Slot::validator);
        // -N: the file already saved is asked for only if the server's is newer.
        let since = slot.as_ref().and_then(|s| s.since);
        let conditional = since.is_some() && from == 0;
        // When this attempt's answer was asked for: a split body's later requests count their
        // time limit from here.
        let mut asked = Instant::now();
        let (mut response, mut final_url) = self.request(
            url,
            Ask::part(from, old_validator.as_deref(), since, &target.options),
            outcome,
        )?;
        let mut append = false;
        let mut whole = false;
        // What the answer makes of a file under its final name that -c continues: the URL's
        // failure when it cannot be continued (the file kept as it is).
        let mut not_continued = None;
        if let (Some(saved @ 1..), Some(slot)) = (continuing, &slot) {
            match Continued::of(&response, saved, self.compressed(expected)) {
                Continued::Rest => {
                    // Moved aside while it grows, as fetchpar's own downloads grow: cut off
                    // again, it never carries the final name (and -c takes it up again), with
                    // the validator for If-Range. Only a file that can take the rest is moved:
                    // a read-only one stays.
                    let appendable = fs::OpenOptions::new().append(true).open(&slot.path);
                    appendable.map_err(|e| disk(e, &slot.path))?;
                    fs::rename(&slot.path, &slot.part).map_err(|e| disk(e, &slot.part))?;
                    carried.moved = Some(from);
                    if let Some(validator) = validator(&response) {
                        crate::save::write_new(&slot.meta, validator.as_bytes())
                            .map_err(|e| disk(e, &slot.meta))?;
                    }
                    append = true;
                }
                // wget's "already fully retrieved; nothing to do".
                Continued::Whole => whole = true,
                Continued::Not(why) => {
                    let message = format!(
                        "{} is there with {saved} bytes and cannot be continued: {why}; it is \
                         kept as it is, as wget -c keeps one (remove it to fetch the file anew)",
                        slot.path.display()
                    );
                    not_continued = Some(Failure::new(ErrorKind::Exists, message));
                }
                // An error status is the URL's failure, as for any request.
                Continued::Failed => from = 0,
            }
        } else if from > 0 {
            let status = response.status().as_u16();
            // A range the server compressed anyway cannot continue a decoded part.
            let plain = !(self.compressed(expected) && encoded(&response));
            if status == 206 && content_range_start(&response) == Some(from) && plain {
                append = true;
            } else if status == 416 && content_range_total(&response) == Some(from) {
                // Nothing after the part's last byte: it is the whole file (wget's "already
                // fully retrieved"), cut off after that byte or left by a run stopped before
                // its rename. It is finished as it is.
                whole = true;
            } else if status == 206 || status == 416 {
                // A range we did not ask for, or the part is longer than the file now is:
                // neither can be trusted, so start over with a plain request.
                from = 0;
                let ask = Ask::part(0, None, since, &target.options);
                asked = Instant::now();
                (response, final_url) = self.request(url, ask, outcome)?;
            } else {
                // 200: the server ignores ranges or the file changed (If-Range): start over.
                from = 0;
            }
        } else if continuing == Some(0) {
            // An empty file was asked for whole: kept if the server's is empty too.
            whole = response.status().as_u16() == 200 && content_length(&response) == Some(0);
        }
        outcome.ttfb = Some(start.elapsed());
        let status = response.status();
        outcome.status = Some(status.as_u16());
        // From the header rather than ureq's body, which gives a HEAD answer (--spider) none.
        outcome.length = content_length(&response);
        // As sent, even where not ASCII: the lines and JSON escape what a terminal would obey.
        outcome.content_type = (response.headers().get("content-type"))
            .map(|v| crate::links::shorten(String::from_utf8_lossy(v.as_bytes()).trim()));
        // The line's own URL is redacted already; a redirect's, or a mirror's, is not.
        let own = job.target.as_ref().is_ok_and(|t| t.url == final_url);
        outcome.final_url = Some(if own {
            outcome.url.clone()
        } else {
            redact(&final_url)
        });
        if let Some(failure) = not_continued {
            return Err(failure);
        }
        if let (true, Some(slot), Some(_)) = (whole, &slot, continuing) {
            // Already the whole file, wget's "already fully retrieved; nothing to do".
            outcome.path = Some(slot.path.display().to_string());
            outcome.skipped = true;
            return Ok(());
        }
        if let (true, Some(slot)) = (whole, &slot) {
            let writer = PartWriter::append(slot, hash, check).map_err(|e| disk(e, &slot.part))?;
            let label = self.label(&final_url);
            return finish_saved(writer, expected, outcome, label.as_deref()).map(drop);
        }
        let remote_time = (self.saver.as_ref())
            .is_some_and(|s| s.remote_time(expected))
            .then(|| header(&response, "last-modified"))
            .flatten()
            .and_then(|v| httpdate::parse_http_date(&v).ok());
        // Not modified: a 304, or a server that ignores the condition and sends a file no newer
        // (wget's -N compares the times itself). The saved file stays as it is.
        if let (true, Some(since), Some(slot)) = (conditional, since, &slot)
            && (status.as_u16() == 304
                || (status.as_u16() == 200 && remote_time.is_some_and(|t| t <= since)))
        {
            outcome.path = Some(slot.path.display().to_string());
            outcome.skipped = true;
            return Ok(());
        }
        // Success is a 2xx, or a 3xx that is not followed (curl takes one without a Location
        // as an answer). Anything else is a failure whose body is not saved: 4xx and 5xx, a 101
        // to a request that asked for no upgrade, and codes outside HTTP's 100-599 (LinkedIn
        // answers clients it refuses with a 999 and an error page).
        let failed_status = !(200..400).contains(&status.as_u16());
        let retry_after = header(&response, "retry-after");
        // --spider reads no body: a HEAD's answer has none (ureq has put its connection back
        // for reuse already), and a GET's, where HEAD was refused, goes with its connection.
        if self.spider(expected) {
            drop(response);
            return match failed_status {
                true => Err(status_failure(status, retry_after)),
                false => Ok(()),
            };
        }
        if let (Some(saver), None, None, false) = (&self.saver, &slot, &job.planned, failed_status)
        {
            let disposition = response.headers().get("content-disposition");
            let disposition = disposition.map(|v| v.as_bytes());
            match saver.plan_from_response(url, &final_url, expected, disposition) {
                Planned::Skip(kept) if keep_saved(&kept, expected, outcome)? => return Ok(()),
                Planned::Skip(wrong) | Planned::Save(wrong) => {
                    carried.named = Some(wrong.clone());
                    slot = Some(wrong);
                }
                Planned::Refuse(failure) => return Err(failure),
            }
        }
        // A body that is shown is decoded, and one saved with --compressed; its
        // Content-Length is then not its length. A shown body in a coding fetchpar cannot
        // undo, or did not ask for (brotli's window may take 16 MiB), is shown as sent; one to
        // be saved decoded fails, as curl's --compressed does.
        let compressed = self.compressed(expected);
        let codings = match (self.saver.is_none() || compressed).then(|| encoding(&response)) {
            Some(Ok(codings))
                if compressed || codings.iter().all(|&c| c == decode::Coding::Gzip) =>
            {
                codings
            }
            Some(Err(reason)) if self.saver.is_some() && !failed_status => {
                return Err(Failure::new(ErrorKind::Protocol, reason));
            }
            Some(_) | None => Vec::new(),
        };
        // A transfer coding is undone first (it was applied last), whatever the content's.
        let codings = [codings, transfer_codings(&response)?].concat();
        let decoding = !codings.is_empty();
        let length = response.body().content_length().filter(|_| !decoding);
        let limit = self.settings.max_size.map(|max| max.saturating_sub(from));
        if let (Some(limit), Some(length)) = (limit, length)
            && length > limit
            && !failed_status
        {
            return Err(too_large(self.settings.max_size));
        }
        let first = if append { from } else { 0 };
        // The line's size of the file (a Metalink `<size>`): a body that says it is another
        // size is not the file, and one that runs on past it is stopped there.
        let listed = expected.size.filter(|_| !failed_status);
        if let (Some(size), Some(length)) = (listed, length)
            && first + length != size
        {
            return Err(crate::save::wrong_size(first + length, size));
        }
        let (limit, sized) = match (listed.map(|size| size.saturating_sub(first)), limit) {
            (Some(left), limit) if limit.is_none_or(|limit| left < limit) => (Some(left), listed),
            (_, limit) => (limit, None),
        };
        // --split: a body large enough, from a server that takes ranges, is fetched over
        // several connections at once.
        if let (Some(slot), false) = (&slot, failed_status)
            && let Some(segments) = self.segments(target, &response, first, length)
        {
            if let (Some(live), Some(length)) = (live, length) {
                live.expect(length);
            }
            let tag = validator(&response).or(old_validator);
            let part = SplitPart::start(slot, append, tag.as_deref(), hash, check)
                .map_err(|e| disk(e, &slot.part))?;
            carried.part_written = true;
            // A part started afresh holds nothing of a file -c moved aside.
            carried.moved = carried.moved.filter(|_| append);
            outcome.segments = Some(segments.count());
            let sources = split_sources(job, url, &final_url);
            let split = Split {
                sources: &sources,
                line: &target.options,
                validator: tag.as_deref(),
                clock: asked,
                segments: &segments,
                part: &part,
                live,
                rate: own_rate,
                connections: segments.count(),
                head_wait: head_wait(asked.elapsed()),
            };
            let body = response.into_body().into_reader();
            self.seen.note(&final_url);
            let result = self.fetch_split(job, &split, body, 0, outcome);
            let empty = !append && segments.untouched();
            let writer = end_split(result, part, &segments, empty, slot)?;
            let label = self.label(&final_url);
            return saved(writer, expected, outcome, remote_time, label.as_deref());
        }
        let mut writer = match (&slot, failed_status) {
            (Some(slot), false) => {
                let opened = if append {
                    PartWriter::append(slot, hash, check)
                } else {
                    PartWriter::fresh(slot, validator(&response).as_deref(), hash, check)
                };
                let writer = opened.map_err(|e| disk(e, &slot.part))?;
                carried.part_written = true;
                carried.moved = carried.moved.filter(|_| append);
                Some(writer)
            }
            _ => None,
        };
        if let (Some(live), Some(length)) = (live, length) {
            live.expect(length);
        }
        // An error page is read for its prefix, not kept: past a bound it is not worth the time,
        // whatever a hostile server keeps sending.
        let limit = if failed_status {
            Some(limit.unwrap_or(u64::MAX).min(ERROR_BODY_LIMIT))
        } else {
            limit
        };
        let body = response.into_body().into_reader();
        let reuse = self.seen.note(&final_url);
        let drained = if decoding {
            let stall = self.stall_timeout(&target.options);
            let patience = patience(stall, self.settings.timeout, asked);
            let mut body = decode::decoded(&codings, body, patience);
            let ends = Ends {
                rate: own_rate,
                sized,
                ..self.ends(&target.options, None, limit, reuse)
            };
            let writer = writer.as_mut().map(|w| w as &mut dyn Sink);
            self.drain(&mut body, ends, outcome, writer, live)
        } else {
            let mut body = body;
            let ends = Ends {
                rate: own_rate,
                sized,
                ..self.ends(&target.options, length, limit, reuse)
            };
            let writer = writer.as_mut().map(|w| w as &mut dyn Sink);
            self.drain(&mut body, ends, outcome, writer, live)
        };
        match drained {
            Ok(()) => {}
            // The status says what went wrong; how the error page ended adds nothing.
            Err(failure) if failed_status && failure.kind != ErrorKind::Cancelled => {}
            Err(failure) => {
                // A part cut short by the network is kept for `--continue`; one that is too
                // large would only be too large again, and an empty one holds nothing.
                if let Some(writer) = writer
                    && (failure.kind == ErrorKind::TooLarge || writer.is_empty())
                {
                    writer.discard();
                }
                return Err(failure);
            }
        }
        if failed_status {
            return Err(status_failure(status, retry_after));
        }
        match writer {
            Some(writer) => {
                let label = self.label(&final_url);
                saved(writer, expected, outcome, remote_time, label.as_deref())
            }
            // A body that is shown, not saved, ended short of the file's size (one sent
            // without a length: a saved one is checked as its part is put in place).
            None => match listed {
                Some(size) if outcome.bytes != size => {
                    Err(crate::save::wrong_size(outcome.bytes, size))
                }
                _ => Ok(()),
            },
        }
    }

    /// Streams the body, counting bytes, keeping only the prefix, and writing to the part file
    /// when saving. More than `limit` bytes fail it (`too_large`), with none of them kept.
    fn drain(
        &self,
        body: &mut impl Read,
        ends: Ends,
        outcome: &mut Outcome,
        writer: Option<&mut dyn Sink>,
        live: Option<&Live>,
    ) -> Result<(), Failure> {
        // A small body gets a small buffer: the rest would be zeroed and never used. A saved
        // body is gathered into larger pieces: fewer, larger writes to the file.
        let chunk = if writer.is_some() {
            SAVE_CHUNK
        } else if ends.length.is_some_and(|n| n < LARGE_BODY) {
            READ_CHUNK
        } else {
            READ_CHUNK_LARGE
        };
        let want = ends
            .length
            .map_or(chunk, |n| (n as usize).clamp(4096, chunk));
        READ_BUF.with_borrow_mut(|buf| {
            if buf.len() < want {
                buf.resize(want, 0);
            }
            self.drain_with(body, ends, outcome, writer, live, &mut buf[..want])
        })
    }

    /// Where reading a body of `length` bytes stops, given the most it may have (`limit`) and
    /// whether its connection is worth keeping (`reuse`, see [`crate::reuse`]). A connection
    /// that will not be reused is closed by reading the body's exact length and no further:
    /// one to an origin not fetched from before, and any once no job is left, which then
    /// closes alongside the fetches still running instead of all at once at exit (2,000 small
    /// files: ~6 ms sooner). `length` is the Content-Length only for a body read as sent; a
    /// decoded one is read to its end.
    fn ends(
        &self,
        line: &LineOptions,
        length: Option<u64>,
        limit: Option<u64>,
        reuse: bool,
    ) -> Ends<'static> {
        Ends {
            close_after: length.filter(|_| !reuse || self.input_done.load(Ordering::Relaxed)),
            limit: limit.unwrap_or(u64::MAX),
            sized: None,
            stop: None,
            rate: None,
            low_speed: self.low_speed(line),
            length,
        }
    }

    /// Reads the body to its end, or only `close_after` bytes when given (the caller then
    /// drops the body unfinished, which closes its connection instead of pooling it).
    fn drain_with(
        &self,
        body: &mut impl Read,
        Ends {
            close_after,
            limit,
            sized,
            stop,
            rate: own_rate,
            low_speed,
            length,
        }: Ends,
        outcome: &mut Outcome,
        mut writer: Option<&mut dyn Sink>,
        live: Option<&Live>,
        buf: &mut [u8],
    ) -> Result<(), Failure> {
        // Bytes read into `buf` and not yet written.
        let mut filled = 0;
        let mut received = 0u64;
        // --speed-limit: when the current span started, and `received` then.
        let mut span = (Instant::now(), 0u64);
        let result = loop {
            if close_after == Some(received) {
                break Ok(());
            }
            if cancel::requested() || stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break Err(Failure::new(
                    ErrorKind::Cancelled,
                    format!("{} while downloading", cancel::why()),
                ));
            }
            // Under --limit-rate or --max-download-limit, no read larger than a budget's burst;
            // and none past where reading stops (a segment's end, in the middle of a split).
            let mut end = buf.len();
            for rate in [self.rate.as_ref(), own_rate].into_iter().flatten() {
                end = end.min(filled + rate.chunk());
            }
            if let Some(stop_at) = close_after {
                end = end.min(filled + (stop_at - received).min(buf.len() as u64) as usize);
            }
            let n = match body.read(&mut buf[filled..end]) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => break Err(cut_short(err, received, length)),
            };
            if received + n as u64 > limit {
                break Err(match sized {
                    Some(size) => crate::save::past_size(size),
                    None => too_large(self.settings.max_size),
                });
            }
            for rate in [self.rate.as_ref(), own_rate].into_iter().flatten() {
                rate.take(n, &cancel::requested);
            }
            if let Some((least, time)) = low_speed
                && span.0.elapsed() >= time
            {
                let got = received + n as u64 - span.1;
                if (got as f64) < least as f64 * time.as_secs_f64() {
                    break Err(too_slow(least, time));
                }
                span = (Instant::now(), received + n as u64);
            }
            let got = &buf[filled..filled + n];
            let room = self.settings.prefix.saturating_sub(outcome.prefix.len());
            outcome.prefix.extend_from_slice(&got[..n.min(room)]);
            outcome.bytes += n as u64;
            received += n as u64;
            if let Some(live) = live {
                live.add(n as u64);
            }
            filled += n;
            match writer.as_deref_mut() {
                Some(writer) if filled == buf.len() => {
                    if let Err(err) = writer.write(&buf[..filled]) {
                        return Err(disk(err, writer.file()));
                    }
                    filled = 0;
                }
                Some(_) => {}
                None => filled = 0,
            }
        };
        // What arrived is written even when the fetch failed, so a part file kept for -c
        // holds every byte received.
        if let Some(writer) = writer
            && filled > 0
            && let Err(err) = writer.write(&buf[..filled])
        {
            return Err(disk(err, writer.file()));
        }
        result
    }
}

type Response = ureq::http::Response<ureq::Body>;

/// What a request asks for beyond the URL: the rest of a part from `from` (`Range`, with the
/// part's `validator` as `If-Range`), with `-N` the body only if newer than `since`, and the
/// headers and Referer its list line gives.
#[derive(Clone, Copy)]
struct Ask<'a> {
    from: u64,
    /// The last byte wanted, for one segment of a split body (`Range: bytes=FROM-TO`).
    to: Option<u64>,
    validator: Option<&'a str>,
    since: Option<std::time::SystemTime>,
    /// The list line's options (its headers and Referer).
    line: &'a LineOptions,
    /// When the URL's time limit (`--max-time`) started counting, if before this request.
    clock: Option<Instant>,
    /// Longest wait for the answer's head (a split's helper: see [`Split::head_wait`]).
    head_within: Option<Duration>,
}

impl Default for Ask<'_> {
    fn default() -> Self {
        static NONE: LineOptions = LineOptions::NONE;
        Self {
            from: 0,
            to: None,
            validator: None,
            since: None,
            line: &NONE,
            clock: None,
            head_within: None,
        }
    }
}

impl<'a> Ask<'a> {
    /// A resumed part has its own validator: `If-Modified-Since` goes only with a whole file.
    fn part(
        from: u64,
        validator: Option<&'a str>,
        since: Option<std::time::SystemTime>,
        line: &'a LineOptions,
    ) -> Self {
        Self {
            from,
            validator,
            since: since.filter(|_| from == 0),
            line,
            ..Self::default()
        }
    }
}

/// What one request of a URL's chain of redirects carries besides its [`Ask`].
struct Hop<'a> {
    /// The Cookie header the jar sends.
    cookie: Option<&'a str>,
    /// The Referer `--referer` or the line's `referer=` gives this request.
    referer: Option<HeaderValue>,
    /// Replaces the Agent's whole-URL timeout.
    budget: Option<Duration>,
    /// Whether credentials given with `-H` may go along (the first URL's origin).
    same_origin: bool,
    /// The login challenge the previous request was answered with, to answer now.
    challenge: Option<&'a RefCell<PasswordClient>>,
    /// The same from the proxy an http URL is sent to whole.
    proxy_challenge: Option<&'a RefCell<PasswordClient>>,
}

/// Where reading a body stops: after `close_after` bytes when given, and with a `too_large`
/// failure past `limit`.
#[derive(Clone, Copy)]
struct Ends<'a> {
    close_after: Option<u64>,
    limit: u64,
    /// The size of the file the line gives, when `limit` is what is left of it: more bytes
    /// are a `checksum` failure, not a `too_large` one.
    sized: Option<u64>,
    /// Set when the rest of a split body's reads should stop (the first connection failed).
    stop: Option<&'a AtomicBool>,
    /// The download's own budget, besides the run's (`--max-download-limit`).
    rate: Option<&'a RateLimit>,
    /// The least bytes per second over how long (`--speed-limit`, or the line's).
    low_speed: Option<(u64, Duration)>,
    /// The Content-Length of a body read as sent: what its read buffer is sized by, and what
    /// one cut short says of how much came, as curl's "transfer closed with N bytes remaining".
    length: Option<u64>,
}

/// Waits before a retry, giving up early if the run is interrupted.
fn sleep_unless_cancelled(total: Duration) {
    let deadline = Instant::now() + total;
    while !cancel::requested() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// The `Authorization` value for `user:password` (RFC 7617).
pub fn basic(credentials: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    format!("Basic {encoded}")
}

/// Where a redirect from `base` to `location` leads, if it may be followed: the Location
/// resolved against the URL it came from (RFC 3986, with what is not allowed in a URL
/// percent-encoded, as curl does), and only to http or https.
fn next_url(base: &Url, location: &str) -> Result<Url, Failure> {
    // Named in the error as sent (the report escapes it), credentials hidden, cut short: a
    // header may be 48 KiB.
    let shown = || {
        let mut text = redact_str(location);
        if let Some((cut, _)) = text.char_indices().nth(SHOWN_LOCATION) {
            text.truncate(cut);
            text.push_str("...");
        }
        text
    };
    let mut next = base.join(location.trim()).map_err(|e| {
        Failure::new(
            ErrorKind::Redirects,
            format!("redirect to an unusable location `{}`: {e}", shown()),
        )
    })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(Failure::new(
            ErrorKind::Redirects,
            format!(
                "redirect to `{}` not followed: only http and https are",
                shown()
            ),
        ));
    }
    // A fragment is the client's own; it is never sent.
    next.set_fragment(None);
    Ok(next)
}

/// The validator to resume with: a strong ETag, else Last-Modified (If-Range takes either).
fn validator(response: &Response) -> Option<String> {
    header(response, "etag")
        .filter(|tag| !tag.starts_with("W/"))
        .or_else(|| header(response, "last-modified"))
}

/// The first byte position of a 206 answer's `Content-Range: bytes START-END/TOTAL`.
fn content_range_start(response: &Response) -> Option<u64> {
    let value = header(response, "content-range")?;
    value
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The key `--per-host` counts a URL's connections under: its host and port.
fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    format!("{host}:{}", url.port_or_known_default().unwrap_or(0))
}

/// A file already saved that the plan keeps (`-c`, `--on-exists skip`): reported as skipped and
/// left as it is (`true`), unless the line's checksum says it is not the file (`false`): it is
/// then fetched again and replaced, as aria2c's `-V` does, rather than a wrong file being
/// passed as done.
fn keep_saved(slot: &Slot, expected: &LineOptions, outcome: &mut Outcome) -> Result<bool, Failure> {
    // Gone since the plan (or moved to its part by -c, for a retry to take up): fetched.
    if slot.path.symlink_metadata().is_err() {
        return Ok(false);
    }
    let unreadable = |err: io::Error| {
        Failure::new(
            ErrorKind::Disk,
            format!("reading {}: {err}", slot.path.display()),
        )
    };
    if let Some(size) = expected.size
        && fs::metadata(&slot.path).map_err(unreadable)?.len() != size
    {
        return Ok(false);
    }
    if let Some(expected) = &expected.checksum {
        let right = crate::save::has_digest(&slot.path, expected).map_err(unreadable)?;
        if !right {
            return Ok(false);
        }
        if expected.algorithm == crate::links::Algorithm::Sha256 {
            outcome.sha256 = Some(crate::links::hex(&expected.digest));
        }
    }
    outcome.path = Some(slot.path.display().to_string());
    outcome.skipped = true;
    Ok(true)
}

/// What the answer to `Range: bytes=SAVED-` makes of a file under its final name that `-c`
/// continues, read as `wget -c` reads it, which never truncates such a file.
enum Continued {
    /// The rest follows: a 206 from the file's end.
    Rest,
    /// The file is whole already: a 416 with its size (or none), or a 200 of its size.
    Whole,
    /// It cannot be continued, for this reason: the file is kept and the URL fails.
    Not(String),
    /// An error status: the URL's failure as usual.
    Failed,
}

impl Continued {
    fn of(response: &Response, saved: u64, compressed: bool) -> Self {
        let status = response.status().as_u16();
        let plain = !(compressed && encoded(response));
        let length = content_length(response);
        let shorter = |total: u64| Self::Not(format!("the server's file has {total} bytes"));
        match status {
            206 if !plain => Self::Not("the server sent the rest compressed".into()),
            206 => match content_range_start(response) {
                Some(first) if first == saved => Self::Rest,
                first => Self::Not(format!(
                    "the server sent bytes from {} where {saved} were asked for",
                    first.map_or("elsewhere".into(), |f| f.to_string())
                )),
            },
            416 => match content_range_total(response) {
                Some(total) if total != saved => shorter(total),
                _ => Self::Whole,
            },
            200 if plain && length == Some(saved) => Self::Whole,
            200 => match length {
                Some(total) if total < saved => shorter(total),
                _ => Self::Not("the server takes no ranges and sent the whole file".into()),
            },
            201..=399 => Self::Not(format!("the server answered {status} to the range")),
            _ => Self::Failed,
        }
    }
}

/// The answer's `Content-Length` as sent, whatever ureq makes of the body (a HEAD answer's
/// included).
fn content_length(response: &Response) -> Option<u64> {
    header(response, "content-length").and_then(|v| v.trim().parse().ok())
}

/// A 206 answer's `Content-Range: bytes FIRST-LAST/TOTAL`.
fn content_range(response: &Response) -> Option<(u64, u64, u64)> {
    let value = header(response, "content-range")?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let number = |text: &str| text.trim().parse().ok();
    Some((number(first)?, number(last)?, number(total)?))
}

/// Puts a saved body in place and gives it the server's time, if asked (`-R`, `-N`).
fn saved(
    writer: PartWriter,
    expected: &LineOptions,
    outcome: &mut Outcome,
    remote_time: Option<std::time::SystemTime>,
    label: Option<&str>,
) -> Result<(), Failure> {
    let path = finish_saved(writer, expected, outcome, label)?;
    if let Some(time) = remote_time {
        // The body is saved either way: a file system that keeps no times only costs the next
        // -N run a download.
        let _ = std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(time));
    }
    Ok(())
}

/// Puts a complete part in place (checked against `expected`) and notes where, and its digest,
/// labelled first with where it came from (`--xattr`, see [`Fetcher::label`]). Returns the
/// file's path.
fn finish_saved(
    writer: PartWriter,
    expected: &LineOptions,
    outcome: &mut Outcome,
    label: Option<&str>,
) -> Result<std::path::PathBuf, Failure> {
    if let Some(origin) = label {
        for refused in writer.label(origin, outcome.content_type.as_deref()) {
            trace::note(|| format!("* --xattr: {refused}"));
        }
    }
    let (path, digest) = writer.finish(expected.checksum.as_ref(), expected.size)?;
    outcome.path = Some(path.display().to_string());
    outcome.sha256 = digest.map(|d| crate::links::hex(&d));
    Ok(path)
}

/// How long a body may wait for room to be decoded in (see `decode`): no longer than a stall
/// may last, nor past the time of the attempt that began at `since`. None for no limit.
/// The Accept-Encoding asked with: a saved body as the server holds it, unless `compressed`
/// (`--compressed`, or a line's `http-accept-gzip=true`) asks for it compressed as curl asks and
/// saved decoded; a shown one may come gzip-compressed and is decoded for its prefix (gzip
/// alone: its window is 32 KiB, where brotli's may be 16 MiB). None when -H 'Accept-Encoding:'
/// removes it; a -H or a line's `header=` Accept-Encoding replaces any of them.
fn accept_encoding(settings: &NetSettings, saving: bool, compressed: bool) -> &'static str {
    match (saving, compressed) {
        _ if settings.removed.contains(&header::ACCEPT_ENCODING) => "",
        (_, true) => decode::ACCEPTED,
        (true, false) => "identity",
        (false, false) => "gzip",
    }
}

fn patience(
    stall: Option<Duration>,
    attempt: Option<Duration>,
    since: Instant,
) -> Option<Duration> {
    let left = attempt.map(|attempt| attempt.saturating_sub(since.elapsed()));
    match (stall, left) {
        (Some(stall), Some(left)) => Some(stall.min(left)),
        (stall, left) => stall.or(left),
    }
}

/// The codings an answer's body was sent in (`Content-Encoding`), in the order applied.
fn encoding(response: &Response) -> Result<Vec<decode::Coding>, String> {
    header(response, "content-encoding").map_or(Ok(Vec::new()), |v| decode::codings(&v))
}

/// The codings of the answer's `Transfer-Encoding` besides `chunked` (which ureq undoes), in
/// the order applied: `gzip` of `Transfer-Encoding: gzip, chunked`. Unlike a content coding,
/// a transfer coding is the connection's, never the file's, so a body is always read through
/// them (ureq passes them on as they are: saved or shown so, the bytes would be wrong).
fn transfer_codings(response: &Response) -> Result<Vec<decode::Coding>, Failure> {
    let Some(value) = header(response, "transfer-encoding") else {
        return Ok(Vec::new());
    };
    let others: Vec<&str> = (value.split(',').map(str::trim))
        .filter(|t| !t.eq_ignore_ascii_case("chunked"))
        .collect();
    decode::codings(&others.join(",")).map_err(|why| {
        let why = why.replace(
            "the body is encoded",
            "the body is sent (Transfer-Encoding)",
        );
        Failure::new(ErrorKind::Protocol, why)
    })
}

/// Whether an answer's body was sent in any coding but `identity`.
fn encoded(response: &Response) -> bool {
    !matches!(encoding(response), Ok(codings) if codings.is_empty())
}

/// The size a 416 answer gives in `Content-Range: bytes */TOTAL`.
fn content_range_total(response: &Response) -> Option<u64> {
    let value = header(response, "content-range")?;
    value.strip_prefix("bytes */")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_waits_to_be_decoded_no_longer_than_a_stall_or_what_is_left_of_its_attempt() {
        let secs = Duration::from_secs;
        let now = Instant::now();
        let begun = now.checked_sub(secs(595)).unwrap();
        let left = patience(Some(secs(30)), Some(secs(600)), begun).unwrap();
        assert!(left <= secs(5) && left > secs(4), "{left:?}");
        assert_eq!(
            patience(Some(secs(30)), Some(secs(600)), now),
            Some(secs(30))
        );
        assert_eq!(patience(Some(secs(30)), None, begun), Some(secs(30)));
        let left = patience(None, Some(secs(600)), begun).unwrap();
        assert!(left <= secs(5), "{left:?}");
        assert_eq!(patience(None, None, begun), None);
        // An attempt already out of time waits not at all.
        assert_eq!(
            patience(Some(secs(30)), Some(secs(60)), begun),
            Some(Duration::ZERO)
        );
    }
}
