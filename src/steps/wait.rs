//! Waiting for a condition with a timeout, polling without blocking the runtime.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::StepFailure;

/// Polls `check` until it succeeds or `timeout` passes; on timeout the last failure is returned,
/// its message prefixed with what was waited for.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, StepFailure>
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
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(250));
    }
}

/// One look at a condition: not yet, or never (what was seen cannot turn into what is waited
/// for, such as a pod that has ended when it is expected to run).
pub enum Look {
    NotYet(StepFailure),
    Never(StepFailure),
}

/// As [`eventually`], but ends at once, with that look's diff, when `check` can tell the
/// condition will never hold.
pub async fn eventually_or_never<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T, StepFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Look>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(10);
    loop {
        let last = match check().await {
            Ok(v) => return Ok(v),
            Err(Look::Never(e)) => {
                return Err(StepFailure { message: format!("{what}: it never will: {}", e.message), mismatch: e.mismatch });
            }
            Err(Look::NotYet(e)) => e,
        };
        if Instant::now() + interval > deadline {
            return Err(StepFailure { message: format!("{what}: not within {timeout:?}: {}", last.message), mismatch: last.mismatch });
        }
        tokio::time::sleep(interval).await;
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
    async fn times_out_with_the_last_mismatch() {
        let e = eventually("never", Duration::from_millis(50), || async { Err::<(), _>(StepFailure::mismatch("differs", "a", "b")) })
            .await
            .unwrap_err();
        assert!(e.message.starts_with("never: not within"), "{}", e.message);
        assert_eq!(e.mismatch.unwrap().actual, "b");
    }
}
