//! SDP bodies (RFC 4566) for offers and answers, and reading bodies back.

use crossbar_sip::Bytes;

/// An audio session at `ip`:`port` offering PCMU and RFC 4733 telephone events, with
/// `direction` (`sendrecv`, `sendonly`, `recvonly`, `inactive` — RFC 3264 §5.1).
pub fn sdp(ip: &str, port: u16, direction: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na={direction}\r\n"
    )
}

/// A message body as text, for asserts (invalid UTF-8 shown replaced).
pub fn text(body: &Bytes) -> String {
    String::from_utf8_lossy(body).into_owned()
}
