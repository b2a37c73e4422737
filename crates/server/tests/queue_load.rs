//! A queue under the benchmark's load generator (bench/loadgen, which bench/queue.sh runs
//! with 1,000 callers and 100 agents): a carrier's callers wait in a queue hearing its music,
//! the generator's agents answer them one after the other, talk and hang up, and every caller
//! is served — so the benchmark's tooling keeps working, and what it measures is checked
//! against the call records.

mod support;

use std::time::Duration;

use crossbar_cdr::{Direction, Disposition};
use crossbar_loadgen::{Agents, CarrierLoad, Credentials};
use support::{Extension, Setup, free_port};

const TOKEN: &str = "queue-load-test-token-Vd3kP8sQ1nZ6wRy4";
const DID: &str = "+442079460700";
const CALLERS: u32 = 24;
const AGENTS: [&str; 4] = ["3000", "3001", "3002", "3003"];

#[test]
fn callers_waiting_with_music_are_each_answered_by_the_generators_agents_in_turn() {
    let carrier_port = free_port();
    let mut setup = Setup::new();
    setup.extensions = AGENTS
        .iter()
        .map(|n| Extension::new(n, n, &format!("agent-secret-{n}")))
        .collect();
    setup.relay_media(u16::try_from(CALLERS).expect("small") * 4 + 16, 30);
    let (http, api) = support::api_section(TOKEN);
    setup.extra_toml.push_str(&http);
    let members: Vec<String> = AGENTS.iter().map(|a| format!("\"{a}\"")).collect();
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
destination = "queue:load"

[[queue]]
name = "load"
strategy = "longest_idle"
members = [{members}]
join_empty = true

[prompts]
dir = "prompts"
"#,
        members = members.join(", "),
    ));
    // The queue's music and the system prompts: short tones.
    support::write_prompts(&setup);
    let server = setup.start();
    for agent in AGENTS {
        let path = format!("/api/agents/{agent}/login");
        let (status, body) = support::api_request(api, TOKEN, "POST", &path, Some("{}"));
        assert_eq!(status, 200, "{path}: {body}");
    }

    let load = CarrierLoad {
        agents: Some(Agents {
            users: setup
                .extensions
                .iter()
                .map(|e| Credentials {
                    username: e.username.clone(),
                    password: e.secret.clone(),
                })
                .collect(),
            talk: Duration::from_millis(600),
        }),
        rate: 20.0,
        rtp_sockets: 2,
        kernel_stamps: true,
        // The callers' patience: far more than the 24 calls of 0.6 s on 4 agents need.
        ..support::carrier_callers(
            server.addr(),
            carrier_port,
            DID,
            CALLERS,
            Duration::from_secs(30),
        )
    };
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(crossbar_loadgen::run_carrier(load))
        .expect("the load runs");

    let callers = u64::from(CALLERS);
    // Every caller answered by crossbar, then ended by crossbar when its agent hung up.
    assert_eq!(
        (report.answered, report.ended_by_server, report.failed()),
        (callers, callers, 0),
        "{report}"
    );
    // Each caller offered to exactly one agent, who answered and hung up; every agent but
    // the first offer after its login was timed from its hang-up to its next INVITE.
    assert_eq!(
        (
            report.invites,
            report.agent_hung_up,
            report.agent_byes_answered
        ),
        (callers, callers, callers),
        "{report}"
    );
    assert_eq!(
        report.dispatch.samples,
        callers - AGENTS.len() as u64,
        "{report}"
    );
    // The callers heard crossbar's music while they waited, and then their agent.
    let music = &report.backward_arrivals;
    assert_eq!(music.streams, callers, "{report}");
    assert!(music.expected > 0 && music.lost == 0, "{report}");
    assert!(report.backward.crossed > 0, "the agents' voice: {report}");
    assert!(report.forward.received > 0, "the callers' voice: {report}");

    let stored = setup.wait_for_records(CALLERS as usize, Duration::from_secs(10));
    assert_eq!(stored.calls.len(), CALLERS as usize);
    for record in &stored.calls {
        assert_eq!(record.direction, Direction::Inbound, "{record:?}");
        assert_eq!(record.disposition, Disposition::Answered, "{record:?}");
        let visit = record.queues.first().expect("the call waited in the queue");
        assert_eq!(visit.queue, "load", "{record:?}");
        assert!(
            AGENTS.contains(&visit.agent.as_deref().unwrap_or_default()),
            "{record:?}"
        );
        assert_eq!(visit.offered.len(), 1, "one offer, answered: {record:?}");
    }
    server.stop();
}
