//! Pod create validation, with Kubernetes' field paths and texts
//! (pkg/apis/core/validation/validation.go: ValidatePodCreate, ValidatePodSpec;
//! staging/src/k8s.io/apimachinery/pkg/util/validation: IsDNS1123Subdomain, IsDNS1123Label).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use super::metadata::validate_label;
use super::FieldError;

/// Validates a pod as the API server does on create (the parts the reference runtime needs):
/// the pod's rules, and no ephemeral containers (ValidatePodCreate: they come through the
/// `ephemeralcontainers` subresource only).
pub fn validate_pod_create(pod: &Pod) -> Vec<FieldError> {
    let mut errs = validate_pod(pod);
    if pod.spec.as_ref().and_then(|s| s.ephemeral_containers.as_ref()).is_some_and(|e| !e.is_empty()) {
        errs.push(FieldError::forbidden("spec.ephemeralContainers", "cannot be set on create"));
    }
    errs
}

/// The rules every stored pod keeps, on create and on every update (validatePodMetadataAndSpec):
/// metadata, and the spec with its containers, init containers and ephemeral containers.
pub fn validate_pod(pod: &Pod) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = pod.metadata.name.as_deref().unwrap_or("");
    if name.is_empty() && pod.metadata.generate_name.is_none() {
        errs.push(FieldError::required("metadata.name").with_detail("name or generateName is required"));
    } else if !name.is_empty() {
        // ValidatePodName: any DNS subdomain; each of its errors is one field error.
        for m in super::metadata::dns1123_subdomain_errors(name) {
            errs.push(FieldError::invalid("metadata.name", name, m));
        }
    }
    super::metadata::validate_labels(pod.metadata.labels.as_ref(), "metadata.labels", &mut errs);
    super::metadata::validate_annotations(pod.metadata.annotations.as_ref(), "metadata.annotations", &mut errs);
    let Some(spec) = &pod.spec else {
        errs.push(FieldError::required("spec"));
        return errs;
    };
    let mut volumes = BTreeSet::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let field = format!("spec.volumes[{i}].name");
        if v.name.is_empty() {
            errs.push(FieldError::required(field));
        } else {
            validate_label(&field, &v.name, &mut errs);
            if !volumes.insert(v.name.as_str()) {
                errs.push(FieldError::duplicate(field, &v.name));
            }
        }
    }
    validate_api_data_volumes(spec, &mut errs);
    let host_users = spec.host_users != Some(false);
    let mut names = BTreeSet::new();
    let groups = [("spec.initContainers", spec.init_containers.as_deref().unwrap_or(&[])), ("spec.containers", spec.containers.as_slice())];
    if spec.containers.is_empty() {
        errs.push(FieldError::required("spec.containers"));
    }
    for (path, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let field = format!("{path}[{i}]");
            if c.name.is_empty() {
                errs.push(FieldError::required(format!("{field}.name")));
            } else {
                validate_label(&format!("{field}.name"), &c.name, &mut errs);
                if !names.insert(c.name.as_str()) {
                    errs.push(FieldError::duplicate(format!("{field}.name"), &c.name));
                }
            }
            if c.image.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required(format!("{field}.image")));
            }
            match (path, c.restart_policy.as_deref()) {
                ("spec.containers", Some(_)) => {
                    errs.push(FieldError::forbidden(format!("{field}.restartPolicy"), "may not be set for non-init containers"))
                }
                ("spec.initContainers", Some(p)) if p != "Always" => {
                    errs.push(FieldError::not_supported(format!("{field}.restartPolicy"), p, &["Always"]))
                }
                _ => {}
            }
            for (j, m) in c.volume_mounts.iter().flatten().enumerate() {
                if !volumes.contains(m.name.as_str()) {
                    errs.push(FieldError::not_found(format!("{field}.volumeMounts[{j}].name"), &m.name));
                }
                if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                    // ValidateVolumeMounts names the list, not the mount: `volumeMounts.subPath`.
                    validate_local_descending_path(sub, &format!("{field}.volumeMounts.subPath"), &mut errs);
                }
            }
            // validateContainerCommon's other rules (pod_rules.rs, security.rs).
            super::pod_rules::validate_container(c, &field, &mut errs);
            if let Some(sc) = &c.security_context {
                super::security::validate_container_security(sc, &format!("{field}.securityContext"), host_users, &mut errs);
            }
            validate_probes_and_lifecycle(c, &field, path == "spec.initContainers", spec.termination_grace_period_seconds, &mut errs);
        }
        // Regular containers share the host ports; init containers run one by one.
        if path == "spec.containers" {
            super::pod_rules::check_host_port_conflicts(containers.iter().enumerate(), path, &mut errs);
        } else {
            for (i, c) in containers.iter().enumerate() {
                super::pod_rules::check_host_port_conflicts(std::iter::once((i, c)), path, &mut errs);
            }
        }
    }
    super::ephemeral::validate_ephemeral_containers(spec, &volumes, &mut errs);
    super::pod_rules::validate_host_network_ports(spec, &mut errs);
    if let Some(p) = spec.restart_policy.as_deref() {
        if !["Always", "OnFailure", "Never"].contains(&p) {
            errs.push(FieldError::not_supported("spec.restartPolicy", p, &["Always", "OnFailure", "Never"]));
        }
    }
    super::pod_rules::validate_dns_policy_and_node_selector(spec, &mut errs);
    super::security::validate_pod_security(spec, &mut errs);
    super::pod_rules::validate_dns_config_and_names(spec, &mut errs);
    if let Some(d) = spec.active_deadline_seconds {
        if !(1..=i32::MAX as i64).contains(&d) {
            errs.push(FieldError::invalid_raw("spec.activeDeadlineSeconds", d, format!("must be between 1 and {}, inclusive", i32::MAX)));
        }
    }
    let mirror = pod.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/config.mirror"));
    if let Some(m) = mirror {
        if spec.node_name.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::invalid(
                "metadata.annotations[kubernetes.io/config.mirror]",
                m,
                "must set spec.nodeName if mirror pod annotation is set",
            ));
        }
    }
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        validate_label("spec.hostname", h, &mut errs);
    }
    if let Some(s) = spec.subdomain.as_deref().filter(|s| !s.is_empty()) {
        validate_label("spec.subdomain", s, &mut errs);
    }
    super::pod_rules::validate_scheduling_and_os(spec, &mut errs);
    errs
}

// ---------------------------------------------------------------------------------------------
// API-data volumes: downwardAPI and projected (validateDownwardAPIVolumeSource,
// validateProjectedVolumeSource, validateDownwardAPIVolumeFile). As Kubernetes does, an item's
// errors are named by its source's path, not the item's index.
// ---------------------------------------------------------------------------------------------

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// The pod fields a downward API volume may write (validVolumeDownwardAPIFieldPathExpressions),
/// besides `metadata.labels['KEY']` and `metadata.annotations['KEY']`.
const VOLUME_FIELD_PATHS: &[&str] = &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];

/// The container resources a downward API item may name (validContainerResourceFieldPathExpressions).
const RESOURCE_FIELD_PATHS: &[&str] =
    &["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"];

fn validate_file_mode(mode: Option<i32>, field: &str, errs: &mut Vec<FieldError>) {
    if let Some(m) = mode.filter(|m| !(0..=0o777).contains(m)) {
        errs.push(FieldError::invalid_raw(field, m, FILE_MODE_MSG));
    }
}

fn validate_api_data_volumes(spec: &k8s_openapi::api::core::v1::PodSpec, errs: &mut Vec<FieldError>) {
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        if let Some(d) = &v.downward_api {
            let path = format!("spec.volumes[{i}].downwardAPI");
            validate_file_mode(d.default_mode, &format!("{path}.defaultMode"), errs);
            for item in d.items.iter().flatten() {
                validate_downward_api_file(item, &path, errs);
            }
        }
        if let Some(p) = &v.projected {
            let path = format!("spec.volumes[{i}].projected");
            validate_file_mode(p.default_mode, &format!("{path}.defaultMode"), errs);
            let mut all_paths = BTreeSet::new();
            for (j, s) in p.sources.iter().flatten().enumerate() {
                let src = format!("{path}.sources[{j}]");
                let kinds = [
                    s.config_map.is_some(),
                    s.secret.is_some(),
                    s.downward_api.is_some(),
                    s.service_account_token.is_some(),
                    s.cluster_trust_bundle.is_some(),
                ];
                if kinds.iter().filter(|k| **k).count() > 1 {
                    errs.push(FieldError::forbidden(&src, "may not specify more than 1 volume type per source"));
                }
                if let Some(t) = &s.service_account_token {
                    // validateProjectionSources: the life's bounds, and a path (named at the
                    // volume's projected, as Kubernetes names it).
                    let at = format!("{src}.serviceAccountToken.expirationSeconds");
                    let seconds = t.expiration_seconds.unwrap_or(super::tokens::DEFAULT_SECONDS);
                    if seconds < super::tokens::MIN_SECONDS {
                        errs.push(FieldError::invalid_raw(&at, seconds, "may not specify a duration less than 10 minutes"));
                    }
                    if seconds > super::tokens::MAX_SECONDS {
                        errs.push(FieldError::invalid_raw(&at, seconds, "may not specify a duration larger than 2^32 seconds"));
                    }
                    if t.path.is_empty() {
                        errs.push(FieldError::required(format!("{path}.path")));
                    }
                }
                for item in s.downward_api.iter().flat_map(|d| d.items.iter().flatten()) {
                    validate_downward_api_file(item, &format!("{src}.downwardAPI"), errs);
                    if !item.path.is_empty() && !all_paths.insert(item.path.clone()) {
                        errs.push(FieldError::invalid(&path, &item.path, "conflicting duplicate paths"));
                    }
                }
            }
        }
    }
}

fn validate_downward_api_file(item: &k8s_openapi::api::core::v1::DownwardAPIVolumeFile, path: &str, errs: &mut Vec<FieldError>) {
    if item.path.is_empty() {
        errs.push(FieldError::required(format!("{path}.path")));
    }
    // ValidateLocalNonReservedPath.
    validate_local_descending_path(&item.path, &format!("{path}.path"), errs);
    if item.path.starts_with("..") && !item.path.starts_with("../") {
        errs.push(FieldError::invalid(format!("{path}.path"), &item.path, "must not start with '..'"));
    }
    match (&item.field_ref, &item.resource_field_ref) {
        (Some(f), r) => {
            let subscripted = ["metadata.labels", "metadata.annotations"]
                .iter()
                .any(|p| f.field_path.strip_prefix(p).and_then(|r| r.strip_prefix("['")).is_some_and(|r| r.ends_with("']") && r.len() > 2));
            if f.field_path.is_empty() {
                errs.push(FieldError::required(format!("{path}.fieldRef.fieldPath")));
            } else if !subscripted && !VOLUME_FIELD_PATHS.contains(&f.field_path.as_str()) {
                errs.push(FieldError::not_supported(format!("{path}.fieldRef.fieldPath"), &f.field_path, VOLUME_FIELD_PATHS));
            }
            if r.is_some() {
                errs.push(FieldError::invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
            }
        }
        (None, Some(r)) => {
            // validateContainerResourceFieldSelector for a volume: the container is named.
            if r.container_name.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required(format!("{path}.resourceFieldRef.containerName")));
            }
            if r.resource.is_empty() {
                errs.push(FieldError::required(format!("{path}.resourceFieldRef.resource")));
            } else if !RESOURCE_FIELD_PATHS.contains(&r.resource.as_str()) {
                errs.push(FieldError::not_supported(format!("{path}.resourceFieldRef.resource"), &r.resource, RESOURCE_FIELD_PATHS));
            }
        }
        (None, None) => errs.push(FieldError::required(path).with_detail("one of fieldRef and resourceFieldRef is required")),
    }
    validate_file_mode(item.mode, &format!("{path}.mode"), errs);
}

/// `validateLocalDescendingPath`: relative, and no `..` part.
pub(crate) fn validate_local_descending_path(path: &str, field: &str, errs: &mut Vec<FieldError>) {
    if path.starts_with('/') {
        errs.push(FieldError::invalid(field, path, "must be a relative path"));
    }
    if path.split('/').any(|p| p == "..") {
        errs.push(FieldError::invalid(field, path, "must not contain '..'"));
    }
}

/// The pod fields an env var may take (validEnvDownwardAPIFieldPathExpressions), besides
/// `metadata.labels['KEY']` and `metadata.annotations['KEY']`.
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

pub(crate) fn validate_env_field_path(path: &str, field: &str, errs: &mut Vec<FieldError>) {
    let subscripted = ["metadata.labels", "metadata.annotations"]
        .iter()
        .any(|p| path.strip_prefix(p).and_then(|r| r.strip_prefix("['")).is_some_and(|r| r.ends_with("']") && r.len() > 2));
    if !subscripted && !ENV_FIELD_PATHS.contains(&path) {
        errs.push(FieldError::not_supported(field, path, ENV_FIELD_PATHS));
    }
}

// ---- Probes and lifecycle hooks (validation.go: validateProbe, validateHandler, validateLifecycle,
// and the probe rules of validateContainers and validateInitContainers) ----

use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The kubelet's default `terminationGracePeriodSeconds` (the API's defaulting), for sleep hooks.
const DEFAULT_TERMINATION_GRACE_SECONDS: i64 = 30;

/// A container's probes and lifecycle hooks. `init`: it is in `spec.initContainers`, where only
/// a sidecar (`restartPolicy: Always`) may have them.
fn validate_probes_and_lifecycle(c: &Container, field: &str, init: bool, pod_grace: Option<i64>, errs: &mut Vec<FieldError>) {
    let sidecar = c.restart_policy.as_deref() == Some("Always");
    if init && !sidecar {
        let set = [
            ("lifecycle", c.lifecycle.is_some()),
            ("livenessProbe", c.liveness_probe.is_some()),
            ("readinessProbe", c.readiness_probe.is_some()),
            ("startupProbe", c.startup_probe.is_some()),
        ];
        for (name, _) in set.iter().filter(|(_, set)| *set) {
            errs.push(FieldError::forbidden(format!("{field}.{name}"), "may not be set for init containers without restartPolicy=Always"));
        }
        return;
    }
    let grace = Some(pod_grace.unwrap_or(DEFAULT_TERMINATION_GRACE_SECONDS));
    if let Some(l) = &c.lifecycle {
        for (name, h) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
            let Some(h) = h else { continue };
            let handlers = [
                ("exec", h.exec.as_ref().map(|e| e.command.as_deref().unwrap_or_default().is_empty())),
                ("httpGet", h.http_get.as_ref().map(|_| false)),
                ("tcpSocket", h.tcp_socket.as_ref().map(|_| false)),
                ("sleep", h.sleep.as_ref().map(|_| false)),
            ];
            let at = format!("{field}.lifecycle.{name}");
            validate_handler(&at, &handlers, h.http_get.as_ref(), h.tcp_socket.as_ref().map(|t| &t.port), errs);
            if let Some(sleep) = &h.sleep {
                if let Some(g) = grace.filter(|g| sleep.seconds <= 0 || sleep.seconds > *g) {
                    errs.push(FieldError::invalid_raw(
                        format!("{at}.sleep"),
                        sleep.seconds,
                        format!("must be greater than 0 and less than terminationGracePeriodSeconds ({g})"),
                    ));
                }
            }
        }
    }
    for (name, probe) in [("livenessProbe", &c.liveness_probe), ("readinessProbe", &c.readiness_probe), ("startupProbe", &c.startup_probe)]
    {
        let Some(p) = probe else { continue };
        let at = format!("{field}.{name}");
        validate_probe(p, &at, errs);
        // The API defaults successThreshold to 1.
        if name != "readinessProbe" && p.success_threshold.unwrap_or(1) != 1 {
            errs.push(FieldError::invalid_raw(format!("{at}.successThreshold"), p.success_threshold.unwrap_or(1), "must be 1"));
        }
        if let (true, Some(t)) = (name == "readinessProbe", p.termination_grace_period_seconds) {
            errs.push(FieldError::invalid_raw(format!("{at}.terminationGracePeriodSeconds"), t, "must not be set for readinessProbes"));
        }
    }
}

/// `validateProbe`: its handler, no negative numbers, a positive grace period.
fn validate_probe(p: &Probe, at: &str, errs: &mut Vec<FieldError>) {
    let handlers = [
        ("exec", p.exec.as_ref().map(|e| e.command.as_deref().unwrap_or_default().is_empty())),
        ("httpGet", p.http_get.as_ref().map(|_| false)),
        ("tcpSocket", p.tcp_socket.as_ref().map(|_| false)),
        ("grpc", p.grpc.as_ref().map(|_| false)),
    ];
    validate_handler(at, &handlers, p.http_get.as_ref(), p.tcp_socket.as_ref().map(|t| &t.port), errs);
    if let Some(g) = &p.grpc {
        if !(1..=65535).contains(&g.port) {
            errs.push(FieldError::invalid_raw(format!("{at}.grpc.port"), g.port, "must be between 1 and 65535, inclusive"));
        }
    }
    let numbers = [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ];
    for (name, v) in numbers {
        if let Some(v) = v.filter(|v| *v < 0) {
            errs.push(FieldError::invalid_raw(format!("{at}.{name}"), v, "must be greater than or equal to 0"));
        }
    }
    if let Some(t) = p.termination_grace_period_seconds.filter(|t| *t <= 0) {
        errs.push(FieldError::invalid_raw(format!("{at}.terminationGracePeriodSeconds"), t, "must be greater than 0"));
    }
}

/// `validateHandler`: exactly one handler (each given as its name and, when set, whether its
/// required command is missing), then the handler's own fields.
fn validate_handler(
    at: &str,
    handlers: &[(&str, Option<bool>)],
    http: Option<&HTTPGetAction>,
    tcp_port: Option<&IntOrString>,
    errs: &mut Vec<FieldError>,
) {
    let mut seen = 0;
    for (name, set) in handlers {
        let Some(missing_command) = set else { continue };
        if seen > 0 {
            errs.push(FieldError::forbidden(format!("{at}.{name}"), "may not specify more than 1 handler type"));
            continue;
        }
        seen += 1;
        if *missing_command {
            errs.push(FieldError::required(format!("{at}.exec.command")));
        }
        if *name == "httpGet" {
            let h = http.expect("httpGet set");
            validate_port_num_or_name(&h.port, &format!("{at}.httpGet.port"), errs);
            if let Some(s) = h.scheme.as_deref().filter(|s| !s.is_empty() && !["HTTP", "HTTPS"].contains(s)) {
                errs.push(FieldError::not_supported(format!("{at}.httpGet.scheme"), s, &["HTTP", "HTTPS"]));
            }
            for header in h.http_headers.iter().flatten() {
                let valid = !header.name.is_empty() && header.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !valid {
                    errs.push(FieldError::invalid(
                        format!("{at}.httpGet.httpHeaders"),
                        &header.name,
                        "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                    ));
                }
            }
        }
        if *name == "tcpSocket" {
            validate_port_num_or_name(tcp_port.expect("tcpSocket set"), &format!("{at}.tcpSocket.port"), errs);
        }
    }
    if seen == 0 {
        errs.push(FieldError::required(at).with_detail("must specify a handler type"));
    }
}

/// `validatePortNumOrName`: a number from 1 to 65535, or an IANA service name (`IsValidPortName`).
fn validate_port_num_or_name(port: &IntOrString, at: &str, errs: &mut Vec<FieldError>) {
    match port {
        IntOrString::Int(n) => {
            if !(1..=65535).contains(n) {
                errs.push(FieldError::invalid_raw(at, n, "must be between 1 and 65535, inclusive"));
            }
        }
        IntOrString::String(s) => {
            let mut msgs = Vec::new();
            if s.len() > 15 {
                msgs.push("must be no more than 15 characters");
            }
            if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') || s.is_empty() {
                msgs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
            }
            if !s.bytes().any(|b| b.is_ascii_lowercase()) {
                msgs.push("must contain at least one letter (a-z)");
            }
            if s.contains("--") {
                msgs.push("must not contain consecutive hyphens");
            }
            if s.starts_with('-') || s.ends_with('-') {
                msgs.push("must not begin or end with a hyphen");
            }
            for m in msgs {
                errs.push(FieldError::invalid(at, s, m));
            }
        }
    }
}

// ---- end of probes and lifecycle hooks ----

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::aggregate;

    /// A pod as the API decodes it: defaulted, as every pod is before validation.
    fn pod(yaml: &str) -> Pod {
        let mut p = serde_yaml::from_str(yaml).unwrap();
        crate::defaults::apply(&mut p);
        p
    }

    #[test]
    fn downward_api_items_are_checked_as_kubernetes_checks_them() {
        let p = pod("metadata: {name: p}\nspec:\n  containers: [{name: a, image: b}]\n  volumes:\n  - {name: d, downwardAPI: {defaultMode: 512, items: [{path: /abs, fieldRef: {fieldPath: metadata.name}}, {path: ../up, mode: -1, fieldRef: {fieldPath: spec.nodeName}}, {path: ..data, resourceFieldRef: {resource: limits.gpu}}, {path: x}]}}\n  - {name: p, projected: {sources: [{downwardAPI: {items: [{path: same, fieldRef: {fieldPath: metadata.name}}]}}, {downwardAPI: {items: [{path: same, fieldRef: {fieldPath: \"metadata.labels['a']\"}}]}}]}}\n");
        let got: Vec<String> = validate_pod(&p).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            [
                "spec.volumes[0].downwardAPI.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
                "spec.volumes[0].downwardAPI.path: Invalid value: \"/abs\": must be a relative path",
                "spec.volumes[0].downwardAPI.path: Invalid value: \"../up\": must not contain '..'",
                "spec.volumes[0].downwardAPI.fieldRef.fieldPath: Unsupported value: \"spec.nodeName\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\"",
                "spec.volumes[0].downwardAPI.mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
                "spec.volumes[0].downwardAPI.path: Invalid value: \"..data\": must not start with '..'",
                "spec.volumes[0].downwardAPI.resourceFieldRef.containerName: Required value",
                "spec.volumes[0].downwardAPI.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
                "spec.volumes[0].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required",
                "spec.volumes[1].projected: Invalid value: \"same\": conflicting duplicate paths",
            ]
        );
    }

    #[test]
    fn a_valid_pod_has_no_errors() {
        let p = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a, image: busybox}]}\n");
        assert!(validate_pod_create(&p).is_empty());
    }

    #[test]
    fn errors_read_as_kubernetes_prints_them() {
        let p = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: Foo_bar}\nspec: {restartPolicy: Sometimes, containers: [{name: app, image: busybox}, {name: app}]}\n");
        let text: Vec<String> = validate_pod_create(&p).iter().map(ToString::to_string).collect();
        assert!(
            text[0].starts_with("metadata.name: Invalid value: \"Foo_bar\": a lowercase RFC 1123 subdomain must consist of"),
            "{text:?}"
        );
        assert!(text.contains(&"spec.containers[1].name: Duplicate value: \"app\"".to_string()), "{text:?}");
        assert!(text.contains(&"spec.containers[1].image: Required value".to_string()), "{text:?}");
        assert!(
            text.contains(
                &"spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".to_string()
            ),
            "{text:?}"
        );
    }

    #[test]
    fn no_containers_is_required_and_a_label_with_dots_says_so() {
        let p = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [], hostname: a.b}\n");
        let text = aggregate(&validate_pod_create(&p));
        assert!(text.contains("spec.containers: Required value"), "{text}");
        assert!(text.contains("spec.hostname: Invalid value: \"a.b\": must not contain dots"), "{text}");
        assert!(text.starts_with('['));
    }

    #[test]
    fn probe_and_hook_rules_read_as_kubernetes_prints_them() {
        let p = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: a\n    image: busybox\n    livenessProbe: {exec: {command: [true]}, successThreshold: 2}\n    startupProbe: {tcpSocket: {port: 0}, successThreshold: 3, periodSeconds: -1}\n    readinessProbe: {httpGet: {port: http--x, scheme: FTP}, terminationGracePeriodSeconds: 10}\n    lifecycle:\n      postStart: {exec: {command: [true]}, sleep: {seconds: 1}}\n      preStop: {sleep: {seconds: 6}}\n  - name: b\n    image: busybox\n    livenessProbe: {terminationGracePeriodSeconds: 0}\n  initContainers:\n  - {name: i, image: busybox, readinessProbe: {exec: {command: [true]}}}\n");
        let text: Vec<String> = validate_pod_create(&p).iter().map(ToString::to_string).collect();
        let want = [
            "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type",
            "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 6: must be greater than 0 and less than terminationGracePeriodSeconds (5)",
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: \"http--x\": must not contain consecutive hyphens",
            "spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes",
            "spec.containers[0].startupProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.containers[0].startupProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
            "spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1",
            "spec.containers[1].livenessProbe: Required value: must specify a handler type",
            "spec.containers[1].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
        ];
        for w in want {
            assert!(text.contains(&w.to_string()), "missing {w:?} in {text:#?}");
        }
        assert_eq!(text.len(), want.len(), "{text:#?}");
    }
}
