//! Per-host gates: at most `--per-host` fetches to one host at once, and a pause for the whole
//! host when it answers with `Retry-After`, while other hosts keep going.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cancel;

#[derive(Default)]
struct HostState {
    active: usize,
    paused_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    hosts: HashMap<String, HostState>,
    /// Fetches blocked in [`Hosts::acquire`]; a released slot wakes them only if there are any.
    waiters: usize,
}

/// Shared by every worker of a run.
pub struct Hosts {
    per_host: Option<usize>,
    /// Set once any host has been paused. Until then, with no per-host limit, there is nothing
    /// to wait for, and fetches pass without taking the lock: hundreds of workers taking it for
    /// every fetch of a list of small files cost more CPU than the fetches themselves.
    paused_any: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

/// A slot held while fetching from one host; released on drop.
pub struct Permit<'a> {
    hosts: &'a Hosts,
    /// The host whose count this permit holds; `None` when there is no limit to count for.
    counted: Option<String>,
}

/// How often a waiting fetch looks at the interrupt flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

impl Hosts {
    pub fn new(per_host: Option<usize>) -> Self {
        Self {
            per_host,
            paused_any: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    /// Waits until `host` is neither paused nor at its limit, then takes a slot. Returns `None`
    /// if the run is interrupted while waiting.
    pub fn acquire(&self, host: &str) -> Option<Permit<'_>> {
        if cancel::requested() {
            return None;
        }
        if self.per_host.is_none() && !self.paused_any.load(Ordering::Acquire) {
            return Some(Permit {
                hosts: self,
                counted: None,
            });
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if cancel::requested() {
                return None;
            }
            // Only a host that is paused or counted has an entry; a lookup adds none.
            let entry = state.hosts.get(host);
            let now = Instant::now();
            let wait = (entry.and_then(|e| e.paused_until))
                .filter(|until| *until > now)
                .map(|until| until - now);
            let full =
                (self.per_host).is_some_and(|limit| entry.is_some_and(|e| e.active >= limit));
            if wait.is_none() && !full {
                let counted = self.per_host.map(|_| {
                    state.hosts.entry(host.to_string()).or_default().active += 1;
                    host.to_string()
                });
                return Some(Permit {
                    hosts: self,
                    counted,
                });
            }
            let nap = wait.unwrap_or(CANCEL_POLL).min(CANCEL_POLL);
            state.waiters += 1;
            state = self
                .changed
                .wait_timeout(state, nap)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.waiters -= 1;
        }
    }

    /// A slot for `host` if one is free now (it is not paused nor at its limit), without
    /// waiting: for the helper connections of a split download, which leave their range to the
    /// others rather than wait for a slot the download itself may be holding.
    pub fn try_acquire(&self, host: &str) -> Option<Permit<'_>> {
        if self.per_host.is_none() && !self.paused_any.load(Ordering::Acquire) {
            return Some(Permit {
                hosts: self,
                counted: None,
            });
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let entry = state.hosts.get(host);
        let paused = (entry.and_then(|e| e.paused_until)).is_some_and(|u| u > Instant::now());
        let full = (self.per_host).is_some_and(|limit| entry.is_some_and(|e| e.active >= limit));
        if paused || full {
            return None;
        }
        let counted = self.per_host.map(|_| {
            state.hosts.entry(host.to_string()).or_default().active += 1;
            host.to_string()
        });
        Some(Permit {
            hosts: self,
            counted,
        })
    }

    /// Pauses every fetch to `host` for `delay` (from a `Retry-After`).
    pub fn pause(&self, host: &str, delay: Duration) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let entry = state.hosts.entry(host.to_string()).or_default();
        let until = Instant::now() + delay;
        entry.paused_until = Some(entry.paused_until.map_or(until, |old| old.max(until)));
        self.paused_any.store(true, Ordering::Release);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Some(host) = &self.counted else { return };
        let mut state = self.hosts.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = state.hosts.get_mut(host) {
            entry.active = entry.active.saturating_sub(1);
            // A host nobody is fetching from and that is not paused is forgotten, so a list of
            // a million hosts does not keep an entry for each to the end of the run.
            let paused = entry
                .paused_until
                .is_some_and(|until| until > Instant::now());
            if entry.active == 0 && !paused {
                state.hosts.remove(host);
            }
        }
        // Waking is a system call even with nobody waiting; skip it when nobody is.
        let wake = state.waiters > 0;
        drop(state);
        if wake {
            self.hosts.changed.notify_all();
        }
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
    fn a_slot_is_taken_without_waiting_only_while_one_is_free() {
        let hosts = Hosts::new(Some(2));
        let first = hosts.acquire("h:80").unwrap();
        let second = hosts.try_acquire("h:80").unwrap();
        assert!(hosts.try_acquire("h:80").is_none(), "at the limit");
        assert!(hosts.try_acquire("other:80").is_some());
        drop(second);
        assert!(hosts.try_acquire("h:80").is_some(), "freed");
        hosts.pause("h:80", Duration::from_secs(60));
        assert!(hosts.try_acquire("h:80").is_none(), "paused");
        drop(first);
        let free = Hosts::new(None);
        assert!((0..100).all(|_| free.try_acquire("h:80").is_some()));
    }

    #[test]
    fn a_pause_holds_back_fetches_even_while_uncounted_permits_are_held() {
        // No limit: permits are free until the first pause, which must still be honoured.
        let hosts = Hosts::new(None);
        let held: Vec<_> = (0..3).map(|_| hosts.acquire("h:80").unwrap()).collect();
        hosts.pause("h:80", Duration::from_millis(200));
        let start = Instant::now();
        drop(hosts.acquire("h:80").unwrap());
        assert!(start.elapsed() >= Duration::from_millis(200));
        drop(held);
        // Releasing uncounted permits leaves nothing counted against the host.
        let state = hosts.state.lock().unwrap();
        assert_eq!(state.hosts.get("h:80").map_or(0, |h| h.active), 0);
        assert_eq!(state.waiters, 0);
    }

    #[test]
    fn hosts_no_longer_fetched_from_are_forgotten() {
        let limited = Hosts::new(Some(2));
        for i in 0..100 {
            let host = format!("h{i}:80");
            let (a, b) = (
                limited.acquire(&host).unwrap(),
                limited.acquire(&host).unwrap(),
            );
            assert_eq!(limited.state.lock().unwrap().hosts[&host].active, 2);
            drop((a, b));
        }
        assert!(limited.state.lock().unwrap().hosts.is_empty());

        // Once a host is paused every fetch takes the lock; only the paused host is kept.
        let paused = Hosts::new(None);
        paused.pause("slow:80", Duration::from_secs(60));
        for i in 0..100 {
            drop(paused.acquire(&format!("h{i}:80")).unwrap());
        }
        let state = paused.state.lock().unwrap();
        assert_eq!(state.hosts.keys().collect::<Vec<_>>(), ["slow:80"]);
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
