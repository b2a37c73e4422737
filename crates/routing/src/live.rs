//! The live state a routing decision reads: trunk health and load, and what an extension has
//! been doing (its calls and spend, whether a fraud cap blocked it); for inbound calls, the
//! callers blocked through the API, manual overrides of time conditions, where round robin
//! groups start and which extensions are busy. The switch pushes its own counters in;
//! `crossbar route explain` reads them from the database, or assumes [`Idle`].
//!
//! The inbound methods have default bodies (what [`Idle`] says), so an implementation written
//! before inbound routing still compiles; the switch's and the API's must override them.

use crossbar_cdr::Money;

/// Live state, asked for by name during one [`crate::DialPlan::route`] call.
pub trait Live {
    /// A trunk's health and load. Unknown names: the implementation's choice (the switch
    /// reports a trunk it has not probed yet as up).
    fn trunk(&self, name: &str) -> TrunkLoad;
    /// An extension's outbound usage, by its number.
    fn extension(&self, number: &str) -> ExtensionUsage;

    /// Whether `number` (a caller: E.164, or as the trunk sent it when it is not a number) is
    /// on the blocklist kept in the database (added through the API). The `[inbound]
    /// blocklist` of the configuration is checked by the plan itself. Default: no.
    fn caller_blocked(&self, _number: &str) -> bool {
        false
    }

    /// A manual override of the time condition `name`, kept in the database until cleared:
    /// `Some(true)` forced open, `Some(false)` forced closed, `None` none (the default). It
    /// wins over hours, holidays and exceptions.
    fn time_condition_override(&self, _name: &str) -> Option<bool> {
        None
    }

    /// Where the round robin group `group` starts: the position (0-based, in the group's
    /// list; taken modulo the number of members) of the member to ring first. The switch
    /// persists it (the position after the member rung first, once a call has rung them).
    /// Default: 0.
    fn round_robin_next(&self, _group: &str) -> usize {
        0
    }

    /// Whether the extension `number` is on a call (of any direction), so ring groups that
    /// skip busy members pass it over. Default: it has outbound calls up
    /// ([`ExtensionUsage::calls_now`]), which misses inbound and internal calls: the switch
    /// overrides it with every call the extension is on.
    fn extension_busy(&self, number: &str) -> bool {
        self.extension(number).calls_now > 0
    }
}

/// A trunk's health and load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrunkLoad {
    /// Answering its OPTIONS health checks (always true when they are disabled).
    pub up: bool,
    /// Calls up through the trunk now.
    pub calls: u32,
    /// Calls started through the trunk in the last second.
    pub calls_last_second: u32,
}

impl TrunkLoad {
    pub const IDLE: TrunkLoad = TrunkLoad {
        up: true,
        calls: 0,
        calls_last_second: 0,
    };
}

impl Default for TrunkLoad {
    fn default() -> Self {
        TrunkLoad::IDLE
    }
}

/// An extension's outbound calls and spend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtensionUsage {
    /// Blocked for outbound calls (a fraud cap tripped and nobody has released it).
    pub blocked: bool,
    /// Outbound calls up now.
    pub calls_now: u32,
    /// Outbound calls started in the last 60 seconds.
    pub calls_last_minute: u32,
    /// Outbound calls started since local midnight.
    pub calls_today: u32,
    /// Cost of today's outbound calls (since local midnight).
    pub spend_today: Money,
}

/// No load anywhere: every trunk up and idle, no extension blocked or busy, no caller blocked
/// beyond the configuration's blocklist, no time condition overridden, every round robin group
/// starting at its first member. For `crossbar route explain` without a database, and for
/// tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

impl Live for Idle {
    fn trunk(&self, _name: &str) -> TrunkLoad {
        TrunkLoad::IDLE
    }

    fn extension(&self, _number: &str) -> ExtensionUsage {
        ExtensionUsage::default()
    }

    fn caller_blocked(&self, _number: &str) -> bool {
        false
    }

    fn time_condition_override(&self, _name: &str) -> Option<bool> {
        None
    }

    fn round_robin_next(&self, _group: &str) -> usize {
        0
    }

    fn extension_busy(&self, _number: &str) -> bool {
        false
    }
}
