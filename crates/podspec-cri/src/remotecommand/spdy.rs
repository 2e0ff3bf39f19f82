//! SPDY/3.1 framing, as much as Kubernetes' remote command protocol needs: the older transport
//! of exec, which a kubelet speaks to a CRI runtime's streaming server (the only one with
//! which a client can close a command's stdin on a server that offers WebSocket no newer than
//! `v4.channel.k8s.io`), and which kubectl before 1.30 speaks to the API server. The client
//! opens one stream per channel (SYN_STREAM with a `streamtype` header), the server accepts each
//! (SYN_REPLY); both send data frames (FIN half-closes a stream) and answer PINGs. Header blocks
//! are zlib-compressed with the dictionary that the SPDY/3 specification defines, one
//! compression context per direction and session. Used by `runtime::cri_grpc` (a client) and
//! `server` (serve's exec).

use std::io;
use std::sync::OnceLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncReadExt as _};

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 0x01;
/// The largest frame accepted from the server (its length field has 24 bits).
const MAX_FRAME: usize = 1 << 24;

/// A frame from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: u32,
        fin: bool,
        data: Vec<u8>,
    },
    /// The peer opens a stream; its header block, compressed (see `HeaderReader`).
    SynStream {
        stream: u32,
        fin: bool,
        headers: Vec<u8>,
    },
    /// The server accepted a stream (FIN: and will send nothing on it).
    SynReply {
        stream: u32,
        fin: bool,
    },
    /// The server ended a stream abnormally, with a SPDY status code.
    RstStream {
        stream: u32,
        status: u32,
    },
    Ping(u32),
    /// The server ends the session.
    GoAway,
    /// SETTINGS, WINDOW_UPDATE, HEADERS and the like: nothing for this client to do.
    Other(u16),
}

/// The header dictionary of SPDY/3 (draft-mbelshe-httpbis-spdy-00, section 2.6.10.1): a
/// sequence of length-prefixed header names and values, then a run of common texts.
pub fn dictionary() -> &'static [u8] {
    static DICTIONARY: OnceLock<Vec<u8>> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        const WORDS: &[&str] = &[
            "options",
            "head",
            "post",
            "put",
            "delete",
            "trace",
            "accept",
            "accept-charset",
            "accept-encoding",
            "accept-language",
            "accept-ranges",
            "age",
            "allow",
            "authorization",
            "cache-control",
            "connection",
            "content-base",
            "content-encoding",
            "content-language",
            "content-length",
            "content-location",
            "content-md5",
            "content-range",
            "content-type",
            "date",
            "etag",
            "expect",
            "expires",
            "from",
            "host",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "last-modified",
            "location",
            "max-forwards",
            "pragma",
            "proxy-authenticate",
            "proxy-authorization",
            "range",
            "referer",
            "retry-after",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "vary",
            "via",
            "warning",
            "www-authenticate",
            "method",
            "get",
            "status",
            "200 OK",
            "version",
            "HTTP/1.1",
            "url",
            "public",
            "set-cookie",
            "keep-alive",
            "origin",
        ];
        const TEXT: &str = concat!(
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized",
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,",
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
        );
        let mut d = Vec::with_capacity(1423);
        for w in WORDS {
            d.extend_from_slice(&(w.len() as u32).to_be_bytes());
            d.extend_from_slice(w.as_bytes());
        }
        d.extend_from_slice(TEXT.as_bytes());
        d
    })
}

/// Makes the client's frames; owns the session's header compression.
pub struct FrameWriter {
    zlib: Compress,
}

impl Default for FrameWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameWriter {
    pub fn new() -> Self {
        let mut zlib = Compress::new(Compression::default(), true);
        zlib.set_dictionary(dictionary()).expect("a new compressor takes a dictionary");
        Self { zlib }
    }

    /// SYN_STREAM: opens the client's stream `stream` (odd) with `headers` (names lower case).
    pub fn syn_stream(&mut self, stream: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes()); // associated-to-stream-id
        payload.extend_from_slice(&[0, 0]); // priority, slot
        payload.extend_from_slice(&self.header_block(headers));
        control(SYN_STREAM, 0, &payload)
    }

    /// SYN_REPLY: accepts the peer's stream `stream`.
    pub fn syn_reply(&mut self, stream: u32) -> Vec<u8> {
        let mut payload = (stream & 0x7fff_ffff).to_be_bytes().to_vec();
        payload.extend_from_slice(&self.header_block(&[]));
        control(SYN_REPLY, 0, &payload)
    }

    fn header_block(&mut self, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut plain = Vec::new();
        plain.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            for s in [name, value] {
                plain.extend_from_slice(&(s.len() as u32).to_be_bytes());
                plain.extend_from_slice(s.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(plain.len() + 64);
        let mut consumed = 0;
        // A sync flush ends the block on a byte boundary; the context goes on to the next one.
        loop {
            out.reserve(256);
            let before = self.zlib.total_in();
            self.zlib.compress_vec(&plain[consumed..], &mut out, FlushCompress::Sync).expect("compressing to memory cannot fail");
            consumed += (self.zlib.total_in() - before) as usize;
            if consumed == plain.len() && out.len() < out.capacity() {
                return out;
            }
        }
    }
}

/// A data frame on `stream`; `fin` half-closes it (nothing more is sent on it).
pub fn data(stream: u32, payload: &[u8], fin: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.push(if fin { FLAG_FIN } else { 0 });
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// The answer to the peer's PING `id`.
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

/// GOAWAY: the session ends; `last` is the last of the peer's streams this side acted on.
pub fn goaway(last: u32) -> Vec<u8> {
    let mut payload = (last & 0x7fff_ffff).to_be_bytes().to_vec();
    payload.extend_from_slice(&0u32.to_be_bytes()); // OK
    control(GOAWAY, 0, &payload)
}

/// Inflates the peer's header blocks, in the order they came (one context per session).
pub struct HeaderReader {
    zlib: Decompress,
}

impl Default for HeaderReader {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderReader {
    pub fn new() -> Self {
        Self { zlib: Decompress::new(true) }
    }

    /// The name/value pairs of a header block (a value holding NULs is several values).
    pub fn read(&mut self, block: &[u8]) -> io::Result<Vec<(String, String)>> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        let mut plain = Vec::with_capacity(block.len() * 4 + 64);
        let mut at = 0;
        loop {
            plain.reserve(1024);
            let before = self.zlib.total_in();
            match self.zlib.decompress_vec(&block[at..], &mut plain, FlushDecompress::Sync) {
                Ok(_) => {}
                // The stream names the dictionary first; it is the specification's or the peer is wrong.
                Err(e) if e.needs_dictionary().is_some() => {
                    self.zlib.set_dictionary(dictionary()).map_err(|e| invalid(format!("a SPDY header block's dictionary: {e}")))?;
                }
                Err(e) => return Err(invalid(format!("a SPDY header block: {e}"))),
            }
            at += (self.zlib.total_in() - before) as usize;
            if at >= block.len() && plain.len() < plain.capacity() {
                break;
            }
        }
        let mut r = plain.as_slice();
        let mut take = |n: usize| -> io::Result<Vec<u8>> {
            if r.len() < n {
                return Err(invalid("a SPDY header block shorter than it says".into()));
            }
            let (a, b) = r.split_at(n);
            r = b;
            Ok(a.to_vec())
        };
        let number = |take: &mut dyn FnMut(usize) -> io::Result<Vec<u8>>| -> io::Result<usize> {
            let b = take(4)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let count = number(&mut take)?;
        let mut pairs = Vec::new();
        for _ in 0..count {
            let n = number(&mut take)?;
            let name = String::from_utf8_lossy(&take(n)?).into_owned();
            let n = number(&mut take)?;
            let value = String::from_utf8_lossy(&take(n)?).into_owned();
            for v in value.split('\0') {
                pairs.push((name.clone(), v.to_string()));
            }
        }
        Ok(pairs)
    }
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    f.extend_from_slice(&kind.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// The next frame from the server; None at the end of the connection.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    if len >= MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a SPDY frame of {len} bytes")));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    let word = |at: usize| payload.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff);
    let short = || io::Error::new(io::ErrorKind::InvalidData, "a SPDY control frame too short for its kind");
    if head[0] & 0x80 == 0 {
        let stream = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & 0x7fff_ffff;
        return Ok(Some(Frame::Data { stream, fin: flags & FLAG_FIN != 0, data: payload }));
    }
    let version = u16::from_be_bytes([head[0], head[1]]) & 0x7fff;
    if version != VERSION {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a SPDY frame of version {version}, not {VERSION}")));
    }
    let kind = u16::from_be_bytes([head[2], head[3]]);
    Ok(Some(match kind {
        SYN_STREAM if payload.len() >= 10 => {
            Frame::SynStream { stream: word(0).ok_or_else(short)?, fin: flags & FLAG_FIN != 0, headers: payload[10..].to_vec() }
        }
        SYN_STREAM => return Err(short()),
        SYN_REPLY => Frame::SynReply { stream: word(0).ok_or_else(short)?, fin: flags & FLAG_FIN != 0 },
        RST_STREAM => Frame::RstStream { stream: word(0).ok_or_else(short)?, status: word(4).ok_or_else(short)? },
        PING => Frame::Ping(payload.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(short)?),
        GOAWAY => Frame::GoAway,
        other => Frame::Other(other),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_the_specifications() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert_eq!(&d[..11], b"\0\0\0\x07options");
        assert!(d.ends_with(b",*,enq=0."));
        // zlib names a dictionary by its Adler-32, which the peer checks before inflating.
        let mut a: u32 = 1;
        let mut b: u32 = 0;
        for &x in d {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        let mut z = Compress::new(Compression::default(), true);
        assert_eq!(z.set_dictionary(d).unwrap(), (b << 16) | a);
    }

    #[test]
    fn a_syn_stream_carries_its_headers_compressed_with_the_dictionary() {
        let mut w = FrameWriter::new();
        let frame = w.syn_stream(3, &[("streamtype", "stdin")]);
        assert_eq!(&frame[..4], &[0x80, 0x03, 0x00, 0x01]);
        let len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
        assert_eq!(frame.len(), 8 + len);
        assert_eq!(&frame[8..12], &3u32.to_be_bytes());
        let mut inflate = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(1024);
        let block = &frame[18..];
        // The stream names its dictionary: inflating asks for it first.
        let first = inflate.decompress_vec(block, &mut out, flate2::FlushDecompress::Sync);
        assert!(first.is_err_and(|e| e.needs_dictionary().is_some()));
        inflate.set_dictionary(dictionary()).unwrap();
        let done = inflate.total_in() as usize;
        inflate.decompress_vec(&block[done..], &mut out, flate2::FlushDecompress::Sync).unwrap();
        let mut expected = 1u32.to_be_bytes().to_vec();
        for s in ["streamtype", "stdin"] {
            expected.extend_from_slice(&(s.len() as u32).to_be_bytes());
            expected.extend_from_slice(s.as_bytes());
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn header_blocks_read_back_in_order_through_one_context() {
        let mut w = FrameWriter::new();
        let mut r = HeaderReader::new();
        for kind in ["error", "stdin", "stdout"] {
            let frame = w.syn_stream(1, &[("streamtype", kind), ("x", "a\0b")]);
            let headers = &frame[18..];
            assert_eq!(
                r.read(headers).unwrap(),
                vec![("streamtype".into(), kind.into()), ("x".into(), "a".into()), ("x".into(), "b".into())]
            );
        }
        let reply = w.syn_reply(3);
        assert_eq!(&reply[..4], &[0x80, 0x03, 0x00, 0x02]);
        assert_eq!(r.read(&reply[12..]).unwrap(), vec![]);
    }

    #[tokio::test]
    async fn frames_are_read_by_kind() {
        let mut wire = Vec::new();
        wire.extend(data(1, b"hello", true));
        wire.extend(control(SYN_STREAM, FLAG_FIN, &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 9, 9]));
        wire.extend(control(SYN_REPLY, FLAG_FIN, &[0, 0, 0, 5, 0, 0, 0, 0]));
        wire.extend(ping(2));
        wire.extend(control(RST_STREAM, 0, &[0, 0, 0, 7, 0, 0, 0, 5]));
        wire.extend(control(9, 0, &[0, 0, 0, 1, 0, 0, 1, 0]));
        let mut r = wire.as_slice();
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::Data { stream: 1, fin: true, data: b"hello".to_vec() }));
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::SynStream { stream: 3, fin: true, headers: vec![9, 9] }));
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::SynReply { stream: 5, fin: true }));
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::Ping(2)));
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::RstStream { stream: 7, status: 5 }));
        assert_eq!(read_frame(&mut r).await.unwrap(), Some(Frame::Other(9)));
        assert_eq!(read_frame(&mut r).await.unwrap(), None);
    }
}
