//! `[site]`: where the PBX is, for number normalisation (E.164) and business-hours routing.

use std::fmt;

use crate::load::{At, Loader, Section, Span};
use crate::number::check_dial_code;
use crate::rate::no_such_trunk;

pub(crate) const KEYS: &[&str] = &[
    "country",
    "timezone",
    "currency",
    "area_code",
    "emergency_numbers",
    "emergency_trunk",
    "outside_line",
    "privacy_prefix",
];

/// The `[site]` section. Every key is optional, except `country` when there is a `[[trunk]]`
/// (numbers dialled out are normalised to E.164 with it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// ISO 3166-1 alpha-2 country code, e.g. `GB`.
    pub country: Option<CountryCode>,
    /// IANA time zone name, e.g. `Europe/London`.
    pub timezone: Option<TimeZoneName>,
    /// ISO 4217 code of the currency rates and costs are in, e.g. `GBP` (three upper-case
    /// letters; only the shape is checked).
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

/// Where the values of `[site]` that other sections must agree with were written.
#[derive(Default)]
pub(crate) struct SiteRefs {
    pub header: Span,
    /// Whether `[site]` is written in the file at all.
    pub present: bool,
    pub emergency_numbers: Vec<At<String>>,
    pub emergency_trunk: Option<At<String>>,
    pub outside_line: Option<At<String>>,
    pub privacy_prefix: Option<At<String>>,
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> (Site, SiteRefs) {
    section.reject_unknown_keys(ld, KEYS);
    let mut site = Site::default();
    let mut refs = SiteRefs {
        header: section.header.clone(),
        present: section.header != (0..0),
        ..SiteRefs::default()
    };
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
    if let Some(currency) = section.string(ld, "currency") {
        if currency.value.len() == 3 && currency.value.bytes().all(|b| b.is_ascii_uppercase()) {
            site.currency = Some(currency.value.to_owned());
        } else {
            ld.error(
                &currency.span,
                &section.key("currency"),
                format!(
                    "`{}` is not an ISO 4217 currency code (three upper-case letters, e.g. GBP, \
                     EUR, USD)",
                    currency.value
                ),
            );
        }
    }
    if let Some(area_code) = section.string(ld, "area_code") {
        let digits = area_code.value;
        if !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            site.area_code = Some(digits.to_owned());
        } else {
            ld.error(
                &area_code.span,
                &section.key("area_code"),
                format!(
                    "`{digits}` is not an area code: 1 to 6 digits, without the national \
                     prefix (e.g. \"20\" for London)"
                ),
            );
        }
    }
    if let Some(list) = section.string_array(ld, "emergency_numbers") {
        let key = section.key("emergency_numbers");
        for item in &list.value {
            let number = item.value;
            if let Err(message) = check_dial_code(number, true) {
                ld.error(&item.span, &key, message);
            } else if let Some(first) = refs.emergency_numbers.iter().find(|n| n.value == number) {
                let (line, column) = ld.position(first.span.start);
                ld.error(
                    &item.span,
                    &key,
                    format!("`{number}` is listed twice (first at line {line}, column {column})"),
                );
            } else {
                refs.emergency_numbers.push(At {
                    value: number.to_owned(),
                    span: item.span.clone(),
                });
            }
        }
        site.emergency_numbers = refs
            .emergency_numbers
            .iter()
            .map(|n| n.value.clone())
            .collect();
    }
    if let Some(trunk) = section.string(ld, "emergency_trunk") {
        site.emergency_trunk = Some(trunk.value.to_owned());
        refs.emergency_trunk = Some(At {
            value: trunk.value.to_owned(),
            span: trunk.span,
        });
    }
    for key in ["outside_line", "privacy_prefix"] {
        let Some(code) = section.string(ld, key) else {
            continue;
        };
        if let Err(message) = check_dial_code(code.value, false) {
            ld.error(&code.span, &section.key(key), message);
            continue;
        }
        let at = Some(At {
            value: code.value.to_owned(),
            span: code.span,
        });
        if key == "outside_line" {
            site.outside_line = Some(code.value.to_owned());
            refs.outside_line = at;
        } else {
            site.privacy_prefix = Some(code.value.to_owned());
            refs.privacy_prefix = at;
        }
    }
    (site, refs)
}

/// What `[site]` is checked against once the rest of the file is read.
pub(crate) struct SiteContext<'c> {
    pub trunk_names: &'c [String],
    /// Where the first `[[trunk]]` starts, if there is one.
    pub first_trunk: Option<&'c Span>,
    /// Every extension number and user name, with where it is written.
    pub extension_identities: &'c [At<String>],
}

/// Checks `[site]` against the trunks and extensions: the emergency trunk exists, emergency
/// numbers and access codes do not collide with extensions or with each other, and `country`
/// is given when there are trunks.
pub(crate) fn check(ld: &mut Loader<'_>, site: &Site, refs: &SiteRefs, context: &SiteContext<'_>) {
    if let Some(trunk) = &refs.emergency_trunk
        && !context.trunk_names.contains(&trunk.value)
    {
        ld.error(
            &trunk.span,
            "site.emergency_trunk",
            no_such_trunk(&trunk.value, context.trunk_names),
        );
    }
    if let Some(first_trunk) = context.first_trunk
        && site.country.is_none()
    {
        let span = if refs.present {
            &refs.header
        } else {
            first_trunk
        };
        ld.error(
            span,
            "site.country",
            "[site] needs `country` when there are trunks: numbers dialled out are normalised \
             to E.164 with it (e.g. country = \"GB\")",
        );
    }
    let line_of = |ld: &Loader<'_>, at: &At<String>| ld.position(at.span.start).0;
    for number in &refs.emergency_numbers {
        if let Some(extension) = context
            .extension_identities
            .iter()
            .find(|e| e.value == number.value)
        {
            let line = line_of(ld, extension);
            ld.error(
                &number.span,
                "site.emergency_numbers",
                format!(
                    "`{}` is an emergency number and also an extension's number or user name \
                     (line {line}): calls to it must reach the emergency services",
                    number.value
                ),
            );
        }
    }
    let codes = [
        ("outside_line", &refs.outside_line),
        ("privacy_prefix", &refs.privacy_prefix),
    ];
    for (key, code) in codes {
        let Some(code) = code else { continue };
        let dotted = format!("site.{key}");
        if let Some(number) = refs
            .emergency_numbers
            .iter()
            .find(|n| n.value.starts_with(code.value.as_str()))
        {
            let line = line_of(ld, number);
            let how = if number.value == code.value {
                "is"
            } else {
                "starts"
            };
            ld.error(
                &code.span,
                &dotted,
                format!(
                    "`{}` {how} the emergency number `{}` (line {line}): dialling it would \
                     not reach the emergency services",
                    code.value, number.value
                ),
            );
        }
        if let Some(extension) = context
            .extension_identities
            .iter()
            .find(|e| e.value == code.value)
        {
            let line = line_of(ld, extension);
            ld.error(
                &code.span,
                &dotted,
                format!(
                    "`{}` is also an extension number (line {line}): that extension could not \
                     be dialled",
                    code.value
                ),
            );
        }
    }
    if let (Some(outside), Some(privacy)) = (&refs.outside_line, &refs.privacy_prefix)
        && outside.value == privacy.value
    {
        let line = line_of(ld, outside);
        ld.error(
            &privacy.span,
            "site.privacy_prefix",
            format!(
                "`{}` is also the outside line code (line {line})",
                privacy.value
            ),
        );
    }
}
