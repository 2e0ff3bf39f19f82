//! A pod's quality of service class, by Kubernetes' rules (pkg/apis/core/helper/qos GetPodQOS;
//! kubernetes.io/docs/concepts/workloads/pods/pod-qos/): only cpu and memory count.
//! - Guaranteed: every container has cpu and memory limits, and requests equal to them;
//! - BestEffort: no container has a cpu or memory request or limit;
//! - Burstable: any other pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::quantity::{self, Milli};

const COMPUTE: [&str; 2] = ["cpu", "memory"];

pub fn qos_class(pod: &Pod) -> &'static str {
    let Some(spec) = &pod.spec else { return "BestEffort" };
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let positive = |q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity| quantity::parse(&q.0).ok().filter(|m| *m > Milli(0));
    for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
        let resources = c.resources.clone().unwrap_or_default();
        for (name, q) in resources.requests.iter().flatten() {
            if let (Some(r), Some(m)) = (COMPUTE.iter().find(|r| **r == name.as_str()), positive(q)) {
                *requests.entry(r).or_default() += m.0;
            }
        }
        let mut found = 0;
        for (name, q) in resources.limits.iter().flatten() {
            if let (Some(r), Some(m)) = (COMPUTE.iter().find(|r| **r == name.as_str()), positive(q)) {
                found += 1;
                *limits.entry(r).or_default() += m.0;
            }
        }
        if found < COMPUTE.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.len() == limits.len() && requests.iter().all(|(r, q)| limits.get(r) == Some(q)) {
        return "Guaranteed";
    }
    "Burstable"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: &[&str]) -> Pod {
        let containers: Vec<String> =
            resources.iter().enumerate().map(|(i, r)| format!("  - {{name: c{i}, image: b, resources: {r}}}\n")).collect();
        serde_yaml::from_str(&format!("metadata: {{name: p}}\nspec:\n  containers:\n{}", containers.concat())).unwrap()
    }

    #[test]
    fn classes_follow_kubernetes_rules() {
        assert_eq!(qos_class(&pod(&["{}"])), "BestEffort");
        assert_eq!(qos_class(&pod(&["{requests: {ephemeral-storage: 1Gi}}"])), "BestEffort");
        assert_eq!(qos_class(&pod(&["{requests: {cpu: 100m}}"])), "Burstable");
        let same = "{requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}";
        assert_eq!(qos_class(&pod(&[same, same])), "Guaranteed");
        assert_eq!(qos_class(&pod(&[same, "{}"])), "Burstable");
        assert_eq!(qos_class(&pod(&["{requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 64Mi}}"])), "Burstable");
        assert_eq!(qos_class(&pod(&["{limits: {cpu: 100m}}"])), "Burstable");
    }
}
