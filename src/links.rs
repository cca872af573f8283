//! Link lists: opening files and stdin, streaming them line by line (so work starts before a
//! slow pipe ends), skipping blanks and `#` comments, and turning every other line into exactly
//! one [`Job`] that remembers where it came from. A bad line becomes a job that fails; it never
//! stops the lines around it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;

/// Longest line kept; the rest of a longer line is skipped without being held in memory.
pub const MAX_LINE: usize = 64 * 1024;

/// Options written after the URL on its line, in the style of aria2 input files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineOptions {
    /// `out=NAME`: the file name to save under.
    pub out: Option<String>,
    /// `sha256=HEX`: the digest the saved body must have.
    pub sha256: Option<[u8; 32]>,
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
    /// The line as written (trimmed; lines that are too long or not UTF-8 are shortened).
    pub text: String,
    /// The URL and its options, or why the line is not usable.
    pub target: Result<Target, String>,
    /// Where the body is saved, decided in input order when saving (`-o`).
    pub planned: Option<crate::save::Planned>,
}

/// A valid line: the URL to fetch and its per-line options.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub options: LineOptions,
}

/// An input that could not be opened: a usage error (exit 2), reported before any fetch. The
/// cause is its `source`, which the error chain prints after this text.
#[derive(Debug, thiserror::Error)]
#[error("cannot read link list {path}")]
pub struct OpenError {
    path: String,
    source: io::Error,
}

struct Source {
    name: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    /// Lines counted before this source's first: a URL given as an argument reports its
    /// position among the arguments as its line (`argument:3` for the third).
    lines_before: usize,
}

/// Streams jobs from several lists in order. Ids run on across lists.
pub struct LinkReader {
    sources: VecDeque<Source>,
    line: usize,
    next_id: usize,
    buf: Vec<u8>,
}

impl LinkReader {
    /// Opens every list up front so that a missing file is reported before anything is fetched.
    /// `-` is standard input.
    pub fn open(paths: &[PathBuf]) -> Result<Self, OpenError> {
        let mut sources = VecDeque::new();
        for (position, path) in paths.iter().enumerate() {
            sources.push_back(open_one(path, position)?);
        }
        Ok(Self::from_sources(sources))
    }

    /// Reads one list from any reader (tests, and the demo's generated list).
    pub fn from_reader(name: &str, reader: impl Read + Send + 'static) -> Self {
        let source = Source {
            name: Arc::from(name),
            reader: Box::new(BufReader::with_capacity(64 * 1024, reader)),
            lines_before: 0,
        };
        Self::from_sources(VecDeque::from([source]))
    }

    fn from_sources(sources: VecDeque<Source>) -> Self {
        Self {
            line: sources.front().map_or(0, |s| s.lines_before),
            sources,
            next_id: 0,
            buf: Vec::new(),
        }
    }

    fn make_job(&mut self, source: &Arc<str>, text: String, target: Result<Target, String>) -> Job {
        let job = Job {
            id: self.next_id,
            source: Arc::clone(source),
            line: self.line,
            text,
            target,
            planned: None,
        };
        self.next_id += 1;
        job
    }
}

/// Opens one LIST argument; `position` is its 0-based place among them.
fn open_one(path: &Path, position: usize) -> Result<Source, OpenError> {
    let fail = |source| OpenError {
        path: path.display().to_string(),
        source,
    };
    // A URL given where a list is expected is a list of one, as curl and aria2c accept URLs
    // as arguments. An existing file of that name still wins.
    let text = path.to_string_lossy();
    if (text.starts_with("http://") || text.starts_with("https://")) && !path.exists() {
        return Ok(Source {
            name: Arc::from("argument"),
            reader: Box::new(io::Cursor::new(format!("{text}\n").into_bytes())),
            lines_before: position,
        });
    }
    if path == Path::new("-") {
        return Ok(Source {
            name: Arc::from("-"),
            reader: Box::new(BufReader::with_capacity(64 * 1024, io::stdin())),
            lines_before: 0,
        });
    }
    let file = File::open(path).map_err(fail)?;
    if file.metadata().map_err(fail)?.is_dir() {
        return Err(fail(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    Ok(Source {
        name: Arc::from(path.display().to_string()),
        reader: Box::new(BufReader::with_capacity(64 * 1024, file)),
        lines_before: 0,
    })
}

impl Iterator for LinkReader {
    type Item = Job;

    fn next(&mut self) -> Option<Job> {
        loop {
            let source = self.sources.front_mut()?;
            let name = Arc::clone(&source.name);
            match read_bounded_line(&mut source.reader, &mut self.buf) {
                Ok(None) => {
                    self.sources.pop_front();
                    self.line = self.sources.front().map_or(0, |s| s.lines_before);
                }
                Ok(Some(too_long)) => {
                    self.line += 1;
                    if too_long {
                        let text = shorten(&String::from_utf8_lossy(&self.buf));
                        let reason = format!("line is longer than {MAX_LINE} bytes");
                        return Some(self.make_job(&name, text, Err(reason)));
                    }
                    let Ok(line) = std::str::from_utf8(&self.buf) else {
                        let text = shorten(&String::from_utf8_lossy(&self.buf));
                        return Some(self.make_job(&name, text, Err("not valid UTF-8".into())));
                    };
                    // A byte-order mark (lists saved by some Windows editors) is not part of
                    // the first URL.
                    let line = line.strip_prefix('\u{feff}').unwrap_or(line).trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let target = parse_line(line);
                    return Some(self.make_job(&name, line.to_string(), target));
                }
                Err(err) => {
                    // A list that fails mid-read loses only what is after the failure; the
                    // failure itself is reported like a bad line so it is counted and seen.
                    self.sources.pop_front();
                    self.line += 1;
                    let reason = format!("reading the list failed: {err}");
                    return Some(self.make_job(&name, String::new(), Err(reason)));
                }
            }
        }
    }
}

/// Reads up to the next `\n` into `buf`, keeping at most [`MAX_LINE`] bytes. Returns `None` at
/// the end of input, or whether the line was cut.
fn read_bounded_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(any.then_some(too_long));
        }
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
    let mut words = line.split_whitespace();
    let first = words.next().ok_or("empty line")?;
    let url = parse_url(first)?;
    let mut options = LineOptions::default();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("expected key=value after the URL, found `{word}`"))?;
        match key {
            "out" if !value.is_empty() => options.out = Some(value.to_string()),
            "sha256" => options.sha256 = Some(parse_sha256(value)?),
            "out" => return Err("out= needs a file name".into()),
            _ => return Err(format!("unknown option `{key}` (known: out, sha256)")),
        }
    }
    Ok(Target { url, options })
}

fn parse_url(text: &str) -> Result<Url, String> {
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

fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let bad = || format!("sha256= needs 64 hex digits, found `{hex}`");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
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
        assert!(got[0].target.as_ref().unwrap_err().contains("scheme"));
        assert!(got[1].target.as_ref().unwrap_err().contains("not a URL"));
        assert!(got[2].target.is_ok());
        assert!(
            got[3]
                .target
                .as_ref()
                .unwrap_err()
                .contains("unknown option `color`")
        );
        assert!(got[4].target.as_ref().unwrap_err().contains("UTF-8"));
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
        assert_eq!(hex(&target.options.sha256.unwrap()), digest);
        assert!(parse_line("http://h.example/ sha256=abc").is_err());
    }

    #[test]
    fn an_overlong_line_is_cut_and_reported_without_losing_the_next() {
        let mut input = vec![b'a'; MAX_LINE * 3];
        input.extend_from_slice(b"\nhttp://next.example/\n");
        let got: Vec<Job> = LinkReader::from_reader("t", io::Cursor::new(input)).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].target.as_ref().unwrap_err().contains("longer than"));
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
            let expected = lines
                .iter()
                .filter(|l| match std::str::from_utf8(l) {
                    Ok(text) => {
                        let t = text.trim();
                        !t.is_empty() && !t.starts_with('#')
                    }
                    Err(_) => true,
                })
                .count();
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
    fn last_line_without_newline_counts() {
        let got = jobs(b"http://a.example/");
        assert_eq!(got.len(), 1);
    }
}
