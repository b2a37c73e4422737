//! Why a configuration cannot be compiled into a dial plan. Each error names the configuration
//! key at fault, in the dotted form `crossbar check` uses (`site.timezone`,
//! `outbound_route[2].trunks`; indices 1-based, in file order).

/// A configuration the dial plan cannot be compiled from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{key}: `{name}` is not a time zone crossbar knows ({message})")]
    UnknownTimeZone {
        key: String,
        name: String,
        message: String,
    },
    #[error("{key}: `{country}` is not a country the numbering plan knows")]
    UnknownCountry { key: String, country: String },
    #[error("{key}: needs [site] country (numbers are read and written in its numbering plan)")]
    NeedsCountry { key: String },
    #[error("{key}: needs [site] timezone (hours are local times)")]
    NeedsTimeZone { key: String },
    #[error("{key}: no {kind} is named `{name}`")]
    UnknownReference {
        key: String,
        kind: &'static str,
        name: String,
    },
    #[error(
        "{key}: `{number}` is an emergency number; an extension with it would take emergency \
         calls away from the emergency services"
    )]
    EmergencyNumberTaken { key: String, number: String },
    #[error("{key}: {message}")]
    InvalidValue { key: String, message: String },
}

impl PlanError {
    /// The configuration key at fault (`site.timezone`, `trunk[2].rates`).
    pub fn key(&self) -> &str {
        match self {
            PlanError::UnknownTimeZone { key, .. }
            | PlanError::UnknownCountry { key, .. }
            | PlanError::NeedsCountry { key }
            | PlanError::NeedsTimeZone { key }
            | PlanError::UnknownReference { key, .. }
            | PlanError::EmergencyNumberTaken { key, .. }
            | PlanError::InvalidValue { key, .. } => key,
        }
    }
}
