//! `[[outbound_route]]`: which trunks carry which numbers, in what order, with which caller ID.

use crossbar_cdr::DestinationClass;
use toml::Spanned;
use toml::de::DeValue;

use crate::class::destination_classes;
use crate::load::{At, Loader, Section, table_array, unique};
use crate::number::{MAX_E164_DIGITS, check_e164};
use crate::rate::no_such_trunk;

/// One `[[outbound_route]]`. Routes are tried in file order; the first whose `match` and
/// `classes` both accept the normalised number carries the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRoute {
    /// Unique, for logs, records and reports.
    pub name: String,
    /// Patterns on the E.164 number (`match = ["+44*", "+33*"]`): a trailing `*` matches any
    /// rest, otherwise the number must be equal. Empty: every number.
    pub patterns: Vec<String>,
    /// Destination classes the route carries. Empty: every class.
    pub classes: Vec<DestinationClass>,
    pub strategy: Strategy,
    /// Trunks by name; with `in_order`, tried in this order.
    pub trunks: Vec<String>,
    /// Caller ID for calls through this route when the extension has no external number.
    pub caller_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The trunks in the order listed.
    InOrder,
    /// Cheapest rate for the number first (ties in listed order); trunks with no rate for
    /// the number are skipped.
    LeastCost,
}

pub(crate) const KEYS: &[&str] = &[
    "name",
    "match",
    "classes",
    "strategy",
    "trunks",
    "caller_id",
];

impl Strategy {
    pub const ALL: [Strategy; 2] = [Strategy::InOrder, Strategy::LeastCost];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::InOrder => "in_order",
            Strategy::LeastCost => "least_cost",
        }
    }
}

/// What routes need to know about the trunks to check their references.
pub(crate) struct TrunkNames<'t> {
    /// Every trunk with a valid name.
    pub names: &'t [String],
    /// Trunks with rates: a deck (`rates = ...`) or `[[rate]]` entries.
    pub rated: &'t [String],
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    trunks: &TrunkNames<'_>,
) -> Vec<OutboundRoute> {
    let mut routes = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "outbound_route", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "route name",
            );
        }
        let route = parse_one(ld, &section, trunks);
        if let (Some(name), Some(mut route)) = (name, route)
            && ld.error_count() == errors_before
        {
            route.name = name.value;
            routes.push(route);
        }
    }
    routes
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    trunk_names: &TrunkNames<'_>,
) -> Option<OutboundRoute> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let mut patterns: Vec<String> = Vec::new();
    if let Some(list) = section.string_array(ld, "match") {
        for item in &list.value {
            match check_pattern(item.value) {
                Ok(()) if patterns.iter().any(|p| p == item.value) => ld.error(
                    &item.span,
                    &section.key("match"),
                    format!("`{}` is listed twice", item.value),
                ),
                Ok(()) => patterns.push(item.value.to_owned()),
                Err(message) => ld.error(&item.span, &section.key("match"), message),
            }
        }
    }
    let classes = destination_classes(ld, section, "classes").unwrap_or_default();
    let strategy = section
        .choice(
            ld,
            "strategy",
            "strategy",
            &Strategy::ALL.map(|s| (s.as_str(), s)),
        )
        .map_or(Strategy::InOrder, |s| s.value);
    section.require(ld, "trunks");
    let mut trunks: Vec<String> = Vec::new();
    if let Some(list) = section.string_array(ld, "trunks") {
        let key = section.key("trunks");
        if list.value.is_empty() {
            ld.error(&list.span, &key, "must name at least one trunk");
        }
        for item in &list.value {
            if trunks.iter().any(|t| t == item.value) {
                ld.error(
                    &item.span,
                    &key,
                    format!("`{}` is listed twice", item.value),
                );
            } else if !trunk_names.names.iter().any(|t| t == item.value) {
                ld.error(
                    &item.span,
                    &key,
                    no_such_trunk(item.value, trunk_names.names),
                );
            } else if strategy == Strategy::LeastCost
                && !trunk_names.rated.iter().any(|t| t == item.value)
            {
                ld.error(
                    &item.span,
                    &key,
                    format!(
                        "trunk `{}` has no rates, so least_cost would never use it: give it a \
                         rate deck (rates = \"...\") or [[rate]] entries, or use \
                         strategy = \"in_order\"",
                        item.value
                    ),
                );
            } else {
                trunks.push(item.value.to_owned());
            }
        }
    }
    let caller_id = section.string(ld, "caller_id").map(|c| {
        if let Err(message) = check_e164(c.value) {
            ld.error(&c.span, &section.key("caller_id"), message);
        }
        c.value.to_owned()
    });
    (ld.error_count() == errors_before).then(|| OutboundRoute {
        name: String::new(),
        patterns,
        classes,
        strategy,
        trunks,
        caller_id,
    })
}

/// `+44*`, `+*`, `+442079460000`: `+`, digits, and an optional `*` at the end; without `*` it
/// is a whole E.164 number.
fn check_pattern(pattern: &str) -> Result<(), String> {
    let example = "e.g. +44*, +447*, +* or +442079460000";
    let Some(body) = pattern.strip_prefix('+') else {
        return Err(format!(
            "`{pattern}` is not a pattern on E.164 numbers: it must start with `+` ({example})"
        ));
    };
    let (digits, wildcard) = match body.strip_suffix('*') {
        Some(digits) => (digits, true),
        None => (body, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{pattern}`: use digits after `+`, and `*` only at the end ({example})"
        ));
    }
    if !wildcard {
        check_e164(pattern)
            .map_err(|e| format!("{e}; end the pattern with `*` to match a prefix"))?;
    } else if digits.len() >= MAX_E164_DIGITS {
        return Err(format!(
            "`{pattern}` is longer than any E.164 number ({example})"
        ));
    }
    Ok(())
}
