//! Decoding a gzip-encoded body that is shown rather than saved, and telling a body whose
//! encoding is broken apart from a connection that failed under it.

use std::io::{self, Read};

/// Whether a `Content-Encoding` value is gzip (`x-gzip` is its old name, RFC 9110 8.4.1.3).
pub fn is_gzip(content_encoding: &str) -> bool {
    let coding = content_encoding.trim();
    coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip")
}

/// A body that is not the gzip its header says it is. Its own type so the fetcher can report
/// kind `protocol` rather than a failed connection.
#[derive(Debug, thiserror::Error)]
#[error("the body is not valid gzip: {0}")]
pub struct BadEncoding(io::Error);

/// Reads a gzip body decoded (every member, as `gzip -d` does). An error of the reader under
/// it comes out as it was; an error of the decoding itself comes out wrapping [`BadEncoding`].
pub struct Gunzip<R: Read> {
    decoder: flate2::read::MultiGzDecoder<Watched<R>>,
    /// The reader under the decoder failed while flate2's constructor read the gzip header:
    /// flate2 keeps that error and returns it from the first read, where it would otherwise be
    /// taken for the decoder's own (a stall before the first byte reported as "not valid gzip").
    failed_early: bool,
}

impl<R: Read> Gunzip<R> {
    /// Never inlined: flate2's constructor has a 56 KiB stack frame, and inlined into the fetch
    /// it made every fetch touch 14 more pages of its thread's stack, gzip or not: 20 MiB more
    /// peak memory on 2,000 small files at 384 threads (49 against 29 MiB).
    #[inline(never)]
    pub fn new(body: R) -> Self {
        let decoder = flate2::read::MultiGzDecoder::new(Watched {
            inner: body,
            failed: false,
        });
        let failed_early = decoder.get_ref().failed;
        Self {
            decoder,
            failed_early,
        }
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let failed_early = std::mem::take(&mut self.failed_early);
        self.decoder.get_mut().failed = false;
        self.decoder.read(buf).map_err(|err| {
            if failed_early || self.decoder.get_ref().failed {
                err
            } else {
                io::Error::new(io::ErrorKind::InvalidData, BadEncoding(err))
            }
        })
    }
}

/// The reader under the decoder, noting whether its last read failed.
struct Watched<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        self.failed = result.is_err();
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

    #[test]
    fn concatenated_members_decode_as_one_body() {
        let mut both = gzip(b"first ");
        both.extend(gzip(b"second"));
        let mut out = String::new();
        Gunzip::new(&both[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, "first second");
    }

    #[test]
    fn a_broken_encoding_is_told_from_a_broken_connection() {
        let err = Gunzip::new(&b"plainly not gzip"[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(
            err.get_ref().is_some_and(|e| e.is::<BadEncoding>()),
            "{err}"
        );

        // Failing in the body, and before the first byte (while flate2's constructor reads the
        // header, which it reports only at the first read).
        let encoded = gzip(&[7; 100_000]);
        for ok in [20, 0] {
            let mut body = Gunzip::new(Failing { data: &encoded, ok });
            let err = body.read_to_end(&mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{ok}: {err}");
            assert!(err.get_ref().is_none_or(|e| !e.is::<BadEncoding>()));
        }
    }

    #[test]
    fn gzip_is_known_by_either_name_in_any_case() {
        assert!(is_gzip("gzip"));
        assert!(is_gzip(" X-GZIP "));
        assert!(!is_gzip("br"));
        assert!(!is_gzip("gzip, br"));
    }
}
