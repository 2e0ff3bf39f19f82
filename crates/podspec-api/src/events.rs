//! The API's core/v1 events: what the kubelet (and the scheduler's part) did to a pod, recorded
//! as client-go's event recorder records it. An event names its object (`involvedObject`,
//! with a `fieldPath` such as `spec.containers{app}` for a container), a type (`Normal` or
//! `Warning`), a reason and a message. A repeat of the same event for the same object (the
//! same type, reason and message) does not make a new one: the recorder's aggregation bumps
//! `count` and `lastTimestamp` of the first (staging/src/k8s.io/client-go/tools/record/
//! events_cache.go). Events are kept in the generic store, listed and watched like pods, with field selectors over
//! `involvedObject.*`, `reason`, `source`, `type` and `reportingComponent`
//! (pkg/registry/core/event/strategy.go `ToSelectableFields`). The store keeps the newest
//! [`KEPT`] events; older ones go, as events expire from a real cluster.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::generic::{Sequence, Store};
use crate::time::now;
use super::strategy::Strategy;
use super::watch::ChangeKind;
use crate::validation::FieldError;

/// How many events the store keeps.
pub const KEPT: usize = 4096;

/// The event types.
pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// Who reports an event (`source` and `reportingComponent`/`reportingInstance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    pub component: String,
    /// The node, for the kubelet.
    pub host: Option<String>,
}

impl Reporter {
    pub fn kubelet(node: &str) -> Self {
        Self { component: "kubelet".into(), host: Some(node.to_string()) }
    }
    pub fn scheduler() -> Self {
        Self { component: "default-scheduler".into(), host: None }
    }
}

/// A reference to a pod, or to one of its containers (`fieldPath`), as an event's
/// `involvedObject` (client-go's `reference.GetReference`, and the kubelet's
/// `GenerateContainerRef` for a container).
pub fn pod_reference(pod: &Pod, field_path: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: Some(pod.metadata.namespace.clone().unwrap_or_else(|| "default".into())),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path,
    }
}

/// The strategy for events: the kubelet's recorder makes them whole, so there is nothing to
/// default; they are kept in the order they were made, the newest [`KEPT`].
#[derive(Debug, Clone, Copy, Default)]
pub struct EventStrategy;

impl Strategy for EventStrategy {
    type Object = Event;

    /// The aggregation key of an event the recorder could count up (one with a type, reason,
    /// message and source component).
    fn lookup_key(e: &Event) -> Option<String> {
        let component = e.source.as_ref()?.component.as_deref()?;
        Some(repeat_key(&e.involved_object, e.type_.as_deref()?, e.reason.as_deref()?, e.message.as_deref()?, component))
    }

    fn prepare_for_create(&self, _event: &mut Event) {}
    fn validate(&self, _event: &Event) -> Vec<FieldError> {
        Vec::new()
    }
    fn prepare_for_update(&self, _new: &mut Event, _old: &Event) {}
    fn validate_update(&self, _new: &Event, _old: &Event) -> Vec<FieldError> {
        Vec::new()
    }
}

/// The events: the generic store with the event strategy, and the recorder's aggregation.
pub type EventStore = Store<EventStrategy>;

/// The recorder's aggregation key of an event (events_cache.go `getEventKey`, with the
/// fields this recorder sets): a repeat of an event has the same one. Each part is written
/// with its length, so no two different events share a key.
fn repeat_key(object: &ObjectReference, type_: &str, reason: &str, message: &str, component: &str) -> String {
    let parts = [
        object.uid.as_deref().unwrap_or(""),
        object.name.as_deref().unwrap_or(""),
        object.namespace.as_deref().unwrap_or(""),
        object.field_path.as_deref().unwrap_or(""),
        type_,
        reason,
        message,
        component,
    ];
    let presence: String =
        [&object.uid, &object.name, &object.namespace, &object.field_path].iter().map(|p| if p.is_some() { '1' } else { '0' }).collect();
    parts.iter().fold(presence, |key, part| format!("{key}:{}:{part}", part.len()))
}

impl Store<EventStrategy> {
    /// A store of events of its own (its own resourceVersions).
    pub fn new() -> Self {
        Self::for_api(Arc::new(Sequence::default()))
    }

    /// The events of an API whose resourceVersions come from `sequence`.
    pub fn for_api(sequence: Arc<Sequence>) -> Self {
        Self::with_strategy(EventStrategy, sequence, "event").keeping(KEPT)
    }

    /// Records an event about `object`: a new one, or a repeat of the same event (its count
    /// goes up). Returns the stored event.
    pub fn record(&self, object: ObjectReference, by: &Reporter, type_: &str, reason: &str, message: &str) -> Event {
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        let uid = self.new_uid();
        let stored = self.write(|events| {
            // Found through the store's index of the aggregation key: no other event is looked at.
            let repeat = events.find(&repeat_key(&object, type_, reason, message, &by.component)).map(|(k, _)| k.clone());
            Ok(match repeat {
                Some(k) => {
                    let prev = events.get(&k).cloned().expect("found");
                    let mut e = prev.clone();
                    e.count = Some(e.count.unwrap_or(1) + 1);
                    e.last_timestamp = Some(now());
                    events.commit(ChangeKind::Modified, e, Some(prev))
                }
                None => {
                    // client-go's name: the object's name and the time in hex nanoseconds.
                    // (Two in the same nanosecond take the next free one.)
                    let mut nanos = i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or_default();
                    let base = object.name.clone().unwrap_or_default();
                    while events.contains(&(namespace.clone(), format!("{base}.{nanos:x}"))) {
                        nanos += 1;
                    }
                    let name = format!("{base}.{nanos:x}");
                    let e = Event {
                        metadata: ObjectMeta {
                            name: Some(name),
                            namespace: Some(namespace.clone()),
                            uid: Some(uid),
                            creation_timestamp: Some(now()),
                            ..Default::default()
                        },
                        involved_object: object,
                        type_: Some(type_.into()),
                        reason: Some(reason.into()),
                        message: Some(message.into()),
                        source: Some(EventSource { component: Some(by.component.clone()), host: by.host.clone() }),
                        reporting_component: Some(by.component.clone()),
                        reporting_instance: Some(by.host.clone().unwrap_or_else(|| by.component.clone())),
                        first_timestamp: Some(now()),
                        last_timestamp: Some(now()),
                        count: Some(1),
                        ..Default::default()
                    };
                    events.commit(ChangeKind::Added, e, None)
                }
            })
        });
        stored.expect("recording an event cannot fail")
    }
}

impl Default for Store<EventStrategy> {
    fn default() -> Self {
        Self::new()
    }
}

/// The fields an event can be selected by, and its value of each
/// (pkg/registry/core/event/strategy.go `ToSelectableFields`).
pub fn selectable_fields(e: &Event) -> Vec<(&'static str, String)> {
    let o = &e.involved_object;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("metadata.name", s(&e.metadata.name)),
        ("metadata.namespace", s(&e.metadata.namespace)),
        ("involvedObject.kind", s(&o.kind)),
        ("involvedObject.namespace", s(&o.namespace)),
        ("involvedObject.name", s(&o.name)),
        ("involvedObject.uid", s(&o.uid)),
        ("involvedObject.apiVersion", s(&o.api_version)),
        ("involvedObject.resourceVersion", s(&o.resource_version)),
        ("involvedObject.fieldPath", s(&o.field_path)),
        ("reason", s(&e.reason)),
        ("reportingComponent", s(&e.reporting_component)),
        ("source", e.source.as_ref().and_then(|x| x.component.clone()).unwrap_or_default()),
        ("type", s(&e.type_)),
    ]
}

/// A field selector over events (`k=v`, `k==v`, `k!=v`, comma-separated); the error is the
/// API server's text for a field events cannot be selected by.
#[derive(Debug, Clone, Default)]
pub struct EventSelector {
    fields: Vec<(String, bool, String)>,
}

impl EventSelector {
    pub fn parse(fields: Option<&str>) -> Result<Self, crate::Error> {
        let mut sel = Self::default();
        for part in fields.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, equal, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(crate::Error::SelectorTerm { part: part.into() });
            };
            let key = key.trim();
            if !selectable_fields(&Event::default()).iter().any(|(f, _)| *f == key) {
                return Err(crate::Error::EventFieldNotSelectable { key: key.into() });
            }
            sel.fields.push((key.to_string(), equal, value.trim().to_string()));
        }
        Ok(sel)
    }

    pub fn matches(&self, e: &Event) -> bool {
        if self.fields.is_empty() {
            return true;
        }
        let values = selectable_fields(e);
        self.fields.iter().all(|(k, equal, v)| {
            let actual = values.iter().find(|(f, _)| f == k).map(|(_, x)| x.as_str()).unwrap_or("");
            (actual == v) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WatchEvent;

    fn pod(name: &str, uid: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.namespace = Some("ns".into());
        p.metadata.uid = Some(uid.into());
        p
    }

    #[test]
    fn a_repeated_event_counts_up_and_a_different_one_is_new() {
        let s = EventStore::new();
        let by = Reporter::kubelet("node");
        let r = pod_reference(&pod("web", "u1"), Some("spec.containers{app}".into()));
        let first = s.record(r.clone(), &by, WARNING, "BackOff", "Back-off restarting failed container app");
        let again = s.record(r.clone(), &by, WARNING, "BackOff", "Back-off restarting failed container app");
        assert_eq!(first.metadata.name, again.metadata.name);
        assert_eq!(again.count, Some(2));
        s.record(r, &by, NORMAL, "Started", "Started container app");
        let (all, _) = s.list_at();
        assert_eq!(all.iter().map(|e| e.reason.clone().unwrap()).collect::<Vec<_>>(), ["BackOff", "Started"]);
        assert_eq!(all[0].source.as_ref().unwrap().host.as_deref(), Some("node"));
    }

    #[test]
    fn field_selectors_pick_the_events_of_one_pod_as_kubectl_describe_asks() {
        let s = EventStore::new();
        let by = Reporter::kubelet("node");
        s.record(pod_reference(&pod("web", "u1"), None), &by, NORMAL, "Scheduled", "x");
        s.record(pod_reference(&pod("db", "u2"), None), &by, NORMAL, "Scheduled", "y");
        let sel =
            EventSelector::parse(Some("involvedObject.name=web,involvedObject.namespace=ns,involvedObject.kind=Pod,involvedObject.uid=u1"))
                .unwrap();
        let picked: Vec<_> = s.list_at().0.into_iter().filter(|e| sel.matches(e)).collect();
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].message.as_deref(), Some("x"));
        let not = EventSelector::parse(Some("involvedObject.name!=web")).unwrap();
        assert_eq!(s.list_at().0.into_iter().filter(|e| not.matches(e)).count(), 1);
        assert!(EventSelector::parse(Some("spec.nodeName=x")).unwrap_err().to_string().contains("not a known field selector"));
    }

    /// Recording an event looks at no stored event but its repeat (the store's index of the
    /// recorder's key): with thousands of events kept, a record costs what it costs with none.
    #[test]
    fn recording_an_event_looks_at_no_other_stored_event() {
        let s = EventStore::new();
        let by = Reporter::kubelet("node");
        for i in 0..KEPT + 10 {
            s.record(pod_reference(&pod(&format!("p{i}"), &format!("u{i}")), None), &by, NORMAL, "Scheduled", "m");
        }
        let visits = || s.write(|events| Ok(events.visits.replace(0))).unwrap();
        visits();
        // The oldest kept pod's event again: a repeat, found without looking at the others.
        let oldest = pod_reference(&pod("p10", "u10"), None);
        let again = s.record(oldest.clone(), &by, NORMAL, "Scheduled", "m");
        assert_eq!(again.count, Some(2));
        assert!(visits() <= 1, "a repeat looked at other events");
        // A new event: nothing to look at.
        s.record(oldest.clone(), &by, NORMAL, "Pulled", "m");
        assert!(visits() <= 1, "a new event looked at other events");
        // An evicted event is no longer found (its repeat is a new event).
        let evicted = s.record(pod_reference(&pod("p0", "u0"), None), &by, NORMAL, "Scheduled", "m");
        assert_eq!(evicted.count, Some(1));
        assert_eq!(s.list().len(), KEPT);
    }

    #[tokio::test]
    async fn a_watch_sees_new_events_and_repeats() {
        let s = Arc::new(EventStore::new());
        let by = Reporter::kubelet("node");
        let r = pod_reference(&pod("web", "u1"), None);
        s.record(r.clone(), &by, NORMAL, "Pulled", "before");
        let mut w = s.watch(Some(s.resource_version()), Box::new(|_| true)).unwrap();
        s.record(r.clone(), &by, NORMAL, "Created", "c");
        s.record(r, &by, NORMAL, "Created", "c");
        let a = w.next().await.unwrap();
        let b = w.next().await.unwrap();
        assert!(matches!(&a, WatchEvent::Added(e) if e.reason.as_deref() == Some("Created")), "{a:?}");
        assert!(matches!(&b, WatchEvent::Modified(e) if e.count == Some(2)), "{b:?}");
    }
}
