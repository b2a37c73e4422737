//! The live state a routing decision reads: trunk health and load, and what an extension has
//! been doing (its calls and spend, whether a fraud cap blocked it). The switch pushes its own
//! counters in; `crossbar route explain` reads them from the database, or assumes [`Idle`].

use crossbar_cdr::Money;

/// Live state, asked for by name during one [`crate::DialPlan::route`] call.
pub trait Live {
    /// A trunk's health and load. Unknown names: the implementation's choice (the switch
    /// reports a trunk it has not probed yet as up).
    fn trunk(&self, name: &str) -> TrunkLoad;
    /// An extension's outbound usage, by its number.
    fn extension(&self, number: &str) -> ExtensionUsage;
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

/// No load anywhere: every trunk up and idle, no extension blocked or busy. For
/// `crossbar route explain` without a database, and for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Idle;

impl Live for Idle {
    fn trunk(&self, _name: &str) -> TrunkLoad {
        TrunkLoad::IDLE
    }

    fn extension(&self, _number: &str) -> ExtensionUsage {
        ExtensionUsage::default()
    }
}
