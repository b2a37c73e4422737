//! Parsing the typed headers (RFC 3261 §20) on demand: `Via`, `name-addr`/`addr-spec`
//! values (`From`, `To`, `Contact`, `Route`...), `CSeq`, and the accessors on [`Headers`]
//! that find and parse them.

use crate::header::{HeaderName, Headers};
use crate::method::Method;
use crate::parse::lex::{
    is_token, is_token_byte, is_wsp, parse_header_params, quoted_end, skip_wsp, split_list,
    trim_lws,
};
use crate::parse::uri::{parse_host, parse_port, parse_uri};
use crate::parse::{ParseError, ParseErrorKind};
use crate::typed::{CSeq, Contact, NameAddr, Via};

fn header_error(name: &str, reason: &'static str) -> ParseError {
    ParseError::detached(ParseErrorKind::Header {
        name: name.to_owned(),
        reason,
    })
}

impl Via {
    /// Parses one `via-parm` (§20.42, §25.1): `sent-protocol LWS sent-by *( SEMI via-params )`.
    /// LWS is allowed around `/`, `:`, `;` and `=`. The sent-by host may be a bracketed IPv6
    /// reference; `received` may carry an IPv6 address with or without brackets (RFC 5118
    /// §4.5). Unknown transports are kept (upper-cased).
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        parse_via(s).map_err(|reason| header_error("Via", reason))
    }

    /// Parses a `Via` header value: one or more comma-separated `via-parm`s.
    pub fn parse_list(s: &str) -> Result<Vec<Via>, ParseError> {
        split_list(s).map(Via::parse).collect()
    }

    /// The `received` parameter as an address (RFC 3261 §18.2.1), with or without the
    /// brackets some senders put around an IPv6 address (RFC 5118 §4.5).
    pub fn received_ip(&self) -> Option<std::net::IpAddr> {
        let received = self.received()?;
        let bare = received
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(received);
        bare.parse().ok()
    }
}

/// Reads a `token` starting at `i`; returns it and the index after it.
fn take_token(s: &str, i: usize) -> Result<(&str, usize), &'static str> {
    let bytes = s.as_bytes();
    let mut end = i;
    while end < bytes.len() && is_token_byte(bytes[end]) {
        end += 1;
    }
    if end == i {
        return Err("expected a token");
    }
    Ok((&s[i..end], end))
}

fn expect_slash(bytes: &[u8], i: usize) -> Result<usize, &'static str> {
    let i = skip_wsp(bytes, i);
    if bytes.get(i) != Some(&b'/') {
        return Err("expected '/' in sent-protocol");
    }
    Ok(skip_wsp(bytes, i + 1))
}

fn parse_via(s: &str) -> Result<Via, &'static str> {
    let bytes = s.as_bytes();
    let i = skip_wsp(bytes, 0);
    let (name, i) = take_token(s, i)?;
    let i = expect_slash(bytes, i)?;
    let (version, i) = take_token(s, i)?;
    let i = expect_slash(bytes, i)?;
    let (transport, i) = take_token(s, i)?;
    if !bytes.get(i).copied().is_some_and(is_wsp) {
        return Err("expected white space before sent-by");
    }
    let i = skip_wsp(bytes, i);
    let (host, after_host) = parse_host(&s[i..])?;
    let after_host_bytes = after_host.as_bytes();
    let j = skip_wsp(after_host_bytes, 0);
    let (port, params_text) = if after_host_bytes.get(j) == Some(&b':') {
        let port_start = skip_wsp(after_host_bytes, j + 1);
        let port_end = after_host_bytes[port_start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(after_host.len(), |n| port_start + n);
        (
            Some(parse_port(&after_host[port_start..port_end])?),
            &after_host[port_end..],
        )
    } else {
        (None, after_host)
    };
    let params = parse_header_params(params_text)?;
    let protocol = if name == "SIP" && version == "2.0" {
        "SIP/2.0".to_owned()
    } else {
        format!("{name}/{version}")
    };
    Ok(Via {
        protocol,
        transport: transport.to_ascii_uppercase(),
        host,
        port,
        params,
    })
}

impl NameAddr {
    /// Parses a `name-addr` or `addr-spec` followed by header parameters (§20.10, §20.20,
    /// §20.39, §25.1), as in `From`, `To`, `Contact`, `Route`:
    ///
    /// - `"Quoted \"name\"" <uri>;tag=x`: the display name keeps its quoted-pairs;
    /// - `token display <uri>`, also without white space before `<` (RFC 4475 §3.1.1.6);
    /// - `uri;tag=x` without `<>`: every `;param` is a header parameter, not a URI
    ///   parameter (§20.10, RFC 4475 §3.3.12). Such a URI may not contain `?` (§20).
    ///
    /// Spaces inside `<...>` and unterminated quotes are rejected (RFC 4475 §3.1.2.6, 14).
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        parse_name_addr(s).map_err(|reason| header_error("name-addr", reason))
    }

    /// Parses a comma-separated list of `NameAddr`s (`Contact`, `Route`, `Record-Route`...).
    pub fn parse_list(s: &str) -> Result<Vec<NameAddr>, ParseError> {
        split_list(s).map(NameAddr::parse).collect()
    }
}

fn parse_name_addr(s: &str) -> Result<NameAddr, &'static str> {
    let s = trim_lws(s);
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err("empty address");
    }
    if bytes[0] == b'"' {
        let end = quoted_end(bytes, 0).ok_or("unterminated quoted display name")?;
        let display = s[1..end - 1].to_owned();
        let lt = skip_wsp(bytes, end);
        if bytes.get(lt) != Some(&b'<') {
            return Err("expected '<' after the display name");
        }
        return angle_addr(s, lt, Some(display));
    }
    if let Some(lt) = s.find('<') {
        let display = trim_lws(&s[..lt]);
        if !display.bytes().all(|b| is_token_byte(b) || is_wsp(b)) {
            return Err("display name is neither a token list nor quoted");
        }
        let display = (!display.is_empty()).then(|| display.to_owned());
        return angle_addr(s, lt, display);
    }
    let uri_end = s.find(';').unwrap_or(s.len());
    let uri_text = trim_lws(&s[..uri_end]);
    if uri_text.contains('?') {
        return Err("a URI with headers must be enclosed in <>");
    }
    Ok(NameAddr {
        display: None,
        uri: parse_uri(uri_text)?,
        params: parse_header_params(&s[uri_end..])?,
    })
}

/// The `<uri>` starting at `lt` and the header parameters after it.
fn angle_addr(s: &str, lt: usize, display: Option<String>) -> Result<NameAddr, &'static str> {
    let gt = s[lt..].find('>').ok_or("missing '>'")? + lt;
    Ok(NameAddr {
        display,
        uri: parse_uri(&s[lt + 1..gt])?,
        params: parse_header_params(&s[gt + 1..])?,
    })
}

impl CSeq {
    /// Parses `CSeq = 1*DIGIT LWS Method` (§20.16). The number must fit 32 bits
    /// (§8.1.1.5); leading zeros are allowed (`0009` is 9).
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        parse_cseq(s).map_err(|reason| header_error("CSeq", reason))
    }
}

fn parse_cseq(s: &str) -> Result<CSeq, &'static str> {
    let s = trim_lws(s);
    let bytes = s.as_bytes();
    let digits_end = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .ok_or("missing method")?;
    if digits_end == 0 {
        return Err("missing sequence number");
    }
    if !is_wsp(bytes[digits_end]) {
        return Err("expected white space after the sequence number");
    }
    let seq = parse_u32(&s[..digits_end]).ok_or("sequence number exceeds 2^32-1")?;
    let method = trim_lws(&s[digits_end..]);
    if !is_token(method) {
        return Err("malformed method");
    }
    Ok(CSeq {
        seq,
        method: Method::from_token(method),
    })
}

/// A decimal number of any length (leading zeros allowed) that fits a `u32`.
pub(crate) fn parse_u32(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    if significant.is_empty() {
        return Some(0);
    }
    significant.parse().ok()
}

impl Contact {
    /// Parses a `Contact` value (§20.10): `*` or a list of addresses.
    pub fn parse(s: &str) -> Result<Contact, ParseError> {
        let s = trim_lws(s);
        if s == "*" {
            return Ok(Contact::Star);
        }
        NameAddr::parse_list(s)
            .map(Contact::Addresses)
            .map_err(|e| header_error("Contact", reason_of(&e)))
    }
}

/// The reason text of a typed-header error, to re-label it with the header's name.
fn reason_of(error: &ParseError) -> &'static str {
    match &error.kind {
        ParseErrorKind::Header { reason, .. } => reason,
        ParseErrorKind::Uri(reason) => reason,
        _ => "malformed value",
    }
}

fn relabel(name: &'static str) -> impl Fn(ParseError) -> ParseError {
    move |e| header_error(name, reason_of(&e))
}

/// Typed accessors (parsed on demand; parse errors name the header).
impl Headers {
    /// Every `Via` value, in order, across all `Via` lines (§20.42).
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let mut vias = Vec::new();
        for value in self.get_all(&HeaderName::Via) {
            for item in split_list(value) {
                vias.push(Via::parse(item)?);
            }
        }
        Ok(vias)
    }

    /// The topmost `Via` value: the first value of the first `Via` line.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let value = self
            .get(&HeaderName::Via)
            .ok_or_else(|| ParseError::detached(ParseErrorKind::Missing("Via")))?;
        let first = split_list(value).next().unwrap_or_default();
        Via::parse(first)
    }

    /// The `From` address (§20.20).
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::From, "From")
    }

    /// The `To` address (§20.39).
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::To, "To")
    }

    fn single_name_addr(
        &self,
        name: &HeaderName,
        label: &'static str,
    ) -> Result<NameAddr, ParseError> {
        let value = self
            .get(name)
            .ok_or_else(|| ParseError::detached(ParseErrorKind::Missing(label)))?;
        NameAddr::parse(value).map_err(relabel(label))
    }

    /// The `Call-ID` (§20.8), as received.
    pub fn call_id(&self) -> Option<&str> {
        self.get(&HeaderName::CallId)
    }

    /// The `CSeq` (§20.16).
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let value = self
            .get(&HeaderName::CSeq)
            .ok_or_else(|| ParseError::detached(ParseErrorKind::Missing("CSeq")))?;
        CSeq::parse(value)
    }

    /// Every `Contact` value across all lines (§20.10); `None` when there is no `Contact`.
    /// `*` must be the only value.
    pub fn contact(&self) -> Result<Option<Contact>, ParseError> {
        let mut addresses = Vec::new();
        let mut star = false;
        let mut any = false;
        for value in self.get_all(&HeaderName::Contact) {
            any = true;
            match Contact::parse(value)? {
                Contact::Star => star = true,
                Contact::Addresses(list) => addresses.extend(list),
            }
        }
        match (any, star) {
            (false, _) => Ok(None),
            (true, true) if addresses.is_empty() && self.count(&HeaderName::Contact) == 1 => {
                Ok(Some(Contact::Star))
            }
            (true, true) => Err(header_error("Contact", "'*' must be the only value")),
            (true, false) => Ok(Some(Contact::Addresses(addresses))),
        }
    }

    /// `Max-Forwards` (§20.22): `None` when absent; an error when it is not a number.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        match self.get(&HeaderName::MaxForwards) {
            None => Ok(None),
            Some(value) => parse_u32(trim_lws(value))
                .map(Some)
                .ok_or_else(|| header_error("Max-Forwards", "not a 32-bit number")),
        }
    }

    /// `Expires` in seconds (§20.19); `None` when absent, malformed or above 2^32-1
    /// (RFC 4475 §3.1.2.4: treat as absent rather than wrap).
    pub fn expires(&self) -> Option<u32> {
        parse_u32(trim_lws(self.get(&HeaderName::Expires)?))
    }

    /// The `Content-Type` media type, as received (§20.15).
    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType)
    }

    /// The comma-separated tokens of every line called `name`, trimmed, empty ones skipped:
    /// for `Allow`, `Supported`, `Require`, `Proxy-Require`, `Unsupported` (§20.5, §20.37).
    pub fn tokens<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(|value| value.split(','))
            .map(trim_lws)
            .filter(|token| !token.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::{Host, Uri};

    #[test]
    fn via_tolerates_lws_everywhere_the_grammar_allows() {
        let via = Via::parse("SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(via.protocol, "SIP/2.0");
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.host, Host::V4("192.0.2.2".parse().unwrap()));
        assert_eq!(via.branch(), Some("390skdjuw"));

        let list = Via::parse_list(
            "SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8  , \
             SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].host, Host::Name("spindle.example.com".into()));
        assert_eq!(list[0].transport, "TCP");
        assert_eq!(list[1].branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn via_ports_rport_and_received_in_both_ipv6_forms() {
        let via = Via::parse("SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];rport")
            .unwrap();
        assert_eq!(via.port, Some(6050));
        assert_eq!(via.received_ip(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(via.rport(), Some(None));
        let via = Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255").unwrap();
        assert_eq!(via.received(), Some("2001:db8::9:255"));
        let via = Via::parse("SIP/2.0/sctp host : 5060 ;branch=z9hG4bK1").unwrap();
        assert_eq!((via.transport.as_str(), via.port), ("SCTP", Some(5060)));
    }

    #[test]
    fn malformed_vias_are_rejected() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0 192.0.2.1",
            "SIP/2.0/UDP 2001:db8::1",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDPhost",
            "SIP/2.0/UDP host;branch=",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Via::parse_list("SIP/2.0/UDP a;branch=1,,").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let quoted = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(quoted.display.as_deref(), Some(r#"J Rosenberg \\\""#));
        assert_eq!(quoted.tag(), Some("98asjd8"));

        let token = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(token.display.as_deref(), Some("caller"));

        let bare = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(bare.params.contains("unknownparam"));
        let Uri::Sip(uri) = &bare.uri else {
            panic!("sip uri expected")
        };
        assert!(uri.params.is_empty());

        let inside = NameAddr::parse("<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert!(inside.params.is_empty());
        assert!(inside.uri.as_sip().unwrap().params.contains("unknownparam"));

        let nul =
            NameAddr::parse("\"BEL:\\\x07 NUL:\\\0 DEL:\\\x7f\" <sip:x@example.com>").unwrap();
        assert_eq!(
            nul.display.as_deref(),
            Some("BEL:\\\x07 NUL:\\\0 DEL:\\\x7f")
        );

        let other = NameAddr::parse("<http://www.example.com>;tag=3234233").unwrap();
        assert_eq!(other.uri.scheme(), "http");
    }

    #[test]
    fn malformed_name_addrs_are_rejected() {
        for bad in [
            "",
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Bell, Alexander <sip:a.g.bell@example.com>",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:joe@example.org",
            "\"Joe\" sip:joe@example.org",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn name_addr_lists_split_outside_quotes_and_brackets() {
        let list =
            NameAddr::parse_list(r#""a, b" <sip:a@x;p=1>, <sip:b,c@y>;q=0.5, sip:c@z"#).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].params.value("q"), Some("0.5"));
    }

    #[test]
    fn cseq_checks_range_and_shape() {
        assert_eq!(
            CSeq::parse("0009 INVITE").unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().seq, u32::MAX);
        for bad in [
            "4294967296 ACK",
            "36893488147419103232 REGISTER",
            "INVITE",
            "1INVITE",
            "1",
            "1 ",
            "-1 INVITE",
            "1 INVITE x",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn contact_star_and_lists() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Star);
        let Contact::Addresses(list) = Contact::parse("<sip:a@x>;expires=60, <sip:b@y>").unwrap()
        else {
            panic!("addresses expected")
        };
        assert_eq!(list.len(), 2);
        assert!(Contact::parse("").is_err());
    }

    fn headers(lines: &[(HeaderName, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in lines {
            headers.push(name.clone(), *value);
        }
        headers
    }

    #[test]
    fn accessors_parse_on_demand() {
        let h = headers(&[
            (
                HeaderName::Via,
                "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b",
            ),
            (HeaderName::Via, "SIP/2.0/UDP c"),
            (HeaderName::From, "<sip:a@x>;tag=1"),
            (HeaderName::To, "sip:b@y"),
            (HeaderName::CallId, "abc@x"),
            (HeaderName::CSeq, "7 REGISTER"),
            (HeaderName::Contact, "<sip:a@1.2.3.4>"),
            (HeaderName::Contact, "<sip:a@5.6.7.8>;expires=0"),
            (HeaderName::MaxForwards, "70"),
            (HeaderName::Expires, "10000000000"),
            (HeaderName::Allow, "INVITE, ACK,,BYE"),
            (HeaderName::Allow, "OPTIONS"),
            (HeaderName::ContentType, "application/sdp"),
        ]);
        let hosts: Vec<_> = h
            .vias()
            .unwrap()
            .into_iter()
            .map(|v| v.host.to_string())
            .collect();
        assert_eq!(hosts, ["a", "b", "c"]);
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.from().unwrap().tag(), Some("1"));
        assert_eq!(h.to().unwrap().tag(), None);
        assert_eq!(h.call_id(), Some("abc@x"));
        assert_eq!(h.cseq().unwrap().method, Method::Register);
        let Some(Contact::Addresses(contacts)) = h.contact().unwrap() else {
            panic!("addresses expected")
        };
        assert_eq!(contacts.len(), 2);
        assert_eq!(h.max_forwards().unwrap(), Some(70));
        assert_eq!(h.expires(), None);
        assert_eq!(h.content_type(), Some("application/sdp"));
        let allow: Vec<_> = h.tokens(&HeaderName::Allow).collect();
        assert_eq!(allow, ["INVITE", "ACK", "BYE", "OPTIONS"]);
    }

    #[test]
    fn accessors_report_missing_and_malformed_headers() {
        let empty = Headers::new();
        assert_eq!(
            empty.top_via().unwrap_err().kind,
            ParseErrorKind::Missing("Via")
        );
        assert_eq!(
            empty.from().unwrap_err().kind,
            ParseErrorKind::Missing("From")
        );
        assert_eq!(empty.contact().unwrap(), None);
        assert_eq!(empty.max_forwards().unwrap(), None);
        let bad = headers(&[
            (HeaderName::MaxForwards, "seventy"),
            (HeaderName::Contact, "*"),
            (HeaderName::Contact, "<sip:a@x>"),
            (HeaderName::To, "\"open <sip:a@x>"),
        ]);
        assert!(bad.max_forwards().is_err());
        assert!(bad.contact().is_err());
        assert!(matches!(
            bad.to().unwrap_err().kind,
            ParseErrorKind::Header { ref name, .. } if name == "To"
        ));
    }
}
