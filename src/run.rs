//! Runners: the sequential loop and the threaded run (one OS thread per URL up to the job cap,
//! after which the threads take further jobs from the shared input themselves). Both hand every
//! outcome to the one [`Reporter`] owned by the calling thread, and both account for every job
//! exactly once.

use std::collections::HashMap;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};

use crate::cancel;
use crate::fetch::Fetcher;
use crate::links::Job;
use crate::outcome::{ErrorKind, Failure, Outcome};
use crate::report::{Reporter, Tally};

/// Stack for worker threads. A fetch (TLS included) needs far less than the 2 MiB default, and
/// smaller stacks make spawning hundreds of threads cheaper.
pub const WORKER_STACK: usize = 512 * 1024;

/// How long, after an interrupt, the main thread waits for the next result before it reports
/// what is still in flight as cancelled itself. Body reads notice the interrupt within one
/// read; a fetch still waiting for a response head cannot, so it is not waited for.
const CANCEL_GRACE: Duration = Duration::from_secs(1);

/// How often a waiting main thread looks at the interrupt flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// When a run stops starting URLs before its list ends, besides an interrupt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stops {
    /// `--fail-early`: the first failure stops the run (see [`stop_on_failure`]).
    pub fail_early: bool,
    /// `--quota`: once more body bytes than this have come in, no URL starts; those under
    /// way finish.
    pub quota: Option<u64>,
}

impl Stops {
    /// Why a URL is not started after `received` bytes, if the quota says so.
    fn over_quota(&self, received: u64) -> Option<String> {
        let quota = self.quota.filter(|&q| received > q)?;
        Some(format!(
            "not started: the --quota of {} was used up",
            crate::report::human_bytes(quota)
        ))
    }
}

/// Fetches the jobs one after another on this thread.
pub fn sequential<W: Write>(
    jobs: impl Iterator<Item = Job>,
    fetcher: &Fetcher,
    report: &mut Reporter<W>,
    stops: Stops,
) -> io::Result<Tally> {
    let start = Instant::now();
    let mut received = 0u64;
    for mut job in jobs {
        let outcome = match stops.over_quota(received) {
            Some(why) => not_started(&job, why),
            None => match prepare_guarded(fetcher, &mut job) {
                Ok(()) => fetch_guarded(fetcher, &job),
                Err(failed) => *failed,
            },
        };
        received = received.saturating_add(outcome.bytes);
        stop_on_failure(stops.fail_early, &outcome);
        report.record(outcome)?;
        report.flush()?;
    }
    report.finish(start.elapsed())
}

enum Message {
    // Boxed: outcomes are large and the channel holds many messages under load.
    Done(Box<Outcome>),
    /// The input is exhausted after this many jobs.
    InputEnd(usize),
}

/// Fetches the jobs on worker threads: a new thread for each job until `cap` threads exist,
/// then the existing threads take the remaining jobs from the input as they finish. With a
/// `window`, no job starts `window` or more places after the oldest one still running (so a
/// reporter holding results for input order holds fewer than that). The workers outlive the
/// call, parked until the process exits (see [`linger`]): call it once per process, as the
/// command line does.
pub fn threaded<W: Write>(
    jobs: Box<dyn Iterator<Item = Job> + Send>,
    fetcher: Arc<Fetcher>,
    cap: usize,
    window: Option<usize>,
    report: &mut Reporter<W>,
    stops: Stops,
) -> io::Result<Tally> {
    let start = Instant::now();
    // Bounded, so a main thread that prints slower than the workers fetch (a list of 20,000
    // tiny files) holds them back instead of piling up results: unbounded, the backlog added
    // ~10 MiB to that run's peak memory and made it no faster.
    let (result_tx, result_rx) = bounded::<Message>(cap.max(1));
    let feed = Arc::new(Feed {
        state: Mutex::new(FeedState {
            jobs,
            read: 0,
            ended: false,
            starting: true,
            floor: 0,
        }),
        started: Condvar::new(),
        pending: Mutex::new(HashMap::new()),
        window: window.unwrap_or(usize::MAX),
        done: Mutex::new(0),
        advanced: Condvar::new(),
        waiting: AtomicBool::new(false),
        stops,
        received: AtomicU64::new(0),
    });
    let ledger = Arc::clone(&feed);
    thread::Builder::new()
        .name("fetchpar-input".into())
        .spawn(move || start_workers(feed, fetcher, cap.max(1), result_tx))?;

    let mut received = 0usize;
    let mut expected: Option<usize> = None;
    let mut grace_until: Option<Instant> = None;
    while expected != Some(received) {
        let message = if cancel::requested() {
            let deadline = *grace_until.get_or_insert_with(|| Instant::now() + CANCEL_GRACE);
            match result_rx.recv_deadline(deadline) {
                // The grace runs from the last result: the input thread reports the rest of
                // the list as not started, a fetch in flight ends within a read, and a stop
                // only when nothing more comes for a second (a fetch stuck before its answer,
                // or a pipe that stays open with nothing in it) loses no line already there.
                Ok(message) => {
                    grace_until = None;
                    message
                }
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
            Message::Done(outcome) => {
                ledger.pending().remove(&outcome.id);
                ledger.advance();
                received += 1;
                report.record(*outcome)?;
            }
            Message::InputEnd(total) => expected = Some(total),
        }
        // Whatever message came last before a wait, what was printed must be out: skipping the
        // flush when the end-of-input message followed the last result held fast results back
        // until the next result, 30 s later in the interrupt test.
        if result_rx.is_empty() {
            report.flush()?;
        }
    }
    // Whatever is still pending gets its one result here: cancelled after an interrupt, or a
    // worker failure if its thread vanished without reporting.
    let mut left: Vec<Box<Outcome>> = ledger.pending().drain().map(|(_, stub)| stub).collect();
    left.sort_by_key(|o| o.id);
    for mut stub in left {
        stub.error = Some(if cancel::requested() {
            Failure::new(
                ErrorKind::Cancelled,
                format!("{} before it finished", cancel::why()),
            )
        } else {
            Failure::new(
                ErrorKind::Worker,
                "the worker thread ended without reporting",
            )
        });
        report.record(*stub)?;
    }
    #[cfg(feature = "stack-report")]
    crate::stackuse::report(WORKER_STACK);
    report.finish(start.elapsed())
}

/// `--fail-early`: a failed result stops the run as an interrupt does (nothing more starts,
/// fetches under way are cut short and reported `cancelled`), but the exit code stays 1. Only
/// the first stop counts: the cancelled results it brings are failures too. Called where a job
/// ends, before its thread takes another.
fn stop_on_failure(fail_early: bool, outcome: &Outcome) {
    if fail_early && !outcome.is_ok() {
        cancel::fail_early();
    }
}

/// The input, shared by the threads that fetch from it. Each thread that needs work takes the
/// next job itself: a dispatcher pushing jobs through a bounded channel had to be woken for
/// every job taken once the channel was full, a third of all futex calls on a list of 2,000
/// small files.
struct Feed {
    state: Mutex<FeedState>,
    /// Signalled when the first threads are all started.
    started: Condvar,
    /// Jobs handed out and not yet reported, each with a stub that stands in for it if no
    /// result ever comes, so none can be lost or waited for forever. A shared map rather than
    /// a message per job: that message woke the main thread once more for every URL.
    pending: Mutex<HashMap<usize, Box<Outcome>>>,
    /// No job is handed out `window` or more places after the oldest pending one.
    window: usize,
    /// Counts pending jobs done while a thread waited on the window, and wakes it. Its own
    /// lock, never the state's: a thread may hold that one while it waits to send a result
    /// to the main thread, which must then not wait for it in turn.
    done: Mutex<u64>,
    advanced: Condvar,
    waiting: AtomicBool,
    /// `--fail-early`: a worker whose fetch failed stops the run before it takes another job,
    /// so none starts after the failure. `--quota`: no job starts once `received` is over it.
    stops: Stops,
    /// Body bytes of the jobs done so far, for `--quota`.
    received: AtomicU64,
}

struct FeedState {
    jobs: Box<dyn Iterator<Item = Job> + Send>,
    /// Jobs read so far.
    read: usize,
    ended: bool,
    /// While true, jobs go to new threads only; started threads wait for their next job.
    starting: bool,
    /// No pending job is older than this. Jobs are handed out in input order, so the oldest
    /// pending one only moves forward; it is looked for only when the window seems full.
    floor: usize,
}

impl Feed {
    /// The next job, prepared and noted in the ledger, or `None` at the end of the input. Jobs
    /// are read, prepared and noted under one lock, so names are claimed in input order.
    fn next(&self, fetcher: &Fetcher, results: &Sender<Message>, starter: bool) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.starting && !starter {
            state = self.started.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        loop {
            if state.ended {
                return None;
            }
            if state.read >= state.floor.saturating_add(self.window) && !cancel::requested() {
                state = self.wait_for_window(state);
                continue;
            }
            let Some(mut job) = state.jobs.next() else {
                state.ended = true;
                fetcher.input_ended();
                let _ = results.send(Message::InputEnd(state.read));
                return None;
            };
            state.read += 1;
            let refused = match cancel::requested() {
                true => Some(format!("not started: {}", cancel::why())),
                false => (self.stops).over_quota(self.received.load(Ordering::Relaxed)),
            };
            if let Some(why) = refused {
                let _ = results.send(Message::Done(Box::new(not_started(&job, why))));
                continue;
            }
            let stub = Outcome::new(&job, Duration::ZERO);
            if let Err(failed) = prepare_guarded(fetcher, &mut job) {
                self.ended(&failed);
                let _ = results.send(Message::Done(failed));
                continue;
            }
            self.pending().insert(stub.id, Box::new(stub));
            return Some(job);
        }
    }

    /// Notes a job's end for the stops: its bytes toward `--quota`, its failure for
    /// `--fail-early`. Called before its thread takes another job.
    fn ended(&self, outcome: &Outcome) {
        if self.stops.quota.is_some() {
            self.received.fetch_add(outcome.bytes, Ordering::Relaxed);
        }
        stop_on_failure(self.stops.fail_early, outcome);
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Box<Outcome>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called when the next job would be `window` places past the oldest pending one known:
    /// looks for a newer oldest one, and if there is none, waits (without the state lock) for
    /// a pending job to be done or an interrupt. The caller looks again at the state it gets.
    fn wait_for_window<'a>(
        &'a self,
        mut state: std::sync::MutexGuard<'a, FeedState>,
    ) -> std::sync::MutexGuard<'a, FeedState> {
        // Both before looking, so a job that is done meanwhile cannot go unnoticed.
        self.waiting.store(true, Ordering::SeqCst);
        let seen = *self.done();
        let oldest = self.pending().keys().min().copied().unwrap_or(state.read);
        if oldest > state.floor {
            state.floor = oldest;
            return state;
        }
        drop(state);
        let done = self.done();
        if *done == seen {
            // Timed, to see an interrupt.
            let _ = self.advanced.wait_timeout(done, CANCEL_POLL);
        }
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn done(&self) -> std::sync::MutexGuard<'_, u64> {
        self.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes threads waiting on the window after a pending job is done. Only when one waits:
    /// a wake-up is a system call, and this runs once per result.
    fn advance(&self) {
        if self.waiting.swap(false, Ordering::SeqCst) {
            *self.done() += 1;
            self.advanced.notify_all();
        }
    }

    /// Lets the started threads take jobs.
    fn started(&self) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .starting = false;
        self.started.notify_all();
    }
}

/// Reads the input and starts a thread for each job until `cap` threads run, or the input
/// ends; after that the threads take the remaining jobs themselves.
fn start_workers(feed: Arc<Feed>, fetcher: Arc<Fetcher>, cap: usize, results: Sender<Message>) {
    // However this thread ends, even by a panic, the started threads must not wait forever.
    let _release = StartedOnDrop(&feed);
    let mut workers = 0usize;
    while workers < cap {
        let Some(job) = feed.next(&fetcher, &results, true) else {
            break;
        };
        let (f, fe, tx) = (Arc::clone(&feed), Arc::clone(&fetcher), results.clone());
        let slot = Arc::new(Mutex::new(Some(job)));
        let handed = Arc::clone(&slot);
        let spawned = thread::Builder::new()
            .name("fetchpar-worker".into())
            .stack_size(WORKER_STACK)
            .spawn(move || {
                let job = handed.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(job) = job {
                    worker(job, &f, &tx, &fe);
                }
                // Without its sender a vanished worker is still noticed (the channel closes
                // once every worker is done with it).
                drop((f, fe, tx));
                linger();
            });
        if spawned.is_err() {
            // Out of threads: this thread fetches too, alongside the ones that did start.
            let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            feed.started();
            if let Some(job) = job {
                worker(job, &feed, &results, &fetcher);
            }
            return;
        }
        workers += 1;
    }
}

/// Parks a worker that has nothing left to do until the process exits, instead of letting it
/// end. Ending a thread unmaps its signal stack and hands its stack back with an madvise, each
/// a TLB shootdown across cores: ~70 µs per thread here, 7 ms of CPU for 100 threads, spent
/// while the last fetches still run. Exit takes all parked threads down at once.
fn linger() -> ! {
    loop {
        thread::park();
    }
}

/// Lets the started threads take jobs when dropped.
struct StartedOnDrop<'a>(&'a Feed);

impl Drop for StartedOnDrop<'_> {
    fn drop(&mut self) {
        self.0.started();
    }
}

fn worker(first: Job, feed: &Feed, results: &Sender<Message>, fetcher: &Fetcher) {
    let mut job = first;
    loop {
        let outcome = Box::new(fetch_guarded(fetcher, &job));
        feed.ended(&outcome);
        #[cfg(feature = "stack-report")]
        crate::stackuse::note();
        if results.send(Message::Done(outcome)).is_err() {
            // The receiver is gone (output closed): nothing left to report to.
            return;
        }
        match feed.next(fetcher, results, false) {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// The result of a job that was read but not started, and why.
fn not_started(job: &Job, why: String) -> Outcome {
    Outcome::failed(job, Duration::ZERO, Failure::new(ErrorKind::Cancelled, why))
}

/// Fetches one job; a panic inside becomes a failed outcome for that job, so the run still
/// gets exactly one result for it and the thread lives on to fetch others.
fn fetch_guarded(fetcher: &Fetcher, job: &Job) -> Outcome {
    catch_unwind(AssertUnwindSafe(|| fetcher.fetch(job))).unwrap_or_else(|panic| {
        let failure = Failure::new(
            ErrorKind::Worker,
            format!("worker panicked: {}", why(&*panic)),
        );
        Outcome::failed(job, Duration::ZERO, failure)
    })
}

/// Prepares one job (its file name, when saving); a panic there becomes the job's failed
/// outcome, as one in [`fetch_guarded`] does. Unguarded, it lost the job, which was read but
/// not yet in the ledger: in the input thread, it ended the run with no result at all.
fn prepare_guarded(fetcher: &Fetcher, job: &mut Job) -> Result<(), Box<Outcome>> {
    catch_unwind(AssertUnwindSafe(|| fetcher.prepare(job))).map_err(|panic| {
        let why = why(&*panic);
        let failure = Failure::new(ErrorKind::Worker, format!("preparing it panicked: {why}"));
        Box::new(Outcome::failed(job, Duration::ZERO, failure))
    })
}

fn why(panic: &(dyn std::any::Any + Send)) -> String {
    (panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
