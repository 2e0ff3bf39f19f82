//! `/version`, the health checks and discovery (`/api`, `/api/v1`, `/apis`). Discovery is the
//! legacy form; a client asking for the aggregated form gets it too, since it accepts plain
//! `application/json` as well and falls back.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

/// The Kubernetes API version the served objects follow (k8s-openapi's `v1_33`).
pub const KUBERNETES_MINOR: &str = "33";

pub async fn version() -> Json<Value> {
    Json(json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": format!("v1.{KUBERNETES_MINOR}.0+podspec-{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    }))
}

/// The architecture as Go names it (`GOARCH`).
pub use podspec_images::go_arch;

pub async fn healthy() -> &'static str {
    "ok"
}

pub async fn api_versions(headers: HeaderMap) -> Json<Value> {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }))
}

pub async fn api_groups() -> Json<Value> {
    Json(json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [super::access_reviews::group(), super::rbac::group(), super::runtime_classes::group()]
    }))
}

fn resource(name: &str, singular: &str, namespaced: bool, kind: &str, verbs: &[&str], short: &[&str]) -> Value {
    let mut r = json!({
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": verbs,
    });
    if !short.is_empty() {
        r["shortNames"] = json!(short);
    }
    if name == "pods" {
        r["categories"] = json!(["all"]);
    }
    r
}

pub async fn api_v1_resources(State(_): State<AppState>) -> Json<Value> {
    let crud = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    Json(json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            resource("configmaps", "configmap", true, "ConfigMap", &crud, &["cm"]),
            resource("events", "event", true, "Event", &["get", "list", "watch"], &["ev"]),
            resource("namespaces", "namespace", false, "Namespace", &["create", "delete", "get", "list", "watch"], &["ns"]),
            resource("nodes", "node", false, "Node", &["get", "list", "watch"], &["no"]),
            resource("nodes/proxy", "", false, "NodeProxyOptions", &["get"], &[]),
            resource("pods", "pod", true, "Pod", &crud, &["po"]),
            resource("pods/attach", "", true, "PodAttachOptions", &["create", "get"], &[]),
            resource("pods/ephemeralcontainers", "", true, "Pod", &["get", "patch", "update"], &[]),
            resource("pods/exec", "", true, "PodExecOptions", &["create", "get"], &[]),
            resource("pods/log", "", true, "Pod", &["get"], &[]),
            resource("pods/status", "", true, "Pod", &["get", "update"], &[]),
            resource("serviceaccounts", "serviceaccount", true, "ServiceAccount", &crud, &["sa"]),
            resource("serviceaccounts/token", "", true, "TokenRequest", &["create"], &[]),
            resource("secrets", "secret", true, "Secret", &crud, &[]),
        ],
    }))
}
