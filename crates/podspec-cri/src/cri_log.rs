//! The CRI log format, in which CRI runtimes write a container's output to the log path the
//! kubelet gives them (`<pod log dir>/<container>/<attempt>.log`): one line per chunk,
//! `<RFC 3339 time> <stdout|stderr> <P|F> <content>`, where `P` marks a partial line that the
//! next chunk continues and `F` a full one (cri-api: pkg/apis/runtime/v1 `LogTag`; the kubelet
//! reads it in pkg/kubelet/kuberuntime/logs). The one reader of these files, and the framing
//! the reference runtime's shim writes them with (`LineFramer`).
//!
//! Content is bytes: a container may write anything but a newline into a line, and reads back
//! exactly what it wrote.

use std::path::Path;

use jiff::Timestamp;

use super::cri::{LogEntry, LogStream, RuntimeError, RuntimeResult};

/// The longest content of one line: a longer line is cut into `P` chunks of this size
/// (containerd's default `max_container_log_line_size`, 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// One chunk of a CRI log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk<'a> {
    pub time: &'a str,
    pub stream: LogStream,
    /// The next chunk of the same stream continues this line.
    pub partial: bool,
    pub content: &'a [u8],
}

/// A line of a CRI log file that is not in the format, with its number (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CRI log line {line}: {message}")]
pub struct LogError {
    pub line: usize,
    pub message: String,
}

/// Splits one line (without its newline) into its fields. The fields before the content are
/// ASCII; the content is what follows the third space, whatever its bytes.
pub fn parse_line(text: &[u8], line: usize) -> Result<LogChunk<'_>, LogError> {
    let err = |message: &str| LogError { line, message: message.to_string() };
    let mut parts = text.splitn(4, |b| *b == b' ');
    let time = parts.next().filter(|t| !t.is_empty()).and_then(|t| std::str::from_utf8(t).ok()).ok_or_else(|| err("no timestamp"))?;
    let stream = match parts.next() {
        Some(b"stdout") => LogStream::Stdout,
        Some(b"stderr") => LogStream::Stderr,
        _ => return Err(err("the stream is neither stdout nor stderr")),
    };
    let partial = match parts.next().map(|tag| tag.split(|b| *b == b':').next()) {
        Some(Some(b"P")) => true,
        Some(Some(b"F")) => false,
        _ => return Err(err("no P or F tag")),
    };
    Ok(LogChunk { time, stream, partial, content: parts.next().unwrap_or(b"") })
}

/// The entries of a CRI log, in order: a full chunk's content ends with a newline, a partial
/// one's does not (as the kubelet's `parseCRILog`). Lines end at `\n` only: a `\r` before it
/// is content. A time that is not RFC 3339 is an error of that line.
pub fn entries(log: &[u8]) -> Result<Vec<LogEntry>, LogError> {
    let mut out = Vec::new();
    let body = log.strip_suffix(b"\n").unwrap_or(log);
    if body.is_empty() {
        return Ok(out);
    }
    for (i, text) in body.split(|b| *b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
        let chunk = parse_line(text, i + 1)?;
        let time = chunk
            .time
            .parse::<Timestamp>()
            .map_err(|e| LogError { line: i + 1, message: format!("time {:?} is not RFC 3339: {e}", chunk.time) })?;
        let mut content = chunk.content.to_vec();
        if !chunk.partial {
            content.push(b'\n');
        }
        out.push(LogEntry { time, stream: chunk.stream, content, partial: chunk.partial });
    }
    Ok(out)
}

/// The container's output as it wrote it: partial chunks joined, a newline after each full
/// line; only the streams `keep` selects.
pub fn output(log: &[u8], keep: impl Fn(LogStream) -> bool) -> Result<Vec<u8>, LogError> {
    let kept: Vec<LogEntry> = entries(log)?.into_iter().filter(|e| keep(e.stream)).collect();
    Ok(super::cri::log_text(&kept))
}

/// Reads the entries of the CRI log file at `path`; with `tail_bytes`, only of its last that
/// many bytes (the line cut at that point is left out). A file that is not there yet (the
/// container has written nothing) is an empty log.
pub fn read_file(path: &Path, tail_bytes: Option<u64>) -> RuntimeResult<Vec<LogEntry>> {
    let operation = || format!("read the CRI log {}", path.display());
    let (buf, start) = read_tail(path, tail_bytes, operation)?;
    let mut text = &buf[..];
    if start > 0 {
        // Started inside a line: it begins after the first newline.
        text = text.iter().position(|b| *b == b'\n').map_or(&[][..], |i| &text[i + 1..]);
    }
    // A line the runtime is still writing has no newline yet: it is left for the next read.
    text = &text[..text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)];
    entries(text).map_err(|e| RuntimeError::failed(operation(), e))
}

/// The bytes of the file at `path` from where reading began, and that offset: with
/// `tail_bytes`, only its last that many bytes. A file that is not there yet reads as empty.
fn read_tail(path: &Path, tail_bytes: Option<u64>, operation: impl Fn() -> String) -> RuntimeResult<(Vec<u8>, u64)> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(RuntimeError::io(operation(), e)),
    };
    let len = f.metadata().map_err(|e| RuntimeError::io(operation(), e))?.len();
    let start = tail_bytes.map_or(0, |n| len.saturating_sub(n));
    f.seek(SeekFrom::Start(start)).map_err(|e| RuntimeError::io(operation(), e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(|e| RuntimeError::io(operation(), e))?;
    Ok((buf, start))
}

/// Frames what one stream of a container writes into CRI log lines, as containerd's CRI logger
/// and CRI-O's conmon do: a line is written when its newline arrives (`F`, the newline left
/// out), or, once its content exceeds `max_line` bytes, as `P` chunks of `max_line` bytes;
/// at the stream's end, what is left without a newline is a `P` chunk. Each line carries the
/// time it was framed at.
#[derive(Debug)]
pub struct LineFramer {
    stream: LogStream,
    max_line: usize,
    pending: Vec<u8>,
}

impl LineFramer {
    pub fn new(stream: LogStream, max_line: usize) -> Self {
        assert!(max_line > 0, "a CRI log line holds at least one byte");
        Self { stream, max_line, pending: Vec::new() }
    }

    /// Takes bytes the stream wrote; appends to `out` the lines they complete, stamped `time`.
    pub fn push(&mut self, mut bytes: &[u8], time: Timestamp, out: &mut Vec<u8>) {
        while let Some(nl) = bytes.iter().position(|b| *b == b'\n') {
            self.pending.extend_from_slice(&bytes[..nl]);
            self.split_long(time, out);
            self.write(false, time, out);
            bytes = &bytes[nl + 1..];
        }
        self.pending.extend_from_slice(bytes);
        self.split_long(time, out);
    }

    /// The stream has ended (or will be read no more): what is left is a partial line.
    pub fn finish(&mut self, time: Timestamp, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.write(true, time, out);
        }
    }

    fn split_long(&mut self, time: Timestamp, out: &mut Vec<u8>) {
        while self.pending.len() > self.max_line {
            let rest = self.pending.split_off(self.max_line);
            self.write(true, time, out);
            self.pending = rest;
        }
    }

    /// Writes `pending` as one line and empties it.
    fn write(&mut self, partial: bool, time: Timestamp, out: &mut Vec<u8>) {
        let stream = match self.stream {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        };
        let tag = if partial { "P" } else { "F" };
        out.extend_from_slice(format!("{time:.9} {stream} {tag} ").as_bytes());
        out.append(&mut self.pending);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-12-01T08:51:44.123456789Z stdout F hello\n\
                       2026-12-01T08:51:44.2Z stderr F oops\n\
                       2026-12-01T08:51:44.3Z stdout P par\n\
                       2026-12-01T08:51:44.4Z stdout F tial line\n\
                       2026-12-01T08:51:44.5Z stdout F \n";

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn full_and_partial_chunks_give_the_lines_written() {
        assert_eq!(output(LOG, |_| true).unwrap(), b"hello\noops\npartial line\n\n");
        assert_eq!(output(LOG, |s| s == LogStream::Stdout).unwrap(), b"hello\npartial line\n\n");
        assert_eq!(output(LOG, |s| s == LogStream::Stderr).unwrap(), b"oops\n");
    }

    #[test]
    fn entries_keep_the_time_and_stream_of_each_chunk() {
        let e = entries(LOG).unwrap();
        assert_eq!(e.len(), 5);
        assert_eq!(e[0].time.subsec_nanosecond(), 123456789);
        assert_eq!(e[1].stream, LogStream::Stderr);
        assert!(e[2].partial && e[2].content == b"par");
        assert_eq!(e[3].content, b"tial line\n");
    }

    #[test]
    fn a_line_out_of_format_is_named_by_its_number() {
        let err = output(b"2026-12-01T08:51:44Z stdout F ok\nnot a log line\n", |_| true).unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_line(b"2026-12-01T08:51:44Z stdout X text", 7).unwrap_err();
        assert!(err.to_string().contains("line 7") && err.to_string().contains("P or F"), "{err}");
        let err = entries(b"yesterday stdout F text\n").unwrap_err();
        assert!(err.to_string().contains("line 1") && err.to_string().contains("RFC 3339"), "{err}");
    }

    #[test]
    fn content_is_read_back_byte_for_byte_with_its_carriage_returns() {
        let log = b"2026-12-01T08:51:44Z stdout F dos\r\n2026-12-01T08:51:44Z stderr F \xff\xfe\x00 bin\n";
        let e = entries(log).unwrap();
        assert_eq!(e[0].content, b"dos\r\n");
        assert_eq!(e[1].content, b"\xff\xfe\x00 bin\n");
    }

    #[test]
    fn a_file_is_read_whole_or_from_its_tail_without_the_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        assert_eq!(read_file(&path, None).unwrap(), vec![]);
        // The last line is still being written (no newline yet).
        let mut text = LOG.to_vec();
        text.extend_from_slice(b"2026-12-01T08:51:44.6Z stdout F unfin");
        std::fs::write(&path, text).unwrap();
        assert_eq!(read_file(&path, None).unwrap().len(), 5);
        let tail = read_file(&path, Some(75)).unwrap();
        assert_eq!(tail.len(), 1, "{tail:?}");
        assert_eq!(tail[0].content, b"\n");
    }

    /// Frames `writes` (each a read of the stream), then ends the stream.
    fn framed(stream: LogStream, max_line: usize, writes: &[&[u8]]) -> Vec<u8> {
        let mut f = LineFramer::new(stream, max_line);
        let mut out = Vec::new();
        let t = at("2026-12-01T08:51:44.5Z");
        for w in writes {
            f.push(w, t, &mut out);
        }
        f.finish(t, &mut out);
        out
    }

    #[test]
    fn a_line_is_written_when_its_newline_comes_and_stamped_with_time_and_stream() {
        let mut f = LineFramer::new(LogStream::Stderr, MAX_LINE);
        let mut out = Vec::new();
        f.push(b"hel", at("2026-12-01T08:51:44Z"), &mut out);
        assert_eq!(out, b"", "nothing before the newline");
        f.push(b"lo\nwor", at("2026-12-01T08:51:45.25Z"), &mut out);
        assert_eq!(out, b"2026-12-01T08:51:45.250000000Z stderr F hello\n");
        f.push(b"ld\n\n", at("2026-12-01T08:51:46Z"), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-12-01T08:51:45.250000000Z stderr F hello\n\
             2026-12-01T08:51:46.000000000Z stderr F world\n\
             2026-12-01T08:51:46.000000000Z stderr F \n"
        );
    }

    #[test]
    fn a_line_longer_than_the_limit_is_cut_into_partial_chunks() {
        let out = framed(LogStream::Stdout, 4, &[b"abcdefghij\n", b"wxyz\n", b"12345", b"\n"]);
        let text = String::from_utf8(out.clone()).unwrap();
        let tags: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(tags, ["stdout P abcd", "stdout P efgh", "stdout F ij", "stdout F wxyz", "stdout P 1234", "stdout F 5"]);
        assert_eq!(output(&out, |_| true).unwrap(), b"abcdefghij\nwxyz\n12345\n");
        // The real limit: 16 KiB of content in one line, the rest in the next.
        let long = vec![b'x'; MAX_LINE + 1];
        let out = framed(LogStream::Stdout, MAX_LINE, &[&long, b"\n"]);
        let e = entries(&out).unwrap();
        assert_eq!((e.len(), e[0].partial, e[0].content.len(), e[1].content.as_slice()), (2, true, MAX_LINE, &b"x\n"[..]));
    }

    #[test]
    fn what_is_left_without_a_newline_at_the_end_is_a_partial_chunk() {
        let out = framed(LogStream::Stdout, MAX_LINE, &[b"done\nno newline"]);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "2026-12-01T08:51:44.500000000Z stdout F done\n2026-12-01T08:51:44.500000000Z stdout P no newline\n"
        );
        assert_eq!(output(&out, |_| true).unwrap(), b"done\nno newline");
        assert_eq!(
            framed(LogStream::Stdout, MAX_LINE, &[b"ends\n"]).iter().filter(|b| **b == b'\n').count(),
            1,
            "no empty chunk at the end"
        );
    }

    #[test]
    fn carriage_returns_and_binary_content_are_written_unchanged() {
        let written: &[u8] = b"dos\r\n\xff\x00\x1b[31m \r\n";
        let out = framed(LogStream::Stdout, MAX_LINE, &[written]);
        assert_eq!(output(&out, |_| true).unwrap(), written);
    }
}
