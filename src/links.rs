//! Link lists: opening files and stdin, streaming them line by line (so work starts before a
//! slow pipe ends), skipping blanks and `#` comments, and turning every URL line, with the
//! option lines under it (aria2's input-file format), into exactly one [`Job`] that remembers
//! where it came from. A bad line becomes a job that fails; it never stops the lines around it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ureq::http::{HeaderName, HeaderValue};
use url::Url;

use crate::auth::Login;
use crate::outcome::{ErrorKind, Failure};
use crate::proxy::LineProxies;
use crate::referer::Referer;

/// Longest line kept; the rest of a longer line is skipped without being held in memory.
pub const MAX_LINE: usize = 64 * 1024;

/// How long a URL read from a pipe or a terminal waits for option lines under it when no more
/// input has come. A program writing a list writes a URL and its options together, microseconds
/// apart; a URL trickled in alone starts after this wait instead of when the next line comes,
/// which may be never (a producer that writes a URL, then waits on its result).
const OPTION_WAIT: Duration = Duration::from_millis(50);

/// Options for one URL: after it on its line (`URL out=NAME`), or on the indented lines under
/// it, as aria2 input files give them (`  out=NAME`, `  checksum=sha-256=HEX`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineOptions {
    /// `out=NAME`: the file name to save under.
    pub out: Option<String>,
    /// aria2's `dir=FOLDER`: the folder to save in, inside the output folder.
    pub dir: Option<String>,
    /// `sha256=HEX` or aria2's `checksum=TYPE=HEX`: the digest the saved body must have.
    pub checksum: Option<Checksum>,
    /// `size=BYTES`, or a Metalink file's `<size>`: the size the body must have.
    pub size: Option<u64>,
    /// `header=NAME: VALUE` (and aria2's `user-agent=`): request headers for this URL alone,
    /// in place of `-H` ones of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// aria2's `referer=`: this URL's Referer, in place of `--referer` and a `-H` Referer.
    pub referer: Option<Referer>,
    /// aria2's `split=N`: connections this URL's body may be fetched over (`--split`).
    pub split: Option<usize>,
    /// aria2's `max-download-limit=RATE`: this URL's own bytes per second
    /// (`--max-download-limit`).
    pub download_limit: Option<u64>,
    /// aria2's `max-connection-per-server=N`: caps this URL's connections (`split=`, or the
    /// run's), and alone asks for that many, as `--max-connection-per-server` does for the run.
    pub per_server: Option<usize>,
    /// aria2's `max-tries=N`: this URL's attempts in all, in place of `--tries`/`--retries`.
    pub tries: Option<u32>,
    /// aria2's `min-split-size=SIZE`: the smallest range this URL's body is split into
    /// (`--min-split-size`).
    pub min_split: Option<u64>,
    /// aria2's `continue=true|false`: whether this URL continues what is saved, in place of
    /// `-c`.
    pub resume: Option<bool>,
    /// aria2's `http-user=` and `http-passwd=`: this URL's login, for its own origin, in place
    /// of `--user`'s and one in the URL.
    pub login: Option<Login>,
    /// aria2's `retry-wait=SECS`: the base of this URL's waits before a retry (`--retry-delay`).
    pub retry_wait: Option<Duration>,
    /// aria2's `timeout=SECS`: this URL's stall timeout (`--stall-timeout`, which aria2c's
    /// `--timeout` is: how long a connection may stay silent), in place of the run's; 0: none.
    pub stall_timeout: Option<Option<Duration>>,
    /// aria2's `connect-timeout=SECS`: this URL's `--connect-timeout`; 0: none.
    pub connect_timeout: Option<Option<Duration>>,
    /// aria2's `lowest-speed-limit=RATE`: this URL's `--speed-limit`, measured over the run's
    /// `--speed-time`; 0: none.
    pub low_speed: Option<u64>,
    /// aria2's `remote-time=true|false`: whether this URL's saved file gets the server's
    /// Last-Modified time (`-R`), in place of the run's.
    pub remote_time: Option<bool>,
    /// aria2's `allow-overwrite=true|false`: whether this URL's file may replace one already
    /// there (see [`crate::save::Saver::on_exists`]).
    pub overwrite: Option<bool>,
    /// aria2's `auto-file-renaming=true|false`: whether this URL's file is saved under a
    /// numbered name beside one already there, or fails the URL.
    pub renaming: Option<bool>,
    /// aria2's `conditional-get=true|false`: whether this URL's file already saved is asked
    /// for only if the server's is newer (`-N`), in place of the run's.
    pub timestamping: Option<bool>,
    /// aria2's `http-accept-gzip=true|false`: whether this URL's body is asked for compressed
    /// and saved decoded (`--compressed`), in place of the run's.
    pub compressed: Option<bool>,
    /// aria2's `dry-run=true|false`: whether this URL is only checked, its body not read
    /// (`--spider`), in place of the run's.
    pub dry_run: Option<bool>,
    /// aria2's `all-proxy=`, `http-proxy=`, `https-proxy=` (with their logins), `no-proxy=`
    /// and `proxy-method=`: this URL's proxies, in place of the run's.
    pub proxies: Option<Box<LineProxies>>,
}

impl LineOptions {
    /// A line with no options.
    pub const NONE: Self = Self {
        out: None,
        dir: None,
        checksum: None,
        size: None,
        headers: Vec::new(),
        referer: None,
        split: None,
        download_limit: None,
        per_server: None,
        tries: None,
        min_split: None,
        resume: None,
        login: None,
        retry_wait: None,
        stall_timeout: None,
        connect_timeout: None,
        low_speed: None,
        remote_time: None,
        overwrite: None,
        renaming: None,
        timestamping: None,
        compressed: None,
        dry_run: None,
        proxies: None,
    };

    /// The connections this URL's body may be fetched over, when the line says: its `split=`
    /// capped by its `max-connection-per-server=`, or that alone.
    pub fn connections(&self) -> Option<usize> {
        let cap = self.per_server;
        (self.split.or(cap)).map(|n| n.min(cap.unwrap_or(n)))
    }
}

/// One line of input that names something to fetch.
#[derive(Debug, Clone)]
pub struct Job {
    /// Position in the input, from 0; results in `--keep-order` follow it.
    pub id: usize,
    /// The list it came from (`-` for stdin).
    pub source: Arc<str>,
    /// 1-based line number within `source`.
    pub line: usize,
    /// The line as written (trimmed; lines that are too long or not UTF-8 are shortened), and
    /// under it, each on a line of its own indented by two spaces, its option lines.
    pub text: String,
    /// The URL and its options, or why the line is not usable (an invalid line, or a
    /// sitemap an index names that could not be fetched).
    pub target: Result<Target, Failure>,
    /// Where the body is saved, decided in input order when saving (`-o`).
    pub planned: Option<crate::save::Planned>,
}

impl Job {
    /// A job for one URL of no list's: what fetching a list from a server is done as.
    pub fn outside_lists(url: Url, source: &str) -> Self {
        Self {
            id: 0,
            source: Arc::from(source),
            line: 0,
            text: url.to_string(),
            target: Ok(Target::from(url)),
            planned: None,
        }
    }
}

/// A digest a list line expects of the saved body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

/// The digests aria2's `checksum=TYPE=` names, weakest first (a Metalink file's strongest is
/// the greatest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    /// A 32-bit checksum, not a cryptographic digest: it catches damage, not tampering.
    Adler32,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// aria2's name for it, as error messages give it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Adler32 => "adler32",
            Self::Md5 => "md5",
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        [
            Self::Adler32,
            Self::Md5,
            Self::Sha1,
            Self::Sha224,
            Self::Sha256,
            Self::Sha384,
            Self::Sha512,
        ]
        .into_iter()
        .find(|a| a.name() == name || a.name().replace('-', "") == name)
    }

    /// Bytes in a digest of this kind.
    fn len(self) -> usize {
        match self {
            Self::Adler32 => 4,
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A valid line: the URL to fetch and its per-line options.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    /// Other URLs of the same file (aria2's mirrors: more URLs on the line, which aria2
    /// separates with tabs), tried in turn when `url` has failed for good.
    pub mirrors: Vec<Url>,
    pub options: LineOptions,
}

/// A URL alone: no mirrors, no options (a link of a page, a sitemap's `<loc>`, a list fetched
/// from a server).
impl From<Url> for Target {
    fn from(url: Url) -> Self {
        Self {
            url,
            mirrors: Vec::new(),
            options: LineOptions::default(),
        }
    }
}

/// A link list named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListName {
    /// A file, `-` for standard input, or a URL given as a LIST argument (a list of one).
    Local(PathBuf),
    /// `-i URL`: a list on a server, read as it downloads, as `wget -i URL` reads one.
    Remote(Url),
}

/// Opens a list on a server (`-i URL`, and the sitemaps a sitemap index names): its body as
/// it arrives, or why it cannot be had.
pub type OpenRemote = Arc<dyn Fn(&Url) -> Result<RemoteList, Failure> + Send + Sync>;

/// A list on a server, as it answered.
pub struct RemoteList {
    /// The body, decoded, as it arrives.
    pub body: Box<dyn Read + Send>,
    /// The media type the server gave it, in lower case without parameters: HTML's links are
    /// the list (as `wget -i URL` reads one), a Metalink's files (as aria2c reads one), and
    /// XML's URLs by its kind (sitemap, Metalink, feed).
    pub mime: Option<String>,
    /// Where the redirects led: the base of an HTML list's relative links.
    pub location: Url,
}

/// How lists are read: wget's `-F, --force-html`, `-B, --base`, `--accept` and `--reject`,
/// wget2's `--force-metalink`, `--force-sitemap`, `--force-rss` and `--force-atom`, and
/// aria2c's `-M, --metalink-file`.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// Every list is HTML, whose links are the list.
    pub force_html: bool,
    /// Every list is a Metalink file.
    pub force_metalink: bool,
    /// Every list is a sitemap.
    pub force_sitemap: bool,
    /// Every list is an RSS or Atom feed.
    pub force_feed: bool,
    /// What relative URLs resolve against: a plain list's lines, and an HTML list's links
    /// (before the page's own `<base href>`, and instead of a remote list's location).
    pub base: Option<Url>,
    /// `-M, --metalink-file`: the lists that are Metalink files, whatever their names.
    pub metalink: Vec<ListName>,
    /// `--accept` and `--reject`: which links of an HTML list are fetched.
    pub names: crate::html::Names,
    /// URL arguments are globbed as curl globs them (not with `-g`).
    pub glob: bool,
}

/// An input that could not be opened: a usage error (exit 2), reported before any fetch. The
/// cause is its `source`, which the error chain prints after this text.
#[derive(Debug, thiserror::Error)]
#[error("cannot read link list {path}")]
pub struct OpenError {
    path: String,
    source: io::Error,
}

impl OpenError {
    /// The list as it was named.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether no file of that name is there.
    pub fn not_found(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
    }
}

struct Source {
    name: Arc<str>,
    reader: BufReader<Box<dyn Read + Send>>,
    /// For standard input when it is a pipe or a terminal, where reading on may wait for a
    /// writer: a handle to poll before reading ahead for a URL's option lines. Files, and
    /// anything else, are read ahead freely.
    wait_on: Option<File>,
    /// Lines counted before this source's first: a URL given as an argument reports its
    /// position among the arguments as its line (`argument:3` for the third).
    lines_before: usize,
    /// Whether a line has been read from it yet: a UTF-16 byte order mark can only start one.
    read_any: bool,
    /// Whether it is a gzip file read unpacked (see [`Source::unpack`]).
    unpacked: bool,
    /// A URL argument globbed into many: each of its lines reports the argument's place.
    one_line: bool,
    /// A URL argument whose glob is malformed: its line fails, saying why.
    refused: Option<String>,
    /// A list fetched from a server (`-i URL`, a sitemap an index names), whose lines may not
    /// name proxies (see [`from_web`]).
    from_web: bool,
    /// For a list that is a document rather than lines (HTML, Metalink, sitemap, feed): what
    /// it is, and its jobs once read.
    whole: Option<Whole>,
}

/// A list read whole when its turn comes, then handed out job by job.
struct Whole {
    format: Format,
    entries: Option<Box<dyn Iterator<Item = Entry> + Send>>,
    /// A sitemap index: its entries are sitemaps, each read in its turn for its URLs.
    index: bool,
    /// A sitemap an index named, where another index is refused (the protocol allows one
    /// level, and a deeper one could name itself).
    nested: bool,
}

impl Whole {
    fn of(format: Format) -> Self {
        Self {
            format,
            entries: None,
            index: false,
            nested: false,
        }
    }
}

impl Reading {
    /// The format every list is read in, if a `--force-...` option says (`base` for HTML).
    fn forced(&self, base: Option<Url>) -> Option<Format> {
        if self.force_metalink {
            Some(Format::Metalink)
        } else if self.force_sitemap {
            Some(Format::Sitemap)
        } else if self.force_feed {
            Some(Format::Feed)
        } else {
            self.force_html.then(|| Format::Html {
                base,
                names: Box::new(self.names.clone()),
            })
        }
    }
}

/// The documents a list can be besides lines.
#[derive(Debug, Clone)]
pub enum Format {
    /// An HTML page, whose links are the list (`-F`, or a server saying it is HTML).
    Html {
        /// What relative links resolve against, before the page's own `<base href>`.
        base: Option<Url>,
        /// `--accept`, `--reject`, their regexes and `--https-only`.
        names: Box<crate::html::Names>,
    },
    /// A Metalink file (`-M`, `--force-metalink`, a `.meta4` or `.metalink` name, or a server
    /// saying it is one).
    Metalink,
    /// A sitemap (`--force-sitemap`).
    Sitemap,
    /// An RSS or Atom feed (`--force-rss`, `--force-atom`).
    Feed,
    /// XML from a server: a sitemap, a Metalink file or a feed, by its root element.
    Xml,
}

/// Line numbers of byte offsets of a document met in increasing order, each byte counted
/// once: a document's entries come in its order, and counting from its start for each one
/// took 14 s for a sitemap of 50,000 URLs. An offset before the last one is counted afresh.
#[derive(Debug, Default)]
pub struct LineCounter {
    counted: usize,
    newlines: usize,
}

impl LineCounter {
    /// The 1-based line of `text` that byte `at` is on.
    pub fn line_of(&mut self, text: &[u8], at: usize) -> usize {
        let at = at.min(text.len());
        if at < self.counted {
            *self = Self::default();
        }
        let newlines = text[self.counted..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.newlines += newlines;
        self.counted = at;
        self.newlines + 1
    }
}

/// URLs a document has given, so that each is given once. Kept as keyed 64-bit hashes rather
/// than text: a hostile page of millions of links costs 8 bytes each here, not its URLs again.
/// Two URLs of one document sharing a hash (odds near n²/2⁶⁵, some in ten million for four
/// million URLs, and not to be aimed at: the key is random per run) would lose the second.
#[derive(Default)]
pub struct Seen {
    hashes: std::collections::HashSet<u64>,
    key: std::hash::RandomState,
}

impl Seen {
    /// Whether `url` is given for the first time (and from now on, given).
    pub fn first(&mut self, url: &str) -> bool {
        use std::hash::BuildHasher;
        self.hashes.insert(self.key.hash_one(url))
    }
}

/// One job of a list read whole.
#[derive(Debug)]
pub struct Entry {
    /// 1-based line of the document it comes from.
    pub line: usize,
    pub text: String,
    pub target: Result<Target, String>,
}

impl Source {
    fn new(name: &str, reader: Box<dyn Read + Send>, lines_before: usize) -> Self {
        Self {
            name: Arc::from(name),
            reader: BufReader::with_capacity(64 * 1024, reader),
            wait_on: None,
            lines_before,
            read_any: false,
            unpacked: false,
            one_line: false,
            refused: None,
            from_web: false,
            whole: None,
        }
    }

    /// This source, read whole as a document of this format.
    fn read_as(mut self, format: Option<Format>) -> Self {
        self.whole = format.map(Whole::of);
        self
    }

    /// This source read as `format`; or, given none, read as lines, or as XML by its root
    /// element when it is a gzip file that unpacks to XML (a sitemap, a feed, a Metalink file).
    /// Only a list that can be looked into without waiting (a file, or a body that has begun)
    /// is looked into here: a pipe is not held up at opening, but when its first line is read
    /// ([`Source::look_into`]).
    fn read_as_found(mut self, format: Option<Format>) -> Self {
        if format.is_some() || self.wait_on.is_some() {
            return self.read_as(format);
        }
        self.look_into();
        self
    }

    /// Reads this source unpacked if it is a gzip file, and then whole as XML if it unpacks
    /// to XML; else leaves it to be read as lines. Waits for its first bytes.
    fn look_into(&mut self) {
        if !self.unpack() {
            return;
        }
        // A read that fails is read again as lines, and says why then.
        let xml = more(&mut self.reader, self.wait_on.as_ref()).unwrap_or(false)
            && like_xml(self.reader.buffer());
        if xml {
            self.whole = Some(Whole::of(Format::Xml));
        }
    }

    /// Reads this source unpacked from now on if it is a gzip file (a list compressed whole:
    /// `sitemap.xml.gz`, `links.txt.gz`, which servers send as gzip files, not gzip-encoded).
    /// Returns whether it is read unpacked. Waits for its first bytes.
    fn unpack(&mut self) -> bool {
        if self.unpacked {
            return true;
        }
        let wait_on = self.wait_on.as_ref();
        // Failing, the read is tried again as the list is read, and says why then.
        if !more(&mut self.reader, wait_on).unwrap_or(false) {
            return false;
        }
        if self.reader.buffer() == [0x1f] {
            // The gzip mark's first byte alone, from a pipe written to a byte at a time: it is
            // taken, the next byte looked at, and the first put back in front.
            self.reader.consume(1);
            let mut rest =
                std::mem::replace(&mut self.reader, BufReader::new(Box::new(io::empty())));
            let second = more(&mut rest, wait_on)
                .unwrap_or(false)
                .then(|| rest.buffer()[0]);
            let whole: Box<dyn Read + Send> = Box::new(io::Cursor::new([0x1f]).chain(rest));
            self.reader = BufReader::with_capacity(64 * 1024, whole);
            if second != Some(0x8b) {
                return false;
            }
        } else if !self.reader.buffer().starts_with(&[0x1f, 0x8b]) {
            return false;
        }
        let packed = std::mem::replace(&mut self.reader, BufReader::new(Box::new(io::empty())));
        let unpacked: Box<dyn Read + Send> = Box::new(crate::decode::Decoded::new(
            crate::decode::Coding::Gzip,
            packed,
            None,
        ));
        self.reader = BufReader::with_capacity(64 * 1024, unpacked);
        self.unpacked = true;
        true
    }

    /// Whether more input is at hand, or comes within `wait` ([`OPTION_WAIT`] when a URL read
    /// last waits to be handed out until it is clear no option lines follow). Always, but for
    /// a pipe or a terminal.
    fn more_at_hand(&self, wait: Duration) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let Some(file) = &self.wait_on else {
            return true;
        };
        if !self.reader.buffer().is_empty() {
            return true;
        }
        let wait = Timespec::try_from(wait).unwrap_or_default();
        let mut fds = [PollFd::new(file, PollFlags::IN)];
        // Data, an end of input (a hang-up) and an error all let the read go on at once.
        rustix::event::poll(&mut fds, Some(&wait)).is_ok_and(|ready| ready > 0)
    }
}

/// Streams jobs from several lists in order. Ids run on across lists.
pub struct LinkReader {
    sources: VecDeque<Source>,
    line: usize,
    next_id: usize,
    buf: Vec<u8>,
    /// The last URL line read, which takes the option lines that follow it until the next URL
    /// line, the end of its list, or a pause in a pipe.
    pending: Option<Job>,
    /// Jobs complete and ready to hand out, in input order.
    ready: VecDeque<Job>,
    /// `-B, --base`: what a plain list's relative lines resolve against.
    base: Option<Url>,
    /// Fetches the sitemaps a sitemap index names.
    remote: Option<OpenRemote>,
    /// When this reader first saw the run stopped: a pipe is read on for [`PIPE_AFTER_STOP`]
    /// at most after that.
    stopped: Option<Instant>,
}

/// How long a pipe that keeps flowing is read on after the run is stopped: what was in it by
/// then is read in far less, and a writer that never pauses (`yes URL | fetchpar -`, sent
/// SIGTERM alone) must not keep the run going.
const PIPE_AFTER_STOP: Duration = Duration::from_secs(1);

impl LinkReader {
    /// Opens every list up front so that a missing file, or a list on a server that does not
    /// answer with it, is reported before anything is fetched. `-` is standard input.
    pub fn open(
        lists: &[ListName],
        remote: OpenRemote,
        reading: &Reading,
    ) -> Result<Self, OpenError> {
        let mut sources = VecDeque::new();
        for (position, list) in lists.iter().enumerate() {
            let metalink = reading.metalink.contains(list);
            sources.push_back(match list {
                ListName::Local(path) => {
                    let source = open_one(path, position, reading.glob)?;
                    // A URL given as an argument is one, not a document.
                    let format = if url_argument(path) {
                        None
                    } else if metalink || metalink_name(path) {
                        Some(Format::Metalink)
                    } else {
                        reading.forced(reading.base.clone())
                    };
                    source.read_as_found(format)
                }
                ListName::Remote(url) => {
                    // Named without its login, which the list's lines would show otherwise.
                    let name = crate::outcome::redact(url);
                    let list = remote(url).map_err(|why| OpenError {
                        path: name.clone(),
                        source: io::Error::other(why.to_string()),
                    })?;
                    let mime = list.mime.as_deref().unwrap_or("");
                    let base = reading.base.clone().unwrap_or(list.location);
                    let format = if metalink || mime.starts_with("application/metalink") {
                        Some(Format::Metalink)
                    } else if let Some(forced) = reading.forced(Some(base.clone())) {
                        Some(forced)
                    } else if mime == "text/html" || mime == "application/xhtml+xml" {
                        Some(Format::Html {
                            base: Some(base),
                            names: Box::new(reading.names.clone()),
                        })
                    } else if matches!(
                        mime,
                        "application/xml"
                            | "text/xml"
                            | "application/rss+xml"
                            | "application/atom+xml"
                    ) {
                        Some(Format::Xml)
                    } else {
                        None
                    };
                    let source = Source {
                        from_web: true,
                        ..Source::new(&name, list.body, 0)
                    };
                    source.read_as_found(format)
                }
            });
        }
        let mut reader = Self::from_sources(sources);
        reader.base = reading.base.clone();
        reader.remote = Some(remote);
        Ok(reader)
    }

    /// How many jobs `lists` hold, found by reading them through once on their own, as the run
    /// will read them: the total a progress bar counts toward, where the run's own reader only
    /// reads as far as the fetches have got. `None` when a list is read as it arrives and
    /// cannot be read twice (standard input, a named pipe, a list on a server, a sitemap index
    /// whose sitemaps are on one), or cannot be opened.
    pub fn count(lists: &[ListName], reading: &Reading) -> Option<usize> {
        let rereadable = |list: &ListName| match list {
            ListName::Remote(_) => false,
            ListName::Local(path) => {
                url_argument(path)
                    || (path != Path::new("-") && path.metadata().is_ok_and(|m| m.is_file()))
            }
        };
        if !lists.iter().all(rereadable) {
            return None;
        }
        let needed_web = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&needed_web);
        let remote: OpenRemote = Arc::new(move |_: &Url| {
            flag.store(true, Ordering::Relaxed);
            Err(Failure::new(ErrorKind::InvalidUrl, "not counted"))
        });
        let jobs = Self::open(lists, remote, reading).ok()?.count();
        (!needed_web.load(Ordering::Relaxed)).then_some(jobs)
    }

    /// Whether any list is read as HTML (so that `--accept` and `--reject` have links to
    /// choose from).
    pub fn reads_html(&self) -> bool {
        let html =
            |s: &Source| matches!(&s.whole, Some(w) if matches!(w.format, Format::Html { .. }));
        self.sources.iter().any(html)
    }

    /// Reads one list from any reader (tests, and the demo's generated list).
    pub fn from_reader(name: &str, reader: impl Read + Send + 'static) -> Self {
        let source = Source::new(name, Box::new(reader), 0);
        Self::from_sources(VecDeque::from([source]))
    }

    /// Reads one list from a pipe or terminal that may pause (tests; stdin goes through
    /// [`LinkReader::open`]): a URL is handed out when no option line follows at once.
    #[cfg(test)]
    fn from_pipe(name: &str, pipe: File) -> Self {
        let mut source = Source::new(name, Box::new(pipe.try_clone().unwrap()), 0);
        source.wait_on = Some(pipe);
        Self::from_sources(VecDeque::from([source]))
    }

    fn from_sources(sources: VecDeque<Source>) -> Self {
        Self {
            line: sources.front().map_or(0, |s| s.lines_before),
            sources,
            next_id: 0,
            buf: Vec::new(),
            pending: None,
            ready: VecDeque::new(),
            base: None,
            remote: None,
            stopped: None,
        }
    }

    /// Stops reading the current list, which cannot be read on: the rest of it is lost, and
    /// the reason is reported like a bad line (on the line that showed it) so it is counted and
    /// seen. The next list's lines are numbered from its own start.
    fn abandon_source(&mut self, name: &Arc<str>, reason: String) {
        self.line += 1;
        self.ready.extend(self.pending.take());
        let job = self.make_job(name, String::new(), Err(reason));
        self.ready.push_back(job);
        self.end_source();
    }

    /// Ends the current list: the next one's lines are numbered from its own start, and the
    /// URL read last is ready (option lines belong to a URL of the same list).
    fn end_source(&mut self) {
        self.sources.pop_front();
        self.line = self.sources.front().map_or(0, |s| s.lines_before);
        self.ready.extend(self.pending.take());
    }

    /// Makes `job` the one that takes the option lines that follow, and readies the one before.
    fn hold(&mut self, job: Job) {
        self.ready.extend(self.pending.replace(job));
    }

    /// Adds an option line (trimmed, `key=value`) to the URL above it, or, when there is none,
    /// makes it a job that fails.
    fn add_option(&mut self, name: &Arc<str>, text: &str, key: &str, value: &str) {
        let line = self.line;
        let Some(job) = &mut self.pending else {
            let reason = format!(
                "an option line with no URL line above it (an aria2-style option goes on the \
                 indented lines right under its URL{})",
                if self.sources.front().is_some_and(|s| s.wait_on.is_some()) {
                    ", written with it"
                } else {
                    ""
                }
            );
            // Indented still, so that `--failed-out` writes it back as it was.
            let job = self.make_job(name, format!("  {text}"), Err(reason));
            self.ready.push_back(job);
            return;
        };
        // Bounded as a line is: a list of nothing but option lines must not pile up in one job.
        if job.text.len() + text.len() + 3 > MAX_LINE {
            if job.target.is_ok() {
                let reason = format!("its option lines are longer than {MAX_LINE} bytes in all");
                job.target = Err(invalid(format!("option on line {line}: {reason}")));
            }
            return;
        }
        job.text.push_str("\n  ");
        job.text.push_str(text);
        let web = self.sources.front().is_some_and(|s| s.from_web);
        if let Ok(target) = &mut job.target
            && let Err(reason) =
                from_web(web, key).and_then(|()| apply_option(&mut target.options, key, value))
        {
            job.target = Err(invalid(format!("option on line {line}: {reason}")));
        }
    }

    /// Readies the next job of the document in front (HTML, Metalink, sitemap, feed), reading
    /// it first; at its end, goes on to the next list. A sitemap index's sitemaps are read in
    /// their turn, each a list of its own in front of the rest of the index.
    fn next_entry(&mut self) {
        // A document compressed whole is read unpacked, from any source (it is read whole now,
        // so waiting on a pipe's first bytes holds nothing up).
        if let Some(source) = self.sources.front_mut()
            && source.whole.as_ref().is_some_and(|w| w.entries.is_none())
        {
            source.unpack();
        }
        let Some(Source {
            name,
            reader,
            wait_on,
            lines_before,
            unpacked,
            whole: Some(whole),
            ..
        }) = self.sources.front_mut()
        else {
            return;
        };
        let unpacked = *unpacked;
        let name = Arc::clone(name);
        let lines_before = *lines_before;
        if whole.entries.is_none() {
            let (what, limit) = match whole.format {
                Format::Html { .. } => ("HTML list", crate::html::MAX_HTML),
                Format::Metalink => ("Metalink file", crate::metalink::MAX_METALINK),
                Format::Sitemap | Format::Feed | Format::Xml => {
                    ("XML list", crate::sitemap::MAX_SITEMAP)
                }
            };
            let doc = match read_page(reader, wait_on.as_ref(), limit) {
                Ok(Some(doc)) => doc,
                Ok(None) => {
                    let unpacked = if unpacked { " unpacked" } else { "" };
                    let reason = format!("the {what} is longer than {} MiB{unpacked}", limit >> 20);
                    return self.abandon_source(&name, reason);
                }
                Err(err) if unpacked => {
                    let reason = format!("the list is a gzip file that does not unpack: {err}");
                    return self.abandon_source(&name, reason);
                }
                Err(err) => {
                    return self.abandon_source(&name, format!("reading the list failed: {err}"));
                }
            };
            whole.entries = Some(match &mut whole.format {
                Format::Html { base, names } => {
                    match crate::html::Links::new(doc, base.take(), *std::mem::take(names)) {
                        Ok(links) => Box::new(links),
                        Err(reason) => return self.abandon_source(&name, reason),
                    }
                }
                xml => match xml_list(doc, xml) {
                    Ok(list) if list.index && whole.nested => {
                        let reason = "a sitemap index named by a sitemap index (the sitemap \
                                      protocol allows one level)";
                        return self.abandon_source(&name, reason.into());
                    }
                    Ok(list) => {
                        whole.index = list.index;
                        list.entries
                    }
                    Err(reason) => return self.abandon_source(&name, reason),
                },
            });
        }
        let index = whole.index;
        match whole.entries.as_mut().and_then(Iterator::next) {
            Some(entry) => {
                self.line = lines_before + entry.line;
                match entry.target {
                    Ok(sitemap) if index => self.open_sitemap(&name, entry.text, &sitemap.url),
                    target => {
                        let job = self.make_job(&name, entry.text, target);
                        self.ready.push_back(job);
                    }
                }
            }
            None => self.end_source(),
        }
    }

    /// Puts a sitemap an index names in front, to be read next, its jobs numbered by its own
    /// lines: as XML by its root element (a sitemap or a feed; compressed whole or not), or as
    /// text, a URL a line, when it does not start like XML (sitemaps.org's three kinds); or, if
    /// it cannot be fetched, readies one job that fails with why, on the index's line.
    fn open_sitemap(&mut self, index: &Arc<str>, text: String, url: &Url) {
        let opened = match &self.remote {
            Some(remote) => remote(url),
            None => Err(Failure::new(
                ErrorKind::InvalidUrl,
                "no way to fetch the sitemaps an index names here",
            )),
        };
        match opened {
            Ok(list) => {
                let mut source = Source {
                    from_web: true,
                    ..Source::new(&crate::outcome::redact(url), list.body, 0)
                };
                source.unpack();
                // A read that fails is read again as XML, and says why then.
                let xml = source.reader.fill_buf().map_or(true, like_xml);
                source = source.read_as(xml.then_some(Format::Xml));
                if let Some(whole) = &mut source.whole {
                    whole.nested = true;
                }
                self.sources.push_front(source);
                self.line = 0;
            }
            Err(mut failure) => {
                failure.message = format!("the sitemap it names: {}", failure.message);
                let job = self.make_job(index, text, Ok(Target::from(url.clone())));
                self.ready.push_back(Job {
                    target: Err(failure),
                    ..job
                });
            }
        }
    }

    /// A job of the line read last; a line that is not usable fails as `invalid_url`.
    fn make_job(&mut self, source: &Arc<str>, text: String, target: Result<Target, String>) -> Job {
        let job = Job {
            id: self.next_id,
            source: Arc::clone(source),
            line: self.line,
            text,
            target: target.map_err(invalid),
            planned: None,
        };
        self.next_id += 1;
        job
    }
}

/// Whether a document's first bytes are those of XML (or of a gzip file, which an XML list
/// may be), rather than of text: nothing yet, or a `<` after white space and a byte order mark.
fn like_xml(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head.iter().find(|b| !b.is_ascii_whitespace());
    head.starts_with(&[0x1f, 0x8b]) || start.is_none_or(|&b| b == b'<')
}

/// A line that is not usable.
fn invalid(reason: String) -> Failure {
    Failure::new(ErrorKind::InvalidUrl, reason)
}

/// Opens one LIST argument; `position` is its 0-based place among them.
fn open_one(path: &Path, position: usize, glob: bool) -> Result<Source, OpenError> {
    let fail = |source| OpenError {
        path: path.display().to_string(),
        source,
    };
    // A URL given where a list is expected is a list of one, as curl and aria2c accept URLs
    // as arguments. An existing file of that name still wins.
    let text = path.to_string_lossy();
    if url_argument(path) {
        // As curl globs its URL arguments: `{a,b}` and `[1-9]` stand for several (not -g).
        let globbed = glob.then(|| crate::glob::parse(&text));
        let line = || Box::new(io::Cursor::new(format!("{text}\n").into_bytes()));
        return Ok(match globbed {
            Some(Ok(Some(glob))) => Source {
                one_line: true,
                ..Source::new("argument", Box::new(glob.lines()), position)
            },
            Some(Err(why)) => Source {
                refused: Some(format!("not a URL glob: {why} (-g takes the URL as it is)")),
                ..Source::new("argument", line(), position)
            },
            Some(Ok(None)) | None => Source::new("argument", line(), position),
        });
    }
    if path == Path::new("-") {
        return Ok(open_stdin());
    }
    let file = File::open(path).map_err(|err| match err.kind() {
        // `example.com` is a file's name as much as a host's: say how to ask for the host.
        io::ErrorKind::NotFound if lacks_scheme(&text) => fail(io::Error::new(
            err.kind(),
            format!("{err}; to fetch it as a URL, write http://{text}"),
        )),
        _ => fail(err),
    })?;
    let meta = file.metadata().map_err(fail)?;
    if meta.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    // A named pipe (`fetchpar <(grep ...)`) is read as standard input is when it is one.
    let wait_on = (!meta.is_file()).then(|| file.try_clone().ok()).flatten();
    Ok(Source {
        wait_on,
        ..Source::new(&path.display().to_string(), Box::new(file), 0)
    })
}

/// Whether a LIST argument is a URL to fetch: one that looks like a URL and is no file's name.
/// Any scheme counts (`HTTP://`, `ftp://`), so that a URL fetchpar cannot fetch fails its own
/// line as unsupported instead of stopping the run as a list that is not there.
fn url_argument(path: &Path) -> bool {
    let text = path.to_string_lossy();
    (scheme(&text).is_some() || bare_url(&text)) && !path.exists()
}

/// The scheme of a text that starts with one and `://` (RFC 3986's letters, digits, `+`, `-`
/// and `.`, a letter first), lowercased: `Some("http")` for `HTTP://host/`.
pub fn scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first.is_ascii_alphabetic() && rest_ok).then(|| scheme.to_ascii_lowercase())
}

/// The entries of an XML list, and what they are.
pub struct XmlList {
    /// Read from the document as they are asked for.
    pub entries: Box<dyn Iterator<Item = Entry> + Send>,
    /// A sitemap index: the entries are sitemaps, whose URLs are the list.
    pub index: bool,
}

/// The jobs of an XML list, for tests: [`xml_list`]'s entries.
#[cfg(test)]
pub fn xml_entries(doc: &[u8], format: &Format) -> Result<Vec<Entry>, String> {
    xml_list(doc.to_vec(), format).map(|list| list.entries.collect())
}

/// The entries of an XML list (`format` is [`Format::Metalink`], [`Format::Sitemap`],
/// [`Format::Feed`], or [`Format::Xml`] for any of them, by its root element), or why it is
/// none. A document compressed whole (`sitemap.xml.gz`) comes here unpacked by its source.
pub fn xml_list(doc: Vec<u8>, format: &Format) -> Result<XmlList, String> {
    let (what, roots) = match format {
        Format::Metalink => ("a Metalink file", "<metalink>"),
        Format::Sitemap => ("a sitemap", "<urlset> or <sitemapindex>"),
        Format::Feed => ("an RSS or Atom feed", "<rss>, <rdf:RDF> or <feed>"),
        _ => (
            "a sitemap, a Metalink file or a feed",
            "<urlset>, <sitemapindex>, <metalink>, <rss>, <rdf:RDF> or <feed>",
        ),
    };
    if std::str::from_utf8(&doc).is_err() {
        return Err(format!("not {what}: not UTF-8 text"));
    }
    let (events, root) =
        crate::xml::Events::new(doc).map_err(|broken| format!("not {what}: {broken}"))?;
    let index = root.name == "sitemapindex";
    let entries: Box<dyn Iterator<Item = Entry> + Send> = match (root.name.as_str(), format) {
        ("metalink", Format::Metalink | Format::Xml) => Box::new(crate::metalink::entries(events)),
        ("urlset" | "sitemapindex", Format::Sitemap | Format::Xml) => {
            Box::new(crate::sitemap::entries(events, index))
        }
        ("rss" | "RDF" | "feed", Format::Feed | Format::Xml) => {
            Box::new(crate::feed::entries(events))
        }
        (root, _) => {
            return Err(format!(
                "not {what}: its root element is <{root}>, not {roots}"
            ));
        }
    };
    Ok(XmlList { entries, index })
}

/// Whether a list file's name says it is a Metalink file, as aria2c takes one.
fn metalink_name(path: &Path) -> bool {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    extension.eq_ignore_ascii_case("meta4") || extension.eq_ignore_ascii_case("metalink")
}

/// Standard input, read through a descriptor of its own so that, when it is a pipe or a
/// terminal, it can be polled before reading ahead (std's `Stdin` keeps a buffer of its own
/// that a poll would not see).
fn open_stdin() -> Source {
    let stdin = io::stdin();
    let Ok(fd) = stdin.as_fd().try_clone_to_owned() else {
        // A closed standard input: std's `Stdin` reads it as empty.
        return Source::new("-", Box::new(stdin), 0);
    };
    let file = File::from(fd);
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    let wait_on = if regular { None } else { file.try_clone().ok() };
    let mut source = Source::new("-", Box::new(file), 0);
    source.wait_on = wait_on;
    source
}

impl Iterator for LinkReader {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        loop {
            if let Some(job) = self.ready.pop_front() {
                return Some(job);
            }
            let Some(source) = self.sources.front_mut() else {
                return self.pending.take();
            };
            if source.whole.is_some() {
                self.next_entry();
                continue;
            }
            if self.pending.is_some() && !source.more_at_hand(OPTION_WAIT) {
                return self.pending.take();
            }
            // After an interrupt a pipe is read for what is in it, and not waited on: lines its
            // writer has not written yet were never in the list, and a writer that goes on
            // writing must not keep a stopped run going.
            let stopped =
                crate::cancel::requested().then(|| *self.stopped.get_or_insert_with(Instant::now));
            if stopped.is_some_and(|at| {
                !source.more_at_hand(Duration::ZERO)
                    || (source.wait_on.is_some() && at.elapsed() > PIPE_AFTER_STOP)
            }) {
                self.end_source();
                continue;
            }
            let name = Arc::clone(&source.name);
            // A pipe is looked into for gzip when its first line is read (not at opening).
            if !source.read_any && source.wait_on.is_some() {
                source.look_into();
                if source.whole.is_some() {
                    continue;
                }
            }
            let first = !std::mem::replace(&mut source.read_any, true);
            let (one_line, refused) = (source.one_line, source.refused.clone());
            let web = source.from_web;
            let Source {
                reader, wait_on, ..
            } = source;
            match read_bounded_line(reader, &mut self.buf, wait_on.as_ref()) {
                Ok(None) => {
                    self.end_source();
                }
                Ok(Some(_))
                    if first
                        && (self.buf.starts_with(&[0xff, 0xfe])
                            || self.buf.starts_with(&[0xfe, 0xff])) =>
                {
                    // Every line of it would fail as not a URL: one failure says why.
                    let reason = "the list is UTF-16 text (it starts with a UTF-16 byte order \
                                  mark, as Windows PowerShell's `>` writes files), and fetchpar \
                                  reads UTF-8; `iconv -f UTF-16 -t UTF-8 LIST > NEW` converts it";
                    self.abandon_source(&name, reason.into());
                }
                Ok(Some(too_long)) => {
                    if first || !one_line {
                        self.line += 1;
                    }
                    if too_long {
                        let text = shorten(&String::from_utf8_lossy(&self.buf));
                        let reason = format!("line is longer than {MAX_LINE} bytes");
                        let job = self.make_job(&name, text, Err(reason));
                        self.hold(job);
                        continue;
                    }
                    let Ok(line) = std::str::from_utf8(&self.buf) else {
                        let text = shorten(&String::from_utf8_lossy(&self.buf));
                        let job = self.make_job(&name, text, Err("not valid UTF-8".into()));
                        self.hold(job);
                        continue;
                    };
                    // A byte-order mark (lists saved by some Windows editors) is not part of
                    // the first URL.
                    let raw = line.strip_prefix('\u{feff}').unwrap_or(line);
                    let line = raw.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let line = line.to_string();
                    if let Some((key, value)) = option_line(raw) {
                        let (key, value) = (key.to_string(), value.to_string());
                        self.add_option(&name, &line, &key, &value);
                        continue;
                    }
                    let target = match refused {
                        Some(reason) => Err(reason),
                        None => parse_line_in(&line, self.base.as_ref(), web),
                    };
                    let job = self.make_job(&name, line, target);
                    self.hold(job);
                }
                Err(err) => {
                    // A list that fails mid-read loses only what is after the failure.
                    self.abandon_source(&name, format!("reading the list failed: {err}"));
                }
            }
        }
    }
}

/// An aria2 option line: indented, then `key=value` with a key of letters, digits and `-`
/// (which no URL, with its `:` or `.`, can start like). The value is the rest of the line, so
/// it may hold spaces (`  out=my file.iso`).
fn option_line(raw: &str) -> Option<(&str, &str)> {
    if !raw.starts_with([' ', '\t']) {
        return None;
    }
    key_value(raw.trim())
}

/// `key=value` with a key of letters, digits and `-`, starting with a letter: an option, on
/// a line of its own or after its URL.
fn key_value(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.split_once('=')?;
    let key_like = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    key_like.then_some((key, value))
}

/// Reads up to the next `\n` into `buf`, keeping at most [`MAX_LINE`] bytes. Returns `None` at
/// the end of input, or whether the line was cut. `wait_on` is as [`more`] takes it.
fn read_bounded_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    wait_on: Option<&File>,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        if !more(reader, wait_on)? {
            return Ok(any.then_some(too_long));
        }
        // Buffered by `more`: no read.
        let available = reader.fill_buf()?;
        any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            let room = MAX_LINE - buf.len();
            if chunk.len() > room {
                too_long = true;
                buf.extend_from_slice(&chunk[..room]);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = newline.map_or(available.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(too_long));
        }
    }
}

/// Whether `reader` has bytes buffered, reading if none are (false at the end of input).
/// `wait_on` is polled when a read finds nothing yet on a descriptor left non-blocking by
/// whoever ran fetchpar, where a read would fail with "Resource temporarily unavailable" and
/// end the list.
fn more(reader: &mut dyn BufRead, wait_on: Option<&File>) -> io::Result<bool> {
    loop {
        match reader.fill_buf() {
            Ok(bytes) => return Ok(!bytes.is_empty()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock && wait_on.is_some() => {
                use rustix::event::{PollFd, PollFlags};
                if let Some(file) = wait_on {
                    let mut fds = [PollFd::new(file, PollFlags::IN)];
                    let _ = rustix::event::poll(&mut fds, None);
                }
            }
            Err(err) => return Err(err),
        }
    }
}

/// Reads a page whole, up to `limit` bytes (`None` past it). `wait_on` is as [`more`] takes it.
fn read_page(
    reader: &mut dyn BufRead,
    wait_on: Option<&File>,
    limit: u64,
) -> io::Result<Option<Vec<u8>>> {
    let mut page = Vec::new();
    loop {
        if !more(reader, wait_on)? {
            return Ok(Some(page));
        }
        let available = reader.fill_buf()?;
        if (page.len() + available.len()) as u64 > limit {
            return Ok(None);
        }
        page.extend_from_slice(available);
        let used = available.len();
        reader.consume(used);
    }
}

/// Keeps error messages readable when a line is enormous.
pub fn shorten(text: &str) -> String {
    const KEEP: usize = 200;
    if text.len() <= KEEP {
        return text.to_string();
    }
    let mut end = KEEP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Parses `URL [key=value]...`.
pub fn parse_line(line: &str) -> Result<Target, String> {
    parse_line_in(line, None, false)
}

/// Parses `URL [key=value]...`, where with `base` (`-B, --base`) a URL without a scheme is
/// relative to it, as wget resolves a list's lines against its `--base`. `web`: the list was
/// fetched from a server (see [`from_web`]).
fn parse_line_in(line: &str, base: Option<&Url>, web: bool) -> Result<Target, String> {
    let mut words = line.split_whitespace();
    let first = words.next().ok_or("empty line")?;
    let url = match base {
        Some(base)
            if matches!(
                Url::parse(first),
                Err(url::ParseError::RelativeUrlWithoutBase)
            ) =>
        {
            let url = base
                .join(first)
                .map_err(|err| format!("not a URL: {err}"))?;
            parse_url(url.as_str())?
        }
        _ => parse_url(first)?,
    };
    let mut options = LineOptions::default();
    let mut mirrors = Vec::new();
    for word in words {
        // An option's key is a word (`out`, `max-download-limit`), which no URL starts like,
        // so an option whose value is a URL (`referer=https://...`) is an option.
        if let Some((key, value)) = key_value(word) {
            from_web(web, key)?;
            apply_option(&mut options, key, value)?;
            continue;
        }
        if word.contains("://") {
            let mirror = parse_url(word).map_err(|why| format!("mirror `{word}`: {why}"))?;
            mirrors.push(mirror);
            continue;
        }
        // Anything else after the URL is most likely the rest of a URL with a space in it,
        // pasted as it was shown.
        return Err(format!(
            "`{word}` after the URL is neither an option (key=value) nor another URL; a space \
             inside a URL is written %20"
        ));
    }
    Ok(Target {
        url,
        mirrors,
        options,
    })
}

/// Refuses a proxy option on a line of a list fetched from a server: a line sent through a
/// proxy the list names would take what the run sends with it (an http URL's cookies from the
/// jar, its netrc login) to that proxy in the clear, where the server alone should have them.
/// Lists the user has (files, standard input, arguments) may name proxies.
fn from_web(web: bool, key: &str) -> Result<(), String> {
    match web && LineProxies::takes(key) {
        true => Err(format!(
            "`{key}=` on a list fetched from a server: such a list cannot send its lines \
             through a proxy (give --proxy, or save the list and give the file)"
        )),
        false => Ok(()),
    }
}

/// aria2c's true-or-false options a session carries that change nothing an http(s) URL saves
/// here (see [`apply_option`]); `use-head` among them, a HEAD before the GET, which fetchpar
/// never sends.
const QUIET_SWITCHES: &[&str] = &[
    "use-head",
    "realtime-chunk-checksum",
    "check-integrity",
    "allow-piece-length-change",
    "async-dns",
    "reuse-uri",
    "remove-control-file",
    "always-resume",
    "enable-mmap",
    "force-save",
    "enable-http-keep-alive",
    "enable-http-pipelining",
    "http-auth-challenge",
    "content-disposition-default-utf8",
    "enable-peer-exchange",
];

/// Sets one per-URL option: fetchpar's own and the aria2 input-file options that mean the
/// same. Any other key is an error, so that a list meant to put a file elsewhere, or to check
/// it another way, does not pass unnoticed.
fn apply_option(options: &mut LineOptions, key: &str, value: &str) -> Result<(), String> {
    match key {
        "out" if value.is_empty() => return Err("out= needs a file name".into()),
        "out" => options.out = Some(value.to_string()),
        "sha256" => options.checksum = Some(parse_checksum(key, Algorithm::Sha256, value)?),
        // aria2's `checksum=TYPE=DIGEST`.
        "checksum" => {
            let (kind, digest) = value
                .split_once('=')
                .ok_or("checksum= needs TYPE=DIGEST, as checksum=sha-256=HEX")?;
            let algorithm = Algorithm::from_name(kind).ok_or_else(|| {
                format!(
                    "checksum type `{kind}` is not supported (adler32, md5, sha-1, sha-224, \
                     sha-256, sha-384, sha-512)"
                )
            })?;
            options.checksum = Some(parse_checksum(key, algorithm, digest)?);
        }
        "size" => match value.parse::<u64>() {
            Ok(size) => options.size = Some(size),
            _ => {
                return Err(format!(
                    "size= takes the file's size in bytes, not `{value}`"
                ));
            }
        },
        "header" => {
            let header = crate::fetch::parse_header(value).map_err(|e| format!("{e:#}"))?;
            options.headers.push(header);
        }
        "referer" => {
            options.referer = Some(Referer::parse(value).map_err(|why| format!("referer=: {why}"))?)
        }
        "user-agent" => {
            let value = HeaderValue::try_from(value)
                .map_err(|_| format!("the value of {key}= is not a valid header value"))?;
            options
                .headers
                .push((ureq::http::header::USER_AGENT, value));
        }
        "split" => match value.parse::<usize>() {
            Ok(n @ 1..=16) => options.split = Some(n),
            _ => return Err(format!("split= takes 1 to 16 connections, not `{value}`")),
        },
        "max-download-limit" => {
            let rate = crate::cli::parse_bytes(value)
                .map_err(|why| format!("max-download-limit=: {why}"))?;
            options.download_limit = Some(rate);
        }
        "dir" if value.is_empty() => return Err("dir= needs a folder".into()),
        "dir" => options.dir = Some(value.to_string()),
        // What aria2c's --save-session writes beside a download's own options.
        "max-connection-per-server" => match value.parse::<usize>() {
            Ok(n @ 1..=16) => options.per_server = Some(n),
            _ => {
                return Err(format!(
                    "max-connection-per-server= takes 1 to 16 connections, not `{value}`"
                ));
            }
        },
        "max-tries" => match value.parse::<u32>() {
            Ok(0) => {
                return Err(
                    "max-tries=0 is aria2c's \"try for ever\", which fetchpar does not \
                            do: give the number of attempts"
                        .into(),
                );
            }
            Ok(n) => options.tries = Some(n),
            _ => {
                return Err(format!(
                    "max-tries= takes a number of attempts, not `{value}`"
                ));
            }
        },
        "min-split-size" => {
            let size = crate::cli::parse_split_size(value)
                .map_err(|why| format!("min-split-size=: {why}"))?;
            options.min_split = Some(size);
        }
        "continue" => match value {
            "true" => options.resume = Some(true),
            "false" => options.resume = Some(false),
            _ => return Err(format!("continue= takes true or false, not `{value}`")),
        },
        "http-user" => {
            let password = options.login.take().map(|l| l.password).unwrap_or_default();
            options.login = Some(Login::new(value.to_string(), password));
        }
        "http-passwd" => {
            let user = options.login.take().map(|l| l.user).unwrap_or_default();
            options.login = Some(Login::new(user, value.to_string()));
        }
        "retry-wait" => match value.parse::<u32>() {
            Ok(secs @ 0..=600) => options.retry_wait = Some(Duration::from_secs(secs.into())),
            _ => return Err(format!("retry-wait= takes 0 to 600 seconds, not `{value}`")),
        },
        // aria2c's range is 1 to 600; 0 is fetchpar's "no limit", as on the command line.
        "timeout" | "connect-timeout" => {
            let secs = match value.parse::<u32>() {
                Ok(secs @ 0..=600) => secs,
                _ => return Err(format!("{key}= takes 0 to 600 seconds, not `{value}`")),
            };
            let limit = Some(Duration::from_secs(secs.into())).filter(|d| !d.is_zero());
            match key {
                "timeout" => options.stall_timeout = Some(limit),
                _ => options.connect_timeout = Some(limit),
            }
        }
        "lowest-speed-limit" => {
            let rate = crate::cli::parse_bytes(value)
                .map_err(|why| format!("lowest-speed-limit=: {why}"))?;
            options.low_speed = Some(rate);
        }
        "remote-time" | "allow-overwrite" | "auto-file-renaming" | "conditional-get"
        | "http-accept-gzip" | "dry-run" => {
            let on = match value {
                "true" => true,
                "false" => false,
                _ => return Err(format!("{key}= takes true or false, not `{value}`")),
            };
            match key {
                "remote-time" => options.remote_time = Some(on),
                "allow-overwrite" => options.overwrite = Some(on),
                "auto-file-renaming" => options.renaming = Some(on),
                "conditional-get" => options.timestamping = Some(on),
                "http-accept-gzip" => options.compressed = Some(on),
                _ => options.dry_run = Some(on),
            }
        }
        // The certificate is checked, as this asks.
        "check-certificate" if value == "true" => {}
        // aria2c's id for the download, which nothing here uses.
        "gid"
            if (1..=16).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit()) => {}
        "gid" => return Err(format!("gid= takes aria2c's 16 hex digits, not `{value}`")),
        // How aria2c lays a file out on disk and picks among sources and pieces: fetchpar
        // has its own ways, and what is saved is the same.
        "file-allocation" if ["none", "prealloc", "trunc", "falloc"].contains(&value) => {}
        "uri-selector" if ["inorder", "feedback", "adaptive"].contains(&value) => {}
        "stream-piece-selector" if ["default", "inorder", "random", "geom"].contains(&value) => {}
        // aria2c's ways to the same file: a 404 asked again, a resume a server refuses tried
        // again. A 404 is final here, and a refused resume starts over; what is saved is the
        // same.
        "max-file-not-found" | "max-resume-failure-tries" if value.parse::<u32>().is_ok() => {}
        // aria2c's session writes every option its run was given a value for beside the
        // default (checked with aria2c 1.36, from an aria2.conf-like command line): these
        // change how aria2c reads, writes, checks and keeps the file, its connections and
        // its torrents and Metalinks, and nothing of what an http(s) URL saves here.
        _ if QUIET_SWITCHES.contains(&key) => {
            if !matches!(value, "true" | "false") {
                return Err(format!("{key}= takes true or false, not `{value}`"));
            }
        }
        "piece-length" | "no-file-allocation-limit" | "max-mmap-limit" => {
            crate::cli::parse_bytes(value)
                .map_err(|_| format!("{key}= takes a size (1M, 1048576), not `{value}`"))?;
        }
        "follow-torrent" if matches!(value, "true" | "false" | "mem") => {}
        "seed-time" | "seed-ratio" if value.parse::<f64>().is_ok_and(|n| n >= 0.0) => {}
        _ if key.starts_with("bt-") || key.starts_with("metalink-") => {}
        // aria2c asks so with each request.
        "http-no-cache" if value == "true" => {
            for (name, sent) in [("cache-control", "no-cache"), ("pragma", "no-cache")] {
                let name = HeaderName::from_static(name);
                if !options.headers.iter().any(|(given, _)| *given == name) {
                    options.headers.push((name, HeaderValue::from_static(sent)));
                }
            }
        }
        "http-no-cache" if value == "false" => {}
        // No netrc file is read unless the run asks (-n), which is what `true` asks.
        "no-netrc" if value == "true" => {}
        "no-netrc" => {
            return Err(
                "no-netrc=false: a netrc file is read for the whole run, with -n".to_string(),
            );
        }
        // A Metalink answer is saved as the file it is, which is what `false` asks.
        "follow-metalink" if value == "false" => {}
        "follow-metalink" => {
            return Err(format!(
                "follow-metalink={value}: a Metalink answer is saved as a file here, not \
                 followed; give the file to -M to fetch what it lists"
            ));
        }
        _ if LineProxies::takes(key) => {
            (options.proxies.get_or_insert_default()).set(key, value)?
        }
        "check-certificate" => {
            return Err(
                "aria2c's `check-certificate=false` is not taken: certificates are always \
                 checked here (--cacert trusts a private CA)"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "unknown option `{key}` (known: out, dir, sha256, checksum=sha-256=HEX, \
                 size, header, referer, user-agent, split, max-download-limit, \
                 max-connection-per-server, min-split-size, max-tries, continue, gid, \
                 http-user, http-passwd, retry-wait, timeout, connect-timeout, \
                 lowest-speed-limit, remote-time, conditional-get, allow-overwrite, \
                 auto-file-renaming, http-accept-gzip, all-proxy, http-proxy, https-proxy \
                 (each with -user and -passwd), no-proxy, proxy-method, dry-run)"
            ));
        }
    }
    Ok(())
}

pub(crate) fn parse_url(text: &str) -> Result<Url, String> {
    let url = if lacks_scheme(text) {
        Url::parse(&format!("http://{text}"))
    } else {
        Url::parse(text)
    };
    let url = url.map_err(|err| match err {
        // url's own words ("relative URL without a base") speak of a base no list has.
        url::ParseError::RelativeUrlWithoutBase => {
            "not a URL: no scheme (http://, https://) and no host name first".to_string()
        }
        err => format!("not a URL: {err}"),
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "unsupported scheme `{other}` (only http and https)"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    Ok(url)
}

/// Whether `text` is a URL without its scheme that starts with a host: `example.com/file`,
/// `localhost:8080/x`, `10.0.0.1:81`, `[::1]/x`. curl and wget take those as http, and so does
/// fetchpar. A word before a colon that is not followed by a port is a scheme (`mailto:`,
/// `data:`, `C:`), and a first part with no dot (`notes`) is not taken for a host name.
fn lacks_scheme(text: &str) -> bool {
    if text.contains("://") {
        return false;
    }
    let authority = text.split(['/', '?', '#']).next().unwrap_or("");
    if authority.starts_with('[') {
        return true;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_like = host == "localhost" || (host.contains('.') && !host.starts_with('.'));
    port_ok && host_like
}

/// Whether an argument that names no file is a URL without its scheme, as curl and wget take
/// `example.com/file.zip` and `localhost:8080`: a host first, and then a path or a port.
/// A bare `links.txt` is a host name only by its shape, and far more often a list mistyped, so
/// it stays a file that cannot be read.
fn bare_url(text: &str) -> bool {
    let authority = text.split(['/', '?', '#']).next().unwrap_or("");
    let more = authority.len() < text.len() || authority.contains(':');
    more && lacks_scheme(text)
}

pub(crate) fn parse_checksum(
    key: &str,
    algorithm: Algorithm,
    hex: &str,
) -> Result<Checksum, String> {
    let digits = 2 * algorithm.len();
    let bad = || {
        let name = algorithm.name();
        format!("{key}= needs {digits} hex digits for its {name} digest, found `{hex}`")
    };
    if hex.len() != digits {
        return Err(bad());
    }
    let digest = unhex(hex).ok_or_else(bad)?;
    Ok(Checksum { algorithm, digest })
}

/// The bytes a string of hex digits (either case) spells, or `None` if it is anything else.
pub fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Formats a digest as lowercase hex, the way `sha256sum` prints it.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why a job's line is not usable.
    fn why(job: &Job) -> &str {
        &job.target.as_ref().unwrap_err().message
    }

    fn jobs(input: &'static [u8]) -> Vec<Job> {
        LinkReader::from_reader("t", input).collect()
    }

    #[test]
    fn skips_blanks_and_comments_and_numbers_lines() {
        let got = jobs(b"# header\n\n  http://a.example/x  \r\n#c\nhttp://b.example/\n");
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].id, got[0].line), (0, 3));
        assert_eq!(
            got[0].target.as_ref().unwrap().url.as_str(),
            "http://a.example/x"
        );
        assert_eq!((got[1].id, got[1].line), (1, 5));
    }

    #[test]
    fn bad_lines_fail_alone_with_a_reason() {
        let got = jobs(b"ftp://x/\nnot a url\nhttp://ok.example/\nhttp://x/ color=red\n\xff\xfe\n");
        assert_eq!(got.len(), 5);
        assert!(why(&got[0]).contains("scheme"));
        assert!(why(&got[1]).contains("not a URL"));
        assert!(got[2].target.is_ok());
        assert!(why(&got[3]).contains("unknown option `color`"));
        assert!(why(&got[4]).contains("UTF-8"));
    }

    #[test]
    fn a_line_without_a_scheme_that_starts_with_a_host_is_http() {
        let url = |line: &str| parse_line(line).map(|t| t.url.to_string());
        assert_eq!(
            url("example.com/a.zip").unwrap(),
            "http://example.com/a.zip"
        );
        assert_eq!(url("localhost:8080/x").unwrap(), "http://localhost:8080/x");
        assert_eq!(url("127.0.0.1:81?q=1").unwrap(), "http://127.0.0.1:81/?q=1");
        assert_eq!(url("[::1]:8080/x").unwrap(), "http://[::1]:8080/x");
        assert_eq!(url("HTTPS://example.com/").unwrap(), "https://example.com/");
        // As an argument naming no file, only with a path or a port after the host.
        for text in [
            "example.com/a.zip",
            "localhost:8080",
            "10.0.0.1:81?q",
            "[::1]/x",
        ] {
            assert!(bare_url(text), "{text}");
        }
        for text in ["links.txt", "lists/links.txt", "C:/x", "notes", "./a.b/c"] {
            assert!(!bare_url(text), "{text}");
        }
        // Schemes, and words that are not host names, stay what they were.
        assert!(
            url("mailto:a@b.example")
                .unwrap_err()
                .contains("scheme `mailto`")
        );
        assert!(
            url("data:text/plain,hi")
                .unwrap_err()
                .contains("scheme `data`")
        );
        assert!(url("C:/Users/x.txt").unwrap_err().contains("scheme `c`"));
        assert_eq!(
            url("notes").unwrap_err(),
            "not a URL: no scheme (http://, https://) and no host name first"
        );
        assert!(url("example.com:http/x").unwrap_err().contains("scheme"));
    }

    #[test]
    fn per_line_options_are_read() {
        let digest = "ab".repeat(32);
        let line = format!("http://h.example/f out=name.bin sha256={digest}");
        let target = parse_line(&line).unwrap();
        assert_eq!(target.options.out.as_deref(), Some("name.bin"));
        assert_eq!(hex(&target.options.checksum.unwrap().digest), digest);
        assert!(parse_line("http://h.example/ sha256=abc").is_err());
        // An option whose value is a URL is an option, not a mirror; a URL is a mirror.
        let target = parse_line("http://h.example/f referer=https://r.example/p").unwrap();
        assert!(target.options.referer.is_some() && target.mirrors.is_empty());
        let target = parse_line("http://h.example/f https://m.example/f?a=b").unwrap();
        assert_eq!(target.mirrors.len(), 1);
        assert!(target.options.referer.is_none());
    }

    #[test]
    fn an_overlong_line_is_cut_and_reported_without_losing_the_next() {
        let mut input = vec![b'a'; MAX_LINE * 3];
        input.extend_from_slice(b"\nhttp://next.example/\n");
        let got: Vec<Job> = LinkReader::from_reader("t", io::Cursor::new(input)).collect();
        assert_eq!(got.len(), 2);
        assert!(why(&got[0]).contains("longer than"));
        assert!(got[0].text.len() < 300);
        assert_eq!(got[1].line, 2);
        assert!(got[1].target.is_ok());
    }

    #[test]
    fn a_hundred_megabyte_line_is_skipped_in_bounded_memory() {
        let huge = io::repeat(b'x').take(100 * 1024 * 1024);
        let rest = io::Cursor::new(b"\nhttp://after.example/\n".to_vec());
        let got: Vec<Job> = LinkReader::from_reader("t", huge.chain(rest)).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].target.is_err());
        assert!(got[0].text.len() < 300);
        assert_eq!((got[1].line, got[1].target.is_ok()), (2, true));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_keep_line_numbers(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
                    proptest::strategy::Just(b"http://ok.example/a".to_vec()),
                    proptest::strategy::Just(b"  # comment".to_vec()),
                    proptest::strategy::Just(b"http://u:p@h.example/\0x".to_vec()),
                    proptest::strategy::Just(b"  out=x.bin".to_vec()),
                ],
                0..40,
            ),
            crlf in proptest::prelude::any::<bool>(),
        ) {
            let lines: Vec<Vec<u8>> = lines
                .into_iter()
                .map(|l| l.into_iter().filter(|&b| b != b'\n').collect())
                .collect();
            let sep: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let input = lines.join(sep);
            let jobs: Vec<Job> = LinkReader::from_reader("p", io::Cursor::new(input)).collect();
            // A list that starts with a UTF-16 byte order mark is one failure saying so.
            let first = lines.first().map_or(&[][..], Vec::as_slice);
            if first.starts_with(&[0xff, 0xfe]) || first.starts_with(&[0xfe, 0xff]) {
                proptest::prop_assert_eq!(jobs.len(), 1);
                proptest::prop_assert!(why(&jobs[0]).contains("UTF-16"));
                return Ok(());
            }
            // Every line but blanks and comments is a job, except an option line with a
            // URL line (any line that is neither) somewhere above it, which is that URL's.
            let mut expected = 0;
            let mut url_above = false;
            for line in &lines {
                match std::str::from_utf8(line) {
                    Ok(text) => {
                        let t = text.trim();
                        if t.is_empty() || t.starts_with('#') {
                            continue;
                        }
                        if option_line(text).is_some() && url_above {
                            continue;
                        }
                        url_above |= option_line(text).is_none();
                    }
                    Err(_) => url_above = true,
                }
                expected += 1;
            }
            proptest::prop_assert_eq!(jobs.len(), expected);
            for pair in jobs.windows(2) {
                proptest::prop_assert!(pair[0].line < pair[1].line && pair[0].id + 1 == pair[1].id);
            }
            for job in &jobs {
                let raw = &lines[job.line - 1];
                if raw.as_slice() == b"http://ok.example/a" {
                    proptest::prop_assert!(job.target.is_ok());
                }
            }
        }
    }

    #[test]
    fn indented_option_lines_belong_to_the_url_above_as_in_aria2_input_files() {
        let digest = "ab".repeat(32);
        let input = format!(
            "  out=orphan.bin\nhttp://a.example/x\n  out=my file.iso\n\tchecksum=sha-256={digest}\n\
             # a comment between\n  sha256={digest}\nhttp://b.example/\n  all-proxy=socks5://p:1080\n\
             \x20 http://c.example/?q=a=b\nnot a url\n  out=kept.bin\n"
        );
        let got: Vec<Job> = LinkReader::from_reader("t", io::Cursor::new(input)).collect();
        let lines: Vec<usize> = got.iter().map(|j| j.line).collect();
        assert_eq!(lines, [1, 2, 7, 9, 10]);
        assert!(why(&got[0]).contains("no URL line above it"));
        assert_eq!(got[0].text, "  out=orphan.bin");
        let a = got[1].target.as_ref().unwrap();
        assert_eq!(a.url.as_str(), "http://a.example/x");
        assert_eq!(a.options.out.as_deref(), Some("my file.iso"));
        assert_eq!(hex(&a.options.checksum.as_ref().unwrap().digest), digest);
        // The job's text keeps its option lines, so --failed-out writes a list that runs again.
        assert_eq!(
            got[1].text,
            format!(
                "http://a.example/x\n  out=my file.iso\n  checksum=sha-256={digest}\n  sha256={digest}"
            )
        );
        assert_eq!(
            why(&got[2]),
            "option on line 8: all-proxy= takes an HTTP or https proxy, as aria2c's does; a \
             SOCKS proxy goes with --proxy"
        );
        assert_eq!(
            parse_line("http://e.example/ colour=blue").unwrap_err(),
            "unknown option `colour` (known: out, dir, sha256, checksum=sha-256=HEX, size, \
             header, referer, user-agent, split, max-download-limit, max-connection-per-server, \
             min-split-size, max-tries, continue, gid, http-user, http-passwd, retry-wait, \
             timeout, connect-timeout, lowest-speed-limit, remote-time, conditional-get, \
             allow-overwrite, auto-file-renaming, http-accept-gzip, all-proxy, http-proxy, \
             https-proxy (each with -user and -passwd), no-proxy, proxy-method, dry-run)"
        );
        // What aria2c's --save-session writes beside a download's own options.
        let session = "http://e.example/ gid=dec015a3ffad1790 max-tries=2 continue=true \
                       max-connection-per-server=3 split=5 min-split-size=2M \
                       file-allocation=none uri-selector=feedback stream-piece-selector=geom";
        let session = parse_line(session).unwrap().options;
        assert_eq!((session.tries, session.resume), (Some(2), Some(true)));
        assert_eq!(session.min_split, Some(2 << 20));
        assert_eq!(session.connections(), Some(3), "the cap holds split= to it");
        // And the options aria2c was started with, on every line: the login, retry-wait,
        // timeouts and saving switches are the line's; the run's own are kept to be checked
        // against the run's settings.
        let started = "http://e.example/ timeout=7 http-user=u remote-time=true retry-wait=3 \
                       http-passwd=p use-head=true max-file-not-found=3 follow-metalink=false \
                       connect-timeout=0 lowest-speed-limit=10K allow-overwrite=false \
                       auto-file-renaming=false conditional-get=true http-accept-gzip=true \
                       dry-run=false";
        let started = parse_line(started).unwrap().options;
        let login = started.login.as_ref().unwrap();
        assert_eq!((login.user.as_str(), login.password.as_str()), ("u", "p"));
        assert_eq!(started.retry_wait, Some(Duration::from_secs(3)));
        let timeouts = (started.stall_timeout, started.connect_timeout);
        assert_eq!(timeouts, (Some(Some(Duration::from_secs(7))), Some(None)));
        assert_eq!(started.low_speed, Some(10 * 1024));
        let switches = (started.remote_time, started.overwrite, started.renaming);
        assert_eq!(switches, (Some(true), Some(false), Some(false)));
        assert_eq!(started.timestamping, Some(true));
        assert_eq!(
            (started.compressed, started.dry_run),
            (Some(true), Some(false))
        );
        let alone = parse_line("http://e.example/ max-connection-per-server=4").unwrap();
        assert_eq!(
            alone.options.connections(),
            Some(4),
            "alone it asks for as many"
        );
        for (bad, why) in [
            ("gid=xyz", "16 hex digits"),
            ("max-tries=0", "try for ever"),
            ("continue=yes", "true or false"),
            ("max-connection-per-server=17", "1 to 16"),
            ("min-split-size=1K", "outside 1M-1G"),
            (
                "timeout=soon",
                "timeout= takes 0 to 600 seconds, not `soon`",
            ),
            ("connect-timeout=601", "0 to 600 seconds"),
            ("lowest-speed-limit=fast", "lowest-speed-limit=: "),
            (
                "remote-time=yes",
                "remote-time= takes true or false, not `yes`",
            ),
            ("dry-run=yes", "dry-run= takes true or false, not `yes`"),
            ("retry-wait=601", "0 to 600 seconds"),
            ("follow-metalink=true", "give the file to -M"),
            ("check-certificate=false", "always checked"),
            (
                "http-proxy=http://[::1",
                "http-proxy=`http://[::1` is not a usable proxy URL",
            ),
            ("https-proxy=socks5h://p", "a SOCKS proxy goes with --proxy"),
            (
                "proxy-method=post",
                "proxy-method= takes get or tunnel, not `post`",
            ),
            ("file-allocation=sparse", "unknown option `file-allocation`"),
        ] {
            let err = parse_line(&format!("http://e.example/ {bad}")).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let sized = parse_line("http://d.example/ size=1048576").unwrap();
        assert_eq!(sized.options.size, Some(1 << 20));
        let wrong = parse_line("http://d.example/ size=1M").unwrap_err();
        assert!(wrong.contains("size in bytes, not `1M`"), "{wrong}");
        let split = parse_line("http://d.example/ split=3 max-download-limit=2K").unwrap();
        assert_eq!(split.options.split, Some(3));
        assert_eq!(split.options.download_limit, Some(2048));
        assert!(parse_line("http://d.example/ max-download-limit=fast").is_err());
        // An indented URL is still a URL, and a bad URL line keeps its options.
        assert_eq!(
            got[3].target.as_ref().unwrap().url.host_str(),
            Some("c.example")
        );
        assert!(got[4].target.is_err());
        assert_eq!(got[4].text, "not a url\n  out=kept.bin");
        let reparsed: Vec<Job> =
            LinkReader::from_reader("t", io::Cursor::new(format!("{}\n", got[1].text))).collect();
        assert_eq!(reparsed.len(), 1);
        assert_eq!(reparsed[0].target.as_ref().unwrap().options, a.options);
    }

    #[test]
    fn header_options_become_request_headers_for_their_url() {
        let input = "http://a.example/\n  header=X-Token: two words\n  referer=http://r.example/\n\
                     \tuser-agent=aria2/1.37\nhttp://b.example/\n  header=no colon\n";
        let got: Vec<Job> = LinkReader::from_reader("t", io::Cursor::new(input)).collect();
        let headers: Vec<(String, String)> = (got[0].target.as_ref().unwrap().options.headers)
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            headers,
            [
                pair("x-token", "two words"),
                pair("user-agent", "aria2/1.37")
            ]
        );
        assert_eq!(
            got[0].target.as_ref().unwrap().options.referer,
            Some(Referer::parse("http://r.example/").unwrap())
        );
        assert!(why(&got[1]).contains("option on line 6: header `no colon` is not of the form"));
    }

    #[test]
    fn option_lines_under_one_url_are_bounded_in_all() {
        let mut input = b"http://a.example/\n".to_vec();
        for _ in 0..100_000 {
            input.extend_from_slice(b"  out=a-rather-long-file-name.bin\n");
        }
        input.extend_from_slice(b"http://b.example/\n");
        let got: Vec<Job> = LinkReader::from_reader("t", io::Cursor::new(input)).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].text.len() <= MAX_LINE, "{}", got[0].text.len());
        assert!(why(&got[0]).contains("longer than 65536 bytes in all"));
        assert_eq!((got[1].line, got[1].target.is_ok()), (100_002, true));
    }

    #[test]
    fn options_that_would_save_or_check_otherwise_fail_their_line() {
        let err = |line: &str| parse_line(line).unwrap_err();
        assert!(err("http://h.example/ dir=").contains("dir= needs a folder"));
        let target = parse_line("http://h.example/ dir=iso/x").unwrap();
        assert_eq!(target.options.dir.as_deref(), Some("iso/x"));
        assert!(
            err("http://h.example/ checksum=crc32=00000000").contains("`crc32` is not supported")
        );
        assert!(err("http://h.example/ checksum=adler32=123").contains("8 hex digits"));
        assert!(err("http://h.example/ checksum=sha-256=12").contains("64 hex digits"));
        assert!(
            err("http://h.example/ checksum=md5=12")
                .contains("needs 32 hex digits for its md5 digest")
        );
        assert!(err("http://h.example/a\tftp://m.example/a").contains("mirror `ftp://"));
        let mirrored = parse_line("http://h.example/a\thttps://m.example/b out=x").unwrap();
        assert_eq!(mirrored.mirrors[0].as_str(), "https://m.example/b");
        assert_eq!(mirrored.options.out.as_deref(), Some("x"));
        // aria2's names of the kinds, in any case, and with or without the dash.
        let checksum = |line: String| parse_line(&line).unwrap().options.checksum.unwrap();
        let upper = checksum(format!(
            "http://h.example/ checksum=SHA-256={}",
            "CD".repeat(32)
        ));
        assert_eq!(upper.algorithm, Algorithm::Sha256);
        assert_eq!(hex(&upper.digest), "cd".repeat(32));
        for (kind, algorithm, len) in [
            ("adler32", Algorithm::Adler32, 4),
            ("md5", Algorithm::Md5, 16),
            ("sha-1", Algorithm::Sha1, 20),
            ("sha1", Algorithm::Sha1, 20),
            ("sha-224", Algorithm::Sha224, 28),
            ("sha-384", Algorithm::Sha384, 48),
            ("sha-512", Algorithm::Sha512, 64),
        ] {
            let line = format!("http://h.example/ checksum={kind}={}", "ab".repeat(len));
            assert_eq!(checksum(line).algorithm, algorithm, "{kind}");
        }
        // Options on a URL's own line still end at the first space.
        assert!(err("http://h.example/ out=my file").contains("`file` after the URL"));
        // The rest of a URL with a space in it is said to be so, not taken for an option.
        for line in ["http://h.example/a b.zip", "http://h.example/a b?size=10"] {
            let why = err(line);
            assert!(
                why.contains("neither an option") && why.contains("%20"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_url_from_a_pipe_is_handed_out_while_the_pipe_stays_open() {
        use std::io::Write;
        use std::sync::mpsc;
        let (reader, mut writer) = io::pipe().unwrap();
        let pipe = File::from(std::os::fd::OwnedFd::from(reader));
        // Written together, a URL and its option line are read together.
        writer
            .write_all(b"http://a.example/\n  out=a.bin\n")
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let reading = std::thread::spawn(move || {
            for job in LinkReader::from_pipe("-", pipe) {
                tx.send(job).unwrap();
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the URL while its pipe is open");
        assert_eq!(first.target.unwrap().options.out.as_deref(), Some("a.bin"));
        writer.write_all(b"http://b.example/\n").unwrap();
        let second = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the second URL while its pipe is open");
        assert_eq!(second.line, 3);
        drop(writer);
        reading.join().unwrap();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_non_blocking_standard_input_is_waited_for_not_ended() {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        let (reading, mut writing) = UnixStream::pair().unwrap();
        // As a parent process may leave it: a read with nothing there fails at once.
        reading.set_nonblocking(true).unwrap();
        let input = File::from(std::os::fd::OwnedFd::from(reading));
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for job in LinkReader::from_pipe("-", input) {
                tx.send(job).unwrap();
            }
        });
        writing.write_all(b"http://a.example/\n").unwrap();
        let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(first.target.is_ok(), "{:?}", first.target);
        writing.write_all(b"http://b.example/\n").unwrap();
        drop(writing);
        reader.join().unwrap();
        let rest: Vec<Job> = rx.try_iter().collect();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].line, rest[0].target.is_ok()), (2, true));
    }

    #[test]
    fn a_pipe_is_looked_into_for_gzip_at_its_first_line_even_a_byte_at_a_time() {
        /// A pipe whose writer writes a byte at a time: each read gives one.
        struct Trickle(io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        let gzip = |text: &str| {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap()
        };
        let piped = |bytes: Vec<u8>| {
            let mut source = Source::new("-", Box::new(Trickle(io::Cursor::new(bytes))), 0);
            // Polled only when nothing is buffered: /dev/null is always ready.
            source.wait_on = Some(File::open("/dev/null").unwrap());
            LinkReader::from_sources(VecDeque::from([source])).collect::<Vec<Job>>()
        };
        let found = |jobs: &[Job]| -> Vec<(usize, Result<String, String>)> {
            (jobs.iter())
                .map(|job| match &job.target {
                    Ok(t) => (job.line, Ok(t.url.to_string())),
                    Err(why) => (job.line, Err(why.message.clone())),
                })
                .collect()
        };
        let jobs = piped(gzip(
            "http://a.example/1\n  out=one.bin\nhttp://b.example/2\n",
        ));
        assert_eq!(
            found(&jobs),
            [
                (1, Ok("http://a.example/1".into())),
                (3, Ok("http://b.example/2".into()))
            ]
        );
        assert_eq!(
            jobs[0].target.as_ref().unwrap().options.out.as_deref(),
            Some("one.bin")
        );
        let sitemap = "<urlset>\n<url><loc>http://c.example/3</loc></url>\n</urlset>\n";
        assert_eq!(
            found(&piped(gzip(sitemap))),
            [(2, Ok("http://c.example/3".into()))]
        );
        // A first byte like gzip's and then none: put back, and the lines read as they are.
        let jobs = piped(b"\x1fx\nhttp://d.example/4\n".to_vec());
        assert_eq!(jobs.len(), 2);
        assert_eq!((jobs[0].line, &jobs[0].text[..]), (1, "\u{1f}x"));
        assert_eq!(found(&jobs)[1], (2, Ok("http://d.example/4".into())));
    }

    #[test]
    fn a_session_aria2c_wrote_from_an_aria2_conf_runs_as_it_is() {
        // Written by aria2c 1.36 for an http URL it was given with these options (as an
        // aria2.conf gives them) and could not fetch, verbatim.
        let session = "http://127.0.0.1:9/x\t\n gid=c10d3a9f8b72d9ac\n max-tries=1\n \
                       piece-length=2097152\n no-file-allocation-limit=1048576\n \
                       realtime-chunk-checksum=false\n check-integrity=true\n no-netrc=true\n \
                       allow-piece-length-change=true\n async-dns=false\n reuse-uri=false\n \
                       remove-control-file=true\n always-resume=false\n enable-mmap=true\n \
                       force-save=true\n max-mmap-limit=1048576\n enable-http-keep-alive=false\n \
                       enable-http-pipelining=true\n http-auth-challenge=true\n \
                       http-no-cache=true\n content-disposition-default-utf8=true\n \
                       follow-torrent=false\n seed-time=0\n seed-ratio=1.0\n \
                       enable-peer-exchange=false\n bt-max-peers=10\n bt-tracker=udp://t:1\n \
                       metalink-language=en\n metalink-preferred-protocol=https\n";
        let jobs: Vec<Job> = LinkReader::from_reader("s", io::Cursor::new(session)).collect();
        assert_eq!(jobs.len(), 1);
        let target = jobs[0].target.as_ref().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(target.options.tries, Some(1));
        // http-no-cache=true is sent as aria2c sends it.
        let headers: Vec<(&str, &[u8])> = (target.options.headers.iter())
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        assert_eq!(
            headers,
            [
                ("cache-control", &b"no-cache"[..]),
                ("pragma", &b"no-cache"[..])
            ]
        );
        for (bad, why) in [
            ("no-netrc=false", "read for the whole run, with -n"),
            (
                "enable-mmap=yes",
                "enable-mmap= takes true or false, not `yes`",
            ),
            ("piece-length=big", "piece-length= takes a size"),
            ("seed-ratio=-1", "unknown option `seed-ratio`"),
        ] {
            let err = parse_line(&format!("http://e.example/ {bad}")).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_list_from_a_server_cannot_send_its_lines_through_a_proxy() {
        let text = "http://a.example/1 all-proxy=http://p:3128\nhttp://a.example/2\n  \
                    no-proxy=a.example\nhttp://a.example/3 out=three.bin\n";
        let read = |from_web: bool| -> Vec<Job> {
            let source = Source {
                from_web,
                ..Source::new("list", Box::new(io::Cursor::new(text.as_bytes())), 0)
            };
            LinkReader::from_sources(VecDeque::from([source])).collect()
        };
        let fetched = read(true);
        let lines: Vec<usize> = fetched.iter().map(|j| j.line).collect();
        assert_eq!(lines, [1, 2, 4]);
        assert_eq!(
            why(&fetched[0]),
            "`all-proxy=` on a list fetched from a server: such a list cannot send its lines \
             through a proxy (give --proxy, or save the list and give the file)"
        );
        assert!(
            why(&fetched[1]).starts_with("option on line 3: `no-proxy=` on a list fetched"),
            "{}",
            why(&fetched[1])
        );
        let third = fetched[2].target.as_ref().unwrap();
        assert_eq!(third.options.out.as_deref(), Some("three.bin"));
        // The same list from a file takes them.
        let local = read(false);
        assert!(local.iter().all(|job| job.target.is_ok()));
        assert!(local[0].target.as_ref().unwrap().options.proxies.is_some());
    }

    #[test]
    fn an_html_list_between_plain_ones_gives_its_links_and_numbers_its_own_lines() {
        let plain = |name: &str, text: &'static str| {
            Source::new(name, Box::new(io::Cursor::new(text.as_bytes())), 0)
        };
        let page = "<p>\n<a href=\"x.zip\">x</a><a href=y.zip>y</a>\n  out=no.zip\n";
        let base = Url::parse("http://h.example/pub/").unwrap();
        let sources = VecDeque::from([
            plain("one", "http://a.example/1\n  out=first.bin\n"),
            plain("page", page).read_as(Some(Format::Html {
                base: Some(base),
                names: Default::default(),
            })),
            plain("two", "\nhttp://b.example/2\n"),
        ]);
        let got: Vec<Job> = LinkReader::from_sources(sources).collect();
        let seen: Vec<(&str, usize, &str)> = got
            .iter()
            .map(|job| {
                (
                    &*job.source,
                    job.line,
                    job.target.as_ref().unwrap().url.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("one", 1, "http://a.example/1"),
                ("page", 2, "http://h.example/pub/x.zip"),
                ("page", 2, "http://h.example/pub/y.zip"),
                ("two", 2, "http://b.example/2"),
            ]
        );
        // The option line under the first list's URL stayed with it; the page's text is no
        // option line.
        let first = got[0].target.as_ref().unwrap();
        assert_eq!(first.options.out.as_deref(), Some("first.bin"));
        assert_eq!(got[1].target.as_ref().unwrap().options.out, None);
    }

    #[test]
    fn line_numbers_of_offsets_count_each_byte_once_and_start_over_going_back() {
        let text = b"a\nbb\n\nccc\n";
        let mut lines = LineCounter::default();
        let got: Vec<usize> = [0, 1, 2, 5, 6, 10, 99]
            .iter()
            .map(|&at| lines.line_of(text, at))
            .collect();
        assert_eq!(got, [1, 1, 2, 3, 4, 5, 5]);
        assert_eq!(
            lines.line_of(text, 3),
            2,
            "an offset before the last is counted afresh"
        );
    }

    #[test]
    fn a_page_is_read_whole_up_to_its_bound() {
        let mut reader = io::BufReader::with_capacity(4, io::Cursor::new(b"<a href=x>".to_vec()));
        assert!(read_page(&mut reader, None, 9).unwrap().is_none());
        let mut reader = io::BufReader::with_capacity(4, io::Cursor::new(b"<a href=x>".to_vec()));
        assert_eq!(
            read_page(&mut reader, None, 10).unwrap().unwrap(),
            b"<a href=x>"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_url() {
        let got = jobs(b"\xef\xbb\xbfhttp://a.example/x\r\nhttp://b.example/\r\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].line, 1);
        assert_eq!(
            got[0].target.as_ref().unwrap().url.as_str(),
            "http://a.example/x"
        );
        // A list that starts with a comment after the mark still skips it.
        assert!(jobs(b"\xef\xbb\xbf# urls\n").is_empty());
    }

    #[test]
    fn a_utf16_list_fails_once_saying_so_instead_of_line_by_line() {
        let utf16 = |bom: [u8; 2], text: &str, big: bool| {
            let mut bytes = bom.to_vec();
            for unit in text.encode_utf16() {
                let pair = if big {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                };
                bytes.extend(pair);
            }
            bytes
        };
        let text = "http://a.example/x\nhttp://b.example/y\nhttp://c.example/z\n";
        for (bom, big) in [([0xff, 0xfe], false), ([0xfe, 0xff], true)] {
            let input: &'static [u8] = utf16(bom, text, big).leak();
            let got = jobs(input);
            assert_eq!(got.len(), 1, "{got:#?}");
            assert_eq!(got[0].line, 1);
            let why = why(&got[0]);
            assert!(why.contains("UTF-16") && why.contains("iconv"), "{why}");
        }
    }

    #[test]
    fn a_list_that_fails_mid_read_leaves_the_next_list_its_own_line_numbers() {
        /// A list whose reading fails after its first line, as a disk error would end it.
        struct Broken(bool);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::other("disk gone"));
                }
                let line = b"http://a.example/\n";
                buf[..line.len()].copy_from_slice(line);
                Ok(line.len())
            }
        }
        let sources = VecDeque::from([
            Source::new("broken", Box::new(Broken(false)), 0),
            Source::new("fine", Box::new(&b"# c\nhttp://b.example/\n"[..]), 0),
        ]);
        let got: Vec<Job> = LinkReader::from_sources(sources).collect();
        let seen: Vec<(&str, usize, bool)> = (got.iter())
            .map(|j| (&*j.source, j.line, j.target.is_ok()))
            .collect();
        assert_eq!(
            seen,
            [("broken", 1, true), ("broken", 2, false), ("fine", 2, true)]
        );
        assert!(why(&got[1]).contains("disk gone"));
    }

    #[test]
    fn a_sitemap_starts_like_xml_or_is_text() {
        for head in [
            &b""[..],
            b"<?xml",
            b"\n  <urlset>",
            b"\xef\xbb\xbf<urlset>",
            b"\x1f\x8b\x08",
        ] {
            assert!(like_xml(head), "{head:?}");
        }
        for head in [
            &b"https://h.example/a\n"[..],
            b"\xef\xbb\xbfhttp://h.example/",
            b"  h.example/a",
        ] {
            assert!(!like_xml(head), "{head:?}");
        }
    }

    /// Opens `lists` as the run does, with no lists on servers to be had.
    fn opened(lists: &[ListName], reading: &Reading) -> Vec<Job> {
        let remote: OpenRemote = Arc::new(|_: &Url| Err(invalid("offline".into())));
        LinkReader::open(lists, remote, reading).unwrap().collect()
    }

    #[test]
    fn a_count_of_files_and_arguments_is_the_jobs_the_run_reads() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("links.txt");
        let text = "# mirrors\nhttp://a.example/1\n  out=one.bin\n\nnot a url\n\
                    http://a.example/{x,y}.iso\nhttp://a.example/2";
        std::fs::write(&plain, text).unwrap();
        let html = dir.path().join("page.html");
        std::fs::write(
            &html,
            r#"<a href="/p">p</a> <a href="q">q</a> <img src="i.png">"#,
        )
        .unwrap();
        let lists = [
            ListName::Local(plain.clone()),
            ListName::Local("http://b.example/[1-3].txt".into()),
            ListName::Local(html),
        ];
        let reading = Reading {
            base: Some(Url::parse("http://c.example/").unwrap()),
            glob: true,
            ..Reading::default()
        };
        let read = opened(&lists, &reading).len();
        assert_eq!(LinkReader::count(&lists, &reading), Some(read));
        // Four lines of the file (the glob is a URL there), three of the argument's range;
        // the page's links, read as the plain list they are not, are one line.
        assert_eq!(read, 4 + 3 + 1);
        let as_html = Reading {
            force_html: true,
            ..reading.clone()
        };
        let lists = &lists[2..];
        let read = opened(lists, &as_html).len();
        assert_eq!(LinkReader::count(lists, &as_html), Some(read));
        assert_eq!(read, 3, "each link of the page is one");
    }

    #[test]
    fn no_count_of_what_can_be_read_only_once_or_only_from_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.xml");
        let text = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>http://a.example/s1.xml</loc></sitemap></sitemapindex>"#;
        std::fs::write(&index, text).unwrap();
        let file = dir.path().join("links.txt");
        std::fs::write(&file, "http://a.example/1\n").unwrap();
        let reading = Reading {
            force_sitemap: true,
            ..Reading::default()
        };
        let local = ListName::Local(file);
        assert_eq!(
            LinkReader::count(std::slice::from_ref(&local), &reading),
            Some(1)
        );
        for other in [
            ListName::Local("-".into()),
            ListName::Remote(Url::parse("http://a.example/list.txt").unwrap()),
            ListName::Local(index),
            ListName::Local(dir.path().join("gone.txt")),
        ] {
            let lists = [local.clone(), other];
            assert_eq!(LinkReader::count(&lists, &reading), None, "{:?}", lists[1]);
        }
    }

    #[test]
    fn last_line_without_newline_counts() {
        let got = jobs(b"http://a.example/");
        assert_eq!(got.len(), 1);
    }
}
