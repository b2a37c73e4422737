//! `[[ring_group]]`: several phones rung for one call, together or in turn, and where the call
//! goes when none answers.

use toml::Spanned;
use toml::de::DeValue;

use crate::destination::{Destination, ESCALATION_KEYS, References, escalation, no_such};
use crate::extension::check_number;
use crate::inbound::{Member, RingGroup, RingStrategy};
use crate::load::{At, Loader, Section, table_array, unique};
use crate::number::check_e164;

pub(crate) const KEYS: &[&str] = &[
    "name",
    "strategy",
    "members",
    "ring_secs",
    "skip_busy",
    "present_caller",
    "class",
    ESCALATION_KEYS[0],
    ESCALATION_KEYS[1],
    ESCALATION_KEYS[2],
    ESCALATION_KEYS[3],
];

/// `ring_secs` when not set.
const DEFAULT_RING_SECS: u32 = 20;

/// What ring groups are checked against: the extensions and classes that exist.
pub(crate) struct RingGroupContext<'c> {
    /// Every valid extension number.
    pub extension_numbers: &'c [String],
    /// Every `[[class]]` with a valid name.
    pub class_names: &'c [String],
}

/// Every `[[ring_group]]`, and the names of all of them whose name is valid.
pub(crate) struct RingGroups {
    pub ring_groups: Vec<RingGroup>,
    pub names: Vec<String>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    context: &RingGroupContext<'_>,
    references: &mut References,
) -> RingGroups {
    let mut ring_groups = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "ring_group", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "ring group name",
            );
        }
        let group = parse_one(ld, &section, name.as_ref(), context, references);
        if let (Some(name), Some(mut group)) = (name, group)
            && ld.error_count() == errors_before
        {
            group.name = name.value;
            ring_groups.push(group);
        }
    }
    RingGroups {
        ring_groups,
        names: seen.into_iter().map(|s| s.value).collect(),
    }
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    name: Option<&At<String>>,
    context: &RingGroupContext<'_>,
    references: &mut References,
) -> Option<RingGroup> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let strategy = section
        .choice(
            ld,
            "strategy",
            "ring strategy",
            &RingStrategy::ALL.map(|s| (s.as_str(), s)),
        )
        .map_or(RingStrategy::RingAll, |s| s.value);
    section.require(ld, "members");
    let mut members: Vec<Member> = Vec::new();
    if let Some(list) = section.string_array(ld, "members") {
        let key = section.key("members");
        if list.value.is_empty() {
            ld.error(
                &list.span,
                &key,
                "must name at least one member (an extension number or an E.164 number)",
            );
        }
        for item in &list.value {
            let member = match member(item.value, context.extension_numbers) {
                Ok(member) => member,
                Err(message) => {
                    ld.error(&item.span, &key, message);
                    continue;
                }
            };
            if members.contains(&member) {
                ld.error(
                    &item.span,
                    &key,
                    format!("`{}` is listed twice", item.value),
                );
            } else {
                members.push(member);
            }
        }
    }
    let ring_secs = section
        .u32_at_least(ld, "ring_secs", 1)
        .map_or(DEFAULT_RING_SECS, |r| r.value);
    let skip_busy = section.boolean(ld, "skip_busy").is_none_or(|s| s.value);
    let present_caller = section
        .boolean(ld, "present_caller")
        .is_some_and(|p| p.value);
    let class = section.string(ld, "class").map(|class| {
        if !context.class_names.iter().any(|c| c == class.value) {
            let names: Vec<&str> = context.class_names.iter().map(String::as_str).collect();
            ld.error(
                &class.span,
                &section.key("class"),
                no_such(
                    &format!("class of service named `{}`", class.value),
                    "[[class]]",
                    "classes",
                    &names,
                    class.value,
                    str::to_owned,
                ),
            );
        }
        class.value.to_owned()
    });
    let this = name.map(|n| Destination::Group(n.value.clone()));
    let escalation = escalation(ld, section, references, this.as_ref());
    (ld.error_count() == errors_before).then(|| RingGroup {
        name: String::new(),
        strategy,
        members,
        ring_secs,
        skip_busy,
        present_caller,
        class,
        escalation,
    })
}

/// `201` (an extension that exists) or `+447400123456` (an outside number).
fn member(text: &str, extension_numbers: &[String]) -> Result<Member, String> {
    if text.starts_with('+') {
        check_e164(text)?;
        return Ok(Member::External(text.to_owned()));
    }
    if check_number(text).is_err() {
        return Err(format!(
            "`{text}` is not a member: write an extension number (201) or an E.164 number \
             (+447400123456)"
        ));
    }
    if !extension_numbers.iter().any(|n| n == text) {
        let numbers: Vec<&str> = extension_numbers.iter().map(String::as_str).collect();
        return Err(no_such(
            &format!("extension numbered `{text}`"),
            "[[extension]]",
            "extensions",
            &numbers,
            text,
            str::to_owned,
        ));
    }
    Ok(Member::Extension(text.to_owned()))
}
