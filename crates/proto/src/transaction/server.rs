//! The server transaction machines: INVITE (RFC 3261 §17.2.1 with RFC 6026 §7.1's Accepted
//! state) and non-INVITE (§17.2.2). Each input returns whether the transaction lives on;
//! the table ([`super::Transactions`]) removes it when it does not.

use std::time::Duration;

use crossbar_sip::{Message, Request, Response};

use super::Context;
use super::error::TransactionError;
use super::key::{ServerKey, ServerMatch};
use super::peer::Peer;
use super::timers::{Deadlines, Timer};
use super::{Event, Flow};

/// The state of a server transaction (Terminated transactions are removed from the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Non-INVITE only: the request went to the TU, which has not responded.
    Trying,
    /// A provisional response was sent (INVITE: from the start, until a final).
    Proceeding,
    /// A final response was sent (INVITE: a non-2xx one, retransmitted until the ACK).
    Completed,
    /// INVITE only: the ACK for the non-2xx final arrived.
    Confirmed,
    /// INVITE only (RFC 6026): a 2xx was sent; the TU retransmits it until its ACK.
    Accepted,
}

/// One server transaction: the machine state and what it re-sends.
#[derive(Debug)]
pub(crate) struct ServerTransaction {
    pub(crate) key: ServerKey,
    pub(crate) matcher: ServerMatch,
    pub(crate) state: ServerState,
    pub(crate) deadlines: Deadlines,
    /// The TU was told about this transaction (it is not a CANCEL the layer answered).
    pub(crate) announced: bool,
    invite: bool,
    /// Where responses go (§18.2.2), fixed when the request arrived.
    respond_to: Peer,
    last_response: Option<Response>,
    /// INVITE: the `100 Trying` sent if the TU is slower than [`super::Timers::trying`].
    trying: Option<Response>,
    /// The current Timer G interval.
    interval: Duration,
}

/// What became of an ACK that matched an INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckFate {
    /// The ACK of a non-2xx final, or a stray one: the transaction took it.
    Absorbed,
    /// In Accepted the ACK belongs to the 2xx and goes to the TU (RFC 6026 §7.1).
    ToTu,
}

impl ServerTransaction {
    /// A transaction for a request that matched none (§17.2.3). An INVITE transaction
    /// starts in Proceeding and schedules (or sends at once) `100 Trying` (§17.2.1).
    pub(crate) fn start(
        ctx: &mut Context<'_>,
        key: ServerKey,
        matcher: ServerMatch,
        request: &Request,
        respond_to: Peer,
    ) -> ServerTransaction {
        let invite = *matcher.method() == crossbar_sip::Method::Invite;
        let mut tx = ServerTransaction {
            key,
            matcher,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            deadlines: Deadlines::default(),
            announced: true,
            invite,
            respond_to,
            last_response: None,
            trying: None,
            interval: ctx.timers.t1,
        };
        if invite {
            let trying = request.response(100);
            if ctx.timers.trying.is_zero() {
                tx.send(ctx, trying);
            } else {
                tx.trying = Some(trying);
                ctx.arm(&mut tx.deadlines, Timer::Trying, ctx.timers.trying);
            }
        }
        tx
    }

    pub(crate) fn is_invite(&self) -> bool {
        self.invite
    }

    /// Whether a final response has been sent.
    pub(crate) fn is_final(&self) -> bool {
        !matches!(self.state, ServerState::Trying | ServerState::Proceeding)
    }

    pub(crate) fn last_response(&self) -> Option<&Response> {
        self.last_response.as_ref()
    }

    /// A retransmission of the request: re-send the latest response, if any (§17.2.1,
    /// §17.2.2). In Accepted, retransmitted INVITEs are absorbed (RFC 6026 §7.1); in
    /// Confirmed there is nothing to re-send.
    pub(crate) fn on_retransmission(&mut self, ctx: &mut Context<'_>) {
        match self.state {
            ServerState::Proceeding | ServerState::Completed => {
                if let Some(response) = self.last_response.clone() {
                    ctx.transmit(self.respond_to, Message::Response(response));
                }
            }
            ServerState::Trying | ServerState::Confirmed | ServerState::Accepted => {}
        }
    }

    /// An ACK matched this (INVITE) transaction.
    pub(crate) fn on_ack(&mut self, ctx: &mut Context<'_>) -> (AckFate, Flow) {
        match self.state {
            ServerState::Completed => {
                // §17.2.1: Completed -> Confirmed, Timer G stops, Timer I absorbs
                // retransmitted ACKs (zero on reliable transports).
                self.state = ServerState::Confirmed;
                self.deadlines.clear(Timer::G);
                self.deadlines.clear(Timer::H);
                let wait = self.reliable_or(ctx.timers.t4);
                (
                    AckFate::Absorbed,
                    ctx.linger(&mut self.deadlines, Timer::I, wait),
                )
            }
            ServerState::Accepted => (AckFate::ToTu, Flow::Continue),
            ServerState::Trying | ServerState::Proceeding | ServerState::Confirmed => {
                (AckFate::Absorbed, Flow::Continue)
            }
        }
    }

    /// A response from the TU.
    pub(crate) fn on_response(
        &mut self,
        ctx: &mut Context<'_>,
        response: Response,
    ) -> Result<Flow, TransactionError> {
        let status = response.status;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::Status(status));
        }
        let refused = TransactionError::ServerState {
            key: self.key,
            state: self.state,
            status,
        };
        if self.invite {
            self.on_invite_response(ctx, response, status)
                .ok_or(refused)
        } else {
            self.on_non_invite_response(ctx, response, status)
                .ok_or(refused)
        }
    }

    /// §17.2.1 and RFC 6026 §7.1; `None` when the state refuses the response.
    fn on_invite_response(
        &mut self,
        ctx: &mut Context<'_>,
        response: Response,
        status: u16,
    ) -> Option<Flow> {
        match (self.state, status) {
            (ServerState::Proceeding, 100..=199) => {
                self.stop_trying();
                self.send(ctx, response);
            }
            (ServerState::Proceeding, 200..=299) => {
                self.stop_trying();
                self.send(ctx, response);
                self.state = ServerState::Accepted;
                ctx.arm(
                    &mut self.deadlines,
                    Timer::L,
                    ctx.timers.transaction_lifetime(),
                );
            }
            // RFC 6026 §7.1: the TU retransmits its 2xx through the transaction.
            (ServerState::Accepted, 200..=299) => self.send(ctx, response),
            (ServerState::Proceeding, _) => {
                self.stop_trying();
                self.send(ctx, response);
                self.state = ServerState::Completed;
                if !self.respond_to.is_reliable() {
                    self.interval = ctx.timers.t1;
                    ctx.arm(&mut self.deadlines, Timer::G, self.interval);
                }
                ctx.arm(
                    &mut self.deadlines,
                    Timer::H,
                    ctx.timers.transaction_lifetime(),
                );
            }
            _ => return None,
        }
        Some(Flow::Continue)
    }

    /// §17.2.2; `None` when the state refuses the response.
    fn on_non_invite_response(
        &mut self,
        ctx: &mut Context<'_>,
        response: Response,
        status: u16,
    ) -> Option<Flow> {
        match (self.state, status) {
            (ServerState::Trying | ServerState::Proceeding, 100..=199) => {
                self.send(ctx, response);
                self.state = ServerState::Proceeding;
                Some(Flow::Continue)
            }
            (ServerState::Trying | ServerState::Proceeding, _) => {
                self.send(ctx, response);
                self.state = ServerState::Completed;
                let wait = self.reliable_or(ctx.timers.transaction_lifetime());
                Some(ctx.linger(&mut self.deadlines, Timer::J, wait))
            }
            _ => None,
        }
    }

    /// A timer of this transaction fired (its deadline is already cleared).
    pub(crate) fn on_timer(&mut self, ctx: &mut Context<'_>, timer: Timer) -> Flow {
        match (timer, self.state) {
            (Timer::Trying, ServerState::Proceeding) => {
                if self.last_response.is_none()
                    && let Some(trying) = self.trying.take()
                {
                    self.send(ctx, trying);
                }
                Flow::Continue
            }
            (Timer::G, ServerState::Completed) => {
                if let Some(response) = self.last_response.clone() {
                    ctx.transmit(self.respond_to, Message::Response(response));
                }
                self.interval = self.interval.saturating_mul(2).min(ctx.timers.t2);
                ctx.arm(&mut self.deadlines, Timer::G, self.interval);
                Flow::Continue
            }
            (Timer::H, ServerState::Completed) => {
                // §17.2.1: the ACK never came; tell the TU the transaction failed.
                ctx.emit(Event::AckTimeout { key: self.key });
                Flow::Terminate
            }
            (Timer::I, ServerState::Confirmed)
            | (Timer::J, ServerState::Completed)
            | (Timer::L, ServerState::Accepted) => Flow::Terminate,
            _ => Flow::Continue,
        }
    }

    /// The run loop could not send one of this transaction's messages (§17.2.4). In
    /// Accepted the 2xx is the TU's to retransmit, so the transaction stays (RFC 6026).
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Context<'_>) -> Flow {
        ctx.emit(Event::TransportError {
            key: self.key.into(),
        });
        if self.state == ServerState::Accepted {
            Flow::Continue
        } else {
            Flow::Terminate
        }
    }

    fn send(&mut self, ctx: &mut Context<'_>, response: Response) {
        ctx.transmit(self.respond_to, Message::Response(response.clone()));
        self.last_response = Some(response);
    }

    fn stop_trying(&mut self) {
        self.trying = None;
        self.deadlines.clear(Timer::Trying);
    }

    fn reliable_or(&self, unreliable: Duration) -> Duration {
        if self.respond_to.is_reliable() {
            Duration::ZERO
        } else {
            unreliable
        }
    }
}
