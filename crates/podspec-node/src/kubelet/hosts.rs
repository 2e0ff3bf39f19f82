//! The pod's hostname, domain and kubelet-managed /etc/hosts, as the kubelet makes them
//! (pkg/kubelet/kubelet_pods.go: GeneratePodHostNameAndDomain, managedHostsFileContent).

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{HostAlias, PodDNSConfig};

/// The cluster domain of the reference node.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The pod's hostname: `spec.hostname` if set, else the pod name, at most 63 characters and
/// without trailing `-` or `.`; and its domain `<subdomain>.<namespace>.svc.<cluster domain>`
/// when `spec.subdomain` is set.
pub fn hostname_and_domain(pod_name: &str, namespace: &str, hostname: Option<&str>, subdomain: Option<&str>) -> (String, Option<String>) {
    let host = hostname.filter(|h| !h.is_empty()).unwrap_or(pod_name);
    let truncated = if host.len() > 63 { host[..63].trim_end_matches(['-', '.']) } else { host };
    let domain = subdomain.filter(|s| !s.is_empty()).map(|s| format!("{s}.{namespace}.svc.{CLUSTER_DOMAIN}"));
    (truncated.to_string(), domain)
}

/// The hostname of a pod with `setHostnameAsFQDN`: `hostname.domain` (the hostname alone
/// without a domain), at most 64 characters (pkg/kubelet/kubelet_pods.go
/// GeneratePodHostNameAndDomain, kuberuntime generatePodSandboxConfig).
/// A pod's `hostname.domain` longer than a hostname may be, in the kubelet's words.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error(
    "failed to construct FQDN from pod hostname and cluster domain, FQDN {fqdn} is too long (64 characters is the max, {} characters requested)",
    .fqdn.len()
)]
pub struct FqdnTooLong {
    pub fqdn: String,
}

pub fn fqdn_hostname(hostname: &str, domain: Option<&str>) -> Result<String, FqdnTooLong> {
    let fqdn = match domain {
        Some(d) => format!("{hostname}.{d}"),
        None => hostname.to_string(),
    };
    if fqdn.len() > 64 {
        return Err(FqdnTooLong { fqdn });
    }
    Ok(fqdn)
}

/// The kubelet-managed hosts file of a pod that does not use the host network.
pub fn managed_hosts_file(ips: &[Ipv4Addr], hostname: &str, domain: Option<&str>) -> String {
    let mut s = String::from("# Kubernetes-managed hosts file.\n");
    s.push_str("127.0.0.1\tlocalhost\n");
    s.push_str("::1\tlocalhost ip6-localhost ip6-loopback\n");
    s.push_str("fe00::0\tip6-localnet\n");
    s.push_str("fe00::0\tip6-mcastprefix\n");
    s.push_str("fe00::1\tip6-allnodes\n");
    s.push_str("fe00::2\tip6-allrouters\n");
    for ip in ips {
        match domain {
            Some(d) => s.push_str(&format!("{ip}\t{hostname}.{d}\t{hostname}\n")),
            None => s.push_str(&format!("{ip}\t{hostname}\n")),
        }
    }
    s
}

/// The reference node's own /etc/hosts: its loopback names, and its name at its IP. The node is
/// podspec's (its network and UTS namespaces are its own, not the machine's), and so is this
/// file; the machine's /etc/hosts is never read into a pod. A hostNetwork pod gets it, as the
/// kubelet gives such a pod a copy of the node's file (pkg/kubelet/kubelet_pods.go
/// ensureHostsFile, nodeHostsFileContent): no `# Kubernetes-managed hosts file.` header.
pub fn node_hosts_file(node_ip: Ipv4Addr, node_name: &str) -> String {
    format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{node_ip}\t{node_name}\n")
}

/// What the kubelet appends to a pod's hosts file for `spec.hostAliases`
/// (pkg/kubelet/kubelet_pods.go hostsEntriesFromHostAliases): nothing without aliases; else a
/// blank line, `# Entries added by HostAliases.`, and a line an alias: its IP, then its
/// hostnames, separated by tabs.
pub fn host_aliases_entries(aliases: &[HostAlias]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n# Entries added by HostAliases.\n");
    for a in aliases {
        let mut fields = vec![a.ip.as_str()];
        fields.extend(a.hostnames.iter().flatten().map(String::as_str));
        s.push_str(&fields.join("\t"));
        s.push('\n');
    }
    s
}

/// The resolv.conf of a pod with `dnsPolicy: None`, from its `dnsConfig` alone, as the runtime
/// writes it from the sandbox's DNS config (a `search` line, a `nameserver` line a server, an
/// `options` line: `name` or `name:value`), each line only when there is something to put on it.
pub fn resolv_conf(dns: &PodDNSConfig) -> String {
    let mut s = String::new();
    let searches = dns.searches.clone().unwrap_or_default();
    if !searches.is_empty() {
        s.push_str(&format!("search {}\n", searches.join(" ")));
    }
    for server in dns.nameservers.iter().flatten() {
        s.push_str(&format!("nameserver {server}\n"));
    }
    let options: Vec<String> = dns
        .options
        .iter()
        .flatten()
        .filter_map(|o| {
            let name = o.name.as_deref()?;
            Some(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name.to_string(),
            })
        })
        .collect();
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_defaults_to_the_pod_name_and_spec_hostname_wins() {
        assert_eq!(hostname_and_domain("web", "ns", None, None), ("web".into(), None));
        assert_eq!(hostname_and_domain("web", "ns", Some("front"), None).0, "front");
    }

    #[test]
    fn subdomain_makes_the_service_domain_and_long_names_are_cut() {
        let (h, d) = hostname_and_domain("web", "team", Some("foo"), Some("bar"));
        assert_eq!(format!("{h}.{}", d.unwrap()), "foo.bar.team.svc.cluster.local");
        let long = format!("{}-x", "a".repeat(62));
        assert_eq!(hostname_and_domain(&long, "ns", None, None).0, "a".repeat(62));
    }

    #[test]
    fn an_fqdn_hostname_is_at_most_64_characters() {
        assert_eq!(fqdn_hostname("web", Some("sub.ns.svc.cluster.local")).unwrap(), "web.sub.ns.svc.cluster.local");
        assert_eq!(fqdn_hostname("web", None).unwrap(), "web");
        let e = fqdn_hostname(&"a".repeat(40), Some("sub.ns.svc.cluster.local")).unwrap_err().to_string();
        assert!(e.ends_with("is too long (64 characters is the max, 65 characters requested)"), "{e}");
    }

    #[test]
    fn host_aliases_are_appended_one_line_an_ip_with_tabs() {
        assert_eq!(host_aliases_entries(&[]), "");
        let alias = |ip: &str, names: &[&str]| HostAlias { ip: ip.into(), hostnames: Some(names.iter().map(|n| n.to_string()).collect()) };
        assert_eq!(
            host_aliases_entries(&[alias("123.45.67.89", &["foo", "bar"]), alias("10.0.0.1", &["baz"])]),
            "\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n10.0.0.1\tbaz\n"
        );
    }

    #[test]
    fn resolv_conf_has_the_search_path_the_nameservers_and_the_options() {
        use k8s_openapi::api::core::v1::PodDNSConfigOption;
        let dns = PodDNSConfig {
            nameservers: Some(vec!["1.1.1.1".into(), "8.8.8.8".into()]),
            searches: Some(vec!["resolv.conf.local".into(), "example.org".into()]),
            options: Some(vec![
                PodDNSConfigOption { name: Some("ndots".into()), value: Some("2".into()) },
                PodDNSConfigOption { name: Some("edns0".into()), value: None },
            ]),
        };
        assert_eq!(
            resolv_conf(&dns),
            "search resolv.conf.local example.org\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:2 edns0\n"
        );
        let only = PodDNSConfig { nameservers: Some(vec!["1.1.1.1".into()]), ..Default::default() };
        assert_eq!(resolv_conf(&only), "nameserver 1.1.1.1\n");
    }

    #[test]
    fn the_nodes_hosts_file_has_no_managed_header_and_names_the_node() {
        let text = node_hosts_file(Ipv4Addr::new(10, 88, 0, 1), "podspec-node");
        assert!(text.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(!text.contains("Kubernetes-managed"));
        assert!(text.ends_with("\n10.88.0.1\tpodspec-node\n"));
    }

    #[test]
    fn hosts_file_matches_the_kubelets() {
        let ip = Ipv4Addr::new(10, 1, 2, 3);
        let text = managed_hosts_file(&[ip], "web-0", Some("svc.default.svc.cluster.local"));
        assert!(text.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
        assert!(text.ends_with("10.1.2.3\tweb-0.svc.default.svc.cluster.local\tweb-0\n"));
        assert!(managed_hosts_file(&[ip], "web-0", None).ends_with("fe00::2\tip6-allrouters\n10.1.2.3\tweb-0\n"));
    }
}
