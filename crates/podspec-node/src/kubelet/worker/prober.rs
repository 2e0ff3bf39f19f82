//! The kubelet's prober (pkg/kubelet/prober): one task per probe of a running container
//! instance. Liveness and startup probes that fail `failureThreshold` times in a row kill the
//! container, which the restart policy then brings back (or not); a readiness probe only sets
//! the container's `ready`; a startup probe holds the other two off until it succeeds. The
//! handlers (exec, httpGet, tcpSocket) are shared with the lifecycle hooks (`hooks.rs`); gRPC
//! (the standard grpc.health.v1 service) is the probes' own.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ExecAction, GRPCAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::task::AbortHandle;

use super::PodWorker;
use podspec_api::events::{NORMAL, WARNING};
use podspec_cri::cri::{ContainerId, RuntimeError};

/// The kubelet's User-Agent for probes (`kube-probe/<major>.<minor>`).
const PROBE_USER_AGENT: &str = "kube-probe/1.32";

/// Why a probe or a hook's handler failed: what the kubelet reports as the probe's output
/// (pkg/probe's texts), the cause kept as the source where there is one.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProbeError {
    /// An exec handler's command exited non-zero: its output, as the kubelet reports it.
    #[error("{0}")]
    Output(String),
    #[error("command {0:?} timed out")]
    ExecTimedOut(String),
    #[error(transparent)]
    Exec(RuntimeError),
    #[error("the probe has no handler the node runs")]
    NoHandler,
    #[error("invalid port number: {0}")]
    InvalidPort(i32),
    #[error("couldn't find port: {port} in {container}")]
    NoNamedPort { port: String, container: String },
    #[error("dial tcp: lookup {host}: {source}")]
    Lookup {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("dial tcp: lookup {0}: no such host")]
    NoSuchHost(String),
    #[error("the pod has no IP")]
    NoPodIp,
    #[error("dial tcp {addr}: {}", dial_reason(.source))]
    Dial {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The connection made could not be handed to the client.
    #[error("dial tcp {addr}: {source}")]
    Socket {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTP probe failed with statuscode: {0}")]
    Status(u16),
    #[error("scheme {0}: the node's probes speak HTTP only")]
    Scheme(String),
    /// The GET failed; the source is the dial's, the HTTP client's or the request's error.
    #[error("Get {url:?}: {source}")]
    Get {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("Get {0:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)")]
    GetDeadline(String),
    #[error("error: failed to connect service at {addr:?}: {source}")]
    GrpcDial {
        addr: String,
        #[source]
        source: Box<ProbeError>,
    },
    #[error("error: failed to connect service at {addr:?}: {source}")]
    GrpcEndpoint {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The channel could not connect: the transport's error and each of its causes.
    #[error("error: failed to connect service at {addr:?}: {}", with_causes(.source))]
    GrpcConnect {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("service unhealthy (responded with {0:?})")]
    Unhealthy(&'static str),
    #[error("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {}", .0.message())]
    GrpcUnimplemented(tonic::Status),
    #[error("error: health rpc probe failed: rpc error: code = {:?} desc = {}", .0.code(), .0.message())]
    GrpcFailed(tonic::Status),
    #[error("timeout: health rpc did not complete within {0:?}")]
    GrpcDeadline(Duration),
}

/// Why a dial failed, in Go's words for the common cases.
fn dial_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "i/o timeout".to_string(),
        _ => e.to_string(),
    }
}

/// An error's text followed by each of its causes', `: `-joined.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
/// The most of a response body the kubelet reads (pkg/probe/http: 10 KiB).
const MAX_BODY: usize = 10 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    fn title(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }

    fn lower(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        }
    }
}

/// What the probes of a container instance found so far (reset with each new instance).
/// `None`: the container has no such probe (it counts as passed).
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::kubelet) struct ProbeResults {
    pub started: Option<bool>,
    pub ready: Option<bool>,
}

impl ProbeResults {
    /// Fresh results for a new instance of `c`: not started while it has a startup probe, not
    /// ready while it has a readiness probe.
    pub fn for_container(c: &Container) -> Self {
        Self { started: c.startup_probe.as_ref().map(|_| false), ready: c.readiness_probe.as_ref().map(|_| false) }
    }

    pub fn started(&self) -> bool {
        self.started.unwrap_or(true)
    }

    pub fn ready(&self) -> bool {
        self.started() && self.ready.unwrap_or(true)
    }
}

/// The probe tasks of a pod's containers, by container name.
#[derive(Debug, Default)]
pub(in crate::kubelet) struct ProbeTasks(Mutex<HashMap<String, Vec<(ProbeKind, AbortHandle)>>>);

impl ProbeTasks {
    /// Ends the probes of one container.
    pub fn stop(&self, container: &str) {
        for (_, t) in self.0.lock().unwrap().remove(container).into_iter().flatten() {
            t.abort();
        }
    }

    /// Ends the liveness and startup probes of every container (the pod is stopping; its
    /// readiness probes go on).
    pub fn stop_liveness_and_startup(&self) {
        for tasks in self.0.lock().unwrap().values_mut() {
            tasks.retain(|(kind, t)| {
                let keep = *kind == ProbeKind::Readiness;
                if !keep {
                    t.abort();
                }
                keep
            });
        }
    }

    /// Ends every probe of the pod.
    pub fn stop_all(&self) {
        for (_, tasks) in self.0.lock().unwrap().drain() {
            for (_, t) in tasks {
                t.abort();
            }
        }
    }
}

/// Starts the probes of a container instance that just started (ending those of the instance
/// before it).
pub(super) fn start(w: &Arc<PodWorker>, c: &Container, id: &ContainerId) {
    w.probes.stop(&c.name);
    let mut tasks = Vec::new();
    for (kind, probe) in
        [(ProbeKind::Startup, &c.startup_probe), (ProbeKind::Liveness, &c.liveness_probe), (ProbeKind::Readiness, &c.readiness_probe)]
    {
        let Some(probe) = probe.clone() else { continue };
        let task = tokio::spawn(run(Arc::downgrade(w), c.name.clone(), id.clone(), kind, probe));
        tasks.push((kind, task.abort_handle()));
    }
    if !tasks.is_empty() {
        w.probes.0.lock().unwrap().insert(c.name.clone(), tasks);
    }
}

fn secs(v: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(v.filter(|s| *s > 0).unwrap_or(default) as u64)
}

/// One probe of one container instance, until that instance is no longer the current one.
async fn run(w: Weak<PodWorker>, name: String, id: ContainerId, kind: ProbeKind, probe: Probe) {
    let period = secs(probe.period_seconds, 10);
    let timeout = secs(probe.timeout_seconds, 1);
    let success_threshold = probe.success_threshold.filter(|n| *n > 0).unwrap_or(1) as u32;
    let failure_threshold = probe.failure_threshold.filter(|n| *n > 0).unwrap_or(3) as u32;
    let initial_delay = Duration::from_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64);
    tokio::time::sleep(initial_delay).await;
    let (mut successes, mut failures) = (0u32, 0u32);
    loop {
        let Some(worker) = w.upgrade() else { return };
        let Some(results) = worker.probe_results(&name, &id) else { return };
        let deleting = worker.pod().metadata.deletion_timestamp.is_some();
        // A pod being deleted is no longer probed for liveness (its containers are on their way
        // out); readiness goes on (pkg/kubelet/prober/worker.go doProbe).
        if deleting && kind != ProbeKind::Readiness {
            return;
        }
        // The startup probe holds the others off until it succeeds; once it has, it stops.
        let gated = kind != ProbeKind::Startup && !results.started();
        if kind == ProbeKind::Startup && results.started() {
            return;
        }
        if !gated {
            let outcome = probe_once(&worker, &name, &id, &probe, timeout).await;
            match outcome {
                Ok(()) => {
                    failures = 0;
                    successes += 1;
                    if successes >= success_threshold {
                        match kind {
                            ProbeKind::Readiness => worker.set_probe_result(&name, &id, |r| r.ready = Some(true)),
                            ProbeKind::Startup => worker.set_probe_result(&name, &id, |r| r.started = Some(true)),
                            ProbeKind::Liveness => {}
                        }
                    }
                }
                Err(output) => {
                    successes = 0;
                    failures += 1;
                    worker.container_event(&name, WARNING, "Unhealthy", &format!("{} probe failed: {output}", kind.title()));
                    if failures >= failure_threshold {
                        match kind {
                            ProbeKind::Readiness => worker.set_probe_result(&name, &id, |r| r.ready = Some(false)),
                            ProbeKind::Liveness | ProbeKind::Startup => {
                                let message = format!("Container {name} failed {} probe, will be restarted", kind.lower());
                                worker.container_event(&name, NORMAL, "Killing", &message);
                                let grace = probe.termination_grace_period_seconds.map(|s| Duration::from_secs(s.max(0) as u64));
                                worker.kill_for_probe(&name, &id, grace).await;
                                return;
                            }
                        }
                    }
                }
            }
        }
        drop(worker);
        tokio::time::sleep(period).await;
    }
}

/// Runs a probe's handler once: `Err` carries what the kubelet reports as the probe's output.
async fn probe_once(w: &PodWorker, name: &str, id: &ContainerId, probe: &Probe, timeout: Duration) -> Result<(), ProbeError> {
    if let Some(exec) = &probe.exec {
        return exec_handler(w, id, exec, timeout).await;
    }
    if let Some(http) = &probe.http_get {
        return http_get(w, name, http, timeout).await.map(|_| ());
    }
    if let Some(tcp) = &probe.tcp_socket {
        return tcp_socket(w, name, tcp, timeout).await;
    }
    if let Some(grpc) = &probe.grpc {
        return grpc_check(w, grpc, timeout).await;
    }
    // Validation refuses a probe with no handler.
    Err(ProbeError::NoHandler)
}

/// A gRPC probe (pkg/probe/grpc): the standard health service's `Check` for `service` (empty
/// by default) on the pod's IP, over plaintext HTTP/2 from the node, bounded by `timeout`;
/// only SERVING succeeds. The failure texts are the kubelet's.
async fn grpc_check(w: &PodWorker, grpc: &GRPCAction, timeout: Duration) -> Result<(), ProbeError> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let port = u16::try_from(grpc.port).ok().filter(|p| *p > 0).ok_or(ProbeError::InvalidPort(grpc.port))?;
    let addr = target(w, None, port).await?;
    let service = grpc.service.clone().unwrap_or_default();
    let endpoint_failed = |source| ProbeError::GrpcEndpoint { addr: addr.to_string(), source };
    let attempt = async {
        let stream =
            connect(w, addr, timeout).await.map_err(|e| ProbeError::GrpcDial { addr: addr.to_string(), source: Box::new(e) })?;
        // The channel dials through its connector: hand it the connection made from the node.
        let stream = Arc::new(Mutex::new(Some(stream)));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(endpoint_failed)?
            .user_agent(PROBE_USER_AGENT)
            .map_err(endpoint_failed)?
            .connect_with_connector(tower::service_fn(move |_: http::Uri| {
                let stream = stream.lock().unwrap().take();
                async move {
                    stream.map(hyper_util::rt::TokioIo::new).ok_or_else(|| std::io::Error::other("the probe's one connection is closed"))
                }
            }))
            .await
            .map_err(|source| ProbeError::GrpcConnect { addr: addr.to_string(), source })?;
        let reply = HealthClient::new(channel).check(HealthCheckRequest { service }).await;
        match reply {
            Ok(r) => match r.into_inner().status() {
                ServingStatus::Serving => Ok(()),
                other => Err(ProbeError::Unhealthy(other.as_str_name())),
            },
            Err(s) if s.code() == tonic::Code::Unimplemented => Err(ProbeError::GrpcUnimplemented(s)),
            Err(s) => Err(ProbeError::GrpcFailed(s)),
        }
    };
    tokio::time::timeout(timeout, attempt).await.map_err(|_| ProbeError::GrpcDeadline(timeout))?
}

/// An exec handler through the runtime's exec, bounded by `timeout`: a non-zero exit fails
/// with the command's output.
pub(super) async fn exec_handler(w: &PodWorker, id: &ContainerId, exec: &ExecAction, timeout: Duration) -> Result<(), ProbeError> {
    let cmd = exec.command.clone().unwrap_or_default();
    match w.node.runtime.exec_sync(id, &cmd, timeout).await {
        Ok(r) if r.exit_code == 0 => Ok(()),
        Ok(r) => {
            let mut out = r.stdout;
            out.extend_from_slice(&r.stderr);
            Err(ProbeError::Output(String::from_utf8_lossy(&out).into_owned()))
        }
        Err(RuntimeError::Timeout { .. }) => Err(ProbeError::ExecTimedOut(cmd.join(" "))),
        Err(e) => Err(ProbeError::Exec(e)),
    }
}

/// A port by number, or by the name of one of the container's ports.
fn resolve_port(w: &PodWorker, container: &str, port: &IntOrString) -> Result<u16, ProbeError> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok().filter(|p| *p > 0).ok_or(ProbeError::InvalidPort(*n)),
        IntOrString::String(s) => {
            if let Ok(n) = s.parse::<u16>() {
                return Ok(n);
            }
            let pod = w.pod();
            let spec = pod.spec.as_ref();
            let c = spec.and_then(|s| s.init_containers.iter().flatten().chain(s.containers.iter()).find(|c| c.name == container).cloned());
            c.and_then(|c| c.ports.into_iter().flatten().find(|p| p.name.as_deref() == Some(s.as_str())).map(|p| p.container_port as u16))
                .ok_or_else(|| ProbeError::NoNamedPort { port: s.clone(), container: container.into() })
        }
    }
}

/// The address a handler reaches: its `host`, or the pod's IP.
async fn target(w: &PodWorker, host: Option<&str>, port: u16) -> Result<SocketAddr, ProbeError> {
    match host.filter(|h| !h.is_empty()) {
        Some(h) => match h.parse::<IpAddr>() {
            Ok(ip) => Ok(SocketAddr::new(ip, port)),
            Err(_) => tokio::net::lookup_host((h, port))
                .await
                .map_err(|source| ProbeError::Lookup { host: h.into(), source })?
                .next()
                .ok_or_else(|| ProbeError::NoSuchHost(h.into())),
        },
        None => {
            let ip = w.state.lock().unwrap().pod_ip.ok_or(ProbeError::NoPodIp)?;
            Ok(SocketAddr::new(IpAddr::V4(ip), port))
        }
    }
}

async fn connect(w: &PodWorker, addr: SocketAddr, timeout: Duration) -> Result<tokio::net::TcpStream, ProbeError> {
    let dial = |source| ProbeError::Dial { addr, source };
    let stream = w.node.runtime.connect_from_node(addr, timeout).await.map_err(dial)?;
    let socket = |source| ProbeError::Socket { addr, source };
    stream.set_nonblocking(true).map_err(socket)?;
    tokio::net::TcpStream::from_std(stream).map_err(socket)
}

/// A tcpSocket handler: the port accepts a connection within `timeout`.
pub(super) async fn tcp_socket(w: &PodWorker, container: &str, tcp: &TCPSocketAction, timeout: Duration) -> Result<(), ProbeError> {
    let port = resolve_port(w, container, &tcp.port)?;
    let addr = target(w, tcp.host.as_deref(), port).await?;
    connect(w, addr, timeout).await.map(drop)
}

/// An httpGet probe: a GET from the node; a status from 200 to 399 succeeds (a redirect is
/// not followed: it counts as success, as the kubelet counts a redirect off the pod). Returns
/// the status code.
pub(super) async fn http_get(w: &PodWorker, container: &str, http: &HTTPGetAction, timeout: Duration) -> Result<u16, ProbeError> {
    let code = http_status(w, container, http, timeout).await?;
    if (200..400).contains(&code) {
        Ok(code)
    } else {
        Err(ProbeError::Status(code))
    }
}

/// A GET from the node as an httpGet handler describes it: the response's status code, or
/// why none came within `timeout`.
pub(super) async fn http_status(w: &PodWorker, container: &str, http: &HTTPGetAction, timeout: Duration) -> Result<u16, ProbeError> {
    use http_body_util::BodyExt as _;
    let scheme = http.scheme.as_deref().unwrap_or("HTTP");
    if scheme != "HTTP" {
        // The up-front check refuses it; a pod that reached the node past it fails so.
        return Err(ProbeError::Scheme(scheme.into()));
    }
    let port = resolve_port(w, container, &http.port)?;
    let addr = target(w, http.host.as_deref(), port).await?;
    let path = http.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') { path } else { format!("/{path}") };
    let url = format!("http://{addr}{path}");
    let get_failed = |e: Box<dyn std::error::Error + Send + Sync>| ProbeError::Get { url: url.clone(), source: e };
    let attempt = async {
        let stream = connect(w, addr, timeout).await.map_err(|e| get_failed(e.into()))?;
        // Header names as the kubelet's Go client writes them (`User-Agent`, `X-Probe`).
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| get_failed(e.into()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let headers: Vec<(String, String)> = http.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect();
        let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        let mut req = hyper::Request::get(&path);
        if !has("host") {
            req = req.header("Host", addr.to_string());
        }
        if !has("user-agent") {
            req = req.header("User-Agent", PROBE_USER_AGENT);
        }
        if !has("accept") {
            req = req.header("Accept", "*/*");
        }
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(http_body_util::Empty::<hyper::body::Bytes>::new()).map_err(|e| get_failed(e.into()))?;
        let resp = sender.send_request(req).await.map_err(|e| get_failed(e.into()))?;
        let code = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut read = Vec::new();
        while read.len() < MAX_BODY {
            match body.frame().await {
                Some(Ok(f)) => {
                    if let Some(d) = f.data_ref() {
                        read.extend_from_slice(d);
                    }
                }
                _ => break,
            }
        }
        Ok::<u16, ProbeError>(code)
    };
    tokio::time::timeout(timeout, attempt).await.map_err(|_| ProbeError::GetDeadline(url.clone()))?
}
