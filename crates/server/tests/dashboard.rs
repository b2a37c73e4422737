//! The dashboard in a real browser (headless Chromium) against the running binary: the page's
//! script renders the queues' live view from the server-sent events — the waiting callers in
//! order, the agents with their state — and the queues' figures.

mod support;

use std::time::Duration;

use support::browser::Browser;
use support::{Extension, Setup, free_port};

const TOKEN: &str = "dashboard-test-token-Qw7eR4tY1uI9oP3a";
const DID: &str = "+442079460800";
const CALLERS: u32 = 3;
const HEADING: &str = "support: 3 waiting; agents: 0 free of 1 logged in";

#[test]
fn the_dashboard_shows_a_queues_waiting_callers_in_order_and_its_agents_live() {
    let carrier_port = free_port();
    let mut setup = Setup::new();
    setup.extensions = ["201", "202"]
        .iter()
        .map(|n| Extension::new(n, n, &format!("dashboard-secret-{n}")))
        .collect();
    setup.relay_media(u16::try_from(CALLERS).expect("small") * 4 + 8, 30);
    let (http, api) = support::api_section(TOKEN);
    setup.extra_toml.push_str(&http);
    setup.extra_toml.push_str(&format!(
        r#"
[site]
country = "GB"

[[trunk]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
options_interval_secs = 0

[[inbound_route]]
name = "support"
dids = ["{DID}"]
destination = "queue:support"

[[queue]]
name = "support"
members = ["201", "202"]
join_empty = true

[agents]
pause_reasons = {{ "1" = "lunch" }}

[prompts]
dir = "prompts"
"#
    ));
    support::write_prompts(&setup);
    let server = setup.start();
    // 202 is logged in and paused for lunch: logged in, offered nothing.
    for (path, body) in [
        ("/api/agents/202/login", "{}"),
        ("/api/agents/202/pause", r#"{"reason": "lunch"}"#),
    ] {
        let (status, answer) = support::api_request(api, TOKEN, "POST", path, Some(body));
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let mut browser = Browser::open(&format!("http://{api}/"));
    // No caller yet: the queue is shown, empty.
    let page = browser.html_when(Duration::from_secs(10), |html| {
        html.contains("support: 0 waiting")
    });
    assert!(page.contains("support: 0 waiting"), "{page}");

    // Three callers from the carrier wait in the queue (10 s, then they hang up).
    let load = support::carrier_callers(
        server.addr(),
        carrier_port,
        DID,
        CALLERS,
        Duration::from_secs(10),
    );
    let callers = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(crossbar_loadgen::run_carrier(load))
            .expect("the callers run")
    });

    // The page follows without a reload.
    let page = browser.html_when(Duration::from_secs(10), |html| html.contains(HEADING));
    assert!(page.contains(HEADING), "the queue's heading:\n{page}");
    let positions: Vec<usize> = (0..CALLERS)
        .map(|n| {
            let number = format!("+4477009{n:06}");
            page.find(&number)
                .unwrap_or_else(|| panic!("caller {number} is shown:\n{page}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "the callers in the order they are served:\n{page}"
    );
    assert!(page.contains("paused (lunch)"), "202's state:\n{page}");
    assert!(
        page.contains("callback completion"),
        "the queues' figures:\n{page}"
    );

    // When they have hung up, the line is empty again and their abandons are counted.
    let report = callers.join().expect("the callers' thread ends");
    assert_eq!(report.answered, u64::from(CALLERS), "{report}");
    let page = browser.html_when(Duration::from_secs(10), |html| {
        html.contains("support: 0 waiting")
    });
    assert!(
        page.contains("support: 0 waiting"),
        "the line empties:\n{page}"
    );
    drop(browser);
    server.stop();
}
