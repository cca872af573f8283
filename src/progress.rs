//! Live progress on stderr (indicatif): one overall bar with URLs done of N, bytes, rate and
//! ETA, and a line for each of the largest fetches in flight. Workers only bump atomic counters;
//! a ticker thread turns them into lines ten times a second, so a list of 20,000 small files
//! costs no more drawing than a list of four large ones. Lists are read only as far as the
//! fetches have got, so N is what has been read, marked `+`, until the lists' length is known.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{escape, human_bytes};

/// When to draw progress (on stderr) or color (on stdout). One type for both options, so its
/// help names no stream: each option's own help says which one it looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// When the stream it is for is a terminal.
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// Fetches in flight shown one per line.
const SHOWN: usize = 4;
const TICK: Duration = Duration::from_millis(100);

/// One fetch in flight, as the ticker sees it.
pub struct Live {
    url: String,
    bytes: AtomicU64,
    total: AtomicU64,
    /// When the fetch started: a server that has not answered yet shows how long it has kept
    /// the fetch waiting, where its bytes alone would say nothing.
    since: Instant,
}

impl Live {
    /// Counts received body bytes.
    pub fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// Records the expected body size (Content-Length).
    pub fn expect(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }
}

/// How many URLs a run has in all, once that is known: counted up front on a thread of its own
/// (see [`crate::links::LinkReader::count`]), or when the run's reader reaches the end.
#[derive(Clone)]
pub struct Total(Arc<AtomicU64>);

/// What [`Total`] holds while the length is not known.
const UNKNOWN: u64 = u64::MAX;

impl Default for Total {
    fn default() -> Self {
        Self(Arc::new(AtomicU64::new(UNKNOWN)))
    }
}

impl Total {
    /// A length known from the start (`--compare` reads its list whole before its runs).
    pub fn known(n: usize) -> Self {
        Self(Arc::new(AtomicU64::new(n as u64)))
    }

    /// Sets the length found by counting, unless the reader has found it already: its count,
    /// made at the end, is the true one even if a list changed in between.
    pub fn counted(&self, n: usize) {
        let _ = (self.0).compare_exchange(UNKNOWN, n as u64, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&n| n != UNKNOWN)
    }
}

/// The overall bar's template: with a bar and an ETA when the length is known, without either
/// while it is not (a fraction of what has been read so far would say the run is further along
/// than it is).
fn overall_style(known: bool, color: bool) -> ProgressStyle {
    let bar = if color {
        "{wide_bar:.cyan/blue}"
    } else {
        "{wide_bar}"
    };
    let template = if known {
        format!("{{spinner}} {{elapsed:>4}} {bar} {{pos}}/{{len}} URLs  {{msg}}  ETA {{eta}}")
    } else {
        "{spinner} {elapsed:>4} {pos}/{len}+ URLs  {wide_msg}".to_string()
    };
    ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    /// URLs read from the lists so far.
    read: AtomicU64,
    total: Total,
    /// Whether the overall bar has its known-length style yet.
    shows_total: AtomicBool,
    slots: Mutex<Vec<ProgressBar>>,
    live: Mutex<HashMap<usize, Arc<Live>>>,
    bytes: AtomicU64,
    start: Instant,
    stopped: AtomicBool,
    color: bool,
}

impl Progress {
    /// Starts drawing on stderr and returns the shared handle; `None` when `when` says not to.
    pub fn start(when: When, color: bool, total: Total) -> Option<Arc<Self>> {
        if !Self::drawn(when) {
            return None;
        }
        let target = match when {
            // indicatif hides bars when stderr is not a terminal; drawing to the terminal
            // handle directly keeps them, as asked.
            When::Always => {
                ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 10)
            }
            When::Auto | When::Never => ProgressDrawTarget::stderr_with_hz(10),
        };
        let multi = MultiProgress::with_draw_target(target);
        let known = total.get();
        let overall =
            ProgressBar::new(known.unwrap_or(0)).with_style(overall_style(known.is_some(), color));
        let overall = multi.add(overall);
        let progress = Arc::new(Self {
            multi,
            overall,
            read: AtomicU64::new(0),
            shows_total: AtomicBool::new(known.is_some()),
            total,
            slots: Mutex::new(Vec::new()),
            live: Mutex::new(HashMap::new()),
            bytes: AtomicU64::new(0),
            start: Instant::now(),
            stopped: AtomicBool::new(false),
            color,
        });
        let ticker = Arc::clone(&progress);
        let _ = thread::Builder::new()
            .name("fetchpar-progress".into())
            .spawn(move || ticker.tick_until_stopped());
        Some(progress)
    }

    /// Whether `when` draws bars on this run's stderr.
    pub fn drawn(when: When) -> bool {
        use std::io::IsTerminal;
        match when {
            When::Never => false,
            When::Auto => std::io::stderr().is_terminal(),
            When::Always => true,
        }
    }

    /// One more URL read from the lists.
    pub fn queued(&self) {
        let read = self.read.fetch_add(1, Ordering::Relaxed) + 1;
        self.overall.set_length(self.length(read));
    }

    /// The reader reached the end of the lists: what it read is the length.
    pub fn all_read(&self) {
        (self.total.0).store(self.read.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The bar's length: the known total, or what has been read so far (more, if a list grew
    /// after it was counted).
    fn length(&self, read: u64) -> u64 {
        self.total.get().map_or(read, |total| total.max(read))
    }

    /// A fetch starts; the returned handle counts its bytes.
    pub fn begin(&self, id: usize, url: &str) -> Arc<Live> {
        let live = Arc::new(Live {
            url: url.to_string(),
            bytes: AtomicU64::new(0),
            total: AtomicU64::new(0),
            since: Instant::now(),
        });
        lock(&self.live).insert(id, Arc::clone(&live));
        live
    }

    /// A fetch ended (its bytes stay counted in the total).
    pub fn end(&self, id: usize) {
        if let Some(live) = lock(&self.live).remove(&id) {
            self.bytes
                .fetch_add(live.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// A result was reported.
    pub fn done_one(&self) {
        self.overall.inc(1);
    }

    /// Runs `f` with the bars taken off the screen, so lines printed meanwhile do not tear.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Removes the bars for good (before the summary is printed).
    pub fn finish(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        for slot in lock(&self.slots).drain(..) {
            slot.finish_and_clear();
            self.multi.remove(&slot);
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }

    fn tick_until_stopped(&self) {
        while !self.stopped.load(Ordering::SeqCst) {
            self.tick();
            thread::sleep(TICK);
        }
    }

    fn tick(&self) {
        let mut live: Vec<Arc<Live>> = lock(&self.live).values().cloned().collect();
        let in_flight: u64 = live.iter().map(|l| l.bytes.load(Ordering::Relaxed)).sum();
        let bytes = self.bytes.load(Ordering::Relaxed) + in_flight;
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        let rate = (bytes as f64 / secs) as u64;
        if self.total.get().is_some() && !self.shows_total.swap(true, Ordering::Relaxed) {
            self.overall.set_style(overall_style(true, self.color));
        }
        (self.overall).set_length(self.length(self.read.load(Ordering::Relaxed)));
        self.overall.tick();
        self.overall.set_message(format!(
            "{}  {}/s  {} in flight",
            human_bytes(bytes),
            human_bytes(rate),
            live.len()
        ));
        // The largest downloads are the ones worth watching.
        live.sort_by_key(|l| {
            let known = l.total.load(Ordering::Relaxed);
            std::cmp::Reverse(known.max(l.bytes.load(Ordering::Relaxed)))
        });
        live.truncate(SHOWN);
        let mut slots = lock(&self.slots);
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        while slots.len() < live.len() {
            let style = ProgressStyle::with_template("  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            slots.push(self.multi.add(ProgressBar::new(0).with_style(style)));
        }
        while slots.len() > live.len() {
            if let Some(slot) = slots.pop() {
                slot.finish_and_clear();
                self.multi.remove(&slot);
            }
        }
        for (slot, l) in slots.iter().zip(&live) {
            slot.set_message(self.line(l));
        }
    }

    fn line(&self, live: &Live) -> String {
        let got = live.bytes.load(Ordering::Relaxed);
        let total = live.total.load(Ordering::Relaxed);
        let size = if total > 0 {
            format!(
                "{} / {} ({}%)",
                human_bytes(got),
                human_bytes(total),
                got * 100 / total
            )
        } else {
            human_bytes(got)
        };
        let url = escape(live.url.as_bytes());
        let url: String = if url.chars().count() > 70 {
            format!("{}...", url.chars().take(67).collect::<String>())
        } else {
            url
        };
        let took = format!("{:.1} s", live.since.elapsed().as_secs_f64());
        if self.color {
            let url = console::style(url).dim().force_styling(true);
            format!("{url}  {size}  {took}")
        } else {
            format!("{url}  {size}  {took}")
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_fills_an_unknown_total_and_never_overrides_the_readers_end() {
        let total = Total::default();
        assert_eq!(total.get(), None);
        total.counted(300);
        assert_eq!(total.get(), Some(300));
        let read_through = Total::default();
        // The reader reached the end first (a list that was counted late, or changed).
        read_through.0.store(297, Ordering::Relaxed);
        read_through.counted(300);
        assert_eq!(read_through.get(), Some(297));
        assert_eq!(Total::known(12).get(), Some(12));
    }
}
