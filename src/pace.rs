//! `--rate` and `--wait`: how often a URL may start, across the whole run, as curl's `--rate`
//! and wget's `--wait` and `--random-wait` space requests out so that a server is not
//! hammered by a long list.
//!
//! Not governor, which `rate` uses for bytes: wget's random wait draws every gap anew, which a
//! GCRA quota cannot, and a start is one slot in a queue, not a budget to spend.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The start times handed out so far, shared by every worker.
#[derive(Debug)]
pub struct Pace {
    gap: Duration,
    /// wget's `--random-wait`: each gap is 0.5 to 1.5 times `gap`.
    random: bool,
    /// When the next URL may start; `None` before the first.
    next: Mutex<Option<Instant>>,
}

impl Pace {
    pub fn new(gap: Duration, random: bool) -> Self {
        Self {
            gap,
            random,
            next: Mutex::new(None),
        }
    }

    /// Waits for this URL's turn: the first starts at once, each later one a gap after the one
    /// before it, or at once when the run has been idle for longer than that (no burst makes up
    /// for lost time). `stop` (an interrupt) ends the wait.
    pub fn wait(&self, stop: &dyn Fn() -> bool) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |at| at.max(now));
            let gap = match self.random {
                true => self.gap.mul_f64(0.5 + fastrand::f64()),
                false => self.gap,
            };
            *next = Some(slot + gap);
            slot
        };
        // In pieces of at most a quarter of a second, so that an interrupt is seen.
        while !stop() {
            let left = slot.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(250)));
        }
    }
}

/// curl's `--rate` value, `N/U`: N starts per second (`s`), minute (`m`), hour (`h`) or day
/// (`d`); a bare N is per hour, as in curl. Returns the gap between starts.
pub fn parse_rate(text: &str) -> Result<Duration, String> {
    let (count, unit) = text.trim().split_once('/').unwrap_or((text.trim(), "h"));
    let per = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("`{other}` is not a unit of time (s, m, h or d)")),
    };
    let count: u32 = (count.trim().parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{text}` is not a rate (try 10/s, 60/m or 500/h)"))?;
    Ok(Duration::from_secs(per) / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_curl_reads_them() {
        assert_eq!(parse_rate("10/s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_rate("2/m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_rate("3600"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_rate("24/d"), Ok(Duration::from_secs(3600)));
        for bad in ["0/s", "x/s", "5/y", "", "/s", "-1/s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn starts_are_handed_out_a_gap_apart_and_idle_time_gives_no_burst() {
        let pace = Pace::new(Duration::from_secs(3600), false);
        let slot = |pace: &Pace| *pace.next.lock().unwrap();
        pace.wait(&|| false);
        let first = slot(&pace).unwrap();
        // A stopped wait still takes its slot, so later ones stay a gap apart.
        pace.wait(&|| true);
        assert_eq!(slot(&pace), Some(first + Duration::from_secs(3600)));
        // After an idle spell the next start is now, not a catch-up burst.
        let idle = Pace::new(Duration::from_millis(1), false);
        *idle.next.lock().unwrap() = Some(Instant::now() - Duration::from_secs(60));
        let before = Instant::now();
        idle.wait(&|| false);
        assert!(slot(&idle).unwrap() >= before + Duration::from_millis(1));
        // Random gaps stay within half and one and a half times the gap.
        let random = Pace::new(Duration::from_secs(100), true);
        random.wait(&|| false);
        let mut last = slot(&random).unwrap();
        for _ in 0..50 {
            random.wait(&|| true);
            let next = slot(&random).unwrap();
            let gap = next - last;
            assert!(gap >= Duration::from_secs(50) && gap <= Duration::from_secs(150));
            last = next;
        }
    }
}
