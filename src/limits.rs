//! Process limits podspec sets for itself at start.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Raises the soft limit of open files to the hard limit, as container runtimes do: each pod
/// holds several descriptors (namespaces, netlink sockets, pipes), and Debian's default soft
/// limit of 1024 is reached at a few hundred pods. Returns the limit now in force.
pub fn raise_open_files() -> std::io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard)
}

/// Descriptors the process holds whatever it runs (its runtime, logs, the API's listeners).
pub const BASE_DESCRIPTORS: u64 = 64;
/// Descriptors a running pod holds beside its containers' (its network namespace and the
/// socket that configures it), as counted in /proc/<podspec>/fd with 300 pods running.
pub const DESCRIPTORS_PER_POD: u64 = 2;
/// Descriptors each running container holds (its process's pidfd and its log pipe).
pub const DESCRIPTORS_PER_CONTAINER: u64 = 2;

/// How many pods of `containers` containers each an open-file limit of `limit` holds at once.
pub fn pods_within(limit: u64, containers: u64) -> u64 {
    limit.saturating_sub(BASE_DESCRIPTORS) / (DESCRIPTORS_PER_POD + DESCRIPTORS_PER_CONTAINER * containers)
}

/// What to say at start about the hard open-file limit: a warning when it holds fewer than
/// `wanted` two-container pods at once (a pod past it fails with `Too many open files`).
pub fn open_files_warning(hard: u64, wanted: u64) -> Option<String> {
    let pods = pods_within(hard, 2);
    (pods < wanted).then(|| {
        format!(
            "the hard open-file limit is {hard}: it holds about {pods} two-container pods at once \
             ({DESCRIPTORS_PER_POD} descriptors a pod and {DESCRIPTORS_PER_CONTAINER} a container); \
             more fail with `Too many open files` (raise it with `ulimit -Hn` or systemd's LimitNOFILE)"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_open_file_budget_counts_pods_and_warns_below_what_is_wanted() {
        assert_eq!(super::pods_within(1024, 2), 160);
        assert_eq!(super::pods_within(10, 2), 0);
        let warning = super::open_files_warning(1024, 1000).expect("1024 holds fewer than 1000 pods");
        assert!(warning.starts_with("the hard open-file limit is 1024: it holds about 160 two-container pods at once"), "{warning}");
        assert_eq!(super::open_files_warning(1_048_576, 1000), None);
    }

    #[test]
    fn the_soft_limit_is_the_hard_limit_afterwards() {
        let hard = super::raise_open_files().unwrap();
        let (soft, now_hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((soft, now_hard), (hard, hard));
    }
}
