//! crossbar-media: RTP/RTCP relaying, sans-IO: port allocation, symmetric latching, RFC 4733 pass-through, statistics, inactivity.
