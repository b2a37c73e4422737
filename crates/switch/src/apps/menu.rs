//! An IVR menu (`[[ivr]]`): the greeting plays, the caller presses a key (or dials an
//! extension's number), the menu sends the call on; a timeout or an invalid key replays the
//! menu (after the timeout or invalid prompt) until the retries run out, then `on_failure`.
//!
//! Which key leads where is decided by the dial plan (`crossbar_routing::IvrPlan::choose`),
//! the function `crossbar route explain --digits` walks too, so the simulator and the live
//! menu agree.

use std::time::{Duration, Instant};

use crossbar_config::{Destination, PromptRef};
use crossbar_routing::{Choice, IvrPlan};

/// What the menu wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MenuAction {
    /// Play these prompts (replacing whatever plays), then report `PromptFinished`.
    Play(Vec<PromptRef>),
    /// Stop the prompt (the caller started keying).
    StopPlaying,
    /// Call back with `Timeout` at this instant (replaces an earlier wait).
    WaitUntil(Instant),
    /// Leave the menu for `destination`; `keys` led there (empty after the last retry).
    Go {
        destination: Destination,
        keys: String,
    },
    /// Ring extension `number`, dialled directly.
    Dial { number: String },
}

/// Where the menu stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A prompt plays; keys are taken (they stop it).
    Prompting,
    /// The prompt has ended; waiting for the first key.
    Waiting,
    /// Some keys are in, more may follow (an extension number).
    Collecting,
    /// The menu has sent the call on.
    Done,
}

#[derive(Debug)]
pub(crate) struct Menu {
    plan: IvrPlan,
    /// Timeouts and invalid choices so far.
    failures: u32,
    keys: String,
    state: State,
}

impl Menu {
    /// The menu starts: its greeting plays.
    pub(crate) fn start(plan: IvrPlan) -> (Menu, Vec<MenuAction>) {
        let greeting = plan.prompt.clone();
        let menu = Menu {
            plan,
            failures: 0,
            keys: String::new(),
            state: State::Prompting,
        };
        (menu, vec![MenuAction::Play(vec![greeting])])
    }

    pub(crate) fn name(&self) -> &str {
        &self.plan.name
    }

    /// The prompts finished playing: wait for a key.
    pub(crate) fn prompt_finished(&mut self, now: Instant) -> Vec<MenuAction> {
        if self.state != State::Prompting {
            return Vec::new();
        }
        self.state = State::Waiting;
        vec![MenuAction::WaitUntil(now + secs(self.plan.timeout_secs))]
    }

    /// The caller pressed `key`.
    pub(crate) fn key(&mut self, now: Instant, key: char) -> Vec<MenuAction> {
        if self.state == State::Done {
            return Vec::new();
        }
        let mut actions = Vec::new();
        if self.state == State::Prompting {
            actions.push(MenuAction::StopPlaying);
        }
        self.keys.push(key);
        match self.plan.choose(&self.keys) {
            Choice::NeedMore => {
                self.state = State::Collecting;
                actions.push(MenuAction::WaitUntil(
                    now + secs(self.plan.digit_timeout_secs),
                ));
            }
            choice => actions.extend(self.decide(choice)),
        }
        actions
    }

    /// The wait ran out: no key (retry), or the keys so far are all there is.
    pub(crate) fn timeout(&mut self, _now: Instant) -> Vec<MenuAction> {
        match self.state {
            State::Waiting => self.retry(self.plan.timeout_prompt.clone()),
            State::Collecting => {
                let choice = self.plan.choose_complete(&self.keys);
                self.decide(choice)
            }
            State::Prompting | State::Done => Vec::new(),
        }
    }

    fn decide(&mut self, choice: Choice) -> Vec<MenuAction> {
        match choice {
            Choice::Destination(destination) => {
                self.state = State::Done;
                vec![MenuAction::Go {
                    destination,
                    keys: std::mem::take(&mut self.keys),
                }]
            }
            Choice::Extension(number) => {
                self.state = State::Done;
                self.keys.clear();
                vec![MenuAction::Dial { number }]
            }
            Choice::Invalid | Choice::NeedMore => self.retry(self.plan.invalid_prompt.clone()),
        }
    }

    /// Replays the menu after `prompt`, or sends the call to `on_failure` when the retries
    /// are spent.
    fn retry(&mut self, prompt: Option<PromptRef>) -> Vec<MenuAction> {
        self.keys.clear();
        self.failures += 1;
        if let Some(destination) = self.plan.after_failure(self.failures) {
            self.state = State::Done;
            return vec![MenuAction::Go {
                destination: destination.clone(),
                keys: String::new(),
            }];
        }
        self.state = State::Prompting;
        let mut prompts: Vec<PromptRef> = prompt.into_iter().collect();
        prompts.push(self.plan.prompt.clone());
        vec![MenuAction::Play(prompts)]
    }
}

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Menu `main` of a plan with extensions 201 and 202: 1 → ext:201, 9 → hangup, direct
    /// dial, 5 s to the first key, 2 s between digits, one retry, then `ext:202`.
    fn menu() -> (Menu, Vec<MenuAction>) {
        let text = r#"
[[extension]]
number = "201"
secret = "secret-201"

[[extension]]
number = "202"
secret = "secret-202"

[[ivr]]
name = "main"
prompt = "greeting"
options = { "1" = "ext:201", "9" = "hangup" }
direct_dial = true
timeout_secs = 5
digit_timeout_secs = 2
retries = 1
invalid_prompt = "invalid"
timeout_prompt = "timeout"
on_failure = "ext:202"

[prompts]
dir = "prompts"
"#;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar.toml");
        let config = crossbar_config::Config::parse(text, &path).expect("test configuration");
        let plan = crossbar_routing::DialPlan::compile(&config).expect("test plan");
        Menu::start(plan.ivr("main").expect("menu main").clone())
    }

    fn named(name: &str) -> PromptRef {
        PromptRef::Named(name.to_owned())
    }

    #[test]
    fn the_greeting_plays_then_the_menu_waits_its_timeout_for_a_key() {
        let t0 = Instant::now();
        let (mut menu, actions) = menu();
        assert_eq!(actions, [MenuAction::Play(vec![named("greeting")])]);
        assert_eq!(
            menu.prompt_finished(t0 + secs(3)),
            [MenuAction::WaitUntil(t0 + secs(8))]
        );
        assert_eq!(
            menu.key(t0 + secs(4), '1'),
            [MenuAction::Go {
                destination: Destination::Extension("201".into()),
                keys: "1".into()
            }]
        );
        assert!(menu.key(t0 + secs(5), '9').is_empty(), "the menu is done");
    }

    #[test]
    fn a_key_during_the_greeting_stops_it_and_an_extension_number_is_collected() {
        let t0 = Instant::now();
        let (mut menu, _) = menu();
        assert_eq!(
            menu.key(t0, '2'),
            [MenuAction::StopPlaying, MenuAction::WaitUntil(t0 + secs(2))],
            "2 starts 201 and 202: wait for the next digit"
        );
        assert_eq!(
            menu.key(t0 + secs(1), '0'),
            [MenuAction::WaitUntil(t0 + secs(3))]
        );
        assert_eq!(
            menu.key(t0 + secs(2), '2'),
            [MenuAction::Dial {
                number: "202".into()
            }]
        );
    }

    #[test]
    fn a_timeout_and_an_invalid_key_replay_the_menu_until_the_retries_are_spent() {
        let t0 = Instant::now();
        let (mut menu, _) = menu();
        menu.prompt_finished(t0);
        assert_eq!(
            menu.timeout(t0 + secs(5)),
            [MenuAction::Play(vec![named("timeout"), named("greeting")])],
            "first failure: replayed after the timeout prompt"
        );
        menu.prompt_finished(t0 + secs(8));
        assert_eq!(
            menu.key(t0 + secs(9), '7'),
            [MenuAction::Go {
                destination: Destination::Extension("202".into()),
                keys: String::new()
            }],
            "second failure (7 is nothing): on_failure"
        );
    }

    #[test]
    fn digits_that_stop_short_of_a_number_are_invalid_after_the_digit_timeout() {
        let t0 = Instant::now();
        let (mut menu, _) = menu();
        menu.key(t0, '2');
        assert_eq!(
            menu.timeout(t0 + secs(2)),
            [MenuAction::Play(vec![named("invalid"), named("greeting")])]
        );
    }
}
