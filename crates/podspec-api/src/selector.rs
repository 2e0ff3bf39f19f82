//! Label and field selectors, as list and watch requests give them
//! (apimachinery pkg/labels/selector.go; the pod's field labels from
//! pkg/registry/core/pod/strategy.go `ToSelectableFields`).

use k8s_openapi::api::core::v1::Pod;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector plus field selector over pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSelector {
    labels: Vec<Requirement>,
    fields: Vec<(String, bool, String)>,
}

/// The fields a pod can be selected by.
pub const POD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
];

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn set_of(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl PodSelector {
    /// Parses `labelSelector` and `fieldSelector`; the error is the API server's text.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Self, crate::Error> {
        let unparsable = |part: &str| crate::Error::LabelRequirement { part: part.into() };
        let mut sel = PodSelector::default();
        for part in split_top(labels.unwrap_or("")) {
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::DoesNotExist(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set_of(v).ok_or_else(|| unparsable(&part))?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), set_of(v).ok_or_else(|| unparsable(&part))?)
            } else if part.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(part.clone())
            } else {
                return Err(unparsable(&part));
            };
            sel.labels.push(req);
        }
        for part in split_top(fields.unwrap_or("")) {
            let (k, neg, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, false, v)
            } else {
                return Err(crate::Error::SelectorTerm { part });
            };
            let k = k.trim();
            if !POD_FIELDS.contains(&k) {
                return Err(crate::Error::PodFieldNotSelectable { key: k.into() });
            }
            sel.fields.push((k.to_string(), neg, v.trim().to_string()));
        }
        Ok(sel)
    }

    /// The node an equality on `spec.nodeName` asks for (what the store's node index answers).
    pub fn node_name(&self) -> Option<&str> {
        self.fields.iter().find(|(k, neg, _)| k == "spec.nodeName" && !neg).map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, pod: &Pod) -> bool {
        self.matches_labels(pod.metadata.labels.as_ref()) && self.fields.iter().all(|(k, neg, v)| (field(pod, k) == *v) != *neg)
    }

    /// Whether labels (of any object) meet the label requirements.
    pub fn matches_labels(&self, labels: Option<&std::collections::BTreeMap<String, String>>) -> bool {
        let empty = Default::default();
        let labels = labels.unwrap_or(&empty);
        self.labels.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

fn field(pod: &Pod, name: &str) -> String {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let s = |o: Option<&String>| o.cloned().unwrap_or_default();
    match name {
        "metadata.name" => s(pod.metadata.name.as_ref()),
        "metadata.namespace" => s(pod.metadata.namespace.as_ref()),
        "spec.nodeName" => s(spec.and_then(|x| x.node_name.as_ref())),
        "spec.restartPolicy" => s(spec.and_then(|x| x.restart_policy.as_ref())),
        "spec.schedulerName" => s(spec.and_then(|x| x.scheduler_name.as_ref())),
        "spec.serviceAccountName" => s(spec.and_then(|x| x.service_account_name.as_ref())),
        "status.phase" => s(status.and_then(|x| x.phase.as_ref())),
        "status.podIP" => s(status.and_then(|x| x.pod_ip.as_ref())),
        "status.nominatedNodeName" => s(status.and_then(|x| x.nominated_node_name.as_ref())),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_yaml::from_str("metadata: {name: web, namespace: ns, labels: {app: web, tier: front}}\nspec: {nodeName: n, containers: []}\nstatus: {phase: Running}").unwrap()
    }

    #[test]
    fn label_and_field_selectors_select_as_the_api_does() {
        let p = pod();
        let ok = |l: &str, f: &str| PodSelector::parse(Some(l), Some(f)).unwrap().matches(&p);
        assert!(ok("app=web,tier", "metadata.name=web,status.phase=Running"));
        assert!(ok("app in (web, db),!missing", "spec.nodeName!=other"));
        assert!(!ok("app notin (web)", ""));
        assert!(!ok("", "status.phase=Pending"));
        assert_eq!(PodSelector::parse(None, Some("spec.foo=x")).unwrap_err().to_string(), "field label not supported: spec.foo");
    }
}
