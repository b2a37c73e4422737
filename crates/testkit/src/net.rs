//! The in-memory network: what the machine under test sent to the peers nobody scripts (the
//! phones a test plays by hand), kept per destination until the test takes it, and which
//! addresses are unreachable (everything to and from them is lost) or refuse what is sent
//! to them (the machine is told its send failed, as a refused TCP connection is).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use crossbar_proto::transaction::Peer;
use crossbar_sip::{Message, Method, Request, Response};

/// A UDP peer at `address` (`"192.0.2.1:5060"`).
///
/// # Panics
/// When `address` is not an `ip:port`.
pub fn peer(address: &str) -> Peer {
    Peer::udp(
        address
            .parse()
            .unwrap_or_else(|e| panic!("test address {address:?}: {e}")),
    )
}

#[derive(Debug, Default)]
pub struct Net {
    inboxes: HashMap<Peer, Vec<Message>>,
    unreachable: HashSet<SocketAddr>,
    refusing: HashSet<SocketAddr>,
    lost: usize,
}

impl Net {
    /// Puts `message` in `to`'s inbox.
    pub fn deliver(&mut self, to: Peer, message: Message) {
        self.inboxes.entry(to).or_default().push(message);
    }

    /// Everything `to` got since it was last taken, oldest first (the inbox is emptied).
    pub fn take(&mut self, to: Peer) -> Vec<Message> {
        self.inboxes.remove(&to).unwrap_or_default()
    }

    /// What `to` got, without taking it.
    pub fn peek(&self, to: Peer) -> &[Message] {
        self.inboxes.get(&to).map_or(&[], Vec::as_slice)
    }

    /// The requests `to` got (the whole inbox is taken: responses in it are dropped).
    pub fn requests(&mut self, to: Peer) -> Vec<Request> {
        self.take(to)
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                Message::Response(_) => None,
            })
            .collect()
    }

    /// The responses `to` got (the whole inbox is taken: requests in it are dropped).
    pub fn responses(&mut self, to: Peer) -> Vec<Response> {
        self.take(to)
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    /// The statuses of the responses `to` got (the whole inbox is taken).
    pub fn statuses(&mut self, to: Peer) -> Vec<u16> {
        self.responses(to).iter().map(|r| r.status).collect()
    }

    /// The first request with `method` that `to` got (the whole inbox is taken).
    ///
    /// # Panics
    /// When there is none, naming what there was.
    pub fn request(&mut self, to: Peer, method: Method) -> Request {
        let requests = self.requests(to);
        let methods: Vec<String> = requests.iter().map(|r| r.method.to_string()).collect();
        requests
            .into_iter()
            .find(|r| r.method == method)
            .unwrap_or_else(|| panic!("{to} got no {method}, only {methods:?}"))
    }

    /// Whether every inbox is empty.
    pub fn is_quiet(&self) -> bool {
        self.inboxes.values().all(Vec::is_empty)
    }

    /// The peers with something in their inbox.
    pub fn recipients(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self
            .inboxes
            .iter()
            .filter(|(_, messages)| !messages.is_empty())
            .map(|(peer, _)| *peer)
            .collect();
        peers.sort();
        peers
    }

    /// From now on everything to and from `at` is lost, as with a cable cut.
    pub fn cut(&mut self, at: Peer) {
        self.unreachable.insert(at.addr);
    }

    /// Undoes [`Net::cut`].
    pub fn restore(&mut self, at: Peer) {
        self.unreachable.remove(&at.addr);
    }

    pub fn is_reachable(&self, at: Peer) -> bool {
        !self.unreachable.contains(&at.addr)
    }

    /// From now on sends to `at` fail: the machine gets a transport error for each message
    /// that belongs to a transaction (RFC 3261 §17.1.4), as when a TCP connection is refused.
    pub fn refuse(&mut self, at: Peer) {
        self.refusing.insert(at.addr);
    }

    /// Undoes [`Net::refuse`].
    pub fn accept(&mut self, at: Peer) {
        self.refusing.remove(&at.addr);
    }

    pub fn refuses(&self, at: Peer) -> bool {
        self.refusing.contains(&at.addr)
    }

    /// Counts a message lost to a cut.
    pub(crate) fn lose(&mut self) {
        self.lost += 1;
    }

    /// How many messages were lost to cuts.
    pub fn lost(&self) -> usize {
        self.lost
    }
}
