//! A container's log as the kubelet serves it (`GetContainerLogs` with `PodLogOptions`,
//! pkg/kubelet/kuberuntime/logs): the current instance or, with `previous`, the one before it
//! (the kubelet keeps the last ended instance until the next one ends); `sinceTime`,
//! `tailLines`, `timestamps` (each entry prefixed with its RFC 3339 time and a space) and
//! `limitBytes`; with `follow`, what the instance writes next, until it ends. Every runtime
//! writes its containers' log files in the CRI log format (`cri_log`), each entry with its time
//! and stream; the kubelet reads them itself, as the CRI leaves the files to it.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;

use super::{Kubelet, KubeletError};
use podspec_cri::cri::{ContainerId, ContainerState, LogEntry, RuntimeError, RuntimeService};
use podspec_cri::cri_log;

/// How often a followed log is read again.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// PodLogOptions, as the kubelet acts on them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub previous: bool,
    pub follow: bool,
    pub tail_lines: Option<usize>,
    pub timestamps: bool,
    /// Only entries written at or after this time (`sinceSeconds`/`sinceTime`).
    pub since: Option<jiff::Timestamp>,
    pub limit_bytes: Option<usize>,
}

/// The entries of the last `n` lines (a line ends with an entry that is not partial).
fn tail(entries: &[LogEntry], n: usize) -> &[LogEntry] {
    let mut lines = 0;
    let mut start = entries.len();
    for (i, e) in entries.iter().enumerate().rev() {
        if !e.partial || i + 1 == entries.len() {
            if lines == n {
                break;
            }
            lines += 1;
        }
        start = i;
    }
    if n == 0 {
        return &entries[entries.len()..];
    }
    &entries[start..]
}

/// What `kubectl logs` prints of entries.
fn render(entries: &[LogEntry], timestamps: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        if timestamps {
            out.extend_from_slice(format!("{:.9}", e.time).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&e.content);
    }
    out
}

async fn read(runtime: &Arc<dyn RuntimeService>, id: &ContainerId) -> Result<(Vec<LogEntry>, bool), KubeletError> {
    let status = runtime.container_status(id).await?;
    let running = status.state == ContainerState::Running || status.state == ContainerState::Created;
    let entries = tokio::task::spawn_blocking(move || cri_log::read_file(&status.log_path, None))
        .await
        .map_err(|e| RuntimeError::failed(format!("read the log of container {id}"), e))??;
    Ok((entries, running))
}

/// Limits what is sent to `limit_bytes` in all.
struct Budget(Option<usize>);

impl Budget {
    fn take(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        if let Some(left) = &mut self.0 {
            bytes.truncate(*left);
            *left -= bytes.len();
        }
        bytes
    }
    fn spent(&self) -> bool {
        self.0 == Some(0)
    }
}

impl Kubelet {
    /// The log of a container of a pod on this node, as chunks of what `kubectl logs` prints.
    pub async fn logs(&self, uid: &str, container: &str, options: LogOptions) -> Result<BoxStream<'static, Vec<u8>>, KubeletError> {
        let w = self.worker(uid)?;
        let id = if options.previous {
            w.previous_container(container).ok_or_else(|| {
                KubeletError::BadLogRequest(format!(
                    "previous terminated container {container:?} in pod {:?} not found",
                    w.key.rsplit('/').next().unwrap_or("")
                ))
            })?
        } else {
            self.container_id(uid, container)?
        };
        let runtime = self.runtime.clone();
        let (entries, running) = read(&runtime, &id).await?;
        let follow = options.follow && running;
        // Each entry read is whole: a line the runtime is still writing is left out until its
        // newline is there, and a partial entry is a chunk the runtime cut and will not grow.
        let sent = entries.len();
        let since = options.since;
        let selected: Vec<LogEntry> = entries.into_iter().filter(|e| since.is_none_or(|s| e.time >= s)).collect();
        let first = match options.tail_lines {
            Some(n) => tail(&selected, n),
            None => &selected[..],
        };
        let mut budget = Budget(options.limit_bytes);
        let first = budget.take(render(first, options.timestamps));
        let timestamps = options.timestamps;
        let head = futures::stream::once(async move { first });
        if !follow || budget.spent() {
            return Ok(Box::pin(head));
        }
        let rest = futures::stream::unfold((sent, budget, false), move |(sent, mut budget, ended)| {
            let runtime = runtime.clone();
            let id = id.clone();
            async move {
                loop {
                    if ended || budget.spent() {
                        return None;
                    }
                    tokio::time::sleep(FOLLOW_POLL).await;
                    let Ok((entries, running)) = read(&runtime, &id).await else { return None };
                    let upto = entries.len().max(sent);
                    if upto > sent || !running {
                        let chunk = budget.take(render(&entries[sent..upto], timestamps));
                        return Some((chunk, (upto, budget, !running)));
                    }
                }
            }
        });
        Ok(Box::pin(futures::StreamExt::chain(head, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podspec_cri::cri::LogStream;

    fn entry(text: &str, partial: bool) -> LogEntry {
        LogEntry { time: jiff::Timestamp::UNIX_EPOCH, stream: LogStream::Stdout, content: text.as_bytes().to_vec(), partial }
    }

    #[test]
    fn tail_counts_whole_lines_and_a_partial_line_with_the_one_it_ends() {
        let e = vec![entry("a\n", false), entry("b", true), entry("c\n", false), entry("d\n", false)];
        assert_eq!(render(tail(&e, 1), false), b"d\n");
        assert_eq!(render(tail(&e, 2), false), b"bc\nd\n");
        assert_eq!(render(tail(&e, 10), false), b"a\nbc\nd\n");
        assert_eq!(render(tail(&e, 0), false), b"");
    }

    #[test]
    fn timestamps_prefix_each_entry_with_its_rfc3339_time() {
        let t: jiff::Timestamp = "2026-01-02T03:04:05.123456789Z".parse().unwrap();
        let e = vec![LogEntry { time: t, stream: LogStream::Stdout, content: b"hi\n".to_vec(), partial: false }];
        assert_eq!(String::from_utf8(render(&e, true)).unwrap(), "2026-01-02T03:04:05.123456789Z hi\n");
    }

    #[test]
    fn limit_bytes_counts_across_chunks() {
        let mut b = Budget(Some(5));
        assert_eq!(b.take(b"abc".to_vec()), b"abc");
        assert_eq!(b.take(b"defg".to_vec()), b"de");
        assert!(b.spent());
    }
}
