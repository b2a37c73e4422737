//! Sockets: each transport's tasks read from the network, parse, and hand the engine
//! [`crate::engine::Input`]s; the engine writes back through them.

pub mod tcp;
pub mod udp;
