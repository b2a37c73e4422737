//! One whole routing decision (normalise, classify, class of service with time rules and
//! fraud caps, route match, least-cost order over three trunks with 50,000-row rate decks,
//! caller ID) per iteration. Target: a median of at most 5 µs.
//!
//! `route/*`: the three trunks take E.164 (the default). `route_mixed_formats/*`: one trunk
//! each in E.164, national and international format; writing a number in national format
//! costs 1–2 µs more (the phone-number library applies its formatting patterns).
//!
//! `cargo bench -p crossbar-routing -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use crossbar_cdr::{DestinationClass, Increment, Money, Rate};
use crossbar_config::{
    Class, Config, NumberFormat, OutboundRoute, RateRow, Strategy, TimeRule, Trunk, TrunkTransport,
    WeeklyHours,
};
use crossbar_routing::{Attempt, Decision, DialPlan, Identity, Idle};
use jiff::Timestamp;

const ROWS: usize = 50_000;

/// Calling codes the synthetic decks spread their rows over.
const COUNTRY_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "54", "55", "56", "57", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "212", "234", "254", "351", "353", "358",
    "420", "852", "971", "972",
];

/// A deterministic deck of `ROWS` rows: every calling code, then longer and longer random
/// prefixes under them (2 to 8 digits after the code), with rates that differ per trunk.
fn deck(seed: u64) -> Vec<RateRow> {
    let mut state = seed;
    let mut next = move || {
        // Numerical Recipes' LCG: good enough to spread prefixes.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut rows = Vec::with_capacity(ROWS);
    let push = |rows: &mut Vec<RateRow>, prefix: String, micros: u64| {
        rows.push(RateRow {
            prefix,
            rate: Rate {
                per_minute: Money(i64::try_from(micros).expect("small")),
                connection_fee: Money::ZERO,
                increment: Increment::PER_MINUTE,
            },
        });
    };
    for code in COUNTRY_CODES {
        push(&mut rows, (*code).to_owned(), 10_000 + next() % 90_000);
    }
    for prefix in ["447", "4474", "44740", "4420", "331", "336", "1415"] {
        push(&mut rows, prefix.to_owned(), 5_000 + next() % 90_000);
    }
    while rows.len() < ROWS {
        let code = COUNTRY_CODES[usize::try_from(next()).expect("fits") % COUNTRY_CODES.len()];
        let extra = 2 + next() % 7;
        let mut prefix = code.to_owned();
        for _ in 0..extra {
            prefix.push(char::from(b'0' + u8::try_from(next() % 10).expect("digit")));
        }
        push(&mut rows, prefix, 5_000 + next() % 200_000);
    }
    rows
}

fn trunk(name: &str, seed: u64, number_format: NumberFormat) -> Trunk {
    Trunk {
        name: name.to_owned(),
        host: format!("sip.{name}.example"),
        port: None,
        transport: TrunkTransport::Udp,
        listen: None,
        register: None,
        auth: None,
        inbound_addresses: Vec::new(),
        options_interval_secs: 30,
        max_calls: Some(100),
        max_cps: Some(10),
        number_format,
        strip: 0,
        prepend: String::new(),
        from_domain: None,
        asserted_identity: false,
        caller_id: Some("+442079460000".to_owned()),
        did_from: crossbar_config::DidSource::default(),
        default_destination: None,
        rates_file: None,
        rates: deck(seed),
    }
}

fn config(formats: [NumberFormat; 3]) -> Config {
    let text = r#"
[site]
country = "GB"
timezone = "Europe/London"

[[extension]]
number = "201"
secret = "secret-201-abcdef"
"#;
    let mut config = Config::parse(text, Path::new("bench.toml")).expect("bench config parses");
    // The class is pushed in below; the parser refuses a class it has not seen.
    config.extensions[0].class = Some("world".to_owned());
    config.site.area_code = Some("20".to_owned());
    config.site.outside_line = Some("9".to_owned());
    config.classes.push(Class {
        name: "world".to_owned(),
        allow: DestinationClass::ALL.to_vec(),
        allow_countries: Vec::new(),
        block_countries: vec![crossbar_config::CountryCode::parse("KP").expect("code")],
        time_rules: vec![TimeRule {
            classes: vec![DestinationClass::International, DestinationClass::Premium],
            hours: vec![WeeklyHours {
                days: 0b001_1111,
                start_minute: 7 * 60,
                end_minute: 20 * 60,
            }],
        }],
        max_concurrent: Some(4),
        max_calls_per_minute: Some(10),
        max_calls_per_day: Some(500),
        daily_spend_limit: Some(Money(50_000_000)),
    });
    config.trunks = vec![
        trunk("a", 1, formats[0]),
        trunk("b", 2, formats[1]),
        trunk("c", 3, formats[2]),
    ];
    config.outbound_routes.push(OutboundRoute {
        name: "default".to_owned(),
        patterns: vec!["+*".to_owned()],
        classes: Vec::new(),
        strategy: Strategy::LeastCost,
        trunks: vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
        caller_id: None,
    });
    config
}

fn bench_group(
    c: &mut Criterion,
    group: &str,
    formats: [NumberFormat; 3],
    numbers: &[(&str, &str)],
) {
    let plan = DialPlan::compile(&config(formats)).expect("bench config compiles");
    let caller = Identity::Extension("201".to_owned());
    // A Wednesday, 12:00 BST.
    let at: Timestamp = "2026-06-10T11:00:00Z".parse().expect("timestamp");
    let mut group = c.benchmark_group(group);
    for (name, dialled) in numbers {
        let attempt = Attempt {
            caller: &caller,
            dialled,
        };
        let decision = plan.route(&attempt, at, &Idle);
        assert!(
            matches!(&decision, Decision::Outbound(o) if o.attempts.iter().all(|a| a.rate.is_some())),
            "{name}: {decision:?}"
        );
        group.bench_function(*name, |b| {
            b.iter(|| plan.route(black_box(&attempt), at, &Idle));
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    bench_group(
        c,
        "route",
        [NumberFormat::E164; 3],
        &[
            ("gb_mobile", "07400 123456"),
            ("gb_local_with_outside_line", "9 020 7946 0000"),
            ("international_fr", "00 33 1 23 45 67 89"),
            ("international_us_e164", "+1 415 555 0100"),
        ],
    );
    bench_group(
        c,
        "route_mixed_formats",
        [
            NumberFormat::E164,
            NumberFormat::National,
            NumberFormat::International,
        ],
        &[
            ("gb_mobile", "07400 123456"),
            ("international_fr", "00 33 1 23 45 67 89"),
        ],
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
