//! The RFC 4475 and RFC 5118 torture messages on the wire, against a real `crossbar run`.
//!
//! Every row of both manifests (shared/torture/*/manifest.tsv) is sent as one UDP datagram
//! and checked against an exact expectation below — the status of the response, or no
//! response at all — and after each message an OPTIONS must still get a 200 within 1 s.
//! `clerr`, `ncl` and `mcl01` are also sent over TCP, where framing rules differ.
//!
//! # How the messages are sent
//!
//! The messages name other hosts in their top `Via`, where the server sends responses
//! (RFC 3261 §18.2.2). Each request is therefore changed in exactly two places, both in its
//! top `Via` value: the sent-by port is set to the test socket's port, and `;rport` is
//! inserted right after it (unless the value already has `rport`). With `rport` the server
//! answers to the source address and port (RFC 3581 §4), so the response comes back to us;
//! everything the message is about stays byte for byte as in the archive: the host (IPv6
//! references, names, `[::ffff:...]`), the transport token, the folding and LWS of `wsinv`,
//! the empty branch of `badbranch`, the `received=` forms of the `via-received-param-*`
//! pair, the empty parameters of `badinv01` (after the inserted `rport`), the other `Via`
//! values of `transports`, `mult-ip-in-header` and `longreq`, bodies and `Content-Length`
//! (only header bytes change, and `Content-Length` counts the body).
//!
//! Why the port and not only `rport`: many messages share a branch and a sent-by (e.g.
//! `branch=z9hG4bKkdjuw` on `saturn.example.com:5060` in `cparam01` and `cparam02`), so by
//! §17.2.3 the second would be a retransmission of the first and get its response again.
//! Each message is sent from its own socket (all kept open until the end, so no port is
//! reused), which makes every sent-by, hence every transaction, distinct.
//!
//! Responses (`unreason`, `noreason`, `scalarlg`, `bigcode`, `bcast`) are sent unchanged:
//! the server must stay silent, and no `Via` of theirs routes anything to us anyway.
//! In `dblreq` the trailing INVITE octets get the same `Via` change, so that if the server
//! wrongly acted on them, the answer would reach us and fail the "exactly one response".
//!
//! An INVITE answered with a final non-2xx is ACKed (§17.1.1.3) as a real UAC would, which
//! stops the server retransmitting it.

mod support;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Message, Method, Request, Response};

use support::{
    Challenge, Extension, Server, Setup, TcpPeer, UdpPeer, shared, tcp_exchange, unique,
};

/// How long to wait for the first response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// After the first response, how long to keep listening for any other.
const LINGER: Duration = Duration::from_millis(250);
/// How long silence must last for "no response".
const QUIET: Duration = Duration::from_millis(500);
/// The TCP incomplete-message timeout configured for the TCP tests.
const TCP_INCOMPLETE_SECS: u64 = 2;

/// What the server must do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// One final response with this status (retransmissions of it aside), nothing else.
    Status(u16),
    /// No response at all.
    Silence,
    /// A 401 challenge; answered with digest credentials (the same message with an
    /// `Authorization` header, from a new socket: a new transaction), then a 200.
    ChallengeThen200,
}

use Expect::{ChallengeThen200, Silence, Status};

/// One row of the expectation table.
struct Case {
    file: &'static str,
    expect: Expect,
    /// Why this is the right answer (and the manifest's criterion it meets).
    why: &'static str,
}

const fn case(file: &'static str, expect: Expect, why: &'static str) -> Case {
    Case { file, expect, why }
}

/// RFC 4475, in manifest order.
const RFC4475: &[Case] = &[
    case(
        "wsinv.dat",
        Status(481),
        "INVITE parsed despite LWS/folding; its To has a tag, so it is a re-INVITE for a \
         dialog crossbar does not have: 481 (RFC 3261 §12.2.2), no 400",
    ),
    case(
        "intmeth.dat",
        Status(501),
        "unknown extension method: 501 with Allow; never 400",
    ),
    case(
        "esc01.dat",
        Status(407),
        "valid INVITE with escapes: normal handling (challenge), no 400",
    ),
    case(
        "escnull.dat",
        Status(401),
        "REGISTER for an AOR with %00: challenged like any REGISTER",
    ),
    case(
        "esc02.dat",
        Status(501),
        "RE%47IST%45R is an unknown method, not REGISTER: 501",
    ),
    case(
        "lwsdisp.dat",
        Status(200),
        "OPTIONS with no LWS before <: 200",
    ),
    case(
        "longreq.dat",
        Status(407),
        "long values: INVITE challenged, To/From/Call-ID echoed whole",
    ),
    case(
        "dblreq.dat",
        Status(401),
        "REGISTER answered (401) once; the trailing INVITE octets ignored",
    ),
    case(
        "semiuri.dat",
        Status(200),
        "OPTIONS with ; in the user part: 200",
    ),
    case(
        "transports.dat",
        Status(200),
        "OPTIONS with SCTP/TLS/UNKNOWN/TCP Vias below the top: 200",
    ),
    case(
        "mpart01.dat",
        Status(405),
        "MESSAGE with a binary multipart body: parsed, 405 with Allow (405/415/200 acceptable)",
    ),
    case("unreason.dat", Silence, "unsolicited 200 response: dropped"),
    case(
        "noreason.dat",
        Silence,
        "unsolicited 100 response with empty reason: dropped",
    ),
    case(
        "badinv01.dat",
        Silence,
        "top Via `;;,;,,` is unusable: silent drop (manifest: 400 or drop if the Via is unusable)",
    ),
    case(
        "clerr.dat",
        Status(400),
        "Content-Length larger than the datagram: 400 over UDP",
    ),
    case(
        "ncl.dat",
        Status(400),
        "negative Content-Length: 400 over UDP",
    ),
    case("scalar02.dat", Status(400), "CSeq above 2^32-1: 400"),
    case(
        "scalarlg.dat",
        Silence,
        "response with overlarge scalars: dropped",
    ),
    case(
        "quotbal.dat",
        Status(400),
        "unterminated quoted display name: 400",
    ),
    case("ltgtruri.dat", Status(400), "Request-URI in <>: 400"),
    case(
        "lwsruri.dat",
        Status(400),
        "LWS inside the Request-URI: 400",
    ),
    case(
        "lwsstart.dat",
        Status(407),
        "extra SP in the request line tolerated: normal handling (manifest: 400 or normal)",
    ),
    case(
        "trws.dat",
        Status(200),
        "trailing SP after SIP/2.0 tolerated: OPTIONS answered 200 (manifest: 400 or normal)",
    ),
    case(
        "escruri.dat",
        Status(400),
        "escaped headers in the Request-URI: 400",
    ),
    case(
        "baddate.dat",
        Status(400),
        "Date in EST: 400 (manifest: normal handling or 400)",
    ),
    case(
        "regbadct.dat",
        Status(400),
        "Contact URI with a header outside <>: 400, nothing stored",
    ),
    case(
        "badaspec.dat",
        Status(400),
        "spaces inside the To addr-spec: 400 (manifest: 400 or 200)",
    ),
    case(
        "baddn.dat",
        Status(400),
        "no empty line ends the header: incomplete, 400 (manifest: 400 or drop)",
    ),
    case("badvers.dat", Status(505), "SIP/7.0: 505"),
    case(
        "mismatch01.dat",
        Status(400),
        "CSeq method differs from the request method: 400",
    ),
    case(
        "mismatch02.dat",
        Status(400),
        "unknown method with a CSeq INVITE: 400 (manifest: 501 preferred, or 400)",
    ),
    case(
        "bigcode.dat",
        Silence,
        "response with status 4294967301: dropped",
    ),
    case(
        "badbranch.dat",
        Status(200),
        "branch=z9hG4bK alone: RFC 2543 matching, OPTIONS answered 200",
    ),
    case(
        "insuf.dat",
        Status(400),
        "INVITE without Call-ID/From/To: 400",
    ),
    case(
        "unkscm.dat",
        Status(416),
        "Request-URI with an unknown scheme: 416",
    ),
    case("novelsc.dat", Status(416), "soap.beep: Request-URI: 416"),
    case(
        "unksm2.dat",
        Status(400),
        "REGISTER whose To is not a SIP URI: 400 from the registrar",
    ),
    case(
        "bext01.dat",
        Status(420),
        "Require with unknown options: 420 listing both in Unsupported",
    ),
    case(
        "invut.dat",
        Status(415),
        "INVITE with an unknown Content-Type: 415 with Accept (before the challenge)",
    ),
    case(
        "regaut01.dat",
        Status(401),
        "unknown Authorization scheme ignored: 401 with a Digest challenge",
    ),
    case(
        "multi01.dat",
        Status(400),
        "several Call-ID/To/From/Max-Forwards/CSeq values: 400",
    ),
    case(
        "mcl01.dat",
        Status(400),
        "two conflicting Content-Length values: 400 over UDP",
    ),
    case(
        "bcast.dat",
        Silence,
        "response with a broadcast second Via: dropped",
    ),
    case(
        "zeromf.dat",
        Status(200),
        "OPTIONS with Max-Forwards 0 to the PBX itself: 200",
    ),
    case(
        "cparam01.dat",
        ChallengeThen200,
        "after auth, 200 whose binding URI has no ;unknownparam",
    ),
    case(
        "cparam02.dat",
        ChallengeThen200,
        "after auth, 200 whose binding URI keeps ;unknownparam",
    ),
    case(
        "regescrt.dat",
        ChallengeThen200,
        "after auth, 200 whose binding URI keeps ?Route=%3C...%3E",
    ),
    case(
        "sdp01.dat",
        Status(406),
        "Accept without application/sdp: 406 with Warning 399",
    ),
    case(
        "inv2543.dat",
        Status(407),
        "RFC 2543 INVITE (no branch, no Content-Length): handled, challenged",
    ),
];

/// RFC 5118, in manifest order.
const RFC5118: &[Case] = &[
    case(
        "ipv6-good.dat",
        Status(401),
        "IPv6 references in Request-URI, Via and Contact: normal REGISTER handling",
    ),
    case(
        "ipv6-bad.dat",
        Status(400),
        "IPv6 Request-URI host without []: 400",
    ),
    case(
        "port-ambiguous.dat",
        Status(401),
        "[2001:db8::10:5070] is an address without port: parsed, REGISTER challenged",
    ),
    case(
        "port-unambiguous.dat",
        Status(401),
        "[2001:db8::10]:5070: parsed, REGISTER challenged",
    ),
    case(
        "via-received-param-with-delim.dat",
        Status(481),
        "received=[...] accepted; BYE outside a dialog: 481",
    ),
    case(
        "via-received-param-no-delim.dat",
        Status(200),
        "received=2001:db8::9:255 accepted; OPTIONS: 200",
    ),
    case(
        "ipv6-in-sdp.dat",
        Status(407),
        "INVITE with IPv6 SDP: normal handling (challenge)",
    ),
    case(
        "mult-ip-in-header.dat",
        Status(481),
        "mixed IPv6/IPv4 Vias accepted; BYE outside a dialog: 481",
    ),
    case(
        "mult-ip-in-sdp.dat",
        Status(407),
        "INVITE with IPv4 and IPv6 c= lines: normal handling (challenge)",
    ),
    case(
        "ipv4-mapped-ipv6.dat",
        Status(407),
        "::ffff: addresses accepted: normal INVITE handling (challenge)",
    ),
    case(
        "ipv6-bug-abnf-3-colons.dat",
        Status(200),
        "[2001:db8:::192.0.2.1] tolerated: OPTIONS 200",
    ),
    case(
        "ipv6-correct-abnf-2-colons.dat",
        Status(200),
        "[2001:db8::192.0.2.1]: OPTIONS 200",
    ),
];

/// The extensions the REGISTER torture messages authenticate as (their To users).
fn torture_extensions() -> Vec<Extension> {
    vec![
        Extension::new("3001", "watson", "watson-secret"),
        Extension::new("3002", "user", "user-secret"),
    ]
}

/// One manifest row: the file and its size.
struct Row {
    file: String,
    bytes: usize,
}

fn manifest(dir: &str) -> Vec<Row> {
    let path = shared(&format!("torture/{dir}/manifest.tsv"));
    let text = std::fs::read_to_string(&path).expect("the manifest is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header row").split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{} has no `{name}` column", path.display()))
    };
    let (file, bytes) = (column("file"), column("bytes"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            Row {
                file: fields[file].to_owned(),
                bytes: fields[bytes].parse().expect("bytes is a number"),
            }
        })
        .collect()
}

/// Checks that `cases` cover the manifest of `dir` exactly, in order, and returns the
/// message bytes of each, checked against the manifest's size.
fn load(dir: &str, cases: &[Case], expected_rows: usize) -> Vec<Vec<u8>> {
    let rows = manifest(dir);
    assert_eq!(rows.len(), expected_rows, "rows in {dir}/manifest.tsv");
    let table: Vec<&str> = cases.iter().map(|c| c.file).collect();
    let listed: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        table, listed,
        "the expectation table must list every manifest row of {dir}, in order"
    );
    rows.iter()
        .map(|row| {
            let path: PathBuf = shared(&format!("torture/{dir}/{}", row.file));
            let bytes = std::fs::read(&path).expect("the message file is readable");
            assert_eq!(bytes.len(), row.bytes, "size of {}", path.display());
            bytes
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Rewriting the top Via
// ---------------------------------------------------------------------------------------

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// The end of the header section of `message` (the offset of the empty line's CRLF), or
/// its length when no empty line ends it (`baddn`).
fn header_end(message: &[u8]) -> usize {
    message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |i| i + 2)
}

/// Where the port of the top `Via` sent-by is (`:port`, or the empty range after the host
/// when there is none), and whether the value carries `rport` already.
fn top_via_sent_by(message: &[u8]) -> Option<(Range<usize>, bool)> {
    let end = header_end(message);
    let mut line_start = message.iter().position(|&b| b == b'\n')? + 1;
    while line_start < end {
        let line_end = message[line_start..end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(end, |i| line_start + i);
        let line = &message[line_start..line_end];
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && !continuation
        {
            let name = String::from_utf8_lossy(&line[..colon]);
            let name = name.trim();
            if name.eq_ignore_ascii_case("via") || name.eq_ignore_ascii_case("v") {
                return sent_by_at(message, line_start + colon + 1, end);
            }
        }
        line_start = line_end + 1;
    }
    None
}

/// Parses `protocol / version / transport LWS host[:port]` from `at`.
fn sent_by_at(m: &[u8], mut at: usize, end: usize) -> Option<(Range<usize>, bool)> {
    let skip_lws = |at: &mut usize| {
        while *at < end && is_lws(m[*at]) {
            *at += 1;
        }
    };
    let token = |at: &mut usize| {
        let start = *at;
        while *at < end && is_token(m[*at]) {
            *at += 1;
        }
        *at > start
    };
    for part in 0..3 {
        skip_lws(&mut at);
        if !token(&mut at) {
            return None;
        }
        if part < 2 {
            skip_lws(&mut at);
            if m.get(at) != Some(&b'/') {
                return None;
            }
            at += 1;
        }
    }
    skip_lws(&mut at);
    if m.get(at) == Some(&b'[') {
        at += m[at..end].iter().position(|&b| b == b']')? + 1;
    } else {
        while at < end && !is_lws(m[at]) && !b";,:".contains(&m[at]) {
            at += 1;
        }
    }
    let mut port = at..at;
    if m.get(at) == Some(&b':') {
        let mut p = at + 1;
        while p < end && m[p].is_ascii_digit() {
            p += 1;
        }
        port = at..p;
    }
    // The rest of this Via value: up to a comma or the end of the (unfolded) header line.
    let mut rest_end = port.end;
    while rest_end < end {
        let b = m[rest_end];
        if b == b',' {
            break;
        }
        if b == b'\n' && !matches!(m.get(rest_end + 1), Some(b' ' | b'\t')) {
            break;
        }
        rest_end += 1;
    }
    let has_rport = String::from_utf8_lossy(&m[port.end..rest_end])
        .to_ascii_lowercase()
        .contains("rport");
    Some((port, has_rport))
}

/// `message` with its top `Via` sent-by port set to `port` and `;rport` inserted after it
/// (see the module documentation). Panics if the message has no `Via` we can read.
fn route_to(message: &[u8], port: u16, file: &str) -> Vec<u8> {
    let (old_port, has_rport) = top_via_sent_by(message)
        .unwrap_or_else(|| panic!("{file}: no top Via sent-by found to route the response"));
    let mut out = Vec::with_capacity(message.len() + 16);
    out.extend_from_slice(&message[..old_port.start]);
    out.extend_from_slice(format!(":{port}").as_bytes());
    if !has_rport {
        out.extend_from_slice(b";rport");
    }
    out.extend_from_slice(&message[old_port.end..]);
    out
}

/// The bytes to send for `file`, answered to `port`.
fn wire_form(file: &str, original: &[u8], port: u16) -> Vec<u8> {
    if original.starts_with(b"SIP/") {
        return original.to_vec(); // a response: sent unchanged
    }
    if file == "dblreq.dat" {
        // REGISTER with Content-Length: 0, then the INVITE octets.
        let split = header_end(original) + 2;
        let mut out = route_to(&original[..split], port, file);
        out.extend_from_slice(&route_to(&original[split..], port, "dblreq.dat (trailing)"));
        return out;
    }
    route_to(original, port, file)
}

// ---------------------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------------------

/// One response as it came back.
struct Reply {
    status: u16,
    /// The response, when it parses. A 400 to a malformed request echoes the malformed
    /// header (e.g. `scalar02`'s 2^65 CSeq, as §8.2.6.2 says to copy CSeq), so it may not.
    parsed: Option<Response>,
    raw: Vec<u8>,
}

impl Reply {
    fn new(raw: Vec<u8>) -> Reply {
        let parsed = match crossbar_sip::parse_datagram(&raw) {
            Ok(Message::Response(response)) => Some(response),
            Ok(Message::Request(_)) => panic!(
                "the server sent a request to a torture test socket:\n{}",
                String::from_utf8_lossy(&raw)
            ),
            Err(_) => None,
        };
        let status = match &parsed {
            Some(response) => response.status,
            None => status_line_code(&raw).unwrap_or_else(|| {
                panic!(
                    "the server sent something that is not a SIP response:\n{}",
                    String::from_utf8_lossy(&raw)
                )
            }),
        };
        Reply {
            status,
            parsed,
            raw,
        }
    }

    fn response(&self, file: &str) -> &Response {
        self.parsed.as_ref().unwrap_or_else(|| {
            panic!(
                "{file}: the response does not parse:\n{}",
                String::from_utf8_lossy(&self.raw)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// The status code of a `SIP/2.0 NNN reason` start line.
fn status_line_code(raw: &[u8]) -> Option<u16> {
    let line = raw.split(|&b| b == b'\r').next()?;
    let rest = line.strip_prefix(b"SIP/2.0 ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&b| b != b' ') {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// What came back for one message.
struct Exchange {
    sent: Vec<u8>,
    replies: Vec<Reply>,
}

/// Sends `bytes` from `peer` and collects every response: up to [`RESPONSE_TIMEOUT`] for
/// the first, then until [`LINGER`] passes without another (or [`QUIET`] if none is
/// expected). Non-2xx finals to an INVITE are ACKed.
fn exchange(peer: &UdpPeer, bytes: Vec<u8>, expect_silence: bool) -> Exchange {
    peer.send(&bytes);
    let sent_request = match crossbar_sip::parse_datagram(&bytes) {
        Ok(Message::Request(request)) => Some(request),
        _ => None,
    };
    let mut replies = Vec::new();
    let mut wait = if expect_silence {
        QUIET
    } else {
        RESPONSE_TIMEOUT
    };
    let mut acked = false;
    while let Some(raw) = peer.recv(wait) {
        let reply = Reply::new(raw);
        if let (Some(request), Some(response)) = (&sent_request, &reply.parsed)
            && request.method == Method::Invite
            && response.status >= 300
            && !acked
        {
            peer.send(&ack(request, response));
            acked = true;
        }
        replies.push(reply);
        wait = if expect_silence { QUIET } else { LINGER };
    }
    Exchange {
        sent: bytes,
        replies,
    }
}

/// The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3).
fn ack(invite: &Request, response: &Response) -> Vec<u8> {
    let via = invite
        .headers
        .top_via()
        .expect("the INVITE's Via parsed at the server");
    let cseq = invite
        .headers
        .cseq()
        .expect("the INVITE's CSeq parsed at the server");
    format!(
        "ACK {} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\n\
         Call-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
        invite.uri,
        invite.headers.get(&HeaderName::From).unwrap_or_default(),
        response.headers.get(&HeaderName::To).unwrap_or_default(),
        invite.headers.call_id().unwrap_or_default(),
        cseq.seq,
    )
    .into_bytes()
}

/// An OPTIONS ping from `local` over `transport`.
fn options(server: &Server, transport: &str, local: std::net::SocketAddr) -> String {
    format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-ping-{tag};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:ping@127.0.0.1>;tag={tag}\r\nTo: <sip:127.0.0.1:{port}>\r\n\
         Call-ID: ping-{tag}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        port = server.port,
        tag = unique(),
    )
}

/// The server still answers over TCP: a new connection's OPTIONS gets a 200 within 1 s.
fn assert_alive_over_tcp(server: &Server, after: &str) {
    let mut peer = TcpPeer::connect(server.addr());
    let ping = options(server, "TCP", peer.local_addr());
    peer.send(ping.as_bytes());
    let response = peer
        .recv_response(Duration::from_secs(1))
        .unwrap_or_else(|| panic!("no answer to OPTIONS over TCP within 1 s after {after}"));
    assert_eq!(
        response.status, 200,
        "OPTIONS over TCP after {after}:\n{response}"
    );
}

/// The server still answers: an OPTIONS gets a 200 within 1 s.
fn assert_alive(server: &Server, after: &str) {
    let peer = UdpPeer::new(server.addr());
    peer.send(options(server, "UDP", peer.local_addr()).as_bytes());
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let response = peer.recv_response(left).unwrap_or_else(|| {
            panic!("no answer to OPTIONS within 1 s after {after}: did the server die or hang?")
        });
        if response.status >= 200 {
            assert_eq!(response.status, 200, "OPTIONS after {after}:\n{response}");
            return;
        }
    }
}

fn header<'a>(response: &'a Response, name: &HeaderName) -> &'a str {
    response
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {} in\n{response}", name.as_str()))
}

fn contacts(response: &Response) -> Vec<&str> {
    response.headers.get_all(&HeaderName::Contact).collect()
}

/// The checks beyond the status code that some messages call for.
fn check_details(file: &str, sent: &[u8], reply: &Reply) {
    let response = || reply.response(file);
    match file {
        "intmeth.dat" | "esc02.dat" | "mpart01.dat" => {
            let allow = header(response(), &HeaderName::Allow);
            for method in ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER"] {
                assert!(
                    allow.contains(method),
                    "{file}: Allow lacks {method}: {allow}"
                );
            }
        }
        "bext01.dat" => {
            let unsupported: BTreeSet<&str> = response()
                .headers
                .tokens(&HeaderName::Unsupported)
                .collect();
            assert_eq!(
                unsupported,
                BTreeSet::from(["nothingSupportsThis", "nothingSupportsThisEither"]),
                "{file}: a UAS lists the unknown Require tags (not the Proxy-Require ones)\n{}",
                reply.text()
            );
        }
        "invut.dat" => {
            let accept = header(response(), &HeaderName::Accept);
            assert!(
                accept.contains("application/sdp"),
                "{file}: Accept: {accept}"
            );
        }
        "sdp01.dat" => {
            let warning = header(response(), &HeaderName::Warning);
            assert!(warning.starts_with("399 "), "{file}: Warning: {warning}");
        }
        "regaut01.dat"
        | "escnull.dat"
        | "dblreq.dat"
        | "ipv6-good.dat"
        | "port-ambiguous.dat"
        | "port-unambiguous.dat" => {
            let challenge = Challenge::of(response());
            assert!(!challenge.nonce.is_empty(), "{file}: a fresh nonce");
        }
        "longreq.dat" => {
            // Every long value comes back whole.
            let Ok(Message::Request(request)) = crossbar_sip::parse_datagram(sent) else {
                panic!("{file} parses");
            };
            for name in [HeaderName::From, HeaderName::CallId] {
                assert_eq!(
                    response().headers.get(&name),
                    request.headers.get(&name),
                    "{file}: {} echoed whole",
                    name.as_str()
                );
            }
            let to = header(response(), &HeaderName::To);
            let sent_to = request
                .headers
                .get(&HeaderName::To)
                .expect("longreq has To");
            assert!(to.starts_with(sent_to), "{file}: To echoed whole: {to}");
        }
        _ => {}
    }
}

/// The checks on the 200 of an authenticated torture REGISTER (what the binding URI is).
fn check_binding(file: &str, response: &Response) {
    let listed = contacts(response);
    match file {
        // `unknownparam` is a contact-param of a Contact without <>, never part of the URI.
        "cparam01.dat" => {
            assert!(
                listed
                    .iter()
                    .any(|c| c.starts_with("<sip:+19725552222@gw1.example.net>")),
                "{file}: binding without unknownparam: {listed:?}"
            );
            assert!(
                !listed.iter().any(|c| c.contains("unknownparam>")),
                "{file}: unknownparam must not be inside the binding URI: {listed:?}"
            );
        }
        // Inside <> it is a URI parameter and stays in the binding.
        "cparam02.dat" => assert!(
            listed
                .iter()
                .any(|c| c.starts_with("<sip:+19725552222@gw1.example.net;unknownparam>")),
            "{file}: binding keeps ;unknownparam: {listed:?}"
        ),
        "regescrt.dat" => assert!(
            listed
                .iter()
                .any(|c| c.starts_with("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>")),
            "{file}: binding keeps the escaped Route header: {listed:?}"
        ),
        other => panic!("no binding check for {other}"),
    }
}

/// The message with an `Authorization` header added at the end of its header section.
fn with_authorization(message: &[u8], authorization: &str) -> Vec<u8> {
    let end = header_end(message);
    let mut out = message[..end].to_vec();
    out.extend_from_slice(format!("Authorization: {authorization}\r\n").as_bytes());
    out.extend_from_slice(&message[end..]);
    out
}

/// Runs every case of `cases` against one server, keeping every socket open to the end.
fn run_cases(dir: &str, cases: &[Case], expected_rows: usize) {
    let messages = load(dir, cases, expected_rows);
    let mut setup = Setup::new();
    setup.extensions = torture_extensions();
    let server = setup.start();
    let mut peers = Vec::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for (case, original) in cases.iter().zip(&messages) {
        let file = case.file;
        let peer = UdpPeer::new(server.addr());
        let bytes = wire_form(file, original, peer.port());
        let result = exchange(&peer, bytes, case.expect == Silence);
        peers.push(peer);
        let statuses: Vec<u16> = result.replies.iter().map(|r| r.status).collect();
        let distinct: BTreeSet<u16> = statuses.iter().copied().collect();
        let outcome = match case.expect {
            Silence if statuses.is_empty() => Ok(()),
            Silence => Err(format!("expected no response, got {statuses:?}")),
            _ if statuses.is_empty() => Err("expected a response, got none".to_owned()),
            Status(status) if distinct == BTreeSet::from([status]) => {
                // Only INVITE finals are retransmitted (Timer G) before our ACK lands;
                // anything else must come exactly once.
                let is_invite = result.sent.starts_with(b"INVITE ");
                if file == "dblreq.dat" && statuses.len() != 1 {
                    Err(format!("expected exactly one response, got {statuses:?}"))
                } else if !is_invite && statuses.len() != 1 {
                    Err(format!("expected one response, got {statuses:?}"))
                } else {
                    check_details(file, &result.sent, &result.replies[0]);
                    Ok(())
                }
            }
            Status(status) => Err(format!("expected {status}, got {statuses:?}")),
            ChallengeThen200 if statuses == [401] => {
                let challenge = Challenge::of(result.replies[0].response(file));
                let user = torture_extensions()
                    .into_iter()
                    .find(|e| {
                        let to = String::from_utf8_lossy(original);
                        to.contains(&format!("To: sip:{}@", e.username))
                    })
                    .expect("the REGISTER's To names a torture extension");
                let Ok(Message::Request(request)) = crossbar_sip::parse_datagram(&result.sent)
                else {
                    panic!("{file} parses");
                };
                let authorization = challenge.answer(
                    "REGISTER",
                    &request.uri.to_string(),
                    &user.username,
                    &user.secret,
                );
                // A new socket, so a new sent-by port: a new transaction.
                let retry = UdpPeer::new(server.addr());
                let bytes = wire_form(
                    file,
                    &with_authorization(original, &authorization),
                    retry.port(),
                );
                let second = exchange(&retry, bytes, false);
                peers.push(retry);
                let statuses: Vec<u16> = second.replies.iter().map(|r| r.status).collect();
                if statuses == [200] {
                    check_binding(file, second.replies[0].response(file));
                    Ok(())
                } else {
                    Err(format!(
                        "after authenticating expected [200], got {statuses:?}"
                    ))
                }
            }
            ChallengeThen200 => Err(format!("expected a 401 challenge, got {statuses:?}")),
        };
        if let Err(problem) = outcome {
            let first = result
                .replies
                .first()
                .map(|r| format!("\n{}", r.text()))
                .unwrap_or_default();
            failures.push(format!("{file} ({}): {problem}{first}", case.why));
        }
        assert_alive(&server, file);
    }
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {} {dir} torture messages were answered wrongly:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!("{dir}: {} messages checked in {elapsed:?}", cases.len());
    // Nothing unexpected was registered: only the three authenticated torture REGISTERs.
    let registered: Vec<String> = server
        .lines()
        .into_iter()
        .filter(|l| l.contains(" registered "))
        .collect();
    let expected_registrations = cases
        .iter()
        .filter(|c| c.expect == ChallengeThen200)
        .count();
    assert_eq!(
        registered.len(),
        expected_registrations,
        "bindings created:\n{}",
        registered.join("\n")
    );
    server.stop();
}

/// The wire form changes the top `Via` port and adds `rport`, and nothing else: wherever
/// the archive message parses, the sent one parses to the same request but for that.
#[test]
fn sending_changes_only_the_top_via_port_and_rport() {
    let port = 40_000;
    let mut checked = 0;
    for (dir, cases, rows) in [("rfc4475", RFC4475, 49), ("rfc5118", RFC5118, 12)] {
        for (case, original) in cases.iter().zip(load(dir, cases, rows)) {
            let sent = wire_form(case.file, &original, port);
            if original.starts_with(b"SIP/") {
                assert_eq!(
                    sent, original,
                    "{}: responses are sent unchanged",
                    case.file
                );
                continue;
            }
            let (Ok(Message::Request(before)), Ok(Message::Request(after))) = (
                crossbar_sip::parse_datagram(&original),
                crossbar_sip::parse_datagram(&sent),
            ) else {
                continue; // malformed on purpose: the server's answer is the test
            };
            let file = case.file;
            let (old, new) = (
                before.headers.vias().expect("parsed"),
                after.headers.vias().expect("parsed"),
            );
            assert_eq!(new[0].port, Some(port), "{file}");
            assert_eq!(new[0].rport(), Some(None), "{file}");
            assert_eq!(
                (
                    &new[0].protocol,
                    &new[0].transport,
                    &new[0].host,
                    new[0].branch()
                ),
                (
                    &old[0].protocol,
                    &old[0].transport,
                    &old[0].host,
                    old[0].branch()
                ),
                "{file}"
            );
            assert_eq!(new[1..], old[1..], "{file}: the other Via values");
            let without_via = |r: &Request| {
                r.headers
                    .iter()
                    .filter(|h| h.name != HeaderName::Via)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(without_via(&after), without_via(&before), "{file}");
            assert_eq!(
                (&after.method, &after.uri, &after.body),
                (&before.method, &before.uri, &before.body),
                "{file}"
            );
            checked += 1;
        }
    }
    // Well over half of the 61 messages are requests that parse.
    assert!(checked > 30, "only {checked} messages compared");
    let wsinv = wire_form(
        "wsinv.dat",
        &std::fs::read(shared("torture/rfc4475/wsinv.dat")).expect("readable"),
        port,
    );
    assert!(
        String::from_utf8_lossy(&wsinv).contains(
            "Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2:40000;rport;branch=390skdjuw\r\n"
        ),
        "the folding and LWS of wsinv's top Via are kept"
    );
}

#[test]
fn rfc4475_torture_messages_over_udp_get_the_expected_answers() {
    run_cases("rfc4475", RFC4475, 49);
}

#[test]
fn rfc5118_ipv6_torture_messages_over_udp_get_the_expected_answers() {
    run_cases("rfc5118", RFC5118, 12);
}

/// RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9 over TCP: a framing error closes the connection; a
/// message shorter than its Content-Length waits for the rest, then the connection closes.
#[test]
fn rfc4475_framing_errors_over_tcp_close_the_connection() {
    let mut setup = Setup::new();
    setup.sip_extra.push(format!(
        "tcp_incomplete_timeout_secs = {TCP_INCOMPLETE_SECS}"
    ));
    let server = setup.start();
    let read = |file: &str| {
        std::fs::read(Path::new(&shared("torture/rfc4475")).join(file)).expect("readable")
    };

    // Negative and conflicting Content-Length: no framing is possible; closed at once.
    for file in ["ncl.dat", "mcl01.dat"] {
        let outcome = tcp_exchange(server.addr(), &read(file), Duration::from_secs(5));
        let closed = outcome
            .closed_after
            .unwrap_or_else(|| panic!("{file} over TCP: the connection stayed open"));
        assert!(
            closed < Duration::from_secs(1),
            "{file} over TCP: closed only after {closed:?}"
        );
        // The manifest asks for the close; a 400 before it would be fine, nothing else.
        if !outcome.received.is_empty() {
            let response = support::parse_response(&outcome.received);
            assert_eq!(response.status, 400, "{file} over TCP:\n{response}");
        }
        assert_alive(&server, &format!("{file} over TCP"));
        assert_alive_over_tcp(&server, &format!("{file} over TCP"));
    }

    // Content-Length 9999 with far less body: no response; the server waits for the rest
    // for the configured time, then closes the connection.
    let limit = Duration::from_secs(TCP_INCOMPLETE_SECS);
    let outcome = tcp_exchange(server.addr(), &read("clerr.dat"), limit * 3);
    let closed = outcome
        .closed_after
        .expect("clerr over TCP: the connection is closed after the incomplete-message timeout");
    assert!(
        outcome.received.is_empty(),
        "clerr over TCP: no response expected, got:\n{}",
        String::from_utf8_lossy(&outcome.received)
    );
    assert!(
        closed >= limit - Duration::from_millis(200) && closed <= limit + Duration::from_secs(2),
        "clerr over TCP: closed after {closed:?}, expected about {limit:?}"
    );
    assert_alive(&server, "clerr over TCP");
    assert_alive_over_tcp(&server, "clerr over TCP");
    server.stop();
}
