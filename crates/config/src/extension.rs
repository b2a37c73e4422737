//! `[[extension]]`: the phones (users) that register to crossbar and the secrets they use.

use std::fmt;

use toml::de::DeValue;

use crate::destination::{Destination, ESCALATION_KEYS, References, escalation};
use crate::load::{At, Loader, Section, closest, table_array};
use crate::number::check_e164;

pub(crate) const KEYS: &[&str] = &[
    "number",
    "username",
    "name",
    "secret",
    "class",
    "external_number",
    "withhold_caller_id",
    "email",
    "max_contacts",
    ESCALATION_KEYS[0],
    ESCALATION_KEYS[1],
    ESCALATION_KEYS[2],
    ESCALATION_KEYS[3],
];

/// Longest SIP username.
pub const MAX_USERNAME_LEN: usize = 64;

/// Digest secrets shorter than this are rejected, unless `[auth] min_secret_length` says
/// otherwise.
///
/// A registered extension can place calls, and SIP digest secrets are guessed online by
/// scanners within hours of a PBX being reachable; short secrets are the classic way into toll
/// fraud. Eight characters is a floor, not a recommendation: use long random secrets.
pub const MIN_SECRET_LEN: usize = 8;

/// Longest extension number (E.164 allows 15 digits).
pub const MAX_NUMBER_LEN: usize = 15;

/// One `[[extension]]`: a user that phones register as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// 1–15 ASCII digits, unique in the file.
    pub number: String,
    /// The SIP user name the phone registers and authenticates as (the user part of its
    /// address-of-record and the digest `username`): the number unless set, e.g. `user0001`
    /// for a phone provisioned with a name. Unique among every extension's numbers and
    /// usernames.
    pub username: String,
    /// Display name.
    pub name: Option<String>,
    /// SIP digest secret: at least [`MIN_SECRET_LEN`] characters, not equal to `number`.
    pub secret: Secret,
    /// Class of service (dialling rights): the name of a `[[class]]`. Without one the
    /// extension may dial only internal and emergency numbers.
    pub class: Option<String>,
    /// The extension's own external number (E.164), presented as caller ID on outbound calls
    /// before the route's and the trunk's.
    pub external_number: Option<String>,
    /// Withhold the caller ID on every outbound call (`Privacy: id`, anonymous `From`).
    pub withhold_caller_id: bool,
    /// Address for voicemail-to-email; shape-checked (`local@domain.tld`).
    pub email: Option<String>,
    /// Bindings kept for this extension: its own `max_contacts`, else `[registrar]`'s.
    pub max_contacts: u32,
    /// Where a call to it goes when nobody answers, it is busy, or nothing is registered
    /// (`no_answer_secs`, `on_no_answer`, `on_busy`, `on_unavailable`). Not used when it is
    /// rung as a member of a ring group: the group's own escalation applies.
    pub escalation: crate::Escalation,
}

/// A SIP digest secret. `Debug` and `Display` do not show it, so a logged `Config` does not
/// leak credentials; use [`Secret::expose`] where the value is needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Every `[[extension]]`, and each number and user name written, with where.
pub(crate) struct Extensions {
    /// The extensions that are entirely valid (the caller discards everything if any problem
    /// was recorded).
    pub extensions: Vec<Extension>,
    /// Every valid number and user name, each once.
    pub identities: Vec<At<String>>,
    /// Every valid number, each once.
    pub numbers: Vec<String>,
}

/// What an extension is checked against: the registrar's default, the secret policy and the
/// classes of service that exist.
pub(crate) struct ExtensionContext<'c> {
    pub default_max_contacts: u32,
    pub min_secret_len: usize,
    /// Names of every `[[class]]` with a valid name.
    pub class_names: &'c [String],
}

/// Parses every `[[extension]]` table; problems are recorded in `ld`.
pub(crate) fn parse_all(
    ld: &mut Loader<'_>,
    value: &toml::Spanned<DeValue<'_>>,
    context: &ExtensionContext<'_>,
    references: &mut References,
) -> Extensions {
    let sections = table_array(ld, "extension", value);
    let mut extensions = Vec::with_capacity(sections.len());
    // Each number and username seen so far, with where it was written: a phone's user name
    // must name one extension only.
    let mut seen: Vec<At<String>> = Vec::with_capacity(sections.len());
    let mut numbers: Vec<String> = Vec::with_capacity(sections.len());
    for section in sections {
        let (number, username, extension) = parse_one(ld, &section, context, references);
        if let Some(number) = &number
            && !numbers.contains(&number.value)
        {
            numbers.push(number.value.clone());
        }
        // A username equal to the extension's own number names nothing new.
        let username = username.filter(|u| number.as_ref().is_none_or(|n| n.value != u.value));
        for (key, identity) in [("number", number), ("username", username)] {
            let Some(identity) = identity else { continue };
            if let Some(first) = seen.iter().find(|s| s.value == identity.value) {
                let (first_line, _) = ld.position(first.span.start);
                let what = if key == "number" {
                    "duplicate extension number"
                } else {
                    "duplicate username"
                };
                ld.error(
                    &identity.span,
                    &section.key(key),
                    format!(
                        "{what} `{}`: already used at line {first_line}",
                        identity.value
                    ),
                );
            } else {
                seen.push(identity);
            }
        }
        extensions.extend(extension);
    }
    Extensions {
        extensions,
        identities: seen,
        numbers,
    }
}

/// Returns the number and the username when set (if valid, for the duplicate check) and the
/// extension (if all valid).
fn parse_one(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    context: &ExtensionContext<'_>,
    references: &mut References,
) -> (Option<At<String>>, Option<At<String>>, Option<Extension>) {
    let min_secret_len = context.min_secret_len;
    let errors_before = ld.error_count();
    section.reject_unknown_keys(ld, KEYS);

    section.require(ld, "number");
    let number = section
        .string(ld, "number")
        .and_then(|n| match check_number(n.value) {
            Ok(()) => Some(At {
                value: n.value.to_owned(),
                span: n.span,
            }),
            Err(message) => {
                ld.error(&n.span, &section.key("number"), message);
                None
            }
        });

    let username = section
        .string(ld, "username")
        .and_then(|u| match check_username(u.value) {
            Ok(()) => Some(At {
                value: u.value.to_owned(),
                span: u.span,
            }),
            Err(message) => {
                ld.error(&u.span, &section.key("username"), message);
                None
            }
        });

    section.require(ld, "secret");
    let secret = section.string(ld, "secret").and_then(|s| {
        let problem = if s.value.is_empty() {
            Some("must not be empty".to_owned())
        } else if s.value.chars().count() < min_secret_len {
            Some(format!(
                "too short: a digest secret needs at least {min_secret_len} characters \
                 (short secrets are guessed by SIP scanners and lead to toll fraud)"
            ))
        } else if number.as_ref().is_some_and(|n| n.value == s.value) {
            Some("must not be the same as the extension number".to_owned())
        } else if s.value.chars().any(char::is_control) {
            Some("must not contain control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(message) => {
                ld.error(&s.span, &section.key("secret"), message);
                None
            }
            None => Some(Secret::new(s.value)),
        }
    });

    let name = optional_text(ld, section, "name");
    let class = section.string(ld, "class").map(|class| {
        if !context.class_names.iter().any(|c| c == class.value) {
            let names: Vec<&str> = context.class_names.iter().map(String::as_str).collect();
            let mut message = if names.is_empty() {
                format!(
                    "no class of service named `{}`: there is no [[class]]",
                    class.value
                )
            } else {
                format!(
                    "no class of service named `{}`; classes: {}",
                    class.value,
                    names.join(", ")
                )
            };
            if let Some(suggestion) = closest(class.value, &names) {
                message.push_str(&format!(" (did you mean `{suggestion}`?)"));
            }
            ld.error(&class.span, &section.key("class"), message);
        }
        class.value.to_owned()
    });
    let external_number = section.string(ld, "external_number").map(|n| {
        if let Err(message) = check_e164(n.value) {
            ld.error(&n.span, &section.key("external_number"), message);
        }
        n.value.to_owned()
    });
    let withhold_caller_id = section
        .boolean(ld, "withhold_caller_id")
        .is_some_and(|w| w.value);
    let email = section.string(ld, "email").map(|e| {
        if let Err(message) = check_email(e.value) {
            ld.error(&e.span, &section.key("email"), message);
        }
        e.value.to_owned()
    });
    let max_contacts = section
        .u32_at_least(ld, "max_contacts", 1)
        .map_or(context.default_max_contacts, |m| m.value);
    let this = number
        .as_ref()
        .map(|n| Destination::Extension(n.value.clone()));
    let escalation = escalation(ld, section, references, this.as_ref());

    let extension = match (&number, secret) {
        (Some(number), Some(secret)) if ld.error_count() == errors_before => Some(Extension {
            number: number.value.clone(),
            username: username
                .as_ref()
                .map_or_else(|| number.value.clone(), |u| u.value.clone()),
            name,
            secret,
            class,
            external_number,
            withhold_caller_id,
            email,
            max_contacts,
            escalation,
        }),
        _ => None,
    };
    (number, username, extension)
}

/// An optional free-text value: non-empty, no control characters (it ends up in SIP headers).
fn optional_text(ld: &mut Loader<'_>, section: &Section<'_, '_>, key: &str) -> Option<String> {
    let text = section.string(ld, key)?;
    if text.value.trim().is_empty() {
        ld.error(
            &text.span,
            &section.key(key),
            "must not be empty (leave the key out instead)",
        );
    } else if text.value.chars().any(char::is_control) {
        ld.error(
            &text.span,
            &section.key(key),
            "must not contain control characters",
        );
    }
    Some(text.value.to_owned())
}

pub(crate) fn check_number(number: &str) -> Result<(), String> {
    if number.is_empty() {
        Err("must not be empty".to_owned())
    } else if !number.bytes().all(|b| b.is_ascii_digit()) {
        Err(format!(
            "`{number}` is not an extension number: use digits 0-9 only"
        ))
    } else if number.len() > MAX_NUMBER_LEN {
        Err(format!(
            "`{number}` is too long: at most {MAX_NUMBER_LEN} digits"
        ))
    } else {
        Ok(())
    }
}

/// A SIP user name: the unescaped characters RFC 3261 §25.1 allows in `user` that need no
/// quoting anywhere (letters, digits, `-_.!~*'()+`), 1–64 of them.
fn check_username(username: &str) -> Result<(), String> {
    if username.is_empty() {
        Err("must not be empty (leave the key out to use the number)".to_owned())
    } else if username.len() > MAX_USERNAME_LEN {
        Err(format!("too long: at most {MAX_USERNAME_LEN} characters"))
    } else if let Some(bad) = username
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.!~*'()+".contains(*c)))
    {
        Err(format!(
            "`{username}` contains `{bad}`: use letters, digits and -_.!~*'()+ only"
        ))
    } else {
        Ok(())
    }
}

/// The shape of an address: `local@domain` with a dotted domain, no spaces, one `@`.
/// (Deliverability is the mail server's business.)
fn check_email(email: &str) -> Result<(), String> {
    let invalid = || format!("`{email}` is not an email address (e.g. alice@example.com)");
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_graphic() && !"@()<>[]:;,\\\"".contains(c)
            } else {
                !c.is_control() && !c.is_whitespace()
            }
        });
    let domain_ok = domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for ok in [
            "alice@example.com",
            "a.b+pbx@mail.example.co.uk",
            "zoë@exämple.de",
        ] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for bad in [
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "al ice@example.com",
            "alice@exa_mple.com",
            "alice@example..com",
            ".alice@example.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_one_to_fifteen_digits() {
        assert!(check_number("201").is_ok());
        assert!(check_number("123456789012345").is_ok());
        assert!(check_number("1234567890123456").is_err());
        assert!(check_number("20a").is_err());
        assert!(check_number("").is_err());
        assert!(check_number("+201").is_err());
    }

    #[test]
    fn usernames_are_sip_user_characters() {
        assert!(check_username("user0001").is_ok());
        assert!(check_username("alice.smith-2").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("al ice").is_err());
        assert!(check_username("alice@pbx").is_err());
        assert!(check_username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2hunter2")),
            "Secret(***)"
        );
    }
}
