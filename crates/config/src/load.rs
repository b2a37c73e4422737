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

use toml::Spanned;
use toml::de::{DeTable, DeValue};

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

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
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
