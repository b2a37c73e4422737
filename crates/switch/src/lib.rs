//! crossbar-switch: Calls and legs: the B2BUA, sans-IO, on top of the SIP endpoint.
