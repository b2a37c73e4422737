//! Reading the TOML document: byte spans → line/column, error collection, and a typed view of
//! one table that reports wrong types and unknown keys.
//!
//! The file is parsed with [`toml::de::DeTable`], which keeps the byte span of every key and
//! value, and then walked by hand. (A serde derive stops at the first error; walking the spanned
//! tree lets one pass report every problem with its exact position.) Each section module turns
//! its [`Section`] into a typed struct and records problems in the [`Loader`]; the caller only
//! builds a [`Config`](crate::Config) when no problem was recorded.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crossbar_cdr::Money;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::error::ConfigError;

/// A byte range in the configuration text.
pub(crate) type Span = Range<usize>;

/// A value together with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub value: T,
    pub span: Span,
}

/// Collects the problems found in one configuration text.
pub(crate) struct Loader<'s> {
    text: &'s str,
    file: &'s Path,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

impl<'s> Loader<'s> {
    pub fn new(text: &'s str, file: &'s Path) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Loader {
            text,
            file,
            line_starts,
            errors: Vec::new(),
        }
    }

    pub fn text(&self) -> &'s str {
        self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = match self.text.get(line_start..offset) {
            Some(prefix) => prefix.chars().count(),
            // Not on a char boundary (never produced by the parser): count bytes instead.
            None => offset - line_start,
        };
        (line_index + 1, column + 1)
    }

    pub fn error(&mut self, span: &Span, key: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// A problem in another file the configuration names (a rate deck), at a line of it.
    /// Such errors have no column.
    pub fn error_in(&mut self, file: &Path, line: usize, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: file.to_path_buf(),
            line,
            column: 0,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// The configuration file's own errors first, then those of the files it names, each
    /// file's in the order they were found.
    pub fn into_errors(self) -> Vec<ConfigError> {
        let (mut own, others): (Vec<ConfigError>, Vec<ConfigError>) =
            self.errors.into_iter().partition(|e| e.file == self.file);
        own.extend(others);
        own
    }

    /// A path written in the file, resolved against the file's directory. Kept relative when
    /// the file's own path has no directory, so messages say `rates/a.csv`, not
    /// `./rates/a.csv`.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.file.parent() {
            _ if path.is_absolute() => path.to_path_buf(),
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// A table of the document (`[sip]`, one `[[extension]]`, ...) as seen by a section parser.
pub(crate) struct Section<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Where "missing key" problems are reported: the table's header.
    pub header: Span,
    /// Dotted path prefix of its keys: `sip`, `extension[2]`.
    pub path: String,
    /// How messages name it: `[sip]`, `[[extension]] #2`.
    pub label: String,
}

impl<'a, 'i> Section<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, header: Span, path: String, label: String) -> Self {
        Section {
            table,
            header,
            path,
            label,
        }
    }

    /// The dotted path of one of this table's keys, for [`ConfigError::key`].
    pub fn key(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Reports every key that is not in `known`.
    pub fn reject_unknown_keys(&self, ld: &mut Loader<'_>, known: &[&str]) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if known.contains(&name) {
                continue;
            }
            let mut message = format!(
                "unknown key `{name}` in {}, expected one of: {}",
                self.label,
                known.join(", ")
            );
            if let Some(suggestion) = closest(name, known) {
                message.push_str(&format!(" (did you mean `{suggestion}`?)"));
            }
            ld.error(&key.span(), &self.key(name), message);
        }
    }

    /// Every key of the table, with where it is written, and its value, in file order.
    pub fn entries(&self) -> impl Iterator<Item = (At<&'a str>, &'a Spanned<DeValue<'i>>)> {
        self.table.iter().map(|(key, value)| {
            let name: &'a str = key.get_ref();
            (
                At {
                    value: name,
                    span: key.span(),
                },
                value,
            )
        })
    }

    pub fn value(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    /// Reports `key` as missing if it is absent; returns whether it is present.
    pub fn require(&self, ld: &mut Loader<'_>, key: &str) -> bool {
        if self.table.get(key).is_some() {
            return true;
        }
        ld.error(
            &self.header,
            &self.key(key),
            format!("missing required key `{key}` in {}", self.label),
        );
        false
    }

    /// An optional string. `None` if absent or not a string (the latter is reported).
    pub fn string(&self, ld: &mut Loader<'_>, key: &str) -> Option<At<&'a str>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(At {
                value: s.as_ref(),
                span: value.span(),
            }),
            other => {
                ld.error(&value.span(), &self.key(key), expected("a string", other));
                None
            }
        }
    }

    /// An optional integer in `min..=u32::MAX`. `None` if absent or invalid (reported).
    pub fn u32_at_least(&self, ld: &mut Loader<'_>, key: &str, min: u32) -> Option<At<u32>> {
        let value = self.value(key)?;
        let span = value.span();
        let DeValue::Integer(integer) = value.get_ref() else {
            ld.error(
                &span,
                &self.key(key),
                expected("an integer", value.get_ref()),
            );
            return None;
        };
        let parsed = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        match parsed {
            Some(n) if n >= i128::from(min) && n <= i128::from(u32::MAX) => Some(At {
                value: u32::try_from(n).expect("range checked just above"),
                span,
            }),
            Some(n) if n < i128::from(min) => {
                ld.error(
                    &span,
                    &self.key(key),
                    format!("must be at least {min}, found {n}"),
                );
                None
            }
            _ => {
                ld.error(
                    &span,
                    &self.key(key),
                    format!("too large: the maximum is {}", u32::MAX),
                );
                None
            }
        }
    }

    /// An optional boolean. `None` if absent or not a boolean (reported).
    pub fn boolean(&self, ld: &mut Loader<'_>, key: &str) -> Option<At<bool>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(At {
                value: *b,
                span: value.span(),
            }),
            other => {
                ld.error(
                    &value.span(),
                    &self.key(key),
                    expected("a boolean (true or false)", other),
                );
                None
            }
        }
    }

    /// An optional amount of money, not negative: a TOML integer or float (`0.01`, `20`), or a
    /// string (`"0.0125"`). `None` if absent or invalid (reported).
    pub fn money(&self, ld: &mut Loader<'_>, key: &str) -> Option<At<Money>> {
        let value = self.value(key)?;
        let span = value.span();
        match money_of(value.get_ref()) {
            Ok(money) if money < Money::ZERO => {
                ld.error(
                    &span,
                    &self.key(key),
                    format!("must not be negative, found {money}"),
                );
                None
            }
            Ok(money) => Some(At { value: money, span }),
            Err(message) => {
                ld.error(&span, &self.key(key), message);
                None
            }
        }
    }

    /// An optional string that must be one of `choices` (written exactly).
    pub fn choice<T: Copy>(
        &self,
        ld: &mut Loader<'_>,
        key: &str,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<At<T>> {
        let text = self.string(ld, key)?;
        match choices.iter().find(|(name, _)| *name == text.value) {
            Some((_, value)) => Some(At {
                value: *value,
                span: text.span,
            }),
            None => {
                let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
                ld.error(
                    &text.span,
                    &self.key(key),
                    unknown(what, text.value, &names),
                );
                None
            }
        }
    }

    /// The inline table `key = { ... }` as a section of its own. `None` if absent or not a
    /// table (reported).
    pub fn table(&self, ld: &mut Loader<'_>, key: &str) -> Option<Section<'a, 'i>> {
        let value = self.value(key)?;
        match value.get_ref() {
            DeValue::Table(table) => Some(Section::new(
                table,
                value.span(),
                self.key(key),
                format!("`{key}` of {}", self.label),
            )),
            other => {
                ld.error(
                    &value.span(),
                    &self.key(key),
                    expected(&format!("a table ({key} = {{ ... }})"), other),
                );
                None
            }
        }
    }

    /// The array of tables `key = [{ ... }, { ... }]`, each as a section (`key[1]`, 1-based).
    /// `None` if absent or not an array; elements that are not tables are reported and left
    /// out.
    pub fn tables(&self, ld: &mut Loader<'_>, key: &str) -> Option<At<Vec<Section<'a, 'i>>>> {
        let value = self.value(key)?;
        let DeValue::Array(array) = value.get_ref() else {
            ld.error(
                &value.span(),
                &self.key(key),
                expected(
                    &format!("an array of tables ({key} = [{{ ... }}])"),
                    value.get_ref(),
                ),
            );
            return None;
        };
        let parent = &self.label;
        let sections = sections_of(ld, array, &self.key(key), |ordinal| {
            format!("`{key}` #{ordinal} of {parent}")
        });
        Some(At {
            value: sections,
            span: value.span(),
        })
    }

    /// The required `name` of a `[[class]]`, `[[trunk]]`, `[[outbound_route]]`...: 1–64
    /// letters, digits, `-`, `_` and `.` (names end up in logs, call records and API paths).
    /// `None` if absent or invalid (reported).
    pub fn name(&self, ld: &mut Loader<'_>) -> Option<At<String>> {
        self.require(ld, "name");
        let name = self.string(ld, "name")?;
        match check_name(name.value) {
            Ok(()) => Some(At {
                value: name.value.to_owned(),
                span: name.span,
            }),
            Err(message) => {
                ld.error(&name.span, &self.key("name"), message);
                None
            }
        }
    }

    /// An optional array of strings. `None` if absent or not an array; elements that are not
    /// strings are reported and left out.
    pub fn string_array(&self, ld: &mut Loader<'_>, key: &str) -> Option<At<Vec<At<&'a str>>>> {
        let value = self.value(key)?;
        let DeValue::Array(array) = value.get_ref() else {
            ld.error(
                &value.span(),
                &self.key(key),
                expected("an array of strings", value.get_ref()),
            );
            return None;
        };
        let mut items = Vec::with_capacity(array.len());
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(s) => items.push(At {
                    value: s.as_ref(),
                    span: item.span(),
                }),
                other => ld.error(
                    &item.span(),
                    &self.key(key),
                    expected("a string in this array", other),
                ),
            }
        }
        Some(At {
            value: items,
            span: value.span(),
        })
    }
}

/// The tables of `[[name]]` (written with double brackets, or as `name = [{ ... }]`), each as
/// a section with path `name[n]` and label `[[name]] #n` (1-based). A single `[name]` table or
/// another value is reported and gives no section.
pub(crate) fn table_array<'a, 'i>(
    ld: &mut Loader<'_>,
    name: &str,
    value: &'a Spanned<DeValue<'i>>,
) -> Vec<Section<'a, 'i>> {
    match value.get_ref() {
        DeValue::Array(array) => {
            sections_of(ld, array, name, |ordinal| format!("[[{name}]] #{ordinal}"))
        }
        DeValue::Table(_) => {
            ld.error(
                &value.span(),
                name,
                format!("`{name}` is an array of tables: write [[{name}]], not [{name}]"),
            );
            Vec::new()
        }
        other => {
            ld.error(
                &value.span(),
                name,
                expected(&format!("an array of tables ([[{name}]])"), other),
            );
            Vec::new()
        }
    }
}

/// Each element of `array` as a section `path[n]` labelled `label(n)`; elements that are not
/// tables are reported and left out.
fn sections_of<'a, 'i>(
    ld: &mut Loader<'_>,
    array: &'a DeArray<'i>,
    path: &str,
    label: impl Fn(usize) -> String,
) -> Vec<Section<'a, 'i>> {
    let mut sections = Vec::with_capacity(array.len());
    for (index, item) in array.iter().enumerate() {
        let ordinal = index + 1;
        match item.get_ref() {
            DeValue::Table(table) => sections.push(Section::new(
                table,
                item.span(),
                format!("{path}[{ordinal}]"),
                label(ordinal),
            )),
            other => ld.error(
                &item.span(),
                &format!("{path}[{ordinal}]"),
                expected("a table", other),
            ),
        }
    }
    sections
}

/// An amount of money written as a TOML integer, float or string.
fn money_of(value: &DeValue<'_>) -> Result<Money, String> {
    const SIX_DECIMALS: &str = "an amount has at most six decimals";
    match value {
        DeValue::Integer(integer) => i128::from_str_radix(integer.as_str(), integer.radix())
            .ok()
            .and_then(|units| units.checked_mul(1_000_000))
            .and_then(|micros| i64::try_from(micros).ok())
            .map(Money)
            .ok_or_else(|| format!("`{integer}` is too large an amount")),
        DeValue::Float(float) => {
            // Exact when written with at most six decimals; exponent forms go through f64.
            if let Ok(money) = float.as_str().parse::<Money>() {
                return Ok(money);
            }
            let units: f64 = float
                .as_str()
                .parse()
                .map_err(|_| format!("`{float}` is not an amount"))?;
            let money =
                Money::from_f64(units).ok_or_else(|| format!("`{float}` is not an amount"))?;
            if (units * 1e6 - money.0 as f64).abs() > 1e-3 {
                return Err(format!("`{float}`: {SIX_DECIMALS}"));
            }
            Ok(money)
        }
        DeValue::String(text) => text.parse::<Money>().map_err(|e| e.to_string()),
        other => Err(expected(
            "an amount (a number such as 0.01, or a string such as \"0.0125\")",
            other,
        )),
    }
}

/// "unknown transport `tls`, expected one of: udp, tcp (did you mean ...?)".
pub(crate) fn unknown(what: &str, found: &str, known: &[&str]) -> String {
    let mut message = format!(
        "unknown {what} `{found}`, expected one of: {}",
        known.join(", ")
    );
    if let Some(suggestion) = closest(found, known) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    message
}

/// Records `item` as the first of its value, or reports it as a repeat of an earlier one:
/// "duplicate trunk name `x`: already used at line 12".
pub(crate) fn unique(
    ld: &mut Loader<'_>,
    seen: &mut Vec<At<String>>,
    item: At<String>,
    key: &str,
    what: &str,
) -> bool {
    if let Some(first) = seen.iter().find(|s| s.value == item.value) {
        let (line, _) = ld.position(first.span.start);
        ld.error(
            &item.span,
            key,
            format!(
                "duplicate {what} `{}`: already used at line {line}",
                item.value
            ),
        );
        false
    } else {
        seen.push(item);
        true
    }
}

/// Longest name of a class, trunk, route or API token.
pub(crate) const MAX_NAME_LEN: usize = 64;

pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("must not be empty".to_owned())
    } else if name.chars().count() > MAX_NAME_LEN {
        Err(format!("too long: at most {MAX_NAME_LEN} characters"))
    } else if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Err(format!(
            "`{name}` contains `{bad}`: use letters, digits, `-`, `_` and `.` only"
        ))
    } else {
        Ok(())
    }
}

/// "expected a string, found an integer".
pub(crate) fn expected(what: &str, found: &DeValue<'_>) -> String {
    format!("expected {what}, found {}", describe(found))
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The candidate closest to a misspelt `name`, if it is close enough to be a likely typo.
pub(crate) fn closest<'c>(name: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let file = Path::new("x.toml");
        let ld = Loader::new("a = 1\né = \"x\"\n", file);
        assert_eq!(ld.position(0), (1, 1));
        assert_eq!(ld.position(4), (1, 5));
        assert_eq!(ld.position(6), (2, 1));
        // "é" is two bytes but one column.
        assert_eq!(ld.position(9), (2, 3));
        assert_eq!(ld.position(1000), (3, 1));
    }

    #[test]
    fn closest_suggests_only_plausible_typos() {
        let known = ["number", "name", "secret", "email"];
        assert_eq!(closest("secrt", &known), Some("secret"));
        assert_eq!(closest("Secret", &known), Some("secret"));
        assert_eq!(closest("colour", &known), None);
    }
}
