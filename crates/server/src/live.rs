//! The live view of the queues, published by the engine (issue 9): after anything happens
//! the engine asks for a snapshot of the queue machine — at most every [`THROTTLE`] — and when
//! it differs from the last one, publishes it in the API's form on a `watch` channel that
//! `GET /api/queues` and its event stream read.
//!
//! The switch's snapshot keeps monotonic instants (so an unchanged switch gives an equal
//! snapshot); they become wall-clock milliseconds here through one fixed pair of clocks read
//! at start, so a caller's `joined_at_ms` does not wobble from one publication to the next.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbar_api::live::{LiveAgent, LiveCaller, LiveMembership, LiveQueue, LiveQueues, LiveState};
use crossbar_switch::{AgentNow, QueueSnapshot};
use tokio::sync::watch;

use crate::agents::pause_reason;

/// The shortest time between two snapshots.
pub const THROTTLE: Duration = Duration::from_millis(250);

/// The channel the API reads: `None` until the first publication.
pub type LiveSender = watch::Sender<Option<Arc<LiveQueues>>>;

/// Monotonic instants as wall-clock milliseconds, through one pair of readings.
#[derive(Debug, Clone, Copy)]
pub struct Anchor {
    at: Instant,
    wall_ms: i64,
}

impl Anchor {
    /// `at` is `wall` (read together).
    pub fn new(at: Instant, wall: SystemTime) -> Anchor {
        Anchor {
            at,
            wall_ms: crossbar_switch::wall_ms(wall),
        }
    }

    /// `instant` in unix milliseconds.
    pub fn ms(&self, instant: Instant) -> i64 {
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        match instant.checked_duration_since(self.at) {
            Some(after) => self.wall_ms.saturating_add(millis(after)),
            None => self
                .wall_ms
                .saturating_sub(millis(self.at.duration_since(instant))),
        }
    }
}

/// What the engine knows of the view it publishes.
#[derive(Debug)]
pub struct LivePublisher {
    sender: LiveSender,
    anchor: Anchor,
    /// The snapshot last published.
    last: Option<QueueSnapshot>,
    /// When the last snapshot was taken.
    taken_at: Option<Instant>,
    /// Something happened since.
    dirty: bool,
}

impl LivePublisher {
    pub fn new(sender: LiveSender, anchor: Anchor) -> LivePublisher {
        LivePublisher {
            sender,
            anchor,
            last: None,
            taken_at: None,
            dirty: true,
        }
    }

    /// Something happened: a snapshot is due.
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// When the next snapshot is to be taken, if one is due.
    pub fn due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(self.taken_at.map_or(self.anchor.at, |at| at + THROTTLE))
    }

    /// Takes `snapshot` (made at `now`): `true` when it differs from the last one, and
    /// should be published with [`LivePublisher::publish`].
    pub fn changed(&mut self, snapshot: &QueueSnapshot, now: Instant) -> bool {
        self.dirty = false;
        self.taken_at = Some(now);
        self.last.as_ref() != Some(snapshot)
    }

    /// Publishes `snapshot` in the API's form (the view at `wall`).
    pub fn publish(&mut self, snapshot: QueueSnapshot, wall: SystemTime) {
        let view = view_of(&snapshot, self.anchor, crossbar_switch::wall_ms(wall));
        self.last = Some(snapshot);
        self.sender.send_replace(Some(Arc::new(view)));
    }

    /// The view of `snapshot` now, without publishing it.
    pub fn view(&self, snapshot: &QueueSnapshot, wall: SystemTime) -> LiveQueues {
        view_of(snapshot, self.anchor, crossbar_switch::wall_ms(wall))
    }
}

/// The API's view of `snapshot`, at `at_ms`.
pub fn view_of(snapshot: &QueueSnapshot, anchor: Anchor, at_ms: i64) -> LiveQueues {
    let agents: Vec<LiveAgent> = snapshot
        .agents
        .iter()
        .map(|agent| {
            let pause_pending = matches!(
                agent.state,
                AgentNow::OnCall {
                    pausing: Some(_),
                    ..
                }
            );
            let (state, queue, call, since, until, pause) = match &agent.state {
                AgentNow::LoggedOut => (LiveState::LoggedOut, None, None, None, None, None),
                AgentNow::Available { since } => {
                    (LiveState::Available, None, None, Some(*since), None, None)
                }
                AgentNow::Ringing { queue, call, until } => (
                    LiveState::Ringing,
                    Some(queue.clone()),
                    call.clone(),
                    None,
                    Some(*until),
                    None,
                ),
                AgentNow::OnCall {
                    queue,
                    call,
                    since,
                    pausing,
                } => (
                    LiveState::OnCall,
                    Some(queue.clone()),
                    call.clone(),
                    Some(*since),
                    None,
                    pausing.as_ref().and_then(pause_reason),
                ),
                AgentNow::WrapUp { queue, until } => (
                    LiveState::WrapUp,
                    Some(queue.clone()),
                    None,
                    None,
                    Some(*until),
                    None,
                ),
                AgentNow::Paused { reason, since } => (
                    LiveState::Paused,
                    None,
                    None,
                    Some(*since),
                    None,
                    pause_reason(reason),
                ),
            };
            LiveAgent {
                agent: agent.agent.clone(),
                state,
                queue,
                call: call.map(|c| c.0),
                since_ms: since.map(|at| anchor.ms(at)),
                until_ms: until.map(|at| anchor.ms(at)),
                pause_reason: pause,
                pause_pending,
                on_a_call: agent.on_a_call,
                queues: agent
                    .queues
                    .iter()
                    .map(|q| LiveMembership {
                        queue: q.queue.clone(),
                        penalty: q.penalty,
                    })
                    .collect(),
            }
        })
        .collect();
    let queues = snapshot
        .queues
        .iter()
        .map(|line| {
            let members = agents
                .iter()
                .filter(|a| a.queues.iter().any(|q| q.queue == line.name));
            let logged_in = members.clone().count();
            let available = members
                .filter(|a| a.state == LiveState::Available && !a.on_a_call)
                .count();
            LiveQueue {
                queue: line.name.clone(),
                waiting: line.callers.len(),
                logged_in,
                available,
                callers: line
                    .callers
                    .iter()
                    .map(|caller| {
                        let joined_at_ms = anchor.ms(caller.joined_at);
                        LiveCaller {
                            position: caller.position,
                            call: caller.call.as_ref().map(|c| c.0.clone()),
                            number: caller.number.clone(),
                            vip: caller.vip,
                            joined_at_ms,
                            waited_secs: (at_ms - joined_at_ms).max(0) / 1_000,
                            offered_to: caller.offered_to.clone(),
                            callback: caller.callback,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    LiveQueues {
        at_ms,
        queues,
        agents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_become_wall_clock_milliseconds_before_and_after_the_anchor() {
        let at = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_251_600_000);
        let anchor = Anchor::new(at, wall);
        assert_eq!(anchor.ms(at), 1_795_251_600_000);
        assert_eq!(
            anchor.ms(at + Duration::from_millis(1_500)),
            1_795_251_601_500
        );
        if let Some(before) = at.checked_sub(Duration::from_secs(2)) {
            assert_eq!(anchor.ms(before), 1_795_251_598_000);
        }
    }

    #[test]
    fn a_pause_asked_for_during_a_call_shows_as_pending_with_its_reason() {
        use crossbar_switch::{AgentPause, AgentSnapshot};
        let at = Instant::now();
        let anchor = Anchor::new(
            at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        );
        let on_call = |pausing| AgentSnapshot {
            agent: "201".into(),
            state: AgentNow::OnCall {
                queue: "support".into(),
                call: None,
                since: at,
                pausing,
            },
            queues: Vec::new(),
            on_a_call: true,
        };
        let snapshot = QueueSnapshot {
            queues: Vec::new(),
            agents: vec![
                on_call(Some(AgentPause::Reason("lunch".into()))),
                on_call(None),
            ],
        };
        let view = view_of(&snapshot, anchor, 1_800_000_000_000);
        let shown: Vec<(LiveState, bool, Option<&str>)> = view
            .agents
            .iter()
            .map(|a| (a.state, a.pause_pending, a.pause_reason.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (LiveState::OnCall, true, Some("lunch")),
                (LiveState::OnCall, false, None)
            ]
        );
    }

    #[test]
    fn a_snapshot_is_due_at_once_then_at_most_every_throttle_and_only_after_a_change() {
        let (sender, receiver) = watch::channel(None);
        let start = Instant::now();
        let mut live = LivePublisher::new(sender, Anchor::new(start, SystemTime::now()));
        assert_eq!(live.due(), Some(start));
        let empty = QueueSnapshot {
            queues: Vec::new(),
            agents: Vec::new(),
        };
        assert!(live.changed(&empty, start));
        live.publish(empty.clone(), SystemTime::now());
        assert_eq!(live.due(), None, "nothing happened since");
        live.touch();
        assert_eq!(live.due(), Some(start + THROTTLE));
        assert!(!live.changed(&empty, start + THROTTLE), "the same snapshot");
        assert!(receiver.borrow().is_some(), "published");
    }
}
