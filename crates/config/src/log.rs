//! `[log]`: what crossbar logs.

use crate::load::{Loader, Section};

pub(crate) const KEYS: &[&str] = &["level"];

/// Level names (and their numeric forms) a `tracing` level filter accepts.
const LEVELS: &[&str] = &[
    "off", "error", "warn", "info", "debug", "trace", "0", "1", "2", "3", "4", "5",
];

/// The `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// A `tracing_subscriber::EnvFilter` directive string, e.g. `info` or
    /// `info,crossbar_proto=debug`. Default `info`. The `RUST_LOG` environment variable, when
    /// set, is the binary's business.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".to_owned(),
        }
    }
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> Log {
    section.reject_unknown_keys(ld, KEYS);
    let mut log = Log::default();
    if let Some(level) = section.string(ld, "level") {
        if let Err(message) = check_filter(level.value) {
            ld.error(&level.span, &section.key("level"), message);
        }
        log.level = level.value.to_owned();
    }
    log
}

/// A light check of the filter syntax, to catch typos such as `infp` or `crossbar=verbose`
/// without depending on `tracing-subscriber`. Stricter than `EnvFilter` in one way: a directive
/// without `=` must be a level (write `crossbar_proto=trace`, not `crossbar_proto`), because in a
/// key named `level` a bare word is far more likely a misspelt level than a target. Span filters
/// (`target[span{field}]=level`) are accepted as they are.
fn check_filter(filter: &str) -> Result<(), String> {
    if filter.trim().is_empty() {
        return Err("must not be empty (e.g. \"info\")".to_owned());
    }
    for directive in filter.split(',').map(str::trim) {
        if directive.is_empty() {
            return Err(format!("`{filter}` has an empty directive (stray comma?)"));
        }
        if directive.contains('[') {
            continue;
        }
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.is_empty() => level,
            Some(_) => return Err(format!("`{directive}` has no target before `=`")),
            None => directive,
        };
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            let context = if level == directive {
                String::new()
            } else {
                format!(" in `{directive}`")
            };
            return Err(format!(
                "unknown log level `{level}`{context}, expected one of: off, error, warn, info, debug, trace"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_filter;

    #[test]
    fn accepts_levels_targets_and_span_filters() {
        for ok in [
            "info",
            "DEBUG",
            "crossbar_proto=debug",
            "info,crossbar_proto::registrar=trace",
            "crossbar[call{id=1}]=debug",
        ] {
            assert_eq!(check_filter(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_unknown_levels_and_empty_directives() {
        for bad in [
            "",
            "infp",
            "crossbar=verbose",
            "info,,debug",
            "=debug",
            "in fo",
        ] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }
}
