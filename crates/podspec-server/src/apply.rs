//! Server-side apply of a pod, a ConfigMap or a Secret: `PATCH
//! /api/v1/namespaces/{ns}/{resource}/{name}` with `Content-Type: application/apply-patch+yaml` (the docs page "Server-Side Apply",
//! kubernetes.io/docs/reference/using-api/server-side-apply/). The field sets, the merge, the
//! conflicts and the removal are `api::managed_fields`'; this file reads the request, and sends
//! the result through the same create or update as a POST or a PUT (the kind's strategy).
//! A kind takes it by being [`Applicable`] and giving its store as an [`ApplyTarget`].

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::Metadata;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::pods::{is_true, json_response, options_invalid_causes, patched_unknown_fields, with_warnings, write_options, WriteQuery};
use super::{AppState, Failure};
use podspec_api::managed_fields::{self as mf, FieldSet, Manager};
use podspec_api::{ApiError, Requester};

/// Whether a PATCH's Content-Type is an apply patch.
pub fn is_apply(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim() == "application/apply-patch+yaml"
}

/// PatchOptions of an apply, checked as ValidatePatchOptions checks them.
fn apply_options(q: &WriteQuery) -> Result<(bool, super::pods::FieldValidation, String, bool), Failure> {
    let (dry_run, validation) = write_options(q, "PatchOptions")?;
    let manager = q.field_manager.clone().unwrap_or_default();
    if manager.is_empty() {
        let text = "Required value: is required for apply patch".to_string();
        return Err(options_invalid_causes("PatchOptions", &[("fieldManager", "FieldValueRequired", text)]));
    }
    Ok((dry_run, validation, manager, is_true(&q.force)))
}

/// The applied configuration: YAML (or JSON, which is YAML), an object.
fn decode(body: &[u8]) -> Result<Value, Failure> {
    let v: Value =
        podspec_api::manifest::input::yaml_from_slice(body).map_err(|e| Failure::bad_request(format!("error decoding YAML: {e}")))?;
    if !v.is_object() {
        return Err(Failure::bad_request("error decoding YAML: the applied configuration is not an object"));
    }
    if v.pointer("/metadata/managedFields").is_some_and(|m| !m.is_null()) {
        return Err(Failure::bad_request("metadata.managedFields must be nil"));
    }
    Ok(v)
}

/// What server-side apply needs of a kind: its object, with its metadata, serialized as the
/// API serves it. Pods, ConfigMaps and Secrets take the same machinery.
pub trait Applicable: k8s_openapi::Resource + Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned {}
impl<T: k8s_openapi::Resource + Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned> Applicable for T {}

/// The applied configuration as the kind's object (the 422 when it does not make one).
fn typed<T: Applicable>(config: &Value) -> Result<T, Failure> {
    serde_json::from_value(config.clone())
        .map_err(|e| Failure::new(422, "Invalid", format!("the applied configuration does not make a {}: {e}", T::KIND)))
}

/// The applied configuration as structured-merge-diff types it (ObjectToTyped): a field the
/// kind does not declare, or a duplicate key, is refused whatever `fieldValidation` says, with
/// the fieldmanager's text, which reaches the client as a 500 with no reason (it is no API
/// status error).
fn check_schema<T: Applicable>(config: &Value) -> Result<(), Failure> {
    let object: T = typed(config)?;
    let errors = mf::schema_errors(config, &serde_json::to_value(&object).unwrap_or_default());
    if errors.is_empty() {
        return Ok(());
    }
    let text = if let [one] = errors.as_slice() { one.clone() } else { format!("errors:\n  {}", errors.join("\n  ")) };
    let ns = config.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
    let name = config.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let group_version = if T::GROUP.is_empty() { format!("/{}", T::VERSION) } else { format!("{}/{}", T::GROUP, T::VERSION) };
    Err(Failure::new(500, "", format!("failed to create typed patch object ({ns}/{name}; {group_version}, Kind={}): {text}", T::KIND)))
}

/// The 409 of an apply that conflicts (managedfields' NewConflictError): one cause per path,
/// of type FieldManagerConflict; `resource` is the kind's plural (`pods`, `configmaps`).
fn conflict_failure(name: &str, resource: &str, managers: &[Manager], found: &[(usize, mf::FieldPath)]) -> Failure {
    let causes: Vec<Value> = found
        .iter()
        .map(|(i, p)| json!({"type": "FieldManagerConflict", "message": format!("conflict with {}", managers[*i].printed()), "field": mf::path_string(p)}))
        .collect();
    let message = if let [(i, p)] = found {
        format!("Apply failed with 1 conflict: conflict with {}: {}", managers[*i].printed(), mf::path_string(p))
    } else {
        let mut by_manager: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (i, p) in found {
            by_manager.entry(managers[*i].printed()).or_default().push(mf::path_string(p));
        }
        let parts: Vec<String> = by_manager
            .iter()
            .map(|(m, paths)| {
                let lines: Vec<String> = paths.iter().map(|p| format!("- {p}")).collect();
                format!("conflicts with {m}:\n{}", lines.join("\n"))
            })
            .collect();
        format!("Apply failed with {} conflicts: {}", found.len(), parts.join("\n"))
    };
    Failure::new(409, "Conflict", message).with_details(json!({"name": name, "kind": resource, "causes": causes}))
}

/// What an apply makes of the live object (None: it does not exist): the merged object with
/// its managers, or the conflicts.
pub fn applied<T: Applicable>(
    live: Option<&T>,
    config: &Value,
    manager: &str,
    force: bool,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    name: &str,
) -> Result<Value, Failure> {
    let mut managers = live.map(mf::managers_of).unwrap_or_default();
    let applier = match managers.iter().position(|m| m.manager == manager && m.operation == "Apply" && m.subresource.is_none()) {
        Some(i) => i,
        None => {
            managers.push(Manager {
                manager: manager.into(),
                operation: "Apply".into(),
                subresource: None,
                time: None,
                fields: FieldSet::default(),
            });
            managers.len() - 1
        }
    };
    let live_value = live.map(|p| serde_json::to_value(p).unwrap_or_default()).unwrap_or_else(|| json!({}));
    let claimed = FieldSet::of_applied(config);
    let mut merged = live_value.clone();
    mf::merge_applied(&mut merged, config, "");
    let found = mf::conflicts(&managers, applier, &claimed, &live_value, &merged);
    if !found.is_empty() {
        if !force {
            return Err(conflict_failure(name, T::URL_PATH_SEGMENT, &managers, &found));
        }
        for (i, p) in &found {
            managers[*i].fields.remove_tree(p);
        }
    }
    let gone = FieldSet(managers[applier].fields.0.difference(&claimed.0).cloned().collect());
    let others: Vec<&Manager> = managers.iter().enumerate().filter(|(i, _)| *i != applier).map(|(_, m)| m).collect();
    mf::remove_unowned(&mut merged, &gone, &others);
    managers[applier].fields = claimed;
    managers[applier].time = Some(now);
    let mut object: T = typed(&merged)?;
    mf::set_managers(&mut object, &managers);
    if let Some(m) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("managedFields".into(), serde_json::to_value(&object.metadata().managed_fields).unwrap_or_default());
    }
    Ok(merged)
}

/// The store an apply reads and writes: the kind's get, create and update (as a POST and a
/// PUT with the live object's resourceVersion do them), and its errors as the client sees them.
pub trait ApplyTarget<T> {
    fn get(&self, namespace: &str, name: &str) -> Result<T, ApiError>;
    fn create(&self, object: &T, dry_run: bool) -> Result<T, ApiError>;
    fn update(&self, namespace: &str, name: &str, object: &T, dry_run: bool) -> Result<T, ApiError>;
    fn failure(&self, e: ApiError, name: &str) -> Failure;
}

/// Server-side apply of `body` to the object `namespace`/`name` of a kind: checked, merged
/// with the live object (created when there is none) and written through the kind's own
/// create or update, as a POST or a PUT would be.
pub fn apply_to<T: Applicable>(
    target: &impl ApplyTarget<T>,
    namespace: &str,
    name: &str,
    q: &WriteQuery,
    body: &[u8],
) -> Result<Response, Failure> {
    let (dry_run, validation, manager, force) = apply_options(q)?;
    let config = decode(body)?;
    check_schema::<T>(&config)?;
    // As a patch: applied again to the newer object when a concurrent write got in first.
    for _ in 0..10 {
        let live = match target.get(namespace, name) {
            Ok(o) => Some(o),
            Err(e) if e.code == 404 => None,
            Err(e) => return Err(target.failure(e, name)),
        };
        let now = podspec_api::managed_fields::now();
        let merged = applied(live.as_ref(), &config, &manager, force, now, name)?;
        let mut object: T = typed(&merged)?;
        // fieldValidation: what structured-merge-diff refuses is refused whatever it says
        // (check_schema); what remains to check is what the merge with the live object made.
        let warnings = patched_unknown_fields(&merged, &object, validation)?;
        let m = object.metadata_mut();
        match m.namespace.as_deref() {
            Some(ns) if ns != namespace => {
                return Err(Failure::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
            }
            _ => m.namespace = Some(namespace.to_string()),
        }
        let Some(live) = live else {
            // An object that does not exist is created from the applied configuration.
            let object_name = m.name.clone().unwrap_or_default();
            if object_name != name {
                return Err(Failure::bad_request(format!(
                    "the name of the object ({object_name}) does not match the name on the URL ({name})"
                )));
            }
            match target.create(&object, dry_run) {
                Ok(created) => return Ok(with_warnings(json_response(StatusCode::CREATED, &created), &warnings)),
                Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                Err(e) => return Err(target.failure(e, name)),
            }
        };
        m.resource_version = live.metadata().resource_version.clone();
        match target.update(namespace, name, &object, dry_run) {
            Ok(o) => return Ok(with_warnings(json_response(StatusCode::OK, &o), &warnings)),
            Err(e) if e.reason == "Conflict" && !e.message.contains("Precondition") => continue,
            Err(e) => return Err(target.failure(e, name)),
        }
    }
    Err(target.failure(ApiError::conflict_of(T::URL_PATH_SEGMENT, name), name))
}

/// The pods' store as an apply's target.
struct Pods<'a>(&'a AppState);

impl ApplyTarget<Pod> for Pods<'_> {
    fn get(&self, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        self.0.node.pods().get(namespace, name)
    }
    fn create(&self, pod: &Pod, dry_run: bool) -> Result<Pod, ApiError> {
        // `apply` waited for the namespace's default ServiceAccount before.
        self.0.node.create_pod_now(pod, Requester::User, dry_run)
    }
    fn update(&self, namespace: &str, name: &str, pod: &Pod, dry_run: bool) -> Result<Pod, ApiError> {
        self.0.node.pods().update_as(namespace, name, pod, dry_run)
    }
    fn failure(&self, e: ApiError, name: &str) -> Failure {
        Failure::from_api(e, name)
    }
}

pub async fn apply(
    state: AppState,
    namespace: String,
    name: String,
    q: WriteQuery,
    _headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    // ServiceAccount admission's wait for the namespace's default account, should the apply
    // create a pod that runs as it (the apply itself is synchronous).
    let account = serde_yaml::from_slice::<Value>(&body).ok().and_then(|v| v.pointer("/spec/serviceAccountName").cloned());
    let mut pod = Pod::default();
    pod.metadata.namespace = Some(namespace.clone());
    pod.spec = Some(k8s_openapi::api::core::v1::PodSpec {
        service_account_name: account.and_then(|a| a.as_str().map(str::to_string)),
        ..Default::default()
    });
    state.node.await_default_account(&pod).await;
    apply_to::<Pod>(&Pods(&state), &namespace, &name, &q, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
        mf::now()
    }

    fn config(label: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": label}},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    }

    #[test]
    fn the_field_manager_is_required_and_force_is_read() {
        let e = apply_options(&WriteQuery::default()).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert_eq!(e.message, "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
        let q = WriteQuery { field_manager: Some("kubectl".into()), force: Some("true".into()), ..Default::default() };
        assert!(apply_options(&q).unwrap().3);
        assert!(is_apply("application/apply-patch+yaml; charset=utf-8") && !is_apply("application/merge-patch+json"));
    }

    #[test]
    fn an_applied_configuration_must_not_carry_managed_fields() {
        let e = decode(b"metadata:\n  managedFields: [{}]\n").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (400, "metadata.managedFields must be nil"));
        assert_eq!(decode(b"{\"kind\": \"Pod\"}").unwrap()["kind"], "Pod");
    }

    #[test]
    fn an_undeclared_field_is_refused_as_structured_merge_diff_refuses_it() {
        let mut c = config("web");
        c["spec"]["containers"][0]["bogus"] = json!(1);
        let e = check_schema::<Pod>(&c).unwrap_err();
        assert_eq!(e.code, 500);
        assert_eq!(
            e.message,
            "failed to create typed patch object (/web; /v1, Kind=Pod): .spec.containers[name=\"app\"].bogus: field not declared in schema"
        );
        assert_eq!(e.status().get("reason"), None);
        assert!(check_schema::<Pod>(&config("web")).is_ok());
    }

    #[test]
    fn another_managers_field_with_another_value_conflicts_unless_forced() {
        let created: Pod = serde_json::from_value(applied::<Pod>(None, &config("web"), "kubectl", false, time(), "web").unwrap()).unwrap();
        // kubectl label takes the label.
        let mut labelled = created.clone();
        labelled.metadata.labels.as_mut().unwrap().insert("app".into(), "other".into());
        mf::record_update(Some(&created), &mut labelled, "kubectl-label", time());
        let e = applied::<Pod>(Some(&labelled), &config("web"), "kubectl", false, time(), "web").unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
        assert!(e.message.starts_with("Apply failed with 1 conflict: conflict with \"kubectl-label\" using v1 at "), "{}", e.message);
        assert!(e.message.ends_with(": .metadata.labels.app"), "{}", e.message);
        let status = e.status();
        assert_eq!(status["details"]["causes"][0]["type"], "FieldManagerConflict");
        assert_eq!(status["details"]["causes"][0]["field"], ".metadata.labels.app");
        // The same value is shared.
        assert!(applied::<Pod>(Some(&labelled), &config("other"), "kubectl", false, time(), "web").is_ok());
        // Forced, the applier takes it.
        let forced: Pod =
            serde_json::from_value(applied::<Pod>(Some(&labelled), &config("web"), "kubectl", true, time(), "web").unwrap()).unwrap();
        assert_eq!(forced.metadata.labels.as_ref().unwrap()["app"], "web");
        let managers = mf::managers_of(&forced);
        assert_eq!(managers.len(), 1, "kubectl-label owned only the label: {managers:?}");
        assert_eq!((managers[0].manager.as_str(), managers[0].operation.as_str()), ("kubectl", "Apply"));
    }

    #[test]
    fn a_field_left_out_of_the_next_apply_is_removed() {
        let mut first = config("web");
        first["metadata"]["labels"]["tier"] = json!("front");
        let created: Pod = serde_json::from_value(applied::<Pod>(None, &first, "kubectl", false, time(), "web").unwrap()).unwrap();
        let second: Pod =
            serde_json::from_value(applied::<Pod>(Some(&created), &config("web"), "kubectl", false, time(), "web").unwrap()).unwrap();
        assert_eq!(second.metadata.labels.as_ref().unwrap().get("tier"), None);
        let fields = mf::managers_of(&second)[0].fields.to_fields_v1();
        assert_eq!(fields["f:metadata"], json!({"f:labels": {"f:app": {}}}));
    }

    fn config_map(value: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": value, "level": "1"}})
    }

    #[test]
    fn a_config_map_is_applied_with_the_pods_machinery() {
        use k8s_openapi::api::core::v1::ConfigMap;
        let created: ConfigMap =
            serde_json::from_value(applied::<ConfigMap>(None, &config_map("fast"), "kubectl", false, time(), "settings").unwrap()).unwrap();
        let managers = mf::managers_of(&created);
        assert_eq!(managers.len(), 1);
        assert_eq!((managers[0].manager.as_str(), managers[0].operation.as_str()), ("kubectl", "Apply"));
        assert_eq!(managers[0].fields.to_fields_v1(), json!({"f:data": {"f:level": {}, "f:mode": {}}}));
        // Another manager's apply of another value conflicts, with kube-apiserver's text and
        // the resource's plural in the details.
        let e = applied::<ConfigMap>(Some(&created), &config_map("slow"), "other", false, time(), "settings").unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
        assert_eq!(e.message, "Apply failed with 1 conflict: conflict with \"kubectl\": .data.mode");
        let status = e.status();
        assert_eq!(status["details"]["kind"], "configmaps");
        assert_eq!(status["details"]["causes"][0]["field"], ".data.mode");
        let mut two = config_map("slow");
        two["data"]["level"] = json!("2");
        let e = applied::<ConfigMap>(Some(&created), &two, "other", false, time(), "settings").unwrap_err();
        assert_eq!(e.message, "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .data.level\n- .data.mode");
        let mut one = config_map("slow");
        one["data"].as_object_mut().unwrap().remove("level");
        // Forced, the other manager takes the key; the first keeps the one it alone applied.
        let forced: ConfigMap =
            serde_json::from_value(applied::<ConfigMap>(Some(&created), &one, "other", true, time(), "settings").unwrap()).unwrap();
        assert_eq!(forced.data.as_ref().unwrap()["mode"], "slow");
        let by = mf::by_name(&mf::managers_of(&forced));
        assert_eq!(by[&("kubectl".to_string(), "Apply".to_string())].to_fields_v1(), json!({"f:data": {"f:level": {}}}));
        assert_eq!(by[&("other".to_string(), "Apply".to_string())].to_fields_v1(), json!({"f:data": {"f:mode": {}}}));
    }

    #[test]
    fn a_secret_is_applied_and_checked_against_its_own_schema() {
        use k8s_openapi::api::core::v1::Secret;
        let config =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}, "type": "Opaque", "data": {"key": "c2VjcmV0"}});
        let created: Secret = serde_json::from_value(applied::<Secret>(None, &config, "kubectl", false, time(), "token").unwrap()).unwrap();
        assert_eq!(created.data.as_ref().unwrap()["key"].0, b"secret");
        assert_eq!(mf::managers_of(&created)[0].fields.to_fields_v1(), json!({"f:data": {"f:key": {}}, "f:type": {}}));
        let mut bogus = config.clone();
        bogus["spec"] = json!({});
        let e = check_schema::<Secret>(&bogus).unwrap_err();
        assert_eq!(e.message, "failed to create typed patch object (/token; /v1, Kind=Secret): .spec: field not declared in schema");
        assert!(check_schema::<Secret>(&config).is_ok());
    }

    #[test]
    fn string_data_applied_is_owned_as_string_data_and_folded_into_data() {
        // kube-apiserver's structured-merge manager computes an apply's fields on the applied
        // configuration in v1 (stringData), and only then converts to the internal version
        // (stringData folded into data): the applier owns .stringData.mode, no one .data.mode.
        use k8s_openapi::api::core::v1::Secret;
        let api = podspec_api::Api::new("t", jiff::Timestamp::now());
        let config = |mode: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "stringData": {"mode": mode}});
        let merged = applied::<Secret>(None, &config("fast"), "kubectl", false, time(), "s").unwrap();
        let created = api.secrets().create_object(&serde_json::from_value(merged).unwrap(), false).unwrap();
        assert_eq!((created.data.as_ref().unwrap()["mode"].0.as_slice(), created.string_data.as_ref()), (&b"fast"[..], None));
        let by = mf::by_name(&mf::managers_of(&created));
        assert_eq!(by[&("kubectl".to_string(), "Apply".to_string())].to_fields_v1(), json!({"f:stringData": {"f:mode": {}}}));
        // Another manager's stringData of that key conflicts; its data of that key does not.
        let e = applied::<Secret>(Some(&created), &config("other"), "other", false, time(), "s").unwrap_err();
        assert_eq!(e.message, "Apply failed with 1 conflict: conflict with \"kubectl\": .stringData.mode");
        let data = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"}, "data": {"mode": "eA=="}});
        assert!(applied::<Secret>(Some(&created), &data, "other", false, time(), "s").is_ok());
    }
}
