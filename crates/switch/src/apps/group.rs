//! A ring group (`[[ring_group]]`) at work on one call: its members rung all at once
//! (`ring_all`) or one after the other (`hunt`, `round_robin`, `random`: the order comes from
//! the dial plan's `ring_order`, the same the route simulator shows), each for `ring_secs`,
//! until one answers or none is left — then the group says why (busy, no answer, nobody
//! there) and the call's escalation decides what follows.

use std::time::{Duration, Instant};

use crossbar_config::{Member, RingStrategy};

/// Why a group gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every member rung was busy.
    Busy,
    /// No member could be rung (none registered, every one skipped).
    Unavailable,
    /// Members rang and nobody answered.
    NoAnswer,
}

/// What the group wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupAction {
    /// Ring these members (in parallel with any still ringing).
    Ring(Vec<Member>),
    /// Stop ringing the members that ring now.
    CancelRinging,
    /// Call back with `Timeout` at this instant.
    WaitUntil(Instant),
    /// No member answered.
    GiveUp(Outcome),
}

#[derive(Debug)]
pub(crate) struct GroupRun {
    strategy: RingStrategy,
    /// Members in ringing order (skipped ones already left out).
    order: Vec<Member>,
    /// The next member to ring (sequential strategies).
    next: usize,
    ring: Duration,
    /// Members ringing now.
    ringing: usize,
    /// Final statuses of the members that failed.
    failures: Vec<u16>,
    /// The group's whole time (escalation `no_answer_secs`), if any.
    deadline: Option<Instant>,
    done: bool,
}

impl GroupRun {
    /// The group starts ringing `order` (from the dial plan's ring order).
    pub(crate) fn start(
        strategy: RingStrategy,
        order: Vec<Member>,
        ring_secs: u32,
        no_answer_secs: Option<u32>,
        now: Instant,
    ) -> (GroupRun, Vec<GroupAction>) {
        let mut run = GroupRun {
            strategy,
            order,
            next: 0,
            ring: Duration::from_secs(u64::from(ring_secs.max(1))),
            ringing: 0,
            failures: Vec::new(),
            deadline: no_answer_secs.map(|s| now + Duration::from_secs(u64::from(s))),
            done: false,
        };
        let actions = run.ring_next(now);
        (run, actions)
    }

    /// Rings the next member(s), or gives up when none is left.
    fn ring_next(&mut self, now: Instant) -> Vec<GroupAction> {
        if self.next >= self.order.len() {
            self.done = true;
            return vec![GroupAction::GiveUp(self.outcome())];
        }
        let members: Vec<Member> = match self.strategy {
            RingStrategy::RingAll => {
                self.next = self.order.len();
                self.order.clone()
            }
            _ => {
                self.next += 1;
                vec![self.order[self.next - 1].clone()]
            }
        };
        self.ringing = members.len();
        let until = match self.deadline {
            Some(deadline) => deadline.min(now + self.ring),
            None => now + self.ring,
        };
        vec![GroupAction::Ring(members), GroupAction::WaitUntil(until)]
    }

    /// A member's leg failed with `status` (486 busy, 480 nobody registered, ...), or could
    /// not be placed at all.
    pub(crate) fn member_failed(&mut self, now: Instant, status: u16) -> Vec<GroupAction> {
        if self.done {
            return Vec::new();
        }
        self.failures.push(status);
        self.ringing = self.ringing.saturating_sub(1);
        if self.ringing > 0 {
            return Vec::new();
        }
        self.ring_next(now)
    }

    /// The member (or the group's) time ran out.
    pub(crate) fn timeout(&mut self, now: Instant) -> Vec<GroupAction> {
        if self.done {
            return Vec::new();
        }
        let mut actions = vec![GroupAction::CancelRinging];
        self.ringing = 0;
        self.failures.push(408);
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.done = true;
            actions.push(GroupAction::GiveUp(Outcome::NoAnswer));
            return actions;
        }
        actions.extend(self.ring_next(now));
        actions
    }

    /// A member answered: the group is done.
    pub(crate) fn answered(&mut self) {
        self.done = true;
    }

    fn outcome(&self) -> Outcome {
        if self.failures.is_empty() {
            return Outcome::Unavailable;
        }
        if self.failures.iter().all(|s| matches!(s, 486 | 600)) {
            Outcome::Busy
        } else if self.failures.iter().all(|s| matches!(s, 480 | 404)) {
            Outcome::Unavailable
        } else {
            Outcome::NoAnswer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(n: &str) -> Member {
        Member::Extension(n.to_owned())
    }

    #[test]
    fn a_hunt_rings_each_member_for_its_time_in_turn_then_gives_up() {
        let t0 = Instant::now();
        let s = |n| Duration::from_secs(n);
        let (mut run, actions) = GroupRun::start(
            RingStrategy::Hunt,
            vec![ext("201"), ext("202")],
            15,
            None,
            t0,
        );
        assert_eq!(
            actions,
            [
                GroupAction::Ring(vec![ext("201")]),
                GroupAction::WaitUntil(t0 + s(15))
            ]
        );
        // 201 is busy: 202 at once.
        assert_eq!(
            run.member_failed(t0 + s(1), 486),
            [
                GroupAction::Ring(vec![ext("202")]),
                GroupAction::WaitUntil(t0 + s(16))
            ]
        );
        // 202 rings out.
        assert_eq!(
            run.timeout(t0 + s(16)),
            [
                GroupAction::CancelRinging,
                GroupAction::GiveUp(Outcome::NoAnswer)
            ]
        );
        assert!(run.timeout(t0 + s(40)).is_empty(), "done");
    }

    #[test]
    fn ring_all_rings_everyone_and_reports_busy_when_all_are() {
        let t0 = Instant::now();
        let (mut run, actions) = GroupRun::start(
            RingStrategy::RingAll,
            vec![ext("201"), ext("202")],
            20,
            None,
            t0,
        );
        assert_eq!(actions[0], GroupAction::Ring(vec![ext("201"), ext("202")]));
        assert!(run.member_failed(t0, 486).is_empty(), "202 still rings");
        assert_eq!(
            run.member_failed(t0, 486),
            [GroupAction::GiveUp(Outcome::Busy)]
        );
    }

    #[test]
    fn the_groups_own_no_answer_time_cuts_a_members_ring_short() {
        let t0 = Instant::now();
        let s = |n| Duration::from_secs(n);
        let (mut run, actions) = GroupRun::start(
            RingStrategy::Hunt,
            vec![ext("201"), ext("202"), ext("203")],
            15,
            Some(20),
            t0,
        );
        assert_eq!(actions[1], GroupAction::WaitUntil(t0 + s(15)));
        assert_eq!(
            run.timeout(t0 + s(15)),
            [
                GroupAction::CancelRinging,
                GroupAction::Ring(vec![ext("202")]),
                GroupAction::WaitUntil(t0 + s(20))
            ]
        );
        assert_eq!(
            run.timeout(t0 + s(20)),
            [
                GroupAction::CancelRinging,
                GroupAction::GiveUp(Outcome::NoAnswer)
            ]
        );
    }

    #[test]
    fn a_group_with_nobody_to_ring_is_unavailable_at_once() {
        let (_, actions) =
            GroupRun::start(RingStrategy::Hunt, Vec::new(), 15, None, Instant::now());
        assert_eq!(actions, [GroupAction::GiveUp(Outcome::Unavailable)]);
    }
}
