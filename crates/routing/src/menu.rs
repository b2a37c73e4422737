//! Menus (`[[ivr]]`): what the keys a caller pressed choose. The live switch feeds the keys of
//! a real call to [`IvrPlan::choose`] one by one, and `crossbar route explain` the keys it is
//! given, so both make the same choice.
//!
//! A single key that is an option chooses it. In a menu with direct dial, the keys may also
//! spell an extension's number; when a key is an option and also starts an extension's number
//! (option `2`, extension `201`), or a number is an extension and starts a longer one (`20`
//! and `201`), the menu waits for more keys for `digit_timeout_secs`, then decides with what
//! it has ([`IvrPlan::choose_complete`]); `#` after a number ends it at once. Anything else is
//! invalid: the menu says so (`invalid_prompt`), replays, and after `retries` replays (invalid
//! keys and timeouts counted together) sends the caller to `on_failure`
//! ([`IvrPlan::after_failure`]).

use std::sync::Arc;

use crossbar_config::{Destination, Ivr, PromptRef};

/// What the keys pressed so far choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// An option of the menu: go there ([`crate::DialPlan::resolve`] it).
    Destination(Destination),
    /// Direct dial: ring this extension.
    Extension(String),
    /// Neither an option nor an extension: say so and replay (or give up).
    Invalid,
    /// More keys could still choose something else: wait `digit_timeout_secs` for the next,
    /// then [`IvrPlan::choose_complete`].
    NeedMore,
}

/// A `[[ivr]]` menu compiled.
#[derive(Debug, Clone)]
pub struct IvrPlan {
    pub name: String,
    /// Played on entry and on each replay.
    pub prompt: PromptRef,
    /// Whether the keys may spell an extension's number.
    pub direct_dial: bool,
    /// Seconds to wait for a first key after the prompt ends.
    pub timeout_secs: u32,
    /// Seconds to wait for the next key of a number (direct dial).
    pub digit_timeout_secs: u32,
    /// Replays after a timeout or an invalid key before `on_failure`.
    pub retries: u32,
    pub invalid_prompt: Option<PromptRef>,
    pub timeout_prompt: Option<PromptRef>,
    pub on_failure: Destination,
    options: Vec<(char, Destination)>,
    /// Every extension's number, sorted (shared by the plan's menus).
    extensions: Arc<[String]>,
}

impl IvrPlan {
    pub(crate) fn compile(ivr: &Ivr, extensions: Arc<[String]>) -> IvrPlan {
        IvrPlan {
            name: ivr.name.clone(),
            prompt: ivr.prompt.clone(),
            direct_dial: ivr.direct_dial,
            timeout_secs: ivr.timeout_secs,
            digit_timeout_secs: ivr.digit_timeout_secs,
            retries: ivr.retries,
            invalid_prompt: ivr.invalid_prompt.clone(),
            timeout_prompt: ivr.timeout_prompt.clone(),
            on_failure: ivr.on_failure.clone(),
            options: ivr.options.clone(),
            extensions,
        }
    }

    /// The options, as configured: key → destination.
    pub fn options(&self) -> &[(char, Destination)] {
        &self.options
    }

    /// Where `key` takes the caller, if it is an option.
    pub fn option(&self, key: char) -> Option<&Destination> {
        self.options
            .iter()
            .find_map(|(k, destination)| (*k == key).then_some(destination))
    }

    /// What `keys` (every key pressed since the prompt started or was last replayed) choose,
    /// with more keys possibly to come.
    pub fn choose(&self, keys: &str) -> Choice {
        let mut chars = keys.chars();
        let Some(first) = chars.next() else {
            return Choice::NeedMore;
        };
        let single = chars.next().is_none();
        if single && let Some(destination) = self.option(first) {
            if self.direct_dial && self.starts_longer_extension(keys) {
                return Choice::NeedMore;
            }
            return Choice::Destination(destination.clone());
        }
        if !self.direct_dial {
            return Choice::Invalid;
        }
        if !single && let Some(number) = keys.strip_suffix('#') {
            return self.choose_complete(number);
        }
        if self.starts_longer_extension(keys) {
            Choice::NeedMore
        } else if self.is_extension(keys) {
            Choice::Extension(keys.to_owned())
        } else {
            Choice::Invalid
        }
    }

    /// What `keys` choose when no more keys come (the digit timeout passed, or `#` ended a
    /// number): a single key that is an option, else (direct dial) an extension's number,
    /// else invalid. No keys at all is a timeout, for the caller to count as a failure; this
    /// answers [`Choice::Invalid`] for it.
    pub fn choose_complete(&self, keys: &str) -> Choice {
        let mut chars = keys.chars();
        if let (Some(key), None) = (chars.next(), chars.next())
            && let Some(destination) = self.option(key)
        {
            return Choice::Destination(destination.clone());
        }
        if self.direct_dial && self.is_extension(keys) {
            return Choice::Extension(keys.to_owned());
        }
        Choice::Invalid
    }

    /// After the `failures`th invalid choice or timeout since the caller entered the menu:
    /// `None` to replay the menu (after `invalid_prompt` or `timeout_prompt`), or where the
    /// caller goes when the retries are used up.
    pub fn after_failure(&self, failures: u32) -> Option<&Destination> {
        (failures > self.retries).then_some(&self.on_failure)
    }

    fn is_extension(&self, keys: &str) -> bool {
        !keys.is_empty()
            && self
                .extensions
                .binary_search_by(|e| e.as_str().cmp(keys))
                .is_ok()
    }

    /// Whether an extension's number starts with `keys` and is longer.
    fn starts_longer_extension(&self, keys: &str) -> bool {
        let from = self.extensions.partition_point(|e| e.as_str() <= keys);
        self.extensions
            .get(from)
            .is_some_and(|e| e.starts_with(keys) && e.len() > keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu(direct_dial: bool, extensions: &[&str]) -> IvrPlan {
        let mut numbers: Vec<String> = extensions.iter().map(|e| (*e).to_owned()).collect();
        numbers.sort();
        IvrPlan {
            name: "main".to_owned(),
            prompt: PromptRef::Named("main".to_owned()),
            direct_dial,
            timeout_secs: 5,
            digit_timeout_secs: 3,
            retries: 2,
            invalid_prompt: None,
            timeout_prompt: None,
            on_failure: Destination::Hangup,
            options: vec![
                ('1', Destination::Group("sales".to_owned())),
                ('2', Destination::Ivr("support".to_owned())),
            ],
            extensions: numbers.into(),
        }
    }

    #[test]
    fn a_longer_extension_is_found_among_sorted_numbers() {
        let menu = menu(true, &["2", "201", "21", "3000"]);
        assert!(menu.starts_longer_extension("2"));
        assert!(menu.starts_longer_extension("20"));
        assert!(!menu.starts_longer_extension("201"));
        assert!(!menu.starts_longer_extension("21"));
        assert!(menu.starts_longer_extension("3"));
        assert!(!menu.starts_longer_extension("4"));
        assert!(menu.is_extension("21"));
        assert!(!menu.is_extension(""));
    }
}
