//! `[calls]`: how calls between extensions are carried (ring time, limits, session timers).

use crate::load::{Loader, Section};

pub(crate) const KEYS: &[&str] = &[
    "ring_timeout_secs",
    "max_calls_per_extension",
    "min_session_expires",
];

/// The `[calls]` section, with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calls {
    /// How long the callee's phones ring before the caller hears 480 (disposition
    /// `no_answer`). Default 30, at least 1.
    pub ring_timeout_secs: u32,
    /// Most calls one extension takes part in at once, placed or received: a callee at the
    /// limit is busy (486), a caller at the limit is refused (403, disposition `denied`).
    /// Default 4, at least 1.
    pub max_calls_per_extension: u32,
    /// Smallest RFC 4028 `Session-Expires` accepted; shorter ones get 422 with this
    /// `Min-SE`. Default 90 (the RFC's floor), at least 90.
    pub min_session_expires: u32,
}

impl Default for Calls {
    fn default() -> Self {
        Calls {
            ring_timeout_secs: 30,
            max_calls_per_extension: 4,
            min_session_expires: 90,
        }
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Calls {
    section.reject_unknown_keys(ld, KEYS);
    let mut calls = Calls::default();
    if let Some(value) = section.u32_at_least(ld, "ring_timeout_secs", 1) {
        calls.ring_timeout_secs = value.value;
    }
    if let Some(value) = section.u32_at_least(ld, "max_calls_per_extension", 1) {
        calls.max_calls_per_extension = value.value;
    }
    if let Some(value) = section.u32_at_least(ld, "min_session_expires", 90) {
        calls.min_session_expires = value.value;
    }
    calls
}
