//! `[[class]]`: classes of service — the dialling rights an extension has (which destination
//! classes and countries it may call, when), and the caps that stop toll fraud.

use crossbar_cdr::{DestinationClass, Money};

use crate::hours::WeeklyHours;
use crate::site::CountryCode;

/// One `[[class]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// Unique; extensions name it with `class = "..."`.
    pub name: String,
    /// Destination classes this class may dial (`emergency` is always allowed, listed or not).
    pub allow: Vec<DestinationClass>,
    /// When not empty, international calls only to these countries (ISO 3166-1 alpha-2 of the
    /// number's region, e.g. `FR`).
    pub allow_countries: Vec<CountryCode>,
    /// Never these countries (checked before `allow_countries`).
    pub block_countries: Vec<CountryCode>,
    /// Destination classes allowed only at certain hours.
    pub time_rules: Vec<TimeRule>,
    /// Calls an extension of this class may have up at once (placed, outbound).
    pub max_concurrent: Option<u32>,
    /// Fraud caps: outbound calls started in the last 60 seconds / since local midnight,
    /// money spent since local midnight. Tripping one blocks the extension for outbound
    /// calls until it is released.
    pub max_calls_per_minute: Option<u32>,
    pub max_calls_per_day: Option<u32>,
    pub daily_spend_limit: Option<Money>,
}

/// `time_rules = [{ classes = ["international"], hours = ["mon-fri 08:00-18:00"] }]`: calls to
/// `classes` are allowed only within `hours` (local time in `[site] timezone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRule {
    pub classes: Vec<DestinationClass>,
    pub hours: Vec<WeeklyHours>,
}
