//! The server side of SIP digest authentication: challenges (RFC 3261 §22.1, RFC 8760 §2.4),
//! verification (RFC 7616 §3.4, RFC 3261 §22.4) and `Authentication-Info` (RFC 7616 §3.5).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::algorithm::{Algorithm, HashAlgorithm, ha1};
use crate::credentials::{DigestCredentials, ParseError};
use crate::nonce::{NonceSeal, ServerKey};
use crate::replay::{Minted, NonceCounts, NonceUse, Refused};

/// The secret hashed for a user that does not exist, so that an unknown user costs the same
/// work as a known one with a plain secret. Matching it still yields [`Outcome::UnknownUser`].
const ABSENT_USER_SECRET: &str = "crossbar-auth: no such user";

/// What to do with a response that carries no `qop` (RFC 2069 style, some legacy phones).
///
/// Such a response has no nonce-count, so the server cannot tell a retransmitted request from a
/// replayed one (RFC 2617 §3.2.2, §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QoplessPolicy {
    /// Refuse; the outcome is [`Refusal::QopRequired`].
    Refuse,
    /// Accept each nonce once (RFC 2617 §3.2.1 allows one-time nonces); a second use is
    /// [`Outcome::Replay`], answered with `stale=true` so the phone retries with a fresh nonce
    /// without asking its user. Replay-safe at the cost of one extra round trip per request.
    #[default]
    SingleUse,
    /// Accept any number of uses while the nonce lives: no replay protection at all within
    /// [`Config::nonce_lifetime`]. Only for phones that break on single-use nonces.
    ReuseWithinLifetime,
}

/// How an [`Authenticator`] challenges and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The realm (RFC 3261 §22.1: typically the domain; RFC 7616 §3.3). One authenticator per
    /// realm; several may share a [`ServerKey`].
    pub realm: String,
    /// The algorithms offered, one challenge each, in this order (RFC 8760 §2.4: the preferred
    /// first). Credentials using an algorithm not listed are refused. Default
    /// `[SHA-256, MD5]`. Interop note: a phone that only reads the *first* challenge and only
    /// knows MD5 fails against this order; for such fleets put MD5 first or drop SHA-256.
    pub algorithms: Vec<Algorithm>,
    /// How long a nonce is accepted (default 300 s). Older nonces → [`Outcome::Stale`].
    pub nonce_lifetime: Duration,
    /// Send an `opaque` and require it back unchanged (default true; RFC 7616 §3.3/§3.4: the
    /// client MUST return it). When false, none is sent and any returned one is ignored.
    pub opaque: bool,
    /// Responses without `qop` (default [`QoplessPolicy::SingleUse`]).
    pub qopless: QoplessPolicy,
    /// Bound of the nonce-count table (default 100 000 nonces, ≈10 MB).
    pub max_tracked_nonces: usize,
    /// Accept nonces minted by another process with the same key — a previous run of this
    /// server, or another node of a cluster sharing the key (default false). The nonce-count
    /// table is per process, so when true a captured request can be replayed once per process
    /// (e.g. once after each restart) within the nonce lifetime. When false, such nonces are
    /// answered [`Outcome::Stale`] and phones silently re-authenticate.
    pub accept_nonces_from_other_instances: bool,
}

impl Config {
    /// The defaults for `realm`.
    pub fn new(realm: impl Into<String>) -> Self {
        Config {
            realm: realm.into(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            nonce_lifetime: Duration::from_secs(300),
            opaque: true,
            qopless: QoplessPolicy::default(),
            max_tracked_nonces: 100_000,
            accept_nonces_from_other_instances: false,
        }
    }
}

/// A [`Config`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// No algorithm to offer.
    #[error("no digest algorithm configured")]
    NoAlgorithms,
    /// The realm is empty or contains control characters.
    #[error("the realm is empty or contains control characters")]
    InvalidRealm,
    /// The nonce lifetime is under one second.
    #[error("the nonce lifetime must be at least one second")]
    NonceLifetimeTooShort,
    /// The nonce-count table has no room.
    #[error("max_tracked_nonces must be at least 1")]
    NoNonceTracking,
}

/// What the directory knows about a user, for one hash function.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The plain secret.
    Password(String),
    /// A stored `HA1 = H(username ":" realm ":" password)` in hex (see [`ha1`]) for the
    /// requested [`HashAlgorithm`] and this authenticator's realm.
    Ha1(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::Ha1(_) => f.write_str("Ha1(<redacted>)"),
        }
    }
}

/// The result of [`Authenticator::verify`].
///
/// Every outcome but `Authenticated` is answered with a fresh challenge
/// ([`Authenticator::challenges`] with `stale = outcome.stale()`). In particular `UnknownUser` and
/// `WrongCredentials` both get `stale=false` and a new nonce — identical on the wire — so a
/// caller that follows this rule does not reveal which extensions exist; the distinction is for
/// logs and intrusion detection only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The response is correct, the nonce fresh and not replayed.
    Authenticated(Authenticated),
    /// No `Digest` credentials (none at all, or only other schemes such as RFC 4475 §3.3.7's
    /// `NoOneKnowsThisScheme`): challenge.
    NoCredentials,
    /// The response is correct but the nonce expired, predates this process, or its history was
    /// evicted: challenge with `stale=true` (RFC 7616 §3.3), the phone retries silently.
    Stale,
    /// The response is correct but the nonce-count is not above the highest seen for this
    /// nonce (RFC 7616 §3.4), or a single-use nonce was reused. Challenged with `stale=true`:
    /// a legitimate phone re-authenticates silently, a replayer gains nothing.
    Replay,
    /// The user exists but the response is wrong.
    WrongCredentials {
        /// The claimed user name (peer input).
        username: String,
    },
    /// The directory has no such user. Same answer as `WrongCredentials`.
    UnknownUser {
        /// The claimed user name (peer input).
        username: String,
    },
    /// The credentials do not fit our challenge.
    Refused(Refusal),
}

impl Outcome {
    /// Whether the re-challenge for this outcome carries `stale=true` (RFC 7616 §3.3: only when
    /// the response itself was valid). Meaningless for `Authenticated`.
    pub fn stale(&self) -> bool {
        matches!(self, Outcome::Stale | Outcome::Replay)
    }

    /// The authenticated identity, if any.
    pub fn authenticated(&self) -> Option<&Authenticated> {
        match self {
            Outcome::Authenticated(a) => Some(a),
            _ => None,
        }
    }
}

/// Why credentials were refused before their response was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Digest credentials were present but none for our realm (RFC 3261 §22.3: e.g. meant for
    /// another proxy).
    WrongRealm,
    /// `opaque` missing or not ours (RFC 7616 §3.4).
    WrongOpaque,
    /// The nonce was not minted by us for this realm: forged, altered, or from another server.
    InvalidNonce,
    /// The algorithm is one we did not offer.
    AlgorithmNotOffered(Algorithm),
    /// No `qop` and [`QoplessPolicy::Refuse`], or a `-sess` algorithm without `qop` (it needs a
    /// cnonce).
    QopRequired,
    /// A `qop` other than `auth` (e.g. `auth-int`, which we never offer).
    UnsupportedQop,
    /// `userhash=true` (RFC 7616 §3.4.4): never offered, so not accepted.
    Userhash,
}

/// A successfully authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The authenticated user name. The caller still checks it may act for the request's
    /// identity (RFC 3261 §10.3 step 6: the To AOR of a REGISTER).
    pub username: String,
    /// The algorithm the client used.
    pub algorithm: Algorithm,
    authentication_info: Option<String>,
}

impl Authenticated {
    /// The `Authentication-Info` value for the 2xx (RFC 7616 §3.5, RFC 2617 §3.2.3):
    /// `qop=auth, rspauth="…", cnonce="…", nc=…`. `None` for a response without `qop`.
    pub fn authentication_info(&self) -> Option<&str> {
        self.authentication_info.as_deref()
    }
}

/// A server-side failure during verification (the peer's malformed input is
/// [`VerifyError::Malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The Digest credentials are malformed: answer 400 (or re-challenge).
    #[error("malformed digest credentials: {0}")]
    Malformed(#[from] ParseError),
    /// The directory returned a [`Secret::Ha1`] that is not a hex digest of the right length.
    #[error("stored HA1 for user `{username}` is not a {expected}-digit hex digest")]
    InvalidStoredHa1 {
        /// The user whose record is broken.
        username: String,
        /// Expected number of hex digits.
        expected: usize,
    },
}

/// Issues challenges and verifies digest credentials for one realm. Sans-IO: time and the
/// user directory come in as arguments; the only state is the bounded nonce-count table.
pub struct Authenticator {
    config: Config,
    seal: NonceSeal,
    instance: [u8; 8],
    next_sequence: u64,
    counts: NonceCounts,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .field("tracked_nonces", &self.counts.len())
            .finish_non_exhaustive()
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn unix_nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Appends `s` as an RFC 3261 §25.1 quoted-string.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

impl Authenticator {
    /// Creates an authenticator.
    ///
    /// `key` is the persisted [`ServerKey`]. `instance_seed` makes this process's instance id
    /// (which tells its nonces from those of earlier runs): pass 32 fresh bytes from the OS
    /// CSPRNG at every start (`now`, the start time, is mixed in as well, so even a constant
    /// seed yields a new instance id per start). `now` is wall-clock time.
    pub fn new(
        config: Config,
        key: &ServerKey,
        instance_seed: [u8; 32],
        now: SystemTime,
    ) -> Result<Self, ConfigError> {
        if config.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if config.realm.is_empty() || config.realm.chars().any(char::is_control) {
            return Err(ConfigError::InvalidRealm);
        }
        if config.nonce_lifetime < Duration::from_secs(1) {
            return Err(ConfigError::NonceLifetimeTooShort);
        }
        if config.max_tracked_nonces == 0 {
            return Err(ConfigError::NoNonceTracking);
        }
        let mut hasher = Sha256::new();
        hasher.update(b"crossbar-auth instance v1");
        hasher.update(instance_seed);
        hasher.update(unix_nanos(now).to_be_bytes());
        let digest = hasher.finalize();
        let mut instance = [0u8; 8];
        instance.copy_from_slice(&digest[..8]);
        Ok(Authenticator {
            seal: NonceSeal::new(key, &config.realm),
            counts: NonceCounts::new(config.max_tracked_nonces),
            config,
            instance,
            next_sequence: 0,
        })
    }

    /// A deterministic authenticator (key and instance seed from `seed`), for tests and
    /// simulations.
    pub fn from_seed(config: Config, seed: u64, now: SystemTime) -> Result<Self, ConfigError> {
        let key = ServerKey::from_seed(seed);
        let mut instance_seed = [0u8; 32];
        instance_seed[..8].copy_from_slice(&seed.to_be_bytes());
        Authenticator::new(config, &key, instance_seed, now)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `opaque` value sent in challenges (stable for key and realm).
    pub fn opaque(&self) -> &str {
        self.seal.opaque()
    }

    /// How many nonces the nonce-count table currently tracks.
    pub fn tracked_nonces(&self) -> usize {
        self.counts.len()
    }

    /// Drops expired nonce-count entries. Optional: [`Authenticator::verify`] does it as it goes.
    pub fn purge_expired(&mut self, now: SystemTime) {
        self.counts.purge_expired(unix_secs(now));
    }

    /// A fresh nonce for this realm, minted at `now`.
    pub fn new_nonce(&mut self, now: SystemTime) -> String {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.seal.mint(unix_secs(now), self.instance, sequence)
    }

    /// The challenge header values for a 401 (`WWW-Authenticate`, registrar/UAS) or a 407
    /// (`Proxy-Authenticate`, proxy/B2BUA) — RFC 3261 §22.1–§22.3. One value per configured
    /// algorithm, in preference order, all with the same fresh nonce (RFC 8760 §2.4,
    /// RFC 7616 §3.7), e.g.
    /// `Digest realm="example.com", nonce="…", opaque="…", algorithm=SHA-256, qop="auth"`.
    /// `stale` adds `stale=true` (use [`Outcome::stale`]).
    pub fn challenges(&mut self, now: SystemTime, stale: bool) -> Vec<String> {
        let nonce = self.new_nonce(now);
        self.config
            .algorithms
            .iter()
            .map(|algorithm| {
                let mut v = String::with_capacity(160);
                v.push_str("Digest realm=");
                push_quoted(&mut v, &self.config.realm);
                v.push_str(", nonce=\"");
                v.push_str(&nonce);
                v.push('"');
                if self.config.opaque {
                    v.push_str(", opaque=\"");
                    v.push_str(self.seal.opaque());
                    v.push('"');
                }
                v.push_str(", algorithm=");
                v.push_str(algorithm.token());
                v.push_str(", qop=\"auth\"");
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Verifies the request's `Authorization` (registrar/UAS) or `Proxy-Authorization`
    /// (proxy/B2BUA) header values — RFC 3261 §22.4, RFC 7616 §3.4.
    ///
    /// * `now`: wall-clock time; `method`: the request method (`REGISTER`, `INVITE`, …).
    /// * `authorization`: every such header value of the request (SIP allows one per realm,
    ///   RFC 3261 §22.3); the first `Digest` one for our realm is used, other schemes are
    ///   ignored.
    /// * `lookup(username, hash)`: the user's [`Secret`], `None` if there is no such user. It
    ///   is called at most once, only for credentials that passed the cheap checks (realm,
    ///   opaque, algorithm, authentic nonce).
    ///
    /// The digest is computed over the `uri` parameter the client sent, which is what its hash
    /// covers. RFC 3261 §22.4 suggests checking it against the Request-URI, but clients
    /// disagree on what to put there (SIPp 3.6.1 sends `sip:<remote_ip>:<remote_port>`, phones
    /// behind proxies see rewritten Request-URIs), and the check adds no protection: the nonce
    /// is bound to our realm, counted, and short-lived.
    ///
    /// Cost: one HMAC-SHA256 plus three or four digest hashes. The response comparison is
    /// constant-time; an unknown user goes through the same hashing with a dummy secret.
    pub fn verify<'v, I, F>(
        &mut self,
        now: SystemTime,
        method: &str,
        authorization: I,
        lookup: F,
    ) -> Result<Outcome, VerifyError>
    where
        I: IntoIterator<Item = &'v str>,
        F: FnOnce(&str, HashAlgorithm) -> Option<Secret>,
    {
        let mut first_error = None;
        let mut other_realm = false;
        let mut ours = None;
        for value in authorization {
            match DigestCredentials::parse(value) {
                Ok(None) => {}
                Ok(Some(c)) if c.realm == self.config.realm => {
                    ours = Some(c);
                    break;
                }
                Ok(Some(_)) => other_realm = true,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some(creds) = ours else {
            return match (first_error, other_realm) {
                (Some(e), _) => Err(VerifyError::Malformed(e)),
                (None, true) => Ok(Outcome::Refused(Refusal::WrongRealm)),
                (None, false) => Ok(Outcome::NoCredentials),
            };
        };
        self.verify_credentials(unix_secs(now), method, &creds, lookup)
    }

    fn verify_credentials<F>(
        &mut self,
        now: u64,
        method: &str,
        creds: &DigestCredentials<'_>,
        lookup: F,
    ) -> Result<Outcome, VerifyError>
    where
        F: FnOnce(&str, HashAlgorithm) -> Option<Secret>,
    {
        let refused = |r| Ok(Outcome::Refused(r));
        if self.config.opaque && creds.opaque.as_deref() != Some(self.seal.opaque()) {
            return refused(Refusal::WrongOpaque);
        }
        let algorithm = creds.algorithm;
        if !self.config.algorithms.contains(&algorithm) {
            return refused(Refusal::AlgorithmNotOffered(algorithm));
        }
        if creds.userhash {
            return refused(Refusal::Userhash);
        }
        let nonce_use = match (&creds.qop, &creds.nc) {
            (Some(qop), Some(nc)) if qop.eq_ignore_ascii_case("auth") => {
                Some(NonceUse::Counted(nc.value))
            }
            (Some(_), _) => return refused(Refusal::UnsupportedQop),
            (None, _) if algorithm.is_session() => return refused(Refusal::QopRequired),
            (None, _) => match self.config.qopless {
                QoplessPolicy::Refuse => return refused(Refusal::QopRequired),
                QoplessPolicy::SingleUse => Some(NonceUse::Once),
                QoplessPolicy::ReuseWithinLifetime => None,
            },
        };
        let Some(claims) = self.seal.open(&creds.nonce) else {
            return refused(Refusal::InvalidNonce);
        };

        // From here on, a known and an unknown user take the same path.
        let hash = algorithm.hash();
        let (secret, known) = match lookup(&creds.username, hash) {
            Some(secret) => (secret, true),
            None => (Secret::Password(ABSENT_USER_SECRET.to_owned()), false),
        };
        let stored_ha1 = match secret {
            Secret::Password(password) => {
                ha1(algorithm, &creds.username, &self.config.realm, &password)
            }
            Secret::Ha1(stored) => {
                if stored.len() != hash.hex_len() || !stored.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(VerifyError::InvalidStoredHa1 {
                        username: creds.username.clone().into_owned(),
                        expected: hash.hex_len(),
                    });
                }
                stored.to_ascii_lowercase()
            }
        };
        let input = creds.digest_input();
        let effective_ha1 = input.effective_ha1(&stored_ha1);
        let expected = input.response_with_effective_ha1(&effective_ha1, method);
        let sent = creds.response.to_ascii_lowercase();
        let matches = bool::from(expected.as_bytes().ct_eq(sent.as_bytes()));
        if !known {
            return Ok(Outcome::UnknownUser {
                username: creds.username.clone().into_owned(),
            });
        }
        if !matches {
            return Ok(Outcome::WrongCredentials {
                username: creds.username.clone().into_owned(),
            });
        }

        // A valid response: now judge the nonce's freshness (RFC 7616 §3.3 `stale`).
        let lifetime = self.config.nonce_lifetime.as_secs();
        let expires = claims.issued.saturating_add(lifetime);
        let minted = if claims.instance == self.instance {
            Minted::Here {
                sequence: claims.sequence,
            }
        } else {
            Minted::Elsewhere {
                issued: claims.issued,
            }
        };
        let foreign = matches!(minted, Minted::Elsewhere { .. });
        if now >= expires
            || claims.issued > now.saturating_add(lifetime)
            || (foreign && !self.config.accept_nonces_from_other_instances)
        {
            return Ok(Outcome::Stale);
        }
        if let Some(nonce_use) = nonce_use {
            match self
                .counts
                .record(claims.tag, minted, expires, now, nonce_use)
            {
                Ok(()) => {}
                Err(Refused::Replay) => return Ok(Outcome::Replay),
                Err(Refused::Forgotten) => return Ok(Outcome::Stale),
            }
        }

        let authentication_info = input.qop.map(|q| {
            let rspauth = input.response_with_effective_ha1(&effective_ha1, "");
            let mut v = String::with_capacity(64 + rspauth.len() + q.cnonce.len());
            v.push_str("qop=auth, rspauth=\"");
            v.push_str(&rspauth);
            v.push_str("\", cnonce=");
            push_quoted(&mut v, q.cnonce);
            v.push_str(", nc=");
            v.push_str(q.nc);
            v
        });
        Ok(Outcome::Authenticated(Authenticated {
            username: creds.username.clone().into_owned(),
            algorithm,
            authentication_info,
        }))
    }
}
