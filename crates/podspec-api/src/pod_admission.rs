//! The mutating admission plugins kube-apiserver enables by default that change a Pod, run on a
//! create (and, where Kubernetes runs them there, an update) before the pod is validated:
//!
//! - **Priority** (plugin/pkg/admission/priority/admission.go, `admitPod`): `priorityClassName`
//!   is resolved to `priority` and `preemptionPolicy`. podspec holds no PriorityClass objects:
//!   no class name gives the default when no class is the global default (priority 0,
//!   PreemptLowerPriority, no class name); the two classes every API server creates
//!   (`system-node-critical`, `system-cluster-critical`, scheduling/types.go) give their values
//!   and PreemptLowerPriority; any other name is refused as kube-apiserver refuses a class it
//!   cannot find. A `priority` or `preemptionPolicy` the client set that differs from the
//!   class's is refused. On an update a pod that leaves them out keeps the stored ones.
//! - **DefaultTolerationSeconds** (plugin/pkg/admission/defaulttolerationseconds/admission.go):
//!   a pod that does not tolerate `node.kubernetes.io/not-ready` or `.../unreachable` with effect
//!   NoExecute gets a toleration of each for 300 s (the `--default-not-ready-toleration-seconds`
//!   and `--default-unreachable-toleration-seconds` defaults), on create and update.
//!
//! A refusal is 403 Forbidden, `pods "<name>" is forbidden: <reason>`.

use k8s_openapi::api::core::v1::{Pod, Toleration};

/// The system priority classes every API server creates, with their values
/// (`SystemNodeCritical`, `SystemCriticalPriority`).
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i32)] = &[("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];
/// The preemption policy of the system classes (their objects are defaulted to it) and of the
/// default when no class is the global default.
const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";
/// `scheduling.DefaultPriorityWhenNoDefaultClassExists`.
pub const DEFAULT_PRIORITY: i32 = 0;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The tolerationSeconds DefaultTolerationSeconds gives both.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Both plugins on a create, in kube-apiserver's order (Priority, then
/// DefaultTolerationSeconds); the reason of a refusal (the text after `is forbidden: `).
pub fn admit_create(pod: &mut Pod) -> Result<(), crate::Error> {
    admit_priority_on_create(pod)?;
    add_default_tolerations(pod);
    Ok(())
}

/// Both plugins on an update of the pod (not its subresources), `old` being the stored pod.
pub fn admit_update(pod: &mut Pod, old: &Pod) {
    if let (Some(spec), Some(old_spec)) = (pod.spec.as_mut(), old.spec.as_ref()) {
        if spec.priority.is_none() {
            spec.priority = old_spec.priority;
        }
        if spec.preemption_policy.is_none() {
            spec.preemption_policy = old_spec.preemption_policy.clone();
        }
    }
    add_default_tolerations(pod);
}

/// Priority's `admitPod` on a create.
pub fn admit_priority_on_create(pod: &mut Pod) -> Result<(), crate::Error> {
    let Some(spec) = pod.spec.as_mut() else { return Ok(()) };
    let class = spec.priority_class_name.clone().unwrap_or_default();
    let (priority, policy) = if class.is_empty() {
        // No class is the global default here: getDefaultPriority gives 0, PreemptLowerPriority
        // and no class name.
        (DEFAULT_PRIORITY, PREEMPT_LOWER_PRIORITY)
    } else {
        match SYSTEM_PRIORITY_CLASSES.iter().find(|(name, _)| *name == class) {
            Some((_, value)) => (*value, PREEMPT_LOWER_PRIORITY),
            None => return Err(crate::Error::NoPriorityClass { class }),
        }
    };
    if let Some(given) = spec.priority.filter(|p| *p != priority) {
        return Err(crate::Error::PriorityGiven { given, computed: priority });
    }
    spec.priority = Some(priority);
    if let Some(given) = spec.preemption_policy.as_deref().filter(|p| *p != policy) {
        return Err(crate::Error::PreemptionPolicyGiven { given: given.into(), computed: policy.into() });
    }
    spec.preemption_policy = Some(policy.to_string());
    Ok(())
}

/// DefaultTolerationSeconds' `Admit`: a toleration of the not-ready and of the unreachable
/// taint (NoExecute, 300 s) for a pod that tolerates neither yet. A toleration with an empty
/// key or an empty effect counts, as in Kubernetes.
pub fn add_default_tolerations(pod: &mut Pod) {
    let Some(spec) = pod.spec.as_mut() else { return };
    let tolerates = |key: &str, ts: &[Toleration]| {
        ts.iter().any(|t| {
            let k = t.key.as_deref().unwrap_or("");
            let e = t.effect.as_deref().unwrap_or("");
            (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
        })
    };
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    let (not_ready, unreachable) = (tolerates(TAINT_NOT_READY, tolerations), tolerates(TAINT_UNREACHABLE, tolerations));
    for (key, tolerated) in [(TAINT_NOT_READY, not_ready), (TAINT_UNREACHABLE, unreachable)] {
        if !tolerated {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(DEFAULT_TOLERATION_SECONDS),
                value: None,
            });
        }
    }
    if tolerations.is_empty() {
        spec.tolerations = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: &str) -> Pod {
        serde_yaml::from_str(&format!("metadata: {{name: p, namespace: ns}}\nspec:\n  containers: [{{name: a, image: busybox}}]\n{spec}"))
            .unwrap()
    }

    fn spec(p: &Pod) -> &k8s_openapi::api::core::v1::PodSpec {
        p.spec.as_ref().unwrap()
    }

    #[test]
    fn no_class_gives_priority_0_and_no_class_name() {
        let mut p = pod("");
        admit_priority_on_create(&mut p).unwrap();
        assert_eq!(spec(&p).priority, Some(0));
        assert_eq!(spec(&p).priority_class_name, None);
        assert_eq!(spec(&p).preemption_policy.as_deref(), Some("PreemptLowerPriority"));
    }

    #[test]
    fn the_system_classes_give_their_values_and_preemption_policy() {
        let mut p = pod("  priorityClassName: system-node-critical\n");
        admit_priority_on_create(&mut p).unwrap();
        assert_eq!(spec(&p).priority, Some(2000001000));
        assert_eq!(spec(&p).preemption_policy.as_deref(), Some("PreemptLowerPriority"));
        let mut p = pod("  priorityClassName: system-cluster-critical\n  priority: 2000000000\n");
        admit_priority_on_create(&mut p).unwrap();
        assert_eq!(spec(&p).priority, Some(2000000000));
    }

    #[test]
    fn an_unknown_class_is_refused_with_kubernetes_text() {
        let mut p = pod("  priorityClassName: high\n");
        assert_eq!(admit_priority_on_create(&mut p).unwrap_err().to_string(), "no PriorityClass with name high was found");
        assert_eq!(spec(&p).priority, None);
    }

    #[test]
    fn a_priority_other_than_the_class_value_is_refused_with_kubernetes_text() {
        let mut p = pod("  priority: 1000\n");
        assert_eq!(
            admit_priority_on_create(&mut p).unwrap_err().to_string(),
            "the integer value of priority (1000) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name"
        );
        let mut p = pod("  preemptionPolicy: Never\n");
        assert_eq!(
            admit_priority_on_create(&mut p).unwrap_err().to_string(),
            "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name"
        );
    }

    #[test]
    fn an_update_keeps_the_stored_priority_and_preemption_policy() {
        let mut old = pod("  priorityClassName: system-node-critical\n");
        admit_create(&mut old).unwrap();
        let mut new = pod("  priorityClassName: system-node-critical\n");
        admit_update(&mut new, &old);
        assert_eq!(spec(&new).priority, Some(2000001000));
        assert_eq!(spec(&new).preemption_policy.as_deref(), Some("PreemptLowerPriority"));
        assert_eq!(spec(&new).tolerations, spec(&old).tolerations);
    }

    fn keys(p: &Pod) -> Vec<(String, Option<i64>)> {
        spec(p).tolerations.iter().flatten().map(|t| (t.key.clone().unwrap_or_default(), t.toleration_seconds)).collect()
    }

    #[test]
    fn a_pod_gets_the_not_ready_and_unreachable_tolerations_for_300_seconds() {
        let mut p = pod("");
        admit_create(&mut p).unwrap();
        assert_eq!(
            keys(&p),
            [("node.kubernetes.io/not-ready".to_string(), Some(300)), ("node.kubernetes.io/unreachable".to_string(), Some(300))]
        );
        let t = &spec(&p).tolerations.as_ref().unwrap()[0];
        assert_eq!((t.operator.as_deref(), t.effect.as_deref(), t.value.as_deref()), (Some("Exists"), Some("NoExecute"), None));
    }

    #[test]
    fn a_pod_that_tolerates_a_taint_already_keeps_its_own_toleration() {
        let mut p =
            pod("  tolerations:\n  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 5}\n");
        add_default_tolerations(&mut p);
        assert_eq!(
            keys(&p),
            [("node.kubernetes.io/not-ready".to_string(), Some(5)), ("node.kubernetes.io/unreachable".to_string(), Some(300))]
        );
        // An empty key with an empty effect tolerates every taint: nothing is added.
        let mut p = pod("  tolerations:\n  - {operator: Exists}\n");
        add_default_tolerations(&mut p);
        assert_eq!(keys(&p), [(String::new(), None)]);
        // A NoSchedule toleration of the taint is not one for NoExecute.
        let mut p = pod("  tolerations:\n  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoSchedule}\n");
        add_default_tolerations(&mut p);
        assert_eq!(spec(&p).tolerations.as_ref().unwrap().len(), 3);
    }
}
