//! What the kube target learns of a node: the kubelet's `staticPodPath`, read from its configz
//! through the API's node proxy (`/api/v1/nodes/<node>/proxy/configz`).

use kube::Client;

/// The kubelet's static pod directory, if its configz names one.
pub async fn static_pod_path(client: &Client, node: &str) -> Result<Option<String>, String> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/configz")).body(Vec::new()).map_err(|e| e.to_string())?;
    let text = client.request_text(request).await.map_err(|e| super::connect::cause_chain(&e))?;
    Ok(parse_static_pod_path(&text))
}

/// configz answers `{"kubeletconfig": {..., "staticPodPath": "/etc/kubernetes/manifests"}}`.
pub fn parse_static_pod_path(configz: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(configz).ok()?;
    let path = v.get("kubeletconfig")?.get("staticPodPath")?.as_str()?;
    (!path.is_empty()).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_pod_path_from_configz() {
        let configz = r#"{"kubeletconfig":{"staticPodPath":"/etc/kubernetes/manifests","syncFrequency":"1m0s"}}"#;
        assert_eq!(parse_static_pod_path(configz).as_deref(), Some("/etc/kubernetes/manifests"));
        assert_eq!(parse_static_pod_path(r#"{"kubeletconfig":{"staticPodPath":""}}"#), None);
        assert_eq!(parse_static_pod_path("not json"), None);
    }
}
