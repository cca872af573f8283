//! How much stack the worker threads touch, for `bench/stack` (built with the `stack-report`
//! feature only, never in a normal build): after each fetch a worker reads the resident size
//! of its own stack's mapping from `/proc/self/smaps`, and the run prints the largest at its
//! end. Pages a thread has touched stay resident until it ends, so the figure is the deepest
//! the thread has been, to the page (and the thread's own TLS block, which sits at the top).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest resident stack seen, in bytes.
static DEEPEST: AtomicUsize = AtomicUsize::new(0);

/// Notes the resident size of the calling thread's stack.
pub fn note() {
    let here = 0u8;
    let address = std::ptr::addr_of!(here) as usize;
    if let Some(resident) = resident_of(address) {
        DEEPEST.fetch_max(resident, Ordering::Relaxed);
    }
}

/// Prints the largest noted, out of `of` bytes of stack, on stderr.
pub fn report(of: usize) {
    let deepest = DEEPEST.load(Ordering::Relaxed);
    eprintln!(
        "fetchpar: deepest worker stack: {} KiB of {} KiB",
        deepest / 1024,
        of / 1024
    );
}

/// The resident bytes of the mapping that holds `address`.
fn resident_of(address: usize) -> Option<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split(' ').next().unwrap_or("");
        if let Some((low, high)) = first.split_once('-')
            && let (Ok(low), Ok(high)) = (
                usize::from_str_radix(low, 16),
                usize::from_str_radix(high, 16),
            )
        {
            inside = (low..high).contains(&address);
            continue;
        }
        if inside && let Some(rest) = line.strip_prefix("Rss:") {
            let kib: usize = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            return Some(kib * 1024);
        }
    }
    None
}
