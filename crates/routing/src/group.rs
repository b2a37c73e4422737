//! Ring groups (`[[ring_group]]`): which members ring, in which order, and which are passed
//! over and why. [`crate::DialPlan::ring_order`] is what the switch rings and what `crossbar
//! route explain` shows.
//!
//! Orders: `ring_all` and `hunt` as listed (ring all rings them at once); `round_robin` as
//! listed from the position the live state gives ([`crate::Live::round_robin_next`], which
//! the switch persists); `random` shuffled from a seed the caller gives (the same seed, the
//! same order). Members stay in the list when passed over, marked with why: a busy extension
//! when the group skips busy members, and an external number that is not a valid number or
//! that no class of service lets the group call (the group's `class`, else the first class
//! in file order that allows the number's destination class).

use crossbar_config::{Escalation, Member, RingGroup, RingStrategy};

use crate::live::Live;
use crate::numbering::Numbering;
use crate::policy::ClassPolicy;

/// A `[[ring_group]]` compiled.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub name: String,
    pub strategy: RingStrategy,
    /// Seconds each member rings (all together with `ring_all`).
    pub ring_secs: u32,
    pub skip_busy: bool,
    /// External members see the inbound caller's number as caller ID.
    pub present_caller: bool,
    pub escalation: Escalation,
    members: Vec<CompiledMember>,
}

#[derive(Debug, Clone)]
struct CompiledMember {
    member: Member,
    /// External members: the class they are called with.
    class: Option<String>,
    /// Passed over whatever the live state (an external number nobody may call).
    never: Option<String>,
}

/// A member in ringing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPlan {
    pub member: Member,
    /// Its place in the group's list (0-based): what round robin positions count.
    pub position: usize,
    /// External members: the class of service they are called with.
    pub class: Option<String>,
    /// `None`: rung; else why it is passed over (`busy`, `no class allows international
    /// calls`...).
    pub skipped: Option<String>,
}

impl GroupPlan {
    /// `classes` are the plan's classes in file order; `class` the index of the group's own.
    pub(crate) fn compile(
        group: &RingGroup,
        class: Option<usize>,
        classes: &[ClassPolicy],
        numbering: &Numbering,
    ) -> GroupPlan {
        let members = group
            .members
            .iter()
            .map(|member| match member {
                Member::Extension(_) => CompiledMember {
                    member: member.clone(),
                    class: None,
                    never: None,
                },
                Member::External(number) => {
                    let (class, never) = external_class(number, class, classes, numbering);
                    CompiledMember {
                        member: member.clone(),
                        class,
                        never,
                    }
                }
            })
            .collect();
        GroupPlan {
            name: group.name.clone(),
            strategy: group.strategy,
            ring_secs: group.ring_secs,
            skip_busy: group.skip_busy,
            present_caller: group.present_caller,
            escalation: group.escalation.clone(),
            members,
        }
    }

    /// The class of service external member `number` is called with (`None`: not a member,
    /// or nobody may call it).
    pub fn member_class(&self, number: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| matches!(&m.member, Member::External(n) if n == number) && m.never.is_none())
            .and_then(|m| m.class.as_deref())
    }

    /// The members as listed.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().map(|m| &m.member)
    }

    /// The members in the order to ring them (see the module).
    pub fn ring_order(&self, live: &dyn Live, seed: u64) -> Vec<MemberPlan> {
        let count = self.members.len();
        let mut order: Vec<usize> = (0..count).collect();
        match self.strategy {
            RingStrategy::RingAll | RingStrategy::Hunt => {}
            RingStrategy::RoundRobin => {
                if count > 0 {
                    order.rotate_left(live.round_robin_next(&self.name) % count);
                }
            }
            RingStrategy::Random => shuffle(&mut order, seed),
        }
        order
            .into_iter()
            .map(|position| {
                let compiled = &self.members[position];
                let skipped = compiled.never.clone().or_else(|| match &compiled.member {
                    Member::Extension(number) if self.skip_busy && live.extension_busy(number) => {
                        Some("busy".to_owned())
                    }
                    _ => None,
                });
                MemberPlan {
                    member: compiled.member.clone(),
                    position,
                    class: compiled.class.clone(),
                    skipped,
                }
            })
            .collect()
    }
}

/// The class an external member is called with, or why it cannot be called.
fn external_class(
    number: &str,
    class: Option<usize>,
    classes: &[ClassPolicy],
    numbering: &Numbering,
) -> (Option<String>, Option<String>) {
    let normalised = crate::numbering::clean(number)
        .ok_or(crate::NumberProblem::NotANumber)
        .and_then(|cleaned| numbering.normalise(&cleaned));
    let number = match normalised {
        Ok(number) => number,
        Err(problem) => return (None, Some(format!("{number} {problem}"))),
    };
    let region = number.region.as_deref();
    match class {
        Some(index) => {
            let policy = &classes[index];
            match policy.admits_destination(number.class, region) {
                Ok(()) => (Some(policy.name().to_owned()), None),
                Err(reason) => (Some(policy.name().to_owned()), Some(reason.to_string())),
            }
        }
        None => match classes
            .iter()
            .find(|c| c.admits_destination(number.class, region).is_ok())
        {
            Some(policy) => (Some(policy.name().to_owned()), None),
            None => (
                None,
                Some(format!(
                    "no class allows calling {} ({})",
                    number.e164,
                    number.class.as_str()
                )),
            ),
        },
    }
}

/// Fisher–Yates with SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014) from `seed`: the same seed gives the same order.
fn shuffle(order: &mut [usize], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..order.len()).rev() {
        let bound = u64::try_from(i + 1).expect("a member count fits in u64");
        let j = usize::try_from(next() % bound).expect("below a usize count");
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffle_is_a_permutation_fixed_by_its_seed() {
        let mut a: Vec<usize> = (0..10).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let orders: std::collections::HashSet<Vec<usize>> = (0..20)
            .map(|seed| {
                let mut order: Vec<usize> = (0..10).collect();
                shuffle(&mut order, seed);
                order
            })
            .collect();
        assert!(orders.len() > 15, "seeds give different orders");
    }
}
