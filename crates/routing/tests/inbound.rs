//! Incoming calls: DIDs and callers normalised, routes matched by trunk, DID, caller and
//! anonymity in file order, the trunk's default destination, 404; the blocklist first.

mod fixture;

use crossbar_cdr::StepKind;
use crossbar_config::NumberPattern;
use crossbar_routing::{DialPlan, InboundDecision, PlanError, Step, Target};
use fixture::{
    Load, dest, inbound, inbound_route, inbound_site, inbound_with, noon, pattern, plan, routed,
    time_condition,
};

const DID: &str = "+442079460000";
const MOBILE: &str = "+447400123456";

fn target(decision: InboundDecision) -> Target {
    routed(decision).target
}

fn ext(number: &str) -> Target {
    Target::Extension(number.to_owned())
}

#[test]
fn a_did_is_normalised_to_e164_however_the_trunk_sends_it() {
    let mut config = inbound_site();
    config
        .inbound_routes
        .push(inbound_route("main", &[DID], "ext:201"));
    let plan = plan(&config);
    for sent in [
        "442079460000",
        "+442079460000",
        "02079460000",
        "+44 20 7946 0000",
        "00442079460000",
        "79460000",
    ] {
        let call = routed(inbound(&plan, "carrier-a", sent, Some(MOBILE)));
        assert_eq!(call.did, DID, "{sent}");
        assert_eq!(call.route.as_deref(), Some("main"), "{sent}");
        assert_eq!(call.target, ext("201"), "{sent}");
    }
}

#[test]
fn routes_match_dids_exactly_by_prefix_and_by_range() {
    let mut config = inbound_site();
    config.inbound_routes = vec![
        inbound_route("exact", &[DID], "ext:201"),
        inbound_route("prefix", &["+44207946001*"], "ext:202"),
        inbound_route("range", &["+442079460050-+442079460099"], "ext:203"),
    ];
    let plan = plan(&config);
    let route_of = |did: &str| match inbound(&plan, "carrier-a", did, Some(MOBILE)) {
        InboundDecision::Route(call) => call.route,
        _ => None,
    };
    assert_eq!(route_of("02079460000").as_deref(), Some("exact"));
    assert_eq!(route_of("02079460010").as_deref(), Some("prefix"));
    assert_eq!(route_of("02079460019").as_deref(), Some("prefix"));
    assert_eq!(route_of("02079460050").as_deref(), Some("range"));
    assert_eq!(route_of("02079460099").as_deref(), Some("range"));
    assert_eq!(route_of("02079460001"), None);
    assert_eq!(route_of("02079460020"), None);
    assert_eq!(route_of("02079460100"), None);
}

#[test]
fn the_first_route_in_file_order_that_accepts_the_call_takes_it() {
    let mut config = inbound_site();
    let mut from_mobiles = inbound_route("from-mobiles", &[DID], "ext:202");
    from_mobiles.callers = vec![pattern("+447*")];
    config.inbound_routes = vec![
        from_mobiles,
        inbound_route("everyone", &[DID], "ext:201"),
        inbound_route("never-reached", &[DID], "ext:203"),
    ];
    let plan = plan(&config);
    let mobile = routed(inbound(&plan, "carrier-a", DID, Some("07400 123456")));
    assert_eq!(mobile.route.as_deref(), Some("from-mobiles"));
    assert_eq!(mobile.caller.as_deref(), Some(MOBILE));
    let landline = routed(inbound(&plan, "carrier-a", DID, Some("+441614960000")));
    assert_eq!(landline.route.as_deref(), Some("everyone"));
    let withheld = routed(inbound(&plan, "carrier-a", DID, None));
    assert_eq!(withheld.route.as_deref(), Some("everyone"));
}

#[test]
fn a_route_naming_trunks_takes_calls_only_from_them() {
    let mut config = inbound_site();
    let mut only_b = inbound_route("only-b", &[DID], "ext:202");
    only_b.trunks = vec!["carrier-b".to_owned()];
    config.inbound_routes = vec![only_b, inbound_route("any", &[DID], "ext:201")];
    let plan = plan(&config);
    assert_eq!(target(inbound(&plan, "carrier-b", DID, None)), ext("202"));
    assert_eq!(target(inbound(&plan, "carrier-a", DID, None)), ext("201"));
}

#[test]
fn anonymous_callers_take_only_the_routes_that_accept_them() {
    let mut config = inbound_site();
    let mut withheld = inbound_route("withheld", &[DID], "hangup");
    withheld.anonymous = Some(true);
    let mut with_number = inbound_route("with-number", &[], "ext:201");
    with_number.anonymous = Some(false);
    let mut known = inbound_route("known-callers", &[], "ext:202");
    known.callers = vec![pattern("*")];
    config.inbound_routes = vec![withheld, with_number, known];
    let plan = plan(&config);
    for caller in [None, Some("anonymous"), Some("Anonymous"), Some("")] {
        let call = routed(inbound(&plan, "carrier-a", DID, caller));
        assert_eq!(call.route.as_deref(), Some("withheld"), "{caller:?}");
        assert_eq!(call.caller, None, "{caller:?}");
        assert_eq!(call.target, Target::Hangup);
    }
    let call = routed(inbound(&plan, "carrier-a", DID, Some(MOBILE)));
    assert_eq!(call.route.as_deref(), Some("with-number"));

    // A route with callers never takes a withheld one, even with a catch-all pattern.
    config.inbound_routes.remove(0);
    let plan = DialPlan::compile(&config).expect("compiles");
    assert!(matches!(
        inbound(&plan, "carrier-a", DID, None),
        InboundDecision::NoRoute { .. }
    ));
}

#[test]
fn a_caller_that_is_not_a_number_is_kept_as_sent_and_matched_only_by_equal_patterns() {
    let mut config = inbound_site();
    let mut any_number = inbound_route("any-number", &[], "ext:201");
    any_number.callers = vec![pattern("*")];
    let mut restricted = inbound_route("restricted", &[], "ext:202");
    restricted.callers = vec![NumberPattern::Exact("restricted".to_owned())];
    let mut unknown_range = inbound_route("unknown-range", &[], "ext:203");
    unknown_range.callers = vec![pattern("+999*")];
    config.inbound_routes = vec![unknown_range, any_number, restricted];
    let plan = plan(&config);

    let call = routed(inbound(&plan, "carrier-a", DID, Some("restricted")));
    assert_eq!(call.route.as_deref(), Some("restricted"));
    assert_eq!(call.caller.as_deref(), Some("restricted"));

    // A possible number in a range the numbering library does not know as allocated (Ofcom's
    // drama numbers) is still read in E.164.
    let call = routed(inbound(&plan, "carrier-a", DID, Some("07700 900123")));
    assert_eq!(call.caller.as_deref(), Some("+447700900123"));
    assert_eq!(call.route.as_deref(), Some("any-number"));

    // In E.164 form but in no country's plan: still E.164, so prefixes match it.
    let call = routed(inbound(&plan, "carrier-a", DID, Some("+999123456")));
    assert_eq!(call.route.as_deref(), Some("unknown-range"));
    assert_eq!(call.caller.as_deref(), Some("+999123456"));
}

#[test]
fn a_did_no_route_takes_goes_to_the_trunks_default_destination() {
    let mut config = inbound_site();
    config.trunks[0].default_destination = Some(dest("ext:203"));
    config
        .inbound_routes
        .push(inbound_route("main", &[DID], "ext:201"));
    let plan = plan(&config);
    let call = routed(inbound(&plan, "carrier-a", "02079460001", Some(MOBILE)));
    assert_eq!(call.route, None);
    assert_eq!(call.target, ext("203"));
    assert!(!call.vip);
    assert_eq!(
        call.steps,
        [Step::new(
            StepKind::Route,
            "carrier-a",
            "no inbound route takes +442079460001 from +447400123456: default_destination of \
             trunk carrier-a → ext:203"
        )]
    );
}

#[test]
fn a_did_nobody_takes_is_not_found() {
    let mut config = inbound_site();
    config
        .inbound_routes
        .push(inbound_route("main", &[DID], "ext:201"));
    config.trunks[0].default_destination = Some(dest("ext:203"));
    let plan = plan(&config);
    let decision = inbound(&plan, "carrier-b", "02079460001", None);
    let InboundDecision::NoRoute {
        trunk,
        did,
        caller,
        status,
        steps,
    } = decision
    else {
        panic!("expected no route, got {decision:?}");
    };
    assert_eq!(
        (trunk.as_str(), did.as_str(), caller, status),
        ("carrier-b", "+442079460001", None, 404)
    );
    assert_eq!(
        steps,
        [Step::new(
            StepKind::Route,
            "+442079460001",
            "no inbound route takes +442079460001 from anonymous via carrier-b, and the trunk \
             has no default_destination: 404"
        )]
    );
}

#[test]
fn a_route_sets_the_language_and_vip_and_the_others_speak_the_default_language() {
    let mut config = inbound_site();
    let mut french = inbound_route("french", &["+442079460001"], "ext:201");
    french.language = Some("fr".to_owned());
    french.vip = true;
    config.inbound_routes = vec![french, inbound_route("main", &[DID], "ext:201")];
    let plan = plan(&config);
    let call = routed(inbound(&plan, "carrier-a", "+442079460001", None));
    assert_eq!((call.language.as_str(), call.vip), ("fr", true));
    let call = routed(inbound(&plan, "carrier-a", DID, None));
    assert_eq!((call.language.as_str(), call.vip), ("en", false));
}

#[test]
fn the_route_step_names_the_route_the_did_the_caller_and_the_destination() {
    let mut config = inbound_site();
    config
        .inbound_routes
        .push(inbound_route("main", &[DID], "ext:201"));
    let plan = plan(&config);
    let call = routed(inbound(&plan, "carrier-a", DID, Some(MOBILE)));
    assert_eq!(
        call.steps,
        [Step::new(
            StepKind::Route,
            "main",
            "+442079460000 from +447400123456 via carrier-a → ext:201"
        )]
    );
    assert_eq!(call.destination, dest("ext:201"));
}

#[test]
fn a_caller_on_the_configured_blocklist_is_refused_before_any_route() {
    let mut config = inbound_site();
    let mut vip = inbound_route("vip", &[DID], "ext:201");
    vip.vip = true;
    config.inbound_routes.push(vip);
    // Written in national form: compared in E.164.
    config.inbound.blocklist = vec![pattern("07400 123456"), pattern("+44163*")];
    let plan = plan(&config);

    let decision = inbound(&plan, "carrier-a", DID, Some("+44 7400 123456"));
    assert_eq!(
        decision,
        InboundDecision::Blocked {
            trunk: "carrier-a".to_owned(),
            did: DID.to_owned(),
            caller: MOBILE.to_owned(),
            status: 403,
            steps: vec![Step::new(
                StepKind::Blocklist,
                MOBILE,
                "blocked by [inbound] blocklist +447400123456: 403"
            )],
        }
    );
    assert_eq!(decision.status(), Some(403));
    let by_prefix = inbound(&plan, "carrier-a", DID, Some("01614960000"));
    assert!(
        matches!(by_prefix, InboundDecision::Route(_)),
        "{by_prefix:?}"
    );
    let by_prefix = inbound(&plan, "carrier-a", DID, Some("+441632960001"));
    assert!(
        matches!(by_prefix, InboundDecision::Blocked { .. }),
        "{by_prefix:?}"
    );
    assert!(matches!(
        inbound(&plan, "carrier-a", DID, Some("+447400123457")),
        InboundDecision::Route(_)
    ));
    // Withheld callers are not on any list.
    assert!(matches!(
        inbound(&plan, "carrier-a", DID, None),
        InboundDecision::Route(_)
    ));
}

#[test]
fn a_blocked_caller_gets_the_configured_status() {
    let mut config = inbound_site();
    config.inbound.blocklist = vec![pattern("+447400*")];
    config.inbound.blocked_status = 603;
    let plan = plan(&config);
    assert_eq!(
        inbound(&plan, "carrier-a", DID, Some(MOBILE)).status(),
        Some(603)
    );
}

#[test]
fn a_caller_the_database_blocks_is_refused() {
    let mut config = inbound_site();
    config
        .inbound_routes
        .push(inbound_route("main", &[DID], "ext:201"));
    let plan = plan(&config);
    let load = Load::default().blocked_caller(MOBILE);
    let decision = inbound_with(&plan, "carrier-a", DID, Some("07400123456"), noon(), &load);
    assert_eq!(decision.status(), Some(403));
    assert_eq!(
        decision.steps(),
        [Step::new(
            StepKind::Blocklist,
            MOBILE,
            "blocked by the blocklist in the database: 403"
        )]
    );
    let other = inbound_with(
        &plan,
        "carrier-a",
        DID,
        Some("+447400123457"),
        noon(),
        &load,
    );
    assert!(matches!(other, InboundDecision::Route(_)));
}

#[test]
fn references_to_what_does_not_exist_do_not_compile() {
    let compile_error = |edit: &dyn Fn(&mut crossbar_config::Config)| {
        let mut config = inbound_site();
        edit(&mut config);
        DialPlan::compile(&config).expect_err("refused")
    };
    let error = compile_error(&|c| {
        c.inbound_routes
            .push(inbound_route("main", &[DID], "ivr:missing"))
    });
    assert_eq!(error.key(), "inbound_route[1].destination");
    assert!(error.to_string().contains("missing"), "{error}");

    let error = compile_error(&|c| {
        let mut route = inbound_route("main", &[DID], "ext:201");
        route.trunks = vec!["carrier-z".to_owned()];
        c.inbound_routes.push(route);
    });
    assert_eq!(error.key(), "inbound_route[1].trunks");

    let error = compile_error(&|c| c.trunks[1].default_destination = Some(dest("ext:999")));
    assert_eq!(error.key(), "trunk[2].default_destination");

    let error = compile_error(&|c| {
        c.inbound_routes.push(inbound_route(
            "main",
            &["+442079460099-+442079460000"],
            "ext:201",
        ))
    });
    assert_eq!(error.key(), "inbound_route[1].dids");

    let error = compile_error(&|c| c.inbound.blocked_status = 200);
    assert_eq!(error.key(), "inbound.blocked_status");

    let error = compile_error(&|c| {
        c.site.timezone = None;
        c.time_conditions.push(time_condition(
            "hours",
            &["mon-fri 09:00-17:00"],
            "ext:201",
            "hangup",
        ));
    });
    assert!(matches!(error, PlanError::NeedsTimeZone { .. }), "{error}");
    assert_eq!(error.key(), "time_condition[1].open");
}
