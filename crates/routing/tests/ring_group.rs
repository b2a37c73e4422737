//! Ring groups: the order members ring in per strategy, busy members passed over, outside
//! numbers called with a class of service; escalations after no answer.

mod fixture;

use crossbar_cdr::StepKind;
use crossbar_config::{Member, RingStrategy};
use crossbar_routing::{DialPlan, Idle, MemberPlan, Step, Target, Unanswered};
use fixture::{Load, config, dest, group, noon, plan, time_condition};

fn with_group(strategy: RingStrategy, members: &[&str]) -> DialPlan {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.ring_groups.push(group("sales", strategy, members));
    plan(&config)
}

/// The members' positions in ringing order.
fn positions(order: &[MemberPlan]) -> Vec<usize> {
    order.iter().map(|m| m.position).collect()
}

fn skipped(order: &[MemberPlan]) -> Vec<Option<&str>> {
    order.iter().map(|m| m.skipped.as_deref()).collect()
}

#[test]
fn hunt_and_ring_all_ring_members_as_listed() {
    for strategy in [RingStrategy::Hunt, RingStrategy::RingAll] {
        let plan = with_group(strategy, &["203", "201", "202"]);
        let order = plan.ring_order("sales", &Idle, 42);
        assert_eq!(positions(&order), [0, 1, 2], "{strategy:?}");
        assert_eq!(order[0].member, Member::Extension("203".to_owned()));
        assert_eq!(skipped(&order), [None, None, None]);
    }
}

#[test]
fn round_robin_starts_where_the_live_state_says() {
    let plan = with_group(RingStrategy::RoundRobin, &["201", "202", "203"]);
    assert_eq!(positions(&plan.ring_order("sales", &Idle, 0)), [0, 1, 2]);
    let load = Load::default().round_robin_at("sales", 2);
    assert_eq!(positions(&plan.ring_order("sales", &load, 0)), [2, 0, 1]);
    let load = Load::default().round_robin_at("sales", 1);
    assert_eq!(positions(&plan.ring_order("sales", &load, 0)), [1, 2, 0]);
    // A position past the end (members were removed) wraps round.
    let load = Load::default().round_robin_at("sales", 7);
    assert_eq!(positions(&plan.ring_order("sales", &load, 0)), [1, 2, 0]);
    // Another group's position changes nothing.
    let load = Load::default().round_robin_at("support", 2);
    assert_eq!(positions(&plan.ring_order("sales", &load, 0)), [0, 1, 2]);
}

#[test]
fn random_order_is_a_shuffle_fixed_by_the_seed() {
    let plan = with_group(RingStrategy::Random, &["201", "202", "203", "204"]);
    let first = positions(&plan.ring_order("sales", &Idle, 7));
    assert_eq!(positions(&plan.ring_order("sales", &Idle, 7)), first);
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 2, 3]);
    let orders: std::collections::HashSet<Vec<usize>> = (0..32)
        .map(|seed| positions(&plan.ring_order("sales", &Idle, seed)))
        .collect();
    assert!(orders.len() > 8, "seeds give different orders: {orders:?}");
}

#[test]
fn busy_members_are_passed_over_when_the_group_skips_them() {
    let plan = with_group(RingStrategy::Hunt, &["201", "202", "203"]);
    let load = Load::default().busy("202");
    let order = plan.ring_order("sales", &load, 0);
    assert_eq!(skipped(&order), [None, Some("busy"), None]);

    let mut config = config(Some("GB"), Some("Europe/London"));
    let mut everyone = group("sales", RingStrategy::Hunt, &["201", "202", "203"]);
    everyone.skip_busy = false;
    config.ring_groups.push(everyone);
    let plan = fixture::plan(&config);
    assert_eq!(
        skipped(&plan.ring_order("sales", &load, 0)),
        [None, None, None]
    );
}

#[test]
fn outside_numbers_ring_with_a_class_that_allows_them() {
    // Classes in file order: `world` (everything), `staff` (no international, no premium).
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.ring_groups.push(group(
        "any-class",
        RingStrategy::Hunt,
        &["201", "+447400123456", "+33123456789"],
    ));
    let mut staff = group(
        "staff-class",
        RingStrategy::Hunt,
        &["+447400123456", "+33123456789", "+4412"],
    );
    staff.class = Some("staff".to_owned());
    config.ring_groups.push(staff);
    let plan = plan(&config);

    let order = plan.ring_order("any-class", &Idle, 0);
    let classes: Vec<Option<&str>> = order.iter().map(|m| m.class.as_deref()).collect();
    assert_eq!(classes, [None, Some("world"), Some("world")]);
    assert_eq!(skipped(&order), [None, None, None]);

    let order = plan.ring_order("staff-class", &Idle, 0);
    assert_eq!(order[0].class.as_deref(), Some("staff"));
    assert_eq!(
        skipped(&order),
        [
            None,
            Some("class staff does not allow international calls"),
            Some("+4412 is too short to be a telephone number (incomplete?)"),
        ]
    );

    // With no class allowing it, an outside number is not rung.
    config.classes.clear();
    config.ring_groups.truncate(1);
    for extension in &mut config.extensions {
        extension.class = None;
    }
    let plan = fixture::plan(&config);
    assert_eq!(
        skipped(&plan.ring_order("any-class", &Idle, 0)),
        [
            None,
            Some("no class allows calling +447400123456 (mobile)"),
            Some("no class allows calling +33123456789 (international)"),
        ]
    );
}

#[test]
fn an_unknown_group_rings_nobody() {
    let plan = with_group(RingStrategy::Hunt, &["201"]);
    assert!(plan.ring_order("nope", &Idle, 0).is_empty());
    assert!(plan.ring_group("nope").is_none());
    assert_eq!(plan.ring_group("sales").map(|g| g.ring_secs), Some(20));
}

#[test]
fn members_and_classes_must_exist() {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config
        .ring_groups
        .push(group("sales", RingStrategy::Hunt, &["201", "299"]));
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "ring_group[1].members");

    let mut config = fixture::config(Some("GB"), Some("Europe/London"));
    let mut sales = group("sales", RingStrategy::Hunt, &["201"]);
    sales.class = Some("gold".to_owned());
    config.ring_groups.push(sales);
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "ring_group[1].class");
}

#[test]
fn an_unanswered_group_or_extension_escalates_through_time_conditions() {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.time_conditions.push(time_condition(
        "office",
        &["mon-fri 09:00-17:30"],
        "ext:203",
        "hangup",
    ));
    let mut sales = group("sales", RingStrategy::Hunt, &["201", "202"]);
    sales.escalation.on_no_answer = Some(dest("tc:office"));
    config.ring_groups.push(sales);
    config.extensions[0].escalation.on_busy = Some(dest("group:sales"));
    let plan = plan(&config);

    let sales = Target::Group("sales".to_owned());
    let next = plan
        .escalate(&sales, Unanswered::NoAnswer, noon(), &Idle)
        .expect("escalates");
    assert_eq!(next.target, Target::Extension("203".to_owned()));
    assert_eq!(
        next.steps,
        [
            Step::new(StepKind::Escalation, "sales", "no answer → tc:office"),
            Step::new(
                StepKind::TimeCondition,
                "office",
                "open (mon-fri 09:00-17:30)"
            ),
        ]
    );
    assert_eq!(plan.escalate(&sales, Unanswered::Busy, noon(), &Idle), None);

    let alice = Target::Extension("201".to_owned());
    let next = plan
        .escalate(&alice, Unanswered::Busy, noon(), &Idle)
        .expect("escalates");
    assert_eq!(next.target, sales);
    assert_eq!(
        plan.escalate(&alice, Unanswered::Unavailable, noon(), &Idle),
        None
    );
    assert_eq!(
        plan.escalate(&Target::Hangup, Unanswered::NoAnswer, noon(), &Idle),
        None
    );
}
