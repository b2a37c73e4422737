//! The prompts calls may hear, loaded once: every prompt a menu names, in every language a
//! call can speak (`[prompts] default_language` and each route's `language`), plus the
//! ringback tone callers hear while crossbar rings a phone for them after a menu.
//!
//! A site with queues needs more: each queue's music on hold (its `moh`, else the prompt named
//! `moh`) and `announcement`, and the system prompts queues and agents speak (see
//! [`PromptLibrary::queue_system_prompts`]): "you are caller number" (`queue-position`) and
//! the numbers, "your estimated wait is about" (`queue-wait`) with `minutes`, `minute` or
//! `less-than-a-minute`, the callback offer and its confirmation, and what an agent's feature
//! code did (`agent-logged-in`, ...). Numbers are said in English, one prompt per word:
//! 734 is `num-7 num-hundred num-30 num-4`. A site without queues needs none of them.
//!
//! The switch never reads files: the binary loads each file [`PromptLibrary::files`] lists
//! (`crossbar_media::Prompt::from_wav`) and hands the prompts in — a file missing is an error
//! at start, as for menus; tests give synthesised ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbar_config::{Config, PromptRef, Prompts};
use crossbar_media::Prompt;

use crate::apps::queue::Announcement;

/// The prompt named `moh`: a queue's music on hold when it names none.
pub(crate) const MOH: &str = "moh";

/// The confirmation of an accepted callback offer ("we will call you back").
pub(crate) const CALLBACK_ACCEPTED: &str = "callback-accepted";

/// What an agent's feature code did.
pub(crate) const AGENT_LOGGED_IN: &str = "agent-logged-in";
pub(crate) const AGENT_LOGGED_OUT: &str = "agent-logged-out";
pub(crate) const AGENT_PAUSED: &str = "agent-paused";
pub(crate) const AGENT_AVAILABLE: &str = "agent-available";
pub(crate) const AGENT_NOT_MEMBER: &str = "agent-not-member";

/// The system prompts of queues and agents, apart from the numbers.
const QUEUE_WORDS: &[&str] = &[
    "queue-position",
    "queue-wait",
    "minutes",
    "minute",
    "less-than-a-minute",
    "callback-offer",
    CALLBACK_ACCEPTED,
    AGENT_LOGGED_IN,
    AGENT_LOGGED_OUT,
    AGENT_PAUSED,
    AGENT_AVAILABLE,
    AGENT_NOT_MEMBER,
];

#[derive(Debug)]
pub struct PromptLibrary {
    config: Prompts,
    loaded: HashMap<PathBuf, Arc<Prompt>>,
    ringback: Option<Arc<Prompt>>,
}

impl PromptLibrary {
    /// The files `config`'s menus and queues play, each once, in the order met: the menus'
    /// prompts; then, on a site with queues, each queue's music on hold and announcement and
    /// the system prompts of queues and agents — named prompts in every language a call can
    /// speak.
    pub fn files(config: &Config) -> Vec<PathBuf> {
        let mut languages = vec![config.prompts.default_language.clone()];
        for route in &config.inbound_routes {
            if let Some(language) = &route.language
                && !languages.contains(language)
            {
                languages.push(language.clone());
            }
        }
        let mut prompts: Vec<PromptRef> = Vec::new();
        for ivr in &config.ivrs {
            prompts.extend(
                std::iter::once(&ivr.prompt)
                    .chain(&ivr.invalid_prompt)
                    .chain(&ivr.timeout_prompt)
                    .cloned(),
            );
        }
        for queue in &config.queues {
            prompts.push(
                queue
                    .moh
                    .clone()
                    .unwrap_or_else(|| PromptRef::Named(MOH.to_owned())),
            );
            prompts.extend(queue.announcement.clone());
        }
        if !config.queues.is_empty() {
            let keys = config
                .queues
                .iter()
                .filter(|q| q.callback_offer_after_secs.is_some())
                .map(|q| q.callback_key);
            prompts.extend(
                PromptLibrary::queue_system_prompts(keys)
                    .into_iter()
                    .map(PromptRef::Named),
            );
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for prompt in &prompts {
            for language in &languages {
                let file = config.prompts.file(language, prompt).into_owned();
                if !files.contains(&file) {
                    files.push(file);
                }
            }
        }
        files
    }

    /// The names of the system prompts a site with queues needs: the words of announcements
    /// and of agents' feature codes, the numbers (`num-0` … `num-19`, `num-20` … `num-90`,
    /// `num-hundred`, `num-thousand`), and the prompt of each callback key that is not a digit
    /// (`key-star`, `key-pound`) among `callback_keys`.
    pub fn queue_system_prompts(callback_keys: impl IntoIterator<Item = char>) -> Vec<String> {
        let mut names: Vec<String> = QUEUE_WORDS.iter().map(|w| (*w).to_owned()).collect();
        names.extend((0..20).map(|n| format!("num-{n}")));
        names.extend((2..10).map(|n| format!("num-{}", n * 10)));
        names.push("num-hundred".to_owned());
        names.push("num-thousand".to_owned());
        for key in callback_keys {
            if let Some(name) = key_prompt(key).filter(|_| !key.is_ascii_digit())
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        names
    }

    /// A library for `config`'s prompts, each of [`PromptLibrary::files`] loaded by `load`.
    pub fn load<E>(
        config: &Config,
        mut load: impl FnMut(&Path) -> Result<Prompt, E>,
    ) -> Result<PromptLibrary, (PathBuf, E)> {
        let mut library = PromptLibrary {
            config: config.prompts.clone(),
            loaded: HashMap::new(),
            ringback: None,
        };
        for file in PromptLibrary::files(config) {
            match load(&file) {
                Ok(prompt) => {
                    library.loaded.insert(file, Arc::new(prompt));
                }
                Err(error) => return Err((file, error)),
            }
        }
        Ok(library)
    }

    /// The tone callers hear while a phone rings for them after crossbar answered them.
    pub fn set_ringback(&mut self, ringback: Prompt) {
        self.ringback = Some(Arc::new(ringback));
    }

    /// `prompt` in `language`, else in the default language.
    pub(crate) fn get(&self, language: &str, prompt: &PromptRef) -> Option<Arc<Prompt>> {
        [language, self.config.default_language.as_str()]
            .into_iter()
            .find_map(|language| self.loaded.get(self.config.file(language, prompt).as_ref()))
            .cloned()
    }

    /// The prompt named `name` in `language` (else the default language).
    pub(crate) fn named(&self, language: &str, name: &str) -> Option<Arc<Prompt>> {
        self.get(language, &PromptRef::Named(name.to_owned()))
    }

    pub(crate) fn ringback(&self) -> Option<Arc<Prompt>> {
        self.ringback.clone()
    }

    /// A queue's music on hold: its own (`moh`), else the prompt named `moh`.
    pub(crate) fn moh(&self, language: &str, moh: Option<&PromptRef>) -> Option<Arc<Prompt>> {
        match moh {
            Some(prompt) => self.get(language, prompt),
            None => self.named(language, MOH),
        }
    }

    /// What `what` says to a waiting caller, prompt by prompt, in `language`; prompts that are
    /// not loaded are left out (and logged).
    pub(crate) fn announcement(&self, language: &str, what: &[Announcement]) -> Vec<Arc<Prompt>> {
        what.iter()
            .flat_map(announcement_prompts)
            .filter_map(|prompt| {
                let found = self.get(language, &prompt);
                if found.is_none() {
                    tracing::warn!(?prompt, %language, "queue prompt not loaded");
                }
                found
            })
            .collect()
    }
}

/// The prompts that say `announcement`.
pub(crate) fn announcement_prompts(announcement: &Announcement) -> Vec<PromptRef> {
    let named = |names: Vec<String>| names.into_iter().map(PromptRef::Named).collect();
    match announcement {
        Announcement::Position(position) => {
            let mut names = vec!["queue-position".to_owned()];
            names.extend(say_number(u64::try_from(*position).unwrap_or(u64::MAX)));
            named(names)
        }
        Announcement::EstimatedWait(secs) => {
            let mut names = vec!["queue-wait".to_owned()];
            if *secs < 60 {
                names.push("less-than-a-minute".to_owned());
            } else {
                // "About": to the nearest minute.
                let minutes = (u64::from(*secs) + 30) / 60;
                names.extend(say_number(minutes));
                names.push(if minutes == 1 { "minute" } else { "minutes" }.to_owned());
            }
            named(names)
        }
        Announcement::Custom(prompt) => vec![prompt.clone()],
        Announcement::CallbackOffer { key } => {
            let mut names = vec!["callback-offer".to_owned()];
            names.extend(key_prompt(*key));
            named(names)
        }
    }
}

/// The prompt that says `key`: its number for a digit, `key-star`, `key-pound`.
fn key_prompt(key: char) -> Option<String> {
    match key {
        '0'..='9' => Some(format!("num-{key}")),
        '*' => Some("key-star".to_owned()),
        '#' => Some("key-pound".to_owned()),
        _ => None,
    }
}

/// `n` said in English, one prompt name per word: 734 → `num-7 num-hundred num-30 num-4`,
/// 2019 → `num-2 num-thousand num-19`.
pub(crate) fn say_number(n: u64) -> Vec<String> {
    let mut words = Vec::new();
    if n == 0 {
        words.push("num-0".to_owned());
        return words;
    }
    if n >= 1000 {
        words.extend(say_number(n / 1000));
        words.push("num-thousand".to_owned());
    }
    let mut rest = n % 1000;
    if rest >= 100 {
        words.push(format!("num-{}", rest / 100));
        words.push("num-hundred".to_owned());
        rest %= 100;
    }
    if rest == 0 {
        return words;
    }
    if rest < 20 {
        words.push(format!("num-{rest}"));
    } else {
        words.push(format!("num-{}", rest / 10 * 10));
        if !rest.is_multiple_of(10) {
            words.push(format!("num-{}", rest % 10));
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prompts: &[PromptRef]) -> Vec<String> {
        prompts
            .iter()
            .map(|p| match p {
                PromptRef::Named(name) => name.clone(),
                PromptRef::File(path) => path.display().to_string(),
            })
            .collect()
    }

    #[test]
    fn numbers_are_said_one_english_word_per_prompt() {
        assert_eq!(say_number(0), ["num-0"]);
        assert_eq!(say_number(7), ["num-7"]);
        assert_eq!(say_number(13), ["num-13"]);
        assert_eq!(say_number(40), ["num-40"]);
        assert_eq!(say_number(42), ["num-40", "num-2"]);
        assert_eq!(say_number(100), ["num-1", "num-hundred"]);
        assert_eq!(say_number(734), ["num-7", "num-hundred", "num-30", "num-4"]);
        assert_eq!(say_number(2019), ["num-2", "num-thousand", "num-19"]);
        assert_eq!(
            say_number(12_305),
            ["num-12", "num-thousand", "num-3", "num-hundred", "num-5"]
        );
    }

    #[test]
    fn announcements_say_the_position_the_wait_in_minutes_and_the_callback_key() {
        assert_eq!(
            names(&announcement_prompts(&Announcement::Position(3))),
            ["queue-position", "num-3"]
        );
        assert_eq!(
            names(&announcement_prompts(&Announcement::EstimatedWait(45))),
            ["queue-wait", "less-than-a-minute"]
        );
        assert_eq!(
            names(&announcement_prompts(&Announcement::EstimatedWait(80))),
            ["queue-wait", "num-1", "minute"]
        );
        assert_eq!(
            names(&announcement_prompts(&Announcement::EstimatedWait(150))),
            ["queue-wait", "num-3", "minutes"],
            "2.5 minutes is about 3"
        );
        assert_eq!(
            names(&announcement_prompts(&Announcement::CallbackOffer {
                key: '1'
            })),
            ["callback-offer", "num-1"]
        );
        assert_eq!(
            names(&announcement_prompts(&Announcement::CallbackOffer {
                key: '#'
            })),
            ["callback-offer", "key-pound"]
        );
    }

    #[test]
    fn every_word_an_announcement_can_say_is_a_system_prompt() {
        let system = PromptLibrary::queue_system_prompts(['1']);
        let mut said = Vec::new();
        for n in 0..2100 {
            said.extend(names(&announcement_prompts(&Announcement::Position(n))));
        }
        for secs in (0..7200).step_by(7) {
            said.extend(names(&announcement_prompts(&Announcement::EstimatedWait(
                secs,
            ))));
        }
        said.extend(names(&announcement_prompts(&Announcement::CallbackOffer {
            key: '1',
        })));
        for name in said {
            assert!(system.contains(&name), "{name} is not a system prompt");
        }
        assert!(!system.contains(&"key-star".to_owned()));
        assert!(PromptLibrary::queue_system_prompts(['*']).contains(&"key-star".to_owned()));
    }

    #[test]
    fn a_site_with_a_queue_loads_its_music_and_the_system_prompts_and_one_without_none() {
        let base = "[[extension]]\nnumber = \"201\"\nsecret = \"secret-201\"\n";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar.toml");
        let plain = Config::parse(base, &path).expect("a site without queues");
        assert!(PromptLibrary::files(&plain).is_empty());
        let text = format!("{base}\n[[queue]]\nname = \"support\"\nmembers = [\"201\"]\n");
        let queued = Config::parse(&text, &path).expect("a site with a queue");
        let files = PromptLibrary::files(&queued);
        let dir = queued.prompts.dir.join("en");
        assert_eq!(files[0], dir.join("moh.wav"), "the queue names no music");
        for name in [
            "queue-position",
            "num-90",
            "agent-not-member",
            "callback-accepted",
        ] {
            assert!(
                files.contains(&dir.join(format!("{name}.wav"))),
                "{name}: {files:?}"
            );
        }
    }
}
