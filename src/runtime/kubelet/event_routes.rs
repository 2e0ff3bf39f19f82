//! How often the readers of the runtime's container events fell behind: the runtime has one
//! channel of events for the whole node, of a bounded capacity, and a reader that falls more
//! than that behind loses events and looks at its pod's containers again.

use std::sync::atomic::{AtomicU64, Ordering};

/// How often, in this process, a reader of container events fell behind and lost events
/// (each time, a pod worker or the router made the pods look at their containers again), and
/// how many events it lost.
static LAGS: AtomicU64 = AtomicU64::new(0);
static LOST: AtomicU64 = AtomicU64::new(0);

/// A reader of container events fell `lost` events behind.
pub(super) fn lagged(lost: u64) {
    LAGS.fetch_add(1, Ordering::Relaxed);
    LOST.fetch_add(lost, Ordering::Relaxed);
    tracing::debug!(target: "kubelet", lost, "a reader of the runtime's container events fell behind");
}

/// How many times, in this process, a reader of the runtime's container events fell behind, and
/// how many events those readers lost (the bench reports them).
pub fn event_lags() -> (u64, u64) {
    (LAGS.load(Ordering::Relaxed), LOST.load(Ordering::Relaxed))
}
