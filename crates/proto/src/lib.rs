//! SIP protocol state machines, sans-IO: they take bytes (already parsed) and `now`, and
//! return what to send and when to wake them. No sockets, no clocks, no tasks.
//!
//! - [`transaction`]: the four transaction machines of RFC 3261 §17 with RFC 6026's fixes.
//! - [`registrar`]: REGISTER processing (§10.3): bindings and their rules.
//! - [`endpoint`]: the UAS core (§8.2) over the transactions: checks, OPTIONS, REGISTER
//!   with digest authentication.
//! - [`registration`]: the UAC side of §10.2 — a trunk registering to its carrier's
//!   registrar with digest authentication, refreshes, 423 and back-off.
//! - [`health`]: OPTIONS probes (§11) that decide whether a trunk's carrier is up or down.
//!
//! [`registration`] and [`health`] produce requests and consume the final responses to them;
//! the switch sends those requests in client transactions (adding the top `Via`) and routes
//! each transaction's final response — or the 408 of its Timer F — back to the machine.

pub mod endpoint;
pub mod health;
pub mod registrar;
pub mod registration;
mod seeded;
pub mod transaction;
