//! `[registrar]`: limits on REGISTER bindings (RFC 3261 §10.3).

use crate::load::{At, Loader, Section, Span};

pub(crate) const KEYS: &[&str] = &[
    "min_expires",
    "max_expires",
    "default_expires",
    "max_contacts",
];

/// The `[registrar]` section, with defaults resolved.
///
/// Invariant (checked at load): `1 <= min_expires <= default_expires <= max_expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    /// Requests asking for less are answered 423 Interval Too Brief with this value in
    /// `Min-Expires` (RFC 3261 §10.3 step 7). Default 60.
    pub min_expires: u32,
    /// Longer requested expirations are shortened to this. Default 3600.
    pub max_expires: u32,
    /// Used when a REGISTER carries no expiration. Default 3600.
    pub default_expires: u32,
    /// Bindings kept per extension unless the extension overrides it. Default 10.
    pub max_contacts: u32,
}

impl Default for Registrar {
    fn default() -> Self {
        Registrar {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
        }
    }
}

/// A resolved value, with where it was written (`None`: the default was used).
struct Setting {
    name: &'static str,
    value: u32,
    span: Option<Span>,
}

impl Setting {
    fn new(name: &'static str, given: Option<At<u32>>, default: u32) -> Self {
        match given {
            Some(At { value, span }) => Setting {
                name,
                value,
                span: Some(span),
            },
            None => Setting {
                name,
                value: default,
                span: None,
            },
        }
    }

    fn describe(&self) -> String {
        match self.span {
            Some(_) => format!("{} ({})", self.name, self.value),
            None => format!("{} ({}, the default)", self.name, self.value),
        }
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Registrar {
    section.reject_unknown_keys(ld, KEYS);
    let defaults = Registrar::default();
    let errors_before = ld.error_count();
    let min = Setting::new(
        "min_expires",
        section.u32_at_least(ld, "min_expires", 1),
        defaults.min_expires,
    );
    let max = Setting::new(
        "max_expires",
        section.u32_at_least(ld, "max_expires", 1),
        defaults.max_expires,
    );
    let default = Setting::new(
        "default_expires",
        section.u32_at_least(ld, "default_expires", 1),
        defaults.default_expires,
    );
    let max_contacts = section
        .u32_at_least(ld, "max_contacts", 1)
        .map_or(defaults.max_contacts, |at| at.value);

    // Compare only values that are themselves valid, so one typo gives one error.
    if ld.error_count() == errors_before {
        if min.value > max.value {
            require_order(ld, section, &min, &max);
        } else {
            require_order(ld, section, &min, &default);
            require_order(ld, section, &default, &max);
        }
    }
    Registrar {
        min_expires: min.value,
        max_expires: max.value,
        default_expires: default.value,
        max_contacts,
    }
}

/// Reports `low > high` at whichever of the two was written in the file (the later one if both).
fn require_order(ld: &mut Loader<'_>, section: &Section<'_, '_>, low: &Setting, high: &Setting) {
    if low.value <= high.value {
        return;
    }
    let (at, span) = match (&low.span, &high.span) {
        (Some(low_span), Some(high_span)) if low_span.start > high_span.start => (low, low_span),
        (_, Some(high_span)) => (high, high_span),
        (Some(low_span), None) => (low, low_span),
        (None, None) => (high, &section.header),
    };
    ld.error(
        span,
        &section.key(at.name),
        format!(
            "{} must not be greater than {}",
            low.describe(),
            high.describe()
        ),
    );
}
