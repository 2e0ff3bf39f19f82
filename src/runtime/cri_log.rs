//! The CRI log format, in which CRI runtimes write a container's output to the log path the
//! kubelet gives them (`<pod log dir>/<container>/<attempt>.log`): one line per chunk,
//! `<RFC 3339 time> <stdout|stderr> <P|F> <content>`, where `P` marks a partial line that the
//! next chunk continues and `F` a full one (cri-api: pkg/apis/runtime/v1 `LogTag`; the kubelet
//! reads it in pkg/kubelet/kuberuntime/logs). The one parser of these files.

use std::path::Path;

use super::cri::{LogEntry, LogStream, RuntimeError, RuntimeResult};

/// One chunk of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk<'a> {
    pub time: &'a str,
    pub stream: LogStream,
    /// The next chunk of the same stream continues this line.
    pub partial: bool,
    pub content: &'a str,
}

/// A line of a CRI log file that is not in the format, with its number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CRI log line {line}: {message}")]
pub struct LogError {
    pub line: usize,
    pub message: String,
}

pub fn parse_line(text: &str, line: usize) -> Result<LogChunk<'_>, LogError> {
    let err = |message: &str| LogError { line, message: message.to_string() };
    let mut parts = text.splitn(4, ' ');
    let time = parts.next().filter(|t| !t.is_empty()).ok_or_else(|| err("no timestamp"))?;
    let stream = match parts.next() {
        Some("stdout") => LogStream::Stdout,
        Some("stderr") => LogStream::Stderr,
        _ => return Err(err("the stream is neither stdout nor stderr")),
    };
    let partial = match parts.next() {
        Some(tag) if tag.split(':').next() == Some("P") => true,
        Some(tag) if tag.split(':').next() == Some("F") => false,
        _ => return Err(err("no P or F tag")),
    };
    Ok(LogChunk { time, stream, partial, content: parts.next().unwrap_or("") })
}

/// The entries of a CRI log, in order: a full chunk's content ends with a newline, a partial
/// one's does not (as the kubelet's `parseCRILog`). A time that is not RFC 3339 is an error of
/// that line.
pub fn entries(log: &str) -> Result<Vec<LogEntry>, LogError> {
    let mut out = Vec::new();
    for (i, text) in log.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let chunk = parse_line(text, i + 1)?;
        let time = chrono::DateTime::parse_from_rfc3339(chunk.time)
            .map_err(|e| LogError { line: i + 1, message: format!("time {:?} is not RFC 3339: {e}", chunk.time) })?;
        let mut content = chunk.content.as_bytes().to_vec();
        if !chunk.partial {
            content.push(b'\n');
        }
        out.push(LogEntry { time: Some(time.to_utc()), stream: Some(chunk.stream), content, partial: chunk.partial });
    }
    Ok(out)
}

/// The container's output as it wrote it: partial chunks joined, a newline after each full
/// line; only the streams `keep` selects.
pub fn output(log: &str, keep: impl Fn(LogStream) -> bool) -> Result<String, LogError> {
    let kept: Vec<LogEntry> = entries(log)?.into_iter().filter(|e| e.stream.is_some_and(&keep)).collect();
    Ok(String::from_utf8_lossy(&super::cri::log_text(&kept)).into_owned())
}

/// Reads the entries of the CRI log file at `path`; with `tail_bytes`, only of its last that
/// many bytes (the line cut at that point is left out). A file that is not there yet (the
/// container has written nothing) is an empty log.
pub fn read_file(path: &Path, tail_bytes: Option<u64>) -> RuntimeResult<Vec<LogEntry>> {
    let operation = || format!("read the CRI log {}", path.display());
    let (buf, start) = super::log_file::read_tail(path, tail_bytes, operation)?;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if start > 0 {
        // Started inside a line: it begins after the first newline.
        text = text.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    }
    // A line the runtime is still writing has no newline yet: it is left for the next read.
    if !text.ends_with('\n') {
        text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
    }
    entries(&text).map_err(|e| RuntimeError::failed(operation(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2026-12-01T08:51:44.123456789Z stdout F hello\n\
                       2026-12-01T08:51:44.2Z stderr F oops\n\
                       2026-12-01T08:51:44.3Z stdout P par\n\
                       2026-12-01T08:51:44.4Z stdout F tial line\n\
                       2026-12-01T08:51:44.5Z stdout F \n";

    #[test]
    fn full_and_partial_chunks_give_the_lines_written() {
        assert_eq!(output(LOG, |_| true).unwrap(), "hello\noops\npartial line\n\n");
        assert_eq!(output(LOG, |s| s == LogStream::Stdout).unwrap(), "hello\npartial line\n\n");
        assert_eq!(output(LOG, |s| s == LogStream::Stderr).unwrap(), "oops\n");
    }

    #[test]
    fn entries_keep_the_time_and_stream_of_each_chunk() {
        let e = entries(LOG).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].time.unwrap().timestamp_subsec_nanos(), 123456789);
        assert_eq!(e[1].stream, Some(LogStream::Stderr));
        assert!(e[2].partial && e[2].content == b"par");
        assert_eq!(e[3].content, b"tial line\n");
    }

    #[test]
    fn a_line_out_of_format_is_named_by_its_number() {
        let err = output("2026-12-01T08:51:44Z stdout F ok\nnot a log line\n", |_| true).unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_line("2026-12-01T08:51:44Z stdout X text", 7).unwrap_err();
        assert!(err.to_string().contains("line 7") && err.to_string().contains("P or F"), "{err}");
        let err = entries("yesterday stdout F text\n").unwrap_err();
        assert!(err.to_string().contains("line 1") && err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn a_file_is_read_whole_or_from_its_tail_without_the_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        assert_eq!(read_file(&path, None).unwrap(), vec![]);
        // The last line is still being written (no newline yet).
        std::fs::write(&path, format!("{LOG}2026-12-01T08:51:44.6Z stdout F unfin")).unwrap();
        assert_eq!(read_file(&path, None).unwrap().len(), 5);
        let tail = read_file(&path, Some(75)).unwrap();
        assert_eq!(tail.len(), 1, "{tail:?}");
        assert_eq!(tail[0].content, b"\n");
    }
}
