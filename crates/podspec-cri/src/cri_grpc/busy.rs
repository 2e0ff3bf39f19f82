//! How long podspec has waited on the CRI runtime's answers, all calls together: a span in
//! which one or more calls are in flight counts once. What a pod start took beyond this is
//! podspec's own time (`podspec bench --target cri`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct BusyClock {
    state: Mutex<Busy>,
}

#[derive(Debug, Default)]
struct Busy {
    in_flight: usize,
    /// Since when a call has been in flight (while `in_flight > 0`).
    since: Option<Instant>,
    /// The spans that ended.
    total: Duration,
}

/// A call in flight, until dropped.
pub struct InFlight<'a>(&'a BusyClock);

impl BusyClock {
    /// Marks a call in flight until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        let mut b = self.state.lock().unwrap();
        if b.in_flight == 0 {
            b.since = Some(Instant::now());
        }
        b.in_flight += 1;
        InFlight(self)
    }

    /// The time with a call in flight so far (the current span up to now included).
    pub fn total(&self) -> Duration {
        let b = self.state.lock().unwrap();
        b.total + b.since.filter(|_| b.in_flight > 0).map_or(Duration::ZERO, |s| s.elapsed())
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut b = self.0.state.lock().unwrap();
        b.in_flight -= 1;
        if b.in_flight == 0 {
            if let Some(since) = b.since.take() {
                b.total += since.elapsed();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_calls_count_once_and_idle_time_not_at_all() {
        let clock = BusyClock::default();
        assert_eq!(clock.total(), Duration::ZERO);
        let outer = Instant::now();
        let a = clock.enter();
        std::thread::sleep(Duration::from_millis(20));
        let b = clock.enter();
        std::thread::sleep(Duration::from_millis(20));
        drop(a);
        std::thread::sleep(Duration::from_millis(20));
        drop(b);
        let outer = outer.elapsed();
        let busy = clock.total();
        assert!(busy >= Duration::from_millis(60), "{busy:?}");
        // The two calls overlap for at least 20 ms: counted twice, the busy time would pass the
        // span from the first call's start to the last one's end, however long the sleeps took
        // on a loaded machine.
        assert!(busy <= outer, "busy {busy:?}, span {outer:?}");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(clock.total(), busy, "no call in flight: the clock stands");
    }
}
