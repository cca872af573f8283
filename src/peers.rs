//! What an option of curl, wget or aria2c that fetchpar does not take means here: the option
//! to use instead, or why there is none. clap's own tip for an unknown option is the nearest
//! name, which for these misleads (`--no-check-certificate` got "a similar argument exists:
//! '--cert'", `--recursive` got `--retries`); a user typing a peer's habit wants the answer.

/// Each peer option fetchpar does not take (as typed: `-k`, `--insecure`), and what to say.
const NOTES: &[(&[&str], &str)] = &[
    (
        &[
            "-k",
            "--insecure",
            "--proxy-insecure",
            "--no-check-certificate",
        ],
        "certificates are always checked here (curl's -k and wget's --no-check-certificate are \
         left out on purpose): trust a private or self-signed server by giving its certificate, \
         or its CA's, with --cacert FILE (aria2c's -k SIZE is --min-split-size SIZE)",
    ),
    (
        &["--ca-native"],
        "the system's certificate store is always read, beside Mozilla's roots",
    ),
    (
        &[
            "--data",
            "--data-binary",
            "--data-raw",
            "--data-urlencode",
            "--form",
            "-X",
            "--request",
            "--method",
            "--post-data",
            "--post-file",
            "--body-data",
            "--body-file",
            "--upload-file",
        ],
        "fetchpar only downloads: every request is a GET (a HEAD with --spider) and sends no data",
    ),
    (
        &["-I", "--head"],
        "--spider asks for each URL without downloading it (a HEAD, as curl -I), and -v shows \
         each answer's head",
    ),
    (
        &[
            "-D",
            "--dump-header",
            "--save-headers",
            "--include",
            "--server-response",
        ],
        "-v shows each request and the head of its answer on stderr; --json gives each URL's \
         status, length, type and final URL",
    ),
    (
        &["--write-out"],
        "--json writes a JSON line for each URL: its status, bytes, times, final URL and error \
         (-w here is wget's --wait)",
    ),
    (
        &["--trace", "--trace-ascii", "--trace-time", "--debug"],
        "-v shows each request and the head of its answer on stderr (bodies are not shown)",
    ),
    (
        &[
            "-#",
            "--progress-bar",
            "--show-progress",
            "--no-progress-meter",
        ],
        "a progress bar is drawn when stderr is a terminal: --progress always draws it into a \
         pipe too, --progress never leaves it out",
    ),
    (
        &[
            "--http2",
            "--http2-prior-knowledge",
            "--http3",
            "--http3-only",
        ],
        "requests are HTTP/1.1 (--http1.1 is accepted)",
    ),
    (
        &["--proto", "--proto-redir", "--proto-default"],
        "only http and https URLs are fetched, and redirects are followed to http and https \
         only; --https-only keeps to https alone (URLs, redirects and lists)",
    ),
    (
        &["--output", "--output-document"],
        "-o here names a folder (--output-dir), and -o - sends the bodies to stdout; a URL's own \
         file name goes after it in the list or the argument: 'URL out=NAME'",
    ),
    (
        &["--allow-overwrite"],
        "--on-exists overwrite replaces a file already there",
    ),
    (
        &["--auto-file-renaming"],
        "a file already there makes the new one take the next free name by default (--on-exists \
         rename); --on-exists error fails its URL instead, as aria2c's \
         --auto-file-renaming=false",
    ),
    (
        &["-z", "--time-cond"],
        "-N (--timestamping) fetches a file only when the server's is newer than the one saved",
    ),
    (
        &[
            "-r",
            "--recursive",
            "-l",
            "--level",
            "--mirror",
            "--no-parent",
            "-p",
            "--page-requisites",
            "--convert-links",
            "--backup-converted",
            "--span-hosts",
            "--relative",
            "--follow-tags",
            "--ignore-tags",
            "--include-directories",
            "--exclude-directories",
            "--domains",
            "--exclude-domains",
            "--filter-urls",
        ],
        "fetchpar fetches lists and does not crawl: -i URL fetches the links of one page \
         (--accept and --reject choose among them), and -i with a sitemap a site's pages \
         (curl's -r RANGE, part of a file, is not taken either: files are fetched whole, and \
         --split fetches one in ranges at once; for aria2c's -l FILE, a log, redirect stdout \
         and stderr to it; curl's -p, a tunnel through the proxy, is --proxytunnel)",
    ),
    (
        &["--dns-timeout"],
        "-T (--timeout) sets both --connect-timeout, which bounds the lookup and the \
         connection, and --stall-timeout (wget's --read-timeout), a wait for data; -m \
         (--max-time) bounds each attempt",
    ),
    (
        &["--iri", "--no-iri", "--remote-encoding"],
        "URLs are read as the URL standard reads them (a host in Unicode goes out as IDNA, a \
         path's letters percent-encoded as UTF-8), whatever a page's encoding",
    ),
    (
        &["--regex-type"],
        "--accept-regex and --reject-regex take Rust's regex syntax, close to PCRE without \
         look-around or back-references",
    ),
    (
        &["--execute"],
        "a wgetrc command is an option: give it as one (--option value), or put it in the \
         config file (~/.config/fetchpar/config); robots.txt is never read",
    ),
    (
        &[
            "--keep-badhash",
            "--verify-save-failed",
            "--fsync-policy",
            "--stats-site",
        ],
        "a file whose digest does not match is not kept under its name (its URL fails \
         `checksum`), a file is put in place only once all of it is written, and --json and \
         --timeline give each URL's figures",
    ),
    (
        &["--metalink-index", "--preferred-location"],
        "-M FILE fetches every file a Metalink lists, from its mirrors in their priority order",
    ),
    (
        &["--no-check-hostname", "--hpkp", "--ocsp", "--dane"],
        "a server's certificate is always checked for its name, against --cacert, the \
         system's store and Mozilla's roots (no pinning, OCSP or DANE)",
    ),
    (
        &[
            "--file-allocation",
            "--no-file-allocation-limit",
            "--disk-cache",
            "--enable-mmap",
            "--uri-selector",
            "--stream-piece-selector",
            "--use-head",
            "--max-file-not-found",
            "--max-resume-failure-tries",
            "--always-resume",
            "--remove-control-file",
            "--allow-piece-length-change",
            "--socket-recv-buffer-size",
            "--event-poll",
            "--rlimit-nofile",
            "--http-auth-challenge",
        ],
        "nothing to set: fetchpar has its own ways to lay a file out, pick sources, read and \
         resume (a GET, a 404 final, a refused resume started over), and what is saved is the \
         same; remove it (on a list line, aria2c's session options are accepted)",
    ),
    (
        &["--follow-metalink"],
        "a Metalink answer is saved as the file it is; -M FILE (or -M URL) fetches what it lists",
    ),
    (
        &["--force-sequential", "--parameterized-uri"],
        "each URL given is a download of its own, and {a,b} and [1-9] in a URL are expanded \
         as curl's globs (--globoff leaves them)",
    ),
    (
        &[
            "--realtime-chunk-checksum",
            "--hash-check-only",
            "--piece-length",
        ],
        "a file's digest (checksum= on its line, or a Metalink's) is checked once it is whole, \
         and a file -c or --on-exists skip keeps is checked first",
    ),
    (
        &["--multiple-interface"],
        "--interface takes one interface or address for every connection",
    ),
    (
        &["--stop", "--pause", "--rpc-secret", "--gid"],
        "fetchpar runs until its lists are done, with no RPC: -m bounds each attempt, and \
         Ctrl-C stops the run, leaving .part files to resume with -c",
    ),
    (
        &[
            "--index-out",
            "--select-file",
            "--show-files",
            "--seed-time",
            "--seed-ratio",
            "--bt-enable-lpd",
            "--enable-dht",
            "--listen-port",
        ],
        "fetchpar fetches http and https only: no BitTorrent",
    ),
    (
        &["--ftp-user", "--ftp-passwd", "--ftp-pasv", "--ftp-type"],
        "fetchpar fetches http and https only: no FTP",
    ),
    (
        &["--max-overall-upload-limit", "--max-upload-limit"],
        "fetchpar uploads nothing",
    ),
    (
        &["--proxy-cacert", "--proxy-capath"],
        "--cacert and --capath are trusted for an https:// proxy's certificate as for \
         servers'",
    ),
    (
        &["--range"],
        "files are fetched whole, or continued from where they end (-c); --split N fetches one \
         in ranges over N connections at once",
    ),
    (
        &[
            "--local-port",
            "--keepalive-cnt",
            "--mptcp",
            "--ip-tos",
            "--vlan-priority",
            "--haproxy-protocol",
            "--ech",
            "--no-alpn",
            "--no-npn",
            "--no-sessionid",
            "--ssl-no-revoke",
            "--ssl-allow-beast",
            "--proxy-ca-native",
            "--http0.9",
        ],
        "connections are made with the system's defaults and rustls' (TLS session resumption \
         on, certificates checked against the system's store and Mozilla's roots), requests are \
         HTTP/1.1, and an answer must be HTTP/1.x: there is nothing to set",
    ),
    (
        &[
            "--variable",
            "-:",
            "--next",
            "--request-target",
            "--libcurl",
            "--ipfs-gateway",
        ],
        "each URL, from the arguments or a list, is a GET of that URL with the run's options; a \
         URL's own options go after it in a list ('URL out=NAME header=...')",
    ),
    (
        &["--create-file-mode"],
        "files are made with the umask's mode, as wget and aria2c make them",
    ),
    (
        &[
            "--show-headers",
            "--trace-ids",
            "--compressed-ssh",
            "--sasl-authzid",
        ],
        "-v shows each request and answer head on stderr, each line marked with its list line",
    ),
    (
        &["--preproxy"],
        "a URL goes through one proxy at most (-x), never a chain of them",
    ),
    (
        &[
            "--ciphers",
            "--tls13-ciphers",
            "--curves",
            "--sslv3",
            "--false-start",
            "--cert-status",
            "--crlfile",
            "--pinnedpubkey",
            "--engine",
        ],
        "TLS is rustls' with its defaults (TLS 1.2 and 1.3, modern ciphers only, certificates \
         verified against --cacert, the system's store and Mozilla's roots): --tls-min and \
         --tls-max choose the versions",
    ),
    (
        &[
            "--doh-url",
            "--dns-interface",
            "--dns-ipv4-addr",
            "--dns-ipv6-addr",
        ],
        "names are looked up by the system's resolver; --resolve HOST:PORT:ADDRESS and \
         --connect-to send a host elsewhere without a lookup",
    ),
    (
        &[
            "--tcp-fastopen",
            "--happy-eyeballs-timeout-ms",
            "--expect100-timeout",
        ],
        "a host's addresses are tried as Happy Eyeballs (RFC 8305) has it, IPv6 and IPv4 \
         taking turns a quarter of a second apart, and no request has a body to wait on",
    ),
    (
        &["--ignore-content-length"],
        "a Content-Length is what ends a body: one cut short fails its URL (io), and -c resumes it",
    ),
    (
        &["--unix-socket", "--abstract-unix-socket"],
        "fetchpar connects over TCP only",
    ),
    (
        &[
            "--negotiate",
            "--ntlm",
            "--ntlm-wb",
            "--delegation",
            "--aws-sigv4",
            "--sasl-ir",
        ],
        "logins go as Basic or Digest (-u, a netrc file), or as a bearer token \
         (--oauth2-bearer); any other scheme's header can be given with -H",
    ),
    (
        &["--stderr", "--styled-output", "--no-styled-output"],
        "results go to stdout and messages to stderr, styled only on a terminal (NO_COLOR \
         turns it off): redirect them where they should go",
    ),
    (
        &["--url-query"],
        "the query goes in each URL as written, in the list (a glob such as ?page=[1-9] \
         makes many)",
    ),
    (
        &["--disallow-username-in-url"],
        "a login in a URL is used for that URL's own origin and never shown: results and \
         messages print it as ***",
    ),
    (
        &["--proxy-basic", "--proxy-digest", "--proxy-anyauth"],
        "a proxy's login (--proxy-user) goes as Basic, and as Digest once the proxy asks for it",
    ),
    (
        &["--basic", "--digest", "--anyauth", "--auth-no-challenge"],
        "-u sends its login as Basic, and answers a server that asks for Digest with Digest",
    ),
    (
        &["--checksum"],
        "a digest for one URL goes after it in the list: 'URL checksum=sha-256=HEX' (or \
         sha256=HEX); --checksums FILE writes those of the files saved",
    ),
    (
        &["--check-integrity"],
        "a file -c or --on-exists skip keeps is checked against its line's checksum= and size= \
         first, always, and fetched again when they do not match",
    ),
    (
        &["--location-trusted"],
        "a login (-u's, a URL's own) goes to each URL's own origin only, never on to a host a \
         redirect leads to; a netrc file (-n, --netrc-file) gives each host its own",
    ),
    (
        &["--fail-with-body"],
        "an HTTP error (4xx, 5xx) always fails its URL, and the start of its body is shown \
         (--prefix); with -o it is not saved",
    ),
    (
        &["--keepalive-time", "--no-http-keep-alive"],
        "connections are kept alive and reused (no TCP keep-alive probes are sent): there is \
         nothing to set",
    ),
    (
        &["--path-as-is"],
        "a URL's path is read as URLs are parsed (WHATWG), its /./ and /../ resolved",
    ),
    (
        &["--etag-save", "--etag-compare"],
        "-N (--timestamping) fetches a file only when the server's is newer than the one saved, \
         and -c resumes a part with its ETag (If-Range)",
    ),
    (
        &["--metalink-over-http"],
        "a Metalink on a server is read as a list with -M URL (or -i URL, when the server says \
         it is Metalink)",
    ),
    (
        &["--chunk-size"],
        "--split N fetches one file in ranges over N connections at once, each range at least \
         --min-split-size",
    ),
    (
        &["--compression"],
        "--compressed asks for a compressed body and saves it decoded, as wget's \
         --compression=auto",
    ),
    (
        &["--restrict-file-names"],
        "names taken from URLs and servers are always made safe: control characters, path \
         separators, a leading dot and names like CON are replaced, and long ones shortened",
    ),
    (
        &["--content-on-error"],
        "an HTTP error fails its URL and is not saved; the start of its body is shown \
         (--prefix)",
    ),
    (
        &["--no-use-server-timestamps"],
        "a saved file keeps the time it was written unless -R (or -N) gives it the server's",
    ),
    (
        &["--no-cache"],
        "no cache header is sent unless given: -H 'Cache-Control: no-cache'",
    ),
    (
        &["--no-dns-cache", "--dns-servers", "--bind-dns-address"],
        "names are looked up by the system's resolver, each once a minute; --resolve \
         HOST:PORT:ADDRESS gives a host's addresses",
    ),
    (
        &["--prefer-family"],
        "-4 or -6 keep one family's addresses; otherwise IPv6 and IPv4 addresses take turns, \
         as Happy Eyeballs has them",
    ),
    (
        &["-E", "--adjust-extension", "--default-page"],
        "a file keeps the name its URL gives (index.html for one ending in /); 'URL out=NAME' \
         in the list names it",
    ),
    (
        &["--backups"],
        "a file already there is kept and the new one saved as NAME.1 (--on-exists rename, the \
         default)",
    ),
    (
        &["--no-robots", "--robots"],
        "robots.txt is not read: fetchpar fetches the lists it is given and does not crawl",
    ),
    (
        &["--retry-on-host-error"],
        "--retry-all-errors retries every failure, a failed lookup's included",
    ),
    (
        &["-K"],
        "--config FILE reads options from a file, as curl -K does",
    ),
    (
        &["--url"],
        "give URLs as arguments as they are (fetchpar https://host/a), or one a line in a list",
    ),
    (
        &[
            "--log",
            "--log-level",
            "--console-log-level",
            "--summary-interval",
            "--download-result",
            "--enable-color",
            "--human-readable",
            "--show-console-readout",
            "--truncate-console-readout",
            "--report-speed",
            "--append-output",
            "-a",
            "--output-file",
            "--rejected-log",
        ],
        "each URL's result is a line on stdout and the summary goes to stderr: redirect them to \
         keep a log (fetchpar LIST > log.txt 2>&1); --json makes the lines JSON, -q leaves out \
         progress and the summary, --color never the colors, and --failed-out FILE lists what \
         failed",
    ),
    (
        &["--http1.0", "-0"],
        "requests are HTTP/1.1 (a server answering in HTTP/1.0 is read as one)",
    ),
    (
        &[
            "--daemon",
            "--background",
            "--enable-rpc",
            "--stop-with-process",
            "--deferred-input",
        ],
        "fetchpar runs in the foreground and ends when its lists are done (nohup or setsid keep \
         it going); a list is read as it comes, so a pipe can feed it URLs while it runs",
    ),
    (
        &[
            "--on-download-complete",
            "--on-download-error",
            "--on-download-start",
            "--on-download-stop",
        ],
        "each result is printed as it comes: --json gives a line per URL to read from a pipe \
         (fetchpar --json LIST | while read -r line; do ...; done)",
    ),
    (
        &["--conf-path", "--no-conf"],
        "--config FILE reads fetchpar's options from FILE, and --no-config reads no config file",
    ),
    (
        &["--out"],
        "a line's out=NAME names its URL's file ('URL out=NAME', as in aria2c's input files); -o \
         here names the folder",
    ),
    (
        &[
            "--save-session-interval",
            "--auto-save-interval",
            "--force-save",
        ],
        "--failed-out FILE (--save-session) writes the lines that did not succeed when the run \
         ends, an interrupted one included; a split download keeps what it has in NAME.part.meta \
         as it goes, for -c",
    ),
    (
        &[
            "--optimize-concurrent-downloads",
            "--reuse-uri",
            "--async-dns",
            "--enable-http-pipelining",
            "--enable-http-keep-alive",
            "--http-no-cache",
        ],
        "nothing to set: -j sets how many fetches run at once (one thread each), connections are \
         kept alive and reused, names are looked up by the system's resolver, and no cache \
         header is sent unless -H gives one",
    ),
    (
        &["--content-disposition-default-utf8", "--local-encoding"],
        "a Content-Disposition name (-J) is read as UTF-8 when it is, and as ISO-8859-1 otherwise; \
         saved names are UTF-8",
    ),
    (
        &["--start-pos"],
        "files are fetched whole, or continued from where they end (-c)",
    ),
    (
        &["--unlink"],
        "--on-exists overwrite replaces a file already there, once the new one is complete (it \
         is written under another name first)",
    ),
    (
        &["--hsts", "--no-hsts", "--hsts-file", "--alt-svc"],
        "no HSTS or Alt-Svc cache is kept: an http:// URL is fetched over http, an https:// one \
         always over verified TLS",
    ),
    (
        &["--ssl-reqd", "--ssl"],
        "an https:// URL is always fetched over verified TLS and an http:// one never: list the \
         https:// URLs",
    ),
    (
        &["--post301", "--post302", "--post303"],
        "fetchpar only downloads: every request, redirected ones too, is a GET",
    ),
    (
        &["--raw", "--tr-encoding"],
        "a chunked answer is always put back together, and a body is saved as sent (its \
         Content-Encoding kept) unless --compressed asks for it decoded",
    ),
    (
        &["--skip-existing"],
        "--no-clobber (--on-exists skip) keeps a file already there and skips its URL",
    ),
];

/// What a peer's option means here, for an option fetchpar does not take; `None` for one it
/// has no note on. `--name=value` is looked up as `--name`.
pub fn note(arg: &str) -> Option<&'static str> {
    let name = match arg.split_once('=') {
        Some((name, _)) if name.starts_with("--") => name,
        _ => arg,
    };
    NOTES
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, note)| *note)
}

/// clap's error for an unknown option, with the note on it (in place of clap's tip, the nearest
/// name, and of the usage line built around that name) when it is a peer's option. Any other
/// error is as clap made it.
pub fn explained(mut err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let Some(note) = note(arg) else {
        return err;
    };
    err.remove(ContextKind::SuggestedArg);
    err.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![note.into()]),
    );
    let usage = <crate::cli::Cli as clap::CommandFactory>::command().render_usage();
    err.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn no_note_is_about_an_option_fetchpar_takes() {
        let cmd = crate::cli::Cli::command();
        for (names, _) in NOTES {
            for name in *names {
                let taken = cmd.get_arguments().any(|a| match name.strip_prefix("--") {
                    Some(long) => {
                        a.get_long() == Some(long)
                            || a.get_all_aliases().unwrap_or_default().contains(&long)
                    }
                    None => {
                        let short = name.chars().nth(1);
                        a.get_short() == short
                            || short.is_some_and(|s| {
                                a.get_all_short_aliases().unwrap_or_default().contains(&s)
                            })
                    }
                });
                assert!(!taken, "{name} is an option here");
            }
        }
    }

    #[test]
    fn a_value_given_with_equals_is_the_same_option() {
        assert_eq!(note("--no-check-certificate=on"), note("-k"));
        assert!(note("--insecure").unwrap().contains("--cacert"));
        assert_eq!(note("--cacert"), None);
        assert_eq!(note("-kx"), None);
    }

    #[test]
    fn aria2cs_console_and_session_options_and_curls_newer_ones_have_notes() {
        for (option, says) in [
            ("--summary-interval=0", "> log.txt 2>&1"),
            ("--download-result=hide", "--json"),
            ("-0", "HTTP/1.1"),
            ("--out=file.iso", "out=NAME"),
            ("--save-session-interval=30", "an interrupted one included"),
            ("--on-download-complete=hook.sh", "fetchpar --json LIST |"),
            ("--no-conf", "--no-config"),
            ("--skip-existing", "--no-clobber"),
            ("--hsts-file=x", "no HSTS"),
            ("--pinnedpubkey=sha256//x", "rustls"),
            ("--proxy-cacert=ca.pem", "--cacert"),
            ("--file-allocation=none", "nothing to set"),
            ("--select-file=1", "no BitTorrent"),
        ] {
            let note = note(option).unwrap_or_else(|| panic!("no note on {option}"));
            assert!(note.contains(says), "{option}: {note}");
        }
    }
}
