//! Kubernetes resource quantities (`100m`, `1.5`, `64Mi`, `1e3`), read exactly as thousandths
//! of a unit, so that sums, comparisons and the downward API's rounding are exact
//! (apimachinery pkg/api/resource).

/// A quantity in thousandths of its unit (`100m` is 100, `1` is 1000, `1Ki` is 1024000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Milli(pub i128);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
pub struct QuantityError;

/// Parses a quantity; fractions finer than a thousandth are rounded up, as Kubernetes rounds
/// `MilliValue`.
pub fn parse(text: &str) -> Result<Milli, QuantityError> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let (negative, digits) = match number.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(QuantityError);
    }
    // value = mantissa / 10^scale, times the suffix.
    let mantissa: i128 = format!("{int}{frac}").parse().map_err(|_| QuantityError)?;
    let scale = frac.len() as u32;
    let (num, den): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| QuantityError)?;
            if exp.unsigned_abs() > 18 {
                return Err(QuantityError);
            }
            if exp >= 0 {
                (10i128.pow(exp as u32), 1)
            } else {
                (1, 10i128.pow(exp.unsigned_abs()))
            }
        }
        _ => return Err(QuantityError),
    };
    let numerator = mantissa.checked_mul(num).and_then(|v| v.checked_mul(1000)).ok_or(QuantityError)?;
    let denominator = den.checked_mul(10i128.pow(scale)).ok_or(QuantityError)?;
    let milli = (numerator + denominator - 1) / denominator;
    Ok(Milli(if negative { -milli } else { milli }))
}

/// `value / divisor`, rounded up to a whole number (the downward API's rule for a
/// resourceFieldRef: `ceil(value / divisor)`).
pub fn divide_ceil(value: Milli, divisor: Milli) -> i128 {
    if divisor.0 <= 0 {
        return 0;
    }
    (value.0 + divisor.0 - 1).div_euclid(divisor.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_exactly() {
        assert_eq!(parse("100m"), Ok(Milli(100)));
        assert_eq!(parse("1.5"), Ok(Milli(1500)));
        assert_eq!(parse("1Ki"), Ok(Milli(1_024_000)));
        assert_eq!(parse("64Mi"), Ok(Milli(64 * 1024 * 1024 * 1000)));
        assert_eq!(parse("1e3"), Ok(Milli(1_000_000)));
        assert_eq!(parse("1k"), Ok(Milli(1_000_000)));
        assert_eq!(parse("1n"), Ok(Milli(1)));
        assert_eq!(parse("x"), Err(QuantityError));
        assert_eq!(parse("1Qi"), Err(QuantityError));
    }

    #[test]
    fn division_rounds_up() {
        assert_eq!(divide_ceil(parse("250m").unwrap(), parse("1").unwrap()), 1);
        assert_eq!(divide_ceil(parse("250m").unwrap(), parse("1m").unwrap()), 250);
        assert_eq!(divide_ceil(parse("64Mi").unwrap(), parse("1Mi").unwrap()), 64);
        assert_eq!(divide_ceil(parse("0").unwrap(), parse("1").unwrap()), 0);
    }
}
