//! crossbar-store
