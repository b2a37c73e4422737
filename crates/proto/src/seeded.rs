//! A seeded pseudo-random source for the UAC machines: Call-IDs, tags, cnonces and back-off
//! jitter. The run loop seeds it from the OS so identifiers differ across restarts (RFC 3261
//! §8.1.1.4, §19.3); tests seed it with a constant and get the same run every time.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and every seed gives a full-period
/// sequence. Not for secrets — nothing here needs to be unguessable beyond being unique.
#[derive(Debug, Clone)]
pub(crate) struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        SeededRng { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 16 hex digits: a tag (§19.3) or a cnonce (RFC 7616 §3.4).
    pub(crate) fn token(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }

    /// 32 hex digits: a Call-ID (§8.1.1.4).
    pub(crate) fn call_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::SeededRng;

    #[test]
    fn one_seed_gives_one_sequence_and_seeds_differ() {
        let draw = |seed| {
            let mut rng = SeededRng::new(seed);
            [rng.next_u64(), rng.next_u64(), rng.next_u64()]
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let [a, b, c] = draw(7);
        assert!(a != b && b != c && a != c);
    }

    #[test]
    fn tokens_are_fixed_width_hex() {
        let mut rng = SeededRng::new(0);
        let token = rng.token();
        assert_eq!(token.len(), 16);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(rng.call_id().len(), 32);
    }
}
