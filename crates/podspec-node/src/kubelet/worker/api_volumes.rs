//! A pod worker's API-data volumes (downwardAPI, projected, configMap, secret): their
//! directories, the tmpfs under each secret volume, and each new version of their payload
//! (what goes in them is `crate::kubelet::api_data`'s).

use super::PodWorker;
use std::path::PathBuf;

use crate::kubelet::api_data::{is_api_data, payload, volume_dir, VolumeError};
use crate::kubelet::atomic_writer::{self, Ownership};

impl PodWorker {
    /// Makes each API-data volume's directory and writes its payload, as a new version where it
    /// changed. With the pod's `fsGroup`, the files belong to that group and it may read them.
    pub(super) fn write_api_volumes(&self) -> Result<(), VolumeError> {
        let pod = self.pod();
        let Some(spec) = &pod.spec else { return Ok(()) };
        let owner = Ownership { fs_group: spec.security_context.as_ref().and_then(|sc| sc.fs_group).map(|g| g as u32) };
        for v in spec.volumes.iter().flatten() {
            let Some(dir) = volume_dir(&self.node.config.root_dir, &self.uid, v) else { continue };
            let volume = || v.name.clone();
            let files = payload(v, &pod, self.node.allocatable, &self.node.objects)
                .map_err(|source| VolumeError::Payload { volume: volume(), source })?;
            std::fs::create_dir_all(&dir).map_err(|source| VolumeError::MakeDir { volume: volume(), dir: dir.clone(), source })?;
            let written = atomic_writer::write(&dir, &files, owner).map_err(|source| VolumeError::Write { volume: volume(), source })?;
            if written {
                tracing::debug!(pod = %self.key, volume = %v.name, "wrote a new version of the volume");
            }
        }
        Ok(())
    }

    /// Mounts a tmpfs on each secret volume's directory, once, before anything is written there
    /// (the secret plugin's memory-backed wrapper: a Secret's bytes never reach the node's
    /// disk); the pod's teardown unmounts it.
    pub(super) fn mount_secret_volumes(&self) -> Result<(), VolumeError> {
        let pod = self.pod();
        let mut wanted = Vec::new();
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).filter(|v| v.secret.is_some()) {
            let Some(dir) = volume_dir(&self.node.config.root_dir, &self.uid, v) else { continue };
            if self.state.lock().unwrap().tmpfs_mounts.contains(&dir) {
                continue;
            }
            std::fs::create_dir_all(&dir).map_err(|source| VolumeError::MakeDir { volume: v.name.clone(), dir: dir.clone(), source })?;
            let node = self.node.allocatable.memory;
            let size_bytes = podspec_api::quantity::divide_ceil(node, podspec_api::quantity::Milli(1000)).max(1) as u64;
            wanted.push(podspec_cri::cri::TmpfsVolume { path: dir, size_bytes });
        }
        let mounted = crate::kubelet::volumes::mount_all(&wanted)?;
        self.state.lock().unwrap().tmpfs_mounts.extend(mounted);
        Ok(())
    }

    /// After a change of the pod (its labels or annotations): each API-data volume gets the new
    /// values, atomically; what fails is logged and tried again at the next change. Not once the
    /// pod is being deleted or has ended: the kubelet remounts a pod's volumes only as it syncs a
    /// live pod, not while it terminates one (nor are its tokens refreshed then).
    pub(super) fn refresh_api_volumes(&self) {
        let ending = self.pod().metadata.deletion_timestamp.is_some()
            || self.tearing_down.load(std::sync::atomic::Ordering::SeqCst)
            || self.state.lock().unwrap().terminal.is_some();
        if ending {
            return;
        }
        if let Err(e) = self.write_api_volumes() {
            tracing::warn!(pod = %self.key, error = %e, "update the pod's API-data volumes");
        }
    }

    /// When the first of the pod's projected tokens is due for a refresh, if it has any.
    pub(super) fn token_refresh_due(&self) -> Option<tokio::time::Instant> {
        let due = self.node.objects.next_token_refresh(&self.uid)?;
        let wait = std::time::Duration::try_from(due.duration_since(jiff::Timestamp::now())).unwrap_or_default();
        Some(tokio::time::Instant::now() + wait)
    }

    /// Whether the pod's volume `name` is an API-data volume (mounted read-only).
    pub(super) fn is_api_data_volume(&self, name: &str) -> bool {
        let pod = self.pod.lock().unwrap();
        pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| v.name == name && is_api_data(v))
    }

    /// The directory of the pod's API-data volume `name`, if it is one.
    pub(super) fn api_data_dir(&self, name: &str) -> Option<PathBuf> {
        let pod = self.pod.lock().unwrap();
        let v = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).find(|v| v.name == name)?;
        volume_dir(&self.node.config.root_dir, &self.uid, v)
    }
}
