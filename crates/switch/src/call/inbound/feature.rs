//! A queue agent's feature code dialled from its phone (`[agents]`: `*45` log in, `*46` log
//! out, `*47` pause, `*47` + a reason digit, `*48` end the pause): crossbar answers, applies
//! it to the calling extension in the queue machine, says what it did (`agent-logged-in`,
//! `agent-logged-out`, `agent-paused`, `agent-available`, or `agent-not-member` when the
//! extension is no agent of any queue, or not logged in for a pause) and hangs up.
//!
//! The record is an internal call answered by the feature: a callee leg named after the code
//! answers at once. The agent's phone is on this call meanwhile, so a login is followed by an
//! offer only once it has hung up.

use crossbar_cdr::{EndReason, EventKind, LegId, LegRole};
use crossbar_media::MediaCommand;
use crossbar_routing::AgentFeature;

use super::App;
use crate::apps::queue::{LoginTo, PauseReason, QueueAction, QueueError};
use crate::call::Call;
use crate::core::Ctx;
use crate::prompts::{
    AGENT_AVAILABLE, AGENT_LOGGED_IN, AGENT_LOGGED_OUT, AGENT_NOT_MEMBER, AGENT_PAUSED,
};

impl Call {
    /// The caller dialled `code`, the agent feature `feature`.
    pub(crate) fn agent_feature(&mut self, ctx: &mut Ctx<'_>, code: &str, feature: AgentFeature) {
        if !self.answer_caller(ctx) {
            tracing::info!(call = %self.id, "the caller offers no G.711 audio: no feature");
            self.end_unreceived(
                ctx,
                488,
                EndReason::Error {
                    status: Some(488),
                    detail: "no G.711 audio for the agent feature".into(),
                },
            );
            return;
        }
        // crossbar itself answered, as the feature `code`.
        let leg = LegId(1);
        ctx.emit(
            &self.id,
            EventKind::LegCreated {
                leg,
                role: LegRole::Callee,
                target: code.to_owned(),
                contact: None,
                trunk: None,
                rate: None,
            },
        );
        ctx.emit(&self.id, EventKind::Answered { leg });
        let agent = self.caller.clone();
        let result = apply(ctx, &agent, &feature);
        let said = match &result {
            Ok(_) => match feature {
                AgentFeature::Login => AGENT_LOGGED_IN,
                AgentFeature::Logout => AGENT_LOGGED_OUT,
                AgentFeature::Pause { .. } => AGENT_PAUSED,
                AgentFeature::Unpause => AGENT_AVAILABLE,
            },
            Err(_) => AGENT_NOT_MEMBER,
        };
        match result {
            Ok(actions) => {
                tracing::info!(call = %self.id, %agent, %feature, "agent feature");
                self.on_queue(ctx, actions);
            }
            Err(error) => {
                tracing::info!(call = %self.id, %agent, %feature, %error, "agent feature refused")
            }
        }
        self.receiving().app = App::Feature;
        let language = self.receiving().language.clone();
        let payload_type = self.receiving().settled.map_or(0, |s| s.payload_type);
        let prompt = ctx
            .core
            .prompts
            .as_ref()
            .and_then(|library| library.named(&language, said));
        match prompt {
            Some(prompt) => ctx.media(MediaCommand::Play {
                id: self.media.relay,
                prompts: vec![prompt],
                repeat: false,
                payload_type,
            }),
            None => {
                tracing::warn!(prompt = said, %language, "prompt not loaded");
                self.feature_said(ctx);
            }
        }
    }

    /// The feature's confirmation has played: crossbar hangs up.
    pub(crate) fn feature_said(&mut self, ctx: &mut Ctx<'_>) {
        self.end_answered(ctx, None, EndReason::Hangup);
    }
}

/// Applies `feature` to `agent` in the queue machine.
fn apply(
    ctx: &mut Ctx<'_>,
    agent: &str,
    feature: &AgentFeature,
) -> Result<Vec<QueueAction>, QueueError> {
    let now = ctx.now;
    let queues = ctx.queues();
    if !queues.is_agent(agent) {
        return Err(QueueError::NotAMember(agent.to_owned()));
    }
    let actions = match feature {
        AgentFeature::Login => queues.login(agent, LoginTo::MemberQueues, now)?,
        AgentFeature::Logout => queues.logout(agent, None, now)?,
        AgentFeature::Pause { reason } => {
            let reason = reason
                .clone()
                .map_or(PauseReason::Unspecified, PauseReason::Named);
            queues.pause(agent, reason, now)?
        }
        AgentFeature::Unpause => queues.unpause(agent, now)?,
    };
    // The agent's phone is on this call: no offer before it hangs up.
    ctx.core.sync_agent_busy(agent, now);
    Ok(actions)
}
