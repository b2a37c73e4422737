//! Route selection, least-cost ordering from rate decks, live skips, the number as each trunk
//! wants it, caller ID, and how emergency calls pick their trunks.

mod fixture;

use crossbar_cdr::DestinationClass::{Emergency, International, Mobile};
use crossbar_config::{Config, NumberFormat, Strategy};
use crossbar_routing::{Decision, NoRouteReason, Outbound, Skip, TrunkLoad};
use fixture::{Load, call, call_with, config, noon, outbound, plan, rate, route, trunk};

const LONDON: &str = "020 7946 0000";
const MOBILE: &str = "07400 123456";

/// GB site, trunks a, b, c, and one least-cost route over them.
fn three_trunks(strategy: Strategy) -> Config {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.site.area_code = Some("20".to_owned());
    let mut a = trunk("a");
    a.rates = vec![rate("44", "0.010", "0"), rate("447", "0.050", "0")];
    let mut b = trunk("b");
    b.rates = vec![rate("44", "0.012", "0"), rate("4474", "0.020", "0")];
    let mut c = trunk("c");
    c.rates = vec![rate("447", "0.030", "0")];
    config.trunks = vec![a, b, c];
    config
        .outbound_routes
        .push(route("uk", &["+44*"], strategy, &["a", "b", "c"]));
    config
}

fn order(outbound: &Outbound) -> Vec<(&str, Option<i64>, Option<Skip>)> {
    outbound
        .attempts
        .iter()
        .map(|a| (a.trunk.as_str(), a.rate.map(|r| r.per_minute.0), a.skipped))
        .collect()
}

#[test]
fn least_cost_orders_trunks_by_their_longest_matching_prefix() {
    let plan = plan(&three_trunks(Strategy::LeastCost));
    // +447400...: a's 447 (0.050), b's 4474 (0.020), c's 447 (0.030).
    let mobile = outbound(call(&plan, "201", MOBILE));
    assert_eq!(mobile.class, Mobile);
    assert_eq!(mobile.route.as_deref(), Some("uk"));
    assert_eq!(
        order(&mobile),
        [
            ("b", Some(20_000), None),
            ("c", Some(30_000), None),
            ("a", Some(50_000), None)
        ]
    );
    // +4420...: only 44 matches on a (0.010) and b (0.012); c has no rate and is kept last.
    let london = outbound(call(&plan, "201", LONDON));
    assert_eq!(
        order(&london),
        [
            ("a", Some(10_000), None),
            ("b", Some(12_000), None),
            ("c", None, Some(Skip::NoRate))
        ]
    );
}

#[test]
fn equal_rates_are_ordered_by_connection_fee_then_as_listed() {
    let mut config = three_trunks(Strategy::LeastCost);
    config.trunks[0].rates = vec![rate("44", "0.010", "0.05")];
    config.trunks[1].rates = vec![rate("44", "0.010", "0.01")];
    config.trunks[2].rates = vec![rate("44", "0.010", "0.05")];
    let plan = plan(&config);
    let call = outbound(call(&plan, "201", LONDON));
    let trunks: Vec<&str> = call.attempts.iter().map(|a| a.trunk.as_str()).collect();
    assert_eq!(trunks, ["b", "a", "c"]);
}

#[test]
fn in_order_keeps_the_listed_order_and_does_not_skip_trunks_without_a_rate() {
    let plan = plan(&three_trunks(Strategy::InOrder));
    let call = outbound(call(&plan, "201", LONDON));
    assert_eq!(
        order(&call),
        [
            ("a", Some(10_000), None),
            ("b", Some(12_000), None),
            ("c", None, None)
        ]
    );
}

#[test]
fn trunks_that_are_down_or_over_their_limits_are_skipped_in_place() {
    let mut config = three_trunks(Strategy::LeastCost);
    config.trunks[1].max_calls = Some(30);
    config.trunks[2].max_cps = Some(5);
    let plan = plan(&config);
    let load = Load::default()
        .trunk(
            "a",
            TrunkLoad {
                up: false,
                ..TrunkLoad::IDLE
            },
        )
        .trunk(
            "b",
            TrunkLoad {
                calls: 30,
                ..TrunkLoad::IDLE
            },
        )
        .trunk(
            "c",
            TrunkLoad {
                calls_last_second: 5,
                ..TrunkLoad::IDLE
            },
        );
    let call = outbound(call_with(&plan, "201", MOBILE, noon(), &load));
    assert_eq!(
        order(&call),
        [
            ("b", Some(20_000), Some(Skip::OverMaxCalls { limit: 30 })),
            ("c", Some(30_000), Some(Skip::OverMaxCps { limit: 5 })),
            ("a", Some(50_000), Some(Skip::Down)),
        ]
    );
    assert_eq!(call.usable().count(), 0);
    // Under the limits, the trunks are used.
    let load = Load::default().trunk(
        "b",
        TrunkLoad {
            calls: 29,
            calls_last_second: 4,
            up: true,
        },
    );
    let call = outbound(call_with(&plan, "201", MOBILE, noon(), &load));
    assert_eq!(call.usable().next().map(|a| a.trunk.as_str()), Some("b"));
}

#[test]
fn each_trunk_gets_the_number_in_its_format_then_stripped_then_prefixed() {
    let mut config = three_trunks(Strategy::InOrder);
    config.trunks[0].number_format = NumberFormat::E164;
    config.trunks[0].strip = 1;
    config.trunks[1].number_format = NumberFormat::National;
    config.trunks[2].number_format = NumberFormat::International;
    config.trunks[2].strip = 2;
    config.trunks[2].prepend = "1234#".to_owned();
    config.outbound_routes[0].patterns.clear();
    let plan = plan(&config);
    let numbers = |dialled: &str| -> Vec<String> {
        outbound(call(&plan, "201", dialled))
            .attempts
            .into_iter()
            .map(|a| a.number)
            .collect()
    };
    assert_eq!(
        numbers(LONDON),
        ["442079460000", "02079460000", "1234#442079460000"]
    );
    assert_eq!(
        numbers("00 33 1 23 45 67 89"),
        ["33123456789", "0033123456789", "1234#33123456789"]
    );
}

#[test]
fn national_format_from_north_america_follows_nanp_dialling() {
    let mut config = config(Some("US"), Some("America/New_York"));
    let mut national = trunk("national");
    national.number_format = NumberFormat::National;
    let mut international = trunk("international");
    international.number_format = NumberFormat::International;
    config.trunks = vec![national, international];
    config.outbound_routes.push(route(
        "all",
        &[],
        Strategy::InOrder,
        &["national", "international"],
    ));
    let plan = plan(&config);
    let numbers = |dialled: &str| -> Vec<String> {
        outbound(call(&plan, "201", dialled))
            .attempts
            .into_iter()
            .map(|a| a.number)
            .collect()
    };
    assert_eq!(numbers("415 555 0100"), ["4155550100", "01114155550100"]);
    assert_eq!(
        numbers("+1 416 555 0123"),
        ["14165550123", "01114165550123"]
    );
    assert_eq!(
        numbers("011 44 20 7946 0000"),
        ["011442079460000", "011442079460000"]
    );
}

#[test]
fn the_first_route_in_file_order_that_accepts_the_number_carries_it() {
    let mut config = three_trunks(Strategy::InOrder);
    config.outbound_routes = vec![
        route("one-number", &["+442079460001"], Strategy::InOrder, &["c"]),
        route("france", &["+33*", "+262*"], Strategy::InOrder, &["b"]),
        {
            let mut r = route("international", &[], Strategy::InOrder, &["a"]);
            r.classes = vec![International];
            r
        },
        route("uk", &["+44*"], Strategy::InOrder, &["a", "b"]),
    ];
    let plan = plan(&config);
    let via = |dialled: &str| outbound(call(&plan, "201", dialled)).route;
    assert_eq!(via("020 7946 0001").as_deref(), Some("one-number"));
    assert_eq!(via("020 7946 0000").as_deref(), Some("uk"));
    assert_eq!(via("00 33 1 23 45 67 89").as_deref(), Some("france"));
    assert_eq!(via("00 49 30 123456").as_deref(), Some("international"));
    // Without the `international` route no route takes German numbers.
    config.outbound_routes.remove(2);
    let plan = fixture::plan(&config);
    match call(&plan, "201", "00 49 30 123456") {
        Decision::NoRoute(no_route) => {
            assert_eq!(no_route.reason, NoRouteReason::NoMatchingRoute);
            assert_eq!(no_route.status(), 404);
            assert_eq!(
                no_route.to_string(),
                "no outbound route accepts +4930123456 (international)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn caller_id_is_the_extension_number_then_the_route_then_the_trunk_unless_withheld() {
    let mut config = three_trunks(Strategy::InOrder);
    config.trunks[0].caller_id = Some("+441000000001".to_owned());
    config.trunks[1].caller_id = Some("+441000000002".to_owned());
    let ids = |config: &Config| -> (bool, Vec<Option<String>>) {
        let call = outbound(call(&fixture::plan(config), "201", LONDON));
        (
            call.withheld,
            call.attempts.into_iter().map(|a| a.caller_id).collect(),
        )
    };
    // Trunk caller IDs; none set on c (never the internal number 201).
    assert_eq!(
        ids(&config),
        (
            false,
            vec![
                Some("+441000000001".to_owned()),
                Some("+441000000002".to_owned()),
                None
            ]
        )
    );
    config.outbound_routes[0].caller_id = Some("+442079460999".to_owned());
    assert_eq!(
        ids(&config),
        (false, vec![Some("+442079460999".to_owned()); 3])
    );
    config.extensions[0].external_number = Some("+442079460201".to_owned());
    assert_eq!(
        ids(&config),
        (false, vec![Some("+442079460201".to_owned()); 3])
    );
    config.extensions[0].withhold_caller_id = true;
    assert_eq!(ids(&config), (true, vec![None; 3]));
}

/// Emergency: `emergency` trunk, then the routes carrying emergency calls.
fn emergency_config() -> Config {
    let mut config = three_trunks(Strategy::LeastCost);
    let mut emergency = trunk("emergency");
    emergency.number_format = NumberFormat::International;
    emergency.strip = 2;
    emergency.prepend = "+44".to_owned();
    emergency.max_calls = Some(1);
    config.trunks.push(emergency);
    config.site.emergency_trunk = Some("emergency".to_owned());
    config.outbound_routes = vec![
        // Does not carry emergency calls: its pattern is on E.164 numbers.
        route("uk", &["+44*"], Strategy::LeastCost, &["a"]),
        {
            let mut r = route("999", &[], Strategy::InOrder, &["c", "emergency"]);
            r.classes = vec![Emergency];
            r.caller_id = Some("+442079460999".to_owned());
            r
        },
        route("default", &["+*"], Strategy::InOrder, &["b", "c"]),
    ];
    config
}

#[test]
fn emergency_calls_try_the_emergency_trunk_then_the_emergency_routes_and_ignore_limits() {
    let plan = plan(&emergency_config());
    let load = Load::default()
        .trunk(
            "emergency",
            TrunkLoad {
                calls: 7,
                calls_last_second: 9,
                up: true,
            },
        )
        .trunk(
            "c",
            TrunkLoad {
                up: false,
                ..TrunkLoad::IDLE
            },
        );
    let call = outbound(call_with(&plan, "201", "999", noon(), &load));
    assert!(call.emergency);
    assert_eq!(call.class, Emergency);
    assert_eq!(call.normalized, "999");
    assert_eq!(call.region, None);
    assert_eq!(call.route.as_deref(), Some("999"));
    let attempts: Vec<(&str, &str, Option<Skip>, Option<&str>)> = call
        .attempts
        .iter()
        .map(|a| {
            (
                a.trunk.as_str(),
                a.number.as_str(),
                a.skipped,
                a.caller_id.as_deref(),
            )
        })
        .collect();
    // Over max_calls and max_cps, still first; c is down and goes last; `uk` does not carry
    // emergency calls, `default` (`+*`) does. The short code keeps the tech prefix only.
    assert_eq!(
        attempts,
        [
            ("emergency", "+44999", None, Some("+442079460999")),
            ("b", "999", None, Some("+442079460999")),
            ("c", "999", None, Some("+442079460999")),
        ]
    );
}

#[test]
fn an_emergency_call_with_no_trunk_for_it_is_a_404_that_says_so() {
    let mut config = three_trunks(Strategy::LeastCost);
    config.site.emergency_trunk = None;
    let plan = plan(&config);
    match call(&plan, "201", "112") {
        Decision::NoRoute(no_route) => {
            assert_eq!(no_route.reason, NoRouteReason::NoEmergencyTrunk);
            assert_eq!(no_route.status(), 404);
            assert_eq!(no_route.class, Some(Emergency));
        }
        other => panic!("{other:?}"),
    }
}
