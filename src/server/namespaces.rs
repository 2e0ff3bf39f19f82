//! `/api/v1/namespaces`: the namespaces every cluster has. The reference API keeps pods in any
//! namespace; namespaces themselves are not objects of its store yet, so creating and
//! deleting them is refused (405) rather than pretended.

use axum::extract::{Path, State};
use axum::Json;
use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{AppState, Failure};

pub const BUILT_IN: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

fn namespace(state: &AppState, name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            uid: Some(crate::api::store::uid(name, 0)),
            resource_version: Some("1".into()),
            creation_timestamp: Some(crate::runtime::kubelet::k8s_time(state.started)),
            labels: Some([("kubernetes.io/metadata.name".to_string(), name.to_string())].into()),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::core::v1::NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
        status: Some(NamespaceStatus { phase: Some("Active".into()), ..Default::default() }),
    }
}

pub async fn list(State(state): State<AppState>) -> Json<k8s_openapi::List<Namespace>> {
    let items = BUILT_IN.iter().map(|n| namespace(&state, n)).collect();
    Json(k8s_openapi::List { items, metadata: Default::default() })
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Namespace>, Failure> {
    if !BUILT_IN.contains(&name.as_str()) {
        return Err(Failure::new(404, "NotFound", format!("namespaces {name:?} not found"))
            .with_details(serde_json::json!({"name": name, "kind": "namespaces"})));
    }
    Ok(Json(namespace(&state, &name)))
}

pub async fn create() -> Failure {
    Failure::new(405, "MethodNotAllowed", "podspec serve does not create namespaces yet; pods may use any namespace")
}

pub async fn delete() -> Failure {
    Failure::new(405, "MethodNotAllowed", "podspec serve does not delete namespaces yet")
}
