//! Sonobuoy's plugin contract: results go into `$SONOBUOY_RESULTS_DIR`, the run ends by writing
//! that directory's `done` file with the path of the results, and progress is POSTed to
//! `http://localhost:$SONOBUOY_PROGRESS_PORT/progress` as `{msg, total, completed, failures}`.

use std::path::{Path, PathBuf};

use crate::report::Status;
use crate::runner::observe::{Observer, RunEvent};

/// Where Sonobuoy's worker expects results when the variable is not set.
pub const DEFAULT_RESULTS_DIR: &str = "/tmp/sonobuoy/results";
pub const RESULTS_DIR_ENV: &str = "SONOBUOY_RESULTS_DIR";
pub const PROGRESS_PORT_ENV: &str = "SONOBUOY_PROGRESS_PORT";
pub const DONE_FILE: &str = "done";

/// The results directory in Sonobuoy mode.
pub fn results_dir() -> PathBuf {
    std::env::var_os(RESULTS_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_RESULTS_DIR))
}

/// Writes the `done` file: the path of the results tarball, which tells the worker to collect.
pub fn write_done(results_dir: &Path, tarball: &Path) -> std::io::Result<PathBuf> {
    let done = results_dir.join(DONE_FILE);
    let tmp = results_dir.join(".done.tmp");
    std::fs::write(&tmp, tarball.display().to_string())?;
    std::fs::rename(&tmp, &done)?;
    Ok(done)
}

/// One progress report, as Sonobuoy's progress API takes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub msg: String,
    pub total: usize,
    pub completed: usize,
    pub failures: Vec<String>,
}

/// Sends progress reports in order, one at a time, from a task of its own (the run never
/// waits for the worker).
#[derive(Debug)]
pub struct ProgressReporter {
    tx: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Progress>>>,
    /// The total, and the failures so far.
    state: std::sync::Mutex<(usize, Vec<String>)>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ProgressReporter {
    /// A reporter to `http://localhost:PORT/progress` when `SONOBUOY_PROGRESS_PORT` is set.
    pub fn from_env() -> Option<Self> {
        let port: u16 = std::env::var(PROGRESS_PORT_ENV).ok()?.parse().ok()?;
        Some(Self::new(format!("localhost:{port}")))
    }

    pub fn new(address: String) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
        let task = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if let Err(e) = post(&address, &p).await {
                    tracing::warn!(address, error = %e, "Sonobuoy progress report not sent");
                }
            }
        });
        Self {
            tx: std::sync::Mutex::new(Some(tx)),
            state: std::sync::Mutex::new((0, Vec::new())),
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    pub fn send(&self, msg: impl Into<String>, completed: usize) {
        let (total, failures) = {
            let s = self.state.lock().unwrap();
            (s.0, s.1.clone())
        };
        if let Some(tx) = self.tx.lock().unwrap().as_ref() {
            let _ = tx.send(Progress { msg: msg.into(), total, completed, failures });
        }
    }

    /// Sends the last report and waits (up to 10 s) until every report has been sent.
    pub async fn finish(&self, msg: impl Into<String>, completed: usize) {
        self.send(msg, completed);
        self.tx.lock().unwrap().take();
        if let Some(mut task) = self.task.lock().await.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(10), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Observer for ProgressReporter {
    fn event(&self, event: &RunEvent<'_>) {
        match event {
            RunEvent::Started { selected, skipped } => {
                self.state.lock().unwrap().0 = selected + skipped;
                self.send(format!("podspec: running {selected} scenarios ({skipped} skipped)"), *skipped);
            }
            RunEvent::ScenarioFinished { record, done, total, failed, elapsed } => {
                if record.status == Status::Failed {
                    self.state.lock().unwrap().1.push(format!("{}: {}", record.feature, record.name));
                }
                let progress = crate::runner::observe::progress_text(*done, *failed, *total, *elapsed);
                self.send(format!("finished {}:{} {} ({progress})", record.feature_path, record.line, record.name), *done);
            }
            _ => {}
        }
    }
}

/// Why a progress report was not sent: the text of what failed, as the warning shows it.
#[derive(Debug, thiserror::Error)]
enum PostError {
    #[error(transparent)]
    Connect(#[from] std::io::Error),
    #[error(transparent)]
    Http(#[from] hyper::Error),
    #[error(transparent)]
    Body(#[from] serde_json::Error),
    #[error(transparent)]
    Request(#[from] http::Error),
    #[error("the worker answered {0}")]
    Status(http::StatusCode),
}

/// POSTs one report (HTTP/1.1, JSON).
async fn post(address: &str, progress: &Progress) -> Result<(), PostError> {
    use http_body_util::{BodyExt as _, Full};
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let body = serde_json::to_vec(progress)?;
    let request = http::Request::post("/progress")
        .header("host", address)
        .header("content-type", "application/json")
        .body(Full::new(bytes_of(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(PostError::Status(status))
    }
}

fn bytes_of(v: Vec<u8>) -> hyper::body::Bytes {
    hyper::body::Bytes::from(v)
}
