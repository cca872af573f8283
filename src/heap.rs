//! How the C library's malloc hands large blocks back: set once, before any thread starts.

/// Blocks this large or larger are mapped for each allocation and unmapped when freed; smaller
/// ones stay in the heap, where mapping each afresh would cost their page faults every time.
const MAPPED_FROM: i32 = 1024 * 1024;

/// How much free memory at the top of a heap is kept rather than given back.
const KEPT_AT_TOP: i32 = 32 * 1024 * 1024;

/// Makes every block of 1 MiB or more go back to the system as soon as it is freed. Left to
/// itself, glibc raises its mapping threshold to the size of the largest mapped block freed so
/// far (up to 32 MiB), and from then on serves blocks that size from the heaps of its per-thread
/// arenas, which keep them when freed: the windows of `--compressed` bodies (up to 8 MiB for
/// zstd, 16 MiB for brotli) stayed behind in the arenas of the threads that had decoded them,
/// and 100 zstd bombs peaked at 310-471 MB where the windows held at once are bounded to
/// 256 MiB (`decode.rs`); with this, 201-273 MB. Setting the threshold turns the adjustment off
/// for the trim threshold too, which then stays at 128 KiB and gives back the top of a heap
/// over and over as blocks under 1 MiB come and go (400 zstd bodies with 165 KiB windows took
/// 9% longer); it is set to 32 MiB, where glibc's own adjustment takes it once a 16 MiB block
/// is freed.
pub fn give_large_blocks_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters; it is called before any thread
    // of fetchpar's starts, and glibc takes its own lock for it anyway.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAPPED_FROM);
        libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_AT_TOP);
    }
}
