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

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_is_the_hard_limit_afterwards() {
        let hard = super::raise_open_files().unwrap();
        let (soft, now_hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!((soft, now_hard), (hard, hard));
    }
}
