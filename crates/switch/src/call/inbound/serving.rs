//! crossbar serving the caller itself: answering with its own SDP, the menu's prompts and
//! keys (RFC 4733 events, SIP INFO), ringback while a phone rings, and the re-pointing of
//! the relay to the phone that answers — no re-INVITE of the caller.

use crossbar_cdr::{EndReason, EventKind, Stage, StepKind};
use crossbar_media::MediaCommand;
use crossbar_routing::Target;
use crossbar_sdp::SessionDescription;
use crossbar_sdp::endpoint::Settled;
use crossbar_sip::{HeaderName, Method, Request};

use super::App;
use crate::apps::menu::{Menu, MenuAction};
use crate::call::{Call, Phase, Side, tagged};
use crate::core::{CallTimer, Ctx};

impl Call {
    /// Answered by a phone while crossbar served the caller: the relay's far side becomes
    /// the phone (no re-INVITE of the caller), and the call is answered.
    pub(crate) fn bridge_served(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        ctx.media(MediaCommand::Bridge {
            id: self.media.relay,
        });
        if let Some(receiving) = self.receiving.as_deref_mut() {
            receiving.ringback = false;
        }
        self.received_answer(ctx, index);
    }

    /// While crossbar serves the caller, a phone ringing plays ringback to them.
    pub(crate) fn start_ringback(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase != Phase::Serving {
            return;
        }
        // A call crossbar originated plays ringback to its agent from the agent's answer on.
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        if receiving.ringback || matches!(receiving.app, App::Queue(_)) {
            // A caller waiting in a queue hears its music while agents ring.
            return;
        }
        let payload_type = receiving.settled.map_or(0, |s| s.payload_type);
        let Some(ringback) = ctx.core.prompts.as_ref().and_then(|p| p.ringback()) else {
            ctx.media(MediaCommand::StopPlaying {
                id: self.media.relay,
            });
            return;
        };
        self.receiving().ringback = true;
        ctx.media(MediaCommand::Play {
            id: self.media.relay,
            prompts: vec![ringback],
            repeat: true,
            payload_type,
        });
    }

    /// Enters menu `name`: crossbar answers the caller (if it has not yet), listens for keys
    /// and plays the greeting.
    pub(super) fn enter_menu(&mut self, ctx: &mut Ctx<'_>, name: &str) {
        let Some(plan) = ctx.core.plan.ivr(name).cloned() else {
            self.go_to(ctx, Target::Hangup);
            return;
        };
        if !self.answer_caller(ctx) {
            tracing::info!(call = %self.id, "the caller offers no G.711 audio: no menu");
            self.end_unreceived(
                ctx,
                488,
                EndReason::Error {
                    status: Some(488),
                    detail: "no G.711 audio for the menu".into(),
                },
            );
            return;
        }
        ctx.emit(&self.id, EventKind::Stage { stage: Stage::Ivr });
        ctx.emit(
            &self.id,
            EventKind::Step {
                kind: StepKind::Ivr,
                name: name.to_owned(),
                result: "entered".to_owned(),
            },
        );
        self.receiving().ringback = false;
        let (menu, actions) = Menu::start(plan);
        self.receiving().app = App::Menu(menu);
        self.menu_actions(ctx, actions);
    }

    /// crossbar answers the caller itself: 200 with its own SDP (one G.711 codec and
    /// telephone-events), the caller's dialog set up, the call serving. `false` when the
    /// caller's offer has no G.711 audio.
    pub(crate) fn answer_caller(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match self.phase {
            Phase::Serving => return true,
            Phase::Ringing => {}
            Phase::Answered | Phase::Ending => return false,
        }
        let address = ctx.settings().media_address;
        let (body, settled) = if self.a.invite.body.is_empty() {
            // Late offer (RFC 3264 §5): crossbar offers; the ACK brings the answer.
            (self.media.offer_caller(address), Settled::DEFAULT)
        } else {
            let Ok(offer) = SessionDescription::parse(&self.a.invite.body) else {
                return false;
            };
            let Some(answered) = self.media.answer_caller(address, &offer) else {
                return false;
            };
            answered
        };
        let mut ok = tagged(&self.a.invite, 200, &self.a.local_tag);
        ok.headers.push(HeaderName::Contact, ctx.contact_value());
        ok.headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = body.clone();
        self.phase = Phase::Serving;
        self.a.final_sent = true;
        self.a.dialog =
            crate::dialog::from_request(&self.a.invite, &self.a.local_tag, self.a.source);
        if let Some(dialog) = &self.a.dialog {
            ctx.index_dialog(
                (dialog.call_id.clone(), dialog.local_tag.clone()),
                Side::Caller,
            );
        }
        self.a.ok = Some(ok.clone());
        self.a.ok_deadline = Some(ctx.now + crate::ACK_WAIT);
        if let Some(key) = self.a.invite_key {
            ctx.respond(key, ok);
        }
        ctx.arm(CallTimer::RetransmitOk, ctx.now + self.a.ok_interval);
        self.b_offer = Some(self.media.offer_callee(address, settled));
        if let Some(payload_type) = settled.telephone_event {
            ctx.media(MediaCommand::Listen {
                id: self.media.relay,
                payload_type,
            });
        }
        let receiving = self.receiving();
        receiving.settled = Some(settled);
        receiving.answer_sdp = Some(body);
        tracing::info!(call = %self.id, "answered by crossbar");
        true
    }

    /// The caller's ACK to crossbar's own 200 carries the answer to a late offer.
    pub(crate) fn served_ack(&mut self, ctx: &mut Ctx<'_>, request: &Request) {
        if request.body.is_empty() {
            return;
        }
        let Ok(answer) = SessionDescription::parse(&request.body) else {
            return;
        };
        let command = self.media.set_remote(Side::Caller, &answer);
        ctx.media(command);
        if let Some(settled) = crossbar_sdp::endpoint::settled_by_answer(&answer) {
            let address = ctx.settings().media_address;
            self.b_offer = Some(self.media.offer_callee(address, settled));
            self.receiving().settled = Some(settled);
            if let Some(payload_type) = settled.telephone_event {
                ctx.media(MediaCommand::Listen {
                    id: self.media.relay,
                    payload_type,
                });
            }
        }
    }

    /// A request from the caller while crossbar serves them: BYE ends the call (abandoned in
    /// a menu, cancelled while a phone rings), INFO may carry a key (`application/dtmf-relay`),
    /// a session refresh gets crossbar's answer again.
    pub(crate) fn served_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: crossbar_proto::transaction::ServerKey,
        request: Request,
    ) {
        match request.method {
            Method::Bye => {
                ctx.respond(key, request.response(200));
                self.end_answered(ctx, Some(Side::Caller), EndReason::Hangup);
            }
            Method::Info => {
                let content_type = request.headers.content_type().unwrap_or_default();
                let pressed = crossbar_media::dtmf::key_from_info(content_type, &request.body);
                ctx.respond(key, request.response(200));
                if let Ok(pressed) = pressed {
                    self.on_key(ctx, pressed);
                }
            }
            Method::Invite | Method::Update => {
                let mut ok = request.response(200);
                ok.headers.push(HeaderName::Contact, ctx.contact_value());
                let sdp = match self.receiving.as_deref() {
                    Some(receiving) => receiving.answer_sdp.clone(),
                    None => self.originated_sdp(),
                };
                if let Some(sdp) = sdp
                    && !request.body.is_empty()
                {
                    ok.headers.push(HeaderName::ContentType, "application/sdp");
                    ok.body = sdp;
                }
                ctx.respond(key, ok);
            }
            _ => ctx.respond(key, request.response(200)),
        }
    }

    /// The caller pressed `key` (RFC 4733 event or SIP INFO).
    pub(crate) fn on_key(&mut self, ctx: &mut Ctx<'_>, key: char) {
        if self.phase != Phase::Serving {
            return;
        }
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        match &mut receiving.app {
            App::Menu(menu) => {
                tracing::debug!(call = %self.id, %key, "key");
                let actions = menu.key(ctx.now, key);
                self.menu_actions(ctx, actions);
            }
            App::Queue(_) => self.queue_key(ctx, key),
            App::Group(_) | App::Feature | App::Idle => {}
        }
    }

    /// The prompt playing to the caller ended.
    pub(crate) fn on_play_finished(&mut self, ctx: &mut Ctx<'_>) {
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        match &mut receiving.app {
            App::Menu(menu) => {
                let actions = menu.prompt_finished(ctx.now);
                self.menu_actions(ctx, actions);
            }
            App::Queue(_) => self.queue_play_finished(ctx),
            App::Feature => self.feature_said(ctx),
            App::Group(_) | App::Idle => {}
        }
    }

    /// Carries out what the menu asks.
    pub(super) fn menu_actions(&mut self, ctx: &mut Ctx<'_>, actions: Vec<MenuAction>) {
        let mut queue: std::collections::VecDeque<MenuAction> = actions.into();
        while let Some(action) = queue.pop_front() {
            let menu_name = match &self.receiving().app {
                App::Menu(menu) => menu.name().to_owned(),
                _ => return,
            };
            match action {
                MenuAction::Play(refs) => {
                    let receiving = self.receiving();
                    let language = receiving.language.clone();
                    let payload_type = receiving.settled.map_or(0, |s| s.payload_type);
                    let prompts: Vec<_> = refs
                        .iter()
                        .filter_map(|prompt| {
                            let found = ctx
                                .core
                                .prompts
                                .as_ref()
                                .and_then(|library| library.get(&language, prompt));
                            if found.is_none() {
                                tracing::warn!(?prompt, %language, "prompt not loaded");
                            }
                            found
                        })
                        .collect();
                    if prompts.is_empty() {
                        // Nothing to play: the menu waits for keys at once.
                        if let App::Menu(menu) = &mut self.receiving().app {
                            queue.extend(menu.prompt_finished(ctx.now));
                        }
                        continue;
                    }
                    ctx.media(MediaCommand::Play {
                        id: self.media.relay,
                        prompts,
                        repeat: false,
                        payload_type,
                    });
                }
                MenuAction::StopPlaying => ctx.media(MediaCommand::StopPlaying {
                    id: self.media.relay,
                }),
                MenuAction::WaitUntil(at) => ctx.arm(CallTimer::App, at),
                MenuAction::Go { destination, keys } => {
                    let result = if keys.is_empty() {
                        format!("no choice → {destination}")
                    } else {
                        format!("{keys} → {destination}")
                    };
                    ctx.emit(
                        &self.id,
                        EventKind::Step {
                            kind: StepKind::Digit,
                            name: menu_name,
                            result,
                        },
                    );
                    self.follow_destination(ctx, &destination);
                    return;
                }
                MenuAction::Dial { number } => {
                    ctx.emit(
                        &self.id,
                        EventKind::Step {
                            kind: StepKind::Digit,
                            name: menu_name,
                            result: format!("{number} → ext:{number}"),
                        },
                    );
                    self.go_to(ctx, Target::Extension(number));
                    return;
                }
            }
        }
    }
}
