//! Parsing an `Authorization` / `Proxy-Authorization` header value
//! (RFC 3261 §25.1 `credentials`, RFC 7616 §3.4, RFC 7235 §2.1 auth-param syntax).

use std::borrow::Cow;

use thiserror::Error;

use crate::algorithm::{Algorithm, DigestInput, QopInput};

/// Longest excerpt of peer input kept in an error (errors get logged; keep them short).
const EXCERPT_MAX: usize = 40;

/// Why a `Digest` credentials value could not be parsed. The peer sent something malformed:
/// answer `400 Bad Request` (or re-challenge).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// A parameter name was expected at byte offset `at`.
    #[error("expected a parameter name at byte {at}")]
    ExpectedParameterName {
        /// Byte offset in the header value.
        at: usize,
    },
    /// The parameter has no `=value`.
    #[error("parameter `{name}` has no value")]
    ExpectedValue {
        /// The parameter name (truncated).
        name: String,
    },
    /// A value was followed by something other than `,` or the end.
    #[error("expected `,` after the value of `{name}`")]
    ExpectedComma {
        /// The parameter name (truncated).
        name: String,
    },
    /// A quoted string never ends, or ends in a lone backslash.
    #[error("unterminated quoted string in `{name}`")]
    UnterminatedQuotedString {
        /// The parameter name (truncated).
        name: String,
    },
    /// RFC 7616 §3.4: each parameter appears at most once.
    #[error("parameter `{0}` appears more than once")]
    DuplicateParameter(String),
    /// A parameter the digest needs is absent (`username`, `realm`, `nonce`, `uri`, `response`,
    /// and with `qop` also `cnonce` and `nc`).
    #[error("missing parameter `{0}`")]
    MissingParameter(&'static str),
    /// `algorithm=` names no algorithm this crate knows (RFC 7616 §3.3).
    #[error("unknown digest algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// `nc` is not 1–8 hexadecimal digits (RFC 7616 §3.4: 8LHEX).
    #[error("invalid nonce-count `{0}`")]
    InvalidNonceCount(String),
    /// `userhash` is neither `true` nor `false` (RFC 7616 §3.4.4).
    #[error("invalid userhash value `{0}`")]
    InvalidUserhash(String),
    /// `response` is not hexadecimal (RFC 7616 §3.4: request-digest is LHEX).
    #[error("response is not hexadecimal")]
    InvalidResponse,
    /// The RFC 7616 §3.4 `username*` extended notation; not supported (no SIP UA uses it).
    #[error("the `username*` extended notation is not supported")]
    ExtendedUsernameUnsupported,
}

/// A nonce-count: the literal the client sent (it is what the digest covers) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceCount<'a> {
    /// The literal, e.g. `00000001`.
    pub literal: Cow<'a, str>,
    /// Its numeric value.
    pub value: u32,
}

/// The parameters of `Digest` credentials (RFC 7616 §3.4, RFC 3261 §25.1 `digest-response`).
///
/// Quoted-string values are unescaped; unknown parameters (auth-param extensions) are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials<'a> {
    /// `username` (when `userhash` is true: the hashed user name).
    pub username: Cow<'a, str>,
    /// `realm`.
    pub realm: Cow<'a, str>,
    /// `nonce`.
    pub nonce: Cow<'a, str>,
    /// `uri` (RFC 3261 `digest-uri`).
    pub uri: Cow<'a, str>,
    /// `response`, as sent (hex; compared case-insensitively).
    pub response: Cow<'a, str>,
    /// `algorithm`; MD5 when absent (RFC 7616 §3.4).
    pub algorithm: Algorithm,
    /// `cnonce`.
    pub cnonce: Option<Cow<'a, str>>,
    /// `opaque`.
    pub opaque: Option<Cow<'a, str>>,
    /// `qop`, as sent.
    pub qop: Option<Cow<'a, str>>,
    /// `nc`.
    pub nc: Option<NonceCount<'a>>,
    /// `userhash=true` (RFC 7616 §3.4.4).
    pub userhash: bool,
}

impl<'a> DigestCredentials<'a> {
    /// Parses a header value. `Ok(None)` when the scheme is not `Digest` (e.g. RFC 4475
    /// §3.3.7 `NoOneKnowsThisScheme`, or `Basic`): such credentials are not for us and the
    /// request counts as carrying none (RFC 3261 §22.1, RFC 7235 §4.2).
    ///
    /// The scheme name is case-insensitive, parameters may appear in any order, names are
    /// case-insensitive, values may be tokens or quoted strings (with `\` escapes), and
    /// whitespace (including folded line breaks) may surround `=` and `,`.
    pub fn parse(value: &'a str) -> Result<Option<Self>, ParseError> {
        let Some(mut params) = ParamCursor::after_scheme(value, "Digest") else {
            return Ok(None);
        };
        let mut fields = Fields::default();
        while let Some((name, raw_value)) = params.next_param()? {
            fields.set(name, raw_value)?;
        }
        fields.into_credentials().map(Some)
    }

    /// The values the digest covers, borrowed from these credentials.
    pub fn digest_input(&self) -> DigestInput<'_> {
        DigestInput {
            algorithm: self.algorithm,
            nonce: &self.nonce,
            uri: &self.uri,
            qop: match (&self.qop, &self.nc, &self.cnonce) {
                (Some(qop), Some(nc), Some(cnonce)) => Some(QopInput {
                    qop,
                    nc: &nc.literal,
                    cnonce,
                }),
                _ => None,
            },
        }
    }
}

fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
        )
}

pub(crate) fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Walks `name=value` pairs separated by commas. Empty list elements are tolerated
/// (RFC 7230 §7 `#rule`).
pub(crate) struct ParamCursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> ParamCursor<'a> {
    /// The parameters of `value` if its scheme (the first token) is `scheme`, compared
    /// case-insensitively; `None` for any other scheme.
    pub(crate) fn after_scheme(value: &'a str, scheme: &str) -> Option<ParamCursor<'a>> {
        let start = value.len() - value.trim_start_matches(is_lws).len();
        let rest = &value[start..];
        let scheme_len = rest.find(is_lws).unwrap_or(rest.len());
        rest[..scheme_len]
            .eq_ignore_ascii_case(scheme)
            .then_some(ParamCursor {
                input: value,
                pos: start + scheme_len,
            })
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn skip_while(&mut self, pred: impl Fn(char) -> bool) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(pred).len();
    }

    pub(crate) fn next_param(&mut self) -> Result<Option<(&'a str, Cow<'a, str>)>, ParseError> {
        self.skip_while(|c| is_lws(c) || c == ',');
        if self.rest().is_empty() {
            return Ok(None);
        }
        let name_len = self
            .rest()
            .find(|c: char| !is_token_char(c))
            .unwrap_or(self.rest().len());
        if name_len == 0 {
            return Err(ParseError::ExpectedParameterName { at: self.pos });
        }
        let name = &self.rest()[..name_len];
        self.pos += name_len;
        self.skip_while(is_lws);
        if !self.rest().starts_with('=') {
            return Err(ParseError::ExpectedValue {
                name: excerpt(name),
            });
        }
        self.pos += 1;
        self.skip_while(is_lws);
        let value = if self.rest().starts_with('"') {
            self.pos += 1;
            self.quoted_string(name)?
        } else {
            let len = self
                .rest()
                .find(|c: char| is_lws(c) || c == ',' || c == '"')
                .unwrap_or(self.rest().len());
            if len == 0 {
                return Err(ParseError::ExpectedValue {
                    name: excerpt(name),
                });
            }
            let token = &self.rest()[..len];
            self.pos += len;
            Cow::Borrowed(token)
        };
        self.skip_while(is_lws);
        if !(self.rest().is_empty() || self.rest().starts_with(',')) {
            return Err(ParseError::ExpectedComma {
                name: excerpt(name),
            });
        }
        Ok(Some((name, value)))
    }

    /// RFC 3261 §25.1 `quoted-string` after the opening quote; `\` escapes any character.
    fn quoted_string(&mut self, name: &str) -> Result<Cow<'a, str>, ParseError> {
        let rest = self.rest();
        let unterminated = || ParseError::UnterminatedQuotedString {
            name: excerpt(name),
        };
        let end = rest.find(['"', '\\']).ok_or_else(unterminated)?;
        if rest.as_bytes()[end] == b'"' {
            self.pos += end + 1;
            return Ok(Cow::Borrowed(&rest[..end]));
        }
        // Escapes present: unescape into an owned string.
        let mut out = String::with_capacity(rest.len());
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Cow::Owned(out));
                }
                '\\' => {
                    let (_, escaped) = chars.next().ok_or_else(unterminated)?;
                    out.push(escaped);
                }
                other => out.push(other),
            }
        }
        Err(unterminated())
    }
}

#[derive(Default)]
struct Fields<'a> {
    username: Option<Cow<'a, str>>,
    username_ext: bool,
    realm: Option<Cow<'a, str>>,
    nonce: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    response: Option<Cow<'a, str>>,
    algorithm: Option<Cow<'a, str>>,
    cnonce: Option<Cow<'a, str>>,
    opaque: Option<Cow<'a, str>>,
    qop: Option<Cow<'a, str>>,
    nc: Option<Cow<'a, str>>,
    userhash: Option<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    fn set(&mut self, name: &str, value: Cow<'a, str>) -> Result<(), ParseError> {
        if name.eq_ignore_ascii_case("username*") {
            self.username_ext = true;
            return Ok(());
        }
        let slot = match name.to_ascii_lowercase().as_str() {
            "username" => &mut self.username,
            "realm" => &mut self.realm,
            "nonce" => &mut self.nonce,
            "uri" => &mut self.uri,
            "response" => &mut self.response,
            "algorithm" => &mut self.algorithm,
            "cnonce" => &mut self.cnonce,
            "opaque" => &mut self.opaque,
            "qop" => &mut self.qop,
            "nc" => &mut self.nc,
            "userhash" => &mut self.userhash,
            // auth-param extensions: ignored (RFC 7616 §3.4 "MUST ignore unrecognized").
            _ => return Ok(()),
        };
        if slot.is_some() {
            return Err(ParseError::DuplicateParameter(excerpt(name)));
        }
        *slot = Some(value);
        Ok(())
    }

    fn into_credentials(self) -> Result<DigestCredentials<'a>, ParseError> {
        let username = match (self.username, self.username_ext) {
            (Some(u), _) => u,
            (None, true) => return Err(ParseError::ExtendedUsernameUnsupported),
            (None, false) => return Err(ParseError::MissingParameter("username")),
        };
        let realm = self.realm.ok_or(ParseError::MissingParameter("realm"))?;
        let nonce = self.nonce.ok_or(ParseError::MissingParameter("nonce"))?;
        let uri = self.uri.ok_or(ParseError::MissingParameter("uri"))?;
        let response = self
            .response
            .ok_or(ParseError::MissingParameter("response"))?;
        if response.is_empty() || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError::InvalidResponse);
        }
        let algorithm = match self.algorithm {
            None => Algorithm::Md5,
            Some(token) => Algorithm::from_token(&token)
                .ok_or_else(|| ParseError::UnknownAlgorithm(excerpt(&token)))?,
        };
        let nc = match self.nc {
            None => None,
            Some(literal) => {
                let valid = (1..=8).contains(&literal.len())
                    && literal.bytes().all(|b| b.is_ascii_hexdigit());
                let value = valid
                    .then(|| u32::from_str_radix(&literal, 16).ok())
                    .flatten()
                    .ok_or_else(|| ParseError::InvalidNonceCount(excerpt(&literal)))?;
                Some(NonceCount { literal, value })
            }
        };
        if self.qop.is_some() {
            if self.cnonce.is_none() {
                return Err(ParseError::MissingParameter("cnonce"));
            }
            if nc.is_none() {
                return Err(ParseError::MissingParameter("nc"));
            }
        }
        let userhash = match self.userhash {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(ParseError::InvalidUserhash(excerpt(&v))),
        };
        Ok(DigestCredentials {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce: self.cnonce,
            opaque: self.opaque,
            qop: self.qop,
            nc,
            userhash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> DigestCredentials<'_> {
        match DigestCredentials::parse(value) {
            Ok(Some(c)) => c,
            other => panic!("expected Digest credentials, got {other:?}"),
        }
    }

    #[test]
    fn parses_rfc3261_section_22_4_style_credentials() {
        let c = parse(
            "Digest username=\"bob\", realm=\"biloxi.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.com\", \
             qop=auth, nc=00000001, cnonce=\"0a4f113b\", \
             response=\"6629fae49393a05397450978507c4ef1\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        );
        assert_eq!(c.username, "bob");
        assert_eq!(c.realm, "biloxi.com");
        assert_eq!(c.uri, "sip:bob@biloxi.com");
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc.as_ref().map(|n| n.value), Some(1));
        assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(
            c.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
        assert!(!c.userhash);
    }

    #[test]
    fn accepts_any_order_case_and_spacing_and_folded_lines() {
        let c = parse(
            "dIgEsT   RESPONSE = \"ABCDEF01\" ,ALGORITHM=sha-256-SESS,\r\n Realm=\"r\",,\
             nonce=n, Uri=\"sip:a@b\",\tuserNAME=\"al\\\"ice\\\\\", qop=\"auth\", nc=\"0000000a\", \
             cnonce=\"c\", userhash=FALSE, future-param=\"whatever, really\"",
        );
        assert_eq!(c.username, "al\"ice\\");
        assert_eq!(c.algorithm, Algorithm::Sha256Sess);
        assert_eq!(c.nonce, "n");
        assert_eq!(c.response, "ABCDEF01");
        assert_eq!(c.nc.as_ref().map(|n| n.value), Some(10));
        assert_eq!(c.nc.as_ref().map(|n| n.literal.as_ref()), Some("0000000a"));
    }

    #[test]
    fn missing_algorithm_means_md5() {
        let c = parse("Digest username=a, realm=r, nonce=n, uri=u, response=00");
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert!(c.digest_input().qop.is_none());
    }

    #[test]
    fn a_non_digest_scheme_is_not_for_us() {
        // RFC 4475 §3.3.7 (regaut01): an unknown scheme.
        for value in [
            "NoOneKnowsThisScheme opaque-data=here",
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "",
            "   ",
            "Digestion username=a",
        ] {
            assert_eq!(DigestCredentials::parse(value), Ok(None), "{value:?}");
        }
    }

    #[test]
    fn malformed_values_are_typed_errors() {
        let cases: &[(&str, ParseError)] = &[
            ("Digest", ParseError::MissingParameter("username")),
            (
                "Digest username=\"a",
                ParseError::UnterminatedQuotedString {
                    name: "username".into(),
                },
            ),
            (
                "Digest username=\"a\\",
                ParseError::UnterminatedQuotedString {
                    name: "username".into(),
                },
            ),
            (
                "Digest username",
                ParseError::ExpectedValue {
                    name: "username".into(),
                },
            ),
            (
                "Digest username=",
                ParseError::ExpectedValue {
                    name: "username".into(),
                },
            ),
            (
                "Digest username=\"a\" realm=\"r\"",
                ParseError::ExpectedComma {
                    name: "username".into(),
                },
            ),
            ("Digest =x", ParseError::ExpectedParameterName { at: 7 }),
            (
                "Digest username=a, USERNAME=b",
                ParseError::DuplicateParameter("USERNAME".into()),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=zz",
                ParseError::InvalidResponse,
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, algorithm=SHA-1",
                ParseError::UnknownAlgorithm("SHA-1".into()),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, qop=auth, nc=1",
                ParseError::MissingParameter("cnonce"),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, qop=auth, cnonce=c",
                ParseError::MissingParameter("nc"),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, qop=auth, cnonce=c, nc=123456789",
                ParseError::InvalidNonceCount("123456789".into()),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, qop=auth, cnonce=c, nc=-1",
                ParseError::InvalidNonceCount("-1".into()),
            ),
            (
                "Digest username=a, realm=r, nonce=n, uri=u, response=00, userhash=maybe",
                ParseError::InvalidUserhash("maybe".into()),
            ),
            (
                "Digest username*=UTF-8''J%C3%A4s%C3%B8n, realm=r, nonce=n, uri=u, response=00",
                ParseError::ExtendedUsernameUnsupported,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                DigestCredentials::parse(value).as_ref().err(),
                Some(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn error_excerpts_of_peer_input_are_bounded() {
        let long = "x".repeat(10_000);
        let value =
            format!("Digest username=a, realm=r, nonce=n, uri=u, response=00, algorithm={long}");
        match DigestCredentials::parse(&value) {
            Err(ParseError::UnknownAlgorithm(s)) => assert!(s.chars().count() <= EXCERPT_MAX + 1),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn never_panics_on_arbitrary_prefixes_of_a_valid_value() {
        let value = "Digest username=\"Mufasa\", realm=\"é\\\"x\", nonce=\"n\", uri=\"sip:x\", \
                     response=\"00\", qop=auth, nc=00000001, cnonce=\"c\"";
        for (i, _) in value.char_indices() {
            let _ = DigestCredentials::parse(&value[..i]);
            let _ = DigestCredentials::parse(&value[i..]);
        }
    }
}
