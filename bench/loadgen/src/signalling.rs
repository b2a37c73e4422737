//! What the caller and the callee share: identifiers, message parsing, digest answers, and
//! the SDP they offer and answer with.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbar_auth::{Answer, DigestChallenge};
use crossbar_sip::{HeaderName, Message, Response};

/// RFC 3261 §17.1.1.1: T1, the first retransmission interval; T2 caps the doubling for
/// non-INVITE requests and 2xx retransmissions.
pub const T1: Duration = Duration::from_millis(500);
pub const T2: Duration = Duration::from_secs(4);
/// A transaction without a final response after this long (64·T1) has failed.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(32);

/// Process-unique tokens for branches, tags and Call-IDs.
pub fn token(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{kind}{:x}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A branch with RFC 3261 §8.1.1.7's magic cookie.
pub fn branch() -> String {
    format!("z9hG4bK{}", token("lg"))
}

/// An extension's SIP credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    /// The `username=... password=...` entries of a SIPp injection file (`users.csv`), in
    /// order.
    pub fn from_sipp_csv(text: &str) -> Vec<Credentials> {
        text.lines()
            .filter_map(|line| {
                let field = |name: &str| {
                    let start = line.find(&format!("{name}="))? + name.len() + 1;
                    let value = &line[start..];
                    let end = value.find([' ', ']', ';']).unwrap_or(value.len());
                    Some(value[..end].to_owned())
                };
                Some(Credentials {
                    username: field("username")?,
                    password: field("password")?,
                })
            })
            .collect()
    }

    /// The `(Proxy-)Authorization` header (name, value) answering the challenge of a 401 or
    /// 407 for `method` on `uri`; `None` if it carries no usable Digest challenge.
    pub fn answer(
        &self,
        response: &Response,
        method: &str,
        uri: &str,
    ) -> Option<(&'static str, String)> {
        let (challenge, credentials) = if response.status == 407 {
            (HeaderName::ProxyAuthenticate, "Proxy-Authorization")
        } else {
            (HeaderName::WwwAuthenticate, "Authorization")
        };
        let value = response.headers.get(&challenge)?;
        let challenge = DigestChallenge::parse(value).ok()??;
        let authorization = challenge.authorization(&Answer {
            method,
            uri,
            username: &self.username,
            password: &self.password,
            cnonce: &token("c"),
            nonce_count: 1,
        });
        Some((credentials, authorization))
    }
}

/// An SDP offer or answer: PCMU and telephone-event at `rtp`.
pub fn sdp(rtp: SocketAddr) -> String {
    format!(
        "v=0\r\no=crossbar-loadgen {port} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
}

/// Where the far end wants RTP: the first audio stream of an SDP body.
pub fn media_destination(body: &[u8]) -> Option<SocketAddr> {
    crossbar_sdp::SessionDescription::parse(body)
        .ok()?
        .media_destination(0)
}

/// A datagram from the server, parsed; `None` (and a note on stderr) when it does not parse.
pub fn parse(datagram: &[u8]) -> Option<Message> {
    match crossbar_sip::parse_datagram(datagram) {
        Ok(message) => Some(message),
        Err(error) => {
            eprintln!("loadgen: unparsable datagram from the server: {error}");
            None
        }
    }
}

/// The value of the `tag` parameter of a response's `To`.
pub fn to_tag(response: &Response) -> Option<String> {
    response
        .headers
        .to()
        .ok()
        .and_then(|to| to.tag().map(str::to_owned))
}

/// The first Contact URI of a message's headers.
pub fn contact_uri(headers: &crossbar_sip::Headers) -> Option<String> {
    match headers.contact() {
        Ok(Some(crossbar_sip::Contact::Addresses(list))) => list.first().map(|c| c.uri.to_string()),
        _ => None,
    }
}
