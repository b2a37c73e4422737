//! crossbar-config
