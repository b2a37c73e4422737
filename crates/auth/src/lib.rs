//! crossbar-auth
