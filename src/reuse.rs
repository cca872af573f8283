//! Which connections are worth keeping for reuse: only those to an origin the run has fetched
//! from before.
//!
//! Why: ureq's pool does work for every connection taken or given back, under its one lock,
//! that grows with the square of the number of different hosts idle in it (it recounts each
//! host's idle connections by walking the whole list once per host). On a list of 20,000 URLs
//! on as many hosts no connection is ever reused, yet a quarter of the CPU went to that
//! bookkeeping. A connection to an origin seen for the first time is closed after its body
//! instead; a list on one host loses one connection to it, the first to finish.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

/// Bits in the set: 128 KiB, whatever the list's size. Two origins that share a bit make the
/// second look seen, which only means its connection is offered to the pool, as every
/// connection was before this existed.
const BITS: usize = 1 << 20;

/// The origins fetched from so far, as a fixed-size bit set of their hashes.
#[derive(Debug)]
pub struct SeenOrigins {
    bits: Box<[AtomicU64]>,
    hasher: RandomState,
}

impl Default for SeenOrigins {
    fn default() -> Self {
        Self {
            bits: (0..BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl SeenOrigins {
    /// Notes `url`'s origin (scheme, host and port) and says whether it had been noted before.
    pub fn note(&self, url: &Url) -> bool {
        let origin = (url.scheme(), url.host_str(), url.port_or_known_default());
        let bit = self.hasher.hash_one(origin) as usize % BITS;
        let mask = 1u64 << (bit % 64);
        self.bits[bit / 64].fetch_or(mask, Ordering::Relaxed) & mask != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_new_once() {
        let seen = SeenOrigins::default();
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(!seen.note(&url("http://a.test/x")));
        assert!(seen.note(&url("http://a.test/y?z")));
        assert!(seen.note(&url("http://a.test:80/")));
        // Another port, scheme or host is another origin.
        assert!(!seen.note(&url("http://a.test:8080/")));
        assert!(!seen.note(&url("https://a.test/")));
        assert!(!seen.note(&url("http://b.test/")));
    }
}
