//! The CRI log format, in which CRI runtimes write a container's output to the log path the
//! kubelet gives them (`<pod log dir>/<container>/<attempt>.log`): one line per chunk,
//! `<RFC 3339 time> <stdout|stderr> <P|F> <content>`, where `P` marks a partial line that the
//! next chunk continues and `F` a full one (cri-api: pkg/apis/runtime/v1 `LogTag`; the kubelet
//! reads it in pkg/kubelet/kuberuntime/logs). Parsing only, no I/O.

/// Which stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One chunk of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk<'a> {
    pub time: &'a str,
    pub stream: Stream,
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
        Some("stdout") => Stream::Stdout,
        Some("stderr") => Stream::Stderr,
        _ => return Err(err("the stream is neither stdout nor stderr")),
    };
    let partial = match parts.next() {
        Some(tag) if tag.split(':').next() == Some("P") => true,
        Some(tag) if tag.split(':').next() == Some("F") => false,
        _ => return Err(err("no P or F tag")),
    };
    Ok(LogChunk { time, stream, partial, content: parts.next().unwrap_or("") })
}

/// The container's output as it wrote it: partial chunks joined, a newline after each full
/// line; only the streams `keep` selects.
pub fn output(log: &str, keep: impl Fn(Stream) -> bool) -> Result<String, LogError> {
    let mut out = String::with_capacity(log.len());
    for (i, text) in log.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let chunk = parse_line(text, i + 1)?;
        if keep(chunk.stream) {
            out.push_str(chunk.content);
            if !chunk.partial {
                out.push('\n');
            }
        }
    }
    Ok(out)
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
        assert_eq!(output(LOG, |s| s == Stream::Stdout).unwrap(), "hello\npartial line\n\n");
        assert_eq!(output(LOG, |s| s == Stream::Stderr).unwrap(), "oops\n");
    }

    #[test]
    fn a_line_out_of_format_is_named_by_its_number() {
        let err = output("2026-12-01T08:51:44Z stdout F ok\nnot a log line\n", |_| true).unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_line("2026-12-01T08:51:44Z stdout X text", 7).unwrap_err();
        assert!(err.to_string().contains("line 7") && err.to_string().contains("P or F"), "{err}");
    }
}
