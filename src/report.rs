//! Output: one text line or one JSON object per URL on stdout, in completion or input order,
//! and the summary on stderr. Everything shown on a terminal passes through [`escape`], so no
//! byte from a server or a list can become a terminal control sequence; JSON strings escape the
//! same characters as `\uXXXX` (`TerminalSafe`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::progress::Progress;
use crate::timeline::{RunSpans, Span};

use crate::outcome::{Failure, Outcome};

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub json: bool,
    pub keep_order: bool,
    /// Color failures in text lines.
    pub color: bool,
}

/// Counts for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub ok: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub bytes: u64,
    pub wall: Duration,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.ok + self.failed
    }
}

/// Files written beside the output: the checksum list and the list of failed lines.
#[derive(Default)]
pub struct SideFiles {
    checksums: Option<(PathBuf, BufWriter<File>)>,
    /// Failed lines by input position: in input order, and once each even when `--compare`
    /// fetches every line twice.
    failed_out: Option<(PathBuf, BTreeMap<usize, String>)>,
}

impl SideFiles {
    /// Creates the checksum file now, and checks that the failed lines' file can be written, so
    /// an unwritable path is an error before any download. The latter is not emptied until the
    /// end: it may be the very list being read (`--failed-out retry.txt retry.txt`).
    pub fn new(checksums: Option<&Path>, failed_out: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(path) = failed_out {
            // A failed URL is written as it was given, a password in it included (the list
            // must run again): a file made here is its owner's alone, as --save-cookies' is.
            std::os::unix::fs::OpenOptionsExt::mode(
                std::fs::OpenOptions::new().append(true).create(true),
                0o600,
            )
            .open(path)
            .with_context(|| format!("cannot write the failed lines to {}", path.display()))?;
        }
        let checksums = match checksums {
            Some(path) => {
                let file = File::create(path).with_context(|| {
                    format!("cannot write the checksum list {}", path.display())
                })?;
                Some((path.to_path_buf(), BufWriter::new(file)))
            }
            None => None,
        };
        Ok(Self {
            checksums,
            failed_out: failed_out.map(|p| (p.to_path_buf(), BTreeMap::new())),
        })
    }

    fn record(&mut self, outcome: &Outcome) -> io::Result<()> {
        if let (Some((list, file)), Some(path), Some(digest)) =
            (&mut self.checksums, &outcome.path, &outcome.sha256)
        {
            // The format `sha256sum -c` reads: digest, two spaces, path.
            writeln!(file, "{digest}  {path}").map_err(|e| annotate(e, list))?;
        }
        if let (Some((_, failed)), false) = (&mut self.failed_out, outcome.is_ok()) {
            failed.insert(outcome.id, outcome.input.clone());
        }
        Ok(())
    }

    /// Writes the failed lines in input order, and flushes the checksum list.
    fn finish(&mut self) -> io::Result<()> {
        if let Some((path, file)) = &mut self.checksums {
            file.flush().map_err(|e| annotate(e, path))?;
        }
        if let Some((path, failed)) = &mut self.failed_out {
            let mut text = String::new();
            for line in failed.values() {
                text.push_str(line);
                text.push('\n');
            }
            std::fs::write(&*path, text).map_err(|e| annotate(e, path))?;
        }
        Ok(())
    }
}

fn annotate(err: io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("writing {}: {err}", path.display()))
}

/// The results (or with `-o -` the bodies) could not be written: what the run was writing
/// says why it stopped, where the OS's words alone ("No space left on device") did not. The
/// kind is kept, so that a closed pipe still ends the run quietly.
fn unwritten(err: io::Error, what: &str) -> io::Error {
    io::Error::new(err.kind(), format!("writing {what}: {err}"))
}

/// Receives outcomes in whatever order they finish and prints them.
pub struct Reporter<W: Write> {
    side: SideFiles,
    progress: Option<Arc<Progress>>,
    /// Lines go to the terminal the bars are drawn on: take the bars down while printing.
    suspend_bars: bool,
    /// Spans for `--timeline`, one list per run.
    timeline: Option<Vec<RunSpans>>,
    out: W,
    style: Style,
    mode: &'static str,
    pending: BTreeMap<usize, Outcome>,
    next_id: usize,
    tally: Tally,
    /// `-o -`: each saved body is written here in its turn, then its file removed.
    cat: Option<Box<dyn Write>>,
    /// `-o -` with `--quiet`: the results, on stderr then, are printed for failures only.
    failures_only: bool,
}

impl<W: Write> Reporter<W> {
    /// A reporter for `out`; each run starts with [`Reporter::start_run`].
    pub fn new(out: W, style: Style, side: SideFiles) -> Self {
        Self {
            side,
            progress: None,
            suspend_bars: false,
            timeline: None,
            out,
            style,
            mode: "threads",
            pending: BTreeMap::new(),
            next_id: 0,
            tally: Tally::default(),
            cat: None,
            failures_only: false,
        }
    }

    /// `-o -`: writes each saved body to `bodies` when its result is printed (in input order
    /// with `--keep-order`), and removes its file; the result names `-` as its path. With
    /// `quiet`, only failures are printed: the results are on stderr, which `--quiet` keeps
    /// for errors.
    pub fn cat_to(&mut self, bodies: Box<dyn Write>, quiet: bool) {
        self.cat = Some(bodies);
        self.failures_only = quiet;
    }

    /// Collects spans for `--timeline`.
    pub fn keep_timeline(&mut self) {
        self.timeline = Some(Vec::new());
    }

    /// The spans collected, one list per run.
    pub fn timeline(&self) -> Option<&[RunSpans]> {
        self.timeline.as_deref()
    }

    /// Starts a new run on the same output (compare mode prints two runs), with its progress
    /// display if there is one.
    pub fn start_run(&mut self, mode: &'static str, progress: Option<Arc<Progress>>) {
        use std::io::IsTerminal;
        // With -o -, the results go to stderr, where the bars are.
        let on_bars = self.cat.is_some() || std::io::stdout().is_terminal();
        self.suspend_bars = progress.is_some() && on_bars;
        self.progress = progress;
        if let Some(runs) = &mut self.timeline {
            runs.push(RunSpans {
                label: mode.to_string(),
                wall: Duration::ZERO,
                spans: Vec::new(),
            });
        }
        self.mode = mode;
        self.pending.clear();
        self.next_id = 0;
        self.tally = Tally::default();
    }

    /// Counts and prints one outcome (or holds it back until its turn in `--keep-order`).
    /// An error here means stdout is gone; the caller ends the run quietly.
    pub fn record(&mut self, outcome: Outcome) -> io::Result<()> {
        if outcome.is_ok() {
            self.tally.ok += 1;
        } else {
            self.tally.failed += 1;
            if outcome
                .error
                .as_ref()
                .is_some_and(|e| e.kind == crate::outcome::ErrorKind::Cancelled)
            {
                self.tally.cancelled += 1;
            }
        }
        self.tally.bytes += outcome.bytes;
        self.side.record(&outcome)?;
        if let Some(progress) = &self.progress {
            progress.done_one();
        }
        if let Some(run) = self.timeline.as_mut().and_then(|runs| runs.last_mut()) {
            run.spans.push(Span::of(&outcome));
        }
        if !self.style.keep_order {
            return self.emit(outcome);
        }
        self.pending.insert(outcome.id, outcome);
        while let Some(next) = self.pending.remove(&self.next_id) {
            self.emit(next)?;
            self.next_id += 1;
        }
        Ok(())
    }

    /// Prints an outcome, its body first with `-o -`.
    fn emit(&mut self, mut outcome: Outcome) -> io::Result<()> {
        if let Some(bodies) = &mut self.cat
            && outcome.is_ok()
            && let Some(path) = outcome.path.take()
        {
            match File::open(&path) {
                Ok(mut file) => {
                    let to_stdout = |e| unwritten(e, "the bodies to standard output");
                    io::copy(&mut file, bodies).map_err(to_stdout)?;
                    bodies.flush().map_err(to_stdout)?;
                    outcome.path = Some("-".into());
                }
                // Not there to write out (removed while it waited): the URL fails.
                Err(err) => {
                    let why = format!("the body saved to wait for its turn is gone: {err}");
                    outcome.error = Some(Failure::new(crate::outcome::ErrorKind::Disk, why));
                    self.tally.ok -= 1;
                    self.tally.failed += 1;
                }
            }
            let _ = std::fs::remove_file(&path);
        }
        if self.failures_only && outcome.is_ok() {
            return Ok(());
        }
        self.print(&outcome)
    }

    /// Flushes what is buffered; called when no further result is waiting, so lines appear
    /// promptly without a write per line under load.
    pub fn flush(&mut self) -> io::Result<()> {
        let flushed = match &self.progress {
            Some(progress) if self.suspend_bars => {
                let out = &mut self.out;
                progress.suspend(|| out.flush())
            }
            _ => self.out.flush(),
        };
        flushed.map_err(|e| unwritten(e, self.results_to()))
    }

    /// Prints anything still held back (only when some ids never arrived) and returns the counts.
    pub fn finish(&mut self, wall: Duration) -> io::Result<Tally> {
        for (_, outcome) in std::mem::take(&mut self.pending) {
            self.emit(outcome)?;
        }
        self.flush()?;
        self.side.finish()?;
        if let Some(progress) = self.progress.take() {
            progress.finish();
        }
        if let Some(run) = self.timeline.as_mut().and_then(|runs| runs.last_mut()) {
            run.spans.sort_by_key(|s| s.order);
            run.wall = wall;
        }
        self.tally.wall = wall;
        Ok(self.tally)
    }

    fn print(&mut self, outcome: &Outcome) -> io::Result<()> {
        if !outcome.trace.is_empty() {
            self.print_trace(outcome)?;
        }
        let printed = if self.style.json {
            let record = JsonRecord::new(outcome, self.mode);
            let mut json = serde_json::Serializer::with_formatter(&mut self.out, TerminalSafe);
            (record.serialize(&mut json).map_err(io::Error::from))
                .and_then(|()| self.out.write_all(b"\n"))
        } else {
            self.out
                .write_all(text_line(outcome, &self.style).as_bytes())
        };
        printed.map_err(|e| unwritten(e, self.results_to()))
    }

    /// Where the results go: standard output, or standard error when the bodies take it.
    fn results_to(&self) -> &'static str {
        match self.cat {
            Some(_) => "the results to standard error",
            None => "the results to standard output",
        }
    }

    /// `--verbose`: the outcome's trace on stderr, each line under its list and line, after
    /// the results printed before it (stdout is flushed first, so that on one terminal the
    /// two streams read in order) and with the progress bars taken down.
    fn print_trace(&mut self, outcome: &Outcome) -> io::Result<()> {
        let at = format!("[{}:{}]", escape(outcome.source.as_bytes()), outcome.line);
        let text: String = (outcome.trace.iter())
            .map(|line| format!("{at} {line}\n"))
            .collect();
        let out = &mut self.out;
        let mut write = || {
            out.flush()?;
            // stderr gone is no reason to stop the run: the results still go to stdout.
            let _ = io::stderr().lock().write_all(text.as_bytes());
            Ok(())
        };
        match &self.progress {
            Some(progress) => progress.suspend(write),
            None => write(),
        }
    }
}

/// The human line for one outcome, ending in a newline. With color, a failure's status and
/// error are red and a success's status green.
pub fn text_line(o: &Outcome, style: &Style) -> String {
    let paint = |text: String, paint: console::Style| {
        if style.color {
            paint.force_styling(true).apply_to(text).to_string()
        } else {
            text
        }
    };
    let status = o
        .status
        .map_or_else(|| "---".to_string(), |s| s.to_string());
    let status = if o.is_ok() {
        paint(format!("{status:>3}"), console::Style::new().green())
    } else {
        paint(format!("{status:>3}"), console::Style::new().red().bold())
    };
    // A spider reads no body: the size worth showing is the one announced, as wget's "Length:".
    let size = match (o.spider, o.length) {
        (true, Some(length)) => human_bytes(length),
        (true, None) if o.status.is_some() => "?".to_string(),
        _ => human_bytes(o.bytes),
    };
    let mut line = format!(
        "{status} {size:>10} {:>6} ms  {}",
        o.elapsed.as_millis(),
        escape(o.url.as_bytes())
    );
    if let (true, Some(kind)) = (o.spider, &o.content_type) {
        line.push_str(&format!(" ({})", escape(kind.as_bytes())));
    }
    if o.skipped {
        line.push_str(" (already saved)");
    }
    if o.attempts > 1 {
        line.push_str(&format!(" ({} attempts)", o.attempts));
    }
    if let Some(segments) = o.segments {
        line.push_str(&format!(" ({segments} connections)"));
    }
    if let Some(mirror) = &o.mirror {
        line.push_str(&format!(" (mirror {})", escape(mirror.as_bytes())));
    }
    if let Some(path) = &o.path {
        line.push_str(&format!(" -> {}", escape(path.as_bytes())));
    }
    if let Some(err) = &o.error {
        let text = format!(
            "  [{}:{}] {}: {}",
            escape(o.source.as_bytes()),
            o.line,
            kind_name(err),
            escape(err.message.as_bytes())
        );
        line.push_str(&paint(text, console::Style::new().red()));
    }
    if !o.prefix.is_empty() {
        line.push_str(&format!("  \"{}\"", escape(&o.prefix)));
    }
    line.push('\n');
    line
}

/// A failure's kind as JSON and result lines name it (`http_status`).
pub(crate) fn kind_name(failure: &Failure) -> String {
    serde_json::to_value(failure.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Makes bytes safe for a terminal line: `\n`, `\r`, `\t`, `\\` and `\"` for those five, text
/// in UTF-8 as it is (a page in French or a file named in Greek reads as such, as curl and
/// aria2c print it), and `\xNN` for every other byte: C0 and C1 controls and DEL (escape
/// sequences start with them), invalid or cut-off UTF-8, and the invisible characters that
/// can make a line read other than it is (bidirectional overrides, zero-width characters,
/// line and paragraph separators).
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    let hex = |out: &mut String, bytes: &[u8]| {
        for b in bytes {
            // Written in place: a `format!` per byte allocated for every escaped byte.
            let _ = write!(out, "\\x{b:02x}");
        }
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() || deceptive(c) => {
                    hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                c => out.push(c),
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out
}

/// JSON Lines that are safe on a terminal too: besides what JSON itself escapes (C0 controls,
/// `"` and `\\`), DEL, C1 controls and the [`deceptive`] characters are written as `\uXXXX`.
/// serde_json writes them raw, and `fetchpar --json` is often read on a screen before it is
/// piped anywhere; a JSON reader decodes both forms to the same text, so nothing is lost.
struct TerminalSafe;

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut clean = 0;
        for (at, c) in fragment.char_indices() {
            if c.is_control() || deceptive(c) {
                writer.write_all(&fragment.as_bytes()[clean..at])?;
                // All of them are in the Basic Multilingual Plane: one `\u` each.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                clean = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[clean..])
    }
}

/// Characters that print nothing but change how the text around them is shown.
pub(crate) fn deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Bytes as `512 B`, `64.0 KiB`, `1.5 MiB`...
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One line of `--json` output. Field names are a public interface: add, never rename.
#[derive(Serialize)]
struct JsonRecord<'a> {
    url: &'a str,
    source: &'a str,
    line: usize,
    mode: &'a str,
    status: Option<u16>,
    bytes: u64,
    ms: f64,
    ttfb_ms: Option<f64>,
    start_ms: f64,
    final_url: Option<&'a str>,
    prefix: String,
    error: Option<&'a Failure>,
    path: Option<&'a str>,
    sha256: Option<&'a str>,
    skipped: bool,
    attempts: u32,
    mirror: Option<&'a str>,
    length: Option<u64>,
    content_type: Option<&'a str>,
    segments: Option<usize>,
}

impl<'a> JsonRecord<'a> {
    fn new(o: &'a Outcome, mode: &'a str) -> Self {
        Self {
            url: &o.url,
            source: &o.source,
            line: o.line,
            mode,
            status: o.status,
            bytes: o.bytes,
            ms: ms(o.elapsed),
            ttfb_ms: o.ttfb.map(ms),
            start_ms: ms(o.started),
            final_url: o.final_url.as_deref(),
            prefix: String::from_utf8_lossy(&o.prefix).into_owned(),
            error: o.error.as_ref(),
            path: o.path.as_deref(),
            sha256: o.sha256.as_deref(),
            skipped: o.skipped,
            attempts: o.attempts,
            mirror: o.mirror.as_deref(),
            length: o.length,
            content_type: o.content_type.as_deref(),
            segments: o.segments,
        }
    }
}

/// The summary line for one run, for stderr.
pub fn summary_line(mode: &str, jobs: Option<usize>, t: &Tally) -> String {
    let how = match jobs {
        Some(n) => format!("{mode}, {n} at once"),
        None => mode.to_string(),
    };
    let mut line = format!(
        "fetchpar: {how}: {} URL{}, {} ok, {} failed, {} in {:.3} s",
        t.total(),
        if t.total() == 1 { "" } else { "s" },
        t.ok,
        t.failed,
        human_bytes(t.bytes),
        t.wall.as_secs_f64()
    );
    if t.cancelled > 0 {
        line.push_str(&format!(" ({} cancelled)", t.cancelled));
    }
    line
}

/// The comparison line printed after `--compare`.
pub fn compare_line(sequential: &Tally, threaded: &Tally) -> String {
    let speedup = sequential.wall.as_secs_f64() / threaded.wall.as_secs_f64().max(1e-9);
    format!(
        "fetchpar: compare: sequential {:.3} s, threads {:.3} s, speedup {speedup:.2}x",
        sequential.wall.as_secs_f64(),
        threaded.wall.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_one_url_as_one() {
        let mut tally = Tally {
            ok: 1,
            wall: Duration::from_millis(1500),
            ..Tally::default()
        };
        let one = summary_line("threads", Some(1), &tally);
        assert!(
            one.starts_with("fetchpar: threads, 1 at once: 1 URL, 1 ok, 0 failed"),
            "{one}"
        );
        tally.failed = 2;
        let three = summary_line("sequential", None, &tally);
        assert!(three.contains(": 3 URLs, 1 ok, 2 failed"), "{three}");
        assert!(three.ends_with(" in 1.500 s"), "{three}");
    }

    #[test]
    fn escapes_controls_and_invalid_bytes_and_keeps_text() {
        assert_eq!(
            escape(b"a\x1b[31mb\n\t\"\\\xff\x7f"),
            "a\\x1b[31mb\\n\\t\\\"\\\\\\xff\\x7f"
        );
        assert_eq!(escape(b"plain text 123"), "plain text 123");
        assert_eq!(
            escape("caf\u{e9} \u{3b1}\u{3b2}".as_bytes()),
            "caf\u{e9} \u{3b1}\u{3b2}"
        );
        // C1 controls (0x9b is an escape sequence's start on some terminals), a bidi override,
        // a zero-width space and a line separator, each as its UTF-8 bytes.
        assert_eq!(escape("a\u{9b}2J".as_bytes()), "a\\xc2\\x9b2J");
        assert_eq!(escape("x\u{202e}y".as_bytes()), "x\\xe2\\x80\\xaey");
        assert_eq!(
            escape("x\u{200b}y\u{2028}".as_bytes()),
            "x\\xe2\\x80\\x8by\\xe2\\x80\\xa8"
        );
        // A character cut off by the prefix's length.
        assert_eq!(escape(&"\u{e9}".as_bytes()[..1]), "\\xc3");
        // Whatever the bytes, nothing below 0x20, DEL or a C1 control comes out.
        let all: Vec<u8> = (0u8..=255).collect();
        assert!(escape(&all).bytes().all(|b| (0x20..0x7f).contains(&b)));
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(
            escape(every_char.as_bytes())
                .chars()
                .all(|c| !c.is_control() && !deceptive(c))
        );
    }

    #[test]
    fn json_strings_escape_what_a_terminal_would_obey_and_decode_to_the_same_text() {
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let text = format!("caf\u{e9} \u{9b}2J\u{202e}x\u{7f}{every_char}");
        let mut out = Vec::new();
        let mut json = serde_json::Serializer::with_formatter(&mut out, TerminalSafe);
        text.serialize(&mut json).unwrap();
        let written = String::from_utf8(out).unwrap();
        assert!(
            written.chars().all(|c| !c.is_control() && !deceptive(c)),
            "{written}"
        );
        assert!(written.starts_with("\"caf\u{e9} \\u009b2J\\u202ex\\u007f"));
        assert_eq!(serde_json::from_str::<String>(&written).unwrap(), text);
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(64 * 1024), "64.0 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
