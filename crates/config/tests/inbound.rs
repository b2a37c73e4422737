//! Incoming calls: `[inbound]`, `[[inbound_route]]`, `[[time_condition]]`, `[[ivr]]`,
//! `[[ring_group]]`, `[prompts]`, and the keys of `[[trunk]]` and `[[extension]]` that go with
//! them — every key, its default, every problem at its exact `file:line:column: key`, the
//! loops destinations must not make, and the prompt files menus name.

mod support;

use std::path::PathBuf;

use crossbar_config::{
    CivilDate, Config, ConfigError, DatedHours, Destination, DidSource, Escalation, Holiday,
    Member, NumberPattern, PromptRef, RingStrategy, WeeklyHours,
};
use support::{ALAW, Dir, MULAW, PCM, pcm16, wav};

const FILE: &str = "pbx.toml";

/// A site, a trunk and two extensions: what routes, groups and escalations refer to.
const BASE: &str = "[site]\ncountry = \"GB\"\n\n[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.carrier-a.example\"\n\n[[extension]]\nnumber = \"201\"\nsecret = \"alice-secret-201\"\n\n[[extension]]\nnumber = \"202\"\nsecret = \"bob-secret-202\"\n";

/// A directory with `pbx.toml`'s prompts (`greeting`, `invalid`, `timeout` in `prompts/en/`),
/// where each test's configuration is read as if it were `pbx.toml` in it.
struct Fixture {
    dir: Dir,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = Dir::new(&format!("inbound-{test}"));
        dir.prompts("en", &["greeting", "invalid", "timeout"]);
        Fixture { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join(FILE)
    }

    fn parse(&self, text: &str) -> Result<Config, Vec<ConfigError>> {
        Config::parse(text, &self.config_path()).map_err(|e| e.into_vec())
    }

    fn ok(&self, text: &str) -> Config {
        self.parse(text)
            .unwrap_or_else(|errors| panic!("expected a valid config, got:\n{errors:#?}"))
    }

    /// Every error, shown with the file as `pbx.toml` and the directory as `DIR`.
    fn errors(&self, text: &str) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        match self.parse(text) {
            Ok(config) => panic!("expected errors, got {config:#?}"),
            Err(errors) => errors
                .iter()
                .map(|e| {
                    e.to_string()
                        .replacen(&format!("{dir}/{FILE}"), FILE, 1)
                        .replace(&dir, "DIR")
                })
                .collect(),
        }
    }

    /// Exactly one error, shown as `{at}: {key}: ...` with `part` in its message.
    #[track_caller]
    fn assert_one(&self, text: &str, at: String, key: &str, part: &str) {
        let all = self.errors(text);
        assert_eq!(all.len(), 1, "expected exactly one error, got {all:#?}");
        let prefix = format!("{at}: {key}: ");
        assert!(
            all[0].starts_with(&prefix),
            "expected `{prefix}...`, got `{}`",
            all[0]
        );
        assert!(all[0].contains(part), "expected `{part}` in `{}`", all[0]);
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

/// `FILE:line:column` of the first `needle` after the first `anchor`.
fn at_after(text: &str, anchor: &str, needle: &str) -> String {
    let start = text
        .find(anchor)
        .unwrap_or_else(|| panic!("`{anchor}` does not occur"));
    let nth = text[..start].matches(needle).count() + 1;
    at_nth(text, needle, nth)
}

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

fn ext(number: &str) -> Destination {
    Destination::Extension(number.to_owned())
}

fn hours(text: &str) -> WeeklyHours {
    text.parse().expect("valid weekly hours")
}

fn date(year: i16, month: u8, day: u8) -> CivilDate {
    CivilDate { year, month, day }
}

#[test]
fn every_inbound_key_is_read() {
    let f = Fixture::new("every-key");
    f.dir.prompts("fr", &["greeting", "invalid", "timeout"]);
    f.dir.write("sounds/closed.wav", &wav(MULAW, 1, 8000, 8));
    let text = r##"
[site]
country = "GB"

[prompts]
dir = "prompts"
default_language = "en"

[inbound]
blocklist = ["+441632960999", "+44900*"]
blocked_status = 486

[[class]]
name = "national"
allow = ["emergency", "internal", "national", "mobile"]

[[trunk]]
name = "carrier-a"
address = "sip.carrier-a.example"
did_from = "header:P-Called-Party-ID"
default_destination = "hangup"

[[extension]]
number = "201"
secret = "alice-secret-201"
no_answer_secs = 20
on_no_answer = "group:reception"
on_busy = "ivr:busy"
on_unavailable = "hangup"

[[extension]]
number = "202"
secret = "bob-secret-202"

[[inbound_route]]
name = "main"
trunks = ["carrier-a"]
dids = ["+442079460000", "+4420794601*", "+442079460200-+442079460299"]
callers = ["+447*"]
anonymous = false
destination = "tc:office-hours"
language = "fr"
vip = true

[[time_condition]]
name = "office-hours"
open = ["mon-fri 09:00-17:30", "sat 10:00-13:00"]
holidays = ["2026-12-25", "2026-12-24..2026-12-31", "01-01"]
exceptions = [{ date = "2026-12-24", hours = ["09:00-12:00", "13:00-15:00"] }, { date = "2026-12-31", hours = [] }]
when_open = "ivr:main"
when_closed = "hangup"

[[ivr]]
name = "main"
prompt = "greeting"
options = { "1" = "group:sales", "2" = "ext:202", "0" = "ext:201", "*" = "ivr:main", "#" = "hangup" }
direct_dial = true
timeout_secs = 7
digit_timeout_secs = 4
retries = 3
invalid_prompt = "invalid"
timeout_prompt = "sounds/closed.wav"
on_failure = "group:reception"

[[ivr]]
name = "busy"
prompt = "timeout"
direct_dial = true

[[ring_group]]
name = "sales"
strategy = "hunt"
members = ["201", "202", "+447400123456"]
ring_secs = 15
skip_busy = false
present_caller = true
class = "national"
no_answer_secs = 45
on_no_answer = "hangup"
on_busy = "ext:202"
on_unavailable = "ivr:main"

[[ring_group]]
name = "reception"
members = ["202"]
"##;
    let config = f.ok(text);
    assert_eq!(config.prompts.dir, f.dir.path().join("prompts"));
    assert_eq!(config.prompts.default_language, "en");
    assert_eq!(
        config.prompts.path("fr", "greeting"),
        f.dir.path().join("prompts/fr/greeting.wav")
    );

    assert_eq!(
        config.inbound.blocklist,
        [
            NumberPattern::Exact("+441632960999".to_owned()),
            NumberPattern::Prefix("+44900".to_owned()),
        ]
    );
    assert_eq!(config.inbound.blocked_status, 486);

    let trunk = config.trunk("carrier-a").unwrap();
    assert_eq!(
        trunk.did_from,
        DidSource::Header("P-Called-Party-ID".to_owned())
    );
    assert_eq!(trunk.default_destination, Some(Destination::Hangup));

    assert_eq!(
        config.extension("201").unwrap().escalation,
        Escalation {
            no_answer_secs: Some(20),
            on_no_answer: Some(Destination::Group("reception".to_owned())),
            on_busy: Some(Destination::Ivr("busy".to_owned())),
            on_unavailable: Some(Destination::Hangup),
        }
    );
    assert_eq!(
        config.extension("202").unwrap().escalation,
        Escalation::default()
    );

    let route = &config.inbound_routes[0];
    assert_eq!(route.name, "main");
    assert_eq!(route.trunks, ["carrier-a"]);
    assert_eq!(
        route.dids,
        [
            NumberPattern::Exact("+442079460000".to_owned()),
            NumberPattern::Prefix("+4420794601".to_owned()),
            NumberPattern::Range {
                from: "+442079460200".to_owned(),
                to: "+442079460299".to_owned()
            },
        ]
    );
    assert_eq!(route.callers, [NumberPattern::Prefix("+447".to_owned())]);
    assert_eq!(route.anonymous, Some(false));
    assert_eq!(
        route.destination,
        Destination::TimeCondition("office-hours".to_owned())
    );
    assert_eq!(route.language.as_deref(), Some("fr"));
    assert!(route.vip);

    let tc = config.time_condition("office-hours").unwrap();
    assert_eq!(
        tc.open,
        [hours("mon-fri 09:00-17:30"), hours("sat 10:00-13:00")]
    );
    assert_eq!(
        tc.holidays,
        [
            Holiday::Date(date(2026, 12, 25)),
            Holiday::Range {
                from: date(2026, 12, 24),
                to: date(2026, 12, 31)
            },
            Holiday::Yearly { month: 1, day: 1 },
        ]
    );
    let all_week = |start_minute, end_minute| WeeklyHours {
        days: 0b111_1111,
        start_minute,
        end_minute,
    };
    assert_eq!(
        tc.exceptions,
        [
            DatedHours {
                date: date(2026, 12, 24),
                hours: vec![all_week(540, 720), all_week(780, 900)],
            },
            DatedHours {
                date: date(2026, 12, 31),
                hours: vec![],
            },
        ]
    );
    assert_eq!(tc.when_open, Destination::Ivr("main".to_owned()));
    assert_eq!(tc.when_closed, Destination::Hangup);

    let menu = config.ivr("main").unwrap();
    assert_eq!(menu.prompt, PromptRef::Named("greeting".to_owned()));
    assert_eq!(
        menu.options,
        [
            ('1', Destination::Group("sales".to_owned())),
            ('2', ext("202")),
            ('0', ext("201")),
            ('*', Destination::Ivr("main".to_owned())),
            ('#', Destination::Hangup),
        ]
    );
    assert!(menu.direct_dial);
    assert_eq!(
        (menu.timeout_secs, menu.digit_timeout_secs, menu.retries),
        (7, 4, 3)
    );
    assert_eq!(
        menu.invalid_prompt,
        Some(PromptRef::Named("invalid".to_owned()))
    );
    assert_eq!(
        menu.timeout_prompt,
        Some(PromptRef::File(f.dir.path().join("sounds/closed.wav")))
    );
    assert_eq!(menu.on_failure, Destination::Group("reception".to_owned()));

    let sales = config.ring_group("sales").unwrap();
    assert_eq!(sales.strategy, RingStrategy::Hunt);
    assert_eq!(
        sales.members,
        [
            Member::Extension("201".to_owned()),
            Member::Extension("202".to_owned()),
            Member::External("+447400123456".to_owned()),
        ]
    );
    assert_eq!(sales.ring_secs, 15);
    assert!(!sales.skip_busy);
    assert!(sales.present_caller);
    assert_eq!(sales.class.as_deref(), Some("national"));
    assert_eq!(
        sales.escalation,
        Escalation {
            no_answer_secs: Some(45),
            on_no_answer: Some(Destination::Hangup),
            on_busy: Some(ext("202")),
            on_unavailable: Some(Destination::Ivr("main".to_owned())),
        }
    );
}

#[test]
fn every_inbound_key_has_a_default() {
    let f = Fixture::new("defaults");
    let config = f.ok(&with_base(
        r#"
[[inbound_route]]
name = "all"
destination = "ivr:main"

[[time_condition]]
name = "office-hours"
open = []
when_open = "ext:201"
when_closed = "ext:202"

[[ivr]]
name = "main"
prompt = "greeting"
options = { "1" = "group:sales" }

[[ring_group]]
name = "sales"
members = ["201"]
"#,
    ));
    assert_eq!(config.prompts.dir, f.dir.path().join("prompts"));
    assert_eq!(config.prompts.default_language, "en");
    assert!(config.inbound.blocklist.is_empty());
    assert_eq!(config.inbound.blocked_status, 403);
    let trunk = &config.trunks[0];
    assert_eq!(trunk.did_from, DidSource::RequestUri);
    assert_eq!(trunk.default_destination, None);
    assert_eq!(config.extensions[0].escalation, Escalation::default());

    let route = &config.inbound_routes[0];
    assert!(route.trunks.is_empty() && route.dids.is_empty() && route.callers.is_empty());
    assert_eq!(route.anonymous, None);
    assert_eq!(route.language, None);
    assert!(!route.vip);

    let tc = &config.time_conditions[0];
    assert!(tc.open.is_empty() && tc.holidays.is_empty() && tc.exceptions.is_empty());

    let menu = &config.ivrs[0];
    assert!(!menu.direct_dial);
    assert_eq!(
        (menu.timeout_secs, menu.digit_timeout_secs, menu.retries),
        (5, 3, 2)
    );
    assert_eq!(
        (menu.invalid_prompt.as_ref(), menu.timeout_prompt.as_ref()),
        (None, None)
    );
    assert_eq!(menu.on_failure, Destination::Hangup);

    let group = &config.ring_groups[0];
    assert_eq!(group.strategy, RingStrategy::RingAll);
    assert_eq!(group.ring_secs, 20);
    assert!(group.skip_busy);
    assert!(!group.present_caller);
    assert_eq!(group.class, None);
    assert_eq!(group.escalation, Escalation::default());

    // A file without any of them.
    let config = f.ok("");
    assert!(config.inbound_routes.is_empty() && config.time_conditions.is_empty());
    assert!(config.ivrs.is_empty() && config.ring_groups.is_empty());
    assert_eq!(config.inbound.blocked_status, 403);
}

#[test]
fn required_keys_are_reported_at_the_header() {
    let f = Fixture::new("required");
    let text = "[[inbound_route]]\nname = \"r\"\n\n[[time_condition]]\nname = \"t\"\n\n[[ivr]]\nname = \"m\"\ndirect_dial = true\n\n[[ring_group]]\nname = \"g\"\n";
    let all = f.errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{FILE}:1:1: inbound_route[1].destination: missing required key `destination` in [[inbound_route]] #1"
            ),
            format!(
                "{FILE}:4:1: time_condition[1].open: missing required key `open` in [[time_condition]] #1"
            ),
            format!(
                "{FILE}:4:1: time_condition[1].when_open: missing required key `when_open` in [[time_condition]] #1"
            ),
            format!(
                "{FILE}:4:1: time_condition[1].when_closed: missing required key `when_closed` in [[time_condition]] #1"
            ),
            format!("{FILE}:7:1: ivr[1].prompt: missing required key `prompt` in [[ivr]] #1"),
            format!(
                "{FILE}:11:1: ring_group[1].members: missing required key `members` in [[ring_group]] #1"
            ),
        ]
    );
}

#[test]
fn unknown_keys_of_the_inbound_sections_get_a_suggestion() {
    let f = Fixture::new("unknown-keys");
    let text = with_base(
        "\n[inbound]\nblock_list = []\n\n[[inbound_route]]\nname = \"r\"\ndestinaton = \"hangup\"\ndestination = \"hangup\"\n\n[[time_condition]]\nname = \"t\"\nopen = []\nwhen_open = \"hangup\"\nwhen_closed = \"hangup\"\nexceptions = [{ date = \"2026-12-24\", hour = [] }]\n",
    );
    let all = f.errors(&text);
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(all[0].starts_with(&format!("{}: inbound.block_list: unknown key `block_list` in [inbound], expected one of: blocklist, blocked_status (did you mean `blocklist`?)", at(&text, "block_list"))), "{}", all[0]);
    assert!(
        all[1].starts_with(&format!(
            "{}: inbound_route[1].destinaton: unknown key",
            at(&text, "destinaton")
        )),
        "{}",
        all[1]
    );
    assert!(
        all[1].ends_with("(did you mean `destination`?)"),
        "{}",
        all[1]
    );
    // A missing `hours` at the exception's table, the unknown `hour` at the key.
    assert!(all[2].starts_with(&format!("{}: time_condition[1].exceptions[1].hours: missing required key `hours` in `exceptions` #1 of [[time_condition]] #1", at(&text, "{ date"))), "{}", all[2]);
    assert!(
        all[3].starts_with(&format!(
            "{}: time_condition[1].exceptions[1].hour: unknown key `hour`",
            at(&text, "hour =")
        )),
        "{}",
        all[3]
    );
}

#[test]
fn a_destination_that_is_not_kind_colon_name_gets_the_valid_forms_and_a_suggestion() {
    let f = Fixture::new("destination-forms");
    for (written, part) in [
        (
            "grp:sales",
            "unknown destination kind `grp` in `grp:sales`, expected one of: ext, ivr, group, queue, tc, hangup",
        ),
        ("grp:sales", "(did you mean `group:sales`?)"),
        ("extension:201", "(did you mean `ext:201`?)"),
        (
            "201",
            "`201` is not a destination: write ext:NUMBER, ivr:NAME, group:NAME, queue:NAME, tc:NAME or hangup",
        ),
        ("201", "(did you mean `ext:201`?)"),
        ("Hangup", "(did you mean `hangup`?)"),
        (
            "voicemail:201",
            "`voicemail:201`: voicemail destinations are not supported by this version of crossbar yet",
        ),
        (
            "queue:support",
            "no queue named `support`: there is no [[queue]]",
        ),
        ("acd:support", "(did you mean `queue:support`?)"),
        ("hangup:now", "hangup takes no name"),
        ("ext:alice", "`alice` is not an extension number"),
        ("ivr:main menu", "contains ` `"),
    ] {
        let text = with_base(&format!(
            "\n[[inbound_route]]\nname = \"r\"\ndestination = \"{written}\"\n"
        ));
        f.assert_one(
            &text,
            at_after(&text, "[[inbound_route]]", &format!("\"{written}\"")),
            "inbound_route[1].destination",
            part,
        );
    }
    let text = with_base("\n[[inbound_route]]\nname = \"r\"\ndestination = 201\n");
    f.assert_one(
        &text,
        at(&text, "201\n"),
        "inbound_route[1].destination",
        "expected a destination (ext:NUMBER, ivr:NAME, group:NAME, queue:NAME, tc:NAME or hangup (e.g. ext:201, ivr:main, group:reception, queue:support, tc:office-hours)), found an integer",
    );
}

#[test]
fn a_destination_must_name_something_that_exists() {
    let f = Fixture::new("destination-exists");
    let text = with_base(
        r#"
[[inbound_route]]
name = "r1"
destination = "ext:209"

[[inbound_route]]
name = "r2"
destination = "ivr:man"

[[inbound_route]]
name = "r3"
destination = "group:sales"

[[inbound_route]]
name = "r4"
destination = "tc:office-hours"

[[ivr]]
name = "main"
prompt = "greeting"
direct_dial = true
"#,
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: inbound_route[1].destination: no extension numbered `209`; extensions: 201, 202 (did you mean `ext:201`?)",
                at(&text, "\"ext:209\"")
            ),
            format!(
                "{}: inbound_route[2].destination: no menu named `man`; menus: main (did you mean `ivr:main`?)",
                at(&text, "\"ivr:man\"")
            ),
            format!(
                "{}: inbound_route[3].destination: no ring group named `sales`: there is no [[ring_group]]",
                at(&text, "\"group:sales\"")
            ),
            format!(
                "{}: inbound_route[4].destination: no time condition named `office-hours`: there is no [[time_condition]]",
                at(&text, "\"tc:office-hours\"")
            ),
        ]
    );
}

#[test]
fn destinations_are_checked_wherever_they_are_written() {
    let f = Fixture::new("destination-everywhere");
    let text = format!(
        "{}default_destination = \"ext:299\"\n\n[[extension]]\nnumber = \"203\"\nsecret = \"carol-secret-203\"\non_busy = \"ext:298\"\n\n[[time_condition]]\nname = \"t\"\nopen = []\nwhen_open = \"ext:297\"\nwhen_closed = \"ext:296\"\n\n[[ivr]]\nname = \"m\"\nprompt = \"greeting\"\noptions = {{ \"1\" = \"ext:295\" }}\non_failure = \"ext:294\"\n\n[[ring_group]]\nname = \"g\"\nmembers = [\"203\"]\non_unavailable = \"ext:293\"\n",
        &BASE[..BASE.find("\n\n[[extension]]").unwrap() + 1]
    );
    let keys: Vec<String> = f
        .errors(&text)
        .iter()
        .map(|e| e.split(": ").nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "trunk[1].default_destination",
            "extension[1].on_busy",
            "time_condition[1].when_open",
            "time_condition[1].when_closed",
            "ivr[1].options.1",
            "ivr[1].on_failure",
            "ring_group[1].on_unavailable",
        ]
    );
}

#[test]
fn a_loop_of_time_conditions_is_an_error_naming_it() {
    let f = Fixture::new("tc-loop");
    // Both branches of `a` lead back to it through `b`.
    let text = with_base(
        r#"
[[inbound_route]]
name = "r"
destination = "tc:a"

[[time_condition]]
name = "a"
open = ["mon-fri 09:00-17:00"]
when_open = "tc:b"
when_closed = "tc:b"

[[time_condition]]
name = "b"
open = ["sat 09:00-12:00"]
when_open = "tc:a"
when_closed = "tc:a"
"#,
    );
    f.assert_one(
        &text,
        at(&text, "\"tc:b\""),
        "time_condition[1].when_open",
        "time conditions lead round in a loop: tc:a → tc:b → tc:a; when they are in the states that take this path (by their hours or a manual override) a call never reaches a destination",
    );

    // One branch back to itself is a loop too: an override can hold it in that state.
    let text = with_base(
        "\n[[time_condition]]\nname = \"night\"\nopen = [\"mon-sun 22:00-06:00\"]\nwhen_open = \"hangup\"\nwhen_closed = \"tc:night\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"tc:night\""),
        "time_condition[1].when_closed",
        "loop: tc:night → tc:night;",
    );

    // Three in a ring, entered from the middle: reported once, from the first in the file.
    let text = with_base(
        "\n[[time_condition]]\nname = \"a\"\nopen = []\nwhen_open = \"hangup\"\nwhen_closed = \"tc:b\"\n\n[[time_condition]]\nname = \"b\"\nopen = []\nwhen_open = \"hangup\"\nwhen_closed = \"tc:c\"\n\n[[time_condition]]\nname = \"c\"\nopen = []\nwhen_open = \"hangup\"\nwhen_closed = \"tc:a\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"tc:b\""),
        "time_condition[1].when_closed",
        "tc:a → tc:b → tc:c → tc:a",
    );
}

#[test]
fn time_conditions_that_lead_to_each_other_without_a_loop_are_fine() {
    let f = Fixture::new("tc-chain");
    let config = f.ok(&with_base(
        "\n[[time_condition]]\nname = \"holidays\"\nopen = [\"mon-sun 00:00-24:00\"]\nholidays = [\"12-25\"]\nwhen_open = \"tc:office-hours\"\nwhen_closed = \"hangup\"\n\n[[time_condition]]\nname = \"office-hours\"\nopen = [\"mon-fri 09:00-17:30\"]\nwhen_open = \"ext:201\"\nwhen_closed = \"ext:202\"\n",
    ));
    assert_eq!(config.time_conditions.len(), 2);
}

#[test]
fn an_escalation_loop_without_a_menu_or_hangup_is_an_error_naming_it() {
    let f = Fixture::new("escalation-loop");
    let text = format!(
        "{}on_no_answer = \"ext:202\"\n\n[[extension]]\nnumber = \"202\"\nsecret = \"bob-secret-202\"\non_no_answer = \"ext:201\"\n",
        &BASE[..BASE.find("\n\n[[extension]]\nnumber = \"202\"").unwrap() + 1]
    );
    f.assert_one(
        &text,
        at(&text, "\"ext:202\""),
        "extension[1].on_no_answer",
        "escalation goes round in a loop with no menu or hangup in it: ext:201 → ext:202 → ext:201; a call nobody answers would be passed round forever",
    );

    // Through a group and a time condition.
    let text = with_base(
        r#"
[[ring_group]]
name = "sales"
members = ["201", "202"]
on_busy = "tc:office-hours"

[[time_condition]]
name = "office-hours"
open = ["mon-fri 09:00-17:30"]
when_open = "group:sales"
when_closed = "hangup"
"#,
    );
    f.assert_one(
        &text,
        at(&text, "\"tc:office-hours\""),
        "ring_group[1].on_busy",
        "group:sales → tc:office-hours → group:sales",
    );

    // A group whose no-answer is itself.
    let text = with_base(
        "\n[[ring_group]]\nname = \"sales\"\nmembers = [\"201\"]\non_no_answer = \"group:sales\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"group:sales\""),
        "ring_group[1].on_no_answer",
        "group:sales → group:sales",
    );
}

#[test]
fn a_menu_or_hangup_ends_an_escalation_chain() {
    let f = Fixture::new("escalation-menu");
    // 201 → group → menu, whose options and on_failure lead back to 201 and the group.
    let text = format!(
        "{}on_no_answer = \"group:sales\"\n\n[[extension]]\nnumber = \"202\"\nsecret = \"bob-secret-202\"\non_busy = \"hangup\"\n\n[[ring_group]]\nname = \"sales\"\nmembers = [\"202\"]\non_no_answer = \"ivr:main\"\n\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\noptions = {{ \"1\" = \"ext:201\", \"2\" = \"group:sales\", \"9\" = \"ivr:main\" }}\non_failure = \"ext:201\"\n",
        &BASE[..BASE.find("\n\n[[extension]]\nnumber = \"202\"").unwrap() + 1]
    );
    let config = f.ok(&text);
    assert_eq!(
        config.extension("201").unwrap().escalation.on_no_answer,
        Some(Destination::Group("sales".to_owned()))
    );
}

#[test]
fn number_patterns_are_exact_prefixes_or_ranges_of_one_length() {
    let f = Fixture::new("patterns");
    for (pattern, part) in [
        (
            "442079460000",
            "it must start with `+` and the country code",
        ),
        ("+*", "give at least one digit before `*`"),
        ("+44*1", "`*` may only end a prefix"),
        (
            "+4420794602-+442079460299",
            "both ends of a range have the same number of digits (+4420794602 has 10, +442079460299 has 12)",
        ),
        (
            "+442079460299-+442079460200",
            "the range ends before it starts (write +442079460200-+442079460299)",
        ),
        ("+44 20 7946 0000", "after `+` use digits only"),
    ] {
        let text = with_base(&format!(
            "\n[[inbound_route]]\nname = \"r\"\ndids = [\"{pattern}\"]\ndestination = \"hangup\"\n"
        ));
        f.assert_one(
            &text,
            at(&text, &format!("\"{pattern}\"")),
            "inbound_route[1].dids",
            part,
        );
    }
    // The same forms in `callers` and the blocklist, each pattern once.
    let text = with_base(
        "\n[inbound]\nblocklist = [\"+44900*\", \"+44900*\"]\n\n[[inbound_route]]\nname = \"r\"\ncallers = [\"07700900123\"]\ndestination = \"hangup\"\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: inbound.blocklist: `+44900*` is listed twice",
                at_nth(&text, "\"+44900*\"", 2)
            ),
            format!(
                "{}: inbound_route[1].callers: `07700900123` is not a number pattern: it must start with `+` and the country code; use an E.164 number (+442079460000), a prefix ending in `*` (+4420794601*), or a range of numbers of the same length (+442079460200-+442079460299)",
                at(&text, "\"07700900123\"")
            ),
        ]
    );
}

#[test]
fn number_patterns_match_the_numbers_they_describe() {
    let f = Fixture::new("pattern-match");
    let config = f.ok(&with_base(
        "\n[[inbound_route]]\nname = \"r\"\ndids = [\"+442079460000\", \"+4420794601*\", \"+442079460200-+442079460299\"]\ndestination = \"hangup\"\n",
    ));
    let dids = &config.inbound_routes[0].dids;
    let matched = |number: &str| dids.iter().any(|p| p.matches(number));
    for yes in [
        "+442079460000",
        "+442079460100",
        "+4420794601999",
        "+442079460200",
        "+442079460250",
        "+442079460299",
    ] {
        assert!(matched(yes), "{yes}");
    }
    for no in [
        "+442079460001",
        "+44207946020",
        "+4420794602000",
        "+442079460300",
        "+442079460199x",
    ] {
        assert!(!matched(no), "{no}");
    }
    let shown: Vec<String> = dids.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "+442079460000",
            "+4420794601*",
            "+442079460200-+442079460299"
        ]
    );
}

#[test]
fn anonymous_callers_have_no_number_for_callers_to_match() {
    let f = Fixture::new("anonymous");
    let text = with_base(
        "\n[[inbound_route]]\nname = \"r\"\ncallers = [\"+447*\"]\nanonymous = true\ndestination = \"hangup\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "true"),
        "inbound_route[1].anonymous",
        "anonymous = true takes only callers who withhold their number",
    );
    let config = f.ok(&with_base(
        "\n[[inbound_route]]\nname = \"withheld\"\nanonymous = true\ndestination = \"hangup\"\n",
    ));
    assert_eq!(config.inbound_routes[0].anonymous, Some(true));
}

#[test]
fn route_trunks_must_exist_once_each() {
    let f = Fixture::new("route-trunks");
    let text = with_base(
        "\n[[inbound_route]]\nname = \"r\"\ntrunks = [\"carrier-a\", \"carier-a\", \"carrier-a\"]\ndestination = \"hangup\"\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: inbound_route[1].trunks: no trunk named `carier-a`; trunks: carrier-a (did you mean `carrier-a`?)",
                at(&text, "\"carier-a\"")
            ),
            format!(
                "{}: inbound_route[1].trunks: `carrier-a` is listed twice",
                at_nth(&text, "\"carrier-a\"", 3)
            ),
        ]
    );
}

#[test]
fn a_blocked_caller_gets_one_of_five_statuses() {
    let f = Fixture::new("blocked-status");
    for status in [403, 404, 480, 486, 603] {
        let config = f.ok(&format!("[inbound]\nblocked_status = {status}\n"));
        assert_eq!(config.inbound.blocked_status, status);
    }
    let text = "[inbound]\nblocked_status = 500\n";
    f.assert_one(
        text,
        at(text, "500"),
        "inbound.blocked_status",
        "500 is not a status a blocked caller may get, expected one of: 403 Forbidden, 404 Not Found, 480 Temporarily Unavailable, 486 Busy Here, 603 Decline",
    );
    let text = "[inbound]\nblocked_status = \"403\"\n";
    f.assert_one(
        text,
        at(text, "\"403\""),
        "inbound.blocked_status",
        "expected an integer, found a string",
    );
}

#[test]
fn a_trunk_reads_the_did_from_the_request_uri_to_or_a_header() {
    let f = Fixture::new("did-from");
    let trunk = |did_from: &str| {
        format!(
            "[site]\ncountry = \"GB\"\n\n[[trunk]]\nname = \"carrier-a\"\naddress = \"sip.carrier-a.example\"\ndid_from = \"{did_from}\"\n"
        )
    };
    for (written, source) in [
        ("request_uri", DidSource::RequestUri),
        ("to", DidSource::To),
        (
            "header:Diversion",
            DidSource::Header("Diversion".to_owned()),
        ),
    ] {
        assert_eq!(f.ok(&trunk(written)).trunks[0].did_from, source);
    }
    for (written, part) in [
        (
            "request-uri",
            "unknown DID source `request-uri`, expected one of: request_uri, to, header:NAME (e.g. header:P-Called-Party-ID) (did you mean `request_uri`?)",
        ),
        (
            "P-Called-Party-ID",
            "(did you mean `header:P-Called-Party-ID`?)",
        ),
        ("header:", "names no header"),
        (
            "header:P Called",
            "`P Called` is not a header name: it contains ` `",
        ),
        ("header:X-DID:", "contains `:`"),
    ] {
        let text = trunk(written);
        f.assert_one(
            &text,
            at(&text, &format!("\"{written}\"")),
            "trunk[1].did_from",
            part,
        );
    }
}

#[test]
fn holidays_are_real_dates_and_ordered_ranges() {
    let f = Fixture::new("holidays");
    for (holiday, part) in [
        (
            "2026-02-30",
            "`2026-02-30` is not a date: February 2026 has 28 days",
        ),
        ("2026-13-01", "months are 01 to 12, found 13"),
        (
            "02-30",
            "`02-30` is not a date: February has at most 29 days",
        ),
        (
            "2026-12-31..2026-12-24",
            "the range ends before it starts (write 2026-12-24..2026-12-31)",
        ),
        (
            "2026-12-24..12-31",
            "in the range `2026-12-24..12-31`: `12-31` is not a date: write YYYY-MM-DD",
        ),
        (
            "christmas",
            "`christmas` is not a holiday: write a date (2026-12-25), a range of dates (2026-12-24..2026-12-31, both days included) or a day every year (12-25)",
        ),
    ] {
        let text = with_base(&format!(
            "\n[[time_condition]]\nname = \"t\"\nopen = []\nholidays = [\"{holiday}\"]\nwhen_open = \"hangup\"\nwhen_closed = \"hangup\"\n"
        ));
        f.assert_one(
            &text,
            at(&text, &format!("\"{holiday}\"")),
            "time_condition[1].holidays",
            part,
        );
    }
    let text = with_base(
        "\n[[time_condition]]\nname = \"t\"\nopen = [\"mon-fry 09:00-17:00\"]\nholidays = [\"12-25\", \"12-25\"]\nwhen_open = \"hangup\"\nwhen_closed = \"hangup\"\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: time_condition[1].open: `mon-fry 09:00-17:00` is not weekly hours: `fry` is not a day: use mon, tue, wed, thu, fri, sat, sun (e.g. \"mon-fri 09:00-17:30\")",
                at(&text, "\"mon-fry")
            ),
            format!(
                "{}: time_condition[1].holidays: `12-25` is listed twice",
                at_nth(&text, "\"12-25\"", 2)
            ),
        ]
    );
}

#[test]
fn exceptions_are_one_date_with_times_of_that_day() {
    let f = Fixture::new("exceptions");
    let tc = |exceptions: &str| {
        with_base(&format!(
            "\n[[time_condition]]\nname = \"t\"\nopen = [\"mon-fri 09:00-17:00\"]\nexceptions = [{exceptions}]\nwhen_open = \"hangup\"\nwhen_closed = \"hangup\"\n"
        ))
    };
    let text = tc("{ date = \"2026-12-24\", hours = [\"thu 09:00-12:00\"] }");
    f.assert_one(
        &text,
        at(&text, "\"thu"),
        "time_condition[1].exceptions[1].hours",
        "`thu 09:00-12:00`: an exception's hours are times of day without days (e.g. \"09:00-12:00\"); the exception's date is its day",
    );
    let text = tc("{ date = \"2026-12-31\", hours = [\"20:00-02:00\"] }");
    f.assert_one(
        &text,
        at(&text, "\"20:00"),
        "time_condition[1].exceptions[1].hours",
        "`20:00-02:00` runs past midnight",
    );
    let text = tc("{ date = \"2026-12-24..2026-12-26\", hours = [] }");
    f.assert_one(
        &text,
        at(&text, "\"2026-12-24.."),
        "time_condition[1].exceptions[1].date",
        "an exception is for one date, written YYYY-MM-DD (e.g. 2026-12-24); a range or a yearly day is a holiday",
    );
    let text = tc("{ date = \"2026-02-29\", hours = [] }");
    f.assert_one(
        &text,
        at(&text, "\"2026-02-29\""),
        "time_condition[1].exceptions[1].date",
        "February 2026 has 28 days",
    );
    let text = tc(
        "{ date = \"2026-12-24\", hours = [] }, { date = \"2026-12-24\", hours = [\"09:00-10:00\"] }",
    );
    let line = at(&text, "{ date").split(':').nth(1).unwrap().to_owned();
    f.assert_one(
        &text,
        at_nth(&text, "\"2026-12-24\"", 2),
        "time_condition[1].exceptions[2].date",
        &format!("2026-12-24 already has an exception (line {line})"),
    );
}

#[test]
fn menu_options_are_keypad_keys() {
    let f = Fixture::new("menu-keys");
    let text = with_base(
        "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\noptions = { \"1\" = \"ext:201\", \"10\" = \"ext:202\", \"a\" = \"hangup\" }\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: ivr[1].options.10: `10` is not a key of the phone's keypad: an option is for one of 0-9, * and # (\"1\" = \"group:sales\")",
                at(&text, "\"10\"")
            ),
            format!(
                "{}: ivr[1].options.a: `a` is not a key of the phone's keypad: an option is for one of 0-9, * and # (\"1\" = \"group:sales\")",
                at(&text, "\"a\"")
            ),
        ]
    );
}

#[test]
fn a_menu_needs_options_or_direct_dial() {
    let f = Fixture::new("menu-empty");
    let text = with_base("\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\n");
    f.assert_one(
        &text,
        at(&text, "[[ivr]]"),
        "ivr[1].options",
        "the menu has no `options` and direct_dial is off, so no key takes the caller anywhere",
    );
    let text = with_base("\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\noptions = {}\n");
    f.assert_one(
        &text,
        at(&text, "{}"),
        "ivr[1].options",
        "`options` is empty and direct_dial is off",
    );
    // Direct dial alone is a menu: "dial the extension you want".
    let config = f.ok(&with_base(
        "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\n",
    ));
    assert!(config.ivrs[0].options.is_empty());
}

#[test]
fn an_option_may_be_the_first_digit_of_an_extension_with_direct_dial() {
    let f = Fixture::new("menu-direct-dial");
    let config = f.ok(&with_base(
        "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\noptions = { \"2\" = \"ext:202\" }\ndirect_dial = true\n",
    ));
    assert_eq!(config.ivrs[0].options, [('2', ext("202"))]);
}

#[test]
fn menu_timers_are_at_least_one_second() {
    let f = Fixture::new("menu-timers");
    for key in ["timeout_secs", "digit_timeout_secs"] {
        let text = with_base(&format!(
            "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\n{key} = 0\n"
        ));
        f.assert_one(
            &text,
            at(&text, "0\n"),
            &format!("ivr[1].{key}"),
            "must be at least 1, found 0",
        );
    }
    let config = f.ok(&with_base(
        "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\nretries = 0\n",
    ));
    assert_eq!(config.ivrs[0].retries, 0);
}

#[test]
fn ring_group_members_are_extensions_that_exist_or_e164_numbers() {
    let f = Fixture::new("members");
    let text = with_base(
        "\n[[ring_group]]\nname = \"sales\"\nmembers = [\"201\", \"209\", \"alice\", \"+4474001\", \"07400123456\", \"201\", \"+447400123456\", \"+447400123456\"]\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: ring_group[1].members: no extension numbered `209`; extensions: 201, 202 (did you mean `201`?)",
                at(&text, "\"209\"")
            ),
            format!(
                "{}: ring_group[1].members: `alice` is not a member: write an extension number (201) or an E.164 number (+447400123456)",
                at(&text, "\"alice\"")
            ),
            format!(
                "{}: ring_group[1].members: no extension numbered `07400123456`; extensions: 201, 202",
                at(&text, "\"07400123456\"")
            ),
            format!(
                "{}: ring_group[1].members: `201` is listed twice",
                at_nth(&text, "\"201\"", 3)
            ),
            format!(
                "{}: ring_group[1].members: `+447400123456` is listed twice",
                at_nth(&text, "\"+447400123456\"", 2)
            ),
        ]
    );
    let text = with_base("\n[[ring_group]]\nname = \"sales\"\nmembers = []\n");
    f.assert_one(
        &text,
        at(&text, "[]"),
        "ring_group[1].members",
        "must name at least one member",
    );
}

#[test]
fn a_ring_group_strategy_and_class_are_checked() {
    let f = Fixture::new("group-strategy");
    let text = with_base(
        "\n[[class]]\nname = \"national\"\n\n[[ring_group]]\nname = \"sales\"\nstrategy = \"roundrobin\"\nmembers = [\"201\"]\nclass = \"natinal\"\nring_secs = 0\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: ring_group[1].strategy: unknown ring strategy `roundrobin`, expected one of: ring_all, hunt, round_robin, random (did you mean `round_robin`?)",
                at(&text, "\"roundrobin\"")
            ),
            format!(
                "{}: ring_group[1].class: no class of service named `natinal`; classes: national (did you mean `national`?)",
                at(&text, "\"natinal\"")
            ),
            format!(
                "{}: ring_group[1].ring_secs: must be at least 1, found 0",
                at(&text, "0\n")
            ),
        ]
    );
    for (written, strategy) in [
        ("ring_all", RingStrategy::RingAll),
        ("hunt", RingStrategy::Hunt),
        ("round_robin", RingStrategy::RoundRobin),
        ("random", RingStrategy::Random),
    ] {
        let config = f.ok(&with_base(&format!(
            "\n[[ring_group]]\nname = \"g\"\nstrategy = \"{written}\"\nmembers = [\"201\"]\n"
        )));
        assert_eq!(config.ring_groups[0].strategy, strategy);
        assert_eq!(strategy.as_str(), written);
    }
}

#[test]
fn escalation_keys_are_checked_on_extensions() {
    let f = Fixture::new("escalation-keys");
    let text = format!(
        "{}no_answer_secs = 0\non_busy = \"grp:sales\"\n",
        &BASE[..BASE.find("\n\n[[extension]]\nnumber = \"202\"").unwrap() + 1]
    );
    let all = f.errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].starts_with(&format!(
            "{}: extension[1].no_answer_secs: must be at least 1, found 0",
            at(&text, "0\non_busy")
        )),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with(&format!(
            "{}: extension[1].on_busy: unknown destination kind `grp`",
            at(&text, "\"grp:sales\"")
        )),
        "{}",
        all[1]
    );
}

#[test]
fn names_are_unique_per_kind() {
    let f = Fixture::new("unique");
    let text = with_base(
        r#"
[[inbound_route]]
name = "main"
destination = "hangup"

[[inbound_route]]
name = "main"
destination = "hangup"

[[time_condition]]
name = "main"
open = []
when_open = "hangup"
when_closed = "hangup"

[[time_condition]]
name = "main"
open = []
when_open = "hangup"
when_closed = "hangup"

[[ivr]]
name = "main"
prompt = "greeting"
direct_dial = true

[[ivr]]
name = "main"
prompt = "greeting"
direct_dial = true

[[ring_group]]
name = "main"
members = ["201"]

[[ring_group]]
name = "main"
members = ["201"]
"#,
    );
    let all = f.errors(&text);
    let line = |nth: usize| {
        at_nth(&text, "\"main\"", nth)
            .split(':')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        all,
        [
            format!(
                "{}: inbound_route[2].name: duplicate inbound route name `main`: already used at line {}",
                at_nth(&text, "\"main\"", 2),
                line(1)
            ),
            format!(
                "{}: time_condition[2].name: duplicate time condition name `main`: already used at line {}",
                at_nth(&text, "\"main\"", 4),
                line(3)
            ),
            format!(
                "{}: ivr[2].name: duplicate menu name `main`: already used at line {}",
                at_nth(&text, "\"main\"", 6),
                line(5)
            ),
            format!(
                "{}: ring_group[2].name: duplicate ring group name `main`: already used at line {}",
                at_nth(&text, "\"main\"", 8),
                line(7)
            ),
        ]
    );
}

#[test]
fn a_named_prompt_must_exist_in_every_language_calls_may_use() {
    let f = Fixture::new("prompt-languages");
    f.dir.prompts("fr", &["greeting"]);
    let menu = "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ninvalid_prompt = \"invalid\"\ndirect_dial = true\n";
    // French calls: `invalid` is missing in prompts/fr.
    let text = with_base(&format!(
        "{menu}\n[[inbound_route]]\nname = \"fr\"\ndestination = \"ivr:main\"\nlanguage = \"fr\"\n"
    ));
    f.assert_one(
        &text,
        at(&text, "\"invalid\""),
        "ivr[1].invalid_prompt",
        "prompt `invalid` in language `fr`: `DIR/prompts/fr/invalid.wav` does not exist",
    );
    // German calls: no prompts/de at all, reported once at the route's language.
    let text = with_base(&format!(
        "{menu}\n[[inbound_route]]\nname = \"de\"\ndestination = \"ivr:main\"\nlanguage = \"de\"\n\n[[inbound_route]]\nname = \"de2\"\ndestination = \"ivr:main\"\nlanguage = \"de\"\n"
    ));
    f.assert_one(
        &text,
        at_after(&text, "language = ", "\"de\""),
        "inbound_route[1].language",
        "no prompts in language `de`: the directory `DIR/prompts/de` does not exist",
    );
    // The default language is checked even when no route names a language.
    let text = format!("[prompts]\ndefault_language = \"es\"\n{}", with_base(menu));
    f.assert_one(
        &text,
        at(&text, "\"es\""),
        "prompts.default_language",
        "no prompts in language `es`",
    );
    // A language that is not a directory name is one error, not two.
    let text = format!(
        "[prompts]\ndefault_language = \"en GB\"\n{}",
        with_base(menu)
    );
    f.assert_one(
        &text,
        at(&text, "\"en GB\""),
        "prompts.default_language",
        "`en GB` is not a language",
    );
    let text = with_base(
        "\n[[inbound_route]]\nname = \"r\"\ndestination = \"hangup\"\nlanguage = \"en/GB\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"en/GB\""),
        "inbound_route[1].language",
        "`en/GB` is not a language",
    );
}

#[test]
fn the_prompts_directory_must_exist_when_a_menu_names_a_prompt() {
    let f = Fixture::new("prompt-dir");
    let menu = "\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\n";
    let text = format!("[prompts]\ndir = \"nowhere\"\n{}", with_base(menu));
    f.assert_one(
        &text,
        at(&text, "\"nowhere\""),
        "prompts.dir",
        "the prompts directory `DIR/nowhere` does not exist ([prompts] dir, default \"prompts\" beside the configuration file): menus and queues name prompts (`greeting`...)",
    );
    // Without [prompts], at the first prompt named.
    let other = Dir::new("inbound-prompt-dir-none");
    let path = other.path().join(FILE);
    let errors = Config::parse(&with_base(menu), &path)
        .unwrap_err()
        .into_vec();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "ivr[1].prompt");
    assert_eq!(
        (errors[0].line, errors[0].column),
        (BASE.lines().count() + 4, 10)
    );
    // Menus that only name files need no directory.
    other.write("closed.wav", &pcm16(16_000));
    let config = Config::parse(
        &with_base("\n[[ivr]]\nname = \"main\"\nprompt = \"closed.wav\"\ndirect_dial = true\n"),
        &path,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.ivrs[0].prompt,
        PromptRef::File(other.path().join("closed.wav"))
    );
}

#[test]
fn prompt_files_must_be_wav_files_crossbar_can_play() {
    let f = Fixture::new("prompt-wav");
    f.dir
        .write("sounds/mp3.wav", b"ID3\x03\x00\x00\x00 not a wav");
    f.dir.write("sounds/pcm8.wav", &wav(PCM, 1, 8000, 8));
    f.dir.write("sounds/ulaw16k.wav", &wav(MULAW, 1, 16_000, 8));
    f.dir.write("sounds/quad.wav", &wav(PCM, 4, 8000, 16));
    f.dir
        .write("sounds/alaw-stereo.wav", &wav(ALAW, 2, 8000, 8));
    f.dir.write("sounds/cd.wav", &wav(PCM, 2, 44_100, 16));
    for (file, part) in [
        (
            "sounds/missing.wav",
            "prompt file `DIR/sounds/missing.wav` does not exist",
        ),
        (
            "sounds/mp3.wav",
            "prompt file `DIR/sounds/mp3.wav` is not a WAV file (it does not start with a RIFF/WAVE header)",
        ),
        (
            "sounds/pcm8.wav",
            "`DIR/sounds/pcm8.wav` is 8-bit PCM, which crossbar does not play: use 16-bit PCM at any rate, or G.711 µ-law or A-law at 8000 Hz, mono or stereo",
        ),
        (
            "sounds/ulaw16k.wav",
            "is G.711 µ-law at 16000 Hz, which crossbar does not play",
        ),
        ("sounds/quad.wav", "is 16-bit PCM with 4 channels"),
        ("sounds", "is a path but not a .wav file"),
    ] {
        let written = if file == "sounds" { "sounds/" } else { file };
        let text = with_base(&format!(
            "\n[[ivr]]\nname = \"main\"\nprompt = \"{written}\"\ndirect_dial = true\n"
        ));
        f.assert_one(
            &text,
            at(&text, &format!("\"{written}\"")),
            "ivr[1].prompt",
            part,
        );
    }
    let config = f.ok(&with_base(
        "\n[[ivr]]\nname = \"main\"\nprompt = \"sounds/alaw-stereo.wav\"\ntimeout_prompt = \"sounds/cd.wav\"\ndirect_dial = true\n",
    ));
    assert_eq!(
        config.ivrs[0].timeout_prompt,
        Some(PromptRef::File(f.dir.path().join("sounds/cd.wav")))
    );
    // A named prompt that is not a WAV file is reported with its language.
    f.dir
        .write("prompts/en/greeting.wav", b"RIFF\x04\x00\x00\x00AVI ");
    let text = with_base("\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\n");
    f.assert_one(
        &text,
        at(&text, "\"greeting\""),
        "ivr[1].prompt",
        "prompt `greeting` in language `en`: `DIR/prompts/en/greeting.wav` is not a WAV file",
    );
}

#[test]
fn a_prompt_file_named_by_several_menus_is_reported_once() {
    let f = Fixture::new("prompt-once");
    let text = with_base(
        "\n[[ivr]]\nname = \"a\"\nprompt = \"gone\"\ndirect_dial = true\n\n[[ivr]]\nname = \"b\"\nprompt = \"gone\"\ndirect_dial = true\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"gone\""),
        "ivr[1].prompt",
        "prompt `gone` in language `en`: `DIR/prompts/en/gone.wav` does not exist",
    );
}

#[test]
fn prompt_names_are_names() {
    let f = Fixture::new("prompt-names");
    let text =
        with_base("\n[[ivr]]\nname = \"main\"\nprompt = \"good morning\"\ndirect_dial = true\n");
    f.assert_one(
        &text,
        at(&text, "\"good morning\""),
        "ivr[1].prompt",
        "`good morning` is not a prompt name (`good morning` contains ` `: use letters, digits, `-`, `_` and `.` only); or write the path of a .wav file",
    );
}

#[test]
fn a_menus_number_is_dialable_and_nobody_elses() {
    let f = Fixture::new("menu-number");
    let menu = |number: &str| {
        with_base(&format!(
            "\n[[ivr]]\nname = \"main\"\nnumber = \"{number}\"\nprompt = \"greeting\"\n\
             direct_dial = true\n"
        ))
    };
    let config = f.ok(&menu("500"));
    assert_eq!(config.ivrs[0].number.as_deref(), Some("500"));
    let text = menu("201");
    f.assert_one(
        &text,
        at(&text, "\"201\"\nprompt"),
        "ivr[1].number",
        "201 is an extension's number or user name already",
    );
    let text = menu("5x0");
    f.assert_one(
        &text,
        at(&text, "\"5x0\""),
        "ivr[1].number",
        "`5x0` is not a number a phone can dial",
    );
}
