//! Which proxy a URL goes through, read once from the environment the way curl reads it:
//! `http_proxy` for http URLs and `https_proxy` for https ones, `all_proxy` for either when its
//! own is unset, and `no_proxy` naming the hosts that go direct; `-x`/`--proxy` and
//! `--noproxy` take the place of those variables, as curl's options of those names do. ureq's
//! own reading takes the first variable set for every URL whatever its scheme, and silently
//! skips a value it cannot parse, which would send traffic direct that the user meant to go
//! through a proxy. How an http URL goes to an HTTP proxy: in absolute form, as curl sends it
//! (see [`Absolute`]). And how a failure at the proxy is told: naming the proxy and the host
//! it was asked to reach, with kind `proxy`.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::IpAddr;

use ureq::config::AutoHeaderValue;
use ureq::http::{HeaderName, HeaderValue, Uri};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport, TransportAdapter,
};
use ureq::{Error, Proxy, ProxyProtocol};
use url::{Host, Position, Url};

use crate::outcome::redact_str;

/// The proxies from the environment. Each variable is looked up in lower case, then upper.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    direct: NoProxy,
    /// `--proxytunnel`: http URLs go to an HTTP proxy through a tunnel too.
    tunnel: bool,
}

impl Proxies {
    /// Reads the process environment, with `--proxy` and `--noproxy` in place of the variables
    /// when given.
    pub fn from_env(proxy: Option<&str>, noproxy: Option<&str>) -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok(), proxy, noproxy)
    }

    /// The same proxies with aria2c's `--http-proxy` and `--https-proxy` in place of what
    /// `-x` or the variables give for that scheme ("" for none).
    pub fn with_schemes(mut self, http: Option<&str>, https: Option<&str>) -> Result<Self, String> {
        if let Some(value) = http {
            self.http = parse_proxy("--http-proxy", value)?;
        }
        if let Some(value) = https {
            self.https = parse_proxy("--https-proxy", value)?;
        }
        Ok(self)
    }

    /// Reads the variables through `var`; an unusable proxy URL is an error naming its
    /// variable (or `--proxy`). Empty values count as unset. `proxy` is for every URL, and an
    /// empty one sends every URL direct whatever the variables say (curl's `-x ""`); `no_proxy`
    /// still exempts hosts from it. `noproxy` replaces `no_proxy`.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        proxy: Option<&str>,
        noproxy: Option<&str>,
    ) -> Result<Self, String> {
        // Under CGI, a request's `Proxy:` header arrives as HTTP_PROXY ("httpoxy"): there the
        // upper-case name is not read, as Go's net/http does (curl never reads it).
        let cgi = var("REQUEST_METHOD").is_some();
        let lookup = |name: &str| {
            let upper = name.to_ascii_uppercase();
            let upper = (!(cgi && upper == "HTTP_PROXY")).then_some(upper);
            [Some(name.to_string()), upper]
                .into_iter()
                .flatten()
                .find_map(|n| var(&n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
        };
        let parse = |found: Option<(String, String)>| match found {
            None => Ok(None),
            Some((name, value)) => parse_proxy(&name, &value),
        };
        let (http, https) = match proxy {
            Some(value) => {
                let given = (!value.trim().is_empty()).then(|| ("--proxy".into(), value.into()));
                let one = parse(given)?;
                (one.clone(), one)
            }
            None => {
                let all = parse(lookup("all_proxy"))?;
                let http = parse(lookup("http_proxy"))?.or_else(|| all.clone());
                (http, parse(lookup("https_proxy"))?.or(all))
            }
        };
        let exempt = match noproxy {
            Some(list) => list.to_string(),
            None => lookup("no_proxy").map(|(_, v)| v).unwrap_or_default(),
        };
        let direct = NoProxy::parse(&exempt);
        Ok(Self {
            http,
            https,
            direct,
            tunnel: false,
        })
    }

    /// The same proxies, with http URLs going to an HTTP proxy through a tunnel when `tunnel`
    /// (`--proxytunnel`).
    pub fn tunnelled(self, tunnel: bool) -> Self {
        Self { tunnel, ..self }
    }

    /// The same proxies with this login (`--proxy-user`) in place of any in their URLs.
    pub fn with_login(mut self, user: &str, password: &str) -> Result<Self, String> {
        let relogin = |proxy: Proxy| {
            relogin(&proxy, user, password)
                .map_err(|e| format!("--proxy-user cannot be used with the proxy: {e}"))
        };
        self.http = self.http.map(relogin).transpose()?;
        self.https = self.https.map(relogin).transpose()?;
        Ok(self)
    }

    /// Whether any URL may go through a proxy.
    pub fn any(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }

    /// A SOCKS proxy among them, if any: ureq connects to one itself (see `--interface`).
    pub fn socks(&self) -> Option<&Proxy> {
        use ureq::ProxyProtocol::{Http, Https};
        [&self.http, &self.https]
            .into_iter()
            .flatten()
            .find(|p| !matches!(p.protocol(), Http | Https))
    }

    /// A SOCKS proxy among them that looks the URL's host up itself (`socks4a`, `socks5h`),
    /// if any: ureq hands it the URL's host as it is (see `--connect-to`).
    pub fn socks_resolving(&self) -> Option<&Proxy> {
        [&self.http, &self.https]
            .into_iter()
            .flatten()
            .find(|p| is_socks(p) && !p.resolve_target())
    }

    /// The proxy for this URL, if it goes through one.
    pub fn for_url(&self, url: &Url) -> Option<&Proxy> {
        self.for_line(None, url)
    }

    /// The proxy for this URL of a line with these proxy options, if it goes through one: the
    /// line's own proxy for the URL's scheme in place of the run's, and its `no-proxy=` in
    /// place of the run's exemptions.
    pub fn for_line<'a>(&'a self, line: Option<&'a LineProxies>, url: &Url) -> Option<&'a Proxy> {
        let https = url.scheme() == "https";
        let (run, own) = match https {
            true => (&self.https, line.and_then(|line| line.https.as_ref())),
            false => (&self.http, line.and_then(|line| line.http.as_ref())),
        };
        let proxy = match own {
            Some(own) => own.as_ref(),
            None => run.as_ref(),
        }?;
        let direct = (line.and_then(|line| line.direct.as_ref())).unwrap_or(&self.direct);
        (!direct.exempts(url)).then_some(proxy)
    }

    /// Whether `url`, of a line with these proxy options, goes to `proxy` in absolute form: an
    /// http URL and an HTTP or https proxy (then on a TLS connection to the proxy, as curl
    /// makes one), unless the run or the line asks for a tunnel.
    pub fn in_absolute_form(&self, line: Option<&LineProxies>, proxy: &Proxy, url: &Url) -> bool {
        let tunnel = line.and_then(|line| line.tunnel).unwrap_or(self.tunnel);
        !tunnel
            && url.scheme() == "http"
            && matches!(proxy.protocol(), ProxyProtocol::Http | ProxyProtocol::Https)
    }
}

/// The proxy `value` of the variable or option `name` names; none for an empty one. One that
/// does not parse is an error naming it, its password hidden whether or not it parses as a URL.
fn parse_proxy(name: &str, value: &str) -> Result<Option<Proxy>, String> {
    match value.trim() {
        "" => Ok(None),
        value => Proxy::new(value).map(Some).map_err(|e| {
            let shown = crate::report::escape(redact_str(value).as_bytes());
            format!("{name}=`{shown}` is not a usable proxy URL ({e})")
        }),
    }
}

/// The same proxy with this login in place of any in its URL.
fn relogin(proxy: &Proxy, user: &str, password: &str) -> Result<Proxy, Error> {
    Proxy::builder(proxy.protocol())
        .host(proxy.host())
        .port(proxy.port())
        .username(user)
        .password(password)
        .resolve_target(proxy.resolve_target())
        .build()
}

/// aria2c's proxy options on a list line (as its input files and `--save-session` have them):
/// `all-proxy=`, `http-proxy=` and `https-proxy=`, each with its `-user=` and `-passwd=`, and
/// `no-proxy=`, for that line's URL (and its redirects) in place of the run's. As in aria2c,
/// `http-proxy=` is for http URLs and `https-proxy=` for https ones, `all-proxy=` for either
/// the line does not name its own for, they are HTTP (or https) proxies, and a login with no
/// proxy of its kind on the line is for the run's; an empty value sends the line direct, as
/// curl's `-x ""`. A line's proxy never gets the run's `--proxy-user`: the list, not the user,
/// named where it goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineProxies {
    /// As given, for all, http and https URLs.
    given: [Given; 3],
    /// `no-proxy=`: the hosts the line's URL goes direct to, in place of the run's.
    direct: Option<NoProxy>,
    /// `proxy-method=tunnel|get`: whether an http URL goes to an HTTP proxy through a tunnel,
    /// in place of `--proxytunnel`.
    tunnel: Option<bool>,
    /// What http and https URLs go through, once [`LineProxies::settle`] has weighed the line's
    /// options against the run's: the proxy, or direct (`Some(None)`); `None`: the run's.
    http: Option<Option<Proxy>>,
    https: Option<Option<Proxy>>,
}

/// One kind of a line's proxy options as given: the proxy (`Some(None)` for an empty value),
/// and the login for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Given {
    proxy: Option<Option<Proxy>>,
    user: Option<String>,
    password: Option<String>,
}

impl LineProxies {
    /// Whether the line sends its URLs another way than the run would: its own proxies, or
    /// its own hosts to reach direct.
    pub fn any(&self) -> bool {
        self.http.is_some()
            || self.https.is_some()
            || self.direct.is_some()
            || self.tunnel.is_some()
    }

    /// Whether `key` is one of the options this takes.
    pub fn takes(key: &str) -> bool {
        key == "no-proxy" || key == "proxy-method" || Self::kind(key).is_some()
    }

    /// Which of all, http and https a proxy option is for, and its suffix.
    fn kind(key: &str) -> Option<(usize, &str)> {
        let (kind, what) = key.split_once("-proxy")?;
        let index = ["all", "http", "https"].iter().position(|k| *k == kind)?;
        ["", "-user", "-passwd"]
            .contains(&what)
            .then_some((index, what))
    }

    /// Takes one option [`LineProxies::takes`]; an unusable proxy URL, or a SOCKS one
    /// (aria2c's proxies are HTTP ones; a SOCKS proxy goes with `--proxy`), is an error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let Some((index, what)) = Self::kind(key) else {
            match (key, value) {
                ("proxy-method", "get") => self.tunnel = Some(false),
                ("proxy-method", "tunnel") => self.tunnel = Some(true),
                ("proxy-method", _) => {
                    return Err(format!("proxy-method= takes get or tunnel, not `{value}`"));
                }
                _ => self.direct = Some(NoProxy::parse(value)),
            }
            return Ok(());
        };
        let given = &mut self.given[index];
        match what {
            "" => {
                let proxy = parse_proxy(key, value)?;
                if proxy.as_ref().is_some_and(is_socks) {
                    return Err(format!(
                        "{key}= takes an HTTP or https proxy, as aria2c's does; a SOCKS proxy \
                         goes with --proxy"
                    ));
                }
                given.proxy = Some(proxy);
            }
            "-user" => given.user = Some(value.to_string()),
            _ => given.password = Some(value.to_string()),
        }
        Ok(())
    }

    /// Weighs the line's options against the run's proxies, once all of them are read: which
    /// proxy the line's http and https URLs go through, with the line's login.
    pub fn settle(&mut self, run: &Proxies) -> Result<(), String> {
        let [all, http, https] = &self.given;
        let pick = |own: &Given, run: Option<&Proxy>, scheme: &str| {
            // The line's proxy for the scheme, else its all-proxy=, else the run's; the login
            // that goes with the option picked, or with the scheme's own, or all's.
            let (proxy, login_from) = match (&own.proxy, &all.proxy) {
                (Some(proxy), _) => (proxy.clone(), own),
                (None, Some(proxy)) => (proxy.clone(), all),
                (None, None) => {
                    let own_login = own.user.is_some() || own.password.is_some();
                    (run.cloned(), if own_login { own } else { all })
                }
            };
            let line_says = own.proxy.is_some() || all.proxy.is_some();
            let (user, password) = (&login_from.user, &login_from.password);
            if user.is_none() && password.is_none() {
                return Ok(line_says.then_some(proxy));
            }
            let Some(proxy) = proxy else {
                return Err(format!(
                    "the line gives a proxy login and no proxy for {scheme} URLs, nor does the \
                     run"
                ));
            };
            let user = (user.as_deref()).or(proxy.username()).unwrap_or_default();
            let password = (password.as_deref().or(proxy.password())).unwrap_or_default();
            let proxy = relogin(&proxy, user, password)
                .map_err(|e| format!("the proxy login cannot be used: {e}"))?;
            Ok(Some(Some(proxy)))
        };
        self.http = pick(http, run.http.as_ref(), "http")?;
        self.https = pick(https, run.https.as_ref(), "https")?;
        Ok(())
    }
}

/// The hosts `no_proxy` sends direct, with curl's rules: `*` is every host, and a name is that
/// host and every host under it (`example.com` and `.example.com` both cover `a.example.com`);
/// an IP address is that address, and `ADDRESS/BITS` a network (`10.0.0.0/8`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct NoProxy {
    all: bool,
    names: Vec<String>,
    networks: Vec<(IpAddr, u32)>,
}

impl NoProxy {
    fn parse(list: &str) -> Self {
        let mut direct = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                direct.all = true;
                continue;
            }
            if let Some((address, bits)) = entry.split_once('/')
                && let (Ok(address), Ok(bits)) = (address.parse::<IpAddr>(), bits.parse::<u32>())
            {
                direct.networks.push((address, bits));
                continue;
            }
            let name = entry.trim_start_matches("*.").trim_start_matches('.');
            let name = name.trim_start_matches('[').trim_end_matches(']');
            direct.names.push(crate::resolve::ascii_host(name));
        }
        direct
    }

    fn exempts(&self, url: &Url) -> bool {
        if self.all {
            return true;
        }
        let host = match url.host() {
            Some(Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            Some(Host::Ipv4(ip)) => return self.covers_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => return self.covers_ip(IpAddr::V6(ip)),
            None => return false,
        };
        self.names.iter().any(|name| {
            host == *name
                || host
                    .strip_suffix(name.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    fn covers_ip(&self, ip: IpAddr) -> bool {
        self.names.contains(&ip.to_string())
            || (self.networks.iter()).any(|&(network, bits)| in_network(ip, network, bits))
    }
}

/// Whether `ip` is in `network/bits` (never across IPv4 and IPv6).
fn in_network(ip: IpAddr, network: IpAddr, bits: u32) -> bool {
    match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            same_top_bits(u32::from(a).into(), u32::from(b).into(), bits.min(32) + 96)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => same_top_bits(a.into(), b.into(), bits.min(128)),
        _ => false,
    }
}

/// Whether two 128-bit numbers agree in their top `bits` bits.
fn same_top_bits(a: u128, b: u128, bits: u32) -> bool {
    bits == 0 || (a ^ b) >> (128 - bits) == 0
}

thread_local! {
    /// Set on a fetching thread while its request goes to a proxy in absolute form.
    static ABSOLUTE: RefCell<Option<Absolute>> = const { RefCell::new(None) };
}

/// An http URL on its way to an HTTP proxy as curl, wget and aria2c send it: on a connection to
/// the proxy, a request line naming the whole URL (`GET http://host/path HTTP/1.1`, RFC 9112
/// 3.2.2), no CONNECT. ureq tunnels every URL with CONNECT, which proxies commonly allow to
/// port 443 only (squid's default configuration refuses it to port 80 with a 403), and which
/// keeps a caching proxy from caching. While one is set, the resolver gives the proxy's
/// addresses, the TLS link makes TLS to an https proxy, the link that writes the plaintext
/// (TCP, or TLS to the proxy) writes the request line in absolute form, and the trace shows it
/// so.
struct Absolute {
    proxy: Proxy,
    /// What goes before the path in the request line: `http://host:port`.
    origin: String,
}

/// Runs `call` with this thread's requests going to `proxy` in absolute form for `url`; a
/// connection to the proxy that cannot be made comes out as the proxy's failure.
pub fn absolute<R>(
    proxy: &Proxy,
    url: &Url,
    call: impl FnOnce() -> Result<R, Error>,
) -> Result<R, Error> {
    /// Clears the setting however `call` ends.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ABSOLUTE.set(None);
        }
    }
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let origin = format!("http://{authority}");
    ABSOLUTE.set(Some(Absolute {
        proxy: proxy.clone(),
        origin,
    }));
    let _reset = Reset;
    let port = url.port_or_known_default().unwrap_or(80);
    let target = || format!("{}:{port}", url.host_str().unwrap_or_default());
    call().map_err(|err| match err {
        Error::Io(io) if unreachable(io.kind()) && !kept_as_is(&io) => {
            let cause = Cause::Unreachable(crate::transport::without_address(&io));
            Error::Io(io::Error::new(
                io.kind(),
                AtProxy::new(proxy, target(), cause),
            ))
        }
        err => err,
    })
}

/// The proxy's URI, while this thread's request goes to it in absolute form: the resolver
/// looks its name up in place of the URL's.
pub fn absolute_proxy_uri() -> Option<Uri> {
    ABSOLUTE.with_borrow(|absolute| absolute.as_ref().map(|a| a.proxy.uri().clone()))
}

/// The host of an https proxy, while this thread's request goes to it in absolute form: the
/// TLS link makes its connection to the proxy a TLS one, checked for that name.
pub fn absolute_tls_host() -> Option<String> {
    ABSOLUTE.with_borrow(|absolute| {
        let proxy = &absolute.as_ref()?.proxy;
        (proxy.protocol() == ProxyProtocol::Https).then(|| proxy.host().to_string())
    })
}

/// The proxy's address, while this thread's request goes to it in absolute form (for -v).
pub fn absolute_proxy_address() -> Option<String> {
    ABSOLUTE.with_borrow(|absolute| absolute.as_ref().map(|a| address(&a.proxy)))
}

/// `head` with its request line in absolute form, when this thread's request goes to a proxy
/// so and `head` starts a request (fetchpar sends only GET and HEAD, with no body).
pub fn absolute_head(head: &[u8]) -> Option<Vec<u8>> {
    ABSOLUTE.with_borrow(|absolute| {
        let absolute = absolute.as_ref()?;
        let method = [&b"GET /"[..], b"HEAD /"]
            .into_iter()
            .find(|start| head.starts_with(start))?;
        let path_at = method.len() - 1;
        Some(
            [
                &head[..path_at],
                absolute.origin.as_bytes(),
                &head[path_at..],
            ]
            .concat(),
        )
    })
}

thread_local! {
    /// Set on a thread while [`Connect`] makes its connection to the proxy through the chain,
    /// which passes [`Connect`] again on the way: there it does nothing.
    static TO_PROXY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The CONNECT link, in place of ureq's: a tunnel through an HTTP or https proxy to an https
/// URL's host, as ureq's makes one (the same request head), and a proxy that answers the
/// tunnel's login with a 407 asking for Digest is asked again, on a new connection, with the
/// challenge answered (ureq's link sends Basic only). The challenge is kept with the run's
/// logins, so the proxy's further tunnels answer it at once.
#[derive(Debug)]
pub struct Connect {
    pub auth: std::sync::Arc<crate::auth::Auth>,
    /// `--connect-to`: the tunnel asked for goes to where a rule sends the URL's host.
    pub connect_to: std::sync::Arc<crate::connect_to::ConnectTo>,
    /// `--proxy-header`: sent with each CONNECT, in place of one of the same name.
    pub headers: std::sync::Arc<[(HeaderName, HeaderValue)]>,
}

/// The most of a proxy's answer to CONNECT read for its head.
const CONNECT_HEAD: usize = 64 * 1024;

impl<In: Transport> Connector<In> for Connect {
    type Out = Either<In, Box<dyn Transport>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let proxy = details.config.proxy().filter(|p| !is_socks(p));
        let Some(proxy) = proxy.filter(|p| !TO_PROXY.get() && !p.is_no_proxy(details.uri)) else {
            return Ok(None);
        };
        let target = match (proxy.resolve_target(), details.addrs.first()) {
            (true, Some(addr)) => addr.to_string(),
            _ => self.connect_to.uri(details.uri).map_or_else(
                || target(details),
                |moved| format!("{}", moved.authority().expect("built with one")),
            ),
        };
        let mut fresh = None;
        loop {
            let authorization =
                (self.auth).proxy_authorization(proxy, ("CONNECT", &target), fresh.as_mut());
            // Blamed here, where the target asked for is known (`--connect-to` may have
            // changed it from the URL's).
            let asking = (target.as_str(), authorization.as_deref(), &self.headers[..]);
            let answer =
                tunnel(details, proxy, asking).map_err(|err| blame(err, proxy, target.clone()))?;
            let status = answer.status;
            match status {
                200..=299 => {
                    if let Some(answered) = fresh {
                        self.auth.keep_proxy(proxy, answered);
                    }
                    return Ok(Some(Either::B(Tunnel(answer.transport).boxed())));
                }
                407 if fresh.is_none() => {
                    fresh = self.auth.proxy_challenge(proxy, &answer.asked);
                    if fresh.is_some() {
                        continue;
                    }
                }
                _ => {}
            }
            if status == 407 && authorization.is_some() {
                let refused = AtProxy::new(proxy, target.clone(), Cause::LoginRefused);
                return Err(Error::Io(io::Error::other(refused)));
            }
            let refused = AtProxy::new(proxy, target, Cause::Answered(status));
            return Err(Error::Io(io::Error::other(refused)));
        }
    }
}

/// A proxy's answer to CONNECT, its head taken off the connection's input: after a 2xx, what
/// follows is the tunnel's.
struct Answer {
    transport: Box<dyn Transport>,
    status: u16,
    /// Its `Proxy-Authenticate` values.
    asked: Vec<HeaderValue>,
}

/// Connects to `proxy` and asks it for a tunnel to `target`.
fn tunnel(
    details: &ConnectionDetails,
    proxy: &Proxy,
    (target, authorization, given): (&str, Option<&str>, &[(HeaderName, HeaderValue)]),
) -> Result<Answer, Error> {
    let uri = proxy.uri();
    let addrs = details
        .resolver
        .resolve(uri, details.config, details.timeout)?;
    let to_proxy = ConnectionDetails {
        uri,
        addrs,
        config: details.config,
        request_level: details.request_level,
        resolver: details.resolver,
        now: details.now,
        timeout: details.timeout,
        current_time: details.current_time.clone(),
        run_connector: details.run_connector.clone(),
        register_shutdown: details.register_shutdown.clone(),
    };
    let before = TO_PROXY.replace(true);
    let made = (details.run_connector)(&to_proxy);
    TO_PROXY.set(before);
    let mut w = TransportAdapter::new(made?, details.current_time.clone());
    w.set_timeout(details.timeout);
    let mut head = format!("CONNECT {target} HTTP/1.1\r\n").into_bytes();
    let agent = match details.config.user_agent() {
        AutoHeaderValue::Provided(agent) => Some(agent.as_str()),
        _ => None,
    };
    let own = [
        ("Host", Some(target)),
        ("User-Agent", agent),
        ("Proxy-Connection", Some("Keep-Alive")),
        ("Proxy-Authorization", authorization),
    ];
    // A --proxy-header takes the place of the head's own line of its name, as curl's does.
    for (name, value) in own {
        if let Some(value) = value.filter(|_| {
            !given
                .iter()
                .any(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
        }) {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    for (name, value) in given {
        head.extend_from_slice(
            &[name.as_str().as_bytes(), b": ", value.as_bytes(), b"\r\n"].concat(),
        );
    }
    head.extend_from_slice(b"\r\n");
    io::Write::write_all(&mut w, &head)?;
    io::Write::flush(&mut w)?;
    let mut transport = w.into_inner();
    // The connection to the proxy was made: a connect timeout now is the proxy's silence, not
    // a host that could not be reached.
    let silent = |err| match err {
        Error::Timeout(ureq::Timeout::Connect) => {
            let at = AtProxy::new(proxy, target.to_string(), Cause::Silent);
            Error::Io(io::Error::new(io::ErrorKind::TimedOut, at))
        }
        err => err,
    };
    loop {
        let progress = transport
            .maybe_await_input(details.timeout)
            .map_err(silent)?;
        let input = transport.buffers().input();
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(input) {
            Ok(httparse::Status::Complete(used)) => {
                let status = answer.code.unwrap_or(0);
                let asked = (answer.headers.iter())
                    .filter(|h| h.name.eq_ignore_ascii_case("proxy-authenticate"))
                    .filter_map(|h| HeaderValue::from_bytes(h.value).ok())
                    .collect();
                transport.buffers().input_consume(used);
                return Ok(Answer {
                    transport,
                    status,
                    asked,
                });
            }
            Ok(httparse::Status::Partial) if progress && input.len() < CONNECT_HEAD => continue,
            // Closed before a whole head came, or more head than any proxy sends.
            _ => {
                let reason = "proxy server did not respond".to_string();
                return Err(Error::ConnectProxyFailed(reason));
            }
        }
    }
}

/// A tunnel through a proxy: the connection to the proxy, with no TLS of the URL's host yet
/// (there may be TLS to an https proxy under it).
#[derive(Debug)]
struct Tunnel(Box<dyn Transport>);

impl Transport for Tunnel {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.0.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        false
    }
}

/// The link around the SOCKS and CONNECT links: a SOCKS link's failures say only
/// "connection refused" (ureq's words), and a user cannot tell whether the proxy or the host
/// behind it refused. This one makes each an [`AtProxy`] ([`Connect`] makes its own, naming
/// the target it asked for).
#[derive(Debug)]
pub struct Blamed<C>(pub C);

impl<In: Transport, C: Connector<In>> Connector<In> for Blamed<C> {
    type Out = C::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        // With a connection made already, the proxy links pass it on and cannot fail.
        let making = chained.is_none();
        let made = self.0.connect(details, chained);
        match (made, details.config.proxy()) {
            (Err(err), Some(proxy)) if making => Err(blame(err, proxy, target(details))),
            (made, _) => made,
        }
    }
}

/// `err` as an [`AtProxy`] when it is the proxy's doing; timeouts, name lookups and what
/// [`kept_as_is`] names stay what they are.
fn blame(err: Error, proxy: &Proxy, target: String) -> Error {
    let at = |kind: io::ErrorKind, cause: Cause| {
        let at = AtProxy::new(proxy, target.clone(), cause);
        Error::Io(io::Error::new(kind, at))
    };
    match err {
        Error::ConnectProxyFailed(reason) => {
            // ureq's text: "proxy server responded {code}/{code}", or "... did not respond".
            let code = (reason.rsplit_once('/')).and_then(|(_, code)| code.parse::<u16>().ok());
            match code {
                Some(code) => at(io::ErrorKind::Other, Cause::Answered(code)),
                None => at(io::ErrorKind::UnexpectedEof, Cause::NoAnswer),
            }
        }
        Error::Io(io) if kept_as_is(&io) => Error::Io(io),
        Error::Io(io) if unreachable(io.kind()) => at(
            io.kind(),
            Cause::Unreachable(crate::transport::without_address(&io)),
        ),
        Error::Io(io) if is_socks(proxy) && !broke(io.kind()) => {
            let reason = io.to_string();
            let kind = match reason.as_str() {
                // The proxy's own word that nothing listens at the host: as curl and wget
                // treat a refused connection, not retried unless --retry-connrefused.
                "connection refused" => io::ErrorKind::ConnectionRefused,
                _ => io.kind(),
            };
            at(kind, Cause::Socks(reason))
        }
        Error::Io(io) => at(io.kind(), Cause::Broke(io.to_string())),
        err => err,
    }
}

/// Errors told as they are, proxy or not: TLS to an https proxy, a cancelled run, and an
/// `--interface` without the proxy's address family (which is not retried).
fn kept_as_is(io: &io::Error) -> bool {
    let no_family = io
        .get_ref()
        .is_some_and(|e| e.is::<crate::interface::NoFamily>());
    let told = io.get_ref().is_some_and(|e| e.is::<AtProxy>());
    no_family || told || crate::tls::is_tls(io) || crate::transport::was_interrupted(io)
}

/// The host and port a connection is for, as a proxy is asked for them.
pub fn target(details: &ConnectionDetails) -> String {
    let port = crate::resolve::port_of(details.uri).unwrap_or(80);
    format!("{}:{port}", details.uri.host().unwrap_or_default())
}

/// Whether `proxy` is a SOCKS one (4, 4a, 5 or 5h).
pub fn is_socks(proxy: &Proxy) -> bool {
    !matches!(proxy.protocol(), ProxyProtocol::Http | ProxyProtocol::Https)
}

/// The errors of a connection that could not be made at all.
fn unreachable(kind: io::ErrorKind) -> bool {
    use io::ErrorKind as E;
    matches!(
        kind,
        E::ConnectionRefused
            | E::HostUnreachable
            | E::NetworkUnreachable
            | E::AddrNotAvailable
            | E::NetworkDown
    )
}

/// The errors of a connection that was made and then closed or reset.
fn broke(kind: io::ErrorKind) -> bool {
    use io::ErrorKind as E;
    matches!(
        kind,
        E::UnexpectedEof | E::ConnectionReset | E::ConnectionAborted | E::BrokenPipe
    )
}

/// A proxy's host and port, without the login its URL may hold.
pub fn address(proxy: &Proxy) -> String {
    let host = proxy.host();
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{}", proxy.port())
    } else {
        format!("{host}:{}", proxy.port())
    }
}

/// A URL that failed at its proxy: which proxy, the host it was to reach, and what happened.
#[derive(Debug)]
pub struct AtProxy {
    /// Its protocol, host and port (`HTTP proxy 10.0.0.1:3128`).
    proxy: String,
    /// The host and port the proxy was asked to connect to.
    target: String,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    /// The connection to the proxy could not be made.
    Unreachable(String),
    /// The proxy answered CONNECT with this status.
    Answered(u16),
    /// The proxy closed the connection without answering CONNECT.
    NoAnswer,
    /// The proxy answered CONNECT with a 407 to the login it was given.
    LoginRefused,
    /// The proxy took the connection and did not answer CONNECT within the connect timeout.
    Silent,
    /// The connection to the proxy broke before the tunnel was made.
    Broke(String),
    /// The SOCKS proxy refused: ureq's reason (a reply code's meaning, the login refused, or
    /// an answer that is no SOCKS).
    Socks(String),
}

impl AtProxy {
    fn new(proxy: &Proxy, target: String, cause: Cause) -> Self {
        Self {
            proxy: format!("{} proxy {}", proxy.protocol(), address(proxy)),
            target,
            cause,
        }
    }

    /// Nothing a retry could change: the proxy refused the tunnel or the login (a 4xx
    /// answer, a SOCKS rule or login), where a 5xx answer or a broken connection may pass.
    pub fn settled(&self) -> bool {
        match &self.cause {
            Cause::Answered(code) => (400..500).contains(code) && *code != 408 && *code != 429,
            Cause::LoginRefused => true,
            // The reply codes that say the way to the host failed this time (RFC 1928 6),
            // and a refusal, which `refused` decides on; the rest are the proxy's rules, a
            // login refused or a server that speaks no SOCKS.
            Cause::Socks(reason) => !matches!(
                reason.as_str(),
                "general SOCKS server failure"
                    | "network unreachable"
                    | "host unreachable"
                    | "TTL expired"
                    | "connection refused"
            ),
            _ => false,
        }
    }
}

impl fmt::Display for AtProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            proxy,
            target,
            cause,
        } = self;
        match cause {
            Cause::Unreachable(why) => write!(f, "cannot connect to the {proxy}: {why}"),
            Cause::Answered(407) => write!(
                f,
                "the {proxy} asks for a login to reach {target} (407 Proxy Authentication \
                 Required): give it in the proxy URL or with --proxy-user"
            ),
            Cause::Answered(code) => {
                let reason = ureq::http::StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(
                    f,
                    "the {proxy} refused to connect to {target}: {code} {reason}"
                )
            }
            Cause::NoAnswer => write!(
                f,
                "the {proxy} closed the connection without answering the CONNECT to {target}"
            ),
            Cause::Silent => write!(
                f,
                "the {proxy} did not answer the CONNECT to {target} within the connect timeout \
                 (--connect-timeout)"
            ),
            Cause::LoginRefused => write!(
                f,
                "the {proxy} refused the login it was given to reach {target} (407 Proxy \
                 Authentication Required)"
            ),
            Cause::Broke(why) => write!(
                f,
                "the connection to the {proxy} broke before it connected to {target}: {why}"
            ),
            Cause::Socks(why) => write!(f, "the {proxy} could not connect to {target}: {why}"),
        }
    }
}

impl std::error::Error for AtProxy {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_proxys_address_has_no_login_and_brackets_ipv6() {
        let named = Proxy::new("http://me:secret@proxy.example:3128").unwrap();
        assert_eq!(address(&named), "proxy.example:3128");
        let v6 = Proxy::new("socks5h://me:secret@[::1]:1080").unwrap();
        assert_eq!(address(&v6), "[::1]:1080");
    }

    fn proxies(vars: &[(&str, &str)]) -> Result<Proxies, String> {
        with_flags(vars, None, None)
    }

    fn with_flags(
        vars: &[(&str, &str)],
        proxy: Option<&str>,
        noproxy: Option<&str>,
    ) -> Result<Proxies, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_vars(|name| map.get(name).cloned(), proxy, noproxy)
    }

    #[test]
    fn a_socks_proxy_that_looks_names_up_is_found_whichever_scheme_it_serves() {
        let mixed = [
            ("http_proxy", "socks5://a:1"),
            ("https_proxy", "socks5h://b:2"),
        ];
        let p = proxies(&mixed).unwrap();
        assert_eq!(p.socks_resolving().map(|p| p.host()), Some("b"));
        let local = proxies(&[("all_proxy", "socks4://c:3")]).unwrap();
        assert!(local.socks_resolving().is_none());
        let http = proxies(&[("all_proxy", "http://d:4")]).unwrap();
        assert!(http.socks_resolving().is_none());
    }

    #[test]
    fn the_options_take_the_place_of_the_variables_as_in_curl() {
        let env = [
            ("http_proxy", "http://h:1"),
            ("https_proxy", "ftp://unusable:2"),
            ("no_proxy", "skip.example"),
        ];
        // -x: every scheme through it, a bad variable no longer matters, no_proxy still holds.
        let p = with_flags(&env, Some("x.example:8080"), None).unwrap();
        assert_eq!(route(&p, "http://a/"), "x.example:8080");
        assert_eq!(route(&p, "https://a/"), "x.example:8080");
        assert_eq!(route(&p, "http://skip.example/"), "direct");
        // -x "": everything direct.
        let p = with_flags(&env, Some(""), None).unwrap();
        assert_eq!(route(&p, "http://a/"), "direct");
        assert_eq!(route(&p, "https://a/"), "direct");
        // --noproxy replaces no_proxy.
        let p = with_flags(&env, Some("http://x:1"), Some("a")).unwrap();
        assert_eq!(route(&p, "http://a/"), "direct");
        assert_eq!(route(&p, "http://skip.example/"), "x:1");
        let p = with_flags(&env, Some("http://x:1"), Some("")).unwrap();
        assert_eq!(route(&p, "http://skip.example/"), "x:1");
        // A bad -x is named as the option, its password hidden.
        let err = with_flags(&[], Some("ftp://u:s3cret@p:21"), None)
            .err()
            .unwrap();
        assert!(err.starts_with("--proxy=`ftp://***@p:21`"), "{err}");
    }

    /// The proxy's host and port for a URL, or "direct".
    fn route(p: &Proxies, url: &str) -> String {
        p.for_url(&Url::parse(url).unwrap())
            .map_or("direct".into(), |x| format!("{}:{}", x.host(), x.port()))
    }

    /// A line's route for a URL, with these options under a run with these proxies: the
    /// proxy's login, host and port, or "direct".
    fn line_route(run: &Proxies, options: &[(&str, &str)], url: &str) -> Result<String, String> {
        let mut line = LineProxies::default();
        for (key, value) in options {
            line.set(key, value)?;
        }
        line.settle(run)?;
        let proxy = run.for_line(Some(&line), &Url::parse(url).unwrap());
        Ok(proxy.map_or("direct".into(), |x| {
            let login = (x.username()).map_or(String::new(), |user| {
                format!("{user}:{}@", x.password().unwrap_or_default())
            });
            format!("{login}{}:{}", x.host(), x.port())
        }))
    }

    #[test]
    fn a_lines_proxy_options_take_the_place_of_the_runs_as_in_aria2c() {
        let none = Proxies::default();
        let run = with_flags(&[("no_proxy", "near.example")], Some("http://r:1"), None).unwrap();
        let route = |run: &Proxies, options: &[(&str, &str)], url: &str| {
            line_route(run, options, url).unwrap()
        };
        // all-proxy= for either scheme; http-proxy= and https-proxy= for their own, over it.
        let all = [("all-proxy", "http://a:2/")];
        assert_eq!(route(&none, &all, "http://x/"), "a:2");
        assert_eq!(route(&none, &all, "https://x/"), "a:2");
        let both = [("all-proxy", "a:2"), ("https-proxy", "https://s:3")];
        assert_eq!(route(&none, &both, "http://x/"), "a:2");
        assert_eq!(route(&none, &both, "https://x/"), "s:3");
        let http = [("http-proxy", "http://h:4")];
        assert_eq!(route(&run, &http, "http://x/"), "h:4");
        assert_eq!(
            route(&run, &http, "https://x/"),
            "r:1",
            "the run's for the other"
        );
        // The run's no_proxy holds for the line's proxy, unless the line has its own.
        assert_eq!(route(&run, &http, "http://near.example/"), "direct");
        let own = [("http-proxy", "http://h:4"), ("no-proxy", "x,10.0.0.0/8")];
        assert_eq!(route(&run, &own, "http://near.example/"), "h:4");
        assert_eq!(route(&run, &own, "http://x/"), "direct");
        assert_eq!(route(&run, &own, "http://10.1.2.3/"), "direct");
        // An empty value: direct, as curl's -x "".
        assert_eq!(route(&run, &[("all-proxy", "")], "https://x/"), "direct");
        let direct_http = [("all-proxy", "a:2"), ("http-proxy", "")];
        assert_eq!(route(&run, &direct_http, "http://x/"), "direct");
        assert_eq!(route(&run, &direct_http, "https://x/"), "a:2");
        // A login for the proxy it goes with, in place of one in its URL, in either order.
        let login = [
            ("all-proxy-passwd", "p w"),
            ("all-proxy", "http://old:pass@a:2"),
            ("all-proxy-user", "me"),
        ];
        assert_eq!(route(&none, &login, "https://x/"), "me:p w@a:2");
        let kinds = [
            ("all-proxy", "a:2"),
            ("all-proxy-user", "all"),
            ("http-proxy", "h:4"),
            ("http-proxy-user", "web"),
        ];
        assert_eq!(route(&none, &kinds, "http://x/"), "web:@h:4");
        assert_eq!(route(&none, &kinds, "https://x/"), "all:@a:2");
        // With no proxy of its kind on the line, for the run's, as aria2c merges options.
        let alone = [("https-proxy-user", "me"), ("https-proxy-passwd", "pw")];
        assert_eq!(route(&run, &alone, "https://x/"), "me:pw@r:1");
        assert_eq!(route(&run, &alone, "http://x/"), "r:1");
        assert_eq!(
            line_route(&none, &alone, "https://x/").unwrap_err(),
            "the line gives a proxy login and no proxy for https URLs, nor does the run"
        );
        // No options: the run's way.
        assert_eq!(route(&run, &[], "http://x/"), "r:1");
        let mut untouched = LineProxies::default();
        untouched.settle(&run).unwrap();
        assert!(!untouched.any());
    }

    #[test]
    fn each_scheme_has_its_own_variable_and_all_proxy_fills_in() {
        let p = proxies(&[("http_proxy", "http://h:1")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "h:1");
        assert_eq!(route(&p, "https://a/"), "direct");

        let p = proxies(&[("HTTPS_PROXY", "http://s:2")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "direct");
        assert_eq!(route(&p, "https://a/"), "s:2");

        let p = proxies(&[("ALL_PROXY", "http://all:3"), ("http_proxy", "http://h:1")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "h:1");
        assert_eq!(route(&p, "https://a/"), "all:3");

        let none = proxies(&[]).unwrap();
        assert_eq!(route(&none, "http://a/"), "direct");
        assert_eq!(route(&none, "https://a/"), "direct");

        // HTTP_PROXY, but not under CGI, where a request's Proxy header would have set it.
        let p = proxies(&[("HTTP_PROXY", "http://up:4")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "up:4");
        let cgi = [
            ("HTTP_PROXY", "http://attacker:4"),
            ("REQUEST_METHOD", "GET"),
            ("HTTPS_PROXY", "http://s:2"),
        ];
        let p = proxies(&cgi).unwrap();
        assert_eq!(route(&p, "http://a/"), "direct");
        assert_eq!(route(&p, "https://a/"), "s:2");
        let p = proxies(&[("http_proxy", "http://h:1"), ("REQUEST_METHOD", "GET")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "h:1");
    }

    #[test]
    fn lower_case_wins_and_empty_values_count_as_unset() {
        let p = proxies(&[
            ("http_proxy", "http://low:1"),
            ("HTTP_PROXY", "http://up:2"),
        ])
        .unwrap();
        assert_eq!(route(&p, "http://a/"), "low:1");
        let p = proxies(&[("http_proxy", " "), ("HTTP_PROXY", "http://up:2")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "up:2");
        let p = proxies(&[("all_proxy", "")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "direct");
        assert_eq!(route(&p, "https://a/"), "direct");
    }

    #[test]
    fn an_unusable_proxy_url_is_an_error_naming_its_variable() {
        let err = proxies(&[("https_proxy", "ftp://p:21")]).err().unwrap();
        assert!(err.starts_with("https_proxy=`ftp://p:21`"), "{err}");
        // A password in the value is not shown, URL or not.
        let err = proxies(&[("http_proxy", "ftp://al:s3cret@p:21")])
            .err()
            .unwrap();
        assert!(err.starts_with("http_proxy=`ftp://***@p:21`"), "{err}");
        let err = proxies(&[("all_proxy", "al:s3cret@::bad::")])
            .err()
            .unwrap();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(proxies(&[("HTTP_PROXY", "::bad::")]).is_err());
        // A bare host:port is an HTTP proxy, as curl takes it.
        let p = proxies(&[("http_proxy", "proxy.example:3128")]).unwrap();
        assert_eq!(route(&p, "http://a/"), "proxy.example:3128");
    }

    #[test]
    fn no_proxy_covers_a_host_and_the_hosts_under_it() {
        let p = proxies(&[
            ("all_proxy", "http://p:1"),
            (
                "no_proxy",
                " Example.com, .corp.test,*.wild.test, 10.0.0.1, [::1], 192.168.0.0/16, fd00::/8, \
                 bücher.test",
            ),
        ])
        .unwrap();
        for direct in [
            // An international name as URLs hold it, in ASCII.
            "http://bücher.test/",
            "http://www.xn--bcher-kva.test/",
            "http://example.com/",
            "https://www.EXAMPLE.com./x",
            "http://corp.test/",
            "http://a.b.corp.test/",
            "http://x.wild.test/",
            "http://10.0.0.1:8080/",
            "http://[::1]/",
            "http://192.168.4.5/",
            "http://[fd12::1]/",
        ] {
            assert_eq!(route(&p, direct), "direct", "{direct}");
        }
        for proxied in [
            "http://badexample.com/",
            "http://example.com.evil/",
            "http://10.0.0.10/",
            "http://[::2]/",
            "http://192.169.0.1/",
            "http://[fe80::1]/",
        ] {
            assert_eq!(route(&p, proxied), "p:1", "{proxied}");
        }
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(ip("10.1.2.3"), ip("10.0.0.0"), 8));
        assert!(!in_network(ip("11.0.0.1"), ip("10.0.0.0"), 8));
        assert!(in_network(ip("10.0.0.1"), ip("10.0.0.1"), 32));
        assert!(!in_network(ip("10.0.0.2"), ip("10.0.0.1"), 32));
        assert!(in_network(ip("203.0.113.9"), ip("0.0.0.0"), 0));
        assert!(in_network(ip("::1"), ip("::1"), 128));
        assert!(!in_network(ip("::ffff:10.0.0.1"), ip("10.0.0.0"), 8));
        let p = proxies(&[("all_proxy", "http://p:1"), ("NO_PROXY", "*")]).unwrap();
        assert_eq!(route(&p, "https://anything/"), "direct");
    }
}
