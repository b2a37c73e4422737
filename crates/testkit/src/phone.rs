//! A scripted SIP phone: it writes its requests as text, the way a test reads them in an RFC,
//! sends them to the machine through the [`Lab`] and reads what came back from its inbox in
//! the [`crate::Net`]. It has no transaction layer: the network loses nothing unless told to,
//! so nothing needs retransmitting, and each step says exactly what the phone sends.

use crossbar_proto::transaction::Peer;
use crossbar_sip::{Bytes, HeaderName, Message, Method, Request, Response};

use crate::digest;
use crate::lab::{Lab, Machine};
use crate::net::peer;
use crate::sdp::sdp;

/// A phone registered (or about to register) as an extension.
#[derive(Debug, Clone)]
pub struct Phone {
    /// The extension number: the user part of its address-of-record, `From` and `Contact`.
    pub number: String,
    /// The digest user name (the number unless [`Phone::with_username`] says otherwise).
    pub username: String,
    pub secret: String,
    /// The host it registers to and calls through (`sip:{number}@{domain}`).
    pub domain: String,
    pub at: Peer,
    /// The display name in the `From` of its calls.
    pub display: Option<String>,
    /// Whether its INVITEs carry an SDP offer (`false`: a late offer, RFC 3261 §13.2.1).
    pub offer: bool,
    /// Its RTP port, in the SDP it sends.
    pub media_port: u16,
    /// The CSeq of its last REGISTER (§10.2.4: one Call-ID, counting up by one). Public so a
    /// test can rewind it to play a delayed older REGISTER.
    pub register_cseq: u32,
    /// Requests sent, for unique branches, tags and Call-IDs.
    sent: u32,
}

impl Phone {
    /// Extension `number` with digest `secret`, at `at` (`"192.0.2.1:5060"`), registering to
    /// and calling through `domain`.
    pub fn new(number: &str, secret: &str, at: &str, domain: &str) -> Phone {
        Phone {
            number: number.to_owned(),
            username: number.to_owned(),
            secret: secret.to_owned(),
            domain: domain.to_owned(),
            at: peer(at),
            display: None,
            offer: true,
            media_port: 4000,
            register_cseq: 0,
            sent: 0,
        }
    }

    /// Authenticates as `username` rather than as its number.
    pub fn with_username(mut self, username: &str) -> Phone {
        self.username = username.to_owned();
        self
    }

    /// Puts `display` in the `From` of its calls.
    pub fn with_display(mut self, display: &str) -> Phone {
        self.display = Some(display.to_owned());
        self
    }

    /// Sends INVITEs without SDP: the offer comes in the 2xx, the answer in the ACK.
    pub fn with_late_offer(mut self) -> Phone {
        self.offer = false;
        self
    }

    /// Its `Contact`: `<sip:{number}@{at}>`.
    pub fn contact(&self) -> String {
        format!("<sip:{}@{}>", self.number, self.at.addr)
    }

    /// The SDP it offers or answers with: its address, [`Phone::media_port`], `sendrecv`.
    pub fn sdp(&self) -> String {
        sdp(&self.at.addr.ip().to_string(), self.media_port, "sendrecv")
    }

    /// The To tag it answers requests with (one per phone, so forked legs differ).
    pub fn tag(&self) -> String {
        format!("t{}", self.id())
    }

    /// The header line answering `challenge` with its own credentials.
    pub fn credentials_line(&self, challenge: &Response, method: &str, uri: &str) -> String {
        digest::credentials_line(challenge, method, uri, &self.username, &self.secret)
    }

    /// A REGISTER for `aor_user` (RFC 3261 §10.2) with `contact` (none: a query) and extra
    /// header lines (`"Expires: 0\r\n"`, credentials), as text; each one a new branch and the
    /// next CSeq of the phone's one registration Call-ID.
    pub fn register_text(
        &mut self,
        aor_user: &str,
        contact: Option<&str>,
        headers: &str,
    ) -> String {
        self.register_cseq += 1;
        let branch = self.branch();
        let (at, domain, id) = (self.at.addr, &self.domain, self.id());
        let contact = contact
            .map(|c| format!("Contact: {c}\r\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{aor_user}@{domain}>;tag=r{id}\r\n\
             To: <sip:{aor_user}@{domain}>\r\nCall-ID: reg-{id}@{ip}\r\n\
             CSeq: {cseq} REGISTER\r\n{contact}{headers}Content-Length: 0\r\n\r\n",
            ip = at.ip(),
            cseq = self.register_cseq,
        )
    }

    /// Registers its contact: REGISTER → 401 → REGISTER with credentials (§22.2). Returns
    /// the final response. Each step reads the last response in its inbox and takes the
    /// whole inbox.
    ///
    /// # Panics
    /// When the first REGISTER is not challenged or the second is not answered at once.
    pub fn register<M: Machine>(&mut self, lab: &mut Lab<M>) -> Response {
        let (number, contact) = (self.number.clone(), self.contact());
        let first = self.register_text(&number, Some(&contact), "");
        lab.send_text(self.at, &first);
        let challenge = self.last_response(lab, "REGISTER");
        assert_eq!(challenge.status, 401, "{challenge}");
        let uri = format!("sip:{}", self.domain);
        let credentials = self.credentials_line(&challenge, "REGISTER", &uri);
        let second = self.register_text(&number, Some(&contact), &credentials);
        lab.send_text(self.at, &second);
        self.last_response(lab, "REGISTER")
    }

    /// Dials `dialled` with extra header lines: INVITE → 407 → ACK → INVITE with
    /// credentials (§22.3; the ACK as §17.1.1.3 builds it). Returns the authenticated INVITE
    /// as sent; what the machine answers it waits in the phone's inbox (the 407 step took
    /// what was there before).
    ///
    /// # Panics
    /// When the first INVITE is not answered 407.
    pub fn dial<M: Machine>(&mut self, lab: &mut Lab<M>, dialled: &str, headers: &str) -> Request {
        self.sent += 1;
        let call = self.sent;
        let (id, domain) = (self.id(), self.domain.clone());
        let uri = format!("sip:{dialled}@{domain}");
        let display = self
            .display
            .as_ref()
            .map(|d| format!("\"{d}\" "))
            .unwrap_or_default();
        let from = format!("{display}<sip:{}@{domain}>;tag=a{id}-{call}", self.number);
        let call_id = format!("call-{id}-{call}@{}", self.at.addr.ip());
        let body = if self.offer {
            self.sdp()
        } else {
            String::new()
        };
        let content_type = if self.offer {
            "Content-Type: application/sdp\r\n"
        } else {
            ""
        };
        let contact = self.contact();
        let at = self.at.addr;
        let invite = |branch: &str, cseq: u32, credentials: &str| {
            format!(
                "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch={branch};rport\r\n\
                 Max-Forwards: 70\r\nFrom: {from}\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\n\
                 CSeq: {cseq} INVITE\r\nContact: {contact}\r\n{headers}{credentials}\
                 {content_type}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let branch = self.branch();
        lab.send_text(self.at, &invite(&branch, 1, ""));
        let challenge = self.last_response(lab, "INVITE");
        assert_eq!(challenge.status, 407, "{challenge}");
        let to = challenge
            .headers
            .get(&HeaderName::To)
            .expect("a response carries To");
        lab.send_text(
            self.at,
            &format!(
                "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch={branch};rport\r\n\
                 Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
                 CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
            ),
        );
        let credentials = self.credentials_line(&challenge, "INVITE", &uri);
        let branch = self.branch();
        let text = invite(&branch, 2, &credentials);
        lab.send_text(self.at, &text);
        parse_request(&text)
    }

    /// CANCELs `invite`, one of its own (§9.1: the INVITE's Request-URI, top `Via`, `From`,
    /// `To`, `Call-ID` and CSeq number).
    pub fn cancel<M: Machine>(&mut self, lab: &mut Lab<M>, invite: &Request) {
        let header = |name: HeaderName| {
            invite
                .headers
                .get(&name)
                .unwrap_or_else(|| panic!("the INVITE has {}", name.as_str()))
                .to_owned()
        };
        let cseq = invite.headers.cseq().expect("the INVITE has a CSeq").seq;
        let text = format!(
            "CANCEL {} SIP/2.0\r\nVia: {}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
             Call-ID: {}\r\nCSeq: {cseq} CANCEL\r\nContent-Length: 0\r\n\r\n",
            invite.uri,
            header(HeaderName::Via),
            header(HeaderName::From),
            header(HeaderName::To),
            header(HeaderName::CallId),
        );
        lab.send_text(self.at, &text);
    }

    /// Its response to `request` (one the machine sent it): `To` tagged (§8.2.6.2),
    /// `Contact` on 101–299 (§12.1.1), `body` as SDP.
    pub fn response(&self, request: &Request, status: u16, body: Option<String>) -> Response {
        let mut response = request.response(status);
        if status > 100
            && let Some(to) = response
                .headers
                .0
                .iter_mut()
                .find(|h| h.name == HeaderName::To)
            && !to.value.contains("tag=")
        {
            to.value = format!("{};tag={}", to.value, self.tag());
        }
        if (101..300).contains(&status) {
            response.headers.push(HeaderName::Contact, self.contact());
        }
        if let Some(body) = body {
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = Bytes::from(body);
        }
        response
    }

    /// Answers `request` with `status` (see [`Phone::response`]).
    pub fn reply<M: Machine>(
        &self,
        lab: &mut Lab<M>,
        request: &Request,
        status: u16,
        body: Option<String>,
    ) {
        let response = self.response(request, status, body);
        lab.send(self.at, &Message::Response(response));
    }

    /// The dialog it has as the callee of `invite` (answered with [`Phone::reply`]).
    pub fn dialog_as_callee(&self, invite: &Request) -> Dialog {
        Dialog::from_invite(invite, &self.tag())
    }

    /// ACKs the 2xx of the dialog's INVITE (§13.2.2.4: a new branch, the INVITE's CSeq
    /// number), with the SDP answer to a late offer if `body` is one.
    pub fn ack<M: Machine>(&mut self, lab: &mut Lab<M>, dialog: &Dialog, body: Option<String>) {
        let text = self.in_dialog_text(dialog, Method::Ack, dialog.cseq, body);
        lab.send_text(self.at, &text);
    }

    /// Sends `method` in `dialog` with the next CSeq (§12.2.1.1): BYE, a re-INVITE, UPDATE,
    /// INFO... Returns it as sent.
    pub fn send_in_dialog<M: Machine>(
        &mut self,
        lab: &mut Lab<M>,
        dialog: &mut Dialog,
        method: Method,
        body: Option<String>,
    ) -> Request {
        dialog.cseq += 1;
        let text = self.in_dialog_text(dialog, method, dialog.cseq, body);
        lab.send_text(self.at, &text);
        parse_request(&text)
    }

    fn in_dialog_text(
        &mut self,
        dialog: &Dialog,
        method: Method,
        cseq: u32,
        body: Option<String>,
    ) -> String {
        let branch = self.branch();
        let content = match body {
            Some(b) => format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ),
            None => "Content-Length: 0\r\n\r\n".to_owned(),
        };
        let Dialog {
            call_id,
            local,
            remote,
            target,
            ..
        } = dialog;
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {local}\r\nTo: {remote}\r\nCall-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\nContact: {}\r\n{content}",
            self.at.addr,
            self.contact()
        )
    }

    /// A token from its address, for branches, tags and Call-IDs.
    fn id(&self) -> String {
        self.at
            .addr
            .to_string()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    }

    fn branch(&mut self) -> String {
        self.sent += 1;
        format!("z9hG4bK-{}-{}", self.id(), self.sent)
    }

    /// The last response in its inbox (the inbox is taken).
    fn last_response<M: Machine>(&self, lab: &mut Lab<M>, to: &str) -> Response {
        lab.responses(self.at)
            .pop()
            .unwrap_or_else(|| panic!("{} got no response to its {to}", self.number))
    }
}

/// RFC 3261 §12 dialog state as a scripted phone keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    /// Its own side, with its tag: the `From` of what it sends.
    pub local: String,
    /// The other side, with its tag: the `To` of what it sends.
    pub remote: String,
    /// The Request-URI of what it sends: the other side's `Contact` (§12.1).
    pub target: String,
    /// Its last CSeq number in the dialog.
    pub cseq: u32,
}

impl Dialog {
    /// The caller's dialog from the 2xx to its INVITE (§12.1.2): the `From`, the `To` with
    /// the callee's tag, the callee's `Contact`, the INVITE's CSeq.
    ///
    /// # Panics
    /// When the response lacks a header every response carries.
    pub fn from_answer(response: &Response) -> Dialog {
        let headers = &response.headers;
        let to = headers.to().expect("a response has a To");
        Dialog {
            call_id: headers
                .call_id()
                .expect("a response has a Call-ID")
                .to_owned(),
            local: headers
                .get(&HeaderName::From)
                .expect("a response has a From")
                .to_owned(),
            remote: headers
                .get(&HeaderName::To)
                .expect("a response has a To")
                .to_owned(),
            target: contact_uri(headers).unwrap_or_else(|| to.uri.to_string()),
            cseq: headers.cseq().expect("a response has a CSeq").seq,
        }
    }

    /// The callee's dialog from the INVITE it answered with To tag `tag` (§12.1.1).
    ///
    /// # Panics
    /// When the INVITE lacks a header every request carries.
    pub fn from_invite(invite: &Request, tag: &str) -> Dialog {
        let headers = &invite.headers;
        let from = headers.from().expect("a request has a From");
        Dialog {
            call_id: headers
                .call_id()
                .expect("a request has a Call-ID")
                .to_owned(),
            local: format!(
                "{};tag={tag}",
                headers.get(&HeaderName::To).expect("a request has a To")
            ),
            remote: headers
                .get(&HeaderName::From)
                .expect("a request has a From")
                .to_owned(),
            target: contact_uri(headers).unwrap_or_else(|| from.uri.to_string()),
            cseq: 0,
        }
    }
}

/// The URI of the first `Contact`.
fn contact_uri(headers: &crossbar_sip::Headers) -> Option<String> {
    match headers.contact() {
        Ok(Some(crossbar_sip::Contact::Addresses(list))) => list.first().map(|a| a.uri.to_string()),
        _ => None,
    }
}

/// The request a phone wrote.
fn parse_request(text: &str) -> Request {
    match crossbar_sip::parse_datagram(text.as_bytes()) {
        Ok(Message::Request(request)) => request,
        other => panic!("a phone's own request parses as a request: {other:?}\n{text}"),
    }
}
