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

/// How much of a body over the limit is read and dropped before the 413 (at most for
/// [`DRAIN_TIME`]), so that a client still sending does not meet a closed connection and lose the
/// answer to a reset, as kube-apiserver's server reads on before it closes.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

enum Read {
    Whole(Vec<u8>),
    TooLarge,
}

/// Reads the body within `limit` time, then passes the request on with the bytes.
pub async fn bounded(limit: Duration, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let declared = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let declared_too_large = declared.is_some_and(|n| n > MAX_BODY as u64);
    // A client that waits for 100 Continue has sent nothing yet: answered at once.
    let waits = headers.get(axum::http::header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if declared_too_large && waits {
        return too_large().into_response();
    }
    let (parts, mut body) = request.into_parts();
    let read = async {
        let mut kept = Vec::new();
        let mut over: Option<(tokio::time::Instant, usize)> = declared_too_large.then(|| (tokio::time::Instant::now() + DRAIN_TIME, 0));
        loop {
            let frame = match over {
                None => body.frame().await,
                Some((deadline, _)) => match tokio::time::timeout_at(deadline, body.frame()).await {
                    Ok(frame) => frame,
                    Err(_) => break,
                },
            };
            let Some(frame) = frame else { break };
            let Ok(data) = frame?.into_data() else { continue };
            match &mut over {
                Some((_, dropped)) => {
                    *dropped += data.len();
                    if *dropped > DRAIN_BYTES {
                        break;
                    }
                }
                None if kept.len() + data.len() > MAX_BODY => {
                    over = Some((tokio::time::Instant::now() + DRAIN_TIME, 0));
                    kept = Vec::new();
                }
                None => kept.extend_from_slice(&data),
            }
        }
        Ok::<_, axum::Error>(if over.is_some() { Read::TooLarge } else { Read::Whole(kept) })
    };
    let bytes = match tokio::time::timeout(limit, read).await {
        Ok(Ok(Read::Whole(bytes))) => bytes,
        Ok(Ok(Read::TooLarge)) => return too_large().into_response(),
        Ok(Err(e)) => return Failure::bad_request(format!("reading the request body: {e}")).into_response(),
        Err(_) => {
            return Failure::new(408, "Timeout", format!("the request body was not received within {}s", limit.as_secs())).into_response()
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
