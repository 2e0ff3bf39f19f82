//! Crash back-off, as the kubelet does it: the first restart is immediate, then the delay
//! starts at 10 s and doubles up to 5 min (pkg/kubelet/kuberuntime: backOff with
//! initial 10s, max 300s).

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct BackoffPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self { initial: Duration::from_secs(10), max: Duration::from_secs(300) }
    }
}

impl BackoffPolicy {
    /// The delay before the restart that follows `restarts_so_far` earlier restarts.
    pub fn delay(&self, restarts_so_far: u32) -> Duration {
        if restarts_so_far == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(restarts_so_far - 1).unwrap_or(u32::MAX);
        self.initial.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_restart_is_immediate_then_doubles_from_ten_seconds_to_five_minutes() {
        let b = BackoffPolicy::default();
        let secs: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, vec![0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.delay(100), Duration::from_secs(300));
    }
}
