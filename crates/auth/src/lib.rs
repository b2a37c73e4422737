//! SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760; RFC 2617 for `qop`): the
//! server side for a registrar or a B2BUA, and the client side ([`DigestChallenge`]) for
//! when crossbar itself is challenged.
//!
//! Sans-IO and independent of the SIP message model: header *values* go in as `&str` and come
//! out as `String`, wall-clock time comes in as a [`std::time::SystemTime`], and the user
//! directory is a closure.
//!
//! # A registrar's flow
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use crossbar_auth::{Authenticator, Config, Outcome, Secret};
//!
//! let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//! // In the server: `Authenticator::new(config, &persisted_key, os_random_bytes, start)`.
//! let mut auth = Authenticator::from_seed(Config::new("example.com"), 7, start)?;
//!
//! // 1. A REGISTER without credentials: answer 401 with one WWW-Authenticate per value.
//! let now = start + Duration::from_secs(1);
//! let outcome = auth.verify(now, "REGISTER", None, |_, _| None)?;
//! assert_eq!(outcome, Outcome::NoCredentials);
//! let challenges = auth.challenges(now, outcome.stale());
//! assert!(challenges[0].contains("algorithm=SHA-256"));
//! assert!(challenges[1].contains("algorithm=MD5"));
//!
//! // 2. The phone answers one of them (here computed with this crate's own helpers).
//! let nonce = challenges[1].split("nonce=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
//! let input = crossbar_auth::DigestInput {
//!     algorithm: crossbar_auth::Algorithm::Md5,
//!     nonce,
//!     uri: "sip:example.com",
//!     qop: Some(crossbar_auth::QopInput { qop: "auth", nc: "00000001", cnonce: "x1" }),
//! };
//! let ha1 = crossbar_auth::ha1(input.algorithm, "201", "example.com", "s3cret");
//! let authorization = format!(
//!     "Digest username=\"201\", realm=\"example.com\", nonce=\"{nonce}\", \
//!      uri=\"sip:example.com\", response=\"{}\", algorithm=MD5, cnonce=\"x1\", \
//!      opaque=\"{}\", qop=auth, nc=00000001",
//!     input.response(&ha1, "REGISTER"),
//!     auth.opaque(),
//! );
//!
//! // 3. Verify it against the directory (plain secret or stored HA1 per hash).
//! let outcome = auth.verify(now, "REGISTER", [authorization.as_str()], |user, _hash| {
//!     (user == "201").then(|| Secret::Password("s3cret".into()))
//! })?;
//! match outcome {
//!     Outcome::Authenticated(who) => {
//!         assert_eq!(who.username, "201");
//!         // 200 OK, optionally with `Authentication-Info: {who.authentication_info()}`.
//!         assert!(who.authentication_info().is_some());
//!     }
//!     // Everything else: 401 with `auth.challenges(now, other.stale())`. Unknown users and
//!     // wrong passwords get the same answer.
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions
//!
//! * **Nonces** are stateless:
//!   `base64url(issued ‖ instance ‖ sequence ‖ HMAC-SHA256(key, realm ‖ …)[..16])`
//!   (54 characters), valid for [`Config::nonce_lifetime`] (300 s by default). An authentic but
//!   expired nonce gives [`Outcome::Stale`] (re-challenge with `stale=true`); a forged or
//!   altered one [`Refusal::InvalidNonce`].
//! * **Restarts**: the [`ServerKey`] is persisted by the caller, so pre-restart nonces are still
//!   recognised — but their nonce-count history is gone, so by default they are answered
//!   `Stale` (phones re-authenticate silently) rather than accepted, which would let a captured
//!   request be replayed once. [`Config::accept_nonces_from_other_instances`] trades that for
//!   clusters sharing a key.
//! * **Replay** (RFC 7616 §3.4): a bounded table (default 100 000 nonces) of the highest `nc`
//!   per nonce; entries are created only by requests with a valid response, expire with their
//!   nonce, and when the table overflows the oldest are dropped and nonces that old become
//!   `Stale` — never silently replayable.
//! * **No `qop`** (RFC 2069 style): by default each nonce is accepted once
//!   ([`QoplessPolicy::SingleUse`]); see [`QoplessPolicy`] for the alternatives.
//! * **User enumeration**: [`Outcome::UnknownUser`] and [`Outcome::WrongCredentials`] are
//!   distinct for logging, but both are answered with an identical fresh challenge, and the
//!   unknown-user path hashes a dummy secret so it costs the same as a known user with a plain
//!   secret (a stored-HA1 lookup skips one hash, well under a microsecond — far below network
//!   and directory-lookup jitter).

mod algorithm;
mod authenticator;
mod challenge;
mod credentials;
mod nonce;
mod replay;

pub use algorithm::{Algorithm, DigestInput, HashAlgorithm, QopInput, ha1};
pub use authenticator::{
    Authenticated, Authenticator, Config, ConfigError, Outcome, QoplessPolicy, Refusal, Secret,
    VerifyError,
};
pub use challenge::{Answer, DigestChallenge};
pub use credentials::{DigestCredentials, NonceCount, ParseError};
pub use nonce::ServerKey;
