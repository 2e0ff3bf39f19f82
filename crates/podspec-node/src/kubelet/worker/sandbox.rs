//! The pod's sandbox: its directories and volumes, the runtime's sandbox, its hosts file, and
//! the pod's teardown (kuberuntime_sandbox.go, and the kubelet's SyncTerminatingPod).

use std::fs;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use super::errors::SandboxError;
use super::{volume_dir, PodWorker};
use crate::kubelet::{api_data, hosts, security, subpath, volumes};
use podspec_cgroup::Limits;
use podspec_cri::cri::{ContainerId, PodSandboxConfig, SandboxId};
use podspec_fs::safe_path;

impl PodWorker {
    pub(super) fn pod_dir(&self) -> PathBuf {
        self.node.config.root_dir.join("pods").join(&self.uid)
    }

    pub(super) async fn start_sandbox(&self) -> Result<(), SandboxError> {
        let pod = self.pod();
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref().ok_or(SandboxError::NoSpec)?;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let name = meta.name.clone().unwrap_or_default();
        let (hostname, domain) = hosts::hostname_and_domain(&name, &namespace, spec.hostname.as_deref(), spec.subdomain.as_deref());
        let uts_hostname =
            if spec.set_hostname_as_fqdn == Some(true) { hosts::fqdn_hostname(&hostname, domain.as_deref())? } else { hostname.clone() };
        // The pod's directory and its volumes' directories come first: memory-backed volumes
        // are mounted on theirs when the sandbox starts.
        let dir = self.pod_dir();
        let make_dirs = || -> std::io::Result<()> {
            fs::create_dir_all(&dir)?;
            let fs_group = spec.security_context.as_ref().and_then(|sc| sc.fs_group);
            for v in spec.volumes.iter().flatten() {
                if let Some(source) = &v.host_path {
                    // A node directory, checked at admission; DirectoryOrCreate makes it,
                    // beneath the node directory it is in, never through a link out of it
                    // (a pod given that node directory can plant one).
                    if source.type_.as_deref() == Some("DirectoryOrCreate") {
                        let path = Path::new(&source.path);
                        let node_dirs = self.node.config.host_dirs();
                        if let Some(node_dir) = node_dirs.iter().find(|d| path.starts_with(d)) {
                            let base = safe_path::open_dir(node_dir)?;
                            let rel = path.strip_prefix(node_dir).unwrap_or(path);
                            safe_path::mkdir_all_in(&base, rel, safe_path::Scope::Beneath, 0o755)?;
                        }
                    }
                    continue;
                }
                if api_data::is_api_data(v) {
                    continue;
                }
                let dir = volume_dir(&self.node.config.root_dir, &self.uid, &v.name);
                fs::create_dir_all(&dir)?;
                // emptyDir is world-writable (0777); with fsGroup it belongs to that group and
                // what is made in it inherits the group (the set-group-ID bit), as the kubelet
                // sets a volume's ownership.
                let mode = if let Some(gid) = fs_group {
                    std::os::unix::fs::chown(&dir, None, Some(gid as u32))?;
                    0o2777
                } else {
                    0o777
                };
                fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
            }
            Ok(())
        };
        let pod_dir_error = |source| SandboxError::PodDir { dir: dir.clone(), source };
        make_dirs().map_err(pod_dir_error)?;
        self.write_api_volumes()?;
        let mut tmpfs = Vec::new();
        for v in spec.volumes.iter().flatten() {
            let Some(e) = v.empty_dir.as_ref().filter(|e| e.medium.as_deref() == Some("Memory")) else { continue };
            // At most sizeLimit, and never more than the node has for pods.
            let node = self.node.allocatable.memory;
            let limit = match &e.size_limit {
                Some(q) => podspec_api::quantity::parse(&q.0)
                    .map_err(|source| SandboxError::SizeLimit { volume: v.name.clone(), source })?
                    .min(node),
                None => node,
            };
            let size_bytes = podspec_api::quantity::divide_ceil(limit, podspec_api::quantity::Milli(1000)).max(1) as u64;
            tmpfs.push(podspec_cri::cri::TmpfsVolume { path: volume_dir(&self.node.config.root_dir, &self.uid, &v.name), size_bytes });
        }
        let sysctls = security::sysctls(spec)?;
        let namespaces = security::namespaces(spec);
        // The kubelet's HasPrivilegedContainer.
        let privileged = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
        // A runtime that does not hold memory-backed volumes itself (a CRI runtime) gets their
        // directories with the kubelet's tmpfs on them.
        let tmpfs = if self.node.runtime.holds_memory_volumes() {
            tmpfs
        } else {
            let mounted = volumes::mount_all(&tmpfs)?;
            self.state.lock().unwrap().tmpfs_mounts.extend(mounted);
            Vec::new()
        };
        // The kubelet's pod cgroup, `<cgroup root>/pod<uid>` (pkg/kubelet/cm: the cgroupfs
        // driver's name of a pod's cgroup), made with the node's podPidsLimit as its pids.max
        // (pod_container_manager_linux.go EnsureExists) before the runtime puts the pod in it.
        let cgroup_parent = match &self.node.config.pod_cgroups {
            None => None,
            Some(root) => {
                let cgroup = root.cgroup.child(&format!("pod{}", self.uid));
                let pids_max = self.node.config.pod_pids_limit.filter(|_| cgroup.has("pids"));
                let made = cgroup.create().and_then(|()| cgroup.set_limits(&Limits { pids_max, ..Default::default() }));
                made.map_err(SandboxError::Cgroup)?;
                Some(format!("{}/pod{}", root.parent, self.uid))
            }
        };
        // The pod's RuntimeClass's handler, resolved now, as the kubelet's runtimeclass manager
        // does (a class deleted since the pod was admitted fails the sandbox).
        let runtime_handler = self.node.runtime_handler(&pod).map_err(SandboxError::RuntimeHandler)?;
        let config = PodSandboxConfig {
            runtime_handler,
            name,
            namespace,
            uid: self.uid.clone(),
            hostname: uts_hostname,
            tmpfs,
            namespaces,
            sysctls,
            privileged,
            cgroup_parent,
            pids_limit: self.node.config.pod_pids_limit,
        };
        let runtime = &self.node.runtime;
        let sandbox = runtime.run_pod_sandbox(&config).await?;
        let status = runtime.pod_sandbox_status(&sandbox).await?;
        // Its containers' events come to this worker from now on.
        self.node.event_routes.add(sandbox.clone(), self.me.clone());
        {
            let mut st = self.state.lock().unwrap();
            st.sandbox = Some(sandbox);
            st.pod_ip = Some(status.ip);
            st.start_time = Some(jiff::Timestamp::now());
            st.started_at = Some(Instant::now());
        }
        // The kubelet's ensureHostsFile: on the host network the node's own hosts file, else one
        // made from the pod's IP and hostname; hostAliases appended to either.
        let mut hosts_file = if spec.host_network == Some(true) {
            hosts::node_hosts_file(self.node.config.node_ip, &self.node.config.node_name)
        } else {
            hosts::managed_hosts_file(&[status.ip], &hostname, domain.as_deref())
        };
        hosts_file.push_str(&hosts::host_aliases_entries(spec.host_aliases.as_deref().unwrap_or_default()));
        fs::write(dir.join("etc-hosts"), hosts_file).map_err(pod_dir_error)?;
        // dnsPolicy None: the pod's resolv.conf is its dnsConfig alone (other policies with a
        // dnsConfig are refused before the pod runs: src/manifest/fields.rs).
        if let (Some("None"), Some(dns)) = (spec.dns_policy.as_deref(), &spec.dns_config) {
            fs::write(dir.join("resolv.conf"), hosts::resolv_conf(dns)).map_err(pod_dir_error)?;
        }
        Ok(())
    }

    pub(super) async fn teardown(&self) {
        // As the kubelet's SyncTerminatingPod: liveness and startup probes stop before the
        // containers are stopped; readiness probes go on while they stop (a container that
        // turns unready during its grace period is reported so), and end once they have.
        self.tearing_down.store(true, std::sync::atomic::Ordering::SeqCst);
        self.probes.stop_liveness_and_startup();
        self.node.objects.forget_tokens(&self.uid);
        let runtime = &self.node.runtime;
        let (sandbox, current): (Option<SandboxId>, Vec<ContainerId>) = {
            let st = self.state.lock().unwrap();
            (st.sandbox.clone(), st.containers.iter().filter_map(|c| c.current.clone()).collect())
        };
        {
            let stopping = self.stop_pod(&current);
            tokio::pin!(stopping);
            loop {
                tokio::select! {
                    _ = &mut stopping => break,
                    _ = self.probed.notified() => self.publish_status().await,
                }
            }
        }
        self.probes.stop_all();
        // As the kubelet's status manager: the stopped containers' final states reach the API
        // before anything is removed (a pod that finalizers hold shows them so).
        self.publish_status().await;
        if let Some(sandbox) = sandbox {
            if let Err(e) = runtime.stop_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "stop pod sandbox");
            }
            if let Err(e) = runtime.remove_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "remove pod sandbox");
            }
            self.node.event_routes.remove(&sandbox);
        }
        let mounts = std::mem::take(&mut self.state.lock().unwrap().tmpfs_mounts);
        let dir = self.pod_dir();
        // The pod's cgroup, which the runtime leaves once it removed the sandbox's and the
        // containers' cgroups in it.
        let mut cgroups: Vec<PathBuf> = match &self.node.config.pod_cgroups {
            Some(r) => r.cgroup.child(&format!("pod{}", self.uid)).dirs.into_iter().map(|(_, d)| d).collect(),
            None => Vec::new(),
        };
        cgroups.dedup();
        let _ = tokio::task::spawn_blocking(move || {
            volumes::unmount_all(&mounts);
            subpath::unmount_all(&dir);
            for c in &cgroups {
                if let Err(e) = fs::remove_dir(c) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(cgroup = %c.display(), error = %e, "remove the pod's cgroup");
                    }
                }
            }
            // Never into a tree still mounted somewhere below (a volume reached through it).
            let left = podspec_fs::mounts_under(&dir);
            if !left.is_empty() {
                tracing::warn!(dir = %dir.display(), ?left, "mounts left under the pod's directory; it is kept");
                return Ok(());
            }
            fs::remove_dir_all(dir)
        })
        .await;
    }
}
