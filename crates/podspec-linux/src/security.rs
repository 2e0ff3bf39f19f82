//! From a container's CRI security context to what the shim applies: its identity and its
//! capabilities. No I/O here but asking the kernel which capabilities it knows.

use super::spec::ProcessSecurity;
use podspec_cri::cri::{LinuxContainerSecurity, SeccompProfile};

/// The capabilities a container that is not privileged gets by default, as containerd gives
/// them (`oci/spec.go`, `defaultUnixCaps`): CapEff `00000000a80425fb`.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// `NET_ADMIN` and `cap_net_admin` both name `CAP_NET_ADMIN`, as containerd reads them.
fn canonical(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// Every capability podspec itself may hand on (its bounding set), as containerd gives a
/// privileged container the capabilities it has itself.
fn all_capabilities() -> Vec<String> {
    let own = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::runtime::thread_all_supported());
    let mut all: Vec<String> = own.into_iter().map(|c| c.to_string()).collect();
    all.sort();
    all
}

/// Why a container's security context gives no process security. The text reaches the
/// container's creation error as before.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("unknown capability {0:?} in capabilities.add")]
    UnknownCapability(String),
    /// An id (`runAsUser`, `runAsGroup`, a supplemental group) that is no uid or gid.
    #[error("{what} {value} is out of range")]
    OutOfRange { what: &'static str, value: i64 },
}

/// The container's capability set, worked out as containerd does for the CRI: privileged gets
/// every capability; otherwise the default set, then `add: [ALL]`, `drop: [ALL]`, then each
/// named addition and each named drop, in that order.
pub fn capabilities(sec: &LinuxContainerSecurity) -> Result<Vec<String>, SecurityError> {
    if sec.privileged {
        return Ok(all_capabilities());
    }
    let mut set: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect();
    let is_all = |c: &String| c.eq_ignore_ascii_case("ALL");
    if sec.add_capabilities.iter().any(is_all) {
        set = all_capabilities();
    }
    if sec.drop_capabilities.iter().any(is_all) {
        set.clear();
    }
    for add in sec.add_capabilities.iter().filter(|c| !is_all(c)) {
        let cap = canonical(add);
        if cap.parse::<caps::Capability>().is_err() {
            return Err(SecurityError::UnknownCapability(add.clone()));
        }
        if !set.contains(&cap) {
            set.push(cap);
        }
    }
    for drop in sec.drop_capabilities.iter().filter(|c| !is_all(c)) {
        let cap = canonical(drop);
        set.retain(|c| *c != cap);
    }
    Ok(set)
}

/// What the shim applies to the container's processes. Without `runAsUser` the image's user
/// is used (a numeric one; the reference images have none, which is root); without
/// `runAsGroup` the gid is 0. The groups are the gid and the supplemental groups.
pub fn process_security(sec: &LinuxContainerSecurity, image_uid: Option<u32>) -> Result<ProcessSecurity, SecurityError> {
    let id = |what: &'static str, value: i64| u32::try_from(value).map_err(|_| SecurityError::OutOfRange { what, value });
    let uid = match sec.run_as_user {
        Some(u) => id("runAsUser", u)?,
        None => image_uid.unwrap_or(0),
    };
    let gid = match sec.run_as_group {
        Some(g) => id("runAsGroup", g)?,
        None => 0,
    };
    let mut groups = vec![gid];
    for g in &sec.supplemental_groups {
        let g = id("supplemental group", *g)?;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    Ok(ProcessSecurity {
        uid,
        gid,
        groups,
        capabilities: capabilities(sec)?,
        no_new_privs: sec.no_new_privs,
        privileged: sec.privileged,
        readonly_rootfs: sec.readonly_rootfs,
        // A privileged container runs unconfined whatever its profile says, as runc's spec
        // for a privileged container carries no seccomp filter.
        seccomp: if sec.privileged { SeccompProfile::Unconfined } else { sec.seccomp },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(names: &[String]) -> u64 {
        names.iter().map(|n| n.parse::<caps::Capability>().unwrap().bitmask()).fold(0, |a, b| a | b)
    }

    #[test]
    fn the_default_set_is_cap_eff_a80425fb() {
        let caps = capabilities(&LinuxContainerSecurity::default()).unwrap();
        assert_eq!(format!("{:016x}", mask(&caps)), "00000000a80425fb");
    }

    #[test]
    fn drop_all_then_add_names_keeps_only_those() {
        let sec = LinuxContainerSecurity {
            drop_capabilities: vec!["ALL".into()],
            add_capabilities: vec!["NET_ADMIN".into(), "cap_sys_time".into()],
            ..Default::default()
        };
        assert_eq!(capabilities(&sec).unwrap(), vec!["CAP_NET_ADMIN", "CAP_SYS_TIME"]);
        let sec = LinuxContainerSecurity { drop_capabilities: vec!["CHOWN".into()], ..Default::default() };
        assert!(!capabilities(&sec).unwrap().contains(&"CAP_CHOWN".to_string()));
        let sec = LinuxContainerSecurity { add_capabilities: vec!["NOT_A_CAP".into()], ..Default::default() };
        assert_eq!(capabilities(&sec).unwrap_err().to_string(), r#"unknown capability "NOT_A_CAP" in capabilities.add"#);
    }

    #[test]
    fn run_as_user_alone_has_gid_0_and_groups_follow() {
        let sec = LinuxContainerSecurity { run_as_user: Some(1000), supplemental_groups: vec![5000], ..Default::default() };
        let p = process_security(&sec, None).unwrap();
        assert_eq!((p.uid, p.gid, p.groups), (1000, 0, vec![0, 5000]));
        let sec = LinuxContainerSecurity { run_as_user: Some(-1), ..Default::default() };
        assert_eq!(process_security(&sec, None).unwrap_err().to_string(), "runAsUser -1 is out of range");
    }
}
