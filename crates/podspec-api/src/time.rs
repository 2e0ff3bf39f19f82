//! The API's timestamps: `metav1.Time`, kept to the millisecond (it is written in whole
//! seconds), and the RFC 3339 text Kubernetes' components write times in, read as they read it.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The time now, as the API keeps a timestamp (the kubelet writes its status times with it too).
pub fn now() -> Time {
    at(Timestamp::now())
}

/// `t` as the API keeps a timestamp: to the millisecond.
pub fn at(t: Timestamp) -> Time {
    Time(Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// A text that is not an RFC 3339 time, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotRfc3339(String);

/// Reads an RFC 3339 time (`2026-01-02T03:04:05Z`, `2026-01-02T03:04:05.123456789+01:00`): a
/// date, `T` (or `t`, or a space), the time with its seconds, a fraction after a dot (of any
/// length, read to the nanosecond), then `Z` or `±HH:MM`. jiff's own parser also takes
/// ISO 8601's other forms (no seconds, `+01`, `20260102T030405Z`, a `[zone]` after), which no
/// Kubernetes component writes or reads.
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, NotRfc3339> {
    let not = || NotRfc3339("not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS, a fraction after a dot, then Z or ±HH:MM)".into());
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| b.get(from..to).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shaped = digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19);
    if !shaped {
        return Err(not());
    }
    // The first 19 bytes are ASCII, so every index below is a character's.
    let mut rest = &text[19..];
    let mut fraction = "";
    if let Some(after_dot) = rest.strip_prefix('.') {
        let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(not());
        }
        fraction = &after_dot[..n.min(9)];
        rest = &after_dot[n..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => "Z",
        [b'+' | b'-', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) => {
            if (h1 - b'0') * 10 + (h2 - b'0') > 23 || (m1 - b'0') * 10 + (m2 - b'0') > 59 {
                return Err(NotRfc3339(format!("offset {rest} is out of range (at most ±23:59)")));
            }
            rest
        }
        _ => return Err(not()),
    };
    let dot = if fraction.is_empty() { "" } else { "." };
    format!("{}T{}{dot}{fraction}{offset}", &text[..10], &text[11..19]).parse().map_err(|e: jiff::Error| NotRfc3339(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_keeps_a_time_to_the_millisecond() {
        let t = Timestamp::new(1_736_938_800, 123_456_789).unwrap();
        assert_eq!(at(t).0, Timestamp::new(1_736_938_800, 123_000_000).unwrap());
    }

    #[test]
    fn rfc_3339_is_read_as_kubernetes_writes_it_and_nothing_else() {
        let read = |s: &str| parse_rfc3339(s).map(|t| t.to_string());
        assert_eq!(read("2026-01-02T03:04:05Z").unwrap(), "2026-01-02T03:04:05Z");
        assert_eq!(read("2026-01-02t03:04:05.5z").unwrap(), "2026-01-02T03:04:05.5Z");
        assert_eq!(read("2026-01-02 03:04:05.123456789+01:00").unwrap(), "2026-01-02T02:04:05.123456789Z");
        assert_eq!(read("2026-01-02T03:04:05.1234567891-00:30").unwrap(), "2026-01-02T03:34:05.123456789Z");
        for not in [
            "",
            "2026-01-02",
            "2026-01-02T03:04Z",
            "20260102T030405Z",
            "2026-01-02T03:04:05",
            "2026-01-02T03:04:05+01",
            "2026-01-02T03:04:05+0100",
            "2026-01-02T03:04:05,5Z",
            "2026-01-02T03:04:05.Z",
            "2026-01-02T03:04:05Z[UTC]",
            "2026-01-02T03:04:05Z ",
            "2026-01-02T03:04:05+24:00",
        ] {
            assert!(read(not).is_err(), "{not:?} read as {:?}", read(not));
        }
        assert!(read("2026-13-02T03:04:05Z").unwrap_err().to_string().contains("month"));
    }
}
