//! Reading one body as several ranges at once (`--split`, aria2c's `-s`): the first answer's
//! connection reads on while helper threads ask for the later ranges on connections of their
//! own, and what they left is asked for again afterwards. Which range is whose is
//! [`crate::split`]'s; this is the fetching of them.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use url::Url;

use super::failures::{disk, status_failure, too_large};
use super::{Ask, Ends, Fetcher, Response, content_range, header, host_key, saved};
use crate::links::{Job, LineOptions, Target};
use crate::outcome::{ErrorKind, Failure, Outcome, redact};
use crate::progress::Live;
use crate::rate::RateLimit;
use crate::save::{PartWriter, SegmentWriter, Slot, SplitPart};
use crate::split::Segments;
use crate::trace;

impl Fetcher {
    /// How a body of `length` bytes from `first` on is split (see [`crate::split`]), if it is:
    /// with `--split` (or the line's `split=`) over 1, a known length, and a server that says
    /// it takes ranges (or has just answered one).
    pub(super) fn segments(
        &self,
        target: &Target,
        response: &Response,
        first: u64,
        length: Option<u64>,
    ) -> Option<Segments> {
        let split = target.options.connections().unwrap_or(self.settings.split);
        let ranges = first > 0
            || header(response, "accept-ranges")
                .is_some_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes")));
        if split < 2 || !ranges {
            return None;
        }
        let min_split = target.options.min_split.unwrap_or(self.settings.min_split);
        Segments::plan(first, first + length?, split, min_split)
    }

    /// Reads a split body: `body`, the first answer, from the first segment on, while a helper
    /// thread per later segment asks for that range on a connection of its own; the first
    /// connection reads on into any segment no helper has claimed by then. What the helpers
    /// could not finish is asked for again afterwards, one range after another. A failure of
    /// the first connection, or of a range asked for again, fails the attempt.
    pub(super) fn fetch_split(
        &self,
        job: &Job,
        split: &Split<'_>,
        mut body: impl Read,
        first: usize,
        outcome: &mut Outcome,
    ) -> Result<(), Failure> {
        let segments = split.segments;
        let stop = AtomicBool::new(false);
        let (first, helped) = std::thread::scope(|scope| {
            // A helper for each other segment with bytes missing (in a split taken up again,
            // some have all theirs).
            let missing = |&index: &usize| {
                index != first && segments.next_byte(index) < segments.range(index).1
            };
            let helpers: Vec<_> = (0..segments.count())
                .filter(missing)
                .take(split.connections.saturating_sub(1))
                .filter_map(|index| {
                    let thread = std::thread::Builder::new().stack_size(crate::run::WORKER_STACK);
                    // One that cannot start leaves its segment to the first connection.
                    let stop = &stop;
                    (thread.spawn_scoped(scope, move || {
                        // A connection more to the host, within --per-host: without a slot
                        // free now, the range is left to the others.
                        let source = &split.sources[index % split.sources.len()];
                        let Some(_permit) = self.hosts.try_acquire(&host_key(source)) else {
                            return (0, Vec::new());
                        };
                        if self.settings.verbose {
                            trace::start();
                            trace::note(|| format!("* range connection {}", index + 1));
                        }
                        let mut own = Outcome::new(job, Duration::ZERO);
                        let _ = self.read_range(split, index, Some(stop), &mut own);
                        (own.bytes, trace::take())
                    }))
                    .ok()
                })
                .collect();
            let mut index = first;
            let first = loop {
                let (next, end) = (segments.next_byte(index), segments.range(index).1);
                let mut sink = SegmentWriter {
                    part: split.part,
                    segments,
                    index,
                };
                let ends = Ends {
                    close_after: Some(end - next),
                    limit: u64::MAX,
                    sized: None,
                    stop: None,
                    rate: split.rate,
                    low_speed: self.low_speed(split.line),
                    length: None,
                };
                let read = self.drain(&mut body, ends, outcome, Some(&mut sink), split.live);
                if read.is_err() {
                    stop.store(true, Ordering::Relaxed);
                    break read;
                }
                // A body that ended early leaves the rest to be asked for again.
                if segments.next_byte(index) < end {
                    break Ok(());
                }
                index += 1;
                if index == segments.count() || !segments.first_takes(index) {
                    break Ok(());
                }
            };
            // Unfinished, it closes its connection: the rest of the body is the helpers'.
            drop(body);
            // A helper still waiting for its answer is waited for (its request cannot be called
            // off), at most [`Split::head_wait`].
            let mut helped = 0;
            for (bytes, lines) in helpers.into_iter().filter_map(|h| h.join().ok()) {
                helped += bytes;
                trace::extend(lines);
            }
            (first, helped)
        });
        outcome.bytes += helped;
        first?;
        for (index, next, end) in segments.gaps() {
            self.read_range(split, index, None, outcome)
                .map_err(|failure| Failure {
                    message: format!(
                        "bytes {next}-{} of {}: {}",
                        end - 1,
                        segments.range(segments.count() - 1).1,
                        failure.message
                    ),
                    ..failure
                })?;
        }
        Ok(())
    }

    /// Takes up a split download that stopped short (see [`SplitPart::resume`]): the first
    /// range still missing is asked for as the download's answer, and the others by helpers,
    /// each from where it stopped. `None` when the server no longer sends a range of the same
    /// file (it changed, or takes no ranges now): the record is dropped and the download starts
    /// over.
    pub(super) fn resume_split(
        &self,
        job: &Job,
        target: &Target,
        (slot, part, segments): (&Slot, SplitPart, Segments),
        (expected, moved): (&LineOptions, &mut Option<u64>),
        outcome: &mut Outcome,
        (start, live, own_rate): (Instant, Option<&Live>, Option<&RateLimit>),
    ) -> Option<Result<(), Failure>> {
        let tag = part.validator().map(str::to_string);
        // A part of no use is removed, but one that was a file under its final name this run
        // (moved by -c, or left by aria2c) goes back there as it was: it is the user's, and a
        // download started afresh replaces it only once it is whole.
        let drop_part = |part: SplitPart, moved: &mut Option<u64>| match moved.take() {
            Some(len) => {
                drop(part);
                let _ = slot.put_back(len);
            }
            None => part.discard(),
        };
        // A part that would be too large now (--max-size given since) is of no use.
        if self
            .settings
            .max_size
            .is_some_and(|max| segments.total() > max)
        {
            drop_part(part, moved);
            return Some(Err(too_large(self.settings.max_size)));
        }
        // A part of a file of another size than the line's is of no use either: the file is
        // asked for afresh, and its answer's length checked.
        if expected.size.is_some_and(|size| segments.total() != size) {
            drop_part(part, moved);
            return None;
        }
        let Some(&(index, next, end)) = segments.gaps().first() else {
            // Every byte was in: the run stopped just before the rename.
            let writer = end_split(Ok(()), part, &segments, false, slot);
            let label = self.label(&target.url);
            return Some(writer.and_then(|w| saved(w, expected, outcome, None, label.as_deref())));
        };
        let ask = Ask {
            from: next,
            to: Some(end - 1),
            validator: tag.as_deref(),
            line: &target.options,
            ..Ask::default()
        };
        let asked = Instant::now();
        let (response, final_url) = match self.request(&target.url, ask, outcome) {
            Ok(answer) => answer,
            Err(failure) => {
                return Some(end_split(Err(failure), part, &segments, false, slot).map(drop));
            }
        };
        let status = response.status();
        outcome.ttfb = Some(start.elapsed());
        outcome.status = Some(status.as_u16());
        if content_range(&response) != Some((next, end - 1, segments.total())) {
            // Another file, no ranges any more, or a file that no longer has that range (416):
            // the record does not fit the server's file.
            if (200..400).contains(&status.as_u16()) || status.as_u16() == 416 {
                drop_part(part, moved);
                return None;
            }
            let failure = status_failure(status, header(&response, "retry-after"));
            return Some(end_split(Err(failure), part, &segments, false, slot).map(drop));
        }
        let own = job.target.as_ref().is_ok_and(|t| t.url == final_url);
        outcome.final_url = Some(if own {
            outcome.url.clone()
        } else {
            redact(&final_url)
        });
        let remote_time = (self.saver.as_ref())
            .is_some_and(|s| s.remote_time(expected))
            .then(|| header(&response, "last-modified"))
            .flatten()
            .and_then(|v| httpdate::parse_http_date(&v).ok());
        let gaps = segments.gaps();
        if let Some(live) = live {
            live.expect(gaps.iter().map(|(_, next, end)| end - next).sum());
        }
        // As many as the run (or the line) asks for now, which may be fewer than before.
        let connections = target.options.connections().unwrap_or(self.settings.split);
        outcome.segments = Some(gaps.len().min(connections.max(1)));
        let sources = split_sources(job, &target.url, &final_url);
        let split = Split {
            sources: &sources,
            line: &target.options,
            validator: tag.as_deref(),
            clock: asked,
            segments: &segments,
            part: &part,
            live,
            rate: own_rate,
            connections,
            head_wait: head_wait(asked.elapsed()),
        };
        let body = response.into_body().into_reader();
        let result = self.fetch_split(job, &split, body, index, outcome);
        let writer = end_split(result, part, &segments, false, slot);
        let label = self.label(&final_url);
        Some(writer.and_then(|w| saved(w, expected, outcome, remote_time, label.as_deref())))
    }

    /// Reads what is missing of segment `index` of a split body with a request of its own. A
    /// helper's (`stop` given) asks the sources in turn by segment and claims the segment once
    /// its answer is good, leaving it if the first connection has reached it by then; a range
    /// asked for again is asked of the source the first answer came from.
    fn read_range(
        &self,
        split: &Split<'_>,
        index: usize,
        stop: Option<&AtomicBool>,
        outcome: &mut Outcome,
    ) -> Result<(), Failure> {
        let segments = split.segments;
        let (next, end) = (segments.next_byte(index), segments.range(index).1);
        let total = segments.range(segments.count() - 1).1;
        // A helper's source, as `fetch_split` chose it for its slot.
        let source = match stop {
            Some(_) => index % split.sources.len(),
            None => 0,
        };
        let ask = Ask {
            from: next,
            to: Some(end - 1),
            validator: split.validator.filter(|_| source == 0),
            line: split.line,
            clock: Some(split.clock),
            head_within: stop.map(|_| split.head_wait),
            ..Ask::default()
        };
        let (response, _) = self.request(&split.sources[source], ask, outcome)?;
        let status = response.status();
        if content_range(&response) != Some((next, end - 1, total)) {
            return Err(match status.as_u16() {
                200..400 => Failure::new(
                    ErrorKind::Protocol,
                    format!(
                        "asked for that range, the server answered HTTP {} with {}",
                        status.as_u16(),
                        header(&response, "content-range")
                            .map_or("the whole body".into(), |r| format!("bytes {r}"))
                    ),
                ),
                _ => status_failure(status, header(&response, "retry-after")),
            });
        }
        // A range whose announced length is not the range's own is not read: its bytes could
        // not be told apart.
        if let Some(length) = response.body().content_length()
            && length != end - next
        {
            return Err(Failure::new(
                ErrorKind::Protocol,
                format!("the answer to that range announced {length} bytes"),
            ));
        }
        if stop.is_some() && !segments.helper_takes(index) {
            return Ok(());
        }
        let mut sink = SegmentWriter {
            part: split.part,
            segments,
            index,
        };
        let ends = Ends {
            stop,
            rate: split.rate,
            ..self.ends(split.line, None, Some(end - next), true)
        };
        let mut body = response.into_body().into_reader();
        self.drain(&mut body, ends, outcome, Some(&mut sink), split.live)?;
        match segments.next_byte(index) {
            got if got == end => Ok(()),
            got => Err(Failure::new(
                ErrorKind::Io,
                format!(
                    "the range ended after {} of {} bytes",
                    got - next,
                    end - next
                ),
            )),
        }
    }
}

/// A body being fetched as several ranges at once (see [`Fetcher::fetch_split`]).
pub(super) struct Split<'a> {
    /// Where ranges are asked for: first the URL the first answer came from (after its
    /// redirects), then the line's other URLs (its own and its mirrors), taken in turn.
    pub(super) sources: &'a [Url],
    /// The line's own options (its headers and Referer).
    pub(super) line: &'a LineOptions,
    /// The first answer's validator: each range from the same URL is sent only from the same
    /// file (`If-Range`). Another server's ETag for the same file may differ, so a mirror's
    /// range is checked by the file's total size alone, as aria2c checks it.
    pub(super) validator: Option<&'a str>,
    /// When the first answer was asked for: the URL's time limit covers every range.
    pub(super) clock: Instant,
    pub(super) segments: &'a Segments,
    pub(super) part: &'a SplitPart,
    pub(super) live: Option<&'a Live>,
    /// The download's own budget (`--max-download-limit`), shared by all its connections.
    pub(super) rate: Option<&'a RateLimit>,
    /// Most connections at once; segments past them are asked for one after another once
    /// the others are in.
    pub(super) connections: usize,
    /// Longest a helper waits for its answer's head: four times what the first answer took, and
    /// at least a second. A server that holds extra connections unanswered (one that serves a
    /// client one connection at a time) would otherwise keep the download waiting on them
    /// for the stall timeout once the first connection had read everything.
    pub(super) head_wait: Duration,
}

/// See [`Split::head_wait`]: `first_took`, how long the first answer's head took.
pub(super) fn head_wait(first_took: Duration) -> Duration {
    (first_took * 4).max(Duration::from_secs(1))
}

/// Where a split's ranges are asked for (see [`Split::sources`]): the URL the first answer came
/// from, then the line's other URLs besides `asked` (the one asked for it), as aria2c shares a
/// split between mirrors.
pub(super) fn split_sources(job: &Job, asked: &Url, answered: &Url) -> Vec<Url> {
    let others = (job.target.as_ref().ok()).map(|t| {
        let all = std::iter::once(&t.url).chain(&t.mirrors);
        all.filter(|u| *u != asked).cloned().collect::<Vec<_>>()
    });
    std::iter::once(answered.clone())
        .chain(others.unwrap_or_default())
        .collect()
}

/// Ends a split download: the part becomes the file to finish when every byte is in, or, after
/// `result`'s failure, stays with the record of its `segments` for `-c` or a retry (removed if
/// `empty`).
pub(super) fn end_split(
    result: Result<(), Failure>,
    part: SplitPart,
    segments: &Segments,
    empty: bool,
    slot: &Slot,
) -> Result<PartWriter, Failure> {
    match result {
        Ok(()) => part.whole().map_err(|e| disk(e, &slot.part)),
        Err(failure) => {
            part.suspend(segments, empty);
            Err(failure)
        }
    }
}
