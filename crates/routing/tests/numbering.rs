//! Normalisation to E.164 and classification, through `DialPlan::route`, for numbers dialled
//! in every form people dial them.

mod fixture;

use crossbar_cdr::DestinationClass::{
    self, Emergency, International, Local, Mobile, National, Premium, TollFree,
};
use crossbar_routing::{Decision, NoRouteReason, NumberProblem};
use fixture::{call, config, normalised, outbound, plan, site};

#[track_caller]
fn assert_numbers(
    plan: &crossbar_routing::DialPlan,
    cases: &[(&str, &str, DestinationClass, &str)],
) {
    for (dialled, e164, class, region) in cases {
        let (got_e164, got_class, got_region) = normalised(call(plan, "201", dialled));
        assert_eq!(
            (got_e164.as_str(), got_class, got_region.as_deref()),
            (*e164, *class, Some(*region)),
            "dialled {dialled:?}"
        );
    }
}

#[track_caller]
fn assert_invalid(plan: &crossbar_routing::DialPlan, dialled: &str, problem: NumberProblem) {
    match call(plan, "201", dialled) {
        Decision::NoRoute(no_route) => {
            assert_eq!(
                no_route.reason,
                NoRouteReason::Number(problem),
                "{dialled:?}"
            );
            assert_eq!(no_route.status(), 484, "{dialled:?}");
        }
        other => panic!("{dialled:?}: expected 484, got {other:?}"),
    }
}

#[test]
fn british_numbers_in_every_dialled_form() {
    let mut config = site("GB", "Europe/London", Some("20"));
    config.site.outside_line = Some("9".to_owned());
    let plan = plan(&config);
    assert_numbers(
        &plan,
        &[
            // Fixed lines: London is the site's area, Birmingham is not.
            ("020 7946 0000", "+442079460000", Local, "GB"),
            ("(020) 7946-0000", "+442079460000", Local, "GB"),
            ("+44 20 7946 0000", "+442079460000", Local, "GB"),
            ("0044 20 7946 0000", "+442079460000", Local, "GB"),
            ("0121 234 5678", "+441212345678", National, "GB"),
            // A subscriber number alone is completed with the area code.
            ("7946 0000", "+442079460000", Local, "GB"),
            // The outside line before an external number.
            ("9 020 7946 0000", "+442079460000", Local, "GB"),
            ("9 07400 123456", "+447400123456", Mobile, "GB"),
            ("07400 123456", "+447400123456", Mobile, "GB"),
            ("0800 123 4567", "+448001234567", TollFree, "GB"),
            ("0906 123 4567", "+449061234567", Premium, "GB"),
            // Shared cost is charged like premium.
            ("0845 123 4567", "+448451234567", Premium, "GB"),
            // Non-geographic national-rate numbers.
            ("0300 123 4567", "+443001234567", National, "GB"),
            ("00 33 1 23 45 67 89", "+33123456789", International, "FR"),
            ("+1 415 555 0100", "+14155550100", International, "US"),
            ("9 00 49 30 123456", "+4930123456", International, "DE"),
        ],
    );
}

#[test]
fn numbers_in_drama_ranges_and_incomplete_numbers_are_refused_with_484() {
    let plan = plan(&site("GB", "Europe/London", Some("20")));
    // Ofcom reserves 07700 900xxx for drama: no such number is in service.
    assert_invalid(&plan, "07700 900123", NumberProblem::NotInService);
    assert_invalid(&plan, "00441632960001", NumberProblem::NotInService);
    assert_invalid(&plan, "020 79", NumberProblem::TooShort);
    // Possible lengths, but no such number: refused the same way.
    assert_invalid(&plan, "020 7946", NumberProblem::NotInService);
    assert_invalid(&plan, "123", NumberProblem::TooShort);
    assert_invalid(&plan, "+999 123456", NumberProblem::InvalidCountryCode);
    match call(&plan, "201", "bob") {
        Decision::NoRoute(no_route) => {
            assert_eq!(no_route.status(), 404);
            assert_eq!(
                no_route.to_string(),
                "bob is neither an extension nor a telephone number"
            );
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

#[test]
fn north_american_numbers_in_every_dialled_form() {
    let mut config = site("US", "America/Los_Angeles", Some("415"));
    config.site.outside_line = Some("9".to_owned());
    let plan = plan(&config);
    assert_numbers(
        &plan,
        &[
            // NANP numbers are fixed-line-or-mobile: national, even in the site's area code.
            ("415 555 0100", "+14155550100", National, "US"),
            ("(415) 555-0100", "+14155550100", National, "US"),
            ("1 415 555 0100", "+14155550100", National, "US"),
            ("1-201-555-0123", "+12015550123", National, "US"),
            ("+1 415 555 0100", "+14155550100", National, "US"),
            // Seven-digit local dialling, completed with the area code.
            ("555 0100", "+14155550100", National, "US"),
            ("9 1 415 555 0100", "+14155550100", National, "US"),
            ("800 555 0123", "+18005550123", TollFree, "US"),
            ("1 900 555 0123", "+19005550123", Premium, "US"),
            ("011 44 20 7946 0000", "+442079460000", International, "GB"),
            ("011 33 6 12 34 56 78", "+33612345678", International, "FR"),
            // Other NANP countries are international: Canada, and Jamaica (a classic
            // destination of toll fraud, dialled like a US number).
            ("1 416 555 0123", "+14165550123", International, "CA"),
            ("1 876 555 0123", "+18765550123", International, "JM"),
        ],
    );
}

#[test]
fn french_numbers_in_every_dialled_form() {
    let plan = plan(&site("FR", "Europe/Paris", Some("1")));
    assert_numbers(
        &plan,
        &[
            ("01 23 45 67 89", "+33123456789", Local, "FR"),
            ("01.23.45.67.89", "+33123456789", Local, "FR"),
            ("+33 1 23 45 67 89", "+33123456789", Local, "FR"),
            ("02 23 45 67 89", "+33223456789", National, "FR"),
            ("06 12 34 56 78", "+33612345678", Mobile, "FR"),
            ("0800 12 34 56", "+33800123456", TollFree, "FR"),
            ("0899 12 34 56", "+33899123456", Premium, "FR"),
            ("00 44 20 7946 0000", "+442079460000", International, "GB"),
            ("00 1 415 555 0100", "+14155550100", International, "US"),
        ],
    );
    // France's closed numbering plan has no local dialling: eight digits are incomplete.
    assert_invalid(&plan, "23 45 67 89", NumberProblem::TooShort);
}

#[test]
fn german_numbers_in_every_dialled_form() {
    let mut config = site("DE", "Europe/Berlin", Some("30"));
    config.site.outside_line = Some("0".to_owned());
    let plan = plan(&config);
    assert_numbers(
        &plan,
        &[
            ("030 12345678", "+493012345678", Local, "DE"),
            ("(030) 1234-5678", "+493012345678", Local, "DE"),
            ("+49 30 12345678", "+493012345678", Local, "DE"),
            // A Berlin number dialled without the Vorwahl.
            ("12345678", "+493012345678", Local, "DE"),
            // The outside line (Amt, `0`) in front of the national prefix.
            ("0 030 12345678", "+493012345678", Local, "DE"),
            ("089 1234567", "+49891234567", National, "DE"),
            ("0151 23456789", "+4915123456789", Mobile, "DE"),
            ("0800 1234567", "+498001234567", TollFree, "DE"),
            ("0900 1234567", "+499001234567", Premium, "DE"),
            ("00 1 415 555 0100", "+14155550100", International, "US"),
            ("0 00 33 1 23 45 67 89", "+33123456789", International, "FR"),
        ],
    );
}

#[test]
fn without_a_site_country_only_e164_numbers_are_understood() {
    let mut config = config(None, None);
    config.trunks.push(fixture::trunk("carrier"));
    config.outbound_routes.push(fixture::route(
        "all",
        &[],
        crossbar_config::Strategy::InOrder,
        &["carrier"],
    ));
    let plan = plan(&config);
    let (e164, class, region) = normalised(call(&plan, "201", "+44 20 7946 0000"));
    assert_eq!(
        (e164.as_str(), class, region.as_deref()),
        ("+442079460000", International, Some("GB"))
    );
    assert_invalid(&plan, "020 7946 0000", NumberProblem::NoSiteCountry);
    match call(&plan, "201", "020 7946 0000") {
        Decision::NoRoute(no_route) => assert!(
            no_route.to_string().contains("set [site] country"),
            "{no_route}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_geographic_numbers_are_international_without_a_country() {
    let plan = plan(&site("GB", "Europe/London", None));
    let (e164, class, region) = normalised(call(&plan, "201", "+800 1234 5678"));
    assert_eq!(
        (e164.as_str(), class, region),
        ("+80012345678", International, None)
    );
}

#[test]
fn emergency_numbers_default_to_the_country_and_follow_the_configuration() {
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        ("GB", "Europe/London", &["999", "112"], &["911"]),
        ("US", "America/New_York", &["911"], &["999"]),
        ("CA", "America/Toronto", &["911"], &["112"]),
        (
            "FR",
            "Europe/Paris",
            &[
                "112", "15", "17", "18", "114", "115", "119", "191", "196", "197",
            ],
            &["999"],
        ),
        ("DE", "Europe/Berlin", &["110", "112"], &["911"]),
        ("NL", "Europe/Amsterdam", &["112"], &["999"]),
    ];
    for (country, zone, emergency, not_emergency) in cases {
        let plan = plan(&site(country, zone, None));
        assert_eq!(plan.emergency_numbers(), *emergency, "{country}");
        for code in *emergency {
            let call = outbound(call(&plan, "201", code));
            assert!(call.emergency, "{country} {code}");
            assert_eq!(call.class, Emergency);
            assert_eq!(call.normalized, *code);
        }
        for code in *not_emergency {
            assert!(
                !matches!(call(&plan, "201", code), Decision::Outbound(o) if o.emergency),
                "{country} {code}"
            );
        }
    }
    let mut configured = site("GB", "Europe/London", None);
    configured.site.emergency_numbers =
        vec!["999".to_owned(), "112".to_owned(), "18000".to_owned()];
    let plan = plan(&configured);
    assert!(outbound(call(&plan, "201", "18000")).emergency);
}

#[test]
fn emergency_numbers_are_recognised_after_the_outside_line_and_privacy_prefix() {
    let mut config = site("GB", "Europe/London", None);
    config.site.outside_line = Some("9".to_owned());
    config.site.privacy_prefix = Some("141".to_owned());
    let plan = plan(&config);
    for dialled in ["999", "9999", "9 112", "141 999", "9 141 999"] {
        let call = outbound(call(&plan, "201", dialled));
        assert!(call.emergency, "{dialled}");
        assert_eq!(call.dialled, dialled);
        assert!(
            !call.withheld,
            "emergency calls present a number: {dialled}"
        );
    }
}

#[test]
fn the_privacy_prefix_is_removed_and_withholds_the_caller_id() {
    let mut config = site("GB", "Europe/London", None);
    config.site.privacy_prefix = Some("141".to_owned());
    config.site.outside_line = Some("9".to_owned());
    config.trunks[0].caller_id = Some("+442079460999".to_owned());
    let plan = plan(&config);
    for dialled in [
        "141 020 7946 0000",
        "9 141 020 7946 0000",
        "141 9 020 7946 0000",
    ] {
        let call = outbound(call(&plan, "201", dialled));
        assert_eq!(call.normalized, "+442079460000", "{dialled}");
        assert!(call.withheld, "{dialled}");
        assert_eq!(call.attempts[0].caller_id, None, "{dialled}");
    }
    let call = outbound(call(&plan, "201", "020 7946 0000"));
    assert!(!call.withheld);
    assert_eq!(call.attempts[0].caller_id.as_deref(), Some("+442079460999"));
}
