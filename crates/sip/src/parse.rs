//! Parsing SIP messages (RFC 3261 §7, §25): one UDP datagram with [`parse_datagram`], a TCP
//! stream with [`crate::framing::StreamFramer`]. Typed headers and URIs are parsed on demand
//! ([`crate::Uri::parse`], [`crate::Via::parse_list`], [`crate::Headers::from`]...).
//!
//! A parsed message keeps every header line (name and unfolded value) in order, except
//! `Content-Length`: that is framing (§18.3) and becomes the length of the body; printing
//! writes it again from the body, so `parse(encode(m)) == m`.
//!
//! Besides the syntax of the start line and header lines, [`parse_datagram`] checks what any
//! element needs before it can act on a message (§8.1.1, §8.2.2, RFC 4475 §3.1.2, §3.3):
//! the mandatory headers are present and single, `CSeq` is a 32-bit number and (in a
//! request) names the request's method, the top `Via`, `From`, `To` and `Max-Forwards` are
//! well formed, and in a request `Contact` and `Date` too. Anything else (unknown schemes,
//! option tags, media types) is the business of the element, not of the parser.

use bytes::Bytes;

use crate::header::{HeaderName, Headers};
use crate::message::{Message, Request, Response};

pub(crate) mod head;
pub(crate) mod lex;
mod typed;
mod uri;

use head::{ContentLength, Head, HeadScanner, StartLine};

/// Why bytes are not a well-formed SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// The header section, when the message could be split into header lines even though
    /// something else is wrong, so a server can still answer a bad request with 400
    /// (RFC 3261 §8.2, §16.3) using its `Via`, `From`, `To`, `Call-ID` and `CSeq`.
    pub headers: Option<Headers>,
    /// The message was a request (its first line did not start with `SIP/`). `false` for
    /// errors of the typed parsers ([`crate::Uri::parse`]...), which see no message.
    pub is_request: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    #[error("unsupported SIP version")]
    Version,
    #[error("malformed header {name}: {reason}")]
    Header { name: String, reason: &'static str },
    #[error("malformed Request-URI: {0}")]
    RequestUri(&'static str),
    #[error("malformed URI: {0}")]
    Uri(&'static str),
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    #[error("message incomplete")]
    Incomplete,
    #[error("message exceeds limit: {0}")]
    TooLarge(&'static str),
    #[error("missing mandatory header {0}")]
    Missing(&'static str),
    #[error("header {0} must appear once")]
    Duplicate(&'static str),
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    #[error("not valid UTF-8")]
    Encoding,
}

impl ParseErrorKind {
    /// The status a server answers a request that failed this way with.
    pub fn status(&self) -> u16 {
        match self {
            ParseErrorKind::Version => 505,
            ParseErrorKind::TooLarge(_) => 513,
            _ => 400,
        }
    }
}

impl ParseError {
    /// An error of a typed parser, outside any message.
    pub(crate) fn detached(kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            headers: None,
            is_request: false,
        }
    }

    /// The status to answer a request that failed this way with (see
    /// [`ParseErrorKind::status`]).
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

/// Resource limits for one message, checked before anything is allocated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Header lines (folded continuation lines count), not counting the start line.
    pub max_header_lines: usize,
    /// Octets in one line of the head, the line end excluded.
    pub max_line_len: usize,
    /// Octets in the start line and header section together.
    pub max_head_len: usize,
    /// Octets of body.
    pub max_body: usize,
}

impl Default for Limits {
    /// 256 header lines, 8 KiB per line, 64 KiB of head, 1 MiB of body.
    fn default() -> Limits {
        Limits {
            max_header_lines: 256,
            max_line_len: 8 * 1024,
            max_head_len: 64 * 1024,
            max_body: 1024 * 1024,
        }
    }
}

/// Parses one message from one UDP datagram (RFC 3261 §18.3) with the default [`Limits`].
///
/// The body is framed by `Content-Length`: octets after it are ignored (RFC 4475
/// §3.1.1.8); without `Content-Length` the body is the rest of the datagram (§18.3, RFC
/// 4475 §3.4.1); a `Content-Length` larger than what arrived is an error (§3.1.2.2).
pub fn parse_datagram(datagram: &[u8]) -> Result<Message, ParseError> {
    parse_datagram_with(datagram, &Limits::default())
}

/// [`parse_datagram`] with explicit limits.
pub fn parse_datagram_with(datagram: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    // §7.5: CRLFs before the start line are ignored (keep-alives of RFC 5626 §3.5.1 are
    // nothing but CRLFs and so fail below as an empty start line).
    let start = datagram
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(datagram.len());
    let looks_like_request =
        !(datagram.len() >= start + 4 && datagram[start..start + 4].eq_ignore_ascii_case(b"SIP/"));
    let end = HeadScanner::new(start)
        .scan(datagram, limits)
        .map_err(|limit| ParseError {
            kind: ParseErrorKind::TooLarge(limit),
            headers: None,
            is_request: looks_like_request,
        })?;
    let Some(end) = end else {
        // No empty line ends the head (RFC 4475 §3.1.2.15's archive copy): keep what can be
        // read so a server may still answer 400.
        let head = head::parse_head(&datagram[start..]);
        return Err(ParseError {
            kind: ParseErrorKind::Incomplete,
            is_request: head.is_request,
            headers: Some(head.headers),
        });
    };
    let head = head::parse_head(&datagram[start..end.head_end]);
    let rest = &datagram[end.body_start..];
    let body = match head.content_length {
        ContentLength::Absent => rest,
        ContentLength::Value(n) if n <= rest.len() => &rest[..n],
        ContentLength::Value(_) => {
            return Err(head_error(
                head,
                ParseErrorKind::ContentLength("larger than the datagram"),
            ));
        }
        ContentLength::Invalid(reason) => {
            return Err(head_error(head, ParseErrorKind::ContentLength(reason)));
        }
    };
    if body.len() > limits.max_body {
        return Err(head_error(head, ParseErrorKind::TooLarge("body too large")));
    }
    assemble(head, Bytes::copy_from_slice(body))
}

/// An error about a message whose head was split into header lines.
fn head_error(head: Head, kind: ParseErrorKind) -> ParseError {
    // A start-line error comes first: 505 for a bad version wins over anything else.
    let kind = match head.start {
        Err(start_error) => start_error,
        Ok(_) => head.header_error.unwrap_or(kind),
    };
    ParseError {
        kind,
        is_request: head.is_request,
        headers: Some(head.headers),
    }
}

/// Builds the message from a parsed head and its body, after the structural checks.
pub(crate) fn assemble(head: Head, body: Bytes) -> Result<Message, ParseError> {
    let start = match head.start {
        Ok(start) if head.header_error.is_none() => start,
        Ok(_) | Err(_) => {
            // `head_error` picks the start-line error, else the header error.
            return Err(head_error(head, ParseErrorKind::Incomplete));
        }
    };
    if let Err(kind) = check_structure(&start, &head.headers) {
        return Err(ParseError {
            kind,
            is_request: head.is_request,
            headers: Some(head.headers),
        });
    }
    Ok(match start {
        StartLine::Request { method, uri } => Message::Request(Request {
            method,
            uri,
            headers: head.headers,
            body,
        }),
        StartLine::Response { status, reason } => Message::Response(Response {
            status,
            reason,
            headers: head.headers,
            body,
        }),
    })
}

/// Headers that must appear exactly once, with the name errors report.
const SINGLE: [(HeaderName, &str); 5] = [
    (HeaderName::From, "From"),
    (HeaderName::To, "To"),
    (HeaderName::CallId, "Call-ID"),
    (HeaderName::CSeq, "CSeq"),
    (HeaderName::MaxForwards, "Max-Forwards"),
];

/// What every element needs of a message before acting on it (§8.1.1, §8.2.2, §20).
fn check_structure(start: &StartLine, headers: &Headers) -> Result<(), ParseErrorKind> {
    // §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via are mandatory in a request;
    // Max-Forwards may be missing in an RFC 2543 request (RFC 4475 §3.4.1). Responses carry
    // the same headers back (§8.2.6.2) and are matched with them.
    if !headers.contains(&HeaderName::Via) {
        return Err(ParseErrorKind::Missing("Via"));
    }
    for (name, label) in &SINGLE[..4] {
        if !headers.contains(name) {
            return Err(ParseErrorKind::Missing(label));
        }
    }
    // RFC 4475 §3.3.8: several values of a single-valued header, on several lines or
    // comma-separated on one line.
    for (name, label) in &SINGLE {
        let mut values = headers.get_all(name);
        let Some(value) = values.next() else { continue };
        let several = values.next().is_some()
            || match name {
                HeaderName::From | HeaderName::To => lex::split_list(value).nth(1).is_some(),
                _ => value.contains(','),
            };
        if several {
            return Err(ParseErrorKind::Duplicate(label));
        }
    }
    let call_id = headers.call_id().unwrap_or_default();
    if call_id.is_empty() || call_id.bytes().any(|b| b == b' ' || b == b'\t') {
        return Err(ParseErrorKind::Header {
            name: "Call-ID".to_owned(),
            reason: "not a single word",
        });
    }
    // §8.1.1.5: a 32-bit sequence number; in a request, the method of the request.
    let cseq = headers.cseq().map_err(|e| e.kind)?;
    if let StartLine::Request { method, .. } = start
        && cseq.method != *method
    {
        return Err(ParseErrorKind::CSeqMismatch);
    }
    headers.top_via().map_err(|e| e.kind)?;
    headers.from().map_err(|e| e.kind)?;
    headers.to().map_err(|e| e.kind)?;
    headers.max_forwards().map_err(|e| e.kind)?;
    if matches!(start, StartLine::Request { .. }) {
        // A REGISTER's or a dialog's target (RFC 4475 §3.1.2.13).
        headers.contact().map_err(|e| e.kind)?;
        // §20.17: `rfc1123-date` is always in GMT (RFC 4475 §3.1.2.12).
        if let Some(date) = headers.get(&HeaderName::Date)
            && !date.ends_with(" GMT")
        {
            return Err(ParseErrorKind::Header {
                name: "Date".to_owned(),
                reason: "not an rfc1123-date in GMT",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::Method;
    use crate::typed::Contact;
    use crate::uri::{Host, Uri};

    const REGISTER: &str = "REGISTER sip:example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
        Max-Forwards: 70\r\n\
        To: <sip:alice@example.com>\r\n\
        From: <sip:alice@example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.example.com\r\n\
        CSeq: 314159 REGISTER\r\n\
        Contact: <sip:alice@192.0.2.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";

    fn request(text: &str) -> Request {
        match parse_datagram(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn error(text: &[u8]) -> ParseError {
        match parse_datagram(text) {
            Err(e) => e,
            Ok(m) => panic!("expected an error, parsed {m:?}"),
        }
    }

    #[test]
    fn a_register_parses_into_its_parts() {
        let r = request(REGISTER);
        assert_eq!(r.method, Method::Register);
        assert_eq!(
            r.uri.as_sip().unwrap().host,
            Host::Name("example.com".into())
        );
        assert_eq!(r.headers.len(), 7, "Content-Length is not kept as a header");
        assert_eq!(
            r.headers.top_via().unwrap().branch(),
            Some("z9hG4bK776asdhds")
        );
        assert_eq!(r.headers.cseq().unwrap().seq, 314159);
        assert!(matches!(
            r.headers.contact(),
            Ok(Some(Contact::Addresses(_)))
        ));
        assert!(r.body.is_empty());
    }

    #[test]
    fn a_response_parses_and_reprints_identically() {
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>;tag=2\r\n\
                    From: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 2 REGISTER\r\nContent-Length: 0\r\n\r\n";
        let message = parse_datagram(text.as_bytes()).unwrap();
        let Message::Response(response) = &message else {
            panic!("response expected")
        };
        assert_eq!((response.status, response.reason.as_str()), (200, "OK"));
        assert_eq!(String::from_utf8(message.to_bytes()).unwrap(), text);
    }

    #[test]
    fn body_is_framed_by_content_length_and_trailing_octets_ignored() {
        let text = REGISTER.replace("Content-Length: 0", "Content-Length: 4");
        let with_body = format!("{text}a\0b\x01trailing junk");
        let r = request(&with_body);
        assert_eq!(&r.body[..], b"a\0b\x01");
        let without = REGISTER.replace("Content-Length: 0\r\n", "");
        let r = request(&format!("{without}rest of datagram"));
        assert_eq!(&r.body[..], b"rest of datagram");
    }

    #[test]
    fn content_length_errors_are_400_with_headers() {
        for cl in ["9999", "-1", "five", "1, 1"] {
            let text = REGISTER.replace("Content-Length: 0", &format!("Content-Length: {cl}"));
            let e = error(text.as_bytes());
            assert!(
                matches!(e.kind, ParseErrorKind::ContentLength(_)),
                "{cl}: {e:?}"
            );
            assert_eq!(e.status(), 400);
            assert!(e.headers.unwrap().contains(&HeaderName::Via));
            assert!(e.is_request);
        }
        let text = REGISTER.replace("Content-Length: 0", "Content-Length: 0\r\nl: 1");
        assert!(matches!(
            error(text.as_bytes()).kind,
            ParseErrorKind::ContentLength(_)
        ));
        let text = REGISTER.replace("Content-Length: 0", "Content-Length: 0\r\nl: 0");
        request(&text);
    }

    #[test]
    fn structural_errors() {
        let cases: [(&str, &str, ParseErrorKind); 8] = [
            (
                "Call-ID: a84b4c76e66710@pc33.example.com\r\n",
                "",
                ParseErrorKind::Missing("Call-ID"),
            ),
            (
                "CSeq: 314159 REGISTER",
                "CSeq: 314159 INVITE",
                ParseErrorKind::CSeqMismatch,
            ),
            (
                "Max-Forwards: 70",
                "Max-Forwards: 70\r\nMax-Forwards: 69",
                ParseErrorKind::Duplicate("Max-Forwards"),
            ),
            (
                "To: <sip:alice@example.com>",
                "To: <sip:a@x>, <sip:b@y>",
                ParseErrorKind::Duplicate("To"),
            ),
            (
                "Call-ID: a84b4c76e66710@pc33.example.com",
                "i: a, b",
                ParseErrorKind::Duplicate("Call-ID"),
            ),
            (
                "Max-Forwards: 70",
                "Max-Forwards: seventy",
                ParseErrorKind::Header {
                    name: "Max-Forwards".into(),
                    reason: "not a 32-bit number",
                },
            ),
            (
                "CSeq: 314159 REGISTER",
                "CSeq: 4294967296 REGISTER",
                ParseErrorKind::Header {
                    name: "CSeq".into(),
                    reason: "sequence number exceeds 2^32-1",
                },
            ),
            (
                "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n",
                "",
                ParseErrorKind::Missing("Via"),
            ),
        ];
        for (from, to, kind) in cases {
            let e = error(REGISTER.replacen(from, to, 1).as_bytes());
            assert_eq!(e.kind, kind, "{from} -> {to}");
            assert!(e.headers.is_some());
        }
    }

    #[test]
    fn version_errors_win_and_keep_the_headers() {
        let e = error(
            REGISTER
                .replace("sip:example.com SIP/2.0", "sip:example.com SIP/7.0")
                .as_bytes(),
        );
        assert_eq!(e.kind, ParseErrorKind::Version);
        assert_eq!(e.status(), 505);
        assert!(e.headers.is_some());
    }

    #[test]
    fn head_without_an_empty_line_is_incomplete() {
        let text = REGISTER.trim_end_matches("\r\n");
        let e = error(text.as_bytes());
        assert_eq!(e.kind, ParseErrorKind::Incomplete);
        assert!(e.headers.unwrap().contains(&HeaderName::CallId));
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_header_lines: 3,
            ..Limits::default()
        };
        let e = parse_datagram_with(REGISTER.as_bytes(), &limits).unwrap_err();
        assert_eq!(e.kind.status(), 513);
        let long = REGISTER.replace("Max-Forwards: 70", &format!("X-Long: {}", "a".repeat(9000)));
        assert!(matches!(
            error(long.as_bytes()).kind,
            ParseErrorKind::TooLarge(_)
        ));
    }

    #[test]
    fn garbage_never_panics_and_is_an_error() {
        for junk in [
            &b""[..],
            b"\r\n\r\n",
            b"\0\0\0",
            b"SIP/",
            b"SIP/2.0 ",
            b"\xff\xfe\r\n\r\n",
            b"A B C\r\n\r\n",
        ] {
            assert!(parse_datagram(junk).is_err());
        }
    }

    #[test]
    fn leading_crlfs_are_skipped() {
        let r = request(&format!("\r\n\r\n{REGISTER}"));
        assert_eq!(r.method, Method::Register);
        let Uri::Sip(_) = r.uri else {
            panic!("sip uri expected")
        };
    }
}
