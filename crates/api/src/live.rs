//! The live view of the queues (issue 9): who waits in each queue, in what order and for how
//! long, and what every agent is doing — for wallboards.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/queues` | the view now ([`LiveQueues`]); 503 when no engine runs in this process, or it has not published yet |
//! | `GET /api/queues/events` | the same as server-sent events: one `queues` event at once, then one per change; a comment every 15 s keeps the connection open |
//!
//! The engine (`crossbar run`) publishes the view through a [`tokio::sync::watch`] channel
//! whenever it changes, at most every 250 ms; the API reads the latest ([`EngineLink`]). An
//! API served without an engine (a test over a store) answers 503.
//!
//! ```json
//! {"at_ms": 1795251600000,
//!  "queues": [{"queue": "support", "waiting": 2, "logged_in": 2, "available": 0,
//!     "callers": [{"position": 1, "call": "c-…", "number": "+447700900002", "vip": true,
//!                  "joined_at_ms": 1795251590000, "waited_secs": 10, "offered_to": [],
//!                  "callback": false}, …]}],
//!  "agents": [{"agent": "201", "state": "on_call", "queue": "support", "call": "c-…",
//!              "since_ms": 1795251500000, "until_ms": null, "pause_reason": null,
//!              "on_a_call": true, "queues": [{"queue": "support", "penalty": 0}]}, …]}
//! ```
//!
//! An agent's `state` is `logged_out`, `available` (since `since_ms`), `ringing` (with a
//! caller of `queue`, `call`, until `until_ms`), `on_call` (since `since_ms`), `wrap_up`
//! (until `until_ms`) or `paused` (since `since_ms`, `pause_reason`: a configured reason,
//! `auto:unanswered`, or null). `on_a_call`: its phone is on any call now (its own calls
//! too). Times are unix milliseconds; `waited_secs` is counted when the answer is made.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::{Notify, watch};

use crate::{Api, ApiError};

/// What the API shares with the engine running in its process.
#[derive(Debug, Clone)]
pub struct EngineLink {
    /// The engine's latest live view; `None` until it has published one.
    pub live: watch::Receiver<Option<Arc<LiveQueues>>>,
    /// Wakes the engine's reader of requests (agent login, pause...) at once, rather than at
    /// its next poll.
    pub requests: Arc<Notify>,
}

/// The live view of every queue and agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveQueues {
    /// When the engine took the view (unix milliseconds).
    pub at_ms: i64,
    /// The queues in the configuration's order.
    pub queues: Vec<LiveQueue>,
    /// Every agent (static members and extensions logged in to a queue), by extension.
    pub agents: Vec<LiveAgent>,
}

/// One queue now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveQueue {
    pub queue: String,
    /// Callers in line (`callers.len()`).
    pub waiting: usize,
    /// Agents logged in to the queue (paused ones included).
    pub logged_in: usize,
    /// Of those, the ones free for an offer now.
    pub available: usize,
    /// The callers in the order they are served.
    pub callers: Vec<LiveCaller>,
}

/// A caller in line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveCaller {
    /// 1: next to be served.
    pub position: usize,
    /// The call's id (`GET /api/calls/{id}` once it has ended); `None` for a caller waiting
    /// for a callback.
    pub call: Option<String>,
    pub number: Option<String>,
    pub vip: bool,
    pub joined_at_ms: i64,
    /// The wait so far, when the answer was made.
    pub waited_secs: i64,
    /// Agents whose phones ring for this caller now.
    pub offered_to: Vec<String>,
    /// The caller chose to be called back and keeps their place.
    pub callback: bool,
}

/// What an agent does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    LoggedOut,
    Available,
    Ringing,
    OnCall,
    WrapUp,
    Paused,
}

/// An agent now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveAgent {
    pub agent: String,
    pub state: LiveState,
    /// The queue of the caller it rings with, talks to or wraps up after.
    pub queue: Option<String>,
    /// That caller's call.
    pub call: Option<String>,
    /// Available, on the call or paused since.
    pub since_ms: Option<i64>,
    /// Ringing or wrapping up until.
    pub until_ms: Option<i64>,
    pub pause_reason: Option<String>,
    /// On a call, it asked to pause (for `pause_reason`, if any): the pause begins when the
    /// call ends.
    #[serde(default)]
    pub pause_pending: bool,
    /// Its phone is on a call (any call).
    pub on_a_call: bool,
    /// The queues it is logged in to.
    pub queues: Vec<LiveMembership>,
}

/// A queue an agent is logged in to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveMembership {
    pub queue: String,
    pub penalty: u32,
}

impl LiveQueues {
    /// The view with every caller's wait counted up to `now_ms`.
    pub fn at(&self, now_ms: i64) -> LiveQueues {
        let mut view = self.clone();
        for queue in &mut view.queues {
            for caller in &mut queue.callers {
                caller.waited_secs = (now_ms - caller.joined_at_ms).max(0) / 1_000;
            }
        }
        view
    }

    /// Agent `agent`, if the view has it.
    pub fn agent(&self, agent: &str) -> Option<&LiveAgent> {
        self.agents.iter().find(|a| a.agent == agent)
    }

    /// The agent of `queue` a callback task assigned to the queue is dialled with: logged in
    /// to it, available (not ringing, on a call, wrapping up or paused) with its phone free,
    /// of the lowest penalty among those, then free the longest, then the lowest extension;
    /// none of `taken` (agents given a task already).
    pub fn free_agent(&self, queue: &str, taken: &BTreeSet<String>) -> Option<&LiveAgent> {
        self.agents
            .iter()
            .filter(|a| a.state == LiveState::Available && !a.on_a_call)
            .filter(|a| !taken.contains(&a.agent))
            .filter_map(|a| {
                let membership = a.queues.iter().find(|m| m.queue == queue)?;
                Some((membership.penalty, a.since_ms.unwrap_or(i64::MAX), a))
            })
            .min_by(|x, y| (x.0, x.1, &x.2.agent).cmp(&(y.0, y.1, &y.2.agent)))
            .map(|(_, _, agent)| agent)
    }
}

fn unavailable(message: &str) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: message.to_owned(),
    }
}

/// The engine's link, or the 503 that says there is none.
fn engine(api: &Api) -> Result<&EngineLink, ApiError> {
    api.engine.as_ref().ok_or_else(|| {
        unavailable(
            "no call engine runs with this API: the live queue view is served by `crossbar run`",
        )
    })
}

/// `GET /api/queues`.
pub(crate) async fn queues(State(api): State<Api>) -> Result<Json<LiveQueues>, ApiError> {
    let engine = engine(&api)?;
    let view = engine.live.borrow().clone();
    match view {
        Some(view) => Ok(Json(view.at(api.clock.now_ms()))),
        None => Err(unavailable(
            "the call engine is starting and has not published the queues yet; try again",
        )),
    }
}

/// `GET /api/queues/events`.
pub(crate) async fn events(
    State(api): State<Api>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut live = engine(&api)?.live.clone();
    // The first event is the view as it is.
    live.mark_changed();
    let clock = api.clock.clone();
    let stream = futures_util::stream::unfold(live, move |mut live| {
        let clock = clock.clone();
        async move {
            loop {
                // Ends the stream when the engine is gone (crossbar stops).
                live.changed().await.ok()?;
                let view = live.borrow_and_update().clone();
                let Some(view) = view else { continue };
                let event = match Event::default()
                    .event("queues")
                    .json_data(view.at(clock.now_ms()))
                {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::error!(%error, "live queue view not serialised");
                        continue;
                    }
                };
                return Some((Ok(event), live));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, state: LiveState, since_ms: i64, queues: &[(&str, u32)]) -> LiveAgent {
        LiveAgent {
            agent: name.to_owned(),
            state,
            queue: None,
            call: None,
            since_ms: Some(since_ms),
            until_ms: None,
            pause_reason: None,
            pause_pending: false,
            on_a_call: false,
            queues: queues
                .iter()
                .map(|(queue, penalty)| LiveMembership {
                    queue: (*queue).to_owned(),
                    penalty: *penalty,
                })
                .collect(),
        }
    }

    fn view(agents: Vec<LiveAgent>) -> LiveQueues {
        LiveQueues {
            at_ms: 0,
            queues: Vec::new(),
            agents,
        }
    }

    fn chosen(view: &LiveQueues, queue: &str, taken: &[&str]) -> Option<String> {
        let taken = taken.iter().map(|t| (*t).to_owned()).collect();
        view.free_agent(queue, &taken).map(|a| a.agent.clone())
    }

    #[test]
    fn a_queues_callback_goes_to_its_agent_free_the_longest_of_the_lowest_penalty() {
        let view = view(vec![
            agent("201", LiveState::Available, 3_000, &[("support", 0)]),
            agent("202", LiveState::Available, 1_000, &[("support", 1)]),
            agent(
                "203",
                LiveState::Available,
                2_000,
                &[("support", 0), ("sales", 0)],
            ),
            agent("204", LiveState::Available, 500, &[("sales", 0)]),
        ]);
        assert_eq!(chosen(&view, "support", &[]).as_deref(), Some("203"));
        assert_eq!(chosen(&view, "support", &["203"]).as_deref(), Some("201"));
        // The higher penalty only when no agent of a lower one is free.
        assert_eq!(
            chosen(&view, "support", &["203", "201"]).as_deref(),
            Some("202")
        );
        assert_eq!(chosen(&view, "sales", &[]).as_deref(), Some("204"));
        assert_eq!(chosen(&view, "billing", &[]), None);
    }

    #[test]
    fn an_agent_busy_in_any_way_gets_no_callback() {
        let mut on_own_call = agent("205", LiveState::Available, 0, &[("support", 0)]);
        on_own_call.on_a_call = true;
        let view = view(vec![
            agent("201", LiveState::Ringing, 0, &[("support", 0)]),
            agent("202", LiveState::OnCall, 0, &[("support", 0)]),
            agent("203", LiveState::WrapUp, 0, &[("support", 0)]),
            agent("204", LiveState::Paused, 0, &[("support", 0)]),
            on_own_call,
            agent("206", LiveState::LoggedOut, 0, &[]),
        ]);
        assert_eq!(chosen(&view, "support", &[]), None);
    }
}
