//! Per-host gates: at most `--per-host` fetches to one host at once, and a pause for the whole
//! host when it answers with `Retry-After`, while other hosts keep going.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cancel;

#[derive(Default)]
struct HostState {
    active: usize,
    paused_until: Option<Instant>,
}

/// Shared by every worker of a run.
pub struct Hosts {
    per_host: Option<usize>,
    state: Mutex<HashMap<String, HostState>>,
    changed: Condvar,
}

/// A slot held while fetching from one host; released on drop.
pub struct Permit<'a> {
    hosts: &'a Hosts,
    host: String,
}

/// How often a waiting fetch looks at the interrupt flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

impl Hosts {
    pub fn new(per_host: Option<usize>) -> Self {
        Self {
            per_host,
            state: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
        }
    }

    /// Waits until `host` is neither paused nor at its limit, then takes a slot. Returns `None`
    /// if the run is interrupted while waiting.
    pub fn acquire(&self, host: &str) -> Option<Permit<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if cancel::requested() {
                return None;
            }
            if !state.contains_key(host) {
                state.insert(host.to_string(), HostState::default());
            }
            let entry = state.get_mut(host).expect("inserted above");
            let now = Instant::now();
            let wait = match entry.paused_until {
                Some(until) if until > now => Some(until - now),
                _ => None,
            };
            let full = self.per_host.is_some_and(|limit| entry.active >= limit);
            if wait.is_none() && !full {
                entry.active += 1;
                return Some(Permit {
                    hosts: self,
                    host: host.to_string(),
                });
            }
            let nap = wait.unwrap_or(CANCEL_POLL).min(CANCEL_POLL);
            state = self
                .changed
                .wait_timeout(state, nap)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Pauses every fetch to `host` for `delay` (from a `Retry-After`).
    pub fn pause(&self, host: &str, delay: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let entry = state.entry(host.to_string()).or_default();
        let until = Instant::now() + delay;
        entry.paused_until = Some(entry.paused_until.map_or(until, |old| old.max(until)));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.hosts.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = state.get_mut(&self.host) {
            entry.active = entry.active.saturating_sub(1);
        }
        drop(state);
        self.hosts.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_than_the_limit_at_once() {
        let hosts = Arc::new(Hosts::new(Some(2)));
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (hosts, now, peak) = (hosts.clone(), now.clone(), peak.clone());
                std::thread::spawn(move || {
                    let _permit = hosts.acquire("h:80").unwrap();
                    let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(inside, Ordering::SeqCst);
                    std::thread::yield_now();
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert!(peak.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn a_pause_delays_only_that_host() {
        let hosts = Hosts::new(None);
        hosts.pause("slow:80", Duration::from_millis(300));
        let start = Instant::now();
        drop(hosts.acquire("other:80").unwrap());
        let other = start.elapsed();
        drop(hosts.acquire("slow:80").unwrap());
        let slow = start.elapsed();
        assert!(slow >= Duration::from_millis(300), "{slow:?}");
        assert!(other < slow);
    }
}
