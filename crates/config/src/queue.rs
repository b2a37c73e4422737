//! `[[queue]]`: callers waiting in order for the next free agent, with music and
//! announcements, and where they go when they wait too long, the queue is full or nobody is
//! logged in to answer.

use std::fmt;

use toml::Spanned;
use toml::de::DeValue;

use crate::destination::{Destination, References, no_such};
use crate::extension::check_number;
use crate::inbound::PromptRef;
use crate::ivr::{KEYPAD, keypad_destinations};
use crate::load::{At, Loader, Section, Span, expected, table_array, unique};
use crate::prompts::{PromptUse, prompt_ref};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "strategy",
    "members",
    "agent_ring_secs",
    "retry_secs",
    "wrap_up_secs",
    "auto_pause_after",
    "max_wait_secs",
    "max_callers",
    "join_empty",
    "leave_when_empty",
    "on_timeout",
    "on_full",
    "on_empty",
    "breakout",
    "moh",
    "announce_position_secs",
    "announce_wait",
    "announcement",
    "announcement_secs",
    "service_level_secs",
    "callback_offer_after_secs",
    "callback_key",
];

/// The keys of a member written as a table (`{ extension = "202", penalty = 1 }`).
pub(crate) const MEMBER_KEYS: &[&str] = &["extension", "penalty"];

const DEFAULT_AGENT_RING_SECS: u32 = 15;
const DEFAULT_RETRY_SECS: u32 = 5;
const DEFAULT_ANNOUNCEMENT_SECS: u32 = 60;
const DEFAULT_SERVICE_LEVEL_SECS: u32 = 20;
const DEFAULT_CALLBACK_KEY: char = '1';

/// How a queue chooses the agent the next caller is offered to, among the free agents of the
/// lowest penalty that has any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueStrategy {
    /// Every free agent at once; the first to answer takes the caller.
    RingAll,
    /// The agent who has been free the longest (the default).
    LongestIdle,
    /// In turn, starting after the agent offered a caller last (remembered across restarts).
    RoundRobin,
    /// The agent who has answered the fewest calls from the queue today.
    FewestCalls,
    /// Any free agent, at random.
    Random,
    /// The first free agent in the order of `members` (dynamic agents after, in login order).
    Linear,
}

impl QueueStrategy {
    pub const ALL: [QueueStrategy; 6] = [
        QueueStrategy::RingAll,
        QueueStrategy::LongestIdle,
        QueueStrategy::RoundRobin,
        QueueStrategy::FewestCalls,
        QueueStrategy::Random,
        QueueStrategy::Linear,
    ];

    /// As written in the file: `ring_all`, `longest_idle`, `round_robin`, `fewest_calls`,
    /// `random`, `linear`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueStrategy::RingAll => "ring_all",
            QueueStrategy::LongestIdle => "longest_idle",
            QueueStrategy::RoundRobin => "round_robin",
            QueueStrategy::FewestCalls => "fewest_calls",
            QueueStrategy::Random => "random",
            QueueStrategy::Linear => "linear",
        }
    }
}

impl fmt::Display for QueueStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A static agent of a queue: an extension, and its penalty (tier).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueMember {
    /// The extension's number.
    pub extension: String,
    /// Agents with a higher penalty are offered callers only when no free agent has a lower
    /// one (default 0).
    pub penalty: u32,
}

/// One `[[queue]]`. Durations are in seconds; `None` stands for "never" or "no limit" (written
/// `0`, or left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub strategy: QueueStrategy,
    /// The static agents, in the order listed (each extension once). Agents may also log in
    /// to the queue at run time.
    pub members: Vec<QueueMember>,
    /// How long one agent's phone rings with an offered caller (default 15).
    pub agent_ring_secs: u32,
    /// The pause after an unanswered offer before the caller is offered again (default 5).
    pub retry_secs: u32,
    /// How long an agent gets no offer after a call from the queue ends (default 0).
    pub wrap_up_secs: u32,
    /// An agent who leaves this many offers in a row unanswered is paused (default: never).
    pub auto_pause_after: Option<u32>,
    /// The longest a caller waits before `on_timeout` (default: no limit).
    pub max_wait_secs: Option<u32>,
    /// The most callers waiting at once; one more goes to `on_full` (default: no limit).
    pub max_callers: Option<u32>,
    /// Whether a caller joins while no agent is logged in (paused agents are logged in);
    /// if not, the caller goes to `on_empty` (default false).
    pub join_empty: bool,
    /// Whether waiting callers leave for `on_empty` when the last agent logs out (default
    /// false).
    pub leave_when_empty: bool,
    /// Where a caller goes after `max_wait_secs` (default: the call ends, no answer).
    pub on_timeout: Option<Destination>,
    /// Where a caller goes when `max_callers` are waiting (default: busy).
    pub on_full: Option<Destination>,
    /// Where a caller goes when no agent is logged in (default: the call ends, unavailable).
    pub on_empty: Option<Destination>,
    /// Keys a waiting caller may press to leave for another destination, in file order.
    pub breakout: Vec<(char, Destination)>,
    /// Music on hold, looped (default: the prompt named `moh` of the call's language, one of
    /// the system prompts a site with queues loads).
    pub moh: Option<PromptRef>,
    /// How often a caller hears their position, on joining and then every so many seconds
    /// (default: never).
    pub announce_position_secs: Option<u32>,
    /// Whether position announcements include the estimated wait (default false).
    pub announce_wait: bool,
    /// A prompt played to waiting callers every `announcement_secs`.
    pub announcement: Option<PromptRef>,
    /// How often `announcement` plays (default 60).
    pub announcement_secs: u32,
    /// The queue's service-level threshold T: answered within T seconds (default 20).
    pub service_level_secs: u32,
    /// After waiting this long, a caller is offered to be called back and keep their place
    /// (default: never).
    pub callback_offer_after_secs: Option<u32>,
    /// The key that accepts the callback offer (default `1`).
    pub callback_key: char,
}

/// What queues are checked against.
pub(crate) struct QueueContext<'c> {
    /// Every valid extension number.
    pub extension_numbers: &'c [String],
    /// `[callbacks] enabled`.
    pub callbacks_enabled: bool,
}

/// Every `[[queue]]`, the names of all of them whose name is valid, and every prompt they
/// name.
pub(crate) struct Queues {
    pub queues: Vec<Queue>,
    pub names: Vec<String>,
    pub prompts: Vec<PromptUse>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    context: &QueueContext<'_>,
    references: &mut References,
) -> Queues {
    let mut parsed = Queues {
        queues: Vec::new(),
        names: Vec::new(),
        prompts: Vec::new(),
    };
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "queue", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "queue name",
            );
        }
        let queue = parse_one(
            ld,
            &section,
            name.as_ref(),
            context,
            references,
            &mut parsed.prompts,
        );
        if let (Some(name), Some(mut queue)) = (name, queue)
            && ld.error_count() == errors_before
        {
            queue.name = name.value;
            parsed.queues.push(queue);
        }
    }
    parsed.names = seen.into_iter().map(|s| s.value).collect();
    parsed
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    name: Option<&At<String>>,
    context: &QueueContext<'_>,
    references: &mut References,
    prompts: &mut Vec<PromptUse>,
) -> Option<Queue> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let strategy = section
        .choice(
            ld,
            "strategy",
            "queue strategy",
            &QueueStrategy::ALL.map(|s| (s.as_str(), s)),
        )
        .map_or(QueueStrategy::LongestIdle, |s| s.value);
    let members = members(ld, section, context.extension_numbers);
    let secs = |ld: &mut Loader<'_>, key: &str, min: u32, default: u32| {
        section
            .u32_at_least(ld, key, min)
            .map_or(default, |s| s.value)
    };
    let agent_ring_secs = secs(ld, "agent_ring_secs", 1, DEFAULT_AGENT_RING_SECS);
    let retry_secs = secs(ld, "retry_secs", 0, DEFAULT_RETRY_SECS);
    let wrap_up_secs = secs(ld, "wrap_up_secs", 0, 0);
    // 0, or left out: never / no limit.
    let optional =
        |ld: &mut Loader<'_>, key: &str| section.u32_at_least(ld, key, 0).filter(|n| n.value > 0);
    let auto_pause_after = optional(ld, "auto_pause_after").map(|n| n.value);
    let max_wait_secs = optional(ld, "max_wait_secs").map(|n| n.value);
    let max_callers = optional(ld, "max_callers").map(|n| n.value);
    let join_empty = section.boolean(ld, "join_empty").is_some_and(|b| b.value);
    let leave_when_empty = section
        .boolean(ld, "leave_when_empty")
        .is_some_and(|b| b.value);

    let this = name.map(|n| Destination::Queue(n.value.clone()));
    let on_timeout = references.read(ld, section, "on_timeout", this.as_ref());
    let on_full = references.read(ld, section, "on_full", this.as_ref());
    let on_empty = references.read(ld, section, "on_empty", this.as_ref());
    // Overflows that could never be taken are errors: nobody should believe they are in force.
    let never = [
        (
            "on_timeout",
            on_timeout.is_some() && max_wait_secs.is_none(),
            "callers wait without a limit (max_wait_secs is 0 or not set)",
        ),
        (
            "on_full",
            on_full.is_some() && max_callers.is_none(),
            "the queue is never full (max_callers is 0 or not set)",
        ),
        (
            "on_empty",
            on_empty.is_some() && join_empty && !leave_when_empty,
            "callers join an empty queue and stay when it empties (join_empty = true, \
             leave_when_empty = false)",
        ),
    ];
    for (key, unused, why) in never {
        if unused && let Some(value) = section.value(key) {
            ld.error(
                &value.span(),
                &section.key(key),
                format!("`{key}` would never be used: {why}"),
            );
        }
    }

    let breakout = keypad_destinations(
        ld,
        section,
        "breakout",
        references,
        "a breakout is for one of 0-9, * and # (\"0\" = \"ext:201\")",
    );

    let mut prompt = |ld: &mut Loader<'_>, key: &str| {
        let prompt = prompt_ref(ld, section, key)?;
        prompts.push(PromptUse {
            prompt: prompt.value.clone(),
            span: prompt.span,
            key: section.key(key),
        });
        Some(prompt.value)
    };
    let moh = prompt(ld, "moh");
    let announcement = prompt(ld, "announcement");

    let announce_position_secs = optional(ld, "announce_position_secs").map(|n| n.value);
    let announce_wait = section.boolean(ld, "announce_wait");
    if let Some(wait) = &announce_wait
        && wait.value
        && announce_position_secs.is_none()
    {
        ld.error(
            &wait.span,
            &section.key("announce_wait"),
            "the estimated wait is told with the position, which is never announced \
             (announce_position_secs is 0 or not set): set announce_position_secs",
        );
    }
    let announcement_secs = section.u32_at_least(ld, "announcement_secs", 1);
    if let Some(secs) = &announcement_secs
        && section.value("announcement").is_none()
    {
        ld.error(
            &secs.span,
            &section.key("announcement_secs"),
            "has no effect without `announcement` (the prompt it repeats)",
        );
    }
    let service_level_secs = secs(ld, "service_level_secs", 1, DEFAULT_SERVICE_LEVEL_SECS);

    let callback_offer = section.u32_at_least(ld, "callback_offer_after_secs", 1);
    let callback_key = callback_key(ld, section);
    check_callback_offer(
        ld,
        section,
        &CallbackOffer {
            after: callback_offer.as_ref(),
            key: callback_key.as_ref(),
            max_wait_secs,
            breakout: &breakout,
            callbacks_enabled: context.callbacks_enabled,
        },
    );

    (ld.error_count() == errors_before).then(|| Queue {
        name: String::new(),
        strategy,
        members,
        agent_ring_secs,
        retry_secs,
        wrap_up_secs,
        auto_pause_after,
        max_wait_secs,
        max_callers,
        join_empty,
        leave_when_empty,
        on_timeout,
        on_full,
        on_empty,
        breakout,
        moh,
        announce_position_secs,
        announce_wait: announce_wait.is_some_and(|w| w.value),
        announcement,
        announcement_secs: announcement_secs.map_or(DEFAULT_ANNOUNCEMENT_SECS, |s| s.value),
        service_level_secs,
        callback_offer_after_secs: callback_offer.map(|s| s.value),
        callback_key: callback_key.map_or(DEFAULT_CALLBACK_KEY, |k| k.value),
    })
}

/// `members = ["201", { extension = "202", penalty = 1 }]`: extensions that exist, each once;
/// a plain number has penalty 0.
fn members(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    extension_numbers: &[String],
) -> Vec<QueueMember> {
    let mut members: Vec<QueueMember> = Vec::new();
    let Some(value) = section.value("members") else {
        return members;
    };
    let key = section.key("members");
    let DeValue::Array(array) = value.get_ref() else {
        ld.error(
            &value.span(),
            &key,
            expected(
                "an array of members ([\"201\", { extension = \"202\", penalty = 1 }])",
                value.get_ref(),
            ),
        );
        return members;
    };
    for (index, item) in array.iter().enumerate() {
        let member = match item.get_ref() {
            DeValue::String(text) => extension(ld, text, &item.span(), &key, extension_numbers)
                .map(|extension| QueueMember {
                    extension,
                    penalty: 0,
                }),
            DeValue::Table(table) => {
                let errors_before = ld.error_count();
                let ordinal = index + 1;
                let member = Section::new(
                    table,
                    item.span(),
                    format!("{key}[{ordinal}]"),
                    format!("`members` #{ordinal} of {}", section.label),
                );
                member.reject_unknown_keys(ld, MEMBER_KEYS);
                member.require(ld, "extension");
                let penalty = member.u32_at_least(ld, "penalty", 0).map_or(0, |p| p.value);
                member
                    .string(ld, "extension")
                    .and_then(|number| {
                        extension(
                            ld,
                            number.value,
                            &number.span,
                            &member.key("extension"),
                            extension_numbers,
                        )
                        .map(|extension| QueueMember { extension, penalty })
                    })
                    // A member with a problem is not counted (nor reported as listed twice).
                    .filter(|_| ld.error_count() == errors_before)
            }
            other => {
                ld.error(
                    &item.span(),
                    &key,
                    expected(
                        "a member: an extension number (\"201\") or a table ({ extension = \
                         \"202\", penalty = 1 })",
                        other,
                    ),
                );
                None
            }
        };
        let Some(member) = member else { continue };
        if members.iter().any(|m| m.extension == member.extension) {
            ld.error(
                &item.span(),
                &key,
                format!("`{}` is listed twice", member.extension),
            );
        } else {
            members.push(member);
        }
    }
    members
}

/// An agent's extension number, which must exist. `None` if not (reported).
fn extension(
    ld: &mut Loader<'_>,
    text: &str,
    span: &Span,
    key: &str,
    extension_numbers: &[String],
) -> Option<String> {
    let problem = if text.starts_with('+') {
        format!(
            "`{text}` is an outside number: a queue's members are agents, extensions of this \
             PBX (a [[ring_group]] can ring outside numbers)"
        )
    } else if check_number(text).is_err() {
        format!("`{text}` is not a member: write an extension number (\"201\")")
    } else if !extension_numbers.iter().any(|n| n == text) {
        let numbers: Vec<&str> = extension_numbers.iter().map(String::as_str).collect();
        no_such(
            &format!("extension numbered `{text}`"),
            "[[extension]]",
            "extensions",
            &numbers,
            text,
            str::to_owned,
        )
    } else {
        return Some(text.to_owned());
    };
    ld.error(span, key, problem);
    None
}

/// `callback_key`: one key of the keypad. `None` if absent or invalid (reported).
fn callback_key(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Option<At<char>> {
    let text = section.string(ld, "callback_key")?;
    let mut chars = text.value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if KEYPAD.contains(c) => Some(At {
            value: c,
            span: text.span,
        }),
        _ => {
            ld.error(
                &text.span,
                &section.key("callback_key"),
                format!(
                    "`{}` is not a key of the phone's keypad: the callback key is one of 0-9, * \
                     and #",
                    text.value
                ),
            );
            None
        }
    }
}

/// The virtual-hold offer as written, for [`check_callback_offer`].
struct CallbackOffer<'a> {
    after: Option<&'a At<u32>>,
    key: Option<&'a At<char>>,
    max_wait_secs: Option<u32>,
    breakout: &'a [(char, Destination)],
    callbacks_enabled: bool,
}

/// The callback offer must be possible: callbacks enabled, made before callers time out, with a
/// key that is not a breakout key; a `callback_key` without an offer is an error.
fn check_callback_offer(ld: &mut Loader<'_>, section: &Section<'_, '_>, offer: &CallbackOffer<'_>) {
    let Some(after) = offer.after else {
        if let Some(key) = offer.key {
            ld.error(
                &key.span,
                &section.key("callback_key"),
                "has no effect without `callback_offer_after_secs` (when the offer is made)",
            );
        }
        return;
    };
    let offer_key = section.key("callback_offer_after_secs");
    if !offer.callbacks_enabled {
        ld.error(
            &after.span,
            &offer_key,
            "callbacks are disabled ([callbacks] enabled = false): no callback could be offered",
        );
    }
    if let Some(max) = offer.max_wait_secs
        && after.value >= max
    {
        ld.error(
            &after.span,
            &offer_key,
            format!(
                "callers leave the queue after max_wait_secs ({max}), before the offer at {} s: \
                 make it shorter than max_wait_secs",
                after.value
            ),
        );
    }
    let key = offer.key.map_or(DEFAULT_CALLBACK_KEY, |k| k.value);
    if offer.breakout.iter().any(|(k, _)| *k == key) {
        let (span, path, default) = match offer.key {
            Some(written) => (&written.span, section.key("callback_key"), ""),
            None => (&after.span, offer_key, " (the default callback_key)"),
        };
        ld.error(
            span,
            &path,
            format!(
                "the callback offer's key `{key}`{default} is also a breakout key: set \
                 callback_key to a key `breakout` does not use"
            ),
        );
    }
}
