//! The open-file allowance: raising the soft limit, and growing the descriptor table while the
//! process still has one thread.

/// Raises the soft open-file limit as far as the hard one allows; returns the limit now in
/// force, or `None` if it cannot be read.
pub fn raise_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Grows the descriptor table to hold descriptors numbered up to `count` (within the limit).
/// Call it before starting threads. The kernel grows the table by doubling as descriptors open,
/// and once other threads share it every doubling waits for an RCU grace period: started with
/// only stdio open (by a Python script, say), 100 URLs took ~8 ms longer, spent in those waits.
pub fn reserve(count: u64) {
    let Some(limit) = raise_limit() else {
        return;
    };
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return;
    };
    // A descriptor with that number makes the table that large; it stays so after closing.
    if let Ok(high) = i32::try_from(count.min(limit.saturating_sub(1))) {
        let _ = rustix::io::fcntl_dupfd_cloexec(&null, high);
    }
}
