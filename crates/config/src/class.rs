//! `[[class]]`: classes of service — the dialling rights an extension has (which destination
//! classes and countries it may call, when), and the caps that stop toll fraud.

use crossbar_cdr::{DestinationClass, Money};
use toml::Spanned;
use toml::de::DeValue;

use crate::hours::WeeklyHours;
use crate::load::{At, Loader, Section, table_array, unique, unknown};
use crate::site::CountryCode;

/// One `[[class]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// Unique; extensions name it with `class = "..."`.
    pub name: String,
    /// Destination classes this class may dial (`emergency` is always allowed, listed or not).
    /// Default [`DEFAULT_ALLOW`]: emergency and internal, like an extension without a class.
    pub allow: Vec<DestinationClass>,
    /// When not empty, international calls only to these countries (ISO 3166-1 alpha-2 of the
    /// number's region, e.g. `FR`).
    pub allow_countries: Vec<CountryCode>,
    /// Never these countries (checked before `allow_countries`).
    pub block_countries: Vec<CountryCode>,
    /// Destination classes allowed only at certain hours (see [`TimeRule`]).
    pub time_rules: Vec<TimeRule>,
    /// Calls an extension of this class may have up at once (placed, outbound).
    pub max_concurrent: Option<u32>,
    /// Fraud caps: outbound calls started in the last 60 seconds / since local midnight,
    /// money spent since local midnight. Tripping one blocks the extension for outbound
    /// calls until it is released.
    pub max_calls_per_minute: Option<u32>,
    pub max_calls_per_day: Option<u32>,
    pub daily_spend_limit: Option<Money>,
}

/// `time_rules = [{ classes = ["international"], hours = ["mon-fri 08:00-18:00"] }]`: calls to
/// `classes` are allowed only within `hours` (local time in `[site] timezone`).
///
/// A time rule only narrows `allow`: a destination class it names must also be allowed by
/// `allow`, and is then allowed within the rule's hours and denied outside them (every rule
/// naming it must admit the time). `emergency` is always allowed. Both lists are non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRule {
    pub classes: Vec<DestinationClass>,
    pub hours: Vec<WeeklyHours>,
}

pub(crate) const KEYS: &[&str] = &[
    "name",
    "allow",
    "allow_countries",
    "block_countries",
    "time_rules",
    "max_concurrent",
    "max_calls_per_minute",
    "max_calls_per_day",
    "daily_spend_limit",
];

pub(crate) const TIME_RULE_KEYS: &[&str] = &["classes", "hours"];

/// What a class of service allows when `allow` is not given: the same as an extension
/// without a class.
pub const DEFAULT_ALLOW: [DestinationClass; 2] =
    [DestinationClass::Emergency, DestinationClass::Internal];

/// Every `[[class]]`, and the names of all of them whose name is valid (even those with other
/// problems, so references to them are not reported as well).
pub(crate) struct Classes {
    pub classes: Vec<Class>,
    pub names: Vec<String>,
}

pub(crate) fn parse_all(ld: &mut Loader<'_>, value: &Spanned<DeValue<'_>>) -> Classes {
    let mut classes = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "class", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "class name",
            );
        }
        let class = parse_one(ld, &section);
        if let (Some(name), Some(mut class)) = (name, class)
            && ld.error_count() == errors_before
        {
            class.name = name.value;
            classes.push(class);
        }
    }
    Classes {
        classes,
        names: seen.into_iter().map(|s| s.value).collect(),
    }
}

/// The class without its name (filled in by the caller), if every key is valid.
fn parse_one(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Option<Class> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let allow = destination_classes(ld, section, "allow").unwrap_or(DEFAULT_ALLOW.to_vec());
    let allow_countries = countries(ld, section, "allow_countries");
    let block_countries = countries(ld, section, "block_countries");
    for blocked in &block_countries {
        if let Some(allowed) = allow_countries.iter().find(|a| a.value == blocked.value) {
            let (line, _) = ld.position(allowed.span.start);
            ld.error(
                &blocked.span,
                &section.key("block_countries"),
                format!(
                    "`{}` is both allowed (allow_countries, line {line}) and blocked",
                    blocked.value
                ),
            );
        }
    }
    let time_rules = section
        .tables(ld, "time_rules")
        .map(|rules| {
            rules
                .value
                .iter()
                .filter_map(|rule| time_rule(ld, rule))
                .collect()
        })
        .unwrap_or_default();
    let cap = |ld: &mut Loader<'_>, key: &str| positive(ld, section, key);
    let max_concurrent = cap(ld, "max_concurrent");
    let max_calls_per_minute = cap(ld, "max_calls_per_minute");
    let max_calls_per_day = cap(ld, "max_calls_per_day");
    let daily_spend_limit = section.money(ld, "daily_spend_limit").and_then(|limit| {
        if limit.value == Money::ZERO {
            ld.error(
                &limit.span,
                &section.key("daily_spend_limit"),
                "must be more than 0 (leave the key out for no limit)",
            );
            None
        } else {
            Some(limit.value)
        }
    });
    (ld.error_count() == errors_before).then(|| Class {
        name: String::new(),
        allow,
        allow_countries: allow_countries.into_iter().map(|c| c.value).collect(),
        block_countries: block_countries.into_iter().map(|c| c.value).collect(),
        time_rules,
        max_concurrent,
        max_calls_per_minute,
        max_calls_per_day,
        daily_spend_limit,
    })
}

fn time_rule(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Option<TimeRule> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, TIME_RULE_KEYS);
    section.require(ld, "classes");
    section.require(ld, "hours");
    let classes = destination_classes(ld, section, "classes");
    if let Some(classes) = &classes
        && classes.is_empty()
    {
        let span = section
            .value("classes")
            .map(|v| v.span())
            .unwrap_or_default();
        ld.error(
            &span,
            &section.key("classes"),
            "must name at least one destination class",
        );
    }
    let mut hours = Vec::new();
    if let Some(list) = section.string_array(ld, "hours") {
        if list.value.is_empty() {
            ld.error(
                &list.span,
                &section.key("hours"),
                "must give at least one span of hours (e.g. \"mon-fri 09:00-17:30\")",
            );
        }
        for item in &list.value {
            match item.value.parse::<WeeklyHours>() {
                Ok(span) => hours.push(span),
                Err(e) => ld.error(&item.span, &section.key("hours"), e.to_string()),
            }
        }
    }
    match classes {
        Some(classes) if ld.error_count() == errors_before => Some(TimeRule { classes, hours }),
        _ => None,
    }
}

/// An optional cap: at least 1 (leaving the key out means no limit).
fn positive(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Option<u32> {
    let at = section.u32_at_least(ld, key, 0)?;
    if at.value == 0 {
        ld.error(
            &at.span,
            &section.key(key),
            "must be at least 1, found 0 (leave the key out for no limit)",
        );
        return None;
    }
    Some(at.value)
}

/// An optional list of destination class names (`["national", "mobile"]`), each known and
/// listed once. `None` if absent or not an array.
pub(crate) fn destination_classes(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    key: &str,
) -> Option<Vec<DestinationClass>> {
    let list = section.string_array(ld, key)?;
    let names: Vec<&str> = DestinationClass::ALL.iter().map(|c| c.as_str()).collect();
    let mut classes = Vec::with_capacity(list.value.len());
    for item in &list.value {
        match DestinationClass::parse(item.value) {
            Some(class) if classes.contains(&class) => ld.error(
                &item.span,
                &section.key(key),
                format!("`{class}` is listed twice"),
            ),
            Some(class) => classes.push(class),
            None => ld.error(
                &item.span,
                &section.key(key),
                unknown("destination class", item.value, &names),
            ),
        }
    }
    Some(classes)
}

/// A list of ISO 3166-1 alpha-2 country codes, each listed once.
fn countries(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Vec<At<CountryCode>> {
    let Some(list) = section.string_array(ld, key) else {
        return Vec::new();
    };
    let mut countries: Vec<At<CountryCode>> = Vec::with_capacity(list.value.len());
    for item in &list.value {
        match CountryCode::parse(item.value) {
            Some(code) if countries.iter().any(|c| c.value == code) => ld.error(
                &item.span,
                &section.key(key),
                format!("`{code}` is listed twice"),
            ),
            Some(code) => countries.push(At {
                value: code,
                span: item.span.clone(),
            }),
            None => ld.error(
                &item.span,
                &section.key(key),
                format!(
                    "`{}` is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. FR)",
                    item.value
                ),
            ),
        }
    }
    countries
}
