//! Call applications: pure machines that decide what a call does next while crossbar serves
//! it — a menu ([`menu`]) and a ring group ([`group`]). They take events (a key, a prompt
//! finished, a timeout, a member answered or failed) and return actions (play, listen, wait,
//! ring, go to a destination); the call machine carries the actions out. No SIP in here.

pub(crate) mod group;
pub(crate) mod menu;
