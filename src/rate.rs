//! `--limit-rate`: one budget of bytes per second for the bodies of the whole run, all fetches
//! together, as aria2c's `--max-overall-download-limit` (curl's and wget's `--limit-rate` hold
//! each transfer to it, which for wget's one at a time is the same). The budget is governor's
//! GCRA, counted in KiB: a byte is too fine for its nanosecond clock at hundreds of MB/s.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};

/// Bytes in one unit of the budget.
const UNIT: u64 = 1024;

/// The run's download budget, shared by every worker.
#[derive(Debug)]
pub struct RateLimit {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
    /// Bytes counted so far: a read is charged the units it completes, so short reads add up
    /// exactly instead of each being rounded up to a unit.
    counted: AtomicU64,
    /// Units the budget may spend at once.
    burst: NonZeroU32,
    /// Largest read to ask for (see [`RateLimit::chunk`]).
    chunk: usize,
}

impl RateLimit {
    /// A budget of `bytes_per_second` (at least one unit), with bursts of a tenth of a second:
    /// short enough that the rate holds over any second, long enough to read in pieces of at
    /// least 16 KiB.
    pub fn new(bytes_per_second: u64) -> Self {
        let units = (bytes_per_second / UNIT).clamp(1, u64::from(u32::MAX));
        let burst = (units / 10).clamp(16, u64::from(u32::MAX));
        let per_second = NonZeroU32::new(units as u32).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst as u32).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: governor::RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(burst),
            ),
            clock: DefaultClock::default(),
            counted: AtomicU64::new(0),
            burst,
            chunk: (u64::from(burst.get()) * UNIT).min(1 << 20) as usize,
        }
    }

    /// Largest read a fetch should ask for: one burst, so that no read has to wait for more
    /// than the budget holds at once.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Waits until `n` bytes just read fit the budget; `stop` ends the wait early (an
    /// interrupt), since the bytes are already read.
    pub fn take(&self, n: usize, stop: &dyn Fn() -> bool) {
        let before = self.counted.fetch_add(n as u64, Ordering::Relaxed);
        let mut units = (before + n as u64) / UNIT - before / UNIT;
        while units > 0 {
            // A burst at most at once: the limiter refuses more outright.
            let piece = units.min(u64::from(self.burst.get()));
            let Some(cells) = NonZeroU32::new(piece as u32) else {
                return;
            };
            loop {
                match self.limiter.check_n(cells) {
                    Ok(Ok(())) => break,
                    Ok(Err(not_until)) => {
                        if stop() {
                            return;
                        }
                        sleep_a_little(not_until.wait_time_from(self.clock.now()));
                    }
                    Err(_) => return,
                }
            }
            units -= piece;
        }
    }
}

/// Sleeps for `wait`, but at most a quarter of a second, so that an interrupt is seen.
fn sleep_a_little(wait: Duration) {
    std::thread::sleep(wait.min(Duration::from_millis(250)));
}
