//! A watch response, for any resource: one JSON event per line (`ADDED`, `MODIFIED`,
//! `DELETED`, `BOOKMARK`, `ERROR`), until the client goes or `timeoutSeconds` pass, as
//! kube-apiserver streams them.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::pods::{is_true, ListQuery};
use super::Failure;
use podspec_api::{Watch, WatchEvent};

/// The resourceVersion a watch starts from (none: the current objects first).
pub fn start_from(q: &ListQuery) -> Result<Option<u64>, Failure> {
    match q.resource_version.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| Failure::bad_request(format!("invalid resource version {v:?}"))),
    }
}

/// Streams `watch`'s events; `render` makes the object of each (the first one knows it is
/// first, for a Table's columns). `kind` names the bookmarks' objects.
pub fn stream<T: Clone + Send + Sync + 'static>(
    watch: Watch<T>,
    q: &ListQuery,
    kind: &'static str,
    render: impl Fn(&T, bool) -> Value + Send + Sync + 'static,
) -> Response {
    let bookmarks = is_true(&q.allow_watch_bookmarks);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.timeout_seconds.unwrap_or(1800));
    let render = std::sync::Arc::new(render);
    let stream = futures::stream::unfold((watch, true, false), move |(mut w, first, ended)| {
        let render = render.clone();
        async move {
            if ended {
                return None;
            }
            let event = if bookmarks {
                tokio::time::timeout_at(deadline, w.next_or_bookmark(Duration::from_secs(60))).await.ok()?
            } else {
                tokio::time::timeout_at(deadline, w.next()).await.ok()?
            };
            let failed = event.is_err();
            let line = match event {
                Ok(WatchEvent::Bookmark(rv)) => {
                    json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}}})
                }
                Ok(e) => {
                    let object = e.object().map(|o| render(o, first)).unwrap_or_default();
                    json!({"type": e.type_name(), "object": object})
                }
                Err(e) => json!({"type": "ERROR", "object": Failure::from(e).status()}),
            };
            let mut bytes = line.to_string().into_bytes();
            bytes.push(b'\n');
            Some((Ok::<_, Infallible>(Bytes::from(bytes)), (w, false, failed)))
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// A watch of objects kept outside the API store (the namespaces serve keeps, the one node):
/// `initial` as `ADDED` events, then each `(type, object)` that `changes` brings, until the client
/// goes or `timeoutSeconds` pass. These objects have no history: a watch from a
/// resourceVersion starts at the present, and one older than the present is 410 Expired.
pub fn stream_changes(
    initial: Vec<Value>,
    changes: Option<tokio::sync::broadcast::Receiver<(&'static str, Value)>>,
    q: &ListQuery,
    render: impl Fn(Value, bool) -> Value + Send + Sync + 'static,
) -> Response {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.timeout_seconds.unwrap_or(1800));
    let first = futures::stream::iter(initial.into_iter().map(|o| ("ADDED", o)));
    let rest = futures::stream::unfold(Some(changes), move |changes| async move {
        let Some(mut rx) = changes? else {
            // Nothing changes: the watch stays open, quiet, until it ends.
            tokio::time::sleep_until(deadline).await;
            return None;
        };
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => None,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let gone = Failure::new(410, "Expired", "too old resource version: the watch fell behind").status();
                Some((("ERROR", gone), None))
            }
            Ok(Ok(change)) => Some((change, Some(Some(rx)))),
        }
    });
    let pending = futures::StreamExt::take_until(futures::StreamExt::chain(first, rest), tokio::time::sleep_until(deadline));
    let mut first_object = true;
    let lines = futures::StreamExt::map(pending, move |(kind, object)| {
        let object = if kind == "ERROR" { object } else { render(object, std::mem::take(&mut first_object)) };
        let mut bytes = json!({"type": kind, "object": object}).to_string().into_bytes();
        bytes.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(bytes))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(lines))
        .expect("response")
}
