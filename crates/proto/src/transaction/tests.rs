//! Table invariants under random traffic: whatever peers and the TU do, the indexes name
//! exactly the live transactions, nothing panics, and once everyone has answered and the
//! timers have run out, the table is empty.

use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Method, Request, Uri};

use super::*;

/// xorshift64*: deterministic, good enough to shuffle inputs.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % sides
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = usize::try_from(self.roll(items.len() as u64)).expect("small slices");
        &items[index]
    }
}

fn peer_request(method: Method, via: &str, call: u64) -> Request {
    let mut request = Request::new(
        method.clone(),
        Uri::parse("sip:bob@example.com").expect("literal URI"),
    );
    let h = &mut request.headers;
    h.push(HeaderName::Via, via);
    h.push(HeaderName::From, "<sip:alice@example.com>;tag=a");
    h.push(HeaderName::To, "<sip:bob@example.com>");
    h.push(HeaderName::CallId, format!("call-{call}"));
    h.push(HeaderName::CSeq, format!("1 {method}"));
    request
}

fn assert_consistent(layer: &Transactions) {
    assert_eq!(layer.server_index.len(), layer.servers.len());
    for (matcher, key) in &layer.server_index {
        assert_eq!(&layer.servers[key].matcher, matcher);
    }
    assert_eq!(layer.client_index.len(), layer.clients.len());
    for (matcher, key) in &layer.client_index {
        assert_eq!(&layer.clients[key].matcher, matcher);
    }
    for invite in layer.deferred_cancels.keys() {
        assert_eq!(layer.client_state(*invite), Some(ClientState::Calling));
    }
}

#[test]
fn table_stays_consistent_under_random_traffic_and_drains_when_everyone_answers() {
    for seed in 1..=20u64 {
        let mut dice = Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let start = Instant::now();
        let mut now = start;
        let mut layer = Transactions::new(Timers::default(), seed);
        let peers = [
            Peer::udp("192.0.2.1:5060".parse().expect("literal")),
            Peer::tcp("192.0.2.2:40000".parse().expect("literal")),
        ];
        let vias = [
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1",
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-2;rport",
            "SIP/2.0/TCP 192.0.2.2;branch=z9hG4bK-1",
            "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK",
            "SIP/2.0/UDP nat.example.com",
        ];
        let methods = [
            Method::Invite,
            Method::Ack,
            Method::Cancel,
            Method::Options,
            Method::Bye,
        ];
        let mut sent: Vec<(ClientKey, Request)> = Vec::new();
        let mut pending: Vec<(ServerKey, Request)> = Vec::new();

        for _ in 0..400 {
            match dice.roll(6) {
                0 | 1 => {
                    let method = dice.pick(&methods).clone();
                    let via = dice.pick(&vias);
                    let request = peer_request(method, via, dice.roll(2));
                    let _ = layer.handle_request(now, request, *dice.pick(&peers));
                }
                2 => {
                    if !pending.is_empty() {
                        let (key, request) = dice.pick(&pending).clone();
                        let status = *dice.pick(&[100, 180, 200, 486, 487]);
                        let _ = layer.send_response(now, key, request.response(status));
                    }
                }
                3 => {
                    let method = dice.pick(&[Method::Invite, Method::Options]).clone();
                    let request = peer_request(method, "SIP/2.0/UDP 203.0.113.1:5060", 9);
                    let sent = layer.send_request(now, request, *dice.pick(&peers));
                    if let Ok(key) = sent
                        && dice.roll(3) == 0
                    {
                        let _ = layer.cancel(now, key);
                    }
                }
                4 => {
                    let candidates: Vec<Request> = sent.iter().map(|(_, r)| r.clone()).collect();
                    if !candidates.is_empty() {
                        let request = dice.pick(&candidates);
                        let status = *dice.pick(&[100, 180, 200, 404, 487]);
                        let _ = layer.handle_response(
                            now,
                            request.response(status),
                            *dice.pick(&peers),
                        );
                    }
                }
                _ => {
                    now += Duration::from_millis(dice.roll(3000));
                    layer.handle_timeout(now);
                }
            }
            collect(&mut layer, &mut sent, &mut pending);
            assert_consistent(&layer);
            if let Some(deadline) = layer.poll_timeout() {
                assert!(
                    deadline + Duration::from_secs(3) >= now,
                    "no deadline left behind"
                );
            }
        }

        // Everyone answers: the TU finals every server transaction, peers every request.
        for (key, request) in pending.drain(..) {
            let _ = layer.send_response(now, key, request.response(500));
        }
        for (_, request) in &sent {
            if request.method != Method::Ack {
                let _ = layer.handle_response(now, request.response(503), peers[0]);
            }
        }
        collect(&mut layer, &mut sent, &mut Vec::new());
        // Then time runs out: every machine ends within a few minutes.
        let end = now + Duration::from_secs(300);
        while let Some(deadline) = layer.poll_timeout() {
            assert!(
                deadline <= end,
                "seed {seed}: a timer beyond every RFC timer"
            );
            now = deadline;
            layer.handle_timeout(now);
            while layer.poll_output().is_some() {}
            assert_consistent(&layer);
        }
        assert!(layer.is_empty(), "seed {seed}: {} left", layer.len());
        assert!(layer.deferred_cancels.is_empty());
    }
}

/// Drains outputs, remembering what the TU must answer and what the peers must answer.
fn collect(
    layer: &mut Transactions,
    sent: &mut Vec<(ClientKey, Request)>,
    pending: &mut Vec<(ServerKey, Request)>,
) {
    while let Some(output) = layer.poll_output() {
        match output {
            Output::Transmit(Transmit {
                message: crossbar_sip::Message::Request(request),
                key: Some(TransactionKey::Client(key)),
                ..
            }) => sent.push((key, request)),
            Output::Event(Event::Request { key, request, .. }) => pending.push((key, request)),
            Output::Event(Event::Terminated {
                key: TransactionKey::Server(key),
            }) => pending.retain(|(k, _)| *k != key),
            _ => {}
        }
    }
}

#[test]
fn every_message_of_a_transaction_sent_from_a_chosen_socket_leaves_from_it() {
    let mut layer = Transactions::new(Timers::default(), 7);
    let now = Instant::now();
    let local: std::net::SocketAddr = "192.0.2.1:5080".parse().expect("address");
    let carrier = Peer::udp("198.51.100.7:5060".parse().expect("address"));
    let invite = peer_request(Method::Invite, "SIP/2.0/UDP 192.0.2.1:5080", 1);
    let key = layer
        .send_request_from(now, invite, carrier, Some(local))
        .expect("the INVITE is sent");
    // A provisional response, then the CANCEL; the INVITE's retransmissions before it.
    layer.handle_timeout(now + Duration::from_millis(500));
    let mut sent = Vec::new();
    while let Some(Output::Transmit(transmit)) = layer.poll_output() {
        sent.push(transmit);
    }
    let mut trying = crossbar_sip::Response::new(100);
    let via = format!(
        "SIP/2.0/UDP 192.0.2.1:5080;branch={}",
        layer.clients[&key].matcher.branch
    );
    trying.headers.push(HeaderName::Via, via);
    trying.headers.push(HeaderName::CSeq, "1 INVITE");
    trying.headers.push(HeaderName::CallId, "call-1");
    layer
        .handle_response(now, trying, carrier)
        .expect("the 100 matches");
    layer.cancel(now, key).expect("the CANCEL goes");
    while let Some(output) = layer.poll_output() {
        if let Output::Transmit(transmit) = output {
            sent.push(transmit);
        }
    }
    let methods: Vec<String> = sent
        .iter()
        .map(|t| match &t.message {
            crossbar_sip::Message::Request(r) => r.method.to_string(),
            crossbar_sip::Message::Response(r) => r.status.to_string(),
        })
        .collect();
    assert_eq!(methods, ["INVITE", "INVITE", "CANCEL"]);
    assert!(sent.iter().all(|t| t.local == Some(local)), "{sent:?}");
    // A request sent without a choice leaves the choice to the run loop.
    layer
        .send_request(
            now,
            peer_request(Method::Options, "SIP/2.0/UDP 192.0.2.1:5060", 2),
            carrier,
        )
        .expect("sent");
    match layer.poll_output() {
        Some(Output::Transmit(transmit)) => assert_eq!(transmit.local, None),
        other => panic!("a transmit: {other:?}"),
    }
}

#[test]
fn a_lost_connection_fails_the_requests_sent_over_it_that_wait_for_an_answer() {
    let mut layer = Transactions::new(Timers::default(), 9);
    let now = Instant::now();
    let carrier = Peer::tcp("198.51.100.7:5060".parse().expect("address"));
    let other = Peer::tcp("198.51.100.8:5060".parse().expect("address"));
    let options = |call| peer_request(Method::Options, "SIP/2.0/TCP 192.0.2.1:5060", call);
    let lost = layer.send_request(now, options(1), carrier).expect("sent");
    let kept = layer.send_request(now, options(2), other).expect("sent");
    while layer.poll_output().is_some() {}
    layer.handle_connection_lost(now, carrier);
    let mut failed = Vec::new();
    while let Some(output) = layer.poll_output() {
        if let Output::Event(Event::TransportError { key }) = output {
            failed.push(key);
        }
    }
    assert_eq!(failed, [TransactionKey::Client(lost)]);
    assert!(
        layer.clients.contains_key(&kept),
        "another connection's request waits on"
    );
    // Over UDP there is no connection to lose.
    layer.handle_connection_lost(
        now,
        Peer::udp("198.51.100.8:5060".parse().expect("address")),
    );
    assert!(layer.poll_output().is_none());
}
