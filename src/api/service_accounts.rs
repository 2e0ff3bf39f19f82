//! The ServiceAccount admission plugin's defaulting and check of a pod create
//! (plugin/pkg/admission/serviceaccount/admission.go, `Admit`): a pod that names no
//! ServiceAccount gets `default`, and a pod whose ServiceAccount does not exist is refused
//! (`error looking up service account <ns>/<name>: serviceaccount "<name>" not found`). Mirror
//! pods are left alone (their own rules are `admission::admit_create`'s). The `default`
//! account, which the ServiceAccounts controller makes shortly after its namespace, is looked
//! up a few times, as the plugin does, before the pod is refused.
//!
//! Not done: the `kube-api-access-<suffix>` projected volume the plugin mounts in every
//! container (`automountServiceAccountToken`), and the ServiceAccount's imagePullSecrets.

use k8s_openapi::api::core::v1::Pod;

use super::admission::is_mirror_pod;
use super::generic::Store;
use super::rbac::ServiceAccountStrategy;

/// The ServiceAccount a pod that names none runs as (`DefaultServiceAccountName`).
pub const DEFAULT: &str = "default";

/// How often, and how far apart, the `default` account is looked for before a pod is refused
/// (the plugin's numAttempts for it, and its retry interval).
const DEFAULT_ATTEMPTS: u32 = 10;
const RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// The plugin on a create: the reason of a refusal, the text after `is forbidden: `.
pub fn admit_create(pod: &mut Pod, accounts: &Store<ServiceAccountStrategy>) -> Result<(), String> {
    if is_mirror_pod(pod) {
        return Ok(());
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let Some(spec) = pod.spec.as_mut() else { return Ok(()) };
    let name = spec.service_account_name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT.into());
    spec.service_account_name = Some(name.clone());
    let attempts = if name == DEFAULT { DEFAULT_ATTEMPTS } else { 1 };
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(RETRY);
        }
        match accounts.get(&namespace, &name) {
            Ok(_) => return Ok(()),
            Err(e) if e.code == 404 => continue,
            Err(e) => return Err(format!("error looking up service account {namespace}/{name}: {e}")),
        }
    }
    Err(format!("error looking up service account {namespace}/{name}: serviceaccount {name:?} not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Api;

    fn pod(spec: &str) -> Pod {
        serde_yaml::from_str(&format!("metadata: {{name: web, namespace: ns}}\nspec:\n  containers: [{{name: a, image: busybox}}]\n{spec}"))
            .unwrap()
    }

    #[test]
    fn a_pod_runs_as_default_unless_it_names_an_account_which_must_exist() {
        let api = Api::new("t", chrono::Utc::now());
        let accounts = api.store::<ServiceAccountStrategy>();
        for name in ["default", "robot"] {
            let sa = serde_yaml::from_str(&format!("metadata: {{name: {name}, namespace: ns}}\n")).unwrap();
            accounts.create_object(&sa, false).unwrap();
        }
        let mut plain = pod("");
        admit_create(&mut plain, &accounts).unwrap();
        assert_eq!(plain.spec.unwrap().service_account_name.as_deref(), Some("default"));
        let mut robot = pod("  serviceAccountName: robot\n");
        admit_create(&mut robot, &accounts).unwrap();
        assert_eq!(robot.spec.unwrap().service_account_name.as_deref(), Some("robot"));
        let e = admit_create(&mut pod("  serviceAccountName: nobody\n"), &accounts).unwrap_err();
        assert_eq!(e, "error looking up service account ns/nobody: serviceaccount \"nobody\" not found");
    }
}
