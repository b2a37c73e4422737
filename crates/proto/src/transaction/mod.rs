//! Transactions (RFC 3261 §17, RFC 6026): being written.
