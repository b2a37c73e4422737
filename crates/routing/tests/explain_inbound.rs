//! `route explain` for incoming calls: the path from the route through time conditions,
//! menus and keys to a group, an extension or the end of the call, as JSON and as a table.

mod fixture;

use crossbar_cdr::StepKind;
use crossbar_config::{Config, Holiday, RingStrategy};
use crossbar_routing::{DialPlan, InboundExplanation, Live};
use fixture::{
    Load, at, dest, group, inbound_route, inbound_site, inbound_with, ivr, pattern, plan,
    time_condition,
};
use serde_json::{Value, json};

const DID: &str = "+442079460000";
const CALLER: &str = "+447400123456";
/// Wednesday 10 June 2026, 12:00 BST.
const WEDNESDAY_NOON: &str = "2026-06-10T11:00:00Z";

/// DID → `tc:office` (mon-fri 09:00-17:30, closed at Christmas) → open: menu `main`
/// (1 → `group:sales`, 2 → `ext:202`, direct dial), closed: `ext:203`.
fn business() -> Config {
    let mut config = inbound_site();
    config
        .inbound_routes
        .push(inbound_route("main-number", &[DID], "tc:office"));
    let mut office = time_condition("office", &["mon-fri 09:00-17:30"], "ivr:main", "ext:203");
    office.holidays = vec![Holiday::Yearly { month: 12, day: 25 }];
    config.time_conditions.push(office);
    let mut main = ivr("main", &[('1', "group:sales"), ('2', "ext:202")]);
    main.direct_dial = true;
    config.ivrs.push(main);
    config
        .ring_groups
        .push(group("sales", RingStrategy::Hunt, &["201", "202", "203"]));
    config.inbound.blocklist = vec![pattern("+447700*")];
    config
}

fn explain(
    plan: &DialPlan,
    caller: Option<&str>,
    did: &str,
    digits: &str,
    when: &str,
    live: &dyn Live,
) -> (InboundExplanation, Value) {
    let decision = inbound_with(plan, "carrier-a", did, caller, at(when), live);
    let explanation = plan.explain_inbound(&decision, digits, at(when), live);
    let value = serde_json::to_value(&explanation).expect("serialises");
    let back: InboundExplanation = serde_json::from_value(value.clone()).expect("deserialises");
    assert_eq!(back, explanation);
    (explanation, value)
}

#[test]
fn open_hours_lead_through_the_menu_and_key_1_to_the_hunt_group() {
    let plan = plan(&business());
    let live = Load::default().busy("202");
    let (_, value) = explain(&plan, Some(CALLER), DID, "1", WEDNESDAY_NOON, &live);
    assert_eq!(
        value,
        json!({
            "trunk": "carrier-a",
            "did": DID,
            "caller": CALLER,
            "decision": "route",
            "route": "main-number",
            "status": null,
            "vip": false,
            "language": "en",
            "digits": "1",
            "steps": [
                {
                    "kind": "route",
                    "name": "main-number",
                    "result": "+442079460000 from +447400123456 via carrier-a → tc:office"
                },
                {"kind": "time_condition", "name": "office", "result": "open (mon-fri 09:00-17:30)"},
                {"kind": "ivr", "name": "main", "result": "entered: prompt main"},
                {"kind": "digit", "name": "main", "result": "1 → group:sales"},
                {"kind": "group", "name": "sales", "result": "hunt: 2 of 3 members, 20 s each"}
            ],
            "destination": "group:sales",
            "waiting": false,
            "members": [
                {"member": "ext:201", "position": 0, "class": null, "skipped": null},
                {"member": "ext:202", "position": 1, "class": null, "skipped": "busy"},
                {"member": "ext:203", "position": 2, "class": null, "skipped": null}
            ]
        })
    );
}

#[test]
fn a_holiday_sends_the_call_to_the_closed_destination() {
    let plan = plan(&business());
    // Christmas Day 2026 is a Friday: within the weekly hours, but a holiday.
    let (_, value) = explain(
        &plan,
        Some(CALLER),
        "020 7946 0000",
        "1",
        "2026-12-25T10:00:00Z",
        &Load::default(),
    );
    assert_eq!(
        value["steps"],
        json!([
            {
                "kind": "route",
                "name": "main-number",
                "result": "+442079460000 from +447400123456 via carrier-a → tc:office"
            },
            {"kind": "time_condition", "name": "office", "result": "closed (holiday every 12-25)"}
        ])
    );
    assert_eq!(value["destination"], "ext:203");
    assert_eq!(value["members"], json!([]));
}

#[test]
fn a_blocked_caller_is_refused_with_the_blocklist_step() {
    let plan = plan(&business());
    let (_, value) = explain(
        &plan,
        Some("07700 900123"),
        DID,
        "",
        WEDNESDAY_NOON,
        &Load::default(),
    );
    assert_eq!(
        value,
        json!({
            "trunk": "carrier-a",
            "did": DID,
            "caller": "+447700900123",
            "decision": "blocked",
            "route": null,
            "status": 403,
            "vip": false,
            "language": null,
            "digits": "",
            "steps": [{
                "kind": "blocklist",
                "name": "+447700900123",
                "result": "blocked by [inbound] blocklist +447700*: 403"
            }],
            "destination": null,
            "waiting": false,
            "members": []
        })
    );
}

#[test]
fn an_unknown_did_is_not_found() {
    let plan = plan(&business());
    let (_, value) = explain(
        &plan,
        None,
        "02079460999",
        "",
        WEDNESDAY_NOON,
        &Load::default(),
    );
    assert_eq!(value["decision"], "no_route");
    assert_eq!(value["status"], 404);
    assert_eq!(value["did"], "+442079460999");
    assert_eq!(value["caller"], Value::Null);
    assert_eq!(value["destination"], Value::Null);
    assert_eq!(
        value["steps"],
        json!([{
            "kind": "route",
            "name": "+442079460999",
            "result": "no inbound route takes +442079460999 from anonymous via carrier-a, and \
                       the trunk has no default_destination: 404"
        }])
    );
}

#[test]
fn invalid_keys_replay_the_menu_until_the_retries_run_out() {
    let plan = plan(&business());
    let (_, value) = explain(&plan, None, DID, "9*", WEDNESDAY_NOON, &Load::default());
    let results: Vec<&str> = value["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .skip(2)
        .map(|s| s["result"].as_str().expect("text"))
        .collect();
    assert_eq!(
        results,
        [
            "entered: prompt main",
            "9: invalid; prompt invalid, replay 1 of 2",
            "*: invalid; prompt invalid, replay 2 of 2",
            "waiting for a key (after 5 s without one: replayed 2 times, then hangup)",
        ]
    );
    assert_eq!(value["destination"], "ivr:main");
    assert_eq!(value["waiting"], true);

    let (_, value) = explain(&plan, None, DID, "9992", WEDNESDAY_NOON, &Load::default());
    let last = value["steps"].as_array().and_then(|s| s.last()).cloned();
    assert_eq!(
        last,
        Some(json!({
            "kind": "digit",
            "name": "main",
            "result": "9: invalid; no replays left → hangup"
        }))
    );
    assert_eq!(value["destination"], "hangup");
}

#[test]
fn a_direct_dialled_number_is_taken_when_the_digit_timeout_passes() {
    let plan = plan(&business());
    let (_, value) = explain(&plan, None, DID, "203", WEDNESDAY_NOON, &Load::default());
    assert_eq!(value["destination"], "ext:203");
    assert_eq!(
        value["steps"][3],
        json!({"kind": "digit", "name": "main", "result": "203 → ext:203 (direct dial)"})
    );
    // `2` is an option and starts 201-204: with no more keys, the option after the timeout.
    let (_, value) = explain(&plan, None, DID, "2", WEDNESDAY_NOON, &Load::default());
    assert_eq!(value["destination"], "ext:202");
    assert_eq!(
        value["steps"][3]["result"],
        "2 (no key within 3 s) → ext:202"
    );
}

#[test]
fn keys_carry_on_into_the_next_menu() {
    let mut config = business();
    config.ivrs[0].options.push(('3', dest("ivr:support")));
    config.ivrs.push(ivr("support", &[('1', "ext:204")]));
    let plan = plan(&config);
    let (explanation, value) = explain(&plan, None, DID, "31", WEDNESDAY_NOON, &Load::default());
    assert_eq!(value["destination"], "ext:204");
    let kinds: Vec<&str> = explanation.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["route", "time_condition", "ivr", "digit", "ivr", "digit"]
    );
}

#[test]
fn the_table_shows_the_path_and_the_members_in_ringing_order() {
    let plan = plan(&business());
    let live = Load::default().busy("202");
    let (explanation, _) = explain(&plan, Some(CALLER), DID, "1", WEDNESDAY_NOON, &live);
    let table = explanation.to_string();
    let expected = "\
trunk       carrier-a
did         +442079460000
caller      +447400123456
decision    route main-number, language en
digits      1
path        1. route           main-number  +442079460000 from +447400123456 via carrier-a → tc:office
            2. time_condition  office       open (mon-fri 09:00-17:30)
            3. ivr             main         entered: prompt main
            4. digit           main         1 → group:sales
            5. group           sales        hunt: 2 of 3 members, 20 s each
destination group:sales
members     1. ext:201
            2. ext:202  skipped: busy
            3. ext:203
";
    assert_eq!(table, expected, "\n{table}");
}

#[test]
fn a_queue_is_the_destination_and_the_path_says_live_calls_end_there_for_now() {
    let mut config = business();
    config.ivrs[0].options.push(('3', dest("queue:support")));
    let queues = Config::parse("[[queue]]\nname = \"support\"\n", "q.toml".as_ref())
        .unwrap_or_else(|e| panic!("{e}"))
        .queues;
    config.queues = queues;
    let plan = plan(&config);
    let (explanation, value) = explain(
        &plan,
        Some(CALLER),
        DID,
        "3",
        WEDNESDAY_NOON,
        &Load::default(),
    );
    assert_eq!(value["destination"], "queue:support");
    let last = explanation.steps.last().expect("steps");
    assert_eq!(
        (last.kind, last.name.as_str(), last.result.as_str()),
        (
            StepKind::Queue,
            "support",
            "waits for an agent (longest idle), agents log in at run time"
        )
    );
    assert!(!explanation.waiting);

    // A queue the plan does not have is refused when compiling.
    config.queues.clear();
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "ivr[1].options");
    assert!(error.to_string().contains("support"), "{error}");
}
