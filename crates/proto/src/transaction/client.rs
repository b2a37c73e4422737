//! The client transaction machines: INVITE (RFC 3261 §17.1.1 with RFC 6026 §7.2's Accepted
//! state) and non-INVITE (§17.1.2). Each input returns whether the transaction lives on.

use std::time::Duration;

use crossbar_sip::{HeaderName, Message, Method, Request, Response, Via};

use super::Context;
use super::key::{ClientKey, ClientMatch, SentBy};
use super::peer::Peer;
use super::timers::{Deadlines, Timer};
use super::{Event, Flow};

/// The state of a client transaction (Terminated transactions are removed from the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// INVITE only: sent, no response yet.
    Calling,
    /// Non-INVITE only: sent, no response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived (INVITE: a non-2xx one, which was ACKed).
    Completed,
    /// INVITE only (RFC 6026): a 2xx arrived; later 2xx retransmissions still go to the TU.
    Accepted,
}

/// One client transaction: the request, where it goes, and the machine state.
#[derive(Debug)]
pub(crate) struct ClientTransaction {
    pub(crate) key: ClientKey,
    pub(crate) matcher: ClientMatch,
    pub(crate) state: ClientState,
    pub(crate) deadlines: Deadlines,
    /// The sent-by the request's top `Via` carries; responses must echo it (§18.1.2).
    pub(crate) sent_by: SentBy,
    pub(crate) destination: Peer,
    /// The local socket its messages leave from, when the sender chose one.
    pub(crate) local: Option<std::net::SocketAddr>,
    request: Request,
    top_via: Via,
    cseq: u32,
    /// The current Timer A or E interval.
    interval: Duration,
    /// INVITE: the ACK sent for the non-2xx final, re-sent on its retransmissions.
    ack: Option<Request>,
}

impl ClientTransaction {
    /// Sends `request` (whose top `Via` is `top_via`, with the transaction's branch) and
    /// starts the machine: INVITE in Calling with Timers A and B (§17.1.1.2), others in
    /// Trying with Timers E and F (§17.1.2.2). A and E run only over unreliable transports.
    pub(crate) fn start(
        ctx: &mut Context<'_>,
        key: ClientKey,
        matcher: ClientMatch,
        request: Request,
        top_via: Via,
        cseq: u32,
        destination: Peer,
    ) -> ClientTransaction {
        let invite = request.method == Method::Invite;
        let mut tx = ClientTransaction {
            key,
            matcher,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            deadlines: Deadlines::default(),
            sent_by: SentBy::of(&top_via),
            destination,
            local: None,
            request,
            top_via,
            cseq,
            interval: ctx.timers.t1,
            ack: None,
        };
        ctx.transmit(destination, Message::Request(tx.request.clone()));
        let (retransmit, timeout) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if !destination.is_reliable() {
            ctx.arm(&mut tx.deadlines, retransmit, tx.interval);
        }
        ctx.arm(
            &mut tx.deadlines,
            timeout,
            ctx.timers.transaction_lifetime(),
        );
        tx
    }

    pub(crate) fn is_invite(&self) -> bool {
        self.request.method == Method::Invite
    }

    /// Whether a final response has arrived.
    pub(crate) fn is_final(&self) -> bool {
        matches!(self.state, ClientState::Completed | ClientState::Accepted)
    }

    /// A response matched this transaction (status already checked to be 100-699).
    pub(crate) fn on_response(&mut self, ctx: &mut Context<'_>, response: Response) -> Flow {
        if self.is_invite() {
            self.on_invite_response(ctx, response)
        } else {
            self.on_non_invite_response(ctx, response)
        }
    }

    /// §17.1.1.2 and RFC 6026 §7.2.
    fn on_invite_response(&mut self, ctx: &mut Context<'_>, response: Response) -> Flow {
        let status = response.status;
        match (self.state, status) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                self.deadlines.clear(Timer::A);
                self.deadlines.clear(Timer::B);
                self.pass_up(ctx, response);
                Flow::Continue
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) => {
                self.state = ClientState::Accepted;
                self.deadlines.clear_all();
                self.pass_up(ctx, response);
                ctx.arm(
                    &mut self.deadlines,
                    Timer::M,
                    ctx.timers.transaction_lifetime(),
                );
                Flow::Continue
            }
            // RFC 6026 §7.2: every 2xx retransmission goes to the TU, which ACKs it.
            (ClientState::Accepted, 200..=299) => {
                self.pass_up(ctx, response);
                Flow::Continue
            }
            (ClientState::Calling | ClientState::Proceeding, 300..) => {
                // §17.1.1.3: ACK the non-2xx final, pass it up, wait out retransmissions.
                self.state = ClientState::Completed;
                self.deadlines.clear_all();
                let ack = self.ack_for(&response);
                ctx.transmit(self.destination, Message::Request(ack.clone()));
                self.ack = Some(ack);
                self.pass_up(ctx, response);
                let wait = self.reliable_or(ctx.timers.d);
                ctx.linger(&mut self.deadlines, Timer::D, wait)
            }
            (ClientState::Completed, 300..) => {
                if let Some(ack) = self.ack.clone() {
                    ctx.transmit(self.destination, Message::Request(ack));
                }
                Flow::Continue
            }
            _ => Flow::Continue,
        }
    }

    /// §17.1.2.2.
    fn on_non_invite_response(&mut self, ctx: &mut Context<'_>, response: Response) -> Flow {
        match (self.state, response.status) {
            (ClientState::Trying | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                self.pass_up(ctx, response);
                Flow::Continue
            }
            (ClientState::Trying | ClientState::Proceeding, _) => {
                self.state = ClientState::Completed;
                self.deadlines.clear_all();
                self.pass_up(ctx, response);
                let wait = self.reliable_or(ctx.timers.t4);
                ctx.linger(&mut self.deadlines, Timer::K, wait)
            }
            _ => Flow::Continue,
        }
    }

    /// A timer of this transaction fired (its deadline is already cleared).
    pub(crate) fn on_timer(&mut self, ctx: &mut Context<'_>, timer: Timer) -> Flow {
        match (timer, self.state) {
            (Timer::A, ClientState::Calling) => {
                // §17.1.1.2: the interval doubles after every retransmission, uncapped.
                self.retransmit(ctx);
                self.interval = self.interval.saturating_mul(2);
                ctx.arm(&mut self.deadlines, Timer::A, self.interval);
                Flow::Continue
            }
            (Timer::E, ClientState::Trying | ClientState::Proceeding) => {
                // §17.1.2.2: doubling up to T2 in Trying, T2 flat in Proceeding.
                self.retransmit(ctx);
                self.interval = if self.state == ClientState::Trying {
                    self.interval.saturating_mul(2).min(ctx.timers.t2)
                } else {
                    ctx.timers.t2
                };
                ctx.arm(&mut self.deadlines, Timer::E, self.interval);
                Flow::Continue
            }
            (Timer::B, ClientState::Calling)
            | (Timer::F, ClientState::Trying | ClientState::Proceeding) => {
                // §17.1.1.2, §17.1.2.2; the TU treats it as a 408 (§8.1.3.1).
                ctx.emit(Event::Timeout {
                    key: self.key,
                    response: self.request.response(408),
                });
                Flow::Terminate
            }
            (Timer::D | Timer::K, ClientState::Completed) | (Timer::M, ClientState::Accepted) => {
                Flow::Terminate
            }
            _ => Flow::Continue,
        }
    }

    /// The run loop could not send one of this transaction's messages (§17.1.4).
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Context<'_>) -> Flow {
        ctx.emit(Event::TransportError {
            key: self.key.into(),
        });
        Flow::Terminate
    }

    /// The CANCEL for this INVITE (§9.1): same Request-URI, Call-ID, From, To, CSeq
    /// number and top `Via` (so the same branch), the `Route`s of the request.
    pub(crate) fn cancel_request(&self) -> Request {
        self.in_transaction_request(Method::Cancel, None)
    }

    /// The ACK for a non-2xx final (§17.1.1.3): like a CANCEL, but the `To` of the response.
    fn ack_for(&self, response: &Response) -> Request {
        self.in_transaction_request(Method::Ack, response.headers.get(&HeaderName::To))
    }

    fn in_transaction_request(&self, method: Method, to: Option<&str>) -> Request {
        let original = &self.request.headers;
        let mut request = Request::new(method.clone(), self.request.uri.clone());
        let headers = &mut request.headers;
        headers.push(HeaderName::Via, self.top_via.to_string());
        for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
            let value = match (&name, to) {
                (HeaderName::To, Some(to)) => Some(to),
                _ => original.get(&name),
            };
            if let Some(value) = value {
                headers.push(name, value);
            }
        }
        headers.push(HeaderName::CSeq, format!("{} {}", self.cseq, method));
        for route in original.get_all(&HeaderName::Route) {
            headers.push(HeaderName::Route, route);
        }
        headers.push(HeaderName::MaxForwards, "70");
        request
    }

    fn retransmit(&self, ctx: &mut Context<'_>) {
        ctx.transmit(self.destination, Message::Request(self.request.clone()));
    }

    fn pass_up(&self, ctx: &mut Context<'_>, response: Response) {
        ctx.emit(Event::Response {
            key: self.key,
            response,
        });
    }

    fn reliable_or(&self, unreliable: Duration) -> Duration {
        if self.destination.is_reliable() {
            Duration::ZERO
        } else {
            unreliable
        }
    }
}
