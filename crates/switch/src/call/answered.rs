//! The answered call's caller side: the 200 retransmitted until the caller's ACK
//! (§13.3.1.4), the ACK carrying a late offer's answer on to the callee (RFC 3264 §5), and the
//! RFC 4028 session timer.

use std::time::Duration;

use crossbar_cdr::EndReason;
use crossbar_sip::{HeaderName, Message, Request};

use super::{Call, Phase, Side};
use crate::T2;
use crate::core::{CallTimer, Ctx};
use crate::media::is_sdp;

impl Call {
    /// The 200 to the caller is retransmitted with doubling intervals until the ACK
    /// (§13.3.1.4); with no ACK after 64·T1 the call is ended with BYE on both sides.
    pub(crate) fn retransmit_ok(&mut self, ctx: &mut Ctx<'_>) {
        if self.a.acked || !matches!(self.phase, Phase::Answered | Phase::Serving) {
            return;
        }
        if self
            .a
            .ok_deadline
            .is_some_and(|deadline| ctx.now >= deadline)
        {
            tracing::info!(call = %self.id, "no ACK for the 200; ending the call");
            let reason = EndReason::Error {
                status: None,
                detail: "caller never acknowledged the answer".into(),
            };
            self.end_answered(ctx, None, reason);
            return;
        }
        let Some(ok) = self.a.ok.clone() else {
            return;
        };
        self.a.ok_interval = (self.a.ok_interval * 2).min(T2);
        ctx.retransmit(self.a.source, Message::Response(ok));
        ctx.arm(CallTimer::RetransmitOk, ctx.now + self.a.ok_interval);
    }

    /// The caller's ACK for the 200 (or for a relayed re-INVITE's 200).
    pub(crate) fn on_caller_ack(&mut self, ctx: &mut Ctx<'_>, request: &Request) {
        let first = !self.a.acked;
        self.a.acked = true;
        if self.phase == Phase::Serving {
            if first {
                self.served_ack(ctx, request);
            }
            return;
        }
        // Late offer: the caller's ACK carries the answer, which the callee's ACK carries on.
        let Some((index, cseq)) = self.late_ack.take() else {
            return;
        };
        let body =
            self.rewrite_relayed_sdp(ctx, Side::Caller, &request.body, is_sdp(&request.headers));
        let Some(dialog) = self.legs.get(index).and_then(|leg| leg.dialog.as_ref()) else {
            return;
        };
        let (mut ack, hop) = (dialog.ack(cseq), dialog.hop);
        if !body.is_empty() {
            ack.headers.push(HeaderName::ContentType, "application/sdp");
            ack.body = body;
        }
        ctx.ack(ack, hop);
    }

    /// (Re)arms the RFC 4028 session timer: the call ends if no refresh succeeds within the
    /// interval (§10: the refresher sends one by half of it; crossbar waits the whole of it).
    pub(crate) fn restart_session_timer(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(secs) = self.session.expires {
            ctx.arm(
                CallTimer::SessionExpiry,
                ctx.now + Duration::from_secs(u64::from(secs)),
            );
        }
    }

    /// The session interval passed without a refresh.
    pub(crate) fn session_expired(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase == Phase::Answered {
            tracing::info!(call = %self.id, "session expired without a refresh (RFC 4028)");
            let reason = EndReason::Error {
                status: None,
                detail: "session timer expired".into(),
            };
            self.end_answered(ctx, None, reason);
        }
    }
}
