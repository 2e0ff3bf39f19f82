//! Request bodies: every one is read here, whatever its content type (JSON, YAML, protobuf,
//! every patch type, apply), before a handler sees it: at most [`MAX_BODY`] bytes within the
//! body timeout, or a Status: 413 `RequestEntityTooLarge` with kube-apiserver's text, 408
//! `Timeout`. Only a client with the token gets this far (the body is read after
//! authentication).

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use super::Failure;

/// kube-apiserver's limit on a request body (`MaxRequestBodyBytes`, 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// The Status of a body over the limit, as kube-apiserver words it.
pub fn too_large() -> Failure {
    Failure::new(413, "RequestEntityTooLarge", format!("Request entity too large: limit is {MAX_BODY}"))
}

/// Reads the body within `limit` time, then passes the request on with the bytes.
pub async fn bounded(limit: Duration, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large().into_response();
    }
    let (parts, body) = request.into_parts();
    let read = http_body_util::Limited::new(body, MAX_BODY).collect();
    let bytes = match tokio::time::timeout(limit, read).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return too_large().into_response(),
        Ok(Err(e)) => return Failure::bad_request(format!("reading the request body: {e}")).into_response(),
        Err(_) => {
            return Failure::new(408, "Timeout", format!("the request body was not received within {}s", limit.as_secs())).into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
