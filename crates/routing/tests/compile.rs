//! What a configuration must satisfy to compile into a dial plan; each error names its key.

mod fixture;

use crossbar_config::{NumberFormat, Strategy, TimeRule, TimeZoneName, WeeklyHours};
use crossbar_routing::{DialPlan, PlanError};
use fixture::{rate, route, site, trunk};

#[track_caller]
fn error(config: &crossbar_config::Config) -> PlanError {
    match DialPlan::compile(config) {
        Ok(_) => panic!("expected the configuration to be refused"),
        Err(error) => error,
    }
}

#[test]
fn an_unknown_time_zone_is_refused_at_site_timezone() {
    let mut config = site("GB", "Europe/London", None);
    config.site.timezone = TimeZoneName::parse("Europe/Atlantis");
    let error = error(&config);
    assert_eq!(error.key(), "site.timezone");
    assert!(
        error
            .to_string()
            .starts_with("site.timezone: `Europe/Atlantis` is not a time zone"),
        "{error}"
    );
}

#[test]
fn a_country_without_a_numbering_plan_is_refused_at_site_country() {
    let config = site("XX", "Europe/London", None);
    assert_eq!(
        error(&config),
        PlanError::UnknownCountry {
            key: "site.country".to_owned(),
            country: "XX".to_owned()
        }
    );
}

#[test]
fn references_to_missing_classes_and_trunks_are_refused_where_they_are_written() {
    let mut config = site("GB", "Europe/London", None);
    config.extensions[2].class = Some("nobody".to_owned());
    assert_eq!(error(&config).key(), "extension[3].class");

    let mut config = site("GB", "Europe/London", None);
    config
        .outbound_routes
        .push(route("x", &[], Strategy::InOrder, &["carrier", "ghost"]));
    let error_ = error(&config);
    assert_eq!(error_.key(), "outbound_route[2].trunks");
    assert_eq!(
        error_.to_string(),
        "outbound_route[2].trunks: no trunk is named `ghost`"
    );

    let mut config = site("GB", "Europe/London", None);
    config.site.emergency_trunk = Some("ghost".to_owned());
    assert_eq!(error(&config).key(), "site.emergency_trunk");
}

#[test]
fn patterns_and_rate_prefixes_must_be_on_e164_numbers() {
    let mut config = site("GB", "Europe/London", None);
    config.outbound_routes[0].patterns = vec!["44*".to_owned()];
    assert_eq!(error(&config).key(), "outbound_route[1].match");

    let mut config = site("GB", "Europe/London", None);
    config.trunks[0].rates = vec![rate("44", "0.01", "0"), rate("44-7", "0.01", "0")];
    let error = error(&config);
    assert_eq!(error.key(), "trunk[1].rates");
    assert!(error.to_string().contains("`44-7`"), "{error}");
}

#[test]
fn time_rules_need_a_time_zone_and_national_formats_need_a_country() {
    let mut config = fixture::config(Some("GB"), None);
    config.classes[1].time_rules.push(TimeRule {
        classes: vec![crossbar_cdr::DestinationClass::International],
        hours: vec![WeeklyHours {
            days: 0b1_1111,
            start_minute: 480,
            end_minute: 1080,
        }],
    });
    assert_eq!(
        error(&config),
        PlanError::NeedsTimeZone {
            key: "class[2].time_rules".to_owned()
        }
    );

    let mut config = fixture::config(None, None);
    let mut national = trunk("national");
    national.number_format = NumberFormat::National;
    config.trunks.push(national);
    assert_eq!(error(&config).key(), "trunk[1].number_format");

    let mut config = fixture::config(None, None);
    config.site.area_code = Some("20".to_owned());
    assert_eq!(error(&config).key(), "site.area_code");
}

#[test]
fn an_extension_numbered_like_an_emergency_number_is_refused() {
    let mut config = site("GB", "Europe/London", None);
    config.extensions[1].number = "999".to_owned();
    config.extensions[1].username = "999".to_owned();
    assert_eq!(
        error(&config),
        PlanError::EmergencyNumberTaken {
            key: "extension[2].number".to_owned(),
            number: "999".to_owned()
        }
    );
    // 999 is not an emergency number in the US.
    let mut config = site("US", "America/New_York", None);
    config.extensions[1].number = "999".to_owned();
    assert!(DialPlan::compile(&config).is_ok());
}

#[test]
fn dial_codes_and_emergency_numbers_are_digits() {
    let mut config = site("GB", "Europe/London", None);
    config.site.outside_line = Some("nine".to_owned());
    assert_eq!(error(&config).key(), "site.outside_line");

    let mut config = site("GB", "Europe/London", None);
    config.site.emergency_numbers = vec!["999".to_owned(), "1 1 2".to_owned()];
    assert_eq!(error(&config).key(), "site.emergency_numbers[2]");

    let mut config = site("US", "America/New_York", None);
    config.site.privacy_prefix = Some("*67".to_owned());
    assert!(DialPlan::compile(&config).is_ok());
}
