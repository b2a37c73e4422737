//! The shapes of the numbers and dial codes the configuration holds: E.164 numbers (caller
//! IDs), rate prefixes, the short codes dialled on the site (emergency numbers, the outside
//! line, the privacy prefix), and the patterns inbound routes and the blocklist match numbers
//! with.

use crate::inbound::NumberPattern;

/// Longest E.164 number, in digits (ITU-T E.164 §6.1).
pub const MAX_E164_DIGITS: usize = 15;

/// An E.164 number in `+` form: `+`, a country code (never starting with 0), 2–15 digits in
/// all (ITU-T E.164 §6.1). Spaces and punctuation are not accepted: caller IDs are sent as
/// written.
pub(crate) fn check_e164(number: &str) -> Result<(), String> {
    match e164_problem(number) {
        Some(problem) => Err(format!(
            "`{number}` is not an E.164 number ({problem}; e.g. +442079460000)"
        )),
        None => Ok(()),
    }
}

/// What keeps `number` from being an E.164 number, if anything.
fn e164_problem(number: &str) -> Option<&'static str> {
    match number.strip_prefix('+') {
        None => Some("it must start with `+` and the country code"),
        Some(digits) if !digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some("after `+` use digits only, no spaces or punctuation")
        }
        Some(digits) if digits.len() < 2 || digits.len() > MAX_E164_DIGITS => {
            Some("it has 2 to 15 digits after `+`")
        }
        Some(digits) if digits.starts_with('0') => Some("country codes do not start with 0"),
        Some(_) => None,
    }
}

/// What a rate prefix is, for messages.
pub(crate) const PREFIX_RULE: &str =
    "1 to 15 digits of an E.164 number, with or without `+` (e.g. +44 or 447)";

/// A rate prefix: E.164 digits with or without a leading `+` (`+44`, `4420`), 1–15 of them
/// (see [`PREFIX_RULE`]). Returns the digits without `+`.
pub(crate) fn rate_prefix(prefix: &str) -> Option<String> {
    let digits = prefix.strip_prefix('+').unwrap_or(prefix);
    (!digits.is_empty()
        && digits.len() <= MAX_E164_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then(|| digits.to_owned())
}

/// A code dialled on a phone: 1–15 of `0-9`, `*`, `#` (`9`, `141`, `*67`). `digits_only`
/// refuses `*` and `#` (emergency numbers).
pub(crate) fn check_dial_code(code: &str, digits_only: bool) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_digit() || (!digits_only && matches!(c, '*' | '#'));
    if code.is_empty() {
        Err("must not be empty (leave the key out instead)".to_owned())
    } else if code.len() > MAX_E164_DIGITS {
        Err(format!("`{code}` is too long: at most 15 characters"))
    } else if let Some(bad) = code.chars().find(|c| !allowed(*c)) {
        let allowed = if digits_only {
            "digits 0-9 only"
        } else {
            "digits 0-9, `*` and `#` only"
        };
        Err(format!("`{code}` contains `{bad}`: use {allowed}"))
    } else {
        Ok(())
    }
}

/// The forms of a number pattern, for messages.
pub(crate) const PATTERN_FORMS: &str = "an E.164 number (+442079460000), a prefix ending in `*` \
     (+4420794601*), or a range of numbers of the same length (+442079460200-+442079460299)";

/// A pattern on E.164 numbers: `+442079460000` (exact), `+4420794601*` (every number starting
/// with the digits before `*`, at least one of them), `+442079460200-+442079460299` (every
/// number of that length from the first to the last, both included).
pub(crate) fn parse_number_pattern(text: &str) -> Result<NumberPattern, String> {
    let invalid =
        |problem: &str| format!("`{text}` is not a number pattern: {problem}; use {PATTERN_FORMS}");
    if let Some(prefix) = text.strip_suffix('*') {
        let Some(digits) = prefix.strip_prefix('+') else {
            return Err(invalid("it must start with `+` and the country code"));
        };
        if digits.is_empty() {
            return Err(invalid(
                "give at least one digit before `*` (leave the list out to match every number)",
            ));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "use digits between `+` and `*`, and `*` only at the end",
            ));
        }
        if digits.starts_with('0') {
            return Err(invalid("country codes do not start with 0"));
        }
        if digits.len() >= MAX_E164_DIGITS {
            return Err(invalid(
                "the prefix is as long as a whole E.164 number: leave out `*`",
            ));
        }
        return Ok(NumberPattern::Prefix(prefix.to_owned()));
    }
    if let Some((from, to)) = text.split_once('-') {
        let end = |number: &str| -> Result<(), String> {
            check_e164(number).map_err(|e| format!("`{text}`: the range's end {e}"))
        };
        end(from)?;
        end(to)?;
        if from.len() != to.len() {
            return Err(format!(
                "`{text}`: both ends of a range have the same number of digits ({from} has {}, \
                 {to} has {})",
                from.len() - 1,
                to.len() - 1
            ));
        }
        // Same length, digits only: comparing the text compares the numbers.
        if from > to {
            return Err(format!(
                "`{text}`: the range ends before it starts (write {to}-{from})"
            ));
        }
        return Ok(NumberPattern::Range {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    if text.contains('*') {
        return Err(invalid("`*` may only end a prefix"));
    }
    match e164_problem(text) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(NumberPattern::Exact(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_are_plus_and_two_to_fifteen_digits() {
        assert!(check_e164("+442079460000").is_ok());
        assert!(check_e164("+12").is_ok());
        assert!(check_e164("+123456789012345").is_ok());
        for bad in [
            "442079460000",
            "+4",
            "+1234567890123456",
            "+44 20 7946 0000",
            "+044",
            "",
            "+",
        ] {
            assert!(check_e164(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rate_prefixes_lose_their_plus() {
        assert_eq!(rate_prefix("+44").as_deref(), Some("44"));
        assert_eq!(rate_prefix("447").as_deref(), Some("447"));
        assert_eq!(rate_prefix("+"), None);
        assert_eq!(rate_prefix("44a"), None);
        assert_eq!(rate_prefix("++44"), None);
        assert_eq!(rate_prefix("1234567890123456"), None);
    }

    #[test]
    fn dial_codes_allow_star_and_hash_unless_digits_only() {
        assert!(check_dial_code("*67", false).is_ok());
        assert!(check_dial_code("*67", true).is_err());
        assert!(check_dial_code("999", true).is_ok());
        assert!(check_dial_code("", false).is_err());
        assert!(check_dial_code("9 9", false).is_err());
    }

    #[test]
    fn number_patterns_are_exact_prefix_or_range() {
        let ok = |text: &str| parse_number_pattern(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ok("+442079460000"),
            NumberPattern::Exact("+442079460000".to_owned())
        );
        assert_eq!(ok("+44900*"), NumberPattern::Prefix("+44900".to_owned()));
        assert_eq!(
            ok("+442079460200-+442079460299"),
            NumberPattern::Range {
                from: "+442079460200".to_owned(),
                to: "+442079460299".to_owned()
            }
        );
        assert_eq!(
            ok("+442079460200-+442079460200"),
            NumberPattern::Range {
                from: "+442079460200".to_owned(),
                to: "+442079460200".to_owned()
            }
        );
        for (bad, problem) in [
            ("442079460000", "must start with `+`"),
            ("+*", "at least one digit"),
            ("44*", "must start with `+`"),
            ("+4*4*", "digits between `+` and `*`"),
            ("+0*", "do not start with 0"),
            ("+123456789012345*", "as long as a whole E.164 number"),
            ("+44*1", "`*` may only end a prefix"),
            ("+4420794602-+442079460299", "same number of digits"),
            ("+442079460299-+442079460200", "ends before it starts"),
            ("+442079460200-442079460299", "range's end"),
            ("+44 20 7946 0000", "digits only"),
        ] {
            let error = parse_number_pattern(bad).expect_err(bad);
            assert!(error.contains(problem), "{bad}: {error}");
        }
    }
}
