//! The RFC 4475 and RFC 5118 torture messages, parsed as UDP datagrams.
//!
//! The expectation for every file is in [`EXPECTATIONS`]; the test fails for a `.dat` file or
//! a manifest row that has none, so a new file cannot slip through untested. These are
//! parser-level expectations: whether an element then answers 404, 416, 420, 481... is the
//! server's decision (the manifest's `pbx_pass_criterion`), not the parser's.
//!
//! Choices where the RFC leaves room:
//! - `lwsstart` (several SP between request-line elements) and `trws` (SP before CRLF) are
//!   tolerated: the start line is reprinted from its parts, so the extra SP is never
//!   forwarded (RFC 4475 §3.1.2.9, §3.1.2.10).
//! - `badaspec` (spaces inside `<...>`) and `baddate` (Date not in GMT) are rejected with 400,
//!   as RFC 4475 §3.1.2.14 and §3.1.2.12 allow.
//! - `regbadct` (a URI with `?headers` outside `<>`) is rejected with 400 (§3.1.2.13).
//! - `mismatch02` (unknown method, CSeq method mismatch) is rejected with 400 (§3.1.2.18
//!   allows 400 as well as 501).
//! - `ipv6-bug-abnf-3-colons` is tolerated as `2001:db8::192.0.2.1` (RFC 5118 §4.10).
//! - `scalarlg` and `bigcode` are responses: any error (the server drops them silently).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crossbar_sip::{
    Contact, HeaderName, Host, Message, Method, ParseErrorKind, Uri, parse_datagram,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `parse_datagram` returns a message.
    Parses,
    /// `parse_datagram` fails on a request; the server answers with this status.
    Rejects(u16),
    /// `parse_datagram` fails on a response; the server drops it silently.
    Drops,
}

use Expect::{Drops, Parses, Rejects};

const EXPECTATIONS: &[(&str, &str, Expect)] = &[
    // RFC 4475 §3.1.1: valid messages.
    ("rfc4475", "wsinv.dat", Parses),
    ("rfc4475", "intmeth.dat", Parses),
    ("rfc4475", "esc01.dat", Parses),
    ("rfc4475", "escnull.dat", Parses),
    ("rfc4475", "esc02.dat", Parses),
    ("rfc4475", "lwsdisp.dat", Parses),
    ("rfc4475", "longreq.dat", Parses),
    ("rfc4475", "dblreq.dat", Parses),
    ("rfc4475", "semiuri.dat", Parses),
    ("rfc4475", "transports.dat", Parses),
    ("rfc4475", "mpart01.dat", Parses),
    ("rfc4475", "unreason.dat", Parses),
    ("rfc4475", "noreason.dat", Parses),
    // RFC 4475 §3.1.2: invalid messages.
    ("rfc4475", "badinv01.dat", Rejects(400)),
    ("rfc4475", "clerr.dat", Rejects(400)),
    ("rfc4475", "ncl.dat", Rejects(400)),
    ("rfc4475", "scalar02.dat", Rejects(400)),
    ("rfc4475", "scalarlg.dat", Drops),
    ("rfc4475", "quotbal.dat", Rejects(400)),
    ("rfc4475", "ltgtruri.dat", Rejects(400)),
    ("rfc4475", "lwsruri.dat", Rejects(400)),
    ("rfc4475", "lwsstart.dat", Parses),
    ("rfc4475", "trws.dat", Parses),
    ("rfc4475", "escruri.dat", Rejects(400)),
    ("rfc4475", "baddate.dat", Rejects(400)),
    ("rfc4475", "regbadct.dat", Rejects(400)),
    ("rfc4475", "badaspec.dat", Rejects(400)),
    ("rfc4475", "baddn.dat", Rejects(400)),
    ("rfc4475", "badvers.dat", Rejects(505)),
    ("rfc4475", "mismatch01.dat", Rejects(400)),
    ("rfc4475", "mismatch02.dat", Rejects(400)),
    ("rfc4475", "bigcode.dat", Drops),
    // RFC 4475 §3.2 to §3.4: semantic tests; the parser accepts what is well formed.
    ("rfc4475", "badbranch.dat", Parses),
    ("rfc4475", "insuf.dat", Rejects(400)),
    ("rfc4475", "unkscm.dat", Parses),
    ("rfc4475", "novelsc.dat", Parses),
    ("rfc4475", "unksm2.dat", Parses),
    ("rfc4475", "bext01.dat", Parses),
    ("rfc4475", "invut.dat", Parses),
    ("rfc4475", "regaut01.dat", Parses),
    ("rfc4475", "multi01.dat", Rejects(400)),
    ("rfc4475", "mcl01.dat", Rejects(400)),
    ("rfc4475", "bcast.dat", Parses),
    ("rfc4475", "zeromf.dat", Parses),
    ("rfc4475", "cparam01.dat", Parses),
    ("rfc4475", "cparam02.dat", Parses),
    ("rfc4475", "regescrt.dat", Parses),
    ("rfc4475", "sdp01.dat", Parses),
    ("rfc4475", "inv2543.dat", Parses),
    // RFC 5118.
    ("rfc5118", "ipv6-good.dat", Parses),
    ("rfc5118", "ipv6-bad.dat", Rejects(400)),
    ("rfc5118", "port-ambiguous.dat", Parses),
    ("rfc5118", "port-unambiguous.dat", Parses),
    ("rfc5118", "via-received-param-with-delim.dat", Parses),
    ("rfc5118", "via-received-param-no-delim.dat", Parses),
    ("rfc5118", "ipv6-in-sdp.dat", Parses),
    ("rfc5118", "mult-ip-in-header.dat", Parses),
    ("rfc5118", "mult-ip-in-sdp.dat", Parses),
    ("rfc5118", "ipv4-mapped-ipv6.dat", Parses),
    ("rfc5118", "ipv6-bug-abnf-3-colons.dat", Parses),
    ("rfc5118", "ipv6-correct-abnf-2-colons.dat", Parses),
];

fn torture_dir(suite: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/torture"
    ))
    .join(suite)
}

fn read(suite: &str, file: &str) -> Vec<u8> {
    let path = torture_dir(suite).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(suite: &str, file: &str) -> Message {
    parse_datagram(&read(suite, file)).unwrap_or_else(|e| panic!("{file}: {e:?}"))
}

/// The `file` column of a suite's `manifest.tsv`.
fn manifest_files(suite: &str) -> BTreeSet<String> {
    let path = torture_dir(suite).join("manifest.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
        .collect()
}

fn dat_files(suite: &str) -> BTreeSet<String> {
    std::fs::read_dir(torture_dir(suite))
        .expect("the torture directory is readable")
        .map(|entry| entry.expect("a directory entry is readable").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".dat"))
        .collect()
}

#[test]
fn every_torture_file_and_manifest_row_has_an_expectation() {
    for (suite, count) in [("rfc4475", 49), ("rfc5118", 12)] {
        let expected: BTreeSet<String> = EXPECTATIONS
            .iter()
            .filter(|(s, _, _)| *s == suite)
            .map(|(_, file, _)| (*file).to_owned())
            .collect();
        assert_eq!(expected.len(), count, "{suite}: entries in the table");
        assert_eq!(
            manifest_files(suite),
            expected,
            "{suite}: manifest rows vs table"
        );
        assert_eq!(dat_files(suite), expected, "{suite}: .dat files vs table");
    }
}

#[test]
fn every_torture_message_meets_its_expectation() {
    let mut failures = Vec::new();
    for &(suite, file, expect) in EXPECTATIONS {
        let result = parse_datagram(&read(suite, file));
        let ok = match (&result, expect) {
            (Ok(_), Parses) => true,
            (Err(e), Rejects(status)) => {
                e.is_request && e.status() == status && e.headers.is_some()
            }
            (Err(e), Drops) => !e.is_request,
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect:?}, got {result:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_parsed_torture_message_reparses_identically_after_printing() {
    for &(suite, file, expect) in EXPECTATIONS {
        if expect != Parses {
            continue;
        }
        let message = parse(suite, file);
        let printed = message.to_bytes();
        let reparsed = parse_datagram(&printed)
            .unwrap_or_else(|e| panic!("{file}: {e:?}\n{}", String::from_utf8_lossy(&printed)));
        assert_eq!(reparsed, message, "{file}");
        assert_eq!(reparsed.to_bytes(), printed, "{file}: printing is stable");
    }
}

fn request(suite: &str, file: &str) -> crossbar_sip::Request {
    match parse(suite, file) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{file}: request expected"),
    }
}

#[test]
fn wsinv_unfolds_and_merges_short_and_long_forms() {
    let r = request("rfc4475", "wsinv.dat");
    let vias = r.headers.vias().unwrap();
    let hosts: Vec<(String, &str)> = vias
        .iter()
        .map(|v| (v.host.to_string(), v.transport.as_str()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("192.0.2.2".to_owned(), "UDP"),
            ("spindle.example.com".to_owned(), "TCP"),
            ("192.168.255.111".to_owned(), "UDP"),
        ]
    );
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(r.headers.max_forwards().unwrap(), Some(68));
    let cseq = r.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert_eq!(r.headers.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        r.headers
            .get(&HeaderName::Other("UnknownHeaderWithUnusualValue".into())),
        Some(";;,,;;,;")
    );
    assert_eq!(
        r.headers.get(&HeaderName::Other("NewFangledHeader".into())),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(r.headers.to().unwrap().tag(), Some("1918181833n"));
    let from = r.headers.from().unwrap();
    assert_eq!(from.display.as_deref(), Some(r#"J Rosenberg \\\""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    let Some(Contact::Addresses(contacts)) = r.headers.contact().unwrap() else {
        panic!("contact addresses expected")
    };
    assert_eq!(contacts[0].params.value("q"), Some("0.33"));
    assert_eq!(contacts[0].params.value("newparam"), Some("newvalue"));
    assert!(contacts[0].params.contains("secondparam"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_keeps_the_extension_method_and_control_characters() {
    let r = request("rfc4475", "intmeth.dat");
    assert_eq!(
        r.method,
        Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    assert_eq!(r.headers.cseq().unwrap().method, r.method);
    let to = r.headers.to().unwrap();
    assert_eq!(
        to.display.as_deref(),
        Some("BEL:\\\x07 NUL:\\\0 DEL:\\\x7f")
    );
    assert_eq!(r.headers.from().unwrap().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        r.headers.call_id(),
        Some(r#"intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{"#)
    );
}

#[test]
fn esc02_is_not_a_register_and_has_two_contacts() {
    let r = request("rfc4475", "esc02.dat");
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    let Some(Contact::Addresses(contacts)) = r.headers.contact().unwrap() else {
        panic!("contact addresses expected")
    };
    assert_eq!(contacts.len(), 2);
    assert_eq!(r.headers.from().unwrap().display.as_deref(), Some("%Z%45"));
}

#[test]
fn escnull_keeps_escaped_nuls_in_user_parts() {
    let r = request("rfc4475", "escnull.dat");
    let to = r.headers.to().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user.as_deref(),
        Some("null-%00-null")
    );
    let Some(Contact::Addresses(contacts)) = r.headers.contact().unwrap() else {
        panic!("contact addresses expected")
    };
    let users: Vec<_> = contacts
        .iter()
        .map(|c| c.uri.as_sip().unwrap().user.clone().unwrap())
        .collect();
    assert_eq!(users, ["%00", "%00%00"]);
}

#[test]
fn esc01_keeps_escapes_in_uri_parameters() {
    let r = request("rfc4475", "esc01.dat");
    assert_eq!(
        r.uri.as_sip().unwrap().user.as_deref(),
        Some("sips%3Auser%40example.com")
    );
    let Some(Contact::Addresses(contacts)) = r.headers.contact().unwrap() else {
        panic!("contact addresses expected")
    };
    let params = &contacts[0].uri.as_sip().unwrap().params;
    assert_eq!(params.value("n%61me"), Some("v%61lue%25%34%31"));
}

#[test]
fn lwsdisp_accepts_a_token_display_name_without_space() {
    let r = request("rfc4475", "lwsdisp.dat");
    assert_eq!(r.headers.from().unwrap().display.as_deref(), Some("caller"));
}

#[test]
fn dblreq_is_only_the_register() {
    let r = request("rfc4475", "dblreq.dat");
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
}

#[test]
fn inv2543_body_is_the_rest_of_the_datagram() {
    let bytes = read("rfc4475", "inv2543.dat");
    let r = request("rfc4475", "inv2543.dat");
    assert!(bytes.ends_with(&r.body));
    assert!(r.body.starts_with(b"v=0"));
    assert_eq!(r.headers.max_forwards().unwrap(), None);
    assert_eq!(r.headers.top_via().unwrap().branch(), None);
}

#[test]
fn mpart01_binary_body_is_framed_by_content_length() {
    let r = request("rfc4475", "mpart01.dat");
    assert!(r.body.contains(&0));
    let text = String::from_utf8_lossy(&read("rfc4475", "mpart01.dat")).into_owned();
    let declared: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("mpart01 declares its Content-Length");
    assert_eq!(r.body.len(), declared);
}

#[test]
fn cparam_tells_header_parameters_from_uri_parameters() {
    let r = request("rfc4475", "cparam01.dat");
    let Some(Contact::Addresses(c)) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert!(c[0].params.contains("unknownparam"));
    assert!(!c[0].uri.as_sip().unwrap().params.contains("unknownparam"));
    let r = request("rfc4475", "cparam02.dat");
    let Some(Contact::Addresses(c)) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert!(!c[0].params.contains("unknownparam"));
    assert!(c[0].uri.as_sip().unwrap().params.contains("unknownparam"));
}

#[test]
fn regescrt_keeps_the_escaped_header_inside_the_contact_uri() {
    let r = request("rfc4475", "regescrt.dat");
    let Some(Contact::Addresses(c)) = r.headers.contact().unwrap() else {
        panic!()
    };
    assert_eq!(
        c[0].uri.as_sip().unwrap().headers,
        [("Route".to_owned(), "%3Csip:sip.example.com%3E".to_owned())]
    );
}

#[test]
fn unknown_schemes_are_kept_opaque() {
    let r = request("rfc4475", "unkscm.dat");
    assert_eq!(
        r.uri,
        Uri::Other {
            scheme: "nobodyKnowsThisScheme".into(),
            opaque: "totallyopaquecontent".into()
        }
    );
    let r = request("rfc4475", "unksm2.dat");
    assert_eq!(r.headers.to().unwrap().uri.scheme(), "isbn");
    assert_eq!(r.headers.from().unwrap().uri.scheme(), "http");
}

#[test]
fn transports_keeps_unknown_transports() {
    let r = request("rfc4475", "transports.dat");
    let transports: Vec<_> = r
        .headers
        .vias()
        .unwrap()
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn bext01_option_tags_are_listed() {
    let r = request("rfc4475", "bext01.dat");
    let require: Vec<_> = r.headers.tokens(&HeaderName::Require).collect();
    assert_eq!(
        require,
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
}

#[test]
fn responses_with_odd_reason_phrases() {
    let Message::Response(r) = parse("rfc4475", "noreason.dat") else {
        panic!()
    };
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
    let Message::Response(r) = parse("rfc4475", "unreason.dat") else {
        panic!()
    };
    assert_eq!(r.status, 200);
    assert!(r.reason.starts_with("= 2**3 * 5**2 "));
}

#[test]
fn rejection_reasons_are_the_specific_ones() {
    let kind = |file| parse_datagram(&read("rfc4475", file)).unwrap_err().kind;
    assert_eq!(kind("badvers.dat"), ParseErrorKind::Version);
    assert_eq!(kind("mismatch01.dat"), ParseErrorKind::CSeqMismatch);
    assert_eq!(kind("insuf.dat"), ParseErrorKind::Missing("From"));
    assert!(matches!(kind("multi01.dat"), ParseErrorKind::Duplicate(_)));
    assert!(matches!(
        kind("ltgtruri.dat"),
        ParseErrorKind::RequestUri(_)
    ));
    assert!(matches!(kind("lwsruri.dat"), ParseErrorKind::RequestUri(_)));
    assert!(matches!(kind("escruri.dat"), ParseErrorKind::RequestUri(_)));
    for file in ["clerr.dat", "ncl.dat", "mcl01.dat"] {
        assert!(
            matches!(kind(file), ParseErrorKind::ContentLength(_)),
            "{file}"
        );
    }
    let kind = |file| parse_datagram(&read("rfc5118", file)).unwrap_err().kind;
    assert!(matches!(
        kind("ipv6-bad.dat"),
        ParseErrorKind::RequestUri(_)
    ));
}

fn ip(text: &str) -> Host {
    Host::V6(text.parse().expect("test addresses are valid"))
}

#[test]
fn rfc5118_port_ambiguity() {
    let uri = request("rfc5118", "port-ambiguous.dat").uri;
    let sip = uri.as_sip().unwrap();
    assert_eq!((&sip.host, sip.port), (&ip("2001:db8::10:5070"), None));
    let uri = request("rfc5118", "port-unambiguous.dat").uri;
    let sip = uri.as_sip().unwrap();
    assert_eq!((&sip.host, sip.port), (&ip("2001:db8::10"), Some(5070)));
}

#[test]
fn rfc5118_via_received_with_and_without_brackets() {
    for file in [
        "via-received-param-with-delim.dat",
        "via-received-param-no-delim.dat",
    ] {
        let via = request("rfc5118", file).headers.top_via().unwrap();
        assert_eq!(via.host, ip("2001:db8::9:1"));
        assert_eq!(
            via.received_ip(),
            Some("2001:db8::9:255".parse().unwrap()),
            "{file}"
        );
    }
}

#[test]
fn rfc5118_addresses_in_headers() {
    let r = request("rfc5118", "mult-ip-in-header.dat");
    let vias = r.headers.vias().unwrap();
    assert_eq!(
        (&vias[0].host, vias[0].port),
        (&ip("2001:db8::9:1"), Some(6050))
    );
    assert_eq!(vias[1].host, Host::V4("192.0.2.1".parse().unwrap()));
    assert_eq!(vias[2].received(), Some("192.0.2.200"));

    let r = request("rfc5118", "ipv4-mapped-ipv6.dat");
    assert_eq!(r.headers.top_via().unwrap().host, ip("::ffff:192.0.2.10"));

    let three = request("rfc5118", "ipv6-bug-abnf-3-colons.dat");
    let two = request("rfc5118", "ipv6-correct-abnf-2-colons.dat");
    assert_eq!(three.uri.as_sip().unwrap().host, ip("2001:db8::192.0.2.1"));
    assert_eq!(three.uri, two.uri);
}
