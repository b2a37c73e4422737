//! One incoming call's decision per iteration: the DID and the caller normalised, a
//! 100-pattern blocklist, 50 inbound routes with the matching one last, then two nested time
//! conditions (holidays, weekly hours with exceptions) decided in Europe/London
//! (`route_inbound/*`); and `resolve` alone on the same time conditions (`resolve/*`).
//!
//! `cargo bench -p crossbar-routing --bench inbound -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use crossbar_config::{
    CivilDate, Config, DatedHours, Destination, Holiday, InboundRoute, Ivr, NumberPattern,
    PromptRef, TimeCondition, WeeklyHours,
};
use crossbar_routing::{DialPlan, Idle, InboundCall, InboundDecision, Target};
use jiff::Timestamp;

fn hours(text: &str) -> WeeklyHours {
    text.parse().expect("bench hours")
}

fn date(year: i16, month: u8, day: u8) -> CivilDate {
    CivilDate { year, month, day }
}

fn config() -> Config {
    let text = r#"
[site]
country = "GB"
timezone = "Europe/London"
area_code = "20"

[[extension]]
number = "201"
secret = "secret-201-abcdef"

[[extension]]
number = "202"
secret = "secret-202-abcdef"
"#;
    let mut config = Config::parse(text, Path::new("bench.toml")).expect("bench config parses");
    config.inbound.blocklist = (0..100)
        .map(|i| NumberPattern::Exact(format!("+4479460{i:05}")))
        .collect();
    for i in 0..49 {
        config.inbound_routes.push(InboundRoute {
            name: format!("other-{i}"),
            trunks: Vec::new(),
            dids: vec![NumberPattern::Exact(format!("+4416149600{i:02}"))],
            callers: Vec::new(),
            anonymous: None,
            destination: Destination::Extension("202".to_owned()),
            language: None,
            vip: false,
        });
    }
    config.inbound_routes.push(InboundRoute {
        name: "main".to_owned(),
        trunks: Vec::new(),
        dids: vec![NumberPattern::Range {
            from: "+442079460000".to_owned(),
            to: "+442079460099".to_owned(),
        }],
        callers: Vec::new(),
        anonymous: None,
        destination: Destination::TimeCondition("holidays".to_owned()),
        language: None,
        vip: false,
    });
    config.time_conditions = vec![
        TimeCondition {
            name: "holidays".to_owned(),
            open: vec![hours("mon-sun 00:00-24:00")],
            holidays: vec![
                Holiday::Yearly { month: 1, day: 1 },
                Holiday::Yearly { month: 12, day: 25 },
                Holiday::Yearly { month: 12, day: 26 },
                Holiday::Date(date(2026, 4, 3)),
                Holiday::Date(date(2026, 4, 6)),
                Holiday::Date(date(2026, 5, 4)),
                Holiday::Date(date(2026, 5, 25)),
                Holiday::Date(date(2026, 8, 31)),
                Holiday::Range {
                    from: date(2026, 12, 27),
                    to: date(2026, 12, 31),
                },
            ],
            exceptions: Vec::new(),
            when_open: Destination::TimeCondition("office".to_owned()),
            when_closed: Destination::Extension("202".to_owned()),
        },
        TimeCondition {
            name: "office".to_owned(),
            open: vec![hours("mon-thu 09:00-17:30"), hours("fri 09:00-16:00")],
            holidays: Vec::new(),
            exceptions: vec![DatedHours {
                date: date(2026, 12, 24),
                hours: vec![hours("mon 09:00-12:00")],
            }],
            when_open: Destination::Ivr("main".to_owned()),
            when_closed: Destination::Extension("202".to_owned()),
        },
    ];
    config.ivrs.push(Ivr {
        name: "main".to_owned(),
        number: None,
        prompt: PromptRef::Named("main".to_owned()),
        options: vec![('1', Destination::Extension("201".to_owned()))],
        direct_dial: true,
        timeout_secs: 5,
        digit_timeout_secs: 3,
        retries: 2,
        invalid_prompt: None,
        timeout_prompt: None,
        on_failure: Destination::Hangup,
    });
    config
}

fn bench(c: &mut Criterion) {
    let plan = DialPlan::compile(&config()).expect("bench config compiles");
    // A Wednesday, 12:00 BST.
    let at: Timestamp = "2026-06-10T11:00:00Z".parse().expect("timestamp");
    let mut group = c.benchmark_group("route_inbound");
    for (name, did, caller) in [
        (
            "national_did_mobile_caller",
            "02079460042",
            Some("07400 123456"),
        ),
        (
            "e164_did_e164_caller",
            "+442079460042",
            Some("+447400123456"),
        ),
        ("e164_did_anonymous", "+442079460042", None),
    ] {
        let call = InboundCall {
            trunk: "carrier",
            did,
            caller,
        };
        let decision = plan.route_inbound(&call, at, &Idle);
        assert!(
            matches!(&decision, InboundDecision::Route(r) if r.target == Target::Ivr("main".to_owned()) && r.steps.len() == 3),
            "{name}: {decision:?}"
        );
        group.bench_function(name, |b| {
            b.iter(|| plan.route_inbound(black_box(&call), at, &Idle));
        });
    }
    group.finish();

    let destination = Destination::TimeCondition("holidays".to_owned());
    c.bench_function("resolve/two_nested_time_conditions", |b| {
        b.iter(|| plan.resolve(black_box(&destination), at, &Idle));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
