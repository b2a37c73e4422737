//! A trunk's rate deck compiled for lookup: the rate for a number is the row with the longest
//! prefix of its E.164 digits (`4477` beats `447` beats `44`; an empty prefix is a default).
//!
//! Decks have tens of thousands of rows, and every outbound call looks up each trunk of its
//! route, so a lookup is at most one hash probe per prefix length present in the deck (at most
//! 16), without allocating.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crossbar_cdr::Rate;
use crossbar_config::RateRow;

/// Longest prefix a rate can have: E.164 numbers have at most 15 digits.
pub const MAX_PREFIX_DIGITS: usize = 15;

/// One trunk's rates, keyed by prefix.
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    /// Key: the prefix's digits as a number, times 16, plus its length (so `044` and `44`
    /// differ).
    rates: HashMap<u64, Rate, BuildHasherDefault<PrefixHasher>>,
    /// Bit `n` set: some prefix has `n` digits.
    lengths: u32,
}

/// Why a rate row cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPrefix(pub String);

impl RateTable {
    /// Compiles `rows` in order: a later row for the same prefix replaces an earlier one.
    /// A prefix may be written with a leading `+`.
    pub fn compile(rows: &[RateRow]) -> Result<RateTable, BadPrefix> {
        let mut table = RateTable::default();
        table.rates.reserve(rows.len());
        for row in rows {
            let digits = row.prefix.strip_prefix('+').unwrap_or(&row.prefix);
            if digits.len() > MAX_PREFIX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BadPrefix(row.prefix.clone()));
            }
            let key = key(prefix_value(digits.as_bytes()), digits.len());
            table.rates.insert(key, row.rate);
            table.lengths |= 1 << digits.len();
        }
        Ok(table)
    }

    /// The rate of the longest prefix of `digits` (E.164 digits without `+`), if any.
    pub fn lookup(&self, digits: &str) -> Option<Rate> {
        let digits = digits.as_bytes();
        let longest = digits.len().min(MAX_PREFIX_DIGITS);
        // values[n] = the first n digits as a number.
        let mut values = [0u64; MAX_PREFIX_DIGITS + 1];
        for (n, d) in digits[..longest].iter().enumerate() {
            if !d.is_ascii_digit() {
                return None;
            }
            values[n + 1] = values[n] * 10 + u64::from(d - b'0');
        }
        (0..=longest)
            .rev()
            .filter(|n| self.lengths & (1 << n) != 0)
            .find_map(|n| self.rates.get(&key(values[n], n)).copied())
    }

    pub fn len(&self) -> usize {
        self.rates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
}

fn prefix_value(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0, |value, d| value * 10 + u64::from(d - b'0'))
}

fn key(value: u64, len: usize) -> u64 {
    // 10^15 * 16 < 2^54: no overflow.
    value * 16 + len as u64
}

/// Hashes the already well-spread `u64` keys with the MurmurHash3 finaliser: the default
/// SipHash costs more than the rest of a lookup, and the keys are not attacker-chosen
/// (they come from the configuration; dialled numbers only probe them).
#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).rotate_left(5);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_cdr::{Increment, Money};

    fn row(prefix: &str, per_minute: i64) -> RateRow {
        RateRow {
            prefix: prefix.to_owned(),
            rate: Rate {
                per_minute: Money(per_minute),
                connection_fee: Money::ZERO,
                increment: Increment::PER_MINUTE,
            },
        }
    }

    fn per_minute(table: &RateTable, digits: &str) -> Option<i64> {
        table.lookup(digits).map(|r| r.per_minute.0)
    }

    #[test]
    fn the_longest_matching_prefix_wins() {
        let table = RateTable::compile(&[row("44", 10), row("4477", 30), row("447", 20)])
            .expect("valid prefixes");
        assert_eq!(per_minute(&table, "447712345678"), Some(30));
        assert_eq!(per_minute(&table, "447612345678"), Some(20));
        assert_eq!(per_minute(&table, "442079460000"), Some(10));
        assert_eq!(per_minute(&table, "33123456789"), None);
    }

    #[test]
    fn an_empty_prefix_is_the_default_and_a_plus_is_ignored() {
        let table = RateTable::compile(&[row("", 99), row("+33", 5)]).expect("valid prefixes");
        assert_eq!(per_minute(&table, "33123456789"), Some(5));
        assert_eq!(per_minute(&table, "12015550123"), Some(99));
    }

    #[test]
    fn a_later_row_for_the_same_prefix_replaces_an_earlier_one() {
        let table = RateTable::compile(&[row("44", 10), row("44", 12)]).expect("valid prefixes");
        assert_eq!(table.len(), 1);
        assert_eq!(per_minute(&table, "442079460000"), Some(12));
    }

    #[test]
    fn leading_zeros_are_part_of_the_prefix() {
        let table = RateTable::compile(&[row("044", 7)]).expect("valid prefixes");
        assert_eq!(per_minute(&table, "442079460000"), None);
        assert_eq!(per_minute(&table, "0442079460000"), Some(7));
    }

    #[test]
    fn prefixes_that_are_not_digits_are_refused() {
        assert!(RateTable::compile(&[row("44x", 1)]).is_err());
        assert!(RateTable::compile(&[row("1234567890123456", 1)]).is_err());
    }
}
