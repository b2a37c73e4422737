//! Class of service: destination classes, countries, time rules (in the site's time zone,
//! across DST changes and midnight), concurrency, fraud caps, blocks; emergency calls pass
//! all of it.

mod fixture;

use crossbar_cdr::DestinationClass::{self, International, Mobile, Premium};
use crossbar_config::{TimeRule, WeeklyHours};
use crossbar_routing::{
    Attempt, Decision, DenyReason, DialPlan, ExtensionUsage, FraudCap, Identity, NoRouteReason,
};
use fixture::{Load, at, call, call_with, country, money, noon, outbound, plan, site};
use jiff::Timestamp;

const GB_LANDLINE: &str = "020 7946 0000";
const GB_PREMIUM: &str = "0906 123 4567";
const FRANCE: &str = "00 33 1 23 45 67 89";
const GERMANY: &str = "00 49 30 123456";
const USA: &str = "00 1 415 555 0100";

fn gb() -> crossbar_config::Config {
    site("GB", "Europe/London", Some("20"))
}

#[track_caller]
fn denial(decision: Decision) -> DenyReason {
    match decision {
        Decision::Denied(denial) => denial.reason,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn is_outbound(decision: &Decision) -> bool {
    matches!(decision, Decision::Outbound(_))
}

fn hours(days: &[u8], start: (u16, u16), end: (u16, u16)) -> WeeklyHours {
    WeeklyHours {
        days: days.iter().fold(0, |set, d| set | 1 << d),
        start_minute: start.0 * 60 + start.1,
        end_minute: end.0 * 60 + end.1,
    }
}

const MON_FRI: &[u8] = &[0, 1, 2, 3, 4];

fn with_time_rule(classes: &[DestinationClass], hours: Vec<WeeklyHours>) -> DialPlan {
    let mut config = gb();
    config.classes[0].time_rules.push(TimeRule {
        classes: classes.to_vec(),
        hours,
    });
    plan(&config)
}

#[test]
fn a_class_allows_only_the_destination_classes_it_lists() {
    let plan = plan(&gb());
    assert!(is_outbound(&call(&plan, "201", GB_PREMIUM)));
    assert!(is_outbound(&call(&plan, "202", GB_LANDLINE)));
    assert!(is_outbound(&call(&plan, "202", "07400 123456")));
    assert_eq!(
        denial(call(&plan, "202", GB_PREMIUM)),
        DenyReason::ClassForbids {
            class: "staff".to_owned(),
            destination: Premium
        }
    );
    match call(&plan, "202", FRANCE) {
        Decision::Denied(denial) => {
            assert_eq!(denial.normalized.as_deref(), Some("+33123456789"));
            assert_eq!(denial.class, Some(International));
            assert_eq!(
                denial.reason.to_string(),
                "class staff does not allow international calls"
            );
            assert!(!denial.reason.trips_block());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_extension_without_a_class_may_dial_only_extensions_and_emergency_numbers() {
    let plan = plan(&gb());
    assert_eq!(denial(call(&plan, "203", GB_LANDLINE)), DenyReason::NoClass);
    assert_eq!(
        denial(call(&plan, "203", "0800 123 4567")),
        DenyReason::NoClass
    );
    assert_eq!(
        call(&plan, "203", "201"),
        Decision::Extension {
            number: "201".to_owned()
        }
    );
    assert!(outbound(call(&plan, "203", "999")).emergency);
}

#[test]
fn an_extension_is_reached_by_number_or_user_name_whatever_the_class() {
    let plan = plan(&gb());
    for (from, dialled) in [("202", "204"), ("203", "alice"), ("201", "alice")] {
        assert_eq!(
            call(&plan, from, dialled),
            Decision::Extension {
                number: "204".to_owned()
            },
            "{from} → {dialled}"
        );
    }
    // Callers are known by their user name too.
    assert!(is_outbound(&call(&plan, "alice", GB_LANDLINE)));
}

#[test]
fn blocked_countries_are_checked_before_allowed_ones_and_only_for_international_calls() {
    let mut config = gb();
    config.classes[0].block_countries = vec![country("FR")];
    config.classes[0].allow_countries = vec![country("FR"), country("DE"), country("GB")];
    let plan = plan(&config);
    assert_eq!(
        denial(call(&plan, "201", FRANCE)),
        DenyReason::CountryBlocked {
            class: "world".to_owned(),
            country: "FR".to_owned()
        }
    );
    assert!(is_outbound(&call(&plan, "201", GERMANY)));
    let reason = denial(call(&plan, "201", USA));
    assert_eq!(
        reason,
        DenyReason::CountryNotAllowed {
            class: "world".to_owned(),
            country: Some("US".to_owned())
        }
    );
    assert_eq!(
        reason.to_string(),
        "class world allows international calls only to the countries it lists, not to US"
    );
    assert_eq!(
        denial(call(&plan, "201", "+800 1234 5678")),
        DenyReason::CountryNotAllowed {
            class: "world".to_owned(),
            country: None
        }
    );
    // Domestic calls are not international: the country lists do not apply.
    assert!(is_outbound(&call(&plan, "201", GB_PREMIUM)));
}

#[test]
fn a_time_rule_follows_local_time_across_the_spring_dst_change_in_london() {
    let plan = with_time_rule(&[International], vec![hours(MON_FRI, (8, 0), (18, 0))]);
    let allowed =
        |when: &str| is_outbound(&call_with(&plan, "201", FRANCE, at(when), &Load::default()));
    // Friday 27 March 2026, GMT (UTC+0).
    assert!(allowed("2026-03-27T08:00:00Z"));
    assert!(!allowed("2026-03-27T07:59:00Z"));
    assert!(allowed("2026-03-27T17:59:00Z"));
    assert!(!allowed("2026-03-27T18:00:00Z"));
    // Clocks go forward on Sunday 29 March. Monday 30 March, BST (UTC+1): 08:00 local is
    // 07:00 UTC.
    assert!(allowed("2026-03-30T07:00:00Z"));
    assert!(!allowed("2026-03-30T06:59:00Z"));
    assert!(allowed("2026-03-30T16:59:00Z"));
    assert!(!allowed("2026-03-30T17:00:00Z"));
    // Not at weekends.
    assert!(!allowed("2026-03-28T12:00:00Z"));
    let reason = denial(call_with(
        &plan,
        "201",
        FRANCE,
        at("2026-03-30T06:59:00Z"),
        &Load::default(),
    ));
    assert_eq!(
        reason.to_string(),
        "class world allows international calls only mon,tue,wed,thu,fri 08:00-18:00; \
         it is mon 07:59 in Europe/London"
    );
}

#[test]
fn a_time_rule_follows_local_time_across_the_autumn_dst_change_in_london() {
    let plan = with_time_rule(&[International], vec![hours(MON_FRI, (8, 0), (18, 0))]);
    let allowed =
        |when: &str| is_outbound(&call_with(&plan, "201", FRANCE, at(when), &Load::default()));
    // Friday 23 October 2026, BST.
    assert!(allowed("2026-10-23T07:00:00Z"));
    assert!(!allowed("2026-10-23T06:59:00Z"));
    // Clocks go back on Sunday 25 October. Monday 26 October, GMT.
    assert!(allowed("2026-10-26T08:00:00Z"));
    assert!(!allowed("2026-10-26T07:30:00Z"));
    assert!(allowed("2026-10-26T17:59:00Z"));
    assert!(!allowed("2026-10-26T18:00:00Z"));
}

#[test]
fn a_time_rule_spanning_midnight_covers_the_next_morning() {
    // Premium calls only Friday night (22:00 to Saturday 06:00) — BST in June, UTC+1.
    let plan = with_time_rule(&[Premium], vec![hours(&[4], (22, 0), (6, 0))]);
    let allowed = |when: &str| {
        is_outbound(&call_with(
            &plan,
            "201",
            GB_PREMIUM,
            at(when),
            &Load::default(),
        ))
    };
    assert!(allowed("2026-06-12T21:00:00Z")); // Fri 22:00
    assert!(allowed("2026-06-12T23:30:00Z")); // Sat 00:30
    assert!(allowed("2026-06-13T04:59:00Z")); // Sat 05:59
    assert!(!allowed("2026-06-13T05:00:00Z")); // Sat 06:00
    assert!(!allowed("2026-06-12T20:59:00Z")); // Fri 21:59
    assert!(!allowed("2026-06-13T21:00:00Z")); // Sat 22:00
    // Classes the rule does not name are not restricted.
    assert!(is_outbound(&call_with(
        &plan,
        "201",
        FRANCE,
        at("2026-06-13T05:00:00Z"),
        &Load::default()
    )));
}

#[test]
fn every_time_rule_naming_a_class_must_admit_the_call() {
    let mut config = gb();
    config.classes[0].time_rules = vec![
        TimeRule {
            classes: vec![International, Mobile],
            hours: vec![hours(MON_FRI, (8, 0), (18, 0))],
        },
        TimeRule {
            classes: vec![International],
            hours: vec![hours(MON_FRI, (12, 0), (14, 0))],
        },
    ];
    let plan = plan(&config);
    // Wednesday 10 June 2026, 10:00 BST.
    let morning = at("2026-06-10T09:00:00Z");
    let load = Load::default();
    assert!(is_outbound(&call_with(
        &plan,
        "201",
        "07400 123456",
        morning,
        &load
    )));
    assert!(matches!(
        denial(call_with(&plan, "201", FRANCE, morning, &load)),
        DenyReason::OutsideHours { .. }
    ));
    assert!(is_outbound(&call_with(
        &plan,
        "201",
        FRANCE,
        at("2026-06-10T12:00:00Z"),
        &load
    )));
}

#[test]
fn max_concurrent_counts_the_calls_the_extension_has_up() {
    let mut config = gb();
    config.classes[0].max_concurrent = Some(2);
    let plan = plan(&config);
    let with_calls = |calls_now| {
        Load::default().extension(
            "201",
            ExtensionUsage {
                calls_now,
                ..ExtensionUsage::default()
            },
        )
    };
    assert!(is_outbound(&call_with(
        &plan,
        "201",
        GB_LANDLINE,
        noon(),
        &with_calls(1)
    )));
    let reason = denial(call_with(&plan, "201", GB_LANDLINE, noon(), &with_calls(2)));
    assert_eq!(reason, DenyReason::MaxConcurrent { limit: 2 });
    assert!(!reason.trips_block());
}

#[test]
fn each_fraud_cap_denies_the_call_that_would_exceed_it_and_trips_a_block() {
    let mut config = gb();
    config.classes[0].max_calls_per_minute = Some(5);
    config.classes[0].max_calls_per_day = Some(100);
    config.classes[0].daily_spend_limit = Some(money("20"));
    let plan = plan(&config);
    let route = |usage: ExtensionUsage| {
        call_with(
            &plan,
            "201",
            GB_LANDLINE,
            noon(),
            &Load::default().extension("201", usage),
        )
    };
    let under = ExtensionUsage {
        calls_last_minute: 4,
        calls_today: 99,
        spend_today: money("19.99"),
        ..ExtensionUsage::default()
    };
    assert!(is_outbound(&route(under)));
    for (usage, cap) in [
        (
            ExtensionUsage {
                calls_last_minute: 5,
                ..under
            },
            FraudCap::PerMinute { limit: 5 },
        ),
        (
            ExtensionUsage {
                calls_today: 100,
                ..under
            },
            FraudCap::PerDay { limit: 100 },
        ),
        (
            ExtensionUsage {
                spend_today: money("20"),
                ..under
            },
            FraudCap::DailySpend { limit: money("20") },
        ),
    ] {
        let reason = denial(route(usage));
        assert_eq!(reason, DenyReason::FraudCap(cap));
        assert!(reason.trips_block(), "{reason}");
        assert!(reason.to_string().starts_with("fraud cap: "), "{reason}");
    }
    assert_eq!(
        DenyReason::FraudCap(FraudCap::DailySpend { limit: money("20") }).to_string(),
        "fraud cap: today's spend has reached 20.0000 (daily_spend_limit = 20.0000); \
         the extension is now blocked"
    );
}

#[test]
fn a_blocked_extension_is_denied_before_anything_else() {
    let plan = plan(&gb());
    let blocked = |number: &str| {
        Load::default().extension(
            number,
            ExtensionUsage {
                blocked: true,
                ..ExtensionUsage::default()
            },
        )
    };
    assert_eq!(
        denial(call_with(
            &plan,
            "201",
            GB_LANDLINE,
            noon(),
            &blocked("201")
        )),
        DenyReason::Blocked
    );
    // Blocked comes before the class check.
    assert_eq!(
        denial(call_with(&plan, "202", GB_PREMIUM, noon(), &blocked("202"))),
        DenyReason::Blocked
    );
    // Internal calls are not outbound calls.
    assert!(matches!(
        call_with(&plan, "201", "202", noon(), &blocked("201")),
        Decision::Extension { .. }
    ));
}

#[test]
fn emergency_calls_pass_every_restriction() {
    let mut config = gb();
    for class in &mut config.classes {
        class.allow.clear();
        class.max_concurrent = Some(0);
        class.max_calls_per_minute = Some(0);
        class.max_calls_per_day = Some(0);
        class.daily_spend_limit = Some(money("0"));
        class.time_rules = vec![TimeRule {
            classes: DestinationClass::ALL.to_vec(),
            hours: vec![hours(&[6], (0, 0), (0, 1))],
        }];
    }
    let plan = plan(&config);
    let worst = ExtensionUsage {
        blocked: true,
        calls_now: 50,
        calls_last_minute: 50,
        calls_today: 5000,
        spend_today: money("10000"),
    };
    for from in ["201", "202", "203"] {
        let load = Load::default().extension(from, worst);
        for code in ["999", "112"] {
            let call = outbound(call_with(&plan, from, code, noon(), &load));
            assert!(call.emergency, "{from} {code}");
        }
        assert!(matches!(
            call_with(&plan, from, GB_LANDLINE, noon(), &load),
            Decision::Denied(_)
        ));
    }
}

#[test]
fn calls_from_carriers_and_unknown_callers_are_not_routed_out() {
    let plan = plan(&gb());
    let route = |caller: Identity| {
        plan.route(
            &Attempt {
                caller: &caller,
                dialled: "020 7946 0000",
            },
            Timestamp::UNIX_EPOCH,
            &Load::default(),
        )
    };
    match route(Identity::Trunk("carrier".to_owned())) {
        Decision::NoRoute(no_route) => {
            assert_eq!(no_route.reason, NoRouteReason::InboundNotConfigured);
            assert_eq!(no_route.status(), 404);
            assert_eq!(no_route.to_string(), "inbound routes are not configured");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(denial(route(Identity::Unknown)), DenyReason::UnknownCaller);
    assert_eq!(
        denial(route(Identity::Extension("999999".to_owned()))),
        DenyReason::UnknownCaller
    );
}
