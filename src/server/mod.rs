//! `podspec serve`: a node (`node::Node`) behind a Kubernetes HTTP API. HTTPS on loopback with
//! a CA of its own and a bearer token; handlers translate HTTP to calls on the node's API
//! stores (and, for what kube-apiserver proxies to a kubelet, on the kubelet) and back. One file per
//! resource: `discovery`, `namespaces`, `nodes`, `pods`, `pod_subresources`,
//! `ephemeral_containers`, `exec`, `events`, `configmaps`, `secrets` (the last two through the
//! generic handlers of `objects`); `status`
//! writes metav1 Status errors, `table` the Table form of pods, `patch` the patch types, `apply`
//! server-side apply of a pod; `conn` keeps connections within their limits, `body` bounds
//! request bodies, `kubeconfig` writes the token's file safely.

pub mod access_reviews;
pub mod apply;
pub mod body;
pub mod configmaps;
pub mod conn;
pub mod discovery;
pub mod ephemeral_containers;
pub mod events;
pub mod exec;
mod exec_session;
mod exec_spdy;
mod exec_websocket;
pub mod kubeconfig;
pub mod namespaces;
pub mod nodes;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod pod_subresources;
pub mod pods;
pub mod protobuf;
pub mod secrets;
pub mod status;
pub mod table;
pub mod tls;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::node::Node;

pub use status::Failure;

/// What every handler reaches.
pub struct Server {
    /// The node serve is the API of.
    pub node: Arc<Node>,
    pub token: String,
}

pub type AppState = Arc<Server>;

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let ns_pods = "/api/v1/namespaces/{namespace}/pods";
    let router = objects::routes::<crate::api::configmaps::ConfigMapStrategy>(Router::new());
    let router = objects::routes::<crate::api::secrets::SecretStrategy>(router);
    router
        .route("/version", get(discovery::version))
        .route("/healthz", get(discovery::healthy))
        .route("/livez", get(discovery::healthy))
        .route("/readyz", get(discovery::healthy))
        .route("/api", get(discovery::api_versions))
        .route("/api/v1", get(discovery::api_v1_resources))
        .route("/apis", get(discovery::api_groups))
        .route("/apis/authorization.k8s.io", get(access_reviews::api_group))
        .route("/apis/authorization.k8s.io/v1", get(access_reviews::resources))
        .route("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", axum::routing::post(access_reviews::create))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::index))
        .route("/openapi/v3/api/v1", get(openapi::api_v1))
        .route("/api/v1/namespaces", get(namespaces::list).post(namespaces::create))
        .route("/api/v1/namespaces/{name}", get(namespaces::get).delete(namespaces::delete))
        .route("/api/v1/nodes", get(nodes::list))
        .route("/api/v1/nodes/{name}", get(nodes::read))
        .route("/api/v1/nodes/{name}/proxy/configz", get(nodes::configz))
        .route("/api/v1/nodes/{name}/proxy/logs/", get(nodes::log_query))
        .route("/api/v1/pods", get(pods::list_all))
        .route(ns_pods, get(pods::list).post(pods::create).delete(pods::delete_collection))
        .route(&format!("{ns_pods}/{{name}}"), get(pods::get).put(pods::replace).patch(pods::patch).delete(pods::delete))
        .route(
            &format!("{ns_pods}/{{name}}/status"),
            get(pod_subresources::get_status).put(pod_subresources::put_status).patch(pod_subresources::patch_status),
        )
        .route(
            &format!("{ns_pods}/{{name}}/ephemeralcontainers"),
            get(ephemeral_containers::get).put(ephemeral_containers::replace).patch(ephemeral_containers::patch),
        )
        .route(&format!("{ns_pods}/{{name}}/log"), get(pod_subresources::log))
        .route(&format!("{ns_pods}/{{name}}/exec"), get(exec::exec).post(exec::exec))
        .route("/api/v1/events", get(events::list_all))
        .route("/api/v1/namespaces/{namespace}/events", get(events::list))
        .route("/api/v1/namespaces/{namespace}/events/{name}", get(events::get))
        .fallback(status::not_found_route)
        .method_not_allowed_fallback(status::method_not_allowed)
        .layer(axum::middleware::from_fn(|r, n| body::bounded(conn::Limits::default().body, r, n)))
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(axum::middleware::from_fn(status::errors_as_status))
        .with_state(state)
}

/// A request without the bearer token is answered 401 with a Status, as kube-apiserver does.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let wanted = format!("Bearer {}", state.token);
    let given = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if given != Some(wanted.as_str()) {
        return Failure::new(401, "Unauthorized", "Unauthorized").into_response();
    }
    // The connection is a client's, no longer one it may be closed to make room for.
    if let Some(trust) = request.extensions().get::<conn::Trust>() {
        trust.grant();
    }
    next.run(request).await
}

/// Serves HTTPS on `listener` until `shutdown` completes, within the default [`conn::Limits`].
pub async fn run(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    conn::run(listener, tls, app, shutdown, conn::Limits::default()).await
}

/// Whether an address is loopback only (anything else is used only when asked for, with a
/// warning).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
