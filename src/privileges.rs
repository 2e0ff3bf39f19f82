//! What the reference runtime needs to run: root, or else a user namespace in which the user is
//! root (where the kernel allows unprivileged user namespaces).

use std::fs;

#[derive(Debug, thiserror::Error)]
#[error("the reference runtime needs root or unprivileged user namespaces: {0}; run as root (sudo), or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)")]
pub struct PrivilegeError(String);

/// As root: nothing to do. Otherwise: enter a new user namespace mapping the user to root.
/// Must be called while the process is single-threaded (before any async runtime starts), and
/// after the state and data folders were chosen (they stay the user's own).
pub fn ensure() -> Result<bool, PrivilegeError> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    if nix::unistd::geteuid().is_root() {
        return Ok(false);
    }
    // Keep the user's folders: inside the namespace the user looks like root.
    for (var, dir) in [("PODSPEC_STATE_DIR", crate::paths::default_state_dir()), ("PODSPEC_DATA_DIR", crate::paths::default_data_dir())] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, dir);
        }
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).map_err(|e| PrivilegeError(format!("unshare(CLONE_NEWUSER): {e}")))?;
    fs::write("/proc/self/setgroups", "deny").map_err(|e| PrivilegeError(format!("write /proc/self/setgroups: {e}")))?;
    fs::write("/proc/self/uid_map", format!("0 {uid} 1")).map_err(|e| PrivilegeError(format!("write /proc/self/uid_map: {e}")))?;
    fs::write("/proc/self/gid_map", format!("0 {gid} 1")).map_err(|e| PrivilegeError(format!("write /proc/self/gid_map: {e}")))?;
    Ok(true)
}
