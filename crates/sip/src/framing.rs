//! Stream framing for SIP over TCP (RFC 3261 §18.3): to be written.
