//! `[callbacks]`: the tasks that make sure a missed caller is called back — whether they are
//! opened, how often an unanswered callback is tried again, and who they are given to.

use crate::destination::no_such;
use crate::load::{At, Loader, Section};

pub(crate) const KEYS: &[&str] = &[
    "enabled",
    "retry_schedule_secs",
    "max_attempts",
    "assign_to",
];

/// `max_attempts` when not set.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The `[callbacks]` section, with defaults resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callbacks {
    /// Whether a missed or abandoned inbound call from an outside number opens a callback task
    /// (default true).
    pub enabled: bool,
    /// After an unanswered callback attempt `n` (1-based), crossbar makes the next one itself
    /// after `retry_schedule_secs[n - 1]` seconds; past the end of the list, attempts are made
    /// by hand only. Empty by default: no automatic attempts.
    pub retry_schedule_secs: Vec<u32>,
    /// The most attempts on one task, by hand and automatic; after that many unanswered ones
    /// the task is closed without reaching the caller (default 3).
    pub max_attempts: u32,
    /// The queue new tasks are assigned to (its agents work them); `None`: unassigned.
    pub assign_to: Option<String>,
}

impl Default for Callbacks {
    fn default() -> Self {
        Callbacks {
            enabled: true,
            retry_schedule_secs: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            assign_to: None,
        }
    }
}

/// The `[callbacks]` section; `assign_to` is checked against the queues by [`check`] once they
/// are read, so it is returned with where it was written.
pub(crate) fn parse(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
) -> (Callbacks, Option<At<String>>) {
    section.reject_unknown_keys(ld, KEYS);
    let mut callbacks = Callbacks::default();
    if let Some(enabled) = section.boolean(ld, "enabled") {
        callbacks.enabled = enabled.value;
    }
    let max_attempts = section.u32_at_least(ld, "max_attempts", 1);
    if let Some(max) = &max_attempts {
        callbacks.max_attempts = max.value;
    }
    if let Some(schedule) = section.value("retry_schedule_secs") {
        let key = section.key("retry_schedule_secs");
        match schedule.get_ref() {
            toml::de::DeValue::Array(items) => {
                for item in items.iter() {
                    match seconds(item.get_ref()) {
                        Ok(secs) => callbacks.retry_schedule_secs.push(secs),
                        Err(message) => ld.error(&item.span(), &key, message),
                    }
                }
                let retries = callbacks.retry_schedule_secs.len();
                let allowed = callbacks.max_attempts.saturating_sub(1) as usize;
                if retries == items.len() && retries > allowed {
                    let max = match &max_attempts {
                        Some(_) => format!("max_attempts = {}", callbacks.max_attempts),
                        None => format!("max_attempts (default {DEFAULT_MAX_ATTEMPTS})",),
                    };
                    let plural = |n: usize| if n == 1 { "retry" } else { "retries" };
                    ld.error(
                        &schedule.span(),
                        &key,
                        format!(
                            "{retries} automatic {}, but {max} leaves room for {allowed} {} \
                             after the first attempt: set max_attempts = {} or shorten the list",
                            plural(retries),
                            plural(allowed),
                            retries + 1
                        ),
                    );
                }
            }
            other => ld.error(
                &schedule.span(),
                &key,
                crate::load::expected(
                    "an array of waits in seconds (e.g. [300, 1800, 7200])",
                    other,
                ),
            ),
        }
    }
    let assign_to = section.string(ld, "assign_to").map(|queue| At {
        value: queue.value.to_owned(),
        span: queue.span,
    });
    callbacks.assign_to = assign_to.as_ref().map(|queue| queue.value.clone());
    (callbacks, assign_to)
}

/// One wait of the retry schedule: a whole number of seconds, at least 1.
fn seconds(value: &toml::de::DeValue<'_>) -> Result<u32, String> {
    let toml::de::DeValue::Integer(integer) = value else {
        return Err(crate::load::expected(
            "a wait in seconds (an integer)",
            value,
        ));
    };
    match i128::from_str_radix(integer.as_str(), integer.radix()) {
        Ok(n) if n < 1 => Err(format!("a wait must be at least 1 second, found {n}")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("too large: the maximum is {}", u32::MAX)),
        Err(_) => Err(format!("too large: the maximum is {}", u32::MAX)),
    }
}

/// Reports an `assign_to` that names no queue.
pub(crate) fn check(ld: &mut Loader<'_>, assign_to: Option<&At<String>>, queue_names: &[String]) {
    let Some(queue) = assign_to else {
        return;
    };
    if queue_names.contains(&queue.value) {
        return;
    }
    let names: Vec<&str> = queue_names.iter().map(String::as_str).collect();
    ld.error(
        &queue.span,
        "callbacks.assign_to",
        no_such(
            &format!("queue named `{}`", queue.value),
            "[[queue]]",
            "queues",
            &names,
            &queue.value,
            str::to_owned,
        ),
    );
}
