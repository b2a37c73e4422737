//! One test kit for crossbar's sans-IO machines (DESIGN.md §3: "tests drive the machines on a
//! virtual clock over an in-memory network"). Dev-only: crates list it under
//! `[dev-dependencies]`.
//!
//! - [`Clock`]: the virtual `Instant` and wall clock, moved together.
//! - [`Machine`] and [`Lab`]: the system under test as a run loop sees it, and the driver
//!   that delivers its messages and runs it from deadline to deadline
//!   ([`Lab::run_until`]). [`machines`] has the ones for `crossbar-proto`'s machines; the
//!   switch's tests wrap `Switch` in a few lines.
//! - [`Net`]: what the machine sent to each peer nobody scripts, cuts and refusals.
//! - [`Phone`]: a scripted phone by text — REGISTER with the 401 round, INVITE with the 407
//!   round (offer or late offer), replies, ACK, in-dialog requests, CANCEL.
//! - [`Carrier`]: a scripted carrier over a real transaction layer — a [`Script`] per call
//!   (`100`/`183`/`200`, `503`, `486`, silence until Timer B, an answer after a delay), a
//!   digest challenge, OPTIONS and REGISTER answers or a real registrar, and a record of
//!   every request that reached it.
//! - [`digest`]: answering a 401/407 — the one digest path all tests take.
//! - [`sdp()`](sdp::sdp): SDP bodies.
//!
//! ```
//! use std::time::Duration;
//! use crossbar_proto::transaction::{Timers, Transactions};
//! use crossbar_testkit::machines::TransactionsMachine;
//! use crossbar_testkit::{Carrier, Lab, Script, peer};
//!
//! // A bare transaction layer sends an INVITE to a carrier that never answers.
//! let at = peer("192.0.2.1:5060");
//! let mut lab = Lab::new(TransactionsMachine::new(Transactions::new(Timers::default(), 1), at));
//! lab.attach(Carrier::new("198.51.100.7:5060").with_calls([Script::silent()]));
//! let invite = crossbar_sip::parse_datagram(
//!     b"INVITE sip:+441632960123@198.51.100.7 SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP 192.0.2.1:5060\r\nMax-Forwards: 70\r\n\
//!       From: <sip:trunk@192.0.2.1>;tag=1\r\nTo: <sip:+441632960123@198.51.100.7>\r\n\
//!       Call-ID: doc-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
//! );
//! let Ok(crossbar_sip::Message::Request(invite)) = invite else { unreachable!() };
//! let now = lab.now();
//! lab.machine
//!     .transactions
//!     .send_request(now, invite, peer("198.51.100.7:5060"))
//!     .unwrap();
//! lab.run_for(Duration::from_secs(40));
//! assert_eq!(lab.machine.statuses(), [408], "Timer B");
//! ```

pub mod carrier;
pub mod clock;
pub mod digest;
pub mod lab;
pub mod machines;
pub mod net;
pub mod phone;
pub mod sdp;

pub use carrier::{Carrier, Responder, Script, Step, silence, status, tagged_response};
pub use clock::{Clock, WALL_START_UNIX};
pub use lab::{Lab, Machine};
pub use net::{Net, peer};
pub use phone::{Dialog, Phone};
pub use sdp::sdp;
