//! Dialogs (RFC 3261 §12): what one leg of a call needs to send requests inside its
//! dialog — tags, CSeq, the remote target and route set, and where the peer is reachable.

use std::net::SocketAddr;

use crossbar_proto::transaction::Peer;
use crossbar_sip::{HeaderName, Method, NameAddr, Request, Response, Uri};

/// Where crossbar's requests toward a peer go, and from where: the peer, the local listen
/// address they leave from, and the address crossbar names in their `Via` and `Contact` (so
/// the peer's answers and requests come back to that listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub destination: Peer,
    /// `None`: the run loop's choice (the socket the peer last spoke to).
    pub local: Option<SocketAddr>,
    /// `None`: the switch's own SIP address.
    pub sent_by: Option<SocketAddr>,
}

impl Hop {
    /// To `destination`, from wherever the run loop sends it, as crossbar's SIP address.
    pub fn to(destination: Peer) -> Hop {
        Hop {
            destination,
            local: None,
            sent_by: None,
        }
    }
}

/// One side of a dialog, as crossbar (the B2BUA) sees it.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    /// crossbar's tag in this dialog.
    pub local_tag: String,
    pub remote_tag: String,
    /// crossbar's address-of-record in this dialog (the `From` of requests it sends).
    pub local: NameAddr,
    /// The peer's (the `To` of requests crossbar sends).
    pub remote: NameAddr,
    /// CSeq of the last request crossbar sent in this dialog (§12.2.1.1).
    pub local_cseq: u32,
    /// The peer's `Contact` (§12.1.1, §12.2.1.2: updated by target refreshes).
    pub remote_target: Uri,
    /// `Record-Route` values, in the order requests use them (§12.1).
    pub route_set: Vec<String>,
    /// Where requests go — the peer's observed address (symmetric signalling for NAT) — and
    /// from where.
    pub hop: Hop,
}

impl Dialog {
    /// A new request in the dialog (§12.2.1.1), without a `Via` (the caller adds its own)
    /// and with the next CSeq.
    pub fn request(&mut self, method: Method) -> Request {
        self.local_cseq += 1;
        let cseq = self.local_cseq;
        self.request_with_cseq(method, cseq)
    }

    /// The ACK for a 2xx to the INVITE with `invite_cseq` (§13.2.2.4): same CSeq number.
    pub fn ack(&self, invite_cseq: u32) -> Request {
        self.request_with_cseq(Method::Ack, invite_cseq)
    }

    fn request_with_cseq(&self, method: Method, cseq: u32) -> Request {
        let mut request = Request::new(method.clone(), self.remote_target.clone());
        let mut local = self.local.clone();
        local.params.set("tag", Some(self.local_tag.clone()));
        let mut remote = self.remote.clone();
        remote.params.set("tag", Some(self.remote_tag.clone()));
        let headers = &mut request.headers;
        for route in &self.route_set {
            headers.push(HeaderName::Route, route.clone());
        }
        headers.push(HeaderName::MaxForwards, "70");
        headers.push(HeaderName::From, local.to_string());
        headers.push(HeaderName::To, remote.to_string());
        headers.push(HeaderName::CallId, self.call_id.clone());
        headers.push(HeaderName::CSeq, format!("{cseq} {method}"));
        request
    }

    /// A target refresh from the peer (re-INVITE, UPDATE or their 2xx) may move its
    /// `Contact` (§12.2.2).
    pub fn refresh_target(&mut self, headers: &crossbar_sip::Headers) {
        if let Ok(Some(crossbar_sip::Contact::Addresses(list))) = headers.contact()
            && let Some(first) = list.into_iter().next()
        {
            self.remote_target = first.uri;
        }
    }
}

/// The UAC side of a dialog created by a 2xx (or 1xx with a tag) to an INVITE crossbar
/// sent (§12.1.2): route set from `Record-Route` reversed, target from `Contact`.
pub fn from_response(invite: &Request, response: &Response, hop: Hop) -> Option<Dialog> {
    let from = invite.headers.from().ok()?;
    let to = response.headers.to().ok()?;
    let remote_tag = to.tag()?.to_owned();
    let local_tag = from.tag()?.to_owned();
    let remote_target = match response.headers.contact() {
        Ok(Some(crossbar_sip::Contact::Addresses(list))) => list.into_iter().next()?.uri,
        _ => invite.uri.clone(),
    };
    let mut route_set: Vec<String> = response
        .headers
        .get_all(&HeaderName::RecordRoute)
        .flat_map(split_list)
        .collect();
    route_set.reverse();
    let cseq = invite.headers.cseq().ok()?.seq;
    Some(Dialog {
        call_id: invite.headers.call_id()?.to_owned(),
        local_tag,
        remote_tag,
        local: without_tag(from),
        remote: without_tag(to),
        local_cseq: cseq,
        remote_target,
        route_set,
        hop,
    })
}

/// The UAS side of a dialog crossbar accepts (§12.1.1): route set from `Record-Route` in
/// order, target from the INVITE's `Contact`, `local_tag` the To tag crossbar answers with.
pub fn from_request(request: &Request, local_tag: &str, source: Peer) -> Option<Dialog> {
    let from = request.headers.from().ok()?;
    let to = request.headers.to().ok()?;
    let remote_target = match request.headers.contact() {
        Ok(Some(crossbar_sip::Contact::Addresses(list))) => list.into_iter().next()?.uri,
        _ => return None,
    };
    let route_set: Vec<String> = request
        .headers
        .get_all(&HeaderName::RecordRoute)
        .flat_map(split_list)
        .collect();
    Some(Dialog {
        call_id: request.headers.call_id()?.to_owned(),
        local_tag: local_tag.to_owned(),
        remote_tag: from.tag()?.to_owned(),
        local: without_tag(to),
        remote: without_tag(from),
        local_cseq: 0,
        remote_target,
        route_set,
        hop: Hop::to(source),
    })
}

fn without_tag(mut address: NameAddr) -> NameAddr {
    address.params.remove("tag");
    address
}

/// Splits a comma-separated header value (outside quotes and `<>`).
fn split_list(value: &str) -> Vec<String> {
    match NameAddr::parse_list(value) {
        Ok(list) => list.into_iter().map(|a| a.to_string()).collect(),
        Err(_) => vec![value.to_owned()],
    }
}
