//! The switch's live state as the dial plan reads it ([`crossbar_routing::Live`]): trunk
//! health and load, extensions' outbound usage, who is on a call, and what steers incoming
//! calls from the database — callers blocked through the API, manual overrides of time
//! conditions — plus where each round robin group starts next.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use crossbar_config::NumberPattern;
use crossbar_routing::{ExtensionUsage, Live, TrunkLoad};

use crate::core::Load;
use crate::trunk::Trunks;
use crate::usage::Usage;

/// What the database says about incoming calls (the run loop re-reads it every few seconds,
/// so a change through the API or the CLI takes effect without a restart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundControl {
    /// Callers refused (numbers and prefixes), beside the configuration's `[inbound]
    /// blocklist`.
    pub blocked_callers: Vec<NumberPattern>,
    /// Time conditions forced open (`true`) or closed (`false`) until cleared.
    pub overrides: HashMap<String, bool>,
}

/// The switch's counters as the dial plan reads them.
pub(crate) struct LiveState<'a> {
    pub(crate) trunks: &'a Trunks,
    pub(crate) usage: &'a Usage,
    pub(crate) load: &'a Load,
    pub(crate) inbound: &'a InboundControl,
    pub(crate) round_robin: &'a HashMap<String, usize>,
    pub(crate) now: Instant,
    pub(crate) wall: SystemTime,
}

impl Live for LiveState<'_> {
    fn trunk(&self, name: &str) -> TrunkLoad {
        match self.trunks.get(name) {
            Some(trunk) => TrunkLoad {
                up: trunk.is_up(),
                calls: trunk.calls,
                calls_last_second: trunk.calls_last_second(self.now),
            },
            None => TrunkLoad {
                up: false,
                ..TrunkLoad::IDLE
            },
        }
    }

    fn extension(&self, number: &str) -> ExtensionUsage {
        let usage = self.usage.of(number, self.now, self.wall);
        ExtensionUsage {
            blocked: usage.blocked,
            calls_now: usage.calls_now,
            calls_last_minute: usage.calls_last_minute,
            calls_today: usage.calls_today,
            spend_today: usage.spend_today,
        }
    }

    fn caller_blocked(&self, number: &str) -> bool {
        self.inbound
            .blocked_callers
            .iter()
            .any(|pattern| pattern.matches(number))
    }

    fn time_condition_override(&self, name: &str) -> Option<bool> {
        self.inbound.overrides.get(name).copied()
    }

    fn round_robin_next(&self, group: &str) -> usize {
        self.round_robin.get(group).copied().unwrap_or(0)
    }

    fn extension_busy(&self, number: &str) -> bool {
        self.load.calls_of(number) > 0
    }
}
