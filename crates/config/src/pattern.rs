//! The text form of a [`NumberPattern`] — what `[inbound] blocklist`, an inbound route's
//! `dids` and `callers`, `crossbar blocklist add` and `POST /api/blocklist` accept — and
//! which numbers a pattern matches. One parser, so a pattern the configuration accepts is
//! accepted by the API and the command line, and the other way round.
//!
//! The forms (numbers in E.164, ITU-T E.164 §6.1: `+`, a country code not starting with 0,
//! 2–15 digits in all):
//!
//! | text | pattern | matches |
//! |---|---|---|
//! | `+442079460000` | [`NumberPattern::Exact`] | that number |
//! | `+4420794600*` | [`NumberPattern::Prefix`] | every number starting with `+4420794600` (1–15 digits before `*`) |
//! | `+442079460000-+442079460099` | [`NumberPattern::Range`] | the numbers from one to the other, both included, all of the same length |
//!
//! Surrounding spaces are ignored; spaces or punctuation inside a number are not accepted
//! (the numbers compared are normalised E.164, which has none).

use std::fmt;

use crate::inbound::NumberPattern;
use crate::number::{MAX_E164_DIGITS, check_e164};

/// What a number pattern is, for messages.
pub const NUMBER_PATTERN_RULE: &str = "an E.164 number (+442079460000), a prefix ending in `*` \
     (+4420794600*) or a range of numbers of the same length (+442079460000-+442079460099)";

impl NumberPattern {
    /// Reads a pattern in one of the forms of the module documentation; the error says what
    /// is wrong with `text`, in words for the person who typed it.
    pub fn parse(text: &str) -> Result<NumberPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!(
                "a number pattern must not be empty: use {NUMBER_PATTERN_RULE}"
            ));
        }
        if let Some(prefix) = text.strip_suffix('*') {
            return check_prefix(prefix).map(|()| NumberPattern::Prefix(prefix.to_owned()));
        }
        if let Some((from, to)) = text.split_once('-') {
            let (from, to) = (from.trim(), to.trim());
            check_e164(from).map_err(|e| format!("range start: {e}"))?;
            check_e164(to).map_err(|e| format!("range end: {e}"))?;
            if from.len() != to.len() {
                return Err(format!(
                    "`{text}`: the ends of a range have the same number of digits"
                ));
            }
            // Same length, digits only: comparing the text compares the numbers.
            if from > to {
                return Err(format!("`{text}`: the range starts after it ends"));
            }
            return Ok(NumberPattern::Range {
                from: from.to_owned(),
                to: to.to_owned(),
            });
        }
        if text.contains('*') {
            return Err(format!(
                "`{text}`: `*` may only end a prefix (+4420794600*)"
            ));
        }
        check_e164(text)?;
        Ok(NumberPattern::Exact(text.to_owned()))
    }

    /// Whether `number` (E.164, `+` and digits) is one of the pattern's numbers. A number in
    /// any other form matches nothing but an exact pattern of the same text.
    pub fn matches(&self, number: &str) -> bool {
        match self {
            NumberPattern::Exact(exact) => number == exact,
            NumberPattern::Prefix(prefix) => number.starts_with(prefix.as_str()),
            NumberPattern::Range { from, to } => {
                number.len() == from.len()
                    && number.starts_with('+')
                    && number[1..].bytes().all(|b| b.is_ascii_digit())
                    && (from.as_str()..=to.as_str()).contains(&number)
            }
        }
    }
}

/// A prefix before `*`: `+`, then 1–15 digits, the first not 0.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let problem = match prefix.strip_prefix('+') {
        None => "it must start with `+` and the country code",
        Some("") => "give at least the country code before `*`",
        Some(digits) if !digits.bytes().all(|b| b.is_ascii_digit()) => {
            "after `+` use digits only, no spaces or punctuation, and `*` only at the end"
        }
        Some(digits) if digits.len() > MAX_E164_DIGITS => "it has at most 15 digits after `+`",
        Some(digits) if digits.starts_with('0') => "country codes do not start with 0",
        Some(_) => return Ok(()),
    };
    Err(format!(
        "`{prefix}*` is not a number prefix ({problem}; e.g. +4420794600*)"
    ))
}

impl fmt::Display for NumberPattern {
    /// The pattern in the form [`NumberPattern::parse`] reads (without spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberPattern::Exact(number) => f.write_str(number),
            NumberPattern::Prefix(prefix) => write!(f, "{prefix}*"),
            NumberPattern::Range { from, to } => write!(f, "{from}-{to}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NumberPattern {
        NumberPattern::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn the_three_forms_read_and_print_back() {
        assert_eq!(
            parse("+442079460000"),
            NumberPattern::Exact("+442079460000".into())
        );
        assert_eq!(
            parse(" +4420794600* "),
            NumberPattern::Prefix("+4420794600".into())
        );
        assert_eq!(
            parse("+442079460000-+442079460099"),
            NumberPattern::Range {
                from: "+442079460000".into(),
                to: "+442079460099".into()
            }
        );
        assert_eq!(parse("+44*"), NumberPattern::Prefix("+44".into()));
        for text in [
            "+442079460000",
            "+4420794600*",
            "+442079460000-+442079460099",
        ] {
            assert_eq!(parse(text).to_string(), text);
        }
        assert_eq!(
            parse("+442079460000 - +442079460099").to_string(),
            "+442079460000-+442079460099"
        );
    }

    #[test]
    fn a_bad_pattern_says_what_is_wrong() {
        let cases = [
            ("", "must not be empty"),
            ("442079460000", "must start with `+`"),
            ("+44 20 7946 0000", "digits only"),
            ("+044*", "do not start with 0"),
            ("*", "must start with `+`"),
            ("+*", "at least the country code"),
            ("+44*0*", "`*` only at the end"),
            ("+44*0", "`*` may only end a prefix"),
            ("+1234567890123456*", "at most 15 digits"),
            ("+442079460000-+4420794600", "same number of digits"),
            ("+442079460099-+442079460000", "starts after it ends"),
            ("+442079460000-", "range end"),
            ("anonymous", "must start with `+`"),
        ];
        for (text, expected) in cases {
            let error = NumberPattern::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn patterns_match_their_numbers_only() {
        let exact = parse("+442079460000");
        assert!(exact.matches("+442079460000"));
        assert!(!exact.matches("+4420794600001"));
        assert!(!exact.matches("+44207946000"));

        let prefix = parse("+4420794600*");
        assert!(prefix.matches("+4420794600"));
        assert!(prefix.matches("+442079460042"));
        assert!(!prefix.matches("+442079461000"));
        assert!(!prefix.matches("4420794600"));

        let range = parse("+442079460010-+442079460019");
        assert!(range.matches("+442079460010"));
        assert!(range.matches("+442079460015"));
        assert!(range.matches("+442079460019"));
        assert!(!range.matches("+442079460020"));
        assert!(!range.matches("+442079460009"));
        assert!(
            !range.matches("+4420794600150"),
            "longer numbers are not in it"
        );
        assert!(
            !range.matches("+44207946001"),
            "shorter numbers are not in it"
        );
        assert!(!range.matches("+44207946001x"));
    }
}
