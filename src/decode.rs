//! Decoding a body sent compressed (`Content-Encoding`: gzip, deflate, br, zstd, or several
//! of them in turn), and telling a body whose encoding is broken apart from a connection that
//! failed under it.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use zstd::stream::raw::Operation;

/// What `--compressed` asks for, in curl's words and order.
pub const ACCEPTED: &str = "deflate, gzip, br, zstd";

/// The most codings one body may be decoded through, as curl allows: a header naming more is
/// refused rather than given a decoder for each (each holds its own buffers and window).
const MOST_LAYERS: usize = 5;

/// The largest zstd window decoded, RFC 9659's bound for the `zstd` content coding: a frame
/// asking for more (up to 3.75 TB by the format) is refused before anything is allocated.
const ZSTD_WINDOW_LOG: u32 = 23;

/// The most bytes of a zstd frame's header that say its window (magic number, descriptor,
/// window descriptor, dictionary and content size).
const ZSTD_HEAD: usize = 18;

/// The input buffer of each decoder (as the fetch's own reads).
const INPUT_BUFFER: usize = 8 * 1024;

/// The most bytes of brotli and zstd windows held at once, by all the bodies decoded. A brotli
/// decoder fills the window its stream asks for (up to 16 MiB) before it gives out a byte,
/// whatever `--max-size` says: 100 bombs at once peaked at 1.4 GB before this bound; a zstd one
/// fills its window (up to 8 MiB) as the body decodes. Bodies past it wait for room (no longer
/// than a stall may last, nor past their attempt's time) rather than fail.
const WINDOWS_AT_ONCE: u64 = 256 * 1024 * 1024;

/// A brotli body whose decoder asks for this much at once (its ring buffer, which brotli keeps
/// as small as what the body has decoded so far, growing it up to the window) takes room for
/// its whole window, and a zstd frame whose window is this large takes room for it; bodies that
/// stay below it take none.
const COUNTED_FROM: usize = 64 * 1024;

static WINDOWS: Budget = Budget::new(WINDOWS_AT_ONCE);

/// How often a body waiting for room looks whether the run is stopping.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// A content coding fetchpar decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    /// zlib-wrapped DEFLATE as RFC 9110 defines it, or bare DEFLATE as some servers send it.
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The coding one `Content-Encoding` token names (`x-gzip` is gzip's old name, RFC 9110
    /// 8.4.1.3), in any case.
    fn of(token: &str) -> Option<Self> {
        let known = [
            ("gzip", Self::Gzip),
            ("x-gzip", Self::Gzip),
            ("deflate", Self::Deflate),
            ("br", Self::Brotli),
            ("zstd", Self::Zstd),
        ];
        (known.iter())
            .find(|(name, _)| token.eq_ignore_ascii_case(name))
            .map(|&(_, coding)| coding)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "brotli",
            Self::Zstd => "zstd",
        }
    }
}

/// The codings a `Content-Encoding` value says were applied, in the order they were (so the
/// last is undone first); none for `identity` or an empty value. An error names a coding
/// fetchpar cannot undo, or says there are too many.
pub fn codings(content_encoding: &str) -> Result<Vec<Coding>, String> {
    let tokens = (content_encoding.split(',').map(str::trim))
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("identity"));
    let mut codings = Vec::new();
    for token in tokens {
        match Coding::of(token) {
            _ if codings.len() == MOST_LAYERS => {
                return Err(format!("more than {MOST_LAYERS} content codings"));
            }
            Some(coding) => codings.push(coding),
            None => {
                return Err(format!(
                    "the body is encoded as `{}`, which fetchpar cannot decode (it decodes {ACCEPTED})",
                    token.escape_debug()
                ));
            }
        }
    }
    Ok(codings)
}

/// `body` decoded through `codings` (as [`codings`] gives them: the last applied is undone
/// first); a brotli or zstd body waits at most `patience` for room for its window. Never
/// inlined, as [`Decoded::new`] is not: the decoders are no part of a fetch's frame.
#[inline(never)]
pub fn decoded<'a, R: Read + Send + 'a>(
    codings: &[Coding],
    body: R,
    patience: Option<Duration>,
) -> Box<dyn Read + Send + 'a> {
    let mut body: Box<dyn Read + Send + 'a> = Box::new(body);
    for &coding in codings.iter().rev() {
        body = Box::new(Decoded::new(coding, body, patience));
    }
    body
}

/// A body that is not the encoding its header says it is. Its own type so the fetcher can
/// report kind `protocol` rather than a failed connection.
#[derive(Debug, thiserror::Error)]
#[error("the body is not valid {coding}: {source}")]
pub struct BadEncoding {
    coding: &'static str,
    source: io::Error,
}

/// Reads a body decoded from one coding (a gzip body's every member, as `gzip -d` does, and a
/// zstd body's every frame, as `zstd -d` does). An error of the reader under it comes out as
/// it was; an error of the decoding itself comes out wrapping [`BadEncoding`].
pub struct Decoded<R: Read> {
    inner: Inner<R>,
    coding: Coding,
    /// The reader under the decoder failed while flate2's gzip constructor read the header:
    /// flate2 keeps that error and returns it from the first read, where it would otherwise be
    /// taken for the decoder's own (a stall before the first byte reported as "not valid gzip").
    failed_early: bool,
}

/// A DEFLATE body whose first bytes were read to tell whether it is zlib-wrapped, put back in
/// front of the rest.
type Prefixed<R> = io::Chain<io::Cursor<Vec<u8>>, Watched<R>>;

/// Dropbox's brotli decoder with its bytes from [`Counted`].
type BrotliDecoder<R> = brotli_decompressor::DecompressorCustomIo<
    io::Error,
    brotli_decompressor::IntoIoReader<FirstByte<R>>,
    Cell,
    Counted,
    brotli_decompressor::StandardAlloc,
    brotli_decompressor::StandardAlloc,
>;

enum Inner<R: Read> {
    Gzip(flate2::read::MultiGzDecoder<Watched<R>>),
    /// A deflate body before its first bytes are read.
    Deflate(Option<Watched<R>>),
    Zlib(flate2::bufread::ZlibDecoder<BufReader<Prefixed<R>>>),
    BareDeflate(flate2::bufread::DeflateDecoder<BufReader<Prefixed<R>>>),
    Brotli {
        /// Boxed: its state is 3.5 KiB, twenty times the others'.
        decoder: Box<BrotliDecoder<R>>,
        /// What its reader and its allocator tell each other.
        between: Between,
    },
    Zstd(ZstdFrames<R>),
    /// A zstd decoder that could not be made (its context not allocated): the error, once.
    Failed(Option<io::Error>),
}

impl<R: Read> Decoded<R> {
    /// Never inlined: flate2's gzip constructor has a 56 KiB stack frame, and inlined into the
    /// fetch it made every fetch touch 14 more pages of its thread's stack, encoded or not:
    /// 20 MiB more peak memory on 2,000 small files at 384 threads (49 against 29 MiB).
    #[inline(never)]
    pub fn new(coding: Coding, body: R, patience: Option<Duration>) -> Self {
        let body = Watched {
            inner: body,
            failed: false,
            got: false,
        };
        let inner = match coding {
            Coding::Gzip => Inner::Gzip(flate2::read::MultiGzDecoder::new(body)),
            Coding::Deflate => Inner::Deflate(Some(body)),
            Coding::Brotli => brotli(body, patience),
            Coding::Zstd => match zstd::stream::raw::Decoder::new() {
                Ok(decoder) => Inner::Zstd(ZstdFrames::new(decoder, body, patience)),
                Err(err) => Inner::Failed(Some(err)),
            },
        };
        let failed_early = matches!(&inner, Inner::Gzip(d) if d.get_ref().failed);
        Self {
            inner,
            coding,
            failed_early,
        }
    }
}

/// A zstd body decoded frame by frame through one context. Each frame's header is read before
/// the frame is decoded, so that its window has room (waiting for it if need be) before the
/// decoder allocates it: the room taken is the largest window of the body's frames so far, and
/// a frame asking for more gives the old room back before it waits for the new, so that no body
/// waits while it holds room. One context, reset between frames, rather than zstd's reader made
/// anew for each frame: on 10,000 frames of 1 KiB that took 87 ms where zstd's own reader over
/// the whole body took 7.1-7.6 ms, and this takes 8.1-8.6 ms.
struct ZstdFrames<R> {
    input: BufReader<Watched<R>>,
    decoder: zstd::stream::raw::Decoder<'static>,
    patience: Option<Duration>,
    /// The header of the frame being decoded, read ahead to find its window, and how much of it
    /// the decoder has taken.
    head: Vec<u8>,
    fed: usize,
    /// The largest window (log2) the decoder takes, with room for it if it is large.
    log: u32,
    room: Option<Reserved>,
    /// Why a frame got no room for its window, if it did not.
    refused: Option<io::Error>,
    /// At the start of the body or after the end of a frame: the next header comes first.
    between: bool,
    ended: bool,
}

impl<R: Read> ZstdFrames<R> {
    fn new(
        decoder: zstd::stream::raw::Decoder<'static>,
        body: Watched<R>,
        patience: Option<Duration>,
    ) -> Self {
        Self {
            input: BufReader::with_capacity(INPUT_BUFFER, body),
            decoder,
            patience,
            head: Vec::with_capacity(ZSTD_HEAD),
            fed: 0,
            log: 0,
            room: None,
            refused: None,
            between: true,
            ended: false,
        }
    }

    /// Reads the next frame's header; takes room for its window if it asks for more than the
    /// frames before it did. A wait past the patience (`TimedOut`), or the run stopping, is kept
    /// in `refused` for [`Decoded`] to give out as it is.
    fn start_frame(&mut self) -> io::Result<()> {
        // A short frame may have left part of the header read ahead unfed: the next one's.
        self.head.drain(..self.fed);
        self.fed = 0;
        let wanted = ZSTD_HEAD.saturating_sub(self.head.len());
        (&mut self.input)
            .take(wanted as u64)
            .read_to_end(&mut self.head)?;
        if self.head.is_empty() {
            self.ended = true;
            return Ok(());
        }
        // A header that does not say its window may take the most.
        let log = zstd_window_log(&self.head).unwrap_or(ZSTD_WINDOW_LOG);
        if log > self.log {
            self.room = None;
            let window = 1u64 << log;
            if window >= COUNTED_FROM as u64 {
                match WINDOWS.reserve(window, self.patience) {
                    Ok(room) => self.room = Some(room),
                    Err(err) => {
                        let said = io::Error::new(err.kind(), err.to_string());
                        self.refused = Some(err);
                        return Err(said);
                    }
                }
            }
            self.decoder
                .set_parameter(zstd::stream::raw::DParameter::WindowLogMax(log))?;
            self.log = log;
        }
        self.between = false;
        Ok(())
    }

    /// One step of the decoder, on the rest of the header read ahead, on what the body has, or,
    /// to `flush` what the decoder holds, on nothing: the bytes given, whether the frame ended,
    /// and whether the body had no more.
    fn step(&mut self, buf: &mut [u8], flush: bool) -> io::Result<(usize, bool, bool)> {
        use zstd::stream::raw::{InBuffer, OutBuffer};
        let from_head = self.fed < self.head.len();
        let input: &[u8] = match (flush, from_head) {
            (true, _) => &[],
            (false, true) => &self.head[self.fed..],
            (false, false) => self.input.fill_buf()?,
        };
        let none = input.is_empty();
        let mut src = InBuffer::around(input);
        let mut dst = OutBuffer::around(buf);
        let hint = self.decoder.run(&mut src, &mut dst)?;
        let (taken, given) = (src.pos(), dst.pos());
        match from_head {
            true => self.fed += taken,
            false => self.input.consume(taken),
        }
        Ok((given, hint == 0, none && !flush))
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // First what the decoder holds from the last call (the caller's buffer was full), so
        // that no read waits on the body for bytes already decoded.
        let mut flush = !self.between;
        // A loop, not a call: a body may be a million empty frames.
        loop {
            if self.between && !self.ended {
                self.start_frame()?;
            }
            if self.ended {
                return Ok(0);
            }
            let (given, frame_ended, body_ended) = self.step(buf, flush)?;
            flush = false;
            if frame_ended {
                self.between = true;
                self.decoder.reinit()?;
            }
            if given > 0 {
                return Ok(given);
            }
            if body_ended && !frame_ended {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the body ends inside a frame",
                ));
            }
        }
    }
}

/// The window a zstd frame whose first bytes are `head` asks for, as a power of two that holds
/// it (RFC 8878 3.1.1.1: the window descriptor, or the content size of a single-segment frame),
/// at least 2^10 and at most [`ZSTD_WINDOW_LOG`]'s; none when `head` is no zstd frame's start.
fn zstd_window_log(head: &[u8]) -> Option<u32> {
    let (magic, rest) = head.split_first_chunk::<4>()?;
    let magic = u32::from_le_bytes(*magic);
    // A skippable frame (RFC 8878 3.1.2) is skipped, with no window.
    if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
        return Some(10);
    }
    if magic != 0xFD2F_B528 {
        return None;
    }
    let (&descriptor, rest) = rest.split_first()?;
    let window = if descriptor & 0x20 == 0 {
        let &window = rest.first()?;
        let base = 1u64 << (10 + (window >> 3));
        base + base / 8 * u64::from(window & 7)
    } else {
        let dictionary = [0, 1, 2, 4][usize::from(descriptor & 3)];
        let size = [1, 2, 4, 8][usize::from(descriptor >> 6)];
        let bytes = rest.get(dictionary..dictionary + size)?;
        let mut le = [0; 8];
        le[..size].copy_from_slice(bytes);
        u64::from_le_bytes(le) + if size == 2 { 256 } else { 0 }
    };
    let log = window.max(1 << 10).next_power_of_two().trailing_zeros();
    Some(log.min(ZSTD_WINDOW_LOG))
}

fn brotli<R: Read>(body: Watched<R>, patience: Option<Duration>) -> Inner<R> {
    let between = Between::default();
    let counted = Counted {
        patience,
        between: Arc::clone(&between),
        room: None,
    };
    let input = Cell::zeroed(INPUT_BUFFER);
    let body = FirstByte {
        inner: body,
        between: Arc::clone(&between),
        seen: false,
    };
    let decoder = brotli_decompressor::DecompressorCustomIo::new(
        brotli_decompressor::IntoIoReader(body),
        input,
        counted,
        brotli_decompressor::StandardAlloc::default(),
        brotli_decompressor::StandardAlloc::default(),
        io::Error::new(io::ErrorKind::InvalidData, "invalid data"),
    );
    Inner::Brotli {
        decoder: Box::new(decoder),
        between,
    }
}

/// What a brotli decoder's reader and its allocator tell each other, and the decoder's owner,
/// which sees only that the decoding failed.
#[derive(Default)]
struct Shared {
    /// The body's first byte, which says its window.
    first: Option<u8>,
    /// Why the allocator gave the decoder no room, if it did not.
    refused: Option<io::Error>,
}

type Between = Arc<Mutex<Shared>>;

fn lock(between: &Between) -> std::sync::MutexGuard<'_, Shared> {
    between.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A brotli body, its first byte noted.
struct FirstByte<R> {
    inner: Watched<R>,
    between: Between,
    seen: bool,
}

impl<R: Read> Read for FirstByte<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.seen && n > 0 {
            self.seen = true;
            lock(&self.between).first = Some(buf[0]);
        }
        Ok(n)
    }
}

/// The bytes the brotli decoder allocates. At its first large allocation a body takes room in
/// [`WINDOWS`] for the whole of its window, waiting for it if need be, and holds it until the
/// decoder is dropped: once, so that no body ever waits while it holds room (bodies growing
/// their windows bit by bit, each waiting for the others, could wait on each other for good).
/// A cell without room is an empty one, which the decoder takes as a failed allocation.
struct Counted {
    patience: Option<Duration>,
    between: Between,
    room: Option<Reserved>,
}

/// Bytes of the brotli decoder's; none for an allocation refused. A large one (a window) is
/// given back to the system as soon as it is freed, as every block of 1 MiB or more is
/// (`heap.rs`): left in the arena of the thread that decoded it, 100 bombs of 16 MiB windows
/// peaked at 431 MB under a budget of 128 MiB, where given back they peaked at 137 MB.
#[derive(Default)]
struct Cell(Box<[u8]>);

impl Cell {
    fn zeroed(len: usize) -> Self {
        Self(vec![0; len].into_boxed_slice())
    }
}

impl brotli_decompressor::SliceWrapper<u8> for Cell {
    fn slice(&self) -> &[u8] {
        &self.0
    }
}

impl brotli_decompressor::SliceWrapperMut<u8> for Cell {
    fn slice_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl brotli_decompressor::Allocator<u8> for Counted {
    type AllocatedMemory = Cell;

    fn alloc_cell(&mut self, len: usize) -> Cell {
        if len < COUNTED_FROM {
            return Cell::zeroed(len);
        }
        if self.room.is_none() {
            // The window, and half of it again: growing, brotli holds the old ring buffer and
            // the new one for a moment.
            let window = brotli_window(lock(&self.between).first);
            let room = (window + window / 2).max(len as u64);
            match WINDOWS.reserve(room, self.patience) {
                Ok(room) => self.room = Some(room),
                Err(err) => {
                    lock(&self.between).refused = Some(err);
                    return Cell::default();
                }
            }
        }
        Cell::zeroed(len)
    }

    fn free_cell(&mut self, _cell: Cell) {}
}

/// The window a brotli stream whose first byte is `first` asks for, in bytes (RFC 7932 9.1:
/// 2^WBITS - 16, WBITS coded in its first 1, 4 or 7 bits). None for an empty body, and for the
/// large-window form, which the decoder refuses.
fn brotli_window(first: Option<u8>) -> u64 {
    let Some(byte) = first else {
        return 0;
    };
    let wbits = match (byte & 1, (byte >> 1) & 7, (byte >> 4) & 7) {
        (0, _, _) => 16,
        (_, n @ 1..=7, _) => 17 + u32::from(n),
        (_, 0, 0) => 17,
        (_, 0, 1) => return 0,
        (_, 0, m) => 8 + u32::from(m),
        _ => unreachable!("three bits"),
    };
    (1u64 << wbits) - 16
}

/// Room shared by bodies decoded at once: bytes reserved, waited for when there are none.
struct Budget {
    most: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

/// Bytes of a [`Budget`] held until dropped.
struct Reserved(&'static Budget, u64);

impl Budget {
    const fn new(most: u64) -> Self {
        Self {
            most,
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Holds `bytes` (at most all of the budget), waiting while the others hold too many: until
    /// `patience` runs out (`TimedOut`) or the run stops ([`crate::transport::Interrupted`]).
    fn reserve(&'static self, bytes: u64, patience: Option<Duration>) -> io::Result<Reserved> {
        self.reserve_unless(bytes, patience, crate::cancel::requested)
    }

    /// [`Self::reserve`], giving up when `stopped` says so. The stop is not an error of kind
    /// `Interrupted`, which readers retry at once: the reader of a list on a server, waiting for
    /// room for its window when the run stopped, would have asked again for good.
    fn reserve_unless(
        &'static self,
        bytes: u64,
        patience: Option<Duration>,
        stopped: impl Fn() -> bool,
    ) -> io::Result<Reserved> {
        let bytes = bytes.min(self.most);
        let since = Instant::now();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while *held + bytes > self.most {
            if stopped() {
                return Err(io::Error::other(crate::transport::Interrupted));
            }
            if let Some(patience) = patience
                && since.elapsed() >= patience
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "waited {} s for room for a {} KiB window to decode in (at most {} MiB of brotli and zstd windows are held at once)",
                        patience.as_secs(),
                        bytes / 1024,
                        self.most >> 20
                    ),
                ));
            }
            held = (self.freed.wait_timeout(held, WAIT_SLICE))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *held += bytes;
        Ok(Reserved(self, bytes))
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let mut held = self.0.held.lock().unwrap_or_else(PoisonError::into_inner);
        *held -= self.1;
        self.0.freed.notify_all();
    }
}

impl<R: Read> Inner<R> {
    /// The reader under the decoder.
    fn watched(&mut self) -> Option<&mut Watched<R>> {
        match self {
            Self::Gzip(d) => Some(d.get_mut()),
            Self::Deflate(pending) => pending.as_mut(),
            Self::Zlib(d) => Some(d.get_mut().get_mut().get_mut().1),
            Self::BareDeflate(d) => Some(d.get_mut().get_mut().get_mut().1),
            Self::Brotli { decoder, .. } => Some(&mut decoder.get_mut().0.inner),
            Self::Zstd(frames) => Some(frames.input.get_mut()),
            Self::Failed(_) => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Gzip(d) => d.read(buf),
            Self::Deflate(pending) => {
                let Some(mut body) = pending.take() else {
                    return Ok(0);
                };
                // RFC 9110's deflate is zlib-wrapped; some servers send it bare, and browsers
                // and curl take both, told apart by whether the first two bytes are a zlib
                // header (RFC 1950: method 8, and a multiple of 31).
                let mut head = Vec::with_capacity(2);
                let sniffed = (&mut body).take(2).read_to_end(&mut head);
                if let Err(err) = sniffed {
                    *pending = Some(body);
                    return Err(err);
                }
                let zlib = matches!(head[..], [cmf, flg]
                    if cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0);
                let input =
                    BufReader::with_capacity(INPUT_BUFFER, io::Cursor::new(head).chain(body));
                *self = match zlib {
                    true => Self::Zlib(flate2::bufread::ZlibDecoder::new(input)),
                    false => Self::BareDeflate(flate2::bufread::DeflateDecoder::new(input)),
                };
                self.read(buf)
            }
            Self::Zlib(d) => d.read(buf),
            Self::BareDeflate(d) => d.read(buf),
            Self::Brotli { decoder, .. } => {
                brotli_decompressor::CustomRead::read(&mut **decoder, buf)
            }
            Self::Zstd(frames) => frames.read(buf),
            Self::Failed(err) => match err.take() {
                Some(err) => Err(err),
                None => Ok(0),
            },
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let failed_early = std::mem::take(&mut self.failed_early);
        if let Some(body) = self.inner.watched() {
            body.failed = false;
        }
        let err = match self.inner.read(buf) {
            Ok(n) => return Ok(n),
            Err(err) => err,
        };
        // No room for a window: why, as it is (waited too long, or the run stops).
        if let Inner::Brotli { between, .. } = &self.inner
            && let Some(why) = lock(between).refused.take()
        {
            return Err(why);
        }
        if let Inner::Zstd(frames) = &mut self.inner
            && let Some(why) = frames.refused.take()
        {
            return Err(why);
        }
        let body = self.inner.watched();
        if failed_early || body.as_ref().is_some_and(|body| body.failed) {
            return Err(err);
        }
        // No byte at all is an empty body in any coding, as curl and browsers take it: servers
        // send a `Content-Encoding` with an empty answer.
        if body.is_some_and(|body| !body.got) {
            return Ok(0);
        }
        let coding = self.coding.name();
        let source = err;
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            BadEncoding { coding, source },
        ))
    }
}

/// The reader under the decoder, noting whether its last read failed, and whether it ever
/// gave a byte.
struct Watched<R> {
    inner: R,
    failed: bool,
    got: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        self.failed = result.is_err();
        self.got |= result.as_ref().is_ok_and(|&n| n > 0);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Fails every read once `ok` bytes have been given.
    struct Failing<'a> {
        data: &'a [u8],
        ok: usize,
    }

    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
            }
            let n = buf.len().min(self.ok).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.ok -= n;
            Ok(n)
        }
    }

    /// `words` four-byte words of a body that compresses, but not to nothing.
    fn sample(words: u32) -> Vec<u8> {
        (0..words).flat_map(|n| (n % 251).to_be_bytes()).collect()
    }

    fn zstd(data: &[u8], window_log: u32) -> Vec<u8> {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(window_log).unwrap();
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        encoder.write_all(data).unwrap();
        drop(encoder);
        out
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn bare_deflate(data: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn decode(header: &str, body: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoded(&codings(header).unwrap(), body, None).read_to_end(&mut out)?;
        Ok(out)
    }

    /// Gives its bytes one at a time, as a slow connection may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    fn is_bad_encoding(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|e| e.is::<BadEncoding>())
    }

    #[test]
    fn every_coding_decodes_and_a_chain_is_undone_last_first() {
        let text = sample(200_000);
        for (header, body) in [
            ("gzip", gzip(&text)),
            ("x-gzip", gzip(&text)),
            ("deflate", zlib(&text)),
            ("deflate", bare_deflate(&text)),
            ("BR", brotli(&text)),
            ("zstd", zstd(&text, 20)),
            ("identity", text.clone()),
            ("", text.clone()),
            ("br, gzip", gzip(&brotli(&text))),
            ("deflate, identity, zstd", zstd(&zlib(&text), 20)),
        ] {
            assert_eq!(decode(header, &body).unwrap(), text, "{header}");
            // A byte at a time: the deflate sniffing waits for its two bytes.
            let mut out = Vec::new();
            let codings = codings(header).unwrap();
            decoded(&codings, Trickle(&body), None)
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text, "{header}, a byte at a time");
        }
    }

    #[test]
    fn an_empty_body_is_empty_in_any_coding_and_a_lone_byte_is_not() {
        for header in ["gzip", "deflate", "br", "zstd", "br, gzip"] {
            assert_eq!(decode(header, b"").unwrap(), b"", "{header}");
            let err = decode(header, b"\x1f").unwrap_err();
            assert!(is_bad_encoding(&err), "{header}: {err}");
        }
    }

    #[test]
    fn concatenated_members_and_frames_decode_as_one_body() {
        let mut both = gzip(b"first ");
        both.extend(gzip(b"second"));
        assert_eq!(decode("gzip", &both).unwrap(), b"first second");
        let mut both = zstd(b"first ", 20);
        both.extend(zstd(b"second", 20));
        assert_eq!(decode("zstd", &both).unwrap(), b"first second");
    }

    #[test]
    fn unknown_codings_and_too_many_are_refused() {
        let err = codings("gzip, compress").unwrap_err();
        assert!(err.contains("`compress`"), "{err}");
        let err = codings("utf-8").unwrap_err();
        assert!(err.contains("`utf-8`"), "{err}");
        assert_eq!(codings(" Identity ").unwrap(), []);
        assert_eq!(codings("gzip,gzip,gzip,gzip,gzip").unwrap().len(), 5);
        let err = codings("gzip,gzip,gzip,gzip,gzip,gzip").unwrap_err();
        assert!(err.contains("more than 5"), "{err}");
    }

    #[test]
    fn a_zstd_window_past_8_mib_is_refused() {
        let text = vec![b'z'; 1000];
        assert_eq!(decode("zstd", &zstd(&text, 23)).unwrap(), text);
        let err = decode("zstd", &zstd(&text, 24)).unwrap_err();
        assert!(is_bad_encoding(&err), "{err}");
        assert!(err.to_string().contains("not valid zstd"), "{err}");
    }

    #[test]
    fn a_brotli_body_without_room_for_its_window_says_so_and_counts_what_it_holds() {
        let text = vec![b'x'; 300_000];
        let encoded = brotli(&text);
        let all = WINDOWS.reserve(WINDOWS_AT_ONCE, None).unwrap();
        let mut body = Decoded::new(Coding::Brotli, &encoded[..], Some(Duration::ZERO));
        let err = body.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(!is_bad_encoding(&err), "{err}");
        assert!(err.to_string().contains("KiB window to decode in"), "{err}");
        drop(all);
        // With room: its window is counted while it decodes (other tests may hold more).
        let mut body = Decoded::new(Coding::Brotli, &encoded[..], Some(Duration::ZERO));
        let mut first = [0; 10];
        body.read_exact(&mut first).unwrap();
        assert!(*WINDOWS.held.lock().unwrap() >= 300_000);
        let mut out = first.to_vec();
        body.read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn a_brotli_window_is_read_from_the_first_byte() {
        let text = sample(300_000);
        for lgwin in 10..=24 {
            let mut out = Vec::new();
            let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, lgwin);
            encoder.write_all(&text).unwrap();
            drop(encoder);
            assert_eq!(
                brotli_window(out.first().copied()),
                (1 << lgwin) - 16,
                "{lgwin}"
            );
            assert_eq!(decode("br", &out).unwrap(), text, "{lgwin}");
        }
        assert_eq!(brotli_window(None), 0);
        // The large-window form (WBITS coded as 0x11): left to the decoder, which refuses it.
        assert_eq!(brotli_window(Some(0b0001_0001)), 0);
        let err = decode("br", &[0b0001_0001, 0x1e, 0, 0]).unwrap_err();
        assert!(is_bad_encoding(&err), "{err}");
    }

    #[test]
    fn a_zstd_window_is_read_from_each_frame_and_a_later_frame_may_ask_for_more() {
        let text = sample(300_000);
        for log in 10..=24 {
            let encoded = zstd(&text, log);
            assert_eq!(
                zstd_window_log(&encoded[..ZSTD_HEAD]),
                Some(log.min(23)),
                "{log}"
            );
        }
        // A single-segment frame (its size known): its window is its size.
        let small = zstd::encode_all(&text[..100_000], 3).unwrap();
        assert_eq!(small[4] & 0x20, 0x20, "single segment");
        assert_eq!(zstd_window_log(&small), Some(17));
        assert_eq!(zstd_window_log(b"\x28\xb5\x2f"), None);
        assert_eq!(zstd_window_log(b"not zstd at all, no"), None);
        let skippable = |data: &[u8]| {
            let mut frame = 0x184D_2A53u32.to_le_bytes().to_vec();
            frame.extend((data.len() as u32).to_le_bytes());
            frame.extend(data);
            frame
        };
        assert_eq!(zstd_window_log(&skippable(b"0123456789abcdef")), Some(10));
        // Frames asking for larger windows than the first, and for smaller ones, skippable
        // frames among them, decode as one body, read in buffers of any size.
        let mut frames = skippable(b"not part of the body");
        frames.extend(zstd(b"first ", 12));
        frames.extend(zstd(&text, 20));
        frames.extend(skippable(b""));
        frames.extend(zstd(b" last", 12));
        frames.extend(zstd(&text[..1000], 23));
        let mut want = b"first ".to_vec();
        want.extend(&text);
        want.extend(b" last");
        want.extend(&text[..1000]);
        assert_eq!(decode("zstd", &frames).unwrap(), want);
        for size in [1, 7, 4096] {
            let mut body = Decoded::new(Coding::Zstd, &frames[..], None);
            let mut got: Vec<u8> = Vec::new();
            let mut buf = vec![0u8; size];
            loop {
                match body.read(&mut buf).unwrap() {
                    0 => break,
                    n => got.extend(&buf[..n]),
                }
            }
            assert!(got == want, "read {size} bytes at a time");
        }
        // But never more than RFC 9659's 8 MiB, in any frame.
        let mut past = zstd(b"first ", 12);
        past.extend(zstd(&text, 24));
        let err = decode("zstd", &past).unwrap_err();
        assert!(is_bad_encoding(&err), "{err}");
        // A body cut inside a frame, or with bytes after its last frame that are none, is not
        // valid zstd.
        for broken in [
            &frames[..frames.len() - 3],
            &[&frames[..], b"junk"].concat(),
        ] {
            let err = decode("zstd", broken).unwrap_err();
            assert!(is_bad_encoding(&err), "{err}");
        }
        // A body of many empty frames is empty.
        let empty = zstd(b"", 12).repeat(50_000);
        assert_eq!(decode("zstd", &empty).unwrap(), b"");
    }

    #[test]
    fn a_zstd_body_without_room_for_its_window_says_so() {
        let encoded = zstd(&[7; 1000], 20);
        let all = WINDOWS.reserve(WINDOWS_AT_ONCE, None).unwrap();
        let mut body = Decoded::new(Coding::Zstd, &encoded[..], Some(Duration::ZERO));
        let err = body.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(!is_bad_encoding(&err), "{err}");
        // A frame with a small window takes no room; the larger one after it does.
        let mut frames = zstd(b"small first", 12);
        frames.extend(&encoded);
        let mut body = Decoded::new(Coding::Zstd, &frames[..], Some(Duration::ZERO));
        let mut out = Vec::new();
        let err = body.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert_eq!(out, b"small first");
        drop(all);
        let mut out = Vec::new();
        let mut body = Decoded::new(Coding::Zstd, &frames[..], Some(Duration::ZERO));
        body.read_to_end(&mut out).unwrap();
        assert_eq!(out, [&b"small first"[..], &[7; 1000]].concat());
    }

    #[test]
    fn bodies_past_the_budget_wait_for_room_as_long_as_they_may() {
        let budget: &'static Budget = Box::leak(Box::new(Budget::new(100)));
        let first = budget.reserve(60, None).unwrap();
        let err = budget.reserve(50, Some(Duration::ZERO)).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("KiB window to decode in"), "{err}");
        // Waiting without a bound: through once the first is given back.
        let (sent, got) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let second = budget.reserve(50, None).unwrap();
            sent.send(()).unwrap();
            second
        });
        let fits = budget.reserve(40, Some(Duration::ZERO)).unwrap();
        // A run that stops ends the wait, with an error readers do not retry.
        let err = budget.reserve_unless(50, None, || true).err().unwrap();
        assert!(crate::transport::was_interrupted(&err), "{err}");
        assert_ne!(err.kind(), io::ErrorKind::Interrupted);
        drop(first);
        got.recv().unwrap();
        let second = waiter.join().unwrap();
        assert_eq!(*budget.held.lock().unwrap(), 90);
        // More than the whole budget is held as all of it.
        drop((second, fits));
        let all = budget.reserve(1000, Some(Duration::ZERO)).unwrap();
        assert_eq!(*budget.held.lock().unwrap(), 100);
        drop(all);
        assert_eq!(*budget.held.lock().unwrap(), 0);
    }

    #[test]
    fn a_broken_encoding_is_told_from_a_broken_connection() {
        for header in ["gzip", "deflate", "br", "zstd"] {
            let err = decode(header, b"plainly not compressed at all").unwrap_err();
            assert!(is_bad_encoding(&err), "{header}: {err}");
        }
        // Cut short: an error, not a shorter body.
        let text = vec![b'x'; 100_000];
        for (header, body) in [
            ("gzip", gzip(&text)),
            ("deflate", zlib(&text)),
            ("br", brotli(&text)),
            ("zstd", zstd(&text, 20)),
        ] {
            let cut = &body[..body.len() - 4];
            let err = decode(header, cut).unwrap_err();
            assert!(is_bad_encoding(&err), "{header}: {err}");
        }

        // Failing in the body, and before the first byte (while flate2's gzip constructor reads
        // the header, which it reports only at the first read; and while deflate is sniffed).
        let noise: Vec<u8> = (0..100_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let encoded = [
            (Coding::Gzip, gzip(&noise)),
            (Coding::Deflate, zlib(&noise)),
            (Coding::Brotli, brotli(&noise)),
            (Coding::Zstd, zstd(&noise, 20)),
        ];
        for (coding, encoded) in &encoded {
            for ok in [20, 1, 0] {
                let mut body = Decoded::new(*coding, Failing { data: encoded, ok }, None);
                let err = body.read_to_end(&mut Vec::new()).unwrap_err();
                assert_eq!(
                    err.kind(),
                    io::ErrorKind::ConnectionReset,
                    "{coding:?} {ok}: {err}"
                );
                assert!(!is_bad_encoding(&err), "{coding:?} {ok}");
            }
        }
    }
}
