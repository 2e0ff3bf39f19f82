//! `/api/v1/events` and `/api/v1/namespaces/{namespace}/events`: the core/v1 events the kubelet
//! (and the scheduler's part) recorded, listed and watched with field selectors
//! (`involvedObject.name` and the others `kubectl describe` asks for), and read one by one.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use k8s_openapi::api::core::v1::Event;
use serde_json::json;

use super::pods::{is_true, ListQuery};
use super::{table, AppState, Failure};
use podspec_api::events::EventSelector;

pub async fn list(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    list_in(state, Some(namespace), q, &headers)
}

pub async fn list_all(State(state): State<AppState>, Query(q): Query<ListQuery>, headers: HeaderMap) -> Result<Response, Failure> {
    list_in(state, None, q, &headers)
}

pub async fn get(State(state): State<AppState>, Path((namespace, name)): Path<(String, String)>) -> Result<Response, Failure> {
    match state.node.events().get(&namespace, &name) {
        Ok(e) => Ok(Json(with_kind(&e)).into_response()),
        Err(_) => Err(Failure::new(404, "NotFound", format!("events {name:?} not found"))),
    }
}

/// An event as the API writes it, with its kind and apiVersion.
fn with_kind(e: &Event) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("kind".into(), "Event".into());
        o.insert("apiVersion".into(), "v1".into());
    }
    v
}

fn list_in(state: AppState, namespace: Option<String>, q: ListQuery, headers: &HeaderMap) -> Result<Response, Failure> {
    let as_table = table::wants_table(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let selector = EventSelector::parse(q.field_selector.as_deref()).map_err(|e| Failure::bad_request(e.to_string()))?;
    // The kubelet's events carry no labels: a label selector selects none of them.
    let has_labels = q.label_selector.as_deref().is_some_and(|l| !l.trim().is_empty());
    let selects =
        move |e: &Event| namespace.as_ref().is_none_or(|n| e.metadata.namespace.as_ref() == Some(n)) && selector.matches(e) && !has_labels;
    let events = state.node.events();
    if is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = events.watch(from, Box::new(selects)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, "Event", move |e: &Event, first| {
            if as_table {
                table::event_table(std::slice::from_ref(e), e.metadata.resource_version.as_deref().unwrap_or(""), first, &include)
            } else {
                with_kind(e)
            }
        }));
    }
    let (all, rv) = events.list_at();
    if as_table {
        let items: Vec<Event> = all.into_iter().filter(|e| selects(e)).collect();
        return Ok(Json(table::event_table(&items, &rv.to_string(), true, &include)).into_response());
    }
    let items: Vec<serde_json::Value> = all.iter().filter(|e| selects(e)).map(with_kind).collect();
    let list = json!({"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok((StatusCode::OK, Json(list)).into_response())
}
