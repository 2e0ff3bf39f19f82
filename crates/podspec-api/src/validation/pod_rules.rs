//! The container and pod-spec rules of kube-apiserver's pod validation beyond names, images
//! and volumes, with its field paths and texts, in its order (pkg/apis/core/validation/
//! validation.go: validateContainerCommon's ports, env, envFrom, volume mounts, pull policy,
//! resources; ValidatePodSpec's host-network ports, DNS policy and config, node selector,
//! readiness and scheduling gates, service account, node name, tolerations, host aliases,
//! priority class, preemption policy and OS). Security contexts are in `security.rs`; probes,
//! lifecycle hooks and volume sources are validated beside them in `validation.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::pod::{validate_env_field_path, validate_local_descending_path};
use super::FieldError;
use super::metadata::{dns1123_subdomain_errors, label_value_errors, max_len_error, qualified_name_errors, regex_error};
use crate::quantity::{self, Milli};

/// `InclusiveRangeError(1, 65535)`.
const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const RELAXED_ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const MAX_DNS_NAMESERVERS: usize = 3;
const MAX_DNS_SEARCH_PATHS: usize = 32;
const MAX_DNS_SEARCH_LIST_CHARS: usize = 2048;

/// The rules of `validateContainerCommon` after the name and image: terminationMessagePolicy,
/// ports, env, envFrom, volume mounts (beyond the volume's name, which `validation.rs`
/// checks), imagePullPolicy and resources. `field` is `spec.containers[i]`.
pub fn validate_container(c: &Container, field: &str, errs: &mut Vec<FieldError>) {
    match c.termination_message_policy.as_deref().unwrap_or("") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(format!("{field}.terminationMessagePolicy"))),
        p => errs.push(FieldError::not_supported(format!("{field}.terminationMessagePolicy"), p, &["File", "FallbackToLogsOnError"])),
    }
    validate_ports(c, field, errs);
    validate_env(c.env.as_deref().unwrap_or(&[]), &format!("{field}.env"), errs);
    validate_env_from(c, &format!("{field}.envFrom"), errs);
    validate_volume_mounts(c, &format!("{field}.volumeMounts"), errs);
    match c.image_pull_policy.as_deref().unwrap_or("") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(format!("{field}.imagePullPolicy"))),
        p => errs.push(FieldError::not_supported(format!("{field}.imagePullPolicy"), p, &["Always", "IfNotPresent", "Never"])),
    }
    if let Some(r) = &c.resources {
        validate_resources(r, &format!("{field}.resources"), errs);
    }
}

/// `IsValidPortName`.
fn port_name_errors(name: &str) -> Vec<String> {
    let mut e = Vec::new();
    if name.len() > 15 {
        e.push(max_len_error(15));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') || name.is_empty() {
        e.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        e.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        e.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        e.push("must not begin or end with a hyphen".into());
    }
    e
}

/// `validateContainerPorts`.
fn validate_ports(c: &Container, field: &str, errs: &mut Vec<FieldError>) {
    let mut names = BTreeSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let idx = format!("{field}.ports[{i}]");
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = port_name_errors(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| FieldError::invalid(format!("{idx}.name"), name, m)));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(format!("{idx}.name"), name));
            }
        }
        if p.container_port == 0 {
            errs.push(FieldError::required(format!("{idx}.containerPort")));
        } else if !(1..=65535).contains(&p.container_port) {
            errs.push(FieldError::invalid_raw(format!("{idx}.containerPort"), p.container_port, PORT_RANGE));
        }
        if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
            if !(1..=65535).contains(&hp) {
                errs.push(FieldError::invalid_raw(format!("{idx}.hostPort"), hp, PORT_RANGE));
            }
        }
        match p.protocol.as_deref().unwrap_or("") {
            "" => errs.push(FieldError::required(format!("{idx}.protocol"))),
            "SCTP" | "TCP" | "UDP" => {}
            other => errs.push(FieldError::not_supported(format!("{idx}.protocol"), other, &["SCTP", "TCP", "UDP"])),
        }
    }
}

/// `checkHostPortConflicts` over `containers` at `field` (`spec.containers`): a host port
/// taken twice for one protocol and host IP.
pub fn check_host_port_conflicts<'a>(containers: impl Iterator<Item = (usize, &'a Container)>, field: &str, errs: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    for (ci, c) in containers {
        for (pi, p) in c.ports.iter().flatten().enumerate() {
            let Some(hp) = p.host_port.filter(|hp| *hp != 0) else { continue };
            let key = format!("{}/{}/{hp}", p.protocol.as_deref().unwrap_or(""), p.host_ip.as_deref().unwrap_or(""));
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(format!("{field}[{ci}].ports[{pi}].hostPort"), &key));
            }
        }
    }
}

/// `IsRelaxedEnvVarName` (RelaxedEnvironmentVariableValidation, on by default since v1.32).
fn env_name_errors(name: &str) -> Vec<String> {
    if name.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        vec![RELAXED_ENV_NAME_MSG.into()]
    } else {
        Vec::new()
    }
}

/// `IsConfigMapKey`.
fn config_key_errors(key: &str) -> Vec<String> {
    let mut e = Vec::new();
    if key.len() > 253 {
        e.push(max_len_error(253));
    }
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        e.push(regex_error(CONFIG_KEY_MSG, CONFIG_KEY_FMT, &["key.name", "KEY_NAME", "key-name"]));
    }
    match key {
        "." => e.push("must not be '.'".into()),
        ".." => e.push("must not be '..'".into()),
        k if k.starts_with("..") => e.push("must not start with '..'".into()),
        _ => {}
    }
    e
}

/// `ValidateEnv` with `validateEnvVarValueFrom`.
pub fn validate_env(vars: &[EnvVar], field: &str, errs: &mut Vec<FieldError>) {
    for (i, ev) in vars.iter().enumerate() {
        let idx = format!("{field}[{i}]");
        if ev.name.is_empty() {
            errs.push(FieldError::required(format!("{idx}.name")));
        } else {
            errs.extend(env_name_errors(&ev.name).into_iter().map(|m| FieldError::invalid(format!("{idx}.name"), &ev.name, m)));
        }
        let Some(from) = &ev.value_from else { continue };
        let path = format!("{idx}.valueFrom");
        let mut sources = 0;
        if let Some(f) = &from.field_ref {
            sources += 1;
            let fp = format!("{path}.fieldRef");
            match f.api_version.as_deref().unwrap_or("") {
                "" => errs.push(FieldError::required(format!("{fp}.apiVersion"))),
                _ if f.field_path.is_empty() => errs.push(FieldError::required(format!("{fp}.fieldPath"))),
                "v1" => validate_env_field_path(&f.field_path, &format!("{fp}.fieldPath"), errs),
                v => errs.push(FieldError::invalid(
                    format!("{fp}.fieldPath"),
                    &f.field_path,
                    format!("error converting fieldPath: unsupported pod version: {v}"),
                )),
            }
        }
        if let Some(r) = &from.resource_field_ref {
            sources += 1;
            let rp = format!("{path}.resourceFieldRef");
            if r.resource.is_empty() {
                errs.push(FieldError::required(format!("{rp}.resource")));
            } else if !RESOURCE_FIELD_PATHS.contains(&r.resource.as_str())
                && !["limits.hugepages-", "requests.hugepages-"].iter().any(|p| r.resource.starts_with(p))
            {
                errs.push(FieldError::not_supported(format!("{rp}.resource"), &r.resource, &RESOURCE_FIELD_PATHS_SORTED));
            }
            if let Some(d) = &r.divisor {
                validate_divisor(&r.resource, d, &rp, errs);
            }
        }
        for (key_ref, name, key) in [
            ("configMapKeyRef", from.config_map_key_ref.as_ref().map(|s| (&s.name, &s.key))),
            ("secretKeyRef", from.secret_key_ref.as_ref().map(|s| (&s.name, &s.key))),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|(n, key)| (k, n, key)))
        {
            sources += 1;
            let kp = format!("{path}.{key_ref}");
            for m in dns1123_subdomain_errors(name) {
                errs.push(FieldError::invalid(format!("{kp}.name"), name, m));
            }
            if key.is_empty() {
                errs.push(FieldError::required(format!("{kp}.key")));
            } else {
                errs.extend(config_key_errors(key).into_iter().map(|m| FieldError::invalid(format!("{kp}.key"), key, m)));
            }
        }
        let value_set = ev.value.as_deref().is_some_and(|v| !v.is_empty());
        if sources == 0 {
            errs.push(FieldError::invalid(
                &path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if value_set {
            errs.push(FieldError::invalid(&path, "", "may not be specified when `value` is not empty"));
        } else if sources > 1 {
            errs.push(FieldError::invalid(&path, "", "may not have more than one field specified at a time"));
        }
    }
}

/// validContainerResourceFieldPathExpressions, in its declared order and as `sets.List` sorts it.
const RESOURCE_FIELD_PATHS: [&str; 6] =
    ["limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage"];
const RESOURCE_FIELD_PATHS_SORTED: [&str; 6] =
    ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"];

const BYTE_DIVISORS: &str = "1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei";

/// `validateContainerResourceDivisor`: `divisor.String()` must be one of the listed values.
pub(crate) fn validate_divisor(resource: &str, divisor: &Quantity, field: &str, errs: &mut Vec<FieldError>) {
    let Some(canonical) = canonical_quantity(&divisor.0) else { return };
    if canonical == "0" {
        return;
    }
    let bytes = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
    let detail = match resource {
        "limits.cpu" | "requests.cpu" if !["1m", "1"].contains(&canonical.as_str()) => {
            Some("only divisor's values 1m and 1 are supported with the cpu resource".to_string())
        }
        "limits.memory" | "requests.memory" if !bytes.contains(&canonical.as_str()) => {
            Some(format!("only divisor's values {BYTE_DIVISORS} are supported with the memory resource"))
        }
        "limits.ephemeral-storage" | "requests.ephemeral-storage" if !bytes.contains(&canonical.as_str()) => {
            Some(format!("only divisor's values {BYTE_DIVISORS} are supported with the local ephemeral storage resource"))
        }
        _ => None,
    };
    if let Some(d) = detail {
        errs.push(FieldError::invalid(format!("{field}.divisor"), resource, d));
    }
    if (resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-")) && !bytes.contains(&canonical.as_str()) {
        errs.push(FieldError::invalid(
            format!("{field}.divisor"),
            resource,
            format!("only divisor's values {BYTE_DIVISORS} are supported with the hugepages resource"),
        ));
    }
}

/// A quantity as apimachinery's `Quantity.String()` prints it: its canonical form in the
/// format it was written in (binary `Ki`…`Ei`, decimal `m`…`E`, or `eN`), with the largest
/// suffix that keeps it whole. `None` when the text does not parse. Exact to a thousandth.
pub fn canonical_quantity(text: &str) -> Option<String> {
    let Milli(milli) = quantity::parse(text).ok()?;
    let suffix = text.trim().trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'));
    let (sign, abs) = if milli < 0 { ("-", -milli) } else { ("", milli) };
    if abs == 0 {
        return Some("0".into());
    }
    let binary = suffix.ends_with('i');
    if binary && abs % 1000 == 0 && abs >= 1_024_000 {
        let units = abs / 1000;
        let mut k = 0;
        while k < 6 && units % (1i128 << (10 * (k + 1))) == 0 {
            k += 1;
        }
        let names = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        return Some(format!("{sign}{}{}", units >> (10 * k), names[k]));
    }
    // Decimal: the value is abs × 10^-3; take the largest exponent (a multiple of 3) that
    // keeps the mantissa whole.
    let mut mantissa = abs;
    let mut exp: i32 = -3;
    while mantissa % 1000 == 0 && exp < 18 {
        mantissa /= 1000;
        exp += 3;
    }
    let exponent_form = suffix.starts_with(['e', 'E']);
    let tail = if exponent_form {
        if exp == 0 {
            String::new()
        } else {
            format!("e{exp}")
        }
    } else {
        match exp {
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        }
        .to_string()
    };
    Some(format!("{sign}{mantissa}{tail}"))
}

/// `ValidateEnvFrom`.
fn validate_env_from(c: &Container, field: &str, errs: &mut Vec<FieldError>) {
    for (i, ev) in c.env_from.iter().flatten().enumerate() {
        let idx = format!("{field}[{i}]");
        if let Some(prefix) = ev.prefix.as_deref().filter(|p| !p.is_empty()) {
            errs.extend(env_name_errors(prefix).into_iter().map(|m| FieldError::invalid(format!("{idx}.prefix"), prefix, m)));
        }
        let mut sources = 0;
        for (key, name) in
            [("configMapRef", ev.config_map_ref.as_ref().map(|r| &r.name)), ("secretRef", ev.secret_ref.as_ref().map(|r| &r.name))]
        {
            let Some(name) = name else { continue };
            sources += 1;
            if name.is_empty() {
                errs.push(FieldError::required(format!("{idx}.{key}.name")));
            } else {
                // ValidateConfigMapName / ValidateSecretName with prefix = true: a trailing
                // '-' is allowed, as a generated name's prefix.
                let checked = name.strip_suffix('-').unwrap_or(name);
                for m in dns1123_subdomain_errors(checked) {
                    errs.push(FieldError::invalid(format!("{idx}.{key}.name"), name, m));
                }
            }
        }
        if sources == 0 {
            errs.push(FieldError::invalid(field, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if sources > 1 {
            errs.push(FieldError::invalid(field, "", "may not have more than one field specified at a time"));
        }
    }
}

/// The rules of `ValidateVolumeMounts` beyond the volume's name and the subPath: a mount path,
/// unique in the container; subPathExpr a relative descending path, not beside subPath;
/// a known mount propagation, Bidirectional for privileged containers only.
fn validate_volume_mounts(c: &Container, field: &str, errs: &mut Vec<FieldError>) {
    let mut paths = BTreeSet::new();
    let privileged = c.security_context.as_ref().and_then(|s| s.privileged) == Some(true);
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let idx = format!("{field}[{i}]");
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(format!("{idx}.mountPath")));
        }
        if !paths.insert(m.mount_path.as_str()) {
            errs.push(FieldError::invalid(format!("{idx}.mountPath"), &m.mount_path, "must be unique"));
        }
        if let Some(expr) = m.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
            if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::invalid(format!("{idx}.subPathExpr"), expr, "subPathExpr and subPath are mutually exclusive"));
            }
            validate_local_descending_path(expr, &format!("{field}.subPathExpr"), errs);
        }
        if let Some(p) = m.mount_propagation.as_deref() {
            let path = format!("{field}.mountPropagation");
            if !["Bidirectional", "HostToContainer", "None"].contains(&p) {
                errs.push(FieldError::not_supported(&path, p, &["Bidirectional", "HostToContainer", "None"]));
            }
            if p == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(&path, "Bidirectional mount propagation is available only to privileged containers"));
            }
        }
    }
}

/// helper.IsHugePageResourceName.
fn is_huge_pages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// helper.IsNativeResource: no domain, or a `kubernetes.io/` one.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// helper.IsExtendedResourceName.
fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && qualified_name_errors(&format!("requests.{name}")).is_empty()
}

/// helper.IsStandardResourceName (standardResources, and the huge pages names).
fn is_standard_resource(name: &str) -> bool {
    const STANDARD: &[&str] = &[
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "requests.storage",
        "services.nodeports",
        "services.loadbalancers",
    ];
    STANDARD.contains(&name) || is_huge_pages(name) || name.starts_with("requests.hugepages-")
}

/// `validateContainerResourceName`.
fn validate_resource_name(name: &str, field: &str, errs: &mut Vec<FieldError>) {
    let msgs = qualified_name_errors(name);
    if !msgs.is_empty() {
        errs.extend(msgs.into_iter().map(|m| FieldError::invalid(field, name, m)));
    } else if !name.contains('/') && !is_standard_resource(name) {
        errs.push(FieldError::invalid(field, name, "must be a standard resource type or fully qualified"));
    }
    if !name.contains('/') {
        if !["cpu", "memory", "ephemeral-storage"].contains(&name) && !is_huge_pages(name) {
            errs.push(FieldError::invalid(field, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(field, name, "doesn't follow extended resource name standard"));
    }
}

/// `ValidateResourceQuantityValue`: not negative; whole for an extended resource.
fn validate_quantity_value(name: &str, q: &Quantity, field: &str, errs: &mut Vec<FieldError>) {
    let Ok(Milli(v)) = quantity::parse(&q.0) else { return };
    let shown = canonical_quantity(&q.0).unwrap_or_else(|| q.0.clone());
    if v < 0 {
        errs.push(FieldError::invalid(field, &shown, "must be greater than or equal to 0"));
    }
    if is_extended(name) && v % 1000 != 0 {
        errs.push(FieldError::invalid_raw(field, &shown, "must be an integer"));
    }
}

/// The huge page size a `hugepages-<size>` name gives, in thousandths.
fn huge_page_size(name: &str) -> Option<i128> {
    quantity::parse(name.strip_prefix("hugepages-")?).ok().map(|m| m.0)
}

/// `validateResourceQuantityHugePageValue`.
fn validate_huge_page_value(name: &str, q: &Quantity, field: &str, errs: &mut Vec<FieldError>) {
    let Ok(Milli(v)) = quantity::parse(&q.0) else { return };
    let divisible = match huge_page_size(name) {
        Some(size) if size > 0 && v >= 0 => (v / 1000) % (size / 1000).max(1) == 0,
        _ => false,
    };
    if !divisible {
        let shown = canonical_quantity(&q.0).unwrap_or_else(|| q.0.clone());
        errs.push(FieldError::invalid(field, &shown, format!("{shown} is not positive integer multiple of {name}")));
    }
}

/// `validateResourceRequirements` with `validateContainerResourceName`.
pub fn validate_resources(r: &ResourceRequirements, field: &str, errs: &mut Vec<FieldError>) {
    let empty = BTreeMap::new();
    let limits = r.limits.as_ref().unwrap_or(&empty);
    let requests = r.requests.as_ref().unwrap_or(&empty);
    let lim_path = format!("{field}.limits");
    let req_path = format!("{field}.requests");
    let (mut lim_compute, mut req_compute, mut huge) = (false, false, false);
    for (name, q) in limits {
        let f = format!("{lim_path}[{name}]");
        validate_resource_name(name, &f, errs);
        validate_quantity_value(name, q, &f, errs);
        if is_huge_pages(name) {
            huge = true;
            validate_huge_page_value(name, q, &f, errs);
        }
        lim_compute |= name == "cpu" || name == "memory";
    }
    for (name, q) in requests {
        let f = format!("{req_path}[{name}]");
        validate_resource_name(name, &f, errs);
        validate_quantity_value(name, q, &f, errs);
        let overcommit = is_native(name) && !is_huge_pages(name);
        let shown = canonical_quantity(&q.0).unwrap_or_else(|| q.0.clone());
        match limits.get(name) {
            Some(limit) => {
                let (Ok(req), Ok(lim)) = (quantity::parse(&q.0), quantity::parse(&limit.0)) else { continue };
                let lim_shown = canonical_quantity(&limit.0).unwrap_or_else(|| limit.0.clone());
                if req != lim && !overcommit {
                    errs.push(FieldError::invalid(&req_path, &shown, format!("must be equal to {name} limit of {lim_shown}")));
                } else if req > lim {
                    errs.push(FieldError::invalid(&req_path, &shown, format!("must be less than or equal to {name} limit of {lim_shown}")));
                }
            }
            None if !overcommit => {
                errs.push(FieldError::required(&lim_path).with_text("Limit must be set for non overcommitable resources"))
            }
            None => {}
        }
        if is_huge_pages(name) {
            huge = true;
            validate_huge_page_value(name, q, &f, errs);
        }
        req_compute |= name == "cpu" || name == "memory";
    }
    if !lim_compute && !req_compute && huge {
        errs.push(FieldError::forbidden(field, "HugePages require cpu or memory"));
    }
}

/// The pod-spec rules after the containers (ValidatePodSpec): host-network ports, before the
/// restart policy.
pub fn validate_host_network_ports(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if spec.host_network != Some(true) {
        return;
    }
    for (i, c) in spec.containers.iter().enumerate() {
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let hp = p.host_port.unwrap_or(0);
            if hp != p.container_port {
                errs.push(FieldError::invalid_raw(
                    format!("spec.containers[{i}].ports[{j}].hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
}

/// `validateDNSPolicy` and the node selector's labels (ValidatePodSpec, after the restart
/// policy and before the security context).
pub fn validate_dns_policy_and_node_selector(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    match spec.dns_policy.as_deref().unwrap_or("") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required("spec.dnsPolicy")),
        p => errs.push(FieldError::not_supported("spec.dnsPolicy", p, &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"])),
    }
    super::metadata::validate_labels(spec.node_selector.as_ref(), "spec.nodeSelector", errs);
}

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// Go's `%#v` of a `[]string`, as field.Invalid prints a list value.
fn go_string_list(items: &[String]) -> String {
    format!("[]string{{{}}}", items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "))
}

/// The rules after the security context: `validatePodDNSConfig`, `validateReadinessGates`,
/// `validateSchedulingGates`, `validateHostUsers`, the service account's and node's names.
pub fn validate_dns_config_and_names(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    let policy = spec.dns_policy.as_deref().unwrap_or("");
    let dns = spec.dns_config.as_ref();
    let skip_rest = if policy == "None" {
        match dns {
            None => {
                errs.push(FieldError::required("spec.dnsConfig").with_text("must provide `dnsConfig` when `dnsPolicy` is None"));
                true
            }
            Some(d) if d.nameservers.as_ref().is_none_or(Vec::is_empty) => {
                errs.push(
                    FieldError::required("spec.dnsConfig.nameservers")
                        .with_text("must provide at least one DNS nameserver when `dnsPolicy` is None"),
                );
                true
            }
            Some(_) => false,
        }
    } else {
        false
    };
    if let Some(d) = dns.filter(|_| !skip_rest) {
        let nameservers = d.nameservers.as_deref().unwrap_or(&[]);
        if nameservers.len() > MAX_DNS_NAMESERVERS {
            errs.push(FieldError::invalid_raw(
                "spec.dnsConfig.nameservers",
                go_string_list(nameservers),
                format!("must not have more than {MAX_DNS_NAMESERVERS} nameservers"),
            ));
        }
        for (i, ns) in nameservers.iter().enumerate() {
            if !is_ip(ns) {
                errs.push(FieldError::invalid(format!("spec.dnsConfig.nameservers[{i}]"), ns, IP_MSG));
            }
        }
        let searches = d.searches.as_deref().unwrap_or(&[]);
        if searches.len() > MAX_DNS_SEARCH_PATHS {
            errs.push(FieldError::invalid_raw(
                "spec.dnsConfig.searches",
                go_string_list(searches),
                format!("must not have more than {MAX_DNS_SEARCH_PATHS} search paths"),
            ));
        }
        if searches.join(" ").len() > MAX_DNS_SEARCH_LIST_CHARS {
            errs.push(FieldError::invalid_raw(
                "spec.dnsConfig.searches",
                go_string_list(searches),
                format!("must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list"),
            ));
        }
        for (i, s) in searches.iter().enumerate() {
            let s = s.strip_suffix('.').unwrap_or(s);
            for m in dns1123_subdomain_errors(s) {
                errs.push(FieldError::invalid(format!("spec.dnsConfig.searches[{i}]"), s, m));
            }
        }
        for (i, o) in d.options.iter().flatten().enumerate() {
            if o.name.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required(format!("spec.dnsConfig.options[{i}]")).with_text("must not be empty"));
            }
        }
    }
    for (i, g) in spec.readiness_gates.iter().flatten().enumerate() {
        let f = format!("spec.readinessGates[{i}].conditionType");
        errs.extend(qualified_name_errors(&g.condition_type).into_iter().map(|m| FieldError::invalid(&f, &g.condition_type, m)));
    }
    let mut gates = BTreeSet::new();
    for (i, g) in spec.scheduling_gates.iter().flatten().enumerate() {
        let f = format!("spec.schedulingGates[{i}]");
        errs.extend(qualified_name_errors(&g.name).into_iter().map(|m| FieldError::invalid(&f, &g.name, m)));
        if !gates.insert(g.name.as_str()) {
            errs.push(FieldError::duplicate(&f, &g.name));
        }
    }
    // validateHostUsers: a pod in its own user namespace shares no other namespace with the node.
    if spec.host_users == Some(false) {
        for (set, path) in [(spec.host_network, "spec.hostNetwork"), (spec.host_pid, "spec.HostPID"), (spec.host_ipc, "spec.HostIPC")] {
            if set == Some(true) {
                errs.push(FieldError::forbidden(path, "when `pod.Spec.HostUsers` is false"));
            }
        }
    }
    for (field, value) in [("spec.serviceAccountName", &spec.service_account_name), ("spec.nodeName", &spec.node_name)] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            errs.extend(dns1123_subdomain_errors(v).into_iter().map(|m| FieldError::invalid(field, v, m)));
        }
    }
}

/// The last rules of ValidatePodSpec: tolerations, host aliases, the priority class's name,
/// the preemption policy and the OS.
pub fn validate_scheduling_and_os(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        validate_toleration(t, &format!("spec.tolerations[{i}]"), errs);
    }
    for (i, a) in spec.host_aliases.iter().flatten().enumerate() {
        if !is_ip(&a.ip) {
            errs.push(FieldError::invalid(format!("spec.hostAliases[{i}].ip"), &a.ip, IP_MSG));
        }
        for (j, h) in a.hostnames.iter().flatten().enumerate() {
            let f = format!("spec.hostAliases[{i}].hostnames[{j}]");
            errs.extend(dns1123_subdomain_errors(h).into_iter().map(|m| FieldError::invalid(&f, h, m)));
        }
    }
    if let Some(p) = spec.priority_class_name.as_deref().filter(|p| !p.is_empty()) {
        errs.extend(dns1123_subdomain_errors(p).into_iter().map(|m| FieldError::invalid("spec.priorityClassName", p, m)));
    }
    match spec.preemption_policy.as_deref() {
        None | Some("PreemptLowerPriority" | "Never") => {}
        Some("") => errs.push(FieldError::required("spec.preemptionPolicy")),
        Some(p) => errs.push(FieldError::not_supported("spec.preemptionPolicy", p, &["PreemptLowerPriority", "Never"])),
    }
    if let Some(os) = &spec.os {
        match os.name.as_str() {
            "" => errs.push(FieldError::required("spec.os.name").with_text("cannot be empty")),
            "linux" => super::security::validate_linux(spec, errs),
            "windows" => super::security::validate_windows(spec, errs),
            other => errs.push(FieldError::not_supported("spec.os", other, &["linux", "windows"])),
        }
    }
}

/// `ValidateTolerations`, one toleration.
pub(crate) fn validate_toleration(t: &Toleration, idx: &str, errs: &mut Vec<FieldError>) {
    let key = t.key.as_deref().unwrap_or("");
    let operator = t.operator.as_deref().unwrap_or("");
    let effect = t.effect.as_deref().unwrap_or("");
    let value = t.value.as_deref().unwrap_or("");
    if !key.is_empty() {
        errs.extend(qualified_name_errors(key).into_iter().map(|m| FieldError::invalid(format!("{idx}.key"), key, m)));
    }
    if key.is_empty() && operator != "Exists" {
        errs.push(FieldError::invalid(
            format!("{idx}.operator"),
            operator,
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        errs.push(FieldError::invalid(format!("{idx}.effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    match operator {
        "Equal" | "" => {
            let msgs = label_value_errors(value);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(format!("{idx}.operator"), value, msgs.join(";")));
            }
        }
        "Exists" => {
            if !value.is_empty() {
                errs.push(FieldError::invalid(format!("{idx}.operator"), value, "value must be empty when `operator` is 'Exists'"));
            }
        }
        other => errs.push(FieldError::not_supported(format!("{idx}.operator"), other, &["Equal", "Exists"])),
    }
    if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        errs.push(FieldError::not_supported(format!("{idx}.effect"), effect, &["NoSchedule", "PreferNoSchedule", "NoExecute"]));
    }
}

impl FieldError {
    /// The same error with a detail (`field.Required(path, "detail")`).
    pub(crate) fn with_text(mut self, detail: &str) -> Self {
        self.detail = detail.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::PodStrategy;

    /// The errors kube-apiserver's create gives a pod with this spec (defaulted first, as the
    /// API server decodes it), each as `field.Error` prints.
    fn errors(spec: &str) -> Vec<String> {
        let pod = serde_yaml::from_str(&format!("metadata: {{name: p}}\nspec:\n{spec}")).unwrap();
        PodStrategy.create_errors(&pod).iter().map(ToString::to_string).collect()
    }

    fn check(spec: &str, expected: &[&str]) {
        assert_eq!(errors(spec), expected, "spec:\n{spec}");
    }

    #[test]
    fn enumerated_container_fields() {
        check(
            "  containers:\n  - {name: a, image: busybox, imagePullPolicy: Sometimes, terminationMessagePolicy: Logs}\n",
            &[
                "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Logs\": supported values: \"File\", \"FallbackToLogsOnError\"",
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ],
        );
    }

    #[test]
    fn container_ports() {
        check(
            "  containers:\n  - name: a\n    image: busybox\n    ports:\n    - {name: Web_1, containerPort: 70000, hostPort: 8080, protocol: HTTP}\n    - {name: http, containerPort: 80}\n    - {name: http, containerPort: 81, hostPort: 8080, protocol: HTTP}\n",
            &[
                "spec.containers[0].ports[0].name: Invalid value: \"Web_1\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].ports[2].name: Duplicate value: \"http\"",
                "spec.containers[0].ports[2].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].ports[2].hostPort: Duplicate value: \"HTTP//8080\"",
            ],
        );
    }

    #[test]
    fn host_ports_conflict_across_containers_and_default_to_the_container_port_on_the_host_network() {
        check(
            "  containers:\n  - {name: a, image: busybox, ports: [{containerPort: 80, hostPort: 8080}]}\n  - {name: b, image: busybox, ports: [{containerPort: 81, hostPort: 8080}]}\n",
            &["spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\""],
        );
        check("  hostNetwork: true\n  containers:\n  - {name: a, image: busybox, ports: [{containerPort: 80}]}\n", &[]);
        check(
            "  hostNetwork: true\n  containers:\n  - {name: a, image: busybox, ports: [{containerPort: 80, hostPort: 8080}]}\n",
            &["spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"],
        );
    }

    #[test]
    fn env_names_and_sources() {
        check(
            "  containers:\n  - name: a\n    image: busybox\n    env:\n    - {name: 'A=B', value: x}\n    - {name: B, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n    - {name: C, valueFrom: {}}\n    - {name: D, valueFrom: {configMapKeyRef: {name: c, key: 'a b'}, secretKeyRef: {name: s, key: k}}}\n    - {name: E, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}\n    - {name: F, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 10m}}}\n    - {name: G, valueFrom: {fieldRef: {fieldPath: spec.hostname}}}\n    envFrom:\n    - {prefix: 'X=', configMapRef: {name: c}}\n    - {}\n",
            &[
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                "spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                "spec.containers[0].env[3].valueFrom.configMapKeyRef.key: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "spec.containers[0].env[3].valueFrom: Invalid value: \"\": may not have more than one field specified at a time",
                "spec.containers[0].env[4].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\", \"limits.ephemeral-storage\", \"limits.memory\", \"requests.cpu\", \"requests.ephemeral-storage\", \"requests.memory\"",
                "spec.containers[0].env[5].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource",
                "spec.containers[0].env[6].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.hostname\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
                "spec.containers[0].envFrom[0].prefix: Invalid value: \"X=\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
            ],
        );
    }

    #[test]
    fn divisors_are_compared_in_their_canonical_form() {
        assert_eq!(canonical_quantity("1000m").as_deref(), Some("1"));
        assert_eq!(canonical_quantity("0.5").as_deref(), Some("500m"));
        assert_eq!(canonical_quantity("1024Ki").as_deref(), Some("1Mi"));
        assert_eq!(canonical_quantity("1536Ki").as_deref(), Some("1536Ki"));
        assert_eq!(canonical_quantity("1000").as_deref(), Some("1k"));
        assert_eq!(canonical_quantity("1e3").as_deref(), Some("1e3"));
        assert_eq!(canonical_quantity("512").as_deref(), Some("512"));
        check(
            "  containers:\n  - name: a\n    image: busybox\n    env:\n    - {name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1000m}}}\n    - {name: B, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1024Ki}}}\n    - {name: C, valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: '1024'}}}\n",
            &["spec.containers[0].env[2].valueFrom.resourceFieldRef.divisor: Invalid value: \"requests.memory\": only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"],
        );
    }

    #[test]
    fn resources() {
        // A limit without a request becomes the request (defaulting) before validation: the
        // memory and pods limits are checked as requests too. An extended resource
        // (example.com/...) takes whole numbers and a request equal to its limit.
        check(
            "  containers:\n  - name: a\n    image: busybox\n    resources:\n      limits: {cpu: 500m, memory: -1Mi, pods: '1', example.com/gpu: '2'}\n      requests: {cpu: '1', example.com/gpu: '1', example.com/fpga: '0.5', foo: '1'}\n",
            &[
                "spec.containers[0].resources.limits[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
                "spec.containers[0].resources.limits[pods]: Invalid value: \"pods\": must be a standard resource for containers",
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
                "spec.containers[0].resources.requests[example.com/fpga]: Invalid value: 500m: must be an integer",
                "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be equal to example.com/gpu limit of 2",
                "spec.containers[0].resources.requests[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified",
                "spec.containers[0].resources.requests[foo]: Invalid value: \"foo\": must be a standard resource for containers",
                "spec.containers[0].resources.requests[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
                "spec.containers[0].resources.requests[pods]: Invalid value: \"pods\": must be a standard resource for containers",
            ],
        );
        check(
            "  containers:\n  - name: a\n    image: busybox\n    resources:\n      limits: {hugepages-2Mi: 3Mi, example.com/a/b: '1'}\n",
            &[
                "spec.containers[0].resources.limits[example.com/a/b]: Invalid value: \"example.com/a/b\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                "spec.containers[0].resources.limits[example.com/a/b]: Invalid value: \"example.com/a/b\": doesn't follow extended resource name standard",
                "spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi",
                "spec.containers[0].resources.requests[example.com/a/b]: Invalid value: \"example.com/a/b\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                "spec.containers[0].resources.requests[example.com/a/b]: Invalid value: \"example.com/a/b\": doesn't follow extended resource name standard",
                "spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi",
                "spec.containers[0].resources: Forbidden: HugePages require cpu or memory",
            ],
        );
    }

    #[test]
    fn volume_mounts() {
        check(
            "  volumes: [{name: v, emptyDir: {}}]\n  containers:\n  - name: a\n    image: busybox\n    volumeMounts:\n    - {name: v, mountPath: /m, subPath: ../x}\n    - {name: v, mountPath: /m, subPath: a, subPathExpr: b, mountPropagation: Bidirectional}\n    - {name: v, mountPath: /n, mountPropagation: Sideways}\n    - {name: v, mountPath: /o, subPathExpr: /$(A)/../x}\n",
            &[
                "spec.containers[0].volumeMounts.subPath: Invalid value: \"../x\": must not contain '..'",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/m\": must be unique",
                "spec.containers[0].volumeMounts[1].subPathExpr: Invalid value: \"b\": subPathExpr and subPath are mutually exclusive",
                "spec.containers[0].volumeMounts.mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
                "spec.containers[0].volumeMounts.mountPropagation: Unsupported value: \"Sideways\": supported values: \"Bidirectional\", \"HostToContainer\", \"None\"",
                "spec.containers[0].volumeMounts.subPathExpr: Invalid value: \"/$(A)/../x\": must be a relative path",
                "spec.containers[0].volumeMounts.subPathExpr: Invalid value: \"/$(A)/../x\": must not contain '..'",
            ],
        );
    }

    #[test]
    fn container_security_context() {
        check(
            "  containers:\n  - name: a\n    image: busybox\n    securityContext:\n      runAsUser: -1\n      procMount: Unmasked\n      allowPrivilegeEscalation: false\n      privileged: true\n      capabilities: {add: [CAP_SYS_ADMIN]}\n      seccompProfile: {type: Localhost}\n",
            &[
                "spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`",
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
                "spec.containers[0].securityContext: Invalid value: core.SecurityContext{...}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                "spec.containers[0].securityContext: Invalid value: core.SecurityContext{...}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ],
        );
    }

    #[test]
    fn pod_security_context() {
        check(
            "  hostNetwork: true\n  hostIPC: true\n  securityContext:\n    fsGroup: -2\n    supplementalGroups: [1, 4294967296]\n    fsGroupChangePolicy: Never\n    sysctls: [{name: net.ipv4.ip_forward, value: '1'}, {name: kernel.shm_rmid_forced, value: '1'}, {name: kernel.hostname, value: x}]\n    seccompProfile: {type: Custom}\n  containers:\n  - {name: a, image: busybox}\n",
            &[
                "spec.securityContext.fsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.supplementalGroups[1]: Invalid value: 4294967296: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.sysctls[0].name: Invalid value: \"net.ipv4.ip_forward\": may not be specified when 'hostNetwork' is true",
                "spec.securityContext.sysctls[1].name: Invalid value: \"kernel.shm_rmid_forced\": may not be specified when 'hostIPC' is true",
                "spec.securityContext.fsGroupChangePolicy: Unsupported value: \"Never\": supported values: \"Always\", \"OnRootMismatch\"",
                "spec.securityContext.seccompProfile.type: Unsupported value: \"Custom\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\"",
            ],
        );
    }

    #[test]
    fn dns_policy_and_config() {
        check(
            "  dnsPolicy: Cluster\n  containers:\n  - {name: a, image: busybox}\n",
            &["spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""],
        );
        check(
            "  dnsPolicy: None\n  containers:\n  - {name: a, image: busybox}\n",
            &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
        );
        check(
            "  dnsPolicy: None\n  dnsConfig: {searches: [a.example]}\n  containers:\n  - {name: a, image: busybox}\n",
            &["spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"],
        );
        check(
            "  dnsConfig:\n    nameservers: [1.1.1.1, 2.2.2.2, 3.3.3.3, dns.example]\n    searches: [ns.svc.cluster.local., Bad_Domain]\n    options: [{value: '2'}]\n  containers:\n  - {name: a, image: busybox}\n",
            &[
                "spec.dnsConfig.nameservers: Invalid value: []string{\"1.1.1.1\", \"2.2.2.2\", \"3.3.3.3\", \"dns.example\"}: must not have more than 3 nameservers",
                "spec.dnsConfig.nameservers[3]: Invalid value: \"dns.example\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "spec.dnsConfig.searches[1]: Invalid value: \"Bad_Domain\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.dnsConfig.options[0]: Required value: must not be empty",
            ],
        );
    }

    #[test]
    fn names_gates_and_node_selector() {
        check(
            "  nodeSelector: {'bad key!': v}\n  readinessGates: [{conditionType: 'a b'}]\n  serviceAccountName: Default\n  nodeName: node_1\n  priorityClassName: High\n  containers:\n  - {name: a, image: busybox}\n",
            &[
                "spec.nodeSelector: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.readinessGates[0].conditionType: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.serviceAccountName: Invalid value: \"Default\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.nodeName: Invalid value: \"node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.priorityClassName: Invalid value: \"High\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        );
    }

    #[test]
    fn tolerations_host_aliases_preemption_and_os() {
        check(
            "  tolerations:\n  - {operator: Equal, value: v}\n  - {key: k, operator: Exists, value: v, effect: NoExecute}\n  - {key: k, operator: In, effect: Sometimes, tolerationSeconds: 5}\n  hostAliases: [{ip: 123.45.67.890, hostnames: [foo, Bar]}]\n  preemptionPolicy: Always\n  os: {name: plan9}\n  containers:\n  - {name: a, image: busybox}\n",
            &[
                "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                "spec.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'",
                "spec.tolerations[2].effect: Invalid value: \"Sometimes\": effect must be 'NoExecute' when `tolerationSeconds` is set",
                "spec.tolerations[2].operator: Unsupported value: \"In\": supported values: \"Equal\", \"Exists\"",
                "spec.tolerations[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                "spec.hostAliases[0].ip: Invalid value: \"123.45.67.890\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "spec.hostAliases[0].hostnames[1]: Invalid value: \"Bar\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\"",
                "spec.os: Unsupported value: \"plan9\": supported values: \"linux\", \"windows\"",
            ],
        );
        check(
            "  os: {name: windows}\n  hostPID: true\n  containers:\n  - {name: a, image: busybox, securityContext: {runAsUser: 1}}\n",
            &[
                "spec.hostPID: Forbidden: cannot be set for a windows pod",
                "spec.containers[0].securityContext.runAsUser: Forbidden: cannot be set for a windows pod",
            ],
        );
    }

    #[test]
    fn host_users_false_shares_no_namespace() {
        check(
            "  hostUsers: false\n  hostNetwork: true\n  hostPID: true\n  containers:\n  - {name: a, image: busybox}\n",
            &[
                "spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false",
                "spec.HostPID: Forbidden: when `pod.Spec.HostUsers` is false",
            ],
        );
    }
}
