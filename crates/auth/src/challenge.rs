//! The client side of digest: a server's challenge (`WWW-Authenticate` in a 401,
//! `Proxy-Authenticate` in a 407; RFC 3261 §22.2–22.3, RFC 7616 §3.3) and the credentials
//! that answer it (RFC 7616 §3.4). What crossbar needs wherever it is the one asked to
//! authenticate: towards a carrier's trunk, and in its own load generator and tests.

use std::fmt::Write as _;

use crate::algorithm::{Algorithm, DigestInput, QopInput, ha1};
use crate::credentials::{ParamCursor, ParseError, excerpt};

/// A parsed `Digest` challenge (RFC 7616 §3.3). Unknown parameters are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, returned unchanged in the credentials.
    pub opaque: Option<String>,
    /// `algorithm`; MD5 when absent.
    pub algorithm: Algorithm,
    /// The `qop` options offered (`auth`, `auth-int`); empty for an RFC 2069-style challenge.
    pub qop: Vec<String>,
    /// `stale=true`: the previous credentials were right but their nonce expired, so the
    /// request can be retried with the new nonce without asking the user (RFC 7616 §3.3).
    pub stale: bool,
}

/// What a client needs to answer a challenge for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// The request's method (`REGISTER`, `INVITE`, ...).
    pub method: &'a str,
    /// The digest `uri`: the Request-URI (RFC 3261 §22.4).
    pub uri: &'a str,
    /// The user name the server knows the client by.
    pub username: &'a str,
    /// Its password.
    pub password: &'a str,
    /// A client nonce, unique per answer (used when the challenge offers `qop=auth`).
    pub cnonce: &'a str,
    /// How many requests this client has sent with this nonce, this one included (from 1).
    pub nonce_count: u32,
}

impl DigestChallenge {
    /// Parses a challenge header value. `Ok(None)` when its scheme is not `Digest`.
    pub fn parse(value: &str) -> Result<Option<DigestChallenge>, ParseError> {
        let Some(mut params) = ParamCursor::after_scheme(value, "Digest") else {
            return Ok(None);
        };
        let (mut realm, mut nonce, mut opaque, mut algorithm, mut qop, mut stale) =
            (None, None, None, None, None, None);
        while let Some((name, value)) = params.next_param()? {
            let slot = match name.to_ascii_lowercase().as_str() {
                "realm" => &mut realm,
                "nonce" => &mut nonce,
                "opaque" => &mut opaque,
                "algorithm" => &mut algorithm,
                "qop" => &mut qop,
                "stale" => &mut stale,
                // domain, charset, userhash and extensions: nothing a SIP client needs.
                _ => continue,
            };
            if slot.is_some() {
                return Err(ParseError::DuplicateParameter(excerpt(name)));
            }
            *slot = Some(value.into_owned());
        }
        let algorithm = match algorithm {
            None => Algorithm::Md5,
            Some(token) => Algorithm::from_token(&token)
                .ok_or_else(|| ParseError::UnknownAlgorithm(excerpt(&token)))?,
        };
        Ok(Some(DigestChallenge {
            realm: realm.ok_or(ParseError::MissingParameter("realm"))?,
            nonce: nonce.ok_or(ParseError::MissingParameter("nonce"))?,
            opaque,
            algorithm,
            qop: qop
                .map(|q| {
                    q.split(',')
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: stale.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        }))
    }

    /// The `Authorization` / `Proxy-Authorization` value answering this challenge
    /// (RFC 7616 §3.4): with `qop=auth` when offered, else the RFC 2069 form.
    pub fn authorization(&self, answer: &Answer<'_>) -> String {
        let nc = format!("{:08x}", answer.nonce_count);
        let qop = self.qop.iter().any(|q| q == "auth").then_some(QopInput {
            qop: "auth",
            nc: &nc,
            cnonce: answer.cnonce,
        });
        let input = DigestInput {
            algorithm: self.algorithm,
            nonce: &self.nonce,
            uri: answer.uri,
            qop,
        };
        let stored = ha1(
            self.algorithm,
            answer.username,
            &self.realm,
            answer.password,
        );
        let mut value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", \
             algorithm={}",
            quoted(answer.username),
            quoted(&self.realm),
            quoted(&self.nonce),
            quoted(answer.uri),
            input.response(&stored, answer.method),
            self.algorithm.token()
        );
        if let Some(opaque) = &self.opaque {
            let _ = write!(value, ", opaque=\"{}\"", quoted(opaque));
        }
        if qop.is_some() {
            let _ = write!(
                value,
                ", qop=auth, nc={nc}, cnonce=\"{}\"",
                quoted(answer.cnonce)
            );
        }
        value
    }
}

/// The inside of a `quoted-string` (RFC 3261 §25.1): `"` and `\` escaped.
fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['"', '\\']) {
        let mut out = String::with_capacity(text.len() + 2);
        for c in text.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::{Authenticator, Config, Outcome, Secret};

    fn answer<'a>(method: &'a str, uri: &'a str) -> Answer<'a> {
        Answer {
            method,
            uri,
            username: "201",
            password: "s3cret \"quoted\"",
            cnonce: "c-1",
            nonce_count: 1,
        }
    }

    #[test]
    fn parses_an_rfc_7616_challenge() {
        let c = DigestChallenge::parse(
            "Digest realm=\"pbx.example\", nonce=\"abc\", opaque=\"o\", \
             algorithm=SHA-256, qop=\"auth, auth-int\", stale=TRUE, domain=\"sip:x\"",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.realm, "pbx.example");
        assert_eq!(c.nonce, "abc");
        assert_eq!(c.opaque.as_deref(), Some("o"));
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, ["auth", "auth-int"]);
        assert!(c.stale);
    }

    #[test]
    fn defaults_and_errors() {
        let c = DigestChallenge::parse("digest realm=r, nonce=n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.algorithm, c.qop.len(), c.stale),
            (Algorithm::Md5, 0, false)
        );
        assert_eq!(DigestChallenge::parse("Basic realm=\"r\""), Ok(None));
        assert_eq!(
            DigestChallenge::parse("Digest nonce=n"),
            Err(ParseError::MissingParameter("realm"))
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=r, nonce=n, algorithm=ROT13"),
            Err(ParseError::UnknownAlgorithm("ROT13".into()))
        );
        assert_eq!(
            DigestChallenge::parse("Digest realm=r, realm=s, nonce=n"),
            Err(ParseError::DuplicateParameter("realm".into()))
        );
    }

    /// Every challenge crossbar's own server side issues, answered by the client side,
    /// verifies — for each algorithm (a fresh nonce each: the challenges of one response
    /// share theirs, and answering it twice with nc=1 is a replay).
    #[test]
    fn answers_verify_against_the_server_side() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut config = Config::new("pbx.example");
        config.algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
        let mut server = Authenticator::from_seed(config, 3, start).unwrap();
        let now = start + Duration::from_secs(1);
        for index in 0..2 {
            let value = server.challenges(now, false).swap_remove(index);
            let challenge = DigestChallenge::parse(&value).unwrap().unwrap();
            let credentials = challenge.authorization(&answer("INVITE", "sip:202@pbx.example"));
            let outcome = server
                .verify(now, "INVITE", [credentials.as_str()], |user, _| {
                    (user == "201").then(|| Secret::Password("s3cret \"quoted\"".into()))
                })
                .unwrap();
            assert!(
                matches!(outcome, Outcome::Authenticated(_)),
                "{value} answered by {credentials}: {outcome:?}"
            );
        }
    }

    #[test]
    fn without_qop_the_rfc_2069_form_is_sent() {
        let c = DigestChallenge::parse("Digest realm=\"r\", nonce=\"n\"")
            .unwrap()
            .unwrap();
        let value = c.authorization(&answer("REGISTER", "sip:r"));
        assert!(!value.contains("qop"), "{value}");
        assert!(!value.contains("cnonce"), "{value}");
        let parsed = crate::DigestCredentials::parse(&value).unwrap().unwrap();
        assert_eq!(parsed.username, "201");
        assert_eq!(parsed.uri, "sip:r");
    }
}
