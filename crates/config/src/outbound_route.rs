//! `[[outbound_route]]`: which trunks carry which numbers, in what order, with which caller ID.

use crossbar_cdr::DestinationClass;

/// One `[[outbound_route]]`. Routes are tried in file order; the first whose `match` and
/// `classes` both accept the normalised number carries the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRoute {
    /// Unique, for logs, records and reports.
    pub name: String,
    /// Patterns on the E.164 number (`match = ["+44*", "+33*"]`): a trailing `*` matches any
    /// rest, otherwise the number must be equal. Empty: every number.
    pub patterns: Vec<String>,
    /// Destination classes the route carries. Empty: every class.
    pub classes: Vec<DestinationClass>,
    pub strategy: Strategy,
    /// Trunks by name; with `in_order`, tried in this order.
    pub trunks: Vec<String>,
    /// Caller ID for calls through this route when the extension has no external number.
    pub caller_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The trunks in the order listed.
    InOrder,
    /// Cheapest rate for the number first (ties in listed order); trunks with no rate for
    /// the number are skipped.
    LeastCost,
}
