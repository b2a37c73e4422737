//! Queue agents and the live queue view against the running binary: agents logged in, paused
//! and unpaused through the HTTP API and `crossbar agent ...` (a separate process that only
//! writes the database), their state stored as it changes and kept across a restart, and a
//! wallboard following `GET /api/queues/events` while a carrier's caller waits in a queue.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, Party,
    QueueOutcome, Recorder, RecorderOutput,
};
use crossbar_sip::{HeaderName, Message};
use crossbar_store::{
    AgentMembership, AgentStates, CallChange, CallbackFilter, HeldPlace, Page, Store,
};
use serde_json::{Value, json};
use support::{CROSSBAR, Extension, Setup, free_port};

const TOKEN: &str = "queue-agents-test-token-7Hq2mZ9xLw4cVb8nR3tY";
const SUPPORT_DID: &str = "+442079460600";

/// A site with extensions 201–203; queue `support` (static members 201 and 202, callers may
/// join while no agent is logged in) and `sales` (no members); pause reasons lunch and
/// training; the API on its own port; a carrier at `carrier_port` whose calls to the support
/// DID go to the queue; every prompt the queues need, made here.
fn site(carrier_port: u16) -> (Setup, SocketAddr) {
    let (http, api) = support::api_section(TOKEN);
    let mut setup = Setup::new();
    setup.extensions = ["201", "202", "203"]
        .iter()
        .map(|n| Extension::new(n, n, &format!("secret-of-{n}")))
        .collect();
    setup.relay_media(12, 30);
    setup.extra_toml.push_str(&http);
    setup.extra_toml.push_str(&format!(
        r#"
[site]
country = "GB"

[[trunk]]
name = "carrier-a"
address = "127.0.0.1:{carrier_port}"
options_interval_secs = 0

[[inbound_route]]
name = "support"
dids = ["{SUPPORT_DID}"]
destination = "queue:support"

[[queue]]
name = "support"
strategy = "linear"
members = ["201", "202"]
join_empty = true

[[queue]]
name = "sales"
join_empty = true

[agents]
pause_reasons = {{ "1" = "lunch", "2" = "training" }}

[prompts]
dir = "prompts"
"#
    ));
    support::write_prompts(&setup);
    (setup, api)
}

/// One request to the API with the test's token: the status and the JSON body.
fn http(api: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    support::api_request(api, TOKEN, method, path, body.as_deref())
}

/// The live view, once the engine has published it (just after a start, the API may be up
/// before the engine).
fn live_view(api: SocketAddr) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, view) = http(api, "GET", "/api/queues", None);
        if status == 503 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        assert_eq!(status, 200, "{view}");
        return view;
    }
}

/// The agent `agent` of the live view.
fn live_agent(api: SocketAddr, agent: &str) -> Value {
    let view = live_view(api);
    view["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|a| a["agent"] == agent).cloned())
        .unwrap_or_else(|| panic!("agent {agent} in the live view: {view}"))
}

/// The queue `queue` of the live view.
fn live_queue(api: SocketAddr, queue: &str) -> Value {
    let view = live_view(api);
    view["queues"]
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["queue"] == queue).cloned())
        .unwrap_or_else(|| panic!("queue {queue} in the live view: {view}"))
}

/// What the database holds of agents now (opened and closed for the look).
fn stored_agents(setup: &Setup) -> AgentStates {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&setup.store_url())
            .await
            .expect("the database opens");
        let states = store.agent_states().await.expect("agent states read");
        store.close().await;
        states
    })
}

/// The agent log's kinds for `agent`, in order (`pause (lunch)`, `login`...), with queues.
fn agent_log(setup: &Setup, agent: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&setup.store_url())
            .await
            .expect("the database opens");
        let events = store
            .agent_events(crossbar_cdr::metrics::Period::ALL, Some(agent))
            .await
            .expect("agent events read");
        store.close().await;
        events
            .iter()
            .map(|e| match &e.queue {
                Some(queue) => format!("{} {queue}", e.kind),
                None => e.kind.to_string(),
            })
            .collect()
    })
}

fn membership(setup: &Setup, agent: &str, queue: &str) -> Option<AgentMembership> {
    stored_agents(setup)
        .members
        .into_iter()
        .find(|m| m.agent == agent && m.queue == queue)
}

fn crossbar(setup: &Setup, args: &[&str]) -> Output {
    Command::new(CROSSBAR)
        .args(args)
        .arg("--config")
        .arg(setup.config_path())
        .env("USER", "alice")
        .output()
        .expect("the crossbar binary runs")
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_agent_logged_in_through_the_api_is_stored_and_shown_live_at_once() {
    let (setup, api) = site(free_port());
    let server = setup.start();

    let (status, body) = http(api, "POST", "/api/agents/201/login", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["state"], "available", "{body}");
    assert_eq!(
        body["agent"]["queues"],
        json!([{"queue": "support", "penalty": 0}])
    );
    assert_eq!(body["request"]["state"], "done");
    assert_eq!(body["request"]["requested_by"], "token:ops");
    // When the API answers, the database already holds the login.
    let stored = membership(&setup, "201", "support").expect("201's row in support");
    assert!(stored.logged_in && stored.static_member, "{stored:?}");
    assert_eq!(agent_log(&setup, "201"), ["login support"]);
    let live = live_agent(api, "201");
    assert_eq!(live["state"], "available", "{live}");
    assert_eq!(live_queue(api, "support")["logged_in"], 1);
    assert_eq!(live_queue(api, "support")["available"], 1);

    // 202 joins sales, a queue it is not a member of, with a penalty; then also support.
    let (status, body) = http(
        api,
        "POST",
        "/api/agents/202/login",
        Some(json!({"queue": "sales", "penalty": 3})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        api,
        "POST",
        "/api/agents/202/login",
        Some(json!({"queue": "support"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["agent"]["queues"],
        json!([{"queue": "support", "penalty": 0}, {"queue": "sales", "penalty": 3}]),
        "a member keeps its configured penalty"
    );
    let sales = membership(&setup, "202", "sales").expect("202's row in sales");
    assert!(
        sales.logged_in && !sales.static_member && sales.penalty == 3,
        "{sales:?}"
    );
    assert!(
        membership(&setup, "202", "support").is_some_and(|m| m.logged_in),
        "the login to a second queue is stored though the agent's state did not change"
    );
    // Logging out of one queue of two: stored too; the dynamic row goes.
    let (status, body) = http(
        api,
        "POST",
        "/api/agents/202/logout",
        Some(json!({"queue": "sales"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(membership(&setup, "202", "sales"), None);
    assert_eq!(
        agent_log(&setup, "202"),
        ["login sales", "login support", "logout sales"]
    );

    // What the switch refuses, and what the configuration does not have.
    let (status, body) = http(api, "POST", "/api/agents/203/pause", None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "agent 203 is not logged in");
    let (status, body) = http(api, "POST", "/api/agents/209/login", None);
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "agent: 209 is not an extension of the configuration"
    );
    let (status, body) = http(
        api,
        "POST",
        "/api/agents/201/pause",
        Some(json!({"reason": "nap"})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("nap")),
        "{body}"
    );
    server.stop();
}

#[test]
fn crossbar_agent_pauses_an_agent_of_the_running_server_and_says_when_none_runs() {
    let (setup, api) = site(free_port());
    let server = setup.start();
    let out = crossbar(&setup, &["agent", "login", "201"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout_of(&out),
        "201: available; logged in to support (penalty 0)\n"
    );
    let out = crossbar(&setup, &["agent", "pause", "201", "--reason", "lunch"]);
    assert!(out.status.success(), "{out:?}");
    let line = stdout_of(&out);
    assert!(
        line.starts_with("201: paused (lunch) since ")
            && line.ends_with("; logged in to support (penalty 0)\n"),
        "{line}"
    );
    let live = live_agent(api, "201");
    assert_eq!(live["state"], "paused");
    assert_eq!(live["pause_reason"], "lunch");
    let pause = stored_agents(&setup)
        .pause_of("201")
        .cloned()
        .expect("201's pause is stored");
    assert_eq!(pause.reason.as_deref(), Some("lunch"));
    let out = crossbar(&setup, &["agent", "list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        list.as_array()
            .expect("an array")
            .iter()
            .any(|a| a["agent"] == "201" && a["pause_reason"] == "lunch"),
        "{list}"
    );
    let out = crossbar(&setup, &["agent", "pause", "201", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["agent"]["pause_reason"], Value::Null);
    assert_eq!(answer["request"]["requested_by"], "cli:alice");

    // Refused by the switch: exit 1; unknown to the configuration: exit 2.
    let out = crossbar(&setup, &["agent", "unpause", "203"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        stderr_of(&out),
        "crossbar agent unpause: agent 203 is not logged in\n"
    );
    let out = crossbar(&setup, &["agent", "pause", "201", "--reason", "nap"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr_of(&out)
            .contains("--reason: nap is not one of [agents] pause_reasons (lunch, training)")
    );
    let out = crossbar(&setup, &["agent", "login", "201", "--queue", "billing"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let port = server.port;
    server.stop();

    // No crossbar runs: the command says so, and the request waits for the next start.
    let out = crossbar(&setup, &["agent", "unpause", "201"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = stderr_of(&out);
    assert!(
        said.contains("has not taken it: is crossbar running with this configuration's database?"),
        "{said}"
    );
    let server = setup.start_on(port);
    assert!(
        support::wait_until(Duration::from_secs(5), || live_agent(api, "201")["state"]
            == "available"),
        "the unpause asked while crossbar was stopped is applied at its start: {}",
        live_agent(api, "201")
    );
    server.stop();
}

#[test]
fn agents_stay_logged_in_and_paused_across_a_restart() {
    let (setup, api) = site(free_port());
    let server = setup.start();
    for (path, body) in [
        ("/api/agents/201/login", None),
        (
            "/api/agents/202/login",
            Some(json!({"queue": "sales", "penalty": 2})),
        ),
        ("/api/agents/201/pause", Some(json!({"reason": "training"}))),
    ] {
        let (status, answer) = http(api, "POST", path, body);
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let before = live_agent(api, "201");
    let port = server.port;
    server.stop();

    let server = setup.start_on(port);
    let after = live_agent(api, "201");
    assert_eq!(after["state"], "paused", "{after}");
    assert_eq!(after["pause_reason"], "training");
    assert_eq!(after["queues"], before["queues"]);
    let dynamic = live_agent(api, "202");
    assert_eq!(dynamic["state"], "available", "{dynamic}");
    assert_eq!(dynamic["queues"], json!([{"queue": "sales", "penalty": 2}]));
    // The restore is silent: the log has each change once.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        agent_log(&setup, "201"),
        ["login support", "pause (training)"]
    );
    assert_eq!(agent_log(&setup, "202"), ["login sales"]);
    server.stop();
}

#[test]
fn a_login_to_a_queue_removed_from_the_configuration_is_logged_out_at_the_restart() {
    let (mut setup, api) = site(free_port());
    let server = setup.start();
    let (status, answer) = http(
        api,
        "POST",
        "/api/agents/202/login",
        Some(json!({"queue": "sales", "penalty": 2})),
    );
    assert_eq!(status, 200, "{answer}");
    assert!(membership(&setup, "202", "sales").is_some_and(|m| m.logged_in));
    let port = server.port;
    server.stop();

    let sales = "[[queue]]\nname = \"sales\"\njoin_empty = true\n";
    assert!(setup.extra_toml.contains(sales), "the site has sales");
    setup.extra_toml = setup.extra_toml.replace(sales, "");
    let server = setup.start_on(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while membership(&setup, "202", "sales").is_some() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(membership(&setup, "202", "sales"), None, "the row goes");
    assert_eq!(agent_log(&setup, "202"), ["login sales", "logout sales"]);
    let live = live_agent(api, "202");
    assert_eq!(live["state"], "logged_out", "{live}");
    server.stop();
}

/// A wallboard's connection to the event stream, reading one event at a time.
struct Wallboard {
    reader: BufReader<TcpStream>,
}

impl Wallboard {
    fn connect(api: SocketAddr) -> Wallboard {
        let mut stream = TcpStream::connect(api).expect("the API accepts connections");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout can be set");
        write!(
            stream,
            "GET /api/queues/events HTTP/1.1\r\nHost: {api}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .expect("the request is sent");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("the head is read");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        Wallboard { reader }
    }

    /// The next chunk of the (chunked) body.
    fn chunk(&mut self) -> String {
        let mut size = String::new();
        self.reader.read_line(&mut size).expect("a chunk size");
        let size = usize::from_str_radix(size.trim(), 16)
            .unwrap_or_else(|_| panic!("a chunk size: {size:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).expect("the chunk");
        data.truncate(size);
        String::from_utf8(data).expect("UTF-8")
    }

    /// The next `queues` event's data (keep-alive comments skipped).
    fn next_view(&mut self) -> Value {
        let mut text = String::new();
        loop {
            text.push_str(&self.chunk());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    assert!(event.starts_with("event: queues\n"), "{event}");
                    return serde_json::from_str(data).expect("JSON data");
                }
            }
        }
    }

    /// Reads views until one satisfies `wanted` (within 10 s).
    fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let view = self.next_view();
            if wanted(&view) {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "no view where {what}: last {view}"
            );
        }
    }
}

/// A carrier on 127.0.0.1:`port` that calls the support DID.
struct Carrier {
    socket: UdpSocket,
    server: SocketAddr,
}

/// A call the carrier placed and crossbar answered.
struct CarrierCall {
    call_id: String,
    from: String,
    to: String,
    target: String,
}

impl Carrier {
    fn new(port: u16, server: SocketAddr) -> Carrier {
        let socket = UdpSocket::bind(("127.0.0.1", port)).expect("the carrier's port is free");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("a timeout can be set");
        Carrier { socket, server }
    }

    fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.server)
            .expect("the carrier sends");
    }

    /// The next response of `call_id` with a final status, answering what else crossbar sends
    /// (an in-dialog request: 200).
    fn final_response(&self, call_id: &str) -> crossbar_sip::Response {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buffer = [0u8; 65_535];
        while Instant::now() < deadline {
            let Ok((size, _)) = self.socket.recv_from(&mut buffer) else {
                continue;
            };
            match crossbar_sip::parse_datagram(&buffer[..size]) {
                Ok(Message::Response(response))
                    if response.status >= 200 && response.headers.call_id() == Some(call_id) =>
                {
                    return response;
                }
                Ok(Message::Request(request)) => {
                    let reply = Message::Response(request.response(200)).to_bytes();
                    self.socket
                        .send_to(&reply, self.server)
                        .expect("the carrier answers");
                }
                _ => {}
            }
        }
        panic!("no final response to {call_id} within 10 s");
    }

    /// Calls the support DID from `caller`; crossbar answers for the queue; the carrier ACKs.
    fn call(&self, caller: &str, n: u32) -> CarrierCall {
        let port = self.socket.local_addr().expect("bound").port();
        let call_id = format!("queue-agents-{n}@127.0.0.1");
        let from = format!("<sip:{caller}@127.0.0.1>;tag=carrier-{n}");
        let sdp = format!(
            "v=0\r\no=- {n} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
            port + 2
        );
        self.send(&format!(
            "INVITE sip:{SUPPORT_DID}@{server} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-inv-{n}\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: <sip:{SUPPORT_DID}@{server}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@127.0.0.1:{port}>\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            server = self.server,
        ));
        let ok = self.final_response(&call_id);
        assert_eq!(
            ok.status, 200,
            "crossbar answers the caller for the queue: {ok}"
        );
        let to = ok
            .headers
            .get(&HeaderName::To)
            .expect("a To header")
            .to_owned();
        let contact = ok
            .headers
            .get(&HeaderName::Contact)
            .expect("a Contact header");
        let target = contact
            .trim()
            .trim_start_matches('<')
            .split('>')
            .next()
            .expect("a URI")
            .to_owned();
        let call = CarrierCall {
            call_id,
            from,
            to,
            target,
        };
        self.in_dialog(&call, "ACK", 1, n);
        call
    }

    fn in_dialog(&self, call: &CarrierCall, method: &str, cseq: u32, n: u32) {
        let port = self.socket.local_addr().expect("bound").port();
        self.send(&format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{method}-{n}\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            target = call.target,
            from = call.from,
            to = call.to,
            call_id = call.call_id,
        ));
    }

    /// The carrier hangs up.
    fn hang_up(&self, call: &CarrierCall, n: u32) {
        self.in_dialog(call, "BYE", 2, n);
        let ok = self.final_response(&call.call_id);
        assert_eq!(ok.status, 200, "{ok}");
    }
}

#[test]
fn a_wallboard_on_the_event_stream_sees_a_caller_wait_and_leave_and_an_agent_log_in() {
    let carrier_port = free_port();
    let (setup, api) = site(carrier_port);
    let server = setup.start();
    let mut wallboard = Wallboard::connect(api);
    let first = wallboard.next_view();
    assert_eq!(
        first["queues"]
            .as_array()
            .expect("queues")
            .iter()
            .map(|q| q["queue"].clone())
            .collect::<Vec<_>>(),
        ["support", "sales"]
    );
    assert_eq!(first["queues"][0]["waiting"], 0, "{first}");
    assert_eq!(first["agents"][0]["state"], "logged_out", "{first}");

    // A caller joins support (nobody is logged in; the queue lets them wait).
    let carrier = Carrier::new(carrier_port, server.addr());
    let call = carrier.call("+447700900123", 1);
    let view = wallboard.until("a caller waits", |v| v["queues"][0]["waiting"] == 1);
    let caller = &view["queues"][0]["callers"][0];
    assert_eq!(caller["position"], 1, "{view}");
    assert_eq!(caller["number"], "+447700900123", "{view}");
    assert_eq!(caller["vip"], false);
    assert_eq!(caller["callback"], false);
    assert!(caller["call"].is_string(), "{view}");
    let waiting = live_queue(api, "support");
    assert_eq!(waiting["callers"][0]["number"], "+447700900123");

    // 203 logs in to sales: the stream says so without being asked.
    let (status, body) = http(
        api,
        "POST",
        "/api/agents/203/login",
        Some(json!({"queue": "sales"})),
    );
    assert_eq!(status, 200, "{body}");
    let view = wallboard.until("203 is available", |v| {
        v["agents"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a["agent"] == "203" && a["state"] == "available")
        })
    });
    assert_eq!(view["queues"][1]["logged_in"], 1, "{view}");

    // The caller gives up.
    carrier.hang_up(&call, 1);
    wallboard.until("nobody waits", |v| v["queues"][0]["waiting"] == 0);
    server.stop();
}

/// The record of a call from `customer` that waited in `support` and took "press 1 to be
/// called back" after `waited_ms` (its record opens the customer's callback task).
fn took_the_callback(id: &str, customer: &str, start_ms: i64, waited_ms: i64) -> CallRecord {
    let call = CallId(id.into());
    let at = |ms: i64, kind: EventKind| CallEvent {
        call: call.clone(),
        at_ms: start_ms + ms,
        kind,
    };
    let events = [
        at(
            0,
            EventKind::Started {
                direction: Direction::Inbound,
                caller: Party {
                    number: customer.into(),
                    name: None,
                },
                callee: Party {
                    number: SUPPORT_DID.into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        ),
        at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: SUPPORT_DID.into(),
                route: Some("support".into()),
                vip: false,
                language: None,
            },
        ),
        at(
            0,
            EventKind::QueueJoined {
                queue: "support".into(),
                position: 1,
            },
        ),
        at(
            waited_ms,
            EventKind::QueueLeft {
                queue: "support".into(),
                outcome: QueueOutcome::Callback,
                agent: None,
            },
        ),
        at(
            waited_ms + 3_000,
            EventKind::Ended {
                reason: EndReason::CallerGaveUp,
                hangup_by: HangupSide::System,
                status: None,
            },
        ),
    ];
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(RecorderOutput::Finished(record)) => Some(*record),
            _ => None,
        })
        .expect("the call ends")
}

#[test]
fn callers_waiting_for_a_callback_are_back_in_line_after_a_restart() {
    let (setup, api) = site(free_port());
    // crossbar stopped while two callers waited for a callback and a third, reached since,
    // had their place kept too: what the database holds at the start.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("in range");
    let first = "+447700900111";
    let second = "+447700900222";
    let reached = "+447700900333";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = Store::open(&setup.store_url())
            .await
            .expect("the database opens");
        let records = [
            took_the_callback("held-1", first, now_ms - 600_000, 90_000),
            took_the_callback("held-2", second, now_ms - 300_000, 60_000),
            took_the_callback("held-3", reached, now_ms - 200_000, 60_000),
        ];
        let changes: Vec<CallChange> = records
            .iter()
            .map(|record| CallChange::Finished(Box::new(record.clone())))
            .collect();
        store.apply_call_changes(&changes).await.expect("stored");
        for record in &records {
            let place = HeldPlace {
                call: record.id.clone(),
                queue: "support".into(),
                customer: record.caller.number.clone(),
                did: Some(SUPPORT_DID.into()),
                vip: false,
                joined_at_ms: record.started_at_ms,
            };
            store.keep_held_place(&place).await.expect("kept");
        }
        let tasks = store
            .callback_tasks(&CallbackFilter::default(), Page::first(10))
            .await
            .expect("tasks");
        let task = tasks
            .iter()
            .find(|task| task.number == reached)
            .expect("the third caller's task");
        store
            .cancel_callback(task.id, "test", now_ms - 1_000)
            .await
            .expect("cancelled");
        store.close().await;
    });

    let server = setup.start();
    let support = live_queue(api, "support");
    let callers: Vec<(String, bool)> = support["callers"]
        .as_array()
        .expect("callers")
        .iter()
        .map(|caller| {
            (
                caller["number"].as_str().unwrap_or_default().to_owned(),
                caller["callback"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        callers,
        [(first.to_owned(), true), (second.to_owned(), true)],
        "{support}"
    );
    let waited = support["callers"][0]["waited_secs"]
        .as_i64()
        .expect("waited");
    assert!(
        (600..610).contains(&waited),
        "waiting since they joined: {support}"
    );
    server.stop();
}
