//! URI parsing (RFC 3261 §19.1.1, §25.1 `SIP-URI`, `SIPS-URI`, `absoluteURI`; RFC 3966
//! `tel:`; RFC 5118 IPv6 references; RFC 5954 for the corrected `IPv6reference` grammar).
//!
//! Text is kept as it appeared (still %-escaped); escapes are only checked to be well formed.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::parse::{ParseError, ParseErrorKind};
use crate::uri::{Host, Params, SipUri, TelUri, Uri};

impl Uri {
    /// Parses a URI: `sip:`/`sips:` into parts, `tel:` into number and parameters, any
    /// other scheme as scheme and opaque text. No white space is allowed anywhere.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        parse_uri(s).map_err(|reason| ParseError::detached(ParseErrorKind::Uri(reason)))
    }
}

impl FromStr for Uri {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Uri, ParseError> {
        Uri::parse(s)
    }
}

impl Host {
    /// Parses a `host` (§25.1): a host name, an IPv4 address or a bracketed IPv6 reference.
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        match parse_host(s) {
            Ok((host, "")) => Ok(host),
            Ok(_) => Err(ParseError::detached(ParseErrorKind::Uri(
                "unexpected text after host",
            ))),
            Err(reason) => Err(ParseError::detached(ParseErrorKind::Uri(reason))),
        }
    }
}

/// `unreserved` (§25.1): `alphanum / mark`, `mark = "-" / "_" / "." / "!" / "~" / "*" /
/// "'" / "(" / ")"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// True when every character of `s` is `unreserved`, one of `extra`, or a well-formed
/// `escaped` (`%` HEXDIG HEXDIG).
fn is_escaped_text(s: &str, extra: &[u8]) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let well_formed = bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !well_formed {
                return false;
            }
            i += 3;
        } else if is_unreserved(b) || extra.contains(&b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// `user-unreserved` (§25.1).
const USER_EXTRA: &[u8] = b"&=+$,;?/";
/// The characters a `password` may hold besides `unreserved` and `escaped`.
const PASSWORD_EXTRA: &[u8] = b"&=+$,";
/// `param-unreserved` (§25.1).
const PARAM_EXTRA: &[u8] = b"[]/:&+$";
/// `hnv-unreserved` (§25.1).
const HEADER_EXTRA: &[u8] = b"[]/?:+$";

pub(crate) fn parse_uri(s: &str) -> Result<Uri, &'static str> {
    let colon = s.find(':').ok_or("missing scheme")?;
    let scheme = &s[..colon];
    let rest = &s[colon + 1..];
    let well_formed_scheme = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !well_formed_scheme {
        return Err("malformed scheme");
    }
    if scheme.eq_ignore_ascii_case("sip") {
        parse_sip(rest, false).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        parse_sip(rest, true).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("tel") {
        parse_tel(rest).map(Uri::Tel)
    } else {
        // `absoluteURI` (§25.1): at least one `uric`; nothing that would need quoting.
        let opaque_ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"'));
        if !opaque_ok {
            return Err("malformed opaque part");
        }
        Ok(Uri::Other {
            scheme: scheme.to_owned(),
            opaque: rest.to_owned(),
        })
    }
}

/// The part of a SIP URI after `sip:` (§19.1.1): `[userinfo "@"] hostport uri-parameters
/// [headers]`.
fn parse_sip(rest: &str, secure: bool) -> Result<SipUri, &'static str> {
    // `@` may appear only as the userinfo delimiter (it is neither `user-unreserved`,
    // `paramchar` nor `hnv-unreserved`), so the first one ends the userinfo.
    let (userinfo, hostpart) = match rest.find('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(userinfo) => {
            let (user, password) = match userinfo.find(':') {
                Some(colon) => (&userinfo[..colon], Some(&userinfo[colon + 1..])),
                None => (userinfo, None),
            };
            if user.is_empty() || !is_escaped_text(user, USER_EXTRA) {
                return Err("malformed user part");
            }
            if let Some(password) = password
                && !is_escaped_text(password, PASSWORD_EXTRA)
            {
                return Err("malformed password");
            }
            (Some(user.to_owned()), password.map(str::to_owned))
        }
    };

    let (host, after_host) = parse_host(hostpart)?;
    let (port, mut rest) = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let end = port_and_rest
                .find([';', '?'])
                .unwrap_or(port_and_rest.len());
            (
                Some(parse_port(&port_and_rest[..end])?),
                &port_and_rest[end..],
            )
        }
        None => (None, after_host),
    };

    let mut params = Params::new();
    while let Some(param_and_rest) = rest.strip_prefix(';') {
        let end = param_and_rest
            .find([';', '?'])
            .unwrap_or(param_and_rest.len());
        let param = &param_and_rest[..end];
        let (name, value) = match param.find('=') {
            Some(eq) => (&param[..eq], Some(&param[eq + 1..])),
            None => (param, None),
        };
        if name.is_empty() || !is_escaped_text(name, PARAM_EXTRA) {
            return Err("malformed URI parameter name");
        }
        if let Some(value) = value
            && (value.is_empty() || !is_escaped_text(value, PARAM_EXTRA))
        {
            return Err("malformed URI parameter value");
        }
        params.0.push((name.to_owned(), value.map(str::to_owned)));
        rest = &param_and_rest[end..];
    }

    let mut headers = Vec::new();
    if let Some(header_text) = rest.strip_prefix('?') {
        for header in header_text.split('&') {
            let (name, value) = header.split_once('=').ok_or("URI header without '='")?;
            if name.is_empty()
                || !is_escaped_text(name, HEADER_EXTRA)
                || !is_escaped_text(value, HEADER_EXTRA)
            {
                return Err("malformed URI header");
            }
            headers.push((name.to_owned(), value.to_owned()));
        }
    } else if !rest.is_empty() {
        return Err("unexpected character after host");
    }

    Ok(SipUri {
        secure,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

/// `port = 1*DIGIT`, within 0..=65535.
pub(crate) fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed port");
    }
    s.parse().map_err(|_| "port out of range")
}

/// Parses the `host` at the start of `s` and returns it with the text that follows.
///
/// - `[...]` is an `IPv6reference`; `[2001:db8::10:5070]` is an address without port
///   (RFC 5118 §4.3). The RFC 3261 grammar bug `[2001:db8:::192.0.2.1]` (three colons,
///   RFC 5118 §4.10, fixed by RFC 5954) is tolerated as `2001:db8::192.0.2.1`.
/// - four dotted decimal octets are an `IPv4address`;
/// - anything else must be a `hostname` whose last label starts with a letter, so an
///   unbracketed IPv6 address (`2001:db8::10`, RFC 5118 §4.2) is rejected.
pub(crate) fn parse_host(s: &str) -> Result<(Host, &str), &'static str> {
    if let Some(inner_and_rest) = s.strip_prefix('[') {
        let close = inner_and_rest
            .find(']')
            .ok_or("unterminated IPv6 reference")?;
        let inner = &inner_and_rest[..close];
        let ip = parse_ipv6(inner).ok_or("malformed IPv6 reference")?;
        return Ok((Host::V6(ip), &inner_and_rest[close + 1..]));
    }
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')))
        .unwrap_or(s.len());
    let text = &s[..end];
    if text.is_empty() {
        return Err("missing host");
    }
    if let Ok(ip) = Ipv4Addr::from_str(text) {
        return Ok((Host::V4(ip), &s[end..]));
    }
    let labels = text.strip_suffix('.').unwrap_or(text);
    let top_label_ok = labels
        .rsplit('.')
        .next()
        .and_then(|label| label.as_bytes().first())
        .is_some_and(u8::is_ascii_alphabetic);
    if !top_label_ok || labels.split('.').any(str::is_empty) {
        return Err("malformed host name");
    }
    Ok((Host::Name(text.to_owned()), &s[end..]))
}

/// An IPv6 address as written inside `[` `]`, tolerating RFC 5118 §4.10's three colons.
fn parse_ipv6(inner: &str) -> Option<Ipv6Addr> {
    if let Ok(ip) = Ipv6Addr::from_str(inner) {
        return Some(ip);
    }
    if inner.contains(":::") && !inner.contains("::::") {
        return Ipv6Addr::from_str(&inner.replacen(":::", "::", 1)).ok();
    }
    None
}

/// `tel:` URIs (RFC 3966 §3): `telephone-subscriber` then `;par` parameters.
fn parse_tel(rest: &str) -> Result<TelUri, &'static str> {
    let (number, param_text) = match rest.find(';') {
        Some(semi) => (&rest[..semi], &rest[semi..]),
        None => (rest, ""),
    };
    let number_ok = !number.is_empty()
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.()*#%".contains(&b));
    if !number_ok {
        return Err("malformed telephone number");
    }
    let mut params = Params::new();
    for param in param_text.split(';').skip(1) {
        let (name, value) = match param.find('=') {
            Some(eq) => (&param[..eq], Some(&param[eq + 1..])),
            None => (param, None),
        };
        let name_ok =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value.is_none_or(|v| !v.is_empty() && is_escaped_text(v, b"[]/:&+$#;=,?@"));
        if !name_ok || !value_ok {
            return Err("malformed tel parameter");
        }
        params.0.push((name.to_owned(), value.map(str::to_owned)));
    }
    Ok(TelUri {
        number: number.to_owned(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s) {
            Ok(Uri::Sip(uri)) => uri,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn sip_uri_parts_are_split_and_kept_escaped() {
        let uri = sip("sip:sips%3Auser%40example.com@example.net:5070;transport=tcp;lr?h=1&i=%20");
        assert!(!uri.secure);
        assert_eq!(uri.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert_eq!(uri.host, Host::Name("example.net".into()));
        assert_eq!(uri.port, Some(5070));
        assert_eq!(uri.params.value("transport"), Some("tcp"));
        assert!(uri.params.contains("lr"));
        assert_eq!(
            uri.headers,
            vec![("h".into(), "1".into()), ("i".into(), "%20".into())]
        );
    }

    #[test]
    fn user_part_may_hold_semicolons_and_a_password() {
        let uri = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(uri.user.as_deref(), Some("user;par=u%40example.net"));
        let uri = sip(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(
            uri.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            uri.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
    }

    #[test]
    fn escaped_nul_is_kept_verbatim() {
        assert_eq!(
            sip("sip:null-%00-null@example.com").user.as_deref(),
            Some("null-%00-null")
        );
    }

    #[test]
    fn ipv6_references_follow_rfc_5118() {
        let ambiguous = sip("sip:[2001:db8::10:5070]");
        assert_eq!(
            ambiguous.host,
            Host::V6("2001:db8::10:5070".parse().unwrap())
        );
        assert_eq!(ambiguous.port, None);
        let unambiguous = sip("sip:[2001:db8::10]:5070");
        assert_eq!(unambiguous.host, Host::V6("2001:db8::10".parse().unwrap()));
        assert_eq!(unambiguous.port, Some(5070));
        let three_colons = sip("sip:user@[2001:db8:::192.0.2.1]");
        assert_eq!(
            three_colons.host,
            Host::V6("2001:db8::192.0.2.1".parse().unwrap())
        );
        let mapped = sip("sip:ted@[::ffff:192.0.2.2]");
        assert_eq!(mapped.host, Host::V6("::ffff:192.0.2.2".parse().unwrap()));
        assert!(Uri::parse("sip:2001:db8::10").is_err());
        assert!(Uri::parse("sip:[2001:db8::10").is_err());
    }

    #[test]
    fn ipv4_and_names_are_told_apart() {
        assert_eq!(
            sip("sip:192.0.2.1").host,
            Host::V4("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            sip("sip:a.example.com.").host,
            Host::Name("a.example.com.".into())
        );
        assert!(Uri::parse("sip:192.0.2.256").is_err());
        assert!(Uri::parse("sip:a..b").is_err());
    }

    #[test]
    fn malformed_sip_uris_are_rejected() {
        for bad in [
            "sip:",
            "sip:@host",
            "sip:user@",
            "sip:user@host:",
            "sip:user@host:99999",
            "sip:user@host;",
            "sip:user@host;=x",
            "sip:user@host; lr",
            "sip:user@ host",
            "<sip:user@host>",
            "sip:us er@host",
            "sip:user%zz@host",
            "sip:user@host>",
            "sip:user@host?",
            "no-colon",
            "1abc:foo",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn tel_and_unknown_schemes_parse() {
        assert_eq!(
            Uri::parse("tel:+44-20-7946-0000;phone-context=example.com").unwrap(),
            Uri::Tel(TelUri {
                number: "+44-20-7946-0000".into(),
                params: Params(vec![("phone-context".into(), Some("example.com".into()))]),
            })
        );
        assert_eq!(
            Uri::parse("soap.beep://192.0.2.103:3002").unwrap(),
            Uri::Other {
                scheme: "soap.beep".into(),
                opaque: "//192.0.2.103:3002".into()
            }
        );
        assert!(Uri::parse("isbn:").is_err());
        assert!(Uri::parse("tel:").is_err());
    }

    #[test]
    fn printing_and_reparsing_gives_the_same_uri() {
        for text in [
            "sips:alice:pw@[2001:db8::1]:5061;transport=tls;lr?Route=%3Csip:x%3E&a=",
            "sip:example.com",
            "tel:7946;phone-context=+44",
            "nobodyKnowsThisScheme:totallyopaquecontent",
        ] {
            let uri = Uri::parse(text).unwrap();
            assert_eq!(uri.to_string(), text);
            assert_eq!(Uri::parse(&uri.to_string()).unwrap(), uri);
        }
    }
}
