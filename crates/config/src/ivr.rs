//! `[[ivr]]`: menus — a prompt, and where each key takes the caller.

use toml::Spanned;
use toml::de::DeValue;

use crate::destination::{Destination, References};
use crate::inbound::Ivr;
use crate::load::{At, Loader, Section, table_array, unique};
use crate::prompts::{PromptUse, prompt_ref};

pub(crate) const KEYS: &[&str] = &[
    "name",
    "number",
    "prompt",
    "options",
    "direct_dial",
    "timeout_secs",
    "digit_timeout_secs",
    "retries",
    "invalid_prompt",
    "timeout_prompt",
    "on_failure",
];

/// The keys of the phone's keypad: what a menu option or a queue's breakout may be for.
pub(crate) const KEYPAD: &str = "0123456789*#";

const DEFAULT_TIMEOUT_SECS: u32 = 5;
const DEFAULT_DIGIT_TIMEOUT_SECS: u32 = 3;
const DEFAULT_RETRIES: u32 = 2;

/// Every `[[ivr]]`, the names of all of them whose name is valid, every prompt they name, and
/// every valid `number`.
pub(crate) struct Ivrs {
    pub ivrs: Vec<Ivr>,
    pub names: Vec<String>,
    pub prompts: Vec<PromptUse>,
    pub numbers: Vec<At<String>>,
}

pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &Spanned<DeValue<'_>>,
    references: &mut References,
    extension_identities: &[At<String>],
) -> Ivrs {
    let mut parsed = Ivrs {
        ivrs: Vec::new(),
        names: Vec::new(),
        prompts: Vec::new(),
        numbers: Vec::new(),
    };
    let mut seen: Vec<At<String>> = Vec::new();
    let mut numbers: Vec<At<String>> = Vec::new();
    for section in table_array(ld, "ivr", value) {
        let errors_before = ld.error_count();
        let name = section.name(ld);
        if let Some(name) = &name {
            unique(
                ld,
                &mut seen,
                name.clone(),
                &section.key("name"),
                "menu name",
            );
        }
        let number = internal_number(ld, &section, extension_identities, &mut numbers);
        let ivr = parse_one(ld, &section, references, &mut parsed.prompts);
        if let (Some(name), Some(mut ivr)) = (name, ivr)
            && ld.error_count() == errors_before
        {
            ivr.name = name.value;
            ivr.number = number;
            parsed.ivrs.push(ivr);
        }
    }
    parsed.names = seen.into_iter().map(|s| s.value).collect();
    parsed.numbers = numbers;
    parsed
}

/// `number`: what phones dial to reach the menu — digits (and `*`, `#`), at most 15, no
/// extension's number or user name, no other menu's number.
fn internal_number(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    extension_identities: &[At<String>],
    numbers: &mut Vec<At<String>>,
) -> Option<String> {
    let number = section.string(ld, "number")?;
    let key = section.key("number");
    let valid = !number.value.is_empty()
        && number.value.len() <= 15
        && number
            .value
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    if !valid {
        ld.error(
            &number.span,
            &key,
            format!(
                "`{}` is not a number a phone can dial: digits, * and #, at most 15",
                number.value
            ),
        );
        return None;
    }
    if extension_identities.iter().any(|e| e.value == number.value) {
        ld.error(
            &number.span,
            &key,
            format!(
                "{} is an extension's number or user name already: a menu needs a number of \
                 its own",
                number.value
            ),
        );
        return None;
    }
    unique(
        ld,
        numbers,
        At {
            value: number.value.to_owned(),
            span: number.span.clone(),
        },
        &key,
        "menu number",
    );
    Some(number.value.to_owned())
}

fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    references: &mut References,
    prompts: &mut Vec<PromptUse>,
) -> Option<Ivr> {
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);
    let mut prompt = |ld: &mut Loader<'_>, key: &str| {
        let prompt = prompt_ref(ld, section, key)?;
        prompts.push(PromptUse {
            prompt: prompt.value.clone(),
            span: prompt.span,
            key: section.key(key),
        });
        Some(prompt.value)
    };
    section.require(ld, "prompt");
    let main_prompt = prompt(ld, "prompt");
    let invalid_prompt = prompt(ld, "invalid_prompt");
    let timeout_prompt = prompt(ld, "timeout_prompt");

    let options = keypad_destinations(
        ld,
        section,
        "options",
        references,
        "an option is for one of 0-9, * and # (\"1\" = \"group:sales\")",
    );
    let direct_dial = section.boolean(ld, "direct_dial");
    let timeout_secs = section
        .u32_at_least(ld, "timeout_secs", 1)
        .map_or(DEFAULT_TIMEOUT_SECS, |t| t.value);
    let digit_timeout_secs = section
        .u32_at_least(ld, "digit_timeout_secs", 1)
        .map_or(DEFAULT_DIGIT_TIMEOUT_SECS, |t| t.value);
    let retries = section
        .u32_at_least(ld, "retries", 0)
        .map_or(DEFAULT_RETRIES, |r| r.value);
    let on_failure = references
        .read(ld, section, "on_failure", None)
        .unwrap_or(Destination::Hangup);
    let direct_dial = direct_dial.is_some_and(|d| d.value);
    if ld.error_count() == errors_before && options.is_empty() && !direct_dial {
        let (span, what) = match section.value("options") {
            Some(value) => (value.span(), "`options` is empty"),
            None => (section.header.clone(), "the menu has no `options`"),
        };
        ld.error(
            &span,
            &section.key("options"),
            format!(
                "{what} and direct_dial is off, so no key takes the caller anywhere: add \
                 options (options = {{ \"1\" = \"group:sales\" }}) or set direct_dial = true"
            ),
        );
    }
    let prompt = main_prompt?;
    (ld.error_count() == errors_before).then(|| Ivr {
        name: String::new(),
        number: None,
        prompt,
        options,
        direct_dial,
        timeout_secs,
        digit_timeout_secs,
        retries,
        invalid_prompt,
        timeout_prompt,
        on_failure,
    })
}

/// The table `key = { "1" = "group:sales", ... }` of `section`: a destination for each key of
/// the keypad, in file order (empty if absent). A key that is not one of the keypad's is
/// reported with `rule`.
pub(crate) fn keypad_destinations(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    key: &str,
    references: &mut References,
    rule: &str,
) -> Vec<(char, Destination)> {
    // With where each key is written: the entries keep the order of the file.
    let mut entries: Vec<(usize, char, Destination)> = Vec::new();
    if let Some(table) = section.table(ld, key) {
        for (key, value) in table.entries() {
            let path = table.key(key.value);
            let mut chars = key.value.chars();
            let digit = match (chars.next(), chars.next()) {
                (Some(c), None) if KEYPAD.contains(c) => Some(c),
                _ => {
                    ld.error(
                        &key.span,
                        &path,
                        format!("`{}` is not a key of the phone's keypad: {rule}", key.value),
                    );
                    None
                }
            };
            let destination = references.read_value(ld, value, &path, None);
            if let (Some(digit), Some(destination)) = (digit, destination) {
                entries.push((key.span.start, digit, destination));
            }
        }
    }
    entries.sort_by_key(|(at, _, _)| *at);
    entries
        .into_iter()
        .map(|(_, digit, destination)| (digit, destination))
        .collect()
}
