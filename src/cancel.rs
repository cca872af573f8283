//! Stopping early: the first Ctrl-C (SIGINT) or SIGTERM, or the first failure under
//! `--fail-early`, asks the run to stop starting and to cut fetches short, so results so far are
//! still printed; a second signal exits at once.

use std::sync::atomic::{AtomicU8, Ordering};

/// Why the run stops: nothing yet, a signal, or a failure under `--fail-early`. One value, so
/// the many places that only need "stop?" read one atomic, as they did a flag.
static STOP: AtomicU8 = AtomicU8::new(RUNNING);
const RUNNING: u8 = 0;
const INTERRUPTED: u8 = 1;
const FAILED_EARLY: u8 = 2;

/// Exit code for an interrupted run, as shells report SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A folder of the run's own that the exit at a second signal removes, as the run would have
/// at its end (`-o -`'s bodies waiting for their turn).
static SCRATCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Installs the signal handler. Failing to install it only loses the graceful stop.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        // A signal after a --fail-early stop still makes the run an interrupted one; a second
        // signal ends the process.
        if STOP.swap(INTERRUPTED, Ordering::SeqCst) == INTERRUPTED {
            if let Some(folder) = SCRATCH.get() {
                let _ = std::fs::remove_dir_all(folder);
            }
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// Has the exit at a second signal remove `folder` (only the first one given).
pub fn remove_at_exit(folder: &std::path::Path) {
    let _ = SCRATCH.set(folder.to_path_buf());
}

/// Whether the run has been asked to stop, for whatever reason.
pub fn requested() -> bool {
    STOP.load(Ordering::Relaxed) != RUNNING
}

/// Whether the run was stopped by a signal (exit code 130), not by `--fail-early`.
pub fn interrupted() -> bool {
    STOP.load(Ordering::Relaxed) == INTERRUPTED
}

/// Stops the run because a URL failed under `--fail-early`, unless it is already stopping.
pub fn fail_early() {
    let _ = STOP.compare_exchange(RUNNING, FAILED_EARLY, Ordering::SeqCst, Ordering::SeqCst);
}

/// What stopped the run, for the messages of the fetches it cut short ("not started: ...",
/// "... while downloading").
pub fn why() -> &'static str {
    match STOP.load(Ordering::Relaxed) {
        FAILED_EARLY => "stopped by --fail-early",
        _ => "interrupted",
    }
}

/// An error that ends the run because the user stopped it before it began (Ctrl-C at the
/// passphrase prompt): the exit code is 130, as for a run cut short.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Whether the run was interrupted: by a signal, or by `err` being an [`Interrupted`] one.
pub fn ended_by(err: &anyhow::Error) -> bool {
    interrupted() || err.chain().any(|cause| cause.is::<Interrupted>())
}
