//! Queues compiled from `[[queue]]`: the switch's queue machine gets every setting, the static
//! members in order with their penalties, and the breakout keys.

use std::path::Path;

use crossbar_config::{Config, Destination, PromptRef, QueueMember, QueueStrategy};
use crossbar_routing::DialPlan;

const EXTENSIONS: &str = r#"
[[extension]]
number = "201"
secret = "secret-201-abcdef"

[[extension]]
number = "202"
secret = "secret-202-abcdef"

[[extension]]
number = "203"
secret = "secret-203-abcdef"
"#;

fn config(queues: &str) -> Config {
    let text = format!("{EXTENSIONS}\n{queues}");
    Config::parse(&text, Path::new("crossbar.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn plan(queues: &str) -> DialPlan {
    DialPlan::compile(&config(queues)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_queue_is_compiled_with_every_setting_and_its_members_in_order() {
    // Prompts are checked against files on disk when the file is read: they are set after.
    let mut config = config(
        r#"
[[queue]]
name = "support"
strategy = "round_robin"
members = ["203", { extension = "201", penalty = 2 }, "202"]
agent_ring_secs = 12
retry_secs = 3
wrap_up_secs = 10
auto_pause_after = 3
max_wait_secs = 300
max_callers = 20
join_empty = true
leave_when_empty = true
on_timeout = "ext:203"
on_full = "hangup"
on_empty = "ext:202"
breakout = { "0" = "ext:201", "9" = "hangup" }
announce_position_secs = 60
announce_wait = true
service_level_secs = 30
callback_offer_after_secs = 120
callback_key = "5"
"#,
    );
    config.queues[0].moh = Some(PromptRef::Named("moh".to_owned()));
    config.queues[0].announcement = Some(PromptRef::Named("busy".to_owned()));
    config.queues[0].announcement_secs = 45;
    let plan = DialPlan::compile(&config).unwrap_or_else(|e| panic!("{e}"));
    let queue = plan.queue("support").expect("queue support");
    assert_eq!(queue.name, "support");
    assert_eq!(queue.strategy, QueueStrategy::RoundRobin);
    let member = |extension: &str, penalty| QueueMember {
        extension: extension.to_owned(),
        penalty,
    };
    assert_eq!(
        queue.members,
        [member("203", 0), member("201", 2), member("202", 0)]
    );
    assert_eq!(queue.member_penalty("201"), Some(2));
    assert_eq!(queue.member_penalty("204"), None);
    assert_eq!(
        (queue.agent_ring_secs, queue.retry_secs, queue.wrap_up_secs),
        (12, 3, 10)
    );
    assert_eq!(queue.auto_pause_after, Some(3));
    assert_eq!(
        (queue.max_wait_secs, queue.max_callers),
        (Some(300), Some(20))
    );
    assert!(queue.join_empty && queue.leave_when_empty);
    assert_eq!(
        queue.on_timeout,
        Some(Destination::Extension("203".to_owned()))
    );
    assert_eq!(queue.on_full, Some(Destination::Hangup));
    assert_eq!(
        queue.on_empty,
        Some(Destination::Extension("202".to_owned()))
    );
    assert_eq!(
        queue.breakout('0'),
        Some(&Destination::Extension("201".to_owned()))
    );
    assert_eq!(queue.breakout('9'), Some(&Destination::Hangup));
    assert_eq!(queue.breakout('5'), None, "the callback key is no breakout");
    assert_eq!(queue.moh, Some(PromptRef::Named("moh".to_owned())));
    assert_eq!(queue.announce_position_secs, Some(60));
    assert!(queue.announce_wait);
    assert_eq!(
        queue.announcement,
        Some(PromptRef::Named("busy".to_owned()))
    );
    assert_eq!(queue.announcement_secs, 45);
    assert_eq!(queue.service_level_secs, 30);
    assert_eq!(queue.short_abandon_secs, 5);
    assert_eq!(queue.callback_offer_after_secs, Some(120));
    assert_eq!(queue.callback_key, '5');
}

#[test]
fn a_queue_left_to_its_defaults_waits_without_limits() {
    let plan = plan("[[queue]]\nname = \"sales\"\n");
    let queue = plan.queue("sales").expect("queue sales");
    assert_eq!(queue.strategy, QueueStrategy::LongestIdle);
    assert!(
        queue.members.is_empty(),
        "agents may all log in at run time"
    );
    assert_eq!(
        (queue.agent_ring_secs, queue.retry_secs, queue.wrap_up_secs),
        (15, 5, 0)
    );
    assert_eq!(queue.auto_pause_after, None);
    assert_eq!((queue.max_wait_secs, queue.max_callers), (None, None));
    assert!(!queue.join_empty && !queue.leave_when_empty);
    assert_eq!(
        (&queue.on_timeout, &queue.on_full, &queue.on_empty),
        (&None, &None, &None)
    );
    assert!(queue.breakout.is_empty());
    assert_eq!(queue.announce_position_secs, None);
    assert_eq!(queue.callback_offer_after_secs, None);
    assert_eq!(queue.callback_key, '1');
    assert!(plan.queue("support").is_none(), "no such queue");
}

#[test]
fn queues_are_found_by_name_among_several() {
    let plan = plan(
        "[[queue]]\nname = \"sales\"\nmembers = [\"201\"]\n\n\
         [[queue]]\nname = \"support\"\nmembers = [\"202\", \"203\"]\n",
    );
    let members = |name: &str| -> Vec<String> {
        plan.queue(name)
            .expect("queue")
            .members
            .iter()
            .map(|m| m.extension.clone())
            .collect()
    };
    assert_eq!(members("sales"), ["201"]);
    assert_eq!(members("support"), ["202", "203"]);
}

/// What extension `from` dialling `dialled` gets, at noon with nothing busy.
fn dial(plan: &DialPlan, from: &str, dialled: &str) -> crossbar_routing::Decision {
    let caller = crossbar_routing::Identity::Extension(from.to_owned());
    let at: jiff::Timestamp = "2026-06-10T12:00:00Z".parse().expect("a timestamp");
    plan.route(
        &crossbar_routing::Attempt {
            caller: &caller,
            dialled,
        },
        at,
        &crossbar_routing::Idle,
    )
}

#[test]
fn agents_feature_codes_route_to_the_agent_feature_on_a_site_with_queues() {
    use crossbar_routing::{AgentFeature, Decision};
    let site = plan(
        "[agents]\npause_reasons = { \"1\" = \"lunch\", \"2\" = \"training\" }\n\n\
         [[queue]]\nname = \"support\"\nmembers = [\"201\"]\n",
    );
    let feature = |dialled: &str| match dial(&site, "201", dialled) {
        Decision::AgentFeature { code, feature } => Some((code, feature)),
        _ => None,
    };
    assert_eq!(
        feature("*45"),
        Some(("*45".to_owned(), AgentFeature::Login))
    );
    assert_eq!(
        feature("*46"),
        Some(("*46".to_owned(), AgentFeature::Logout))
    );
    assert_eq!(
        feature("*47 2"),
        Some((
            "*472".to_owned(),
            AgentFeature::Pause {
                reason: Some("training".to_owned())
            }
        )),
        "the reason digit after the pause code"
    );
    assert_eq!(
        feature("*47"),
        Some(("*47".to_owned(), AgentFeature::Pause { reason: None }))
    );
    assert_eq!(
        feature("*48"),
        Some(("*48".to_owned(), AgentFeature::Unpause))
    );
    assert_eq!(feature("*479"), None, "9 is not a pause reason");

    let explanation = site.explain(&dial(&site, "201", "*472"));
    let json = serde_json::to_value(&explanation).expect("serialises");
    assert_eq!(json["decision"], "agent_feature");
    assert_eq!(json["agent_feature"], "pause (training)");
    assert_eq!(json["dialled"], "*472");
    assert_eq!(json["allowed"], true);
    let table = explanation.to_string();
    assert!(
        table.contains("decision    queue agent feature: pause (training)"),
        "{table}"
    );

    // Without queues there are no agents: the codes are not in force.
    let plain = plan("");
    assert!(plain.agent_codes().is_none());
    assert!(!matches!(
        dial(&plain, "201", "*45"),
        Decision::AgentFeature { .. }
    ));
}
