//! `/api/v1/events`: core/v1 events. The kubelet keeps its events in its log, not yet as API
//! objects, so the lists are empty (`kubectl describe` shows `Events: <none>`).

use axum::Json;
use k8s_openapi::api::core::v1::Event;

pub async fn list() -> Json<k8s_openapi::List<Event>> {
    Json(k8s_openapi::List { items: Vec::new(), metadata: Default::default() })
}

pub async fn list_all() -> Json<k8s_openapi::List<Event>> {
    list().await
}
