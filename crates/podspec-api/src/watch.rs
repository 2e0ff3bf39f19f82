//! Watches on the store, as the API server's watch cache serves them: every change is kept in a
//! bounded history in resourceVersion order; a watch starts after a resourceVersion and sees
//! `ADDED`, `MODIFIED` and `DELETED` events from there on, filtered by a predicate (an object
//! that starts to match is `ADDED`, one that stops matching is `DELETED`, as the cacher does);
//! a resourceVersion older than the history answers 410 Gone, reason `Expired`
//! (staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go). One watch for every
//! kind of object the API keeps. Each change is kept once, shared (`Arc`) by every watcher
//! that reads it: a watcher clones only the objects its filter selects.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::generic::Scope;
use super::store::ApiError;

/// How many changes the history keeps (the watch cache's capacity).
pub const HISTORY: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One change of the store: the object after it (for a deletion, as it was when deleted, with
/// the deletion's resourceVersion) and before it, shared by every watcher.
#[derive(Debug)]
pub struct Change<T = Pod> {
    pub rv: u64,
    pub kind: ChangeKind,
    pub object: Arc<T>,
    pub prev: Option<Arc<T>>,
}

impl<T> Clone for Change<T> {
    fn clone(&self) -> Self {
        Self { rv: self.rv, kind: self.kind, object: self.object.clone(), prev: self.prev.clone() }
    }
}

/// What a watcher receives.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent<T = Pod> {
    Added(T),
    Modified(T),
    Deleted(T),
    /// No change up to this resourceVersion (sent when asked for, after a quiet interval).
    Bookmark(u64),
}

impl<T> WatchEvent<T> {
    /// The type as the watch protocol names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
        }
    }

    /// The object of the event (none for a bookmark).
    pub fn object(&self) -> Option<&T> {
        match self {
            WatchEvent::Added(p) | WatchEvent::Modified(p) | WatchEvent::Deleted(p) => Some(p),
            WatchEvent::Bookmark(_) => None,
        }
    }
}

impl WatchEvent<Pod> {
    pub fn pod(&self) -> Option<&Pod> {
        self.object()
    }
}

/// Which objects a watch sees.
pub type Filter<T = Pod> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// What a watch reads its changes from: a store that keeps a history.
pub(super) trait ChangeSource<T>: Send + Sync {
    /// Wakes with the resourceVersion of each new change.
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64>;
    /// The changes after `rv` of the objects of `scope` (in it before or after), and the
    /// resourceVersion they reach (every such change up to it is among them), or Expired.
    fn changes_since(&self, rv: u64, scope: &Scope) -> Result<(Vec<Change<T>>, u64), ApiError>;
}

/// The history of changes, oldest first.
pub(super) struct History<T = Pod> {
    changes: VecDeque<Change<T>>,
    /// The resourceVersion of the newest change no longer kept (0: none went yet). Versions
    /// come from a sequence shared by every kind, so a kind's changes need not be consecutive.
    dropped: u64,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self { changes: VecDeque::new(), dropped: 0 }
    }
}

impl<T> History<T> {
    pub(super) fn push(&mut self, change: Change<T>) {
        if self.changes.len() == HISTORY {
            if let Some(gone) = self.changes.pop_front() {
                self.dropped = gone.rv;
            }
        }
        self.changes.push_back(change);
    }

    /// The changes after `rv` that `wanted` takes (only those are cloned), or Expired when
    /// some changes after `rv` are no longer kept.
    pub(super) fn since(&self, rv: u64, wanted: impl Fn(&Change<T>) -> bool) -> Result<Vec<Change<T>>, ApiError> {
        // The oldest resourceVersion a watch may start from: that of the newest change dropped.
        if rv < self.dropped {
            return Err(ApiError::expired(rv, self.dropped));
        }
        let first = self.changes.partition_point(|c| c.rv <= rv);
        Ok(self.changes.range(first..).filter(|c| wanted(c)).cloned().collect())
    }
}

/// An event with its object owned: moved out when no one else holds it (an initial object),
/// else copied.
fn owned<T: Clone>(event: WatchEvent<Arc<T>>) -> WatchEvent<T> {
    match event {
        WatchEvent::Added(o) => WatchEvent::Added(Arc::unwrap_or_clone(o)),
        WatchEvent::Modified(o) => WatchEvent::Modified(Arc::unwrap_or_clone(o)),
        WatchEvent::Deleted(o) => WatchEvent::Deleted(Arc::unwrap_or_clone(o)),
        WatchEvent::Bookmark(rv) => WatchEvent::Bookmark(rv),
    }
}

/// A watch on the objects of a store, from a resourceVersion on.
pub struct Watch<T> {
    store: Arc<dyn ChangeSource<T>>,
    /// The objects whose changes the store hands this watch.
    scope: Scope,
    filter: Filter<T>,
    /// The resourceVersion of the last change this watch has looked at.
    seen: u64,
    /// Its events, each object shared as the store keeps it until a caller wants it owned.
    pending: VecDeque<WatchEvent<Arc<T>>>,
    notify: tokio::sync::watch::Receiver<u64>,
}

/// A watch on the pods of a store.
pub type PodWatch = Watch<Pod>;

impl<T: Clone> Watch<T> {
    pub(super) fn new(store: Arc<dyn ChangeSource<T>>, scope: Scope, filter: Filter<T>, seen: u64, initial: Vec<T>) -> Self {
        let notify = store.subscribe();
        Self { store, scope, filter, seen, pending: initial.into_iter().map(|o| WatchEvent::Added(Arc::new(o))).collect(), notify }
    }

    /// The resourceVersion up to which this watch has seen every change.
    pub fn resource_version(&self) -> u64 {
        self.seen
    }

    /// The next event, waiting for one. Err(Expired) when the watch fell so far behind that
    /// the history no longer holds what it missed (the client lists again).
    pub async fn next(&mut self) -> Result<WatchEvent<T>, ApiError> {
        self.next_shared().await.map(owned)
    }

    /// [`Self::next`] with the event's object shared as the store keeps it: nothing is copied
    /// (what the kubelet reads its pods with).
    pub async fn next_shared(&mut self) -> Result<WatchEvent<Arc<T>>, ApiError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(e);
            }
            // Marked seen before looking, so a change made meanwhile wakes the wait below.
            self.notify.borrow_and_update();
            self.catch_up()?;
            if !self.pending.is_empty() {
                continue;
            }
            if self.notify.changed().await.is_err() {
                // The store is gone: nothing more will happen.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The next event, or a bookmark when nothing happened for `interval`.
    pub async fn next_or_bookmark(&mut self, interval: Duration) -> Result<WatchEvent<T>, ApiError> {
        match tokio::time::timeout(interval, self.next()).await {
            Ok(r) => r,
            Err(_) => {
                self.catch_up()?;
                match self.pending.pop_front() {
                    Some(e) => Ok(owned(e)),
                    None => Ok(WatchEvent::Bookmark(self.seen)),
                }
            }
        }
    }

    /// Turns the changes since the last look into events for this watch.
    fn catch_up(&mut self) -> Result<(), ApiError> {
        let (changes, reached) = self.store.changes_since(self.seen, &self.scope)?;
        for c in changes {
            self.seen = c.rv;
            let now = c.kind != ChangeKind::Deleted && (self.filter)(&c.object);
            let before = c.prev.as_ref().is_some_and(|p| (self.filter)(p));
            // The shared change is kept shared: only a caller that wants the object owned
            // copies it (`next`).
            let event = match (before, now) {
                (false, true) => WatchEvent::Added(c.object),
                (true, true) => WatchEvent::Modified(c.object),
                (true, false) => WatchEvent::Deleted(c.object),
                (false, false) => continue,
            };
            self.pending.push_back(event);
        }
        self.seen = self.seen.max(reached);
        Ok(())
    }
}
