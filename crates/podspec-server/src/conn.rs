//! Connections under hostile clients. Every local user can reach serve's port, so a connection
//! holds a slot only for as long as it keeps to the protocol:
//! - at most [`Limits::max_connections`] at once; at the cap, a newcomer takes the slot of the
//!   oldest connection that has not yet sent a request with the token (closed at once), and
//!   when every slot is held by a client that sent the token, the newcomer is closed at once:
//!   nothing waits in a queue;
//! - the TLS handshake has [`Limits::handshake`] to finish, a request's head
//!   [`Limits::header`] (the same timer bounds an idle keep-alive connection: it runs from the
//!   end of the last response), a request's body [`Limits::body`];
//! - a write that makes no progress for [`Limits::write`] ends the connection, so a watch whose
//!   client stopped reading ends too (hyper buffers a bounded amount before it stops polling the
//!   response);
//! - an accept that fails (EMFILE, ENFILE, ECONNABORTED, anything) is logged and retried after a
//!   short back-off; out of descriptors, the oldest connection without the token is closed to
//!   free one. Serve never stops because of a client.

use std::collections::BTreeMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The bounds a connection lives within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// From accept to the end of the TLS handshake.
    pub handshake: Duration,
    /// From the end of the last response (or the handshake) to the end of the next request's head.
    pub header: Duration,
    /// To receive a request's whole body.
    pub body: Duration,
    /// A write that makes no progress for this long ends the connection.
    pub write: Duration,
    /// The longest pause after a failed accept.
    pub max_backoff: Duration,
}

impl Default for Limits {
    /// kube-apiserver reads a request's head within 32 s and closes an idle connection after
    /// 90 s; serve answers loopback clients whose handshake takes milliseconds, so it allows
    /// 10 s for a handshake and 30 s for a head or an idle gap (hyper's own default).
    fn default() -> Self {
        Self {
            max_connections: 1024,
            handshake: Duration::from_secs(10),
            header: Duration::from_secs(30),
            body: Duration::from_secs(30),
            write: Duration::from_secs(30),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// Put in each request's extensions: marks the connection as one that sent the token (it is then
/// never closed to make room).
#[derive(Clone)]
pub struct Trust(Arc<AtomicBool>);

impl Trust {
    pub fn grant(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

struct Entry {
    trusted: Arc<AtomicBool>,
    close: Arc<tokio::sync::Notify>,
}

/// The connections being served, oldest first.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    slots: Mutex<BTreeMap<u64, Entry>>,
}

/// A connection's place; freed when dropped.
struct Slot {
    id: u64,
    registry: Arc<Registry>,
    trusted: Arc<AtomicBool>,
    close: Arc<tokio::sync::Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.slots.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

impl Registry {
    /// A slot for a new connection, or None when every slot is held by a trusted connection.
    fn admit(self: &Arc<Self>, max: usize) -> Option<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= max && !Self::evict(&mut slots) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let trusted = Arc::new(AtomicBool::new(false));
        let close = Arc::new(tokio::sync::Notify::new());
        slots.insert(id, Entry { trusted: trusted.clone(), close: close.clone() });
        Some(Slot { id, registry: self.clone(), trusted, close })
    }

    /// Closes the oldest connection that has not sent the token; false when there is none.
    fn evict(slots: &mut BTreeMap<u64, Entry>) -> bool {
        let Some(id) = slots.iter().find(|(_, e)| !e.trusted.load(Ordering::Relaxed)).map(|(id, _)| *id) else {
            return false;
        };
        if let Some(e) = slots.remove(&id) {
            e.close.notify_one();
        }
        true
    }

    fn evict_one(&self) -> bool {
        Self::evict(&mut self.slots.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether an accept failed for want of descriptors (the process's or the system's).
fn out_of_descriptors(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM))
}

/// Raises the soft limit on open files to the hard one, so that the connection cap, not the
/// descriptor limit, is what a flood of connections meets first.
fn raise_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(error = %e, "could not raise the open-file limit from {soft} to {hard}");
            }
        }
    }
}

/// Serves HTTPS on `listener` until `shutdown` completes, within `limits`.
pub async fn run(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
    limits: Limits,
) -> std::io::Result<()> {
    raise_descriptor_limit();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let registry = Arc::new(Registry::default());
    let first_backoff = Duration::from_millis(10);
    let mut backoff = first_backoff;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => return Ok(()),
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => {
                backoff = first_backoff;
                tcp
            }
            Err(e) => {
                let freed = out_of_descriptors(&e) && registry.evict_one();
                // Once per run of failures at warn level, so a flood does not flood the log.
                if backoff == first_backoff {
                    tracing::warn!(error = %e, closed_one_without_token = freed, "accept failed; serve goes on");
                } else {
                    tracing::debug!(error = %e, closed_one_without_token = freed, "accept failed again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = &mut shutdown => return Ok(()),
                }
                backoff = (backoff * 2).min(limits.max_backoff);
                continue;
            }
        };
        let Some(slot) = registry.admit(limits.max_connections) else {
            tracing::debug!("refused a connection: every slot is held by a client with the token");
            drop(tcp);
            continue;
        };
        tokio::spawn(serve_connection(tcp, acceptor.clone(), app.clone(), slot, limits));
    }
}

async fn serve_connection(tcp: tokio::net::TcpStream, acceptor: tokio_rustls::TlsAcceptor, app: Router, slot: Slot, limits: Limits) {
    let _ = tcp.set_nodelay(true);
    let trusted = Trust(slot.trusted.clone());
    let work = async move {
        let stream = match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => return tracing::debug!("TLS handshake not done within {:?}: closed", limits.handshake),
        };
        let service = tower::ServiceExt::map_request(app, move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(trusted.clone());
            request
        });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header);
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write));
        if let Err(e) = builder.serve_connection(io, service).with_upgrades().await {
            tracing::debug!(error = %e, "connection ended");
        }
    };
    tokio::select! {
        _ = work => {}
        _ = slot.close.notified() => tracing::debug!("closed a connection without the token to make room"),
    }
    drop(slot);
}

/// A stream whose writes fail with TimedOut once they have made no progress for a while.
struct WriteTimeout<S> {
    inner: S,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteTimeout<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self { inner, limit, stalled: None }
    }

    /// Pending while the write may wait on; the error once it waited too long.
    fn pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let limit = self.limit;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("the client read nothing for {limit:?}")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.pending(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn over_the_cap_the_oldest_connection_without_the_token_makes_room_else_the_newcomer_is_refused() {
        let registry = Arc::new(Registry::default());
        let first = registry.admit(3).unwrap();
        let second = registry.admit(3).unwrap();
        let third = registry.admit(3).unwrap();
        first.trusted.store(true, Ordering::Relaxed);
        // Full: the oldest without the token (the second) is told to close, the newcomer admitted.
        let fourth = registry.admit(3).unwrap();
        tokio::time::timeout(Duration::from_secs(1), second.close.notified()).await.expect("the second was not closed");
        assert_eq!(registry.slots.lock().unwrap().len(), 3);
        drop(second);
        assert_eq!(registry.slots.lock().unwrap().len(), 3, "the evicted slot was counted twice");
        third.trusted.store(true, Ordering::Relaxed);
        fourth.trusted.store(true, Ordering::Relaxed);
        // Every slot holds a client with the token: refused at once.
        assert!(registry.admit(3).is_none());
        drop(first);
        assert!(registry.admit(3).is_some(), "a freed slot is not reused");
    }

    #[tokio::test]
    async fn a_write_that_makes_no_progress_fails_after_the_limit() {
        use tokio::io::AsyncWriteExt as _;
        let (client, server) = tokio::io::duplex(16);
        let mut server = WriteTimeout::new(server, Duration::from_millis(200));
        let started = std::time::Instant::now();
        let written = tokio::time::timeout(Duration::from_secs(2), server.write_all(&[0u8; 1024])).await;
        let e = written.expect("the stalled write was still waiting after 2 s").expect_err("the write succeeded");
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200), "failed before the limit");
        drop(client);
    }
}
