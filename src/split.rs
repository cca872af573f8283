//! Segmented downloads (`--split`, aria2c's `-s`/`-x`): how one body is shared out as byte
//! ranges between the connection that asked for it and helper connections, who holds which
//! range, and how much of the file is whole from its start.
//!
//! The first connection reads its answer from the start; each helper asks for one later range
//! of its own. A range nobody has claimed when the first connection reaches it is read by that
//! connection instead (so a server that says it takes ranges but does not, or refuses more
//! connections, costs nothing), and what a helper left unfinished is asked for again afterwards.
//!
//! A split that does not finish is written down (see [`Segments::state`]) beside its part, so
//! that `-c` or a retry asks only for what is missing of each range.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// Nobody reads the segment yet.
const OPEN: u8 = 0;
/// The first connection reads it, as part of its answer.
const FIRST: u8 = 1;
/// A helper has a range answer for it.
const HELPER: u8 = 2;

/// The ranges one body is split into, and how far each has been written.
pub struct Segments {
    /// Segment `i` is bytes `bounds[i]..bounds[i + 1]` of the body.
    bounds: Vec<u64>,
    owner: Vec<AtomicU8>,
    written: Vec<AtomicU64>,
}

/// The first line of a split's state, naming its format.
const STATE_HEADER: &str = "fetchpar split state 1";

/// Most segments a state holds.
const MAX_SEGMENTS: usize = 64;

impl Segments {
    /// Splits bytes `from..total` into at most `split` segments of at least `min` bytes each;
    /// `None` when fewer than two would come of it.
    pub fn plan(from: u64, total: u64, split: usize, min: u64) -> Option<Self> {
        let left = total.checked_sub(from)?;
        let count = (split as u64).min(left / min.max(1));
        if count < 2 {
            return None;
        }
        let each = left.div_ceil(count);
        let mut bounds: Vec<u64> = (0..count).map(|i| from + i * each).collect();
        bounds.push(total);
        let count = count as usize;
        Some(Self {
            bounds,
            owner: (0..count)
                .map(|i| AtomicU8::new(if i == 0 { FIRST } else { OPEN }))
                .collect(),
            written: (0..count).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// A split taken up again from its [`Segments::state`]: the bounds and bytes written it
    /// records, and the validator the body was first asked with. `None` for a state that is
    /// not one (another format, ranges that do not follow each other, more written than fits).
    /// Every segment belongs to whoever asks for its missing bytes by a range of its own: the
    /// first answer is then of one range too, and reads on into no other.
    pub fn from_state(text: &str) -> Option<(Self, Option<String>)> {
        let mut lines = text.lines();
        if lines.next()? != STATE_HEADER {
            return None;
        }
        let validator = lines.next()?.strip_prefix("validator ")?;
        let validator = (!validator.is_empty()).then(|| validator.to_string());
        let mut bounds = Vec::new();
        let mut written = Vec::new();
        for line in lines {
            let mut numbers = line.split(' ').map(|n| n.parse::<u64>().ok());
            let (Some(Some(start)), Some(Some(end)), Some(Some(done)), None) = (
                numbers.next(),
                numbers.next(),
                numbers.next(),
                numbers.next(),
            ) else {
                return None;
            };
            let follows = bounds.last().is_none_or(|&last| last == start);
            if !follows || start >= end || done > end - start {
                return None;
            }
            if bounds.is_empty() {
                bounds.push(start);
            }
            bounds.push(end);
            written.push(AtomicU64::new(done));
        }
        if written.is_empty() || written.len() > MAX_SEGMENTS {
            return None;
        }
        let owner = (0..written.len()).map(|_| AtomicU8::new(HELPER)).collect();
        let segments = Self {
            bounds,
            owner,
            written,
        };
        Some((segments, validator))
    }

    /// A body of `total` bytes of which the byte ranges `done` (in order, none overlapping)
    /// are written, by another program (aria2c, see [`crate::aria2`]): a segment for each
    /// written range and the gap after it, and one for a gap at the start. Past
    /// [`MAX_SEGMENTS`], only the longest written ranges are kept as written; the others are
    /// asked for again. `None` when nothing is written or nothing is missing.
    pub fn from_done(total: u64, done: &[(u64, u64)]) -> Option<Self> {
        let mut kept: Vec<(u64, u64)> = (done.iter().copied())
            .filter(|&(start, end)| start < end && end <= total)
            .collect();
        if kept.len() >= MAX_SEGMENTS {
            kept.sort_by_key(|&(start, end)| std::cmp::Reverse(end - start));
            kept.truncate(MAX_SEGMENTS - 1);
            kept.sort_unstable();
        }
        let whole = kept.iter().map(|(start, end)| end - start).sum::<u64>();
        if kept.is_empty() || whole >= total {
            return None;
        }
        let mut bounds = Vec::new();
        let mut written = Vec::new();
        if kept[0].0 > 0 {
            bounds.push(0);
            written.push(AtomicU64::new(0));
        }
        for &(start, end) in &kept {
            bounds.push(start);
            written.push(AtomicU64::new(end - start));
        }
        bounds.push(total);
        let owner = (0..written.len()).map(|_| AtomicU8::new(HELPER)).collect();
        Some(Self {
            bounds,
            owner,
            written,
        })
    }

    /// What [`Segments::from_state`] reads back: the validator, and each segment's bounds and
    /// bytes written, one per line.
    pub fn state(&self, validator: Option<&str>) -> String {
        let mut text = format!("{STATE_HEADER}\nvalidator {}\n", validator.unwrap_or(""));
        for i in 0..self.count() {
            let (start, end) = self.range(i);
            let done = self.written[i].load(Ordering::Acquire);
            text.push_str(&format!("{start} {end} {done}\n"));
        }
        text
    }

    /// Whether nothing has been written to any segment.
    pub fn untouched(&self) -> bool {
        (self.written.iter()).all(|w| w.load(Ordering::Acquire) == 0)
    }

    /// How long the part must be for what this says was written to be in it.
    pub fn extent(&self) -> u64 {
        (0..self.count())
            .filter(|&i| self.written[i].load(Ordering::Acquire) > 0)
            .map(|i| self.next_byte(i))
            .fold(self.bounds[0], u64::max)
    }

    /// Where the whole body ends.
    pub fn total(&self) -> u64 {
        self.bounds[self.count()]
    }

    pub fn count(&self) -> usize {
        self.owner.len()
    }

    /// Where segment `i` starts in the body, and where the next one starts.
    pub fn range(&self, i: usize) -> (u64, u64) {
        (self.bounds[i], self.bounds[i + 1])
    }

    /// The first connection, at the start of segment `i`: whether it reads on into it (no
    /// helper has claimed it, and the split is not taken up again from its state) or stops.
    pub fn first_takes(&self, i: usize) -> bool {
        let taken =
            self.owner[i].compare_exchange(OPEN, FIRST, Ordering::AcqRel, Ordering::Acquire);
        matches!(taken, Ok(_) | Err(FIRST))
    }

    /// A helper with a good range answer for segment `i`: whether it is still its to read
    /// (the first connection has not reached it; in a split taken up again, it never does).
    pub fn helper_takes(&self, i: usize) -> bool {
        let taken =
            self.owner[i].compare_exchange(OPEN, HELPER, Ordering::AcqRel, Ordering::Acquire);
        matches!(taken, Ok(_) | Err(HELPER))
    }

    /// Counts bytes written to segment `i`, from its start on.
    pub fn wrote(&self, i: usize, n: u64) {
        self.written[i].fetch_add(n, Ordering::AcqRel);
    }

    /// Where the next byte of segment `i` goes, in the body.
    pub fn next_byte(&self, i: usize) -> u64 {
        self.bounds[i] + self.written[i].load(Ordering::Acquire)
    }

    /// The parts of segments still missing, in order: `(segment, first byte, end)`.
    pub fn gaps(&self) -> Vec<(usize, u64, u64)> {
        (0..self.count())
            .map(|i| (i, self.next_byte(i), self.bounds[i + 1]))
            .filter(|(_, next, end)| next < end)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_another_program_wrote_become_segments_with_their_gaps() {
        let s = Segments::from_done(100, &[(10, 20), (20, 30), (50, 60)]).unwrap();
        let state = s.state(None);
        assert_eq!(
            state,
            "fetchpar split state 1\nvalidator \n0 10 0\n10 20 10\n20 50 10\n50 100 10\n"
        );
        let (back, validator) = Segments::from_state(&state).unwrap();
        assert_eq!(validator, None);
        assert_eq!(back.gaps(), [(0, 0, 10), (2, 30, 50), (3, 60, 100)]);
        assert!(Segments::from_done(100, &[]).is_none(), "nothing written");
        assert!(
            Segments::from_done(100, &[(0, 100)]).is_none(),
            "nothing missing"
        );
        // More ranges than a state holds: the longest are kept, the others asked for again.
        let many: Vec<(u64, u64)> = (0..100).map(|i| (i * 10, i * 10 + 1 + i % 3)).collect();
        let s = Segments::from_done(1000, &many).unwrap();
        assert!(s.count() <= MAX_SEGMENTS);
        assert!(Segments::from_state(&s.state(None)).is_some());
        let written: u64 = (0..s.count()).map(|i| s.next_byte(i) - s.range(i).0).sum();
        assert_eq!(
            written,
            33 * 3 + 30 * 2,
            "the 63 longest: all 33 of 3 bytes, 30 of 2"
        );
    }

    #[test]
    fn a_body_is_split_evenly_and_never_below_the_smallest_segment() {
        let s = Segments::plan(0, 100, 4, 10).unwrap();
        assert_eq!(s.count(), 4);
        assert_eq!(
            (0..4).map(|i| s.range(i)).collect::<Vec<_>>(),
            [(0, 25), (25, 50), (50, 75), (75, 100)]
        );
        // 35 bytes left of 100 make 3 segments of at least 10, not 4.
        let s = Segments::plan(65, 100, 4, 10).unwrap();
        assert_eq!(
            (0..3).map(|i| s.range(i)).collect::<Vec<_>>(),
            [(65, 77), (77, 89), (89, 100)]
        );
        assert!(Segments::plan(0, 19, 4, 10).is_none());
        assert!(Segments::plan(0, 100, 1, 10).is_none());
        assert!(Segments::plan(200, 100, 4, 10).is_none());
    }

    #[test]
    fn the_first_connection_reads_on_into_segments_no_helper_has() {
        let s = Segments::plan(0, 40, 4, 10).unwrap();
        assert!(s.helper_takes(2));
        assert!(s.first_takes(0));
        assert!(s.first_takes(1));
        // A helper too late for segment 1, and the first connection stopped by segment 2.
        assert!(!s.helper_takes(1));
        assert!(!s.first_takes(2));
        assert!(s.first_takes(3));
        assert!(!s.helper_takes(3));
    }

    #[test]
    fn a_split_is_taken_up_again_from_its_state_with_nothing_to_steal() {
        let s = Segments::plan(10, 50, 4, 10).unwrap();
        s.wrote(0, 10);
        s.wrote(1, 3);
        s.wrote(3, 7);
        let text = s.state(Some("\"etag\""));
        let (back, validator) = Segments::from_state(&text).unwrap();
        assert_eq!(validator.as_deref(), Some("\"etag\""));
        assert_eq!(back.state(Some("\"etag\"")), text);
        assert_eq!(back.total(), 50);
        assert_eq!(back.gaps(), [(1, 23, 30), (2, 30, 40), (3, 47, 50)]);
        // Every range is asked for on its own: the first answer reads on into none.
        assert!(!back.first_takes(2));
        assert!(back.helper_takes(2));
        assert_eq!(back.extent(), 47);
        assert!(!back.untouched());
        let fresh = Segments::plan(10, 50, 4, 10).unwrap();
        assert_eq!((fresh.extent(), fresh.untouched()), (10, true));
        let (_, none) = Segments::from_state(&s.state(None)).unwrap();
        assert!(none.is_none());
        for bad in [
            "",
            "fetchpar split state 2\nvalidator \n0 10 0\n",
            "fetchpar split state 1\nvalidator \n",
            "fetchpar split state 1\nvalidator \n0 10 11\n",
            "fetchpar split state 1\nvalidator \n0 10 0\n11 20 0\n",
            "fetchpar split state 1\nvalidator \n0 10 0 4\n",
            "fetchpar split state 1\nvalidator \n10 10 0\n",
        ] {
            assert!(Segments::from_state(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn gaps_are_what_each_segment_still_misses() {
        let s = Segments::plan(0, 40, 4, 10).unwrap();
        assert_eq!(s.gaps().len(), 4);
        s.wrote(0, 10);
        s.wrote(1, 4);
        s.wrote(2, 10);
        assert_eq!(s.gaps(), [(1, 14, 20), (3, 30, 40)]);
        s.wrote(1, 6);
        s.wrote(3, 10);
        assert!(s.gaps().is_empty());
        // A body resumed from a part starts where the part ended.
        let s = Segments::plan(15, 40, 2, 10).unwrap();
        assert_eq!(s.gaps(), [(0, 15, 28), (1, 28, 40)]);
    }
}
