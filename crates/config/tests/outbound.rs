//! Classes of service, trunks, `[[rate]]`, outbound routes and the keys of `[site]`,
//! `[[extension]]` and `[http]` that go with them: every key, its default, and every problem
//! at its exact `file:line:column: key`.

use std::net::IpAddr;
use std::path::Path;

use crossbar_cdr::{DestinationClass, Increment, Money};
use crossbar_config::{
    Cidr, Config, ConfigError, NumberFormat, Strategy, TrunkTransport, WeeklyHours,
};

const FILE: &str = "pbx.toml";

/// A site with a country and one trunk: the smallest file trunks, rates and routes can refer
/// to. Later text starts on line 7.
const BASE: &str = "[site]\ncountry = \"GB\"\n\n[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.carrier-a.example\"\n";

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::parse(text, Path::new(FILE)).map_err(|e| e.into_vec())
}

fn ok(text: &str) -> Config {
    parse(text).unwrap_or_else(|errors| panic!("expected a valid config, got:\n{errors:#?}"))
}

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// `FILE:line:column` of the `nth` (1-based) occurrence of `needle` in `text`.
fn at_nth(text: &str, needle: &str, nth: usize) -> String {
    let offset = text
        .match_indices(needle)
        .nth(nth - 1)
        .unwrap_or_else(|| panic!("`{needle}` occurs fewer than {nth} times"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{FILE}:{line}:{column}")
}

fn at(text: &str, needle: &str) -> String {
    at_nth(text, needle, 1)
}

/// Exactly one error, shown as `{at}: {key}: ...` with `part` in its message.
#[track_caller]
fn assert_one(text: &str, at: String, key: &str, part: &str) {
    let all = errors(text);
    assert_eq!(all.len(), 1, "expected exactly one error, got {all:#?}");
    let prefix = format!("{at}: {key}: ");
    assert!(
        all[0].starts_with(&prefix),
        "expected `{prefix}...`, got `{}`",
        all[0]
    );
    assert!(all[0].contains(part), "expected `{part}` in `{}`", all[0]);
}

fn money(text: &str) -> Money {
    text.parse().expect("a valid amount")
}

#[test]
fn every_new_key_is_read() {
    let text = r#"
[site]
country = "GB"
timezone = "Europe/London"
currency = "GBP"
area_code = "20"
emergency_numbers = ["999", "112"]
emergency_trunk = "carrier-a"
outside_line = "0"
privacy_prefix = "141"

[http]
listen = "127.0.0.1:8080"
tokens = [{ name = "ops", sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" }]

[[extension]]
number = "201"
secret = "correct-horse"
class = "national"
external_number = "+442079460001"
withhold_caller_id = true

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]
allow_countries = ["FR", "DE"]
block_countries = ["CU"]
time_rules = [{ classes = ["international"], hours = ["mon-fri 08:00-18:00", "sat 09:00-12:00"] }]
max_concurrent = 2
max_calls_per_minute = 10
max_calls_per_day = 200
daily_spend_limit = 20.0

[[trunk]]
name = "carrier-a"
address = "sip.carrier-a.example:5060"
transport = "tcp"
register = { username = "pbx", secret = "s3cret", domain = "carrier-a.example", expires = 600 }
auth = { username = "pbx-invite", secret = "other" }
inbound_addresses = ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"]
options_interval_secs = 0
max_calls = 30
max_cps = 5
number_format = "national"
strip = 1
prepend = "1234#"
from_domain = "pbx.example.com"
asserted_identity = true
caller_id = "+442079460000"

[[trunk]]
name = "carrier-b"
address = "[2001:db8::5]:5062"

[[rate]]
trunk = "carrier-a"
prefix = "+44"
per_minute = 0.010
connection_fee = "0.0125"
increment = "30/6"

[[outbound_route]]
name = "uk"
match = ["+44*", "+442079460000"]
classes = ["national", "mobile"]
strategy = "in_order"
trunks = ["carrier-b", "carrier-a"]
caller_id = "+442079460000"
"#;
    let config = ok(text);

    let site = &config.site;
    assert_eq!(site.currency.as_deref(), Some("GBP"));
    assert_eq!(site.area_code.as_deref(), Some("20"));
    assert_eq!(site.emergency_numbers, ["999", "112"]);
    assert_eq!(site.emergency_trunk.as_deref(), Some("carrier-a"));
    assert_eq!(site.outside_line.as_deref(), Some("0"));
    assert_eq!(site.privacy_prefix.as_deref(), Some("141"));

    assert_eq!(config.http.tokens.len(), 1);
    assert_eq!(config.http.tokens[0].name, "ops");
    assert_eq!(config.http.tokens[0].sha256[0], 0x9f);
    assert_eq!(config.http.tokens[0].sha256[31], 0x08);

    let alice = config.extension("201").unwrap();
    assert_eq!(alice.class.as_deref(), Some("national"));
    assert_eq!(alice.external_number.as_deref(), Some("+442079460001"));
    assert!(alice.withhold_caller_id);

    let class = config.class("national").unwrap();
    use DestinationClass::*;
    assert_eq!(
        class.allow,
        [Emergency, Internal, Local, National, Mobile, TollFree]
    );
    let codes = |list: &[crossbar_config::CountryCode]| -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    };
    assert_eq!(codes(&class.allow_countries), ["FR", "DE"]);
    assert_eq!(codes(&class.block_countries), ["CU"]);
    assert_eq!(class.time_rules.len(), 1);
    assert_eq!(class.time_rules[0].classes, [International]);
    let hours: Vec<String> = class.time_rules[0]
        .hours
        .iter()
        .map(WeeklyHours::to_string)
        .collect();
    assert_eq!(
        hours,
        ["mon,tue,wed,thu,fri 08:00-18:00", "sat 09:00-12:00"]
    );
    assert_eq!(class.max_concurrent, Some(2));
    assert_eq!(class.max_calls_per_minute, Some(10));
    assert_eq!(class.max_calls_per_day, Some(200));
    assert_eq!(class.daily_spend_limit, Some(money("20")));

    let a = config.trunk("carrier-a").unwrap();
    assert_eq!(
        (a.host.as_str(), a.port),
        ("sip.carrier-a.example", Some(5060))
    );
    assert_eq!(a.transport, TrunkTransport::Tcp);
    let register = a.register.as_ref().unwrap();
    assert_eq!(register.username, "pbx");
    assert_eq!(register.secret.expose(), "s3cret");
    assert_eq!(register.domain.as_deref(), Some("carrier-a.example"));
    assert_eq!(register.expires_secs, 600);
    let auth = a.auth.as_ref().unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.secret.expose()),
        ("pbx-invite", "other")
    );
    let blocks: Vec<String> = a.inbound_addresses.iter().map(Cidr::to_string).collect();
    assert_eq!(
        blocks,
        ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"]
    );
    assert!(a.inbound_addresses[0].contains("203.0.113.200".parse::<IpAddr>().unwrap()));
    assert_eq!(a.options_interval_secs, 0);
    assert_eq!((a.max_calls, a.max_cps), (Some(30), Some(5)));
    assert_eq!(a.number_format, NumberFormat::National);
    assert_eq!((a.strip, a.prepend.as_str()), (1, "1234#"));
    assert_eq!(a.from_domain.as_deref(), Some("pbx.example.com"));
    assert!(a.asserted_identity);
    assert_eq!(a.caller_id.as_deref(), Some("+442079460000"));
    assert_eq!(a.rates.len(), 1);
    assert_eq!(a.rates[0].prefix, "44");
    assert_eq!(a.rates[0].rate.per_minute, money("0.01"));
    assert_eq!(a.rates[0].rate.connection_fee, money("0.0125"));
    assert_eq!(
        a.rates[0].rate.increment,
        Increment {
            first_secs: 30,
            next_secs: 6
        }
    );

    let b = config.trunk("carrier-b").unwrap();
    assert_eq!((b.host.as_str(), b.port), ("2001:db8::5", Some(5062)));

    let route = &config.outbound_routes[0];
    assert_eq!(route.name, "uk");
    assert_eq!(route.patterns, ["+44*", "+442079460000"]);
    assert_eq!(route.classes, [National, Mobile]);
    assert_eq!(route.strategy, Strategy::InOrder);
    assert_eq!(route.trunks, ["carrier-b", "carrier-a"]);
    assert_eq!(route.caller_id.as_deref(), Some("+442079460000"));
}

#[test]
fn left_out_keys_take_their_defaults() {
    let text = format!(
        "{BASE}\n[[class]]\nname = \"basic\"\n\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"44\"\nper_minute = 1\n\n\
         [[outbound_route]]\nname = \"all\"\ntrunks = [\"carrier-a\"]\n\n\
         [[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n"
    );
    let config = ok(&text);

    let site = &config.site;
    assert_eq!(site.currency, None);
    assert_eq!(site.area_code, None);
    assert!(
        site.emergency_numbers.is_empty(),
        "filled in by the routing crate"
    );
    assert_eq!(site.emergency_trunk, None);
    assert_eq!(
        (site.outside_line.as_ref(), site.privacy_prefix.as_ref()),
        (None, None)
    );
    assert!(config.http.tokens.is_empty());

    let alice = config.extension("201").unwrap();
    assert_eq!(
        (alice.class.as_ref(), alice.external_number.as_ref()),
        (None, None)
    );
    assert!(!alice.withhold_caller_id);

    let class = config.class("basic").unwrap();
    assert_eq!(
        class.allow,
        [DestinationClass::Emergency, DestinationClass::Internal]
    );
    assert!(class.allow_countries.is_empty() && class.block_countries.is_empty());
    assert!(class.time_rules.is_empty());
    assert_eq!(class.max_concurrent, None);
    assert_eq!(
        (class.max_calls_per_minute, class.max_calls_per_day),
        (None, None)
    );
    assert_eq!(class.daily_spend_limit, None);

    let trunk = config.trunk("carrier-a").unwrap();
    assert_eq!(trunk.port, None);
    assert_eq!(trunk.transport, TrunkTransport::Udp);
    assert!(trunk.register.is_none() && trunk.auth.is_none());
    assert!(trunk.inbound_addresses.is_empty());
    assert_eq!(trunk.options_interval_secs, 30);
    assert_eq!((trunk.max_calls, trunk.max_cps), (None, None));
    assert_eq!(trunk.number_format, NumberFormat::E164);
    assert_eq!((trunk.strip, trunk.prepend.as_str()), (0, ""));
    assert_eq!(trunk.from_domain, None);
    assert!(!trunk.asserted_identity);
    assert_eq!(
        (trunk.caller_id.as_ref(), trunk.rates_file.as_ref()),
        (None, None)
    );
    let rate = trunk.rates[0].rate;
    assert_eq!(rate.per_minute, money("1"));
    assert_eq!(rate.connection_fee, Money::ZERO);
    assert_eq!(rate.increment, Increment::PER_MINUTE);

    let route = &config.outbound_routes[0];
    assert!(route.patterns.is_empty() && route.classes.is_empty());
    assert_eq!(route.strategy, Strategy::InOrder);
    assert_eq!(route.caller_id, None);
}

#[test]
fn trunk_auth_defaults_to_the_registration_credentials() {
    let text = format!("{BASE}register = {{ username = \"pbx\", secret = \"s3cret\" }}\n");
    let trunk = ok(&text).trunks.remove(0);
    let register = trunk.register.unwrap();
    assert_eq!(register.expires_secs, 3600);
    assert_eq!(register.domain, None);
    let auth = trunk.auth.unwrap();
    assert_eq!(
        (auth.username.as_str(), auth.secret.expose()),
        ("pbx", "s3cret")
    );
    assert!(
        !format!("{auth:?}").contains("s3cret"),
        "secrets stay out of logs"
    );
}

#[test]
fn amounts_may_be_integers_floats_or_strings_but_not_negative() {
    let rate = |value: &str| {
        format!("{BASE}\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"44\"\nper_minute = {value}\n")
    };
    for (value, expected) in [
        ("2", "2"),
        ("0.0125", "0.0125"),
        ("\"0.0125\"", "0.0125"),
        ("1.5e-2", "0.015"),
    ] {
        assert_eq!(
            ok(&rate(value)).trunks[0].rates[0].rate.per_minute,
            money(expected),
            "{value}"
        );
    }
    let text = rate("-0.01");
    assert_one(
        &text,
        at(&text, "-0.01"),
        "rate[1].per_minute",
        "must not be negative",
    );
    let text = rate("\"0,01\"");
    assert_one(
        &text,
        at(&text, "\"0,01\""),
        "rate[1].per_minute",
        "`0,01` is not an amount",
    );
    let text = rate("0.0000001");
    assert_one(
        &text,
        at(&text, "0.0000001"),
        "rate[1].per_minute",
        "at most six decimals",
    );
    let text = rate("true");
    assert_one(
        &text,
        at(&text, "true"),
        "rate[1].per_minute",
        "found a boolean",
    );
}

#[test]
fn rate_entries_are_checked() {
    let text = format!(
        "{BASE}\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"44a\"\nper_minute = 0.01\nincrement = \"60\"\n"
    );
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].starts_with(&format!(
        "{}: rate[1].prefix: `44a` is not a prefix",
        at(&text, "\"44a\"")
    )));
    assert!(all[1].starts_with(&format!(
        "{}: rate[1].increment: `60` is not a billing increment",
        at(&text, "\"60\"")
    )));

    let text = format!("{BASE}\n[[rate]]\ntrunk = \"carrier-a\"\n");
    let all = errors(&text);
    let header = at(&text, "[[rate]]");
    assert_eq!(
        all,
        [
            format!("{header}: rate[1].prefix: missing required key `prefix` in [[rate]] #1"),
            format!(
                "{header}: rate[1].per_minute: missing required key `per_minute` in [[rate]] #1"
            ),
        ]
    );
}

#[test]
fn a_rate_naming_no_trunk_is_reported_at_the_name() {
    let text =
        format!("{BASE}\n[[rate]]\ntrunk = \"carier-a\"\nprefix = \"44\"\nper_minute = 0.01\n");
    assert_one(
        &text,
        at(&text, "\"carier-a\""),
        "rate[1].trunk",
        "no trunk named `carier-a`; trunks: carrier-a (did you mean `carrier-a`?)",
    );
}

#[test]
fn later_rate_entries_replace_earlier_ones_for_the_same_prefix() {
    let text = format!(
        "{BASE}\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"+44\"\nper_minute = 0.01\n\
         [[rate]]\ntrunk = \"carrier-a\"\nprefix = \"+33\"\nper_minute = 0.02\n\
         [[rate]]\ntrunk = \"carrier-a\"\nprefix = \"44\"\nper_minute = 0.03\n"
    );
    let rates = &ok(&text).trunks[0].rates;
    let got: Vec<(&str, Money)> = rates
        .iter()
        .map(|r| (r.prefix.as_str(), r.rate.per_minute))
        .collect();
    assert_eq!(got, [("44", money("0.03")), ("33", money("0.02"))]);
}

#[test]
fn a_route_naming_an_unknown_trunk_is_reported_at_that_trunk() {
    let text = format!(
        "{BASE}\n[[outbound_route]]\nname = \"uk\"\ntrunks = [\"carrier-a\", \"carrier-b\"]\n"
    );
    assert_one(
        &text,
        at(&text, "\"carrier-b\""),
        "outbound_route[1].trunks",
        "no trunk named `carrier-b`; trunks: carrier-a (did you mean `carrier-a`?)",
    );
    let text = "[[outbound_route]]\nname = \"uk\"\ntrunks = [\"carrier-a\"]\n";
    assert_one(
        text,
        at(text, "\"carrier-a\""),
        "outbound_route[1].trunks",
        "no trunk named `carrier-a`: there is no [[trunk]]",
    );
}

#[test]
fn unknown_destination_classes_list_the_valid_ones() {
    let text = format!(
        "{BASE}\n[[outbound_route]]\nname = \"intl\"\nclasses = [\"internationl\"]\ntrunks = [\"carrier-a\"]\n"
    );
    assert_one(
        &text,
        at(&text, "\"internationl\""),
        "outbound_route[1].classes",
        "unknown destination class `internationl`, expected one of: emergency, internal, local, \
         national, mobile, toll_free, premium, international (did you mean `international`?)",
    );
    let text = "[[class]]\nname = \"basic\"\nallow = [\"internal\", \"tollfree\"]\n";
    assert_one(
        text,
        at(text, "\"tollfree\""),
        "class[1].allow",
        "(did you mean `toll_free`?)",
    );
    let text = "[[class]]\nname = \"basic\"\ntime_rules = [{ classes = [\"mobile\", \"mobiles\"], hours = [\"mon 09:00-10:00\"] }]\n";
    assert_one(
        text,
        at(text, "\"mobiles\""),
        "class[1].time_rules[1].classes",
        "unknown destination class `mobiles`",
    );
    let text = "[[class]]\nname = \"basic\"\nallow = [\"local\", \"local\"]\n";
    assert_one(
        text,
        at_nth(text, "\"local\"", 2),
        "class[1].allow",
        "`local` is listed twice",
    );
}

#[test]
fn an_extension_class_must_name_a_class() {
    let text = "[[class]]\nname = \"national\"\n\n[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\nclass = \"natonal\"\n";
    assert_one(
        text,
        at(text, "\"natonal\""),
        "extension[1].class",
        "no class of service named `natonal`; classes: national (did you mean `national`?)",
    );
    let text =
        "[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\nclass = \"national\"\n";
    assert_one(
        text,
        at(text, "\"national\""),
        "extension[1].class",
        "there is no [[class]]",
    );
}

#[test]
fn a_reference_to_a_section_with_problems_of_its_own_is_not_reported_again() {
    // The trunk and the class are invalid, but their names are: only their own problems show.
    let text = "[site]\ncountry = \"GB\"\n[[trunk]]\nname = \"carrier-a\"\naddress = \"\"\n\
                [[class]]\nname = \"national\"\nmax_concurrent = 0\n\
                [[outbound_route]]\nname = \"all\"\ntrunks = [\"carrier-a\"]\n\
                [[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\nclass = \"national\"\n";
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].contains("trunk[1].address"), "{}", all[0]);
    assert!(all[1].contains("class[1].max_concurrent"), "{}", all[1]);
}

#[test]
fn the_emergency_trunk_must_exist() {
    let text = BASE.replace(
        "country = \"GB\"\n",
        "country = \"GB\"\nemergency_trunk = \"carrier-z\"\n",
    );
    assert_one(
        &text,
        at(&text, "\"carrier-z\""),
        "site.emergency_trunk",
        "no trunk named `carrier-z`",
    );
}

#[test]
fn names_of_classes_trunks_and_routes_are_unique() {
    let text = format!(
        "{BASE}\n[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.other.example\"\n\n\
         [[class]]\nname = \"staff\"\n[[class]]\nname = \"staff\"\n\n\
         [[outbound_route]]\nname = \"uk\"\ntrunks = [\"carrier-a\"]\n\
         [[outbound_route]]\nname = \"uk\"\ntrunks = [\"carrier-a\"]\n"
    );
    let all = errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: trunk[2].name: duplicate trunk name `carrier-a`: already used at line 5",
                at_nth(&text, "\"carrier-a\"", 2)
            ),
            format!(
                "{}: class[2].name: duplicate class name `staff`: already used at line 13",
                at_nth(&text, "\"staff\"", 2)
            ),
            format!(
                "{}: outbound_route[2].name: duplicate route name `uk`: already used at line 18",
                at_nth(&text, "\"uk\"", 2)
            ),
        ]
    );
}

#[test]
fn names_are_letters_digits_and_dashes() {
    let text = "[[class]]\nname = \"front desk\"\n";
    assert_one(
        text,
        at(text, "\"front desk\""),
        "class[1].name",
        "contains ` `",
    );
    let text = "[[class]]\nallow = [\"internal\"]\n";
    assert_one(
        text,
        at(text, "[[class]]"),
        "class[1].name",
        "missing required key `name` in [[class]] #1",
    );
}

#[test]
fn emergency_numbers_must_not_collide() {
    let extension = "\n[[extension]]\nnumber = \"112\"\nsecret = \"correct-horse\"\n";
    let text = format!("[site]\nemergency_numbers = [\"999\", \"112\"]\n{extension}");
    assert_one(
        &text,
        at(&text, "\"112\""),
        "site.emergency_numbers",
        "`112` is an emergency number and also an extension's number or user name (line 5)",
    );

    let text = "[site]\nemergency_numbers = [\"999\"]\n\n[[extension]]\nnumber = \"201\"\nusername = \"999\"\nsecret = \"correct-horse\"\n";
    assert_one(
        text,
        at(text, "\"999\""),
        "site.emergency_numbers",
        "(line 6)",
    );

    let text = "[site]\nemergency_numbers = [\"999\", \"112\", \"999\"]\n";
    assert_one(
        text,
        at_nth(text, "\"999\"", 2),
        "site.emergency_numbers",
        "`999` is listed twice (first at line 2, column 22)",
    );

    let text = "[site]\nemergency_numbers = [\"99a\"]\n";
    assert_one(
        text,
        at(text, "\"99a\""),
        "site.emergency_numbers",
        "digits 0-9 only",
    );
}

#[test]
fn access_codes_must_not_hide_emergency_numbers_or_extensions() {
    let text = "[site]\nemergency_numbers = [\"999\", \"112\"]\noutside_line = \"9\"\n";
    assert_one(
        text,
        at(text, "\"9\""),
        "site.outside_line",
        "`9` starts the emergency number `999` (line 2)",
    );
    let text = "[site]\nemergency_numbers = [\"999\", \"112\"]\nprivacy_prefix = \"112\"\n";
    assert_one(
        text,
        at_nth(text, "\"112\"", 2),
        "site.privacy_prefix",
        "`112` is the emergency number `112`",
    );
    let text = "[site]\noutside_line = \"201\"\n\n[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\n";
    assert_one(
        text,
        at(text, "\"201\""),
        "site.outside_line",
        "`201` is also an extension number (line 5)",
    );
    let text = "[site]\noutside_line = \"0\"\nprivacy_prefix = \"0\"\n";
    assert_one(
        text,
        at_nth(text, "\"0\"", 2),
        "site.privacy_prefix",
        "also the outside line code (line 2)",
    );
    let text = "[site]\nprivacy_prefix = \"*6 7\"\n";
    assert_one(
        text,
        at(text, "\"*6 7\""),
        "site.privacy_prefix",
        "contains ` `",
    );
    ok(
        "[site]\nemergency_numbers = [\"911\"]\noutside_line = \"9\"\n"
            .replace("\"9\"", "\"8\"")
            .as_str(),
    );
}

#[test]
fn caller_ids_must_be_e164() {
    let text = "[[extension]]\nnumber = \"201\"\nsecret = \"correct-horse\"\nexternal_number = \"02079460001\"\n";
    assert_one(
        text,
        at(text, "\"02079460001\""),
        "extension[1].external_number",
        "`02079460001` is not an E.164 number (it must start with `+`",
    );
    let text = format!("{BASE}caller_id = \"+44 20 7946 0000\"\n");
    assert_one(
        &text,
        at(&text, "\"+44 20"),
        "trunk[1].caller_id",
        "after `+` use digits only",
    );
    let text = format!(
        "{BASE}\n[[outbound_route]]\nname = \"uk\"\ntrunks = [\"carrier-a\"]\ncaller_id = \"+1234567890123456\"\n"
    );
    assert_one(
        &text,
        at(&text, "\"+1234567890123456\""),
        "outbound_route[1].caller_id",
        "2 to 15 digits",
    );
}

#[test]
fn inbound_addresses_must_be_address_blocks_without_host_bits() {
    let text = format!("{BASE}inbound_addresses = [\"203.0.113.0/24\", \"203.0.113.7/24\"]\n");
    assert_one(
        &text,
        at(&text, "\"203.0.113.7/24\""),
        "trunk[1].inbound_addresses",
        "`203.0.113.7/24` has bits set after the /24 prefix: write `203.0.113.0/24` for the \
         block, or `203.0.113.7` for the one address",
    );
    let text = format!("{BASE}inbound_addresses = [\"carrier.example\"]\n");
    assert_one(
        &text,
        at(&text, "\"carrier.example\""),
        "trunk[1].inbound_addresses",
        "is not an IP address or address block",
    );
    let text = format!("{BASE}inbound_addresses = [\"2001:db8::/129\"]\n");
    assert_one(
        &text,
        at(&text, "\"2001:db8::/129\""),
        "trunk[1].inbound_addresses",
        "at most 128",
    );
}

#[test]
fn trunk_limits_of_zero_are_errors() {
    let text = format!("{BASE}max_calls = 0\nmax_cps = 0\n");
    let all = errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{FILE}:7:13: trunk[1].max_calls: must be at least 1, found 0 (leave the key out for no limit)"
            ),
            format!(
                "{FILE}:8:11: trunk[1].max_cps: must be at least 1, found 0 (leave the key out for no limit)"
            ),
        ]
    );
}

#[test]
fn trunk_addresses_need_a_host_and_a_valid_port() {
    let with_address =
        |address: &str| BASE.replace("\"sip.carrier-a.example\"", &format!("\"{address}\""));
    let text = with_address("");
    assert_one(
        &text,
        at(&text, "\"\""),
        "trunk[1].address",
        "must not be empty",
    );
    let text = with_address("sip.carrier-a.example:99999");
    assert_one(
        &text,
        at(&text, "\"sip.carrier-a.example:99999\""),
        "trunk[1].address",
        "has a bad port `99999`: expected a number from 1 to 65535",
    );
    let text = with_address("::1");
    assert_one(
        &text,
        at(&text, "\"::1\""),
        "trunk[1].address",
        "write an IPv6 address in brackets, e.g. [::1]:5060",
    );
    let text = "[site]\ncountry = \"GB\"\n[[trunk]]\nname = \"carrier-a\"\n";
    assert_one(
        text,
        at(text, "[[trunk]]"),
        "trunk[1].address",
        "missing required key `address` in [[trunk]] #1",
    );
}

#[test]
fn trunk_choices_list_the_valid_values() {
    let text = format!("{BASE}transport = \"tls\"\nnumber_format = \"E164\"\n");
    let all = errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: trunk[1].transport: unknown transport `tls`, expected one of: udp, tcp",
                at(&text, "\"tls\"")
            ),
            format!(
                "{}: trunk[1].number_format: unknown number format `E164`, expected one of: e164, national, international (did you mean `e164`?)",
                at(&text, "\"E164\"")
            ),
        ]
    );
}

#[test]
fn registration_needs_a_username_and_a_secret() {
    let text = format!("{BASE}register = {{ domain = \"carrier-a.example\" }}\n");
    let all = errors(&text);
    let table = at(&text, "{ domain");
    assert_eq!(
        all,
        [
            format!(
                "{table}: trunk[1].register.username: missing required key `username` in `register` of [[trunk]] #1"
            ),
            format!(
                "{table}: trunk[1].register.secret: missing required key `secret` in `register` of [[trunk]] #1"
            ),
        ]
    );
    let text = format!("{BASE}register = {{ username = \"pbx\", secret = \"\", expires = 30 }}\n");
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].starts_with(&format!(
        "{}: trunk[1].register.secret: must not be empty",
        at(&text, "\"\"")
    )));
    assert!(all[1].starts_with(&format!(
        "{}: trunk[1].register.expires: must be at least 60, found 30",
        at(&text, "30")
    )));
    let text = format!("{BASE}auth = {{ username = \"pbx\", password = \"x\" }}\n");
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].contains("trunk[1].auth.secret: missing required key `secret`"),
        "{}",
        all[0]
    );
    assert!(all[1].starts_with(&format!(
        "{}: trunk[1].auth.password: unknown key `password`",
        at(&text, "password")
    )));
}

#[test]
fn other_trunk_keys_are_checked() {
    let text = format!(
        "{BASE}prepend = \"12-34\"\nfrom_domain = \"pbx example\"\nasserted_identity = \"yes\"\n"
    );
    let all = errors(&text);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[0].starts_with(&format!(
        "{}: trunk[1].prepend: `12-34` contains `-`",
        at(&text, "\"12-34\"")
    )));
    assert!(all[1].starts_with(&format!(
        "{}: trunk[1].from_domain: `pbx example` is not a host name",
        at(&text, "\"pbx example\"")
    )));
    assert!(all[2].starts_with(&format!(
        "{}: trunk[1].asserted_identity: expected a boolean (true or false), found a string",
        at(&text, "\"yes\"")
    )));
}

#[test]
fn a_country_is_needed_as_soon_as_there_is_a_trunk() {
    let trunk = "[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.carrier-a.example\"\n";
    let text = format!("[site]\ntimezone = \"Europe/London\"\n\n{trunk}");
    assert_one(
        &text,
        at(&text, "[site]"),
        "site.country",
        "[site] needs `country` when there are trunks: numbers dialled out are normalised to E.164 with it",
    );
    // Without [site] at all, at the first trunk.
    let text = format!("[sip]\nrealm = \"pbx\"\n\n{trunk}");
    assert_one(
        &text,
        at(&text, "[[trunk]]"),
        "site.country",
        "[site] needs `country`",
    );
    ok(&format!("[site]\ncountry = \"GB\"\n{trunk}"));
}

#[test]
fn currency_and_area_code_are_shape_checked() {
    let text = "[site]\ncurrency = \"gbp\"\narea_code = \"020 7\"\n";
    let all = errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{}: site.currency: `gbp` is not an ISO 4217 currency code (three upper-case letters, e.g. GBP, EUR, USD)",
                at(text, "\"gbp\"")
            ),
            format!(
                "{}: site.area_code: `020 7` is not an area code: 1 to 6 digits, without the national prefix (e.g. \"20\" for London)",
                at(text, "\"020 7\"")
            ),
        ]
    );
}

#[test]
fn api_tokens_are_sha256_hashes_with_unique_names() {
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let other = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    let text = format!(
        "[http]\ntokens = [\n  {{ name = \"ops\", sha256 = \"{hash}\" }},\n  {{ name = \"ops\", sha256 = \"{other}\" }},\n  {{ name = \"ci\", sha256 = \"abc\" }},\n  {{ name = \"cd\", sha256 = \"{hash}\" }},\n]\n"
    );
    let all = errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: http.tokens[2].name: duplicate token name `ops`: already used at line 3",
                at_nth(&text, "\"ops\"", 2)
            ),
            format!(
                "{}: http.tokens[3].sha256: must be the SHA-256 of the token: 64 hexadecimal digits (`crossbar token new` prints it)",
                at(&text, "\"abc\"")
            ),
            format!(
                "{}: http.tokens[4].sha256: the same token as the one at line 3: give each its own",
                at_nth(&text, &format!("\"{hash}\""), 2)
            ),
        ]
    );
    let text = "[http]\ntokens = [{ name = \"ops\" }]\n";
    assert_one(
        text,
        at(text, "{ name"),
        "http.tokens[1].sha256",
        "missing required key `sha256` in `tokens` #1 of [http]",
    );
}

#[test]
fn weekly_hours_errors_point_at_the_string() {
    let text = "[[class]]\nname = \"office\"\ntime_rules = [\n  { classes = [\"international\"], hours = [\"mon-fri 08:00-18:00\", \"sat 9-12\"] },\n]\n";
    assert_one(
        text,
        at(text, "\"sat 9-12\""),
        "class[1].time_rules[1].hours",
        "`sat 9-12` is not weekly hours: `9` is not a time HH:MM between 00:00 and 24:00",
    );
    let text = "[[class]]\nname = \"office\"\ntime_rules = [{ classes = [\"international\"] }]\n";
    assert_one(
        text,
        at(text, "{ classes"),
        "class[1].time_rules[1].hours",
        "missing required key `hours`",
    );
    let text = "[[class]]\nname = \"office\"\ntime_rules = [{ classes = [], hours = [\"mon 09:00-10:00\"], days = 1 }]\n";
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].starts_with(&format!(
        "{}: class[1].time_rules[1].classes: must name at least one",
        at(text, "[]")
    )));
    assert!(all[1].starts_with(&format!(
        "{}: class[1].time_rules[1].days: unknown key `days` in `time_rules` #1 of [[class]] #1",
        at(text, "days")
    )));
}

#[test]
fn class_caps_and_countries_are_checked() {
    let text = "[[class]]\nname = \"staff\"\nmax_concurrent = 0\ndaily_spend_limit = 0\nallow_countries = [\"FR\", \"fr\"]\nblock_countries = [\"FR\"]\n";
    let all = errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{}: class[1].max_concurrent: must be at least 1, found 0 (leave the key out for no limit)",
                at(text, "0\n")
            ),
            format!(
                "{}: class[1].daily_spend_limit: must be more than 0 (leave the key out for no limit)",
                at(text, "0\nallow")
            ),
            format!(
                "{}: class[1].allow_countries: `fr` is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. FR)",
                at(text, "\"fr\"")
            ),
            format!(
                "{}: class[1].block_countries: `FR` is both allowed (allow_countries, line 5) and blocked",
                at_nth(text, "\"FR\"", 2)
            ),
        ]
    );
}

#[test]
fn route_patterns_are_e164_prefixes() {
    let route = |pattern: &str| {
        format!(
            "{BASE}\n[[outbound_route]]\nname = \"r\"\nmatch = [\"{pattern}\"]\ntrunks = [\"carrier-a\"]\n"
        )
    };
    for good in ["+*", "+44*", "+442079460000"] {
        ok(&route(good));
    }
    for (bad, part) in [
        ("44*", "it must start with `+`"),
        ("+4*4", "`*` only at the end"),
        ("+4", "is not an E.164 number"),
        ("+1234567890123456*", "longer than any E.164 number"),
    ] {
        let text = route(bad);
        assert_one(
            &text,
            at(&text, &format!("\"{bad}\"")),
            "outbound_route[1].match",
            part,
        );
    }
}

#[test]
fn least_cost_routes_need_trunks_with_rates() {
    let text = format!(
        "{BASE}\n[[outbound_route]]\nname = \"cheap\"\nstrategy = \"least_cost\"\ntrunks = [\"carrier-a\"]\n"
    );
    assert_one(
        &text,
        at_nth(&text, "\"carrier-a\"", 2),
        "outbound_route[1].trunks",
        "trunk `carrier-a` has no rates, so least_cost would never use it",
    );
    let rated =
        format!("{text}\n[[rate]]\ntrunk = \"carrier-a\"\nprefix = \"44\"\nper_minute = 0.01\n");
    assert_eq!(ok(&rated).outbound_routes[0].strategy, Strategy::LeastCost);
    let text =
        format!("{BASE}\n[[outbound_route]]\nname = \"r\"\nstrategy = \"cheapest\"\ntrunks = []\n");
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].contains("unknown strategy `cheapest`, expected one of: in_order, least_cost"),
        "{}",
        all[0]
    );
    assert!(all[1].starts_with(&format!(
        "{}: outbound_route[1].trunks: must name at least one trunk",
        at(&text, "[]")
    )));
}

#[test]
fn a_trunk_leaves_from_one_of_the_listen_addresses_of_its_transport() {
    let text = "[sip]\nlisten_udp = [\"0.0.0.0:5060\", \"0.0.0.0:5080\"]\nlisten_tcp = [\"0.0.0.0:5060\"]\n\
                [site]\ncountry = \"GB\"\n[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.carrier-a.example\"\n\
                listen = \"0.0.0.0:5080\"\n";
    let config = ok(text);
    assert_eq!(
        config.trunks[0].listen,
        Some("0.0.0.0:5080".parse().expect("address"))
    );
    let tcp = text.replace("listen = ", "transport = \"tcp\"\nlisten = ");
    assert_one(
        &tcp,
        at(&tcp, "\"0.0.0.0:5080\"\n"),
        "trunk[1].listen",
        "is not one of [sip] listen_tcp: 0.0.0.0:5060",
    );
    let elsewhere = text.replace("listen = \"0.0.0.0:5080\"", "listen = \"127.0.0.1:5090\"");
    assert_one(
        &elsewhere,
        at(&elsewhere, "\"127.0.0.1:5090\""),
        "trunk[1].listen",
        "is not one of [sip] listen_udp",
    );
    assert_eq!(
        ok(BASE).trunks[0].listen,
        None,
        "no listen: the default socket"
    );
}
