//! `[site]`: where the PBX is, for number normalisation (E.164) and business-hours routing.

use std::fmt;

use crate::load::{Loader, Section};

pub(crate) const KEYS: &[&str] = &["country", "timezone"];

/// The `[site]` section. Both keys are optional for now; routing features that need them will
/// require them when they arrive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// ISO 3166-1 alpha-2 country code, e.g. `GB`.
    pub country: Option<CountryCode>,
    /// IANA time zone name, e.g. `Europe/London`.
    pub timezone: Option<TimeZoneName>,
    /// ISO 4217 code of the currency rates and costs are in, e.g. `GBP`.
    pub currency: Option<String>,
    /// The site's own area code (national significant digits, without the national prefix:
    /// `20` for London): geographic numbers in it are `local`, and in countries that allow it
    /// a subscriber number dialled alone is completed with it.
    pub area_code: Option<String>,
    /// Emergency numbers, dialled as is (`["112", "999"]`). Empty: the defaults for
    /// `country` (the routing crate knows them).
    pub emergency_numbers: Vec<String>,
    /// The trunk emergency calls try first, before the routes that match them.
    pub emergency_trunk: Option<String>,
    /// An access code dialled before external numbers and removed before normalising
    /// (`"9"`: `9 07700 900123`).
    pub outside_line: Option<String>,
    /// A prefix that withholds the caller ID for one call (`"141"` in GB, `"*67"` in the US).
    pub privacy_prefix: Option<String>,
}

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters. Only the format is
/// checked, not that the code is assigned.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(text: &str) -> Option<CountryCode> {
        match text.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
                Some(CountryCode([a, b]))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("constructed from two ASCII letters")
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({:?})", self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name in the shape of an IANA time zone database name (`Europe/London`, `UTC`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+5`). Only the shape is checked — crossbar does not
/// ship a time zone database in the configuration crate; the routing code resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(text: &str) -> Option<TimeZoneName> {
        let plausible = !text.is_empty()
            && text.len() <= 64
            && text.split('/').all(|part| {
                part.starts_with(|c: char| c.is_ascii_alphabetic())
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            });
        plausible.then(|| TimeZoneName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Site {
    section.reject_unknown_keys(ld, KEYS);
    let mut site = Site::default();
    if let Some(country) = section.string(ld, "country") {
        site.country = CountryCode::parse(country.value);
        if site.country.is_none() {
            let mut message = format!(
                "`{}` is not an ISO 3166-1 alpha-2 country code (two letters, e.g. GB, US, DE)",
                country.value
            );
            let upper = country.value.to_ascii_uppercase();
            if CountryCode::parse(&upper).is_some() {
                message.push_str(&format!("; write it in upper case: `{upper}`"));
            }
            ld.error(&country.span, &section.key("country"), message);
        }
    }
    if let Some(timezone) = section.string(ld, "timezone") {
        site.timezone = TimeZoneName::parse(timezone.value);
        if site.timezone.is_none() {
            ld.error(
                &timezone.span,
                &section.key("timezone"),
                format!(
                    "`{}` is not an IANA time zone name (e.g. Europe/London, America/New_York, UTC)",
                    timezone.value
                ),
            );
        }
    }
    site
}
