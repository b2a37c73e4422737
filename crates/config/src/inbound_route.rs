//! `[[inbound_route]]`: which destination a call from a trunk goes to, by the trunk, the
//! number called (DID) and the caller; and `[inbound]`: the callers refused before any route.

use toml::Spanned;
use toml::de::DeValue;

use crate::destination::References;
use crate::inbound::{Inbound, InboundRoute, NumberPattern};
use crate::load::{At, Loader, Section, table_array, unique};
use crate::number::parse_number_pattern;
use crate::prompts::{LanguageUse, check_language};
use crate::rate::no_such_trunk;

pub(crate) const KEYS: &[&str] = &[
    "name",
    "trunks",
    "dids",
    "callers",
    "anonymous",
    "destination",
    "language",
    "vip",
];

pub(crate) const INBOUND_KEYS: &[&str] = &["blocklist", "blocked_status"];

/// The final responses a blocked caller may get (RFC 3261 §21.4.4, §21.4.5, §21.4.18,
/// §21.4.24, §21.6.2).
const BLOCKED_STATUSES: [(u16, &str); 5] = [
    (403, "Forbidden"),
    (404, "Not Found"),
    (480, "Temporarily Unavailable"),
    (486, "Busy Here"),
    (603, "Decline"),
];

/// The `[inbound]` section.
pub(crate) fn parse_inbound(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Inbound {
    section.reject_unknown_keys(ld, INBOUND_KEYS);
    let mut inbound = Inbound {
        blocklist: patterns(ld, section, "blocklist"),
        ..Inbound::default()
    };
    if let Some(status) = section.u32_at_least(ld, "blocked_status", 0) {
        match BLOCKED_STATUSES
            .iter()
            .find(|(code, _)| u32::from(*code) == status.value)
        {
            Some((code, _)) => inbound.blocked_status = *code,
            None => {
                let choices: Vec<String> = BLOCKED_STATUSES
                    .iter()
                    .map(|(code, reason)| format!("{code} {reason}"))
                    .collect();
                ld.error(
                    &status.span,
                    &section.key("blocked_status"),
                    format!(
                        "{} is not a status a blocked caller may get, expected one of: {}",
                        status.value,
                        choices.join(", ")
                    ),
                );
            }
        }
    }
    inbound
}

/// Every `[[inbound_route]]`, and the languages they name (valid ones, even in routes with
/// other problems).
pub(crate) struct InboundRoutes {
    pub routes: Vec<InboundRoute>,
    pub languages: Vec<LanguageUse>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    trunk_names: &[String],
    references: &mut References,
) -> InboundRoutes {
    let mut parsed = InboundRoutes {
        routes: Vec::new(),
        languages: Vec::new(),
    };
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "inbound_route", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "inbound route name",
            );
        }
        let route = parse_one(ld, &section, trunk_names, references, &mut parsed.languages);
        if let (Some(name), Some(mut route)) = (name, route)
            && ld.error_count() == errors_before
        {
            route.name = name.value;
            parsed.routes.push(route);
        }
    }
    parsed
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    trunk_names: &[String],
    references: &mut References,
    languages: &mut Vec<LanguageUse>,
) -> Option<InboundRoute> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let mut trunks: Vec<String> = Vec::new();
    if let Some(list) = section.string_array(ld, "trunks") {
        let key = section.key("trunks");
        for item in &list.value {
            if trunks.iter().any(|t| t == item.value) {
                ld.error(
                    &item.span,
                    &key,
                    format!("`{}` is listed twice", item.value),
                );
            } else if !trunk_names.iter().any(|t| t == item.value) {
                ld.error(&item.span, &key, no_such_trunk(item.value, trunk_names));
            } else {
                trunks.push(item.value.to_owned());
            }
        }
    }
    let dids = patterns(ld, section, "dids");
    let callers = patterns(ld, section, "callers");
    let anonymous = section.boolean(ld, "anonymous");
    if let Some(anonymous) = &anonymous
        && anonymous.value
        && !callers.is_empty()
    {
        ld.error(
            &anonymous.span,
            &section.key("anonymous"),
            "anonymous = true takes only callers who withhold their number, and they have no \
             number for `callers` to match: leave out one of the two",
        );
    }
    section.require(ld, "destination");
    let destination = references.read(ld, section, "destination", None);
    let language =
        section
            .string(ld, "language")
            .and_then(|language| match check_language(language.value) {
                Ok(()) => {
                    languages.push(LanguageUse {
                        language: language.value.to_owned(),
                        span: language.span,
                        key: section.key("language"),
                    });
                    Some(language.value.to_owned())
                }
                Err(message) => {
                    ld.error(&language.span, &section.key("language"), message);
                    None
                }
            });
    let vip = section.boolean(ld, "vip").is_some_and(|v| v.value);
    let destination = destination?;
    (ld.error_count() == errors_before).then(|| InboundRoute {
        name: String::new(),
        trunks,
        dids,
        callers,
        anonymous: anonymous.map(|a| a.value),
        destination,
        language,
        vip,
    })
}

/// An optional list of number patterns (`dids`, `callers`, `blocklist`), each once.
fn patterns(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Vec<NumberPattern> {
    let Some(list) = section.string_array(ld, key) else {
        return Vec::new();
    };
    let mut patterns: Vec<NumberPattern> = Vec::with_capacity(list.value.len());
    for item in &list.value {
        match parse_number_pattern(item.value) {
            Ok(pattern) if patterns.contains(&pattern) => ld.error(
                &item.span,
                &section.key(key),
                format!("`{}` is listed twice", item.value),
            ),
            Ok(pattern) => patterns.push(pattern),
            Err(message) => ld.error(&item.span, &section.key(key), message),
        }
    }
    patterns
}
