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
use crate::api::{Watch, WatchEvent};

/// The resourceVersion a watch starts from (none: the current objects first).
pub fn start_from(q: &ListQuery) -> Result<Option<u64>, Failure> {
    match q.resource_version.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| Failure::bad_request(format!("invalid resource version {v:?}"))),
    }
}

/// Streams `watch`'s events; `render` makes the object of each (the first one knows it is
/// first, for a Table's columns). `kind` names the bookmarks' objects.
pub fn stream<T: Send + 'static>(
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
