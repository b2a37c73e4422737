//! Raw SIP calls over UDP, for tests that need a call to be exactly where they want it: a
//! caller that places an authenticated INVITE (answering the 407) and hangs up, and a callee
//! whose contact the server rings, that answers or declines. Both answer a BYE from the
//! server with 200 and remember it. No RTP is sent: the relay's RTP timeout must be longer
//! than the calls these phones hold.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crossbar_sip::{Bytes, Contact, HeaderName, Message, Method, Request, Response};

use super::{Challenge, Extension, UdpPeer, unique};

/// An SDP offer or answer for PCMU and telephone-event on 127.0.0.1:`rtp_port`.
pub fn sdp(rtp_port: u16) -> String {
    format!(
        "v=0\r\no=- {id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n",
        id = rtp_port
    )
}

/// How long UDP requests are retransmitted (Timer A doubling from 500 ms) before a raw
/// phone gives up on a response.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(8);

/// Answers an in-dialog request from the server (a BYE, an OPTIONS keep-alive) with 200.
fn answer_request(udp: &UdpPeer, request: &Request) {
    let response = request.response(200);
    udp.send(&Message::Response(response).to_bytes());
}

/// An extension placing one call from its own UDP socket.
pub struct RawCaller {
    pub udp: UdpPeer,
    pub extension: Extension,
    pub call_id: String,
    tag: String,
    cseq: u32,
    request_uri: String,
    /// The callee side of the dialog once answered: its `To` tag and its Contact.
    remote_tag: Option<String>,
    remote_target: Option<String>,
    /// Requests the server sent us (a BYE when it ends the call), each answered 200.
    pub received: Vec<Request>,
}

impl RawCaller {
    pub fn new(server: std::net::SocketAddr, extension: Extension) -> RawCaller {
        RawCaller {
            udp: UdpPeer::new(server),
            extension,
            call_id: format!("raw-{}@127.0.0.1", unique()),
            tag: unique(),
            cseq: 0,
            request_uri: String::new(),
            remote_tag: None,
            remote_target: None,
            received: Vec::new(),
        }
    }

    fn our_from(&self) -> String {
        format!(
            "<sip:{}@127.0.0.1>;tag={}",
            self.extension.username, self.tag
        )
    }

    fn contact(&self) -> String {
        format!(
            "<sip:{}@127.0.0.1:{}>",
            self.extension.username,
            self.udp.port()
        )
    }

    /// Calls `dialled` offering RTP at `rtp_port`: INVITE, the 407 answered with the
    /// extension's credentials, provisional responses passed over. Returns the final
    /// response to the authenticated INVITE (ACKed if it is a 2xx; the server ACKs the
    /// others itself, hop by hop), or panics if none comes.
    pub fn call(&mut self, dialled: &str, rtp_port: u16) -> Response {
        self.request_uri = format!("sip:{dialled}@{}", self.udp.server);
        let body = sdp(rtp_port);
        let first = self.invite(&body, None);
        let response = if first.status == 407 || first.status == 401 {
            self.ack_failure(&first);
            let challenge = Challenge::of(&first);
            let credentials = challenge.answer(
                "INVITE",
                &self.request_uri,
                &self.extension.username,
                &self.extension.secret,
            );
            let header = if first.status == 407 {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            self.invite(&body, Some((header, &credentials)))
        } else {
            first
        };
        if (200..300).contains(&response.status) {
            self.remote_tag = response
                .headers
                .to()
                .ok()
                .and_then(|to| to.tag().map(str::to_owned));
            self.remote_target = match response.headers.contact() {
                Ok(Some(Contact::Addresses(list))) => list.first().map(|c| c.uri.to_string()),
                _ => None,
            };
            assert!(
                self.remote_tag.is_some() && self.remote_target.is_some(),
                "a 200 without To tag or Contact:\n{response}"
            );
            let ack = self.in_dialog("ACK", self.cseq, "");
            self.udp.send(ack.as_bytes());
        }
        response
    }

    /// One INVITE transaction: sent and retransmitted until a response arrives, then waits
    /// for the final one.
    fn invite(&mut self, body: &str, credentials: Option<(&str, &str)>) -> Response {
        self.cseq += 1;
        let branch = format!("z9hG4bK-{}", unique());
        let mut request = format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} INVITE\r\n\
             Contact: {contact}\r\n\
             User-Agent: crossbar-tests\r\n\
             Content-Type: application/sdp\r\n",
            uri = self.request_uri,
            local = self.udp.local_addr(),
            from = self.our_from(),
            call_id = self.call_id,
            cseq = self.cseq,
            contact = self.contact(),
        );
        if let Some((name, value)) = credentials {
            writeln!(request, "{name}: {value}\r").expect("string");
        }
        write!(request, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("string");
        self.udp.send(request.as_bytes());
        let cseq = self.cseq;
        let mut retransmit = Some(Duration::from_millis(500));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let wait = retransmit.unwrap_or(Duration::from_secs(1));
            match self.next_response(cseq, Method::Invite, wait) {
                Some(response) if response.status >= 200 => return response,
                Some(_) => retransmit = None,
                None => {
                    assert!(
                        Instant::now() < deadline,
                        "no final response to the INVITE of {}",
                        self.call_id
                    );
                    if let Some(interval) = retransmit {
                        self.udp.send(request.as_bytes());
                        retransmit = Some((interval * 2).min(Duration::from_secs(4)));
                    }
                }
            }
        }
    }

    /// The ACK for a non-2xx final response (§17.1.1.3): the INVITE's branch, To with the
    /// response's tag.
    fn ack_failure(&self, response: &Response) {
        let via = response
            .headers
            .get(&HeaderName::Via)
            .expect("a response has a Via");
        let to = response
            .headers
            .get(&HeaderName::To)
            .expect("a response has a To");
        let ack = format!(
            "ACK {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            uri = self.request_uri,
            from = self.our_from(),
            call_id = self.call_id,
            cseq = self.cseq,
        );
        self.udp.send(ack.as_bytes());
    }

    /// A request in the answered dialog (to the callee's Contact, with its tag).
    fn in_dialog(&self, method: &str, cseq: u32, body: &str) -> String {
        format!(
            "{method} {target} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: <{uri}>;tag={tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            target = self
                .remote_target
                .as_deref()
                .expect("the call was answered"),
            local = self.udp.local_addr(),
            branch = unique(),
            from = self.our_from(),
            uri = self.request_uri,
            tag = self.remote_tag.as_deref().expect("the call was answered"),
            call_id = self.call_id,
            len = body.len(),
        )
    }

    /// Hangs up the answered call; the BYE's final response.
    pub fn hang_up(&mut self) -> Response {
        self.cseq += 1;
        let bye = self.in_dialog("BYE", self.cseq, "");
        let cseq = self.cseq;
        self.udp.send(bye.as_bytes());
        let deadline = Instant::now() + TRANSACTION_TIMEOUT;
        let mut interval = Duration::from_millis(500);
        loop {
            if let Some(response) = self.next_response(cseq, Method::Bye, interval) {
                if response.status >= 200 {
                    return response;
                }
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "no response to the BYE of {}",
                self.call_id
            );
            self.udp.send(bye.as_bytes());
            interval = (interval * 2).min(Duration::from_secs(4));
        }
    }

    /// The next response to our request `cseq`/`method` within `timeout`; requests from the
    /// server meanwhile are answered and kept, other responses (retransmissions of earlier
    /// ones) dropped.
    fn next_response(&mut self, cseq: u32, method: Method, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.udp.recv_message(left)? {
                Message::Request(request) => {
                    answer_request(&self.udp, &request);
                    self.received.push(request);
                }
                Message::Response(response) => {
                    let ours = response
                        .headers
                        .cseq()
                        .is_ok_and(|c| c.seq == cseq && c.method == method);
                    if ours {
                        return Some(response);
                    }
                    // The 200 to the INVITE again: our ACK was lost or crossed it.
                    if (200..300).contains(&response.status)
                        && response
                            .headers
                            .cseq()
                            .is_ok_and(|c| c.method == Method::Invite)
                        && self.remote_target.is_some()
                    {
                        let ack =
                            self.in_dialog("ACK", response.headers.cseq().expect("ok").seq, "");
                        self.udp.send(ack.as_bytes());
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for the server to send a request of `method` (answered 200);
    /// true if one came (or had come already).
    pub fn expect_request(&mut self, method: &Method, timeout: Duration) -> bool {
        wait_for_request(&self.udp, &mut self.received, method, timeout)
    }
}

/// Waits for a request of `method` on `udp`, answering and keeping every request.
fn wait_for_request(
    udp: &UdpPeer,
    received: &mut Vec<Request>,
    method: &Method,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if received.iter().any(|r| r.method == *method) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match udp.recv_message(left) {
            Some(Message::Request(request)) => {
                // An INVITE again is a retransmission the phone's own final answers.
                if !matches!(request.method, Method::Ack | Method::Invite) {
                    answer_request(udp, &request);
                }
                received.push(request);
            }
            Some(Message::Response(_)) => {}
            None => return false,
        }
    }
}

/// An extension's phone that the server rings: a UDP socket whose address is registered
/// (with [`super::Phone::register`]) as the contact [`RawCallee::contact`].
pub struct RawCallee {
    pub udp: UdpPeer,
    pub username: String,
    tag: String,
    /// Every request the server sent (INVITE, ACK, CANCEL, BYE), in order.
    pub received: Vec<Request>,
}

impl RawCallee {
    pub fn new(server: std::net::SocketAddr, username: &str) -> RawCallee {
        RawCallee {
            udp: UdpPeer::new(server),
            username: username.to_owned(),
            tag: unique(),
            received: Vec::new(),
        }
    }

    /// The contact URI to register for this phone.
    pub fn contact(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.username, self.udp.port())
    }

    /// Waits for the server's INVITE; answers 180 at once. Panics after `timeout`.
    pub fn ring(&mut self, timeout: Duration) -> Request {
        assert!(
            wait_for_invite(&self.udp, &mut self.received, timeout),
            "no INVITE reached {} within {timeout:?}",
            self.contact()
        );
        let invite = self
            .received
            .iter()
            .find(|r| r.method == Method::Invite)
            .cloned()
            .expect("just seen");
        self.respond(&invite, 180, None);
        invite
    }

    fn response(&self, invite: &Request, status: u16, body: Option<String>) -> Response {
        let mut response = invite.response(status);
        let to = invite
            .headers
            .get(&HeaderName::To)
            .expect("an INVITE has a To");
        response
            .headers
            .set(HeaderName::To, format!("{to};tag={}", self.tag));
        response
            .headers
            .push(HeaderName::Contact, format!("<{}>", self.contact()));
        if let Some(body) = body {
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = Bytes::from(body);
        }
        response
    }

    fn respond(&self, invite: &Request, status: u16, body: Option<String>) {
        let response = self.response(invite, status, body);
        self.udp.send(&Message::Response(response).to_bytes());
    }

    /// Answers `invite` with 200 and an SDP answer for RTP at `rtp_port`, retransmitting it
    /// until the server's ACK arrives (§13.3.1.4). Panics without an ACK.
    pub fn answer(&mut self, invite: &Request, rtp_port: u16) {
        self.final_until_ack(invite, 200, Some(sdp(rtp_port)));
    }

    /// Declines `invite` with `status` (486, 603...), retransmitting until the ACK.
    pub fn decline(&mut self, invite: &Request, status: u16) {
        self.final_until_ack(invite, status, None);
    }

    fn final_until_ack(&mut self, invite: &Request, status: u16, body: Option<String>) {
        let response = Message::Response(self.response(invite, status, body)).to_bytes();
        let deadline = Instant::now() + TRANSACTION_TIMEOUT;
        let mut interval = Duration::from_millis(500);
        loop {
            self.udp.send(&response);
            if wait_for_request(&self.udp, &mut self.received, &Method::Ack, interval) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no ACK for the {status} of {}",
                self.contact()
            );
            interval = (interval * 2).min(Duration::from_secs(4));
        }
    }

    /// Waits up to `timeout` for the server to send a request of `method` (answered 200);
    /// true if one came (or had come already).
    pub fn expect_request(&mut self, method: &Method, timeout: Duration) -> bool {
        wait_for_request(&self.udp, &mut self.received, method, timeout)
    }
}

/// Waits for an INVITE, keeping it (unanswered) and everything else received.
fn wait_for_invite(udp: &UdpPeer, received: &mut Vec<Request>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if received.iter().any(|r| r.method == Method::Invite) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match udp.recv_message(left) {
            Some(Message::Request(request)) => {
                // A BYE that ended an earlier call, say: answered so it stops coming.
                if !matches!(request.method, Method::Ack | Method::Invite) {
                    answer_request(udp, &request);
                }
                received.push(request);
            }
            Some(Message::Response(_)) => {}
            None => return false,
        }
    }
}
