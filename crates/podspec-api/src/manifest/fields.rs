//! Every field of a pod the reference runtime is handed, in exactly one of three lists:
//! implemented (a scenario covers it), refused up front (the reference lacks it: a feature that
//! uses it stops the run before anything runs, naming the field), or accepted with no effect on
//! a single node (with the reason). This table is the one place that says so: the up-front check
//! reads it, `podspec fields` prints it, and the book's generated field page
//! (docs/src/reference/fields.md, `podspec docs`) embeds that print (a test keeps the two equal).
//!
//! A row moves from one list to another by changing its one line.

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

/// How the reference runtime handles a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Done as Kubernetes does it; the text names the feature that states it.
    Implemented(&'static str),
    /// Refused before anything runs; the text says what the reference lacks.
    Refused(&'static str),
    /// Accepted; nothing on a single node depends on it. The text says why.
    NoEffect(&'static str),
}

/// One field of one of the pod's object types.
#[derive(Debug, Clone, Copy)]
pub struct FieldRule {
    /// The Kubernetes type the field belongs to (`PodSpec`, `Container`, ...).
    pub object: &'static str,
    /// The field's JSON name; `resources.limits` stands for part of a field.
    pub field: &'static str,
    pub handling: Handling,
}

use Handling::{Implemented, NoEffect, Refused};

/// Confinement the reference runtime has, but no scenario states yet: refused until one does.
const CONFINE: Handling = Refused("no scenario states it on the reference runtime yet");
const SCHEDULING: Handling = NoEffect("scheduling: a single node has no other node to choose");
const NO_OBJECTS: Handling = Refused("the reference API holds no PersistentVolumeClaim objects");
const ONLY_EMPTY_DIR: Handling = Refused("only emptyDir volumes");
const PROBES: Handling = Implemented("features/probes.feature");
const HOOKS: Handling = Implemented("features/lifecycle-hooks.feature");
const ATTACH: Handling = Implemented("tests/it/serve_attach.rs: kept open for pods/attach (kubectl attach -i, run -i, debug -i)");
const TTY: Handling = Implemented(
    "tests/it/serve_attach.rs: a terminal the runtime keeps, logged as stdout, fed and resized by pods/attach (kubectl run -it, debug -it)",
);
const NO_LSM: Handling = Refused("no SELinux or AppArmor on the reference node");
const AS_CONTAINER: Handling = Implemented("as for a container (the same kubelet code): see Container");
const NOT_EPHEMERAL: Handling =
    Implemented("features/ephemeral-containers.feature: the API forbids it for an ephemeral container, with Kubernetes' text");
const WINDOWS: Handling = NoEffect("Windows only: a Linux node ignores it, as the kubelet does");

const fn f(object: &'static str, field: &'static str, handling: Handling) -> FieldRule {
    FieldRule { object, field, handling }
}

/// The table, by object and field name.
pub const FIELDS: &[FieldRule] = &[
    // PodSpec
    f("PodSpec", "activeDeadlineSeconds", Implemented("features/lifecycle.feature")),
    f("PodSpec", "affinity", SCHEDULING),
    f("PodSpec", "automountServiceAccountToken", Implemented("features/service-account-token.feature (ServiceAccount admission's kube-api-access volume unless it, or else the ServiceAccount's, is false)")),
    f("PodSpec", "containers", Implemented("every feature")),
    f("PodSpec", "dnsConfig", Implemented("features/hostname.feature, with dnsPolicy None (the pod's resolv.conf is the dnsConfig alone); with another dnsPolicy refused: no cluster DNS or node resolv.conf to merge it with")),
    f("PodSpec", "dnsPolicy", NoEffect("no cluster DNS on the reference node (defaulted to ClusterFirst, as the API server does)")),
    f("PodSpec", "enableServiceLinks", NoEffect("no Services, so no service environment variables")),
    f("PodSpec", "ephemeralContainers", Implemented("features/ephemeral-containers.feature (added through the pod's ephemeralcontainers subresource; the API refuses them on create, as Kubernetes does)")),
    f("PodSpec", "hostAliases", Implemented("features/hostname.feature (appended to the kubelet-managed /etc/hosts)")),
    f("PodSpec", "hostIPC", Implemented("features/pid-and-host-namespaces.feature")),
    f("PodSpec", "hostNetwork", Implemented("features/pid-and-host-namespaces.feature")),
    f("PodSpec", "hostPID", Implemented("features/pid-and-host-namespaces.feature")),
    f("PodSpec", "hostUsers", Refused("no user namespaces for pods")),
    f("PodSpec", "hostname", Implemented("features/hostname.feature")),
    f("PodSpec", "imagePullSecrets", Implemented("tests/it/image_pull.rs (dockerconfigjson and dockercfg Secrets, matched to the registry as the kubelet's keyring does; Basic and Bearer auth)")),
    f("PodSpec", "initContainers", Implemented("features/init-containers.feature")),
    f("PodSpec", "nodeName", NoEffect("a single node: every pod is bound to it")),
    f("PodSpec", "nodeSelector", SCHEDULING),
    f("PodSpec", "os", Implemented("features/lifecycle.feature")),
    f("PodSpec", "overhead", NoEffect("set from the pod's RuntimeClass by the API's admission (features/runtime-class.feature); on a single node it reserves nothing, and the pod's cgroup is not sized by it")),
    f("PodSpec", "preemptionPolicy", NoEffect("preemption: a single node's scheduler is not there to preempt")),
    f("PodSpec", "priority", NoEffect("preemption and eviction order: nothing is preempted or evicted")),
    f("PodSpec", "priorityClassName", NoEffect("preemption and eviction order: nothing is preempted or evicted")),
    f("PodSpec", "readinessGates", Implemented("features/probes.feature (conditions written through the status subresource)")),
    f("PodSpec", "resourceClaims", Refused("no dynamic resource allocation")),
    f("PodSpec", "resources", CONFINE),
    f("PodSpec", "restartPolicy", Implemented("features/lifecycle.feature")),
    f("PodSpec", "runtimeClassName", Implemented("features/runtime-class.feature: admitted as kube-apiserver's RuntimeClass admission does; the kubelet asks the runtime for the class's handler")),
    f("PodSpec", "schedulerName", SCHEDULING),
    f("PodSpec", "schedulingGates", Refused("no scheduler: a gated pod would be bound at once")),
    f("PodSpec", "securityContext", Implemented("its fields: see PodSecurityContext")),
    f("PodSpec", "serviceAccount", NoEffect("the deprecated alias is kept as written; serviceAccountName is the one admitted and used")),
    f("PodSpec", "serviceAccountName", Implemented("features/service-account-token.feature")),
    f("PodSpec", "setHostnameAsFQDN", Implemented("features/hostname.feature")),
    f("PodSpec", "shareProcessNamespace", Implemented("features/pid-and-host-namespaces.feature")),
    f("PodSpec", "subdomain", Implemented("features/hostname.feature")),
    f("PodSpec", "terminationGracePeriodSeconds", Implemented("features/api-create.feature (its default); the kubelet stops containers with SIGTERM, then SIGKILL after it")),
    f("PodSpec", "tolerations", NoEffect("scheduling and taint eviction: the node has no taints")),
    f("PodSpec", "topologySpreadConstraints", SCHEDULING),
    f("PodSpec", "volumes", Implemented("features/storage.feature")),
    // Container (containers and initContainers)
    f("Container", "args", Implemented("every feature; $(VAR) expansion: features/environment.feature")),
    f("Container", "command", Implemented("every feature; $(VAR) expansion: features/environment.feature")),
    f("Container", "env", Implemented("features/environment.feature")),
    f("Container", "envFrom", Implemented("features/configmap-secret-env.feature")),
    f("Container", "image", Implemented("every feature")),
    f("Container", "imagePullPolicy", Implemented("tests/it/image_pull.rs: Always, IfNotPresent and Never as the kubelet applies them, pulling from a registry on loopback")),
    f("Container", "lifecycle", Implemented("its fields: see Lifecycle")),
    f("Container", "livenessProbe", Implemented("its fields: see Probe")),
    f("Container", "name", Implemented("every feature")),
    f("Container", "ports", NoEffect("informational: every port is reachable on the pod IP")),
    f("Container", "readinessProbe", Implemented("its fields: see Probe")),
    f("Container", "resizePolicy", NoEffect("in-place resize: no resources are applied to resize")),
    f("Container", "resources.claims", Refused("no dynamic resource allocation")),
    f("Container", "resources.limits", Implemented("features/security.feature (memory and CPU as cgroup limits)")),
    f("Container", "resources.requests", NoEffect("scheduling: nothing is reserved on the single node (the downward API reads them)")),
    f("Container", "restartPolicy", Implemented("features/init-containers.feature")),
    f("Container", "securityContext", Implemented("its fields: see SecurityContext")),
    f("Container", "startupProbe", Implemented("its fields: see Probe")),
    f("Container", "stdin", ATTACH),
    f("Container", "stdinOnce", ATTACH),
    f("Container", "terminationMessagePath", Implemented("features/termination-message.feature")),
    f("Container", "terminationMessagePolicy", Implemented("features/termination-message.feature")),
    f("Container", "tty", TTY),
    f("Container", "volumeDevices", Refused("no block volumes")),
    f("Container", "volumeMounts", Implemented("features/storage.feature")),
    f("Container", "workingDir", Implemented("features/environment.feature")),
    // EphemeralContainer (spec.ephemeralContainers, added through the subresource): it runs as
    // a container does, through the same kubelet code.
    f("EphemeralContainer", "args", AS_CONTAINER),
    f("EphemeralContainer", "command", AS_CONTAINER),
    f("EphemeralContainer", "env", AS_CONTAINER),
    f("EphemeralContainer", "envFrom", AS_CONTAINER),
    f("EphemeralContainer", "image", AS_CONTAINER),
    f("EphemeralContainer", "imagePullPolicy", AS_CONTAINER),
    f("EphemeralContainer", "lifecycle", NOT_EPHEMERAL),
    f("EphemeralContainer", "livenessProbe", NOT_EPHEMERAL),
    f("EphemeralContainer", "name", Implemented("features/ephemeral-containers.feature")),
    f("EphemeralContainer", "ports", NOT_EPHEMERAL),
    f("EphemeralContainer", "readinessProbe", NOT_EPHEMERAL),
    f("EphemeralContainer", "resizePolicy", NOT_EPHEMERAL),
    f("EphemeralContainer", "resources", NOT_EPHEMERAL),
    f("EphemeralContainer", "restartPolicy", NOT_EPHEMERAL),
    f("EphemeralContainer", "securityContext", AS_CONTAINER),
    f("EphemeralContainer", "startupProbe", NOT_EPHEMERAL),
    f("EphemeralContainer", "stdin", ATTACH),
    f("EphemeralContainer", "stdinOnce", ATTACH),
    f("EphemeralContainer", "targetContainerName", Implemented("features/ephemeral-containers.feature (the target's PID namespace)")),
    f("EphemeralContainer", "terminationMessagePath", AS_CONTAINER),
    f("EphemeralContainer", "terminationMessagePolicy", AS_CONTAINER),
    f("EphemeralContainer", "tty", TTY),
    f("EphemeralContainer", "volumeDevices", Refused("no block volumes")),
    f("EphemeralContainer", "volumeMounts", AS_CONTAINER),
    f("EphemeralContainer", "workingDir", AS_CONTAINER),
    // Probe (a container's livenessProbe, readinessProbe and startupProbe)
    f("Probe", "exec", PROBES),
    f("Probe", "failureThreshold", PROBES),
    f("Probe", "grpc", Implemented("features/probes.feature; its fields: see GRPCAction")),
    f("Probe", "httpGet", Implemented("features/probes.feature; its fields: see HTTPGetAction")),
    f("Probe", "initialDelaySeconds", PROBES),
    f("Probe", "periodSeconds", PROBES),
    f("Probe", "successThreshold", PROBES),
    f("Probe", "tcpSocket", PROBES),
    f("Probe", "terminationGracePeriodSeconds", PROBES),
    f("Probe", "timeoutSeconds", PROBES),
    // Lifecycle (a container's lifecycle) and its handlers
    f("Lifecycle", "postStart", HOOKS),
    f("Lifecycle", "preStop", HOOKS),
    f("Lifecycle", "stopSignal", Refused("no stop signal of a container's own: every container is stopped with SIGTERM")),
    f("LifecycleHandler", "exec", HOOKS),
    f("LifecycleHandler", "httpGet", Implemented("features/lifecycle-hooks.feature; its fields: see HTTPGetAction")),
    f("LifecycleHandler", "sleep", HOOKS),
    f("LifecycleHandler", "tcpSocket", Refused("a tcpSocket lifecycle handler is kept by the API for compatibility only: the kubelet runs none")),
    // HTTPGetAction (a probe's or a hook's httpGet)
    f("HTTPGetAction", "host", PROBES),
    f("HTTPGetAction", "httpHeaders", PROBES),
    f("HTTPGetAction", "path", Implemented("features/probes.feature, features/lifecycle-hooks.feature")),
    f("HTTPGetAction", "port", Implemented("features/probes.feature (by number and by name), features/lifecycle-hooks.feature")),
    f("HTTPGetAction", "scheme", Implemented("HTTP only: HTTPS is refused up front, naming the field")),
    // GRPCAction (a probe's grpc: the standard grpc.health.v1 service, plaintext, on the pod's IP)
    f("GRPCAction", "port", PROBES),
    f("GRPCAction", "service", PROBES),
    // EnvVarSource (a container's env[*].valueFrom)
    f("EnvVarSource", "configMapKeyRef", Implemented("features/configmap-secret-env.feature")),
    f("EnvVarSource", "fieldRef", Implemented("features/environment.feature")),
    f("EnvVarSource", "resourceFieldRef", Implemented("features/environment.feature")),
    f("EnvVarSource", "secretKeyRef", Implemented("features/configmap-secret-env.feature")),
    // VolumeMount (a container's volumeMounts[*])
    f("VolumeMount", "mountPath", Implemented("features/storage.feature")),
    f("VolumeMount", "mountPropagation", Refused("every mount is private to its container")),
    f("VolumeMount", "name", Implemented("features/storage.feature")),
    f("VolumeMount", "readOnly", Implemented("features/storage.feature")),
    f("VolumeMount", "recursiveReadOnly", Refused("no recursive read-only mounts")),
    f("VolumeMount", "subPath", Implemented("features/storage.feature")),
    f("VolumeMount", "subPathExpr", Implemented("features/environment.feature")),
    // Volume
    f("Volume", "awsElasticBlockStore", ONLY_EMPTY_DIR),
    f("Volume", "azureDisk", ONLY_EMPTY_DIR),
    f("Volume", "azureFile", ONLY_EMPTY_DIR),
    f("Volume", "cephfs", ONLY_EMPTY_DIR),
    f("Volume", "cinder", ONLY_EMPTY_DIR),
    f("Volume", "configMap", Implemented("features/configmap-volumes.feature")),
    f("Volume", "csi", ONLY_EMPTY_DIR),
    f("Volume", "downwardAPI", Implemented("features/downward-api-volumes.feature")),
    f("Volume", "emptyDir", Implemented("features/storage.feature")),
    f("Volume", "ephemeral", ONLY_EMPTY_DIR),
    f("Volume", "fc", ONLY_EMPTY_DIR),
    f("Volume", "flexVolume", ONLY_EMPTY_DIR),
    f("Volume", "flocker", ONLY_EMPTY_DIR),
    f("Volume", "gcePersistentDisk", ONLY_EMPTY_DIR),
    f("Volume", "gitRepo", ONLY_EMPTY_DIR),
    f("Volume", "glusterfs", ONLY_EMPTY_DIR),
    f(
        "Volume",
        "hostPath",
        Implemented(
            "only a directory inside the node's own static pod directory (podspec's state): the kube target's manifest writer mounts it, features/static-pods.feature through --target kube; any other path is refused up front, naming the field: the machine's own files are never handed to a pod",
        ),
    ),
    f("Volume", "image", ONLY_EMPTY_DIR),
    f("Volume", "iscsi", ONLY_EMPTY_DIR),
    f("Volume", "name", Implemented("features/storage.feature")),
    f("Volume", "nfs", ONLY_EMPTY_DIR),
    f("Volume", "persistentVolumeClaim", NO_OBJECTS),
    f("Volume", "photonPersistentDisk", ONLY_EMPTY_DIR),
    f("Volume", "portworxVolume", ONLY_EMPTY_DIR),
    f("Volume", "projected", Implemented("features/projected-volumes.feature: downwardAPI sources (other sources: see VolumeProjection)")),
    f("Volume", "quobyte", ONLY_EMPTY_DIR),
    f("Volume", "rbd", ONLY_EMPTY_DIR),
    f("Volume", "scaleIO", ONLY_EMPTY_DIR),
    f("Volume", "secret", Implemented("features/secret-volumes.feature")),
    f("Volume", "storageos", ONLY_EMPTY_DIR),
    f("Volume", "vsphereVolume", ONLY_EMPTY_DIR),
    // EmptyDirVolumeSource (a volume's emptyDir)
    f("EmptyDirVolumeSource", "medium", Implemented("features/storage.feature")),
    f("EmptyDirVolumeSource", "sizeLimit", Implemented("features/storage.feature")),
    // DownwardAPIVolumeSource (a volume's downwardAPI)
    f("DownwardAPIVolumeSource", "defaultMode", Implemented("features/downward-api-volumes.feature")),
    f("DownwardAPIVolumeSource", "items", Implemented("features/downward-api-volumes.feature")),
    // DownwardAPIVolumeFile (an item of a downwardAPI volume or projection)
    f("DownwardAPIVolumeFile", "fieldRef", Implemented("features/downward-api-volumes.feature")),
    f("DownwardAPIVolumeFile", "mode", Implemented("features/downward-api-volumes.feature")),
    f("DownwardAPIVolumeFile", "path", Implemented("features/downward-api-volumes.feature")),
    f("DownwardAPIVolumeFile", "resourceFieldRef", Implemented("features/downward-api-volumes.feature")),
    // ProjectedVolumeSource (a volume's projected)
    f("ProjectedVolumeSource", "defaultMode", Implemented("features/projected-volumes.feature")),
    f("ProjectedVolumeSource", "sources", Implemented("features/projected-volumes.feature")),
    // VolumeProjection (a projected volume's sources[*])
    f("VolumeProjection", "clusterTrustBundle", Refused("the reference API holds no ClusterTrustBundle objects")),
    f("VolumeProjection", "configMap", Implemented("features/projected-objects.feature")),
    f("VolumeProjection", "downwardAPI", Implemented("features/projected-volumes.feature")),
    f("VolumeProjection", "secret", Implemented("features/projected-objects.feature")),
    f("VolumeProjection", "serviceAccountToken", Implemented("features/service-account-token.feature")),
    // DownwardAPIProjection (a projected volume's downwardAPI source)
    f("DownwardAPIProjection", "items", Implemented("features/projected-volumes.feature")),
    // PodSecurityContext (spec.securityContext)
    f("PodSecurityContext", "appArmorProfile", NO_LSM),
    f("PodSecurityContext", "fsGroup", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "fsGroupChangePolicy", CONFINE),
    f("PodSecurityContext", "runAsGroup", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "runAsNonRoot", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "runAsUser", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "seLinuxChangePolicy", NO_LSM),
    f("PodSecurityContext", "seLinuxOptions", NO_LSM),
    f("PodSecurityContext", "seccompProfile", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "supplementalGroups", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "supplementalGroupsPolicy", CONFINE),
    f("PodSecurityContext", "sysctls", Implemented("features/security-context.feature")),
    f("PodSecurityContext", "windowsOptions", WINDOWS),
    // SecurityContext (a container's securityContext)
    f("SecurityContext", "allowPrivilegeEscalation", Implemented("features/security-context.feature")),
    f("SecurityContext", "appArmorProfile", NO_LSM),
    f("SecurityContext", "capabilities", Implemented("features/security-context.feature")),
    f("SecurityContext", "privileged", Implemented("features/security-context.feature")),
    f("SecurityContext", "procMount", Implemented("features/security-context.feature")),
    f("SecurityContext", "readOnlyRootFilesystem", Implemented("features/security-context.feature")),
    f("SecurityContext", "runAsGroup", Implemented("features/security-context.feature")),
    f("SecurityContext", "runAsNonRoot", Implemented("features/security-context.feature")),
    f("SecurityContext", "runAsUser", Implemented("features/security-context.feature")),
    f("SecurityContext", "seLinuxOptions", NO_LSM),
    f("SecurityContext", "seccompProfile", Implemented("features/security-context.feature")),
    f("SecurityContext", "windowsOptions", WINDOWS),
];

/// A field of a pod that a target refuses to run: its path in the pod and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedField {
    /// As Kubernetes names fields: `spec.containers[0].securityContext.runAsUser`.
    pub path: String,
    pub why: String,
}

/// The rule of a field, if the table has one.
pub fn rule(object: &str, field: &str) -> Option<&'static FieldRule> {
    FIELDS.iter().find(|r| r.object == object && r.field == field)
}

/// Fields whose `false` asks for something (Kubernetes' default is true).
const MEANINGFUL_FALSE: &[&str] = &["hostUsers", "allowPrivilegeEscalation"];

/// A field counts as used when it asks for something: not null, not empty, not `false`
/// (except where `false` is what it asks for).
fn used(field: &str, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(false) => MEANINGFUL_FALSE.contains(&field),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

/// Every field of `pod` the reference runtime refuses, in manifest order, on a node with no
/// directory to hand out (every hostPath is refused).
pub fn refused(pod: &Pod) -> Vec<RefusedField> {
    refused_on(pod, &[])
}

/// Every field of `pod` the reference runtime refuses, in manifest order, on a node whose own
/// directories `host_dirs` a hostPath volume may reach (`host_path::resolve`).
pub fn refused_on(pod: &Pod, host_dirs: &[std::path::PathBuf]) -> Vec<RefusedField> {
    let mut out = Vec::new();
    let Ok(v) = serde_json::to_value(pod) else { return out };
    let Some(spec) = v.get("spec") else { return out };
    walk("PodSpec", spec, "spec", &mut out);
    if spec.get("dnsConfig").is_some_and(|d| used("dnsConfig", d)) && spec.get("dnsPolicy").and_then(Value::as_str) != Some("None") {
        out.push(RefusedField {
            path: "spec.dnsConfig".into(),
            why: "only with dnsPolicy None: the reference node has no cluster DNS or node resolv.conf to merge a dnsConfig with".into(),
        });
    }
    if let Some(sc) = spec.get("securityContext") {
        walk("PodSecurityContext", sc, "spec.securityContext", &mut out);
        security_values(sc, "spec.securityContext", &mut out);
    }
    for (i, vol) in list(spec, "volumes") {
        let path = format!("spec.volumes[{i}]");
        walk("Volume", vol, &path, &mut out);
        if let Some(h) = vol.get("hostPath") {
            let refusal = match serde_json::from_value(h.clone()) {
                Ok(source) => super::host_path::resolve(&source, host_dirs).err().map(|e| e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = refusal {
                out.push(RefusedField { path: format!("{path}.hostPath"), why });
            }
        }
        if let Some(e) = vol.get("emptyDir") {
            walk("EmptyDirVolumeSource", e, &format!("{path}.emptyDir"), &mut out);
            empty_dir_values(e, &format!("{path}.emptyDir"), &mut out);
        }
        if let Some(d) = vol.get("downwardAPI") {
            let path = format!("{path}.downwardAPI");
            walk("DownwardAPIVolumeSource", d, &path, &mut out);
            for (k, item) in list(d, "items") {
                walk("DownwardAPIVolumeFile", item, &format!("{path}.items[{k}]"), &mut out);
            }
        }
        if let Some(p) = vol.get("projected") {
            let path = format!("{path}.projected");
            walk("ProjectedVolumeSource", p, &path, &mut out);
            for (j, source) in list(p, "sources") {
                let path = format!("{path}.sources[{j}]");
                walk("VolumeProjection", source, &path, &mut out);
                if let Some(d) = source.get("downwardAPI") {
                    walk("DownwardAPIProjection", d, &format!("{path}.downwardAPI"), &mut out);
                    for (k, item) in list(d, "items") {
                        walk("DownwardAPIVolumeFile", item, &format!("{path}.downwardAPI.items[{k}]"), &mut out);
                    }
                }
            }
        }
    }
    for (group, object) in [("initContainers", "Container"), ("containers", "Container"), ("ephemeralContainers", "EphemeralContainer")] {
        for (i, c) in list(spec, group) {
            let path = format!("spec.{group}[{i}]");
            walk(object, c, &path, &mut out);
            if let Some(sc) = c.get("securityContext") {
                walk("SecurityContext", sc, &format!("{path}.securityContext"), &mut out);
                security_values(sc, &format!("{path}.securityContext"), &mut out);
            }
            for (j, e) in list(c, "env") {
                if let Some(from) = e.get("valueFrom") {
                    walk("EnvVarSource", from, &format!("{path}.env[{j}].valueFrom"), &mut out);
                }
            }
            for (j, m) in list(c, "volumeMounts") {
                walk("VolumeMount", m, &format!("{path}.volumeMounts[{j}]"), &mut out);
            }
            // Probes and hooks: an ephemeral container has none (the API forbids them).
            let mut handlers = Vec::new();
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(p) = c.get(probe).filter(|_| object == "Container") {
                    walk("Probe", p, &format!("{path}.{probe}"), &mut out);
                    handlers.push((format!("{path}.{probe}"), p));
                }
            }
            if let Some(l) = c.get("lifecycle").filter(|_| object == "Container") {
                walk("Lifecycle", l, &format!("{path}.lifecycle"), &mut out);
                for hook in ["postStart", "preStop"] {
                    if let Some(h) = l.get(hook) {
                        walk("LifecycleHandler", h, &format!("{path}.lifecycle.{hook}"), &mut out);
                        handlers.push((format!("{path}.lifecycle.{hook}"), h));
                    }
                }
            }
            for (at, h) in handlers {
                if let Some(g) = h.get("grpc") {
                    walk("GRPCAction", g, &format!("{at}.grpc"), &mut out);
                }
                if let Some(g) = h.get("httpGet") {
                    walk("HTTPGetAction", g, &format!("{at}.httpGet"), &mut out);
                    if let Some(s) = g.get("scheme").and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "HTTP") {
                        out.push(RefusedField {
                            path: format!("{at}.httpGet.scheme"),
                            why: format!("scheme {s}: the node's probes and hooks speak HTTP only"),
                        });
                    }
                }
            }
            for (j, p) in list(c, "ports") {
                if p.get("hostPort").is_some_and(|h| used("hostPort", h)) {
                    out.push(RefusedField {
                        path: format!("{path}.ports[{j}].hostPort"),
                        why: "no host ports: the machine's ports are never handed to a pod".into(),
                    });
                }
            }
        }
    }
    out
}

/// The fields of ephemeral container number `index` of a pod that the reference runtime
/// refuses, named by their path in the pod: what the kubelet checks when one reaches it through
/// the API, past any up-front check.
pub fn refused_ephemeral(
    ec: &k8s_openapi::api::core::v1::EphemeralContainer,
    index: usize,
    host_dirs: &[std::path::PathBuf],
) -> Vec<RefusedField> {
    let spec = k8s_openapi::api::core::v1::PodSpec { ephemeral_containers: Some(vec![ec.clone()]), ..Default::default() };
    let alone = Pod { spec: Some(spec), ..Default::default() };
    refused_on(&alone, host_dirs)
        .into_iter()
        .filter_map(|r| {
            let rest = r.path.strip_prefix("spec.ephemeralContainers[0]")?.to_string();
            Some(RefusedField { path: format!("spec.ephemeralContainers[{index}]{rest}"), why: r.why })
        })
        .collect()
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    v.get(key).and_then(Value::as_array).into_iter().flatten().enumerate()
}

/// The fields of one object that its rules refuse (a field with no rule is refused too: the
/// table is incomplete, which a unit test prevents).
fn walk(object: &str, v: &Value, path: &str, out: &mut Vec<RefusedField>) {
    let Some(map) = v.as_object() else { return };
    for (key, value) in map {
        if !used(key, value) {
            continue;
        }
        let parts: Vec<(String, &Value)> = match (rule(object, key), value.as_object()) {
            // A field split into parts (`resources.limits`): each part has its rule.
            (None, Some(inner)) => inner.iter().filter(|(_, v)| used("", v)).map(|(k, v)| (format!("{key}.{k}"), v)).collect(),
            _ => vec![(key.clone(), value)],
        };
        for (field, _) in parts {
            match rule(object, &field).map(|r| r.handling) {
                Some(Implemented(_) | NoEffect(_)) => {}
                Some(Refused(why)) => out.push(RefusedField { path: format!("{path}.{field}"), why: why.into() }),
                None => out.push(RefusedField {
                    path: format!("{path}.{field}"),
                    why: format!("{object}.{field} is in no list of the field table"),
                }),
            }
        }
    }
}

/// The seccomp profiles the reference runtime loads (the pod's or a container's).
pub fn seccomp_supported(profile_type: &str) -> Result<(), crate::Error> {
    match profile_type {
        "Unconfined" => Ok(()),
        "RuntimeDefault" if cfg!(target_arch = "x86_64") => Ok(()),
        "RuntimeDefault" => Err(crate::Error::SeccompDefaultProfileArch),
        other => Err(crate::Error::SeccompProfile { profile: other.into() }),
    }
}

/// A pod's or container's seccomp profile and a container's /proc: only what the reference
/// runtime does.
fn security_values(sc: &Value, path: &str, out: &mut Vec<RefusedField>) {
    let seccomp = sc.pointer("/seccompProfile/type").and_then(Value::as_str);
    if let Some(Err(why)) = seccomp.map(seccomp_supported) {
        out.push(RefusedField { path: format!("{path}.seccompProfile.type"), why: why.to_string() });
    }
    let proc_mount = sc.get("procMount").and_then(Value::as_str);
    if let Some(m) = proc_mount.filter(|m| !m.is_empty() && *m != "Default") {
        out.push(RefusedField { path: format!("{path}.procMount"), why: format!("procMount {m}: only Default") });
    }
}

/// emptyDir: a disk or memory medium; a size limit only where it is enforced (tmpfs).
fn empty_dir_values(e: &Value, path: &str, out: &mut Vec<RefusedField>) {
    let medium = e.get("medium").and_then(Value::as_str).unwrap_or("");
    if !medium.is_empty() && medium != "Memory" {
        out.push(RefusedField {
            path: format!("{path}.medium"),
            why: format!("medium {medium:?}: only the node's disk and Memory (tmpfs)"),
        });
    }
    if medium.is_empty() && e.get("sizeLimit").is_some_and(|s| used("sizeLimit", s)) {
        out.push(RefusedField {
            path: format!("{path}.sizeLimit"),
            why: "a size limit on a disk emptyDir is enforced by eviction, which the reference node does not do (medium Memory is a tmpfs of that size)".into(),
        });
    }
}

/// The table as the book shows it (Markdown), generated from `FIELDS`.
pub fn markdown_table() -> String {
    let mut s = String::from("| object | field | handling | why, or where a scenario states it |\n| --- | --- | --- | --- |\n");
    for r in FIELDS {
        let (kind, text) = match r.handling {
            Implemented(t) => ("implemented", t),
            Refused(t) => ("**refused**", t),
            NoEffect(t) => ("no effect on one node", t),
        };
        s.push_str(&format!("| {} | `{}` | {kind} | {text} |\n", r.object, r.field));
    }
    s
}

/// The field names a Kubernetes type deserializes (its `deserialize_struct` field list).
pub fn field_names<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
    struct Capture(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for &mut Capture {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
            newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut c = Capture(None);
    let _ = T::deserialize(&mut c);
    c.0.unwrap_or(&[]).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1 as core;

    fn covered(object: &str) -> Vec<&'static str> {
        let mut v: Vec<&str> = FIELDS.iter().filter(|r| r.object == object).map(|r| r.field.split('.').next().unwrap()).collect();
        v.dedup();
        v
    }

    /// Each test or feature a rule names as where it is stated is a file of the project.
    #[test]
    fn every_file_a_rule_names_exists() {
        // The rules name files of the workspace's root (this crate is crates/podspec-api).
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut missing = Vec::new();
        for rule in FIELDS {
            let (Implemented(text) | Refused(text) | NoEffect(text)) = rule.handling;
            for word in text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | ';' | '(' | ')')) {
                let named =
                    (word.starts_with("tests/") && word.ends_with(".rs")) || (word.starts_with("features/") && word.ends_with(".feature"));
                if named && !root.join(word).is_file() {
                    missing.push(format!("{}.{}: {word}", rule.object, rule.field));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn every_field_of_each_type_is_in_exactly_one_list() {
        let types: [(&str, Vec<&str>); 19] = [
            ("PodSpec", field_names::<core::PodSpec>()),
            ("Container", field_names::<core::Container>()),
            ("EphemeralContainer", field_names::<core::EphemeralContainer>()),
            ("Volume", field_names::<core::Volume>()),
            ("SecurityContext", field_names::<core::SecurityContext>()),
            ("PodSecurityContext", field_names::<core::PodSecurityContext>()),
            ("EnvVarSource", field_names::<core::EnvVarSource>()),
            ("VolumeMount", field_names::<core::VolumeMount>()),
            ("EmptyDirVolumeSource", field_names::<core::EmptyDirVolumeSource>()),
            ("DownwardAPIVolumeSource", field_names::<core::DownwardAPIVolumeSource>()),
            ("DownwardAPIVolumeFile", field_names::<core::DownwardAPIVolumeFile>()),
            ("ProjectedVolumeSource", field_names::<core::ProjectedVolumeSource>()),
            ("VolumeProjection", field_names::<core::VolumeProjection>()),
            ("DownwardAPIProjection", field_names::<core::DownwardAPIProjection>()),
            ("Probe", field_names::<core::Probe>()),
            ("Lifecycle", field_names::<core::Lifecycle>()),
            ("LifecycleHandler", field_names::<core::LifecycleHandler>()),
            ("HTTPGetAction", field_names::<core::HTTPGetAction>()),
            ("GRPCAction", field_names::<core::GRPCAction>()),
        ];
        for (object, names) in &types {
            assert!(!names.is_empty(), "no field names for {object}");
            let mut sorted = names.clone();
            sorted.sort();
            let mut listed = covered(object);
            listed.sort();
            assert_eq!(listed, sorted, "the table's fields of {object} differ from Kubernetes'");
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in FIELDS {
            assert!(seen.insert((r.object, r.field)), "{}.{} is listed twice", r.object, r.field);
            assert!(types.iter().any(|(o, _)| *o == r.object), "unknown object {}", r.object);
        }
    }

    #[test]
    fn the_book_shows_the_table_as_podspec_fields_prints_it() {
        let page = include_str!("../../../../docs/src/reference/fields.md");
        assert!(
            page.contains(&markdown_table()),
            "docs/src/reference/fields.md's field table differs from `podspec fields`: regenerate it with `cargo run -- docs`"
        );
    }

    fn pod(spec: &str) -> Pod {
        serde_yaml::from_str(&format!("metadata: {{name: p}}\nspec:\n{spec}")).unwrap()
    }

    #[test]
    fn refused_fields_are_named_by_path_and_others_pass() {
        let p = pod("  hostUsers: false\n  hostPID: false\n  tolerations: [{key: a, operator: Exists}]\n  containers:\n  - name: a\n    image: busybox\n    env:\n    - {name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}\n    - {name: Y, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n    resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}\n  volumes:\n  - {name: v, emptyDir: {medium: Memory, sizeLimit: 1Mi}}\n  - {name: w, hostPath: {path: /}}\n");
        let paths: Vec<String> = refused(&p).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.hostUsers", "spec.volumes[1].hostPath"]);
    }

    #[test]
    fn an_ephemeral_containers_refused_fields_are_named_by_its_path_in_the_pod() {
        let ec: core::EphemeralContainer = serde_json::from_value(serde_json::json!({
            "name": "dbg", "image": "busybox:1.36", "stdin": true, "tty": true, "targetContainerName": "app",
            "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"}}
        }))
        .unwrap();
        let paths: Vec<String> = refused_ephemeral(&ec, 2, &[]).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.ephemeralContainers[2].securityContext.seccompProfile.type"], "a tty is run");
        let plain: core::EphemeralContainer =
            serde_json::from_value(serde_json::json!({"name": "dbg", "image": "busybox:1.36", "targetContainerName": "app"})).unwrap();
        assert!(refused_ephemeral(&plain, 0, &[]).is_empty());
    }

    #[test]
    fn a_dns_config_is_refused_unless_the_dns_policy_is_none() {
        let with = |policy: &str| {
            pod(&format!("  {policy}dnsConfig: {{nameservers: [1.1.1.1]}}\n  containers:\n  - {{name: a, image: busybox}}\n"))
        };
        assert!(refused(&with("dnsPolicy: None\n  ")).is_empty());
        for policy in ["", "dnsPolicy: ClusterFirst\n  ", "dnsPolicy: Default\n  "] {
            let r = refused(&with(policy));
            assert_eq!(r.len(), 1, "{policy:?}");
            assert_eq!(r[0].path, "spec.dnsConfig");
            assert!(r[0].why.starts_with("only with dnsPolicy None"), "{}", r[0].why);
        }
        assert!(refused(&pod("  hostAliases: [{ip: 1.2.3.4, hostnames: [a]}]\n  containers:\n  - {name: a, image: busybox}\n")).is_empty());
    }

    #[test]
    fn api_data_volumes_pass_and_projected_sources_of_objects_the_api_lacks_are_refused_by_path() {
        let p = pod("  containers: [{name: a, image: b}]\n  volumes:\n  - {name: d, downwardAPI: {defaultMode: 256, items: [{path: n, mode: 256, fieldRef: {fieldPath: metadata.name}}, {path: c, resourceFieldRef: {containerName: a, resource: limits.cpu}}]}}\n  - {name: p, projected: {defaultMode: 256, sources: [{downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}}, {configMap: {name: c}}, {secret: {name: s}}, {serviceAccountToken: {path: t}}, {clusterTrustBundle: {path: b, name: n}}]}}\n");
        let paths: Vec<String> = refused(&p).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.volumes[1].projected.sources[4].clusterTrustBundle"]);
    }

    #[test]
    fn a_size_limit_on_a_disk_empty_dir_is_refused() {
        let p = pod("  containers: [{name: a, image: b}]\n  volumes:\n  - {name: v, emptyDir: {sizeLimit: 1Mi}}\n  - {name: w, emptyDir: {medium: HugePages}}\n");
        let paths: Vec<String> = refused(&p).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.volumes[0].emptyDir.sizeLimit", "spec.volumes[1].emptyDir.medium"]);
    }

    #[test]
    fn localhost_seccomp_profiles_are_refused_at_pod_and_container_level() {
        let p = pod("  securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}\n  containers:\n  - {name: a, image: b, securityContext: {seccompProfile: {type: RuntimeDefault}}}\n  - {name: c, image: b, securityContext: {seccompProfile: {type: Localhost, localhostProfile: p.json}}}\n");
        let paths: Vec<String> = refused(&p).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.securityContext.seccompProfile.type", "spec.containers[1].securityContext.seccompProfile.type"]);
    }
}
