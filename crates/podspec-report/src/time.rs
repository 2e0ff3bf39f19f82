//! A run's times as the reports write them (`started` and `finished` of report.json, and of
//! certify's environment.json): RFC 3339 in UTC with `Z`, the fraction of a second in groups
//! of three digits, only as many as it needs (`10:01:05Z`, `10:01:05.250Z`,
//! `10:01:05.123456Z`), as podspec has always written them; read back with any fraction and
//! offset. For `#[serde(with = "podspec_report::time")]`.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serializer};

/// `t` as the reports write it.
pub fn text(t: Timestamp) -> String {
    let nanos = t.subsec_nanosecond();
    let digits = match nanos {
        0 => 0,
        _ if nanos % 1_000_000 == 0 => 3,
        _ if nanos % 1_000 == 0 => 6,
        _ => 9,
    };
    format!("{t:.digits$}")
}

pub fn serialize<S: Serializer>(t: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&text(*t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    Timestamp::deserialize(deserializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_comes_in_groups_of_three_digits() {
        let at = |nanos| text(Timestamp::new(1_736_935_200, nanos).unwrap());
        assert_eq!(at(0), "2025-01-15T10:00:00Z");
        assert_eq!(at(250_000_000), "2025-01-15T10:00:00.250Z");
        assert_eq!(at(123_400_000), "2025-01-15T10:00:00.123400Z");
        assert_eq!(at(123_456_789), "2025-01-15T10:00:00.123456789Z");
        assert_eq!(at(1_000), "2025-01-15T10:00:00.000001Z");
    }

    #[test]
    fn what_was_written_reads_back() {
        let read = |text: &str| deserialize(&mut serde_json::Deserializer::from_str(text)).unwrap();
        assert_eq!(read(r#""2025-01-15T10:00:00Z""#), Timestamp::new(1_736_935_200, 0).unwrap());
        let t = Timestamp::new(1_736_935_265, 250_000_000).unwrap();
        assert_eq!(read(r#""2025-01-15T10:01:05.250Z""#), t);
        assert_eq!(read(r#""2025-01-15T11:01:05.25+01:00""#), t);
        assert_eq!(read(&format!("\"{}\"", text(t))), t);
    }
}
