//! The text form of a [`NumberPattern`] for those who type one outside the configuration
//! file — `crossbar blocklist add` and `POST /api/blocklist` — read by the parser of
//! `[inbound] blocklist` and an inbound route's `dids` and `callers`, so a pattern the
//! configuration accepts is accepted by the API and the command line, with the same errors,
//! and the other way round.
//!
//! The forms (numbers in E.164, ITU-T E.164 §6.1: `+`, a country code not starting with 0,
//! 2–15 digits in all):
//!
//! | text | pattern | matches ([`NumberPattern::matches`]) |
//! |---|---|---|
//! | `+442079460000` | [`NumberPattern::Exact`] | that number |
//! | `+4420794600*` | [`NumberPattern::Prefix`] | every number starting with `+4420794600` |
//! | `+442079460000-+442079460099` | [`NumberPattern::Range`] | the numbers from one to the other, both included, all of the same length |
//!
//! Surrounding spaces are ignored; spaces or punctuation inside a number are not accepted
//! (the numbers compared are normalised E.164, which has none). [`NumberPattern`]'s
//! `Display` prints the form read.

use crate::inbound::NumberPattern;
use crate::number::{PATTERN_FORMS, parse_number_pattern};

impl NumberPattern {
    /// Reads a pattern in one of the forms of the module documentation; the error says what
    /// is wrong with `text`, in words for the person who typed it.
    pub fn parse(text: &str) -> Result<NumberPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(format!(
                "a number pattern must not be empty: use {PATTERN_FORMS}"
            ));
        }
        parse_number_pattern(text)
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
        for text in [
            "+442079460000",
            "+4420794600*",
            "+442079460000-+442079460099",
        ] {
            assert_eq!(parse(text).to_string(), text);
        }
    }

    #[test]
    fn a_bad_pattern_says_what_is_wrong_as_the_configuration_does() {
        let cases = [
            ("", "must not be empty"),
            (" ", "must not be empty"),
            ("442079460000", "must start with `+`"),
            ("+44 20 7946 0000", "digits only"),
            ("+044*", "do not start with 0"),
            ("+44*0", "`*` may only end a prefix"),
            ("+442079460000-+4420794600", "same number of digits"),
            ("+442079460099-+442079460000", "ends before it starts"),
            ("anonymous", "must start with `+`"),
        ];
        for (text, expected) in cases {
            let error = NumberPattern::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
        assert_eq!(
            NumberPattern::parse(" +44*0 "),
            Err(parse_number_pattern("+44*0").expect_err("not a pattern"))
        );
    }
}
