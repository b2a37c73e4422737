//! Queues, agents and callbacks: `[[queue]]`, `[agents]` and `[callbacks]` — every key, its
//! default, every problem at its exact `file:line:column: key`, members that are not
//! extensions, `queue:` references to queues that do not exist, overflows that go round a loop
//! or could never be taken, and the prompts a queue plays.

mod support;

use std::path::PathBuf;

use crossbar_config::{
    Agents, Callbacks, Config, ConfigError, Destination, PromptRef, QueueMember, QueueStrategy,
};
use support::{Dir, MULAW, wav};

const FILE: &str = "pbx.toml";

/// Three extensions, a menu and a ring group: what queues, their members and their overflows
/// refer to.
const BASE: &str = "[[extension]]\nnumber = \"201\"\nsecret = \"alice-secret-201\"\n\n[[extension]]\nnumber = \"202\"\nsecret = \"bob-secret-202\"\n\n[[extension]]\nnumber = \"203\"\nusername = \"carol\"\nsecret = \"carol-secret-203\"\n\n[[ivr]]\nname = \"main\"\nprompt = \"greeting\"\ndirect_dial = true\n\n[[ring_group]]\nname = \"reception\"\nmembers = [\"201\"]\n";

/// A directory with `pbx.toml`'s prompts (`greeting`, `moh`, `all-busy` in `prompts/en/`),
/// where each test's configuration is read as if it were `pbx.toml` in it.
struct Fixture {
    dir: Dir,
}

impl Fixture {
    fn new(test: &str) -> Fixture {
        let dir = Dir::new(&format!("queue-{test}"));
        dir.prompts("en", &["greeting", "moh", "all-busy"]);
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

/// `BASE` and one queue `support` with `keys` (one per line).
fn queue(keys: &str) -> String {
    with_base(&format!("\n[[queue]]\nname = \"support\"\n{keys}"))
}

fn member(extension: &str, penalty: u32) -> QueueMember {
    QueueMember {
        extension: extension.to_owned(),
        penalty,
    }
}

#[test]
fn every_queue_agents_and_callbacks_key_is_read() {
    let f = Fixture::new("every-key");
    f.dir.prompts("fr", &["greeting", "moh", "all-busy"]);
    f.dir.write("sounds/hold.wav", &wav(MULAW, 1, 8000, 8));
    let text = with_base(
        r##"
[[inbound_route]]
name = "support"
destination = "queue:support"
language = "fr"

[[queue]]
name = "support"
strategy = "fewest_calls"
members = ["201", { extension = "202", penalty = 2 }, { extension = "203" }]
agent_ring_secs = 12
retry_secs = 0
wrap_up_secs = 30
auto_pause_after = 3
max_wait_secs = 600
max_callers = 25
join_empty = true
leave_when_empty = true
on_timeout = "group:reception"
on_full = "queue:overflow"
on_empty = "ivr:main"
breakout = { "0" = "ext:201", "*" = "ivr:main", "#" = "hangup" }
moh = "sounds/hold.wav"
announce_position_secs = 45
announce_wait = true
announcement = "all-busy"
announcement_secs = 90
service_level_secs = 30
callback_offer_after_secs = 120
callback_key = "9"

[[queue]]
name = "overflow"
members = ["203"]
moh = "moh"

[agents]
login_code = "*61"
logout_code = "*62"
pause_code = "#63"
unpause_code = "*64"
pause_reasons = { "2" = "training", "1" = "lunch", "0" = "other" }

[callbacks]
enabled = true
retry_schedule_secs = [300, 1800, 7200]
max_attempts = 5
assign_to = "overflow"
"##,
    );
    let config = f.ok(&text);
    assert_eq!(config.queues.len(), 2);
    let support = config.queue("support").expect("queue support");
    assert_eq!(support.name, "support");
    assert_eq!(support.strategy, QueueStrategy::FewestCalls);
    assert_eq!(
        support.members,
        [member("201", 0), member("202", 2), member("203", 0)]
    );
    assert_eq!(support.agent_ring_secs, 12);
    assert_eq!(support.retry_secs, 0);
    assert_eq!(support.wrap_up_secs, 30);
    assert_eq!(support.auto_pause_after, Some(3));
    assert_eq!(support.max_wait_secs, Some(600));
    assert_eq!(support.max_callers, Some(25));
    assert!(support.join_empty);
    assert!(support.leave_when_empty);
    assert_eq!(
        support.on_timeout,
        Some(Destination::Group("reception".to_owned()))
    );
    assert_eq!(
        support.on_full,
        Some(Destination::Queue("overflow".to_owned()))
    );
    assert_eq!(support.on_empty, Some(Destination::Ivr("main".to_owned())));
    assert_eq!(
        support.breakout,
        [
            ('0', Destination::Extension("201".to_owned())),
            ('*', Destination::Ivr("main".to_owned())),
            ('#', Destination::Hangup),
        ]
    );
    assert_eq!(
        support.moh,
        Some(PromptRef::File(f.dir.path().join("sounds/hold.wav")))
    );
    assert_eq!(support.announce_position_secs, Some(45));
    assert!(support.announce_wait);
    assert_eq!(
        support.announcement,
        Some(PromptRef::Named("all-busy".to_owned()))
    );
    assert_eq!(support.announcement_secs, 90);
    assert_eq!(support.service_level_secs, 30);
    assert_eq!(support.callback_offer_after_secs, Some(120));
    assert_eq!(support.callback_key, '9');
    assert_eq!(
        config.queue("overflow").unwrap().moh,
        Some(PromptRef::Named("moh".to_owned()))
    );
    assert_eq!(
        config.inbound_routes[0].destination,
        Destination::Queue("support".to_owned())
    );

    assert_eq!(
        config.agents,
        Agents {
            login_code: "*61".to_owned(),
            logout_code: "*62".to_owned(),
            pause_code: "#63".to_owned(),
            unpause_code: "*64".to_owned(),
            pause_reasons: vec![
                ('2', "training".to_owned()),
                ('1', "lunch".to_owned()),
                ('0', "other".to_owned()),
            ],
        }
    );
    assert_eq!(config.agents.pause_reason('1'), Some("lunch"));
    assert_eq!(config.agents.pause_reason('5'), None);

    assert_eq!(
        config.callbacks,
        Callbacks {
            enabled: true,
            retry_schedule_secs: vec![300, 1800, 7200],
            max_attempts: 5,
            assign_to: Some("overflow".to_owned()),
        }
    );
}

#[test]
fn every_queue_agents_and_callbacks_key_has_a_default() {
    let f = Fixture::new("defaults");
    let config = f.ok(&queue(""));
    let support = &config.queues[0];
    assert_eq!(support.strategy, QueueStrategy::LongestIdle);
    assert!(support.members.is_empty());
    assert_eq!(
        (
            support.agent_ring_secs,
            support.retry_secs,
            support.wrap_up_secs
        ),
        (15, 5, 0)
    );
    assert_eq!(support.auto_pause_after, None);
    assert_eq!((support.max_wait_secs, support.max_callers), (None, None));
    assert!(!support.join_empty && !support.leave_when_empty);
    assert_eq!(
        (&support.on_timeout, &support.on_full, &support.on_empty),
        (&None, &None, &None)
    );
    assert!(support.breakout.is_empty());
    assert_eq!(support.moh, None);
    assert_eq!(support.announce_position_secs, None);
    assert!(!support.announce_wait);
    assert_eq!(support.announcement, None);
    assert_eq!(support.announcement_secs, 60);
    assert_eq!(support.service_level_secs, 20);
    assert_eq!(support.callback_offer_after_secs, None);
    assert_eq!(support.callback_key, '1');

    // `0` is written for "never" and "no limit".
    let config = f.ok(&queue(
        "auto_pause_after = 0\nmax_wait_secs = 0\nmax_callers = 0\nannounce_position_secs = 0\n",
    ));
    let support = &config.queues[0];
    assert_eq!(
        (
            support.auto_pause_after,
            support.max_wait_secs,
            support.max_callers,
            support.announce_position_secs
        ),
        (None, None, None, None)
    );

    let config = f.ok("");
    assert!(config.queues.is_empty());
    assert_eq!(config.agents, Agents::default());
    assert_eq!(
        (
            config.agents.login_code.as_str(),
            config.agents.logout_code.as_str(),
            config.agents.pause_code.as_str(),
            config.agents.unpause_code.as_str()
        ),
        ("*45", "*46", "*47", "*48")
    );
    assert!(config.agents.pause_reasons.is_empty());
    assert_eq!(config.callbacks, Callbacks::default());
    assert!(config.callbacks.enabled);
    assert!(config.callbacks.retry_schedule_secs.is_empty());
    assert_eq!(config.callbacks.max_attempts, 3);
    assert_eq!(config.callbacks.assign_to, None);
}

#[test]
fn every_strategy_is_read_and_a_misspelt_one_gets_a_suggestion() {
    let f = Fixture::new("strategy");
    for (written, strategy) in [
        ("ring_all", QueueStrategy::RingAll),
        ("longest_idle", QueueStrategy::LongestIdle),
        ("round_robin", QueueStrategy::RoundRobin),
        ("fewest_calls", QueueStrategy::FewestCalls),
        ("random", QueueStrategy::Random),
        ("linear", QueueStrategy::Linear),
    ] {
        let config = f.ok(&queue(&format!("strategy = \"{written}\"\n")));
        assert_eq!(config.queues[0].strategy, strategy);
        assert_eq!(strategy.as_str(), written);
        assert_eq!(strategy.to_string(), written);
    }
    let text = queue("strategy = \"longest-idle\"\n");
    f.assert_one(
        &text,
        at(&text, "\"longest-idle\""),
        "queue[1].strategy",
        "unknown queue strategy `longest-idle`, expected one of: ring_all, longest_idle, round_robin, fewest_calls, random, linear (did you mean `longest_idle`?)",
    );
    // A ring group's strategy is not a queue's.
    let text = queue("strategy = \"hunt\"\n");
    f.assert_one(
        &text,
        at(&text, "\"hunt\""),
        "queue[1].strategy",
        "unknown queue strategy `hunt`",
    );
}

#[test]
fn members_are_extensions_that_exist_each_once_with_a_penalty_or_not() {
    let f = Fixture::new("members");
    let text = queue(
        "members = [\"201\", \"209\", \"+447400123456\", \"alice\", { extension = \"202\", penalty = 1 }, \"202\", { extension = \"208\" }, { penalty = 2 }, { extension = \"203\", penalty = -1 }, { extension = \"203\", tier = 1 }, 204]\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: queue[1].members: no extension numbered `209`; extensions: 201, 202, 203 (did you mean `201`?)",
                at(&text, "\"209\"")
            ),
            format!(
                "{}: queue[1].members: `+447400123456` is an outside number: a queue's members are agents, extensions of this PBX (a [[ring_group]] can ring outside numbers)",
                at(&text, "\"+447400123456\"")
            ),
            format!(
                "{}: queue[1].members: `alice` is not a member: write an extension number (\"201\")",
                at(&text, "\"alice\"")
            ),
            format!(
                "{}: queue[1].members: `202` is listed twice",
                at_after(&text, "penalty = 1 }", "\"202\"")
            ),
            format!(
                "{}: queue[1].members[7].extension: no extension numbered `208`; extensions: 201, 202, 203 (did you mean `201`?)",
                at(&text, "\"208\"")
            ),
            format!(
                "{}: queue[1].members[8].extension: missing required key `extension` in `members` #8 of [[queue]] #1",
                at(&text, "{ penalty = 2 }")
            ),
            format!(
                "{}: queue[1].members[9].penalty: must be at least 0, found -1",
                at(&text, "-1")
            ),
            format!(
                "{}: queue[1].members[10].tier: unknown key `tier` in `members` #10 of [[queue]] #1, expected one of: extension, penalty",
                at(&text, "tier")
            ),
            format!(
                "{}: queue[1].members: expected a member: an extension number (\"201\") or a table ({{ extension = \"202\", penalty = 1 }}), found an integer",
                at(&text, "204]")
            ),
        ]
    );
    // The same extension twice, once as a table: listed twice.
    let text = queue("members = [\"201\", { extension = \"201\", penalty = 1 }]\n");
    f.assert_one(
        &text,
        at(&text, "{ extension"),
        "queue[1].members",
        "`201` is listed twice",
    );
    let text = queue("members = \"201\"\n");
    f.assert_one(
        &text,
        at_after(&text, "[[queue]]", "\"201\""),
        "queue[1].members",
        "expected an array of members ([\"201\", { extension = \"202\", penalty = 1 }]), found a string",
    );
    // A user name is not a member: members are numbers.
    let text = queue("members = [\"carol\"]\n");
    f.assert_one(
        &text,
        at(&text, "\"carol\"]"),
        "queue[1].members",
        "`carol` is not a member",
    );
}

#[test]
fn timers_and_limits_are_checked_at_their_values() {
    let f = Fixture::new("values");
    let text = queue(
        "agent_ring_secs = 0\nretry_secs = -5\nwrap_up_secs = \"10\"\nauto_pause_after = 1.5\nmax_wait_secs = -1\nmax_callers = 99999999999\njoin_empty = \"no\"\nannouncement_secs = 0\nservice_level_secs = 0\ncallback_offer_after_secs = 0\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: queue[1].agent_ring_secs: must be at least 1, found 0",
                at(&text, "0\nretry")
            ),
            format!(
                "{}: queue[1].retry_secs: must be at least 0, found -5",
                at(&text, "-5")
            ),
            format!(
                "{}: queue[1].wrap_up_secs: expected an integer, found a string",
                at(&text, "\"10\"")
            ),
            format!(
                "{}: queue[1].auto_pause_after: expected an integer, found a float",
                at(&text, "1.5")
            ),
            format!(
                "{}: queue[1].max_wait_secs: must be at least 0, found -1",
                at(&text, "-1")
            ),
            format!(
                "{}: queue[1].max_callers: too large: the maximum is 4294967295",
                at(&text, "99999999999")
            ),
            format!(
                "{}: queue[1].join_empty: expected a boolean (true or false), found a string",
                at(&text, "\"no\"")
            ),
            format!(
                "{}: queue[1].announcement_secs: must be at least 1, found 0",
                at(&text, "0\nservice")
            ),
            format!(
                "{}: queue[1].service_level_secs: must be at least 1, found 0",
                at(&text, "0\ncallback")
            ),
            format!(
                "{}: queue[1].callback_offer_after_secs: must be at least 1, found 0",
                at_after(&text, "callback_offer_after_secs", "0\n")
            ),
        ]
    );
}

#[test]
fn unknown_keys_get_a_suggestion() {
    let f = Fixture::new("unknown-keys");
    let text = queue(
        "wrapup_secs = 10\nagents = [\"201\"]\n\n[agents]\nlogin = \"*45\"\n\n[callbacks]\nenable = true\n",
    );
    let all = f.errors(&text);
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(
        all[0].starts_with(&format!(
            "{}: queue[1].wrapup_secs: unknown key `wrapup_secs` in [[queue]] #1, expected one of: name, strategy, members,",
            at(&text, "wrapup_secs")
        )),
        "{}",
        all[0]
    );
    assert!(
        all[0].ends_with("(did you mean `wrap_up_secs`?)"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with(&format!(
            "{}: queue[1].agents: unknown key `agents` in [[queue]] #1",
            at(&text, "agents =")
        )),
        "{}",
        all[1]
    );
    assert!(
        all[2].starts_with(&format!(
            "{}: agents.login: unknown key `login` in [agents], expected one of: login_code, logout_code, pause_code, unpause_code, pause_reasons",
            at(&text, "login =")
        )),
        "{}",
        all[2]
    );
    assert!(
        all[3].starts_with(&format!(
            "{}: callbacks.enable: unknown key `enable` in [callbacks], expected one of: enabled, retry_schedule_secs, max_attempts, assign_to (did you mean `enabled`?)",
            at(&text, "enable =")
        )),
        "{}",
        all[3]
    );
    // `[queue]` and `[[agents]]` are written with the wrong brackets.
    let all = f.errors("[queue]\nname = \"x\"\n\n[[agents]]\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].contains("`queue` is an array of tables: write [[queue]], not [queue]"),
        "{}",
        all[0]
    );
    assert!(
        all[1].contains("`agents` is a single table: write [agents], not [[agents]]"),
        "{}",
        all[1]
    );
}

#[test]
fn queue_names_are_required_valid_and_unique() {
    let f = Fixture::new("names");
    let text = with_base(
        "\n[[queue]]\nname = \"support\"\n\n[[queue]]\nname = \"support\"\n\n[[queue]]\nname = \"help desk\"\n\n[[queue]]\nstrategy = \"linear\"\n",
    );
    let all = f.errors(&text);
    let line = at(&text, "\"support\"")
        .split(':')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(
        all,
        [
            format!(
                "{}: queue[2].name: duplicate queue name `support`: already used at line {line}",
                at_nth(&text, "\"support\"", 2)
            ),
            format!(
                "{}: queue[3].name: `help desk` contains ` `: use letters, digits, `-`, `_` and `.` only",
                at(&text, "\"help desk\"")
            ),
            format!(
                "{}: queue[4].name: missing required key `name` in [[queue]] #4",
                at_nth(&text, "[[queue]]", 4)
            ),
        ]
    );
    // A queue may share its name with a group or a menu.
    let config = f.ok(&with_base("\n[[queue]]\nname = \"reception\"\n"));
    assert_eq!(config.queues[0].name, "reception");
}

#[test]
fn a_queue_destination_must_name_a_queue_that_exists() {
    let f = Fixture::new("references");
    let text = queue(
        "\n[[inbound_route]]\nname = \"r\"\ndestination = \"queue:suport\"\n\n[[ring_group]]\nname = \"sales\"\nmembers = [\"202\"]\non_no_answer = \"queue:sales\"\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: inbound_route[1].destination: no queue named `suport`; queues: support (did you mean `queue:support`?)",
                at(&text, "\"queue:suport\"")
            ),
            format!(
                "{}: ring_group[2].on_no_answer: no queue named `sales`; queues: support",
                at(&text, "\"queue:sales\"")
            ),
        ]
    );
    // Without any queue.
    let text = with_base("\n[[inbound_route]]\nname = \"r\"\ndestination = \"queue:support\"\n");
    f.assert_one(
        &text,
        at(&text, "\"queue:support\""),
        "inbound_route[1].destination",
        "no queue named `support`: there is no [[queue]]",
    );
    // The form of the name is checked as for every destination.
    let text = with_base("\n[[inbound_route]]\nname = \"r\"\ndestination = \"queue:help desk\"\n");
    f.assert_one(
        &text,
        at(&text, "\"queue:help desk\""),
        "inbound_route[1].destination",
        "`queue:help desk`: the name `help desk` contains ` `",
    );
    // A misspelt kind.
    let text = with_base("\n[[inbound_route]]\nname = \"r\"\ndestination = \"queu:support\"\n");
    f.assert_one(
        &text,
        at(&text, "\"queu:support\""),
        "inbound_route[1].destination",
        "(did you mean `queue:support`?)",
    );
}

#[test]
fn a_queues_own_destinations_are_checked_where_they_are_written() {
    let f = Fixture::new("own-destinations");
    let text = queue(
        "max_wait_secs = 60\nmax_callers = 5\non_timeout = \"ext:299\"\non_full = \"group:recepton\"\non_empty = \"queue:nowhere\"\nbreakout = { \"1\" = \"ivr:mian\", \"12\" = \"hangup\", \"x\" = \"ext:201\", \"2\" = \"voicemail:201\" }\n",
    );
    let all = f.errors(&text);
    assert_eq!(
        all,
        [
            format!(
                "{}: queue[1].on_timeout: no extension numbered `299`; extensions: 201, 202, 203",
                at(&text, "\"ext:299\"")
            ),
            format!(
                "{}: queue[1].on_full: no ring group named `recepton`; ring groups: reception (did you mean `group:reception`?)",
                at(&text, "\"group:recepton\"")
            ),
            format!(
                "{}: queue[1].on_empty: no queue named `nowhere`; queues: support",
                at(&text, "\"queue:nowhere\"")
            ),
            format!(
                "{}: queue[1].breakout.1: no menu named `mian`; menus: main",
                at(&text, "\"ivr:mian\"")
            ),
            format!(
                "{}: queue[1].breakout.12: `12` is not a key of the phone's keypad: a breakout is for one of 0-9, * and # (\"0\" = \"ext:201\")",
                at(&text, "\"12\"")
            ),
            format!(
                "{}: queue[1].breakout.x: `x` is not a key of the phone's keypad: a breakout is for one of 0-9, * and # (\"0\" = \"ext:201\")",
                at(&text, "\"x\"")
            ),
            format!(
                "{}: queue[1].breakout.2: `voicemail:201`: voicemail destinations are not supported by this version of crossbar yet; use ext:NUMBER, ivr:NAME, group:NAME, queue:NAME, tc:NAME or hangup (e.g. ext:201, ivr:main, group:reception, queue:support, tc:office-hours)",
                at(&text, "\"voicemail:201\"")
            ),
        ]
    );
}

#[test]
fn overflows_that_could_never_be_taken_are_errors() {
    let f = Fixture::new("never");
    let text = queue("on_timeout = \"hangup\"\n");
    f.assert_one(
        &text,
        at(&text, "\"hangup\""),
        "queue[1].on_timeout",
        "`on_timeout` would never be used: callers wait without a limit (max_wait_secs is 0 or not set)",
    );
    let text = queue("max_callers = 0\non_full = \"hangup\"\n");
    f.assert_one(
        &text,
        at(&text, "\"hangup\""),
        "queue[1].on_full",
        "`on_full` would never be used: the queue is never full (max_callers is 0 or not set)",
    );
    let text = queue("join_empty = true\non_empty = \"hangup\"\n");
    f.assert_one(
        &text,
        at(&text, "\"hangup\""),
        "queue[1].on_empty",
        "`on_empty` would never be used: callers join an empty queue and stay when it empties (join_empty = true, leave_when_empty = false)",
    );
    // Each is used in these.
    let config = f.ok(&queue(
        "max_wait_secs = 300\non_timeout = \"hangup\"\nmax_callers = 10\non_full = \"hangup\"\njoin_empty = true\nleave_when_empty = true\non_empty = \"hangup\"\n",
    ));
    assert_eq!(config.queues[0].on_empty, Some(Destination::Hangup));
    let config = f.ok(&queue("on_empty = \"ivr:main\"\n"));
    assert_eq!(
        config.queues[0].on_empty,
        Some(Destination::Ivr("main".to_owned()))
    );
}

#[test]
fn an_overflow_loop_through_queues_is_an_error_naming_it() {
    let f = Fixture::new("loops");
    // support times out to sales, sales is full back to support.
    let text = queue(
        "max_wait_secs = 300\non_timeout = \"queue:sales\"\n\n[[queue]]\nname = \"sales\"\nmax_callers = 5\non_full = \"queue:support\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"queue:sales\""),
        "queue[1].on_timeout",
        "escalation goes round in a loop with no menu or hangup in it: queue:support → queue:sales → queue:support; a call nobody answers would be passed round forever",
    );
    // A queue whose on_empty is itself.
    let text = queue("on_empty = \"queue:support\"\n");
    f.assert_one(
        &text,
        at(&text, "\"queue:support\""),
        "queue[1].on_empty",
        "queue:support → queue:support",
    );
    // Through a ring group and a time condition.
    let text = format!(
        "[site]\ntimezone = \"Europe/London\"\n{}",
        queue(
            "on_empty = \"group:sales\"\n\n[[ring_group]]\nname = \"sales\"\nmembers = [\"202\"]\non_no_answer = \"tc:hours\"\n\n[[time_condition]]\nname = \"hours\"\nopen = [\"mon-fri 09:00-17:00\"]\nwhen_open = \"queue:support\"\nwhen_closed = \"hangup\"\n",
        )
    );
    f.assert_one(
        &text,
        at(&text, "\"group:sales\""),
        "queue[1].on_empty",
        "queue:support → group:sales → tc:hours → queue:support",
    );
}

#[test]
fn a_menu_or_hangup_in_the_overflow_chain_and_breakout_keys_make_no_loop() {
    let f = Fixture::new("no-loop");
    // support → menu (whose option leads back to support); sales → hangup; breakout keys may
    // lead anywhere, the queue itself included: the caller chooses.
    let config = f.ok(&queue(
        "max_wait_secs = 300\non_timeout = \"ivr:support-menu\"\nmax_callers = 5\non_full = \"queue:sales\"\nbreakout = { \"1\" = \"queue:sales\", \"2\" = \"queue:support\" }\n\n[[queue]]\nname = \"sales\"\nmax_callers = 5\non_full = \"hangup\"\nbreakout = { \"1\" = \"queue:support\" }\n\n[[ivr]]\nname = \"support-menu\"\nprompt = \"greeting\"\noptions = { \"1\" = \"queue:support\" }\n",
    ));
    assert_eq!(config.queues.len(), 2);
    assert_eq!(
        config.ivr("support-menu").unwrap().options,
        [('1', Destination::Queue("support".to_owned()))]
    );
}

#[test]
fn the_music_and_the_announcement_are_prompts_checked_in_every_language() {
    let f = Fixture::new("prompts");
    f.dir.prompts("fr", &["greeting", "moh"]);
    // French calls: `all-busy` is missing in prompts/fr.
    let text = queue(
        "moh = \"moh\"\nannouncement = \"all-busy\"\n\n[[inbound_route]]\nname = \"fr\"\ndestination = \"queue:support\"\nlanguage = \"fr\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"all-busy\""),
        "queue[1].announcement",
        "prompt `all-busy` in language `fr`: `DIR/prompts/fr/all-busy.wav` does not exist",
    );
    let text = queue("moh = \"sounds/music.wav\"\n");
    f.assert_one(
        &text,
        at(&text, "\"sounds/music.wav\""),
        "queue[1].moh",
        "prompt file `DIR/sounds/music.wav` does not exist",
    );
    f.dir.write("sounds/music.mp3", b"ID3");
    let text = queue("moh = \"sounds/music.mp3\"\n");
    f.assert_one(
        &text,
        at(&text, "\"sounds/music.mp3\""),
        "queue[1].moh",
        "`sounds/music.mp3` is a path but not a .wav file",
    );
    let text = queue("announcement = \"please hold\"\n");
    f.assert_one(
        &text,
        at(&text, "\"please hold\""),
        "queue[1].announcement",
        "`please hold` is not a prompt name",
    );
    // The prompts directory must exist when only a queue names a prompt.
    let text = format!("[prompts]\ndir = \"nowhere\"\n{}", queue("moh = \"moh\"\n"));
    let all = f.errors(&text);
    // The menu of BASE names a prompt too, earlier in the file: the error is at the directory.
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].starts_with(&format!("{}: prompts.dir: the prompts directory `DIR/nowhere` does not exist ([prompts] dir, default \"prompts\" beside the configuration file): menus and queues name prompts (`greeting`...)", at(&text, "\"nowhere\""))),
        "{}",
        all[0]
    );
}

#[test]
fn announcement_keys_without_what_they_announce_are_errors() {
    let f = Fixture::new("announcements");
    let text = queue("announce_wait = true\n");
    f.assert_one(
        &text,
        at_after(&text, "announce_wait", "true"),
        "queue[1].announce_wait",
        "the estimated wait is told with the position, which is never announced (announce_position_secs is 0 or not set): set announce_position_secs",
    );
    let text = queue("announce_position_secs = 0\nannounce_wait = true\n");
    f.assert_one(
        &text,
        at_after(&text, "announce_wait", "true"),
        "queue[1].announce_wait",
        "never announced",
    );
    let text = queue("announcement_secs = 30\n");
    f.assert_one(
        &text,
        at(&text, "30"),
        "queue[1].announcement_secs",
        "has no effect without `announcement` (the prompt it repeats)",
    );
    let config = f.ok(&queue(
        "announce_position_secs = 30\nannounce_wait = false\nannouncement = \"all-busy\"\n",
    ));
    assert_eq!(config.queues[0].announcement_secs, 60);
}

#[test]
fn the_callback_offer_must_be_possible_and_its_key_free() {
    let f = Fixture::new("callback-offer");
    let text = queue("callback_offer_after_secs = 90\n\n[callbacks]\nenabled = false\n");
    f.assert_one(
        &text,
        at(&text, "90"),
        "queue[1].callback_offer_after_secs",
        "callbacks are disabled ([callbacks] enabled = false): no callback could be offered",
    );
    let text = queue("max_wait_secs = 60\ncallback_offer_after_secs = 60\n");
    f.assert_one(
        &text,
        at_after(&text, "callback_offer_after_secs", "60"),
        "queue[1].callback_offer_after_secs",
        "callers leave the queue after max_wait_secs (60), before the offer at 60 s: make it shorter than max_wait_secs",
    );
    // The default key 1 is a breakout key: reported at the offer.
    let text = queue("breakout = { \"1\" = \"ext:201\" }\ncallback_offer_after_secs = 90\n");
    f.assert_one(
        &text,
        at(&text, "90"),
        "queue[1].callback_offer_after_secs",
        "the callback offer's key `1` (the default callback_key) is also a breakout key: set callback_key to a key `breakout` does not use",
    );
    let text = queue(
        "breakout = { \"1\" = \"ext:201\", \"#\" = \"hangup\" }\ncallback_offer_after_secs = 90\ncallback_key = \"#\"\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"#\"\n"),
        "queue[1].callback_key",
        "the callback offer's key `#` is also a breakout key",
    );
    let text = queue("callback_offer_after_secs = 90\ncallback_key = \"10\"\n");
    f.assert_one(
        &text,
        at(&text, "\"10\""),
        "queue[1].callback_key",
        "`10` is not a key of the phone's keypad: the callback key is one of 0-9, * and #",
    );
    let text = queue("callback_key = \"2\"\n");
    f.assert_one(
        &text,
        at(&text, "\"2\""),
        "queue[1].callback_key",
        "has no effect without `callback_offer_after_secs` (when the offer is made)",
    );
    let config = f.ok(&queue(
        "breakout = { \"1\" = \"ext:201\" }\nmax_wait_secs = 600\ncallback_offer_after_secs = 90\ncallback_key = \"2\"\n",
    ));
    assert_eq!(
        (
            config.queues[0].callback_offer_after_secs,
            config.queues[0].callback_key
        ),
        (Some(90), '2')
    );
}

#[test]
fn feature_codes_are_star_or_hash_and_digits_and_dialled_apart() {
    let f = Fixture::new("codes");
    for (code, part) in [
        (
            "45",
            "`45` is not a feature code: `*` or `#`, then 1 to 6 digits (e.g. \"*45\")",
        ),
        ("*", "`*` is not a feature code"),
        ("*4a", "`*4a` is not a feature code"),
        ("*1234567", "`*1234567` is not a feature code"),
        ("**45", "`**45` is not a feature code"),
    ] {
        let text = format!("[agents]\nlogin_code = \"{code}\"\n");
        f.assert_one(
            &text,
            at(&text, &format!("\"{code}\"")),
            "agents.login_code",
            part,
        );
    }
    // Two codes alike, or one the start of another: at the later one written.
    let text = "[agents]\nlogin_code = \"*50\"\nlogout_code = \"*50\"\npause_code = \"*5\"\n";
    let all = f.errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{}: agents.logout_code: `*50` is also the login_code `*50`: each feature code must differ from the others and not start with another",
                at_nth(text, "\"*50\"", 2)
            ),
            format!(
                "{}: agents.pause_code: `*5` is the start of the login_code `*50`: each feature code must differ from the others and not start with another",
                at(text, "\"*5\"")
            ),
        ]
    );
    // Against a default: `*471` would be a pause with reason 1.
    let text = "[agents]\nunpause_code = \"*471\"\n";
    f.assert_one(
        text,
        at(text, "\"*471\""),
        "agents.unpause_code",
        "`*471` starts with the pause_code `*47` (its default)",
    );
}

#[test]
fn feature_codes_must_not_shadow_menus_user_names_or_dialling_prefixes() {
    let f = Fixture::new("code-clashes");
    // A menu dialled as `*471` would be a pause with reason 1.
    let text = with_base(
        "\n[[ivr]]\nname = \"agents-help\"\nnumber = \"*471\"\nprompt = \"greeting\"\ndirect_dial = true\n\n[agents]\npause_code = \"*47\"\n",
    );
    let line = at(&text, "\"*471\"").split(':').nth(1).unwrap().to_owned();
    f.assert_one(
        &text,
        at(&text, "\"*47\"\n"),
        "agents.pause_code",
        &format!(
            "[agents] pause_code `*47` and a menu's number `*471` (line {line}) could not be dialled apart: give one of them another value"
        ),
    );
    // With the default code, at the menu's number.
    let text = with_base(
        "\n[[ivr]]\nname = \"agents-help\"\nnumber = \"*45\"\nprompt = \"greeting\"\ndirect_dial = true\n",
    );
    f.assert_one(
        &text,
        at(&text, "\"*45\""),
        "agents.login_code",
        "[agents] login_code `*45` (the default) and a menu's number `*45`",
    );
    // The privacy prefix `*4` starts every default code.
    let text = "[site]\nprivacy_prefix = \"*4\"\n";
    let all = f.errors(text);
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(
        all.iter().all(
            |e| e.starts_with(&format!("{}: agents.", at(text, "\"*4\"")))
                && e.contains("and [site] privacy_prefix `*4` (line 2)")
        ),
        "{all:#?}"
    );
    // A user name equal to a code.
    let text =
        "[[extension]]\nnumber = \"201\"\nusername = \"*46\"\nsecret = \"alice-secret-201\"\n";
    f.assert_one(
        text,
        at(text, "\"*46\""),
        "agents.logout_code",
        "[agents] logout_code `*46` (the default) and an extension's number or user name `*46` (line 3)",
    );
    // Menus numbered apart, and the US privacy prefix, are fine.
    let config = f.ok(&format!(
        "[site]\nprivacy_prefix = \"*67\"\n{}",
        with_base(
            "\n[[ivr]]\nname = \"help\"\nnumber = \"*4\"\nprompt = \"greeting\"\ndirect_dial = true\n"
        )
    ));
    assert_eq!(config.agents.login_code, "*45");
}

#[test]
fn pause_reasons_are_one_digit_each_with_a_name_given_once() {
    let f = Fixture::new("pause-reasons");
    let text = "[agents]\npause_reasons = { \"1\" = \"lunch\", \"12\" = \"training\", \"*\" = \"x\", \"2\" = \"lunch\", \"3\" = \"coffee break\", \"4\" = 4 }\n";
    let all = f.errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{}: agents.pause_reasons.12: `12` is not a reason digit: a pause reason is for one digit 0-9, dialled after the pause code (\"1\" = \"lunch\")",
                at(text, "\"12\"")
            ),
            format!(
                "{}: agents.pause_reasons.*: `*` is not a reason digit: a pause reason is for one digit 0-9, dialled after the pause code (\"1\" = \"lunch\")",
                at(text, "\"*\"")
            ),
            format!(
                "{}: agents.pause_reasons.2: the reason `lunch` is already given to another digit (line 2): one digit per reason",
                at_nth(text, "\"lunch\"", 2)
            ),
            format!(
                "{}: agents.pause_reasons.3: `coffee break` is not a reason name: the name `coffee break` contains ` `: use letters, digits, `-`, `_` and `.` only",
                at(text, "\"coffee break\"")
            ),
            format!(
                "{}: agents.pause_reasons.4: expected a reason name (e.g. \"lunch\"), found an integer",
                at(text, "4 }")
            ),
        ]
    );
    let text = "[agents]\npause_reasons = [\"lunch\"]\n";
    f.assert_one(
        text,
        at(text, "[\"lunch\"]"),
        "agents.pause_reasons",
        "expected a table (pause_reasons = { ... }), found an array",
    );
}

#[test]
fn the_retry_schedule_fits_the_attempts_and_assign_to_names_a_queue() {
    let f = Fixture::new("callbacks");
    // Three retries need four attempts.
    let text = "[callbacks]\nretry_schedule_secs = [300, 1800, 7200]\n";
    f.assert_one(
        text,
        at(text, "[300"),
        "callbacks.retry_schedule_secs",
        "3 automatic retries, but max_attempts (default 3) leaves room for 2 retries after the first attempt: set max_attempts = 4 or shorten the list",
    );
    let text = "[callbacks]\nretry_schedule_secs = [300]\nmax_attempts = 1\n";
    f.assert_one(
        text,
        at(text, "[300"),
        "callbacks.retry_schedule_secs",
        "1 automatic retry, but max_attempts = 1 leaves room for 0 retries after the first attempt: set max_attempts = 2 or shorten the list",
    );
    let text = "[callbacks]\nretry_schedule_secs = [0, \"1h\", 300]\nmax_attempts = 0\n";
    let all = f.errors(text);
    assert_eq!(
        all,
        [
            format!(
                "{}: callbacks.retry_schedule_secs: a wait must be at least 1 second, found 0",
                at(text, "0, ")
            ),
            format!(
                "{}: callbacks.retry_schedule_secs: expected a wait in seconds (an integer), found a string",
                at(text, "\"1h\"")
            ),
            format!(
                "{}: callbacks.max_attempts: must be at least 1, found 0",
                at(text, "0\n")
            ),
        ]
    );
    let text = "[callbacks]\nretry_schedule_secs = 300\n";
    f.assert_one(
        text,
        at(text, "300"),
        "callbacks.retry_schedule_secs",
        "expected an array of waits in seconds (e.g. [300, 1800, 7200]), found an integer",
    );
    // assign_to names a queue.
    let text = queue("\n[callbacks]\nassign_to = \"suport\"\n");
    f.assert_one(
        &text,
        at(&text, "\"suport\""),
        "callbacks.assign_to",
        "no queue named `suport`; queues: support (did you mean `support`?)",
    );
    let text = "[callbacks]\nassign_to = \"support\"\n";
    f.assert_one(
        text,
        at(text, "\"support\""),
        "callbacks.assign_to",
        "no queue named `support`: there is no [[queue]]",
    );
    let config = f.ok(&queue(
        "\n[callbacks]\nenabled = false\nretry_schedule_secs = [60]\nmax_attempts = 2\nassign_to = \"support\"\n",
    ));
    assert_eq!(
        config.callbacks,
        Callbacks {
            enabled: false,
            retry_schedule_secs: vec![60],
            max_attempts: 2,
            assign_to: Some("support".to_owned()),
        }
    );
}
