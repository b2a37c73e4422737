//! crossbar's configuration: one TOML file, loaded and validated in one pass.
//!
//! [`Config::load`] returns either a complete, validated [`Config`] with every default resolved,
//! or [`ConfigErrors`] listing **every** problem found — never a half-usable configuration. Each
//! error names the file, line, column and dotted key, in compiler style:
//!
//! ```text
//! examples/crossbar.toml:14:10: extension[2].secret: must not be empty
//! examples/crossbar.toml:21:1: extension[3].secrt: unknown key `secrt` in [[extension]] #3, expected one of: number, username, name, secret, class, external_number, withhold_caller_id, email, max_contacts, no_answer_secs, on_no_answer, on_busy, on_unavailable (did you mean `secret`?)
//! examples/crossbar.toml:30:1: voicemail: section `voicemail` is not supported by this version of crossbar yet; remove it (it would have no effect)
//! examples/crossbar.toml:41:15: time_condition[1].when_closed: time conditions lead round in a loop: tc:office-hours → tc:night → tc:office-hours; ...
//! examples/crossbar.toml:52:10: ivr[1].prompt: prompt `greeting` in language `fr`: `examples/../prompts/fr/greeting.wav` does not exist
//! examples/rates/carrier-a.csv:17: per_minute: "0,01" is not an amount (digits with at most six decimals and a decimal point, e.g. 0.0125)
//! ```
//!
//! Rules:
//! - unknown keys are reported at the key, wrong types and invalid values at the value, missing
//!   required keys at the header of their table; `[[extension]]` indices are 1-based;
//! - unknown sections are errors, and so is the section of the design that this version does
//!   not implement yet (`voicemail`; and `voicemail:` destinations), so nobody believes it is
//!   in force;
//! - references between sections are checked (an extension's class, a route's trunks, a
//!   rate's trunk, the emergency trunk, every destination, a ring group's and a queue's
//!   members, the queue callbacks are assigned to), each at the value that refers; names of
//!   classes, trunks, routes, time conditions, menus, ring groups and queues are unique per
//!   kind;
//! - destinations must not go round a loop: time conditions whose branches lead back to
//!   themselves, or escalations (`on_no_answer`, `on_busy`, `on_unavailable`, and a queue's
//!   `on_timeout`, `on_full`, `on_empty`) that pass a call round extensions, groups, queues and
//!   time conditions forever without a menu or `hangup` (see `destination.rs`);
//! - prompts menus and queues name are read with the configuration: each must exist, in every
//!   language calls may use, as a WAV file crossbar can play (only the header is read);
//! - rate decks (`rates = "..."` in a `[[trunk]]`) are CSV files read with the configuration;
//!   their problems are reported in the same list, at the deck's file and line (no column);
//! - if the file is not valid TOML, only the syntax errors are reported (one per line, and none
//!   after an unclosed `[`/`{`): checking the meaning of a half-parsed file would report problems
//!   that are not there;
//! - extension secrets shorter than [`MIN_SECRET_LEN`] (8) characters, or equal to the extension
//!   number, are errors: weak SIP secrets are found by scanners and used for toll fraud;
//! - relative paths (the SQLite database, rate decks, prompts) are resolved against the
//!   configuration file's directory.
//!
//! `docs/CONFIGURATION.md` at the repository root is the reference of every key; a test
//! checks that it documents exactly the keys this crate accepts and that its examples load.
//!
//! Layout: one module per section; each has a `KEYS` list and a `parse` that records problems in
//! the `load::Loader` and returns its typed struct with defaults filled in. A new section is a
//! new module plus one entry in `SECTIONS`, one line in `Config::from_document`, and its keys
//! in `docs/CONFIGURATION.md` (a test here fails until they are documented).

mod agents;
mod auth;
mod callbacks;
mod calls;
mod class;
mod database;
mod destination;
mod error;
mod extension;
mod hours;
mod http;
mod inbound;
mod inbound_route;
mod ivr;
mod load;
mod log;
mod media;
mod number;
mod outbound_route;
mod pattern;
mod prompts;
mod queue;
mod rate;
mod registrar;
mod ring_group;
mod sip;
mod site;
mod time_condition;
mod trunk;
mod wav;

use std::path::Path;

use toml::de::{DeTable, DeValue};

pub use agents::Agents;
pub use auth::{Auth, DigestAlgorithm};
pub use callbacks::Callbacks;
pub use calls::Calls;
pub use class::{Class, DEFAULT_ALLOW, TimeRule};
pub use database::{DEFAULT_URL as DEFAULT_DATABASE_URL, Database};
pub use destination::{Destination, Escalation};
pub use error::{ConfigError, ConfigErrors};
pub use extension::{Extension, MAX_NUMBER_LEN, MIN_SECRET_LEN, Secret};
pub use hours::{WeeklyHours, WeeklyHoursError};
pub use http::{ApiToken, Http};
pub use inbound::{
    CivilDate, DatedHours, DidSource, Holiday, Inbound, InboundRoute, Ivr, Member, NumberPattern,
    PromptRef, Prompts, RingGroup, RingStrategy, TimeCondition,
};
pub use log::Log;
pub use media::{
    DEFAULT_PORT_MAX, DEFAULT_PORT_MIN, DEFAULT_RTP_TIMEOUT_SECS, MIN_MEDIA_PORT, Media,
};
pub use number::MAX_E164_DIGITS;
pub use outbound_route::{OutboundRoute, Strategy};
pub use queue::{Queue, QueueMember, QueueStrategy};
pub use rate::{DECK_COLUMNS, MAX_DECK_ERRORS};
pub use registrar::Registrar;
pub use sip::{DEFAULT_LISTEN, DEFAULT_REALM, DEFAULT_USER_AGENT, Sip};
pub use site::{CountryCode, Site, TimeZoneName};
pub use trunk::{
    Cidr, CidrError, DEFAULT_OPTIONS_INTERVAL_SECS, DEFAULT_REGISTER_EXPIRES_SECS,
    MIN_REGISTER_EXPIRES_SECS, NumberFormat, RateRow, Trunk, TrunkCredentials, TrunkRegistration,
    TrunkTransport,
};

use destination::{References, Targets};
use load::{Loader, Section, closest, expected};
use outbound_route::TrunkNames;

/// Sections this version understands, as written at the top level of the file.
const SECTIONS: &[&str] = &[
    "site",
    "sip",
    "registrar",
    "media",
    "calls",
    "auth",
    "database",
    "http",
    "log",
    "extension",
    "class",
    "trunk",
    "rate",
    "outbound_route",
    "inbound",
    "inbound_route",
    "time_condition",
    "ivr",
    "ring_group",
    "queue",
    "agents",
    "callbacks",
    "prompts",
];

/// Sections of the configuration design that this version does not implement yet. They are
/// rejected rather than ignored, so nobody believes they are active.
const NOT_YET_SUPPORTED: &[&str] = &["voicemail"];

/// A complete, validated configuration with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub site: Site,
    pub sip: Sip,
    pub registrar: Registrar,
    pub media: Media,
    pub calls: Calls,
    pub auth: Auth,
    pub database: Database,
    pub http: Http,
    pub log: Log,
    /// In file order; numbers are unique.
    pub extensions: Vec<Extension>,
    /// Classes of service, in file order; names are unique.
    pub classes: Vec<Class>,
    /// In file order; names are unique. Each carries its rates.
    pub trunks: Vec<Trunk>,
    /// In file order (the order they are tried in); names are unique.
    pub outbound_routes: Vec<OutboundRoute>,
    /// In file order (the order they are tried in); names are unique.
    pub inbound_routes: Vec<InboundRoute>,
    pub inbound: Inbound,
    /// Names are unique per kind (time conditions, menus, groups, queues).
    pub time_conditions: Vec<TimeCondition>,
    pub ivrs: Vec<Ivr>,
    pub ring_groups: Vec<RingGroup>,
    /// In file order.
    pub queues: Vec<Queue>,
    /// The feature codes of queue agents.
    pub agents: Agents,
    pub callbacks: Callbacks,
    pub prompts: Prompts,
}

impl Config {
    /// Reads and validates the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let bytes = std::fs::read(path)
            .map_err(|e| ConfigErrors::single(path, format!("cannot read the file: {e}")))?;
        match String::from_utf8(bytes) {
            Ok(text) => Config::parse(&text, path),
            Err(e) => {
                let bytes = e.as_bytes();
                let valid = &bytes[..e.utf8_error().valid_up_to()];
                let text = std::str::from_utf8(valid).expect("valid_up_to marks valid UTF-8");
                let mut ld = Loader::new(text, path);
                ld.error(
                    &(text.len()..text.len()),
                    "",
                    "the file is not valid UTF-8 (TOML files must be UTF-8)",
                );
                Err(ConfigErrors::new(ld.into_errors()))
            }
        }
    }

    /// Validates configuration `text`. `path` names the file in errors, and relative paths in
    /// the configuration (the SQLite database, rate decks, prompts) are resolved against its
    /// directory. Rate decks are read from the file system, and so are the headers of the
    /// prompt files menus name.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let mut ld = Loader::new(text, path);
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        if !syntax_errors.is_empty() {
            report_syntax_errors(&mut ld, &syntax_errors);
            return Err(ConfigErrors::new(ld.into_errors()));
        }
        let config = Config::from_document(&mut ld, root.get_ref());
        let errors = ld.into_errors();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors::new(errors))
        }
    }

    /// The extension with this number.
    pub fn extension(&self, number: &str) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.number == number)
    }

    /// The class of service with this name.
    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The trunk with this name.
    pub fn trunk(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name == name)
    }

    /// The time condition with this name.
    pub fn time_condition(&self, name: &str) -> Option<&TimeCondition> {
        self.time_conditions.iter().find(|t| t.name == name)
    }

    /// The menu with this name.
    pub fn ivr(&self, name: &str) -> Option<&Ivr> {
        self.ivrs.iter().find(|i| i.name == name)
    }

    /// The ring group with this name.
    pub fn ring_group(&self, name: &str) -> Option<&RingGroup> {
        self.ring_groups.iter().find(|g| g.name == name)
    }

    /// The queue with this name.
    pub fn queue(&self, name: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// Builds the typed configuration, recording every problem in `ld`. The result is only
    /// meaningful if no problem was recorded.
    fn from_document(ld: &mut Loader<'_>, root: &DeTable<'_>) -> Config {
        for (key, value) in root.iter() {
            let name: &str = key.get_ref();
            if SECTIONS.contains(&name) {
                continue;
            }
            // Point at the first header of the section, or at the key for `name = value`.
            let span = match value.get_ref() {
                DeValue::Table(_) => value.span(),
                DeValue::Array(array) => array.first().map_or(key.span(), |first| first.span()),
                _ => key.span(),
            };
            if NOT_YET_SUPPORTED.contains(&name) {
                ld.error(
                    &span,
                    name,
                    format!(
                        "section `{name}` is not supported by this version of crossbar yet; \
                         remove it (it would have no effect)"
                    ),
                );
            } else {
                let mut message = format!(
                    "unknown section `{name}`, expected one of: {}",
                    SECTIONS.join(", ")
                );
                if let Some(suggestion) = closest(name, SECTIONS) {
                    message.push_str(&format!(" (did you mean `{suggestion}`?)"));
                }
                ld.error(&span, name, message);
            }
        }

        let empty = DeTable::new();
        let table = section(ld, root, "site", &empty);
        let (site, site_refs) = site::parse(ld, &table);
        let table = section(ld, root, "sip", &empty);
        let sip = sip::parse(ld, &table);
        let table = section(ld, root, "registrar", &empty);
        let registrar = registrar::parse(ld, &table);
        let table = section(ld, root, "media", &empty);
        let media = media::parse(ld, &table, &sip);
        let table = section(ld, root, "calls", &empty);
        let calls = calls::parse(ld, &table);
        let table = section(ld, root, "auth", &empty);
        let auth = auth::parse(ld, &table);
        let table = section(ld, root, "database", &empty);
        let database = database::parse(ld, &table);
        let table = section(ld, root, "http", &empty);
        let http = http::parse(ld, &table);
        let table = section(ld, root, "log", &empty);
        let log = log::parse(ld, &table);
        let table = section(ld, root, "inbound", &empty);
        let inbound = inbound_route::parse_inbound(ld, &table);
        let table = section(ld, root, "prompts", &empty);
        let (prompts, prompts_refs) = prompts::parse(ld, &table);
        let table = section(ld, root, "agents", &empty);
        let (agents, agents_refs) = agents::parse(ld, &table);
        let table = section(ld, root, "callbacks", &empty);
        let (callbacks, assign_to) = callbacks::parse(ld, &table);
        // Every destination written anywhere, checked once all the names are known.
        let mut references = References::default();

        let classes = match root.get("class") {
            Some(value) => class::parse_all(ld, value),
            None => class::Classes {
                classes: Vec::new(),
                names: Vec::new(),
            },
        };
        let mut trunks = match root.get("trunk") {
            Some(value) => trunk::parse_all(ld, value, &sip, &mut references),
            None => trunk::Trunks {
                trunks: Vec::new(),
                names: Vec::new(),
                with_deck: Vec::new(),
                first: None,
            },
        };
        let mut rated = trunks.with_deck.clone();
        if let Some(value) = root.get("rate") {
            let (entries, named) = rate::parse_all(ld, value, &trunks.names);
            rate::merge(&mut trunks.trunks, entries);
            rated.extend(named);
        }
        let outbound_routes = match root.get("outbound_route") {
            Some(value) => {
                let names = TrunkNames {
                    names: &trunks.names,
                    rated: &rated,
                };
                outbound_route::parse_all(ld, value, &names)
            }
            None => Vec::new(),
        };
        let extensions = match root.get("extension") {
            Some(value) => extension::parse_all(
                ld,
                value,
                &extension::ExtensionContext {
                    default_max_contacts: registrar.max_contacts,
                    min_secret_len: auth.min_secret_length as usize,
                    class_names: &classes.names,
                },
                &mut references,
            ),
            None => extension::Extensions {
                extensions: Vec::new(),
                identities: Vec::new(),
                numbers: Vec::new(),
            },
        };
        let inbound_routes = match root.get("inbound_route") {
            Some(value) => inbound_route::parse_all(ld, value, &trunks.names, &mut references),
            None => inbound_route::InboundRoutes {
                routes: Vec::new(),
                languages: Vec::new(),
            },
        };
        let time_conditions = match root.get("time_condition") {
            Some(value) => time_condition::parse_all(ld, value, &mut references),
            None => time_condition::TimeConditions {
                time_conditions: Vec::new(),
                names: Vec::new(),
            },
        };
        let ivrs = match root.get("ivr") {
            Some(value) => ivr::parse_all(ld, value, &mut references, &extensions.identities),
            None => ivr::Ivrs {
                ivrs: Vec::new(),
                names: Vec::new(),
                prompts: Vec::new(),
                numbers: Vec::new(),
            },
        };
        let ring_groups = match root.get("ring_group") {
            Some(value) => ring_group::parse_all(
                ld,
                value,
                &ring_group::RingGroupContext {
                    extension_numbers: &extensions.numbers,
                    class_names: &classes.names,
                },
                &mut references,
            ),
            None => ring_group::RingGroups {
                ring_groups: Vec::new(),
                names: Vec::new(),
            },
        };
        let queues = match root.get("queue") {
            Some(value) => queue::parse_all(
                ld,
                value,
                &queue::QueueContext {
                    extension_numbers: &extensions.numbers,
                    callbacks_enabled: callbacks.enabled,
                },
                &mut references,
            ),
            None => queue::Queues {
                queues: Vec::new(),
                names: Vec::new(),
                prompts: Vec::new(),
            },
        };
        references.check(
            ld,
            &Targets {
                extensions: &extensions.numbers,
                ivrs: &ivrs.names,
                groups: &ring_groups.names,
                queues: &queues.names,
                time_conditions: &time_conditions.names,
            },
        );
        callbacks::check(ld, assign_to.as_ref(), &queues.names);
        let prefixes: Vec<(&'static str, &load::At<String>)> = [
            ("outside_line", site_refs.outside_line.as_ref()),
            ("privacy_prefix", site_refs.privacy_prefix.as_ref()),
        ]
        .into_iter()
        .filter_map(|(key, at)| at.map(|at| (key, at)))
        .collect();
        agents::check(
            ld,
            &agents,
            &agents_refs,
            &agents::AgentsContext {
                extension_identities: &extensions.identities,
                menu_numbers: &ivrs.numbers,
                prefixes: &prefixes,
            },
        );
        let mut prompt_uses: Vec<&prompts::PromptUse> =
            ivrs.prompts.iter().chain(&queues.prompts).collect();
        prompt_uses.sort_by_key(|used| used.span.start);
        prompts::check(
            ld,
            &prompts,
            &prompts_refs,
            &prompt_uses,
            &inbound_routes.languages,
        );
        site::check(
            ld,
            &site,
            &site_refs,
            &site::SiteContext {
                trunk_names: &trunks.names,
                first_trunk: trunks.first.as_ref().map(|f| &f.span),
                extension_identities: &extensions.identities,
            },
        );
        Config {
            site,
            sip,
            registrar,
            media,
            calls,
            auth,
            database,
            http,
            log,
            extensions: extensions.extensions,
            classes: classes.classes,
            trunks: trunks.trunks,
            outbound_routes,
            inbound_routes: inbound_routes.routes,
            inbound,
            time_conditions: time_conditions.time_conditions,
            ivrs: ivrs.ivrs,
            ring_groups: ring_groups.ring_groups,
            queues: queues.queues,
            agents,
            callbacks,
            prompts,
        }
    }
}

/// The single table `[name]`, or `empty` if it is absent or not a table (reported).
fn section<'a, 'i>(
    ld: &mut Loader<'_>,
    root: &'a DeTable<'i>,
    name: &str,
    empty: &'a DeTable<'i>,
) -> Section<'a, 'i> {
    let label = format!("[{name}]");
    match root.get(name) {
        Some(value) => match value.get_ref() {
            DeValue::Table(table) => Section::new(table, value.span(), name.to_owned(), label),
            DeValue::Array(_) => {
                ld.error(
                    &value.span(),
                    name,
                    format!("`{name}` is a single table: write [{name}], not [[{name}]]"),
                );
                Section::new(empty, value.span(), name.to_owned(), label)
            }
            other => {
                ld.error(
                    &value.span(),
                    name,
                    expected(&format!("a table ([{name}])"), other),
                );
                Section::new(empty, value.span(), name.to_owned(), label)
            }
        },
        None => Section::new(empty, 0..0, name.to_owned(), label),
    }
}

/// Reports TOML syntax errors, at most one per line.
///
/// The parser's recovery after an unclosed `[` or `{` reads the rest of the file as elements of
/// that array or inline table, so every later line produces an error that is not really there.
/// When a "missing comma" error sits at the start of a line (the array ran on past its line),
/// it gets a hint and the errors after it are not reported.
fn report_syntax_errors(ld: &mut Loader<'_>, errors: &[toml::de::Error]) {
    const UNCLOSED: &[(&str, &str)] = &[
        ("missing comma between array elements", "`]`"),
        ("missing comma between key-value pairs", "`}`"),
    ];
    let mut errors: Vec<(std::ops::Range<usize>, &toml::de::Error)> = errors
        .iter()
        .map(|e| (e.span().unwrap_or(0..0), e))
        .collect();
    errors.sort_by_key(|(span, _)| span.start);
    let mut last_line = 0;
    for (span, error) in errors {
        let (line, column) = ld.position(span.start);
        if line == last_line {
            continue;
        }
        last_line = line;
        let mut message = match ld.text().get(span.clone()) {
            Some(key) if error.message() == "duplicate key" => {
                format!("TOML syntax error: duplicate key `{key}`")
            }
            _ => format!("TOML syntax error: {}", error.message()),
        };
        let unclosed = UNCLOSED
            .iter()
            .find(|(start, _)| column == 1 && error.message().starts_with(start));
        if let Some((_, bracket)) = unclosed {
            message.push_str(&format!(
                " (or a closing {bracket} is missing before this line)"
            ));
        }
        ld.error(&span, "", message);
        if unclosed.is_some() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// Every key each section accepts, nested keys dotted (`register.username`).
    fn accepted_keys() -> BTreeMap<&'static str, BTreeSet<String>> {
        let nested = |keys: &[&str], sub: &[(&str, &[&str])]| -> BTreeSet<String> {
            let mut all: BTreeSet<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            for (table, sub_keys) in sub {
                all.extend(sub_keys.iter().map(|k| format!("{table}.{k}")));
            }
            all
        };
        BTreeMap::from([
            ("site", nested(site::KEYS, &[])),
            ("sip", nested(sip::KEYS, &[])),
            ("registrar", nested(registrar::KEYS, &[])),
            ("media", nested(media::KEYS, &[])),
            ("calls", nested(calls::KEYS, &[])),
            ("auth", nested(auth::KEYS, &[])),
            ("database", nested(database::KEYS, &[])),
            ("http", nested(http::KEYS, &[("tokens", http::TOKEN_KEYS)])),
            ("log", nested(log::KEYS, &[])),
            ("extension", nested(extension::KEYS, &[])),
            (
                "class",
                nested(class::KEYS, &[("time_rules", class::TIME_RULE_KEYS)]),
            ),
            (
                "trunk",
                nested(
                    trunk::KEYS,
                    &[
                        ("register", trunk::REGISTER_KEYS),
                        ("auth", trunk::AUTH_KEYS),
                    ],
                ),
            ),
            ("rate", nested(rate::KEYS, &[])),
            ("outbound_route", nested(outbound_route::KEYS, &[])),
            ("inbound", nested(inbound_route::INBOUND_KEYS, &[])),
            ("inbound_route", nested(inbound_route::KEYS, &[])),
            (
                "time_condition",
                nested(
                    time_condition::KEYS,
                    &[("exceptions", time_condition::EXCEPTION_KEYS)],
                ),
            ),
            ("ivr", nested(ivr::KEYS, &[])),
            ("ring_group", nested(ring_group::KEYS, &[])),
            (
                "queue",
                nested(queue::KEYS, &[("members", queue::MEMBER_KEYS)]),
            ),
            ("agents", nested(agents::KEYS, &[])),
            ("callbacks", nested(callbacks::KEYS, &[])),
            ("prompts", nested(prompts::KEYS, &[])),
        ])
    }

    /// The keys in the first column of each section's table in `docs/CONFIGURATION.md`,
    /// under headings such as ``## `[sip]` `` and ``## `[[trunk]]` ``.
    fn documented_keys() -> BTreeMap<String, BTreeSet<String>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/CONFIGURATION.md");
        let doc = std::fs::read_to_string(path).expect("docs/CONFIGURATION.md is readable");
        let mut sections: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in doc.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                current = heading
                    .strip_prefix("`[")
                    .and_then(|h| h.strip_suffix("]`"))
                    .map(|h| h.trim_matches(['[', ']']).to_owned());
                if let Some(name) = &current {
                    sections.entry(name.clone()).or_default();
                }
            } else if let (Some(section), Some(row)) = (&current, line.strip_prefix("| `")) {
                let key = row.split('`').next().unwrap_or_default();
                sections
                    .get_mut(section)
                    .expect("entered at the heading")
                    .insert(key.to_owned());
            }
        }
        sections
    }

    #[test]
    fn the_reference_documents_exactly_the_keys_of_every_section() {
        let accepted = accepted_keys();
        let documented = documented_keys();
        let sections: BTreeSet<&str> = accepted.keys().copied().collect();
        assert_eq!(
            sections,
            SECTIONS.iter().copied().collect::<BTreeSet<&str>>(),
            "accepted_keys() must list every section"
        );
        let documented_sections: BTreeSet<&str> = documented.keys().map(String::as_str).collect();
        assert_eq!(
            documented_sections, sections,
            "docs/CONFIGURATION.md must have one heading per section"
        );
        for (section, keys) in &accepted {
            assert_eq!(
                &documented[*section], keys,
                "the keys of [{section}] in docs/CONFIGURATION.md"
            );
        }
    }
}
