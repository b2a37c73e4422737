//! Where a message comes from or goes to: a transport and a socket address.
//!
//! The transaction layer never opens sockets; it names the far end with a [`Peer`] and the
//! run loop that owns the sockets maps it to one (for connection-oriented transports, the
//! connection to or from that address).

use std::fmt;
use std::net::SocketAddr;

/// A SIP transport (RFC 3261 §18; RFC 7118 for WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Sctp,
    Ws,
    Wss,
}

impl Transport {
    /// Every transport but UDP is reliable: no retransmissions (Timers A, E, G are not
    /// used) and the wait timers D, I, J, K are zero (RFC 3261 §17.1.1.2, §17.1.2.2,
    /// §17.2.1, §17.2.2).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The `transport` token of a `Via` (§20.42; RFC 7118 §5 for `WS`/`WSS`).
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Maps a `Via` transport token (any case) to a transport.
    pub fn from_via_token(token: &str) -> Option<Transport> {
        [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Sctp,
            Transport::Ws,
            Transport::Wss,
        ]
        .into_iter()
        .find(|t| t.via_token().eq_ignore_ascii_case(token))
    }

    /// The port a `sent-by` without one means: 5061 for TLS, else 5060 (§18.2.2, §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls | Transport::Wss => 5061,
            _ => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// The far end of a message: the transport and the socket address. For connection-oriented
/// transports it stands for the connection to (or from) that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl Peer {
    pub fn new(transport: Transport, addr: SocketAddr) -> Peer {
        Peer { transport, addr }
    }

    pub fn udp(addr: SocketAddr) -> Peer {
        Peer::new(Transport::Udp, addr)
    }

    pub fn tcp(addr: SocketAddr) -> Peer {
        Peer::new(Transport::Tcp, addr)
    }

    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}
