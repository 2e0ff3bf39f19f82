//! Those who wait for a pod's teardown (`Kubelet::wait_torn_down`): each is woken once when
//! the kubelet has acted on the API's changes up to its resourceVersion, then when its own
//! pod's teardown ends, never by another pod's change (a delete of N pods at once would
//! otherwise wake N waiters at each of the N pods' changes).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::oneshot;

#[derive(Default)]
pub(super) struct TeardownWaiters {
    state: Mutex<State>,
    /// How many waiters were woken, in all.
    woken: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// The API's resourceVersion up to which the kubelet has acted on every change.
    observed: u64,
    /// Waiters for a resourceVersion the kubelet has not reached, by that version.
    behind: BTreeMap<u64, Vec<oneshot::Sender<()>>>,
    /// Waiters for the end of a pod's teardown, by the pod's uid.
    pods: HashMap<String, Vec<oneshot::Sender<()>>>,
}

impl TeardownWaiters {
    /// The kubelet has acted on every change of the API up to `rv`: the waiters for it and for
    /// the versions before are woken.
    pub(super) fn observed(&self, rv: u64) {
        let reached = {
            let mut st = self.state.lock().unwrap();
            st.observed = rv;
            let later = st.behind.split_off(&rv.saturating_add(1));
            std::mem::replace(&mut st.behind, later)
        };
        self.wake(reached.into_values().flatten());
    }

    /// A teardown of the pod with this uid ended (its worker is gone, or its deletion is
    /// written): its waiters look again.
    pub(super) fn torn_down(&self, uid: &str) {
        let waiting = self.state.lock().unwrap().pods.remove(uid);
        self.wake(waiting.into_iter().flatten());
    }

    fn wake(&self, waiters: impl Iterator<Item = oneshot::Sender<()>>) {
        for w in waiters {
            if w.send(()).is_ok() {
                self.woken.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Until the kubelet has acted on every change up to `rv`.
    pub(super) async fn caught_up(&self, rv: u64) {
        let reached = {
            let mut st = self.state.lock().unwrap();
            if st.observed >= rv {
                return;
            }
            let (tx, rx) = oneshot::channel();
            st.behind.entry(rv).or_default().push(tx);
            rx
        };
        let _ = reached.await;
    }

    /// The next end of a teardown of the pod with this uid; taken before looking whether the
    /// pod is gone, so that an end in between is not missed.
    pub(super) fn next_teardown<'a>(&'a self, uid: &'a str) -> NextTeardown<'a> {
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().pods.entry(uid.to_string()).or_default().push(tx);
        NextTeardown { waiters: self, uid, ended: Some(rx) }
    }

    /// How many waiters were woken so far.
    #[cfg(test)]
    pub(super) fn woken(&self) -> usize {
        self.woken.load(Ordering::Relaxed)
    }
}

/// See [`TeardownWaiters::next_teardown`]; dropped unfired, it leaves nothing behind.
pub(super) struct NextTeardown<'a> {
    waiters: &'a TeardownWaiters,
    uid: &'a str,
    ended: Option<oneshot::Receiver<()>>,
}

impl NextTeardown<'_> {
    pub(super) async fn wait(mut self) {
        if let Some(ended) = self.ended.as_mut() {
            let _ = ended.await;
        }
    }
}

impl Drop for NextTeardown<'_> {
    fn drop(&mut self) {
        drop(self.ended.take());
        let mut st = self.waiters.state.lock().unwrap();
        if let Some(waiting) = st.pods.get_mut(self.uid) {
            waiting.retain(|w| !w.is_closed());
            if waiting.is_empty() {
                st.pods.remove(self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Lets the spawned waiters (on this test's one thread) run until each waits again.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_waiter_is_woken_by_its_own_version_and_its_own_pod_alone() {
        let waiters = Arc::new(TeardownWaiters::default());
        let torn: Arc<Mutex<Vec<String>>> = Arc::default();
        let pods = 100;
        let mut tasks = Vec::new();
        for i in 1..=pods {
            let (waiters, torn) = (waiters.clone(), torn.clone());
            tasks.push(tokio::spawn(async move {
                let uid = format!("pod-{i}");
                waiters.caught_up(i).await;
                loop {
                    let next = waiters.next_teardown(&uid);
                    if torn.lock().unwrap().contains(&uid) {
                        return;
                    }
                    next.wait().await;
                }
            }));
        }
        settle().await;
        // The kubelet acts on the pods' changes one version at a time: each waiter is woken
        // once, when its own version is reached.
        for rv in 1..=pods {
            waiters.observed(rv);
            settle().await;
        }
        assert_eq!(waiters.woken(), pods as usize);
        // Every pod's teardown but the last ends: each wakes its own waiter, once.
        for i in 1..pods {
            let uid = format!("pod-{i}");
            torn.lock().unwrap().push(uid.clone());
            waiters.torn_down(&uid);
            settle().await;
        }
        assert_eq!(waiters.woken(), 2 * pods as usize - 1);
        let finished = tasks.iter().filter(|t| t.is_finished()).count();
        assert_eq!(finished, pods as usize - 1, "the last pod's waiter still waits");
        let last = format!("pod-{pods}");
        torn.lock().unwrap().push(last.clone());
        waiters.torn_down(&last);
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(5), t).await.expect("every waiter returns").unwrap();
        }
        assert!(waiters.state.lock().unwrap().pods.is_empty() && waiters.state.lock().unwrap().behind.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_nothing_behind() {
        let waiters = TeardownWaiters::default();
        let next = waiters.next_teardown("p");
        assert_eq!(waiters.state.lock().unwrap().pods.len(), 1);
        drop(next);
        assert!(waiters.state.lock().unwrap().pods.is_empty());
        // A version already reached does not wait.
        waiters.observed(5);
        tokio::time::timeout(Duration::from_secs(1), waiters.caught_up(3)).await.expect("no wait");
    }
}
