//! What a dialled string means as a telephone number: cleaned of visual separators, normalised
//! to E.164 (ITU-T E.164) from the site's country, classified into a destination class, and
//! written the way a trunk wants it. Emergency numbers are recognised here too.
//!
//! This module is the only place that talks to the phone-number library (`rlibphonenumber`,
//! libphonenumber's metadata): the rest of the crate sees [`Number`] and [`NumberProblem`].

use std::fmt;

use crossbar_cdr::DestinationClass;
use crossbar_config::{CountryCode, NumberFormat, Site};
use rlibphonenumber::{
    PHONE_NUMBER_UTIL, ParseError, PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region,
};

use crate::error::PlanError;

/// Emergency numbers by country (ISO 3166-1 alpha-2), used when `[site] emergency_numbers` is
/// empty. Every other country gets [`DEFAULT_EMERGENCY`] (112, the number GSM phones and the
/// EU route everywhere).
const EMERGENCY_BY_COUNTRY: &[(&str, &[&str])] = &[
    ("GB", &["999", "112"]),
    ("IE", &["999", "112"]),
    ("US", &["911"]),
    ("CA", &["911"]),
    ("MX", &["911"]),
    (
        "FR",
        &[
            "112", "15", "17", "18", "114", "115", "119", "191", "196", "197",
        ],
    ),
    ("DE", &["110", "112"]),
    ("AT", &["112", "122", "133", "144"]),
    ("CH", &["112", "117", "118", "144"]),
    ("BE", &["112", "100", "101"]),
    ("IT", &["112", "113", "115", "118"]),
    ("ES", &["112", "091", "092"]),
    ("PL", &["112", "997", "998", "999"]),
    ("AU", &["000", "112"]),
    ("NZ", &["111", "112"]),
    ("JP", &["110", "119", "118"]),
    ("BR", &["190", "192", "193"]),
    ("IN", &["112", "100", "101", "102", "108"]),
];

/// The emergency number of every country not in the table.
pub const DEFAULT_EMERGENCY: &[&str] = &["112"];

/// The emergency numbers crossbar assumes for `country` when `[site] emergency_numbers` is
/// empty (and for no country: [`DEFAULT_EMERGENCY`]).
pub fn default_emergency_numbers(country: Option<CountryCode>) -> &'static [&'static str] {
    country
        .and_then(|c| {
            EMERGENCY_BY_COUNTRY
                .iter()
                .find(|(code, _)| *code == c.as_str())
                .map(|(_, numbers)| *numbers)
        })
        .unwrap_or(DEFAULT_EMERGENCY)
}

/// Why a dialled string is not a number crossbar can route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberProblem {
    /// Letters or other characters that are neither digits nor visual separators.
    NotANumber,
    /// Not in `+E.164` form and `[site] country` is not set, so there is no country to read
    /// it in.
    NoSiteCountry,
    /// `+` or an international prefix followed by no country's calling code.
    InvalidCountryCode,
    /// Too few digits to be a number (a digit missing, or a short code crossbar does not know).
    TooShort,
    TooLong,
    /// A plausible length, but no number in service has this shape (an unallocated range, a
    /// typo, or a range reserved for drama like `07700 900xxx` in GB).
    NotInService,
}

impl NumberProblem {
    /// A short stable code (`too_short`, `not_in_service`, ...).
    pub fn code(self) -> &'static str {
        match self {
            NumberProblem::NotANumber => "not_a_number",
            NumberProblem::NoSiteCountry => "no_site_country",
            NumberProblem::InvalidCountryCode => "invalid_country_code",
            NumberProblem::TooShort => "too_short",
            NumberProblem::TooLong => "too_long",
            NumberProblem::NotInService => "not_in_service",
        }
    }
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumberProblem::NotANumber => "is neither an extension nor a telephone number",
            NumberProblem::NoSiteCountry => {
                "cannot be read without a country: dial it as +E.164 or set [site] country"
            }
            NumberProblem::InvalidCountryCode => "does not start with a known country code",
            NumberProblem::TooShort => "is too short to be a telephone number (incomplete?)",
            NumberProblem::TooLong => "is too long to be a telephone number",
            NumberProblem::NotInService => "is not a valid telephone number",
        })
    }
}

/// A dialled number normalised to E.164 and classified.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    /// `+441632960001`.
    pub e164: String,
    pub class: DestinationClass,
    /// ISO 3166-1 alpha-2 of the number's country; `None` for non-geographic numbers
    /// (`+800`, `+882`, ...).
    pub region: Option<String>,
    phone: PhoneNumber,
}

impl Number {
    /// The E.164 digits without `+`, as rate prefixes are written.
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }
}

/// The site's numbering, compiled from `[site]` once per configuration.
#[derive(Debug)]
pub(crate) struct Numbering {
    site: Option<SiteNumbering>,
    emergency: Vec<String>,
}

#[derive(Debug)]
struct SiteNumbering {
    region: Region,
    calling_code: i32,
    /// Dialled before a country code from the site (`00`, `011` from NANP countries).
    international_prefix: String,
    /// National significant digits of the site's area (`20` for London).
    area_code: Option<String>,
    /// Whether the country's numbering plan lets a subscriber number be dialled without its
    /// area code (GB, US, DE do; FR's closed plan does not).
    local_dialling: bool,
}

impl Numbering {
    pub fn compile(site: &Site) -> Result<Numbering, PlanError> {
        let site_numbering = match site.country {
            Some(country) => Some(SiteNumbering::compile(country, site.area_code.as_deref())?),
            None => {
                if site.area_code.is_some() {
                    return Err(PlanError::NeedsCountry {
                        key: "site.area_code".to_owned(),
                    });
                }
                None
            }
        };
        let emergency: Vec<String> = if site.emergency_numbers.is_empty() {
            default_emergency_numbers(site.country)
                .iter()
                .map(|n| (*n).to_owned())
                .collect()
        } else {
            site.emergency_numbers.clone()
        };
        for (index, number) in emergency.iter().enumerate() {
            if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PlanError::InvalidValue {
                    key: format!("site.emergency_numbers[{}]", index + 1),
                    message: format!("`{number}` is not a short code (digits only, e.g. 112)"),
                });
            }
        }
        Ok(Numbering {
            site: site_numbering,
            emergency,
        })
    }

    /// The emergency numbers in force (configured, else the country's defaults).
    pub fn emergency_numbers(&self) -> &[String] {
        &self.emergency
    }

    pub fn is_emergency(&self, digits: &str) -> bool {
        self.emergency.iter().any(|e| e == digits)
    }

    /// Normalises `digits` (already [`clean`]ed, outside line and privacy prefix removed) to
    /// E.164 and classifies it.
    pub fn normalise(&self, digits: &str) -> Result<Number, NumberProblem> {
        if digits.is_empty() || digits.contains(['*', '#']) {
            return Err(NumberProblem::NotANumber);
        }
        let region = match &self.site {
            Some(site) => Some(site.region),
            None if digits.starts_with('+') => None,
            None => return Err(NumberProblem::NoSiteCountry),
        };
        let phone = PHONE_NUMBER_UTIL
            .parse(digits, region)
            .map_err(problem_of_parse_error)?;
        if let Some(number) = self.classify(&phone) {
            return Ok(number);
        }
        if let Some(number) = self.complete_with_area_code(digits, &phone) {
            return Ok(number);
        }
        Err(match phone.is_possible_with_reason() {
            Err(rlibphonenumber::ValidationError::TooShort) => NumberProblem::TooShort,
            Err(rlibphonenumber::ValidationError::TooLong) => NumberProblem::TooLong,
            Err(rlibphonenumber::ValidationError::InvalidCountryCode) => {
                NumberProblem::InvalidCountryCode
            }
            // A number only possible when dialled locally that could not be completed with
            // an area code is incomplete.
            Ok(rlibphonenumber::NumberLengthType::IsPossibleLocalOnly) => NumberProblem::TooShort,
            _ => NumberProblem::NotInService,
        })
    }

    /// `digits` (already [`clean`]ed) in E.164, for numbers crossbar is given rather than
    /// dialled (a caller's number, a DID): a valid number as [`Numbering::normalise`] reads
    /// it, else any number of a possible length for its country (a range the phone-number
    /// library does not know as allocated, such as the drama numbers `07700 900xxx`); `None`
    /// when it is not a number at all.
    pub fn to_e164(&self, digits: &str) -> Option<String> {
        if let Ok(number) = self.normalise(digits) {
            return Some(number.e164);
        }
        if digits.is_empty() || digits.contains(['*', '#']) {
            return None;
        }
        let region = match &self.site {
            Some(site) => Some(site.region),
            None if digits.starts_with('+') => None,
            None => return None,
        };
        let phone = PHONE_NUMBER_UTIL.parse(digits, region).ok()?;
        match phone.is_possible_with_reason() {
            Ok(rlibphonenumber::NumberLengthType::IsPossible) => {
                Some(phone.format_as(PhoneNumberFormat::E164).into_owned())
            }
            _ => None,
        }
    }

    /// A subscriber number dialled without its area code (`7946 0000` in London): completed
    /// with `[site] area_code` when the country allows local dialling and the result is a
    /// geographic number. Only when the dialled digits are the national significant number as
    /// they stand (no `+`, international or national prefix was stripped).
    fn complete_with_area_code(&self, digits: &str, phone: &PhoneNumber) -> Option<Number> {
        let site = self.site.as_ref()?;
        let area_code = site.area_code.as_deref()?;
        if !site.local_dialling
            || phone.country_code != site.calling_code
            || phone.get_national_significant_number() != digits
        {
            return None;
        }
        let completed = format!("+{}{area_code}{digits}", site.calling_code);
        let phone = PHONE_NUMBER_UTIL.parse(&completed, None).ok()?;
        if !phone.is_geographical() {
            return None;
        }
        self.classify(&phone)
    }

    /// The number's class and region, or `None` when it is not a valid number.
    fn classify(&self, phone: &PhoneNumber) -> Option<Number> {
        let region = phone.get_region_code()?;
        let domestic = self.site.as_ref().filter(|site| site.region == region);
        let class = match domestic {
            Some(site) => match phone.get_type() {
                PhoneNumberType::FixedLine => {
                    let in_area = site.area_code.as_deref().is_some_and(|area| {
                        phone.get_national_significant_number().starts_with(area)
                    });
                    if in_area {
                        DestinationClass::Local
                    } else {
                        DestinationClass::National
                    }
                }
                PhoneNumberType::Mobile => DestinationClass::Mobile,
                PhoneNumberType::TollFree => DestinationClass::TollFree,
                PhoneNumberType::PremiumRate | PhoneNumberType::SharedCost => {
                    DestinationClass::Premium
                }
                PhoneNumberType::FixedLineOrMobile
                | PhoneNumberType::VoIP
                | PhoneNumberType::PersonalNumber
                | PhoneNumberType::UAN
                | PhoneNumberType::Pager
                | PhoneNumberType::VoiceMail => DestinationClass::National,
                PhoneNumberType::Unknown => return None,
            },
            None => {
                // The region is known: validating against it alone costs half of
                // `is_valid`, which would look the region up again.
                if !phone.is_valid_for_region(region) {
                    return None;
                }
                DestinationClass::International
            }
        };
        let region = (region != Region::World).then(|| region.as_region_str().to_string());
        Some(Number {
            e164: phone.format_as(PhoneNumberFormat::E164).into_owned(),
            class,
            region,
            phone: phone.clone(),
        })
    }

    /// `number` written as a trunk with `format` wants it (before its strip and prepend).
    pub fn format(&self, number: &Number, format: NumberFormat) -> String {
        let Some(site) = &self.site else {
            // Without a site country only E.164 is possible (compile refuses the others).
            return number.e164.clone();
        };
        match format {
            NumberFormat::E164 => number.e164.clone(),
            NumberFormat::International => {
                format!("{}{}", site.international_prefix, number.digits())
            }
            NumberFormat::National => {
                let domestic = number
                    .region
                    .as_deref()
                    .is_some_and(|r| r == site.region.as_region_str().as_str());
                let written = if domestic {
                    number.phone.format_as(PhoneNumberFormat::National)
                } else {
                    // Same calling code (GB → JE) in national form, NANP → NANP with `1`,
                    // everything else with the site's international prefix.
                    PHONE_NUMBER_UTIL
                        .format_out_of_country_calling_number(&number.phone, site.region)
                };
                if written.starts_with('+') {
                    format!("{}{}", site.international_prefix, number.digits())
                } else {
                    written.chars().filter(char::is_ascii_digit).collect()
                }
            }
        }
    }

    pub fn has_country(&self) -> bool {
        self.site.is_some()
    }
}

impl SiteNumbering {
    fn compile(country: CountryCode, area_code: Option<&str>) -> Result<SiteNumbering, PlanError> {
        let unknown = || PlanError::UnknownCountry {
            key: "site.country".to_owned(),
            country: country.to_string(),
        };
        let region = Region::from_code(country.as_str()).map_err(|_| unknown())?;
        let calling_code = PHONE_NUMBER_UTIL
            .get_country_code_for_region(region)
            .ok_or_else(unknown)?;
        if let Some(area) = area_code
            && (area.is_empty() || !area.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(PlanError::InvalidValue {
                key: "site.area_code".to_owned(),
                message: format!(
                    "`{area}` is not an area code: national significant digits without the \
                     national prefix (e.g. 20 for London, 415 for San Francisco)"
                ),
            });
        }
        Ok(SiteNumbering {
            region,
            calling_code,
            international_prefix: international_prefix(region, calling_code),
            area_code: area_code.map(str::to_owned),
            local_dialling: allows_local_dialling(region),
        })
    }
}

/// The prefix dialled from `region` before a country code, read from how the library writes a
/// foreign number for a caller there. `00` (the ITU-T E.164 recommendation) when the country
/// has several and no preferred one.
fn international_prefix(region: Region, calling_code: i32) -> String {
    let foreign = if calling_code == 33 {
        Region::DE
    } else {
        Region::FR
    };
    let fallback = || "00".to_owned();
    let Ok(example) = PHONE_NUMBER_UTIL.get_example_number(foreign) else {
        return fallback();
    };
    let written = PHONE_NUMBER_UTIL.format_out_of_country_calling_number(&example, region);
    if written.starts_with('+') {
        return fallback();
    }
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    let e164 = example.format_as(PhoneNumberFormat::E164);
    match digits.strip_suffix(&e164[1..]) {
        Some(prefix) if !prefix.is_empty() => prefix.to_owned(),
        _ => fallback(),
    }
}

/// Whether a subscriber number can be dialled without the area code in `region`: the
/// library's example fixed line with its area code cut off still has a possible length.
fn allows_local_dialling(region: Region) -> bool {
    let Ok(example) = PHONE_NUMBER_UTIL
        .get_example_number_for_type_and_region(region, PhoneNumberType::FixedLine)
    else {
        return false;
    };
    let area_len = example.get_length_of_geographical_area_code();
    if area_len == 0 {
        return false;
    }
    let nsn = example.get_national_significant_number();
    let Some(subscriber) = nsn.get(area_len..) else {
        return false;
    };
    PHONE_NUMBER_UTIL
        .parse(subscriber, Some(region))
        .is_ok_and(|local| local.is_possible_with_reason().is_ok())
}

fn problem_of_parse_error(error: ParseError) -> NumberProblem {
    match error {
        ParseError::InvalidCountryCode => NumberProblem::InvalidCountryCode,
        ParseError::NotANumber(_) => NumberProblem::NotANumber,
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => NumberProblem::TooShort,
        ParseError::TooLongNsn => NumberProblem::TooLong,
    }
}

/// `dialled` without visual separators (RFC 3966 §5.1.1: `-`, `.`, `(`, `)`, and spaces):
/// digits, `*`, `#`, and a leading `+`. `None` if anything else is in it (a name, a URI).
pub(crate) fn clean(dialled: &str) -> Option<String> {
    let mut out = String::with_capacity(dialled.len());
    for (index, c) in dialled.trim().char_indices() {
        match c {
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if index == 0 => out.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(country: &str) -> Site {
        Site {
            country: CountryCode::parse(country),
            ..Site::default()
        }
    }

    #[test]
    fn emergency_defaults_follow_the_country() {
        let gb = CountryCode::parse("GB");
        assert_eq!(default_emergency_numbers(gb), ["999", "112"]);
        assert_eq!(default_emergency_numbers(CountryCode::parse("US")), ["911"]);
        assert_eq!(default_emergency_numbers(CountryCode::parse("CA")), ["911"]);
        assert_eq!(
            default_emergency_numbers(CountryCode::parse("FR")),
            [
                "112", "15", "17", "18", "114", "115", "119", "191", "196", "197"
            ]
        );
        assert_eq!(
            default_emergency_numbers(CountryCode::parse("DE")),
            ["110", "112"]
        );
        assert_eq!(default_emergency_numbers(CountryCode::parse("NL")), ["112"]);
        assert_eq!(default_emergency_numbers(None), ["112"]);
        for (country, numbers) in EMERGENCY_BY_COUNTRY {
            assert!(CountryCode::parse(country).is_some(), "{country}");
            assert!(!numbers.is_empty(), "{country}");
        }
    }

    #[test]
    fn the_international_prefix_is_read_from_the_numbering_plan() {
        let prefix = |c: &str| {
            let region = Region::from_code(c).expect("two letters");
            let cc = PHONE_NUMBER_UTIL
                .get_country_code_for_region(region)
                .expect("known country");
            international_prefix(region, cc)
        };
        assert_eq!(prefix("GB"), "00");
        assert_eq!(prefix("FR"), "00");
        assert_eq!(prefix("DE"), "00");
        assert_eq!(prefix("US"), "011");
        assert_eq!(prefix("CA"), "011");
        assert_eq!(prefix("JP"), "010");
    }

    #[test]
    fn local_dialling_is_allowed_where_the_numbering_plan_has_it() {
        for (country, allowed) in [("GB", true), ("US", true), ("DE", true), ("FR", false)] {
            let region = Region::from_code(country).expect("two letters");
            assert_eq!(allows_local_dialling(region), allowed, "{country}");
        }
    }

    #[test]
    fn separators_are_removed_and_names_refused() {
        assert_eq!(clean("(020) 7946-0000").as_deref(), Some("02079460000"));
        assert_eq!(clean(" +1 415.555.0100 ").as_deref(), Some("+14155550100"));
        assert_eq!(clean("*67 555 0100").as_deref(), Some("*675550100"));
        assert_eq!(clean("alice"), None);
        assert_eq!(clean("44+1"), None);
        assert_eq!(clean(" - "), None);
    }

    #[test]
    fn an_unknown_country_does_not_compile() {
        assert!(matches!(
            Numbering::compile(&site("XX")),
            Err(PlanError::UnknownCountry { .. })
        ));
    }
}
