//! Pod networking of the Linux reference runtime, spoken over rtnetlink.
//!
//! Layout: a *node* network namespace (created by podspec, never the host's)
//! holds a bridge carrying the gateway address. Every pod gets a veth pair:
//! the host end stays in the node netns, enslaved to the bridge; the peer is
//! created directly inside the pod's netns as `eth0`, with the pod's address
//! and a default route via the gateway.
//!
//! A netlink socket talks to the network namespace of the thread that created
//! it. To get a socket in another namespace we open it on a short-lived
//! `std::thread` that `setns(2)`s first; the caller's (tokio worker) thread is
//! never moved. No `ip` subprocesses are spawned.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use futures::channel::oneshot;
use futures::future::{self, Either};
use futures::TryStreamExt;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkFlags, LinkMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

/// Name of the pod side of the veth pair, inside the pod netns.
const POD_IFNAME: &str = "eth0";
/// `LOOPBACK_IFINDEX` of the kernel: `lo` has index 1 in every netns.
const LOOPBACK_IFINDEX: u32 = 1;
/// `IFNAMSIZ` - 1.
const MAX_IFNAME_LEN: usize = 15;
const ENODEV: i32 = nix::errno::Errno::ENODEV as i32;

type RtConnection = rtnetlink::proto::Connection<RouteNetlinkMessage>;

/// Errors of the pod network. Each variant says which operation failed, on
/// which interface, in which namespace ("node" or "pod"), and why.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The operation needs a tokio runtime (to drive the netlink socket).
    #[error("{op}: must be called from within a tokio runtime")]
    NoRuntime { op: &'static str },

    /// An interface name was rejected before anything was sent to the kernel.
    #[error("{op}: invalid interface name {name:?} in the {netns} netns: {reason}")]
    InvalidName { op: &'static str, netns: &'static str, name: String, reason: &'static str },

    /// Opening a netlink socket inside a network namespace failed
    /// (bad namespace fd, `setns` refused, socket creation failed...).
    #[error("{op}: cannot open a netlink socket in the {netns} netns: {source}")]
    Namespace {
        op: &'static str,
        netns: &'static str,
        #[source]
        source: io::Error,
    },

    /// The kernel (or the netlink layer) rejected a request. `source` carries
    /// the errno when the kernel answered with one (e.g. `EEXIST`).
    #[error("{op} `{target}` in the {netns} netns: {source}")]
    Netlink {
        op: &'static str,
        target: String,
        netns: &'static str,
        #[source]
        source: io::Error,
    },

    /// An interface that should exist was not reported by the kernel.
    #[error("{op}: interface `{name}` not found in the {netns} netns")]
    LinkNotFound { op: &'static str, name: String, netns: &'static str },

    /// The netlink connection ended while a request was outstanding.
    #[error("{op}: netlink connection to the {netns} netns closed unexpectedly")]
    ConnectionClosed { op: &'static str, netns: &'static str },
}

/// Turns an rtnetlink error into an `io::Error`, keeping the kernel errno.
fn to_io(err: rtnetlink::Error) -> io::Error {
    match err {
        rtnetlink::Error::NetlinkError(msg) => msg.to_io(),
        other => io::Error::other(other.to_string()),
    }
}

fn nl_err(op: &'static str, target: impl Into<String>, netns: &'static str) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let target = target.into();
    move |e| NetError::Netlink { op, target, netns, source: to_io(e) }
}

fn is_enodev(err: &NetError) -> bool {
    matches!(err, NetError::Netlink { source, .. } if source.raw_os_error() == Some(ENODEV))
}

fn check_ifname(op: &'static str, netns: &'static str, name: &str) -> Result<(), NetError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_IFNAME_LEN {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved name")
    } else if name.bytes().any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace()) {
        Some("contains '/', ':', NUL or whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NetError::InvalidName { op, netns, name: name.to_string(), reason }),
        None => Ok(()),
    }
}

/// A netlink connection being opened inside another netns by a helper thread.
struct PendingConnection {
    op: &'static str,
    netns: &'static str,
    rx: oneshot::Receiver<io::Result<(RtConnection, Handle)>>,
}

impl PendingConnection {
    /// Starts opening a netlink socket inside `netns_fd` (an fd of a
    /// `/proc/<pid>/ns/net`). Returns at once; the socket is created on a
    /// short-lived thread that enters the namespace, so the calling thread's
    /// namespace is never touched.
    fn start(netns_fd: BorrowedFd<'_>, op: &'static str, netns: &'static str) -> Result<Self, NetError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::NoRuntime { op })?;
        let ns_err = |source| NetError::Namespace { op, netns, source };
        // The thread outlives this borrow, so it gets its own descriptor.
        let fd: OwnedFd = netns_fd.try_clone_to_owned().map_err(ns_err)?;
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("podspec-netns".to_string())
            .spawn(move || {
                let result = (|| {
                    setns(&fd, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                    drop(fd);
                    // Registers the socket with the caller's tokio reactor.
                    let _enter = runtime.enter();
                    let (connection, handle, _unsolicited) = rtnetlink::new_connection()?;
                    Ok((connection, handle))
                })();
                // If the receiver is gone the connection is simply dropped.
                let _ = tx.send(result);
            })
            .map_err(ns_err)?;
        Ok(Self { op, netns, rx })
    }

    async fn wait(self) -> Result<(RtConnection, Handle), NetError> {
        let Self { op, netns, rx } = self;
        match rx.await {
            Ok(Ok(pair)) => Ok(pair),
            Ok(Err(source)) => Err(NetError::Namespace { op, netns, source }),
            Err(_canceled) => Err(NetError::Namespace { op, netns, source: io::Error::other("netns helper thread died") }),
        }
    }
}

/// Runs `work` while driving `connection` on the current task, so that the
/// socket is closed as soon as `work` is done (no background task is left).
async fn drive<T>(
    connection: RtConnection,
    work: impl Future<Output = Result<T, NetError>>,
    op: &'static str,
    netns: &'static str,
) -> Result<T, NetError> {
    let work = std::pin::pin!(work);
    let connection = std::pin::pin!(connection);
    match future::select(work, connection).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(NetError::ConnectionClosed { op, netns }),
    }
}

/// Sets link `index` up (`ip link set dev X up`).
async fn link_up(handle: &Handle, index: u32) -> Result<(), rtnetlink::Error> {
    handle.link().change(LinkUnspec::new_with_index(index).up().build()).execute().await
}

/// Looks a link up by name; `Ok(None)` if it does not exist.
async fn link_by_name(handle: &Handle, name: &str) -> Result<Option<LinkMessage>, rtnetlink::Error> {
    let mut links = handle.link().get().match_name(name).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(rtnetlink::Error::NetlinkError(msg)) if msg.raw_code().abs() == ENODEV => Ok(None),
        Err(e) => Err(e),
    }
}

/// The node network: a bridge inside a node network namespace that podspec created.
pub struct NodeNetwork {
    /// rtnetlink handle whose socket lives in the node netns.
    handle: Handle,
    /// Task driving the node netns connection; aborted on drop.
    connection_task: tokio::task::JoinHandle<()>,
    bridge_name: String,
    bridge_index: u32,
    gateway: Ipv4Addr,
    prefix_len: u8,
}

impl std::fmt::Debug for NodeNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeNetwork")
            .field("bridge_name", &self.bridge_name)
            .field("bridge_index", &self.bridge_index)
            .field("gateway", &self.gateway)
            .field("prefix_len", &self.prefix_len)
            .finish_non_exhaustive()
    }
}

impl Drop for NodeNetwork {
    fn drop(&mut self) {
        self.connection_task.abort();
    }
}

impl NodeNetwork {
    /// `node_netns` is an fd of /proc/<pid>/ns/net of a process that podspec started in a fresh network namespace.
    /// Brings `lo` up there, creates bridge `bridge_name` with address `gateway`/`prefix_len` and brings it up.
    pub async fn setup(node_netns: BorrowedFd<'_>, bridge_name: &str, gateway: Ipv4Addr, prefix_len: u8) -> Result<Self, NetError> {
        const OP: &str = "set up node network";
        const NS: &str = "node";
        check_ifname(OP, NS, bridge_name)?;
        let (connection, handle) = PendingConnection::start(node_netns, OP, NS)?.wait().await?;
        let connection_task = tokio::spawn(connection);
        // From here on, dropping `this` (on error) stops the connection task.
        let mut this = NodeNetwork { handle, connection_task, bridge_name: bridge_name.to_string(), bridge_index: 0, gateway, prefix_len };
        let handle = &this.handle;

        link_up(handle, LOOPBACK_IFINDEX).await.map_err(nl_err("bring up", "lo", NS))?;
        handle
            .link()
            .add(LinkBridge::new(bridge_name).build()) // `LinkBridge::new` sets IFF_UP
            .execute()
            .await
            .map_err(nl_err("create bridge", bridge_name, NS))?;
        let bridge = link_by_name(handle, bridge_name)
            .await
            .map_err(nl_err("look up bridge", bridge_name, NS))?
            .ok_or_else(|| NetError::LinkNotFound { op: "look up bridge", name: bridge_name.to_string(), netns: NS })?;
        let bridge_index = bridge.header.index;
        handle.address().add(bridge_index, IpAddr::V4(gateway), prefix_len).execute().await.map_err(nl_err(
            "add gateway address to bridge",
            format!("{bridge_name} {gateway}/{prefix_len}"),
            NS,
        ))?;
        if !bridge.header.flags.contains(LinkFlags::Up) {
            link_up(handle, bridge_index).await.map_err(nl_err("bring up bridge", bridge_name, NS))?;
        }
        this.bridge_index = bridge_index;
        tracing::debug!(bridge = bridge_name, bridge_index, %gateway, prefix_len, "node network ready");
        Ok(this)
    }

    /// Creates a veth pair: `host_if` stays in the node netns, attached to the bridge and up;
    /// its peer is moved into `pod_netns` (an fd of /proc/<pid>/ns/net of the pod's sandbox process) and is named `eth0` there,
    /// gets `ip`/prefix_len, is brought up together with the pod's `lo`, and a default route via the gateway is added in the pod netns.
    pub async fn attach_pod(&self, pod_netns: BorrowedFd<'_>, host_if: &str, ip: Ipv4Addr) -> Result<(), NetError> {
        const OP: &str = "attach pod";
        let started = Instant::now();
        check_ifname(OP, "node", host_if)?;
        if host_if == self.bridge_name {
            return Err(NetError::InvalidName { op: OP, netns: "node", name: host_if.to_string(), reason: "is the node bridge" });
        }

        // Open the pod-side socket on a helper thread while the node side
        // creates the veth pair.
        let pending = PendingConnection::start(pod_netns, OP, "pod")?;

        // One RTM_NEWLINK: host end named `host_if`, enslaved to the bridge
        // and up; the peer is created directly in the pod netns (by fd) as
        // `eth0`. The fd is resolved by the kernel in this process's fd table
        // while handling the request. The peer cannot be set up here: the
        // kernel opens it before the pair is linked and veth_open() then
        // fails with ENOTCONN, so eth0 is brought up from the pod side.
        let peer = LinkUnspec::new_with_name(POD_IFNAME).setns_by_fd(pod_netns.as_raw_fd()).build();
        let veth = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(host_if)
            .controller(self.bridge_index)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        self.handle.link().add(veth).execute().await.map_err(nl_err(
            "create veth pair",
            format!("{host_if} (node) <-> {POD_IFNAME} (pod)"),
            "node",
        ))?;

        // The veth exists now: undo it if the pod side cannot be configured.
        let result = async {
            let (connection, pod) = pending.wait().await?;
            drive(connection, self.configure_pod(&pod, host_if, ip), OP, "pod").await
        }
        .await;
        if let Err(err) = result {
            if let Err(cleanup) = self.delete_link(host_if).await {
                tracing::warn!(host_if, error = %cleanup, "could not remove veth after failed attach");
            }
            return Err(err);
        }
        tracing::debug!(
            host_if,
            %ip,
            elapsed_us = started.elapsed().as_micros() as u64,
            "pod attached"
        );
        Ok(())
    }

    /// Pod-side configuration: lo up, eth0 up with its address, default route.
    async fn configure_pod(&self, pod: &Handle, host_if: &str, ip: Ipv4Addr) -> Result<(), NetError> {
        const NS: &str = "pod";
        let eth0_target = || format!("{POD_IFNAME} (peer of {host_if})");
        // Both requests go out on the same socket; the kernel handles them in order.
        let (lo, eth0) = futures::join!(link_up(pod, LOOPBACK_IFINDEX), link_by_name(pod, POD_IFNAME));
        lo.map_err(nl_err("bring up", format!("lo (pod of {host_if})"), NS))?;
        let eth0 = eth0.map_err(nl_err("look up", eth0_target(), NS))?.ok_or_else(|| NetError::LinkNotFound {
            op: "look up pod interface",
            name: eth0_target(),
            netns: NS,
        })?;
        let index = eth0.header.index;
        if !eth0.header.flags.contains(LinkFlags::Up) {
            link_up(pod, index).await.map_err(nl_err("bring up", eth0_target(), NS))?;
        }
        pod.address().add(index, IpAddr::V4(ip), self.prefix_len).execute().await.map_err(nl_err(
            "add address",
            format!("{} {ip}/{}", eth0_target(), self.prefix_len),
            NS,
        ))?;
        pod.route()
            .add(RouteMessageBuilder::<Ipv4Addr>::new().gateway(self.gateway).output_interface(index).build())
            .execute()
            .await
            .map_err(nl_err("add default route", format!("via {} dev {}", self.gateway, eth0_target()), NS))?;
        Ok(())
    }

    /// Deletes `host_if` (and so its peer) if it still exists; missing is not an error.
    pub async fn detach_pod(&self, host_if: &str) -> Result<(), NetError> {
        check_ifname("detach pod", "node", host_if)?;
        if host_if == self.bridge_name {
            return Err(NetError::InvalidName { op: "detach pod", netns: "node", name: host_if.to_string(), reason: "is the node bridge" });
        }
        self.delete_link(host_if).await
    }

    /// Deletes a link of the node netns by name; a missing link is fine.
    async fn delete_link(&self, name: &str) -> Result<(), NetError> {
        // RTM_DELLINK with index 0 and IFLA_IFNAME: the kernel looks it up by name.
        let result = self.handle.link().del_with_message(LinkUnspec::new_with_name(name).build()).execute().await.map_err(nl_err(
            "delete interface",
            name,
            "node",
        ));
        match result {
            Err(e) if is_enodev(&e) => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    /// A `sleep` process in a fresh network namespace; killed (by PID) on drop.
    struct NsProc {
        child: Child,
        ns: File,
    }

    impl NsProc {
        fn new() -> NsProc {
            let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
            let child = Command::new("unshare").args(["--net", "sleep", "120"]).stdin(Stdio::null()).spawn().expect("spawn unshare");
            let pid = child.id();
            // `unshare` calls unshare(2) and then execs; wait until the
            // process really is in another netns, never hand out the host's.
            let link = format!("/proc/{pid}/ns/net");
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut guard = NsProc { child, ns: File::open("/dev/null").unwrap() };
            loop {
                if let Ok(target) = std::fs::read_link(&link) {
                    if target != host_ns {
                        break;
                    }
                }
                assert!(Instant::now() < deadline, "unshare never left the host netns");
                std::thread::sleep(Duration::from_micros(200));
            }
            let ns = File::open(&link).unwrap();
            // Re-check through the opened fd itself.
            let opened = std::fs::read_link(format!("/proc/self/fd/{}", ns.as_raw_fd())).unwrap();
            assert_ne!(opened, host_ns, "refusing to use the host netns");
            guard.ns = ns;
            guard
        }

        fn fd(&self) -> BorrowedFd<'_> {
            self.ns.as_fd()
        }

        fn pid(&self) -> u32 {
            self.child.id()
        }

        /// Runs a command inside this netns and returns (success, stdout).
        fn run(&self, args: &[&str]) -> (bool, String) {
            let out = Command::new("nsenter").arg(format!("--net=/proc/{}/ns/net", self.pid())).args(args).output().expect("nsenter");
            (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
        }

        fn ip(&self, args: &[&str]) -> String {
            let mut full = vec!["ip"];
            full.extend_from_slice(args);
            let (ok, out) = self.run(&full);
            assert!(ok, "ip {args:?} failed: {out}");
            out
        }

        /// Runs `f` on a thread that entered this netns.
        fn in_ns<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
            let fd = self.ns.as_fd().try_clone_to_owned().unwrap();
            std::thread::spawn(move || {
                setns(&fd, CloneFlags::CLONE_NEWNET).expect("setns");
                f()
            })
        }
    }

    impl Drop for NsProc {
        fn drop(&mut self) {
            let _ = self.child.kill(); // kill(pid, SIGKILL)
            let _ = self.child.wait();
        }
    }

    const GW: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 1);
    const PREFIX: u8 = 24;

    async fn node(ns: &NsProc) -> NodeNetwork {
        NodeNetwork::setup(ns.fd(), "psbr0", GW, PREFIX).await.expect("setup")
    }

    #[tokio::test]
    async fn setup_creates_bridge_with_gateway() {
        let node_ns = NsProc::new();
        let net = node(&node_ns).await;
        assert!(net.bridge_index > 0);

        let addrs = node_ns.ip(&["-o", "-4", "addr", "show", "dev", "psbr0"]);
        assert!(addrs.contains("inet 10.88.0.1/24"), "{addrs}");
        let link = node_ns.ip(&["-o", "link", "show", "dev", "psbr0"]);
        assert!(link.contains("<") && link.contains(",UP"), "bridge not up: {link}");
        let lo = node_ns.ip(&["-o", "link", "show", "dev", "lo"]);
        assert!(lo.contains(",UP"), "lo not up: {lo}");
        let details = node_ns.ip(&["-d", "link", "show", "dev", "psbr0"]);
        assert!(details.contains("bridge"), "{details}");

        // A second bridge of the same name is a named error.
        let err = NodeNetwork::setup(node_ns.fd(), "psbr0", GW, PREFIX).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("create bridge") && msg.contains("psbr0"), "{msg}");
        assert!(
            matches!(&err, NetError::Netlink { source, .. } if source.raw_os_error() == Some(nix::errno::Errno::EEXIST as i32)),
            "{err:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_pods_talk_over_the_bridge() {
        let node_ns = NsProc::new();
        let pod_a = NsProc::new();
        let pod_b = NsProc::new();
        let net = node(&node_ns).await;
        let ip_a = Ipv4Addr::new(10, 88, 0, 10);
        let ip_b = Ipv4Addr::new(10, 88, 0, 11);
        net.attach_pod(pod_a.fd(), "vethpa", ip_a).await.expect("attach a");
        net.attach_pod(pod_b.fd(), "vethpb", ip_b).await.expect("attach b");

        for (pod, ip) in [(&pod_a, ip_a), (&pod_b, ip_b)] {
            let addrs = pod.ip(&["-o", "-4", "addr", "show"]);
            let want = format!("inet {ip}/24");
            assert!(addrs.lines().any(|l| l.split_whitespace().nth(1) == Some("eth0") && l.contains(&want)), "eth0 lacks {want}: {addrs}");
            assert!(addrs.contains("lo") && addrs.contains("inet 127.0.0.1/8"), "lo has no address/up: {addrs}");
            let lo = pod.ip(&["-o", "link", "show", "dev", "lo"]);
            assert!(lo.contains(",UP"), "{lo}");
            let eth0 = pod.ip(&["-o", "link", "show", "dev", "eth0"]);
            assert!(eth0.contains(",UP") && eth0.contains("LOWER_UP"), "{eth0}");
            let routes = pod.ip(&["-4", "route", "show"]);
            assert!(routes.contains("default via 10.88.0.1 dev eth0"), "{routes}");
        }
        for host_if in ["vethpa", "vethpb"] {
            let link = node_ns.ip(&["-o", "link", "show", "dev", host_if]);
            assert!(link.contains("master psbr0") && link.contains(",UP"), "{link}");
        }

        // TCP: a listener in pod B on B's IP, a client in pod A.
        let listener = pod_b.in_ns(move || TcpListener::bind((ip_b, 8080)).expect("bind in pod b")).join().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, peer) = listener.accept().unwrap();
            conn.write_all(b"hello from b").unwrap();
            peer
        });
        let reply = pod_a
            .in_ns(move || {
                let addr = SocketAddr::from((ip_b, 8080));
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).expect("connect a->b");
                let mut buf = String::new();
                s.read_to_string(&mut buf).unwrap();
                buf
            })
            .join()
            .unwrap();
        assert_eq!(reply, "hello from b");
        let peer = server.join().unwrap();
        assert_eq!(peer.ip(), IpAddr::V4(ip_a), "connection must come from pod A's IP");

        // The gateway (bridge address in the node netns) answers pings.
        let (ok, out) = pod_a.run(&["busybox", "ping", "-c1", "-W1", "10.88.0.1"]);
        assert!(ok, "ping gateway from pod a: {out}");
        let (ok, out) = pod_b.run(&["busybox", "ping", "-c1", "-W1", "10.88.0.10"]);
        assert!(ok, "ping pod a from pod b: {out}");
    }

    #[tokio::test]
    async fn detach_removes_veth_and_tolerates_missing() {
        let node_ns = NsProc::new();
        let pod = NsProc::new();
        let net = node(&node_ns).await;
        net.attach_pod(pod.fd(), "vethdet", Ipv4Addr::new(10, 88, 0, 20)).await.expect("attach");
        assert!(node_ns.ip(&["-o", "link"]).contains("vethdet"));

        net.detach_pod("vethdet").await.expect("detach");
        let links = node_ns.ip(&["-o", "link"]);
        assert!(!links.contains("vethdet"), "{links}");
        let pod_links = pod.ip(&["-o", "link"]);
        assert!(!pod_links.contains("eth0"), "peer must be gone too: {pod_links}");

        net.detach_pod("vethdet").await.expect("second detach is Ok");
        net.detach_pod("neverexisted").await.expect("detach of missing is Ok");

        // The pod netns can be attached again after a detach.
        net.attach_pod(pod.fd(), "vethdet", Ipv4Addr::new(10, 88, 0, 20)).await.expect("re-attach");
        assert!(pod.ip(&["-o", "-4", "addr"]).contains("10.88.0.20/24"));
    }

    #[tokio::test]
    async fn errors_name_the_interface_and_operation() {
        let node_ns = NsProc::new();
        let pod_a = NsProc::new();
        let pod_b = NsProc::new();
        let net = node(&node_ns).await;
        net.attach_pod(pod_a.fd(), "vethdup", Ipv4Addr::new(10, 88, 0, 30)).await.expect("attach");

        // Duplicate host_if.
        let err = net.attach_pod(pod_b.fd(), "vethdup", Ipv4Addr::new(10, 88, 0, 31)).await.unwrap_err();
        let msg = err.to_string();
        println!("duplicate host_if: {msg}");
        assert!(msg.contains("vethdup") && msg.contains("create veth pair"), "{msg}");
        assert!(msg.contains("File exists"), "{msg}");
        // The existing pod was not disturbed, and nothing leaked into pod B.
        assert!(pod_a.ip(&["-o", "-4", "addr"]).contains("10.88.0.30/24"));
        assert!(!pod_b.ip(&["-o", "link"]).contains("eth0"));

        // A second attach into the same pod: eth0 already exists there.
        let err = net.attach_pod(pod_a.fd(), "vethdup2", Ipv4Addr::new(10, 88, 0, 32)).await.unwrap_err();
        let msg = err.to_string();
        println!("eth0 exists in pod: {msg}");
        assert!(msg.contains("vethdup2"), "{msg}");
        assert!(!node_ns.ip(&["-o", "link"]).contains("vethdup2"), "no leftover host end");

        // A fd that is not a network namespace.
        let not_ns = File::open("/dev/null").unwrap();
        let err = net.attach_pod(not_ns.as_fd(), "vethbad", Ipv4Addr::new(10, 88, 0, 33)).await.unwrap_err();
        let msg = err.to_string();
        println!("bad fd: {msg}");
        assert!(msg.contains("vethbad") || msg.contains("pod netns"), "{msg}");
        assert!(!node_ns.ip(&["-o", "link"]).contains("vethbad"), "no leftover host end");

        // Invalid names are refused before reaching the kernel.
        let err = net.attach_pod(pod_b.fd(), "a-name-much-too-long", Ipv4Addr::new(10, 88, 0, 34)).await.unwrap_err();
        assert!(matches!(err, NetError::InvalidName { .. }), "{err:?}");
        assert!(err.to_string().contains("a-name-much-too-long"), "{err}");

        // Bad node netns fd for setup.
        let err = NodeNetwork::setup(not_ns.as_fd(), "psbr1", GW, PREFIX).await.unwrap_err();
        let msg = err.to_string();
        println!("bad node fd: {msg}");
        assert!(msg.contains("node netns") && msg.contains("set up node network"), "{msg}");

        // Pod B is still attachable after all these failures.
        net.attach_pod(pod_b.fd(), "vethok", Ipv4Addr::new(10, 88, 0, 35)).await.expect("attach b");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn attach_pod_timing() {
        const RUNS: usize = 50;
        let node_ns = NsProc::new();
        let net = node(&node_ns).await;
        let pods: Vec<NsProc> = (0..RUNS).map(|_| NsProc::new()).collect();
        let mut attach = Vec::with_capacity(RUNS);
        for (i, pod) in pods.iter().enumerate() {
            let t = Instant::now();
            net.attach_pod(pod.fd(), &format!("vethb{i}"), Ipv4Addr::new(10, 88, 0, i as u8 + 100)).await.expect("attach");
            attach.push(t.elapsed());
        }
        let mut detach = Vec::with_capacity(RUNS);
        for i in 0..RUNS {
            let t = Instant::now();
            net.detach_pod(&format!("vethb{i}")).await.expect("detach");
            detach.push(t.elapsed());
        }
        attach.sort();
        detach.sort();
        println!(
            "attach_pod over {RUNS} runs: median {:?}, min {:?}, p90 {:?}, max {:?}",
            attach[RUNS / 2],
            attach[0],
            attach[RUNS * 9 / 10],
            attach[RUNS - 1]
        );
        println!("detach_pod over {RUNS} runs: median {:?}, min {:?}, max {:?}", detach[RUNS / 2], detach[0], detach[RUNS - 1]);
    }
}
