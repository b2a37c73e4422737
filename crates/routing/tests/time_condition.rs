//! Time conditions: weekly hours in the site's time zone across both 2026 DST changes of
//! London and New York, holidays (a date, a range, every year) on local dates, dated
//! exceptions, manual overrides, nested conditions and loops.

mod fixture;

use crossbar_cdr::StepKind;
use crossbar_config::{CivilDate, Config, DatedHours, Holiday};
use crossbar_routing::{DialPlan, Live, MAX_TIME_CONDITIONS, Resolution, Step, Target};
use fixture::{
    Load, at, config, dest, hours, inbound_route, inbound_with, plan, routed, time_condition,
};
use jiff::Timestamp;

const OPEN: &str = "ext:201";
const CLOSED: &str = "ext:202";

fn office(zone: &str) -> Config {
    let mut config = config(Some("GB"), Some(zone));
    config.time_conditions.push(time_condition(
        "office",
        &["mon-fri 09:00-17:30"],
        OPEN,
        CLOSED,
    ));
    config
}

fn resolve_with(plan: &DialPlan, name: &str, when: Timestamp, live: &dyn Live) -> Resolution {
    plan.resolve(&dest(&format!("tc:{name}")), when, live)
}

/// The verdict of `office` at `when`: (open, the step's result).
fn office_at(plan: &DialPlan, when: &str) -> (bool, String) {
    verdict(plan, "office", when, &Load::default())
}

fn verdict(plan: &DialPlan, name: &str, when: &str, live: &dyn Live) -> (bool, String) {
    let resolution = resolve_with(plan, name, at(when), live);
    let open = match &resolution.target {
        Target::Extension(n) if n == "201" => true,
        Target::Extension(n) if n == "202" => false,
        other => panic!("{when}: unexpected target {other:?}"),
    };
    assert_eq!(resolution.steps.len(), 1, "{resolution:?}");
    assert_eq!(resolution.steps[0].kind, StepKind::TimeCondition);
    assert_eq!(resolution.steps[0].name, name);
    (open, resolution.steps[0].result.clone())
}

fn date(year: i16, month: u8, day: u8) -> CivilDate {
    CivilDate { year, month, day }
}

#[test]
fn london_office_hours_follow_the_clocks_across_both_2026_changes() {
    let plan = plan(&office("Europe/London"));
    // Clocks go forward on Sunday 29 March 2026 at 01:00 UTC.
    assert_eq!(
        office_at(&plan, "2026-03-23T08:30:00Z"),
        (
            false,
            "closed (outside mon-fri 09:00-17:30; it is mon 08:30)".to_owned()
        )
    );
    assert_eq!(
        office_at(&plan, "2026-03-30T08:30:00Z"),
        (true, "open (mon-fri 09:00-17:30)".to_owned())
    );
    assert!(office_at(&plan, "2026-03-23T17:00:00Z").0, "17:00 GMT");
    assert!(!office_at(&plan, "2026-03-30T17:00:00Z").0, "18:00 BST");
    // Clocks go back on Sunday 25 October 2026 at 01:00 UTC.
    assert!(office_at(&plan, "2026-10-19T08:30:00Z").0, "09:30 BST");
    assert!(!office_at(&plan, "2026-10-26T08:30:00Z").0, "08:30 GMT");
    assert!(!office_at(&plan, "2026-10-23T16:45:00Z").0, "17:45 BST");
    assert!(office_at(&plan, "2026-10-30T16:45:00Z").0, "16:45 GMT");
}

#[test]
fn new_york_office_hours_follow_the_clocks_across_both_2026_changes() {
    let plan = plan(&office("America/New_York"));
    // Clocks go forward on Sunday 8 March 2026 at 07:00 UTC (02:00 EST).
    assert_eq!(
        office_at(&plan, "2026-03-02T13:30:00Z"),
        (
            false,
            "closed (outside mon-fri 09:00-17:30; it is mon 08:30)".to_owned()
        )
    );
    assert!(office_at(&plan, "2026-03-09T13:30:00Z").0, "09:30 EDT");
    assert!(office_at(&plan, "2026-03-06T22:15:00Z").0, "17:15 EST");
    assert!(!office_at(&plan, "2026-03-13T22:15:00Z").0, "18:15 EDT");
    // Clocks go back on Sunday 1 November 2026 at 06:00 UTC (02:00 EDT).
    assert!(office_at(&plan, "2026-10-26T13:30:00Z").0, "09:30 EDT");
    assert!(!office_at(&plan, "2026-11-02T13:30:00Z").0, "08:30 EST");
    assert!(office_at(&plan, "2026-11-02T14:30:00Z").0, "09:30 EST");
}

#[test]
fn hours_around_the_missing_hour_open_when_the_clock_reaches_them() {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config
        .time_conditions
        .push(time_condition("night", &["sun 01:30-03:00"], OPEN, CLOSED));
    let plan = plan(&config);
    let live = Load::default();
    // 00:59 GMT, then 02:00 BST a minute later: 01:30 never happens that night.
    assert!(!verdict(&plan, "night", "2026-03-29T00:59:00Z", &live).0);
    assert!(verdict(&plan, "night", "2026-03-29T01:00:00Z", &live).0);
    assert!(!verdict(&plan, "night", "2026-03-29T02:00:00Z", &live).0);
}

#[test]
fn a_holiday_closes_the_whole_local_date() {
    let mut config = office("America/New_York");
    config.time_conditions[0].open = vec![hours("mon-sun 00:00-24:00")];
    config.time_conditions[0].holidays = vec![Holiday::Date(date(2026, 12, 25))];
    let plan = plan(&config);
    let closed = (false, "closed (holiday 2026-12-25)".to_owned());
    assert_eq!(office_at(&plan, "2026-12-25T15:00:00Z"), closed);
    // 23:30 on the 25th in New York is already the 26th in UTC.
    assert_eq!(office_at(&plan, "2026-12-26T04:30:00Z"), closed);
    // 23:30 on the 24th in New York is the 25th in UTC.
    assert!(office_at(&plan, "2026-12-25T04:30:00Z").0);
    assert!(office_at(&plan, "2026-12-26T05:30:00Z").0);
}

#[test]
fn holidays_can_be_ranges_of_dates_and_days_of_every_year() {
    let mut config = office("Europe/London");
    config.time_conditions[0].holidays = vec![
        Holiday::Range {
            from: date(2026, 12, 24),
            to: date(2026, 12, 31),
        },
        Holiday::Yearly { month: 1, day: 1 },
    ];
    let plan = plan(&config);
    assert!(office_at(&plan, "2026-12-23T10:00:00Z").0, "the day before");
    for day in ["2026-12-24", "2026-12-28", "2026-12-31"] {
        assert_eq!(
            office_at(&plan, &format!("{day}T10:00:00Z")),
            (false, "closed (holiday 2026-12-24..2026-12-31)".to_owned()),
            "{day}"
        );
    }
    for new_year in ["2027-01-01T10:00:00Z", "2030-01-01T10:00:00Z"] {
        assert_eq!(
            office_at(&plan, new_year),
            (false, "closed (holiday every 01-01)".to_owned())
        );
    }
    assert!(
        office_at(&plan, "2027-01-04T10:00:00Z").0,
        "the Monday after"
    );
}

#[test]
fn a_dated_exception_wins_over_holidays_and_weekly_hours() {
    let mut config = office("Europe/London");
    let condition = &mut config.time_conditions[0];
    condition.holidays = vec![Holiday::Range {
        from: date(2026, 12, 24),
        to: date(2026, 12, 31),
    }];
    condition.exceptions = vec![
        // Christmas Eve, a Thursday: mornings only, holiday or not.
        DatedHours {
            date: date(2026, 12, 24),
            hours: vec![hours("mon 09:00-12:00")],
        },
        // A Monday closed all day.
        DatedHours {
            date: date(2026, 6, 8),
            hours: Vec::new(),
        },
        // A Saturday opened for a stocktake.
        DatedHours {
            date: date(2026, 6, 13),
            hours: vec![hours("sat 10:00-14:00"), hours("sat 15:00-16:00")],
        },
    ];
    let plan = plan(&config);
    assert_eq!(
        office_at(&plan, "2026-12-24T10:00:00Z"),
        (true, "open (exception 2026-12-24: 09:00-12:00)".to_owned())
    );
    assert_eq!(
        office_at(&plan, "2026-12-24T13:00:00Z"),
        (
            false,
            "closed (exception 2026-12-24: 09:00-12:00)".to_owned()
        )
    );
    assert_eq!(
        office_at(&plan, "2026-06-08T11:00:00Z"),
        (
            false,
            "closed (exception 2026-06-08: closed all day)".to_owned()
        )
    );
    // Local times: 11:00 and 14:30 BST.
    assert_eq!(
        office_at(&plan, "2026-06-13T10:00:00Z"),
        (
            true,
            "open (exception 2026-06-13: 10:00-14:00, 15:00-16:00)".to_owned()
        )
    );
    assert!(!office_at(&plan, "2026-06-13T13:30:00Z").0);
    assert!(
        office_at(&plan, "2026-06-15T11:00:00Z").0,
        "a normal Monday"
    );
}

#[test]
fn a_manual_override_wins_over_everything() {
    let mut config = office("Europe/London");
    config.time_conditions[0].holidays = vec![Holiday::Date(date(2026, 12, 25))];
    config.time_conditions[0].exceptions = vec![DatedHours {
        date: date(2026, 12, 24),
        hours: Vec::new(),
    }];
    let plan = plan(&config);
    let forced_open = Load::default().forced("office", true);
    let forced_closed = Load::default().forced("office", false);
    let open = (true, "open (override)".to_owned());
    assert_eq!(
        verdict(&plan, "office", "2026-12-25T10:00:00Z", &forced_open),
        open
    );
    assert_eq!(
        verdict(&plan, "office", "2026-12-24T10:00:00Z", &forced_open),
        open
    );
    assert_eq!(
        verdict(&plan, "office", "2026-06-13T03:00:00Z", &forced_open),
        open
    );
    assert_eq!(
        verdict(&plan, "office", "2026-06-10T11:00:00Z", &forced_closed),
        (false, "closed (override)".to_owned())
    );
    // Another condition's override changes nothing here.
    let other = Load::default().forced("support", false);
    assert!(verdict(&plan, "office", "2026-06-10T11:00:00Z", &other).0);
}

#[test]
fn nested_conditions_are_followed_each_with_its_step() {
    let mut config = office("Europe/London");
    let mut holidays = time_condition("holidays", &["mon-sun 00:00-24:00"], "tc:office", "ext:203");
    holidays.holidays = vec![Holiday::Yearly { month: 12, day: 25 }];
    config.time_conditions.push(holidays);
    config
        .inbound_routes
        .push(inbound_route("main", &["+442079460000"], "tc:holidays"));
    let plan = plan(&config);

    let christmas = routed(inbound_with(
        &plan,
        "any",
        "+442079460000",
        None,
        at("2026-12-25T10:00:00Z"),
        &Load::default(),
    ));
    assert_eq!(christmas.target, Target::Extension("203".to_owned()));
    assert_eq!(
        christmas.steps[1..],
        [Step::new(
            StepKind::TimeCondition,
            "holidays",
            "closed (holiday every 12-25)"
        )]
    );

    let resolution = resolve_with(
        &plan,
        "holidays",
        at("2026-06-10T11:00:00Z"),
        &Load::default(),
    );
    assert_eq!(resolution.target, Target::Extension("201".to_owned()));
    assert_eq!(
        resolution.steps,
        [
            Step::new(
                StepKind::TimeCondition,
                "holidays",
                "open (mon-sun 00:00-24:00)"
            ),
            Step::new(
                StepKind::TimeCondition,
                "office",
                "open (mon-fri 09:00-17:30)"
            ),
        ]
    );
}

#[test]
fn a_loop_of_time_conditions_ends_the_call_instead_of_running_forever() {
    // The configuration refuses loops; the plan still never follows one.
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.time_conditions = vec![
        time_condition("a", &["mon-sun 00:00-24:00"], "tc:b", "hangup"),
        time_condition("b", &["mon-sun 00:00-24:00"], "tc:a", "hangup"),
    ];
    let plan = plan(&config);
    let resolution = resolve_with(&plan, "a", at("2026-06-10T11:00:00Z"), &Load::default());
    assert_eq!(resolution.target, Target::Hangup);
    assert_eq!(
        resolution.steps.last(),
        Some(&Step::new(
            StepKind::TimeCondition,
            "a",
            "loop of time conditions (a → b → a): the call ends"
        ))
    );
    assert_eq!(resolution.steps.len(), 3);
}

#[test]
fn a_chain_longer_than_the_limit_ends_the_call() {
    let mut config = config(Some("GB"), Some("Europe/London"));
    let count = MAX_TIME_CONDITIONS + 1;
    for i in 0..count {
        let next = if i + 1 < count {
            format!("tc:c{}", i + 1)
        } else {
            "ext:201".to_owned()
        };
        config.time_conditions.push(time_condition(
            &format!("c{i}"),
            &["mon-sun 00:00-24:00"],
            &next,
            "hangup",
        ));
    }
    let plan = plan(&config);
    let resolution = resolve_with(&plan, "c0", at("2026-06-10T11:00:00Z"), &Load::default());
    assert_eq!(resolution.target, Target::Hangup);
    assert_eq!(resolution.steps.len(), MAX_TIME_CONDITIONS + 1);
    assert_eq!(
        resolution.steps.last().map(|s| s.result.as_str()),
        Some("more than 16 time conditions in a row: the call ends")
    );
    // One fewer fits.
    let resolution = resolve_with(&plan, "c1", at("2026-06-10T11:00:00Z"), &Load::default());
    assert_eq!(resolution.target, Target::Extension("201".to_owned()));
}

#[test]
fn an_unknown_destination_given_to_resolve_ends_the_call_with_a_step() {
    let plan = plan(&office("Europe/London"));
    let resolution = plan.resolve(
        &dest("tc:nope"),
        at("2026-06-10T11:00:00Z"),
        &Load::default(),
    );
    assert_eq!(resolution.target, Target::Hangup);
    assert_eq!(
        resolution.steps,
        [Step::new(
            StepKind::TimeCondition,
            "nope",
            "no such time condition: the call ends"
        )]
    );
    let resolution = plan.resolve(
        &dest("ext:alice"),
        at("2026-06-10T11:00:00Z"),
        &Load::default(),
    );
    assert_eq!(resolution.target, Target::Extension("204".to_owned()));
    assert!(resolution.steps.is_empty());
}

#[test]
fn impossible_dates_do_not_compile() {
    let mut config = office("Europe/London");
    config.time_conditions[0].holidays = vec![Holiday::Date(date(2026, 2, 30))];
    let error = DialPlan::compile(&config).expect_err("refused");
    assert_eq!(error.key(), "time_condition[1].holidays");
    config.time_conditions[0].holidays = vec![Holiday::Yearly { month: 2, day: 29 }];
    assert!(
        DialPlan::compile(&config).is_ok(),
        "29 February exists in leap years"
    );
}
