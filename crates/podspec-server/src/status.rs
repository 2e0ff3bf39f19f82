//! metav1 Status errors, as kube-apiserver writes them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use podspec_api::ApiError;

/// A failed request: its Status.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl Failure {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self { code, reason: reason.into(), message: message.into(), details: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The Status object.
    pub fn status(&self) -> serde_json::Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        // StatusReasonUnknown is "", which a Status leaves out.
        if self.reason.is_empty() {
            s.as_object_mut().map(|o| o.remove("reason"));
        }
        s
    }

    /// An API store error about a pod.
    pub fn from_api(e: ApiError, name: &str) -> Self {
        // An Invalid error names the kind (`The Pod "x" is invalid`), the others the resource.
        let kind = if e.reason == "Invalid" { "Pod" } else { "pods" };
        let mut details = json!({"name": name, "kind": kind});
        if !e.causes.is_empty() {
            details["causes"] = e.causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect();
        }
        Failure { code: e.code, reason: e.reason, message: e.message, details: Some(details) }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure { code: e.code, reason: e.reason, message: e.message, details: None }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, [(axum::http::header::CONTENT_TYPE, "application/json")], self.status().to_string()).into_response()
    }
}

pub async fn not_found_route(uri: axum::http::Uri) -> Failure {
    let _ = uri;
    Failure::new(404, "NotFound", "the server could not find the requested resource")
        .with_details(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}))
}

pub async fn method_not_allowed(method: axum::http::Method) -> Failure {
    Failure::new(405, "MethodNotAllowed", format!("the server does not allow this method on the requested resource ({method})"))
}

/// The reason kube-apiserver gives a code (k8s.io/apimachinery/pkg/api/errors); "" is Unknown.
pub fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        408 | 504 => "Timeout",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "",
    }
}

/// Every error serve answers is a Status: an error response that is plain text (an axum
/// rejection of a path, query or body; anything a handler did not write as a Status) becomes
/// one, with the text as its message.
pub async fn errors_as_status(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let code = response.status();
    if !(code.is_client_error() || code.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(content_type.is_empty() || content_type.starts_with("text/plain")) {
        return response;
    }
    let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(response.into_body(), 64 * 1024)).await;
    let text = body.map(|b| String::from_utf8_lossy(&b.to_bytes()).trim().to_string()).unwrap_or_default();
    let message = if text.is_empty() { code.canonical_reason().unwrap_or("error").to_string() } else { text };
    Failure::new(code.as_u16(), reason_for(code.as_u16()), message).into_response()
}
