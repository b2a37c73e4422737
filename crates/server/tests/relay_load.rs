//! Many calls at once with RTP both ways through the relay, placed by the benchmark's load
//! generator (bench/loadgen, which bench/calls.sh runs with thousands of calls): every call
//! answered and hung up, every stream delivered to its own call and to no other, loss within
//! the benchmark's bound, and one `answered` record per call.

mod support;

use std::time::Duration;

use crossbar_cdr::{Direction, Disposition};
use crossbar_loadgen::{Credentials, Load};
use support::{Extension, Setup};

const CALLS: u32 = 40;

#[test]
fn concurrent_relayed_calls_keep_their_streams_apart_and_lose_nothing() {
    let callee = Extension::new("2999", "uas", "uas-secret-2999");
    let mut setup = Setup::with_sipp_users(10);
    setup.extensions.push(callee.clone());
    setup.relay_media(u16::try_from(CALLS).expect("small") * 4 + 16, 30);
    setup
        .extra_toml
        .push_str("[calls]\nmax_calls_per_extension = 1000\n");
    let server = setup.start();
    let credentials = |e: &Extension| Credentials {
        username: e.username.clone(),
        password: e.secret.clone(),
    };
    let load = Load {
        server: server.addr(),
        bind: "127.0.0.1".parse().expect("an address"),
        callers: setup.extensions[..10].iter().map(credentials).collect(),
        dial: callee.number.clone(),
        callee: credentials(&callee),
        calls: CALLS,
        rate: 20.0,
        hold: Duration::from_secs(4),
        media: true,
        rtp_sockets: 2,
        progress: false,
    };
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(crossbar_loadgen::run(load))
        .expect("the load runs");

    let calls = u64::from(CALLS);
    assert_eq!(
        (report.answered, report.completed, report.failed()),
        (calls, calls, 0),
        "{report}"
    );
    // 4 s of 20 ms packets per call and direction, all up at once for ~2 s.
    for packets in [report.forward, report.backward] {
        assert_eq!(packets.sent, calls * 200, "{report}");
        assert!(packets.loss() < 0.1, "more than 0.1 % lost:\n{report}");
        assert_eq!(packets.crossed, 0, "{report}");
    }
    assert_eq!(
        (report.streams, report.sources, report.shared),
        (2 * calls, 2 * calls, 0),
        "each call's two streams come back from exactly one relay port each:\n{report}"
    );

    let stored = setup.wait_for_records(CALLS as usize, Duration::from_secs(10));
    assert_eq!(stored.calls.len(), CALLS as usize);
    for record in &stored.calls {
        assert_eq!(record.direction, Direction::Internal, "{record:?}");
        assert_eq!(record.disposition, Disposition::Answered, "{record:?}");
        assert_eq!(record.callee.number, "2999", "{record:?}");
    }
    server.stop();
}
