//! What an outbound call costs: amounts of money, billing increments and per-trunk rates
//! (DESIGN.md §2 "cost"), and the destination classes numbers fall into.
//!
//! Money is counted in whole millionths of the site's currency unit ([`Money`]), so sums over
//! a year of calls are exact and a rate written `0.0125` in a rate deck is that, not its
//! nearest binary fraction.

use std::fmt;
use std::str::FromStr;

/// An amount of money in millionths of the site's currency unit (`Money(10_000)` is 0.01).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct Money(pub i64);

/// Millionths in one currency unit.
const MICROS: i64 = 1_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    /// The amount in currency units, for display and JSON (rounding to a millionth is exact).
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICROS as f64
    }

    /// The amount nearest to `units` currency units (half away from zero), for values read
    /// from TOML numbers. `None` for NaN, infinities and amounts beyond ±9 trillion units.
    pub fn from_f64(units: f64) -> Option<Money> {
        let micros = (units * MICROS as f64).round();
        (micros.is_finite() && micros.abs() < 9.0e18).then_some(Money(micros as i64))
    }

    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        self.saturating_add(other)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Money::saturating_add)
    }
}

/// Four decimals by default (`0.0125`), more only when the amount has them (`0.000125`).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let units = abs / MICROS as u64;
        let mut fraction = format!("{:06}", abs % MICROS as u64);
        while fraction.len() > 4 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{sign}{units}.{fraction}")
    }
}

/// Why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an amount (digits with at most six decimals, e.g. 0.0125)")]
pub struct MoneyError(pub String);

/// Parses `12`, `0.0125`, `-1.5`: digits with an optional point and at most six decimals.
impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Money, MoneyError> {
        let error = || MoneyError(text.to_owned());
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() > 6
            || whole.len() > 12
        {
            return Err(error());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| error())?
        };
        let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| error())?;
        let micros = whole * MICROS + fraction;
        Ok(Money(if negative { -micros } else { micros }))
    }
}

/// A billing increment `first/next` (e.g. `60/60`, `30/6`, `1/1`): an answered call is billed
/// at least `first` seconds, then in steps of `next` seconds, each started step in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Increment {
    pub first_secs: u32,
    pub next_secs: u32,
}

impl Increment {
    /// Per-minute billing, the usual default.
    pub const PER_MINUTE: Increment = Increment {
        first_secs: 60,
        next_secs: 60,
    };

    /// Seconds billed for a call answered for `talk_ms` milliseconds: 0 for 0 ms, else at
    /// least `first_secs`, then whole steps of `next_secs` (a started second counts in full).
    pub fn billed_secs(self, talk_ms: u64) -> u64 {
        if talk_ms == 0 {
            return 0;
        }
        let talk = talk_ms.div_ceil(1000);
        let first = u64::from(self.first_secs);
        if talk <= first {
            return first.max(1);
        }
        let next = u64::from(self.next_secs.max(1));
        first + (talk - first).div_ceil(next) * next
    }
}

impl fmt::Display for Increment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first_secs, self.next_secs)
    }
}

/// Why a text is not a billing increment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a billing increment (first/next seconds, e.g. 60/60, 30/6, 1/1)")]
pub struct IncrementError(pub String);

impl FromStr for Increment {
    type Err = IncrementError;

    fn from_str(text: &str) -> Result<Increment, IncrementError> {
        let error = || IncrementError(text.to_owned());
        let (first, next) = text.trim().split_once('/').ok_or_else(error)?;
        let parse = |s: &str| -> Result<u32, IncrementError> {
            match s.trim().parse::<u32>() {
                Ok(n) if (1..=3600).contains(&n) => Ok(n),
                _ => Err(error()),
            }
        };
        Ok(Increment {
            first_secs: parse(first)?,
            next_secs: parse(next)?,
        })
    }
}

/// What a trunk charges for calls to a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Rate {
    pub per_minute: Money,
    /// Charged once for every answered call.
    pub connection_fee: Money,
    pub increment: Increment,
}

impl Rate {
    /// The cost of a call answered for `talk_ms` milliseconds: nothing if it was never
    /// answered (`talk_ms` is `None`), else the connection fee plus the billed seconds at
    /// the per-minute rate (rounded to the nearest millionth).
    pub fn cost(&self, talk_ms: Option<u64>) -> Money {
        let Some(talk_ms) = talk_ms else {
            return Money::ZERO;
        };
        let billed = i128::from(self.increment.billed_secs(talk_ms));
        let per_minute = i128::from(self.per_minute.0);
        let usage = (billed * per_minute + 30).div_euclid(60);
        Money(
            i64::try_from(usage)
                .unwrap_or(i64::MAX)
                .saturating_add(self.connection_fee.0),
        )
    }
}

/// DESIGN.md §2: the class a normalised number falls into, which classes of service allow or
/// deny and reports split cost by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum DestinationClass {
    Emergency,
    Internal,
    Local,
    National,
    Mobile,
    TollFree,
    Premium,
    International,
}

impl DestinationClass {
    pub const ALL: [DestinationClass; 8] = [
        DestinationClass::Emergency,
        DestinationClass::Internal,
        DestinationClass::Local,
        DestinationClass::National,
        DestinationClass::Mobile,
        DestinationClass::TollFree,
        DestinationClass::Premium,
        DestinationClass::International,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DestinationClass::Emergency => "emergency",
            DestinationClass::Internal => "internal",
            DestinationClass::Local => "local",
            DestinationClass::National => "national",
            DestinationClass::Mobile => "mobile",
            DestinationClass::TollFree => "toll_free",
            DestinationClass::Premium => "premium",
            DestinationClass::International => "international",
        }
    }

    /// The class named by [`DestinationClass::as_str`]'s text.
    pub fn parse(text: &str) -> Option<DestinationClass> {
        DestinationClass::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

impl fmt::Display for DestinationClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_minute: &str, fee: &str, increment: &str) -> Rate {
        Rate {
            per_minute: per_minute.parse().expect("amount"),
            connection_fee: fee.parse().expect("amount"),
            increment: increment.parse().expect("increment"),
        }
    }

    #[test]
    fn amounts_parse_exactly_and_print_with_four_decimals_or_more() {
        assert_eq!("0.0125".parse::<Money>(), Ok(Money(12_500)));
        assert_eq!("12".parse::<Money>(), Ok(Money(12_000_000)));
        assert_eq!(".5".parse::<Money>(), Ok(Money(500_000)));
        assert_eq!("-1.5".parse::<Money>(), Ok(Money(-1_500_000)));
        assert!("0.0000001".parse::<Money>().is_err());
        assert!("1,5".parse::<Money>().is_err());
        assert!("".parse::<Money>().is_err());
        assert_eq!(Money(12_500).to_string(), "0.0125");
        assert_eq!(Money(10_000).to_string(), "0.0100");
        assert_eq!(Money(125).to_string(), "0.000125");
        assert_eq!(Money(-1_500_000).to_string(), "-1.5000");
        assert_eq!(Money::from_f64(0.01), Some(Money(10_000)));
        assert_eq!(Money::from_f64(f64::NAN), None);
    }

    #[test]
    fn increments_bill_the_first_step_whole_then_started_steps() {
        let per_minute: Increment = "60/60".parse().expect("increment");
        assert_eq!(per_minute.billed_secs(0), 0);
        assert_eq!(per_minute.billed_secs(1), 60);
        assert_eq!(per_minute.billed_secs(60_000), 60);
        assert_eq!(per_minute.billed_secs(60_001), 120);
        let thirty_six: Increment = "30/6".parse().expect("increment");
        assert_eq!(thirty_six.billed_secs(10_000), 30);
        assert_eq!(thirty_six.billed_secs(31_000), 36);
        assert_eq!(thirty_six.billed_secs(36_000), 36);
        assert_eq!(thirty_six.billed_secs(36_500), 42);
        let per_second: Increment = "1/1".parse().expect("increment");
        assert_eq!(per_second.billed_secs(61_200), 62);
        assert!("0/60".parse::<Increment>().is_err());
        assert!("60".parse::<Increment>().is_err());
    }

    #[test]
    fn cost_is_the_connection_fee_plus_billed_time_and_nothing_unanswered() {
        let r = rate("0.012", "0.05", "60/60");
        assert_eq!(r.cost(None), Money::ZERO);
        // 90 s → 120 s billed = 2 minutes × 0.012 + 0.05.
        assert_eq!(r.cost(Some(90_000)), "0.074".parse().expect("amount"));
        let r = rate("0.06", "0", "1/1");
        // 61 s at 0.06/min = 0.061.
        assert_eq!(r.cost(Some(61_000)), "0.061".parse().expect("amount"));
        let r = rate("0.0125", "0", "30/6");
        // 5 minutes = 300 s billed → 0.0625.
        assert_eq!(r.cost(Some(300_000)), "0.0625".parse().expect("amount"));
    }

    #[test]
    fn destination_classes_round_trip_their_names() {
        for class in DestinationClass::ALL {
            assert_eq!(DestinationClass::parse(class.as_str()), Some(class));
        }
        assert_eq!(DestinationClass::parse("tollfree"), None);
    }
}
