//! Validated settings built from the command line. Everything past this point works with these
//! types, never with clap's.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use ureq::http::{HeaderName, HeaderValue, header};

use crate::auth::Login;
use crate::cli::Cli;
use crate::connect_to::ConnectTo;
use crate::fetch::{Given, NetSettings, given_header};
use crate::identity::Identity;
use crate::interface::Local;
use crate::links::ListName;
use crate::logins::Logins;
use crate::progress::When;
use crate::proxy::Proxies;
use crate::referer::Referer;
use crate::report::Style;
use crate::resolve::Overrides;
use crate::retry::RetryPolicy;
use crate::save::{Folders, SaveSettings};
use crate::tls::{Cacert, Tls, Version, Versions};

/// TLS trusting the built-in and system roots, or the certificates of the `--cacert` PEM file
/// and the `--capath` folder, and offering the `--cert` identity; a file that cannot serve is a
/// usage error naming it.
fn tls(cli: &Cli) -> Result<Tls> {
    let mut certs = Vec::new();
    if let Some(path) = cli.cacert.as_deref() {
        let read = Cacert::read_file(path)
            .map_err(|why| UsageError(format!("--cacert {}: {why}", path.display())))?;
        certs.extend(read);
    }
    if let Some(path) = cli.capath.as_deref() {
        let read = Cacert::read_dir(path)
            .map_err(|why| UsageError(format!("--capath {}: {why}", path.display())))?;
        certs.extend(read);
    }
    let cacert = match certs.is_empty() {
        true => None,
        false => Some(Cacert::from_certs(certs).map_err(|why| {
            let given = [cli.cacert.as_deref(), cli.capath.as_deref()];
            let shown: Vec<String> = given
                .iter()
                .flatten()
                .map(|p| p.display().to_string())
                .collect();
            UsageError(format!("--cacert, --capath {}: {why}", shown.join(", ")))
        })?),
    };
    // The file's name without a passphrase after it, which no message may show.
    let cert = (cli.cert.as_deref()).map(crate::identity::cert_and_passphrase);
    let identity = (cert.as_ref())
        .map(|(cert, with_cert)| {
            let pass = match (cli.pass.as_deref(), with_cert.as_deref()) {
                (Some(_), Some(_)) => {
                    let why = "--cert FILE:PASSPHRASE and --pass both give the passphrase: give \
                               it once";
                    return Err(UsageError(why.into()).into());
                }
                (given, with_cert) => given.or(with_cert),
            };
            Identity::load(cert, cli.key.as_deref(), pass, cli.cert_type).map_err(|why| {
                if crate::cancel::ended_by(&why) {
                    why.context("--cert")
                } else {
                    UsageError(format!("--cert: {why:#}")).into()
                }
            })
        })
        .transpose()?;
    // With --cacert checked already, what can still fail is the key against its certificate.
    // curl's --tlsv1.3 and --tlsv1.2 are --tls-min by other names.
    let min = (cli.tls_min)
        .or(cli.tlsv13.then_some(Version::V13))
        .or(cli.tlsv12.then_some(Version::V12));
    let versions = Versions::between(min, cli.tls_max)
        .map_err(|why| UsageError(format!("--tls-min and --tls-max: {why}")))?;
    Ok(
        Tls::new(cacert, identity, versions).map_err(|why| match &cert {
            Some((cert, _)) => UsageError(format!("--cert {}: {why}", cert.display())),
            None => UsageError(format!("TLS: {why}")),
        })?,
    )
}

/// `--interface`'s addresses. ureq makes a SOCKS proxy's connection itself, where it cannot
/// be bound, so the two together are refused rather than letting traffic leave elsewhere.
fn local(cli: &Cli, proxies: &Proxies) -> Result<Option<Arc<Local>>> {
    let Some(text) = cli.interface.as_deref() else {
        return Ok(None);
    };
    let local = Local::parse(text).map_err(|why| UsageError(format!("--interface: {why}")))?;
    if let Some(socks) = proxies.socks() {
        let shown = format!("{}:{}", socks.host(), socks.port());
        Err(UsageError(format!(
            "--interface cannot be kept to through the SOCKS proxy {shown}: its connection \
             would leave from any address"
        )))?;
    }
    Ok(Some(Arc::new(local)))
}

/// Headers to send, in order.
type Headers = Vec<(HeaderName, HeaderValue)>;

/// The `-H` headers to send, and those not to send at all (`-H 'Name:'`, curl's way to keep
/// a header it would send unasked from going), as curl reads them: `-H @FILE` reads one a
/// line from FILE (blank lines skipped). A Host header cannot be kept from going: HTTP/1.1
/// asks for one in every request.
fn given_headers(given: &[String]) -> Result<(Headers, Vec<HeaderName>)> {
    let mut lines = Vec::new();
    for text in given {
        match text.strip_prefix('@') {
            Some("-") => Err(UsageError(
                "-H @- would read headers from standard input, which is for the list of URLs: \
                 give a file"
                    .into(),
            ))?,
            Some(path) => {
                let read = std::fs::read_to_string(path).map_err(|e| {
                    UsageError(format!("-H @{path}: the headers file cannot be read: {e}"))
                })?;
                let kept = read.lines().map(str::trim_end).filter(|l| !l.is_empty());
                lines.extend(kept.map(str::to_string));
            }
            None => lines.push(text.clone()),
        }
    }
    let (mut headers, mut removed) = (Vec::new(), Vec::new());
    for line in &lines {
        match given_header(line).map_err(|e| UsageError(format!("{e:#}")))? {
            Given::Set(name, value) => headers.push((name, value)),
            Given::Removed(name) if name == header::HOST => Err(UsageError(
                "-H 'Host:' cannot keep the Host header from going: HTTP/1.1 asks for one in \
                 every request (give -H 'Host: NAME' for another, or --connect-to)"
                    .into(),
            ))?,
            Given::Removed(name) => removed.push(name),
        }
    }
    Ok((headers, removed))
}

/// `--connect-to`'s rules. A SOCKS proxy that looks names up itself (`socks4a`, `socks5h`) is
/// given the URL's host by ureq, which no rule can change, so the two together are refused
/// rather than connecting where the rules say not to.
fn connect_to(cli: &Cli, proxies: &Proxies) -> Result<Arc<ConnectTo>> {
    let rules = ConnectTo::parse(&cli.connect_to).map_err(UsageError)?;
    if let Some(socks) = proxies.socks_resolving().filter(|_| !rules.is_empty()) {
        let shown = format!("{}:{}", socks.host(), socks.port());
        Err(UsageError(format!(
            "--connect-to cannot be kept to through the SOCKS proxy {shown}, which looks the \
             URL's host up itself: give it as socks5:// or socks4:// so fetchpar looks names up"
        )))?;
    }
    Ok(Arc::new(rules))
}

/// A user name and password given as `USER:PASSWORD` in `option`, or as `USER` there and the
/// password in `apart` (as wget gives them), or as `USER` alone and the password typed at the
/// terminal when asked for, as curl asks (`Enter host password for user 'USER':`).
fn login(
    (option, apart, whose): (&str, &str, &str),
    user: &str,
    password: Option<&str>,
) -> Result<(String, String)> {
    match (password, user.split_once(':')) {
        (Some(_), Some(_)) => Err(UsageError(format!(
            "{option} has a password after its colon and {apart} gives another: keep one"
        )))?,
        (Some(password), None) => Ok((user.to_string(), password.to_string())),
        (None, Some((user, password))) => Ok((user.to_string(), password.to_string())),
        (None, None) => {
            let prompt = format!("Enter {whose} password for user '{user}': ");
            let because = format!("{option} {user} has no password");
            let instead = format!("give {user}:PASSWORD or {apart}");
            let asking = crate::ask::Asking {
                what: "password",
                because: &because,
                instead: &instead,
            };
            // Exit code 2 as for any login the command line gets wrong, 130 for Ctrl-C.
            let typed = crate::ask::secret(&prompt, &asking).map_err(|e| match e {
                e if crate::cancel::ended_by(&e) => e,
                e => UsageError(format!("{e:#}")).into(),
            })?;
            Ok((user.to_string(), typed))
        }
    }
}

/// `--proxy-header`s, each `Name: value` (or `Name;` for an empty one).
fn proxy_headers(given: &[String]) -> Result<std::sync::Arc<[(header::HeaderName, HeaderValue)]>> {
    let parse = |text: &String| {
        crate::fetch::parse_header(text).map_err(|e| UsageError(format!("--proxy-header: {e:#}")))
    };
    Ok(given
        .iter()
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?
        .into())
}

/// `--accept-regex` or `--reject-regex` compiled, if given.
fn regex(option: &str, given: &Option<String>, ignore_case: bool) -> Result<Option<regex::Regex>> {
    let Some(text) = given else {
        return Ok(None);
    };
    let compiled = crate::html::parse_regex(text, ignore_case)
        .map_err(|why| UsageError(format!("{option}: {why}")))?;
    Ok(Some(compiled))
}

/// The proxies, with `--proxy-user`'s login in place of any in their URLs.
fn proxies(cli: &Cli) -> Result<Proxies> {
    // aria2c's -x N (connections per server) typed where -x is curl's --proxy: a bare number
    // is no proxy, and would have sent every URL to a host of that name.
    if let Some(n) =
        (cli.proxy.as_deref()).filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Err(UsageError(format!(
            "-x `{n}` is not a proxy: -x is curl's --proxy here; aria2c's -x {n} is \
             --max-connection-per-server {n}"
        )))?;
    }
    // wget's -x (--force-directories) typed before a URL, which -x here takes as the proxy:
    // a proxy is a host and port, and a path after it means a file to fetch.
    // Only a value with a scheme: `localhost:3128`, a bare host and port, parses as a URL of
    // scheme `localhost` and path `3128`.
    let path = (cli.proxy.as_deref())
        .filter(|p| p.contains("://"))
        .and_then(|p| url::Url::parse(p).ok())
        .filter(|url| !matches!(url.path(), "" | "/"));
    if let Some(url) = path {
        Err(UsageError(format!(
            "-x `{}` is a URL with a path, not a proxy: -x is curl's --proxy here (wget's -x is \
             --force-directories)",
            crate::outcome::redact_str(url.as_str())
        )))?;
    }
    let tunnel = cli.proxytunnel || cli.proxy_method.as_deref() == Some("tunnel");
    // curl's --socks5-hostname HOST:PORT and its kin: -x with the scheme.
    let socks = [
        ("socks5h", &cli.socks5_hostname),
        ("socks5", &cli.socks5),
        ("socks4", &cli.socks4),
        ("socks4a", &cli.socks4a),
    ]
    .into_iter()
    .find_map(|(scheme, given)| {
        let given = given.as_deref()?;
        let address = given
            .split_once("://")
            .map_or(given, |(_, address)| address);
        Some(format!("{scheme}://{address}"))
    });
    let proxy = cli.proxy.clone().or(socks);
    let noproxy = cli.noproxy.as_deref().or(cli.no_proxy_hosts.as_deref());
    let proxies = Proxies::from_env(proxy.as_deref(), noproxy)
        .and_then(|p| p.with_schemes(cli.http_proxy.as_deref(), cli.https_proxy.as_deref()))
        .map_err(UsageError)?
        .tunnelled(tunnel);
    let Some(user) = cli.proxy_user.as_deref() else {
        return Ok(proxies);
    };
    let (user, password) = login(
        ("--proxy-user", "--proxy-password", "proxy"),
        user,
        cli.proxy_password.as_deref(),
    )?;
    Ok(proxies.with_login(&user, &password).map_err(UsageError)?)
}

/// Default most fetches at once. Up to this many URLs, every URL gets its own thread, as in the
/// seed program; past it, threads are reused. 384 covers the latency-bound lists this tool is
/// for (one thread per URL for lists up to 384 lines), won the benchmark's many-small workload
/// on two cores, and stays far below typical open-file and thread limits; see the README for
/// the measurements behind it.
pub const DEFAULT_JOBS: usize = 384;

/// The job cap asked for on the command line, or the default.
pub fn jobs_wanted(cli: &Cli) -> usize {
    cli.jobs.map_or(DEFAULT_JOBS, |j| j as usize)
}

/// `--speed-limit` and `--speed-time`, as curl pairs them: either alone brings the other's
/// default (30 s, 1 byte per second); 0 for either turns the check off.
fn low_speed(cli: &Cli) -> Option<(u64, Duration)> {
    let time = match cli.speed_time {
        Some(crate::cli::Limit(time)) => time?,
        None if cli.speed_limit.is_some() => Duration::from_secs(30),
        None => return None,
    };
    let rate = cli.speed_limit.unwrap_or(1);
    (rate > 0).then_some((rate, time))
}

/// Connections one saved body may be fetched over: `--split`, capped by aria2c's
/// `--max-connection-per-server`, which alone means the same (`aria2c -x 16` is taken as
/// asking for 16 connections, as its users mean it; aria2c itself would cap it at its -s
/// default of 5).
pub fn split_wanted(cli: &Cli) -> usize {
    let cap = cli.max_connection_per_server;
    cli.split
        .or(cap)
        .map_or(1, |n| n.min(cap.unwrap_or(n)) as usize)
}

/// `--connect-timeout` and `--stall-timeout` (10 s and 30 s unless given), each set by wget's
/// and aria2c's `--timeout` when not given itself.
pub fn network_timeouts(cli: &Cli) -> (Option<Duration>, Option<Duration>) {
    let or = |own: Option<crate::cli::Limit>, default: u64| {
        (own.or(cli.network_timeout)).map_or(Some(Duration::from_secs(default)), |limit| limit.0)
    };
    (or(cli.connect_timeout, 10), or(cli.stall_timeout, 30))
}

/// Further attempts after the first: `--retries`, or wget's `-t` (attempts in all) less one.
pub fn retries_wanted(cli: &Cli) -> u32 {
    cli.tries.map_or(cli.retries, |tries| tries - 1)
}

/// Most idle connections kept for reuse by each of the fetcher's Agents
/// ([`crate::fetch::AGENTS`]). ureq's pool walks its whole idle list every time a connection
/// goes back, so a long list costs on every request: with one Agent, capping it at 64 rather
/// than the job cap made 20,000 instant URLs 8% faster (median of 12 interleaved runs, 0.490
/// against 0.536 s). With eight, each holding 32 rather than 64 (8 interleaved runs): 2,000
/// delayed URLs 0.150 against 0.153 s, 20,000 instant ones 0.485 against 0.468 s, both on one
/// host, for at most 256 idle connections in all instead of 512.
pub const IDLE_CONNECTIONS: usize = 32;

/// Most results `--keep-order` may hold ahead of the oldest URL still running (see
/// [`Options::reorder_window`]).
const MAX_AHEAD: usize = 16 * 1024;

/// Bytes of held results `--keep-order` aims to stay within, counting each as its prefix and
/// 1 KiB for the rest.
const HELD_BUDGET: usize = 64 * 1024 * 1024;

/// Idle connections kept by each Agent for a run of `jobs` fetches at once.
pub fn idle_connections(jobs: usize) -> usize {
    jobs.min(IDLE_CONNECTIONS)
}

/// How the URLs are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Threads,
    Sequential,
    Compare,
}

/// A usage or input problem: reported with exit code 2 before anything is fetched.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[derive(Debug, Clone)]
pub struct Options {
    pub lists: Vec<ListName>,
    /// How the lists are read: `-F`, `-B`, `-M`, the other `--force-...` options, `--accept`
    /// and `--reject`.
    pub reading: crate::links::Reading,
    pub mode: Mode,
    pub jobs: usize,
    pub style: Style,
    pub net: NetSettings,
    pub save: Option<SaveSettings>,
    pub checksums: Option<PathBuf>,
    pub failed_out: Option<PathBuf>,
    /// `--load-cookies`: a cookie file to start the jar from.
    pub load_cookies: Option<PathBuf>,
    /// `--junk-session-cookies`: its session cookies left out.
    pub junk_session_cookies: bool,
    /// `--save-cookies`: where the jar is written at the end.
    pub save_cookies: Option<PathBuf>,
    pub progress: When,
    /// No summary or notices on stderr (`--quiet`).
    pub quiet: bool,
    pub timeline: Option<PathBuf>,
    /// `--fail-early` and `--quota`: when the run stops starting URLs.
    pub stops: crate::run::Stops,
    /// `-o -`: the bodies go to stdout in input order (each saved in a folder of the run's own
    /// until its turn), and the results to stderr.
    pub cat: bool,
}

/// What `-i` (or `-M`, given as `option`) names: a list on a server for an http(s) URL that
/// is no file's name, as `wget -i` takes one; a list file otherwise. (A URL given as a LIST
/// argument is a URL to fetch, as curl and aria2c take one.)
fn input_file(path: &std::path::Path, option: &str) -> Result<ListName> {
    let text = path.to_string_lossy();
    let scheme = crate::links::scheme(&text);
    if scheme.is_none() || path.exists() {
        return Ok(ListName::Local(path.to_path_buf()));
    }
    if let Some(other) = scheme.filter(|s| s != "http" && s != "https") {
        return Err(UsageError(format!(
            "{option} {}: a list is fetched only from an http:// or https:// URL, not {other}://",
            crate::outcome::redact_str(&text)
        ))
        .into());
    }
    match url::Url::parse(&text) {
        Ok(url) if url.host().is_some() => Ok(ListName::Remote(url)),
        _ => Err(UsageError(format!(
            "{option} {}: not a URL a list can be fetched from",
            crate::outcome::redact_str(&text)
        ))
        .into()),
    }
}

/// curl's `-b`: text with an `=` becomes the Cookie header of every request to a URL's own
/// origin (as `-H 'Cookie: ...'`, so not across redirects to another host); text without one
/// names a cookie file, which is `--load-cookies`. Returns the cookie file to load, if any.
fn cookie_option(
    cli: &Cli,
    headers: &mut Vec<(header::HeaderName, HeaderValue)>,
) -> Result<Option<PathBuf>> {
    // An empty -b turns curl's cookie engine on, which is always on here unless --no-cookies.
    let Some(given) = cli.cookie.as_ref().filter(|c| !c.trim().is_empty()) else {
        return Ok(cli.load_cookies.clone());
    };
    if given.contains('=') {
        if headers.iter().any(|(name, _)| name == header::COOKIE) {
            return Err(UsageError(
                "-b NAME=VALUE and -H 'Cookie: ...' both give cookies: keep one".into(),
            )
            .into());
        }
        let value = HeaderValue::try_from(given.trim()).map_err(|_| {
            UsageError(format!(
                "-b `{}` is not a valid Cookie header value (no line breaks or control \
                 characters)",
                crate::report::escape(given.as_bytes())
            ))
        })?;
        headers.push((header::COOKIE, value));
        return Ok(cli.load_cookies.clone());
    }
    if cli.load_cookies.is_some() {
        return Err(UsageError(
            "-b FILE and --load-cookies both name a cookie file: keep one".into(),
        )
        .into());
    }
    if cli.no_cookies {
        return Err(
            UsageError("-b FILE loads cookies, which --no-cookies turns off".into()).into(),
        );
    }
    Ok(Some(PathBuf::from(given)))
}

/// `--color auto` colors only a terminal, and only when NO_COLOR is unset or empty
/// (no-color.org); `always` and `never` are taken at their word.
fn use_color(when: When) -> bool {
    match when {
        When::Always => true,
        When::Never => false,
        When::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

impl Options {
    pub fn from_cli(cli: &Cli) -> Result<Self> {
        let mode = if cli.compare || cli.demo {
            Mode::Compare
        } else if cli.sequential {
            Mode::Sequential
        } else {
            Mode::Threads
        };
        let metalink = (cli.metalink_files.iter())
            .map(|path| input_file(path, "-M"))
            .collect::<Result<Vec<_>>>()?;
        let given: Vec<ListName> = (cli.lists.iter().cloned().map(|p| Ok(ListName::Local(p))))
            .chain(cli.input_files.iter().map(|path| input_file(path, "-i")))
            .chain(metalink.iter().cloned().map(Ok))
            .collect::<Result<_>>()?;
        let lists = if cli.demo {
            Vec::new()
        } else if given.is_empty() {
            if std::io::stdin().is_terminal() {
                return Err(UsageError(
                    "no link list given: name a file, or pipe URLs into `fetchpar -`".into(),
                )
                .into());
            }
            vec![ListName::Local(PathBuf::from("-"))]
        } else {
            given
        };
        if let Some(ListName::Remote(url)) = (lists.iter())
            .find(|list| matches!(list, ListName::Remote(url) if url.scheme() != "https"))
            .filter(|_| cli.https_only)
        {
            return Err(UsageError(format!(
                "{}: --https-only fetches lists from https URLs only",
                crate::outcome::redact(url)
            ))
            .into());
        }
        let stdin = ListName::Local(PathBuf::from("-"));
        if lists.iter().filter(|&list| *list == stdin).count() > 1 {
            return Err(UsageError("standard input (`-`) can be read only once".into()).into());
        }
        // Checked here: ureq unwraps it when building each request, so a line break in it
        // panicked every fetch instead of stopping the run before the first.
        if ureq::http::HeaderValue::try_from(cli.user_agent.as_str()).is_err() {
            return Err(UsageError(format!(
                "--user-agent `{}` is not a valid header value (no line breaks or control \
                 characters)",
                crate::report::escape(cli.user_agent.as_bytes())
            ))
            .into());
        }
        let (mut headers, removed) = given_headers(&cli.headers)?;
        if let Some(token) = &cli.oauth2_bearer {
            if headers
                .iter()
                .any(|(name, _)| name == header::AUTHORIZATION)
            {
                return Err(UsageError(
                    "--oauth2-bearer and -H 'Authorization: ...' both give credentials: keep one"
                        .into(),
                )
                .into());
            }
            let value = HeaderValue::try_from(format!("Bearer {}", token.trim()))
                .ok()
                .filter(|_| !token.trim().is_empty())
                .ok_or_else(|| {
                    UsageError(
                        "--oauth2-bearer needs a token of printable characters, on one line".into(),
                    )
                })?;
            headers.push((header::AUTHORIZATION, value));
        }
        if let Some(user) = &cli.user {
            if headers
                .iter()
                .any(|(name, _)| name == header::AUTHORIZATION)
            {
                return Err(UsageError(
                    "--user and -H 'Authorization: ...' both give credentials: keep one".into(),
                )
                .into());
            }
            if cli.ask_password && user.contains(':') {
                return Err(UsageError(
                    "--ask-password asks for the password that --user USER:PASSWORD already \
                     gives: keep one"
                        .into(),
                )
                .into());
            }
        }
        let load_cookies = cookie_option(cli, &mut headers)?;
        let cat = cli.output_dir.as_deref() == Some(std::path::Path::new("-"));
        if cat {
            to_stdout(cli)?;
        }
        let jobs = jobs_wanted(cli);
        let proxies = proxies(cli)?;
        let connect_to = connect_to(cli, &proxies)?;
        let (connect_timeout, stall_timeout) = network_timeouts(cli);
        Ok(Self {
            lists,
            reading: crate::links::Reading {
                force_html: cli.force_html,
                force_metalink: cli.force_metalink,
                force_sitemap: cli.force_sitemap,
                force_feed: cli.force_rss,
                base: cli.base.clone(),
                metalink,
                names: crate::html::Names {
                    accept: cli.accept.clone(),
                    reject: cli.reject.clone(),
                    accept_regex: regex("--accept-regex", &cli.accept_regex, cli.ignore_case)?,
                    reject_regex: regex("--reject-regex", &cli.reject_regex, cli.ignore_case)?,
                    ignore_case: cli.ignore_case,
                    https_only: cli.https_only,
                },
                glob: !cli.globoff,
            },
            mode,
            jobs,
            style: Style {
                json: cli.json,
                keep_order: cli.keep_order || cat,
                color: use_color(cli.color),
            },
            net: NetSettings {
                proxy_headers: proxy_headers(&cli.proxy_headers)?,
                connect_timeout,
                timeout: cli.timeout.0,
                stall_timeout,
                max_redirects: cli.max_redirects,
                user_agent: match removed.contains(&header::USER_AGENT) {
                    true => String::new(),
                    false => cli.user_agent.clone(),
                },
                headers,
                referer: (cli.referer.as_deref())
                    .filter(|_| !removed.contains(&header::REFERER))
                    .map(|text| {
                        Referer::parse(text).map_err(|why| UsageError(format!("--referer: {why}")))
                    })
                    .transpose()?,
                removed,
                cookies: !cli.no_cookies,
                limit_rate: cli.limit_rate.filter(|&r| r > 0),
                local: local(cli, &proxies)?,
                pace: (cli.rate)
                    .or(cli.wait.and_then(|wait| wait.0))
                    .map(|gap| (gap, cli.random_wait)),
                download_limit: cli.max_download_limit.filter(|&r| r > 0),
                ip_family: match (cli.ipv4, cli.ipv6) {
                    (true, _) => ureq::config::IpFamily::Ipv4Only,
                    (_, true) => ureq::config::IpFamily::Ipv6Only,
                    _ => ureq::config::IpFamily::Any,
                },
                prefix: cli.prefix as usize,
                pool: idle_connections(jobs),
                max_size: cli.max_size,
                compressed: cli.compressed,
                https_only: cli.https_only,
                retry: RetryPolicy {
                    retries: retries_wanted(cli),
                    base_delay: cli.retry_delay.0.unwrap_or(Duration::ZERO),
                    max_wait: cli.max_retry_wait.0.unwrap_or(Duration::ZERO),
                    retry_refused: cli.retry_connrefused,
                    all_errors: cli.retry_all_errors,
                    statuses: cli.retry_on_http_error.clone().unwrap_or_default(),
                    max_time: cli.retry_max_time.0,
                },
                per_host: cli.per_host.map(|n| n as usize),
                proxies,
                tls: tls(cli)?,
                logins: logins(cli)?,
                user: user_login(cli)?,
                spider: cli.spider,
                verbose: cli.verbose,
                resolve: Arc::new(Overrides::parse(&cli.resolve).map_err(UsageError)?),
                connect_to,
                low_speed: low_speed(cli),
                split: split_wanted(cli),
                min_split: cli.min_split_size,
            },
            save: cli.output_dir.as_ref().map(|dir| SaveSettings {
                dir: dir.clone(),
                on_exists: match cli.no_clobber {
                    true => crate::save::OnExists::Skip,
                    false => cli.on_exists,
                },
                resume: cli.continue_ || cli.continue_at.is_some(),
                content_disposition: cli.content_disposition,
                trust_server_names: cli.trust_server_names,
                timestamping: cli.timestamping,
                remote_time: cli.remote_time || cli.timestamping,
                folders: cli.force_directories.then(|| Folders {
                    host: !cli.no_host_directories,
                    cut: cli.cut_dirs.unwrap_or(0),
                    scheme: cli.protocol_directories,
                }),
                hash: cli.json || cli.checksums.is_some(),
                xattr: cli.xattr,
                remove_on_error: cli.remove_on_error,
            }),
            checksums: cli.checksums.clone(),
            failed_out: cli.failed_out.clone(),
            load_cookies,
            junk_session_cookies: cli.junk_session_cookies,
            save_cookies: cli.save_cookies.clone(),
            progress: if cli.quiet { When::Never } else { cli.progress },
            quiet: cli.quiet,
            timeline: cli.timeline.clone(),
            stops: crate::run::Stops {
                fail_early: cli.fail_early,
                quota: cli.quota.filter(|&q| q > 0),
            },
            cat,
        })
    }
}

/// Checks that `-o -` can write the bodies to stdout: not to a terminal, where a server's
/// bytes could drive it (as the results never can), and with no option that works on files
/// kept under their names.
fn to_stdout(cli: &Cli) -> Result<()> {
    if std::io::stdout().is_terminal() {
        return Err(UsageError(
            "-o - writes the bodies as they are to stdout, which is a terminal here, where a \
             server's bytes could drive it: send stdout to a file or a pipe (> all.bin, | tar x)"
                .into(),
        )
        .into());
    }
    let kept = [
        (cli.continue_ || cli.continue_at.is_some(), "-c"),
        (cli.timestamping, "-N"),
        (cli.remote_time, "-R"),
        (cli.checksums.is_some(), "--checksums"),
        (cli.xattr, "--xattr"),
        // Two URLs of one name must be two bodies: each is saved under a name of its own.
        (cli.no_clobber, "--no-clobber"),
        (
            cli.on_exists != crate::save::OnExists::Rename,
            "--on-exists",
        ),
    ];
    match kept.iter().find(|(given, _)| *given) {
        Some((_, option)) => Err(UsageError(format!(
            "{option} works on files kept under their names, and -o - keeps none: the bodies go \
             to stdout"
        ))
        .into()),
        None => Ok(()),
    }
}

impl Options {
    /// With `--keep-order`, how many URLs past the oldest one still running may be started.
    /// Results that finish ahead of it wait in memory for their turn (about 770 bytes each
    /// with the default prefix: 100,000 held took 75 MiB), so without a bound one stalled
    /// early URL makes the run hold the rest of the list. 16,384, fewer with large prefixes,
    /// never fewer than the job cap; `None` when results print as they come.
    pub fn reorder_window(&self) -> Option<usize> {
        // With -o -, each body waiting for its turn is a file: no more of them than URLs at
        // once, so a stalled URL holds at most that many bodies on the disk.
        if self.cat {
            return Some(self.jobs.max(1));
        }
        (self.style.keep_order).then(|| reorder_window(self.jobs, self.net.prefix))
    }
}

/// The `--keep-order` window for a job cap and a prefix length (see
/// [`Options::reorder_window`]).
pub fn reorder_window(jobs: usize, prefix: usize) -> usize {
    (HELD_BUDGET / (prefix + 1024)).min(MAX_AHEAD).max(jobs)
}

/// The netrc file's entries, for `-n` (whose file need not exist) or `--netrc-file`.
fn logins(cli: &Cli) -> Result<Option<Arc<Logins>>> {
    let (path, required) = match (&cli.netrc_file, cli.netrc) {
        (Some(path), _) => (path.clone(), true),
        (None, true) => match Logins::default_path() {
            Some(path) => (path, false),
            None => return Ok(None),
        },
        (None, false) => return Ok(None),
    };
    let logins = Logins::load(&path, required).map_err(|e| UsageError(format!("{e:#}")))?;
    Ok(Some(Arc::new(logins)))
}

/// The login of `--user USER:PASSWORD` (curl's) or `--user USER --password PASSWORD` (wget's).
fn user_login(cli: &Cli) -> Result<Option<Login>> {
    let Some(user) = &cli.user else {
        return Ok(None);
    };
    let password = cli.password.as_deref();
    let (user, password) = login(("--user", "--password", "host"), user, password)?;
    Ok(Some(Login::new(user, password)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn wgets_tries_count_the_first_attempt_too() {
        let retries = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["fetchpar"], args, &["list.txt"]].concat()).unwrap();
            retries_wanted(&cli)
        };
        assert_eq!(retries(&[]), 2);
        assert_eq!(retries(&["--retries", "5"]), 5);
        assert_eq!(retries(&["-t", "3"]), 2);
        assert_eq!(retries(&["--tries", "1"]), 0);
    }

    fn parsed(args: &[&str]) -> Cli {
        Cli::try_parse_from([&["fetchpar", "-o", "d"], args, &["list.txt"]].concat()).unwrap()
    }

    #[test]
    fn wgets_timeout_sets_the_connect_and_stall_timeouts_each_given_one_winning() {
        let timeouts = |args: &[&str]| network_timeouts(&parsed(args));
        let secs = |n| Some(Duration::from_secs(n));
        assert_eq!(timeouts(&[]), (secs(10), secs(30)));
        assert_eq!(timeouts(&["--timeout", "7"]), (secs(7), secs(7)));
        let both = ["--timeout", "7", "--connect-timeout", "3"];
        assert_eq!(timeouts(&both), (secs(3), secs(7)));
        let stall = ["--stall-timeout", "2", "--timeout", "7"];
        assert_eq!(timeouts(&stall), (secs(7), secs(2)));
        assert_eq!(timeouts(&["--timeout", "0"]), (None, None));
        // -m is the whole attempt's, as curl's: not these.
        assert_eq!(timeouts(&["-m", "5"]), (secs(10), secs(30)));
    }

    #[test]
    fn speed_limit_and_time_bring_each_others_defaults_as_in_curl() {
        let low = |args: &[&str]| low_speed(&parsed(args));
        let secs = Duration::from_secs;
        assert_eq!(low(&[]), None);
        assert_eq!(low(&["-Y", "1K"]), Some((1024, secs(30))));
        assert_eq!(low(&["-y", "5"]), Some((1, secs(5))));
        assert_eq!(
            low(&["--speed-limit", "10", "--speed-time", "2"]),
            Some((10, secs(2)))
        );
        assert_eq!(low(&["-Y", "0"]), None);
        assert_eq!(low(&["-Y", "10", "-y", "0"]), None);
    }

    #[test]
    fn aria2s_connections_per_server_caps_split_and_alone_asks_for_it() {
        let split = |args: &[&str]| split_wanted(&parsed(args));
        assert_eq!(split(&[]), 1);
        assert_eq!(split(&["--split", "8"]), 8);
        assert_eq!(split(&["--max-connection-per-server", "4"]), 4);
        assert_eq!(
            split(&["--split", "8", "--max-connection-per-server", "4"]),
            4
        );
        assert_eq!(
            split(&["--split", "2", "--max-connection-per-server", "16"]),
            2
        );
    }
}
