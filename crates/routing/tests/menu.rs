//! Menus: what keys choose — options, extensions dialled directly (waiting when a key could
//! still become a longer number), invalid keys — and when the retries run out.

mod fixture;

use std::path::Path;

use crossbar_config::{Config, Destination, PromptRef};
use crossbar_routing::{Choice, DialPlan, IvrPlan};
use fixture::{dest, ivr, plan};

/// Extensions 5, 20, 201, 2011 and 300.
fn extensions() -> Config {
    let mut text = String::from("[site]\ncountry = \"GB\"\ntimezone = \"Europe/London\"\n");
    for number in ["5", "20", "201", "2011", "300"] {
        text.push_str(&format!(
            "\n[[extension]]\nnumber = \"{number}\"\nsecret = \"secret-{number}-abcdef\"\n"
        ));
    }
    Config::parse(&text, Path::new("crossbar.toml")).expect("parses")
}

fn with_menu(direct_dial: bool, options: &[(char, &str)]) -> DialPlan {
    let mut config = extensions();
    config.ivrs.push(ivr("support", &[('1', "ext:300")]));
    let mut main = ivr("main", options);
    main.direct_dial = direct_dial;
    config.ivrs.push(main);
    plan(&config)
}

fn menu<'p>(plan: &'p DialPlan, name: &str) -> &'p IvrPlan {
    plan.ivr(name).expect("the menu exists")
}

fn to(text: &str) -> Choice {
    Choice::Destination(dest(text))
}

fn extension(number: &str) -> Choice {
    Choice::Extension(number.to_owned())
}

#[test]
fn a_key_that_is_an_option_chooses_it_and_others_are_invalid() {
    let plan = with_menu(
        false,
        &[('1', "ext:300"), ('2', "ivr:support"), ('#', "hangup")],
    );
    let main = menu(&plan, "main");
    assert_eq!(main.choose("1"), to("ext:300"));
    assert_eq!(main.choose("2"), to("ivr:support"));
    assert_eq!(main.choose("#"), to("hangup"));
    assert_eq!(main.choose("9"), Choice::Invalid);
    assert_eq!(main.choose("*"), Choice::Invalid);
    // Without direct dial a number is not an extension.
    assert_eq!(main.choose("5"), Choice::Invalid);
    assert_eq!(main.choose("20"), Choice::Invalid);
    assert_eq!(main.choose(""), Choice::NeedMore);
    assert_eq!(main.choose_complete(""), Choice::Invalid);
    assert_eq!(main.option('2'), Some(&dest("ivr:support")));
    assert_eq!(main.options().len(), 3);
}

#[test]
fn direct_dial_rings_an_extension_once_no_longer_number_can_follow() {
    let plan = with_menu(true, &[('1', "ext:300")]);
    let main = menu(&plan, "main");
    assert_eq!(main.choose("3"), Choice::NeedMore);
    assert_eq!(main.choose("30"), Choice::NeedMore);
    assert_eq!(main.choose("300"), extension("300"));
    assert_eq!(main.choose("5"), extension("5"));
    assert_eq!(main.choose("301"), Choice::Invalid);
    assert_eq!(main.choose("4"), Choice::Invalid);
    // An option no extension starts with is chosen at once.
    assert_eq!(main.choose("1"), to("ext:300"));
}

#[test]
fn a_number_that_starts_a_longer_one_waits_for_the_digit_timeout_or_a_hash() {
    let plan = with_menu(true, &[('1', "ext:300")]);
    let main = menu(&plan, "main");
    assert_eq!(main.choose("2"), Choice::NeedMore);
    assert_eq!(
        main.choose("20"),
        Choice::NeedMore,
        "201 and 2011 may follow"
    );
    assert_eq!(main.choose_complete("20"), extension("20"));
    assert_eq!(main.choose("20#"), extension("20"));
    assert_eq!(main.choose("201"), Choice::NeedMore, "2011 may follow");
    assert_eq!(main.choose_complete("201"), extension("201"));
    assert_eq!(main.choose("2011"), extension("2011"));
    assert_eq!(main.choose("2012"), Choice::Invalid);
    assert_eq!(main.choose_complete("2"), Choice::Invalid);
    assert_eq!(main.choose("2#"), Choice::Invalid);
}

#[test]
fn a_key_that_is_an_option_and_starts_an_extension_waits_then_takes_the_option() {
    let plan = with_menu(true, &[('2', "ivr:support"), ('5', "ext:300")]);
    let main = menu(&plan, "main");
    assert_eq!(main.choose("2"), Choice::NeedMore);
    assert_eq!(main.choose_complete("2"), to("ivr:support"));
    assert_eq!(main.choose("20"), Choice::NeedMore);
    assert_eq!(main.choose("2011"), extension("2011"));
    // The option `5` hides extension 5: a single key is an option first.
    assert_eq!(main.choose("5"), to("ext:300"));
    assert_eq!(main.choose_complete("5"), to("ext:300"));
}

#[test]
fn the_menu_is_replayed_until_its_retries_are_used_then_the_caller_goes_on() {
    let plan = with_menu(false, &[('1', "ext:300")]);
    let main = menu(&plan, "main");
    assert_eq!(main.retries, 2);
    assert_eq!(main.after_failure(1), None);
    assert_eq!(main.after_failure(2), None);
    assert_eq!(main.after_failure(3), Some(&Destination::Hangup));

    let mut config = extensions();
    let mut strict = ivr("strict", &[('1', "ext:300")]);
    strict.retries = 0;
    strict.on_failure = dest("ext:5");
    config.ivrs.push(strict);
    let plan = fixture::plan(&config);
    assert_eq!(menu(&plan, "strict").after_failure(1), Some(&dest("ext:5")));
}

#[test]
fn a_menu_keeps_its_prompts_and_timeouts() {
    let plan = with_menu(true, &[('1', "ext:300")]);
    let main = menu(&plan, "main");
    assert_eq!(main.prompt, PromptRef::Named("main".to_owned()));
    assert_eq!(
        main.invalid_prompt,
        Some(PromptRef::Named("invalid".to_owned()))
    );
    assert_eq!((main.timeout_secs, main.digit_timeout_secs), (5, 3));
    assert!(main.direct_dial);
    assert!(plan.ivr("nope").is_none());
}

#[test]
fn an_option_to_nowhere_does_not_compile() {
    let mut config = extensions();
    config.ivrs.push(ivr("main", &[('1', "group:nope")]));
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "ivr[1].options");
    let mut config = extensions();
    let mut main = ivr("main", &[('1', "ext:300")]);
    main.on_failure = dest("ext:999");
    config.ivrs.push(main);
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "ivr[1].on_failure");
}
