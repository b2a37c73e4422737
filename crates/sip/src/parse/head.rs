//! The message head: finding where it ends (the empty line, RFC 3261 §7), splitting it into
//! the start line (§7.1, §7.2) and header lines (§7.3), unfolding (§7.3.1), and reading
//! `Content-Length` (§20.14) for framing (§18.3).

use memchr::memchr;

use crate::header::{HeaderName, Headers};
use crate::method::Method;
use crate::parse::lex::{is_token, is_token_byte, is_wsp};
use crate::parse::uri::parse_uri;
use crate::parse::{Limits, ParseErrorKind};
use crate::uri::Uri;

/// Where the head of a message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadEnd {
    /// Index just past the LF of the last header line (the head, without the empty line).
    pub head_end: usize,
    /// Index just past the empty line: the first octet of the body.
    pub body_start: usize,
}

/// Finds the empty line that ends a head, a line at a time, enforcing [`Limits`]. It keeps
/// its position, so a stream can feed it more bytes and it resumes where it stopped.
#[derive(Debug, Clone)]
pub(crate) struct HeadScanner {
    head_start: usize,
    pos: usize,
    lines: usize,
}

impl HeadScanner {
    pub fn new(head_start: usize) -> HeadScanner {
        HeadScanner {
            head_start,
            pos: head_start,
            lines: 0,
        }
    }

    /// Scans `buf` (the same buffer as before, possibly longer) for the end of the head.
    /// Lines end with LF, optionally preceded by CR. `Err` names the limit exceeded.
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<HeadEnd>, &'static str> {
        loop {
            let Some(offset) = buf.get(self.pos..).and_then(|rest| memchr(b'\n', rest)) else {
                let partial = buf.len().saturating_sub(self.pos);
                if partial > limits.max_line_len {
                    return Err("header line too long");
                }
                if buf.len().saturating_sub(self.head_start) > limits.max_head_len {
                    return Err("header section too large");
                }
                return Ok(None);
            };
            let lf = self.pos + offset;
            let line = strip_cr(&buf[self.pos..lf]);
            if line.is_empty() {
                return Ok(Some(HeadEnd {
                    head_end: self.pos,
                    body_start: lf + 1,
                }));
            }
            if line.len() > limits.max_line_len {
                return Err("header line too long");
            }
            self.lines += 1;
            if self.lines > limits.max_header_lines.saturating_add(1) {
                return Err("too many header lines");
            }
            self.pos = lf + 1;
            if self.pos - self.head_start > limits.max_head_len {
                return Err("header section too large");
            }
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_wsp_bytes(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_wsp(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_wsp(*last)
    {
        s = rest;
    }
    s
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: u16, reason: String },
}

/// What the framing headers say about the body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentLength {
    Absent,
    Value(usize),
    /// Negative, non-numeric, overlarge, or two differing values (RFC 4475 §3.1.2.3, §3.3.9).
    Invalid(&'static str),
}

/// A head split into its parts. Errors are recorded, not returned early, so that the header
/// lines are still available to answer a bad request (§8.2, §21.4.1).
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub start: Result<StartLine, ParseErrorKind>,
    pub is_request: bool,
    /// Every header line except `Content-Length`, which is framing: it becomes the length
    /// of the body, and printing writes it again from the body.
    pub headers: Headers,
    /// The first malformed header line.
    pub header_error: Option<ParseErrorKind>,
    pub content_length: ContentLength,
}

/// Parses a head: `head` holds the start line and header lines (each ended by LF or CRLF),
/// without the empty line.
pub(crate) fn parse_head(head: &[u8]) -> Head {
    let mut lines = Lines { rest: head };
    let first = lines.next().unwrap_or_default();
    let is_request = !(first.len() >= 4 && first[..4].eq_ignore_ascii_case(b"SIP/"));
    let start = std::str::from_utf8(first)
        .map_err(|_| ParseErrorKind::Encoding)
        .and_then(|line| parse_start_line(line, is_request));

    let mut headers = Headers(Vec::with_capacity(16));
    let mut header_error = None;
    let mut content_length = ContentLength::Absent;
    // The header being collected: folded lines are appended to it.
    let mut current: Option<(HeaderName, String)> = None;
    let record = |error: ParseErrorKind, slot: &mut Option<ParseErrorKind>| {
        if slot.is_none() {
            *slot = Some(error);
        }
    };

    for line in lines {
        if memchr(b'\r', line).is_some() {
            record(header_error_kind(line, "bare CR"), &mut header_error);
            continue;
        }
        if is_wsp(line[0]) {
            // §7.3.1: a line starting with white space continues the previous header; the
            // fold (`*WSP CRLF 1*WSP`) is replaced by a single SP.
            let Some((_, value)) = current.as_mut() else {
                record(
                    header_error_kind(line, "continuation line without a header"),
                    &mut header_error,
                );
                continue;
            };
            match std::str::from_utf8(trim_wsp_bytes(line)) {
                Ok("") => {}
                Ok(more) => {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
                Err(_) => record(ParseErrorKind::Encoding, &mut header_error),
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            store(&mut headers, &mut content_length, name, value);
        }
        let Some(colon) = memchr(b':', line) else {
            record(header_error_kind(line, "missing ':'"), &mut header_error);
            continue;
        };
        let name = trim_wsp_bytes(&line[..colon]);
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            record(
                header_error_kind(line, "malformed header name"),
                &mut header_error,
            );
            continue;
        }
        let (Ok(name), Ok(value)) = (
            std::str::from_utf8(name),
            std::str::from_utf8(trim_wsp_bytes(&line[colon + 1..])),
        ) else {
            record(ParseErrorKind::Encoding, &mut header_error);
            continue;
        };
        current = Some((HeaderName::from_wire(name), value.to_owned()));
    }
    if let Some((name, value)) = current.take() {
        store(&mut headers, &mut content_length, name, value);
    }

    Head {
        start,
        is_request,
        headers,
        header_error,
        content_length,
    }
}

/// An error about the header line `line`, named by what precedes its colon.
fn header_error_kind(line: &[u8], reason: &'static str) -> ParseErrorKind {
    let name_end = memchr(b':', line).unwrap_or(line.len()).min(64);
    ParseErrorKind::Header {
        name: String::from_utf8_lossy(trim_wsp_bytes(&line[..name_end])).into_owned(),
        reason,
    }
}

fn store(
    headers: &mut Headers,
    content_length: &mut ContentLength,
    name: HeaderName,
    value: String,
) {
    if name == HeaderName::ContentLength {
        *content_length = match (*content_length, parse_content_length(&value)) {
            (ContentLength::Invalid(reason), _) | (_, Err(reason)) => {
                ContentLength::Invalid(reason)
            }
            (ContentLength::Absent, Ok(n)) => ContentLength::Value(n),
            (ContentLength::Value(m), Ok(n)) if m == n => ContentLength::Value(m),
            (ContentLength::Value(_), Ok(_)) => ContentLength::Invalid("conflicting values"),
        };
    } else {
        headers.0.push(crate::header::Header { name, value });
    }
}

/// `Content-Length = 1*DIGIT` (§20.14). Never used before it is checked against the bytes
/// that actually arrived.
fn parse_content_length(value: &str) -> Result<usize, &'static str> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if value.starts_with('-') {
            "negative"
        } else {
            "not a number"
        });
    }
    let significant = value.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    significant.parse().map_err(|_| "too large")
}

struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match memchr(b'\n', self.rest) {
            Some(lf) => (&self.rest[..lf], &self.rest[lf + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        let line = strip_cr(line);
        // The head holds no empty line (it ends the head), except by a caller's mistake.
        if line.is_empty() {
            self.rest = &[];
            return None;
        }
        Some(line)
    }
}

/// `SIP-Version` (§7.1): `SIP/2.0`, case-insensitively. Another `SIP/x` is a version we do
/// not support (505, §21.5.6); anything else is not a start line.
fn check_version(version: &str) -> Result<(), ParseErrorKind> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let bytes = version.as_bytes();
    if bytes.len() > 4 && bytes[..4].eq_ignore_ascii_case(b"SIP/") {
        Err(ParseErrorKind::Version)
    } else {
        Err(ParseErrorKind::StartLine("not a SIP version"))
    }
}

/// `Request-Line = Method SP Request-URI SP SIP-Version` (§7.1);
/// `Status-Line = SIP-Version SP Status-Code SP Reason-Phrase` (§7.2).
///
/// Liberal where RFC 4475 allows it: several SP between the request-line elements
/// (§3.1.2.9) and SP before the line end (§3.1.2.10) are ignored; they never reach the
/// wire again since the start line is printed from its parts. White space inside the
/// Request-URI (§3.1.2.8), `<...>` around it (§3.1.2.7) and URI headers in it (§3.1.2.11,
/// §19.1.1 table 1) are rejected.
fn parse_start_line(line: &str, is_request: bool) -> Result<StartLine, ParseErrorKind> {
    if !is_request {
        let (version, rest) = line
            .split_once(' ')
            .ok_or(ParseErrorKind::StartLine("missing status code"))?;
        check_version(version)?;
        let bytes = rest.as_bytes();
        let three_digits = bytes.len() >= 3 && bytes[..3].iter().all(u8::is_ascii_digit);
        if !three_digits || bytes.get(3).is_some_and(|&b| b != b' ') {
            return Err(ParseErrorKind::StartLine("status code is not three digits"));
        }
        let status = bytes[..3]
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if !(100..=699).contains(&status) {
            return Err(ParseErrorKind::StartLine("status code out of range"));
        }
        let reason = rest.get(4..).unwrap_or_default();
        return Ok(StartLine::Response {
            status,
            reason: reason.to_owned(),
        });
    }

    let (method, rest) = line
        .split_once(' ')
        .ok_or(ParseErrorKind::StartLine("missing Request-URI"))?;
    if !is_token(method) {
        return Err(ParseErrorKind::StartLine("malformed method"));
    }
    let rest = rest.trim_end_matches(' ');
    let (uri_text, version) = rest
        .rsplit_once(' ')
        .ok_or(ParseErrorKind::StartLine("missing SIP version"))?;
    check_version(version)?;
    let uri_text = uri_text.trim_matches(' ');
    if uri_text.is_empty() {
        return Err(ParseErrorKind::RequestUri("empty"));
    }
    if uri_text.starts_with('<') {
        return Err(ParseErrorKind::RequestUri("enclosed in <>"));
    }
    if uri_text.bytes().any(|b| b == b' ' || b == b'\t') {
        return Err(ParseErrorKind::RequestUri("contains white space"));
    }
    let uri = parse_uri(uri_text).map_err(ParseErrorKind::RequestUri)?;
    if let Uri::Sip(sip) = &uri
        && !sip.headers.is_empty()
    {
        return Err(ParseErrorKind::RequestUri("headers are not allowed"));
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: impl AsRef<[u8]>) -> Head {
        parse_head(text.as_ref())
    }

    #[test]
    fn folded_lines_are_joined_with_one_space() {
        let h = head(
            "OPTIONS sip:a@b SIP/2.0\r\nSubject: one  \r\n  two\r\n\tthree\r\nY-Test: \r\n y\r\n",
        );
        assert_eq!(h.headers.get(&HeaderName::Subject), Some("one two three"));
        assert_eq!(
            h.headers.get(&HeaderName::Other("y-test".into())),
            Some("y")
        );
        assert_eq!(h.header_error, None);
    }

    #[test]
    fn content_length_is_taken_out_of_the_headers() {
        let h = head("SIP/2.0 200 OK\r\nl: 12\r\nContent-Length : 0012\r\n");
        assert_eq!(h.content_length, ContentLength::Value(12));
        assert!(h.headers.is_empty());
        for (value, reason) in [
            ("-999", "negative"),
            ("five", "not a number"),
            ("", "not a number"),
            ("99999999999999999999999", "too large"),
        ] {
            let h = head(format!("SIP/2.0 200 OK\r\nContent-Length: {value}\r\n"));
            assert_eq!(h.content_length, ContentLength::Invalid(reason), "{value}");
        }
        let h = head("SIP/2.0 200 OK\r\nContent-Length: 13\r\nContent-Length: 5\r\n");
        assert_eq!(
            h.content_length,
            ContentLength::Invalid("conflicting values")
        );
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            head("SIP/2.0 100 \r\n").start,
            Ok(StartLine::Response {
                status: 100,
                reason: String::new()
            })
        );
        assert_eq!(
            head("sip/2.0 180\r\n").start,
            Ok(StartLine::Response {
                status: 180,
                reason: String::new()
            })
        );
        assert_eq!(
            head("SIP/7.0 200 OK\r\n").start,
            Err(ParseErrorKind::Version)
        );
        assert_eq!(
            head("INVITE sip:a@b SIP/7.0\r\n").start,
            Err(ParseErrorKind::Version)
        );
        for bad in [
            "SIP/2.0 4294967301 big\r\n",
            "SIP/2.0 099 low\r\n",
            "SIP/2.0 700 high\r\n",
            "SIP/2.0 20 short\r\n",
            "SIP/2.0\r\n",
            "INVITE\r\n",
            "INVITE sip:a@b\r\n",
            "IN(VITE sip:a@b SIP/2.0\r\n",
            "INVITE sip:a@b HTTP/1.1\r\n",
        ] {
            assert!(head(bad).start.is_err(), "{bad:?}");
        }
        assert!(matches!(
            head("INVITE  sip:a@b  SIP/2.0  \r\n").start,
            Ok(StartLine::Request { .. })
        ));
        for bad_uri in [
            "INVITE <sip:a@b> SIP/2.0\r\n",
            "INVITE sip:a@b; lr SIP/2.0\r\n",
            "INVITE sip:a@b?Route=x SIP/2.0\r\n",
            "REGISTER sip:2001:db8::10 SIP/2.0\r\n",
        ] {
            assert!(
                matches!(head(bad_uri).start, Err(ParseErrorKind::RequestUri(_))),
                "{bad_uri:?}"
            );
        }
    }

    #[test]
    fn malformed_header_lines_are_recorded_and_the_rest_kept() {
        let h = head(b"OPTIONS sip:a@b SIP/2.0\r\n continued\r\nno colon\r\nVia: x\r\nBad Name: y\r\nA: \xff\r\n");
        assert!(matches!(
            h.header_error,
            Some(ParseErrorKind::Header { .. })
        ));
        assert_eq!(h.headers.get(&HeaderName::Via), Some("x"));
        let h = head(b"OPTIONS sip:a@b SIP/2.0\r\nA: \xff\r\n");
        assert_eq!(h.header_error, Some(ParseErrorKind::Encoding));
        let h = head("OPTIONS sip:a@b SIP/2.0\r\nA: x\ry\r\n");
        assert!(h.header_error.is_some());
    }

    #[test]
    fn scanner_finds_the_empty_line_incrementally() {
        let limits = Limits::default();
        let text = b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\nbody";
        let mut scanner = HeadScanner::new(0);
        for end in 0..text.len() {
            match scanner.scan(&text[..end], &limits) {
                Ok(None) => {}
                Ok(Some(found)) => {
                    assert_eq!(end, 35);
                    assert_eq!(
                        found,
                        HeadEnd {
                            head_end: 33,
                            body_start: 35
                        }
                    );
                    return;
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the end of the head was not found");
    }

    #[test]
    fn scanner_enforces_limits() {
        let limits = Limits {
            max_header_lines: 2,
            max_line_len: 20,
            max_head_len: 60,
            max_body: 10,
        };
        let mut s = HeadScanner::new(0);
        assert!(
            s.scan(b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", &limits)
                .is_err()
        );
        let mut s = HeadScanner::new(0);
        assert!(s.scan(b"A: 1234567890123456789012345", &limits).is_err());
        let mut s = HeadScanner::new(0);
        assert_eq!(
            s.scan(b"A: 1\r\nB: 2\r\n\r\n", &limits)
                .map(|e| e.is_some()),
            Ok(true)
        );
    }
}
