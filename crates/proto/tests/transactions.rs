//! The transaction layer on a virtual clock (RFC 3261 §17, §18.2, RFC 6026, RFC 3581).
//!
//! Every test drives one [`Transactions`] through a [`Net`]: messages go in as if they came
//! from the network or the TU, time moves only when the test says so, and every output is
//! collected with the instant (in ms from the start) at which it appeared.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbar_proto::transaction::{
    ClientKey, ClientState, Event, InputError, Output, Peer, ServerKey, ServerState, Timers,
    TransactionError, TransactionKey, Transactions, Transmit, Transport, stateless_response,
};
use crossbar_sip::{HeaderName, Message, Method, Request, Response, Uri, parse_datagram};

// ---------------------------------------------------------------------------------------
// Harness

/// One output and when (ms after the start) it came out.
#[derive(Debug, Clone)]
struct Out {
    at_ms: u64,
    output: Output,
}

struct Net {
    layer: Transactions,
    start: Instant,
    now: Instant,
}

impl Net {
    fn new() -> Net {
        Net::with_timers(Timers::default())
    }

    fn with_timers(timers: Timers) -> Net {
        let start = Instant::now();
        Net {
            layer: Transactions::new(timers, 7),
            start,
            now: start,
        }
    }

    fn ms(&self) -> u64 {
        u64::try_from((self.now - self.start).as_millis()).expect("tests run for minutes at most")
    }

    /// Moves the clock to `ms` for an input at that instant. Skipping over a deadline would
    /// hide what the layer does then, so a test must [`Net::run_until`] past it first.
    fn at(&mut self, ms: u64) -> &mut Net {
        let target = self.start + Duration::from_millis(ms);
        assert!(target >= self.now, "the virtual clock only moves forward");
        if let Some(deadline) = self.layer.poll_timeout() {
            assert!(
                deadline >= target,
                "moving to {ms} ms would skip a deadline; run_until it first"
            );
        }
        self.now = target;
        self
    }

    fn drain(&mut self) -> Vec<Out> {
        let at_ms = self.ms();
        std::iter::from_fn(|| self.layer.poll_output())
            .map(|output| Out { at_ms, output })
            .collect()
    }

    fn receive(&mut self, request: Request, from: Peer) -> Vec<Out> {
        self.layer
            .handle_request(self.now, request, from)
            .expect("test requests are well formed");
        self.drain()
    }

    fn receive_response(&mut self, response: Response, from: Peer) -> Vec<Out> {
        self.layer
            .handle_response(self.now, response, from)
            .expect("test responses are well formed");
        self.drain()
    }

    fn respond(&mut self, key: ServerKey, response: Response) -> Vec<Out> {
        self.layer
            .send_response(self.now, key, response)
            .expect("the TU's response fits the transaction state");
        self.drain()
    }

    fn send(&mut self, request: Request, to: Peer) -> (ClientKey, Vec<Out>) {
        let key = self
            .layer
            .send_request(self.now, request, to)
            .expect("test requests are well formed");
        (key, self.drain())
    }

    /// Runs the clock to `ms`, waking the layer at every deadline it asks for on the way
    /// (exactly what a run loop does), and returns everything it put out.
    fn run_until(&mut self, ms: u64) -> Vec<Out> {
        let end = self.start + Duration::from_millis(ms);
        let mut outs = Vec::new();
        while let Some(deadline) = self.layer.poll_timeout() {
            if deadline > end {
                break;
            }
            assert!(deadline >= self.now, "no deadline in the past");
            self.now = deadline;
            self.layer.handle_timeout(self.now);
            outs.extend(self.drain());
        }
        self.now = end;
        outs
    }
}

fn transmits(outs: &[Out]) -> Vec<(u64, Transmit)> {
    outs.iter()
        .filter_map(|o| match &o.output {
            Output::Transmit(t) => Some((o.at_ms, t.clone())),
            Output::Event(_) => None,
        })
        .collect()
}

fn events(outs: &[Out]) -> Vec<Event> {
    outs.iter()
        .filter_map(|o| match &o.output {
            Output::Event(e) => Some(e.clone()),
            Output::Transmit(_) => None,
        })
        .collect()
}

/// The instants of every transmission.
fn transmit_times(outs: &[Out]) -> Vec<u64> {
    transmits(outs).into_iter().map(|(at, _)| at).collect()
}

/// The status codes of the transmitted responses, in order.
fn sent_statuses(outs: &[Out]) -> Vec<u16> {
    transmits(outs)
        .into_iter()
        .filter_map(|(_, t)| match t.message {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect()
}

fn sent_requests(outs: &[Out]) -> Vec<Request> {
    transmits(outs)
        .into_iter()
        .filter_map(|(_, t)| match t.message {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        })
        .collect()
}

fn new_request_key(outs: &[Out]) -> ServerKey {
    events(outs)
        .into_iter()
        .find_map(|e| match e {
            Event::Request { key, .. } => Some(key),
            _ => None,
        })
        .expect("the request opened a server transaction")
}

fn received_request(outs: &[Out]) -> Request {
    events(outs)
        .into_iter()
        .find_map(|e| match e {
            Event::Request { request, .. } => Some(request),
            _ => None,
        })
        .expect("the request went to the TU")
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test addresses are literals")
}

/// The caller, whose Via sent-by is its real address.
fn alice() -> Peer {
    Peer::udp(addr("192.0.2.10:5060"))
}

fn alice_tcp() -> Peer {
    Peer::tcp(addr("192.0.2.10:49170"))
}

/// Where client transactions send to.
fn bob() -> Peer {
    Peer::udp(addr("198.51.100.20:5060"))
}

fn bob_tcp() -> Peer {
    Peer::tcp(addr("198.51.100.20:5060"))
}

fn uri(text: &str) -> Uri {
    Uri::parse(text).expect("test URIs are literals")
}

/// A request as a phone sends it, with `via` as its only `Via` value.
fn request_with_via(method: Method, via: &str, call_id: &str) -> Request {
    let mut request = Request::new(method.clone(), uri("sip:bob@example.com"));
    let h = &mut request.headers;
    h.push(HeaderName::Via, via);
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, "<sip:alice@example.com>;tag=a1");
    h.push(HeaderName::To, "<sip:bob@example.com>");
    h.push(HeaderName::CallId, call_id);
    h.push(HeaderName::CSeq, format!("1 {method}"));
    request
}

/// A request from [`alice`] over UDP with RFC 3261 branch `branch`.
fn request(method: Method, branch: &str) -> Request {
    request_with_via(
        method,
        &format!("SIP/2.0/UDP 192.0.2.10:5060;branch={branch}"),
        "call-1@192.0.2.10",
    )
}

fn tcp_request(method: Method, branch: &str) -> Request {
    request_with_via(
        method,
        &format!("SIP/2.0/TCP 192.0.2.10:5060;branch={branch}"),
        "call-1@192.0.2.10",
    )
}

/// The ACK alice sends for a non-2xx final to `invite` (§17.1.1.3): same branch.
fn ack_for(invite: &Request, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    h.push(
        HeaderName::Via,
        invite
            .headers
            .get(&HeaderName::Via)
            .expect("the INVITE has a Via"),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(
        HeaderName::From,
        invite.headers.get(&HeaderName::From).expect("From"),
    );
    h.push(
        HeaderName::To,
        response.headers.get(&HeaderName::To).expect("To"),
    );
    h.push(
        HeaderName::CallId,
        invite.headers.get(&HeaderName::CallId).expect("Call-ID"),
    );
    let seq = invite.headers.cseq().expect("CSeq").seq;
    h.push(HeaderName::CSeq, format!("{seq} ACK"));
    ack
}

/// A response of the TU, with a To tag.
fn answer(request: &Request, status: u16) -> Response {
    let mut response = request.response(status);
    let to = response
        .headers
        .get(&HeaderName::To)
        .expect("To")
        .to_owned();
    if status > 100 {
        response.headers.set(HeaderName::To, format!("{to};tag=b2"));
    }
    response
}

/// A request the TU sends: a Via with its sent-by and no branch yet.
fn outgoing(method: Method) -> Request {
    let mut request = Request::new(method.clone(), uri("sip:bob@198.51.100.20"));
    let h = &mut request.headers;
    h.push(HeaderName::Via, "SIP/2.0/UDP 203.0.113.1:5060;rport");
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, "<sip:pbx@example.com>;tag=p1");
    h.push(HeaderName::To, "<sip:bob@198.51.100.20>");
    h.push(HeaderName::CallId, "out-1@203.0.113.1");
    h.push(HeaderName::CSeq, format!("1 {method}"));
    h.push(HeaderName::Route, "<sip:proxy.example.com;lr>");
    request
}

fn top_via_param(headers: &crossbar_sip::Headers, name: &str) -> Option<Option<String>> {
    let via = headers.top_via().expect("a top Via");
    via.params.get(name).map(|v| v.map(str::to_owned))
}

fn terminated(key: impl Into<TransactionKey>) -> Event {
    Event::Terminated { key: key.into() }
}

/// 64*T1 with the default T1.
const LIFETIME_MS: u64 = 32_000;

// ---------------------------------------------------------------------------------------
// Non-INVITE server transaction (§17.2.2)

#[test]
fn non_invite_server_walks_trying_proceeding_completed_and_terminates_on_timer_j() {
    let mut net = Net::new();
    let options = request(Method::Options, "z9hG4bK-opt1");
    let outs = net.receive(options.clone(), alice());
    assert!(
        transmits(&outs).is_empty(),
        "no automatic 100 for non-INVITE"
    );
    let key = new_request_key(&outs);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Trying));

    let outs = net.at(100).respond(key, answer(&options, 100));
    assert_eq!(sent_statuses(&outs), [100]);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Proceeding));

    let outs = net.at(200).respond(key, answer(&options, 200));
    assert_eq!(sent_statuses(&outs), [200]);
    assert_eq!(transmits(&outs)[0].1.destination, alice());
    assert_eq!(net.layer.server_state(key), Some(ServerState::Completed));

    assert!(net.run_until(200 + LIFETIME_MS - 1).is_empty());
    let outs = net.run_until(200 + LIFETIME_MS);
    assert_eq!(events(&outs), [terminated(key)]);
    assert_eq!(net.layer.server_state(key), None);
    assert!(net.layer.is_empty());
}

#[test]
fn non_invite_server_absorbs_retransmissions_resending_the_latest_response() {
    let mut net = Net::new();
    let register = request(Method::Register, "z9hG4bK-reg1");
    let key = new_request_key(&net.receive(register.clone(), alice()));

    // Trying: nothing to re-send, and the TU does not see the request again.
    let outs = net.at(500).receive(register.clone(), alice());
    assert!(outs.is_empty());

    net.at(600).respond(key, answer(&register, 100));
    let outs = net.at(1500).receive(register.clone(), alice());
    assert_eq!(sent_statuses(&outs), [100]);
    assert!(events(&outs).is_empty());

    net.at(1600).respond(key, answer(&register, 401));
    let outs = net.at(3500).receive(register.clone(), alice());
    assert_eq!(sent_statuses(&outs), [401]);
    assert!(events(&outs).is_empty());
}

#[test]
fn non_invite_server_over_tcp_terminates_with_the_final_response() {
    let mut net = Net::new();
    let options = tcp_request(Method::Options, "z9hG4bK-tcp1");
    let key = new_request_key(&net.receive(options.clone(), alice_tcp()));
    let outs = net.respond(key, answer(&options, 200));
    assert_eq!(transmits(&outs)[0].1.destination, alice_tcp());
    assert_eq!(events(&outs), [terminated(key)], "Timer J is zero on TCP");
    assert!(net.layer.is_empty());
    assert_eq!(net.layer.poll_timeout(), None);
}

#[test]
fn server_refuses_a_second_final_response_and_responses_after_termination() {
    let mut net = Net::new();
    let options = request(Method::Options, "z9hG4bK-opt2");
    let key = new_request_key(&net.receive(options.clone(), alice()));
    net.respond(key, answer(&options, 200));
    let second = net.layer.send_response(net.now, key, answer(&options, 500));
    assert!(matches!(
        second,
        Err(TransactionError::ServerState {
            state: ServerState::Completed,
            status: 500,
            ..
        })
    ));
    net.run_until(LIFETIME_MS);
    let late = net.layer.send_response(net.now, key, answer(&options, 200));
    assert_eq!(late, Err(TransactionError::Unknown(key.into())));
}

#[test]
fn unknown_methods_get_a_non_invite_server_transaction() {
    let mut net = Net::new();
    let odd = request(Method::from_token("FOOBAR"), "z9hG4bK-foo");
    let outs = net.receive(odd.clone(), alice());
    let key = new_request_key(&outs);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Trying));
    let outs = net.respond(key, answer(&odd, 501));
    assert_eq!(sent_statuses(&outs), [501]);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Completed));
}

// ---------------------------------------------------------------------------------------
// INVITE server transaction (§17.2.1, RFC 6026 §7.1)

#[test]
fn invite_server_sends_100_trying_when_the_tu_is_silent_for_200_ms() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv1");
    let outs = net.receive(invite.clone(), alice());
    assert!(transmits(&outs).is_empty());
    let key = new_request_key(&outs);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Proceeding));

    let outs = net.run_until(1000);
    assert_eq!(transmit_times(&outs), [200]);
    assert_eq!(sent_statuses(&outs), [100]);
    let (_, trying) = &transmits(&outs)[0];
    let Message::Response(trying) = &trying.message else {
        panic!("a response");
    };
    assert_eq!(trying.headers.to().expect("To").tag(), None);
}

#[test]
fn invite_server_skips_100_trying_when_the_tu_answers_first() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv2");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    let outs = net.at(150).respond(key, answer(&invite, 180));
    assert_eq!(sent_statuses(&outs), [180]);
    assert!(net.run_until(1000).is_empty());
}

#[test]
fn invite_server_with_zero_trying_delay_sends_100_before_the_tu_sees_the_request() {
    let mut net = Net::with_timers(Timers {
        trying: Duration::ZERO,
        ..Timers::default()
    });
    let outs = net.receive(request(Method::Invite, "z9hG4bK-inv3"), alice());
    assert_eq!(sent_statuses(&outs), [100]);
    assert!(matches!(outs[0].output, Output::Transmit(_)));
    assert!(matches!(
        outs[1].output,
        Output::Event(Event::Request { .. })
    ));
}

#[test]
fn invite_server_retransmits_a_non_2xx_final_on_timer_g_until_the_ack_then_waits_timer_i() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv4");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    let busy = answer(&invite, 486);
    let outs = net.at(100).respond(key, busy.clone());
    assert_eq!(sent_statuses(&outs), [486]);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Completed));

    // Timer G: T1, then doubling up to T2 (500, 1000, 2000, 4000, 4000 ms).
    let outs = net.run_until(12_000);
    assert_eq!(transmit_times(&outs), [600, 1600, 3600, 7600, 11_600]);
    assert_eq!(sent_statuses(&outs), [486; 5]);

    let outs = net.at(12_000).receive(ack_for(&invite, &busy), alice());
    assert!(outs.is_empty(), "the ACK of a non-2xx is absorbed");
    assert_eq!(net.layer.server_state(key), Some(ServerState::Confirmed));

    // Confirmed: no more retransmissions, ACK retransmissions absorbed, Timer I = T4.
    let outs = net.at(13_000).receive(ack_for(&invite, &busy), alice());
    assert!(outs.is_empty());
    assert!(net.run_until(16_999).is_empty());
    assert_eq!(events(&net.run_until(17_000)), [terminated(key)]);
}

#[test]
fn invite_server_reports_timer_h_when_the_ack_never_comes() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv5");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    net.respond(key, answer(&invite, 404));
    let outs = net.run_until(40_000);
    assert_eq!(
        transmit_times(&outs),
        [
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!(events(&outs), [Event::AckTimeout { key }, terminated(key)]);
    assert_eq!(outs.last().map(|o| o.at_ms), Some(LIFETIME_MS));
}

#[test]
fn invite_server_resends_the_latest_response_to_a_retransmitted_invite() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv6");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    // Proceeding, before anything was sent: absorbed silently.
    assert!(net.at(100).receive(invite.clone(), alice()).is_empty());
    net.at(150).respond(key, answer(&invite, 180));
    let outs = net.at(500).receive(invite.clone(), alice());
    assert_eq!(sent_statuses(&outs), [180]);
    assert!(events(&outs).is_empty());

    net.at(600).respond(key, answer(&invite, 603));
    let outs = net.at(700).receive(invite.clone(), alice());
    assert_eq!(sent_statuses(&outs), [603]);
    assert!(events(&outs).is_empty());
}

#[test]
fn invite_server_accepts_a_2xx_absorbs_invite_retransmissions_and_passes_acks_up() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv7");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    let ok = answer(&invite, 200);
    let outs = net.at(100).respond(key, ok.clone());
    assert_eq!(sent_statuses(&outs), [200]);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Accepted));

    // RFC 6026 §7.1: retransmitted INVITEs are absorbed and not re-answered by the layer.
    assert!(net.at(600).receive(invite.clone(), alice()).is_empty());
    // The layer does not retransmit the 2xx; the TU does, through the transaction.
    assert!(net.run_until(1000).is_empty());
    let outs = net.at(1000).respond(key, ok.clone());
    assert_eq!(sent_statuses(&outs), [200]);

    // The ACK for the 2xx, on its own branch, goes to the TU.
    let mut ack = ack_for(&invite, &ok);
    ack.headers.set(
        HeaderName::Via,
        "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ack7",
    );
    let outs = net.at(1100).receive(ack.clone(), alice());
    assert!(matches!(&events(&outs)[..], [Event::Ack { .. }]));
    // An ACK reusing the INVITE's branch matches the transaction and also goes up.
    let outs = net.at(1200).receive(ack_for(&invite, &ok), alice());
    assert!(matches!(&events(&outs)[..], [Event::Ack { .. }]));

    // A second final is refused; Timer L ends the transaction after 64*T1.
    assert!(
        net.layer
            .send_response(net.now, key, answer(&invite, 486))
            .is_err()
    );
    assert!(net.run_until(100 + LIFETIME_MS - 1).is_empty());
    assert_eq!(events(&net.run_until(100 + LIFETIME_MS)), [terminated(key)]);
}

#[test]
fn invite_server_over_tcp_never_retransmits_and_ends_at_the_ack() {
    let mut net = Net::new();
    let invite = tcp_request(Method::Invite, "z9hG4bK-tcp2");
    let key = new_request_key(&net.receive(invite.clone(), alice_tcp()));
    let busy = answer(&invite, 486);
    let outs = net.run_until(300);
    assert_eq!(sent_statuses(&outs), [100]);
    assert_eq!(transmits(&outs)[0].1.destination, alice_tcp());
    let outs = net.respond(key, busy.clone());
    assert_eq!(sent_statuses(&outs), [486]);
    assert_eq!(transmits(&outs)[0].1.destination, alice_tcp());
    assert!(net.run_until(10_000).is_empty(), "no Timer G over TCP");
    let outs = net.at(10_000).receive(ack_for(&invite, &busy), alice_tcp());
    assert_eq!(events(&outs), [terminated(key)], "Timer I is zero over TCP");
}

#[test]
fn transport_error_ends_a_server_transaction_and_tells_the_tu() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv8");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    net.respond(key, answer(&invite, 480));
    net.layer.handle_transport_error(net.now, key.into());
    assert_eq!(
        events(&net.drain()),
        [Event::TransportError { key: key.into() }, terminated(key)]
    );
    assert!(net.run_until(40_000).is_empty());
}

#[test]
fn transport_error_in_accepted_keeps_the_invite_server_transaction() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv12");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    net.respond(key, answer(&invite, 200));
    net.layer.handle_transport_error(net.now, key.into());
    assert_eq!(
        events(&net.drain()),
        [Event::TransportError { key: key.into() }]
    );
    assert_eq!(net.layer.server_state(key), Some(ServerState::Accepted));
}

// ---------------------------------------------------------------------------------------
// CANCEL (§9.2) and ACK matching (§17.2.3)

#[test]
fn cancel_matches_the_invite_by_branch_is_answered_200_and_reported_to_the_tu() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv9");
    let invite_key = new_request_key(&net.receive(invite.clone(), alice()));
    net.at(100).respond(invite_key, answer(&invite, 180));

    let cancel = request(Method::Cancel, "z9hG4bK-inv9");
    let outs = net.at(2000).receive(cancel.clone(), alice());
    let sent = transmits(&outs);
    assert_eq!(sent.len(), 1);
    let Message::Response(ok) = &sent[0].1.message else {
        panic!("the CANCEL is answered");
    };
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.cseq().expect("CSeq").method, Method::Cancel);
    assert_eq!(
        ok.headers.to().expect("To").tag(),
        Some("b2"),
        "same To tag as the 180"
    );
    match &events(&outs)[..] {
        [Event::Cancelled { key, request, .. }] => {
            assert_eq!(*key, invite_key);
            assert_eq!(request.method, Method::Cancel);
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    // The CANCEL is its own transaction: the INVITE is untouched until the TU answers it.
    assert_eq!(
        net.layer.server_state(invite_key),
        Some(ServerState::Proceeding)
    );
    let terminated_487 = answer(&invite, 487);
    assert_eq!(
        sent_statuses(&net.respond(invite_key, terminated_487.clone())),
        [487]
    );

    // A retransmitted CANCEL gets the 200 again, and no second Cancelled.
    let outs = net.at(2400).receive(cancel, alice());
    assert_eq!(sent_statuses(&outs), [200]);
    assert!(events(&outs).is_empty());

    // The ACK of the 487 still finds the INVITE transaction.
    assert!(
        net.at(2450)
            .receive(ack_for(&invite, &terminated_487), alice())
            .is_empty()
    );
    assert_eq!(
        net.layer.server_state(invite_key),
        Some(ServerState::Confirmed)
    );
}

#[test]
fn cancel_matching_nothing_is_answered_481() {
    let mut net = Net::new();
    let outs = net.receive(request(Method::Cancel, "z9hG4bK-nothing"), alice());
    assert_eq!(sent_statuses(&outs), [481]);
    assert!(events(&outs).is_empty());
}

#[test]
fn cancel_after_the_final_response_is_answered_200_without_cancelling() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv10");
    let key = new_request_key(&net.receive(invite.clone(), alice()));
    net.respond(key, answer(&invite, 200));
    let outs = net
        .at(100)
        .receive(request(Method::Cancel, "z9hG4bK-inv10"), alice());
    assert_eq!(sent_statuses(&outs), [200]);
    assert!(events(&outs).is_empty());
}

#[test]
fn cancel_from_another_sent_by_does_not_match() {
    let mut net = Net::new();
    let invite = request(Method::Invite, "z9hG4bK-inv11");
    net.receive(invite, alice());
    let cancel = request_with_via(
        Method::Cancel,
        "SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-inv11",
        "call-1@192.0.2.10",
    );
    let outs = net.receive(cancel, Peer::udp(addr("192.0.2.99:5060")));
    assert_eq!(sent_statuses(&outs), [481]);
}

#[test]
fn ack_matching_no_transaction_goes_to_the_tu() {
    let mut net = Net::new();
    let outs = net.receive(request(Method::Ack, "z9hG4bK-lonely"), alice());
    assert!(transmits(&outs).is_empty());
    assert!(matches!(&events(&outs)[..], [Event::Ack { .. }]));
    assert!(net.layer.is_empty(), "an ACK never opens a transaction");
}

// ---------------------------------------------------------------------------------------
// §18.2.1 / §18.2.2 / RFC 3581: received, rport and where responses go

#[test]
fn rport_request_gets_received_and_rport_and_its_responses_go_to_the_source() {
    let mut net = Net::new();
    let behind_nat = Peer::udp(addr("203.0.113.5:40000"));
    let options = request_with_via(
        Method::Options,
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-nat1;rport",
        "nat-1@10.0.0.1",
    );
    let outs = net.receive(options, behind_nat);
    let seen = received_request(&outs);
    assert_eq!(
        top_via_param(&seen.headers, "received"),
        Some(Some("203.0.113.5".into()))
    );
    assert_eq!(
        top_via_param(&seen.headers, "rport"),
        Some(Some("40000".into()))
    );

    let key = new_request_key(&outs);
    let response = seen.response(200);
    let outs = net.respond(key, response);
    let (_, sent) = &transmits(&outs)[0];
    assert_eq!(sent.destination, behind_nat);
    let Message::Response(sent) = &sent.message else {
        panic!("a response");
    };
    assert_eq!(
        top_via_param(&sent.headers, "rport"),
        Some(Some("40000".into()))
    );
}

#[test]
fn request_without_rport_is_answered_at_received_and_the_sent_by_port() {
    let mut net = Net::new();
    let options = request_with_via(
        Method::Options,
        "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK-nat2",
        "nat-2@10.0.0.1",
    );
    let outs = net.receive(options, Peer::udp(addr("203.0.113.5:40000")));
    let seen = received_request(&outs);
    assert_eq!(
        top_via_param(&seen.headers, "received"),
        Some(Some("203.0.113.5".into()))
    );
    assert_eq!(top_via_param(&seen.headers, "rport"), None);
    let outs = net.respond(new_request_key(&outs), seen.response(200));
    assert_eq!(
        transmits(&outs)[0].1.destination,
        Peer::udp(addr("203.0.113.5:5070"))
    );
}

#[test]
fn host_name_sent_by_gets_received_and_matching_ip_does_not() {
    let mut net = Net::new();
    let named = request_with_via(
        Method::Options,
        "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK-name1",
        "named@pc33",
    );
    let seen = received_request(&net.receive(named, Peer::udp(addr("192.0.2.33:5060"))));
    assert_eq!(
        top_via_param(&seen.headers, "received"),
        Some(Some("192.0.2.33".into()))
    );

    let same = request(Method::Options, "z9hG4bK-same1");
    let outs = net.receive(same, alice());
    let seen = received_request(&outs);
    assert_eq!(top_via_param(&seen.headers, "received"), None);
    let outs = net.respond(new_request_key(&outs), seen.response(200));
    assert_eq!(transmits(&outs)[0].1.destination, alice());
}

#[test]
fn only_the_top_via_is_stamped() {
    let mut net = Net::new();
    let mut options = request_with_via(
        Method::Options,
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-two;rport, SIP/2.0/UDP 10.9.9.9;branch=z9hG4bK-old",
        "two-vias@10.0.0.1",
    );
    options
        .headers
        .push(HeaderName::Via, "SIP/2.0/TCP 10.8.8.8;branch=z9hG4bK-older");
    let seen = received_request(&net.receive(options, Peer::udp(addr("203.0.113.5:40000"))));
    let vias = seen.headers.vias().expect("Vias");
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].received(), Some("203.0.113.5"));
    assert_eq!(vias[1].received(), None);
    assert_eq!(vias[2].received(), None);
}

#[test]
fn stateless_response_is_routed_by_via_and_has_a_stable_to_tag() {
    let options = request_with_via(
        Method::Options,
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-sl1;rport",
        "sl-1@10.0.0.1",
    );
    let source = Peer::udp(addr("203.0.113.5:40000"));
    let (to, response) = stateless_response(&options.headers, source, 400).expect("routable");
    assert_eq!(to, source);
    assert_eq!(response.status, 400);
    assert_eq!(
        top_via_param(&response.headers, "received"),
        Some(Some("203.0.113.5".into()))
    );
    let tag = response.headers.to().expect("To").tag().map(str::to_owned);
    assert!(tag.is_some());
    let (_, again) = stateless_response(&options.headers, source, 400).expect("routable");
    assert_eq!(
        again.headers.to().expect("To").tag().map(str::to_owned),
        tag
    );
}

#[test]
fn request_without_via_is_refused_and_leaves_no_state() {
    let mut net = Net::new();
    let mut options = request(Method::Options, "z9hG4bK-x");
    options.headers.remove(&HeaderName::Via);
    let result = net.layer.handle_request(net.now, options, alice());
    assert!(matches!(result, Err(InputError::Via(_))));
    assert!(net.drain().is_empty());
    assert!(net.layer.is_empty());
}

// ---------------------------------------------------------------------------------------
// Requests without an RFC 3261 branch (RFC 2543 matching, RFC 4475 §3.2.1, §3.4.1)

/// RFC 4475 §3.2.1 "badbranch", byte for byte.
const BADBRANCH: &[u8] = b"OPTIONS sip:user@example.com SIP/2.0\r\n\
To: sip:user@example.com\r\n\
From: sip:caller@example.org;tag=33242\r\n\
Max-Forwards: 3\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n\
Accept: application/sdp\r\n\
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n\
CSeq: 8 OPTIONS\r\n\
l: 0\r\n\
\r\n";

/// RFC 4475 §3.4.1 "inv2543", byte for byte.
const INV2543: &[u8] = b"INVITE sip:UserB@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP iftgw.example.com\r\n\
From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n\
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n\
To: sip:+16505552222@ss1.example.net;user=phone\r\n\
Call-ID: inv2543.1717@ift.client.example.com\r\n\
CSeq: 56 INVITE\r\n\
Content-Type: application/sdp\r\n\
\r\n\
v=0\r\n\
o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n\
s=-\r\n\
c=IN IP4 192.0.2.5\r\n\
t=0 0\r\n\
m=audio 49217 RTP/AVP 0\r\n";

fn parsed_request(bytes: &[u8]) -> Request {
    match parse_datagram(bytes) {
        Ok(Message::Request(request)) => request,
        other => panic!("the torture message parses as a request: {other:?}"),
    }
}

#[test]
fn badbranch_request_is_matched_by_rfc_2543_rules_without_corrupting_the_table() {
    let mut net = Net::new();
    let source = Peer::udp(addr("192.0.2.1:5060"));
    let options = parsed_request(BADBRANCH);
    let outs = net.receive(options.clone(), source);
    let key = new_request_key(&outs);
    let seen = received_request(&outs);
    net.respond(key, answer(&seen, 200));

    // Its retransmission is absorbed with the 200 re-sent.
    let outs = net.at(500).receive(options.clone(), source);
    assert_eq!(sent_statuses(&outs), [200]);
    assert!(events(&outs).is_empty());

    // Another request with the same empty branch is another transaction.
    let mut other = options.clone();
    other
        .headers
        .set(HeaderName::CallId, "another-call@192.0.2.1");
    let outs = net.at(600).receive(other, source);
    let other_key = new_request_key(&outs);
    assert_ne!(other_key, key);
    assert_eq!(net.layer.server_state(key), Some(ServerState::Completed));
    assert_eq!(net.layer.server_state(other_key), Some(ServerState::Trying));
}

#[test]
fn rfc_2543_invite_is_answered_and_its_ack_matched_by_the_response_to_tag() {
    let mut net = Net::new();
    let gateway = Peer::udp(addr("192.0.2.50:5060"));
    let invite = parsed_request(INV2543);
    let outs = net.receive(invite.clone(), gateway);
    let key = new_request_key(&outs);
    let seen = received_request(&outs);
    assert_eq!(
        top_via_param(&seen.headers, "received"),
        Some(Some("192.0.2.50".into()))
    );
    let busy = answer(&seen, 486);
    let outs = net.respond(key, busy.clone());
    assert_eq!(transmits(&outs)[0].1.destination, gateway);

    // The INVITE retransmitted: the 486 again.
    assert_eq!(
        sent_statuses(&net.at(400).receive(invite.clone(), gateway)),
        [486]
    );

    // An ACK with another To tag is not this transaction's; with the 486's tag it is.
    let mut stranger = ack_for(&invite, &busy);
    stranger.headers.set(
        HeaderName::To,
        "sip:+16505552222@ss1.example.net;user=phone;tag=zz",
    );
    let outs = net.at(450).receive(stranger, gateway);
    assert!(matches!(&events(&outs)[..], [Event::Ack { .. }]));
    assert_eq!(net.layer.server_state(key), Some(ServerState::Completed));
    let outs = net.at(480).receive(ack_for(&invite, &busy), gateway);
    assert!(outs.is_empty());
    assert_eq!(net.layer.server_state(key), Some(ServerState::Confirmed));
}

// ---------------------------------------------------------------------------------------
// INVITE client transaction (§17.1.1, RFC 6026 §7.2)

/// The response bob sends to the request the layer transmitted.
fn bob_answers(sent: &Request, status: u16) -> Response {
    answer(sent, status)
}

fn first_sent_request(outs: &[Out]) -> Request {
    sent_requests(outs)
        .into_iter()
        .next()
        .expect("a request was transmitted")
}

#[test]
fn invite_client_retransmits_on_timer_a_with_doubling_intervals_and_times_out_on_timer_b() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Invite), bob());
    assert_eq!(transmit_times(&outs), [0]);
    assert_eq!(net.layer.client_state(key), Some(ClientState::Calling));
    assert_eq!(
        net.layer.poll_timeout(),
        Some(net.start + Duration::from_millis(500)),
        "Timer A = T1"
    );

    let outs = net.run_until(40_000);
    // §17.1.1.2: A doubles after each retransmission (no T2 cap for INVITE requests).
    assert_eq!(
        transmit_times(&outs),
        [500, 1500, 3500, 7500, 15_500, 31_500]
    );
    let events = events(&outs);
    match &events[..] {
        [
            Event::Timeout { key: k, response },
            Event::Terminated { key: t },
        ] => {
            assert_eq!(*k, key);
            assert_eq!(response.status, 408);
            assert_eq!(*t, TransactionKey::Client(key));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(outs.last().map(|o| o.at_ms), Some(LIFETIME_MS));
    assert!(net.layer.is_empty());
}

#[test]
fn invite_client_walks_calling_proceeding_completed_acking_the_non_2xx_final() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Invite), bob());
    let sent = first_sent_request(&outs);
    let branch = sent
        .headers
        .top_via()
        .expect("Via")
        .branch()
        .map(str::to_owned);
    assert!(
        branch
            .as_deref()
            .is_some_and(|b| b.starts_with("z9hG4bK") && b.len() > 7)
    );

    let outs = net.at(300).receive_response(bob_answers(&sent, 180), bob());
    assert!(
        matches!(&events(&outs)[..], [Event::Response { response, .. }] if response.status == 180)
    );
    assert_eq!(net.layer.client_state(key), Some(ClientState::Proceeding));
    assert!(
        net.run_until(5000).is_empty(),
        "Timer A stops in Proceeding"
    );

    let busy = bob_answers(&sent, 486);
    let outs = net.at(5000).receive_response(busy.clone(), bob());
    assert_eq!(net.layer.client_state(key), Some(ClientState::Completed));
    let acks = sent_requests(&outs);
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, sent.uri);
    assert_eq!(
        ack.headers
            .top_via()
            .expect("Via")
            .branch()
            .map(str::to_owned),
        branch
    );
    assert_eq!(ack.headers.cseq().expect("CSeq").to_string(), "1 ACK");
    assert_eq!(ack.headers.to().expect("To").tag(), Some("b2"));
    assert_eq!(
        ack.headers.get(&HeaderName::Route),
        Some("<sip:proxy.example.com;lr>")
    );
    assert_eq!(transmits(&outs)[0].1.destination, bob());
    assert!(
        matches!(&events(&outs)[..], [Event::Response { response, .. }] if response.status == 486)
    );

    // A retransmitted 486 is ACKed again and not passed up.
    let outs = net.at(6000).receive_response(busy, bob());
    assert_eq!(sent_requests(&outs).len(), 1);
    assert!(events(&outs).is_empty());

    // Timer D (32 s over UDP).
    assert!(net.run_until(5000 + 32_000 - 1).is_empty());
    assert_eq!(events(&net.run_until(5000 + 32_000)), [terminated(key)]);
}

#[test]
fn invite_client_in_accepted_passes_every_2xx_to_the_tu_until_timer_m() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Invite), bob());
    let sent = first_sent_request(&outs);
    let ok = bob_answers(&sent, 200);
    let outs = net.at(400).receive_response(ok.clone(), bob());
    assert_eq!(net.layer.client_state(key), Some(ClientState::Accepted));
    assert!(sent_requests(&outs).is_empty(), "the 2xx ACK is the TU's");
    assert!(matches!(&events(&outs)[..], [Event::Response { .. }]));
    assert!(
        net.run_until(10_000).is_empty(),
        "no retransmissions in Accepted"
    );

    let outs = net.at(10_000).receive_response(ok.clone(), bob());
    assert!(
        matches!(&events(&outs)[..], [Event::Response { response, .. }] if response.status == 200)
    );
    assert!(transmits(&outs).is_empty());
    // A late non-2xx is dropped in Accepted.
    assert!(
        net.at(10_100)
            .receive_response(bob_answers(&sent, 500), bob())
            .is_empty()
    );

    assert!(net.run_until(400 + LIFETIME_MS - 1).is_empty());
    assert_eq!(events(&net.run_until(400 + LIFETIME_MS)), [terminated(key)]);
    // After Timer M, a 2xx retransmission is a stray for the core.
    let outs = net.receive_response(ok, bob());
    assert!(matches!(&events(&outs)[..], [Event::StrayResponse { .. }]));
}

#[test]
fn invite_client_over_tcp_never_retransmits_and_ends_at_the_final() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Invite), bob_tcp());
    let sent = first_sent_request(&outs);
    assert_eq!(sent.headers.top_via().expect("Via").transport, "TCP");
    assert!(net.run_until(10_000).is_empty(), "no Timer A over TCP");
    let outs = net
        .at(10_000)
        .receive_response(bob_answers(&sent, 603), bob_tcp());
    assert_eq!(sent_requests(&outs).len(), 1, "the ACK");
    assert!(matches!(
        &events(&outs)[..],
        [Event::Response { .. }, Event::Terminated { .. }]
    ));
    assert_eq!(
        net.layer.client_state(key),
        None,
        "Timer D is zero over TCP"
    );
}

#[test]
fn invite_client_over_tcp_times_out_on_timer_b() {
    let mut net = Net::new();
    let (key, _) = net.send(outgoing(Method::Invite), bob_tcp());
    let outs = net.run_until(40_000);
    assert!(transmits(&outs).is_empty());
    assert!(matches!(&events(&outs)[..], [Event::Timeout { key: k, .. }, _] if *k == key));
    assert_eq!(outs[0].at_ms, LIFETIME_MS);
}

// ---------------------------------------------------------------------------------------
// Non-INVITE client transaction (§17.1.2)

#[test]
fn non_invite_client_retransmits_on_timer_e_capped_at_t2_and_times_out_on_timer_f() {
    let mut net = Net::new();
    let (key, _) = net.send(outgoing(Method::Options), bob());
    let outs = net.run_until(40_000);
    assert_eq!(
        transmit_times(&outs),
        [
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert!(matches!(
        &events(&outs)[..],
        [Event::Timeout { key: k, response }, Event::Terminated { .. }] if *k == key && response.status == 408
    ));
    assert_eq!(outs.last().map(|o| o.at_ms), Some(LIFETIME_MS));
}

#[test]
fn non_invite_client_in_proceeding_retransmits_every_t2() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Register), bob());
    let sent = first_sent_request(&outs);
    let outs = net.run_until(600);
    assert_eq!(transmit_times(&outs), [500]);
    let outs = net.receive_response(bob_answers(&sent, 100), bob());
    assert!(matches!(&events(&outs)[..], [Event::Response { .. }]));
    assert_eq!(net.layer.client_state(key), Some(ClientState::Proceeding));
    // E was armed for 1500 before the 100; from then on it is T2.
    let outs = net.run_until(14_000);
    assert_eq!(transmit_times(&outs), [1500, 5500, 9500, 13_500]);
}

#[test]
fn non_invite_client_completes_absorbs_retransmitted_finals_and_ends_on_timer_k() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Options), bob());
    let sent = first_sent_request(&outs);
    let ok = bob_answers(&sent, 200);
    let outs = net.at(200).receive_response(ok.clone(), bob());
    assert!(
        matches!(&events(&outs)[..], [Event::Response { response, .. }] if response.status == 200)
    );
    assert_eq!(net.layer.client_state(key), Some(ClientState::Completed));
    assert!(net.at(300).receive_response(ok, bob()).is_empty());
    assert!(
        net.run_until(200 + 5000 - 1).is_empty(),
        "no retransmissions in Completed"
    );
    assert_eq!(events(&net.run_until(200 + 5000)), [terminated(key)]);
}

#[test]
fn non_invite_client_over_tcp_ends_at_the_final_response() {
    let mut net = Net::new();
    let (key, outs) = net.send(outgoing(Method::Options), bob_tcp());
    let sent = first_sent_request(&outs);
    assert!(net.run_until(1000).is_empty(), "no Timer E over TCP");
    let outs = net.receive_response(bob_answers(&sent, 200), bob_tcp());
    assert!(matches!(
        &events(&outs)[..],
        [Event::Response { .. }, Event::Terminated { .. }]
    ));
    assert_eq!(net.layer.client_state(key), None);
}

// ---------------------------------------------------------------------------------------
// Client-side matching, CANCEL and errors

#[test]
fn client_response_is_matched_by_branch_and_cseq_method() {
    let mut net = Net::new();
    let (_, outs) = net.send(outgoing(Method::Options), bob());
    let sent = first_sent_request(&outs);
    let mut wrong_method = bob_answers(&sent, 200);
    wrong_method.headers.set(HeaderName::CSeq, "1 INFO");
    let outs = net.receive_response(wrong_method, bob());
    assert!(matches!(&events(&outs)[..], [Event::StrayResponse { .. }]));

    let mut other_sender = bob_answers(&sent, 200);
    let via = other_sender
        .headers
        .get(&HeaderName::Via)
        .expect("Via")
        .replace("203.0.113.1", "203.0.113.2");
    other_sender.headers.set(HeaderName::Via, via);
    let result = net.layer.handle_response(net.now, other_sender, bob());
    assert_eq!(result, Err(InputError::SentByMismatch));
}

#[test]
fn cancel_waits_for_a_provisional_response_then_uses_the_invite_branch() {
    let mut net = Net::new();
    let (invite_key, outs) = net.send(outgoing(Method::Invite), bob());
    let invite = first_sent_request(&outs);
    let cancel_key = net.layer.cancel(net.now, invite_key).expect("cancellable");
    assert!(
        net.drain().is_empty(),
        "§9.1: no CANCEL before a provisional response"
    );
    assert_eq!(net.layer.cancel(net.now, invite_key), Ok(cancel_key));

    let outs = net
        .at(300)
        .receive_response(bob_answers(&invite, 180), bob());
    let sent = sent_requests(&outs);
    assert_eq!(sent.len(), 1);
    let cancel = &sent[0];
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, invite.uri);
    assert_eq!(cancel.headers.cseq().expect("CSeq").to_string(), "1 CANCEL");
    assert_eq!(
        cancel.headers.top_via().expect("Via"),
        invite.headers.top_via().expect("Via")
    );
    assert_eq!(cancel.headers.to().expect("To").tag(), None);
    assert_eq!(
        net.layer.client_state(cancel_key),
        Some(ClientState::Trying)
    );

    let outs = net
        .at(400)
        .receive_response(bob_answers(cancel, 200), bob());
    assert!(matches!(&events(&outs)[..], [Event::Response { key, .. }] if *key == cancel_key));
    let outs = net
        .at(450)
        .receive_response(bob_answers(&invite, 487), bob());
    assert_eq!(sent_requests(&outs)[0].method, Method::Ack);
    assert!(
        matches!(&events(&outs)[..], [Event::Response { key, response }] if *key == invite_key && response.status == 487)
    );
}

#[test]
fn cancel_waiting_for_a_provisional_is_dropped_when_the_final_comes_first() {
    let mut net = Net::new();
    let (invite_key, outs) = net.send(outgoing(Method::Invite), bob());
    let invite = first_sent_request(&outs);
    let cancel_key = net.layer.cancel(net.now, invite_key).expect("cancellable");
    let outs = net
        .at(100)
        .receive_response(bob_answers(&invite, 200), bob());
    assert!(
        sent_requests(&outs).is_empty(),
        "no CANCEL after a final response"
    );
    assert_eq!(
        events(&outs)[1..],
        [terminated(cancel_key)],
        "the waiting CANCEL is reported gone"
    );
    assert!(matches!(
        net.layer.cancel(net.now, invite_key),
        Err(TransactionError::NotCancellable { .. })
    ));
}

#[test]
fn tu_cannot_send_an_ack_as_a_transaction_or_reuse_a_branch() {
    let mut net = Net::new();
    assert_eq!(
        net.layer
            .send_request(net.now, outgoing(Method::Ack), bob()),
        Err(TransactionError::Ack)
    );
    let mut options = outgoing(Method::Options);
    options.headers.set(
        HeaderName::Via,
        "SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-fixed",
    );
    net.send(options.clone(), bob());
    assert_eq!(
        net.layer.send_request(net.now, options, bob()),
        Err(TransactionError::DuplicateBranch("z9hG4bK-fixed".into()))
    );
}

#[test]
fn transport_error_ends_a_client_transaction_and_tells_the_tu() {
    let mut net = Net::new();
    let (key, _) = net.send(outgoing(Method::Invite), bob());
    net.layer.handle_transport_error(net.now, key.into());
    assert_eq!(
        events(&net.drain()),
        [Event::TransportError { key: key.into() }, terminated(key)]
    );
    assert_eq!(net.layer.poll_timeout(), None);
}

#[test]
fn a_stateless_send_goes_out_untouched() {
    let mut net = Net::new();
    let ack = outgoing(Method::Ack);
    net.layer.transmit(bob(), Message::Request(ack.clone()));
    let outs = net.drain();
    let sent = transmits(&outs);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.key, None);
    assert_eq!(sent[0].1.message, Message::Request(ack));
    assert_eq!(sent[0].1.destination.transport, Transport::Udp);
}
