//! SIP protocol state machines, sans-IO: they take bytes (already parsed) and `now`, and
//! return what to send and when to wake them. No sockets, no clocks, no tasks.
//!
//! - [`transaction`]: the four transaction machines of RFC 3261 §17 with RFC 6026's fixes.
//! - [`registrar`]: REGISTER processing (§10.3): bindings and their rules.
//! - [`endpoint`]: the UAS core (§8.2) over the transactions: checks, OPTIONS, REGISTER
//!   with digest authentication.

pub mod endpoint;
pub mod registrar;
pub mod transaction;
