//! Interruption: the first Ctrl-C (SIGINT) or SIGTERM asks the run to stop starting and to cut
//! fetches short, so results so far are still printed; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Exit code for an interrupted run, as shells report SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Installs the signal handler. Failing to install it only loses the graceful stop.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if CANCELLED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// Whether the run has been asked to stop.
pub fn requested() -> bool {
    CANCELLED.load(Ordering::Relaxed)
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
    requested() || err.chain().any(|cause| cause.is::<Interrupted>())
}
