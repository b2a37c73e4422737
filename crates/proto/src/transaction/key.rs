//! Transaction identities: the opaque keys the TU holds, and the matching rules that map a
//! message to a transaction (RFC 3261 §17.1.3 for clients, §17.2.3 for servers).

use std::fmt;

use crossbar_sip::{Method, Request, Via};

use super::error::InputError;
use super::peer::Transport;

/// The branch prefix of RFC 3261 transaction identifiers (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A server transaction, as the TU names it in [`super::Transactions::send_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerKey(pub(crate) u64);

/// A client transaction, as returned by [`super::Transactions::send_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey(pub(crate) u64);

/// Either kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionKey {
    Server(ServerKey),
    Client(ClientKey),
}

impl From<ServerKey> for TransactionKey {
    fn from(key: ServerKey) -> TransactionKey {
        TransactionKey::Server(key)
    }
}

impl From<ClientKey> for TransactionKey {
    fn from(key: ClientKey) -> TransactionKey {
        TransactionKey::Client(key)
    }
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server#{}", self.0)
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionKey::Server(key) => key.fmt(f),
            TransactionKey::Client(key) => key.fmt(f),
        }
    }
}

/// The RFC 3261 branch of a `Via`: present, starting with the magic cookie and with an
/// identifier after it. `branch=z9hG4bK` alone (RFC 4475 §3.2.1 "badbranch") is not one.
pub(crate) fn rfc3261_branch(via: &Via) -> Option<&str> {
    via.branch()
        .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())
}

/// A `sent-by` as compared in §17.2.3: host case-insensitively, the port defaulted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SentBy {
    host: String,
    port: u16,
}

impl SentBy {
    pub(crate) fn of(via: &Via) -> SentBy {
        let default_port = Transport::from_via_token(&via.transport)
            .map(Transport::default_port)
            .unwrap_or(5060);
        SentBy {
            host: via.host.to_string().to_ascii_lowercase(),
            port: via.port.unwrap_or(default_port),
        }
    }
}

/// What a server transaction is found by (§17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerMatch {
    /// RFC 3261: the top `Via` branch and sent-by, and the method (ACK counts as INVITE).
    Branch {
        branch: String,
        sent_by: SentBy,
        method: Method,
    },
    /// RFC 2543 fallback, for requests without an RFC 3261 branch.
    Legacy(LegacyMatch),
}

/// The RFC 2543 identity of a request (§17.2.3, second half): Request-URI, To tag, From
/// tag, Call-ID, CSeq and top `Via`. ACK is matched by [`LegacyMatch::acknowledges`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LegacyMatch {
    request_uri: String,
    from_tag: Option<String>,
    to_tag: Option<String>,
    call_id: String,
    cseq: u32,
    method: Method,
    top_via: String,
}

impl ServerMatch {
    /// The identity of `request`, whose top `Via` (already stamped with `received`/`rport`)
    /// is `top_via`. An ACK gets its INVITE's method, so it finds the INVITE transaction.
    pub(crate) fn of_request(request: &Request, top_via: &Via) -> Result<ServerMatch, InputError> {
        let method = match request.method {
            Method::Ack => Method::Invite,
            ref other => other.clone(),
        };
        if let Some(branch) = rfc3261_branch(top_via) {
            return Ok(ServerMatch::Branch {
                branch: branch.to_owned(),
                sent_by: SentBy::of(top_via),
                method,
            });
        }
        let headers = &request.headers;
        let call_id = headers.call_id().ok_or(InputError::MissingCallId)?;
        let cseq = headers.cseq().map_err(InputError::CSeq)?;
        let from_tag = headers
            .from()
            .map_err(InputError::FromHeader)?
            .tag()
            .map(str::to_owned);
        let to_tag = headers
            .to()
            .map_err(InputError::ToHeader)?
            .tag()
            .map(str::to_owned);
        Ok(ServerMatch::Legacy(LegacyMatch {
            request_uri: request.uri.to_string(),
            from_tag,
            to_tag,
            call_id: call_id.to_owned(),
            cseq: cseq.seq,
            method,
            top_via: top_via.to_string(),
        }))
    }

    /// The same identity with another method: a CANCEL's key looks for the INVITE (§9.2).
    pub(crate) fn with_method(&self, method: Method) -> ServerMatch {
        match self {
            ServerMatch::Branch {
                branch, sent_by, ..
            } => ServerMatch::Branch {
                branch: branch.clone(),
                sent_by: sent_by.clone(),
                method,
            },
            ServerMatch::Legacy(legacy) => ServerMatch::Legacy(LegacyMatch {
                method,
                ..legacy.clone()
            }),
        }
    }

    pub(crate) fn method(&self) -> &Method {
        match self {
            ServerMatch::Branch { method, .. } => method,
            ServerMatch::Legacy(legacy) => &legacy.method,
        }
    }

    /// Whether this and `other` name the same request apart from the method: the
    /// transactions a CANCEL can target (§9.2).
    pub(crate) fn same_request(&self, other: &ServerMatch) -> bool {
        match (self, other) {
            (
                ServerMatch::Branch {
                    branch: a,
                    sent_by: sa,
                    ..
                },
                ServerMatch::Branch {
                    branch: b,
                    sent_by: sb,
                    ..
                },
            ) => a == b && sa == sb,
            (ServerMatch::Legacy(a), ServerMatch::Legacy(b)) => {
                LegacyMatch {
                    method: b.method.clone(),
                    ..a.clone()
                } == *b
            }
            _ => false,
        }
    }
}

impl LegacyMatch {
    /// Whether an ACK with this identity (method already mapped to INVITE) acknowledges the
    /// INVITE transaction `invite`, whose final response carried `response_to_tag`: every
    /// field but the To tag must match, and the To tag must be the response's (§17.2.3).
    pub(crate) fn acknowledges(&self, invite: &LegacyMatch, response_to_tag: Option<&str>) -> bool {
        self.request_uri == invite.request_uri
            && self.from_tag == invite.from_tag
            && self.call_id == invite.call_id
            && self.cseq == invite.cseq
            && self.top_via == invite.top_via
            && invite.method == Method::Invite
            && self.to_tag.as_deref() == response_to_tag
    }
}

/// What a client transaction is found by (§17.1.3): the branch of the top `Via` and the
/// `CSeq` method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientMatch {
    pub(crate) branch: String,
    pub(crate) method: Method,
}

/// Branches and tags: unique per seed, reproducible for tests. The run loop seeds it from
/// the OS so that identifiers differ across restarts and nodes (§8.1.1.7, §19.3).
#[derive(Debug, Clone)]
pub(crate) struct TokenSource {
    seed: u64,
    counter: u64,
}

impl TokenSource {
    pub(crate) fn new(seed: u64) -> TokenSource {
        TokenSource { seed, counter: 0 }
    }

    /// 16 hex digits, distinct for every call with one seed: the counter times an odd
    /// constant is a bijection, and so is the SplitMix64 finaliser.
    pub(crate) fn next_token(&mut self) -> String {
        self.counter = self.counter.wrapping_add(1);
        let mut z = self.seed ^ self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        format!("{z:016x}")
    }
}

/// A tag derived from `parts` (FNV-1a), so a stateless response to a retransmitted request
/// carries the same `To` tag (§8.2.7).
pub(crate) fn derived_tag(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_sip::{Host, Params};

    fn via_with_branch(branch: Option<&str>) -> Via {
        Via {
            protocol: "SIP/2.0".to_owned(),
            transport: "UDP".to_owned(),
            host: Host::Name("pc.example.com".to_owned()),
            port: None,
            params: Params(
                branch
                    .map(|b| vec![("branch".to_owned(), Some(b.to_owned()))])
                    .unwrap_or_default(),
            ),
        }
    }

    #[test]
    fn branch_of_only_the_magic_cookie_is_not_an_rfc3261_branch() {
        assert_eq!(rfc3261_branch(&via_with_branch(Some("z9hG4bK"))), None);
        assert_eq!(rfc3261_branch(&via_with_branch(Some("1234"))), None);
        assert_eq!(rfc3261_branch(&via_with_branch(None)), None);
        assert_eq!(
            rfc3261_branch(&via_with_branch(Some("z9hG4bK776asdhds"))),
            Some("z9hG4bK776asdhds")
        );
    }

    #[test]
    fn sent_by_defaults_the_port_and_ignores_host_case() {
        let mut a = via_with_branch(None);
        let mut b = via_with_branch(None);
        a.host = Host::Name("PC.Example.COM".to_owned());
        b.port = Some(5060);
        assert_eq!(SentBy::of(&a), SentBy::of(&b));
        b.transport = "TLS".to_owned();
        b.port = None;
        assert_ne!(SentBy::of(&a), SentBy::of(&b), "TLS defaults to 5061");
    }

    #[test]
    fn tokens_do_not_repeat_for_one_seed_and_differ_across_seeds() {
        let mut one = TokenSource::new(1);
        let tokens: std::collections::HashSet<String> =
            (0..10_000).map(|_| one.next_token()).collect();
        assert_eq!(tokens.len(), 10_000);
        assert!(!tokens.contains(&TokenSource::new(2).next_token()));
    }

    #[test]
    fn derived_tag_is_stable_and_depends_on_every_part() {
        assert_eq!(derived_tag(&["a", "b"]), derived_tag(&["a", "b"]));
        assert_ne!(derived_tag(&["a", "b"]), derived_tag(&["ab", ""]));
    }
}
