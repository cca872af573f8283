//! The command line: clap's derive definition. Doc comments on fields are the `--help` text;
//! nothing outside this module and `options` touches clap.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    every URL succeeded
  1    at least one URL failed or was not started (--fail-early, --quota), or the results
       could not be written (a full disk)
  2    usage or input error (bad option, unreadable list, no URLs, unusable output folder,
       proxy, --cacert, or a --checksums, --failed-out, --timeline, cookie, netrc or config file)
  130  interrupted (Ctrl-C or SIGTERM)";

const AFTER_LONG_HELP: &str = "\
Examples:
  fetchpar links.txt                        fetch every URL in links.txt, one thread each
  some-tool | fetchpar - --json | jq .url   read URLs from a pipe, print JSON Lines
  fetchpar --compare links.txt              sequential run, threaded run, and the speedup
  fetchpar --demo                           see the speedup with no network at all

Exit codes:
  0    every URL succeeded
  1    at least one URL failed or was not started (--fail-early, --quota), or the results
       could not be written (a full disk)
  2    usage or input error (bad option, unreadable list, no URLs, unusable output folder,
       proxy, --cacert, or a --checksums, --failed-out, --timeline, cookie, netrc or config file)
  130  interrupted (Ctrl-C or SIGTERM)";

/// Download a list of URLs in parallel, one OS thread per URL.
#[derive(Debug, Parser)]
// An option given twice takes its last value, as in curl and wget (and so one typed on the
// command line overrides the config file's).
#[command(name = "fetchpar", version, about, after_help = EXIT_CODES_HELP, after_long_help = AFTER_LONG_HELP,
          args_override_self = true)]
pub struct Cli {
    /// Link lists: files with one URL per line; `-` reads standard input.
    /// With no LIST, standard input is read when it is not a terminal. An argument that is no
    /// file and is a URL (`https://host/a`, `host.example/a`, `localhost:8080`) is fetched; one
    /// of a scheme fetchpar does not fetch (`ftp://`) fails as its line would.
    #[arg(value_name = "LIST", help_heading = "Input")]
    pub lists: Vec<PathBuf>,

    /// A link list, as `wget -i` and `aria2c -i` take one (repeatable); read after the LIST
    /// arguments. An http(s) URL is a list on a server, fetched and read as `wget -i URL` does.
    #[arg(short = 'i', long = "input-file", value_name = "FILE|URL", action = ArgAction::Append,
          help_heading = "Input")]
    pub input_files: Vec<PathBuf>,

    /// A Metalink file, whose files are the URLs to fetch, as aria2c's -M (repeatable); read
    /// after the -i lists. An http(s) URL is one on a server. A list named *.meta4 or
    /// *.metalink is one without it.
    #[arg(short = 'M', long = "metalink-file", value_name = "FILE|URL", action = ArgAction::Append,
          alias = "input-metalink", help_heading = "Input")]
    pub metalink_files: Vec<PathBuf>,

    /// Read every list as HTML, whose links are the URLs to fetch (wget's -F); a list on a
    /// server that says it is HTML is read so without it.
    #[arg(short = 'F', long, conflicts_with_all = ["force_metalink", "force_sitemap", "force_rss"],
          help_heading = "Input")]
    pub force_html: bool,

    /// Read every list as a Metalink file (wget2's; -M names one list so).
    #[arg(long, help_heading = "Input")]
    pub force_metalink: bool,

    /// Read every list as a sitemap, whose <loc>s are the URLs (wget2's); a list on a server
    /// that says it is XML is read as the sitemap, Metalink file or feed its root says.
    #[arg(long, conflicts_with = "force_metalink", help_heading = "Input")]
    pub force_sitemap: bool,

    /// Read every list as an RSS or Atom feed, whose enclosures (a podcast's episodes) are the
    /// URLs (wget2's); a list on a server that says it is RSS or Atom is read so without it.
    #[arg(long, visible_alias = "force-atom", conflicts_with_all = ["force_metalink", "force_sitemap"],
          help_heading = "Input")]
    pub force_rss: bool,

    /// Fetch only the links of HTML lists whose file names end in one of these suffixes, or
    /// match one of these patterns (`*`, `?`, `[...]`): `iso,zip`, `debian-*.iso` (wget's -A).
    #[arg(long, value_name = "LIST", value_delimiter = ',', action = ArgAction::Append,
          value_parser = crate::html::NamePattern::parse, help_heading = "Input")]
    pub accept: Vec<crate::html::NamePattern>,

    /// Leave out the links of HTML lists whose file names end in one of these suffixes, or
    /// match one of these patterns (wget's -R).
    #[arg(long, value_name = "LIST", value_delimiter = ',', action = ArgAction::Append,
          value_parser = crate::html::NamePattern::parse, help_heading = "Input")]
    pub reject: Vec<crate::html::NamePattern>,

    /// Fetch only the links of HTML lists whose whole URL matches this regular expression
    /// (wget's --accept-regex; Rust's regex syntax, close to PCRE without look-around).
    #[arg(long, value_name = "REGEX", help_heading = "Input")]
    pub accept_regex: Option<String>,

    /// Leave out the links of HTML lists whose whole URL matches this regular expression
    /// (wget's --reject-regex).
    #[arg(long, value_name = "REGEX", help_heading = "Input")]
    pub reject_regex: Option<String>,

    /// Fetch https URLs only: an http URL in a list fails its line, a page's http links and
    /// a line's http mirrors are left out, a redirect to http is not followed, and a list is
    /// fetched from an https URL only (wget's, which it has for recursion).
    #[arg(long, help_heading = "Network")]
    pub https_only: bool,

    /// Match --accept, --reject and the regular expressions in any case (wget's).
    #[arg(long, help_heading = "Input")]
    pub ignore_case: bool,

    /// Resolve relative URLs against this one: a list's lines without a scheme, and an HTML
    /// list's links (wget's -B).
    #[arg(short = 'B', long, value_name = "URL", value_parser = parse_base, help_heading = "Input")]
    pub base: Option<url::Url>,

    /// One OS thread per URL, up to --jobs at once (the default mode).
    #[arg(long, visible_short_alias = 'Z', visible_alias = "parallel", help_heading = "Concurrency",
          conflicts_with_all = ["sequential", "compare"])]
    pub threads: bool,

    /// Fetch one URL after another with the same code, in a plain loop.
    #[arg(long, help_heading = "Concurrency", conflicts_with = "compare")]
    pub sequential: bool,

    /// Run sequentially, then threaded, and print both wall times and the speedup.
    #[arg(long, help_heading = "Concurrency", conflicts_with = "output_dir")]
    pub compare: bool,

    /// Accepted as curl takes it (with -Z): every fetch opens its own connection at once,
    /// without waiting to share one.
    #[arg(long, help_heading = "Concurrency")]
    pub parallel_immediate: bool,

    /// Most fetches running at once [default: one thread per URL, up to 384].
    #[arg(short = 'j', long, value_name = "N", help_heading = "Concurrency",
          visible_aliases = ["max-concurrent-downloads", "parallel-max", "max-threads"],
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub jobs: Option<u32>,

    /// Bytes of each body shown on its result line (0 for none, at most 1 MiB: the prefix is
    /// kept in memory until its line is printed).
    #[arg(long, value_name = "N", default_value_t = 100, help_heading = "Output",
          value_parser = clap::value_parser!(u32).range(0..=1024 * 1024))]
    pub prefix: u32,

    /// Print results in input order instead of completion order. Results that finish early
    /// wait in memory, so fetching runs at most 16,384 URLs ahead of the oldest unfinished one.
    #[arg(long, help_heading = "Output")]
    pub keep_order: bool,

    /// Print one JSON object per URL (JSON Lines) instead of text lines.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Live progress on stderr: `auto` draws it when stderr is a terminal.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Output"
    )]
    pub progress: crate::progress::When,

    /// Color on terminals: `auto` colors when stdout is a terminal and NO_COLOR is not set.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = "Output"
    )]
    pub color: crate::progress::When,

    /// Nothing on stderr but errors that stop the run: no progress and no summary (the
    /// results still go to stdout), as wget -q and aria2c -q, and curl's -sS.
    #[arg(
        short = 'q',
        long,
        visible_short_alias = 's',
        visible_alias = "silent",
        help_heading = "Output",
        conflicts_with = "progress"
    )]
    pub quiet: bool,

    /// Accepted as curl takes it (-S, with -s): errors that stop the run are always shown.
    #[arg(short = 'S', long, help_heading = "Output")]
    pub show_error: bool,

    /// Show each URL's requests and the heads of their answers on stderr, above its result, as
    /// curl -v shows them (credentials and cookie values hidden).
    #[arg(short = 'v', long, help_heading = "Output")]
    pub verbose: bool,

    /// Accepted as wget takes it (-nv): one line per URL is the default output.
    #[arg(long, help_heading = "Output", conflicts_with = "verbose")]
    pub no_verbose: bool,

    /// Write a waterfall picture of the run (SVG): a bar per URL from start to end.
    #[arg(long, value_name = "FILE.svg", help_heading = "Output")]
    pub timeline: Option<PathBuf>,

    /// Print a completion script for a shell and exit.
    #[arg(long, value_enum, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit (curl's --manual).
    #[arg(long, visible_alias = "manual", exclusive = true)]
    pub man: bool,

    /// Most redirects followed for one URL (http and https only); 0 follows none.
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Network",
          visible_aliases = ["max-redirs", "max-redirect"])]
    pub max_redirects: u32,

    /// Accepted as curl takes it: redirects are always followed, up to --max-redirects.
    #[arg(short = 'L', long, help_heading = "Network")]
    pub location: bool,

    /// Take URL arguments as they are, as curl's -g does: `[1-9]` and `{a,b}` are then no
    /// ranges or sets of URLs, and `#1` after a URL (`out=#1.html`) is no value of one.
    #[arg(short = 'g', long, help_heading = "Input")]
    pub globoff: bool,

    /// Accepted as curl takes it: every request is HTTP/1.1.
    #[arg(long = "http1.1", help_heading = "Network")]
    pub http1_1: bool,

    /// Accepted as curl takes it: an HTTP error (4xx, 5xx) always fails its URL.
    #[arg(short = 'f', long, help_heading = "Network")]
    pub fail: bool,

    /// Accepted as curl takes it: TCP_NODELAY is always set.
    #[arg(long, hide_short_help = true, help_heading = "Network")]
    pub tcp_nodelay: bool,

    /// Accepted as curl takes it: no TCP keep-alive probes are sent (connections are still
    /// kept for reuse).
    #[arg(long, hide_short_help = true, help_heading = "Network")]
    pub no_keepalive: bool,

    /// Accepted as curl takes it (curl's -N): each result is written as soon as it is known.
    #[arg(long, hide_short_help = true, help_heading = "Output")]
    pub no_buffer: bool,

    /// Stop the run at the first URL that fails (curl's --fail-early).
    ///
    /// A URL fails once its retries are spent: then nothing more starts and fetches under way
    /// are cut short, each reported as `cancelled`; the exit code is 1.
    #[arg(long, help_heading = "Network", conflicts_with = "compare")]
    pub fail_early: bool,

    /// Seconds allowed to connect (name lookup, TCP and TLS); 0 for no limit [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_secs, help_heading = "Network")]
    pub connect_timeout: Option<Limit>,

    /// Seconds allowed for one attempt at a URL, redirects and body included (a retry gets as
    /// long again, and with -o resumes); 0 for no limit (curl's -m).
    #[arg(short = 'm', long = "max-time", value_name = "SECS", default_value = "600",
          value_parser = parse_secs, help_heading = "Network")]
    pub timeout: Limit,

    /// Seconds without receiving a single byte before a fetch is abandoned; 0 for no limit
    /// [default: 30].
    #[arg(long, value_name = "SECS", value_parser = parse_secs,
          visible_alias = "read-timeout", help_heading = "Network")]
    pub stall_timeout: Option<Limit>,

    /// --connect-timeout and --stall-timeout at once, as wget's and aria2c's --timeout.
    ///
    /// Each of those given itself wins. The time one attempt may take in all is -m
    /// (--max-time).
    #[arg(short = 'T', long = "timeout", value_name = "SECS", value_parser = parse_network_timeout,
          help_heading = "Network")]
    pub network_timeout: Option<Limit>,

    /// Abandon a download slower than this many bytes per second over --speed-time (curl's -Y,
    /// aria2c's --lowest-speed-limit; 500K, 1M); 0 for no limit.
    #[arg(short = 'Y', long, value_name = "RATE", value_parser = parse_bytes,
          visible_alias = "lowest-speed-limit", help_heading = "Network")]
    pub speed_limit: Option<u64>,

    /// Seconds over which --speed-limit is measured (curl's -y) [default: 30 with
    /// --speed-limit; alone, it sets --speed-limit 1, as in curl].
    #[arg(short = 'y', long, value_name = "SECS", value_parser = parse_secs,
          help_heading = "Network")]
    pub speed_time: Option<Limit>,

    /// The User-Agent header sent with every request.
    #[arg(short = 'A', visible_short_alias = 'U', long, value_name = "TEXT",
          default_value = concat!("fetchpar/", env!("CARGO_PKG_VERSION")), help_heading = "Network")]
    pub user_agent: String,

    /// The Referer header sent with every request of every URL, an absolute URL (curl's -e,
    /// wget's and aria2c's --referer).
    ///
    /// `*` sends each URL itself (as aria2c's `*`); `;auto` after either, or alone, makes each
    /// redirect send the URL that redirected it (as curl's `;auto`). A URL sent so goes without
    /// its credentials and fragment. A list line's `referer=` takes its place for that URL.
    #[arg(short = 'e', long, value_name = "URL", help_heading = "Network")]
    pub referer: Option<String>,

    /// Send every URL through this proxy (http://, https://, socks4://, socks4a://, socks5://,
    /// socks5h:// or host:port) instead of the *_proxy variables; "" sends every URL direct.
    /// Hosts in no_proxy (or --noproxy) still go direct, as with curl's -x.
    #[arg(
        short = 'x',
        long,
        value_name = "URL",
        visible_alias = "all-proxy",
        help_heading = "Network"
    )]
    pub proxy: Option<String>,

    /// Hosts that go direct, comma-separated (as no_proxy, which it replaces; "*" for all).
    #[arg(long, value_name = "HOSTS", help_heading = "Network")]
    pub noproxy: Option<String>,

    /// wget's --no-proxy (every URL direct) and aria2c's --no-proxy=HOSTS (as --noproxy).
    #[arg(long = "no-proxy", value_name = "HOSTS", num_args = 0..=1, require_equals = true,
          default_missing_value = "*", conflicts_with = "noproxy", hide_short_help = true,
          help_heading = "Network")]
    pub no_proxy_hosts: Option<String>,

    /// The proxy for http URLs, in place of -x's and http_proxy (aria2c's; "" for none).
    #[arg(
        long,
        value_name = "URL",
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub http_proxy: Option<String>,

    /// The proxy for https URLs, in place of -x's and https_proxy (aria2c's; "" for none).
    #[arg(
        long,
        value_name = "URL",
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub https_proxy: Option<String>,

    /// A SOCKS5 proxy for every URL, which looks the URL's host up itself (curl's; the same as
    /// -x socks5h://HOST:PORT).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with_all = ["proxy", "socks5", "socks4", "socks4a"],
        help_heading = "Network"
    )]
    pub socks5_hostname: Option<String>,

    /// A SOCKS5 proxy for every URL, hosts looked up here (curl's; -x socks5://HOST:PORT).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with_all = ["proxy", "socks4", "socks4a"],
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub socks5: Option<String>,

    /// A SOCKS4 proxy for every URL (curl's; -x socks4://HOST:PORT).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with_all = ["proxy", "socks4a"],
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub socks4: Option<String>,

    /// A SOCKS4a proxy for every URL, which looks the URL's host up itself (curl's; -x
    /// socks4a://HOST:PORT).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with = "proxy",
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub socks4a: Option<String>,

    /// A header sent to the proxy only: with each CONNECT, and with each http URL sent to it
    /// whole (curl's --proxy-header; repeatable).
    #[arg(long = "proxy-header", value_name = "HEADER", action = ArgAction::Append,
          hide_short_help = true, help_heading = "Network")]
    pub proxy_headers: Vec<String>,

    /// Send http URLs to an HTTP or https proxy through a CONNECT tunnel, as https URLs go,
    /// instead of as a request naming the whole URL (curl's --proxytunnel; aria2c's
    /// --proxy-method tunnel).
    #[arg(long, help_heading = "Network")]
    pub proxytunnel: bool,

    /// How http URLs go to an HTTP proxy, as aria2c's option: get (a request naming the whole
    /// URL, the default) or tunnel (as --proxytunnel).
    #[arg(
        long,
        value_name = "METHOD",
        value_parser = ["get", "tunnel"],
        conflicts_with = "proxytunnel",
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub proxy_method: Option<String>,

    /// The login for the run's proxies (never one a list line names), as curl's --proxy-user
    /// and wget's and aria2c's: in place of one in the proxy's URL, so the password need not
    /// sit in an environment variable.
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        visible_alias = "all-proxy-user",
        help_heading = "Network"
    )]
    pub proxy_user: Option<String>,

    /// The password for --proxy-user, given apart as wget's --proxy-password takes it
    /// (--proxy-user is then the user name alone).
    #[arg(
        long,
        value_name = "PASSWORD",
        requires = "proxy_user",
        visible_alias = "all-proxy-passwd",
        help_heading = "Network"
    )]
    pub proxy_password: Option<String>,

    /// The login for every URL, as curl's -u: sent as Basic, and as Digest to a server whose
    /// 401 asks for it. Like a -H Authorization it goes only to each URL's own origin (not
    /// across redirects to another host), and it takes the place of credentials in URLs.
    #[arg(
        short = 'u',
        long,
        value_name = "USER:PASSWORD",
        visible_alias = "http-user",
        help_heading = "Network"
    )]
    pub user: Option<String>,

    /// Send `Authorization: Bearer TOKEN` (OAuth 2.0), as curl's --oauth2-bearer: like -u's
    /// login, only to each URL's own origin.
    #[arg(
        long,
        value_name = "TOKEN",
        conflicts_with = "user",
        help_heading = "Network"
    )]
    pub oauth2_bearer: Option<String>,

    /// The password for --user, given apart as wget's --password takes it (--user is then the
    /// user name alone).
    #[arg(long, value_name = "PASSWORD", requires = "user",
          visible_aliases = ["http-password", "http-passwd"], help_heading = "Network")]
    pub password: Option<String>,

    /// Ask for --user's password on the terminal, as wget's --ask-password (a --user without
    /// a password is asked for anyway, as curl asks).
    #[arg(
        long,
        requires = "user",
        conflicts_with = "password",
        help_heading = "Network"
    )]
    pub ask_password: bool,

    /// Credentials for each host from ~/.netrc, or the file $NETRC names (curl's -n).
    ///
    /// Each request, redirects included, gets the entry of the host it goes to, or the
    /// `default` entry. wget and aria2c read ~/.netrc unasked; fetchpar only with -n.
    #[arg(short = 'n', long, alias = "netrc-optional", help_heading = "Network")]
    pub netrc: bool,

    /// Credentials for each host from this netrc file (curl's --netrc-file, aria2c's
    /// --netrc-path).
    #[arg(
        long,
        value_name = "FILE",
        visible_alias = "netrc-path",
        help_heading = "Network"
    )]
    pub netrc_file: Option<PathBuf>,

    /// Read no netrc file: the default here (wget's and aria2c's --no-netrc).
    #[arg(long, conflicts_with_all = ["netrc", "netrc_file"], hide_short_help = true,
          help_heading = "Network")]
    pub no_netrc: bool,

    /// Check that each URL is there without downloading it (wget's --spider).
    ///
    /// Asks with HEAD, and with GET where the server refuses HEAD (405, 501), reading no
    /// body; redirects are followed. A 2xx answer is success; the exit code tells whether
    /// every URL was there.
    #[arg(
        long,
        visible_alias = "dry-run",
        conflicts_with_all = ["output_dir", "remote_name", "checksums", "max_size"],
        help_heading = "Network"
    )]
    pub spider: bool,

    /// Neither keep nor send cookies.
    ///
    /// By default a cookie a server sets goes back to it for the rest of the run (its
    /// redirects and later URLs), as wget and aria2c do.
    #[arg(long, help_heading = "Network")]
    pub no_cookies: bool,

    /// Start with the cookies in this Netscape cookie file.
    ///
    /// The format wget and aria2c --load-cookies and curl -b read, and browsers' cookie export
    /// extensions write.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "no_cookies",
        help_heading = "Network"
    )]
    pub load_cookies: Option<PathBuf>,

    /// Leave out the session cookies (expiry 0) of the cookie file loaded, as if a new session
    /// started (curl's -j, --junk-session-cookies).
    #[arg(long, hide_short_help = true, help_heading = "Network")]
    pub junk_session_cookies: bool,

    /// Cookies to send, as curl's -b: `NAME=VALUE[; NAME=VALUE]...`, or a cookie file.
    ///
    /// With an `=` in it, the text is sent as a Cookie header to every URL's own origin (as -H
    /// 'Cookie: ...' is); without one it names a Netscape cookie file, as --load-cookies.
    #[arg(short = 'b', long, value_name = "DATA|FILE", help_heading = "Network")]
    pub cookie: Option<String>,

    /// At the end, write the run's cookies to this file.
    ///
    /// Netscape format, as wget --save-cookies and curl -c (--cookie-jar) write it, readable by
    /// its owner only.
    #[arg(
        long,
        visible_alias = "cookie-jar",
        value_name = "FILE",
        conflicts_with = "no_cookies",
        help_heading = "Network"
    )]
    pub save_cookies: Option<PathBuf>,

    /// Accepted as wget takes it: --save-cookies always writes the cookies that last only a
    /// run (expiry 0), as curl -c and aria2c --save-cookies do.
    #[arg(long, requires = "save_cookies", help_heading = "Network")]
    pub keep_session_cookies: bool,

    /// An extra request header, as `Name: value` (repeatable).
    ///
    /// As curl reads them: `Name;` sends the header empty, `Name:` keeps one sent unasked
    /// (User-Agent, Accept, Accept-Encoding, Referer) from going, and `@FILE` reads one a line.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", action = ArgAction::Append,
          help_heading = "Network")]
    pub headers: Vec<String>,

    /// Connect to IPv4 addresses only (as curl's and wget's -4, aria2c's --disable-ipv6).
    #[arg(
        short = '4',
        long = "ipv4",
        visible_aliases = ["inet4-only", "disable-ipv6"],
        conflicts_with = "ipv6",
        help_heading = "Network"
    )]
    pub ipv4: bool,

    /// Connect to IPv6 addresses only (as curl's and wget's -6).
    #[arg(
        short = '6',
        long = "ipv6",
        visible_alias = "inet6-only",
        help_heading = "Network"
    )]
    pub ipv6: bool,

    /// Use these addresses for HOST:PORT instead of looking the host up (curl's --resolve).
    ///
    /// As HOST:PORT:ADDRESS[,ADDRESS...] (repeatable); the URL keeps its host name, so the
    /// Host header and the TLS certificate check are the name's.
    #[arg(long, value_name = "HOST:PORT:ADDR", help_heading = "Network")]
    pub resolve: Vec<String>,

    /// Connect to H2:P2 for URLs on H1:P1, as curl's --connect-to.
    ///
    /// As HOST1:PORT1:HOST2:PORT2 (repeatable; the first rule that matches is used). An empty
    /// HOST1 or PORT1 matches any, an empty HOST2 or PORT2 keeps the URL's. The URL keeps its
    /// host name, so the Host header, cookies and the TLS certificate check are the name's.
    #[arg(
        long = "connect-to",
        value_name = "H1:P1:H2:P2",
        help_heading = "Network"
    )]
    pub connect_to: Vec<String>,

    /// Most bytes per second for all downloads together (e.g. 500K, 2M); 0 for no limit.
    ///
    /// One budget for the whole run, as aria2c's --max-overall-download-limit: ten parallel
    /// fetches share it rather than each getting it (curl's and wget's --limit-rate hold each
    /// transfer to it).
    #[arg(long, value_name = "RATE", value_parser = parse_bytes, help_heading = "Network",
          visible_alias = "max-overall-download-limit")]
    pub limit_rate: Option<u64>,

    /// Make every connection from this address of the machine, or from an interface's address
    /// (`eth0`), as curl's and aria2c's --interface and wget's --bind-address: a host is then
    /// reached only at addresses of a family the interface has. Not with a SOCKS proxy.
    #[arg(
        long,
        value_name = "NAME|ADDR",
        visible_alias = "bind-address",
        help_heading = "Network"
    )]
    pub interface: Option<String>,

    /// Most URLs started per second (`10/s`), minute (`m`), hour (`h`, also a bare number) or
    /// day (`d`), for the whole run, as curl's --rate: starts are spaced evenly, so a long list
    /// does not hammer its server.
    #[arg(long, value_name = "N/UNIT", value_parser = crate::pace::parse_rate,
          help_heading = "Network", conflicts_with = "wait")]
    pub rate: Option<Duration>,

    /// Seconds between the starts of two URLs, for the whole run (wget's -w); with
    /// --random-wait, 0.5 to 1.5 times that, drawn for each.
    #[arg(short = 'w', long, value_name = "SECS", value_parser = parse_wait,
          help_heading = "Network")]
    pub wait: Option<Limit>,

    /// With --wait, each gap is drawn between 0.5 and 1.5 times it (wget's --random-wait).
    #[arg(long, requires = "wait", help_heading = "Network")]
    pub random_wait: bool,

    /// Most bytes per second for each download on its own, all its connections together
    /// (aria2c's --max-download-limit; what curl's and wget's --limit-rate do); 0 for none.
    #[arg(long, value_name = "RATE", value_parser = parse_bytes, help_heading = "Network")]
    pub max_download_limit: Option<u64>,

    /// Further attempts for a URL after a transient failure (connection, timeout, truncated
    /// body, 408, 429, 500, 502, 503, 504); for a line with mirrors, further rounds over them.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2,
        visible_alias = "retry",
        help_heading = "Network"
    )]
    pub retries: u32,

    /// Attempts in all, as wget's -t and aria2c's --max-tries count them: --retries N-1 (their
    /// 0 for endless is not taken: a run must end).
    #[arg(short = 't', long, value_name = "N", conflicts_with = "retries",
          visible_alias = "max-tries",
          value_parser = parse_tries, help_heading = "Network")]
    pub tries: Option<u32>,

    /// Retry a refused connection too (by default it is final, as in curl and wget).
    #[arg(long, help_heading = "Network")]
    pub retry_connrefused: bool,

    /// Retry every failure a new attempt might mend (curl's --retry-all-errors).
    ///
    /// Any HTTP error, a refused connection, a TLS failure, a checksum mismatch; not a bad line,
    /// a file --on-exists keeps, a full disk or an interrupt.
    #[arg(long, help_heading = "Network")]
    pub retry_all_errors: bool,

    /// More HTTP statuses to retry, comma-separated (wget's --retry-on-http-error).
    ///
    /// Besides 408, 429, 500, 502, 503 and 504: `404,403`. `*` stands for any digits and `?`
    /// for one (`5*`, `40?`), and a `!` before one never retries it (`!503`).
    #[arg(long, value_name = "CODES", help_heading = "Network",
          value_parser = crate::retry::parse_statuses)]
    pub retry_on_http_error: Option<crate::retry::Statuses>,

    /// Base wait before a retry, doubled each time, with jitter (aria2c's --retry-wait).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_secs,
          visible_alias = "retry-wait", help_heading = "Network")]
    pub retry_delay: Limit,

    /// Start no retry of a URL after this many seconds from its first attempt, nor wait for one
    /// past them (curl's --retry-max-time); 0 for no limit.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs,
          help_heading = "Network")]
    pub retry_max_time: Limit,

    /// Longest wait before one retry, even when the server's Retry-After asks for more
    /// (wget's --waitretry).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs,
          visible_alias = "waitretry", help_heading = "Network")]
    pub max_retry_wait: Limit,

    /// Most fetches to one host at once [default: no limit beyond --jobs].
    #[arg(long, value_name = "N", help_heading = "Concurrency",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub per_host: Option<u32>,

    /// The lowest TLS version to agree on: 1.2 (the default) or 1.3, as aria2c's
    /// --min-tls-version and wget's --secure-protocol (TLSv1_3) set it.
    #[arg(long, value_name = "VERSION", value_parser = crate::tls::parse_version,
          visible_aliases = ["min-tls-version", "secure-protocol"], help_heading = "Network",
          conflicts_with_all = ["tlsv12", "tlsv13"])]
    pub tls_min: Option<crate::tls::Version>,

    /// The highest TLS version to agree on: 1.3 (the default) or 1.2, as curl's --tls-max.
    #[arg(long, value_name = "VERSION", value_parser = crate::tls::parse_version,
          help_heading = "Network")]
    pub tls_max: Option<crate::tls::Version>,

    /// curl's --tlsv1.3: TLS 1.3 only (--tls-min 1.3).
    #[arg(long = "tlsv1.3", help_heading = "Network", conflicts_with = "tlsv12")]
    pub tlsv13: bool,

    /// curl's --tlsv1.2: TLS 1.2 or later, which is the default (--tls-min 1.2).
    #[arg(long = "tlsv1.2", help_heading = "Network")]
    pub tlsv12: bool,

    /// Trust the CA certificates in this PEM file instead of the built-in and system roots (as
    /// curl's --cacert), for private servers; a certificate in it is also trusted as a server's
    /// own (a self-signed server's).
    #[arg(
        long,
        value_name = "FILE",
        visible_alias = "ca-certificate",
        help_heading = "Network"
    )]
    pub cacert: Option<PathBuf>,

    /// Accepted as aria2c takes it: server certificates are always checked. `=false` is
    /// refused: give --cacert instead.
    #[arg(
        long,
        value_name = "true",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_check_certificate,
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub check_certificate: Option<bool>,

    /// Trust the CA certificates in the PEM files of this folder instead of the built-in and
    /// system roots (curl's --capath, wget's --ca-directory); with --cacert, both.
    #[arg(
        long,
        value_name = "DIR",
        visible_alias = "ca-directory",
        help_heading = "Network"
    )]
    pub capath: Option<PathBuf>,

    /// A client certificate (PEM) for servers that ask for one, as curl's --cert, wget's
    /// --certificate and aria2c's --certificate; its key is in --key, or in the same file. A
    /// PKCS#12 file (.p12, .pfx) holds both, and is read as one by its content. As curl's,
    /// FILE:PASSPHRASE gives the passphrase (--pass) with it when no file has the whole name.
    #[arg(
        long,
        value_name = "FILE",
        visible_alias = "certificate",
        help_heading = "Network"
    )]
    pub cert: Option<PathBuf>,

    /// What --cert is, PEM or P12, as curl's --cert-type and wget's --certificate-type say
    /// it: the file's content tells anyway, so this only checks that it is.
    #[arg(
        long,
        value_name = "TYPE",
        value_parser = crate::identity::CertType::parse,
        visible_alias = "certificate-type",
        requires = "cert",
        help_heading = "Network"
    )]
    pub cert_type: Option<crate::identity::CertType>,

    /// The private key (PEM) of --cert, as curl's --key and wget's and aria2c's --private-key;
    /// an encrypted one (PKCS#8, or OpenSSL's older `Proc-Type` form) is decrypted with --pass,
    /// or a passphrase asked for on the terminal.
    #[arg(
        long,
        value_name = "FILE",
        requires = "cert",
        visible_alias = "private-key",
        help_heading = "Network"
    )]
    pub key: Option<PathBuf>,

    /// What --key is: PEM, the only kind read (curl's --key-type, wget's --private-key-type).
    #[arg(
        long,
        value_name = "TYPE",
        value_parser = crate::identity::KeyType::parse,
        visible_alias = "private-key-type",
        requires = "key",
        hide_short_help = true,
        help_heading = "Network"
    )]
    pub key_type: Option<crate::identity::KeyType>,

    /// The passphrase of an encrypted --key or PKCS#12 --cert (curl's --pass). Without it,
    /// fetchpar asks on the terminal; where there is none, an encrypted key stops the run.
    #[arg(
        long,
        value_name = "PHRASE",
        requires = "cert",
        help_heading = "Network"
    )]
    pub pass: Option<String>,

    /// Save every body under DIR (created if missing), named from the URL; `-` for stdout.
    ///
    /// `-o -` writes the bodies to stdout instead, one after another in input order (as
    /// `curl -o -` and `wget -O -`), and the results to stderr.
    #[arg(short = 'o', visible_short_aliases = ['P', 'd'], long, value_name = "DIR",
          visible_aliases = ["directory-prefix", "dir"], help_heading = "Saving",
          value_parser = parse_output_dir,
          default_value_if("remote_name", clap::builder::ArgPredicate::IsPresent, "."))]
    pub output_dir: Option<PathBuf>,

    /// Save every body in the current folder, named from the URL, as curl's -O does (the same
    /// as -o .; an existing file is kept, as --on-exists says).
    #[arg(short = 'O', long, visible_alias = "remote-name-all", conflicts_with_all = ["output_dir", "compare"],
          help_heading = "Saving")]
    pub remote_name: bool,

    /// Name saved files from the server's Content-Disposition header when it gives one.
    #[arg(
        short = 'J',
        long,
        visible_alias = "remote-header-name",
        requires = "output_dir",
        conflicts_with = "continue_",
        help_heading = "Saving"
    )]
    pub content_disposition: bool,

    /// Name saved files from the URL a redirect led to rather than the one asked for (wget's
    /// --trust-server-names).
    ///
    /// `https://host/download?id=5` redirected to `/files/tool-1.2.tar.gz` is saved as
    /// `tool-1.2.tar.gz`, and with --force-directories in that URL's folders.
    #[arg(
        long,
        requires = "output_dir",
        conflicts_with = "continue_",
        help_heading = "Saving"
    )]
    pub trust_server_names: bool,

    /// What to do when a file to save already exists.
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        default_value = "rename",
        help_heading = "Saving"
    )]
    pub on_exists: crate::save::OnExists,

    /// Keep files already there and skip their URLs (wget's -nc): --on-exists skip.
    #[arg(long, conflicts_with = "on_exists", help_heading = "Saving")]
    pub no_clobber: bool,

    /// Resume NAME.part files left by an earlier run (HTTP Range), and files another program
    /// left cut off under their final names (wget -c); keep files already complete.
    #[arg(
        short = 'c',
        long = "continue",
        id = "continue_",
        requires = "output_dir",
        help_heading = "Saving"
    )]
    pub continue_: bool,

    /// curl's `-C -`: the same as -c. Only `-` (resume from where each file ends) is taken: one
    /// byte offset for every URL of a list would be wrong for all but one.
    #[arg(
        short = 'C',
        long = "continue-at",
        value_name = "-",
        value_parser = continue_at,
        requires = "output_dir",
        conflicts_with_all = ["content_disposition", "trust_server_names", "timestamping"],
        help_heading = "Saving"
    )]
    pub continue_at: Option<bool>,

    /// Fetch a file that is already saved only if the server's copy is newer (wget's -N).
    ///
    /// Asks with If-Modified-Since the saved file's time; a 304, or a Last-Modified no newer,
    /// leaves it as it is. Files saved with -N get the server's Last-Modified as their time.
    #[arg(
        short = 'N',
        long,
        visible_alias = "conditional-get",
        requires = "output_dir",
        conflicts_with_all = ["continue_", "content_disposition", "trust_server_names"],
        help_heading = "Saving"
    )]
    pub timestamping: bool,

    /// Give saved files the server's Last-Modified time (curl's -R, aria2c's --remote-time).
    ///
    /// As wget does always. A file the server sends without a Last-Modified keeps the time it
    /// was written.
    #[arg(short = 'R', long, requires = "output_dir", help_heading = "Saving")]
    pub remote_time: bool,

    /// Delete what a URL that failed for good left to resume (NAME.part), as curl's
    /// --remove-on-error deletes its partial file; an interrupted one keeps it.
    #[arg(long, requires = "output_dir", help_heading = "Saving")]
    pub remove_on_error: bool,

    /// Store each saved file's URL and Content-Type in its extended attributes (curl's and
    /// wget's --xattr).
    ///
    /// `user.xdg.origin.url` (the URL the redirects led to, without credentials or fragment)
    /// and `user.mime_type`, as `getfattr -d FILE` shows them.
    #[arg(long, requires = "output_dir", help_heading = "Saving")]
    pub xattr: bool,

    /// Save under folders named from the URL: DIR/HOST/PATH/NAME (wget's -x).
    ///
    /// The host folder takes a port that is not the scheme's as `host+8080`. Each folder is made
    /// safe as names are, and `..` is dropped.
    #[arg(long, requires = "output_dir", help_heading = "Saving")]
    pub force_directories: bool,

    /// With --force-directories, a first folder for the scheme: DIR/https/HOST/PATH/NAME
    /// (wget's).
    #[arg(
        long,
        requires = "force_directories",
        hide_short_help = true,
        help_heading = "Saving"
    )]
    pub protocol_directories: bool,

    /// Accepted as wget takes it (-nd): files are saved without folders from the URL unless
    /// --force-directories.
    #[arg(long, help_heading = "Saving", conflicts_with = "force_directories")]
    pub no_directories: bool,

    /// Accepted as curl takes it: the output folder, and any below it a name needs, are
    /// always created.
    #[arg(long, help_heading = "Saving")]
    pub create_dirs: bool,

    /// With --force-directories, no HOST folder: DIR/PATH/NAME (wget's -nH).
    #[arg(long, requires = "force_directories", help_heading = "Saving")]
    pub no_host_directories: bool,

    /// With --force-directories, leave out the first N folders of the URL's path (wget's
    /// --cut-dirs).
    #[arg(
        long,
        value_name = "N",
        requires = "force_directories",
        help_heading = "Saving"
    )]
    pub cut_dirs: Option<usize>,

    /// Write a `sha256sum -c` compatible list of every saved file to FILE.
    #[arg(
        long,
        value_name = "FILE",
        requires = "output_dir",
        help_heading = "Saving"
    )]
    pub checksums: Option<PathBuf>,

    /// Start no more URLs once more than this many bytes have come in (wget's -Q; 0: none).
    ///
    /// Checked as each URL ends, so no download is cut off: those under way finish, and the
    /// URLs not started are reported `cancelled` (exit code 1). `inf` is 0, as in wget.
    #[arg(short = 'Q', long, value_name = "BYTES", value_parser = parse_quota,
          help_heading = "Network", conflicts_with = "compare")]
    pub quota: Option<u64>,

    /// Ask for bodies compressed (deflate, gzip, br, zstd) and save them decoded (curl's
    /// --compressed).
    ///
    /// Without it, saved bodies are asked for as they are stored (identity), as wget and
    /// aria2c ask; shown ones are always asked for as gzip and decoded. A part is resumed with
    /// a plain range of the file, and a body the server compresses is not split.
    #[arg(long, visible_alias = "http-accept-gzip", help_heading = "Saving")]
    pub compressed: bool,

    /// Fail any body larger than this, as saved or, when shown, decoded (e.g. 500K, 100M, 2G).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, visible_alias = "max-filesize",
          help_heading = "Saving")]
    pub max_size: Option<u64>,

    /// Fetch each saved body over up to N connections at once, each asking for one range of
    /// it, when the server takes ranges and the body is at least twice --min-split-size
    /// (aria2c's -s; with --max-connection-per-server, the smaller of the two).
    #[arg(long, value_name = "N", requires = "output_dir", help_heading = "Saving",
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub split: Option<u32>,

    /// Most connections to the server one saved body is fetched over (aria2c's -x): alone, the
    /// same as --split N.
    #[arg(long, value_name = "N", requires = "output_dir", help_heading = "Saving",
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub max_connection_per_server: Option<u32>,

    /// The smallest range --split cuts a body into, at least 1M (aria2c's -k).
    #[arg(long, value_name = "BYTES", default_value = "20M", help_heading = "Saving",
          value_parser = parse_split_size)]
    pub min_split_size: u64,

    /// Write the lines that failed (with their options) to FILE at the end, as a list to run
    /// again (FILE may be the list being read).
    #[arg(
        long,
        value_name = "FILE",
        visible_alias = "save-session",
        help_heading = "Saving"
    )]
    pub failed_out: Option<PathBuf>,

    /// Start a small origin server on 127.0.0.1 inside the process and compare a sequential
    /// and a threaded run against it: no network needed.
    #[arg(long, conflicts_with_all = ["lists", "input_files", "metalink_files", "sequential", "threads"])]
    pub demo: bool,

    /// Read options from this file instead of the usual config file (one option a line, as
    /// `jobs = 32` or `--jobs 32`; see the README). Options typed on the command line win.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Read no config file: neither $FETCHPAR_CONFIG nor ~/.config/fetchpar/config.
    #[arg(long)]
    pub no_config: bool,
}

impl Cli {
    /// Parses the process's arguments (exiting with a usage error or the help), taking wget's
    /// two-letter options as wget does.
    pub fn from_args() -> Self {
        let args: Vec<OsString> = std::env::args_os().collect();
        // aria2c's `--switch=true|false`, made plain switches first, whatever the config file;
        // the definition is made for this only when an argument may need it.
        let (args, off) = match args.iter().any(crate::config::may_be_switch_value) {
            true => {
                let mut cmd = <Self as clap::CommandFactory>::command();
                cmd.build();
                crate::config::switch_values(&cmd, args)
            }
            false => (args, Vec::new()),
        };
        let source = crate::config::locate(&args, |name| std::env::var_os(name));
        let Some(source) = source else {
            return Self::parse_or_exit(wget_shorts(args));
        };
        let cmd = <Self as clap::CommandFactory>::command;
        let args = match crate::config::apply(cmd, wget_shorts(args.clone()), &source, off) {
            Ok(args) => args,
            // The help and the version are shown whatever the file says.
            Err(_)
                if args.iter().any(|a| {
                    ["-h", "--help", "-V", "--version"].contains(&a.to_str().unwrap_or(""))
                }) =>
            {
                return Self::parse_or_exit(wget_shorts(args));
            }
            Err(why) => {
                eprintln!("fetchpar: error: {why}");
                std::process::exit(2);
            }
        };
        Self::try_parse_from(wget_shorts(args)).unwrap_or_else(|err| {
            let err = told(err);
            if err.use_stderr() && source.path.exists() {
                let _ = err.print();
                eprintln!(
                    "note: the options of {} came first (--no-config leaves them out)",
                    source.path.display()
                );
                std::process::exit(err.exit_code());
            }
            err.exit()
        })
    }
}

impl Cli {
    /// Parses these arguments, or exits as clap does, with a note on a peer's option.
    fn parse_or_exit(args: Vec<OsString>) -> Self {
        Self::try_parse_from(args).unwrap_or_else(|err| told(err).exit())
    }
}

/// A parse error as the user is told it: with the note on a peer's option, and with the plain
/// usage line in place of one that lists every option (clap's, for an error where a URL
/// argument was given: the list's group of options that can stand in for it).
fn told(err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut err = crate::peers::explained(err);
    // curl's -c FILE (its cookie jar) typed here: -c is wget's --continue, which needs -o.
    let usage = match err.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => usage.to_string(),
        _ => String::new(),
    };
    if err.kind() == ErrorKind::MissingRequiredArgument
        && usage.contains("--continue")
        && usage.contains("--output-dir")
    {
        let tip = "-c is wget's --continue here, which resumes files saved with -o DIR; curl's \
                   -c FILE, the cookie jar, is --save-cookies FILE";
        err.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    }
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage)
        && usage.to_string().len() > 200
    {
        let plain = <Cli as clap::CommandFactory>::command().render_usage();
        err.insert(ContextKind::Usage, ContextValue::StyledStr(plain));
    }
    err
}

/// wget's `-nc`, `-nH`, `-nv` and `-nd` as their long names. clap's short options are one
/// letter, so `-nc` would otherwise be `-n -c` (netrc and continue), `-nH` an `-H` with no
/// header and `-nv` netrc and verbose. And wget's `-O-` (`wget -qO- URL`), the body to stdout,
/// as `-o -`: `-O` here is curl's and takes no value. Arguments after `--` are left as they are.
pub fn wget_shorts(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut rest = false;
    let mut out = Vec::new();
    for arg in args {
        let cluster = (arg.to_str())
            .filter(|a| !rest && !a.starts_with("--"))
            .and_then(|a| a.strip_suffix("O-"))
            .filter(|before| before.starts_with('-'));
        if let Some(before) = cluster {
            if before != "-" {
                out.push(before.into());
            }
            out.extend(["-o".into(), "-".into()]);
            continue;
        }
        let long = match arg.to_str() {
            _ if rest => None,
            Some("--") => {
                rest = true;
                None
            }
            Some("-nc") => Some("--no-clobber"),
            Some("-nH") => Some("--no-host-directories"),
            Some("-nv") => Some("--no-verbose"),
            Some("-nd") => Some("--no-directories"),
            _ => None,
        };
        out.push(long.map_or(arg, OsString::from));
    }
    out
}

/// `-o DIR`: a folder's path, or `-` for stdout.
/// aria2c's `--check-certificate[=true|false]`: true, its default, is what fetchpar always does;
/// false, which would trust any server, is what fetchpar never does.
fn parse_check_certificate(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Ok(true),
        "false" | "no" | "off" => Err(crate::peers::note("-k").unwrap_or_default().to_string()),
        _ => Err(format!("takes true or false, not `{text}`")),
    }
}

fn parse_output_dir(text: &str) -> Result<PathBuf, String> {
    match text {
        "" => {
            Err("an empty name: -o names the folder files are saved in (-o . for this one)".into())
        }
        _ => Ok(PathBuf::from(text)),
    }
}

/// `-t, --tries`: attempts in all, at least one. wget's `0` and `inf` and aria2c's `0` (try
/// for ever) are refused saying why, rather than as a number out of range.
fn parse_tries(text: &str) -> Result<u32, String> {
    match text.trim() {
        "0" | "inf" => Err(format!(
            "{text} (try for ever, to wget and aria2c) is not taken, as a run must end: give a \
             number of tries (with --retry-max-time to bound them in time)"
        )),
        n => match n.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!("{text} is not a number of tries (1 or more)")),
            Ok(n) => Ok(n),
        },
    }
}

/// `-B, --base`: an absolute http(s) URL.
fn parse_base(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|err| format!("not a URL: {err}"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!(
            "unsupported scheme `{other}` (only http and https)"
        )),
    }
}

/// A byte count with an optional unit: `1000`, `500K`, `100M`, `2GiB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    parse_size::Config::new()
        .with_binary()
        .parse_size(text.trim())
        .map_err(|e| format!("`{text}` is not a size (try 500K, 100M or 2G): {e}"))
}

/// wget's `-Q`: a size, or `inf` (no quota, as 0 is).
fn parse_quota(text: &str) -> Result<u64, String> {
    match text.trim() {
        "inf" => Ok(0),
        _ => parse_bytes(text),
    }
}

/// curl's `-C -`, the only offset taken.
fn continue_at(text: &str) -> Result<bool, String> {
    match text {
        "-" => Ok(true),
        _ => Err(format!(
            "`{text}`: only `-C -` (resume each file where it ends) is taken; a byte offset \
             would apply to every URL of the list"
        )),
    }
}

/// `--min-split-size`: a size from 1 MiB to 1 GiB, the bounds aria2c sets.
pub fn parse_split_size(text: &str) -> Result<u64, String> {
    let size = parse_bytes(text)?;
    match size {
        0x10_0000..=0x4000_0000 => Ok(size),
        _ => Err(format!("`{text}` is outside 1M-1G")),
    }
}

/// `--wait`: seconds, as [`parse_secs`] takes them. curl's `-w FORMAT` (`--write-out`) typed
/// here is told what `-w` is and what gives what it would.
fn parse_wait(text: &str) -> Result<Limit, String> {
    parse_secs(text).map_err(|why| match text.contains('%') {
        true => format!(
            "{why}; -w is wget's --wait here: for what curl's -w (--write-out) shows, --json \
             writes each URL's status, bytes, times and final URL"
        ),
        false => why,
    })
}

/// `-T, --timeout` (wget's): seconds, as [`parse_secs`] takes them. curl's `-T FILE`
/// (`--upload-file`) typed here is told what `-T` is.
fn parse_network_timeout(text: &str) -> Result<Limit, String> {
    parse_secs(text).map_err(|why| {
        format!("{why}; -T is wget's --timeout here (curl's -T uploads, which fetchpar never does)")
    })
}

/// A time limit; `None` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

/// Seconds as a decimal number (`1.5`), or with a unit (`500ms`, `2s`, `1m`); `0` means no limit.
pub fn parse_secs(text: &str) -> Result<Limit, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = text.strip_suffix('d') {
        // wget's suffixes for its times: m, h and d.
        (n, 86400.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        format!("`{text}` is not a number of seconds (try 10, 2.5, 500ms, 1m or 1h)")
    })?;
    let secs = value * scale;
    if !(0.0..=1e9).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Limit((secs > 0.0).then(|| Duration::from_secs_f64(secs))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_with_and_without_units() {
        assert_eq!(
            parse_secs("1.5"),
            Ok(Limit(Some(Duration::from_millis(1500))))
        );
        assert_eq!(
            parse_secs("250ms"),
            Ok(Limit(Some(Duration::from_millis(250))))
        );
        assert_eq!(parse_secs("2m"), Ok(Limit(Some(Duration::from_secs(120)))));
        // wget's hours and days (`--max-time 1h`, as the README suggests for long downloads).
        assert_eq!(parse_secs("1h"), Ok(Limit(Some(Duration::from_secs(3600)))));
        assert_eq!(
            parse_secs("1.5d"),
            Ok(Limit(Some(Duration::from_secs(129600))))
        );
        assert_eq!(parse_secs("0"), Ok(Limit(None)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("100M"), Ok(100 * 1024 * 1024));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn other_tools_names_parse_as_ours() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["fetchpar"], args, &["list.txt"]].concat());
            format!("{:?}", cli.unwrap_or_else(|e| panic!("{args:?}: {e}")))
        };
        let pairs: &[(&[&str], &[&str])] = &[
            (&["--parallel-max", "7"], &["--jobs", "7"]),
            (&["-Z"], &["--threads"]),
            (&["--parallel"], &["--threads"]),
            (&["--max-concurrent-downloads", "7"], &["-j", "7"]),
            (&["--max-threads", "7"], &["-j", "7"]),
            (&["--disable-ipv6"], &["-4"]),
            (&["--inet4-only"], &["-4"]),
            (&["--inet6-only"], &["-6"]),
            (&["--max-redirs", "3"], &["--max-redirects", "3"]),
            (&["--max-redirect", "3"], &["--max-redirects", "3"]),
            (&["-m", "5"], &["--max-time", "5"]),
            (&["-T", "5"], &["--timeout", "5"]),
            (&["--read-timeout", "5"], &["--stall-timeout", "5"]),
            (&["-A", "x/1"], &["--user-agent", "x/1"]),
            (&["-U", "x/1"], &["--user-agent", "x/1"]),
            (&["--all-proxy", "h:1"], &["-x", "h:1"]),
            (
                &["--max-overall-download-limit", "1M"],
                &["--limit-rate", "1M"],
            ),
            (&["--retry", "4"], &["--retries", "4"]),
            (&["--ca-certificate", "c.pem"], &["--cacert", "c.pem"]),
            (
                &["--certificate", "c.pem", "--private-key", "k.pem"],
                &["--cert", "c.pem", "--key", "k.pem"],
            ),
            (&["-P", "d"], &["-o", "d"]),
            (&["--directory-prefix", "d"], &["--output-dir", "d"]),
            (&["--dir", "d"], &["-o", "d"]),
            (&["-o", "d", "-J"], &["-o", "d", "--content-disposition"]),
            (
                &["-o", "d", "--remote-header-name"],
                &["-o", "d", "--content-disposition"],
            ),
            (&["-o", "d", "--conditional-get"], &["-o", "d", "-N"]),
            (&["--max-filesize", "1K"], &["--max-size", "1K"]),
            (&["--cookie-jar", "c.txt"], &["--save-cookies", "c.txt"]),
            (
                &["--http-user", "u", "--http-password", "p"],
                &["-u", "u", "--password", "p"],
            ),
            (
                &["-u", "u", "--http-passwd", "p"],
                &["-u", "u", "--password", "p"],
            ),
            (&["--max-tries", "4"], &["-t", "4"]),
            (&["--dry-run"], &["--spider"]),
            (&["--waitretry", "10"], &["--max-retry-wait", "10"]),
            (&["--save-session", "s.txt"], &["--failed-out", "s.txt"]),
            (&["--netrc-optional"], &["-n"]),
            (&["--input-metalink", "m.meta4"], &["-M", "m.meta4"]),
            (&["--retry-wait", "3"], &["--retry-delay", "3"]),
            (
                &["--cert", "c", "--key", "k", "--private-key-type", "pem"],
                &["--cert", "c", "--key", "k", "--key-type", "PEM"],
            ),
            (&["--http-accept-gzip"], &["--compressed"]),
            (&["--netrc-path", "n"], &["--netrc-file", "n"]),
        ];
        for (theirs, ours) in pairs {
            assert_eq!(parse(theirs), parse(ours), "{theirs:?}");
        }
        let save = ["--save-cookies", "c.txt"];
        let keep = parse(&["--save-cookies", "c.txt", "--keep-session-cookies"]);
        assert_eq!(
            keep.replace("keep_session_cookies: true", "keep_session_cookies: false"),
            parse(&save)
        );
        assert!(Cli::try_parse_from(["fetchpar", "--keep-session-cookies", "l"]).is_err());
        // -L, -f, -S and --parallel-immediate change nothing but their own flags: fetchpar
        // always does what they ask.
        let resume =
            parse(&["-o", "d", "-C", "-"]).replace("continue_at: Some(true)", "continue_at: None");
        assert_eq!(resume, parse(&["-o", "d"]));
        assert!(Cli::try_parse_from(["fetchpar", "-o", "d", "-C", "100", "l"]).is_err());
        let habit = parse(&["-fsSL", "--parallel-immediate"]);
        let without = ["location", "fail", "show_error", "parallel_immediate"]
            .iter()
            .fold(habit, |text, flag| {
                text.replace(&format!("{flag}: true"), &format!("{flag}: false"))
            });
        assert_eq!(without, parse(&["-q"]));
        assert_eq!(parse(&["-s"]), parse(&["--quiet"]));
        // wget's -t counts every attempt; --retries the ones after the first.
        let tries = parse(&["-t", "3"]).replace("tries: Some(3)", "tries: None");
        assert_eq!(tries, parse(&[]));
        for endless in ["0", "inf"] {
            let err = Cli::try_parse_from(["fetchpar", "-t", endless, "l"]).unwrap_err();
            assert!(err.to_string().contains("a run must end"), "{err}");
        }
        assert!(Cli::try_parse_from(["fetchpar", "-t", "3", "--retries", "1", "l"]).is_err());
        assert_eq!(parse(&["--silent"]), parse(&["--quiet"]));
        assert!(Cli::try_parse_from(["fetchpar", "--spider", "-O", "l"]).is_err());
    }

    #[test]
    fn wgets_two_letter_options_are_taken_as_wget_takes_them() {
        let parse = |args: &[&str]| {
            let args = wget_shorts(
                [&["fetchpar", "-o", "d"], args]
                    .concat()
                    .into_iter()
                    .map(OsString::from),
            );
            format!("{:?}", Cli::try_parse_from(args).unwrap())
        };
        assert_eq!(parse(&["-nc", "l"]), parse(&["--no-clobber", "l"]));
        assert_eq!(
            parse(&["--force-directories", "-nH", "l"]),
            parse(&["--force-directories", "--no-host-directories", "l"])
        );
        assert_eq!(
            parse(&["-nv", "-nd", "l"]),
            parse(&["--no-verbose", "--no-directories", "l"])
        );
        assert!(parse(&["-nv", "l"]).contains("no_verbose: true, "));
        assert!(parse(&["-nv", "l"]).contains("verbose: false, "));
        // After `--`, a list named `-nc` is a list.
        assert!(parse(&["--", "-nc"]).contains(r#"lists: ["-nc"]"#));
        // wget's -O- and -qO-: the body to stdout.
        let stdout = |args: &[&str]| wget_shorts(args.iter().map(OsString::from));
        assert_eq!(stdout(&["-O-", "u"]), ["-o", "-", "u"]);
        assert_eq!(stdout(&["-qO-", "u"]), ["-q", "-o", "-", "u"]);
        assert_eq!(stdout(&["-O", "-"]), ["-O", "-"]);
        assert_eq!(stdout(&["--", "-qO-"]), ["--", "-qO-"]);
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
