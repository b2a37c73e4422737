//! The explain view: its JSON (what `crossbar route explain --format json` and
//! `GET /api/route/explain` print) and its table.

mod fixture;

use crossbar_cdr::Increment;
use crossbar_config::{Config, Strategy};
use crossbar_routing::{DialPlan, Explanation, ExtensionUsage, FraudCap, TrunkLoad};
use fixture::{Load, call, call_with, config, noon, plan, rate, route, trunk};
use serde_json::{Value, json};

fn carriers() -> Config {
    let mut config = config(Some("GB"), Some("Europe/London"));
    config.site.area_code = Some("20".to_owned());
    config.site.currency = Some("GBP".to_owned());
    let mut a = trunk("carrier-a");
    a.rates = vec![rate("44", "0.010", "0"), rate("33", "0.020", "0.05")];
    a.max_calls = Some(30);
    a.caller_id = Some("+442079460000".to_owned());
    let mut b = trunk("carrier-b");
    b.rates = vec![rate("44", "0.012", "0"), {
        let mut r = rate("33", "0.015", "0");
        r.rate.increment = Increment {
            first_secs: 30,
            next_secs: 6,
        };
        r
    }];
    let c = trunk("carrier-c");
    config.trunks = vec![a, b, c];
    let mut default = route(
        "default",
        &["+*"],
        Strategy::LeastCost,
        &["carrier-a", "carrier-b", "carrier-c"],
    );
    default.caller_id = None;
    config.outbound_routes.push(default);
    config.site.emergency_trunk = Some("carrier-c".to_owned());
    config
}

fn explain(plan: &DialPlan, decision: &crossbar_routing::Decision) -> Value {
    let explanation = plan.explain(decision);
    let value = serde_json::to_value(&explanation).expect("serialises");
    // The JSON reads back into the same explanation.
    let back: Explanation = serde_json::from_value(value.clone()).expect("deserialises");
    assert_eq!(back, explanation);
    value
}

#[test]
fn an_outbound_call_explains_its_attempts_costs_and_caller_id() {
    let plan = plan(&carriers());
    let load = Load::default().trunk(
        "carrier-b",
        TrunkLoad {
            up: false,
            ..TrunkLoad::IDLE
        },
    );
    let decision = call_with(&plan, "201", "00 33 1 23 45 67 89", noon(), &load);
    assert_eq!(
        explain(&plan, &decision),
        json!({
            "dialled": "00 33 1 23 45 67 89",
            "decision": "outbound",
            "extension": null,
            "normalized": "+33123456789",
            "class": "international",
            "region": "FR",
            "route": "default",
            "emergency": false,
            "withheld": false,
            "allowed": true,
            "status": null,
            "reason": null,
            "reason_code": null,
            "trips_block": false,
            "caller_id": "+442079460000",
            "currency": "GBP",
            // carrier-b is cheaper (0.015) but down: carrier-a (0.02 + 0.05) is the first
            // usable attempt.
            "cost_1min": 0.07,
            "cost_5min": 0.15,
            "attempts": [
                {
                    "trunk": "carrier-b",
                    "number": "+33123456789",
                    "per_minute": 0.015,
                    "connection_fee": 0.0,
                    "increment": "30/6",
                    "caller_id": null,
                    "skipped": "down"
                },
                {
                    "trunk": "carrier-a",
                    "number": "+33123456789",
                    "per_minute": 0.02,
                    "connection_fee": 0.05,
                    "increment": "60/60",
                    "caller_id": "+442079460000",
                    "skipped": null
                },
                {
                    "trunk": "carrier-c",
                    "number": "+33123456789",
                    "per_minute": null,
                    "connection_fee": null,
                    "increment": null,
                    "caller_id": null,
                    "skipped": "no rate"
                }
            ]
        })
    );
}

#[test]
fn the_table_lines_up_the_attempts() {
    let plan = plan(&carriers());
    let load = Load::default().trunk(
        "carrier-a",
        TrunkLoad {
            calls: 30,
            ..TrunkLoad::IDLE
        },
    );
    let decision = call_with(&plan, "201", "020 7946 0000", noon(), &load);
    assert_eq!(
        plan.explain(&decision).to_string(),
        "\
dialled     020 7946 0000
decision    outbound, route default
number      +442079460000  local  GB
caller ID   none set
cost        0.0120 GBP for 1 min, 0.0600 GBP for 5 min
attempts    1. carrier-a  +442079460000  0.0100/min  fee 0.0000  60/60  skipped: over max_calls (30)
            2. carrier-b  +442079460000  0.0120/min  fee 0.0000  60/60
            3. carrier-c  +442079460000  -  skipped: no rate
"
    );
}

#[test]
fn a_denial_explains_its_reason_and_status() {
    let mut config = carriers();
    config.classes[0].max_calls_per_minute = Some(3);
    let plan = plan(&config);
    let load = Load::default().extension(
        "201",
        ExtensionUsage {
            calls_last_minute: 3,
            ..ExtensionUsage::default()
        },
    );
    let decision = call_with(&plan, "201", "0906 123 4567", noon(), &load);
    let value = explain(&plan, &decision);
    assert_eq!(value["decision"], "denied");
    assert_eq!(value["allowed"], false);
    assert_eq!(value["status"], 403);
    assert_eq!(value["normalized"], "+449061234567");
    assert_eq!(value["class"], "premium");
    assert_eq!(value["reason_code"], "max_calls_per_minute");
    assert_eq!(value["trips_block"], true);
    assert_eq!(
        value["reason"],
        crossbar_routing::DenyReason::FraudCap(FraudCap::PerMinute { limit: 3 }).to_string()
    );
    assert_eq!(value["attempts"], json!([]));
    assert_eq!(value["cost_1min"], Value::Null);
    assert_eq!(value["caller_id"], Value::Null);
    let table = plan.explain(&decision).to_string();
    assert!(
        table.contains("decision    denied (403): fraud cap: 3 outbound calls in the last minute"),
        "{table}"
    );
}

#[test]
fn invalid_numbers_extensions_and_emergency_calls_explain_themselves() {
    let plan = plan(&carriers());
    let value = explain(&plan, &call(&plan, "201", "07700 900123"));
    assert_eq!(value["decision"], "no_route");
    assert_eq!(value["status"], 484);
    assert_eq!(value["reason_code"], "not_in_service");
    assert_eq!(
        value["reason"],
        "07700 900123 is not a valid telephone number"
    );
    assert_eq!(value["normalized"], Value::Null);

    let value = explain(&plan, &call(&plan, "201", "202"));
    assert_eq!(value["decision"], "extension");
    assert_eq!(value["extension"], "202");
    assert_eq!(value["class"], "internal");
    assert_eq!(value["allowed"], true);

    let value = explain(&plan, &call(&plan, "203", "999"));
    assert_eq!(value["decision"], "outbound");
    assert_eq!(value["emergency"], true);
    assert_eq!(value["class"], "emergency");
    assert_eq!(value["normalized"], "999");
    assert_eq!(value["route"], "default");
    assert_eq!(value["attempts"][0]["trunk"], "carrier-c");
    assert_eq!(value["attempts"][0]["number"], "999");
    assert_eq!(value["cost_1min"], Value::Null);
    let table = plan.explain(&call(&plan, "203", "999")).to_string();
    assert!(
        table.contains("decision    emergency call, route default"),
        "{table}"
    );
}
