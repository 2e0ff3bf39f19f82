//! Randomness from the operating system's generator (`getrandom`): tokens, temporary names, and
//! the suffixes of Kubernetes' name generator (`names.SimpleNameGenerator`).

/// `N` bytes from the operating system's generator.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator answers");
    bytes
}

/// A number from the operating system's generator.
pub fn u64() -> u64 {
    u64::from_ne_bytes(bytes())
}

/// Kubernetes' alphabet for generated names: no vowels, no 0, 1 or 3.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A generated name's suffix (`generateName`, a pod's `kube-api-access-` volume): 5 characters
/// of Kubernetes' alphabet, each equally likely.
pub fn name_suffix() -> String {
    // 27 letters: a byte below 243 (9 x 27) picks one evenly; a byte at or above is drawn again.
    let limit = (256 / NAME_ALPHABET.len() * NAME_ALPHABET.len()) as u16;
    let mut suffix = String::with_capacity(5);
    while suffix.len() < 5 {
        for b in bytes::<8>() {
            if u16::from(b) < limit && suffix.len() < 5 {
                suffix.push(NAME_ALPHABET[usize::from(b) % NAME_ALPHABET.len()] as char);
            }
        }
    }
    suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_suffix_is_five_letters_of_the_alphabet_and_draws_every_one() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let suffix = name_suffix();
            assert_eq!(suffix.len(), 5, "{suffix}");
            assert!(suffix.bytes().all(|c| NAME_ALPHABET.contains(&c)), "{suffix}");
            seen.extend(suffix.bytes());
        }
        // 10,000 letters: the chance that one of 27 equally likely letters never came is below 1e-150.
        assert_eq!(seen.len(), NAME_ALPHABET.len(), "{:?}", String::from_utf8_lossy(&seen.into_iter().collect::<Vec<_>>()));
    }

    #[test]
    fn two_draws_differ() {
        assert_ne!(bytes::<32>(), bytes::<32>());
    }
}
