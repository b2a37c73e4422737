//! `docs/CONFIGURATION.md` cannot drift from the code: its complete examples load, and no
//! snippet uses a key or section that does not exist. (That its tables list exactly the keys
//! crossbar accepts is checked by a unit test in `src/lib.rs`, which sees the key lists.)

mod support;

use std::path::PathBuf;

use crossbar_config::{
    Config, Destination, DidSource, PromptRef, QueueMember, QueueStrategy, RingStrategy,
};
use support::{Dir, pcm16};

fn root() -> PathBuf {
    support::repository()
}

/// A directory holding what the complete example names, as the reference says: the rate
/// decks of `examples/rates/` in `rates/`, and the prompts it plays (written here).
fn complete_example_dir(test: &str) -> Dir {
    let dir = Dir::new(&format!("docs-{test}"));
    for deck in ["carrier-a.csv", "carrier-b.csv"] {
        let rates = std::fs::read(root().join("examples/rates").join(deck))
            .expect("the example rate decks are readable");
        dir.write(&format!("rates/{deck}"), &rates);
    }
    dir.prompts("en", &["greeting", "invalid", "all-busy"]);
    dir.prompts("fr", &["greeting", "invalid", "all-busy"]);
    dir.write("sounds/timeout.wav", &pcm16(16_000));
    dir.write("sounds/moh.wav", &pcm16(8_000));
    dir
}

/// The fenced TOML blocks of the reference: (info string, first line number, text).
fn toml_blocks() -> Vec<(String, usize, String)> {
    let doc = std::fs::read_to_string(root().join("docs/CONFIGURATION.md"))
        .expect("docs/CONFIGURATION.md is readable");
    let mut blocks = Vec::new();
    let mut current: Option<(String, usize, String)> = None;
    for (index, line) in doc.lines().enumerate() {
        let fence = line.trim_start();
        match current.take() {
            None => {
                if let Some(info) = fence.strip_prefix("```toml") {
                    current = Some((info.trim().to_owned(), index + 2, String::new()));
                }
            }
            Some(block) if fence.starts_with("```") => blocks.push(block),
            Some((info, start, mut text)) => {
                text.push_str(line);
                text.push('\n');
                current = Some((info, start, text));
            }
        }
    }
    assert!(current.is_none(), "a ```toml block is not closed");
    blocks
}

#[test]
fn the_complete_examples_of_the_reference_load() {
    let blocks = toml_blocks();
    let complete: Vec<_> = blocks
        .iter()
        .filter(|(info, _, _)| info == "complete")
        .collect();
    assert!(
        complete.len() >= 2,
        "the reference has a minimal and a complete example"
    );
    let dir = complete_example_dir("complete");
    let path = dir.path().join("crossbar.toml");
    for (_, line, text) in complete {
        if let Err(errors) = Config::parse(text, &path) {
            panic!("the example at docs/CONFIGURATION.md line {line} does not load:\n{errors}");
        }
    }
}

#[test]
fn the_complete_example_uses_every_section() {
    let blocks = toml_blocks();
    let (_, _, text) = blocks
        .iter()
        .filter(|(info, _, _)| info == "complete")
        .max_by_key(|(_, _, text)| text.len())
        .expect("a complete example");
    let dir = complete_example_dir("every-section");
    let config =
        Config::parse(text, &dir.path().join("crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.site.country.is_some() && config.site.privacy_prefix.is_some());
    assert!(config.media.address.is_some());
    assert!(!config.http.tokens.is_empty());
    assert_eq!(config.extensions.len(), 2);
    assert_eq!(config.classes.len(), 2);
    assert_eq!(config.trunks.len(), 2);
    assert!(config.trunks.iter().all(|t| t.rates.len() > 1));
    assert_eq!(config.outbound_routes.len(), 2);

    assert_eq!(config.inbound.blocklist.len(), 2);
    assert_eq!(config.inbound.blocked_status, 603);
    assert_eq!(
        config.trunks[0].default_destination,
        Some(Destination::Hangup)
    );
    assert_eq!(
        config.trunks[1].did_from,
        DidSource::Header("P-Called-Party-ID".to_owned())
    );
    assert!(config.extensions[0].escalation.on_busy.is_some());
    let routes: Vec<&str> = config
        .inbound_routes
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(routes, ["vip", "main", "french"]);
    assert!(config.inbound_routes[0].vip);
    assert_eq!(config.inbound_routes[2].language.as_deref(), Some("fr"));
    let tc = &config.time_conditions[0];
    assert!(tc.holidays.len() == 3 && tc.exceptions.len() == 2);
    let menu = &config.ivrs[0];
    assert_eq!(menu.options.len(), 4);
    assert!(matches!(menu.timeout_prompt, Some(PromptRef::File(_))));
    assert_eq!(config.ring_groups.len(), 2);
    assert_eq!(config.ring_groups[0].strategy, RingStrategy::Hunt);
    assert_eq!(config.ring_groups[0].class.as_deref(), Some("national"));
    assert_eq!(config.queues.len(), 2);
    let support = &config.queues[0];
    assert_eq!(support.strategy, QueueStrategy::LongestIdle);
    assert_eq!(
        support.members[1],
        QueueMember {
            extension: "202".to_owned(),
            penalty: 1
        }
    );
    assert!(matches!(support.moh, Some(PromptRef::File(_))));
    assert_eq!(support.on_empty, Some(Destination::Ivr("main".to_owned())));
    assert_eq!(config.agents.pause_reason('2'), Some("training"));
    assert_eq!(config.callbacks.retry_schedule_secs, [300, 1800, 7200]);
    assert_eq!(config.callbacks.assign_to.as_deref(), Some("support"));
    assert_eq!(config.prompts.default_language, "en");
}

/// Snippets may refer to things they do not define (a route's trunk), but every section and
/// key they write must exist, with the right type.
#[test]
fn every_snippet_of_the_reference_uses_real_keys() {
    let path = root().join("examples/CONFIGURATION.md.toml");
    let mut checked = 0;
    for (info, line, text) in toml_blocks() {
        checked += 1;
        let Err(errors) = Config::parse(&text, &path) else {
            continue;
        };
        for error in &errors {
            let message = &error.message;
            let wrong = message.starts_with("unknown key")
                || message.starts_with("unknown section")
                || message.starts_with("TOML syntax error")
                || message.starts_with("expected ")
                || message.contains("is not supported by this version");
            assert!(
                !wrong,
                "the ```toml {info} block at docs/CONFIGURATION.md line {line}: {error}"
            );
        }
    }
    assert!(checked >= 8, "only {checked} TOML blocks found");
}
