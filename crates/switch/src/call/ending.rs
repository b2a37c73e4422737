//! Every way a call ends: hung up after the answer (BYE to the other side), given up while
//! ringing (a final response to the caller, CANCEL to the legs), failed locally, or stopped
//! with crossbar. The record's last event is emitted here, exactly once.

use crossbar_cdr::{EndReason, EventKind, HangupSide};
use crossbar_media::MediaCommand;
use crossbar_sip::Method;

use super::{Call, Phase, Side, tagged};
use crate::core::{CallTimer, Ctx, TimerKey};

impl Call {
    /// Ends an answered call: BYE to both sides (except `from`, which sent its own), the
    /// relay closed, the record's last event emitted.
    pub(crate) fn end_answered(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: Option<Side>,
        reason: EndReason,
    ) {
        match self.phase {
            Phase::Ending => {}
            Phase::Serving => {
                // Nobody answered yet; crossbar had answered the caller itself.
                for leg in &mut self.legs {
                    leg.cancel(ctx);
                }
                self.next_attempts.clear();
                if from != Some(Side::Caller) {
                    self.send_in_dialog(ctx, Side::Caller, Method::Bye, None);
                }
                let hangup_by = match from {
                    Some(Side::Caller) => HangupSide::Caller,
                    _ => HangupSide::System,
                };
                self.finish(ctx, reason, hangup_by, None);
            }
            Phase::Ringing => {
                let by = match from {
                    Some(Side::Caller) => HangupSide::Caller,
                    _ => HangupSide::System,
                };
                let status = if matches!(reason, EndReason::CallerGaveUp) {
                    487
                } else {
                    500
                };
                self.give_up_ringing(ctx, status, reason, by);
            }
            Phase::Answered => {
                for side in [Side::Caller, Side::Callee] {
                    if Some(side) != from {
                        self.send_in_dialog(ctx, side, Method::Bye, None);
                    }
                }
                let hangup_by = match from {
                    Some(Side::Caller) => HangupSide::Caller,
                    Some(Side::Callee) => HangupSide::Callee,
                    None => HangupSide::System,
                };
                self.finish(ctx, reason, hangup_by, None);
            }
        }
    }

    /// Ends an unanswered call: the caller gets `status` (unless it already has a final
    /// response), every leg still trying or ringing is cancelled.
    pub(crate) fn give_up_ringing(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: u16,
        reason: EndReason,
        hangup_by: HangupSide,
    ) {
        for leg in &mut self.legs {
            leg.cancel(ctx);
        }
        self.next_attempts.clear();
        if !self.a.final_sent {
            self.a.final_sent = true;
            if let Some(key) = self.a.invite_key {
                let response = tagged(&self.a.invite, status, &self.a.local_tag);
                ctx.respond(key, response);
            }
        }
        self.finish(ctx, reason, hangup_by, Some(status));
    }

    /// Fails the call for a local reason (e.g. the relay could not open).
    pub(crate) fn fail(&mut self, ctx: &mut Ctx<'_>, status: u16, detail: String) {
        let reason = EndReason::Error {
            status: Some(status),
            detail,
        };
        match self.phase {
            Phase::Ringing => self.give_up_ringing(ctx, status, reason, HangupSide::System),
            Phase::Answered | Phase::Serving => self.end_answered(ctx, None, reason),
            Phase::Ending => {}
        }
    }

    /// crossbar is stopping: BYE to both sides of an answered call, 503 to a caller still
    /// ringing; recorded as interrupted.
    pub(crate) fn shut_down(&mut self, ctx: &mut Ctx<'_>) {
        match self.phase {
            Phase::Ringing => {
                self.give_up_ringing(ctx, 503, EndReason::Interrupted, HangupSide::System);
            }
            Phase::Answered | Phase::Serving => {
                self.end_answered(ctx, None, EndReason::Interrupted);
            }
            Phase::Ending => {}
        }
    }

    /// What the call cost up to `now`: the answering trunk's rate for the talk time.
    fn cost(&self, now: std::time::Instant) -> crossbar_cdr::Money {
        let rate = self
            .answered
            .and_then(|i| self.legs.get(i))
            .and_then(|leg| match &leg.target {
                crate::leg::LegTarget::Trunk { rate, .. } => *rate,
                crate::leg::LegTarget::Contact { .. } => None,
            });
        let talk_ms = self.answered_at.map(|at| {
            u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX)
        });
        rate.map_or(crossbar_cdr::Money::ZERO, |rate| rate.cost(talk_ms))
    }

    /// The call is over: close the relay, emit `Ended`, stop its timers and counts.
    pub(crate) fn finish(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: EndReason,
        hangup_by: HangupSide,
        status: Option<u16>,
    ) {
        if self.phase == Phase::Ending {
            return;
        }
        self.phase = Phase::Ending;
        // Before `Ended`: the record's queue visit ends with the call.
        self.leave_queue_at_end(ctx);
        for index in 0..self.legs.len() {
            self.release_trunk(ctx, index);
        }
        if let Some(number) = self.outbound_by.take() {
            let cost = self.cost(ctx.now);
            ctx.core.usage.ended(&number, cost, ctx.wall);
        }
        ctx.load_remove(&self.caller);
        if let Some(callee) = &self.callee {
            ctx.load_remove(callee);
        }
        self.end_agent_call(ctx);
        self.origination_ended(ctx);
        for timer in CallTimer::ALL {
            ctx.core.timers.cancel(TimerKey::Call(ctx.seq, timer));
        }
        ctx.media(MediaCommand::Close {
            id: self.media.relay,
        });
        tracing::info!(call = %self.id, ?reason, hangup_by = hangup_by.as_str(), "call ended");
        ctx.emit(
            &self.id,
            EventKind::Ended {
                reason,
                hangup_by,
                status,
            },
        );
    }
}
