//! The ServiceAccount admission plugin's defaulting and check of a pod create
//! (plugin/pkg/admission/serviceaccount/admission.go, `Admit`):
//! - a pod that names no ServiceAccount gets `default`, and a pod whose ServiceAccount does not
//!   exist is refused (`error looking up service account <ns>/<name>: serviceaccount "<name>"
//!   not found`). The `default` account, which the ServiceAccounts controller makes shortly
//!   after its namespace, is waited for a little first (`await_default_account`, as the plugin
//!   looks it up ten times), without blocking a thread;
//! - unless `automountServiceAccountToken` is false (the pod's, else its account's), the pod
//!   gets the projected volume `kube-api-access-<5 random characters>` (the account's token,
//!   the namespace's `kube-root-ca.crt` and the namespace, mode 0644) and every container and
//!   init container that mounts nothing at `/var/run/secrets/kubernetes.io/serviceaccount` gets
//!   it mounted there read-only. Ephemeral containers are added through a subresource, which
//!   the plugin ignores: they get no such mount (they may name the volume themselves);
//! - a pod with no `imagePullSecrets` gets its account's.
//!
//! Mirror pods are left alone (their own rules are `admission::admit_create`'s).

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, DownwardAPIProjection, DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, Pod, PodSpec, ProjectedVolumeSource,
    ServiceAccount, ServiceAccountTokenProjection, Volume, VolumeMount, VolumeProjection,
};

use super::admission::is_mirror_pod;
use super::generic::Store;
use super::rbac::ServiceAccountStrategy;

/// The ServiceAccount a pod that names none runs as (`DefaultServiceAccountName`).
pub const DEFAULT: &str = "default";
/// The prefix of the token volume's name (`ServiceAccountVolumeName`), and where it is mounted
/// (`DefaultAPITokenMountPath`).
pub const VOLUME_PREFIX: &str = "kube-api-access-";
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The token's requested life (`WarnOnlyBoundTokenExpirationSeconds`: an hour and 7 s).
pub const TOKEN_SECONDS: i64 = 3607;
/// The volume's mode (`ProjectedVolumeSourceDefaultMode`, 0644), set explicitly as the plugin does.
pub const DEFAULT_MODE: i32 = 0o644;

/// How long a create waits for the namespace's `default` account: the plugin looks it up ten
/// times, 100 to 200 ms apart.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// The account a pod runs as: the one it names, else `default`.
fn account_of(spec: &PodSpec) -> &str {
    spec.service_account_name.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT)
}

/// Waits, at most `DEFAULT_WAIT`, for the `default` account of the namespace of a pod that will
/// run as it, which the ServiceAccounts controller makes just after the namespace. Returns at
/// once for any other pod or when the account exists; wakes on each change of the accounts.
pub async fn await_default_account(accounts: &Store<ServiceAccountStrategy>, pod: &Pod) {
    let Some(spec) = pod.spec.as_ref().filter(|_| !is_mirror_pod(pod)) else { return };
    if account_of(spec) != DEFAULT {
        return;
    }
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    // Subscribed before the look-up, so that an account made in between wakes the wait.
    let mut changes = accounts.changes();
    let exists = async {
        while accounts.get(namespace, DEFAULT).is_err() {
            if changes.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DEFAULT_WAIT, exists).await;
}

/// The plugin on a create: the reason of a refusal, the text after `is forbidden: `.
pub fn admit_create(pod: &mut Pod, accounts: &Store<ServiceAccountStrategy>) -> Result<(), crate::Error> {
    if is_mirror_pod(pod) {
        return Ok(());
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let Some(spec) = pod.spec.as_mut() else { return Ok(()) };
    let name = account_of(spec).to_string();
    spec.service_account_name = Some(name.clone());
    let account = accounts.get(&namespace, &name).map_err(|source| crate::Error::ServiceAccountLookup {
        namespace,
        name,
        source: Box::new(source),
    })?;
    if should_automount(&account, spec) {
        mount_token(spec);
    }
    if spec.image_pull_secrets.as_ref().is_none_or(|s| s.is_empty()) {
        spec.image_pull_secrets = account.image_pull_secrets.clone().filter(|s| !s.is_empty());
    }
    Ok(())
}

/// The pod's `automountServiceAccountToken` wins, then the account's; true when neither says.
fn should_automount(account: &ServiceAccount, spec: &PodSpec) -> bool {
    spec.automount_service_account_token.or(account.automount_service_account_token).unwrap_or(true)
}

/// The token volume in every container and init container that mounts nothing at its path, and
/// the volume itself when one of them needs it (a `kube-api-access-` volume the pod already has
/// is the one used).
fn mount_token(spec: &mut PodSpec) {
    let existing = spec.volumes.iter().flatten().map(|v| v.name.clone()).find(|n| n.starts_with(VOLUME_PREFIX));
    let name = existing.clone().unwrap_or_else(|| format!("{VOLUME_PREFIX}{}", crate::random::name_suffix()));
    let mount = VolumeMount { name: name.clone(), read_only: Some(true), mount_path: MOUNT_PATH.into(), ..Default::default() };
    let mut needed = false;
    let init = spec.init_containers.iter_mut().flatten();
    for container in init.chain(spec.containers.iter_mut()) {
        let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
        if !mounts.iter().any(|m| m.mount_path == MOUNT_PATH) {
            mounts.push(mount.clone());
            needed = true;
        }
    }
    if needed && existing.is_none() {
        spec.volumes.get_or_insert_with(Vec::new).push(Volume { name, projected: Some(token_volume_source()), ..Default::default() });
    }
}

/// The token volume's sources (`TokenVolumeSource`): the account's token, the cluster's CA from
/// the namespace's `kube-root-ca.crt`, and the namespace.
pub fn token_volume_source() -> ProjectedVolumeSource {
    ProjectedVolumeSource {
        default_mode: Some(DEFAULT_MODE),
        sources: Some(vec![
            VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    path: "token".into(),
                    expiration_seconds: Some(TOKEN_SECONDS),
                    audience: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: "kube-root-ca.crt".into(),
                    items: Some(vec![KeyToPath { key: "ca.crt".into(), path: "ca.crt".into(), mode: None }]),
                    optional: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                downward_api: Some(DownwardAPIProjection {
                    items: Some(vec![DownwardAPIVolumeFile {
                        path: "namespace".into(),
                        field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: "metadata.namespace".into() }),
                        ..Default::default()
                    }]),
                }),
                ..Default::default()
            },
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Api;

    fn pod(spec: &str) -> Pod {
        serde_yaml::from_str(&format!("metadata: {{name: web, namespace: ns}}\nspec:\n  containers: [{{name: a, image: busybox}}]\n{spec}"))
            .unwrap()
    }

    fn accounts(yaml: &[&str]) -> std::sync::Arc<Store<ServiceAccountStrategy>> {
        let api = Api::new("t", jiff::Timestamp::now());
        let accounts = api.store::<ServiceAccountStrategy>();
        for account in yaml {
            let sa = serde_yaml::from_str(&format!("metadata: {{namespace: ns, {account}\n")).unwrap();
            accounts.create_object(&sa, false).unwrap();
        }
        accounts
    }

    fn mounts(pod: &Pod) -> Vec<Vec<(String, String)>> {
        let spec = pod.spec.as_ref().unwrap();
        let all = spec.init_containers.iter().flatten().chain(&spec.containers);
        all.map(|c| c.volume_mounts.iter().flatten().map(|m| (m.name.clone(), m.mount_path.clone())).collect()).collect()
    }

    #[test]
    fn a_pod_runs_as_default_unless_it_names_an_account_which_must_exist() {
        let accounts = accounts(&["name: default}", "name: robot}"]);
        let mut plain = pod("");
        admit_create(&mut plain, &accounts).unwrap();
        assert_eq!(plain.spec.unwrap().service_account_name.as_deref(), Some("default"));
        let mut robot = pod("  serviceAccountName: robot\n");
        admit_create(&mut robot, &accounts).unwrap();
        assert_eq!(robot.spec.unwrap().service_account_name.as_deref(), Some("robot"));
        let e = admit_create(&mut pod("  serviceAccountName: nobody\n"), &accounts).unwrap_err().to_string();
        assert_eq!(e, "error looking up service account ns/nobody: serviceaccount \"nobody\" not found");
    }

    #[test]
    fn every_container_and_init_container_mounts_the_token_volume_unless_it_has_that_path() {
        let accounts = accounts(&["name: default}"]);
        let mut p = pod(
            "  initContainers: [{name: i, image: busybox}]\n  ephemeralContainers: [{name: e, image: busybox}]\n  volumes: [{name: own, emptyDir: {}}]\n",
        );
        p.spec.as_mut().unwrap().containers.push(
            serde_yaml::from_str(
                "{name: b, image: busybox, volumeMounts: [{name: own, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]}",
            )
            .unwrap(),
        );
        admit_create(&mut p, &accounts).unwrap();
        let spec = p.spec.as_ref().unwrap();
        let volumes = spec.volumes.as_ref().unwrap();
        assert_eq!(volumes.len(), 2);
        let name = &volumes[1].name;
        assert!(name.starts_with("kube-api-access-") && name.len() == "kube-api-access-".len() + 5, "{name}");
        assert_eq!(volumes[1].projected, Some(token_volume_source()));
        let token = (name.clone(), MOUNT_PATH.to_string());
        let own = ("own".to_string(), MOUNT_PATH.to_string());
        assert_eq!(mounts(&p), vec![vec![token.clone()], vec![token], vec![own]]);
        assert!(spec.containers[0].volume_mounts.as_ref().unwrap()[0].read_only == Some(true));
        let ephemeral = &spec.ephemeral_containers.as_ref().unwrap()[0];
        assert_eq!(ephemeral.volume_mounts, None, "ephemeral containers get no mount");
        // The source as Kubernetes writes it.
        let source = serde_json::to_value(token_volume_source()).unwrap();
        assert_eq!(
            source,
            serde_json::json!({"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ]})
        );
        // A pod that already has a kube-api-access- volume keeps it and gets no second one.
        let mut again = p.clone();
        for c in again.spec.as_mut().unwrap().containers.iter_mut() {
            c.volume_mounts = None;
        }
        admit_create(&mut again, &accounts).unwrap();
        assert_eq!(again.spec.as_ref().unwrap().volumes.as_ref().unwrap().len(), 2);
        assert_eq!(mounts(&again)[1], vec![(name.clone(), MOUNT_PATH.to_string())]);
    }

    #[test]
    fn automount_is_the_pods_choice_else_its_accounts() {
        let accounts = accounts(&[
            "name: default}",
            "name: mount}\nautomountServiceAccountToken: true",
            "name: nomount}\nautomountServiceAccountToken: false",
        ]);
        // The nine cases of e2e's "should allow opting out of API token automount".
        for (account, pod_says, expected) in [
            ("default", None, true),
            ("mount", None, true),
            ("nomount", None, false),
            ("default", Some(true), true),
            ("mount", Some(true), true),
            ("nomount", Some(true), true),
            ("default", Some(false), false),
            ("mount", Some(false), false),
            ("nomount", Some(false), false),
        ] {
            let mut p = pod(&format!("  serviceAccountName: {account}\n"));
            p.spec.as_mut().unwrap().automount_service_account_token = pod_says;
            admit_create(&mut p, &accounts).unwrap();
            let mounted = mounts(&p)[0].iter().any(|(_, path)| path == MOUNT_PATH);
            assert_eq!(mounted, expected, "{account} {pod_says:?}");
            assert_eq!(p.spec.unwrap().volumes.is_some(), expected, "{account} {pod_says:?}");
        }
    }

    #[test]
    fn a_pod_without_image_pull_secrets_gets_its_accounts() {
        let accounts = accounts(&["name: default}\nimagePullSecrets: [{name: regcred}]", "name: bare}"]);
        let mut p = pod("");
        admit_create(&mut p, &accounts).unwrap();
        let names = |p: &Pod| p.spec.as_ref().unwrap().image_pull_secrets.iter().flatten().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&p), ["regcred"]);
        let mut own = pod("  imagePullSecrets: [{name: mine}]\n");
        admit_create(&mut own, &accounts).unwrap();
        assert_eq!(names(&own), ["mine"]);
        let mut bare = pod("  serviceAccountName: bare\n");
        admit_create(&mut bare, &accounts).unwrap();
        assert_eq!(bare.spec.unwrap().image_pull_secrets, None);
    }

    #[tokio::test]
    async fn a_create_waits_for_the_default_account_without_blocking() {
        let accounts = accounts(&[]);
        let made = accounts.clone();
        let maker = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let sa = serde_yaml::from_str("metadata: {name: default, namespace: ns}\n").unwrap();
            made.create_object(&sa, false).unwrap();
        });
        let started = std::time::Instant::now();
        await_default_account(&accounts, &pod("")).await;
        assert!(started.elapsed() < DEFAULT_WAIT, "woken by the account, not the bound");
        admit_create(&mut pod(""), &accounts).unwrap();
        maker.await.unwrap();
        // An account that never comes: the wait ends at its bound and the create is refused.
        let none = self::accounts(&[]);
        let p: Pod = serde_yaml::from_str("metadata: {name: web, namespace: other}\nspec: {containers: []}\n").unwrap();
        let started = std::time::Instant::now();
        await_default_account(&none, &p).await;
        assert!(started.elapsed() >= DEFAULT_WAIT);
    }
}
