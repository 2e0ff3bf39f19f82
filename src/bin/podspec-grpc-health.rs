//! `podspec-grpc-health`: the standard gRPC health service (`grpc.health.v1.Health`) on a TCP
//! port, for gRPC probes. It lives in the test image beside `podspec-agent`, which stays std and
//! libc only; this one is built on tonic.
//!
//! ```text
//! podspec-grpc-health PORT [--not-serving-file PATH] [--hang-file PATH] [--service NAME]...
//! ```
//!
//! `Check` answers SERVING for the service "" and every `--service NAME`, and NOT_FOUND for any
//! other name (as the protocol asks). While the not-serving file exists it answers NOT_SERVING;
//! while the hang file exists it never answers. Each request is printed on stdout as
//! `check service="NAME"` and `user-agent: ...`. `Watch` is not offered (UNIMPLEMENTED).

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const USAGE: &str = "usage: podspec-grpc-health PORT [--not-serving-file PATH] [--hang-file PATH] [--service NAME]...";

/// What the server was told on its command line.
#[derive(Debug, Default)]
struct Options {
    port: u16,
    not_serving_file: Option<PathBuf>,
    hang_file: Option<PathBuf>,
    services: Vec<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut args = args.iter();
    let port = args.next().context(USAGE)?;
    let mut o =
        Options { port: port.parse().with_context(|| format!("PORT must be a port number, got {port:?}\n{USAGE}"))?, ..Default::default() };
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--not-serving-file" => o.not_serving_file = Some(value.into()),
            "--hang-file" => o.hang_file = Some(value.into()),
            "--service" => o.services.push(value.clone()),
            _ => bail!("unknown flag {flag:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

struct HealthService(Options);

fn exists(path: &Option<PathBuf>) -> bool {
    path.as_ref().is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let agent = request.metadata().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let service = request.into_inner().service;
        println!("check service={service:?}\nuser-agent: {agent}");
        while exists(&self.0.hang_file) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        if !service.is_empty() && !self.0.services.contains(&service) {
            return Err(Status::not_found(format!("unknown service {service:?}")));
        }
        let status = if exists(&self.0.not_serving_file) { ServingStatus::NotServing } else { ServingStatus::Serving };
        Ok(Response::new(HealthCheckResponse { status: status.into() }))
    }

    type WatchStream = futures::stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(&self, _request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("Watch is not offered"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = parse(&args)?;
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], options.port));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("bind {addr}"))?;
    println!("serving grpc.health.v1.Health on {}", listener.local_addr()?);
    let incoming = futures::stream::unfold(listener, |l| async move { Some((l.accept().await.map(|(s, _)| s), l)) });
    tonic::transport::Server::builder()
        .add_service(HealthServer::new(HealthService(options)))
        .serve_with_incoming(incoming)
        .await
        .context("serve")
}
