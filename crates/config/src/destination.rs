//! Destinations: where a call goes next, written as typed references — `ext:201`, `ivr:main`,
//! `group:reception`, `queue:support`, `tc:office-hours`, `hangup` (and, in a later version,
//! `voicemail:...`). Every reference must name something that exists, and following them from
//! any inbound route must reach a final destination (an extension, a group, a queue, `hangup`)
//! without going round a loop of time conditions: both are configuration errors.
//!
//! Parsing: each section reads its destinations with [`References::read`], which checks the
//! form and records where it was written; once every section is read, [`References::check`]
//! reports the ones that name nothing, and the loops — chains of time conditions and of
//! escalations (`on_no_answer`, `on_busy`, `on_unavailable` of extensions and groups;
//! `on_timeout`, `on_full`, `on_empty` of queues) that come back to where they started without
//! passing a menu or `hangup`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use toml::Spanned;
use toml::de::DeValue;

use crate::extension::check_number;
use crate::load::{Loader, Section, Span, check_name, closest, expected};

/// A typed reference to where a call goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// Ring an extension's registered phones (`ext:201`).
    Extension(String),
    /// Answer and run a menu (`ivr:main`).
    Ivr(String),
    /// Ring a group's members (`group:reception`).
    Group(String),
    /// Wait in a queue for one of its agents (`queue:support`).
    Queue(String),
    /// Decide by the time of day, the holidays and any manual override (`tc:office-hours`).
    TimeCondition(String),
    /// End the call (`hangup`).
    Hangup,
}

impl Destination {
    /// The kind, as written before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Extension(_) => "ext",
            Destination::Ivr(_) => "ivr",
            Destination::Group(_) => "group",
            Destination::Queue(_) => "queue",
            Destination::TimeCondition(_) => "tc",
            Destination::Hangup => "hangup",
        }
    }

    /// The name after the colon (`None` for `hangup`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Destination::Extension(n)
            | Destination::Ivr(n)
            | Destination::Group(n)
            | Destination::Queue(n)
            | Destination::TimeCondition(n) => Some(n),
            Destination::Hangup => None,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{}:{name}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// What happens when a destination that rings people does not get an answer: after
/// `no_answer_secs` with nobody answering (`on_no_answer`), when every phone is busy
/// (`on_busy`), when nothing is registered to ring (`on_unavailable`). Unset: the call ends
/// there with that outcome (no answer, busy, unavailable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Escalation {
    /// How long it rings before `on_no_answer` (default: `[calls] ring_timeout_secs`).
    pub no_answer_secs: Option<u32>,
    pub on_no_answer: Option<Destination>,
    pub on_busy: Option<Destination>,
    pub on_unavailable: Option<Destination>,
}

/// The keys of [`Escalation`], as written in `[[extension]]` and `[[ring_group]]`.
pub(crate) const ESCALATION_KEYS: [&str; 4] = [
    "no_answer_secs",
    "on_no_answer",
    "on_busy",
    "on_unavailable",
];

/// The forms of a destination, for messages.
pub(crate) const FORMS: &str = "ext:NUMBER, ivr:NAME, group:NAME, queue:NAME, tc:NAME or \
     hangup (e.g. ext:201, ivr:main, group:reception, queue:support, tc:office-hours)";

/// The kinds written before the colon.
const KINDS: [&str; 6] = ["ext", "ivr", "group", "queue", "tc", "hangup"];

/// Words people write for a kind, for the did-you-mean hint.
const KIND_ALIASES: [(&str, &str); 9] = [
    ("extension", "ext"),
    ("exten", "ext"),
    ("menu", "ivr"),
    ("ring_group", "group"),
    ("ringgroup", "group"),
    ("grp", "group"),
    ("acd", "queue"),
    ("time_condition", "tc"),
    ("timecondition", "tc"),
];

/// Kinds of the design that this version does not implement.
const NOT_YET_SUPPORTED: [&str; 1] = ["voicemail"];

/// `ext:201`, `ivr:main`, `group:reception`, `queue:support`, `tc:office-hours` or `hangup`:
/// the form only
/// (whether the name exists is checked once every section is read).
pub(crate) fn parse_destination(text: &str) -> Result<Destination, String> {
    let Some((kind, name)) = text.split_once(':') else {
        if text == "hangup" {
            return Ok(Destination::Hangup);
        }
        let mut message = format!("`{text}` is not a destination: write {FORMS}");
        if closest(text, &["hangup"]).is_some() {
            message.push_str(" (did you mean `hangup`?)");
        } else if check_number(text).is_ok() {
            message.push_str(&format!(" (did you mean `ext:{text}`?)"));
        }
        return Err(message);
    };
    let named = |name: &str| -> Result<String, String> {
        check_name(name)
            .map(|()| name.to_owned())
            .map_err(|problem| format!("`{text}`: the name {problem}"))
    };
    match kind {
        "ext" => match check_number(name) {
            Ok(()) => Ok(Destination::Extension(name.to_owned())),
            Err(_) if name.is_empty() => Err(format!(
                "`{text}` names no extension: write ext:NUMBER (e.g. ext:201)"
            )),
            Err(problem) => Err(format!("`{text}`: {problem}")),
        },
        "ivr" => named(name).map(Destination::Ivr),
        "group" => named(name).map(Destination::Group),
        "queue" => named(name).map(Destination::Queue),
        "tc" => named(name).map(Destination::TimeCondition),
        "hangup" => Err(format!("`{text}`: hangup takes no name: write hangup")),
        _ if NOT_YET_SUPPORTED.contains(&kind) => Err(format!(
            "`{text}`: {kind} destinations are not supported by this version of crossbar yet; \
             use {FORMS}"
        )),
        _ => {
            let mut message = format!(
                "unknown destination kind `{kind}` in `{text}`, expected one of: {} \
                 (written ext:201, ivr:main, group:reception, queue:support, tc:office-hours, \
                 hangup)",
                KINDS.join(", ")
            );
            let mut candidates: Vec<&str> = KINDS.to_vec();
            candidates.extend(KIND_ALIASES.iter().map(|(alias, _)| *alias));
            if let Some(close) = closest(kind, &candidates) {
                let suggestion = KIND_ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == close)
                    .map_or(close, |(_, kind)| *kind);
                let suggestion = if suggestion == "hangup" {
                    "hangup".to_owned()
                } else {
                    format!("{suggestion}:{name}")
                };
                message.push_str(&format!(" (did you mean `{suggestion}`?)"));
            }
            Err(message)
        }
    }
}

/// One destination written in the file.
struct Reference {
    destination: Destination,
    span: Span,
    key: String,
    /// The time condition, extension, group or queue whose branch or escalation this is: an
    /// edge of the graph loops are looked for in.
    from: Option<Destination>,
}

/// Every destination written in the file, for the checks that need every section read.
#[derive(Default)]
pub(crate) struct References {
    references: Vec<Reference>,
}

/// The names destinations may refer to: every extension number, menu, ring group, queue and
/// time condition with a valid name (even those with other problems, so a reference to them is
/// not reported as well).
pub(crate) struct Targets<'t> {
    pub extensions: &'t [String],
    pub ivrs: &'t [String],
    pub groups: &'t [String],
    pub queues: &'t [String],
    pub time_conditions: &'t [String],
}

impl References {
    /// The destination at `key` of `section`, recorded as a branch or escalation of `from`
    /// when given. `None` if absent or invalid (reported).
    pub fn read(
        &mut self,
        ld: &mut Loader<'_>,
        section: &Section<'_, '_>,
        key: &str,
        from: Option<&Destination>,
    ) -> Option<Destination> {
        let value = section.value(key)?;
        self.read_value(ld, value, &section.key(key), from)
    }

    /// The destination written as `value`, reported under `key` (a dotted path).
    pub fn read_value(
        &mut self,
        ld: &mut Loader<'_>,
        value: &Spanned<DeValue<'_>>,
        key: &str,
        from: Option<&Destination>,
    ) -> Option<Destination> {
        let DeValue::String(text) = value.get_ref() else {
            ld.error(
                &value.span(),
                key,
                expected(&format!("a destination ({FORMS})"), value.get_ref()),
            );
            return None;
        };
        match parse_destination(text) {
            Ok(destination) => {
                self.references.push(Reference {
                    destination: destination.clone(),
                    span: value.span(),
                    key: key.to_owned(),
                    from: from.cloned(),
                });
                Some(destination)
            }
            Err(message) => {
                ld.error(&value.span(), key, message);
                None
            }
        }
    }

    /// Reports the destinations that name nothing, then the loops among the others.
    pub fn check(self, ld: &mut Loader<'_>, targets: &Targets<'_>) {
        let mut edges: Vec<&Reference> = Vec::new();
        for reference in &self.references {
            match missing(&reference.destination, targets) {
                Some(message) => ld.error(&reference.span, &reference.key, message),
                None if reference.from.is_some() => edges.push(reference),
                None => {}
            }
        }
        report_loops(ld, &edges);
    }
}

/// Why `destination` names nothing, if it does not.
fn missing(destination: &Destination, targets: &Targets<'_>) -> Option<String> {
    let (names, what, section, plural) = match destination {
        Destination::Extension(_) => (
            targets.extensions,
            "extension numbered",
            "[[extension]]",
            "extensions",
        ),
        Destination::Ivr(_) => (targets.ivrs, "menu named", "[[ivr]]", "menus"),
        Destination::Group(_) => (
            targets.groups,
            "ring group named",
            "[[ring_group]]",
            "ring groups",
        ),
        Destination::Queue(_) => (targets.queues, "queue named", "[[queue]]", "queues"),
        Destination::TimeCondition(_) => (
            targets.time_conditions,
            "time condition named",
            "[[time_condition]]",
            "time conditions",
        ),
        Destination::Hangup => return None,
    };
    let name = destination
        .name()
        .expect("every kind but hangup has a name");
    if names.iter().any(|n| n == name) {
        return None;
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Some(no_such(
        &format!("{what} `{name}`"),
        section,
        plural,
        &names,
        name,
        |close| format!("{}:{close}", destination.kind()),
    ))
}

/// "no menu named `mian`; menus: main, sales (did you mean `ivr:main`?)": at most ten names
/// are listed.
pub(crate) fn no_such(
    what: &str,
    section: &str,
    plural: &str,
    names: &[&str],
    name: &str,
    suggestion: impl Fn(&str) -> String,
) -> String {
    const LISTED: usize = 10;
    let mut message = if names.is_empty() {
        format!("no {what}: there is no {section}")
    } else if names.len() <= LISTED {
        format!("no {what}; {plural}: {}", names.join(", "))
    } else {
        format!(
            "no {what}; {plural}: {}, ... ({} in all)",
            names[..LISTED].join(", "),
            names.len()
        )
    };
    if let Some(close) = closest(name, names) {
        message.push_str(&format!(" (did you mean `{}`?)", suggestion(close)));
    }
    message
}

/// Reports each loop among the branches of time conditions and the escalations of extensions,
/// ring groups and queues, once, at the first step out of the loop's first node in file order.
///
/// A menu ends a chain (it answers, and the caller chooses), and so does `hangup`: neither has
/// edges. A queue is a node like a group: its overflows (`on_timeout`, `on_full`, `on_empty`)
/// are edges, and its `breakout` keys are not (the caller chooses, as in a menu). Manual overrides can put a time condition in either state whatever its hours, so a
/// loop through time conditions is reachable whichever branches it takes.
fn report_loops(ld: &mut Loader<'_>, edges: &[&Reference]) {
    let mut outgoing: HashMap<&Destination, Vec<usize>> = HashMap::new();
    let mut nodes: Vec<&Destination> = Vec::new();
    for (index, edge) in edges.iter().enumerate() {
        let from = edge
            .from
            .as_ref()
            .expect("only references with a `from` are edges");
        let list = outgoing.entry(from).or_default();
        if list.is_empty() {
            nodes.push(from);
        }
        // One edge per target is enough to find loops (an extension's on_no_answer and on_busy
        // may name the same place).
        if !list
            .iter()
            .any(|&i| edges[i].destination == edge.destination)
        {
            list.push(index);
        }
    }
    // In file order of their first branch or escalation.
    nodes.sort_by_key(|node| outgoing[node].first().map(|&i| edges[i].span.start));
    let mut on_reported_loop: HashSet<&Destination> = HashSet::new();
    for start in nodes {
        if on_reported_loop.contains(start) {
            continue;
        }
        let Some(path) = shortest_loop(start, edges, &outgoing) else {
            continue;
        };
        let mut steps: Vec<String> = vec![start.to_string()];
        steps.extend(path.iter().map(|&i| edges[i].destination.to_string()));
        let only_time_conditions = path
            .iter()
            .all(|&i| matches!(edges[i].destination, Destination::TimeCondition(_)));
        let message = if only_time_conditions {
            format!(
                "time conditions lead round in a loop: {}; when they are in the states that \
                 take this path (by their hours or a manual override) a call never reaches a \
                 destination: end one branch at an extension, a group, a menu or hangup",
                steps.join(" → ")
            )
        } else {
            format!(
                "escalation goes round in a loop with no menu or hangup in it: {}; a call \
                 nobody answers would be passed round forever: end the chain at a menu \
                 (ivr:...) or hangup, or leave one of these keys out",
                steps.join(" → ")
            )
        };
        let first = edges[path[0]];
        ld.error(&first.span, &first.key, message);
        on_reported_loop.extend(path.iter().map(|&i| &edges[i].destination));
    }
}

/// The edges of a shortest path from `start` back to itself, if there is one.
fn shortest_loop(
    start: &Destination,
    edges: &[&Reference],
    outgoing: &HashMap<&Destination, Vec<usize>>,
) -> Option<Vec<usize>> {
    // The edge each node was first reached by.
    let mut reached_by: HashMap<&Destination, usize> = HashMap::new();
    let mut queue: VecDeque<&Destination> = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &index in outgoing.get(node).into_iter().flatten() {
            let to = &edges[index].destination;
            if to == start {
                let mut path = vec![index];
                let mut at = node;
                while at != start {
                    let by = reached_by[at];
                    path.push(by);
                    at = edges[by].from.as_ref().expect("edges have a `from`");
                }
                path.reverse();
                return Some(path);
            }
            if !reached_by.contains_key(to) {
                reached_by.insert(to, index);
                queue.push_back(to);
            }
        }
    }
    None
}

/// The escalation keys of `section` (an `[[extension]]` or `[[ring_group]]`), recorded as
/// edges out of `owner` when it is known.
pub(crate) fn escalation(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    references: &mut References,
    owner: Option<&Destination>,
) -> Escalation {
    Escalation {
        no_answer_secs: section
            .u32_at_least(ld, "no_answer_secs", 1)
            .map(|s| s.value),
        on_no_answer: references.read(ld, section, "on_no_answer", owner),
        on_busy: references.read(ld, section, "on_busy", owner),
        on_unavailable: references.read(ld, section, "on_unavailable", owner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_kind_colon_name_or_hangup() {
        let ok = |text: &str| parse_destination(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok("ext:201"), Destination::Extension("201".to_owned()));
        assert_eq!(ok("ivr:main"), Destination::Ivr("main".to_owned()));
        assert_eq!(ok("group:sales"), Destination::Group("sales".to_owned()));
        assert_eq!(
            ok("queue:support"),
            Destination::Queue("support".to_owned())
        );
        assert_eq!(
            ok("tc:office-hours"),
            Destination::TimeCondition("office-hours".to_owned())
        );
        assert_eq!(ok("hangup"), Destination::Hangup);
        for text in [
            "ext:201",
            "ivr:main",
            "group:sales",
            "queue:support",
            "tc:office-hours",
            "hangup",
        ] {
            assert_eq!(ok(text).to_string(), text);
        }
    }

    #[test]
    fn a_misspelt_kind_gets_a_suggestion() {
        for (text, problem) in [
            ("extension:201", "(did you mean `ext:201`?)"),
            ("grp:sales", "(did you mean `group:sales`?)"),
            ("ivrr:main", "(did you mean `ivr:main`?)"),
            ("time_condition:x", "(did you mean `tc:x`?)"),
            ("EXT:201", "(did you mean `ext:201`?)"),
            ("hang-up", "(did you mean `hangup`?)"),
            ("201", "(did you mean `ext:201`?)"),
            (
                "voicemail:201",
                "not supported by this version of crossbar yet",
            ),
            ("acd:support", "(did you mean `queue:support`?)"),
            ("queues:support", "(did you mean `queue:support`?)"),
            ("queue:", "the name must not be empty"),
            ("hangup:now", "hangup takes no name"),
            ("ext:", "names no extension"),
            ("ext:20a", "digits 0-9 only"),
            ("ivr:", "the name must not be empty"),
            ("group:a b", "contains ` `"),
        ] {
            let error = parse_destination(text).expect_err(text);
            assert!(error.contains(problem), "{text}: {error}");
        }
    }
}
