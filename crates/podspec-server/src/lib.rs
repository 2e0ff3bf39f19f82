//! `podspec serve`: a node (`node::Node`) behind a Kubernetes HTTP API. HTTPS on loopback with
//! a CA of its own and a bearer token; handlers translate HTTP to calls on the node's API
//! stores (and, for what kube-apiserver proxies to a kubelet, on the kubelet) and back. One file per
//! resource: `discovery`, `namespaces`, `nodes`, `pods`, `pod_subresources`, `runtime_classes`,
//! `ephemeral_containers`, `exec`, `attach`, `events`, `configmaps`, `secrets` (the last two through the
//! generic handlers of `objects`), `rbac`; `authz` authorizes every request; `status`
//! writes metav1 Status errors, `table` the Table form of pods, `patch` the patch types, `apply`
//! server-side apply of a pod; `conn` keeps connections within their limits, `body` bounds
//! request bodies, `kubeconfig` writes the token's file safely.
//!
//! The crate lies over the node (`podspec-node`), its API (`podspec-api`) and the remote command
//! protocol (`podspec-cri`); it sees none of the harness (the targets, the steps, the runner,
//! the commands, certify, bench).

#![forbid(unsafe_code)]

pub mod access_reviews;
pub mod apply;
pub mod attach;
pub mod authz;
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
pub mod rbac;
pub mod runtime_classes;
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

use podspec_node::Node;

pub use status::Failure;

/// What every handler reaches.
pub struct Server {
    /// The node serve is the API of.
    pub node: Arc<Node>,
    /// serve's own token (cluster-admin) and the ServiceAccount tokens it issued.
    pub tokens: authz::Tokens,
}

impl Server {
    /// The server of `node`, whose own bearer token is `token`; the roles and bindings
    /// kube-apiserver bootstraps are made in the node's API.
    pub fn new(node: Arc<Node>, token: &str) -> Self {
        authz::bootstrap(node.api());
        Self { node, tokens: authz::Tokens::new(token) }
    }
}

pub type AppState = Arc<Server>;

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let ns_pods = "/api/v1/namespaces/{namespace}/pods";
    let router = objects::routes::<podspec_api::configmaps::ConfigMapStrategy>(Router::new());
    let router = objects::routes::<podspec_api::secrets::SecretStrategy>(router);
    rbac::routes(router)
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
        .route("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", axum::routing::post(access_reviews::create_rules))
        .route("/apis/authorization.k8s.io/v1/subjectaccessreviews", axum::routing::post(access_reviews::create_subject))
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
        .route(&format!("{ns_pods}/{{name}}/attach"), get(attach::attach).post(attach::attach))
        .route("/api/v1/events", get(events::list_all))
        .route("/api/v1/namespaces/{namespace}/events", get(events::list))
        .route("/api/v1/namespaces/{namespace}/events/{name}", get(events::get))
        .merge(runtime_class_routes())
        .fallback(status::not_found_route)
        .method_not_allowed_fallback(status::method_not_allowed)
        .layer(axum::middleware::from_fn(|r, n| body::bounded(conn::Limits::default().body, r, n)))
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(axum::middleware::from_fn(status::errors_as_status))
        .with_state(state)
}

/// The node.k8s.io group: discovery and RuntimeClasses.
fn runtime_class_routes() -> Router<AppState> {
    use axum::routing::post;
    let rcs = "/apis/node.k8s.io/v1/runtimeclasses";
    Router::new()
        .route("/apis/node.k8s.io", get(runtime_classes::api_group))
        .route("/apis/node.k8s.io/v1", get(runtime_classes::resources))
        .route(rcs, get(runtime_classes::list).merge(post(runtime_classes::create)).delete(runtime_classes::delete_collection))
        .route(
            &format!("{rcs}/{{name}}"),
            get(runtime_classes::get).put(runtime_classes::replace).patch(runtime_classes::patch).delete(runtime_classes::delete),
        )
}

/// A request without a token serve accepts is answered 401 with a Status, one its
/// authorizer refuses 403, as kube-apiserver does (`authz`). The identity goes with the
/// request to the handlers (the access reviews ask about it).
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let given = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let user = given.and_then(|g| g.strip_prefix("Bearer ")).and_then(|t| state.tokens.authenticate(state.node.api(), t.trim()));
    let Some(user) = user else {
        return Failure::new(401, "Unauthorized", "Unauthorized").into_response();
    };
    let user = match authz::impersonate(state.node.api(), user, request.headers()) {
        Ok(u) => u,
        Err(f) => return f.into_response(),
    };
    let attributes = authz::request_attributes(request.method().as_str(), request.uri().path(), request.uri().query());
    let decision = authz::authorize(state.node.api(), &user, &attributes);
    if !decision.allowed {
        return authz::forbidden(&user, &attributes, &decision.reason).into_response();
    }
    request.extensions_mut().insert(user);
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
