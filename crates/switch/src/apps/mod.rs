//! Call applications: pure machines that decide what a call does next while crossbar serves
//! it — a menu ([`menu`]), a ring group ([`group`]) and the queues with the agents they share
//! ([`queue`]: one machine for every call waiting in a queue). They take events (a key, a
//! prompt finished, a timeout, a member answered or failed) and return actions (play, listen,
//! wait, ring, go to a destination); the call machine carries the actions out. No SIP in here.

pub(crate) mod group;
pub(crate) mod menu;
pub(crate) mod queue;
