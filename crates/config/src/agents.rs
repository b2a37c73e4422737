//! `[agents]`: the feature codes queue agents dial from their phones — log in, log out, pause
//! (with a reason digit) and resume — and the pause reasons those digits stand for.

use crate::load::{At, Loader, Section, Span, check_name};

pub(crate) const KEYS: &[&str] = &[
    "login_code",
    "logout_code",
    "pause_code",
    "unpause_code",
    "pause_reasons",
];

/// The `[agents]` section, with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agents {
    /// Dialled by an agent's phone to log in to every queue the extension is a member of
    /// (default `*45`).
    pub login_code: String,
    /// Dialled to log out of every queue (default `*46`).
    pub logout_code: String,
    /// Dialled to pause (no calls offered), alone or followed by one digit of
    /// `pause_reasons` (`*471`: paused for reason `1`) (default `*47`).
    pub pause_code: String,
    /// Dialled to end a pause (default `*48`).
    pub unpause_code: String,
    /// The reason each digit dialled after `pause_code` stands for, in file order: names that
    /// reports and the API show (`lunch`, `training`). Empty by default: pauses have no reason.
    pub pause_reasons: Vec<(char, String)>,
}

impl Agents {
    /// The reason digit `digit` stands for.
    pub fn pause_reason(&self, digit: char) -> Option<&str> {
        self.pause_reasons
            .iter()
            .find(|(d, _)| *d == digit)
            .map(|(_, reason)| reason.as_str())
    }
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            login_code: "*45".to_owned(),
            logout_code: "*46".to_owned(),
            pause_code: "*47".to_owned(),
            unpause_code: "*48".to_owned(),
            pause_reasons: Vec::new(),
        }
    }
}

/// Longest feature code: `*` or `#` and at most this many digits.
const MAX_CODE_DIGITS: usize = 6;

/// The codes as written (`None`: not written, the default applies), for the checks against
/// the rest of the file.
pub(crate) struct AgentsRefs {
    codes: Vec<(&'static str, Option<Span>)>,
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> (Agents, AgentsRefs) {
    section.reject_unknown_keys(ld, KEYS);
    let mut agents = Agents::default();
    let mut refs = AgentsRefs { codes: Vec::new() };
    for key in ["login_code", "logout_code", "pause_code", "unpause_code"] {
        let written = section
            .string(ld, key)
            .and_then(|code| match check_code(code.value) {
                Ok(()) => Some(code),
                Err(message) => {
                    ld.error(&code.span, &section.key(key), message);
                    None
                }
            });
        let span = written.as_ref().map(|code| code.span.clone());
        if let Some(code) = written {
            let field = match key {
                "login_code" => &mut agents.login_code,
                "logout_code" => &mut agents.logout_code,
                "pause_code" => &mut agents.pause_code,
                _ => &mut agents.unpause_code,
            };
            *field = code.value.to_owned();
        }
        refs.codes.push((key, span));
    }
    check_codes_apart(ld, section, &agents, &refs);
    agents.pause_reasons = pause_reasons(ld, section);
    (agents, refs)
}

/// `*45`, `#9`: `*` or `#`, then 1 to 6 digits. Codes start with a key no extension number or
/// emergency number starts with, so they never shadow one.
fn check_code(code: &str) -> Result<(), String> {
    let digits = code.strip_prefix(['*', '#']);
    let valid = digits.is_some_and(|digits| {
        (1..=MAX_CODE_DIGITS).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{code}` is not a feature code: `*` or `#`, then 1 to {MAX_CODE_DIGITS} digits \
             (e.g. \"*45\")"
        ))
    }
}

/// The four codes must differ, and none may start with another: the pause code followed by a
/// digit is a pause with a reason, and phones that match dialled digits against a digit map
/// stop at the shorter code.
fn check_codes_apart(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    agents: &Agents,
    refs: &AgentsRefs,
) {
    let codes = [
        ("login_code", agents.login_code.as_str()),
        ("logout_code", agents.logout_code.as_str()),
        ("pause_code", agents.pause_code.as_str()),
        ("unpause_code", agents.unpause_code.as_str()),
    ];
    for (index, (key, code)) in codes.iter().enumerate() {
        // Reported at the later of two clashing codes that is written in the file.
        let Some(span) = refs.span(key) else {
            continue;
        };
        let clash = codes
            .iter()
            .enumerate()
            .find(|(other, (other_key, other_code))| {
                *other != index
                    && (code.starts_with(other_code) || other_code.starts_with(code))
                    && (*other < index || refs.span(other_key).is_none())
            });
        if let Some((_, (other_key, other_code))) = clash {
            let how = if code == other_code {
                "is also".to_owned()
            } else if code.starts_with(other_code) {
                "starts with".to_owned()
            } else {
                "is the start of".to_owned()
            };
            let default = if refs.span(other_key).is_none() {
                " (its default)"
            } else {
                ""
            };
            ld.error(
                &span,
                &section.key(key),
                format!(
                    "`{code}` {how} the {other_key} `{other_code}`{default}: each feature code \
                     must differ from the others and not start with another"
                ),
            );
        }
    }
}

impl AgentsRefs {
    fn span(&self, key: &str) -> Option<Span> {
        self.codes
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, span)| span.clone())
    }
}

/// `pause_reasons = { "1" = "lunch", "2" = "training" }`: one digit each, a name each, no name
/// twice; in file order.
fn pause_reasons(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Vec<(char, String)> {
    let Some(table) = section.table(ld, "pause_reasons") else {
        return Vec::new();
    };
    let mut reasons: Vec<(usize, char, String)> = Vec::new();
    let mut seen: Vec<At<String>> = Vec::new();
    for (key, value) in table.entries() {
        let path = table.key(key.value);
        let mut chars = key.value.chars();
        let digit = match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_digit() => Some(c),
            _ => {
                ld.error(
                    &key.span,
                    &path,
                    format!(
                        "`{}` is not a reason digit: a pause reason is for one digit 0-9, dialled \
                         after the pause code (\"1\" = \"lunch\")",
                        key.value
                    ),
                );
                None
            }
        };
        let reason = match value.get_ref() {
            toml::de::DeValue::String(text) => match check_name(text) {
                Ok(()) => {
                    let line = seen
                        .iter()
                        .find(|s| s.value == text.as_ref())
                        .map(|first| ld.position(first.span.start).0);
                    match line {
                        Some(line) => {
                            ld.error(
                                &value.span(),
                                &path,
                                format!(
                                    "the reason `{text}` is already given to another digit \
                                     (line {line}): one digit per reason"
                                ),
                            );
                            None
                        }
                        None => {
                            seen.push(At {
                                value: text.to_string(),
                                span: value.span(),
                            });
                            Some(text.to_string())
                        }
                    }
                }
                Err(problem) => {
                    ld.error(
                        &value.span(),
                        &path,
                        format!("`{text}` is not a reason name: the name {problem}"),
                    );
                    None
                }
            },
            other => {
                ld.error(
                    &value.span(),
                    &path,
                    crate::load::expected("a reason name (e.g. \"lunch\")", other),
                );
                None
            }
        };
        if let (Some(digit), Some(reason)) = (digit, reason) {
            reasons.push((key.span.start, digit, reason));
        }
    }
    reasons.sort_by_key(|(at, _, _)| *at);
    reasons
        .into_iter()
        .map(|(_, digit, reason)| (digit, reason))
        .collect()
}

/// What the feature codes must not collide with.
pub(crate) struct AgentsContext<'c> {
    /// Every extension number and user name.
    pub extension_identities: &'c [At<String>],
    /// Every menu's `number`.
    pub menu_numbers: &'c [At<String>],
    /// `[site] outside_line` and `privacy_prefix`, as written: prefixes of dialled numbers.
    pub prefixes: &'c [(&'static str, &'c At<String>)],
}

/// Reports codes that a phone could not dial apart from an extension, a menu's number, or a
/// number with the outside-line or privacy prefix.
pub(crate) fn check(
    ld: &mut Loader<'_>,
    agents: &Agents,
    refs: &AgentsRefs,
    context: &AgentsContext<'_>,
) {
    let codes = [
        ("login_code", agents.login_code.as_str()),
        ("logout_code", agents.logout_code.as_str()),
        ("pause_code", agents.pause_code.as_str()),
        ("unpause_code", agents.unpause_code.as_str()),
    ];
    for (key, code) in codes {
        let written = refs.span(key);
        let is_pause = key == "pause_code";
        // A number dialled exactly: the same as the code, or (for the pause code) the code and
        // one digit.
        let shadows = |number: &str| {
            number == code
                || (is_pause
                    && number.len() == code.len() + 1
                    && number.starts_with(code)
                    && number.ends_with(|c: char| c.is_ascii_digit()))
        };
        let mut clashes: Vec<(String, &At<String>)> = Vec::new();
        for identity in context.extension_identities {
            if shadows(&identity.value) {
                clashes.push(("an extension's number or user name".to_owned(), identity));
            }
        }
        for number in context.menu_numbers {
            if shadows(&number.value) {
                clashes.push(("a menu's number".to_owned(), number));
            }
        }
        for (prefix_key, prefix) in context.prefixes {
            if code.starts_with(prefix.value.as_str()) || prefix.value.starts_with(code) {
                clashes.push((format!("[site] {prefix_key}"), prefix));
            }
        }
        for (what, other) in clashes {
            let line = ld.position(other.span.start).0;
            let message = format!(
                "[agents] {key} `{code}`{} and {what} `{}` (line {line}) could not be dialled \
                 apart: give one of them another value",
                if written.is_none() {
                    " (the default)"
                } else {
                    ""
                },
                other.value
            );
            // At the code when it is written; else (a default) at the other value, which is.
            let span = written.as_ref().unwrap_or(&other.span);
            ld.error(span, &format!("agents.{key}"), message);
        }
    }
}
