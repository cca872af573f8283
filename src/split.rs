//! Segmented downloads (`--split`, aria2c's `-s`/`-x`): how one body is shared out as byte
//! ranges between the connection that asked for it and helper connections, who holds which
//! range, and how much of the file is whole from its start.
//!
//! The first connection reads its answer from the start; each helper asks for one later range
//! of its own. A range nobody has claimed when the first connection reaches it is read by that
//! connection instead (so a server that says it takes ranges but does not, or refuses more
//! connections, costs nothing), and what a helper left unfinished is asked for again afterwards.

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

    pub fn count(&self) -> usize {
        self.owner.len()
    }

    /// Where segment `i` starts in the body, and where the next one starts.
    pub fn range(&self, i: usize) -> (u64, u64) {
        (self.bounds[i], self.bounds[i + 1])
    }

    /// The first connection, at the start of segment `i`: whether it reads on into it (no
    /// helper has claimed it) or stops.
    pub fn first_takes(&self, i: usize) -> bool {
        let taken =
            self.owner[i].compare_exchange(OPEN, FIRST, Ordering::AcqRel, Ordering::Acquire);
        matches!(taken, Ok(_) | Err(FIRST))
    }

    /// A helper with a good range answer for segment `i`: whether it is still its to read.
    pub fn helper_takes(&self, i: usize) -> bool {
        (self.owner[i].compare_exchange(OPEN, HELPER, Ordering::AcqRel, Ordering::Acquire)).is_ok()
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

    /// How far from the body's first byte the file is whole: the length a part file can be cut
    /// to and resumed from.
    pub fn whole_to(&self) -> u64 {
        let mut whole = self.bounds[0];
        for i in 0..self.count() {
            whole = self.next_byte(i);
            if whole < self.bounds[i + 1] {
                break;
            }
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_whole_prefix_stops_at_the_first_gap() {
        let s = Segments::plan(0, 40, 4, 10).unwrap();
        assert_eq!(s.whole_to(), 0);
        s.wrote(0, 10);
        s.wrote(1, 4);
        s.wrote(2, 10);
        assert_eq!(s.whole_to(), 14);
        assert_eq!(s.gaps(), [(1, 14, 20), (3, 30, 40)]);
        s.wrote(1, 6);
        s.wrote(3, 10);
        assert_eq!(s.whole_to(), 40);
        assert!(s.gaps().is_empty());
        // A resumed body starts where its part ended.
        let s = Segments::plan(15, 40, 2, 10).unwrap();
        assert_eq!(s.whole_to(), 15);
        assert_eq!(s.gaps(), [(0, 15, 28), (1, 28, 40)]);
    }
}
