//! Where the runtime's share of a pod start goes: the time spent in each phase of its sandbox's
//! and its containers' creation and start, as running totals that `podspec bench` reads before
//! and after each pod's start (the pods of that bench start one after another, so the
//! difference is that pod's).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Running totals of time per phase, in the order the phases were first seen.
#[derive(Debug, Default)]
pub(crate) struct PhaseClock {
    totals: Mutex<Vec<(&'static str, Duration)>>,
}

impl PhaseClock {
    pub(crate) fn add(&self, phase: &'static str, took: Duration) {
        let mut totals = self.totals.lock().unwrap();
        match totals.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += took,
            None => totals.push((phase, took)),
        }
    }

    /// A lap timer: each `mark` adds the time since the last mark (or since the lap began) to
    /// the phase it names.
    pub(crate) fn lap(&self) -> Lap<'_> {
        Lap { clock: self, since: Instant::now() }
    }

    pub(crate) fn totals(&self) -> Vec<(&'static str, Duration)> {
        self.totals.lock().unwrap().clone()
    }
}

pub(crate) struct Lap<'a> {
    clock: &'a PhaseClock,
    since: Instant,
}

impl Lap<'_> {
    pub(crate) fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.clock.add(phase, now - self.since);
        self.since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mark_adds_the_time_since_the_last_one_to_its_phase() {
        let clock = PhaseClock::default();
        let mut lap = clock.lap();
        std::thread::sleep(Duration::from_millis(20));
        lap.mark("a");
        lap.mark("b");
        std::thread::sleep(Duration::from_millis(20));
        lap.mark("a");
        let totals = clock.totals();
        assert_eq!(totals.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec!["a", "b"]);
        assert!(totals[0].1 >= Duration::from_millis(40), "{totals:?}");
        assert!(totals[1].1 < Duration::from_millis(20), "{totals:?}");
    }
}
