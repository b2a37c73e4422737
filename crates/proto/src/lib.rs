//! crossbar-proto
