//! Waiting for a condition with a timeout, polling without blocking the runtime. A wait on a
//! pod (`*_on_pod`) looks again whenever the target says the pod may have changed
//! (`Target::pod_changed`: a watch where the target is behind an API server), at the latest
//! after [`WATCH_RECHECK`].

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::StepFailure;
use crate::targets::{PodRef, Target};

/// The longest a wait on a pod goes without looking again, even with no change seen.
pub const WATCH_RECHECK: Duration = Duration::from_secs(1);

/// Until the next look: after `interval` (polling), or once the pod may have changed.
async fn pause(on: Option<(&dyn Target, &PodRef)>, interval: Duration, deadline: Instant) {
    match on {
        None => tokio::time::sleep(interval).await,
        Some((target, pod)) => {
            let left = deadline.saturating_duration_since(Instant::now());
            let started = Instant::now();
            target.pod_changed(pod, WATCH_RECHECK.min(left)).await;
            // A target that answers at once every time is polled no faster than `interval`.
            if started.elapsed() < Duration::from_millis(5) {
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// Polls `check` until it succeeds or `timeout` passes; on timeout the last failure is returned,
/// its message prefixed with what was waited for.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, check: F) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepFailure>>,
{
    eventually_on(None, what, timeout, check).await
}

/// As [`eventually`], for a condition on `pod`: it is looked at again as the pod changes.
pub async fn eventually_on_pod<T, F, Fut>(
    target: &dyn Target,
    pod: &PodRef,
    what: &str,
    timeout: Duration,
    check: F,
) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepFailure>>,
{
    eventually_on(Some((target, pod)), what, timeout, check).await
}

async fn eventually_on<T, F, Fut>(on: Option<(&dyn Target, &PodRef)>, what: &str, timeout: Duration, mut check: F) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StepFailure>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(10);
    loop {
        let last = match check().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if Instant::now() + interval > deadline {
            return Err(StepFailure { message: format!("{what}: not within {timeout:?}: {}", last.message), mismatch: last.mismatch });
        }
        pause(on, interval, deadline).await;
        interval = (interval * 2).min(Duration::from_millis(250));
    }
}

/// One look at a condition: not yet, or never (what was seen cannot turn into what is waited
/// for, such as a pod that has ended when it is expected to run).
pub enum Look {
    NotYet(StepFailure),
    Never(StepFailure),
}

/// How long `check` must keep saying "never" before a wait ends early: a node may write a
/// pod's status in more than one update (its phase first, a container's message next).
pub const SETTLE: Duration = Duration::from_secs(2);

/// As [`eventually`], but ends early, with that look's diff, when `check` can tell the
/// condition will never hold (and keeps telling it for [`SETTLE`]).
pub async fn eventually_or_never<T, F, Fut>(what: &str, timeout: Duration, check: F) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Look>>,
{
    eventually_or_never_on(None, what, timeout, check).await
}

/// As [`eventually_or_never`], for a condition on `pod`: it is looked at again as the pod changes.
pub async fn eventually_or_never_on_pod<T, F, Fut>(
    target: &dyn Target,
    pod: &PodRef,
    what: &str,
    timeout: Duration,
    check: F,
) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Look>>,
{
    eventually_or_never_on(Some((target, pod)), what, timeout, check).await
}

async fn eventually_or_never_on<T, F, Fut>(
    on: Option<(&dyn Target, &PodRef)>,
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Look>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(10);
    let mut never_since: Option<Instant> = None;
    loop {
        let last = match check().await {
            Ok(v) => return Ok(v),
            Err(Look::Never(e)) => {
                let since = *never_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= SETTLE {
                    return Err(StepFailure { message: format!("{what}: it never will: {}", e.message), mismatch: e.mismatch });
                }
                e
            }
            Err(Look::NotYet(e)) => {
                never_since = None;
                e
            }
        };
        if Instant::now() + interval > deadline {
            return Err(StepFailure { message: format!("{what}: not within {timeout:?}: {}", last.message), mismatch: last.mismatch });
        }
        pause(on, interval, deadline).await;
        interval = (interval * 2).min(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let mut n = 0;
        let v = eventually("n reaches 3", Duration::from_secs(5), || {
            n += 1;
            let now = n;
            async move {
                if now >= 3 {
                    Ok(now)
                } else {
                    Err(StepFailure::new("not yet"))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn ends_early_once_it_never_will_and_keeps_saying_so() {
        let started = std::time::Instant::now();
        let e = eventually_or_never("the pod runs", Duration::from_secs(30), || async {
            Err::<(), _>(Look::Never(StepFailure::mismatch("the pod has ended", "Running", "Succeeded")))
        })
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "ended after {:?}", started.elapsed());
        assert!(started.elapsed() >= SETTLE);
        assert!(e.message.starts_with("the pod runs: it never will: the pod has ended"), "{}", e.message);
        assert_eq!(e.mismatch.unwrap().actual, "Succeeded");
    }

    #[tokio::test]
    async fn a_never_that_does_not_last_is_only_a_not_yet() {
        let mut n = 0;
        let v = eventually_or_never("n reaches 5", Duration::from_secs(30), || {
            n += 1;
            let now = n;
            async move {
                match now {
                    5.. => Ok(now),
                    // Said once, then taken back: the status was not final yet.
                    2 => Err(Look::Never(StepFailure::new("never"))),
                    _ => Err(Look::NotYet(StepFailure::new("not yet"))),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 5);
    }

    #[tokio::test]
    async fn times_out_with_the_last_mismatch() {
        let e = eventually("never", Duration::from_millis(50), || async { Err::<(), _>(StepFailure::mismatch("differs", "a", "b")) })
            .await
            .unwrap_err();
        assert!(e.message.starts_with("never: not within"), "{}", e.message);
        assert_eq!(e.mismatch.unwrap().actual, "b");
    }
}
