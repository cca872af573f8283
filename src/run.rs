//! Runners: the sequential loop and the threaded run (one OS thread per URL up to the job cap,
//! after which the threads pull further jobs from a channel). Both hand every outcome to the
//! one [`Reporter`] owned by the calling thread, and both account for every job exactly once.

use std::collections::HashMap;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use crate::cancel;
use crate::fetch::Fetcher;
use crate::links::Job;
use crate::outcome::{ErrorKind, Failure, Outcome};
use crate::report::{Reporter, Tally};

/// Stack for worker threads. A fetch (TLS included) needs far less than the 2 MiB default, and
/// smaller stacks make spawning hundreds of threads cheaper.
const WORKER_STACK: usize = 512 * 1024;

/// How long, after an interrupt, the main thread waits for fetches in flight to report before
/// it reports them as cancelled itself. Body reads notice the interrupt within one read; a
/// fetch still waiting for a response head cannot, so it is not waited for.
const CANCEL_GRACE: Duration = Duration::from_secs(1);

/// How often a waiting main thread looks at the interrupt flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// Fetches the jobs one after another on this thread.
pub fn sequential<W: Write>(
    jobs: impl Iterator<Item = Job>,
    fetcher: &Fetcher,
    report: &mut Reporter<W>,
) -> io::Result<Tally> {
    let start = Instant::now();
    for mut job in jobs {
        fetcher.prepare(&mut job);
        let outcome = fetch_guarded(fetcher, &job);
        report.record(outcome)?;
        report.flush()?;
    }
    report.finish(start.elapsed())
}

enum Message {
    /// A job was handed out; its stub stands in for it if no result ever comes.
    // Boxed: outcomes are large and the channel holds many messages under load.
    Queued(Box<Outcome>),
    Done(Box<Outcome>),
    /// The input is exhausted after this many jobs.
    InputEnd(usize),
}

/// Fetches the jobs on worker threads: a new thread for each job until `cap` threads exist,
/// then the existing threads take the remaining jobs from a channel.
pub fn threaded<W: Write>(
    jobs: Box<dyn Iterator<Item = Job> + Send>,
    fetcher: Arc<Fetcher>,
    cap: usize,
    report: &mut Reporter<W>,
) -> io::Result<Tally> {
    let start = Instant::now();
    let (result_tx, result_rx) = unbounded::<Message>();
    thread::Builder::new()
        .name("fetchpar-input".into())
        .spawn(move || dispatch(jobs, fetcher, cap.max(1), result_tx))?;

    // Jobs handed out and not yet reported, so none can be lost or waited for forever.
    let mut pending: HashMap<usize, Box<Outcome>> = HashMap::new();
    let mut received = 0usize;
    let mut expected: Option<usize> = None;
    let mut grace_until: Option<Instant> = None;
    while expected != Some(received) {
        let message = if cancel::requested() {
            let deadline = *grace_until.get_or_insert_with(|| Instant::now() + CANCEL_GRACE);
            match result_rx.recv_deadline(deadline) {
                Ok(message) => message,
                Err(_) => break,
            }
        } else {
            match result_rx.recv_timeout(CANCEL_POLL) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        match message {
            Message::Queued(stub) => {
                pending.insert(stub.id, stub);
            }
            Message::Done(outcome) => {
                pending.remove(&outcome.id);
                received += 1;
                report.record(*outcome)?;
                if result_rx.is_empty() {
                    report.flush()?;
                }
            }
            Message::InputEnd(total) => expected = Some(total),
        }
    }
    // Whatever is still pending gets its one result here: cancelled after an interrupt, or a
    // worker failure if its thread vanished without reporting.
    let mut left: Vec<Box<Outcome>> = pending.into_values().collect();
    left.sort_by_key(|o| o.id);
    for mut stub in left {
        stub.error = Some(if cancel::requested() {
            Failure::new(ErrorKind::Cancelled, "interrupted before it finished")
        } else {
            Failure::new(
                ErrorKind::Worker,
                "the worker thread ended without reporting",
            )
        });
        report.record(*stub)?;
    }
    report.finish(start.elapsed())
}

/// Reads the input and hands out jobs, spawning workers while under the cap.
fn dispatch(
    jobs: Box<dyn Iterator<Item = Job> + Send>,
    fetcher: Arc<Fetcher>,
    cap: usize,
    results: Sender<Message>,
) {
    // Bounded so a huge list read from a pipe is not held in memory ahead of the workers.
    let (job_tx, job_rx) = bounded::<Job>(cap);
    let mut workers = 0usize;
    let mut spawning = true;
    let mut total = 0usize;
    for mut job in jobs {
        total += 1;
        let stub = Outcome::new(&job, Duration::ZERO);
        if cancel::requested() {
            let mut outcome = stub;
            outcome.error = Some(Failure::new(
                ErrorKind::Cancelled,
                "not started: interrupted",
            ));
            let _ = results.send(Message::Done(Box::new(outcome)));
            continue;
        }
        fetcher.prepare(&mut job);
        let _ = results.send(Message::Queued(Box::new(stub)));
        if spawning && workers < cap {
            let (fetcher, rx, tx) = (Arc::clone(&fetcher), job_rx.clone(), results.clone());
            let first = job.clone();
            let spawned = thread::Builder::new()
                .name("fetchpar-worker".into())
                .stack_size(WORKER_STACK)
                .spawn(move || worker(first, rx, tx, fetcher));
            match spawned {
                Ok(_) => {
                    workers += 1;
                    continue;
                }
                // Out of threads: stop growing and let the ones we have share the work.
                Err(_) => spawning = false,
            }
        }
        if workers == 0 {
            // Not even one worker could start: fetch here rather than lose the job.
            let _ = results.send(Message::Done(Box::new(fetch_guarded(&fetcher, &job))));
        } else if let Err(crossbeam_channel::SendError(job)) = job_tx.send(job) {
            let failure = Failure::new(ErrorKind::Worker, "no worker thread left to fetch it");
            let outcome = Outcome::failed(&job, Duration::ZERO, failure);
            let _ = results.send(Message::Done(Box::new(outcome)));
        }
    }
    drop(job_tx);
    let _ = results.send(Message::InputEnd(total));
}

fn worker(first: Job, jobs: Receiver<Job>, results: Sender<Message>, fetcher: Arc<Fetcher>) {
    for job in std::iter::once(first).chain(jobs.iter()) {
        if results
            .send(Message::Done(Box::new(fetch_guarded(&fetcher, &job))))
            .is_err()
        {
            // The receiver is gone (output closed): nothing left to report to.
            return;
        }
    }
}

/// Fetches one job; a panic inside becomes a failed outcome for that job, so the run still
/// gets exactly one result for it and the thread lives on to fetch others.
fn fetch_guarded(fetcher: &Fetcher, job: &Job) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| fetcher.fetch(job))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let failure = Failure::new(ErrorKind::Worker, format!("worker panicked: {why}"));
            Outcome::failed(job, Duration::ZERO, failure)
        }
    }
}
